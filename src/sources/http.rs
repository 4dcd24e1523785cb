//! HTTP for every live source: timeouts, auth, headers, a CA file, retries
//! with backoff, a cap on how much of a response is read, and no redirects
//! followed: a request, and its credentials, go to the configured scheme,
//! host and port only.

use std::sync::Once;
use std::time::Duration;

use reqwest::header::{AUTHORIZATION, HeaderMap, HeaderName, HeaderValue, LOCATION};

use super::SourceError;
use crate::config::file::{Auth, Endpoint};
use crate::text::clean;

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

    #[test]
    fn an_html_error_page_is_shown_by_its_title() {
        let page = b"<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>";
        assert_eq!(snippet(page), "502 Bad Gateway");
        assert_eq!(snippet(b"plain\n  text\x1b[2J"), "plain text\\x1b[2J");
    }
}
