//! Proves the emitters of `tests/support/emitters.rs`: each kind starts on
//! loopback, fails exactly every Nth request, and exposes the metric names
//! and 5xx counts that `docs/emitters-observed.md` records; a real
//! Prometheus scrapes them and sees the same counts.
//!
//! Needs `scripts/test-deps.sh` to have run (the Python venv and the Node
//! modules) and Debian's caddy, haproxy and prometheus-blackbox-exporter.

mod support;

use support::emitters::{
    Emitter, EmitterKind, EmitterOptions, expected_failures, exposition_names, exposition_sum,
    parse_exposition,
};
use support::*;

const REQUESTS: u64 = 50;
const FAIL_EVERY: u32 = 10;
const FAILURES: f64 = 5.0;

fn options(service_name: Option<&str>) -> EmitterOptions {
    EmitterOptions {
        fail_every: FAIL_EVERY,
        latency_ms: 20,
        service_name: service_name.map(str::to_owned),
    }
}

/// Starts `kind`, drives 50 requests (5 fail by construction) and returns
/// the emitter and what a scrape of it shows then.
fn start_and_drive(kind: EmitterKind, service_name: Option<&str>) -> (Emitter, String) {
    let emitter = Emitter::start(kind, options(service_name));
    assert_eq!(emitter.drive(REQUESTS), 5);
    assert_eq!(emitter.driven(), (REQUESTS, 5));
    let text = emitter.fetch_metrics();
    (emitter, text)
}

fn assert_names(text: &str, names: &[&str]) {
    let present = exposition_names(text);
    for name in names {
        assert!(
            present.iter().any(|p| p == name),
            "{name} missing; the exposition has {present:?}"
        );
    }
}

fn assert_sum(text: &str, name: &str, labels: &[(&str, &str)], expected: f64) {
    let sum = exposition_sum(text, name, labels);
    assert_eq!(
        sum,
        expected,
        "{name}{labels:?}: {sum}, expected {expected}; its lines:\n{}",
        text.lines()
            .filter(|l| l.starts_with(name))
            .collect::<Vec<_>>()
            .join("\n")
    );
}

#[test]
fn failures_are_counted_across_drive_calls() {
    assert_eq!(expected_failures(0, 50, 10), 5);
    assert_eq!(expected_failures(0, 7, 10), 0);
    assert_eq!(expected_failures(7, 7, 10), 1);
    assert_eq!(expected_failures(14, 6, 10), 1);
    assert_eq!(expected_failures(0, 1000, 0), 0);
    assert_eq!(expected_failures(0, 3, 1), 3);
}

#[test]
fn exposition_parser_reads_labels_escapes_and_special_values() {
    let text = "# HELP x a counter\n# TYPE x counter\n\
                x_total{a=\"1\",b=\"q\\\"uo,te}\\\\\"} 3 1700000000000\n\
                x_total{a=\"2\",} 4.5\n\
                y_bucket{le=\"+Inf\"} +Inf\nz NaN\nplain 1e+03\n";
    let samples = parse_exposition(text);
    assert_eq!(samples.len(), 5, "{samples:?}");
    assert_eq!(samples[0].label("b"), Some("q\"uo,te}\\"));
    assert_eq!(samples[0].value, 3.0);
    assert_eq!(exposition_sum(text, "x_total", &[]), 7.5);
    assert_eq!(exposition_sum(text, "x_total", &[("a", "2")]), 4.5);
    assert!(samples[2].value.is_infinite());
    assert!(samples[3].value.is_nan());
    assert_eq!(exposition_sum(text, "plain", &[]), 1000.0);
    assert_eq!(
        exposition_names(text),
        ["x_total", "y_bucket", "z", "plain"]
    );
}

#[test]
fn prometheus_client_counts_by_code_and_times_by_handler() {
    let (emitter, text) = start_and_drive(EmitterKind::PrometheusClient, None);
    assert_names(
        &text,
        &[
            "http_requests_total",
            "http_requests_created",
            "http_request_duration_seconds_bucket",
            "http_request_duration_seconds_count",
            "http_request_duration_seconds_sum",
        ],
    );
    assert_sum(&text, "http_requests_total", &[("code", "500")], FAILURES);
    assert_sum(
        &text,
        "http_requests_total",
        &[("code", "200"), ("handler", "/work"), ("method", "GET")],
        45.0,
    );
    assert_sum(
        &text,
        "http_request_duration_seconds_bucket",
        &[("le", "+Inf"), ("handler", "/work")],
        50.0,
    );
    // 20 ms each: none under 10 ms, all under 250 ms.
    assert_sum(
        &text,
        "http_request_duration_seconds_bucket",
        &[("le", "0.01")],
        0.0,
    );
    assert_sum(
        &text,
        "http_request_duration_seconds_bucket",
        &[("le", "0.25")],
        50.0,
    );
    // The count goes on across calls: 7 more are requests 51..57 (none
    // fails), 3 more are 58..60 (the 60th fails).
    assert_eq!(emitter.drive(7), 0);
    assert_eq!(emitter.drive(3), 1);
    assert_eq!(emitter.driven(), (60, 6));
    assert_sum(
        &emitter.fetch_metrics(),
        "http_requests_total",
        &[("code", "500")],
        6.0,
    );
    assert_eq!(emitter.metrics_target(), emitter.server().addr());
    assert_eq!(
        emitter.metrics_url(),
        format!("{}/metrics", emitter.app_url())
    );
}

#[test]
fn flask_exporter_counts_by_status_and_times_by_path() {
    let (_emitter, text) = start_and_drive(EmitterKind::Flask, None);
    assert_names(
        &text,
        &[
            "flask_http_request_total",
            "flask_http_request_duration_seconds_bucket",
            "flask_http_request_duration_seconds_count",
            "flask_exporter_info",
        ],
    );
    assert_sum(
        &text,
        "flask_http_request_total",
        &[("status", "500"), ("method", "GET")],
        FAILURES,
    );
    assert_sum(&text, "flask_http_request_total", &[], 50.0);
    assert_sum(
        &text,
        "flask_http_request_duration_seconds_count",
        &[("status", "500"), ("path", "/work")],
        FAILURES,
    );
}

#[test]
fn django_counts_by_status_and_by_view() {
    let (_emitter, text) = start_and_drive(EmitterKind::Django, None);
    assert_names(
        &text,
        &[
            "django_http_responses_total_by_status_total",
            "django_http_responses_total_by_status_view_method_total",
            "django_http_requests_latency_seconds_by_view_method_bucket",
            "django_http_requests_total_by_view_transport_method_total",
        ],
    );
    assert_sum(
        &text,
        "django_http_responses_total_by_status_total",
        &[("status", "500")],
        FAILURES,
    );
    assert_sum(
        &text,
        "django_http_responses_total_by_status_view_method_total",
        &[("status", "500"), ("view", "work"), ("method", "GET")],
        FAILURES,
    );
    assert_sum(
        &text,
        "django_http_requests_latency_seconds_by_view_method_count",
        &[("view", "work")],
        50.0,
    );
}

#[test]
fn otel_old_semconv_has_milliseconds_and_http_status_code() {
    let (emitter, text) = start_and_drive(EmitterKind::OtelOld, None);
    assert_ne!(emitter.metrics_target(), emitter.app_url()[7..]);
    assert_names(
        &text,
        &[
            "target_info",
            "http_server_active_requests",
            "http_server_duration_milliseconds_bucket",
            "http_server_duration_milliseconds_count",
        ],
    );
    assert_sum(
        &text,
        "http_server_duration_milliseconds_count",
        &[("http_status_code", "500"), ("http_target", "/work")],
        FAILURES,
    );
    assert_sum(&text, "http_server_duration_milliseconds_count", &[], 50.0);
    assert!(!text.contains("http_server_request_duration_seconds"));
    let target_info: Vec<_> = parse_exposition(&text)
        .into_iter()
        .filter(|s| s.name == "target_info")
        .collect();
    assert_eq!(target_info.len(), 1, "{target_info:?}");
    assert_eq!(
        target_info[0].label("service_name"),
        Some("unknown_service:python")
    );
}

#[test]
fn otel_stable_semconv_has_seconds_and_http_response_status_code() {
    let (_emitter, text) = start_and_drive(EmitterKind::OtelStable, Some("checkout"));
    assert_names(
        &text,
        &[
            "target_info",
            "http_server_active_requests",
            "http_server_request_duration_seconds_bucket",
            "http_server_request_duration_seconds_count",
        ],
    );
    assert_sum(
        &text,
        "http_server_request_duration_seconds_count",
        &[
            ("http_response_status_code", "500"),
            ("http_route", "/work"),
            ("error_type", "500"),
        ],
        FAILURES,
    );
    assert_sum(
        &text,
        "http_server_request_duration_seconds_count",
        &[],
        50.0,
    );
    assert!(!text.contains("http_server_duration_milliseconds"));
    assert_sum(&text, "target_info", &[("service_name", "checkout")], 1.0);
}

#[test]
fn express_prom_bundle_has_only_a_histogram() {
    let (_emitter, text) = start_and_drive(EmitterKind::Express, None);
    assert_names(
        &text,
        &[
            "http_request_duration_seconds_bucket",
            "http_request_duration_seconds_count",
            "up",
        ],
    );
    assert_sum(
        &text,
        "http_request_duration_seconds_count",
        &[("status_code", "500"), ("method", "GET"), ("path", "/work")],
        FAILURES,
    );
    assert_sum(&text, "http_request_duration_seconds_count", &[], 50.0);
    assert!(
        !exposition_names(&text)
            .iter()
            .any(|n| n.starts_with("http_request") && n.ends_with("_total")),
        "express-prom-bundle has no request counter"
    );
}

#[test]
fn caddy_counter_has_no_code_but_its_histograms_do() {
    let (emitter, text) = start_and_drive(EmitterKind::Caddy, None);
    assert_names(
        &text,
        &[
            "caddy_http_requests_total",
            "caddy_http_request_duration_seconds_bucket",
            "caddy_http_request_duration_seconds_count",
            "caddy_http_response_duration_seconds_count",
            "caddy_reverse_proxy_upstreams_healthy",
        ],
    );
    assert_sum(
        &text,
        "caddy_http_requests_total",
        &[("handler", "reverse_proxy"), ("server", "srv0")],
        50.0,
    );
    assert!(
        parse_exposition(&text)
            .iter()
            .filter(|s| s.name == "caddy_http_requests_total")
            .all(|s| s.label("code").is_none())
    );
    assert_sum(
        &text,
        "caddy_http_request_duration_seconds_count",
        &[("code", "500"), ("handler", "reverse_proxy")],
        FAILURES,
    );
    // The backend saw the same requests.
    let backend = emitter.backend().expect("caddy has a backend");
    assert_sum(
        &backend.fetch_metrics(),
        "http_requests_total",
        &[("code", "500")],
        FAILURES,
    );
}

#[test]
fn haproxy_counts_responses_by_class_per_frontend_backend_and_server() {
    let (emitter, text) = start_and_drive(EmitterKind::Haproxy, Some("checkout"));
    assert_eq!(emitter.service_name(), Some("checkout"));
    assert_names(
        &text,
        &[
            "haproxy_frontend_http_requests_total",
            "haproxy_frontend_http_responses_total",
            "haproxy_backend_http_responses_total",
            "haproxy_backend_http_requests_total",
            "haproxy_server_http_responses_total",
            "haproxy_backend_response_time_average_seconds",
        ],
    );
    assert_sum(
        &text,
        "haproxy_frontend_http_requests_total",
        &[("proxy", "http-in")],
        50.0,
    );
    for (name, labels) in [
        (
            "haproxy_frontend_http_responses_total",
            vec![("proxy", "http-in")],
        ),
        (
            "haproxy_backend_http_responses_total",
            vec![("proxy", "checkout")],
        ),
        (
            "haproxy_server_http_responses_total",
            vec![("proxy", "checkout"), ("server", "app1")],
        ),
    ] {
        let mut five = labels.clone();
        five.push(("code", "5xx"));
        assert_sum(&text, name, &five, FAILURES);
        let mut two = labels;
        two.push(("code", "2xx"));
        assert_sum(&text, name, &two, 45.0);
    }
}

#[test]
fn blackbox_fails_every_nth_probe_and_its_scrapes_keep_their_own_count() {
    let (emitter, text) = start_and_drive(EmitterKind::Blackbox, None);
    assert_names(
        &text,
        &[
            "probe_success",
            "probe_duration_seconds",
            "probe_http_status_code",
            "probe_http_duration_seconds",
        ],
    );
    let backend = emitter.backend().expect("blackbox has a backend");
    assert_sum(
        &backend.fetch_metrics(),
        "http_requests_total",
        &[("code", "500"), ("handler", "/work")],
        FAILURES,
    );
    // Scrapes probe /work/scrape, a count of its own: start_and_drive made
    // the 1st, these are the 2nd to the 10th, and the 10th fails; /work's
    // count is untouched (the next 10 requests are 51..60, one fails).
    let scrapes: Vec<f64> = (2..=FAIL_EVERY)
        .map(|_| exposition_sum(&emitter.fetch_metrics(), "probe_success", &[]))
        .collect();
    let mut expected = vec![1.0; FAIL_EVERY as usize - 2];
    expected.push(0.0);
    assert_eq!(scrapes, expected);
    assert_eq!(emitter.drive(10), 1);
    let config = emitter.scrape_config("blackbox");
    assert_eq!(config["metrics_path"], "/probe");
    assert_eq!(config["params"]["module"][0], "http_2xx");
    assert_eq!(
        config["params"]["target"][0],
        format!("{}/work/scrape", backend.app_url())
    );
    assert_eq!(
        config["static_configs"][0]["targets"][0],
        emitter.metrics_target()
    );
}

/// Every kind Prometheus can scrape with `PrometheusConfig` (not blackbox:
/// it needs `metrics_path` and `params`, see `Emitter::scrape_config`), and
/// the PromQL that counts its 5xx.
#[test]
fn prometheus_scrapes_every_emitter_and_sees_the_failures() {
    let queries = [
        (
            EmitterKind::PrometheusClient,
            "http_requests_total",
            "code=\"500\"",
        ),
        (
            EmitterKind::Flask,
            "flask_http_request_total",
            "status=\"500\"",
        ),
        (
            EmitterKind::Django,
            "django_http_responses_total_by_status_total",
            "status=\"500\"",
        ),
        (
            EmitterKind::OtelOld,
            "http_server_duration_milliseconds_count",
            "http_status_code=\"500\"",
        ),
        (
            EmitterKind::OtelStable,
            "http_server_request_duration_seconds_count",
            "http_response_status_code=\"500\"",
        ),
        (
            EmitterKind::Express,
            "http_request_duration_seconds_count",
            "status_code=\"500\"",
        ),
        (
            EmitterKind::Caddy,
            "caddy_http_request_duration_seconds_count",
            "code=\"500\"",
        ),
        (
            EmitterKind::Haproxy,
            "haproxy_backend_http_responses_total",
            "code=\"5xx\"",
        ),
    ];
    let fast = EmitterOptions {
        latency_ms: 5,
        ..options(None)
    };
    let emitters: Vec<Emitter> = queries
        .iter()
        .map(|(kind, _, _)| Emitter::start(*kind, fast.clone()))
        .collect();
    let prometheus = Prometheus::start(PrometheusConfig {
        scrape: emitters
            .iter()
            .map(|e| scrape(e.kind().name(), &e.metrics_target(), false))
            .collect(),
        ..PrometheusConfig::default()
    });
    for emitter in &emitters {
        assert_eq!(emitter.drive(REQUESTS), 5);
    }
    for ((kind, metric, matcher), emitter) in queries.iter().zip(&emitters) {
        let job = kind.name();
        prometheus.wait_for(&format!("up{{job=\"{job}\"}}"), &format!("{job} up"), |r| {
            sample_values(r) == [1.0]
        });
        let expr = format!("sum({metric}{{job=\"{job}\",{matcher}}})");
        prometheus.wait_for(&expr, &format!("{job}'s 5 failures"), |r| {
            sample_values(r) == [FAILURES]
        });
        assert_eq!(emitter.driven(), (REQUESTS, 5));
    }
}
