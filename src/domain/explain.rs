//! Why a row has its state: one line per rule above OK, worst first, with
//! the value that tripped it (`CRIT: disk 92% ≥ 90%`), or one line saying
//! the row is fine. Built from the very rule functions the states come from
//! (`slo`, `standing`, `reliability`, `Deployment::status`), so an
//! explanation cannot disagree with the state it explains. Pure.

use chrono::{DateTime, Duration, Utc};

use super::incidents::Incident;
use super::reliability::{BurnAlert, BurnRates, burn_alert};
use super::slo::{
    WARN_FRACTION, availability, availability_status, burn_rate, drill_max_age, level, rpo_status,
    rto_status, signal_states, verification_status,
};
use super::standing::{budget_left, service_burn_status};
use super::{Backup, Deployment, Host, Objectives, Phase, ServiceHealth, Status, Thresholds};

/// A rule's verdict on a row and why, in the operator's words.
pub type Line = (Status, String);

/// The lines above OK, worst first (rules of equal state in their order);
/// `ok` alone when none is.
fn finish(mut lines: Vec<Line>, ok: impl Into<String>) -> Vec<Line> {
    lines.retain(|(s, _)| *s > Status::Ok);
    lines.sort_by_key(|(s, _)| std::cmp::Reverse(*s));
    if lines.is_empty() {
        lines.push((Status::Ok, ok.into()));
    }
    lines
}

/// The state of the worst line: the row's state, by construction.
pub fn worst(lines: &[Line]) -> Status {
    Status::worst(lines.iter().map(|(s, _)| *s))
}

/// A service on the Health tab: each of `signal_states`, the SLO's burn
/// included. A budget unknown for want of traffic does not mark it.
pub fn service(s: &ServiceHealth, t: &Thresholds, o: &Objectives) -> Vec<Line> {
    let states = signal_states(s, t, o);
    let budget = match states.budget {
        Status::Unknown => Status::Ok,
        judged => judged,
    };
    let p95 = format!(
        "p95 {} over the {} objective (critical service)",
        millis(s.latency_p95_ms),
        millis(o.latency_p95_ms)
    );
    let p99 = gauge("p99", s.latency_p99_ms, t.latency_ms, millis);
    let lines = vec![
        (states.errors, errors(s, t, o)),
        (states.p95, p95),
        (states.p99, p99),
        (states.targets, targets(s)),
        (budget, budget_line(s, o.availability)),
        (states.burn, burn(s, o.availability)),
    ];
    finish(lines, "every signal within its threshold")
}

/// A service on the KPI tab's table, judged by its SLO alone
/// (`standing::service_slo_status`): availability and burn.
pub fn slo(s: &ServiceHealth, objective: f64) -> Vec<Line> {
    let own = s.objective_or(objective);
    let avail = availability(s.sli);
    let budget = availability_status(avail, own);
    let budget_text = match avail {
        None => "availability unknown: no requests counted in the window".to_string(),
        Some(_) => budget_line(s, objective),
    };
    let lines = vec![
        (budget, budget_text),
        (service_burn_status(s, objective), burn(s, objective)),
    ];
    finish(lines, "within its SLO: budget left and burn both fine")
}

fn errors(s: &ServiceHealth, t: &Thresholds, o: &Objectives) -> String {
    match level(s.error_ratio, t.error_ratio) {
        Status::Ok => format!(
            "error ratio {} ≥ 10× the {} objective",
            pct(s.error_ratio),
            pct(o.error_ratio)
        ),
        _ => gauge("error ratio", s.error_ratio, t.error_ratio, pct),
    }
}

/// A value judged by `slo::level` against `threshold`, in words.
fn gauge(name: &str, value: f64, threshold: f64, show: fn(f64) -> String) -> String {
    match level(value, threshold) {
        Status::Crit => format!("{name} {} ≥ {}", show(value), show(threshold)),
        Status::Warn => format!(
            "{name} {}, near {} (warns from {})",
            show(value),
            show(threshold),
            show(threshold * WARN_FRACTION)
        ),
        Status::Unknown => format!("{name} unknown (no usable value)"),
        Status::Ok => format!("{name} {} under {}", show(value), show(threshold)),
    }
}

fn targets(s: &ServiceHealth) -> String {
    let down = s.targets_total.saturating_sub(s.targets_up);
    if s.targets_up == 0 {
        format!("all {} targets down", s.targets_total)
    } else {
        format!("{down} of {} targets down", s.targets_total)
    }
}

fn budget_line(s: &ServiceHealth, objective: f64) -> String {
    let own = pct(s.objective_or(objective));
    match budget_left(s, objective) {
        Some(left) if left < 0.0 => {
            format!(
                "error budget left {} (below 0: the {own} SLO missed)",
                pct(left)
            )
        }
        Some(left) => format!("error budget left {} (under 25%)", pct(left)),
        None => "error budget unknown".into(),
    }
}

/// The burn, as `standing::service_burn_status` judges it: the workbook's
/// pair that fires, else the one-hour rate where no pair has data.
fn burn(s: &ServiceHealth, objective: f64) -> String {
    let own = s.objective_or(objective);
    let rates = s.error_ratios.burn_rates(own);
    let alert = burn_alert(&rates);
    let fired = burn_pairs(&rates)
        .into_iter()
        .find(|p| p.alert == alert && p.fires() == Some(true));
    match fired {
        Some(p) => p.describe(),
        None if alert == BurnAlert::Unknown => match burn_rate(s.error_ratio_1h, own) {
            Some(rate) => format!(
                "burn 1h {} (pages over 14.4, a ticket over 6; no other window has data)",
                factor(rate)
            ),
            None => "burn unknown: no window has data".into(),
        },
        None => "burn: no pair of windows over its rate".into(),
    }
}

/// One of the SRE workbook's window pairs: both windows burning above
/// `over` raise `alert`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BurnPair {
    pub long: (&'static str, Option<f64>),
    pub short: (&'static str, Option<f64>),
    pub over: f64,
    /// `Page` or `Ticket`.
    pub alert: BurnAlert,
}

impl BurnPair {
    /// Whether both windows burn above the rate; `None` when one has no data.
    pub fn fires(&self) -> Option<bool> {
        match (self.long.1, self.short.1) {
            (Some(l), Some(s)) => Some(l > self.over && s > self.over),
            _ => None,
        }
    }

    /// "pages: 1h 15.2x and 5m 16.0x both over 14.4".
    pub fn describe(&self) -> String {
        let verb = match self.alert {
            BurnAlert::Page => "pages",
            _ => "tickets",
        };
        let rate = |r: Option<f64>| r.map_or("—".into(), factor);
        format!(
            "burn {verb}: {} {} and {} {} both over {}",
            self.long.0,
            rate(self.long.1),
            self.short.0,
            rate(self.short.1),
            self.over
        )
    }
}

/// The workbook's four pairs, as `reliability::burn_alert` combines them:
/// pages first.
pub fn burn_pairs(b: &BurnRates) -> [BurnPair; 4] {
    let pair = |long, short, over, alert| BurnPair {
        long,
        short,
        over,
        alert,
    };
    [
        pair(("1h", b.h1), ("5m", b.m5), 14.4, BurnAlert::Page),
        pair(("6h", b.h6), ("30m", b.m30), 6.0, BurnAlert::Page),
        pair(("1d", b.d1), ("2h", b.h2), 3.0, BurnAlert::Ticket),
        pair(("3d", b.d3), ("6h", b.h6), 1.0, BurnAlert::Ticket),
    ]
}

/// Each window's burn rate, shortest first.
pub fn burn_windows(b: &BurnRates) -> [(&'static str, Option<f64>); 7] {
    [
        ("5m", b.m5),
        ("30m", b.m30),
        ("1h", b.h1),
        ("2h", b.h2),
        ("6h", b.h6),
        ("1d", b.d1),
        ("3d", b.d3),
    ]
}

/// A host, as `slo::host_status` judges it: down, or its gauges.
pub fn host(h: &Host, t: &Thresholds) -> Vec<Line> {
    if !h.up {
        return vec![(Status::Crit, "down: its target does not answer".into())];
    }
    let lines = vec![
        (level(h.cpu, t.cpu), gauge("cpu", h.cpu, t.cpu, pct)),
        (
            level(h.memory, t.memory),
            gauge("memory", h.memory, t.memory, pct),
        ),
        (level(h.disk, t.disk), gauge("disk", h.disk, t.disk, pct)),
    ];
    finish(
        lines,
        "up; cpu, memory and disk under 90% of their thresholds",
    )
}

/// A backup target, as `slo::backup_status` judges it: RPO, the last
/// drill's RTO (at most a warning) and verification.
pub fn backup(b: &Backup, now: DateTime<Utc>) -> Vec<Line> {
    let obj = b.tier.objectives();
    let (age, rpo) = rpo_status(b.last_success, obj, now);
    let rpo_text = match age {
        None => format!("never succeeded ({} RPO {})", b.tier.label(), span(obj.rpo)),
        Some(age) if rpo == Status::Crit => format!(
            "last good backup {} ago, over the {} RPO",
            span(age),
            span(obj.rpo)
        ),
        Some(age) => format!(
            "last good backup {} ago, past 80% of the {} RPO",
            span(age),
            span(obj.rpo)
        ),
    };
    let rto = rto_status(b, obj, now);
    let rto_text = match (rto, b.last_drill) {
        (_, None) => format!("never drilled: the {} RTO is untested", span(obj.rto)),
        (Status::Crit, Some(d)) => format!(
            "drill RTO {} over the {} objective (a readiness risk: at most a warning)",
            d.measured_rto.map_or("unknown".into(), span),
            span(obj.rto)
        ),
        (Status::Warn, Some(d)) => format!(
            "last DR drill {} ago (over {}: it no longer proves the RTO)",
            span(now - d.at),
            span(drill_max_age())
        ),
        (_, Some(d)) => format!("DR drill {} ago, its RTO unknown", span(now - d.at)),
    };
    let verified_text = match b.last_verified {
        None => "never verified: no restore has tested it".to_string(),
        Some(at) => format!("last verified {} ago (over 7 days)", span(now - at)),
    };
    let lines = vec![
        (rpo, rpo_text),
        // As in `backup_status`: recovery readiness is a risk, not an outage.
        (rto.min(Status::Warn), rto_text),
        (verification_status(b.last_verified, now), verified_text),
    ];
    finish(lines, "RPO met, drill within the RTO, verified this week")
}

/// A deployment, as `Deployment::status` judges it: its phase, and stalled
/// when progressing past `deadline`.
pub fn deployment(d: &Deployment, now: DateTime<Utc>, deadline: Duration) -> Vec<Line> {
    let age = d.deployed_at.map(|at| span(now - at));
    let text = match (d.phase, &age) {
        (Phase::Progressing, Some(age)) if d.stalled(now, deadline) => format!(
            "progressing {age}, past the {} progress deadline (stalled)",
            span(deadline)
        ),
        (Phase::Progressing, Some(age)) => format!(
            "progressing {age}, within the {} progress deadline",
            span(deadline)
        ),
        (Phase::Progressing, None) => "progressing; its start is unknown".into(),
        (Phase::Failed, _) => format!("failed: {} did not roll out", d.version),
        (Phase::Paused, _) => "paused: the rollout waits for someone".into(),
        (Phase::RolledBack, _) => format!(
            "rolled back to {}",
            d.previous_version
                .as_deref()
                .unwrap_or("the previous version")
        ),
        (Phase::Complete, _) => "complete".into(),
        (Phase::Unknown, _) => "a phase opsdeck does not know".into(),
    };
    // One rule, one line, whatever its state: the phase says it all.
    vec![(d.status(now, deadline), text)]
}

/// An incident: the severity of its worst alert.
pub fn incident(inc: &Incident) -> Vec<Line> {
    let alerts = if inc.alert_count == 1 {
        "its alert".to_string()
    } else {
        format!("the worst of its {} alerts", inc.alert_count)
    };
    let mut text = format!("severity {}, {alerts}", inc.severity.label());
    if inc.silenced {
        text.push_str("; silenced: nobody is paged");
    } else if inc.inhibited {
        text.push_str("; inhibited: another alert covers it");
    }
    if !inc.counted {
        text.push_str("; not counted ([alerts] not_counted): no part of the verdict");
    }
    vec![(inc.severity.status(), text)]
}

/// A ratio as a percentage, one decimal where it is not a whole one.
fn pct(ratio: f64) -> String {
    if !ratio.is_finite() {
        return "—".into();
    }
    let shown = format!("{:.1}", ratio * 100.0);
    let shown = shown.strip_suffix(".0").unwrap_or(&shown);
    // Small ratios keep two significant digits: 0.05%, not 0.1%.
    if ratio != 0.0 && ratio.abs() < 0.001 {
        let decimals = (1.0 - (ratio.abs() * 100.0).log10().floor()).clamp(2.0, 6.0) as usize;
        return format!("{:.decimals$}%", ratio * 100.0);
    }
    format!("{shown}%")
}

fn millis(ms: f64) -> String {
    match ms {
        x if !x.is_finite() => "—".into(),
        x if x >= 1_000.0 => format!("{:.1}s", x / 1000.0),
        x => format!("{x:.0}ms"),
    }
}

fn factor(v: f64) -> String {
    if v.is_finite() && v.abs() < 1e5 {
        format!("{v:.1}x")
    } else if v.is_finite() {
        format!("{v:.1e}x")
    } else {
        "—".into()
    }
}

/// "45s", "14m", "2h 05m", "9 days".
fn span(d: Duration) -> String {
    let s = d.num_seconds().max(0);
    match s {
        0..60 => format!("{s}s"),
        60..3_600 => format!("{}m", s / 60),
        3_600..86_400 if s % 3_600 / 60 == 0 => format!("{}h", s / 3_600),
        3_600..86_400 => format!("{}h {:02}m", s / 3_600, s % 3_600 / 60),
        86_400..172_800 => "1 day".into(),
        _ => format!("{} days", s / 86_400),
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;
    use crate::domain::slo::{backup_status, host_status, service_status};
    use crate::domain::standing::service_slo_status;
    use crate::domain::{DrillResult, SliCounts, Strategy, Tier, Via, reliability::ErrorRatios};

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 22, 3, 0, 0).unwrap()
    }

    /// Built on `unknown`, so fields added later take its defaults.
    fn healthy() -> ServiceHealth {
        ServiceHealth {
            tier: Tier::Critical,
            team: "payments".into(),
            requests_per_second: 100.0,
            error_ratio: 0.0002,
            latency_p95_ms: 120.0,
            latency_p99_ms: 300.0,
            saturation: 0.5,
            targets_up: 4,
            targets_total: 4,
            sli: SliCounts {
                good: 999_900.0,
                total: 1e6,
            },
            error_ratio_1h: 0.0002,
            via: Via::Simulated,
            ..ServiceHealth::unknown("checkout", "test")
        }
    }

    fn texts(lines: &[Line]) -> Vec<String> {
        lines
            .iter()
            .map(|(s, t)| format!("{}: {t}", s.label()))
            .collect()
    }

    #[test]
    fn a_service_at_each_state_says_which_rule_and_which_value() {
        let (t, o) = (Thresholds::default(), Objectives::default());
        let ok = service(&healthy(), &t, &o);
        assert_eq!(texts(&ok), ["OK: every signal within its threshold"]);

        let slow = ServiceHealth {
            latency_p95_ms: 240.0,
            ..healthy()
        };
        assert_eq!(
            texts(&service(&slow, &t, &o)),
            ["WARN: p95 240ms over the 200ms objective (critical service)"]
        );

        // 0.126% bad against a 0.1% budget: 26% overspent; p95 over too.
        let overspent = ServiceHealth {
            sli: SliCounts {
                good: 1e6 - 1260.0,
                total: 1e6,
            },
            ..slow
        };
        assert_eq!(
            texts(&service(&overspent, &t, &o)),
            [
                "CRIT: error budget left -26% (below 0: the 99.9% SLO missed)",
                "WARN: p95 240ms over the 200ms objective (critical service)",
            ],
            "worst first"
        );

        let errors = ServiceHealth {
            error_ratio: 0.06,
            targets_up: 3,
            latency_p99_ms: f64::NAN,
            ..healthy()
        };
        assert_eq!(
            texts(&service(&errors, &t, &o)),
            [
                "CRIT: error ratio 6% ≥ 5%",
                "WARN: 1 of 4 targets down",
                "UNKNOWN: p99 unknown (no usable value)",
            ]
        );
        let tenfold = ServiceHealth {
            error_ratio: 0.011,
            ..healthy()
        };
        assert_eq!(
            texts(&service(&tenfold, &t, &o)),
            ["WARN: error ratio 1.1% ≥ 10× the 0.1% objective"]
        );
    }

    #[test]
    fn a_burning_service_names_the_pair_of_windows_that_pages_or_tickets() {
        let (t, o) = (Thresholds::default(), Objectives::default());
        let ratios = |h1, m5, d1, h2| ErrorRatios {
            m5: Some(m5),
            m30: Some(0.0),
            h1: Some(h1),
            h2: Some(h2),
            h6: Some(0.0),
            d1: Some(d1),
            d3: Some(0.0),
        };
        let paging = ServiceHealth {
            error_ratios: ratios(0.0152, 0.016, 0.0, 0.0),
            ..healthy()
        };
        assert_eq!(
            texts(&service(&paging, &t, &o)),
            ["CRIT: burn pages: 1h 15.2x and 5m 16.0x both over 14.4"]
        );
        let ticket = ServiceHealth {
            error_ratios: ratios(0.0, 0.0, 0.0035, 0.0036),
            ..healthy()
        };
        assert_eq!(
            texts(&slo(&ticket, o.availability)),
            ["WARN: burn tickets: 1d 3.5x and 2h 3.6x both over 3"]
        );
        // No window data: the one-hour rate alone, as the state judges it.
        let hour = ServiceHealth {
            error_ratio_1h: 0.007,
            ..healthy()
        };
        assert_eq!(
            texts(&service(&hour, &t, &o)),
            ["WARN: burn 1h 7.0x (pages over 14.4, a ticket over 6; no other window has data)"]
        );
    }

    #[test]
    fn the_slo_table_explains_a_service_without_traffic_as_unknown() {
        let quiet = ServiceHealth {
            sli: SliCounts::default(),
            ..healthy()
        };
        let lines = slo(&quiet, 0.999);
        assert_eq!(
            texts(&lines),
            ["UNKNOWN: availability unknown: no requests counted in the window"]
        );
        assert_eq!(worst(&lines), service_slo_status(&quiet, 0.999));
        // On the Health tab no traffic alone does not mark it.
        let t = Thresholds::default();
        let o = Objectives::default();
        assert_eq!(worst(&service(&quiet, &t, &o)), Status::Ok);
    }

    fn host_at(up: bool, cpu: f64, memory: f64, disk: f64) -> Host {
        Host {
            name: "db-02".into(),
            up,
            cpu,
            memory,
            disk,
            cpu_history: vec![],
        }
    }

    #[test]
    fn a_host_at_each_state_names_its_gauge() {
        let t = Thresholds::default();
        let cases = [
            (
                host_at(true, 0.2, 0.3, 0.4),
                vec!["OK: up; cpu, memory and disk under 90% of their thresholds"],
            ),
            (
                host_at(true, 0.2, 0.8, 0.4),
                vec!["WARN: memory 80%, near 85% (warns from 76.5%)"],
            ),
            (
                host_at(true, 0.2, 0.8, 0.92),
                vec![
                    "CRIT: disk 92% ≥ 90%",
                    "WARN: memory 80%, near 85% (warns from 76.5%)",
                ],
            ),
            (
                host_at(true, f64::NAN, 0.3, 0.4),
                vec!["UNKNOWN: cpu unknown (no usable value)"],
            ),
            (
                host_at(false, 0.2, 0.3, 0.99),
                vec!["CRIT: down: its target does not answer"],
            ),
        ];
        for (h, expected) in cases {
            let lines = host(&h, &t);
            assert_eq!(texts(&lines), expected);
            assert_eq!(worst(&lines), host_status(&h, &t));
        }
    }

    fn backup_at(
        success_min: Option<i64>,
        verified_days: Option<i64>,
        drill: Option<(i64, Option<i64>)>,
    ) -> Backup {
        Backup {
            service: None,
            target: "orders-db".into(),
            tier: Tier::Critical,
            last_success: success_min.map(|m| now() - Duration::minutes(m)),
            size_bytes: 1.0,
            duration: None,
            last_verified: verified_days.map(|d| now() - Duration::days(d)),
            last_drill: drill.map(|(days, rto)| DrillResult {
                at: now() - Duration::days(days),
                measured_rto: rto.map(Duration::minutes),
            }),
            runs: None,
        }
    }

    #[test]
    fn a_backup_at_each_state_names_its_objective() {
        let good = Some((10, Some(40)));
        let cases = [
            (
                backup_at(Some(5), Some(1), good),
                vec!["OK: RPO met, drill within the RTO, verified this week"],
            ),
            (
                backup_at(Some(5), Some(9), good),
                vec!["WARN: last verified 9 days ago (over 7 days)"],
            ),
            (
                backup_at(Some(5), Some(1), Some((10, Some(72)))),
                vec![
                    "WARN: drill RTO 1h 12m over the 1h objective (a readiness risk: at most a warning)",
                ],
            ),
            (
                backup_at(Some(5), Some(1), Some((120, Some(40)))),
                vec![
                    "WARN: last DR drill 120 days ago (over 90 days: it no longer proves the RTO)",
                ],
            ),
            (
                backup_at(Some(13), Some(1), good),
                vec!["WARN: last good backup 13m ago, past 80% of the 15m RPO"],
            ),
            (
                backup_at(Some(47), None, None),
                vec![
                    "CRIT: last good backup 47m ago, over the 15m RPO",
                    "WARN: never verified: no restore has tested it",
                    "UNKNOWN: never drilled: the 1h RTO is untested",
                ],
            ),
            (
                backup_at(None, Some(1), good),
                vec!["CRIT: never succeeded (critical RPO 15m)"],
            ),
            (
                backup_at(Some(5), Some(1), Some((3, None))),
                vec!["UNKNOWN: DR drill 3 days ago, its RTO unknown"],
            ),
        ];
        for (b, expected) in cases {
            let lines = backup(&b, now());
            assert_eq!(texts(&lines), expected);
            assert_eq!(worst(&lines), backup_status(&b, now()));
        }
    }

    fn deployment_at(phase: Phase, minutes: Option<i64>) -> Deployment {
        Deployment {
            service: "checkout".into(),
            environment: "production".into(),
            version: "v2".into(),
            previous_version: Some("v1".into()),
            strategy: Strategy::Rolling {
                updated: 1,
                total: 3,
            },
            phase,
            deployed_at: minutes.map(|m| now() - Duration::minutes(m)),
            rollbacks: 0,
            history: Vec::new(),
            window: None,
        }
    }

    #[test]
    fn a_deployment_at_each_state_says_its_phase_and_deadline() {
        let deadline = Duration::minutes(10);
        let cases = [
            (
                Phase::Progressing,
                Some(3),
                "OK: progressing 3m, within the 10m progress deadline",
            ),
            (
                Phase::Progressing,
                Some(14),
                "WARN: progressing 14m, past the 10m progress deadline (stalled)",
            ),
            (Phase::Complete, Some(600), "OK: complete"),
            (Phase::RolledBack, Some(60), "WARN: rolled back to v1"),
            (Phase::Failed, Some(1), "CRIT: failed: v2 did not roll out"),
            (
                Phase::Unknown,
                None,
                "UNKNOWN: a phase opsdeck does not know",
            ),
        ];
        for (phase, minutes, expected) in cases {
            let d = deployment_at(phase, minutes);
            let lines = deployment(&d, now(), deadline);
            assert_eq!(texts(&lines), [expected]);
            assert_eq!(worst(&lines), d.status(now(), deadline));
        }
    }

    /// The pairs say what `burn_alert` decides, for any rates: the pair
    /// named on screen is the one that raised the alert.
    #[test]
    fn the_pairs_agree_with_the_workbook_alert_for_any_rates() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(20);
        let steps = [0.0, 0.5, 1.0, 1.5, 3.0, 3.5, 6.0, 7.0, 14.4, 15.0];
        for _ in 0..20_000 {
            let mut pick =
                || (rng.random_range(0..8) > 0).then(|| steps[rng.random_range(0..steps.len())]);
            let b = BurnRates {
                m5: pick(),
                m30: pick(),
                h1: pick(),
                h2: pick(),
                h6: pick(),
                d1: pick(),
                d3: pick(),
            };
            let pairs = burn_pairs(&b);
            let fired = |kind| {
                pairs
                    .iter()
                    .any(|p| p.alert == kind && p.fires() == Some(true))
            };
            let expected = if fired(BurnAlert::Page) {
                BurnAlert::Page
            } else if fired(BurnAlert::Ticket) {
                BurnAlert::Ticket
            } else if pairs.iter().all(|p| p.fires().is_none()) {
                BurnAlert::Unknown
            } else {
                BurnAlert::None
            };
            assert_eq!(burn_alert(&b), expected, "{b:?}");
        }
    }

    /// Over the demo's estate at many seeds and moments, every row's worst
    /// explained state is its state exactly.
    #[test]
    fn over_the_demo_the_worst_line_is_the_rows_state() {
        let (t, o) = (Thresholds::default(), Objectives::default());
        let deadline = t.progress_deadline;
        let mut seen = std::collections::BTreeSet::new();
        for seed in 0..6 {
            let demo = crate::demo::DemoEstate::new(seed, now());
            // Moments an incident in and out, spread over six hours.
            for minute in (0..6 * 60).step_by(61) {
                let at = now() + Duration::minutes(minute);
                let health = demo.health_at(at);
                for s in health.services.iter() {
                    let state = service_status(s, &t, &o);
                    assert_eq!(worst(&service(s, &t, &o)), state, "{}", s.name);
                    let standing = service_slo_status(s, o.availability);
                    assert_eq!(worst(&slo(s, o.availability)), standing, "{}", s.name);
                    seen.insert(("service", state));
                }
                for h in &health.hosts {
                    let state = host_status(h, &t);
                    assert_eq!(worst(&host(h, &t)), state, "{}", h.name);
                    seen.insert(("host", state));
                }
                for b in demo.backups_at(at) {
                    let state = backup_status(&b, at);
                    assert_eq!(worst(&backup(&b, at)), state, "{}", b.target);
                    seen.insert(("backup", state));
                }
                for d in demo.deployments_at(at) {
                    let state = d.status(at, deadline);
                    assert_eq!(worst(&deployment(&d, at, deadline)), state, "{}", d.service);
                    seen.insert(("deployment", state));
                }
            }
        }
        // The walk is worth something only if it met trouble.
        for kind in ["service", "host", "backup"] {
            assert!(seen.contains(&(kind, Status::Ok)), "{kind} OK: {seen:?}");
            assert!(
                seen.iter().any(|(k, s)| *k == kind && *s >= Status::Warn),
                "{kind} above OK: {seen:?}"
            );
        }
    }
}
