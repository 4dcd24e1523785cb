//! Rollbacks that go back, end to end, and a demo that is its seed alone.
//! The real binary in tmux: on the demo, and on a live estate pushed to a
//! real Pushgateway scraped by a real Prometheus, a confirmed rollback
//! shows `rolling back…` on its row at once, then the source's truth; `R`
//! again warns that the "previous" version is the one just rolled away
//! from and aims at the last healthy version. And two demo runs with the
//! same seed and home start alike, whatever the first one did.

mod support;

use std::time::Duration;

use support::{
    Expect, Harness, Prometheus, PrometheusConfig, Pushgateway, Tmux, require_tmux, sample_values,
    scrape, sh_quote,
};

const BIN: &str = env!("CARGO_BIN_EXE_opsdeck");
const HARNESS: Harness = Harness {
    prefix: "opsdeck-rollback",
    // Generous: under the full suite on two cores a screen can lag by
    // seconds. Only how long a failure takes to show depends on it.
    wait: Duration::from_secs(60),
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

/// Hides the output pane of the run that just ended (Esc), and waits until
/// it is gone before any other key is sent. crossterm reads an Esc that
/// arrives in one read with the key after it as that key with Alt, so an
/// `R` sent straight after Esc can reach a busy opsdeck as Alt-R: the pane
/// stays and no dialog opens.
fn hide_pane(t: &Tmux, what: &str) -> String {
    t.send("Escape");
    t.expect(what, Expect::on(3).lacks(&["Esc hide"]))
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

/// The Version and Previous cells of `service`'s row.
fn versions(screen: &str, service: &str) -> (String, String) {
    let row = screen
        .lines()
        .find(|l| l.contains(&format!(" {service} ")) && l.contains(" v"))
        .unwrap_or_else(|| panic!("no row of {service} in\n{screen}"));
    // The first two cells after the name that are versions (the Env
    // column goes first when the row is too wide).
    let cells: Vec<&str> = row.split_whitespace().collect();
    let at = cells.iter().position(|c| *c == service).unwrap();
    let mut v = cells[at + 1..]
        .iter()
        .filter(|c| c.starts_with('v') && c[1..].starts_with(|d: char| d.is_ascii_digit()));
    let mut next = || {
        v.next()
            .unwrap_or_else(|| panic!("versions in {row}"))
            .to_string()
    };
    (next(), next())
}

#[test]
fn a_demo_rollback_shows_at_once_goes_to_weight_0_and_again_goes_further_back() {
    require_tmux();
    let mut t = Tmux::new(HARNESS, "demo-rollback");
    let audit = t.path("audit.log");
    let script = format!(
        "{} demo --seed 7 --audit-log {}; echo EXITED $?; sleep 30",
        sh_quote(BIN),
        sh_quote(&audit)
    );
    t.start(120, 40, &script);
    t.expect("the first screen", Expect::on(1).has(&[" DEMO ", "UTC"]));
    t.go_to_tab(3);
    // checkout is a canary, its release under way when the demo opens.
    t.send("/");
    t.type_text("checkout");
    t.send("Enter");
    let before = t.expect(
        "checkout's canary",
        Expect::on(3).lines(&[&["checkout", "canary", "% new", "progressing"]]),
    );
    let (bad, good) = versions(&before, "checkout");
    t.send("R");
    let dialog = t.expect(
        "the rollback dialog, where it goes",
        Expect::on(3).has(&[
            "Confirm: rollback",
            &format!("{bad} → {good}, the last version healthy before it"),
            &format!("roll checkout back from {bad} to {good}"),
            // The canary's verdict, repeated (the demo's checkout canary
            // fails 4.1% of requests against the stable version's own
            // few in ten thousand).
            "new worse: errors 4.1% vs 0.",
            "% → ✖ CRIT",
            &format!("{bad} against {good}, last 5 minutes"),
        ]),
    );
    assert!(
        !dialog.contains("warning"),
        "nothing to warn of yet\n{dialog}"
    );
    confirm(&t, &dialog);
    // At once, before the run (about 3 s) is done.
    let pending = t.expect(
        "the row rolling back",
        Expect::on(3).lines(&[&["checkout", "rolling back…"]]),
    );
    assert!(!pending.contains("succeeded in"), "{pending}");
    assert!(!pending.contains("rolled back  "), "{pending}");
    // Then the source's truth: the good version back, no traffic on the bad.
    let done = t.expect(
        "the row rolled back",
        Expect::on(3)
            .has(&["succeeded in"])
            .lines(&[&["checkout", &good, &bad, "canary", "0% new", "rolled back"]])
            .lacks(&["rolling back…"]),
    );
    assert_eq!(versions(&done, "checkout"), (good.clone(), bad.clone()));

    // Again: the warning names both versions, and the target is the last
    // healthy one before the current, not the bad "previous" one.
    let hidden = hide_pane(&t, "the output pane hidden");
    assert_eq!(
        versions(&hidden, "checkout"),
        (good.clone(), bad.clone()),
        "{hidden}"
    );
    t.send("R");
    let again = t.expect(
        "the second dialog, warned",
        Expect::on(3).has(&[
            "Confirm: rollback",
            "warning",
            "rolled back ",
            &format!("{bad} → {good}"),
            &format!("\"previous\" ({bad}) is the version rolled away from"),
        ]),
    );
    let will_run = again
        .lines()
        .find(|l| l.contains("roll checkout back from"))
        .unwrap_or_else(|| panic!("no description in\n{again}"));
    assert!(will_run.contains(&format!("from {good} to ")), "{will_run}");
    assert!(!will_run.contains(&format!("to {bad}")), "{will_run}");
    let older = will_run
        .split(" to ")
        .last()
        .unwrap()
        .trim_matches([' ', '│'])
        .to_string();
    assert_ne!(older, good);
    confirm(&t, &again);
    t.expect(
        "the row rolled further back",
        Expect::on(3).lines(&[&["checkout", &older, &good, "0% new", "rolled back"]]),
    );
    let lines = std::fs::read_to_string(&audit).unwrap();
    let finished: Vec<&str> = lines
        .lines()
        .filter(|l| l.contains("\"finished\""))
        .collect();
    assert_eq!(finished.len(), 2, "{lines}");
    assert!(
        finished[1].contains(&format!("\"target_version\":\"{older}\"")),
        "{}",
        finished[1]
    );
}

/// checkout's deployment as the documented convention has it.
fn checkout(version: &str, previous: &str, phase: &str, weight: u32) -> String {
    let labels = r#"service="checkout",environment="production""#;
    format!(
        "# TYPE deployment_info gauge\n\
         deployment_info{{{labels},version=\"{version}\",previous_version=\"{previous}\",strategy=\"canary\",phase=\"{phase}\"}} 1\n\
         # TYPE deployment_canary_weight gauge\n\
         deployment_canary_weight{{{labels}}} {weight}\n"
    )
}

/// The exec rollback: after a second, it pushes what the pipeline would
/// (the target version live, the one rolled away from previous, no traffic
/// on it) to the Pushgateway, as a real rollback job would report.
const ROLLBACK_SCRIPT: &str = r#"sleep 1
printf '# TYPE deployment_info gauge\ndeployment_info{service="checkout",environment="production",version="%s",previous_version="%s",strategy="canary",phase="rolled-back"} 1\n# TYPE deployment_canary_weight gauge\ndeployment_canary_weight{service="checkout",environment="production"} 0\n' "$3" "$2" | curl -sf -X PUT --data-binary @- "$1"
echo "rolled back to $3""#;

#[test]
fn a_live_rollback_shows_at_once_then_the_pushgateway_s_truth() {
    require_tmux();
    let pgw = Pushgateway::start();
    let group = [("service", "checkout"), ("environment", "production")];
    // The release before the session's: v40, healthy; then v41 from it.
    pgw.push("deploy", &group, &checkout("v41", "v40", "complete", 100));
    let prometheus = Prometheus::start(PrometheusConfig {
        scrape: vec![scrape("pushgateway", &pgw.addr(), true)],
        ..PrometheusConfig::default()
    });
    prometheus.wait_for(
        r#"deployment_info{service="checkout"}"#,
        "Prometheus scraping the Pushgateway",
        |r| !sample_values(r).is_empty(),
    );
    let mut t = Tmux::new(HARNESS, "live-rollback");
    // In a file of its own: its braces are not the action's placeholders.
    let rollback = t.path("rollback.sh");
    std::fs::write(&rollback, ROLLBACK_SCRIPT).unwrap();
    let config = format!(
        "refresh = \"1s\"\n\n[[prometheus]]\nname = \"prometheus\"\nurl = \"{}\"\n\n\
         [[actions]]\nname = \"rollback\"\napplies_to = \"deployment\"\nbackend = \"exec\"\n\
         argv = [\"sh\", {rollback:?}, \"{group}\", \"{{version}}\", \"{{target_version}}\"]\n\
         timeout = \"1m\"\n",
        prometheus.url(),
        group = pgw.group_url("deploy", &group),
    );
    let path = t.path("config.toml");
    std::fs::write(&path, config).unwrap();
    let audit = t.path("audit.log");
    let script = format!(
        "{} --config {} --audit-log {}; echo EXITED $?; sleep 30",
        sh_quote(BIN),
        sh_quote(&path),
        sh_quote(&audit)
    );
    t.start_unsetting(120, 40, &["OPSDECK_CONFIG"], &script);
    t.expect(
        "the first screen",
        Expect::default().has(&[" opsdeck ", "UTC"]),
    );
    t.go_to_tab(3);
    t.expect(
        "v41 live",
        Expect::on(3).lines(&[&["checkout", "v41", "v40", "100% new", "complete"]]),
    );
    // A new release, seen by opsdeck going forward from v41.
    pgw.push("deploy", &group, &checkout("v42", "v41", "progressing", 25));
    t.expect(
        "v42 in progress",
        Expect::on(3).lines(&[&["checkout", "v42", "v41", "25% new", "progressing"]]),
    );
    t.send("R");
    let dialog = t.expect(
        "the rollback dialog",
        Expect::on(3).has(&["Confirm: rollback", "v42 → v41, the last version healthy"]),
    );
    confirm(&t, &dialog);
    let pending = t.expect(
        "the row rolling back at once",
        Expect::on(3).lines(&[&["checkout", "v42", "rolling back…"]]),
    );
    assert!(!pending.contains("succeeded in"), "{pending}");
    t.expect(
        "the Pushgateway's truth, through Prometheus",
        Expect::on(3)
            .lines(&[&["checkout", "v41", "v42", "0% new", "rolled back"]])
            .lacks(&["rolling back…"]),
    );
    // Again: warned with both versions; v40, the last healthy one before
    // v41, is the target, not v42.
    hide_pane(&t, "the output pane hidden");
    t.send("R");
    t.expect(
        "the second dialog, warned",
        Expect::on(3).has(&[
            "warning",
            "v42 → v41",
            "\"previous\" (v42) is the version rolled away from",
            "v41 → v40, the last version healthy before it",
        ]),
    );
    let lines = std::fs::read_to_string(&audit).unwrap();
    let finished = lines
        .lines()
        .find(|l| l.contains("\"finished\""))
        .unwrap_or_else(|| panic!("{lines}"));
    assert!(finished.contains("\"succeeded\""), "{finished}");
    assert!(
        finished.contains("\"target_version\":\"v41\""),
        "{finished}"
    );
}
