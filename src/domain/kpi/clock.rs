//! The KPIs over time and changes: MTTR and MTBF from the incidents,
//! RPO, RTO and backup success from the backup targets, and the DORA
//! deployment frequency and change failure rate.

use chrono::{DateTime, Duration, Utc};

use super::super::reliability::{self, backup_success_rate, change_failure_rate, deploys_per_day};
use super::super::slo::{self, level};
use super::super::{Backup, Deployment, ResolvedIncident, Status};
use super::{Goal, Inputs, Kpi, Part, Parts, Spec, Unit, covered, part, span, worst_first};

/// The incidents resolved inside the window, longest first, as parts.
fn incident_parts(resolved: &[&ResolvedIncident], objective: Duration) -> Parts {
    let parts: Vec<Part> = resolved
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
    worst_first(parts, |p| p.value.unwrap_or(0.0))
}

fn in_window<'a>(i: &Inputs, resolved: &'a [ResolvedIncident]) -> Vec<&'a ResolvedIncident> {
    let window = i.objectives.slo_window;
    resolved
        .iter()
        .filter(|r| r.resolved <= i.now && i.now - r.resolved <= window && r.resolved >= r.started)
        .collect()
}

/// Mean time to restore (also DORA's time to restore): see `slo::mttr`.
pub(super) fn mttr_kpi(i: &Inputs) -> Kpi {
    let obj = i.objectives.mttr;
    let spec = Spec::new(
        "mttr",
        format!("MTTR {}", span(i.objectives.slo_window)),
        Unit::Seconds,
        Goal::Below,
    )
    .over(i.objectives.slo_window)
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
pub(super) fn mtbf_kpi(i: &Inputs) -> Kpi {
    let spec = Spec::new(
        "mtbf",
        format!("MTBF {}", span(i.objectives.slo_window)),
        Unit::Seconds,
        Goal::AtLeast,
    )
    .over(i.objectives.slo_window)
    .queries(&["alerts_firing"]);
    let Some(resolved) = i.resolved else {
        return spec.unknown("incident history not loaded yet");
    };
    let inside = in_window(i, resolved);
    let window = i.objectives.slo_window;
    let open = i
        .open
        .iter()
        .filter(|s| **s <= i.now && i.now - **s <= window);
    let starts: Vec<DateTime<Utc>> = inside
        .iter()
        .map(|r| r.started)
        .chain(open.copied())
        .collect();
    let count = starts.len();
    let Some(mtbf) = reliability::mtbf_of_starts(starts) else {
        return spec.unknown("fewer than two incidents in the window");
    };
    let note = format!("{count} incidents in the window");
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
    let parts: Vec<Part> = judged
        .iter()
        .map(|(b, v, s)| part(&b.target, *v, Unit::Seconds, *s))
        .collect();
    let parts = worst_first(parts, |p| p.value.unwrap_or(0.0));
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
pub(super) fn rpo_kpi(i: &Inputs) -> Kpi {
    let spec = Spec::new("rpo", "RPO compliance", Unit::Percent(1), Goal::AtLeast)
        .objective(1.0)
        .queries(&["backup_last_success", "velero_last_success"]);
    let judged = i
        .backups
        .iter()
        .map(|b| {
            let (age, status) = slo::backup_rpo(b, i.now);
            (b, age.map(|a| a.num_seconds() as f64), status)
        })
        .collect();
    compliance(spec, judged, "backup")
}

/// The share of drilled targets whose last measured RTO is within the
/// tier's; each part is the measured RTO.
pub(super) fn rto_kpi(i: &Inputs) -> Kpi {
    let spec = Spec::new("rto", "RTO compliance", Unit::Percent(1), Goal::AtLeast)
        .objective(1.0)
        .queries(&["drill_timestamp", "drill_rto"]);
    let judged = i
        .backups
        .iter()
        .map(|b| {
            let rto = b
                .last_drill
                .and_then(|d| d.measured_rto)
                .map(|r| r.num_seconds() as f64);
            (b, rto, slo::rto_status(b, b.tier.objectives(), i.now))
        })
        .collect();
    compliance(spec, judged, "DR drill")
}

/// Backup runs that succeeded ÷ runs over the window, every target together,
/// against the objective (99.9%) as an error budget: see
/// `reliability::backup_success_rate`.
pub(super) fn backup_success_kpi(i: &Inputs) -> Kpi {
    let obj = i.objectives.backup_success;
    let spec = Spec::new(
        "backup_success",
        "Backup success",
        Unit::Percent(2),
        Goal::AtLeast,
    )
    .over(i.objectives.slo_window)
    .objective(obj)
    .queries(&["backup_successes_window", "backup_failures_window"]);
    let counted: Vec<(&Backup, super::super::RunCounts)> = i
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
    let parts: Vec<Part> = counted
        .iter()
        .filter_map(|(b, r)| {
            let rate = backup_success_rate(r.succeeded, r.attempted())?;
            let status = slo::availability_status(Some(rate), obj);
            Some(part(&b.target, Some(rate), Unit::Percent(2), status))
        })
        .collect();
    let parts = worst_first(parts, |p| -p.value.unwrap_or(1.0));
    let failed = attempted - succeeded;
    let mut note = format!("{failed}/{attempted} runs failed");
    if let Some(worst) = parts.first().filter(|p| p.status != Status::Ok) {
        note.push_str(&format!(" · worst {}", worst.name));
    }
    let status = slo::availability_status(Some(rate), obj);
    spec.known(Some(rate), status, note, parts)
}

/// Deployments that counted their window's changes.
fn counted<'a>(i: &Inputs<'a>) -> Vec<(&'a Deployment, super::super::ChangeCounts)> {
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
pub(super) fn deploy_frequency_kpi(i: &Inputs) -> Kpi {
    let window = i.objectives.slo_window;
    let spec = Spec::new(
        "deploy_frequency",
        format!("Deploys/day {}", span(window)),
        Unit::PerDay,
        Goal::AtLeast,
    )
    .over(window)
    .queries(&["deployments_window"]);
    // Per day of the data there is, not of a window the server does not
    // hold; at least a day, or one deploy in six minutes reads 240 a day.
    let window = covered(i).map_or(window, |c| c.max(Duration::days(1)).min(window));
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
    let parts: Vec<Part> = counted
        .iter()
        .map(|(d, w)| {
            let rate = deploys_per_day(w.deploys, window);
            part(&deployment_name(d), rate, Unit::PerDay, Status::Ok)
        })
        .collect();
    let parts = worst_first(parts, |p| p.value.unwrap_or(0.0));
    let note = format!("{total} deploys by {} services", counted.len());
    spec.known(Some(rate), Status::Ok, note, parts)
}

/// DORA change failure rate: rollbacks ÷ deployments over the window
/// (`reliability::change_failure_rate`); over the objective (15%) is a
/// warning, over twice it a breach.
pub(super) fn change_failure_kpi(i: &Inputs) -> Kpi {
    let obj = i.objectives.change_failure_rate;
    let spec = Spec::new(
        "change_failure_rate",
        "Change failure rate",
        Unit::Percent(1),
        Goal::Below,
    )
    .over(i.objectives.slo_window)
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
    let parts: Vec<Part> = counted
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
    let parts = worst_first(parts, |p| p.value.unwrap_or(0.0));
    let note = format!("{rollbacks} rollbacks of {deploys} deploys");
    spec.known(Some(rate), status(rate), note, parts)
}
