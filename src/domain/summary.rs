//! The estate at a glance: its worst state and, for every part that makes
//! it so, a short reason, and the worst state of each tab. Computed here
//! only: the header, the tab marks, the kiosk banner and `opsdeck status`
//! (text, JSON, exit code) all show this one verdict.

use chrono::{DateTime, Utc};

use super::incidents::{Incident, Pipeline};
use super::kpi::{Goal, Kpi};
use super::slo::{
    SignalStates, backup_rpo, backup_status, host_status, rto_status, signal_states,
    verification_status, verified_status,
};
use super::{Backup, Deployment, Host, Objectives, ServiceHealth, Severity, Status, Thresholds};

/// One cause of the estate's state, in a few words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reason {
    pub status: Status,
    pub text: String,
}

/// The worst state on each tab, so a breach on a tab not shown is seen
/// from any tab. A tab with nothing to judge is OK; one whose feed has not
/// answered is UNKNOWN.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Marks {
    pub kpis: Status,
    pub health: Status,
    pub deploys: Status,
    pub backups: Status,
    pub incidents: Status,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Summary {
    /// The estate's state: the worst of the marks.
    pub status: Status,
    /// Worst first; every state above OK has at least one.
    pub reasons: Vec<Reason>,
    pub marks: Marks,
}

/// What the summary is computed from; `None` where a feed has not answered.
pub struct Parts<'a> {
    pub services: Option<&'a [ServiceHealth]>,
    pub hosts: Option<&'a [Host]>,
    pub incidents: Option<&'a [Incident]>,
    pub pipeline: &'a Pipeline,
    pub backups: Option<&'a [Backup]>,
    pub deployments: Option<&'a [Deployment]>,
    /// The KPI tiles, already judged.
    pub kpis: &'a [Kpi],
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

/// Live trouble (services, hosts, incidents, RPO, a failed deployment) can
/// make the estate critical; recovery readiness (drills, verification) and
/// a stalled deployment at most a warning.
pub fn summarise(p: &Parts) -> Summary {
    let mut reasons = Vec::new();
    let mut marks = Marks::default();
    if let Some(incidents) = p.incidents {
        // Silenced (held) and not counted (`[alerts] not_counted`) are shown
        // on the tab, but are no part of the verdict.
        let open: Vec<&Incident> = incidents
            .iter()
            .filter(|i| !i.silenced && i.counted)
            .collect();
        if let Some(worst) = open.iter().map(|i| i.severity).max() {
            let critical = open
                .iter()
                .filter(|i| i.severity == Severity::Critical)
                .count();
            let text = format!(
                "{} ({critical} crit)",
                plural(open.len(), "incident", "incidents")
            );
            marks.incidents = worst.status();
            reasons.push(Reason {
                status: worst.status(),
                text,
            });
        }
    }
    if let (Pipeline::Gone(_), Some(text)) = (p.pipeline, p.pipeline.describe()) {
        // Alertmanager answers but the heartbeat does not fire: alerts may
        // not be reaching it, so "no incidents" cannot be trusted.
        marks.incidents = marks.incidents.max(Status::Warn);
        reasons.push(Reason {
            status: Status::Warn,
            text,
        });
    }
    if let Some(services) = p.services {
        let states: Vec<SignalStates> = services
            .iter()
            .map(|s| signal_states(s, p.thresholds, p.objectives))
            .collect();
        marks.health = Status::worst(states.iter().map(|s| s.worst()));
        count(
            &mut reasons,
            states.iter().map(|s| s.worst_judged()),
            &[
                (Status::Crit, "service critical", "services critical"),
                (Status::Warn, "service degraded", "services degraded"),
            ],
        );
        // A service already critical is counted so; its unusual figures
        // add nothing to the verdict's words.
        let not_critical: Vec<&ServiceHealth> = (services.iter().zip(&states))
            .filter(|(_, st)| st.worst_judged() < Status::Crit)
            .map(|(s, _)| s)
            .collect();
        anomaly_reasons(&mut reasons, &not_critical, p.thresholds.anomaly_deviations);
    }
    if let Some(hosts) = p.hosts {
        let states: Vec<Status> = hosts.iter().map(|h| host_status(h, p.thresholds)).collect();
        marks.health = marks.health.max(Status::worst(states.iter().copied()));
        count(
            &mut reasons,
            states.into_iter(),
            &[
                (Status::Crit, "host critical", "hosts critical"),
                (Status::Warn, "host warning", "hosts warning"),
            ],
        );
        if let Some((n, soonest, status)) = super::forecast::disks_filling(hosts, p.thresholds) {
            reasons.push(Reason {
                status,
                text: format!(
                    "{} full in {}",
                    plural(n, "disk", "disks"),
                    super::forecast::within(soonest)
                ),
            });
        }
    }
    if let Some(deployments) = p.deployments {
        let deadline = p.thresholds.progress_deadline;
        let states: Vec<Status> = deployments
            .iter()
            .map(|d| d.status(p.now, deadline))
            .collect();
        marks.deploys = Status::worst(states.iter().copied());
        // Failed by its phase: a canary's verdict is a reason of its own.
        count(
            &mut reasons,
            deployments.iter().map(|d| d.phase.status()),
            &[(Status::Crit, "deployment failed", "deployments failed")],
        );
        count(
            &mut reasons,
            deployments.iter().filter_map(|d| d.canary_status()),
            &[
                (
                    Status::Crit,
                    "canary worse than stable",
                    "canaries worse than stable",
                ),
                (
                    Status::Warn,
                    "canary slower than stable",
                    "canaries slower than stable",
                ),
            ],
        );
        count(
            &mut reasons,
            states.iter().copied(),
            &[(
                Status::Unknown,
                "deployment in an unknown phase",
                "deployments in an unknown phase",
            )],
        );
        let stalled = deployments.iter().map(|d| {
            if d.stalled(p.now, deadline) {
                Status::Warn
            } else {
                Status::Ok
            }
        });
        count(
            &mut reasons,
            stalled,
            &[(Status::Warn, "deployment stalled", "deployments stalled")],
        );
        // Paused or rolled back: waiting for someone, not broken.
        let held = deployments.iter().map(|d| {
            if !d.stalled(p.now, deadline) && d.phase.status() == Status::Warn {
                Status::Warn
            } else {
                Status::Ok
            }
        });
        count(
            &mut reasons,
            held,
            &[(
                Status::Warn,
                "deployment paused or rolled back",
                "deployments paused or rolled back",
            )],
        );
    }
    if let Some(backups) = p.backups {
        marks.backups = Status::worst(backups.iter().map(|b| backup_status(b, p.now)));
        backup_reasons(&mut reasons, backups, p.now);
    }
    kpi_reasons(&mut reasons, &mut marks, p.kpis);
    let missing: Vec<&str> = [
        (p.services.is_none(), "health"),
        (p.incidents.is_none(), "alerts"),
        (p.backups.is_none(), "backups"),
        (p.deployments.is_none(), "deployments"),
    ]
    .into_iter()
    .filter_map(|(gone, what)| gone.then_some(what))
    .collect();
    for (gone, mark) in [
        (p.services.is_none(), &mut marks.health),
        (p.incidents.is_none(), &mut marks.incidents),
        (p.backups.is_none(), &mut marks.backups),
        (p.deployments.is_none(), &mut marks.deploys),
    ] {
        if gone {
            *mark = (*mark).max(Status::Unknown);
        }
    }
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
        marks,
    }
}

/// Unusual figures, a warning: the one service's farthest by name
/// ("search traffic ↑5.2σ"), or how many services have one.
fn anomaly_reasons(reasons: &mut Vec<Reason>, services: &[&ServiceHealth], limit: f64) {
    let unusual: Vec<(&str, super::anomaly::Anomaly)> = services
        .iter()
        .filter_map(|s| {
            let first = *super::anomaly::anomalies(s, limit).first()?;
            Some((s.name.as_str(), first))
        })
        .collect();
    let text = match unusual.as_slice() {
        [] => return,
        [(name, a)] => format!("{name} {} unusual", a.short()),
        many => format!("{} services unusual", many.len()),
    };
    reasons.push(Reason {
        status: Status::Warn,
        text,
    });
}

fn backup_reasons(reasons: &mut Vec<Reason>, backups: &[Backup], now: DateTime<Utc>) {
    let rpo = backups.iter().map(|b| backup_rpo(b, now).1);
    count(
        reasons,
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
        .map(|b| rto_status(b, b.tier.objectives(), now))
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
        reasons,
        only(Status::Crit),
        &[(Status::Warn, "drill over RTO", "drills over RTO")],
    );
    count(
        reasons,
        only(Status::Warn),
        &[(Status::Warn, "drill stale", "drills stale")],
    );
    let failed = backups.iter().map(|b| match verified_status(b, now) {
        Status::Crit => Status::Crit,
        _ => Status::Ok,
    });
    count(
        reasons,
        failed,
        &[(Status::Crit, "backup check failed", "backup checks failed")],
    );
    let verify = backups.iter().map(|b| match verified_status(b, now) {
        Status::Crit => Status::Ok,
        _ => verification_status(b.last_verified, now),
    });
    count(
        reasons,
        verify,
        &[(Status::Warn, "backup unverified", "backups unverified")],
    );
    let unreadable = backups.iter().map(|b| match b.problem {
        Some(_) => Status::Warn,
        None => Status::Ok,
    });
    count(
        reasons,
        unreadable,
        &[(
            Status::Warn,
            "backup repository unreadable",
            "backup repositories unreadable",
        )],
    );
    count(
        reasons,
        rto.iter().copied(),
        &[(
            Status::Unknown,
            "target never drilled",
            "targets never drilled",
        )],
    );
}

/// The KPI tab's mark is its worst known tile. A tile the rows above
/// already explain (availability, budget and burn are the services'; RPO
/// and RTO the backups') adds no reason; the others (error rate, latency,
/// MTTR, backup success, change failure rate…) say which is off.
fn kpi_reasons(reasons: &mut Vec<Reason>, marks: &mut Marks, kpis: &[Kpi]) {
    let known = || kpis.iter().filter(|k| k.status != Status::Unknown);
    marks.kpis = match known().map(|k| k.status).max() {
        Some(worst) => worst,
        None if kpis.is_empty() => Status::Ok,
        None => {
            reasons.push(Reason {
                status: Status::Unknown,
                text: "no KPI has data".into(),
            });
            Status::Unknown
        }
    };
    const EXPLAINED: [&str; 5] = ["availability", "error_budget", "burn_rate", "rpo", "rto"];
    for k in known().filter(|k| k.status > Status::Ok && !EXPLAINED.contains(&k.id)) {
        let off = match k.goal {
            Goal::AtLeast => "below",
            Goal::Below => "above",
        };
        reasons.push(Reason {
            status: k.status,
            text: format!("{} {off} objective", k.title),
        });
    }
    // A tile the rows should explain but do not (a burn the services'
    // states do not show yet) still counts.
    let explained = Status::worst(reasons.iter().map(|r| r.status));
    for k in known().filter(|k| EXPLAINED.contains(&k.id) && k.status > explained.max(Status::Ok)) {
        reasons.push(Reason {
            status: k.status,
            text: k.title.clone(),
        });
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
            pipeline: &Pipeline::Unknown,
            backups: Some(backups),
            deployments: Some(&[]),
            kpis: &[],
            thresholds: t,
            objectives: o,
            now: now(),
        }
    }

    #[test]
    fn an_unusual_figure_is_a_warning_of_its_own_unless_the_service_is_critical() {
        use crate::domain::anomaly::{Baseline, Basis};
        let (t, o) = (Thresholds::default(), Objectives::default());
        let mut s = ServiceHealth::unknown("search", "test");
        (s.requests_per_second, s.error_ratio) = (300.0, 0.0);
        (s.latency_p95_ms, s.latency_p99_ms) = (50.0, 90.0);
        (s.targets_up, s.targets_total) = (2, 2);
        s.baselines.traffic = Some(Baseline {
            mean: 100.0,
            deviation: 20.0,
            basis: Basis::Week { days: 7 },
        });
        let texts = |services: &[ServiceHealth]| -> (Status, Vec<String>) {
            let sum = summarise(&parts(services, &[], &[], &[], &t, &o));
            let texts = sum.reasons.iter().map(|r| r.text.clone()).collect();
            (sum.marks.health, texts)
        };
        let (mark, said) = texts(std::slice::from_ref(&s));
        assert_eq!(mark, Status::Warn, "{said:?}");
        assert!(
            said.contains(&"search traffic ↑10σ unusual".to_string()),
            "{said:?}"
        );
        assert!(!said.iter().any(|r| r.contains("degraded")), "{said:?}");
        // Critical by its errors: counted as critical, not again as unusual.
        s.error_ratio = 0.2;
        let (mark, said) = texts(std::slice::from_ref(&s));
        assert_eq!(mark, Status::Crit);
        assert!(said.contains(&"1 service critical".to_string()), "{said:?}");
        assert!(!said.iter().any(|r| r.contains("unusual")), "{said:?}");
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
            ..Default::default()
        };
        let s = summarise(&parts(&[], &[], &[], std::slice::from_ref(&backup), &t, &o));
        assert_eq!(s.status, Status::Unknown);
        assert_eq!(s.reasons[0].text, "1 target never drilled");
    }

    fn deployment(phase: crate::domain::Phase, started: Duration) -> Deployment {
        Deployment {
            service: "checkout".into(),
            environment: "prod".into(),
            version: "v2".into(),
            previous_version: Some("v1".into()),
            strategy: crate::domain::Strategy::Rolling {
                updated: 1,
                total: 3,
            },
            phase,
            deployed_at: Some(now() - started),
            rollbacks: 0,
            history: vec![],
            window: None,
            canary: None,
        }
    }

    #[test]
    fn a_failed_deployment_is_a_breach_and_a_stalled_one_a_warning() {
        use crate::domain::Phase;
        let (t, o) = (Thresholds::default(), Objectives::default());
        let judge = |d: Vec<Deployment>| {
            let mut p = parts(&[], &[], &[], &[], &t, &o);
            p.deployments = Some(&d);
            let s = summarise(&p);
            (
                s.status,
                s.marks.deploys,
                s.reasons.first().map(|r| r.text.clone()),
            )
        };
        assert_eq!(
            judge(vec![deployment(Phase::Failed, Duration::minutes(3))]),
            (
                Status::Crit,
                Status::Crit,
                Some("1 deployment failed".into())
            )
        );
        // Progressing 11 minutes: past the 10-minute deadline.
        assert_eq!(
            judge(vec![
                deployment(Phase::Progressing, Duration::minutes(11)),
                deployment(Phase::Progressing, Duration::minutes(11)),
            ]),
            (
                Status::Warn,
                Status::Warn,
                Some("2 deployments stalled".into())
            )
        );
        assert_eq!(
            judge(vec![deployment(Phase::Progressing, Duration::minutes(9))]),
            (Status::Ok, Status::Ok, None)
        );
        assert_eq!(
            judge(vec![deployment(Phase::RolledBack, Duration::minutes(30))]),
            (
                Status::Warn,
                Status::Warn,
                Some("1 deployment paused or rolled back".into())
            )
        );
    }

    #[test]
    fn a_canary_worse_than_stable_is_a_breach_with_its_own_reason() {
        use crate::domain::Phase;
        use crate::domain::canary::{Basis, Canary, CanaryThresholds, VersionFigures};
        let (t, o) = (Thresholds::default(), Objectives::default());
        let figures = |error_ratio| VersionFigures {
            error_ratio,
            p95: 0.1,
        };
        let mut d = deployment(Phase::Progressing, Duration::minutes(3));
        d.canary = Some(Canary::judge(
            figures(0.04),
            figures(0.002),
            Basis::BeforeAfter { minutes: 3 },
            &CanaryThresholds::default(),
        ));
        let list = vec![d];
        let mut p = parts(&[], &[], &[], &[], &t, &o);
        p.deployments = Some(&list);
        let s = summarise(&p);
        assert_eq!((s.status, s.marks.deploys), (Status::Crit, Status::Crit));
        let texts: Vec<&str> = s.reasons.iter().map(|r| r.text.as_str()).collect();
        assert_eq!(texts, ["1 canary worse than stable"]);
    }

    #[test]
    fn a_tile_off_its_objective_marks_the_kpi_tab_and_says_which() {
        use crate::domain::kpi::{Goal, Unit};
        let (t, o) = (Thresholds::default(), Objectives::default());
        let tile = |id: &'static str, title: &str, status: Status| Kpi {
            id,
            title: title.into(),
            value: Some(1.0),
            objective: Some(0.5),
            unit: Unit::Seconds,
            goal: Goal::Below,
            status,
            note: String::new(),
            trend: vec![],
            parts: Default::default(),
            queries: &[],
            window: None,
            covered: None,
        };
        let kpis = [
            tile("mttr", "MTTR 30d", Status::Crit),
            tile("mtbf", "MTBF 30d", Status::Unknown),
            tile("burn_rate", "Burn rate 1h", Status::Warn),
        ];
        let mut p = parts(&[], &[], &[], &[], &t, &o);
        p.kpis = &kpis;
        let s = summarise(&p);
        assert_eq!((s.status, s.marks.kpis), (Status::Crit, Status::Crit));
        let texts: Vec<&str> = s.reasons.iter().map(|r| r.text.as_str()).collect();
        // The burn is the services' to explain, and is outranked here.
        assert_eq!(texts, ["MTTR 30d above objective"]);
        // A burn no service row explains still counts, by its title.
        let burn = [tile("burn_rate", "Burn rate 1h", Status::Warn)];
        p.kpis = &burn;
        let s = summarise(&p);
        assert_eq!(s.status, Status::Warn);
        assert_eq!(s.reasons[0].text, "Burn rate 1h");
    }

    #[test]
    fn a_heartbeat_gone_warns_and_an_incident_not_counted_is_no_part_of_the_verdict() {
        let (t, o) = (Thresholds::default(), Objectives::default());
        let demo = DemoEstate::new(11, now());
        let mut incidents = crate::domain::incidents::group(&demo.alerts_at(now()).alerts);
        assert!(!incidents.is_empty());
        for i in &mut incidents {
            i.counted = false;
        }
        let gone = Pipeline::Gone(vec!["Watchdog".into()]);
        let mut p = parts(&[], &[], &incidents, &[], &t, &o);
        p.pipeline = &gone;
        let s = summarise(&p);
        assert_eq!((s.status, s.marks.incidents), (Status::Warn, Status::Warn));
        let texts: Vec<&str> = s.reasons.iter().map(|r| r.text.as_str()).collect();
        assert_eq!(texts, ["alerting pipeline heartbeat gone (Watchdog)"]);
        let alive = Pipeline::Alive(vec!["Watchdog".into()]);
        p.pipeline = &alive;
        assert_eq!(summarise(&p).status, Status::Ok);
    }

    #[test]
    fn missing_feeds_are_unknown_not_ok() {
        let (t, o) = (Thresholds::default(), Objectives::default());
        let s = summarise(&Parts {
            services: None,
            hosts: None,
            incidents: Some(&[]),
            pipeline: &Pipeline::Unknown,
            backups: None,
            deployments: None,
            kpis: &[],
            thresholds: &t,
            objectives: &o,
            now: now(),
        });
        assert_eq!(s.status, Status::Unknown);
        assert_eq!(s.reasons[0].text, "no health, backups, deployments data");
        let all_clear = summarise(&parts(&[], &[], &[], &[], &t, &o));
        assert_eq!((all_clear.status, all_clear.reasons.len()), (Status::Ok, 0));
    }
}
