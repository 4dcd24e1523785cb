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

    // Five seconds on: one more step asked, of the shown ones only.
    let step = chrono::DateTime::from_timestamp(at + 5, 0).unwrap();
    let stepped = runtime.block_on(told.health(step)).unwrap().value.services;
    for k in 0..SERVICES {
        let n = name(k);
        let got = line(&stepped, &n);
        if shown.contains(&n) {
            assert_eq!(got.len(), 61, "{n}: still five minutes");
            assert!(
                got.iter().all(|v| (v - rate(k)).abs() < 1e-9),
                "{n}: {got:?}"
            );
        } else {
            assert!(got.is_empty(), "{n} is off screen");
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

    // A traffic_history of the configuration's own names its services by
    // `service`, not `opsdeck_service`: asked whole, every line drawn.
    let own = Config {
        queries: std::collections::BTreeMap::from([(
            "traffic_history".to_string(),
            (
                "sum by (service) (rate(http_requests_total[1m]))".to_string(),
                1,
            ),
        )]),
        ..config.clone()
    };
    let overridden =
        PrometheusSource::new(Endpoint::plain("prometheus", url.clone()), &own).unwrap();
    overridden.on_screen(Arc::new(shown.clone()));
    let lines = health(&overridden).services;
    for k in 0..SERVICES {
        assert_eq!(line(&lines, &name(k)), line(&all, &name(k)), "{}", name(k));
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
        // In the order of the rows on screen.
        let on_screen: Vec<String> = (screen.iter())
            .filter_map(|l| names.iter().find(|n| l.contains(&format!(" {n} "))))
            .cloned()
            .collect();
        (drawn, on_screen)
    };
    let (first, seen) = drawn_at(&app);
    assert!(
        !first.is_empty() && first.len() < names.len(),
        "a short pane draws some of the {} services: {first:?}",
        names.len()
    );
    assert_eq!(first, seen, "the names drawn are the names on screen");
    for _ in 0..names.len() {
        app.run(Command::Down);
    }
    let (last, seen) = drawn_at(&app);
    assert_eq!(last, seen, "the names drawn are the names on screen");
    assert_ne!(first, last, "moved down, other rows are drawn");
    let selected = app.table(opsdeck::app::tab::TableId::Services).selected;
    let row = app.table(opsdeck::app::tab::TableId::Services).rows[selected].index;
    assert!(last.contains(&names[row]), "the selected row is drawn");

    // A service's details on the KPI tab draw its traffic line too; the
    // Health rows stay watched for the way back.
    app.run(Command::ShowKpis);
    if app.focused_table() != opsdeck::app::tab::TableId::Slo {
        app.run(Command::NextPanel);
    }
    app.run(Command::Open);
    let _ = screen_lines(&app, 120, 40);
    let slo = app.table(opsdeck::app::tab::TableId::Slo);
    let opened = names[slo.rows[slo.selected].index].clone();
    assert_eq!(app.detail_drawn.borrow().as_deref(), Some(opened.as_str()));
    assert_eq!(*app.services_drawn.borrow(), last);
    app.run(Command::Back);
    let _ = screen_lines(&app, 120, 40);
    assert_eq!(*app.detail_drawn.borrow(), None, "closed, no longer drawn");
}

/// A health reading with the very same services as before recomputes only
/// the hosts; one whose services differ from what was shown — here because
/// a service only a deployment named has gone — recomputes the rows too.
#[test]
fn the_services_rows_follow_the_list_when_only_the_hosts_moved_or_not() {
    use opsdeck::app::tab::TableId;
    use opsdeck::app::{App, Msg, Settings};
    use opsdeck::config::keymap::Keymap;
    use opsdeck::config::theme::Theme;
    use opsdeck::domain::{Deployment, HealthReading, Host, Phase, Strategy};
    use opsdeck::sources::{Feed, FeedUpdate, Reading};

    let start = chrono::Utc::now();
    let mut app = App::new(
        Settings::default(),
        Theme::builtin(),
        Keymap::builtin(),
        start,
    );
    let services = Arc::new(
        ["alpha", "bravo", "charlie"]
            .map(|n| {
                let mut s = ServiceHealth::unknown(n, "test");
                s.requests_per_second = 10.0;
                s
            })
            .to_vec(),
    );
    let host = |cpu: f64| Host {
        name: "db-1".into(),
        up: true,
        cpu,
        memory: 0.2,
        disk: 0.3,
        full_in: None,
        cpu_history: Vec::new(),
    };
    let mut seconds = 0;
    let mut send = |app: &mut App, feed: Feed, reading: Reading| {
        seconds += 1;
        app.update(Msg::Feed(FeedUpdate {
            source: "live".into(),
            feed,
            at: start + chrono::Duration::seconds(seconds),
            result: Ok(reading),
            warnings: Vec::new(),
        }));
    };
    let health = |cpu: f64| {
        Reading::Health(HealthReading {
            services: services.clone(),
            hosts: vec![host(cpu)],
            looked_for: String::new(),
        })
    };
    let deployment = Deployment {
        service: "ghost".into(),
        environment: "production".into(),
        version: "v1".into(),
        previous_version: None,
        strategy: Strategy::Rolling {
            updated: 1,
            total: 1,
        },
        phase: Phase::Complete,
        deployed_at: None,
        rollbacks: 0,
        history: Vec::new(),
        window: None,
        canary: None,
    };
    let rows = |app: &App| app.table(TableId::Services).rows.len();
    send(&mut app, Feed::Health, health(0.10));
    assert_eq!(rows(&app), 3);
    send(
        &mut app,
        Feed::Deployments,
        Reading::Deployments(vec![deployment]),
    );
    assert_eq!(rows(&app), 4, "ghost, named by its deployment, joins");
    send(
        &mut app,
        Feed::Deployments,
        Reading::Deployments(Vec::new()),
    );
    // The same list from the source, new hosts: the list shown had ghost.
    send(&mut app, Feed::Health, health(0.20));
    assert_eq!(rows(&app), 3, "ghost's row goes with it");
    let screen = render(&app, 120, 40);
    assert!(!screen.contains("ghost"), "{screen}");
    // The same list again, new hosts: the hosts' rows move, the rest stays.
    app.run(opsdeck::app::command::Command::ShowHealth);
    send(&mut app, Feed::Health, health(0.97));
    assert_eq!(rows(&app), 3);
    let screen = render(&app, 120, 40);
    assert!(
        screen.contains("97%"),
        "the host's CPU is the new one: {screen}"
    );
    for n in ["alpha", "bravo", "charlie"] {
        assert!(screen.contains(n), "{n} on screen: {screen}");
    }
}
