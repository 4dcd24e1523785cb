//! What `[[actions]]` entries name, read with the line of every string:
//! an action's name must be one a key or a command asks for, and each
//! template is kept with its line and field so that its placeholders can be
//! checked where templates are understood (`check::templates`).

use std::collections::BTreeMap;

use serde::Deserialize;
use toml::Spanned;

use super::{Reader, lenient, line_of};
use crate::app::command::Command;

/// A template of a declared action, with where it was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateSite {
    pub line: usize,
    /// `actions[0].argv[1]`, `actions[2].headers.Authorization`.
    pub field: String,
    /// What the action applies to, which decides the fields it can name.
    pub applies_to: String,
    pub template: String,
}

/// The file's `[[actions]]`, and nothing else: the rest of the file is
/// read elsewhere.
#[derive(Debug, Default, Deserialize)]
struct Actions {
    #[serde(default)]
    actions: Vec<Declared>,
}

#[derive(Debug, Deserialize)]
struct Declared {
    name: Spanned<String>,
    applies_to: Option<String>,
    argv: Option<Vec<Spanned<String>>>,
    #[serde(default)]
    env: BTreeMap<String, Spanned<String>>,
    url: Option<Spanned<String>>,
    #[serde(default)]
    headers: BTreeMap<String, Spanned<String>>,
    body: Option<Spanned<toml::Value>>,
}

/// The names of the actions keys and commands ask for.
pub fn action_names() -> Vec<&'static str> {
    Command::ALL.iter().filter_map(|c| c.action()).collect()
}

/// Reports each action whose name no key or command asks for (it could
/// never run) and returns every template of the file's actions.
pub(in crate::config) fn read(reader: &mut Reader) -> Vec<TemplateSite> {
    // Its type errors are already reported by the reading of the file.
    let declared =
        lenient::read::<Actions>(reader.text).map_or_else(|_| Vec::new(), |a| a.0.actions);
    let known = action_names();
    let mut sites = Vec::new();
    for (i, action) in declared.iter().enumerate() {
        let name = action.name.get_ref();
        if !known.contains(&name.as_str()) {
            let near = nearest(name, &known)
                .map(|n| format!("did you mean {n}? "))
                .unwrap_or_default();
            let line = reader.line(action.name.span().start);
            reader.problem(
                Some(line),
                &format!("actions[{i}].name"),
                format!(
                    "no key or command runs an action named {name:?}; {near}the actions are {}",
                    known.join(", ")
                ),
            );
        }
        let Some(applies_to) = &action.applies_to else {
            continue;
        };
        let mut site = |at: usize, field: String, template: &str| {
            sites.push(TemplateSite {
                line: line_of(reader.text, at),
                field: format!("actions[{i}].{field}"),
                applies_to: applies_to.clone(),
                template: template.to_string(),
            });
        };
        for (j, arg) in action.argv.iter().flatten().enumerate() {
            site(arg.span().start, format!("argv[{j}]"), arg.get_ref());
        }
        for (key, value) in &action.env {
            site(value.span().start, format!("env.{key}"), value.get_ref());
        }
        if let Some(url) = &action.url {
            site(url.span().start, "url".into(), url.get_ref());
        }
        for (key, value) in &action.headers {
            site(
                value.span().start,
                format!("headers.{key}"),
                value.get_ref(),
            );
        }
        if let Some(body) = &action.body {
            let mut strings = Vec::new();
            strings_in(body.get_ref(), "body", &mut strings);
            for (field, text) in strings {
                site(body.span().start, field, &text);
            }
        }
    }
    sites
}

/// Every string in a body, with its path (`body.app.id`).
fn strings_in(value: &toml::Value, path: &str, out: &mut Vec<(String, String)>) {
    match value {
        toml::Value::String(s) => out.push((path.to_string(), s.clone())),
        toml::Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                strings_in(v, &format!("{path}[{i}]"), out);
            }
        }
        toml::Value::Table(table) => {
            for (k, v) in table {
                strings_in(v, &format!("{path}.{k}"), out);
            }
        }
        _ => {}
    }
}

/// The one of `names` within two edits of `word`, if any: what a typing
/// slip most likely meant.
pub fn nearest<'a>(word: &str, names: &[&'a str]) -> Option<&'a str> {
    names
        .iter()
        .map(|n| (edits(word, n), *n))
        .filter(|(d, _)| *d <= 2)
        .min()
        .map(|(_, n)| n)
}

/// Levenshtein distance, in characters.
fn edits(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let above = row[j + 1];
            row[j + 1] = (above + 1)
                .min(row[j] + 1)
                .min(diagonal + usize::from(ca != *cb));
            diagonal = above;
        }
    }
    row[b.len()]
}
