//! BorgBackup: the archives a repository keeps (`borg list --json`), the
//! newest one's times and size (`borg info --json REPO::ARCHIVE`), and the
//! repository's verification (`borg check`).

use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, Local, NaiveDateTime, TimeZone, Utc};
use serde::Deserialize;

use super::Listing;
use super::run::Output;
use crate::config::backups::ToolTarget;
use crate::domain::Kept;

/// `borg list --json`: the archives, with their start as Borg writes it.
#[derive(Debug, Clone, Deserialize)]
struct Archives {
    archives: Vec<ListedArchive>,
}

#[derive(Debug, Clone, Deserialize)]
struct ListedArchive {
    name: String,
    start: String,
}

/// `borg info --json REPO::ARCHIVE`: one archive in detail.
#[derive(Debug, Clone, Deserialize)]
struct Info {
    archives: Vec<ArchiveInfo>,
}

#[derive(Debug, Clone, Deserialize)]
struct ArchiveInfo {
    start: String,
    end: String,
    /// Seconds.
    duration: f64,
    stats: ArchiveStats,
}

#[derive(Debug, Clone, Deserialize)]
struct ArchiveStats {
    original_size: u64,
}

/// The archives, each with its start read as a time.
type Dated = Vec<(String, DateTime<Utc>)>;

pub async fn list(target: &ToolTarget) -> Result<Listing, String> {
    let repository = target.repository.clone().unwrap_or_default();
    let args = ["list", "--json", repository.as_str()];
    let out = run(target, &args, target.timeout, std::future::pending()).await?;
    let archives = archives(&out.stdout, &Local)?;
    let Some((newest, _)) = archives.iter().max_by_key(|(_, start)| *start) else {
        return Ok(listing(&archives, None));
    };
    let archive = format!("{repository}::{newest}");
    let args = ["info", "--json", archive.as_str()];
    let out = run(target, &args, target.timeout, std::future::pending()).await?;
    let info = info(&out.stdout, &Local)?;
    Ok(listing(&archives, Some(info)))
}

/// `borg check`: exit 0 passes; otherwise what Borg said.
pub async fn check(
    target: &ToolTarget,
    cancel: impl std::future::Future<Output = ()> + Send,
) -> Result<(), String> {
    let repository = target.repository.clone().unwrap_or_default();
    run(
        target,
        &["check", repository.as_str()],
        target.check_timeout,
        cancel,
    )
    .await
    .map(drop)
}

/// Runs `borg <args>`; a run that fails is said as its fault.
async fn run(
    target: &ToolTarget,
    args: &[&str],
    timeout: StdDuration,
    cancel: impl std::future::Future<Output = ()> + Send,
) -> Result<Output, String> {
    let mut invocation = super::invocation(target, args.iter().map(|a| a.into()), timeout);
    // Without a passphrase from anywhere, Borg would ask for one on the
    // terminal (opsdeck's screen): an empty one makes it answer instead.
    let from_env = ["BORG_PASSPHRASE", "BORG_PASSCOMMAND", "BORG_PASSPHRASE_FD"]
        .iter()
        .any(|v| std::env::var_os(v).is_some());
    if invocation.env.is_empty() && !from_env {
        invocation
            .env
            .push(("BORG_PASSPHRASE".into(), String::new()));
    }
    let out = invocation
        .run_until(cancel)
        .await
        .map_err(|e| format!("borg: {e}"))?;
    // Exit 1 is Borg's "warning": a listing still answered in full, but a
    // check that ends so found errors.
    let warning_answers = args[0] != "check";
    if out.success() || (warning_answers && out.code == Some(1)) {
        Ok(out)
    } else {
        Err(fault(target.password.is_some(), &out))
    }
}

/// Borg's JSON times carry no zone: Borg 1.x writes them in the local time
/// of the machine it runs on (this one), so they are read as `tz` (`Local`)
/// and turned into UTC. In the hour a clock turns back, a time is read as
/// the earlier of its two meanings; a time in the hour skipped going forward
/// cannot be written by Borg, and is refused.
fn borg_time<Tz: TimeZone>(text: &str, tz: &Tz) -> Option<DateTime<Utc>> {
    let naive = NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f").ok()?;
    tz.from_local_datetime(&naive)
        .earliest()
        .map(|t| t.with_timezone(&Utc))
}

fn archives<Tz: TimeZone>(stdout: &[u8], tz: &Tz) -> Result<Dated, String> {
    let list: Archives = serde_json::from_slice(stdout)
        .map_err(|e| format!("borg list: answer is not JSON: {e}"))?;
    list.archives
        .into_iter()
        .map(|a| match borg_time(&a.start, tz) {
            Some(start) => Ok((a.name, start)),
            None => Err(format!(
                "borg list: archive {} has no readable start",
                a.name
            )),
        })
        .collect()
}

/// The newest archive's end, duration and original size.
#[derive(Debug, Clone, PartialEq)]
struct Newest {
    end: DateTime<Utc>,
    duration: Option<Duration>,
    original_size: u64,
}

fn info<Tz: TimeZone>(stdout: &[u8], tz: &Tz) -> Result<Newest, String> {
    let info: Info = serde_json::from_slice(stdout)
        .map_err(|e| format!("borg info: answer is not JSON: {e}"))?;
    let a = info
        .archives
        .into_iter()
        .next()
        .ok_or("borg info: no archive in the answer")?;
    let end = borg_time(&a.end, tz).ok_or("borg info: the archive's end is not a time")?;
    // `duration` is Borg's own measure; the start and end are whole
    // seconds here, too coarse for a short backup.
    let duration = (a.duration.is_finite() && a.duration >= 0.0)
        .then(|| Duration::microseconds((a.duration * 1e6).round() as i64))
        .or_else(|| {
            let start = borg_time(&a.start, tz)?;
            (end >= start).then(|| end - start)
        });
    Ok(Newest {
        end,
        duration,
        original_size: a.stats.original_size,
    })
}

fn listing(archives: &Dated, newest: Option<Newest>) -> Listing {
    Listing {
        last_success: newest.as_ref().map(|n| n.end),
        size_bytes: newest.as_ref().map_or(f64::NAN, |n| n.original_size as f64),
        duration: newest.and_then(|n| n.duration),
        kept: Some(Kept {
            count: archives.len() as u64,
            oldest: archives.iter().map(|(_, start)| *start).min(),
        }),
    }
}

/// A failed run in the operator's words: the faults Borg names, else its
/// own words (for a failed check, its first finding and its verdict).
fn fault(had_password: bool, out: &Output) -> String {
    let stderr = &out.stderr;
    let line_with = |phrase: &str| {
        stderr
            .lines()
            .find(|l| l.contains(phrase))
            .map(|l| format!("borg: {}", l.trim()))
    };
    if let Some(line) = line_with("Failed to create/acquire the lock") {
        return line;
    }
    if stderr.contains("passphrase supplied in BORG_PASSPHRASE") {
        return if had_password {
            "borg: wrong passphrase".into()
        } else {
            "borg: no passphrase given (password_file or password_env)".into()
        };
    }
    if stderr.contains("can not acquire a passphrase") {
        return "borg: no passphrase given (password_file or password_env)".into();
    }
    if let Some(line) =
        line_with("does not exist.").or_else(|| line_with("is not a valid repository"))
    {
        return line;
    }
    let lines: Vec<&str> = stderr
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    match lines.as_slice() {
        [first, .., last] if lines.len() > 3 => {
            let words = format!("{first} · … · {last}");
            match words.char_indices().nth(300) {
                Some((i, _)) => format!("borg: {}…", &words[..i]),
                None => format!("borg: {words}"),
            }
        }
        _ => format!("borg: {}", out.words()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::FixedOffset;

    /// `borg 1.2.4 list --json` with two archives (ids cut).
    const LIST: &str = r#"{"archives": [
        {"archive": "first", "barchive": "first", "id": "6d3245a9", "name": "first",
         "start": "2026-12-07T15:23:25.000000", "time": "2026-12-07T15:23:25.000000"},
        {"archive": "second", "barchive": "second", "id": "d14c41ea", "name": "second",
         "start": "2026-12-07T15:28:09.000000", "time": "2026-12-07T15:28:09.000000"}],
        "encryption": {"mode": "repokey"},
        "repository": {"id": "5b0a3b78", "last_modified": "2026-12-07T15:28:09.000000",
         "location": "/tmp/exp/b"}}"#;

    /// `borg 1.2.4 info --json b::second` (cache and limits cut).
    const INFO: &str = r#"{"archives": [{"command_line": ["/usr/bin/borg", "create", "b::second", "data"],
        "comment": "", "duration": 0.002182, "end": "2026-12-07T15:28:09.000000",
        "hostname": "vm", "id": "d14c41ea", "name": "second", "start": "2026-12-07T15:28:09.000000",
        "stats": {"compressed_size": 3086, "deduplicated_size": 488, "nfiles": 2, "original_size": 3000},
        "username": "root"}],
        "encryption": {"mode": "repokey"},
        "repository": {"id": "5b0a3b78", "last_modified": "2026-12-07T15:28:09.000000",
         "location": "/tmp/exp/b"}}"#;

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
    fn times_without_a_zone_are_local_time() {
        let paris = FixedOffset::east_opt(3600).unwrap();
        assert_eq!(
            borg_time("2026-12-07T15:28:09.000000", &paris),
            Some(at("2026-12-07T14:28:09Z"))
        );
        assert_eq!(
            borg_time("2026-12-07T15:28:09.250000", &Utc),
            Some(at("2026-12-07T15:28:09.25Z"))
        );
        assert_eq!(borg_time("yesterday", &Utc), None);
    }

    #[test]
    fn the_newest_archive_is_the_last_good_backup_and_all_are_counted() {
        let tz = FixedOffset::west_opt(5 * 3600).unwrap();
        let archives = archives(LIST.as_bytes(), &tz).unwrap();
        let newest = info(INFO.as_bytes(), &tz).unwrap();
        let l = listing(&archives, Some(newest));
        assert_eq!(l.last_success, Some(at("2026-12-07T20:28:09Z")));
        assert_eq!(l.size_bytes, 3000.0);
        assert_eq!(l.duration, Some(Duration::microseconds(2182)));
        let kept = l.kept.unwrap();
        assert_eq!(kept.count, 2);
        assert_eq!(kept.oldest, Some(at("2026-12-07T20:23:25Z")));
    }

    #[test]
    fn an_empty_repository_keeps_none() {
        let archives = archives(br#"{"archives": []}"#, &Utc).unwrap();
        let l = listing(&archives, None);
        assert_eq!(l.last_success, None);
        assert!(l.size_bytes.is_nan());
        assert_eq!(l.kept.unwrap().count, 0);
    }

    #[test]
    fn unreadable_answers_say_so() {
        let err = archives(b"Warning: something", &Utc).unwrap_err();
        assert!(err.starts_with("borg list: answer is not JSON: "), "{err}");
        let err = info(br#"{"archives": []}"#, &Utc).unwrap_err();
        assert_eq!(err, "borg info: no archive in the answer");
    }

    #[test]
    fn faults_are_said_from_borgs_own_words() {
        // Each captured from borg 1.2.4 here.
        let locked = "Failed to create/acquire the lock /tmp/exp/b/lock.exclusive (timeout).";
        assert_eq!(fault(true, &failed(2, locked)), format!("borg: {locked}"));
        let wrong = "passphrase supplied in BORG_PASSPHRASE, by BORG_PASSCOMMAND or via \
            BORG_PASSPHRASE_FD is incorrect.";
        assert_eq!(fault(true, &failed(2, wrong)), "borg: wrong passphrase");
        assert_eq!(
            fault(false, &failed(2, wrong)),
            "borg: no passphrase given (password_file or password_env)"
        );
        let missing = "Repository /tmp/exp/nothere does not exist.";
        assert_eq!(fault(true, &failed(2, missing)), format!("borg: {missing}"));
        let corrupt = "Data integrity error: Segment entry checksum mismatch [segment 2, offset 8]\n\
            Index object count mismatch.\ncommitted index: 5 objects\nrebuilt index:   1 objects\n\
            ID: 6d3245a9 rebuilt index: <not found>      committed index: (2, 3508)\n\
            Finished full repository check, errors found.";
        assert_eq!(
            fault(true, &failed(1, corrupt)),
            "borg: Data integrity error: Segment entry checksum mismatch [segment 2, offset 8] \
             · … · Finished full repository check, errors found."
        );
    }
}
