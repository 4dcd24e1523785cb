//! Tab 2: what is broken? Golden signals per service, then hosts against
//! their CPU, memory and disk thresholds.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Cell;

use super::widgets::{
    Column, Fit, TablePanel, cluster_cell, col, freshness, name_cell, status_cell, table, widen,
    with_cluster,
};
use super::{format, layout};
use crate::app::App;
use crate::app::tab::TableId;
use crate::domain::kpi::budget_left;
use crate::domain::slo::{host_status, level, signal_states};
use crate::domain::{Host, ServiceHealth};

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
    let panel = &app.estate.health;
    let right = || freshness(app, panel);
    let services = layout::table_area(app, area, TableId::Services);
    let hosts = layout::table_area(app, area, TableId::Hosts);
    draw_services(frame, services, app, right());
    draw_hosts(frame, hosts, app, right());
}

fn draw_services(frame: &mut Frame, area: Rect, app: &App, right: Span<'static>) {
    let services = app.estate.services();
    let clustered = services.iter().any(|s| s.cluster.is_some());
    let columns = with_cluster(
        &widen(&SERVICES, 1, services.iter().map(|s| s.name.as_str())),
        clustered,
    );
    let spec = TablePanel::new(app, TableId::Services, &columns, right);
    table(frame, area, app, spec, |i, fit| {
        let s = &services[i];
        cluster_cell(service_cells(app, s, fit), s.cluster.as_ref(), clustered)
    });
}

fn service_cells(app: &App, s: &ServiceHealth, fit: &Fit) -> Vec<Cell<'static>> {
    let o = &app.settings.objectives;
    let states = signal_states(s, &app.settings.thresholds, o);
    let th = &app.theme;
    vec![
        status_cell(app, states.worst()),
        name_cell(&s.name),
        Cell::from(s.tier.label()),
        Cell::from(format::rate(s.requests_per_second)),
        Cell::from(format::percent(s.error_ratio, 2)).style(th.value(states.errors)),
        Cell::from(format::millis(s.latency_p95_ms)).style(th.value(states.p95)),
        Cell::from(format::millis(s.latency_p99_ms)).style(th.value(states.p99)),
        Cell::from(format::percent(s.saturation, 0)),
        Cell::from(format!("{}/{}", s.targets_up, s.targets_total)).style(th.value(states.targets)),
        Cell::from(budget_left(s, o.availability).map_or("—".into(), |l| format::percent(l, 0)))
            .style(th.value(states.budget)),
        fit.text("Team", &s.team),
        Cell::from(format::sparkline(&s.traffic_history, 20)).style(th.accent),
    ]
}

fn draw_hosts(frame: &mut Frame, area: Rect, app: &App, right: Span<'static>) {
    let health = app.estate.health.data.as_ref();
    let hosts = health.map_or(&[][..], |h| &h.hosts);
    let columns = widen(&HOSTS, 1, hosts.iter().map(|h| h.name.as_str()));
    let spec = TablePanel::new(app, TableId::Hosts, &columns, right);
    table(frame, area, app, spec, |i, _| host_cells(app, &hosts[i]));
}

fn host_cells(app: &App, h: &Host) -> Vec<Cell<'static>> {
    let t = &app.settings.thresholds;
    vec![
        status_cell(app, host_status(h, t)),
        name_cell(&h.name),
        gauge(app, h.cpu, t.cpu),
        gauge(app, h.memory, t.memory),
        gauge(app, h.disk, t.disk),
        Cell::from(format::sparkline(&h.cpu_history, 20)).style(app.theme.accent),
    ]
}

/// A bar and a percentage, coloured by how close `v` is to its threshold;
/// an empty bar and "—" when `v` is no share of a whole (NaN, ±inf, below 0
/// or over 100%), which a server's arithmetic can produce but no host can.
fn gauge(app: &App, v: f64, threshold: f64) -> Cell<'static> {
    let v = if format::is_share(v) { v } else { f64::NAN };
    let style = app.theme.value(level(v, threshold));
    let (filled, empty) = format::gauge(v, 10);
    Cell::from(Line::from(vec![
        Span::styled(filled, style),
        Span::styled(empty, app.theme.muted),
        Span::styled(format!(" {:>4}", format::share(v, 0)), style),
    ]))
}
