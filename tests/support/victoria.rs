//! VictoriaMetrics single-node (Debian's `victoria-metrics` 1.79).
//!
//! Base URL for a Prometheus-compatible client: `url()`, the root, exactly
//! as for Prometheus (`<url>/api/v1/query`, `/api/v1/query_range`,
//! `/api/v1/series`...). Single-node VictoriaMetrics serves the same API
//! under `/prometheus` too, so `prometheus_url()` is a handy base URL *with
//! a path* for testing that a client keeps the path when it joins
//! `/api/v1/query` (as Mimir's `/prometheus` or vmselect's
//! `/select/0/prometheus` need).
//!
//! Differences from Prometheus a client will meet:
//! * `value[0]` timestamps are integers when whole (`[1795315509,"42"]`),
//!   not always fractional;
//! * by default a query at "now" ignores the last 30 s of samples
//!   (`-search.latencyOffset`): this harness sets it to 0 s, or freshly
//!   imported data would stay invisible for 30 s;
//! * `/api/v1/import/prometheus` takes timestamps in *milliseconds*
//!   (promtool's OpenMetrics backfill takes seconds);
//! * written rows and new series become searchable only after a flush: a
//!   freshly scraped series shows up in queries about 10 s after its first
//!   sample. `import_prometheus` and every poll of `wait_for` ask for one
//!   (`/internal/force_flush`); wait with `wait_for` before pointing
//!   opsdeck at the data;
//! * samples older than `-retentionPeriod` (1 month by default; 10 years
//!   here) are dropped silently.

use std::process::Command;

use serde_json::{Value, json};

use super::http::{REQUEST_TIMEOUT, http_get, http_request};
use super::process::{Server, TempDir};
use super::prometheus::{ScrapeTarget, promql_query, promql_wait_for, scrape_configs_json};

/// A running VictoriaMetrics; killed on drop.
#[derive(Debug)]
pub struct VictoriaMetrics {
    server: Server,
}

impl VictoriaMetrics {
    /// Starts with nothing to scrape; load data with `import_prometheus`.
    /// Ready when `/health` answers 200.
    pub fn start() -> VictoriaMetrics {
        VictoriaMetrics::start_inner(None)
    }

    /// Starts and scrapes `targets` every second (`-promscrape.config`,
    /// the same `scrape_configs` as Prometheus gets).
    pub fn start_scraping(targets: Vec<ScrapeTarget>) -> VictoriaMetrics {
        VictoriaMetrics::start_inner(Some(targets))
    }

    fn start_inner(targets: Option<Vec<ScrapeTarget>>) -> VictoriaMetrics {
        let dir = TempDir::new("victoria-metrics");
        let scrape_file = targets.map(|targets| {
            let config = json!({
                "global": { "scrape_interval": "1s" },
                "scrape_configs": scrape_configs_json(&targets),
            });
            dir.write(
                "scrape.yml",
                &serde_json::to_string_pretty(&config).expect("JSON serialises"),
            )
        });
        let data = dir.join("data");
        let server = Server::launch("victoria-metrics", dir, 1, "/health", move |ports| {
            let mut command = Command::new("victoria-metrics");
            command
                .arg(format!("-httpListenAddr=127.0.0.1:{}", ports[0]))
                .arg(format!("-storageDataPath={}", data.display()))
                .arg("-retentionPeriod=10y")
                .arg("-search.latencyOffset=0s")
                .arg("-search.disableCache");
            if let Some(file) = &scrape_file {
                command.arg(format!("-promscrape.config={}", file.display()));
            }
            command
        });
        VictoriaMetrics { server }
    }

    /// `http://127.0.0.1:<port>`: the base URL for a Prometheus client.
    pub fn url(&self) -> String {
        self.server.url()
    }

    /// `http://127.0.0.1:<port>/prometheus`: the same API under a path.
    pub fn prometheus_url(&self) -> String {
        format!("{}/prometheus", self.url())
    }

    pub fn addr(&self) -> String {
        self.server.addr()
    }

    pub fn server(&self) -> &Server {
        &self.server
    }

    pub fn server_mut(&mut self) -> &mut Server {
        &mut self.server
    }

    /// POST text exposition lines to /api/v1/import/prometheus (optional
    /// timestamps in milliseconds; none means "now"), then asks for a flush
    /// (/internal/force_flush) so they become searchable. Panics on a
    /// non-2xx answer. Poll with `wait_for` rather than querying at once.
    pub fn import_prometheus(&self, text: &str) {
        let mut body = text.to_owned();
        if !body.ends_with('\n') {
            body.push('\n');
        }
        let url = format!("{}/api/v1/import/prometheus", self.url());
        let response = http_request(
            "POST",
            &url,
            Some("text/plain"),
            Some(body),
            REQUEST_TIMEOUT,
        )
        .unwrap_or_else(|e| panic!("import into VictoriaMetrics failed: {e}"));
        assert!(
            response.is_success(),
            "VictoriaMetrics refused the import: HTTP {}: {}",
            response.status,
            response.body
        );
        self.flush();
    }

    /// GET /internal/force_flush: makes recently written samples and new
    /// series searchable now. Without it VictoriaMetrics 1.79 shows a newly
    /// scraped series only about 10 s after its first sample.
    pub fn flush(&self) {
        let flush = http_get(&format!("{}/internal/force_flush", self.url()));
        assert!(
            flush.is_success(),
            "force_flush: HTTP {}: {}",
            flush.status,
            flush.body
        );
    }

    /// GET /api/v1/query (the whole envelope).
    pub fn query(&self, expr: &str) -> Value {
        promql_query(&self.url(), expr, None)
    }

    /// GET /api/v1/query?time=<unix seconds>.
    pub fn query_at(&self, expr: &str, unix_seconds: f64) -> Value {
        promql_query(&self.url(), expr, Some(unix_seconds))
    }

    /// As [`super::Prometheus::wait_for`], with a flush at each poll
    /// (see [`VictoriaMetrics::flush`]).
    pub fn wait_for(&self, expr: &str, what: &str, pred: impl Fn(&Value) -> bool) -> Value {
        promql_wait_for(
            &self.url(),
            expr,
            what,
            |result| {
                self.flush();
                pred(result)
            },
            || self.server.log_context(),
        )
    }
}
