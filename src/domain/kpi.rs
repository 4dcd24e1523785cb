//! The executive KPIs: each a value against its objective with a state and,
//! when the value cannot be computed, the reason instead of a made-up number.

use chrono::{DateTime, Utc};

use super::slo::{self, availability, burn_rate, error_budget_remaining, level};
use super::{Backup, Objectives, ResolvedIncident, ServiceHealth, Status, Thresholds, Tier};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    /// 0..1 shown as a percentage with this many decimals.
    Percent(u8),
    Millis,
    Seconds,
    /// A multiple, such as a burn rate.
    Factor,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Kpi {
    pub title: &'static str,
    pub value: Option<f64>,
    pub objective: Option<f64>,
    pub unit: Unit,
    /// Whether the objective is a floor (availability) or a ceiling (latency).
    pub goal: Goal,
    pub status: Status,
    /// The worst contributor, or why the value is unknown.
    pub note: String,
    /// Recent values, oldest first, where the sources give a history.
    pub trend: Vec<f64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Goal {
    AtLeast,
    Below,
}

/// Everything the KPIs are computed from.
pub struct Inputs<'a> {
    pub services: &'a [ServiceHealth],
    pub backups: &'a [Backup],
    pub resolved: Option<&'a [ResolvedIncident]>,
    pub objectives: &'a Objectives,
    pub thresholds: &'a Thresholds,
    pub now: DateTime<Utc>,
}

fn unknown(title: &'static str, unit: Unit, goal: Goal, objective: Option<f64>, why: &str) -> Kpi {
    Kpi {
        title,
        value: None,
        objective,
        unit,
        goal,
        status: Status::Unknown,
        note: why.to_string(),
        trend: Vec::new(),
    }
}

pub fn compute(i: &Inputs) -> Vec<Kpi> {
    vec![
        availability_kpi(i),
        budget_kpi(i),
        burn_kpi(i),
        latency_kpi(
            i,
            "p95 latency",
            |s| s.latency_p95_ms,
            i.objectives.latency_p95_ms,
        ),
        latency_kpi(
            i,
            "p99 latency",
            |s| s.latency_p99_ms,
            i.thresholds.latency_ms,
        ),
        error_rate_kpi(i),
        mttr_kpi(i),
        rpo_kpi(i),
        rto_kpi(i),
    ]
}

/// Services with traffic, each with its availability over the SLO window.
fn availabilities<'a>(i: &'a Inputs) -> impl Iterator<Item = (&'a ServiceHealth, f64)> + 'a {
    i.services
        .iter()
        .filter_map(|s| availability(s.sli).map(|a| (s, a)))
}

/// The worst service's availability: an SLA is per service, so one service
/// below its objective is a breach however good the estate's total looks.
/// The request-weighted estate figure goes in the note.
fn availability_kpi(i: &Inputs) -> Kpi {
    let (good, total) = i
        .services
        .iter()
        .filter(|s| s.sli.total > 0.0)
        .fold((0.0, 0.0), |(g, t), s| (g + s.sli.good, t + s.sli.total));
    let obj = i.objectives.availability;
    let (Some(estate), Some((worst, value))) = (
        availability(super::SliCounts { good, total }),
        availabilities(i).min_by(|a, b| a.1.total_cmp(&b.1)),
    ) else {
        return unknown(
            "Availability 30d",
            Unit::Percent(3),
            Goal::AtLeast,
            Some(obj),
            "no request counts",
        );
    };
    let below = availabilities(i).filter(|(_, a)| *a < obj).count();
    let mut note = format!("worst {} · estate {:.3}%", worst.name, estate * 100.0);
    if below > 1 {
        note.push_str(&format!(" · {below} below"));
    }
    Kpi {
        title: "Availability 30d",
        value: Some(value),
        objective: Some(obj),
        unit: Unit::Percent(3),
        goal: Goal::AtLeast,
        status: slo::availability_status(Some(value), obj),
        note,
        trend: Vec::new(),
    }
}

fn budget_kpi(i: &Inputs) -> Kpi {
    let obj = i.objectives.availability;
    let lowest = availabilities(i)
        .filter_map(|(s, a)| error_budget_remaining(a, obj).map(|left| (s, left)))
        .min_by(|a, b| a.1.total_cmp(&b.1));
    let Some((service, left)) = lowest else {
        return unknown(
            "Error budget left",
            Unit::Percent(1),
            Goal::AtLeast,
            None,
            "no request counts",
        );
    };
    let avail = availability(service.sli);
    let status = slo::availability_status(avail, obj);
    // "31 min left of 43 min"; overspent shows what was overspent.
    let minutes = |d: chrono::Duration| d.num_seconds() as f64 / 60.0;
    let note = match avail
        .and_then(|a| super::reliability::budget_time(a, obj, i.objectives.slo_window))
    {
        Some((left, allowed)) if left < chrono::Duration::zero() => {
            format!(
                "lowest {} · {:.0} min over {:.1}",
                service.name,
                -minutes(left),
                minutes(allowed)
            )
        }
        Some((left, allowed)) => format!(
            "lowest {} · {:.0} min left of {:.1}",
            service.name,
            minutes(left),
            minutes(allowed)
        ),
        None => format!("lowest {}", service.name),
    };
    Kpi {
        title: "Error budget left",
        value: Some(left),
        objective: None,
        unit: Unit::Percent(1),
        goal: Goal::AtLeast,
        status,
        note,
        trend: Vec::new(),
    }
}

/// Burn rate over the last hour; 14.4 pages, 6 opens a ticket (SRE workbook).
fn burn_kpi(i: &Inputs) -> Kpi {
    let obj = i.objectives.availability;
    let worst = i
        .services
        .iter()
        .filter_map(|s| burn_rate(s.error_ratio_1h, obj).map(|b| (s, b)))
        .max_by(|a, b| a.1.total_cmp(&b.1));
    let Some((service, rate)) = worst else {
        return unknown(
            "Burn rate 1h",
            Unit::Factor,
            Goal::Below,
            Some(6.0),
            "no error ratios",
        );
    };
    // The state is the workbook's multi-window alert across services; the
    // value shown is the highest one-hour rate.
    let states: Vec<(&ServiceHealth, Status)> = i
        .services
        .iter()
        .map(|s| (s, service_burn_status(s, obj)))
        .collect();
    let status = Status::worst(states.iter().map(|(_, st)| *st));
    let named = |wanted: Status| {
        states
            .iter()
            .filter(|(_, st)| *st == wanted)
            .map(|(s, _)| s.name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let note = match status {
        Status::Crit => format!("page: {}", named(Status::Crit)),
        Status::Warn => format!("ticket: {}", named(Status::Warn)),
        _ => format!("highest {}", service.name),
    };
    Kpi {
        title: "Burn rate 1h",
        value: Some(rate),
        objective: Some(6.0),
        unit: Unit::Factor,
        goal: Goal::Below,
        status,
        note,
        trend: Vec::new(),
    }
}

/// The worst latency among critical services.
fn latency_kpi(
    i: &Inputs,
    title: &'static str,
    pick: fn(&ServiceHealth) -> f64,
    objective: f64,
) -> Kpi {
    let critical: Vec<&ServiceHealth> = i
        .services
        .iter()
        .filter(|s| s.tier == Tier::Critical && pick(s).is_finite())
        .collect();
    let Some(worst) = critical.iter().max_by(|a, b| pick(a).total_cmp(&pick(b))) else {
        return unknown(
            title,
            Unit::Millis,
            Goal::Below,
            Some(objective),
            "no critical service reports latency",
        );
    };
    let value = pick(worst);
    // Over the objective is a warning, as on the Health tab; at the alert
    // threshold it is critical.
    let status = if value >= i.thresholds.latency_ms {
        Status::Crit
    } else if value > objective {
        Status::Warn
    } else {
        Status::Ok
    };
    Kpi {
        title,
        value: Some(value),
        objective: Some(objective),
        unit: Unit::Millis,
        goal: Goal::Below,
        status,
        note: format!("worst critical: {}", worst.name),
        trend: worst.latency_history.clone(),
    }
}

fn error_rate_kpi(i: &Inputs) -> Kpi {
    let (errors, requests) = i
        .services
        .iter()
        .filter(|s| s.requests_per_second.is_finite() && s.error_ratio.is_finite())
        .fold((0.0, 0.0), |(e, r), s| {
            (
                e + s.error_ratio * s.requests_per_second,
                r + s.requests_per_second,
            )
        });
    let obj = i.objectives.error_ratio;
    if !slo::positive(requests) {
        return unknown(
            "Error rate",
            Unit::Percent(3),
            Goal::Below,
            Some(obj),
            "no traffic",
        );
    }
    let value = errors / requests;
    let status = if value >= i.thresholds.error_ratio {
        Status::Crit
    } else if value > obj {
        Status::Warn
    } else {
        Status::Ok
    };
    let worst = i
        .services
        .iter()
        .max_by(|a, b| a.error_ratio.total_cmp(&b.error_ratio));
    let note = worst
        .map(|s| format!("highest {} {:.2}%", s.name, s.error_ratio * 100.0))
        .unwrap_or_default();
    Kpi {
        title: "Error rate",
        value: Some(value),
        objective: Some(obj),
        unit: Unit::Percent(3),
        goal: Goal::Below,
        status,
        note,
        trend: Vec::new(),
    }
}

fn mttr_kpi(i: &Inputs) -> Kpi {
    let obj = i.objectives.mttr;
    let objective = Some(obj.num_seconds() as f64);
    let Some(resolved) = i.resolved else {
        return unknown(
            "MTTR 30d",
            Unit::Seconds,
            Goal::Below,
            objective,
            "incident history not loaded yet",
        );
    };
    let window = i.objectives.slo_window;
    let Some(mttr) = slo::mttr(resolved, i.now, window) else {
        return unknown(
            "MTTR 30d",
            Unit::Seconds,
            Goal::Below,
            objective,
            "no incident resolved in the window",
        );
    };
    let secs = mttr.num_seconds() as f64;
    let count = resolved
        .iter()
        .filter(|r| i.now - r.resolved <= window)
        .count();
    let status = if mttr > obj {
        Status::Crit
    } else {
        level(secs, obj.num_seconds() as f64).min(Status::Warn)
    };
    Kpi {
        title: "MTTR 30d",
        value: Some(secs),
        objective,
        unit: Unit::Seconds,
        goal: Goal::Below,
        status,
        note: format!("{count} incidents resolved"),
        trend: Vec::new(),
    }
}

fn compliance(title: &'static str, judged: Vec<(&Backup, Status)>, what: &str) -> Kpi {
    let known: Vec<&(&Backup, Status)> = judged
        .iter()
        .filter(|(_, s)| *s != Status::Unknown)
        .collect();
    if known.is_empty() {
        return unknown(
            title,
            Unit::Percent(1),
            Goal::AtLeast,
            Some(1.0),
            &format!("no {what} data"),
        );
    }
    let within = known.iter().filter(|(_, s)| *s != Status::Crit).count();
    let status = Status::worst(judged.iter().map(|(_, s)| *s));
    let breaching: Vec<&str> = judged
        .iter()
        .filter(|(_, s)| *s == Status::Crit)
        .map(|(b, _)| b.target.as_str())
        .collect();
    let unknown_count = judged.len() - known.len();
    let mut note = if breaching.is_empty() {
        format!("{within}/{} within", known.len())
    } else {
        format!("breach: {}", breaching.join(", "))
    };
    if unknown_count > 0 {
        note.push_str(&format!(" · {unknown_count} untested"));
    }
    Kpi {
        title,
        value: Some(within as f64 / known.len() as f64),
        objective: Some(1.0),
        unit: Unit::Percent(1),
        goal: Goal::AtLeast,
        status,
        note,
        trend: Vec::new(),
    }
}

fn rpo_kpi(i: &Inputs) -> Kpi {
    let judged = i
        .backups
        .iter()
        .map(|b| {
            (
                b,
                slo::rpo_status(b.last_success, b.tier.objectives(), i.now).1,
            )
        })
        .collect();
    compliance("RPO compliance", judged, "backup")
}

fn rto_kpi(i: &Inputs) -> Kpi {
    let judged = i
        .backups
        .iter()
        .map(|b| (b, slo::rto_status(b, b.tier.objectives(), i.now)))
        .collect();
    compliance("RTO compliance", judged, "DR drill")
}

/// One service's standing against its SLO: its availability over the window
/// and its burn rate over the last hour, whichever is worse. A burn rate that
/// cannot be computed does not by itself mark the service.
pub fn service_slo_status(s: &ServiceHealth, objective: f64) -> Status {
    slo::availability_status(availability(s.sli), objective).max(service_burn_status(s, objective))
}

/// A service's burn state: the SRE workbook's multi-window alert (a page is
/// a breach, a ticket a warning); where its windows have no data, the
/// one-hour rate alone (14.4 and 6).
pub fn service_burn_status(s: &ServiceHealth, objective: f64) -> Status {
    use super::reliability::{BurnAlert, burn_alert};
    match burn_alert(&s.error_ratios.burn_rates(objective)) {
        BurnAlert::Page => Status::Crit,
        BurnAlert::Ticket => Status::Warn,
        BurnAlert::None => Status::Ok,
        BurnAlert::Unknown => {
            burn_rate(s.error_ratio_1h, objective).map_or(Status::Ok, burn_status)
        }
    }
}

/// Error-budget standing of one service, for the KPI tab's table.
pub fn budget_left(s: &ServiceHealth, objective: f64) -> Option<f64> {
    availability(s.sli).and_then(|a| error_budget_remaining(a, objective))
}

/// A one-hour burn rate at the SRE workbook's paging rate (14.4) is a
/// breach, at its ticket rate (6) a warning.
pub fn burn_status(rate: f64) -> Status {
    if rate >= 14.4 {
        Status::Crit
    } else if rate >= 6.0 {
        Status::Warn
    } else {
        Status::Ok
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::SliCounts;
    use chrono::TimeZone;

    fn svc(name: &str, tier: Tier, bad: f64, rps: f64, error_ratio: f64) -> ServiceHealth {
        ServiceHealth {
            name: name.into(),
            cluster: None,
            tier,
            team: "t".into(),
            requests_per_second: rps,
            error_ratio,
            latency_p95_ms: 120.0,
            latency_p99_ms: 400.0,
            saturation: 0.3,
            targets_up: 2,
            targets_total: 2,
            sli: SliCounts {
                good: rps * 1e4 * (1.0 - bad),
                total: rps * 1e4,
            },
            error_ratio_1h: error_ratio,
            error_ratios: Default::default(),
            traffic_history: vec![],
            latency_history: vec![1.0, 2.0],
        }
    }

    fn kpis(services: &[ServiceHealth], resolved: Option<&[ResolvedIncident]>) -> Vec<Kpi> {
        let now = Utc.with_ymd_and_hms(2026, 11, 22, 3, 0, 0).unwrap();
        compute(&Inputs {
            services,
            backups: &[],
            resolved,
            objectives: &Objectives::default(),
            thresholds: &Thresholds::default(),
            now,
        })
    }

    fn find<'a>(kpis: &'a [Kpi], title: &str) -> &'a Kpi {
        kpis.iter().find(|k| k.title == title).unwrap()
    }

    #[test]
    fn availability_is_the_worst_service_and_one_breach_is_a_breach() {
        let services = [
            svc("big", Tier::Critical, 0.0001, 10_000.0, 0.0001),
            svc("small", Tier::Standard, 0.002, 10.0, 0.0001),
        ];
        let k = kpis(&services, None);
        let a = find(&k, "Availability 30d");
        assert!((a.value.unwrap() - 0.998).abs() < 1e-9);
        assert_eq!(a.status, Status::Crit);
        assert!(a.note.contains("worst small"), "{}", a.note);
        let budget = find(&k, "Error budget left");
        // 0.2% bad over 30 days is 86.4 min against 43.2 allowed.
        assert!(
            budget.note.ends_with("small · 43 min over 43.2"),
            "{}",
            budget.note
        );
        assert!(
            (budget.value.unwrap() + 1.0).abs() < 1e-9,
            "spent twice over"
        );
    }

    #[test]
    fn the_error_rate_is_request_weighted() {
        let services = [
            svc("a", Tier::Critical, 0.0, 900.0, 0.0),
            svc("b", Tier::Critical, 0.0, 100.0, 0.01),
        ];
        let rate = find(&kpis(&services, None), "Error rate").value.unwrap();
        assert!((rate - 0.001).abs() < 1e-12);
    }

    #[test]
    fn without_data_every_kpi_is_unknown_with_a_reason_never_zero() {
        let k = kpis(&[], None);
        assert_eq!(k.len(), 9);
        for kpi in &k {
            assert_eq!(
                (kpi.value, kpi.status),
                (None, Status::Unknown),
                "{}",
                kpi.title
            );
            assert!(!kpi.note.is_empty(), "{} gives a reason", kpi.title);
        }
        assert_eq!(
            find(&kpis(&[], Some(&[])), "MTTR 30d").note,
            "no incident resolved in the window"
        );
    }

    #[test]
    fn burn_rates_page_at_14_4_and_ticket_at_6() {
        assert_eq!(burn_status(14.4), Status::Crit);
        assert_eq!(burn_status(6.0), Status::Warn);
        assert_eq!(burn_status(5.9), Status::Ok);
        let hot = [svc("hot", Tier::Critical, 0.0, 10.0, 0.02)];
        let burn = find(&kpis(&hot, None), "Burn rate 1h").clone();
        assert!((burn.value.unwrap() - 20.0).abs() < 1e-9);
        assert_eq!(burn.status, Status::Crit);
    }

    #[test]
    fn a_service_burns_by_the_workbooks_windows_and_falls_back_to_one_hour() {
        use crate::domain::reliability::ErrorRatios;
        let mut s = svc("checkout", Tier::Critical, 0.0, 100.0, 0.0);
        let all = |r: f64| ErrorRatios {
            m5: Some(r),
            m30: Some(r),
            h1: Some(r),
            h2: Some(r),
            h6: Some(r),
            d1: Some(r),
            d3: Some(r),
        };
        s.error_ratios = all(0.02); // burn 20: 1h and 5m over 14.4
        assert_eq!(service_burn_status(&s, 0.999), Status::Crit);
        s.error_ratios = all(0.004); // burn 4: 1d and 2h over 3
        assert_eq!(service_burn_status(&s, 0.999), Status::Warn);
        // The spike has passed (5m and 30m calm): no page, but 1d and 2h
        // still burn over 3, a ticket.
        s.error_ratios = ErrorRatios {
            m5: Some(0.0001),
            m30: Some(0.0001),
            ..all(0.02)
        };
        assert_eq!(
            service_burn_status(&s, 0.999),
            Status::Warn,
            "no page, but 1d/2h still ticket"
        );
        s.error_ratios = ErrorRatios::default();
        s.error_ratio_1h = 0.02;
        assert_eq!(
            service_burn_status(&s, 0.999),
            Status::Crit,
            "no windows: the one-hour rule"
        );
    }
}
