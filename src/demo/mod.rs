//! The embedded simulated estate behind `opsdeck demo`. Every reading is a
//! pure function of the seed and the time elapsed since the demo started, so
//! a seed always shows the same estate at the same moment. It implements the
//! same source traits as the live sources.

pub mod actions;
mod backups;
mod deploys;
mod errors;
mod incidents;
pub mod oncall;
pub mod scaled;
mod signals;
mod storm;

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use crate::domain::{AlertsReading, Backup, Deployment, HealthReading, ResolvedIncident, Tier};
use crate::sources::{AlertSource, Feed, FeedUpdate, Fetch, Fetched, MetricsSource, Reading};

pub const DEFAULT_SEED: u64 = 42;
/// The demo's SLO window (the default), over which it counts deployments
/// and backup runs.
pub const WINDOW: i64 = 30 * 86_400;

/// How a service is deployed in the simulation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Rollout {
    BlueGreen,
    Canary,
    Rolling,
}

struct ServiceSpec {
    name: &'static str,
    tier: Tier,
    team: &'static str,
    rollout: Rollout,
    targets: u32,
    /// Seconds after the demo starts when a deployment begins, so the first
    /// screen always shows rollouts in flight.
    deploy_at: Option<i64>,
}

const fn svc(
    name: &'static str,
    tier: Tier,
    team: &'static str,
    rollout: Rollout,
    targets: u32,
    deploy_at: Option<i64>,
) -> ServiceSpec {
    ServiceSpec {
        name,
        tier,
        team,
        rollout,
        targets,
        deploy_at,
    }
}

const SERVICES: [ServiceSpec; 13] = [
    svc(
        "api-gateway",
        Tier::Critical,
        "edge",
        Rollout::BlueGreen,
        6,
        None,
    ),
    svc("auth", Tier::Critical, "identity", Rollout::Canary, 4, None),
    svc(
        "checkout",
        Tier::Critical,
        "payments",
        Rollout::Canary,
        6,
        Some(-110),
    ),
    svc(
        "payments",
        Tier::Critical,
        "payments",
        Rollout::BlueGreen,
        4,
        Some(-45),
    ),
    svc(
        "orders",
        Tier::Standard,
        "commerce",
        Rollout::Rolling,
        8,
        Some(-50),
    ),
    svc(
        "inventory",
        Tier::Standard,
        "commerce",
        Rollout::Rolling,
        4,
        None,
    ),
    svc(
        "search",
        Tier::Standard,
        "discovery",
        Rollout::Canary,
        6,
        Some(150),
    ),
    svc(
        "notifications",
        Tier::Standard,
        "messaging",
        Rollout::Rolling,
        3,
        None,
    ),
    svc(
        "user-profile",
        Tier::Standard,
        "identity",
        Rollout::BlueGreen,
        3,
        None,
    ),
    svc(
        "recommendations",
        Tier::NonCritical,
        "discovery",
        Rollout::Canary,
        4,
        None,
    ),
    svc(
        "reporting",
        Tier::NonCritical,
        "data",
        Rollout::Rolling,
        2,
        None,
    ),
    svc(
        "email-digest",
        Tier::NonCritical,
        "messaging",
        Rollout::Rolling,
        2,
        None,
    ),
    svc(
        "image-resizer",
        Tier::NonCritical,
        "media",
        Rollout::Rolling,
        3,
        None,
    ),
];

/// A deterministic random stream for one part of the estate.
fn rng_for(seed: u64, parts: &[u64]) -> ChaCha8Rng {
    let mixed = parts.iter().fold(seed ^ 0x6f70_7364_6563_6b21, |acc, p| {
        acc.rotate_left(23) ^ p.wrapping_add(1).wrapping_mul(0x9E37_79B9_7F4A_7C15)
    });
    ChaCha8Rng::seed_from_u64(mixed)
}

/// The simulated estate. Cheap to query; a function of the seed and time,
/// plus what actions changed (shared between clones).
#[derive(Debug, Clone)]
pub struct DemoEstate {
    seed: u64,
    started: DateTime<Utc>,
    services: Vec<signals::ServiceModel>,
    hosts: Vec<signals::HostModel>,
    backups: Vec<backups::BackupModel>,
    cadences: Vec<deploys::Cadence>,
    changes: std::sync::Arc<std::sync::Mutex<actions::Changes>>,
}

impl DemoEstate {
    pub fn new(seed: u64, started: DateTime<Utc>) -> DemoEstate {
        DemoEstate {
            seed,
            started,
            services: signals::service_models(seed),
            hosts: signals::host_models(seed),
            backups: backups::backup_models(seed),
            cadences: deploys::cadences(seed),
            changes: Default::default(),
        }
    }

    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// Whole seconds of simulated time at `now`.
    fn elapsed(&self, now: DateTime<Utc>) -> i64 {
        (now - self.started).num_seconds()
    }

    fn at(&self, t: i64) -> DateTime<Utc> {
        self.started + Duration::seconds(t)
    }

    pub fn health_at(&self, now: DateTime<Utc>) -> HealthReading {
        let t = self.elapsed(now);
        let active = incidents::active(self.seed, t);
        let bursts = incidents::bursts(self.seed, t);
        let mut reading = HealthReading {
            looked_for: String::new(),
            services: std::sync::Arc::new(
                self.services
                    .iter()
                    .zip(SERVICES.iter())
                    .map(|(m, spec)| {
                        m.reading(t, &active, &signals::of_service(&bursts, spec.name))
                    })
                    .collect(),
            ),
            hosts: self.hosts.iter().map(|h| h.reading(t)).collect(),
        };
        mix_canaries(&mut reading, &self.deployments_at(now));
        reading
    }

    pub fn deployments_at(&self, now: DateTime<Utc>) -> Vec<Deployment> {
        let t = self.elapsed(now);
        let by_hand = self
            .changes
            .lock()
            .map(|c| c.rollbacks.clone())
            .unwrap_or_default();
        SERVICES
            .iter()
            .enumerate()
            .map(|(i, spec)| {
                let made: Vec<deploys::ByHand> = by_hand
                    .get(spec.name)
                    .into_iter()
                    .flatten()
                    .map(|(at, to)| deploys::ByHand {
                        at: self.elapsed(*at),
                        to: to.clone(),
                    })
                    .collect();
                deploys::deployment(self, i, spec, t, &made)
            })
            .collect()
    }

    /// Rolls `service`'s current release back at `at` to the last release
    /// healthy before it, as the demo's rollback action does: from then on
    /// its row, its history and its rollback counts (the Rollbacks column,
    /// the change failure rate) say so. A release already rolled back is
    /// not counted again.
    pub fn roll_back(&self, service: &str, at: DateTime<Utc>) {
        if let Ok(mut changes) = self.changes.lock() {
            changes.record_rollback(service, at, None);
        }
    }

    pub fn backups_at(&self, now: DateTime<Utc>) -> Vec<Backup> {
        let t = self.elapsed(now);
        self.backups.iter().map(|b| b.reading(self, t)).collect()
    }

    pub fn alerts_at(&self, now: DateTime<Utc>) -> AlertsReading {
        incidents::alerts(self, self.elapsed(now))
    }

    /// Every feed read at `now`, as the pollers would deliver them: for
    /// one-shot use (`status --demo`) and for tests of a known state.
    pub fn updates_at(&self, now: DateTime<Utc>, history: Duration) -> Vec<FeedUpdate> {
        self.feeds_at(now, &Feed::ALL, history)
    }

    /// The readings of `feeds` at `now`; the incident history over `history`.
    pub fn feeds_at(
        &self,
        now: DateTime<Utc>,
        feeds: &[Feed],
        history: Duration,
    ) -> Vec<FeedUpdate> {
        let readings = feeds.iter().map(|&feed| {
            let reading = match feed {
                Feed::Health => Reading::Health(self.health_at(now)),
                Feed::Deployments => Reading::Deployments(self.deployments_at(now)),
                Feed::Backups => Reading::Backups(self.backups_at(now)),
                Feed::Alerts => Reading::Alerts(self.alerts_at(now)),
                Feed::History => Reading::History(self.history_at(now, history)),
            };
            (feed, reading)
        });
        readings
            .into_iter()
            .map(|(feed, reading)| FeedUpdate {
                source: "demo".into(),
                feed,
                at: now,
                result: Ok(reading),
                warnings: Vec::new(),
            })
            .collect()
    }

    pub fn history_at(&self, now: DateTime<Utc>, window: Duration) -> Vec<ResolvedIncident> {
        let t = self.elapsed(now);
        incidents::resolved(self.seed, t - window.num_seconds(), t)
            .into_iter()
            .map(|(start, end)| ResolvedIncident {
                started: self.at(start),
                resolved: self.at(end),
            })
            .collect()
    }
}

#[async_trait]
impl MetricsSource for DemoEstate {
    fn name(&self) -> &str {
        "demo"
    }

    async fn health(&self, now: DateTime<Utc>) -> Fetch<HealthReading> {
        Ok(Fetched::clean(self.health_at(now)))
    }

    async fn deployments(&self, now: DateTime<Utc>) -> Fetch<Vec<Deployment>> {
        Ok(Fetched::clean(self.deployments_at(now)))
    }

    async fn backups(&self, now: DateTime<Utc>) -> Fetch<Vec<Backup>> {
        Ok(Fetched::clean(self.backups_at(now)))
    }

    async fn incident_history(
        &self,
        now: DateTime<Utc>,
        window: Duration,
    ) -> Fetch<Vec<ResolvedIncident>> {
        Ok(Fetched::clean(self.history_at(now, window)))
    }
}

#[async_trait]
impl AlertSource for DemoEstate {
    fn name(&self) -> &str {
        "demo"
    }

    async fn alerts(&self, now: DateTime<Utc>) -> Fetch<AlertsReading> {
        Ok(Fetched::clean(self.alerts_at(now)))
    }
}

#[cfg(test)]
mod figures;
#[cfg(test)]
mod tests;

/// A canary's share of its service's requests served by the new version:
/// the service's 5-minute error ratio is the two versions' mixed by weight,
/// so Health agrees with the Deploys tab's verdict (a blue-green serves
/// none on the new colour until it switches, and is not mixed).
fn mix_canaries(reading: &mut HealthReading, deployments: &[Deployment]) {
    let services = std::sync::Arc::make_mut(&mut reading.services);
    for d in deployments {
        let (Some(c), crate::domain::Strategy::Canary { weight }) = (&d.canary, d.strategy) else {
            continue;
        };
        let Some(s) = services.iter_mut().find(|s| s.name == d.service) else {
            continue;
        };
        let w = (weight / 100.0).clamp(0.0, 1.0);
        let mixed = (1.0 - w) * c.stable.error_ratio + w * c.new.error_ratio;
        s.error_ratio = mixed;
        s.error_ratios.m5 = Some(mixed);
    }
}
