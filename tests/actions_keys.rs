//! Keys where they apply (issue 21, item 7), headless on the demo estate
//! with a real audit log file: an action key on a row it does not apply to
//! says where it does and writes nothing to the log, while a read-only
//! refusal of a real request is written; `m` opens a maintenance window
//! from a host (on its `instance`) and from a backup target, against a
//! real Alertmanager.

mod support;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use opsdeck::actions::audit::{AuditLog, Who};
use opsdeck::actions::exec::ExecRunner;
use opsdeck::actions::silence::SilenceRunner;
use opsdeck::actions::{ActionOutcome, ActionRequest, ActionSpec, Backend, Confirm, Scope};
use opsdeck::app::actions::{Effect, Focus};
use opsdeck::app::command::Command;
use opsdeck::app::tab::TableId;
use opsdeck::app::{App, Mode, Msg, Settings};
use opsdeck::config::file::Endpoint;
use opsdeck::config::keymap::Keymap;
use opsdeck::config::theme::Theme;
use opsdeck::demo::DemoEstate;
use opsdeck::demo::actions::DemoRunner;
use ratatui::crossterm::event::{Event, KeyCode, KeyEvent, KeyModifiers};
use serde_json::{Value, json};
use support::*;
use tokio::sync::{mpsc, oneshot};

fn temp_log(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "opsdeck-keys-{name}-{}-{}",
        std::process::id(),
        Utc::now().timestamp_nanos_opt().unwrap_or_default()
    ));
    dir.join("audit.log")
}

/// The demo estate, now, with its actions simulated.
fn demo_app(read_only: bool) -> App {
    let now = Utc::now();
    let settings = Settings {
        demo: true,
        read_only,
        ..Settings::default()
    };
    let mut app = App::new(settings, Theme::builtin(), Keymap::builtin(), now);
    let estate = Arc::new(DemoEstate::new(11, now));
    app.actions.specs = opsdeck::config::actions::demo();
    app.actions.runners.demo = Some(Arc::new(DemoRunner {
        estate: estate.clone(),
    }));
    app.actions.common = [
        ("user".to_string(), "alice".to_string()),
        ("service_label".to_string(), "service".to_string()),
    ]
    .into();
    app.actions.arm_delay = std::time::Duration::ZERO;
    for update in estate.updates_at(now, Duration::days(30)) {
        app.update(Msg::Feed(update));
    }
    app
}

/// What the event loop does with the outbox's audit notes: each appended
/// to the log at `path`. Returns the other effects.
fn carry_out(app: &mut App, path: &Path) -> Vec<Effect> {
    let log = AuditLog::open(path).unwrap();
    let who = Who {
        user: "alice".into(),
        host: "ops1".into(),
        ssh_client: None,
    };
    let mut rest = Vec::new();
    for effect in app.actions.outbox.drain(..) {
        match effect {
            Effect::Audit(note) => {
                log.append(&note.to_event(&who, Utc::now())).unwrap();
            }
            other => rest.push(other),
        }
    }
    rest
}

fn audit_lines(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn press(app: &mut App, code: KeyCode) {
    app.update(Msg::Input(Event::Key(KeyEvent::new(
        code,
        KeyModifiers::NONE,
    ))));
}

fn notice(app: &App) -> String {
    app.actions.notice.clone().unwrap_or_default()
}

/// Answers the open dialog with Run, typing the name where asked.
fn run_dialog(app: &mut App) {
    for _ in 0..10 {
        let Some(d) = app.actions.confirm.as_ref() else {
            return;
        };
        match d.focus {
            Focus::Name if !d.name_matches() => {
                for c in d.expected.clone().chars() {
                    press(app, KeyCode::Char(c));
                }
            }
            Focus::Run => {
                press(app, KeyCode::Enter);
                return;
            }
            _ => press(app, KeyCode::Tab),
        }
    }
    panic!("the dialog never reached Run");
}

#[test]
fn a_key_on_a_row_it_does_not_apply_to_says_where_and_audits_nothing() {
    let log = temp_log("hint");
    let mut app = demo_app(false);
    app.run(Command::ShowBackups);
    press(&mut app, KeyCode::Char('R'));
    assert_eq!(app.mode, Mode::Normal, "no dialog");
    assert_eq!(notice(&app), "R rolls back a deployment: go to 3 Deploys");
    carry_out(&mut app, &log);
    assert!(audit_lines(&log).is_empty(), "{:?}", audit_lines(&log));

    // Each action key where its rows are not.
    let cases = [
        (
            Command::ShowDeploys,
            'a',
            "a acknowledges an incident: go to 5 Incidents",
        ),
        (
            Command::ShowDeploys,
            'D',
            "D runs a DR drill of a backup target: go to 4 Backups",
        ),
        (
            Command::ShowKpis,
            'X',
            "X expires a silence: go to 5 Incidents",
        ),
        (
            Command::ShowIncidents,
            'X',
            "X expires a silence: w moves to its panel",
        ),
        (
            Command::ShowHealth,
            'R',
            "R rolls back a deployment: go to 3 Deploys",
        ),
    ];
    for (tab, key, said) in cases {
        app.run(tab);
        press(&mut app, KeyCode::Char(key));
        assert_eq!(app.mode, Mode::Normal, "{key}");
        assert_eq!(notice(&app), said);
    }
    // `m` on a KPI tile: it names no service, host or target.
    app.run(Command::ShowKpis);
    app.run(Command::NextPanel);
    assert_eq!(app.focused_table(), TableId::Kpis);
    press(&mut app, KeyCode::Char('m'));
    assert!(
        notice(&app).starts_with("m opens a maintenance window for the selected row's service"),
        "{}",
        notice(&app)
    );
    carry_out(&mut app, &log);
    assert!(audit_lines(&log).is_empty(), "{:?}", audit_lines(&log));

    // Where it applies, the same key asks, and that is audited.
    app.run(Command::ShowDeploys);
    press(&mut app, KeyCode::Char('R'));
    assert_eq!(app.mode, Mode::Confirm);
    press(&mut app, KeyCode::Esc);
    carry_out(&mut app, &log);
    let events: Vec<_> = audit_lines(&log)
        .iter()
        .map(|l| l["event"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(events, ["asked", "cancelled"]);
    let _ = std::fs::remove_dir_all(log.parent().unwrap());
}

#[test]
fn read_only_still_audits_the_refusal_of_a_real_request_and_not_a_wrong_key() {
    let log = temp_log("read-only");
    let mut app = demo_app(true);
    app.run(Command::ShowBackups);
    press(&mut app, KeyCode::Char('R'));
    assert_eq!(notice(&app), "R rolls back a deployment: go to 3 Deploys");
    carry_out(&mut app, &log);
    assert!(audit_lines(&log).is_empty(), "a wrong key is no request");

    app.run(Command::ShowDeploys);
    press(&mut app, KeyCode::Char('R'));
    assert_eq!(app.mode, Mode::Normal);
    assert!(notice(&app).contains("rollback refused: opsdeck runs read-only"));
    // `m` on a backup target is a real request too.
    app.run(Command::ShowBackups);
    press(&mut app, KeyCode::Char('m'));
    carry_out(&mut app, &log);
    let lines = audit_lines(&log);
    let seen: Vec<_> = lines
        .iter()
        .map(|l| (l["event"].as_str().unwrap(), l["action"].as_str().unwrap()))
        .collect();
    assert_eq!(seen, [("refused", "rollback"), ("refused", "maintenance")]);
    assert!(lines[0]["reason"].as_str().unwrap().contains("read-only"));
    assert!(!lines[0]["target"].as_str().unwrap().is_empty());
    let _ = std::fs::remove_dir_all(log.parent().unwrap());
}

/// The demo's estate with the built-in actions on a real Alertmanager.
fn live_app(url: &str) -> App {
    let mut app = demo_app(false);
    app.actions.specs = opsdeck::config::actions::builtin();
    let endpoint = Endpoint::plain("am", reqwest::Url::parse(url).unwrap());
    let runner = SilenceRunner::new(endpoint)
        .unwrap()
        .verifying_for(std::time::Duration::from_secs(5));
    app.actions.runners.silence = Some(Arc::new(runner));
    app
}

/// Runs the request the app started with its runner; the app told.
async fn run_started(app: &mut App, effects: Vec<Effect>) -> (ActionRequest, ActionOutcome) {
    let (id, request) = effects
        .into_iter()
        .find_map(|e| match e {
            Effect::Start { id, request } => Some((id, request)),
            _ => None,
        })
        .expect("started");
    let runner = app.actions.runners.for_backend(&request.backend).unwrap();
    let (tx, mut rx) = mpsc::unbounded_channel();
    let (_cancel, cancelled) = oneshot::channel();
    let outcome = runner.run(request.clone(), tx, cancelled).await;
    while let Ok(line) = rx.try_recv() {
        app.update(Msg::ActionOutput { id, line });
    }
    app.update(Msg::ActionDone {
        id,
        outcome: outcome.clone(),
        at: Utc::now(),
    });
    (request, outcome)
}

fn matchers_of(am: &Alertmanager, outcome: &ActionOutcome) -> Vec<(String, String)> {
    let ActionOutcome::Succeeded { detail } = outcome else {
        panic!("{outcome:?}")
    };
    let id = detail
        .rsplit("silence ")
        .next()
        .and_then(|d| d.split(" created").next())
        .unwrap();
    let silences = am.silences();
    let silence = silences
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == id)
        .unwrap_or_else(|| panic!("no silence {id}: {detail}"));
    silence["matchers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            assert_eq!(
                (m["isRegex"].clone(), m["isEqual"].clone()),
                (json!(false), json!(true))
            );
            (
                m["name"].as_str().unwrap().to_string(),
                m["value"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn until(hours: i64) -> String {
    (Utc::now() + Duration::hours(hours)).to_rfc3339()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn m_on_a_host_silences_its_instance_and_on_a_backup_its_service_or_target() {
    let am = Alertmanager::start();
    let log = temp_log("windows");
    let mut app = live_app(&am.url());
    // The selected host, firing on Alertmanager under its instance label.
    app.run(Command::ShowHealth);
    app.run(Command::NextPanel);
    assert_eq!(app.focused_table(), TableId::Hosts);
    let row = app.table(TableId::Hosts).selected_row().unwrap().index;
    let host = app.estate.health.data.as_ref().unwrap().hosts[row]
        .name
        .clone();
    am.post_alerts(json!([
        {"labels": {"alertname": "NodeDiskFull", "instance": host}, "endsAt": until(1)},
        {"labels": {"alertname": "NodeDiskFull", "instance": "other-host:9100"}, "endsAt": until(1)},
    ]));
    am.wait_for_alerts("two alerts", |a| a.as_array().is_some_and(|a| a.len() == 2));
    press(&mut app, KeyCode::Char('m'));
    assert_eq!(app.mode, Mode::Confirm, "{:?}", app.actions.notice);
    let dialog = app.actions.confirm.as_ref().unwrap();
    assert_eq!(dialog.request.target, host);
    let described = dialog.description.as_ref().unwrap().join(" ");
    assert!(
        described.contains(&format!("instance=\"{host}\"")),
        "{described}"
    );
    run_dialog(&mut app);
    let effects = carry_out(&mut app, &log);
    let (_, outcome) = run_started(&mut app, effects).await;
    assert_eq!(
        matchers_of(&am, &outcome),
        [("instance".into(), host.clone())]
    );
    let ActionOutcome::Succeeded { detail } = &outcome else {
        unreachable!()
    };
    assert!(detail.starts_with("silences 1 alert"), "{detail}");
    let alerts = am.wait_for_alerts("the host's alert suppressed", |alerts| {
        alerts.as_array().unwrap().iter().any(|a| {
            a["labels"]["instance"] == host.as_str() && a["status"]["state"] == "suppressed"
        })
    });
    let neighbour = alerts
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["labels"]["instance"] == "other-host:9100")
        .unwrap();
    assert_eq!(
        neighbour["status"]["state"], "active",
        "the neighbour is not"
    );

    // A backup target with no service: its window is on its target label.
    app.run(Command::ShowBackups);
    let row = app.table(TableId::Backups).selected_row().unwrap().index;
    let target = app.estate.backups.data.as_ref().unwrap()[row]
        .target
        .clone();
    press(&mut app, KeyCode::Char('m'));
    assert_eq!(app.mode, Mode::Confirm, "{:?}", app.actions.notice);
    run_dialog(&mut app);
    let effects = carry_out(&mut app, &log);
    let (request, outcome) = run_started(&mut app, effects).await;
    assert_eq!(request.action, "maintenance");
    assert_eq!(
        matchers_of(&am, &outcome),
        [("target".into(), target.clone())]
    );

    // One whose metrics name its service: the window is on the service.
    app.estate.backups.data.as_mut().unwrap()[row].service = Some("orders".into());
    press(&mut app, KeyCode::Char('m'));
    assert_eq!(app.mode, Mode::Confirm, "{:?}", app.actions.notice);
    assert_eq!(
        app.actions.confirm.as_ref().unwrap().request.target,
        "orders"
    );
    run_dialog(&mut app);
    let effects = carry_out(&mut app, &log);
    let (_, outcome) = run_started(&mut app, effects).await;
    assert_eq!(
        matchers_of(&am, &outcome),
        [("service".into(), "orders".into())]
    );

    // All three audited as finished.
    carry_out(&mut app, &log);
    let finished: Vec<_> = audit_lines(&log)
        .into_iter()
        .filter(|l| l["event"] == "finished")
        .map(|l| {
            (
                l["target"].as_str().unwrap().to_string(),
                l["outcome"].clone(),
            )
        })
        .collect();
    assert_eq!(
        finished,
        [
            (host, json!("succeeded")),
            (target, json!("succeeded")),
            ("orders".to_string(), json!("succeeded"))
        ]
    );
    let _ = std::fs::remove_dir_all(log.parent().unwrap());
}

/// The demo's own `m` on a host: a silence on `instance`, listed with the
/// estate's silences.
#[test]
fn the_demo_opens_a_window_on_a_hosts_instance() {
    let mut app = demo_app(false);
    app.run(Command::ShowHealth);
    app.run(Command::NextPanel);
    let row = app.table(TableId::Hosts).selected_row().unwrap().index;
    let host = app.estate.health.data.as_ref().unwrap().hosts[row]
        .name
        .clone();
    press(&mut app, KeyCode::Char('m'));
    let described = app.actions.confirm.as_ref().unwrap().description.clone();
    let described = described.unwrap().join(" ");
    assert!(
        described.contains(&format!("silence instance=\"{host}\"")),
        "{described}"
    );
}

/// The target of the selected backup, and when the source last verified it.
fn selected_backup(app: &App) -> (String, Option<DateTime<Utc>>) {
    let row = app.table(TableId::Backups).selected_row().unwrap().index;
    let b = &app.estate.backups.data.as_ref().unwrap()[row];
    (b.target.clone(), b.last_verified)
}

fn verified_of(app: &App, target: &str) -> Option<DateTime<Utc>> {
    let backups = app.estate.backups.data.as_ref().unwrap();
    backups
        .iter()
        .find(|b| b.target == target)
        .unwrap()
        .last_verified
}

/// A drill declared to run `script` with `sh -c`.
fn exec_drill(script: &str) -> ActionSpec {
    ActionSpec {
        name: "dr_drill".into(),
        scope: Scope::Backup,
        when: Default::default(),
        backend: Backend::Exec {
            argv: vec!["sh".into(), "-c".into(), script.into()],
            env: Default::default(),
            dir: None,
        },
        timeout: Duration::seconds(30),
        confirm: Confirm::Dialog,
    }
}

#[tokio::test]
async fn a_live_drill_that_says_it_verified_updates_verified_at_once_and_one_that_does_not_leaves_it()
 {
    let log = temp_log("verified-live");
    let mut app = demo_app(false);
    app.actions.runners.exec = Some(Arc::new(ExecRunner::new(Default::default())));
    app.run(Command::ShowBackups);

    // Restored, nothing checked: Verified stays what the source says.
    app.actions.specs = vec![exec_drill(
        "echo restored {target}; echo smoke tests passed",
    )];
    let (first, theirs) = selected_backup(&app);
    press(&mut app, KeyCode::Char('D'));
    run_dialog(&mut app);
    let effects = carry_out(&mut app, &log);
    let (_, outcome) = run_started(&mut app, effects).await;
    assert!(
        matches!(outcome, ActionOutcome::Succeeded { .. }),
        "{outcome:?}"
    );
    assert_eq!(
        verified_of(&app, &first),
        theirs,
        "not verified by this drill"
    );

    // Checked: Verified is now, at once.
    press(&mut app, KeyCode::Down);
    let (second, theirs) = selected_backup(&app);
    assert_ne!(first, second);
    app.actions.specs = vec![exec_drill(
        "echo restoring {target}; echo 'row counts and checksums verified'; echo done",
    )];
    let before = Utc::now();
    press(&mut app, KeyCode::Char('D'));
    run_dialog(&mut app);
    let effects = carry_out(&mut app, &log);
    let (_, outcome) = run_started(&mut app, effects).await;
    assert!(
        matches!(outcome, ActionOutcome::Succeeded { .. }),
        "{outcome:?}"
    );
    let ours = verified_of(&app, &second).expect("verified");
    assert!(
        ours >= before && theirs.is_none_or(|t| t < ours),
        "{ours} {theirs:?}"
    );
    // A later reading of the source, with an older verification, keeps it.
    let estate = DemoEstate::new(11, Utc::now());
    for update in estate.updates_at(Utc::now(), Duration::days(30)) {
        app.update(Msg::Feed(update));
    }
    assert_eq!(verified_of(&app, &second), Some(ours));
    let _ = std::fs::remove_dir_all(log.parent().unwrap());
}

#[tokio::test]
async fn the_demos_drill_verifies_and_verified_says_so_at_once() {
    let log = temp_log("verified-demo");
    let mut app = demo_app(false);
    app.run(Command::ShowBackups);
    let (target, theirs) = selected_backup(&app);
    press(&mut app, KeyCode::Char('D'));
    run_dialog(&mut app);
    let effects = carry_out(&mut app, &log);
    let before = Utc::now();
    let (_, outcome) = run_started(&mut app, effects).await;
    let ActionOutcome::Succeeded { detail } = &outcome else {
        panic!("{outcome:?}")
    };
    assert!(detail.contains("verified"), "{detail}");
    let ours = verified_of(&app, &target).expect("verified");
    assert!(
        ours >= before && theirs.is_none_or(|t| t < ours),
        "{ours} {theirs:?}"
    );
    let _ = std::fs::remove_dir_all(log.parent().unwrap());
}

/// The screen as drawn, one string per row.
fn screen(app: &App) -> String {
    use ratatui::{Terminal, backend::TestBackend};
    let mut terminal = Terminal::new(TestBackend::new(140, 40)).unwrap();
    terminal.draw(|f| opsdeck::ui::draw(f, app)).unwrap();
    let buffer = terminal.backend().buffer();
    (0..40)
        .map(|y| {
            (0..140)
                .map(|x| buffer[(x, y)].symbol())
                .collect::<String>()
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Asks for `key` on the selected row, runs it, and ends it with `detail`
/// as the event loop would, writing the audit log at `log`.
fn run_simulated(app: &mut App, log: &Path, key: char, detail: &str) {
    press(app, KeyCode::Char(key));
    assert_eq!(app.mode, Mode::Confirm, "{:?}", app.actions.notice);
    run_dialog(app);
    let id = carry_out(app, log)
        .into_iter()
        .find_map(|e| match e {
            Effect::Start { id, .. } => Some(id),
            _ => None,
        })
        .expect("started");
    app.update(Msg::ActionDone {
        id,
        outcome: ActionOutcome::Succeeded {
            detail: detail.into(),
        },
        at: Utc::now(),
    });
    carry_out(app, log);
}

#[test]
fn the_history_shows_earlier_sessions_from_the_audit_log_filtered_with_a_slash() {
    let log = temp_log("history");
    // A first session: a rollback and a host's window, written to the log.
    let mut first = demo_app(false);
    first.run(Command::ShowDeploys);
    run_simulated(&mut first, &log, 'R', "rolled back");
    first.run(Command::ShowHealth);
    first.run(Command::NextPanel);
    run_simulated(&mut first, &log, 'm', "silence demo0001 created");
    drop(first);

    // A second one on the same log: it reads it as it starts, then drills.
    let mut app = demo_app(false);
    app.actions.read_history(&log);
    app.run(Command::ShowBackups);
    run_simulated(&mut app, &log, 'D', "drill passed");
    press(&mut app, KeyCode::Char('A'));
    assert_eq!(app.mode, Mode::History);
    let seen: Vec<_> = app
        .history()
        .iter()
        .map(|e| (e.action.clone(), e.who.clone(), e.run.is_some()))
        .collect();
    let earlier = Some("alice@ops1".to_string());
    assert_eq!(
        seen,
        [
            ("dr_drill".to_string(), None, true),
            ("maintenance".to_string(), earlier.clone(), false),
            ("rollback".to_string(), earlier, false),
        ],
        "newest first"
    );
    let s = screen(&app);
    assert!(s.contains("Actions: this session and the audit log"), "{s}");
    for line in [
        ["dr_drill", "this session", "succeeded"],
        ["maintenance", "alice@ops1", "succeeded"],
        ["rollback", "alice@ops1", "(rolled back)"],
    ] {
        assert!(
            s.lines().any(|l| line.iter().all(|w| l.contains(w))),
            "{line:?} in\n{s}"
        );
    }

    // This session's run, in the log now too, is listed once.
    app.actions.read_history(&log);
    assert_eq!(app.history().len(), 3, "{:#?}", app.history());

    // `/` filters as in the tables; Enter keeps the filter.
    press(&mut app, KeyCode::Char('/'));
    for c in "roll".chars() {
        press(&mut app, KeyCode::Char(c));
    }
    press(&mut app, KeyCode::Enter);
    assert_eq!(app.mode, Mode::History);
    let kept: Vec<_> = app.history().iter().map(|e| e.action.clone()).collect();
    assert_eq!(kept, ["rollback"]);
    let s = screen(&app);
    assert!(s.contains(" /roll"), "{s}");
    // (The drill's output pane is still open below.)
    assert!(
        !s.lines()
            .any(|l| l.contains("dr_drill") && l.contains("this session")),
        "{s}"
    );
    // Enter on an earlier session's run: its result, in the footer.
    press(&mut app, KeyCode::Enter);
    assert_eq!(app.mode, Mode::Normal);
    let said = notice(&app);
    assert!(
        said.starts_with("rollback ") && said.ends_with("by alice@ops1: succeeded: rolled back"),
        "{said}"
    );
    // Opened again, the filter is gone; `is:` words filter by outcome.
    press(&mut app, KeyCode::Char('A'));
    assert_eq!(app.history().len(), 3);
    press(&mut app, KeyCode::Char('/'));
    for c in "is:crit".chars() {
        press(&mut app, KeyCode::Char(c));
    }
    assert!(app.history().is_empty(), "nothing failed");
    press(&mut app, KeyCode::Esc);
    assert_eq!(app.history().len(), 3, "Esc clears the filter");
    press(&mut app, KeyCode::Esc);
    assert_eq!(app.mode, Mode::Normal, "and Esc again closes");
    let _ = std::fs::remove_dir_all(log.parent().unwrap());
}
