//! Themes and keymaps: the shipped files, broken files, and user overrides.

use std::path::PathBuf;

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::keymap::{self, Keymap};
use super::theme::{self, Theme};
use super::*;
use crate::app::command::Command;

/// A fresh user config directory holding the given files.
fn user_dir(files: &[(&str, &str)]) -> PathBuf {
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    let dir = std::env::temp_dir().join(format!("opsdeck-config-test-{}-{n}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    for (path, text) in files {
        let full = dir.join(path);
        std::fs::create_dir_all(full.parent().unwrap()).unwrap();
        std::fs::write(full, text).unwrap();
    }
    dir
}

#[test]
fn every_shipped_theme_and_keymap_parses() {
    for (name, text) in theme::EMBEDDED {
        Theme::parse(name, text).unwrap_or_else(|e| panic!("themes/{name}.toml: {e}"));
    }
    for (name, text) in keymap::EMBEDDED {
        let resolve = |n: &str| {
            keymap::EMBEDDED
                .iter()
                .find(|(m, _)| *m == n)
                .map(|(_, t)| t.to_string())
        };
        Keymap::parse(name, text, &resolve).unwrap_or_else(|e| panic!("keymaps/{name}.toml: {e}"));
    }
    let names: Vec<_> = theme::EMBEDDED.iter().map(|(n, _)| *n).collect();
    assert_eq!(names, ["default", "light", "high-contrast", "mono"]);
}

#[test]
fn a_bad_colour_names_the_file_line_and_colour_and_falls_back_to_the_default() {
    let dir = user_dir(&[(
        "themes/mine.toml",
        "[roles]\nok = { fg = \"green\" }\nwarn = { fg = \"purpel\" }\n",
    )]);
    let (theme, problems) = Theme::load("mine", Some(&dir));
    assert_eq!(theme, Theme::builtin());
    assert_eq!(problems.len(), 1);
    let text = problems[0].to_string();
    assert!(text.contains("themes/mine.toml"), "{text}");
    assert!(text.contains("line 3"), "{text}");
    assert!(text.contains("unknown colour 'purpel'"), "{text}");
}

#[test]
fn an_unknown_role_is_reported_by_name() {
    let dir = user_dir(&[("themes/typo.toml", "[roles]\nokk = { fg = \"green\" }\n")]);
    let (_, problems) = Theme::load("typo", Some(&dir));
    assert!(problems[0].message.contains("okk"), "{}", problems[0]);
}

#[test]
fn a_user_theme_overrides_the_embedded_one_of_the_same_name() {
    let dir = user_dir(&[(
        "themes/default.toml",
        "[roles]\nok = { fg = \"#123456\" }\n",
    )]);
    let (theme, problems) = Theme::load("default", Some(&dir));
    assert!(problems.is_empty(), "{problems:?}");
    assert_eq!(
        theme.ok.fg,
        Some(ratatui::style::Color::Rgb(0x12, 0x34, 0x56))
    );
}

#[test]
fn an_unknown_theme_name_lists_the_available_ones() {
    let (theme, problems) = Theme::load("neon", None);
    assert_eq!(theme, Theme::builtin());
    assert!(
        problems[0]
            .message
            .contains("available: default, high-contrast, light, mono"),
        "{}",
        problems[0]
    );
}

#[test]
fn no_color_selects_mono_unless_a_theme_is_named() {
    let (theme, _, _) = look_and_keys(None, "default", true, None);
    assert_eq!(theme.name, "mono");
    let (theme, _, _) = look_and_keys(Some("light"), "default", true, None);
    assert_eq!(theme.name, "light");
    let (theme, _, _) = look_and_keys(None, "default", false, None);
    assert_eq!(theme.name, "default");
}

#[test]
fn the_mono_theme_uses_no_colour_at_all() {
    let (mono, _) = Theme::load("mono", None);
    let styles = [
        mono.text,
        mono.muted,
        mono.accent,
        mono.ok,
        mono.warn,
        mono.crit,
        mono.unknown,
        mono.selection,
        mono.border,
        mono.border_focused,
        mono.header,
        mono.tab_active,
        mono.tab_inactive,
        mono.badge,
    ];
    for style in styles {
        assert_eq!((style.fg, style.bg), (None, None), "{style:?}");
    }
}

fn key(code: KeyCode, modifiers: KeyModifiers) -> KeyEvent {
    KeyEvent::new(code, modifiers)
}

#[test]
fn the_vim_keymap_extends_the_default_one() {
    let (vim, problems) = Keymap::load("vim", None);
    assert!(problems.is_empty(), "{problems:?}");
    assert_eq!(
        vim.command_for(&key(KeyCode::Char('l'), KeyModifiers::NONE)),
        Some(Command::NextTab)
    );
    assert_eq!(
        vim.command_for(&key(KeyCode::Char('G'), KeyModifiers::SHIFT)),
        Some(Command::Bottom)
    );
    assert_eq!(
        vim.command_for(&key(KeyCode::Char('d'), KeyModifiers::CONTROL)),
        Some(Command::PageDown)
    );
    // Inherited from the default keymap.
    assert_eq!(
        vim.command_for(&key(KeyCode::Char('q'), KeyModifiers::NONE)),
        Some(Command::Quit)
    );
    assert_eq!(
        vim.command_for(&key(KeyCode::Char('3'), KeyModifiers::NONE)),
        Some(Command::ShowDeploys)
    );
}

#[test]
fn default_keys_cover_the_issue_keyboard() {
    let map = Keymap::builtin();
    let cases = [
        (
            key(KeyCode::Char('1'), KeyModifiers::NONE),
            Command::ShowKpis,
        ),
        (
            key(KeyCode::Char('5'), KeyModifiers::NONE),
            Command::ShowIncidents,
        ),
        (key(KeyCode::Tab, KeyModifiers::NONE), Command::NextTab),
        (key(KeyCode::BackTab, KeyModifiers::SHIFT), Command::PrevTab),
        (key(KeyCode::Char('j'), KeyModifiers::NONE), Command::Down),
        (key(KeyCode::Up, KeyModifiers::NONE), Command::Up),
        (key(KeyCode::Enter, KeyModifiers::NONE), Command::Open),
        (key(KeyCode::Char('/'), KeyModifiers::NONE), Command::Filter),
        (key(KeyCode::Char('?'), KeyModifiers::NONE), Command::Help),
        (
            key(KeyCode::Char('c'), KeyModifiers::CONTROL),
            Command::Quit,
        ),
    ];
    for (event, command) in cases {
        assert_eq!(map.command_for(&event), Some(command), "{event:?}");
    }
    assert_eq!(map.keys_for(Command::Quit), ["q", "Ctrl-c"]);
}

#[test]
fn keymap_mistakes_name_the_field_and_fall_back() {
    let dir = user_dir(&[
        (
            "keymaps/cmd.toml",
            "[bindings]\nquit = [\"q\"]\nlaunch_rockets = [\"x\"]\n",
        ),
        ("keymaps/key.toml", "[bindings]\nquit = [\"ctrl-\"]\n"),
        (
            "keymaps/twice.toml",
            "[bindings]\nquit = [\"x\"]\nhelp = [\"x\"]\n",
        ),
        ("keymaps/orphan.toml", "extends = \"emacs\"\n"),
    ]);
    let expect = [
        ("cmd", "launch_rockets"),
        ("key", "bindings.quit: unknown key"),
        ("twice", "bound to both"),
        ("orphan", "extends 'emacs', which does not exist"),
    ];
    for (name, words) in expect {
        let (map, problems) = Keymap::load(name, Some(&dir));
        assert_eq!(map, Keymap::builtin(), "{name}");
        let text = problems
            .first()
            .map(ToString::to_string)
            .unwrap_or_default();
        assert!(
            text.contains(&format!("keymaps/{name}.toml")) && text.contains(words),
            "{name}: {text}"
        );
    }
}

#[test]
fn a_user_keymap_can_unbind_a_command() {
    let dir = user_dir(&[(
        "keymaps/mine.toml",
        "extends = \"default\"\n[bindings]\nquit = [\"ctrl-q\"]\n",
    )]);
    let (map, problems) = Keymap::load("mine", Some(&dir));
    assert!(problems.is_empty(), "{problems:?}");
    assert_eq!(
        map.command_for(&key(KeyCode::Char('q'), KeyModifiers::NONE)),
        None
    );
    assert_eq!(
        map.command_for(&key(KeyCode::Char('q'), KeyModifiers::CONTROL)),
        Some(Command::Quit)
    );
}

#[test]
fn state_borders_take_the_state_colour_without_filling_the_frame() {
    use crate::domain::Status;
    use ratatui::style::{Color, Modifier};
    let (contrast, _) = Theme::load("high-contrast", None);
    let border = contrast.status_border(Status::Crit);
    assert_eq!(
        (border.fg, border.bg),
        (Some(Color::Red), None),
        "the badge's red, as a line"
    );
    let (mono, _) = Theme::load("mono", None);
    let border = mono.status_border(Status::Crit);
    assert!(
        !border.add_modifier.contains(Modifier::REVERSED)
            && border.add_modifier.contains(Modifier::BOLD)
    );
    assert_eq!(
        Theme::builtin().status_border(Status::Warn).fg,
        Some(Color::Yellow)
    );
}

#[test]
fn a_user_file_can_extend_the_shipped_keymap_it_replaces() {
    let dir = user_dir(&[(
        "keymaps/default.toml",
        "extends = \"default\"\n[bindings]\nquit = [\"Q\"]\n",
    )]);
    let (map, problems) = Keymap::load("default", Some(&dir));
    assert!(problems.is_empty(), "{problems:?}");
    assert_eq!(
        map.command_for(&key(KeyCode::Char('Q'), KeyModifiers::SHIFT)),
        Some(Command::Quit)
    );
    assert_eq!(
        map.command_for(&key(KeyCode::Char('3'), KeyModifiers::NONE)),
        Some(Command::ShowDeploys),
        "the rest is inherited"
    );
}

/// The key a plain character types, as the event loop would see it.
fn char_key(c: char) -> keymap::Key {
    let modifiers = if c.is_ascii_uppercase() {
        KeyModifiers::SHIFT
    } else {
        KeyModifiers::NONE
    };
    keymap::Key::from_event(&key(KeyCode::Char(c), modifiers))
}

#[test]
fn a_user_chord_waits_after_its_first_key_and_runs_after_both() {
    let dir = user_dir(&[(
        "keymaps/chords.toml",
        "extends = \"default\"\n[bindings]\nhelp = [\"?\", \"ctrl-w h\"]\n",
    )]);
    let (map, problems) = Keymap::load("chords", Some(&dir));
    assert!(problems.is_empty(), "{problems:?}");
    let ctrl_w = keymap::Key::from_event(&key(KeyCode::Char('w'), KeyModifiers::CONTROL));
    assert_eq!(map.lookup(&[], ctrl_w), keymap::Lookup::Pending);
    assert_eq!(
        map.lookup(&[ctrl_w], char_key('h')),
        keymap::Lookup::Command(Command::Help)
    );
    // The same through the event loop's helper, which keeps the pending keys.
    let mut pending = Vec::new();
    assert_eq!(map.lookup_or_retry(&mut pending, ctrl_w), None);
    assert_eq!(pending, [ctrl_w]);
    assert_eq!(
        map.lookup_or_retry(&mut pending, char_key('h')),
        Some(Command::Help)
    );
    assert!(pending.is_empty());
    assert_eq!(map.keys_for(Command::Help), ["?", "Ctrl-w h"]);
}

#[test]
fn a_key_that_breaks_off_a_chord_runs_its_own_command() {
    let (vim, _) = Keymap::load("vim", None);
    let mut pending = Vec::new();
    assert_eq!(vim.lookup_or_retry(&mut pending, char_key('g')), None);
    assert_eq!(vim.lookup(&pending, char_key('j')), keymap::Lookup::None);
    assert_eq!(
        vim.lookup_or_retry(&mut pending, char_key('j')),
        Some(Command::Down),
        "g then j moves down"
    );
    assert!(pending.is_empty());
    // A key bound to nothing drops the pending keys and runs nothing.
    vim.lookup_or_retry(&mut pending, char_key('g'));
    assert_eq!(vim.lookup_or_retry(&mut pending, char_key('z')), None);
    assert!(pending.is_empty());
}

#[test]
fn every_conflict_is_reported_at_once_naming_both_commands() {
    let text = "[bindings]\ntop = [\"g\"]\nbottom = [\"g g\"]\nquit = [\"x\"]\nhelp = [\"x\"]\n";
    let err = Keymap::parse("mine", text, &|_| None).unwrap_err();
    assert_eq!(
        err,
        "key 'g' (top) begins 'g g' (bottom), which could never be typed; \
         key 'x' is bound to both quit and help"
    );
}

#[test]
fn the_vim_keymap_goes_to_the_top_with_g_g() {
    let (vim, problems) = Keymap::load("vim", None);
    assert!(problems.is_empty(), "{problems:?}");
    assert_eq!(vim.lookup(&[], char_key('g')), keymap::Lookup::Pending);
    assert_eq!(
        vim.lookup(&[char_key('g')], char_key('g')),
        keymap::Lookup::Command(Command::Top)
    );
    assert_eq!(
        vim.command_for(&key(KeyCode::Char('g'), KeyModifiers::NONE)),
        None,
        "g alone only begins the chord"
    );
    assert_eq!(vim.keys_for(Command::Top), ["Home", "g g"]);
    assert_eq!(
        vim.lookup(&[], char_key('G')),
        keymap::Lookup::Command(Command::Bottom)
    );
}

#[test]
fn unbinding_a_command_frees_its_chord_and_keys() {
    let dir = user_dir(&[(
        "keymaps/novim.toml",
        "extends = \"vim\"\n[bindings]\ntop = []\n",
    )]);
    let (map, problems) = Keymap::load("novim", Some(&dir));
    assert!(problems.is_empty(), "{problems:?}");
    assert!(map.keys_for(Command::Top).is_empty());
    assert_eq!(map.lookup(&[], char_key('g')), keymap::Lookup::None);
    assert_eq!(
        map.command_for(&key(KeyCode::Home, KeyModifiers::NONE)),
        None
    );
}

#[test]
fn a_chord_of_more_than_three_keys_is_an_error_naming_the_binding() {
    let text = "[bindings]\ntop = [\"g g g g\"]\n";
    let err = Keymap::parse("mine", text, &|_| None).unwrap_err();
    assert_eq!(
        err,
        "bindings.top: 'g g g g' is 4 keys; a chord has at most 3"
    );
    let three = "[bindings]\ntop = [\"g g g\"]\n";
    assert!(Keymap::parse("mine", three, &|_| None).is_ok());
}
