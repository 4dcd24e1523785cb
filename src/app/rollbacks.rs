//! Rollbacks on the app's side: what this session saw of each deployment's
//! versions (where a rollback goes, `domain::rollback`), and a rollback
//! under way, shown on its row as `rolling back…` from its confirmation
//! until the source shows the version changed, the run fails or is
//! cancelled, or the source has still said nothing `PENDING_FOR` after the
//! run succeeded. Never shown as done before the source says so.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};

use super::App;
use super::actions::Question;
use crate::actions::ActionOutcome;
use crate::domain::Deployment;
use crate::domain::rollback::{self, Seen};

/// How long after its run succeeded a rollback waits for the source to
/// show it before the row shows the source's word again.
pub const PENDING_FOR: Duration = Duration::minutes(2);

/// A deployment by service and environment.
type Key = (String, String);

fn key(service: &str, environment: &str) -> Key {
    (service.to_string(), environment.to_string())
}

/// A rollback confirmed and not yet shown by the source.
#[derive(Debug, Clone, PartialEq)]
pub struct Pending {
    pub run: u64,
    /// The version rolled away from: the source showing another one is
    /// its answer.
    pub from: String,
    pub to: Option<String>,
    /// When its run succeeded.
    pub succeeded: Option<DateTime<Utc>>,
}

#[derive(Debug, Default)]
pub struct Rollbacks {
    seen: BTreeMap<Key, Seen>,
    pending: BTreeMap<Key, Pending>,
}

impl Rollbacks {
    /// A reading of the deployments: remembered, and the source's word on
    /// any rollback under way.
    pub fn observe(&mut self, deployments: &[Deployment], now: DateTime<Utc>) {
        for d in deployments {
            let k = key(&d.service, &d.environment);
            self.seen.entry(k.clone()).or_default().observe(d, now);
            if self.pending.get(&k).is_some_and(|p| p.from != d.version) {
                self.pending.remove(&k);
            }
        }
    }

    /// Whether `d`'s row shows `rolling back…` at `now`.
    pub fn is_pending(&self, d: &Deployment, now: DateTime<Utc>) -> bool {
        self.pending
            .get(&key(&d.service, &d.environment))
            .is_some_and(|p| p.succeeded.is_none_or(|at| now - at < PENDING_FOR))
    }

    pub fn seen(&self, d: &Deployment) -> Option<&Seen> {
        self.seen.get(&key(&d.service, &d.environment))
    }
}

impl App {
    /// What a rollback of `d` asks and shows: the version it goes to (the
    /// last healthy one before the current), and a warning when it was
    /// rolled back lately, its "previous" version the one rolled away from.
    pub(super) fn rollback_question(&self, d: &Deployment) -> (Option<String>, Question) {
        let seen = self.rollbacks.seen(d);
        let target = rollback::target(d, seen);
        let mut details = vec![(
            "rolls back",
            match &target {
                Some(to) => format!("{} → {to}, the last version healthy before it", d.version),
                None => format!("{}: no version known to be healthy before it", d.version),
            },
        )];
        if let Some(r) = rollback::recent(d, seen, self.now) {
            let when = r.at.map_or(String::new(), |at| {
                format!(" {} ago", crate::ui::format::duration(self.now - at))
            });
            details.push((
                "warning",
                format!("rolled back{when}: {} → {}", r.from, r.to),
            ));
            details.push((
                "",
                format!("\"previous\" ({}) is the version rolled away from", r.from),
            ));
        }
        // The canary's verdict, so the reason to roll back is in view.
        if let Some(c) = &d.canary {
            details.push(("canary", c.line()));
            details.push(("", c.compared()));
        }
        let question = Question {
            details,
            ..Question::default()
        };
        (target, question)
    }

    /// A rollback was just confirmed: its row shows `rolling back…`.
    pub(super) fn rollback_started(&mut self) {
        let Some(run) = self.actions.runs.back().filter(|r| r.running()) else {
            return;
        };
        let r = &run.request;
        if r.action != "rollback" {
            return;
        }
        let Some(from) = r.parameters.get("version") else {
            return;
        };
        let service = r.parameters.get("service").unwrap_or(&r.target);
        let pending = Pending {
            run: run.id,
            from: from.clone(),
            to: r.parameters.get("target_version").cloned(),
            succeeded: None,
        };
        self.rollbacks
            .pending
            .insert(key(service, &r.environment), pending);
    }

    /// Run `id` ended: a rollback that failed or was cancelled shows the
    /// source's word at once; one that succeeded waits for it, and is
    /// remembered as a rollback made now.
    pub(super) fn rollback_done(&mut self, id: u64, outcome: &ActionOutcome, at: DateTime<Utc>) {
        let rollbacks = &mut self.rollbacks;
        let Some((k, p)) = rollbacks.pending.iter_mut().find(|(_, p)| p.run == id) else {
            return;
        };
        let k = k.clone();
        if !matches!(outcome, ActionOutcome::Succeeded { .. }) {
            rollbacks.pending.remove(&k);
            return;
        }
        p.succeeded = Some(at);
        if let Some(to) = p.to.clone() {
            let from = p.from.clone();
            rollbacks
                .seen
                .entry(k)
                .or_default()
                .rolled_back(&from, &to, at);
        }
    }
}
