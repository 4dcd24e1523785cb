//! End-to-end tests: the real `opsdeck` binary, driven through tmux.
//!
//! Every test starts its own tmux server (`tmux -L <unique socket> -f
//! /dev/null`), so tests run in parallel and never touch the user's tmux; a
//! guard kills that server, and any opsdeck it started, even when the test
//! panics. The pane gets a private `HOME`, `XDG_CONFIG_HOME` and
//! `XDG_STATE_HOME` under the system temporary directory, so the user's
//! configuration cannot change what is drawn and the log lands there.
//!
//! Nothing here asserts on speed: every wait polls the screen (or `/proc`)
//! every 50 ms up to a generous deadline, and a timeout panics with the last
//! screen. Only "exits after the terminal is gone" has a deadline of its own
//! (5 s), because not exiting at all is the failure it guards against.
//!
//! They need tmux (`.ci/run` installs it); without it they fail, saying so.

use std::fs;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

const BIN: &str = env!("CARGO_BIN_EXE_opsdeck");
/// How long a screen may take to show what a test waits for.
const WAIT: Duration = Duration::from_secs(10);
/// How long the process may take to exit after a signal or terminal loss.
const EXIT_DEADLINE: Duration = Duration::from_secs(5);
const POLL: Duration = Duration::from_millis(50);

const SERVICES: [&str; 13] = [
    "api-gateway",
    "auth",
    "checkout",
    "payments",
    "orders",
    "inventory",
    "search",
    "notifications",
    "user-profile",
    "recommendations",
    "reporting",
    "email-digest",
    "image-resizer",
];

const KPI_TILES: [&str; 9] = [
    "Availability 30d",
    "Error budget left",
    "Burn rate 1h",
    "p95 latency",
    "p99 latency",
    "Error rate",
    "MTTR 30d",
    "RPO compliance",
    "RTO compliance",
];

// ---------------------------------------------------------------------------
// The tmux harness
// ---------------------------------------------------------------------------

fn tmux_available() -> bool {
    Command::new("tmux")
        .arg("-V")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Fails the test at once, with the remedy, when there is no tmux to drive.
macro_rules! require_tmux {
    () => {
        assert!(
            tmux_available(),
            "the end-to-end tests need tmux: apt-get install tmux (.ci/run does)"
        );
    };
}

/// Quotes `s` for a POSIX shell.
fn sh_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// One private tmux server with one session, `main`, and a private home.
/// Dropping it kills the server, then any opsdeck it found that is still
/// running, then removes the home.
struct Tmux {
    socket: String,
    dir: PathBuf,
    /// opsdeck processes seen in the pane; killed on drop if still alive.
    pids: Vec<u32>,
    /// The server's socket, which tmux leaves behind when it exits.
    socket_path: Option<PathBuf>,
}

impl Tmux {
    /// A fresh server name and home for the test `name`; nothing runs yet.
    fn new(name: &str) -> Tmux {
        let pid = std::process::id();
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let dir = std::env::temp_dir().join(format!("opsdeck-e2e-{pid}-{name}-{nanos}"));
        fs::create_dir_all(dir.join("config")).expect("creating the test home");
        fs::create_dir_all(dir.join("state")).expect("creating the test home");
        Tmux {
            socket: format!("opsdeck-e2e-{pid}-{name}"),
            dir,
            pids: Vec::new(),
            socket_path: None,
        }
    }

    fn path(&self, file: &str) -> String {
        self.dir.join(file).display().to_string()
    }

    /// The pane script used by most tests: remember the tty settings, run the
    /// demo, then print its exit status and the tty settings it left behind,
    /// and stay open so the screen can be read.
    fn demo_then_report(&self) -> String {
        format!(
            "stty -g > {before}; {bin} demo --seed 3; echo \"EXIT=$?\"; stty -g > {after}; stty -a; echo STTY-END; exec sleep 600",
            before = sh_quote(&self.path("stty.before")),
            after = sh_quote(&self.path("stty.after")),
            bin = sh_quote(BIN),
        )
    }

    /// Starts the server with a `width`x`height` session running `script`
    /// under `sh -c`, in an environment that points at the private home.
    fn start(&mut self, width: u16, height: u16, script: &str) {
        let (w, h) = (width.to_string(), height.to_string());
        let home = self.dir.display().to_string();
        let config = format!("XDG_CONFIG_HOME={}", self.path("config"));
        let state = format!("XDG_STATE_HOME={}", self.path("state"));
        let home_var = format!("HOME={home}");
        // Several arguments after the options: tmux runs them directly, not
        // through the user's shell, so `env` sets the pane's environment.
        #[rustfmt::skip]
        let args = [
            "new-session", "-d", "-x", &w, "-y", &h, "-s", "main",
            "env", "-u", "NO_COLOR", "-u", "TMUX", "-u", "TMUX_PANE",
            &home_var, &config, &state,
            "sh", "-c", script,
        ];
        self.tmux_ok(&args);
        self.socket_path = Some(PathBuf::from(
            self.tmux_ok(&["display-message", "-p", "#{socket_path}"])
                .trim(),
        ));
    }

    fn tmux(&self, args: &[&str]) -> std::io::Result<Output> {
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
    fn tmux_ok(&self, args: &[&str]) -> String {
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

    /// The visible pane, or why it could not be read.
    fn capture(&self) -> Result<String, String> {
        match self.tmux(&["capture-pane", "-p", "-t", "main"]) {
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

    /// Polls the screen until `check` passes and returns that screen; after
    /// `WAIT`, panics with what was still missing and the last screen.
    fn wait_check(&self, what: &str, check: impl Fn(&str) -> Result<(), String>) -> String {
        let deadline = Instant::now() + WAIT;
        loop {
            let last = self.capture().and_then(|screen| match check(&screen) {
                Ok(()) => Ok(screen),
                Err(unmet) => Err(format!("still missing: {unmet}; last screen:\n{screen}")),
            });
            match last {
                Ok(screen) => return screen,
                Err(why) if Instant::now() >= deadline => {
                    panic!("timed out after {WAIT:?} waiting for {what}; {why}\n(end of screen)")
                }
                Err(_) => std::thread::sleep(POLL),
            }
        }
    }

    fn wait_until(&self, what: &str, ok: impl Fn(&str) -> bool) -> String {
        self.wait_check(what, |s| if ok(s) { Ok(()) } else { Err(what.to_owned()) })
    }

    /// Waits until one screen meets the whole expectation. Everything a test
    /// checks about a screen goes into one `Expect`, so a capture taken while
    /// tmux is still part-way through drawing a frame only means another
    /// poll, never a false failure.
    fn expect(&self, what: &str, expect: Expect) -> String {
        self.wait_check(what, |screen| {
            let unmet = expect.unmet(screen);
            if unmet.is_empty() {
                Ok(())
            } else {
                Err(unmet.join(", "))
            }
        })
    }

    fn wait_for(&self, text: &str) -> String {
        self.expect(&format!("{text:?}"), Expect::default().has(&[text]))
    }

    /// Waits until tab `n` (1..=5) is the one shown.
    fn wait_tab(&self, n: usize) -> String {
        self.expect(&format!("tab {n}"), Expect::on(n))
    }

    /// Sends one key, named as tmux knows it (`Enter`, `Escape`, `BTab`,
    /// `Down`, `q`).
    fn send(&self, key: &str) {
        self.tmux_ok(&["send-keys", "-t", "main", key]);
    }

    /// Sends `key`, then waits until the screen meets `expect`.
    fn press(&self, key: &str, what: &str, expect: Expect) -> String {
        self.send(key);
        self.expect(what, expect)
    }

    /// Presses the digit of tab `n` and waits until that tab is shown.
    fn go_to_tab(&self, n: usize) {
        self.send(&n.to_string());
        self.wait_tab(n);
    }

    /// Types `text` literally.
    fn type_text(&self, text: &str) {
        self.tmux_ok(&["send-keys", "-t", "main", "-l", text]);
    }

    fn display(&self, format: &str) -> String {
        self.tmux_ok(&["display-message", "-p", "-t", "main", format])
            .trim()
            .to_owned()
    }

    /// The opsdeck process running in the pane (a descendant of the pane's
    /// process), remembered so the guard can kill it if the test fails.
    fn opsdeck_pid(&mut self) -> u32 {
        let pane: u32 = self
            .display("#{pane_pid}")
            .parse()
            .expect("tmux printed a pane pid");
        let deadline = Instant::now() + WAIT;
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
                panic!(
                    "no single opsdeck process under pane process {pane} after {WAIT:?} (found {found:?}); processes: {:?}",
                    descendants(pane)
                );
            }
            std::thread::sleep(POLL);
        }
    }

    /// Starts `opsdeck demo --seed 3` with the report trailer and waits for
    /// its first full screen.
    fn launch_demo(&mut self, width: u16, height: u16) -> u32 {
        let script = self.demo_then_report();
        self.start(width, height, &script);
        self.expect(
            "the first screen",
            Expect::on(1).lines(&[
                &[" opsdeck ", " DEMO ", "UTC"],
                &["1 KPIs", "5 Incidents ("],
            ]),
        );
        self.opsdeck_pid()
    }

    /// After opsdeck has exited in a `demo_then_report` pane: returns its
    /// exit status and asserts the terminal is as it was before it started.
    fn assert_exited_and_restored(&self) -> i32 {
        let screen = self.wait_for("STTY-END");
        let code =
            exit_code(&screen).unwrap_or_else(|| panic!("no EXIT= line on the screen:\n{screen}"));

        // The normal screen is back, without the dashboard on it.
        assert!(
            !screen.contains("Availability 30d") && !screen.contains("╭"),
            "the dashboard is still on the screen after exit:\n{screen}"
        );
        assert_eq!(
            self.display("#{alternate_on}"),
            "0",
            "the alternate screen is still on; screen:\n{screen}"
        );
        assert_eq!(
            self.display("#{cursor_flag}"),
            "1",
            "the cursor is still hidden; screen:\n{screen}"
        );

        // Raw mode is off: the line discipline is back to canonical, echoing.
        let start = screen.find("EXIT=").expect("checked above");
        let end = screen.find("STTY-END").expect("waited for it");
        let stty: Vec<&str> = screen[start..end].split_whitespace().collect();
        for flag in ["icanon", "echo", "isig", "icrnl", "opost", "iexten"] {
            let off = format!("-{flag}");
            assert!(
                stty.contains(&flag) && !stty.contains(&off.as_str()),
                "`stty -a` after exit does not show {flag} on:\n{}",
                &screen[start..end]
            );
        }
        // And every other setting is exactly as before opsdeck started.
        let read = |f: &str| {
            fs::read_to_string(self.dir.join(f)).unwrap_or_else(|e| panic!("reading {f}: {e}"))
        };
        assert_eq!(
            read("stty.before").trim(),
            read("stty.after").trim(),
            "tty settings differ after exit (stty -g)"
        );
        code
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.tmux(&["kill-server"]);
        for &pid in &self.pids {
            if !wait_exited(pid, Duration::from_secs(2)) && comm(pid).as_deref() == Some("opsdeck")
            {
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
// Screens and processes
// ---------------------------------------------------------------------------

/// A panel title only tab n has (the box corner keeps it apart from the
/// tab line and from `Services by error budget`).
const TAB_MARKERS: [&str; 5] = [
    "╭ Availability 30d",
    "╭ Hosts",
    "╭ Deployments",
    "╭ Backups",
    "╭ Silences",
];

fn on_tab(screen: &str) -> Option<usize> {
    let shown: Vec<usize> = (1..=5)
        .filter(|&n| screen.contains(TAB_MARKERS[n - 1]))
        .collect();
    match shown[..] {
        [n] => Some(n),
        _ => None,
    }
}

/// True when one line of the screen holds all of `words`.
fn has_line(screen: &str, words: &[&str]) -> bool {
    screen
        .lines()
        .any(|line| words.iter().all(|w| line.contains(w)))
}

/// What one screen must show.
#[derive(Default, Clone, Copy)]
struct Expect<'a> {
    /// The tab on screen, judged by its panel titles.
    tab: Option<usize>,
    /// Texts somewhere on the screen.
    has: &'a [&'a str],
    /// Texts nowhere on the screen.
    lacks: &'a [&'a str],
    /// Groups of texts that share one line (one table row).
    lines: &'a [&'a [&'a str]],
}

impl<'a> Expect<'a> {
    /// Tab `n` on screen; add to it with `has`, `lacks` and `lines`.
    fn on(n: usize) -> Self {
        Expect {
            tab: Some(n),
            ..Expect::default()
        }
    }

    fn has(self, has: &'a [&'a str]) -> Self {
        Expect { has, ..self }
    }

    fn lacks(self, lacks: &'a [&'a str]) -> Self {
        Expect { lacks, ..self }
    }

    fn lines(self, lines: &'a [&'a [&'a str]]) -> Self {
        Expect { lines, ..self }
    }

    fn unmet(&self, screen: &str) -> Vec<String> {
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
        unmet
    }
}

/// The status printed by `echo "EXIT=$?"`.
fn exit_code(screen: &str) -> Option<i32> {
    screen
        .lines()
        .find_map(|l| l.trim().strip_prefix("EXIT="))
        .and_then(|c| c.trim().parse().ok())
}

/// `(command name, state, parent pid)` from `/proc/<pid>/stat`.
fn proc_stat(pid: u32) -> Option<(String, char, u32)> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let open = stat.find('(')?;
    let close = stat.rfind(')')?;
    let comm = stat[open + 1..close].to_owned();
    let mut rest = stat[close + 1..].split_whitespace();
    let state = rest.next()?.chars().next()?;
    let ppid = rest.next()?.parse().ok()?;
    Some((comm, state, ppid))
}

fn comm(pid: u32) -> Option<String> {
    proc_stat(pid).map(|(comm, _, _)| comm)
}

/// Running, as opposed to gone or a zombie waiting for its parent.
fn alive(pid: u32) -> bool {
    matches!(proc_stat(pid), Some((_, state, _)) if state != 'Z' && state != 'X')
}

fn wait_exited(pid: u32, within: Duration) -> bool {
    let deadline = Instant::now() + within;
    loop {
        if !alive(pid) {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(POLL);
    }
}

/// Every process below `root`, with its command name.
fn descendants(root: u32) -> Vec<(u32, String)> {
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

fn send_signal(pid: u32, signal: &str) -> std::io::Result<std::process::ExitStatus> {
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

// ---------------------------------------------------------------------------
// Steps the two walks share
// ---------------------------------------------------------------------------

const TAB_NAMES: [&str; 5] = ["KPIs", "Health", "Deploys", "Backups", "Incidents"];

/// The tab line: every tab's key and name on one line.
const TAB_LINE: &[&str] = &[
    "1 KPIs",
    "2 Health",
    "3 Deploys",
    "4 Backups",
    "5 Incidents (",
];

impl Tmux {
    /// From tab 1, as the demo starts, walks tabs 1 to 5 by their digits:
    /// tab n must show alone and meet `per_tab[n - 1]`. `at` ends each
    /// description (" at 80x24").
    fn walk_tabs(&self, at: &str, per_tab: [Expect; 5]) {
        for (n, mut expect) in (1..=5).zip(per_tab) {
            if n > 1 {
                self.send(&n.to_string());
            }
            expect.tab = Some(n);
            self.expect(&format!("the {} tab{at}", TAB_NAMES[n - 1]), expect);
        }
    }

    /// `?` opens help, which must show `has` and the quit keys; `x` closes
    /// it, back on tab `tab`.
    fn help_opens_and_closes(&self, what: &str, has: &[&str], tab: usize) {
        let help = Expect::default().has(has).lines(&[&["q Ctrl-c", "quit"]]);
        self.press("?", what, help);
        let closed = format!("help closed, still on tab {tab}");
        self.press("x", &closed, Expect::on(tab).lacks(&["╭ Keys"]));
    }

    /// `/` opens the filter prompt; types `text` and waits for `expect`.
    fn filter(&self, text: &str, what: &str, expect: Expect) {
        self.send("/");
        self.wait_for(" filter /");
        self.type_text(text);
        self.expect(what, expect);
    }

    /// On the Backups tab: presses `key` (if any) to move, Enter to open the
    /// selected row's details, which must show `has`; then Esc, which must
    /// close them (no "last DR drill") and leave tab 4.
    fn backup_details(&self, key: Option<&str>, what: &str, has: &[&str]) {
        if let Some(key) = key {
            self.send(key);
        }
        self.press("Enter", what, Expect::default().has(has));
        let closed = Expect::on(4).lacks(&["last DR drill"]);
        self.press("Escape", "details closed", closed);
    }

    /// q quits with status 0 and leaves the terminal as it found it.
    fn quit(&self) {
        self.send("q");
        let code = self.assert_exited_and_restored();
        assert_eq!(code, 0, "exit status after q");
    }
}

// ---------------------------------------------------------------------------
// 1. The whole walk at 120x40
// ---------------------------------------------------------------------------

#[test]
fn tabs_help_filter_details_and_quit_at_120x40() {
    require_tmux!();
    let mut t = Tmux::new("walk-120x40");
    t.launch_demo(120, 40);

    t.wait_until("a worst-state word (CRIT, WARN or OK) in the header", |s| {
        let header = s.lines().next().unwrap_or_default();
        header.contains(" DEMO ") && ["CRIT", "WARN", "OK"].iter().any(|w| header.contains(w))
    });

    let budget = [
        "Services by error budget",
        "api-gateway",
        "inventory",
        "payments",
    ];
    let kpis: Vec<&str> = KPI_TILES.into_iter().chain(budget).collect();
    let hosts = ["web-01", "web-02", "app-01", "app-02", "db-01", "db-02"];
    let health: Vec<&str> = ["╭ Services", "Req/s", "Errors", "p95"]
        .into_iter()
        .chain(hosts)
        .chain(SERVICES)
        .collect();
    t.walk_tabs(
        "",
        [
            // Header, tab line, every KPI tile and the budget table.
            Expect::default().has(&kpis).lines(&[
                &[" opsdeck ", " DEMO ", "UTC"],
                TAB_LINE,
                &["State", "Service"],
            ]),
            // Services with their golden signals, and the hosts.
            Expect::default().has(&health),
            // Deployments with their strategies.
            Expect::default().lines(&[
                &["checkout", "canary"],
                &["payments", "blue-green"],
                &["orders", "rolling"],
            ]),
            // Backups; auth-db breaches its RPO.
            Expect::default().lines(&[&["auth-db", "CRIT"]]),
            // Incidents and silences.
            Expect::default()
                .has(&["╭ Incidents"])
                .lines(&[&["ops-bot", "service=\"reporting\""]]),
        ],
    );

    // Tab / Shift-Tab step through the tabs.
    for (key, n) in [("2", 2), ("Tab", 3), ("Tab", 4), ("BTab", 3), ("BTab", 2)] {
        t.send(key);
        t.wait_tab(n);
    }

    // Help lists every command with its keys; any key closes it.
    let commands = [
        "╭ Keys",
        "next tab",
        "previous tab",
        "move down",
        "details of the selected row",
        "filter the table",
    ];
    t.help_opens_and_closes("the help overlay", &commands, 2);

    // Filter the Health tab's services as you type; Esc clears.
    t.filter(
        "pay",
        "services filtered by /pay",
        Expect::on(2)
            .has(&["payments", " filter /pay", "Enter keep", "Esc clear"])
            .lacks(&["inventory"])
            .lines(&[&["╭ Services", "of 13", "· /pay"]]),
    );
    t.press(
        "Escape",
        "the filter cleared",
        Expect::on(2)
            .has(&["inventory", "payments", "? help"])
            .lacks(&["of 13", "/pay", " filter /"]),
    );

    // On the KPIs tab: Enter keeps the filter, Esc then clears it.
    let filtered: &[&[&str]] = &[&["Services by error budget", "of 13", "· /pay"]];
    t.go_to_tab(1);
    t.filter(
        "pay",
        "the budget table filtered by /pay",
        Expect::on(1)
            .has(&["payments", " filter /pay"])
            .lacks(&["inventory"])
            .lines(filtered),
    );
    t.press(
        "Enter",
        "the filter kept after Enter",
        Expect::on(1)
            .has(&["payments", "? help"])
            .lacks(&["inventory", " filter /"])
            .lines(filtered),
    );
    t.press(
        "Escape",
        "the kept filter cleared by Esc",
        Expect::on(1)
            .has(&["inventory", "payments"])
            .lacks(&["of 13", "/pay"]),
    );

    // Details: Enter opens the selected row, Esc closes; Down and k move.
    t.go_to_tab(4);
    t.backup_details(
        None,
        "auth-db's details",
        &["╭ auth-db", "last DR drill", "Esc closes"],
    );
    t.backup_details(
        Some("Down"),
        "orders-db's details after Down",
        &["╭ orders-db", "last DR drill"],
    );
    t.backup_details(
        Some("k"),
        "auth-db's details after k",
        &["╭ auth-db", "last DR drill"],
    );

    t.quit();
}

// ---------------------------------------------------------------------------
// 2. The same walk, shorter, at 80x24
// ---------------------------------------------------------------------------

#[test]
fn tabs_help_filter_and_quit_at_80x24() {
    require_tmux!();
    let mut t = Tmux::new("walk-80x24");
    t.launch_demo(80, 24);

    // Narrow tables drop columns, but never State and Service.
    t.walk_tabs(
        " at 80x24",
        [
            Expect::default()
                .has(&["Services by error budget", "api-gateway"])
                .lines(&[&[" DEMO ", "UTC"], TAB_LINE, &["State", "Service"]]),
            Expect::default()
                .has(&["╭ Services", "db-02", "api-gateway"])
                .lines(&[&["State", "Service", "Req/s"], &["State", "Host"]]),
            Expect::default().lines(&[&["State", "Service"], &["checkout", "canary"]]),
            Expect::default().lines(&[&["auth-db", "CRIT"]]),
            // The Silences table may drop its `By` column; the matcher stays.
            Expect::default().has(&["╭ Incidents", "service=\"reporting\""]),
        ],
    );

    t.help_opens_and_closes("the help overlay at 80x24", &["╭ Keys"], 5);

    t.go_to_tab(2);
    t.filter(
        "pay",
        "services filtered by /pay at 80x24",
        Expect::on(2)
            .has(&["payments", " filter /pay"])
            .lacks(&["inventory"])
            .lines(&[&["╭ Services", "of 13"]]),
    );
    t.press(
        "Escape",
        "the filter cleared",
        Expect::on(2)
            .has(&["inventory"])
            .lacks(&["of 13", " filter /"]),
    );

    t.quit();
}
// ---------------------------------------------------------------------------
// 3. Signals restore the terminal and end the process
// ---------------------------------------------------------------------------

fn exits_cleanly_on(signal: &str, number: i32) {
    let mut t = Tmux::new(&format!("sig{}", signal.to_lowercase()));
    let pid = t.launch_demo(120, 40);
    t.go_to_tab(2);

    let status = send_signal(pid, signal).expect("running kill");
    assert!(status.success(), "kill -s {signal} {pid} failed");
    assert!(
        wait_exited(pid, EXIT_DEADLINE),
        "opsdeck {pid} still running {EXIT_DEADLINE:?} after SIG{signal}"
    );

    let code = t.assert_exited_and_restored();
    // As a shell reports a process ended by that signal.
    assert_eq!(code, 128 + number, "exit status after SIG{signal}");
}

#[test]
fn sigterm_restores_the_terminal_and_exits() {
    require_tmux!();
    exits_cleanly_on("TERM", 15);
}

#[test]
fn sighup_restores_the_terminal_and_exits() {
    require_tmux!();
    exits_cleanly_on("HUP", 1);
}

#[test]
fn sigint_restores_the_terminal_and_exits() {
    require_tmux!();
    exits_cleanly_on("INT", 2);
}

// ---------------------------------------------------------------------------
// 4. Losing the terminal ends the process
// ---------------------------------------------------------------------------

#[test]
fn exits_when_the_tmux_server_is_killed() {
    require_tmux!();
    let mut t = Tmux::new("kill-server");
    let pid = t.launch_demo(120, 40);
    t.tmux_ok(&["kill-server"]);
    assert!(
        wait_exited(pid, EXIT_DEADLINE),
        "opsdeck {pid} still running {EXIT_DEADLINE:?} after its tmux server was killed"
    );
}

/// Runs opsdeck under a shell that ignores SIGHUP (so, as with a terminal
/// that simply vanishes, no hang-up signal reaches it), kills the tmux
/// server, and returns opsdeck's exit status as the shell saw it.
fn terminal_loss_without_sighup(t: &mut Tmux) -> i32 {
    let exit_file = t.path("exit.txt");
    // No trailer on the tty here: it is gone; the shell writes to a file.
    let script = format!(
        "trap '' HUP; {bin} demo --seed 3; echo \"EXIT=$?\" > {exit}",
        bin = sh_quote(BIN),
        exit = sh_quote(&exit_file)
    );
    t.start(120, 40, &script);
    t.expect("the first screen", Expect::on(1).has(&[" DEMO "]));
    let pid = t.opsdeck_pid();
    t.tmux_ok(&["kill-server"]);
    assert!(
        wait_exited(pid, EXIT_DEADLINE),
        "opsdeck {pid} still running {EXIT_DEADLINE:?} after its terminal went away (no SIGHUP delivered)"
    );
    let deadline = Instant::now() + EXIT_DEADLINE;
    loop {
        if let Some(code) = fs::read_to_string(&exit_file)
            .ok()
            .as_deref()
            .and_then(exit_code)
        {
            return code;
        }
        assert!(
            Instant::now() < deadline,
            "the wrapper shell never recorded opsdeck's exit status"
        );
        std::thread::sleep(POLL);
    }
}

/// A panic in a background task (injected through the environment) must
/// restore the terminal before anything is printed, report the panic, and
/// exit with 101.
#[test]
fn a_panic_in_a_background_task_restores_the_terminal_and_says_so() {
    require_tmux!();
    let mut t = Tmux::new("panic");
    let script = format!(
        "unset RUST_BACKTRACE RUST_LIB_BACKTRACE; export OPSDECK_FAULT_PANIC_AFTER_MS=1500; {}",
        t.demo_then_report()
    );
    t.start(120, 40, &script);
    t.wait_for(" DEMO ");
    let code = t.assert_exited_and_restored();
    assert_eq!(code, 101);
    let screen = t.capture().expect("the pane is still there");
    assert!(
        screen.contains("injected fault") && screen.contains("opsdeck crashed"),
        "{screen}"
    );
}

/// With no SIGHUP, only the tty watchdog can notice the terminal is gone;
/// opsdeck must then exit as if hung up (129), without a panic on the way
/// out (writing to the dead terminal must not crash it).
#[test]
fn exits_cleanly_when_the_terminal_hangs_up_without_sighup() {
    require_tmux!();
    let mut t = Tmux::new("hangup-watchdog");
    let code = terminal_loss_without_sighup(&mut t);
    let log = fs::read_to_string(t.dir.join("state/opsdeck/opsdeck.log")).unwrap_or_default();
    assert_eq!(code, 129, "exit status after terminal loss; log:\n{log}");
    assert!(
        log.contains("terminal gone"),
        "the log says why it stopped:\n{log}"
    );
    assert!(
        !log.contains("panic"),
        "panic logged after terminal loss:\n{log}"
    );
}
