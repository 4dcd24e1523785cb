//! Golden signals of the simulated services and hosts: smooth waves with
//! seeded phases, pushed out of shape by whatever incident is active.

use std::f64::consts::TAU;

use rand::Rng;

use super::incidents::{ActiveIncident, Effect};
use super::{SERVICES, rng_for};
use crate::domain::{Host, ServiceHealth, SliCounts};

/// Sparkline history: this many samples, this many seconds apart.
pub const HISTORY_LEN: i64 = 60;
pub const HISTORY_STEP: i64 = 5;
const SLO_WINDOW_SECS: f64 = 30.0 * 86_400.0;

fn wave(t: f64, period: f64, phase: f64) -> f64 {
    (TAU * t / period + phase).sin()
}

#[derive(Debug, Clone)]
pub struct ServiceModel {
    index: usize,
    rps: f64,
    error_ratio: f64,
    p95_ms: f64,
    p99_factor: f64,
    saturation: f64,
    phases: [f64; 5],
    /// Error ratio over the SLO window (sets the 30-day availability).
    error_ratio_30d: f64,
}

pub fn service_models(seed: u64) -> Vec<ServiceModel> {
    let mut rng = rng_for(seed, &[1]);
    // One critical service has overspent its budget and one is close to it,
    // so the KPI tab always has something to say.
    let breaching = rng.random_range(0..4);
    let tight = (breaching + 1 + rng.random_range(0..3)) % 4 + 4;
    SERVICES
        .iter()
        .enumerate()
        .map(|(index, _)| {
            let error_ratio_30d = if index == breaching {
                rng.random_range(0.0012..0.0016)
            } else if index == tight {
                rng.random_range(0.00078..0.00088)
            } else {
                rng.random_range(0.00002..0.0005)
            };
            ServiceModel {
                index,
                rps: rng.random_range(40.0..1800.0),
                error_ratio: rng.random_range(0.0001..0.0009),
                p95_ms: rng.random_range(35.0..150.0),
                p99_factor: rng.random_range(1.6..2.6),
                saturation: rng.random_range(0.2..0.65),
                phases: std::array::from_fn(|_| rng.random_range(0.0..TAU)),
                error_ratio_30d,
            }
        })
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

    pub fn reading(&self, t: i64, active: &[ActiveIncident]) -> ServiceHealth {
        let spec = &SERVICES[self.index];
        let impact = impact_on(spec.name, active);
        let tf = t as f64;
        let error_ratio = (self.error_ratio * (1.0 + 0.5 * wave(tf, 97.0, self.phases[2]).abs())
            + impact.extra_errors)
            .min(1.0);
        let p95 = self.latency_p95(tf, impact.latency_factor);
        let total = self.rps * SLO_WINDOW_SECS;
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
            error_ratio,
            latency_p95_ms: p95,
            latency_p99_ms: p95 * self.p99_factor,
            saturation: (self.saturation
                + 0.1 * wave(tf, 300.0, self.phases[4])
                + if impact.extra_errors > 0.0 { 0.2 } else { 0.0 })
            .clamp(0.0, 1.0),
            targets_up: spec.targets.saturating_sub(impact.targets_down),
            targets_total: spec.targets,
            sli: SliCounts {
                good: total * (1.0 - self.error_ratio_30d),
                total,
            },
            error_ratio_1h: self.error_ratio * 1.3 + impact.extra_errors * 0.25,
            error_ratios: crate::domain::reliability::ErrorRatios {
                m5: Some(error_ratio),
                m30: Some(
                    (error_ratio + self.error_ratio * 1.3 + impact.extra_errors * 0.25) / 2.0,
                ),
                h1: Some(self.error_ratio * 1.3 + impact.extra_errors * 0.25),
                h2: Some(self.error_ratio * 1.2 + impact.extra_errors * 0.15),
                h6: Some(self.error_ratio * 1.1 + impact.extra_errors * 0.05),
                d1: Some(self.error_ratio * 1.05),
                d3: Some(self.error_ratio),
            },
            traffic_history: samples(&|x| self.traffic(x)),
            latency_history: samples(&|x| self.latency_p95(x, 1.0)),
            covered: None,
            via: crate::domain::Via::Simulated,
            objective: None,
        }
    }
}

#[derive(Debug, Clone)]
pub struct HostModel {
    name: &'static str,
    cpu: (f64, f64),
    memory: (f64, f64),
    disk: f64,
    phase: f64,
}

const HOSTS: [(&str, f64, f64, f64, f64, f64); 6] = [
    // name, cpu base, cpu swing, memory base, memory swing, disk
    ("web-01", 0.35, 0.10, 0.52, 0.03, 0.41),
    ("web-02", 0.38, 0.10, 0.55, 0.03, 0.43),
    ("app-01", 0.55, 0.12, 0.66, 0.05, 0.58),
    ("app-02", 0.74, 0.14, 0.70, 0.04, 0.61),
    ("db-01", 0.42, 0.08, 0.79, 0.02, 0.77),
    ("db-02", 0.47, 0.08, 0.71, 0.02, 0.915),
];

pub fn host_models(seed: u64) -> Vec<HostModel> {
    let mut rng = rng_for(seed, &[2]);
    HOSTS
        .iter()
        .map(|&(name, cpu, cpu_swing, mem, mem_swing, disk)| HostModel {
            name,
            cpu: (cpu, cpu_swing),
            memory: (mem, mem_swing),
            disk,
            phase: rng.random_range(0.0..TAU),
        })
        .collect()
}

impl HostModel {
    fn cpu_at(&self, t: f64) -> f64 {
        (self.cpu.0 + self.cpu.1 * wave(t, 150.0, self.phase) + 0.02 * wave(t, 13.0, self.phase))
            .clamp(0.0, 1.0)
    }

    pub fn reading(&self, t: i64) -> Host {
        let tf = t as f64;
        Host {
            name: self.name.to_string(),
            up: true,
            cpu: self.cpu_at(tf),
            memory: (self.memory.0 + self.memory.1 * wave(tf, 400.0, self.phase)).clamp(0.0, 1.0),
            disk: (self.disk + tf.max(0.0) * 1e-7).min(1.0),
            cpu_history: (0..HISTORY_LEN)
                .rev()
                .map(|k| self.cpu_at(((t - k * HISTORY_STEP) / HISTORY_STEP * HISTORY_STEP) as f64))
                .collect(),
        }
    }
}
