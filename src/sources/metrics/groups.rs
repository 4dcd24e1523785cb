//! The groups of queries whose answers are kept between refreshes, and
//! for how long: each averages over a window much longer than it is kept.

/// Queries whose answers are kept between refreshes for `every`: each
/// averages over a window so much longer than `every` that a fresher answer
/// would barely differ (docs/decisions.md).
pub(super) struct Reused {
    /// The group in the warning when none of its queries answers.
    pub(super) what: &'static str,
    pub(super) names: &'static [&'static str],
    pub(super) every: std::time::Duration,
}

pub(super) const MINUTE: std::time::Duration = std::time::Duration::from_secs(60);

const TEN_SECONDS: std::time::Duration = std::time::Duration::from_secs(10);

/// The SLO window (a month) and the windows of two hours or more: asked
/// once a minute; they cost the server the most.
pub(super) const SLO_WINDOWS: Reused = Reused {
    what: "the SLO window queries",
    names: &[
        "requests_window",
        "errors_window",
        "error_ratio_2h",
        "error_ratio_6h",
        "error_ratio_1d",
        "error_ratio_3d",
    ],
    every: MINUTE,
};

/// The disks' forecast: once a minute. Its slope is fitted over hours, so
/// a fresher answer would barely move it; hosts' gauges stay per refresh.
pub(super) const FORECASTS: Reused = Reused {
    what: "the disk forecast",
    names: &["host_disk_full_in"],
    every: MINUTE,
};

/// What is usual for each service's traffic, errors and p95: every five
/// minutes. It reads the same minute on each of the past seven days and
/// every hour of the last day, which move by the hour, not the second.
pub(super) const BASELINES: Reused = Reused {
    what: "the anomaly baselines",
    names: &[
        "baseline_requests",
        "baseline_requests_day",
        "baseline_error_ratio",
        "baseline_error_ratio_day",
        "baseline_latency_p95",
        "baseline_latency_p95_day",
    ],
    every: std::time::Duration::from_secs(300),
};

/// How much of the SLO window each service's data covers: once every five
/// minutes. It reads every sample of the window (as the window's counts
/// do) and moves by the minute only on a fresh server.
pub(super) const COVERAGE: Reused = Reused {
    what: "the SLO window's coverage",
    names: &["covered_window"],
    every: std::time::Duration::from_secs(300),
};

/// The 30-minute and one-hour windows: asked every 30 s, which moves a
/// 30-minute average by under 2%.
pub(super) const HOUR_WINDOWS: Reused = Reused {
    what: "the 30-minute and 1-hour queries",
    names: &[
        "error_ratio_30m",
        "error_ratio_1h",
        "requests_1h",
        "errors_1h",
    ],
    every: std::time::Duration::from_secs(30),
};

/// The five-minute rates and latencies: asked every 10 s, 1/30 of their
/// window. Prometheus scrapes every 15 s by default, so at a 1 s refresh
/// most answers would re-read the same samples. (Asked "every 5 s" once
/// their last answer had landed, they were in fact asked every 6–7 s: the
/// query's time and the refresh's tick added to it. On the clock's rounds
/// (`answers::Kept::due`) an interval is what it says, so 10 s is the one
/// that asks no more often than before; docs/decisions.md.)
pub(super) const FIVE_MINUTE_WINDOWS: Reused = Reused {
    what: "the 5-minute queries",
    names: &[
        "error_ratio_5m",
        "requests",
        "errors",
        "latency_p95",
        "latency_p99",
    ],
    every: TEN_SECONDS,
};

/// Saturation and targets, gauges and `up` by service: asked every 10 s.
/// They change only when Prometheus scrapes (every 15 s by default), so a
/// change shows at most 10 s after it lands, and a service's row is not
/// read 1,000 times over to learn nothing. Hosts, a handful of series, stay
/// fresh every refresh.
pub(super) const GAUGES: Reused = Reused {
    what: "the saturation and target queries",
    names: &["saturation", "targets_total", "targets_up"],
    every: TEN_SECONDS,
};

/// The deployments' and backups' gauges (versions, phases, timestamps,
/// sizes): every 10 s, as `GAUGES`.
pub(super) const DEPLOY_GAUGES: Reused = Reused {
    what: "the deployment queries",
    names: &[
        "deployment_info",
        "deployment_canary_weight",
        "deployment_timestamp",
        "deployment_rollbacks",
        "rollout_info",
        "kube_deployment_updated",
        "kube_deployment_replicas",
    ],
    every: TEN_SECONDS,
};

pub(super) const BACKUP_GAUGES: Reused = Reused {
    what: "the backup queries",
    names: &[
        "backup_last_success",
        "backup_size",
        "backup_duration",
        "backup_verified",
        "drill_timestamp",
        "drill_rto",
        "velero_last_success",
    ],
    every: TEN_SECONDS,
};

/// SLOs recorded by Sloth or Pyrra, asked only where detection found
/// them: every 30 s, as the hour windows their shortest rules average.
pub(super) const RECORDED_SLOS: Reused = Reused {
    what: "the Sloth and Pyrra SLO queries",
    names: &["sloth_slos", "pyrra_slos"],
    every: std::time::Duration::from_secs(30),
};

pub(super) const DEPLOY_WINDOW: Reused = Reused {
    what: "the SLO window queries",
    names: &["deployments_window", "rollbacks_window"],
    every: MINUTE,
};

pub(super) const BACKUP_WINDOW: Reused = Reused {
    what: "the SLO window queries",
    names: &["backup_successes_window", "backup_failures_window"],
    every: MINUTE,
};
