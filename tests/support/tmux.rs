//! The tmux driver of the end-to-end tests (`e2e_tmux.rs`, `e2e_live.rs`):
//! the real `opsdeck` binary in a real terminal.
//!
//! A [`Tmux`] is one private tmux server (`tmux -L <unique socket> -f
//! /dev/null`, so tests run in parallel and never touch the user's tmux)
//! with one session, `main`, whose pane gets a private `HOME`,
//! `XDG_CONFIG_HOME` and `XDG_STATE_HOME` under the system temporary
//! directory. Dropping it kills the server, then any opsdeck it ran that is
//! still running, then removes the home, also when the test panics.
//!
//! Every wait polls the screen (or `/proc`) every [`Harness::poll`] up to
//! [`Harness::wait`], and a timeout panics with what was still missing and
//! the last screen. Everything a test checks about one screen goes into one
//! [`Expect`], so a capture taken while tmux is still part-way through
//! drawing a frame only means another poll, never a false failure.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Output, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// How a test binary names its tmux servers and homes, and how long it
/// waits for a screen.
#[derive(Clone, Copy, Debug)]
pub struct Harness {
    /// The start of every tmux socket's and home directory's name.
    pub prefix: &'static str,
    /// How long a screen may take to show what a test waits for.
    pub wait: Duration,
    /// How often the screen (or `/proc`) is looked at meanwhile.
    pub poll: Duration,
}

/// How long the opsdeck process may take to appear under a started pane.
const PID_WAIT: Duration = Duration::from_secs(10);
/// How long the guard lets opsdeck exit after killing its tmux server,
/// before it sends SIGKILL.
const DROP_WAIT: Duration = Duration::from_secs(2);

pub fn tmux_available() -> bool {
    Command::new("tmux")
        .arg("-V")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Fails the test at once, with the remedy, when there is no tmux to drive.
#[track_caller]
pub fn require_tmux() {
    assert!(
        tmux_available(),
        "the end-to-end tests need tmux: apt-get install tmux (.ci/run does)"
    );
}

/// Quotes `s` for a POSIX shell.
pub fn sh_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// One private tmux server with one session, `main`, and a private home.
/// Dropping it kills the server, then any opsdeck it found that is still
/// running, then removes the home.
pub struct Tmux {
    harness: Harness,
    socket: String,
    dir: PathBuf,
    /// opsdeck processes seen in the pane; killed on drop if still alive.
    pids: Vec<u32>,
    /// The server's socket, which tmux leaves behind when it exits.
    socket_path: Option<PathBuf>,
}

impl Tmux {
    /// A fresh server name and home for the test `name`; nothing runs yet.
    pub fn new(harness: Harness, name: &str) -> Tmux {
        let pid = std::process::id();
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let socket = format!("{}-{pid}-{name}-{nanos}", harness.prefix);
        let dir = std::env::temp_dir().join(&socket);
        fs::create_dir_all(dir.join("config")).expect("creating the test home");
        fs::create_dir_all(dir.join("state")).expect("creating the test home");
        Tmux {
            harness,
            socket,
            dir,
            pids: Vec::new(),
            socket_path: None,
        }
    }

    /// The private home (`config/` and `state/` in it are the pane's
    /// `XDG_CONFIG_HOME` and `XDG_STATE_HOME`).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// `file` in the private home, as a string for a shell script.
    pub fn path(&self, file: &str) -> String {
        self.dir.join(file).display().to_string()
    }

    /// Starts the server with a `width`x`height` session running `script`
    /// under `sh -c`, in an environment that points at the private home.
    pub fn start(&mut self, width: u16, height: u16, script: &str) {
        self.start_unsetting(width, height, &[], script);
    }

    /// [`Tmux::start`], with the variables `unset` also removed from the
    /// pane's environment.
    pub fn start_unsetting(&mut self, width: u16, height: u16, unset: &[&str], script: &str) {
        let (w, h) = (width.to_string(), height.to_string());
        let home_var = format!("HOME={}", self.dir.display());
        let config = format!("XDG_CONFIG_HOME={}", self.path("config"));
        let state = format!("XDG_STATE_HOME={}", self.path("state"));
        // Several arguments after the options: tmux runs them directly, not
        // through the user's shell, so `env` sets the pane's environment.
        #[rustfmt::skip]
        let mut args = vec![
            "new-session", "-d", "-x", &w, "-y", &h, "-s", "main",
            "env", "-u", "NO_COLOR", "-u", "TMUX", "-u", "TMUX_PANE",
        ];
        for &var in unset {
            args.extend(["-u", var]);
        }
        args.extend([home_var.as_str(), &config, &state, "sh", "-c", script]);
        self.tmux_ok(&args);
        self.socket_path = Some(PathBuf::from(
            self.tmux_ok(&["display-message", "-p", "#{socket_path}"])
                .trim(),
        ));
    }

    /// Runs a tmux command against this server.
    pub fn tmux(&self, args: &[&str]) -> std::io::Result<Output> {
        Command::new("tmux")
            .args(["-L", &self.socket, "-f", "/dev/null"])
            .args(args)
            .env_remove("TMUX")
            .env_remove("TMUX_PANE")
            .env_remove("NO_COLOR")
            .env("HOME", &self.dir)
            .env("XDG_CONFIG_HOME", self.dir.join("config"))
            .env("XDG_STATE_HOME", self.dir.join("state"))
            .stdin(Stdio::null())
            .output()
    }

    /// Runs a tmux command that must succeed; returns its standard output.
    pub fn tmux_ok(&self, args: &[&str]) -> String {
        let out = self
            .tmux(args)
            .unwrap_or_else(|e| panic!("cannot run tmux {args:?}: {e}"));
        assert!(
            out.status.success(),
            "tmux {args:?} failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// The visible pane as text (`escapes`: with tmux's own SGR sequences
    /// for the cells' attributes, `capture-pane -e`), or why it could not
    /// be read.
    pub fn capture_with(&self, escapes: bool) -> Result<String, String> {
        let args: &[&str] = if escapes {
            &["capture-pane", "-e", "-p", "-t", "main"]
        } else {
            &["capture-pane", "-p", "-t", "main"]
        };
        match self.tmux(args) {
            Ok(out) if out.status.success() => {
                Ok(String::from_utf8_lossy(&out.stdout).into_owned())
            }
            Ok(out) => Err(format!(
                "capture-pane failed: {}",
                String::from_utf8_lossy(&out.stderr)
            )),
            Err(e) => Err(format!("cannot run tmux: {e}")),
        }
    }

    /// The visible pane as text, or why it could not be read.
    pub fn capture(&self) -> Result<String, String> {
        self.capture_with(false)
    }

    /// Polls the screen until `check` passes and returns that screen; after
    /// [`Harness::wait`], panics with what was still missing and the last
    /// screen.
    pub fn wait_check(&self, what: &str, check: impl Fn(&str) -> Result<(), String>) -> String {
        let wait = self.harness.wait;
        let deadline = Instant::now() + wait;
        loop {
            let last = self.capture().and_then(|screen| match check(&screen) {
                Ok(()) => Ok(screen),
                Err(unmet) => Err(format!("still missing: {unmet}; last screen:\n{screen}")),
            });
            match last {
                Ok(screen) => return screen,
                Err(why) if Instant::now() >= deadline => {
                    panic!("timed out after {wait:?} waiting for {what}; {why}\n(end of screen)")
                }
                Err(_) => std::thread::sleep(self.harness.poll),
            }
        }
    }

    pub fn wait_until(&self, what: &str, ok: impl Fn(&str) -> bool) -> String {
        self.wait_check(what, |s| if ok(s) { Ok(()) } else { Err(what.to_owned()) })
    }

    /// Waits until one screen meets the whole expectation.
    pub fn expect(&self, what: &str, expect: Expect) -> String {
        self.wait_check(what, |screen| {
            let unmet = expect.unmet(screen);
            if unmet.is_empty() {
                Ok(())
            } else {
                Err(unmet.join(", "))
            }
        })
    }

    pub fn wait_for(&self, text: &str) -> String {
        self.expect(&format!("{text:?}"), Expect::default().has(&[text]))
    }

    /// Waits until tab `n` (1..=5) is the one shown.
    pub fn wait_tab(&self, n: usize) -> String {
        self.expect(&format!("tab {n}"), Expect::on(n))
    }

    /// Sends one key, named as tmux knows it (`Enter`, `Escape`, `BTab`,
    /// `Down`, `q`).
    pub fn send(&self, key: &str) {
        self.tmux_ok(&["send-keys", "-t", "main", key]);
    }

    /// Sends `key`, then waits until the screen meets `expect`.
    pub fn press(&self, key: &str, what: &str, expect: Expect) -> String {
        self.send(key);
        self.expect(what, expect)
    }

    /// Presses the digit of tab `n` and waits until that tab is shown.
    pub fn go_to_tab(&self, n: usize) {
        self.send(&n.to_string());
        self.wait_tab(n);
    }

    /// Presses the digit of tab `n`, then waits until tab `n` meets `expect`.
    pub fn tab(&self, n: usize, what: &str, expect: Expect) -> String {
        self.send(&n.to_string());
        self.expect(
            what,
            Expect {
                tab: Some(n),
                ..expect
            },
        )
    }

    /// Types `text` literally.
    pub fn type_text(&self, text: &str) {
        self.tmux_ok(&["send-keys", "-t", "main", "-l", text]);
    }

    /// A tmux format (`#{pane_pid}`) expanded for the pane.
    pub fn display(&self, format: &str) -> String {
        self.tmux_ok(&["display-message", "-p", "-t", "main", format])
            .trim()
            .to_owned()
    }

    /// The opsdeck process running in the pane (a descendant of the pane's
    /// process), remembered so the guard can kill it if the test fails.
    pub fn opsdeck_pid(&mut self) -> u32 {
        let pane: u32 = self
            .display("#{pane_pid}")
            .parse()
            .expect("tmux printed a pane pid");
        let deadline = Instant::now() + PID_WAIT;
        loop {
            let found: Vec<u32> = descendants(pane)
                .into_iter()
                .filter(|(_, comm)| comm == "opsdeck")
                .map(|(pid, _)| pid)
                .collect();
            if let [pid] = found[..] {
                self.pids.push(pid);
                return pid;
            }
            if Instant::now() >= deadline {
                let screen = self.capture().unwrap_or_default();
                panic!(
                    "no single opsdeck process under pane process {pane} after {PID_WAIT:?} (found {found:?}); processes: {:?}; screen:\n{screen}",
                    descendants(pane)
                );
            }
            std::thread::sleep(self.harness.poll);
        }
    }

    /// Polls `/proc` until `pid` has exited; false if it still runs after
    /// `within`.
    pub fn wait_exited(&self, pid: u32, within: Duration) -> bool {
        let deadline = Instant::now() + within;
        loop {
            if !alive(pid) {
                return true;
            }
            if Instant::now() >= deadline {
                return false;
            }
            std::thread::sleep(self.harness.poll);
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.tmux(&["kill-server"]);
        for &pid in &self.pids {
            if !self.wait_exited(pid, DROP_WAIT) && comm(pid).as_deref() == Some("opsdeck") {
                eprintln!(
                    "opsdeck {pid} still running after its tmux server was killed; sending SIGKILL"
                );
                let _ = send_signal(pid, "KILL");
            }
        }
        if let Some(socket) = &self.socket_path {
            let _ = fs::remove_file(socket);
        }
        let _ = fs::remove_dir_all(&self.dir);
    }
}

// ---------------------------------------------------------------------------
// Screens
// ---------------------------------------------------------------------------

/// A panel title only tab n has (the box corner keeps it apart from the
/// tab line and from `Services by error budget`).
pub const TAB_MARKERS: [&str; 5] = [
    "╭ Availability 30d",
    "╭ Hosts",
    "╭ Deployments",
    "╭ Backups",
    "╭ Silences",
];

/// The tab on `screen`: the one whose panel title alone is shown.
pub fn on_tab(screen: &str) -> Option<usize> {
    let shown: Vec<usize> = (1..=5)
        .filter(|&n| screen.contains(TAB_MARKERS[n - 1]))
        .collect();
    match shown[..] {
        [n] => Some(n),
        _ => None,
    }
}

/// True when one line of the screen holds all of `words`.
pub fn has_line(screen: &str, words: &[&str]) -> bool {
    screen
        .lines()
        .any(|line| words.iter().all(|w| line.contains(w)))
}

/// What one screen must show.
#[derive(Default, Clone, Copy)]
pub struct Expect<'a> {
    /// The tab on screen, judged by its panel titles.
    pub tab: Option<usize>,
    /// Texts somewhere on the screen.
    pub has: &'a [&'a str],
    /// Texts nowhere on the screen.
    pub lacks: &'a [&'a str],
    /// Groups of texts that share one line (one table row).
    pub lines: &'a [&'a [&'a str]],
    /// Groups of texts of which at least one is on screen.
    pub any: &'a [&'a [&'a str]],
}

impl<'a> Expect<'a> {
    /// Tab `n` on screen; add to it with `has`, `lacks`, `lines` and `any`.
    pub fn on(n: usize) -> Self {
        Expect {
            tab: Some(n),
            ..Expect::default()
        }
    }

    pub fn has(self, has: &'a [&'a str]) -> Self {
        Expect { has, ..self }
    }

    pub fn lacks(self, lacks: &'a [&'a str]) -> Self {
        Expect { lacks, ..self }
    }

    pub fn lines(self, lines: &'a [&'a [&'a str]]) -> Self {
        Expect { lines, ..self }
    }

    pub fn any(self, any: &'a [&'a [&'a str]]) -> Self {
        Expect { any, ..self }
    }

    /// What `screen` does not meet, one description each; empty if all.
    pub fn unmet(&self, screen: &str) -> Vec<String> {
        let mut unmet = Vec::new();
        if let Some(n) = self.tab
            && on_tab(screen) != Some(n)
        {
            unmet.push(format!("tab {n} (panel {:?} alone)", TAB_MARKERS[n - 1]));
        }
        unmet.extend(
            self.has
                .iter()
                .filter(|t| !screen.contains(*t))
                .map(|t| format!("{t:?}")),
        );
        unmet.extend(
            self.lacks
                .iter()
                .filter(|t| screen.contains(*t))
                .map(|t| format!("{t:?} gone")),
        );
        for words in self.lines {
            if !has_line(screen, words) {
                unmet.push(format!("one line with all of {words:?}"));
            }
        }
        for texts in self.any {
            if !texts.iter().any(|t| screen.contains(t)) {
                unmet.push(format!("one of {texts:?}"));
            }
        }
        unmet
    }
}

/// The status printed by `echo "EXIT=$?"`.
pub fn exit_code(screen: &str) -> Option<i32> {
    screen
        .lines()
        .find_map(|l| l.trim().strip_prefix("EXIT="))
        .and_then(|c| c.trim().parse().ok())
}

// ---------------------------------------------------------------------------
// Processes
// ---------------------------------------------------------------------------

/// `(command name, state, parent pid)` from `/proc/<pid>/stat`.
pub fn proc_stat(pid: u32) -> Option<(String, char, u32)> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let open = stat.find('(')?;
    let close = stat.rfind(')')?;
    let comm = stat[open + 1..close].to_owned();
    let mut rest = stat[close + 1..].split_whitespace();
    let state = rest.next()?.chars().next()?;
    let ppid = rest.next()?.parse().ok()?;
    Some((comm, state, ppid))
}

pub fn comm(pid: u32) -> Option<String> {
    proc_stat(pid).map(|(comm, _, _)| comm)
}

/// Running, as opposed to gone or a zombie waiting for its parent.
pub fn alive(pid: u32) -> bool {
    matches!(proc_stat(pid), Some((_, state, _)) if state != 'Z' && state != 'X')
}

/// Every process below `root`, with its command name.
pub fn descendants(root: u32) -> Vec<(u32, String)> {
    let mut all = Vec::new();
    if let Ok(entries) = fs::read_dir("/proc") {
        for entry in entries.flatten() {
            let pid = entry
                .file_name()
                .to_str()
                .and_then(|n| n.parse::<u32>().ok());
            if let Some((pid, (comm, _, ppid))) = pid.and_then(|pid| Some((pid, proc_stat(pid)?))) {
                all.push((pid, ppid, comm));
            }
        }
    }
    let mut found = Vec::new();
    let mut frontier = vec![root];
    while let Some(parent) = frontier.pop() {
        for (pid, ppid, comm) in &all {
            if *ppid == parent && *pid != root && !found.iter().any(|(p, _)| p == pid) {
                found.push((*pid, comm.clone()));
                frontier.push(*pid);
            }
        }
    }
    found
}

/// `kill -s <signal> <pid>`.
pub fn send_signal(pid: u32, signal: &str) -> std::io::Result<ExitStatus> {
    Command::new("sh")
        .args([
            "-c",
            "kill -s \"$1\" \"$2\"",
            "sh",
            signal,
            &pid.to_string(),
        ])
        .status()
}
