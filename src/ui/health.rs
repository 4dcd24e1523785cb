//! Tab 2: what is broken? Golden signals per service, then hosts against
//! their CPU, memory and disk thresholds.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Cell;

use super::widgets::{
    Column, Fit, Reason, TablePanel, cluster_cell, col, freshness, in_view, reasons, status_cell,
    table, widen, with_cluster,
};
use super::{format, layout, markers};
use crate::app::App;
use crate::app::tab::TableId;
use crate::domain::anomaly::anomalies;
use crate::domain::forecast::{full_in_text, host_disk_status};
use crate::domain::kpi::budget_left;
use crate::domain::slo::{SignalStates, host_status, level, signal_states};
use crate::domain::{Host, ServiceHealth, Status};

const SERVICES: [Column; 13] = [
    col("State", 9, 0),
    col("Service", 16, 0),
    col("Tier", 12, 6),
    col("Req/s", 7, 1),
    col("Errors", 8, 1),
    col("p95", 7, 2),
    col("p99", 7, 3),
    col("Sat", 5, 4),
    col("Targets", 7, 2),
    col("Budget", 6, 3),
    col("Unusual", 13, 4),
    col("Team", 10, 7),
    col("Traffic 5m", 20, 5),
];

pub(super) const HOSTS: [Column; 7] = [
    col("State", 9, 0),
    col("Host", 10, 0),
    col("CPU", 16, 1),
    col("Memory", 16, 1),
    col("Disk", 16, 1),
    col("Forecast", 11, 2),
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
    let explain = |i: usize| {
        let states = signal_states(
            &services[i],
            &app.settings.thresholds,
            &app.settings.objectives,
        );
        service_reasons(&states)
    };
    // The rows drawn are the services whose traffic lines are asked for.
    let shown = in_view(app, TableId::Services, area);
    *app.services_drawn.borrow_mut() = shown.iter().map(|&i| services[i].name.clone()).collect();
    let spec = TablePanel::new(app, TableId::Services, &columns, right).explained_by(&explain);
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
        fit.text("Service", &s.name),
        Cell::from(s.tier.label()),
        Cell::from(format::rate(s.requests_per_second)),
        Cell::from(format::percent(s.error_ratio, 2)).style(th.value(states.errors)),
        Cell::from(format::millis(s.latency_p95_ms)).style(th.value(states.p95)),
        Cell::from(format::millis(s.latency_p99_ms)).style(th.value(states.p99)),
        Cell::from(format::percent(s.saturation, 0)),
        Cell::from(format!("{}/{}", s.targets_up, s.targets_total)).style(th.value(states.targets)),
        Cell::from(budget_left(s, o.availability).map_or("—".into(), |l| format::percent(l, 0)))
            .style(th.value(states.budget)),
        unusual_cell(app, s),
        fit.text("Team", &s.team),
        Cell::from(Line::from(markers::sparkline(
            app,
            &s.traffic_history,
            20,
            &markers::service_marks(app, s),
            th.accent,
        ))),
    ]
}

/// The farthest of a service's unusual figures (`traffic ↑5.2σ`), with a
/// `+` where there are more; blank when nothing is unusual.
fn unusual_cell(app: &App, s: &ServiceHealth) -> Cell<'static> {
    let found = anomalies(s, app.settings.thresholds.anomaly_deviations);
    match found.first() {
        None => Cell::from(""),
        Some(a) => {
            let more = if found.len() > 1 { "+" } else { "" };
            Cell::from(format!("{}{more}", a.short())).style(app.theme.value(Status::Warn))
        }
    }
}

fn draw_hosts(frame: &mut Frame, area: Rect, app: &App, right: Span<'static>) {
    let health = app.estate.health.data.as_ref();
    let hosts = health.map_or(&[][..], |h| &h.hosts);
    let columns = widen(&HOSTS, 1, hosts.iter().map(|h| h.name.as_str()));
    let explain = |i: usize| host_reasons(&hosts[i], app);
    let spec = TablePanel::new(app, TableId::Hosts, &columns, right).explained_by(&explain);
    table(frame, area, app, spec, |i, fit| {
        host_cells(app, &hosts[i], fit)
    });
}

/// The columns that give a service its state, by the signals that judge it.
/// A state none of them accounts for (the SLO's burn, judged over windows
/// the table does not show) is the errors' over time: the Errors column.
fn service_reasons(states: &SignalStates) -> Vec<Reason> {
    let row = states.worst();
    // No traffic leaves the budget unknown, which does not mark the service.
    let budget = match states.budget {
        Status::Unknown => Status::Ok,
        judged => judged,
    };
    let mut signals = vec![
        ("Errors", states.errors),
        ("p95", states.p95),
        ("p99", states.p99),
        ("Targets", states.targets),
        ("Budget", budget),
        ("Unusual", states.unusual),
    ];
    if signals.iter().all(|(_, s)| *s < row) {
        signals.insert(0, ("Errors", row));
    }
    reasons(row, signals)
}

/// The gauges over or near their thresholds, as `host_status` judges them.
/// A host that is down has no gauge to blame: its state word says it.
fn host_reasons(h: &Host, app: &App) -> Vec<Reason> {
    let t = &app.settings.thresholds;
    reasons(
        host_status(h, t),
        [
            ("CPU", level(h.cpu, t.cpu)),
            ("Memory", level(h.memory, t.memory)),
            ("Disk", level(h.disk, t.disk)),
            ("Forecast", host_disk_status(h, t)),
        ],
    )
}

fn host_cells(app: &App, h: &Host, fit: &Fit) -> Vec<Cell<'static>> {
    let t = &app.settings.thresholds;
    vec![
        status_cell(app, host_status(h, t)),
        fit.text("Host", &h.name),
        gauge(app, h.cpu, t.cpu),
        gauge(app, h.memory, t.memory),
        gauge(app, h.disk, t.disk),
        Cell::from(full_in_text(h.full_in)).style(app.theme.value(host_disk_status(h, t))),
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
