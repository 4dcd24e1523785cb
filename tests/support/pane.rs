//! More of the end-to-end driver, on top of `tmux.rs`: a pane script that
//! waits for the test before it starts opsdeck and reports how opsdeck
//! left the terminal; every byte opsdeck writes to its pty, captured with
//! `tmux pipe-pane`; the check that the terminal is as it was; and the CPU
//! time a process has used, from `/proc`.

use std::fs;
use std::path::PathBuf;
use std::time::Duration;

use super::tmux::{Tmux, exit_code, sh_quote};

/// The file whose appearance lets a gated pane script go on.
const GO: &str = "go";

/// A pane script: waits until [`start_gated`] says go (so a capture can be
/// set up before opsdeck writes its first byte), remembers the tty
/// settings, runs `command`, then prints `EXIT=<status>` and the tty
/// settings it left behind, and stays open so the screen can be read.
pub fn gated_report_script(t: &Tmux, command: &str) -> String {
    format!(
        "while [ ! -e {go} ]; do sleep 0.02; done; stty -g > {before}; {command}; echo \"EXIT=$?\"; stty -g > {after}; stty -a; echo STTY-END; exec sleep 600",
        go = sh_quote(&t.path(GO)),
        before = sh_quote(&t.path("stty.before")),
        after = sh_quote(&t.path("stty.after")),
    )
}

/// A pane script like [`gated_report_script`] that writes nothing to the
/// terminal but what `command` writes: its exit status goes to
/// `exit.txt` in the private home (see [`exit_status`]), and the pane
/// stays open.
pub fn gated_quiet_script(t: &Tmux, command: &str) -> String {
    format!(
        "while [ ! -e {go} ]; do sleep 0.02; done; {command}; echo \"EXIT=$?\" > {exit}; exec sleep 600",
        go = sh_quote(&t.path(GO)),
        exit = sh_quote(&t.path("exit.txt")),
    )
}

/// The exit status a [`gated_quiet_script`] recorded, once it has.
pub fn exit_status(t: &Tmux) -> Option<i32> {
    fs::read_to_string(t.dir().join("exit.txt"))
        .ok()
        .as_deref()
        .and_then(exit_code)
}

/// Starts the session on `script` (see [`gated_report_script`]), starts
/// capturing every byte written to the pane into `pty.bytes`, then lets the
/// script go on. Returns the capture.
pub fn start_gated(t: &mut Tmux, width: u16, height: u16, script: &str) -> PaneCapture {
    t.start_unsetting(width, height, &["OPSDECK_CONFIG"], script);
    let capture = PaneCapture::start(t);
    fs::write(t.dir().join(GO), b"").expect("writing the go file");
    capture
}

/// Every byte the pane's program writes, as tmux reads it from the pty
/// (`pipe-pane -o 'cat >> FILE'`).
pub struct PaneCapture {
    path: PathBuf,
}

impl PaneCapture {
    pub fn start(t: &Tmux) -> PaneCapture {
        let path = t.dir().join("pty.bytes");
        fs::write(&path, b"").expect("creating the capture file");
        let command = format!("cat >> {}", sh_quote(&path.display().to_string()));
        t.tmux_ok(&["pipe-pane", "-o", "-t", "main", &command]);
        PaneCapture { path }
    }

    /// What has been captured so far.
    pub fn bytes(&self) -> Vec<u8> {
        fs::read(&self.path).unwrap_or_default()
    }

    /// Waits until the capture has stopped growing for `quiet` (tmux
    /// writes to the pipe a little after the screen shows it).
    pub fn settled(&self, quiet: Duration) -> Vec<u8> {
        let mut last = self.bytes();
        loop {
            std::thread::sleep(quiet);
            let now = self.bytes();
            if now.len() == last.len() {
                return now;
            }
            last = now;
        }
    }
}

/// After opsdeck has exited in a [`gated_report_script`] pane: returns its
/// exit status and asserts the terminal is as it was before it started
/// (normal screen, cursor shown, canonical mode and echo on, every `stty`
/// setting as before).
pub fn assert_exited_and_restored(t: &Tmux) -> i32 {
    let screen = t.wait_for("STTY-END");
    let code =
        exit_code(&screen).unwrap_or_else(|| panic!("no EXIT= line on the screen:\n{screen}"));
    assert!(
        !screen.contains('╭'),
        "the dashboard is still on the screen after exit:\n{screen}"
    );
    assert_eq!(
        t.display("#{alternate_on}"),
        "0",
        "the alternate screen is still on; screen:\n{screen}"
    );
    assert_eq!(
        t.display("#{cursor_flag}"),
        "1",
        "the cursor is still hidden; screen:\n{screen}"
    );
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
    let read = |f: &str| {
        fs::read_to_string(t.dir().join(f)).unwrap_or_else(|e| panic!("reading {f}: {e}"))
    };
    assert_eq!(
        read("stty.before").trim(),
        read("stty.after").trim(),
        "tty settings differ after exit (stty -g)"
    );
    code
}

/// CPU time `pid` has used so far, all its threads together, to the
/// nanosecond (the first field of each `/proc/PID/task/TID/schedstat`);
/// `None` once it is gone.
pub fn cpu_time(pid: u32) -> Option<Duration> {
    let tasks = fs::read_dir(format!("/proc/{pid}/task")).ok()?;
    let mut nanos = 0u64;
    for task in tasks.flatten() {
        // A thread that ended between the listing and the read counts 0.
        if let Ok(text) = fs::read_to_string(task.path().join("schedstat")) {
            nanos += text
                .split_whitespace()
                .next()
                .and_then(|n| n.parse::<u64>().ok())
                .unwrap_or(0);
        }
    }
    Some(Duration::from_nanos(nanos))
}
