//! HTTP for every live source: timeouts, auth, headers, a CA file, retries
//! with backoff, a cap on how much of a response is read, one budget that
//! all the bodies being read at once share, and no redirects followed: a
//! request, and its credentials, go to the configured scheme, host and port
//! only.

use std::sync::Once;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use reqwest::header::{AUTHORIZATION, HeaderMap, HeaderName, HeaderValue, LOCATION};

use super::SourceError;
use crate::config::file::{Auth, Endpoint};
use crate::text::clean;

/// Waits before the second and third attempts after a failure that may pass
/// (no connection, 502, 503, 504).
const BACKOFF: [Duration; 2] = [Duration::from_millis(200), Duration::from_millis(600)];

/// An answer: its status and the body, read up to the endpoint's cap. The
/// body's share of the budget is held until the answer is dropped, so what
/// the decoders read from is counted too.
pub struct Answer {
    pub status: u16,
    pub body: Vec<u8>,
    _held: Reservation<'static>,
}

/// The bytes all answer bodies being read (and decoded) at once may take
/// together, `limits.max_body_total`: ~25 queries in flight, each allowed
/// its endpoint's 32 MiB, would otherwise let a server that streams
/// without end take hundreds of MB. An answer that does not fit in what is
/// left is dropped at once, unread, rather than waited for: waiting would
/// let endless answers hold the whole budget between them until they time
/// out.
#[derive(Debug)]
pub struct BodyBudget {
    total: AtomicU64,
    in_use: AtomicU64,
}

/// The budget of every `HttpClient` of the process; `sources::from_config`
/// sets its size.
static SHARED: BodyBudget = BodyBudget::new(crate::config::limits::DEFAULT_MAX_BODY_TOTAL);

impl BodyBudget {
    pub const fn new(total: u64) -> BodyBudget {
        BodyBudget {
            total: AtomicU64::new(total),
            in_use: AtomicU64::new(0),
        }
    }

    /// The process's budget.
    pub fn shared() -> &'static BodyBudget {
        &SHARED
    }

    /// A new size; what is held stays held, and what no longer fits is
    /// refused from the next chunk on.
    pub fn set_total(&self, total: u64) {
        self.total.store(total, Ordering::SeqCst);
    }

    pub fn total(&self) -> u64 {
        self.total.load(Ordering::SeqCst)
    }

    /// Bytes held by answers now.
    pub fn in_use(&self) -> u64 {
        self.in_use.load(Ordering::SeqCst)
    }

    /// An empty share, to be grown chunk by chunk; released on drop.
    pub fn reservation(&self) -> Reservation<'_> {
        Reservation {
            budget: self,
            held: 0,
        }
    }
}

/// One answer's share of a [`BodyBudget`]; what it holds goes back to the
/// budget when it is dropped, on every path (an error, a timeout that drops
/// the request's future, a decoded answer).
#[derive(Debug)]
pub struct Reservation<'a> {
    budget: &'a BodyBudget,
    held: u64,
}

impl Reservation<'_> {
    /// Takes `n` more bytes, or, if they are not left, nothing: then the
    /// error is how much this answer could have had (what it holds and
    /// what was left), the size it is larger than.
    pub fn grow(&mut self, n: u64) -> Result<(), u64> {
        let total = self.budget.total();
        let mut in_use = self.budget.in_use.load(Ordering::SeqCst);
        loop {
            let next = in_use.saturating_add(n);
            if next > total {
                return Err(self.held + total.saturating_sub(in_use));
            }
            match self.budget.in_use.compare_exchange_weak(
                in_use,
                next,
                Ordering::SeqCst,
                Ordering::SeqCst,
            ) {
                Ok(_) => break,
                Err(seen) => in_use = seen,
            }
        }
        self.held += n;
        Ok(())
    }

    /// Gives `n` of what it holds back.
    pub fn shrink(&mut self, n: u64) {
        let n = n.min(self.held);
        self.budget.in_use.fetch_sub(n, Ordering::SeqCst);
        self.held -= n;
    }

    pub fn held(&self) -> u64 {
        self.held
    }
}

impl Drop for Reservation<'_> {
    fn drop(&mut self) {
        self.budget.in_use.fetch_sub(self.held, Ordering::SeqCst);
    }
}

/// The size of the blocks a body of no declared length is read into.
const BLOCK: usize = 64 * 1024;

/// A body of no declared length as it is read: blocks of one size, each
/// taken from the budget before it is filled. An answer refused part-way
/// leaves behind only blocks of that size, which the allocator hands
/// straight to the next answer; one buffer grown by doubling left holes of
/// every size behind, and opsdeck's resident memory at several times the
/// budget under endless answers.
#[derive(Default)]
struct Blocks {
    blocks: Vec<Vec<u8>>,
    len: usize,
}

impl Blocks {
    fn push(&mut self, chunk: &[u8], held: &mut Reservation<'_>) -> Result<(), SourceError> {
        let mut rest = chunk;
        while !rest.is_empty() {
            let full = self.blocks.last().is_none_or(|b| b.len() == BLOCK);
            if full {
                held.grow(BLOCK as u64).map_err(SourceError::OverBudget)?;
                self.blocks.push(Vec::with_capacity(BLOCK));
            }
            let block = self.blocks.last_mut().expect("a block with room");
            let n = (BLOCK - block.len()).min(rest.len());
            block.extend_from_slice(&rest[..n]);
            rest = &rest[n..];
        }
        self.len += chunk.len();
        Ok(())
    }

    /// The body in one piece. While it is copied the blocks and the copy
    /// are both held, so the copy is taken from the budget first, and
    /// each block given back as it is copied.
    fn join(self, held: &mut Reservation<'_>) -> Result<Vec<u8>, SourceError> {
        held.grow(self.len as u64)
            .map_err(SourceError::OverBudget)?;
        let mut body = Vec::with_capacity(self.len);
        for block in self.blocks {
            body.extend_from_slice(&block);
            held.shrink(BLOCK as u64);
        }
        Ok(body)
    }
}

#[derive(Debug, Clone)]
pub struct HttpClient {
    pub endpoint: Endpoint,
    client: reqwest::Client,
    budget: &'static BodyBudget,
}

fn install_crypto() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // Another part of the process may have installed one already.
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

fn headers(endpoint: &Endpoint) -> Result<HeaderMap, String> {
    let mut map = HeaderMap::new();
    for (name, value) in &endpoint.headers {
        let name = HeaderName::from_bytes(name.as_bytes())
            .map_err(|e| format!("header name '{name}': {e}"))?;
        let value = HeaderValue::from_str(value).map_err(|e| format!("header {name}: {e}"))?;
        map.insert(name, value);
    }
    if map.contains_key(AUTHORIZATION) && endpoint.auth != Auth::None {
        return Err("both an Authorization header and bearer/basic auth are set".into());
    }
    Ok(map)
}

impl HttpClient {
    pub fn new(endpoint: Endpoint) -> Result<HttpClient, String> {
        install_crypto();
        let mut builder = reqwest::Client::builder()
            .connect_timeout(endpoint.connect_timeout)
            .timeout(endpoint.timeout)
            .no_proxy()
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("opsdeck/", env!("CARGO_PKG_VERSION")))
            .default_headers(headers(&endpoint)?);
        if let Some(path) = &endpoint.ca_file {
            let pem =
                std::fs::read(path).map_err(|e| format!("CA file {}: {e}", path.display()))?;
            let certs = reqwest::Certificate::from_pem_bundle(&pem)
                .map_err(|e| format!("CA file {}: {e}", path.display()))?;
            for cert in certs {
                builder = builder.add_root_certificate(cert);
            }
        }
        let client = builder
            .build()
            .map_err(|e| format!("cannot set up HTTP for {}: {e}", endpoint.url))?;
        Ok(HttpClient {
            endpoint,
            client,
            budget: BodyBudget::shared(),
        })
    }

    /// The same client, drawing on `budget` instead of the process's.
    pub fn with_budget(self, budget: &'static BodyBudget) -> HttpClient {
        HttpClient { budget, ..self }
    }

    /// GETs `path` (relative to the endpoint's URL) with `query`, retrying
    /// what may pass, and reads at most the endpoint's cap of the body.
    pub async fn get(&self, path: &str, query: &[(&str, String)]) -> Result<Answer, SourceError> {
        let url = join(&self.endpoint.url, path);
        let mut attempt = 0;
        loop {
            let result = self.once(&url, query).await;
            let retry = match &result {
                Err(SourceError::Unreachable(_)) => true,
                Ok(answer) => matches!(answer.status, 502..=504),
                Err(_) => false,
            };
            if !retry || attempt == BACKOFF.len() {
                return result;
            }
            tokio::time::sleep(BACKOFF[attempt]).await;
            attempt += 1;
        }
    }

    async fn once(
        &self,
        url: &reqwest::Url,
        query: &[(&str, String)],
    ) -> Result<Answer, SourceError> {
        let request = self.client.get(url.clone()).query(query);
        // reqwest marks these headers sensitive, so they stay out of logs.
        let request = match &self.endpoint.auth {
            Auth::None => request,
            Auth::Bearer(token) => request.bearer_auth(token.expose()),
            Auth::Basic { username, password } => {
                request.basic_auth(username, Some(password.expose()))
            }
        };
        let mut response = request.send().await.map_err(|e| match self.error(&e) {
            // A kept-alive connection the server closed (it restarted, or
            // went away) as the request went out: nothing was answered, so
            // the GET is asked again, on a new connection.
            SourceError::Failed(m) if closed_before_answer(&e) => SourceError::Unreachable(m),
            other => other,
        })?;
        let status = response.status().as_u16();
        if response.status().is_redirection() {
            return Err(redirected(url, status, response.headers().get(LOCATION)));
        }
        let cap = self.endpoint.max_response_bytes;
        let mut held = self.budget.reservation();
        // Returning drops `response`, and with it the connection: the rest
        // of an answer refused part-way is never read.
        let body = if let Some(len) = response.content_length() {
            if len > cap {
                return Err(SourceError::TooLarge(cap));
            }
            // A declared length is taken whole, before any of it is read,
            // and read into one buffer of that size.
            held.grow(len).map_err(SourceError::OverBudget)?;
            let mut body = Vec::with_capacity(len as usize);
            while let Some(chunk) = response.chunk().await.map_err(|e| self.error(&e))? {
                body.extend_from_slice(&chunk);
            }
            body
        } else {
            let mut blocks = Blocks::default();
            while let Some(chunk) = response.chunk().await.map_err(|e| self.error(&e))? {
                if blocks.len as u64 + chunk.len() as u64 > cap {
                    return Err(SourceError::TooLarge(cap));
                }
                blocks.push(&chunk, &mut held)?;
            }
            blocks.join(&mut held)?
        };
        Ok(Answer {
            status,
            body,
            _held: held,
        })
    }

    fn error(&self, e: &reqwest::Error) -> SourceError {
        // The innermost cause says what happened ("Connection refused"); the
        // outer layers only say which library noticed.
        let mut cause: &dyn std::error::Error = e;
        while let Some(inner) = cause.source() {
            cause = inner;
        }
        let cause = cause.to_string();
        if e.is_connect() {
            // A connect timeout is a failure to connect: retried, and said so.
            SourceError::Unreachable(
                clean(&format!("cannot connect to {}: {cause}", self.endpoint.url)).into_owned(),
            )
        } else if e.is_timeout() {
            SourceError::Timeout(self.endpoint.timeout.as_secs().max(1))
        } else {
            SourceError::Failed(clean(&format!("{}: {cause}", self.endpoint.url)).into_owned())
        }
    }
}

/// Whether the connection closed before any of the answer came.
fn closed_before_answer(e: &reqwest::Error) -> bool {
    let mut cause: Option<&dyn std::error::Error> = Some(e);
    while let Some(c) = cause {
        if c.downcast_ref::<hyper::Error>()
            .is_some_and(hyper::Error::is_incomplete_message)
        {
            return true;
        }
        cause = c.source();
    }
    false
}

/// A 3xx answer as an error naming where it pointed: following it could
/// take the request, with its headers, from https to http or to another
/// host. The target is shown resolved, without user information, query or
/// fragment (a query can be long, or hold a token), and cleaned.
fn redirected(from: &reqwest::Url, status: u16, location: Option<&HeaderValue>) -> SourceError {
    let target = location
        .and_then(|l| l.to_str().ok())
        .map(|l| match from.join(l) {
            Ok(mut to) => {
                let _ = to.set_username("");
                let _ = to.set_password(None);
                to.set_query(None);
                to.set_fragment(None);
                let downgrade = from.scheme() == "https" && to.scheme() == "http";
                let note = if downgrade {
                    " (from https to http)"
                } else {
                    ""
                };
                format!("{to}{note}")
            }
            Err(_) => crate::config::file::mask_userinfo(l).into_owned(),
        });
    let target = target.unwrap_or_else(|| "nowhere (no Location header)".into());
    SourceError::Failed(
        clean(&format!(
            "HTTP {status}: redirected to {target}; opsdeck follows no redirects (point the source's url at where the API is served)"
        ))
        .into_owned(),
    )
}

/// `base` + `path`, keeping any path prefix the base has (a Prometheus
/// behind `/prometheus`, VictoriaMetrics' `/prometheus` API).
fn join(base: &reqwest::Url, path: &str) -> reqwest::Url {
    if path.is_empty() {
        return base.clone();
    }
    let mut url = base.clone();
    let prefix = base.path().trim_end_matches('/');
    url.set_path(&format!("{prefix}/{}", path.trim_start_matches('/')));
    url
}

/// A size as the panel says it: `4 MiB`, `1.5 MiB`, `512 KiB`, `300 bytes`.
pub fn size(bytes: u64) -> String {
    const KIB: u64 = 1024;
    const MIB: u64 = 1024 * 1024;
    if bytes >= MIB {
        let tenths = (bytes * 10 + MIB / 2) / MIB;
        if tenths.is_multiple_of(10) {
            format!("{} MiB", tenths / 10)
        } else {
            format!("{}.{} MiB", tenths / 10, tenths % 10)
        }
    } else if bytes >= KIB {
        format!("{} KiB", bytes / KIB)
    } else {
        format!("{bytes} bytes")
    }
}

/// The start of a body that is not what was expected, safe to show: for an
/// HTML error page, its title.
pub fn snippet(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(&body[..body.len().min(4096)]);
    let lower = text.to_ascii_lowercase();
    let shown = match (lower.find("<title>"), lower.find("</title>")) {
        (Some(a), Some(b)) if b > a => text[a + 7..b].trim().to_string(),
        _ => text.split_whitespace().collect::<Vec<_>>().join(" "),
    };
    let shown: String = shown.chars().take(120).collect();
    clean(&shown).into_owned()
}

#[cfg(test)]
mod tests {
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
}
