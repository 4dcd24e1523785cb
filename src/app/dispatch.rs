//! The one place actions are dispatched: every route (a key, the `:`
//! prompt, a configured action) asks `App::dispatch`, which refuses in
//! read-only mode before anything else, finds the action that applies to
//! the selected row, and opens its confirmation dialog.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

use super::actions::{Field, Focus, Question};
use super::tab::TableId;
use super::{App, Mode};
use crate::actions::{ActionOutcome, ActionRequest, Scope};
use crate::domain::DrillResult;

/// How many of a silence's ID's characters are typed to expire someone
/// else's active silence.
const ID_TYPED: usize = 4;

/// The fields a dialog for action `name` edits: a window's start and
/// length, a silence's length, and every silence's comment (prefilled).
fn fields_of(name: &str, backend: &crate::actions::Backend) -> Vec<Field> {
    let field = |label: &'static str, value: &str| Field {
        label,
        value: value.into(),
    };
    let mut fields = match name {
        "maintenance" => vec![field("starts", "now"), field("length", "2h")],
        "silence" => vec![field("length", "4h")],
        _ => Vec::new(),
    };
    let silences = matches!(
        backend,
        crate::actions::Backend::Silence(_) | crate::actions::Backend::Demo
    );
    let comment = match name {
        "acknowledge" => Some("acknowledged in opsdeck"),
        "silence" => Some("silenced in opsdeck"),
        "maintenance" => Some("maintenance window (opsdeck)"),
        _ => None,
    };
    if let Some(comment) = comment.filter(|_| silences) {
        fields.push(field("comment", comment));
    }
    fields
}

/// The selected row as an action sees it.
struct Row {
    scope: Scope,
    target: String,
    environment: String,
    /// The row's service as shown, for actions on a service from any tab.
    service: Option<String>,
    /// Its value as Alertmanager holds it and the label it is on, when an
    /// alert names it: what a maintenance window matches.
    raw_service: Option<(String, String)>,
    /// For a row with no service, the label and value a maintenance
    /// window from it matches: a host's `instance`, a backup's `target`.
    window: Option<(&'static str, String)>,
    parameters: BTreeMap<String, String>,
    /// What the dialog shows and asks beyond the action's own fields.
    question: Question,
}

/// Why no declaration of `name` applies to `row`: what they are declared
/// for (`when`) beside what the row has. A hint: nothing is audited.
fn unmatched(name: &str, row: &Row, named: &[crate::actions::ActionSpec]) -> String {
    let mut declared = Vec::new();
    let mut has = BTreeMap::new();
    for spec in named.iter().filter(|s| s.scope == row.scope) {
        let when: Vec<String> = spec.when.iter().map(|(k, v)| format!("{k}={v}")).collect();
        declared.push(when.join(", "));
        for k in spec.when.keys() {
            let value = row.parameters.get(k).map_or("none", String::as_str);
            has.insert(k.as_str(), format!("{k}={value}"));
        }
    }
    let has: Vec<String> = has.into_values().collect();
    format!(
        "{name} does not apply to {} here: declared for {} (it has {})",
        row.target,
        declared.join(" or "),
        has.join(", ")
    )
}

impl App {
    /// Asks for action `name` on the selected row. A row it does not
    /// apply to gets a hint in the footer, where it does apply: no request
    /// was made, nothing is audited. A real request is refused in
    /// read-only mode (and audited), else shown in its confirmation dialog.
    pub fn dispatch(&mut self, name: &str) -> bool {
        let named: Vec<crate::actions::ActionSpec> = self
            .actions
            .specs
            .iter()
            .filter(|s| s.name == name)
            .cloned()
            .collect();
        let selected = self.selected_for_actions();
        let (target, environment) = selected
            .as_ref()
            .map_or((String::new(), String::new()), |r| {
                (r.target.clone(), r.environment.clone())
            });
        if named.is_empty() {
            let reason = format!("no {name} action is configured (docs/actions.md)");
            self.refuse_request(name, &target, &environment, reason);
            return true;
        }
        let wanted = if name == "maintenance" {
            Some(Scope::Service)
        } else {
            selected.as_ref().map(|r| r.scope)
        };
        let windows = name == "maintenance";
        let subject = selected.and_then(|row| match wanted {
            Some(Scope::Service) => self.service_or_window(row, windows),
            _ => Some(row),
        });
        let scopes: Vec<Scope> = named.iter().map(|s| s.scope).collect();
        let Some(mut row) = subject.filter(|r| scopes.contains(&r.scope)) else {
            self.actions.notice = Some(self.wrong_row_hint(name, &scopes));
            return true;
        };
        // The row's own values win (an alert's service label).
        for (k, v) in &self.actions.common {
            row.parameters.entry(k.clone()).or_insert_with(|| v.clone());
        }
        row.parameters
            .insert("environment".into(), row.environment.clone());
        let applies = |s: &&crate::actions::ActionSpec| {
            s.scope == row.scope
                && s.when
                    .iter()
                    .all(|(k, v)| row.parameters.get(k).is_some_and(|x| x == v))
        };
        let Some(spec) = named.iter().find(applies).cloned() else {
            self.actions.notice = Some(unmatched(name, &row, &named));
            return true;
        };
        if self.settings.read_only {
            self.refuse_request(name, &row.target, &row.environment, String::new());
            return true;
        }
        let mut question = row.question;
        question.fields = fields_of(name, &spec.backend);
        let request = ActionRequest {
            action: spec.name.clone(),
            target: row.target,
            environment: row.environment,
            parameters: row.parameters,
            backend: spec.backend.clone(),
            timeout: spec.timeout,
        };
        if self.actions.ask(spec, request, question, self.now) {
            self.mode = Mode::Confirm;
        }
        true
    }

    /// A real request refused, and audited: read-only and kiosk mode first
    /// (`reason` is then theirs), else `reason`.
    fn refuse_request(&mut self, name: &str, target: &str, environment: &str, reason: String) {
        let reason = if self.settings.kiosk {
            "kiosk mode is read-only".to_string()
        } else if self.settings.read_only {
            "opsdeck runs read-only (--read-only)".to_string()
        } else {
            reason
        };
        self.actions.refuse(name, target, environment, reason);
    }

    /// The service row `row` names, or, for a row with none, with
    /// `windows`, the label a maintenance window matches: a host's
    /// `instance`, a backup target's `target`.
    fn service_or_window(&self, row: Row, windows: bool) -> Option<Row> {
        if let Some(service) = row.service.clone() {
            return Some(self.service_row(service, row));
        }
        let (label, value) = row.window.clone().filter(|_| windows)?;
        let parameters = BTreeMap::from([
            ("service".to_string(), value.clone()),
            ("service_label".to_string(), label.to_string()),
        ]);
        Some(Row {
            scope: Scope::Service,
            target: value,
            environment: String::new(),
            parameters,
            question: Question::default(),
            ..row
        })
    }

    /// `row` as the service it names: for a maintenance window from any
    /// tab. Its matcher is the raw value an alert of it holds, on that
    /// alert's label, when one names it.
    fn service_row(&self, service: String, row: Row) -> Row {
        let raw = row
            .raw_service
            .clone()
            .or_else(|| self.raw_service_of(&service));
        let mut parameters = BTreeMap::from([("service".to_string(), service.clone())]);
        if let Some((value, label)) = &raw {
            parameters.insert("service".into(), value.clone());
            parameters.insert("service_label".into(), label.clone());
        }
        Row {
            scope: Scope::Service,
            target: service.clone(),
            environment: self.environment_of(&service),
            raw_service: raw,
            parameters,
            question: Question::default(),
            ..row
        }
    }

    /// The raw value and label of an alert whose service is shown as
    /// `shown`.
    fn raw_service_of(&self, shown: &str) -> Option<(String, String)> {
        let alerts = &self.estate.alerts.data.as_ref()?.alerts;
        alerts
            .iter()
            .find(|a| a.service == shown && !a.raw_service.is_empty())
            .map(|a| (a.raw_service.clone(), a.service_label.clone()))
    }

    /// The focused table's selected row, with the template values it gives.
    fn selected_for_actions(&self) -> Option<Row> {
        let id = self.focused_table();
        let index = self.table(id).selected_row()?.index;
        let e = &self.estate;
        let params = |pairs: &[(&str, &str)]| -> BTreeMap<String, String> {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        Some(match id {
            TableId::Deployments => {
                let d = e.deployments.data.as_ref()?.get(index)?;
                // Where a rollback goes: the last healthy version, not
                // blindly the previous one (`domain::rollback`).
                let (rollback_to, question) = self.rollback_question(d);
                Row {
                    scope: Scope::Deployment,
                    target: d.service.clone(),
                    environment: d.environment.clone(),
                    service: Some(d.service.clone()),
                    raw_service: None,
                    window: None,
                    question,
                    parameters: {
                        // No previous version: the field is missing, so a
                        // template naming it is refused, not filled with "".
                        let mut p = params(&[("service", &d.service), ("version", &d.version)]);
                        if let Some(previous) =
                            d.previous_version.as_ref().filter(|v| !v.is_empty())
                        {
                            p.insert("previous_version".into(), previous.clone());
                        }
                        if let Some(to) = rollback_to {
                            p.insert("target_version".into(), to);
                        }
                        p
                    },
                }
            }
            TableId::Backups => {
                let b = e.backups.data.as_ref()?.get(index)?;
                Row {
                    scope: Scope::Backup,
                    target: b.target.clone(),
                    environment: String::new(),
                    // A window from it: on its service, else on its target.
                    service: b.service.clone().filter(|s| !s.is_empty()),
                    raw_service: None,
                    window: Some(("target", b.target.clone())),
                    question: Question::default(),
                    parameters: params(&[
                        ("target", &b.target),
                        ("tier", b.tier.label()),
                        ("tool", b.tool.unwrap_or("")),
                    ]),
                }
            }
            TableId::Incidents => {
                let i = e.incidents.get(index)?;
                // An alert with no service label at all has "—": silenced
                // by its name alone. Matchers take the raw values.
                let service = (!i.raw_service.is_empty()).then(|| i.service.clone());
                let mut parameters = params(&[("alertname", &i.raw_name)]);
                if service.is_some() {
                    parameters.insert("service".into(), i.raw_service.clone());
                    // Silenced on the label that named it, which may not
                    // be the first of the configured list.
                    if !i.service_label.is_empty() {
                        parameters.insert("service_label".into(), i.service_label.clone());
                    }
                }
                Row {
                    scope: Scope::Incident,
                    target: format!("{}/{}", i.name, i.service),
                    environment: self.environment_of(&i.service),
                    raw_service: service
                        .as_ref()
                        .map(|_| (i.raw_service.clone(), i.service_label.clone())),
                    window: None,
                    // The service is what an operator reads and types.
                    question: Question {
                        typed_name: Some(service.clone().unwrap_or_else(|| i.name.clone())),
                        ..Question::default()
                    },
                    service,
                    parameters,
                }
            }
            TableId::Silences => {
                let s = e.alerts.data.as_ref()?.silences.get(index)?;
                Row {
                    scope: Scope::Silence,
                    target: s.id.clone(),
                    environment: String::new(),
                    service: None,
                    raw_service: None,
                    window: None,
                    parameters: params(&[("silence_id", &s.id), ("matchers", &s.matchers)]),
                    question: self.expiry_question(s),
                }
            }
            TableId::Slo | TableId::Services => {
                let s = e.services().get(index)?;
                Row {
                    scope: Scope::Service,
                    target: s.name.clone(),
                    environment: self.environment_of(&s.name),
                    service: Some(s.name.clone()),
                    raw_service: None,
                    window: None,
                    question: Question::default(),
                    parameters: params(&[("service", &s.name)]),
                }
            }
            // Hosts are named by their `instance` label: a window matches it.
            TableId::Hosts => {
                let h = e.health.data.as_ref()?.hosts.get(index)?;
                Row {
                    scope: Scope::Service,
                    target: h.name.clone(),
                    environment: String::new(),
                    service: None,
                    raw_service: None,
                    window: Some(("instance", h.name.clone())),
                    question: Question::default(),
                    parameters: BTreeMap::new(),
                }
            }
            TableId::Kpis => return None,
        })
    }

    /// What expiring silence `s` shows: what it matches, who made it, why,
    /// and when; an active one someone else made asks for its ID's first
    /// characters typed.
    fn expiry_question(&self, s: &crate::domain::Silence) -> Question {
        let when = |t: DateTime<Utc>| {
            let rel = crate::ui::format::duration((t - self.now).abs());
            let rel = if t > self.now {
                format!("in {rel}")
            } else {
                format!("{rel} ago")
            };
            format!("{} ({rel})", t.format("%Y-%m-%d %H:%M UTC"))
        };
        let me = self.actions.common.get("user").map_or("", String::as_str);
        let active = s.is_active(self.now);
        let state = if active { "active" } else { "pending" };
        Question {
            details: vec![
                ("matches", s.matchers.clone()),
                ("made by", s.created_by.clone()),
                ("comment", s.comment.clone()),
                ("starts", when(s.starts_at)),
                ("ends", format!("{} · {state}", when(s.ends_at))),
            ],
            typed_name: Some(s.id.chars().take(ID_TYPED).collect()),
            must_type: active && s.created_by != me,
            ..Question::default()
        }
    }

    /// The environment a service runs in, from its deployments: production
    /// when any of them is, so production always needs its name typed.
    fn environment_of(&self, service: &str) -> String {
        let deployments = self.estate.deployments.data.as_deref().unwrap_or(&[]);
        let mut envs = deployments
            .iter()
            .filter(|d| d.service == service)
            .map(|d| d.environment.as_str());
        let first = envs.next().unwrap_or("").to_string();
        if super::actions::is_production(&first) {
            return first;
        }
        envs.find(|e| super::actions::is_production(e))
            .map_or(first, str::to_string)
    }

    /// Keys in the confirmation dialog. A held key repeats, and a repeat
    /// never confirms: repeats are ignored, and Run must be reached with
    /// its own key before Enter runs it.
    pub(super) fn on_confirm_key(&mut self, key: KeyEvent) -> bool {
        if key.kind == KeyEventKind::Repeat {
            return false;
        }
        let arm = self.actions.arm_delay;
        let Some(dialog) = self.actions.confirm.as_mut() else {
            self.mode = Mode::Normal;
            return true;
        };
        // Typed ahead or pasted before the dialog could be read: ignored,
        // except Esc, which only ever cancels.
        if key.code != KeyCode::Esc && dialog.opened.elapsed() < arm {
            return false;
        }
        dialog.problem = None;
        match key.code {
            KeyCode::Esc => {
                self.actions.cancel_dialog();
                self.mode = Mode::Normal;
            }
            KeyCode::Tab | KeyCode::Down => dialog.move_focus(true),
            KeyCode::BackTab | KeyCode::Up => dialog.move_focus(false),
            KeyCode::Left if dialog.focus == Focus::Run => dialog.focus = Focus::Cancel,
            KeyCode::Right if dialog.focus == Focus::Cancel => dialog.focus = Focus::Run,
            KeyCode::Enter => match dialog.focus {
                Focus::Cancel => {
                    self.actions.cancel_dialog();
                    self.mode = Mode::Normal;
                }
                // The name typed and Enter: that is the confirmation. A
                // wrong or empty name says what is expected and keeps
                // what was typed, with the focus.
                Focus::Name if !dialog.name_matches() => {
                    dialog.problem = Some(dialog.name_problem());
                }
                Focus::Run | Focus::Name => {
                    let now = self.now;
                    self.actions.confirm(now);
                    if self.actions.confirm.is_none() {
                        self.mode = Mode::Normal;
                        self.rollback_started();
                    }
                }
                Focus::Field(_) => dialog.move_focus(true),
            },
            // Ctrl-U empties the field (or the name) being edited.
            KeyCode::Char('u') if key.modifiers.contains(KeyModifiers::CONTROL) => {
                match dialog.focus {
                    Focus::Name => dialog.typed.clear(),
                    Focus::Field(i) => dialog.fields[i].value.clear(),
                    _ => return false,
                }
                self.redescribe();
            }
            KeyCode::Backspace => {
                match dialog.focus {
                    Focus::Name => {
                        dialog.typed.pop();
                    }
                    Focus::Field(i) => {
                        dialog.fields[i].value.pop();
                    }
                    _ => return false,
                }
                self.redescribe();
            }
            KeyCode::Char(c)
                if !key
                    .modifiers
                    .intersects(KeyModifiers::CONTROL | KeyModifiers::ALT) =>
            {
                match dialog.focus {
                    Focus::Name => dialog.typed.push(c),
                    Focus::Field(i) => dialog.fields[i].value.push(c),
                    _ => return false,
                }
                self.redescribe();
            }
            _ => return false,
        }
        true
    }

    /// The open dialog described again after an edit.
    fn redescribe(&mut self) {
        if let Some(mut d) = self.actions.confirm.take() {
            self.actions.describe(&mut d, self.now);
            self.actions.confirm = Some(d);
        }
    }

    /// A run ended. A DR drill that succeeded is a measured RTO for its
    /// target, shown on the Backups and KPI tabs from now on; one whose
    /// output or result says it verified the restore verifies the backup.
    pub(super) fn action_done(&mut self, id: u64, outcome: ActionOutcome, at: DateTime<Utc>) {
        self.rollback_done(id, &outcome, at);
        let Some(run) = self.actions.finished(id, outcome, at) else {
            return;
        };
        // With what it did: "succeeded: silences 2 alerts: silence … created".
        let notice = match run.finished.as_ref() {
            Some((_, o)) if !o.detail().is_empty() => format!(
                "{} {}: {}: {}",
                run.request.action,
                run.request.target,
                o.word(),
                o.detail()
            ),
            finished => format!(
                "{} {}: {}",
                run.request.action,
                run.request.target,
                finished.map_or("", |(_, o)| o.word())
            ),
        };
        let drill = (run.request.action == "dr_drill"
            && run.finished.as_ref().is_some_and(|(_, o)| o.succeeded()))
        .then(|| {
            // A built-in drill measured its own RTO, from start to verified.
            let measured = match run.finished.as_ref() {
                Some((_, ActionOutcome::Verified { rto, .. })) => {
                    chrono::Duration::from_std(*rto).unwrap_or(at - run.started)
                }
                _ => at - run.started,
            };
            let result = DrillResult {
                at,
                measured_rto: Some(measured),
            };
            // What it restored, checked: the backup is verified now.
            let detail = run.finished.as_ref().map_or("", |(_, o)| o.detail());
            let verified = matches!(run.finished, Some((_, ActionOutcome::Verified { .. })))
                || std::iter::once(detail)
                    .chain(run.output.iter().map(String::as_str))
                    .any(super::actions::reports_verification);
            (run.request.target.clone(), result, verified)
        });
        let checked = match &run.finished {
            Some((_, o @ (ActionOutcome::Succeeded { .. } | ActionOutcome::Failed { .. })))
                if run.request.action == "verify_backup" =>
            {
                Some((run.request.target.clone(), o.clone()))
            }
            _ => None,
        };
        self.actions.notice = Some(notice);
        if let Some((target, outcome)) = checked {
            let passed = outcome.succeeded();
            // A repository that cannot be read fails its check for that
            // reason, which the row already says: no finding.
            let unreadable = self
                .estate
                .backups
                .data
                .as_deref()
                .unwrap_or_default()
                .iter()
                .any(|b| b.target == target && b.problem.is_some());
            if passed || !unreadable {
                let words = if passed { "" } else { outcome.detail() };
                let check = crate::domain::CheckResult {
                    at,
                    passed,
                    words: words.to_string(),
                };
                if passed {
                    self.actions.verified.insert(target.clone(), at);
                }
                self.actions.checks.insert(target, check);
                self.apply_drills();
                self.stale = self.stale.feed(crate::sources::Feed::Backups);
            }
        }
        if let Some((target, result, verified)) = drill {
            if verified {
                self.actions.verified.insert(target.clone(), at);
            }
            self.drills.insert(target, result);
            self.apply_drills();
            self.stale = self.stale.feed(crate::sources::Feed::Backups);
        }
    }

    /// opsdeck's own drill results and verifications over what the sources
    /// say, when newer.
    pub(super) fn apply_drills(&mut self) {
        let Some(backups) = self.estate.backups.data.as_mut() else {
            return;
        };
        for b in backups.iter_mut() {
            if let Some(ours) = self.drills.get(&b.target)
                && b.last_drill.is_none_or(|theirs| theirs.at < ours.at)
            {
                b.last_drill = Some(*ours);
            }
            // A check run from the keyboard until the source has a newer one.
            if let Some(ours) = self.actions.checks.get(&b.target)
                && b.check.as_ref().is_none_or(|theirs| theirs.at < ours.at)
            {
                b.check = Some(ours.clone());
            }
            // A drill's verification until the source reports a newer one.
            if let Some(ours) = self.actions.verified.get(&b.target)
                && b.last_verified.is_none_or(|theirs| theirs < *ours)
            {
                b.last_verified = Some(*ours);
            }
        }
    }

    /// The selected incident's runbook: shown, and copied with OSC 52.
    pub(super) fn runbook(&mut self) {
        let link = (self.focused_table() == TableId::Incidents)
            .then(|| self.table(TableId::Incidents).selected_row())
            .flatten()
            .and_then(|r| self.estate.incidents.get(r.index))
            .and_then(|i| i.runbook.clone());
        match link {
            Some(url) => {
                self.actions.notice = Some(format!("runbook (copied): {url}"));
                self.actions.outbox.push(super::actions::Effect::Copy(url));
            }
            None => {
                self.actions.notice = Some("the selected incident has no runbook link".into());
            }
        }
    }

    /// The selected row's words (for an incident: its name, service,
    /// severity and summary) on the clipboard with OSC 52.
    pub(super) fn copy_row(&mut self) {
        let id = self.focused_table();
        let Some(row) = self.table(id).selected_row() else {
            self.actions.notice = Some("no row is selected here".into());
            return;
        };
        let text = super::rows::row_text(self, id, row.index);
        self.actions.notice = Some(format!("copied: {text}"));
        self.actions.outbox.push(super::actions::Effect::Copy(text));
    }
}
