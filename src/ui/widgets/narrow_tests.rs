//! Whole screens at 80x24, 60x20 and 40x20: the column that gives a row its
//! state stays, and every row keeps its state word and its name.

use chrono::{DateTime, Duration, TimeZone, Utc};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

use crate::app::command::Command;
use crate::app::{App, Msg, Settings};
use crate::config::keymap::Keymap;
use crate::config::theme::Theme;
use crate::demo::DemoEstate;
use crate::domain::{Backup, Deployment, DrillResult, Host, Phase, Silence, Tier};
use crate::sources::Reading;

const SIZES: [(u16, u16); 3] = [(80, 24), (60, 20), (40, 20)];
/// A host name longer than any column gives a name (32 cells).
const LONG_HOST: &str = "ip-10-0-12-34.eu-west-1.compute.internal";

fn start() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 22, 3, 0, 0).unwrap()
}

/// The demo's estate at `start()`, with its hosts and backups replaced by
/// ones whose states have a single known cause.
fn app() -> App {
    let settings = Settings {
        demo: true,
        read_only: false,
        ..Settings::default()
    };
    let mut app = App::new(settings, Theme::builtin(), Keymap::builtin(), start());
    for mut update in DemoEstate::new(11, start()).updates_at(start(), Duration::days(30)) {
        match update.result.as_mut() {
            Ok(Reading::Health(h)) => h.hosts = hosts(),
            Ok(Reading::Backups(b)) => *b = backups(),
            Ok(Reading::Alerts(a)) => a.silences = silences(),
            Ok(Reading::Deployments(d)) => fail_the_last(d),
            _ => {}
        }
        app.update(Msg::Feed(update));
    }
    app
}

fn host(name: &str, cpu: f64, memory: f64, disk: f64) -> Host {
    Host {
        name: name.into(),
        up: true,
        cpu,
        memory,
        disk,
        full_in: None,
        cpu_history: vec![cpu; 20],
    }
}

/// db-02 is critical on its disk alone; the others are fine.
fn hosts() -> Vec<Host> {
    vec![
        host("app-01", 0.30, 0.40, 0.50),
        host("db-02", 0.30, 0.40, 0.92),
        host(LONG_HOST, 0.20, 0.30, 0.40),
    ]
}

/// payments-db is warned for its verification alone (10 days ago, over the
/// 7 allowed); orders-db is fine.
fn backups() -> Vec<Backup> {
    let backup = |target: &str, verified_days: i64| Backup {
        service: None,
        target: target.into(),
        tier: Tier::Critical,
        last_success: Some(start() - Duration::minutes(5)),
        size_bytes: 1e9,
        duration: Some(Duration::minutes(2)),
        last_verified: Some(start() - Duration::days(verified_days)),
        last_drill: Some(DrillResult {
            at: start() - Duration::days(20),
            measured_rto: Some(Duration::minutes(30)),
        }),
        runs: None,
        ..Default::default()
    };
    vec![backup("orders-db", 1), backup("payments-db", 10)]
}

/// The deployment listed last fails, so it is the only one not OK.
fn fail_the_last(deployments: &mut [Deployment]) {
    if let Some(d) = deployments.last_mut() {
        d.phase = Phase::Failed;
        d.service = "failing-service".into();
    }
}

/// Two acknowledgements of the same alert on two services.
fn silences() -> Vec<Silence> {
    let ack = |id: &str, service: &str| Silence {
        id: id.into(),
        matchers: format!(r#"alertname="HighErrorRate", service="{service}""#),
        created_by: "alice".into(),
        comment: "looking into it".into(),
        starts_at: start() - Duration::minutes(5),
        ends_at: start() + Duration::hours(1),
    };
    vec![ack("a1", "orders"), ack("a2", "checkout")]
}

fn screen(app: &mut App, tab: Command, (width, height): (u16, u16)) -> String {
    app.run(tab);
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    terminal.draw(|f| crate::ui::draw(f, app)).unwrap();
    let buffer = terminal.backend().buffer();
    (0..height)
        .map(|y| (0..width).map(|x| buffer[(x, y)].symbol()).collect())
        .collect::<Vec<String>>()
        .join("\n")
}

fn line_with<'a>(screen: &'a str, needle: &str) -> &'a str {
    screen
        .lines()
        .find(|l| l.contains(needle))
        .unwrap_or_else(|| panic!("no line with {needle:?} in\n{screen}"))
}

#[test]
fn a_host_critical_on_its_disk_keeps_the_disk_column() {
    let mut app = app();
    for size in SIZES {
        let s = screen(&mut app, Command::ShowHealth, size);
        let row = line_with(&s, "db-02");
        assert!(row.contains("CRIT"), "{size:?}: {row}\n{s}");
        assert!(
            row.contains("92%"),
            "{size:?}: the disk explains it: {row}\n{s}"
        );
    }
}

#[test]
fn a_backup_warned_for_verification_keeps_the_verified_column() {
    let mut app = app();
    for size in SIZES {
        let s = screen(&mut app, Command::ShowBackups, size);
        let row = line_with(&s, "payments-db");
        assert!(row.contains("WARN"), "{size:?}: {row}\n{s}");
        assert!(
            row.contains("10d ago"),
            "{size:?}: verified 10 days ago explains it: {row}\n{s}"
        );
        assert!(line_with(&s, "State").contains("Verified"), "{size:?}\n{s}");
    }
}

/// What a row's state column may say: a state, an incident's severity, a
/// silence's state.
const STATE_WORDS: [&str; 10] = [
    "OK", "WARN", "CRIT", "UNKNOWN", "critical", "warning", "info", "active", "pending", "expired",
];

/// Whether `line` is a row inside a table or a tile: between side borders,
/// not blank, not a table's header.
fn is_row(line: &str) -> bool {
    let inner = line.trim_start_matches('│').trim_end_matches('│').trim();
    line.starts_with('│')
        && !inner.is_empty()
        && !inner.starts_with("State ")
        && !inner.starts_with("Severity ")
}

#[test]
fn at_forty_columns_every_row_of_every_tab_shows_its_state_word_and_name() {
    let mut app = app();
    let tabs = [
        Command::ShowKpis,
        Command::ShowHealth,
        Command::ShowDeploys,
        Command::ShowBackups,
        Command::ShowIncidents,
    ];
    for tab in tabs {
        let s = screen(&mut app, tab, (40, 20));
        let rows: Vec<&str> = s.lines().filter(|l| is_row(l)).collect();
        assert!(rows.len() >= 2, "{tab:?}: rows in view\n{s}");
        for row in rows {
            assert!(
                STATE_WORDS.iter().any(|w| row.contains(w)),
                "{tab:?}: a row without its state word: {row}\n{s}"
            );
        }
    }
    // A name longer than the room is cut, not dropped with its column.
    let s = screen(&mut app, Command::ShowHealth, (40, 20));
    let row = line_with(&s, "ip-10-0-1");
    assert!(row.contains("OK") && row.contains('…'), "{row}\n{s}");
}

#[test]
fn a_failed_deployment_keeps_its_phase() {
    let mut app = app();
    for size in SIZES {
        let s = screen(&mut app, Command::ShowDeploys, size);
        let row = line_with(&s, "failing-service");
        assert!(row.contains("CRIT"), "{size:?}: {row}\n{s}");
        assert!(row.contains("failed"), "{size:?}: {row}\n{s}");
    }
}

#[test]
fn a_narrow_matchers_column_shows_what_tells_silences_apart() {
    let mut app = app();
    for size in SIZES {
        let s = screen(&mut app, Command::ShowIncidents, size);
        for service in ["orders", "checkout"] {
            let row = line_with(&s, &format!(r#"service="{service}""#));
            assert!(row.contains("active"), "{size:?}: {row}\n{s}");
        }
    }
}
