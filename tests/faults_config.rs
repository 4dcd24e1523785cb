//! Mistakes in files, through the binary: `opsdeck config check` on one
//! file per mistake must exit non-zero and name the file, the line and the
//! field. Each file is the same good file with one mistake in it, and the
//! good file itself checks clean (exit 0, "no problems") against the same
//! servers, so a non-zero exit can only come from the mistake.
//!
//! The sources are a real Prometheus and a real Alertmanager on loopback
//! (`tests/support`), named with `--prometheus` and `--alertmanager` so
//! that a file opsdeck cannot read at all (and so falls back to its
//! built-in `localhost` defaults) still talks only to them. A bad PromQL
//! query is found by that Prometheus, which parses every query `config
//! check` runs.

mod support;

use std::path::Path;
use std::process::{Command, Output};

use support::{Alertmanager, Prometheus, PrometheusConfig, TempDir};

/// The good file; `{prometheus}` and `{alertmanager}` are the servers'
/// URLs. Every mistake below changes or adds one line of it.
const GOOD: &str = r#"# opsdeck's configuration, for the fault tests
service_label = "service"
refresh = "1s"

[[prometheus]]
name = "main"
url = "{prometheus}"
timeout = "2s"

[[alertmanager]]
name = "am"
url = "{alertmanager}"

[objectives]
availability = 0.999

[queries]
saturation = "max by (service) (saturation_ratio)"

[[actions]]
name = "rollback"
applies_to = "deployment"
backend = "exec"
argv = ["/bin/true", "{service}"]
"#;

/// The servers every check talks to, and a private home for opsdeck.
struct Bench {
    prometheus: Prometheus,
    alertmanager: Alertmanager,
    home: TempDir,
}

impl Bench {
    fn start() -> Bench {
        Bench {
            prometheus: Prometheus::start(PrometheusConfig::default()),
            alertmanager: Alertmanager::start(),
            home: TempDir::new("faults-config"),
        }
    }

    /// The good file with `edit` applied, written as `name`.
    fn file(&self, name: &str, edit: impl Fn(String) -> String) -> String {
        let good = GOOD
            .replace("{prometheus}", &self.prometheus.url())
            .replace("{alertmanager}", &self.alertmanager.url());
        let text = edit(good.clone());
        assert!(
            name == "good.toml" || text != good,
            "{name}: the edit changed nothing"
        );
        self.home.write(name, &text).display().to_string()
    }

    /// `opsdeck config check --config FILE` with the servers named on the
    /// command line and `extra` arguments, in the private home.
    fn check(&self, file: &str, extra: &[&str]) -> Output {
        let home = self.home.path();
        Command::new(env!("CARGO_BIN_EXE_opsdeck"))
            .args(["config", "check", "--config", file])
            .args(["--prometheus", &self.prometheus.url()])
            .args(["--alertmanager", &self.alertmanager.url()])
            .args(extra)
            .env("HOME", home)
            .env("XDG_CONFIG_HOME", home.join("config"))
            .env("XDG_STATE_HOME", home.join("state"))
            .env("XDG_DATA_HOME", home.join("data"))
            .env_remove("OPSDECK_CONFIG")
            .output()
            .expect("running opsdeck config check")
    }
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// The line of the report that names `file` and `line`, which must also
/// name every one of `words`; a description of what is missing otherwise.
fn reported(report: &str, file: &str, line: usize, words: &[&str]) -> Result<(), String> {
    let at = format!("line {line}");
    let found = report.lines().find(|l| {
        l.contains(file) && (l.contains(&format!("{at}:")) || l.contains(&format!("{at},")))
    });
    match found {
        None => Err(format!("no line naming {file} and {at}")),
        Some(l) => {
            let missing: Vec<&&str> = words.iter().filter(|w| !l.contains(*w)).collect();
            if missing.is_empty() {
                Ok(())
            } else {
                Err(format!("{l:?} does not name {missing:?}"))
            }
        }
    }
}

/// One mistake: its name, the edit that makes it, the line it is on, and
/// the words (the field first) its message must hold.
struct Mistake {
    name: &'static str,
    edit: fn(String) -> String,
    line: usize,
    words: &'static [&'static str],
}

/// Adds `extra` after line `after` (1-based) of the file.
fn insert_after(text: &str, after: usize, extra: &str) -> String {
    let mut lines: Vec<&str> = text.lines().collect();
    lines.insert(after, extra);
    lines.join("\n") + "\n"
}

const MISTAKES: &[Mistake] = &[
    Mistake {
        name: "bad TOML",
        edit: |t| t.replace("refresh = \"1s\"", "refresh = \"1s"),
        line: 3,
        words: &["refresh"],
    },
    Mistake {
        name: "an unknown key",
        edit: |t| t.replace("timeout = \"2s\"", "timeout = \"2s\"\ncolour = \"red\""),
        line: 9,
        words: &["colour"],
    },
    Mistake {
        name: "a wrong type",
        edit: |t| t.replace("timeout = \"2s\"", "timeout = 2"),
        line: 8,
        words: &["timeout", "expected a string"],
    },
    Mistake {
        name: "a bad URL",
        edit: |t| {
            insert_after(
                &t,
                12,
                "\n[[scrape]]\nname = \"db\"\nurl = \"http//db-01:9100/metrics\"",
            )
        },
        line: 16,
        words: &["scrape[0].url", "is not a URL"],
    },
    Mistake {
        name: "a bad duration",
        edit: |t| t.replace("refresh = \"1s\"", "refresh = \"soon\""),
        line: 3,
        words: &["refresh", "bad duration 'soon'"],
    },
    Mistake {
        name: "a missing secret file",
        edit: |t| t + "\n[secrets]\ntoken = { file = \"/nonexistent/opsdeck-test/token\" }\n",
        line: 27,
        words: &["secrets.token", "/nonexistent/opsdeck-test/token"],
    },
    Mistake {
        name: "two actions of the same name",
        edit: |t| {
            t + "\n[[actions]]\nname = \"rollback\"\napplies_to = \"deployment\"\nbackend = \"exec\"\nargv = [\"/bin/false\"]\n"
        },
        line: 26,
        words: &["actions.rollback", "declared twice"],
    },
    Mistake {
        name: "bad PromQL in [queries]",
        edit: |t| {
            t.replace(
                "saturation = \"max by (service) (saturation_ratio)\"",
                "saturation = \"max by (service) (saturation_ratio\"",
            )
        },
        line: 18,
        words: &["queries.saturation", "parse error"],
    },
];

#[test]
fn the_good_file_checks_clean_against_the_same_servers() {
    let bench = Bench::start();
    let good = bench.file("good.toml", |t| t);
    let out = bench.check(&good, &[]);
    let report = text(&out);
    assert_eq!(out.status.code(), Some(0), "{report}");
    assert!(report.contains("no problems"), "{report}");
}

#[test]
fn each_mistake_exits_non_zero_naming_the_file_the_line_and_the_field() {
    let bench = Bench::start();
    // Every mistake is checked and every miss collected, so one run shows
    // all of them.
    let mut misses = Vec::new();
    for (i, mistake) in MISTAKES.iter().enumerate() {
        let file = bench.file(&format!("mistake-{i}.toml"), mistake.edit);
        let out = bench.check(&file, &[]);
        let report = text(&out);
        eprintln!("[config] {}:\n{report}", mistake.name);
        if out.status.success() {
            misses.push(format!("{}: exit 0\n{report}", mistake.name));
        }
        if let Err(why) = reported(&report, &file, mistake.line, mistake.words) {
            misses.push(format!("{}: {why}\n{report}", mistake.name));
        }
    }
    assert!(misses.is_empty(), "{}", misses.join("\n\n"));
}

#[test]
fn a_keymap_binding_an_unknown_command_fails_the_check_with_its_file_line_and_command() {
    let bench = Bench::start();
    let good = bench.file("good.toml", |t| t);
    let keymaps = bench.home.join("config/opsdeck/keymaps");
    std::fs::create_dir_all(&keymaps).unwrap();
    let keymap = keymaps.join("mine.toml");
    std::fs::write(
        &keymap,
        "extends = \"default\"\n\n[bindings]\nfrobnicate = [\"F\"]\n",
    )
    .unwrap();
    // The dashboard itself reports it (README, "Themes and keymaps"); the
    // check of the configuration must not pass a keymap the dashboard
    // would refuse.
    let out = bench.check(&good, &["--keymap", "mine"]);
    let report = text(&out);
    let file = keymap.display().to_string();
    assert!(
        !out.status.success(),
        "`config check --keymap mine` passes a keymap binding an unknown command:\n{report}"
    );
    if let Err(why) = reported(&report, &file, 4, &["frobnicate"]) {
        panic!("{why}\n{report}");
    }
    assert!(Path::new(&file).exists());
}

/// A fixture of `tests/fixtures/config/` with several mistakes, and for
/// each the line it is on and the words (the field first) its report holds.
struct Fixture {
    file: &'static str,
    mistakes: &'static [(usize, &'static [&'static str])],
}

const FIXTURES: &[Fixture] = &[
    Fixture {
        file: "types.toml",
        mistakes: &[
            (2, &["in refresh", "expected a string"]),
            (8, &["in prometheus[0].timeout", "expected a string"]),
            (11, &["in objectives.availability", "expected f64"]),
            (12, &["objectives.error_ratio", "1.5 is not a ratio"]),
            (15, &["thresholds.disk", "90 is not a ratio"]),
            (18, &["in limits.max_series", "\"many\""]),
            (21, &["queries.saturaton", "no query of that name"]),
            (
                27,
                &["actions[0].argv[1]", "{servce}", "did you mean {service}"],
            ),
        ],
    },
    Fixture {
        file: "actions.toml",
        mistakes: &[
            (
                6,
                &["actions[0].name", "\"rolback\"", "did you mean rollback"],
            ),
            (
                15,
                &["actions[1].argv[2]", "{service}", "a backup has {target}"],
            ),
            (
                16,
                &["actions[1].env.TARGET", "{targte}", "did you mean {target}"],
            ),
            (19, &["actions[2].name", "\"restart\""]),
            (22, &["actions[2].url", "{verison}"]),
            (23, &["actions[2].body.by", "{usr}", "did you mean {user}"]),
            (29, &["actions[3].argv[1]", "'{' is not closed"]),
        ],
    },
    Fixture {
        file: "tables.toml",
        mistakes: &[
            (2, &["in colour", "unknown field"]),
            (4, &["in alertmanager[0]", "missing field `url`"]),
            (9, &["scrape[0].url", "is not a URL"]),
            (12, &["in environment.name", "expected a string"]),
            (15, &["objectives.availability", "99.9 is not a ratio"]),
            (16, &["in objectives.change_failure_rate", "expected f64"]),
            (20, &["in services.checkout.tier", "platinum"]),
        ],
    },
];

/// Each fixture holds several mistakes of different kinds, type errors
/// among them; one `config check` reports every one with its file, line
/// and field, and nothing else about the file. Nothing listens on the
/// servers named, so only the file's own problems name it.
#[test]
fn every_mistake_of_a_file_is_reported_in_one_run_with_its_file_line_and_field() {
    let home = TempDir::new("faults-config-fixtures");
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/config");
    let mut misses = Vec::new();
    for fixture in FIXTURES {
        let file = dir.join(fixture.file).display().to_string();
        let out = Command::new(env!("CARGO_BIN_EXE_opsdeck"))
            .args(["config", "check", "--config", &file])
            .args(["--prometheus", "http://127.0.0.1:9"])
            .args(["--alertmanager", "http://127.0.0.1:1"])
            .env("HOME", home.path())
            .env("XDG_CONFIG_HOME", home.join("config"))
            .env_remove("OPSDECK_CONFIG")
            .output()
            .expect("running opsdeck config check");
        let report = text(&out);
        if out.status.code() != Some(1) {
            misses.push(format!("{}: exit {:?}", fixture.file, out.status.code()));
        }
        for (line, words) in fixture.mistakes {
            if let Err(why) = reported(&report, &file, *line, words) {
                misses.push(format!("{}: {why}", fixture.file));
            }
        }
        let about_file = report.lines().filter(|l| l.contains(&file)).count();
        // The header line names the file too.
        if about_file != fixture.mistakes.len() + 1 {
            misses.push(format!(
                "{}: {} lines name the file, for {} mistakes",
                fixture.file,
                about_file - 1,
                fixture.mistakes.len()
            ));
        }
        if !misses.is_empty() {
            misses.push(report);
        }
    }
    assert!(misses.is_empty(), "{}", misses.join("\n"));
}
