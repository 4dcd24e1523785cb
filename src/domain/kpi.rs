//! The executive KPIs: each a value against its objective with a state and,
//! when the value cannot be computed, the reason instead of a made-up number.
//! Each also names what makes it up (the services, targets or incidents) and
//! the queries it comes from, for the KPI tab's drill-down.

use chrono::{DateTime, Duration, Utc};

use super::reliability::{self, backup_success_rate, change_failure_rate, deploys_per_day};
use super::slo::{self, availability, burn_rate, error_budget_remaining, level};
use super::{
    Backup, Deployment, Objectives, ResolvedIncident, ServiceHealth, Status, Thresholds, Tier,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    /// 0..1 shown as a percentage with this many decimals.
    Percent(u8),
    Millis,
    Seconds,
    /// A multiple, such as a burn rate.
    Factor,
    /// A count per day, such as deployments.
    PerDay,
}

impl Unit {
    /// The unit's name in `opsdeck status --json`.
    pub fn json(self) -> &'static str {
        match self {
            Unit::Percent(_) => "ratio",
            Unit::Millis => "ms",
            Unit::Seconds => "seconds",
            Unit::Factor => "factor",
            Unit::PerDay => "per_day",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Kpi {
    /// Stable, for scripts: `availability`, `error_budget`, `burn_rate`,
    /// `error_rate`, `latency_p95`, `latency_p99`, `mttr`, `mtbf`, `rpo`,
    /// `rto`, `backup_success`, `deploy_frequency`, `change_failure_rate`.
    pub id: &'static str,
    /// For people: "Availability 30d", with the window in force.
    pub title: String,
    pub value: Option<f64>,
    pub objective: Option<f64>,
    pub unit: Unit,
    /// Whether the objective is a floor (availability) or a ceiling (latency).
    pub goal: Goal,
    pub status: Status,
    /// The worst contributor, or why the value is unknown.
    pub note: String,
    /// Recent values, oldest first (filled by the app from what it saw).
    pub trend: Vec<f64>,
    /// What the number is made of, worst first.
    pub parts: Vec<Part>,
    /// The named queries (docs/metrics.md) it comes from.
    pub queries: &'static [&'static str],
}

/// One contributor to a KPI: a service, a backup target, a deployment or an
/// incident, with its own value and state.
#[derive(Debug, Clone, PartialEq)]
pub struct Part {
    pub name: String,
    pub value: Option<f64>,
    pub unit: Unit,
    pub status: Status,
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
    pub deployments: Option<&'a [Deployment]>,
    pub resolved: Option<&'a [ResolvedIncident]>,
    pub objectives: &'a Objectives,
    pub thresholds: &'a Thresholds,
    pub now: DateTime<Utc>,
}

/// A window as people write it: "30d", "12h", "90m".
pub fn span(window: Duration) -> String {
    let s = window.num_seconds();
    match s {
        s if s >= 86_400 && s % 86_400 == 0 => format!("{}d", s / 86_400),
        s if s >= 3600 && s % 3600 == 0 => format!("{}h", s / 3600),
        s => format!("{}m", s / 60),
    }
}

/// A KPI's fixed description: everything but what the data says.
struct Spec {
    id: &'static str,
    title: String,
    unit: Unit,
    goal: Goal,
    objective: Option<f64>,
    queries: &'static [&'static str],
}

impl Spec {
    fn new(id: &'static str, title: impl Into<String>, unit: Unit, goal: Goal) -> Spec {
        Spec {
            id,
            title: title.into(),
            unit,
            goal,
            objective: None,
            queries: &[],
        }
    }

    fn objective(self, objective: f64) -> Spec {
        Spec {
            objective: Some(objective),
            ..self
        }
    }

    fn queries(self, queries: &'static [&'static str]) -> Spec {
        Spec { queries, ..self }
    }

    fn unknown(self, why: &str) -> Kpi {
        self.known(None, Status::Unknown, why.to_string(), Vec::new())
    }

    fn known(self, value: Option<f64>, status: Status, note: String, parts: Vec<Part>) -> Kpi {
        Kpi {
            id: self.id,
            title: self.title,
            value,
            objective: self.objective,
            unit: self.unit,
            goal: self.goal,
            status,
            note,
            trend: Vec::new(),
            parts,
            queries: self.queries,
        }
    }
}

fn part(name: &str, value: Option<f64>, unit: Unit, status: Status) -> Part {
    Part {
        name: name.to_string(),
        value,
        unit,
        status,
    }
}

/// Worst state first, then by `key` (higher first).
fn worst_first(parts: &mut [Part], key: impl Fn(&Part) -> f64) {
    parts.sort_by(|a, b| {
        b.status
            .cmp(&a.status)
            .then(key(b).total_cmp(&key(a)))
            .then(a.name.cmp(&b.name))
    });
}

pub fn compute(i: &Inputs) -> Vec<Kpi> {
    vec![
        availability_kpi(i),
        budget_kpi(i),
        burn_kpi(i),
        error_rate_kpi(i),
        latency_kpi(i, Quantile::P95),
        latency_kpi(i, Quantile::P99),
        mttr_kpi(i),
        mtbf_kpi(i),
        rpo_kpi(i),
        rto_kpi(i),
        backup_success_kpi(i),
        deploy_frequency_kpi(i),
        change_failure_kpi(i),
    ]
}

/// Services with traffic, each with its availability over the SLO window.
fn availabilities<'a>(i: &'a Inputs) -> impl Iterator<Item = (&'a ServiceHealth, f64)> + 'a {
    i.services
        .iter()
        .filter_map(|s| availability(s.sli).map(|a| (s, a)))
}

const SLI_QUERIES: &[&str] = &["requests_window", "errors_window"];

/// The worst service's availability: an SLA is per service, so one service
/// below its objective is a breach however good the estate's total looks.
/// The request-weighted estate figure goes in the note.
fn availability_kpi(i: &Inputs) -> Kpi {
    let obj = i.objectives.availability;
    let spec = Spec::new(
        "availability",
        format!("Availability {}", span(i.objectives.slo_window)),
        Unit::Percent(3),
        Goal::AtLeast,
    )
    .objective(obj)
    .queries(SLI_QUERIES);
    let (good, total) = i
        .services
        .iter()
        .filter(|s| availability(s.sli).is_some())
        .fold((0.0, 0.0), |(g, t), s| (g + s.sli.good, t + s.sli.total));
    let (Some(estate), Some((worst, value))) = (
        availability(super::SliCounts { good, total }),
        availabilities(i).min_by(|a, b| a.1.total_cmp(&b.1)),
    ) else {
        return spec.unknown("no request counts");
    };
    let below = availabilities(i).filter(|(_, a)| *a < obj).count();
    let mut note = format!("worst {} · estate {:.3}%", worst.name, estate * 100.0);
    if below > 1 {
        note.push_str(&format!(" · {below} below"));
    }
    let mut parts: Vec<Part> = availabilities(i)
        .map(|(s, a)| {
            let status = slo::availability_status(Some(a), obj);
            part(&s.name, Some(a), Unit::Percent(3), status)
        })
        .collect();
    worst_first(&mut parts, |p| -p.value.unwrap_or(1.0));
    let status = slo::availability_status(Some(value), obj);
    spec.known(Some(value), status, note, parts)
}

fn budget_kpi(i: &Inputs) -> Kpi {
    let obj = i.objectives.availability;
    let spec = Spec::new(
        "error_budget",
        "Error budget left",
        Unit::Percent(1),
        Goal::AtLeast,
    )
    .queries(SLI_QUERIES);
    let mut parts: Vec<Part> = availabilities(i)
        .filter_map(|(s, a)| {
            let left = error_budget_remaining(a, obj)?;
            let status = slo::availability_status(Some(a), obj);
            Some(part(&s.name, Some(left), Unit::Percent(1), status))
        })
        .collect();
    worst_first(&mut parts, |p| -p.value.unwrap_or(1.0));
    let Some(lowest) = parts.first() else {
        return spec.unknown("no request counts");
    };
    let service = i.services.iter().find(|s| s.name == lowest.name);
    let avail = service.and_then(|s| availability(s.sli));
    // "31 min left of 43 min"; overspent shows what was overspent.
    let minutes = |d: Duration| d.num_seconds() as f64 / 60.0;
    let name = &lowest.name;
    let note = match avail.and_then(|a| reliability::budget_time(a, obj, i.objectives.slo_window)) {
        Some((left, allowed)) if lowest.value.is_some_and(|v| v < 0.0) => format!(
            "lowest {name} · {:.0} min over {:.1}",
            -minutes(left),
            minutes(allowed)
        ),
        Some((left, allowed)) => format!(
            "lowest {name} · {:.0} min left of {:.1}",
            minutes(left),
            minutes(allowed)
        ),
        None => format!("lowest {name}"),
    };
    let (value, status) = (lowest.value, lowest.status);
    spec.known(value, status, note, parts)
}

const BURN_QUERIES: &[&str] = &[
    "error_ratio_5m",
    "error_ratio_30m",
    "error_ratio_1h",
    "error_ratio_2h",
    "error_ratio_6h",
    "error_ratio_1d",
    "error_ratio_3d",
    "requests_1h",
    "errors_1h",
];

/// Burn rate over the last hour; the state is the SRE workbook's
/// multi-window alert across services (a page is a breach, a ticket a
/// warning), and the value shown is the highest one-hour rate.
fn burn_kpi(i: &Inputs) -> Kpi {
    let obj = i.objectives.availability;
    let spec = Spec::new("burn_rate", "Burn rate 1h", Unit::Factor, Goal::Below)
        .objective(6.0)
        .queries(BURN_QUERIES);
    // Every service with a rate or a state to show: one whose workbook
    // windows page is named even when its one-hour rate is missing.
    let mut parts: Vec<Part> = i
        .services
        .iter()
        .filter_map(|s| {
            let (rate, status) = (burn_1h(s, obj), service_burn_status(s, obj));
            (rate.is_some() || matches!(status, Status::Warn | Status::Crit))
                .then(|| part(&s.name, rate, Unit::Factor, status))
        })
        .collect();
    worst_first(&mut parts, |p| p.value.unwrap_or(0.0));
    let Some(highest) = parts
        .iter()
        .max_by(|a, b| a.value.unwrap_or(0.0).total_cmp(&b.value.unwrap_or(0.0)))
    else {
        return spec.unknown("no error ratios");
    };
    let status = Status::worst(i.services.iter().map(|s| service_burn_status(s, obj)));
    let named = |wanted: Status| {
        parts
            .iter()
            .filter(|p| p.status == wanted)
            .map(|p| p.name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let note = match status {
        Status::Crit => format!("page: {}", named(Status::Crit)),
        Status::Warn => format!("ticket: {}", named(Status::Warn)),
        _ => format!("highest {}", highest.name),
    };
    let value = highest.value;
    spec.known(value, status, note, parts)
}

#[derive(Clone, Copy)]
enum Quantile {
    P95,
    P99,
}

/// The worst latency among critical services: over the objective is a
/// warning, as on the Health tab; at the alert threshold it is critical.
fn latency_kpi(i: &Inputs, q: Quantile) -> Kpi {
    let (spec, pick, objective): (Spec, fn(&ServiceHealth) -> f64, f64) = match q {
        Quantile::P95 => (
            Spec::new("latency_p95", "p95 latency", Unit::Millis, Goal::Below)
                .queries(&["latency_p95"]),
            |s| s.latency_p95_ms,
            i.objectives.latency_p95_ms,
        ),
        Quantile::P99 => (
            Spec::new("latency_p99", "p99 latency", Unit::Millis, Goal::Below)
                .queries(&["latency_p99"]),
            |s| s.latency_p99_ms,
            i.thresholds.latency_ms,
        ),
    };
    let spec = spec.objective(objective);
    let status = |value: f64| {
        if value >= i.thresholds.latency_ms {
            Status::Crit
        } else if value > objective {
            Status::Warn
        } else {
            Status::Ok
        }
    };
    let mut parts: Vec<Part> = i
        .services
        .iter()
        .filter(|s| s.tier == Tier::Critical && pick(s).is_finite())
        .map(|s| part(&s.name, Some(pick(s)), Unit::Millis, status(pick(s))))
        .collect();
    worst_first(&mut parts, |p| p.value.unwrap_or(0.0));
    let Some(worst) = parts.first() else {
        return spec.unknown("no critical service reports latency");
    };
    let (value, state) = (worst.value, worst.status);
    let note = format!("worst critical: {}", worst.name);
    spec.known(value, state, note, parts)
}

/// Errors ÷ requests across the estate, now (5 minutes), request-weighted.
fn error_rate_kpi(i: &Inputs) -> Kpi {
    let obj = i.objectives.error_ratio;
    let spec = Spec::new("error_rate", "Error rate", Unit::Percent(3), Goal::Below)
        .objective(obj)
        .queries(&["requests", "errors"]);
    let status = |value: f64| {
        if value >= i.thresholds.error_ratio {
            Status::Crit
        } else if value > obj {
            Status::Warn
        } else {
            Status::Ok
        }
    };
    let counted: Vec<&ServiceHealth> = i
        .services
        .iter()
        .filter(|s| {
            s.requests_per_second.is_finite()
                && s.requests_per_second >= 0.0
                && (0.0..=1.0).contains(&s.error_ratio)
        })
        .collect();
    let (errors, requests) = counted.iter().fold((0.0, 0.0), |(e, r), s| {
        (
            e + s.error_ratio * s.requests_per_second,
            r + s.requests_per_second,
        )
    });
    if !slo::positive(requests) {
        return spec.unknown("no traffic");
    }
    let value = errors / requests;
    if !value.is_finite() {
        return spec.unknown("request rates too large to add up");
    }
    let mut parts: Vec<Part> = counted
        .iter()
        .filter(|s| slo::positive(s.requests_per_second))
        .map(|s| {
            let status = status(s.error_ratio);
            part(&s.name, Some(s.error_ratio), Unit::Percent(3), status)
        })
        .collect();
    worst_first(&mut parts, |p| p.value.unwrap_or(0.0));
    let note = parts
        .first()
        .map(|p| format!("highest {} {:.2}%", p.name, p.value.unwrap_or(0.0) * 100.0))
        .unwrap_or_default();
    spec.known(Some(value), status(value), note, parts)
}

/// The incidents resolved inside the window, longest first, as parts.
fn incident_parts(resolved: &[&ResolvedIncident], objective: Duration) -> Vec<Part> {
    let mut parts: Vec<Part> = resolved
        .iter()
        .map(|r| {
            let took = r.resolved - r.started;
            let status = if took > objective {
                Status::Warn
            } else {
                Status::Ok
            };
            part(
                &format!("{} UTC", r.started.format("%Y-%m-%d %H:%M")),
                Some(took.num_seconds() as f64),
                Unit::Seconds,
                status,
            )
        })
        .collect();
    worst_first(&mut parts, |p| p.value.unwrap_or(0.0));
    parts
}

fn in_window<'a>(i: &Inputs, resolved: &'a [ResolvedIncident]) -> Vec<&'a ResolvedIncident> {
    let window = i.objectives.slo_window;
    resolved
        .iter()
        .filter(|r| r.resolved <= i.now && i.now - r.resolved <= window && r.resolved >= r.started)
        .collect()
}

/// Mean time to restore (also DORA's time to restore): see `slo::mttr`.
fn mttr_kpi(i: &Inputs) -> Kpi {
    let obj = i.objectives.mttr;
    let spec = Spec::new(
        "mttr",
        format!("MTTR {}", span(i.objectives.slo_window)),
        Unit::Seconds,
        Goal::Below,
    )
    .objective(obj.num_seconds() as f64)
    .queries(&["alerts_firing"]);
    let Some(resolved) = i.resolved else {
        return spec.unknown("incident history not loaded yet");
    };
    let Some(mttr) = slo::mttr(resolved, i.now, i.objectives.slo_window) else {
        return spec.unknown("no incident resolved in the window");
    };
    let inside = in_window(i, resolved);
    let secs = mttr.num_seconds() as f64;
    let status = if mttr > obj {
        Status::Crit
    } else {
        level(secs, obj.num_seconds() as f64).min(Status::Warn)
    };
    let note = format!("{} incidents resolved", inside.len());
    spec.known(Some(secs), status, note, incident_parts(&inside, obj))
}

/// Mean time between failures: see `reliability::mtbf`. No objective: it is
/// shown for the trend.
fn mtbf_kpi(i: &Inputs) -> Kpi {
    let spec = Spec::new(
        "mtbf",
        format!("MTBF {}", span(i.objectives.slo_window)),
        Unit::Seconds,
        Goal::AtLeast,
    )
    .queries(&["alerts_firing"]);
    let Some(resolved) = i.resolved else {
        return spec.unknown("incident history not loaded yet");
    };
    let inside = in_window(i, resolved);
    let owned: Vec<ResolvedIncident> = inside.iter().map(|r| **r).collect();
    let Some(mtbf) = reliability::mtbf(&owned) else {
        return spec.unknown("fewer than two incidents in the window");
    };
    let note = format!("{} incidents in the window", inside.len());
    let parts = incident_parts(&inside, i.objectives.mttr);
    spec.known(Some(mtbf.num_seconds() as f64), Status::Ok, note, parts)
}

/// The share of targets within their tier's objective.
fn compliance(spec: Spec, judged: Vec<(&Backup, Option<f64>, Status)>, what: &str) -> Kpi {
    let known = judged
        .iter()
        .filter(|(_, _, s)| *s != Status::Unknown)
        .count();
    if known == 0 {
        return spec.unknown(&format!("no {what} data"));
    }
    let within = judged
        .iter()
        .filter(|(_, _, s)| !matches!(s, Status::Unknown | Status::Crit))
        .count();
    let status = Status::worst(judged.iter().map(|(_, _, s)| *s));
    let mut parts: Vec<Part> = judged
        .iter()
        .map(|(b, v, s)| part(&b.target, *v, Unit::Seconds, *s))
        .collect();
    worst_first(&mut parts, |p| p.value.unwrap_or(0.0));
    let breaching: Vec<&str> = parts
        .iter()
        .filter(|p| p.status == Status::Crit)
        .map(|p| p.name.as_str())
        .collect();
    let mut note = if breaching.is_empty() {
        format!("{within}/{known} within")
    } else {
        format!("breach: {}", breaching.join(", "))
    };
    let untested = judged.len() - known;
    if untested > 0 {
        note.push_str(&format!(" · {untested} untested"));
    }
    spec.known(Some(within as f64 / known as f64), status, note, parts)
}

/// The share of targets whose last success is within the tier's RPO; each
/// part is the age of the target's last success.
fn rpo_kpi(i: &Inputs) -> Kpi {
    let spec = Spec::new("rpo", "RPO compliance", Unit::Percent(1), Goal::AtLeast)
        .objective(1.0)
        .queries(&["backup_last_success", "velero_last_success"]);
    let judged = i
        .backups
        .iter()
        .map(|b| {
            let (age, status) = slo::rpo_status(b.last_success, b.tier.objectives(), i.now);
            (b, age.map(|a| a.num_seconds() as f64), status)
        })
        .collect();
    compliance(spec, judged, "backup")
}

/// The share of drilled targets whose last measured RTO is within the
/// tier's; each part is the measured RTO.
fn rto_kpi(i: &Inputs) -> Kpi {
    let spec = Spec::new("rto", "RTO compliance", Unit::Percent(1), Goal::AtLeast)
        .objective(1.0)
        .queries(&["drill_timestamp", "drill_rto"]);
    let judged = i
        .backups
        .iter()
        .map(|b| {
            let rto = b.last_drill.map(|d| d.measured_rto.num_seconds() as f64);
            (b, rto, slo::rto_status(b, b.tier.objectives(), i.now))
        })
        .collect();
    compliance(spec, judged, "DR drill")
}

/// Backup runs that succeeded ÷ runs over the window, every target together,
/// against the objective (99.9%) as an error budget: see
/// `reliability::backup_success_rate`.
fn backup_success_kpi(i: &Inputs) -> Kpi {
    let obj = i.objectives.backup_success;
    let spec = Spec::new(
        "backup_success",
        "Backup success",
        Unit::Percent(2),
        Goal::AtLeast,
    )
    .objective(obj)
    .queries(&["backup_successes_window", "backup_failures_window"]);
    let counted: Vec<(&Backup, super::RunCounts)> = i
        .backups
        .iter()
        .filter_map(|b| b.runs.map(|r| (b, r)))
        .collect();
    // Saturating: a garbage counter must not wrap the sum around.
    let (succeeded, attempted) = counted.iter().fold((0u64, 0u64), |(s, a), (_, r)| {
        (
            s.saturating_add(r.succeeded),
            a.saturating_add(r.attempted()),
        )
    });
    let Some(rate) = backup_success_rate(succeeded, attempted) else {
        return spec.unknown("no backup runs counted in the window");
    };
    let mut parts: Vec<Part> = counted
        .iter()
        .filter_map(|(b, r)| {
            let rate = backup_success_rate(r.succeeded, r.attempted())?;
            let status = slo::availability_status(Some(rate), obj);
            Some(part(&b.target, Some(rate), Unit::Percent(2), status))
        })
        .collect();
    worst_first(&mut parts, |p| -p.value.unwrap_or(1.0));
    let failed = attempted - succeeded;
    let mut note = format!("{failed}/{attempted} runs failed");
    if let Some(worst) = parts.first().filter(|p| p.status != Status::Ok) {
        note.push_str(&format!(" · worst {}", worst.name));
    }
    let status = slo::availability_status(Some(rate), obj);
    spec.known(Some(rate), status, note, parts)
}

/// Deployments that counted their window's changes.
fn counted<'a>(i: &Inputs<'a>) -> Vec<(&'a Deployment, super::ChangeCounts)> {
    i.deployments
        .unwrap_or(&[])
        .iter()
        .filter_map(|d| d.window.map(|w| (d, w)))
        .collect()
}

fn deployment_name(d: &Deployment) -> String {
    format!("{}/{}", d.environment, d.service)
}

/// DORA deployment frequency: every deployment in the window ÷ its days
/// (`reliability::deploys_per_day`). No objective: more is not better by
/// itself, so it is always `ok` once known.
fn deploy_frequency_kpi(i: &Inputs) -> Kpi {
    let window = i.objectives.slo_window;
    let spec = Spec::new(
        "deploy_frequency",
        format!("Deploys/day {}", span(window)),
        Unit::PerDay,
        Goal::AtLeast,
    )
    .queries(&["deployments_window"]);
    let counted = counted(i);
    if counted.is_empty() {
        return spec.unknown("no deployment counts");
    }
    let total = counted
        .iter()
        .fold(0u64, |sum, (_, w)| sum.saturating_add(w.deploys));
    let Some(rate) = deploys_per_day(total, window) else {
        return spec.unknown("the window is empty");
    };
    let mut parts: Vec<Part> = counted
        .iter()
        .map(|(d, w)| {
            let rate = deploys_per_day(w.deploys, window);
            part(&deployment_name(d), rate, Unit::PerDay, Status::Ok)
        })
        .collect();
    worst_first(&mut parts, |p| p.value.unwrap_or(0.0));
    let note = format!("{total} deploys by {} services", counted.len());
    spec.known(Some(rate), Status::Ok, note, parts)
}

/// DORA change failure rate: rollbacks ÷ deployments over the window
/// (`reliability::change_failure_rate`); over the objective (15%) is a
/// warning, over twice it a breach.
fn change_failure_kpi(i: &Inputs) -> Kpi {
    let obj = i.objectives.change_failure_rate;
    let spec = Spec::new(
        "change_failure_rate",
        "Change failure rate",
        Unit::Percent(1),
        Goal::Below,
    )
    .objective(obj)
    .queries(&["deployments_window", "rollbacks_window"]);
    let status = |rate: f64| {
        if rate > 2.0 * obj {
            Status::Crit
        } else if rate > obj {
            Status::Warn
        } else {
            Status::Ok
        }
    };
    let counted: Vec<(&Deployment, u64, u64)> = counted(i)
        .into_iter()
        .filter_map(|(d, w)| Some((d, w.deploys, w.rollbacks?)))
        .collect();
    let (rollbacks, deploys) = counted.iter().fold((0u64, 0u64), |(r, d), (_, dep, rb)| {
        // A pipeline cannot roll back more than it deployed.
        (r.saturating_add(*rb.min(dep)), d.saturating_add(*dep))
    });
    if counted.is_empty() {
        return spec.unknown("no rollback counts");
    }
    let Some(rate) = change_failure_rate(rollbacks, deploys) else {
        return spec.unknown("no deployments in the window");
    };
    let mut parts: Vec<Part> = counted
        .iter()
        .filter_map(|(d, dep, rb)| {
            let rate = change_failure_rate(*rb, *dep)?;
            Some(part(
                &deployment_name(d),
                Some(rate),
                Unit::Percent(1),
                status(rate),
            ))
        })
        .collect();
    worst_first(&mut parts, |p| p.value.unwrap_or(0.0));
    let note = format!("{rollbacks} rollbacks of {deploys} deploys");
    spec.known(Some(rate), status(rate), note, parts)
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

/// A service's burn rate over the last hour: from its one-hour counters,
/// else from its one-hour error ratio (the workbook's 1h window).
pub fn burn_1h(s: &ServiceHealth, objective: f64) -> Option<f64> {
    burn_rate(s.error_ratio_1h, objective)
        .or_else(|| s.error_ratios.h1.and_then(|r| burn_rate(r, objective)))
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
            deployments: None,
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
        assert_eq!(k.len(), 13);
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

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 22, 3, 0, 0).unwrap()
    }

    /// The KPIs of an estate without services: backups, deployments, incidents.
    fn estate(
        backups: &[Backup],
        deployments: Option<&[Deployment]>,
        resolved: Option<&[ResolvedIncident]>,
    ) -> Vec<Kpi> {
        compute(&Inputs {
            services: &[],
            backups,
            deployments,
            resolved,
            objectives: &Objectives::default(),
            thresholds: &Thresholds::default(),
            now: now(),
        })
    }

    fn by_id<'a>(kpis: &'a [Kpi], id: &str) -> &'a Kpi {
        kpis.iter().find(|k| k.id == id).unwrap()
    }

    fn deployment(service: &str, window: Option<crate::domain::ChangeCounts>) -> Deployment {
        Deployment {
            service: service.into(),
            environment: "prod".into(),
            version: "v2".into(),
            previous_version: Some("v1".into()),
            strategy: crate::domain::Strategy::Rolling {
                updated: 3,
                total: 3,
            },
            phase: crate::domain::Phase::Complete,
            deployed_at: None,
            rollbacks: 0,
            history: vec![],
            window,
        }
    }

    fn counted(service: &str, deploys: u64, rollbacks: Option<u64>) -> Deployment {
        deployment(
            service,
            Some(crate::domain::ChangeCounts { deploys, rollbacks }),
        )
    }

    fn backup(target: &str, runs: Option<(u64, u64)>) -> Backup {
        Backup {
            target: target.into(),
            tier: Tier::Standard,
            last_success: Some(now() - Duration::minutes(10)),
            size_bytes: 1e9,
            duration: Duration::minutes(3),
            last_verified: None,
            last_drill: None,
            runs: runs.map(|(succeeded, failed)| crate::domain::RunCounts { succeeded, failed }),
        }
    }

    fn changes(deployments: &[Deployment]) -> Kpi {
        by_id(&estate(&[], Some(deployments), None), "change_failure_rate").clone()
    }

    fn backup_success(backups: &[Backup]) -> Kpi {
        by_id(&estate(backups, None, None), "backup_success").clone()
    }

    #[test]
    fn sixty_deploys_over_a_30_day_window_are_two_a_day() {
        let deployments = [counted("api", 45, Some(0)), counted("web", 15, None)];
        let k = estate(&[], Some(&deployments), None);
        let freq = by_id(&k, "deploy_frequency");
        assert_eq!(freq.title, "Deploys/day 30d");
        assert_eq!((freq.value, freq.status), (Some(2.0), Status::Ok));
        assert_eq!(freq.note, "60 deploys by 2 services");
        let parts: Vec<_> = freq
            .parts
            .iter()
            .map(|p| (p.name.as_str(), p.value))
            .collect();
        assert_eq!(parts, [("prod/api", Some(1.5)), ("prod/web", Some(0.5))]);
    }

    #[test]
    fn deploy_frequency_is_unknown_without_deployment_counts() {
        let uncounted = [deployment("api", None), deployment("web", None)];
        for deployments in [Some(&uncounted[..]), Some(&[][..]), None] {
            let k = estate(&[], deployments, None);
            let freq = by_id(&k, "deploy_frequency");
            assert_eq!((freq.value, freq.status), (None, Status::Unknown));
            assert_eq!(freq.note, "no deployment counts");
        }
    }

    #[test]
    fn a_counted_window_without_deploys_is_zero_a_day_not_unknown() {
        let k = estate(&[], Some(&[counted("api", 0, Some(0))]), None);
        let freq = by_id(&k, "deploy_frequency");
        assert_eq!((freq.value, freq.status), (Some(0.0), Status::Ok));
    }

    #[test]
    fn change_failure_rate_is_ok_at_5_percent_warns_over_15_and_breaches_over_30() {
        let ok = changes(&[counted("api", 60, Some(3))]);
        assert_eq!((ok.value, ok.status), (Some(0.05), Status::Ok));
        assert_eq!(ok.note, "3 rollbacks of 60 deploys");
        let warn = changes(&[counted("api", 60, Some(12))]);
        assert_eq!((warn.value, warn.status), (Some(0.2), Status::Warn));
        let crit = changes(&[counted("api", 60, Some(24))]);
        assert_eq!((crit.value, crit.status), (Some(0.4), Status::Crit));
    }

    #[test]
    fn change_failure_rate_at_the_objective_is_ok_and_at_twice_it_a_warning() {
        // "Over" the objective, not "at": 9/60 is exactly 15%, 18/60 exactly 30%.
        assert_eq!(changes(&[counted("api", 60, Some(9))]).status, Status::Ok);
        assert_eq!(
            changes(&[counted("api", 60, Some(18))]).status,
            Status::Warn
        );
    }

    #[test]
    fn change_failure_rate_counts_only_deployments_with_a_rollback_counter() {
        // api has no rollback counter: its 60 deploys must not dilute web's 10%.
        let k = changes(&[counted("api", 60, None), counted("web", 20, Some(2))]);
        assert_eq!((k.value, k.status), (Some(0.1), Status::Ok));
        assert_eq!(k.note, "2 rollbacks of 20 deploys");
        let names: Vec<_> = k.parts.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["prod/web"]);
    }

    #[test]
    fn change_failure_parts_are_worst_first() {
        let k = changes(&[
            counted("calm", 60, Some(3)),
            counted("shaky", 10, Some(5)),
            counted("wobbly", 10, Some(2)),
        ]);
        let parts: Vec<_> = k
            .parts
            .iter()
            .map(|p| (p.name.as_str(), p.status))
            .collect();
        assert_eq!(
            parts,
            [
                ("prod/shaky", Status::Crit),
                ("prod/wobbly", Status::Warn),
                ("prod/calm", Status::Ok)
            ]
        );
        // 10 of 80 = 12.5%: the estate is fine though one pipeline is not.
        assert_eq!((k.value, k.status), (Some(0.125), Status::Ok));
    }

    #[test]
    fn change_failure_rate_is_unknown_without_rollback_counts_or_deploys() {
        let without_counter = changes(&[counted("api", 60, None)]);
        assert_eq!(
            (without_counter.value, without_counter.status),
            (None, Status::Unknown)
        );
        assert_eq!(without_counter.note, "no rollback counts");
        let uncounted = changes(&[deployment("api", None)]);
        assert_eq!(uncounted.note, "no rollback counts");
        let quiet = changes(&[counted("api", 0, Some(0))]);
        assert_eq!((quiet.value, quiet.status), (None, Status::Unknown));
        assert_eq!(quiet.note, "no deployments in the window");
    }

    #[test]
    fn backups_999_of_1000_are_99_9_percent_with_the_budget_just_spent() {
        let k = backup_success(&[backup("orders-db", Some((999, 1)))]);
        assert_eq!(k.value, Some(0.999));
        // As an error budget: at the objective nothing is left, which warns
        // (under a quarter left) but is not yet a breach.
        assert_eq!(k.status, Status::Warn);
        assert_eq!(k.note, "1/1000 runs failed · worst orders-db");
    }

    #[test]
    fn backup_success_is_judged_as_an_error_budget() {
        // (succeeded, failed) → state: budget left 100%, 60%, 20%, overspent.
        let cases = [
            ((1000, 0), Status::Ok),
            ((9996, 4), Status::Ok),
            ((9992, 8), Status::Warn),
            ((998, 2), Status::Crit),
        ];
        for (runs, expected) in cases {
            let k = backup_success(&[backup("orders-db", Some(runs))]);
            assert_eq!(k.status, expected, "{runs:?}");
        }
        let clean = backup_success(&[backup("orders-db", Some((1000, 0)))]);
        assert_eq!(clean.note, "0/1000 runs failed", "no worst when all are ok");
    }

    #[test]
    fn backup_success_pools_every_targets_runs_and_names_the_worst() {
        let k = backup_success(&[
            backup("orders-db", Some((500, 0))),
            backup("media", Some((497, 3))),
            backup("uncounted", None),
        ]);
        assert_eq!((k.value, k.status), (Some(0.997), Status::Crit));
        assert_eq!(k.note, "3/1000 runs failed · worst media");
        let parts: Vec<_> = k
            .parts
            .iter()
            .map(|p| (p.name.as_str(), p.status))
            .collect();
        assert_eq!(
            parts,
            [("media", Status::Crit), ("orders-db", Status::Ok)],
            "targets without counts are not parts"
        );
    }

    #[test]
    fn backup_success_is_unknown_without_run_counts() {
        for backups in [
            vec![backup("orders-db", None)],
            vec![backup("orders-db", Some((0, 0)))],
            vec![],
        ] {
            let k = backup_success(&backups);
            assert_eq!((k.value, k.status), (None, Status::Unknown));
            assert_eq!(k.note, "no backup runs counted in the window");
        }
    }

    fn incident(days_ago: i64) -> ResolvedIncident {
        let started = now() - Duration::days(days_ago);
        ResolvedIncident {
            started,
            resolved: started + Duration::minutes(20),
        }
    }

    #[test]
    fn mtbf_counts_only_incidents_resolved_inside_the_window() {
        // Starts 10, 4 and 1 days ago: gaps of 6 and 3 days. The one 50 days
        // ago is outside the 30-day window; counted, the mean would be 16 days.
        let resolved = [incident(4), incident(50), incident(10), incident(1)];
        let k = estate(&[], None, Some(&resolved));
        let mtbf = by_id(&k, "mtbf");
        let hours = Duration::hours(108).num_seconds() as f64;
        assert_eq!((mtbf.value, mtbf.status), (Some(hours), Status::Ok));
        assert_eq!(mtbf.note, "3 incidents in the window");
        assert_eq!(mtbf.parts.len(), 3);
    }

    #[test]
    fn mtbf_is_unknown_with_fewer_than_two_incidents_in_the_window() {
        for resolved in [&[][..], &[incident(3)], &[incident(3), incident(45)]] {
            let k = estate(&[], None, Some(resolved));
            let mtbf = by_id(&k, "mtbf");
            assert_eq!((mtbf.value, mtbf.status), (None, Status::Unknown));
            assert_eq!(mtbf.note, "fewer than two incidents in the window");
        }
        let k = estate(&[], None, None);
        assert_eq!(by_id(&k, "mtbf").note, "incident history not loaded yet");
    }

    #[test]
    fn zero_traffic_leaves_the_request_kpis_unknown_with_reasons() {
        // What Prometheus answers for a service nobody calls: 0 requests,
        // and error ratios of 0/0.
        let mut idle = svc("idle", Tier::Critical, 0.0, 0.0, f64::NAN);
        idle.sli = SliCounts::default();
        let k = kpis(&[idle], None);
        let reasons = [
            ("availability", "no request counts"),
            ("error_budget", "no request counts"),
            ("burn_rate", "no error ratios"),
            ("error_rate", "no traffic"),
        ];
        for (id, why) in reasons {
            let kpi = by_id(&k, id);
            assert_eq!(
                (kpi.value, kpi.status, kpi.note.as_str()),
                (None, Status::Unknown, why)
            );
        }
        assert_eq!(
            by_id(&k, "latency_p95").value,
            Some(120.0),
            "latency is still known"
        );
    }

    #[test]
    fn a_service_with_missing_series_does_not_hide_the_others_availability() {
        let mut missing = svc("missing", Tier::Critical, 0.0, 10.0, 0.0);
        missing.sli.good = f64::NAN;
        let services = [svc("fine", Tier::Critical, 0.0002, 100.0, 0.0), missing];
        let k = kpis(&services, None);
        let a = by_id(&k, "availability");
        assert_eq!(
            (a.status, a.note.as_str() != "no request counts"),
            (Status::Ok, true)
        );
        assert!((a.value.unwrap() - 0.9998).abs() < 1e-12, "{:?}", a.value);
        assert!(
            a.note.starts_with("worst fine · estate 99.980%"),
            "{}",
            a.note
        );
    }

    #[test]
    fn nan_everywhere_makes_every_service_kpi_unknown_with_a_reason() {
        let nan = f64::NAN;
        let mut s = svc("blind", Tier::Critical, nan, nan, nan);
        (s.latency_p95_ms, s.latency_p99_ms, s.saturation) = (nan, nan, nan);
        s.sli = SliCounts {
            good: nan,
            total: nan,
        };
        s.error_ratios = crate::domain::reliability::ErrorRatios {
            m5: Some(nan),
            m30: Some(nan),
            h1: Some(nan),
            h2: Some(nan),
            h6: Some(nan),
            d1: Some(nan),
            d3: Some(nan),
        };
        let k = kpis(&[s], None);
        let reasons = [
            ("availability", "no request counts"),
            ("error_budget", "no request counts"),
            ("burn_rate", "no error ratios"),
            ("error_rate", "no traffic"),
            ("latency_p95", "no critical service reports latency"),
            ("latency_p99", "no critical service reports latency"),
        ];
        for (id, why) in reasons {
            let kpi = by_id(&k, id);
            assert_eq!(
                (kpi.value, kpi.status, kpi.note.as_str()),
                (None, Status::Unknown, why)
            );
            assert!(kpi.parts.is_empty(), "{id}");
        }
    }

    #[test]
    fn an_error_rate_that_overflows_is_unknown_not_a_nan_that_reads_ok() {
        // Two garbage request rates overflow both sums to infinity: ∞/∞.
        let huge = |name| svc(name, Tier::Critical, 0.0, f64::MAX, 1.0);
        let k = kpis(&[huge("a"), huge("b")], None);
        let rate = by_id(&k, "error_rate");
        assert!(
            rate.value.is_none_or(f64::is_finite),
            "value {:?} with status {:?}",
            rate.value,
            rate.status
        );
    }

    // The metrics source rounds a finite counter into u64, saturating: a
    // garbage 1e20 becomes u64::MAX, and one more run or deploy overflows a sum.

    #[test]
    fn saturated_backup_run_counters_do_not_panic() {
        let k = backup_success(&[backup("orders-db", Some((u64::MAX, 1)))]);
        assert!(k.value.is_none_or(|v| (0.0..=1.0).contains(&v)), "{k:?}");
    }

    #[test]
    fn saturated_deploy_counters_do_not_panic() {
        let deployments = [
            counted("api", u64::MAX, Some(0)),
            counted("web", 1, Some(1)),
        ];
        let k = estate(&[], Some(&deployments), None);
        let freq = by_id(&k, "deploy_frequency");
        assert!(freq.value.is_none_or(|v| v > 0.0), "{freq:?}");
        let changes = by_id(&k, "change_failure_rate");
        assert!(
            changes.value.is_none_or(|v| (0.0..=1.0).contains(&v)),
            "{changes:?}"
        );
    }

    /// A service whose workbook windows page, while its one-hour requests
    /// query did not answer (so no one-hour ratio).
    fn paging_without_a_one_hour_ratio() -> ServiceHealth {
        let mut s = svc("checkout", Tier::Critical, 0.0, 100.0, 0.0);
        s.error_ratio_1h = f64::NAN;
        s.error_ratios = crate::domain::reliability::ErrorRatios {
            m5: Some(0.02),
            h1: Some(0.02),
            ..Default::default()
        };
        s
    }

    #[test]
    fn the_burn_tile_names_a_service_that_pages_without_a_one_hour_ratio() {
        let calm = svc("search", Tier::Critical, 0.0, 100.0, 0.0001);
        let k = kpis(&[paging_without_a_one_hour_ratio(), calm], None);
        let burn = by_id(&k, "burn_rate");
        assert_eq!(burn.status, Status::Crit);
        assert_eq!(burn.note, "page: checkout");
    }

    #[test]
    fn a_page_from_the_workbook_windows_is_not_unknown_without_one_hour_ratios() {
        let k = kpis(&[paging_without_a_one_hour_ratio()], None);
        let burn = by_id(&k, "burn_rate");
        assert_eq!(
            (burn.status, burn.note.as_str()),
            (Status::Crit, "page: checkout")
        );
    }
}
