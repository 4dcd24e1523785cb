//! The demo's figures agree with each other at every moment: each KPI tile
//! is its documented formula (docs/status.md) applied to the rows the other
//! tabs show, a one-hour burn moves no faster than an hour of errors
//! allows, the month's budget spends what the burn spends, a failure counts
//! with its run, and the estate deploys a few times a day per service.
//! Over random seeds and moments.

use chrono::{DateTime, Duration, TimeZone, Utc};
use proptest::prelude::*;

use super::{DemoEstate, WINDOW, incidents, signals};
use crate::domain::kpi::{self, Inputs, Kpi};
use crate::domain::{
    Backup, Deployment, HealthReading, Objectives, Phase, ResolvedIncident, Thresholds, Tier,
};

fn start() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 22, 3, 0, 0).unwrap()
}

fn at(secs: i64) -> DateTime<Utc> {
    start() + Duration::seconds(secs)
}

/// What every tab shows at one moment.
struct Screen {
    now: DateTime<Utc>,
    health: HealthReading,
    backups: Vec<Backup>,
    deployments: Vec<Deployment>,
    history: Vec<ResolvedIncident>,
    kpis: Vec<Kpi>,
}

fn screen(e: &DemoEstate, now: DateTime<Utc>) -> Screen {
    let (objectives, thresholds) = (Objectives::default(), Thresholds::default());
    let health = e.health_at(now);
    let backups = e.backups_at(now);
    let deployments = e.deployments_at(now);
    let history = e.history_at(now, objectives.slo_window);
    let kpis = kpi::compute(&Inputs {
        services: &health.services,
        backups: &backups,
        deployments: Some(&deployments),
        resolved: Some(&history),
        open: &[],
        objectives: &objectives,
        thresholds: &thresholds,
        now,
    });
    Screen {
        now,
        health,
        backups,
        deployments,
        history,
        kpis,
    }
}

impl Screen {
    fn tile(&self, id: &str) -> f64 {
        let k = self.kpis.iter().find(|k| k.id == id).unwrap();
        k.value
            .unwrap_or_else(|| panic!("{id} unknown: {}", k.note))
    }
}

/// The `1 − objective` every demo service is judged by (none declares its own).
fn allowed() -> f64 {
    1.0 - Objectives::default().availability
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1e-9)
}

fn max(values: impl Iterator<Item = f64>) -> f64 {
    values.fold(f64::NEG_INFINITY, f64::max)
}

fn min(values: impl Iterator<Item = f64>) -> f64 {
    values.fold(f64::INFINITY, f64::min)
}

/// Each tile's formula (docs/status.md's KPI table), written out over the
/// rows: (id, value).
fn formulas(s: &Screen) -> Vec<(&'static str, f64)> {
    let services = &s.health.services;
    let avail = |sv: &crate::domain::ServiceHealth| sv.sli.good / sv.sli.total;
    let worst = min(services.iter().map(avail));
    let rps: f64 = services.iter().map(|sv| sv.requests_per_second).sum();
    let errors: f64 = services
        .iter()
        .map(|sv| sv.error_ratio * sv.requests_per_second)
        .sum();
    let critical = || services.iter().filter(|sv| sv.tier == Tier::Critical);
    let durations: Vec<f64> = s
        .history
        .iter()
        .map(|r| (r.resolved - r.started).num_milliseconds() as f64 / 1000.0)
        .collect();
    let mut starts: Vec<f64> = s
        .history
        .iter()
        .map(|r| r.started.timestamp() as f64)
        .collect();
    starts.sort_by(f64::total_cmp);
    let b = &s.backups;
    let within_rpo = b
        .iter()
        .filter(|b| {
            b.last_success
                .is_some_and(|l| s.now - l <= b.tier.objectives().rpo)
        })
        .count();
    let drilled: Vec<&Backup> = b.iter().filter(|b| b.last_drill.is_some()).collect();
    let within_rto = drilled
        .iter()
        .filter(|b| {
            let rto = b.last_drill.and_then(|d| d.measured_rto).unwrap();
            rto <= b.tier.objectives().rto
        })
        .count();
    let runs = |f: fn(&crate::domain::RunCounts) -> u64| -> f64 {
        // Tool targets list backups, not runs: not counted.
        b.iter()
            .filter_map(|b| b.runs.as_ref())
            .map(|r| f(r) as f64)
            .sum()
    };
    let deploys: f64 = s
        .deployments
        .iter()
        .map(|d| d.window.unwrap().deploys as f64)
        .sum();
    let rollbacks: f64 = s
        .deployments
        .iter()
        .map(|d| d.window.unwrap().rollbacks.unwrap() as f64)
        .sum();
    let days = WINDOW as f64 / 86_400.0;
    vec![
        ("availability", worst),
        ("error_budget", 1.0 - (1.0 - worst) / allowed()),
        (
            "burn_rate",
            max(services.iter().map(|sv| sv.error_ratio_1h / allowed())),
        ),
        ("error_rate", errors / rps),
        ("latency_p95", max(critical().map(|sv| sv.latency_p95_ms))),
        ("latency_p99", max(critical().map(|sv| sv.latency_p99_ms))),
        (
            "mttr",
            durations.iter().sum::<f64>() / durations.len() as f64,
        ),
        (
            "mtbf",
            (starts[starts.len() - 1] - starts[0]) / (starts.len() - 1) as f64,
        ),
        ("rpo", within_rpo as f64 / b.len() as f64),
        ("rto", within_rto as f64 / drilled.len() as f64),
        (
            "backup_success",
            runs(|r| r.succeeded) / runs(|r| r.succeeded + r.failed),
        ),
        ("deploy_frequency", deploys / days),
        ("change_failure_rate", rollbacks / deploys),
    ]
}

/// The seconds `t` and `t + 60` of a service's own error ratio, each one
/// minute's mean: what enters the hour's window and what leaves it.
fn minute_in_and_out(e: &DemoEstate, index: usize, t: i64) -> (f64, f64) {
    let m = &e.services[index];
    let bursts = signals::of_service(
        &incidents::bursts(e.seed, t + 60),
        super::SERVICES[index].name,
    );
    (
        m.errors.mean(t + 60, 60, &bursts),
        m.errors.mean(t - 3_540, 60, &bursts),
    )
}

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: 48,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn every_tile_is_its_formula_applied_to_the_rows(
        seed in any::<u64>(),
        secs in -3_600i64..8 * 3_600,
    ) {
        let s = screen(&DemoEstate::new(seed, start()), at(secs));
        let formulas = formulas(&s);
        prop_assert_eq!(formulas.len(), s.kpis.len(), "every tile has a formula");
        for (id, expected) in formulas {
            let shown = s.tile(id);
            // MTTR and MTBF are shown to the second.
            let whole = matches!(id, "mttr" | "mtbf");
            let agrees = if whole {
                (shown - expected).abs() < 1.0
            } else {
                close(shown, expected)
            };
            prop_assert!(agrees, "{} at {}s: tile {} formula {}", id, secs, shown, expected);
        }
    }

    #[test]
    fn the_one_hour_burn_moves_no_faster_than_a_minute_of_its_window(
        seed in any::<u64>(),
        secs in -3_600i64..8 * 3_600,
    ) {
        let e = DemoEstate::new(seed, start());
        let (before, after) = (screen(&e, at(secs)), screen(&e, at(secs + 60)));
        let mut fastest = 0.0f64;
        for (index, (b, a)) in before
            .health
            .services
            .iter()
            .zip(after.health.services.iter())
            .enumerate()
        {
            // One minute enters the hour and one leaves: the hour's mean
            // moves by their difference over 60, at most the larger of the
            // two over 60.
            let (entering, leaving) = minute_in_and_out(&e, index, secs);
            let bound = entering.max(leaving) / 60.0 + 1e-12;
            let moved = (a.error_ratio_1h - b.error_ratio_1h).abs();
            prop_assert!(moved <= bound, "{} at {}s: moved {} bound {}", a.name, secs, moved, bound);
            prop_assert_eq!(a.error_ratios.h1, Some(a.error_ratio_1h));
            fastest = fastest.max(bound);
        }
        // So the tile, the highest of them, moves no faster either.
        let moved = (after.tile("burn_rate") - before.tile("burn_rate")).abs();
        prop_assert!(moved <= fastest / allowed() + 1e-9, "tile moved {}", moved);
    }

    #[test]
    fn the_budget_falls_while_a_service_burns_above_1x(
        seed in any::<u64>(),
        pick in any::<prop::sample::Index>(),
        into in 0.0f64..1.0,
    ) {
        // A minute inside one of the first six hours' bursts of errors
        // (each lasts over two minutes).
        let e = DemoEstate::new(seed, start());
        let bursts = incidents::bursts(seed, 6 * 3_600);
        let burst = bursts[pick.index(bursts.len())];
        prop_assert!(burst.to - burst.from > 120);
        let secs = burst.from + ((burst.to - burst.from - 60) as f64 * into) as i64;
        let (before, after) = (screen(&e, at(secs)), screen(&e, at(secs + 60)));
        for (index, (b, a)) in before
            .health
            .services
            .iter()
            .zip(after.health.services.iter())
            .enumerate()
        {
            let (entering, _) = minute_in_and_out(&e, index, secs);
            if entering <= allowed() {
                continue;
            }
            let left = |s: &crate::domain::ServiceHealth| {
                kpi::budget_left(s, Objectives::default().availability).unwrap()
            };
            prop_assert!(
                left(a) < left(b),
                "{} burning {:.1}x at {}s: budget {} then {}",
                a.name, entering / allowed(), secs, left(b), left(a)
            );
        }
        let on = before.health.services.iter().position(|s| s.name == burst.service).unwrap();
        prop_assert!(minute_in_and_out(&e, on, secs).0 > allowed(), "the burst's service burns");
    }

    #[test]
    fn each_service_deploys_a_few_times_a_day_and_some_roll_back(
        seed in any::<u64>(),
        secs in -3_600i64..2 * 86_400,
    ) {
        let s = screen(&DemoEstate::new(seed, start()), at(secs));
        let days = WINDOW as f64 / 86_400.0;
        let mut rollbacks = 0;
        for d in &s.deployments {
            let w = d.window.unwrap();
            let per_day = w.deploys as f64 / days;
            prop_assert!((1.0..=12.0).contains(&per_day), "{}: {} a day", d.service, per_day);
            rollbacks += w.rollbacks.unwrap();
        }
        // The month's failures show: DORA's elite change failure rate is
        // under 15%, and the demo's is a few percent, not zero.
        let cfr = s.tile("change_failure_rate");
        prop_assert!(rollbacks > 0 && (0.01..0.15).contains(&cfr), "{} rollbacks, {}", rollbacks, cfr);
    }

    #[test]
    fn a_backup_failure_counts_only_with_a_new_run(
        seed in any::<u64>(),
        secs in -3_600i64..8 * 3_600,
        later in 1i64..1_200,
    ) {
        let e = DemoEstate::new(seed, start());
        let (before, after) = (e.backups_at(at(secs)), e.backups_at(at(secs + later)));
        for (model, (b, a)) in e.backups.iter().zip(before.iter().zip(&after)) {
            let new_runs = model.last_run(secs + later) - model.last_run(secs);
            // A tool target counts no runs.
            let (Some(rb), Some(ra)) = (b.runs, a.runs) else {
                prop_assert!(b.tool.is_some() && a.runs.is_none(), "{}", a.target);
                continue;
            };
            prop_assert!(
                ra.failed as i64 - rb.failed as i64 <= new_runs,
                "{}: {} new runs, failures {} then {}", a.target, new_runs, rb.failed, ra.failed
            );
            if new_runs == 0 {
                prop_assert_eq!(ra, rb, "{}: no run, no change", &a.target);
            }
        }
    }

    #[test]
    fn mtbf_does_not_rise_when_a_demo_incident_resolves(
        seed in any::<u64>(),
        secs in 0i64..8 * 3_600,
    ) {
        // Whatever resolves adds its start; in the demo's first hours the
        // gap it adds is shorter than the month's mean gap, so MTBF can only
        // fall (unless an old incident left the window, which is not a
        // resolution).
        let e = DemoEstate::new(seed, start());
        let (before, after) = (screen(&e, at(secs)), screen(&e, at(secs + 60)));
        let kept = before.history.iter().all(|r| after.history.contains(r));
        prop_assume!(kept);
        prop_assert!(after.tile("mtbf") <= before.tile("mtbf"));
    }
}

#[test]
fn a_rollback_shows_in_the_row_its_counts_and_the_change_failure_rate() {
    let e = DemoEstate::new(42, start());
    let now = at(20 * 60);
    let before = screen(&e, now);
    let d = before
        .deployments
        .iter()
        .find(|d| d.phase != Phase::RolledBack)
        .unwrap();
    let service = d.service.clone();
    e.roll_back(&service, now);
    // Twice: a release rolls back once.
    e.roll_back(&service, now + Duration::seconds(30));
    let later = now + Duration::minutes(1);
    let after = screen(&e, later);
    let row = |s: &Screen| {
        s.deployments
            .iter()
            .find(|d| d.service == service)
            .unwrap()
            .clone()
    };
    let (was, is) = (row(&before), row(&after));
    assert_eq!(is.phase, Phase::RolledBack);
    assert_eq!(is.version, was.previous_version.unwrap());
    assert_eq!(is.history[0].outcome, Phase::RolledBack);
    assert_eq!(is.rollbacks, was.rollbacks + 1, "the Rollbacks column");
    let (w0, w1) = (was.window.unwrap(), is.window.unwrap());
    assert_eq!(w1.rollbacks, w0.rollbacks.map(|r| r + 1));
    assert_eq!(w1.deploys, w0.deploys);
    let deploys: u64 = after
        .deployments
        .iter()
        .map(|d| d.window.unwrap().deploys)
        .sum();
    let cfr = |s: &Screen| s.tile("change_failure_rate");
    assert!(close(cfr(&after) - cfr(&before), 1.0 / deploys as f64));
    // The next release starts over; the rolled-back one still counts, one
    // more than the same estate rolled back by nobody.
    let next = (1..=240)
        .map(|k| later + Duration::minutes(6 * k))
        .find(|t| row(&screen(&e, *t)).deployed_at != is.deployed_at)
        .unwrap();
    let untouched = DemoEstate::new(42, start());
    let row_at = |e: &DemoEstate| {
        let s = screen(e, next);
        s.deployments
            .into_iter()
            .find(|d| d.service == service)
            .unwrap()
    };
    let (rolled, not) = (row_at(&e), row_at(&untouched));
    assert_eq!(rolled.phase, not.phase, "the next release is its own");
    assert_eq!(rolled.history[1].outcome, Phase::RolledBack);
    assert_eq!(
        rolled.window.unwrap().rollbacks,
        not.window.unwrap().rollbacks.map(|r| r + 1)
    );
}
