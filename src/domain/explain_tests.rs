//! Tests of `explain.rs`: each kind at each state, the burn pairs against
//! `burn_alert`, and the demo's rows.

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
        full_in: None,
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
            vec!["UNKNOWN: cpu unknown (no share of a whole)"],
        ),
        // Over 100% is no share either: unknown, as the gauge shows it.
        (
            host_at(true, 0.2, 1e308, 0.4),
            vec!["UNKNOWN: memory unknown (no share of a whole)"],
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
        ..Default::default()
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
            vec!["WARN: last DR drill 120 days ago (over 90 days: it no longer proves the RTO)"],
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
        canary: None,
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
