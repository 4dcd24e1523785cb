//! Simulated deployments: each service deploys on its own period; a canary's
//! weight steps up, blue-green switches colour, rolling updates pods, and now
//! and then a release fails and is rolled back.

use rand::Rng;

use super::{DemoEstate, Rollout, ServiceSpec, WINDOW, rng_for};
use crate::domain::{ChangeCounts, Colour, DeployEvent, Deployment, Phase, Strategy};

const CANARY_STEPS: [f64; 5] = [5.0, 10.0, 25.0, 50.0, 100.0];
const CANARY_STEP_SECS: i64 = 60;
const BLUE_GREEN_SWITCH_SECS: i64 = 120;
const ROLLING_POD_SECS: i64 = 20;
/// A failed release is rolled back this long after it started.
const ROLLBACK_AFTER_SECS: i64 = 90;
const HISTORY: i64 = 5;

struct Cadence {
    period: i64,
    phase: i64,
    major: u32,
    minor: u32,
}

fn cadence(estate: &DemoEstate, index: usize, spec: &ServiceSpec) -> Cadence {
    let mut rng = rng_for(estate.seed, &[4, index as u64]);
    let period = [1800, 2700, 3600, 5400, 7200][rng.random_range(0..5)];
    let phase = spec
        .deploy_at
        .unwrap_or_else(|| -rng.random_range(400..period));
    Cadence {
        period,
        phase,
        major: rng.random_range(1..5),
        minor: rng.random_range(0..30),
    }
}

fn failed(estate: &DemoEstate, index: usize, n: i64) -> bool {
    // The releases in flight when the demo starts always succeed.
    n != 0 && rng_for(estate.seed, &[5, index as u64, n as u64]).random_bool(0.01)
}

fn version(c: &Cadence, n: i64) -> String {
    format!("v{}.{}.{}", c.major, c.minor, n + 40)
}

pub fn deployment(estate: &DemoEstate, index: usize, spec: &ServiceSpec, t: i64) -> Deployment {
    let c = cadence(estate, index, spec);
    let n = (t - c.phase).div_euclid(c.period);
    let started = n * c.period + c.phase;
    let elapsed = t - started;
    let rolled_back = failed(estate, index, n) && elapsed >= ROLLBACK_AFTER_SECS;
    let (strategy, progressing) = strategy(spec, n, elapsed);
    let phase = if rolled_back {
        Phase::RolledBack
    } else if progressing {
        Phase::Progressing
    } else {
        Phase::Complete
    };
    let history = (0..HISTORY)
        .map(|k| {
            let m = n - k;
            let outcome = if m == n {
                phase
            } else if failed(estate, index, m) {
                Phase::RolledBack
            } else {
                Phase::Complete
            };
            DeployEvent {
                version: version(&c, m),
                at: estate.at(m * c.period + c.phase),
                outcome,
            }
        })
        .collect();
    let rolled_back_among = |releases: i64| {
        (n - releases + 1..=n)
            .filter(|&m| failed(estate, index, m) && (m < n || rolled_back))
            .count() as u64
    };
    let rollbacks = rolled_back_among(7 * 86_400 / c.period) as u32;
    let deploys = WINDOW / c.period;
    Deployment {
        service: spec.name.to_string(),
        environment: "production".into(),
        version: version(&c, if rolled_back { n - 1 } else { n }),
        previous_version: Some(version(&c, if rolled_back { n } else { n - 1 })),
        strategy: if rolled_back {
            settled(strategy, spec)
        } else {
            strategy
        },
        phase,
        deployed_at: Some(estate.at(started)),
        rollbacks,
        history,
        window: Some(ChangeCounts {
            deploys: deploys as u64,
            rollbacks: Some(rolled_back_among(deploys)),
        }),
    }
}

/// The strategy's state `elapsed` seconds into release `n`, and whether the
/// rollout is still in progress.
fn strategy(spec: &ServiceSpec, n: i64, elapsed: i64) -> (Strategy, bool) {
    match spec.rollout {
        Rollout::Canary => {
            let step = (elapsed / CANARY_STEP_SECS).clamp(0, CANARY_STEPS.len() as i64 - 1);
            let weight = CANARY_STEPS[step as usize];
            (Strategy::Canary { weight }, weight < 100.0)
        }
        Rollout::BlueGreen => {
            let new = if n.rem_euclid(2) == 0 {
                Colour::Green
            } else {
                Colour::Blue
            };
            let switched = elapsed >= BLUE_GREEN_SWITCH_SECS;
            let live = if switched { new } else { new.other() };
            (Strategy::BlueGreen { live }, !switched)
        }
        Rollout::Rolling => {
            let total = spec.targets;
            let updated = ((elapsed / ROLLING_POD_SECS + 1) as u32).min(total);
            (Strategy::Rolling { updated, total }, updated < total)
        }
    }
}

/// After a rollback all traffic is back on the old version.
fn settled(strategy: Strategy, spec: &ServiceSpec) -> Strategy {
    match strategy {
        Strategy::Canary { .. } => Strategy::Canary { weight: 0.0 },
        Strategy::BlueGreen { live } => Strategy::BlueGreen { live: live.other() },
        Strategy::Rolling { .. } => Strategy::Rolling {
            updated: spec.targets,
            total: spec.targets,
        },
    }
}
