//! Narrow screens keep the reason (issue 20, item 8): the real `opsdeck
//! demo` in tmux at 80x24, 60x20 and 40x20. The column that gives a row its
//! state stays (db-02 critical on its disk keeps Disk; media-bucket, warned
//! because it was never verified, keeps Verified), and every row of every
//! tab keeps its state word.
//!
//! They need tmux (`.ci/run` installs it); without it they fail, saying so.

mod support;

use std::time::Duration;

use support::{Expect, Harness, Tmux, require_tmux, sh_quote};

const BIN: &str = env!("CARGO_BIN_EXE_opsdeck");
const HARNESS: Harness = Harness {
    prefix: "opsdeck-narrow",
    wait: Duration::from_secs(10),
    poll: Duration::from_millis(50),
};

/// What a row's state column may say: a state, an incident's severity, a
/// silence's state.
const STATE_WORDS: [&str; 10] = [
    "OK", "WARN", "CRIT", "UNKNOWN", "critical", "warning", "info", "active", "pending", "expired",
];

/// A panel title each tab shows, short enough to stay whole at 40 columns.
const TITLES: [&str; 5] = [
    "╭ Services by error",
    "╭ Hosts",
    "╭ Deployments",
    "╭ Backups",
    "╭ Silences",
];

/// The demo in a `width`x`height` terminal, on its first screen.
fn demo(width: u16, height: u16) -> Tmux {
    require_tmux();
    let mut t = Tmux::new(HARNESS, &format!("{width}x{height}"));
    t.start(width, height, &format!("{} demo --seed 3", sh_quote(BIN)));
    t.expect(
        "the first screen",
        Expect::default().has(&[" DEMO ", TITLES[0]]),
    );
    t
}

/// Presses tab `n`'s digit and waits for its panel, then for `lines` on it.
fn tab(t: &Tmux, n: usize, at: &str, lines: &[&[&str]]) -> String {
    t.send(&n.to_string());
    let what = format!("tab {n} at {at}");
    t.expect(&what, Expect::default().has(&[TITLES[n - 1]]).lines(lines))
}

/// The table rows on `screen` without a state word: the non-blank lines
/// between a table's header (`State`, `Severity`) and its bottom border.
fn rows_without_state(screen: &str) -> (usize, Vec<&str>) {
    let (mut rows, mut missing, mut in_table) = (0, Vec::new(), false);
    for line in screen.lines() {
        let inner = line.trim_matches('│').trim();
        if line.starts_with('│') && (inner.starts_with("State ") || inner.starts_with("Severity "))
        {
            in_table = true;
        } else if !line.starts_with('│') {
            in_table = false;
        } else if in_table && !inner.is_empty() {
            rows += 1;
            if !STATE_WORDS.iter().any(|w| line.contains(w)) {
                missing.push(line);
            }
        }
    }
    (rows, missing)
}

/// Every tab at this size: each table row shows its state word, once the
/// tab's data has come (a feed may answer after the first screen).
fn every_row_keeps_its_state_word(t: &Tmux, at: &str) {
    for n in 1..=5 {
        tab(t, n, at, &[]);
        let what = format!("tab {n} at {at}: a state word on every row");
        t.wait_check(&what, |screen| match rows_without_state(screen) {
            (0..2, _) => Err("two table rows or more".into()),
            (_, missing) if !missing.is_empty() => {
                Err(format!("a state word on the rows {missing:?}"))
            }
            _ => Ok(()),
        });
    }
}

/// From the Deploys tab, the tab bar marks the tabs with a breach
/// elsewhere (every tab is marked in the demo, its canary too: at 40
/// columns the incident count gives way to the marks), and the header keeps
/// its state word.
fn tab_marks_show_a_breach_elsewhere(t: &Tmux, at: &str) {
    t.send("3");
    t.wait_check(&format!("the tab marks at {at}"), |screen| {
        let lines: Vec<&str> = screen.lines().collect();
        let (header, tabs) = (lines[0], lines[1]);
        if !header.contains("✖ CRIT") {
            return Err(format!("the header's state word: {header}"));
        }
        // Each mark right after its tab's number or name.
        for tab in ["2", "4", "5"] {
            let after = tabs
                .split('│')
                .map(str::trim)
                .find(|t| t.starts_with(tab))
                .ok_or_else(|| format!("tab {tab} in {tabs}"))?;
            if !after.contains('✖') {
                return Err(format!("tab {tab} marked critical: {tabs}"));
            }
        }
        if !tabs.contains("3 Deploys") {
            return Err(format!("the tab shown keeps its name: {tabs}"));
        }
        Ok(())
    });
}

#[test]
fn at_80x24_the_disk_and_verified_columns_that_explain_stay() {
    let t = demo(80, 24);
    tab(
        &t,
        2,
        "80x24",
        &[&["State", "Host", "Disk"], &["db-02", "CRIT", "%"]],
    );
    tab(
        &t,
        4,
        "80x24",
        &[
            &["State", "Target", "Verified"],
            &["media-bucket", "WARN", "never"],
        ],
    );
    every_row_keeps_its_state_word(&t, "80x24");
    tab_marks_show_a_breach_elsewhere(&t, "80x24");
}

#[test]
fn at_60x20_the_disk_and_verified_columns_that_explain_stay() {
    let t = demo(60, 20);
    tab(
        &t,
        2,
        "60x20",
        &[&["State", "Host", "Disk"], &["db-02", "CRIT"]],
    );
    tab(
        &t,
        4,
        "60x20",
        &[
            &["State", "Target", "Verified"],
            &["media-bucket", "WARN", "never"],
        ],
    );
    every_row_keeps_its_state_word(&t, "60x20");
    tab_marks_show_a_breach_elsewhere(&t, "60x20");
}

#[test]
fn at_40x20_every_row_keeps_its_state_word_and_a_critical_host_its_disk() {
    let t = demo(40, 20);
    tab(
        &t,
        2,
        "40x20",
        &[&["State", "Host", "Disk"], &["db-02", "CRIT"]],
    );
    // auth-db is critical for its age against the RPO: Last good explains it.
    tab(
        &t,
        4,
        "40x20",
        &[
            &["State", "Target", "Last good"],
            &["auth-db", "CRIT", "ago"],
        ],
    );
    every_row_keeps_its_state_word(&t, "40x20");
    tab_marks_show_a_breach_elsewhere(&t, "40x20");
}
