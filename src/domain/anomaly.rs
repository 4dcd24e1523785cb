//! Anomalies: a service's traffic, error ratio or p95 far from its own
//! history. The usual value is the server's (src/sli/derive.rs
//! `baseline_*`): the same five-minute figure at this time of day on each
//! of the past seven days, or, with under three of those days, every hour
//! of the last day. Far is more than `Thresholds::anomaly_deviations`
//! deviations, a deviation no smaller than a floor, so a history too
//! steady to vary does not make every wobble an anomaly. Traffic is
//! unusual either way; errors and latency only when worse. A warning at
//! most: an unusual figure is a question, not a breach.

use super::{ServiceHealth, Status};

/// The signals compared with their history.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signal {
    Traffic,
    Errors,
    P95,
}

impl Signal {
    pub fn word(self) -> &'static str {
        match self {
            Signal::Traffic => "traffic",
            Signal::Errors => "errors",
            Signal::P95 => "p95",
        }
    }

    /// The smallest deviation taken, against a history that barely moves:
    /// a tenth of the usual value, and at least one request a minute, 0.2
    /// points of error ratio or 5 ms.
    fn floor(self, mean: f64) -> f64 {
        let least = match self {
            Signal::Traffic => 1.0 / 60.0,
            Signal::Errors => 0.002,
            Signal::P95 => 5.0,
        };
        (0.1 * mean.abs()).max(least)
    }

    /// A figure of this signal as the Health table writes it.
    pub fn figure(self, v: f64) -> String {
        match self {
            Signal::Traffic => rate(v),
            Signal::Errors => super::explain::pct(v),
            Signal::P95 => super::explain::millis(v),
        }
    }
}

/// Requests a second, to three significant digits: "412/s", "2.50/s".
fn rate(v: f64) -> String {
    match v {
        x if !x.is_finite() => "—".into(),
        x if x.abs() >= 100.0 => format!("{x:.0}/s"),
        x if x.abs() >= 10.0 => format!("{x:.1}/s"),
        x => format!("{x:.2}/s"),
    }
}

/// What the usual value was read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Basis {
    /// The same time of day on `days` of the past seven.
    Week { days: u32 },
    /// Every hour of the last day (`hours` of them had data).
    Day { hours: u32 },
}

impl Basis {
    pub fn text(self) -> String {
        match self {
            Basis::Week { days } => format!("at this time of day over the past {days} days"),
            Basis::Day { hours } => format!("over the last {hours} hours"),
        }
    }
}

/// A signal's usual value and how much it varies.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Baseline {
    pub mean: f64,
    /// Standard deviation, as the server computed it.
    pub deviation: f64,
    pub basis: Basis,
}

/// The days of the week's history needed to judge by it; else the last
/// day's hours, of which at least `MIN_HOURS`.
pub const MIN_DAYS: u32 = 3;
pub const MIN_HOURS: u32 = 6;

/// The current traffic under which errors and latency are not judged: a
/// single slow or failed request of a handful is no anomaly.
pub const MIN_TRAFFIC: f64 = 1.0;

impl Baseline {
    /// From the server's statistics: the week's where it has `MIN_DAYS`,
    /// else the day's where it has `MIN_HOURS`, else none.
    pub fn choose(week: Stats, day: Stats) -> Option<Baseline> {
        let usable = |s: &Stats, least: u32| {
            s.count >= least as f64 && s.mean.is_finite() && s.deviation.is_finite()
        };
        if usable(&week, MIN_DAYS) {
            Some(Baseline {
                mean: week.mean,
                deviation: week.deviation,
                basis: Basis::Week {
                    days: week.count as u32,
                },
            })
        } else if usable(&day, MIN_HOURS) {
            Some(Baseline {
                mean: day.mean,
                deviation: day.deviation,
                basis: Basis::Day {
                    hours: day.count as u32,
                },
            })
        } else {
            None
        }
    }
}

/// Mean, standard deviation and count of a history, as asked.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Stats {
    pub mean: f64,
    pub deviation: f64,
    pub count: f64,
}

impl Default for Stats {
    fn default() -> Self {
        Stats {
            mean: f64::NAN,
            deviation: f64::NAN,
            count: 0.0,
        }
    }
}

/// A service's baselines, where its history gives one.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Baselines {
    pub traffic: Option<Baseline>,
    pub errors: Option<Baseline>,
    pub p95: Option<Baseline>,
}

/// A figure far from its usual value.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Anomaly {
    pub signal: Signal,
    pub value: f64,
    /// Deviations from the usual value: positive above, negative below.
    pub deviations: f64,
    pub usual: Baseline,
    /// The deviation counted in: the history's, or the floor where that
    /// is smaller.
    pub spread: f64,
}

impl Anomaly {
    pub fn arrow(&self) -> &'static str {
        if self.deviations > 0.0 { "↑" } else { "↓" }
    }

    /// How far, to a tenth under 10σ and whole beyond: `5.2σ`, `37σ`.
    pub fn distance(&self) -> String {
        let d = self.deviations.abs();
        if d < 10.0 {
            format!("{d:.1}σ")
        } else {
            format!("{d:.0}σ")
        }
    }

    /// "traffic ↑5.2σ", for a column.
    pub fn short(&self) -> String {
        format!("{} {}{}", self.signal.word(), self.arrow(), self.distance())
    }

    /// "traffic 412/s, usually 80/s at this time of day over the past 7
    /// days: 5.2× usual, 16σ above (σ 20.0/s)"; an error ratio's σ in
    /// points, and said to be the floor where the history varied less.
    pub fn text(&self) -> String {
        let s = self.signal;
        let side = if self.deviations > 0.0 {
            "above"
        } else {
            "below"
        };
        let times = if self.usual.mean > 0.0 {
            format!("{:.1}× usual, ", self.value / self.usual.mean)
        } else {
            String::new()
        };
        let sigma = match s {
            Signal::Errors => format!("{:.2} points", self.spread * 100.0),
            _ => s.figure(self.spread),
        };
        let floor = if self.spread > self.usual.deviation {
            ", the least counted"
        } else {
            ""
        };
        format!(
            "{} {}, usually {} {}: {times}{} {side} (σ {sigma}{floor})",
            s.word(),
            s.figure(self.value),
            s.figure(self.usual.mean),
            self.usual.basis.text(),
            self.distance(),
        )
    }
}

/// How many deviations `value` is from `usual`: `None` when either is not
/// a figure.
pub fn deviations(signal: Signal, value: f64, usual: &Baseline) -> Option<f64> {
    if !value.is_finite() || !usual.mean.is_finite() {
        return None;
    }
    Some((value - usual.mean) / spread(signal, usual))
}

/// The deviation a figure is measured in: the history's, at least the
/// signal's floor.
pub fn spread(signal: Signal, usual: &Baseline) -> f64 {
    usual.deviation.max(signal.floor(usual.mean))
}

/// A service's unusual figures, farthest first: more than `limit`
/// deviations away (0 turns them off); traffic either way, errors and p95
/// only above, and those two only with `MIN_TRAFFIC`.
pub fn anomalies(s: &ServiceHealth, limit: f64) -> Vec<Anomaly> {
    if limit <= 0.0 || !limit.is_finite() {
        return Vec::new();
    }
    let busy = s.requests_per_second >= MIN_TRAFFIC;
    let candidates = [
        (
            Signal::Traffic,
            s.requests_per_second,
            s.baselines.traffic,
            true,
        ),
        (Signal::Errors, s.error_ratio, s.baselines.errors, busy),
        (Signal::P95, s.latency_p95_ms, s.baselines.p95, busy),
    ];
    let mut out: Vec<Anomaly> = candidates
        .into_iter()
        .filter(|c| c.3)
        .filter_map(|(signal, value, usual, _)| {
            let usual = usual?;
            let d = deviations(signal, value, &usual)?;
            let far = d.abs() > limit && (signal == Signal::Traffic || d > 0.0);
            far.then_some(Anomaly {
                signal,
                value,
                deviations: d,
                usual,
                spread: spread(signal, &usual),
            })
        })
        .collect();
    out.sort_by(|a, b| b.deviations.abs().total_cmp(&a.deviations.abs()));
    out
}

/// A warning when anything is unusual, else OK.
pub fn status(s: &ServiceHealth, limit: f64) -> Status {
    if anomalies(s, limit).is_empty() {
        Status::Ok
    } else {
        Status::Warn
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn week(mean: f64, deviation: f64) -> Option<Baseline> {
        Some(Baseline {
            mean,
            deviation,
            basis: Basis::Week { days: 7 },
        })
    }

    fn service(rps: f64, errors: f64, p95: f64) -> ServiceHealth {
        let mut s = ServiceHealth::unknown("shop", "test");
        s.requests_per_second = rps;
        s.error_ratio = errors;
        s.latency_p95_ms = p95;
        s.baselines = Baselines {
            traffic: week(100.0, 20.0),
            errors: week(0.002, 0.0005),
            p95: week(120.0, 15.0),
        };
        s
    }

    #[test]
    fn a_figure_past_the_limit_is_unusual_with_its_distance_and_direction() {
        let found = anomalies(&service(204.0, 0.002, 120.0), 3.0);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].signal, Signal::Traffic);
        assert!((found[0].deviations - 5.2).abs() < 1e-9);
        assert_eq!(found[0].short(), "traffic ↑5.2σ");
        assert_eq!(
            found[0].text(),
            "traffic 204/s, usually 100/s at this time of day over the past 7 days: 2.0× usual, 5.2σ above (σ 20.0/s)"
        );
        let low = anomalies(&service(20.0, 0.002, 120.0), 3.0);
        assert_eq!(low[0].short(), "traffic ↓4.0σ");
        // 3σ exactly is not past the limit.
        assert!(anomalies(&service(160.0, 0.002, 120.0), 3.0).is_empty());
        assert_eq!(status(&service(160.0, 0.002, 120.0), 3.0), Status::Ok);
        assert_eq!(status(&service(204.0, 0.002, 120.0), 3.0), Status::Warn);
    }

    #[test]
    fn errors_and_latency_are_unusual_only_when_worse_and_busy() {
        // Errors 2% against 0.2% ± 0.05 (floored at 0.2 points): 9σ.
        let worse = anomalies(&service(100.0, 0.02, 40.0), 3.0);
        assert_eq!(worse.len(), 1, "{worse:?}");
        assert_eq!(worse[0].signal, Signal::Errors);
        assert!((worse[0].deviations - 9.0).abs() < 1e-9);
        assert_eq!(
            worse[0].text(),
            "errors 2%, usually 0.2% at this time of day over the past 7 days: 10.0× usual, 9.0σ above (σ 0.20 points, the least counted)"
        );
        // Far beyond: whole deviations.
        let far = anomalies(&service(100.0, 0.2, 40.0), 3.0);
        assert_eq!(far[0].short(), "errors ↑99σ");
        // p95 at 40 ms is far below 120 ± 15, which is good news.
        assert!(worse.iter().all(|a| a.signal != Signal::P95));
        // Under a request a second, neither is judged.
        let quiet = service(0.5, 0.5, 900.0);
        let found = anomalies(&quiet, 3.0);
        assert!(
            found.iter().all(|a| a.signal == Signal::Traffic),
            "{found:?}"
        );
    }

    #[test]
    fn a_history_that_never_varied_is_judged_against_the_floor() {
        let mut s = service(105.0, 0.0, 120.0);
        s.baselines.traffic = week(100.0, 0.0);
        // 5% off a flat history: 0.5 of the floor (10 req/s), not unusual.
        assert!(anomalies(&s, 3.0).is_empty());
        s.requests_per_second = 140.0;
        assert!((anomalies(&s, 3.0)[0].deviations - 4.0).abs() < 1e-9);
        // A quiet service's floor is a request a minute: 0.04/s is 2.4 of
        // it, 0.06/s 3.6.
        s.baselines.traffic = week(0.0, 0.0);
        s.requests_per_second = 0.04;
        assert!(anomalies(&s, 3.0).is_empty());
        s.requests_per_second = 0.06;
        assert!((anomalies(&s, 3.0)[0].deviations - 3.6).abs() < 1e-9);
    }

    #[test]
    fn no_history_no_figure_or_a_zero_limit_is_nothing_unusual() {
        let mut s = service(1000.0, 0.5, 5000.0);
        assert!(anomalies(&s, 0.0).is_empty());
        assert!(anomalies(&s, f64::NAN).is_empty());
        s.baselines = Baselines::default();
        assert!(anomalies(&s, 3.0).is_empty());
        let mut s = service(f64::NAN, f64::NAN, f64::NAN);
        s.baselines.traffic = week(f64::NAN, 1.0);
        assert!(anomalies(&s, 3.0).is_empty());
    }

    #[test]
    fn the_week_is_used_from_three_days_else_the_day_from_six_hours() {
        let stats = |mean, count| Stats {
            mean,
            deviation: 1.0,
            count,
        };
        let b = Baseline::choose(stats(10.0, 3.0), stats(20.0, 24.0)).unwrap();
        assert_eq!((b.mean, b.basis), (10.0, Basis::Week { days: 3 }));
        let b = Baseline::choose(stats(10.0, 2.0), stats(20.0, 24.0)).unwrap();
        assert_eq!((b.mean, b.basis), (20.0, Basis::Day { hours: 24 }));
        assert_eq!(Baseline::choose(stats(10.0, 2.0), stats(20.0, 5.0)), None);
        assert_eq!(Baseline::choose(Stats::default(), Stats::default()), None);
        assert_eq!(Basis::Day { hours: 6 }.text(), "over the last 6 hours");
    }
}
