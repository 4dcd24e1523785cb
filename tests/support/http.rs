//! A tiny blocking HTTP client for the harness, on `reqwest::blocking`.
//!
//! Two things make a plain `reqwest::blocking::get` unusable here:
//!
//! * opsdeck builds reqwest with `rustls-no-provider`, and Cargo unifies that
//!   feature into the dev-dependency: building *any* reqwest client panics
//!   ("No rustls crypto provider is configured") unless a provider is
//!   installed (opsdeck's `src/sources/http.rs` installs ring's as the
//!   process default when it builds its client). The harness does not rely
//!   on that, nor touch the process default: it hands reqwest a
//!   preconfigured rustls `ClientConfig` on ring, so it works before any
//!   opsdeck code ran and cannot change what the code under test gets.
//! * `reqwest::blocking` panics when used from inside a tokio runtime
//!   (`#[tokio::test]`): in debug builds it builds and drops a runtime on every
//!   request. Every request therefore runs on a short-lived thread of its own,
//!   so the helpers work from sync and async tests alike (they still block the
//!   calling thread while they run).
//!
//! The client never uses a proxy and only ever talks to `http://127.0.0.1`.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use serde_json::Value;

/// The default time limit of one request.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// A response: the status code and the body as text (lossy UTF-8).
#[derive(Clone, Debug)]
pub struct HttpResponse {
    pub status: u16,
    pub body: String,
}

impl HttpResponse {
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// The body parsed as JSON; panics with the body when it is not JSON.
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| {
            panic!(
                "expected a JSON body (HTTP {}), got {e}: {}",
                self.status,
                shorten(&self.body, 2000)
            )
        })
    }
}

fn client() -> &'static reqwest::blocking::Client {
    static CLIENT: OnceLock<reqwest::blocking::Client> = OnceLock::new();
    CLIENT.get_or_init(|| {
        // Only plain http is ever used, but reqwest builds its TLS stack
        // anyway; give it one that does not depend on a global provider.
        let tls = rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .expect("ring supports the default TLS versions")
        .with_root_certificates(rustls::RootCertStore::empty())
        .with_no_client_auth();
        reqwest::blocking::Client::builder()
            .no_proxy()
            .connect_timeout(Duration::from_secs(2))
            .timeout(REQUEST_TIMEOUT)
            .tls_backend_preconfigured(tls)
            .build()
            .expect("build the harness HTTP client")
    })
}

/// Sends one request; `Err` carries the transport error (connection refused,
/// timeout...). `body` is sent with `content_type` when given.
pub fn http_request(
    method: &str,
    url: &str,
    content_type: Option<&str>,
    body: Option<String>,
    timeout: Duration,
) -> Result<HttpResponse, String> {
    assert!(
        url.starts_with("http://127.0.0.1:"),
        "the test harness only talks to http://127.0.0.1, not {url}"
    );
    let method = reqwest::Method::from_bytes(method.as_bytes())
        .unwrap_or_else(|e| panic!("bad HTTP method {method:?}: {e}"));
    let url = url.to_owned();
    let content_type = content_type.map(str::to_owned);
    // A thread of its own: see the module documentation.
    std::thread::scope(|scope| {
        scope
            .spawn(move || {
                let mut request = client().request(method, &url).timeout(timeout);
                if let Some(content_type) = content_type {
                    request = request.header("Content-Type", content_type);
                }
                if let Some(body) = body {
                    request = request.body(body);
                }
                let response = request.send().map_err(|e| format!("{url}: {e}"))?;
                let status = response.status().as_u16();
                let bytes = response
                    .bytes()
                    .map_err(|e| format!("{url}: reading the body: {e}"))?;
                Ok(HttpResponse {
                    status,
                    body: String::from_utf8_lossy(&bytes).into_owned(),
                })
            })
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    })
}

/// GET; panics on a transport error (not on an HTTP error status).
pub fn http_get(url: &str) -> HttpResponse {
    http_request("GET", url, None, None, REQUEST_TIMEOUT)
        .unwrap_or_else(|e| panic!("GET failed: {e}"))
}

/// GET and parse the body as JSON, whatever the status.
pub fn http_get_json(url: &str) -> Value {
    http_get(url).json()
}

/// POST a JSON document; panics on a transport error.
pub fn http_post_json(url: &str, json: &Value) -> HttpResponse {
    http_request(
        "POST",
        url,
        Some("application/json"),
        Some(json.to_string()),
        REQUEST_TIMEOUT,
    )
    .unwrap_or_else(|e| panic!("POST failed: {e}"))
}

/// `url` with `pairs` appended as a form-encoded query string.
pub fn url_with_query(url: &str, pairs: &[(&str, &str)]) -> String {
    let mut url = reqwest::Url::parse(url).unwrap_or_else(|e| panic!("bad URL {url:?}: {e}"));
    url.query_pairs_mut().extend_pairs(pairs);
    url.into()
}

/// At most `max` bytes of `text` (on a char boundary), marked when cut.
pub fn shorten(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_owned();
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}… ({} bytes in all)", &text[..end], text.len())
}
