//! Worked examples of the KPIs (`kpi.rs`).

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
        covered: None,
        via: crate::domain::Via::Simulated,
        objective: None,
        baselines: Default::default(),
    }
}

fn kpis(services: &[ServiceHealth], resolved: Option<&[ResolvedIncident]>) -> Vec<Kpi> {
    let now = Utc.with_ymd_and_hms(2026, 11, 22, 3, 0, 0).unwrap();
    compute(&Inputs {
        services,
        backups: &[],
        deployments: None,
        resolved,
        open: &[],
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
        open: &[],
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
        canary: None,
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
        service: None,
        target: target.into(),
        tier: Tier::Standard,
        last_success: Some(now() - Duration::minutes(10)),
        size_bytes: 1e9,
        duration: Some(Duration::minutes(3)),
        last_verified: None,
        last_drill: None,
        runs: runs.map(|(succeeded, failed)| crate::domain::RunCounts { succeeded, failed }),
        ..Default::default()
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

/// The app recomputes a group only when its inputs change, and only the
/// clock group on a tick: that is right only if the groups tile `compute`
/// exactly and the other groups do not read the clock.
#[test]
fn groups_tile_compute_and_only_the_clock_group_reads_the_clock() {
    let services = [
        svc("api", Tier::Critical, 0.002, 100.0, 0.01),
        svc("web", Tier::Standard, 0.0, 10.0, 0.0),
    ];
    let backups = [backup("db", Some((9, 1)))];
    let deployments = [counted("api", 45, Some(3))];
    let resolved = [ResolvedIncident {
        started: now() - Duration::hours(5),
        resolved: now() - Duration::hours(4),
    }];
    let (objectives, thresholds) = (Objectives::default(), Thresholds::default());
    let at = |now| Inputs {
        services: &services,
        backups: &backups,
        deployments: Some(&deployments),
        resolved: Some(&resolved),
        open: &[],
        objectives: &objectives,
        thresholds: &thresholds,
        now,
    };
    let all = compute(&at(now()));
    assert_eq!(all.len(), 13);
    for group in Group::ALL {
        assert_eq!(
            compute_group(group, &at(now())),
            all[group.range()],
            "{group:?}"
        );
    }
    // Far enough on that the backup is overdue and the incident has left
    // the window: the clock group changes, the others do not.
    let later = now() + Duration::days(40);
    assert_ne!(
        compute_group(Group::Clock, &at(later)),
        all[Group::Clock.range()]
    );
    for group in [Group::Services, Group::Deployments] {
        assert_eq!(
            compute_group(group, &at(later)),
            all[group.range()],
            "{group:?} must not depend on the clock"
        );
    }
}

#[path = "kpi_tests_windows.rs"]
mod windows;
