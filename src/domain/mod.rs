//! The estate in the operator's words: services, hosts, deployments, backups,
//! alerts and incidents, plus the pure math that judges them (no I/O, no clock).

pub mod anomaly;
pub mod canary;
pub mod changes;
pub mod explain;
pub mod forecast;
pub mod incidents;
pub mod kpi;
pub mod markers;
pub mod matchers;
pub mod oncall;
#[cfg(test)]
mod properties;
pub mod reliability;
pub mod rollback;
pub mod slo;
pub mod standing;
pub mod storms;
pub mod summary;

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

/// How something is doing, ordered from best to worst so `max` gives the worst.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    #[default]
    Ok,
    /// No data, or data too old to judge: never shown as OK.
    Unknown,
    Warn,
    Crit,
}

impl Status {
    /// The word shown next to the colour, so every state reads without colour too.
    pub fn label(self) -> &'static str {
        match self {
            Status::Ok => "OK",
            Status::Unknown => "UNKNOWN",
            Status::Warn => "WARN",
            Status::Crit => "CRIT",
        }
    }

    /// A one-cell symbol for narrow columns.
    pub fn symbol(self) -> &'static str {
        match self {
            Status::Ok => "✔",
            Status::Unknown => "?",
            Status::Warn => "▲",
            Status::Crit => "✖",
        }
    }

    pub fn worst(items: impl IntoIterator<Item = Status>) -> Status {
        items.into_iter().max().unwrap_or(Status::Ok)
    }
}

/// Recovery tier of a service or backup target; it sets the RTO and RPO.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
#[serde(rename_all = "kebab-case")]
pub enum Tier {
    Critical,
    #[default]
    Standard,
    NonCritical,
}

impl Tier {
    pub const ALL: [Tier; 3] = [Tier::Critical, Tier::Standard, Tier::NonCritical];

    pub fn label(self) -> &'static str {
        match self {
            Tier::Critical => "critical",
            Tier::Standard => "standard",
            Tier::NonCritical => "non-critical",
        }
    }

    /// Default recovery objectives from the operations documents.
    pub fn objectives(self) -> RecoveryObjectives {
        let (rto_min, rpo_min) = match self {
            Tier::Critical => (60, 15),
            Tier::Standard => (4 * 60, 60),
            Tier::NonCritical => (24 * 60, 4 * 60),
        };
        RecoveryObjectives {
            rto: Duration::minutes(rto_min),
            rpo: Duration::minutes(rpo_min),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecoveryObjectives {
    pub rto: Duration,
    pub rpo: Duration,
}

/// Alert thresholds; values at or above a threshold are critical, and values
/// within 90% of it are a warning.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Thresholds {
    pub cpu: f64,
    pub memory: f64,
    pub disk: f64,
    /// A disk forecast to fill within this is a warning…
    pub disk_full_warn: Duration,
    /// …and within this, critical.
    pub disk_full_crit: Duration,
    pub latency_ms: f64,
    pub error_ratio: f64,
    /// How long a deployment may stay `progressing` before it is stalled
    /// (Kubernetes' `progressDeadlineSeconds` is 10 minutes too).
    pub progress_deadline: Duration,
    /// A figure more than this many deviations from its usual value is
    /// unusual (a warning); 0 turns anomalies off.
    pub anomaly_deviations: f64,
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds {
            cpu: 0.80,
            memory: 0.85,
            disk: 0.90,
            disk_full_warn: Duration::hours(24),
            disk_full_crit: Duration::hours(4),
            latency_ms: 2000.0,
            error_ratio: 0.05,
            progress_deadline: Duration::minutes(10),
            anomaly_deviations: 3.0,
        }
    }
}

/// Service-level objectives; every one is overridable in configuration.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Objectives {
    pub availability: f64,
    pub error_ratio: f64,
    pub latency_p95_ms: f64,
    pub mttr: Duration,
    pub slo_window: Duration,
    /// DORA change failure rate: rollbacks ÷ deployments, at most.
    pub change_failure_rate: f64,
    /// Backup runs that succeed, at least.
    pub backup_success: f64,
}

impl Default for Objectives {
    fn default() -> Self {
        Objectives {
            availability: 0.999,
            error_ratio: 0.001,
            latency_p95_ms: 200.0,
            mttr: Duration::minutes(30),
            slo_window: Duration::days(30),
            change_failure_rate: 0.15,
            backup_success: 0.999,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Info,
    Warning,
    Critical,
}

impl Severity {
    pub fn label(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Critical => "critical",
        }
    }

    pub fn symbol(self) -> &'static str {
        match self {
            Severity::Info => "•",
            Severity::Warning => "▲",
            Severity::Critical => "✖",
        }
    }

    pub fn status(self) -> Status {
        match self {
            Severity::Info => Status::Ok,
            Severity::Warning => Status::Warn,
            Severity::Critical => Status::Crit,
        }
    }

    /// Parses the `severity` label; anything unrecognised is a warning, so an
    /// alert is never hidden because of a label spelling.
    pub fn from_label(value: &str) -> Severity {
        match value.to_ascii_lowercase().as_str() {
            "critical" | "crit" | "page" | "error" => Severity::Critical,
            "info" | "informational" | "none" => Severity::Info,
            _ => Severity::Warning,
        }
    }
}

/// Request counts over the SLO window: the raw material of availability.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct SliCounts {
    pub good: f64,
    pub total: f64,
}

/// Golden signals of one service, now, plus its recent history.
#[derive(Debug, Clone, PartialEq)]
pub struct ServiceHealth {
    pub name: String,
    pub cluster: Option<String>,
    pub tier: Tier,
    pub team: String,
    pub requests_per_second: f64,
    pub error_ratio: f64,
    pub latency_p95_ms: f64,
    pub latency_p99_ms: f64,
    /// Fraction of capacity in use (0..1).
    pub saturation: f64,
    pub targets_up: u32,
    pub targets_total: u32,
    /// Good and total requests over the SLO window.
    pub sli: SliCounts,
    /// Error ratio over the last hour, for the burn rate.
    pub error_ratio_1h: f64,
    /// Error ratios over the burn-rate alert's windows.
    pub error_ratios: reliability::ErrorRatios,
    /// Requests per second over the last minutes, oldest first.
    pub traffic_history: Vec<f64>,
    pub latency_history: Vec<f64>,
    /// How much of the SLO window its counts cover: the time since its
    /// first sample in the window, where the server says (a fresh server, a
    /// new service, a retention shorter than the window); `None` when not
    /// known, taken as the whole window.
    pub covered: Option<chrono::Duration>,
    /// Where its figures come from.
    pub via: Via,
    /// Its own availability objective, where its SLO declares one (Sloth,
    /// Pyrra); else the configured one applies.
    pub objective: Option<f64>,
    /// Its usual traffic, error ratio and p95, where its history gives them.
    pub baselines: anomaly::Baselines,
}

impl ServiceHealth {
    /// Its availability objective: its own, else `default`.
    pub fn objective_or(&self, default: f64) -> f64 {
        self.objective.unwrap_or(default)
    }

    /// A service named only by `feed`: every figure unknown.
    pub fn unknown(name: &str, feed: &'static str) -> ServiceHealth {
        ServiceHealth {
            name: name.to_string(),
            cluster: None,
            tier: Tier::Standard,
            team: String::new(),
            requests_per_second: f64::NAN,
            error_ratio: f64::NAN,
            latency_p95_ms: f64::NAN,
            latency_p99_ms: f64::NAN,
            saturation: f64::NAN,
            targets_up: 0,
            targets_total: 0,
            sli: SliCounts::default(),
            error_ratio_1h: f64::NAN,
            error_ratios: reliability::ErrorRatios::default(),
            traffic_history: Vec::new(),
            latency_history: Vec::new(),
            covered: None,
            via: Via::Only(feed),
            objective: None,
            baselines: Default::default(),
        }
    }
}

/// Where a service's figures come from.
#[derive(Debug, Clone)]
pub enum Via {
    /// Its request metrics, read by a convention of the catalogue.
    Sli(std::sync::Arc<SliVia>),
    /// Named only by another feed (scrape targets, alerts, deployments,
    /// the configuration): it has no request metrics.
    Only(&'static str),
    /// The demo's simulation.
    Simulated,
}

/// The convention behind a service's figures, the label that named it,
/// and the other conventions that also name it (a proxy in front of it).
#[derive(Debug, Clone, PartialEq)]
pub struct SliVia {
    pub convention: std::sync::Arc<crate::sli::Convention>,
    pub label: String,
    pub also: Vec<String>,
}

/// Readings are compared to tell a new one from the same again: the
/// services of one reading share their `SliVia`, so the address decides
/// at once.
impl PartialEq for Via {
    fn eq(&self, other: &Via) -> bool {
        match (self, other) {
            (Via::Sli(a), Via::Sli(b)) => std::sync::Arc::ptr_eq(a, b) || a == b,
            (Via::Only(a), Via::Only(b)) => a == b,
            (Via::Simulated, Via::Simulated) => true,
            _ => false,
        }
    }
}

impl Via {
    /// Whether the service has request metrics at all.
    pub fn has_requests(&self) -> bool {
        !matches!(self, Via::Only(_))
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Host {
    pub name: String,
    pub up: bool,
    pub cpu: f64,
    pub memory: f64,
    pub disk: f64,
    /// When its soonest-filling filesystem is full at its recent growth;
    /// `None` when none is filling, or the source cannot forecast.
    pub full_in: Option<Duration>,
    pub cpu_history: Vec<f64>,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct HealthReading {
    /// Shared: a reading that did not change is the same list, held once
    /// by the source, the app and the merged panel.
    pub services: std::sync::Arc<Vec<ServiceHealth>>,
    pub hosts: Vec<Host>,
    /// What the request-metric queries looked for and what the server
    /// has, for a panel with no request metrics.
    pub looked_for: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Colour {
    Blue,
    Green,
}

impl Colour {
    pub fn label(self) -> &'static str {
        match self {
            Colour::Blue => "blue",
            Colour::Green => "green",
        }
    }

    pub fn other(self) -> Colour {
        match self {
            Colour::Blue => Colour::Green,
            Colour::Green => Colour::Blue,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Strategy {
    BlueGreen {
        live: Colour,
    },
    /// Percent of traffic on the new version.
    Canary {
        weight: f64,
    },
    Rolling {
        updated: u32,
        total: u32,
    },
}

impl Strategy {
    pub fn label(&self) -> &'static str {
        match self {
            Strategy::BlueGreen { .. } => "blue-green",
            Strategy::Canary { .. } => "canary",
            Strategy::Rolling { .. } => "rolling",
        }
    }

    /// Live colour, canary weight or rollout progress, in a few characters.
    pub fn progress(&self) -> String {
        match self {
            Strategy::BlueGreen { live } => format!("live {}", live.label()),
            // A weight is a percentage: anything else is not one to show.
            Strategy::Canary { weight } if (0.0..=100.0).contains(weight) => {
                format!("{weight:.0}% new")
            }
            Strategy::Canary { .. } => "—".into(),
            Strategy::Rolling { total: 0, .. } => "—".into(),
            Strategy::Rolling { updated, total } => format!("{updated}/{total} pods"),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Phase {
    Progressing,
    Paused,
    Complete,
    Failed,
    RolledBack,
    /// A phase the pipeline named in words opsdeck does not know.
    Unknown,
}

impl Phase {
    pub fn label(self) -> &'static str {
        match self {
            Phase::Progressing => "progressing",
            Phase::Paused => "paused",
            Phase::Complete => "complete",
            Phase::Failed => "failed",
            Phase::RolledBack => "rolled back",
            Phase::Unknown => "unknown",
        }
    }

    /// The phase's state alone; `Deployment::status` also judges time.
    pub fn status(self) -> Status {
        match self {
            Phase::Progressing | Phase::Complete => Status::Ok,
            Phase::Paused | Phase::RolledBack => Status::Warn,
            Phase::Failed => Status::Crit,
            Phase::Unknown => Status::Unknown,
        }
    }
}

impl Deployment {
    /// Whether it has been progressing past the deadline: stalled.
    pub fn stalled(&self, now: DateTime<Utc>, deadline: Duration) -> bool {
        self.phase == Phase::Progressing && self.deployed_at.is_some_and(|at| now - at > deadline)
    }

    /// Its state: its phase's, a warning when it is stalled, and the
    /// canary verdict's when it is worse (an unknown verdict, no data to
    /// compare yet, leaves the state as it was).
    pub fn status(&self, now: DateTime<Utc>, deadline: Duration) -> Status {
        let own = if self.stalled(now, deadline) {
            Status::Warn
        } else {
            self.phase.status()
        };
        match self.canary_status() {
            Some(c) if c > own && c != Status::Unknown => c,
            _ => own,
        }
    }

    /// The canary verdict's state, where it judges one: Warn or Crit.
    pub fn canary_status(&self) -> Option<Status> {
        self.canary
            .as_ref()
            .map(|c| c.status)
            .filter(|s| matches!(s, Status::Warn | Status::Crit))
    }

    /// A canary or blue-green deployment under way: the one a canary
    /// verdict is asked for.
    pub fn in_canary(&self) -> bool {
        matches!(
            self.strategy,
            Strategy::Canary { .. } | Strategy::BlueGreen { .. }
        ) && matches!(self.phase, Phase::Progressing | Phase::Paused)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct DeployEvent {
    pub version: String,
    pub at: DateTime<Utc>,
    pub outcome: Phase,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Deployment {
    pub service: String,
    pub environment: String,
    pub version: String,
    pub previous_version: Option<String>,
    pub strategy: Strategy,
    pub phase: Phase,
    /// When the current release started, where the pipeline says.
    pub deployed_at: Option<DateTime<Utc>>,
    /// Rollbacks over the last 7 days.
    pub rollbacks: u32,
    /// Most recent first.
    pub history: Vec<DeployEvent>,
    /// Deployments and rollbacks over the SLO window, for the DORA figures;
    /// `None` where the source does not count them.
    pub window: Option<ChangeCounts>,
    /// A canary or blue-green deployment in progress: the new version's
    /// figures beside the stable one's, and the verdict (`canary`).
    pub canary: Option<canary::Canary>,
}

/// What a pipeline did over the SLO window.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct ChangeCounts {
    pub deploys: u64,
    /// `None` without a rollback counter: not the same as none rolled back.
    pub rollbacks: Option<u64>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DrillResult {
    pub at: DateTime<Utc>,
    /// `None` where the drill's time is known and its RTO is not (not a
    /// number): the drill happened, its RTO is unknown.
    pub measured_rto: Option<Duration>,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Backup {
    /// The service it belongs to, where its metrics name one.
    pub service: Option<String>,
    pub target: String,
    pub tier: Tier,
    pub last_success: Option<DateTime<Utc>>,
    pub size_bytes: f64,
    /// The last run's duration; `None` where it is not known (not
    /// reported, or not a number), never 0.
    pub duration: Option<Duration>,
    pub last_verified: Option<DateTime<Utc>>,
    pub last_drill: Option<DrillResult>,
    /// Runs over the SLO window, for the backup success rate; `None` where
    /// the source does not count them.
    pub runs: Option<RunCounts>,
    /// Read from a backup tool (`restic`, `borg`, `pgbackrest`); `None` for
    /// a target known from metrics.
    pub tool: Option<&'static str>,
    /// Snapshots (archives, backups) the repository keeps, and the oldest;
    /// `None` where the source does not say.
    pub kept: Option<Kept>,
    /// The last verification of the repository by its tool, where it ran.
    pub check: Option<CheckResult>,
    /// What went wrong reading it last (a locked repository, a wrong
    /// password…), in words fit to show: what is shown beside it is the
    /// last good reading, if any.
    pub problem: Option<String>,
}

/// What a repository keeps.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Kept {
    pub count: u64,
    pub oldest: Option<DateTime<Utc>>,
}

/// A verification of a repository by its tool (`restic check`…).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckResult {
    pub at: DateTime<Utc>,
    pub passed: bool,
    /// The tool's own words when it failed (cleaned, secrets masked).
    pub words: String,
}

/// A backup job's runs over the SLO window.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct RunCounts {
    pub succeeded: u64,
    pub failed: u64,
}

impl RunCounts {
    pub fn attempted(&self) -> u64 {
        self.succeeded.saturating_add(self.failed)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Alert {
    /// The alert's name as shown (`crate::text::clean`ed).
    pub name: String,
    /// The alert's service as shown (cleaned, cut at `text::MAX_CHARS`).
    pub service: String,
    /// The `alertname` label exactly as Alertmanager holds it ("" when
    /// absent): what a silence matches, never the text shown.
    pub raw_name: String,
    /// The value of `service_label` exactly as Alertmanager holds it (""
    /// when no label names the service), escapes and length and all.
    pub raw_service: String,
    /// The label that named the service (`service`, `app`, `job`…): what
    /// a silence of this alert matches on.
    pub service_label: String,
    /// The alerting pipeline's heartbeat (`Watchdog`, a dead man's switch,
    /// severity `none`): fires always by design, so it is never an
    /// incident.
    pub heartbeat: bool,
    /// False when `[alerts] not_counted` names it: shown, but no part of
    /// the verdict.
    pub counted: bool,
    pub severity: Severity,
    pub summary: String,
    pub runbook: Option<String>,
    pub starts_at: DateTime<Utc>,
    pub silenced_by: Option<String>,
    /// Held back by an inhibition rule (another alert covers it).
    pub inhibited: bool,
    /// Alertmanager's identity of the alert: the same in every instance of an
    /// HA cluster, so copies can be merged.
    pub fingerprint: String,
    /// The alert sources that report it.
    pub sources: Vec<String>,
    /// Where it fires: its `instance`, `node`, `zone` and `cluster` labels
    /// that it has, raw, in that order; incidents sharing one are a storm.
    pub placement: Vec<(String, String)>,
}

/// The labels that say where an alert fires, compared across services to
/// find storms.
pub const PLACEMENT_LABELS: [&str; 4] = ["instance", "node", "zone", "cluster"];

#[derive(Debug, Clone, PartialEq)]
pub struct Silence {
    pub id: String,
    pub matchers: String,
    pub created_by: String,
    pub comment: String,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
}

impl Silence {
    pub fn is_active(&self, now: DateTime<Utc>) -> bool {
        self.starts_at <= now && now < self.ends_at
    }
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct AlertsReading {
    pub alerts: Vec<Alert>,
    pub silences: Vec<Silence>,
}

/// An incident that has ended, for MTTR.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ResolvedIncident {
    pub started: DateTime<Utc>,
    pub resolved: DateTime<Utc>,
}
