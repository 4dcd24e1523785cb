//! A synthetic estate of any size, for the benchmarks: N services, N/10
//! hosts (at least 6), a deployment for every service, backups for N/20
//! targets and alerts on about 1% of the services. Like the demo it is a pure
//! function of its arguments, so two runs measure the same work; unlike the
//! demo it tells no story, it only has the shape and the volume of a real
//! estate (names of realistic length, every state present).

use chrono::{DateTime, Duration, Utc};
use rand::Rng;
use rand_chacha::ChaCha8Rng;

use super::rng_for;
use crate::domain::reliability::ErrorRatios;
use crate::domain::{
    Alert, AlertsReading, Backup, ChangeCounts, Colour, DeployEvent, Deployment, DrillResult,
    HealthReading, Host, Phase, ResolvedIncident, RunCounts, ServiceHealth, Severity, Silence,
    SliCounts, Strategy, Tier,
};
use crate::sources::{Feed, FeedUpdate, Reading};

/// Fixed, so every run of a benchmark builds the same estate.
const SEED: u64 = 0x5ca1_ed00;
/// The source name every feed of the scaled estate carries.
pub const SOURCE: &str = "scaled";
/// Points in each sparkline history, as the demo and the live source keep.
const HISTORY_LEN: usize = 60;
const WINDOW_SECS: f64 = 30.0 * 86_400.0;

const FUNCTIONS: [&str; 20] = [
    "payments",
    "checkout",
    "auth",
    "orders",
    "inventory",
    "search",
    "notifications",
    "user-profile",
    "recommendations",
    "reporting",
    "email-digest",
    "image-resizer",
    "billing",
    "ledger",
    "catalog",
    "pricing",
    "shipping",
    "fraud-check",
    "session-store",
    "api-gateway",
];

const TEAMS: [&str; 10] = [
    "edge",
    "identity",
    "payments",
    "commerce",
    "discovery",
    "messaging",
    "data",
    "media",
    "platform",
    "risk",
];

const ZONES: [&str; 5] = [
    "eu-west-1a",
    "eu-west-1b",
    "eu-west-1c",
    "us-east-1a",
    "us-east-1b",
];

const ALERTS: [(&str, &str); 5] = [
    ("HighErrorRate", "5xx ratio above 5% for 5 minutes"),
    ("HighLatencyP99", "p99 latency above 2 s for 10 minutes"),
    ("TargetDown", "a scrape target has been down for 3 minutes"),
    (
        "ErrorBudgetBurn",
        "burning the 30-day error budget 14x too fast",
    ),
    ("SaturationHigh", "CPU saturation above 90% for 15 minutes"),
];

/// The name of service `i`: unique, and as long as real ones.
pub fn service_name(i: usize) -> String {
    format!("svc-{i:05}-{}", FUNCTIONS[(i * 7 + 3) % FUNCTIONS.len()])
}

fn tier(i: usize) -> Tier {
    match i % 10 {
        0 => Tier::Critical,
        1..=4 => Tier::Standard,
        _ => Tier::NonCritical,
    }
}

pub fn host_count(services: usize) -> usize {
    (services / 10).max(6)
}

pub fn backup_count(services: usize) -> usize {
    (services / 20).max(1)
}

/// Services with alerts firing: about 1%, at least one.
pub fn alerting_count(services: usize) -> usize {
    (services / 100).max(1)
}

/// The indices of the services with alerts, spread over the estate.
fn alerting(services: usize) -> impl Iterator<Item = usize> {
    let count = alerting_count(services);
    (0..count).map(move |k| (k * services / count + 37) % services.max(1))
}

/// A slow wave in time, so readings taken a second apart differ a little,
/// as a real refresh does.
fn wave(now: DateTime<Utc>, offset_secs: i64, period: f64, phase: f64) -> f64 {
    let t = (now.timestamp() - offset_secs) as f64;
    (std::f64::consts::TAU * t / period + phase).sin()
}

fn sparkline(now: DateTime<Utc>, base: f64, swing: f64, phase: f64) -> Vec<f64> {
    (0..HISTORY_LEN as i64)
        .rev()
        .map(|k| base * (1.0 + swing * wave(now, k * 5, 240.0, phase)))
        .collect()
}

fn service(i: usize, hot: bool, now: DateTime<Utc>) -> ServiceHealth {
    let mut rng = rng_for(SEED, &[1, i as u64]);
    let rps = rng.random_range(1.0..2000.0);
    let phase = rng.random_range(0.0..std::f64::consts::TAU);
    let base_errors = rng.random_range(0.0001..0.0009);
    // 2% of services have overspent their budget, 3% are close to it.
    let error_ratio_30d = match rng.random_range(0..100) {
        0..2 => rng.random_range(0.0012..0.0016),
        2..5 => rng.random_range(0.00078..0.00088),
        _ => rng.random_range(0.00002..0.0005),
    };
    let extra = if hot { 0.06 } else { 0.0 };
    let error_ratio =
        (base_errors * (1.0 + 0.5 * wave(now, 0, 97.0, phase).abs()) + extra).min(1.0);
    let p95 = rng.random_range(30.0..180.0) * (1.0 + 0.15 * wave(now, 0, 180.0, phase));
    let targets_total = rng.random_range(2..12u32);
    let total = rps * WINDOW_SECS;
    let h1 = base_errors * 1.3 + extra * 0.25;
    ServiceHealth {
        name: service_name(i),
        cluster: None,
        tier: tier(i),
        team: TEAMS[i % TEAMS.len()].to_string(),
        requests_per_second: rps * (1.0 + 0.2 * wave(now, 0, 240.0, phase)),
        error_ratio,
        latency_p95_ms: p95,
        latency_p99_ms: p95 * rng.random_range(1.6..2.6),
        saturation: rng.random_range(0.2..0.7) + if hot { 0.2 } else { 0.0 },
        targets_up: targets_total - u32::from(hot),
        targets_total,
        sli: SliCounts {
            good: total * (1.0 - error_ratio_30d),
            total,
        },
        error_ratio_1h: h1,
        error_ratios: ErrorRatios {
            m5: Some(error_ratio),
            m30: Some((error_ratio + h1) / 2.0),
            h1: Some(h1),
            h2: Some(base_errors * 1.2 + extra * 0.15),
            h6: Some(base_errors * 1.1 + extra * 0.05),
            d1: Some(base_errors * 1.05),
            d3: Some(base_errors),
        },
        traffic_history: sparkline(now, rps, 0.2, phase),
        latency_history: sparkline(now, p95, 0.15, phase),
        covered: None,
        via: crate::domain::Via::Simulated,
        objective: None,
        baselines: Default::default(),
    }
}

fn host(i: usize, now: DateTime<Utc>) -> Host {
    let mut rng = rng_for(SEED, &[2, i as u64]);
    let cpu = rng.random_range(0.15..0.85);
    let phase = rng.random_range(0.0..std::f64::consts::TAU);
    let at = |offset: i64| (cpu + 0.1 * wave(now, offset, 150.0, phase)).clamp(0.0, 1.0);
    Host {
        name: format!("node-{i:04}-{}", ZONES[i % ZONES.len()]),
        up: i % 250 != 7,
        cpu: at(0),
        memory: rng.random_range(0.3..0.9),
        disk: rng.random_range(0.2..0.95),
        full_in: None,
        cpu_history: (0..HISTORY_LEN as i64).rev().map(|k| at(k * 5)).collect(),
    }
}

/// Golden signals of `services` services and their hosts at `now`.
pub fn health(services: usize, now: DateTime<Utc>) -> HealthReading {
    let mut hot = vec![false; services];
    for i in alerting(services) {
        hot[i] = true;
    }
    HealthReading {
        looked_for: String::new(),
        services: std::sync::Arc::new((0..services).map(|i| service(i, hot[i], now)).collect()),
        hosts: (0..host_count(services)).map(|i| host(i, now)).collect(),
    }
}

fn version(rng: &mut ChaCha8Rng) -> (u32, u32, u32) {
    (
        rng.random_range(1..6),
        rng.random_range(0..40),
        rng.random_range(10..400),
    )
}

fn strategy(i: usize, rng: &mut ChaCha8Rng, phase: Phase) -> Strategy {
    let progressing = phase == Phase::Progressing;
    match i % 3 {
        0 => Strategy::BlueGreen {
            live: if rng.random_bool(0.5) {
                Colour::Blue
            } else {
                Colour::Green
            },
        },
        1 => Strategy::Canary {
            weight: if progressing { 25.0 } else { 100.0 },
        },
        _ => {
            let total = rng.random_range(2..30u32);
            let updated = if progressing { total / 2 } else { total };
            Strategy::Rolling { updated, total }
        }
    }
}

fn deployment(i: usize, now: DateTime<Utc>) -> Deployment {
    let mut rng = rng_for(SEED, &[3, i as u64]);
    let phase = match i {
        i if i % 97 == 5 => Phase::RolledBack,
        i if i % 331 == 11 => Phase::Failed,
        i if i % 50 == 1 => Phase::Progressing,
        i if i % 173 == 3 => Phase::Paused,
        _ => Phase::Complete,
    };
    let (major, minor, patch) = version(&mut rng);
    let at = now - Duration::seconds(rng.random_range(60..7 * 86_400));
    let history = (0..5u32)
        .map(|k| DeployEvent {
            version: format!("v{major}.{minor}.{}", patch - k),
            at: at - Duration::hours(i64::from(k) * rng.random_range(6..48)),
            outcome: if k == 0 { phase } else { Phase::Complete },
        })
        .collect();
    let deploys = rng.random_range(4..120u64);
    Deployment {
        service: service_name(i),
        environment: "production".into(),
        version: format!("v{major}.{minor}.{patch}"),
        previous_version: Some(format!("v{major}.{minor}.{}", patch - 1)),
        strategy: strategy(i, &mut rng, phase),
        phase,
        deployed_at: Some(at),
        rollbacks: u32::from(phase == Phase::RolledBack) + rng.random_range(0..2),
        history,
        window: Some(ChangeCounts {
            deploys,
            rollbacks: Some(rng.random_range(0..deploys / 8 + 1)),
        }),
        canary: None,
    }
}

/// One production deployment per service, at `now`.
pub fn deployments(services: usize, now: DateTime<Utc>) -> Vec<Deployment> {
    (0..services).map(|i| deployment(i, now)).collect()
}

fn backup(k: usize, now: DateTime<Utc>) -> Backup {
    let i = k * 20;
    let mut rng = rng_for(SEED, &[4, k as u64]);
    let tier = tier(i);
    let objectives = tier.objectives();
    let rpo = objectives.rpo.num_seconds() as f64;
    // 5% of targets are past their RPO, 1% never succeeded.
    let last_success = match k % 100 {
        3 => None,
        7 | 27 | 47 | 67 | 87 => Some(rpo * rng.random_range(1.1..3.0)),
        _ => Some(rpo * rng.random_range(0.05..0.75)),
    };
    let drilled_days = rng.random_range(1..150);
    Backup {
        service: None,
        target: format!("{}-db", service_name(i)),
        tier,
        last_success: last_success.map(|s| now - Duration::seconds(s as i64)),
        size_bytes: rng.random_range(1e8..5e12),
        duration: Some(Duration::seconds(rng.random_range(10..3600))),
        last_verified: (k % 13 != 4).then(|| now - Duration::hours(rng.random_range(1..200))),
        last_drill: (k % 9 != 2).then(|| DrillResult {
            at: now - Duration::days(drilled_days),
            measured_rto: Some(objectives.rto * rng.random_range(3..13) / 10),
        }),
        runs: Some(RunCounts {
            succeeded: rng.random_range(100..3000),
            failed: rng.random_range(0..4),
        }),
        ..Default::default()
    }
}

/// Backups of N/20 targets (at least one), at `now`.
pub fn backups(services: usize, now: DateTime<Utc>) -> Vec<Backup> {
    (0..backup_count(services))
        .map(|k| backup(k, now))
        .collect()
}

fn alerts_of(i: usize, n: usize, now: DateTime<Utc>) -> Vec<Alert> {
    let mut rng = rng_for(SEED, &[5, i as u64]);
    let (name, summary) = ALERTS[n % ALERTS.len()];
    let started = now - Duration::seconds(rng.random_range(30..6 * 3600));
    let service = service_name(i);
    // An incident of one to three alerts (one per instance).
    (0..1 + n % 3)
        .map(|instance| Alert {
            name: name.to_string(),
            service: service.clone(),
            raw_name: name.to_string(),
            raw_service: service.clone(),
            service_label: "service".into(),
            heartbeat: false,
            counted: true,
            severity: if n.is_multiple_of(2) {
                Severity::Critical
            } else {
                Severity::Warning
            },
            summary: format!("{service}: {summary}"),
            runbook: Some(format!(
                "https://runbooks.example.com/{}/{name}",
                TEAMS[i % TEAMS.len()]
            )),
            starts_at: started + Duration::seconds(instance as i64 * 20),
            silenced_by: (n % 7 == 3)
                .then(|| format!("{:08x}", (i as u64).wrapping_mul(2_654_435_761) as u32)),
            inhibited: n % 11 == 5,
            fingerprint: format!("{:016x}", (i as u64) << 8 | instance as u64),
            placement: vec![],
            sources: vec!["alertmanager-eu".into()],
        })
        .collect()
}

fn silence(k: usize, services: usize, now: DateTime<Utc>) -> Silence {
    let i = (k * 131 + 11) % services.max(1);
    let starts = now + Duration::minutes(if k % 3 == 2 { 90 } else { -30 });
    Silence {
        id: format!(
            "{:08x}-{k:04x}",
            (k as u64).wrapping_mul(2_654_435_761) as u32
        ),
        matchers: format!("service=\"{}\"", service_name(i)),
        created_by: ["ops-bot", "alice", "bob", "on-call"][k % 4].into(),
        comment: format!("Maintenance window: change CHG-{:05}", 2000 + k),
        starts_at: starts,
        ends_at: starts + Duration::hours(2),
    }
}

/// Alerts firing on about 1% of the services, and a silence per 200 services
/// (at least two; a third of them pending).
pub fn alerts(services: usize, now: DateTime<Utc>) -> AlertsReading {
    AlertsReading {
        alerts: alerting(services)
            .enumerate()
            .flat_map(|(n, i)| alerts_of(i, n, now))
            .collect(),
        silences: (0..(services / 200).max(2))
            .map(|k| silence(k, services, now))
            .collect(),
    }
}

/// Incidents resolved over the 30 days before `now`: one per 20 services, at
/// least four, each lasting five minutes to two hours.
pub fn history(services: usize, now: DateTime<Utc>) -> Vec<ResolvedIncident> {
    let count = (services / 20).max(4);
    let mut rng = rng_for(SEED, &[6]);
    let mut out: Vec<ResolvedIncident> = (0..count)
        .map(|_| {
            let started = now - Duration::seconds(rng.random_range(3 * 3600..30 * 86_400));
            ResolvedIncident {
                started,
                resolved: started + Duration::seconds(rng.random_range(300..7200)),
            }
        })
        .collect();
    out.sort_by_key(|r| r.started);
    out
}

/// Every feed of an estate of `services` services at `now`, as the pollers
/// would deliver them.
pub fn updates(services: usize, now: DateTime<Utc>) -> Vec<FeedUpdate> {
    Feed::ALL
        .iter()
        .map(|&feed| update(feed, services, now))
        .collect()
}

/// One feed of an estate of `services` services at `now`.
pub fn update(feed: Feed, services: usize, now: DateTime<Utc>) -> FeedUpdate {
    let reading = match feed {
        Feed::Health => Reading::Health(health(services, now)),
        Feed::Deployments => Reading::Deployments(deployments(services, now)),
        Feed::Backups => Reading::Backups(backups(services, now)),
        Feed::Alerts => Reading::Alerts(alerts(services, now)),
        Feed::History => Reading::History(history(services, now)),
    };
    FeedUpdate {
        source: SOURCE.into(),
        feed,
        at: now,
        result: Ok(reading),
        warnings: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use chrono::TimeZone;

    use super::*;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 22, 3, 0, 0).unwrap()
    }

    #[test]
    fn an_estate_has_the_promised_proportions_and_unique_names() {
        let n = 1000;
        let h = health(n, now());
        assert_eq!(h.services.len(), n);
        assert_eq!(h.hosts.len(), 100);
        assert_eq!(deployments(n, now()).len(), n);
        assert_eq!(backups(n, now()).len(), 50);
        let a = alerts(n, now());
        let alerted: BTreeSet<&str> = a.alerts.iter().map(|a| a.service.as_str()).collect();
        assert_eq!(alerted.len(), 10);
        let names: BTreeSet<&str> = h.services.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names.len(), n);
        assert_eq!(h.services[421].name, "svc-00421-email-digest");
        let hosts: BTreeSet<&str> = h.hosts.iter().map(|h| h.name.as_str()).collect();
        assert_eq!(hosts.len(), 100);
    }

    #[test]
    fn a_small_estate_still_has_six_hosts_a_backup_and_an_alert() {
        let h = health(10, now());
        assert_eq!(h.hosts.len(), 6);
        assert_eq!(backups(10, now()).len(), 1);
        assert!(!alerts(10, now()).alerts.is_empty());
    }

    #[test]
    fn the_same_arguments_give_the_same_estate() {
        assert_eq!(updates(200, now()), updates(200, now()));
        assert_ne!(
            health(200, now()),
            health(200, now() + Duration::seconds(1))
        );
    }
}
