//! The rows each table shows: sorted worst first (or newest first), filtered
//! by the table's text filter, with a selection that follows the selected
//! item when the order changes.

use crate::domain::Status;
use crate::domain::kpi::budget_left;
use crate::domain::slo::{self, host_status, service_status};

use super::App;
use super::tab::TableId;

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

/// Items to sort: (index, name, sort key, text the filter searches).
type Candidate = (usize, String, (i64, String), String);

fn worst_first(status: Status) -> i64 {
    -(status as i64)
}

fn candidates(app: &App, id: TableId) -> Vec<Candidate> {
    let e = &app.estate;
    let (t, o, now) = (&app.settings.thresholds, &app.settings.objectives, app.now);
    let services = e.health.data.as_ref().map_or(&[][..], |h| &h.services);
    match id {
        TableId::Slo => services
            .iter()
            .enumerate()
            .map(|(i, s)| {
                let left = budget_left(s, o.availability).unwrap_or(f64::INFINITY);
                let rank = if left.is_finite() {
                    (left * 1e6) as i64
                } else {
                    i64::MAX
                };
                (
                    i,
                    s.name.clone(),
                    (rank, s.name.clone()),
                    format!("{} {} {}", s.name, s.tier.label(), s.team),
                )
            })
            .collect(),
        TableId::Services => services
            .iter()
            .enumerate()
            .map(|(i, s)| {
                let status = service_status(s, t, o);
                (
                    i,
                    s.name.clone(),
                    (worst_first(status), s.name.clone()),
                    format!(
                        "{} {} {} {}",
                        s.name,
                        s.tier.label(),
                        s.team,
                        status.label()
                    ),
                )
            })
            .collect(),
        TableId::Hosts => e
            .health
            .data
            .as_ref()
            .map_or(&[][..], |h| &h.hosts)
            .iter()
            .enumerate()
            .map(|(i, h)| {
                let status = host_status(h, t);
                (
                    i,
                    h.name.clone(),
                    (worst_first(status), h.name.clone()),
                    format!("{} {}", h.name, status.label()),
                )
            })
            .collect(),
        TableId::Deployments => e
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
                (
                    i,
                    d.service.clone(),
                    (-d.deployed_at.timestamp(), d.service.clone()),
                    text,
                )
            })
            .collect(),
        TableId::Backups => e
            .backups
            .data
            .as_deref()
            .unwrap_or(&[])
            .iter()
            .enumerate()
            .map(|(i, b)| {
                let status = slo::backup_status(b, now);
                (
                    i,
                    b.target.clone(),
                    (worst_first(status), b.target.clone()),
                    format!("{} {} {}", b.target, b.tier.label(), status.label()),
                )
            })
            .collect(),
        TableId::Incidents => e
            .incidents
            .iter()
            .enumerate()
            .map(|(i, inc)| {
                let key = format!("{}/{}", inc.name, inc.service);
                let text = format!(
                    "{} {} {} {}",
                    inc.name,
                    inc.service,
                    inc.severity.label(),
                    inc.summary
                );
                (i, key, (i as i64, String::new()), text)
            })
            .collect(),
        TableId::Silences => e
            .alerts
            .data
            .as_ref()
            .map_or(&[][..], |a| &a.silences)
            .iter()
            .enumerate()
            .map(|(i, s)| {
                let rank = if s.is_active(now) { 0 } else { 1 };
                let text = format!("{} {} {}", s.matchers, s.created_by, s.comment);
                (i, s.id.clone(), (rank, s.starts_at.to_rfc3339()), text)
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
        items.retain(|(_, _, _, text)| text.to_lowercase().contains(&needle));
    }
    items.sort_by(|a, b| a.2.cmp(&b.2));
    (
        items
            .into_iter()
            .map(|(index, key, _, _)| Row { index, key })
            .collect(),
        total,
    )
}
