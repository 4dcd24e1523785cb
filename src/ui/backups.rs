//! Tab 4: could we recover? Age of the last good backup against the tier's
//! RPO, verification, and the last DR drill's RTO against its objective.

use chrono::{DateTime, Utc};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::widgets::Cell;

use super::format;
use super::widgets::{
    Column, Reason, TablePanel, col, freshness, reasons, status_cell, table, widen,
};
use crate::app::App;
use crate::app::tab::TableId;
use crate::domain::slo::{backup_status, rpo_status, rto_status, verification_status};
use crate::domain::{Backup, Status};

const COLUMNS: [Column; 10] = [
    col("State", 9, 0),
    col("Target", 16, 0),
    col("Tier", 12, 4),
    col("Last good", 10, 1),
    col("RPO", 5, 1),
    col("Size", 9, 5),
    col("Took", 8, 6),
    col("Verified", 9, 3),
    col("DR drill", 9, 2),
    col("RTO / objective", 16, 2),
];

pub fn draw(frame: &mut Frame, area: Rect, app: &App) {
    let panel = &app.estate.backups;
    let right = freshness(app, panel);
    let list = panel.data.as_deref().unwrap_or(&[]);
    let th = &app.theme;
    let columns = widen(&COLUMNS, 1, list.iter().map(|b| b.target.as_str()));
    let explain = |i: usize| backup_reasons(&list[i], app.now);
    let spec = TablePanel::new(app, TableId::Backups, &columns, right).explained_by(&explain);
    table(frame, area, app, spec, |i, fit| {
        let b = &list[i];
        let obj = b.tier.objectives();
        let (age, rpo) = rpo_status(b.last_success, obj, app.now);
        let rto = rto_status(b, obj, app.now);
        let drill = b
            .last_drill
            .map_or("never".into(), |d| format::ago(app.now - d.at));
        let measured = b.last_drill.map_or("untested".into(), |d| {
            format!(
                "{} / {}",
                d.measured_rto
                    .map_or("RTO unknown".into(), format::duration),
                format::short_duration(obj.rto)
            )
        });
        vec![
            status_cell(app, backup_status(b, app.now)),
            fit.text("Target", &b.target),
            Cell::from(b.tier.label()),
            Cell::from(age.map_or("never".into(), format::ago)).style(th.value(rpo)),
            Cell::from(format::short_duration(obj.rpo)),
            Cell::from(format::bytes(b.size_bytes)),
            Cell::from(b.duration.map_or("—".into(), format::short_duration)),
            Cell::from(
                b.last_verified
                    .map_or("never".into(), |v| format::ago(app.now - v)),
            )
            .style(th.value(verification_status(b.last_verified, app.now))),
            Cell::from(drill),
            Cell::from(measured).style(th.value(rto)),
        ]
    });
}

/// The columns that give a backup its state, by the rules of `backup_status`:
/// the age of the last good one and its RPO for the RPO; the drill's age for
/// a drill too old or never held, its measured RTO otherwise; when it was
/// last verified.
fn backup_reasons(b: &Backup, now: DateTime<Utc>) -> Vec<Reason> {
    let obj = b.tier.objectives();
    let rpo = rpo_status(b.last_success, obj, now).1;
    let rto = rto_status(b, obj, now);
    let rto_column = if rto == Status::Warn || b.last_drill.is_none() {
        "DR drill"
    } else {
        "RTO / objective"
    };
    reasons(
        backup_status(b, now),
        [
            ("Last good", rpo),
            ("RPO", rpo),
            (rto_column, rto),
            ("Verified", verification_status(b.last_verified, now)),
        ],
    )
}
