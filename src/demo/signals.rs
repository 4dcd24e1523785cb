//! Golden signals of the simulated services and hosts: smooth waves with
//! seeded phases, pushed out of shape by whatever incident is active.

use std::f64::consts::TAU;

use rand::Rng;

use super::errors::ErrorModel;
use super::incidents::{ActiveIncident, Burst, Effect};
use super::{SERVICES, WINDOW, rng_for};
use crate::domain::anomaly::{Baseline, Baselines, Basis};
use crate::domain::canary::VersionFigures;
use crate::domain::reliability::ErrorRatios;
use crate::domain::{Host, ServiceHealth, SliCounts};

/// Sparkline history: this many samples, this many seconds apart.
pub const HISTORY_LEN: i64 = 60;
pub const HISTORY_STEP: i64 = 5;

fn wave(t: f64, period: f64, phase: f64) -> f64 {
    (TAU * t / period + phase).sin()
}

#[derive(Debug, Clone)]
pub struct ServiceModel {
    index: usize,
    rps: f64,
    p95_ms: f64,
    p99_factor: f64,
    saturation: f64,
    phases: [f64; 5],
    /// Its error ratio over time, which every error figure averages.
    pub errors: ErrorModel,
}

pub fn service_models(seed: u64) -> Vec<ServiceModel> {
    let mut rng = rng_for(seed, &[1]);
    // One critical service has overspent its budget and one is close to it,
    // so the KPI tab always has something to say: the month before the
    // demo averages these ratios (an outage days ago spent the budget).
    let breaching = rng.random_range(0..4);
    let tight = (breaching + 1 + rng.random_range(0..3)) % 4 + 4;
    let before = super::incidents::bursts(seed, 0);
    SERVICES
        .iter()
        .enumerate()
        .map(|(index, spec)| {
            let ratio_30d = if index == breaching {
                rng.random_range(0.0012..0.0016)
            } else if index == tight {
                rng.random_range(0.00078..0.00088)
            } else {
                rng.random_range(0.00002..0.0005)
            };
            let rps = rng.random_range(40.0..1800.0);
            let base = rng.random_range(0.0001..0.0009);
            let (p95_ms, p99_factor) = (rng.random_range(35.0..150.0), rng.random_range(1.6..2.6));
            let saturation = rng.random_range(0.2..0.65);
            let phases: [f64; 5] = std::array::from_fn(|_| rng.random_range(0.0..TAU));
            let mut own = rng_for(seed, &[8, index as u64]);
            let spent = index == breaching || index == tight;
            let background = if spent {
                own.random_range(0.0003..0.0006)
            } else {
                ratio_30d
            };
            let bursts = of_service(&before, spec.name);
            let errors = ErrorModel::new(
                base,
                phases[2],
                background,
                spent.then_some(ratio_30d),
                &mut own,
                &bursts,
            );
            ServiceModel {
                index,
                rps,
                p95_ms,
                p99_factor,
                saturation,
                phases,
                errors,
            }
        })
        .collect()
}

/// The bursts on `service`.
pub fn of_service(bursts: &[Burst], service: &str) -> Vec<Burst> {
    bursts
        .iter()
        .filter(|b| b.service == service)
        .copied()
        .collect()
}

/// What the incidents active on one service do to it.
#[derive(Debug, Clone, Copy, Default)]
struct Impact {
    extra_errors: f64,
    latency_factor: f64,
    targets_down: u32,
}

fn impact_on(service: &str, active: &[ActiveIncident]) -> Impact {
    let mut impact = Impact {
        latency_factor: 1.0,
        ..Impact::default()
    };
    for incident in active.iter().filter(|i| i.service == service) {
        match incident.effect {
            Effect::Errors(ratio) => impact.extra_errors += ratio,
            Effect::Latency(factor) => impact.latency_factor *= factor,
            Effect::TargetDown => impact.targets_down += 1,
            Effect::None => {}
        }
    }
    impact
}

impl ServiceModel {
    fn name(&self) -> &'static str {
        SERVICES[self.index].name
    }

    fn traffic(&self, t: f64) -> f64 {
        let [a, b, ..] = self.phases;
        self.rps * (1.0 + 0.2 * wave(t, 240.0, a) + 0.06 * wave(t, 23.0, b))
    }

    fn latency_p95(&self, t: f64, factor: f64) -> f64 {
        self.p95_ms * (1.0 + 0.15 * wave(t, 180.0, self.phases[3])) * factor
    }

    /// Its error ratio averaged over each burn window ending at `t`.
    pub fn error_ratios(&self, t: i64, bursts: &[Burst]) -> ErrorRatios {
        let mean = |secs: i64| Some(self.errors.mean(t, secs, bursts));
        ErrorRatios {
            m5: mean(300),
            m30: mean(1_800),
            h1: mean(3_600),
            h2: mean(7_200),
            h6: mean(6 * 3_600),
            d1: mean(86_400),
            d3: mean(3 * 86_400),
        }
    }

    /// Its figures at `t` as the stable version of a canary: its 5-minute
    /// error ratio and p95 (in seconds), incidents and all.
    pub fn stable_figures(&self, estate: &super::DemoEstate, t: i64) -> VersionFigures {
        let spec = &SERVICES[self.index];
        let bursts = of_service(&super::incidents::bursts(estate.seed, t), spec.name);
        let impact = impact_on(spec.name, &super::incidents::active(estate.seed, t));
        VersionFigures {
            error_ratio: self.errors.mean(t, 300, &bursts),
            p95: self.latency_p95(t as f64, impact.latency_factor) / 1000.0,
        }
    }

    /// Its reading at `t`, with the incidents active then and its own
    /// `bursts` of errors.
    pub fn reading(&self, t: i64, active: &[ActiveIncident], bursts: &[Burst]) -> ServiceHealth {
        let spec = &SERVICES[self.index];
        let impact = impact_on(spec.name, active);
        let tf = t as f64;
        let ratios = self.error_ratios(t, bursts);
        let p95 = self.latency_p95(tf, impact.latency_factor);
        // The month's requests at its mean rate; the bad ones are the
        // month's mean error ratio of them.
        let total = self.rps * WINDOW as f64;
        let month = self.errors.mean(t, WINDOW, bursts);
        let samples = |f: &dyn Fn(f64) -> f64| -> Vec<f64> {
            (0..HISTORY_LEN)
                .rev()
                .map(|k| f(((t - k * HISTORY_STEP) / HISTORY_STEP * HISTORY_STEP) as f64))
                .collect()
        };
        ServiceHealth {
            name: self.name().to_string(),
            cluster: None,
            tier: spec.tier,
            team: spec.team.to_string(),
            requests_per_second: self.traffic(tf),
            // "Now" is the last five minutes, as a rate() over 5m reads.
            error_ratio: ratios.m5.unwrap_or(0.0),
            latency_p95_ms: p95,
            latency_p99_ms: p95 * self.p99_factor,
            saturation: (self.saturation
                + 0.1 * wave(tf, 300.0, self.phases[4])
                + if impact.extra_errors > 0.0 { 0.2 } else { 0.0 })
            .clamp(0.0, 1.0),
            targets_up: spec.targets.saturating_sub(impact.targets_down),
            targets_total: spec.targets,
            sli: SliCounts {
                good: total * (1.0 - month),
                total,
            },
            error_ratio_1h: ratios.h1.unwrap_or(0.0),
            error_ratios: ratios,
            traffic_history: samples(&|x| self.traffic(x)),
            latency_history: samples(&|x| self.latency_p95(x, 1.0)),
            covered: None,
            via: crate::domain::Via::Simulated,
            objective: None,
            baselines: self.baselines(&ratios),
        }
    }

    /// What its past week says is usual at this time of day: its mean rate
    /// and latency and its last day's errors, each with the spread of its
    /// waves. search's week was quieter: a campaign brought it 2.2 times
    /// its usual traffic, the anomaly the demo shows.
    fn baselines(&self, ratios: &ErrorRatios) -> Baselines {
        let week = |mean: f64, deviation: f64| {
            Some(Baseline {
                mean,
                deviation,
                basis: Basis::Week { days: 7 },
            })
        };
        let usual = if self.name() == "search" {
            self.rps / 2.2
        } else {
            self.rps
        };
        let errors = ratios.d1.unwrap_or(0.0);
        Baselines {
            traffic: week(usual, 0.15 * usual),
            errors: week(errors, 0.5 * errors),
            p95: week(self.p95_ms, 0.1 * self.p95_ms),
        }
    }
}

#[derive(Debug, Clone)]
pub struct HostModel {
    name: &'static str,
    cpu: (f64, f64),
    memory: (f64, f64),
    disk: f64,
    disk_growth: f64,
    phase: f64,
}

/// A disk growing by this share of itself a second: db-02's, full in
/// about ten days, outside the forecast's warning horizon.
const SLOW_GROWTH: f64 = 1e-7;

/// app-01's log volume, full 14 hours after the demo starts: the forecast
/// inside the warning horizon that the screenshots show.
const FAST_GROWTH: f64 = (1.0 - 0.58) / (14.0 * 3600.0);

const HOSTS: [(&str, f64, f64, f64, f64, f64, f64); 6] = [
    // name, cpu base, cpu swing, memory base, memory swing, disk, disk growth
    ("web-01", 0.35, 0.10, 0.52, 0.03, 0.41, 0.0),
    ("web-02", 0.38, 0.10, 0.55, 0.03, 0.43, 0.0),
    ("app-01", 0.55, 0.12, 0.66, 0.05, 0.58, FAST_GROWTH),
    ("app-02", 0.74, 0.14, 0.70, 0.04, 0.61, 0.0),
    ("db-01", 0.42, 0.08, 0.79, 0.02, 0.77, 0.0),
    ("db-02", 0.47, 0.08, 0.71, 0.02, 0.915, SLOW_GROWTH),
];

pub fn host_models(seed: u64) -> Vec<HostModel> {
    let mut rng = rng_for(seed, &[2]);
    HOSTS
        .iter()
        .map(
            |&(name, cpu, cpu_swing, mem, mem_swing, disk, disk_growth)| HostModel {
                name,
                cpu: (cpu, cpu_swing),
                memory: (mem, mem_swing),
                disk,
                disk_growth,
                phase: rng.random_range(0.0..TAU),
            },
        )
        .collect()
}

impl HostModel {
    fn cpu_at(&self, t: f64) -> f64 {
        (self.cpu.0 + self.cpu.1 * wave(t, 150.0, self.phase) + 0.02 * wave(t, 13.0, self.phase))
            .clamp(0.0, 1.0)
    }

    pub fn reading(&self, t: i64) -> Host {
        let tf = t as f64;
        let disk = (self.disk + tf.max(0.0) * self.disk_growth).min(1.0);
        Host {
            name: self.name.to_string(),
            up: true,
            cpu: self.cpu_at(tf),
            memory: (self.memory.0 + self.memory.1 * wave(tf, 400.0, self.phase)).clamp(0.0, 1.0),
            disk,
            full_in: (self.disk_growth > 0.0)
                .then(|| crate::domain::forecast::seconds((1.0 - disk) / self.disk_growth))
                .flatten(),
            cpu_history: (0..HISTORY_LEN)
                .rev()
                .map(|k| self.cpu_at(((t - k * HISTORY_STEP) / HISTORY_STEP * HISTORY_STEP) as f64))
                .collect(),
        }
    }
}
