//! The `silence` backend: acknowledge an incident, open a maintenance
//! window or expire a silence, through Alertmanager's API v2. Matcher values
//! come from data, so every matcher is an exact match, never a regex. A
//! silence that Alertmanager did not confirm is a failure, whatever the
//! reason.

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, SecondsFormat, Utc};
use reqwest::Response;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use serde::{Deserialize, Serialize};
use tokio::sync::{mpsc, oneshot};

use super::audit::Who;
use super::http::{MAX_BODY_BYTES, bounded, innermost, install_crypto};
use super::template::check_value;
use super::{ActionOutcome, ActionRequest, ActionRunner, Backend, SilenceOp};
use crate::config::file::{Auth, Endpoint};
use crate::text::clean;

const ACKNOWLEDGE_COMMENT: &str = "acknowledged in opsdeck";
const MAINTENANCE_COMMENT: &str = "maintenance window (opsdeck)";

/// Silences on one Alertmanager (the first configured).
pub struct SilenceRunner {
    endpoint: Endpoint,
    client: reqwest::Client,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
struct Matcher {
    name: String,
    value: String,
    is_regex: bool,
    is_equal: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
struct NewSilence {
    matchers: Vec<Matcher>,
    starts_at: DateTime<Utc>,
    ends_at: DateTime<Utc>,
    created_by: String,
    comment: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Created {
    #[serde(rename = "silenceID")]
    silence_id: String,
}

/// What a request asks Alertmanager for.
enum Plan {
    /// A new silence; for an acknowledgement its times are set when it runs.
    Create {
        silence: NewSilence,
        acknowledge_for: Option<Duration>,
    },
    Expire {
        id: String,
    },
}

/// The request's non-empty `name` parameter, refused if it holds a control
/// character.
fn param<'a>(request: &'a ActionRequest, name: &str) -> Result<Option<&'a str>, String> {
    match request.parameters.get(name).map(String::as_str) {
        Some(value) if !value.is_empty() => {
            check_value(name, value)?;
            Ok(Some(value))
        }
        _ => Ok(None),
    }
}

fn required<'a>(request: &'a ActionRequest, name: &str) -> Result<&'a str, String> {
    param(request, name)?.ok_or_else(|| format!("{} needs a value for {name}", request.action))
}

fn time(request: &ActionRequest, name: &str) -> Result<DateTime<Utc>, String> {
    let text = required(request, name)?;
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| format!("{name} '{}' is not an RFC 3339 time: {e}", clean(text)))
}

fn exact(name: &str, value: &str) -> Matcher {
    Matcher {
        name: name.into(),
        value: value.into(),
        is_regex: false,
        is_equal: true,
    }
}

fn plan(request: &ActionRequest, now: DateTime<Utc>) -> Result<Plan, String> {
    let Backend::Silence(op) = request.backend else {
        return Err(format!("{} is not a silence action", request.action));
    };
    let created_by = match param(request, "user")? {
        Some(user) => user.to_string(),
        None => Who::current().user,
    };
    let service = || -> Result<Matcher, String> {
        Ok(exact(
            required(request, "service_label")?,
            required(request, "service")?,
        ))
    };
    let comment = |default: &str| -> Result<String, String> {
        Ok(param(request, "comment")?.unwrap_or(default).to_string())
    };
    Ok(match op {
        SilenceOp::Acknowledge { duration } => {
            // A length chosen in the dialog wins over the configured one.
            let ends_at = match param(request, "ends_at")? {
                Some(_) => time(request, "ends_at")?,
                None => now + duration,
            };
            let duration = (ends_at - now)
                .to_std()
                .map_err(|_| format!("{}: the silence would end before now", request.action))?;
            let mut matchers = vec![exact("alertname", required(request, "alertname")?)];
            // An alert without the service label is acknowledged by name.
            if param(request, "service")?.is_some() {
                matchers.push(service()?);
            }
            Plan::Create {
                silence: NewSilence {
                    matchers,
                    starts_at: now,
                    ends_at,
                    created_by,
                    comment: comment(ACKNOWLEDGE_COMMENT)?,
                },
                acknowledge_for: Some(duration),
            }
        }
        SilenceOp::Maintenance => Plan::Create {
            silence: NewSilence {
                matchers: vec![service()?],
                starts_at: time(request, "starts_at")?,
                ends_at: time(request, "ends_at")?,
                created_by,
                comment: comment(MAINTENANCE_COMMENT)?,
            },
            acknowledge_for: None,
        },
        SilenceOp::Expire => {
            let id = required(request, "silence_id")?;
            if !id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
                return Err(format!("'{}' is not a silence id", clean(id)));
            }
            Plan::Expire { id: id.to_string() }
        }
    })
}

fn stamp(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

impl NewSilence {
    /// `silence alertname="X", service="checkout" from … until … by alice: comment`
    fn summary(&self, acknowledge_for: Option<Duration>) -> String {
        let matchers: Vec<String> = self
            .matchers
            .iter()
            .map(|m| {
                format!(
                    "{}=\"{}\"",
                    clean(&m.name),
                    clean(&m.value).replace('"', "\\\"")
                )
            })
            .collect();
        let when = match acknowledge_for {
            Some(duration) => format!("from now for {}", humantime::format_duration(duration)),
            None => format!(
                "from {} until {}",
                stamp(self.starts_at),
                stamp(self.ends_at)
            ),
        };
        format!(
            "silence {} {when} by {}: {}",
            matchers.join(", "),
            clean(&self.created_by),
            clean(&self.comment)
        )
    }
}

/// Endpoint headers as a header map (the sources' `HttpClient` does the same).
fn default_headers(endpoint: &Endpoint) -> Result<HeaderMap, String> {
    let mut map = HeaderMap::new();
    for (name, value) in &endpoint.headers {
        let name = HeaderName::from_bytes(name.as_bytes())
            .map_err(|e| format!("header name '{name}': {e}"))?;
        let value = HeaderValue::from_str(value).map_err(|e| format!("header {name}: {e}"))?;
        map.insert(name, value);
    }
    Ok(map)
}

impl SilenceRunner {
    /// A runner for the Alertmanager at `endpoint`, with its auth, headers,
    /// CA file and connect timeout; no proxy, no redirects, no retries (a
    /// POST repeated would make two silences).
    pub fn new(endpoint: Endpoint) -> Result<SilenceRunner, String> {
        install_crypto();
        let mut builder = reqwest::Client::builder()
            .connect_timeout(endpoint.connect_timeout)
            .no_proxy()
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("opsdeck/", env!("CARGO_PKG_VERSION")))
            .default_headers(default_headers(&endpoint)?);
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
        Ok(SilenceRunner { endpoint, client })
    }

    pub fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }

    /// `api/v2/…` under the endpoint's URL, keeping any path prefix.
    fn url(&self, path: &str) -> reqwest::Url {
        let mut url = self.endpoint.url.clone();
        let prefix = url.path().trim_end_matches('/').to_string();
        url.set_path(&format!("{prefix}/{path}"));
        url
    }

    fn target(&self, plan: &Plan) -> (reqwest::Method, reqwest::Url) {
        match plan {
            Plan::Create { .. } => (reqwest::Method::POST, self.url("api/v2/silences")),
            Plan::Expire { id } => (
                reqwest::Method::DELETE,
                self.url(&format!("api/v2/silence/{id}")),
            ),
        }
    }

    async fn send(&self, plan: Plan, output: mpsc::UnboundedSender<String>) -> ActionOutcome {
        let (method, url) = self.target(&plan);
        let mut request = self.client.request(method.clone(), url.clone());
        request = match &self.endpoint.auth {
            Auth::None => request,
            Auth::Bearer(token) => request.bearer_auth(token.expose()),
            Auth::Basic { username, password } => {
                request.basic_auth(username, Some(password.expose()))
            }
        };
        let expiring = match plan {
            Plan::Create {
                mut silence,
                acknowledge_for,
            } => {
                if let Some(duration) = acknowledge_for {
                    silence.starts_at = Utc::now();
                    silence.ends_at = silence.starts_at + duration;
                }
                request = request.json(&silence);
                None
            }
            Plan::Expire { id } => Some(id),
        };
        let response = match request.send().await {
            Ok(response) => response,
            Err(e) => {
                return ActionOutcome::Failed {
                    detail: clean(&format!(
                        "Alertmanager at {} did not answer: {}",
                        self.endpoint.url,
                        innermost(&e)
                    ))
                    .into_owned(),
                };
            }
        };
        let status = response.status();
        let body = read_body(response).await;
        if !status.is_success() {
            let detail = format!(
                "Alertmanager answered HTTP {}: {}",
                status.as_u16(),
                said(&body)
            );
            let _ = output.send(detail.clone());
            return ActionOutcome::Failed { detail };
        }
        let detail = match expiring {
            Some(id) => format!("silence {id} expired"),
            None => match serde_json::from_str::<Created>(&body) {
                Ok(created) => format!("silence {} created", clean(&created.silence_id)),
                Err(_) => {
                    return ActionOutcome::Failed {
                        detail: format!("not an Alertmanager answer: {}", said(&body)),
                    };
                }
            },
        };
        let _ = output.send(format!("{detail} on {}", self.endpoint.url));
        ActionOutcome::Succeeded { detail }
    }
}

/// The body, up to `MAX_BODY_BYTES`; a body cut short is judged by what came.
async fn read_body(mut response: Response) -> String {
    let mut body = Vec::new();
    while let Ok(Some(chunk)) = response.chunk().await {
        let keep = chunk.len().min(MAX_BODY_BYTES - body.len());
        body.extend_from_slice(&chunk[..keep]);
        if body.len() == MAX_BODY_BYTES {
            break;
        }
    }
    String::from_utf8_lossy(&body).into_owned()
}

/// What Alertmanager said: its JSON string or error message, else the
/// start of the body, shown safe.
fn said(body: &str) -> String {
    let parsed: Option<String> = match serde_json::from_str::<serde_json::Value>(body) {
        Ok(serde_json::Value::String(s)) => Some(s),
        Ok(serde_json::Value::Object(o)) => o
            .get("message")
            .or_else(|| o.get("error"))
            .and_then(|m| m.as_str())
            .map(str::to_string),
        _ => None,
    };
    let text = parsed.unwrap_or_else(|| body.split_whitespace().collect::<Vec<_>>().join(" "));
    let text: String = clean(text.trim()).chars().take(300).collect();
    if text.is_empty() {
        "(no explanation)".into()
    } else {
        text
    }
}

#[async_trait]
impl ActionRunner for SilenceRunner {
    fn describe(&self, request: &ActionRequest) -> Result<Vec<String>, String> {
        let plan = plan(request, Utc::now())?;
        let (method, url) = self.target(&plan);
        let what = match &plan {
            Plan::Create {
                silence,
                acknowledge_for,
            } => silence.summary(*acknowledge_for),
            Plan::Expire { id } => format!("expire silence {id}"),
        };
        Ok(vec![format!("{method} {url}"), what])
    }

    async fn run(
        &self,
        request: ActionRequest,
        output: mpsc::UnboundedSender<String>,
        cancel: oneshot::Receiver<()>,
    ) -> ActionOutcome {
        let plan = match plan(&request, Utc::now()) {
            Ok(plan) => plan,
            Err(detail) => return ActionOutcome::Failed { detail },
        };
        bounded(request.timeout, cancel, self.send(plan, output)).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn request(op: SilenceOp, pairs: &[(&str, &str)]) -> ActionRequest {
        ActionRequest {
            action: "acknowledge".into(),
            target: "checkout".into(),
            environment: "production".into(),
            parameters: pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect::<BTreeMap<_, _>>(),
            backend: Backend::Silence(op),
            timeout: chrono::Duration::seconds(5),
        }
    }

    fn runner() -> SilenceRunner {
        let url = reqwest::Url::parse("http://127.0.0.1:9093").unwrap();
        SilenceRunner::new(Endpoint::plain("am", url)).unwrap()
    }

    #[test]
    fn an_acknowledgement_is_described_by_its_matchers_duration_and_author() {
        let ack = SilenceOp::Acknowledge {
            duration: chrono::Duration::minutes(15),
        };
        let r = request(
            ack,
            &[
                ("alertname", "CheckoutDown"),
                ("service_label", "service"),
                ("service", "check\"out"),
                ("user", "alice"),
            ],
        );
        assert_eq!(
            runner().describe(&r).unwrap(),
            [
                "POST http://127.0.0.1:9093/api/v2/silences",
                "silence alertname=\"CheckoutDown\", service=\"check\\\"out\" from now for 15m by alice: acknowledged in opsdeck",
            ]
        );
    }

    #[test]
    fn a_maintenance_window_is_described_by_its_times() {
        let r = request(
            SilenceOp::Maintenance,
            &[
                ("service_label", "app"),
                ("service", "search"),
                ("starts_at", "2030-01-01T02:00:00+01:00"),
                ("ends_at", "2030-01-01T03:00:00Z"),
                ("user", "bob"),
                ("comment", "kernel upgrade"),
            ],
        );
        assert_eq!(
            runner().describe(&r).unwrap()[1],
            "silence app=\"search\" from 2030-01-01T01:00:00Z until 2030-01-01T03:00:00Z by bob: kernel upgrade"
        );
    }

    #[test]
    fn missing_or_unsafe_values_are_refused_before_anything_is_sent() {
        let runner = runner();
        let e = runner
            .describe(&request(SilenceOp::Maintenance, &[("service", "x")]))
            .unwrap_err();
        assert_eq!(e, "acknowledge needs a value for service_label");
        let e = runner
            .describe(&request(
                SilenceOp::Expire,
                &[("silence_id", "../../api/v2/alerts")],
            ))
            .unwrap_err();
        assert!(e.contains("is not a silence id"), "{e}");
        let ack = SilenceOp::Acknowledge {
            duration: chrono::Duration::minutes(5),
        };
        let e = runner
            .describe(&request(ack, &[("alertname", "A\u{1b}[2J")]))
            .unwrap_err();
        assert_eq!(e, "the value of alertname contains a control character");
        let e = runner
            .describe(&request(
                SilenceOp::Maintenance,
                &[
                    ("service_label", "service"),
                    ("service", "x"),
                    ("starts_at", "tomorrow"),
                ],
            ))
            .unwrap_err();
        assert!(
            e.starts_with("starts_at 'tomorrow' is not an RFC 3339 time"),
            "{e}"
        );
    }
}
