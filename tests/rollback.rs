//! Rollbacks that go back, end to end, and a demo that is its seed alone.
//! The real binary in tmux: on the demo, and on a live estate pushed to a
//! real Pushgateway scraped by a real Prometheus, a confirmed rollback
//! shows `rolling back…` on its row at once, then the source's truth; `R`
//! again warns that the "previous" version is the one just rolled away
//! from and aims at the last healthy version. And two demo runs with the
//! same seed and home start alike, whatever the first one did.

mod support;

use std::time::Duration;

use support::{Expect, Harness, Tmux, require_tmux, sh_quote};

const BIN: &str = env!("CARGO_BIN_EXE_opsdeck");
const HARNESS: Harness = Harness {
    prefix: "opsdeck-rollback",
    wait: Duration::from_secs(20),
    poll: Duration::from_millis(50),
};

/// The dialog ignores keys for its first 300 ms (typed ahead or pasted).
fn past_the_arm_delay() {
    std::thread::sleep(Duration::from_millis(400));
}

/// The word between "type " and " to confirm" on the dialog, if asked.
fn name_to_type(screen: &str) -> Option<String> {
    let line = screen.lines().find(|l| l.contains(" to confirm: "))?;
    let after = &line[line.find("type ")? + 5..];
    Some(after[..after.find(" to confirm")?].to_string())
}

/// The value on the dialog's line labelled `label`.
fn dialog_value(screen: &str, label: &str) -> String {
    let line = screen
        .lines()
        .find(|l| l.contains(&format!("│ {label} ")))
        .unwrap_or_else(|| panic!("no {label} line in\n{screen}"));
    let from = line.find(label).unwrap() + label.len();
    line[from..].trim_matches([' ', '│']).to_string()
}

/// Confirms the open dialog: the name typed and Enter when it asks for
/// one, else Run chosen.
fn confirm(t: &Tmux, dialog: &str) {
    past_the_arm_delay();
    match name_to_type(dialog) {
        Some(name) => {
            t.type_text(&name);
            t.send("Enter");
        }
        None => {
            t.send("Tab");
            t.send("Enter");
        }
    }
}

/// The cells of `target`'s row from the column headed `from` onwards.
fn cells_from(screen: &str, target: &str, from: &str) -> String {
    let header = screen
        .lines()
        .find(|l| l.contains(from))
        .unwrap_or_else(|| panic!("no {from} column in\n{screen}"));
    let at = header[..header.find(from).unwrap()].chars().count();
    let row = screen
        .lines()
        .find(|l| l.contains(&format!(" {target} ")))
        .unwrap_or_else(|| panic!("no row of {target} in\n{screen}"));
    row.chars()
        .skip(at)
        .collect::<String>()
        .trim_end_matches([' ', '│'])
        .to_string()
}

#[test]
fn a_demo_run_starts_from_its_seed_alone_whatever_an_earlier_run_did() {
    require_tmux();
    let mut t = Tmux::new(HARNESS, "demo-runs");
    // Twice in the same home (the same XDG directories, the demo's audit
    // log at its default place): the first run drills a target and quits.
    let run = format!("{} demo --seed 11", sh_quote(BIN));
    t.start(
        120,
        40,
        &format!("{run}; echo FIRST $?; {run}; echo EXITED $?; sleep 30"),
    );
    t.expect("the first screen", Expect::on(1).has(&[" DEMO ", "UTC"]));
    let before = t.tab(4, "the backups", Expect::on(4).has(&["DR drill"]));
    t.send("D");
    let dialog = t.expect(
        "the drill dialog",
        Expect::on(4).has(&["Confirm: dr_drill"]),
    );
    let target = dialog_value(&dialog, "target");
    let untouched = cells_from(&before, &target, "DR drill");
    confirm(&t, &dialog);
    t.expect(
        "the drill done",
        Expect::on(4).has(&["succeeded in", &format!("dr_drill {target}")]),
    );
    let drilled = t.wait_until("the drill on its row", |s| {
        s.lines().any(|l| l.contains(&format!(" {target} ")))
            && cells_from(s, &target, "DR drill") != untouched
    });
    let after = cells_from(&drilled, &target, "DR drill");
    let audit = t.dir().join(".local/share/opsdeck/demo-audit.log");
    let recorded = std::fs::read_to_string(&audit).expect("the demo's audit log");
    assert!(recorded.contains("measured_rto_s"), "{recorded}");

    t.send("q");
    t.wait_for("FIRST 0");
    t.expect(
        "the second run's first screen",
        Expect::on(1).has(&[" DEMO ", "UTC"]),
    );
    let second = t.tab(4, "the backups again", Expect::on(4).has(&["DR drill"]));
    assert_eq!(
        cells_from(&second, &target, "DR drill"),
        untouched,
        "the second run shows the seed's drill, not the first run's ({after})"
    );
}
