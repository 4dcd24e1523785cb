//! A restored cluster run for a drill: its own `postgres` started directly
//! as a child (not `pg_ctl`, which would leave it to run on its own), as
//! the target's user, with opsdeck's settings rather than the backup's
//! configuration files: a free port on 127.0.0.1 that refuses every TCP
//! connection, its socket in the private scratch directory, archiving,
//! replication, SSL and hot standby off. It accepts connections only once
//! recovery is over; `Scratch` stops it.

use std::collections::VecDeque;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

use super::scratch::Scratch;
use super::{Drill, Stop, arg, seconds, shown};
use crate::config::backups::ToolTarget;
use crate::sources::tools::password_env;
use crate::sources::tools::run::Invocation;

/// How many times it is started on another port when its port was taken
/// between being found free and bound.
const PORT_ATTEMPTS: usize = 3;
/// How often readiness is asked while it recovers.
const POLL: Duration = Duration::from_millis(100);
/// The most of its log kept for when it fails to start.
const LOG_LINES: usize = 50;

/// A restored cluster that has finished recovery.
pub(super) struct Cluster {
    bin: PathBuf,
    socket: PathBuf,
    port: u16,
}

pub(super) fn plan(target: &ToolTarget, scratch: &Path, data: &Path) -> Vec<String> {
    let bin = target.drill.pg_bin.clone().unwrap_or_default();
    let (low, high) = port_range();
    let started = Invocation {
        program: bin.join("postgres"),
        args: settings(data, scratch, "<port>"),
        user: target.user.clone(),
        ..Invocation::default()
    };
    vec![
        format!("starts PostgreSQL on a free port on 127.0.0.1 (the system's {low}-{high}, TCP refused), its socket in the scratch directory:"),
        shown(&started),
        match &target.drill.pg_bin {
            Some(dir) => format!("postgres, pg_isready and psql from {}", dir.display()),
            None => "postgres, pg_isready and psql from PATH, else /usr/lib/postgresql/<its version>/bin".into(),
        },
        "waits until it accepts connections and has finished recovery (hot standby is off)".into(),
        format!(
            "then asks, with psql over the socket (database {}{}): {}",
            target.drill.database,
            target
                .drill
                .user
                .as_deref()
                .map_or(String::new(), |u| format!(", role {u}")),
            target.drill.check_query
        ),
        "passes when the check query answers without error and with at least one row".into(),
    ]
}

/// `1 row`, `3 rows`.
pub(super) fn rows(n: u64) -> String {
    format!("{n} row{}", if n == 1 { "" } else { "s" })
}

/// The system's ephemeral ports, where a free one is found.
fn port_range() -> (u16, u16) {
    std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|text| {
            let mut it = text.split_whitespace().map(|p| p.parse().ok());
            Some((it.next()??, it.next()??))
        })
        .unwrap_or((32768, 60999))
}

/// What is set on its command line, over anything the backup carries.
fn settings(data: &Path, scratch: &Path, port: &str) -> Vec<OsString> {
    let file = |name: &str| scratch.join(name).display().to_string();
    let set = [
        ("config_file", file("postgresql.conf")),
        ("hba_file", file("pg_hba.conf")),
        ("ident_file", file("pg_ident.conf")),
        ("port", port.to_string()),
        ("listen_addresses", "127.0.0.1".into()),
        ("unix_socket_directories", scratch.display().to_string()),
        ("archive_mode", "off".into()),
        ("hot_standby", "off".into()),
        ("primary_conninfo", String::new()),
        ("synchronous_standby_names", String::new()),
        ("ssl", "off".into()),
        ("logging_collector", "off".into()),
        ("log_destination", "stderr".into()),
        ("cluster_name", "opsdeck-drill".into()),
    ];
    let mut args = vec![arg("-D"), arg(data)];
    for (name, value) in set {
        args.extend([arg("-c"), arg(format!("{name}={value}"))]);
    }
    args
}

/// Where `postgres` and `psql` are: the target's `pg_bin`, else `PATH`,
/// else Debian's directory for the backup's major version.
fn bin_dir(target: &ToolTarget, version: &str) -> Result<PathBuf, Stop> {
    if let Some(dir) = &target.drill.pg_bin {
        return Ok(dir.clone());
    }
    let on_path = std::env::var_os("PATH")
        .and_then(|path| std::env::split_paths(&path).find(|dir| dir.join("postgres").is_file()));
    let debian = PathBuf::from(format!("/usr/lib/postgresql/{version}/bin"));
    on_path
        .or_else(|| debian.join("postgres").is_file().then_some(debian))
        .ok_or_else(|| {
            Stop::Failed(format!(
                "no PostgreSQL {version} found on PATH or in /usr/lib/postgresql/{version}/bin: set drill.pg_bin"
            ))
        })
}

/// Its log, the last lines, read as it writes.
#[derive(Clone, Default)]
struct Log(Arc<Mutex<VecDeque<String>>>);

impl Log {
    fn keep(&self, stderr: tokio::process::ChildStderr) {
        let log = self.clone();
        tokio::spawn(async move {
            let mut lines = BufReader::new(stderr).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                let mut kept = log.0.lock().unwrap_or_else(|e| e.into_inner());
                if kept.len() == LOG_LINES {
                    kept.pop_front();
                }
                kept.push_back(crate::text::clean(&line).into_owned());
            }
        });
    }

    fn says(&self, text: &str) -> bool {
        let kept = self.0.lock().unwrap_or_else(|e| e.into_inner());
        kept.iter().any(|l| l.contains(text))
    }

    /// Its last complaints (`FATAL:  …`), else its last line.
    fn words(&self) -> String {
        let kept = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let said: Vec<&str> = kept
            .iter()
            .filter_map(|l| {
                ["PANIC:", "FATAL:", "ERROR:"]
                    .iter()
                    .find_map(|k| l.find(k).map(|i| &l[i..]))
            })
            .collect();
        match said.len() {
            0 => kept.back().cloned().unwrap_or_else(|| "no log".into()),
            n => said[n.saturating_sub(2)..].join(" · "),
        }
    }
}

fn spawn(
    target: &ToolTarget,
    scratch: &Scratch,
    data: &Path,
    bin: &Path,
    port: u16,
) -> Result<(Child, Log), Stop> {
    let program = bin.join("postgres");
    let mut command = Command::new(&program);
    command
        .args(settings(data, scratch.path(), &port.to_string()))
        // Its restore_command (pgbackrest archive-get) may need the cipher pass.
        .envs(password_env(target).0)
        .current_dir(scratch.path())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .process_group(0)
        .kill_on_drop(true);
    if let Some(user) = scratch.owner() {
        command
            .uid(user.uid)
            .gid(user.gid)
            .env("HOME", &user.home)
            .env("USER", &user.name)
            .env("LOGNAME", &user.name);
    }
    let mut child = command
        .spawn()
        .map_err(|e| Stop::Failed(format!("cannot start {}: {e}", program.display())))?;
    let log = Log::default();
    if let Some(stderr) = child.stderr.take() {
        log.keep(stderr);
    }
    Ok((child, log))
}

/// Why a start did not give a cluster.
enum Starting {
    PortTaken,
    Stop(Stop),
}

impl From<Stop> for Starting {
    fn from(stop: Stop) -> Starting {
        Starting::Stop(stop)
    }
}

/// The configuration files it is pointed at: empty but for the one way in,
/// its socket in the private scratch directory.
fn write_files(scratch: &Scratch) -> Result<(), Stop> {
    let files = [
        (
            "postgresql.conf",
            "# opsdeck drill: set on postgres's command line\n",
        ),
        (
            "pg_hba.conf",
            "# opsdeck drill: the socket in the private scratch directory only\nlocal all all trust\n",
        ),
        ("pg_ident.conf", ""),
    ];
    for (name, contents) in files {
        scratch.write(name, contents).map_err(Stop::Failed)?;
    }
    Ok(())
}

/// Starts the cluster restored in `data` and waits until it has finished
/// recovery and accepts connections; `scratch` holds it from its start.
pub(super) async fn start(
    d: &mut Drill<'_>,
    scratch: &mut Scratch,
    data: &Path,
) -> Result<Cluster, Stop> {
    let version = std::fs::read_to_string(data.join("PG_VERSION"))
        .map_err(|e| Stop::Failed(format!("the restore has no PG_VERSION: {e}")))?;
    let bin = bin_dir(d.target, version.trim())?;
    write_files(scratch)?;
    let began = Instant::now();
    for _ in 0..PORT_ATTEMPTS {
        let port = std::net::TcpListener::bind(("127.0.0.1", 0))
            .and_then(|l| l.local_addr())
            .map_err(|e| Stop::Failed(format!("no free port on 127.0.0.1: {e}")))?
            .port();
        let (postmaster, log) = spawn(d.target, scratch, data, &bin, port)?;
        scratch.adopt(postmaster);
        let cluster = Cluster {
            bin: bin.clone(),
            socket: scratch.path().to_path_buf(),
            port,
        };
        match cluster.ready(d, scratch, &log).await {
            Ok(()) => {
                d.say(format!(
                    "PostgreSQL up on 127.0.0.1:{port} in {}, recovery finished",
                    seconds(began.elapsed())
                ));
                return Ok(cluster);
            }
            Err(Starting::PortTaken) => continue,
            Err(Starting::Stop(stop)) => return Err(stop),
        }
    }
    Err(Stop::Failed(format!(
        "PostgreSQL found its port taken {PORT_ATTEMPTS} times"
    )))
}

/// The rows psql's footer counts: `(1 row)`, `(250 rows)`.
fn footer(line: &str) -> Option<u64> {
    let inner = line.trim().strip_prefix('(')?.strip_suffix(')')?;
    let n = inner
        .strip_suffix(" rows")
        .or_else(|| inner.strip_suffix(" row"))?;
    n.parse().ok()
}

impl Cluster {
    /// `program` (from the same directory as `postgres`) over the socket,
    /// as the target's user.
    fn client(&self, d: &Drill<'_>, program: &str, args: &[&str]) -> Invocation {
        let spec = &d.target.drill;
        let mut all: Vec<OsString> = vec![
            arg("-h"),
            arg(&self.socket),
            arg("-p"),
            arg(self.port.to_string()),
            arg("-d"),
            arg(&spec.database),
        ];
        if let Some(role) = &spec.user {
            all.extend([arg("-U"), arg(role)]);
        }
        all.extend(args.iter().map(|a| arg(*a)));
        Invocation {
            program: self.bin.join(program),
            args: all,
            timeout: Duration::MAX,
            max_output: d.target.max_output,
            user: d.target.user.clone(),
            ..Invocation::default()
        }
    }

    /// Until it accepts connections (with hot standby off: once recovery
    /// is over), then makes sure it is out of recovery.
    async fn ready(
        &self,
        d: &mut Drill<'_>,
        scratch: &mut Scratch,
        log: &Log,
    ) -> Result<(), Starting> {
        loop {
            if let Some(status) = scratch.postgres().and_then(|p| p.try_wait().ok().flatten()) {
                // Its log may still be arriving.
                tokio::time::sleep(POLL).await;
                if log.says("Address already in use") {
                    return Err(Starting::PortTaken);
                }
                return Err(Stop::Failed(format!(
                    "PostgreSQL stopped while starting ({status}): {}",
                    log.words()
                ))
                .into());
            }
            let mut probe = self.client(d, "pg_isready", &["-q", "-t", "2"]);
            probe.timeout = Duration::from_secs(5);
            if d.try_run("pg_isready", probe).await?.success() {
                break;
            }
            d.pause(POLL).await?;
        }
        let asked = self.client(
            d,
            "psql",
            &["-X", "-A", "-t", "-c", "select pg_is_in_recovery()"],
        );
        let out = d.run("psql", asked).await?;
        match String::from_utf8_lossy(&out.stdout).trim() {
            "f" => Ok(()),
            said => Err(Stop::Failed(format!("PostgreSQL is still in recovery ({said})")).into()),
        }
    }

    /// Runs the check query: how many rows it answered, at least one.
    pub(super) async fn check(&self, d: &mut Drill<'_>, query: &str) -> Result<u64, Stop> {
        let asked = self.client(
            d,
            "psql",
            &[
                "-X",
                "-A",
                "-v",
                "ON_ERROR_STOP=1",
                "-P",
                "footer=on",
                "-c",
                query,
            ],
        );
        let out = d.try_run("psql", asked).await?;
        if !out.success() {
            return Err(Stop::Failed(format!(
                "the check query failed: {}",
                out.words()
            )));
        }
        let answer = String::from_utf8_lossy(&out.stdout);
        let last = answer.lines().rev().find(|l| !l.trim().is_empty());
        let count = last.and_then(footer);
        match count {
            Some(n) if n > 0 => {
                d.say(format!("check query answered {}", rows(n)));
                Ok(n)
            }
            Some(_) => Err(Stop::Failed("the check query answered no rows".into())),
            None => Err(Stop::Failed(format!(
                "the check query answered no rows ({})",
                last.unwrap_or_default().trim()
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn psql_footers_count_rows_and_a_command_tag_does_not() {
        assert_eq!(footer("(1 row)"), Some(1));
        assert_eq!(footer("(250 rows)"), Some(250));
        assert_eq!(footer("(0 rows)"), Some(0));
        assert_eq!(footer("CREATE TABLE"), None);
        assert_eq!(footer("(x rows)"), None);
    }
}
