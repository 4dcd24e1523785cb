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
#[path = "summary_tests.rs"]
mod tests;
