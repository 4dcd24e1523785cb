//! Tab 1: are we inside our SLAs? Tiles readable from across a room, then
//! the services ordered by error budget left, the worst first.

use ratatui::Frame;
use ratatui::layout::Alignment;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Borders, Cell, Paragraph};

use super::layout::{self, KpiGrid};
use super::widgets::{
    Column, Fit, TablePanel, cluster_cell, col, fit_text, freshness, name_cell, panel, status_cell,
    table, widen, with_cluster,
};
use super::{format, markers};
use crate::app::App;
use crate::app::tab::TableId;
use crate::domain::ServiceHealth;
use crate::domain::forecast::{self, BudgetForecast};
use crate::domain::kpi::{Kpi, budget_left, burn_1h, service_burn_status, service_slo_status};
use crate::domain::slo::{availability, availability_status};

const COLUMNS: [Column; 8] = [
    col("State", 9, 0),
    col("Service", 16, 0),
    col("Tier", 12, 4),
    col("Avail 30d", 10, 1),
    col("Budget left", 12, 1),
    col("Burn 1h", 8, 2),
    col("Gone in", 7, 3),
    col("Team", 10, 5),
];

pub fn draw(frame: &mut Frame, area: Rect, app: &App) {
    let grid = layout::kpi_grid(app, area);
    tiles(frame, &grid, app);
    let services = grid.rest;
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
    table(frame, services, app, spec, |i, fit| {
        let s = &list[i];
        let cells = slo_cells(app, s, objective, fit);
        cluster_cell(cells, s.cluster.as_ref(), clustered)
    });
}

fn slo_cells(app: &App, s: &ServiceHealth, objective: f64, fit: &Fit) -> Vec<Cell<'static>> {
    let avail = availability(s.sli);
    let left = budget_left(s, objective);
    let burn = burn_1h(s, objective);
    let slo = availability_status(avail, objective);
    let burning = service_burn_status(s, objective);
    let th = &app.theme;
    vec![
        status_cell(app, service_slo_status(s, objective)),
        name_cell(&s.name),
        Cell::from(s.tier.label()),
        Cell::from(avail.map_or("unknown".into(), |a| format::percent(a, 3))).style(th.value(slo)),
        Cell::from(left.map_or("unknown".into(), |l| format::percent(l, 1))).style(th.value(slo)),
        Cell::from(burn.map_or("—".into(), |b| format::factor(b, 1))).style(th.value(burning)),
        Cell::from(gone_in(app, s, objective)).style(th.value(burning.max(slo))),
        fit.text("Team", &s.team),
    ]
}

/// When the service's budget is gone at its one-hour burn: "9h", "spent",
/// or "—" when it is not burning faster than it is allowed to.
fn gone_in(app: &App, s: &ServiceHealth, objective: f64) -> String {
    let window = app.settings.objectives.slo_window;
    match forecast::service_budget(s, objective, window) {
        Some(BudgetForecast::Spent) => "spent".into(),
        Some(BudgetForecast::GoneIn { after, .. }) => forecast::within(after),
        None => "—".into(),
    }
}

/// The tiles of the rows shown, and where rows are out of view, a hint on
/// the last tile's border saying how many and the worst state among them.
fn tiles(frame: &mut Frame, grid: &KpiGrid, app: &App) {
    let view = app.table(TableId::Kpis);
    let focused = app.focused_table() == TableId::Kpis;
    let row_areas = Layout::vertical(vec![Constraint::Length(grid.tile_height); grid.rows_shown])
        .split(grid.tiles);
    let shown = grid.first_row * grid.cols..(grid.first_row + grid.rows_shown) * grid.cols;
    for (r, row_area) in row_areas.iter().enumerate() {
        let cells = Layout::horizontal(vec![Constraint::Ratio(1, grid.cols as u32); grid.cols])
            .split(*row_area);
        for (c, cell) in cells.iter().enumerate() {
            let n = (grid.first_row + r) * grid.cols + c;
            let Some(kpi) = view
                .rows
                .get(n)
                .and_then(|row| app.estate.kpis.get(row.index))
            else {
                continue;
            };
            tile(frame, *cell, app, kpi, focused && n == view.selected);
        }
    }
    let hidden: Vec<&Kpi> = view
        .rows
        .iter()
        .enumerate()
        .filter(|(n, _)| !shown.contains(n))
        .filter_map(|(_, row)| app.estate.kpis.get(row.index))
        .collect();
    if hidden.is_empty() {
        return;
    }
    let worst = crate::domain::Status::worst(hidden.iter().map(|k| k.status));
    let hint = format!(
        " {} more tiles · worst {} {} · w then ↑↓ ",
        hidden.len(),
        worst.symbol(),
        worst.label()
    );
    let width = (hint.chars().count() as u16).min(grid.tiles.width);
    let at = Rect {
        x: grid.tiles.right().saturating_sub(width + 1),
        y: grid.tiles.bottom().saturating_sub(1),
        width,
        height: 1,
    };
    frame.render_widget(Span::styled(hint, app.theme.status(worst)), at);
}

/// A tile: the value, the objective and the state in a word on the first
/// line; then, as the height allows, the trend and the note.
fn tile(frame: &mut Frame, area: Rect, app: &App, kpi: &Kpi, selected: bool) {
    let th = &app.theme;
    let style = th.status(kpi.status);
    let block = if selected {
        // Marked in words and style, so it shows in `mono` too.
        let title = Span::styled(format!(" ▶ {} ", kpi.title), th.selection);
        Block::default()
            .borders(Borders::ALL)
            .border_type(BorderType::Rounded)
            .title(Line::from(title))
    } else {
        panel(app, kpi.title.clone(), false, Span::raw(""), area.width)
    }
    .border_style(th.status_border(kpi.status));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let word = format!("{} {}", kpi.status.symbol(), kpi.status.label());
    let shown = kpi
        .value
        .map_or("unknown".into(), |v| format::value(kpi.unit, v));
    // The value always; then the objective, shortened or left out, so the
    // state word on the right is never overwritten.
    let width = inner.width as usize;
    let free = width.saturating_sub(shown.chars().count() + word.chars().count() + 1);
    let (full, short) = format::objective(kpi);
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
    let trend_line = inner.height >= 3;
    if !trend_line && kpi.trend.len() >= 2 && room >= 6 {
        first.push(Span::raw("  "));
        let marks = markers::trend_marks(app, kpi.trend.len());
        first.extend(markers::sparkline(
            app,
            &kpi.trend,
            room.min(24),
            &marks,
            th.accent,
        ));
    }
    let mut lines = vec![Line::from(first)];
    if trend_line {
        lines.push(trend(kpi, width, app));
    }
    lines.push(Line::from(Span::styled(
        fit_text(&kpi.note, width),
        th.muted,
    )));
    frame.render_widget(Paragraph::new(lines), inner);
    frame.render_widget(
        Paragraph::new(Span::styled(word, style)).alignment(Alignment::Right),
        Rect { height: 1, ..inner },
    );
}

/// The trend line: the sparkline and the range it spans, so a wobble in the
/// third decimal does not look like a cliff; a flat hour says so in words.
fn trend(kpi: &Kpi, width: usize, app: &App) -> Line<'static> {
    let th = &app.theme;
    if kpi.trend.len() < 2 {
        return Line::from(Span::styled("trend: gathering", th.muted));
    }
    let (lo, hi) = kpi
        .trend
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
            (lo.min(*v), hi.max(*v))
        });
    let (low, high) = (format::value(kpi.unit, lo), format::value(kpi.unit, hi));
    if low == high {
        let steady = format!("flat: {low} all hour");
        return Line::from(Span::styled(fit_text(&steady, width), th.muted));
    }
    let range = format!(" {low}–{high}");
    let room = width.saturating_sub(range.chars().count());
    let marks = markers::trend_marks(app, kpi.trend.len());
    if room < 8 {
        return Line::from(markers::sparkline(
            app, &kpi.trend, width, &marks, th.accent,
        ));
    }
    let mut spans = markers::sparkline(app, &kpi.trend, room, &marks, th.accent);
    spans.push(Span::styled(range, th.muted));
    Line::from(spans)
}
