//! Pieces every tab uses: panels with their data's age and error, and tables
//! whose columns drop by priority when the terminal is narrow.

use ratatui::Frame;
use ratatui::layout::{Constraint, Flex, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Borders, Cell, Row, Table, TableState};

use super::format;
use crate::app::rows::TableView;
use crate::app::tab::TableId;
use crate::app::{App, Mode, Panel};
use crate::domain::Status;

/// A table column: header, width in cells, and priority (0 is kept longest).
#[derive(Debug, Clone, Copy)]
pub struct Column {
    pub title: &'static str,
    pub width: u16,
    pub priority: u8,
    /// Takes the space left over, with `width` as its minimum.
    pub flex: bool,
}

pub const fn col(title: &'static str, width: u16, priority: u8) -> Column {
    Column {
        title,
        width,
        priority,
        flex: false,
    }
}

pub const fn flex(title: &'static str, width: u16, priority: u8) -> Column {
    Column {
        title,
        width,
        priority,
        flex: true,
    }
}

/// Indices of the columns that fit in `width`, in their original order:
/// the highest-priority ones first, the rest dropped.
pub fn fit(columns: &[Column], width: u16) -> Vec<usize> {
    let mut order: Vec<usize> = (0..columns.len()).collect();
    order.sort_by_key(|&i| columns[i].priority);
    let mut used = 0u16;
    let mut kept = Vec::new();
    for i in order {
        let need = columns[i].width + u16::from(!kept.is_empty());
        if used + need <= width {
            used += need;
            kept.push(i);
        }
    }
    kept.sort_unstable();
    kept
}

/// Longest name a name column grows to; longer ones are cut with an ellipsis.
const MAX_NAME: usize = 32;

/// `columns` with column `index` as wide as the longest of `names` (never
/// narrower than written, never over `MAX_NAME`), so names are not cut
/// where there is room.
pub fn widen<'a>(
    columns: &[Column],
    index: usize,
    names: impl Iterator<Item = &'a str>,
) -> Vec<Column> {
    let mut out = columns.to_vec();
    let longest = names
        .map(|n| n.chars().count())
        .max()
        .unwrap_or(0)
        .min(MAX_NAME);
    if let Some(c) = out.get_mut(index) {
        c.width = c.width.max(longest as u16);
    }
    out
}

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
        (Some(err), None, _) => Span::styled(format!(" ⚠ {err} · no data yet "), app.theme.crit),
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

/// One table's panel as a tab draws it: which table, its columns, what the
/// title's right corner says, and whether it holds the focus.
pub struct TablePanel<'c> {
    id: TableId,
    columns: &'c [Column],
    right: Span<'static>,
    focused: bool,
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

/// Kept columns get their width; a flex column, or else the last one, takes
/// the space left over so the table spans the panel.
fn widths(columns: &[Column], kept: &[usize]) -> Vec<Constraint> {
    let any_flex = kept.iter().any(|&k| columns[k].flex);
    kept.iter()
        .enumerate()
        .map(|(n, &i)| {
            let c = &columns[i];
            if c.flex || (n + 1 == kept.len() && !any_flex) {
                Constraint::Min(c.width)
            } else {
                Constraint::Length(c.width)
            }
        })
        .collect()
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

/// The width each column of a table gets on screen, for text cells to fit
/// themselves to: a value longer than its column ends in an ellipsis, so a
/// cut value never passes for a whole one.
pub struct Fit<'c> {
    columns: &'c [Column],
    /// By column index; `None` for the columns dropped for want of room.
    widths: Vec<Option<u16>>,
}

impl<'c> Fit<'c> {
    /// The widths the table's layout gives the `kept` columns in `width`
    /// cells: ratatui's own computation, with the table's spacing and flex.
    fn new(columns: &'c [Column], kept: &[usize], width: u16) -> Self {
        let rects = Layout::horizontal(widths(columns, kept))
            .flex(Flex::Start)
            .spacing(COLUMN_SPACING)
            .split(Rect::new(0, 0, width, 1));
        let mut widths = vec![None; columns.len()];
        for (&i, rect) in kept.iter().zip(rects.iter()) {
            widths[i] = Some(rect.width);
        }
        Fit { columns, widths }
    }

    /// `text` as a cell of the column titled `title`, cut to its width.
    pub fn text(&self, title: &str, text: &str) -> Cell<'static> {
        Cell::from(fit_text(text, self.width(title)))
    }

    /// The column's width on screen; as written when it is not shown.
    fn width(&self, title: &str) -> usize {
        self.columns
            .iter()
            .position(|c| c.title == title)
            .map_or(MAX_NAME, |i| {
                usize::from(self.widths[i].unwrap_or(self.columns[i].width))
            })
    }
}

/// Cells between two columns, as ratatui's `Table` has them by default.
const COLUMN_SPACING: u16 = 1;

/// Draws a table in `area`: only the rows that fit are built, columns drop
/// by priority, and the selection is highlighted when focused. `cells`
/// builds a row's cells, fitting text to its column with the `Fit`.
pub fn table(
    frame: &mut Frame,
    area: Rect,
    app: &App,
    spec: TablePanel,
    cells: impl Fn(usize, &Fit) -> Vec<Cell<'static>>,
) {
    let view = app.table(spec.id);
    let visible = super::layout::visible_rows(area);
    let offset = view.selected.saturating_sub(visible.saturating_sub(1));
    let hint = scroll_hint(app, offset, visible, view.rows.len());
    let title = table_title(spec.id, view);
    let block = panel(app, title, spec.focused, spec.right, area.width).title_bottom(hint);
    let inner = block.inner(area);
    let kept = fit(spec.columns, inner.width);
    let widths_on_screen = Fit::new(spec.columns, &kept, inner.width);
    let rows = view.rows.iter().skip(offset).take(visible).map(|row| {
        let mut all = cells(row.index, &widths_on_screen);
        Row::new(
            kept.iter()
                .map(|&i| all.get_mut(i).map(std::mem::take).unwrap_or_default())
                .collect::<Vec<_>>(),
        )
    });
    let header =
        Row::new(kept.iter().map(|&i| Cell::from(spec.columns[i].title))).style(app.theme.muted);
    let highlight = if spec.focused && app.mode != Mode::Filter {
        app.theme.selection
    } else {
        Style::default()
    };
    let table = Table::new(rows, widths(spec.columns, &kept))
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

    #[test]
    fn text_cells_fit_the_width_their_column_gets() {
        let columns = [col("Name", 4, 0), flex("Comment", 5, 1)];
        let fit = Fit::new(&columns, &[0, 1], 20);
        // The flex column takes what is left: 20 - 4 - 1 spacing.
        assert_eq!(fit.width("Comment"), 15);
        assert_eq!(fit.width("Name"), 4);
        assert_eq!(
            fit_text(&"x".repeat(100), fit.width("Comment"))
                .chars()
                .last(),
            Some('…')
        );
    }
}
