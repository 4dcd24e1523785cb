//! Grouping of firing alerts into incidents: one incident per alert name and
//! service, as the on-call engineer thinks of them.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};

use super::{Alert, Severity};

#[derive(Debug, Clone, PartialEq)]
pub struct Incident {
    pub name: String,
    pub service: String,
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
    /// The alert sources that report it, sorted.
    pub sources: Vec<String>,
}

impl Incident {
    pub fn duration(&self, now: DateTime<Utc>) -> Duration {
        (now - self.started).max(Duration::zero())
    }
}

/// Groups alerts into incidents, most severe first, then the longest running.
pub fn group(alerts: &[Alert]) -> Vec<Incident> {
    let mut by_key: BTreeMap<(&str, &str), Vec<&Alert>> = BTreeMap::new();
    // The pipeline's heartbeat fires always: not an incident.
    for alert in alerts.iter().filter(|a| !a.heartbeat) {
        by_key
            .entry((alert.name.as_str(), alert.service.as_str()))
            .or_default()
            .push(alert);
    }
    let mut incidents: Vec<Incident> = by_key
        .into_iter()
        .map(|((name, service), members)| incident_of(name, service, &members))
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

fn incident_of(name: &str, service: &str, members: &[&Alert]) -> Incident {
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
    Incident {
        name: name.to_string(),
        service: service.to_string(),
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
        sources,
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
            service_label: "service".into(),
            heartbeat: false,
            severity: sev,
            summary: format!("{name} on {service}"),
            runbook: None,
            starts_at: now - Duration::minutes(min_ago),
            silenced_by: silenced.then(|| "s1".to_string()),
            inhibited: false,
            fingerprint: format!("{name}{service}{min_ago}"),
            sources: vec!["am".into()],
        }
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
