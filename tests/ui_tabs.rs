//! Each tab rendered into ratatui's TestBackend from a known state, read as
//! an operator would read it.

mod support;

use chrono::{DateTime, Duration, TimeZone, Utc};
use opsdeck::app::command::Command;
use opsdeck::app::{App, Msg, Settings};
use opsdeck::config::keymap::Keymap;
use opsdeck::config::theme::Theme;
use opsdeck::demo::DemoEstate;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::style::Color;
use support::screen_lines;

fn start() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 22, 3, 0, 0).unwrap()
}

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

fn screen(app: &mut App, command: Command, width: u16, height: u16) -> String {
    app.run(command);
    support::render(app, width, height)
}

fn line_with<'a>(screen: &'a str, needle: &str) -> &'a str {
    screen
        .lines()
        .find(|l| l.contains(needle))
        .unwrap_or_else(|| panic!("no line with {needle:?} in\n{screen}"))
}

#[test]
fn the_header_shows_the_demo_badge_the_worst_state_the_clock_and_data_age() {
    let mut app = app_with(Theme::builtin());
    let s = screen(&mut app, Command::ShowKpis, 120, 40);
    let header = s.lines().next().unwrap();
    assert!(header.contains(" DEMO "), "{header}");
    assert!(
        header.contains("✖ CRIT"),
        "the demo always has a critical page open: {header}"
    );
    assert!(header.contains("03:00:00 UTC"), "{header}");
    assert!(header.contains("data 0s old"), "{header}");
    let tabs = s.lines().nth(1).unwrap();
    for title in [
        "1 KPIs",
        "2 Health",
        "3 Deploys",
        "4 Backups",
        "5 Incidents",
    ] {
        assert!(tabs.contains(title), "{tabs}");
    }
}

const TILES: [&str; 13] = [
    "Availability 30d",
    "Error budget left",
    "Burn rate 1h",
    "Error rate",
    "p95 latency",
    "p99 latency",
    "MTTR 30d",
    "MTBF 30d",
    "RPO compliance",
    "RTO compliance",
    "Backup success",
    "Deploys/day 30d",
    "Change failure rate",
];

#[test]
fn the_kpi_tab_shows_every_tile_with_its_state_in_words() {
    let mut app = app_with(Theme::builtin());
    for (width, height) in [(120, 40), (80, 24)] {
        let s = screen(&mut app, Command::ShowKpis, width, height);
        for title in TILES {
            assert!(s.contains(title), "{width}x{height}: {title} missing\n{s}");
        }
        assert!(
            line_with(&s, "88.9%").contains("CRIT"),
            "{width}x{height}: 8 of 9 targets within RPO is a breach"
        );
        assert!(s.contains("Services by error budget"));
    }
    // With room, a tile has a second and third line: its trend and its note.
    let s = screen(&mut app, Command::ShowKpis, 120, 40);
    assert!(
        line_with(&s, "breach: auth-db").contains('│'),
        "RPO tile names the breaching target"
    );
    assert!(
        s.contains("trend: gathering"),
        "one sample is not a trend yet"
    );
    // At 80x24 the tiles are one line each: value, objective, state.
    let s = screen(&mut app, Command::ShowKpis, 80, 24);
    assert!(!s.contains("breach: auth-db"), "{s}");
    assert!(line_with(&s, "Services by error budget").starts_with('╭'));
}

#[test]
fn a_selected_tile_shows_what_makes_it_up_and_the_queries() {
    let mut app = app_with(Theme::builtin());
    app.run(Command::ShowKpis);
    app.run(Command::NextPanel);
    for _ in 0..8 {
        app.run(Command::Down);
    }
    let s = screen_lines(&app, 120, 40).join("\n");
    let rpo = line_with(&s, "RPO compliance");
    assert!(
        rpo.contains("╭ ▶ RPO compliance ─"),
        "the selected tile is marked: {rpo}"
    );
    assert_eq!(s.matches('▶').count(), 1, "{s}");
    let s = screen(&mut app, Command::Open, 120, 40);
    assert!(line_with(&s, "╭ RPO compliance ─").contains("Esc closes"));
    assert!(s.contains("made of 9, worst first"), "{s}");
    let first_part = s
        .lines()
        .skip_while(|l| !l.contains("made of 9"))
        .nth(1)
        .unwrap();
    assert!(
        first_part.contains("CRIT") && first_part.contains("auth-db"),
        "the breaching target first: {first_part}"
    );
    assert!(s.contains("backup_last_success") && s.contains("simulated by the demo estate"));
}

#[test]
fn tiles_out_of_view_are_counted_with_their_worst_state() {
    let mut app = app_with(Theme::builtin());
    // 80x18: 15 rows of body keep 6 for the table, so 3 rows of tiles show.
    let s = screen(&mut app, Command::ShowKpis, 80, 18);
    assert!(s.contains("Availability 30d") && !s.contains("Change failure rate"));
    let hint = line_with(&s, "more tiles");
    assert!(hint.contains("4 more tiles · worst ✖ CRIT"), "{hint}");
    // Selecting a hidden tile scrolls the grid to it.
    app.run(Command::NextPanel);
    app.run(Command::Bottom);
    let s = screen_lines(&app, 80, 18).join("\n");
    assert!(
        s.contains("Change failure rate") && !s.contains("Availability 30d"),
        "{s}"
    );
    assert!(line_with(&s, "more tiles").contains("6 more tiles"), "{s}");
}

#[test]
fn the_health_tab_lists_every_service_and_host_against_thresholds() {
    let mut app = app_with(Theme::builtin());
    let s = screen(&mut app, Command::ShowHealth, 120, 40);
    let health = app.estate.health.data.clone().unwrap();
    for service in health.services.iter() {
        assert!(s.contains(&service.name), "{} missing\n{s}", service.name);
    }
    for host in &health.hosts {
        assert!(s.contains(&host.name), "{} missing", host.name);
    }
    // db-02's disk is past the 90% threshold: critical, in words.
    let db02 = line_with(&s, "db-02");
    assert!(db02.contains("CRIT") && db02.contains("92%"), "{db02}");
    assert!(s.contains("Req/s") && s.contains("p95") && s.contains("Traffic 5m"));
    // app-01's disk, 58% full, fills in 14 hours: a warning, in words, by
    // its forecast alone; a disk not filling reads "—".
    let app01 = line_with(&s, "app-01");
    assert!(
        app01.contains("WARN") && app01.contains("full in 14h"),
        "{app01}"
    );
    assert!(line_with(&s, "web-01").contains(" — "), "{s}");
}

#[test]
fn the_slo_table_says_when_each_burning_budget_is_gone() {
    use opsdeck::domain::forecast::{self, BudgetForecast};
    // The default seed, as `opsdeck demo` starts: a service burns fast.
    let settings = Settings {
        demo: true,
        ..Settings::default()
    };
    let mut app = App::new(settings, Theme::builtin(), Keymap::builtin(), start());
    let demo = DemoEstate::new(opsdeck::demo::DEFAULT_SEED, start());
    for update in demo.updates_at(start(), Duration::days(30)) {
        app.update(Msg::Feed(update));
    }
    let s = screen(&mut app, Command::ShowKpis, 120, 50);
    let table = &s[s
        .find("Gone in")
        .unwrap_or_else(|| panic!("no Gone in column\n{s}"))..];
    let o = app.settings.objectives;
    let mut burning = 0;
    for service in app.estate.services().iter() {
        // The row whose Service column (after the border and State) it is.
        let row = table
            .lines()
            .find(|l| {
                let cells: String = l.chars().skip(11).collect();
                cells.starts_with(&format!("{} ", service.name))
            })
            .unwrap_or_else(|| panic!("no row for {}\n{s}", service.name));
        let cell = match forecast::service_budget(service, o.availability, o.slo_window) {
            Some(BudgetForecast::GoneIn { after, burn }) => {
                assert!(burn > 1.0, "{row}");
                burning += 1;
                forecast::within(after)
            }
            Some(BudgetForecast::Spent) => "spent".into(),
            None => "—".into(),
        };
        assert!(row.contains(&format!(" {cell} ")), "{cell} in {row}");
    }
    assert!(burning > 0, "the demo shows a budget running out\n{s}");
}

#[test]
fn the_deploys_tab_shows_strategies_and_progress() {
    let mut app = app_with(Theme::builtin());
    let s = screen(&mut app, Command::ShowDeploys, 120, 40);
    let checkout = line_with(&s, "checkout");
    assert!(
        checkout.contains("canary")
            && checkout.contains("10% new")
            && checkout.contains("progressing"),
        "{checkout}"
    );
    let payments = line_with(&s, "payments");
    assert!(
        payments.contains("blue-green") && payments.contains("live"),
        "{payments}"
    );
    let orders = line_with(&s, "orders");
    assert!(
        orders.contains("rolling") && orders.contains("/8 pods"),
        "{orders}"
    );
    assert!(s.contains("Deployed") && s.contains("ago"));
}

#[test]
fn the_backups_tab_shows_the_rpo_breach_and_drill_results() {
    let mut app = app_with(Theme::builtin());
    let s = screen(&mut app, Command::ShowBackups, 120, 40);
    let auth = line_with(&s, "auth-db");
    assert!(auth.contains("CRIT") && auth.contains("15m"), "{auth}");
    let etcd = line_with(&s, "config-etcd");
    assert!(
        etcd.contains("never") && etcd.contains("untested"),
        "{etcd}"
    );
    let orders = line_with(&s, "orders-db");
    assert!(
        orders.contains("1h 12m / 1h"),
        "the drill took longer than the RTO: {orders}"
    );
}

#[test]
fn the_incidents_tab_shows_incidents_by_severity_and_the_silences() {
    let mut app = app_with(Theme::builtin());
    let s = screen(&mut app, Command::ShowIncidents, 120, 40);
    let incidents = &app.estate.incidents;
    let first = line_with(&s, &incidents[0].name);
    assert!(first.contains("critical"), "the most severe first: {first}");
    assert!(s.contains("HostDiskAlmostFull"));
    let runbook = incidents[0].runbook.clone().unwrap();
    assert!(
        line_with(&s, "runbook:").contains(&runbook),
        "the selected incident's runbook, whole"
    );
    let silence = line_with(&s, "service=\"reporting\"");
    assert!(
        silence.contains("active") && silence.contains("ops-bot"),
        "{silence}"
    );
    assert!(line_with(&s, "service=\"search\"").contains("pending"));
}

#[test]
fn help_lists_the_bindings_of_the_keymap_in_force() {
    let mut app = app_with(Theme::builtin());
    let s = screen(&mut app, Command::Help, 120, 40);
    assert!(line_with(&s, "quit").contains("q, Ctrl-c"));
    assert!(line_with(&s, "filter the table").contains('/'));
    app.keymap = Keymap::load("vim", None).0;
    let s = screen_lines(&app, 120, 40).join("\n");
    assert!(line_with(&s, "next tab").contains(" l, "), "vim binds l");
    assert!(
        line_with(&s, "first row").contains("Home, g g"),
        "a chord shows as its keys"
    );
    assert!(s.contains("keymap: vim"));
}

#[test]
fn details_show_the_selected_row() {
    let mut app = app_with(Theme::builtin());
    app.run(Command::ShowBackups);
    let s = screen(&mut app, Command::Open, 120, 40);
    let target = app
        .table(app.focused_table())
        .selected_row()
        .unwrap()
        .key
        .clone();
    assert!(s.contains(&format!(" {target} ")), "title names the row");
    assert!(s.contains("last DR drill") && s.contains("measured RTO"));
}

#[test]
fn the_mono_theme_draws_without_any_colour() {
    let mut app = app_with(Theme::load("mono", None).0);
    for tab in [
        Command::ShowKpis,
        Command::ShowHealth,
        Command::ShowDeploys,
        Command::ShowBackups,
        Command::ShowIncidents,
    ] {
        app.run(tab);
        let mut terminal = Terminal::new(TestBackend::new(120, 40)).unwrap();
        terminal.draw(|f| opsdeck::ui::draw(f, &app)).unwrap();
        for cell in terminal.backend().buffer().content() {
            assert_eq!(
                (cell.fg, cell.bg),
                (Color::Reset, Color::Reset),
                "{tab:?}: {cell:?}"
            );
        }
    }
}

#[test]
fn a_tiny_terminal_gets_a_message_not_a_panic() {
    let app = app_with(Theme::builtin());
    let s = screen_lines(&app, 30, 6).join("");
    assert!(s.contains("terminal too small"), "{s}");
    for (w, h) in [(40, 10), (1, 1), (200, 60)] {
        screen_lines(&app, w, h);
    }
}

#[test]
fn on_a_narrow_screen_the_clock_gives_way_before_the_state() {
    let app = app_with(Theme::builtin());
    let header = |w| screen_lines(&app, w, 24)[0].clone();
    assert!(header(80).contains("✖ CRIT") && header(80).contains("UTC"));
    let narrow = header(45);
    assert!(narrow.contains("✖ CRIT"), "{narrow}");
    assert!(!narrow.contains("data 0s old"), "{narrow}");
    // The reasons name what makes the state: incidents first, then the rest.
    let wide = header(200);
    for reason in ["incidents (", "RPO breach", "host critical"] {
        assert!(wide.contains(reason), "{reason}: {wide}");
    }
}

#[test]
fn problems_in_files_are_readable_at_80x24() {
    let mut app = app_with(Theme::builtin());
    app.problems = vec![
        opsdeck::config::Problem {
            file: "/home/oncall/.config/opsdeck/themes/mine.toml".into(),
            message: "line 3, column 8: unknown colour 'purpel' (use a name such as red or lightblue, #rrggbb, or 0-255); using the default theme".into(),
        },
        opsdeck::config::Problem {
            file: "/home/oncall/.config/opsdeck/keymaps/mine.toml".into(),
            message: "key 'x' is bound to both quit and help; using the default keymap".into(),
        },
    ];
    let s = screen_lines(&app, 80, 24).join("\n");
    let footer = s.lines().last().unwrap();
    assert!(
        footer.contains("2 problems in config files: ? for details"),
        "{footer}"
    );
    app.run(Command::Help);
    let s = screen_lines(&app, 80, 24).join("\n");
    // Wrapped, both messages are on screen to their last words (read as
    // one text, a line's end a space).
    let text = s.split_whitespace().collect::<Vec<_>>().join(" ");
    for words in [
        "unknown colour 'purpel'",
        "using the default theme",
        "key 'x' is bound to",
        "using the default keymap",
    ] {
        assert!(text.contains(words), "{words} missing:\n{s}");
    }
}

#[test]
fn services_of_several_clusters_get_a_cluster_column_and_stay_apart() {
    let mut app = app_with(Theme::builtin());
    let mut health = app.estate.health.data.clone().unwrap();
    let mut other = health.services[0].clone();
    other.cluster = Some("us-east".into());
    for s in std::sync::Arc::make_mut(&mut health.services) {
        s.cluster = Some("eu-west".into());
    }
    let name = other.name.clone();
    std::sync::Arc::make_mut(&mut health.services).push(other);
    app.update(opsdeck::app::Msg::Feed(opsdeck::sources::FeedUpdate {
        source: "demo".into(),
        feed: opsdeck::sources::Feed::Health,
        at: start(),
        result: Ok(opsdeck::sources::Reading::Health(health)),
        warnings: vec!["requests: partial response".into()],
    }));
    let s = screen(&mut app, Command::ShowHealth, 160, 40);
    assert!(line_with(&s, "State").contains("Cluster"), "{s}");
    let rows: Vec<&str> = s
        .lines()
        .filter(|l| l.contains(&format!(" {name} ")))
        .collect();
    assert!(
        rows.iter().any(|l| l.contains("eu-west")) && rows.iter().any(|l| l.contains("us-east")),
        "{rows:?}"
    );
    assert!(
        s.contains("⚠ requests: partial response"),
        "a warning is shown, not dropped:\n{s}"
    );
}

#[test]
fn name_columns_widen_to_their_names_and_cut_only_past_32_with_an_ellipsis() {
    let mut app = app_with(Theme::builtin());
    let mut health = app.estate.health.data.clone().unwrap();
    health.hosts[0].name = "127.0.0.1:41789".into();
    health.hosts[1].name = "db-primary-eu-west-1.example.internal:9100".into();
    app.update(opsdeck::app::Msg::Feed(opsdeck::sources::FeedUpdate {
        source: "demo".into(),
        feed: opsdeck::sources::Feed::Health,
        at: start(),
        result: Ok(opsdeck::sources::Reading::Health(health)),
        warnings: vec![],
    }));
    let s = screen(&mut app, Command::ShowHealth, 120, 40);
    assert!(line_with(&s, "127.0.0.1:41789").contains('%'), "{s}");
    assert!(s.contains("db-primary-eu-west-1.example.in…"), "{s}");
}

#[test]
fn silenced_and_inhibited_incidents_stay_listed_and_say_so() {
    let mut app = app_with(Theme::builtin());
    let mut reading = app.estate.alerts.data.clone().unwrap();
    for alert in reading
        .alerts
        .iter_mut()
        .filter(|a| a.name == "HostDiskAlmostFull")
    {
        alert.inhibited = true;
    }
    app.update(opsdeck::app::Msg::Feed(opsdeck::sources::FeedUpdate {
        source: "demo".into(),
        feed: opsdeck::sources::Feed::Alerts,
        at: start(),
        result: Ok(opsdeck::sources::Reading::Alerts(reading)),
        warnings: vec![],
    }));
    let s = screen(&mut app, Command::ShowIncidents, 160, 40);
    let row = line_with(&s, "HostDiskAlmostFull");
    assert!(
        row.contains("◌ warning") && row.contains("[inhibited]"),
        "{row}"
    );
}

/// A source that is down is named as down in the header, in its own
/// words, and its empty panel says why: not "no data yet".
#[test]
fn a_source_that_is_down_is_named_in_the_header_and_its_panels() {
    use opsdeck::sources::{Feed, FeedUpdate, SourceError};
    let mut app = App::new(
        Settings::default(),
        Theme::builtin(),
        Keymap::builtin(),
        start(),
    );
    for feed in [Feed::Health, Feed::Alerts] {
        app.update(Msg::Feed(FeedUpdate {
            source: "prometheus".into(),
            feed,
            at: start(),
            result: Err(SourceError::Unreachable(
                "cannot connect to http://127.0.0.1:9/: Connection refused".into(),
            )),
            warnings: vec![],
        }));
    }
    let screen = screen(&mut app, Command::ShowHealth, 160, 30);
    let header = screen.lines().next().unwrap();
    assert!(header.contains("⚠ health down: cannot connect"), "{header}");
    assert!(header.contains("(2 feeds)"), "{header}");
    assert!(
        header.contains("no data ·") && !header.contains("no data yet"),
        "{header}"
    );
    assert!(
        screen.contains("no health data: cannot connect"),
        "{screen}"
    );
}

#[test]
fn an_unusual_figure_is_marked_on_health_with_how_far_and_which_way() {
    // The demo's search serves 2.2 times what its past week usually did at
    // this hour: marked on its row, explained in its details.
    let mut app = app_with(Theme::builtin());
    let s = screen(&mut app, Command::ShowHealth, 120, 40);
    let header = line_with(&s, "Unusual");
    assert!(header.contains("Traffic 5m"), "markers still fit: {header}");
    // Its farthest unusual figure: at this seed, a latency incident's p95
    // is farther still than the traffic, and the `+` says there is more.
    let row = line_with(&s, "search");
    assert!(!row.contains("✔ OK"), "{row}");
    let mark = row
        .split('↑')
        .nth(1)
        .unwrap_or_else(|| panic!("no mark: {row}"));
    let deviations: f64 = mark.split('σ').next().unwrap().trim().parse().unwrap();
    assert!(deviations > 3.0, "{row}");
    let steady = line_with(&s, "user-profile");
    assert!(!steady.contains('σ'), "{steady}");
    let services = app.estate.services();
    let search = services.iter().find(|s| s.name == "search").unwrap();
    let settings = &app.settings;
    let lines =
        opsdeck::domain::explain::service(search, &settings.thresholds, &settings.objectives);
    assert!(
        lines
            .iter()
            .any(|(status, text)| *status == opsdeck::domain::Status::Warn
                && text.starts_with("unusual: traffic ")
                && text.contains(", usually ")
                && text.contains("at this time of day over the past 7 days: ")
                && text.contains("σ above (σ ")),
        "{lines:?}"
    );
}
