//! Signals, resizes and a vanishing terminal at the worst moments, on the
//! real binary in tmux (`opsdeck demo` with `--audit-log` in the test's
//! private home):
//!
//! * SIGTERM, SIGHUP or SIGINT while a rollback's confirmation dialog is
//!   open: nothing runs (the audit log says `asked` and nothing after it,
//!   and the run's first line of output never reaches the terminal), the
//!   terminal is restored and the exit status is 128 + the signal's number
//!   (README, "The terminal is never left broken").
//! * The same signals while a DR drill runs: the run is cancelled and its
//!   end audited before opsdeck exits (docs/decisions.md: "Quitting with a
//!   run in flight cancels it and waits up to 5 s for it to end, so the end
//!   is audited").
//! * The window shrunk to 20x5 and grown back: "terminal too small", then
//!   the whole dashboard again, and no panic.
//! * The tmux server killed: opsdeck is gone within a second and spends
//!   no CPU meanwhile. (`e2e_tmux.rs` checks that it exits at all, within
//!   5 s; this holds it to 1 s and to its CPU time.)

mod support;

use std::time::{Duration, Instant};

use serde_json::Value;
use support::{
    Expect, Harness, PaneCapture, Tmux, alive, assert_exited_and_restored, cpu_time, exit_code,
    gated_report_script, require_tmux, send_signal, sh_quote, start_gated,
};

const BIN: &str = env!("CARGO_BIN_EXE_opsdeck");
const HARNESS: Harness = Harness {
    prefix: "opsdeck-faults-sig",
    wait: Duration::from_secs(15),
    poll: Duration::from_millis(50),
};
/// How long opsdeck may take to exit after a signal, a drill's cancelling
/// included.
const EXIT_DEADLINE: Duration = Duration::from_secs(8);
/// The dialog ignores keys for its first 300 ms (docs/decisions.md).
const DIALOG_GUARD: Duration = Duration::from_millis(400);

const SIGNALS: [(&str, i32); 3] = [("TERM", 15), ("HUP", 1), ("INT", 2)];

/// `opsdeck demo --seed 3 --audit-log <home>/audit.log` in a gated report
/// pane at 120x40, every byte it writes captured, past its first screen;
/// returns its pid and the capture.
fn launch_demo(t: &mut Tmux) -> (u32, PaneCapture) {
    let command = format!(
        "{} demo --seed 3 --audit-log {}",
        sh_quote(BIN),
        sh_quote(&t.path("audit.log"))
    );
    let script = gated_report_script(t, &command);
    let capture = start_gated(t, 120, 40, &script);
    t.expect(
        "the first screen",
        Expect::on(1).lines(&[&[" opsdeck ", " DEMO ", "UTC"]]),
    );
    (t.opsdeck_pid(), capture)
}

fn audit(t: &Tmux) -> Vec<Value> {
    std::fs::read_to_string(t.dir().join("audit.log"))
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

fn events(lines: &[Value]) -> Vec<String> {
    lines
        .iter()
        .map(|l| l["event"].as_str().unwrap_or("?").to_string())
        .collect()
}

fn signal_and_wait(t: &Tmux, pid: u32, signal: &str) {
    let status = send_signal(pid, signal).expect("running kill");
    assert!(status.success(), "kill -s {signal} {pid} failed");
    assert!(
        t.wait_exited(pid, EXIT_DEADLINE),
        "opsdeck {pid} still running {EXIT_DEADLINE:?} after SIG{signal}; screen:\n{}",
        t.capture().unwrap_or_default()
    );
}

// ---------------------------------------------------------------------------
// A signal while the confirmation dialog is open
// ---------------------------------------------------------------------------

fn signal_with_the_dialog_open(signal: &str, number: i32) {
    require_tmux();
    let mut t = Tmux::new(HARNESS, &format!("dialog-{}", signal.to_lowercase()));
    let (pid, capture) = launch_demo(&mut t);
    t.go_to_tab(3);
    t.expect(
        "the deployments",
        Expect::on(3).has(&["production", "blue-green"]),
    );
    t.send("R");
    t.expect(
        "the rollback dialog",
        Expect::on(3).has(&["Confirm: rollback", "[ Cancel ]", "[ Run ]"]),
    );
    // Past the dialog's guard, so the keys below would count: the focus is
    // moved to Run, but Run is never chosen.
    std::thread::sleep(DIALOG_GUARD);
    t.send("Tab");
    t.send("Tab");
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(events(&audit(&t)), ["asked"], "before the signal");

    signal_and_wait(&t, pid, signal);
    let code = assert_exited_and_restored(&t);
    assert_eq!(code, 128 + number, "exit status after SIG{signal}");

    let lines = audit(&t);
    let seen = events(&lines);
    assert_eq!(
        seen.first().map(String::as_str),
        Some("asked"),
        "{lines:#?}"
    );
    for never in ["confirmed", "started", "finished"] {
        assert!(
            !seen.iter().any(|e| e == never),
            "SIG{signal} with the dialog open led to `{never}`: {lines:#?}"
        );
    }
    assert_eq!(lines[0]["action"], "rollback");
    // Nothing of a run ever reached the screen: the rollback's first line
    // of output is "PLAY [rollback …]", 400 ms after a start.
    let written =
        String::from_utf8_lossy(&capture.settled(Duration::from_millis(200))).into_owned();
    assert!(
        written.contains("Confirm: rollback"),
        "the capture holds the dialog"
    );
    assert!(
        !written.contains("PLAY [") && !written.contains("succeeded in"),
        "a rollback ran after SIG{signal}"
    );
}

#[test]
fn sigterm_with_the_dialog_open_runs_nothing_and_restores_the_terminal() {
    signal_with_the_dialog_open(SIGNALS[0].0, SIGNALS[0].1);
}

#[test]
fn sighup_with_the_dialog_open_runs_nothing_and_restores_the_terminal() {
    signal_with_the_dialog_open(SIGNALS[1].0, SIGNALS[1].1);
}

#[test]
fn sigint_with_the_dialog_open_runs_nothing_and_restores_the_terminal() {
    signal_with_the_dialog_open(SIGNALS[2].0, SIGNALS[2].1);
}

// ---------------------------------------------------------------------------
// A signal while an action runs
// ---------------------------------------------------------------------------

fn signal_during_a_drill(signal: &str, number: i32) {
    require_tmux();
    let mut t = Tmux::new(HARNESS, &format!("drill-{}", signal.to_lowercase()));
    let (pid, _) = launch_demo(&mut t);
    t.go_to_tab(4);
    t.expect("the backups", Expect::on(4).lines(&[&["auth-db", "CRIT"]]));
    t.send("D");
    t.expect(
        "the DR drill dialog",
        Expect::on(4).has(&["Confirm: dr_drill", "auth-db", "[ Run ]"]),
    );
    std::thread::sleep(DIALOG_GUARD);
    // auth-db is a critical-tier target: its name must be typed (the
    // focus starts there), then Tab past Cancel to Run.
    t.type_text("auth-db");
    t.send("Tab");
    t.send("Tab");
    t.send("Enter");
    // The demo drill prints a line every 700 ms, seven in all.
    t.expect(
        "the drill running",
        Expect::default()
            .has(&["restore: 25%"])
            .lacks(&["succeeded in"]),
    );
    assert_eq!(
        events(&audit(&t)),
        ["asked", "confirmed", "started"],
        "while the drill runs"
    );

    signal_and_wait(&t, pid, signal);
    let code = assert_exited_and_restored(&t);
    assert_eq!(code, 128 + number, "exit status after SIG{signal}");

    let lines = audit(&t);
    assert_eq!(
        events(&lines),
        ["asked", "confirmed", "started", "finished"],
        "{lines:#?}"
    );
    let finished = &lines[3];
    assert_eq!(finished["action"], "dr_drill");
    assert_eq!(
        finished["outcome"], "cancelled",
        "the drill was cancelled on SIG{signal}: {finished}"
    );
    assert!(
        finished.get("measured_rto_s").is_none_or(Value::is_null),
        "a cancelled drill measured no RTO: {finished}"
    );
}

#[test]
fn sigterm_during_a_drill_cancels_it_and_audits_the_end() {
    signal_during_a_drill(SIGNALS[0].0, SIGNALS[0].1);
}

#[test]
fn sighup_during_a_drill_cancels_it_and_audits_the_end() {
    signal_during_a_drill(SIGNALS[1].0, SIGNALS[1].1);
}

#[test]
fn sigint_during_a_drill_cancels_it_and_audits_the_end() {
    signal_during_a_drill(SIGNALS[2].0, SIGNALS[2].1);
}

// ---------------------------------------------------------------------------
// Resizing
// ---------------------------------------------------------------------------

#[test]
fn shrinking_to_20x5_says_too_small_and_growing_back_shows_everything() {
    require_tmux();
    let mut t = Tmux::new(HARNESS, "resize");
    let (pid, _) = launch_demo(&mut t);
    t.go_to_tab(2);
    t.expect(
        "the Health tab",
        Expect::on(2).has(&["╭ Services", "╭ Hosts"]),
    );

    t.tmux_ok(&["resize-window", "-t", "main", "-x", "20", "-y", "5"]);
    let small = t.expect(
        "the too-small message at 20x5",
        Expect::default()
            .has(&["terminal too small"])
            .lacks(&["╭ Services", "╭ Hosts"]),
    );
    assert_eq!(t.display("#{pane_width}x#{pane_height}"), "20x5");
    assert!(
        small.contains("20x5") && small.contains("needs"),
        "the message says how big it is and what it needs:\n{small}"
    );
    assert!(alive(pid), "opsdeck died at 20x5");

    // Keys still work while it is too small; the tab they choose shows
    // once there is room.
    t.send("4");
    t.tmux_ok(&["resize-window", "-t", "main", "-x", "120", "-y", "40"]);
    t.expect(
        "the whole dashboard at 120x40 again, on the Backups tab",
        Expect::on(4)
            .lacks(&["terminal too small"])
            .lines(&[&[" opsdeck ", " DEMO ", "UTC"], &["auth-db", "CRIT"]]),
    );

    // And once more, through 80x24, its smallest full size.
    t.tmux_ok(&["resize-window", "-t", "main", "-x", "20", "-y", "5"]);
    t.wait_for("terminal too small");
    t.tmux_ok(&["resize-window", "-t", "main", "-x", "80", "-y", "24"]);
    t.expect(
        "the whole dashboard at 80x24",
        Expect::on(4)
            .lacks(&["terminal too small"])
            .lines(&[&["auth-db", "CRIT"]]),
    );

    t.send("q");
    assert!(t.wait_exited(pid, EXIT_DEADLINE), "q after the resizes");
    assert_eq!(assert_exited_and_restored(&t), 0, "exit status after q");
    let log =
        std::fs::read_to_string(t.dir().join("state/opsdeck/opsdeck.log")).unwrap_or_default();
    assert!(!log.contains("panic"), "a panic was logged:\n{log}");
}

// ---------------------------------------------------------------------------
// The terminal going away
// ---------------------------------------------------------------------------

/// How long opsdeck may take to notice, after its tmux server is killed.
const GONE_WITHIN: Duration = Duration::from_secs(1);

/// Kills the tmux server under a running opsdeck, then samples its CPU time
/// every 2 ms until it is gone. Returns how long it took and the CPU time
/// it used meanwhile.
fn kill_the_terminal(t: &mut Tmux, script: &str) -> (Duration, Duration) {
    t.start(120, 40, script);
    t.expect("the first screen", Expect::on(1).has(&[" DEMO "]));
    let pid = t.opsdeck_pid();
    // Let it settle into its steady state first.
    std::thread::sleep(Duration::from_millis(500));
    let before = cpu_time(pid).expect("opsdeck's /proc/PID/task/*/schedstat");
    let killed = Instant::now();
    t.tmux_ok(&["kill-server"]);
    let mut last = before;
    while alive(pid) && killed.elapsed() < Duration::from_secs(10) {
        if let Some(used) = cpu_time(pid) {
            last = last.max(used);
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    let took = killed.elapsed();
    assert!(
        !alive(pid),
        "opsdeck {pid} still running 10 s after its terminal went away"
    );
    (took, last.saturating_sub(before))
}

/// Exited within a second, and used at most a quarter of a core (plus
/// 5 ms for the way out) meanwhile: a reader spinning on the dead tty
/// (crossterm#793) uses a whole one.
fn assert_gone_quietly(what: &str, took: Duration, used: Duration) {
    eprintln!("[signals] {what}: gone after {took:?}, {used:?} of CPU meanwhile");
    assert!(
        took <= GONE_WITHIN,
        "{what}: opsdeck took {took:?} to exit (at most {GONE_WITHIN:?})"
    );
    let allowed = took / 4 + Duration::from_millis(5);
    assert!(
        used <= allowed,
        "{what}: opsdeck used {used:?} of CPU in the {took:?} between losing its terminal and exiting (at most {allowed:?}): something spins"
    );
}

#[test]
fn killing_the_tmux_server_ends_opsdeck_within_a_second_without_spinning() {
    require_tmux();
    let mut t = Tmux::new(HARNESS, "kill-server");
    let script = format!("{} demo --seed 3", sh_quote(BIN));
    let (took, used) = kill_the_terminal(&mut t, &script);
    assert_gone_quietly("SIGHUP delivered", took, used);
}

#[test]
fn a_terminal_that_vanishes_without_sighup_ends_opsdeck_within_a_second_without_spinning() {
    require_tmux();
    let mut t = Tmux::new(HARNESS, "vanish");
    let exit_file = t.path("exit.txt");
    // The shell ignores SIGHUP, as with a terminal that simply vanishes:
    // only opsdeck's tty watchdog can notice.
    let script = format!(
        "trap '' HUP; {} demo --seed 3; echo \"EXIT=$?\" > {}",
        sh_quote(BIN),
        sh_quote(&exit_file)
    );
    let (took, used) = kill_the_terminal(&mut t, &script);
    // The shell records the status before anything is judged, so that it
    // has finished with the test's directory whatever the verdict.
    let code = support::wait_until("the exit status", Duration::from_secs(5), || {
        std::fs::read_to_string(&exit_file)
            .ok()
            .as_deref()
            .and_then(exit_code)
    });
    assert_gone_quietly("no SIGHUP", took, used);
    assert_eq!(code, 129, "exit status when the terminal went away");
}
