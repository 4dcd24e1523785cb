//! The poller on virtual time: feeds on screen at the full rate, the rest at
//! the background rate, each feed on its own so a stalled one holds up
//! nothing, and a stall reported as a timeout.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration as StdDuration;

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use opsdeck::domain::{Backup, Deployment, HealthReading, ResolvedIncident};
use opsdeck::sources::poller::{self, PollPlan};
use opsdeck::sources::{
    Feed, FeedSet, FeedUpdate, Fetch, Fetched, MetricsSource, Source, SourceError,
};
use tokio::sync::{mpsc, watch};

/// Counts calls per feed; its health takes `health_takes` to answer, its
/// backups never answer.
#[derive(Default)]
struct Counting {
    calls: Mutex<HashMap<Feed, u32>>,
    health_takes: StdDuration,
}

impl Counting {
    fn hit(&self, feed: Feed) {
        *self.calls.lock().unwrap().entry(feed).or_default() += 1;
    }
}

#[async_trait]
impl MetricsSource for Counting {
    fn name(&self) -> &str {
        "counting"
    }
    async fn health(&self, _: DateTime<Utc>) -> Fetch<HealthReading> {
        self.hit(Feed::Health);
        tokio::time::sleep(self.health_takes).await;
        Ok(Fetched::clean(HealthReading::default()))
    }
    async fn deployments(&self, _: DateTime<Utc>) -> Fetch<Vec<Deployment>> {
        self.hit(Feed::Deployments);
        Ok(Fetched::clean(vec![]))
    }
    async fn backups(&self, _: DateTime<Utc>) -> Fetch<Vec<Backup>> {
        self.hit(Feed::Backups);
        std::future::pending().await
    }
    async fn incident_history(
        &self,
        _: DateTime<Utc>,
        _: Duration,
    ) -> Fetch<Vec<ResolvedIncident>> {
        self.hit(Feed::History);
        Ok(Fetched::clean(vec![]))
    }
}

fn plan() -> PollPlan {
    PollPlan {
        interval: StdDuration::from_secs(1),
        background: StdDuration::from_secs(15),
        timeout: StdDuration::from_secs(5),
        history_window: Duration::days(30),
    }
}

#[tokio::test(start_paused = true)]
async fn feeds_on_screen_poll_fast_the_rest_slowly_and_a_stall_holds_up_nothing() {
    let source = Arc::new(Counting::default());
    let (_screen, on_screen) =
        watch::channel(FeedSet::of(&[Feed::Health, Feed::Backups, Feed::History]));
    let (tx, mut rx) = mpsc::unbounded_channel::<FeedUpdate>();
    let tasks = poller::spawn(Source::Metrics(source.clone()), plan(), on_screen, tx);
    assert_eq!(tasks.len(), 4, "one task per feed");
    tokio::time::sleep(StdDuration::from_millis(30_500)).await;
    let calls = source.calls.lock().unwrap().clone();
    // On screen: at t = 0, 1, …, 30 s, although backups stall every time.
    assert_eq!(calls[&Feed::Health], 31, "{calls:?}");
    // Off screen, and the history always: at t = 0, 15 and 30 s.
    assert_eq!(calls[&Feed::Deployments], 3, "{calls:?}");
    assert_eq!(calls[&Feed::History], 3, "{calls:?}");
    // The stalled feed is abandoned after 5 s and asked again a whole
    // interval later, not at once: at t = 0, 6, …, 30 s.
    assert_eq!(calls[&Feed::Backups], 6, "{calls:?}");
    let mut timeouts = 0;
    while let Ok(update) = rx.try_recv() {
        if update.feed == Feed::Backups {
            assert_eq!(update.result, Err(SourceError::Timeout(5)));
            timeouts += 1;
        }
    }
    assert_eq!(timeouts, 5, "each abandoned fetch is reported");
}

#[tokio::test(start_paused = true)]
async fn a_slow_answer_does_not_stretch_the_refresh() {
    let source = Arc::new(Counting {
        health_takes: StdDuration::from_millis(600),
        ..Counting::default()
    });
    let (_screen, on_screen) = watch::channel(FeedSet::of(&[Feed::Health]));
    let (tx, mut rx) = mpsc::unbounded_channel::<FeedUpdate>();
    poller::spawn(Source::Metrics(source.clone()), plan(), on_screen, tx);
    tokio::time::sleep(StdDuration::from_millis(10_700)).await;
    // Asked at t = 0, 1, …, 10 s and answered 0.6 s after each, not asked
    // 1 s after each answer (0, 1.6, 3.2, … : 7 asks).
    assert_eq!(source.calls.lock().unwrap()[&Feed::Health], 11);
    let mut answered = 0;
    while let Ok(update) = rx.try_recv() {
        answered += usize::from(update.feed == Feed::Health && update.result.is_ok());
    }
    assert_eq!(answered, 11, "one answer per ask");
}

#[tokio::test(start_paused = true)]
async fn a_feed_coming_on_screen_is_fetched_at_once() {
    let source = Arc::new(Counting::default());
    let (screen, on_screen) = watch::channel(FeedSet::of(&[Feed::Health]));
    let (tx, _rx) = mpsc::unbounded_channel::<FeedUpdate>();
    poller::spawn(Source::Metrics(source.clone()), plan(), on_screen, tx);
    tokio::time::sleep(StdDuration::from_secs(5)).await;
    assert_eq!(source.calls.lock().unwrap()[&Feed::Deployments], 1);
    screen
        .send(FeedSet::of(&[Feed::Health, Feed::Deployments]))
        .unwrap();
    tokio::time::sleep(StdDuration::from_millis(1_500)).await;
    // Due again on screen (last fetch 5 s ago, rate 1 s): fetched at once, then a second later.
    assert_eq!(source.calls.lock().unwrap()[&Feed::Deployments], 3);
}

#[tokio::test(start_paused = true)]
async fn polling_stops_when_the_app_is_gone() {
    let source = Arc::new(Counting::default());
    let (_screen, on_screen) = watch::channel(FeedSet::of(&[Feed::Health]));
    let (tx, rx) = mpsc::unbounded_channel::<FeedUpdate>();
    let tasks = poller::spawn(Source::Metrics(source.clone()), plan(), on_screen, tx);
    drop(rx);
    tokio::time::sleep(StdDuration::from_secs(3)).await;
    assert!(
        tasks[0].is_finished(),
        "the health task ends on its first failed send"
    );
}
