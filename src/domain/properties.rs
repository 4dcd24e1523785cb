//! Properties of the SLA math that hold for any input, not only the worked
//! examples: ranges, monotonicity, agreement between the modules, and that
//! garbage in (NaN, ±∞, negative, huge) never panics or comes out as a number.

use chrono::{DateTime, Duration, TimeZone, Utc};
use proptest::option;
use proptest::prelude::*;

use super::kpi::{self, Inputs, Kpi};
use super::reliability::{
    BurnAlert, BurnRates, ErrorRatios, backup_success_rate, budget_time, burn_alert,
    change_failure_rate, deploys_per_day, mtbf,
};
use super::slo::{availability_status, burn_rate, error_budget_remaining, mttr};
use super::{
    Backup, ChangeCounts, Deployment, DrillResult, Objectives, Phase, ResolvedIncident, RunCounts,
    ServiceHealth, SliCounts, Status, Strategy as Rollout, Thresholds, Tier,
};

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 22, 3, 0, 0).unwrap()
}

/// What a Prometheus answer can hold: plausible values, edges and garbage.
fn sample() -> impl Strategy<Value = f64> {
    prop_oneof![
        4 => 0.0..1.0,
        2 => 0.0..1e6,
        1 => Just(0.0),
        1 => Just(-1.0),
        1 => Just(f64::NAN),
        1 => Just(f64::INFINITY),
        1 => Just(f64::NEG_INFINITY),
        1 => Just(f64::MAX),
        1 => Just(f64::MIN_POSITIVE),
        2 => any::<f64>(),
    ]
}

/// A counter as the sources round it: small, anything, or saturated.
fn count() -> impl Strategy<Value = u64> {
    prop_oneof![4 => 0u64..1000, 1 => any::<u64>(), 1 => Just(u64::MAX)]
}

/// Near `now` mostly, or anywhere chrono can represent.
fn moment() -> impl Strategy<Value = DateTime<Utc>> {
    let (min, max) = (DateTime::<Utc>::MIN_UTC, DateTime::<Utc>::MAX_UTC);
    prop_oneof![
        4 => (-100 * 86_400_000i64..10 * 86_400_000)
            .prop_map(|ms| now() + Duration::milliseconds(ms)),
        1 => (min.timestamp()..=max.timestamp())
            .prop_map(|s| DateTime::from_timestamp(s, 0).unwrap()),
    ]
}

fn span() -> impl Strategy<Value = Duration> {
    (-1_000_000_000_000i64..1_000_000_000_000).prop_map(Duration::milliseconds)
}

fn name() -> impl Strategy<Value = String> {
    prop::sample::select(vec!["api", "web", "db", "queue"]).prop_map(String::from)
}

fn tier() -> impl Strategy<Value = Tier> {
    prop::sample::select(Tier::ALL.to_vec())
}

fn service() -> impl Strategy<Value = ServiceHealth> {
    let signals = (sample(), sample(), sample(), sample(), sample());
    let sli = (sample(), sample(), sample());
    let windows = proptest::array::uniform7(option::of(sample()));
    let targets = (0u32..4, 0u32..4);
    (name(), tier(), signals, sli, windows, targets).prop_map(
        |(name, tier, (rps, errors, p95, p99, saturation), (good, total, err_1h), w, (up, all))| {
            ServiceHealth {
                name,
                cluster: None,
                tier,
                team: "team".into(),
                requests_per_second: rps,
                error_ratio: errors,
                latency_p95_ms: p95,
                latency_p99_ms: p99,
                saturation,
                targets_up: up,
                targets_total: all,
                sli: SliCounts { good, total },
                error_ratio_1h: err_1h,
                error_ratios: ErrorRatios {
                    m5: w[0],
                    m30: w[1],
                    h1: w[2],
                    h2: w[3],
                    h6: w[4],
                    d1: w[5],
                    d3: w[6],
                },
                traffic_history: vec![],
                latency_history: vec![],
                covered: None,
                via: crate::domain::Via::Simulated,
                objective: None,
                baselines: Default::default(),
            }
        },
    )
}

fn backup() -> impl Strategy<Value = Backup> {
    let drill = option::of((moment(), span()));
    let runs = option::of((count(), count()));
    let times = (option::of(moment()), option::of(moment()));
    (name(), tier(), times, sample(), span(), drill, runs).prop_map(
        |(target, tier, (last_success, last_verified), size, duration, drill, runs)| Backup {
            service: None,
            target,
            tier,
            last_success,
            size_bytes: size,
            duration: Some(duration),
            last_verified,
            last_drill: drill.map(|(at, rto)| DrillResult {
                at,
                measured_rto: Some(rto),
            }),
            runs: runs.map(|(succeeded, failed)| RunCounts { succeeded, failed }),
            ..Default::default()
        },
    )
}

fn deployment() -> impl Strategy<Value = Deployment> {
    let window = option::of((count(), option::of(count())));
    (name(), window).prop_map(|(service, window)| Deployment {
        service,
        environment: "prod".into(),
        version: "v2".into(),
        previous_version: None,
        strategy: Rollout::Rolling {
            updated: 1,
            total: 1,
        },
        phase: Phase::Complete,
        deployed_at: None,
        rollbacks: 0,
        history: vec![],
        window: window.map(|(deploys, rollbacks)| ChangeCounts { deploys, rollbacks }),
        canary: None,
    })
}

/// Incidents around `now`: some inside the 30-day window, some before it,
/// some not yet resolved by `now`, some resolved before they started.
fn incident() -> impl Strategy<Value = ResolvedIncident> {
    let ms = |days: i64| days * 86_400_000;
    (ms(-60)..ms(1), ms(-1)..ms(10)).prop_map(|(start, took)| {
        let started = now() + Duration::milliseconds(start);
        ResolvedIncident {
            started,
            resolved: started + Duration::milliseconds(took),
        }
    })
}

fn inside_window(list: &[ResolvedIncident], window: Duration) -> Vec<ResolvedIncident> {
    list.iter()
        .filter(|i| i.resolved <= now() && now() - i.resolved <= window && i.resolved >= i.started)
        .copied()
        .collect()
}

const IDS: [&str; 13] = [
    "availability",
    "error_budget",
    "burn_rate",
    "error_rate",
    "latency_p95",
    "latency_p99",
    "mttr",
    "mtbf",
    "rpo",
    "rto",
    "backup_success",
    "deploy_frequency",
    "change_failure_rate",
];

/// Every KPI is known with a finite value, or unknown with no value and a
/// reason; a value with an unknown state only where a part is unknown (a
/// target never drilled); parts are finite too, and worst first.
fn well_formed(kpis: &[Kpi]) -> Result<(), TestCaseError> {
    let ids: Vec<&str> = kpis.iter().map(|k| k.id).collect();
    prop_assert_eq!(ids, IDS);
    for k in kpis {
        match k.value {
            Some(v) => prop_assert!(v.is_finite(), "{} = {} ({:?})", k.id, v, k.status),
            // The burn tile's state can come from the workbook's other
            // windows when no one-hour rate is known: then a part says so.
            None if k.id == "burn_rate" && k.status != Status::Unknown => {
                let named = k.parts.iter().any(|p| p.status == k.status);
                prop_assert!(named, "burn state without the service behind it: {:?}", k);
            }
            None => {
                prop_assert_eq!(k.status, Status::Unknown, "{} has no value", k.id);
                prop_assert!(!k.note.is_empty(), "{} gives no reason", k.id);
            }
        }
        if k.status == Status::Unknown && k.value.is_some() {
            let unknown_part = k.parts.iter().any(|p| p.status == Status::Unknown);
            prop_assert!(unknown_part, "{} unknown with a value: {:?}", k.id, k);
        }
        for p in k.parts.iter() {
            prop_assert!(p.value.is_none_or(f64::is_finite), "{}: {:?}", k.id, p);
        }
        let sorted = k.parts.windows(2).all(|w| w[0].status >= w[1].status);
        prop_assert!(sorted, "{} parts not worst first: {:?}", k.id, k.parts);
    }
    Ok(())
}

fn compute(
    services: &[ServiceHealth],
    backups: &[Backup],
    deployments: Option<&[Deployment]>,
    resolved: Option<&[ResolvedIncident]>,
) -> Vec<Kpi> {
    kpi::compute(&Inputs {
        services,
        backups,
        deployments,
        resolved,
        open: &[],
        objectives: &Objectives::default(),
        thresholds: &Thresholds::default(),
        now: now(),
    })
}

proptest! {
    // The bugs these find are pinned by named tests; no seed files in the tree.
    #![proptest_config(ProptestConfig { failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn kpis_of_arbitrary_services_are_finite_or_unknown_with_a_reason(
        services in prop::collection::vec(service(), 0..6),
    ) {
        well_formed(&compute(&services, &[], None, None))?;
    }

    #[test]
    fn kpis_of_arbitrary_backups_are_finite_or_unknown_with_a_reason(
        backups in prop::collection::vec(backup(), 0..6),
    ) {
        well_formed(&compute(&[], &backups, None, None))?;
    }

    #[test]
    fn kpis_of_arbitrary_deployments_are_finite_or_unknown_with_a_reason(
        deployments in option::of(prop::collection::vec(deployment(), 0..6)),
    ) {
        well_formed(&compute(&[], &[], deployments.as_deref(), None))?;
    }

    #[test]
    fn kpis_of_arbitrary_incidents_are_finite_or_unknown_with_a_reason(
        resolved in option::of(prop::collection::vec(incident(), 0..8)),
    ) {
        well_formed(&compute(&[], &[], None, resolved.as_deref()))?;
    }

    #[test]
    fn ratio_kpis_stay_between_0_and_1(
        services in prop::collection::vec(service(), 0..6),
        backups in prop::collection::vec(backup(), 0..6),
        deployments in prop::collection::vec(deployment(), 0..6),
    ) {
        let kpis = compute(&services, &backups, Some(&deployments), None);
        for k in kpis.iter().filter(|k| {
            matches!(k.id, "availability" | "rpo" | "rto" | "backup_success" | "change_failure_rate")
        }) {
            prop_assert!(k.value.is_none_or(|v| (0.0..=1.0).contains(&v)), "{:?}", k);
        }
    }

    #[test]
    fn the_mttr_and_mtbf_kpis_count_the_incidents_slo_mttr_counts(
        resolved in prop::collection::vec(incident(), 0..8),
    ) {
        let window = Objectives::default().slo_window;
        let kpis = compute(&[], &[], None, Some(&resolved));
        let by_id = |id| kpis.iter().find(|k| k.id == id).unwrap();
        let inside = inside_window(&resolved, window);
        let mean = mttr(&resolved, now(), window);
        prop_assert_eq!(by_id("mttr").value, mean.map(|d| d.num_seconds() as f64));
        if mean.is_some() {
            prop_assert_eq!(by_id("mttr").parts.len(), inside.len());
        }
        if inside.len() >= 2 {
            prop_assert_eq!(by_id("mtbf").parts.len(), inside.len());
        } else {
            prop_assert_eq!(by_id("mtbf").value, None);
        }
    }

    #[test]
    fn mttr_lies_between_the_shortest_and_longest_incident_in_the_window(
        resolved in prop::collection::vec(incident(), 0..12),
    ) {
        let window = Duration::days(30);
        let took: Vec<Duration> = inside_window(&resolved, window)
            .iter()
            .map(|i| i.resolved - i.started)
            .collect();
        let mean = mttr(&resolved, now(), window);
        match (took.iter().min(), took.iter().max()) {
            (Some(&shortest), Some(&longest)) => {
                let mean = mean.unwrap();
                // chrono's division truncates seconds and nanoseconds apart,
                // so a mean can fall a nanosecond short of the shortest.
                prop_assert!(shortest - Duration::nanoseconds(1) <= mean, "{mean} < {shortest}");
                prop_assert!(mean <= longest, "{mean} > {longest}");
            }
            _ => prop_assert_eq!(mean, None),
        }
    }

    #[test]
    fn mtbf_is_the_span_of_starts_over_the_gaps_in_any_order(
        mut incidents in prop::collection::vec(incident(), 0..12),
    ) {
        let got = mtbf(&incidents);
        incidents.reverse();
        prop_assert_eq!(mtbf(&incidents), got, "order does not matter");
        let first = incidents.iter().map(|i| i.started).min();
        let last = incidents.iter().map(|i| i.started).max();
        match (first, last, got) {
            (Some(first), Some(last), Some(mean)) => {
                let gaps = incidents.len() as i32 - 1;
                let error = (last - first) - mean * gaps;
                // Truncated division: short of the span by under a step per gap.
                prop_assert!(error >= Duration::zero(), "{error}");
                prop_assert!(error <= Duration::nanoseconds(2 * i64::from(gaps)), "{error}");
            }
            _ => prop_assert!(incidents.len() < 2 && got.is_none()),
        }
    }

    #[test]
    fn the_error_budget_is_empty_at_the_objective_and_full_at_100_percent(
        objective in 0.0..1.0f64,
    ) {
        prop_assert_eq!(error_budget_remaining(objective, objective), Some(0.0));
        prop_assert_eq!(error_budget_remaining(1.0, objective), Some(1.0));
    }

    #[test]
    fn the_error_budget_grows_with_availability(
        objective in 0.0..1.0f64,
        a in 0.0..=1.0f64,
        b in 0.0..=1.0f64,
    ) {
        let (low, high) = (a.min(b), a.max(b));
        let (low_left, high_left) = (
            error_budget_remaining(low, objective).unwrap(),
            error_budget_remaining(high, objective).unwrap(),
        );
        prop_assert!(low_left <= high_left, "{low} → {low_left}, {high} → {high_left}");
        prop_assert!(high_left <= 1.0);
    }

    #[test]
    fn the_error_budget_is_never_nan(availability in sample(), objective in sample()) {
        let left = error_budget_remaining(availability, objective);
        prop_assert!(left.is_none_or(f64::is_finite), "{:?}", left);
    }

    #[test]
    fn availability_breaches_below_the_objective_and_only_below(
        objective in 0.5..0.99999f64,
        availability in 0.0..=1.0f64,
    ) {
        let status = availability_status(Some(availability), objective);
        if availability >= objective {
            prop_assert_ne!(status, Status::Crit);
        } else if objective - availability > 1e-12 {
            prop_assert_eq!(status, Status::Crit);
        }
    }

    #[test]
    fn budget_time_allows_the_window_times_one_minus_the_objective(
        availability in 0.0..=1.0f64,
        objective in 0.0..1.0f64,
        secs in 0i64..400 * 86_400,
    ) {
        let window = Duration::seconds(secs);
        let (left, allowed) = budget_time(availability, objective, window).unwrap();
        let secs = secs as f64;
        let exact_allowed = secs * (1.0 - objective);
        let exact_left = exact_allowed - secs * (1.0 - availability);
        // Rounded to the millisecond, with room for the float error of a year.
        let slack = 0.0005 + 1e-6;
        let secs_of = |d: Duration| d.num_milliseconds() as f64 / 1000.0;
        prop_assert!((secs_of(allowed) - exact_allowed).abs() <= slack);
        prop_assert!((secs_of(left) - exact_left).abs() <= slack);
        if left < Duration::zero() {
            prop_assert!(availability < objective);
        }
        if availability >= objective {
            prop_assert!(left >= Duration::zero());
        } else if secs * (objective - availability) > 1.0 {
            prop_assert!(left < Duration::zero(), "overspent by over a second");
        }
    }

    #[test]
    fn budget_time_is_none_for_ratios_outside_0_to_1(
        availability in sample(),
        objective in sample(),
    ) {
        let valid = (0.0..1.0).contains(&objective) && (0.0..=1.0).contains(&availability);
        let got = budget_time(availability, objective, Duration::days(30));
        prop_assert_eq!(got.is_some(), valid);
    }

    #[test]
    fn burn_rate_times_the_budget_is_the_error_ratio(
        ratio in 0.0..=1.0f64,
        objective in 0.0..0.99999f64,
    ) {
        let rate = burn_rate(ratio, objective).unwrap();
        let back = rate * (1.0 - objective);
        prop_assert!((back - ratio).abs() <= 1e-12 * ratio.max(1.0), "{back} vs {ratio}");
    }

    #[test]
    fn burn_rate_is_none_for_negative_or_nan_ratios(
        ratio in prop_oneof![Just(f64::NAN), Just(f64::NEG_INFINITY), -1e9..-1e-12f64],
        objective in 0.0..1.0f64,
    ) {
        prop_assert_eq!(burn_rate(ratio, objective), None);
    }

    #[test]
    fn raising_any_window_never_lowers_the_burn_alert(
        windows in proptest::array::uniform7(option::of(0.0..30.0f64)),
        which in 0usize..7,
        raise in prop_oneof![0.0..30.0f64, Just(f64::MAX)],
    ) {
        let before = rates(windows);
        let mut raised = windows;
        raised[which] = Some(windows[which].unwrap_or(0.0) + raise);
        let after = rates(raised);
        // Filling a window that had no data can also turn Unknown into None;
        // as an alert, both mean "no alert".
        let alert = |b: &BurnRates| burn_alert(b).max(BurnAlert::None);
        prop_assert!(alert(&after) >= alert(&before), "{before:?} → {after:?}");
        if windows[which].is_some() {
            prop_assert!(burn_alert(&after) >= burn_alert(&before));
        }
    }

    #[test]
    fn the_burn_alert_is_known_once_every_window_has_data(
        windows in proptest::array::uniform7(0.0..30.0f64),
    ) {
        let alert = burn_alert(&rates(windows.map(Some)));
        prop_assert_ne!(alert, BurnAlert::Unknown);
    }

    #[test]
    fn change_failure_and_backup_success_rates_are_ratios_or_unknown(
        part in any::<u64>(),
        whole in any::<u64>(),
    ) {
        for rate in [change_failure_rate(part, whole), backup_success_rate(part, whole)] {
            prop_assert_eq!(rate.is_none(), whole == 0);
            prop_assert!(rate.is_none_or(|r| (0.0..=1.0).contains(&r)), "{:?}", rate);
        }
    }

    #[test]
    fn deploys_per_day_times_the_days_is_the_deploys(
        deploys in 0u64..1_000_000_000,
        secs in 1i64..10 * 365 * 86_400,
    ) {
        let rate = deploys_per_day(deploys, Duration::seconds(secs)).unwrap();
        let back = rate * secs as f64 / 86_400.0;
        prop_assert!((back - deploys as f64).abs() <= 1e-9 * (deploys as f64).max(1.0));
    }
}

/// Burn rates in the order 5m, 30m, 1h, 2h, 6h, 1d, 3d.
fn rates(w: [Option<f64>; 7]) -> BurnRates {
    BurnRates {
        m5: w[0],
        m30: w[1],
        h1: w[2],
        h2: w[3],
        h6: w[4],
        d1: w[5],
        d3: w[6],
    }
}
