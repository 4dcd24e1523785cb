//! Keymaps: `keymaps/*.toml` bind key names to commands. A keymap may extend
//! another and rebind or unbind (`[]`) any command. A binding may be a chord,
//! keys typed one after another and written with spaces: `"g g"`, `"ctrl-w w"`.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use serde::Deserialize;

use super::{Problem, find_file, load_named, toml_error};
use crate::app::command::Command;

pub const EMBEDDED: &[(&str, &str)] = &[
    ("default", include_str!("../../keymaps/default.toml")),
    ("vim", include_str!("../../keymaps/vim.toml")),
];

const MAX_EXTENDS: usize = 4;

/// Longer chords are a typo more often than a plan, and nobody remembers them.
const MAX_CHORD: usize = 3;

/// Keys typed one after another to run one command; a single key is a
/// one-key chord.
pub type Chord = Vec<Key>;

/// What a key does, given the keys of an unfinished chord typed before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lookup {
    /// The keys complete a chord.
    Command(Command),
    /// The keys begin at least one longer chord: wait for the next key.
    Pending,
    /// No chord starts this way.
    None,
}

/// A key with its modifiers, as keymaps name it: `q`, `G`, `ctrl-c`,
/// `shift-tab`, `enter`, `pagedown`, `f1`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Key {
    code: KeyCode,
    ctrl: bool,
    alt: bool,
}

impl Key {
    pub fn parse(name: &str) -> Result<Key, String> {
        let mut ctrl = false;
        let mut alt = false;
        let mut shift = false;
        let mut rest = name;
        loop {
            let lower = rest.to_ascii_lowercase();
            if let Some(r) = lower.strip_prefix("ctrl-") {
                ctrl = true;
                rest = &rest[rest.len() - r.len()..];
            } else if let Some(r) = lower.strip_prefix("alt-") {
                alt = true;
                rest = &rest[rest.len() - r.len()..];
            } else if let Some(r) = lower.strip_prefix("shift-") {
                shift = true;
                rest = &rest[rest.len() - r.len()..];
            } else {
                break;
            }
        }
        let code = match rest.to_ascii_lowercase().as_str() {
            "tab" if shift => KeyCode::BackTab,
            "backtab" => KeyCode::BackTab,
            "tab" => KeyCode::Tab,
            "enter" | "return" => KeyCode::Enter,
            "esc" | "escape" => KeyCode::Esc,
            "space" => KeyCode::Char(' '),
            "backspace" => KeyCode::Backspace,
            "up" => KeyCode::Up,
            "down" => KeyCode::Down,
            "left" => KeyCode::Left,
            "right" => KeyCode::Right,
            "pageup" | "pgup" => KeyCode::PageUp,
            "pagedown" | "pgdn" => KeyCode::PageDown,
            "home" => KeyCode::Home,
            "end" => KeyCode::End,
            "delete" | "del" => KeyCode::Delete,
            f if f.len() > 1
                && f.starts_with('f')
                && f[1..].parse::<u8>().is_ok_and(|n| (1..=12).contains(&n)) =>
            {
                KeyCode::F(f[1..].parse().unwrap_or(1))
            }
            _ => {
                let mut chars = rest.chars();
                match (chars.next(), chars.next()) {
                    (Some(c), None) if shift => KeyCode::Char(c.to_ascii_uppercase()),
                    (Some(c), None) if ctrl => KeyCode::Char(c.to_ascii_lowercase()),
                    (Some(c), None) => KeyCode::Char(c),
                    _ => return Err(format!("unknown key '{name}'")),
                }
            }
        };
        Ok(Key { code, ctrl, alt })
    }

    pub fn from_event(event: &KeyEvent) -> Key {
        let code = match event.code {
            KeyCode::Char(c) if event.modifiers.contains(KeyModifiers::CONTROL) => {
                KeyCode::Char(c.to_ascii_lowercase())
            }
            other => other,
        };
        Key {
            code,
            ctrl: event.modifiers.contains(KeyModifiers::CONTROL),
            alt: event.modifiers.contains(KeyModifiers::ALT),
        }
    }

    /// How the help overlay shows the key.
    pub fn display(&self) -> String {
        let base = match self.code {
            KeyCode::Char(' ') => "Space".to_string(),
            KeyCode::Char(c) => c.to_string(),
            KeyCode::BackTab => "Shift-Tab".into(),
            KeyCode::Tab => "Tab".into(),
            KeyCode::Enter => "Enter".into(),
            KeyCode::Esc => "Esc".into(),
            KeyCode::Backspace => "Backspace".into(),
            KeyCode::Up => "↑".into(),
            KeyCode::Down => "↓".into(),
            KeyCode::Left => "←".into(),
            KeyCode::Right => "→".into(),
            KeyCode::PageUp => "PgUp".into(),
            KeyCode::PageDown => "PgDn".into(),
            KeyCode::Home => "Home".into(),
            KeyCode::End => "End".into(),
            KeyCode::Delete => "Del".into(),
            KeyCode::F(n) => format!("F{n}"),
            other => format!("{other:?}"),
        };
        let mut out = String::new();
        if self.ctrl {
            out.push_str("Ctrl-");
        }
        if self.alt {
            out.push_str("Alt-");
        }
        out + &base
    }
}

/// Parses `"g g"` into its keys. A name with no word in it is one key, so
/// `" "` still means the space bar as it did before chords.
fn parse_chord(name: &str) -> Result<Chord, String> {
    let words: Vec<&str> = name.split_whitespace().collect();
    if words.is_empty() {
        return Key::parse(name).map(|k| vec![k]);
    }
    if words.len() > MAX_CHORD {
        return Err(format!(
            "'{name}' is {} keys; a chord has at most {MAX_CHORD}",
            words.len()
        ));
    }
    words.into_iter().map(Key::parse).collect()
}

/// How the help overlay and messages show a chord: its keys, spaced.
fn display_chord(chord: &[Key]) -> String {
    chord.iter().map(Key::display).collect::<Vec<_>>().join(" ")
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct KeymapFile {
    #[allow(dead_code)]
    description: Option<String>,
    extends: Option<String>,
    #[serde(default)]
    bindings: BTreeMap<Command, Vec<String>>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Keymap {
    pub name: String,
    keys: HashMap<Chord, Command>,
    /// Every proper prefix of a bound chord, so a lookup knows to wait.
    prefixes: HashSet<Chord>,
    /// For the help overlay: each command's chords, in the order written.
    by_command: BTreeMap<Command, Vec<Chord>>,
}

impl Keymap {
    /// Parses a keymap; `resolve` supplies the text of a keymap it extends.
    pub fn parse(
        name: &str,
        text: &str,
        resolve: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Keymap, String> {
        let mut chain = Vec::new();
        let mut current = (name.to_string(), text.to_string());
        loop {
            let file: KeymapFile = toml::from_str(&current.1).map_err(|e| {
                let prefix = if current.0 == name {
                    String::new()
                } else {
                    format!("in '{}' (extended): ", current.0)
                };
                format!("{prefix}{}", toml_error(&current.1, &e))
            })?;
            let parent = file.extends.clone();
            chain.push(file);
            let Some(parent) = parent else { break };
            if chain.len() > MAX_EXTENDS {
                return Err(format!(
                    "'extends' goes deeper than {MAX_EXTENDS} keymaps (a loop?)"
                ));
            }
            // A user file that extends the keymap it replaces (its own
            // name) extends the shipped one.
            let text = if parent == current.0 {
                embedded(&parent)
            } else {
                resolve(&parent)
            }
            .ok_or_else(|| format!("extends '{parent}', which does not exist"))?;
            current = (parent, text);
        }
        let mut by_command: BTreeMap<Command, Vec<Chord>> = BTreeMap::new();
        for file in chain.iter().rev() {
            for (command, names) in &file.bindings {
                let chords = names
                    .iter()
                    .map(|n| {
                        parse_chord(n)
                            .map_err(|e| format!("bindings.{}: {e}", command_name(*command)))
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                by_command.insert(*command, chords);
            }
        }
        let (keys, prefixes) = index(&by_command)?;
        Ok(Keymap {
            name: name.to_string(),
            keys,
            prefixes,
            by_command,
        })
    }

    pub fn builtin() -> Keymap {
        Keymap::parse("default", EMBEDDED[0].1, &|n| embedded(n))
            .expect("the built-in keymap parses")
    }

    pub fn load(name: &str, user_dir: Option<&Path>) -> (Keymap, Vec<Problem>) {
        let resolve = |n: &str| {
            find_file("keymaps", n, user_dir, EMBEDDED)
                .ok()
                .flatten()
                .map(|(t, _)| t)
        };
        load_named(
            "keymaps",
            name,
            user_dir,
            EMBEDDED,
            |t| Keymap::parse(name, t, &resolve),
            Keymap::builtin,
        )
    }

    /// The command bound to this one key alone; the first key of a chord
    /// has none.
    pub fn command_for(&self, event: &KeyEvent) -> Option<Command> {
        self.keys.get(&[Key::from_event(event)][..]).copied()
    }

    /// What `key` does after the `pending` keys of an unfinished chord. The
    /// caller keeps `pending`; on `None` it should drop them and try `key`
    /// alone, which [`Keymap::lookup_or_retry`] does.
    pub fn lookup(&self, pending: &[Key], key: Key) -> Lookup {
        let mut typed = pending.to_vec();
        typed.push(key);
        if let Some(command) = self.keys.get(&typed) {
            Lookup::Command(*command)
        } else if self.prefixes.contains(&typed) {
            Lookup::Pending
        } else {
            Lookup::None
        }
    }

    /// The event loop's one call per key: the command to run, if any, with
    /// `pending` updated. A key that breaks off a chord counts on its own,
    /// so `g` then `j` still moves down instead of swallowing the `j`.
    pub fn lookup_or_retry(&self, pending: &mut Vec<Key>, key: Key) -> Option<Command> {
        let mut found = self.lookup(pending, key);
        if found == Lookup::None && !pending.is_empty() {
            pending.clear();
            found = self.lookup(pending, key);
        }
        match found {
            Lookup::Command(command) => {
                pending.clear();
                Some(command)
            }
            Lookup::Pending => {
                pending.push(key);
                None
            }
            Lookup::None => {
                pending.clear();
                None
            }
        }
    }

    /// The chords bound to `command`, as shown to the user: `g g`.
    pub fn keys_for(&self, command: Command) -> Vec<String> {
        self.by_command
            .get(&command)
            .map(|chords| chords.iter().map(|c| display_chord(c)).collect())
            .unwrap_or_default()
    }
}

/// The lookup tables for the chords in force, or every conflict among them,
/// sorted, so the user fixes them all in one go rather than one per start.
/// A chord bound to two commands is ambiguous; a chord that begins a longer
/// one bound elsewhere runs at once, so the longer one could never be typed.
fn index(
    by_command: &BTreeMap<Command, Vec<Chord>>,
) -> Result<(HashMap<Chord, Command>, HashSet<Chord>), String> {
    let mut owners: HashMap<&[Key], Vec<Command>> = HashMap::new();
    for (command, chords) in by_command {
        for chord in chords {
            let list = owners.entry(chord).or_default();
            // Written twice for the same command is harmless.
            if !list.contains(command) {
                list.push(*command);
            }
        }
    }
    let mut conflicts = Vec::new();
    for (chord, commands) in &owners {
        for other in &commands[1..] {
            conflicts.push(format!(
                "key '{}' is bound to both {} and {}",
                display_chord(chord),
                command_name(commands[0]),
                command_name(*other)
            ));
        }
        for n in 1..chord.len() {
            let Some(shorter) = owners.get(&chord[..n]) else {
                continue;
            };
            for short in shorter {
                for long in commands.iter().filter(|c| *c != short) {
                    conflicts.push(format!(
                        "key '{}' ({}) begins '{}' ({}), which could never be typed",
                        display_chord(&chord[..n]),
                        command_name(*short),
                        display_chord(chord),
                        command_name(*long)
                    ));
                }
            }
        }
    }
    if !conflicts.is_empty() {
        conflicts.sort();
        return Err(conflicts.join("; "));
    }
    let keys = owners
        .iter()
        .map(|(chord, commands)| (chord.to_vec(), commands[0]))
        .collect();
    let prefixes = owners
        .keys()
        .flat_map(|chord| (1..chord.len()).map(|n| chord[..n].to_vec()))
        .collect();
    Ok((keys, prefixes))
}

fn embedded(name: &str) -> Option<String> {
    EMBEDDED
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, t)| t.to_string())
}

fn command_name(command: Command) -> String {
    toml::Value::try_from(command)
        .ok()
        .and_then(|v| v.as_str().map(String::from))
        .unwrap_or_else(|| format!("{command:?}"))
}
