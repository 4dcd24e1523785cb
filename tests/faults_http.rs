//! Faults a real Prometheus will not produce on demand, from a small fake
//! server on loopback: a stall, an HTML 502, an error envelope, a body over
//! the cap, invalid UTF-8, NaN values; each is a specific error (or value),
//! never a panic, and the source recovers when the server does.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::Utc;
use opsdeck::config::file::{Config, Endpoint};
use opsdeck::sources::metrics::PrometheusSource;
use opsdeck::sources::{MetricsSource, SourceError};

#[derive(Clone, Copy, Debug)]
enum Fault {
    Healthy,
    Stall,
    Html502,
    BadQuery,
    Huge,
    Endless,
    NotUtf8,
    NanValues,
    /// One 503, then healthy: what a retry gets past.
    Unavailable503Once,
    /// Reads the request and hangs up without a word, once, then healthy:
    /// a kept-alive connection the server closed as the request went out.
    HangUpOnce,
    /// The same on every request.
    HangUp,
}

const VECTOR: &str = r#"{"status":"success","data":{"resultType":"vector","result":[{"metric":{"service":"checkout"},"value":[1,"12.5"]}]}}"#;
const NAN_VECTOR: &str = r#"{"status":"success","data":{"resultType":"vector","result":[{"metric":{"service":"checkout"},"value":[1,"NaN"]},{"metric":{"service":"search"},"value":[1,"+Inf"]}]}}"#;

fn respond(mut stream: TcpStream, fault: Fault) {
    let mut buf = [0u8; 8192];
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    let _ = stream.read(&mut buf);
    let reply = |stream: &mut TcpStream, status: &str, kind: &str, body: &[u8]| {
        let head = format!(
            "HTTP/1.1 {status}\r\nContent-Type: {kind}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            body.len()
        );
        let _ = stream.write_all(head.as_bytes());
        let _ = stream.write_all(body);
    };
    match fault {
        Fault::Healthy => reply(&mut stream, "200 OK", "application/json", VECTOR.as_bytes()),
        Fault::NanValues => reply(&mut stream, "200 OK", "application/json", NAN_VECTOR.as_bytes()),
        Fault::Stall => std::thread::sleep(Duration::from_secs(10)),
        Fault::Html502 => reply(&mut stream, "502 Bad Gateway", "text/html", b"<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>"),
        Fault::BadQuery => reply(&mut stream, "400 Bad Request", "application/json", br#"{"status":"error","errorType":"bad_data","error":"invalid parameter \"query\": 1:14: parse error: unexpected \"}\""}"#),
        Fault::Huge => {
            let head = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 209715200\r\nConnection: close\r\n\r\n";
            let _ = stream.write_all(head.as_bytes());
        }
        Fault::Endless => {
            let _ = stream.write_all(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n");
            let chunk = format!("{:x}\r\n{}\r\n", 65536, "x".repeat(65536));
            for _ in 0..64 {
                if stream.write_all(chunk.as_bytes()).is_err() {
                    break;
                }
            }
        }
        Fault::HangUpOnce | Fault::HangUp => {}
        Fault::Unavailable503Once => reply(&mut stream, "503 Service Unavailable", "text/plain", b"overloaded"),
        Fault::NotUtf8 => reply(&mut stream, "200 OK", "application/json", b"{\"status\":\"success\",\xff\xfe\"data\":1}"),
    }
}

/// A fake server on a free loopback port that answers with the current fault.
fn fake() -> (String, Arc<Mutex<Fault>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let fault = Arc::new(Mutex::new(Fault::Healthy));
    let current = fault.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let f = {
                let mut current = current.lock().unwrap();
                let now = *current;
                if let Fault::Unavailable503Once | Fault::HangUpOnce = now {
                    *current = Fault::Healthy;
                }
                now
            };
            std::thread::spawn(move || respond(stream, f));
        }
    });
    (url, fault)
}

fn source(url: &str) -> PrometheusSource {
    let mut endpoint = Endpoint::plain("fake", reqwest::Url::parse(url).unwrap());
    endpoint.timeout = Duration::from_secs(1);
    endpoint.max_response_bytes = 1024 * 1024;
    PrometheusSource::new(endpoint, &Config::default()).unwrap()
}

async fn health_error(source: &PrometheusSource) -> SourceError {
    source
        .health(Utc::now())
        .await
        .expect_err("the fault is an error")
}

#[tokio::test]
async fn each_fault_gives_a_specific_error_and_the_source_recovers() {
    let (url, fault) = fake();
    let source = source(&url);
    let cases: [(Fault, &str); 6] = [
        (Fault::Stall, "no answer within 1 s"),
        (Fault::Html502, "HTTP 502: 502 Bad Gateway"),
        (
            Fault::BadQuery,
            "bad_data: invalid parameter \"query\": 1:14: parse error",
        ),
        (Fault::Huge, "response larger than 1 MiB, not read"),
        (Fault::Endless, "response larger than 1 MiB, not read"),
        (Fault::NotUtf8, "not a Prometheus API response"),
    ];
    for (f, expected) in cases {
        *fault.lock().unwrap() = f;
        let error = health_error(&source).await.to_string();
        assert!(error.contains(expected), "{f:?}: {error}");
        // Back to health: the next fetch works without a restart.
        *fault.lock().unwrap() = Fault::Healthy;
        let reading = source
            .health(Utc::now())
            .await
            .unwrap_or_else(|e| panic!("{f:?}, then healthy: {e}"));
        let checkout = reading
            .value
            .services
            .iter()
            .find(|s| s.name == "checkout")
            .expect("checkout");
        assert_eq!(checkout.requests_per_second, 12.5);
    }
}

#[tokio::test]
async fn nan_and_infinity_are_unknown_not_crashes() {
    let (url, fault) = fake();
    *fault.lock().unwrap() = Fault::NanValues;
    let reading = source(&url).health(Utc::now()).await.unwrap().value;
    let checkout = reading
        .services
        .iter()
        .find(|s| s.name == "checkout")
        .unwrap();
    assert!(checkout.requests_per_second.is_nan());
    let search = reading
        .services
        .iter()
        .find(|s| s.name == "search")
        .unwrap();
    // +Inf requests a second is no rate: unknown, never a number shown or
    // added into the estate's error rate.
    assert!(search.requests_per_second.is_nan());
}

#[tokio::test]
async fn a_dead_server_is_unreachable_with_its_reason() {
    // Bind, then drop, to find a port nothing listens on.
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let error = health_error(&source(&format!("http://127.0.0.1:{port}"))).await;
    assert!(
        matches!(&error, SourceError::Unreachable(m) if m.contains("Connection refused")),
        "{error}"
    );
}

/// The Prometheus API client alone, without the health feed's queries.
fn api(url: &str) -> opsdeck::sources::prometheus::PrometheusApi {
    opsdeck::sources::prometheus::PrometheusApi {
        http: opsdeck::sources::http::HttpClient::new(Endpoint::plain(
            "fake",
            reqwest::Url::parse(url).unwrap(),
        ))
        .unwrap(),
    }
}

#[tokio::test]
async fn a_connection_closed_before_any_answer_is_asked_again_and_then_said() {
    let (url, fault) = fake();
    let api = api(&url);
    *fault.lock().unwrap() = Fault::HangUpOnce;
    let answer = api
        .query("up", Utc::now())
        .await
        .expect("the second ask is answered");
    assert_eq!(answer.result.len(), 1);

    *fault.lock().unwrap() = Fault::HangUp;
    let started = std::time::Instant::now();
    let error = api.query("up", Utc::now()).await.unwrap_err();
    assert!(
        error
            .to_string()
            .contains("connection closed before message completed"),
        "{error}"
    );
    assert!(
        started.elapsed() >= Duration::from_millis(800),
        "asked three times, 0.2 s and 0.6 s apart: {:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn a_passing_503_is_retried_after_a_backoff_and_never_seen() {
    let (url, fault) = fake();
    let api = api(&url);
    *fault.lock().unwrap() = Fault::Unavailable503Once;
    let started = std::time::Instant::now();
    let answer = api
        .query("up", Utc::now())
        .await
        .expect("the retry succeeds");
    assert_eq!(answer.result.len(), 1);
    assert!(
        started.elapsed() >= Duration::from_millis(200),
        "it waited before retrying"
    );
}
