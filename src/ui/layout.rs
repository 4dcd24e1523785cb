//! Where everything sits on screen, in one place: drawing uses it, and so
//! does paging, which must move by the rows the focused table really shows.

use ratatui::layout::{Constraint, Layout, Rect};

use crate::app::App;
use crate::app::tab::{Tab, TableId};

/// Smallest screen opsdeck draws into; below it, a message says so.
pub const MIN_WIDTH: u16 = 40;
pub const MIN_HEIGHT: u16 = 10;
/// A KPI tile is at least this wide; the grid has 3 to 5 columns.
pub const TILE_MIN_WIDTH: u16 = 30;
/// Rows the table below the tiles keeps, at least, with full tiles and
/// with compact ones.
const TABLE_ROOM: u16 = 8;
const TABLE_ROOM_COMPACT: u16 = 6;

pub struct Screen {
    /// The kiosk's incident banner, when one is shown.
    pub banner: Option<Rect>,
    pub header: Rect,
    pub tabs: Rect,
    pub body: Rect,
    pub footer: Rect,
}

pub fn screen(area: Rect, banner: bool) -> Screen {
    let [banner_area, header, tabs, body, footer] = Layout::vertical([
        Constraint::Length(u16::from(banner)),
        Constraint::Length(1),
        Constraint::Length(1),
        Constraint::Min(0),
        Constraint::Length(1),
    ])
    .areas(area);
    Screen {
        banner: banner.then_some(banner_area),
        header,
        tabs,
        body,
        footer,
    }
}

/// The body split for the output pane of an action, when it is open: the
/// tab keeps the top, so the pane never hides the row an action acts on.
pub fn split_pane(app: &App, body: Rect) -> (Rect, Option<Rect>) {
    if app.actions.pane.is_none() || body.height < 10 {
        return (body, None);
    }
    let height = (body.height / 2).clamp(5, 14);
    let [top, pane] =
        Layout::vertical([Constraint::Min(0), Constraint::Length(height)]).areas(body);
    (top, Some(pane))
}

/// The KPI tiles as laid out on a screen.
pub struct KpiGrid {
    pub cols: usize,
    /// 5: value, trend and note; 4: value (and trend) and note; 3: value.
    pub tile_height: u16,
    /// The rows of tiles shown: all, or those around the selected tile.
    pub first_row: usize,
    pub rows_shown: usize,
    pub rows: usize,
    pub tiles: Rect,
    /// Below the tiles: the services table.
    pub rest: Rect,
}

/// Columns by width; the tallest tiles that leave the table below room;
/// when even one-line tiles do not fit, the rows around the selected tile.
pub fn kpi_grid(app: &App, body: Rect) -> KpiGrid {
    let view = app.table(TableId::Kpis);
    let cols = (body.width / TILE_MIN_WIDTH).clamp(3, 5) as usize;
    let rows = view.rows.len().div_ceil(cols).max(1);
    let need = |height: u16, room: u16| rows as u16 * height + room;
    let (tile_height, rows_shown) = if body.height >= need(5, TABLE_ROOM) {
        (5, rows)
    } else if body.height >= need(4, TABLE_ROOM) {
        (4, rows)
    } else if body.height >= need(3, TABLE_ROOM_COMPACT) {
        (3, rows)
    } else {
        let fit = body.height.saturating_sub(TABLE_ROOM_COMPACT) / 3;
        (3, (fit as usize).clamp(1, rows))
    };
    let selected_row = view.selected / cols;
    let first_row = (selected_row + 1).saturating_sub(rows_shown);
    let [tiles, rest] = Layout::vertical([
        Constraint::Length(rows_shown as u16 * tile_height),
        Constraint::Min(3),
    ])
    .areas(body);
    KpiGrid {
        cols,
        tile_height,
        first_row,
        rows_shown,
        rows,
        tiles,
        rest,
    }
}

/// A tab with two tables: the first takes what the second, sized to its
/// rows within limits, leaves.
fn two_tables(body: Rect, second_rows: usize, max: u16) -> (Rect, Rect) {
    let second = (second_rows as u16 + 3).clamp(5, max);
    let [top, bottom] =
        Layout::vertical([Constraint::Min(6), Constraint::Length(second)]).areas(body);
    (top, bottom)
}

/// The area of table `id` on the current tab's `body`.
pub fn table_area(app: &App, body: Rect, id: TableId) -> Rect {
    let e = &app.estate;
    match (app.tab, id) {
        (Tab::Kpis, TableId::Kpis) => kpi_grid(app, body).tiles,
        (Tab::Kpis, _) => kpi_grid(app, body).rest,
        (Tab::Health, TableId::Hosts) => {
            two_tables(
                body,
                e.health.data.as_ref().map_or(0, |h| h.hosts.len()),
                12,
            )
            .1
        }
        (Tab::Health, _) => {
            two_tables(
                body,
                e.health.data.as_ref().map_or(0, |h| h.hosts.len()),
                12,
            )
            .0
        }
        (Tab::Incidents, TableId::Silences) => {
            two_tables(
                super::oncall::split(app, body).1,
                e.alerts.data.as_ref().map_or(0, |a| a.silences.len()),
                10,
            )
            .1
        }
        (Tab::Incidents, _) => {
            two_tables(
                super::oncall::split(app, body).1,
                e.alerts.data.as_ref().map_or(0, |a| a.silences.len()),
                10,
            )
            .0
        }
        _ => body,
    }
}

/// Rows of data a table in `area` shows: less the borders and the header.
pub fn visible_rows(area: Rect) -> usize {
    area.height.saturating_sub(3) as usize
}

/// Rows the focused table shows on a `width`x`height` screen.
pub fn page_rows(app: &App, width: u16, height: u16) -> usize {
    let body = split_pane(
        app,
        screen(
            Rect::new(0, 0, width, height),
            super::kiosk_banner(app).is_some(),
        )
        .body,
    )
    .0;
    if app.tab == Tab::Kpis && app.focused_table() == TableId::Kpis {
        let grid = kpi_grid(app, body);
        return grid.cols * grid.rows_shown;
    }
    visible_rows(table_area(app, body, app.focused_table())).max(1)
}
