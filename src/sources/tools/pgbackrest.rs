//! pgBackRest: the backups a stanza keeps and its health
//! (`pgbackrest --output=json info`), and the repository's verification
//! (`pgbackrest verify`).

use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, Utc};
use serde::Deserialize;

use super::Listing;
use super::run::Output;
use crate::config::backups::ToolTarget;
use crate::domain::Kept;

/// One stanza of `pgbackrest --output=json info`.
#[derive(Debug, Clone, Deserialize)]
struct Stanza {
    name: String,
    status: Status,
    #[serde(default)]
    cipher: Option<String>,
    #[serde(default)]
    backup: Vec<BackupInfo>,
    #[serde(default)]
    repo: Vec<Repo>,
}

#[derive(Debug, Clone, Deserialize)]
struct Status {
    code: i64,
    message: String,
}

#[derive(Debug, Clone, Deserialize)]
struct Repo {
    status: Status,
}

#[derive(Debug, Clone, Deserialize)]
struct BackupInfo {
    /// True when pgBackRest found a fault in it (checksum or page errors).
    #[serde(default)]
    error: Option<bool>,
    info: Sizes,
    timestamp: Span,
}

#[derive(Debug, Clone, Deserialize)]
struct Sizes {
    /// The database's size: what a restore writes.
    size: u64,
}

/// Unix seconds.
#[derive(Debug, Clone, Deserialize)]
struct Span {
    start: i64,
    stop: i64,
}

pub async fn list(target: &ToolTarget) -> Result<Listing, String> {
    let out = run(
        target,
        &["--output=json", "info"],
        target.timeout,
        std::future::pending(),
    )
    .await?;
    let stanza = target.stanza.as_deref().unwrap_or_default();
    listing(stanza, &out.stdout)
}

/// `pgbackrest verify`: it exits 0 even when it finds invalid files, so its
/// report (`--output=text`) is read too.
pub async fn check(
    target: &ToolTarget,
    cancel: impl std::future::Future<Output = ()> + Send,
) -> Result<(), String> {
    let out = run(
        target,
        &["--output=text", "verify"],
        target.check_timeout,
        cancel,
    )
    .await?;
    verdict(&String::from_utf8_lossy(&out.stdout))
}

/// Runs `pgbackrest --stanza=S [--config=F] <args>`, its log kept off
/// standard output (the JSON) and its errors on standard error; a run that
/// fails is said as its fault.
async fn run(
    target: &ToolTarget,
    args: &[&str],
    timeout: StdDuration,
    cancel: impl std::future::Future<Output = ()> + Send,
) -> Result<Output, String> {
    let stanza = target.stanza.as_deref().unwrap_or_default();
    let mut argv = vec![
        format!("--stanza={stanza}"),
        "--log-level-console=off".into(),
        "--log-level-stderr=error".into(),
    ];
    if let Some(config) = &target.config {
        argv.push(format!("--config={}", config.display()));
    }
    argv.extend(args.iter().map(|a| a.to_string()));
    let invocation = super::invocation(target, argv.into_iter().map(Into::into), timeout);
    let out = invocation
        .run_until(cancel)
        .await
        .map_err(|e| format!("pgbackrest: {e}"))?;
    if out.success() {
        Ok(out)
    } else {
        Err(fault(&out))
    }
}

/// What `info` says of `stanza`: its newest good backup (the newest that
/// finished without `error`) is the last success, with its duration and
/// size; all kept backups are counted; a stanza whose status is not ok is
/// the problem, in place of a listing.
fn listing(stanza: &str, stdout: &[u8]) -> Result<Listing, String> {
    let stanzas: Vec<Stanza> = serde_json::from_slice(stdout)
        .map_err(|e| format!("pgbackrest info: answer is not JSON: {e}"))?;
    let s = stanzas
        .into_iter()
        .find(|s| s.name == stanza)
        .ok_or_else(|| format!("pgbackrest: stanza '{stanza}' is not in info's answer"))?;
    if s.status.code != 0 {
        return Err(stanza_fault(&s));
    }
    let time = |secs: i64| DateTime::<Utc>::from_timestamp(secs, 0);
    let newest = s
        .backup
        .iter()
        .filter(|b| b.error != Some(true))
        .max_by_key(|b| b.timestamp.stop);
    Ok(Listing {
        last_success: newest.and_then(|b| time(b.timestamp.stop)),
        size_bytes: newest.map_or(f64::NAN, |b| b.info.size as f64),
        duration: newest
            .map(|b| Duration::seconds(b.timestamp.stop - b.timestamp.start))
            .filter(|d| *d >= Duration::zero()),
        kept: Some(Kept {
            count: s.backup.len() as u64,
            // The oldest point a restore can reach: the oldest backup's end.
            oldest: s.backup.iter().filter_map(|b| time(b.timestamp.stop)).min(),
        }),
    })
}

/// A stanza's status that is not ok, in words. A repository that cannot be
/// read (`FormatError`) under a cipher is read with the wrong cipher pass;
/// its message then holds bytes of ciphertext, never shown.
fn stanza_fault(s: &Stanza) -> String {
    let repo_says: Vec<&str> = s
        .repo
        .iter()
        .filter(|r| r.status.code != 0)
        .map(|r| r.status.message.as_str())
        .collect();
    let encrypted = s.cipher.as_deref().is_some_and(|c| c != "none");
    if encrypted && repo_says.iter().any(|m| m.contains("FormatError")) {
        return format!(
            "pgbackrest: stanza '{}': wrong repository cipher pass (backup.info cannot be read)",
            s.name
        );
    }
    if s.status.code == 1 {
        return format!(
            "pgbackrest: unknown stanza '{}' (missing stanza path)",
            s.name
        );
    }
    let detail = repo_says
        .first()
        .and_then(|m| m.lines().next())
        .filter(|m| *m != s.status.message)
        .map(|m| format!(" ({})", crate::text::clean(m)))
        .unwrap_or_default();
    format!(
        "pgbackrest: stanza '{}': {}{detail}",
        s.name, s.status.message
    )
}

/// `verify --output=text` prints nothing when all is valid, and
/// `status: error` with what it found otherwise.
fn verdict(report: &str) -> Result<(), String> {
    let lines: Vec<&str> = report
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    if !lines.contains(&"status: error") {
        return Ok(());
    }
    let found: Vec<String> = lines
        .iter()
        .filter(|l| !l.starts_with("stanza:") && !l.starts_with("status:"))
        .map(|l| crate::text::clean(l).into_owned())
        .collect();
    Err(format!("pgbackrest verify: {}", found.join(" · ")))
}

/// A failed run in the operator's words: the faults pgBackRest names, else
/// its own error line.
fn fault(out: &Output) -> String {
    let stderr = &out.stderr;
    let error = stderr
        .lines()
        .find_map(|l| l.trim().strip_prefix("ERROR: "))
        .map(|l| l.split_once("]: ").map_or(l, |(_, rest)| rest));
    if stderr.contains("unable to acquire lock") {
        return "pgbackrest: unable to acquire lock (another pgBackRest process is running)".into();
    }
    if stderr.contains("requires option: repo1-cipher-pass") {
        return "pgbackrest: no repository cipher pass given (password_file or password_env)"
            .into();
    }
    match error {
        Some(e) => format!("pgbackrest: {e}"),
        None => format!("pgbackrest: {}", out.words()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `pgbackrest 2.45 --output=json info` with a full and an incremental
    /// backup (archive, lsn and db sections cut).
    const TWO_BACKUPS: &str = r#"[{"backup":[
        {"backrest":{"format":5,"version":"2.45"},"error":false,
         "info":{"delta":23000845,"repository":{"delta":23000845,"size":23000845},"size":23000845},
         "label":"20261207-152408F","prior":null,"reference":null,
         "timestamp":{"start":1796657048,"stop":1796657050},"type":"full"},
        {"backrest":{"format":5,"version":"2.45"},"error":false,
         "info":{"delta":1245450,"repository":{"delta":1245450,"size":23074573},"size":23074573},
         "label":"20261207-152408F_20261207-152810I","prior":"20261207-152408F",
         "reference":["20261207-152408F"],"timestamp":{"start":1796657290,"stop":1796657292},
         "type":"incr"}],
        "cipher":"none","name":"main",
        "repo":[{"cipher":"none","key":1,"status":{"code":0,"message":"ok"}}],
        "status":{"code":0,"lock":{"backup":{"held":false}},"message":"ok"}}]"#;

    /// An unknown stanza (2.45 exits 0 and says so in the status).
    const UNKNOWN: &str = r#"[{"archive":[],"backup":[],"cipher":"none","db":[],"name":"nope",
        "repo":[{"cipher":"none","key":1,"status":{"code":1,"message":"missing stanza path"}}],
        "status":{"code":1,"lock":{"backup":{"held":false}},"message":"missing stanza path"}}]"#;

    /// An encrypted stanza read with the wrong cipher pass (ciphertext cut).
    const WRONG_PASS: &str = r#"[{"archive":[],"backup":[],"cipher":"aes-256-cbc","db":[],"name":"enc",
        "repo":[{"cipher":"aes-256-cbc","key":1,"status":{"code":99,"message":"[FormatError] unable to load info file '/r/backup/enc/backup.info' or '/r/backup/enc/backup.info.copy':\nFormatError: key/value found outside of section at line 1: k\u0010\u00e46\nHINT: has a stanza-create been performed?"}}],
        "status":{"code":99,"lock":{"backup":{"held":false}},"message":"other"}}]"#;

    /// A stanza created but never backed up.
    const NO_BACKUPS: &str = r#"[{"backup":[],"cipher":"none","name":"main",
        "repo":[{"cipher":"none","key":1,"status":{"code":2,"message":"no valid backups"}}],
        "status":{"code":2,"lock":{"backup":{"held":false}},"message":"no valid backups"}}]"#;

    fn failed(code: i32, stderr: &str) -> Output {
        Output {
            code: Some(code),
            stdout: Vec::new(),
            stderr: stderr.into(),
        }
    }

    #[test]
    fn the_newest_good_backup_is_the_last_success_and_all_are_counted() {
        let l = listing("main", TWO_BACKUPS.as_bytes()).unwrap();
        assert_eq!(l.last_success, DateTime::from_timestamp(1796657292, 0));
        assert_eq!(l.duration, Some(Duration::seconds(2)));
        assert_eq!(l.size_bytes, 23074573.0);
        let kept = l.kept.unwrap();
        assert_eq!(kept.count, 2);
        assert_eq!(kept.oldest, DateTime::from_timestamp(1796657050, 0));
    }

    #[test]
    fn a_backup_with_errors_is_not_the_last_success() {
        let text = TWO_BACKUPS.replacen(
            r#""error":false,
         "info":{"delta":1245450"#,
            r#""error":true,
         "info":{"delta":1245450"#,
            1,
        );
        assert_ne!(text, TWO_BACKUPS);
        let l = listing("main", text.as_bytes()).unwrap();
        assert_eq!(l.last_success, DateTime::from_timestamp(1796657050, 0));
        assert_eq!(l.size_bytes, 23000845.0);
        assert_eq!(l.kept.unwrap().count, 2);
    }

    #[test]
    fn a_stanza_not_ok_is_the_problem() {
        assert_eq!(
            listing("nope", UNKNOWN.as_bytes()).unwrap_err(),
            "pgbackrest: unknown stanza 'nope' (missing stanza path)"
        );
        let wrong = listing("enc", WRONG_PASS.as_bytes()).unwrap_err();
        assert_eq!(
            wrong,
            "pgbackrest: stanza 'enc': wrong repository cipher pass (backup.info cannot be read)"
        );
        assert_eq!(
            listing("main", NO_BACKUPS.as_bytes()).unwrap_err(),
            "pgbackrest: stanza 'main': no valid backups"
        );
        assert_eq!(
            listing("other", TWO_BACKUPS.as_bytes()).unwrap_err(),
            "pgbackrest: stanza 'other' is not in info's answer"
        );
        let err = listing("main", b"WARN: x").unwrap_err();
        assert!(
            err.starts_with("pgbackrest info: answer is not JSON: "),
            "{err}"
        );
    }

    #[test]
    fn verify_passes_on_silence_and_fails_on_status_error() {
        assert_eq!(verdict(""), Ok(()));
        assert_eq!(verdict("stanza: main\nstatus: ok\n"), Ok(()));
        // Captured from `pgbackrest 2.45 verify --output=text`.
        let invalid = "stanza: main\nstatus: error\n  backup: 20261207-152408F, status: invalid, \
            total files checked: 965, total valid files: 963\n    checksum invalid: 2\n";
        assert_eq!(
            verdict(invalid),
            Err(
                "pgbackrest verify: backup: 20261207-152408F, status: invalid, total files \
                 checked: 965, total valid files: 963 · checksum invalid: 2"
                    .into()
            )
        );
        let unknown = "stanza: nope\nstatus: error\n  No usable backup.info file\n  \
            No usable archive.info file\n";
        assert_eq!(
            verdict(unknown),
            Err(
                "pgbackrest verify: No usable backup.info file · No usable archive.info file"
                    .into()
            )
        );
    }

    #[test]
    fn faults_are_said_from_pgbackrests_own_words() {
        // Each captured from pgBackRest 2.45 here.
        let locked = "ERROR: [050]: unable to acquire lock on file '/l/main-backup.lock': \
            Resource temporarily unavailable\n       HINT: is another pgBackRest process running?";
        assert_eq!(
            fault(&failed(50, locked)),
            "pgbackrest: unable to acquire lock (another pgBackRest process is running)"
        );
        let no_pass = "ERROR: [037]: info command requires option: repo1-cipher-pass";
        assert_eq!(
            fault(&failed(37, no_pass)),
            "pgbackrest: no repository cipher pass given (password_file or password_env)"
        );
        let no_config = "ERROR: [055]: unable to open missing file '/x/nothere.conf' for read";
        assert_eq!(
            fault(&failed(55, no_config)),
            "pgbackrest: unable to open missing file '/x/nothere.conf' for read"
        );
        assert_eq!(fault(&failed(1, "")), "pgbackrest: exit 1");
    }
}
