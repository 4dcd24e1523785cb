//! The Incidents tab's joins: the changes before each incident (deploys,
//! rollbacks, maintenance windows, actions run from opsdeck) and the
//! storms among incidents, recomputed when alerts or deployments arrive;
//! and the storm rows of the table, folded over their incidents until
//! opened.

use super::App;
use super::rows::Row;
use crate::domain::changes::{self, ActionRun, Change};
use crate::domain::storms::{self, Storm};

impl App {
    /// Joins the incidents to the changes before them and finds the storms.
    pub(super) fn join_incidents(&mut self) {
        let e = &self.estate;
        let mut known: Vec<Change> =
            changes::from_deployments(e.deployments.data.as_deref().unwrap_or(&[]));
        if let Some(alerts) = e.alerts.data.as_ref() {
            let mut labels: Vec<String> = e
                .incidents
                .iter()
                .map(|i| i.service_label.clone())
                .collect();
            labels.sort();
            labels.dedup();
            known.extend(changes::from_silences(&alerts.silences, &labels));
        }
        let runs: Vec<ActionRun> = (self.actions.runs.iter())
            .map(|r| ActionRun {
                action: &r.request.action,
                target: &r.request.target,
                started: r.started,
            })
            .chain(self.actions.past.iter().map(|p| ActionRun {
                action: &p.action,
                target: &p.target,
                started: p.started,
            }))
            .collect();
        known.extend(changes::from_actions(&runs));
        let lead = self.settings.change_lead;
        // By service: an estate of thousands joins each incident to its
        // own service's few changes, not to all of them.
        let mut by_service: std::collections::BTreeMap<&str, Vec<Change>> = Default::default();
        for c in &known {
            by_service
                .entry(c.service.as_str())
                .or_default()
                .push(c.clone());
        }
        let joined = (e.incidents.iter())
            .map(|i| {
                let theirs = by_service
                    .get(i.service.as_str())
                    .map_or(&[][..], |c| &c[..]);
                changes::preceding(i, theirs, lead)
            })
            .collect();
        let found = storms::find(&e.incidents);
        // By service, then time: a row's markers are found by a binary
        // search, not a scan of every change each frame (at 10,000
        // services the scans were a third of the drawing thread).
        known.sort_by(|a, b| a.service.cmp(&b.service).then(a.at.cmp(&b.at)));
        self.estate.changes = joined;
        self.estate.change_log = known;
        self.estate.storms = found;
    }

    /// The storm a row of the Incidents table stands for: rows past the
    /// incidents are storms.
    pub fn storm_at(&self, index: usize) -> Option<&Storm> {
        let first = self.estate.incidents.len();
        index
            .checked_sub(first)
            .and_then(|s| self.estate.storms.get(s))
    }

    /// On a storm's row, opens it to its incidents or closes it again;
    /// false on any other row.
    pub(super) fn toggle_storm(&mut self) -> bool {
        let id = super::tab::TableId::Incidents;
        if self.focused_table() != id {
            return false;
        }
        let Some(row) = self.table(id).selected_row() else {
            return false;
        };
        let Some(key) = self.storm_at(row.index).map(Storm::key) else {
            return false;
        };
        let view = &mut self.tables[id.index()];
        if !view.expanded.remove(&key) {
            view.expanded.insert(key);
        }
        self.stale.tables[id.index()] = true;
        self.settle();
        true
    }
}

/// The Incidents table's rows with each storm's incidents replaced by the
/// storm's row, where its first listed incident was, followed by them
/// when it is open. A storm none of whose incidents is listed has no row.
pub(super) fn fold_storms(app: &App, rows: Vec<Row>) -> Vec<Row> {
    let storms = &app.estate.storms;
    if storms.is_empty() {
        return rows;
    }
    let first = app.estate.incidents.len();
    let mut storm_of = vec![None; first];
    for (s, storm) in storms.iter().enumerate() {
        for &m in storm.members.iter().filter(|&&m| m < first) {
            storm_of[m] = Some(s);
        }
    }
    let expanded = &app.table(super::tab::TableId::Incidents).expanded;
    let mut placed = vec![false; storms.len()];
    let mut out = Vec::with_capacity(rows.len());
    for row in &rows {
        let Some(s) = storm_of.get(row.index).copied().flatten() else {
            out.push(row.clone());
            continue;
        };
        if placed[s] {
            continue;
        }
        placed[s] = true;
        let storm = &storms[s];
        out.push(Row {
            index: first + s,
            key: storm.key(),
        });
        if expanded.contains(&storm.key()) {
            let members = rows
                .iter()
                .filter(|r| storm_of.get(r.index).copied().flatten() == Some(s));
            out.extend(members.cloned());
        }
    }
    out
}

/// How many rows `total` incidents make with the storms folded: each
/// closed storm one row for its incidents, an open one a row more.
pub(super) fn folded_total(app: &App, total: usize) -> usize {
    let expanded = &app.table(super::tab::TableId::Incidents).expanded;
    app.estate.storms.iter().fold(total, |n, storm| {
        let hidden = if expanded.contains(&storm.key()) {
            0
        } else {
            storm.members.len()
        };
        (n + 1).saturating_sub(hidden)
    })
}
