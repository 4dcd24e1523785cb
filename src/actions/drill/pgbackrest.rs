//! pgBackRest's drill: the newest backup set restored into the scratch
//! directory (pgBackRest checks every file it restores against the
//! checksum in the backup's manifest), recovered to its consistent point
//! and promoted by a PostgreSQL of its own, which must then answer the
//! target's check query with at least one row.
//!
//! The restore never writes outside the scratch directory: tablespaces are
//! mapped into it, links restored as directories, archiving switched off
//! both in the restored configuration and on the command line, so the
//! promoted copy cannot push WAL into the repository.

use std::ffi::OsString;
use std::path::Path;
use std::time::Instant;

use serde::Deserialize;

use super::scratch::Scratch;
use super::{Drill, Stop, amount, arg, json, postgres, seconds, shown, tool};
use crate::config::backups::ToolTarget;
use crate::sources::tools::run::switch_to;

fn stanza(target: &ToolTarget) -> &str {
    target.stanza.as_deref().unwrap_or_default()
}

fn common(target: &ToolTarget) -> Vec<OsString> {
    let mut args = Vec::new();
    if let Some(config) = &target.config {
        args.push(arg(format!("--config={}", config.display())));
    }
    args.push(arg(format!("--stanza={}", stanza(target))));
    // Its errors alone on standard error: they are what a failure says.
    args.extend([
        arg("--log-level-console=off"),
        arg("--log-level-stderr=error"),
    ]);
    args
}

fn info(target: &ToolTarget) -> Vec<OsString> {
    let mut args = common(target);
    args.extend([arg("--output=json"), arg("info")]);
    args
}

fn restore(target: &ToolTarget, set: &str, scratch: &Path) -> Vec<OsString> {
    let mut args = common(target);
    args.extend([
        arg(format!("--set={set}")),
        arg(format!("--pg1-path={}", scratch.join("data").display())),
        arg(format!(
            "--tablespace-map-all={}",
            scratch.join("tablespaces").display()
        )),
        arg("--type=immediate"),
        arg("--target-action=promote"),
        arg("--archive-mode=off"),
        arg("restore"),
    ]);
    args
}

/// PostgreSQL refuses to run as root: a drill run by root names the user.
fn runs_as(target: &ToolTarget) -> Result<(), String> {
    switch_to(target.user.as_deref()).map_err(|e| e.to_string())?;
    if target.user.is_none() && rustix::process::geteuid().is_root() {
        return Err(
            "PostgreSQL refuses to run as root: give the target its user (user = \"postgres\")"
                .into(),
        );
    }
    Ok(())
}

pub(super) fn plan(target: &ToolTarget, scratch: &Path) -> Result<Vec<String>, String> {
    runs_as(target)?;
    let data = scratch.join("data");
    let mut lines = vec![
        format!(
            "restores the newest pgBackRest backup of stanza {} into {} (mode 0700):",
            stanza(target),
            data.display()
        ),
        shown(&tool(target, info(target))),
        shown(&tool(target, restore(target, "<backup>", scratch))),
        "pgBackRest checks every file it restores against the checksum in the backup's manifest"
            .into(),
    ];
    lines.extend(postgres::plan(target, scratch, &data));
    Ok(lines)
}

#[derive(Deserialize)]
struct StanzaInfo {
    status: Status,
    #[serde(default)]
    backup: Vec<Backup>,
}

#[derive(Deserialize)]
struct Status {
    code: i64,
    message: String,
}

#[derive(Deserialize)]
struct Backup {
    label: String,
    timestamp: Timestamp,
    /// pgBackRest found page checksum errors in it.
    #[serde(default)]
    error: Option<bool>,
}

#[derive(Deserialize)]
struct Timestamp {
    stop: i64,
}

/// The label of the newest backup set `pgbackrest info` lists without
/// errors (the row's last success).
fn newest(target: &ToolTarget, stdout: &[u8]) -> Result<String, Stop> {
    let stanzas: Vec<StanzaInfo> = json("pgbackrest info", stdout)?;
    let info = stanzas
        .into_iter()
        .next()
        .ok_or_else(|| Stop::Failed(format!("pgbackrest has no stanza {}", stanza(target))))?;
    if info.status.code != 0 {
        return Err(Stop::Failed(format!(
            "pgbackrest info: stanza {}: {}",
            stanza(target),
            info.status.message
        )));
    }
    info.backup
        .into_iter()
        .filter(|b| b.error != Some(true))
        .max_by_key(|b| b.timestamp.stop)
        .map(|b| b.label)
        .ok_or_else(|| {
            Stop::Failed(format!(
                "stanza {} has no backup without errors",
                stanza(target)
            ))
        })
}

pub(super) async fn drill(d: &mut Drill<'_>, scratch: &mut Scratch) -> Result<String, Stop> {
    let target = d.target;
    runs_as(target).map_err(Stop::Failed)?;
    let listed = d.run("pgbackrest info", tool(target, info(target))).await?;
    let set = newest(target, &listed.stdout)?;
    let data = scratch.path().join("data");
    d.say(format!(
        "restoring pgBackRest backup {set} of stanza {} into {}",
        stanza(target),
        data.display()
    ));
    let began = Instant::now();
    d.run(
        "pgbackrest restore",
        tool(target, restore(target, &set, scratch.path())),
    )
    .await?;
    let tree = d.walk(&data).await?;
    let restored = amount(tree.files, "files", tree.bytes);
    d.say(format!(
        "restored {restored} in {}; pgBackRest checked each file's checksum against the manifest",
        seconds(began.elapsed())
    ));
    let cluster = postgres::start(d, scratch, &data).await?;
    let rows = cluster.check(d, &target.drill.check_query).await?;
    Ok(format!(
        "pgBackRest backup {set}, {restored}; the check query answered {}",
        postgres::rows(rows)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_newest_backup_without_errors_is_restored() {
        let mut target = crate::config::backups::ToolTarget {
            stanza: Some("main".into()),
            ..super::super::tests::target("db", crate::config::backups::Tool::PgBackRest)
        };
        target.user = None;
        let info = br#"[{"name":"main","status":{"code":0,"message":"ok"},"backup":[
            {"label":"20261207-100000F","timestamp":{"start":1,"stop":10},"error":false},
            {"label":"20261207-110000F","timestamp":{"start":11,"stop":20}},
            {"label":"20261207-120000F","timestamp":{"start":21,"stop":30},"error":true}]}]"#;
        assert_eq!(newest(&target, info), Ok("20261207-110000F".into()));
        let missing =
            br#"[{"name":"main","status":{"code":1,"message":"missing stanza path"},"backup":[]}]"#;
        assert_eq!(
            newest(&target, missing),
            Err(Stop::Failed(
                "pgbackrest info: stanza main: missing stanza path".into()
            ))
        );
    }
}
