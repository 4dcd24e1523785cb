//! Keymaps: `keymaps/*.toml` bind key names to commands. A keymap may extend
//! another and rebind or unbind (`[]`) any command.

use std::collections::{BTreeMap, HashMap};
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
    keys: HashMap<Key, Command>,
    /// For the help overlay: each command's keys, in the order written.
    by_command: BTreeMap<Command, Vec<Key>>,
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
        let mut by_command: BTreeMap<Command, Vec<Key>> = BTreeMap::new();
        for file in chain.iter().rev() {
            for (command, names) in &file.bindings {
                let keys = names
                    .iter()
                    .map(|n| {
                        Key::parse(n)
                            .map_err(|e| format!("bindings.{}: {e}", command_name(*command)))
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                by_command.insert(*command, keys);
            }
        }
        let mut keys = HashMap::new();
        for (command, list) in &by_command {
            for key in list {
                if let Some(other) = keys.insert(*key, *command) {
                    return Err(format!(
                        "key '{}' is bound to both {} and {}",
                        key.display(),
                        command_name(other),
                        command_name(*command)
                    ));
                }
            }
        }
        Ok(Keymap {
            name: name.to_string(),
            keys,
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

    pub fn command_for(&self, event: &KeyEvent) -> Option<Command> {
        self.keys.get(&Key::from_event(event)).copied()
    }

    /// The keys bound to `command`, as shown to the user.
    pub fn keys_for(&self, command: Command) -> Vec<String> {
        self.by_command
            .get(&command)
            .map(|k| k.iter().map(Key::display).collect())
            .unwrap_or_default()
    }
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
