//! Tests of `http.rs`: paths, redirects, error pages and the body budget.

use super::*;

#[test]
fn paths_join_under_the_base_path() {
    let base = reqwest::Url::parse("http://127.0.0.1:8428/prometheus/").unwrap();
    assert_eq!(
        join(&base, "/api/v1/query").as_str(),
        "http://127.0.0.1:8428/prometheus/api/v1/query"
    );
    let bare = reqwest::Url::parse("http://127.0.0.1:9090").unwrap();
    assert_eq!(
        join(&bare, "api/v1/query").as_str(),
        "http://127.0.0.1:9090/api/v1/query"
    );
}

#[test]
fn a_redirect_names_its_target_without_secrets_and_flags_a_downgrade() {
    let from = reqwest::Url::parse("https://prom.example:9090/api/v1/query?query=up").unwrap();
    let say = |location: &str| {
        let value = HeaderValue::from_str(location).unwrap();
        redirected(&from, 302, Some(&value)).to_string()
    };
    assert_eq!(
        say("http://u:pw@prom.example/api/v1/query?query=up&token=t0k"),
        "HTTP 302: redirected to http://prom.example/api/v1/query (from https to http); opsdeck follows no redirects (point the source's url at where the API is served)"
    );
    assert!(
        say("/prometheus/api/v1/query").starts_with(
            "HTTP 302: redirected to https://prom.example:9090/prometheus/api/v1/query;"
        ),
        "a relative target is shown resolved"
    );
    assert!(
        say("http://u:pw@[bad").starts_with("HTTP 302: redirected to http://u:••••@[bad;"),
        "{}",
        say("http://u:pw@[bad")
    );
    assert!(
        redirected(&from, 301, None)
            .to_string()
            .starts_with("HTTP 301: redirected to nowhere (no Location header);")
    );
}

/// A server on loopback that answers every request with `reply` and
/// counts the requests it got.
fn serve(reply: String) -> (String, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/", listener.local_addr().unwrap());
    let hits = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counted = hits.clone();
    std::thread::spawn(move || {
        for mut stream in listener.incoming().flatten() {
            counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let mut buf = [0u8; 4096];
            let _ = stream.read(&mut buf);
            let _ = stream.write_all(reply.as_bytes());
        }
    });
    (url, hits)
}

#[tokio::test]
async fn a_redirect_is_an_error_and_never_followed() {
    let ok = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}";
    let (elsewhere, followed) = serve(ok.to_string());
    let target = format!(
        "{}api/v1/query",
        elsewhere.replace("http://", "http://u:pw@")
    );
    let moved = format!(
        "HTTP/1.1 302 Found\r\nLocation: {target}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    );
    let (url, asked) = serve(moved);
    let mut endpoint = Endpoint::plain("prom", reqwest::Url::parse(&url).unwrap());
    endpoint.auth = Auth::Bearer(crate::config::file::Secret::new("t0k3n"));
    let client = HttpClient::new(endpoint).unwrap();
    let error = client
        .get("api/v1/query", &[("query", "up".into())])
        .await
        .err()
        .expect("a redirect is an error");
    let shown = error.to_string();
    assert!(
        shown.starts_with(&format!("HTTP 302: redirected to {elsewhere}api/v1/query;")),
        "{shown}"
    );
    assert!(!shown.contains("pw") && !shown.contains("t0k3n"), "{shown}");
    assert_eq!(
        asked.load(std::sync::atomic::Ordering::SeqCst),
        1,
        "not retried"
    );
    assert_eq!(
        followed.load(std::sync::atomic::Ordering::SeqCst),
        0,
        "the target was never asked"
    );
}

/// A budget of `total` bytes for one test.
fn budget(total: u64) -> &'static BodyBudget {
    Box::leak(Box::new(BodyBudget::new(total)))
}

#[test]
fn a_reservation_takes_what_is_left_and_gives_it_back_when_dropped() {
    let b = budget(100);
    let mut one = b.reservation();
    let mut two = b.reservation();
    assert_eq!(one.grow(60), Ok(()));
    assert_eq!(two.grow(30), Ok(()));
    assert_eq!(b.in_use(), 90);
    assert_eq!(
        two.grow(11),
        Err(40),
        "30 held and 10 left: 40 was its room"
    );
    assert_eq!(
        (two.held(), b.in_use()),
        (30, 90),
        "a refusal takes nothing"
    );
    assert_eq!(two.grow(10), Ok(()));
    drop(one);
    assert_eq!(b.in_use(), 40);
    assert_eq!(two.grow(60), Ok(()));
    drop(two);
    assert_eq!(b.in_use(), 0);
}

#[test]
fn concurrent_readers_never_hold_more_than_the_total() {
    use std::sync::atomic::AtomicBool;
    let b = budget(64 * 1024);
    let done = Box::leak(Box::new(AtomicBool::new(false)));
    let watcher = std::thread::spawn(|| {
        let mut most = 0;
        while !done.load(Ordering::SeqCst) {
            most = most.max(b.in_use());
        }
        most
    });
    let readers: Vec<_> = (0..8u64)
        .map(|i| {
            std::thread::spawn(move || {
                let mut refused = 0;
                for round in 0..2_000u64 {
                    let mut r = b.reservation();
                    while r.grow(1 + (i * 131 + round * 17) % 4096).is_ok() {
                        assert!(b.in_use() <= b.total());
                    }
                    refused += 1;
                }
                refused
            })
        })
        .collect();
    for reader in readers {
        assert_eq!(reader.join().unwrap(), 2_000, "every round ends refused");
    }
    done.store(true, Ordering::SeqCst);
    let most = watcher.join().unwrap();
    assert!(most <= 64 * 1024, "{most} bytes held at once");
    assert_eq!(b.in_use(), 0, "every reservation was given back");
}

#[test]
fn sizes_read_as_the_panel_says_them() {
    assert_eq!(size(4 * 1024 * 1024), "4 MiB");
    assert_eq!(size(1_572_864), "1.5 MiB");
    assert_eq!(size(512 * 1024), "512 KiB");
    assert_eq!(size(300), "300 bytes");
}

/// A server on loopback whose every answer is a chunked body that never
/// ends; it counts the bytes it got to send before the client hung up.
fn endless() -> (String, std::sync::Arc<AtomicU64>) {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/", listener.local_addr().unwrap());
    let sent = std::sync::Arc::new(AtomicU64::new(0));
    let counted = sent.clone();
    std::thread::spawn(move || {
        for mut stream in listener.incoming().flatten() {
            let counted = counted.clone();
            std::thread::spawn(move || {
                let mut buf = [0u8; 4096];
                let _ = stream.read(&mut buf);
                let head = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
                let _ = stream.write_all(head.as_bytes());
                let chunk = format!("4000\r\n{}\r\n", " ".repeat(0x4000));
                // At most 64 MiB, so a client that never stops ends too.
                for _ in 0..4096 {
                    if stream.write_all(chunk.as_bytes()).is_err() {
                        return;
                    }
                    counted.fetch_add(0x4000, Ordering::SeqCst);
                }
            });
        }
    });
    (url, sent)
}

fn client(url: &str, budget: &'static BodyBudget) -> HttpClient {
    let endpoint = Endpoint::plain("prom", reqwest::Url::parse(url).unwrap());
    HttpClient::new(endpoint).unwrap().with_budget(budget)
}

#[tokio::test]
async fn an_endless_answer_is_dropped_when_it_outgrows_the_budget_not_the_cap() {
    let (url, sent) = endless();
    let b = budget(256 * 1024);
    let error = client(&url, b).get("", &[]).await.err().expect("refused");
    assert_eq!(error, SourceError::OverBudget(256 * 1024));
    assert_eq!(
        error.to_string(),
        "answer larger than 256 KiB, not read (limits.max_body_total)"
    );
    assert_eq!(b.in_use(), 0, "its share was given back");
    std::thread::sleep(Duration::from_millis(300));
    let sent = sent.load(Ordering::SeqCst);
    // The connection is dropped: what the server got out is the budget
    // and what the sockets buffer, far under the 32 MiB cap.
    assert!(sent < 16 * 1024 * 1024, "{sent} bytes sent");
}

#[tokio::test]
async fn a_declared_length_over_what_is_left_is_refused_before_any_of_it_is_read() {
    // The head declares 8 MiB and no body follows: reading would wait
    // for the endpoint's timeout.
    let (url, _) = serve(
        "HTTP/1.1 200 OK\r\nContent-Length: 8388608\r\nConnection: close\r\n\r\n".to_string(),
    );
    let b = budget(4 * 1024 * 1024);
    let mut held = b.reservation();
    held.grow(1024 * 1024).unwrap();
    let started = std::time::Instant::now();
    let error = client(&url, b).get("", &[]).await.err().expect("refused");
    assert_eq!(error, SourceError::OverBudget(3 * 1024 * 1024));
    assert!(started.elapsed() < Duration::from_secs(2), "at once");
    assert_eq!(b.in_use(), 1024 * 1024);
}

#[tokio::test]
async fn an_answer_that_fits_is_read_and_holds_its_share_until_dropped() {
    let body = "x".repeat(100_000);
    let (url, _) = serve(format!(
        "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    ));
    let b = budget(256 * 1024);
    let Ok(answer) = client(&url, b).get("", &[]).await else {
        panic!("an answer within the budget is read");
    };
    assert_eq!(answer.body.len(), 100_000);
    assert_eq!(b.in_use(), 100_000);
    drop(answer);
    assert_eq!(b.in_use(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn endless_answers_read_together_share_one_budget() {
    let (url, _) = endless();
    let b = budget(1024 * 1024);
    let asks = (0..8).map(|_| {
        let c = client(&url, b);
        tokio::spawn(async move { c.get("", &[]).await.err() })
    });
    for ask in asks.collect::<Vec<_>>() {
        let error = ask.await.unwrap().expect("refused");
        assert!(
            matches!(error, SourceError::OverBudget(n) if n <= 1024 * 1024),
            "{error}"
        );
    }
    assert_eq!(b.in_use(), 0);
}

#[test]
fn an_html_error_page_is_shown_by_its_title() {
    let page = b"<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>";
    assert_eq!(snippet(page), "502 Bad Gateway");
    assert_eq!(snippet(b"plain\n  text\x1b[2J"), "plain text\\x1b[2J");
}
