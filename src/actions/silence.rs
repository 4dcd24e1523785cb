//! The `silence` backend: acknowledge an incident, open a maintenance
//! window or expire a silence, through Alertmanager's API v2. Matcher values
//! come from data, so every matcher is an exact match, never a regex, on
//! the label's raw value (escapes, length and all: it travels as a JSON
//! string, never to a terminal). A silence that Alertmanager did not
//! confirm is a failure, whatever the reason; so is an acknowledgement that
//! Alertmanager, asked afterwards, says silences no alert.

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, SecondsFormat, Utc};
use reqwest::Response;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use serde::{Deserialize, Serialize};
use tokio::sync::{mpsc, oneshot};

use super::audit::Who;
use super::http::{MAX_BODY_BYTES, bounded, innermost};
use super::template::check_value;
use super::{ActionOutcome, ActionRequest, ActionRunner, Backend, SilenceOp};
use crate::config::file::{Auth, Endpoint};
use crate::sources::http::LazyClient;
use crate::text::clean;

const ACKNOWLEDGE_COMMENT: &str = "acknowledged in opsdeck";
const MAINTENANCE_COMMENT: &str = "maintenance window (opsdeck)";

/// How long a new acknowledgement may take to show on its alerts
/// (Alertmanager applies silences as it evaluates them) before it is
/// judged to silence nothing.
pub const VERIFY_FOR: Duration = Duration::from_secs(5);
const VERIFY_EVERY: Duration = Duration::from_millis(250);
/// The alerts list read to verify a silence: bounded, but room for many
/// alerts with long labels.
const MAX_ALERTS_BYTES: usize = 32 * 1024 * 1024;

/// Silences on one Alertmanager (the first configured).
pub struct SilenceRunner {
    endpoint: Endpoint,
    client: LazyClient,
    verify_for: Duration,
}

/// An alert of `/api/v2/alerts` as far as verifying a silence needs.
#[derive(Deserialize)]
struct Listed {
    #[serde(default)]
    status: ListedStatus,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct ListedStatus {
    #[serde(default)]
    silenced_by: Vec<String>,
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

/// A label value a matcher matches: the raw value, whatever it holds, for
/// the silence to match what Alertmanager holds (it is sent as a JSON
/// string and shown only through `clean`).
fn label_value<'a>(request: &'a ActionRequest, name: &str) -> Result<&'a str, String> {
    match request.parameters.get(name).map(String::as_str) {
        Some(value) if !value.is_empty() => Ok(value),
        _ => Err(format!("{} needs a value for {name}", request.action)),
    }
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
            label_value(request, "service")?,
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
            let mut matchers = vec![exact("alertname", label_value(request, "alertname")?)];
            // An alert without the service label is acknowledged by name.
            if request
                .parameters
                .get("service")
                .is_some_and(|s| !s.is_empty())
            {
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
                let shown = clean(&m.value).replace('"', "\\\"");
                let chars = m.value.chars().count();
                // Cut for the screen, matched in full.
                let whole = if chars > crate::text::MAX_CHARS {
                    format!(
                        " ({} characters, matched in full)",
                        crate::config::limits::thousands(chars as u64)
                    )
                } else {
                    String::new()
                };
                format!("{}=\"{shown}\"{whole}", clean(&m.name))
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
        // Built on its first request: most sessions silence nothing.
        let client = LazyClient::for_endpoint(&endpoint, default_headers(&endpoint)?, None)?;
        Ok(SilenceRunner {
            endpoint,
            client,
            verify_for: VERIFY_FOR,
        })
    }

    /// With another bound on how long an acknowledgement may take to show
    /// on its alerts (`VERIFY_FOR`).
    pub fn verifying_for(mut self, bound: Duration) -> SilenceRunner {
        self.verify_for = bound;
        self
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

    /// A request with the endpoint's auth.
    fn request(
        &self,
        method: reqwest::Method,
        url: reqwest::Url,
    ) -> Result<reqwest::RequestBuilder, String> {
        let request = self.client.get()?.request(method, url);
        Ok(match &self.endpoint.auth {
            Auth::None => request,
            Auth::Bearer(token) => request.bearer_auth(token.expose()),
            Auth::Basic { username, password } => {
                request.basic_auth(username, Some(password.expose()))
            }
        })
    }

    fn unanswered(&self, e: &reqwest::Error) -> String {
        clean(&format!(
            "Alertmanager at {} did not answer: {}",
            self.endpoint.url,
            innermost(e)
        ))
        .into_owned()
    }

    async fn send(&self, plan: Plan, output: mpsc::UnboundedSender<String>) -> ActionOutcome {
        let (method, url) = self.target(&plan);
        let mut request = match self.request(method, url) {
            Ok(request) => request,
            Err(detail) => return ActionOutcome::Failed { detail },
        };
        let (expiring, created) = match plan {
            Plan::Create {
                mut silence,
                acknowledge_for,
            } => {
                if let Some(duration) = acknowledge_for {
                    silence.starts_at = Utc::now();
                    silence.ends_at = silence.starts_at + duration;
                }
                request = request.json(&silence);
                (None, Some((silence, acknowledge_for.is_some())))
            }
            Plan::Expire { id } => (Some(id), None),
        };
        let response = match request.send().await {
            Ok(response) => response,
            Err(e) => {
                return ActionOutcome::Failed {
                    detail: self.unanswered(&e),
                };
            }
        };
        let status = response.status();
        let body = read_body(response, MAX_BODY_BYTES).await;
        if !status.is_success() {
            let detail = format!(
                "Alertmanager answered HTTP {}: {}",
                status.as_u16(),
                said(&body)
            );
            let _ = output.send(detail.clone());
            return ActionOutcome::Failed { detail };
        }
        if let Some(id) = expiring {
            let detail = format!("silence {id} expired");
            let _ = output.send(format!("{detail} on {}", self.endpoint.url));
            return ActionOutcome::Succeeded { detail };
        }
        let Ok(answer) = serde_json::from_str::<Created>(&body) else {
            return ActionOutcome::Failed {
                detail: format!("not an Alertmanager answer: {}", said(&body)),
            };
        };
        let (silence, acknowledging) = created.expect("a plan creates or expires");
        let id = answer.silence_id;
        let _ = output.send(format!(
            "silence {} created on {}",
            clean(&id),
            self.endpoint.url
        ));
        self.verify(&id, &silence, acknowledging, &output).await
    }

    /// Asks Alertmanager which alerts silence `id` now silences. An
    /// acknowledgement that silences none of them, after `verify_for`, is
    /// a failure that says how to expire it; a maintenance window says how
    /// many it silences (none may fire), or when it starts.
    async fn verify(
        &self,
        id: &str,
        silence: &NewSilence,
        acknowledging: bool,
        output: &mpsc::UnboundedSender<String>,
    ) -> ActionOutcome {
        let shown = clean(id);
        if silence.starts_at > Utc::now() {
            return ActionOutcome::Succeeded {
                detail: format!(
                    "silence {shown} created, pending: it starts at {}",
                    stamp(silence.starts_at)
                ),
            };
        }
        let _ = output.send("asking Alertmanager which alerts it silences…".into());
        let deadline = tokio::time::Instant::now()
            + if acknowledging {
                self.verify_for
            } else {
                self.verify_for.min(Duration::from_secs(1))
            };
        let count = loop {
            match self.silenced_by(id, silence).await {
                Ok(n) if n > 0 => break n,
                Ok(_) if tokio::time::Instant::now() < deadline => {}
                Ok(n) => break n,
                Err(e) => {
                    return ActionOutcome::Failed {
                        detail: format!(
                            "silence {shown} created, but which alerts it silences is unknown ({e}); \
                             X on the Incidents tab (w: silences) expires it"
                        ),
                    };
                }
            }
            tokio::time::sleep(VERIFY_EVERY).await;
        };
        let alerts = if count == 1 { "alert" } else { "alerts" };
        let detail = format!("silences {count} {alerts}: silence {shown} created");
        let _ = output.send(format!("it silences {count} {alerts}"));
        if count == 0 && acknowledging {
            return ActionOutcome::Failed {
                detail: format!(
                    "silence {shown} silences no alert: it matches none of its targets; \
                     X on the Incidents tab (w: silences) expires it"
                ),
            };
        }
        ActionOutcome::Succeeded { detail }
    }

    /// How many alerts Alertmanager says silence `id` silences now.
    async fn silenced_by(&self, id: &str, silence: &NewSilence) -> Result<usize, String> {
        let mut url = self.url("api/v2/alerts");
        {
            let mut query = url.query_pairs_mut();
            for (k, v) in [
                ("active", "false"),
                ("unprocessed", "false"),
                ("silenced", "true"),
                ("inhibited", "true"),
            ] {
                query.append_pair(k, v);
            }
            // Narrowed by a plain alertname; any other value is left to
            // the count (Alertmanager's filter syntax has its own quoting).
            for m in silence.matchers.iter().filter(|m| plain(&m.value)) {
                query.append_pair("filter", &format!("{}=\"{}\"", m.name, m.value));
            }
        }
        let response = self
            .request(reqwest::Method::GET, url)?
            .send()
            .await
            .map_err(|e| self.unanswered(&e))?;
        let status = response.status();
        let body = read_body(response, MAX_ALERTS_BYTES).await;
        if !status.is_success() {
            return Err(format!("HTTP {}: {}", status.as_u16(), said(&body)));
        }
        let alerts: Vec<Listed> = serde_json::from_str(&body)
            .map_err(|e| format!("not an Alertmanager alerts list: {e}"))?;
        Ok(alerts
            .iter()
            .filter(|a| a.status.silenced_by.iter().any(|s| s == id))
            .count())
    }
}

/// A label name or value that needs no quoting in Alertmanager's filter
/// syntax.
fn plain(value: &str) -> bool {
    !value.is_empty()
        && value.len() <= 256
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | ':'))
}

/// The body, up to `max` bytes; a body cut short is judged by what came.
async fn read_body(mut response: Response, max: usize) -> String {
    let mut body = Vec::new();
    while let Ok(Some(chunk)) = response.chunk().await {
        let keep = chunk.len().min(max - body.len());
        body.extend_from_slice(&chunk[..keep]);
        if body.len() == max {
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
    fn matchers_take_raw_values_shown_escaped_and_a_long_one_whole() {
        let ack = SilenceOp::Acknowledge {
            duration: chrono::Duration::minutes(15),
        };
        let long = "x".repeat(100_000);
        for (raw, shown) in [
            ("\u{1b}[31mred", "service=\"\\x1b[31mred\""),
            ("\u{202e}kcehc", "service=\"\\u{202e}kcehc\""),
            (long.as_str(), "(100,000 characters, matched in full)"),
        ] {
            let r = request(
                ack,
                &[
                    ("alertname", "Down"),
                    ("service_label", "service"),
                    ("service", raw),
                    ("user", "alice"),
                ],
            );
            let Plan::Create { silence, .. } = plan(&r, Utc::now()).unwrap() else {
                panic!("a silence")
            };
            assert_eq!(silence.matchers[1].value, raw, "the raw value is sent");
            let described = runner().describe(&r).unwrap()[1].clone();
            assert!(described.contains(shown), "{described}");
            assert!(!described.contains('\u{1b}') && !described.contains('\u{202e}'));
            assert!(described.len() < 1_000, "cut for the screen");
        }
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
            .describe(&request(
                ack,
                &[("alertname", "A"), ("user", "mallory\u{1b}[2J")],
            ))
            .unwrap_err();
        assert_eq!(e, "the value of user contains a control character");
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
