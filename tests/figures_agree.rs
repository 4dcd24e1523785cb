//! Figures agree with each other in the running app (issue 20, item 4):
//! each tile's value is its trend's last point whenever the feeds arrive,
//! each tile is its formula over the rows the other tabs show, and a
//! rollback made with the demo's action shows in the change failure rate
//! tile as it does on the Deploys row. Headless, over the demo estate.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, Duration, TimeZone, Utc};
use opsdeck::actions::{ActionOutcome, ActionRequest, ActionRunner, Backend};
use opsdeck::app::{App, Msg, Settings, TREND_POINTS};
use opsdeck::config::keymap::Keymap;
use opsdeck::config::theme::Theme;
use opsdeck::demo::DemoEstate;
use opsdeck::demo::actions::DemoRunner;
use opsdeck::domain::Phase;
use opsdeck::sources::Feed;
use proptest::prelude::*;

fn start() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 22, 3, 0, 0).unwrap()
}

fn app_at(now: DateTime<Utc>) -> App {
    let settings = Settings {
        demo: true,
        ..Settings::default()
    };
    App::new(settings, Theme::builtin(), Keymap::builtin(), now)
}

/// The feeds at `at`, as the pollers deliver them, then settled.
fn feed(app: &mut App, demo: &DemoEstate, at: DateTime<Utc>, feeds: &[Feed]) {
    app.apply(Msg::Tick(at));
    for update in demo.feeds_at(at, feeds, Duration::days(30)) {
        app.apply(Msg::Feed(update));
    }
    app.settle();
}

fn tile(app: &App, id: &str) -> f64 {
    let k = app.estate.kpis.iter().find(|k| k.id == id).unwrap();
    k.value.unwrap_or_else(|| panic!("{id}: {}", k.note))
}

fn assert_tiles_end_their_trends(app: &App, at: DateTime<Utc>) {
    for k in &app.estate.kpis {
        let Some(value) = k.value else { continue };
        assert_eq!(
            k.trend.last(),
            Some(&value),
            "{} at {at}: tile {value}, trend {:?}",
            k.id,
            k.trend
        );
        assert!(k.trend.len() <= TREND_POINTS);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 16, failure_persistence: None, ..ProptestConfig::default() })]

    /// Feeds arrive every few seconds, each on its own cadence (health
    /// often, the month's history rarely): after every settle each known
    /// tile's value is its trend's last point.
    #[test]
    fn a_tile_is_its_trends_last_point_whenever_the_feeds_arrive(
        seed in any::<u64>(),
        gaps in prop::collection::vec(1i64..40, 20..60),
    ) {
        let demo = DemoEstate::new(seed, start());
        let mut app = app_at(start());
        let mut at = start();
        feed(&mut app, &demo, at, &Feed::ALL);
        for (k, gap) in gaps.iter().enumerate() {
            at += Duration::seconds(*gap);
            let feeds: &[Feed] = match k % 7 {
                0 => &Feed::ALL,
                3 => &[Feed::Deployments, Feed::Backups],
                _ => &[Feed::Health, Feed::Alerts],
            };
            feed(&mut app, &demo, at, feeds);
            assert_tiles_end_their_trends(&app, at);
        }
    }

    /// The change failure rate and deploy frequency over the rows the
    /// Deploys tab shows; backup success over the Backups rows.
    #[test]
    fn the_change_tiles_are_their_formulas_over_the_rows(
        seed in any::<u64>(),
        minutes in 0i64..600,
    ) {
        let demo = DemoEstate::new(seed, start());
        let at = start() + Duration::minutes(minutes);
        let mut app = app_at(at);
        feed(&mut app, &demo, at, &Feed::ALL);
        let rows = app.estate.deployments.data.clone().unwrap();
        let (deploys, rollbacks) = rows.iter().fold((0, 0), |(d, r), row| {
            let w = row.window.unwrap();
            (d + w.deploys, r + w.rollbacks.unwrap())
        });
        let cfr = rollbacks as f64 / deploys as f64;
        prop_assert!((tile(&app, "change_failure_rate") - cfr).abs() < 1e-12);
        prop_assert!((tile(&app, "deploy_frequency") - deploys as f64 / 30.0).abs() < 1e-9);
        let backups = app.estate.backups.data.clone().unwrap();
        // Targets read from a tool count no runs (and are not counted).
        let (ok, all) = backups.iter().filter_map(|b| b.runs).fold((0, 0), |(o, a), r| {
            (o + r.succeeded, a + r.succeeded + r.failed)
        });
        prop_assert!(backups.iter().any(|b| b.runs.is_none() && b.tool.is_some()));
        prop_assert!((tile(&app, "backup_success") - ok as f64 / all as f64).abs() < 1e-12);
    }
}

/// The replayed hour (as `opsdeck demo` starts) then the first minutes:
/// the trend ends at the tile, and an hour of trend is 60 points.
#[test]
fn after_a_replayed_hour_the_trends_are_whole_and_end_at_their_tiles() {
    let demo = DemoEstate::new(42, start());
    let mut app = app_at(start() - Duration::hours(1));
    for k in (1..=60).rev() {
        feed(
            &mut app,
            &demo,
            start() - Duration::minutes(k),
            &[Feed::Health, Feed::Backups, Feed::Alerts, Feed::History],
        );
    }
    for secs in (0..300).step_by(13) {
        let at = start() + Duration::seconds(secs);
        feed(&mut app, &demo, at, &Feed::ALL);
        assert_tiles_end_their_trends(&app, at);
    }
    let burn = app
        .estate
        .kpis
        .iter()
        .find(|k| k.id == "burn_rate")
        .unwrap();
    assert_eq!(burn.trend.len(), TREND_POINTS);
}

/// The demo's own rollback action (its runner, as the confirm dialog
/// starts it) rolls the release back on the row, its Rollbacks column and
/// the month's counts, so the change failure rate tile rises by one
/// rollback.
#[tokio::test(start_paused = true)]
async fn a_rollback_made_with_the_demo_action_shows_in_the_change_failure_rate() {
    // The runner stamps the rollback with the wall clock: the estate
    // started twenty minutes before it.
    let began = Utc::now() - Duration::minutes(20);
    let demo = Arc::new(DemoEstate::new(42, began));
    let mut app = app_at(began);
    let now = Utc::now();
    feed(&mut app, &demo, now, &Feed::ALL);
    let rows = app.estate.deployments.data.clone().unwrap();
    let row = rows
        .iter()
        .find(|d| d.phase != Phase::RolledBack)
        .unwrap()
        .clone();
    let cfr = tile(&app, "change_failure_rate");
    let runner = DemoRunner {
        estate: demo.clone(),
    };
    let request = ActionRequest {
        action: "rollback".into(),
        target: row.service.clone(),
        environment: row.environment.clone(),
        parameters: BTreeMap::from([
            ("service".to_string(), row.service.clone()),
            ("version".to_string(), row.version.clone()),
            (
                "previous_version".to_string(),
                row.previous_version.clone().unwrap(),
            ),
        ]),
        backend: Backend::Demo,
        timeout: Duration::minutes(5),
    };
    let (out, _lines) = tokio::sync::mpsc::unbounded_channel();
    let (_cancel, cancelled) = tokio::sync::oneshot::channel();
    let outcome = runner.run(request, out, cancelled).await;
    assert!(
        matches!(outcome, ActionOutcome::Succeeded { .. }),
        "{outcome:?}"
    );
    feed(
        &mut app,
        &demo,
        Utc::now() + Duration::seconds(5),
        &[Feed::Deployments],
    );
    let rows = app.estate.deployments.data.clone().unwrap();
    let after = rows.iter().find(|d| d.service == row.service).unwrap();
    assert_eq!(after.phase, Phase::RolledBack);
    assert_eq!(after.rollbacks, row.rollbacks + 1, "the Rollbacks column");
    let (w0, w1) = (row.window.unwrap(), after.window.unwrap());
    assert_eq!(w1.rollbacks, w0.rollbacks.map(|r| r + 1));
    let deploys: u64 = rows.iter().map(|d| d.window.unwrap().deploys).sum();
    let rose = tile(&app, "change_failure_rate") - cfr;
    assert!(
        (rose - 1.0 / deploys as f64).abs() < 1e-12,
        "rose by {rose}, one of {deploys} is {}",
        1.0 / deploys as f64
    );
    let k = app
        .estate
        .kpis
        .iter()
        .find(|k| k.id == "change_failure_rate")
        .unwrap();
    let rollbacks: u64 = rows
        .iter()
        .map(|d| d.window.unwrap().rollbacks.unwrap())
        .sum();
    assert_eq!(
        k.note,
        format!("{rollbacks} rollbacks of {deploys} deploys")
    );
}
