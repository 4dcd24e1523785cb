//! The demo estate: deterministic per seed, and with everything the tour needs.

use std::collections::BTreeSet;

use chrono::{DateTime, Duration, TimeZone, Utc};

use super::*;
use crate::domain::slo::rpo_status;
use crate::domain::{Severity, Status, Strategy};

fn start() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 22, 3, 0, 0).unwrap()
}

fn estate(seed: u64) -> DemoEstate {
    DemoEstate::new(seed, start())
}

fn at(secs: i64) -> DateTime<Utc> {
    start() + Duration::seconds(secs)
}

#[test]
fn the_same_seed_gives_the_same_estate_and_another_seed_does_not() {
    let (a, b, c) = (estate(7), estate(7), estate(8));
    for secs in [0, 95, 3_600] {
        assert_eq!(a.health_at(at(secs)), b.health_at(at(secs)));
        assert_eq!(a.deployments_at(at(secs)), b.deployments_at(at(secs)));
        assert_eq!(a.backups_at(at(secs)), b.backups_at(at(secs)));
        assert_eq!(a.alerts_at(at(secs)), b.alerts_at(at(secs)));
    }
    assert_ne!(a.health_at(at(0)), c.health_at(at(0)));
}

#[test]
fn the_estate_has_a_dozen_services_in_all_three_tiers_and_four_hosts() {
    let health = estate(1).health_at(at(0));
    assert!(health.services.len() >= 12);
    let tiers: BTreeSet<_> = health.services.iter().map(|s| s.tier).collect();
    assert_eq!(tiers.len(), 3);
    assert!(health.hosts.len() >= 4);
    assert!(
        health
            .services
            .iter()
            .all(|s| s.traffic_history.len() == 60)
    );
}

#[test]
fn deployments_cover_every_strategy_and_the_canary_weight_advances() {
    let e = estate(3);
    let deploys = e.deployments_at(at(0));
    let labels: BTreeSet<_> = deploys.iter().map(|d| d.strategy.label()).collect();
    assert_eq!(labels, BTreeSet::from(["blue-green", "canary", "rolling"]));
    let weight = |secs| match e
        .deployments_at(at(secs))
        .iter()
        .find(|d| d.service == "checkout")
        .unwrap()
        .strategy
    {
        Strategy::Canary { weight } => weight,
        other => panic!("checkout is a canary, got {other:?}"),
    };
    assert!(
        weight(0) < weight(120),
        "{} then {}",
        weight(0),
        weight(120)
    );
    // 100 s a step: checkout (started 110 s before the demo) is whole by
    // seven minutes into its release, inside the 10-minute progress deadline.
    assert_eq!(weight(400), 100.0);
    assert!(
        deploys
            .iter()
            .any(|d| d.phase == crate::domain::Phase::Progressing)
    );
}

#[test]
fn at_least_one_backup_breaches_its_rpo() {
    for seed in [1, 2, 3] {
        let backups = estate(seed).backups_at(at(30));
        let breaching: Vec<_> = backups
            .iter()
            .filter(|b| rpo_status(b.last_success, b.tier.objectives(), at(30)).1 == Status::Crit)
            .map(|b| b.target.as_str())
            .collect();
        assert!(breaching.contains(&"auth-db"), "seed {seed}: {breaching:?}");
    }
}

#[test]
fn incidents_fire_escalate_and_resolve_over_time() {
    let e = estate(5);
    let alerts_at = |secs| e.alerts_at(at(secs)).alerts;
    let keys = |secs| -> BTreeSet<(String, String)> {
        alerts_at(secs)
            .into_iter()
            .map(|a| (a.name, a.service))
            .collect()
    };
    // A critical page is under way when the demo opens.
    assert!(
        alerts_at(0)
            .iter()
            .any(|a| a.severity == Severity::Critical)
    );
    // Over half an hour the set of incidents changes: some resolve, new ones fire.
    let first = keys(0);
    let later = keys(1_800);
    assert!(
        first.difference(&later).next().is_some(),
        "something resolved"
    );
    assert!(
        later.difference(&first).next().is_some(),
        "something new fired"
    );
    // Some page escalates from warning to critical while it runs.
    let escalated = (0..3_600).step_by(30).any(|secs| {
        alerts_at(secs).iter().any(|a| {
            a.severity == Severity::Warning
                && alerts_at(secs + 200).iter().any(|b| {
                    b.name == a.name
                        && b.service == a.service
                        && b.starts_at == a.starts_at
                        && b.severity == Severity::Critical
                })
        })
    });
    assert!(escalated);
    let month = Duration::days(30);
    let before = e.history_at(at(0), month);
    assert!(
        (20..=60).contains(&before.len()),
        "a month at a realistic pace, got {}",
        before.len()
    );
    assert!(
        before
            .iter()
            .all(|i| i.resolved > i.started && i.resolved <= at(0))
    );
    let after = e.history_at(at(3_600), month);
    assert!(
        after.len() > before.len(),
        "incidents resolved during the demo join the history"
    );
}

#[test]
fn an_active_maintenance_window_silences_its_service() {
    let e = estate(9);
    let reading = e.alerts_at(at(0));
    assert!(reading.silences.iter().any(|s| s.is_active(at(0))));
    assert!(
        reading.silences.iter().any(|s| s.starts_at > at(0)),
        "a pending window"
    );
    for alert in &reading.alerts {
        assert_eq!(
            alert.silenced_by.is_some(),
            alert.service == "reporting",
            "{alert:?}"
        );
    }
}
