//! The HTTP backend against a recording server on loopback: the request
//! arrives as templated, values stay data (one path segment, one JSON
//! string), secrets are shown masked, and an error status, a stall, a
//! cancel and a refused connection each end the run as they should.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::mpsc;
use std::time::{Duration as StdDuration, Instant};

use chrono::Duration;
use opsdeck::actions::MASK;
use opsdeck::actions::http::HttpRunner;
use opsdeck::actions::{ActionOutcome, ActionRequest, ActionRunner, Backend, SecretStore};
use opsdeck::config::file::Secret;
use serde_json::{Value, json};
use tokio::sync::{mpsc as tokio_mpsc, oneshot};

const TOKEN: &str = "argocd-t0ken-123";

/// How the server answers.
#[derive(Clone)]
enum Answer {
    Status(u16, &'static str),
    /// Reads the request and never answers.
    Stall,
}

/// One request as it arrived.
struct Received {
    head: String,
    body: Vec<u8>,
}

impl Received {
    fn request_line(&self) -> &str {
        self.head.lines().next().unwrap_or("")
    }

    fn header(&self, name: &str) -> Option<String> {
        self.head.lines().find_map(|line| {
            let (n, v) = line.split_once(':')?;
            n.eq_ignore_ascii_case(name).then(|| v.trim().to_string())
        })
    }

    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap()
    }
}

fn read_request(stream: &mut TcpStream) -> Received {
    let mut data = Vec::new();
    let mut buf = [0u8; 4096];
    let head_end = loop {
        let n = stream.read(&mut buf).unwrap_or(0);
        if n == 0 {
            break data.len();
        }
        data.extend_from_slice(&buf[..n]);
        if let Some(i) = data.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
    };
    let head = String::from_utf8_lossy(&data[..head_end]).to_string();
    let mut received = Received {
        head,
        body: data[head_end..].to_vec(),
    };
    let length: usize = received
        .header("content-length")
        .and_then(|l| l.parse().ok())
        .unwrap_or(0);
    while received.body.len() < length {
        let n = stream.read(&mut buf).unwrap_or(0);
        if n == 0 {
            break;
        }
        received.body.extend_from_slice(&buf[..n]);
    }
    received
}

/// A server on 127.0.0.1 that hands each request to the test and answers
/// with `answer`.
fn recording_server(answer: Answer) -> (String, mpsc::Receiver<Received>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for mut stream in listener.incoming().flatten() {
            let received = read_request(&mut stream);
            let _ = tx.send(received);
            match answer.clone() {
                Answer::Status(code, body) => {
                    let _ = write!(
                        stream,
                        "HTTP/1.1 {code} X\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                        body.len()
                    );
                }
                Answer::Stall => {
                    std::thread::spawn(move || {
                        std::thread::sleep(StdDuration::from_secs(30));
                        drop(stream);
                    });
                }
            }
        }
    });
    (base, rx)
}

fn runner() -> HttpRunner {
    HttpRunner::new(SecretStore::new(BTreeMap::from([(
        "argocd".to_string(),
        Secret::new(TOKEN),
    )])))
}

fn rollback(url: String, body: Value, params: &[(&str, &str)], timeout: Duration) -> ActionRequest {
    ActionRequest {
        action: "rollback".into(),
        target: "checkout".into(),
        environment: "production".into(),
        parameters: params
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        backend: Backend::Http {
            method: "post".into(),
            url,
            headers: BTreeMap::from([
                ("Authorization".into(), "Bearer {secret.argocd}".into()),
                ("X-Opsdeck-User".into(), "{user}".into()),
            ]),
            body: Some(body),
        },
        timeout,
    }
}

async fn run(request: ActionRequest) -> (ActionOutcome, Vec<String>) {
    let (tx, mut rx) = tokio_mpsc::unbounded_channel();
    let (_cancel, cancelled) = oneshot::channel();
    let outcome = runner().run(request, tx, cancelled).await;
    let mut lines = Vec::new();
    while let Ok(line) = rx.try_recv() {
        lines.push(line);
    }
    (outcome, lines)
}

fn received(requests: &mpsc::Receiver<Received>) -> Received {
    requests.recv_timeout(StdDuration::from_secs(5)).unwrap()
}

#[tokio::test]
async fn the_request_arrives_as_templated_and_secrets_are_shown_masked() {
    let (base, requests) = recording_server(Answer::Status(
        200,
        "rolled back\ntoken argocd-t0ken-123 accepted\n",
    ));
    let request = rollback(
        format!("{base}/api/v1/applications/{{service}}/rollback?env={{environment}}"),
        json!({"name": "{service}", "id": 7, "dryRun": false, "note": "by {user}"}),
        &[
            ("service", "checkout"),
            ("environment", "production"),
            ("user", "alice"),
        ],
        Duration::seconds(10),
    );
    let described = runner().describe(&request).unwrap();
    let (outcome, lines) = run(request).await;
    let got = received(&requests);

    assert_eq!(
        got.request_line(),
        "POST /api/v1/applications/checkout/rollback?env=production HTTP/1.1"
    );
    assert_eq!(
        got.header("authorization").unwrap(),
        format!("Bearer {TOKEN}")
    );
    assert_eq!(got.header("x-opsdeck-user").unwrap(), "alice");
    assert_eq!(got.header("content-type").unwrap(), "application/json");
    assert_eq!(
        got.json(),
        json!({"name": "checkout", "id": 7, "dryRun": false, "note": "by alice"})
    );
    assert_eq!(
        outcome,
        ActionOutcome::Succeeded {
            detail: "HTTP 200".into()
        }
    );
    assert_eq!(
        lines,
        ["rolled back".to_string(), format!("token {MASK} accepted")]
    );

    assert_eq!(
        described[..3],
        [
            format!("POST {base}/api/v1/applications/checkout/rollback?env=production"),
            format!("Authorization: Bearer {MASK}"),
            "X-Opsdeck-User: alice".to_string(),
        ]
    );
    let shown_body: Value = serde_json::from_str(&described[3]).unwrap();
    assert_eq!(shown_body, got.json());
    assert!(!described[3].contains('\n'), "the body is shown compact");
    for shown in described.iter().chain(&lines) {
        assert!(!shown.contains(TOKEN), "the token shows in {shown:?}");
    }
}

#[tokio::test]
async fn a_value_with_a_slash_and_a_query_stays_inside_its_path_segment() {
    let (base, requests) = recording_server(Answer::Status(200, ""));
    let request = rollback(
        format!("{base}/api/v1/applications/{{service}}/rollback"),
        json!({}),
        &[("service", "a/b?x=1#top"), ("user", "alice")],
        Duration::seconds(10),
    );
    let (outcome, _) = run(request).await;
    assert_eq!(
        outcome,
        ActionOutcome::Succeeded {
            detail: "HTTP 200".into()
        }
    );
    assert_eq!(
        received(&requests).request_line(),
        "POST /api/v1/applications/a%2Fb%3Fx%3D1%23top/rollback HTTP/1.1"
    );

    // A value that would walk up the path is refused before anything is sent.
    let request = rollback(
        format!("{base}/api/v1/applications/{{service}}/rollback"),
        json!({}),
        &[("service", ".."), ("user", "alice")],
        Duration::seconds(10),
    );
    assert!(
        runner()
            .describe(&request)
            .unwrap_err()
            .contains("'..' segment")
    );
    let (outcome, _) = run(request).await;
    assert!(
        matches!(outcome, ActionOutcome::Failed { .. }),
        "{outcome:?}"
    );
    assert!(
        requests
            .recv_timeout(StdDuration::from_millis(200))
            .is_err()
    );
}

#[tokio::test]
async fn a_json_value_with_quotes_and_braces_arrives_as_one_string() {
    let (base, requests) = recording_server(Answer::Status(200, "{}"));
    let hostile = r#"x"}, "admin": true, "y": {"z"#;
    let request = rollback(
        format!("{base}/hook"),
        json!({"name": "{service}"}),
        &[("service", hostile), ("user", "alice")],
        Duration::seconds(10),
    );
    let (outcome, _) = run(request).await;
    assert_eq!(
        outcome,
        ActionOutcome::Succeeded {
            detail: "HTTP 200".into()
        }
    );
    let body = received(&requests).json();
    assert_eq!(body, json!({"name": hostile}));
    assert_eq!(body.as_object().unwrap().len(), 1);
}

#[tokio::test]
async fn an_error_status_is_a_failure_with_the_status_and_the_first_line() {
    let (base, _requests) = recording_server(Answer::Status(
        500,
        "\nboom: database locked\nsecond line\n",
    ));
    let request = rollback(
        format!("{base}/hook"),
        json!({}),
        &[("user", "alice")],
        Duration::seconds(10),
    );
    let (outcome, lines) = run(request).await;
    assert_eq!(
        outcome,
        ActionOutcome::Failed {
            detail: "HTTP 500 Internal Server Error: boom: database locked".into()
        }
    );
    assert_eq!(lines, ["", "boom: database locked", "second line"]);
}

#[tokio::test]
async fn a_stalled_server_times_out() {
    let (base, _requests) = recording_server(Answer::Stall);
    let request = rollback(
        format!("{base}/hook"),
        json!({}),
        &[("user", "alice")],
        Duration::milliseconds(500),
    );
    let started = Instant::now();
    let (outcome, _) = run(request).await;
    assert_eq!(outcome, ActionOutcome::TimedOut);
    assert!(
        started.elapsed() < StdDuration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn cancel_aborts_the_request() {
    let (base, requests) = recording_server(Answer::Stall);
    let request = rollback(
        format!("{base}/hook"),
        json!({}),
        &[("user", "alice")],
        Duration::seconds(30),
    );
    let (tx, _rx) = tokio_mpsc::unbounded_channel();
    let (cancel, cancelled) = oneshot::channel();
    let started = Instant::now();
    let running = tokio::spawn(async move { runner().run(request, tx, cancelled).await });
    // Once the server holds the request, cancel.
    tokio::task::spawn_blocking(move || received(&requests))
        .await
        .unwrap();
    cancel.send(()).unwrap();
    assert_eq!(running.await.unwrap(), ActionOutcome::Cancelled);
    assert!(
        started.elapsed() < StdDuration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn a_refused_connection_is_a_failure_that_says_so() {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let request = rollback(
        format!("http://127.0.0.1:{port}/hook?key={{secret.argocd}}"),
        json!({}),
        &[("user", "alice")],
        Duration::seconds(10),
    );
    let (outcome, _) = run(request).await;
    let ActionOutcome::Failed { detail } = outcome else {
        panic!("{outcome:?}");
    };
    assert!(
        detail.starts_with(&format!("POST http://127.0.0.1:{port}/hook?key={MASK}: ")),
        "{detail}"
    );
    assert!(detail.contains("Connection refused"), "{detail}");
}
