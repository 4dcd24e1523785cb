//! Real backup repositories for the tests of `[[backups]]` tool targets and
//! DR drills: a restic and a Borg repository (with a password) holding
//! generated files of known count and bytes, and a PostgreSQL 15 cluster
//! with a pgBackRest stanza (a table of known rows, a full backup taken).
//! Each lives in a temporary directory removed on drop; the cluster is
//! stopped first.
//!
//! Include it with `#[path = "support/backup_tools.rs"] mod backup_tools;`
//! (it needs nothing else from `support/`).
//!
//! # The rules it keeps
//! * PostgreSQL refuses to run as root, and pgBackRest must run as the
//!   cluster's owner: when the tests run as root, the cluster's directory
//!   is given to `postgres` and PostgreSQL and pgBackRest run as that user
//!   ([`tool_user`] is then `Some("postgres")`, which [`PgCluster::target`]
//!   passes on as `ToolTarget::user`). restic and Borg run as the tests do.
//! * PostgreSQL listens on 127.0.0.1 only, on a free port, with its socket
//!   in its own directory; pgBackRest's configuration, repository, lock,
//!   log and spool paths are all inside the temporary directory.
//! * restic (when run by opsdeck) and Borg keep a cache, and Borg a
//!   security record, per repository under the user's home; they are
//!   removed on drop with the repository.
//!
//! # Measured here (2 cores)
//! Every restic command spends ~0.5 s deriving its key (scrypt, calibrated
//! by `restic init`): a restic repository with one backup takes ~2 s, a
//! Borg one ~1 s. The cluster with its stanza and first full backup ~5 s
//! (initdb 0.6 s, the backup 2.2 s: a checkpoint, 965 files, its WAL
//! archived).

#![allow(dead_code)]

use std::fs;
use std::marker::PhantomData;
use std::net::TcpListener;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use opsdeck::config::backups::{DrillSpec, Tool, ToolTarget};
use opsdeck::config::file::Secret;
use opsdeck::sources::tools::run::User;

/// Where Debian puts PostgreSQL 15's programs.
pub const PG_BIN: &str = "/usr/lib/postgresql/15/bin";
/// The system user PostgreSQL and pgBackRest run as when the tests are root.
pub const PG_USER: &str = "postgres";
/// Files and bytes in every generated data set (`generate`'s defaults).
pub const FILES: u64 = 6;
pub const FILE_BYTES: u64 = 12 * 1024;
/// Rows in the cluster's table `drill_rows`.
pub const ROWS: u64 = 250;
/// The stanza of every cluster.
pub const STANZA: &str = "main";

/// A generated data set: how many files and how many bytes in all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dataset {
    pub files: u64,
    pub bytes: u64,
}

/// One backup taken: the tool's own record of it lies between `started`
/// and `finished` (read from the clock around the command).
#[derive(Debug, Clone, PartialEq)]
pub struct Taken {
    /// The archive name (Borg), snapshot id (restic) or label (pgBackRest).
    pub name: String,
    pub started: DateTime<Utc>,
    pub finished: DateTime<Utc>,
}

/// The user PostgreSQL and pgBackRest run as: `postgres` when the tests are
/// root, else the tests' own user (`None`).
pub fn tool_user() -> Option<String> {
    is_root().then(|| PG_USER.to_string())
}

fn is_root() -> bool {
    rustix::process::geteuid().is_root()
}

/// Writes `files` files of `bytes_each` incompressible bytes, each unlike
/// the others (no deduplication hides them), into `dir`.
pub fn generate(dir: &Path, files: u64, bytes_each: u64) -> Dataset {
    fs::create_dir_all(dir).unwrap();
    for i in 0..files {
        let mut state = 0x9E37_79B9_7F4A_7C15u64 ^ (i + 1).wrapping_mul(0xD1B5_4A32_D192_ED03);
        let bytes: Vec<u8> = (0..bytes_each)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                (state >> 24) as u8
            })
            .collect();
        fs::write(dir.join(format!("file-{i:03}.bin")), bytes).unwrap();
    }
    Dataset {
        files,
        bytes: files * bytes_each,
    }
}

/// A target with the configuration's defaults and short timeouts.
pub fn tool_target(name: &str, tool: Tool) -> ToolTarget {
    ToolTarget {
        target: name.to_string(),
        tool,
        program: tool.program().into(),
        repository: None,
        stanza: None,
        config: None,
        password: None,
        tier: Default::default(),
        service: None,
        user: None,
        every: Duration::from_secs(300),
        verify_every: Duration::from_secs(86_400),
        timeout: Duration::from_secs(30),
        check_timeout: Duration::from_secs(60),
        max_output: 16 * 1024 * 1024,
        drill: DrillSpec::default(),
    }
}

/// A program that never answers (`sleep 60`), for a hanging tool; it lives
/// in `dir`.
pub fn hanging_tool(dir: &Path) -> PathBuf {
    let path = dir.join("hanging-tool");
    fs::write(&path, "#!/bin/sh\nexec sleep 60\n").unwrap();
    fs::set_permissions(&path, fs::Permissions::from_mode(0o755)).unwrap();
    path
}

/// Runs `command` to its end; panics with its words unless it succeeds.
fn run_ok(command: &mut Command, what: &str) -> Output {
    let out = command.stdin(Stdio::null()).output().unwrap_or_else(|e| {
        panic!("{what}: cannot start: {e}");
    });
    assert!(
        out.status.success(),
        "{what}: {}\n{}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// `dir` and everything under it.
fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut all = vec![dir.to_path_buf()];
    let mut i = 0;
    while let Some(d) = all.get(i).cloned() {
        if d.is_dir() {
            all.extend(fs::read_dir(&d).unwrap().map(|e| e.unwrap().path()));
        }
        i += 1;
    }
    all
}

/// The largest file under `dir` (a repository's biggest pack or segment:
/// file data, never the small tree or index objects).
fn largest_file(dir: &Path) -> PathBuf {
    walk(dir)
        .into_iter()
        .filter(|p| p.is_file())
        .max_by_key(|p| fs::metadata(p).unwrap().len())
        .expect("no file to corrupt")
}

/// Runs `backup`, which gives the backup's name, timed, and records it in
/// `taken`. Where the tool records whole seconds (Borg, pgBackRest, whose
/// labels are seconds too), each backup gets a second of its own.
fn timed(taken: &mut Vec<Taken>, whole_seconds: bool, backup: impl FnOnce() -> String) -> Taken {
    if let Some(last) = taken.last().filter(|_| whole_seconds) {
        while Utc::now().timestamp() <= last.finished.timestamp() {
            std::thread::sleep(Duration::from_millis(20));
        }
    }
    let started = Utc::now();
    let name = backup();
    let t = Taken {
        name,
        started,
        finished: Utc::now(),
    };
    taken.push(t.clone());
    t
}

/// A process holding a repository's lock until dropped: its standard input
/// is closed, it gives up the lock and exits.
pub struct RepoLock {
    child: Option<Child>,
}

impl RepoLock {
    fn hold(mut command: Command, held: impl Fn() -> bool) -> RepoLock {
        let child = command
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let lock = RepoLock { child: Some(child) };
        let start = Instant::now();
        while !held() {
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "lock not held in 10 s"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        lock
    }
}

impl Drop for RepoLock {
    fn drop(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        drop(child.stdin.take());
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(10) {
            if let Ok(Some(_)) = child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = child.kill();
        let _ = child.wait();
    }
}

// ---------------------------------------------------------------------------
// restic and Borg
// ---------------------------------------------------------------------------

/// Which tool a [`Repo`] belongs to.
pub trait Kind {
    const TOOL: Tool;
}
pub struct Restic;
pub struct Borg;
impl Kind for Restic {
    const TOOL: Tool = Tool::Restic;
}
impl Kind for Borg {
    const TOOL: Tool = Tool::Borg;
}

/// A restic repository (`restic snapshots` lists it).
pub type ResticRepo = Repo<Restic>;
/// A Borg repository (`repokey` encryption); archives are named
/// `backup-1`, `backup-2`…
pub type BorgRepo = Repo<Borg>;

/// A repository (`repository`) with `password`, and generated data (`data`,
/// `dataset`) to back up.
pub struct Repo<K: Kind> {
    pub dir: tempfile::TempDir,
    pub repository: PathBuf,
    pub password: String,
    pub data: PathBuf,
    pub dataset: Dataset,
    /// The backups taken, oldest first.
    pub taken: Vec<Taken>,
    /// Its id (restic: the start `restic init` prints), naming its caches.
    id: String,
    kind: PhantomData<K>,
}

impl<K: Kind> Repo<K> {
    /// An initialised repository and its data, no backup yet.
    pub fn new() -> Repo<K> {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        let mut repo = Repo {
            repository: dir.path().join("repo"),
            password: format!("{}-pw-Xq7!", K::TOOL.name()),
            dataset: generate(&data, FILES, FILE_BYTES),
            data,
            taken: Vec::new(),
            id: String::new(),
            kind: PhantomData,
            dir,
        };
        let mut init = repo.tool();
        if K::TOOL == Tool::Restic {
            let out = run_ok(init.arg("init"), "restic init");
            let said = String::from_utf8_lossy(&out.stdout).into_owned();
            let mut words = said.split_whitespace().skip_while(|w| *w != "repository");
            repo.id = words.nth(1).unwrap_or_default().to_string();
        } else {
            let repository = &repo.repository;
            run_ok(
                init.args(["init", "-e", "repokey"]).arg(repository),
                "borg init",
            );
            let config = fs::read_to_string(repository.join("config")).unwrap();
            let id = config.lines().find_map(|l| l.strip_prefix("id = "));
            repo.id = id.unwrap_or_default().trim().to_string();
        }
        repo
    }

    /// A repository holding one backup of its data.
    pub fn with_backup() -> Repo<K> {
        let mut repo = Repo::new();
        repo.backup();
        repo
    }

    /// The tool with the password in its environment (restic: and
    /// `-r REPO`).
    pub fn tool(&self) -> Command {
        let mut c = Command::new(K::TOOL.program());
        if K::TOOL == Tool::Restic {
            c.arg("-r").arg(&self.repository);
            c.env("RESTIC_PASSWORD", &self.password);
        } else {
            c.env("BORG_PASSPHRASE", &self.password);
        }
        c
    }

    /// Backs the data up: a new snapshot (its id) or archive (`backup-N`;
    /// Borg records whole seconds, so each backup has a second of its own).
    pub fn backup(&mut self) -> Taken {
        let mut command = self.tool();
        let name = format!("backup-{}", self.taken.len() + 1);
        if K::TOOL == Tool::Restic {
            command.args(["backup", "--json"]).arg(&self.data);
        } else {
            let archive = format!("{}::{name}", self.repository.display());
            command.arg("create").arg(archive).arg(&self.data);
        }
        timed(&mut self.taken, K::TOOL == Tool::Borg, || {
            let out = run_ok(&mut command, "backup");
            let lines = String::from_utf8_lossy(&out.stdout).into_owned();
            let summary = lines
                .lines()
                .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
                .find(|v| v["message_type"] == "summary");
            match summary {
                Some(s) => s["snapshot_id"].as_str().unwrap_or_default().into(),
                None => name,
            }
        })
    }

    /// Its exclusive lock, held until dropped: `restic key passwd` waiting
    /// for the new password, `borg with-lock REPO cat` for its input.
    pub fn lock(&self) -> RepoLock {
        let mut c = self.tool();
        if K::TOOL == Tool::Restic {
            let locks = self.repository.join("locks");
            c.args(["key", "passwd"]);
            RepoLock::hold(c, || {
                fs::read_dir(&locks).is_ok_and(|mut d| d.next().is_some())
            })
        } else {
            let lock = self.repository.join("lock.exclusive");
            c.arg("with-lock").arg(&self.repository).arg("cat");
            RepoLock::hold(c, || lock.exists())
        }
    }

    /// Damages its largest pack or segment (file data): listings still
    /// work, but `restic check` says "unexpected file size" (the pack is
    /// truncated) and `borg check` a "Segment entry checksum mismatch".
    pub fn corrupt(&self) {
        let file = largest_file(&self.repository.join("data"));
        let mut bytes = fs::read(&file).unwrap();
        if K::TOOL == Tool::Restic {
            bytes.truncate(100);
        } else {
            bytes[200..232].iter_mut().for_each(|b| *b ^= 0xA5);
        }
        fs::write(file, bytes).unwrap();
    }

    /// Its target, password included.
    pub fn target(&self, name: &str) -> ToolTarget {
        ToolTarget {
            repository: Some(self.repository.display().to_string()),
            password: Some(Secret::new(self.password.clone())),
            ..tool_target(name, K::TOOL)
        }
    }
}

impl<K: Kind> Drop for Repo<K> {
    /// The caches restic and Borg keep in the home directory (and Borg's
    /// security record) of this repository go with it.
    fn drop(&mut self) {
        let (Some(home), true) = (std::env::var_os("HOME"), self.id.len() >= 8) else {
            return;
        };
        let home = PathBuf::from(home);
        let dir = |var: &str, default: &str| {
            std::env::var_os(var).map_or(home.join(default), PathBuf::from)
        };
        let (cache, config) = (
            dir("XDG_CACHE_HOME", ".cache"),
            dir("XDG_CONFIG_HOME", ".config"),
        );
        for kept in [
            cache.join("restic"),
            cache.join("borg"),
            config.join("borg/security"),
        ] {
            for entry in fs::read_dir(kept).into_iter().flatten().flatten() {
                if entry.file_name().to_string_lossy().starts_with(&self.id) {
                    let _ = fs::remove_dir_all(entry.path());
                }
            }
        }
    }
}

#[path = "backup_postgres.rs"]
mod postgres;
#[allow(unused_imports)] // drill_keys.rs uses no cluster
pub use postgres::*;
