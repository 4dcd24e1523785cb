//! Forecasts: when a service's error budget runs out at its current burn,
//! and when a host's disk fills at its recent growth. Pure arithmetic on
//! what the sources already read; the disk's slope is the server's
//! (`predict_linear`/`deriv`, src/sli/queries.rs `host_disk_full_in`).

use chrono::Duration;

use super::standing::{budget_left, burn_1h};
use super::{Host, ServiceHealth, Status, Thresholds};

/// What is left of a service's error budget, seen forwards.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum BudgetForecast {
    /// Overspent already: nothing left to run out.
    Spent,
    /// Gone `after` this long if it keeps burning at `burn`.
    GoneIn { after: Duration, burn: f64 },
}

impl BudgetForecast {
    /// "budget gone in 9h at 6.2x", "budget already spent".
    pub fn text(&self) -> String {
        match self {
            BudgetForecast::Spent => "budget already spent".into(),
            BudgetForecast::GoneIn { after, burn } => {
                format!("budget gone in {} at {burn:.1}x", within(*after))
            }
        }
    }

    /// Seconds until the budget is gone: 0 when already spent.
    pub fn seconds(&self) -> i64 {
        match self {
            BudgetForecast::Spent => 0,
            BudgetForecast::GoneIn { after, .. } => after.num_seconds(),
        }
    }
}

/// When a budget with `left` of it remaining (a fraction of the window's
/// budget; negative when overspent) runs out at burn rate `burn` (1.0
/// spends the whole budget over `window`): `left × window ÷ burn`.
/// Nothing when the burn is 1 or under (the budget outlasts the window) or
/// unknown; `Spent` when nothing is left, whatever the burn.
pub fn budget_exhaustion(
    left: Option<f64>,
    burn: Option<f64>,
    window: Duration,
) -> Option<BudgetForecast> {
    let left = left.filter(|l| l.is_finite())?;
    if left <= 0.0 {
        return Some(BudgetForecast::Spent);
    }
    let burn = burn.filter(|b| b.is_finite() && *b > 1.0)?;
    let secs = left * window.num_seconds() as f64 / burn;
    Some(BudgetForecast::GoneIn {
        after: seconds(secs)?,
        burn,
    })
}

/// A service's budget forecast: its budget left over the SLO window at its
/// one-hour burn rate, the two figures the KPI tab shows beside it.
pub fn service_budget(
    s: &ServiceHealth,
    objective: f64,
    window: Duration,
) -> Option<BudgetForecast> {
    budget_exhaustion(budget_left(s, objective), burn_1h(s, objective), window)
}

/// A count of seconds from a server as a duration: `None` for anything no
/// wait can be (NaN, infinite, negative) or beyond a century, which is as
/// good as "not filling".
pub fn seconds(secs: f64) -> Option<Duration> {
    const CENTURY: f64 = 100.0 * 365.0 * 86_400.0;
    (secs.is_finite() && (0.0..CENTURY).contains(&secs))
        .then(|| Duration::milliseconds((secs * 1000.0).round() as i64))
}

/// A disk filling within `thresholds.disk_full_crit` is critical, within
/// `thresholds.disk_full_warn` a warning; one not filling is fine.
pub fn disk_full_status(full_in: Option<Duration>, t: &Thresholds) -> Status {
    match full_in {
        Some(d) if d <= t.disk_full_crit => Status::Crit,
        Some(d) if d <= t.disk_full_warn => Status::Warn,
        _ => Status::Ok,
    }
}

/// A host's disk forecast as its state counts it: a host that is down
/// forecasts nothing.
pub fn host_disk_status(h: &Host, t: &Thresholds) -> Status {
    if h.up {
        disk_full_status(h.full_in, t)
    } else {
        Status::Ok
    }
}

/// "full in 14h", or "—" when the disk is not filling.
pub fn full_in_text(full_in: Option<Duration>) -> String {
    full_in.map_or("—".into(), |d| format!("full in {}", within(d)))
}

/// A wait in one unit, rounded down, hours up to two days: "40s", "25m",
/// "14h", "36h", "3d".
pub fn within(d: Duration) -> String {
    let s = d.num_seconds().max(0);
    match s {
        0..60 => format!("{s}s"),
        60..3_600 => format!("{}m", s / 60),
        3_600..172_800 => format!("{}h", s / 3_600),
        _ => format!("{}d", s / 86_400),
    }
}

/// The hosts whose disks fill within the warning horizon: how many, the
/// soonest, and the worst state among them; `None` when none does.
pub fn disks_filling(hosts: &[Host], t: &Thresholds) -> Option<(usize, Duration, Status)> {
    let filling: Vec<(Duration, Status)> = hosts
        .iter()
        .filter_map(|h| {
            let status = host_disk_status(h, t);
            (status > Status::Ok).then(|| (h.full_in.unwrap_or_default(), status))
        })
        .collect();
    let soonest = filling.iter().map(|(d, _)| *d).min()?;
    let worst = Status::worst(filling.iter().map(|(_, s)| *s));
    Some((filling.len(), soonest, worst))
}

#[cfg(test)]
mod tests {
    use super::*;

    const MONTH: Duration = Duration::days(30);

    fn gone_in(f: Option<BudgetForecast>) -> Duration {
        match f {
            Some(BudgetForecast::GoneIn { after, .. }) => after,
            other => panic!("not a forecast: {other:?}"),
        }
    }

    #[test]
    fn a_budget_runs_out_at_left_times_window_over_burn() {
        // Half a 30-day budget at 6x: 0.5 × 720h ÷ 6 = 60h.
        let f = budget_exhaustion(Some(0.5), Some(6.0), MONTH);
        assert_eq!(gone_in(f), Duration::hours(60));
        // A full budget at 14.4x: 720h ÷ 14.4 = 50h.
        let f = budget_exhaustion(Some(1.0), Some(14.4), MONTH);
        assert_eq!(gone_in(f), Duration::hours(50));
        // 0.0775 of it at 6.2x: 9h.
        let f = budget_exhaustion(Some(0.0775), Some(6.2), MONTH);
        assert_eq!(gone_in(f), Duration::hours(9));
        assert_eq!(f.unwrap().text(), "budget gone in 9h at 6.2x");
        assert_eq!(f.unwrap().seconds(), 9 * 3600);
    }

    #[test]
    fn no_forecast_without_a_burn_over_one() {
        for burn in [None, Some(1.0), Some(0.5), Some(0.0), Some(f64::NAN)] {
            assert_eq!(budget_exhaustion(Some(0.5), burn, MONTH), None, "{burn:?}");
        }
        assert_eq!(
            budget_exhaustion(Some(0.5), Some(f64::INFINITY), MONTH),
            None
        );
        assert_eq!(budget_exhaustion(None, Some(10.0), MONTH), None);
        assert_eq!(budget_exhaustion(Some(f64::NAN), Some(10.0), MONTH), None);
    }

    #[test]
    fn an_overspent_budget_is_spent_whatever_the_burn() {
        for burn in [None, Some(0.2), Some(20.0)] {
            let f = budget_exhaustion(Some(-0.3), burn, MONTH);
            assert_eq!(f, Some(BudgetForecast::Spent));
            assert_eq!(f.unwrap().text(), "budget already spent");
            assert_eq!(f.unwrap().seconds(), 0);
        }
        assert_eq!(
            budget_exhaustion(Some(0.0), Some(2.0), MONTH),
            Some(BudgetForecast::Spent)
        );
    }

    #[test]
    fn server_seconds_become_a_wait_or_nothing() {
        assert_eq!(seconds(50_400.0), Some(Duration::hours(14)));
        assert_eq!(seconds(0.0), Some(Duration::zero()));
        for bad in [-1.0, f64::NAN, f64::INFINITY, f64::NEG_INFINITY, 1e12] {
            assert_eq!(seconds(bad), None, "{bad}");
        }
    }

    #[test]
    fn a_disk_is_judged_by_its_horizons() {
        let t = Thresholds::default();
        assert_eq!(t.disk_full_warn, Duration::hours(24));
        assert_eq!(t.disk_full_crit, Duration::hours(4));
        let at = |h: i64| disk_full_status(Some(Duration::hours(h)), &t);
        assert_eq!(at(3), Status::Crit);
        assert_eq!(at(4), Status::Crit);
        assert_eq!(at(5), Status::Warn);
        assert_eq!(at(24), Status::Warn);
        assert_eq!(at(25), Status::Ok);
        assert_eq!(disk_full_status(None, &t), Status::Ok);
    }

    #[test]
    fn waits_read_in_one_unit() {
        assert_eq!(full_in_text(Some(Duration::hours(14))), "full in 14h");
        assert_eq!(full_in_text(None), "—");
        assert_eq!(within(Duration::seconds(40)), "40s");
        assert_eq!(within(Duration::minutes(25)), "25m");
        assert_eq!(within(Duration::hours(36)), "36h");
        assert_eq!(within(Duration::days(3)), "3d");
        assert_eq!(within(Duration::seconds(-5)), "0s");
    }

    fn host(name: &str, up: bool, full_in: Option<Duration>) -> Host {
        Host {
            name: name.into(),
            up,
            cpu: 0.1,
            memory: 0.1,
            disk: 0.5,
            full_in,
            cpu_history: vec![],
        }
    }

    #[test]
    fn the_disks_filling_are_counted_with_the_soonest() {
        let t = Thresholds::default();
        let hosts = [
            host("a", true, Some(Duration::hours(10))),
            host("b", true, Some(Duration::hours(3))),
            host("c", true, Some(Duration::hours(30))),
            host("d", true, None),
            host("e", false, Some(Duration::hours(1))),
        ];
        assert_eq!(
            disks_filling(&hosts, &t),
            Some((2, Duration::hours(3), Status::Crit))
        );
        assert_eq!(disks_filling(&hosts[2..4], &t), None);
    }
}
