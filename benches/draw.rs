//! `ui::draw` of every tab into ratatui's `TestBackend`, at 80x24 and 200x50,
//! for 10, 1,000 and 10,000 services. The terminal is kept between frames as
//! the event loop keeps it, so each figure is one steady-state frame: the
//! tab drawn, diffed against the last frame and flushed to the backend.
//! Budget (issue 6): the busiest tab (KPIs) at 200x50 in at most 2 ms at
//! 1,000 services and 10 ms at 10,000.

mod support;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use opsdeck::app::Msg;
use opsdeck::app::tab::Tab;
use ratatui::Terminal;
use ratatui::backend::TestBackend;

fn draw(c: &mut Criterion) {
    for services in support::SIZES {
        let mut app = support::app(services);
        for (width, height) in support::SCREENS {
            app.update(Msg::Input(ratatui::crossterm::event::Event::Resize(
                width, height,
            )));
            let mut group = c.benchmark_group(format!("draw_{width}x{height}"));
            support::sized(&mut group, services);
            let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
            for tab in Tab::ALL {
                app.update(Msg::Command(support::show(tab)));
                group.bench_with_input(BenchmarkId::new(tab.title(), services), &app, |b, app| {
                    b.iter(|| {
                        terminal
                            .draw(|frame| opsdeck::ui::draw(frame, app))
                            .unwrap();
                    })
                });
            }
            group.finish();
        }
    }
}

criterion_group!(benches, draw);
criterion_main!(benches);
