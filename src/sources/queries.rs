//! The PromQL behind every panel: defaults that work on a stock estate (see
//! docs/metrics.md), each overridable by name in the configuration. Every
//! query aggregates on the server, so the number of requests per refresh does
//! not grow with the number of services.

use std::collections::BTreeMap;

/// `{label}` is the service label; `{window}` the SLO window (`30d`).
const DEFAULTS: &[(&str, &str)] = &[
    (
        "requests",
        r#"sum by ({label}) (rate(http_requests_total[5m]))"#,
    ),
    (
        "errors",
        r#"sum by ({label}) (rate(http_requests_total{code=~"5.."}[5m]))"#,
    ),
    (
        "latency_p95",
        r#"histogram_quantile(0.95, sum by ({label}, le) (rate(http_request_duration_seconds_bucket[5m])))"#,
    ),
    (
        "latency_p99",
        r#"histogram_quantile(0.99, sum by ({label}, le) (rate(http_request_duration_seconds_bucket[5m])))"#,
    ),
    (
        "requests_1h",
        r#"sum by ({label}) (rate(http_requests_total[1h]))"#,
    ),
    (
        "errors_1h",
        r#"sum by ({label}) (rate(http_requests_total{code=~"5.."}[1h]))"#,
    ),
    (
        "requests_window",
        r#"sum by ({label}) (increase(http_requests_total[{window}]))"#,
    ),
    (
        "errors_window",
        r#"sum by ({label}) (increase(http_requests_total{code=~"5.."}[{window}]))"#,
    ),
    ("saturation", r#"max by ({label}) (saturation_ratio)"#),
    (
        "traffic_history",
        r#"sum by ({label}) (rate(http_requests_total[1m]))"#,
    ),
    ("targets_total", r#"count by (job, {label}) (up)"#),
    ("targets_up", r#"sum by (job, {label}) (up)"#),
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
        r#"max by (target, tier) (backup_last_success_timestamp_seconds)"#,
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
        "error_ratio_5m",
        r#"(sum by ({label}) (rate(http_requests_total{code=~"5.."}[5m])) or sum by ({label}) (rate(http_requests_total[5m])) * 0) / sum by ({label}) (rate(http_requests_total[5m]))"#,
    ),
    (
        "error_ratio_30m",
        r#"(sum by ({label}) (rate(http_requests_total{code=~"5.."}[30m])) or sum by ({label}) (rate(http_requests_total[30m])) * 0) / sum by ({label}) (rate(http_requests_total[30m]))"#,
    ),
    (
        "error_ratio_1h",
        r#"(sum by ({label}) (rate(http_requests_total{code=~"5.."}[1h])) or sum by ({label}) (rate(http_requests_total[1h])) * 0) / sum by ({label}) (rate(http_requests_total[1h]))"#,
    ),
    (
        "error_ratio_2h",
        r#"(sum by ({label}) (rate(http_requests_total{code=~"5.."}[2h])) or sum by ({label}) (rate(http_requests_total[2h])) * 0) / sum by ({label}) (rate(http_requests_total[2h]))"#,
    ),
    (
        "error_ratio_6h",
        r#"(sum by ({label}) (rate(http_requests_total{code=~"5.."}[6h])) or sum by ({label}) (rate(http_requests_total[6h])) * 0) / sum by ({label}) (rate(http_requests_total[6h]))"#,
    ),
    (
        "error_ratio_1d",
        r#"(sum by ({label}) (rate(http_requests_total{code=~"5.."}[1d])) or sum by ({label}) (rate(http_requests_total[1d])) * 0) / sum by ({label}) (rate(http_requests_total[1d]))"#,
    ),
    (
        "error_ratio_3d",
        r#"(sum by ({label}) (rate(http_requests_total{code=~"5.."}[3d])) or sum by ({label}) (rate(http_requests_total[3d])) * 0) / sum by ({label}) (rate(http_requests_total[3d]))"#,
    ),
    (
        "deployments_window",
        r#"sum by ({label}, environment) (changes(deployment_timestamp_seconds[{window}]))"#,
    ),
    (
        "rollbacks_window",
        r#"sum by ({label}, environment) (increase(deployment_rollbacks_total[{window}]))"#,
    ),
    (
        "backup_successes_window",
        r#"sum by (target) (changes(backup_last_success_timestamp_seconds[{window}]))"#,
    ),
    (
        "backup_failures_window",
        r#"sum by (target) (changes(backup_last_failure_timestamp_seconds[{window}]))"#,
    ),
    (
        "alerts_firing",
        r#"max by (alertname, {label}) (ALERTS{alertstate="firing"})"#,
    ),
];

/// The SLO window as PromQL writes it: in seconds, which it takes as well
/// as anything, and never under a minute.
pub fn window(slo_window: chrono::Duration) -> String {
    format!("{}s", slo_window.num_seconds().max(60))
}

/// Every query name the configuration may override.
pub const NAMES: [&str; 42] = {
    let mut names = [""; 42];
    let mut i = 0;
    while i < DEFAULTS.len() {
        names[i] = DEFAULTS[i].0;
        i += 1;
    }
    names
};

/// The queries in force, rendered for one service label and window.
#[derive(Debug, Clone)]
pub struct Queries {
    by_name: BTreeMap<&'static str, String>,
}

impl Queries {
    pub fn new(
        label: &str,
        window: &str,
        overrides: &BTreeMap<String, (String, usize)>,
    ) -> Queries {
        let by_name = DEFAULTS
            .iter()
            .map(|(name, default)| {
                let text = overrides.get(*name).map_or(*default, |(q, _)| q.as_str());
                (
                    *name,
                    text.replace("{label}", label).replace("{window}", window),
                )
            })
            .collect();
        Queries { by_name }
    }

    pub fn get(&self, name: &str) -> &str {
        self.by_name.get(name).map_or("", String::as_str)
    }

    /// Every query with its name, for `config check`.
    pub fn all(&self) -> impl Iterator<Item = (&'static str, &str)> {
        self.by_name.iter().map(|(n, q)| (*n, q.as_str()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_default_has_a_name_and_renders_its_label_and_window() {
        assert_eq!(NAMES.len(), DEFAULTS.len());
        assert!(NAMES.iter().all(|n| !n.is_empty()));
        let q = Queries::new("app", "7d", &BTreeMap::new());
        assert_eq!(
            q.get("requests_window"),
            r#"sum by (app) (increase(http_requests_total[7d]))"#
        );
        assert!(
            q.all()
                .all(|(_, text)| !text.contains("{label}") && !text.contains("{window}"))
        );
    }

    #[test]
    fn an_override_replaces_the_default() {
        let overrides = BTreeMap::from([(
            "saturation".to_string(),
            ("max by ({label}) (cpu_ratio)".to_string(), 3),
        )]);
        assert_eq!(
            Queries::new("service", "30d", &overrides).get("saturation"),
            "max by (service) (cpu_ratio)"
        );
    }
}
