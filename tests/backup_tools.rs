//! `[[backups]]` tool targets against the real tools (restic, Borg,
//! pgBackRest with PostgreSQL 15): what a listing reads from repositories
//! made by the tests, what a check finds in a corrupted one, and each
//! fault — wrong password, lock, missing repository, missing or hanging
//! tool, unreadable answer — said in its own words, never with the password.

#[path = "support/backup_tools.rs"]
mod backup_tools;

use std::path::Path;
use std::time::{Duration as StdDuration, Instant};

use backup_tools::*;
use chrono::{DateTime, DurationRound, TimeDelta, Utc};
use opsdeck::config::backups::{Tool, ToolTarget};
use opsdeck::config::file::Secret;
use opsdeck::sources::MetricsSource;
use opsdeck::sources::tools::{ToolSource, check, list};

/// `t` lies within the second `taken` began and its end (tools that record
/// whole seconds write the second the backup began or ended).
fn assert_within(t: Option<DateTime<Utc>>, taken: &Taken) {
    let t = t.expect("no time read");
    let from = taken.started.duration_trunc(TimeDelta::seconds(1)).unwrap();
    assert!(
        from <= t && t <= taken.finished,
        "{t} is not within {from} ..= {}",
        taken.finished
    );
}

/// A script standing in for a tool, in `dir`.
fn script(dir: &Path, name: &str, body: &str) -> std::path::PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let path = dir.join(name);
    std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path
}

/// restic 0.17 and later record a snapshot's start and end.
fn restic_records_durations() -> bool {
    let out = std::process::Command::new("restic")
        .arg("version")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let version = text.split_whitespace().nth(1).unwrap_or_default();
    let mut parts = version.split('.').map(|p| p.parse::<u32>().unwrap_or(0));
    let (major, minor) = (parts.next().unwrap_or(0), parts.next().unwrap_or(0));
    (major, minor) >= (0, 17)
}

#[tokio::test]
async fn restic_gives_the_newest_snapshot_its_restore_size_and_what_it_keeps() {
    let mut repo = ResticRepo::new();
    let first = repo.backup();
    let second = repo.backup();
    let l = list(&repo.target("files")).await.unwrap();
    assert_within(l.last_success, &second);
    assert_eq!(l.size_bytes, repo.dataset.bytes as f64);
    let kept = l.kept.unwrap();
    assert_eq!(kept.count, 2);
    assert_within(kept.oldest, &first);
    if restic_records_durations() {
        let d = l.duration.expect("restic 0.17+ records the duration");
        assert!(d <= second.finished - second.started, "{d}");
    } else {
        assert_eq!(l.duration, None, "restic before 0.17 records no duration");
    }
}

#[tokio::test]
async fn borg_gives_the_newest_archive_its_duration_size_and_what_it_keeps() {
    let mut repo = BorgRepo::new();
    let first = repo.backup();
    let second = repo.backup();
    let l = list(&repo.target("home")).await.unwrap();
    // Borg writes local time without a zone: read as local time, it falls
    // within the backup whatever this machine's zone.
    assert_within(l.last_success, &second);
    assert_eq!(l.size_bytes, repo.dataset.bytes as f64);
    let d = l.duration.expect("Borg records the duration");
    assert!(
        d > TimeDelta::zero() && d <= second.finished - second.started,
        "{d}"
    );
    let kept = l.kept.unwrap();
    assert_eq!(kept.count, 2);
    assert_within(kept.oldest, &first);
}

#[tokio::test]
async fn a_check_passes_on_a_sound_repository_and_fails_on_a_corrupted_one_in_its_words() {
    let restic = ResticRepo::with_backup();
    let borg = BorgRepo::with_backup();
    let (rt, bt) = (restic.target("files"), borg.target("home"));
    assert_eq!(check(&rt, std::future::pending()).await, Ok(()));
    assert_eq!(check(&bt, std::future::pending()).await, Ok(()));
    restic.corrupt();
    borg.corrupt();
    let r = check(&rt, std::future::pending()).await.unwrap_err();
    assert!(r.starts_with("restic: pack "), "{r}");
    assert!(r.contains("unexpected file size"), "{r}");
    assert!(r.contains("Fatal: repository contains errors"), "{r}");
    let b = check(&bt, std::future::pending()).await.unwrap_err();
    assert!(
        b.starts_with("borg: Data integrity error: Segment entry checksum mismatch"),
        "{b}"
    );
    assert!(b.ends_with("errors found."), "{b}");
    // Listings still read what the repository's index says.
    assert_eq!(list(&rt).await.unwrap().kept.unwrap().count, 1);
}

#[tokio::test]
async fn a_wrong_password_is_said_and_never_shown() {
    let restic = ResticRepo::new();
    let borg = BorgRepo::new();
    let wrong = "Wr0ng-Pa55-42";
    let mut rt = restic.target("files");
    rt.password = Some(Secret::new(wrong));
    let mut bt = borg.target("home");
    bt.password = Some(Secret::new(wrong));
    assert_eq!(
        list(&rt).await,
        Err("restic: wrong password or no key found".into())
    );
    assert_eq!(list(&bt).await, Err("borg: wrong passphrase".into()));
    rt.password = None;
    bt.password = None;
    assert_eq!(
        list(&rt).await,
        Err("restic: no password given (password_file or password_env)".into())
    );
    assert_eq!(
        list(&bt).await,
        Err("borg: no passphrase given (password_file or password_env)".into())
    );
}

#[tokio::test]
async fn a_password_a_tool_repeats_is_masked() {
    let dir = tempfile::tempdir().unwrap();
    let mut t = tool_target("files", Tool::Restic);
    t.repository = Some("/srv/restic".into());
    t.password = Some(Secret::new("s3cret-Pw"));
    t.program = script(
        dir.path(),
        "restic",
        "echo \"Fatal: cannot use key $RESTIC_PASSWORD\" >&2; exit 1",
    );
    let err = list(&t).await.unwrap_err();
    assert!(!err.contains("s3cret-Pw"), "{err}");
    assert!(err.starts_with("restic: Fatal: cannot use key "), "{err}");
    // Nor is it on the command line: only in the environment.
    t.program = script(dir.path(), "restic-argv", "echo \"$*\" >&2; exit 1");
    let err = list(&t).await.unwrap_err();
    assert_eq!(err, "restic: -r /srv/restic --json snapshots");
}

#[tokio::test]
async fn a_locked_repository_is_said() {
    let restic = ResticRepo::new();
    let borg = BorgRepo::new();
    let lock = restic.lock();
    let err = list(&restic.target("files")).await.unwrap_err();
    assert!(
        err.starts_with("restic: repository is already locked exclusively by PID "),
        "{err}"
    );
    assert!(!err.contains(&restic.password), "{err}");
    drop(lock);
    let lock = borg.lock();
    let err = list(&borg.target("home")).await.unwrap_err();
    let held = borg.repository.join("lock.exclusive");
    assert_eq!(
        err,
        format!(
            "borg: Failed to create/acquire the lock {} (timeout).",
            held.display()
        )
    );
    drop(lock);
    // Once the lock is given up, the repositories are read again.
    assert!(list(&restic.target("files")).await.is_ok());
    assert!(list(&borg.target("home")).await.is_ok());
}

#[tokio::test]
async fn a_missing_repository_is_said() {
    let dir = tempfile::tempdir().unwrap();
    let none = dir.path().join("none");
    let mut rt = tool_target("files", Tool::Restic);
    rt.repository = Some(none.display().to_string());
    rt.password = Some(Secret::new("pw"));
    assert_eq!(
        list(&rt).await,
        Err(format!("restic: no repository at {}", none.display()))
    );
    let mut bt = tool_target("home", Tool::Borg);
    bt.repository = rt.repository.clone();
    bt.password = Some(Secret::new("pw"));
    assert_eq!(
        list(&bt).await,
        Err(format!(
            "borg: Repository {} does not exist.",
            none.display()
        ))
    );
}

#[tokio::test]
async fn a_missing_tool_is_said() {
    for tool in [Tool::Restic, Tool::Borg, Tool::PgBackRest] {
        let mut t = tool_target("x", tool);
        t.repository = Some("/srv/repo".into());
        t.stanza = Some("main".into());
        t.program = format!("/nonexistent/{}", tool.name()).into();
        let expected = format!(
            "{0}: /nonexistent/{0} is not installed (not found)",
            tool.name()
        );
        assert_eq!(list(&t).await, Err(expected.clone()));
        assert_eq!(check(&t, std::future::pending()).await, Err(expected));
    }
}

#[tokio::test]
async fn a_hanging_tool_is_stopped_at_its_timeout_and_a_check_can_be_cancelled() {
    let dir = tempfile::tempdir().unwrap();
    for tool in [Tool::Restic, Tool::Borg, Tool::PgBackRest] {
        let mut t = tool_target("x", tool);
        t.repository = Some("/srv/repo".into());
        t.stanza = Some("main".into());
        t.program = hanging_tool(dir.path());
        t.timeout = StdDuration::from_millis(300);
        t.check_timeout = StdDuration::from_millis(400);
        let start = Instant::now();
        assert_eq!(
            list(&t).await,
            Err(format!("{}: no answer within 300ms (stopped)", tool.name()))
        );
        assert_eq!(
            check(&t, std::future::pending()).await,
            Err(format!("{}: no answer within 400ms (stopped)", tool.name()))
        );
        t.check_timeout = StdDuration::from_secs(60);
        let cancel = tokio::time::sleep(StdDuration::from_millis(200));
        assert_eq!(
            check(&t, cancel).await,
            Err(format!("{}: cancelled", tool.name()))
        );
        assert!(start.elapsed() < StdDuration::from_secs(5));
    }
}

#[tokio::test]
async fn an_answer_that_is_not_json_is_said() {
    let dir = tempfile::tempdir().unwrap();
    let garbage = script(dir.path(), "garbage", "echo 'Segmentation fault'");
    let cases = [
        (Tool::Restic, "restic snapshots: answer is not JSON: "),
        (Tool::Borg, "borg list: answer is not JSON: "),
        (Tool::PgBackRest, "pgbackrest info: answer is not JSON: "),
    ];
    for (tool, words) in cases {
        let mut t = tool_target("x", tool);
        t.repository = Some("/srv/repo".into());
        t.stanza = Some("main".into());
        t.program = garbage.clone();
        let err = list(&t).await.unwrap_err();
        assert!(err.starts_with(words), "{err}");
    }
}

#[tokio::test]
async fn pgbackrest_reads_the_stanza_verifies_it_and_names_its_faults() {
    let mut pg = PgCluster::new();
    assert_eq!(pg.psql("select count(*) from drill_rows"), ROWS.to_string());
    let second = pg.backup();
    let t = pg.target("orders-pg");
    let l = list(&t).await.unwrap();
    assert_within(l.last_success, &second);
    let d = l.duration.expect("pgBackRest records start and stop");
    assert!(
        d <= second.finished - second.started + TimeDelta::seconds(1),
        "{d}"
    );
    // The database's size: PostgreSQL 15's empty cluster is over 20 MB.
    assert!(
        l.size_bytes > 20e6 && l.size_bytes < 200e6,
        "{}",
        l.size_bytes
    );
    let kept = l.kept.unwrap();
    assert_eq!(kept.count, 2);
    assert_within(kept.oldest, &pg.taken[0]);

    assert_eq!(check(&t, std::future::pending()).await, Ok(()));
    let mut unknown = t.clone();
    unknown.stanza = Some("nope".into());
    assert_eq!(
        list(&unknown).await,
        Err("pgbackrest: unknown stanza 'nope' (missing stanza path)".into())
    );
    let mut no_config = t.clone();
    let missing = pg.dir.path().join("missing.conf");
    no_config.config = Some(missing.clone());
    assert_eq!(
        list(&no_config).await,
        Err(format!(
            "pgbackrest: unable to open missing file '{}' for read",
            missing.display()
        ))
    );
    pg.corrupt();
    let err = check(&t, std::future::pending()).await.unwrap_err();
    assert!(err.starts_with("pgbackrest verify: backup: "), "{err}");
    assert!(err.contains("status: invalid"), "{err}");
    assert!(err.contains("checksum invalid: 1"), "{err}");
}

#[tokio::test]
async fn one_bad_target_leaves_the_others_read() {
    let restic = ResticRepo::with_backup();
    let good = restic.target("files");
    let mut bad: ToolTarget = restic.target("files-wrong-key");
    bad.password = Some(Secret::new("not-it"));
    let source = ToolSource::new(vec![good, bad], None, false);
    let rows = source.backups(Utc::now()).await.unwrap().value;
    assert_eq!(rows.len(), 2, "{rows:?}");
    let good = rows.iter().find(|r| r.target == "files").unwrap();
    assert_eq!(good.problem, None);
    assert_within(good.last_success, &restic.taken[0]);
    assert_eq!(good.size_bytes, restic.dataset.bytes as f64);
    assert_eq!(good.kept.map(|k| k.count), Some(1));
    assert_eq!(good.tool, Some("restic"));
    let bad = rows.iter().find(|r| r.target == "files-wrong-key").unwrap();
    assert_eq!(
        bad.problem.as_deref(),
        Some("restic: wrong password or no key found")
    );
    assert_eq!(bad.last_success, None);
}
