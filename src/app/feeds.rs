//! What each source last said on each feed, and the merged view the screen
//! shows: services of several clusters side by side, alerts of an HA pair of
//! Alertmanagers counted once.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use crate::domain::{Alert, AlertsReading, HealthReading, ServiceHealth, Silence};
use crate::sources::{Feed, FeedUpdate, Reading};

/// The last good data of one feed, when it came, and what went wrong since.
#[derive(Debug, Clone)]
pub struct Panel<T> {
    pub data: Option<T>,
    /// For merged data: when the oldest of its parts came.
    pub updated: Option<DateTime<Utc>>,
    /// The latest fetch's error, per source ("name: error"), joined.
    pub error: Option<String>,
    pub warnings: Vec<String>,
}

impl<T> Default for Panel<T> {
    fn default() -> Self {
        Panel {
            data: None,
            updated: None,
            error: None,
            warnings: Vec::new(),
        }
    }
}

/// Everything received, by feed and source.
#[derive(Debug, Clone, Default)]
pub struct Received {
    by_source: BTreeMap<(Feed, String), Panel<Reading>>,
}

impl Received {
    /// Keeps what a source said; false when it said exactly what it said
    /// last time, so that only the age of the data moved (at 1 s refresh
    /// most answers are the same scrape read again).
    pub fn store(&mut self, update: FeedUpdate) -> bool {
        let panel = self
            .by_source
            .entry((update.feed, update.source))
            .or_default();
        match update.result {
            Ok(reading) => {
                let same = panel.error.is_none()
                    && panel.warnings == update.warnings
                    && panel
                        .data
                        .as_ref()
                        .is_some_and(|held| same_reading(held, &reading));
                panel.updated = Some(update.at);
                if same {
                    return false;
                }
                panel.data = Some(reading);
                panel.error = None;
                panel.warnings = update.warnings;
            }
            // The last good data stays; the error is shown beside its age.
            // The same error again (a source down for a while) changes
            // nothing on screen.
            Err(err) => {
                let text = err.to_string();
                if panel.error.as_ref() == Some(&text) {
                    return false;
                }
                panel.error = Some(text);
            }
        }
        true
    }

    /// When the oldest part of `feed` with data came: the merged panel's
    /// age.
    pub fn updated(&self, feed: Feed) -> Option<DateTime<Utc>> {
        self.by_source
            .iter()
            .filter(|((f, _), p)| *f == feed && p.data.is_some())
            .filter_map(|(_, p)| p.updated)
            .min()
    }

    /// One feed across its sources, its readings combined by `combine`.
    pub fn merged<T>(
        &self,
        feed: Feed,
        pick: impl Fn(&Reading) -> Option<&T>,
        combine: impl Fn(Vec<&T>) -> T,
    ) -> Panel<T> {
        let parts: Vec<(&String, &Panel<Reading>)> = self
            .by_source
            .iter()
            .filter(|((f, _), _)| *f == feed)
            .map(|((_, s), p)| (s, p))
            .collect();
        let several = parts.len() > 1;
        let named = |source: &str, text: &str| {
            if several {
                format!("{source}: {text}")
            } else {
                text.to_string()
            }
        };
        let errors: Vec<String> = parts
            .iter()
            .filter_map(|(s, p)| p.error.as_deref().map(|e| named(s, e)))
            .collect();
        let values: Vec<&T> = parts
            .iter()
            .filter_map(|(_, p)| p.data.as_ref().and_then(&pick))
            .collect();
        Panel {
            data: (!values.is_empty()).then(|| combine(values)),
            updated: self.updated(feed),
            error: (!errors.is_empty()).then(|| errors.join("; ")),
            warnings: parts
                .iter()
                .flat_map(|(s, p)| p.warnings.iter().map(|w| named(s, w)))
                .collect(),
        }
    }
}

/// Whether `new` says what `held` said: services the source did not build
/// again are the very same list, which compares equal even where a value is
/// NaN (unknown), as `==` would not.
fn same_reading(held: &Reading, new: &Reading) -> bool {
    match (held, new) {
        (Reading::Health(a), Reading::Health(b)) => {
            (std::sync::Arc::ptr_eq(&a.services, &b.services) || a.services == b.services)
                && a.hosts == b.hosts
        }
        _ => held == new,
    }
}

pub fn concat<T: Clone>(parts: Vec<&Vec<T>>) -> Vec<T> {
    parts.into_iter().flatten().cloned().collect()
}

pub fn health(parts: Vec<&HealthReading>) -> HealthReading {
    if let [one] = parts[..] {
        return one.clone();
    }
    HealthReading {
        looked_for: parts
            .iter()
            .map(|h| h.looked_for.as_str())
            .find(|t| !t.is_empty())
            .unwrap_or_default()
            .to_string(),
        services: std::sync::Arc::new(
            parts
                .iter()
                .flat_map(|h| h.services.iter().cloned())
                .collect(),
        ),
        hosts: parts.iter().flat_map(|h| h.hosts.iter().cloned()).collect(),
    }
}

/// A service exists when any feed names it: the services that only
/// deployments, alerts or backups name join the health reading, with no
/// figures and what they are known from.
/// Whether any joined.
pub fn name_services(e: &mut super::Estate) -> bool {
    let Some(health) = e.health.data.as_mut() else {
        return false;
    };
    let known: std::collections::HashSet<&str> =
        health.services.iter().map(|s| s.name.as_str()).collect();
    let deployed = e
        .deployments
        .data
        .iter()
        .flatten()
        .map(|d| (d.service.as_str(), "deployments"));
    let alerted = e
        .incidents
        .iter()
        .filter(|i| i.service != "—" && i.service_label != "instance")
        .map(|i| (i.service.as_str(), "alerts"));
    let backed_up = e
        .backups
        .data
        .iter()
        .flatten()
        .filter_map(|b| Some((b.service.as_deref()?, "backups")));
    let mut missing: Vec<(&str, &'static str)> = deployed
        .chain(alerted)
        .chain(backed_up)
        .filter(|(name, _)| !name.is_empty() && !known.contains(name))
        .collect();
    if missing.is_empty() {
        return false;
    }
    missing.sort_unstable();
    missing.dedup_by(|a, b| a.0 == b.0);
    let mut services: Vec<ServiceHealth> = health.services.as_ref().clone();
    services.extend(
        missing
            .into_iter()
            .map(|(name, feed)| ServiceHealth::unknown(name, feed)),
    );
    services.sort_by(|a, b| a.name.cmp(&b.name));
    health.services = std::sync::Arc::new(services);
    true
}

/// Alerts with the same fingerprint are one alert, reported by several
/// sources; silences with the same id are one silence.
pub fn alerts(parts: Vec<&AlertsReading>) -> AlertsReading {
    let mut by_fingerprint: BTreeMap<&str, Alert> = BTreeMap::new();
    for alert in parts.iter().flat_map(|a| &a.alerts) {
        by_fingerprint
            .entry(&alert.fingerprint)
            .and_modify(|seen| {
                seen.sources.extend(alert.sources.iter().cloned());
                seen.sources.sort();
                seen.sources.dedup();
            })
            .or_insert_with(|| alert.clone());
    }
    let mut silences: BTreeMap<&str, Silence> = BTreeMap::new();
    for silence in parts.iter().flat_map(|a| &a.silences) {
        silences
            .entry(&silence.id)
            .or_insert_with(|| silence.clone());
    }
    AlertsReading {
        alerts: by_fingerprint.into_values().collect(),
        silences: silences.into_values().collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Severity;
    use crate::sources::SourceError;
    use chrono::TimeZone;

    fn at(secs: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 22, 3, 0, 0).unwrap() + chrono::Duration::seconds(secs)
    }

    fn alert(fingerprint: &str, source: &str) -> Alert {
        Alert {
            name: "HighErrorRate".into(),
            service: "checkout".into(),
            raw_name: "HighErrorRate".into(),
            raw_service: "checkout".into(),
            service_label: "service".into(),
            heartbeat: false,
            counted: true,
            severity: Severity::Critical,
            summary: String::new(),
            runbook: None,
            starts_at: at(0),
            silenced_by: None,
            inhibited: false,
            fingerprint: fingerprint.into(),
            placement: vec![],
            sources: vec![source.into()],
        }
    }

    fn update(source: &str, secs: i64, result: Result<Reading, SourceError>) -> FeedUpdate {
        FeedUpdate {
            source: source.into(),
            feed: Feed::Alerts,
            at: at(secs),
            result,
            warnings: vec![],
        }
    }

    #[test]
    fn copies_of_an_alert_from_an_ha_pair_are_one_alert_reported_by_both() {
        let mut r = Received::default();
        let reading = |fps: &[&str], src: &str| {
            Reading::Alerts(AlertsReading {
                alerts: fps.iter().map(|f| alert(f, src)).collect(),
                silences: vec![],
            })
        };
        r.store(update("am-1", 0, Ok(reading(&["a", "b"], "am-1"))));
        r.store(update("am-2", 1, Ok(reading(&["a"], "am-2"))));
        let merged = r.merged(Feed::Alerts, Reading::as_alerts, alerts);
        let data = merged.data.unwrap();
        assert_eq!(data.alerts.len(), 2);
        let a = data.alerts.iter().find(|x| x.fingerprint == "a").unwrap();
        assert_eq!(a.sources, ["am-1", "am-2"]);
        assert_eq!(merged.updated, Some(at(0)), "the oldest part's age");
    }

    #[test]
    fn the_same_reading_again_moves_only_its_age_and_the_same_error_is_not_redrawn() {
        let mut r = Received::default();
        let reading = || {
            Reading::Alerts(AlertsReading {
                alerts: vec![alert("a", "am-1")],
                silences: vec![],
            })
        };
        assert!(r.store(update("am-1", 0, Ok(reading()))), "new data");
        assert!(!r.store(update("am-1", 5, Ok(reading()))), "the same again");
        assert_eq!(r.updated(Feed::Alerts), Some(at(5)), "but younger");
        let mut warned = update("am-1", 6, Ok(reading()));
        warned.warnings = vec!["partial response".into()];
        assert!(r.store(warned), "the same data with a new warning");
        assert!(r.store(update("am-1", 7, Err(SourceError::Timeout(5)))));
        assert!(
            !r.store(update("am-1", 7, Err(SourceError::Timeout(5)))),
            "the same error again"
        );
        assert!(
            r.store(update("am-1", 7, Err(SourceError::Timeout(10)))),
            "another error"
        );
        assert!(
            r.store(update("am-1", 8, Ok(reading()))),
            "the same data after an error clears the error"
        );
        assert_eq!(
            r.merged(Feed::Alerts, Reading::as_alerts, alerts).error,
            None
        );
    }

    #[test]
    fn one_source_failing_keeps_its_last_data_and_names_itself() {
        let mut r = Received::default();
        let reading = Reading::Alerts(AlertsReading {
            alerts: vec![alert("a", "am-1")],
            silences: vec![],
        });
        r.store(update("am-1", 0, Ok(reading)));
        r.store(update(
            "am-2",
            0,
            Err(SourceError::Unreachable("cannot connect".into())),
        ));
        r.store(update("am-1", 5, Err(SourceError::Timeout(5))));
        let merged = r.merged(Feed::Alerts, Reading::as_alerts, alerts);
        assert_eq!(
            merged.data.unwrap().alerts.len(),
            1,
            "am-1's last good data"
        );
        assert_eq!(merged.updated, Some(at(0)));
        assert_eq!(
            merged.error.as_deref(),
            Some("am-1: no answer within 5 s; am-2: cannot connect")
        );
    }
}
