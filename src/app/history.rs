//! The action history (`A`): the runs the audit log recorded before this
//! session (read once at start, `Actions::past`) and this session's runs,
//! merged newest first, filtered with `/` as the tables are.

use std::path::Path;

use chrono::{DateTime, Utc};
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::command::Command;
use super::rows::Filter;
use super::{App, Mode};
use crate::actions::ActionOutcome;
use crate::actions::audit::{self, PastRun};
use crate::domain::Status;

/// Runs of earlier sessions kept for the history: the newest.
pub const PAST_KEPT: usize = 1_000;

/// One line of the history.
#[derive(Debug, Clone, PartialEq)]
pub struct HistoryEntry {
    pub started: DateTime<Utc>,
    pub action: String,
    pub target: String,
    pub environment: String,
    /// `user@host` for a run from the audit log; `None` for this session's.
    pub who: Option<String>,
    /// When it ended, its outcome's word and detail; `None` while it runs
    /// (or, from the log, when no end was recorded).
    pub finished: Option<(DateTime<Utc>, String, String)>,
    /// This session's run, whose output `Enter` shows.
    pub run: Option<u64>,
}

impl HistoryEntry {
    /// The words `/` searches: what the line shows.
    fn text(&self) -> String {
        let (outcome, detail) = self
            .finished
            .as_ref()
            .map_or(("", ""), |(_, o, d)| (o.as_str(), d.as_str()));
        format!(
            "{} {} {} {} {} {outcome} {detail}",
            self.started.format("%Y-%m-%d %H:%M:%S"),
            self.action,
            self.target,
            self.environment,
            self.who.as_deref().unwrap_or("this session"),
        )
    }

    /// Its state for `is:` filters: succeeded is ok, cancelled a warning,
    /// failed or timed out critical, no end unknown.
    fn status(&self) -> Status {
        match self.finished.as_ref().map(|(_, o, _)| o.as_str()) {
            Some("succeeded") => Status::Ok,
            Some("cancelled") => Status::Warn,
            Some(_) => Status::Crit,
            None => Status::Unknown,
        }
    }
}

impl super::actions::Actions {
    /// The runs the audit log at `path` holds, for the history: read when
    /// opsdeck starts, before it writes a line.
    pub fn read_history(&mut self, path: &Path) {
        self.past = audit::history(path, PAST_KEPT);
    }
}

impl App {
    /// The history as shown: earlier sessions' runs and this session's,
    /// newest first, those the filter keeps. A run of this session that
    /// the log read at start also holds is listed once.
    pub fn history(&self) -> Vec<HistoryEntry> {
        let runs = &self.actions.runs;
        let ours = runs.iter().map(|r| HistoryEntry {
            started: r.started,
            action: r.request.action.clone(),
            target: r.request.target.clone(),
            environment: r.request.environment.clone(),
            who: None,
            finished: r.finished.as_ref().map(|(at, o)| {
                let detail = match o {
                    ActionOutcome::Succeeded { detail }
                    | ActionOutcome::Verified { detail, .. }
                    | ActionOutcome::Failed { detail } => detail.clone(),
                    _ => String::new(),
                };
                (*at, o.word().to_string(), detail)
            }),
            run: Some(r.id),
        });
        let same = |p: &PastRun| {
            runs.iter().any(|r| {
                r.request.action == p.action
                    && r.request.target == p.target
                    && r.request.environment == p.environment
                    && (r.started - p.started).num_milliseconds().abs() < 1_000
            })
        };
        let past = self
            .actions
            .past
            .iter()
            .filter(|p| !same(p))
            .map(|p| HistoryEntry {
                started: p.started,
                action: p.action.clone(),
                target: p.target.clone(),
                environment: p.environment.clone(),
                who: Some(format!("{}@{}", p.user, p.host)),
                finished: p.finished.clone(),
                run: None,
            });
        let filter = Filter::parse(&self.actions.history_filter);
        let mut all: Vec<HistoryEntry> = past
            .chain(ours)
            .filter(|e| filter.matches(&e.text(), Some(e.status())))
            .collect();
        // Newest first (stable: on a tie, this session's run first).
        all.reverse();
        all.sort_by_key(|e| std::cmp::Reverse(e.started));
        all
    }

    /// Opens the history, or closes it.
    pub(super) fn toggle_history(&mut self) {
        if self.mode == Mode::History {
            self.mode = Mode::Normal;
            return;
        }
        self.history_selected = 0;
        self.actions.history_filter.clear();
        self.actions.history_filtering = false;
        self.mode = Mode::History;
    }

    /// A command while the history is open; false when it is not one the
    /// history takes.
    pub(super) fn on_history_command(&mut self, command: Command) -> bool {
        let last = self.history().len().saturating_sub(1);
        match command {
            Command::Up => self.history_selected = self.history_selected.saturating_sub(1),
            Command::Down => self.history_selected = (self.history_selected + 1).min(last),
            Command::Top => self.history_selected = 0,
            Command::Bottom => self.history_selected = last,
            Command::Filter => self.actions.history_filtering = true,
            Command::Open => self.open_history_entry(),
            _ => return false,
        }
        true
    }

    /// `Enter`: this session's run in the output pane; an earlier one's
    /// result in the footer (its output was not kept).
    fn open_history_entry(&mut self) {
        let Some(entry) = self.history().into_iter().nth(self.history_selected) else {
            return;
        };
        self.mode = Mode::Normal;
        if let Some(id) = entry.run {
            self.actions.pane = Some(id);
            return;
        }
        let who = entry.who.unwrap_or_default();
        let when = entry.started.format("%Y-%m-%d %H:%M UTC");
        let result = match &entry.finished {
            Some((_, outcome, detail)) if !detail.is_empty() => format!("{outcome}: {detail}"),
            Some((_, outcome, _)) => outcome.clone(),
            None => "no end recorded".into(),
        };
        self.actions.notice = Some(format!(
            "{} {} at {when} by {who}: {result}",
            entry.action, entry.target
        ));
    }

    /// Keys while the history's filter is typed: as a table's (`Enter`
    /// keeps it, `Esc` clears it).
    pub(super) fn on_history_filter_key(&mut self, key: KeyEvent) -> bool {
        let filter = &mut self.actions.history_filter;
        match key.code {
            KeyCode::Enter => self.actions.history_filtering = false,
            KeyCode::Esc => {
                filter.clear();
                self.actions.history_filtering = false;
            }
            KeyCode::Backspace => {
                filter.pop();
            }
            KeyCode::Char(c) if !key.modifiers.contains(KeyModifiers::CONTROL) => filter.push(c),
            _ => return false,
        }
        self.history_selected = 0;
        true
    }
}
