//! What changed before an incident: the deployments, rollbacks,
//! maintenance windows and opsdeck actions on its service in the lead time
//! before it started, newest first. A pure join of values the feeds and
//! the action history already hold.

use chrono::{DateTime, Duration, Utc};

use super::incidents::Incident;
use super::{Deployment, Phase, Silence, Strategy};

/// The lead time looked back over when none is configured.
pub const DEFAULT_LEAD: Duration = Duration::minutes(30);

/// One change to a service, as the join sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    /// The service it changed, as shown.
    pub service: String,
    pub at: DateTime<Utc>,
    /// What it was, in a few words: `checkout v3.2.40 canary 25%`.
    pub what: String,
}

/// An action run from opsdeck, as the history holds it.
#[derive(Debug, Clone, Copy)]
pub struct ActionRun<'a> {
    pub action: &'a str,
    /// What it ran on: a service, or `name/service` for an incident.
    pub target: &'a str,
    pub started: DateTime<Utc>,
}

/// A change that came before an incident, and how long before.
#[derive(Debug, Clone, PartialEq)]
pub struct Preceding {
    pub change: Change,
    pub before: Duration,
}

impl Preceding {
    /// `started 3m after checkout v3.2.40 canary 25%`.
    pub fn describe(&self) -> String {
        format!("started {} after {}", short(self.before), self.change.what)
    }
}

fn short(d: Duration) -> String {
    let s = d.num_seconds().max(0);
    match s {
        0..60 => format!("{s}s"),
        60..3_600 => format!("{}m", s / 60),
        _ => format!("{}h{:02}m", s / 3_600, s / 60 % 60),
    }
}

fn release(d: &Deployment, version: &str) -> String {
    let how = match d.strategy {
        Strategy::Canary { weight } if weight.is_finite() => {
            format!("canary {}%", weight.clamp(0.0, 100.0).round())
        }
        Strategy::BlueGreen { .. } | Strategy::Canary { .. } | Strategy::Rolling { .. } => {
            d.strategy.label().to_string()
        }
    };
    format!("{} {version} {how}", d.service)
}

/// The changes deployments record: the current release when it started,
/// and each event of their history (a rollback said as one).
pub fn from_deployments(deployments: &[Deployment]) -> Vec<Change> {
    let mut changes = Vec::new();
    for d in deployments {
        if let Some(at) = d.deployed_at {
            changes.push(Change {
                service: d.service.clone(),
                at,
                what: release(d, &d.version),
            });
        }
        for e in &d.history {
            // The current release again: said once.
            if Some(e.at) == d.deployed_at && e.version == d.version {
                continue;
            }
            let what = match e.outcome {
                Phase::RolledBack => format!("{} rollback of {}", d.service, e.version),
                _ => format!("{} {} deploy", d.service, e.version),
            };
            changes.push(Change {
                service: d.service.clone(),
                at: e.at,
                what,
            });
        }
    }
    changes
}

/// The maintenance windows among silences (opsdeck's own say so in their
/// comment, as do most people's), by when each opened, on the service its
/// matchers name with `label="value"`.
pub fn from_silences(silences: &[Silence], service_labels: &[String]) -> Vec<Change> {
    silences
        .iter()
        .filter(|s| s.comment.to_lowercase().contains("maintenance"))
        .filter_map(|s| {
            let service = matched_service(&s.matchers, service_labels)?;
            Some(Change {
                what: format!("maintenance window on {service}"),
                service,
                at: s.starts_at,
            })
        })
        .collect()
}

fn matched_service(matchers: &str, labels: &[String]) -> Option<String> {
    matchers.split(", ").find_map(|m| {
        let (label, value) = m.split_once('=')?;
        let value = value.strip_prefix('"')?.strip_suffix('"')?;
        labels
            .iter()
            .any(|l| l == label.trim())
            .then(|| value.to_string())
    })
}

/// The actions run from opsdeck, each on the service its target names.
pub fn from_actions(runs: &[ActionRun]) -> Vec<Change> {
    runs.iter()
        .map(|r| {
            let service = r.target.rsplit('/').next().unwrap_or(r.target);
            Change {
                service: service.to_string(),
                at: r.started,
                what: format!("{} {service} (opsdeck)", r.action),
            }
        })
        .collect()
}

/// The changes on `incident`'s service within `lead` before it started
/// (a change at the very moment it started included), newest first.
pub fn preceding(incident: &Incident, changes: &[Change], lead: Duration) -> Vec<Preceding> {
    let mut found: Vec<Preceding> = changes
        .iter()
        .filter(|c| c.service == incident.service && incident.service != "—")
        .filter_map(|c| {
            let before = incident.started - c.at;
            (before >= Duration::zero() && before <= lead).then(|| Preceding {
                change: c.clone(),
                before,
            })
        })
        .collect();
    found.sort_by(|a, b| {
        a.before
            .cmp(&b.before)
            .then(a.change.what.cmp(&b.change.what))
    });
    found.dedup_by(|a, b| a.change == b.change);
    found
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Colour, DeployEvent, Severity};
    use chrono::TimeZone;

    fn at(h: u32, m: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 7, h, m, 0).unwrap()
    }

    fn incident(service: &str, started: DateTime<Utc>) -> Incident {
        Incident {
            name: "HighErrorRate".into(),
            service: service.into(),
            raw_name: "HighErrorRate".into(),
            raw_service: service.into(),
            service_label: "service".into(),
            severity: Severity::Critical,
            started,
            alert_count: 1,
            summary: String::new(),
            runbook: None,
            silenced: false,
            inhibited: false,
            counted: true,
            sources: vec![],
            placement: vec![],
        }
    }

    fn deployment(service: &str, strategy: Strategy, at: DateTime<Utc>) -> Deployment {
        Deployment {
            service: service.into(),
            environment: "prod".into(),
            version: "v3.2.40".into(),
            previous_version: Some("v3.2.39".into()),
            strategy,
            phase: Phase::Progressing,
            deployed_at: Some(at),
            rollbacks: 0,
            history: vec![],
            window: None,
            canary: None,
        }
    }

    #[test]
    fn an_incident_lists_the_changes_on_its_service_within_the_lead_newest_first() {
        let mut checkout = deployment("checkout", Strategy::Canary { weight: 25.0 }, at(3, 7));
        checkout.history = vec![
            DeployEvent {
                version: "v3.2.40".into(),
                at: at(3, 7),
                outcome: Phase::Progressing,
            },
            DeployEvent {
                version: "v3.2.38".into(),
                at: at(2, 50),
                outcome: Phase::RolledBack,
            },
            DeployEvent {
                version: "v3.2.37".into(),
                at: at(1, 0),
                outcome: Phase::Complete,
            },
        ];
        let search = deployment(
            "search",
            Strategy::BlueGreen { live: Colour::Blue },
            at(3, 8),
        );
        let window = Silence {
            id: "s".into(),
            matchers: r#"service="checkout""#.into(),
            created_by: "ops".into(),
            comment: "maintenance window (opsdeck)".into(),
            starts_at: at(2, 55),
            ends_at: at(4, 0),
        };
        let mut changes = from_deployments(&[checkout, search]);
        changes.extend(from_silences(&[window], &["service".into()]));
        changes.extend(from_actions(&[ActionRun {
            action: "acknowledge",
            target: "HighErrorRate/checkout",
            started: at(3, 11),
        }]));
        let found = preceding(&incident("checkout", at(3, 10)), &changes, DEFAULT_LEAD);
        let said: Vec<String> = found.iter().map(Preceding::describe).collect();
        assert_eq!(
            said,
            [
                "started 3m after checkout v3.2.40 canary 25%",
                "started 15m after maintenance window on checkout",
                "started 20m after checkout rollback of v3.2.38",
            ],
            "the action after it, the deploy of another service and the one an hour before are not listed"
        );
        // A shorter lead keeps the newest alone.
        assert_eq!(
            preceding(
                &incident("checkout", at(3, 10)),
                &changes,
                Duration::minutes(5)
            )
            .len(),
            1
        );
        // No service, no join.
        assert!(preceding(&incident("—", at(3, 10)), &changes, DEFAULT_LEAD).is_empty());
    }

    #[test]
    fn an_action_on_a_service_is_a_change_on_it() {
        let changes = from_actions(&[ActionRun {
            action: "rollback",
            target: "payments",
            started: at(3, 0),
        }]);
        let found = preceding(&incident("payments", at(3, 2)), &changes, DEFAULT_LEAD);
        assert_eq!(
            found[0].describe(),
            "started 2m after rollback payments (opsdeck)"
        );
    }
}
