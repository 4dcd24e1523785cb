//! One tokio task per feed of each source: fetch the feeds on screen at the
//! full refresh rate, the others at a slower background rate, and send every
//! result (or error) as a message. A feed whose answers were too large to
//! read is asked less and less often until one is read.

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

/// The longest a feed waits, however many of its answers in a row were too
/// large to read.
const MAX_BACKOFF: StdDuration = StdDuration::from_secs(60);

/// The wait after `strikes` answers in a row too large to read: `due`
/// doubled for each, up to a minute (never shorter than `due`). Reading
/// an answer that big costs this process and the server alike, and asking
/// again soon gets the same answer.
pub fn backoff(due: StdDuration, strikes: u32) -> StdDuration {
    if strikes == 0 {
        return due;
    }
    due.saturating_mul(1 << strikes.min(16))
        .min(MAX_BACKOFF)
        .max(due)
}

/// Whether a fetch failed for an answer too large to read.
fn too_large(result: &Result<super::Reading, SourceError>) -> bool {
    matches!(
        result,
        Err(SourceError::TooLarge(_) | SourceError::OverBudget(_))
    )
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
    let mut strikes = 0;
    loop {
        let visible = *on_screen.borrow_and_update();
        let due = backoff(every(feed, visible, &plan), strikes);
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
                strikes = if too_large(&update.result) {
                    strikes.saturating_add(1)
                } else {
                    0
                };
                let due = backoff(every(feed, visible, &plan), strikes);
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

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};

    use async_trait::async_trait;

    use super::*;
    use crate::domain::{Backup, Deployment, HealthReading, ResolvedIncident};
    use crate::sources::{Fetch, Fetched, MetricsSource};

    #[test]
    fn the_wait_doubles_per_answer_too_large_up_to_a_minute() {
        let s = StdDuration::from_secs;
        let waits: Vec<_> = (0..8).map(|n| backoff(s(1), n).as_secs()).collect();
        assert_eq!(waits, [1, 2, 4, 8, 16, 32, 60, 60]);
        assert_eq!(backoff(s(15), 1), s(30), "from the background rate");
        assert_eq!(backoff(s(90), 3), s(90), "never shorter than the rate");
        assert_eq!(backoff(s(1), u32::MAX), s(60));
    }

    /// Health only; its answers are too large to read while `huge` is set.
    struct Oversized {
        huge: AtomicBool,
        asked: AtomicU32,
    }

    #[async_trait]
    impl MetricsSource for Oversized {
        fn name(&self) -> &str {
            "oversized"
        }
        fn feeds(&self) -> &'static [Feed] {
            &[Feed::Health]
        }
        async fn health(&self, _: DateTime<Utc>) -> Fetch<HealthReading> {
            self.asked.fetch_add(1, Ordering::SeqCst);
            if self.huge.load(Ordering::SeqCst) {
                Err(SourceError::OverBudget(4 << 20))
            } else {
                Ok(Fetched::clean(HealthReading::default()))
            }
        }
        async fn deployments(&self, _: DateTime<Utc>) -> Fetch<Vec<Deployment>> {
            unreachable!()
        }
        async fn backups(&self, _: DateTime<Utc>) -> Fetch<Vec<Backup>> {
            unreachable!()
        }
        async fn incident_history(
            &self,
            _: DateTime<Utc>,
            _: Duration,
        ) -> Fetch<Vec<ResolvedIncident>> {
            unreachable!()
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_feed_whose_answers_are_too_large_backs_off_and_a_read_one_resets_it() {
        let source = Arc::new(Oversized {
            huge: AtomicBool::new(true),
            asked: AtomicU32::new(0),
        });
        let (_screen, on_screen) = watch::channel(FeedSet::of(&[Feed::Health]));
        let (tx, mut rx) = mpsc::unbounded_channel::<FeedUpdate>();
        let _tasks = spawn(
            Source::Metrics(source.clone()),
            PollPlan::default(),
            on_screen,
            tx,
        );
        // Asked at t = 0, 2, 6, 14, 30, 62 and 122 s, not every second.
        tokio::time::sleep(StdDuration::from_millis(122_500)).await;
        assert_eq!(source.asked.load(Ordering::SeqCst), 7);
        let update = rx.try_recv().unwrap();
        assert_eq!(
            update.result.unwrap_err().to_string(),
            "answer larger than 4 MiB, not read (limits.max_body_total)"
        );
        // Read again: the next ask (t = 182 s) succeeds, and the one after
        // comes a second later.
        source.huge.store(false, Ordering::SeqCst);
        tokio::time::sleep(StdDuration::from_secs(60)).await;
        assert_eq!(source.asked.load(Ordering::SeqCst), 8);
        tokio::time::sleep(StdDuration::from_secs(3)).await;
        assert_eq!(source.asked.load(Ordering::SeqCst), 11);
    }
}
