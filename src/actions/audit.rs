//! The audit log: one JSON line per step of every action (asked, refused,
//! confirmed, cancelled, started, finished), appended and synced to disk as
//! it happens, so that a crash mid-action still leaves the trace. Secrets
//! never reach it: every string is masked again as it is written. Its
//! files (rotation, permissions, reading back) are in `files`.

mod files;

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Serialize, Serializer};
use serde_json::Value;

pub use self::files::{
    GENERATIONS, PastRun, Rotation, drills, generation, history, loose_permissions, open_private,
};
use super::ActionRequest;
use super::SecretStore;
use crate::config::limits::DEFAULT_AUDIT_MAX_BYTES;

/// Which step of an action a line records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Stage {
    /// The dialog was opened.
    Asked,
    /// The action may not run (read-only, another action on the target, a
    /// template that cannot be filled in); `reason` says why.
    Refused,
    Confirmed,
    /// The dialog was dismissed.
    Cancelled,
    Started,
    /// The run ended; `outcome`, `detail` and `duration_ms` say how.
    Finished,
}

impl Stage {
    /// The word the audit log writes for it.
    pub fn word(self) -> &'static str {
        match self {
            Stage::Asked => "asked",
            Stage::Refused => "refused",
            Stage::Confirmed => "confirmed",
            Stage::Cancelled => "cancelled",
            Stage::Started => "started",
            Stage::Finished => "finished",
        }
    }
}

/// One line of the audit log.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AuditEvent {
    #[serde(serialize_with = "rfc3339")]
    pub time: DateTime<Utc>,
    pub event: Stage,
    pub user: String,
    pub host: String,
    /// The address the operator came from over SSH.
    pub ssh_client: Option<String>,
    pub action: String,
    pub target: String,
    pub environment: String,
    /// The resolved parameters, secrets masked.
    pub parameters: BTreeMap<String, String>,
    /// What runs, as `ActionRunner::describe` says it (masked).
    pub description: Vec<String>,
    /// `ActionOutcome::word`.
    pub outcome: Option<String>,
    pub detail: Option<String>,
    pub reason: Option<String>,
    pub duration_ms: Option<u64>,
    /// For DR drills: the measured time to recover.
    pub measured_rto_s: Option<u64>,
}

fn rfc3339<S: Serializer>(time: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&time.to_rfc3339_opts(SecondsFormat::Millis, true))
}

impl AuditEvent {
    /// A line for `request` at `stage`, with the optional parts empty.
    pub fn new(
        stage: Stage,
        who: &Who,
        request: &ActionRequest,
        time: DateTime<Utc>,
    ) -> AuditEvent {
        AuditEvent {
            time,
            event: stage,
            user: who.user.clone(),
            host: who.host.clone(),
            ssh_client: who.ssh_client.clone(),
            action: request.action.clone(),
            target: request.target.clone(),
            environment: request.environment.clone(),
            parameters: request.parameters.clone(),
            description: Vec::new(),
            outcome: None,
            detail: None,
            reason: None,
            duration_ms: None,
            measured_rto_s: None,
        }
    }
}

/// Who runs opsdeck, and from where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Who {
    pub user: String,
    pub host: String,
    pub ssh_client: Option<String>,
}

impl Who {
    /// The account of the real user id (from /etc/passwd: `$USER` is only
    /// what the environment claims), else `$USER`, else `uid N`; the host
    /// name; and the SSH client's address from `$SSH_CONNECTION` or
    /// `$SSH_CLIENT`.
    pub fn current() -> Who {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        let uid = rustix::process::getuid().as_raw();
        let passwd = std::fs::read_to_string("/etc/passwd").unwrap_or_default();
        let user = account(&passwd, uid)
            .or_else(|| var("USER"))
            .or_else(|| var("LOGNAME"))
            .unwrap_or_else(|| format!("uid {uid}"));
        let host = rustix::system::uname()
            .nodename()
            .to_string_lossy()
            .into_owned();
        Who {
            user,
            host,
            ssh_client: ssh_client(var("SSH_CONNECTION"), var("SSH_CLIENT")),
        }
    }
}

/// The name of account `uid` in a passwd file's text.
fn account(passwd: &str, uid: u32) -> Option<String> {
    passwd.lines().find_map(|line| {
        let mut fields = line.split(':');
        let name = fields.next()?;
        let id = fields.nth(1)?.parse::<u32>().ok()?;
        (id == uid && !name.is_empty()).then(|| name.to_string())
    })
}

/// The first field of `SSH_CONNECTION` ("client port server port"), else
/// of `SSH_CLIENT` ("client port server-port").
fn ssh_client(connection: Option<String>, client: Option<String>) -> Option<String> {
    [connection, client]
        .into_iter()
        .flatten()
        .find_map(|v| v.split_whitespace().next().map(str::to_string))
}

/// Where the audit log lives by default: the XDG data directory
/// (`~/.local/share/opsdeck/audit.log` on Linux), not the state directory
/// beside the logs: it is the record of what was done (DR drills' measured
/// RTOs are read back from it). Past `limits.audit_max_bytes` it is rotated
/// into generations beside it (`audit.log.1` … `.3`), which are read back
/// too.
pub fn default_path() -> Option<PathBuf> {
    crate::config::project_dirs().map(|dirs| dirs.data_dir().join("audit.log"))
}

/// An append-only JSON-lines file, safe to share between threads.
#[derive(Debug)]
pub struct AuditLog {
    path: PathBuf,
    file: Mutex<File>,
    secrets: SecretStore,
    /// Size past which it is rotated before the next line.
    max_bytes: u64,
}

impl AuditLog {
    /// Opens (or creates, mode 0600, its directories 0700) the log at
    /// `path` for appending.
    pub fn open(path: &Path) -> io::Result<AuditLog> {
        Ok(AuditLog {
            path: path.to_path_buf(),
            file: Mutex::new(open_private(path)?),
            secrets: SecretStore::default(),
            max_bytes: DEFAULT_AUDIT_MAX_BYTES,
        })
    }

    /// The same log, masking these secrets in every string it writes.
    pub fn masking(self, secrets: SecretStore) -> AuditLog {
        AuditLog { secrets, ..self }
    }

    /// The same log, rotated before a line would take it past `max_bytes`.
    pub fn rotating_at(self, max_bytes: u64) -> AuditLog {
        AuditLog { max_bytes, ..self }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Writes `event` as one line and syncs it to disk, first rotating the
    /// log if the line would take it past its size; says so when it did,
    /// or could not. A line is never dropped for a rotation.
    pub fn append(&self, event: &AuditEvent) -> io::Result<Option<Rotation>> {
        let mut value = serde_json::to_value(event).map_err(io::Error::other)?;
        mask_strings(&mut value, &self.secrets);
        let mut line = value.to_string();
        line.push('\n');
        // A poisoned lock only means another thread panicked mid-write; the
        // file itself is still fine to append to.
        let mut file = self.file.lock().unwrap_or_else(|e| e.into_inner());
        let rotation =
            files::rotate_if_due(&self.path, &mut file, line.len() as u64, self.max_bytes);
        file.write_all(line.as_bytes())?;
        file.sync_data()?;
        Ok(rotation)
    }
}

fn mask_strings(value: &mut Value, secrets: &SecretStore) {
    match value {
        Value::String(s) => *s = secrets.mask(s),
        Value::Array(items) => items.iter_mut().for_each(|v| mask_strings(v, secrets)),
        Value::Object(fields) => {
            let masked = std::mem::take(fields)
                .into_iter()
                .map(|(k, mut v)| {
                    mask_strings(&mut v, secrets);
                    (secrets.mask(&k), v)
                })
                .collect();
            *fields = masked;
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::actions::{Backend, SilenceOp};
    use crate::config::file::Secret;
    use std::os::unix::fs::PermissionsExt;

    fn temp_path(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "opsdeck-audit-{name}-{}-{}",
            std::process::id(),
            Utc::now().timestamp_nanos_opt().unwrap_or_default()
        ));
        dir.join("nested").join("audit.log")
    }

    fn event(stage: Stage) -> AuditEvent {
        let who = Who {
            user: "alice".into(),
            host: "ops1".into(),
            ssh_client: Some("192.0.2.7".into()),
        };
        let request = ActionRequest {
            action: "maintenance".into(),
            target: "checkout".into(),
            environment: "production".into(),
            parameters: BTreeMap::from([("service".into(), "check\"out\n".into())]),
            backend: Backend::Silence(SilenceOp::Maintenance),
            timeout: chrono::Duration::seconds(10),
        };
        let time = DateTime::parse_from_rfc3339("2030-05-01T12:00:00.25Z").unwrap();
        AuditEvent::new(stage, &who, &request, time.with_timezone(&Utc))
    }

    fn lines(path: &Path) -> Vec<Value> {
        std::fs::read_to_string(path)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
            .collect()
    }

    #[test]
    fn every_line_is_one_json_object_with_the_fields_named() {
        let path = temp_path("json");
        let log = AuditLog::open(&path).unwrap();
        log.append(&event(Stage::Asked)).unwrap();
        let mut finished = event(Stage::Finished);
        finished.outcome = Some("succeeded".into());
        finished.duration_ms = Some(1234);
        finished.measured_rto_s = Some(95);
        log.append(&finished).unwrap();
        let lines = lines(&path);
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0]["time"], "2030-05-01T12:00:00.250Z");
        assert_eq!(lines[0]["event"], "asked");
        assert_eq!(lines[0]["user"], "alice");
        assert_eq!(lines[0]["ssh_client"], "192.0.2.7");
        assert_eq!(lines[0]["parameters"]["service"], "check\"out\n");
        assert_eq!(lines[0]["outcome"], Value::Null);
        assert_eq!(lines[1]["event"], "finished");
        assert_eq!(lines[1]["outcome"], "succeeded");
        assert_eq!(lines[1]["duration_ms"], 1234);
        assert_eq!(lines[1]["measured_rto_s"], 95);
        std::fs::remove_dir_all(path.parent().unwrap().parent().unwrap()).unwrap();
    }

    #[test]
    fn a_second_open_appends_and_never_truncates() {
        let path = temp_path("append");
        AuditLog::open(&path)
            .unwrap()
            .append(&event(Stage::Started))
            .unwrap();
        AuditLog::open(&path)
            .unwrap()
            .append(&event(Stage::Finished))
            .unwrap();
        let events: Vec<_> = lines(&path).iter().map(|l| l["event"].clone()).collect();
        assert_eq!(events, ["started", "finished"]);
        std::fs::remove_dir_all(path.parent().unwrap().parent().unwrap()).unwrap();
    }

    #[test]
    fn secrets_are_masked_in_every_string_written() {
        let path = temp_path("mask");
        let secrets = SecretStore::new(BTreeMap::from([("t".to_string(), Secret::new("hunter2"))]));
        let log = AuditLog::open(&path).unwrap().masking(secrets);
        let mut e = event(Stage::Finished);
        e.parameters
            .insert("hunter2".into(), "token=hunter2".into());
        e.description = vec!["curl -H 'Authorization: hunter2'".into()];
        e.detail = Some("HTTP 401: bad token hunter2".into());
        log.append(&e).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(!text.contains("hunter2"), "{text}");
        let line = &lines(&path)[0];
        assert_eq!(line["parameters"]["••••"], "token=••••");
        assert_eq!(line["description"][0], "curl -H 'Authorization: ••••'");
        assert_eq!(line["detail"], "HTTP 401: bad token ••••");
        std::fs::remove_dir_all(path.parent().unwrap().parent().unwrap()).unwrap();
    }

    #[test]
    fn the_file_is_readable_by_its_owner_only() {
        let path = temp_path("mode");
        AuditLog::open(&path).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        let dir_mode = std::fs::metadata(path.parent().unwrap())
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(dir_mode & 0o777, 0o700);
        std::fs::remove_dir_all(path.parent().unwrap().parent().unwrap()).unwrap();
    }

    #[test]
    fn the_ssh_client_is_the_first_field_of_the_connection() {
        let some = |s: &str| Some(s.to_string());
        assert_eq!(
            ssh_client(some("192.0.2.7 51234 10.0.0.1 22"), some("x 1 2")),
            some("192.0.2.7")
        );
        assert_eq!(
            ssh_client(None, some("2001:db8::1 51234 22")),
            some("2001:db8::1")
        );
        assert_eq!(ssh_client(None, None), None);
    }

    #[test]
    fn the_default_path_is_in_the_data_directory() {
        let path = default_path().expect("a home directory");
        let data = crate::config::project_dirs()
            .unwrap()
            .data_dir()
            .to_path_buf();
        assert_eq!(path, data.join("audit.log"));
        assert!(path.ends_with("opsdeck/audit.log"), "{}", path.display());
    }

    #[test]
    fn who_names_a_user_and_a_host() {
        let who = Who::current();
        assert!(!who.user.is_empty());
        assert!(!who.host.is_empty());
    }

    #[test]
    fn the_user_is_the_account_of_the_real_uid() {
        let passwd = "root:x:0:0:root:/root:/bin/bash\nalice:x:1000:1000::/home/alice:/bin/sh\n";
        assert_eq!(account(passwd, 1000).as_deref(), Some("alice"));
        assert_eq!(account(passwd, 0).as_deref(), Some("root"));
        assert_eq!(account(passwd, 4242), None);
    }
}
