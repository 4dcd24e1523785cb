//! The app's side of actions, headless on the demo estate: the dispatch
//! point, the dialog's rules, one action per target, and what a finished
//! DR drill changes. What the event loop is asked to do is read from the
//! app's outbox.

use std::sync::Arc;

use chrono::{DateTime, Duration, TimeZone, Utc};
use opsdeck::actions::ActionOutcome;
use opsdeck::app::actions::{Effect, Focus};
use opsdeck::app::command::Command;
use opsdeck::app::tab::TableId;
use opsdeck::app::{App, Mode, Msg, Settings};
use opsdeck::config::keymap::Keymap;
use opsdeck::config::theme::Theme;
use opsdeck::demo::DemoEstate;
use opsdeck::demo::actions::DemoRunner;
use ratatui::crossterm::event::{Event, KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

fn start() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 22, 3, 0, 0).unwrap()
}

fn app(read_only: bool) -> App {
    let settings = Settings {
        demo: true,
        read_only,
        ..Settings::default()
    };
    let mut app = App::new(settings, Theme::builtin(), Keymap::builtin(), start());
    let estate = Arc::new(DemoEstate::new(11, start()));
    app.actions.specs = opsdeck::config::actions::demo();
    app.actions.runners.demo = Some(Arc::new(DemoRunner {
        estate: estate.clone(),
    }));
    app.actions.common = [("user".to_string(), "alice".to_string())].into();
    // Keys arrive at once here; the typed-ahead guard has its own test.
    app.actions.arm_delay = std::time::Duration::ZERO;
    for update in estate.updates_at(start(), Duration::days(30)) {
        app.update(Msg::Feed(update));
    }
    app
}

fn key(app: &mut App, code: KeyCode, kind: KeyEventKind) {
    let mut k = KeyEvent::new(code, KeyModifiers::NONE);
    k.kind = kind;
    app.update(Msg::Input(Event::Key(k)));
}

fn press(app: &mut App, code: KeyCode) {
    key(app, code, KeyEventKind::Press);
}

/// The audit events in the outbox, in order, and the outbox emptied.
fn drain(app: &mut App) -> (Vec<&'static str>, Vec<Effect>) {
    let effects: Vec<Effect> = app.actions.outbox.drain(..).collect();
    let events = effects
        .iter()
        .filter_map(|e| match e {
            Effect::Audit(note) => Some(note.event.word()),
            _ => None,
        })
        .collect();
    (events, effects)
}

/// Answers the open dialog with Run: types the target's name where it is
/// asked for, then moves to Run and chooses it.
fn run_dialog(app: &mut App) {
    for _ in 0..10 {
        let Some(d) = app.actions.confirm.as_ref() else {
            return;
        };
        match d.focus {
            Focus::Name if !d.name_matches() => {
                let name = d.expected.clone();
                for c in name.chars() {
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

/// Moves the focus to Run without typing anything.
fn tab_to_run(app: &mut App) {
    while app.actions.confirm.as_ref().unwrap().focus != Focus::Run {
        press(app, KeyCode::Tab);
    }
}

/// Selects the first backup target outside the critical tier.
fn select_uncritical_backup(app: &mut App) -> String {
    for _ in 0..20 {
        let row = app.table(TableId::Backups).selected_row().unwrap();
        let b = &app.estate.backups.data.as_ref().unwrap()[row.index];
        if b.tier != opsdeck::domain::Tier::Critical {
            return b.target.clone();
        }
        press(app, KeyCode::Down);
    }
    panic!("every backup target is critical");
}

fn started(effects: &[Effect]) -> Option<u64> {
    effects.iter().find_map(|e| match e {
        Effect::Start { id, .. } => Some(*id),
        _ => None,
    })
}

#[test]
fn read_only_refuses_at_dispatch_whatever_the_route() {
    let mut app = app(true);
    app.run(Command::ShowDeploys);
    // By key, and by asking the dispatch point directly (as the `:` prompt
    // and configured commands will).
    press(&mut app, KeyCode::Char('R'));
    assert!(app.dispatch("rollback"));
    assert_eq!(app.mode, Mode::Normal, "no dialog opens");
    assert!(app.actions.confirm.is_none());
    let (events, effects) = drain(&mut app);
    assert_eq!(events, ["refused", "refused"]);
    assert!(started(&effects).is_none());
    assert!(
        app.actions
            .notice
            .as_deref()
            .is_some_and(|n| n.contains("read-only")),
        "{:?}",
        app.actions.notice
    );
}

#[test]
fn cancel_is_the_default_and_a_held_key_cannot_confirm() {
    let mut app = app(false);
    app.run(Command::ShowBackups);
    select_uncritical_backup(&mut app);
    press(&mut app, KeyCode::Char('D'));
    assert_eq!(app.mode, Mode::Confirm);
    let dialog = app.actions.confirm.as_ref().unwrap();
    assert!(
        !dialog.needs_name,
        "an uncritical target outside production"
    );
    // Enter straight away chooses Cancel.
    press(&mut app, KeyCode::Enter);
    assert_eq!(app.mode, Mode::Normal);
    let (events, effects) = drain(&mut app);
    assert_eq!(events, ["asked", "cancelled"]);
    assert!(started(&effects).is_none());
    // Held keys arrive as repeats: ignored, so they can neither move to Run
    // nor choose it.
    press(&mut app, KeyCode::Char('D'));
    for _ in 0..5 {
        key(&mut app, KeyCode::Tab, KeyEventKind::Repeat);
        key(&mut app, KeyCode::Enter, KeyEventKind::Repeat);
    }
    assert_eq!(app.mode, Mode::Confirm, "still asking");
    press(&mut app, KeyCode::Esc);
    let (events, effects) = drain(&mut app);
    assert_eq!(events, ["asked", "cancelled"]);
    assert!(started(&effects).is_none());
}

#[test]
fn one_action_per_target_and_a_finished_drill_is_a_measured_rto() {
    let mut app = app(false);
    app.run(Command::ShowBackups);
    let target = {
        let row = app.table(TableId::Backups).selected_row().unwrap();
        app.estate.backups.data.as_ref().unwrap()[row.index]
            .target
            .clone()
    };
    press(&mut app, KeyCode::Char('D'));
    assert!(
        app.actions.confirm.as_ref().unwrap().needs_name,
        "a critical target's drill needs its name typed"
    );
    run_dialog(&mut app);
    let (events, effects) = drain(&mut app);
    assert_eq!(events, ["asked", "confirmed", "started"]);
    let id = started(&effects).expect("started");
    // A second drill of the same target while the first runs: refused.
    press(&mut app, KeyCode::Char('D'));
    assert_eq!(app.mode, Mode::Normal);
    let (events, _) = drain(&mut app);
    assert_eq!(events, ["asked", "refused"]);
    assert!(
        app.actions
            .notice
            .as_deref()
            .unwrap()
            .contains(&format!("dr_drill of {target} is still running"))
    );
    // It finishes 20 minutes later: the target's RTO is that, measured now.
    let done = start() + Duration::minutes(20);
    app.update(Msg::ActionOutput {
        id,
        line: "smoke tests passed".into(),
    });
    app.update(Msg::ActionDone {
        id,
        outcome: ActionOutcome::Succeeded {
            detail: "drill passed".into(),
        },
        at: done,
    });
    let (events, effects) = drain(&mut app);
    assert_eq!(events, ["finished"]);
    let Effect::Audit(note) = &effects[0] else {
        panic!("{effects:?}")
    };
    assert_eq!(note.measured_rto_s, Some(1200));
    assert_eq!(note.outcome.as_deref(), Some("succeeded"));
    let backup = app
        .estate
        .backups
        .data
        .as_ref()
        .unwrap()
        .iter()
        .find(|b| b.target == target)
        .unwrap();
    let drill = backup.last_drill.unwrap();
    assert_eq!(
        (drill.at, drill.measured_rto),
        (done, Some(Duration::minutes(20)))
    );
    let run = app.actions.run(id).unwrap();
    assert_eq!(
        run.output.back().map(String::as_str),
        Some("smoke tests passed")
    );
    // A later reading of the same target keeps opsdeck's newer drill.
    let later = DemoEstate::new(11, start()).updates_at(done, Duration::days(30));
    for update in later {
        app.update(Msg::Feed(update));
    }
    let again = app.estate.backups.data.as_ref().unwrap();
    let kept = again.iter().find(|b| b.target == target).unwrap();
    assert_eq!(kept.last_drill.map(|d| d.at), Some(done));
}

#[test]
fn a_maintenance_window_takes_a_start_and_a_length_and_says_when_they_are_wrong() {
    let mut app = app(false);
    app.run(Command::ShowHealth);
    press(&mut app, KeyCode::Char('m'));
    assert_eq!(app.mode, Mode::Confirm);
    // The start field has the focus: "now" becomes "04:30".
    for _ in 0..3 {
        press(&mut app, KeyCode::Backspace);
    }
    for c in "04:30".chars() {
        press(&mut app, KeyCode::Char(c));
    }
    let dialog = app.actions.confirm.as_ref().unwrap();
    let described = dialog.description.as_ref().unwrap().join(" ");
    assert!(described.contains("T04:30:00"), "{described}");
    assert!(
        described.contains("T06:30:00"),
        "two hours by default: {described}"
    );
    // A length nobody can read: described as the problem, Run refused.
    press(&mut app, KeyCode::Tab);
    for c in "soon".chars() {
        press(&mut app, KeyCode::Char(c));
    }
    let dialog = app.actions.confirm.as_ref().unwrap();
    assert!(dialog.description.as_ref().unwrap_err().contains("length"));
    tab_to_run(&mut app);
    press(&mut app, KeyCode::Enter);
    assert_eq!(app.mode, Mode::Confirm, "not run");
    let (_, effects) = drain(&mut app);
    assert!(started(&effects).is_none());
}

#[test]
fn a_failed_run_is_audited_as_failed_and_said_so() {
    let mut app = app(false);
    app.run(Command::ShowIncidents);
    press(&mut app, KeyCode::Char('a'));
    assert_eq!(app.mode, Mode::Confirm);
    let dialog = app.actions.confirm.as_ref().unwrap();
    assert_eq!(
        dialog.request.environment, "production",
        "from its deployment"
    );
    assert!(dialog.needs_name);
    run_dialog(&mut app);
    let (_, effects) = drain(&mut app);
    let id = started(&effects).expect("started");
    app.update(Msg::ActionDone {
        id,
        outcome: ActionOutcome::Failed {
            detail: "Alertmanager answered HTTP 400: bad matcher".into(),
        },
        at: start() + Duration::seconds(2),
    });
    let (events, effects) = drain(&mut app);
    assert_eq!(events, ["finished"]);
    let Effect::Audit(note) = &effects[0] else {
        panic!("{effects:?}")
    };
    assert_eq!(note.outcome.as_deref(), Some("failed"));
    assert_eq!(
        note.detail.as_deref(),
        Some("Alertmanager answered HTTP 400: bad matcher")
    );
    assert_eq!(note.duration_ms, Some(2_000));
    assert_eq!(note.measured_rto_s, None, "only a DR drill measures an RTO");
    assert!(
        app.actions
            .notice
            .as_deref()
            .unwrap()
            .ends_with(": failed: Alertmanager answered HTTP 400: bad matcher"),
        "{:?}",
        app.actions.notice
    );
}

#[test]
fn keys_typed_ahead_of_the_dialog_are_ignored_and_esc_still_cancels() {
    let mut app = app(false);
    app.actions.arm_delay = std::time::Duration::from_secs(60);
    app.run(Command::ShowBackups);
    // D, then → and Enter in the same breath (typed ahead, or pasted as keys).
    press(&mut app, KeyCode::Char('D'));
    press(&mut app, KeyCode::Right);
    press(&mut app, KeyCode::Tab);
    press(&mut app, KeyCode::Enter);
    assert_eq!(app.mode, Mode::Confirm, "still asking");
    let (events, effects) = drain(&mut app);
    assert_eq!(events, ["asked"]);
    assert!(started(&effects).is_none());
    press(&mut app, KeyCode::Esc);
    assert_eq!(app.mode, Mode::Normal);
    let (events, _) = drain(&mut app);
    assert_eq!(events, ["cancelled"]);
}

/// An incident is acknowledged on the label that named its alerts'
/// service, not the first of the configured list: a host's alert, named by
/// its instance, is silenced by `instance`, a service's by `service`.
#[test]
fn an_acknowledgement_matches_the_label_that_named_the_service() {
    let mut app = app(false);
    app.actions
        .common
        .insert("service_label".into(), "service".into());
    press(&mut app, KeyCode::Char('5'));
    let incidents = app.estate.incidents.clone();
    let host = incidents
        .iter()
        .position(|i| i.name == "HostDiskAlmostFull")
        .expect("the demo's host incident");
    let service = incidents
        .iter()
        .position(|i| i.service_label == "service" && !i.silenced)
        .expect("a service's incident");
    for (index, label, value) in [
        (host, "instance", incidents[host].service.clone()),
        (service, "service", incidents[service].service.clone()),
    ] {
        let view = app.table(TableId::Incidents);
        let row = view.rows.iter().position(|r| r.index == index).unwrap();
        while app.table(TableId::Incidents).selected != row {
            let up = app.table(TableId::Incidents).selected > row;
            press(&mut app, if up { KeyCode::Up } else { KeyCode::Down });
        }
        drain(&mut app);
        press(&mut app, KeyCode::Char('a'));
        run_dialog(&mut app);
        let (_, effects) = drain(&mut app);
        let request = effects
            .iter()
            .find_map(|e| match e {
                Effect::Start { request, .. } => Some(request.clone()),
                _ => None,
            })
            .unwrap_or_else(|| panic!("acknowledging {value} started nothing"));
        assert_eq!(request.parameters["service_label"], label, "{value}");
        assert_eq!(request.parameters["service"], value);
    }
}
