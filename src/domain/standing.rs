//! One service's standing against its SLO: availability, burn, budget
//! left, each judged by the service's own objective where its SLO declares
//! one. The KPIs, the tables and `status` all read a service through these.

use super::slo::{self, availability, burn_rate, error_budget_remaining};
use super::{ServiceHealth, Status};

/// One service's standing against its SLO: its availability over the window
/// and its burn rate over the last hour, whichever is worse. A burn rate that
/// cannot be computed does not by itself mark the service.
///
/// Every per-service function here takes the configured objective and
/// judges by the service's own where its SLO declares one.
pub fn service_slo_status(s: &ServiceHealth, objective: f64) -> Status {
    let objective = s.objective_or(objective);
    slo::availability_status(availability(s.sli), objective).max(service_burn_status(s, objective))
}

/// A service's burn state: the SRE workbook's multi-window alert (a page is
/// a breach, a ticket a warning); where its windows have no data, the
/// one-hour rate alone (14.4 and 6).
pub fn service_burn_status(s: &ServiceHealth, objective: f64) -> Status {
    use super::reliability::{BurnAlert, burn_alert};
    let objective = s.objective_or(objective);
    match burn_alert(&s.error_ratios.burn_rates(objective)) {
        BurnAlert::Page => Status::Crit,
        BurnAlert::Ticket => Status::Warn,
        BurnAlert::None => Status::Ok,
        BurnAlert::Unknown => {
            burn_rate(s.error_ratio_1h, objective).map_or(Status::Ok, burn_status)
        }
    }
}

/// A service's burn rate over the last hour: from its one-hour counters,
/// else from its one-hour error ratio (the workbook's 1h window).
pub fn burn_1h(s: &ServiceHealth, objective: f64) -> Option<f64> {
    let objective = s.objective_or(objective);
    burn_rate(s.error_ratio_1h, objective)
        .or_else(|| s.error_ratios.h1.and_then(|r| burn_rate(r, objective)))
}

/// Error-budget standing of one service, for the KPI tab's table.
pub fn budget_left(s: &ServiceHealth, objective: f64) -> Option<f64> {
    let objective = s.objective_or(objective);
    availability(s.sli).and_then(|a| error_budget_remaining(a, objective))
}

/// A one-hour burn rate at the SRE workbook's paging rate (14.4) is a
/// breach, at its ticket rate (6) a warning.
pub fn burn_status(rate: f64) -> Status {
    if rate >= 14.4 {
        Status::Crit
    } else if rate >= 6.0 {
        Status::Warn
    } else {
        Status::Ok
    }
}
