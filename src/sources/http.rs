//! HTTP for every live source: timeouts, auth, headers, a CA file, retries
//! with backoff, and a cap on how much of a response is read.

use std::sync::Once;
use std::time::Duration;

use reqwest::header::{AUTHORIZATION, HeaderMap, HeaderName, HeaderValue};

use super::SourceError;
use super::clean::clean;
use crate::config::file::{Auth, Endpoint};

/// Waits before the second and third attempts after a failure that may pass
/// (no connection, 502, 503, 504).
const BACKOFF: [Duration; 2] = [Duration::from_millis(200), Duration::from_millis(600)];

/// An answer: its status and the body, read up to the endpoint's cap.
pub struct Answer {
    pub status: u16,
    pub body: Vec<u8>,
}

#[derive(Debug, Clone)]
pub struct HttpClient {
    pub endpoint: Endpoint,
    client: reqwest::Client,
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
        Ok(HttpClient { endpoint, client })
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
        let mut response = request.send().await.map_err(|e| self.error(&e))?;
        let status = response.status().as_u16();
        let cap = self.endpoint.max_response_bytes;
        if response.content_length().is_some_and(|len| len > cap) {
            return Err(SourceError::TooLarge(cap));
        }
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|e| self.error(&e))? {
            if body.len() as u64 + chunk.len() as u64 > cap {
                return Err(SourceError::TooLarge(cap));
            }
            body.extend_from_slice(&chunk);
        }
        Ok(Answer { status, body })
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
    fn an_html_error_page_is_shown_by_its_title() {
        let page = b"<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>";
        assert_eq!(snippet(page), "502 Bad Gateway");
        assert_eq!(snippet(b"plain\n  text\x1b[2J"), "plain text\\x1b[2J");
    }
}
