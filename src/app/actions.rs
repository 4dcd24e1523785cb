//! Actions on the app's side: the one dispatch point every route goes
//! through (keys now, the `:` prompt later), the confirmation dialog, the
//! runs and their output. Nothing here runs anything: a confirmed action
//! leaves as an `Effect` for the event loop, which also writes the audit
//! log from the `Effect::Audit` notes, in order, before it starts a run.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};

use crate::actions::audit::{AuditEvent, Stage, Who};
use crate::actions::{ActionOutcome, ActionRequest, ActionRunner, ActionSpec, Backend, Confirm};

/// Runs kept for the history view. The output lines kept per run are a
/// setting, `limits.action_output_lines` (`Actions::output_lines_kept`).
pub const RUNS_KEPT: usize = 50;

pub use super::environment::{is_production, normalise_environment};

/// The runner of each backend, as configured.
#[derive(Default)]
pub struct Runners {
    pub exec: Option<Arc<dyn ActionRunner>>,
    pub http: Option<Arc<dyn ActionRunner>>,
    pub silence: Option<Arc<dyn ActionRunner>>,
    pub demo: Option<Arc<dyn ActionRunner>>,
    pub drill: Option<Arc<dyn ActionRunner>>,
    pub check: Option<Arc<dyn ActionRunner>>,
}

impl Runners {
    pub fn for_backend(&self, backend: &Backend) -> Option<Arc<dyn ActionRunner>> {
        match backend {
            Backend::Exec { .. } => self.exec.clone(),
            Backend::Http { .. } => self.http.clone(),
            Backend::Silence(_) => self.silence.clone(),
            Backend::Demo => self.demo.clone(),
            Backend::Drill => self.drill.clone(),
            Backend::Check => self.check.clone(),
        }
    }
}

impl std::fmt::Debug for Runners {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Runners")
    }
}

/// What the event loop must do for the app.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    /// Append to the audit log, before anything after it happens.
    Audit(AuditNote),
    Start {
        id: u64,
        request: ActionRequest,
    },
    Cancel {
        id: u64,
    },
    /// Put text on the clipboard of the terminal's owner (OSC 52).
    Copy(String),
    /// Write the screen as drawn next to a text file and an SVG file.
    Export,
}

/// One audit event, before the loop adds who and when.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditNote {
    /// Which step: asked, refused, confirmed, cancelled, started, finished.
    pub event: Stage,
    pub action: String,
    pub target: String,
    pub environment: String,
    pub parameters: BTreeMap<String, String>,
    pub description: Vec<String>,
    pub outcome: Option<String>,
    pub detail: Option<String>,
    pub reason: Option<String>,
    pub duration_ms: Option<u64>,
    pub measured_rto_s: Option<u64>,
}

impl AuditNote {
    /// The audit log's line for this note: who, when, and what.
    pub fn to_event(&self, who: &Who, time: DateTime<Utc>) -> AuditEvent {
        AuditEvent {
            time,
            event: self.event,
            user: who.user.clone(),
            host: who.host.clone(),
            ssh_client: who.ssh_client.clone(),
            action: self.action.clone(),
            target: self.target.clone(),
            environment: self.environment.clone(),
            parameters: self.parameters.clone(),
            description: self.description.clone(),
            outcome: self.outcome.clone(),
            detail: self.detail.clone(),
            reason: self.reason.clone(),
            duration_ms: self.duration_ms,
            measured_rto_s: self.measured_rto_s,
        }
    }

    fn new(event: Stage, action: &str, target: &str, environment: &str) -> AuditNote {
        AuditNote {
            event,
            action: action.to_string(),
            target: target.to_string(),
            environment: environment.to_string(),
            parameters: BTreeMap::new(),
            description: Vec::new(),
            outcome: None,
            detail: None,
            reason: None,
            duration_ms: None,
            measured_rto_s: None,
        }
    }

    fn of(event: Stage, request: &ActionRequest, description: &[String]) -> AuditNote {
        AuditNote {
            parameters: request.parameters.clone(),
            description: description.to_vec(),
            ..AuditNote::new(
                event,
                &request.action,
                &request.target,
                &request.environment,
            )
        }
    }
}

/// An editable value of the dialog: a maintenance window's start and
/// length, a silence's length.
#[derive(Debug, Clone, PartialEq)]
pub struct Field {
    pub label: &'static str,
    pub value: String,
}

/// Where the dialog's focus is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Focus {
    Field(usize),
    /// The box where the target's name is typed.
    Name,
    Cancel,
    Run,
}

/// What the dialog asks besides Run: its editable fields, what it shows
/// about the target, and what must be typed.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Question {
    pub fields: Vec<Field>,
    /// Label and value lines shown above what will run (a silence's
    /// matchers, author, comment, start and end).
    pub details: Vec<(&'static str, String)>,
    /// What must be typed, when it is not the target (an incident's
    /// service, a silence's ID's start): compared case-insensitively.
    pub typed_name: Option<String>,
    /// Typing is asked whatever the environment (someone else's active
    /// silence).
    pub must_type: bool,
}

/// An action shown before it runs.
#[derive(Debug, Clone, PartialEq)]
pub struct Confirmation {
    pub spec: ActionSpec,
    pub request: ActionRequest,
    /// Exactly what will run, secrets masked; or why it cannot.
    pub description: Result<Vec<String>, String>,
    pub fields: Vec<Field>,
    /// Lines about the target, shown before what will run.
    pub details: Vec<(&'static str, String)>,
    /// The target's name must be typed (production, or configured so).
    pub needs_name: bool,
    /// What must be typed: the target, or `Question::typed_name`.
    pub expected: String,
    /// Whether `expected` is compared case-insensitively.
    pub fold_case: bool,
    pub typed: String,
    pub focus: Focus,
    /// Why the last Run was not accepted.
    pub problem: Option<String>,
    /// When it opened: keys typed ahead of it, or pasted, arrive before an
    /// operator can have read it, and are ignored (`Actions::arm_delay`).
    pub opened: std::time::Instant,
}

impl Confirmation {
    /// Whether Run is allowed now: a description, the name typed when asked.
    pub fn ready(&self) -> bool {
        self.description.is_ok() && (!self.needs_name || self.name_matches())
    }

    /// Whether what was typed is what is expected.
    pub fn name_matches(&self) -> bool {
        if self.fold_case {
            self.typed.to_lowercase() == self.expected.to_lowercase()
        } else {
            self.typed == self.expected
        }
    }

    /// Why Run is refused while the name does not match.
    pub fn name_problem(&self) -> String {
        let case = if self.fold_case { " (any case)" } else { "" };
        if self.typed.is_empty() {
            format!("nothing typed: type {}{case} to confirm", self.expected)
        } else {
            format!(
                "'{}' is not {}{case}: Backspace or Ctrl-U to correct it",
                self.typed, self.expected
            )
        }
    }

    fn order(&self) -> Vec<Focus> {
        let mut order: Vec<Focus> = (0..self.fields.len()).map(Focus::Field).collect();
        if self.needs_name {
            order.push(Focus::Name);
        }
        order.extend([Focus::Cancel, Focus::Run]);
        order
    }

    pub fn move_focus(&mut self, forward: bool) {
        let order = self.order();
        let at = order.iter().position(|f| *f == self.focus).unwrap_or(0);
        let n = order.len();
        self.focus = order[if forward {
            (at + 1) % n
        } else {
            (at + n - 1) % n
        }];
    }
}

/// One run, from start to its outcome.
#[derive(Debug, Clone, PartialEq)]
pub struct Run {
    pub id: u64,
    pub request: ActionRequest,
    pub description: Vec<String>,
    pub started: DateTime<Utc>,
    pub output: VecDeque<String>,
    /// Lines dropped from the front to keep the output bounded.
    pub dropped: usize,
    pub finished: Option<(DateTime<Utc>, ActionOutcome)>,
}

impl Run {
    pub fn running(&self) -> bool {
        self.finished.is_none()
    }

    /// Adds an output line, keeping the last `keep` (at least one).
    pub fn push(&mut self, line: String, keep: usize) {
        while self.output.len() >= keep.max(1) {
            self.output.pop_front();
            self.dropped += 1;
        }
        self.output.push_back(line);
    }
}

#[derive(Debug)]
pub struct Actions {
    pub specs: Vec<ActionSpec>,
    pub runners: Runners,
    /// Template values every request has: `user`, `service_label`.
    pub common: BTreeMap<String, String>,
    pub confirm: Option<Confirmation>,
    /// Oldest first, at most `RUNS_KEPT`.
    pub runs: VecDeque<Run>,
    /// The run whose output pane is open.
    pub pane: Option<u64>,
    /// The last refusal or notice, for the footer.
    pub notice: Option<String>,
    /// When the notice was put there, for it to expire (`App::apply`).
    pub notice_since: Option<chrono::DateTime<chrono::Utc>>,
    /// Notices from the audit log's writer (a rotation), which runs in the
    /// event loop, outside the app; `take_audit_notices` moves them to the
    /// footer.
    pub audit_notices: Option<std::sync::mpsc::Receiver<String>>,
    /// Output lines kept per run (`limits.action_output_lines`).
    pub output_lines_kept: usize,
    pub outbox: Vec<Effect>,
    /// How long a new dialog ignores keys other than Esc (300 ms).
    pub arm_delay: std::time::Duration,
    /// Backups a DR drill verified (`reports_verification`), by target:
    /// shown as verified then until the source reports a newer time.
    pub verified: BTreeMap<String, DateTime<Utc>>,
    /// Checks run now from the keyboard (`verify_backup`), by target: shown
    /// until the source reports a newer one.
    pub checks: BTreeMap<String, crate::domain::CheckResult>,
    /// The runs the audit log held when opsdeck started (`read_history`).
    pub past: Vec<crate::actions::audit::PastRun>,
    /// The history's filter, and whether it is being typed.
    pub history_filter: String,
    pub history_filtering: bool,
    next_id: u64,
}

impl Default for Actions {
    fn default() -> Actions {
        Actions {
            specs: Vec::new(),
            runners: Runners::default(),
            common: BTreeMap::new(),
            confirm: None,
            runs: VecDeque::new(),
            pane: None,
            notice: None,
            notice_since: None,
            audit_notices: None,
            output_lines_kept: crate::config::limits::DEFAULT_ACTION_OUTPUT_LINES,
            outbox: Vec::new(),
            arm_delay: std::time::Duration::from_millis(300),
            verified: BTreeMap::new(),
            checks: BTreeMap::new(),
            past: Vec::new(),
            history_filter: String::new(),
            history_filtering: false,
            next_id: 0,
        }
    }
}

impl Actions {
    pub fn run(&self, id: u64) -> Option<&Run> {
        self.runs.iter().find(|r| r.id == id)
    }

    fn run_mut(&mut self, id: u64) -> Option<&mut Run> {
        self.runs.iter_mut().find(|r| r.id == id)
    }

    /// A refusal: said on screen and audited.
    pub fn refuse(&mut self, action: &str, target: &str, environment: &str, reason: String) {
        let mut note = AuditNote::new(Stage::Refused, action, target, environment);
        note.reason = Some(reason.clone());
        self.outbox.push(Effect::Audit(note));
        self.notice = Some(format!("{action} refused: {reason}"));
    }

    /// Opens the dialog for `request` under `spec`, or refuses when a run
    /// for the same target is still going (one action per target).
    pub fn ask(
        &mut self,
        spec: ActionSpec,
        request: ActionRequest,
        question: Question,
        now: DateTime<Utc>,
    ) -> bool {
        // A dialog already open is cancelled, not silently replaced.
        self.cancel_dialog();
        self.outbox
            .push(Effect::Audit(AuditNote::of(Stage::Asked, &request, &[])));
        if let Some(busy) = self.runs.iter().find(|r| {
            r.running()
                && r.request.target == request.target
                && r.request.environment == request.environment
        }) {
            let reason = format!(
                "{} of {} is still running",
                busy.request.action, busy.request.target
            );
            self.refuse(
                &request.action,
                &request.target,
                &request.environment,
                reason,
            );
            return false;
        }
        // Production, or a critical-tier backup target (its DR drill is
        // production's data), needs the name typed.
        let critical = request
            .parameters
            .get("tier")
            .is_some_and(|t| t == "critical");
        let needs_name = spec.confirm == Confirm::TypeName
            || is_production(&request.environment)
            || critical
            || question.must_type;
        let mut dialog = Confirmation {
            spec,
            description: Err(String::new()),
            focus: first_focus(&question.fields, needs_name),
            fields: question.fields,
            details: question.details,
            needs_name,
            fold_case: question.typed_name.is_some(),
            expected: question
                .typed_name
                .unwrap_or_else(|| request.target.clone()),
            request,
            typed: String::new(),
            problem: None,
            opened: std::time::Instant::now(),
        };
        self.describe(&mut dialog, now);
        self.confirm = Some(dialog);
        self.notice = None;
        true
    }

    /// Fills the request's parameters from the dialog's fields and
    /// describes it with its runner.
    pub fn describe(&self, dialog: &mut Confirmation, now: DateTime<Utc>) {
        let parsed = apply_fields(&dialog.fields, &mut dialog.request.parameters, now);
        dialog.description = match (parsed, self.runners.for_backend(&dialog.request.backend)) {
            (Err(e), _) => Err(e),
            (Ok(()), None) => Err("no runner for this backend is configured".into()),
            (Ok(()), Some(runner)) => runner.describe(&dialog.request),
        };
    }

    /// The dialog was cancelled: nothing runs, and the footer says so.
    pub fn cancel_dialog(&mut self) {
        if let Some(d) = self.confirm.take() {
            let desc = d.description.clone().unwrap_or_default();
            self.outbox.push(Effect::Audit(AuditNote::of(
                Stage::Cancelled,
                &d.request,
                &desc,
            )));
            self.notice = Some(format!(
                "{} {}: cancelled",
                d.request.action, d.request.target
            ));
            self.notice_since = None;
        }
    }

    /// Run was chosen: confirmed, audited, started.
    pub fn confirm(&mut self, now: DateTime<Utc>) {
        let Some(mut d) = self.confirm.take() else {
            return;
        };
        self.describe(&mut d, now);
        if !d.ready() {
            d.problem = Some(match &d.description {
                Err(e) => e.clone(),
                Ok(_) => d.name_problem(),
            });
            self.confirm = Some(d);
            return;
        }
        let description = d.description.clone().unwrap_or_default();
        self.next_id += 1;
        let id = self.next_id;
        for event in [Stage::Confirmed, Stage::Started] {
            self.outbox.push(Effect::Audit(AuditNote::of(
                event,
                &d.request,
                &description,
            )));
        }
        self.outbox.push(Effect::Start {
            id,
            request: d.request.clone(),
        });
        // The oldest finished run makes room; a run still going is never
        // dropped, so it stays tracked, blocks its target and is audited.
        if self.runs.len() >= RUNS_KEPT
            && let Some(i) = self.runs.iter().position(|r| !r.running())
        {
            self.runs.remove(i);
        }
        self.runs.push_back(Run {
            id,
            request: d.request,
            description,
            started: now,
            output: VecDeque::new(),
            dropped: 0,
            finished: None,
        });
        self.pane = Some(id);
    }

    pub fn output(&mut self, id: u64, line: String) {
        let keep = self.output_lines_kept;
        if let Some(run) = self.run_mut(id) {
            run.push(line, keep);
        }
    }

    /// Shows the latest notice the audit log's writer sent (a rotation) in
    /// the footer; true when there was one.
    pub fn take_audit_notices(&mut self) -> bool {
        let latest = self
            .audit_notices
            .as_ref()
            .and_then(|notices| notices.try_iter().last());
        let shown = latest.is_some();
        if latest.is_some() {
            self.notice = latest;
            self.notice_since = None;
        }
        shown
    }

    /// A run ended: kept with its outcome and audited. Returns the run.
    pub fn finished(&mut self, id: u64, outcome: ActionOutcome, at: DateTime<Utc>) -> Option<&Run> {
        let run = self.run_mut(id)?;
        if run.finished.is_some() {
            return None;
        }
        run.finished = Some((at, outcome.clone()));
        let took = (at - run.started).max(Duration::zero());
        let mut note = AuditNote::of(Stage::Finished, &run.request, &run.description);
        note.outcome = Some(outcome.word().to_string());
        note.detail = Some(outcome.detail().to_string()).filter(|d| !d.is_empty());
        note.duration_ms = Some(took.num_milliseconds() as u64);
        if let ActionOutcome::Verified { rto, .. } = &outcome {
            note.measured_rto_s = Some(rto.as_secs_f64().round() as u64);
        } else if run.request.action == "dr_drill" && outcome.succeeded() {
            note.measured_rto_s = Some(took.num_seconds() as u64);
        }
        self.outbox.push(Effect::Audit(note));
        self.run(id)
    }

    /// Cancels the run in the pane, if it is still going.
    /// Cancels the run in the pane if it is going, else the latest run
    /// still going.
    pub fn cancel_shown(&mut self) -> bool {
        let shown = self
            .pane
            .filter(|id| self.run(*id).is_some_and(Run::running));
        let latest = || self.runs.iter().rev().find(|r| r.running()).map(|r| r.id);
        let Some(id) = shown.or_else(latest) else {
            return false;
        };
        self.outbox.push(Effect::Cancel { id });
        self.pane = Some(id);
        self.notice = Some("cancelling…".into());
        true
    }

    /// The loop started run `id` now: its clock starts here, not at the
    /// last tick, so durations and measured RTOs are to the millisecond.
    pub fn mark_started(&mut self, id: u64, at: DateTime<Utc>) {
        if let Some(run) = self.run_mut(id) {
            run.started = at;
        }
    }
}

/// Whether a line of a DR drill's output, or its result, reports that the
/// restore was verified: it says `verified` (the word on its own, any case:
/// `checksums verified`, `Restore verified OK`) and says none of `not`,
/// `no`, `never`, `false`, `failed`, `skipped`. A drill that only restored proves
/// less than one that checked what it restored, so only this counts.
pub fn reports_verification(line: &str) -> bool {
    let lower = line.to_lowercase();
    let words: Vec<&str> = lower
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect();
    words.contains(&"verified")
        && !words
            .iter()
            .any(|w| matches!(*w, "not" | "no" | "never" | "false" | "failed" | "skipped"))
}

/// Where a new dialog's focus starts: its first field that asks
/// something, else the name to type, else Cancel. A prefilled comment
/// alone asks nothing: Cancel keeps the focus, as in every dialog.
fn first_focus(fields: &[Field], needs_name: bool) -> Focus {
    match fields.iter().position(|f| f.label != "comment") {
        Some(i) => Focus::Field(i),
        None if needs_name => Focus::Name,
        None => Focus::Cancel,
    }
}

/// A start as typed: `now`, `HH:MM` (the next such time, UTC), or RFC 3339.
pub fn parse_start(text: &str, now: DateTime<Utc>) -> Result<DateTime<Utc>, String> {
    let text = text.trim();
    if text.eq_ignore_ascii_case("now") || text.is_empty() {
        return Ok(now);
    }
    if let Ok(t) = chrono::NaiveTime::parse_from_str(text, "%H:%M") {
        let today = now.date_naive().and_time(t).and_utc();
        return Ok(if today < now {
            today + Duration::days(1)
        } else {
            today
        });
    }
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| format!("start {text:?}: write now, HH:MM (UTC) or an RFC 3339 time"))
}

/// A length as typed: `90m`, `2h`, `1h30m`.
pub fn parse_length(text: &str) -> Result<Duration, String> {
    humantime::parse_duration(text.trim())
        .ok()
        .and_then(|d| Duration::from_std(d).ok())
        .filter(|d| *d > Duration::zero() && *d <= Duration::days(30))
        .ok_or_else(|| format!("length {text:?}: write it like 30m or 2h (at most 30 days)"))
}

/// The dialog's fields into `comment`, `starts_at` and `ends_at`.
fn apply_fields(
    fields: &[Field],
    parameters: &mut BTreeMap<String, String>,
    now: DateTime<Utc>,
) -> Result<(), String> {
    let value = |label: &str| fields.iter().find(|f| f.label == label).map(|f| &f.value);
    if let Some(comment) = value("comment") {
        if comment.trim().is_empty() {
            return Err("a silence needs a comment: say why".into());
        }
        parameters.insert("comment".into(), comment.trim().to_string());
    }
    let stamp = |t: DateTime<Utc>| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let (Some(starts), Some(length)) = (value("starts"), value("length")) else {
        if let Some(length) = value("length") {
            let ends = now + parse_length(length)?;
            parameters.insert("starts_at".into(), stamp(now));
            parameters.insert("ends_at".into(), stamp(ends));
        }
        return Ok(());
    };
    let start = parse_start(starts, now)?;
    let ends = start + parse_length(length)?;
    parameters.insert("starts_at".into(), stamp(start));
    parameters.insert("ends_at".into(), stamp(ends));
    Ok(())
}

#[cfg(test)]
#[path = "actions_tests.rs"]
mod tests;
