use super::*;
use crate::domain::oncall::on_call;

fn utc(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, mo, d, h, mi, 0).unwrap()
}

fn far() -> DateTime<Utc> {
    utc(2027, 1, 1, 0, 0)
}

fn calendar(events: &str) -> String {
    format!("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\n{events}END:VCALENDAR\r\n")
}

fn event(lines: &[&str]) -> String {
    let mut s = "BEGIN:VEVENT\r\n".to_string();
    for l in lines {
        s.push_str(l);
        s.push_str("\r\n");
    }
    s + "END:VEVENT\r\n"
}

#[test]
fn utc_zoned_floating_and_whole_day_times_are_placed_right() {
    let text = calendar(
        &[
            event(&[
                "DTSTART:20260328T090000Z",
                "DTEND:20260328T210000Z",
                "SUMMARY:Ana",
            ]),
            // Berlin is UTC+1 on the 28th, UTC+2 from 01:00 UTC on the 29th.
            event(&[
                "DTSTART;TZID=Europe/Berlin:20260328T220000",
                "DTEND;TZID=Europe/Berlin:20260329T080000",
                "SUMMARY:Bo",
            ]),
            event(&["DTSTART:20260329T080000", "DURATION:PT12H", "SUMMARY:Cy"]),
            event(&[
                "DTSTART;VALUE=DATE:20260401",
                "DTEND;VALUE=DATE:20260403",
                "SUMMARY:Di",
            ]),
        ]
        .concat(),
    );
    let parsed = parse(&text, far()).unwrap();
    assert!(parsed.warnings.is_empty(), "{:?}", parsed.warnings);
    let got: Vec<_> = parsed
        .shifts
        .iter()
        .map(|s| (s.person.as_str(), s.start, s.end))
        .collect();
    assert_eq!(
        got,
        [
            ("Ana", utc(2026, 3, 28, 9, 0), utc(2026, 3, 28, 21, 0)),
            ("Bo", utc(2026, 3, 28, 21, 0), utc(2026, 3, 29, 6, 0)),
            ("Cy", utc(2026, 3, 29, 8, 0), utc(2026, 3, 29, 20, 0)),
            ("Di", utc(2026, 4, 1, 0, 0), utc(2026, 4, 3, 0, 0)),
        ]
    );
}

#[test]
fn floating_times_follow_the_calendars_zone_when_it_names_one() {
    let text = format!(
        "BEGIN:VCALENDAR\nX-WR-TIMEZONE:America/New_York\n{}END:VCALENDAR\n",
        event(&[
            "DTSTART:20260710T090000",
            "DTEND:20260710T170000",
            "SUMMARY:Ana"
        ])
    );
    let s = &parse(&text, far()).unwrap().shifts[0];
    assert_eq!(
        (s.start, s.end),
        (utc(2026, 7, 10, 13, 0), utc(2026, 7, 10, 21, 0))
    );
}

#[test]
fn who_is_on_call_across_midnight_and_the_dst_change() {
    let text = calendar(
        &[
            event(&[
                "DTSTART;TZID=Europe/Berlin:20260328T100000",
                "DTEND;TZID=Europe/Berlin:20260328T220000",
                "SUMMARY:On Call - Ana Silva - Platform primary",
            ]),
            event(&[
                "DTSTART;TZID=Europe/Berlin:20260328T220000",
                "DTEND;TZID=Europe/Berlin:20260329T100000",
                "SUMMARY:On Call - Bo Chen - Platform primary",
            ]),
            event(&[
                "DTSTART;TZID=Europe/Berlin:20260329T100000",
                "DTEND;TZID=Europe/Berlin:20260329T220000",
                "SUMMARY:On Call - Cy Park - Platform primary",
            ]),
        ]
        .concat(),
    );
    let shifts = parse(&text, far()).unwrap().shifts;
    let who = |at| {
        let o = on_call(&shifts, at);
        (o.now.map(|s| (s.person, s.end)), o.next.map(|s| s.person))
    };
    // 23:30 Berlin (UTC+1) on the 28th: Bo, since 21:00 UTC, until 10:00
    // Berlin summer time, 08:00 UTC — a night of 11 hours.
    assert_eq!(
        who(utc(2026, 3, 28, 22, 30)),
        (
            Some(("Bo Chen".into(), utc(2026, 3, 29, 8, 0))),
            Some("Cy Park".into())
        )
    );
    // 07:59 UTC is 09:59 Berlin: still Bo; 08:00 UTC is Cy.
    assert_eq!(who(utc(2026, 3, 29, 7, 59)).0.unwrap().0, "Bo Chen");
    assert_eq!(
        who(utc(2026, 3, 29, 8, 0)),
        (Some(("Cy Park".into(), utc(2026, 3, 29, 20, 0))), None)
    );
    assert_eq!(who(utc(2026, 3, 28, 20, 59)).0.unwrap().0, "Ana Silva");
}

#[test]
fn the_person_is_the_attendees_name_else_the_summary() {
    let text = calendar(
        &[
            event(&[
                "DTSTART:20260301T000000Z",
                "DTEND:20260302T000000Z",
                "SUMMARY:Primary",
                "ATTENDEE;CN=\"Silva, Ana\";ROLE=REQ-PARTICIPANT:mailto:ana@example.com",
            ]),
            event(&[
                "DTSTART:20260302T000000Z",
                "DTEND:20260303T000000Z",
                "SUMMARY:On-call: Bo\\, Chen",
            ]),
            // Long lines are folded.
            event(&[
                "DTSTART:20260303T000000Z",
                "DTEND:20260304T000000Z",
                "SUMMARY:Cy\r\n  Park",
            ]),
        ]
        .concat(),
    );
    let names: Vec<_> = parse(&text, far())
        .unwrap()
        .shifts
        .into_iter()
        .map(|s| s.person)
        .collect();
    assert_eq!(names, ["Silva, Ana", "Bo, Chen", "Cy Park"]);
}

#[test]
fn weekly_rotations_keep_their_local_hour_across_dst() {
    let text = calendar(&event(&[
        "DTSTART;TZID=Europe/Berlin:20260323T090000",
        "DTEND;TZID=Europe/Berlin:20260330T090000",
        "RRULE:FREQ=WEEKLY;INTERVAL=2;COUNT=3",
        "EXDATE;TZID=Europe/Berlin:20260406T090000",
        "SUMMARY:Ana",
    ]));
    let starts: Vec<_> = parse(&text, far())
        .unwrap()
        .shifts
        .iter()
        .map(|s| s.start)
        .collect();
    // 23 March is winter time (08:00 UTC); 20 April summer time (07:00 UTC);
    // 6 April is excluded.
    assert_eq!(starts, [utc(2026, 3, 23, 8, 0), utc(2026, 4, 20, 7, 0)]);
    let endless = calendar(&event(&[
        "DTSTART:20260101T000000Z",
        "DURATION:P1D",
        "RRULE:FREQ=DAILY",
        "SUMMARY:Ana",
    ]));
    let n = parse(&endless, utc(2026, 1, 10, 12, 0))
        .unwrap()
        .shifts
        .len();
    assert_eq!(n, 10, "expanded up to the horizon");
}

#[test]
fn cancelled_events_are_dropped_and_unreadable_ones_said() {
    let text = calendar(
        &[
            event(&[
                "DTSTART:20260301T000000Z",
                "DTEND:20260302T000000Z",
                "SUMMARY:Ana",
                "STATUS:CANCELLED",
            ]),
            event(&[
                "DTSTART;TZID=Mars/Olympus:20260301T000000",
                "DTEND:20260302T000000Z",
                "SUMMARY:Bo",
            ]),
            event(&["DTSTART:yesterday", "DTEND:20260302T000000Z", "SUMMARY:Cy"]),
            event(&[
                "DTSTART:20260301T000000Z",
                "RRULE:FREQ=MONTHLY",
                "DURATION:P1D",
                "SUMMARY:Di",
            ]),
            event(&[
                "DTSTART:20260305T000000Z",
                "DTEND:20260306T000000Z",
                "SUMMARY:Ed",
            ]),
        ]
        .concat(),
    );
    let parsed = parse(&text, far()).unwrap();
    let names: Vec<_> = parsed.shifts.iter().map(|s| s.person.as_str()).collect();
    assert_eq!(names, ["Ed"]);
    assert_eq!(
        parsed.warnings,
        ["3 events unreadable: unknown time zone 'Mars/Olympus'"]
    );
}

#[test]
fn text_that_is_not_a_calendar_is_an_error_and_nothing_panics() {
    assert_eq!(
        parse("<html>502 Bad Gateway</html>", far()).unwrap_err(),
        "not an iCalendar file (no BEGIN:VCALENDAR)"
    );
    for text in [
        "BEGIN:VCALENDAR\nBEGIN:VEVENT\nDTSTART",
        "BEGIN:VCALENDAR\nBEGIN:VEVENT\nDTSTART:2026\nEND:VEVENT",
        "BEGIN:VCALENDAR\nBEGIN:VEVENT\nBEGIN:VALARM\nEND:VEVENT",
        "BEGIN:VCALENDAR\nBEGIN:VEVENT\nDTSTART:20260101T000000Z\nDURATION:P\nSUMMARY:a\nEND:VEVENT",
        "BEGIN:VCALENDAR\nBEGIN:VEVENT\nDTSTART:20260101T000000Z\nRRULE:FREQ=DAILY;INTERVAL=0\nDURATION:PT1H\nSUMMARY:a\nEND:VEVENT",
        "BEGIN:VCALENDAR\n\u{1b}]0;x\u{7}:\"\n;;;:\n",
    ] {
        let _ = parse(text, far());
    }
}

#[test]
fn names_with_control_characters_are_cleaned() {
    let text = calendar(&event(&[
        "DTSTART:20260301T000000Z",
        "DTEND:20260302T000000Z",
        "SUMMARY:Ana\u{1b}[2J",
    ]));
    let person = &parse(&text, far()).unwrap().shifts[0].person;
    assert!(!person.contains('\u{1b}'), "{person:?}");
    assert!(person.starts_with("Ana"));
}

#[test]
fn durations() {
    assert_eq!(duration("PT12H"), Some(Duration::hours(12)));
    assert_eq!(duration("P1W"), Some(Duration::weeks(1)));
    assert_eq!(duration("P1DT6H30M"), Some(Duration::minutes(30 * 60 + 30)));
    assert_eq!(duration("P"), None);
    assert_eq!(duration("PT5"), None);
    assert_eq!(duration("12H"), None);
}

#[test]
fn what_an_unreadable_event_said_is_cleaned_before_it_is_shown() {
    let text = calendar(&event(&[
        "DTSTART;TZID=Evil\u{1b}]52;c;x\u{7}:20260301T000000",
        "DTEND:20260302T000000Z",
        "SUMMARY:Ana",
    ]));
    let parsed = parse(&text, far()).unwrap();
    let [warning] = &parsed.warnings[..] else {
        panic!("{:?}", parsed.warnings);
    };
    assert!(
        warning.starts_with("1 event unreadable: unknown time zone 'Evil"),
        "{warning}"
    );
    assert!(!warning.chars().any(|c| c.is_control()), "{warning:?}");
}
