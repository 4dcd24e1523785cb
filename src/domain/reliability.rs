//! The rest of the SRE arithmetic the KPI tab and `opsdeck status` will use:
//! the multi-window burn-rate alert of the SRE workbook, the error budget as
//! time, MTBF, the DORA measures and the backup success rate. Pure, like the
//! rest of `domain`; not yet wired to a screen.

use chrono::Duration;

use super::ResolvedIncident;

/// Error ratios (bad ÷ all requests) over the windows the SRE workbook's
/// alert combines; `None` where a window has no data.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct ErrorRatios {
    pub m5: Option<f64>,
    pub m30: Option<f64>,
    pub h1: Option<f64>,
    pub h2: Option<f64>,
    pub h6: Option<f64>,
    pub d1: Option<f64>,
    pub d3: Option<f64>,
}

impl ErrorRatios {
    /// Each window's burn rate against `objective` (see `slo::burn_rate`).
    pub fn burn_rates(&self, objective: f64) -> BurnRates {
        let b = |r: Option<f64>| r.and_then(|r| super::slo::burn_rate(r, objective));
        BurnRates {
            m5: b(self.m5),
            m30: b(self.m30),
            h1: b(self.h1),
            h2: b(self.h2),
            h6: b(self.h6),
            d1: b(self.d1),
            d3: b(self.d3),
        }
    }
}

/// Burn rates over the windows the SRE workbook's alert combines.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct BurnRates {
    pub m5: Option<f64>,
    pub m30: Option<f64>,
    pub h1: Option<f64>,
    pub h2: Option<f64>,
    pub h6: Option<f64>,
    pub d1: Option<f64>,
    pub d3: Option<f64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum BurnAlert {
    /// A window the rule needs has no data.
    Unknown,
    None,
    Ticket,
    Page,
}

/// The workbook's multi-window, multi-burn-rate alert: page when both 1h and
/// 5m burn above 14.4, or both 6h and 30m above 6; ticket when both 1d and 2h
/// burn above 3, or both 3d and 6h above 1. A pair with a missing window
/// cannot fire, and if no rule can be judged the state is unknown.
pub fn burn_alert(b: &BurnRates) -> BurnAlert {
    let both = |long: Option<f64>, short: Option<f64>, over: f64| match (long, short) {
        (Some(l), Some(s)) => Some(l > over && s > over),
        _ => None,
    };
    let page = [both(b.h1, b.m5, 14.4), both(b.h6, b.m30, 6.0)];
    let ticket = [both(b.d1, b.h2, 3.0), both(b.d3, b.h6, 1.0)];
    if page.contains(&Some(true)) {
        BurnAlert::Page
    } else if ticket.contains(&Some(true)) {
        BurnAlert::Ticket
    } else if page.iter().chain(&ticket).all(Option::is_none) {
        BurnAlert::Unknown
    } else {
        BurnAlert::None
    }
}

/// The error budget as time: (left, allowed). The allowed bad time is
/// window × (1 − objective); what is spent is window × (1 − availability).
/// Left is negative when overspent. `None` for an objective of 100%.
pub fn budget_time(
    availability: f64,
    objective: f64,
    window: Duration,
) -> Option<(Duration, Duration)> {
    if !(0.0..1.0).contains(&objective) || !(0.0..=1.0).contains(&availability) {
        return None;
    }
    let secs = window.num_seconds() as f64;
    let allowed = secs * (1.0 - objective);
    let spent = secs * (1.0 - availability);
    // To the millisecond: a short span of data allows under a second.
    let ms = |secs: f64| Duration::milliseconds((secs * 1000.0).round() as i64);
    Some((ms(allowed - spent), ms(allowed)))
}

/// Mean time between failures: the mean gap between the starts of
/// consecutive incidents; `None` with fewer than two.
pub fn mtbf(incidents: &[ResolvedIncident]) -> Option<Duration> {
    mtbf_of_starts(incidents.iter().map(|i| i.started).collect())
}

/// The mean gap between failures that started at `starts`, in any order.
pub fn mtbf_of_starts(mut starts: Vec<chrono::DateTime<chrono::Utc>>) -> Option<Duration> {
    starts.sort();
    let gaps: Vec<Duration> = starts.windows(2).map(|w| w[1] - w[0]).collect();
    if gaps.is_empty() {
        return None;
    }
    Some(gaps.iter().copied().sum::<Duration>() / gaps.len() as i32)
}

/// DORA deployment frequency: deployments per day over `window`.
pub fn deploys_per_day(deployments: u64, window: Duration) -> Option<f64> {
    let days = window.num_seconds() as f64 / 86_400.0;
    (days > 0.0).then(|| deployments as f64 / days)
}

/// DORA change failure rate: deployments rolled back ÷ deployments; `None`
/// without deployments (not 0%: nothing was measured).
pub fn change_failure_rate(rollbacks: u64, deployments: u64) -> Option<f64> {
    (deployments > 0).then(|| rollbacks.min(deployments) as f64 / deployments as f64)
}

/// Backups that succeeded ÷ backups attempted; `None` without attempts.
pub fn backup_success_rate(succeeded: u64, attempted: u64) -> Option<f64> {
    (attempted > 0).then(|| succeeded.min(attempted) as f64 / attempted as f64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Utc};

    fn rates(h1: f64, m5: f64, h6: f64, m30: f64, d1: f64, h2: f64, d3: f64) -> BurnRates {
        BurnRates {
            m5: Some(m5),
            m30: Some(m30),
            h1: Some(h1),
            h2: Some(h2),
            h6: Some(h6),
            d1: Some(d1),
            d3: Some(d3),
        }
    }

    #[test]
    fn the_workbook_pages_only_when_both_windows_burn() {
        // (1h, 5m, 6h, 30m, 1d, 2h, 3d) → the alert.
        let cases = [
            ((15.0, 15.0, 0.0, 0.0, 0.0, 0.0, 0.0), BurnAlert::Page),
            // A spike that has passed: the 5m window is calm, so no page.
            ((15.0, 0.5, 0.0, 0.0, 0.0, 0.0, 0.0), BurnAlert::None),
            ((0.0, 0.0, 7.0, 7.0, 0.0, 0.0, 0.0), BurnAlert::Page),
            ((0.0, 0.0, 0.0, 0.0, 3.5, 3.5, 0.0), BurnAlert::Ticket),
            ((0.0, 0.0, 1.5, 0.0, 0.0, 0.0, 1.5), BurnAlert::Ticket),
            // Exactly at the threshold does not fire: the workbook says "above".
            ((14.4, 14.4, 0.0, 0.0, 0.0, 0.0, 0.0), BurnAlert::None),
        ];
        for ((h1, m5, h6, m30, d1, h2, d3), expected) in cases {
            assert_eq!(
                burn_alert(&rates(h1, m5, h6, m30, d1, h2, d3)),
                expected,
                "{h1} {m5} {h6} {m30} {d1} {h2} {d3}"
            );
        }
        assert_eq!(burn_alert(&BurnRates::default()), BurnAlert::Unknown);
    }

    #[test]
    fn a_999_month_allows_43_2_minutes_and_says_what_is_left() {
        let (left, allowed) = budget_time(0.9993, 0.999, Duration::days(30)).unwrap();
        assert_eq!(allowed, Duration::seconds(2592));
        // 0.07% of a month spent: 30.24 min; 12.96 min left.
        assert_eq!(left, Duration::milliseconds(777_600));
        let (overspent, _) = budget_time(0.998, 0.999, Duration::days(30)).unwrap();
        assert!(overspent < Duration::zero());
        assert_eq!(budget_time(0.999, 1.0, Duration::days(30)), None);
        assert_eq!(budget_time(f64::NAN, 0.999, Duration::days(30)), None);
    }

    #[test]
    fn an_hour_at_14_4_spends_2_percent_of_a_30_day_budget_in_time() {
        // 1.44% errors for 1 h of 720 h; 2% of 43.2 min is 51.84 s.
        let avail = 1.0 - 0.0144 / 720.0;
        let (left, allowed) = budget_time(avail, 0.999, Duration::days(30)).unwrap();
        assert_eq!(allowed, Duration::seconds(2592), "43.2 minutes");
        assert_eq!(left, Duration::milliseconds(2_540_160), "2592 s − 51.84 s");
    }

    #[test]
    fn budget_time_is_none_outside_ratios() {
        let month = Duration::days(30);
        assert_eq!(budget_time(0.999, -0.1, month), None);
        assert_eq!(budget_time(0.999, f64::NAN, month), None);
        assert_eq!(budget_time(1.01, 0.999, month), None);
        assert_eq!(budget_time(-0.01, 0.999, month), None);
        assert_eq!(
            budget_time(1.0, 0.0, month),
            Some((month, month)),
            "a 0% objective allows the whole window"
        );
    }

    #[test]
    fn the_alert_is_unknown_only_when_no_pair_of_windows_is_complete() {
        let rates = BurnRates {
            h1: Some(100.0),
            d1: Some(100.0),
            d3: Some(100.0),
            ..BurnRates::default()
        };
        assert_eq!(
            burn_alert(&rates),
            BurnAlert::Unknown,
            "each pair misses one"
        );
        let judged = BurnRates {
            m5: Some(0.0),
            ..rates
        };
        assert_eq!(
            burn_alert(&judged),
            BurnAlert::None,
            "1h and 5m judged, calm"
        );
        let paging = BurnRates {
            m5: Some(20.0),
            ..rates
        };
        assert_eq!(burn_alert(&paging), BurnAlert::Page);
    }

    #[test]
    fn error_ratios_become_burn_rates_window_by_window() {
        let ratios = ErrorRatios {
            m5: Some(0.0144),
            h1: Some(0.006),
            d3: Some(-1.0),
            ..ErrorRatios::default()
        };
        let b = ratios.burn_rates(0.999);
        assert!((b.m5.unwrap() - 14.4).abs() < 1e-9);
        assert!((b.h1.unwrap() - 6.0).abs() < 1e-9);
        assert_eq!((b.m30, b.d3), (None, None), "missing and negative");
    }

    #[test]
    fn mtbf_is_the_mean_gap_between_starts() {
        let at = |h: i64| Utc.with_ymd_and_hms(2026, 11, 1, 0, 0, 0).unwrap() + Duration::hours(h);
        let incident = |h: i64| ResolvedIncident {
            started: at(h),
            resolved: at(h) + Duration::minutes(10),
        };
        assert_eq!(
            mtbf(&[incident(30), incident(0), incident(10)]),
            Some(Duration::hours(15))
        );
        assert_eq!(mtbf(&[incident(0)]), None);
    }

    #[test]
    fn dora_and_backup_rates_are_unknown_without_events_never_zero() {
        assert_eq!(deploys_per_day(42, Duration::days(7)), Some(6.0));
        assert_eq!(deploys_per_day(60, Duration::days(30)), Some(2.0));
        assert_eq!(deploys_per_day(3, Duration::hours(12)), Some(6.0));
        assert_eq!(deploys_per_day(3, Duration::zero()), None);
        assert_eq!(change_failure_rate(3, 60), Some(0.05));
        assert_eq!(change_failure_rate(5, 3), Some(1.0), "at most all of them");
        assert_eq!(change_failure_rate(0, 7), Some(0.0), "counted: a real 0%");
        assert_eq!(change_failure_rate(0, 0), None);
        assert_eq!(backup_success_rate(999, 1000), Some(0.999));
        assert_eq!(backup_success_rate(0, 0), None);
    }
}
