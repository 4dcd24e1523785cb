//! The PostgreSQL 15 cluster with a pgBackRest stanza of the backup-tool
//! tests (`backup_tools.rs` includes it): as `postgres` when the tests run
//! as root, on a free loopback port, its socket in its temporary directory,
//! stopped on drop.

use super::*;

/// A running PostgreSQL 15 cluster archiving its WAL to a pgBackRest stanza
/// (`STANZA`), with a table `drill_rows` of `ROWS` rows and one full backup.
pub struct PgCluster {
    pub dir: tempfile::TempDir,
    pub data_dir: PathBuf,
    pub socket_dir: PathBuf,
    pub port: u16,
    /// pgBackRest's configuration file (`--config`).
    pub config: PathBuf,
    /// pgBackRest's repository (`repo1-path`).
    pub repo: PathBuf,
    pub stanza: String,
    pub pg_bin: PathBuf,
    /// The user it runs as (`tool_user()`).
    pub user: Option<String>,
    pub taken: Vec<Taken>,
    running: bool,
}

impl PgCluster {
    /// Starts the cluster, creates the stanza and the table, and takes a
    /// full backup.
    pub fn new() -> PgCluster {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().to_path_buf();
        for sub in ["sock", "repo", "log", "lock", "spool"] {
            fs::create_dir_all(root.join(sub)).unwrap();
        }
        let mut pg = PgCluster {
            data_dir: root.join("data"),
            socket_dir: root.join("sock"),
            port: 0,
            config: root.join("pgbackrest.conf"),
            repo: root.join("repo"),
            stanza: STANZA.into(),
            pg_bin: PG_BIN.into(),
            user: tool_user(),
            taken: Vec::new(),
            running: false,
            dir,
        };
        pg.write_backrest_config();
        pg.give_to_user(&root);
        run_ok(
            pg.as_user(&pg.pg_bin.join("initdb"))
                .args(["-A", "trust", "-U", "postgres", "--no-sync", "-D"])
                .arg(&pg.data_dir),
            "initdb",
        );
        pg.start();
        run_ok(
            pg.backrest().arg("stanza-create"),
            "pgbackrest stanza-create",
        );
        pg.psql(&format!(
            "create table drill_rows (id int primary key, note text); \
             insert into drill_rows select i, 'row ' || i from generate_series(1, {ROWS}) i;"
        ));
        pg.backup();
        pg
    }

    /// Runs `program` as the cluster's user.
    pub fn as_user(&self, program: &Path) -> Command {
        let mut c = Command::new(program);
        if let Some(user) = self.user.as_deref().and_then(User::named) {
            c.uid(user.uid)
                .gid(user.gid)
                .env("HOME", &user.home)
                .env("USER", &user.name);
        }
        c.current_dir(self.dir.path());
        c
    }

    /// `pgbackrest --config=… --stanza=…`, as the cluster's user.
    pub fn backrest(&self) -> Command {
        let mut c = self.as_user(Path::new("pgbackrest"));
        c.arg(format!("--config={}", self.config.display()))
            .arg(format!("--stanza={}", self.stanza));
        c
    }

    /// Runs SQL with psql over the socket; its output, unaligned, no header.
    pub fn psql(&self, sql: &str) -> String {
        let mut psql = self.as_user(&self.pg_bin.join("psql"));
        psql.arg(format!("--host={}", self.socket_dir.display()))
            .arg(format!("--port={}", self.port))
            .args([
                "-U",
                "postgres",
                "-d",
                "postgres",
                "-XAt",
                "-v",
                "ON_ERROR_STOP=1",
            ]);
        let out = run_ok(psql.args(["-c", sql]), "psql");
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    /// A full backup.
    pub fn backup(&mut self) -> Taken {
        let mut command = self.backrest();
        command.args(["--type=full", "backup"]);
        let backups = self.repo.join("backup").join(&self.stanza);
        timed(&mut self.taken, true, || {
            run_ok(&mut command, "pgbackrest backup");
            // The newest full backup's label (`20261207-152408F`).
            fs::read_dir(&backups)
                .unwrap()
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .filter(|n| n.ends_with('F'))
                .max()
                .expect("pgbackrest backup: no backup in the repository")
        })
    }

    /// Overwrites `PG_VERSION` in the newest backup: `pgbackrest verify`
    /// then says its checksum is invalid.
    pub fn corrupt(&self) {
        let label = &self.taken.last().expect("no backup").name;
        let file = self
            .repo
            .join("backup")
            .join(&self.stanza)
            .join(label)
            .join("pg_data/PG_VERSION");
        fs::write(file, "garbage\n").unwrap();
    }

    /// Its target: stanza, configuration file and user.
    pub fn target(&self, name: &str) -> ToolTarget {
        let mut t = tool_target(name, Tool::PgBackRest);
        t.stanza = Some(self.stanza.clone());
        t.config = Some(self.config.clone());
        t.user = self.user.clone();
        t.drill.pg_bin = Some(self.pg_bin.clone());
        t.drill.user = self.user.clone();
        t
    }

    /// Stops the cluster (fast shutdown); drop does it too.
    pub fn stop(&mut self) {
        if std::mem::take(&mut self.running) {
            let _ = self
                .as_user(&self.pg_bin.join("pg_ctl"))
                .args(["-m", "immediate", "-w", "stop", "-D"])
                .arg(&self.data_dir)
                .output();
        }
    }

    /// pgBackRest's configuration: everything inside the directory.
    fn write_backrest_config(&self) {
        let root = self.dir.path();
        let text = format!(
            "[global]\nrepo1-path={}\nrepo1-retention-full=10\nlog-path={}\n\
             lock-path={}\nspool-path={}\nlog-level-console=warn\nlog-level-file=off\n\
             start-fast=y\ncompress-type=none\n\n[{}]\npg1-path={}\npg1-socket-path={}\n\
             pg1-port={}\n",
            self.repo.display(),
            root.join("log").display(),
            root.join("lock").display(),
            root.join("spool").display(),
            self.stanza,
            self.data_dir.display(),
            self.socket_dir.display(),
            self.port,
        );
        fs::write(&self.config, text).unwrap();
    }

    /// When the tests are root, the whole directory belongs to the user.
    fn give_to_user(&self, dir: &Path) {
        let Some(user) = self.user.as_deref().and_then(User::named) else {
            return;
        };
        for path in walk(dir) {
            std::os::unix::fs::chown(&path, Some(user.uid), Some(user.gid)).unwrap();
        }
    }

    /// Starts PostgreSQL on a free loopback port (a fresh one if the port
    /// was taken meanwhile), archiving through pgBackRest.
    fn start(&mut self) {
        let conf = self.data_dir.join("postgresql.conf");
        let base = fs::read_to_string(&conf).unwrap();
        for attempt in 0..5 {
            self.port = free_port();
            let settings = format!(
                "\nlisten_addresses = '127.0.0.1'\nport = {}\nunix_socket_directories = '{}'\n\
                 archive_mode = on\narchive_command = 'pgbackrest --config={} --stanza={} archive-push %p'\n\
                 wal_level = replica\nfsync = off\nshared_buffers = 16MB\nmax_connections = 20\n",
                self.port,
                self.socket_dir.display(),
                self.config.display(),
                self.stanza,
            );
            fs::write(&conf, format!("{base}{settings}")).unwrap();
            self.write_backrest_config();
            let started = self
                .as_user(&self.pg_bin.join("pg_ctl"))
                .args(["-w", "-t", "20", "-l"])
                .arg(self.dir.path().join("log/postgresql.log"))
                .arg("-D")
                .arg(&self.data_dir)
                .arg("start")
                .stdin(Stdio::null())
                .output()
                .unwrap();
            if started.status.success() {
                self.running = true;
                return;
            }
            assert!(
                attempt < 4,
                "PostgreSQL did not start: {}",
                fs::read_to_string(self.dir.path().join("log/postgresql.log")).unwrap_or_default()
            );
        }
    }
}

impl Drop for PgCluster {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A port free on 127.0.0.1 a moment ago.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}
