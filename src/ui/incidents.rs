//! Tab 5: what is on fire, since when, who is on it? Incidents by severity,
//! then the silences (maintenance windows and acknowledgements).

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Cell;

use super::widgets::{Column, col, fit_text, flex, freshness, table};
use super::{format, layout};
use crate::app::App;
use crate::app::tab::TableId;
use crate::domain::Status;

const INCIDENTS: [Column; 8] = [
    col("Severity", 10, 0),
    col("Incident", 22, 0),
    col("Service", 15, 1),
    col("Started", 7, 3),
    col("For", 5, 1),
    col("Alerts", 6, 5),
    flex("Summary", 20, 2),
    col("Runbook", 40, 4),
];

const SILENCES: [Column; 6] = [
    col("State", 9, 0),
    col("Matchers", 22, 0),
    col("By", 10, 1),
    col("Starts", 12, 3),
    col("Until", 12, 1),
    flex("Comment", 20, 2),
];

pub fn draw(frame: &mut Frame, area: Rect, app: &App) {
    let top = layout::table_area(app, area, TableId::Incidents);
    let bottom = layout::table_area(app, area, TableId::Silences);
    let panel = &app.estate.alerts;
    let right = || freshness(app, panel.updated, panel.error.as_deref());
    let focus = app.focused_table();
    let th = &app.theme;
    let incidents = &app.estate.incidents;
    table(
        frame,
        top,
        app,
        TableId::Incidents,
        &INCIDENTS,
        right(),
        focus == TableId::Incidents,
        |i| {
            let inc = &incidents[i];
            let sev = if inc.silenced {
                Cell::from(format!("◌ {}", inc.severity.label())).style(th.muted)
            } else {
                Cell::from(format!(
                    "{} {}",
                    inc.severity.symbol(),
                    inc.severity.label()
                ))
                .style(th.severity(inc.severity))
            };
            let summary = if inc.silenced {
                format!("[silenced] {}", inc.summary)
            } else {
                inc.summary.clone()
            };
            vec![
                sev,
                Cell::from(inc.name.clone()),
                Cell::from(inc.service.clone()),
                Cell::from(inc.started.format("%H:%M").to_string()),
                Cell::from(format::short_duration(inc.duration(app.now))),
                Cell::from(inc.alert_count.to_string()),
                Cell::from(summary),
                Cell::from(inc.runbook.clone().unwrap_or_else(|| "—".into())).style(th.muted),
            ]
        },
    );
    // The selected incident's runbook on the bottom border, whole, where it
    // can be read and copied even when the Runbook column does not fit.
    let selected = app
        .table(TableId::Incidents)
        .selected_row()
        .and_then(|r| incidents.get(r.index));
    if let Some(url) = selected.and_then(|inc| inc.runbook.as_deref()) {
        let text = fit_text(
            &format!(" runbook: {url} "),
            top.width.saturating_sub(4) as usize,
        );
        let line = Line::from(Span::styled(text, th.accent));
        frame.render_widget(
            line,
            Rect {
                x: top.x + 2,
                y: top.bottom().saturating_sub(1),
                width: top.width.saturating_sub(4),
                height: 1,
            },
        );
    }
    let silences = panel.data.as_ref().map_or(&[][..], |a| &a.silences);
    table(
        frame,
        bottom,
        app,
        TableId::Silences,
        &SILENCES,
        right(),
        focus == TableId::Silences,
        |i| {
            let s = &silences[i];
            let (word, status) = if s.is_active(app.now) {
                ("active", Status::Ok)
            } else if s.starts_at > app.now {
                ("pending", Status::Unknown)
            } else {
                ("expired", Status::Unknown)
            };
            vec![
                Cell::from(word).style(th.status(status)),
                Cell::from(s.matchers.clone()),
                Cell::from(s.created_by.clone()),
                Cell::from(s.starts_at.format("%d %b %H:%M").to_string()),
                Cell::from(s.ends_at.format("%d %b %H:%M").to_string()),
                Cell::from(s.comment.clone()),
            ]
        },
    );
}
