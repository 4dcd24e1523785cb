//! restic: the snapshots a repository keeps (`restic snapshots --json`),
//! the newest one's restore size (`restic stats --json <id>`), and the
//! repository's verification (`restic check`).

use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, Utc};
use serde::Deserialize;

use super::Listing;
use super::run::{Output, RunError};
use crate::config::backups::ToolTarget;
use crate::domain::Kept;

/// One snapshot, as `restic snapshots --json` gives it.
#[derive(Debug, Clone, Deserialize)]
struct Snapshot {
    /// When the backup started (restic's snapshot time, with its zone).
    time: DateTime<Utc>,
    id: String,
    /// Recorded by restic 0.17 and later only.
    #[serde(default)]
    summary: Option<Summary>,
}

#[derive(Debug, Clone, Deserialize)]
struct Summary {
    backup_start: DateTime<Utc>,
    backup_end: DateTime<Utc>,
}

/// `restic stats --json` (restore size, the default mode).
#[derive(Debug, Clone, Deserialize)]
struct Stats {
    total_size: u64,
}

pub async fn list(target: &ToolTarget) -> Result<Listing, String> {
    let out = run(
        target,
        &["--json", "snapshots"],
        target.timeout,
        no_cancel(),
    )
    .await?;
    let snapshots = snapshots(&out.stdout)?;
    let size = match newest(&snapshots) {
        Some(newest) => {
            let args = ["--json", "stats", newest.id.as_str()];
            let out = run(target, &args, target.timeout, no_cancel()).await?;
            restore_size(&out.stdout)? as f64
        }
        None => f64::NAN,
    };
    Ok(listing(&snapshots, size))
}

/// `restic check`: exit 0 passes; otherwise what restic said.
pub async fn check(
    target: &ToolTarget,
    cancel: impl std::future::Future<Output = ()> + Send,
) -> Result<(), String> {
    run(target, &["check"], target.check_timeout, cancel)
        .await
        .map(drop)
}

fn no_cancel() -> std::future::Pending<()> {
    std::future::pending()
}

/// Runs `restic -r REPO <args>`; a run that fails is said as its fault.
async fn run(
    target: &ToolTarget,
    args: &[&str],
    timeout: StdDuration,
    cancel: impl std::future::Future<Output = ()> + Send,
) -> Result<Output, String> {
    let repository = target.repository.clone().unwrap_or_default();
    let argv = ["-r", repository.as_str()]
        .into_iter()
        .chain(args.iter().copied());
    let invocation = super::invocation(target, argv.map(Into::into), timeout);
    let out = invocation
        .run_until(cancel)
        .await
        .map_err(|e: RunError| format!("restic: {e}"))?;
    if out.success() {
        Ok(out)
    } else {
        Err(fault(&repository, &out))
    }
}

/// The snapshots listed, oldest first or not.
fn snapshots(stdout: &[u8]) -> Result<Vec<Snapshot>, String> {
    serde_json::from_slice(stdout).map_err(|e| format!("restic snapshots: answer is not JSON: {e}"))
}

fn restore_size(stdout: &[u8]) -> Result<u64, String> {
    serde_json::from_slice::<Stats>(stdout)
        .map(|s| s.total_size)
        .map_err(|e| format!("restic stats: answer is not JSON: {e}"))
}

fn newest(snapshots: &[Snapshot]) -> Option<&Snapshot> {
    snapshots.iter().max_by_key(|s| s.time)
}

/// What the snapshots say: the newest is the last good backup (it finished
/// at `backup_end` where restic records it, else it is known by its start);
/// the oldest is the oldest point a restore can go back to.
fn listing(snapshots: &[Snapshot], size_bytes: f64) -> Listing {
    let newest = newest(snapshots);
    let summary = newest.and_then(|s| s.summary.as_ref());
    Listing {
        last_success: newest.map(|s| summary.map_or(s.time, |m| m.backup_end)),
        size_bytes,
        duration: summary
            .map(|m| m.backup_end - m.backup_start)
            .filter(|d| *d >= Duration::zero()),
        kept: Some(Kept {
            count: snapshots.len() as u64,
            oldest: snapshots.iter().map(|s| s.time).min(),
        }),
    }
}

/// A failed run in the operator's words: the faults restic names (by its
/// words, or by the exit codes of restic 0.17+: 10 no repository, 11
/// locked, 12 wrong password), else its own last words.
fn fault(repository: &str, out: &Output) -> String {
    let stderr = &out.stderr;
    if let Some(at) = stderr.find("repository is already locked") {
        let line = stderr[at..].lines().next().unwrap_or_default();
        return format!("restic: {}", line.trim());
    }
    if stderr.contains("wrong password") || out.code == Some(12) {
        return "restic: wrong password or no key found".into();
    }
    if stderr.contains("an empty password is not a password") {
        return "restic: no password given (password_file or password_env)".into();
    }
    if stderr.contains("unable to open config file")
        || stderr.contains("Is there a repository at the following location?")
        || out.code == Some(10)
    {
        return format!("restic: no repository at {repository}");
    }
    if out.code == Some(11) {
        return "restic: repository is already locked".into();
    }
    format!("restic: {}", out.words())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `restic 0.14.0 --json snapshots` after two backups (hashes cut).
    const TWO_SNAPSHOTS: &str = r#"[
        {"time":"2026-12-07T15:22:13.897381557Z","tree":"1a45e5c9","paths":["/tmp/exp/data"],
         "hostname":"vm","username":"root","id":"1abfeea4e97f2ed0","short_id":"1abfeea4"},
        {"time":"2026-12-07T15:28:07.391179643Z","parent":"1abfeea4e97f2ed0","tree":"1a45e5c9",
         "paths":["/tmp/exp/data"],"hostname":"vm","username":"root","id":"c46e26e272710ba1",
         "short_id":"c46e26e2"}]"#;

    /// A snapshot as restic 0.17 writes it (with `summary`; times with a
    /// zone other than UTC), from restic's documentation of the format.
    const WITH_SUMMARY: &str = r#"[{"time":"2026-12-07T16:00:00.5+01:00","tree":"aa","paths":["/srv"],
        "hostname":"vm","username":"root","id":"d00d","short_id":"d00d","program_version":"restic 0.17.0",
        "summary":{"backup_start":"2026-12-07T16:00:00.5+01:00","backup_end":"2026-12-07T16:00:42.75+01:00",
        "files_new":6,"total_files_processed":6,"total_bytes_processed":73728}}]"#;

    /// `restic 0.14.0 --json stats latest`.
    const STATS: &str = r#"{"total_size":3000,"total_file_count":3,"snapshots_count":1}"#;

    fn at(text: &str) -> DateTime<Utc> {
        text.parse().unwrap()
    }

    fn failed(code: i32, stderr: &str) -> Output {
        Output {
            code: Some(code),
            stdout: Vec::new(),
            stderr: stderr.into(),
        }
    }

    #[test]
    fn the_newest_snapshot_is_the_last_good_backup_and_all_are_counted() {
        let snaps = snapshots(TWO_SNAPSHOTS.as_bytes()).unwrap();
        assert_eq!(newest(&snaps).unwrap().id, "c46e26e272710ba1");
        let l = listing(&snaps, 3000.0);
        assert_eq!(l.last_success, Some(at("2026-12-07T15:28:07.391179643Z")));
        assert_eq!(l.size_bytes, 3000.0);
        // restic 0.14 records no duration.
        assert_eq!(l.duration, None);
        let kept = l.kept.unwrap();
        assert_eq!(kept.count, 2);
        assert_eq!(kept.oldest, Some(at("2026-12-07T15:22:13.897381557Z")));
    }

    #[test]
    fn a_recorded_summary_gives_the_end_and_the_duration() {
        let snaps = snapshots(WITH_SUMMARY.as_bytes()).unwrap();
        let l = listing(&snaps, f64::NAN);
        assert_eq!(l.last_success, Some(at("2026-12-07T15:00:42.75Z")));
        assert_eq!(l.duration, Some(Duration::milliseconds(42_250)));
        assert_eq!(l.kept.unwrap().oldest, Some(at("2026-12-07T15:00:00.5Z")));
    }

    #[test]
    fn an_empty_repository_has_no_last_backup_and_keeps_none() {
        let l = listing(&snapshots(b"[]").unwrap(), f64::NAN);
        assert_eq!(l.last_success, None);
        assert_eq!(l.kept.unwrap().count, 0);
    }

    #[test]
    fn the_restore_size_is_read_and_unreadable_answers_say_so() {
        assert_eq!(restore_size(STATS.as_bytes()), Ok(3000));
        let err = snapshots(b"Fatal: boom").unwrap_err();
        assert!(
            err.starts_with("restic snapshots: answer is not JSON: "),
            "{err}"
        );
        let err = restore_size(b"[]").unwrap_err();
        assert!(
            err.starts_with("restic stats: answer is not JSON: "),
            "{err}"
        );
    }

    #[test]
    fn faults_are_said_from_restics_own_words() {
        // Each captured from restic 0.14.0 here.
        let locked = "unable to create lock in backend: repository is already locked exclusively \
            by PID 16158 on vm by root (UID 0, GID 0)\nlock was created at 2026-12-07 15:22:17 \
            (1.018416883s ago)\nstorage ID 664d79d7\nthe `unlock` command can be used to remove \
            stale locks";
        assert_eq!(
            fault("/r", &failed(1, locked)),
            "restic: repository is already locked exclusively by PID 16158 on vm by root \
             (UID 0, GID 0)"
        );
        let wrong = "Fatal: wrong password or no key found";
        assert_eq!(
            fault("/r", &failed(1, wrong)),
            "restic: wrong password or no key found"
        );
        let missing = "Fatal: unable to open config file: stat /r/config: no such file or \
            directory\nIs there a repository at the following location?\n/r";
        assert_eq!(
            fault("/r", &failed(1, missing)),
            "restic: no repository at /r"
        );
        let empty = "Fatal: an empty password is not a password";
        assert_eq!(
            fault("/r", &failed(1, empty)),
            "restic: no password given (password_file or password_env)"
        );
        // restic 0.17's exit codes, whatever the words.
        assert_eq!(fault("/r", &failed(10, "")), "restic: no repository at /r");
        assert_eq!(
            fault("/r", &failed(12, "")),
            "restic: wrong password or no key found"
        );
        let corrupt = "pack 1c5839d4: unexpected file size: got 100, expected 3203\n\
            Fatal: repository contains errors";
        assert_eq!(
            fault("/r", &failed(1, corrupt)),
            "restic: pack 1c5839d4: unexpected file size: got 100, expected 3203 · \
             Fatal: repository contains errors"
        );
    }
}
