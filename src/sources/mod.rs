//! Where the data comes from. A source is a trait; the live HTTP sources and
//! the demo's simulation implement the same ones, and the rest of the program
//! cannot tell them apart. Pollers run each source in its own tokio task and
//! send what they read as messages; they never touch the app's state.

pub mod poller;

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};

use crate::domain::{AlertsReading, Backup, Deployment, HealthReading, ResolvedIncident};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SourceError {
    #[error("no answer within {0} s")]
    Timeout(u64),
    #[error("{0}")]
    Failed(String),
}

/// Prometheus-like sources: golden signals, hosts, deployments, backups and
/// the incident history used for MTTR.
#[async_trait]
pub trait MetricsSource: Send + Sync {
    fn name(&self) -> &str;
    async fn health(&self, now: DateTime<Utc>) -> Result<HealthReading, SourceError>;
    async fn deployments(&self, now: DateTime<Utc>) -> Result<Vec<Deployment>, SourceError>;
    async fn backups(&self, now: DateTime<Utc>) -> Result<Vec<Backup>, SourceError>;
    async fn incident_history(
        &self,
        now: DateTime<Utc>,
        window: Duration,
    ) -> Result<Vec<ResolvedIncident>, SourceError>;
}

/// Alertmanager-like sources: firing alerts and silences.
#[async_trait]
pub trait AlertSource: Send + Sync {
    fn name(&self) -> &str;
    async fn alerts(&self, now: DateTime<Utc>) -> Result<AlertsReading, SourceError>;
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

/// The message a poller sends after each fetch, good or bad.
#[derive(Debug, Clone, PartialEq)]
pub struct FeedUpdate {
    pub source: String,
    pub feed: Feed,
    pub at: DateTime<Utc>,
    pub result: Result<Reading, SourceError>,
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
            Source::Metrics(_) => &[
                Feed::Health,
                Feed::Deployments,
                Feed::Backups,
                Feed::History,
            ],
            Source::Alerts(_) => &[Feed::Alerts],
        }
    }

    pub async fn fetch(
        &self,
        feed: Feed,
        now: DateTime<Utc>,
        history_window: Duration,
    ) -> Result<Reading, SourceError> {
        match (self, feed) {
            (Source::Metrics(s), Feed::Health) => s.health(now).await.map(Reading::Health),
            (Source::Metrics(s), Feed::Deployments) => {
                s.deployments(now).await.map(Reading::Deployments)
            }
            (Source::Metrics(s), Feed::Backups) => s.backups(now).await.map(Reading::Backups),
            (Source::Metrics(s), Feed::History) => s
                .incident_history(now, history_window)
                .await
                .map(Reading::History),
            (Source::Alerts(s), Feed::Alerts) => s.alerts(now).await.map(Reading::Alerts),
            (source, feed) => Err(SourceError::Failed(format!(
                "{} does not provide {}",
                source.name(),
                feed.label()
            ))),
        }
    }
}
