//! SLA numbers match a backfilled Prometheus history whose truth is known by
//! construction.
//!
//! A real Prometheus (Debian's package, on a free loopback port) is started
//! on 50 hours of backfilled history, one sample a minute, ending `LAST_AGE`
//! seconds before the test starts. The SLO window is 2 days. The history is
//! built so that every SLA figure is known exactly:
//!
//! * requests (`http_requests_total{service,code}`), per second:
//!   - checkout: 10 req/s. 5xx at 0.2/s during the last 65 minutes (780) and
//!     for 7 minutes 20 h ago (84): 864 of 1,728,000 requests in 2 days, so
//!     availability 99.95 %, half the 0.1 % budget left; the 5m, 30m and 1h
//!     error ratio is 2 % (burn rate 20: the workbook's page);
//!   - payments: 6 req/s, 0.2 % of them 5xx all along: availability 99.8 %,
//!     the budget spent twice (left −1), burn rate 2 in every window;
//!   - search: 4 req/s, no 5xx series at all: 100 %, burn 0.
//! * incidents (`ALERTS{alertstate="firing"}`, 1 at every minute while
//!   firing): CheckoutErrors/checkout 40 h ago for 10 min and 10 h ago for
//!   30 min, PaymentsLatency/payments 30 h ago for 20 min. MTTR 20 min, MTBF
//!   (mean gap between starts) 15 h. Each is preceded by 5 minutes of
//!   `alertstate="pending"`, which must not count.
//! * deployments (`deployment_timestamp_seconds`, set to the deploy's time at
//!   each deploy): 9 inside the window (checkout 4, search 2, payments in
//!   staging 3, payments in production none) and one just outside it;
//!   rollbacks (`deployment_rollbacks_total`): 2 inside (checkout, payments
//!   staging), one outside, every counter non-zero before the window.
//! * backups: `backup_last_success_timestamp_seconds` changes 12 times for
//!   orders-db and twice for users-db inside the window (once more outside);
//!   `backup_last_failure_timestamp_seconds` twice for orders-db.
//!
//! Step 1 proves that history with PromQL against the running Prometheus,
//! independent of opsdeck. Step 2 runs the real binary,
//! `opsdeck status --json --config FILE`, and checks its numbers against the
//! same truth.
//!
//! Prometheus runs with `--query.lookback-delta=1m`: a backfilled series has
//! no stale markers, so without it an alert would be seen for 5 minutes after
//! its last sample. With it, an alert sampled at S, S+1m, … S+D−1m is seen on
//! [S, S+D]: it fires for exactly D. The price: a gauge must have a sample in
//! the last minute to be seen "now", so the history ends `LAST_AGE` seconds
//! before the start and the test checks that opsdeck ran within a minute of
//! the last sample.

mod support;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Instant;

use serde_json::Value;
use support::*;

const MINUTE: i64 = 60;
const HOUR: i64 = 3600;
/// The SLO window: `slo_window = "2d"`.
const WINDOW: i64 = 2 * 24 * HOUR;
/// The backfilled history: two hours more than the window, so that events
/// before the window exist and must be left out.
const HISTORY: i64 = 50 * HOUR;
/// One sample a minute.
const STEP: i64 = MINUTE;
/// How long before the test's start the last sample is.
const LAST_AGE: i64 = 10;
/// How long after the last sample opsdeck may query: the lookback is 1 min.
const FRESH: i64 = 55;
const OBJECTIVE: f64 = 0.999;
/// The step of opsdeck's incident-history range query over 2 days: as fine
/// as 10,000 points allow, in whole multiples of 15 s (172,800 / 10,000 =
/// 17.3 → 30 s).
const INCIDENT_STEP: f64 = 30.0;

// The constructed truth.
const CHECKOUT_RPS: f64 = 10.0;
const SEARCH_RPS: f64 = 4.0;
const PAYMENTS_RPS: f64 = 6.0;
/// checkout's 5xx per second during its two error episodes.
const CHECKOUT_ERR_RPS: f64 = 0.2;
/// The last-hour burst: from 65 minutes before the last sample to the end.
const BURST: i64 = 65 * MINUTE;
/// The earlier episode: 7 minutes, 20 hours before the last sample.
const EPISODE_AT: i64 = -20 * HOUR;
const EPISODE: i64 = 7 * MINUTE;
/// 0.2/s × (65 + 7) min = 864 errors of 10/s × 2 d = 1,728,000 requests.
const CHECKOUT_ERRORS: f64 = 864.0;
const PAYMENTS_ERROR_RATIO: f64 = 0.002;

/// (alertname, service, start offset, duration): firing incidents.
const INCIDENTS: [(&str, &str, i64, i64); 3] = [
    ("CheckoutErrors", "checkout", -40 * HOUR, 10 * MINUTE),
    ("PaymentsLatency", "payments", -30 * HOUR, 20 * MINUTE),
    ("CheckoutErrors", "checkout", -10 * HOUR, 30 * MINUTE),
];
/// (10 + 20 + 30) / 3 minutes.
const MTTR: f64 = 20.0 * 60.0;
/// Starts 40 h, 30 h, 10 h ago: gaps 10 h and 20 h.
const MTBF: f64 = 15.0 * 3600.0;

/// (service, environment, deploy time before the history, deploys as
/// offsets, deploys inside the window).
type DeploySpec = (&'static str, &'static str, i64, &'static [i64], u64);
const DEPLOYS: [DeploySpec; 4] = [
    // -49.5 h is inside the history but outside the 48 h window.
    (
        "checkout",
        "production",
        -60 * HOUR,
        &[
            -(49 * HOUR + 30 * MINUTE),
            -44 * HOUR,
            -30 * HOUR,
            -20 * HOUR,
            -5 * HOUR,
        ],
        4,
    ),
    (
        "search",
        "production",
        -100 * HOUR,
        &[-36 * HOUR, -2 * HOUR],
        2,
    ),
    ("payments", "production", -70 * HOUR, &[], 0),
    (
        "payments",
        "staging",
        -55 * HOUR,
        &[-40 * HOUR, -26 * HOUR, -HOUR],
        3,
    ),
];
/// (service, environment, counter before the history, rollbacks as offsets,
/// rollbacks inside the window).
type RollbackSpec = (&'static str, &'static str, f64, &'static [i64], u64);
const ROLLBACKS: [RollbackSpec; 4] = [
    (
        "checkout",
        "production",
        2.0,
        &[-49 * HOUR, -(19 * HOUR + 30 * MINUTE)],
        1,
    ),
    ("search", "production", 1.0, &[], 0),
    ("payments", "production", 7.0, &[], 0),
    ("payments", "staging", 5.0, &[-(25 * HOUR + 30 * MINUTE)], 1),
];
/// (target, tier, last success before the history, successes as offsets,
/// successes inside the window).
type BackupSpec = (&'static str, &'static str, i64, &'static [i64], u64);
const SUCCESSES: [BackupSpec; 2] = [
    (
        "orders-db",
        "non-critical",
        -51 * HOUR,
        // Every 4 hours from 47 h ago to 3 h ago: 12.
        &[
            -47 * HOUR,
            -43 * HOUR,
            -39 * HOUR,
            -35 * HOUR,
            -31 * HOUR,
            -27 * HOUR,
            -23 * HOUR,
            -19 * HOUR,
            -15 * HOUR,
            -11 * HOUR,
            -7 * HOUR,
            -3 * HOUR,
        ],
        12,
    ),
    // -49 h is outside the window.
    (
        "users-db",
        "non-critical",
        -73 * HOUR,
        &[-49 * HOUR, -40 * HOUR, -16 * HOUR],
        2,
    ),
];
/// (target, last failure before the history, failures, inside the window).
const FAILURES: [(&str, i64, &[i64], u64); 1] = [(
    "orders-db",
    -100 * HOUR,
    &[-(30 * HOUR + 30 * MINUTE), -(10 * HOUR + 30 * MINUTE)],
    2,
)];

/// Offsets of the samples from the last one: −HISTORY, …, −1 min, 0.
fn offsets() -> impl Iterator<Item = i64> {
    (0..=HISTORY / STEP).map(|k| k * STEP - HISTORY)
}

/// The backfill text, its last sample at `last` (Unix seconds).
struct History {
    last: i64,
    text: String,
}

impl History {
    fn family(&mut self, name: &str, kind: &str) {
        writeln!(self.text, "# TYPE {name} {kind}").unwrap();
    }

    /// One series: `value(offset)` at every offset, none where `None`.
    fn series(&mut self, sample: &str, value: impl Fn(i64) -> Option<f64>) {
        for o in offsets() {
            if let Some(v) = value(o) {
                writeln!(self.text, "{sample} {v} {}", self.last + o).unwrap();
            }
        }
    }

    /// A counter rising at `rate(o)` per second between offset o and o+STEP.
    fn counter(&mut self, sample: &str, rate: impl Fn(i64) -> f64) {
        let mut values = BTreeMap::new();
        let mut total = 0.0;
        for o in offsets() {
            values.insert(o, total);
            total += rate(o) * STEP as f64;
        }
        self.series(sample, |o| values.get(&o).copied());
    }

    /// A gauge holding the Unix time of the latest event at or before each
    /// offset (or of `before`, an event before the history).
    fn last_event(&mut self, sample: &str, before: i64, events: &[i64]) {
        let last = self.last;
        self.series(sample, |o| {
            let latest = events.iter().copied().filter(|e| *e <= o).max();
            Some((last + latest.unwrap_or(before)) as f64)
        });
    }
}

fn checkout_errors_per_second(o: i64) -> f64 {
    let burst = (-BURST..0).contains(&o);
    let episode = (EPISODE_AT..EPISODE_AT + EPISODE).contains(&o);
    if burst || episode {
        CHECKOUT_ERR_RPS
    } else {
        0.0
    }
}

fn history(last: i64) -> String {
    let mut h = History {
        last,
        text: String::new(),
    };
    h.family("http_requests", "counter");
    let payments_errors = PAYMENTS_RPS * PAYMENTS_ERROR_RATIO;
    h.counter(
        r#"http_requests_total{service="checkout",code="200"}"#,
        |o| CHECKOUT_RPS - checkout_errors_per_second(o),
    );
    h.counter(
        r#"http_requests_total{service="checkout",code="500"}"#,
        checkout_errors_per_second,
    );
    h.counter(
        r#"http_requests_total{service="search",code="200"}"#,
        |_| SEARCH_RPS,
    );
    h.counter(
        r#"http_requests_total{service="payments",code="200"}"#,
        |_| PAYMENTS_RPS - payments_errors,
    );
    h.counter(
        r#"http_requests_total{service="payments",code="503"}"#,
        |_| payments_errors,
    );

    h.family("ALERTS", "gauge");
    for (alertname, service) in [
        ("CheckoutErrors", "checkout"),
        ("PaymentsLatency", "payments"),
    ] {
        let mine = || {
            INCIDENTS
                .iter()
                .filter(move |(a, s, _, _)| *a == alertname && *s == service)
        };
        for (state, pending) in [("firing", false), ("pending", true)] {
            h.series(
                &format!(
                    r#"ALERTS{{alertname="{alertname}",alertstate="{state}",service="{service}",severity="critical"}}"#
                ),
                |o| {
                    mine()
                        .any(|(_, _, start, len)| {
                            if pending {
                                (start - 5 * MINUTE..*start).contains(&o)
                            } else {
                                (*start..start + len).contains(&o)
                            }
                        })
                        .then_some(1.0)
                },
            );
        }
    }

    h.family("deployment_info", "gauge");
    for (service, environment, _, _, _) in DEPLOYS {
        h.series(
            &format!(
                r#"deployment_info{{service="{service}",environment="{environment}",version="v2.0.0",previous_version="v1.9.0",strategy="rolling",color="",phase="complete"}}"#
            ),
            |_| Some(1.0),
        );
    }
    h.family("deployment_timestamp_seconds", "gauge");
    for (service, environment, before, events, _) in DEPLOYS {
        h.last_event(
            &format!(
                r#"deployment_timestamp_seconds{{service="{service}",environment="{environment}"}}"#
            ),
            before,
            events,
        );
    }
    h.family("deployment_rollbacks", "counter");
    for (service, environment, start, events, _) in ROLLBACKS {
        h.series(
            &format!(
                r#"deployment_rollbacks_total{{service="{service}",environment="{environment}"}}"#
            ),
            |o| Some(start + events.iter().filter(|e| **e <= o).count() as f64),
        );
    }

    h.family("backup_last_success_timestamp_seconds", "gauge");
    for (target, tier, before, events, _) in SUCCESSES {
        h.last_event(
            &format!(r#"backup_last_success_timestamp_seconds{{target="{target}",tier="{tier}"}}"#),
            before,
            events,
        );
    }
    h.family("backup_last_failure_timestamp_seconds", "gauge");
    for (target, before, events, _) in FAILURES {
        h.last_event(
            &format!(r#"backup_last_failure_timestamp_seconds{{target="{target}"}}"#),
            before,
            events,
        );
    }
    h.text.push_str("# EOF\n");
    h.text
}

/// An instant query's answer as `labels → value`, the labels joined by "/".
fn by_labels(response: &Value, labels: &[&str]) -> BTreeMap<String, f64> {
    assert_eq!(response["status"], "success", "{response}");
    response["data"]["result"]
        .as_array()
        .expect("a vector")
        .iter()
        .map(|s| {
            let key: Vec<&str> = labels
                .iter()
                .map(|l| s["metric"][*l].as_str().unwrap_or(""))
                .collect();
            let value: f64 = s["value"][1].as_str().unwrap().parse().unwrap();
            (key.join("/"), value)
        })
        .collect()
}

/// `got` within `tolerance` of `want`.
#[track_caller]
fn close(what: &str, got: f64, want: f64, tolerance: f64) {
    assert!(
        (got - want).abs() <= tolerance,
        "{what}: got {got}, want {want} ± {tolerance}"
    );
}

#[track_caller]
fn number(v: &Value, what: &str) -> f64 {
    v.as_f64()
        .unwrap_or_else(|| panic!("{what}: not a number: {v}"))
}

/// The KPI with this `id` in the status JSON.
#[track_caller]
fn kpi<'a>(status: &'a Value, id: &str) -> &'a Value {
    let kpis = status["kpis"].as_array().expect("kpis[]");
    kpis.iter().find(|k| k["id"] == id).unwrap_or_else(|| {
        let ids: Vec<String> = kpis
            .iter()
            .map(|k| format!("{} ({})", k["id"], k["name"]))
            .collect();
        panic!("no KPI with id {id:?} in `opsdeck status --json`; it has {ids:?}")
    })
}

#[track_caller]
fn service<'a>(status: &'a Value, name: &str) -> &'a Value {
    status["services"]
        .as_array()
        .expect("services[]")
        .iter()
        .find(|s| s["name"] == name)
        .unwrap_or_else(|| panic!("no service {name:?} in {:#}", status["services"]))
}

#[test]
fn sla_numbers_match_a_backfilled_history_whose_truth_is_known_by_construction() {
    let started = Instant::now();
    let last = unix_now().floor() as i64 - LAST_AGE;
    let text = history(last);
    let alertmanager = Alertmanager::start();
    let prometheus = Prometheus::start_with_backfill(
        PrometheusConfig {
            extra_args: vec!["--query.lookback-delta=1m".into()],
            ..PrometheusConfig::default()
        },
        &text,
    );
    let fresh = |what: &str| {
        let age = unix_now() - last as f64;
        assert!(
            age < FRESH as f64,
            "{what} {age:.0} s after the last sample: with a 1-minute lookback the gauges \
             would be gone (setup too slow)"
        );
    };
    let window = "[2d]";

    // --- Step 1: the history itself, in PromQL ---------------------------
    fresh("Step 1 started");
    // Constant rates inside a window give exact rate()s whatever the
    // extrapolation; a constant-rate counter's increase() is exact too.
    let total = by_labels(
        &prometheus.query(&format!(
            "sum by (service) (increase(http_requests_total{window}))"
        )),
        &["service"],
    );
    let two_days = WINDOW as f64;
    for (name, rps) in [
        ("checkout", CHECKOUT_RPS),
        ("search", SEARCH_RPS),
        ("payments", PAYMENTS_RPS),
    ] {
        // Float sums of 3,000 steps: 1e-6 relative is far above their error.
        close(
            &format!("requests of {name} in 2 days"),
            total[name],
            rps * two_days,
            rps * two_days * 1e-6,
        );
    }
    let errors = by_labels(
        &prometheus.query(&format!(
            r#"sum by (service) (increase(http_requests_total{{code=~"5.."}}{window}))"#
        )),
        &["service"],
    );
    assert!(!errors.contains_key("search"), "search has no 5xx series");
    // All of checkout's 864 errors lie well inside the window, but increase()
    // stretches the increase it sees over the ≤ 1 min between the window's
    // start and its first sample: up to 864 × 60/172,740 = +0.3.
    let bias = CHECKOUT_ERRORS * (STEP as f64) / (two_days - STEP as f64);
    assert!(
        errors["checkout"] >= CHECKOUT_ERRORS - 1e-6
            && errors["checkout"] <= CHECKOUT_ERRORS + bias + 1e-6,
        "checkout 5xx in 2 days: {} (want 864, at most +{bias:.2} of extrapolation)",
        errors["checkout"]
    );
    // Payments fails at a constant rate: exact, to float precision.
    close(
        "payments 5xx in 2 days",
        errors["payments"],
        PAYMENTS_RPS * PAYMENTS_ERROR_RATIO * two_days,
        1e-3,
    );
    // The burn-rate windows, with opsdeck's own expression (queries.rs).
    for w in ["5m", "30m", "1h"] {
        let ratios = by_labels(
            &prometheus.query(&format!(
                r#"(sum by (service) (rate(http_requests_total{{code=~"5.."}}[{w}])) or sum by (service) (rate(http_requests_total[{w}])) * 0) / sum by (service) (rate(http_requests_total[{w}]))"#
            )),
            &["service"],
        );
        // Constant rates inside each window: exact but for float rounding.
        close(&format!("checkout {w}"), ratios["checkout"], 0.02, 1e-9);
        close(
            &format!("payments {w}"),
            ratios["payments"],
            PAYMENTS_ERROR_RATIO,
            1e-9,
        );
        close(&format!("search {w}"), ratios["search"], 0.0, 0.0);
    }
    // changes() counts value changes between samples in the window: exact.
    let deploys = by_labels(
        &prometheus.query(&format!(
            "sum by (service, environment) (changes(deployment_timestamp_seconds{window}))"
        )),
        &["service", "environment"],
    );
    let want: BTreeMap<String, f64> = DEPLOYS
        .iter()
        .map(|(s, e, _, _, n)| (format!("{s}/{e}"), *n as f64))
        .collect();
    assert_eq!(deploys, want, "deployments in the window");
    // increase() of a counter flat at both edges is still stretched by
    // window / sampled span ≤ 172,800 / 172,740: 1 rollback reads ≤ 1.0004.
    let rollbacks = by_labels(
        &prometheus.query(&format!(
            "sum by (service, environment) (increase(deployment_rollbacks_total{window}))"
        )),
        &["service", "environment"],
    );
    assert_eq!(rollbacks.len(), ROLLBACKS.len(), "{rollbacks:?}");
    for (s, e, _, _, n) in ROLLBACKS {
        close(
            &format!("rollbacks of {s}/{e} in the window"),
            rollbacks[&format!("{s}/{e}")],
            n as f64,
            1e-3,
        );
    }
    let successes = by_labels(
        &prometheus.query(&format!(
            "sum by (target) (changes(backup_last_success_timestamp_seconds{window}))"
        )),
        &["target"],
    );
    let want: BTreeMap<String, f64> = SUCCESSES
        .iter()
        .map(|(t, _, _, _, n)| (t.to_string(), *n as f64))
        .collect();
    assert_eq!(successes, want, "backup successes in the window");
    let failures = by_labels(
        &prometheus.query(&format!(
            "sum by (target) (changes(backup_last_failure_timestamp_seconds{window}))"
        )),
        &["target"],
    );
    let want: BTreeMap<String, f64> = FAILURES
        .iter()
        .map(|(t, _, _, n)| (t.to_string(), *n as f64))
        .collect();
    assert_eq!(failures, want, "backup failures in the window");
    // One firing sample a minute while firing: 10 + 30 and 20 samples.
    let samples = by_labels(
        &prometheus.query(&format!(
            r#"count_over_time(ALERTS{{alertstate="firing"}}{window})"#
        )),
        &["alertname", "service"],
    );
    assert_eq!(
        samples,
        BTreeMap::from([
            ("CheckoutErrors/checkout".to_string(), 40.0),
            ("PaymentsLatency/payments".to_string(), 20.0),
        ]),
        "firing samples"
    );
    // The 1-minute lookback: an incident sampled up to S+D−1m is seen until
    // S+D and not after (with the default 5 minutes it would be seen at
    // S+D+30s too). S+D itself is left out: whether the lookback includes
    // its left edge differs between Prometheus versions.
    let firing = r#"max by (alertname, service) (ALERTS{alertstate="firing"})"#;
    for (alertname, service, start, len) in INCIDENTS {
        let key = format!("{alertname}/{service}");
        for (at, seen) in [
            (start - 30, false),
            (start, true),
            (start + len - 30, true),
            (start + len - 1, true),
            (start + len + 30, false),
        ] {
            let got = by_labels(
                &prometheus.query_at(firing, (last + at) as f64),
                &["alertname", "service"],
            );
            assert_eq!(
                got.contains_key(&key),
                seen,
                "{key} at offset {at} s: {got:?}"
            );
        }
    }

    // --- Step 2: opsdeck status --json ---------------------------------
    let dir = TempDir::new("sla-history");
    let config = dir.write(
        "config.toml",
        &format!(
            r#"service_label = "service"

[[prometheus]]
name = "prometheus"
url = "{prometheus}"

[[alertmanager]]
name = "alertmanager"
url = "{alertmanager}"

[objectives]
availability = {OBJECTIVE}
error_ratio = 0.001
mttr = "30m"
slo_window = "2d"
"#,
            prometheus = prometheus.url(),
            alertmanager = alertmanager.url(),
        ),
    );
    fresh("opsdeck started");
    let before = unix_now();
    let (status, stderr, code) = dir.status_json(&config);
    let context = format!("{status:#}\nstderr:\n{stderr}");
    // opsdeck queried at its own "now", after `before`: still within the
    // minute after the last sample that the lookback leaves the gauges.
    let at = chrono::DateTime::parse_from_rfc3339(status["generated_at"].as_str().unwrap())
        .expect("generated_at is RFC 3339")
        .timestamp_millis() as f64
        / 1000.0;
    assert!(
        at >= before - 1.0 && at - (last as f64) < FRESH as f64,
        "opsdeck's now {at} against the last sample {last}"
    );
    assert_eq!(status["schema"], 2, "{context}");
    assert_eq!(
        status["unreachable"],
        serde_json::json!([]),
        "every source answered: {context}"
    );

    // Per service.
    let checkout = service(&status, "checkout");
    let payments = service(&status, "payments");
    let search = service(&status, "search");
    let checkout_availability = 1.0 - CHECKOUT_ERRORS / (CHECKOUT_RPS * two_days);
    // ± 1e-6: increase() extrapolates the requests (a constant rate) exactly,
    // but checkout's errors, all inside the window, are stretched by up to
    // 60/172,740 of themselves (the ≤ 1 min between the window's edge and
    // its first sample): the error ratio reads ≤ 1.7e-7 high.
    close(
        "checkout availability",
        number(&checkout["availability"], "checkout availability"),
        checkout_availability,
        1e-6,
    );
    // The same bias over a budget of 0.001: ≤ 1.7e-4.
    close(
        "checkout budget left",
        number(&checkout["budget_left"], "checkout budget left"),
        0.5,
        5e-4,
    );
    // Constant rates over the last hour: 0.02 / 0.001, exact to rounding.
    close(
        "checkout 1h burn rate",
        number(&checkout["burn_rate_1h"], "checkout burn"),
        20.0,
        1e-6,
    );
    // 1h and 5m both burn at 20 > 14.4: the workbook pages.
    assert_eq!(checkout["slo_state"], "crit", "checkout pages: {context}");
    // Payments fails at a constant 0.2 %: exact to rounding.
    close(
        "payments availability",
        number(&payments["availability"], "payments availability"),
        1.0 - PAYMENTS_ERROR_RATIO,
        1e-9,
    );
    close(
        "payments budget left",
        number(&payments["budget_left"], "payments budget left"),
        -1.0,
        1e-6,
    );
    close(
        "payments 1h burn rate",
        number(&payments["burn_rate_1h"], "payments burn"),
        2.0,
        1e-6,
    );
    assert_eq!(
        payments["slo_state"], "crit",
        "below its objective: {context}"
    );
    // No 5xx series at all: exactly 100 %, the whole budget, no burn.
    close(
        "search availability",
        number(&search["availability"], "search availability"),
        1.0,
        0.0,
    );
    close(
        "search budget left",
        number(&search["budget_left"], "search budget left"),
        1.0,
        0.0,
    );
    close(
        "search 1h burn rate",
        number(&search["burn_rate_1h"], "search burn"),
        0.0,
        0.0,
    );
    assert_eq!(search["slo_state"], "ok", "{context}");
    // Its whole state: the SLO window says nothing wrong, and the
    // instant signals of a history that ended minutes ago are not known.
    assert_eq!(search["state"], "unknown", "{context}");

    // The KPIs, by id.
    for id in [
        "availability",
        "error_budget",
        "burn_rate",
        "latency_p95",
        "latency_p99",
        "error_rate",
        "mttr",
        "mtbf",
        "rpo",
        "rto",
        "deploy_frequency",
        "change_failure_rate",
        "backup_success",
    ] {
        let n = status["kpis"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|k| k["id"] == id)
            .count();
        assert_eq!(n, 1, "KPI id {id:?} appears once: {context}");
    }
    let value = |id: &str| number(&kpi(&status, id)["value"], id);
    let unit = |id: &str| kpi(&status, id)["unit"].clone();
    // The worst service, payments: constant error ratio, exact to rounding.
    close(
        "availability KPI (worst service)",
        value("availability"),
        1.0 - PAYMENTS_ERROR_RATIO,
        1e-9,
    );
    assert_eq!(unit("availability"), "ratio");
    // 50 hours of history over a 2-day window: the whole window covered.
    let availability = kpi(&status, "availability");
    assert_eq!(availability["window_seconds"], 172_800, "{context}");
    assert_eq!(availability["covered_seconds"], 172_800, "{context}");
    assert_eq!(kpi(&status, "availability")["state"], "crit", "{context}");
    // The lowest budget, payments': spent twice over.
    close(
        "error budget KPI (lowest)",
        value("error_budget"),
        -1.0,
        1e-6,
    );
    assert_eq!(unit("error_budget"), "ratio");
    // The highest 1h burn rate, checkout's.
    close("burn rate KPI (highest)", value("burn_rate"), 20.0, 1e-6);
    assert_eq!(unit("burn_rate"), "factor");
    assert_eq!(kpi(&status, "burn_rate")["state"], "crit", "{context}");
    // The 5-minute error ratio weighted by requests: (0.2 + 0.012) / 20,
    // constant rates over the last 5 minutes, exact to rounding.
    let error_rate = (CHECKOUT_ERR_RPS + PAYMENTS_RPS * PAYMENTS_ERROR_RATIO)
        / (CHECKOUT_RPS + SEARCH_RPS + PAYMENTS_RPS);
    close("error rate KPI", value("error_rate"), error_rate, 1e-9);
    // Incidents are read at a 30 s step: each start and end is known to
    // within one step (the runs seen are [S+φ, S+D−30+φ] for one grid offset
    // φ, so durations read D−30 s at worst), hence ± one step.
    close("MTTR KPI", value("mttr"), MTTR, INCIDENT_STEP);
    assert_eq!(unit("mttr"), "seconds");
    // Every start is shifted by the same grid offset φ; ± one step in case
    // the grid were not shared.
    close("MTBF KPI", value("mtbf"), MTBF, INCIDENT_STEP);
    assert_eq!(unit("mtbf"), "seconds");
    // DORA. changes() is exact; 9 deploys over 2 days.
    let deploys_in_window: u64 = DEPLOYS.iter().map(|d| d.4).sum();
    let rollbacks_in_window: u64 = ROLLBACKS.iter().map(|r| r.4).sum();
    assert_eq!((deploys_in_window, rollbacks_in_window), (9, 2));
    close(
        "deploy frequency KPI (per day)",
        value("deploy_frequency"),
        deploys_in_window as f64 / 2.0,
        1e-9,
    );
    // 2 / 9. The rollbacks come from increase(), ≤ 0.04 % high (see step 1):
    // ± 1e-3 covers a count left unrounded, and not 1/9 or 3/9.
    close(
        "change failure rate KPI",
        value("change_failure_rate"),
        rollbacks_in_window as f64 / deploys_in_window as f64,
        1e-3,
    );
    assert_eq!(unit("change_failure_rate"), "ratio");
    // 14 successes, 2 failures, both by changes(): exact.
    let succeeded: u64 = SUCCESSES.iter().map(|b| b.4).sum();
    let failed: u64 = FAILURES.iter().map(|f| f.3).sum();
    assert_eq!((succeeded, failed), (14, 2));
    close(
        "backup success KPI",
        value("backup_success"),
        succeeded as f64 / (succeeded + failed) as f64,
        1e-9,
    );
    assert_eq!(unit("backup_success"), "ratio");

    // A page and a breach: exit 2, as the JSON says.
    assert_eq!(status["state"], "crit", "{context}");
    assert_eq!(status["exit_code"], 2, "{context}");
    assert_eq!(code, Some(2), "{context}");
    eprintln!("sla_history took {:?}", started.elapsed());
}
