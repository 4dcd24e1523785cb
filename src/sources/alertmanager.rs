//! Alertmanager API v2 as an `AlertSource`: active alerts (silenced and
//! inhibited ones too, marked so), at most `limits.max_alerts` of them, and
//! the silences that are not expired.

use std::borrow::Cow;
use std::collections::BTreeMap;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::Deserialize;

use super::http::{HttpClient, snippet};
use super::{AlertSource, Fetch, Fetched, SourceError};
use crate::config::file::Endpoint;
use crate::config::limits::{Capped, read_capped, read_tolerant};
use crate::domain::{Alert, AlertsReading, Severity, Silence};
use crate::text::{RawText, clean};

// Alerts and silences are read borrowing their text from the body; only the
// labels and annotations an `Alert` shows are copied, once, by `clean`.

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawAlert<'a> {
    #[serde(default, borrow)]
    labels: BTreeMap<RawText<'a>, RawText<'a>>,
    #[serde(default, borrow)]
    annotations: BTreeMap<RawText<'a>, RawText<'a>>,
    starts_at: DateTime<Utc>,
    #[serde(default, borrow)]
    fingerprint: RawText<'a>,
    #[serde(borrow)]
    status: RawAlertStatus<'a>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawAlertStatus<'a> {
    #[serde(default, borrow)]
    silenced_by: Vec<RawText<'a>>,
    #[serde(default, borrow)]
    inhibited_by: Vec<RawText<'a>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawSilence<'a> {
    #[serde(borrow)]
    id: RawText<'a>,
    #[serde(default, borrow)]
    matchers: Vec<RawMatcher<'a>>,
    starts_at: DateTime<Utc>,
    ends_at: DateTime<Utc>,
    #[serde(default, borrow)]
    created_by: RawText<'a>,
    #[serde(default, borrow)]
    comment: RawText<'a>,
    #[serde(borrow)]
    status: RawSilenceStatus<'a>,
}

#[derive(Deserialize)]
struct RawSilenceStatus<'a> {
    #[serde(borrow)]
    state: RawText<'a>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawMatcher<'a> {
    #[serde(borrow)]
    name: RawText<'a>,
    #[serde(borrow)]
    value: RawText<'a>,
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
    /// The labels that name an alert's service, most specific first.
    service_labels: Vec<String>,
    /// Which alerts are heartbeats, which are not counted.
    rules: std::sync::Arc<crate::domain::matchers::AlertRules>,
}

fn parse<'a, T: Deserialize<'a>>(status: u16, body: &'a [u8]) -> Result<T, SourceError> {
    if !(200..300).contains(&status) {
        return Err(SourceError::Failed(format!(
            "HTTP {status}: {}",
            snippet(body)
        )));
    }
    serde_json::from_slice(body).map_err(|e| {
        SourceError::Failed(
            clean(&format!("not an Alertmanager API v2 response: {e}")).into_owned(),
        )
    })
}

fn matcher(m: &RawMatcher) -> String {
    let op = match (m.is_regex, m.is_equal) {
        (false, true) => "=",
        (false, false) => "!=",
        (true, true) => "=~",
        (true, false) => "!~",
    };
    format!("{}{op}\"{}\"", clean(&m.name.0), clean(&m.value.0))
}

/// The silences of a `/api/v2/silences` answer (HTTP `status` and `body`)
/// that are not expired. Public for the fuzz targets.
pub fn decode_silences(status: u16, body: &[u8]) -> Fetch<Vec<Silence>> {
    let list: Capped<RawSilence> = strict_then_tolerant(usize::MAX, status, body)?;
    Ok(Fetched {
        warnings: list
            .unreadable_warning("silence", "silences")
            .into_iter()
            .collect(),
        value: list.kept.into_iter().filter_map(silence).collect(),
    })
}

/// A list read whole, or, when that fails, item by item: one item that
/// cannot be read (`labels: null`, a date that is not one) is skipped and
/// counted, and never blanks the rest. The first read's error stands when
/// the answer is no list at all.
fn strict_then_tolerant<'a, T: Deserialize<'a>>(
    max: usize,
    status: u16,
    body: &'a [u8],
) -> Result<Capped<T>, SourceError> {
    match read_capped(max, || parse::<Capped<T>>(status, body)) {
        Ok(list) => Ok(list),
        Err(e) => read_tolerant(max, || parse::<Capped<T>>(status, body)).map_err(|_| e),
    }
}

/// A silence that is not expired.
fn silence(s: RawSilence) -> Option<Silence> {
    (s.status.state.0 != "expired").then(|| Silence {
        id: clean(&s.id.0).into_owned(),
        matchers: s
            .matchers
            .iter()
            .map(matcher)
            .collect::<Vec<_>>()
            .join(", "),
        created_by: clean(&s.created_by.0).into_owned(),
        comment: clean(&s.comment.0).into_owned(),
        starts_at: s.starts_at,
        ends_at: s.ends_at,
    })
}

impl AlertmanagerSource {
    pub fn new(
        endpoint: Endpoint,
        service_labels: &[String],
    ) -> Result<AlertmanagerSource, String> {
        Ok(AlertmanagerSource {
            name: endpoint.name.clone(),
            http: HttpClient::new(endpoint)?,
            service_labels: service_labels.to_vec(),
            rules: Default::default(),
        })
    }

    /// With the configuration's `[alerts]` rules instead of the defaults.
    pub fn with_rules(
        mut self,
        rules: std::sync::Arc<crate::domain::matchers::AlertRules>,
    ) -> AlertmanagerSource {
        self.rules = rules;
        self
    }

    /// The alerts of an `/api/v2/alerts` answer (HTTP `status` and
    /// `body`): the first `limits.max_alerts`, with a warning when there
    /// were more. Public for the fuzz targets.
    pub fn decode_alerts(&self, status: u16, body: &[u8]) -> Fetch<Vec<Alert>> {
        let max = self.http.endpoint.max_alerts;
        let raw: Capped<RawAlert> = strict_then_tolerant(max, status, body)?;
        let warnings = (raw.warning("alerts", "max_alerts").into_iter())
            .chain(raw.unreadable_warning("alert", "alerts"))
            .collect();
        Ok(Fetched {
            value: raw.kept.into_iter().map(|a| self.alert(a)).collect(),
            warnings,
        })
    }

    fn alert(&self, raw: RawAlert) -> Alert {
        let label = |name: &str| {
            raw.labels
                .get(name)
                .map(|v| clean(&v.0))
                .filter(|v| !v.is_empty())
        };
        let note = |names: &[&str]| {
            names
                .iter()
                .find_map(|n| raw.annotations.get(*n))
                .map(|v| clean(&v.0))
        };
        let owned =
            |text: Option<Cow<str>>, or: &str| text.map_or_else(|| or.into(), Cow::into_owned);
        // The same rule as for metrics: the first label of the list that
        // names a service, else the instance.
        let raw_label = |name: &str| raw.labels.get(name).map(|v| &*v.0);
        let (service, service_label) =
            match crate::sli::identity::resolve(raw_label, &self.service_labels) {
                Some((value, by)) => (Some(clean(value)), by.to_string()),
                None => (label("instance"), "instance".to_string()),
            };
        // What silences match: the values as Alertmanager holds them.
        let raw_service = match raw_label(&service_label) {
            Some(value) if service.as_ref().is_some_and(|s| !s.is_empty()) => value.to_string(),
            _ => String::new(),
        };
        Alert {
            name: owned(label("alertname"), "(no alertname)"),
            service: owned(service.filter(|s| !s.is_empty()), "—"),
            raw_name: raw_label("alertname").unwrap_or("").to_string(),
            raw_service,
            service_label,
            // On the raw values: a rule matches what Alertmanager holds,
            // not the escaped display text.
            heartbeat: self.rules.is_heartbeat(raw_label),
            counted: self.rules.counts(raw_label),
            severity: Severity::from_label(&label("severity").unwrap_or_default()),
            summary: owned(note(&["summary", "description", "message"]), ""),
            runbook: note(&["runbook_url", "runbook"]).map(Cow::into_owned),
            starts_at: raw.starts_at,
            silenced_by: raw
                .status
                .silenced_by
                .first()
                .map(|s| clean(&s.0).into_owned()),
            inhibited: !raw.status.inhibited_by.is_empty(),
            // Without a fingerprint, the label set is the alert's identity.
            fingerprint: if raw.fingerprint.0.is_empty() {
                clean(
                    &raw.labels
                        .iter()
                        .map(|(k, v)| format!("{k}={v}"))
                        .collect::<Vec<_>>()
                        .join(","),
                )
                .into_owned()
            } else {
                clean(&raw.fingerprint.0).into_owned()
            },
            sources: vec![self.name.clone()],
            placement: crate::domain::PLACEMENT_LABELS
                .iter()
                .filter_map(|l| Some((l.to_string(), raw_label(l)?.to_string())))
                .filter(|(_, v)| !v.is_empty())
                .collect(),
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
        let Fetched {
            value: alerts,
            mut warnings,
        } = self.decode_alerts(alerts.status, &alerts.body)?;
        let silences = silences.and_then(|a| decode_silences(a.status, &a.body));
        let silences = match silences {
            Ok(list) => {
                warnings.extend(list.warnings);
                list.value
            }
            Err(e) => {
                warnings.push(format!("silences: {e}"));
                Vec::new()
            }
        };
        Ok(Fetched {
            value: AlertsReading { alerts, silences },
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
            &["service".to_string()],
        )
        .unwrap();
        let alert = source.alert(raw.into_iter().next().unwrap());
        assert_eq!(alert.service, "check\\x1b]0;pwned\\x07out");
        assert_eq!(
            alert.raw_service, "check\u{1b}]0;pwned\u{7}out",
            "kept for silences"
        );
        assert_eq!(alert.raw_name, "HighErrorRate");
        // A value longer than shown is kept whole for matching.
        let long = "y".repeat(100_000);
        let body = format!(
            r#"[{{"labels":{{"alertname":"A","service":"{long}"}},"startsAt":"2026-11-22T02:00:00Z","status":{{}}}}]"#
        );
        let raw: Vec<RawAlert> = parse(200, body.as_bytes()).unwrap();
        let cut = source.alert(raw.into_iter().next().unwrap());
        assert!(cut.service.ends_with('…') && cut.service.chars().count() < 1_000);
        assert_eq!(cut.raw_service, long);
        assert_eq!(alert.severity, Severity::Critical);
        assert_eq!(alert.runbook.as_deref(), Some("https://runbooks/x"));
        assert_eq!(alert.silenced_by.as_deref(), Some("s1"));
        assert_eq!(alert.sources, ["am"]);
    }

    #[test]
    fn an_alert_lands_on_its_service_whichever_label_names_it() {
        let labels: Vec<String> = crate::sli::DEFAULT_SERVICE_LABELS
            .iter()
            .map(|s| s.to_string())
            .collect();
        let source = AlertmanagerSource::new(
            Endpoint::plain("am", reqwest::Url::parse("http://127.0.0.1:9").unwrap()),
            &labels,
        )
        .unwrap();
        let read = |labels: &str| {
            let body = format!(
                r#"[{{"labels":{{"alertname":"A",{labels}}},"startsAt":"2026-11-22T02:00:00Z","status":{{}}}}]"#
            );
            let raw: Vec<RawAlert> = parse(200, body.as_bytes()).unwrap();
            let alert = source.alert(raw.into_iter().next().unwrap());
            (alert.service, alert.service_label)
        };
        let pair = |a: &str, b: &str| (a.to_string(), b.to_string());
        assert_eq!(
            read(r#""service":"orders","job":"api""#),
            pair("orders", "service")
        );
        assert_eq!(read(r#""job":"api","instance":"h:1""#), pair("api", "job"));
        assert_eq!(
            read(r#""service_name":"unknown_service:python","app":"shop","job":"api""#),
            pair("shop", "app")
        );
        assert_eq!(read(r#""instance":"h:1""#), pair("h:1", "instance"));
        let body = br#"[{"labels":{"alertname":"Watchdog","severity":"none"},"startsAt":"2026-11-22T02:00:00Z","status":{}}]"#;
        let raw: Vec<RawAlert> = parse(200, body).unwrap();
        assert!(
            source.alert(raw.into_iter().next().unwrap()).heartbeat,
            "Watchdog is a heartbeat"
        );
    }

    #[test]
    fn one_unreadable_alert_or_silence_is_counted_and_the_rest_shown() {
        let source = AlertmanagerSource::new(
            Endpoint::plain("am", reqwest::Url::parse("http://127.0.0.1:9").unwrap()),
            &["service".to_string()],
        )
        .unwrap();
        let good = |name: &str| {
            format!(
                r#"{{"labels":{{"alertname":"{name}"}},"startsAt":"2026-11-22T02:00:00Z","status":{{}}}}"#
            )
        };
        let body = format!(
            r#"[{},{{"labels":null,"startsAt":"2026-11-22T02:00:00Z","status":{{}}}},{},{{"labels":{{"alertname":"Late"}},"startsAt":"yesterday","status":{{}}}}]"#,
            good("A"),
            good("B")
        );
        let read = source.decode_alerts(200, body.as_bytes()).unwrap();
        let names: Vec<&str> = read.value.iter().map(|a| a.name.as_str()).collect();
        assert_eq!(names, ["A", "B"]);
        assert_eq!(read.warnings.len(), 1, "{:?}", read.warnings);
        assert!(
            read.warnings[0].starts_with("2 alerts unreadable: invalid type: null, expected a map"),
            "{:?}",
            read.warnings
        );
        let silences = br#"[{"id":"s1","status":{"state":"active"},"startsAt":"2026-11-22T02:00:00Z","endsAt":"2026-11-22T04:00:00Z"},
            {"id":"s2","status":{"state":"active"},"startsAt":"soon","endsAt":"2026-11-22T04:00:00Z"}]"#;
        let read = decode_silences(200, silences).unwrap();
        assert_eq!(read.value.len(), 1);
        assert!(
            read.warnings[0].starts_with("1 silence unreadable: "),
            "{:?}",
            read.warnings
        );
        // Not a list at all: the answer's error, as before.
        assert!(source.decode_alerts(200, b"{}").is_err());
    }

    #[test]
    fn at_most_max_alerts_are_kept_and_the_panel_is_told() {
        let alert = |i: usize| {
            format!(
                r#"{{"labels":{{"alertname":"A{i}"}},"startsAt":"2026-11-22T02:00:00Z","fingerprint":"f{i}","status":{{}}}}"#
            )
        };
        let body = |n: usize| format!("[{}]", (0..n).map(alert).collect::<Vec<_>>().join(","));
        let mut endpoint =
            Endpoint::plain("am", reqwest::Url::parse("http://127.0.0.1:9").unwrap());
        endpoint.max_alerts = 3;
        let source = AlertmanagerSource::new(endpoint, &["service".to_string()]).unwrap();
        let cut = source.decode_alerts(200, body(5).as_bytes()).unwrap();
        let names: Vec<_> = cut.value.iter().map(|a| a.name.as_str()).collect();
        assert_eq!(names, ["A0", "A1", "A2"]);
        assert_eq!(
            cut.warnings,
            ["5 alerts, the first 3 kept (limits.max_alerts)"]
        );
        let whole = source.decode_alerts(200, body(3).as_bytes()).unwrap();
        assert_eq!((whole.value.len(), whole.warnings.len()), (3, 0));
        let default = AlertmanagerSource::new(
            Endpoint::plain("am", reqwest::Url::parse("http://127.0.0.1:9").unwrap()),
            &["service".to_string()],
        )
        .unwrap();
        let many = default.decode_alerts(200, body(5_001).as_bytes()).unwrap();
        assert_eq!(many.value.len(), 5_000);
        assert_eq!(
            many.warnings,
            ["5,001 alerts, the first 5,000 kept (limits.max_alerts)"]
        );
    }

    #[test]
    fn matchers_read_as_promql_does() {
        let m = |is_regex, is_equal| {
            matcher(&RawMatcher {
                name: RawText("service".into()),
                value: RawText("a|b".into()),
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
    fn silences_that_are_not_expired_read_safely() {
        let body = br#"[{"id":"s1","status":{"state":"active"},"comment":"CHG-1\u001b[2J","createdBy":"ops",
            "startsAt":"2026-11-22T02:00:00Z","endsAt":"2026-11-22T04:00:00Z",
            "matchers":[{"name":"service","value":"checkout","isRegex":false}]},
            {"id":"s0","status":{"state":"expired"},"startsAt":"2026-11-21T02:00:00Z","endsAt":"2026-11-21T04:00:00Z"}]"#;
        let silences = decode_silences(200, body).unwrap().value;
        assert_eq!(silences.len(), 1, "the expired one is left out");
        let s = &silences[0];
        assert_eq!(
            (s.id.as_str(), s.matchers.as_str(), s.created_by.as_str()),
            ("s1", "service=\"checkout\"", "ops")
        );
        assert_eq!(s.comment, "CHG-1\\x1b[2J");
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
