//! Actions end to end: the real binary in tmux on the demo estate, a
//! rollback from the keyboard through its dialog to its result, and the
//! audit log it leaves; the same attempt read-only is refused and audited;
//! and on a real Alertmanager, an alert whose service label holds an escape
//! sequence acknowledged from the keyboard and really silenced.

mod support;

use std::time::Duration;

use serde_json::{Value, json};
use support::{Alertmanager, Expect, Harness, Tmux, free_port, require_tmux, sh_quote};

const BIN: &str = env!("CARGO_BIN_EXE_opsdeck");
const HARNESS: Harness = Harness {
    prefix: "opsdeck-actions",
    wait: Duration::from_secs(15),
    poll: Duration::from_millis(50),
};

fn launch(t: &mut Tmux, extra: &str) -> String {
    let audit = t.path("audit.log");
    let script = format!(
        "{} demo --audit-log {} {extra}; echo EXITED $?; sleep 30",
        sh_quote(BIN),
        sh_quote(&audit)
    );
    t.start(120, 40, &script);
    t.expect(
        "the first screen",
        Expect::on(1).lines(&[&[" opsdeck ", " DEMO ", "UTC"]]),
    );
    audit
}

fn audit_lines(path: &str) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

/// The word between "type " and " to confirm" on the dialog.
fn name_to_type(screen: &str) -> String {
    let line = screen
        .lines()
        .find(|l| l.contains(" to confirm: "))
        .unwrap_or_else(|| panic!("no name to type in\n{screen}"));
    let after = &line[line.find("type ").expect("type") + 5..];
    after[..after.find(" to confirm").expect("to confirm")].to_string()
}

#[test]
fn a_rollback_is_shown_confirmed_by_name_run_and_audited() {
    require_tmux();
    let mut t = Tmux::new(HARNESS, "rollback");
    let audit = launch(&mut t, "");
    t.go_to_tab(3);
    t.expect(
        "the deployments",
        Expect::on(3).has(&["production", "blue-green"]),
    );
    t.send("R");
    let dialog = t.expect(
        "the rollback dialog",
        Expect::on(3).has(&[
            "Confirm: rollback",
            "environment",
            "production",
            "will run:",
            "(simulated on the demo estate)",
            "[ Cancel ]",
            "[ Run ]",
        ]),
    );
    let service = name_to_type(&dialog);
    // The dialog ignores keys for its first 300 ms (typed ahead or pasted).
    std::thread::sleep(Duration::from_millis(400));
    let target_line = dialog
        .lines()
        .find(|l| l.contains("target"))
        .expect("a target line");
    assert!(target_line.contains(&service), "{target_line}");
    // Run without the name typed runs nothing.
    t.send("Tab");
    t.send("Tab");
    t.send("Enter");
    t.expect(
        "Run refused until the name is typed",
        Expect::on(3).has(&[
            "Confirm: rollback",
            &format!("nothing typed: type {service} to confirm"),
        ]),
    );
    // Tab wraps round to the name. A wrong name and Enter: said what is
    // expected, what was typed kept, the dialog still asking.
    t.send("Tab");
    t.type_text("nope");
    t.send("Enter");
    t.expect(
        "a wrong name explained and kept",
        Expect::on(3).has(&[
            "Confirm: rollback",
            &format!("'nope' is not {service}"),
            &format!("type {service} to confirm: nope"),
        ]),
    );
    assert!(audit_lines(&audit).iter().all(|l| l["event"] == "asked"));
    // Corrected, Enter in the name field confirms.
    t.send("C-u");
    t.type_text(&service);
    t.send("Enter");
    t.expect(
        "the output pane and the result",
        Expect::on(3).has(&["PLAY RECAP", "succeeded in", &format!("rollback {service}")]),
    );
    let row = t.expect(
        "the deployment rolled back",
        Expect::on(3).lines(&[&[&service, "rolled back"]]),
    );
    assert!(!row.contains("Confirm: rollback"), "the dialog closed");

    let lines = audit_lines(&audit);
    let events: Vec<&str> = lines.iter().map(|l| l["event"].as_str().unwrap()).collect();
    assert_eq!(
        events,
        ["asked", "confirmed", "started", "finished"],
        "{lines:#?}"
    );
    for line in &lines {
        assert_eq!(line["action"], "rollback");
        assert_eq!(line["target"], service.as_str());
        assert_eq!(line["environment"], "production");
        assert!(
            line["user"].as_str().is_some_and(|u| !u.is_empty()),
            "{line}"
        );
        assert!(
            line["host"].as_str().is_some_and(|h| !h.is_empty()),
            "{line}"
        );
    }
    let finished = &lines[3];
    assert_eq!(finished["outcome"], "succeeded");
    assert!(
        finished["duration_ms"].as_u64().unwrap() >= 1_000,
        "{finished}"
    );
    assert!(
        finished["description"][0]
            .as_str()
            .unwrap()
            .starts_with(&format!("roll {service} back from ")),
        "{finished}"
    );
}

#[test]
fn read_only_refuses_the_rollback_and_audits_the_refusal() {
    require_tmux();
    let mut t = Tmux::new(HARNESS, "read-only");
    let audit = launch(&mut t, "--read-only");
    t.go_to_tab(3);
    t.expect(
        "the deployments",
        Expect::on(3).has(&["production", "blue-green"]),
    );
    t.send("R");
    t.expect(
        "the refusal in the footer",
        Expect::on(3)
            .has(&["rollback refused: opsdeck runs read-only", "READ-ONLY"])
            .lacks(&["Confirm: rollback"]),
    );
    let lines = audit_lines(&audit);
    assert_eq!(lines.len(), 1, "{lines:#?}");
    assert_eq!(lines[0]["event"], "refused");
    assert_eq!(lines[0]["action"], "rollback");
    assert!(
        lines[0]["reason"].as_str().unwrap().contains("read-only"),
        "{}",
        lines[0]
    );
    assert!(lines[0]["target"].as_str().is_some_and(|t| !t.is_empty()));
}

#[test]
fn an_escape_sequence_in_a_label_is_acknowledged_from_the_keyboard_on_its_raw_value() {
    require_tmux();
    let am = Alertmanager::start();
    let raw = "pay\u{1b}[31mments";
    // Its neighbour holds the text opsdeck shows for it: the silence must
    // not take one for the other.
    let shown = "pay\\x1b[31mments";
    am.post_alerts(json!([
        {"labels": {"alertname": "Hostile", "service": raw, "severity": "critical"}},
        {"labels": {"alertname": "Hostile", "service": shown, "severity": "warning"}},
    ]));
    let mut t = Tmux::new(HARNESS, "hostile-ack");
    let audit = t.path("audit.log");
    // No Prometheus: a dead port, whose errors stay on their panels.
    let script = format!(
        "{} --prometheus http://127.0.0.1:{} --alertmanager {} --audit-log {}; echo EXITED $?; sleep 30",
        sh_quote(BIN),
        free_port(),
        sh_quote(&am.url()),
        sh_quote(&audit)
    );
    t.start_unsetting(120, 40, &["OPSDECK_CONFIG"], &script);
    t.expect(
        "the first screen",
        Expect::default().lines(&[&[" opsdeck ", "UTC"]]),
    );
    t.go_to_tab(5);
    // The critical one first: the row selected.
    t.expect(
        "both incidents, shown alike",
        Expect::on(5).lines(&[
            &["critical", "Hostile", shown],
            &["warning", "Hostile", shown],
        ]),
    );
    t.send("a");
    t.expect(
        "the dialog, showing the value escaped",
        Expect::on(5).has(&["Confirm: acknowledge", &format!("service=\"{shown}\"")]),
    );
    std::thread::sleep(Duration::from_millis(400));
    t.send("Tab");
    t.send("Enter");
    t.expect(
        "Alertmanager says it silences it",
        Expect::default().has(&["succeeded in", "silences 1 alert"]),
    );
    let alerts = am.alerts();
    let state = |service: &str| {
        alerts
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["labels"]["service"] == service)
            .map(|a| a["status"]["state"].as_str().unwrap().to_string())
    };
    assert_eq!(state(raw).as_deref(), Some("suppressed"), "{alerts:#}");
    assert_eq!(state(shown).as_deref(), Some("active"), "{alerts:#}");
    let lines = audit_lines(&audit);
    let finished = lines.last().unwrap();
    assert_eq!(finished["event"], "finished", "{lines:#?}");
    assert_eq!(finished["outcome"], "succeeded");
    assert_eq!(finished["parameters"]["service"], raw);
    assert!(
        finished["detail"]
            .as_str()
            .is_some_and(|d| d.starts_with("silences 1 alert: silence ")),
        "{finished}"
    );
}
