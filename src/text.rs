//! The one gate for text from servers: every string a source reads passes
//! through `clean` before it enters the program, so no label value,
//! annotation or error message can drive the terminal.

use std::borrow::{Borrow, Cow};

use serde::Deserialize;

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
/// (`\x1b`, `\u{202e}`), and cut to `MAX_CHARS` with an ellipsis. Text with
/// nothing to escape or cut, nearly all of it, is returned as it came.
pub fn clean(text: &str) -> Cow<'_, str> {
    if unchanged(text) {
        Cow::Borrowed(text)
    } else {
        Cow::Owned(escaped(text))
    }
}

/// Whether `text` has nothing to escape and fits in `MAX_CHARS`.
fn unchanged(text: &str) -> bool {
    // Short printable ASCII, the common case, is checked a byte at a time.
    let plain = text.len() <= MAX_CHARS && text.bytes().all(|b| (b' '..b'\x7f').contains(&b));
    plain
        || !text
            .chars()
            .enumerate()
            .any(|(count, c)| count == MAX_CHARS || is_unsafe(c))
}

fn escaped(text: &str) -> String {
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

/// `clean` for text that may already be owned (a string serde had to
/// unescape): its allocation is kept when there is nothing to change.
pub fn clean_owned<'a>(text: impl Into<Cow<'a, str>>) -> String {
    let text = text.into();
    match clean(&text) {
        Cow::Borrowed(_) => text.into_owned(),
        Cow::Owned(cleaned) => cleaned,
    }
}

/// A string from a server as it was read: borrowed from the response body
/// unless JSON escapes made serde build it. It becomes program text only
/// through `clean`.
#[derive(Debug, Default, Clone, PartialEq, Eq, PartialOrd, Ord, Deserialize)]
#[serde(transparent)]
pub struct RawText<'a>(#[serde(borrow)] pub Cow<'a, str>);

impl Borrow<str> for RawText<'_> {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for RawText<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
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
    fn text_with_nothing_to_change_is_not_copied() {
        for text in ["checkout", "日本語 ✔ ▲ ✖", &"x".repeat(MAX_CHARS), ""] {
            assert!(matches!(clean(text), Cow::Borrowed(t) if t == text));
        }
        assert!(matches!(clean("a\u{1b}b"), Cow::Owned(_)));
        assert!(matches!(clean(&"é".repeat(MAX_CHARS + 1)), Cow::Owned(_)));
        let all: String = (0u32..0x3000).filter_map(char::from_u32).collect();
        for chunk in all.chars().collect::<Vec<_>>().chunks(7) {
            let text: String = chunk.iter().collect();
            let borrowed = matches!(clean(&text), Cow::Borrowed(_));
            assert_eq!(borrowed, escaped(&text) == text, "{text:?}");
        }

        let owned = String::from("checkout");
        let at = owned.as_ptr();
        let kept = clean_owned(Cow::Owned(owned));
        assert_eq!(kept.as_ptr(), at, "the allocation is kept");
        assert_eq!(clean_owned(Cow::Borrowed("a\u{7}")), "a\\x07");
    }

    #[test]
    fn raw_text_borrows_from_the_body_unless_it_had_escapes() {
        let body = r#"["checkout","check\u0041out"]"#;
        let [plain, escaped]: [RawText; 2] = serde_json::from_str(body).unwrap();
        assert!(matches!(plain.0, Cow::Borrowed("checkout")));
        assert!(matches!(escaped.0, Cow::Owned(ref s) if s == "checkAout"));
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
