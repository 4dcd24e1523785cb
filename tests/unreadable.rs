//! One bad record never blanks a feed (issue 22, item 2): a fake
//! Alertmanager (a real one will not hold an alert it cannot read) answers
//! good alerts with one whose `labels` is null and one whose start is not
//! a date among them; the good ones are incidents on the screen, the bad
//! ones counted on the panel, and the silences beside them still read.

mod support;

use chrono::Utc;
use opsdeck::app::tab::Tab;
use opsdeck::app::{App, Msg, Settings};
use opsdeck::config::file::Config;
use opsdeck::config::keymap::Keymap;
use opsdeck::config::theme::Theme;
use opsdeck::sources::poller::PollPlan;
use support::{FakeReply, FakeServer};

const ALERTS: &str = r#"[
  {"labels":{"alertname":"HighErrorRate","service":"orders","severity":"critical"},"startsAt":"2026-11-22T02:00:00Z","status":{"silencedBy":[],"inhibitedBy":[]}},
  {"labels":null,"startsAt":"2026-11-22T02:00:00Z","status":{}},
  {"labels":{"alertname":"DiskFull","service":"db-02","severity":"warning"},"startsAt":"2026-11-22T02:10:00Z","status":{}},
  {"labels":{"alertname":"Late","service":"x"},"startsAt":"yesterday","status":{}}
]"#;

const SILENCES: &str = r#"[{"id":"s1","status":{"state":"active"},"createdBy":"ops","comment":"window",
  "startsAt":"2026-11-22T02:00:00Z","endsAt":"2099-11-22T04:00:00Z",
  "matchers":[{"name":"service","value":"checkout","isRegex":false}]}]"#;

#[test]
fn one_unreadable_alert_is_counted_and_the_good_ones_shown() {
    let server = FakeServer::start(|r| match r.path.as_str() {
        "/api/v2/alerts" => FakeReply::json(200, ALERTS),
        "/api/v2/silences" => FakeReply::json(200, SILENCES),
        _ => FakeReply::json(404, "{}"),
    });
    let text = format!("[[alertmanager]]\nurl = \"{}\"\n", server.url());
    let (config, problems) = Config::parse(std::path::Path::new("opsdeck.toml"), &text);
    assert!(problems.is_empty(), "{problems:?}");
    let (sources, _) = opsdeck::sources::from_config(&config, false);
    let alerts: Vec<_> = sources
        .iter()
        .filter(|s| matches!(s, opsdeck::sources::Source::Alerts(_)))
        .cloned()
        .collect();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let updates = runtime.block_on(opsdeck::status::fetch_all(
        &alerts,
        &PollPlan::default(),
        Utc::now(),
    ));
    let mut app = App::new(
        Settings::default(),
        Theme::builtin(),
        Keymap::builtin(),
        Utc::now(),
    );
    for u in updates {
        assert!(u.result.is_ok(), "{:?}", u.result.err());
        app.apply(Msg::Feed(u));
    }
    app.settle();
    let names: Vec<&str> = app
        .estate
        .incidents
        .iter()
        .map(|i| i.name.as_str())
        .collect();
    assert_eq!(names, ["HighErrorRate", "DiskFull"]);
    let silences = &app.estate.alerts.data.as_ref().unwrap().silences;
    assert_eq!(silences.len(), 1, "the silences beside them still read");

    app.tab = Tab::Incidents;
    app.apply(Msg::Input(ratatui::crossterm::event::Event::Resize(
        120, 30,
    )));
    app.settle();
    let mut terminal = ratatui::Terminal::new(ratatui::backend::TestBackend::new(120, 30)).unwrap();
    terminal.draw(|f| opsdeck::ui::draw(f, &app)).unwrap();
    let buffer = terminal.backend().buffer();
    let screen: Vec<String> = (0..30)
        .map(|y| {
            (0..120)
                .map(|x| buffer[(x, y)].symbol().to_string())
                .collect()
        })
        .collect();
    let all = screen.join("\n");
    assert!(
        all.contains("HighErrorRate") && all.contains("DiskFull"),
        "{all}"
    );
    assert!(
        all.contains("2 alerts unreadable: invalid type: null"),
        "the panel counts them: {all}"
    );
}
