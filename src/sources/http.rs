//! HTTP for every live source: timeouts, auth, headers, a CA file, retries
//! with backoff, a cap on how much of a response is read, one budget that
//! all the bodies being read at once share, and no redirects followed: a
//! request, and its credentials, go to the configured scheme, host and port
//! only.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Once};
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
    client: LazyClient,
    budget: &'static BodyBudget,
}

/// A reqwest client built on its first request, not when it is made:
/// building one loads and parses the system's root certificates (some
/// 8 ms each), which, for every endpoint configured, would hold up the
/// first frame. What can be wrong with an endpoint (headers, auth, a CA
/// file) is checked when it is made; a build that still fails is that
/// request's error, and every later one's.
#[derive(Clone)]
pub(crate) struct LazyClient(Arc<LazyInner>);

type Make = Box<dyn Fn() -> Result<reqwest::Client, String> + Send + Sync>;

struct LazyInner {
    make: Make,
    built: std::sync::OnceLock<Result<reqwest::Client, String>>,
}

impl LazyClient {
    pub(crate) fn new(
        make: impl Fn() -> Result<reqwest::Client, String> + Send + Sync + 'static,
    ) -> LazyClient {
        LazyClient(Arc::new(LazyInner {
            make: Box::new(make),
            built: std::sync::OnceLock::new(),
        }))
    }

    /// The client, built now if it was not yet.
    pub(crate) fn get(&self) -> Result<&reqwest::Client, String> {
        let inner = &*self.0;
        inner
            .built
            .get_or_init(|| (inner.make)())
            .as_ref()
            .map_err(Clone::clone)
    }
}

impl std::fmt::Debug for LazyClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let built = self.0.built.get().is_some();
        f.debug_struct("LazyClient").field("built", &built).finish()
    }
}

impl LazyClient {
    /// A client for `endpoint`: its connect timeout, `headers`, its CA
    /// file (read and checked now), `timeout` on every request where
    /// given; no proxy, no redirects.
    pub(crate) fn for_endpoint(
        endpoint: &Endpoint,
        headers: HeaderMap,
        timeout: Option<Duration>,
    ) -> Result<LazyClient, String> {
        let certs = ca_certificates(endpoint.ca_file.as_deref())?;
        let (connect, url) = (endpoint.connect_timeout, endpoint.url.clone());
        Ok(LazyClient::new(move || {
            install_crypto();
            let mut builder = reqwest::Client::builder()
                .connect_timeout(connect)
                .no_proxy()
                .redirect(reqwest::redirect::Policy::none())
                .user_agent(concat!("opsdeck/", env!("CARGO_PKG_VERSION")))
                .default_headers(headers.clone());
            if let Some(timeout) = timeout {
                builder = builder.timeout(timeout);
            }
            for cert in &certs {
                builder = builder.add_root_certificate(cert.clone());
            }
            builder
                .build()
                .map_err(|e| format!("cannot set up HTTP for {url}: {e}"))
        }))
    }
}

/// The root certificates of a CA file, read and checked now.
fn ca_certificates(path: Option<&std::path::Path>) -> Result<Vec<reqwest::Certificate>, String> {
    let Some(path) = path else {
        return Ok(Vec::new());
    };
    let pem = std::fs::read(path).map_err(|e| format!("CA file {}: {e}", path.display()))?;
    reqwest::Certificate::from_pem_bundle(&pem)
        .map_err(|e| format!("CA file {}: {e}", path.display()))
}

pub(crate) fn install_crypto() {
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
        let headers = headers(&endpoint)?;
        let client = LazyClient::for_endpoint(&endpoint, headers, Some(endpoint.timeout))?;
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
        let client = self.client.get().map_err(SourceError::Failed)?;
        let request = client.get(url.clone()).query(query);
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
#[path = "http_tests.rs"]
mod tests;
