//! What changed before an incident, and storms, against real servers: a
//! deployment pushed to a Pushgateway at a known time and scraped by
//! Prometheus, then an alert on the same service in Alertmanager, read by
//! opsdeck's sources into a headless app; and five alerts on five services
//! sharing an instance, posted within a minute, grouped as one storm. The
//! demo shows both.

mod support;

use chrono::{DateTime, Duration, TimeZone, Utc};
use opsdeck::app::command::Command;
use opsdeck::app::tab::TableId;
use opsdeck::app::{App, Mode, Msg, Settings};
use opsdeck::config::file::{Config, Endpoint};
use opsdeck::config::keymap::Keymap;
use opsdeck::config::theme::Theme;
use opsdeck::demo::DemoEstate;
use opsdeck::sources::alertmanager::AlertmanagerSource;
use opsdeck::sources::metrics::PrometheusSource;
use opsdeck::sources::{AlertSource, Feed, FeedUpdate, MetricsSource, Reading};
use serde_json::{Value, json};
use support::*;

fn endpoint(name: &str, url: &str) -> Endpoint {
    Endpoint::plain(name, reqwest::Url::parse(url).unwrap())
}

fn app(now: DateTime<Utc>) -> App {
    App::new(
        Settings::default(),
        Theme::builtin(),
        Keymap::builtin(),
        now,
    )
}

fn feed(source: &str, feed: Feed, at: DateTime<Utc>, reading: Reading) -> Msg {
    Msg::Feed(FeedUpdate {
        source: source.into(),
        feed,
        at,
        result: Ok(reading),
        warnings: vec![],
    })
}

/// Whether the screen has the storm's row, opened (`▾`) or not (`▸`):
/// the label it shares, then how many incidents.
fn storm_row(screen: &str, arrow: &str) -> bool {
    let name = format!("{arrow} storm · instance=db-3");
    (screen.lines()).any(|l| l.contains(&name) && l.contains("5 incidents"))
}

async fn alerts_of(am: &Alertmanager, now: DateTime<Utc>) -> Reading {
    let source = AlertmanagerSource::new(
        endpoint("alertmanager", &am.url()),
        &["service".to_string()],
    )
    .unwrap();
    Reading::Alerts(source.alerts(now).await.unwrap().value)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_incident_after_a_deploy_lists_it_with_the_minutes_between() {
    let now = unix_now() as i64;
    // checkout's canary at 25% started 10 minutes ago; its errors 7
    // minutes after that.
    let deployed = now - 600;
    let errors_at = deployed + 7 * 60;
    let pushgateway = Pushgateway::start();
    let alertmanager = Alertmanager::start();
    let prometheus = Prometheus::start(PrometheusConfig {
        scrape: vec![scrape("pushgateway", &pushgateway.addr(), true)],
        ..PrometheusConfig::default()
    });
    let exposition = format!(
        "# TYPE deployment_info gauge\n\
         deployment_info{{service=\"checkout\",environment=\"production\",version=\"v3.2.40\",previous_version=\"v3.2.39\",strategy=\"canary\",color=\"\",phase=\"progressing\"}} 1\n\
         deployment_info{{service=\"search\",environment=\"production\",version=\"v9\",previous_version=\"v8\",strategy=\"rolling\",color=\"\",phase=\"complete\"}} 1\n\
         # TYPE deployment_canary_weight gauge\n\
         deployment_canary_weight{{service=\"checkout\",environment=\"production\"}} 25\n\
         # TYPE deployment_timestamp_seconds gauge\n\
         deployment_timestamp_seconds{{service=\"checkout\",environment=\"production\"}} {deployed}\n\
         deployment_timestamp_seconds{{service=\"search\",environment=\"production\"}} {deployed}\n"
    );
    pushgateway.push("deploy", &[], &exposition);
    // The deployment's time, as Prometheus holds it.
    let stamp = prometheus.wait_for(
        "deployment_timestamp_seconds{service=\"checkout\"}",
        "the pushed deployment scraped",
        |r| r.as_array().is_some_and(|a| a.len() == 1),
    );
    assert_eq!(stamp[0]["value"][1], json!(deployed.to_string()));
    let starts = |t: i64| Utc.timestamp_opt(t, 0).unwrap().to_rfc3339();
    alertmanager.post_alerts(json!([
        {
            "labels": {"alertname": "HighErrorRate", "service": "checkout", "severity": "critical"},
            "annotations": {"summary": "5xx above 5%"},
            "startsAt": starts(errors_at),
        },
        // Another service's incident, 40 minutes after its deploy: past
        // the 30-minute lead.
        {
            "labels": {"alertname": "HighLatency", "service": "orders", "severity": "warning"},
            "startsAt": starts(now - 60),
        },
    ]));
    alertmanager.wait_for_alerts("both alerts", |a| {
        a.as_array().is_some_and(|x| x.len() == 2)
    });

    // Queried now, after the scrape (at `now` Prometheus had no sample yet).
    let at = Utc::now();
    let source = PrometheusSource::new(
        endpoint("prometheus", &prometheus.url()),
        &Config::default(),
    )
    .unwrap();
    let deployments = source.deployments(at).await.unwrap().value;
    let mut app = app(at);
    app.update(feed(
        "prometheus",
        Feed::Deployments,
        at,
        Reading::Deployments(deployments),
    ));
    app.update(feed(
        "alertmanager",
        Feed::Alerts,
        at,
        alerts_of(&alertmanager, at).await,
    ));
    app.settle();

    let e = &app.estate;
    let checkout = (e.incidents.iter())
        .position(|i| i.service == "checkout")
        .expect("checkout's incident");
    let said: Vec<String> = e.changes[checkout].iter().map(|c| c.describe()).collect();
    assert_eq!(said, ["started 7m after checkout v3.2.40 canary 25%"]);
    let orders = e
        .incidents
        .iter()
        .position(|i| i.service == "orders")
        .unwrap();
    assert!(
        e.changes[orders].is_empty(),
        "search's deploy is not orders'"
    );

    // The table marks it; the details list it.
    app.run(Command::ShowIncidents);
    let screen = render(&app, 200, 30);
    let row = screen
        .lines()
        .find(|l| l.contains("HighErrorRate"))
        .unwrap();
    assert!(
        row.contains("Δ 7m after checkout v3.2.40 canary 25%"),
        "{row}"
    );
    let other = screen.lines().find(|l| l.contains("HighLatency")).unwrap();
    assert!(!other.contains('Δ'), "{other}");
    let index = app
        .table(TableId::Incidents)
        .rows
        .iter()
        .position(|r| r.index == checkout);
    for _ in 0..index.unwrap() {
        app.run(Command::Down);
    }
    app.run(Command::Open);
    assert_eq!(app.mode, Mode::Detail);
    let details = render(&app, 120, 40);
    assert!(
        details.contains("started 7m after checkout v3.2.40 canary 25%"),
        "{details}"
    );

    // A shorter lead than the 7 minutes: nothing listed.
    let mut short = App::new(
        Settings {
            change_lead: Duration::minutes(5),
            ..Settings::default()
        },
        Theme::builtin(),
        Keymap::builtin(),
        at,
    );
    let deployments = source.deployments(at).await.unwrap().value;
    short.update(feed(
        "prometheus",
        Feed::Deployments,
        at,
        Reading::Deployments(deployments),
    ));
    short.update(feed(
        "alertmanager",
        Feed::Alerts,
        at,
        alerts_of(&alertmanager, at).await,
    ));
    assert!(short.estate.changes.iter().all(Vec::is_empty));

    // `status --json` says it too.
    let dir = TempDir::new("changes-status");
    let config = dir.write(
        "config.toml",
        &format!(
            "[[prometheus]]\nname = \"prometheus\"\nurl = \"{}\"\n\n[[alertmanager]]\nname = \"alertmanager\"\nurl = \"{}\"\n",
            prometheus.url(),
            alertmanager.url()
        ),
    );
    let (status, stderr, _) = dir.status_json(&config);
    let incidents = status["incidents"].as_array().expect("incidents[]");
    let checkout = incidents
        .iter()
        .find(|i| i["service"] == "checkout")
        .unwrap_or_else(|| panic!("{status:#}\n{stderr}"));
    assert_eq!(
        checkout["changes_before"][0]["text"], "started 7m after checkout v3.2.40 canary 25%",
        "{checkout:#}"
    );
    assert_eq!(checkout["changes_before"][0]["before_seconds"], 420);
    let orders = incidents.iter().find(|i| i["service"] == "orders").unwrap();
    assert_eq!(orders["changes_before"], json!([]), "{orders:#}");
    assert_eq!(orders["storm"], Value::Null);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_services_sharing_an_instance_within_a_minute_are_one_storm_of_five() {
    let alertmanager = Alertmanager::start();
    let now = Utc::now();
    let services = ["orders", "inventory", "payments", "notifications", "search"];
    let alerts: Vec<_> = (services.iter().enumerate())
        .map(|(k, service)| {
            json!({
                "labels": {
                    "alertname": "DatabaseConnectionErrors", "service": service,
                    "instance": "db-3", "severity": "warning",
                },
                "startsAt": (now - Duration::seconds(100 - 12 * k as i64)).to_rfc3339(),
            })
        })
        // The same instance two minutes earlier, and another instance at
        // the same moment: neither is in the storm.
        .chain([
            json!({
                "labels": {"alertname": "DiskFull", "service": "billing", "instance": "db-3", "severity": "warning"},
                "startsAt": (now - Duration::seconds(220)).to_rfc3339(),
            }),
            json!({
                "labels": {"alertname": "HighLatency", "service": "auth", "instance": "web-1", "severity": "critical"},
                "startsAt": (now - Duration::seconds(90)).to_rfc3339(),
            }),
        ])
        .collect();
    alertmanager.post_alerts(json!(alerts));
    alertmanager.wait_for_alerts("seven alerts", |a| {
        a.as_array().is_some_and(|x| x.len() == 7)
    });

    let mut app = app(now);
    app.update(feed(
        "alertmanager",
        Feed::Alerts,
        now,
        alerts_of(&alertmanager, now).await,
    ));
    app.run(Command::ShowIncidents);
    app.settle();
    let e = &app.estate;
    assert_eq!(e.incidents.len(), 7, "counted per incident");
    assert_eq!(e.storms.len(), 1, "{:?}", e.storms);
    let storm = &e.storms[0];
    assert_eq!(
        (storm.label.as_str(), storm.value.as_str()),
        ("instance", "db-3")
    );
    let mut members: Vec<&str> = (storm.members.iter())
        .map(|&m| e.incidents[m].service.as_str())
        .collect();
    members.sort_unstable();
    assert_eq!(
        members,
        ["inventory", "notifications", "orders", "payments", "search"]
    );
    // The verdict still counts seven incidents: the storm is how they are
    // shown, not what is judged.
    let reasons: Vec<&str> = (e.summary.reasons.iter())
        .map(|r| r.text.as_str())
        .collect();
    assert!(reasons.contains(&"7 incidents (1 crit)"), "{reasons:?}");

    // One row for the five, then opened to them with Enter.
    let rows = |app: &App| app.table(TableId::Incidents).rows.len();
    assert_eq!(rows(&app), 3, "the storm, DiskFull and HighLatency");
    let total = |app: &App| app.table(TableId::Incidents).total;
    assert_eq!(total(&app), 3, "no filter: the title says no 'of'");
    let screen = render(&app, 160, 24);
    assert!(storm_row(&screen, "▸"), "{screen}");
    assert!(!screen.contains("DatabaseConnectionErrors"), "{screen}");
    let at = (app.table(TableId::Incidents).rows.iter())
        .position(|r| r.key == "storm:instance=db-3")
        .unwrap();
    for _ in 0..at {
        app.run(Command::Down);
    }
    app.run(Command::Open);
    assert_eq!(app.mode, Mode::Normal, "a storm opens in place");
    assert_eq!((rows(&app), total(&app)), (8, 8));
    let screen = render(&app, 160, 24);
    assert!(storm_row(&screen, "▾"), "{screen}");
    assert_eq!(
        screen.matches("  DatabaseConnectionErrors ").count(),
        5,
        "indented under the storm, whole: {screen}"
    );
    app.run(Command::Open);
    assert_eq!(rows(&app), 3, "closed again");

    // `status --json` names each incident's storm.
    let dir = TempDir::new("storm-status");
    let config = dir.write(
        "config.toml",
        &format!(
            "[[prometheus]]\nname = \"prometheus\"\nurl = \"http://127.0.0.1:9\"\n\n[[alertmanager]]\nname = \"alertmanager\"\nurl = \"{}\"\n",
            alertmanager.url()
        ),
    );
    let (status, _, _) = dir.status_json(&config);
    let incidents = status["incidents"].as_array().expect("incidents[]");
    let in_storm = |name: &str| {
        incidents
            .iter()
            .filter(|i| i["name"] == name)
            .map(|i| i["storm"].clone())
            .collect::<Vec<Value>>()
    };
    assert_eq!(
        in_storm("DatabaseConnectionErrors"),
        vec![json!("instance=db-3"); 5]
    );
    assert_eq!(in_storm("DiskFull"), [Value::Null]);
    assert_eq!(in_storm("HighLatency"), [Value::Null]);
}

#[test]
fn the_demo_shows_an_incident_after_a_deploy_and_a_storm() {
    let start = Utc.with_ymd_and_hms(2026, 11, 22, 3, 0, 0).unwrap();
    let mut app = App::new(
        Settings {
            demo: true,
            ..Settings::default()
        },
        Theme::builtin(),
        Keymap::builtin(),
        start,
    );
    for update in DemoEstate::new(42, start).updates_at(start, Duration::days(30)) {
        app.update(Msg::Feed(update));
    }
    app.settle();
    let e = &app.estate;
    let canary = (e.incidents.iter())
        .position(|i| i.name == "CanaryHighErrorRate")
        .expect("the canary's incident");
    let said = e.changes[canary][0].describe();
    assert!(said.starts_with("started 1m after checkout v"), "{said}");
    assert!(said.contains("canary"), "{said}");
    assert_eq!(e.storms.len(), 1, "{:?}", e.storms);
    assert_eq!(e.storms[0].key(), "storm:instance=db-01");
    assert_eq!(e.storms[0].members.len(), 5);
}
