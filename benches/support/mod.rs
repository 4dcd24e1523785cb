//! What the benchmarks share: the estate sizes, a fixed clock, an `App` fed
//! with the scaled estate, and criterion settings that keep `cargo bench`
//! within a few minutes on a 2-core machine.

// Each bench uses the part of this module it needs.
#![allow(dead_code)]

use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use criterion::{BenchmarkGroup, measurement::WallTime};
use opsdeck::app::command::Command;
use opsdeck::app::tab::Tab;
use opsdeck::app::{App, Msg, Settings};
use opsdeck::config::keymap::Keymap;
use opsdeck::config::theme::Theme;
use opsdeck::demo::scaled;

/// Services in the estates measured.
pub const SIZES: [usize; 3] = [10, 1_000, 10_000];

/// Terminal sizes measured: the SSH minimum and a war-room screen.
pub const SCREENS: [(u16, u16); 2] = [(80, 24), (200, 50)];

pub fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 22, 3, 0, 0).unwrap()
}

/// An app that has received every feed of an estate of `services` services.
pub fn app(services: usize) -> App {
    let settings = Settings {
        demo: true,
        ..Settings::default()
    };
    let mut app = App::new(settings, Theme::builtin(), Keymap::builtin(), now());
    for update in scaled::updates(services, now()) {
        app.update(Msg::Feed(update));
    }
    app
}

/// The command that shows `tab`, so a bench moves between tabs as a key does.
pub fn show(tab: Tab) -> Command {
    match tab {
        Tab::Kpis => Command::ShowKpis,
        Tab::Health => Command::ShowHealth,
        Tab::Deploys => Command::ShowDeploys,
        Tab::Backups => Command::ShowBackups,
        Tab::Incidents => Command::ShowIncidents,
    }
}

/// Fewer samples and a shorter measurement the bigger the case, so the whole
/// run stays short; criterion stretches the time when a sample needs more.
pub fn sized(group: &mut BenchmarkGroup<WallTime>, services: usize) {
    let (samples, secs) = match services {
        0..=100 => (20, 1),
        101..=1_000 => (15, 2),
        _ => (10, 3),
    };
    group
        .sample_size(samples)
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(secs));
}
