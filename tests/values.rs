//! Values never lie (issue 20, items 6 and 7), against a real Prometheus
//! scraping a real Pushgateway on loopback: a deployment progressing past
//! its deadline is stalled (a warning, in the verdict); a NaN backup
//! duration and a drill with a time and a NaN RTO read unknown, never `0s`
//! or "never"; a service at 0.3 requests a second (a backfilled counter,
//! 18 a minute) reads 0.3, as PromQL says.

mod support;

use std::process::Command;

use chrono::{DateTime, Utc};
use opsdeck::config::file::{Config, Endpoint};
use opsdeck::sources::MetricsSource;
use opsdeck::sources::metrics::PrometheusSource;
use serde_json::Value;
use support::*;

const BIN: &str = env!("CARGO_BIN_EXE_opsdeck");

/// 61 minutes of a counter going up by 18 a minute (0.3 a second) for job
/// `slow`, a sample a minute, the last at `end`.
fn slow_counter(end: i64) -> String {
    let mut text = String::from("# TYPE http_requests_total counter\n");
    for k in 0..=60 {
        let t = end - (60 - k) * 60;
        text.push_str(&format!(
            "http_requests_total{{job=\"slow\",code=\"200\"}} {} {t}\n",
            k * 18
        ));
    }
    text.push_str("# EOF\n");
    text
}

#[test]
fn stalled_deployments_warn_unknown_values_read_unknown_and_small_rates_keep_their_digits() {
    let now = Utc::now().timestamp();
    // Backfilled to a minute ago: the head starts after it.
    let end = now - 60;
    let pgw = Pushgateway::start();
    let prometheus = Prometheus::start_with_backfill(
        PrometheusConfig {
            scrape: vec![scrape("pushgateway", &pgw.addr(), true)],
            ..PrometheusConfig::default()
        },
        &slow_counter(end),
    );
    // A rollout 20 minutes in, still progressing: past the 10-minute
    // deadline. A backup whose duration is not a number, and a drill with
    // a time and an RTO that is not one.
    pgw.push(
        "deploy",
        &[("service", "orders"), ("environment", "prod")],
        &format!(
            "deployment_info{{version=\"v2\",previous_version=\"v1\",strategy=\"rolling\",phase=\"progressing\"}} 1\n\
             deployment_timestamp_seconds {}\n",
            now - 1200
        ),
    );
    pgw.push(
        "backup",
        &[("target", "orders-db")],
        &format!(
            "backup_last_success_timestamp_seconds{{tier=\"critical\"}} {}\n\
             backup_last_duration_seconds NaN\n\
             backup_last_size_bytes 1048576\n\
             backup_last_verified_timestamp_seconds {}\n\
             dr_drill_last_timestamp_seconds {}\n\
             dr_drill_last_rto_seconds NaN\n",
            now - 600,
            now - 3600,
            now - 86_400
        ),
    );
    prometheus.wait_for(
        r#"dr_drill_last_rto_seconds{target="orders-db"}"#,
        "the pushed drill",
        |r| r.as_array().is_some_and(|a| !a.is_empty()),
    );

    // `status`: the stalled deployment warns, the unknowns are null.
    let dir = TempDir::new("values");
    let config = dir.join("opsdeck.toml");
    std::fs::write(
        &config,
        format!(
            "[[prometheus]]\nurl = \"{}\"\n\n[[alertmanager]]\nurl = \"http://127.0.0.1:1\"\n",
            prometheus.url()
        ),
    )
    .unwrap();
    let out = Command::new(BIN)
        .args([
            "status",
            "--json",
            "--config",
            &config.display().to_string(),
        ])
        .output()
        .unwrap();
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    let deployment = &doc["deployments"][0];
    assert_eq!(deployment["service"], "orders", "{doc:#}");
    assert_eq!(
        (
            &deployment["phase"],
            &deployment["stalled"],
            &deployment["state"]
        ),
        (&"progressing".into(), &true.into(), &"warn".into()),
        "{deployment}"
    );
    let reasons: Vec<&str> = doc["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|r| r["text"].as_str())
        .collect();
    assert!(reasons.contains(&"1 deployment stalled"), "{reasons:?}");
    assert_eq!(doc["tabs"]["deployments"], "warn");
    let backup = &doc["backups"][0];
    assert_eq!(backup["target"], "orders-db", "{doc:#}");
    assert!(backup["duration_seconds"].is_null(), "{backup}");
    assert!(
        backup["last_drill"].is_string(),
        "the drill happened: {backup}"
    );
    assert!(
        backup["drill_rto_seconds"].is_null(),
        "its RTO is unknown: {backup}"
    );

    // The screen's words: the duration is "—", the drill its age and "RTO
    // unknown"; the slow service's rate 0.3, as PromQL gives it.
    let source = PrometheusSource::new(
        Endpoint::plain("prometheus", prometheus.url().parse().unwrap()),
        &Config::default(),
    )
    .unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let at = DateTime::from_timestamp(end, 0).unwrap();
    let health = runtime.block_on(source.health(at)).unwrap().value;
    let slow = health
        .services
        .iter()
        .find(|s| s.name == "slow")
        .unwrap_or_else(|| panic!("{:?}", health.services));
    let promql = prometheus.query_at(
        r#"sum(rate(http_requests_total{job="slow"}[5m]))"#,
        end as f64,
    );
    let promql = sample_values(&promql["data"]["result"])[0];
    assert!(
        (promql - 0.3).abs() < 1e-9,
        "18 a minute is 0.3/s: {promql}"
    );
    assert!((slow.requests_per_second - promql).abs() < 1e-9);
    assert_eq!(opsdeck::ui::format::rate(slow.requests_per_second), "0.3");
    let backups = runtime.block_on(source.backups(Utc::now())).unwrap().value;
    let b = &backups[0];
    assert_eq!(b.duration, None, "NaN is unknown, not 0s");
    let drill = b.last_drill.as_ref().expect("a drill with a time");
    assert_eq!(drill.measured_rto, None);
    assert_eq!(
        opsdeck::domain::slo::rto_status(b, b.tier.objectives(), Utc::now()),
        opsdeck::domain::Status::Unknown,
        "a drill with no usable RTO is not judged"
    );
}
