//! SLO, threshold and recovery-objective math. Pure: values in, values out;
//! `now` is always a parameter. Unknown inputs give `None` or `Status::Unknown`,
//! never a fake 0% or 100%.

use chrono::{DateTime, Duration, Utc};

use super::{
    Backup, Host, Objectives, RecoveryObjectives, ResolvedIncident, ServiceHealth, SliCounts,
    Status, Thresholds,
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

/// A service's state from its golden signals, targets and objectives.
pub fn service_status(s: &ServiceHealth, t: &Thresholds, o: &Objectives) -> Status {
    if s.targets_total > 0 && s.targets_up == 0 {
        return Status::Crit;
    }
    let errors =
        level(s.error_ratio, t.error_ratio).max(if s.error_ratio >= o.error_ratio * 10.0 {
            Status::Warn
        } else {
            Status::Ok
        });
    let latency =
        level(s.latency_p99_ms, t.latency_ms).max(if s.latency_p95_ms > o.latency_p95_ms {
            Status::Warn
        } else {
            Status::Ok
        });
    let targets = if s.targets_up < s.targets_total {
        Status::Warn
    } else {
        Status::Ok
    };
    let slo = match availability_status(availability(s.sli), o.availability) {
        Status::Unknown => Status::Ok,
        other => other,
    };
    Status::worst([errors, latency, targets, slo])
}

pub fn host_status(h: &Host, t: &Thresholds) -> Status {
    if !h.up {
        return Status::Crit;
    }
    Status::worst([
        level(h.cpu, t.cpu),
        level(h.memory, t.memory),
        level(h.disk, t.disk),
    ])
}

/// Age of the last successful backup and its state against the RPO:
/// past the RPO is a breach, past 80% of it a warning, never a success unknown.
pub fn rpo_status(
    last_success: Option<DateTime<Utc>>,
    objectives: RecoveryObjectives,
    now: DateTime<Utc>,
) -> (Option<Duration>, Status) {
    let Some(at) = last_success else {
        return (None, Status::Unknown);
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
/// breach; a drill older than 90 days is a warning; no drill is unknown.
pub fn rto_status(backup: &Backup, objectives: RecoveryObjectives, now: DateTime<Utc>) -> Status {
    match backup.last_drill {
        None => Status::Unknown,
        Some(d) if d.measured_rto > objectives.rto => Status::Crit,
        Some(d) if now - d.at > drill_max_age() => Status::Warn,
        Some(_) => Status::Ok,
    }
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
        assert_eq!(rpo_status(None, obj, t0()), (None, Status::Unknown));
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
}
