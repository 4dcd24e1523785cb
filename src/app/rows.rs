//! The rows each table shows: sorted worst first (or newest first), filtered
//! by the table's text filter, with a selection that follows the selected
//! item when the order changes.

use super::App;
use super::tab::TableId;
use crate::domain::Status;
use crate::domain::kpi::{budget_left, service_slo_status};
use crate::domain::slo::{backup_status, host_status, service_status};

/// A row: the index of its item in the feed's data, and the item's name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    pub index: usize,
    pub key: String,
}

#[derive(Debug, Clone, Default)]
pub struct TableView {
    pub filter: String,
    pub rows: Vec<Row>,
    /// Rows before filtering, for "12 of 13".
    pub total: usize,
    pub selected: usize,
}

impl TableView {
    pub fn set_rows(&mut self, rows: Vec<Row>, total: usize) {
        let previous = self.rows.get(self.selected).map(|r| r.key.clone());
        self.rows = rows;
        self.total = total;
        self.selected = previous
            .and_then(|key| self.rows.iter().position(|r| r.key == key))
            .unwrap_or(self.selected)
            .min(self.rows.len().saturating_sub(1));
    }

    pub fn move_by(&mut self, delta: isize) {
        let last = self.rows.len().saturating_sub(1) as isize;
        self.selected = (self.selected as isize)
            .saturating_add(delta)
            .clamp(0, last) as usize;
    }

    pub fn selected_row(&self) -> Option<&Row> {
        self.rows.get(self.selected)
    }
}

/// A service's row key: its name, within its cluster when it has one.
fn service_key(s: &crate::domain::ServiceHealth) -> String {
    match &s.cluster {
        Some(cluster) => format!("{cluster}/{}", s.name),
        None => s.name.clone(),
    }
}

/// An item before sorting and filtering.
struct Candidate {
    row: Row,
    /// Sorted ascending: state (worst first), then a number, then a name.
    order: (i64, i64, String),
    /// What the filter searches.
    text: String,
}

/// The state given to items of tables that are not sorted by state.
const NO_STATE: Status = Status::Ok;

fn worst_first(status: Status) -> i64 {
    -(status as i64)
}

fn candidate(index: usize, key: &str, order: (Status, i64, &str), text: String) -> Candidate {
    Candidate {
        row: Row {
            index,
            key: key.to_string(),
        },
        order: (worst_first(order.0), order.1, order.2.to_string()),
        text,
    }
}

fn candidates(app: &App, id: TableId) -> Vec<Candidate> {
    match id {
        TableId::Slo => slo_candidates(app),
        TableId::Kpis => kpi_candidates(app),
        TableId::Services => service_candidates(app),
        TableId::Hosts => host_candidates(app),
        TableId::Deployments => deployment_candidates(app),
        TableId::Backups => backup_candidates(app),
        TableId::Incidents => incident_candidates(app),
        TableId::Silences => silence_candidates(app),
    }
}

/// A candidate per item, each knowing its item's index in the feed's data.
fn candidates_of<T>(items: &[T], to_candidate: impl Fn(usize, &T) -> Candidate) -> Vec<Candidate> {
    items
        .iter()
        .enumerate()
        .map(|(i, item)| to_candidate(i, item))
        .collect()
}

/// The tiles in their fixed order: a grid whose tiles moved would have to
/// be read again.
fn kpi_candidates(app: &App) -> Vec<Candidate> {
    candidates_of(&app.estate.kpis, |i, k| {
        let text = format!("{} {} {}", k.title, k.status.label(), k.note);
        candidate(i, k.id, (NO_STATE, i as i64, ""), text)
    })
}

/// Worst SLO state first, then the least error budget left.
fn slo_candidates(app: &App) -> Vec<Candidate> {
    let objective = app.settings.objectives.availability;
    candidates_of(app.estate.services(), |i, s| {
        let left = budget_left(s, objective);
        let budget = left.map_or(i64::MAX, |l| (l.clamp(-1e6, 1e6) * 1e6) as i64);
        let state = service_slo_status(s, objective);
        let text = format!(
            "{} {} {} {}",
            service_key(s),
            s.tier.label(),
            s.team,
            state.label()
        );
        candidate(i, &service_key(s), (state, budget, &s.name), text)
    })
}

fn service_candidates(app: &App) -> Vec<Candidate> {
    let (thresholds, objectives) = (&app.settings.thresholds, &app.settings.objectives);
    candidates_of(app.estate.services(), |i, s| {
        let state = service_status(s, thresholds, objectives);
        let text = format!(
            "{} {} {} {}",
            service_key(s),
            s.tier.label(),
            s.team,
            state.label()
        );
        candidate(i, &service_key(s), (state, 0, &s.name), text)
    })
}

fn host_candidates(app: &App) -> Vec<Candidate> {
    let health = app.estate.health.data.as_ref();
    candidates_of(health.map_or(&[][..], |h| &h.hosts), |i, h| {
        let state = host_status(h, &app.settings.thresholds);
        let text = format!("{} {}", h.name, state.label());
        candidate(i, &h.name, (state, 0, &h.name), text)
    })
}

/// Newest deployment first.
fn deployment_candidates(app: &App) -> Vec<Candidate> {
    let deployments = app.estate.deployments.data.as_deref().unwrap_or(&[]);
    candidates_of(deployments, |i, d| {
        let text = format!(
            "{} {} {} {} {}",
            d.service,
            d.environment,
            d.version,
            d.strategy.label(),
            d.phase.label()
        );
        let order = (
            NO_STATE,
            d.deployed_at.map_or(i64::MAX, |at| -at.timestamp()),
            d.service.as_str(),
        );
        candidate(i, &format!("{}/{}", d.environment, d.service), order, text)
    })
}

fn backup_candidates(app: &App) -> Vec<Candidate> {
    let backups = app.estate.backups.data.as_deref().unwrap_or(&[]);
    candidates_of(backups, |i, b| {
        let state = backup_status(b, app.now);
        let text = format!("{} {} {}", b.target, b.tier.label(), state.label());
        candidate(i, &b.target, (state, 0, &b.target), text)
    })
}

fn incident_candidates(app: &App) -> Vec<Candidate> {
    // Already in order: most severe, then longest running.
    candidates_of(&app.estate.incidents, |i, inc| {
        let key = format!("{}/{}", inc.name, inc.service);
        let text = format!(
            "{} {} {} {}",
            inc.name,
            inc.service,
            inc.severity.label(),
            inc.summary
        );
        candidate(i, &key, (NO_STATE, i as i64, ""), text)
    })
}

/// Active silences first, then by when they start.
fn silence_candidates(app: &App) -> Vec<Candidate> {
    let alerts = app.estate.alerts.data.as_ref();
    candidates_of(alerts.map_or(&[][..], |a| &a.silences), |i, s| {
        let pending = i64::from(!s.is_active(app.now));
        let text = format!("{} {} {}", s.matchers, s.created_by, s.comment);
        let starts = s.starts_at.to_rfc3339();
        candidate(i, &s.id, (NO_STATE, pending, &starts), text)
    })
}

/// The rows of table `id` in display order, and how many there are unfiltered.
pub fn rows(app: &App, id: TableId) -> (Vec<Row>, usize) {
    let mut items = candidates(app, id);
    let total = items.len();
    let needle = app.table(id).filter.to_lowercase();
    if !needle.is_empty() {
        items.retain(|c| c.text.to_lowercase().contains(&needle));
    }
    items.sort_by(|a, b| a.order.cmp(&b.order));
    (items.into_iter().map(|c| c.row).collect(), total)
}
