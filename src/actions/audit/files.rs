//! The audit log's files: created readable by their owner only, rotated
//! into generations (`audit.log.1`, `.2`, `.3`) before a line would take
//! the log past `limits.audit_max_bytes`, checked for who else can write
//! them, and read back at start for the DR drills and the runs they record.

use std::collections::{BTreeMap, VecDeque};
use std::fs::{self, DirBuilder, File, OpenOptions};
use std::io;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};

use crate::config::Problem;
use crate::domain::DrillResult;

/// Rotated files kept beside the log: `.1` is the newest.
pub const GENERATIONS: usize = 3;

/// Opens `path` for appending, creating it mode 0600 and its directories
/// 0700 when they do not exist: for the audit log and opsdeck's own log.
/// What exists keeps its mode (`loose_permissions` says when it is wrong).
pub fn open_private(path: &Path) -> io::Result<File> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        DirBuilder::new().recursive(true).mode(0o700).create(dir)?;
    }
    OpenOptions::new()
        .append(true)
        .create(true)
        .mode(0o600)
        .open(path)
}

/// Generation `n` of the log at `path`: `audit.log.1` for 1.
pub fn generation(path: &Path, n: usize) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(format!(".{n}"));
    PathBuf::from(name)
}

/// The log and its generations, oldest first.
pub fn generations(path: &Path) -> Vec<PathBuf> {
    let mut all: Vec<PathBuf> = (1..=GENERATIONS)
        .rev()
        .map(|n| generation(path, n))
        .collect();
    all.push(path.to_path_buf());
    all
}

/// What happened to the log before a line was appended, for the footer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rotation {
    /// The log reached `limit` bytes and is now generation 1.
    Rotated { to: PathBuf, limit: u64 },
    /// It could not be rotated; the line went to the log as it was.
    Failed(String),
}

impl std::fmt::Display for Rotation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Rotation::Rotated { to, limit } => {
                let name = to.file_name().unwrap_or(to.as_os_str()).to_string_lossy();
                write!(
                    f,
                    "audit log rotated ({} reached; earlier lines now in {name})",
                    size(*limit)
                )
            }
            Rotation::Failed(why) => write!(f, "audit log rotation failed: {why}"),
        }
    }
}

/// A size as set: `10 MiB`, `64 KiB`, else in bytes.
fn size(bytes: u64) -> String {
    const KIB: u64 = 1024;
    match bytes {
        b if b.is_multiple_of(KIB * KIB) => format!("{} MiB", b / (KIB * KIB)),
        b if b.is_multiple_of(KIB) => format!("{} KiB", b / KIB),
        b => format!("{} bytes", crate::config::limits::thousands(b)),
    }
}

/// Rotates the log at `path`, open as `file`, when appending `adding`
/// bytes would take it past `limit`; `file` is then the new, empty log.
/// Never stops the line: on failure the line goes where `file` points.
pub(super) fn rotate_if_due(
    path: &Path,
    file: &mut File,
    adding: u64,
    limit: u64,
) -> Option<Rotation> {
    let size = match file.metadata() {
        Ok(meta) => meta.len(),
        Err(e) => return Some(Rotation::Failed(e.to_string())),
    };
    if size == 0 || size + adding <= limit {
        return None;
    }
    match rotate(path, file) {
        Ok(true) => Some(Rotation::Rotated {
            to: generation(path, 1),
            limit,
        }),
        Ok(false) => None,
        Err(e) => Some(Rotation::Failed(e.to_string())),
    }
}

/// Shifts the generations and starts a new log. Another opsdeck may append
/// to the same log: the rotation holds an exclusive lock on the current
/// file, and one that finds the path already names another file (the other
/// rotated first) only opens that one. False in that case. A line written
/// meanwhile through an older descriptor lands, whole, in generation 1.
fn rotate(path: &Path, file: &mut File) -> io::Result<bool> {
    // flock(2) on Unix: the lock goes with the open file, not the path.
    file.lock()?;
    let fresh = shift(path, file);
    let _ = file.unlock();
    let (fresh, rotated) = fresh?;
    *file = fresh;
    Ok(rotated)
}

/// The file to write to from now on, and whether this call rotated.
fn shift(path: &Path, file: &File) -> io::Result<(File, bool)> {
    if !same_file(file, path)? {
        return Ok((open_private(path)?, false));
    }
    for n in (1..GENERATIONS).rev() {
        match fs::rename(generation(path, n), generation(path, n + 1)) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
            _ => {}
        }
    }
    fs::rename(path, generation(path, 1))?;
    let fresh = open_private(path)?;
    // The renames are durable only once the directory is synced.
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        let _ = File::open(dir).and_then(|d| d.sync_all());
    }
    Ok((fresh, true))
}

/// Whether `path` still names the file open as `file`.
fn same_file(file: &File, path: &Path) -> io::Result<bool> {
    let open = file.metadata()?;
    match fs::metadata(path) {
        Ok(named) => Ok(named.dev() == open.dev() && named.ino() == open.ino()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(e),
    }
}

/// The audit log's directory, the log and its generations, where others
/// than the owner can write them: whoever can could rewrite the record,
/// and the DR drills' measured RTOs read back from it. Said, not changed.
pub fn loose_permissions(path: &Path) -> Vec<Problem> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let mut files = vec![dir.to_path_buf()];
    files.extend(generations(path).into_iter().rev());
    files
        .iter()
        .filter_map(|p| Some((p, fs::metadata(p).ok()?.mode() & 0o7777)))
        .filter(|(_, mode)| mode & 0o022 != 0)
        .map(|(p, mode)| {
            let who = match (mode & 0o020 != 0, mode & 0o002 != 0) {
                (true, true) => "its group and others",
                (true, false) => "its group",
                _ => "others",
            };
            let what = if p.as_path() == dir {
                "the audit log's directory"
            } else {
                "the audit log"
            };
            Problem {
                file: p.display().to_string(),
                message: format!(
                    "{what} can be written by {who} (mode {mode:o}), who could rewrite what it records, the DR drills' RTOs included; remove their write permission (chmod go-w)"
                ),
            }
        })
        .collect()
}

/// The DR drills opsdeck ran before, from the audit log and its
/// generations: the latest that succeeded per target, with its measured
/// RTO. Lines that do not parse are skipped; the log is the record, not a
/// configuration.
pub fn drills(path: &Path) -> BTreeMap<String, DrillResult> {
    let mut out = BTreeMap::new();
    for file in generations(path) {
        let text = fs::read_to_string(&file).unwrap_or_default();
        // Only a drill's line is parsed: the rest can be megabytes.
        for line in text.lines().filter(|l| l.contains("\"dr_drill\"")) {
            if let Some((target, drill)) = drill(line) {
                let newer = out
                    .get(&target)
                    .is_none_or(|seen: &DrillResult| seen.at <= drill.at);
                if newer {
                    out.insert(target, drill);
                }
            }
        }
    }
    out
}

/// One run read back from the audit log: its `started` line and, when the
/// log holds it, its `finished` one.
#[derive(Debug, Clone, PartialEq)]
pub struct PastRun {
    pub started: DateTime<Utc>,
    pub user: String,
    pub host: String,
    pub action: String,
    pub target: String,
    pub environment: String,
    /// When it ended, its outcome's word (`succeeded`, `failed`…) and
    /// detail; `None` when no end was recorded (opsdeck stopped, or
    /// another one still runs it).
    pub finished: Option<(DateTime<Utc>, String, String)>,
}

/// The runs the audit log and its generations record, oldest first, the
/// last `keep` of them. A run is its `started` line, matched to the next
/// `finished` line of the same user, host, action, target and
/// environment; a `finished` line whose start was rotated away is a run
/// of its own, started `duration_ms` before. Lines that do not parse are
/// skipped, like `drills`.
pub fn history(path: &Path, keep: usize) -> Vec<PastRun> {
    let mut runs: Vec<PastRun> = Vec::new();
    let mut open: BTreeMap<[String; 5], VecDeque<usize>> = BTreeMap::new();
    for file in generations(path) {
        let text = fs::read_to_string(&file).unwrap_or_default();
        // Only the lines of runs are parsed: the rest can be megabytes.
        let lines = text.lines().filter(|l| {
            l.contains("\"event\":\"started\"") || l.contains("\"event\":\"finished\"")
        });
        for v in lines.filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok()) {
            let Some(run) = past_run(&v) else { continue };
            let key = [
                &run.user,
                &run.host,
                &run.action,
                &run.target,
                &run.environment,
            ]
            .map(|s| s.clone());
            if v["event"] == "started" {
                open.entry(key).or_default().push_back(runs.len());
                runs.push(run);
                continue;
            }
            match open.get_mut(&key).and_then(VecDeque::pop_front) {
                Some(i) => runs[i].finished = run.finished,
                None => runs.push(run),
            }
        }
    }
    runs.sort_by_key(|r| r.started);
    let extra = runs.len().saturating_sub(keep);
    runs.drain(..extra);
    runs
}

/// A run as one `started` or `finished` line says it: a finished line's
/// start is its time less its `duration_ms`.
fn past_run(v: &serde_json::Value) -> Option<PastRun> {
    let text = |k: &str| v[k].as_str().unwrap_or_default().to_string();
    let time = chrono::DateTime::parse_from_rfc3339(v["time"].as_str()?)
        .ok()?
        .with_timezone(&Utc);
    let (started, finished) = if v["event"] == "finished" {
        let took = chrono::Duration::milliseconds(v["duration_ms"].as_i64().unwrap_or(0));
        (time - took, Some((time, text("outcome"), text("detail"))))
    } else {
        (time, None)
    };
    Some(PastRun {
        started,
        user: text("user"),
        host: text("host"),
        action: v["action"].as_str()?.to_string(),
        target: text("target"),
        environment: text("environment"),
        finished,
    })
}

/// A finished DR drill's target and result, from one line of the log.
fn drill(line: &str) -> Option<(String, DrillResult)> {
    let v: serde_json::Value = serde_json::from_str(line).ok()?;
    if v["action"] != "dr_drill" || v["event"] != "finished" {
        return None;
    }
    let at = chrono::DateTime::parse_from_rfc3339(v["time"].as_str()?).ok()?;
    let drill = DrillResult {
        at: at.with_timezone(&Utc),
        measured_rto: Some(chrono::Duration::seconds(v["measured_rto_s"].as_i64()?)),
    };
    Some((v["target"].as_str()?.to_string(), drill))
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;
    use crate::actions::audit::{AuditEvent, AuditLog, Stage, Who};
    use crate::actions::{ActionRequest, Backend};

    fn temp_dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "opsdeck-audit-files-{name}-{}-{}",
            std::process::id(),
            Utc::now().timestamp_nanos_opt().unwrap_or_default()
        ));
        fs::create_dir_all(&dir).unwrap();
        dir
    }

    /// A `finished` line of action `action` on `target`, numbered `n` in
    /// its detail so that order can be checked.
    fn event(action: &str, target: &str, n: usize, at: &str, rto: u64) -> AuditEvent {
        let who = Who {
            user: "alice".into(),
            host: "ops1".into(),
            ssh_client: None,
        };
        let request = ActionRequest {
            action: action.into(),
            target: target.into(),
            environment: "production".into(),
            parameters: BTreeMap::new(),
            backend: Backend::Demo,
            timeout: chrono::Duration::seconds(10),
        };
        let time = chrono::DateTime::parse_from_rfc3339(at).unwrap();
        let mut e = AuditEvent::new(Stage::Finished, &who, &request, time.with_timezone(&Utc));
        e.detail = Some(n.to_string());
        e.outcome = Some("succeeded".into());
        e.measured_rto_s = Some(rto);
        e
    }

    /// Every line of `path`'s generations, oldest first, each parsed whole.
    fn all_lines(path: &Path) -> Vec<serde_json::Value> {
        generations(path)
            .iter()
            .flat_map(|p| {
                fs::read_to_string(p)
                    .unwrap_or_default()
                    .lines()
                    .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
                    .collect::<Vec<serde_json::Value>>()
            })
            .collect()
    }

    #[test]
    fn the_log_rotates_before_passing_its_limit_and_keeps_three_generations() {
        let dir = temp_dir("rotate");
        let path = dir.join("audit.log");
        let line = |n| event("rollback", "checkout", n, "2030-05-01T12:00:00Z", 1);
        let length = serde_json::to_string(&line(10)).unwrap().len() as u64 + 1;
        let log = AuditLog::open(&path).unwrap().rotating_at(3 * length);
        let mut notices = Vec::new();
        for n in 10..40 {
            notices.extend(log.append(&line(n)).unwrap());
        }
        assert_eq!(
            notices[0].to_string(),
            format!(
                "audit log rotated ({} bytes reached; earlier lines now in audit.log.1)",
                crate::config::limits::thousands(3 * length)
            )
        );
        assert_eq!(notices.len(), 9, "every three lines: {notices:?}");
        for p in generations(&path) {
            let size = fs::metadata(&p).unwrap().len();
            assert!(size <= 3 * length, "{} is {size} bytes", p.display());
            let mode = fs::metadata(&p).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600, "{}", p.display());
        }
        assert!(!generation(&path, 4).exists(), "three generations only");
        let kept: Vec<_> = all_lines(&path)
            .iter()
            .map(|l| l["detail"].as_str().unwrap().parse::<usize>().unwrap())
            .collect();
        assert_eq!(kept, (28..40).collect::<Vec<_>>(), "the newest, in order");
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn two_writers_of_one_log_lose_and_split_no_line_as_it_rotates() {
        let dir = temp_dir("writers");
        let path = dir.join("audit.log");
        let writers: Vec<_> = ["a", "b"]
            .map(|who| {
                let log = AuditLog::open(&path).unwrap().rotating_at(6_000);
                std::thread::spawn(move || {
                    for n in 0..20 {
                        log.append(&event("rollback", who, n, "2030-05-01T12:00:00Z", 1))
                            .unwrap();
                    }
                })
            })
            .into_iter()
            .collect();
        for w in writers {
            w.join().unwrap();
        }
        let lines = all_lines(&path);
        assert!(generation(&path, 1).exists(), "it rotated");
        assert!(!generation(&path, 3).exists(), "nothing has fallen off yet");
        // Only the writer whose file is still the log rotates it, when full:
        // a second rotation by the other would push out a log just begun.
        let longest = lines.iter().map(|l| l.to_string().len() as u64 + 1).max();
        for n in 1..GENERATIONS {
            if let Ok(meta) = fs::metadata(generation(&path, n)) {
                assert!(
                    meta.len() + longest.unwrap() > 6_000,
                    "generation {n} was rotated at {} bytes",
                    meta.len()
                );
            }
        }
        for who in ["a", "b"] {
            let order: Vec<usize> = lines
                .iter()
                .filter(|l| l["target"] == who)
                .map(|l| l["detail"].as_str().unwrap().parse().unwrap())
                .collect();
            assert_eq!(order, (0..20).collect::<Vec<_>>(), "{who}'s lines");
        }
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_rotation_that_fails_is_said_and_the_line_still_written() {
        let dir = temp_dir("fail");
        let path = dir.join("audit.log");
        let log = AuditLog::open(&path).unwrap().rotating_at(10);
        log.append(&event("rollback", "x", 1, "2030-05-01T12:00:00Z", 1))
            .unwrap();
        // Generation 2 cannot become generation 3, a directory.
        fs::write(generation(&path, 2), "old\n").unwrap();
        fs::create_dir_all(generation(&path, 3).join("in-the-way")).unwrap();
        let notice = log
            .append(&event("rollback", "x", 2, "2030-05-01T12:00:00Z", 1))
            .unwrap()
            .expect("a notice");
        assert!(
            notice
                .to_string()
                .starts_with("audit log rotation failed: "),
            "{notice}"
        );
        let details: Vec<_> = fs::read_to_string(&path)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["detail"].clone())
            .collect();
        assert_eq!(details, ["1", "2"]);
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn the_last_drill_is_found_in_whichever_generation_holds_it() {
        let dir = temp_dir("drills");
        let path = dir.join("audit.log");
        let write = |p: &Path, events: &[AuditEvent]| {
            let text: String = events
                .iter()
                .map(|e| serde_json::to_string(e).unwrap() + "\n")
                .collect();
            fs::write(p, text).unwrap();
        };
        let at = |h: u32| format!("2030-05-01T{h:02}:00:00Z");
        write(
            &generation(&path, 3),
            &[event("dr_drill", "orders-db", 0, &at(1), 600)],
        );
        write(
            &generation(&path, 2),
            &[event("dr_drill", "auth-db", 0, &at(2), 900)],
        );
        write(
            &generation(&path, 1),
            &[
                event("dr_drill", "auth-db", 0, &at(5), 300),
                event("rollback", "auth-db", 0, &at(6), 5),
            ],
        );
        // Out of order on purpose: the time decides, not the place.
        write(&path, &[event("dr_drill", "auth-db", 0, &at(4), 1200)]);
        let found = drills(&path);
        let rto = |t: &str| found[t].measured_rto.map(|r| r.num_seconds());
        assert_eq!(found.len(), 2);
        assert_eq!((rto("auth-db"), rto("orders-db")), (Some(300), Some(600)));
        assert_eq!(
            found["auth-db"].at.to_rfc3339(),
            "2030-05-01T05:00:00+00:00"
        );
        assert!(drills(&dir.join("none.log")).is_empty());
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn runs_are_read_back_across_generations_each_start_matched_to_its_end() {
        let dir = temp_dir("history");
        let path = dir.join("audit.log");
        let at = |m: u32| format!("2030-05-01T12:{m:02}:00Z");
        let line = |stage: Stage, target: &str, m: u32, outcome: Option<&str>| {
            let mut e = event("rollback", target, 0, &at(m), 0);
            e.event = stage;
            e.outcome = outcome.map(str::to_string);
            e.detail = outcome.map(|_| format!("ended {m}"));
            e.duration_ms = outcome.map(|_| 60_000);
            serde_json::to_string(&e).unwrap() + "\n"
        };
        // Generation 1: a run whose end is in the log now; one never ended.
        fs::write(
            generation(&path, 1),
            line(Stage::Started, "auth", 1, None)
                + &line(Stage::Asked, "auth", 1, None)
                + &line(Stage::Started, "orders", 2, None),
        )
        .unwrap();
        fs::write(
            &path,
            "not json\n".to_string()
                + &line(Stage::Finished, "auth", 2, Some("succeeded"))
                + &line(Stage::Started, "auth", 3, None)
                + &line(Stage::Finished, "auth", 4, Some("failed")),
        )
        .unwrap();
        let runs = history(&path, 10);
        let seen: Vec<_> = runs
            .iter()
            .map(|r| {
                (
                    r.target.as_str(),
                    r.started.format("%M").to_string(),
                    r.finished.as_ref().map(|(_, o, d)| format!("{o}: {d}")),
                )
            })
            .collect();
        let some = |s: &str| Some(s.to_string());
        assert_eq!(
            seen,
            [
                ("auth", "01".into(), some("succeeded: ended 2")),
                ("orders", "02".into(), None),
                ("auth", "03".into(), some("failed: ended 4")),
            ]
        );
        assert_eq!(runs[0].user, "alice");
        assert_eq!(history(&path, 2).len(), 2, "the newest kept");
        assert_eq!(history(&path, 2)[0].target, "orders");
        // A finished line whose start was rotated away: started before it.
        fs::remove_file(generation(&path, 1)).unwrap();
        let runs = history(&path, 10);
        assert_eq!(runs.len(), 2);
        assert_eq!(runs[0].started.format("%M").to_string(), "01");
        assert!(history(&dir.join("none.log"), 10).is_empty());
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn what_others_can_write_is_said_and_left_as_it_is() {
        let dir = temp_dir("modes");
        let path = dir.join("audit.log");
        fs::set_permissions(&dir, fs::Permissions::from_mode(0o700)).unwrap();
        fs::write(&path, "").unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
        assert!(
            loose_permissions(&path).is_empty(),
            "readable is not writable"
        );
        fs::set_permissions(&path, fs::Permissions::from_mode(0o664)).unwrap();
        fs::write(generation(&path, 1), "").unwrap();
        fs::set_permissions(generation(&path, 1), fs::Permissions::from_mode(0o602)).unwrap();
        fs::set_permissions(&dir, fs::Permissions::from_mode(0o777)).unwrap();
        let problems: Vec<String> = loose_permissions(&path)
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(problems.len(), 3, "{problems:?}");
        assert!(
            problems[0].starts_with(&format!(
                "{}: the audit log's directory can be written by its group and others (mode 777)",
                dir.display()
            )),
            "{problems:?}"
        );
        assert!(
            problems[1].starts_with(&format!(
                "{}: the audit log can be written by its group (mode 664)",
                path.display()
            )),
            "{problems:?}"
        );
        assert!(
            problems[2].contains("audit.log.1: the audit log can be written by others (mode 602)")
        );
        drop(open_private(&path).unwrap());
        let mode = fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o664, "opening does not change the mode");
        fs::remove_dir_all(dir).unwrap();
    }
}
