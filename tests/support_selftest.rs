//! Proves the harness of `tests/support`: real servers start on loopback,
//! talk to each other, answer the queries opsdeck will make, and go away.

mod support;

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::Command;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use serde_json::{Value, json};
use support::*;

/// The labels of the first series of an instant-vector result.
fn first_metric(result: &Value) -> &Value {
    &result[0]["metric"]
}

#[test]
fn pushed_metrics_reach_prometheus_with_their_own_job_and_labels() {
    let pushgateway = Pushgateway::start();
    let prometheus = Prometheus::start(PrometheusConfig {
        scrape: vec![scrape("pushgateway", &pushgateway.addr(), true)],
        ..PrometheusConfig::default()
    });
    pushgateway.push(
        "backup",
        &[("target", "orders/db"), ("tier", "gold")],
        "# TYPE backup_last_size_bytes gauge\n\
         backup_last_size_bytes 123456789\n\
         # TYPE backup_last_duration_seconds gauge\n\
         backup_last_duration_seconds 42.5",
    );

    let result = prometheus.wait_for("backup_last_size_bytes", "the pushed backup size", |r| {
        sample_values(r) == [123_456_789.0]
    });
    let metric = first_metric(&result);
    // honor_labels: the pushed job wins over the scrape job, and the
    // grouping key (sent base64-encoded, it holds a '/') becomes labels.
    assert_eq!(metric["job"], "backup", "{metric}");
    assert_eq!(metric["target"], "orders/db", "{metric}");
    assert_eq!(metric["tier"], "gold", "{metric}");
    assert!(metric.get("instance").is_none(), "{metric}");
    let duration = prometheus.query("backup_last_duration_seconds{target=\"orders/db\"}");
    assert_eq!(sample_values(&duration["data"]["result"]), [42.5]);

    pushgateway.delete("backup", &[("target", "orders/db"), ("tier", "gold")]);
    let exposed = http_get(&format!("{}/metrics", pushgateway.url())).body;
    assert!(!exposed.contains("backup_last_size_bytes{"), "{exposed}");
}

#[test]
fn node_exporter_cpu_and_textfile_metrics_are_scraped() {
    let node = NodeExporter::start();
    let prometheus = Prometheus::start(PrometheusConfig {
        scrape: vec![scrape("node", &node.addr(), false)],
        ..PrometheusConfig::default()
    });
    node.write_textfile("probe", "opsdeck_textfile_probe 7");

    let cpu = prometheus.wait_for(
        "node_cpu_seconds_total{job=\"node\",mode=\"idle\"}",
        "node_exporter's CPU counters",
        |r| r.as_array().is_some_and(|s| !s.is_empty()),
    );
    assert_eq!(first_metric(&cpu)["instance"], node.addr().as_str());
    assert!(sample_values(&cpu).iter().all(|v| *v > 0.0), "{cpu}");
    prometheus.wait_for(
        "opsdeck_textfile_probe",
        "the textfile collector's metric",
        |r| sample_values(r) == [7.0],
    );
    let text = http_get(&node.metrics_url()).body;
    assert!(
        !text.contains("collector=\"systemd\""),
        "the systemd collector should be off"
    );
}

#[test]
fn a_firing_rule_reaches_alertmanager_with_labels_and_annotations() {
    let alertmanager = Alertmanager::start();
    let _prometheus = Prometheus::start(PrometheusConfig {
        rule_files_text: Some(
            r#"
groups:
  - name: selftest
    rules:
      - alert: CheckoutAlwaysFiring
        expr: vector(1)
        for: 0s
        labels:
          severity: critical
          service: checkout
        annotations:
          summary: Checkout is on fire
          runbook_url: https://runbooks.example/checkout
"#
            .to_owned(),
        ),
        alertmanagers: vec![alertmanager.addr()],
        ..PrometheusConfig::default()
    });

    let alerts = alertmanager.wait_for_alerts("CheckoutAlwaysFiring from Prometheus", |alerts| {
        alerts.as_array().is_some_and(|a| {
            a.iter()
                .any(|alert| alert["labels"]["alertname"] == "CheckoutAlwaysFiring")
        })
    });
    let alert = alerts
        .as_array()
        .and_then(|a| {
            a.iter()
                .find(|x| x["labels"]["alertname"] == "CheckoutAlwaysFiring")
        })
        .expect("found above");
    assert_eq!(alert["labels"]["severity"], "critical", "{alert}");
    assert_eq!(alert["labels"]["service"], "checkout", "{alert}");
    assert_eq!(alert["annotations"]["summary"], "Checkout is on fire");
    assert_eq!(
        alert["annotations"]["runbook_url"],
        "https://runbooks.example/checkout"
    );
    assert_eq!(alert["status"]["state"], "active", "{alert}");
}

#[test]
fn a_silence_is_created_listed_applied_and_expired() {
    let alertmanager = Alertmanager::start();
    alertmanager.post_alerts(json!([{
        "labels": { "alertname": "HighErrorRate", "service": "checkout", "severity": "warning" },
        "annotations": { "summary": "5xx above 2%" },
        "startsAt": chrono::Utc::now().to_rfc3339(),
        "generatorURL": "http://127.0.0.1:9/graph",
    }]));
    let id = alertmanager.create_silence(silence_json(
        &[("service", "checkout")],
        "selftest",
        "deploying checkout",
        chrono::Duration::hours(1),
    ));

    let listed = wait_for_silence(&alertmanager, &id);
    assert_eq!(listed["createdBy"], "selftest");
    assert_eq!(listed["comment"], "deploying checkout");
    assert_eq!(listed["status"]["state"], "active");
    alertmanager.wait_for_alerts("the alert silenced by the new silence", |alerts| {
        alerts[0]["status"]["state"] == "suppressed"
            && alerts[0]["status"]["silencedBy"][0] == id.as_str()
    });

    alertmanager.expire_silence(&id);
    let expired = wait_for_silence(&alertmanager, &id);
    assert_eq!(expired["status"]["state"], "expired", "{expired}");
}

#[test]
fn an_alertmanager_cluster_gossips_silences_but_not_alerts() {
    let peers = Alertmanager::start_cluster(2);
    let alert = json!([{
        "labels": { "alertname": "BackupTooOld", "target": "orders-db" },
        "annotations": { "summary": "no backup for 30h" },
    }]);
    peers[0].post_alerts(alert.clone());
    let id = peers[0].create_silence(silence_json(
        &[("target", "orders-db")],
        "selftest",
        "gossip check",
        chrono::Duration::minutes(30),
    ));

    // Once the silence, posted after the alert, has reached peer 1, the
    // alert would have too if alerts were gossiped.
    wait_for_silence(&peers[1], &id);
    assert_eq!(peers[1].alerts(), json!([]), "alerts are not gossiped");
    assert_eq!(peers[0].alerts().as_array().map(Vec::len), Some(1));

    post_alerts_to_all(&peers, alert);
    for peer in &peers {
        let alerts = peer.alerts();
        assert_eq!(alerts[0]["labels"]["alertname"], "BackupTooOld", "{alerts}");
    }
    let status = peers[1].status();
    assert_eq!(status["cluster"]["peers"].as_array().map(Vec::len), Some(2));
}

#[test]
fn victoria_metrics_answers_promql_on_imported_data() {
    let vm = VictoriaMetrics::start();
    let three_hours_ago = unix_now() - 3.0 * 3600.0;
    vm.import_prometheus(&format!(
        "http_requests_total{{service=\"checkout\",code=\"200\"}} 90\n\
         http_requests_total{{service=\"checkout\",code=\"500\"}} 10\n\
         backup_last_size_bytes{{target=\"orders-db\"}} 5 {}\n",
        (three_hours_ago * 1000.0) as i64
    ));

    let ratio = "sum by (service) (http_requests_total{code=~\"5..\"}) \
                 / sum by (service) (http_requests_total)";
    let result = vm.wait_for(ratio, "the 5xx ratio of checkout", |r| {
        sample_values(r) == [0.1]
    });
    assert_eq!(first_metric(&result)["service"], "checkout");
    // The same API under /prometheus.
    let prefixed = promql_query(&vm.prometheus_url(), ratio, None);
    assert_eq!(
        sample_values(&prefixed["data"]["result"]),
        [0.1],
        "{prefixed}"
    );
    // A sample imported with a timestamp (milliseconds) 3 hours back.
    let past = vm.query_at("backup_last_size_bytes", three_hours_ago + 30.0);
    assert_eq!(sample_values(&past["data"]["result"]), [5.0], "{past}");
}

#[test]
fn victoria_metrics_scrapes_the_pushgateway_like_prometheus() {
    let pushgateway = Pushgateway::start();
    let vm =
        VictoriaMetrics::start_scraping(vec![scrape("pushgateway", &pushgateway.addr(), true)]);
    pushgateway.push(
        "deploy",
        &[("service", "checkout")],
        "deployment_info{environment=\"prod\",version=\"1.4.2\"} 1\n",
    );
    let result = vm.wait_for(
        "deployment_info{service=\"checkout\"}",
        "the pushed deployment, scraped",
        |r| sample_values(r) == [1.0],
    );
    assert_eq!(first_metric(&result)["job"], "deploy");
    assert_eq!(first_metric(&result)["version"], "1.4.2");
}

#[test]
fn backfilled_history_is_queryable_in_the_past() {
    let now = unix_now().floor();
    let mut text = String::from("# TYPE backup_last_success_timestamp_seconds gauge\n");
    // One sample a minute from 4 h to 2 h ago, the value being its own time.
    for minute in 0..=120 {
        let t = now - 4.0 * 3600.0 + f64::from(minute) * 60.0;
        text.push_str(&format!(
            "backup_last_success_timestamp_seconds{{target=\"orders-db\",tier=\"gold\"}} {t} {t}\n"
        ));
    }
    // And one 30 days back, which the default 15 d retention would delete.
    let month_ago = now - 30.0 * 86400.0;
    text.push_str(&format!(
        "# TYPE slo_probe gauge\nslo_probe{{service=\"checkout\"}} 1 {month_ago}\n# EOF\n"
    ));
    let prometheus = Prometheus::start_with_backfill(PrometheusConfig::default(), &text);

    let at = now - 3.0 * 3600.0 + 30.0;
    let past = prometheus.query_at("backup_last_success_timestamp_seconds", at);
    let result = &past["data"]["result"];
    assert_eq!(first_metric(result)["target"], "orders-db", "{past}");
    let value = sample_values(result)[0];
    assert!(
        value <= at && value > at - 60.0,
        "at {at} expected the sample of the last minute, got {value}"
    );
    // Older than the 5-minute lookback: absent from a query at "now".
    let current = prometheus.query("backup_last_success_timestamp_seconds");
    assert_eq!(current["data"]["result"], json!([]), "{current}");
    let month = prometheus.query_at("slo_probe", month_ago);
    assert_eq!(sample_values(&month["data"]["result"]), [1.0], "{month}");
}

/// Whether the process is still there (a reaped child leaves no /proc entry).
fn process_exists(pid: u32) -> bool {
    PathBuf::from(format!("/proc/{pid}")).exists()
}

#[test]
fn servers_are_killed_and_their_directories_removed_on_drop_and_on_panic() {
    let pushgateway = Pushgateway::start();
    let (pid, dir) = (
        pushgateway.server().pid(),
        pushgateway.server().dir().to_owned(),
    );
    assert!(process_exists(pid) && dir.join("pushgateway.log").exists());
    drop(pushgateway);
    assert!(!process_exists(pid), "pid {pid} still running after drop");
    assert!(!dir.exists(), "{} still exists after drop", dir.display());

    let seen: Mutex<Option<(u32, PathBuf)>> = Mutex::new(None);
    let outcome = std::panic::catch_unwind(|| {
        let alertmanager = Alertmanager::start();
        let server = alertmanager.server();
        *seen.lock().unwrap() = Some((server.pid(), server.dir().to_owned()));
        panic!("a test failing while its server runs");
    });
    assert!(outcome.is_err());
    let (pid, dir) = seen
        .lock()
        .unwrap()
        .take()
        .expect("recorded before the panic");
    assert!(!process_exists(pid), "pid {pid} survived the panic");
    assert!(!dir.exists(), "{} survived the panic", dir.display());
}

#[test]
fn a_server_can_go_away_and_come_back_on_the_same_port() {
    let mut pushgateway = Pushgateway::start();
    pushgateway.push("job1", &[], "probe_metric 1\n");
    let url = format!("{}/metrics", pushgateway.url());
    let port = pushgateway.server().port();

    pushgateway.server_mut().stop();
    assert!(http_request("GET", &url, None, None, Duration::from_secs(2)).is_err());

    pushgateway.server_mut().restart();
    assert_eq!(pushgateway.server().port(), port);
    let body = http_get(&url).body;
    // No persistence: what was pushed before is gone.
    assert!(!body.contains("probe_metric"), "{body}");
}

#[tokio::test]
async fn the_helpers_work_inside_a_tokio_runtime() {
    let pushgateway = Pushgateway::start();
    pushgateway.push("tokio", &[("empty", "")], "tokio_probe 3");
    let body = http_get(&format!("{}/metrics", pushgateway.url())).body;
    assert!(
        body.contains("tokio_probe{empty=\"\",instance=\"\",job=\"tokio\"} 3"),
        "{body}"
    );
}

fn pushgateway_on(addresses: &[String]) -> Command {
    let mut command = Command::new("prometheus-pushgateway");
    command
        .args(
            addresses
                .iter()
                .map(|a| format!("--web.listen-address={a}")),
        )
        .arg("--persistence.file=");
    command
}

#[test]
fn a_port_clash_is_retried_on_fresh_ports() {
    let squatter = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    let taken = squatter.local_addr().expect("bound").port();
    let calls = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&calls);
    let server = Server::launch(
        "pushgateway",
        TempDir::new("clash"),
        1,
        "/-/ready",
        move |ports| {
            // The first attempt gets a port that is already taken.
            let port = if counter.fetch_add(1, Ordering::SeqCst) == 0 {
                taken
            } else {
                ports[0]
            };
            pushgateway_on(&[format!("127.0.0.1:{port}")])
        },
    );
    assert_eq!(calls.load(Ordering::SeqCst), 2, "one clash, one success");
    assert_ne!(server.port(), taken);
    assert_eq!(http_get(&format!("{}/-/ready", server.url())).status, 200);
    drop(squatter);
}

#[test]
fn a_server_listening_beyond_127_0_0_1_is_refused() {
    // [::1] is still loopback-only, so this opens nothing to the network,
    // but it is not 127.0.0.1. Without IPv6 there is nothing to check.
    if TcpListener::bind("[::1]:0").is_err() {
        eprintln!("no IPv6 loopback here; skipped");
        return;
    }
    let outcome = std::panic::catch_unwind(|| {
        Server::launch("pushgateway", TempDir::new("v6"), 2, "/-/ready", |ports| {
            pushgateway_on(&[
                format!("127.0.0.1:{}", ports[0]),
                format!("[::1]:{}", ports[1]),
            ])
        })
    });
    let message = outcome
        .err()
        .and_then(|panic| panic.downcast::<String>().ok())
        .expect("launch must refuse a server listening on [::1]");
    assert!(message.contains("listens beyond 127.0.0.1"), "{message}");
    assert!(message.contains("tcp6 [::1]:"), "{message}");
}

#[test]
fn free_ports_are_distinct_and_bindable() {
    let ports: Vec<u16> = (0..50).map(|_| free_port()).collect();
    let mut unique = ports.clone();
    unique.sort_unstable();
    unique.dedup();
    assert_eq!(unique.len(), ports.len(), "{ports:?}");
    for port in ports.iter().take(5) {
        std::net::TcpListener::bind(("127.0.0.1", *port)).expect("the port is free");
    }
}

#[test]
#[should_panic(expected = "timed out after 300ms waiting for the impossible")]
fn wait_until_panics_naming_what_it_waited_for() {
    wait_until("the impossible", Duration::from_millis(300), || None::<()>);
}

#[test]
fn base64_matches_the_pushgateway_encoding() {
    assert_eq!(base64_url(b""), "=");
    assert_eq!(base64_url(b"/var/tmp"), "L3Zhci90bXA=");
    assert_eq!(base64_url(b"\xfb\xff"), "-_8=");
}
