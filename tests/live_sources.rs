//! opsdeck's sources against real servers from Debian's packages, started on
//! free loopback ports: a Prometheus with a backfilled past and a Pushgateway
//! estate, node_exporter, Alertmanager (alone and as an HA pair) and
//! VictoriaMetrics. The numbers are known by construction.

mod support;

use std::time::Duration as StdDuration;

use chrono::{Duration, Utc};
use opsdeck::app::feeds::{self, Received};
use opsdeck::config::file::{Config, Endpoint};
use opsdeck::domain::{Severity, Strategy, Tier, incidents};
use opsdeck::sources::alertmanager::AlertmanagerSource;
use opsdeck::sources::metrics::PrometheusSource;
use opsdeck::sources::scrape::ScrapeSource;
use opsdeck::sources::{AlertSource, Feed, FeedUpdate, MetricsSource, Reading};
use serde_json::json;
use support::*;

fn endpoint(name: &str, url: &str) -> Endpoint {
    Endpoint::plain(name, reqwest::Url::parse(url).unwrap())
}

/// Half an hour of traffic, every 15 s up to 15 s ago: checkout at 100 req/s
/// of which 1 req/s fails, search at 50 req/s without errors; latency
/// buckets put checkout's p95 at exactly 250 ms and p99 at 500 ms. Returns
/// the text and the time of the last sample.
fn history(now: f64) -> (String, f64) {
    let mut out = String::from(
        "# TYPE http_requests counter\n# TYPE http_request_duration_seconds histogram\n",
    );
    let start = (now - 1800.0).floor();
    let mut t = start;
    let mut last = start;
    while t <= now - 15.0 {
        let s = t - start;
        let ts = t.floor();
        for (service, code, rate) in [
            ("checkout", "200", 99.0),
            ("checkout", "500", 1.0),
            ("search", "200", 50.0),
        ] {
            out.push_str(&format!(
                "http_requests_total{{service=\"{service}\",code=\"{code}\"}} {} {ts}\n",
                rate * s
            ));
        }
        for (le, rate) in [
            ("0.1", 50.0),
            ("0.25", 95.0),
            ("0.5", 99.0),
            ("+Inf", 100.0),
        ] {
            out.push_str(&format!("http_request_duration_seconds_bucket{{service=\"checkout\",le=\"{le}\"}} {} {ts}\n", rate * s));
        }
        out.push_str(&format!(
            "http_request_duration_seconds_count{{service=\"checkout\"}} {} {ts}\n",
            100.0 * s
        ));
        out.push_str(&format!(
            "http_request_duration_seconds_sum{{service=\"checkout\"}} {} {ts}\n",
            12.0 * s
        ));
        last = ts;
        t += 15.0;
    }
    out.push_str("# EOF\n");
    (out, last)
}

const RULES: &str = r#"groups:
- name: opsdeck-test
  rules:
  - alert: CheckoutErrors
    expr: vector(1)
    labels:
      severity: critical
      service: checkout
    annotations:
      summary: "5xx above 5%"
      runbook_url: https://runbooks.example.com/checkout
"#;

fn estate_exposition(now: i64) -> String {
    format!(
        r#"# TYPE deployment_info gauge
deployment_info{{service="checkout",environment="production",version="v3.4.1",previous_version="v3.4.0",strategy="canary",color="",phase="progressing"}} 1
deployment_info{{service="payments",environment="production",version="v2.0.7",previous_version="v2.0.6",strategy="blue-green",color="green",phase="complete"}} 1
deployment_info{{service="evilESC[31mred",environment="production",version="v1",previous_version="",strategy="rolling",color="",phase="complete"}} 1
# TYPE deployment_canary_weight gauge
deployment_canary_weight{{service="checkout",environment="production"}} 25
# TYPE deployment_timestamp_seconds gauge
deployment_timestamp_seconds{{service="checkout",environment="production"}} {deployed}
# TYPE deployment_rollbacks_total counter
deployment_rollbacks_total{{service="checkout",environment="production"}} 2
# TYPE backup_last_success_timestamp_seconds gauge
backup_last_success_timestamp_seconds{{target="orders-db",tier="critical"}} {backup}
# TYPE backup_last_size_bytes gauge
backup_last_size_bytes{{target="orders-db"}} 1073741824
# TYPE backup_last_duration_seconds gauge
backup_last_duration_seconds{{target="orders-db"}} 420
# TYPE dr_drill_last_timestamp_seconds gauge
dr_drill_last_timestamp_seconds{{target="orders-db"}} {drill}
# TYPE dr_drill_last_rto_seconds gauge
dr_drill_last_rto_seconds{{target="orders-db"}} 4320
"#,
        deployed = now - 300,
        backup = now - 47 * 60,
        drill = now - 86_400 * 3,
    )
    // A raw ESC byte inside a label value: valid UTF-8, valid exposition.
    .replace("ESC", "\u{1b}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prometheus_and_alertmanager_read_a_real_estate() {
    let now = unix_now();
    let (past, last_sample) = history(now);
    let pushgateway = Pushgateway::start();
    let node = NodeExporter::start();
    let alertmanager = Alertmanager::start();
    let prometheus = Prometheus::start_with_backfill(
        PrometheusConfig {
            scrape: vec![
                scrape("pushgateway", &pushgateway.addr(), true),
                scrape("node", &node.addr(), false),
            ],
            rule_files_text: Some(RULES.into()),
            alertmanagers: vec![alertmanager.addr()],
            ..PrometheusConfig::default()
        },
        &past,
    );
    pushgateway.push("deploy", &[], &estate_exposition(now as i64));
    prometheus.wait_for("deployment_info", "the pushed estate scraped", |r| {
        r.as_array().is_some_and(|a| a.len() == 3)
    });
    prometheus.wait_for("node_cpu_seconds_total", "node_exporter scraped", |r| {
        r.as_array().is_some_and(|a| !a.is_empty())
    });
    let source = PrometheusSource::new(
        endpoint("prometheus", &prometheus.url()),
        &Config::default(),
    )
    .unwrap();
    let at = Utc::now();

    // At the last backfilled sample the 5-minute window is whole: no
    // extrapolation, so the rates are exact.
    let then = chrono::DateTime::from_timestamp(last_sample as i64, 0).unwrap();
    let health = source.health(then).await.unwrap().value;
    let checkout = health
        .services
        .iter()
        .find(|s| s.name == "checkout")
        .expect("checkout");
    // rate() over 5 minutes of a counter rising exactly 100/s: 100, to float precision.
    assert!(
        (checkout.requests_per_second - 100.0).abs() < 0.5,
        "{}",
        checkout.requests_per_second
    );
    assert!(
        (checkout.error_ratio - 0.01).abs() < 1e-3,
        "{}",
        checkout.error_ratio
    );
    // histogram_quantile interpolates inside a bucket; these ranks fall on bucket edges.
    assert!(
        (checkout.latency_p95_ms - 250.0).abs() < 1.0,
        "{}",
        checkout.latency_p95_ms
    );
    assert!(
        (checkout.latency_p99_ms - 500.0).abs() < 1.0,
        "{}",
        checkout.latency_p99_ms
    );
    let availability = checkout.sli.good / checkout.sli.total;
    assert!((availability - 0.99).abs() < 1e-3, "{availability}");
    // The burn-rate alert's windows: 1% errors in every window with data.
    let windows = checkout.error_ratios;
    for (name, ratio) in [("5m", windows.m5), ("30m", windows.m30), ("1h", windows.h1)] {
        assert!(
            (ratio.unwrap_or(f64::NAN) - 0.01).abs() < 1e-3,
            "{name}: {ratio:?}"
        );
    }
    let search = health
        .services
        .iter()
        .find(|s| s.name == "search")
        .expect("search");
    assert_eq!(
        search.error_ratios.m5,
        Some(0.0),
        "no 5xx at all is 0%, not unknown"
    );
    assert!((search.requests_per_second - 50.0).abs() < 0.5);
    assert_eq!(search.error_ratio, 0.0);
    assert!(search.traffic_history.len() > 10, "five minutes of history");
    let health_now = source.health(at).await.unwrap().value;
    let host = health_now
        .hosts
        .iter()
        .find(|h| h.name == node.addr())
        .expect("the node_exporter host");
    assert!(
        host.up && (0.0..=1.0).contains(&host.memory) && (0.0..=1.0).contains(&host.disk),
        "{host:?}"
    );

    let deployments = source.deployments(at).await.unwrap().value;
    let checkout = deployments
        .iter()
        .find(|d| d.service == "checkout")
        .unwrap();
    assert_eq!(checkout.strategy, Strategy::Canary { weight: 25.0 });
    assert_eq!(
        (
            checkout.version.as_str(),
            checkout.previous_version.as_deref()
        ),
        ("v3.4.1", Some("v3.4.0"))
    );
    assert_eq!(
        checkout.deployed_at.map(|t| t.timestamp()),
        Some(now as i64 - 300)
    );
    assert_eq!(checkout.rollbacks, 2);
    let payments = deployments
        .iter()
        .find(|d| d.service == "payments")
        .unwrap();
    assert!(matches!(
        payments.strategy,
        Strategy::BlueGreen {
            live: opsdeck::domain::Colour::Green
        }
    ));
    assert!(
        deployments.iter().any(|d| d.service == "evil\\x1b[31mred"),
        "the escape arrives escaped: {deployments:?}"
    );
    assert!(!deployments.iter().any(|d| d.service.contains('\u{1b}')));

    let backups = source.backups(at).await.unwrap().value;
    let orders = backups.iter().find(|b| b.target == "orders-db").unwrap();
    assert_eq!(orders.tier, Tier::Critical);
    assert_eq!(
        orders.last_success.map(|t| t.timestamp()),
        Some(now as i64 - 47 * 60)
    );
    assert_eq!(
        orders.last_drill.and_then(|d| d.measured_rto),
        Some(Duration::seconds(4320))
    );

    alertmanager.wait_for_alerts("CheckoutErrors from Prometheus's rule", |a| {
        a.as_array().is_some_and(|x| !x.is_empty())
    });
    let id = alertmanager.create_silence(silence_json(
        &[("alertname", "CheckoutErrors")],
        "alice",
        "deploy freeze",
        chrono::Duration::hours(1),
    ));
    let am = AlertmanagerSource::new(
        endpoint("alertmanager", &alertmanager.url()),
        &["service".to_string()],
    )
    .unwrap();
    let reading = wait_until("the silence applied", StdDuration::from_secs(20), || {
        let reading = futures_block(am.alerts(Utc::now()))
            .expect("Alertmanager answers")
            .value;
        reading
            .alerts
            .iter()
            .any(|a| a.silenced_by.is_some())
            .then_some(reading)
    });
    let incident = &incidents::group(&reading.alerts)[0];
    assert_eq!(
        (
            incident.name.as_str(),
            incident.service.as_str(),
            incident.severity
        ),
        ("CheckoutErrors", "checkout", Severity::Critical)
    );
    assert_eq!(
        incident.runbook.as_deref(),
        Some("https://runbooks.example.com/checkout")
    );
    assert!(incident.silenced);
    let silence = reading
        .silences
        .iter()
        .find(|s| s.id == id)
        .expect("the silence");
    assert_eq!(
        (silence.created_by.as_str(), silence.comment.as_str()),
        ("alice", "deploy freeze")
    );
    assert_eq!(silence.matchers, "alertname=\"CheckoutErrors\"");

    // config check against the same servers: a bad query is reported with
    // its file, line and field, and Prometheus's own words.
    let file = std::path::Path::new("/etc/opsdeck/live.toml");
    let text = format!(
        "[[prometheus]]\nurl = \"{}\"\n\n[[alertmanager]]\nurl = \"{}\"\n\n[queries]\nsaturation = 'max by ({{label}}) (('\n",
        prometheus.url(),
        alertmanager.url()
    );
    let (config, problems) = Config::parse(file, &text);
    assert!(problems.is_empty(), "{problems:?}");
    let report = opsdeck::check::run(&config, problems).await;
    assert_eq!(report.problems, 1, "{}", report.text);
    assert!(
        report
            .text
            .contains("/etc/opsdeck/live.toml: line 8: queries.saturation: bad_data: "),
        "{}",
        report.text
    );
    assert!(
        report.text.contains("52 queries ran, 1 failed"),
        "{}",
        report.text
    );
    assert!(
        report.text.contains("✔ 1 alerts, 1 silences"),
        "{}",
        report.text
    );
}

/// Blocks on a future from inside the test's runtime, for `wait_until`.
fn futures_block<F: std::future::Future>(future: F) -> F::Output {
    tokio::task::block_in_place(|| tokio::runtime::Handle::current().block_on(future))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ha_pair_of_alertmanagers_is_counted_once() {
    let pair = Alertmanager::start_cluster(2);
    let alert = json!([{
        "labels": {"alertname": "DiskFull", "service": "db", "severity": "warning"},
        "annotations": {"summary": "disk above 90%"},
        "startsAt": Utc::now().to_rfc3339(),
    }]);
    // As Prometheus does: every alert to every member.
    post_alerts_to_all(&pair, alert);
    let mut received = Received::default();
    for (i, am) in pair.iter().enumerate() {
        am.wait_for_alerts("DiskFull", |a| a.as_array().is_some_and(|x| !x.is_empty()));
        let name = format!("am-{i}");
        let source =
            AlertmanagerSource::new(endpoint(&name, &am.url()), &["service".to_string()]).unwrap();
        let fetched = source.alerts(Utc::now()).await.unwrap();
        received.store(FeedUpdate {
            source: name,
            feed: Feed::Alerts,
            at: Utc::now(),
            result: Ok(Reading::Alerts(fetched.value)),
            warnings: vec![],
        });
    }
    let merged = received
        .merged(Feed::Alerts, Reading::as_alerts, feeds::alerts)
        .data
        .unwrap();
    assert_eq!(merged.alerts.len(), 1, "{merged:?}");
    let incident = &incidents::group(&merged.alerts)[0];
    assert_eq!(incident.sources, ["am-0", "am-1"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn victoria_metrics_answers_the_same_queries() {
    let vm = VictoriaMetrics::start();
    let now = Utc::now().timestamp();
    let mut text = String::new();
    for k in 0..60 {
        let t = now - 600 + k * 10;
        text.push_str(&format!(
            "http_requests_total{{service=\"checkout\",code=\"200\"}} {} {}\n",
            20 * (k * 10),
            t * 1000
        ));
    }
    vm.import_prometheus(&text);
    vm.wait_for("http_requests_total", "the import", |r| {
        r.as_array().is_some_and(|a| !a.is_empty())
    });
    let source =
        PrometheusSource::new(endpoint("victoria", &vm.url()), &Config::default()).unwrap();
    let fetched = source.health(Utc::now()).await.unwrap();
    assert!(
        fetched.warnings.is_empty(),
        "every default query works on VictoriaMetrics: {:?}",
        fetched.warnings
    );
    let checkout = fetched
        .value
        .services
        .iter()
        .find(|s| s.name == "checkout")
        .expect("checkout via VictoriaMetrics");
    assert!(
        (checkout.requests_per_second - 20.0).abs() < 1.0,
        "{}",
        checkout.requests_per_second
    );
    // The same API under a path prefix works too.
    let prefixed = PrometheusSource::new(
        endpoint("victoria", &vm.prometheus_url()),
        &Config::default(),
    )
    .unwrap();
    assert!(
        prefixed
            .health(Utc::now())
            .await
            .unwrap()
            .value
            .services
            .iter()
            .any(|s| s.name == "checkout")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scrape_source_reads_node_exporter_directly() {
    let node = NodeExporter::start();
    let source =
        ScrapeSource::new(endpoint("db-01", &node.metrics_url()), &Config::default()).unwrap();
    let first = source.health(Utc::now()).await.unwrap().value;
    assert!(first.hosts[0].cpu.is_nan(), "CPU needs two scrapes");
    tokio::time::sleep(StdDuration::from_millis(1200)).await;
    let host = source
        .health(Utc::now())
        .await
        .unwrap()
        .value
        .hosts
        .remove(0);
    assert_eq!(host.name, "db-01");
    assert!((0.0..=1.0).contains(&host.cpu), "{host:?}");
    assert!(
        (0.0..1.0).contains(&host.memory) && (0.0..=1.0).contains(&host.disk),
        "{host:?}"
    );
}
