//! Reading a file whose values do not all have the right type: a wrong
//! type hides nothing else. Each statement whose value serde refuses (and
//! a table whose own fields are refused, like a source with no `url`) is
//! blanked out and the file read again, so every such mistake is reported
//! with its line and field and the rest of the file is still used.
//! Blanking replaces each byte but a newline with a space, so every other
//! statement keeps its line, column and byte offsets, which the spans of
//! the kept values point at.

use serde::de::DeserializeOwned;

use crate::config::toml_error;

/// One statement of a TOML file: a table header, or a key and its value
/// (which may run over several lines); `start..end` in bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Statement {
    start: usize,
    end: usize,
    header: bool,
}

/// The file's statements, in order. The text is known to be valid TOML,
/// so only strings, comments and brackets need telling apart.
fn statements(text: &str) -> Vec<Statement> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b' ' | b'\t' | b'\r' | b'\n' => i += 1,
            b'#' => i = line_end(bytes, i),
            first => {
                let end = statement_end(bytes, i);
                out.push(Statement {
                    start: i,
                    end,
                    header: first == b'[',
                });
                i = end;
            }
        }
    }
    out
}

fn line_end(bytes: &[u8], from: usize) -> usize {
    bytes[from..]
        .iter()
        .position(|&b| b == b'\n')
        .map_or(bytes.len(), |p| from + p)
}

/// Where the statement starting at `start` ends: the first newline outside
/// strings and brackets (a comment after it is not part of it).
fn statement_end(bytes: &[u8], start: usize) -> usize {
    let mut depth = 0usize;
    let mut i = start;
    while i < bytes.len() {
        let rest = &bytes[i..];
        match bytes[i] {
            b'\n' if depth == 0 => return i,
            b'#' => {
                let end = line_end(bytes, i);
                if depth == 0 {
                    return end;
                }
                i = end;
                continue;
            }
            b'[' | b'{' => depth += 1,
            b']' | b'}' => depth = depth.saturating_sub(1),
            b'"' | b'\'' => {
                let quote = bytes[i];
                let triple = [quote; 3];
                if rest.starts_with(&triple) {
                    i = find(bytes, i + 3, &triple, quote == b'"');
                    // A closing run may be four or five quotes long.
                    while bytes.get(i) == Some(&quote) {
                        i += 1;
                    }
                } else {
                    i = find(bytes, i + 1, &[quote], quote == b'"');
                }
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    bytes.len()
}

/// The end of `close` searched from `from`, skipping backslash escapes in
/// basic strings.
fn find(bytes: &[u8], from: usize, close: &[u8], escapes: bool) -> usize {
    let mut i = from;
    while i < bytes.len() {
        if escapes && bytes[i] == b'\\' {
            i += 2;
            continue;
        }
        if bytes[i..].starts_with(close) {
            return i + close.len();
        }
        i += 1;
    }
    bytes.len()
}

/// `text` deserialised as `T`, leaving out each statement whose value is
/// refused. `Ok` holds the value and one message per statement left out;
/// `Err` the messages when nothing could be read (the text is not valid
/// TOML, or a refusal points nowhere that can be left out).
pub(in crate::config) fn read<T: DeserializeOwned>(
    text: &str,
) -> Result<(T, Vec<String>), Vec<String>> {
    let first = match toml::from_str::<T>(text) {
        Ok(value) => return Ok((value, Vec::new())),
        Err(e) => e,
    };
    if text.parse::<toml::Table>().is_err() {
        return Err(vec![toml_error(text, &first)]);
    }
    let statements = statements(text);
    let mut blank = vec![false; statements.len()];
    let mut messages = Vec::new();
    let mut error = first;
    loop {
        let Some(at) = error.span().map(|s| s.start) else {
            return Err(in_order(messages)
                .into_iter()
                .chain([toml_error(text, &error)])
                .collect());
        };
        let Some(found) = statements.iter().rposition(|s| s.start <= at) else {
            return Err(in_order(messages)
                .into_iter()
                .chain([toml_error(text, &error)])
                .collect());
        };
        // A table refused as a whole goes with its body.
        let last = if statements[found].header {
            table_end(&statements, found)
        } else {
            found + 1
        };
        // Refused again where it was left out: the table that holds it is
        // refused as a whole (a field it must have is missing).
        let (found, last) = if blank[found] {
            let Some(header) = (0..found)
                .rev()
                .find(|&i| statements[i].header && !blank[i])
            else {
                let last = toml_error(text, &error);
                return Err(in_order(messages).into_iter().chain([last]).collect());
            };
            (header, table_end(&statements, header))
        } else {
            (found, last)
        };
        let header = statements[found].header;
        let consequence = header && blank[found + 1..last].iter().any(|b| *b);
        if consequence {
            // Refused because one of its own values was left out: that
            // value's message is the one to read.
            if let Some((_, m)) = messages
                .iter_mut()
                .find(|(i, _)| (found + 1..last).contains(i))
            {
                m.push_str(", and with it its table, which needs it");
            }
        } else {
            let what = if header {
                "this table is left out"
            } else {
                "left out"
            };
            messages.push((found, format!("{}; {what}", toml_error(text, &error))));
        }
        blank[found..last].iter_mut().for_each(|b| *b = true);
        let kept = blanked(text, &statements, &blank);
        match toml::from_str::<T>(&kept) {
            Ok(value) => return Ok((value, in_order(messages))),
            Err(e) => error = e,
        }
    }
}

/// The messages in the order of the statements they are about.
fn in_order(mut messages: Vec<(usize, String)>) -> Vec<String> {
    messages.sort_by_key(|(i, _)| *i);
    messages.into_iter().map(|(_, m)| m).collect()
}

/// The index after the body of the table whose header is `header`.
fn table_end(statements: &[Statement], header: usize) -> usize {
    statements[header + 1..]
        .iter()
        .position(|s| s.header)
        .map_or(statements.len(), |p| header + 1 + p)
}

/// `text` with the statements marked in `blank` turned into spaces.
fn blanked(text: &str, statements: &[Statement], blank: &[bool]) -> String {
    let mut bytes = text.as_bytes().to_vec();
    for (s, _) in statements.iter().zip(blank).filter(|(_, b)| **b) {
        for b in &mut bytes[s.start..s.end] {
            if *b != b'\n' {
                *b = b' ';
            }
        }
    }
    // Whole characters were replaced, each byte by a space.
    String::from_utf8(bytes).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statements_run_over_lines_only_inside_brackets_and_long_strings() {
        let text = "a = 1 # one\n[t]\nb = [\n  1, # c ]\n  2,\n]\nc = \"\"\"x\ny = 2\n\"\"\"\nd = 'q#' # z\n[[u]]\n";
        let found: Vec<&str> = statements(text)
            .iter()
            .map(|s| &text[s.start..s.end])
            .collect();
        assert_eq!(
            found,
            [
                "a = 1 # one",
                "[t]",
                "b = [\n  1, # c ]\n  2,\n]",
                "c = \"\"\"x\ny = 2\n\"\"\"",
                "d = 'q#' # z",
                "[[u]]"
            ]
        );
    }

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Shape {
        a: Option<String>,
        b: Option<u32>,
        #[serde(default)]
        t: Vec<Inner>,
    }

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Inner {
        url: String,
        n: Option<u32>,
    }

    #[test]
    fn every_refused_value_is_reported_and_the_rest_is_read() {
        let text = "a = 5\nb = 7\n\n[[t]]\nn = 1\n\n[[t]]\nurl = \"x\"\nn = \"two\"\n";
        let (shape, messages) = read::<Shape>(text).expect("read");
        assert_eq!(shape.b, Some(7));
        assert_eq!(shape.a, None);
        assert_eq!(shape.t.len(), 1, "{shape:?}");
        assert_eq!(shape.t[0].url, "x");
        assert_eq!(messages.len(), 3, "{messages:?}");
        assert!(messages[0].starts_with("line 1, column 5"), "{messages:?}");
        assert!(messages[0].contains("in a; left out"), "{messages:?}");
        assert!(messages[1].starts_with("line 4"), "{messages:?}");
        assert!(messages[1].contains("url"), "{messages:?}");
        assert!(
            messages[1].ends_with("this table is left out"),
            "{messages:?}"
        );
        assert!(messages[2].starts_with("line 9"), "{messages:?}");
        assert!(messages[2].contains("in t[1].n"), "{messages:?}");
    }

    #[test]
    fn text_that_is_not_toml_is_one_message_and_nothing_read() {
        let messages = read::<Shape>("a = \"open\nb = 1\n").expect_err("not TOML");
        assert_eq!(messages.len(), 1, "{messages:?}");
        assert!(messages[0].starts_with("line 1"), "{messages:?}");
    }
}
