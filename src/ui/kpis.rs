//! Tab 1: are we inside our SLAs? Tiles readable from across a room, then
//! the services ordered by error budget left, the worst first.

use ratatui::Frame;
use ratatui::layout::Alignment;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Paragraph};

use super::format;
use super::layout::{self, TILE_HEIGHT};
use super::widgets::{
    Column, TablePanel, cluster_cell, col, fit_text, freshness, name_cell, panel, status_cell,
    table, widen, with_cluster,
};
use crate::app::App;
use crate::app::tab::TableId;
use crate::domain::ServiceHealth;
use crate::domain::kpi::{Goal, Kpi, Unit, budget_left, service_burn_status, service_slo_status};
use crate::domain::slo::{availability, availability_status, burn_rate};

const COLUMNS: [Column; 7] = [
    col("State", 9, 0),
    col("Service", 16, 0),
    col("Tier", 12, 4),
    col("Avail 30d", 10, 1),
    col("Budget left", 12, 1),
    col("Burn 1h", 8, 2),
    col("Team", 10, 5),
];

pub fn draw(frame: &mut Frame, area: Rect, app: &App) {
    let (tiles, services) = layout::kpi_split(app, area);
    let rows_of_tiles = app.estate.kpis.len().div_ceil(3);
    let row_areas =
        Layout::vertical(vec![Constraint::Length(TILE_HEIGHT); rows_of_tiles]).split(tiles);
    for (chunk, row_area) in app.estate.kpis.chunks(3).zip(row_areas.iter()) {
        let cells = Layout::horizontal([Constraint::Ratio(1, 3); 3]).split(*row_area);
        for (kpi, cell) in chunk.iter().zip(cells.iter()) {
            tile(frame, *cell, app, kpi);
        }
    }
    let panel_data = &app.estate.health;
    let right = freshness(app, panel_data);
    let objective = app.settings.objectives.availability;
    let list = app.estate.services();
    let clustered = list.iter().any(|s| s.cluster.is_some());
    let columns = with_cluster(
        &widen(&COLUMNS, 1, list.iter().map(|s| s.name.as_str())),
        clustered,
    );
    let spec = TablePanel::new(app, TableId::Slo, &columns, right);
    table(frame, services, app, spec, |i| {
        let s = &list[i];
        cluster_cell(slo_cells(app, s, objective), s.cluster.as_ref(), clustered)
    });
}

fn slo_cells(app: &App, s: &ServiceHealth, objective: f64) -> Vec<Cell<'static>> {
    let avail = availability(s.sli);
    let left = budget_left(s, objective);
    let burn = burn_rate(s.error_ratio_1h, objective);
    let slo = availability_status(avail, objective);
    let burning = service_burn_status(s, objective);
    let th = &app.theme;
    vec![
        status_cell(app, service_slo_status(s, objective)),
        name_cell(&s.name),
        Cell::from(s.tier.label()),
        Cell::from(avail.map_or("unknown".into(), |a| format::percent(a, 3))).style(th.value(slo)),
        Cell::from(left.map_or("unknown".into(), |l| format::percent(l, 1))).style(th.value(slo)),
        Cell::from(burn.map_or("—".into(), |b| format!("{b:.1}x"))).style(th.value(burning)),
        Cell::from(s.team.clone()),
    ]
}

fn value(kpi: &Kpi, v: f64) -> String {
    match kpi.unit {
        Unit::Percent(decimals) => format::percent(v, decimals.into()),
        Unit::Millis => format::millis(v),
        Unit::Seconds => format::duration(chrono::Duration::seconds(v as i64)),
        Unit::Factor => format!("{v:.1}x"),
    }
}

/// The objective in full ("obj ≥ 99.90%") and short ("≥99.90%") forms.
fn objective(kpi: &Kpi) -> (String, String) {
    let Some(o) = kpi.objective else {
        return (String::new(), String::new());
    };
    let amount = match kpi.unit {
        Unit::Percent(_) if o >= 1.0 => "100%".to_string(),
        Unit::Percent(_) => format::percent(o, 2).replace(".00%", "%"),
        Unit::Millis => format::millis(o),
        Unit::Seconds => format::short_duration(chrono::Duration::seconds(o as i64)),
        Unit::Factor => format!("{o:.0}x"),
    };
    let sign = match kpi.goal {
        Goal::AtLeast if o >= 1.0 => "",
        Goal::AtLeast => "≥",
        Goal::Below => "<",
    };
    let spaced = if sign.is_empty() {
        String::new()
    } else {
        format!("{sign} ")
    };
    (format!("obj {spaced}{amount}"), format!("{sign}{amount}"))
}

fn tile(frame: &mut Frame, area: Rect, app: &App, kpi: &Kpi) {
    let th = &app.theme;
    let style = th.status(kpi.status);
    let block = panel(app, kpi.title.to_string(), false, Span::raw(""))
        .border_style(th.status_border(kpi.status));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let word = format!("{} {}", kpi.status.symbol(), kpi.status.label());
    let shown = kpi.value.map_or("unknown".into(), |v| value(kpi, v));
    // The value always; then the objective, shortened or left out, so the
    // state word on the right is never overwritten.
    let width = inner.width as usize;
    let free = width.saturating_sub(shown.chars().count() + word.chars().count() + 1);
    let (full, short) = objective(kpi);
    let (full, short) = (format!("  {full}"), format!("  {short}"));
    let objective = [full, short]
        .into_iter()
        .find(|o| o.chars().count() <= free)
        .unwrap_or_default();
    let room = free.saturating_sub(objective.chars().count() + 2);
    let mut first = vec![
        Span::styled(shown, style),
        Span::styled(objective, th.muted),
    ];
    if !kpi.trend.is_empty() && room >= 6 {
        first.push(Span::styled(
            format!("  {}", format::sparkline(&kpi.trend, room.min(24))),
            th.accent,
        ));
    }
    let note = Line::from(Span::styled(
        fit_text(&kpi.note, inner.width as usize),
        th.muted,
    ));
    frame.render_widget(Paragraph::new(vec![Line::from(first), note]), inner);
    frame.render_widget(
        Paragraph::new(Span::styled(word, style)).alignment(Alignment::Right),
        Rect { height: 1, ..inner },
    );
}
