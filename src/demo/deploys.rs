//! Simulated deployments: each service releases a few times a day (every 4
//! to 12 hours); a canary's weight steps up, blue-green switches colour,
//! rolling updates pods, and now and then a release fails and is rolled
//! back. The releases are spread so that a short demo session sees one in
//! flight most of the time: those under way when it opens, then a service's
//! first release every ten minutes for the first hour and a half.

use rand::Rng;

use super::{DemoEstate, Rollout, SERVICES, ServiceSpec, WINDOW, rng_for};
use crate::domain::canary::{Basis, Canary, CanaryThresholds, VersionFigures};
use crate::domain::{ChangeCounts, Colour, DeployEvent, Deployment, Phase, Strategy};

const CANARY_STEPS: [f64; 5] = [5.0, 10.0, 25.0, 50.0, 100.0];
const CANARY_STEP_SECS: i64 = 100;
const BLUE_GREEN_SWITCH_SECS: i64 = 300;
const ROLLING_POD_SECS: i64 = 50;
/// A failed release is rolled back this long after it started.
const ROLLBACK_AFTER_SECS: i64 = 150;
/// The share of releases that fail (DORA's elite teams fail under 15%).
const FAILURE_RATE: f64 = 0.06;
/// The first in-session release of a service without one in flight: at the
/// first slot, then a slot apart.
const FIRST_SLOT: i64 = 240;
const SLOT: i64 = 420;
const HISTORY: i64 = 5;
/// The Rollbacks column counts the last seven days.
const ROLLBACK_DAYS: i64 = 7;
/// Release numbers are offset so that the month before the demo's start
/// has positive patch numbers.
const VERSION_BASE: i64 = 400;
/// How far back a rollback looks for a healthy release.
const LOOK_BACK: i64 = 64;

/// A rollback the demo's action made: when (seconds since the start), and
/// the version it went to (`None`: the last one healthy before the
/// release it rolls back).
#[derive(Debug, Clone, PartialEq)]
pub struct ByHand {
    pub at: i64,
    pub to: Option<String>,
}

/// When a service releases: release `n` starts at `first + n·period`.
#[derive(Debug, Clone)]
pub struct Cadence {
    period: i64,
    first: i64,
    major: u32,
    minor: u32,
    /// Its first in-session release fails (one service a seed, so the
    /// tour shows a rollback).
    first_fails: bool,
}

/// Every service's cadence: a period of 4 to 12 hours, and the first
/// release at its `deploy_at` or at a slot in the first hour and a half.
pub fn cadences(seed: u64) -> Vec<Cadence> {
    let mut order = rng_for(seed, &[4]);
    let mut slotted: Vec<(u64, usize)> = SERVICES
        .iter()
        .enumerate()
        .filter(|(_, s)| s.deploy_at.is_none())
        .map(|(i, _)| (order.random(), i))
        .collect();
    slotted.sort_unstable();
    let failing = slotted[order.random_range(0..slotted.len())].1;
    SERVICES
        .iter()
        .enumerate()
        .map(|(index, spec)| {
            let mut rng = rng_for(seed, &[4, index as u64]);
            let slot = slotted.iter().position(|&(_, i)| i == index);
            Cadence {
                period: [4, 6, 8, 12][rng.random_range(0..4)] * 3_600,
                first: spec
                    .deploy_at
                    .unwrap_or(FIRST_SLOT + SLOT * slot.unwrap_or(0) as i64),
                major: rng.random_range(1..5),
                minor: rng.random_range(0..30),
                first_fails: index == failing,
            }
        })
        .collect()
}

impl Cadence {
    fn start(&self, n: i64) -> i64 {
        self.first + n * self.period
    }

    /// The release under way (or last done) at `t`.
    fn release_at(&self, t: i64) -> i64 {
        (t - self.first).div_euclid(self.period)
    }

    /// The releases started in `(t - secs, t]`.
    fn started_within(&self, t: i64, secs: i64) -> std::ops::RangeInclusive<i64> {
        self.release_at(t - secs) + 1..=self.release_at(t)
    }

    fn version(&self, n: i64) -> String {
        format!("v{}.{}.{}", self.major, self.minor, n + VERSION_BASE)
    }
}

/// A uniform draw in [0, 1) for release `n` of service `index`: a month of
/// releases is asked for at every reading, so this is a hash (SplitMix64's
/// finaliser), not a generator seeded per release.
fn draw(seed: u64, index: usize, n: i64) -> f64 {
    let mut z = seed
        ^ (index as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15)
        ^ (n as u64).wrapping_mul(0xD1B5_4A32_D192_ED03);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    (z >> 11) as f64 / (1u64 << 53) as f64
}

/// What one service's releases did: the cadence, the seed and the times of
/// the rollbacks the demo's action made (seconds since the demo started).
struct Releases<'a> {
    estate: &'a DemoEstate,
    index: usize,
    cadence: &'a Cadence,
    by_hand: &'a [ByHand],
}

impl Releases<'_> {
    /// Whether the pipeline fails release `n`. The releases in flight when
    /// the demo starts always succeed.
    fn fails(&self, n: i64) -> bool {
        let spec = &SERVICES[self.index];
        if n == 0 {
            return spec.deploy_at.is_none() && self.cadence.first_fails;
        }
        draw(self.estate.seed, self.index, n) < FAILURE_RATE
    }

    /// When release `n` was rolled back, if it was: by the pipeline a
    /// little after it started, or by an operator while it was the current
    /// release, whichever came first. A release rolls back once.
    fn rolled_back_at(&self, n: i64) -> Option<i64> {
        let (start, next) = (self.cadence.start(n), self.cadence.start(n + 1));
        let pipeline = self.fails(n).then_some(start + ROLLBACK_AFTER_SECS);
        let operator = self
            .by_hand
            .iter()
            .filter(|r| self.resolves(r, n))
            .map(|r| r.at)
            .filter(|at| (start..next).contains(at))
            .min();
        pipeline.into_iter().chain(operator).min()
    }

    /// The last release before `n` that was not rolled back.
    fn healthy_before(&self, n: i64) -> i64 {
        (n - LOOK_BACK..n)
            .rev()
            .find(|&m| self.rolled_back_at(m).is_none())
            .unwrap_or(n - 1)
    }

    /// The release current at `t` and the one it replaced, while release
    /// `n` is the pipeline's latest: `n` itself, or where its rollbacks
    /// went. The pipeline rolls a failed release back to the last healthy
    /// one (unless an operator was quicker); each of an operator's goes to
    /// the version asked for, when that is an earlier release.
    fn current(&self, n: i64, t: i64) -> (i64, Option<i64>) {
        let (start, next) = (self.cadence.start(n), self.cadence.start(n + 1));
        let mut steps: Vec<(i64, i64)> = self
            .by_hand
            .iter()
            .filter(|r| (start..next).contains(&r.at) && r.at <= t)
            .filter_map(|r| match r.to.as_deref() {
                Some(v) => Some((r.at, self.release_of(v, n)?)),
                None => Some((r.at, self.healthy_before(n))),
            })
            .collect();
        let pipeline = start + ROLLBACK_AFTER_SECS;
        if self.fails(n) && pipeline <= t && steps.iter().all(|&(at, _)| at > pipeline) {
            steps.push((pipeline, self.healthy_before(n)));
        }
        steps.sort_unstable();
        let (mut now, mut before) = (n, None);
        for (_, to) in steps {
            if to < now {
                (now, before) = (to, Some(now));
            }
        }
        (now, before)
    }

    /// Whether rollback `r` of release `n` goes anywhere: to the last
    /// healthy release, or to a version that is an earlier release.
    fn resolves(&self, r: &ByHand, n: i64) -> bool {
        r.to.as_deref()
            .is_none_or(|v| self.release_of(v, n).is_some())
    }

    /// The release of `version` before release `n`, if it is one.
    fn release_of(&self, version: &str, n: i64) -> Option<i64> {
        (n - LOOK_BACK..n).find(|&m| self.cadence.version(m) == version)
    }

    fn rolled_back_by(&self, n: i64, t: i64) -> bool {
        self.rolled_back_at(n).is_some_and(|at| at <= t)
    }

    /// Releases started in the `secs` before `t`, and how many of them
    /// were rolled back by `t`.
    fn counts(&self, t: i64, secs: i64) -> (u64, u64) {
        let releases = self.cadence.started_within(t, secs);
        let deploys = releases.clone().count() as u64;
        let rollbacks = releases.filter(|&n| self.rolled_back_by(n, t)).count() as u64;
        (deploys, rollbacks)
    }
}

/// Service `index`'s deployment at `t`, given the rollbacks the demo's
/// action made (`by_hand`).
pub fn deployment(
    estate: &DemoEstate,
    index: usize,
    spec: &ServiceSpec,
    t: i64,
    by_hand: &[ByHand],
) -> Deployment {
    let c = &estate.cadences[index];
    let releases = Releases {
        estate,
        index,
        cadence: c,
        by_hand,
    };
    let n = c.release_at(t);
    let started = c.start(n);
    // Rolled back: to the release `current`, from the one `replaced`.
    let (current, replaced) = releases.current(n, t);
    let rolled_back = replaced.is_some();
    let (strategy, progressing) = strategy(spec, n, t - started);
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
            } else if releases.rolled_back_by(m, t) {
                Phase::RolledBack
            } else {
                Phase::Complete
            };
            DeployEvent {
                version: c.version(m),
                at: estate.at(c.start(m)),
                outcome,
            }
        })
        .collect();
    let (_, week) = releases.counts(t, ROLLBACK_DAYS * 86_400);
    let (deploys, rollbacks) = releases.counts(t, WINDOW);
    let mut d = Deployment {
        service: spec.name.to_string(),
        environment: "production".into(),
        version: c.version(current),
        previous_version: Some(c.version(replaced.unwrap_or(n - 1))),
        strategy: if rolled_back {
            settled(spec, current)
        } else {
            strategy
        },
        phase,
        deployed_at: Some(estate.at(started)),
        rollbacks: week as u32,
        history,
        window: Some(ChangeCounts {
            deploys,
            rollbacks: Some(rollbacks),
        }),
        canary: None,
    };
    if d.in_canary() {
        let worse = releases.fails(n) || (n == 0 && spec.name == WORSE_CANARY);
        let stable = estate.services[index].stable_figures(estate, t);
        d.canary = Some(canary(&d, stable, worse));
    }
    d
}

/// The service whose release in flight when the demo opens has a canary
/// failing 4.1% of requests against the stable version's 0.2%: the first
/// screen shows a canary verdict; the pipeline goes on, rolling it back is
/// the operator's call.
const WORSE_CANARY: &str = "checkout";

/// A canary's figures: the stable version's are the service's own (its
/// signals before the canary's share is mixed in, `DemoEstate::health_at`),
/// the new one's as good, or, for a release that is worse (one going to
/// fail, or `WORSE_CANARY`'s), 4.1% failing: its verdict critical.
fn canary(d: &Deployment, stable: VersionFigures, fails: bool) -> Canary {
    let new = if fails {
        VersionFigures {
            error_ratio: 0.041,
            p95: stable.p95 * 1.2,
        }
    } else {
        VersionFigures {
            error_ratio: stable.error_ratio * 0.9,
            p95: stable.p95 * 1.05,
        }
    };
    let basis = Basis::Version {
        new: d.version.clone(),
        stable: d.previous_version.clone().unwrap_or_default(),
    };
    Canary::judge(new, stable, basis, &CanaryThresholds::default())
}

/// The colour release `n` goes live on.
fn colour(n: i64) -> Colour {
    if n.rem_euclid(2) == 0 {
        Colour::Green
    } else {
        Colour::Blue
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
            let new = colour(n);
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

/// Rolled back to release `to`: all traffic is on it, none on the new
/// one (a canary's weight is 0).
fn settled(spec: &ServiceSpec, to: i64) -> Strategy {
    match spec.rollout {
        Rollout::Canary => Strategy::Canary { weight: 0.0 },
        Rollout::BlueGreen => Strategy::BlueGreen { live: colour(to) },
        Rollout::Rolling => Strategy::Rolling {
            updated: spec.targets,
            total: spec.targets,
        },
    }
}
