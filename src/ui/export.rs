//! The screen as drawn, exported by `e`: as plain text (a line a row, no
//! escapes) and as SVG (the colours and attributes on a monospace grid),
//! from the frame's buffer, so the files are exactly what was on screen.

use std::fmt::Write;

use ratatui::buffer::Buffer;
use ratatui::style::{Color, Modifier};

/// A cell's size in the SVG, in pixels, and the font size that fills it.
const CELL_W: f64 = 8.4;
const CELL_H: f64 = 17.0;
const FONT: f64 = 14.0;
const DEFAULT_FG: &str = "#d4d4d4";
const DEFAULT_BG: &str = "#1e1e1e";

/// The symbols of one row, one per cell; the cell after a wide character
/// holds nothing (ratatui leaves it blank), so it is skipped.
fn row(buffer: &Buffer, y: u16) -> Vec<(u16, String)> {
    let area = buffer.area;
    let mut cells = Vec::new();
    let mut skip = 0;
    for x in area.left()..area.right() {
        if skip > 0 {
            skip -= 1;
            continue;
        }
        let symbol = buffer[(x, y)].symbol();
        let width = ratatui::text::Span::raw(symbol).width();
        skip = width.saturating_sub(1);
        cells.push((x, safe(symbol)));
    }
    cells
}

/// A symbol with any control character replaced: a screen holds none, but
/// an export must never carry one into a file.
fn safe(symbol: &str) -> String {
    let s: String = symbol
        .chars()
        .map(|c| if c.is_control() { '\u{fffd}' } else { c })
        .collect();
    if s.is_empty() { " ".into() } else { s }
}

/// The screen as text: a line a row, trailing blanks trimmed.
pub fn text(buffer: &Buffer) -> String {
    let area = buffer.area;
    let mut out = String::new();
    for y in area.top()..area.bottom() {
        let line: String = row(buffer, y).into_iter().map(|(_, s)| s).collect();
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// The screen as a standalone SVG document.
pub fn svg(buffer: &Buffer) -> String {
    let area = buffer.area;
    let (w, h) = (
        f64::from(area.width) * CELL_W,
        f64::from(area.height) * CELL_H,
    );
    let mut out = String::new();
    let _ = write!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w:.0}" height="{h:.0}" viewBox="0 0 {w:.1} {h:.1}" font-family="DejaVu Sans Mono, Menlo, Consolas, monospace" font-size="{FONT}">"#
    );
    let _ = write!(
        out,
        "\n<rect width=\"100%\" height=\"100%\" fill=\"{DEFAULT_BG}\"/>\n"
    );
    for y in area.top()..area.bottom() {
        let top = f64::from(y - area.top()) * CELL_H;
        let cells = row(buffer, y);
        // Backgrounds: a rect per run of cells of the same colour.
        let mut runs: Vec<(u16, u16, String)> = Vec::new();
        for (x, symbol) in &cells {
            let (_, bg) = colours(buffer, *x, y);
            let width = ratatui::text::Span::raw(symbol.as_str()).width().max(1) as u16;
            match runs.last_mut() {
                Some((_, end, colour)) if *end == *x && *colour == bg => *end += width,
                _ => runs.push((*x, *x + width, bg)),
            }
        }
        for (start, end, colour) in runs.iter().filter(|r| r.2 != DEFAULT_BG) {
            let _ = writeln!(
                out,
                r#"<rect x="{:.1}" y="{top:.1}" width="{:.1}" height="{CELL_H}" fill="{colour}"/>"#,
                f64::from(start - area.left()) * CELL_W,
                f64::from(end - start) * CELL_W,
            );
        }
        // Text: a <text> per run of cells in the same colour and
        // attributes, stretched to exactly its cells (`textLength`), so the
        // columns line up whatever the font's own widths, and the words
        // stay whole for search and selection.
        let mut runs: Vec<(u16, u16, (String, Modifier), String)> = Vec::new();
        for (x, symbol) in &cells {
            let style = (colours(buffer, *x, y).0, buffer[(*x, y)].modifier);
            let width = ratatui::text::Span::raw(symbol.as_str()).width().max(1) as u16;
            match runs.last_mut() {
                Some((_, end, s, text)) if *end == *x && *s == style => {
                    *end += width;
                    text.push_str(symbol);
                }
                _ => runs.push((*x, *x + width, style, symbol.clone())),
            }
        }
        for (start, end, (fg, m), text) in runs {
            let trimmed = text.trim_end();
            if trimmed.trim_start().is_empty() {
                continue;
            }
            let cells_used =
                u16::try_from(ratatui::text::Span::raw(trimmed).width()).unwrap_or(end - start);
            let mut attrs = String::new();
            for (flag, attr) in [
                (Modifier::BOLD, r#" font-weight="bold""#),
                (Modifier::ITALIC, r#" font-style="italic""#),
                (Modifier::UNDERLINED, r#" text-decoration="underline""#),
                (Modifier::DIM, r#" opacity="0.6""#),
            ] {
                if m.contains(flag) {
                    attrs.push_str(attr);
                }
            }
            let _ = writeln!(
                out,
                r#"<text x="{:.1}" y="{:.1}" textLength="{:.1}" lengthAdjust="spacingAndGlyphs" xml:space="preserve" fill="{fg}"{attrs}>{}</text>"#,
                f64::from(start - area.left()) * CELL_W,
                top + CELL_H * 0.78,
                f64::from(cells_used) * CELL_W,
                escape(trimmed)
            );
        }
    }
    out.push_str("</svg>\n");
    out
}

/// A cell's foreground and background as `#rrggbb`, reversed if it is.
fn colours(buffer: &Buffer, x: u16, y: u16) -> (String, String) {
    let cell = &buffer[(x, y)];
    let fg = hex(cell.fg).unwrap_or_else(|| DEFAULT_FG.into());
    let bg = hex(cell.bg).unwrap_or_else(|| DEFAULT_BG.into());
    if cell.modifier.contains(Modifier::REVERSED) {
        (bg, fg)
    } else {
        (fg, bg)
    }
}

/// The xterm palette: the 16 colours, the 6x6x6 cube, the 24 greys;
/// `None` for the terminal's default.
fn hex(colour: Color) -> Option<String> {
    const BASIC: [(u8, u8, u8); 16] = [
        (0, 0, 0),
        (205, 0, 0),
        (0, 205, 0),
        (205, 205, 0),
        (0, 0, 238),
        (205, 0, 205),
        (0, 205, 205),
        (229, 229, 229),
        (127, 127, 127),
        (255, 0, 0),
        (0, 255, 0),
        (255, 255, 0),
        (92, 92, 255),
        (255, 0, 255),
        (0, 255, 255),
        (255, 255, 255),
    ];
    let index = |n: u8| -> (u8, u8, u8) {
        match n {
            0..=15 => BASIC[n as usize],
            16..=231 => {
                let n = n - 16;
                let level = |v: u8| if v == 0 { 0 } else { 55 + v * 40 };
                (level(n / 36), level((n / 6) % 6), level(n % 6))
            }
            _ => {
                let g = 8 + (n - 232) * 10;
                (g, g, g)
            }
        }
    };
    let (r, g, b) = match colour {
        Color::Reset => return None,
        Color::Black => index(0),
        Color::Red => index(1),
        Color::Green => index(2),
        Color::Yellow => index(3),
        Color::Blue => index(4),
        Color::Magenta => index(5),
        Color::Cyan => index(6),
        Color::Gray => index(7),
        Color::DarkGray => index(8),
        Color::LightRed => index(9),
        Color::LightGreen => index(10),
        Color::LightYellow => index(11),
        Color::LightBlue => index(12),
        Color::LightMagenta => index(13),
        Color::LightCyan => index(14),
        Color::White => index(15),
        Color::Indexed(n) => index(n),
        Color::Rgb(r, g, b) => (r, g, b),
    };
    Some(format!("#{r:02x}{g:02x}{b:02x}"))
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&apos;")
}

#[cfg(test)]
mod tests {
    use super::*;
    use ratatui::layout::Rect;
    use ratatui::style::Style;

    fn screen() -> Buffer {
        let mut b = Buffer::empty(Rect::new(0, 0, 20, 3));
        b.set_string(0, 0, "ok 界 end", Style::default());
        b.set_string(0, 1, "a<b>&\u{1b}[2J", Style::default().fg(Color::Red));
        b.set_string(
            0,
            2,
            "CRIT ",
            Style::default()
                .fg(Color::Rgb(1, 2, 3))
                .bg(Color::Indexed(196))
                .add_modifier(Modifier::BOLD),
        );
        b.set_string(
            10,
            2,
            "rev",
            Style::default()
                .fg(Color::White)
                .bg(Color::Blue)
                .add_modifier(Modifier::REVERSED),
        );
        b
    }

    #[test]
    fn text_is_a_line_a_row_trimmed_with_wide_characters_kept_right() {
        let text = text(&screen());
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 3);
        assert_eq!(lines[0], "ok 界 end", "no blank after the wide character");
        assert!(!text.contains('\u{1b}'), "no escape reaches the file");
        assert!(lines[1].starts_with("a<b>&"), "{:?}", lines[1]);
        assert_eq!(lines[2], "CRIT      rev");
    }

    #[test]
    fn svg_has_the_colours_escaped_text_merged_backgrounds_and_no_controls() {
        let svg = svg(&screen());
        assert!(svg.starts_with("<svg ") && svg.ends_with("</svg>\n"));
        assert!(svg.contains("&lt;") && svg.contains("&gt;") && svg.contains("&amp;"));
        assert!(svg.contains(r##"fill="#cd0000""##), "Color::Red");
        assert!(svg.contains(r##"fill="#010203""##), "Rgb(1, 2, 3)");
        // Indexed(196) is the cube's pure red, behind the five cells of
        // "CRIT " as one rect.
        assert!(
            svg.contains(r##"width="42.0" height="17" fill="#ff0000""##),
            "{svg}"
        );
        assert!(svg.contains(r#"font-weight="bold""#));
        // Reversed: white on blue drawn as blue text on white.
        assert!(svg.contains(r##"fill="#ffffff"/>"##), "white background");
        assert!(svg.contains(r##"fill="#0000ee">rev</text>"##), "blue text");
        assert!(
            svg.contains(">ok 界 end</text>"),
            "a run is one text: {svg}"
        );
        assert!(
            svg.bytes().all(|b| b >= 0x20 || b == b'\n'),
            "no control character"
        );
        // Well formed, to the extent of this writer: every element closed.
        let opened = svg.matches("<text").count();
        assert_eq!(opened, svg.matches("</text>").count());
        assert_eq!(svg.matches("<svg").count(), 1);
    }
}
