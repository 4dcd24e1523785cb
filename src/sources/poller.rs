//! One tokio task per source: fetch the feeds on screen at the full refresh
//! rate, the others at a slower background rate, and send every result (or
//! error) as a message.

use std::collections::HashMap;
use std::time::Duration as StdDuration;

use chrono::{Duration, Utc};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tokio::time::Instant;

use super::{Feed, FeedSet, FeedUpdate, Source, SourceError};

#[derive(Debug, Clone, Copy)]
pub struct PollPlan {
    /// Refresh of the feeds on screen.
    pub interval: StdDuration,
    /// Refresh of the feeds not on screen.
    pub background: StdDuration,
    /// A fetch that takes longer is abandoned and reported.
    pub timeout: StdDuration,
    pub history_window: Duration,
}

impl Default for PollPlan {
    fn default() -> Self {
        PollPlan {
            interval: StdDuration::from_secs(1),
            background: StdDuration::from_secs(15),
            timeout: StdDuration::from_secs(5),
            history_window: Duration::days(30),
        }
    }
}

/// Polls `source` until the receiving side of `tx` is gone.
pub fn spawn<M>(
    source: Source,
    plan: PollPlan,
    mut on_screen: watch::Receiver<FeedSet>,
    tx: mpsc::UnboundedSender<M>,
) -> JoinHandle<()>
where
    M: From<FeedUpdate> + Send + 'static,
{
    tokio::spawn(async move {
        let mut last: HashMap<Feed, Instant> = HashMap::new();
        loop {
            let visible = *on_screen.borrow_and_update();
            for &feed in source.feeds() {
                let every = if visible.contains(feed) {
                    plan.interval
                } else {
                    plan.background
                };
                if last.get(&feed).is_some_and(|at| at.elapsed() < every) {
                    continue;
                }
                last.insert(feed, Instant::now());
                let update = fetch(&source, feed, &plan).await;
                if tx.send(M::from(update)).is_err() {
                    return;
                }
            }
            tokio::select! {
                _ = tokio::time::sleep(plan.interval) => {}
                changed = on_screen.changed() => if changed.is_err() { return },
            }
        }
    })
}

async fn fetch(source: &Source, feed: Feed, plan: &PollPlan) -> FeedUpdate {
    let now = Utc::now();
    let result = tokio::time::timeout(plan.timeout, source.fetch(feed, now, plan.history_window))
        .await
        .unwrap_or(Err(SourceError::Timeout(plan.timeout.as_secs())));
    FeedUpdate {
        source: source.name().to_string(),
        feed,
        at: now,
        result,
    }
}
