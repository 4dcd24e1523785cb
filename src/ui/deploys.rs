//! Tab 3: what changed, and can I undo it? One row per service: version,
//! strategy and its progress, phase (`rolling back…` while a rollback
//! opsdeck started waits for the source), a canary's errors against the
//! stable version's and its verdict, when, and rollbacks.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::widgets::Cell;

use super::format;
use super::widgets::{
    Column, Reason, TablePanel, col, freshness, reasons, status_cell, table, widen,
};
use crate::app::App;
use crate::app::tab::TableId;
use crate::domain::{Deployment, Status};

const COLUMNS: [Column; 11] = [
    col("State", 9, 0),
    col("Service", 15, 0),
    col("Env", 10, 6),
    col("Version", 9, 1),
    col("Previous", 9, 4),
    col("Strategy", 10, 2),
    col("Progress", 10, 2),
    col("Phase", 11, 1),
    // A canary's errors, new / stable, and its verdict's symbol.
    col("Canary", 8, 3),
    col("Deployed", 8, 1),
    col("Rollbacks", 9, 5),
];

const ROLLING_BACK: &str = "rolling back…";

pub fn draw(frame: &mut Frame, area: Rect, app: &App) {
    let panel = &app.estate.deployments;
    let right = freshness(app, panel);
    let list = panel.data.as_deref().unwrap_or(&[]);
    let columns = widen(&COLUMNS, 1, list.iter().map(|d| d.service.as_str()));
    // Room for `rolling back…` while a row shows it.
    let pending = list.iter().filter(|d| app.rollbacks.is_pending(d, app.now));
    let columns = widen(&columns, 7, pending.map(|_| ROLLING_BACK));
    let pairs: Vec<String> = list
        .iter()
        .filter_map(|d| d.canary.as_ref().map(|c| c.errors_pair()))
        .collect();
    let columns = widen(&columns, 8, pairs.iter().map(String::as_str));
    let explain = |i: usize| deployment_reasons(&list[i], app);
    let spec = TablePanel::new(app, TableId::Deployments, &columns, right).explained_by(&explain);
    table(frame, area, app, spec, |i, fit| {
        let d = &list[i];
        let status = d.status(app.now, app.settings.thresholds.progress_deadline);
        vec![
            status_cell(app, status),
            fit.text("Service", &d.service),
            fit.text("Env", &d.environment),
            fit.text("Version", &d.version),
            fit.text("Previous", d.previous_version.as_deref().unwrap_or("—")),
            Cell::from(d.strategy.label()),
            fit.text("Progress", &d.strategy.progress())
                .style(app.theme.accent),
            // A rollback confirmed is under way until the source says
            // otherwise: never shown as done before it does.
            if app.rollbacks.is_pending(d, app.now) {
                Cell::from(ROLLING_BACK).style(app.theme.warn)
            } else {
                Cell::from(
                    if d.stalled(app.now, app.settings.thresholds.progress_deadline) {
                        "stalled"
                    } else {
                        d.phase.label()
                    },
                )
                .style(app.theme.status(status))
            },
            match &d.canary {
                Some(c) => fit
                    .text("Canary", &c.errors_pair())
                    .style(app.theme.status(c.status)),
                None => Cell::from("—"),
            },
            Cell::from(
                d.deployed_at
                    .map_or("—".into(), |at| format::ago(app.now - at)),
            ),
            Cell::from(d.rollbacks.to_string()),
        ]
    });
}

/// The columns that give a deployment its state, as `Deployment::status`
/// judges it: its phase (failed, paused, rolled back, unknown, or stalled),
/// for a stall how long ago it started, and a canary worse than stable.
fn deployment_reasons(d: &Deployment, app: &App) -> Vec<Reason> {
    let deadline = app.settings.thresholds.progress_deadline;
    let status = d.status(app.now, deadline);
    let stalled = d.stalled(app.now, deadline);
    // The phase's own state (a canary's verdict is the Canary column's).
    let phase = if stalled {
        Status::Warn
    } else {
        d.phase.status()
    };
    reasons(
        status,
        [
            ("Phase", phase),
            ("Canary", d.canary_status().unwrap_or(Status::Ok)),
            ("Deployed", if stalled { status } else { Status::Ok }),
        ],
    )
}
