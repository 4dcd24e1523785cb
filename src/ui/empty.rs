//! Why a table is empty, in the operator's words: what was looked for and
//! what was found instead, so an empty panel is never just "no rows".

use crate::app::App;
use crate::app::Panel;
use crate::app::tab::TableId;

/// The reason table `id` has no rows, before any filter.
pub fn reason(app: &App, id: TableId) -> String {
    let e = &app.estate;
    match id {
        TableId::Slo | TableId::Services => feed(&e.health, "health", |h| {
            if h.looked_for.is_empty() {
                "no services".to_string()
            } else {
                format!(
                    "no services: {}; no scrape target, alert or deployment names one either",
                    h.looked_for
                )
            }
        }),
        TableId::Hosts => feed(&e.health, "health", |_| {
            "no hosts: host_cpu, host_memory and host_disk returned no series (looked for node_exporter's node_cpu_seconds_total, node_memory_MemAvailable_bytes, node_filesystem_avail_bytes)".into()
        }),
        TableId::Deployments => feed(&e.deployments, "deployments", |_| {
            "no deployments: looked for deployment_info (the documented convention), rollout_info (Argo Rollouts) and kube_deployment_spec_replicas (kube-state-metrics); none has series".into()
        }),
        TableId::Backups => feed(&e.backups, "backups", |_| {
            "no backups: looked for backup_last_success_timestamp_seconds (the documented convention) and velero_backup_last_successful_timestamp (Velero); none has series".into()
        }),
        TableId::Incidents => feed(&e.alerts, "alerts", |_| {
            "no incidents: Alertmanager has no active alerts".into()
        }),
        TableId::Silences => feed(&e.alerts, "alerts", |_| {
            "no silences: Alertmanager has none active".into()
        }),
        TableId::Kpis => "no KPIs".into(),
    }
}

/// `why` of the panel's data, or why there is none.
fn feed<T>(panel: &Panel<T>, what: &str, why: impl Fn(&T) -> String) -> String {
    match (&panel.data, &panel.error) {
        (Some(data), _) => why(data),
        (None, Some(error)) => format!("no {what} data: {error}"),
        (None, None) => format!("no {what} data yet: waiting for the first answer"),
    }
}
