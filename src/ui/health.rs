//! Tab 2: what is broken? Golden signals per service, then hosts against
//! their CPU, memory and disk thresholds.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Cell;

use super::widgets::{Column, col, freshness, status_cell, table};
use super::{format, layout};
use crate::app::App;
use crate::app::tab::TableId;
use crate::domain::kpi::budget_left;
use crate::domain::slo::{host_status, level, signal_states};

const SERVICES: [Column; 12] = [
    col("State", 9, 0),
    col("Service", 16, 0),
    col("Tier", 12, 5),
    col("Req/s", 7, 1),
    col("Errors", 8, 1),
    col("p95", 7, 2),
    col("p99", 7, 3),
    col("Sat", 5, 4),
    col("Targets", 7, 2),
    col("Budget", 6, 3),
    col("Team", 10, 7),
    col("Traffic 5m", 20, 6),
];

const HOSTS: [Column; 6] = [
    col("State", 9, 0),
    col("Host", 10, 0),
    col("CPU", 16, 1),
    col("Memory", 16, 1),
    col("Disk", 16, 1),
    col("CPU 5m", 20, 3),
];

pub fn draw(frame: &mut Frame, area: Rect, app: &App) {
    let top = layout::table_area(app, area, TableId::Services);
    let bottom = layout::table_area(app, area, TableId::Hosts);
    let focus = app.focused_table();
    let panel = &app.estate.health;
    let right = || freshness(app, panel.updated, panel.error.as_deref());
    let (t, o) = (&app.settings.thresholds, &app.settings.objectives);
    let services = app.estate.services();
    table(
        frame,
        top,
        app,
        TableId::Services,
        &SERVICES,
        right(),
        focus == TableId::Services,
        |i| {
            let s = &services[i];
            let states = signal_states(s, t, o);
            let th = &app.theme;
            vec![
                status_cell(app, states.worst()),
                Cell::from(s.name.clone()),
                Cell::from(s.tier.label()),
                Cell::from(format::rate(s.requests_per_second)),
                Cell::from(format::percent(s.error_ratio, 2)).style(th.value(states.errors)),
                Cell::from(format::millis(s.latency_p95_ms)).style(th.value(states.p95)),
                Cell::from(format::millis(s.latency_p99_ms)).style(th.value(states.p99)),
                Cell::from(format::percent(s.saturation, 0)),
                Cell::from(format!("{}/{}", s.targets_up, s.targets_total))
                    .style(th.value(states.targets)),
                Cell::from(
                    budget_left(s, o.availability).map_or("—".into(), |l| format::percent(l, 0)),
                )
                .style(th.value(states.budget)),
                Cell::from(s.team.clone()),
                Cell::from(format::sparkline(&s.traffic_history, 20)).style(app.theme.accent),
            ]
        },
    );
    let hosts = panel.data.as_ref().map_or(&[][..], |h| &h.hosts);
    table(
        frame,
        bottom,
        app,
        TableId::Hosts,
        &HOSTS,
        right(),
        focus == TableId::Hosts,
        |i| {
            let h = &hosts[i];
            let gauge = |v: f64, threshold: f64| {
                let style = app.theme.value(level(v, threshold));
                let (filled, empty) = format::gauge(v, 10);
                Cell::from(Line::from(vec![
                    Span::styled(filled, style),
                    Span::styled(empty, app.theme.muted),
                    Span::styled(format!(" {:>3.0}%", v * 100.0), style),
                ]))
            };
            vec![
                status_cell(app, host_status(h, t)),
                Cell::from(h.name.clone()),
                gauge(h.cpu, t.cpu),
                gauge(h.memory, t.memory),
                gauge(h.disk, t.disk),
                Cell::from(format::sparkline(&h.cpu_history, 20)).style(app.theme.accent),
            ]
        },
    );
}
