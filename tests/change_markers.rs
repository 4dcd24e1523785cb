//! Change markers: the demo's checkout canary, released 110 s before the
//! demo opened, drawn as `│` on checkout's traffic line on the Health tab
//! in the column its time falls in, named in the service's details, and
//! marked on the KPI tiles' trends; in `mono` too, where only the glyph
//! says it.

use chrono::{DateTime, Duration, TimeZone, Utc};
use opsdeck::app::command::Command;
use opsdeck::app::tab::TableId;
use opsdeck::app::{App, Msg, Settings};
use opsdeck::config::keymap::Keymap;
use opsdeck::config::theme::Theme;
use opsdeck::demo::DemoEstate;
use support::{render, screen_lines};

fn start() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 22, 3, 0, 0).unwrap()
}

/// The demo's checkout release: 110 s before it opened.
const DEPLOYED_BEFORE: i64 = 110;

fn app_with(theme: Theme) -> App {
    let settings = Settings {
        demo: true,
        read_only: false,
        ..Settings::default()
    };
    let mut app = App::new(settings, theme, Keymap::builtin(), start());
    for update in DemoEstate::new(11, start()).updates_at(start(), Duration::days(30)) {
        app.update(Msg::Feed(update));
    }
    app
}

/// Where checkout's release is marked on its line, computed from its
/// time: the line's 60 points are 5 s apart, the last at the reading (the
/// demo's start); a change between two points marks the later one.
fn expected_column() -> usize {
    let points = 60;
    let step = 5;
    let first = -(points - 1) * step;
    let offset = -DEPLOYED_BEFORE - first;
    let index = (offset + step - 1) / step;
    assert_eq!(index, 37);
    column_of(index as usize)
}

/// The position of the mark for point `index` of 60 in a 20-column line:
/// the line is drawn 19 wide to make room for it, and the mark goes in
/// before the column the point is averaged into.
fn column_of(index: usize) -> usize {
    (0..19)
        .find(|b| b * 60 / 19 <= index && index < (b + 1) * 60 / 19)
        .unwrap()
}

fn checkout_sparkline(theme: Theme) -> String {
    let mut app = app_with(theme);
    app.run(Command::ShowHealth);
    sparkline_of(&screen_lines(&app, 120, 40), "checkout")
}

/// The 20 columns under the Traffic 5m header in `service`'s row.
fn sparkline_of(screen: &[String], service: &str) -> String {
    let header = screen
        .iter()
        .find(|l| l.contains("Traffic 5m"))
        .expect("the services table's header");
    let x = header[..header.find("Traffic 5m").unwrap()].chars().count();
    let row = screen
        .iter()
        .find(|l| l.contains(&format!(" {service} ")))
        .unwrap_or_else(|| panic!("{service}'s row"));
    row.chars().skip(x).take(20).collect()
}

#[test]
fn checkouts_release_is_marked_on_its_traffic_line_at_the_column_of_its_time() {
    for theme in [Theme::builtin(), Theme::load("mono", None).0] {
        let line = checkout_sparkline(theme);
        let marks: Vec<usize> = line
            .chars()
            .enumerate()
            .filter(|(_, c)| *c == '│')
            .map(|(i, _)| i)
            .collect();
        assert_eq!(marks, [expected_column()], "checkout's line {line:?}");
        assert_eq!(line.chars().count(), 20, "the column keeps its width");
    }
}

#[test]
fn a_service_without_a_change_in_the_last_five_minutes_has_no_mark() {
    let mut app = app_with(Theme::builtin());
    app.run(Command::ShowHealth);
    let log = &app.estate.change_log;
    let quiet: Vec<&str> = app
        .estate
        .services()
        .iter()
        .map(|s| s.name.as_str())
        .filter(|name| {
            !log.iter()
                .any(|c| c.service == *name && c.at > start() - Duration::minutes(5))
        })
        .collect();
    assert!(!quiet.is_empty(), "some services had no change");
    let screen = screen_lines(&app, 120, 40);
    for name in quiet {
        let line = sparkline_of(&screen, name);
        assert!(!line.contains('│'), "{name}: {line}");
    }
}

#[test]
fn checkouts_details_name_the_release_and_how_long_ago() {
    let mut app = app_with(Theme::builtin());
    app.run(Command::ShowHealth);
    let at = app
        .estate
        .services()
        .iter()
        .position(|s| s.name == "checkout")
        .unwrap();
    for _ in 0..40 {
        let selected = app.table(TableId::Services).selected_row().map(|r| r.index);
        if selected == Some(at) {
            break;
        }
        app.run(Command::Down);
    }
    app.run(Command::Open);
    let screen = render(&app, 120, 50);
    let line = screen
        .lines()
        .find(|l| l.contains("changes (│)"))
        .unwrap_or_else(|| panic!("no changes line in\n{screen}"));
    assert!(
        line.contains("checkout v") && line.contains("canary") && line.contains("1m ago"),
        "{line}"
    );
    let traffic = screen
        .lines()
        .find(|l| l.contains("traffic 5m"))
        .expect("the traffic line");
    let line: String = traffic
        .split("traffic 5m")
        .nth(1)
        .unwrap()
        .trim_start()
        .chars()
        .take(60)
        .collect();
    assert_eq!(line.matches('│').count(), 1, "{line}");
}

#[test]
fn kpi_trends_mark_the_releases_of_the_minutes_they_span() {
    let settings = Settings {
        demo: true,
        read_only: false,
        ..Settings::default()
    };
    let opened = start() - Duration::minutes(3);
    let mut app = App::new(settings, Theme::builtin(), Keymap::builtin(), opened);
    // Five minutes across checkout's release, the demo's figures read each.
    let estate = DemoEstate::new(11, start());
    for minute in 0..=4 {
        let now = opened + Duration::minutes(minute);
        app.update(Msg::Tick(now));
        for update in estate.updates_at(now, Duration::days(30)) {
            app.update(Msg::Feed(update));
        }
    }
    app.run(Command::ShowKpis);
    let screen = render(&app, 120, 40);
    assert!(
        screen.lines().any(|l| {
            let c: Vec<char> = l.chars().collect();
            c.windows(2).any(|w| {
                let bar = |ch: char| ('▁'..='█').contains(&ch);
                (w[0] == '│' && bar(w[1])) || (bar(w[0]) && w[1] == '│')
            })
        }),
        "a trend carries a mark:\n{screen}"
    );
}

mod support;

/// A deployment pushed to a real Pushgateway at a known time, scraped by
/// Prometheus and read by opsdeck's metrics source, marks checkout's
/// traffic line (its 60 points, 5 s apart, given with the reading) in the
/// column computed from the pushed time and the reading's.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pushed_deployment_marks_the_column_of_its_time() {
    use opsdeck::config::file::{Config, Endpoint};
    use opsdeck::domain::{HealthReading, ServiceHealth};
    use opsdeck::sources::metrics::PrometheusSource;
    use opsdeck::sources::{Feed, FeedUpdate, MetricsSource, Reading};
    use support::*;

    let deployed = unix_now() as i64 - 100;
    let pushgateway = Pushgateway::start();
    let prometheus = Prometheus::start(PrometheusConfig {
        scrape: vec![scrape("pushgateway", &pushgateway.addr(), true)],
        ..PrometheusConfig::default()
    });
    let exposition = format!(
        "# TYPE deployment_info gauge\n\
         deployment_info{{service=\"checkout\",environment=\"production\",version=\"v3.2.40\",previous_version=\"v3.2.39\",strategy=\"rolling\",color=\"\",phase=\"progressing\"}} 1\n\
         # TYPE deployment_timestamp_seconds gauge\n\
         deployment_timestamp_seconds{{service=\"checkout\",environment=\"production\"}} {deployed}\n"
    );
    pushgateway.push("deploy", &[], &exposition);
    let stamp = prometheus.wait_for(
        "deployment_timestamp_seconds{service=\"checkout\"}",
        "the pushed deployment scraped",
        |r| r.as_array().is_some_and(|a| a.len() == 1),
    );
    assert_eq!(
        stamp[0]["value"][1],
        serde_json::json!(deployed.to_string())
    );

    let at = Utc::now();
    let url = reqwest::Url::parse(&prometheus.url()).unwrap();
    let source =
        PrometheusSource::new(Endpoint::plain("prometheus", url), &Config::default()).unwrap();
    let deployments = source.deployments(at).await.unwrap().value;
    let mut checkout = ServiceHealth::unknown("checkout", "deployments");
    checkout.traffic_history = (0..60).map(|i| f64::from(i % 7)).collect();
    let health = HealthReading {
        services: std::sync::Arc::new(vec![checkout]),
        hosts: vec![],
        looked_for: String::new(),
    };
    let mut app = App::new(Settings::default(), Theme::builtin(), Keymap::builtin(), at);
    for (feed, reading) in [
        (Feed::Deployments, Reading::Deployments(deployments)),
        (Feed::Health, Reading::Health(health)),
    ] {
        app.update(Msg::Feed(FeedUpdate {
            source: "prometheus".into(),
            feed,
            at,
            result: Ok(reading),
            warnings: vec![],
        }));
    }
    app.settle();
    app.run(Command::ShowHealth);

    // The last point at the reading's 5 s step; the release marks the
    // first point at or after it.
    let last = at.timestamp().div_euclid(5) * 5;
    let index = 59 - (last - deployed).div_euclid(5);
    assert!((0..60).contains(&index), "inside the 5 minutes: {index}");
    let line = sparkline_of(&screen_lines(&app, 120, 30), "checkout");
    let marks: Vec<usize> = (line.chars().enumerate())
        .filter(|(_, c)| *c == '│')
        .map(|(i, _)| i)
        .collect();
    assert_eq!(
        marks,
        [column_of(index as usize)],
        "checkout's line {line:?}"
    );
}
