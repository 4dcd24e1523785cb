//! Forecasts (issue 24, item 5) against a real Prometheus on backfilled
//! history whose future is known by construction.
//!
//! 26 hours of history, one sample a minute, ending `LAST_AGE` seconds
//! before the test starts:
//! * disks (`node_filesystem_avail_bytes`, `_size_bytes`): db-07's /data
//!   falls by 1 MB/s to reach 0 exactly `DB07_FULL` (14 h) after the last
//!   sample, beside a / that does not move; db-08's /var falls by 10 MB/s to
//!   0 at `DB08_FULL` (3.5 h); web-03's /srv frees space; new-01's
//!   /scratch falls fast but has been watched for 30 minutes only (no
//!   forecast). The others fall in a straight line for their last 7 hours
//!   and are flat before, so the 6-hour slope is the constructed one. Every disk stays under 80% full: a state
//!   here is the forecast's, not the gauge's (CPU and memory are low).
//! * requests (`http_requests_total{service,code}`): ledger serves 10 req/s,
//!   of which 6% fail in the last 65 minutes and none before: over the 1-day
//!   SLO window, availability 1 − 2,340/864,000, so against 99% the budget
//!   left is 1 − 0.27083…% / 1% = 0.729; the one-hour burn is 0.06 / 0.01 =
//!   6; the budget is gone in 0.729 × 86,400 s / 6 = 10,500 s. legacy fails
//!   2% all along: its budget is spent (0 s). quiet never fails: null.
//!
//! Step 1 proves the disks' future with Prometheus' own `predict_linear`;
//! step 2 runs `opsdeck status --json` and checks its forecasts against
//! the same truth.

mod support;

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde_json::Value;
use support::*;

const MINUTE: i64 = 60;
const HOUR: i64 = 3600;
const HISTORY: i64 = 26 * HOUR;
const STEP: i64 = MINUTE;
const LAST_AGE: i64 = 10;
/// Each disk's straight fall: the last 7 hours, more than the 6-hour range.
const FALLING: i64 = 7 * HOUR;

const DB07_FULL: i64 = 14 * HOUR;
const DB07_FALL: f64 = 1e6;
const DB08_FULL: i64 = 3 * HOUR + 30 * MINUTE;
const DB08_FALL: f64 = 1e7;

const OBJECTIVE: f64 = 0.99;
const WINDOW: f64 = 86_400.0;
const LEDGER_RPS: f64 = 10.0;
const LEDGER_ERROR_RATIO: f64 = 0.06;
const BURST: i64 = 65 * MINUTE;

const HOSTS: [&str; 3] = ["db-07:9100", "db-08:9100", "web-03:9100"];

fn offsets() -> impl Iterator<Item = i64> {
    (0..=HISTORY / STEP).map(|k| k * STEP - HISTORY)
}

/// Free bytes `o` seconds after the last sample on a disk falling by `fall`
/// a second to 0 at `full`: flat before its last `FALLING` seconds.
fn avail(o: i64, full: i64, fall: f64) -> f64 {
    fall * (full - o.max(-FALLING)) as f64
}

/// A disk's size: its most free space over 0.8, so it is never 80% full.
fn size(full: i64, fall: f64) -> f64 {
    avail(-FALLING, full, fall) / 0.8
}

/// A series' value (or rate) `o` seconds after the last sample.
type Curve = Box<dyn Fn(i64) -> f64>;

struct History {
    last: i64,
    text: String,
}

impl History {
    fn series(&mut self, sample: &str, value: impl Fn(i64) -> f64) {
        for o in offsets() {
            writeln!(self.text, "{sample} {} {}", value(o), self.last + o).unwrap();
        }
    }

    fn counter(&mut self, sample: &str, rate: impl Fn(i64) -> f64) {
        let mut total = 0.0;
        for o in offsets() {
            writeln!(self.text, "{sample} {total} {}", self.last + o).unwrap();
            total += rate(o) * STEP as f64;
        }
    }
}

fn fs(instance: &str, mountpoint: &str) -> String {
    format!(
        r#"{{instance="{instance}",device="/dev/{mountpoint}",mountpoint="{mountpoint}",fstype="ext4"}}"#
    )
}

fn history(last: i64) -> String {
    let mut h = History {
        last,
        text: String::new(),
    };
    let disks: [(&str, &str, Curve, f64); 4] = [
        (
            "db-07:9100",
            "/data",
            Box::new(|o| avail(o, DB07_FULL, DB07_FALL)),
            size(DB07_FULL, DB07_FALL),
        ),
        ("db-07:9100", "/", Box::new(|_| 4e10), 1e11),
        (
            "db-08:9100",
            "/var",
            Box::new(|o| avail(o, DB08_FULL, DB08_FALL)),
            size(DB08_FULL, DB08_FALL),
        ),
        (
            "web-03:9100",
            "/srv",
            Box::new(|o| 5e10 + 1e5 * (o + HISTORY) as f64),
            1e11,
        ),
    ];
    writeln!(h.text, "# TYPE node_filesystem_avail_bytes gauge").unwrap();
    for (instance, mountpoint, value, _) in &disks {
        h.series(
            &format!("node_filesystem_avail_bytes{}", fs(instance, mountpoint)),
            value,
        );
    }
    // new-01's /scratch, watched for 30 minutes only, falls fast: 30
    // samples are no trend to forecast from.
    for o in (-30 * MINUTE + STEP..=0).step_by(STEP as usize) {
        writeln!(
            h.text,
            "node_filesystem_avail_bytes{} {} {}",
            fs("new-01:9100", "/scratch"),
            1e9 - 1e5 * (o + 30 * MINUTE) as f64,
            h.last + o
        )
        .unwrap();
    }
    writeln!(h.text, "# TYPE node_filesystem_size_bytes gauge").unwrap();
    for (instance, mountpoint, _, bytes) in &disks {
        h.series(
            &format!("node_filesystem_size_bytes{}", fs(instance, mountpoint)),
            |_| *bytes,
        );
    }
    // CPU and memory at a fifth and a half, so each host's state is its
    // disks'.
    for o in (-30 * MINUTE + STEP..=0).step_by(STEP as usize) {
        writeln!(
            h.text,
            "node_filesystem_size_bytes{} 2e9 {}",
            fs("new-01:9100", "/scratch"),
            h.last + o
        )
        .unwrap();
    }
    writeln!(h.text, "# TYPE node_memory_MemAvailable_bytes gauge").unwrap();
    for instance in HOSTS {
        h.series(
            &format!(r#"node_memory_MemAvailable_bytes{{instance="{instance}"}}"#),
            |_| 4e9,
        );
    }
    writeln!(h.text, "# TYPE node_memory_MemTotal_bytes gauge").unwrap();
    for instance in HOSTS {
        h.series(
            &format!(r#"node_memory_MemTotal_bytes{{instance="{instance}"}}"#),
            |_| 8e9,
        );
    }
    writeln!(h.text, "# TYPE node_cpu_seconds counter").unwrap();
    // Every 15 s for the last 10 minutes: opsdeck's CPU is a 1-minute rate.
    for instance in HOSTS {
        for k in 0..=40 {
            let o = k * 15 - 600;
            writeln!(
                h.text,
                r#"node_cpu_seconds_total{{instance="{instance}",cpu="0",mode="idle"}} {} {}"#,
                0.8 * (k * 15) as f64,
                h.last + o
            )
            .unwrap();
        }
    }
    writeln!(h.text, "# TYPE http_requests counter").unwrap();
    let ledger_errors = |o: i64| {
        if (-BURST..0).contains(&o) {
            LEDGER_RPS * LEDGER_ERROR_RATIO
        } else {
            0.0
        }
    };
    let series: [(&str, &str, Curve); 6] = [
        (
            "ledger",
            "200",
            Box::new(move |o| LEDGER_RPS - ledger_errors(o)),
        ),
        ("ledger", "500", Box::new(ledger_errors)),
        ("legacy", "200", Box::new(|_| 1.96)),
        ("legacy", "500", Box::new(|_| 0.04)),
        ("quiet", "200", Box::new(|_| 3.0)),
        ("quiet", "500", Box::new(|_| 0.0)),
    ];
    for (service, code, rate) in &series {
        h.counter(
            &format!(r#"http_requests_total{{service="{service}",code="{code}"}}"#),
            rate,
        );
    }
    h.text.push_str("# EOF\n");
    h.text
}

#[track_caller]
fn close(what: &str, got: f64, want: f64, tolerance: f64) {
    assert!(
        (got - want).abs() <= tolerance,
        "{what}: got {got}, want {want} ± {tolerance}"
    );
}

#[track_caller]
fn find<'a>(status: &'a Value, list: &str, name: &str) -> &'a Value {
    status[list]
        .as_array()
        .unwrap_or_else(|| panic!("{list}[] in {status:#}"))
        .iter()
        .find(|s| s["name"] == name)
        .unwrap_or_else(|| panic!("no {name:?} in {:#}", status[list]))
}

fn by_instance(response: &Value) -> BTreeMap<String, f64> {
    assert_eq!(response["status"], "success", "{response}");
    response["data"]["result"]
        .as_array()
        .expect("a vector")
        .iter()
        .map(|s| {
            let key = s["metric"]["instance"].as_str().unwrap_or("").to_string();
            (key, s["value"][1].as_str().unwrap().parse().unwrap())
        })
        .collect()
}

fn opsdeck_status(prometheus: &Prometheus) -> Value {
    let dir = TempDir::new("forecasts");
    let config = dir.write(
        "config.toml",
        &format!(
            r#"service_label = "service"

[[prometheus]]
name = "prometheus"
url = "{}"

[objectives]
availability = {OBJECTIVE}
slo_window = "1d"
"#,
            prometheus.url()
        ),
    );
    dir.status_json(&config).0
}

#[test]
fn disks_and_budgets_are_forecast_to_the_constructed_time() {
    let last = unix_now().floor() as i64 - LAST_AGE;
    let prometheus = Prometheus::start_with_backfill(PrometheusConfig::default(), &history(last));

    // Step 1: Prometheus itself, asked for each disk's free bytes at the
    // constructed time to full, answers 0 (to 0.1% of what is free now).
    let now = unix_now();
    for (instance, mountpoint, full, fall) in [
        ("db-07:9100", "/data", DB07_FULL, DB07_FALL),
        ("db-08:9100", "/var", DB08_FULL, DB08_FALL),
    ] {
        let ahead = (last + full) as f64 - now;
        let at_full = by_instance(&prometheus.query_at(
            &format!(
                "predict_linear(node_filesystem_avail_bytes{}[6h], {ahead:.0})",
                fs(instance, mountpoint)
            ),
            now,
        ));
        let free_now = avail(0, full, fall);
        close(
            &format!("{instance} {mountpoint} free at its full time"),
            at_full[instance],
            0.0,
            free_now * 1e-3,
        );
    }

    // Step 2: opsdeck's forecasts.
    let status = opsdeck_status(&prometheus);
    let at = chrono::DateTime::parse_from_rfc3339(status["generated_at"].as_str().unwrap())
        .expect("generated_at is RFC 3339")
        .timestamp() as f64;
    let context = format!("{status:#}");
    for (host, full, state) in [
        ("db-07:9100", DB07_FULL, "warn"),
        ("db-08:9100", DB08_FULL, "crit"),
    ] {
        let h = find(&status, "hosts", host);
        let want = (last + full) as f64 - at;
        let got = h["disk_full_in_seconds"]
            .as_f64()
            .unwrap_or_else(|| panic!("{host} has a forecast: {context}"));
        close(&format!("{host} full in"), got, want, want * 0.05);
        assert!(h["disk"].as_f64().unwrap() < 0.8, "{host} under 80%: {h}");
        assert_eq!(h["state"], state, "{host} is judged by its forecast: {h}");
    }
    let new = find(&status, "hosts", "new-01:9100");
    assert_eq!(new["disk_full_in_seconds"], Value::Null, "too fresh: {new}");
    let web = find(&status, "hosts", "web-03:9100");
    assert_eq!(
        web["disk_full_in_seconds"],
        Value::Null,
        "frees space: {web}"
    );
    assert_eq!(web["state"], "ok", "{web}");
    let reasons: Vec<&str> = status["reasons"]
        .as_array()
        .expect("reasons[]")
        .iter()
        .filter_map(|r| r["text"].as_str())
        .collect();
    assert!(
        reasons.contains(&"2 disks full in 3h"),
        "the verdict names the disks filling: {reasons:?}"
    );

    let ledger = find(&status, "services", "ledger");
    let spent = BURST as f64 * LEDGER_RPS * LEDGER_ERROR_RATIO / (LEDGER_RPS * WINDOW);
    let left = 1.0 - spent / (1.0 - OBJECTIVE);
    let burn = LEDGER_ERROR_RATIO / (1.0 - OBJECTIVE);
    close(
        "ledger budget left",
        ledger["budget_left"].as_f64().unwrap(),
        left,
        1e-3,
    );
    close(
        "ledger burn",
        ledger["burn_rate_1h"].as_f64().unwrap(),
        burn,
        1e-6,
    );
    let gone = left * WINDOW / burn;
    let got = ledger["budget_exhausted_in_seconds"]
        .as_f64()
        .unwrap_or_else(|| panic!("ledger burns at 6x: {ledger}"));
    close("ledger budget gone in", got, gone, 60.0);
    let legacy = find(&status, "services", "legacy");
    assert_eq!(legacy["budget_exhausted_in_seconds"], 0, "spent: {legacy}");
    let quiet = find(&status, "services", "quiet");
    assert_eq!(quiet["budget_exhausted_in_seconds"], Value::Null, "{quiet}");
}
