//! Prometheus (Debian's `prometheus` 2.42), and the PromQL helpers shared
//! with VictoriaMetrics.

use std::process::Command;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};

use super::http::{http_get, shorten, url_with_query};
use super::process::{Server, TempDir, wait_until_or};

/// How often `wait_for` polls, and for how long.
pub const QUERY_POLL: Duration = Duration::from_millis(200);
pub const QUERY_TIMEOUT: Duration = Duration::from_secs(30);

/// One scrape target: `(job_name, "127.0.0.1:port", honor_labels)`.
/// Entries sharing a job name become one scrape config with several targets.
pub type ScrapeTarget = (String, String, bool);

/// Builds a [`ScrapeTarget`] from borrowed strings.
pub fn scrape(job: &str, target: &str, honor_labels: bool) -> ScrapeTarget {
    (job.to_owned(), target.to_owned(), honor_labels)
}

/// What goes into prometheus.yml (and onto the command line).
#[derive(Clone, Debug)]
pub struct PrometheusConfig {
    pub scrape: Vec<ScrapeTarget>,
    /// A rules file (YAML, `groups: ...`), written to `<dir>/rules.yml`.
    pub rule_files_text: Option<String>,
    /// Alertmanagers to send alerts to, as "127.0.0.1:port".
    pub alertmanagers: Vec<String>,
    /// Default "1s".
    pub scrape_interval: String,
    /// Default "1s".
    pub evaluation_interval: String,
    /// More command-line flags, e.g. "--query.lookback-delta=1m".
    pub extra_args: Vec<String>,
    /// Whole scrape configs (a metrics path, params), as JSON; every
    /// static target must be on 127.0.0.1.
    pub scrape_json: Vec<Value>,
}

impl Default for PrometheusConfig {
    fn default() -> Self {
        PrometheusConfig {
            scrape: Vec::new(),
            rule_files_text: None,
            alertmanagers: Vec::new(),
            scrape_interval: "1s".to_owned(),
            evaluation_interval: "1s".to_owned(),
            extra_args: Vec::new(),
            scrape_json: Vec::new(),
        }
    }
}

/// The `scrape_configs` list for `targets`, grouped by job name.
pub fn scrape_configs_json(targets: &[ScrapeTarget]) -> Value {
    let mut jobs: Vec<(&str, bool, Vec<&str>)> = Vec::new();
    for (job, target, honor_labels) in targets {
        assert!(
            target.starts_with("127.0.0.1:"),
            "scrape targets must be on 127.0.0.1, not {target:?}"
        );
        match jobs.iter_mut().find(|(name, _, _)| name == job) {
            Some((_, honor, list)) => {
                assert_eq!(
                    *honor, *honor_labels,
                    "job {job:?} is listed with both honor_labels values"
                );
                list.push(target);
            }
            None => jobs.push((job, *honor_labels, vec![target])),
        }
    }
    Value::Array(
        jobs.into_iter()
            .map(|(job, honor_labels, targets)| {
                json!({
                    "job_name": job,
                    "honor_labels": honor_labels,
                    "static_configs": [{ "targets": targets }],
                })
            })
            .collect(),
    )
}

/// A running Prometheus; killed on drop.
#[derive(Debug)]
pub struct Prometheus {
    server: Server,
}

impl Prometheus {
    /// Writes prometheus.yml (as JSON, which YAML parsers accept) and the
    /// rules file into a fresh directory, starts Prometheus on a free port
    /// and waits until `/-/ready` answers 200.
    ///
    /// Flags: `--storage.tsdb.retention.time=10y` (so backfilled blocks are
    /// kept) and `--rules.alert.resend-delay=1s` (an alert that fires before
    /// the notifier has loaded its Alertmanager list is re-sent a second
    /// later, not a minute later).
    ///
    /// Ready is not scraping: Prometheus 2.42 hands targets and Alertmanagers
    /// from discovery over every 5 s only, so the first scrape comes ~5.7 s
    /// after the start. Poll with `wait_for`.
    pub fn start(config: PrometheusConfig) -> Prometheus {
        Prometheus::start_in(TempDir::new("prometheus"), config)
    }

    /// Like [`Prometheus::start`], on a TSDB that already holds the samples
    /// of `openmetrics_text`, turned into blocks by
    /// `promtool tsdb create-blocks-from openmetrics` before the start.
    ///
    /// The text must be OpenMetrics: every sample has a timestamp, in
    /// *seconds* (fractions allowed; milliseconds are taken as a date
    /// thousands of years ahead, which this helper refuses), and the text
    /// ends with `# EOF`. Counters declared `# TYPE x counter` should be
    /// named `x_total`. Remember the 5-minute lookback: an instant query at
    /// time T sees a series only if it has a sample in [T-5m, T], so a series
    /// whose last backfilled sample is older than 5 minutes is absent from
    /// "now" queries (query it with `query_at`).
    pub fn start_with_backfill(config: PrometheusConfig, openmetrics_text: &str) -> Prometheus {
        let dir = TempDir::new("prometheus");
        let text = openmetrics_text.trim_end();
        assert!(
            text.ends_with("# EOF"),
            "backfill text must be OpenMetrics ending with \"# EOF\""
        );
        check_seconds(text);
        let input = dir.write("backfill.om", &format!("{text}\n"));
        let data = dir.join("data");
        // Without --max-block-duration promtool cuts a block every 2 hours:
        // 30 days of history are 360 blocks and 12 s of promtool on 2 cores.
        // With 31-day blocks the same history takes 0.2 s. (The flag is
        // hidden from --help but supported.)
        let output = Command::new("promtool")
            .args(["tsdb", "create-blocks-from", "openmetrics", "--quiet"])
            .arg("--max-block-duration=744h")
            .arg(&input)
            .arg(&data)
            .current_dir(dir.path())
            .output()
            .unwrap_or_else(|e| panic!("cannot run promtool (Debian package prometheus): {e}"));
        assert!(
            output.status.success(),
            "promtool tsdb create-blocks-from openmetrics failed ({}):\n{}{}",
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        Prometheus::start_in(dir, config)
    }

    fn start_in(dir: TempDir, config: PrometheusConfig) -> Prometheus {
        let mut yml = json!({
            "global": {
                "scrape_interval": config.scrape_interval,
                "evaluation_interval": config.evaluation_interval,
            },
            "scrape_configs": scrape_configs_json(&config.scrape),
        });
        for extra in &config.scrape_json {
            let targets = extra["static_configs"]
                .as_array()
                .into_iter()
                .flatten()
                .flat_map(|c| c["targets"].as_array().into_iter().flatten());
            for t in targets {
                assert!(
                    t.as_str().is_some_and(|t| t.starts_with("127.0.0.1:")),
                    "scrape targets must be on 127.0.0.1, not {t}"
                );
            }
            yml["scrape_configs"]
                .as_array_mut()
                .expect("a list")
                .push(extra.clone());
        }
        if let Some(rules) = &config.rule_files_text {
            let path = dir.write("rules.yml", rules);
            yml["rule_files"] = json!([path]);
        }
        if !config.alertmanagers.is_empty() {
            for am in &config.alertmanagers {
                assert!(
                    am.starts_with("127.0.0.1:"),
                    "Alertmanagers must be on 127.0.0.1, not {am:?}"
                );
            }
            yml["alerting"] = json!({
                "alertmanagers": [{
                    "api_version": "v2",
                    "static_configs": [{ "targets": config.alertmanagers }],
                }],
            });
        }
        let config_file = dir.write(
            "prometheus.yml",
            &serde_json::to_string_pretty(&yml).expect("JSON serialises"),
        );
        let data = dir.join("data");
        let extra = config.extra_args.clone();
        let server = Server::launch("prometheus", dir, 1, "/-/ready", move |ports| {
            let mut command = Command::new("prometheus");
            command
                .arg(format!("--config.file={}", config_file.display()))
                .arg(format!("--storage.tsdb.path={}", data.display()))
                .arg("--storage.tsdb.retention.time=10y")
                .arg(format!("--web.listen-address=127.0.0.1:{}", ports[0]))
                .arg("--rules.alert.resend-delay=1s")
                .args(&extra);
            command
        });
        Prometheus { server }
    }

    /// `http://127.0.0.1:<port>`: the base URL of the Prometheus API.
    pub fn url(&self) -> String {
        self.server.url()
    }

    /// `127.0.0.1:<port>`.
    pub fn addr(&self) -> String {
        self.server.addr()
    }

    pub fn server(&self) -> &Server {
        &self.server
    }

    pub fn server_mut(&mut self) -> &mut Server {
        &mut self.server
    }

    /// GET /api/v1/query at the server's "now"; the whole envelope,
    /// whatever the HTTP status (errors come as JSON envelopes too).
    pub fn query(&self, expr: &str) -> Value {
        promql_query(&self.url(), expr, None)
    }

    /// GET /api/v1/query?time=<unix seconds>.
    pub fn query_at(&self, expr: &str, unix_seconds: f64) -> Value {
        promql_query(&self.url(), expr, Some(unix_seconds))
    }

    /// Polls `expr` every 200 ms, up to 30 s, until `pred(data.result)`
    /// holds; returns that `data.result` array. Panics with the last
    /// response and the log tail.
    pub fn wait_for(&self, expr: &str, what: &str, pred: impl Fn(&Value) -> bool) -> Value {
        promql_wait_for(&self.url(), expr, what, pred, || self.server.log_context())
    }

    /// GET <url><path> as JSON (e.g. "/api/v1/targets", "/api/v1/alerts").
    pub fn get_json(&self, path: &str) -> Value {
        http_get(&format!("{}{path}", self.url())).json()
    }
}

/// GET `<base>/api/v1/query`; the parsed envelope, whatever the status.
pub fn promql_query(base: &str, expr: &str, unix_seconds: Option<f64>) -> Value {
    let time = unix_seconds.map(|t| format!("{t:.3}"));
    let mut pairs = vec![("query", expr)];
    if let Some(time) = &time {
        pairs.push(("time", time));
    }
    http_get(&url_with_query(&format!("{base}/api/v1/query"), &pairs)).json()
}

/// Polls `<base>/api/v1/query` (see [`Prometheus::wait_for`]); `context`
/// adds e.g. the server's log tail to the panic message.
pub fn promql_wait_for(
    base: &str,
    expr: &str,
    what: &str,
    pred: impl Fn(&Value) -> bool,
    context: impl FnOnce() -> String,
) -> Value {
    wait_until_or(
        &format!("{what} (query `{expr}` on {base})"),
        QUERY_TIMEOUT,
        QUERY_POLL,
        || {
            let response = promql_query(base, expr, None);
            let result = &response["data"]["result"];
            if response["status"] == "success" && pred(result) {
                Ok(result.clone())
            } else {
                Err(format!(
                    "last response: {}",
                    shorten(&response.to_string(), 3000)
                ))
            }
        },
        context,
    )
}

/// The values of `data.result[*].value[1]` as numbers (an instant vector).
pub fn sample_values(result: &Value) -> Vec<f64> {
    result
        .as_array()
        .map(|series| {
            series
                .iter()
                .filter_map(|s| s["value"][1].as_str()?.parse().ok())
                .collect()
        })
        .unwrap_or_default()
}

/// Now, in Unix seconds.
pub fn unix_now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("the clock is after 1970")
        .as_secs_f64()
}

/// Panics when a sample's timestamp looks like milliseconds.
fn check_seconds(text: &str) {
    let limit = unix_now() + 10.0 * 365.0 * 86400.0;
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if let Some(ts) = line
            .rsplit(char::is_whitespace)
            .next()
            .and_then(|t| t.parse::<f64>().ok())
        {
            assert!(
                ts < limit,
                "backfill timestamps are in seconds in OpenMetrics, this looks like milliseconds: {line}"
            );
        }
    }
}
