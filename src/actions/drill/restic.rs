//! restic's drill: the newest snapshot restored with `--verify` (restic
//! re-reads every restored file and checks it against the snapshot), then
//! every entry and byte under the scratch directory counted against what
//! `restic stats --mode=restore-size` says the snapshot restores.

use std::ffi::OsString;
use std::path::Path;
use std::time::Instant;

use serde::Deserialize;

use super::scratch::Scratch;
use super::{Drill, Stop, amount, arg, compare, json, seconds, shown, tool};
use crate::config::backups::ToolTarget;
use crate::sources::tools::run::Output;

const ENTRIES: &str = "files and directories";

/// restic on the target's repository with `rest`, without its local
/// cache: a drill measures a restore as on a machine that has none.
fn restic(target: &ToolTarget, rest: impl IntoIterator<Item = OsString>) -> Vec<OsString> {
    let repository = target.repository.as_deref().unwrap_or_default();
    [arg(format!("--repo={repository}")), arg("--no-cache")]
        .into_iter()
        .chain(rest)
        .collect()
}

fn snapshots(target: &ToolTarget) -> Vec<OsString> {
    restic(target, [arg("--json"), arg("snapshots"), arg("latest")])
}

fn restore(target: &ToolTarget, snapshot: &str, dir: &Path) -> Vec<OsString> {
    restic(
        target,
        [
            arg("restore"),
            arg(snapshot),
            arg("--target"),
            arg(dir),
            arg("--verify"),
        ],
    )
}

fn stats(target: &ToolTarget, snapshot: &str) -> Vec<OsString> {
    restic(
        target,
        [
            arg("--json"),
            arg("stats"),
            arg(snapshot),
            arg("--mode=restore-size"),
        ],
    )
}

/// restic's words on a failed restore: the first file it could not
/// restore (its reason: "ciphertext verification failed") and its verdict.
fn restore_words(out: &Output) -> String {
    let lines: Vec<&str> = out.stderr.lines().map(str::trim).collect();
    let first = lines.iter().find(|l| l.starts_with("ignoring error for "));
    let last = lines.iter().rev().find(|l| !l.is_empty());
    match (first, last) {
        (Some(first), Some(last)) if first != last => format!("{first} … {last}"),
        _ => out.words(),
    }
}

pub(super) fn plan(target: &ToolTarget, scratch: &Path) -> Vec<String> {
    let snapshot = "<snapshot>";
    vec![
        format!(
            "restores the newest restic snapshot of {} into {} (mode 0700):",
            target.repository.as_deref().unwrap_or_default(),
            scratch.display()
        ),
        shown(&tool(target, snapshots(target))),
        shown(&tool(target, restore(target, snapshot, scratch))),
        shown(&tool(target, stats(target, snapshot))),
        format!(
            "verifies: --verify re-reads every restored file against the snapshot; the {ENTRIES} and bytes restored must equal stats' restore size"
        ),
    ]
}

#[derive(Deserialize)]
struct Snapshot {
    id: String,
    short_id: Option<String>,
    time: String,
}

#[derive(Deserialize)]
struct Stats {
    total_size: u64,
    total_file_count: u64,
}

/// The newest snapshot: its id and short id.
async fn newest(d: &mut Drill<'_>) -> Result<(String, String), Stop> {
    let target = d.target;
    let listed = d
        .run("restic snapshots", tool(target, snapshots(target)))
        .await?;
    let newest = json::<Vec<Snapshot>>("restic snapshots", &listed.stdout)?
        .into_iter()
        .max_by(|a, b| a.time.cmp(&b.time))
        .ok_or_else(|| {
            Stop::Failed(format!(
                "restic has no snapshot in {}",
                target.repository.as_deref().unwrap_or_default()
            ))
        })?;
    let short = newest
        .short_id
        .unwrap_or_else(|| newest.id.chars().take(8).collect());
    Ok((newest.id, short))
}

pub(super) async fn drill(d: &mut Drill<'_>, scratch: &Scratch) -> Result<String, Stop> {
    let target = d.target;
    let (id, short) = newest(d).await?;
    let dir = scratch.path();
    d.say(format!(
        "restoring restic snapshot {short} of {} into {}",
        target.repository.as_deref().unwrap_or_default(),
        dir.display()
    ));
    let began = Instant::now();
    let restored = d
        .try_run("restic restore", tool(target, restore(target, &id, dir)))
        .await?;
    if !restored.success() {
        let words = restore_words(&restored);
        return Err(Stop::Failed(format!("restic restore failed: {words}")));
    }
    let tree = d.walk(dir).await?;
    let what = amount(tree.entries, ENTRIES, tree.bytes);
    d.say(format!("restored {what} in {}", seconds(began.elapsed())));
    if let Some(line) = String::from_utf8_lossy(&restored.stdout)
        .lines()
        .find(|l| l.starts_with("finished verifying"))
    {
        d.say(format!("restic --verify: {}", line.trim()));
    }
    let counted = d
        .run("restic stats", tool(target, stats(target, &id)))
        .await?;
    let stats = json::<Stats>("restic stats", &counted.stdout)?;
    d.say(compare(
        ENTRIES,
        (tree.entries, tree.bytes),
        (stats.total_file_count, stats.total_size),
        "the snapshot",
    )?);
    Ok(format!("restic snapshot {short}, {what}"))
}
