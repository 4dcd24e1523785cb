//! The built-in DR drills against the real tools (restic, Borg, pgBackRest
//! with PostgreSQL 15) and repositories the tests make: a known backup
//! restored and verified with its RTO measured, a tampered one or a
//! failing check query failing, and every ending — success, failure,
//! cancel mid-restore or with PostgreSQL up, timeout, the run dropped —
//! leaving no scratch directory and no process behind.

#[path = "support/backup_tools.rs"]
mod backup_tools;

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use backup_tools::*;
use opsdeck::actions::drill::DrillRunner;
use opsdeck::actions::{ActionOutcome, ActionRequest, ActionRunner, Backend};
use opsdeck::config::backups::ToolTarget;
use tokio::sync::{mpsc, oneshot};

/// A private parent for a test's scratch directories, which the drill's
/// user (postgres, when the tests are root) can reach.
fn scratch_parent() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    dir
}

fn request(target: &ToolTarget) -> ActionRequest {
    ActionRequest {
        action: "dr_drill".into(),
        target: target.target.clone(),
        environment: "production".into(),
        parameters: BTreeMap::from([
            ("target".to_string(), target.target.clone()),
            ("tier".to_string(), "gold".to_string()),
            ("tool".to_string(), target.tool.name().to_string()),
        ]),
        backend: Backend::Drill,
        timeout: chrono::Duration::minutes(2),
    }
}

/// A drill run: how it ended, each output line with when it came (from
/// the start), and the whole run's wall time.
struct Ran {
    outcome: ActionOutcome,
    lines: Vec<(Duration, String)>,
    wall: Duration,
}

impl Ran {
    fn said(&self, start: &str) -> Option<&str> {
        self.lines
            .iter()
            .map(|(_, l)| l.as_str())
            .find(|l| l.starts_with(start))
    }

    fn text(&self) -> String {
        let lines: Vec<&str> = self.lines.iter().map(|(_, l)| l.as_str()).collect();
        format!("{:?}\n{}", self.outcome, lines.join("\n"))
    }

    /// The measured RTO, which must be within a second of the wall time
    /// less the cleanup (the time after the RTO line was said).
    fn assert_rto(&self) -> Duration {
        let ActionOutcome::Verified { rto, .. } = &self.outcome else {
            panic!("not verified: {}", self.text());
        };
        let said = self
            .lines
            .iter()
            .find(|(_, l)| l.starts_with("RTO "))
            .map(|(at, _)| *at)
            .expect("no RTO line");
        let cleanup = self.wall - said;
        let measured = self.wall - cleanup;
        assert!(
            rto.abs_diff(measured) < Duration::from_secs(1),
            "RTO {rto:?}, wall {:?} less cleanup {cleanup:?}",
            self.wall
        );
        assert!(*rto <= self.wall);
        *rto
    }
}

/// Runs the drill of `target`; sends cancel when a line starting with
/// `cancel_on` is said.
async fn drill(target: &ToolTarget, cancel_on: Option<&str>) -> Ran {
    let runner = DrillRunner {
        targets: vec![target.clone()],
    };
    let request = request(target);
    let (tx, mut rx) = mpsc::unbounded_channel();
    let (cancel_tx, cancel_rx) = oneshot::channel();
    let started = Instant::now();
    let run = tokio::spawn(async move { runner.run(request, tx, cancel_rx).await });
    let mut cancel_tx = Some(cancel_tx);
    let mut lines = Vec::new();
    while let Some(line) = rx.recv().await {
        let at = started.elapsed();
        eprintln!("[{:>6.2} s] {line}", at.as_secs_f64());
        if cancel_on.is_some_and(|c| line.starts_with(c))
            && let Some(cancel) = cancel_tx.take()
        {
            let _ = cancel.send(());
        }
        lines.push((at, line));
    }
    let outcome = run.await.unwrap();
    let wall = started.elapsed();
    drop(cancel_tx);
    Ran {
        outcome,
        lines,
        wall,
    }
}

/// Live processes whose working directory is under `path` or whose
/// command line names it (zombies have neither).
fn processes_on(path: &Path) -> Vec<String> {
    let needle = path.display().to_string();
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter(|e| {
            e.file_name()
                .to_str()
                .is_some_and(|n| n.parse::<u32>().is_ok())
        })
        .filter_map(|e| {
            let proc = e.path();
            let cwd = std::fs::read_link(proc.join("cwd")).unwrap_or_default();
            let cmdline = std::fs::read(proc.join("cmdline")).unwrap_or_default();
            let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
            (cwd.starts_with(path) || cmdline.contains(&needle))
                .then(|| format!("{}: {cmdline}", e.file_name().to_string_lossy()))
        })
        .collect()
}

/// Nothing left of the drill: no scratch directory, no process.
fn assert_nothing_left(parent: &Path) {
    let left: Vec<PathBuf> = std::fs::read_dir(parent)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert!(left.is_empty(), "left behind: {left:?}");
    let running = processes_on(parent);
    assert!(running.is_empty(), "still running: {running:?}");
}

fn in_scratch(mut target: ToolTarget, parent: &Path) -> ToolTarget {
    target.drill.scratch = parent.to_path_buf();
    target
}

/// Flips bytes inside the largest pack of a restic repository (file data):
/// restic's MAC refuses it at once. (Truncating one, as `corrupt` does,
/// makes restic retry its reads for some 45 s before it gives up.)
fn tamper(repo: &ResticRepo) {
    let mut packs: Vec<PathBuf> = Vec::new();
    let mut dirs = vec![repo.repository.join("data")];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(dir).unwrap().flatten() {
            match entry.file_type().unwrap().is_dir() {
                true => dirs.push(entry.path()),
                false => packs.push(entry.path()),
            }
        }
    }
    let pack = packs
        .into_iter()
        .max_by_key(|p| p.metadata().unwrap().len())
        .unwrap();
    let mut bytes = std::fs::read(&pack).unwrap();
    bytes[100..132].iter_mut().for_each(|b| *b ^= 0xA5);
    std::fs::write(&pack, bytes).unwrap();
}

fn thousands(n: u64) -> String {
    opsdeck::config::limits::thousands(n)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restic_drill_restores_verifies_and_measures_its_rto() {
    let repo = ResticRepo::with_backup();
    let parent = scratch_parent();
    let ran = drill(&in_scratch(repo.target("files"), parent.path()), None).await;
    let rto = ran.assert_rto();
    let short = &repo.taken[0].name[..8];
    let restoring = ran
        .said("restoring restic snapshot")
        .expect("no restoring line");
    assert!(restoring.contains(short), "{}", ran.text());
    assert!(ran.said("restored ").is_some(), "{}", ran.text());
    assert!(
        ran.said("restic --verify: finished verifying 6 files")
            .is_some(),
        "{}",
        ran.text()
    );
    let verified = ran.said("verified: ").expect("no verified line");
    assert!(
        verified.ends_with(&format!(
            "files and directories, {} bytes match the snapshot",
            thousands(FILES * FILE_BYTES)
        )),
        "{verified}"
    );
    assert_eq!(
        ran.said("removed the scratch directory"),
        Some("removed the scratch directory")
    );
    assert!(
        ran.outcome
            .detail()
            .starts_with("restored and verified in ")
    );
    eprintln!("restic drill: RTO {rto:?}, wall {:?}", ran.wall);
    assert_nothing_left(parent.path());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_borg_drill_restores_verifies_and_measures_its_rto() {
    let repo = BorgRepo::with_backup();
    let parent = scratch_parent();
    let ran = drill(&in_scratch(repo.target("files"), parent.path()), None).await;
    let rto = ran.assert_rto();
    assert!(
        ran.said("restoring borg archive backup-1 of").is_some(),
        "{}",
        ran.text()
    );
    assert_eq!(
        ran.said("verified: "),
        Some(
            format!(
                "verified: 6 files, {} bytes match the archive",
                thousands(FILES * FILE_BYTES)
            )
            .as_str()
        )
    );
    assert!(
        ran.outcome
            .detail()
            .contains("borg archive backup-1, 6 files")
    );
    eprintln!("borg drill: RTO {rto:?}, wall {:?}", ran.wall);
    assert_nothing_left(parent.path());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pgbackrest_drill_restores_starts_queries_and_measures_its_rto() {
    let pg = PgCluster::new();
    let parent = scratch_parent();
    let mut target = in_scratch(pg.target("db"), parent.path());
    target.drill.check_query = "select * from drill_rows".into();
    let ran = drill(&target, None).await;
    let rto = ran.assert_rto();
    let label = &pg.taken[0].name;
    assert!(
        ran.said(&format!(
            "restoring pgBackRest backup {label} of stanza main"
        ))
        .is_some(),
        "{}",
        ran.text()
    );
    assert!(
        ran.said("restored ").is_some_and(
            |l| l.ends_with("pgBackRest checked each file's checksum against the manifest")
        ),
        "{}",
        ran.text()
    );
    assert!(
        ran.said("PostgreSQL up on 127.0.0.1:").is_some(),
        "{}",
        ran.text()
    );
    assert_eq!(
        ran.said("check query answered"),
        Some(format!("check query answered {ROWS} rows").as_str())
    );
    assert_eq!(ran.said("stopped PostgreSQL"), Some("stopped PostgreSQL"));
    eprintln!("pgbackrest drill: RTO {rto:?}, wall {:?}", ran.wall);
    assert_nothing_left(parent.path());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tampered_restic_or_borg_repository_fails_its_drill() {
    let restic = ResticRepo::with_backup();
    tamper(&restic);
    let borg = BorgRepo::with_backup();
    borg.corrupt();
    let parent = scratch_parent();
    // In the tools' own words: their checks refused the data.
    let cases = [
        (
            restic.target("files"),
            "restic restore failed: ignoring error for ",
            ": ciphertext verification failed … Fatal: There were",
        ),
        (
            borg.target("archive"),
            "borg extract failed: Data integrity error: ",
            "Segment entry checksum mismatch",
        ),
    ];
    for (target, starts, says) in cases {
        let ran = drill(&in_scratch(target, parent.path()), None).await;
        let ActionOutcome::Failed { detail } = &ran.outcome else {
            panic!("did not fail: {}", ran.text());
        };
        assert!(
            detail.starts_with(starts) && detail.contains(says),
            "{detail}"
        );
        assert!(ran.said("RTO").is_none());
        assert_nothing_left(parent.path());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pgbackrest_drill_fails_on_a_failing_check_query_or_a_bad_checksum() {
    let pg = PgCluster::new();
    let parent = scratch_parent();
    let mut target = in_scratch(pg.target("db"), parent.path());
    target.drill.check_query = "select * from missing_table".into();
    let ran = drill(&target, None).await;
    assert!(ran.said("PostgreSQL up on").is_some(), "{}", ran.text());
    match &ran.outcome {
        ActionOutcome::Failed { detail } => assert!(
            detail.starts_with(
                "the check query failed: ERROR:  relation \"missing_table\" does not exist"
            ),
            "{detail}"
        ),
        other => panic!("{other:?}"),
    }
    assert_nothing_left(parent.path());

    // A file of the backup changed: pgBackRest's checksum refuses it. (It
    // retries a failed file twice, 15 s apart, by default: not here.)
    pg.corrupt();
    let mut config = std::fs::OpenOptions::new()
        .append(true)
        .open(&pg.config)
        .unwrap();
    std::io::Write::write_all(&mut config, b"job-retry=0\n").unwrap();
    target.drill.check_query = "select 1".into();
    let ran = drill(&target, None).await;
    match &ran.outcome {
        ActionOutcome::Failed { detail } => assert!(
            detail.starts_with("pgbackrest restore failed: ") && detail.contains("checksum"),
            "{detail}"
        ),
        other => panic!("{other:?}"),
    }
    assert!(ran.said("PostgreSQL up").is_none());
    assert_nothing_left(parent.path());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restic_or_borg_drill_cancelled_mid_restore_leaves_nothing_behind() {
    let restic = ResticRepo::with_backup();
    let borg = BorgRepo::with_backup();
    let parent = scratch_parent();
    for target in [restic.target("files"), borg.target("archive")] {
        let ran = drill(&in_scratch(target, parent.path()), Some("restoring ")).await;
        assert_eq!(ran.outcome, ActionOutcome::Cancelled, "{}", ran.text());
        // Cancelled during the restore: nothing restored was said.
        assert!(ran.said("restored ").is_none(), "{}", ran.text());
        assert_nothing_left(parent.path());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pgbackrest_drill_cancelled_timed_out_or_dropped_leaves_nothing_behind() {
    let pg = PgCluster::new();
    let parent = scratch_parent();
    let mut target = in_scratch(pg.target("db"), parent.path());
    // A check query that would answer only after a minute.
    target.drill.check_query = "select pg_sleep(60), 1".into();

    let ran = drill(&target, Some("restoring ")).await;
    assert_eq!(ran.outcome, ActionOutcome::Cancelled, "{}", ran.text());
    assert!(ran.said("restored ").is_none(), "{}", ran.text());
    assert_nothing_left(parent.path());

    let ran = drill(&target, Some("PostgreSQL up")).await;
    assert_eq!(ran.outcome, ActionOutcome::Cancelled, "{}", ran.text());
    assert_eq!(ran.said("stopped PostgreSQL"), Some("stopped PostgreSQL"));
    assert_nothing_left(parent.path());

    // Past its timeout while the check query runs: time enough to come up
    // (twice what it took just now, on a loaded machine too).
    let up = ran
        .lines
        .iter()
        .find(|(_, l)| l.starts_with("PostgreSQL up"))
        .map(|(at, _)| *at)
        .unwrap();
    target.drill.timeout = up * 2 + Duration::from_secs(2);
    let ran = drill(&target, None).await;
    assert_eq!(ran.outcome, ActionOutcome::TimedOut, "{}", ran.text());
    assert!(ran.said("PostgreSQL up").is_some(), "{}", ran.text());
    assert!(ran.wall < target.drill.timeout + Duration::from_secs(10));
    assert_nothing_left(parent.path());

    // The run dropped (the app quitting) while PostgreSQL answers.
    target.drill.timeout = Duration::from_secs(60);
    let runner = DrillRunner {
        targets: vec![target.clone()],
    };
    let (tx, mut rx) = mpsc::unbounded_channel();
    let (_cancel, cancel) = oneshot::channel();
    let request = request(&target);
    let run = tokio::spawn(async move { runner.run(request, tx, cancel).await });
    while let Some(line) = rx.recv().await {
        if line.starts_with("PostgreSQL up") {
            break;
        }
    }
    assert!(
        !processes_on(parent.path()).is_empty(),
        "PostgreSQL is not running in the scratch"
    );
    run.abort();
    assert!(run.await.unwrap_err().is_cancelled());
    assert_nothing_left(parent.path());
}
