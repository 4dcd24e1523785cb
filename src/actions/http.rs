//! The `http` backend: one templated request (Argo CD rollback, AWX job
//! launch, a webhook), its answer streamed line by line with secrets masked.
//! No proxy and no redirects: a request carrying a token goes where the
//! configuration says and nowhere else.

use std::future::Future;
use std::time::Duration;

use async_trait::async_trait;
use reqwest::header::{HeaderName, HeaderValue};
use reqwest::{Method, Response};
use tokio::sync::{mpsc, oneshot};

use super::SecretStore;
use super::exec::OutputLines;
use super::template::{Rendered, RenderedJson, render, render_json, render_url};
use super::{ActionOutcome, ActionRequest, ActionRunner, Backend};
use crate::text::clean;

/// The most of a response body read; the rest is not waited for.
pub(crate) const MAX_BODY_BYTES: usize = 64 * 1024;
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

pub struct HttpRunner {
    pub secrets: SecretStore,
}

/// An HTTP request filled in, ready to send.
struct Prepared {
    method: Method,
    url: Rendered,
    /// As written in the configuration, then the value.
    headers: Vec<(String, HeaderName, Rendered)>,
    body: Option<RenderedJson>,
}

pub(crate) use crate::sources::http::install_crypto;

/// A client for one action: no proxy, no redirects.
fn client() -> Result<reqwest::Client, String> {
    install_crypto();
    reqwest::Client::builder()
        .connect_timeout(CONNECT_TIMEOUT)
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("opsdeck/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| format!("cannot set up HTTP: {}", innermost(&e)))
}

/// The innermost cause of an error ("Connection refused"): the outer layers
/// only say which library noticed.
pub(crate) fn innermost(e: &(dyn std::error::Error + 'static)) -> String {
    let mut cause = e;
    while let Some(inner) = cause.source() {
        cause = inner;
    }
    cause.to_string()
}

/// Runs `work` until it ends, `timeout` passes or `cancel` fires (or its
/// sender is dropped); dropping `work` aborts the request.
pub(crate) async fn bounded(
    timeout: chrono::Duration,
    cancel: oneshot::Receiver<()>,
    work: impl Future<Output = ActionOutcome>,
) -> ActionOutcome {
    let timeout = timeout.to_std().unwrap_or_default();
    tokio::select! {
        biased;
        _ = cancel => ActionOutcome::Cancelled,
        outcome = tokio::time::timeout(timeout, work) => outcome.unwrap_or(ActionOutcome::TimedOut),
    }
}

impl HttpRunner {
    pub fn new(secrets: SecretStore) -> HttpRunner {
        HttpRunner { secrets }
    }

    fn prepare(&self, request: &ActionRequest) -> Result<Prepared, String> {
        let Backend::Http {
            method,
            url,
            headers,
            body,
        } = &request.backend
        else {
            return Err(format!("{} is not an HTTP action", request.action));
        };
        let params = &request.parameters;
        let method = Method::from_bytes(method.to_ascii_uppercase().as_bytes())
            .map_err(|_| format!("'{method}' is not an HTTP method"))?;
        let url = render_url(url, params, &self.secrets)?;
        let headers = headers
            .iter()
            .map(|(name, template)| {
                let parsed = HeaderName::from_bytes(name.as_bytes())
                    .map_err(|_| format!("'{name}' is not a header name"))?;
                Ok((
                    name.clone(),
                    parsed,
                    render(template, params, &self.secrets)?,
                ))
            })
            .collect::<Result<_, String>>()?;
        let body = body
            .as_ref()
            .map(|body| render_json(body, params, &self.secrets))
            .transpose()?;
        Ok(Prepared {
            method,
            url,
            headers,
            body,
        })
    }

    async fn send(
        &self,
        prepared: Prepared,
        output: mpsc::UnboundedSender<String>,
    ) -> ActionOutcome {
        let client = match client() {
            Ok(client) => client,
            Err(detail) => return ActionOutcome::Failed { detail },
        };
        let mut request = client.request(prepared.method.clone(), &prepared.url.clear);
        for (name, parsed, value) in &prepared.headers {
            let Ok(mut header) = HeaderValue::from_str(&value.clear) else {
                return ActionOutcome::Failed {
                    detail: format!("header {name}: not a valid value"),
                };
            };
            // Kept out of reqwest's logs and debug output.
            header.set_sensitive(value.clear != value.masked);
            request = request.header(parsed, header);
        }
        if let Some(body) = &prepared.body {
            request = request.json(&body.clear);
        }
        let failed = |e: reqwest::Error| ActionOutcome::Failed {
            detail: self.secrets.mask(&clean(&format!(
                "{} {}: {}",
                prepared.method,
                prepared.url.masked,
                innermost(&e)
            ))),
        };
        let response = match request.send().await {
            Ok(response) => response,
            Err(e) => return failed(e),
        };
        let status = response.status();
        let first = stream_body(response, &self.secrets, &output).await;
        let mut detail = format!("HTTP {}", status.as_u16());
        if status.is_success() {
            return ActionOutcome::Succeeded { detail };
        }
        if let Some(reason) = status.canonical_reason() {
            detail = format!("{detail} {reason}");
        }
        if let Some(first) = first {
            detail = format!("{detail}: {first}");
        }
        ActionOutcome::Failed { detail }
    }
}

/// Sends the body's lines to `output` as they come, up to `MAX_BODY_BYTES`;
/// returns its first non-blank line, shown safe.
async fn stream_body(
    mut response: Response,
    secrets: &SecretStore,
    output: &mpsc::UnboundedSender<String>,
) -> Option<String> {
    let mut lines = OutputLines::new(secrets.clone());
    let mut first: Option<String> = None;
    let mut read = 0;
    let mut send = |line: String| {
        if first.is_none() && !line.trim().is_empty() {
            first = Some(line.chars().take(200).collect());
        }
        let _ = output.send(line);
    };
    loop {
        match response.chunk().await {
            Ok(Some(chunk)) => {
                let keep = chunk.len().min(MAX_BODY_BYTES - read);
                read += keep;
                lines.push(&chunk[..keep]).into_iter().for_each(&mut send);
                if read == MAX_BODY_BYTES {
                    lines.finish().into_iter().for_each(&mut send);
                    send(format!(
                        "(the rest of the answer is not shown: {} KiB read)",
                        MAX_BODY_BYTES / 1024
                    ));
                    break;
                }
            }
            Ok(None) => {
                lines.finish().into_iter().for_each(&mut send);
                break;
            }
            Err(e) => {
                lines.finish().into_iter().for_each(&mut send);
                send(clean(&format!("(the answer was cut short: {})", innermost(&e))).into_owned());
                break;
            }
        }
    }
    first
}

#[async_trait]
impl ActionRunner for HttpRunner {
    fn describe(&self, request: &ActionRequest) -> Result<Vec<String>, String> {
        let prepared = self.prepare(request)?;
        let mut lines = vec![format!("{} {}", prepared.method, prepared.url.masked)];
        for (name, _, value) in &prepared.headers {
            lines.push(format!("{name}: {}", value.masked));
        }
        if let Some(body) = &prepared.body {
            lines.push(body.masked.to_string());
        }
        Ok(lines)
    }

    async fn run(
        &self,
        request: ActionRequest,
        output: mpsc::UnboundedSender<String>,
        cancel: oneshot::Receiver<()>,
    ) -> ActionOutcome {
        let prepared = match self.prepare(&request) {
            Ok(prepared) => prepared,
            Err(detail) => return ActionOutcome::Failed { detail },
        };
        bounded(request.timeout, cancel, self.send(prepared, output)).await
    }
}
