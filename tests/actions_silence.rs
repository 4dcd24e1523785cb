//! The silence backend against a real Alertmanager (Debian's, on a free
//! loopback port): an acknowledgement silences the alert, a maintenance
//! window is pending or active by its start, an expired silence is expired,
//! and an Alertmanager that is down or refuses is a failure in its words.

mod support;

use std::collections::BTreeMap;

use chrono::{Duration, SecondsFormat, Utc};
use opsdeck::actions::silence::SilenceRunner;
use opsdeck::actions::{ActionOutcome, ActionRequest, ActionRunner, Backend, SilenceOp};
use opsdeck::config::file::Endpoint;
use serde_json::{Value, json};
use support::*;
use tokio::sync::{mpsc, oneshot};

fn runner(url: &str) -> SilenceRunner {
    SilenceRunner::new(Endpoint::plain("am", reqwest::Url::parse(url).unwrap())).unwrap()
}

fn request(op: SilenceOp, params: &[(&str, &str)]) -> ActionRequest {
    ActionRequest {
        action: "silence".into(),
        target: "checkout".into(),
        environment: "production".into(),
        parameters: params
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect::<BTreeMap<_, _>>(),
        backend: Backend::Silence(op),
        timeout: Duration::seconds(10),
    }
}

async fn run(runner: &SilenceRunner, request: ActionRequest) -> ActionOutcome {
    let (tx, _rx) = mpsc::unbounded_channel();
    let (_cancel, cancelled) = oneshot::channel();
    runner.run(request, tx, cancelled).await
}

/// The id in "silences N alerts: silence <id> created" or "silence <id>
/// created, pending: …".
fn created_id(outcome: &ActionOutcome) -> String {
    match outcome {
        ActionOutcome::Succeeded { detail } => detail
            .rsplit("silence ")
            .next()
            .and_then(|d| d.split(" created").next())
            .filter(|id| !id.is_empty() && !id.contains(' '))
            .unwrap_or_else(|| panic!("{detail}"))
            .to_string(),
        other => panic!("{other:?}"),
    }
}

fn silence(am: &Alertmanager, id: &str) -> Value {
    am.silences()
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == id)
        .cloned()
        .unwrap_or_else(|| panic!("no silence {id}"))
}

fn matchers(silence: &Value) -> Value {
    let mut matchers = silence["matchers"].as_array().unwrap().clone();
    matchers.sort_by_key(|m| m["name"].as_str().unwrap().to_string());
    Value::Array(matchers)
}

fn exact(name: &str, value: &str) -> Value {
    json!({"name": name, "value": value, "isRegex": false, "isEqual": true})
}

fn rfc3339(t: chrono::DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

#[tokio::test]
async fn an_acknowledgement_silences_the_alert_by_name_and_service() {
    let am = Alertmanager::start();
    am.post_alerts(json!([
        {"labels": {"alertname": "CheckoutDown", "service": "checkout", "severity": "critical"}},
        {"labels": {"alertname": "CheckoutDown", "service": "search", "severity": "critical"}},
    ]));
    am.wait_for_alerts("both alerts", |a| {
        a.as_array().is_some_and(|a| a.len() == 2)
    });
    let runner = runner(&am.url());
    let ack = request(
        SilenceOp::Acknowledge {
            duration: Duration::minutes(15),
        },
        &[
            ("alertname", "CheckoutDown"),
            ("service_label", "service"),
            ("service", "checkout"),
            ("user", "alice"),
        ],
    );
    let outcome = run(&runner, ack).await;
    let id = created_id(&outcome);
    assert_eq!(
        outcome,
        ActionOutcome::Succeeded {
            detail: format!("silences 1 alert: silence {id} created")
        },
        "Alertmanager, asked, says it silences checkout's alert"
    );

    let created = silence(&am, &id);
    assert_eq!(
        matchers(&created),
        json!([
            exact("alertname", "CheckoutDown"),
            exact("service", "checkout")
        ])
    );
    assert_eq!(created["createdBy"], "alice");
    assert_eq!(created["comment"], "acknowledged in opsdeck");
    assert_eq!(created["status"]["state"], "active");
    let ends = chrono::DateTime::parse_from_rfc3339(created["endsAt"].as_str().unwrap()).unwrap();
    let left = ends.with_timezone(&Utc) - Utc::now();
    assert!(
        left > Duration::minutes(14) && left <= Duration::minutes(15),
        "{left}"
    );

    // Checkout's alert is silenced by it; search's, with the same name, is not.
    am.wait_for_alerts("checkout's alert silenced", |alerts| {
        alerts.as_array().unwrap().iter().all(|a| {
            let silenced = a["status"]["silencedBy"] == json!([id]);
            silenced == (a["labels"]["service"] == "checkout")
        })
    });
}

#[tokio::test]
async fn a_silence_lasts_the_length_chosen_in_the_dialog_not_the_configured_one() {
    let am = Alertmanager::start();
    am.post_alerts(json!([
        {"labels": {"alertname": "CheckoutDown", "service": "checkout", "severity": "critical"}},
    ]));
    am.wait_for_alerts("the alert", |a| a.as_array().is_some_and(|a| a.len() == 1));
    let runner = runner(&am.url());
    let ends = (Utc::now() + Duration::minutes(30)).to_rfc3339();
    let silence_for = request(
        SilenceOp::Acknowledge {
            duration: Duration::hours(4),
        },
        &[
            ("alertname", "CheckoutDown"),
            ("service_label", "service"),
            ("service", "checkout"),
            ("user", "alice"),
            ("ends_at", ends.as_str()),
        ],
    );
    let id = created_id(&run(&runner, silence_for).await);
    let created = silence(&am, &id);
    let ends = chrono::DateTime::parse_from_rfc3339(created["endsAt"].as_str().unwrap()).unwrap();
    let left = ends.with_timezone(&Utc) - Utc::now();
    assert!(
        left > Duration::minutes(29) && left <= Duration::minutes(30),
        "30 minutes as chosen, not 4 hours: {left}"
    );
}

#[tokio::test]
async fn a_maintenance_window_in_the_future_is_pending_and_one_starting_now_is_active() {
    let am = Alertmanager::start();
    let runner = runner(&am.url());
    let now = Utc::now();
    let window = |starts: chrono::DateTime<Utc>| {
        request(
            SilenceOp::Maintenance,
            &[
                ("service_label", "service"),
                ("service", "checkout"),
                ("starts_at", &rfc3339(starts)),
                ("ends_at", &rfc3339(starts + Duration::hours(2))),
                ("user", "bob"),
                ("comment", "database upgrade"),
            ],
        )
    };

    let later = created_id(&run(&runner, window(now + Duration::hours(1))).await);
    let pending = silence(&am, &later);
    assert_eq!(pending["status"]["state"], "pending");
    assert_eq!(matchers(&pending), json!([exact("service", "checkout")]));
    assert_eq!(pending["createdBy"], "bob");
    assert_eq!(pending["comment"], "database upgrade");

    let current = created_id(&run(&runner, window(now)).await);
    let active = silence(&am, &current);
    assert_eq!(active["status"]["state"], "active");
    assert_eq!(matchers(&active), json!([exact("service", "checkout")]));
}

#[tokio::test]
async fn an_expired_silence_is_expired() {
    let am = Alertmanager::start();
    let id = am.create_silence(silence_json(
        &[("service", "checkout")],
        "alice",
        "to expire",
        Duration::hours(1),
    ));
    let runner = runner(&am.url());
    let expire = request(SilenceOp::Expire, &[("silence_id", &id)]);
    assert_eq!(
        runner.describe(&expire).unwrap(),
        [
            format!("DELETE {}/api/v2/silence/{id}", am.url()),
            format!("expire silence {id}"),
        ]
    );
    let outcome = run(&runner, expire).await;
    assert_eq!(
        outcome,
        ActionOutcome::Succeeded {
            detail: format!("silence {id} expired")
        }
    );
    assert_eq!(silence(&am, &id)["status"]["state"], "expired");
}

#[tokio::test]
async fn an_alertmanager_that_is_down_is_a_failure() {
    let dead = format!("http://127.0.0.1:{}", free_port());
    let ack = request(
        SilenceOp::Acknowledge {
            duration: Duration::minutes(15),
        },
        &[("alertname", "CheckoutDown"), ("user", "alice")],
    );
    let outcome = run(&runner(&dead), ack).await;
    let ActionOutcome::Failed { detail } = outcome else {
        panic!("{outcome:?}");
    };
    assert!(
        detail.starts_with(&format!("Alertmanager at {dead}/ did not answer: ")),
        "{detail}"
    );
    assert!(detail.contains("Connection refused"), "{detail}");
}

#[tokio::test]
async fn a_silence_alertmanager_refuses_is_a_failure_in_its_words() {
    let am = Alertmanager::start();
    let runner = runner(&am.url());
    let now = Utc::now();
    let backwards = request(
        SilenceOp::Maintenance,
        &[
            ("service_label", "service"),
            ("service", "checkout"),
            ("starts_at", &rfc3339(now + Duration::hours(2))),
            ("ends_at", &rfc3339(now + Duration::hours(1))),
            ("user", "bob"),
        ],
    );
    let outcome = run(&runner, backwards).await;
    let ActionOutcome::Failed { detail } = outcome else {
        panic!("{outcome:?}");
    };
    assert!(
        detail.starts_with("Alertmanager answered HTTP 400: "),
        "{detail}"
    );
    assert!(
        detail.contains("start time must be before end time"),
        "{detail}"
    );
    assert_eq!(am.silences(), json!([]), "nothing was created");

    // Expiring a silence that does not exist is refused too, never a success.
    let unknown = request(
        SilenceOp::Expire,
        &[("silence_id", "00000000-0000-0000-0000-000000000000")],
    );
    let outcome = run(&runner, unknown).await;
    assert!(
        matches!(outcome, ActionOutcome::Failed { .. }),
        "{outcome:?}"
    );
}

// ---------------------------------------------------------------------------
// Issue 21, item 1: acknowledged through the app, on the raw label values,
// and verified with Alertmanager.
// ---------------------------------------------------------------------------

use opsdeck::app::actions::{Effect, Focus};
use opsdeck::app::{App, Mode, Msg, Settings};
use opsdeck::config::keymap::Keymap;
use opsdeck::config::theme::Theme;
use opsdeck::sources::alertmanager::AlertmanagerSource;
use opsdeck::sources::{AlertSource, Feed, FeedUpdate, Reading};
use ratatui::crossterm::event::{Event, KeyCode, KeyEvent, KeyModifiers};

/// A headless app on the live Alertmanager at `url`, with the built-in
/// actions and the real silence runner, fed one answer of its alerts.
async fn live_app(url: &str, verify_for: std::time::Duration) -> App {
    let mut app = App::new(
        Settings::default(),
        Theme::builtin(),
        Keymap::builtin(),
        Utc::now(),
    );
    app.actions.specs = opsdeck::config::actions::builtin();
    app.actions.runners.silence = Some(std::sync::Arc::new(runner(url).verifying_for(verify_for)));
    app.actions.common = [
        ("user".to_string(), "alice".to_string()),
        ("service_label".to_string(), "service".to_string()),
    ]
    .into();
    app.actions.arm_delay = std::time::Duration::ZERO;
    feed(&mut app, url).await;
    app
}

async fn feed(app: &mut App, url: &str) {
    let source = AlertmanagerSource::new(
        Endpoint::plain("am", reqwest::Url::parse(url).unwrap()),
        &["service".to_string()],
    )
    .unwrap();
    let fetched = source.alerts(Utc::now()).await.expect("alerts");
    app.update(Msg::Feed(FeedUpdate {
        source: "am".into(),
        feed: Feed::Alerts,
        at: Utc::now(),
        result: Ok(Reading::Alerts(fetched.value)),
        warnings: fetched.warnings,
    }));
}

fn press(app: &mut App, code: KeyCode) {
    app.update(Msg::Input(Event::Key(KeyEvent::new(
        code,
        KeyModifiers::NONE,
    ))));
}

/// Selects the incident whose raw service value is `raw` on the Incidents
/// tab.
fn select_incident(app: &mut App, raw: &str) {
    use opsdeck::app::tab::TableId;
    let index = app
        .estate
        .incidents
        .iter()
        .position(|i| i.raw_service == raw)
        .unwrap_or_else(|| panic!("no incident of {:?}", &raw[..raw.len().min(40)]));
    let row = app
        .table(TableId::Incidents)
        .rows
        .iter()
        .position(|r| r.index == index)
        .unwrap();
    while app.table(TableId::Incidents).selected != row {
        let up = app.table(TableId::Incidents).selected > row;
        press(app, if up { KeyCode::Up } else { KeyCode::Down });
    }
}

/// `a` on the selected incident, Run chosen from the keyboard, the
/// request run by the real runner and its end given back to the app: the
/// outcome, and the audit notes of its end.
async fn acknowledge(app: &mut App) -> (ActionOutcome, Vec<opsdeck::app::actions::AuditNote>) {
    press(app, KeyCode::Char('a'));
    assert_eq!(app.mode, Mode::Confirm);
    let description = app.actions.confirm.as_ref().unwrap().description.clone();
    let description = description.expect("described").join("\n");
    assert!(
        !description.contains('\u{1b}') && !description.contains('\u{202e}'),
        "shown escaped: {description}"
    );
    while app.actions.confirm.as_ref().unwrap().focus != Focus::Run {
        press(app, KeyCode::Tab);
    }
    press(app, KeyCode::Enter);
    let (id, request) = app
        .actions
        .outbox
        .drain(..)
        .find_map(|e| match e {
            Effect::Start { id, request } => Some((id, request)),
            _ => None,
        })
        .expect("started");
    let runner = app.actions.runners.silence.clone().unwrap();
    let (tx, _rx) = mpsc::unbounded_channel();
    let (_cancel, cancelled) = oneshot::channel();
    let outcome = runner.run(request, tx, cancelled).await;
    app.update(Msg::ActionDone {
        id,
        outcome: outcome.clone(),
        at: Utc::now(),
    });
    let notes = app
        .actions
        .outbox
        .drain(..)
        .filter_map(|e| match e {
            Effect::Audit(note) => Some(note),
            _ => None,
        })
        .collect();
    (outcome, notes)
}

/// Alertmanager's own state of the alert whose service is `raw`.
fn state_of(alerts: &Value, raw: &str) -> String {
    let alert = alerts
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["labels"]["service"] == raw)
        .unwrap_or_else(|| panic!("no alert of {:?}", &raw[..raw.len().min(40)]));
    alert["status"]["state"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn hostile_labels_acknowledged_through_the_app_silence_exactly_their_alerts() {
    let am = Alertmanager::start();
    let escape = "pay\u{1b}[31mments";
    let override_ = "\u{202e}tuokcehc";
    let long = "z".repeat(100_000);
    let plain = "checkout";
    // Neighbours: what the old matchers sent (the escaped display text, a
    // value cut with '…'), a long value shown the same as `long`, and
    // values close to the others.
    let neighbours = [
        "pay\\x1b[31mments".to_string(),
        "tuokcehc".to_string(),
        "\\u{202e}tuokcehc".to_string(),
        format!("{}…", "z".repeat(512)),
        format!("{}y", "z".repeat(99_999)),
        "checkout-eu".to_string(),
    ];
    let targets = [escape, override_, long.as_str(), plain];
    let all: Vec<&str> = targets
        .iter()
        .copied()
        .chain(neighbours.iter().map(String::as_str))
        .collect();
    let alerts: Vec<Value> = all
        .iter()
        .map(|s| json!({"labels": {"alertname": "Hostile", "service": s, "severity": "critical"}}))
        .collect();
    am.post_alerts(Value::Array(alerts));
    am.wait_for_alerts("every alert", |a| {
        a.as_array().is_some_and(|a| a.len() == all.len())
    });
    let mut app = live_app(&am.url(), std::time::Duration::from_secs(5)).await;
    press(&mut app, KeyCode::Char('5'));
    assert_eq!(app.estate.incidents.len(), all.len(), "one incident each");

    for raw in targets {
        select_incident(&mut app, raw);
        let (outcome, notes) = acknowledge(&mut app).await;
        let ActionOutcome::Succeeded { detail } = &outcome else {
            panic!("{:?}: {outcome:?}", &raw[..raw.len().min(40)]);
        };
        assert!(detail.starts_with("silences 1 alert: silence "), "{detail}");
        let notice = app.actions.notice.clone().unwrap();
        assert!(notice.contains(": succeeded: silences 1 alert"), "{notice}");
        let finished = notes.last().unwrap();
        assert_eq!(finished.outcome.as_deref(), Some("succeeded"));
        assert_eq!(
            finished.parameters["service"], raw,
            "the raw value, audited"
        );
    }

    // Alertmanager's own word: each target suppressed, every neighbour not.
    let alerts = am.alerts();
    for raw in targets {
        assert_eq!(
            state_of(&alerts, raw),
            "suppressed",
            "{:?}",
            &raw[..raw.len().min(40)]
        );
    }
    for raw in &neighbours {
        assert_eq!(
            state_of(&alerts, raw),
            "active",
            "{:?}",
            &raw[..raw.len().min(40)]
        );
    }
    // One silence each, on exactly the raw values.
    let silences = am.silences();
    let mut values: Vec<String> = silences
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            let m = matchers(s);
            assert_eq!(m[0], exact("alertname", "Hostile"));
            assert_eq!(s["comment"], "acknowledged in opsdeck");
            m[1]["value"].as_str().unwrap().to_string()
        })
        .collect();
    values.sort();
    let mut expected: Vec<String> = targets.iter().map(|s| s.to_string()).collect();
    expected.sort();
    assert_eq!(values, expected);
}

#[tokio::test]
async fn a_silence_that_matches_nothing_is_reported_failed_and_audited_so() {
    let am = Alertmanager::start();
    am.post_alerts(json!([
        {"labels": {"alertname": "Ghost", "service": "pay\u{1b}[31mments", "severity": "critical"}},
    ]));
    am.wait_for_alerts("the alert", |a| a.as_array().is_some_and(|a| a.len() == 1));
    let mut app = live_app(&am.url(), std::time::Duration::from_secs(2)).await;
    press(&mut app, KeyCode::Char('5'));
    // What the old code sent: the text shown, which matches no alert.
    let incident = &mut app.estate.incidents[0];
    incident.raw_service = incident.service.clone();
    assert_eq!(incident.raw_service, "pay\\x1b[31mments");
    let raw = incident.raw_service.clone();
    select_incident(&mut app, &raw);
    let asked = std::time::Instant::now();
    let (outcome, notes) = acknowledge(&mut app).await;
    let ActionOutcome::Failed { detail } = &outcome else {
        panic!("{outcome:?}");
    };
    assert!(
        asked.elapsed() >= std::time::Duration::from_secs(2),
        "polled for its bound before failing"
    );
    let silences = am.silences();
    let id = silences[0]["id"].as_str().unwrap();
    assert_eq!(
        detail,
        &format!(
            "silence {id} silences no alert: it matches none of its targets; \
             X on the Incidents tab (w: silences) expires it"
        )
    );
    let finished = notes.last().unwrap();
    assert_eq!(finished.event.word(), "finished");
    assert_eq!(finished.outcome.as_deref(), Some("failed"));
    assert_eq!(finished.detail.as_deref(), Some(detail.as_str()));
    let notice = app.actions.notice.clone().unwrap();
    assert!(notice.contains(": failed: silence "), "{notice}");
    let run = app.actions.runs.back().unwrap();
    assert!(matches!(
        run.finished,
        Some((_, ActionOutcome::Failed { .. }))
    ));
    assert_eq!(state_of(&am.alerts(), "pay\u{1b}[31mments"), "active");

    // The offer taken: X on that silence expires it.
    feed(&mut app, &am.url()).await;
    press(&mut app, KeyCode::Char('w'));
    press(&mut app, KeyCode::Char('X'));
    let d = app.actions.confirm.as_ref().expect("the expire dialog");
    assert_eq!(d.request.parameters["silence_id"], id);
    assert!(!d.needs_name, "alice's own silence");
}
