//! The command line of DESIGN.md: every subcommand and flag parses, global
//! flags go before or after the subcommand, and features not built yet are
//! refused, never ignored.

use std::process::{Command, Output};

use clap::Parser;
use opsdeck::cli::{Cli, Commands};

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
    let Some(Commands::Status { sources, .. }) = cli.command else {
        panic!("status");
    };
    assert_eq!(sources.prometheus.len(), 2, "--prometheus repeats");
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
fn a_cycle_without_kiosk_or_too_short_is_a_usage_error() {
    for (args, words) in [
        (&["demo", "--cycle", "20s"][..], "--kiosk"),
        (&["demo", "--kiosk", "--cycle", "200ms"][..], "at least 1s"),
        (&["demo", "--kiosk", "--cycle", "often"][..], "20s or 1m"),
        (
            &["demo", "--environment-colour", "red"][..],
            "--environment",
        ),
        (
            &[
                "demo",
                "--environment",
                "prod",
                "--environment-colour",
                "reddish",
            ][..],
            "unknown colour",
        ),
    ] {
        let out = opsdeck(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(words), "{args:?}: {stderr}");
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

/// A fresh directory for one test's files.
fn scratch(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("opsdeck-cli-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn config_init_writes_a_starting_file_once() {
    let path = scratch("init").join("opsdeck.toml");
    let path_arg = path.to_str().unwrap();
    let out = opsdeck(&["config", "init", "--config", path_arg]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains("[[prometheus]]") && text.contains("[objectives]"));
    let again = opsdeck(&["config", "init", "--config", path_arg]);
    assert_eq!(again.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&again.stderr).contains("exists; not overwritten"));
}

#[test]
fn config_check_names_file_line_and_field_and_exits_non_zero() {
    let path = scratch("check").join("opsdeck.toml");
    // Port 9 on loopback: nothing listens there.
    std::fs::write(&path, "[[prometheus]]\nurl = \"http://127.0.0.1:9\"\n\n[[alertmanager]]\nurl = \"ftp://127.0.0.1:9\"\n\n[thresholds]\ncpu = 80\n").unwrap();
    let out = opsdeck(&["config", "check", "--config", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    let file = path.display().to_string();
    assert!(
        text.contains(&format!(
            "{file}: line 5: alertmanager[0].url: unsupported scheme 'ftp'"
        )),
        "{text}"
    );
    assert!(text.contains("thresholds.cpu: 80 is not a ratio"), "{text}");
    assert!(
        text.contains("every query: cannot connect to http://127.0.0.1:9/"),
        "{text}"
    );
}

/// `opsdeck ARGS` with `env` set and `$OPSDECK_CONFIG` otherwise unset.
fn opsdeck_with(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_opsdeck"));
    command.args(args).env_remove("OPSDECK_CONFIG");
    for (k, v) in env {
        command.env(k, v);
    }
    command.output().expect("runs")
}

#[test]
fn a_named_configuration_that_does_not_exist_ends_with_exit_1_naming_it() {
    let missing = scratch("missing").join("nosuch.toml");
    let path = missing.to_str().unwrap();
    type Env<'a> = &'a [(&'a str, &'a str)];
    let runs: [(&[&str], Env); 5] = [
        (&["config", "check", "--config", path], &[]),
        (&["status", "--config", path], &[]),
        (&["status", "--json", "--config", path], &[]),
        // The dashboard: it must end before it takes the terminal.
        (&["--config", path], &[]),
        (&["config", "check"], &[("OPSDECK_CONFIG", path)]),
    ];
    for (args, env) in runs {
        let out = opsdeck_with(args, env);
        let stderr = String::from_utf8_lossy(&out.stderr);
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert_eq!(
            out.status.code(),
            Some(1),
            "{args:?} {env:?}: {stderr}{stdout}"
        );
        let how = if env.is_empty() {
            "--config"
        } else {
            "$OPSDECK_CONFIG"
        };
        assert!(
            stderr.contains(&format!(
                "{path}: cannot read the configuration ({how}): no such file"
            )),
            "{args:?} {env:?}: {stderr}"
        );
        // Nothing was asked of the built-in localhost sources.
        assert!(stdout.is_empty(), "{args:?} {env:?}: {stdout}");
        assert!(!stderr.contains("localhost"), "{args:?}: {stderr}");
    }
}

#[test]
fn the_demo_refuses_live_source_flags_as_a_usage_error() {
    for args in [
        &["demo", "--prometheus", "http://127.0.0.1:9"][..],
        &["--prometheus", "http://127.0.0.1:9", "demo"],
        &["--config", "/nonexistent/opsdeck.toml", "demo"],
        &["demo", "--alertmanager", "http://127.0.0.1:9"],
        &["status", "--demo", "--config", "/nonexistent/opsdeck.toml"],
        &["--config", "/nonexistent/opsdeck.toml", "man"],
    ] {
        let out = opsdeck(args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(
            stderr.contains("unexpected argument") || stderr.contains("do not apply"),
            "{args:?}: {stderr}"
        );
    }
}

#[test]
fn demo_help_lists_only_what_demo_accepts() {
    let out = opsdeck(&["demo", "--help"]);
    assert!(out.status.success());
    let help = String::from_utf8_lossy(&out.stdout);
    for flag in ["--config", "--prometheus", "--alertmanager"] {
        assert!(!help.contains(flag), "demo --help offers {flag}:\n{help}");
    }
    for flag in ["--seed", "--theme", "--keymap", "--kiosk", "--read-only"] {
        assert!(help.contains(flag), "demo --help lacks {flag}:\n{help}");
    }
    // Every flag it lists, it accepts.
    for line in help.lines() {
        let Some(flag) = line.trim_start().strip_prefix("--") else {
            continue;
        };
        let flag = format!("--{}", flag.split([' ', '<', ',']).next().unwrap());
        if matches!(flag.as_str(), "--help" | "--version") {
            continue;
        }
        let before: [&[&str]; 3] = [&[], &["--kiosk"], &["--environment", "p"]];
        let parsed = before.iter().any(|b| {
            [None, Some("x"), Some("7"), Some("20s"), Some("red")]
                .iter()
                .any(|value| {
                    let args = ["opsdeck", "demo"]
                        .into_iter()
                        .chain(b.iter().copied())
                        .chain([flag.as_str()])
                        .chain(*value);
                    Cli::try_parse_from(args).is_ok()
                })
        });
        assert!(parsed, "demo --help lists {flag}, which demo refuses");
    }
    // The dashboard, status and config check still take them.
    let top = String::from_utf8_lossy(&opsdeck(&["--help"]).stdout).to_string();
    let status = String::from_utf8_lossy(&opsdeck(&["status", "--help"]).stdout).to_string();
    for help in [top, status] {
        assert!(
            help.contains("--config") && help.contains("--prometheus"),
            "{help}"
        );
    }
}

#[test]
fn usage_errors_exit_2() {
    for args in [
        &["--nosuch"][..],
        &["demo", "--seed"],
        &["status", "--seed", "3"],
        &["completions", "nosuch"],
        &["config"],
        &["config", "nosuch"],
        &["--prometheus", "localhost:9090"],
        &["status", "--alertmanager", "ftp://127.0.0.1:9"],
        &["config", "check", "--prometheus", "not a url"],
        &["nosuch"],
    ] {
        let out = opsdeck(args);
        assert_eq!(
            out.status.code(),
            Some(2),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let out = opsdeck(&["status", "--prometheus", "ftp://user:secret@127.0.0.1:9"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("is not an http(s) URL"), "{stderr}");
    assert!(
        !stderr.contains("secret"),
        "the password is masked: {stderr}"
    );
}

/// The man page's sections, as roff writes their titles.
fn sections(page: &str) -> Vec<String> {
    page.lines()
        .filter_map(|l| l.strip_prefix(".SH "))
        .map(|s| s.trim_matches('"').to_string())
        .collect()
}

#[test]
fn the_man_page_has_keys_exit_status_environment_and_files_and_names_no_other_page() {
    let out = opsdeck(&["man"]);
    assert!(out.status.success());
    let page = String::from_utf8_lossy(&out.stdout);
    let found = sections(&page);
    for wanted in [
        "NAME",
        "SYNOPSIS",
        "OPTIONS",
        "COMMANDS",
        "KEYS",
        "EXIT STATUS",
        "ENVIRONMENT",
        "FILES",
        "SEE ALSO",
    ] {
        assert!(found.iter().any(|s| s == wanted), "no {wanted}: {found:?}");
    }
    // A page reference is NAME(SECTION); opsdeck has one page, its own.
    let reference = regex::Regex::new(r"([A-Za-z0-9_.\\-]+)\(([1-9])\)").unwrap();
    for m in reference.captures_iter(&page) {
        let name = m[1].replace("\\-", "-");
        assert_eq!(
            name, "opsdeck",
            "names a page that does not exist: {}",
            &m[0]
        );
    }
    let section = |title: &str| -> String {
        let start = page.find(&format!(".SH {title}")).unwrap();
        let rest = &page[start + 4..];
        rest[..rest.find(".SH ").unwrap_or(rest.len())].to_string()
    };
    let keys = section("KEYS");
    for (key, what) in [
        ("q, Ctrl\\-c", "quit"),
        ("R", "roll back the selected deployment"),
    ] {
        assert!(keys.contains(&format!("\\fB{key}\\fR\n{what}")), "{keys}");
    }
    let exit = section("\"EXIT STATUS\"");
    for code in ["0", "1", "2", "3", "101"] {
        assert!(exit.contains(&format!("\\fB{code}\\fR")), "{exit}");
    }
    assert!(exit.contains("usage error"), "{exit}");
    assert!(section("ENVIRONMENT").contains("OPSDECK_CONFIG"));
    assert!(section("FILES").contains("config.toml"));
    let commands = section("COMMANDS");
    for command in [
        "opsdeck demo",
        "opsdeck status",
        "opsdeck config init",
        "opsdeck config check",
    ] {
        assert!(
            commands.contains(&command.replace('-', "\\-")),
            "{command}: {commands}"
        );
    }
}

#[test]
fn status_prints_the_glance_in_80_columns_and_exits_2_on_a_breach() {
    let out = opsdeck(&["status", "--demo"]);
    assert_eq!(out.status.code(), Some(2), "the demo always has a breach");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.starts_with("opsdeck status: CRIT"), "{text}");
    let kpi_lines = text
        .lines()
        .filter(|l| {
            ["OK ", "WARN ", "CRIT ", "UNKNOWN "]
                .iter()
                .any(|s| l.starts_with(s))
        })
        .count();
    assert_eq!(kpi_lines, 13, "13 KPIs: {text}");
    assert!(
        text.lines().nth(1).unwrap().starts_with("because ") && text.contains("RPO breach"),
        "{text}"
    );
    assert!(text.lines().all(|l| l.chars().count() <= 80), "{text}");
    assert!(
        text.contains("RPO compliance") && text.contains("breach: auth-db"),
        "{text}"
    );
}

#[test]
fn status_json_follows_schema_2() {
    let out = opsdeck(&["status", "--demo", "--json"]);
    assert_eq!(out.status.code(), Some(2));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(doc["schema"], 2);
    assert_eq!(doc["exit_code"], 2);
    assert_eq!(doc["state"], "crit");
    let states = ["ok", "warn", "crit", "unknown"];
    let kpis = doc["kpis"].as_array().unwrap();
    let ids: Vec<&str> = kpis.iter().map(|k| k["id"].as_str().unwrap()).collect();
    assert_eq!(
        ids,
        [
            "availability",
            "error_budget",
            "burn_rate",
            "error_rate",
            "latency_p95",
            "latency_p99",
            "mttr",
            "mtbf",
            "rpo",
            "rto",
            "backup_success",
            "deploy_frequency",
            "change_failure_rate"
        ],
        "the documented ids, in order"
    );
    for k in kpis {
        assert!(k["name"].is_string() && k["reason"].is_string(), "{k}");
        assert!(states.contains(&k["state"].as_str().unwrap()), "{k}");
        assert!(
            ["ratio", "ms", "seconds", "factor", "per_day"].contains(&k["unit"].as_str().unwrap()),
            "{k}"
        );
        assert!(
            ["at_least", "below"].contains(&k["goal"].as_str().unwrap()),
            "{k}"
        );
        assert!(k["value"].is_number() || k["value"].is_null(), "{k}");
    }
    let services = doc["services"].as_array().unwrap();
    assert_eq!(services.len(), 13);
    for s in services {
        assert!(
            s["name"].is_string() && s["tier"].is_string() && s["objective"].is_number(),
            "{s}"
        );
        assert!(states.contains(&s["state"].as_str().unwrap()), "{s}");
        assert!(states.contains(&s["slo_state"].as_str().unwrap()), "{s}");
    }
    // Schema 2: the verdict's reasons, each tab's mark, and the rows it is
    // made of, each with its state.
    let reasons = doc["reasons"].as_array().unwrap();
    assert!(
        reasons
            .iter()
            .any(|r| r["state"] == "crit" && r["text"].is_string()),
        "a crit verdict says why: {reasons:?}"
    );
    for tab in ["kpis", "health", "deployments", "backups", "incidents"] {
        assert!(
            states.contains(&doc["tabs"][tab].as_str().unwrap()),
            "{tab}"
        );
    }
    for (list, key) in [
        ("hosts", "name"),
        ("incidents", "name"),
        ("backups", "target"),
        ("deployments", "service"),
    ] {
        let items = doc[list].as_array().unwrap();
        assert!(!items.is_empty(), "{list}");
        for i in items {
            assert!(i[key].is_string(), "{list}: {i}");
            assert!(
                states.contains(&i["state"].as_str().unwrap()),
                "{list}: {i}"
            );
        }
    }
    let order = ["ok", "unknown", "warn", "crit"];
    let worst = |list: &str| {
        doc[list]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| order.iter().position(|s| *s == i["state"]).unwrap())
            .max()
    };
    // The tab's mark is its worst row.
    assert_eq!(
        worst("backups").map(|i| order[i]),
        doc["tabs"]["backups"].as_str()
    );
    assert_eq!(doc["unreachable"].as_array().unwrap().len(), 0);
}

#[test]
fn status_exits_3_when_the_sources_cannot_be_read_and_says_which() {
    // Ports 1 and 2 on loopback: nothing listens there.
    let out = opsdeck(&[
        "status",
        "--json",
        "--prometheus",
        "http://127.0.0.1:1",
        "--alertmanager",
        "http://127.0.0.1:2",
    ]);
    assert_eq!(out.status.code(), Some(3));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(doc["state"], "unreachable");
    assert!(
        doc["kpis"]
            .as_array()
            .unwrap()
            .iter()
            .all(|k| k["state"] == "unknown" && k["value"].is_null())
    );
    let unreachable: Vec<&str> = doc["unreachable"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|v| v.as_str())
        .collect();
    assert_eq!(unreachable.len(), 2, "{unreachable:?}");
    assert!(
        unreachable.iter().all(|u| u.contains("Connection refused")),
        "{unreachable:?}"
    );
}

/// `status` fits the terminal it is told of (`COLUMNS`), cut at a word
/// with an ellipsis; `--seed` picks the demo's estate, and needs `--demo`.
#[test]
fn status_fits_columns_at_a_word_and_takes_a_seed() {
    let run = |args: &[&str], columns: &str| {
        Command::new(env!("CARGO_BIN_EXE_opsdeck"))
            .args(args)
            .env("COLUMNS", columns)
            .env_remove("OPSDECK_CONFIG")
            .output()
            .unwrap()
    };
    let out = run(&["status", "--demo", "--seed", "3"], "60");
    assert_eq!(out.status.code(), Some(2));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.lines().all(|l| l.chars().count() <= 60), "{text}");
    assert!(
        text.lines().any(|l| l.ends_with('…')),
        "something was cut: {text}"
    );
    for line in text.lines().filter(|l| l.ends_with('…')) {
        let before = line.trim_end_matches('…');
        assert!(
            !before.ends_with(' '),
            "cut at a word, not after a space: {line:?}"
        );
    }
    let wide = run(&["status", "--demo", "--seed", "3"], "200");
    assert!(
        String::from_utf8_lossy(&wide.stdout)
            .lines()
            .any(|l| l.chars().count() > 80)
    );
    let alone = run(&["status", "--seed", "3"], "80");
    assert_eq!(
        alone.status.code(),
        Some(2),
        "a usage error: --seed needs --demo"
    );
    assert!(String::from_utf8_lossy(&alone.stderr).contains("--demo"));
}
