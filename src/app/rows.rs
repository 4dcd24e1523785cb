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

/// An item before sorting and filtering.
struct Candidate {
    row: Row,
    /// Sorted ascending: state (worst first), then a number, then a name.
    order: (i64, i64, String),
    /// What the filter searches.
    text: String,
}

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
    let estate = &app.estate;
    let (thresholds, objectives, now) =
        (&app.settings.thresholds, &app.settings.objectives, app.now);
    let services = estate.services();
    let none = Status::Ok;
    match id {
        TableId::Slo => services
            .iter()
            .enumerate()
            .map(|(i, s)| {
                let left = budget_left(s, objectives.availability);
                let budget = left.map_or(i64::MAX, |l| (l.clamp(-1e6, 1e6) * 1e6) as i64);
                let state = service_slo_status(s, objectives.availability);
                let text = format!("{} {} {} {}", s.name, s.tier.label(), s.team, state.label());
                candidate(i, &s.name, (state, budget, &s.name), text)
            })
            .collect(),
        TableId::Services => services
            .iter()
            .enumerate()
            .map(|(i, s)| {
                let state = service_status(s, thresholds, objectives);
                let text = format!("{} {} {} {}", s.name, s.tier.label(), s.team, state.label());
                candidate(i, &s.name, (state, 0, &s.name), text)
            })
            .collect(),
        TableId::Hosts => estate
            .health
            .data
            .as_ref()
            .map_or(&[][..], |h| &h.hosts)
            .iter()
            .enumerate()
            .map(|(i, h)| {
                let state = host_status(h, thresholds);
                candidate(
                    i,
                    &h.name,
                    (state, 0, &h.name),
                    format!("{} {}", h.name, state.label()),
                )
            })
            .collect(),
        TableId::Deployments => estate
            .deployments
            .data
            .as_deref()
            .unwrap_or(&[])
            .iter()
            .enumerate()
            .map(|(i, d)| {
                let text = format!(
                    "{} {} {} {} {}",
                    d.service,
                    d.environment,
                    d.version,
                    d.strategy.label(),
                    d.phase.label()
                );
                candidate(
                    i,
                    &d.service,
                    (none, -d.deployed_at.timestamp(), &d.service),
                    text,
                )
            })
            .collect(),
        TableId::Backups => estate
            .backups
            .data
            .as_deref()
            .unwrap_or(&[])
            .iter()
            .enumerate()
            .map(|(i, b)| {
                let state = backup_status(b, now);
                let text = format!("{} {} {}", b.target, b.tier.label(), state.label());
                candidate(i, &b.target, (state, 0, &b.target), text)
            })
            .collect(),
        TableId::Incidents => estate
            .incidents
            .iter()
            .enumerate()
            .map(|(i, inc)| {
                // Already in order: most severe, then longest running.
                let key = format!("{}/{}", inc.name, inc.service);
                let text = format!(
                    "{} {} {} {}",
                    inc.name,
                    inc.service,
                    inc.severity.label(),
                    inc.summary
                );
                candidate(i, &key, (none, i as i64, ""), text)
            })
            .collect(),
        TableId::Silences => estate
            .alerts
            .data
            .as_ref()
            .map_or(&[][..], |a| &a.silences)
            .iter()
            .enumerate()
            .map(|(i, s)| {
                let pending = i64::from(!s.is_active(now));
                let text = format!("{} {} {}", s.matchers, s.created_by, s.comment);
                candidate(i, &s.id, (none, pending, &s.starts_at.to_rfc3339()), text)
            })
            .collect(),
    }
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
