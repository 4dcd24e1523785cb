//! A DR drill from the keyboard, end to end: the real binary in tmux on a
//! configuration whose only backup target is a real restic repository.
//! `D` on its row shows the built-in drill (what it restores, where, how it
//! checks), `Run` restores, verifies and cleans up, the row shows the drill
//! and its RTO, and the audit log's measured RTO is within a second of the
//! run's own duration.

mod support;

#[path = "support/backup_tools.rs"]
mod backup_tools;

use std::time::Duration;

use serde_json::Value;
use support::{Expect, Harness, Tmux, require_tmux, sh_quote};

const BIN: &str = env!("CARGO_BIN_EXE_opsdeck");
const HARNESS: Harness = Harness {
    prefix: "opsdeck-drill-keys",
    wait: Duration::from_secs(30),
    poll: Duration::from_millis(100),
};

fn audit(t: &Tmux) -> Vec<Value> {
    std::fs::read_to_string(t.path("audit.log"))
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

/// opsdeck in tmux on a configuration whose one backup target is `repo`,
/// on the Backups tab once its first check has passed; the scratch
/// directory drills use.
fn start(t: &mut Tmux, repo: &backup_tools::ResticRepo) -> std::path::PathBuf {
    let scratch = t.dir().join("scratch");
    std::fs::create_dir_all(&scratch).unwrap();
    let password = t.dir().join("restic.pass");
    std::fs::write(&password, &repo.password).unwrap();
    // No server: the metric sources point at a closed loopback port.
    let config = format!(
        r#"
[[prometheus]]
name = "prometheus"
url = "http://127.0.0.1:9"
[[alertmanager]]
name = "alertmanager"
url = "http://127.0.0.1:9"

[[backups]]
target = "files"
tool = "restic"
repository = "{}"
password_file = "{}"
tier = "standard"
drill = {{ scratch = "{}" }}
"#,
        repo.repository.display(),
        password.display(),
        scratch.display()
    );
    std::fs::write(t.path("opsdeck.toml"), config).unwrap();
    let command = format!(
        "{} --config {} --audit-log {}",
        sh_quote(BIN),
        sh_quote(&t.path("opsdeck.toml")),
        sh_quote(&t.path("audit.log"))
    );
    t.start(120, 40, &command);
    t.go_to_tab(4);
    // What the tab shows of it: its size (the snapshot's restore size, the
    // generated data's bytes), how many snapshots it keeps, its check.
    let size = format!("{:.1} KiB", repo.dataset.bytes as f64 / 1024.0);
    let kept = format!("read from restic · {} kept", repo.taken.len());
    t.expect(
        "the restic target, read and checked",
        Expect::on(4)
            .has(&[kept.as_str(), "checked", "passed"])
            .lines(&[&["files", "standard", "s ago", &size, "never"]]),
    );
    scratch
}

#[test]
fn a_drill_from_the_keyboard_restores_verifies_and_records_its_rto() {
    require_tmux();
    let repo = backup_tools::ResticRepo::with_backup();
    let mut t = Tmux::new(HARNESS, "restic");
    let scratch = start(&mut t, &repo);
    t.send("D");
    let dialog = t.expect(
        "the built-in drill's dialog",
        Expect::on(4).has(&["Confirm: dr_drill", "files", "restic", "[ Run ]"]),
    );
    assert!(
        !dialog.contains(&repo.password),
        "the password is never shown:\n{dialog}"
    );
    std::thread::sleep(Duration::from_millis(400));
    t.send("Tab");
    t.send("Enter");
    let done = t.expect(
        "the drill's end in the pane",
        Expect::default().has(&["dr_drill files: succeeded"]),
    );
    assert!(
        done.contains("verified"),
        "the pane says it verified:\n{done}"
    );
    // The row: drilled just now, its RTO against the standard tier's 4h.
    t.expect(
        "the drill on the row",
        Expect::on(4).lines(&[&["files", "s ago", "/ 4h"]]),
    );
    let lines = audit(&t);
    let finished = lines
        .iter()
        .find(|l| l["event"] == "finished" && l["action"] == "dr_drill")
        .unwrap_or_else(|| panic!("no finished drill in {lines:#?}"));
    assert_eq!(finished["outcome"], "succeeded", "{finished}");
    let rto = finished["measured_rto_s"].as_u64().expect("an RTO") as f64;
    let took = finished["duration_ms"].as_u64().expect("a duration") as f64 / 1000.0;
    // The RTO is start to verified (rounded to the second); the run's
    // duration adds only the cleaning up.
    assert!(
        (rto - took).abs() <= 1.0,
        "RTO {rto}s against a run of {took}s: {finished}"
    );
    // Nothing left in the scratch space.
    let left: Vec<_> = std::fs::read_dir(&scratch).unwrap().flatten().collect();
    assert!(left.is_empty(), "the scratch holds {left:?}");
}

#[test]
fn verifying_from_the_keyboard_finds_a_corrupted_repository() {
    require_tmux();
    let repo = backup_tools::ResticRepo::with_backup();
    let mut t = Tmux::new(HARNESS, "verify");
    start(&mut t, &repo);
    // Corrupted after opsdeck's own check passed: only `V` can see it.
    repo.corrupt();
    t.send("V");
    t.expect(
        "the check's dialog",
        Expect::on(4).has(&["Confirm: verify_backup", "check", "[ Run ]"]),
    );
    std::thread::sleep(Duration::from_millis(400));
    t.send("Tab");
    t.send("Enter");
    let screen = t.expect(
        "the failed check on the row and in the verdict",
        Expect::on(4)
            .has(&[
                "verify_backup files: failed",
                "backup check failed",
                "s ago failed: restic",
            ])
            .lines(&[&["CRIT", "files", "✖ "]]),
    );
    assert!(!screen.contains(&repo.password), "{screen}");
    let lines = audit(&t);
    let finished = lines
        .iter()
        .find(|l| l["event"] == "finished" && l["action"] == "verify_backup")
        .unwrap_or_else(|| panic!("no finished check in {lines:#?}"));
    assert_eq!(finished["outcome"], "failed", "{finished}");
}
