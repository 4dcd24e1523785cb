//! What only the rows on screen draw is asked for them alone (issue 25):
//! a real Prometheus with a backfilled estate of 40 services whose traffic
//! is known by construction (service k serves k + 1 req/s; every fourth
//! fails 10% of its requests), three of them named with a quote, a
//! backslash and a `$1`.
//!
//! Two sources ask the same server at the same instant: one never told
//! what is on screen (as `status` is), one told a handful of services (as
//! the dashboard tells it after each frame). The told one draws traffic
//! lines for those services only, equal to the other's and to the
//! construction; every service is still there with the very same figures,
//! so sorting, filtering and the header's counts over the services off
//! screen are what they were. Told other services, the newly shown get
//! their whole five minutes at the next refresh.

mod support;

use std::fmt::Write as _;
use std::sync::Arc;

use opsdeck::config::file::{Config, Endpoint};
use opsdeck::domain::ServiceHealth;
use opsdeck::sources::MetricsSource;
use opsdeck::sources::metrics::PrometheusSource;
use support::*;

const SERVICES: usize = 40;
/// The backfill: a sample every 15 s over the last 20 minutes, the last
/// `LAST_AGE` seconds before the instant asked.
const STEP: i64 = 15;
const SPAN: i64 = 20 * 60;
const LAST_AGE: i64 = 10;

fn name(k: usize) -> String {
    match k {
        7 => r#"shop"quoted"#.into(),
        11 => r"back\slash".into(),
        13 => "cost$1".into(),
        _ => format!("svc-{k:02}"),
    }
}

/// OpenMetrics label value: quotes and backslashes escaped.
fn label(value: &str) -> String {
    value.replace('\\', r"\\").replace('"', r#"\""#)
}

fn rate(k: usize) -> f64 {
    k as f64 + 1.0
}

fn estate(last: i64) -> String {
    let mut text = String::from("# TYPE http_requests counter\n");
    for k in 0..SERVICES {
        let failing = if k % 4 == 0 { 0.1 } else { 0.0 };
        for (code, share) in [("200", 1.0 - failing), ("500", failing)] {
            if share == 0.0 {
                continue;
            }
            for t in (last - SPAN..=last).step_by(STEP as usize) {
                let total = rate(k) * share * (t - (last - SPAN)) as f64;
                writeln!(
                    text,
                    r#"http_requests_total{{service="{}",code="{code}"}} {total} {t}"#,
                    label(&name(k))
                )
                .unwrap();
            }
        }
    }
    text.push_str("# EOF\n");
    text
}

/// A service's figures but its traffic line, as text (an unknown figure
/// is NaN, which `==` never equals).
fn figures(s: &ServiceHealth) -> String {
    let mut s = s.clone();
    s.traffic_history.clear();
    format!("{s:?}")
}

fn line<'a>(services: &'a [ServiceHealth], name: &str) -> &'a [f64] {
    &services
        .iter()
        .find(|s| s.name == name)
        .unwrap_or_else(|| panic!("{name} listed"))
        .traffic_history
}

#[test]
fn only_the_services_on_screen_have_their_traffic_lines_asked_and_nothing_else_changes() {
    let at = unix_now() as i64;
    let prometheus =
        Prometheus::start_with_backfill(PrometheusConfig::default(), &estate(at - LAST_AGE));
    let when = chrono::DateTime::from_timestamp(at, 0).unwrap();
    let config = Config {
        service_labels: vec!["service".into()],
        ..Config::default()
    };
    let url = reqwest::Url::parse(&prometheus.url()).unwrap();
    let source = || PrometheusSource::new(Endpoint::plain("prometheus", url.clone()), &config);
    let (every, told) = (source().unwrap(), source().unwrap());
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let health = |s: &PrometheusSource| runtime.block_on(s.health(when)).unwrap().value;

    // Prometheus itself: the construction holds.
    let answer = prometheus.query_at(
        r#"sum by (service) (rate(http_requests_total{service="svc-05"}[1m]))"#,
        at as f64,
    );
    let got = sample_values(&answer["data"]["result"]);
    assert!((got[0] - rate(5)).abs() < 1e-9, "svc-05 at {got:?}");

    let shown: Vec<String> = [3, 7, 11, 13, 30].map(name).to_vec();
    let mut wanted = shown.clone();
    wanted.push("not-a-service".into());
    told.on_screen(Arc::new(wanted));
    let all = health(&every).services;
    let some = health(&told).services;

    assert_eq!(all.len(), SERVICES, "every service is listed");
    assert_eq!(some.len(), SERVICES, "every service is listed when told");
    for (a, b) in all.iter().zip(some.iter()) {
        assert_eq!(figures(a), figures(b), "{}'s figures are the same", a.name);
    }
    // The header's counts come from the figures: the same ten failing.
    let failing = |list: &[ServiceHealth]| list.iter().filter(|s| s.error_ratio > 0.05).count();
    assert_eq!((failing(&all), failing(&some)), (10, 10));

    for k in 0..SERVICES {
        let n = name(k);
        let whole = line(&all, &n);
        assert_eq!(whole.len(), 61, "{n}: five minutes at 5 s, both ends");
        assert!(
            whole.iter().all(|v| (v - rate(k)).abs() < 1e-9),
            "{n}: {} req/s throughout, got {whole:?}",
            rate(k)
        );
        if shown.contains(&n) {
            assert_eq!(line(&some, &n), whole, "{n} is on screen");
        } else {
            assert!(line(&some, &n).is_empty(), "{n} is off screen");
        }
    }

    // Scrolled: the newly shown are drawn whole at the next refresh, the
    // ones gone off screen are let go.
    let next: Vec<String> = [20, 21, 7].map(name).to_vec();
    told.on_screen(Arc::new(next.clone()));
    let later = health(&told).services;
    for k in 0..SERVICES {
        let n = name(k);
        if next.contains(&n) {
            assert_eq!(line(&later, &n), line(&all, &n), "{n} shown whole");
        } else {
            assert!(line(&later, &n).is_empty(), "{n} let go");
        }
    }

    // Nothing on screen (another tab first): no traffic line at all.
    told.on_screen(Arc::new(Vec::new()));
    let none = health(&told).services;
    assert!(none.iter().all(|s| s.traffic_history.is_empty()));
    assert_eq!(none.len(), SERVICES);
}

/// The dashboard tells the sources the services whose rows its last frame
/// drew: on the demo's Health tab, in a pane too short for all of them,
/// the names on screen and no other; moved down past the last row, the
/// window moves and so does the list.
#[test]
fn the_services_drawn_are_the_rows_on_screen() {
    use opsdeck::app::command::Command;
    use opsdeck::app::{App, Msg, Settings};
    use opsdeck::config::keymap::Keymap;
    use opsdeck::config::theme::Theme;
    use opsdeck::demo::DemoEstate;

    let start = chrono::Utc::now();
    let settings = Settings {
        demo: true,
        ..Settings::default()
    };
    let mut app = App::new(settings, Theme::builtin(), Keymap::builtin(), start);
    for update in DemoEstate::new(11, start).updates_at(start, chrono::Duration::days(30)) {
        app.update(Msg::Feed(update));
    }
    app.run(Command::ShowHealth);
    let names: Vec<String> = app
        .estate
        .services()
        .iter()
        .map(|s| s.name.clone())
        .collect();
    let drawn_at = |app: &App| {
        let screen = screen_lines(app, 120, 24);
        let drawn = app.services_drawn.borrow().clone();
        let on_screen: Vec<&String> = (names.iter())
            .filter(|n| screen.iter().any(|l| l.contains(&format!(" {n} "))))
            .collect();
        (drawn, on_screen.len())
    };
    let (first, seen) = drawn_at(&app);
    assert!(
        !first.is_empty() && first.len() < names.len(),
        "a short pane draws some of the {} services: {first:?}",
        names.len()
    );
    assert_eq!(first.len(), seen, "each drawn name is on screen: {first:?}");
    for _ in 0..names.len() {
        app.run(Command::Down);
    }
    let (last, seen) = drawn_at(&app);
    assert_eq!(last.len(), seen, "{last:?}");
    assert_ne!(first, last, "moved down, other rows are drawn");
    let selected = app.table(opsdeck::app::tab::TableId::Services).selected;
    let row = app.table(opsdeck::app::tab::TableId::Services).rows[selected].index;
    assert!(last.contains(&names[row]), "the selected row is drawn");
}
