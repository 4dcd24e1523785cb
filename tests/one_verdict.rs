//! One verdict: the header's state, each tab's mark, the kiosk banner and
//! `opsdeck status` (text, JSON, exit code) say the same thing, and each
//! tab's mark is the worst state on its rows. Over the demo estate at many
//! seeds and moments, so no hand-picked case makes it pass.

use chrono::{DateTime, Duration, TimeZone, Utc};
use opsdeck::app::tab::{Tab, TableId};
use opsdeck::app::{App, Msg, Settings};
use opsdeck::config::keymap::Keymap;
use opsdeck::config::theme::Theme;
use opsdeck::demo::DemoEstate;
use opsdeck::domain::Status;
use opsdeck::status::Glance;
use ratatui::Terminal;
use ratatui::backend::TestBackend;

fn start() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 22, 3, 0, 0).unwrap()
}

/// The demo at `seed`, `minutes` after it started: fed at the start, then
/// again at that moment (the clock moved; rows judged by age follow).
fn demo_app(seed: u64, minutes: i64, kiosk: bool) -> App {
    let settings = Settings {
        demo: true,
        kiosk,
        read_only: kiosk,
        ..Settings::default()
    };
    let mut app = App::new(settings, Theme::builtin(), Keymap::builtin(), start());
    let demo = DemoEstate::new(seed, start());
    for update in demo.updates_at(start(), Duration::days(30)) {
        app.apply(Msg::Feed(update));
    }
    let at = start() + Duration::minutes(minutes);
    app.apply(Msg::Tick(at));
    for update in demo.updates_at(at, Duration::days(30)) {
        app.apply(Msg::Feed(update));
    }
    app.settle();
    app
}

fn mark(app: &App, tab: Tab) -> Status {
    let m = &app.estate.summary.marks;
    match tab {
        Tab::Kpis => m.kpis,
        Tab::Health => m.health,
        Tab::Deploys => m.deploys,
        Tab::Backups => m.backups,
        Tab::Incidents => m.incidents,
    }
}

/// The worst state on the rows of `tab`'s tables, as the rows show them
/// (an incident under a silence is held, not open).
fn worst_row(app: &App, tab: Tab) -> Status {
    let mut worst = Status::Ok;
    for &id in tab.tables() {
        for row in &app.table(id).rows {
            let Some(state) = app.row_state(id, row.index) else {
                continue;
            };
            // A storm's row (past the incidents) is the worst of its
            // incidents not held.
            let held = id == TableId::Incidents
                && (app.estate.incidents.get(row.index)).is_some_and(|i| i.silenced);
            // The KPI tab is judged by its tiles; a service whose SLO has
            // no traffic to judge is unknown on its row, not on the tab.
            let unjudged = id == TableId::Slo && state == Status::Unknown;
            if !held && !unjudged {
                worst = worst.max(state);
            }
        }
    }
    worst
}

#[test]
fn every_tab_mark_is_its_worst_row_and_the_verdict_the_worst_mark() {
    let mut seen = std::collections::BTreeSet::new();
    for seed in 1..=8 {
        for minutes in [0, 45, 190] {
            let app = demo_app(seed, minutes, false);
            let summary = &app.estate.summary;
            for tab in Tab::ALL {
                let shown = worst_row(&app, tab);
                let marked = mark(&app, tab);
                if tab == Tab::Kpis {
                    // Tiles aggregate the SLO rows: never better than them.
                    assert!(
                        marked >= shown.min(Status::Warn) || shown == Status::Unknown,
                        "seed {seed} +{minutes}m {tab:?}: mark {marked:?}, rows {shown:?}"
                    );
                } else {
                    assert_eq!(marked, shown, "seed {seed} +{minutes}m {tab:?}");
                }
                seen.insert((tab.index(), marked));
            }
            let worst_mark = Status::worst(Tab::ALL.iter().map(|t| mark(&app, *t)));
            assert_eq!(summary.status, worst_mark, "seed {seed} +{minutes}m");
            // Every state above OK says why, at that state.
            for tab in Tab::ALL {
                let m = mark(&app, tab);
                assert!(
                    m == Status::Ok || summary.reasons.iter().any(|r| r.status >= m),
                    "seed {seed} +{minutes}m: {tab:?} is {m:?} with no reason: {:?}",
                    summary.reasons
                );
            }
        }
    }
    // The demo shows trouble on these tabs somewhere, or the test proves
    // nothing about marks above OK. (Its deployments fail rarely; a failed
    // or stalled one is the summary's unit tests'.)
    for tab in [Tab::Kpis, Tab::Health, Tab::Backups, Tab::Incidents] {
        assert!(
            seen.iter()
                .any(|(t, s)| *t == tab.index() && *s >= Status::Warn),
            "no seed puts {tab:?} above OK: {seen:?}"
        );
    }
}

fn screen(app: &mut App, width: u16, height: u16) -> String {
    app.apply(Msg::Input(ratatui::crossterm::event::Event::Resize(
        width, height,
    )));
    app.settle();
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    terminal.draw(|f| opsdeck::ui::draw(f, app)).unwrap();
    let buffer = terminal.backend().buffer().clone();
    (0..height)
        .map(|y| {
            (0..width)
                .map(|x| buffer[(x, y)].symbol().to_string())
                .collect::<String>()
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn status_the_header_the_tab_marks_and_the_kiosk_banner_agree() {
    for seed in 1..=12 {
        let mut app = demo_app(seed, 45, true);
        let verdict = app.estate.summary.status;
        let marks = app.estate.summary.marks;
        let text = screen(&mut app, 80, 24);
        let lines: Vec<&str> = text.lines().collect();
        let banner = verdict == Status::Crit;
        // The banner is the first line while the estate is critical.
        assert_eq!(
            lines[0].contains("● CRITICAL"),
            banner,
            "seed {seed}: {verdict:?}\n{text}"
        );
        let header = lines[usize::from(banner)];
        assert!(
            header.contains(&format!("{} {}", verdict.symbol(), verdict.label())),
            "seed {seed}: header says not {verdict:?}:\n{text}"
        );
        // At 80 columns the tab bar marks each tab above OK (a symbol
        // where the words do not fit).
        let tabs = lines[usize::from(banner) + 1];
        for (tab, m) in [
            (Tab::Kpis, marks.kpis),
            (Tab::Health, marks.health),
            (Tab::Deploys, marks.deploys),
            (Tab::Backups, marks.backups),
            (Tab::Incidents, marks.incidents),
        ] {
            let at = tabs
                .find(tab.title())
                .unwrap_or_else(|| panic!("{tab:?} in {tabs}"));
            let after: String = tabs[at + tab.title().len()..]
                .chars()
                .take_while(|c| *c != '│')
                .collect();
            assert_eq!(
                after.contains(m.symbol()),
                m != Status::Ok,
                "seed {seed} {tab:?} {m:?}: {tabs}"
            );
        }
        // `status` reads the same verdict and exits by it.
        let glance = Glance::new(&mut app, vec![]);
        let json = glance.json();
        assert_eq!(json["schema"], 2);
        assert_eq!(
            json["state"].as_str(),
            Some(verdict.label().to_ascii_lowercase().as_str()),
            "seed {seed}"
        );
        let exit = match verdict {
            Status::Crit => 2,
            Status::Warn => 1,
            _ => 0,
        };
        assert_eq!(glance.exit_code(), exit, "seed {seed}");
        assert_eq!(
            json["tabs"]["health"],
            marks.health.label().to_ascii_lowercase()
        );
        assert!(
            glance
                .text()
                .starts_with(&format!("opsdeck status: {}", verdict.label())),
            "seed {seed}"
        );
        // The lists the verdict is made of are all there, each with a state.
        for list in ["incidents", "hosts", "backups", "deployments", "services"] {
            let items = json[list].as_array().unwrap();
            assert!(!items.is_empty(), "seed {seed}: no {list}");
            assert!(items.iter().all(|i| i["state"].is_string()), "{list}");
        }
    }
}
