//! Pieces every tab uses: panels with their data's age and error, and tables
//! whose columns drop by priority when the terminal is narrow, the state,
//! the name and what explains a row's state last (`columns`).

use ratatui::Frame;
use ratatui::layout::{Flex, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Borders, Cell, Row, Table, TableState};

use super::format;
use crate::app::rows::TableView;
use crate::app::tab::TableId;
use crate::app::{App, Mode, Panel};
use crate::domain::Status;

mod columns;
#[cfg(test)]
mod narrow_tests;

use columns::{COLUMN_SPACING, fit, widths};
pub use columns::{Column, Fit, MAX_NAME, Reason, col, flex, reasons, widen};

/// A name for a cell: cut to `MAX_NAME` with an ellipsis.
pub fn name_cell(name: &str) -> Cell<'static> {
    Cell::from(fit_text(name, MAX_NAME))
}

/// Width of the Cluster column.
const CLUSTER_WIDTH: u16 = 10;

/// `columns` with a Cluster column after the second when the data comes
/// from several clusters, so the same service name in two reads apart.
pub fn with_cluster(columns: &[Column], clustered: bool) -> Vec<Column> {
    let mut out = columns.to_vec();
    if clustered {
        out.insert(2.min(out.len()), col("Cluster", CLUSTER_WIDTH, 0));
    }
    out
}

/// The cells of a row, with its cluster's cell where `with_cluster` put the column.
pub fn cluster_cell(
    mut cells: Vec<Cell<'static>>,
    cluster: Option<&String>,
    clustered: bool,
) -> Vec<Cell<'static>> {
    if clustered {
        let name = cluster.map_or("—", String::as_str);
        let cell = Cell::from(fit_text(name, CLUSTER_WIDTH.into()));
        cells.insert(2.min(cells.len()), cell);
    }
    cells
}

/// `text` cut to `width` cells, with an ellipsis when it was longer. Cells,
/// not characters: a wide character takes two.
pub fn fit_text(text: &str, width: usize) -> String {
    if Span::raw(text).width() <= width {
        return text.to_string();
    }
    let mut out = String::new();
    let mut used = 0;
    let mut buf = [0u8; 4];
    for c in text.chars() {
        let w = Span::raw(&*c.encode_utf8(&mut buf)).width();
        if used + w + 1 > width {
            break;
        }
        used += w;
        out.push(c);
    }
    if width > 0 {
        out.push('…');
    }
    out
}

/// The status as a symbol and a word, so it reads without colour.
pub fn status_cell(app: &App, status: Status) -> Cell<'static> {
    Cell::from(format!("{} {}", status.symbol(), status.label())).style(app.theme.status(status))
}

/// Longest server error or warning text on a border: the age after it
/// stays in view on a panel of ordinary width.
const MAX_SERVER_TEXT: usize = 80;

/// Where the panel's data stands: its age, or the error with the age of the
/// last good data.
pub fn freshness<T>(app: &App, panel: &Panel<T>) -> Span<'static> {
    let age = panel.updated.map(|at| format::short_duration(app.now - at));
    let err = panel.error.as_ref().map(|e| fit_text(e, MAX_SERVER_TEXT));
    let warning = panel.warnings.first().map(|w| fit_text(w, MAX_SERVER_TEXT));
    let more = |n: usize| {
        if n > 1 {
            format!(" (+{} more)", n - 1)
        } else {
            String::new()
        }
    };
    match (err, age, warning) {
        (Some(err), Some(age), _) => {
            Span::styled(format!(" ⚠ {err} · last good {age} ago "), app.theme.warn)
        }
        // It failed: not "yet", as if one should wait.
        (Some(err), None, _) => Span::styled(format!(" ⚠ {err} · no data "), app.theme.crit),
        (None, Some(age), Some(warning)) => Span::styled(
            format!(
                " ⚠ {warning}{} · updated {age} ago ",
                more(panel.warnings.len())
            ),
            app.theme.warn,
        ),
        (None, Some(age), None) => Span::styled(format!(" updated {age} ago "), app.theme.muted),
        (None, None, _) => Span::styled(" loading… ", app.theme.muted),
    }
}

/// A bordered panel `width` cells wide with `title` on its top border, and
/// `right` in what the title leaves of it, from its start, with an ellipsis
/// where it was cut: a long server text never pushes the title off. A title
/// too long to leave room for `right` (a pop-up named after a long name) is
/// cut first, down to half the border, so a hint such as "Esc closes" stays.
pub fn panel<'a>(
    app: &App,
    title: String,
    focused: bool,
    right: Span<'a>,
    width: u16,
) -> Block<'a> {
    let border = if focused {
        app.theme.border_focused
    } else {
        app.theme.border
    };
    // The corners take a cell each; a cell of border between the two texts.
    let room = usize::from(width.saturating_sub(2));
    let title_room = room.saturating_sub(right.width() + 1).max(room / 2);
    let title = fit_text(&format!(" {title} "), title_room);
    let left = room.saturating_sub(Span::raw(title.as_str()).width() + 1);
    let right = if right.width() <= left {
        right
    } else {
        Span::styled(fit_text(&right.content, left), right.style)
    };
    Block::default()
        .borders(Borders::ALL)
        .border_type(BorderType::Rounded)
        .border_style(border)
        .title(Line::from(Span::styled(title, app.theme.accent)))
        .title(Line::from(right).right_aligned())
}

/// "↑ 3 above · ↓ 4 more" on the bottom border when rows are out of view.
fn scroll_hint(app: &App, offset: usize, visible: usize, rows: usize) -> Line<'static> {
    let below = rows.saturating_sub(offset + visible);
    let parts: Vec<String> = [(offset, "↑", "above"), (below, "↓", "more")]
        .into_iter()
        .filter(|(n, ..)| *n > 0)
        .map(|(n, arrow, word)| format!("{arrow} {n} {word}"))
        .collect();
    if parts.is_empty() {
        return Line::default();
    }
    Line::from(Span::styled(
        format!(" {} ", parts.join(" · ")),
        app.theme.muted,
    ))
    .right_aligned()
}

/// The columns that explain a row's state, by the row's index in the data.
pub type Explain<'c> = &'c dyn Fn(usize) -> Vec<Reason>;

/// One table's panel as a tab draws it: which table, its columns, what the
/// title's right corner says, whether it holds the focus, and which columns
/// explain a row's state.
pub struct TablePanel<'c> {
    id: TableId,
    columns: &'c [Column],
    right: Span<'static>,
    focused: bool,
    explain: Option<Explain<'c>>,
}

impl<'c> TablePanel<'c> {
    /// Focus follows the app, so a tab cannot highlight a table the keys do
    /// not move.
    pub fn new(app: &App, id: TableId, columns: &'c [Column], right: Span<'static>) -> Self {
        TablePanel {
            id,
            columns,
            right,
            focused: app.focused_table() == id,
            explain: None,
        }
    }

    /// The columns that give each row its state: on a narrow screen they
    /// are kept, for the rows in view, just after the state and the name.
    pub fn explained_by(self, explain: Explain<'c>) -> Self {
        TablePanel {
            explain: Some(explain),
            ..self
        }
    }
}

/// The table's name and, while a filter is on, how many rows it kept and
/// the filter itself, so a filtered table is not mistaken for the whole feed;
/// then the column it is sorted by, when the user chose one.
fn table_title(id: TableId, view: &TableView) -> String {
    let mut title = id.title().to_string();
    if view.rows.len() != view.total {
        title.push_str(&format!(" · {} of {}", view.rows.len(), view.total));
    }
    if !view.filter.is_empty() {
        title.push_str(&format!(" · /{}", view.filter));
    }
    match (view.sort, view.reverse) {
        (Some(column), reverse) => title.push_str(&format!(
            " · by {column}{}",
            if reverse { " ↑" } else { " ↓" }
        )),
        (None, true) => title.push_str(" · reversed"),
        (None, false) => {}
    }
    title
}

/// Says why a table is empty, so an empty feed and a filter that hides
/// everything do not look alike, and an empty feed says what it looked for.
fn empty_message(frame: &mut Frame, app: &App, id: TableId, view: &TableView, inner: Rect) {
    if inner.height <= 1 {
        return;
    }
    let message = if view.total > 0 {
        "nothing matches the filter".to_string()
    } else {
        super::empty::reason(app, id)
    };
    let below_header = Rect {
        y: inner.y + 1,
        height: inner.height - 1,
        ..inner
    };
    let text = ratatui::widgets::Paragraph::new(Line::from(Span::styled(
        crate::text::clean(&message).into_owned(),
        app.theme.muted,
    )))
    .centered()
    .wrap(ratatui::widgets::Wrap { trim: true });
    frame.render_widget(text, below_header);
}

/// Draws a table in `area`: only the rows that fit are built, columns drop
/// by priority (those that explain a row in view last, after the state and
/// the name), and the selection is highlighted when focused. `cells`
/// builds a row's cells, fitting text to its column with the `Fit`.
/// The first row table `id` shows drawn in `area`, and how many rows fit:
/// the selected row is always on screen.
fn window(app: &App, id: TableId, area: Rect) -> (usize, usize) {
    let visible = super::layout::visible_rows(area);
    let offset = app
        .table(id)
        .selected
        .saturating_sub(visible.saturating_sub(1));
    (offset, visible)
}

/// The items (by index) whose rows table `id` shows when drawn in `area`.
pub fn in_view(app: &App, id: TableId, area: Rect) -> Vec<usize> {
    let (offset, visible) = window(app, id, area);
    let rows = &app.table(id).rows;
    rows.iter()
        .skip(offset)
        .take(visible)
        .map(|r| r.index)
        .collect()
}

pub fn table(
    frame: &mut Frame,
    area: Rect,
    app: &App,
    spec: TablePanel,
    cells: impl Fn(usize, &Fit) -> Vec<Cell<'static>>,
) {
    let view = app.table(spec.id);
    let (offset, visible) = window(app, spec.id, area);
    let hint = scroll_hint(app, offset, visible, view.rows.len());
    let title = table_title(spec.id, view);
    let block = panel(app, title, spec.focused, spec.right, area.width).title_bottom(hint);
    let inner = block.inner(area);
    let in_view = || view.rows.iter().skip(offset).take(visible);
    let reasons: Vec<Reason> = spec
        .explain
        .map(|explain| in_view().flat_map(|row| explain(row.index)).collect())
        .unwrap_or_default();
    let fitted = fit(spec.columns, inner.width, &reasons);
    let (columns, kept) = (&fitted.columns, &fitted.kept);
    let widths_on_screen = Fit::new(columns, kept, inner.width);
    let rows = in_view().map(|row| {
        let mut all = cells(row.index, &widths_on_screen);
        Row::new(
            kept.iter()
                .map(|&i| all.get_mut(i).map(std::mem::take).unwrap_or_default())
                .collect::<Vec<_>>(),
        )
    });
    let header =
        Row::new(kept.iter().map(|&i| Cell::from(columns[i].title))).style(app.theme.muted);
    let highlight = if spec.focused && app.mode != Mode::Filter {
        app.theme.selection
    } else {
        Style::default()
    };
    let table = Table::new(rows, widths(columns, kept))
        .column_spacing(COLUMN_SPACING)
        .flex(Flex::Start)
        .header(header)
        .block(block)
        .row_highlight_style(highlight);
    let mut state = TableState::default();
    if !view.rows.is_empty() {
        state.select(Some(view.selected - offset));
    }
    frame.render_stateful_widget(table, area, &mut state);
    if view.rows.is_empty() {
        empty_message(frame, app, spec.id, view, inner);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fitted_text_ends_in_an_ellipsis_and_counts_cells() {
        assert_eq!(fit_text("abc", 3), "abc");
        assert_eq!(fit_text("abcdef", 4), "abc…");
        assert_eq!(fit_text("abcdef", 0), "");
        // Wide characters take two cells each.
        assert_eq!(fit_text("日本語テキスト", 6), "日本…");
        assert_eq!(Span::raw(fit_text("日本語テキスト", 6)).width(), 5);
    }
}
