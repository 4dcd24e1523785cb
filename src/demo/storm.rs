//! Two of the demo's incidents that have a cause to find: checkout's canary
//! starts erroring a minute and a half after its release began (the
//! Incidents tab says what changed before it), and five services lose their
//! database at once (one storm on `instance=db-01`). Both fire from before
//! the demo opened and stay, like the slow disk of db-02.

use super::DemoEstate;
use crate::domain::{Alert, Severity};

/// The canary alert's start: 90 s after checkout's release (`deploy_at`).
const CANARY_ERRORS_AT: i64 = -20;

/// The storm's services and when each alert started (seconds from the
/// demo's start): all within 45 s.
const STORM: [(&str, i64); 5] = [
    ("orders", -240),
    ("inventory", -229),
    ("payments", -217),
    ("notifications", -206),
    ("search", -195),
];

/// The instance the storm's alerts share.
pub const STORM_INSTANCE: &str = "db-01";

fn alert(
    estate: &DemoEstate,
    name: &str,
    service: &str,
    start: i64,
    summary: String,
    silenced: &dyn Fn(&str, &str) -> Option<String>,
) -> Alert {
    Alert {
        name: name.into(),
        service: service.into(),
        raw_name: name.into(),
        raw_service: service.into(),
        service_label: "service".into(),
        heartbeat: false,
        counted: true,
        severity: Severity::Warning,
        summary,
        runbook: Some(super::incidents::runbook(name)),
        starts_at: estate.at(start),
        silenced_by: silenced(name, service),
        inhibited: false,
        fingerprint: format!("{name}/{service}/{start}"),
        sources: vec!["demo".into()],
        placement: Vec::new(),
    }
}

/// The alerts at `t` (each firing once its start has come), silenced where
/// `silenced` says.
pub fn alerts(
    estate: &DemoEstate,
    t: i64,
    silenced: &dyn Fn(&str, &str) -> Option<String>,
) -> Vec<Alert> {
    let canary = alert(
        estate,
        "CanaryHighErrorRate",
        "checkout",
        CANARY_ERRORS_AT,
        "the canary's 5xx ratio is above the stable version's".into(),
        silenced,
    );
    let storm = STORM.iter().map(|&(service, start)| {
        let mut a = alert(
            estate,
            "DatabaseConnectionErrors",
            service,
            start,
            format!("connections to {STORM_INSTANCE} refused"),
            silenced,
        );
        a.placement = vec![("instance".into(), STORM_INSTANCE.into())];
        a
    });
    std::iter::once(canary)
        .chain(storm)
        .filter(|a| a.starts_at <= estate.at(t))
        .collect()
}
