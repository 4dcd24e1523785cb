//! Where the data comes from. A source is a trait; the live HTTP sources and
//! the demo's simulation implement the same ones, and the rest of the program
//! cannot tell them apart. Pollers run each source in its own tokio task and
//! send what they read as messages; they never touch the app's state.

pub mod alertmanager;
pub mod convert;
pub mod http;
pub mod ical;
pub mod intern;
pub mod metrics;
pub mod oncall;
pub mod poller;
pub mod prometheus;
pub mod scrape;
pub mod tools;

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};

use crate::domain::{AlertsReading, Backup, Deployment, HealthReading, ResolvedIncident};

/// Why a fetch failed, in words for the panel. Every text here has been
/// through `clean`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SourceError {
    #[error("no answer within {0} s")]
    Timeout(u64),
    #[error("{0}")]
    Unreachable(String),
    #[error("response larger than {} MiB, not read", .0 / (1024 * 1024))]
    TooLarge(u64),
    /// The answer did not fit in what was left of the budget that all the
    /// answers being read at once share; the size is what it could have had.
    #[error("answer larger than {}, not read (limits.max_body_total)", http::size(*.0))]
    OverBudget(u64),
    #[error("{0}")]
    Failed(String),
}

/// What a source read, with the warnings it gave along the way (a partial
/// result, one query of several failing): shown on the panel, not dropped.
#[derive(Debug, Clone, PartialEq)]
pub struct Fetched<T> {
    pub value: T,
    pub warnings: Vec<String>,
}

impl<T> Fetched<T> {
    pub fn clean(value: T) -> Fetched<T> {
        Fetched {
            value,
            warnings: Vec::new(),
        }
    }

    fn map<U>(self, f: impl FnOnce(T) -> U) -> Fetched<U> {
        Fetched {
            value: f(self.value),
            warnings: self.warnings,
        }
    }
}

pub type Fetch<T> = Result<Fetched<T>, SourceError>;

/// Prometheus-like sources: golden signals, hosts, deployments, backups and
/// the incident history used for MTTR.
#[async_trait]
pub trait MetricsSource: Send + Sync {
    fn name(&self) -> &str;
    /// The feeds this source can answer; all four unless it says otherwise.
    fn feeds(&self) -> &'static [Feed] {
        &[
            Feed::Health,
            Feed::Deployments,
            Feed::Backups,
            Feed::History,
        ]
    }
    /// The services whose rows are on screen now, as the dashboard draws
    /// them: what only those rows show (their traffic lines) is asked for
    /// them alone. A source never told (`status`, `config check`) asks for
    /// every service.
    fn on_screen(&self, _services: Arc<Vec<String>>) {}
    async fn health(&self, now: DateTime<Utc>) -> Fetch<HealthReading>;
    async fn deployments(&self, now: DateTime<Utc>) -> Fetch<Vec<Deployment>>;
    async fn backups(&self, now: DateTime<Utc>) -> Fetch<Vec<Backup>>;
    async fn incident_history(
        &self,
        now: DateTime<Utc>,
        window: Duration,
    ) -> Fetch<Vec<ResolvedIncident>>;
}

/// Alertmanager-like sources: firing alerts and silences.
#[async_trait]
pub trait AlertSource: Send + Sync {
    fn name(&self) -> &str;
    async fn alerts(&self, now: DateTime<Utc>) -> Fetch<AlertsReading>;
}

/// One kind of data a panel shows; each is polled and aged on its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Feed {
    Health,
    Deployments,
    Backups,
    Alerts,
    History,
}

impl Feed {
    pub const ALL: [Feed; 5] = [
        Feed::Health,
        Feed::Deployments,
        Feed::Backups,
        Feed::Alerts,
        Feed::History,
    ];

    pub fn label(self) -> &'static str {
        match self {
            Feed::Health => "health",
            Feed::Deployments => "deployments",
            Feed::Backups => "backups",
            Feed::Alerts => "alerts",
            Feed::History => "incident history",
        }
    }

    fn bit(self) -> u8 {
        1 << (self as u8)
    }
}

/// A small set of feeds: what is on screen now, and so polled at full rate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FeedSet(u8);

impl FeedSet {
    pub fn of(feeds: &[Feed]) -> FeedSet {
        FeedSet(feeds.iter().fold(0, |acc, f| acc | f.bit()))
    }

    pub fn contains(self, feed: Feed) -> bool {
        self.0 & feed.bit() != 0
    }
}

/// What a source read for one feed.
#[derive(Debug, Clone, PartialEq)]
pub enum Reading {
    Health(HealthReading),
    Deployments(Vec<Deployment>),
    Backups(Vec<Backup>),
    Alerts(AlertsReading),
    History(Vec<ResolvedIncident>),
}

impl Reading {
    pub fn as_health(&self) -> Option<&HealthReading> {
        if let Reading::Health(h) = self {
            Some(h)
        } else {
            None
        }
    }
    pub fn as_deployments(&self) -> Option<&Vec<Deployment>> {
        if let Reading::Deployments(d) = self {
            Some(d)
        } else {
            None
        }
    }
    pub fn as_backups(&self) -> Option<&Vec<Backup>> {
        if let Reading::Backups(b) = self {
            Some(b)
        } else {
            None
        }
    }
    pub fn as_alerts(&self) -> Option<&AlertsReading> {
        if let Reading::Alerts(a) = self {
            Some(a)
        } else {
            None
        }
    }
    pub fn as_history(&self) -> Option<&Vec<ResolvedIncident>> {
        if let Reading::History(h) = self {
            Some(h)
        } else {
            None
        }
    }
}

/// The message a poller sends after each fetch, good or bad.
#[derive(Debug, Clone, PartialEq)]
pub struct FeedUpdate {
    pub source: String,
    pub feed: Feed,
    pub at: DateTime<Utc>,
    pub result: Result<Reading, SourceError>,
    pub warnings: Vec<String>,
}

/// A configured source of either kind, as the poller sees it.
#[derive(Clone)]
pub enum Source {
    Metrics(Arc<dyn MetricsSource>),
    Alerts(Arc<dyn AlertSource>),
}

impl Source {
    pub fn name(&self) -> &str {
        match self {
            Source::Metrics(s) => s.name(),
            Source::Alerts(s) => s.name(),
        }
    }

    pub fn feeds(&self) -> &'static [Feed] {
        match self {
            Source::Metrics(s) => s.feeds(),
            Source::Alerts(_) => &[Feed::Alerts],
        }
    }

    pub async fn fetch(
        &self,
        feed: Feed,
        now: DateTime<Utc>,
        history_window: Duration,
    ) -> Fetch<Reading> {
        match (self, feed) {
            (Source::Metrics(s), Feed::Health) => {
                s.health(now).await.map(|f| f.map(Reading::Health))
            }
            (Source::Metrics(s), Feed::Deployments) => s
                .deployments(now)
                .await
                .map(|f| f.map(Reading::Deployments)),
            (Source::Metrics(s), Feed::Backups) => {
                s.backups(now).await.map(|f| f.map(Reading::Backups))
            }
            (Source::Metrics(s), Feed::History) => s
                .incident_history(now, history_window)
                .await
                .map(|f| f.map(Reading::History)),
            (Source::Alerts(s), Feed::Alerts) => {
                s.alerts(now).await.map(|f| f.map(Reading::Alerts))
            }
            (source, feed) => Err(SourceError::Failed(format!(
                "{} does not provide {}",
                source.name(),
                feed.label()
            ))),
        }
    }
}

/// The sources a configuration declares; one that cannot be set up (a bad CA
/// file, a header that is not a header) is left out and reported. With
/// `keep_up`, backup tools are listed and verified on their schedules for
/// as long as the program runs; without, listed once (`status`).
pub fn from_config(
    config: &crate::config::file::Config,
    keep_up: bool,
) -> (Vec<Source>, Vec<crate::config::Problem>) {
    let file = config
        .path
        .as_ref()
        .map_or("configuration".to_string(), |p| p.display().to_string());
    http::BodyBudget::shared().set_total(config.limits.max_body_total);
    let mut problems = Vec::new();
    let mut sources = Vec::new();
    let mut fail = |kind: &str, name: &str, message: String| {
        problems.push(crate::config::Problem {
            file: file.clone(),
            message: format!("{kind} '{name}': {message}"),
        });
    };
    for endpoint in &config.prometheus {
        match metrics::PrometheusSource::new(endpoint.clone(), config) {
            Ok(s) => sources.push(Source::Metrics(Arc::new(s))),
            Err(e) => fail("prometheus", &endpoint.name, e),
        }
    }
    for endpoint in &config.scrape {
        match scrape::ScrapeSource::new(endpoint.clone(), config) {
            Ok(s) => sources.push(Source::Metrics(Arc::new(s))),
            Err(e) => fail("scrape", &endpoint.name, e),
        }
    }
    for endpoint in &config.alertmanager {
        match alertmanager::AlertmanagerSource::new(endpoint.clone(), &config.service_labels) {
            Ok(s) => sources.push(Source::Alerts(Arc::new(
                s.with_rules(config.alert_rules.clone()),
            ))),
            Err(e) => fail("alertmanager", &endpoint.name, e),
        }
    }
    if !config.backup_tools.is_empty() {
        let store = crate::config::state_dir().map(|d| d.join("checks.json"));
        sources.push(Source::Metrics(Arc::new(tools::ToolSource::new(
            config.backup_tools.clone(),
            store,
            keep_up,
        ))));
    }
    (sources, problems)
}
