//! The estate at a glance: its worst state and, for every part that makes
//! it so, a short reason. The header shows it; `opsdeck status` will too.

use chrono::{DateTime, Utc};

use super::incidents::Incident;
use super::slo::{host_status, rpo_status, rto_status, service_status, verification_status};
use super::{Backup, Host, Objectives, ServiceHealth, Severity, Status, Thresholds};

/// One cause of the estate's state, in a few words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reason {
    pub status: Status,
    pub text: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Summary {
    pub status: Status,
    /// Worst first; every state above OK has at least one.
    pub reasons: Vec<Reason>,
}

/// What the summary is computed from; `None` where a feed has not answered.
pub struct Parts<'a> {
    pub services: Option<&'a [ServiceHealth]>,
    pub hosts: Option<&'a [Host]>,
    pub incidents: Option<&'a [Incident]>,
    pub backups: Option<&'a [Backup]>,
    pub thresholds: &'a Thresholds,
    pub objectives: &'a Objectives,
    pub now: DateTime<Utc>,
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// Counts the items at their worst state and says so: "2 services critical".
fn count(
    reasons: &mut Vec<Reason>,
    states: impl Iterator<Item = Status>,
    words: &[(Status, &str, &str)],
) {
    let states: Vec<Status> = states.collect();
    for &(status, one, many) in words {
        let n = states.iter().filter(|s| **s == status).count();
        if n > 0 {
            reasons.push(Reason {
                status,
                text: plural(n, one, many),
            });
            return;
        }
    }
}

/// Live trouble (services, hosts, incidents, RPO) can make the estate
/// critical; recovery readiness (drills, verification) at most a warning,
/// since it is a risk rather than an outage.
pub fn summarise(p: &Parts) -> Summary {
    let mut reasons = Vec::new();
    if let Some(incidents) = p.incidents {
        let open: Vec<&Incident> = incidents.iter().filter(|i| !i.silenced).collect();
        if let Some(worst) = open.iter().map(|i| i.severity).max() {
            let critical = open
                .iter()
                .filter(|i| i.severity == Severity::Critical)
                .count();
            let text = format!(
                "{} ({critical} crit)",
                plural(open.len(), "incident", "incidents")
            );
            reasons.push(Reason {
                status: worst.status(),
                text,
            });
        }
    }
    if let Some(services) = p.services {
        let states = services
            .iter()
            .map(|s| service_status(s, p.thresholds, p.objectives));
        count(
            &mut reasons,
            states,
            &[
                (Status::Crit, "service critical", "services critical"),
                (Status::Warn, "service degraded", "services degraded"),
            ],
        );
    }
    if let Some(hosts) = p.hosts {
        let states = hosts.iter().map(|h| host_status(h, p.thresholds));
        count(
            &mut reasons,
            states,
            &[
                (Status::Crit, "host critical", "hosts critical"),
                (Status::Warn, "host warning", "hosts warning"),
            ],
        );
    }
    if let Some(backups) = p.backups {
        let rpo = backups
            .iter()
            .map(|b| rpo_status(b.last_success, b.tier.objectives(), p.now).1);
        count(
            &mut reasons,
            rpo,
            &[
                (Status::Crit, "RPO breach", "RPO breaches"),
                (
                    Status::Warn,
                    "backup near its RPO",
                    "backups near their RPO",
                ),
            ],
        );
        let rto: Vec<Status> = backups
            .iter()
            .map(|b| rto_status(b, b.tier.objectives(), p.now))
            .collect();
        let only = |wanted: Status| {
            rto.iter().map(move |s| {
                if *s == wanted {
                    Status::Warn
                } else {
                    Status::Ok
                }
            })
        };
        count(
            &mut reasons,
            only(Status::Crit),
            &[(Status::Warn, "drill over RTO", "drills over RTO")],
        );
        count(
            &mut reasons,
            only(Status::Warn),
            &[(Status::Warn, "drill stale", "drills stale")],
        );
        let verify = backups
            .iter()
            .map(|b| verification_status(b.last_verified, p.now));
        count(
            &mut reasons,
            verify,
            &[(Status::Warn, "backup unverified", "backups unverified")],
        );
        let untested = rto.iter().copied();
        count(
            &mut reasons,
            untested,
            &[(
                Status::Unknown,
                "target never drilled",
                "targets never drilled",
            )],
        );
    }
    let missing: Vec<&str> = [
        (p.services.is_none(), "health"),
        (p.incidents.is_none(), "alerts"),
        (p.backups.is_none(), "backups"),
    ]
    .into_iter()
    .filter_map(|(gone, what)| gone.then_some(what))
    .collect();
    if !missing.is_empty() {
        reasons.push(Reason {
            status: Status::Unknown,
            // Not "yet": a source that is down has no data either, and the
            // header names it.
            text: format!("no {} data", missing.join(", ")),
        });
    }
    reasons.sort_by_key(|r| std::cmp::Reverse(r.status));
    Summary {
        status: Status::worst(reasons.iter().map(|r| r.status)),
        reasons,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::demo::DemoEstate;
    use chrono::{Duration, TimeZone};

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 22, 3, 0, 0).unwrap()
    }

    fn parts<'a>(
        services: &'a [ServiceHealth],
        hosts: &'a [Host],
        incidents: &'a [Incident],
        backups: &'a [Backup],
        t: &'a Thresholds,
        o: &'a Objectives,
    ) -> Parts<'a> {
        Parts {
            services: Some(services),
            hosts: Some(hosts),
            incidents: Some(incidents),
            backups: Some(backups),
            thresholds: t,
            objectives: o,
            now: now(),
        }
    }

    #[test]
    fn every_state_above_ok_has_a_reason_worst_first() {
        let demo = DemoEstate::new(11, now());
        let health = demo.health_at(now());
        let incidents = crate::domain::incidents::group(&demo.alerts_at(now()).alerts);
        let backups = demo.backups_at(now());
        let (t, o) = (Thresholds::default(), Objectives::default());
        let s = summarise(&parts(
            &health.services,
            &health.hosts,
            &incidents,
            &backups,
            &t,
            &o,
        ));
        assert_eq!(s.status, Status::Crit);
        let texts: Vec<&str> = s.reasons.iter().map(|r| r.text.as_str()).collect();
        assert!(
            texts.iter().any(|r| r.ends_with("incidents (1 crit)")),
            "{texts:?}"
        );
        assert!(texts.contains(&"1 RPO breach"), "{texts:?}");
        assert!(texts.contains(&"1 host critical"), "db-02 disk: {texts:?}");
        assert!(
            texts.contains(&"1 drill over RTO"),
            "a readiness risk, a warning: {texts:?}"
        );
        assert!(
            texts.contains(&"1 drill stale"),
            "search-index, 120 days: {texts:?}"
        );
        assert!(
            texts.contains(&"1 backup unverified"),
            "media-bucket: {texts:?}"
        );
        assert!(texts.contains(&"1 target never drilled"), "{texts:?}");
        assert!(s.reasons.windows(2).all(|w| w[0].status >= w[1].status));
    }

    #[test]
    fn a_never_drilled_target_alone_is_unknown_and_says_why() {
        let (t, o) = (Thresholds::default(), Objectives::default());
        let backup = Backup {
            service: None,
            target: "config-etcd".into(),
            tier: crate::domain::Tier::Critical,
            last_success: Some(now() - Duration::minutes(1)),
            size_bytes: 1.0,
            duration: Some(Duration::seconds(10)),
            last_verified: Some(now() - Duration::hours(1)),
            last_drill: None,
            runs: None,
        };
        let s = summarise(&parts(&[], &[], &[], std::slice::from_ref(&backup), &t, &o));
        assert_eq!(s.status, Status::Unknown);
        assert_eq!(s.reasons[0].text, "1 target never drilled");
    }

    #[test]
    fn missing_feeds_are_unknown_not_ok() {
        let (t, o) = (Thresholds::default(), Objectives::default());
        let s = summarise(&Parts {
            services: None,
            hosts: None,
            incidents: Some(&[]),
            backups: None,
            thresholds: &t,
            objectives: &o,
            now: now(),
        });
        assert_eq!(s.status, Status::Unknown);
        assert_eq!(s.reasons[0].text, "no health, backups data");
        let all_clear = summarise(&parts(&[], &[], &[], &[], &t, &o));
        assert_eq!((all_clear.status, all_clear.reasons.len()), (Status::Ok, 0));
    }
}
