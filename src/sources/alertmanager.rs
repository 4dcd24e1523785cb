//! Alertmanager API v2 as an `AlertSource`: active alerts (silenced and
//! inhibited ones too, marked so) and the silences that are not expired.

use std::collections::BTreeMap;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::Deserialize;

use super::clean::clean;
use super::http::{HttpClient, snippet};
use super::{AlertSource, Fetch, Fetched, SourceError};
use crate::config::file::Endpoint;
use crate::domain::{Alert, AlertsReading, Severity, Silence};

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawAlert {
    #[serde(default)]
    labels: BTreeMap<String, String>,
    #[serde(default)]
    annotations: BTreeMap<String, String>,
    starts_at: DateTime<Utc>,
    #[serde(default)]
    fingerprint: String,
    status: RawAlertStatus,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawAlertStatus {
    #[serde(default)]
    silenced_by: Vec<String>,
    #[serde(default)]
    inhibited_by: Vec<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawSilence {
    id: String,
    #[serde(default)]
    matchers: Vec<RawMatcher>,
    starts_at: DateTime<Utc>,
    ends_at: DateTime<Utc>,
    #[serde(default)]
    created_by: String,
    #[serde(default)]
    comment: String,
    status: RawSilenceStatus,
}

#[derive(Deserialize)]
struct RawSilenceStatus {
    state: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawMatcher {
    name: String,
    value: String,
    #[serde(default)]
    is_regex: bool,
    #[serde(default = "yes")]
    is_equal: bool,
}

fn yes() -> bool {
    true
}

pub struct AlertmanagerSource {
    name: String,
    http: HttpClient,
    service_label: String,
}

fn parse<T: for<'de> Deserialize<'de>>(status: u16, body: &[u8]) -> Result<T, SourceError> {
    if !(200..300).contains(&status) {
        return Err(SourceError::Failed(format!(
            "HTTP {status}: {}",
            snippet(body)
        )));
    }
    serde_json::from_slice(body).map_err(|e| {
        SourceError::Failed(clean(&format!("not an Alertmanager API v2 response: {e}")))
    })
}

fn matcher(m: &RawMatcher) -> String {
    let op = match (m.is_regex, m.is_equal) {
        (false, true) => "=",
        (false, false) => "!=",
        (true, true) => "=~",
        (true, false) => "!~",
    };
    format!("{}{op}\"{}\"", clean(&m.name), clean(&m.value))
}

impl AlertmanagerSource {
    pub fn new(endpoint: Endpoint, service_label: &str) -> Result<AlertmanagerSource, String> {
        Ok(AlertmanagerSource {
            name: endpoint.name.clone(),
            http: HttpClient::new(endpoint)?,
            service_label: service_label.to_string(),
        })
    }

    fn alert(&self, raw: RawAlert) -> Alert {
        let label = |name: &str| {
            raw.labels
                .get(name)
                .map(|v| clean(v))
                .filter(|v| !v.is_empty())
        };
        let note = |names: &[&str]| {
            names
                .iter()
                .find_map(|n| raw.annotations.get(*n))
                .map(|v| clean(v))
        };
        Alert {
            name: label("alertname").unwrap_or_else(|| "(no alertname)".into()),
            service: label(&self.service_label)
                .or_else(|| label("job"))
                .or_else(|| label("instance"))
                .unwrap_or_else(|| "—".into()),
            severity: Severity::from_label(&label("severity").unwrap_or_default()),
            summary: note(&["summary", "description", "message"]).unwrap_or_default(),
            runbook: note(&["runbook_url", "runbook"]),
            starts_at: raw.starts_at,
            silenced_by: raw.status.silenced_by.first().map(|s| clean(s)),
            inhibited: !raw.status.inhibited_by.is_empty(),
            // Without a fingerprint, the label set is the alert's identity.
            fingerprint: if raw.fingerprint.is_empty() {
                clean(
                    &raw.labels
                        .iter()
                        .map(|(k, v)| format!("{k}={v}"))
                        .collect::<Vec<_>>()
                        .join(","),
                )
            } else {
                clean(&raw.fingerprint)
            },
            sources: vec![self.name.clone()],
        }
    }
}

#[async_trait]
impl AlertSource for AlertmanagerSource {
    fn name(&self) -> &str {
        &self.name
    }

    async fn alerts(&self, _now: DateTime<Utc>) -> Fetch<AlertsReading> {
        let all =
            ["active", "silenced", "inhibited", "unprocessed"].map(|k| (k, "true".to_string()));
        let (alerts, silences) = futures::join!(
            self.http.get("api/v2/alerts", &all),
            self.http.get("api/v2/silences", &[])
        );
        let alerts = alerts?;
        let raw: Vec<RawAlert> = parse(alerts.status, &alerts.body)?;
        let mut warnings = Vec::new();
        let silences = match silences.and_then(|a| parse::<Vec<RawSilence>>(a.status, &a.body)) {
            Ok(list) => list
                .into_iter()
                .filter(|s| s.status.state != "expired")
                .map(|s| Silence {
                    id: clean(&s.id),
                    matchers: s
                        .matchers
                        .iter()
                        .map(matcher)
                        .collect::<Vec<_>>()
                        .join(", "),
                    created_by: clean(&s.created_by),
                    comment: clean(&s.comment),
                    starts_at: s.starts_at,
                    ends_at: s.ends_at,
                })
                .collect(),
            Err(e) => {
                warnings.push(format!("silences: {e}"));
                Vec::new()
            }
        };
        Ok(Fetched {
            value: AlertsReading {
                alerts: raw.into_iter().map(|a| self.alert(a)).collect(),
                silences,
            },
            warnings,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_alert_reads_its_labels_and_annotations_safely() {
        let body = br#"[{"labels":{"alertname":"HighErrorRate","service":"check\u001b]0;pwned\u0007out","severity":"critical"},
            "annotations":{"summary":"5xx above 5%","runbook_url":"https://runbooks/x"},
            "startsAt":"2026-11-22T02:00:00Z","endsAt":"2026-11-22T04:00:00Z","fingerprint":"abc",
            "status":{"state":"suppressed","silencedBy":["s1"],"inhibitedBy":[]}}]"#;
        let raw: Vec<RawAlert> = parse(200, body).unwrap();
        let source = AlertmanagerSource::new(
            Endpoint::plain("am", reqwest::Url::parse("http://127.0.0.1:9").unwrap()),
            "service",
        )
        .unwrap();
        let alert = source.alert(raw.into_iter().next().unwrap());
        assert_eq!(alert.service, "check\\x1b]0;pwned\\x07out");
        assert_eq!(alert.severity, Severity::Critical);
        assert_eq!(alert.runbook.as_deref(), Some("https://runbooks/x"));
        assert_eq!(alert.silenced_by.as_deref(), Some("s1"));
        assert_eq!(alert.sources, ["am"]);
    }

    #[test]
    fn matchers_read_as_promql_does() {
        let m = |is_regex, is_equal| {
            matcher(&RawMatcher {
                name: "service".into(),
                value: "a|b".into(),
                is_regex,
                is_equal,
            })
        };
        assert_eq!(
            [
                m(false, true),
                m(false, false),
                m(true, true),
                m(true, false)
            ],
            [
                "service=\"a|b\"",
                "service!=\"a|b\"",
                "service=~\"a|b\"",
                "service!~\"a|b\""
            ]
        );
    }

    #[test]
    fn an_error_page_is_an_error_not_an_empty_list() {
        let err = parse::<Vec<RawAlert>>(503, b"<html><title>Service Unavailable</title></html>")
            .err()
            .unwrap();
        assert_eq!(
            err,
            SourceError::Failed("HTTP 503: Service Unavailable".into())
        );
    }
}
