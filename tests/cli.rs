//! The command line of DESIGN.md: every subcommand and flag parses, global
//! flags go before or after the subcommand, and features not built yet are
//! refused, never ignored.

use std::process::{Command, Output};

use clap::Parser;
use opsdeck::cli::{Cli, Commands, EXIT_UNAVAILABLE};

fn opsdeck(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_opsdeck"))
        .args(args)
        .output()
        .expect("runs")
}

#[test]
fn global_flags_are_accepted_before_or_after_the_subcommand() {
    for args in [
        &[
            "opsdeck",
            "--theme",
            "mono",
            "--read-only",
            "demo",
            "--seed",
            "9",
        ][..],
        &[
            "opsdeck",
            "demo",
            "--seed",
            "9",
            "--theme",
            "mono",
            "--read-only",
        ][..],
    ] {
        let cli = Cli::try_parse_from(args).unwrap();
        assert!(matches!(cli.command, Some(Commands::Demo { seed: 9 })));
        assert_eq!(cli.global.theme.as_deref(), Some("mono"));
        assert!(cli.global.read_only);
    }
    let cli = Cli::try_parse_from([
        "opsdeck",
        "status",
        "--json",
        "--prometheus",
        "http://127.0.0.1:9",
        "--prometheus",
        "http://127.0.0.1:8",
    ])
    .unwrap();
    assert_eq!(cli.global.prometheus.len(), 2, "--prometheus repeats");
}

#[test]
fn every_subcommand_has_help() {
    for args in [
        &["--help"][..],
        &["demo", "--help"],
        &["status", "--help"],
        &["config", "--help"],
        &["config", "check", "--help"],
        &["completions", "--help"],
    ] {
        let out = opsdeck(args);
        assert!(out.status.success(), "{args:?}");
        assert!(
            String::from_utf8_lossy(&out.stdout).contains("Usage: opsdeck"),
            "{args:?}"
        );
    }
}

#[test]
fn features_not_built_yet_say_so_and_exit_69() {
    let cases: [&[&str]; 6] = [
        &[],
        &["status", "--demo"],
        &["config", "check"],
        &["demo", "--kiosk"],
        &["demo", "--prometheus", "http://127.0.0.1:9"],
        &["demo", "--audit-log", "/tmp/audit.jsonl"],
    ];
    for args in cases {
        let out = opsdeck(args);
        assert_eq!(out.status.code(), Some(EXIT_UNAVAILABLE), "{args:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains("not available in this version yet"),
            "{args:?}: {stderr}"
        );
    }
}

#[test]
fn a_bad_flag_is_a_usage_error() {
    let out = opsdeck(&["demo", "--seed", "many"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("invalid value 'many'"));
}

#[test]
fn completions_and_the_man_page_come_from_the_same_definition() {
    let bash = opsdeck(&["completions", "bash"]);
    assert!(bash.status.success());
    let text = String::from_utf8_lossy(&bash.stdout);
    assert!(text.contains("opsdeck") && text.contains("--keymap"));
    let man = opsdeck(&["man"]);
    assert!(man.status.success());
    let text = String::from_utf8_lossy(&man.stdout);
    assert!(
        text.contains(".TH opsdeck") && text.contains("demo"),
        "{text}"
    );
}
