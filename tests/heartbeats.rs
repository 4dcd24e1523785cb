//! The alerting pipeline's heartbeat and the alerts that do not count
//! (issue 20, item 2), against a real Alertmanager and a real Prometheus on
//! loopback: a critical alert alone is a breach (`status` exit 2, a CRIT
//! header); a Watchdog and a dead man's switch alone are not, and are shown
//! as "alerting pipeline alive"; their going away warns; `[alerts]
//! not_counted` keeps an alert on screen and out of the verdict;
//! `expect_heartbeat` warns when none fires.

mod support;

use std::process::Command;
use std::time::Duration;

use chrono::Utc;
use opsdeck::app::{App, Msg, Settings};
use opsdeck::config::file::Config;
use opsdeck::config::keymap::Keymap;
use opsdeck::config::theme::Theme;
use opsdeck::domain::Status;
use opsdeck::sources::poller::PollPlan;
use serde_json::{Value, json};
use support::*;

const BIN: &str = env!("CARGO_BIN_EXE_opsdeck");

fn alert(name: &str, severity: &str, service: &str) -> Value {
    json!({
        "labels": { "alertname": name, "severity": severity, "service": service },
        "annotations": { "summary": format!("{name} on {service}") },
    })
}

/// A configuration file for this Prometheus and Alertmanager, with `extra`.
fn config(
    dir: &std::path::Path,
    prometheus: &Prometheus,
    am: &Alertmanager,
    extra: &str,
) -> String {
    let path = dir.join("opsdeck.toml");
    let text = format!(
        "[[prometheus]]\nurl = \"{}\"\n\n[[alertmanager]]\nurl = \"{}\"\n\n{extra}",
        prometheus.url(),
        am.url()
    );
    std::fs::write(&path, text).unwrap();
    path.display().to_string()
}

/// `opsdeck status --json` on `config`: its exit code and document.
fn status(config: &str) -> (i32, Value) {
    let out = Command::new(BIN)
        .args(["status", "--json", "--config", config])
        .output()
        .expect("runs opsdeck");
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{e}: {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out.status.code().unwrap(), doc)
}

fn status_text(config: &str) -> String {
    let out = Command::new(BIN)
        .args(["status", "--config", config])
        .env("COLUMNS", "100")
        .output()
        .expect("runs opsdeck");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn reasons(doc: &Value) -> Vec<String> {
    doc["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["text"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn status_a_critical_alert_is_a_breach_a_heartbeat_is_not_and_not_counted_is_shown_only() {
    let prometheus = Prometheus::start(PrometheusConfig::default());
    let am = Alertmanager::start();
    let dir = TempDir::new("heartbeats");
    am.post_alerts(json!([
        alert("Watchdog", "none", ""),
        alert("PrometheusAlertmanagerE2eDeadManSwitch", "critical", ""),
    ]));
    am.wait_for_alerts("two heartbeats", |a| a.as_array().unwrap().len() == 2);
    let plain = config(dir.path(), &prometheus, &am, "");

    // The heartbeats alone: no incident, the pipeline alive, exit 0 (an
    // estate with no request metrics has no KPI to judge: unknown).
    let (exit, doc) = status(&plain);
    assert_eq!(
        (exit, doc["state"].as_str()),
        (0, Some("unknown")),
        "{doc:#}"
    );
    assert_eq!(reasons(&doc), ["no KPI has data"], "{doc:#}");
    assert_eq!(doc["incidents"].as_array().unwrap().len(), 0, "{doc:#}");
    assert_eq!(doc["alerting"]["heartbeat"], "alive");
    assert_eq!(
        doc["alerting"]["names"],
        json!(["PrometheusAlertmanagerE2eDeadManSwitch", "Watchdog"])
    );
    assert!(
        status_text(&plain)
            .contains("alerting pipeline alive (PrometheusAlertmanagerE2eDeadManSwitch, Watchdog)"),
        "{}",
        status_text(&plain)
    );

    // A critical alert beside them: a breach, exit 2, and it says why.
    am.post_alerts(json!([alert("HighErrorRate", "critical", "orders")]));
    am.wait_for_alerts("three alerts", |a| a.as_array().unwrap().len() == 3);
    let (exit, doc) = status(&plain);
    assert_eq!((exit, doc["state"].as_str()), (2, Some("crit")), "{doc:#}");
    assert!(
        reasons(&doc).contains(&"1 incident (1 crit)".to_string()),
        "{doc:#}"
    );
    assert_eq!(doc["tabs"]["incidents"], "crit");

    // Named by `not_counted`: still listed, no part of the verdict.
    let quiet = config(
        dir.path(),
        &prometheus,
        &am,
        "[alerts]\nnot_counted = ['{service=\"orders\", alertname=~\"High.*\"}']\n",
    );
    let (exit, doc) = status(&quiet);
    assert_eq!(
        (exit, doc["state"].as_str()),
        (0, Some("unknown")),
        "{doc:#}"
    );
    assert_eq!(doc["tabs"]["incidents"], "ok");
    let incidents = doc["incidents"].as_array().unwrap();
    assert_eq!(incidents.len(), 1, "{doc:#}");
    assert_eq!(
        (&incidents[0]["name"], &incidents[0]["counted"]),
        (&json!("HighErrorRate"), &json!(false))
    );
}

#[test]
fn a_heartbeat_expected_and_missing_warns() {
    let prometheus = Prometheus::start(PrometheusConfig::default());
    let am = Alertmanager::start();
    let dir = TempDir::new("heartbeats");
    let expect = config(
        dir.path(),
        &prometheus,
        &am,
        "[alerts]\nexpect_heartbeat = true\n",
    );
    let (exit, doc) = status(&expect);
    assert_eq!((exit, doc["state"].as_str()), (1, Some("warn")), "{doc:#}");
    assert_eq!(
        reasons(&doc),
        ["alerting pipeline heartbeat missing", "no KPI has data"],
        "{doc:#}"
    );
    assert_eq!(doc["alerting"]["heartbeat"], "missing");
    // Without the setting, no heartbeat is nothing to say.
    let (exit, doc) = status(&config(dir.path(), &prometheus, &am, ""));
    assert_eq!(
        (exit, doc["alerting"]["heartbeat"].as_str()),
        (0, Some("none"))
    );
}

/// One round of every feed of `config`, applied to `app`.
fn poll(app: &mut App, config: &Config) {
    let (sources, problems) = opsdeck::sources::from_config(config, false);
    assert!(problems.is_empty(), "{problems:?}");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let now = Utc::now();
    let updates = runtime.block_on(opsdeck::status::fetch_all(
        &sources,
        &PollPlan::default(),
        now,
    ));
    app.apply(Msg::Tick(now));
    for u in updates {
        assert!(u.result.is_ok(), "{}: {:?}", u.source, u.result.err());
        app.apply(Msg::Feed(u));
    }
    app.settle();
}

/// The screen at 100x30 on the Incidents tab: its lines.
fn screen(app: &mut App) -> Vec<String> {
    app.tab = opsdeck::app::tab::Tab::Incidents;
    app.apply(Msg::Input(ratatui::crossterm::event::Event::Resize(
        100, 30,
    )));
    app.settle();
    let mut terminal = ratatui::Terminal::new(ratatui::backend::TestBackend::new(100, 30)).unwrap();
    terminal.draw(|f| opsdeck::ui::draw(f, app)).unwrap();
    let buffer = terminal.backend().buffer();
    (0..30)
        .map(|y| {
            (0..100)
                .map(|x| buffer[(x, y)].symbol().to_string())
                .collect()
        })
        .collect()
}

#[test]
fn the_heartbeat_going_away_warns_on_the_screen() {
    let prometheus = Prometheus::start(PrometheusConfig::default());
    let am = Alertmanager::start();
    let dir = TempDir::new("heartbeats");
    // A Watchdog that ends in a few seconds, as one does when the rule
    // evaluation or the route to Alertmanager breaks.
    let ends = Utc::now() + chrono::Duration::seconds(4);
    let mut watchdog = alert("Watchdog", "none", "");
    watchdog["endsAt"] = json!(ends.to_rfc3339());
    am.post_alerts(json!([watchdog]));
    am.wait_for_alerts("the watchdog", |a| a.as_array().unwrap().len() == 1);
    let path = config(dir.path(), &prometheus, &am, "");
    let config = Config::load(Some(std::path::Path::new(&path))).0;
    let mut app = App::new(
        Settings::from_config(&config, true),
        Theme::builtin(),
        Keymap::builtin(),
        Utc::now(),
    );

    poll(&mut app, &config);
    let summary = &app.estate.summary;
    assert_eq!(summary.status, Status::Unknown, "no KPI data: {summary:?}");
    assert_eq!(summary.marks.incidents, Status::Ok);
    assert!(app.estate.incidents.is_empty());
    let shown = screen(&mut app);
    assert!(shown[0].contains("? UNKNOWN"), "{shown:#?}");
    assert!(
        shown
            .iter()
            .any(|l| l.contains("♥ alerting pipeline alive (Watchdog)")),
        "on the incidents panel: {shown:#?}"
    );

    std::thread::sleep(Duration::from_secs(5));
    am.wait_for_alerts("the watchdog gone", |a| a.as_array().unwrap().is_empty());
    poll(&mut app, &config);
    let summary = &app.estate.summary;
    assert_eq!(summary.status, Status::Warn, "{summary:?}");
    assert_eq!(summary.marks.incidents, Status::Warn);
    let shown = screen(&mut app);
    assert!(
        shown[0].contains("▲ WARN") && shown[0].contains("heartbeat gone (Watchdog)"),
        "{shown:#?}"
    );
    assert!(
        shown
            .iter()
            .skip(2)
            .any(|l| l.contains("▲ alerting pipeline heartbeat gone (Watchdog)")),
        "on the incidents panel: {shown:#?}"
    );

    // A critical alert alone (the heartbeat gone warns less): a CRIT header
    // that names it, and the incidents tab marked.
    am.post_alerts(json!([alert("HighErrorRate", "critical", "orders")]));
    am.wait_for_alerts("the critical alert", |a| a.as_array().unwrap().len() == 1);
    poll(&mut app, &config);
    let shown = screen(&mut app);
    assert!(
        shown[0].contains("✖ CRIT") && shown[0].contains("1 incident (1 crit)"),
        "{shown:#?}"
    );
    assert!(shown[1].contains("5 Incidents (1) ✖ CRIT"), "{shown:#?}");
}
