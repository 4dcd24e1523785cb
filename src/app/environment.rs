//! Which environment is production, however its name is written: trimmed,
//! format characters (zero-width, bidi) removed, case-folded.

/// Production needs the target's name typed, whatever is configured:
/// `production`, `prod` or `prd` however written (`normalise_environment`).
pub fn is_production(environment: &str) -> bool {
    matches!(
        normalise_environment(environment).as_str(),
        "production" | "prod" | "prd"
    )
}

/// An environment's name as compared: format characters (zero-width
/// spaces, direction marks: Unicode category Cf) removed, whether they
/// came as themselves or as `text::clean`'s escapes of them (`\u{200b}`),
/// then trimmed and case-folded.
pub fn normalise_environment(environment: &str) -> String {
    let mut out = String::with_capacity(environment.len());
    let mut rest = environment;
    while let Some(c) = rest.chars().next() {
        match unescape(rest) {
            Some((escaped, len)) if is_format(escaped) => rest = &rest[len..],
            // An escaped control or space counts as one: trimmed at the ends.
            Some((escaped, len)) if escaped.is_control() || escaped.is_whitespace() => {
                out.push(escaped);
                rest = &rest[len..];
            }
            _ => {
                if !is_format(c) {
                    out.push(c);
                }
                rest = &rest[c.len_utf8()..];
            }
        }
    }
    out.trim_matches(|c: char| c.is_whitespace() || c.is_control())
        .to_lowercase()
}

/// The character `text::clean` wrote as `\u{hex}` or `\xhh` at the start of
/// `text`, and the escape's length.
fn unescape(text: &str) -> Option<(char, usize)> {
    let (digits, len) = if let Some(rest) = text.strip_prefix("\\u{") {
        let end = rest.find('}')?;
        (&rest[..end], end + 4)
    } else {
        let rest = text.strip_prefix("\\x")?;
        (rest.get(..2)?, 4)
    };
    let code = u32::from_str_radix(digits, 16).ok()?;
    Some((char::from_u32(code)?, len))
}

/// Unicode's format characters (general category Cf, Unicode 15.1).
fn is_format(c: char) -> bool {
    matches!(c,
        '\u{ad}'
        | '\u{600}'..='\u{605}'
        | '\u{61c}'
        | '\u{6dd}'
        | '\u{70f}'
        | '\u{890}'..='\u{891}'
        | '\u{8e2}'
        | '\u{180e}'
        | '\u{200b}'..='\u{200f}'
        | '\u{202a}'..='\u{202e}'
        | '\u{2060}'..='\u{2064}'
        | '\u{2066}'..='\u{206f}'
        | '\u{feff}'
        | '\u{fff9}'..='\u{fffb}'
        | '\u{110bd}'
        | '\u{110cd}'
        | '\u{13430}'..='\u{1343f}'
        | '\u{1bca0}'..='\u{1bca3}'
        | '\u{1d173}'..='\u{1d17a}'
        | '\u{e0001}'
        | '\u{e0020}'..='\u{e007f}'
    )
}
