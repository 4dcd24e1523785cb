//! Temporary directories, free ports, and server processes that are killed
//! on drop.

use std::fs::{self, File};
use std::io::ErrorKind;
use std::net::{Ipv4Addr, Ipv6Addr, TcpListener, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use super::http::{http_request, shorten};

/// How long a server may take to answer its readiness probe.
pub const READY_TIMEOUT: Duration = Duration::from_secs(30);
/// How many times a server is started on fresh ports after a port clash.
const PORT_ATTEMPTS: usize = 5;
/// Set this variable to keep every temporary directory (they are printed).
pub const KEEP_DIRS_ENV: &str = "OPSDECK_TEST_KEEP_DIRS";

// ---------------------------------------------------------------------------
// Temporary directories
// ---------------------------------------------------------------------------

/// A fresh directory under `std::env::temp_dir()`, removed on drop (unless
/// `OPSDECK_TEST_KEEP_DIRS` is set).
#[derive(Debug)]
pub struct TempDir {
    path: PathBuf,
}

impl TempDir {
    /// Creates `<tmp>/opsdeck-test-<label>-<pid>-<n>-<nanos>`.
    pub fn new(label: &str) -> TempDir {
        static COUNTER: AtomicU32 = AtomicU32::new(0);
        loop {
            let n = COUNTER.fetch_add(1, Ordering::Relaxed);
            let nanos = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map(|d| d.subsec_nanos())
                .unwrap_or(0);
            let path = std::env::temp_dir().join(format!(
                "opsdeck-test-{label}-{}-{n}-{nanos:08x}",
                std::process::id()
            ));
            match fs::create_dir(&path) {
                Ok(()) => return TempDir { path },
                Err(e) if e.kind() == ErrorKind::AlreadyExists => continue,
                Err(e) => panic!("cannot create the directory {}: {e}", path.display()),
            }
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn join(&self, name: impl AsRef<Path>) -> PathBuf {
        self.path.join(name)
    }

    /// `opsdeck status --json --config CONFIG` run with this directory as
    /// its home (and no `$OPSDECK_CONFIG`): its JSON, and its standard
    /// error and exit code. Panics, with what it printed, when the output is
    /// not JSON.
    pub fn status_json(&self, config: &Path) -> (serde_json::Value, String, Option<i32>) {
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_opsdeck"))
            .args(["status", "--json", "--config"])
            .arg(config)
            .env("HOME", self.path())
            .env("XDG_CONFIG_HOME", self.join("config"))
            .env("XDG_STATE_HOME", self.join("state"))
            .env_remove("OPSDECK_CONFIG")
            .output()
            .expect("runs opsdeck");
        let stdout = String::from_utf8_lossy(&output.stdout);
        let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
        let json = serde_json::from_str(&stdout).unwrap_or_else(|e| {
            panic!("status --json is not JSON ({e}):\n{stdout}\nstderr:\n{stderr}")
        });
        (json, stderr, output.status.code())
    }

    /// Writes `contents` to `name` inside the directory; returns the path.
    pub fn write(&self, name: &str, contents: &str) -> PathBuf {
        let path = self.join(name);
        fs::write(&path, contents)
            .unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
        path
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        if std::env::var_os(KEEP_DIRS_ENV).is_some() {
            eprintln!("[support] kept {}", self.path.display());
        } else {
            let _ = fs::remove_dir_all(&self.path);
        }
    }
}

// ---------------------------------------------------------------------------
// Ports
// ---------------------------------------------------------------------------

/// A port that is free on 127.0.0.1 for both TCP and UDP right now (the
/// Alertmanager cluster port needs both), and that this test binary has not
/// handed out before. Another process can still take it before the server
/// binds it: `Server::launch` retries on a clash.
pub fn free_port() -> u16 {
    static HANDED_OUT: Mutex<Vec<u16>> = Mutex::new(Vec::new());
    for _ in 0..200 {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .unwrap_or_else(|e| panic!("cannot bind 127.0.0.1:0: {e}"));
        let port = listener
            .local_addr()
            .expect("a bound listener has an address")
            .port();
        drop(listener);
        if UdpSocket::bind((Ipv4Addr::LOCALHOST, port)).is_err() {
            continue;
        }
        let mut handed_out = HANDED_OUT.lock().unwrap_or_else(|e| e.into_inner());
        if !handed_out.contains(&port) {
            handed_out.push(port);
            return port;
        }
    }
    panic!("no free port found on 127.0.0.1 after 200 tries");
}

// ---------------------------------------------------------------------------
// Waiting
// ---------------------------------------------------------------------------

/// Calls `f` every 100 ms until it returns `Some`, and returns that; panics
/// after `timeout`, naming `what`.
pub fn wait_until<T>(what: &str, timeout: Duration, mut f: impl FnMut() -> Option<T>) -> T {
    wait_until_or(
        what,
        timeout,
        Duration::from_millis(100),
        || f().ok_or_else(String::new),
        String::new,
    )
}

/// Calls `f` every `interval` until it returns `Ok`, and returns that. `f`
/// describes what it saw with `Err` (the last response...): on timeout the
/// panic message names `what` and gives the last `Err` and `context()` (a
/// log tail, say).
pub fn wait_until_or<T>(
    what: &str,
    timeout: Duration,
    interval: Duration,
    mut f: impl FnMut() -> Result<T, String>,
    context: impl FnOnce() -> String,
) -> T {
    let start = Instant::now();
    loop {
        let last = match f() {
            Ok(value) => return value,
            Err(last) => last,
        };
        if start.elapsed() >= timeout {
            let mut message = format!("timed out after {timeout:?} waiting for {what}");
            for extra in [last, context()] {
                if !extra.is_empty() {
                    message.push('\n');
                    message.push_str(&extra);
                }
            }
            panic!("{message}");
        }
        std::thread::sleep(interval);
    }
}

// ---------------------------------------------------------------------------
// Logs
// ---------------------------------------------------------------------------

/// The last `lines` lines of the file at `path` (lossy UTF-8).
pub fn file_tail(path: &Path, lines: usize) -> String {
    match fs::read(path) {
        Ok(bytes) => {
            let text = String::from_utf8_lossy(&bytes);
            let all: Vec<&str> = text.lines().collect();
            all[all.len().saturating_sub(lines)..].join("\n")
        }
        Err(e) => format!("(cannot read {}: {e})", path.display()),
    }
}

/// The log's error lines (`level=error`, VictoriaMetrics' `\terror\t`,
/// fatal, panic), at most 10, as a block for a panic message; empty if none.
fn error_lines(path: &Path) -> String {
    let Ok(bytes) = fs::read(path) else {
        return String::new();
    };
    let text = String::from_utf8_lossy(&bytes);
    let errors: Vec<&str> = text
        .lines()
        .filter(|l| {
            [
                "level=error",
                "level=fatal",
                "\terror\t",
                "\tfatal\t",
                "\tpanic\t",
            ]
            .iter()
            .any(|marker| l.contains(marker))
        })
        .take(10)
        .collect();
    if errors.is_empty() {
        String::new()
    } else {
        format!("errors in the log:\n{}\n", errors.join("\n"))
    }
}

// ---------------------------------------------------------------------------
// Servers
// ---------------------------------------------------------------------------

type CommandBuilder = Box<dyn FnMut(&[u16]) -> Command + Send>;

/// A server process started by a test: killed and waited for on drop (also
/// when the test panics), with its own temporary directory (removed after
/// the process is gone) holding its configuration, data and `<name>.log`
/// (stdout and stderr).
///
/// If the test binary itself is killed with SIGKILL, the servers outlive it;
/// Ctrl-C reaches them too, as they stay in the test's process group.
pub struct Server {
    name: &'static str,
    child: Option<Child>,
    ports: Vec<u16>,
    ready_path: String,
    log: PathBuf,
    startup: Duration,
    build: CommandBuilder,
    // Dropped after `drop` has killed the process.
    dir: TempDir,
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server")
            .field("name", &self.name)
            .field("pid", &self.child.as_ref().map(Child::id))
            .field("ports", &self.ports)
            .field("dir", &self.dir.path())
            .finish()
    }
}

enum Outcome {
    Ready,
    PortClash(String),
}

impl Server {
    /// Starts the command `build(ports)` (with `ports` fresh free ports,
    /// `ports[0]` being the HTTP port) in `dir`, and waits until
    /// `GET http://127.0.0.1:<ports[0]><ready_path>` answers 200 from that
    /// very process. On a port clash ("address already in use") it starts
    /// again on fresh ports. Once ready, it checks in `/proc` that the
    /// process listens on nothing but 127.0.0.1.
    pub fn launch(
        name: &'static str,
        dir: TempDir,
        port_count: usize,
        ready_path: &str,
        build: impl FnMut(&[u16]) -> Command + Send + 'static,
    ) -> Server {
        assert!(port_count >= 1, "a server needs at least its HTTP port");
        let mut server = Server {
            name,
            child: None,
            ports: Vec::new(),
            ready_path: ready_path.to_owned(),
            log: dir.join(format!("{name}.log")),
            startup: Duration::ZERO,
            build: Box::new(build),
            dir,
        };
        let mut clashes = Vec::new();
        for _ in 0..PORT_ATTEMPTS {
            server.ports = (0..port_count).map(|_| free_port()).collect();
            match server.spawn_and_wait() {
                Outcome::Ready => return server,
                Outcome::PortClash(tail) => clashes.push(tail),
            }
        }
        panic!(
            "{name}: a port clash on each of {PORT_ATTEMPTS} attempts; last log:\n{}",
            clashes.last().map(String::as_str).unwrap_or("")
        );
    }

    fn spawn_and_wait(&mut self) -> Outcome {
        let started = Instant::now();
        let mut command = (self.build)(&self.ports);
        let log = File::create(&self.log)
            .unwrap_or_else(|e| panic!("cannot create {}: {e}", self.log.display()));
        let log_err = log
            .try_clone()
            .unwrap_or_else(|e| panic!("cannot clone the log handle: {e}"));
        command
            .current_dir(self.dir.path())
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log_err);
        let shown = format!("{command:?}");
        let child = command.spawn().unwrap_or_else(|e| {
            panic!(
                "cannot start {}: {e}\n(command: {shown}; the Debian packages are installed by .ci/run)",
                self.name
            )
        });
        self.child = Some(child);
        let pid = self.pid();
        let url = format!("http://127.0.0.1:{}{}", self.ports[0], self.ready_path);
        let mut last;
        loop {
            let exited = self
                .child
                .as_mut()
                .and_then(|child| child.try_wait().ok().flatten());
            if let Some(status) = exited {
                self.child = None;
                let tail = self.log_tail(40);
                if tail.contains("address already in use") {
                    return Outcome::PortClash(tail);
                }
                panic!(
                    "{} exited ({status}) before becoming ready\ncommand: {shown}\n{}last lines of {}:\n{tail}",
                    self.name,
                    error_lines(&self.log),
                    self.log.display()
                );
            }
            match http_request("GET", &url, None, None, Duration::from_secs(2)) {
                Ok(response) if response.status == 200 => {
                    // A 200 from a stranger who holds the port does not count:
                    // our process must own the listening socket.
                    match listeners_of(pid) {
                        Some(listeners) if !listens_on_port(&listeners, self.ports[0]) => {
                            last = format!("{url} answered, but not from pid {pid}");
                        }
                        listeners => {
                            self.startup = started.elapsed();
                            if let Some(listeners) = listeners {
                                self.assert_loopback_only(&listeners);
                            }
                            eprintln!(
                                "[support] {} ready at http://127.0.0.1:{} in {} ms (pid {pid}, {})",
                                self.name,
                                self.ports[0],
                                self.startup.as_millis(),
                                self.dir.path().display()
                            );
                            return Outcome::Ready;
                        }
                    }
                }
                Ok(response) => {
                    last = format!("HTTP {}: {}", response.status, shorten(&response.body, 500));
                }
                Err(e) => last = e,
            }
            if started.elapsed() > READY_TIMEOUT {
                panic!(
                    "{} did not become ready within {READY_TIMEOUT:?} (last probe of {url}: {last})\ncommand: {shown}\nlast lines of {}:\n{}",
                    self.name,
                    self.log.display(),
                    self.log_tail(40)
                );
            }
            std::thread::sleep(Duration::from_millis(25));
        }
    }

    fn assert_loopback_only(&self, listeners: &[Listener]) {
        let strays: Vec<String> = listeners
            .iter()
            .filter(|l| !l.loopback)
            .map(|l| format!("{} {}", l.proto, l.addr))
            .collect();
        assert!(
            strays.is_empty(),
            "{} (pid {}) listens beyond 127.0.0.1: {strays:?}; the harness must only ever use 127.0.0.1",
            self.name,
            self.pid()
        );
    }

    /// The name given at launch ("prometheus", "alertmanager"...).
    pub fn name(&self) -> &str {
        self.name
    }

    /// `http://127.0.0.1:<port>`, without a trailing slash.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.ports[0])
    }

    /// `127.0.0.1:<port>`, as a scrape target or an Alertmanager address.
    pub fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.ports[0])
    }

    /// The HTTP port.
    pub fn port(&self) -> u16 {
        self.ports[0]
    }

    /// Every port given to the command (the HTTP port first).
    pub fn ports(&self) -> &[u16] {
        &self.ports
    }

    /// The process id; 0 while stopped.
    pub fn pid(&self) -> u32 {
        self.child.as_ref().map(Child::id).unwrap_or(0)
    }

    /// The server's own temporary directory.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    pub fn log_path(&self) -> &Path {
        &self.log
    }

    /// The last `lines` lines of the server's log.
    pub fn log_tail(&self, lines: usize) -> String {
        file_tail(&self.log, lines)
    }

    /// A ready-made "last lines of the log" block for panic messages.
    pub fn log_context(&self) -> String {
        format!(
            "last lines of {}:\n{}",
            self.log.display(),
            self.log_tail(30)
        )
    }

    /// How long the last start took until the readiness probe answered.
    pub fn startup_time(&self) -> Duration {
        self.startup
    }

    /// Kills the process (SIGKILL) and waits for it; the directory stays.
    /// For "the server goes away" tests; see [`Server::restart`].
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the same command again on the same ports and data directory,
    /// and waits until it is ready ("the server comes back"). Panics if the
    /// port was taken in the meantime.
    pub fn restart(&mut self) {
        self.stop();
        if let Outcome::PortClash(tail) = self.spawn_and_wait() {
            panic!(
                "{}: cannot restart on port {}, it was taken meanwhile:\n{tail}",
                self.name, self.ports[0]
            );
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop();
    }
}

// ---------------------------------------------------------------------------
// Listening sockets, from /proc
// ---------------------------------------------------------------------------

struct Listener {
    proto: &'static str,
    addr: String,
    port: u16,
    loopback: bool,
}

fn listens_on_port(listeners: &[Listener], port: u16) -> bool {
    listeners
        .iter()
        .any(|l| l.proto.starts_with("tcp") && l.port == port)
}

/// The TCP sockets in LISTEN state and the bound, unconnected UDP sockets
/// held by `pid`; `None` when `/proc` cannot tell (not Linux).
fn listeners_of(pid: u32) -> Option<Vec<Listener>> {
    let mut inodes = Vec::new();
    for entry in fs::read_dir(format!("/proc/{pid}/fd")).ok()?.flatten() {
        if let Ok(target) = fs::read_link(entry.path()) {
            let target = target.to_string_lossy();
            if let Some(inode) = target
                .strip_prefix("socket:[")
                .and_then(|rest| rest.strip_suffix(']'))
            {
                inodes.push(inode.to_owned());
            }
        }
    }
    let mut listeners = Vec::new();
    // TCP_LISTEN is 0A; an unconnected UDP socket shows TCP_CLOSE, 07.
    for (proto, state) in [("tcp", "0A"), ("tcp6", "0A"), ("udp", "07"), ("udp6", "07")] {
        let Ok(table) = fs::read_to_string(format!("/proc/{pid}/net/{proto}")) else {
            continue;
        };
        for line in table.lines().skip(1) {
            let fields: Vec<&str> = line.split_whitespace().collect();
            if fields.len() < 10 || fields[3] != state || !inodes.iter().any(|i| i == fields[9]) {
                continue;
            }
            let Some((addr_hex, port_hex)) = fields[1].split_once(':') else {
                continue;
            };
            let port = u16::from_str_radix(port_hex, 16).unwrap_or(0);
            if port == 0 {
                continue;
            }
            let (addr, loopback) = decode_proc_addr(addr_hex);
            listeners.push(Listener {
                proto,
                addr: format!("{addr}:{port}"),
                port,
                loopback,
            });
        }
    }
    Some(listeners)
}

/// Decodes an address of `/proc/net/{tcp,udp}{,6}` (32-bit words in host
/// byte order); true when it is 127.0.0.1 (or ::ffff:127.0.0.1).
fn decode_proc_addr(hex: &str) -> (String, bool) {
    let words: Vec<[u8; 4]> = (0..hex.len() / 8)
        .filter_map(|i| u32::from_str_radix(&hex[i * 8..i * 8 + 8], 16).ok())
        .map(u32::to_ne_bytes)
        .collect();
    match words.as_slice() {
        [v4] => {
            let ip = Ipv4Addr::from(*v4);
            (ip.to_string(), ip == Ipv4Addr::LOCALHOST)
        }
        [a, b, c, d] => {
            let mut bytes = [0u8; 16];
            for (i, word) in [a, b, c, d].into_iter().enumerate() {
                bytes[i * 4..i * 4 + 4].copy_from_slice(word);
            }
            let ip = Ipv6Addr::from(bytes);
            let loopback = ip.to_ipv4_mapped() == Some(Ipv4Addr::LOCALHOST);
            (format!("[{ip}]"), loopback)
        }
        _ => (hex.to_owned(), false),
    }
}
