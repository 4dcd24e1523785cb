//! The exec backend running a real program (`tests/actions/record.sh`, which
//! writes down how it was called): values arrive as single arguments and
//! are never interpreted, secrets reach the program but are shown masked,
//! unsafe values stop the run before anything starts, and a timeout or a
//! cancel stops the whole process group.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration as StdDuration, Instant};

use chrono::Duration;
use opsdeck::actions::MASK;
use opsdeck::actions::exec::ExecRunner;
use opsdeck::actions::{ActionOutcome, ActionRequest, ActionRunner, Backend, SecretStore};
use opsdeck::config::file::Secret;
use tokio::sync::{mpsc, oneshot};

const SECRET: &str = "s3cr3t-d3ploy-t0ken";

fn script() -> String {
    format!("{}/tests/actions/record.sh", env!("CARGO_MANIFEST_DIR"))
}

/// A fresh directory; the record file is `<dir>/record`.
fn temp_dir(name: &str) -> PathBuf {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let dir = std::env::temp_dir().join(format!(
        "opsdeck-exec-{name}-{}-{nanos}",
        std::process::id()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn runner() -> ExecRunner {
    ExecRunner::new(SecretStore::new(BTreeMap::from([(
        "deploy_token".to_string(),
        Secret::new(SECRET),
    )])))
}

fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn request(
    dir: &Path,
    argv: &[&str],
    env: &[(&str, &str)],
    params: &[(&str, &str)],
    timeout: Duration,
) -> ActionRequest {
    let mut env = map(env);
    env.insert(
        "RECORD_FILE".into(),
        dir.join("record").display().to_string(),
    );
    ActionRequest {
        action: "rollback".into(),
        target: "checkout".into(),
        environment: "production".into(),
        parameters: map(params),
        backend: Backend::Exec {
            argv: argv.iter().map(|a| a.to_string()).collect(),
            env,
            dir: None,
        },
        timeout,
    }
}

/// Runs `request` to the end; returns the outcome and every output line.
async fn run(request: ActionRequest) -> (ActionOutcome, Vec<String>) {
    let (tx, mut rx) = mpsc::unbounded_channel();
    let (_cancel, cancelled) = oneshot::channel();
    let outcome = runner().run(request, tx, cancelled).await;
    let mut lines = Vec::new();
    while let Ok(line) = rx.try_recv() {
        lines.push(line);
    }
    (outcome, lines)
}

/// The lines `record.sh` wrote, without its pid.
fn recorded(dir: &Path) -> Vec<String> {
    std::fs::read_to_string(dir.join("record"))
        .unwrap()
        .lines()
        .filter(|l| !l.starts_with("pid="))
        .map(str::to_string)
        .collect()
}

fn recorded_pid(dir: &Path, file: &str) -> u32 {
    let text = std::fs::read_to_string(dir.join(file)).unwrap();
    let line = text.lines().next().unwrap();
    line.trim_start_matches("pid=").trim().parse().unwrap()
}

/// Running, as opposed to gone or a zombie nobody has reaped yet.
fn alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => {
            let state = stat[stat.rfind(')').unwrap() + 1..]
                .split_whitespace()
                .next();
            !matches!(state, Some("Z" | "X"))
        }
        Err(_) => false,
    }
}

#[tokio::test]
async fn values_arrive_as_one_argument_each_and_nothing_is_interpreted() {
    let dir = temp_dir("inject");
    let pwned = dir.join("pwned");
    let hostile = format!(
        "check out 'it''s' \"q\" $(touch {}) `touch {}` ; rm -rf * && echo $HOME",
        pwned.display(),
        pwned.display()
    );
    let request = request(
        &dir,
        &[
            &script(),
            "-e",
            "application_name={service}",
            "{service}",
            "--limit={environment}",
        ],
        &[],
        &[("service", &hostile), ("environment", "production")],
        Duration::seconds(10),
    );
    let described = runner().describe(&request).unwrap();
    let (outcome, lines) = run(request).await;

    let expected = [
        "arg=-e".to_string(),
        format!("arg=application_name={hostile}"),
        format!("arg={hostile}"),
        "arg=--limit=production".to_string(),
    ];
    assert_eq!(recorded(&dir), expected);
    assert_eq!(
        outcome,
        ActionOutcome::Succeeded {
            detail: "exit 0".into()
        }
    );
    assert!(!pwned.exists(), "a value was interpreted by a shell");
    // stdout and stderr both reach the output, line by line.
    for line in [
        "out: started with 4 arguments",
        "err: a warning",
        "out: done",
    ] {
        assert!(lines.iter().any(|l| l == line), "{line} not in {lines:?}");
    }

    // The description is shell-quoted: a shell reads it back as the same
    // arguments, and still runs nothing.
    let shown_args = described[0].strip_prefix(&script()).unwrap();
    let echo = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!("printf 'arg=%s\\n'{shown_args}"))
        .output()
        .unwrap();
    let echoed: Vec<String> = String::from_utf8(echo.stdout)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect();
    assert_eq!(echoed, expected, "{}", described[0]);
    assert!(!pwned.exists());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn a_secret_reaches_the_program_in_its_environment_but_is_shown_masked() {
    let dir = temp_dir("secret");
    let request = request(
        &dir,
        &[&script(), "{service}"],
        &[("TOKEN", "{secret.deploy_token}"), ("RECORD_ENV", "TOKEN")],
        &[("service", "checkout")],
        Duration::seconds(10),
    );
    let described = runner().describe(&request).unwrap();
    let (outcome, lines) = run(request).await;

    assert_eq!(
        outcome,
        ActionOutcome::Succeeded {
            detail: "exit 0".into()
        }
    );
    assert_eq!(
        recorded(&dir),
        ["arg=checkout".to_string(), format!("env:TOKEN={SECRET}")]
    );
    assert!(
        described.contains(&format!("TOKEN={MASK}")),
        "{described:?}"
    );
    assert!(
        lines.contains(&format!("out: token is {MASK}")),
        "{lines:?}"
    );
    for shown in described.iter().chain(&lines) {
        assert!(!shown.contains(SECRET), "the secret shows in {shown:?}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn a_control_character_in_a_value_is_refused_before_anything_runs() {
    let dir = temp_dir("control");
    for value in ["a\u{1b}[2Jb", "a\nb", "a\rb", "a\0b", "a\u{9b}b"] {
        let request = request(
            &dir,
            &[&script(), "version={version}"],
            &[],
            &[("version", value)],
            Duration::seconds(10),
        );
        let refusal = "the value of version contains a control character";
        assert_eq!(runner().describe(&request).unwrap_err(), refusal);
        let (outcome, lines) = run(request).await;
        assert_eq!(
            outcome,
            ActionOutcome::Failed {
                detail: refusal.into()
            }
        );
        assert!(lines.is_empty());
        assert!(
            !dir.join("record").exists(),
            "the program ran with {value:?}"
        );
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn a_value_alone_in_an_argument_that_starts_with_a_dash_is_refused() {
    let dir = temp_dir("dash");
    let request = request(
        &dir,
        &[&script(), "{service}"],
        &[],
        &[("service", "--exec=rm")],
        Duration::seconds(10),
    );
    let refusal = "service makes the argument '--exec=rm', which would be read as an option";
    assert_eq!(runner().describe(&request).unwrap_err(), refusal);
    let (outcome, _) = run(request).await;
    assert_eq!(
        outcome,
        ActionOutcome::Failed {
            detail: refusal.into()
        }
    );
    assert!(!dir.join("record").exists());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn a_timeout_stops_the_whole_process_group() {
    let dir = temp_dir("timeout");
    let request = request(
        &dir,
        &[&script()],
        &[("RECORD_CHILD", "1"), ("RECORD_SLEEP", "30")],
        &[],
        Duration::milliseconds(1500),
    );
    let started = Instant::now();
    let (outcome, lines) = run(request).await;
    assert_eq!(outcome, ActionOutcome::TimedOut);
    assert!(
        started.elapsed() < StdDuration::from_secs(6),
        "{:?}",
        started.elapsed()
    );
    assert!(lines.contains(&"out: sleeping".to_string()), "{lines:?}");
    let script_pid = recorded_pid(&dir, "record");
    let child_pid = recorded_pid(&dir, "record.child");
    assert!(!alive(script_pid), "the program {script_pid} still runs");
    assert!(
        !alive(child_pid),
        "its background child {child_pid} still runs"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn cancel_stops_the_whole_process_group() {
    let dir = temp_dir("cancel");
    let request = request(
        &dir,
        &[&script()],
        &[("RECORD_CHILD", "1"), ("RECORD_SLEEP", "30")],
        &[],
        Duration::seconds(30),
    );
    let (tx, mut rx) = mpsc::unbounded_channel();
    let (cancel, cancelled) = oneshot::channel();
    let started = Instant::now();
    let running = tokio::spawn(async move { runner().run(request, tx, cancelled).await });
    while let Some(line) = rx.recv().await {
        if line == "out: sleeping" {
            break;
        }
    }
    cancel.send(()).unwrap();
    let outcome = running.await.unwrap();
    assert_eq!(outcome, ActionOutcome::Cancelled);
    assert!(
        started.elapsed() < StdDuration::from_secs(6),
        "{:?}",
        started.elapsed()
    );
    let script_pid = recorded_pid(&dir, "record");
    let child_pid = recorded_pid(&dir, "record.child");
    assert!(!alive(script_pid), "the program {script_pid} still runs");
    assert!(
        !alive(child_pid),
        "its background child {child_pid} still runs"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn a_missing_program_is_a_failure_that_says_so() {
    let dir = temp_dir("missing");
    let request = request(
        &dir,
        &["opsdeck-test-no-such-program", "{service}"],
        &[],
        &[("service", "checkout")],
        Duration::seconds(10),
    );
    let (outcome, _) = run(request).await;
    let ActionOutcome::Failed { detail } = outcome else {
        panic!("{outcome:?}");
    };
    assert!(
        detail.starts_with("cannot start opsdeck-test-no-such-program: No such file or directory"),
        "{detail}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn an_exit_code_or_a_signal_is_a_failure_that_names_it() {
    let dir = temp_dir("exit");
    let request3 = request(
        &dir,
        &[&script()],
        &[("RECORD_EXIT", "3")],
        &[],
        Duration::seconds(10),
    );
    let (outcome, lines) = run(request3).await;
    assert_eq!(
        outcome,
        ActionOutcome::Failed {
            detail: "exit 3".into()
        }
    );
    assert!(lines.contains(&"out: done".to_string()), "{lines:?}");

    let killed = request(
        &dir,
        &["sh", "-c", "kill -KILL $$"],
        &[],
        &[],
        Duration::seconds(10),
    );
    let (outcome, _) = run(killed).await;
    assert_eq!(
        outcome,
        ActionOutcome::Failed {
            detail: "killed by signal 9".into()
        }
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
