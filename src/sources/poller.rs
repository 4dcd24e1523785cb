//! One tokio task per feed of each source: fetch the feeds on screen at the
//! full refresh rate, the others at a slower background rate, and send every
//! result (or error) as a message.

use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, Utc};
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

impl PollPlan {
    /// The configured refresh; a fetch may take twice its slowest
    /// endpoint's timeout and a second more (room for the retries of what
    /// may pass and their 0.8 s of backoff).
    pub fn for_config(config: &crate::config::file::Config) -> PollPlan {
        let slowest = config
            .prometheus
            .iter()
            .chain(&config.alertmanager)
            .chain(&config.scrape)
            .map(|e| e.timeout)
            .max();
        PollPlan {
            interval: config.refresh,
            timeout: slowest.map_or(PollPlan::default().timeout, |t| {
                t * 2 + StdDuration::from_secs(1)
            }),
            history_window: config.objectives.slo_window,
            ..PollPlan::default()
        }
    }
}

/// Polls every feed of `source`, each in a task of its own so that a slow
/// feed never holds up the others, until the receiving side of `tx` is gone.
pub fn spawn<M>(
    source: Source,
    plan: PollPlan,
    on_screen: watch::Receiver<FeedSet>,
    tx: mpsc::UnboundedSender<M>,
) -> Vec<JoinHandle<()>>
where
    M: From<FeedUpdate> + Send + 'static,
{
    source
        .feeds()
        .iter()
        .map(|&feed| {
            tokio::spawn(poll_feed(
                source.clone(),
                feed,
                plan,
                on_screen.clone(),
                tx.clone(),
            ))
        })
        .collect()
}

/// How often `feed` is fetched: at the full rate while on screen, else at
/// the background rate. The incident history moves slowly and its query
/// spans a month, so it always goes at the background rate.
fn every(feed: Feed, visible: FeedSet, plan: &PollPlan) -> StdDuration {
    if visible.contains(feed) && feed != Feed::History {
        plan.interval
    } else {
        plan.background
    }
}

async fn poll_feed<M>(
    source: Source,
    feed: Feed,
    plan: PollPlan,
    mut on_screen: watch::Receiver<FeedSet>,
    tx: mpsc::UnboundedSender<M>,
) where
    M: From<FeedUpdate> + Send + 'static,
{
    let mut last: Option<Instant> = None;
    loop {
        let visible = *on_screen.borrow_and_update();
        let due = every(feed, visible, &plan);
        let wait = match last.map(|at| at.elapsed()) {
            Some(since) if since < due => due - since,
            _ => {
                let mut from = Instant::now();
                let update = fetch(&source, feed, &plan, Utc::now()).await;
                // An answered ask is due again an interval after it went out,
                // not after its answer came: a server that takes 0.6 s does
                // not stretch a 1 s refresh to 1.6 s. A failed one counts from
                // when it gave up, so a stalled server is not asked again at
                // once. One ask per feed is out at a time.
                if update.result.is_err() {
                    from = Instant::now();
                }
                last = Some(from);
                if tx.send(M::from(update)).is_err() {
                    return;
                }
                due.saturating_sub(from.elapsed())
            }
        };
        // Wake when due, or at once when the tab changes (the feed may have
        // just come on screen).
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            changed = on_screen.changed() => if changed.is_err() { return },
        }
    }
}

/// One fetch of one feed at `now`, within the plan's timeout, as the
/// message the app receives; `opsdeck status` uses it too.
pub async fn fetch(source: &Source, feed: Feed, plan: &PollPlan, now: DateTime<Utc>) -> FeedUpdate {
    let fetched = tokio::time::timeout(plan.timeout, source.fetch(feed, now, plan.history_window))
        .await
        .unwrap_or(Err(SourceError::Timeout(plan.timeout.as_secs())));
    let (result, warnings) = match fetched {
        Ok(f) => (Ok(f.value), f.warnings),
        Err(e) => (Err(e), Vec::new()),
    };
    FeedUpdate {
        source: source.name().to_string(),
        feed,
        at: now,
        result,
        warnings,
    }
}
