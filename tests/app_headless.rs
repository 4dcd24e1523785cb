//! The app driven headless: messages and commands in, state out. No terminal.

use chrono::{DateTime, Duration, TimeZone, Utc};
use opsdeck::app::command::Command;
use opsdeck::app::tab::{Tab, TableId};
use opsdeck::app::{App, Mode, Msg, Settings};
use opsdeck::config::keymap::Keymap;
use opsdeck::config::theme::Theme;
use opsdeck::demo::DemoEstate;
use opsdeck::sources::{Feed, FeedUpdate, SourceError};
use ratatui::crossterm::event::{Event, KeyCode, KeyEvent, KeyModifiers};

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
        assert!(app.update(Msg::Feed(update)));
    }
    app
}

fn press(app: &mut App, code: KeyCode) -> bool {
    app.update(Msg::Input(Event::Key(KeyEvent::new(
        code,
        KeyModifiers::NONE,
    ))))
}

fn type_text(app: &mut App, text: &str) {
    for c in text.chars() {
        press(app, KeyCode::Char(c));
    }
}

fn selected_key(app: &App) -> String {
    app.table(app.focused_table())
        .selected_row()
        .map(|r| r.key.clone())
        .unwrap_or_default()
}

#[test]
fn number_keys_and_tab_switch_tabs_and_wrap_around() {
    let mut app = app();
    assert_eq!(app.tab, Tab::Kpis);
    press(&mut app, KeyCode::Char('4'));
    assert_eq!(app.tab, Tab::Backups);
    press(&mut app, KeyCode::Tab);
    assert_eq!(app.tab, Tab::Incidents);
    press(&mut app, KeyCode::Tab);
    assert_eq!(app.tab, Tab::Kpis, "wraps to the first tab");
    app.update(Msg::Input(Event::Key(KeyEvent::new(
        KeyCode::BackTab,
        KeyModifiers::SHIFT,
    ))));
    assert_eq!(app.tab, Tab::Incidents);
}

#[test]
fn moving_the_selection_stays_inside_the_table() {
    let mut app = app();
    press(&mut app, KeyCode::Char('2'));
    let rows = app.table(TableId::Services).rows.len();
    assert!(rows >= 12);
    press(&mut app, KeyCode::Up);
    assert_eq!(app.table(TableId::Services).selected, 0);
    press(&mut app, KeyCode::Char('j'));
    press(&mut app, KeyCode::Down);
    assert_eq!(app.table(TableId::Services).selected, 2);
    app.run(Command::Bottom);
    assert_eq!(app.table(TableId::Services).selected, rows - 1);
    press(&mut app, KeyCode::Down);
    assert_eq!(app.table(TableId::Services).selected, rows - 1);
    // w moves focus to the hosts table, which keeps its own selection.
    press(&mut app, KeyCode::Char('w'));
    assert_eq!(app.focused_table(), TableId::Hosts);
    press(&mut app, KeyCode::Down);
    assert_eq!(app.table(TableId::Hosts).selected, 1);
    assert_eq!(app.table(TableId::Services).selected, rows - 1);
}

#[test]
fn the_filter_narrows_the_table_as_you_type_and_escape_clears_it() {
    let mut app = app();
    press(&mut app, KeyCode::Char('3'));
    let all = app.table(TableId::Deployments).rows.len();
    press(&mut app, KeyCode::Char('/'));
    assert_eq!(app.mode, Mode::Filter);
    type_text(&mut app, "pay");
    let view = app.table(TableId::Deployments);
    assert_eq!(
        view.rows.iter().map(|r| r.key.as_str()).collect::<Vec<_>>(),
        ["production/payments"],
        "a deployment is its service in its environment"
    );
    assert_eq!(view.total, all);
    // While filtering, letters are text, not commands: q does not quit.
    type_text(&mut app, "q");
    assert!(!app.quit);
    assert!(app.table(TableId::Deployments).rows.is_empty());
    press(&mut app, KeyCode::Backspace);
    press(&mut app, KeyCode::Enter);
    assert_eq!(app.mode, Mode::Normal);
    assert_eq!(
        app.table(TableId::Deployments).filter,
        "pay",
        "Enter keeps the filter"
    );
    press(&mut app, KeyCode::Esc);
    assert_eq!(
        app.table(TableId::Deployments).rows.len(),
        all,
        "Esc clears it"
    );
}

#[test]
fn the_filter_matches_the_tier_too() {
    let mut app = app();
    press(&mut app, KeyCode::Char('4'));
    press(&mut app, KeyCode::Char('/'));
    type_text(&mut app, "Non-Crit");
    let mut keys: Vec<_> = app
        .table(TableId::Backups)
        .rows
        .iter()
        .map(|r| r.key.clone())
        .collect();
    keys.sort();
    assert_eq!(keys, ["media-bucket", "reporting-warehouse"]);
}

#[test]
fn enter_opens_details_of_the_selected_row_and_esc_closes_them() {
    let mut app = app();
    press(&mut app, KeyCode::Char('4'));
    press(&mut app, KeyCode::Enter);
    assert_eq!(app.mode, Mode::Detail);
    press(&mut app, KeyCode::Esc);
    assert_eq!(app.mode, Mode::Normal);
}

#[test]
fn help_toggles_and_any_key_closes_it_without_acting() {
    let mut app = app();
    press(&mut app, KeyCode::Char('?'));
    assert_eq!(app.mode, Mode::Help);
    press(&mut app, KeyCode::Char('q'));
    assert_eq!(app.mode, Mode::Normal);
    assert!(!app.quit, "q closes help first");
    press(&mut app, KeyCode::Char('q'));
    assert!(app.quit);
}

#[test]
fn the_selection_follows_its_item_when_the_order_changes() {
    let mut app = app();
    press(&mut app, KeyCode::Char('3'));
    app.run(Command::Bottom);
    let chosen = selected_key(&app);
    // Ten minutes later new deployments reorder the table (newest first).
    let later = start() + Duration::minutes(90);
    for update in DemoEstate::new(11, start()).updates_at(later, Duration::days(30)) {
        app.update(Msg::Feed(update));
    }
    assert_eq!(selected_key(&app), chosen);
}

#[test]
fn a_failed_fetch_keeps_the_last_good_data_and_records_the_error() {
    let mut app = app();
    let before = app.estate.deployments.data.clone();
    app.update(Msg::Feed(FeedUpdate {
        source: "demo".into(),
        feed: Feed::Deployments,
        at: start() + Duration::seconds(5),
        result: Err(SourceError::Timeout(5)),
        warnings: Vec::new(),
    }));
    assert_eq!(app.estate.deployments.data, before);
    assert_eq!(app.estate.deployments.updated, Some(start()));
    assert_eq!(
        app.estate.deployments.error.as_deref(),
        Some("no answer within 5 s")
    );
    assert_eq!(app.feed_errors().len(), 1);
}

#[test]
fn the_tabs_on_screen_decide_which_feeds_poll_at_full_rate() {
    let mut app = app();
    assert!(app.feeds_on_screen().contains(Feed::History));
    press(&mut app, KeyCode::Char('4'));
    let feeds = app.feeds_on_screen();
    assert!(
        feeds.contains(Feed::Backups) && feeds.contains(Feed::Alerts),
        "the header's feeds always"
    );
    assert!(!feeds.contains(Feed::Deployments) && !feeds.contains(Feed::History));
}

#[test]
fn ticks_move_the_clock_and_age_the_data() {
    let mut app = app();
    assert_eq!(app.data_age(), Some(Duration::zero()));
    app.update(Msg::Tick(start() + Duration::seconds(42)));
    assert_eq!(app.data_age(), Some(Duration::seconds(42)));
}

#[test]
fn page_down_moves_by_the_rows_the_focused_table_shows() {
    let mut app = app();
    // 80x24: 21 rows of body, 15 of one-line KPI tiles (13 in rows of 3),
    // 6 for the table: 3 rows of data.
    app.update(Msg::Input(Event::Resize(80, 24)));
    press(&mut app, KeyCode::PageDown);
    assert_eq!(app.table(TableId::Slo).selected, 3);
    press(&mut app, KeyCode::PageUp);
    assert_eq!(app.table(TableId::Slo).selected, 0);
    // The tiles page by the tiles shown: all 15 places of the grid.
    press(&mut app, KeyCode::Char('w'));
    press(&mut app, KeyCode::PageDown);
    assert_eq!(app.table(TableId::Kpis).selected, 12, "the last of 13");
    press(&mut app, KeyCode::Char('w'));
    // Deploys has the whole body to itself: at 80x12, 9 rows, 6 of data.
    press(&mut app, KeyCode::Char('3'));
    app.update(Msg::Input(Event::Resize(80, 12)));
    press(&mut app, KeyCode::PageDown);
    assert_eq!(app.table(TableId::Deployments).selected, 6);
}

#[test]
fn ctrl_c_quits_from_any_mode() {
    let ctrl_c = Event::Key(KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL));
    for enter in [KeyCode::Char('/'), KeyCode::Enter, KeyCode::Char('?')] {
        let mut app = app();
        press(&mut app, KeyCode::Char('4'));
        press(&mut app, enter);
        assert_ne!(app.mode, Mode::Normal, "{enter:?}");
        app.update(Msg::Input(ctrl_c.clone()));
        assert!(app.quit, "Ctrl-C in the mode {enter:?} opens");
    }
}

#[test]
fn details_close_when_their_item_goes_away() {
    let mut app = app();
    press(&mut app, KeyCode::Char('5'));
    press(&mut app, KeyCode::Enter);
    assert_eq!(app.mode, Mode::Detail);
    let shown = selected_key(&app);
    // The next reading no longer has that incident: it resolved.
    let mut reading = app.estate.alerts.data.clone().unwrap();
    reading
        .alerts
        .retain(|a| format!("{}/{}", a.name, a.service) != shown);
    app.update(Msg::Feed(FeedUpdate {
        source: "demo".into(),
        feed: Feed::Alerts,
        at: start() + Duration::seconds(1),
        result: Ok(opsdeck::sources::Reading::Alerts(reading)),
        warnings: Vec::new(),
    }));
    assert_eq!(
        app.mode,
        Mode::Normal,
        "not the details of another incident"
    );
    // While it stays, updates leave the details open.
    press(&mut app, KeyCode::Enter);
    app.update(Msg::Tick(start() + Duration::seconds(2)));
    assert_eq!(app.mode, Mode::Detail);
}

#[test]
fn an_incident_without_a_runbook_takes_its_service_runbook_from_the_configuration() {
    let mut app = app();
    app.settings
        .runbooks
        .insert("db-02".into(), "https://wiki.example.com/db-02".into());
    let mut reading = app.estate.alerts.data.clone().unwrap();
    for alert in &mut reading.alerts {
        alert.runbook = None;
    }
    app.update(Msg::Feed(FeedUpdate {
        source: "demo".into(),
        feed: Feed::Alerts,
        at: start(),
        result: Ok(opsdeck::sources::Reading::Alerts(reading)),
        warnings: Vec::new(),
    }));
    let db = app
        .estate
        .incidents
        .iter()
        .find(|i| i.service == "db-02")
        .unwrap();
    assert_eq!(
        db.runbook.as_deref(),
        Some("https://wiki.example.com/db-02")
    );
    assert!(
        app.estate
            .incidents
            .iter()
            .filter(|i| i.service != "db-02")
            .all(|i| i.runbook.is_none())
    );
}

/// The state a fresh app derives, from scratch, from the latest reading of
/// every feed: what an app that settled incrementally must equal.
fn derived(app: &App) -> impl PartialEq + std::fmt::Debug {
    let mut kpis = app.estate.kpis.clone();
    for k in &mut kpis {
        // Trends are the one thing that rightly differs: what the app saw.
        k.trend.clear();
    }
    let rows: Vec<_> = TableId::ALL
        .iter()
        .map(|id| (app.table(*id).rows.clone(), app.table(*id).total))
        .collect();
    (kpis, app.estate.summary.clone(), rows)
}

#[test]
fn settling_only_what_changed_equals_deriving_everything_from_scratch() {
    let demo = DemoEstate::new(11, start());
    let mut incremental = app();
    let mut latest: std::collections::BTreeMap<Feed, FeedUpdate> = Default::default();
    // Three hours, a step a minute: the clock moves every step, each feed
    // arrives on its own cadence, and several messages are often applied
    // before one settle, as the event loop batches them.
    for step in 1..=180 {
        let at = start() + Duration::minutes(step);
        incremental.apply(Msg::Tick(at));
        let due: Vec<Feed> = Feed::ALL
            .into_iter()
            .filter(|feed| {
                let every = match feed {
                    Feed::Health => 1,
                    Feed::Alerts => 2,
                    Feed::Backups => 7,
                    Feed::Deployments => 11,
                    Feed::History => 13,
                };
                step % every == 0
            })
            .collect();
        for update in demo.feeds_at(at, &due, Duration::days(30)) {
            latest.insert(update.feed, update.clone());
            incremental.apply(Msg::Feed(update));
        }
        if step % 3 == 0 {
            incremental.settle();
        }
    }
    // Then only the clock moves, two days on: every backup is overdue, and
    // the rows and KPIs judged by age must follow without new data.
    let end = start() + Duration::minutes(180) + Duration::days(2);
    incremental.apply(Msg::Tick(end));
    incremental.settle();

    let settings = Settings {
        demo: true,
        ..Settings::default()
    };
    // The clock first, so that nothing of it is incremental.
    let mut scratch = App::new(settings, Theme::builtin(), Keymap::builtin(), end);
    for update in latest.into_values() {
        scratch.update(Msg::Feed(update));
    }
    assert_eq!(derived(&incremental), derived(&scratch));
}

fn mouse(app: &mut App, kind: ratatui::crossterm::event::MouseEventKind, x: u16, y: u16) -> bool {
    app.update(Msg::Input(Event::Mouse(
        ratatui::crossterm::event::MouseEvent {
            kind,
            column: x,
            row: y,
            modifiers: KeyModifiers::NONE,
        },
    )))
}

#[test]
fn a_click_on_a_tab_shows_it_and_the_wheel_moves_the_selection() {
    use ratatui::crossterm::event::{MouseButton, MouseEventKind};
    let mut app = app();
    app.update(Msg::Input(Event::Resize(120, 40)));
    // The tab line is row 1: " 1 KPIs ✖ CRIT │ 2 Health ✖ CRIT │ …", each
    // title where the screen draws it.
    app.settle();
    let mut terminal = ratatui::Terminal::new(ratatui::backend::TestBackend::new(120, 40)).unwrap();
    terminal.draw(|f| opsdeck::ui::draw(f, &app)).unwrap();
    let line: Vec<String> = (0..120)
        .map(|x| terminal.backend().buffer()[(x, 1)].symbol().to_string())
        .collect();
    let column = |title: &str| {
        (0..120u16)
            .find(|&x| line[x as usize..].concat().starts_with(title))
            .unwrap_or_else(|| panic!("{title} in {}", line.concat()))
    };
    let (health, deploys) = (column("2 Health"), column("3 Deploy"));
    assert!(mouse(
        &mut app,
        MouseEventKind::Down(MouseButton::Left),
        health + 2,
        1
    ));
    assert_eq!(app.tab, Tab::Health);
    assert!(mouse(
        &mut app,
        MouseEventKind::Down(MouseButton::Left),
        deploys + 2,
        1
    ));
    assert_eq!(app.tab, Tab::Deploys);
    assert!(
        !mouse(&mut app, MouseEventKind::Down(MouseButton::Left), 24, 5),
        "a click off the tab line is not a tab"
    );
    assert_eq!(app.tab, Tab::Deploys);
    let before = app.table(app.focused_table()).selected;
    mouse(&mut app, MouseEventKind::ScrollDown, 50, 10);
    assert_eq!(app.table(app.focused_table()).selected, before + 3);
    mouse(&mut app, MouseEventKind::ScrollUp, 50, 10);
    assert_eq!(app.table(app.focused_table()).selected, before);
}

#[test]
fn kiosk_moves_on_by_itself_and_waits_a_minute_after_a_key() {
    let mut app = app();
    app.settings.kiosk = true;
    app.settings.read_only = true;
    app.settings.cycle = std::time::Duration::from_secs(20);
    let at = |s: i64| start() + Duration::seconds(s);
    app.update(Msg::Tick(at(19)));
    assert_eq!(app.tab, Tab::Kpis, "not yet");
    app.update(Msg::Tick(at(20)));
    assert_eq!(app.tab, Tab::Health, "one cycle on");
    app.update(Msg::Tick(at(41)));
    assert_eq!(app.tab, Tab::Deploys);
    press(&mut app, KeyCode::Char('4'));
    app.update(Msg::Tick(at(100)));
    assert_eq!(app.tab, Tab::Backups, "paused by the key");
    app.update(Msg::Tick(at(121)));
    assert_eq!(
        app.tab,
        Tab::Incidents,
        "a minute and a cycle after the key"
    );
    press(&mut app, KeyCode::Char(' '));
    app.update(Msg::Tick(at(1000)));
    assert_eq!(app.tab, Tab::Incidents, "held");
    press(&mut app, KeyCode::Char('R'));
    assert!(
        app.actions
            .notice
            .as_deref()
            .is_some_and(|n| n.contains("kiosk mode is read-only")),
        "{:?}",
        app.actions.notice
    );
}

#[test]
fn sorting_steps_through_the_columns_and_state_words_filter() {
    let mut app = app();
    let keys = |app: &App| -> Vec<String> {
        let rows = &app.table(TableId::Services).rows;
        rows.iter().map(|r| r.key.clone()).collect()
    };
    press(&mut app, KeyCode::Char('2'));
    press(&mut app, KeyCode::Char('>'));
    assert_eq!(app.table(TableId::Services).sort, Some("service"));
    let mut sorted = keys(&app);
    sorted.sort();
    assert_eq!(keys(&app), sorted, "by name, A to Z");
    press(&mut app, KeyCode::Char('<'));
    sorted.reverse();
    assert_eq!(keys(&app), sorted, "reversed");
    assert!(app.run_line("sort req/s").is_ok());
    let services = app.estate.services();
    let rates: Vec<f64> = app
        .table(TableId::Services)
        .rows
        .iter()
        .map(|r| services[r.index].requests_per_second)
        .collect();
    assert!(
        rates.windows(2).all(|w| w[0] >= w[1]),
        "busiest first: {rates:?}"
    );
    assert!(
        app.run_line("sort nonsense")
            .unwrap_err()
            .contains("no column")
    );

    assert!(app.run_line("filter is:ok").is_ok());
    let ok = app.table(TableId::Services).rows.len();
    assert!(app.run_line("filter is:breaching").is_ok());
    let breaching = app.table(TableId::Services).rows.len();
    assert_eq!(ok + breaching, app.table(TableId::Services).total);
    assert!(breaching > 0, "the demo has services in trouble");
}

/// A footer message goes with the next key, or after ten seconds without
/// one: `no column 'p9' here` is not still there minutes later, on another
/// tab.
#[test]
fn footer_messages_expire_after_ten_seconds_or_the_next_key() {
    let mut app = app();
    press(&mut app, KeyCode::Char('2'));
    app.actions.notice = Some("no column 'p9' here".into());
    app.update(Msg::Tick(start() + Duration::seconds(1)));
    app.update(Msg::Tick(start() + Duration::seconds(9)));
    assert!(app.actions.notice.is_some(), "still there after 8 s");
    app.update(Msg::Tick(start() + Duration::seconds(12)));
    assert_eq!(app.actions.notice, None, "gone after ten seconds");

    app.actions.notice = Some("copied: checkout".into());
    app.update(Msg::Tick(start() + Duration::seconds(13)));
    assert!(app.actions.notice.is_some());
    press(&mut app, KeyCode::Down);
    assert_eq!(app.actions.notice, None, "gone with the next key");
}
