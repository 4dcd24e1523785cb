//! Grouping of firing alerts into incidents: one incident per alert name and
//! service, as the on-call engineer thinks of them. Alerts are grouped by
//! their raw label values, so an incident's silence matches every one of
//! its alerts and nothing else, however its labels are shown.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};

use super::{Alert, Severity};

#[derive(Debug, Clone, PartialEq)]
pub struct Incident {
    /// Its alerts' name, as shown.
    pub name: String,
    /// Its alerts' service, as shown ("—" when no label names one).
    pub service: String,
    /// Its alerts' `alertname` exactly as Alertmanager holds it.
    pub raw_name: String,
    /// Its alerts' service label value exactly as Alertmanager holds it
    /// ("" when none names a service): what its silences match.
    pub raw_service: String,
    /// The label that named the service, as its alerts' (`Alert`).
    pub service_label: String,
    /// The most severe of its alerts.
    pub severity: Severity,
    /// When its earliest alert started.
    pub started: DateTime<Utc>,
    pub alert_count: usize,
    pub summary: String,
    pub runbook: Option<String>,
    /// Silenced only when every one of its alerts is.
    pub silenced: bool,
    /// Inhibited only when every one of its alerts is.
    pub inhibited: bool,
    /// False when `[alerts] not_counted` names every one of its alerts:
    /// shown, but no part of the verdict.
    pub counted: bool,
    /// The alert sources that report it, sorted.
    pub sources: Vec<String>,
    /// Its alerts' placement labels (`Alert::placement`), sorted, once each.
    pub placement: Vec<(String, String)>,
}

impl Incident {
    pub fn duration(&self, now: DateTime<Utc>) -> Duration {
        (now - self.started).max(Duration::zero())
    }
}

/// The alerting pipeline's heartbeat, as the last answer from Alertmanager
/// showed it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Pipeline {
    /// No answer yet, or none from Alertmanager.
    #[default]
    Unknown,
    /// These heartbeats fire: the pipeline from rules to Alertmanager works.
    Alive(Vec<String>),
    /// None fires though Alertmanager answers: these were seen and went
    /// away (empty when none was ever seen but one is expected).
    Gone(Vec<String>),
    /// None fires and none is expected: nothing to say.
    Quiet,
}

impl Pipeline {
    /// The state after an answer holding `alerts`, given what was seen
    /// before and whether a heartbeat is expected.
    pub fn after(&self, alerts: &[Alert], expect: bool) -> Pipeline {
        let mut names: Vec<String> = alerts
            .iter()
            .filter(|a| a.heartbeat)
            .map(|a| a.name.clone())
            .collect();
        names.sort();
        names.dedup();
        if !names.is_empty() {
            return Pipeline::Alive(names);
        }
        match self {
            Pipeline::Alive(seen) | Pipeline::Gone(seen) if !seen.is_empty() => {
                Pipeline::Gone(seen.clone())
            }
            _ if expect => Pipeline::Gone(Vec::new()),
            _ => Pipeline::Quiet,
        }
    }

    /// In a few words, for the header and the Incidents tab.
    pub fn describe(&self) -> Option<String> {
        match self {
            Pipeline::Alive(names) => {
                Some(format!("alerting pipeline alive ({})", names.join(", ")))
            }
            Pipeline::Gone(seen) if seen.is_empty() => {
                Some("alerting pipeline heartbeat missing".into())
            }
            Pipeline::Gone(seen) => Some(format!(
                "alerting pipeline heartbeat gone ({})",
                seen.join(", ")
            )),
            Pipeline::Unknown | Pipeline::Quiet => None,
        }
    }
}

/// Groups alerts into incidents, most severe first, then the longest running.
pub fn group(alerts: &[Alert]) -> Vec<Incident> {
    // Keyed by the raw values: two services shown alike (cut at the same
    // length, say) stay two incidents, each silenced on its own value.
    let mut by_key: BTreeMap<(&str, &str, &str), Vec<&Alert>> = BTreeMap::new();
    // The pipeline's heartbeat fires always: not an incident.
    for alert in alerts.iter().filter(|a| !a.heartbeat) {
        by_key
            .entry((
                alert.raw_name.as_str(),
                alert.service_label.as_str(),
                alert.raw_service.as_str(),
            ))
            .or_default()
            .push(alert);
    }
    let mut incidents: Vec<Incident> = by_key
        .into_values()
        .map(|members| incident_of(&members))
        .collect();
    incidents.sort_by(|a, b| {
        b.severity
            .cmp(&a.severity)
            .then(a.silenced.cmp(&b.silenced))
            .then(a.started.cmp(&b.started))
            .then(a.name.cmp(&b.name))
    });
    incidents
}

fn incident_of(members: &[&Alert]) -> Incident {
    let worst = members
        .iter()
        .max_by_key(|a| (a.severity, std::cmp::Reverse(a.starts_at)))
        .expect("a group has at least one alert");
    let mut sources: Vec<String> = members
        .iter()
        .flat_map(|a| a.sources.iter().cloned())
        .collect();
    sources.sort();
    sources.dedup();
    let mut placement: Vec<(String, String)> = members
        .iter()
        .flat_map(|a| a.placement.iter().cloned())
        .collect();
    placement.sort();
    placement.dedup();
    Incident {
        name: worst.name.clone(),
        service: worst.service.clone(),
        raw_name: worst.raw_name.clone(),
        raw_service: worst.raw_service.clone(),
        service_label: worst.service_label.clone(),
        severity: worst.severity,
        started: members
            .iter()
            .map(|a| a.starts_at)
            .min()
            .unwrap_or(worst.starts_at),
        alert_count: members.len(),
        summary: worst.summary.clone(),
        runbook: members.iter().find_map(|a| a.runbook.clone()),
        silenced: members.iter().all(|a| a.silenced_by.is_some()),
        inhibited: members.iter().all(|a| a.inhibited),
        counted: members.iter().any(|a| a.counted),
        sources,
        placement,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn alert(name: &str, service: &str, sev: Severity, min_ago: i64, silenced: bool) -> Alert {
        let now = Utc.with_ymd_and_hms(2026, 11, 22, 3, 0, 0).unwrap();
        Alert {
            name: name.into(),
            service: service.into(),
            raw_name: name.into(),
            raw_service: service.into(),
            service_label: "service".into(),
            heartbeat: false,
            counted: true,
            severity: sev,
            summary: format!("{name} on {service}"),
            runbook: None,
            starts_at: now - Duration::minutes(min_ago),
            silenced_by: silenced.then(|| "s1".to_string()),
            inhibited: false,
            fingerprint: format!("{name}{service}{min_ago}"),
            sources: vec!["am".into()],
            placement: vec![],
        }
    }

    #[test]
    fn the_pipeline_is_alive_while_a_heartbeat_fires_and_gone_when_it_stops() {
        let mut watchdog = alert("Watchdog", "—", Severity::Info, 60, false);
        watchdog.heartbeat = true;
        let other = alert("HighErrorRate", "orders", Severity::Critical, 5, false);
        let alive = Pipeline::Unknown.after(&[watchdog.clone(), other.clone()], false);
        assert_eq!(alive, Pipeline::Alive(vec!["Watchdog".into()]));
        assert_eq!(
            alive.describe().as_deref(),
            Some("alerting pipeline alive (Watchdog)")
        );
        let gone = alive.after(std::slice::from_ref(&other), false);
        assert_eq!(gone, Pipeline::Gone(vec!["Watchdog".into()]));
        assert_eq!(
            gone.describe().as_deref(),
            Some("alerting pipeline heartbeat gone (Watchdog)")
        );
        // Still gone on the next answer; alive again when it is back.
        assert_eq!(gone.after(&[], false), gone);
        assert_eq!(gone.after(&[watchdog], false), alive);
        // Never seen: nothing to say, unless one is expected.
        assert_eq!(Pipeline::Unknown.after(&[], false), Pipeline::Quiet);
        assert_eq!(Pipeline::Quiet.after(&[], true), Pipeline::Gone(vec![]));
        assert_eq!(
            Pipeline::Gone(vec![]).describe().as_deref(),
            Some("alerting pipeline heartbeat missing")
        );
    }

    #[test]
    fn heartbeats_are_no_incidents_and_not_counted_ones_are_marked() {
        let mut watchdog = alert("Watchdog", "—", Severity::Critical, 60, false);
        watchdog.heartbeat = true;
        let mut sandbox = alert("DiskFull", "sandbox", Severity::Critical, 5, false);
        sandbox.counted = false;
        let incidents = group(&[watchdog, sandbox]);
        assert_eq!(incidents.len(), 1);
        assert_eq!(
            (incidents[0].name.as_str(), incidents[0].counted),
            ("DiskFull", false)
        );
    }

    #[test]
    fn alerts_of_one_name_and_service_make_one_incident_with_the_worst_severity() {
        let alerts = [
            alert("HighErrorRate", "checkout", Severity::Warning, 20, false),
            alert("HighErrorRate", "checkout", Severity::Critical, 5, false),
            alert("HighLatency", "search", Severity::Warning, 50, false),
            alert("DiskFull", "db", Severity::Info, 90, false),
        ];
        let incidents = group(&alerts);
        assert_eq!(incidents.len(), 3);
        assert_eq!(incidents[0].name, "HighErrorRate");
        assert_eq!(incidents[0].severity, Severity::Critical);
        assert_eq!(incidents[0].alert_count, 2);
        assert_eq!(incidents[0].started, alerts[0].starts_at, "earliest start");
        assert_eq!(incidents[1].name, "HighLatency");
        assert_eq!(incidents[2].severity, Severity::Info);
    }

    #[test]
    fn an_incident_is_silenced_only_when_all_its_alerts_are() {
        let partly = [
            alert("A", "x", Severity::Warning, 1, true),
            alert("A", "x", Severity::Warning, 2, false),
        ];
        assert!(!group(&partly)[0].silenced);
        let fully = [alert("A", "x", Severity::Warning, 1, true)];
        assert!(group(&fully)[0].silenced);
    }
}
