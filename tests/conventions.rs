//! The catalogue of request-metric conventions against real servers:
//! every query derived from it runs on Prometheus and on VictoriaMetrics;
//! the conventions whose emitters cannot run here (Istio, ingress-nginx,
//! Micrometer, Traefik) are read from exposition text in their documented
//! names and labels, scraped by a real Prometheus; the service label is
//! found series by series; and SLOs recorded by Sloth's and Pyrra's rules
//! are read with their own objectives.

mod support;

use chrono::Utc;
use opsdeck::config::file::{Config, Endpoint};
use opsdeck::domain::{HealthReading, ServiceHealth, Via};
use opsdeck::sli::{SliSet, SliSpec, derive};
use opsdeck::sources::MetricsSource;
use opsdeck::sources::metrics::PrometheusSource;
use serde_json::Value;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use support::*;

fn endpoint(name: &str, url: &str) -> Endpoint {
    Endpoint::plain(name, reqwest::Url::parse(url).unwrap())
}

fn every_convention() -> (Config, SliSet) {
    let config = Config::default();
    let all: Vec<String> = config.conventions.iter().map(|c| c.name.clone()).collect();
    let set = SliSet::build(
        &config.conventions,
        &SliSpec::Detect,
        &[],
        &all,
        &config.service_labels,
    );
    (config, set)
}

/// Every derived query with every convention in force, the detection
/// query and the SLO rules' queries: none is refused by either server.
#[test]
fn every_derived_query_runs_on_prometheus_and_victoriametrics() {
    let prometheus = Prometheus::start(PrometheusConfig::default());
    let vm = VictoriaMetrics::start();
    let (config, set) = every_convention();
    let mut queries: Vec<(String, String)> = derive::derive(&set, ("2592000s", 2_592_000))
        .into_iter()
        .map(|(n, q)| (n.to_string(), q))
        .collect();
    queries.push((
        "detection".into(),
        derive::detection(&config.conventions, &config.service_labels),
    ));
    let plan = opsdeck::sources::metrics::plan::Plan::new(
        &opsdeck::sources::metrics::plan::Spec {
            catalogue: config.conventions.clone(),
            global: SliSpec::Detect,
            per_service: Vec::new(),
            labels: config.service_labels.clone(),
            window: ("2592000s".into(), 2_592_000),
            overrides: Default::default(),
        },
        None,
    );
    for name in ["sloth_slos", "pyrra_slos"] {
        queries.push((name.into(), plan.queries.get(name).to_string()));
    }
    for (server, url) in [
        ("Prometheus", prometheus.url()),
        ("VictoriaMetrics", vm.url()),
    ] {
        for (name, q) in &queries {
            // As asked: the baselines' day shift filled in.
            let q = derive::at_time(q, unix_now() as i64);
            let answer = promql_query(&url, &q, None);
            assert_eq!(
                answer["status"],
                "success",
                "{server} refused {name} ({} bytes): {answer}",
                q.len()
            );
        }
    }
}

/// Exposition `text` as it would read after `n` scrapes of a steady
/// emitter: every counter and histogram value times `n`, gauges as they
/// are. Rates and ratios over it are those of the text's counts.
fn scaled(text: &str, n: u64) -> String {
    let gauges: Vec<&str> = text
        .lines()
        .filter_map(|l| l.strip_prefix("# TYPE "))
        .filter_map(|l| l.strip_suffix(" gauge"))
        .collect();
    let mut out = String::new();
    for line in text.lines() {
        let name = line.split(['{', ' ']).next().unwrap_or("");
        match line.rsplit_once(' ') {
            Some((series, value)) if !line.starts_with('#') && !gauges.contains(&name) => {
                let v: f64 = value.parse().unwrap_or_else(|_| panic!("{line}"));
                out.push_str(&format!("{series} {}\n", v * n as f64));
            }
            _ => {
                out.push_str(line);
                out.push('\n');
            }
        }
    }
    out
}

/// An exporter that serves a fixture, its counts growing at each scrape.
fn exporter(fixture: &str) -> FakeServer {
    let path = format!(
        "{}/tests/fixtures/conventions/{fixture}",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&path).unwrap();
    let scrapes = Arc::new(AtomicU64::new(0));
    FakeServer::start(move |_| {
        let n = scrapes.fetch_add(1, Ordering::SeqCst) + 1;
        FakeReply::text(200, scaled(&text, n))
    })
}

fn addr(server: &FakeServer) -> String {
    format!("127.0.0.1:{}", server.port())
}

fn value(result: &Value) -> f64 {
    let values = sample_values(result);
    assert_eq!(values.len(), 1, "one series: {result}");
    values[0]
}

async fn health(url: &str, config: &Config) -> HealthReading {
    let source = PrometheusSource::new(endpoint("prometheus", url), config).unwrap();
    let fetched = source.health(Utc::now()).await.unwrap();
    assert!(fetched.warnings.is_empty(), "{:?}", fetched.warnings);
    fetched.value
}

fn service<'a>(h: &'a HealthReading, name: &str) -> &'a ServiceHealth {
    h.services
        .iter()
        .find(|s| s.name == name)
        .unwrap_or_else(|| {
            panic!(
                "no {name} in {:?}",
                h.services.iter().map(|s| &s.name).collect::<Vec<_>>()
            )
        })
}

fn convention(s: &ServiceHealth) -> &str {
    match &s.via {
        Via::Sli(v) => &v.convention.name,
        other => panic!("{}: {other:?}", s.name),
    }
}

/// Istio, ingress-nginx, Micrometer and Traefik, each detected with no
/// configuration and read by its own labels: orders fails 50 of 1000
/// requests, payments none of 400; the p95 is what PromQL gives over the
/// emitter's own histogram.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conventions_that_cannot_run_here_are_read_from_their_documented_names() {
    let fixtures = [
        ("istio", "istio.prom"),
        ("ingress-nginx", "ingress_nginx.prom"),
        ("micrometer", "micrometer.prom"),
        ("traefik", "traefik.prom"),
    ];
    let exporters: Vec<FakeServer> = fixtures.iter().map(|(_, f)| exporter(f)).collect();
    let scrape_list = fixtures
        .iter()
        .zip(&exporters)
        .map(|((job, _), e)| scrape(job, &addr(e), true))
        .collect();
    let prometheus = Prometheus::start(PrometheusConfig {
        scrape: scrape_list,
        ..Default::default()
    });
    for metric in [
        "istio_requests_total",
        "nginx_ingress_controller_requests",
        "http_server_requests_seconds_count",
        "traefik_service_requests_total",
    ] {
        prometheus.wait_for(&format!("sum(rate({metric}[5m])) > 0"), metric, |r| {
            r.as_array().is_some_and(|a| !a.is_empty())
        });
    }
    let (orders, payments) = [
        ("istio", "orders", "payments"),
        ("ingress-nginx", "orders", "payments"),
        ("micrometer", "orders", "payments"),
        (
            "traefik",
            "shop-orders-8080@kubernetes",
            "shop-payments-8080@kubernetescrd",
        ),
    ]
    .into_iter()
    .fold((Vec::new(), Vec::new()), |mut acc, (c, o, p)| {
        acc.0.push((c, o));
        acc.1.push((c, p));
        acc
    });
    // With no configuration at all: every convention detected, each
    // service read by the one that names it.
    let h = health(&prometheus.url(), &Config::default()).await;
    for ((c, o), (_, p)) in orders.iter().zip(&payments) {
        for name in [o, p] {
            let s = service(&h, name);
            // Istio, ingress-nginx and Micrometer all name "orders": the app's
            // library (Micrometer) is preferred over the proxies.
            if *name != "orders" && *name != "payments" {
                assert_eq!(convention(s), *c, "{name}");
            }
        }
    }
    let both = service(&h, "orders");
    assert_eq!(
        convention(both),
        "micrometer",
        "the app's own before a proxy's"
    );
    let Via::Sli(via) = &both.via else {
        unreachable!()
    };
    assert_eq!(
        via.also,
        ["ingress-nginx", "istio"],
        "and says who else names it"
    );

    // Each convention on its own, against PromQL over its raw metric.
    let checks = [
        (
            "istio",
            r#"istio_requests_total{reporter="destination",destination_service_name="orders"}"#,
            "response_code",
            r#"istio_request_duration_milliseconds_bucket{reporter="destination",destination_service_name="orders"}"#,
            1.0,
        ),
        (
            "ingress-nginx",
            r#"nginx_ingress_controller_requests{service="orders"}"#,
            "status",
            r#"nginx_ingress_controller_request_duration_seconds_bucket{service="orders"}"#,
            1000.0,
        ),
        (
            "micrometer",
            r#"http_server_requests_seconds_count{application="orders"}"#,
            "status",
            r#"http_server_requests_seconds_bucket{application="orders"}"#,
            1000.0,
        ),
        (
            "traefik",
            r#"traefik_service_requests_total{service="shop-orders-8080@kubernetes"}"#,
            "code",
            r#"traefik_service_request_duration_seconds_bucket{service="shop-orders-8080@kubernetes"}"#,
            1000.0,
        ),
    ];
    for ((c, o), (_, p)) in orders.iter().zip(&payments) {
        let config = Config {
            sli: SliSpec::Convention(c.to_string()),
            ..Config::default()
        };
        let h = health(&prometheus.url(), &config).await;
        let (_, total, status, buckets, to_ms) = checks.iter().find(|k| k.0 == *c).unwrap();
        let errors = total.replace('}', &format!(r#",{status}=~"5.."}}"#));
        let promql = value(
            &prometheus.query(&format!("sum(rate({errors}[5m])) / sum(rate({total}[5m]))"))["data"]
                ["result"],
        );
        let s = service(&h, o);
        assert!(
            (promql - 0.05).abs() < 1e-9,
            "{c}: the fixture's 5%: {promql}"
        );
        assert!(
            (s.error_ratio - promql).abs() < 1e-9,
            "{c}: {} vs {promql}",
            s.error_ratio
        );
        assert_eq!(
            service(&h, p).error_ratio,
            0.0,
            "{c}: payments fails nothing"
        );
        let p95 = value(
            &prometheus.query(&format!(
                "histogram_quantile(0.95, sum by (le) (rate({buckets}[5m])))"
            ))["data"]["result"],
        ) * to_ms;
        assert!(
            (s.latency_p95_ms - p95).abs() < 1e-6,
            "{c}: p95 {} vs {p95}",
            s.latency_p95_ms
        );
    }
}

/// The rules of both fixtures as one file, evaluated every second (the
/// tools' own intervals, 30 s and 2m30s, only slow the test down).
fn slo_rules() -> String {
    let dir = format!("{}/tests/fixtures/slo", env!("CARGO_MANIFEST_DIR"));
    let sloth = std::fs::read_to_string(format!("{dir}/sloth-rules.yml")).unwrap();
    let pyrra = std::fs::read_to_string(format!("{dir}/pyrra-rules.yml")).unwrap();
    let pyrra_groups = pyrra.split_once("groups:\n").unwrap().1;
    let both = format!("{sloth}\n{pyrra_groups}");
    let mut out = String::new();
    for line in both.lines() {
        match line.split_once("interval: ") {
            Some((indent, _)) if !line.trim_start().starts_with('#') => {
                out.push_str(&format!("{indent}interval: 1s\n"));
            }
            _ => {
                out.push_str(line);
                out.push('\n');
            }
        }
    }
    out
}

/// Sloth's and Pyrra's rules over real apps: their SLOs are read with no
/// configuration, with their own objectives, judged by them, and shown by
/// `status`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slos_recorded_by_sloth_and_pyrra_are_read_with_their_own_objectives() {
    use support::emitters::{Emitter, EmitterKind, EmitterOptions};
    let app = |fail_every| {
        Emitter::start(
            EmitterKind::PrometheusClient,
            EmitterOptions {
                fail_every,
                latency_ms: 1,
                service_name: None,
            },
        )
    };
    let (orders, payments) = (app(20), app(0));
    let prometheus = Prometheus::start(PrometheusConfig {
        scrape: vec![
            scrape("orders", &orders.metrics_target(), false),
            scrape("payments", &payments.metrics_target(), false),
        ],
        rule_files_text: Some(slo_rules()),
        ..Default::default()
    });
    prometheus.wait_for(r#"up{job="orders"} == 1"#, "orders scraped", |r| {
        !r.as_array().unwrap().is_empty()
    });
    prometheus.wait_for(r#"up{job="payments"} == 1"#, "payments scraped", |r| {
        !r.as_array().unwrap().is_empty()
    });
    for _ in 0..2 {
        orders.drive(100);
        payments.drive(100);
        std::thread::sleep(std::time::Duration::from_secs(2));
    }
    let sloth = r#"slo:sli_error:ratio_rate5m{sloth_service="orders"}"#;
    prometheus.wait_for(&format!("{sloth} > 0"), "Sloth's 5m ratio", |r| {
        !r.as_array().unwrap().is_empty()
    });
    prometheus.wait_for(
        r#"pyrra_availability{slo="payments-availability"}"#,
        "Pyrra's availability",
        |r| !r.as_array().unwrap().is_empty(),
    );
    let h = health(&prometheus.url(), &Config::default()).await;
    let s = service(&h, "orders/requests-availability");
    assert_eq!(convention(s), "sloth");
    // Sloth writes vector(0.9990000000000001).
    assert!(
        (s.objective.unwrap() - 0.999).abs() < 1e-12,
        "{:?}",
        s.objective
    );
    let ratio = value(&prometheus.query(sloth)["data"]["result"]);
    assert!(
        (s.error_ratios.m5.unwrap() - ratio).abs() < 0.01,
        "{:?} vs {ratio}",
        s.error_ratios
    );
    let p = service(&h, "payments-availability");
    assert_eq!(convention(p), "pyrra");
    assert_eq!(p.objective, Some(0.995));
    assert_eq!(opsdeck::domain::slo::availability(p.sli), Some(1.0));
    // The apps themselves are services too, by their job.
    assert_eq!(convention(service(&h, "orders")), "prometheus-client");

    let out = std::process::Command::new(env!("CARGO_BIN_EXE_opsdeck"))
        .args([
            "status",
            "--json",
            "--prometheus",
            &prometheus.url(),
            "--alertmanager",
        ])
        .arg(format!("http://127.0.0.1:{}", free_port()))
        .env_remove("OPSDECK_CONFIG")
        .env("HOME", std::env::temp_dir())
        .output()
        .unwrap();
    let json: Value = serde_json::from_slice(&out.stdout).unwrap();
    let row = |name: &str| {
        json["services"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["name"] == name)
            .unwrap_or_else(|| panic!("{name} not in {json}"))
            .clone()
    };
    let objective = row("orders/requests-availability")["objective"]
        .as_f64()
        .unwrap();
    assert!((objective - 0.999).abs() < 1e-12, "{objective}");
    assert_eq!(row("orders/requests-availability")["state"], "crit");
    assert_eq!(row("payments-availability")["objective"], 0.995);
}

/// A target whose `target_info` carries two service names (a collector's
/// exporter scraped without `honor_labels`) cannot be joined one to one:
/// it is named by its job, and the query every convention shares still
/// answers for the others.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_service_names_on_one_target_break_nothing() {
    let collector = FakeServer::start(|_| {
        FakeReply::text(
            200,
            "# TYPE target_info gauge\n\
             target_info{service_name=\"a\"} 1\n\
             target_info{service_name=\"b\"} 1\n\
             # TYPE http_server_request_duration_seconds histogram\n\
             http_server_request_duration_seconds_bucket{http_response_status_code=\"200\",le=\"+Inf\"} 10\n\
             http_server_request_duration_seconds_count{http_response_status_code=\"200\"} 10\n\
             http_server_request_duration_seconds_sum{http_response_status_code=\"200\"} 1\n",
        )
    });
    let app = FakeServer::start(|_| {
        FakeReply::text(
            200,
            "# TYPE flask_http_request_total counter\nflask_http_request_total{status=\"200\"} 5\n",
        )
    });
    let prometheus = Prometheus::start(PrometheusConfig {
        scrape: vec![
            scrape("collector", &addr(&collector), false),
            scrape("shop", &addr(&app), false),
        ],
        ..Default::default()
    });
    prometheus.wait_for("count(target_info) == 2", "both names", |r| {
        !r.as_array().unwrap().is_empty()
    });
    for metric in [
        "http_server_request_duration_seconds_count",
        "flask_http_request_total",
    ] {
        prometheus.wait_for(&format!("rate({metric}[5m])"), "two scrapes", |r| {
            !r.as_array().unwrap().is_empty()
        });
    }
    let h = health(&prometheus.url(), &Config::default()).await;
    assert_eq!(convention(service(&h, "collector")), "otel-http-stable");
    assert_eq!(convention(service(&h, "shop")), "flask");
    assert_eq!(service(&h, "collector").targets_total, 1);
}
