//! Who is on call, from iCalendar schedules: a file with known shifts across
//! a change of day and Berlin's change to summer time read at chosen
//! instants (headless, the instant given as the app's clock), the Incidents
//! tab's line and an incident's details, and the real binary's
//! `status --json` reading a file and a loopback URL, broken ones said.

mod support;

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, TimeZone, Utc};
use opsdeck::app::command::Command as AppCommand;
use opsdeck::app::{App, Msg, Settings};
use opsdeck::config::keymap::Keymap;
use opsdeck::config::oncall::{Location, OnCallSchedule};
use opsdeck::config::theme::Theme;
use opsdeck::demo::DemoEstate;
use opsdeck::domain::oncall::on_call;
use serde_json::Value;
use support::{FakeReply, FakeServer, render};

fn fixture() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/oncall/platform.ics")
}

fn utc(d: u32, h: u32, m: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, d, h, m, 0).unwrap()
}

fn platform() -> OnCallSchedule {
    OnCallSchedule {
        name: "platform primary".into(),
        team: "platform".into(),
        location: Location::File(fixture()),
        every: StdDuration::from_secs(900),
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// The fixture: Ana Silva 10:00–22:00 Berlin on Saturday 28 March 2026
/// (09:00–21:00 UTC, winter time), Bo Chen 22:00 Berlin to 10:00 Berlin on
/// Sunday — the clocks go forward at 02:00, so he hands over at 08:00 UTC —
/// and Cy Park 08:00–20:00 UTC, named by the event's ATTENDEE.
/// An instant, who is on call then and until when, and who is next.
type Case<'a> = (
    DateTime<Utc>,
    Option<(&'a str, DateTime<Utc>)>,
    Option<&'a str>,
);

#[test]
fn the_right_person_now_and_next_across_midnight_and_the_dst_change() {
    let read = runtime()
        .block_on(opsdeck::sources::oncall::read(&platform(), utc(28, 0, 0)))
        .unwrap();
    assert!(read.warnings.is_empty(), "{:?}", read.warnings);
    let cases: [Case; 6] = [
        (utc(28, 8, 59), None, Some("Ana Silva")),
        (
            utc(28, 20, 59),
            Some(("Ana Silva", utc(28, 21, 0))),
            Some("Bo Chen"),
        ),
        (
            utc(28, 21, 0),
            Some(("Bo Chen", utc(29, 8, 0))),
            Some("Cy Park"),
        ),
        // 00:30 in Berlin on Sunday: the shift that began the day before.
        (
            utc(28, 23, 30),
            Some(("Bo Chen", utc(29, 8, 0))),
            Some("Cy Park"),
        ),
        // 09:59 Berlin summer time: still Bo; at 10:00 (08:00 UTC) Cy.
        (
            utc(29, 7, 59),
            Some(("Bo Chen", utc(29, 8, 0))),
            Some("Cy Park"),
        ),
        (utc(29, 8, 0), Some(("Cy Park", utc(29, 20, 0))), None),
    ];
    for (at, now, next) in cases {
        let o = on_call(&read.shifts, at);
        let got_now = o.now.as_ref().map(|s| (s.person.as_str(), s.end));
        let got_next = o.next.as_ref().map(|s| s.person.as_str());
        assert_eq!((got_now, got_next), (now, next), "at {at}");
    }
}

#[test]
fn the_incidents_tab_says_who_is_on_call_at_the_apps_clock() {
    let schedules = runtime().block_on(opsdeck::sources::oncall::read_all(
        &[platform()],
        utc(28, 0, 0),
    ));
    let mut app = App::new(
        Settings::default(),
        Theme::builtin(),
        Keymap::builtin(),
        utc(28, 0, 0),
    );
    app.oncall = schedules;
    app.run(AppCommand::ShowIncidents);
    for (at, line) in [
        (
            utc(28, 23, 30),
            "on call: Bo Chen (platform) until 08:00 · next Cy Park",
        ),
        (utc(29, 12, 0), "on call: Cy Park (platform) until 20:00"),
        (utc(30, 0, 0), "on call: nobody (platform)"),
    ] {
        app.update(Msg::Tick(at));
        let screen = render(&app, 120, 40);
        assert!(screen.contains(line), "at {at}: no {line:?} in\n{screen}");
    }
}

#[test]
fn an_incidents_details_name_who_is_on_call_for_its_services_team() {
    let start = Utc.with_ymd_and_hms(2026, 11, 22, 3, 0, 0).unwrap();
    let settings = Settings {
        demo: true,
        ..Settings::default()
    };
    let mut app = App::new(settings, Theme::builtin(), Keymap::builtin(), start);
    for update in DemoEstate::new(11, start).updates_at(start, Duration::days(30)) {
        app.update(Msg::Feed(update));
    }
    app.oncall = opsdeck::demo::oncall::schedules(11, start);
    app.run(AppCommand::ShowIncidents);
    let inc = app
        .estate
        .incidents
        .first()
        .expect("the demo has incidents")
        .clone();
    let team = app
        .estate
        .services()
        .iter()
        .find(|s| s.name == inc.service)
        .map(|s| s.team.clone())
        .expect("a demo incident's service is a demo service");
    let schedule = app.oncall.iter().find(|s| s.team == team).unwrap();
    let who = schedule.on_call(start).now.unwrap().person;
    // The Incidents tab's line starts with the team of the worst incident.
    assert!(!inc.silenced);
    let screen = render(&app, 120, 40);
    let first = format!("on call: {who} ({team}) until ");
    assert!(
        screen.lines().any(|l| l.trim_start().starts_with(&first)),
        "no line starting {first:?} in\n{screen}"
    );
    app.run(AppCommand::Open);
    let details = render(&app, 120, 40);
    let line = details
        .lines()
        .find(|l| l.contains(" on call "))
        .unwrap_or_else(|| panic!("no on-call line in\n{details}"));
    assert!(line.contains(&format!("{who} ({team})")), "{line}");
}

fn opsdeck_status(config: &std::path::Path) -> Value {
    let out = Command::new(env!("CARGO_BIN_EXE_opsdeck"))
        .args(["status", "--json", "--config"])
        .arg(config)
        .env("HOME", config.parent().unwrap())
        .output()
        .unwrap();
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{e}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

fn ics(shifts: &[(&str, DateTime<Utc>, DateTime<Utc>)]) -> String {
    let mut s = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\n".to_string();
    for (who, from, to) in shifts {
        s += &format!(
            "BEGIN:VEVENT\r\nDTSTART:{}\r\nDTEND:{}\r\nSUMMARY:On Call - {who}\r\nEND:VEVENT\r\n",
            from.format("%Y%m%dT%H%M%SZ"),
            to.format("%Y%m%dT%H%M%SZ")
        );
    }
    s + "END:VCALENDAR\r\n"
}

#[test]
fn status_json_names_who_is_on_call_from_a_file_and_a_url_and_says_what_is_broken() {
    let dir = tempfile::tempdir().unwrap();
    let now = Utc::now();
    let file = dir.path().join("platform.ics");
    std::fs::write(
        &file,
        ics(&[
            (
                "Ana Silva",
                now - Duration::hours(2),
                now + Duration::hours(1),
            ),
            (
                "Bo Chen",
                now + Duration::hours(1),
                now + Duration::hours(13),
            ),
        ]),
    )
    .unwrap();
    let feed = ics(&[(
        "Dee Okafor",
        now - Duration::hours(1),
        now + Duration::hours(11),
    )]);
    let server = FakeServer::always(FakeReply::text(200, feed));
    let broken = FakeServer::always(FakeReply::html(502, "502 Bad Gateway"));
    let dead = support::free_port();
    let config = dir.path().join("config.toml");
    std::fs::write(
        &config,
        format!(
            r#"
[[prometheus]]
url = "http://127.0.0.1:{dead}"
[[alertmanager]]
url = "http://127.0.0.1:{dead}"

[[oncall]]
name = "platform primary"
team = "platform"
file = "{}"

[[oncall]]
name = "payments"
team = "payments"
url = "{}/schedule.ics"

[[oncall]]
name = "proxied"
url = "{}/schedule.ics"

[[oncall]]
name = "missing"
file = "{}/nope.ics"
"#,
            file.display(),
            server.url(),
            broken.url(),
            dir.path().display()
        ),
    )
    .unwrap();
    let json = opsdeck_status(&config);
    let oncall = json["oncall"].as_array().expect("an oncall array");
    let by = |name: &str| {
        oncall
            .iter()
            .find(|s| s["schedule"] == name)
            .unwrap()
            .clone()
    };
    let platform = by("platform primary");
    assert_eq!(platform["team"], "platform");
    assert_eq!(platform["now"]["person"], "Ana Silva");
    assert_eq!(platform["next"]["person"], "Bo Chen");
    let until: DateTime<Utc> = platform["now"]["until"].as_str().unwrap().parse().unwrap();
    assert_eq!(until.timestamp(), (now + Duration::hours(1)).timestamp());
    assert_eq!(by("payments")["now"]["person"], "Dee Okafor");
    assert!(server.hits() >= 1);
    let proxied = by("proxied");
    assert!(proxied["now"].is_null());
    let error = proxied["error"].as_str().unwrap();
    assert!(error.contains("502"), "{error}");
    let missing = by("missing");
    assert!(
        missing["error"].as_str().unwrap().contains("nope.ics"),
        "{missing}"
    );

    // config check reads each schedule once and says what it found.
    let out = Command::new(env!("CARGO_BIN_EXE_opsdeck"))
        .args(["config", "check", "--config"])
        .arg(&config)
        .env("HOME", dir.path())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    for expected in [
        "oncall 'platform primary'",
        "  ✔ 2 shifts, on call now: Ana Silva",
        "  ✔ 1 shift, on call now: Dee Okafor",
        "nope.ics: No such file or directory",
    ] {
        assert!(text.contains(expected), "no {expected:?} in\n{text}");
    }
}

const TMUX: support::Harness = support::Harness {
    prefix: "opsdeck-oncall",
    wait: StdDuration::from_secs(30),
    poll: StdDuration::from_millis(100),
};

/// The real dashboard in tmux, on a schedule served by a loopback server
/// and read every 10 s: the Incidents tab names who is on call, and after
/// the schedule changes (an override laid on the rotation) the next
/// reading shows it; in kiosk mode the header names them.
#[test]
fn the_dashboard_reads_a_schedule_url_again_and_the_kiosk_header_names_who_is_on_call() {
    support::require_tmux();
    let now = Utc::now();
    let rota = [
        (
            "Ana Silva",
            now - Duration::hours(2),
            now + Duration::hours(3),
        ),
        (
            "Bo Chen",
            now + Duration::hours(3),
            now + Duration::hours(15),
        ),
    ];
    let server = FakeServer::always(FakeReply::text(200, ics(&rota)));
    for kiosk in [false, true] {
        server.set_reply(FakeReply::text(200, ics(&rota)));
        let mut t = support::Tmux::new(TMUX, if kiosk { "kiosk" } else { "tab" });
        let config = format!(
            "[[prometheus]]\nurl = \"http://127.0.0.1:9\"\n[[alertmanager]]\nurl = \"http://127.0.0.1:9\"\n\
             [[oncall]]\nname = \"platform primary\"\nteam = \"platform\"\nurl = \"{}/rota.ics\"\nevery = \"10s\"\n",
            server.url()
        );
        std::fs::write(t.path("opsdeck.toml"), config).unwrap();
        let flags = if kiosk { " --kiosk" } else { "" };
        let command = format!(
            "{} --config {}{flags}",
            support::sh_quote(env!("CARGO_BIN_EXE_opsdeck")),
            support::sh_quote(&t.path("opsdeck.toml")),
        );
        // The kiosk header gives on-call room after the state, the first
        // reason and the feeds' error (here every metric feed is down).
        t.start(if kiosk { 220 } else { 120 }, 40, &command);
        if kiosk {
            let screen = t.wait_for("on call: Ana Silva (platform) until");
            let header = screen.lines().find(|l| l.contains(" opsdeck ")).unwrap();
            assert!(header.contains("on call: Ana Silva (platform)"), "{screen}");
            continue;
        }
        t.go_to_tab(5);
        t.wait_for("on call: Ana Silva (platform) until");
        let mut changed = rota.to_vec();
        changed.push((
            "Zed Ward",
            now - Duration::minutes(5),
            now + Duration::hours(1),
        ));
        server.set_reply(FakeReply::text(200, ics(&changed)));
        t.wait_for("on call: Zed Ward (platform) until");
        t.wait_for("next Ana Silva");
    }
}
