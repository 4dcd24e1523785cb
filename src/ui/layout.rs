//! Where everything sits on screen, in one place: drawing uses it, and so
//! does paging, which must move by the rows the focused table really shows.

use ratatui::layout::{Constraint, Layout, Rect};

use crate::app::App;
use crate::app::tab::{Tab, TableId};

/// Smallest screen opsdeck draws into; below it, a message says so.
pub const MIN_WIDTH: u16 = 40;
pub const MIN_HEIGHT: u16 = 10;
pub const TILE_HEIGHT: u16 = 4;

pub struct Screen {
    pub header: Rect,
    pub tabs: Rect,
    pub body: Rect,
    pub footer: Rect,
}

pub fn screen(area: Rect) -> Screen {
    let [header, tabs, body, footer] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(1),
        Constraint::Min(0),
        Constraint::Length(1),
    ])
    .areas(area);
    Screen {
        header,
        tabs,
        body,
        footer,
    }
}

/// The KPI tiles' area and the area below them.
pub fn kpi_split(app: &App, body: Rect) -> (Rect, Rect) {
    let rows_of_tiles = app.estate.kpis.len().div_ceil(3) as u16;
    let [tiles, rest] = Layout::vertical([
        Constraint::Length(rows_of_tiles * TILE_HEIGHT),
        Constraint::Min(3),
    ])
    .areas(body);
    (tiles, rest)
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
        (Tab::Kpis, _) => kpi_split(app, body).1,
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
                body,
                e.alerts.data.as_ref().map_or(0, |a| a.silences.len()),
                10,
            )
            .1
        }
        (Tab::Incidents, _) => {
            two_tables(
                body,
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
    let body = screen(Rect::new(0, 0, width, height)).body;
    visible_rows(table_area(app, body, app.focused_table())).max(1)
}
