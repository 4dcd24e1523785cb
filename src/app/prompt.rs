//! The `:` prompt: every command of the keymaps by name, and a few that
//! take a word (`tab`, `sort`, `filter`, `go`, `theme`). Tab completes from
//! the same tables the keymaps and the help use; an action typed here goes
//! through the same dispatch point and confirmation as its key.

use super::command::Command;
use super::rows::{STATE_WORDS, sort_columns};
use super::tab::{Tab, TableId};
use super::{App, Mode};

/// What is typed after `:`, and what Tab offered last.
#[derive(Debug, Clone, Default)]
pub struct Prompt {
    pub text: String,
    /// The completions of the word being typed, when there is more than one.
    pub offered: Vec<String>,
}

/// The commands that take a word, with what the word is.
const VERBS: [(&str, &str); 5] = [
    ("tab", "kpis, health, deploys, backups or incidents"),
    ("sort", "a column of the focused table, then asc or desc"),
    (
        "filter",
        "words to find, is:breaching, is:crit…; nothing clears",
    ),
    ("go", "a service: its row on the Health tab"),
    (
        "theme",
        "default, light, high-contrast, mono or one of yours",
    ),
];

/// Every command's name as keymaps write it (`show_health`, `rollback`).
pub fn command_names() -> impl Iterator<Item = (Command, String)> {
    Command::ALL.into_iter().map(|c| (c, c.name()))
}

impl App {
    /// The prompt's key handling: Enter runs, Esc leaves, Tab completes.
    pub(super) fn on_prompt_key(&mut self, key: ratatui::crossterm::event::KeyEvent) -> bool {
        use ratatui::crossterm::event::{KeyCode, KeyModifiers};
        match key.code {
            KeyCode::Esc => self.mode = Mode::Normal,
            KeyCode::Enter => {
                let line = std::mem::take(&mut self.prompt.text);
                self.prompt.offered.clear();
                self.mode = Mode::Normal;
                if let Err(e) = self.run_line(&line) {
                    self.actions.notice = Some(e);
                }
            }
            KeyCode::Tab => self.complete(),
            KeyCode::Backspace => {
                if self.prompt.text.pop().is_none() {
                    self.mode = Mode::Normal;
                }
                self.prompt.offered.clear();
            }
            KeyCode::Char(c) if !key.modifiers.contains(KeyModifiers::CONTROL) => {
                self.prompt.text.push(c);
                self.prompt.offered.clear();
            }
            _ => return false,
        }
        true
    }

    /// Completes the last word of the prompt as far as its candidates
    /// agree, and offers them all when they differ.
    fn complete(&mut self) {
        let text = self.prompt.text.clone();
        let (head, word) = match text.rfind(' ') {
            Some(i) => (&text[..=i], &text[i + 1..]),
            None => ("", text.as_str()),
        };
        let candidates: Vec<String> = self
            .candidates(head.trim())
            .into_iter()
            .filter(|c| c.starts_with(&word.to_lowercase()) || c.starts_with(word))
            .collect();
        let common = common_prefix(&candidates);
        if candidates.len() == 1 {
            self.prompt.text = format!("{head}{} ", candidates[0]);
            self.prompt.offered.clear();
        } else {
            if common.len() > word.len() {
                self.prompt.text = format!("{head}{common}");
            }
            self.prompt.offered = candidates;
        }
    }

    /// What the word after `head` can be.
    fn candidates(&self, head: &str) -> Vec<String> {
        let mut words: Vec<String> = match head.split_whitespace().collect::<Vec<_>>()[..] {
            [] => VERBS
                .iter()
                .map(|(v, _)| v.to_string())
                .chain(command_names().map(|(_, n)| n))
                .collect(),
            ["tab"] => Tab::ALL.iter().map(|t| t.title().to_lowercase()).collect(),
            ["sort"] => sort_columns(self.focused_table())
                .iter()
                .map(|c| c.replace(' ', "_"))
                .collect(),
            ["sort", _] => vec!["asc".into(), "desc".into()],
            ["filter", ..] => STATE_WORDS.iter().map(|w| format!("is:{w}")).collect(),
            ["go"] => self
                .estate
                .services()
                .iter()
                .map(|s| s.name.clone())
                .collect(),
            ["theme"] => crate::config::theme::EMBEDDED
                .iter()
                .map(|(n, _)| n.to_string())
                .collect(),
            _ => Vec::new(),
        };
        words.sort();
        words.dedup();
        words
    }

    /// Runs one line of the prompt; the error says what was wrong with it.
    pub fn run_line(&mut self, line: &str) -> Result<(), String> {
        let words: Vec<&str> = line.split_whitespace().collect();
        let Some((&verb, rest)) = words.split_first() else {
            return Ok(());
        };
        let arg = rest.join(" ");
        match verb {
            "tab" => {
                let tab = Tab::ALL
                    .into_iter()
                    .find(|t| t.title().eq_ignore_ascii_case(&arg))
                    .ok_or_else(|| format!("no tab '{arg}': {}", VERBS[0].1))?;
                self.run(tab_command(tab));
            }
            "sort" => self.sort_by(rest)?,
            "filter" => {
                self.focused_view().filter = arg;
                self.refilter();
            }
            "go" => self.go_to_service(&arg)?,
            "theme" => {
                let (theme, problems) = crate::config::theme::Theme::load(
                    &arg,
                    crate::config::user_config_dir().as_deref(),
                );
                // A theme that cannot be had leaves the one in force,
                // and says so (the loader's own words offer the default).
                if let Some(p) = problems.first() {
                    let why = p.message.split("; using the default").next();
                    return Err(format!(
                        "theme '{arg}': {}; keeping {}",
                        why.unwrap_or(&p.message),
                        self.theme.name
                    ));
                }
                self.theme = theme;
            }
            name => {
                let command = command_names()
                    .find(|(_, n)| n == name)
                    .map(|(c, _)| c)
                    .ok_or_else(|| format!("no command '{name}' (Tab lists them)"))?;
                self.run(command);
            }
        }
        Ok(())
    }

    /// `sort COLUMN [asc|desc]`, or `sort` alone for the table's own order.
    fn sort_by(&mut self, words: &[&str]) -> Result<(), String> {
        let id = self.focused_table();
        let columns = sort_columns(id);
        let (column, reverse) = match words {
            [] => (None, false),
            [column, rest @ ..] => {
                let wanted = column.replace('_', " ").to_lowercase();
                let found = columns.iter().find(|c| **c == wanted).ok_or_else(|| {
                    if columns.is_empty() {
                        "this panel keeps its own order".to_string()
                    } else {
                        format!("no column '{column}' here: {}", columns.join(", "))
                    }
                })?;
                let reverse = match rest {
                    [] => false,
                    [d] if d.eq_ignore_ascii_case("desc") || d.eq_ignore_ascii_case("asc") => {
                        // Numbers sort largest first and words A to Z; `asc`
                        // or `desc` says which end comes first instead.
                        let numeric = !matches!(
                            *found,
                            "service"
                                | "tier"
                                | "team"
                                | "host"
                                | "env"
                                | "version"
                                | "strategy"
                                | "phase"
                                | "target"
                                | "incident"
                                | "matchers"
                                | "by"
                        );
                        numeric == d.eq_ignore_ascii_case("asc")
                    }
                    _ => return Err("sort COLUMN, then asc or desc".into()),
                };
                (Some(*found), reverse)
            }
        };
        let view = self.focused_view();
        view.sort = column;
        view.reverse = reverse;
        self.refilter();
        Ok(())
    }

    /// The service's row on the Health tab, selected, with the filter
    /// cleared so that it is there to select.
    fn go_to_service(&mut self, name: &str) -> Result<(), String> {
        if !self.estate.services().iter().any(|s| s.name == name) {
            return Err(format!("no service '{name}'"));
        }
        self.run(Command::ShowHealth);
        self.focus = 0;
        let view = &mut self.tables[TableId::Services.index()];
        view.filter.clear();
        self.refilter();
        let view = &mut self.tables[TableId::Services.index()];
        if let Some(i) = view
            .rows
            .iter()
            .position(|r| r.key == name || r.key.ends_with(&format!("/{name}")))
        {
            view.selected = i;
        }
        Ok(())
    }
}

fn tab_command(tab: Tab) -> Command {
    match tab {
        Tab::Kpis => Command::ShowKpis,
        Tab::Health => Command::ShowHealth,
        Tab::Deploys => Command::ShowDeploys,
        Tab::Backups => Command::ShowBackups,
        Tab::Incidents => Command::ShowIncidents,
    }
}

fn common_prefix(words: &[String]) -> String {
    let Some(first) = words.first() else {
        return String::new();
    };
    let mut end = first.len();
    for w in &words[1..] {
        end = first
            .char_indices()
            .zip(w.chars())
            .take_while(|((_, a), b)| a == b)
            .last()
            .map_or(0, |((i, a), _)| i + a.len_utf8())
            .min(end);
    }
    first[..end].to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::Settings;
    use crate::config::keymap::Keymap;
    use crate::config::theme::Theme;

    #[test]
    fn an_unknown_theme_keeps_the_one_in_force_and_says_so_in_the_footer() {
        let now = chrono::Utc::now();
        let light = Theme::load("light", None).0;
        let mut app = App::new(Settings::default(), light.clone(), Keymap::builtin(), now);
        app.mode = Mode::Prompt;
        app.prompt.text = "theme nosuch".into();
        let enter =
            ratatui::crossterm::event::KeyEvent::from(ratatui::crossterm::event::KeyCode::Enter);
        assert!(app.on_prompt_key(enter));
        assert_eq!(app.theme.name, "light", "the theme in force stays");
        assert_eq!(app.theme.accent, light.accent);
        let notice = app.actions.notice.clone().unwrap_or_default();
        assert!(
            notice.starts_with("theme 'nosuch': no theme named 'nosuch' (available: "),
            "{notice}"
        );
        assert!(notice.ends_with("; keeping light"), "{notice}");
        assert!(!notice.contains("default theme"), "{notice}");
        // A theme that exists is taken.
        assert!(app.run_line("theme mono").is_ok());
        assert_eq!(app.theme.name, "mono");
    }
}
