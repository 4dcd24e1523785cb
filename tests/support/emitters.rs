//! Emitters: real HTTP apps instrumented by real metric libraries and
//! servers, whose error ratio is known by construction, for tests that
//! scrape them with a real Prometheus.
//!
//! | kind | what runs | Prometheus scrapes |
//! | --- | --- | --- |
//! | `prometheus_client` | Python stdlib server, hand-instrumented with prometheus-client | the app's `/metrics` |
//! | `flask_exporter` | Flask + prometheus-flask-exporter | the app's `/metrics` |
//! | `django` | Django + django-prometheus (single-file settings) | the app's `/metrics` |
//! | `otel_old` | Flask + opentelemetry-instrumentation-flask, SDK, Prometheus exporter | the exporter's own port |
//! | `otel_stable` | the same with `OTEL_SEMCONV_STABILITY_OPT_IN=http` | the exporter's own port |
//! | `express` | Express + express-prom-bundle (prom-client) | the app's `/metrics` |
//! | `caddy` | Debian's Caddy 2.6, reverse proxy in front of a `prometheus_client` app | Caddy's admin `/metrics` |
//! | `haproxy` | Debian's HAProxy 2.6, backend named after the service, in front of a `prometheus_client` app | the `prometheus-exporter` service on a frontend of its own |
//! | `blackbox` | Debian's blackbox_exporter 0.23 probing a `prometheus_client` app | `/probe` with `module` and `target` parameters |
//!
//! What each one exposes, exactly: `docs/emitters-observed.md`. The sources
//! are in `tests/emitters/`.
//!
//! # Failures by construction
//! Every app counts the requests to each path under `/work` separately,
//! from 0; the k-th request to a path (k = 1, 2, ...) answers HTTP 500 when
//! `k % fail_every == 0` (never when `fail_every` is 0), any other 200, after
//! sleeping `latency_ms`. [`Emitter::drive`] sends requests to `/work` only,
//! one after the other, so n requests give `n / fail_every` failures (over
//! all calls: the counter does not restart between calls); it asserts that.
//! Readiness probes and scrapes never touch `/work` (the blackbox exporter's
//! scrapes probe `/work/scrape`, a counter of its own), so they do not shift
//! it; they may show up in an app's own metrics under another path or view
//! (django-prometheus counts its own `/metrics`, see the doc).
//!
//! # Dependencies
//! Debian's `caddy`, `haproxy`, `prometheus-blackbox-exporter` (installed by
//! `.ci/run`), and what `scripts/test-deps.sh` installs: a Python venv at
//! `${CARGO_TARGET_DIR:-target}/opsdeck-test-venv` (or `$OPSDECK_TEST_VENV`)
//! from `tests/emitters/requirements.txt`, and `tests/emitters/node/node_modules`
//! from its `package-lock.json`. The harness runs the script once per test
//! process (quick when nothing changed), then checks both against their pin
//! files; one still missing or stale panics with what went wrong.
//!
//! # Everything on 127.0.0.1
//! Each process is a [`Server`]: free ports, its own temporary directory and
//! log, killed on drop, and the `/proc` check that it listens on 127.0.0.1
//! only, made once every port of the process is bound (each app binds the
//! port that is not probed before the one that is; Caddy binds its admin
//! port before its site, which is probed). The environment's `OTEL_*` and
//! `PROMETHEUS_*` variables are not passed on, so the output does not depend
//! on the caller's shell.
//!
//! # Startup, measured on the 2-core dev machine (debug build of the tests)
//! From spawn to ready: `prometheus_client` 0.11-0.17 s, `flask_exporter`
//! ~0.2 s, `django` ~0.24 s, `express` 0.24-0.3 s, the OTel kinds 0.25-0.4 s;
//! Caddy, HAProxy and the blackbox exporter 0.08-0.12 s after their backend.
//! `drive(50)` with the default 20 ms latency takes ~1.2 s. The whole
//! `emitters_selftest` (every kind, then all but blackbox scraped by one
//! Prometheus) takes ~15 s, most of it waiting for Prometheus's first scrape.

use std::fs;
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;
use std::time::Duration;

use serde_json::{Value, json};

use super::http::{http_request, shorten};
use super::process::{READY_TIMEOUT, Server, TempDir, wait_until_or};

/// At most this many requests in one [`Emitter::drive`] call.
pub const MAX_DRIVE: u64 = 100_000;
/// The blackbox module the harness configures and probes with.
pub const BLACKBOX_MODULE: &str = "http_2xx";
/// The path the blackbox exporter's scrapes probe (its own failure counter).
pub const BLACKBOX_SCRAPE_PATH: &str = "/work/scrape";
/// The HAProxy frontend that carries the traffic (the exporter is on the
/// frontend "prometheus").
pub const HAPROXY_FRONTEND: &str = "http-in";
/// The backend's name in HAProxy when no service name is given.
pub const HAPROXY_DEFAULT_BACKEND: &str = "app";
/// The variable overriding where the Python venv is.
pub const VENV_ENV: &str = "OPSDECK_TEST_VENV";

/// The kinds of emitter; see the module documentation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum EmitterKind {
    /// Python prometheus-client, instrumented by hand.
    PrometheusClient,
    /// Flask with prometheus-flask-exporter.
    Flask,
    /// Django with django-prometheus.
    Django,
    /// Flask with OpenTelemetry, old HTTP semantic conventions.
    OtelOld,
    /// Flask with OpenTelemetry, `OTEL_SEMCONV_STABILITY_OPT_IN=http`.
    OtelStable,
    /// Express with express-prom-bundle.
    Express,
    /// Caddy as a reverse proxy in front of a `prometheus_client` app.
    Caddy,
    /// HAProxy in front of a `prometheus_client` app.
    Haproxy,
    /// The blackbox exporter probing a `prometheus_client` app.
    Blackbox,
}

impl EmitterKind {
    pub const ALL: [EmitterKind; 9] = [
        EmitterKind::PrometheusClient,
        EmitterKind::Flask,
        EmitterKind::Django,
        EmitterKind::OtelOld,
        EmitterKind::OtelStable,
        EmitterKind::Express,
        EmitterKind::Caddy,
        EmitterKind::Haproxy,
        EmitterKind::Blackbox,
    ];

    /// "prometheus_client", "flask_exporter", "django", "otel_old",
    /// "otel_stable", "express", "caddy", "haproxy", "blackbox".
    pub fn name(self) -> &'static str {
        match self {
            EmitterKind::PrometheusClient => "prometheus_client",
            EmitterKind::Flask => "flask_exporter",
            EmitterKind::Django => "django",
            EmitterKind::OtelOld => "otel_old",
            EmitterKind::OtelStable => "otel_stable",
            EmitterKind::Express => "express",
            EmitterKind::Caddy => "caddy",
            EmitterKind::Haproxy => "haproxy",
            EmitterKind::Blackbox => "blackbox",
        }
    }

    /// The kind called `name` (see [`EmitterKind::name`]).
    pub fn from_name(name: &str) -> Option<EmitterKind> {
        EmitterKind::ALL.into_iter().find(|k| k.name() == name)
    }

    /// Whether another process (a `prometheus_client` app) serves the
    /// requests behind this one.
    pub fn has_backend(self) -> bool {
        matches!(
            self,
            EmitterKind::Caddy | EmitterKind::Haproxy | EmitterKind::Blackbox
        )
    }
}

/// How an emitter behaves.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EmitterOptions {
    /// Every `fail_every`-th request to a path fails with HTTP 500; 0: none.
    pub fail_every: u32,
    /// Each request to `/work` sleeps this long before answering.
    pub latency_ms: u32,
    /// `OTEL_SERVICE_NAME` for the OTel kinds (unset by default, so
    /// `service_name="unknown_service:python"`), the backend's name for
    /// HAProxy ([`HAPROXY_DEFAULT_BACKEND`] by default); the other kinds have
    /// no notion of it and ignore it.
    pub service_name: Option<String>,
}

impl Default for EmitterOptions {
    /// Every 10th request fails, 20 ms each, no service name.
    fn default() -> Self {
        EmitterOptions {
            fail_every: 10,
            latency_ms: 20,
            service_name: None,
        }
    }
}

/// A running emitter (and its backend app, for the proxies and the blackbox
/// exporter); every process is killed on drop.
#[derive(Debug)]
pub struct Emitter {
    kind: EmitterKind,
    options: EmitterOptions,
    server: Server,
    /// The port of the HTTP traffic (`/work`), for all but the blackbox
    /// exporter (whose traffic goes to its backend).
    app_port: u16,
    /// The port Prometheus scrapes.
    metrics_port: u16,
    // After `server`: fields drop in order, so a proxy goes before its app.
    backend: Option<Box<Emitter>>,
    /// Requests sent to `/work` so far and how many failed; held during a
    /// `drive`, so concurrent calls take turns.
    driven: Mutex<(u64, u64)>,
}

impl Emitter {
    /// Starts an emitter of `kind` on free 127.0.0.1 ports and waits until it
    /// is ready (its metrics answer, its traffic port listens). For Caddy,
    /// HAProxy and the blackbox exporter, a `prometheus_client` app with the
    /// same `fail_every` and `latency_ms` is started first as the backend.
    ///
    /// Panics when the Python venv or the Node modules are missing or stale
    /// (run `scripts/test-deps.sh`), or when a process fails to start (with
    /// the last lines of its log).
    pub fn start(kind: EmitterKind, options: EmitterOptions) -> Emitter {
        let emitter = match kind {
            EmitterKind::PrometheusClient | EmitterKind::Flask | EmitterKind::Django => {
                start_python_app(kind, &options)
            }
            EmitterKind::OtelOld | EmitterKind::OtelStable => start_otel(kind, &options),
            EmitterKind::Express => start_express(&options),
            EmitterKind::Caddy => start_caddy(&options),
            EmitterKind::Haproxy => start_haproxy(&options),
            EmitterKind::Blackbox => start_blackbox(&options),
        };
        if kind != EmitterKind::Blackbox {
            emitter.wait_for_app_port();
        }
        emitter
    }

    pub fn kind(&self) -> EmitterKind {
        self.kind
    }

    pub fn options(&self) -> &EmitterOptions {
        &self.options
    }

    /// The service name in force: the option, or HAProxy's default backend
    /// name; `None` where the kind has none.
    pub fn service_name(&self) -> Option<&str> {
        match (&self.options.service_name, self.kind) {
            (Some(name), _) => Some(name),
            (None, EmitterKind::Haproxy) => Some(HAPROXY_DEFAULT_BACKEND),
            (None, _) => None,
        }
    }

    /// `127.0.0.1:<port>`: what Prometheus scrapes (with
    /// [`Emitter::metrics_path`] and [`Emitter::metrics_params`]).
    pub fn metrics_target(&self) -> String {
        format!("127.0.0.1:{}", self.metrics_port)
    }

    /// "/metrics", or "/probe" for the blackbox exporter.
    pub fn metrics_path(&self) -> &'static str {
        if self.kind == EmitterKind::Blackbox {
            "/probe"
        } else {
            "/metrics"
        }
    }

    /// The scrape's URL parameters: none, or for the blackbox exporter
    /// `module=http_2xx` and `target=http://127.0.0.1:<app>/work/scrape`.
    pub fn metrics_params(&self) -> Vec<(String, String)> {
        match self.kind {
            EmitterKind::Blackbox => vec![
                ("module".to_owned(), BLACKBOX_MODULE.to_owned()),
                (
                    "target".to_owned(),
                    format!("{}{BLACKBOX_SCRAPE_PATH}", self.app_url()),
                ),
            ],
            _ => Vec::new(),
        }
    }

    /// The whole URL a scrape asks for, parameters included.
    pub fn metrics_url(&self) -> String {
        let base = format!("http://{}{}", self.metrics_target(), self.metrics_path());
        let params = self.metrics_params();
        if params.is_empty() {
            return base;
        }
        let pairs: Vec<(&str, &str)> = params
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        super::http::url_with_query(&base, &pairs)
    }

    /// One entry of prometheus.yml's `scrape_configs` for this emitter
    /// (`metrics_path` and `params` included, which the blackbox exporter
    /// needs; `PrometheusConfig::scrape` has no room for them).
    pub fn scrape_config(&self, job: &str) -> Value {
        let mut config = json!({
            "job_name": job,
            "metrics_path": self.metrics_path(),
            "static_configs": [{ "targets": [self.metrics_target()] }],
        });
        let params = self.metrics_params();
        if !params.is_empty() {
            let mut map = serde_json::Map::new();
            for (key, value) in params {
                map.insert(key, json!([value]));
            }
            config["params"] = Value::Object(map);
        }
        config
    }

    /// GETs [`Emitter::metrics_url`] (what a scrape sees) and returns the
    /// exposition text; panics unless it answers 200. For the blackbox
    /// exporter this is a probe of `/work/scrape`.
    pub fn fetch_metrics(&self) -> String {
        let url = self.metrics_url();
        let response = http_request("GET", &url, None, None, request_timeout(&self.options))
            .unwrap_or_else(|e| panic!("{}: GET {url}: {e}\n{}", self.kind.name(), self.context()));
        assert_eq!(
            response.status,
            200,
            "{}: GET {url}: {}\n{}",
            self.kind.name(),
            shorten(&response.body, 2000),
            self.context()
        );
        response.body
    }

    /// `http://127.0.0.1:<port>`, where the traffic goes: the app, or the
    /// proxy in front of it; for the blackbox exporter, the app it probes.
    pub fn app_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.app_port)
    }

    /// `<app_url>/work`, the path [`Emitter::drive`] asks for.
    pub fn work_url(&self) -> String {
        format!("{}/work", self.app_url())
    }

    /// The backend app of Caddy, HAProxy and the blackbox exporter.
    pub fn backend(&self) -> Option<&Emitter> {
        self.backend.as_deref()
    }

    /// The emitter's process (for the blackbox exporter, the exporter).
    pub fn server(&self) -> &Server {
        &self.server
    }

    pub fn server_mut(&mut self) -> &mut Server {
        &mut self.server
    }

    /// Sends exactly `n` GET requests to `/work`, one after the other, each
    /// bounded by a timeout, and returns how many failed (HTTP 500). For the
    /// blackbox exporter each request is a probe of the app's `/work`
    /// through `/probe`, and a failure is `probe_success 0`.
    ///
    /// Panics on a transport error, on any other status, and unless the
    /// failures are exactly what the construction gives: `n / fail_every`
    /// when all calls so far sent a multiple of `fail_every`, in general
    /// `(before + n) / fail_every - before / fail_every`.
    pub fn drive(&self, n: u64) -> u64 {
        assert!(
            n <= MAX_DRIVE,
            "drive({n}): at most {MAX_DRIVE} requests per call"
        );
        let mut driven = self.driven.lock().unwrap_or_else(|e| e.into_inner());
        let (before, _) = *driven;
        let mut failed = 0;
        for i in 0..n {
            if !self.one_request(before + i + 1) {
                failed += 1;
            }
        }
        let expected = expected_failures(before, n, self.options.fail_every);
        assert_eq!(
            failed,
            expected,
            "{}: {failed} of {n} requests failed (after {before}), expected {expected} with fail_every {}",
            self.kind.name(),
            self.options.fail_every
        );
        driven.0 += n;
        driven.1 += failed;
        failed
    }

    /// Requests sent by [`Emitter::drive`] so far, and how many failed.
    pub fn driven(&self) -> (u64, u64) {
        *self.driven.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The last lines of this emitter's log (and its backend's), for panic
    /// messages.
    pub fn context(&self) -> String {
        let mut text = self.server.log_context();
        if let Some(backend) = &self.backend {
            text.push_str("\nbackend: ");
            text.push_str(&backend.context());
        }
        text
    }

    /// One request of `drive`: true when it succeeded. `k` is its number.
    fn one_request(&self, k: u64) -> bool {
        let timeout = request_timeout(&self.options);
        if self.kind == EmitterKind::Blackbox {
            let url = super::http::url_with_query(
                &format!("{}/probe", self.server.url()),
                &[("module", BLACKBOX_MODULE), ("target", &self.work_url())],
            );
            let response = http_request("GET", &url, None, None, timeout)
                .unwrap_or_else(|e| panic!("blackbox: probe {k}: {e}\n{}", self.context()));
            let success = exposition_sum(&response.body, "probe_success", &[]);
            let status = exposition_sum(&response.body, "probe_http_status_code", &[]);
            assert!(
                response.status == 200
                    && ((success == 1.0 && status == 200.0) || (success == 0.0 && status == 500.0)),
                "blackbox: probe {k} of {}: HTTP {}, probe_success {success}, probe_http_status_code {status}:\n{}\n{}",
                self.work_url(),
                response.status,
                shorten(&response.body, 2000),
                self.context()
            );
            return success == 1.0;
        }
        let url = self.work_url();
        let response = http_request("GET", &url, None, None, timeout).unwrap_or_else(|e| {
            panic!("{}: request {k}: {e}\n{}", self.kind.name(), self.context())
        });
        match response.status {
            200 => true,
            500 => false,
            other => panic!(
                "{}: request {k} to {url}: HTTP {other}, expected 200 or 500: {}\n{}",
                self.kind.name(),
                shorten(&response.body, 500),
                self.context()
            ),
        }
    }

    /// Waits until the traffic port accepts a connection (a bare connect:
    /// no request, so nothing is counted).
    fn wait_for_app_port(&self) {
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, self.app_port));
        wait_until_or(
            &format!("{} to listen on {addr}", self.kind.name()),
            READY_TIMEOUT,
            Duration::from_millis(25),
            || {
                TcpStream::connect_timeout(&addr, Duration::from_secs(1))
                    .map(drop)
                    .map_err(|e| format!("connect: {e}"))
            },
            || self.context(),
        );
    }
}

/// How many of the requests `before + 1 ..= before + n` fail.
pub fn expected_failures(before: u64, n: u64, fail_every: u32) -> u64 {
    if fail_every == 0 {
        return 0;
    }
    let every = u64::from(fail_every);
    (before + n) / every - before / every
}

fn request_timeout(options: &EmitterOptions) -> Duration {
    Duration::from_secs(10) + Duration::from_millis(u64::from(options.latency_ms))
}

// ---------------------------------------------------------------------------
// The exposition format, just enough for assertions
// ---------------------------------------------------------------------------

/// One sample line of the text exposition format: name, labels, value.
#[derive(Clone, Debug, PartialEq)]
pub struct ExpositionSample {
    pub name: String,
    pub labels: Vec<(String, String)>,
    pub value: f64,
}

impl ExpositionSample {
    /// The value of label `name`, if present.
    pub fn label(&self, name: &str) -> Option<&str> {
        self.labels
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// The samples of a text exposition (Prometheus text format 0.0.4 or
/// OpenMetrics): comments skipped, label values unescaped, timestamps
/// ignored. Panics on a line it cannot read.
pub fn parse_exposition(text: &str) -> Vec<ExpositionSample> {
    let mut samples = Vec::new();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        samples.push(
            parse_sample_line(line).unwrap_or_else(|| panic!("unreadable sample line: {line}")),
        );
    }
    samples
}

fn parse_sample_line(line: &str) -> Option<ExpositionSample> {
    let name_end = line
        .find(|c: char| c == '{' || c.is_whitespace())
        .unwrap_or(line.len());
    let name = line[..name_end].to_owned();
    let mut rest = &line[name_end..];
    let mut labels = Vec::new();
    if let Some(after) = rest.strip_prefix('{') {
        let mut chars = after.char_indices().peekable();
        let end;
        loop {
            // Skip separators.
            while let Some(&(_, c)) = chars.peek() {
                if c == ',' || c.is_whitespace() {
                    chars.next();
                } else {
                    break;
                }
            }
            let &(start, c) = chars.peek()?;
            if c == '}' {
                end = start + 1;
                break;
            }
            let mut key = String::new();
            for (_, c) in chars.by_ref() {
                if c == '=' {
                    break;
                }
                key.push(c);
            }
            if chars.next()?.1 != '"' {
                return None;
            }
            let mut value = String::new();
            loop {
                let (_, c) = chars.next()?;
                match c {
                    '"' => break,
                    '\\' => match chars.next()?.1 {
                        'n' => value.push('\n'),
                        other => value.push(other),
                    },
                    other => value.push(other),
                }
            }
            labels.push((key.trim().to_owned(), value));
        }
        rest = &after[end..];
    }
    let value = rest.split_whitespace().next()?;
    let value = match value {
        "+Inf" => f64::INFINITY,
        "-Inf" => f64::NEG_INFINITY,
        other => other.parse().ok()?,
    };
    Some(ExpositionSample {
        name,
        labels,
        value,
    })
}

/// The sum of the samples named exactly `name` whose labels include every
/// pair of `labels` (0 when none match).
pub fn exposition_sum(text: &str, name: &str, labels: &[(&str, &str)]) -> f64 {
    parse_exposition(text)
        .iter()
        .filter(|s| s.name == name)
        .filter(|s| labels.iter().all(|(k, v)| s.label(k) == Some(v)))
        .map(|s| s.value)
        .sum()
}

/// The distinct sample names of a text exposition, in order of appearance.
pub fn exposition_names(text: &str) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    for sample in parse_exposition(text) {
        if !names.contains(&sample.name) {
            names.push(sample.name);
        }
    }
    names
}

// ---------------------------------------------------------------------------
// Where things are
// ---------------------------------------------------------------------------

fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `tests/emitters` in the repository.
pub fn emitters_dir() -> PathBuf {
    repo_root().join("tests").join("emitters")
}

/// Where `scripts/test-deps.sh` puts the Python venv: `$OPSDECK_TEST_VENV`,
/// else `${CARGO_TARGET_DIR:-target}/opsdeck-test-venv` (a relative target
/// directory counts from the repository, as for the script).
pub fn venv_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os(VENV_ENV) {
        return PathBuf::from(dir);
    }
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("target"));
    repo_root().join(target).join("opsdeck-test-venv")
}

/// Runs `scripts/test-deps.sh` once per test process (it is idempotent
/// and quick when nothing changed), so `cargo test` on a fresh machine
/// installs what the emitters need; a failure is reported by the check
/// after it.
fn install_once() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let script = repo_root().join("scripts").join("test-deps.sh");
        match Command::new(&script).output() {
            Ok(out) if out.status.success() => {}
            Ok(out) => eprintln!(
                "[support] {} failed: {}",
                script.display(),
                String::from_utf8_lossy(&out.stderr)
            ),
            Err(e) => eprintln!("[support] cannot run {}: {e}", script.display()),
        }
    });
}

/// Panics, telling to run the script, unless `copy` has the same contents
/// as `pins` (the script leaves a copy of the pin file it installed from).
fn require_installed(what: &str, pins: &Path, copy: &Path) {
    install_once();
    let wanted = fs::read(pins).unwrap_or_else(|e| panic!("cannot read {}: {e}", pins.display()));
    match fs::read(copy) {
        Ok(installed) if installed == wanted => {}
        Ok(_) => panic!(
            "{what} is stale ({} changed since it was installed): run scripts/test-deps.sh",
            pins.display()
        ),
        Err(_) => panic!(
            "{what} is missing ({} not found): run scripts/test-deps.sh (it needs python3 with venv, npm, and PyPI and the npm registry)",
            copy.display()
        ),
    }
}

/// `<venv>/bin/python`, once checked to be installed from the current
/// `tests/emitters/requirements.txt`.
pub fn venv_python() -> PathBuf {
    let venv = venv_dir();
    require_installed(
        &format!("the Python venv {}", venv.display()),
        &emitters_dir().join("requirements.txt"),
        &venv.join("opsdeck-requirements.txt"),
    );
    let python = venv.join("bin").join("python");
    assert!(
        python.exists(),
        "{} is missing: run scripts/test-deps.sh",
        python.display()
    );
    python
}

/// `tests/emitters/node`, once its `node_modules` is checked to be
/// installed from the current `package-lock.json`.
pub fn node_app_dir() -> PathBuf {
    let dir = emitters_dir().join("node");
    require_installed(
        &format!("{}", dir.join("node_modules").display()),
        &dir.join("package-lock.json"),
        &dir.join("node_modules").join(".opsdeck-package-lock.json"),
    );
    dir
}

/// A template of `tests/emitters` with each `@KEY@` replaced; panics if one
/// is left.
fn render_template(relative: &str, values: &[(&str, String)]) -> String {
    let path = emitters_dir().join(relative);
    let mut text =
        fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    for (key, value) in values {
        text = text.replace(&format!("@{key}@"), value);
    }
    let lines: Vec<&str> = text
        .lines()
        .filter(|l| !l.trim_start().starts_with('#') && l.contains('@'))
        .collect();
    assert!(
        lines.is_empty(),
        "{}: placeholders left: {lines:?}",
        path.display()
    );
    text
}

// ---------------------------------------------------------------------------
// Starting each kind
// ---------------------------------------------------------------------------

/// The environment every emitter process starts from: the caller's, less
/// the variables that would change what the libraries expose.
fn clean_env(command: &mut Command) {
    for (key, _) in std::env::vars_os() {
        let key_text = key.to_string_lossy();
        if key_text.starts_with("OTEL_") || key_text.starts_with("PROMETHEUS_") {
            command.env_remove(&key);
        }
    }
}

fn python_command(python: &Path, script: &str, options: &EmitterOptions) -> Command {
    let mut command = Command::new(python);
    clean_env(&mut command);
    command
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .env("PYTHONUNBUFFERED", "1")
        .arg(emitters_dir().join("python").join(script))
        .arg(format!("--fail-every={}", options.fail_every))
        .arg(format!("--latency-ms={}", options.latency_ms));
    command
}

fn new_emitter(
    kind: EmitterKind,
    options: &EmitterOptions,
    server: Server,
    app_port: u16,
    metrics_port: u16,
    backend: Option<Emitter>,
) -> Emitter {
    Emitter {
        kind,
        options: options.clone(),
        server,
        app_port,
        metrics_port,
        backend: backend.map(Box::new),
        driven: Mutex::new((0, 0)),
    }
}

/// prometheus_client, flask_exporter, django: one port, `/metrics` on it.
fn start_python_app(kind: EmitterKind, options: &EmitterOptions) -> Emitter {
    let python = venv_python();
    let script = match kind {
        EmitterKind::PrometheusClient => "prometheus_client_app.py",
        EmitterKind::Flask => "flask_exporter_app.py",
        EmitterKind::Django => "django_app.py",
        _ => unreachable!("not a one-port Python app: {kind:?}"),
    };
    let opts = options.clone();
    let server = Server::launch(
        kind.name(),
        TempDir::new(kind.name()),
        1,
        "/metrics",
        move |ports| {
            let mut command = python_command(&python, script, &opts);
            command.arg(format!("--port={}", ports[0]));
            command
        },
    );
    let port = server.port();
    new_emitter(kind, options, server, port, port, None)
}

/// otel_old, otel_stable: the exporter's port first (probed), the app's
/// second (bound before it).
fn start_otel(kind: EmitterKind, options: &EmitterOptions) -> Emitter {
    let python = venv_python();
    let opts = options.clone();
    let server = Server::launch(
        kind.name(),
        TempDir::new(kind.name()),
        2,
        "/metrics",
        move |ports| {
            let mut command = python_command(&python, "otel_app.py", &opts);
            command
                .arg(format!("--metrics-port={}", ports[0]))
                .arg(format!("--port={}", ports[1]));
            if kind == EmitterKind::OtelStable {
                command.env("OTEL_SEMCONV_STABILITY_OPT_IN", "http");
            }
            if let Some(name) = &opts.service_name {
                command.env("OTEL_SERVICE_NAME", name);
            }
            command
        },
    );
    let (metrics_port, app_port) = (server.ports()[0], server.ports()[1]);
    new_emitter(kind, options, server, app_port, metrics_port, None)
}

fn start_express(options: &EmitterOptions) -> Emitter {
    let dir = node_app_dir();
    let opts = options.clone();
    let server = Server::launch(
        "express",
        TempDir::new("express"),
        1,
        "/metrics",
        move |ports| {
            let mut command = Command::new("node");
            clean_env(&mut command);
            command
                .env("NODE_ENV", "production")
                .arg(dir.join("app.js"))
                .arg("--port")
                .arg(ports[0].to_string())
                .arg("--fail-every")
                .arg(opts.fail_every.to_string())
                .arg("--latency-ms")
                .arg(opts.latency_ms.to_string());
            command
        },
    );
    let port = server.port();
    new_emitter(EmitterKind::Express, options, server, port, port, None)
}

/// The `prometheus_client` app behind a proxy or a prober.
fn start_backend(options: &EmitterOptions) -> Emitter {
    Emitter::start(
        EmitterKind::PrometheusClient,
        EmitterOptions {
            service_name: None,
            ..options.clone()
        },
    )
}

/// Caddy: ports[0] is the site (probed at a path no route handles, which
/// Caddy answers 200 without counting it), ports[1] the admin endpoint with
/// `/metrics` (bound before the site).
fn start_caddy(options: &EmitterOptions) -> Emitter {
    let backend = start_backend(options);
    let dir = TempDir::new("caddy");
    let home = dir.path().to_owned();
    let backend_addr = format!("127.0.0.1:{}", backend.app_port);
    let server = Server::launch("caddy", dir, 2, "/ready", move |ports| {
        let caddyfile = render_template(
            "caddy/Caddyfile.tmpl",
            &[
                ("PORT", ports[0].to_string()),
                ("ADMIN_PORT", ports[1].to_string()),
                ("BACKEND", backend_addr.clone()),
            ],
        );
        let path = home.join("Caddyfile");
        fs::write(&path, caddyfile)
            .unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
        let mut command = Command::new("caddy");
        clean_env(&mut command);
        command
            .env("HOME", &home)
            .env("XDG_CONFIG_HOME", home.join("config"))
            .env("XDG_DATA_HOME", home.join("data"))
            .args(["run", "--adapter", "caddyfile", "--config"])
            .arg(&path);
        command
    });
    let (app_port, metrics_port) = (server.ports()[0], server.ports()[1]);
    let options = options.clone();
    new_emitter(
        EmitterKind::Caddy,
        &options,
        server,
        app_port,
        metrics_port,
        Some(backend),
    )
}

/// HAProxy: ports[0] is the exporter's frontend (probed at `/metrics`),
/// ports[1] the traffic's frontend; both bound before either is served.
fn start_haproxy(options: &EmitterOptions) -> Emitter {
    let backend = start_backend(options);
    let service = options
        .service_name
        .clone()
        .unwrap_or_else(|| HAPROXY_DEFAULT_BACKEND.to_owned());
    assert!(
        !service.is_empty()
            && service
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.:".contains(c)),
        "an HAProxy backend name takes letters, digits and - _ . : only, not {service:?}"
    );
    let backend_addr = format!("127.0.0.1:{}", backend.app_port);
    // HAProxy says "Address already in use", which `Server` does not take
    // for a port clash; so a clash is retried here.
    let mut attempt = 0;
    let server = loop {
        attempt += 1;
        let dir = TempDir::new("haproxy");
        let config_dir = dir.path().to_owned();
        let (service, backend_addr) = (service.clone(), backend_addr.clone());
        let launched = catch_unwind(AssertUnwindSafe(|| {
            Server::launch("haproxy", dir, 2, "/metrics", move |ports| {
                let config = render_template(
                    "haproxy/haproxy.cfg.tmpl",
                    &[
                        ("METRICS_PORT", ports[0].to_string()),
                        ("PORT", ports[1].to_string()),
                        ("SERVICE", service.clone()),
                        ("BACKEND", backend_addr.clone()),
                    ],
                );
                let path = config_dir.join("haproxy.cfg");
                fs::write(&path, config)
                    .unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
                let mut command = Command::new("haproxy");
                clean_env(&mut command);
                command.arg("-db").arg("-f").arg(&path);
                command
            })
        }));
        match launched {
            Ok(server) => break server,
            Err(panic) => {
                let message = panic
                    .downcast_ref::<String>()
                    .map(String::as_str)
                    .or_else(|| panic.downcast_ref::<&str>().copied())
                    .unwrap_or("");
                if attempt < 5 && message.contains("Address already in use") {
                    eprintln!("[support] haproxy: a port clash, starting again on fresh ports");
                    continue;
                }
                resume_unwind(panic);
            }
        }
    };
    let (metrics_port, app_port) = (server.ports()[0], server.ports()[1]);
    new_emitter(
        EmitterKind::Haproxy,
        options,
        server,
        app_port,
        metrics_port,
        Some(backend),
    )
}

/// The blackbox exporter: one port, `/probe` and its own `/metrics`.
fn start_blackbox(options: &EmitterOptions) -> Emitter {
    let backend = start_backend(options);
    let dir = TempDir::new("blackbox");
    let config = dir.write(
        "blackbox.yml",
        &fs::read_to_string(emitters_dir().join("blackbox").join("blackbox.yml"))
            .expect("read tests/emitters/blackbox/blackbox.yml"),
    );
    let server = Server::launch("blackbox", dir, 1, "/-/healthy", move |ports| {
        let mut command = Command::new("prometheus-blackbox-exporter");
        clean_env(&mut command);
        command
            .arg(format!("--config.file={}", config.display()))
            .arg(format!("--web.listen-address=127.0.0.1:{}", ports[0]));
        command
    });
    let (metrics_port, app_port) = (server.port(), backend.app_port);
    new_emitter(
        EmitterKind::Blackbox,
        options,
        server,
        app_port,
        metrics_port,
        Some(backend),
    )
}
