//! The help pop-up: the bindings of the keymap in force, keys aligned and
//! every description whole, in as few rows as the screen needs.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph};

use super::popup;
use crate::app::App;
use crate::app::command::Command;

/// Each command with the keys bound to it, in the help's order.
fn bindings(app: &App) -> Vec<(String, &'static str)> {
    Command::ALL
        .iter()
        .map(|&c| {
            let keys = app.keymap.keys_for(c);
            let keys = if keys.is_empty() {
                "(unbound)".to_string()
            } else {
                // A chord's keys are joined by a space; bindings by a comma.
                keys.join(", ")
            };
            (keys, c.description())
        })
        .collect()
}

fn cells(text: &str) -> usize {
    Span::raw(text).width()
}

/// `text` in lines of at most `width` cells, broken between words; a word
/// wider than a line is broken inside it. Nothing is left out.
fn wrap_words(text: &str, width: usize) -> Vec<String> {
    let width = width.max(1);
    let mut lines = vec![String::new()];
    for word in text.split(' ') {
        let last = lines.last_mut().expect("one line at least");
        let sep = usize::from(!last.is_empty());
        if cells(last) + sep + cells(word) <= width {
            if sep == 1 {
                last.push(' ');
            }
            last.push_str(word);
            continue;
        }
        let mut line = String::new();
        for c in word.chars() {
            if cells(&line) + cells(c.encode_utf8(&mut [0; 4])) > width {
                lines.push(std::mem::take(&mut line));
            }
            line.push(c);
        }
        if lines.last().is_some_and(String::is_empty) {
            lines.pop();
        }
        lines.push(line);
    }
    lines
}

/// A column of the help's rows: the keys, and the description's line.
type Column = Vec<(String, String)>;

/// A column of the help, `width` cells wide: each command's keys in a
/// column as wide as the widest of them, its description beside them,
/// wrapped under itself. Rows as (keys, description), padded to width.
fn column(entries: &[(String, &'static str)], width: usize) -> Column {
    let keys = entries.iter().map(|(k, _)| cells(k)).max().unwrap_or(0);
    // A space before the keys and one after.
    let text = width.saturating_sub(keys + 2);
    let mut rows = Vec::new();
    for (k, what) in entries {
        for (i, line) in wrap_words(what, text).into_iter().enumerate() {
            let k = if i == 0 { k.as_str() } else { "" };
            let pad = keys - cells(k);
            let line_pad = text.saturating_sub(cells(&line));
            rows.push((
                format!(" {k}{:pad$} ", ""),
                format!("{line}{:line_pad$}", ""),
            ));
        }
    }
    rows
}

/// The width of a column that writes every description on one line.
fn one_line_width(entries: &[(String, &'static str)]) -> usize {
    let keys = entries.iter().map(|(k, _)| cells(k)).max().unwrap_or(0);
    let text = entries.iter().map(|(_, w)| cells(w)).max().unwrap_or(0);
    keys + 2 + text
}

/// The bindings in `inner` cells and as few rows as they take: one column
/// when it fits in `height` rows, else two, split where the taller of them
/// is shortest (nearest the middle among equals), each with its own key
/// column. Nothing is cut: a description too long for its column wraps.
fn help_rows(entries: &[(String, &'static str)], inner: usize, height: usize) -> Vec<Column> {
    let one = column(entries, inner.min(one_line_width(entries)));
    if one.len() <= height || entries.len() < 2 {
        return vec![one];
    }
    let middle = entries.len() / 2;
    let mut best: Option<(usize, usize, Vec<Column>)> = None;
    for split in 1..entries.len() {
        let (left, right) = entries.split_at(split);
        let least =
            |e: &[(String, &str)]| e.iter().map(|(k, _)| cells(k)).max().unwrap_or(0) + 2 + 8;
        let (low, high) = (least(left), inner.saturating_sub(least(right)));
        for width in low..=high.max(low) {
            let l = column(left, width);
            if best.as_ref().is_some_and(|(rows, _, _)| l.len() > *rows) {
                continue;
            }
            let r = column(right, inner.saturating_sub(width));
            let rows = l.len().max(r.len());
            let off = split.abs_diff(middle);
            let better = best
                .as_ref()
                .is_none_or(|(b, o, _)| rows < *b || (rows == *b && off < *o));
            if better {
                best = Some((rows, off, vec![l, r]));
            }
        }
    }
    best.map_or_else(|| vec![one], |(_, _, columns)| columns)
}

/// The help's lines: each row of each column side by side, keys in the
/// accent colour.
fn help_lines(app: &App, columns: Vec<Column>) -> Vec<Line<'static>> {
    let th = &app.theme;
    let rows = columns.iter().map(Vec::len).max().unwrap_or(0);
    (0..rows)
        .map(|r| {
            let mut spans = Vec::new();
            for column in &columns {
                let width = column.first().map_or(0, |(k, t)| cells(k) + cells(t));
                match column.get(r) {
                    Some((keys, text)) => {
                        spans.push(Span::styled(keys.clone(), th.accent));
                        spans.push(Span::styled(text.clone(), th.text));
                    }
                    None => spans.push(Span::raw(" ".repeat(width))),
                }
            }
            Line::from(spans)
        })
        .collect()
}

/// The bindings in force with the keys aligned and every description whole,
/// in one column or two; the keymap and theme in the title; every problem
/// found in a file, in full, first of all. As wide as it needs and the
/// screen allows; on a screen too short for it with borders, it takes the
/// whole screen without them.
pub fn help(frame: &mut Frame, area: Rect, app: &App) {
    let th = &app.theme;
    let entries = bindings(app);
    let title = format!(
        "Keys · keymap: {} · theme: {}",
        app.keymap.name, app.theme.name
    );
    let wide = (one_line_width(&entries) * 2 + 1).max(cells(&title) + 20);
    let problems = |inner: usize| -> Vec<Line<'static>> {
        let mut lines: Vec<Line<'static>> = app
            .problems
            .iter()
            .flat_map(|p| wrap_words(&format!("⚠ {p}"), inner.saturating_sub(1)))
            .map(|l| Line::from(Span::styled(format!(" {l}"), th.warn)))
            .collect();
        if !lines.is_empty() {
            lines.push(Line::from(""));
        }
        lines
    };
    let bordered = usize::from(area.width).min(wide + 2).saturating_sub(2);
    let first = problems(bordered);
    let room = usize::from(area.height).saturating_sub(2 + first.len());
    let columns = help_rows(&entries, bordered, room);
    let rows = columns.iter().map(Vec::len).max().unwrap_or(0);
    if rows <= room {
        let width = columns
            .iter()
            .map(|c| c.first().map_or(0, |(k, t)| cells(k) + cells(t)))
            .sum::<usize>()
            .max(first.iter().map(Line::width).max().unwrap_or(0));
        let lines: Vec<Line<'static>> = first.into_iter().chain(help_lines(app, columns)).collect();
        let width = (width + 2).min(usize::from(area.width)) as u16;
        popup(frame, area, app, title, lines, width, None);
        return;
    }
    // The whole screen, a title line and no borders: a row and two
    // columns more than a pop-up has.
    let inner = usize::from(area.width);
    let first = problems(inner);
    let room = usize::from(area.height).saturating_sub(1 + first.len());
    let columns = help_rows(&entries, inner, room);
    let heading = Line::from(vec![
        Span::styled(format!(" {title} "), th.accent),
        Span::styled("· Esc closes", th.muted),
    ]);
    let lines: Vec<Line<'static>> = [heading]
        .into_iter()
        .chain(first)
        .chain(help_lines(app, columns))
        .collect();
    frame.render_widget(Clear, area);
    frame.render_widget(Paragraph::new(lines), area);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::keymap::{EMBEDDED, Keymap};

    fn entries(keymap: &Keymap) -> Vec<(String, &'static str)> {
        Command::ALL
            .iter()
            .map(|&c| (keymap.keys_for(c).join(", "), c.description()))
            .collect()
    }

    /// Every shipped keymap at 80 columns, in a pop-up (78 inside) on a
    /// tall screen and on 24 rows, and on the whole 80x24 screen: each
    /// column's keys start in one column and its descriptions in another,
    /// every description reads whole once its wrapped rows are joined, and
    /// the rows fit.
    #[test]
    fn every_shipped_keymap_is_aligned_and_whole_at_80_columns() {
        for (name, _) in EMBEDDED {
            let (keymap, problems) = Keymap::load(name, None);
            assert!(problems.is_empty(), "{name}: {problems:?}");
            let entries = entries(&keymap);
            let mut fits = Vec::new();
            for (inner, room) in [(78, 36), (78, 22), (80, 23)] {
                let columns = help_rows(&entries, inner, room);
                let rows = columns.iter().map(Vec::len).max().unwrap();
                let at = format!("{name} at {inner}x{room}");
                let width: usize = columns
                    .iter()
                    .map(|c| cells(&c[0].0) + cells(&c[0].1))
                    .sum();
                assert!(width <= inner, "{at}: {width} cells");
                let mut listed = Vec::new();
                for column in &columns {
                    let keys_width = cells(&column[0].0);
                    for (keys, text) in column {
                        assert_eq!(cells(keys), keys_width, "{at}: {keys:?} not aligned");
                        assert!(keys.starts_with(' ') && keys.ends_with(' '), "{at}");
                        if !keys.trim().is_empty() {
                            listed.push((keys.trim().to_string(), String::new()));
                        }
                        let last = listed.last_mut().expect("a first row has keys");
                        last.1 = format!("{} {}", last.1, text.trim()).trim().to_string();
                    }
                }
                let wanted: Vec<(String, String)> = entries
                    .iter()
                    .map(|(k, w)| (k.clone(), w.to_string()))
                    .collect();
                assert_eq!(listed, wanted, "{at}: every command, whole, in order");
                fits.push(rows <= room);
            }
            // A tall screen has one column; 24 rows, a pop-up or, when
            // that is too short, the whole screen.
            assert!(fits[0], "{name}: one column on 40 rows");
            assert!(fits[1] || fits[2], "{name}: 80x24 cuts the help");
        }
    }

    #[test]
    fn a_word_too_long_for_its_line_is_broken_not_dropped() {
        assert_eq!(wrap_words("a bcdefg h", 3), ["a", "bcd", "efg", "h"]);
        assert_eq!(wrap_words("page up", 20), ["page up"]);
    }
}
