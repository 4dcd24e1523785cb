//! Tests of `actions.rs`: the actions state, its history and notices.

use super::*;
use chrono::TimeZone;

#[test]
fn a_start_is_now_a_time_of_day_ahead_or_rfc_3339() {
    let now = Utc.with_ymd_and_hms(2026, 11, 22, 3, 0, 0).unwrap();
    assert_eq!(parse_start("now", now), Ok(now));
    assert_eq!(
        parse_start("02:00", now),
        Ok(Utc.with_ymd_and_hms(2026, 11, 23, 2, 0, 0).unwrap()),
        "02:00 has passed today: tomorrow's"
    );
    assert_eq!(
        parse_start("04:30", now),
        Ok(Utc.with_ymd_and_hms(2026, 11, 22, 4, 30, 0).unwrap())
    );
    assert!(parse_start("soon", now).unwrap_err().contains("HH:MM"));
    assert_eq!(parse_length("4h"), Ok(Duration::hours(4)));
    assert!(parse_length("0s").is_err() && parse_length("90d").is_err());
}

fn run() -> Run {
    Run {
        id: 1,
        request: ActionRequest {
            action: "rollback".into(),
            target: "checkout".into(),
            environment: "staging".into(),
            parameters: BTreeMap::new(),
            backend: Backend::Demo,
            timeout: Duration::seconds(10),
        },
        description: Vec::new(),
        started: Utc.with_ymd_and_hms(2026, 11, 22, 3, 0, 0).unwrap(),
        output: VecDeque::new(),
        dropped: 0,
        finished: None,
    }
}

#[test]
fn a_run_keeps_its_last_lines_and_counts_the_ones_it_dropped() {
    let mut actions = Actions {
        output_lines_kept: 10,
        ..Actions::default()
    };
    actions.runs.push_back(run());
    for i in 0..1_244 {
        actions.output(1, format!("line {i}"));
    }
    let run = actions.run(1).unwrap();
    assert_eq!(run.output.len(), 10);
    assert_eq!(run.dropped, 1_234);
    assert_eq!(run.output.front().map(String::as_str), Some("line 1234"));
    assert_eq!(run.output.back().map(String::as_str), Some("line 1243"));
    assert_eq!(Actions::default().output_lines_kept, 500, "the default");
}

#[test]
fn a_notice_from_the_audit_log_reaches_the_footer() {
    let mut actions = Actions::default();
    assert!(!actions.take_audit_notices(), "no writer, nothing to show");
    let (tx, rx) = std::sync::mpsc::channel();
    actions.audit_notices = Some(rx);
    assert!(!actions.take_audit_notices());
    tx.send("audit log rotated (first)".to_string()).unwrap();
    tx.send("audit log rotated (second)".to_string()).unwrap();
    assert!(actions.take_audit_notices());
    assert_eq!(
        actions.notice.as_deref(),
        Some("audit log rotated (second)")
    );
    assert!(!actions.take_audit_notices(), "each notice is shown once");
    assert_eq!(
        actions.notice.as_deref(),
        Some("audit log rotated (second)")
    );
}

#[test]
fn a_drill_reports_verification_in_so_many_words() {
    for yes in [
        "row counts and checksums verified",
        "Restore VERIFIED: 1,204 tables",
        "drill passed: checksums verified",
        "verified=true",
    ] {
        assert!(reports_verification(yes), "{yes}");
    }
    for no in [
        "verifying row counts and checksums",
        "checksums not verified",
        "unverified restore",
        "verification skipped",
        "verified: no",
        "{\"verified\": false}",
        "checksums verified: 3 failed",
        "exit 0",
        "",
    ] {
        assert!(!reports_verification(no), "{no}");
    }
}

#[test]
fn production_is_recognised_in_its_usual_spellings() {
    assert!(is_production("production") && is_production("PROD") && is_production("prd"));
    assert!(!is_production("staging") && !is_production(""));
}

#[test]
fn production_is_recognised_however_it_is_written() {
    for written in [
        " production",
        "production ",
        "production\u{200b}",
        "PRODUCTION",
        "\u{feff}Prod\u{2060}",
        "pro\u{200d}d",
        "\tprd\n",
        "\u{202e}production",
        // As `text::clean` passes it on from a source.
        "production\\u{200b}",
        "\\xadprod",
        "\\u{202e}PRODUCTION\\u{202c}",
    ] {
        assert!(is_production(written), "{written:?}");
    }
    for not in [
        "staging",
        "production-eu",
        "preprod",
        "prod\\u{41}",
        "\\u{zz}prod",
        "",
    ] {
        assert!(!is_production(not), "{not:?}");
    }
    assert_eq!(normalise_environment(" Production\u{200b} "), "production");
}
