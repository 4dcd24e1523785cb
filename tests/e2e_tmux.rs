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

mod support;

use std::fs;
use std::time::{Duration, Instant};

use support::{Expect, Harness, Tmux, exit_code, require_tmux, send_signal, sh_quote};

const BIN: &str = env!("CARGO_BIN_EXE_opsdeck");
/// How long a screen may take to show what a test waits for.
const WAIT: Duration = Duration::from_secs(10);
/// How long the process may take to exit after a signal or terminal loss.
const EXIT_DEADLINE: Duration = Duration::from_secs(5);
const POLL: Duration = Duration::from_millis(50);
/// The tmux driver's names and waits for these tests.
const HARNESS: Harness = Harness {
    prefix: "opsdeck-e2e",
    wait: WAIT,
    poll: POLL,
};

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
// The demo and the steps the walks share (the tmux driver itself is
// tests/support/tmux.rs)
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

/// What these tests do with a [`Tmux`] on top of driving it.
trait DemoSteps {
    /// The pane script used by most tests: remember the tty settings, run the
    /// demo, then print its exit status and the tty settings it left behind,
    /// and stay open so the screen can be read.
    fn demo_then_report(&self) -> String;

    /// Starts `opsdeck demo --seed 3` with the report trailer and waits for
    /// its first full screen.
    fn launch_demo(&mut self, width: u16, height: u16) -> u32;

    /// After opsdeck has exited in a `demo_then_report` pane: returns its
    /// exit status and asserts the terminal is as it was before it started.
    fn assert_exited_and_restored(&self) -> i32;

    /// From tab 1, as the demo starts, walks tabs 1 to 5 by their digits:
    /// tab n must show alone and meet `per_tab[n - 1]`. `at` ends each
    /// description (" at 80x24").
    fn walk_tabs(&self, at: &str, per_tab: [Expect; 5]);

    /// `?` opens help, which must show `has` and the quit keys; `x` closes
    /// it, back on tab `tab`.
    fn help_opens_and_closes(&self, what: &str, has: &[&str], tab: usize);

    /// `/` opens the filter prompt; types `text` and waits for `expect`.
    fn filter(&self, text: &str, what: &str, expect: Expect);

    /// On the Backups tab: presses `key` (if any) to move, Enter to open the
    /// selected row's details, which must show `has`; then Esc, which must
    /// close them (no "last DR drill") and leave tab 4.
    fn backup_details(&self, key: Option<&str>, what: &str, has: &[&str]);

    /// q quits with status 0 and leaves the terminal as it found it.
    fn quit(&self);
}

impl DemoSteps for Tmux {
    fn demo_then_report(&self) -> String {
        format!(
            "stty -g > {before}; {bin} demo --seed 3; echo \"EXIT=$?\"; stty -g > {after}; stty -a; echo STTY-END; exec sleep 600",
            before = sh_quote(&self.path("stty.before")),
            after = sh_quote(&self.path("stty.after")),
            bin = sh_quote(BIN),
        )
    }

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

    fn assert_exited_and_restored(&self) -> i32 {
        support::assert_exited_and_restored(self)
    }

    fn walk_tabs(&self, at: &str, per_tab: [Expect; 5]) {
        for (n, mut expect) in (1..=5).zip(per_tab) {
            if n > 1 {
                self.send(&n.to_string());
            }
            expect.tab = Some(n);
            self.expect(&format!("the {} tab{at}", TAB_NAMES[n - 1]), expect);
        }
    }

    fn help_opens_and_closes(&self, what: &str, has: &[&str], tab: usize) {
        let help = Expect::default().has(has).lines(&[&["q, Ctrl-c", "quit"]]);
        self.press("?", what, help);
        let closed = format!("help closed, still on tab {tab}");
        self.press("x", &closed, Expect::on(tab).lacks(&["╭ Keys"]));
    }

    fn filter(&self, text: &str, what: &str, expect: Expect) {
        self.send("/");
        self.wait_for(" filter /");
        self.type_text(text);
        self.expect(what, expect);
    }

    fn backup_details(&self, key: Option<&str>, what: &str, has: &[&str]) {
        if let Some(key) = key {
            self.send(key);
        }
        self.press("Enter", what, Expect::default().has(has));
        let closed = Expect::on(4).lacks(&["last DR drill"]);
        self.press("Escape", "details closed", closed);
    }

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
    require_tmux();
    let mut t = Tmux::new(HARNESS, "walk-120x40");
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
            // "of 13 ·", not the tiles' "87 rollbacks of 1320 deploys".
            .lacks(&["of 13 ·", "/pay"]),
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
        "media-bucket's details after Down",
        &["╭ media-bucket", "last DR drill"],
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
    require_tmux();
    let mut t = Tmux::new(HARNESS, "walk-80x24");
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
    let mut t = Tmux::new(HARNESS, &format!("sig{}", signal.to_lowercase()));
    let pid = t.launch_demo(120, 40);
    t.go_to_tab(2);

    let status = send_signal(pid, signal).expect("running kill");
    assert!(status.success(), "kill -s {signal} {pid} failed");
    assert!(
        t.wait_exited(pid, EXIT_DEADLINE),
        "opsdeck {pid} still running {EXIT_DEADLINE:?} after SIG{signal}"
    );

    let code = t.assert_exited_and_restored();
    // As a shell reports a process ended by that signal.
    assert_eq!(code, 128 + number, "exit status after SIG{signal}");
}

#[test]
fn sigterm_restores_the_terminal_and_exits() {
    require_tmux();
    exits_cleanly_on("TERM", 15);
}

#[test]
fn sighup_restores_the_terminal_and_exits() {
    require_tmux();
    exits_cleanly_on("HUP", 1);
}

#[test]
fn sigint_restores_the_terminal_and_exits() {
    require_tmux();
    exits_cleanly_on("INT", 2);
}

// ---------------------------------------------------------------------------
// 4. Losing the terminal ends the process
// ---------------------------------------------------------------------------

#[test]
fn exits_when_the_tmux_server_is_killed() {
    require_tmux();
    let mut t = Tmux::new(HARNESS, "kill-server");
    let pid = t.launch_demo(120, 40);
    t.tmux_ok(&["kill-server"]);
    assert!(
        t.wait_exited(pid, EXIT_DEADLINE),
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
        t.wait_exited(pid, EXIT_DEADLINE),
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
    require_tmux();
    let mut t = Tmux::new(HARNESS, "panic");
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
    require_tmux();
    let mut t = Tmux::new(HARNESS, "hangup-watchdog");
    let code = terminal_loss_without_sighup(&mut t);
    let log = fs::read_to_string(t.dir().join("state/opsdeck/opsdeck.log")).unwrap_or_default();
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
