//! Deploys, rollbacks and backup runs counted right (issue 20, item 5),
//! against a real Prometheus scraping a real Pushgateway on loopback.
//!
//! Pipelines push the way `docs/metrics.md` ("Counting deploys, rollbacks and
//! backup runs") says, with its own shell blocks run as they are: counters
//! read from the Pushgateway and pushed plus one. The estate, by
//! construction:
//! * checkout: 6 deploys, the first of its series; the third a canary that
//!   re-stamps its timestamp at two more steps; then its first rollback.
//!   Truth 6 deploys and 1 rollback, where `changes()` on the timestamp
//!   reads 8 and `increase()` alone 5 and 0.
//! * billing: a counter that was already at 41 in the Pushgateway before
//!   Prometheus first scraped it, then 1 deploy: 1 (its 41 have no dates).
//! * search: an older pipeline with the timestamp gauge only, 4 stamps: the
//!   fallback counts `changes()`, 3.
//! * orders-db: success, success, failure, success: 3 and 1.
//! * new-db: its very first run fails, and its job pushes that result only
//!   (the documented block pushes both): 0 and 1, and the target is listed
//!   though it never succeeded.
//! * archive-db: 120 successes and 3 failures before Prometheus, then 1
//!   success: 1 and 0.
//! * legacy-db: success gauges only, 3 stamps: 2 and 0.

mod support;

use std::process::Command;
use std::time::{Duration, Instant};

use opsdeck::config::file::{Config, Endpoint};
use opsdeck::sources::MetricsSource;
use opsdeck::sources::metrics::PrometheusSource;
use serde_json::Value;
use support::*;

/// The default SLO window, 30 days, as opsdeck writes it.
const WINDOW: &str = "2592000s";

/// The first ```sh block after `marker` in docs/metrics.md.
fn doc_block(marker: &str) -> String {
    let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/metrics.md"))
        .expect("docs/metrics.md");
    let after = &doc[doc
        .find(marker)
        .unwrap_or_else(|| panic!("no {marker:?} in docs/metrics.md"))..];
    let start = after.find("```sh\n").expect("a sh block after the marker") + 6;
    let end = after[start..].find("```").expect("the block ends") + start;
    after[start..end].to_string()
}

/// Runs `script` with `sh -e` and `env`; panics with its output on failure.
fn sh(script: &str, env: &[(&str, &str)]) {
    let out = Command::new("sh")
        .arg("-ec")
        .arg(script)
        .envs(env.iter().copied())
        .output()
        .expect("runs sh");
    assert!(
        out.status.success(),
        "the documented push failed: {}\n{}\n{script}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// POST (the documented method: replaces only the metrics it names).
fn post(pgw: &Pushgateway, job: &str, grouping: &[(&str, &str)], text: &str) {
    let url = pgw.group_url(job, grouping);
    let response = http_request(
        "POST",
        &url,
        Some("text/plain; version=0.0.4; charset=utf-8"),
        Some(format!("{text}\n")),
        Duration::from_secs(10),
    )
    .expect("push");
    assert!(response.is_success(), "{url}: {}", response.body);
}

/// The one value of `expr`, if it has one series.
fn value(prometheus: &Prometheus, expr: &str) -> Option<f64> {
    let response = prometheus.query(expr);
    assert_eq!(response["status"], "success", "{expr}: {response}");
    let values = sample_values(&response["data"]["result"]);
    assert!(values.len() <= 1, "{expr}: {response}");
    values.first().copied()
}

/// Waits until Prometheus has scraped `expr` at `want`.
fn scraped(prometheus: &Prometheus, expr: &str, want: f64) {
    prometheus.wait_for(expr, "the push scraped", |r| sample_values(r) == [want]);
}

struct Estate<'a> {
    pgw: &'a Pushgateway,
    prometheus: &'a Prometheus,
    deploy: String,
    backup: String,
    /// A strictly increasing timestamp for each re-stamp.
    stamp: i64,
}

impl Estate<'_> {
    /// A deploy started as documented; waits until it is scraped.
    fn deploy(&self, service: &str, version: &str, expect: f64) {
        sh(
            &self.deploy,
            &[
                ("PGW", &self.pgw.url()),
                ("SERVICE", service),
                ("ENVIRONMENT", "production"),
                ("VERSION", version),
                ("STRATEGY", "canary"),
            ],
        );
        scraped(
            self.prometheus,
            &format!(r#"deployments_total{{service="{service}"}}"#),
            expect,
        );
    }

    /// A later step of a deploy: weight and timestamp, no counter.
    fn restamp(&mut self, service: &str, weight: u32) {
        self.stamp += 1;
        let grouping = [("service", service), ("environment", "production")];
        let text = format!(
            "# TYPE deployment_canary_weight gauge\ndeployment_canary_weight {weight}\n\
             # TYPE deployment_timestamp_seconds gauge\ndeployment_timestamp_seconds {}",
            self.stamp
        );
        post(self.pgw, "deploy", &grouping, &text);
        scraped(
            self.prometheus,
            &format!(r#"deployment_timestamp_seconds{{service="{service}"}}"#),
            self.stamp as f64,
        );
    }

    /// A backup run ended, pushed as documented.
    fn backup_run(&self, target: &str, result: &str, expect: f64) {
        sh(
            &self.backup,
            &[
                ("PGW", &self.pgw.url()),
                ("TARGET", target),
                ("RESULT", result),
            ],
        );
        scraped(
            self.prometheus,
            &format!(r#"backup_runs_total{{target="{target}",result="{result}"}}"#),
            expect,
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deploys_rollbacks_and_backup_runs_are_counted_exactly() {
    let pgw = Pushgateway::start();
    // Already in the Pushgateway when Prometheus first scrapes it: their
    // counts have no dates and must not land in the window.
    post(
        &pgw,
        "deploy",
        &[("service", "billing"), ("environment", "production")],
        "# TYPE deployments_total counter\ndeployments_total 41",
    );
    post(
        &pgw,
        "backup",
        &[("target", "archive-db")],
        "# TYPE backup_runs_total counter\nbackup_runs_total{result=\"success\"} 120\n\
         backup_runs_total{result=\"failure\"} 3",
    );
    // opsdeck status asks an Alertmanager too: a real one of the test's own.
    let alertmanager = Alertmanager::start();
    let prometheus = Prometheus::start(PrometheusConfig {
        scrape: vec![scrape("pushgateway", &pgw.addr(), true)],
        ..PrometheusConfig::default()
    });
    prometheus.wait_for(
        "pushgateway_build_info",
        "Prometheus scraping the Pushgateway",
        |r| !sample_values(r).is_empty(),
    );
    scraped(&prometheus, r#"deployments_total{service="billing"}"#, 41.0);
    let born = Instant::now();
    let mut e = Estate {
        pgw: &pgw,
        prometheus: &prometheus,
        deploy: doc_block("<!-- counting: deploy"),
        backup: doc_block("<!-- counting: backup"),
        stamp: unix_now() as i64 + 1_000,
    };
    // Separate samples for separate events.
    let pause = || std::thread::sleep(Duration::from_millis(1_200));

    // Round by round, so that every series moves between two scrapes.
    e.deploy("checkout", "v1", 1.0);
    e.backup_run("orders-db", "success", 1.0);
    // A job that pushes only the result it had: its failure series
    // appears at 1.
    post(
        &pgw,
        "backup",
        &[("target", "new-db")],
        &format!(
            "# TYPE backup_runs_total counter\nbackup_runs_total{{result=\"failure\"}} 1\n\
             # TYPE backup_last_failure_timestamp_seconds gauge\nbackup_last_failure_timestamp_seconds {}",
            e.stamp
        ),
    );
    scraped(
        &prometheus,
        r#"backup_runs_total{target="new-db",result="failure"}"#,
        1.0,
    );
    let search_stamp = |e: &mut Estate, n: u32| {
        e.stamp += 1;
        post(
            e.pgw,
            "deploy",
            &[("service", "search"), ("environment", "production")],
            &format!(
                "# TYPE deployment_info gauge\ndeployment_info{{version=\"v{n}\",previous_version=\"\",strategy=\"rolling\",color=\"\",phase=\"complete\"}} 1\n\
                 # TYPE deployment_timestamp_seconds gauge\ndeployment_timestamp_seconds {}",
                e.stamp
            ),
        );
        scraped(
            e.prometheus,
            r#"deployment_timestamp_seconds{service="search"}"#,
            e.stamp as f64,
        );
    };
    let legacy_backup = |e: &mut Estate| {
        e.stamp += 1;
        post(
            e.pgw,
            "backup",
            &[("target", "legacy-db")],
            &format!(
                "# TYPE backup_last_success_timestamp_seconds gauge\nbackup_last_success_timestamp_seconds{{tier=\"standard\"}} {}",
                e.stamp
            ),
        );
        scraped(
            e.prometheus,
            r#"backup_last_success_timestamp_seconds{target="legacy-db"}"#,
            e.stamp as f64,
        );
    };
    search_stamp(&mut e, 1);
    legacy_backup(&mut e);
    pause();
    e.deploy("checkout", "v2", 2.0);
    e.backup_run("orders-db", "success", 2.0);
    search_stamp(&mut e, 2);
    legacy_backup(&mut e);
    pause();
    // The canary: one deploy, three stamps.
    e.deploy("checkout", "v3", 3.0);
    e.backup_run("orders-db", "failure", 1.0);
    e.backup_run("archive-db", "success", 121.0);
    e.deploy("billing", "v9", 42.0);
    search_stamp(&mut e, 3);
    legacy_backup(&mut e);
    pause();
    e.restamp("checkout", 50);
    e.backup_run("orders-db", "success", 3.0);
    search_stamp(&mut e, 4);
    pause();
    e.restamp("checkout", 100);
    pause();
    e.deploy("checkout", "v4", 4.0);
    pause();
    e.deploy("checkout", "v5", 5.0);
    pause();
    e.deploy("checkout", "v6", 6.0);
    pause();
    // Its first rollback: the series appears at 1.
    e.stamp += 1;
    post(
        &pgw,
        "deploy",
        &[("service", "checkout"), ("environment", "production")],
        &format!(
            "# TYPE deployment_rollbacks_total counter\ndeployment_rollbacks_total 1\n\
             # TYPE deployment_timestamp_seconds gauge\ndeployment_timestamp_seconds {}",
            e.stamp
        ),
    );
    scraped(
        &prometheus,
        r#"deployment_rollbacks_total{service="checkout"}"#,
        1.0,
    );

    // increase() extrapolates a series' observed increase by up to about
    // 1.1 scrape intervals at each end: 5 increases over 40 one-second
    // samples stay within 0.3 of 5, and round to it.
    let settle = Duration::from_secs(45);
    if let Some(rest) = settle.checked_sub(born.elapsed()) {
        std::thread::sleep(rest);
    }

    // --- Cross-checks with PromQL: what the old ways read ---------------
    let q = |expr: String| value(&prometheus, &expr);
    assert_eq!(
        q(format!(
            r#"changes(deployment_timestamp_seconds{{service="checkout"}}[{WINDOW}])"#
        )),
        Some(8.0),
        "changes() counts each re-stamp and the rollback's stamp, and misses the first"
    );
    assert_eq!(
        q(format!(
            r#"round(increase(deployments_total{{service="checkout"}}[{WINDOW}]))"#
        )),
        Some(5.0),
        "increase() alone misses the first deploy"
    );
    assert_eq!(
        q(format!(
            r#"increase(deployment_rollbacks_total{{service="checkout"}}[{WINDOW}])"#
        )),
        Some(0.0),
        "increase() alone misses the first rollback"
    );
    // The counters as pushed: each series born during the test holds its
    // whole count.
    assert_eq!(
        q(r#"deployments_total{service="checkout"}"#.into()),
        Some(6.0)
    );
    assert_eq!(
        q(r#"backup_runs_total{target="new-db",result="failure"}"#.into()),
        Some(1.0)
    );
    assert_eq!(
        q(r#"backup_runs_total{target="new-db",result="success"}"#.into()),
        None,
        "the failing job pushed its result only"
    );
    assert_eq!(
        q(format!(
            r#"changes(deployment_timestamp_seconds{{service="search"}}[{WINDOW}])"#
        )),
        Some(3.0)
    );

    // --- opsdeck's feed --------------------------------------------------
    let source = PrometheusSource::new(
        Endpoint::plain(
            "prometheus",
            reqwest::Url::parse(&prometheus.url()).unwrap(),
        ),
        &Config::default(),
    )
    .unwrap();
    let now = chrono::Utc::now();
    let deployments = source.deployments(now).await.unwrap().value;
    let counts = |service: &str| {
        let d = deployments
            .iter()
            .find(|d| d.service == service && d.environment == "production")
            .unwrap_or_else(|| panic!("{service} in {deployments:#?}"));
        let w = d
            .window
            .unwrap_or_else(|| panic!("{service} counted: {d:?}"));
        (w.deploys, w.rollbacks)
    };
    assert_eq!(counts("checkout"), (6, Some(1)), "checkout");
    assert_eq!(counts("billing"), (1, None), "billing's 41 have no dates");
    assert_eq!(counts("search"), (3, None), "search, by its timestamp");

    let backups = source.backups(now).await.unwrap().value;
    let runs = |target: &str| {
        let b = backups
            .iter()
            .find(|b| b.target == target)
            .unwrap_or_else(|| panic!("{target} in {backups:#?}"));
        let r = b.runs.unwrap_or_else(|| panic!("{target} counted: {b:?}"));
        (r.succeeded, r.failed)
    };
    assert_eq!(runs("orders-db"), (3, 1), "orders-db");
    assert_eq!(runs("new-db"), (0, 1), "new-db's first run failed");
    assert_eq!(runs("archive-db"), (1, 0), "archive-db's 123 have no dates");
    assert_eq!(runs("legacy-db"), (2, 0), "legacy-db, by its timestamp");
    let new_db = backups.iter().find(|b| b.target == "new-db").unwrap();
    assert_eq!(new_db.last_success, None, "new-db never succeeded");

    // --- The KPIs `opsdeck status --json` gives from them ----------------
    let status = status_json(&prometheus, &alertmanager);
    let kpi = |id: &str| -> &Value {
        status["kpis"]
            .as_array()
            .expect("kpis")
            .iter()
            .find(|k| k["id"] == id)
            .unwrap_or_else(|| panic!("no KPI {id}: {status:#}"))
    };
    let number = |id: &str| {
        kpi(id)["value"]
            .as_f64()
            .unwrap_or_else(|| panic!("{id} has a value: {:#}", kpi(id)))
    };
    // Rollbacks ÷ deploys where both are counted: checkout's 1 of 6.
    let cfr = number("change_failure_rate");
    assert!((cfr - 1.0 / 6.0).abs() < 1e-9, "change failure rate {cfr}");
    // Runs that succeeded ÷ runs: (3 + 0 + 1 + 2) ÷ (4 + 1 + 1 + 2).
    let success = number("backup_success");
    assert!(
        (success - 6.0 / 8.0).abs() < 1e-9,
        "backup success {success}"
    );
    // 6 + 1 + 3 deploys over the window's days, or over the data it
    // covers where the KPI says so.
    let frequency = number("deploy_frequency");
    let days = kpi("deploy_frequency")["covered_seconds"]
        .as_f64()
        .unwrap_or(30.0 * 86_400.0)
        / 86_400.0;
    assert!(
        (frequency * days - 10.0).abs() < 1e-6,
        "deploy frequency {frequency}/day over {days} days: {:#}",
        kpi("deploy_frequency")
    );
}

/// `opsdeck status --json` on this Prometheus and Alertmanager.
fn status_json(prometheus: &Prometheus, alertmanager: &Alertmanager) -> Value {
    let dir = TempDir::new("counting");
    let config = dir.write(
        "config.toml",
        &format!(
            "service_label = \"service\"\n\n[[prometheus]]\nname = \"prometheus\"\nurl = \"{}\"\n\n\
             [[alertmanager]]\nname = \"alertmanager\"\nurl = \"{}\"\n",
            prometheus.url(),
            alertmanager.url()
        ),
    );
    dir.status_json(&config).0
}
