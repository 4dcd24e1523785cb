//! The confirmation dialog read as an operator reads it, headless on the
//! demo estate (issue 21, items 3 to 6): Enter in the name field, what
//! every cancel says, production however it is written, an incident
//! confirmed by its service in any case, what the expire dialog shows, and
//! the comment every silence carries.

use std::sync::Arc;

use chrono::{DateTime, Duration, TimeZone, Utc};
use opsdeck::actions::ActionRequest;
use opsdeck::app::actions::{Effect, Focus};
use opsdeck::app::command::Command;
use opsdeck::app::tab::TableId;
use opsdeck::app::{App, Mode, Msg, Settings};
use opsdeck::config::keymap::Keymap;
use opsdeck::config::theme::Theme;
use opsdeck::demo::DemoEstate;
use opsdeck::demo::actions::DemoRunner;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::crossterm::event::{Event, KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

fn start() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 22, 3, 0, 0).unwrap()
}

fn app() -> App {
    let settings = Settings {
        demo: true,
        ..Settings::default()
    };
    let mut app = App::new(settings, Theme::builtin(), Keymap::builtin(), start());
    let estate = Arc::new(DemoEstate::new(11, start()));
    app.actions.specs = opsdeck::config::actions::demo();
    app.actions.runners.demo = Some(Arc::new(DemoRunner {
        estate: estate.clone(),
    }));
    app.actions.common = [("user".to_string(), "alice".to_string())].into();
    app.actions.arm_delay = std::time::Duration::ZERO;
    for update in estate.updates_at(start(), Duration::days(30)) {
        app.update(Msg::Feed(update));
    }
    app
}

fn key_with(app: &mut App, code: KeyCode, modifiers: KeyModifiers, kind: KeyEventKind) {
    let mut k = KeyEvent::new(code, modifiers);
    k.kind = kind;
    app.update(Msg::Input(Event::Key(k)));
}

fn press(app: &mut App, code: KeyCode) {
    key_with(app, code, KeyModifiers::NONE, KeyEventKind::Press);
}

fn type_text(app: &mut App, text: &str) {
    for c in text.chars() {
        press(app, KeyCode::Char(c));
    }
}

/// The run started since the outbox was last drained, if any.
fn started(app: &mut App) -> Option<ActionRequest> {
    app.actions.outbox.drain(..).find_map(|e| match e {
        Effect::Start { request, .. } => Some(request),
        _ => None,
    })
}

fn screen(app: &App) -> String {
    let (w, h) = (100, 40);
    let mut terminal = Terminal::new(TestBackend::new(w, h)).unwrap();
    terminal.draw(|f| opsdeck::ui::draw(f, app)).unwrap();
    let buffer = terminal.backend().buffer();
    (0..h)
        .map(|y| (0..w).map(|x| buffer[(x, y)].symbol()).collect::<String>())
        .collect::<Vec<_>>()
        .join("\n")
}

/// Selects the first deployment in `environment` on the Deploys tab.
fn select_deployment(app: &mut App, environment: &str) -> String {
    app.run(Command::ShowDeploys);
    for _ in 0..30 {
        let row = app.table(TableId::Deployments).selected_row().unwrap();
        let d = &app.estate.deployments.data.as_ref().unwrap()[row.index];
        if d.environment == environment {
            return d.service.clone();
        }
        press(app, KeyCode::Down);
    }
    panic!("no deployment in {environment}");
}

#[test]
fn enter_in_the_name_field_confirms_the_right_name_and_explains_a_wrong_one() {
    let mut app = app();
    let service = select_deployment(&mut app, "production");
    press(&mut app, KeyCode::Char('R'));
    let d = app.actions.confirm.as_ref().unwrap();
    assert_eq!((d.needs_name, d.focus), (true, Focus::Name));
    app.actions.outbox.clear();

    // Empty: says what to type; nothing runs.
    press(&mut app, KeyCode::Enter);
    let d = app.actions.confirm.as_ref().expect("still asking");
    assert_eq!(
        d.problem.as_deref(),
        Some(format!("nothing typed: type {service} to confirm").as_str())
    );
    // Wrong: says what is expected, keeps what was typed and the focus.
    type_text(&mut app, "nope");
    press(&mut app, KeyCode::Enter);
    let d = app.actions.confirm.as_ref().expect("still asking");
    assert_eq!(d.typed, "nope");
    assert_eq!(d.focus, Focus::Name);
    assert_eq!(
        d.problem.as_deref(),
        Some(format!("'nope' is not {service}: Backspace or Ctrl-U to correct it").as_str())
    );
    assert!(screen(&app).contains(&format!("'nope' is not {service}")));
    // A case-different name is not the name of a deployment.
    key_with(
        &mut app,
        KeyCode::Char('u'),
        KeyModifiers::CONTROL,
        KeyEventKind::Press,
    );
    assert_eq!(app.actions.confirm.as_ref().unwrap().typed, "");
    type_text(&mut app, &service.to_uppercase());
    press(&mut app, KeyCode::Enter);
    assert!(app.actions.confirm.is_some(), "rollback names are exact");
    assert!(started(&mut app).is_none());
    key_with(
        &mut app,
        KeyCode::Char('u'),
        KeyModifiers::CONTROL,
        KeyEventKind::Press,
    );
    type_text(&mut app, &service);
    // A held Enter arrives as repeats: never a confirmation.
    key_with(
        &mut app,
        KeyCode::Enter,
        KeyModifiers::NONE,
        KeyEventKind::Repeat,
    );
    assert!(app.actions.confirm.is_some() && started(&mut app).is_none());
    press(&mut app, KeyCode::Enter);
    assert_eq!(app.mode, Mode::Normal);
    let request = started(&mut app).expect("Enter on the right name runs it");
    assert_eq!(request.target, service);
}

#[test]
fn keys_typed_ahead_never_confirm_even_with_the_name_in_them() {
    let mut app = app();
    let service = select_deployment(&mut app, "production");
    app.actions.arm_delay = std::time::Duration::from_secs(60);
    press(&mut app, KeyCode::Char('R'));
    type_text(&mut app, &service);
    press(&mut app, KeyCode::Enter);
    assert_eq!(app.mode, Mode::Confirm);
    assert_eq!(app.actions.confirm.as_ref().unwrap().typed, "");
    assert!(started(&mut app).is_none());
}

#[test]
fn every_cancel_says_cancelled() {
    let mut app = app();
    let service = select_deployment(&mut app, "production");
    // Esc.
    press(&mut app, KeyCode::Char('R'));
    type_text(&mut app, "half");
    press(&mut app, KeyCode::Esc);
    assert_eq!(app.mode, Mode::Normal);
    let notice = app.actions.notice.clone().unwrap_or_default();
    assert_eq!(notice, format!("rollback {service}: cancelled"));
    assert!(screen(&app).contains(&format!("rollback {service}: cancelled")));
    // Enter on Cancel.
    app.actions.notice = None;
    press(&mut app, KeyCode::Char('R'));
    press(&mut app, KeyCode::Tab);
    assert_eq!(app.actions.confirm.as_ref().unwrap().focus, Focus::Cancel);
    press(&mut app, KeyCode::Enter);
    assert_eq!(app.mode, Mode::Normal);
    assert_eq!(
        app.actions.notice.as_deref(),
        Some(format!("rollback {service}: cancelled").as_str())
    );
    // Esc in a dialog with fields (a maintenance window).
    app.actions.notice = None;
    app.run(Command::ShowHealth);
    press(&mut app, KeyCode::Char('m'));
    assert_eq!(app.mode, Mode::Confirm);
    press(&mut app, KeyCode::Esc);
    assert!(
        app.actions
            .notice
            .as_deref()
            .is_some_and(|n| n.starts_with("maintenance ") && n.ends_with(": cancelled")),
        "{:?}",
        app.actions.notice
    );
    let cancelled = app
        .actions
        .outbox
        .iter()
        .filter(|e| matches!(e, Effect::Audit(n) if n.event.word() == "cancelled"))
        .count();
    assert_eq!(cancelled, 3, "each audited as cancelled");
}

#[test]
fn production_is_asked_for_however_it_is_written() {
    let mut app = app();
    let service = select_deployment(&mut app, "production");
    let index = app
        .table(TableId::Deployments)
        .selected_row()
        .unwrap()
        .index;
    let set = |app: &mut App, environment: &str| {
        app.estate.deployments.data.as_mut().unwrap()[index].environment = environment.to_string();
    };
    set(&mut app, "staging");
    press(&mut app, KeyCode::Char('R'));
    assert!(
        !app.actions.confirm.as_ref().unwrap().needs_name,
        "staging asks for no name"
    );
    press(&mut app, KeyCode::Esc);
    for (written, shown) in [
        (" production", "\" production\"  (read as production)"),
        ("production ", "\"production \"  (read as production)"),
        // As a source passes it on: the zero-width space escaped.
        (
            "production\\u{200b}",
            "\"production\\u{200b}\"  (read as production)",
        ),
        // As a configuration or the demo could give it, unescaped.
        (
            "production\u{200b}",
            "\"production\\u{200b}\"  (read as production)",
        ),
        ("PRODUCTION", "\"PRODUCTION\"  (read as production)"),
        ("Prd", "\"Prd\"  (read as prd)"),
    ] {
        set(&mut app, written);
        press(&mut app, KeyCode::Char('R'));
        let d = app.actions.confirm.as_ref().unwrap();
        assert!(d.needs_name, "{written:?} is production");
        assert_eq!(d.focus, Focus::Name, "{written:?}");
        let s = screen(&app);
        assert!(s.contains(shown), "{written:?} shown as {shown}:\n{s}");
        assert!(!s.contains('\u{200b}'), "never drawn as itself");
        assert!(s.contains(&format!("type {service} to confirm")), "{s}");
        press(&mut app, KeyCode::Esc);
    }
}

#[test]
fn an_incident_is_confirmed_by_its_service_in_any_case_and_has_a_comment() {
    let mut app = app();
    press(&mut app, KeyCode::Char('5'));
    // The demo's first incident is in production (its deployments are).
    press(&mut app, KeyCode::Char('a'));
    let d = app.actions.confirm.as_ref().unwrap();
    assert!(d.needs_name, "{:?}", d.request.environment);
    let service = d.request.parameters["service"].clone();
    assert_eq!(d.expected, service, "the service, not alertname/service");
    assert!(d.fold_case);
    // The comment is there, prefilled; the focus starts on the name.
    assert_eq!(d.fields.len(), 1);
    assert_eq!(
        (d.fields[0].label, d.fields[0].value.as_str()),
        ("comment", "acknowledged in opsdeck")
    );
    assert_eq!(d.focus, Focus::Name);
    let s = screen(&app);
    assert!(
        s.contains(&format!("type {service} (any case) to confirm")),
        "{s}"
    );
    // Edit the comment: back to it, clear it, say why.
    press(&mut app, KeyCode::BackTab);
    assert_eq!(app.actions.confirm.as_ref().unwrap().focus, Focus::Field(0));
    key_with(
        &mut app,
        KeyCode::Char('u'),
        KeyModifiers::CONTROL,
        KeyEventKind::Press,
    );
    let d = app.actions.confirm.as_ref().unwrap();
    assert!(
        d.description.as_ref().is_err_and(|e| e.contains("comment")),
        "an empty comment is refused: {:?}",
        d.description
    );
    type_text(&mut app, "looking into it, CHG-7");
    press(&mut app, KeyCode::Tab);
    type_text(&mut app, &service.to_uppercase());
    press(&mut app, KeyCode::Enter);
    let request = started(&mut app).expect("any case confirms an incident");
    assert_eq!(request.parameters["comment"], "looking into it, CHG-7");
}

#[test]
fn the_expire_dialog_shows_what_it_ends_and_guards_someone_elses_active_silence() {
    let mut app = app();
    press(&mut app, KeyCode::Char('5'));
    press(&mut app, KeyCode::Char('w'));
    let silences = app.estate.alerts.data.as_ref().unwrap().silences.clone();
    let theirs = silences
        .iter()
        .position(|s| s.created_by != "alice" && s.is_active(start()))
        .expect("an active silence someone else made");
    let mine = silences
        .iter()
        .position(|s| s.created_by == "alice")
        .expect("one of alice's");
    for (index, guarded) in [(theirs, true), (mine, false)] {
        let s = &silences[index];
        let row = app
            .table(TableId::Silences)
            .rows
            .iter()
            .position(|r| r.index == index)
            .unwrap();
        while app.table(TableId::Silences).selected != row {
            let up = app.table(TableId::Silences).selected > row;
            press(&mut app, if up { KeyCode::Up } else { KeyCode::Down });
        }
        press(&mut app, KeyCode::Char('X'));
        assert_eq!(app.mode, Mode::Confirm, "{}", s.id);
        let screen = screen(&app);
        let starts = s.starts_at.format("%Y-%m-%d %H:%M UTC").to_string();
        let ends = s.ends_at.format("%Y-%m-%d %H:%M UTC").to_string();
        for (label, value) in [
            ("matches", s.matchers.as_str()),
            ("made by", s.created_by.as_str()),
            ("comment", s.comment.as_str()),
            ("starts", starts.as_str()),
            ("ends", ends.as_str()),
        ] {
            assert!(
                screen
                    .lines()
                    .any(|l| l.contains(&format!(" {label:<12}{value}"))),
                "{label} {value}:\n{screen}"
            );
        }
        let d = app.actions.confirm.as_ref().unwrap();
        assert_eq!(d.needs_name, guarded, "{}", s.id);
        if guarded {
            let id4: String = s.id.chars().take(4).collect();
            assert!(
                screen.contains(&format!("type {id4} (any case) to confirm")),
                "{screen}"
            );
            assert_eq!(d.focus, Focus::Name);
            press(&mut app, KeyCode::Enter);
            assert!(app.actions.confirm.is_some() && started(&mut app).is_none());
            type_text(&mut app, &id4.to_uppercase());
            press(&mut app, KeyCode::Enter);
        } else {
            assert_eq!(d.focus, Focus::Cancel, "Cancel first");
            press(&mut app, KeyCode::Tab);
            press(&mut app, KeyCode::Enter);
        }
        let request = started(&mut app).expect("expired once confirmed");
        assert_eq!(request.parameters["silence_id"], s.id);
    }
}
