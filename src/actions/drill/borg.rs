//! Borg's drill: the newest archive extracted into the scratch directory
//! (borg checks every chunk it reads against its id hash, and its MAC when
//! the repository is encrypted: a damaged chunk fails the extract), then
//! the regular files and their bytes under it counted against what
//! `borg info --json` says the archive holds (`nfiles`, `original_size`).

use std::ffi::OsString;
use std::path::Path;
use std::time::Instant;

use serde::Deserialize;

use super::scratch::Scratch;
use super::{Drill, Stop, amount, arg, compare, json, seconds, shown, tool};
use crate::config::backups::ToolTarget;
use crate::sources::tools::run::{Invocation, Output};

fn repository(target: &ToolTarget) -> &str {
    target.repository.as_deref().unwrap_or_default()
}

fn list(target: &ToolTarget) -> Vec<OsString> {
    vec![
        arg("list"),
        arg("--json"),
        arg("--last"),
        arg("1"),
        arg("--"),
        arg(repository(target)),
    ]
}

fn archive(target: &ToolTarget, name: &str) -> OsString {
    arg(format!("{}::{name}", repository(target)))
}

fn extract(target: &ToolTarget, name: &str) -> Vec<OsString> {
    vec![arg("extract"), arg("--"), archive(target, name)]
}

fn info(target: &ToolTarget, name: &str) -> Vec<OsString> {
    vec![arg("info"), arg("--json"), arg("--"), archive(target, name)]
}

pub(super) fn plan(target: &ToolTarget, scratch: &Path) -> Vec<String> {
    let name = "<archive>";
    vec![
        format!(
            "extracts the newest borg archive of {} into {} (mode 0700):",
            repository(target),
            scratch.display()
        ),
        shown(&tool(target, list(target))),
        format!(
            "{}   (in the scratch directory)",
            shown(&tool(target, extract(target, name)))
        ),
        shown(&tool(target, info(target, name))),
        "verifies: borg checks every chunk it extracts against its id (and MAC); the files and bytes extracted must equal info's nfiles and original_size".into(),
    ]
}

#[derive(Deserialize)]
struct Listed {
    archives: Vec<Archive>,
}

#[derive(Deserialize)]
struct Archive {
    name: String,
    #[serde(default)]
    stats: Option<ArchiveStats>,
}

#[derive(Deserialize)]
struct ArchiveStats {
    nfiles: u64,
    original_size: u64,
}

/// Runs borg: a failure said in its words, the line before its traceback
/// when it printed one ("Data integrity error: Segment entry checksum
/// mismatch …").
async fn borg(d: &mut Drill<'_>, what: &str, run: Invocation) -> Result<Output, Stop> {
    let out = d.try_run(what, run).await?;
    if out.success() {
        return Ok(out);
    }
    let words = match out.stderr.split_once("Traceback (most recent call last):") {
        Some((before, _)) => before
            .lines()
            .map(str::trim)
            .rfind(|l| !l.is_empty())
            .map_or_else(|| out.words(), str::to_string),
        None => out.words(),
    };
    Err(Stop::Failed(format!("{what} failed: {words}")))
}

pub(super) async fn drill(d: &mut Drill<'_>, scratch: &Scratch) -> Result<String, Stop> {
    let target = d.target;
    let listed = borg(d, "borg list", tool(target, list(target))).await?;
    let name = json::<Listed>("borg list", &listed.stdout)?
        .archives
        .pop()
        .map(|a| a.name)
        .ok_or_else(|| Stop::Failed(format!("borg has no archive in {}", repository(target))))?;
    let dir = scratch.path();
    d.say(format!(
        "restoring borg archive {name} of {} into {}",
        repository(target),
        dir.display()
    ));
    let began = Instant::now();
    let mut run = tool(target, extract(target, &name));
    run.dir = Some(dir.to_path_buf());
    borg(d, "borg extract", run).await?;
    let tree = d.walk(dir).await?;
    let what = amount(tree.files, "files", tree.bytes);
    d.say(format!(
        "restored {what} in {}; borg checked every chunk it read",
        seconds(began.elapsed())
    ));
    let told = borg(d, "borg info", tool(target, info(target, &name))).await?;
    let stats = json::<Listed>("borg info", &told.stdout)?
        .archives
        .pop()
        .and_then(|a| a.stats)
        .ok_or_else(|| Stop::Failed(format!("borg info: no figures for {name}")))?;
    d.say(compare(
        "files",
        (tree.files, tree.bytes),
        (stats.nfiles, stats.original_size),
        "the archive",
    )?);
    Ok(format!("borg archive {name}, {what}"))
}
