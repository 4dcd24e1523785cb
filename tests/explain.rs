//! Every state explains itself (issue 20, item 9): a row's details say
//! which rule gives it its state and with which value, and the KPI
//! drill-down scrolls through every part, the burn rate's with each window.
//! Rendered into ratatui's TestBackend, and driven headless by keys.

mod support;

use std::sync::Arc;

use chrono::{DateTime, Duration, TimeZone, Utc};
use opsdeck::app::command::Command;
use opsdeck::app::tab::TableId;
use opsdeck::app::{App, Mode, Msg, Settings};
use opsdeck::config::keymap::Keymap;
use opsdeck::config::theme::Theme;
use opsdeck::demo::DemoEstate;
use opsdeck::domain::explain;
use opsdeck::domain::slo::host_status;
use opsdeck::domain::{Status, reliability::ErrorRatios};
use opsdeck::sources::{Feed, FeedUpdate, Reading};
use ratatui::crossterm::event::{Event, KeyCode, KeyEvent, KeyModifiers};
use support::render;

fn start() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 22, 3, 0, 0).unwrap()
}

fn app() -> App {
    let settings = Settings {
        demo: true,
        read_only: false,
        ..Settings::default()
    };
    let mut app = App::new(settings, Theme::builtin(), Keymap::builtin(), start());
    for update in DemoEstate::new(11, start()).updates_at(start(), Duration::days(30)) {
        app.update(Msg::Feed(update));
    }
    app
}

fn press(app: &mut App, code: KeyCode) {
    app.update(Msg::Input(Event::Key(KeyEvent::new(
        code,
        KeyModifiers::NONE,
    ))));
}

/// The demo's estate with `orders` burning its budget fast: a page by the
/// workbook's 1h and 5m windows.
fn app_with_a_page() -> App {
    let mut app = app();
    let mut reading = app.estate.health.data.clone().unwrap();
    let mut services = (*reading.services).clone();
    let orders = services.iter_mut().find(|s| s.name == "orders").unwrap();
    orders.error_ratios = ErrorRatios {
        m5: Some(0.068),
        m30: Some(0.0426),
        h1: Some(0.0171),
        h2: Some(0.0103),
        h6: Some(0.0035),
        d1: Some(0.0001),
        d3: Some(0.0001),
    };
    reading.services = Arc::new(services);
    app.update(Msg::Feed(FeedUpdate {
        source: "demo".into(),
        feed: Feed::Health,
        at: start() + Duration::seconds(1),
        result: Ok(Reading::Health(reading)),
        warnings: Vec::new(),
    }));
    app
}

/// Opens the burn rate's drill-down from the KPI tiles.
fn open_burn_drill_down(app: &mut App) -> usize {
    app.run(Command::ShowKpis);
    app.run(Command::NextPanel);
    assert_eq!(app.focused_table(), TableId::Kpis);
    let burn = app
        .estate
        .kpis
        .iter()
        .position(|k| k.id == "burn_rate")
        .unwrap();
    for _ in 0..app.estate.kpis.len() {
        let at = app.table(TableId::Kpis).selected_row().unwrap().index;
        if at == burn {
            break;
        }
        app.run(Command::Down);
    }
    assert_eq!(app.table(TableId::Kpis).selected_row().unwrap().index, burn);
    app.run(Command::Open);
    assert_eq!(app.mode, Mode::Detail);
    burn
}

#[test]
fn the_details_of_a_critical_host_say_which_gauge_and_which_value() {
    let mut app = app();
    app.run(Command::ShowHealth);
    app.run(Command::NextPanel);
    assert_eq!(app.focused_table(), TableId::Hosts);
    let hosts = app.estate.health.data.as_ref().unwrap().hosts.clone();
    let t = app.settings.thresholds;
    // Worst first: the first row is the critical host.
    let row = app.table(TableId::Hosts).selected_row().unwrap().index;
    let host = &hosts[row];
    assert_eq!(host_status(host, &t), Status::Crit, "{host:?}");
    app.run(Command::Open);
    let s = render(&app, 100, 30);
    let rules = explain::host(host, &t);
    let (status, text) = &rules[0];
    assert_eq!(*status, Status::Crit);
    let line = s
        .lines()
        .find(|l| l.contains("✖ CRIT: "))
        .unwrap_or_else(|| panic!("no rule line in\n{s}"));
    assert!(line.contains(text.as_str()), "{line}\n{s}");
    assert!(text.contains('≥') && text.contains('%'), "{text}");
    assert!(s.contains(&format!("╭ {} ", host.name)), "{s}");
}

#[test]
fn the_burn_drill_down_shows_each_window_and_the_pair_that_pages_and_scrolls_to_its_last_part() {
    let mut app = app_with_a_page();
    let burn = open_burn_drill_down(&mut app);
    let kpi = app.estate.kpis[burn].clone();
    assert_eq!(kpi.status, Status::Crit);
    let s = render(&app, 100, 30);
    let header = s
        .lines()
        .find(|l| l.contains("service") && l.contains("30m"))
        .unwrap_or_else(|| panic!("no window header in\n{s}"));
    for window in ["5m", "30m", "1h", "2h", "6h", "1d", "3d", "alert"] {
        assert!(header.contains(window), "{window} in {header}");
    }
    let orders = s.lines().find(|l| l.contains("✖ orders")).unwrap();
    for value in ["68.0x", "42.6x", "17.1x", "10.3x", "3.5x", "page 1h&5m"] {
        assert!(orders.contains(value), "{value} in {orders}");
    }
    assert!(
        s.contains("a page when 1h and 5m both burn over 14.4"),
        "{s}"
    );

    // Taller than a short screen: the last part is out of view until
    // scrolled.
    let s = render(&app, 100, 22);
    let last = kpi.parts.last().unwrap().name.clone();
    let row = |s: &str| s.lines().any(|l| l.contains(&format!("✔ {last} ")));
    assert!(!row(&s), "{last} out of view at first:\n{s}");
    assert!(s.contains("1–"), "says where it is:\n{s}");
    app.run(Command::Bottom);
    let s = render(&app, 100, 22);
    assert!(row(&s), "{last} shown at the bottom:\n{s}");
    assert!(s.contains("from the queries"), "{s}");
    assert_eq!(app.mode, Mode::Detail);
}

#[test]
fn scroll_keys_move_the_details_not_the_selection_and_stop_at_the_ends() {
    let mut app = app_with_a_page();
    open_burn_drill_down(&mut app);
    let selected = app.table(TableId::Kpis).selected;
    render(&app, 100, 30);
    press(&mut app, KeyCode::Char('j'));
    press(&mut app, KeyCode::Down);
    assert_eq!(app.detail_scroll.get(), 2);
    press(&mut app, KeyCode::Char('k'));
    assert_eq!(app.detail_scroll.get(), 1);
    press(&mut app, KeyCode::Up);
    press(&mut app, KeyCode::Up);
    assert_eq!(app.detail_scroll.get(), 0, "not above the top");
    assert_eq!(app.table(TableId::Kpis).selected, selected, "the row stays");
    assert_eq!(app.mode, Mode::Detail);

    press(&mut app, KeyCode::PageDown);
    assert!(app.detail_scroll.get() > 2, "a screen down");
    press(&mut app, KeyCode::End);
    render(&app, 100, 30);
    let end = app.detail_scroll.get();
    assert!(end > 0 && end < 200, "clamped to the lines: {end}");
    press(&mut app, KeyCode::Down);
    render(&app, 100, 30);
    assert_eq!(app.detail_scroll.get(), end, "not below the bottom");
    press(&mut app, KeyCode::Up);
    assert_eq!(app.detail_scroll.get(), end - 1, "one key back up");
    press(&mut app, KeyCode::PageUp);
    press(&mut app, KeyCode::PageUp);
    press(&mut app, KeyCode::Home);
    assert_eq!(app.detail_scroll.get(), 0);

    // Closed and opened again, details start at the top.
    press(&mut app, KeyCode::End);
    press(&mut app, KeyCode::Esc);
    assert_eq!(app.mode, Mode::Normal);
    press(&mut app, KeyCode::Down);
    assert_ne!(
        app.table(TableId::Kpis).selected,
        selected,
        "closed: rows move"
    );
    press(&mut app, KeyCode::Enter);
    assert_eq!(app.detail_scroll.get(), 0);
}
