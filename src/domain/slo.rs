//! SLO, threshold and recovery-objective math. Pure: values in, values out;
//! `now` is always a parameter. Unknown inputs give `None` or `Status::Unknown`,
//! never a fake 0% or 100%.

use chrono::{DateTime, Duration, Utc};

use super::{
    Backup, Host, Objectives, RecoveryObjectives, ResolvedIncident, ServiceHealth, SliCounts,
    Status, Thresholds, Tier,
};

/// A warning starts at this fraction of a threshold.
pub const WARN_FRACTION: f64 = 0.9;

/// A DR drill older than this no longer proves the RTO.
pub fn drill_max_age() -> Duration {
    Duration::days(90)
}

/// Strictly above zero; false for NaN.
pub fn positive(x: f64) -> bool {
    x > 0.0
}

fn finite(x: f64) -> Option<f64> {
    x.is_finite().then_some(x)
}

/// Availability = good / total over the SLO window; `None` without traffic.
pub fn availability(sli: SliCounts) -> Option<f64> {
    if !positive(sli.total) || !sli.good.is_finite() || !sli.total.is_finite() {
        return None;
    }
    Some((sli.good / sli.total).clamp(0.0, 1.0))
}

/// Fraction of the error budget left: 1 − (1 − availability) / (1 − objective).
/// Negative when the budget is overspent.
pub fn error_budget_remaining(availability: f64, objective: f64) -> Option<f64> {
    let budget = 1.0 - objective;
    if !positive(budget) {
        return None;
    }
    finite(1.0 - (1.0 - availability) / budget)
}

/// Burn rate = error ratio / (1 − objective): 1.0 spends the budget exactly
/// over the window, 14.4 spends 2% of a 30-day budget in an hour.
pub fn burn_rate(error_ratio: f64, objective: f64) -> Option<f64> {
    let budget = 1.0 - objective;
    if !positive(budget) || error_ratio.is_nan() || error_ratio < 0.0 {
        return None;
    }
    finite(error_ratio / budget)
}

/// Higher is worse: critical at or above `threshold`, warning from 90% of it.
pub fn level(value: f64, threshold: f64) -> Status {
    if !value.is_finite() {
        Status::Unknown
    } else if value >= threshold {
        Status::Crit
    } else if value >= threshold * WARN_FRACTION {
        Status::Warn
    } else {
        Status::Ok
    }
}

/// Availability against its objective: below it is a breach; a budget under
/// a quarter left is a warning.
pub fn availability_status(availability: Option<f64>, objective: f64) -> Status {
    match availability.and_then(|a| error_budget_remaining(a, objective)) {
        None => Status::Unknown,
        Some(left) if left < 0.0 => Status::Crit,
        Some(left) if left < 0.25 => Status::Warn,
        Some(_) => Status::Ok,
    }
}

/// The state of each of a service's signals, so the screen can show which
/// one makes the service unhealthy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SignalStates {
    /// Error ratio: the alert threshold, and ten times the objective as a warning.
    pub errors: Status,
    /// p95 against the latency objective, which binds critical services only
    /// (a warning: one moment over it is not yet a breach of the SLO).
    pub p95: Status,
    /// p99 against the alert threshold.
    pub p99: Status,
    /// Some targets down is a warning; all down is critical.
    pub targets: Status,
    /// Availability over the SLO window against its objective; no traffic
    /// leaves it `Unknown`, which does not by itself mark the service.
    pub budget: Status,
    /// The SLO's burn: the SRE workbook's multi-window alert (a page is a
    /// breach, a ticket a warning), so a service burning its budget fast
    /// reads the same here as on the KPI tab.
    pub burn: Status,
    /// A figure far from its usual value (`anomaly`): a warning at most.
    pub unusual: Status,
}

impl SignalStates {
    /// The worst but for anomalies: what the header counts as critical or
    /// degraded (an unusual figure is a reason of its own).
    pub fn worst_judged(&self) -> Status {
        SignalStates {
            unusual: Status::Ok,
            ..*self
        }
        .worst()
    }

    pub fn worst(&self) -> Status {
        let budget = if self.budget == Status::Unknown {
            Status::Ok
        } else {
            self.budget
        };
        Status::worst([
            self.errors,
            self.p95,
            self.p99,
            self.targets,
            budget,
            self.burn,
            self.unusual,
        ])
    }
}

pub fn signal_states(s: &ServiceHealth, t: &Thresholds, o: &Objectives) -> SignalStates {
    let warn_if = |bad: bool| if bad { Status::Warn } else { Status::Ok };
    SignalStates {
        errors: level(s.error_ratio, t.error_ratio)
            .max(warn_if(s.error_ratio >= o.error_ratio * 10.0)),
        p95: warn_if(s.tier == Tier::Critical && s.latency_p95_ms > o.latency_p95_ms),
        p99: level(s.latency_p99_ms, t.latency_ms),
        targets: if s.targets_total > 0 && s.targets_up == 0 {
            Status::Crit
        } else {
            warn_if(s.targets_up < s.targets_total)
        },
        budget: availability_status(availability(s.sli), s.objective_or(o.availability)),
        burn: super::standing::service_burn_status(s, o.availability),
        unusual: super::anomaly::status(s, t.anomaly_deviations),
    }
}

/// A service's state: the worst of its signals.
pub fn service_status(s: &ServiceHealth, t: &Thresholds, o: &Objectives) -> Status {
    signal_states(s, t, o).worst()
}

pub fn host_status(h: &Host, t: &Thresholds) -> Status {
    if !h.up {
        return Status::Crit;
    }
    Status::worst([
        gauge_level(h.cpu, t.cpu),
        gauge_level(h.memory, t.memory),
        gauge_level(h.disk, t.disk),
        super::forecast::disk_full_status(h.full_in, t),
    ])
}

/// A host's gauge, a share of a whole, against its threshold: a value no
/// share can be (over 100%, negative, not a number) is unknown, as the
/// gauge shows it, never a breach.
pub fn gauge_level(share: f64, threshold: f64) -> Status {
    if (0.0..=1.0).contains(&share) {
        level(share, threshold)
    } else {
        Status::Unknown
    }
}

/// Age of the last successful backup and its state against the RPO:
/// past the RPO is a breach, past 80% of it a warning. A known target that
/// has never succeeded is the worst case there is: a breach.
pub fn rpo_status(
    last_success: Option<DateTime<Utc>>,
    objectives: RecoveryObjectives,
    now: DateTime<Utc>,
) -> (Option<Duration>, Status) {
    let Some(at) = last_success else {
        return (None, Status::Crit);
    };
    let age = (now - at).max(Duration::zero());
    let status = if age > objectives.rpo {
        Status::Crit
    } else if age * 5 > objectives.rpo * 4 {
        Status::Warn
    } else {
        Status::Ok
    };
    (Some(age), status)
}

/// The last DR drill against the RTO: a measured RTO over the objective is a
/// breach; a drill older than 90 days is a warning; no drill, or a drill
/// whose RTO is not known, is unknown.
pub fn rto_status(backup: &Backup, objectives: RecoveryObjectives, now: DateTime<Utc>) -> Status {
    let Some(d) = backup.last_drill else {
        return Status::Unknown;
    };
    match d.measured_rto {
        Some(rto) if rto > objectives.rto => Status::Crit,
        _ if now - d.at > drill_max_age() => Status::Warn,
        None => Status::Unknown,
        Some(_) => Status::Ok,
    }
}

/// A backup nobody has restored is a hope: never verified, or not in the
/// last 7 days, is a warning.
pub fn verification_status(last_verified: Option<DateTime<Utc>>, now: DateTime<Utc>) -> Status {
    match last_verified {
        Some(at) if now - at <= Duration::days(7) => Status::Ok,
        _ => Status::Warn,
    }
}

/// A backup target's RPO standing: as `rpo_status`, except that a target
/// whose tool could never be read is unknown, not a breach (nothing says
/// when its last backup was).
pub fn backup_rpo(b: &Backup, now: DateTime<Utc>) -> (Option<Duration>, Status) {
    match (b.last_success, &b.problem) {
        (None, Some(_)) => (None, Status::Unknown),
        _ => rpo_status(b.last_success, b.tier.objectives(), now),
    }
}

/// A target's verification: a failed check by its tool, newer than the
/// last verification that passed, is critical (the repository may not
/// restore); else as `verification_status`.
pub fn verified_status(b: &Backup, now: DateTime<Utc>) -> Status {
    match &b.check {
        Some(c) if !c.passed && b.last_verified.is_none_or(|v| v <= c.at) => Status::Crit,
        _ => verification_status(b.last_verified, now),
    }
}

/// A backup target's state: the worst of RPO, RTO and verification; a
/// repository that could not be read last time is at least a warning (what
/// is shown may be out of date).
pub fn backup_status(b: &Backup, now: DateTime<Utc>) -> Status {
    let objectives = b.tier.objectives();
    Status::worst([
        backup_rpo(b, now).1,
        // Recovery readiness is a risk, not an outage: a drill over its RTO
        // or stale is at most a warning, on the row as in the verdict.
        rto_status(b, objectives, now).min(Status::Warn),
        verified_status(b, now),
        if b.problem.is_some() {
            Status::Warn
        } else {
            Status::Ok
        },
    ])
}

/// Mean time to restore: the mean duration of the incidents resolved inside
/// `window` before `now`.
pub fn mttr(
    resolved: &[ResolvedIncident],
    now: DateTime<Utc>,
    window: Duration,
) -> Option<Duration> {
    let inside: Vec<Duration> = resolved
        .iter()
        .filter(|i| i.resolved <= now && now - i.resolved <= window && i.resolved >= i.started)
        .map(|i| i.resolved - i.started)
        .collect();
    if inside.is_empty() {
        return None;
    }
    let total: Duration = inside.iter().copied().sum();
    Some(total / inside.len() as i32)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Tier;
    use chrono::TimeZone;

    fn t0() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 22, 3, 0, 0).unwrap()
    }

    #[test]
    fn availability_is_good_over_total_and_unknown_without_traffic() {
        let a = availability(SliCounts {
            good: 999.0,
            total: 1000.0,
        })
        .unwrap();
        assert!((a - 0.999).abs() < 1e-12);
        assert_eq!(
            availability(SliCounts {
                good: 0.0,
                total: 0.0
            }),
            None
        );
        assert_eq!(
            availability(SliCounts {
                good: f64::NAN,
                total: 10.0
            }),
            None
        );
    }

    #[test]
    fn a_999_objective_over_30_days_allows_43_2_minutes_of_outage() {
        let window = 30.0 * 24.0 * 60.0;
        let outage = 43.2;
        let avail = 1.0 - outage / window;
        let left = error_budget_remaining(avail, 0.999).unwrap();
        assert!(left.abs() < 1e-9, "budget exactly spent, got {left}");
        let half = error_budget_remaining(1.0 - outage / 2.0 / window, 0.999).unwrap();
        assert!((half - 0.5).abs() < 1e-9);
    }

    #[test]
    fn burn_rate_14_4_for_an_hour_spends_2_percent_of_a_30_day_budget() {
        let rate = burn_rate(0.0144, 0.999).unwrap();
        assert!((rate - 14.4).abs() < 1e-9);
        let spent = rate * 1.0 / (30.0 * 24.0);
        assert!((spent - 0.02).abs() < 1e-12);
        assert_eq!(burn_rate(0.01, 1.0), None);
        assert_eq!(burn_rate(f64::NAN, 0.999), None);
    }

    #[test]
    fn an_hour_at_burn_rate_14_4_leaves_98_percent_of_a_30_day_budget() {
        // The workbook's page: 14.4 × 1 h / 720 h = 2% of the budget. One hour
        // at an error ratio of 1.44%, the other 719 clean, is that month's SLI.
        let month_hours = 30.0 * 24.0;
        let rate = burn_rate(0.0144, 0.999).unwrap();
        let avail = 1.0 - 0.0144 * 1.0 / month_hours;
        let left = error_budget_remaining(avail, 0.999).unwrap();
        assert!((left - (1.0 - rate / month_hours)).abs() < 1e-9, "{left}");
        assert!((left - 0.98).abs() < 1e-9, "{left}");
    }

    #[test]
    fn a_burn_rate_of_one_spends_the_budget_exactly_over_the_window() {
        let rate = burn_rate(0.001, 0.999).unwrap();
        assert!((rate - 1.0).abs() < 1e-9);
        assert_eq!(error_budget_remaining(0.999, 0.999), Some(0.0));
    }

    #[test]
    fn burn_rate_is_unknown_for_negative_or_infinite_ratios_and_no_budget() {
        assert_eq!(burn_rate(-0.001, 0.999), None);
        assert_eq!(burn_rate(f64::INFINITY, 0.999), None);
        assert_eq!(burn_rate(0.001, f64::NAN), None);
        assert_eq!(burn_rate(0.001, 1.5), None, "an objective over 100%");
        assert_eq!(burn_rate(0.0, 0.999), Some(0.0), "no errors burn nothing");
    }

    #[test]
    fn error_budget_is_whole_at_full_availability_and_negative_when_overspent() {
        assert_eq!(error_budget_remaining(1.0, 0.999), Some(1.0));
        let overspent = error_budget_remaining(0.998, 0.999).unwrap();
        assert!((overspent + 1.0).abs() < 1e-9, "spent twice: {overspent}");
        assert_eq!(
            error_budget_remaining(0.999, 1.0),
            None,
            "no budget at 100%"
        );
        assert_eq!(error_budget_remaining(f64::NAN, 0.999), None);
    }

    #[test]
    fn availability_status_breaches_below_the_objective_and_warns_under_a_quarter_left() {
        // (availability, budget left) → state, at a 99.9% objective.
        let cases = [
            (Some(1.0), Status::Ok),      // all left
            (Some(0.9997), Status::Ok),   // 30% left
            (Some(0.9992), Status::Warn), // 20% left
            (Some(0.999), Status::Warn),  // none left, none overspent
            (Some(0.9989), Status::Crit), // overspent
            (None, Status::Unknown),
        ];
        for (avail, expected) in cases {
            assert_eq!(availability_status(avail, 0.999), expected, "{avail:?}");
        }
        assert_eq!(availability_status(Some(1.0), 1.0), Status::Unknown);
    }

    #[test]
    fn availability_clamps_counts_that_disagree_and_ignores_infinite_ones() {
        let a = |good, total| availability(SliCounts { good, total });
        assert_eq!(a(1010.0, 1000.0), Some(1.0), "more good than total");
        assert_eq!(a(-5.0, 1000.0), Some(0.0));
        assert_eq!(a(10.0, f64::INFINITY), None);
        assert_eq!(a(f64::INFINITY, 10.0), None);
        assert_eq!(a(0.0, -10.0), None);
    }

    #[test]
    fn mttr_leaves_out_future_and_backwards_incidents_and_keeps_the_window_edge() {
        let window = Duration::days(30);
        let incident = |resolved: DateTime<Utc>, minutes: i64| ResolvedIncident {
            started: resolved - Duration::minutes(minutes),
            resolved,
        };
        let edge = incident(t0() - window, 40);
        assert_eq!(mttr(&[edge], t0(), window), Some(Duration::minutes(40)));
        let past_edge = incident(t0() - window - Duration::seconds(1), 40);
        assert_eq!(mttr(&[past_edge], t0(), window), None);
        let future = incident(t0() + Duration::minutes(1), 40);
        let backwards = incident(t0() - Duration::hours(1), -10);
        let fine = incident(t0() - Duration::hours(2), 10);
        assert_eq!(
            mttr(&[future, backwards, fine], t0(), window),
            Some(Duration::minutes(10))
        );
    }

    #[test]
    fn levels_warn_from_90_percent_and_breach_at_threshold() {
        assert_eq!(level(0.70, 0.80), Status::Ok);
        assert_eq!(level(0.73, 0.80), Status::Warn);
        assert_eq!(level(0.80, 0.80), Status::Crit);
        assert_eq!(level(f64::NAN, 0.80), Status::Unknown);
    }

    #[test]
    fn rpo_breach_warning_and_unknown() {
        let obj = Tier::Critical.objectives();
        let (age, s) = rpo_status(Some(t0() - Duration::minutes(47)), obj, t0());
        assert_eq!((age, s), (Some(Duration::minutes(47)), Status::Crit));
        assert_eq!(
            rpo_status(Some(t0() - Duration::minutes(13)), obj, t0()).1,
            Status::Warn
        );
        assert_eq!(
            rpo_status(Some(t0() - Duration::minutes(5)), obj, t0()).1,
            Status::Ok
        );
        assert_eq!(
            rpo_status(None, obj, t0()),
            (None, Status::Crit),
            "never succeeded"
        );
    }

    #[test]
    fn mttr_averages_incidents_inside_the_window_only() {
        let inc = |start_min: i64, len_min: i64| ResolvedIncident {
            started: t0() - Duration::minutes(start_min),
            resolved: t0() - Duration::minutes(start_min - len_min),
        };
        let list = [inc(100, 10), inc(60, 30), inc(60 * 24 * 40, 500)];
        assert_eq!(
            mttr(&list, t0(), Duration::days(30)),
            Some(Duration::minutes(20))
        );
        assert_eq!(mttr(&[], t0(), Duration::days(30)), None);
    }

    fn service(error_ratio: f64, p95: f64, p99: f64, up: u32, sli_bad: f64) -> ServiceHealth {
        ServiceHealth {
            name: "checkout".into(),
            cluster: None,
            tier: Tier::Critical,
            team: "payments".into(),
            requests_per_second: 100.0,
            error_ratio,
            latency_p95_ms: p95,
            latency_p99_ms: p99,
            saturation: 0.5,
            targets_up: up,
            targets_total: 4,
            sli: SliCounts {
                good: 1e6 * (1.0 - sli_bad),
                total: 1e6,
            },
            error_ratio_1h: error_ratio,
            error_ratios: Default::default(),
            traffic_history: vec![],
            latency_history: vec![],
            covered: None,
            via: crate::domain::Via::Simulated,
            objective: None,
            baselines: Default::default(),
        }
    }

    #[test]
    fn each_signal_is_judged_on_its_own_and_the_service_takes_the_worst() {
        let (t, o) = (Thresholds::default(), Objectives::default());
        let healthy = signal_states(&service(0.0005, 120.0, 300.0, 4, 0.0002), &t, &o);
        assert_eq!(healthy.worst(), Status::Ok);
        let s = signal_states(&service(0.06, 250.0, 2500.0, 3, 0.002), &t, &o);
        assert_eq!(
            (s.errors, s.p95, s.p99, s.targets, s.budget),
            (
                Status::Crit,
                Status::Warn,
                Status::Crit,
                Status::Warn,
                Status::Crit
            )
        );
        assert_eq!(
            signal_states(&service(0.0, 1.0, 1.0, 0, 0.0), &t, &o).targets,
            Status::Crit
        );
        // Ten times the error objective is a warning before the 5% alert.
        assert_eq!(
            signal_states(&service(0.011, 1.0, 1.0, 4, 0.0), &t, &o).errors,
            Status::Warn
        );
        // No traffic in the window: budget unknown, and that alone is not a problem.
        let mut quiet = service(0.0, 1.0, 1.0, 4, 0.0);
        quiet.sli = SliCounts::default();
        assert_eq!(signal_states(&quiet, &t, &o).budget, Status::Unknown);
        assert_eq!(service_status(&quiet, &t, &o), Status::Ok);
    }

    #[test]
    fn backups_need_recent_verification_and_a_drill_within_the_rto() {
        let backup = |verified_days: Option<i64>, drill: Option<(i64, i64)>| Backup {
            service: None,
            target: "orders-db".into(),
            tier: Tier::Critical,
            last_success: Some(t0() - Duration::minutes(5)),
            size_bytes: 1.0,
            duration: Some(Duration::minutes(1)),
            last_verified: verified_days.map(|d| t0() - Duration::days(d)),
            last_drill: drill.map(|(days, rto_min)| crate::domain::DrillResult {
                at: t0() - Duration::days(days),
                measured_rto: Some(Duration::minutes(rto_min)),
            }),
            runs: None,
            ..Default::default()
        };
        assert_eq!(
            backup_status(&backup(Some(1), Some((10, 40))), t0()),
            Status::Ok
        );
        assert_eq!(
            backup_status(&backup(None, Some((10, 40))), t0()),
            Status::Warn,
            "never verified"
        );
        assert_eq!(
            backup_status(&backup(Some(8), Some((10, 40))), t0()),
            Status::Warn,
            "verified too long ago"
        );
        assert_eq!(
            backup_status(&backup(Some(1), Some((10, 72))), t0()),
            Status::Warn,
            "drill over the 1 h RTO: a readiness risk, not an outage"
        );
        assert_eq!(
            backup_status(&backup(Some(1), Some((120, 40))), t0()),
            Status::Warn,
            "stale drill"
        );
        assert_eq!(
            backup_status(&backup(Some(1), None), t0()),
            Status::Unknown,
            "never drilled"
        );
    }

    /// A tool's failed check is critical until something newer verifies
    /// the target; a repository that could not be read is a warning, and
    /// one never read has an unknown RPO, not a breach.
    #[test]
    fn a_tool_targets_check_and_problem_judge_the_row() {
        let ok = Backup {
            target: "files".into(),
            tier: Tier::Standard,
            last_success: Some(t0() - Duration::minutes(10)),
            last_verified: Some(t0() - Duration::days(1)),
            last_drill: Some(crate::domain::DrillResult {
                at: t0() - Duration::days(1),
                measured_rto: Some(Duration::minutes(1)),
            }),
            tool: Some("restic"),
            ..Default::default()
        };
        assert_eq!(backup_status(&ok, t0()), Status::Ok);
        let failed = Backup {
            check: Some(crate::domain::CheckResult {
                at: t0() - Duration::hours(1),
                passed: false,
                words: "restic check: pack 1a2b is damaged".into(),
            }),
            ..ok.clone()
        };
        assert_eq!(verified_status(&failed, t0()), Status::Crit);
        assert_eq!(backup_status(&failed, t0()), Status::Crit);
        let verified_since = Backup {
            last_verified: Some(t0() - Duration::minutes(5)),
            ..failed.clone()
        };
        assert_eq!(verified_status(&verified_since, t0()), Status::Ok);
        let locked = Backup {
            problem: Some("restic: repository is locked".into()),
            ..ok.clone()
        };
        assert_eq!(backup_status(&locked, t0()), Status::Warn);
        let never_read = Backup {
            last_success: None,
            ..locked.clone()
        };
        assert_eq!(backup_rpo(&never_read, t0()), (None, Status::Unknown));
        let never_backed_up = Backup {
            last_success: None,
            ..ok
        };
        assert_eq!(backup_rpo(&never_backed_up, t0()).1, Status::Crit);
    }
}

#[cfg(test)]
mod deployment_tests {
    use chrono::{Duration, TimeZone, Utc};

    use crate::domain::{Deployment, Phase, Status, Strategy};

    /// Progressing past the deadline is stalled, a warning; failed is a
    /// breach whatever its age.
    #[test]
    fn a_deployment_progressing_past_its_deadline_is_stalled() {
        let now = Utc.with_ymd_and_hms(2026, 12, 7, 3, 0, 0).unwrap();
        let deadline = Duration::minutes(10);
        let at = |minutes: i64, phase: Phase| Deployment {
            phase,
            deployed_at: Some(now - Duration::minutes(minutes)),
            ..deployment()
        };
        assert_eq!(at(5, Phase::Progressing).status(now, deadline), Status::Ok);
        assert!(at(11, Phase::Progressing).stalled(now, deadline));
        assert_eq!(
            at(11, Phase::Progressing).status(now, deadline),
            Status::Warn
        );
        assert_eq!(
            at(60 * 24 * 380, Phase::Progressing).status(now, deadline),
            Status::Warn
        );
        assert_eq!(at(1, Phase::Failed).status(now, deadline), Status::Crit);
        assert_eq!(at(600, Phase::Complete).status(now, deadline), Status::Ok);
    }

    fn deployment() -> Deployment {
        Deployment {
            service: "checkout".into(),
            environment: "production".into(),
            version: "v2".into(),
            previous_version: None,
            strategy: Strategy::Rolling {
                updated: 1,
                total: 3,
            },
            phase: Phase::Progressing,
            deployed_at: None,
            rollbacks: 0,
            history: Vec::new(),
            window: None,
            canary: None,
        }
    }
}
