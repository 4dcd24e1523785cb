//! Tab 2: what is broken? Golden signals per service, then hosts against
//! their CPU, memory and disk thresholds.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::widgets::Cell;

use super::format;
use super::widgets::{Column, col, flex, freshness, status_cell, table};
use crate::app::App;
use crate::app::tab::TableId;
use crate::domain::Status;
use crate::domain::slo::{host_status, level, service_status};

const SERVICES: [Column; 11] = [
    col("State", 9, 0),
    col("Service", 16, 0),
    col("Tier", 12, 5),
    col("Req/s", 7, 1),
    col("Errors", 8, 1),
    col("p95", 7, 2),
    col("p99", 7, 3),
    col("Sat", 5, 4),
    col("Targets", 7, 2),
    col("Team", 10, 7),
    flex("Traffic 5m", 12, 6),
];

const HOSTS: [Column; 6] = [
    col("State", 9, 0),
    col("Host", 10, 0),
    col("CPU", 16, 1),
    col("Memory", 16, 1),
    col("Disk", 16, 1),
    flex("CPU 5m", 12, 3),
];

pub fn draw(frame: &mut Frame, area: Rect, app: &App) {
    let hosts = app.estate.health.data.as_ref().map_or(0, |h| h.hosts.len()) as u16;
    let [top, bottom] = Layout::vertical([
        Constraint::Min(6),
        Constraint::Length((hosts + 3).clamp(5, 12)),
    ])
    .areas(area);
    let focus = app.focused_table();
    let panel = &app.estate.health;
    let right = || freshness(app, panel.updated, panel.error.as_deref());
    let (t, o) = (&app.settings.thresholds, &app.settings.objectives);
    let services = panel.data.as_ref().map_or(&[][..], |h| &h.services);
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
            let err_status =
                level(s.error_ratio, t.error_ratio).max(if s.error_ratio >= o.error_ratio * 10.0 {
                    Status::Warn
                } else {
                    Status::Ok
                });
            let p95_status = if s.latency_p95_ms > o.latency_p95_ms {
                Status::Warn
            } else {
                Status::Ok
            };
            let targets = if s.targets_up < s.targets_total {
                Status::Warn
            } else {
                Status::Ok
            };
            vec![
                status_cell(app, service_status(s, t, o)),
                Cell::from(s.name.clone()),
                Cell::from(s.tier.label()),
                Cell::from(format::rate(s.requests_per_second)),
                Cell::from(format::percent(s.error_ratio, 2)).style(app.theme.status(err_status)),
                Cell::from(format::millis(s.latency_p95_ms)).style(app.theme.status(p95_status)),
                Cell::from(format::millis(s.latency_p99_ms))
                    .style(app.theme.status(level(s.latency_p99_ms, t.latency_ms))),
                Cell::from(format::percent(s.saturation, 0)),
                Cell::from(format!("{}/{}", s.targets_up, s.targets_total))
                    .style(app.theme.status(targets)),
                Cell::from(s.team.clone()),
                Cell::from(format::sparkline(&s.traffic_history, 24)).style(app.theme.accent),
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
                Cell::from(format!("{} {:>3.0}%", format::gauge(v, 10), v * 100.0))
                    .style(app.theme.status(level(v, threshold)))
            };
            vec![
                status_cell(app, host_status(h, t)),
                Cell::from(h.name.clone()),
                gauge(h.cpu, t.cpu),
                gauge(h.memory, t.memory),
                gauge(h.disk, t.disk),
                Cell::from(format::sparkline(&h.cpu_history, 24)).style(app.theme.accent),
            ]
        },
    );
}
