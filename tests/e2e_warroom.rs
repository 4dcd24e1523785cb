//! End-to-end tests of the war-room and any-terminal features (issue 8):
//! the real `opsdeck demo` in tmux, as in `e2e_tmux.rs` (private tmux
//! server and home per test; waits poll the screen, nothing is timed).

mod support;

use std::fs;
use std::time::Duration;

use support::{Expect, Harness, Tmux, require_tmux, sh_quote};

const BIN: &str = env!("CARGO_BIN_EXE_opsdeck");
const HARNESS: Harness = Harness {
    prefix: "opsdeck-warroom",
    wait: Duration::from_secs(10),
    poll: Duration::from_millis(50),
};

/// Starts `opsdeck demo --seed 3 ARGS` at `width`x`height`, with `env`
/// (`NAME=value …`) in front, and waits for the tab line.
fn demo(t: &mut Tmux, width: u16, height: u16, env: &str, args: &str) {
    let script = format!("{env} {} demo --seed 3 {args}; sleep 600", sh_quote(BIN));
    t.start(width, height, &script);
    t.expect(
        "the first screen",
        Expect::default().lines(&[&["1 KPIs", "5 Incidents"]]),
    );
}

/// The SGR colour parameters in `screen` (tmux's `capture-pane -e`): any
/// foreground or background colour other than the terminal's default.
fn colour_codes(screen: &str) -> Vec<String> {
    let mut found = Vec::new();
    for seq in screen.split('\u{1b}').skip(1) {
        let Some(params) = seq.strip_prefix('[') else {
            continue;
        };
        let Some(end) = params.find(|c: char| !(c.is_ascii_digit() || c == ';')) else {
            continue;
        };
        if &params[end..end + 1] != "m" {
            continue;
        }
        for code in params[..end].split(';') {
            let n: u32 = code.parse().unwrap_or(0);
            if (30..=37).contains(&n)
                || (40..=47).contains(&n)
                || (90..=97).contains(&n)
                || (100..=107).contains(&n)
                || n == 38
                || n == 48
            {
                found.push(params[..end].to_string());
                break;
            }
        }
    }
    found
}

#[test]
fn kiosk_cycles_tabs_pauses_for_a_key_and_refuses_actions() {
    require_tmux();
    let mut t = Tmux::new(HARNESS, "kiosk");
    demo(&mut t, 120, 40, "", "--kiosk --cycle 2s");
    let first = t.expect(
        "the kiosk header, clock and data age",
        Expect::on(1).lines(&[&[" KIOSK ▶", "UTC"]]).has(&[" old "]),
    );
    assert!(!first.contains("READ-ONLY"), "KIOSK says it: {first}");
    // The seed's estate has a critical incident open: the banner names it.
    t.expect(
        "the incident banner",
        Expect::default().lines(&[&["● CRITICAL INCIDENT:", " on ", "· open "]]),
    );
    // No key: the tabs move on by themselves, in order.
    t.expect("the cycle to tab 2", Expect::on(2));
    t.expect("the cycle to tab 3", Expect::on(3));

    // A key pauses the cycle; the keys still move and inspect.
    t.send("4");
    t.expect(
        "paused on the Backups tab",
        Expect::on(4).lines(&[&[" KIOSK ⏸", "UTC"]]),
    );
    std::thread::sleep(Duration::from_secs(3));
    t.expect("still on tab 4 after more than a cycle", Expect::on(4));
    t.press(
        "D",
        "a DR drill refused in kiosk mode",
        Expect::on(4).has(&["refused", "kiosk mode is read-only"]),
    );
    t.press(
        "Enter",
        "the details still open",
        Expect::on(4).has(&["last DR drill"]),
    );
    t.send("Escape");

    // Held with Space: nothing moves however long nobody types.
    t.press(
        "Space",
        "the cycle held",
        Expect::on(4).has(&[" KIOSK ⏸ held "]),
    );
    t.send("q");
}

#[test]
fn no_color_draws_no_colour_codes_and_every_state_in_words() {
    require_tmux();
    let mut t = Tmux::new(HARNESS, "no-color");
    demo(&mut t, 120, 40, "NO_COLOR=1", "");
    for tab in 1..=5 {
        t.send(&tab.to_string());
        t.expect(&format!("tab {tab}"), Expect::on(tab));
        let screen = t.capture_with(true).expect("the pane");
        let codes = colour_codes(&screen);
        assert!(
            codes.is_empty(),
            "tab {tab}: colour codes {codes:?} under NO_COLOR"
        );
        if tab == 2 {
            let plain = t.capture().expect("the pane");
            for word in ["CRIT", "OK"] {
                assert!(plain.contains(word), "tab 2 says {word} in words: {plain}");
            }
        }
    }
    // The default theme does colour: the check above can fail.
    let mut coloured = Tmux::new(HARNESS, "colour");
    demo(&mut coloured, 120, 40, "", "");
    let screen = coloured.capture_with(true).expect("the pane");
    assert!(
        !colour_codes(&screen).is_empty(),
        "the default theme is in colour"
    );
    t.send("q");
    coloured.send("q");
}

#[test]
fn a_remapped_key_and_a_chord_work_and_the_help_shows_them() {
    require_tmux();
    let mut t = Tmux::new(HARNESS, "keymap");
    let dir = t.dir().join("config/opsdeck/keymaps");
    fs::create_dir_all(&dir).unwrap();
    fs::write(
        dir.join("mine.toml"),
        "extends = \"default\"\n[bindings]\nshow_deploys = [\"d\"]\nshow_backups = [\"g b\"]\nexport = []\n",
    )
    .unwrap();
    demo(&mut t, 120, 40, "", "--keymap mine");
    t.press("d", "d shows the Deploys tab", Expect::on(3));
    t.send("3");
    t.expect("3 is unbound now: still tab 3", Expect::on(3));
    t.send("g");
    t.press("b", "g b shows the Backups tab", Expect::on(4));
    t.press(
        "?",
        "the help with the bindings in force",
        Expect::default().lines(&[
            &["d", "Deploys tab"],
            &["g b", "Backups tab"],
            &["(unbound)", "export the screen"],
        ]),
    );
    t.send("Escape");
    t.send("q");
}

#[test]
fn the_prompt_completes_and_runs_commands_and_sorts() {
    require_tmux();
    let mut t = Tmux::new(HARNESS, "prompt");
    demo(&mut t, 120, 40, "", "");
    t.send(":");
    t.type_text("ta");
    t.press(
        "Tab",
        "a verb completed",
        Expect::default().has(&[" :tab ▏"]),
    );
    t.type_text("dep");
    t.press(
        "Tab",
        "the tab completed",
        Expect::default().has(&[" :tab deploys ▏"]),
    );
    t.press("Enter", "the prompt ran it", Expect::on(3));

    t.send("2");
    t.expect("the Health tab", Expect::on(2));
    t.send(":");
    t.type_text("sort p");
    t.press(
        "Tab",
        "completed as far as the columns agree, and both offered",
        Expect::default().has(&[" :sort p9▏", "p95  p99"]),
    );
    t.type_text("9 desc");
    t.press(
        "Enter",
        "sorted by p99",
        Expect::on(2).has(&["Services · by p99 ↓"]),
    );
    t.send(":");
    t.type_text("filter is:breaching");
    t.press(
        "Enter",
        "only the breaching services",
        Expect::on(2).has(&["/is:breaching"]).lacks(&["  OK  "]),
    );
    // An action typed at the prompt opens the same confirmation as its key.
    t.send("3");
    t.expect("the Deploys tab", Expect::on(3));
    t.send(":");
    t.type_text("rollback");
    t.press(
        "Enter",
        "the rollback dialog from the prompt",
        Expect::default().has(&["Confirm: rollback"]),
    );
    t.press(
        "Escape",
        "the dialog cancelled",
        Expect::on(3).lacks(&["Confirm: rollback"]),
    );
    t.send(":");
    t.type_text("frobnicate");
    t.press(
        "Enter",
        "an unknown command says so",
        Expect::default().has(&["no command 'frobnicate'"]),
    );
    t.send("q");
}

#[test]
fn the_environment_is_named_in_the_header_and_the_screen_exports() {
    require_tmux();
    let mut t = Tmux::new(HARNESS, "env-export");
    let out = t.dir().join("exports");
    fs::create_dir_all(&out).unwrap();
    let env = format!(
        "OPSDECK_EXPORT_DIR={}",
        sh_quote(&out.display().to_string())
    );
    demo(&mut t, 100, 30, &env, "--environment production");
    t.expect(
        "the environment badge",
        Expect::default().lines(&[&[" opsdeck ", " PRODUCTION ", " DEMO "]]),
    );
    t.press("e", "the export", Expect::default().has(&["exported: "]));
    let files: Vec<_> = fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    let text = files
        .iter()
        .find(|p| p.extension().is_some_and(|e| e == "txt"));
    let svg = files
        .iter()
        .find(|p| p.extension().is_some_and(|e| e == "svg"));
    let (Some(text), Some(svg)) = (text, svg) else {
        panic!("a .txt and an .svg: {files:?}");
    };
    let text = fs::read_to_string(text).unwrap();
    assert!(
        text.contains(" PRODUCTION ") && text.contains("1 KPIs"),
        "{text}"
    );
    assert_eq!(text.lines().count(), 30, "one line a row");
    assert!(!text.contains('\u{1b}'), "no escapes in the text export");
    let svg = fs::read_to_string(svg).unwrap();
    assert!(
        svg.starts_with("<svg") || svg.starts_with("<?xml"),
        "{svg:.80}"
    );
    assert!(svg.contains("PRODUCTION") && svg.trim_end().ends_with("</svg>"));
    t.send("q");
}

/// Every boxed line of `screen` closes where it opens: a line that starts
/// with a border ends with one (an overflowing cell pushes it off).
fn boxes_close(screen: &str) -> Result<(), String> {
    for (n, line) in screen.lines().enumerate() {
        let trimmed = line.trim_end();
        let closes = match trimmed.chars().next() {
            Some('╭') => trimmed.ends_with('╮'),
            Some('│') => trimmed.ends_with('│'),
            Some('╰') => trimmed.ends_with('╯'),
            _ => true,
        };
        if !closes {
            return Err(format!("line {n} does not close its box: {line}"));
        }
    }
    Ok(())
}

#[test]
fn at_200x60_every_column_shows_and_every_box_closes() {
    require_tmux();
    let mut t = Tmux::new(HARNESS, "wide");
    demo(&mut t, 200, 60, "", "");
    // Each tab's table headers, every column of them, on one line; the
    // columns that 80x24 drops first (Team, Traffic, Size, Took, Env …) too.
    let tabs: [&[&[&str]]; 5] = [
        &[&[
            "State",
            "Service",
            "Tier",
            "Avail 30d",
            "Budget left",
            "Burn 1h",
            "Team",
        ]],
        &[
            &[
                "State",
                "Service",
                "Tier",
                "Req/s",
                "Errors",
                "p95",
                "p99",
                "Sat",
                "Targets",
                "Budget",
                "Team",
                "Traffic 5m",
            ],
            &["State", "Host", "CPU", "Memory", "Disk", "CPU 5m"],
        ],
        &[&[
            "State",
            "Service",
            "Env",
            "Version",
            "Previous",
            "Strategy",
            "Progress",
            "Phase",
            "Deployed",
            "Rollbacks",
        ]],
        &[&[
            "State",
            "Target",
            "Tier",
            "Last good",
            "RPO",
            "Size",
            "Took",
            "Verified",
            "DR drill",
            "RTO / objective",
        ]],
        &[
            &[
                "Severity", "Incident", "Service", "Started", "For", "Alerts", "Summary", "Runbook",
            ],
            &["State", "Matchers", "By", "Starts", "Until", "Comment"],
        ],
    ];
    for (i, lines) in tabs.into_iter().enumerate() {
        let n = i + 1;
        let screen = t.tab(
            n,
            &format!("tab {n} at 200x60"),
            Expect::default().lines(lines),
        );
        boxes_close(&screen).unwrap_or_else(|e| panic!("tab {n}: {e}\n{screen}"));
        // The 60 rows are used: capture-pane prints every row, and the
        // last is the footer, not blank.
        let last = screen.lines().last().unwrap_or_default();
        assert!(last.contains("q quit"), "tab {n} footer: {screen}");
    }
    t.send("q");
}
