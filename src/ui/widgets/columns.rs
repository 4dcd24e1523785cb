//! Which columns a table keeps when the terminal is narrow: the state and
//! the name first, then the columns that explain a shown row's state, then
//! the rest by priority.

use ratatui::layout::{Constraint, Flex, Layout, Rect};
use ratatui::widgets::Cell;

use super::fit_text;
use crate::domain::Status;

/// A table column: header, width in cells, and priority (0 is kept longest).
#[derive(Debug, Clone, Copy)]
pub struct Column {
    pub title: &'static str,
    pub width: u16,
    pub priority: u8,
    /// Takes the space left over, with `width` as its minimum.
    pub flex: bool,
    /// The width it was written with: a name column `widen` made wider is
    /// cut back to it before a column that explains a row is dropped.
    pub min: u16,
}

pub const fn col(title: &'static str, width: u16, priority: u8) -> Column {
    Column {
        title,
        width,
        priority,
        flex: false,
        min: width,
    }
}

pub const fn flex(title: &'static str, width: u16, priority: u8) -> Column {
    Column {
        flex: true,
        ..col(title, width, priority)
    }
}

/// Longest name a name column grows to; longer ones are cut with an ellipsis.
pub const MAX_NAME: usize = 32;

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

/// A column whose value gives a row its state, and how bad that state is:
/// "Disk" for a host critical on disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reason {
    pub column: &'static str,
    pub status: Status,
    /// 0 for the column that gives the row its state; 1, 2… for others
    /// that also explain it, so every row in view is explained once before
    /// any is explained twice.
    pub rank: u8,
}

/// The columns that explain a row whose state is `row`: each of its
/// judged `signals` worse than OK, counted as bad as the row at most (a
/// signal the row's rule caps does not outrank the row), the worst first
/// and, among equals, in the order given.
pub fn reasons(
    row: Status,
    signals: impl IntoIterator<Item = (&'static str, Status)>,
) -> Vec<Reason> {
    let mut out: Vec<(&'static str, Status)> = signals
        .into_iter()
        .map(|(column, status)| (column, status.min(row)))
        .filter(|(_, status)| *status > Status::Ok)
        .collect();
    out.sort_by_key(|(_, status)| std::cmp::Reverse(*status));
    out.into_iter()
        .enumerate()
        .map(|(rank, (column, status))| Reason {
            column,
            status,
            rank: rank.min(usize::from(u8::MAX)) as u8,
        })
        .collect()
}

/// The columns a table shows and the width each gets before the layout
/// spreads what is left.
pub struct Fitted {
    /// All the columns, a name column cut back where room was short.
    pub columns: Vec<Column>,
    /// Indices of the columns shown, in their original order.
    pub kept: Vec<usize>,
}

/// Room left on a line of `width` cells, a cell between two columns.
struct Room {
    left: u16,
    kept: Vec<usize>,
}

impl Room {
    fn take(&mut self, index: usize, width: u16) -> bool {
        let need = width + u16::from(!self.kept.is_empty());
        if need > self.left {
            return false;
        }
        self.left -= need;
        self.kept.push(index);
        true
    }
}

/// The columns that fit in `width`, claiming room in this order: the
/// priority-0 columns (state, name) at the width they were written with;
/// then the columns `reasons` name (each row's first reason before any
/// second one, then the worst state's first); then the names grow to their
/// longest; then the rest by priority. A column that does not fit is
/// dropped and the next is tried, so a narrow column of lower priority may
/// fill what is left. Deterministic: ties go by position.
pub fn fit(columns: &[Column], width: u16, reasons: &[Reason]) -> Fitted {
    let mut out = columns.to_vec();
    let mut room = Room {
        left: width,
        kept: Vec::new(),
    };
    let first: Vec<usize> = (0..columns.len())
        .filter(|&i| columns[i].priority == 0)
        .collect();
    for &i in &first {
        let min = columns[i].min.min(columns[i].width);
        if room.take(i, min) {
            out[i].width = min;
        }
    }
    for i in raised(columns, reasons) {
        room.take(i, columns[i].width);
    }
    for &i in &first {
        if room.kept.contains(&i) {
            let grow = (columns[i].width - out[i].width).min(room.left);
            out[i].width += grow;
            room.left -= grow;
        }
    }
    let mut rest: Vec<usize> = (0..columns.len())
        .filter(|i| !room.kept.contains(i) && columns[*i].priority > 0)
        .collect();
    rest.sort_by_key(|&i| columns[i].priority);
    for i in rest {
        if !room.kept.contains(&i) {
            room.take(i, columns[i].width);
        }
    }
    room.kept.sort_unstable();
    Fitted {
        columns: out,
        kept: room.kept,
    }
}

/// The columns `reasons` name, once each: by their best rank in any row,
/// then the worst state they explain, then by priority and position;
/// priority-0 columns are kept anyway.
fn raised(columns: &[Column], reasons: &[Reason]) -> Vec<usize> {
    // (column, best rank, worst state)
    let mut raised: Vec<(usize, u8, Status)> = Vec::new();
    for r in reasons {
        let Some(i) = columns.iter().position(|c| c.title == r.column) else {
            continue;
        };
        if columns[i].priority == 0 {
            continue;
        }
        match raised.iter_mut().find(|(j, ..)| *j == i) {
            Some((_, rank, status)) => {
                *rank = (*rank).min(r.rank);
                *status = (*status).max(r.status);
            }
            None => raised.push((i, r.rank, r.status)),
        }
    }
    raised.sort_by_key(|&(i, rank, s)| (rank, std::cmp::Reverse(s), columns[i].priority, i));
    raised.into_iter().map(|(i, ..)| i).collect()
}

/// Kept columns get their width; a flex column, or else the last one, takes
/// the space left over so the table spans the panel.
pub fn widths(columns: &[Column], kept: &[usize]) -> Vec<Constraint> {
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

/// Cells between two columns, as ratatui's `Table` has them by default.
pub const COLUMN_SPACING: u16 = 1;

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
    pub fn new(columns: &'c [Column], kept: &[usize], width: u16) -> Self {
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
    pub fn width(&self, title: &str) -> usize {
        self.columns
            .iter()
            .position(|c| c.title == title)
            .map_or(MAX_NAME, |i| {
                usize::from(self.widths[i].unwrap_or(self.columns[i].width))
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::ui::health::HOSTS;

    fn titles(columns: &[Column], width: u16, reasons: &[Reason]) -> Vec<&'static str> {
        let fitted = fit(columns, width, reasons);
        fitted.kept.iter().map(|&i| columns[i].title).collect()
    }

    fn why(column: &'static str, status: Status) -> Reason {
        Reason {
            column,
            status,
            rank: 0,
        }
    }

    #[test]
    fn without_reasons_columns_drop_by_priority_then_position() {
        assert_eq!(titles(&HOSTS, 58, &[]), ["State", "Host", "CPU", "Memory"]);
        assert_eq!(titles(&HOSTS, 38, &[]), ["State", "Host", "CPU"]);
    }

    #[test]
    fn the_column_that_explains_a_row_outlasts_columns_of_the_same_priority() {
        let disk = [why("Disk", Status::Crit)];
        assert_eq!(titles(&HOSTS, 38, &disk), ["State", "Host", "Disk"]);
        assert_eq!(
            titles(&HOSTS, 58, &disk),
            ["State", "Host", "CPU", "Disk"],
            "the rest keep their order"
        );
    }

    #[test]
    fn the_worst_state_s_reason_goes_first_and_a_reason_outranks_any_priority() {
        let both = [why("Memory", Status::Warn), why("CPU 5m", Status::Crit)];
        // CPU 5m (priority 3) explains a critical row: it takes the room.
        assert_eq!(titles(&HOSTS, 41, &both), ["State", "Host", "CPU 5m"]);
        assert_eq!(
            titles(&HOSTS, 58, &both),
            ["State", "Host", "Memory", "CPU 5m"]
        );
    }

    #[test]
    fn every_row_is_explained_once_before_any_row_twice() {
        // One row critical on Memory and Disk, another warned on CPU: its
        // CPU goes before the first row's second reason.
        let rows = [
            reasons(
                Status::Crit,
                [("Memory", Status::Crit), ("Disk", Status::Crit)],
            ),
            reasons(Status::Warn, [("CPU", Status::Warn)]),
        ]
        .concat();
        assert_eq!(
            titles(&HOSTS, 58, &rows),
            ["State", "Host", "CPU", "Memory"]
        );
        assert_eq!(
            titles(&HOSTS, 80, &rows),
            ["State", "Host", "CPU", "Memory", "Disk"]
        );
    }

    #[test]
    fn a_long_name_is_cut_back_before_a_reason_is_dropped_and_grows_after() {
        let long = widen(&HOSTS, 1, ["a-very-long-host-name-indeed-32c"].into_iter());
        assert_eq!(long[1].width, 32);
        let disk = [why("Disk", Status::Warn)];
        let fitted = fit(&long, 58, &disk);
        let kept: Vec<_> = fitted.kept.iter().map(|&i| long[i].title).collect();
        assert_eq!(kept, ["State", "Host", "Disk"]);
        // 58 - 9 - 16 - 2 spacing: the name gets what the reason leaves.
        assert_eq!(fitted.columns[1].width, 31);
        // Without a reason, the name grows first, as before, and of the
        // rest only the disk forecast, 11 wide, fits in the 15 left.
        let fitted = fit(&long, 58, &[]);
        assert_eq!(fitted.columns[1].width, 32);
        assert_eq!(fitted.kept, [0, 1, 5]);
    }

    #[test]
    fn state_and_name_stay_at_forty_columns_whatever_the_name() {
        let long = widen(&HOSTS, 1, ["n".repeat(60).as_str()].into_iter());
        let fitted = fit(&long, 38, &[why("Disk", Status::Crit)]);
        assert_eq!(fitted.kept, [0, 1, 4]);
        assert_eq!(fitted.columns[1].width, 11, "grown into what Disk left");
        let fitted = fit(&long, 38, &[]);
        assert_eq!(fitted.kept, [0, 1]);
        assert_eq!(fitted.columns[1].width, 28);
    }

    #[test]
    fn a_row_s_reasons_are_its_signals_worse_than_ok_capped_at_its_state() {
        let r = reasons(
            Status::Warn,
            [
                ("CPU", Status::Ok),
                ("Memory", Status::Warn),
                ("Disk", Status::Crit),
            ],
        );
        let second = Reason {
            rank: 1,
            ..why("Disk", Status::Warn)
        };
        assert_eq!(r, [why("Memory", Status::Warn), second]);
        assert!(reasons(Status::Ok, [("Disk", Status::Crit)]).is_empty());
        // The worst first: it is the one that gives the row its state.
        let r = reasons(
            Status::Crit,
            [("CPU", Status::Warn), ("Disk", Status::Crit)],
        );
        assert_eq!(r[0], why("Disk", Status::Crit));
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
