//! The canary verdict against a real Prometheus on a backfilled history
//! known by construction (two hours, a sample a minute, the last one
//! `LAST_AGE` seconds before the test starts):
//!
//! * checkout, a canary of v2 against v1 for the last 30 minutes, its
//!   requests labelled by `version` (prometheus_client style): v1 serves
//!   10 req/s of which 0.2 % fail (5xx), all within 100 ms; v2 serves
//!   5 req/s of which 4 % fail, half within 100 ms and all within 250 ms.
//!   Verdict: `new worse: errors 4.0% vs 0.2%`, critical.
//! * search, blue-green to 2.4.0 for the last 20 minutes, its requests not
//!   labelled by version: 4 req/s, 0.5 % failing before the deploy and
//!   after. Compared before and after: `new as good`.
//! * cart, blue-green from v7 to v8 switched over 20 minutes ago, labelled
//!   by version, 0.2 % failing throughout: v7, idle, has no error ratio, so
//!   the two are compared before and after: `new as good`.
//!
//! Step 1 checks the history with PromQL, independent of opsdeck; step 2
//! runs `opsdeck status --json` and reads `deployments[].canary`.

mod support;

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde_json::Value;
use support::*;

const MINUTE: i64 = 60;
const HISTORY: i64 = 120 * MINUTE;
const LAST_AGE: i64 = 10;
const CANARY_SINCE: i64 = -30 * MINUTE;
const BLUE_GREEN_SINCE: i64 = -20 * MINUTE;

fn offsets() -> impl Iterator<Item = i64> {
    (0..=HISTORY / MINUTE).map(|k| k * MINUTE - HISTORY)
}

struct History {
    last: i64,
    text: String,
}

impl History {
    /// A counter rising at `rate` per second from offset `from` on.
    fn counter(&mut self, sample: &str, from: i64, rate: f64) {
        self.counter_until(sample, from, 0, rate);
    }

    /// A counter rising at `rate` per second from offset `from` until
    /// offset `until`, then flat (no more traffic, still scraped).
    fn counter_until(&mut self, sample: &str, from: i64, until: i64, rate: f64) {
        let mut total = 0.0;
        for o in offsets().filter(|o| *o >= from) {
            writeln!(self.text, "{sample} {total} {}", self.last + o).unwrap();
            if o < until {
                total += rate * MINUTE as f64;
            }
        }
    }

    fn gauge(&mut self, sample: &str, from: i64, value: f64) {
        for o in offsets().filter(|o| *o >= from) {
            writeln!(self.text, "{sample} {value} {}", self.last + o).unwrap();
        }
    }
}

/// (version, since, req/s, error ratio, share within 100 ms).
const CHECKOUT: [(&str, i64, f64, f64, f64); 2] = [
    ("v1", -HISTORY, 10.0, 0.002, 1.0),
    ("v2", CANARY_SINCE, 5.0, 0.04, 0.5),
];

fn history(last: i64) -> String {
    let mut h = History {
        last,
        text: String::new(),
    };
    h.text.push_str("# TYPE http_requests counter\n");
    for (version, since, rps, errors, _) in CHECKOUT {
        let labels = format!(r#"service="checkout",version="{version}""#);
        h.counter(
            &format!(r#"http_requests_total{{{labels},code="200"}}"#),
            since,
            rps * (1.0 - errors),
        );
        h.counter(
            &format!(r#"http_requests_total{{{labels},code="500"}}"#),
            since,
            rps * errors,
        );
    }
    // search: the same 0.5 % before and after its deploy, no version label.
    h.counter(
        r#"http_requests_total{service="search",code="200"}"#,
        -HISTORY,
        4.0 * 0.995,
    );
    h.counter(
        r#"http_requests_total{service="search",code="500"}"#,
        -HISTORY,
        4.0 * 0.005,
    );
    // cart: blue-green from v7 to v8, switched over at once 20 minutes
    // ago, 0.2 % failing before and after; v7, idle since, has no error
    // ratio of its own, so the two are compared before and after.
    for (version, since, until) in [
        ("v7", -HISTORY, BLUE_GREEN_SINCE),
        ("v8", BLUE_GREEN_SINCE, 0),
    ] {
        for (code, share) in [("200", 0.998), ("500", 0.002)] {
            h.counter_until(
                &format!(
                    r#"http_requests_total{{service="cart",version="{version}",code="{code}"}}"#
                ),
                since,
                until,
                2.0 * share,
            );
        }
    }
    h.text
        .push_str("# TYPE http_request_duration_seconds histogram\n");
    for (version, since, rps, _, fast) in CHECKOUT {
        let labels = format!(r#"service="checkout",version="{version}""#);
        for (le, share) in [("0.1", fast), ("0.25", 1.0), ("+Inf", 1.0)] {
            h.counter(
                &format!(r#"http_request_duration_seconds_bucket{{{labels},le="{le}"}}"#),
                since,
                rps * share,
            );
        }
    }
    h.text.push_str("# TYPE deployment_info gauge\n");
    h.gauge(
        r#"deployment_info{service="checkout",environment="production",version="v2",previous_version="v1",strategy="canary",color="",phase="progressing"}"#,
        -HISTORY,
        1.0,
    );
    h.gauge(
        r#"deployment_info{service="search",environment="production",version="2.4.0",previous_version="2.3.9",strategy="blue-green",color="green",phase="progressing"}"#,
        -HISTORY,
        1.0,
    );
    h.gauge(
        r#"deployment_info{service="cart",environment="production",version="v8",previous_version="v7",strategy="blue-green",color="blue",phase="progressing"}"#,
        -HISTORY,
        1.0,
    );
    h.text.push_str("# TYPE deployment_canary_weight gauge\n");
    h.gauge(
        r#"deployment_canary_weight{service="checkout",environment="production"}"#,
        -HISTORY,
        25.0,
    );
    h.text
        .push_str("# TYPE deployment_timestamp_seconds gauge\n");
    for (service, since) in [
        ("checkout", CANARY_SINCE),
        ("search", BLUE_GREEN_SINCE),
        ("cart", BLUE_GREEN_SINCE),
    ] {
        h.gauge(
            &format!(
                r#"deployment_timestamp_seconds{{service="{service}",environment="production"}}"#
            ),
            -HISTORY,
            (last + since) as f64,
        );
    }
    h.text.push_str("# EOF\n");
    h.text
}

fn by_label(response: &Value, label: &str) -> BTreeMap<String, f64> {
    assert_eq!(response["status"], "success", "{response}");
    response["data"]["result"]
        .as_array()
        .expect("a vector")
        .iter()
        .map(|s| {
            let key = s["metric"][label].as_str().unwrap_or("").to_string();
            (key, s["value"][1].as_str().unwrap().parse().unwrap())
        })
        .collect()
}

#[track_caller]
fn close(what: &str, got: &Value, want: f64) {
    let got = got
        .as_f64()
        .unwrap_or_else(|| panic!("{what}: not a number: {got}"));
    assert!((got - want).abs() <= 1e-6, "{what}: got {got}, want {want}");
}

#[test]
fn a_canary_failing_four_percent_against_a_fifth_of_a_percent_is_critical() {
    let last = unix_now().floor() as i64 - LAST_AGE;
    let prometheus = Prometheus::start_with_backfill(PrometheusConfig::default(), &history(last));

    // --- Step 1: the history, in PromQL ----------------------------------
    let ratio = by_label(
        &prometheus.query(
            r#"sum by (version) (rate(http_requests_total{service="checkout",code=~"5.."}[5m])) / sum by (version) (rate(http_requests_total{service="checkout"}[5m]))"#,
        ),
        "version",
    );
    assert!((ratio["v1"] - 0.002).abs() < 1e-9, "{ratio:?}");
    assert!((ratio["v2"] - 0.04).abs() < 1e-9, "{ratio:?}");
    let p95 = by_label(
        &prometheus.query(
            r#"histogram_quantile(0.95, sum by (version, le) (rate(http_request_duration_seconds_bucket{service="checkout"}[5m])))"#,
        ),
        "version",
    );
    // v1: all within the first bucket, 95 % of the way to 100 ms; v2: the
    // 95th percentile 90 % of the way through (100 ms, 250 ms].
    assert!((p95["v1"] - 0.095).abs() < 1e-9, "{p95:?}");
    assert!((p95["v2"] - 0.235).abs() < 1e-9, "{p95:?}");
    let search = by_label(
        &prometheus.query(
            r#"sum by (service) (rate(http_requests_total{service="search",code=~"5.."}[20m] offset 20m)) / sum by (service) (rate(http_requests_total{service="search"}[20m] offset 20m))"#,
        ),
        "service",
    );
    assert!((search["search"] - 0.005).abs() < 1e-9, "{search:?}");

    // --- Step 2: opsdeck status --json ----------------------------------
    let dir = TempDir::new("canary");
    let config = dir.write(
        "config.toml",
        &format!(
            r#"service_label = "service"

[[prometheus]]
name = "prometheus"
url = "{}"

[thresholds]
progress_deadline = "2h"
"#,
            prometheus.url()
        ),
    );
    let (status, ..) = dir.status_json(&config);
    let deployment = |service: &str| -> &Value {
        status["deployments"]
            .as_array()
            .expect("deployments[]")
            .iter()
            .find(|d| d["service"] == service)
            .unwrap_or_else(|| panic!("no {service} in {:#}", status["deployments"]))
    };

    let checkout = &deployment("checkout")["canary"];
    assert_eq!(checkout["basis"], "version", "{checkout:#}");
    assert_eq!(checkout["new"]["version"], "v2");
    assert_eq!(checkout["stable"]["version"], "v1");
    close("v2's errors", &checkout["new"]["error_ratio"], 0.04);
    close("v1's errors", &checkout["stable"]["error_ratio"], 0.002);
    close("v2's p95", &checkout["new"]["p95_seconds"], 0.235);
    close("v1's p95", &checkout["stable"]["p95_seconds"], 0.095);
    assert_eq!(checkout["state"], "crit");
    assert_eq!(checkout["verdict"], "new worse: errors 4.0% vs 0.2%");
    assert_eq!(deployment("checkout")["state"], "crit");
    let reasons = status["reasons"].to_string();
    assert!(
        reasons.contains("canary worse than stable"),
        "the one verdict says why: {reasons}"
    );

    let search = &deployment("search")["canary"];
    assert_eq!(search["basis"], "before_after", "{search:#}");
    close("search after", &search["new"]["error_ratio"], 0.005);
    close("search before", &search["stable"]["error_ratio"], 0.005);
    assert_eq!(search["verdict"], "new as good");
    assert_eq!(deployment("search")["state"], "ok");

    let cart = &deployment("cart")["canary"];
    assert_eq!(
        cart["basis"], "before_after",
        "the old colour idle: {cart:#}"
    );
    close("cart after", &cart["new"]["error_ratio"], 0.002);
    close("cart before", &cart["stable"]["error_ratio"], 0.002);
    assert_eq!(cart["state"], "ok");
}

mod on_screen {
    //! The demo's canary in flight at the start, as the Deploys tab and its
    //! details show it (ratatui's TestBackend).

    use chrono::{DateTime, Duration, TimeZone, Utc};
    use opsdeck::app::command::Command;
    use opsdeck::app::{App, Msg, Settings};
    use opsdeck::config::keymap::Keymap;
    use opsdeck::config::theme::Theme;
    use opsdeck::demo::DemoEstate;
    use opsdeck::domain::canary::percent;
    use ratatui::Terminal;
    use ratatui::backend::TestBackend;
    use ratatui::crossterm::event::{Event, KeyCode, KeyEvent, KeyModifiers};

    fn start() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 22, 3, 0, 0).unwrap()
    }

    fn render(app: &App, width: u16, height: u16) -> String {
        let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
        terminal.draw(|f| opsdeck::ui::draw(f, app)).unwrap();
        let buffer = terminal.backend().buffer();
        (0..height)
            .map(|y| (0..width).map(|x| buffer[(x, y)].symbol()).collect())
            .collect::<Vec<String>>()
            .join("\n")
    }

    fn key(app: &mut App, code: KeyCode) {
        app.update(Msg::Input(Event::Key(KeyEvent::new(
            code,
            KeyModifiers::NONE,
        ))));
    }

    fn payments_pair(deployments: &[opsdeck::domain::Deployment]) -> String {
        let d = deployments
            .iter()
            .find(|d| d.service == "payments")
            .unwrap();
        d.canary
            .as_ref()
            .expect("payments' blue-green judged")
            .errors_pair()
    }

    #[test]
    fn the_deploys_tab_shows_the_canary_s_errors_and_its_details_the_verdict() {
        let settings = Settings {
            demo: true,
            ..Settings::default()
        };
        let mut app = App::new(settings, Theme::builtin(), Keymap::builtin(), start());
        for update in DemoEstate::new(11, start()).updates_at(start(), Duration::days(30)) {
            app.update(Msg::Feed(update));
        }
        app.run(Command::ShowDeploys);
        let screen = render(&app, 80, 24);
        let row = screen
            .lines()
            .find(|l| l.contains(" checkout "))
            .unwrap_or_else(|| panic!("no checkout row in\n{screen}"));
        assert!(row.contains("✖ CRIT"), "{row}");
        // The stable version's figure is checkout's own on Health, before
        // the canary's share of requests is mixed in: Health shows the mix.
        let deployments = app.estate.deployments.data.clone().unwrap();
        let d = deployments
            .iter()
            .find(|d| d.service == "checkout")
            .unwrap();
        let c = d.canary.as_ref().expect("checkout's canary judged");
        let opsdeck::domain::Strategy::Canary { weight } = d.strategy else {
            panic!("checkout is a canary: {:?}", d.strategy)
        };
        assert!(row.contains(&format!(
            "4.1/{}",
            c.errors_pair().split('/').nth(1).unwrap()
        )));
        assert!(
            c.stable.error_ratio > 0.0 && c.stable.error_ratio < 0.002,
            "{c:?}"
        );
        let services = app.estate.services();
        let health = services.iter().find(|s| s.name == "checkout").unwrap();
        let w = weight / 100.0;
        let mixed = (1.0 - w) * c.stable.error_ratio + w * 0.041;
        assert!(
            (health.error_ratio - mixed).abs() < 1e-12,
            "{} vs {mixed}",
            health.error_ratio
        );
        assert!(screen.contains("Canary"), "the column's title:\n{screen}");
        // A canary that is as good as stable: OK, its figures shown.
        let payments = screen.lines().find(|l| l.contains(" payments ")).unwrap();
        assert!(payments.contains("✔ OK"), "{payments}");
        assert!(
            payments.contains(&payments_pair(&deployments)),
            "{payments}"
        );

        app.run(Command::Filter);
        for c in "checkout".chars() {
            key(&mut app, KeyCode::Char(c));
        }
        key(&mut app, KeyCode::Enter);
        app.run(Command::Open);
        let details = render(&app, 100, 40);
        assert!(
            details.contains(&format!(
                "canary: new worse: errors 4.1% vs {}",
                percent(c.stable.error_ratio)
            )),
            "{details}"
        );
        // What was compared: the new version against the previous one.
        let compared = details
            .lines()
            .find(|l| l.contains("canary: new worse"))
            .unwrap();
        assert!(compared.contains(" against v"), "{details}");
    }
}
