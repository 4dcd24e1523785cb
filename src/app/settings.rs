//! What a session runs with: the estate's name, the kiosk's cycle, the
//! objectives, thresholds and queries in force.

use chrono::{DateTime, Utc};

use crate::domain::{Objectives, Thresholds};

/// The kiosk's tab cycle unless `--cycle` says otherwise.
pub const DEFAULT_CYCLE: std::time::Duration = std::time::Duration::from_secs(20);

/// After a key, the kiosk stops cycling for this long: someone is reading.
pub const KIOSK_PAUSE: chrono::Duration = chrono::Duration::seconds(60);

/// The estate's name and colour, so that production never looks like
/// staging.
#[derive(Debug, Clone, PartialEq)]
pub struct Environment {
    pub name: String,
    pub colour: ratatui::style::Color,
}

/// The kiosk's tab cycle: when the tab last changed by itself, the last
/// key, and whether someone held the cycle.
#[derive(Debug, Clone, Copy)]
pub struct Cycle {
    pub last_switch: DateTime<Utc>,
    pub last_key: Option<DateTime<Utc>>,
    pub held: bool,
}

impl Cycle {
    /// When the next tab comes, or `None` while held or paused by a key.
    pub fn next_at(&self, every: std::time::Duration) -> Option<DateTime<Utc>> {
        if self.held {
            return None;
        }
        let every = chrono::Duration::from_std(every).unwrap_or(chrono::Duration::seconds(20));
        let from = match self.last_key {
            Some(key) => (key + KIOSK_PAUSE).max(self.last_switch),
            None => self.last_switch,
        };
        Some(from + every)
    }

    /// Paused by a key, until when.
    pub fn paused_until(&self) -> Option<DateTime<Utc>> {
        self.last_key.map(|k| k + KIOSK_PAUSE)
    }
}

#[derive(Debug, Clone)]
pub struct Settings {
    pub demo: bool,
    pub read_only: bool,
    /// War-room mode: read-only, tabs cycling every `cycle`.
    pub kiosk: bool,
    pub cycle: std::time::Duration,
    /// Which estate this is, named and coloured in the header.
    pub environment: Option<Environment>,
    /// Mouse reports on (`--mouse`): click a tab, scroll a table.
    pub mouse: bool,
    pub thresholds: Thresholds,
    pub objectives: Objectives,
    /// Runbooks from the configuration, by service: used for an incident
    /// whose alerts carry none.
    pub runbooks: std::collections::BTreeMap<String, String>,
    /// The PromQL in force by name, for the KPI drill-down; empty in the demo.
    pub queries: std::collections::BTreeMap<&'static str, String>,
    /// `[alerts] expect_heartbeat`: no heartbeat firing is a warning even
    /// when none was seen before.
    pub expect_heartbeat: bool,
    /// How long before an incident a change on its service is listed.
    pub change_lead: chrono::Duration,
}

impl Default for Settings {
    fn default() -> Settings {
        Settings {
            demo: false,
            read_only: false,
            kiosk: false,
            cycle: DEFAULT_CYCLE,
            environment: None,
            mouse: false,
            thresholds: Thresholds::default(),
            objectives: Objectives::default(),
            runbooks: Default::default(),
            queries: Default::default(),
            expect_heartbeat: false,
            change_lead: crate::domain::changes::DEFAULT_LEAD,
        }
    }
}

impl Settings {
    /// The settings of a live estate described by `config`.
    pub fn from_config(config: &crate::config::file::Config, read_only: bool) -> Settings {
        // The queries derived from the SLI follow what the server has
        // (its health reading says); only the others, and overrides, are
        // shown as text.
        let window = crate::sli::queries::window(config.objectives.slo_window);
        let set = crate::sli::SliSet::build(
            &config.conventions,
            &config.sli,
            &config.service_slis,
            &[],
            &config.service_labels,
        );
        let queries = crate::sli::queries::Queries::new(&set, &window, &config.queries);
        Settings {
            demo: false,
            read_only,
            kiosk: false,
            cycle: DEFAULT_CYCLE,
            environment: config.environment.clone(),
            mouse: false,
            thresholds: config.thresholds,
            objectives: config.objectives,
            runbooks: config
                .services
                .iter()
                .filter_map(|(name, s)| Some((name.clone(), s.runbook.clone()?)))
                .collect(),
            queries: queries
                .all()
                .filter(|(n, _)| !crate::sli::derive::NAMES.contains(n) || queries.is_overridden(n))
                .map(|(n, q)| (n, q.to_string()))
                .collect(),
            expect_heartbeat: config.alert_rules.expect_heartbeat,
            change_lead: config.change_lead,
        }
    }
}
