//! `App::update` at 1,000 and 10,000 services: one health feed update (the
//! store and the derive step: KPIs, the estate summary, every table's rows),
//! one clock tick (the same derive, once a second), and one key press
//! (Down). Then the two figures the budgets are about:
//! - `key_to_frame`: Down (or Up), then the KPI tab drawn at 200x50 (budget: 16 ms
//!   at 1,000 services);
//! - `refresh_second`: one second of steady state on the KPI tab at 200x50
//!   (the health, backups and alerts feeds, a tick, one frame): the CPU
//!   budget of 1% of a core is 10 ms of this per second.

mod support;

use chrono::Duration;
use criterion::{BatchSize, BenchmarkId, Criterion, criterion_group, criterion_main};
use opsdeck::app::{App, Msg};
use opsdeck::demo::scaled;
use opsdeck::sources::Feed;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::crossterm::event::{Event, KeyCode, KeyEvent, KeyModifiers};

const SIZES: [usize; 2] = [1_000, 10_000];

fn press(code: KeyCode) -> Msg {
    Msg::Input(Event::Key(KeyEvent::new(code, KeyModifiers::NONE)))
}

fn war_room(app: &mut App) -> Terminal<TestBackend> {
    app.update(Msg::Input(Event::Resize(200, 50)));
    Terminal::new(TestBackend::new(200, 50)).unwrap()
}

fn update(c: &mut Criterion) {
    for services in SIZES {
        let mut app = support::app(services);
        let later = support::now() + Duration::seconds(1);
        let health = scaled::update(Feed::Health, services, later);
        let mut group = c.benchmark_group("update");
        support::sized(&mut group, services);
        group.bench_function(BenchmarkId::new("health_feed", services), |b| {
            b.iter_batched(
                || Msg::Feed(health.clone()),
                |msg| app.update(msg),
                BatchSize::LargeInput,
            )
        });
        group.bench_function(BenchmarkId::new("tick", services), |b| {
            b.iter(|| app.update(Msg::Tick(later)))
        });
        group.bench_function(BenchmarkId::new("key_down", services), |b| {
            b.iter(|| app.update(press(KeyCode::Down)))
        });
        group.finish();
    }
}

fn key_to_frame(c: &mut Criterion) {
    for services in SIZES {
        let mut app = support::app(services);
        let mut terminal = war_room(&mut app);
        let mut group = c.benchmark_group("key_to_frame");
        support::sized(&mut group, services);
        // Down and Up in turn, so every frame differs from the last.
        let mut presses = 0usize;
        group.bench_function(BenchmarkId::new("down_kpis_200x50", services), |b| {
            b.iter(|| {
                presses += 1;
                app.update(press([KeyCode::Up, KeyCode::Down][presses % 2]));
                terminal
                    .draw(|frame| opsdeck::ui::draw(frame, &app))
                    .unwrap();
            })
        });
        group.finish();
    }
}

fn refresh_second(c: &mut Criterion) {
    for services in SIZES {
        let mut app = support::app(services);
        let mut terminal = war_room(&mut app);
        let later = support::now() + Duration::seconds(1);
        let feeds: Vec<_> = [Feed::Health, Feed::Backups, Feed::Alerts]
            .into_iter()
            .map(|feed| scaled::update(feed, services, later))
            .collect();
        let mut group = c.benchmark_group("refresh_second");
        support::sized(&mut group, services);
        group.bench_function(BenchmarkId::new("kpis_200x50", services), |b| {
            b.iter_batched(
                || feeds.clone(),
                |feeds| {
                    for feed in feeds {
                        app.update(Msg::Feed(feed));
                    }
                    app.update(Msg::Tick(later));
                    terminal
                        .draw(|frame| opsdeck::ui::draw(frame, &app))
                        .unwrap();
                },
                BatchSize::LargeInput,
            )
        });
        group.finish();
    }
}

criterion_group!(benches, update, key_to_frame, refresh_second);
criterion_main!(benches);
