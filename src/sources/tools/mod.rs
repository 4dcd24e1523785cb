//! Backup targets read from the backup tools themselves (`[[backups]]`):
//! restic, BorgBackup and pgBackRest, through their own JSON output. Each
//! target is listed on its own slow schedule (default every 5 minutes) and
//! verified by its tool on another (default daily), in a task of its own,
//! never on the screen's refresh: the feed answers from what the last runs
//! said. A target's failure is a problem on its row; the others go on.
//!
//! - `run`: running a tool (no shell, timeout, output cap, secrets masked);
//! - `restic`, `borg`, `pgbackrest`: the commands and what their JSON says;
//! - `checks`: the last verification of each target, kept across runs.

pub mod borg;
pub mod checks;
pub mod pgbackrest;
pub mod restic;
pub mod run;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration as StdDuration;

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};

use super::{Feed, Fetch, Fetched, MetricsSource};
use crate::config::backups::{Tool, ToolTarget};
use crate::domain::{Backup, CheckResult, Deployment, HealthReading, Kept, ResolvedIncident};

/// What one listing of a repository says.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Listing {
    /// When the newest complete backup finished.
    pub last_success: Option<DateTime<Utc>>,
    /// The newest backup's size in bytes (NaN when the tool does not say).
    pub size_bytes: f64,
    /// How long the newest backup took, where the tool records it.
    pub duration: Option<Duration>,
    pub kept: Option<Kept>,
}

/// Lists `target`'s backups with its tool.
pub async fn list(target: &ToolTarget) -> Result<Listing, String> {
    match target.tool {
        Tool::Restic => restic::list(target).await,
        Tool::Borg => borg::list(target).await,
        Tool::PgBackRest => pgbackrest::list(target).await,
    }
}

/// Verifies `target`'s repository with its tool: `Err` holds the tool's own
/// words when it finds a fault (or cannot run).
pub async fn check(
    target: &ToolTarget,
    cancel: impl std::future::Future<Output = ()> + Send,
) -> Result<(), String> {
    match target.tool {
        Tool::Restic => restic::check(target, cancel).await,
        Tool::Borg => borg::check(target, cancel).await,
        Tool::PgBackRest => pgbackrest::check(target, cancel).await,
    }
}

/// The environment that gives a tool the target's password, and the
/// values to mask.
pub fn password_env(target: &ToolTarget) -> (Vec<(String, String)>, Vec<String>) {
    let Some(secret) = &target.password else {
        return (Vec::new(), Vec::new());
    };
    let var = match target.tool {
        Tool::Restic => "RESTIC_PASSWORD",
        Tool::Borg => "BORG_PASSPHRASE",
        Tool::PgBackRest => "PGBACKREST_REPO1_CIPHER_PASS",
    };
    let value = secret.expose().to_string();
    (vec![(var.to_string(), value.clone())], vec![value])
}

/// The target an action names (its `target` parameter, else its target).
pub fn named<'a>(
    targets: &'a [ToolTarget],
    request: &crate::actions::ActionRequest,
) -> Result<&'a ToolTarget, String> {
    let name = request.parameters.get("target").unwrap_or(&request.target);
    targets
        .iter()
        .find(|t| &t.target == name)
        .ok_or_else(|| format!("no [[backups]] target '{name}' read from a backup tool"))
}

/// A run of `target`'s tool with `args`: its program, its password in the
/// environment (masked wherever shown), its user and its output cap.
pub fn invocation(
    target: &ToolTarget,
    args: impl IntoIterator<Item = std::ffi::OsString>,
    timeout: StdDuration,
) -> run::Invocation {
    let (env, secrets) = password_env(target);
    run::Invocation {
        program: target.program.clone(),
        args: args.into_iter().collect(),
        env,
        timeout,
        max_output: target.max_output,
        secrets,
        user: target.user.clone(),
        ..run::Invocation::default()
    }
}

/// What is known of one target.
#[derive(Debug, Clone, Default)]
struct Known {
    listing: Option<Listing>,
    problem: Option<String>,
    check: Option<CheckResult>,
    /// When a check last passed (the Verified column).
    passed: Option<DateTime<Utc>>,
}

/// The `[[backups]]` targets as one source of the Backups feed.
pub struct ToolSource {
    targets: Arc<Vec<ToolTarget>>,
    known: Arc<Mutex<BTreeMap<String, Known>>>,
    started: std::sync::Once,
    /// How many targets have had their first listing.
    first: Arc<tokio::sync::watch::Sender<usize>>,
    /// Where checks are kept across runs; `None` keeps them in memory.
    store: Option<std::path::PathBuf>,
    /// False for a one-shot reading (`status`): listings only, the checks
    /// as last kept.
    schedule: bool,
}

impl ToolSource {
    pub fn new(
        targets: Vec<ToolTarget>,
        store: Option<std::path::PathBuf>,
        schedule: bool,
    ) -> ToolSource {
        let kept = store.as_deref().map(checks::load).unwrap_or_default();
        let known = targets
            .iter()
            .map(|t| {
                let k = kept.get(&t.target).cloned().unwrap_or_default();
                (
                    t.target.clone(),
                    Known {
                        check: k.last,
                        passed: k.passed,
                        ..Known::default()
                    },
                )
            })
            .collect();
        ToolSource {
            targets: Arc::new(targets),
            known: Arc::new(Mutex::new(known)),
            started: std::sync::Once::new(),
            first: Arc::new(tokio::sync::watch::channel(0).0),
            store,
            schedule,
        }
    }

    /// A task per target: its first listing at once, then, when
    /// scheduled, its listings and checks on its own schedule. Started on
    /// the first fetch, inside the runtime.
    fn start(&self) {
        for target in self.targets.iter().cloned() {
            let known = self.known.clone();
            let store = self.store.clone();
            let first = self.first.clone();
            let schedule = self.schedule;
            tokio::spawn(async move {
                listed(&known, &target, list(&target).await);
                first.send_modify(|n| *n += 1);
                if schedule {
                    keep_up(target, known, store).await;
                }
            });
        }
    }

    fn rows(&self) -> Vec<Backup> {
        let known = self.known.lock().unwrap_or_else(|e| e.into_inner());
        self.targets
            .iter()
            .filter_map(|t| {
                let k = known.get(&t.target).cloned().unwrap_or_default();
                // Not read yet: no row rather than one that says "never".
                if k.listing.is_none() && k.problem.is_none() {
                    return None;
                }
                let l = k.listing.unwrap_or(Listing {
                    size_bytes: f64::NAN,
                    ..Listing::default()
                });
                Some(Backup {
                    service: t.service.clone(),
                    target: t.target.clone(),
                    tier: t.tier,
                    last_success: l.last_success,
                    size_bytes: l.size_bytes,
                    duration: l.duration,
                    last_verified: k.passed,
                    last_drill: None,
                    runs: None,
                    tool: Some(t.tool.name()),
                    kept: l.kept,
                    check: k.check,
                    problem: k.problem,
                })
            })
            .collect()
    }
}

/// Stores a listing's result: a failure keeps the last good listing and
/// says what went wrong.
fn listed(known: &Mutex<BTreeMap<String, Known>>, t: &ToolTarget, result: Result<Listing, String>) {
    let mut known = known.lock().unwrap_or_else(|e| e.into_inner());
    let k = known.entry(t.target.clone()).or_default();
    match result {
        Ok(listing) => {
            k.listing = Some(listing);
            k.problem = None;
        }
        Err(problem) => k.problem = Some(problem),
    }
}

/// Lists and verifies one target for as long as the program runs: a check
/// when due (right after the first listing if it was never checked), never
/// at the same time as a listing of the same repository.
async fn keep_up(
    t: ToolTarget,
    known: Arc<Mutex<BTreeMap<String, Known>>>,
    store: Option<std::path::PathBuf>,
) {
    let mut next_list = tokio::time::Instant::now() + t.every;
    loop {
        let last_check = {
            let known = known.lock().unwrap_or_else(|e| e.into_inner());
            known
                .get(&t.target)
                .and_then(|k| k.check.as_ref().map(|c| c.at))
        };
        let now = Utc::now();
        let due = last_check.map_or(now, |at| {
            at + Duration::from_std(t.verify_every).unwrap_or(Duration::days(1))
        });
        let readable = {
            let known = known.lock().unwrap_or_else(|e| e.into_inner());
            known.get(&t.target).is_some_and(|k| k.problem.is_none())
        };
        // A repository that cannot be read now (locked, a wrong password)
        // is not checked: its check would fail for the same reason, which
        // says nothing of the backups. It is checked after a good listing.
        if due <= now && readable {
            let result = check(&t, std::future::pending()).await;
            // A check that failed because the repository could not be read
            // at all (the listing after it fails too) is a problem, not a
            // finding.
            if result.is_err()
                && let Err(problem) = list(&t).await
            {
                listed(&known, &t, Err(problem));
                next_list = tokio::time::Instant::now() + t.every;
                continue;
            }
            remember(&known, &t, result, store.as_deref());
            continue;
        }
        let until_check = (due - now).to_std().unwrap_or(StdDuration::ZERO);
        let wake = if readable {
            next_list.min(tokio::time::Instant::now() + until_check)
        } else {
            next_list
        };
        tokio::time::sleep_until(wake).await;
        if tokio::time::Instant::now() >= next_list {
            listed(&known, &t, list(&t).await);
            next_list = tokio::time::Instant::now() + t.every;
        }
    }
}

/// Keeps a check's result, in memory and in the store.
fn remember(
    known: &Mutex<BTreeMap<String, Known>>,
    t: &ToolTarget,
    result: Result<(), String>,
    store: Option<&std::path::Path>,
) {
    let at = Utc::now();
    let record = CheckResult {
        at,
        passed: result.is_ok(),
        words: result.err().unwrap_or_default(),
    };
    let mut known = known.lock().unwrap_or_else(|e| e.into_inner());
    let k = known.entry(t.target.clone()).or_default();
    if record.passed {
        k.passed = Some(at);
    }
    k.check = Some(record);
    let all: BTreeMap<String, checks::Kept> = known
        .iter()
        .map(|(name, k)| {
            let kept = checks::Kept {
                last: k.check.clone(),
                passed: k.passed,
            };
            (name.clone(), kept)
        })
        .collect();
    drop(known);
    if let Some(path) = store {
        checks::save(path, &all);
    }
}

#[async_trait]
impl MetricsSource for ToolSource {
    fn name(&self) -> &str {
        "backup tools"
    }

    fn feeds(&self) -> &'static [Feed] {
        &[Feed::Backups]
    }

    async fn health(&self, _now: DateTime<Utc>) -> Fetch<HealthReading> {
        Err(super::SourceError::Failed(
            "backup tools give no health".into(),
        ))
    }

    async fn deployments(&self, _now: DateTime<Utc>) -> Fetch<Vec<Deployment>> {
        Err(super::SourceError::Failed(
            "backup tools give no deployments".into(),
        ))
    }

    /// What the last runs said. The first fetch waits for the first
    /// listings: a moment on screen (the rest come on later fetches), all
    /// of them (each within its timeout) for a one-shot reading.
    async fn backups(&self, _now: DateTime<Utc>) -> Fetch<Vec<Backup>> {
        self.started.call_once(|| self.start());
        let all = self.targets.len();
        let wait = if self.schedule {
            StdDuration::from_secs(2)
        } else {
            self.targets
                .iter()
                .map(|t| t.timeout)
                .max()
                .unwrap_or_default()
                + StdDuration::from_secs(1)
        };
        let mut rx = self.first.subscribe();
        let _ = tokio::time::timeout(wait, rx.wait_for(|n| *n >= all)).await;
        let pending = all - (*rx.borrow()).min(all);
        let mut fetched = Fetched::clean(self.rows());
        if pending > 0 {
            fetched.warnings.push(format!(
                "{pending} backup target{} still being read",
                if pending == 1 { "" } else { "s" }
            ));
        }
        Ok(fetched)
    }

    async fn incident_history(
        &self,
        _now: DateTime<Utc>,
        _window: Duration,
    ) -> Fetch<Vec<ResolvedIncident>> {
        Err(super::SourceError::Failed(
            "backup tools give no incident history".into(),
        ))
    }
}
