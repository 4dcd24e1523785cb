//! The executive KPIs: each a value against its objective with a state and,
//! when the value cannot be computed, the reason instead of a made-up number.
//! Each also names what makes it up (the services, targets or incidents) and
//! the queries it comes from, for the KPI tab's drill-down.

use chrono::{DateTime, Duration, Utc};

use super::reliability;
use super::slo::{self, availability, error_budget_remaining};
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
    pub parts: Parts,
    /// The named queries (docs/metrics.md) it comes from.
    pub queries: &'static [&'static str],
    /// The window it is computed over, where it has one…
    pub window: Option<Duration>,
    /// …and how much of it the server's data covers, where known (less on
    /// a fresh server or with a retention shorter than the window).
    pub covered: Option<Duration>,
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

/// How many parts a KPI keeps, worst first.
pub const PARTS_KEPT: usize = 50;

/// A KPI's worst parts (at most `PARTS_KEPT`, worst first; it reads as a
/// slice of them) and how many there are in all.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Parts {
    kept: Vec<Part>,
    pub total: usize,
}

impl std::ops::Deref for Parts {
    type Target = [Part];

    fn deref(&self) -> &[Part] {
        &self.kept
    }
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
    /// When the open incidents that count started: a failure is a failure
    /// from its start, so MTBF does not move when one resolves.
    pub open: &'a [DateTime<Utc>],
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
    window: Option<Duration>,
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
            window: None,
        }
    }

    /// Computed over `window` (the SLO window, or the burn's hour).
    fn over(self, window: Duration) -> Spec {
        Spec {
            window: Some(window),
            ..self
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
        self.known(None, Status::Unknown, why.to_string(), Parts::default())
    }

    fn known(self, value: Option<f64>, status: Status, note: String, parts: Parts) -> Kpi {
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
            window: self.window,
            covered: None,
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

/// The worst `PARTS_KEPT` parts, worst state first, then by `key` (higher
/// first), then by name; the rest are only counted. The drill-down lists a
/// dozen, so a KPI over 10,000 services neither sorts nor keeps them all.
fn worst_first(mut parts: Vec<Part>, key: impl Fn(&Part) -> f64) -> Parts {
    let total = parts.len();
    let order = |a: &Part, b: &Part| {
        b.status
            .cmp(&a.status)
            .then(key(b).total_cmp(&key(a)))
            .then(a.name.cmp(&b.name))
    };
    if total > PARTS_KEPT {
        parts.select_nth_unstable_by(PARTS_KEPT, order);
        parts.truncate(PARTS_KEPT);
    }
    parts.sort_by(order);
    Parts { kept: parts, total }
}

/// The KPIs by what they are computed from, so that a caller holding them
/// recomputes only those whose inputs changed. In tile order: the groups'
/// KPIs follow each other as `compute` lists them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Group {
    /// From the services' health: availability, budget, burn, error rate,
    /// latency.
    Services,
    /// From backups and resolved incidents, judged against the clock: MTTR,
    /// MTBF, RPO, RTO, backup success.
    Clock,
    /// From deployments: frequency and change failure rate.
    Deployments,
}

impl Group {
    pub const ALL: [Group; 3] = [Group::Services, Group::Clock, Group::Deployments];

    /// Its place in `ALL`.
    pub fn index(self) -> usize {
        self as usize
    }

    /// Where the group's KPIs sit in `compute`'s list.
    pub fn range(self) -> std::ops::Range<usize> {
        match self {
            Group::Services => 0..6,
            Group::Clock => 6..11,
            Group::Deployments => 11..13,
        }
    }
}

/// How far back the server's data reaches inside the SLO window: the
/// longest any service's counts cover; `None` when no service says.
pub fn covered(i: &Inputs) -> Option<Duration> {
    let window = i.objectives.slo_window;
    i.services
        .iter()
        .filter_map(|s| s.covered)
        .max()
        .map(|c| within(c, window))
}

/// `covered` as a span of `window`: the whole of it when the first sample
/// found is within one coarse step (5 minutes) of its start, since the
/// data may well go back further (`covered_window` finds a sample to a
/// step).
fn within(covered: Duration, window: Duration) -> Duration {
    if covered >= window - Duration::minutes(5) {
        window
    } else {
        covered.max(Duration::zero())
    }
}

/// A span of data in a few characters: "40 s", "6 min", "3.5 h", "15 d".
pub fn data_span(d: Duration) -> String {
    let s = d.num_seconds().max(0) as f64;
    if s < 60.0 {
        format!("{s:.0} s")
    } else if s < 3600.0 {
        format!("{:.0} min", (s / 60.0).floor())
    } else if s < 86_400.0 {
        format!("{:.1} h", s / 3600.0)
    } else {
        format!("{:.1} d", s / 86_400.0)
    }
}

/// `k` with the coverage of its window, and a note that says so when the
/// data covers less than the window: "6 min of data · …".
fn cover(mut k: Kpi, covered: Option<Duration>) -> Kpi {
    let Some(window) = k.window else {
        return k;
    };
    k.covered = covered.map(|c| c.min(window));
    if let Some(c) = k.covered.filter(|c| *c < window - window / 100) {
        k.note = format!("{} of data · {}", data_span(c), k.note);
    }
    k
}

/// The KPIs of one group, in tile order.
pub fn compute_group(group: Group, i: &Inputs) -> Vec<Kpi> {
    let covered = covered(i);
    computed(group, i)
        .into_iter()
        .map(|k| cover(k, covered))
        .collect()
}

mod clock;
use clock::{
    backup_success_kpi, change_failure_kpi, deploy_frequency_kpi, mtbf_kpi, mttr_kpi, rpo_kpi,
    rto_kpi,
};

fn computed(group: Group, i: &Inputs) -> Vec<Kpi> {
    match group {
        Group::Services => vec![
            availability_kpi(i),
            budget_kpi(i),
            burn_kpi(i),
            error_rate_kpi(i),
            latency_kpi(i, Quantile::P95),
            latency_kpi(i, Quantile::P99),
        ],
        Group::Clock => vec![
            mttr_kpi(i),
            mtbf_kpi(i),
            rpo_kpi(i),
            rto_kpi(i),
            backup_success_kpi(i),
        ],
        Group::Deployments => vec![deploy_frequency_kpi(i), change_failure_kpi(i)],
    }
}

/// The thirteen KPIs, in tile order.
pub fn compute(i: &Inputs) -> Vec<Kpi> {
    Group::ALL
        .iter()
        .flat_map(|g| compute_group(*g, i))
        .collect()
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
    .over(i.objectives.slo_window)
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
    let below = availabilities(i)
        .filter(|(s, a)| *a < s.objective_or(obj))
        .count();
    let mut note = format!("worst {} · estate {:.3}%", worst.name, estate * 100.0);
    if below > 1 {
        note.push_str(&format!(" · {below} below"));
    }
    // Each service against its own objective where its SLO declares one.
    let parts: Vec<Part> = availabilities(i)
        .map(|(s, a)| {
            let status = slo::availability_status(Some(a), s.objective_or(obj));
            part(&s.name, Some(a), Unit::Percent(3), status)
        })
        .collect();
    let parts = worst_first(parts, |p| -p.value.unwrap_or(1.0));
    let status = slo::availability_status(Some(value), worst.objective_or(obj));
    let status = Status::worst(parts.iter().map(|p| p.status).chain([status]));
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
    .over(i.objectives.slo_window)
    .queries(SLI_QUERIES);
    let parts: Vec<Part> = availabilities(i)
        .filter_map(|(s, a)| {
            let left = error_budget_remaining(a, s.objective_or(obj))?;
            let status = slo::availability_status(Some(a), s.objective_or(obj));
            Some(part(&s.name, Some(left), Unit::Percent(1), status))
        })
        .collect();
    let parts = worst_first(parts, |p| -p.value.unwrap_or(1.0));
    let Some(lowest) = parts.first() else {
        return spec.unknown("no request counts");
    };
    let service = i.services.iter().find(|s| s.name == lowest.name);
    let avail = service.and_then(|s| availability(s.sli));
    // "31 min left of 43.2"; overspent shows what was overspent. Over the
    // span its data covers: in 6 minutes no more than 6 minutes are spent.
    let name = &lowest.name;
    let own = service.map_or(obj, |s| s.objective_or(obj));
    let window = i.objectives.slo_window;
    let span = service
        .and_then(|s| s.covered)
        .map_or(window, |c| within(c, window));
    let note = match avail.and_then(|a| reliability::budget_time(a, own, span)) {
        Some((left, allowed)) if lowest.value.is_some_and(|v| v < 0.0) => format!(
            "lowest {name} · {} over {}",
            budget_amount(-left, 0),
            budget_amount(allowed, 1)
        ),
        Some((left, allowed)) => format!(
            "lowest {name} · {} left of {}",
            budget_amount(left, 0),
            budget_amount(allowed, 1)
        ),
        None => format!("lowest {name}"),
    };
    // …and when it is gone at its burn: "· gone in 9h at 6.2x".
    let note = match service.and_then(|s| super::forecast::service_budget(s, obj, window)) {
        Some(f @ super::forecast::BudgetForecast::GoneIn { .. }) => {
            format!("{note} · {}", f.text().trim_start_matches("budget "))
        }
        _ => note,
    };
    let (value, status) = (lowest.value, lowest.status);
    spec.known(value, status, note, parts)
}

/// Budget time in minutes ("11 min", "43.2" with `decimals`), or in
/// seconds under a minute ("22s", "0.4s"), where a short span leaves less.
fn budget_amount(d: Duration, decimals: usize) -> String {
    let secs = d.num_milliseconds() as f64 / 1000.0;
    if secs.abs() >= 60.0 {
        if decimals == 0 {
            format!("{:.0} min", secs / 60.0)
        } else {
            format!("{:.1$}", secs / 60.0, decimals)
        }
    } else if decimals > 0 && secs.abs() < 1.0 {
        format!("{secs:.2}s")
    } else {
        format!("{:.1$}s", secs, decimals)
    }
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
        .over(Duration::hours(1))
        .objective(6.0)
        .queries(BURN_QUERIES);
    // Every service with a rate or a state to show: one whose workbook
    // windows page is named even when its one-hour rate is missing.
    let parts: Vec<Part> = i
        .services
        .iter()
        .filter_map(|s| {
            let (rate, status) = (burn_1h(s, obj), service_burn_status(s, obj));
            (rate.is_some() || matches!(status, Status::Warn | Status::Crit))
                .then(|| part(&s.name, rate, Unit::Factor, status))
        })
        .collect();
    let parts = worst_first(parts, |p| p.value.unwrap_or(0.0));
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
    let parts: Vec<Part> = i
        .services
        .iter()
        .filter(|s| s.tier == Tier::Critical && pick(s).is_finite() && pick(s) >= 0.0)
        .map(|s| part(&s.name, Some(pick(s)), Unit::Millis, status(pick(s))))
        .collect();
    let parts = worst_first(parts, |p| p.value.unwrap_or(0.0));
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
    let parts: Vec<Part> = counted
        .iter()
        .filter(|s| slo::positive(s.requests_per_second))
        .map(|s| {
            let status = status(s.error_ratio);
            part(&s.name, Some(s.error_ratio), Unit::Percent(3), status)
        })
        .collect();
    let parts = worst_first(parts, |p| p.value.unwrap_or(0.0));
    let note = parts
        .first()
        .map(|p| format!("highest {} {:.2}%", p.name, p.value.unwrap_or(0.0) * 100.0))
        .unwrap_or_default();
    spec.known(Some(value), status(value), note, parts)
}

pub use super::standing::{
    budget_left, burn_1h, burn_status, service_burn_status, service_slo_status,
};

#[cfg(test)]
#[path = "kpi_tests.rs"]
mod tests;
