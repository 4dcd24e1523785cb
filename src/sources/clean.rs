//! The one gate for text from servers: every string a source reads passes
//! through `clean` before it enters the program, so no label value,
//! annotation or error message can drive the terminal.

/// Longest text kept from a server; longer is cut with an ellipsis.
pub const MAX_CHARS: usize = 512;

/// Characters that must never reach the terminal as themselves: C0 and C1
/// controls, DEL, bidirectional overrides and isolates, and zero-width or
/// invisible formatting characters.
fn is_unsafe(c: char) -> bool {
    matches!(c,
        '\u{0}'..='\u{1f}' | '\u{7f}'..='\u{9f}'
        | '\u{ad}'
        | '\u{61c}'
        | '\u{180e}'
        | '\u{200b}'..='\u{200f}'
        | '\u{2028}'..='\u{202e}'
        | '\u{2060}'..='\u{2064}'
        | '\u{2066}'..='\u{2069}'
        | '\u{feff}'
        | '\u{e0000}'..='\u{e007f}'
    )
}

/// `text` made safe to draw: unsafe characters shown visibly escaped
/// (`\x1b`, `\u{202e}`), and cut to `MAX_CHARS` with an ellipsis.
pub fn clean(text: &str) -> String {
    let mut out = String::with_capacity(text.len().min(MAX_CHARS * 2));
    for (count, c) in text.chars().enumerate() {
        if count == MAX_CHARS {
            out.push('…');
            break;
        }
        match c {
            c if (c as u32) < 0x100 && is_unsafe(c) => {
                out.push_str(&format!("\\x{:02x}", c as u32))
            }
            c if is_unsafe(c) => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_sequences_are_shown_escaped_never_passed_through() {
        assert_eq!(clean("a\u{1b}[31mred\u{1b}[0m"), "a\\x1b[31mred\\x1b[0m");
        assert_eq!(clean("osc\u{1b}]52;c;aGk=\u{7}"), "osc\\x1b]52;c;aGk=\\x07");
        assert_eq!(
            clean("cr\rbs\u{8}nul\0del\u{7f}"),
            "cr\\x0dbs\\x08nul\\x00del\\x7f"
        );
        assert_eq!(clean("c1\u{9b}31m"), "c1\\x9b31m");
        assert_eq!(
            clean("bidi\u{202e}txt\u{2066}"),
            "bidi\\u{202e}txt\\u{2066}"
        );
        assert_eq!(
            clean("zero\u{200b}width\u{feff}"),
            "zero\\u{200b}width\\u{feff}"
        );
        assert_eq!(clean("tab\tnewline\n"), "tab\\x09newline\\x0a");
    }

    #[test]
    fn ordinary_text_is_untouched() {
        for text in [
            "checkout",
            "service=\"a,b\"",
            "日本語 ✔ ▲ ✖",
            "émoji 🚀",
            "",
        ] {
            assert_eq!(clean(text), text);
        }
    }

    #[test]
    fn long_text_is_cut_with_an_ellipsis() {
        let long = "x".repeat(10_000);
        let cleaned = clean(&long);
        assert_eq!(cleaned.chars().count(), MAX_CHARS + 1);
        assert!(cleaned.ends_with('…'));
    }

    #[test]
    fn nothing_unsafe_survives_any_input() {
        let all: String = (0u32..0x3000).filter_map(char::from_u32).collect();
        for chunk in all.chars().collect::<Vec<_>>().chunks(400) {
            let text: String = chunk.iter().collect();
            assert!(!clean(&text).chars().any(is_unsafe));
        }
    }

    #[test]
    fn invisible_formatting_characters_are_shown_too() {
        assert_eq!(
            clean("soft\u{ad}hy\u{2028}ls\u{e0041}"),
            "soft\\xadhy\\u{2028}ls\\u{e0041}"
        );
        assert_eq!(clean("a\u{61c}b\u{180e}c"), "a\\u{61c}b\\u{180e}c");
        let tags: String = (0xe0000u32..0xe0080).filter_map(char::from_u32).collect();
        assert!(!clean(&tags).chars().any(is_unsafe));
    }
}
