//! Why a row has its state: one line per rule above OK, worst first, with
//! the value that tripped it (`CRIT: disk 92% ≥ 90%`), or one line saying
//! the row is fine. Built from the very rule functions the states come from
//! (`slo`, `standing`, `reliability`, `Deployment::status`), so an
//! explanation cannot disagree with the state it explains. Pure.

use chrono::{DateTime, Duration, Utc};

use super::incidents::Incident;
use super::reliability::{BurnAlert, BurnRates, burn_alert};
use super::slo::{
    WARN_FRACTION, availability, availability_status, backup_rpo, burn_rate, drill_max_age,
    gauge_level, level, rto_status, signal_states, verification_status,
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
    let mut lines = vec![
        (states.errors, errors(s, t, o)),
        (states.p95, p95),
        (states.p99, p99),
        (states.targets, targets(s)),
        (budget, budget_line(s, o.availability)),
        (states.burn, burn(s, o.availability)),
    ];
    for a in super::anomaly::anomalies(s, t.anomaly_deviations) {
        lines.push((Status::Warn, format!("unusual: {}", a.text())));
    }
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
    // The same rule as `host_status`: a share of a whole, else unknown.
    let share = |name: &str, v: f64, threshold: f64| match gauge_level(v, threshold) {
        Status::Unknown => (
            Status::Unknown,
            format!("{name} unknown (no share of a whole)"),
        ),
        state => (state, gauge(name, v, threshold, pct)),
    };
    let lines = vec![
        share("cpu", h.cpu, t.cpu),
        share("memory", h.memory, t.memory),
        share("disk", h.disk, t.disk),
        (
            super::forecast::disk_full_status(h.full_in, t),
            format!(
                "disk {} at its recent growth (warning within {}, critical within {})",
                super::forecast::full_in_text(h.full_in),
                span(t.disk_full_warn),
                span(t.disk_full_crit)
            ),
        ),
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
    let (age, rpo) = backup_rpo(b, now);
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
    // One rule, one line, whatever its state: the phase says it all…
    let phase = if d.stalled(now, deadline) {
        crate::domain::Status::Warn
    } else {
        d.phase.status()
    };
    let mut lines = vec![(phase, text)];
    // …but a canary's verdict, which is a line of its own.
    if let Some(c) = &d.canary {
        lines.push((
            c.status,
            format!("canary: {} ({})", c.verdict, c.compared()),
        ));
    }
    lines
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
pub(super) fn pct(ratio: f64) -> String {
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

pub(super) fn millis(ms: f64) -> String {
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
#[path = "explain_tests.rs"]
mod tests;
