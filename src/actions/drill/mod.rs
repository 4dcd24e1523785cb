//! The built-in DR drill of a `[[backups]]` target: the newest backup
//! restored into a private scratch directory, what came back verified, the
//! scratch stopped and removed, and the time from start to verified
//! returned as the measured RTO.
//!
//! - `scratch`: the scratch directory as a guard: whatever ends the drill
//!   (an answer, a failure, the timeout, cancel, the future dropped), what
//!   runs in it is stopped and it is removed;
//! - `restic`, `borg`, `pgbackrest`: what each tool's drill runs;
//! - `postgres`: a restored cluster started, waited for and queried.

mod borg;
mod pgbackrest;
mod postgres;
mod restic;
mod scratch;

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use tokio::sync::{mpsc, oneshot};

use super::exec::shell_quote;
use super::{ActionOutcome, ActionRequest, ActionRunner};
use crate::config::backups::{Tool, ToolTarget};
use crate::sources::tools::password_env;
use crate::sources::tools::run::{Invocation, Output, RunError};
use scratch::Scratch;

pub struct DrillRunner {
    pub targets: Vec<ToolTarget>,
}

impl DrillRunner {
    /// The target a request names (its `target` parameter, else its target).
    fn target(&self, request: &ActionRequest) -> Result<&ToolTarget, String> {
        crate::sources::tools::named(&self.targets, request)
    }
}

#[async_trait]
impl ActionRunner for DrillRunner {
    fn describe(&self, request: &ActionRequest) -> Result<Vec<String>, String> {
        let target = self.target(request)?;
        let scratch = scratch::pattern(target);
        let mut lines = match target.tool {
            Tool::Restic => restic::plan(target, &scratch),
            Tool::Borg => borg::plan(target, &scratch),
            Tool::PgBackRest => pgbackrest::plan(target, &scratch)?,
        };
        if let Some((var, _)) = password_env(target).0.first() {
            lines.push(format!("the password in {var}, never on a command line"));
        }
        lines.push(format!(
            "then stops what runs there and removes {}, whatever the ending",
            shell_quote(&scratch.display().to_string())
        ));
        lines.push(format!(
            "RTO: from start to verified (the cleanup not counted); stopped after {}",
            humantime::format_duration(timeout(request, target))
        ));
        Ok(lines)
    }

    async fn run(
        &self,
        request: ActionRequest,
        output: mpsc::UnboundedSender<String>,
        cancel: oneshot::Receiver<()>,
    ) -> ActionOutcome {
        let started = Instant::now();
        let target = match self.target(&request) {
            Ok(target) => target,
            Err(detail) => return ActionOutcome::Failed { detail },
        };
        let mut drill = Drill {
            target,
            output,
            cancel: Some(cancel),
            deadline: started + timeout(&request, target),
        };
        let mut scratch = match Scratch::make(target) {
            Ok(scratch) => scratch,
            Err(detail) => return ActionOutcome::Failed { detail },
        };
        let verified = match target.tool {
            Tool::Restic => restic::drill(&mut drill, &scratch).await,
            Tool::Borg => borg::drill(&mut drill, &scratch).await,
            Tool::PgBackRest => pgbackrest::drill(&mut drill, &mut scratch).await,
        };
        let rto = started.elapsed();
        if verified.is_ok() {
            drill.say(format!("RTO {} (start to verified)", seconds(rto)));
        }
        let left = scratch.remove().await;
        match &left {
            Ok(said) => said.iter().for_each(|line| drill.say(line.clone())),
            Err(problem) => drill.say(problem.clone()),
        }
        ending(verified, rto, left.err())
    }
}

/// How the drill ended; a scratch directory that could not be removed is
/// said whatever the ending.
fn ending(verified: Result<String, Stop>, rto: Duration, left: Option<String>) -> ActionOutcome {
    let left = left.map(|p| format!("; {p}")).unwrap_or_default();
    match verified {
        Ok(what) => ActionOutcome::Verified {
            detail: format!("restored and verified in {}: {what}{left}", seconds(rto)),
            rto,
        },
        Err(Stop::Failed(detail)) => ActionOutcome::Failed {
            detail: format!("{detail}{left}"),
        },
        Err(Stop::TimedOut) => ActionOutcome::TimedOut,
        Err(Stop::Cancelled) => ActionOutcome::Cancelled,
    }
}

/// The drill's own timeout, within the action's.
fn timeout(request: &ActionRequest, target: &ToolTarget) -> Duration {
    let action = request.timeout.to_std().unwrap_or_default();
    action.min(target.drill.timeout)
}

/// Why a drill stopped before it verified.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Stop {
    /// A failed restore or verification, in the tool's words.
    Failed(String),
    TimedOut,
    Cancelled,
}

impl Stop {
    fn from_run(what: &str, e: RunError) -> Stop {
        match e {
            RunError::TimedOut(_) => Stop::TimedOut,
            RunError::Cancelled => Stop::Cancelled,
            e => Stop::Failed(format!("{what}: {e}")),
        }
    }
}

/// One drill under way: where it says what it does, its cancel and its
/// deadline, both honoured at every step.
struct Drill<'a> {
    target: &'a ToolTarget,
    output: mpsc::UnboundedSender<String>,
    /// `None` once it has fired (a oneshot is read once).
    cancel: Option<oneshot::Receiver<()>>,
    deadline: Instant,
}

impl Drill<'_> {
    fn say(&self, line: impl Into<String>) {
        let _ = self.output.send(line.into());
    }

    /// Ready when cancel fires or its sender is dropped; at once after that.
    async fn cancelled(&mut self) {
        if let Some(rx) = self.cancel.as_mut() {
            let _ = rx.await;
            self.cancel = None;
        }
    }

    fn remaining(&self) -> Result<Duration, Stop> {
        match self.deadline.checked_duration_since(Instant::now()) {
            Some(left) if !left.is_zero() => Ok(left),
            _ => Err(Stop::TimedOut),
        }
    }

    /// Runs `run` until it ends, the drill's deadline or cancel; a run that
    /// does not exit 0 fails the drill with its words.
    async fn run(&mut self, what: &str, run: Invocation) -> Result<Output, Stop> {
        let out = self.try_run(what, run).await?;
        if out.success() {
            Ok(out)
        } else {
            Err(Stop::Failed(format!("{what} failed: {}", out.words())))
        }
    }

    /// Runs `run` until it ends, the drill's deadline or cancel, whatever
    /// its exit code.
    async fn try_run(&mut self, what: &str, mut run: Invocation) -> Result<Output, Stop> {
        run.timeout = run.timeout.min(self.remaining()?);
        run.run_until(self.cancelled())
            .await
            .map_err(|e| Stop::from_run(what, e))
    }

    /// Waits `pause`, or less to the deadline; cancel ends it.
    async fn pause(&mut self, pause: Duration) -> Result<(), Stop> {
        let pause = pause.min(self.remaining()?);
        tokio::select! {
            biased;
            () = self.cancelled() => Err(Stop::Cancelled),
            () = tokio::time::sleep(pause) => Ok(()),
        }
    }

    /// Walks what was restored under `root` off the runtime's threads,
    /// given up at the deadline or on cancel.
    async fn walk(&mut self, root: &Path) -> Result<Tree, Stop> {
        let left = self.remaining()?;
        let dir = root.to_path_buf();
        let task = tokio::task::spawn_blocking(move || walk(&dir));
        let walked = tokio::select! {
            biased;
            () = self.cancelled() => return Err(Stop::Cancelled),
            done = tokio::time::timeout(left, task) => match done {
                Ok(Ok(walked)) => walked,
                Ok(Err(e)) => Err(std::io::Error::other(e)),
                Err(_) => return Err(Stop::TimedOut),
            },
        };
        walked.map_err(|e| {
            Stop::Failed(format!(
                "cannot read what was restored in {}: {e}",
                root.display()
            ))
        })
    }
}

/// A tool's JSON answer read as `T`.
fn json<T: serde::de::DeserializeOwned>(what: &str, stdout: &[u8]) -> Result<T, Stop> {
    serde_json::from_slice(stdout)
        .map_err(|e| Stop::Failed(format!("{what}: unreadable answer: {e}")))
}

/// The target's tool with `args`: its password in its environment, as its
/// user.
fn tool(target: &ToolTarget, args: Vec<OsString>) -> Invocation {
    // The drill's deadline shortens it.
    crate::sources::tools::invocation(target, args, Duration::MAX)
}

/// What a drill learns only as it runs, shown in its place.
const PLACEHOLDERS: [&str; 4] = ["<snapshot>", "<archive>", "<backup>", "<port>"];

/// A run as the confirmation shows it: shell-quoted, secrets masked (none
/// should be there), `<placeholder>`s as they are, and who it runs as.
fn shown(run: &Invocation) -> String {
    let word = |a: &std::ffi::OsStr| {
        let mut text = run.mask(&a.to_string_lossy());
        for (i, hole) in PLACEHOLDERS.iter().enumerate() {
            text = text.replace(hole, &format!("OPSDECKHOLE{i}Z"));
        }
        let mut quoted = shell_quote(&text);
        for (i, hole) in PLACEHOLDERS.iter().enumerate() {
            quoted = quoted.replace(&format!("OPSDECKHOLE{i}Z"), hole);
        }
        quoted
    };
    let line = std::iter::once(run.program.as_os_str())
        .chain(run.args.iter().map(OsString::as_os_str))
        .map(word)
        .collect::<Vec<_>>()
        .join(" ");
    match &run.user {
        Some(user) => format!("{line}   (as {user})"),
        None => line,
    }
}

/// What a restored tree holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
struct Tree {
    /// Every file, directory, link and special file under the root.
    entries: u64,
    /// Regular files, each inode once (hard links are one file).
    files: u64,
    /// Their bytes, each inode once.
    bytes: u64,
}

/// Walks everything under `root` without following links.
fn walk(root: &Path) -> std::io::Result<Tree> {
    use std::os::unix::fs::MetadataExt;
    let mut tree = Tree::default();
    let mut seen = std::collections::HashSet::new();
    let mut dirs: Vec<PathBuf> = vec![root.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir)? {
            let entry = entry?;
            let meta = entry.path().symlink_metadata()?;
            tree.entries += 1;
            if meta.is_dir() {
                dirs.push(entry.path());
            } else if meta.is_file() && seen.insert((meta.dev(), meta.ino())) {
                tree.files += 1;
                tree.bytes += meta.len();
            }
        }
    }
    Ok(tree)
}

/// A count and a size the way the drill's lines say them.
fn amount(count: u64, noun: &str, bytes: u64) -> String {
    format!(
        "{} {noun}, {}",
        crate::config::limits::thousands(count),
        crate::sources::http::size(bytes)
    )
}

/// `4.2 s`.
fn seconds(d: Duration) -> String {
    format!("{:.1} s", d.as_secs_f64())
}

/// Compares what was walked with what the tool says the backup holds.
fn compare(noun: &str, walked: (u64, u64), expected: (u64, u64), of: &str) -> Result<String, Stop> {
    let thousands = crate::config::limits::thousands;
    if walked == expected {
        return Ok(format!(
            "verified: {} {noun}, {} bytes match {of}",
            thousands(walked.0),
            thousands(walked.1)
        ));
    }
    Err(Stop::Failed(format!(
        "verification failed: restored {} {noun}, {} bytes; {of} holds {} {noun}, {} bytes",
        thousands(walked.0),
        thousands(walked.1),
        thousands(expected.0),
        thousands(expected.1)
    )))
}

fn arg(text: impl Into<OsString>) -> OsString {
    text.into()
}

#[cfg(test)]
mod tests;
