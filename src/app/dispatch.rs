//! The one place actions are dispatched: every route (a key, the `:`
//! prompt, a configured action) asks `App::dispatch`, which refuses in
//! read-only mode before anything else, finds the action that applies to
//! the selected row, and opens its confirmation dialog.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

use super::actions::{Field, Focus};
use super::tab::TableId;
use super::{App, Mode};
use crate::actions::{ActionOutcome, ActionRequest, Scope};
use crate::domain::DrillResult;

/// The selected row as an action sees it.
struct Row {
    scope: Scope,
    target: String,
    environment: String,
    /// The row's service, for actions on a service from any tab.
    service: Option<String>,
    parameters: BTreeMap<String, String>,
}

impl App {
    /// Asks for action `name` on the selected row: refused in read-only
    /// mode (and audited), else shown in its confirmation dialog.
    pub fn dispatch(&mut self, name: &str) -> bool {
        let row = self.selected_for_actions();
        let (target, environment) = row.as_ref().map_or((String::new(), String::new()), |r| {
            (r.target.clone(), r.environment.clone())
        });
        if self.settings.read_only {
            let why = if self.settings.kiosk {
                "kiosk mode is read-only"
            } else {
                "opsdeck runs read-only (--read-only)"
            };
            self.actions.refuse(name, &target, &environment, why.into());
            return true;
        }
        let Some(row) = row else {
            let why = match self.focused_table() {
                TableId::Hosts | TableId::Kpis => "no action applies to the rows of this panel",
                _ => "no row is selected here",
            };
            self.actions.refuse(name, "", "", why.into());
            return true;
        };
        let wanted = if name == "maintenance" {
            Scope::Service
        } else {
            row.scope
        };
        let Some(mut row) = (if wanted == Scope::Service {
            row.service.clone().map(|service| Row {
                scope: Scope::Service,
                target: service.clone(),
                environment: self.environment_of(&service),
                parameters: BTreeMap::from([("service".to_string(), service)]),
                ..row
            })
        } else {
            Some(row)
        }) else {
            self.actions.refuse(
                name,
                &target,
                &environment,
                "the selected row has no service".into(),
            );
            return true;
        };
        // The row's own values win (an alert's service label).
        for (k, v) in &self.actions.common {
            row.parameters.entry(k.clone()).or_insert_with(|| v.clone());
        }
        row.parameters
            .insert("environment".into(), row.environment.clone());
        let named: Vec<_> = self
            .actions
            .specs
            .iter()
            .filter(|s| s.name == name)
            .collect();
        if named.is_empty() {
            let reason = format!("no {name} action is configured (docs/actions.md)");
            self.actions
                .refuse(name, &row.target, &row.environment, reason);
            return true;
        }
        let applies = |s: &&&crate::actions::ActionSpec| {
            s.scope == row.scope
                && s.when
                    .iter()
                    .all(|(k, v)| row.parameters.get(k).is_some_and(|x| x == v))
        };
        let Some(spec) = named.iter().find(applies).map(|s| (**s).clone()) else {
            let reason = format!("{name} does not apply to {} here", row.target);
            self.actions
                .refuse(name, &row.target, &row.environment, reason);
            return true;
        };
        let fields = match name {
            "maintenance" => vec![
                Field {
                    label: "starts",
                    value: "now".into(),
                },
                Field {
                    label: "length",
                    value: "2h".into(),
                },
            ],
            "silence" => vec![Field {
                label: "length",
                value: "4h".into(),
            }],
            _ => Vec::new(),
        };
        let request = ActionRequest {
            action: spec.name.clone(),
            target: row.target,
            environment: row.environment,
            parameters: row.parameters,
            backend: spec.backend.clone(),
            timeout: spec.timeout,
        };
        if self.actions.ask(spec, request, fields, self.now) {
            self.mode = Mode::Confirm;
        }
        true
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
                Row {
                    scope: Scope::Deployment,
                    target: d.service.clone(),
                    environment: d.environment.clone(),
                    service: Some(d.service.clone()),
                    parameters: {
                        // No previous version: the field is missing, so a
                        // template naming it is refused, not filled with "".
                        let mut p = params(&[("service", &d.service), ("version", &d.version)]);
                        if let Some(previous) =
                            d.previous_version.as_ref().filter(|v| !v.is_empty())
                        {
                            p.insert("previous_version".into(), previous.clone());
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
                    service: None,
                    parameters: params(&[("target", &b.target), ("tier", b.tier.label())]),
                }
            }
            TableId::Incidents => {
                let i = e.incidents.get(index)?;
                // An alert with no service label at all has "—": silenced
                // by its name alone.
                let service = (i.service != "—").then(|| i.service.clone());
                let mut parameters = params(&[("alertname", &i.name)]);
                if let Some(s) = &service {
                    parameters.insert("service".into(), s.clone());
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
                    parameters: params(&[("silence_id", &s.id), ("matchers", &s.matchers)]),
                }
            }
            TableId::Slo | TableId::Services => {
                let s = e.services().get(index)?;
                Row {
                    scope: Scope::Service,
                    target: s.name.clone(),
                    environment: self.environment_of(&s.name),
                    service: Some(s.name.clone()),
                    parameters: params(&[("service", &s.name)]),
                }
            }
            TableId::Hosts | TableId::Kpis => return None,
        })
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
                Focus::Run => {
                    let now = self.now;
                    self.actions.confirm(now);
                    if self.actions.confirm.is_none() {
                        self.mode = Mode::Normal;
                    }
                }
                _ => dialog.move_focus(true),
            },
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
                let mut d = self.actions.confirm.take().expect("checked above");
                self.actions.describe(&mut d, self.now);
                self.actions.confirm = Some(d);
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
                let mut d = self.actions.confirm.take().expect("checked above");
                self.actions.describe(&mut d, self.now);
                self.actions.confirm = Some(d);
            }
            _ => return false,
        }
        true
    }

    /// A run ended. A DR drill that succeeded is a measured RTO for its
    /// target, shown on the Backups and KPI tabs from now on.
    pub(super) fn action_done(&mut self, id: u64, outcome: ActionOutcome, at: DateTime<Utc>) {
        let Some(run) = self.actions.finished(id, outcome, at) else {
            return;
        };
        let notice = format!(
            "{} {}: {}",
            run.request.action,
            run.request.target,
            run.finished.as_ref().map_or("", |(_, o)| o.word())
        );
        let drill = (run.request.action == "dr_drill"
            && matches!(run.finished, Some((_, ActionOutcome::Succeeded { .. }))))
        .then(|| {
            let result = DrillResult {
                at,
                measured_rto: Some(at - run.started),
            };
            (run.request.target.clone(), result)
        });
        self.actions.notice = Some(notice);
        if let Some((target, result)) = drill {
            self.drills.insert(target, result);
            self.apply_drills();
        }
    }

    /// opsdeck's own drill results over what the sources say, when newer.
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
