//! The PromQL behind every panel: the queries derived from the SLI in force
//! (`derive`), and the rest, which work on a stock estate (see
//! docs/metrics.md); each overridable by name in the configuration. Every
//! query aggregates on the server, so the number of requests per refresh does
//! not grow with the number of services.

use std::collections::BTreeMap;

use super::derive::derive;
use super::{Latency, SliSet};

/// The queries not derived from the SLI: `{label}` is the first service
/// label; `{window}` the SLO window (`30d`).
const DEFAULTS: &[(&str, &str)] = &[
    ("host_up", r#"max by (instance) (up{job=~".*node.*"})"#),
    (
        "host_cpu",
        r#"1 - avg by (instance) (rate(node_cpu_seconds_total{mode="idle"}[1m]))"#,
    ),
    (
        "host_memory",
        r#"max by (instance) (1 - node_memory_MemAvailable_bytes / node_memory_MemTotal_bytes)"#,
    ),
    (
        "host_disk",
        r#"max by (instance) (1 - node_filesystem_avail_bytes{fstype!~"tmpfs|ramfs|overlay|squashfs|nsfs|fuse.*"} / node_filesystem_size_bytes{fstype!~"tmpfs|ramfs|overlay|squashfs|nsfs|fuse.*"})"#,
    ),
    // Seconds until each host's soonest-filling filesystem is full, at the
    // slope of its free bytes over the last 6 hours (the fitted value now
    // over the fitted fall per second, so a straight line to zero reads the
    // same as `predict_linear` crossing it); a filesystem not filling has
    // no series, nor one with under 60 samples in the range (a fresh
    // server's few minutes of writes are no trend). The range is the
    // query's: override it in [queries].
    (
        "host_disk_full_in",
        r#"min by (instance) (clamp_min(predict_linear(node_filesystem_avail_bytes{fstype!~"tmpfs|ramfs|overlay|squashfs|nsfs|fuse.*"}[6h], 0) / -(deriv(node_filesystem_avail_bytes{fstype!~"tmpfs|ramfs|overlay|squashfs|nsfs|fuse.*"}[6h]) < 0), 0) and count_over_time(node_filesystem_avail_bytes{fstype!~"tmpfs|ramfs|overlay|squashfs|nsfs|fuse.*"}[6h]) >= 60)"#,
    ),
    (
        "deployment_info",
        r#"max by ({label}, environment, version, previous_version, strategy, color, phase) (deployment_info)"#,
    ),
    (
        "deployment_canary_weight",
        r#"max by ({label}, environment) (deployment_canary_weight)"#,
    ),
    (
        "deployment_timestamp",
        r#"max by ({label}, environment) (deployment_timestamp_seconds)"#,
    ),
    (
        "deployment_rollbacks",
        r#"max by ({label}, environment) (deployment_rollbacks_total)"#,
    ),
    (
        "rollout_info",
        r#"max by (name, namespace, strategy, phase) (rollout_info)"#,
    ),
    (
        "kube_deployment_updated",
        r#"max by (deployment, namespace) (kube_deployment_status_replicas_updated)"#,
    ),
    (
        "kube_deployment_replicas",
        r#"max by (deployment, namespace) (kube_deployment_spec_replicas)"#,
    ),
    (
        "backup_last_success",
        r#"max by (target, tier, {label}) (backup_last_success_timestamp_seconds)"#,
    ),
    ("backup_size", r#"max by (target) (backup_last_size_bytes)"#),
    (
        "backup_duration",
        r#"max by (target) (backup_last_duration_seconds)"#,
    ),
    (
        "backup_verified",
        r#"max by (target) (backup_last_verified_timestamp_seconds)"#,
    ),
    (
        "drill_timestamp",
        r#"max by (target) (dr_drill_last_timestamp_seconds)"#,
    ),
    (
        "drill_rto",
        r#"max by (target) (dr_drill_last_rto_seconds)"#,
    ),
    (
        "velero_last_success",
        r#"max by (schedule) (velero_backup_last_successful_timestamp)"#,
    ),
    (
        "sloth_slos",
        r#"{__name__=~"slo:sli_error:ratio_rate.+|slo:objective:ratio|slo:time_period:days", sloth_id!=""}"#,
    ),
    (
        "pyrra_slos",
        r#"{__name__=~".+:burnrate[0-9a-z]+|pyrra_objective|pyrra_window|pyrra_availability", slo!=""}"#,
    ),
    (
        "alerts_firing",
        r#"max by (alertname, {label}) (ALERTS{alertstate="firing"})"#,
    ),
];

/// A count of events over the SLO window (docs/metrics.md, "Counting"):
/// deploys, rollbacks, backup runs.
struct WindowCount {
    name: &'static str,
    /// The labels the count is per.
    by: &'static str,
    /// The counter, with its matchers: one increment per event.
    counter: &'static str,
    /// The counter's metric, every series of which says "this key counts
    /// with the counter", whatever its matchers.
    family: &'static str,
    /// The older timestamp gauge counted with `changes()`, for the keys
    /// that push no counter; `None`: the counter alone.
    fallback: Option<&'static str>,
}

const WINDOW_COUNTS: &[WindowCount] = &[
    WindowCount {
        name: "deployments_window",
        by: "{label}, environment",
        counter: "deployments_total",
        family: "deployments_total",
        fallback: Some("deployment_timestamp_seconds"),
    },
    WindowCount {
        name: "rollbacks_window",
        by: "{label}, environment",
        counter: "deployment_rollbacks_total",
        family: "deployment_rollbacks_total",
        fallback: None,
    },
    WindowCount {
        name: "backup_successes_window",
        by: "target",
        counter: r#"backup_runs_total{result="success"}"#,
        family: "backup_runs_total",
        fallback: Some("backup_last_success_timestamp_seconds"),
    },
    WindowCount {
        name: "backup_failures_window",
        by: "target",
        counter: r#"backup_runs_total{result="failure"}"#,
        family: "backup_runs_total",
        fallback: Some("backup_last_failure_timestamp_seconds"),
    },
];

/// The series every Pushgateway exposes about itself, scraped with the
/// pushed groups since Prometheus first scraped it: the reference that
/// tells a series born while Prometheus watched from one that was already
/// there when it started watching (a fresh server, retention).
const PUSHGATEWAY_SEEN: &str = "pushgateway_build_info";

/// `increase()` over the window, plus, for a series born inside it while
/// Prometheus already scraped the Pushgateway, the value it was born with:
/// `increase()` alone takes a series' first sample as its start, so a
/// counter that appears at 1 (a target's first failure, a service's first
/// deploy) would count 0. A series born inside the window has fewer
/// samples in it than the Pushgateway's own `pushgateway_build_info`; one
/// that was there when Prometheus started (or when retention cut it) has as
/// many, and only its increase counts: its earlier events have no dates.
/// The value born with is the smallest in the window (a counter only
/// grows, but for a reset).
pub fn counted(counter: &str, window: &str) -> String {
    let born = format!(
        "(min_over_time({counter}[{window}]) unless {counter} offset {window}) \
         and (count_over_time({counter}[{window}]) \
         < on() group_left() max(count_over_time({PUSHGATEWAY_SEEN}[{window}])))"
    );
    format!("(increase({counter}[{window}]) + {born}) or increase({counter}[{window}])")
}

impl WindowCount {
    /// The query, `{label}` and `{window}` still to fill: the counter's
    /// count per key, else, for keys with no series of the counter's
    /// metric, the timestamp gauge's `changes()`. One request either way.
    fn render(&self) -> String {
        let by = self.by;
        let counted = format!("sum by ({by}) ({})", counted(self.counter, "{window}"));
        match self.fallback {
            None => counted,
            Some(gauge) => format!(
                "{counted} or (sum by ({by}) (changes({gauge}[{{window}}])) \
                 unless on({by}) group by ({by}) ({}))",
                self.family
            ),
        }
    }
}

/// The SLO window as PromQL writes it: in seconds, which it takes as well
/// as anything, and never under a minute; and the seconds.
pub fn window(slo_window: chrono::Duration) -> (String, u64) {
    let secs = slo_window.num_seconds().max(60);
    (format!("{secs}s"), secs as u64)
}

/// Every query name the configuration may override.
pub fn names() -> impl Iterator<Item = &'static str> {
    super::derive::NAMES
        .into_iter()
        .chain(DEFAULTS.iter().map(|(n, _)| *n))
        .chain(WINDOW_COUNTS.iter().map(|c| c.name))
}

/// Whether `name` is a query the configuration may override.
pub fn is_name(name: &str) -> bool {
    names().any(|n| n == name)
}

/// The queries in force, rendered for one SLI and window.
#[derive(Debug, Clone, PartialEq)]
pub struct Queries {
    by_name: BTreeMap<&'static str, String>,
    /// The names whose text is the configuration's, not derived.
    overridden: Vec<&'static str>,
}

impl Queries {
    pub fn new(
        set: &SliSet,
        window: &(String, u64),
        overrides: &BTreeMap<String, (String, usize)>,
    ) -> Queries {
        let label = set.labels.first().map_or("service", String::as_str);
        let fill = |text: &str| {
            text.replace("{label}", label)
                .replace("{window}", &window.0)
        };
        let mut by_name: BTreeMap<&'static str, String> = derive(set, (&window.0, window.1))
            .into_iter()
            .chain(DEFAULTS.iter().map(|(n, q)| (*n, fill(q))))
            .chain(WINDOW_COUNTS.iter().map(|c| (c.name, fill(&c.render()))))
            .collect();
        let mut overridden = Vec::new();
        for (name, text) in by_name.iter_mut() {
            if let Some((q, _)) = overrides.get(*name) {
                *text = fill(q);
                overridden.push(*name);
            }
        }
        Queries {
            by_name,
            overridden,
        }
    }

    pub fn get(&self, name: &str) -> &str {
        self.by_name.get(name).map_or("", String::as_str)
    }

    /// Whether `name` is the configuration's own text.
    pub fn is_overridden(&self, name: &str) -> bool {
        self.overridden.contains(&name)
    }

    /// Every query with its name, for `config check`.
    pub fn all(&self) -> impl Iterator<Item = (&'static str, &str)> {
        self.by_name.iter().map(|(n, q)| (*n, q.as_str()))
    }
}

/// The metric each derived query reads, per branch: what an override of
/// it must read too, or the screen disagrees with itself.
fn reads(set: &SliSet, name: &str) -> Vec<String> {
    let metric = |selector: &str| selector.split('{').next().unwrap_or("").trim().to_string();
    set.branches
        .iter()
        .filter_map(|b| {
            let c = &b.convention;
            match name {
                "latency_p95" | "latency_p99" => match &c.latency {
                    Latency::Histogram { buckets, .. } => Some(metric(buckets)),
                    Latency::Gauge { selector } => Some(metric(selector)),
                    Latency::None(_) => None,
                },
                "targets_total" | "targets_up" | "saturation" => None,
                _ => Some(metric(c.looks_for())),
            }
        })
        .collect()
}

/// Overrides of derived queries that read none of the metrics of the SLI
/// in force: `(name, line, message)`, for `config check`.
pub fn disagreements(
    set: &SliSet,
    overrides: &BTreeMap<String, (String, usize)>,
) -> Vec<(String, usize, String)> {
    let mut out = Vec::new();
    for (name, (text, line)) in overrides {
        if !super::derive::NAMES.contains(&name.as_str()) {
            continue;
        }
        let expected = reads(set, name);
        if expected.is_empty() || expected.iter().any(|m| text.contains(m.as_str())) {
            continue;
        }
        out.push((
            name.clone(),
            *line,
            format!(
                "reads none of the SLI's metrics ({}; conventions {}): every other tile, burn rate and `status` follow the SLI, so the screen would disagree with itself; declare the SLI once in [sli] (or [services.NAME.sli]) instead",
                expected.join(", "),
                set.names()
            ),
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sli::SliSpec;
    use crate::sli::catalogue::{EMBEDDED, parse};

    fn set(spec: SliSpec) -> SliSet {
        let catalogue: Vec<_> = EMBEDDED.iter().map(|(n, t)| parse(n, t).unwrap()).collect();
        SliSet::build(
            &catalogue,
            &spec,
            &[],
            &[],
            &["app".to_string(), "job".to_string()],
        )
    }

    #[test]
    fn every_query_has_a_name_and_renders_its_label_and_window() {
        let q = Queries::new(
            &set(SliSpec::Detect),
            &("7d".into(), 604_800),
            &BTreeMap::new(),
        );
        assert_eq!(q.all().count(), names().count());
        assert!(
            q.get("requests_window")
                .contains("increase(http_requests_total[7d])")
        );
        assert_eq!(
            q.get("deployment_timestamp"),
            "max by (app, environment) (deployment_timestamp_seconds)"
        );
        assert!(
            q.all()
                .all(|(_, text)| !text.contains("{label}") && !text.contains("{window}"))
        );
    }

    /// Deploys and backup runs: a counter's `increase()` plus the value a
    /// series born in the window was born with, else the old gauge's
    /// `changes()` for keys with no counter; one request each.
    #[test]
    fn window_counts_read_the_counters_then_the_old_gauges() {
        let q = Queries::new(
            &set(SliSpec::Detect),
            &("7d".into(), 604_800),
            &BTreeMap::new(),
        );
        let deploys = q.get("deployments_window");
        assert!(
            deploys.starts_with("sum by (app, environment) ((increase(deployments_total[7d]) + "),
            "{deploys}"
        );
        assert!(
            deploys.contains(
                "(min_over_time(deployments_total[7d]) unless deployments_total offset 7d)"
            ),
            "{deploys}"
        );
        assert!(
            deploys.contains(
                "count_over_time(deployments_total[7d]) < on() group_left() max(count_over_time(pushgateway_build_info[7d]))"
            ),
            "{deploys}"
        );
        assert!(
            deploys.ends_with(
                " or (sum by (app, environment) (changes(deployment_timestamp_seconds[7d])) unless on(app, environment) group by (app, environment) (deployments_total))"
            ),
            "{deploys}"
        );
        let failures = q.get("backup_failures_window");
        assert!(
            failures.contains(r#"increase(backup_runs_total{result="failure"}[7d])"#),
            "{failures}"
        );
        assert!(
            failures.contains(
                "changes(backup_last_failure_timestamp_seconds[7d])) unless on(target) group by (target) (backup_runs_total))"
            ),
            "the gauge only for targets with no counter of either result: {failures}"
        );
        assert!(
            q.get("backup_successes_window")
                .contains(r#"backup_runs_total{result="success"} offset 7d"#)
        );
        let rollbacks = q.get("rollbacks_window");
        assert!(
            rollbacks.starts_with(
                "sum by (app, environment) ((increase(deployment_rollbacks_total[7d])"
            ) && !rollbacks.contains("changes("),
            "the counter alone: {rollbacks}"
        );
    }

    #[test]
    fn a_window_count_can_be_overridden_by_name() {
        let overrides = BTreeMap::from([(
            "deployments_window".to_string(),
            ("sum by ({label}) (my_deploys)".to_string(), 7),
        )]);
        let q = Queries::new(&set(SliSpec::Detect), &("30d".into(), 1), &overrides);
        assert_eq!(q.get("deployments_window"), "sum by (app) (my_deploys)");
        assert!(is_name("backup_failures_window"));
    }

    #[test]
    fn an_override_replaces_the_default() {
        let overrides = BTreeMap::from([(
            "saturation".to_string(),
            ("max by ({label}) (cpu_ratio)".to_string(), 3),
        )]);
        let q = Queries::new(&set(SliSpec::Detect), &("30d".into(), 1), &overrides);
        assert_eq!(q.get("saturation"), "max by (app) (cpu_ratio)");
        assert!(q.is_overridden("saturation"));
        assert!(!q.is_overridden("requests"));
    }

    #[test]
    fn an_override_that_reads_another_metric_than_the_sli_disagrees() {
        let overrides = BTreeMap::from([
            (
                "requests".to_string(),
                (
                    "sum by (job) (rate(flask_http_request_total[5m]))".to_string(),
                    4,
                ),
            ),
            (
                "errors".to_string(),
                (
                    r#"sum by (job) (rate(http_requests_total{code=~"5.."}[5m]))"#.to_string(),
                    5,
                ),
            ),
        ]);
        let found = disagreements(&set(SliSpec::Detect), &overrides);
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!((found[0].0.as_str(), found[0].1), ("requests", 4));
        assert!(found[0].2.contains("http_requests_total"), "{}", found[0].2);
        // The same override agrees with an SLI that reads that metric.
        assert!(disagreements(&set(SliSpec::Convention("flask".into())), &overrides).len() == 1);
    }
}
