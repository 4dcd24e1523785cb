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
struct Candidate<'a> {
    row: Row,
    /// Sorted ascending: state (worst first), then a number, then a name.
    order: (i64, i64, &'a str),
}

/// The first sort key of items of tables that are not sorted by state.
const NO_STATE: i64 = 0;

fn worst_first(status: Status) -> i64 {
    -(status as i64)
}

fn candidate(index: usize, key: String, order: (i64, i64, &str)) -> Candidate<'_> {
    Candidate {
        row: Row { index, key },
        order,
    }
}

fn candidates(app: &App, id: TableId) -> Vec<Candidate<'_>> {
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
fn candidates_of<'a, T>(
    items: &'a [T],
    to_candidate: impl Fn(usize, &'a T) -> Candidate<'a>,
) -> Vec<Candidate<'a>> {
    items
        .iter()
        .enumerate()
        .map(|(i, item)| to_candidate(i, item))
        .collect()
}

/// The tiles in their fixed order: a grid whose tiles moved would have to
/// be read again.
fn kpi_candidates(app: &App) -> Vec<Candidate<'_>> {
    candidates_of(&app.estate.kpis, |i, k| {
        candidate(i, k.id.to_string(), (NO_STATE, i as i64, ""))
    })
}

/// Worst SLO state first, then the least error budget left.
fn slo_candidates(app: &App) -> Vec<Candidate<'_>> {
    let objective = app.settings.objectives.availability;
    candidates_of(app.estate.services(), |i, s| {
        let left = budget_left(s, objective);
        let budget = left.map_or(i64::MAX, |l| (l.clamp(-1e6, 1e6) * 1e6) as i64);
        let state = service_slo_status(s, objective);
        candidate(i, service_key(s), (worst_first(state), budget, &s.name))
    })
}

fn service_candidates(app: &App) -> Vec<Candidate<'_>> {
    let (thresholds, objectives) = (&app.settings.thresholds, &app.settings.objectives);
    candidates_of(app.estate.services(), |i, s| {
        let state = service_status(s, thresholds, objectives);
        candidate(i, service_key(s), (worst_first(state), 0, &s.name))
    })
}

fn hosts(app: &App) -> &[crate::domain::Host] {
    app.estate.health.data.as_ref().map_or(&[], |h| &h.hosts)
}

fn host_candidates(app: &App) -> Vec<Candidate<'_>> {
    candidates_of(hosts(app), |i, h| {
        let state = host_status(h, &app.settings.thresholds);
        candidate(i, h.name.clone(), (worst_first(state), 0, &h.name))
    })
}

fn deployments(app: &App) -> &[crate::domain::Deployment] {
    app.estate.deployments.data.as_deref().unwrap_or(&[])
}

/// Newest deployment first.
fn deployment_candidates(app: &App) -> Vec<Candidate<'_>> {
    candidates_of(deployments(app), |i, d| {
        let order = (
            NO_STATE,
            d.deployed_at.map_or(i64::MAX, |at| -at.timestamp()),
            d.service.as_str(),
        );
        candidate(i, format!("{}/{}", d.environment, d.service), order)
    })
}

fn backups(app: &App) -> &[crate::domain::Backup] {
    app.estate.backups.data.as_deref().unwrap_or(&[])
}

fn backup_candidates(app: &App) -> Vec<Candidate<'_>> {
    candidates_of(backups(app), |i, b| {
        let state = backup_status(b, app.now);
        candidate(i, b.target.clone(), (worst_first(state), 0, &b.target))
    })
}

fn incident_candidates(app: &App) -> Vec<Candidate<'_>> {
    // Already in order: most severe, then longest running.
    candidates_of(&app.estate.incidents, |i, inc| {
        let key = format!("{}/{}", inc.name, inc.service);
        candidate(i, key, (NO_STATE, i as i64, ""))
    })
}

fn silences(app: &App) -> &[crate::domain::Silence] {
    app.estate.alerts.data.as_ref().map_or(&[], |a| &a.silences)
}

/// Active silences first, then by when they start.
fn silence_candidates(app: &App) -> Vec<Candidate<'_>> {
    candidates_of(silences(app), |i, s| {
        let pending = i64::from(!s.is_active(app.now));
        let order = (pending, s.starts_at.timestamp_millis(), "");
        candidate(i, s.id.clone(), order)
    })
}

/// What the filter searches in item `index` of table `id`: the words shown
/// in its row. Built only while a filter is set.
fn text(app: &App, id: TableId, index: usize) -> String {
    let key_words = |s: &crate::domain::ServiceHealth, state: Status| {
        format!(
            "{} {} {} {}",
            service_key(s),
            s.tier.label(),
            s.team,
            state.label()
        )
    };
    let objective = app.settings.objectives.availability;
    let (thresholds, objectives) = (&app.settings.thresholds, &app.settings.objectives);
    match id {
        TableId::Kpis => app
            .estate
            .kpis
            .get(index)
            .map(|k| format!("{} {} {}", k.title, k.status.label(), k.note)),
        TableId::Slo => app
            .estate
            .services()
            .get(index)
            .map(|s| key_words(s, service_slo_status(s, objective))),
        TableId::Services => app
            .estate
            .services()
            .get(index)
            .map(|s| key_words(s, service_status(s, thresholds, objectives))),
        TableId::Hosts => hosts(app)
            .get(index)
            .map(|h| format!("{} {}", h.name, host_status(h, thresholds).label())),
        TableId::Deployments => deployments(app).get(index).map(|d| {
            format!(
                "{} {} {} {} {}",
                d.service,
                d.environment,
                d.version,
                d.strategy.label(),
                d.phase.label()
            )
        }),
        TableId::Backups => backups(app).get(index).map(|b| {
            let state = backup_status(b, app.now);
            format!("{} {} {}", b.target, b.tier.label(), state.label())
        }),
        TableId::Incidents => app.estate.incidents.get(index).map(|inc| {
            format!(
                "{} {} {} {}",
                inc.name,
                inc.service,
                inc.severity.label(),
                inc.summary
            )
        }),
        TableId::Silences => silences(app)
            .get(index)
            .map(|s| format!("{} {} {}", s.matchers, s.created_by, s.comment)),
    }
    .unwrap_or_default()
}

/// The rows of table `id` in display order, and how many there are unfiltered.
pub fn rows(app: &App, id: TableId) -> (Vec<Row>, usize) {
    let mut items = candidates(app, id);
    let total = items.len();
    let needle = app.table(id).filter.to_lowercase();
    if !needle.is_empty() {
        items.retain(|c| text(app, id, c.row.index).to_lowercase().contains(&needle));
    }
    // Stable: items that compare equal keep the order of the data.
    items.sort_by(|a, b| a.order.cmp(&b.order));
    (items.into_iter().map(|c| c.row).collect(), total)
}
