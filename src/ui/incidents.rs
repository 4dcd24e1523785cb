//! Tab 5: what is on fire, since when, who is on it? Incidents by severity,
//! then the silences (maintenance windows and acknowledgements).

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Cell;

use super::widgets::{
    Column, Fit, TablePanel, col, fit_text, flex, freshness, name_cell, table, widen,
};
use super::{format, layout};
use crate::app::App;
use crate::app::tab::TableId;
use crate::domain::incidents::Incident;
use crate::domain::{Silence, Status};

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
    let panel = &app.estate.alerts;
    let right = || freshness(app, panel);
    let top = layout::table_area(app, area, TableId::Incidents);
    let bottom = layout::table_area(app, area, TableId::Silences);
    draw_incidents(frame, top, app, right());
    draw_runbook(frame, top, app);
    draw_silences(frame, bottom, app, right());
}

fn draw_incidents(frame: &mut Frame, area: Rect, app: &App, right: Span<'static>) {
    let incidents = &app.estate.incidents;
    let columns = widen(&INCIDENTS, 1, incidents.iter().map(|i| i.name.as_str()));
    let columns = widen(&columns, 2, incidents.iter().map(|i| i.service.as_str()));
    let spec = TablePanel::new(app, TableId::Incidents, &columns, right);
    table(frame, area, app, spec, |i, fit| {
        incident_cells(app, &incidents[i], fit)
    });
}

fn incident_cells(app: &App, inc: &Incident, fit: &Fit) -> Vec<Cell<'static>> {
    let th = &app.theme;
    // Silenced or inhibited: still listed, but quiet, and saying why.
    let held = match (inc.silenced, inc.inhibited) {
        (true, _) => Some("silenced"),
        (false, true) => Some("inhibited"),
        (false, false) => None,
    };
    let sev = match held {
        Some(_) => Cell::from(format!("◌ {}", inc.severity.label())).style(th.muted),
        None => Cell::from(format!(
            "{} {}",
            inc.severity.symbol(),
            inc.severity.label()
        ))
        .style(th.severity(inc.severity)),
    };
    let summary = match held {
        Some(why) => format!("[{why}] {}", inc.summary),
        None => inc.summary.clone(),
    };
    vec![
        sev,
        name_cell(&inc.name),
        name_cell(&inc.service),
        Cell::from(inc.started.format("%H:%M").to_string()),
        Cell::from(format::short_duration(inc.duration(app.now))),
        Cell::from(inc.alert_count.to_string()),
        fit.text("Summary", &summary),
        fit.text("Runbook", inc.runbook.as_deref().unwrap_or("—"))
            .style(th.muted),
    ]
}

/// The selected incident's runbook on the incidents table's bottom border,
/// whole, where it can be read and copied even when the Runbook column does
/// not fit.
fn draw_runbook(frame: &mut Frame, table_area: Rect, app: &App) {
    let selected = app
        .table(TableId::Incidents)
        .selected_row()
        .and_then(|r| app.estate.incidents.get(r.index));
    let Some(url) = selected.and_then(|inc| inc.runbook.as_deref()) else {
        return;
    };
    let width = table_area.width.saturating_sub(4);
    let text = fit_text(&format!(" runbook: {url} "), width as usize);
    let line = Line::from(Span::styled(text, app.theme.accent));
    let border = Rect {
        x: table_area.x + 2,
        y: table_area.bottom().saturating_sub(1),
        width,
        height: 1,
    };
    frame.render_widget(line, border);
}

fn draw_silences(frame: &mut Frame, area: Rect, app: &App, right: Span<'static>) {
    let alerts = app.estate.alerts.data.as_ref();
    let silences = alerts.map_or(&[][..], |a| &a.silences);
    let spec = TablePanel::new(app, TableId::Silences, &SILENCES, right);
    table(frame, area, app, spec, |i, fit| {
        silence_cells(app, &silences[i], fit)
    });
}

fn silence_cells(app: &App, s: &Silence, fit: &Fit) -> Vec<Cell<'static>> {
    let (word, status) = if s.is_active(app.now) {
        ("active", Status::Ok)
    } else if s.starts_at > app.now {
        ("pending", Status::Unknown)
    } else {
        ("expired", Status::Unknown)
    };
    vec![
        Cell::from(word).style(app.theme.status(status)),
        fit.text("Matchers", &s.matchers),
        fit.text("By", &s.created_by),
        Cell::from(s.starts_at.format("%d %b %H:%M").to_string()),
        Cell::from(s.ends_at.format("%d %b %H:%M").to_string()),
        fit.text("Comment", &s.comment),
    ]
}
