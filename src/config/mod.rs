//! Files that shape opsdeck: themes and keymaps shipped in the repository
//! (embedded in the binary) and overridden by the user's own files. A mistake
//! in a file is a message naming the file and the field, never a crash.

pub mod actions;
pub mod alerts;
pub mod backups;
pub mod file;
pub mod keymap;
pub mod limits;
pub mod oncall;
pub mod sli;
pub mod theme;

use std::path::{Path, PathBuf};

use directories::ProjectDirs;

/// A problem found in a file; opsdeck carries on with a default.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub file: String,
    pub message: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.file, self.message)
    }
}

impl Problem {
    /// The line the message starts with (`line 12: …`, `line 12, column
    /// 3: …`), if it names one.
    pub fn line(&self) -> Option<usize> {
        let rest = self.message.strip_prefix("line ")?;
        let digits = rest.find(|c: char| !c.is_ascii_digit())?;
        rest[..digits].parse().ok()
    }
}

/// `problems` in the order they were written: by file, then by line, those
/// with no line last in each file, otherwise as they came.
pub fn in_file_order(problems: &mut [Problem]) {
    problems.sort_by(|a, b| {
        let key = |p: &Problem| p.line().unwrap_or(usize::MAX);
        a.file.cmp(&b.file).then(key(a).cmp(&key(b)))
    });
}

/// Theme and keymap by name, from `user_dir` or the embedded ones. Without
/// an explicit theme, `NO_COLOR` selects `mono`.
pub fn look_and_keys(
    theme: Option<&str>,
    keymap: &str,
    no_color: bool,
    user_dir: Option<&Path>,
) -> (theme::Theme, keymap::Keymap, Vec<Problem>) {
    let theme_name = theme.unwrap_or(if no_color { "mono" } else { "default" });
    let (theme, mut problems) = theme::Theme::load(theme_name, user_dir);
    let (keymap, keymap_problems) = keymap::Keymap::load(keymap, user_dir);
    problems.extend(keymap_problems);
    (theme, keymap, problems)
}

pub fn project_dirs() -> Option<ProjectDirs> {
    ProjectDirs::from("", "", "opsdeck")
}

/// The user's configuration directory (`~/.config/opsdeck` on Linux).
pub fn user_config_dir() -> Option<PathBuf> {
    project_dirs().map(|d| d.config_dir().to_path_buf())
}

/// Where logs live (`~/.local/state/opsdeck` on Linux); the audit log is
/// data, in the data directory (`actions::audit::default_path`).
pub fn state_dir() -> Option<PathBuf> {
    project_dirs().map(|d| {
        d.state_dir()
            .unwrap_or_else(|| d.data_local_dir())
            .to_path_buf()
    })
}

/// Text of a named file: the user's `<dir>/<kind>/<name>.toml` when it
/// exists, else the embedded one. Returns the text and where it came from.
fn find_file(
    kind: &str,
    name: &str,
    user_dir: Option<&Path>,
    embedded: &[(&str, &'static str)],
) -> Result<Option<(String, String)>, Problem> {
    if let Some(dir) = user_dir {
        let path = dir.join(kind).join(format!("{name}.toml"));
        match std::fs::read_to_string(&path) {
            Ok(text) => return Ok(Some((text, path.display().to_string()))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => {
                return Err(Problem {
                    file: path.display().to_string(),
                    message: format!("cannot read: {e}"),
                });
            }
        }
    }
    Ok(embedded
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(n, text)| (text.to_string(), format!("{kind}/{n}.toml (built in)"))))
}

/// Names of the embedded files plus the user's own, sorted.
pub fn available(kind: &str, user_dir: Option<&Path>, embedded: &[(&str, &str)]) -> Vec<String> {
    let mut names: Vec<String> = embedded.iter().map(|(n, _)| n.to_string()).collect();
    if let Some(entries) = user_dir.and_then(|d| std::fs::read_dir(d.join(kind)).ok()) {
        names.extend(entries.filter_map(|e| {
            let path = e.ok()?.path();
            (path.extension()? == "toml").then(|| path.file_stem()?.to_str().map(String::from))?
        }));
    }
    names.sort();
    names.dedup();
    names
}

/// A TOML error in one line: the position, the message, and the field it
/// is about, without the source excerpt that the toml crate appends. The
/// crate's message names no field ("invalid type: integer `2`, expected a
/// string"), so the field is read back from the text at the position.
pub fn toml_error(text: &str, err: &toml::de::Error) -> String {
    let message = err.message().trim();
    let Some(span) = err.span() else {
        return message.to_string();
    };
    let before = &text[..span.start.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.len() - before.rfind('\n').map_or(0, |i| i + 1) + 1;
    match field_at(text, line) {
        Some(field) => format!("line {line}, column {column}: {message}, in {field}"),
        None => format!("line {line}, column {column}: {message}"),
    }
}

/// The field written on `line` (from 1) of a TOML `text`, as messages name
/// fields: the enclosing table's path, with the index of an array of tables
/// (`prometheus[0].timeout`, `limits.max_series`), then the key before `=`
/// on that line. On a table header, the table itself.
fn field_at(text: &str, line: usize) -> Option<String> {
    fields(text).nth(line.checked_sub(1)?).flatten()
}

/// The line (from 1) where `field` is written in `text`: the line that
/// names it, else the one that names the nearest table or key holding it
/// (`objectives = { availability = 2 }` for `objectives.availability`).
pub fn line_of_field(text: &str, field: &str) -> Option<usize> {
    let mut wanted = field.to_string();
    loop {
        if let Some(i) = fields(text).position(|f| f.as_deref() == Some(wanted.as_str())) {
            return Some(i + 1);
        }
        wanted.truncate(wanted.rfind('.')?);
    }
}

/// The field of each line of `text`, in order (see `field_at`).
fn fields(text: &str) -> impl Iterator<Item = Option<String>> + '_ {
    let mut arrays: std::collections::BTreeMap<String, usize> = Default::default();
    let mut table = Vec::<String>::new();
    text.lines().map(move |l| {
        let Some((header, array)) = table_header(l) else {
            let field: Vec<String> = table.iter().cloned().chain(key_of(l)).collect();
            return (!field.is_empty()).then(|| field.join("."));
        };
        let parts: Vec<&str> = header
            .split('.')
            .map(|p| p.trim().trim_matches('"'))
            .collect();
        if array {
            *arrays.entry(parts.join(".")).or_default() += 1;
        }
        // Each prefix that is an array of tables takes its latest index.
        table = (1..=parts.len())
            .map(|n| {
                let path = parts[..n].join(".");
                match arrays.get(&path) {
                    Some(count) => format!("{}[{}]", parts[n - 1], count - 1),
                    None => parts[n - 1].to_string(),
                }
            })
            .collect();
        Some(table.join("."))
    })
}

/// `[name]` or `[[name]]` (and whether it is the latter), else `None`.
fn table_header(line: &str) -> Option<(&str, bool)> {
    let line = line.split(" #").next().unwrap_or(line).trim();
    let (inner, array) = match line.strip_prefix("[[") {
        Some(rest) => (rest.strip_suffix("]]")?, true),
        None => (line.strip_prefix('[')?.strip_suffix(']')?, false),
    };
    let inner = inner.trim();
    let plain = |c: char| c.is_alphanumeric() || "_-.\" ".contains(c);
    (!inner.is_empty() && inner.chars().all(plain)).then_some((inner, array))
}

/// The key of a `key = value` line, dotted keys joined, quotes dropped.
fn key_of(line: &str) -> Option<String> {
    let (key, _) = line.split_once('=')?;
    let key = key.trim();
    let plain = |c: char| c.is_alphanumeric() || "_-.\"' ".contains(c);
    (!key.is_empty() && !key.starts_with('#') && key.chars().all(plain)).then(|| {
        key.split('.')
            .map(|p| p.trim().trim_matches(['"', '\'']))
            .collect::<Vec<_>>()
            .join(".")
    })
}

/// Loads a named file of `kind`, parsing it with `parse`; on any problem
/// falls back to `fallback` and reports what was wrong.
pub fn load_named<T>(
    kind: &str,
    name: &str,
    user_dir: Option<&Path>,
    embedded: &[(&str, &'static str)],
    parse: impl Fn(&str) -> Result<T, String>,
    fallback: impl Fn() -> T,
) -> (T, Vec<Problem>) {
    let singular = kind.trim_end_matches('s');
    match find_file(kind, name, user_dir, embedded) {
        Err(problem) => (fallback(), vec![problem]),
        Ok(None) => (
            fallback(),
            vec![Problem {
                file: format!("{kind}/{name}.toml"),
                message: format!(
                    "no {singular} named '{name}' (available: {}); using the default",
                    available(kind, user_dir, embedded).join(", ")
                ),
            }],
        ),
        Ok(Some((text, file))) => match parse(&text) {
            Ok(value) => (value, Vec::new()),
            Err(message) => (
                fallback(),
                vec![Problem {
                    file,
                    message: format!("{message}; using the default {singular}"),
                }],
            ),
        },
    }
}

#[cfg(test)]
mod tests;
