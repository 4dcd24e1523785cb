//! Anomalies (issue 24, item 6) against a real Prometheus on backfilled
//! history whose usual values are known by construction.
//!
//! Nine days of `http_requests_total{service,code}`, a sample a minute,
//! ending `LAST_AGE` seconds before the test starts:
//! * shop and steady follow one weekly pattern: `BASE × day × (1.5 + sin)`,
//!   where `day` is 1 on weekdays, 0.6 on Saturdays, 0.5 on Sundays and the
//!   sine turns once a day (UTC). At any time of day the past seven days hold
//!   five weekdays, a Saturday and a Sunday, so the usual value is 6.1/7 of
//!   a weekday's with a deviation of 0.205 of it: no day of the pattern is
//!   three deviations off. In its last `SPIKE` seconds shop serves four
//!   times its pattern; steady never leaves it.
//! * young has been served for 20 hours only (no week to compare with),
//!   20 req/s steady, then ten times that in its last `SPIKE` seconds: its
//!   usual value is the last day's hours'.
//! * errors serves 30 req/s throughout, of which 0.05% fail (within the
//!   99.9% objective), then 3% in its
//!   last `SPIKE` seconds (a warning by the error rules, under the 5% that
//!   is critical): unusual errors, usual traffic.
//!
//! Step 1 reads the seven past days' rates from Prometheus itself and
//! checks them against the construction; step 2 runs `opsdeck status
//! --json` and checks which figures are unusual, by how much and which
//! way; step 3 runs opsdeck's source every two hours over the past day
//! (the same queries at those times): nothing is unusual anywhere else;
//! step 4 gives VictoriaMetrics the same history: the same week is read.

mod support;

use std::f64::consts::TAU;
use std::fmt::Write as _;

use serde_json::Value;
use support::*;

const MINUTE: i64 = 60;
const HOUR: i64 = 3600;
const DAY: i64 = 86_400;
const HISTORY: i64 = 9 * DAY;
const YOUNG: i64 = 20 * HOUR;
const LAST_AGE: i64 = 10;
/// Long enough to fill the 5-minute rate at the test's time; shorter than
/// the ten minutes the last day's baseline leaves out.
const SPIKE: i64 = 330;
const BASE: f64 = 20.0;

/// The weekly pattern at unix time `t`: req/s.
fn pattern(t: i64) -> f64 {
    // 1970-01-01 was a Thursday: day 0 is weekday 3 counted from Monday.
    let weekday = (t.div_euclid(DAY) + 3).rem_euclid(7);
    let day = match weekday {
        5 => 0.6,
        6 => 0.5,
        _ => 1.0,
    };
    let turn = t.rem_euclid(DAY) as f64 / DAY as f64;
    BASE * day * (1.5 + (TAU * turn).sin())
}

fn counter(text: &mut String, sample: &str, from: i64, last: i64, rate: impl Fn(i64) -> f64) {
    let mut total = 0.0;
    for t in (from..=last).step_by(MINUTE as usize) {
        writeln!(text, "{sample} {total} {t}").unwrap();
        total += rate(t) * MINUTE as f64;
    }
}

fn history(last: i64) -> String {
    let start = last - HISTORY;
    let spiked = |t: i64| t > last - SPIKE;
    let mut text = String::from("# TYPE http_requests counter\n");
    let series = |service: &str, code: &str| {
        format!(r#"http_requests_total{{service="{service}",code="{code}"}}"#)
    };
    let shop = |t: i64| pattern(t) * if spiked(t) { 4.0 } else { 1.0 };
    counter(&mut text, &series("shop", "200"), start, last, shop);
    counter(&mut text, &series("steady", "200"), start, last, pattern);
    let young = |t: i64| if spiked(t) { 200.0 } else { 20.0 };
    counter(
        &mut text,
        &series("young", "200"),
        last - YOUNG,
        last,
        young,
    );
    let errors = |t: i64| if spiked(t) { 0.03 } else { 0.0005 };
    counter(&mut text, &series("errors", "200"), start, last, |t| {
        30.0 * (1.0 - errors(t))
    });
    counter(&mut text, &series("errors", "500"), start, last, |t| {
        30.0 * errors(t)
    });
    text.push_str("# EOF\n");
    text
}

/// Mean and population deviation (PromQL's `stddev`).
fn stats(values: &[f64]) -> (f64, f64) {
    let n = values.len() as f64;
    let mean = values.iter().sum::<f64>() / n;
    let var = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n;
    (mean, var.sqrt())
}

#[track_caller]
fn close(what: &str, got: f64, want: f64, relative: f64) {
    assert!(
        (got - want).abs() <= want.abs() * relative,
        "{what}: got {got}, want {want} ± {}%",
        relative * 100.0
    );
}

fn service<'a>(status: &'a Value, name: &str) -> &'a Value {
    status["services"]
        .as_array()
        .expect("services[]")
        .iter()
        .find(|s| s["name"] == name)
        .unwrap_or_else(|| panic!("no {name} in {status:#}"))
}

fn opsdeck_status(prometheus: &Prometheus) -> Value {
    let dir = TempDir::new("anomalies");
    let config = dir.write(
        "config.toml",
        &format!(
            "service_label = \"service\"\n\n[[prometheus]]\nname = \"prometheus\"\nurl = \"{}\"\n",
            prometheus.url()
        ),
    );
    dir.status_json(&config).0
}

#[test]
fn a_spike_on_a_weekly_pattern_is_unusual_and_nothing_else_is() {
    let last = unix_now().floor() as i64 - LAST_AGE;
    let prometheus = Prometheus::start_with_backfill(PrometheusConfig::default(), &history(last));

    // Step 1: the seven past days at this time of day, as Prometheus reads
    // them, are the pattern's.
    let now = unix_now();
    let past: Vec<f64> = (1..=7)
        .map(|d| {
            let expr =
                format!(r#"sum(rate(http_requests_total{{service="steady"}}[5m] offset {d}d))"#);
            let got = sample_values(&prometheus.query_at(&expr, now)["data"]["result"]);
            let want = pattern(now as i64 - d * DAY);
            close(&format!("steady {d} days ago"), got[0], want, 0.02);
            got[0]
        })
        .collect();
    let (mean, deviation) = stats(&past);
    close(
        "the week's deviation",
        deviation / mean,
        0.205 / 0.8714,
        0.05,
    );

    // Step 2: opsdeck's verdict now.
    let status = opsdeck_status(&prometheus);
    let at = chrono::DateTime::parse_from_rfc3339(status["generated_at"].as_str().unwrap())
        .unwrap()
        .timestamp();
    let week: Vec<f64> = (1..=7).map(|d| pattern(at - d * DAY)).collect();
    let (mean, deviation) = stats(&week);
    let shop = service(&status, "shop");
    let found = shop["anomalies"].as_array().expect("anomalies[]");
    assert_eq!(found.len(), 1, "shop's traffic alone: {shop:#}");
    let a = &found[0];
    assert_eq!(
        (&a["signal"], &a["direction"]),
        (&"traffic".into(), &"above".into()),
        "{a}"
    );
    assert_eq!(
        (&a["basis"], &a["basis_count"]),
        (&"week".into(), &7.into()),
        "{a}"
    );
    close(
        "shop's usual traffic",
        a["usual"].as_f64().unwrap(),
        mean,
        0.02,
    );
    close(
        "shop's deviation",
        a["deviation"].as_f64().unwrap(),
        deviation,
        0.05,
    );
    let current = 4.0 * pattern(at);
    close(
        "shop's deviations",
        a["deviations"].as_f64().unwrap(),
        (current - mean) / deviation.max(0.1 * mean),
        0.05,
    );
    assert_eq!(shop["state"], "warn", "unusual is a warning: {shop:#}");

    let steady = service(&status, "steady");
    assert_eq!(steady["anomalies"], Value::Array(vec![]), "{steady:#}");
    // No latency histogram: unknown, never the warning an anomaly gives.
    assert_eq!(steady["state"], "unknown", "{steady:#}");

    let young = service(&status, "young");
    let a = &young["anomalies"][0];
    assert_eq!(
        (&a["signal"], &a["direction"]),
        (&"traffic".into(), &"above".into()),
        "{young:#}"
    );
    assert_eq!(
        a["basis"], "day",
        "under three days: the last day's hours: {a}"
    );
    let hours = a["basis_count"].as_u64().unwrap();
    assert!((18..=20).contains(&hours), "20 hours of history: {a}");
    close(
        "young's usual traffic",
        a["usual"].as_f64().unwrap(),
        20.0,
        0.01,
    );

    let errors = service(&status, "errors");
    let found = errors["anomalies"].as_array().expect("anomalies[]");
    assert_eq!(found.len(), 1, "errors alone, not traffic: {errors:#}");
    assert_eq!(
        (&found[0]["signal"], &found[0]["direction"]),
        (&"errors".into(), &"above".into())
    );
    close(
        "errors' usual ratio",
        found[0]["usual"].as_f64().unwrap(),
        0.0005,
        0.01,
    );
    // 3% against 0.05% ± 0, floored at 0.2 points: 14.75 deviations.
    close(
        "errors' deviation",
        found[0]["deviation"].as_f64().unwrap(),
        0.002,
        0.01,
    );
    close(
        "errors' deviations",
        found[0]["deviations"].as_f64().unwrap(),
        14.75,
        0.02,
    );

    let reasons: Vec<&str> = status["reasons"]
        .as_array()
        .expect("reasons[]")
        .iter()
        .filter_map(|r| r["text"].as_str())
        .collect();
    assert!(reasons.contains(&"3 services unusual"), "{reasons:?}");
    assert_eq!(
        status["state"], "warn",
        "never critical on its own: {status:#}"
    );

    // Step 3: the same source every two hours over the past day.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let url = reqwest::Url::parse(&prometheus.url()).unwrap();
    for k in 1..=12 {
        use opsdeck::config::file::{Config, Endpoint};
        use opsdeck::sources::MetricsSource;
        use opsdeck::sources::metrics::PrometheusSource;
        let when = chrono::DateTime::from_timestamp(at - k * 2 * HOUR, 0).unwrap();
        let config = Config {
            service_labels: vec!["service".into()],
            ..Config::default()
        };
        let source =
            PrometheusSource::new(Endpoint::plain("prometheus", url.clone()), &config).unwrap();
        let reading = runtime.block_on(source.health(when)).unwrap().value;
        let judged: Vec<&str> = reading
            .services
            .iter()
            .filter(|s| s.baselines.traffic.is_some())
            .map(|s| s.name.as_str())
            .collect();
        assert!(
            judged.contains(&"shop") && judged.contains(&"steady"),
            "{k}: {judged:?}"
        );
        for s in reading.services.iter() {
            let found = opsdeck::domain::anomaly::anomalies(s, 3.0);
            assert!(found.is_empty(), "{} {}h ago: {found:?}", s.name, k * 2);
        }
    }

    // Step 4: VictoriaMetrics, given the same history, reads the same week
    // at this time of day (its subqueries step on the midnights too).
    let vm = VictoriaMetrics::start();
    let millis: String = history(last)
        .lines()
        .filter(|l| !l.starts_with('#'))
        .map(|l| {
            let (sample, t) = l.rsplit_once(' ').unwrap();
            format!("{sample} {}000\n", t)
        })
        .collect();
    vm.import_prometheus(&millis);
    vm.wait_for(
        r#"count(http_requests_total{service="shop"})"#,
        "the history imported",
        |r| !sample_values(r).is_empty(),
    );
    let url = reqwest::Url::parse(&vm.url()).unwrap();
    let config = opsdeck::config::file::Config {
        service_labels: vec!["service".into()],
        ..opsdeck::config::file::Config::default()
    };
    let source = opsdeck::sources::metrics::PrometheusSource::new(
        opsdeck::config::file::Endpoint::plain("victoriametrics", url),
        &config,
    )
    .unwrap();
    let when = chrono::DateTime::from_timestamp(at, 0).unwrap();
    let reading = runtime
        .block_on(opsdeck::sources::MetricsSource::health(&source, when))
        .unwrap()
        .value;
    let shop = reading.services.iter().find(|s| s.name == "shop").unwrap();
    let usual = shop
        .baselines
        .traffic
        .expect("a week's baseline from VictoriaMetrics");
    close("VictoriaMetrics' usual traffic", usual.mean, mean, 0.02);
    close(
        "VictoriaMetrics' deviation",
        usual.deviation,
        deviation,
        0.05,
    );
}
