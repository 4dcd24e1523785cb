//! Faults on every live source: Prometheus (the cases `faults_http.rs` does
//! not cover), Alertmanager API v2 and a `/metrics` endpoint read directly.
//! Each fault is a specific error, in words an operator can act on, never a
//! panic; and the same source object reads again as soon as the server is
//! back, with no new source and no restart.
//!
//! Real servers where they can produce the fault (a server that goes away
//! and comes back; Prometheus's own error envelopes for bad PromQL and a
//! failed evaluation), the fake of `support/fake.rs` for the rest: stalls,
//! bodies trickled or cut off, 500/502/503 pages from a proxy, bodies of
//! hundreds of megabytes or without end, invalid JSON and invalid UTF-8.
//!
//! Every source here has a 1 s timeout and a 1 MiB cap on a response, so
//! each case costs at most about a second.

mod support;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use chrono::Utc;
use opsdeck::config::file::{Config, Endpoint};
use opsdeck::sources::alertmanager::AlertmanagerSource;
use opsdeck::sources::metrics::PrometheusSource;
use opsdeck::sources::scrape::ScrapeSource;
use opsdeck::sources::{AlertSource, MetricsSource, SourceError};
use support::{
    Alertmanager, FakeReply, FakeRequest, FakeServer, NodeExporter, Prometheus, PrometheusConfig,
};

/// Far below the cap: a case that reads the whole cap or waits for the
/// timeout shows here as well as in its text.
const QUICK: Duration = Duration::from_millis(900);
const TIMEOUT: Duration = Duration::from_secs(1);
const CAP: u64 = 1024 * 1024;

fn endpoint(url: &str) -> Endpoint {
    let mut endpoint = Endpoint::plain("faulty", reqwest::Url::parse(url).unwrap());
    endpoint.timeout = TIMEOUT;
    endpoint.connect_timeout = TIMEOUT;
    endpoint.max_response_bytes = CAP;
    endpoint
}

// ---------------------------------------------------------------------------
// The faults, as the fake serves them
// ---------------------------------------------------------------------------

/// A fault the fake plays, with the words its error must contain.
struct Case {
    name: &'static str,
    reply: FakeReply,
    /// Every one of these must be in the error's text.
    words: &'static [&'static str],
    /// The error comes without waiting for the timeout.
    quick: bool,
}

/// The transport faults, the same for every source; `garbage` is a body
/// that is not the source's format, `not_utf8` one with invalid UTF-8 where
/// the source expects text.
fn transport_cases(
    garbage: &'static [u8],
    garbage_words: &'static [&'static str],
    not_utf8: &'static [u8],
    not_utf8_words: &'static [&'static str],
) -> Vec<Case> {
    vec![
        Case {
            name: "stall (never answers)",
            reply: FakeReply::Stall,
            words: &["no answer within 1 s"],
            quick: false,
        },
        Case {
            name: "trickle (one byte a second)",
            reply: FakeReply::Trickle {
                body: br#"{"status":"success","data":{"resultType":"vector","result":[]}}"#
                    .to_vec(),
                every: Duration::from_secs(1),
            },
            words: &["no answer within 1 s"],
            quick: false,
        },
        Case {
            name: "closed mid-body (Content-Length)",
            reply: FakeReply::CutShort {
                declared: 4096,
                body: br#"{"status":"success","data":{"resultType":"vec"#.to_vec(),
            },
            words: &[
                "http://127.0.0.1:",
                "end of file before message length reached",
            ],
            quick: true,
        },
        Case {
            name: "closed mid-body (chunked)",
            reply: FakeReply::CutChunked {
                body: br#"{"status":"success","data":{"#.to_vec(),
            },
            words: &[
                "http://127.0.0.1:",
                "end of file before message length reached",
            ],
            quick: true,
        },
        Case {
            name: "500 with an HTML page",
            reply: FakeReply::html(500, "500 Internal Server Error"),
            words: &["HTTP 500: 500 Internal Server Error"],
            quick: true,
        },
        Case {
            name: "502 with an HTML page (retried twice)",
            reply: FakeReply::html(502, "502 Bad Gateway"),
            words: &["HTTP 502: 502 Bad Gateway"],
            quick: false,
        },
        Case {
            name: "503 with an HTML page (retried twice)",
            reply: FakeReply::html(503, "503 Service Temporarily Unavailable"),
            words: &["HTTP 503: 503 Service Temporarily Unavailable"],
            quick: false,
        },
        Case {
            name: "200 with a declared 300 MB body, streamed",
            reply: FakeReply::Endless {
                declared: Some(300 * 1024 * 1024),
            },
            words: &["response larger than 1 MiB, not read"],
            quick: true,
        },
        Case {
            name: "200 with an endless chunked body",
            reply: FakeReply::Endless { declared: None },
            words: &["response larger than 1 MiB, not read"],
            quick: true,
        },
        Case {
            name: "200 with a body that is not the format",
            reply: FakeReply::json(200, garbage),
            words: garbage_words,
            quick: true,
        },
        Case {
            name: "200 with invalid UTF-8",
            reply: FakeReply::json(200, not_utf8),
            words: not_utf8_words,
            quick: true,
        },
    ]
}

/// Plays each case on `fake`, asks `fetch` (the same source every time),
/// checks the error, then serves `healthy` again and checks that the very
/// next fetch reads it (`check_healthy` gets its description).
async fn play<F, Fut>(
    fake: &FakeServer,
    cases: Vec<Case>,
    healthy: impl Fn(&FakeRequest) -> FakeReply + Clone + Send + Sync + 'static,
    fetch: F,
) where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = Result<String, SourceError>>,
{
    // It works before anything goes wrong.
    fake.set(healthy.clone());
    let before = fetch().await.expect("healthy before the faults");
    // Every case is played and every miss collected, so one run shows
    // them all.
    let mut misses = Vec::new();
    for case in cases {
        fake.set_reply(case.reply.clone());
        let started = Instant::now();
        let result = fetch().await;
        let took = started.elapsed();
        match result {
            Ok(read) => misses.push(format!("{}: read as if healthy: {read}", case.name)),
            Err(e) => {
                let error = e.to_string();
                eprintln!("[faults] {}: {error} ({took:?})", case.name);
                for word in case.words.iter().filter(|w| !error.contains(*w)) {
                    misses.push(format!(
                        "{}: the error does not say {word:?}: {error}",
                        case.name
                    ));
                }
                if case.quick && took >= QUICK {
                    misses.push(format!(
                        "{}: took {took:?}, as if it waited for the timeout or read everything",
                        case.name
                    ));
                }
            }
        }
        // The server is healthy again: the same source reads it at once.
        fake.set(healthy.clone());
        match fetch().await {
            Ok(after) if after == before => {}
            Ok(after) => misses.push(format!(
                "{}, then healthy: read {after}, not {before}",
                case.name
            )),
            Err(e) => misses.push(format!("{}, then healthy: still failing: {e}", case.name)),
        }
    }
    assert!(misses.is_empty(), "{}", misses.join("\n"));
}

// ---------------------------------------------------------------------------
// Prometheus
// ---------------------------------------------------------------------------

const PROM_VECTOR: &str = r#"{"status":"success","data":{"resultType":"vector","result":[{"metric":{"service":"checkout","instance":"db-01"},"value":[1,"12.5"]}]}}"#;
const PROM_MATRIX: &str = r#"{"status":"success","data":{"resultType":"matrix","result":[{"metric":{"service":"checkout","instance":"db-01"},"values":[[1,"12.5"]]}]}}"#;

fn prometheus_healthy(request: &FakeRequest) -> FakeReply {
    if request.path.ends_with("query_range") {
        FakeReply::json(200, PROM_MATRIX)
    } else {
        FakeReply::json(200, PROM_VECTOR)
    }
}

fn prometheus_source(url: &str, config: &Config) -> PrometheusSource {
    PrometheusSource::new(endpoint(url), config).unwrap()
}

/// The services and hosts a health reading found, as one line.
async fn prometheus_reading(source: &PrometheusSource) -> Result<String, SourceError> {
    let reading = source.health(Utc::now()).await?.value;
    Ok(format!(
        "services {:?}, checkout {} req/s, hosts {:?}",
        reading
            .services
            .iter()
            .map(|s| s.name.as_str())
            .collect::<Vec<_>>(),
        reading
            .services
            .iter()
            .find(|s| s.name == "checkout")
            .map_or(f64::NAN, |s| s.requests_per_second),
        reading
            .hosts
            .iter()
            .map(|h| h.name.as_str())
            .collect::<Vec<_>>(),
    ))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prometheus_faults_a_real_server_will_not_produce_are_specific_errors_and_pass() {
    let fake = FakeServer::start(prometheus_healthy);
    let source = prometheus_source(&fake.url(), &Config::default());
    let mut cases = transport_cases(
        b"<<<this is not JSON>>>",
        &["not a Prometheus API response", "expected value"],
        b"{\"status\":\"success\",\"data\":{\"resultType\":\"vector\",\"result\":[{\"metric\":{\"service\":\"check\xff\xfeout\"},\"value\":[1,\"1\"]}]}}",
        &["not a Prometheus API response", "invalid unicode"],
    );
    cases.extend([
        // Prometheus answers a failed evaluation with 422 and a query
        // timeout with 503; some proxies say 200 around the same envelope.
        Case {
            name: "200 around an error envelope",
            reply: FakeReply::json(
                200,
                r#"{"status":"error","errorType":"execution","error":"query processing would load too many samples into memory in query execution"}"#,
            ),
            words: &["execution: query processing would load too many samples"],
            quick: true,
        },
        Case {
            name: "503 with a timeout envelope (retried twice)",
            reply: FakeReply::json(
                503,
                r#"{"status":"error","errorType":"timeout","error":"query timed out in expression evaluation"}"#,
            ),
            words: &["timeout: query timed out in expression evaluation"],
            quick: false,
        },
        Case {
            name: "a success without data",
            reply: FakeReply::json(200, r#"{"status":"success"}"#),
            words: &["a success without data"],
            quick: true,
        },
    ]);
    play(&fake, cases, prometheus_healthy, || {
        prometheus_reading(&source)
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prometheus_going_away_is_connection_refused_and_it_reads_again_when_back() {
    let mut prometheus = Prometheus::start(PrometheusConfig::default());
    // A timeout far longer than a refusal takes, so that a busy machine
    // (the test's siblings start servers meanwhile) cannot turn a refused
    // connection into a timed-out one.
    let mut slow = endpoint(&prometheus.url());
    slow.timeout = Duration::from_secs(10);
    let source = PrometheusSource::new(slow, &Config::default()).unwrap();
    let before = prometheus_reading(&source)
        .await
        .expect("a real Prometheus");

    prometheus.server_mut().stop();
    let started = Instant::now();
    let error = prometheus_reading(&source).await.unwrap_err();
    eprintln!(
        "[faults] Prometheus stopped: {error} ({:?})",
        started.elapsed()
    );
    assert!(
        matches!(&error, SourceError::Unreachable(m)
            if m.contains(&format!("cannot connect to {}", prometheus.url()))
            && m.contains("Connection refused")),
        "{error:?}"
    );
    // Refused at once, retried twice (0.2 s, 0.6 s), not left to time out.
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );

    prometheus.server_mut().restart();
    let after = prometheus_reading(&source)
        .await
        .expect("the same source reads the restarted server");
    assert_eq!(after, before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prometheus_error_envelopes_from_a_real_server_are_shown_in_its_words() {
    let prometheus = Prometheus::start(PrometheusConfig::default());
    // Two queries overridden: one that does not parse (400, bad_data) and
    // one that fails to evaluate (422, execution).
    let config = Config {
        queries: BTreeMap::from([
            (
                "saturation".to_string(),
                ("max by (service) (".to_string(), 1),
            ),
            (
                "host_cpu".to_string(),
                (
                    r#"label_replace(vector(1), "instance", "x", "y", "(")"#.to_string(),
                    2,
                ),
            ),
        ]),
        ..Config::default()
    };
    let source = prometheus_source(&prometheus.url(), &config);
    let api = source.api();
    let parse = api
        .query(source.plan().queries.get("saturation"), Utc::now())
        .await
        .unwrap_err()
        .to_string();
    assert!(
        parse.starts_with("bad_data: invalid parameter \"query\": 1:")
            && parse.contains("parse error"),
        "{parse}"
    );
    let execution = api
        .query(source.plan().queries.get("host_cpu"), Utc::now())
        .await
        .unwrap_err()
        .to_string();
    assert_eq!(
        execution,
        "execution: invalid regular expression in label_replace(): ("
    );
    // In a health reading, each is a warning naming its query; the rest
    // of the queries still answer, so the reading is not an error.
    let fetched = source.health(Utc::now()).await.expect("the rest answered");
    let warnings = fetched.warnings.join("\n");
    assert!(
        fetched
            .warnings
            .iter()
            .any(|w| w.starts_with("saturation: bad_data: invalid parameter")),
        "{warnings}"
    );
    assert!(
        fetched
            .warnings
            .iter()
            .any(|w| w == "host_cpu: execution: invalid regular expression in label_replace(): ("),
        "{warnings}"
    );
}

// ---------------------------------------------------------------------------
// Alertmanager
// ---------------------------------------------------------------------------

const AM_ALERTS: &str = r#"[{"labels":{"alertname":"DiskFull","service":"db","severity":"critical"},"annotations":{"summary":"disk above 95%"},"startsAt":"2026-11-22T02:00:00Z","endsAt":"2026-11-22T04:00:00Z","fingerprint":"f1","status":{"state":"active","silencedBy":[],"inhibitedBy":[]}}]"#;
const AM_SILENCES: &str = r#"[{"id":"s1","status":{"state":"active"},"comment":"CHG-1","createdBy":"ops","startsAt":"2026-11-22T02:00:00Z","endsAt":"2099-11-22T04:00:00Z","matchers":[{"name":"service","value":"db","isRegex":false}]}]"#;

fn alertmanager_healthy(request: &FakeRequest) -> FakeReply {
    if request.path.ends_with("/silences") {
        FakeReply::json(200, AM_SILENCES)
    } else {
        FakeReply::json(200, AM_ALERTS)
    }
}

/// The alerts and silences read, as one line, with any warnings.
async fn alertmanager_reading(source: &AlertmanagerSource) -> Result<String, SourceError> {
    let fetched = source.alerts(Utc::now()).await?;
    let reading = fetched.value;
    Ok(format!(
        "alerts {:?}, silences {:?}, warnings {:?}",
        reading
            .alerts
            .iter()
            .map(|a| format!("{}/{}", a.name, a.service))
            .collect::<Vec<_>>(),
        reading
            .silences
            .iter()
            .map(|s| format!("{} by {}", s.matchers, s.created_by))
            .collect::<Vec<_>>(),
        fetched.warnings,
    ))
}

fn alertmanager_source(url: &str) -> AlertmanagerSource {
    AlertmanagerSource::new(endpoint(url), &["service".to_string()]).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alertmanager_faults_are_specific_errors_and_pass() {
    let fake = FakeServer::start(alertmanager_healthy);
    let source = alertmanager_source(&fake.url());
    let cases = transport_cases(
        br#"{"status":"success","data":[]}"#,
        &["not an Alertmanager API v2 response", "invalid type: map"],
        b"[{\"labels\":{\"alertname\":\"Disk\xffFull\"},\"startsAt\":\"2026-11-22T02:00:00Z\",\"status\":{}}]",
        &["not an Alertmanager API v2 response", "invalid unicode"],
    );
    play(&fake, cases, alertmanager_healthy, || {
        alertmanager_reading(&source)
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alertmanager_silences_failing_alone_is_a_warning_beside_the_alerts() {
    let fake = FakeServer::start(alertmanager_healthy);
    let source = alertmanager_source(&fake.url());
    fake.set(|request: &FakeRequest| {
        if request.path.ends_with("/silences") {
            FakeReply::html(500, "500 Internal Server Error")
        } else {
            FakeReply::json(200, AM_ALERTS)
        }
    });
    let fetched = source
        .alerts(Utc::now())
        .await
        .expect("the alerts answered");
    assert_eq!(fetched.value.alerts.len(), 1);
    assert!(fetched.value.silences.is_empty());
    assert_eq!(
        fetched.warnings,
        ["silences: HTTP 500: 500 Internal Server Error"]
    );
    fake.set(alertmanager_healthy);
    let fetched = source.alerts(Utc::now()).await.unwrap();
    assert_eq!(fetched.value.silences.len(), 1);
    assert!(fetched.warnings.is_empty(), "{:?}", fetched.warnings);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alertmanager_going_away_is_connection_refused_and_it_reads_again_when_back() {
    let mut alertmanager = Alertmanager::start();
    alertmanager.post_alerts(serde_json::json!([{
        "labels": {"alertname": "DiskFull", "service": "db", "severity": "critical"},
        "annotations": {"summary": "disk above 95%"}
    }]));
    let source = alertmanager_source(&alertmanager.url());
    let before = alertmanager_reading(&source)
        .await
        .expect("a real Alertmanager");
    assert!(before.contains("DiskFull/db"), "{before}");

    alertmanager.server_mut().stop();
    let error = alertmanager_reading(&source).await.unwrap_err();
    assert!(
        matches!(&error, SourceError::Unreachable(m)
            if m.contains(&format!("cannot connect to {}", alertmanager.url()))
            && m.contains("Connection refused")),
        "{error:?}"
    );

    // Back, with its data directory but the alert forgotten (Alertmanager
    // keeps silences on disk, alerts in memory): the same source reads
    // what the server says now.
    alertmanager.server_mut().restart();
    let after = alertmanager_reading(&source)
        .await
        .expect("the same source reads the restarted server");
    assert_eq!(after, "alerts [], silences [], warnings []");
}

// ---------------------------------------------------------------------------
// A /metrics endpoint read directly
// ---------------------------------------------------------------------------

const EXPOSITION: &str = "# TYPE node_memory_MemAvailable_bytes gauge\n\
node_memory_MemAvailable_bytes 25\n\
# TYPE node_memory_MemTotal_bytes gauge\n\
node_memory_MemTotal_bytes 100\n\
# TYPE backup_last_success_timestamp_seconds gauge\n\
backup_last_success_timestamp_seconds{target=\"orders-db\",tier=\"critical\"} 1763780400\n";

fn scrape_healthy(_: &FakeRequest) -> FakeReply {
    FakeReply::text(200, EXPOSITION)
}

async fn scrape_reading(source: &ScrapeSource) -> Result<String, SourceError> {
    let health = source.health(Utc::now()).await?.value;
    let backups = source.backups(Utc::now()).await?.value;
    Ok(format!(
        "hosts {:?}, backups {:?}",
        health
            .hosts
            .iter()
            .map(|h| format!("{} memory {}", h.name, h.memory))
            .collect::<Vec<_>>(),
        backups
            .iter()
            .map(|b| format!("{} at {:?}", b.target, b.last_success))
            .collect::<Vec<_>>()
    ))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scrape_faults_are_specific_errors_and_pass() {
    let fake = FakeServer::start(scrape_healthy);
    let metrics = format!("{}/metrics", fake.url());
    let source = ScrapeSource::new(endpoint(&metrics), &Config::default()).unwrap();
    let cases = transport_cases(
        b"<html><body>login required</body></html>\n{\"status\":\"success\"}\n",
        &["not the text exposition format"],
        b"node_memory_MemTotal_bytes{device=\"sd\xffa\"} 100\n",
        &["not UTF-8 text"],
    );
    play(&fake, cases, scrape_healthy, || scrape_reading(&source)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn node_exporter_going_away_is_connection_refused_and_it_reads_again_when_back() {
    let mut node = NodeExporter::start();
    let source = ScrapeSource::new(endpoint(&node.metrics_url()), &Config::default()).unwrap();
    let host = |text: &str| text.contains("memory 0.") || text.contains("memory 1");
    let before = scrape_reading(&source).await.expect("a real node_exporter");
    assert!(host(&before), "{before}");

    node.server_mut().stop();
    let error = scrape_reading(&source).await.unwrap_err();
    assert!(
        matches!(&error, SourceError::Unreachable(m)
            if m.contains("cannot connect to") && m.contains("Connection refused")),
        "{error:?}"
    );

    node.server_mut().restart();
    let after = scrape_reading(&source)
        .await
        .expect("the same source reads the restarted server");
    assert!(host(&after), "{after}");
}
