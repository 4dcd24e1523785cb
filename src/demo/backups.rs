//! Simulated backup targets: scheduled runs, verification and DR drills, with
//! one critical target whose backups have been failing for 47 minutes.

use chrono::Duration;
use rand::Rng;

use super::{DemoEstate, WINDOW, rng_for};
use crate::domain::{Backup, CheckResult, DrillResult, Kept, RunCounts, Tier};

const GIB: f64 = 1024.0 * 1024.0 * 1024.0;

/// How a target's last DR drill went, relative to its tier's RTO.
#[derive(Debug, Clone, Copy)]
enum Drill {
    /// Days ago, and the measured RTO as a fraction of the objective.
    Done(i64, f64),
    Never,
}

#[derive(Debug, Clone)]
struct Spec {
    target: &'static str,
    tier: Tier,
    every_secs: i64,
    size_gib: f64,
    duration_secs: i64,
    verified_daily: bool,
    drill: Drill,
    /// Backups have failed since this many seconds before the demo started.
    failing_since: Option<i64>,
    /// Read from a backup tool rather than metrics: the tool, and how many
    /// days of backups its repository keeps (one per run, older ones
    /// pruned).
    tool: Option<(&'static str, i64)>,
}

const fn spec(
    target: &'static str,
    tier: Tier,
    every_secs: i64,
    size_gib: f64,
    duration_secs: i64,
    drill: Drill,
) -> Spec {
    Spec {
        target,
        tier,
        every_secs,
        size_gib,
        duration_secs,
        verified_daily: true,
        drill,
        failing_since: None,
        tool: None,
    }
}

fn catalogue() -> Vec<Spec> {
    vec![
        Spec {
            tool: Some(("pgbackrest", 14)),
            ..spec(
                "payments-db",
                Tier::Critical,
                600,
                48.0,
                240,
                Drill::Done(12, 0.55),
            )
        },
        spec(
            "orders-db",
            Tier::Critical,
            600,
            120.0,
            420,
            Drill::Done(30, 1.2),
        ),
        Spec {
            failing_since: Some(47 * 60),
            ..spec(
                "auth-db",
                Tier::Critical,
                300,
                6.0,
                60,
                Drill::Done(21, 0.4),
            )
        },
        spec("config-etcd", Tier::Critical, 300, 0.4, 12, Drill::Never),
        spec(
            "inventory-db",
            Tier::Standard,
            1800,
            32.0,
            600,
            Drill::Done(45, 0.5),
        ),
        spec(
            "search-index",
            Tier::Standard,
            2700,
            210.0,
            1500,
            Drill::Done(120, 0.7),
        ),
        spec(
            "user-profile-db",
            Tier::Standard,
            1800,
            18.0,
            300,
            Drill::Done(8, 0.3),
        ),
        Spec {
            verified_daily: false,
            tool: Some(("restic", 30)),
            ..spec(
                "media-bucket",
                Tier::NonCritical,
                3 * 3600,
                2400.0,
                3600,
                Drill::Done(60, 0.6),
            )
        },
        Spec {
            tool: Some(("borg", 90)),
            ..spec(
                "reporting-warehouse",
                Tier::NonCritical,
                2 * 3600,
                860.0,
                2400,
                Drill::Done(33, 0.8),
            )
        },
    ]
}

#[derive(Debug, Clone)]
pub struct BackupModel {
    spec: Spec,
    phase: i64,
    growth: f64,
}

pub fn backup_models(seed: u64) -> Vec<BackupModel> {
    let mut rng = rng_for(seed, &[6]);
    catalogue()
        .into_iter()
        .map(|spec| BackupModel {
            phase: rng.random_range(0..spec.every_secs),
            growth: rng.random_range(0.97..1.05),
            spec,
        })
        .collect()
}

impl BackupModel {
    /// The last run that finished by `t`: run `k` finishes at
    /// `k·every + phase + duration`.
    pub(super) fn last_run(&self, t: i64) -> i64 {
        let s = &self.spec;
        (t - self.phase - s.duration_secs).div_euclid(s.every_secs)
    }

    /// Runs that finished in the window before `t`, and how many of them
    /// failed (those that finished after the failures began): a failure
    /// counts with its run, never without one.
    fn runs(&self, t: i64) -> (u64, u64) {
        let (last, first) = (self.last_run(t), self.last_run(t - WINDOW) + 1);
        let attempted = (last - first + 1).max(0) as u64;
        let failed = self.spec.failing_since.map_or(0, |since| {
            let first_failed = self.last_run(-since) + 1;
            (last - first.max(first_failed) + 1).max(0) as u64
        });
        (attempted, failed)
    }

    pub fn reading(&self, estate: &DemoEstate, t: i64) -> Backup {
        let s = &self.spec;
        let until = s.failing_since.map_or(t, |since| t.min(-since));
        let run = self.last_run(until);
        let finished = run * s.every_secs + self.phase + s.duration_secs;
        let verified = s.verified_daily.then(|| {
            let day = 86_400;
            estate.at((t - self.phase).div_euclid(day) * day + self.phase)
        });
        let objective = s.tier.objectives().rto;
        let (attempted, failed) = self.runs(t);
        Backup {
            service: None,
            target: s.target.to_string(),
            tier: s.tier,
            last_success: Some(estate.at(finished)),
            size_bytes: s.size_gib * GIB * self.growth,
            duration: Some(Duration::seconds(
                (s.duration_secs as f64 * self.growth) as i64,
            )),
            last_verified: verified,
            last_drill: match s.drill {
                Drill::Never => None,
                Drill::Done(days_ago, fraction) => Some(DrillResult {
                    at: estate.at(-Duration::days(days_ago).num_seconds() - self.phase),
                    measured_rto: Some(Duration::seconds(
                        (objective.num_seconds() as f64 * fraction) as i64,
                    )),
                }),
            },
            // A tool's repository lists backups, not failed runs.
            runs: s.tool.is_none().then_some(RunCounts {
                succeeded: attempted - failed,
                failed,
            }),
            tool: s.tool.map(|(tool, _)| tool),
            kept: s.tool.map(|(_, days)| {
                let runs = days * 86_400 / s.every_secs;
                Kept {
                    count: runs as u64 + 1,
                    oldest: Some(estate.at(finished - runs * s.every_secs)),
                }
            }),
            check: s.tool.zip(verified).map(|(_, at)| CheckResult {
                at,
                passed: true,
                words: String::new(),
            }),
            ..Default::default()
        }
    }
}
