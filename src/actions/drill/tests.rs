use std::collections::BTreeMap;

use super::*;
use crate::actions::Backend;
use crate::config::file::Secret;

pub(super) fn target(name: &str, tool: Tool) -> ToolTarget {
    in_scratch(name, tool, Path::new("/var/tmp"))
}

fn in_scratch(name: &str, tool: Tool, scratch: &Path) -> ToolTarget {
    ToolTarget {
        target: name.into(),
        tool,
        program: tool.program().into(),
        repository: Some("/srv/backups/files repo".into()),
        stanza: Some("main".into()),
        config: None,
        password: Some(Secret::new("hunter2")),
        tier: Default::default(),
        service: None,
        user: None,
        every: Duration::from_secs(300),
        verify_every: Duration::from_secs(86_400),
        timeout: Duration::from_secs(60),
        check_timeout: Duration::from_secs(60),
        max_output: 1 << 20,
        drill: crate::config::backups::DrillSpec {
            scratch: scratch.into(),
            ..Default::default()
        },
    }
}

fn request(name: &str) -> ActionRequest {
    ActionRequest {
        action: "dr_drill".into(),
        target: name.into(),
        environment: String::new(),
        parameters: BTreeMap::from([("target".to_string(), name.to_string())]),
        backend: Backend::Drill,
        timeout: chrono::Duration::minutes(5),
    }
}

#[test]
fn a_walk_counts_entries_and_each_inode_once() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    std::fs::create_dir(root.join("sub")).unwrap();
    std::fs::write(root.join("a"), vec![0u8; 5000]).unwrap();
    std::fs::write(root.join("sub/b"), b"hi\n").unwrap();
    std::fs::hard_link(root.join("a"), root.join("sub/a-again")).unwrap();
    std::os::unix::fs::symlink("a", root.join("link")).unwrap();
    let tree = walk(root).unwrap();
    assert_eq!(
        tree,
        Tree {
            entries: 5,
            files: 2,
            bytes: 5003
        }
    );
}

#[test]
fn what_was_restored_must_equal_what_the_tool_says() {
    assert_eq!(
        compare("files", (2, 5003), (2, 5003), "the archive"),
        Ok("verified: 2 files, 5,003 bytes match the archive".into())
    );
    assert_eq!(
        compare("files", (2, 4003), (3, 5003), "the archive"),
        Err(Stop::Failed(
            "verification failed: restored 2 files, 4,003 bytes; the archive holds 3 files, 5,003 bytes"
                .into()
        ))
    );
}

#[test]
fn a_drill_is_described_command_by_command_without_its_password() {
    let runner = DrillRunner {
        targets: vec![target("files", Tool::Restic)],
    };
    let lines = runner.describe(&request("files")).unwrap();
    let text = lines.join("\n");
    assert!(!text.contains("hunter2"), "{text}");
    assert!(
        lines.contains(
            &"restic '--repo=/srv/backups/files repo' --no-cache restore <snapshot> --target /var/tmp/opsdeck-drill-files-XXXXXX --verify"
                .to_string()
        ),
        "{text}"
    );
    assert!(text.contains("the password in RESTIC_PASSWORD"), "{text}");
    assert!(
        text.contains("removes /var/tmp/opsdeck-drill-files-XXXXXX"),
        "{text}"
    );
    assert!(text.contains("stopped after 5m"), "{text}");
    let borg = DrillRunner {
        targets: vec![target("files", Tool::Borg)],
    };
    let text = borg.describe(&request("files")).unwrap().join("\n");
    assert!(
        text.contains(
            "borg extract -- '/srv/backups/files repo::<archive>'   (in the scratch directory)"
        ),
        "{text}"
    );
    assert_eq!(
        runner.describe(&request("other")),
        Err("no [[backups]] target 'other' read from a backup tool".into())
    );
}

#[test]
fn a_pgbackrest_drill_says_its_port_socket_and_query() {
    let mut db = target("db", Tool::PgBackRest);
    db.user = Some("postgres".into());
    db.drill.check_query = "select count(*) from orders".into();
    let runner = DrillRunner { targets: vec![db] };
    let lines = runner.describe(&request("db"));
    // Not switching users needs opsdeck to run as postgres or root.
    let me = rustix::process::geteuid().as_raw();
    if me != 0 && crate::sources::tools::run::User::named("postgres").is_none_or(|u| u.uid != me) {
        assert!(lines.is_err());
        return;
    }
    let text = lines.unwrap().join("\n");
    assert!(
        text.contains("--set=<backup> --pg1-path=/var/tmp/opsdeck-drill-db-XXXXXX/data"),
        "{text}"
    );
    assert!(
        text.contains("--archive-mode=off restore   (as postgres)"),
        "{text}"
    );
    assert!(text.contains("free port on 127.0.0.1"), "{text}");
    assert!(
        text.contains("-c port=<port> -c listen_addresses=127.0.0.1"),
        "{text}"
    );
    assert!(text.contains("select count(*) from orders"), "{text}");
    assert!(text.contains("PGBACKREST_REPO1_CIPHER_PASS"), "{text}");
}

#[test]
fn a_pgbackrest_drill_as_root_needs_a_user() {
    let runner = DrillRunner {
        targets: vec![target("db", Tool::PgBackRest)],
    };
    let described = runner.describe(&request("db"));
    if rustix::process::geteuid().is_root() {
        assert_eq!(
            described,
            Err(
                "PostgreSQL refuses to run as root: give the target its user (user = \"postgres\")"
                    .into()
            )
        );
    } else {
        assert!(described.is_ok());
    }
}

#[tokio::test]
async fn a_missing_tool_fails_the_drill_and_leaves_no_scratch() {
    let parent = tempfile::tempdir().unwrap();
    let mut files = in_scratch("files", Tool::Restic, parent.path());
    files.program = "/nonexistent/restic".into();
    let runner = DrillRunner {
        targets: vec![files],
    };
    let (tx, mut rx) = mpsc::unbounded_channel();
    let (_cancel, cancel) = oneshot::channel();
    let outcome = runner.run(request("files"), tx, cancel).await;
    assert_eq!(
        outcome,
        ActionOutcome::Failed {
            detail: "restic snapshots: /nonexistent/restic is not installed (not found)".into()
        }
    );
    assert_eq!(
        rx.recv().await.as_deref(),
        Some("removed the scratch directory")
    );
    assert_eq!(std::fs::read_dir(parent.path()).unwrap().count(), 0);
}

#[tokio::test]
async fn a_drill_cancelled_before_it_starts_is_cancelled_and_leaves_no_scratch() {
    let parent = tempfile::tempdir().unwrap();
    let mut files = in_scratch("files", Tool::Restic, parent.path());
    files.program = "/bin/sleep".into();
    let runner = DrillRunner {
        targets: vec![files],
    };
    let (tx, _rx) = mpsc::unbounded_channel();
    let (cancel_tx, cancel) = oneshot::channel();
    cancel_tx.send(()).unwrap();
    let outcome = runner.run(request("files"), tx, cancel).await;
    assert_eq!(outcome, ActionOutcome::Cancelled);
    assert_eq!(std::fs::read_dir(parent.path()).unwrap().count(), 0);
}

#[tokio::test]
async fn a_drill_past_its_timeout_timed_out_and_leaves_no_scratch() {
    let parent = tempfile::tempdir().unwrap();
    let script = parent.path().join("slow-restic");
    std::fs::write(&script, "#!/bin/sh\nsleep 30\n").unwrap();
    std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let scratch = parent.path().join("scratch");
    std::fs::create_dir(&scratch).unwrap();
    let mut files = in_scratch("files", Tool::Restic, &scratch);
    files.program = script;
    files.drill.timeout = Duration::from_millis(300);
    let runner = DrillRunner {
        targets: vec![files],
    };
    let (tx, _rx) = mpsc::unbounded_channel();
    let (_cancel, cancel) = oneshot::channel();
    let began = Instant::now();
    let outcome = runner.run(request("files"), tx, cancel).await;
    assert_eq!(outcome, ActionOutcome::TimedOut);
    assert!(began.elapsed() < Duration::from_secs(10));
    assert_eq!(std::fs::read_dir(&scratch).unwrap().count(), 0);
}
