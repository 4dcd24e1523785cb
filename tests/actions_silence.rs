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

/// The id in "silence <id> created".
fn created_id(outcome: &ActionOutcome) -> String {
    match outcome {
        ActionOutcome::Succeeded { detail } => detail
            .strip_prefix("silence ")
            .and_then(|d| d.strip_suffix(" created"))
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
