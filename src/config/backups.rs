//! `[[backups]]`: backup targets read from the backup tools themselves
//! (restic, BorgBackup, pgBackRest) rather than from metrics. Declarations
//! only; `sources::tools` runs the tools and `actions::drill` restores.

use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;
use toml::Spanned;

use super::file::{Dur, Reader, Secret};
use crate::domain::Tier;

/// The tools opsdeck reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Tool {
    Restic,
    Borg,
    PgBackRest,
}

impl Tool {
    /// The name written in the configuration and shown on the row.
    pub fn name(self) -> &'static str {
        match self {
            Tool::Restic => "restic",
            Tool::Borg => "borg",
            Tool::PgBackRest => "pgbackrest",
        }
    }

    /// The program run, unless the target names its own.
    pub fn program(self) -> &'static str {
        self.name()
    }

    fn parse(text: &str) -> Option<Tool> {
        match text {
            "restic" => Some(Tool::Restic),
            "borg" | "borgbackup" => Some(Tool::Borg),
            "pgbackrest" => Some(Tool::PgBackRest),
            _ => None,
        }
    }
}

/// Listings every 5 minutes, verification daily, by default.
pub const DEFAULT_EVERY: Duration = Duration::from_secs(300);
pub const DEFAULT_VERIFY_EVERY: Duration = Duration::from_secs(86_400);
/// A listing that takes longer is stopped and reported.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);
/// A check reads the whole repository's structure: longer.
pub const DEFAULT_CHECK_TIMEOUT: Duration = Duration::from_secs(3600);
pub const DEFAULT_DRILL_TIMEOUT: Duration = Duration::from_secs(1800);
/// The most of a tool's standard output read (its JSON); past it the
/// answer is refused, never buffered further.
pub const DEFAULT_MAX_OUTPUT: u64 = 16 * 1024 * 1024;

/// One backup target read from its tool.
#[derive(Debug, Clone, PartialEq)]
pub struct ToolTarget {
    /// The name on the row (unique among all backup targets).
    pub target: String,
    pub tool: Tool,
    /// The program to run (`restic`, or a path to it).
    pub program: PathBuf,
    /// restic and Borg: the repository (a path or URL).
    pub repository: Option<String>,
    /// pgBackRest: the stanza.
    pub stanza: Option<String>,
    /// pgBackRest: its configuration file (`--config`), if not the default.
    pub config: Option<PathBuf>,
    /// restic's and Borg's repository password (pgBackRest's repository
    /// cipher pass), passed in the tool's environment, never its argv.
    pub password: Option<Secret>,
    pub tier: Tier,
    /// The service it belongs to, if any.
    pub service: Option<String>,
    /// The system user its tool (and a drill's PostgreSQL) runs as when
    /// opsdeck runs as root (pgBackRest's repository and PostgreSQL belong
    /// to `postgres`, and PostgreSQL refuses to run as root); when opsdeck
    /// is not root it must be that user.
    pub user: Option<String>,
    /// How often its snapshots are listed.
    pub every: Duration,
    /// How often its repository is verified (`restic check`, `borg check`,
    /// `pgbackrest verify`).
    pub verify_every: Duration,
    pub timeout: Duration,
    pub check_timeout: Duration,
    pub max_output: u64,
    pub drill: DrillSpec,
}

/// How the built-in DR drill restores this target.
#[derive(Debug, Clone, PartialEq)]
pub struct DrillSpec {
    /// Where the scratch directory is made (default: the system's temporary
    /// directory); removed after the drill whatever happens.
    pub scratch: PathBuf,
    pub timeout: Duration,
    /// pgBackRest: the query run against the restored PostgreSQL; the
    /// drill passes when it answers at least one row.
    pub check_query: String,
    /// pgBackRest: the database and role the check query uses (default
    /// `postgres`, and the user opsdeck runs as).
    pub database: String,
    pub user: Option<String>,
    /// pgBackRest: the directory holding `postgres` (default: found on
    /// `PATH`, then under `/usr/lib/postgresql/<version>/bin`).
    pub pg_bin: Option<PathBuf>,
}

impl Default for DrillSpec {
    fn default() -> Self {
        DrillSpec {
            scratch: std::env::temp_dir(),
            timeout: DEFAULT_DRILL_TIMEOUT,
            check_query: "select 1".into(),
            database: "postgres".into(),
            user: None,
            pg_bin: None,
        }
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BackupEntry {
    target: String,
    tool: String,
    program: Option<PathBuf>,
    repository: Option<String>,
    stanza: Option<String>,
    config: Option<PathBuf>,
    password_file: Option<PathBuf>,
    password_env: Option<String>,
    tier: Option<Tier>,
    service: Option<String>,
    user: Option<String>,
    every: Option<Dur>,
    verify_every: Option<Dur>,
    timeout: Option<Dur>,
    check_timeout: Option<Dur>,
    max_output_bytes: Option<u64>,
    #[serde(default)]
    drill: DrillEntry,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct DrillEntry {
    scratch: Option<PathBuf>,
    timeout: Option<Dur>,
    check_query: Option<String>,
    database: Option<String>,
    user: Option<String>,
    pg_bin: Option<PathBuf>,
}

/// The built-in actions of the tools in use: a DR drill and a check now
/// per tool, each with the longest timeout its targets give (each run also
/// stops at its target's own).
pub fn builtin_actions(targets: &[ToolTarget]) -> Vec<super::actions::ActionSpec> {
    let tools: std::collections::BTreeSet<Tool> = targets.iter().map(|t| t.tool).collect();
    let longest = |tool: Tool, of: fn(&ToolTarget) -> Duration| {
        let d = targets.iter().filter(|t| t.tool == tool).map(of).max();
        chrono::Duration::from_std(d.unwrap_or_default()).unwrap_or(chrono::Duration::hours(1))
    };
    tools
        .into_iter()
        .flat_map(|tool| {
            [
                super::actions::tool_drill(tool.name(), longest(tool, |t| t.drill.timeout)),
                super::actions::tool_check(tool.name(), longest(tool, |t| t.check_timeout)),
            ]
        })
        .collect()
}

/// The declared targets; one with a mistake is left out and reported with
/// its line, the others kept.
pub(super) fn read(reader: &mut Reader, entries: &[Spanned<BackupEntry>]) -> Vec<ToolTarget> {
    let mut out: Vec<ToolTarget> = Vec::new();
    for entry in entries {
        let at = reader.line(entry.span().start);
        let e = entry.get_ref();
        let field = format!("backups.{}", e.target);
        match target(reader, at, &field, e) {
            Ok(t) if out.iter().any(|o| o.target == t.target) => {
                reader.problem(Some(at), &field, "declared twice; the first is kept");
            }
            Ok(t) => out.push(t),
            Err(message) => reader.problem(Some(at), &field, message),
        }
    }
    out
}

fn target(
    reader: &mut Reader,
    at: usize,
    field: &str,
    e: &BackupEntry,
) -> Result<ToolTarget, String> {
    if e.target.trim().is_empty() || e.target.chars().any(char::is_control) {
        return Err("target: give the name shown on the row".into());
    }
    let tool = Tool::parse(&e.tool)
        .ok_or_else(|| format!("tool '{}' is not restic, borg or pgbackrest", e.tool))?;
    match tool {
        Tool::Restic | Tool::Borg if e.repository.as_deref().is_none_or(str::is_empty) => {
            return Err(format!("{} needs repository = \"…\"", tool.name()));
        }
        Tool::PgBackRest if e.stanza.as_deref().is_none_or(str::is_empty) => {
            return Err("pgbackrest needs stanza = \"…\"".into());
        }
        _ => {}
    }
    if e.password_file.is_some() && e.password_env.is_some() {
        return Err("give password_file or password_env, not both".into());
    }
    let password = reader.secret(
        at,
        &format!("{field}.password"),
        &e.password_env,
        &e.password_file,
    );
    let dur = |d: &Option<Dur>, default: Duration| d.as_ref().map_or(default, |Dur(d)| *d);
    let every = dur(&e.every, DEFAULT_EVERY);
    if every < Duration::from_secs(10) {
        return Err("every: under 10s; a listing reads the repository".into());
    }
    let d = &e.drill;
    let defaults = DrillSpec::default();
    Ok(ToolTarget {
        target: e.target.trim().to_string(),
        tool,
        program: e.program.clone().unwrap_or_else(|| tool.program().into()),
        repository: e.repository.clone(),
        stanza: e.stanza.clone(),
        config: e.config.clone(),
        password,
        tier: e.tier.unwrap_or_default(),
        service: e.service.clone().filter(|s| !s.is_empty()),
        user: e.user.clone().filter(|s| !s.is_empty()),
        every,
        verify_every: dur(&e.verify_every, DEFAULT_VERIFY_EVERY),
        timeout: dur(&e.timeout, DEFAULT_TIMEOUT),
        check_timeout: dur(&e.check_timeout, DEFAULT_CHECK_TIMEOUT),
        max_output: e.max_output_bytes.unwrap_or(DEFAULT_MAX_OUTPUT).max(4096),
        drill: DrillSpec {
            scratch: d.scratch.clone().unwrap_or(defaults.scratch),
            timeout: dur(&d.timeout, DEFAULT_DRILL_TIMEOUT),
            check_query: d.check_query.clone().unwrap_or(defaults.check_query),
            database: d.database.clone().unwrap_or(defaults.database),
            user: d.user.clone(),
            pg_bin: d.pg_bin.clone(),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::file::tests::parse;

    #[test]
    fn tool_targets_are_read_with_their_defaults_and_drills() {
        let dir = std::env::temp_dir().join(format!("opsdeck-backups-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let pass = dir.join("pass");
        std::fs::write(&pass, "s3cret\n").unwrap();
        let text = format!(
            r#"
[[backups]]
target = "files"
tool = "restic"
repository = "/srv/restic"
password_file = "{}"
tier = "critical"
service = "orders"
verify_every = "12h"

[[backups]]
target = "orders-pg"
tool = "pgbackrest"
stanza = "main"
user = "postgres"
drill = {{ check_query = "select count(*) from orders", timeout = "10m" }}
"#,
            pass.display()
        );
        let (config, problems) = parse(&text);
        assert!(problems.is_empty(), "{problems:?}");
        let [files, pg] = &config.backup_tools[..] else {
            panic!("{:?}", config.backup_tools);
        };
        assert_eq!(files.tool, Tool::Restic);
        assert_eq!(files.password.as_ref().map(|s| s.expose()), Some("s3cret"));
        assert_eq!(files.tier, Tier::Critical);
        assert_eq!(files.every, DEFAULT_EVERY);
        assert_eq!(files.verify_every, Duration::from_secs(12 * 3600));
        assert_eq!(pg.stanza.as_deref(), Some("main"));
        assert_eq!(pg.user.as_deref(), Some("postgres"));
        assert_eq!(pg.drill.check_query, "select count(*) from orders");
        assert_eq!(pg.drill.timeout, Duration::from_secs(600));
        // A built-in drill per tool in use, applying to that tool's rows.
        let drills: Vec<_> = config
            .actions
            .iter()
            .filter(|a| a.backend == crate::config::actions::Backend::Drill)
            .map(|a| a.when.get("tool").cloned().unwrap_or_default())
            .collect();
        assert_eq!(drills, ["restic", "pgbackrest"]);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_broken_target_is_left_out_with_its_line_and_the_rest_kept() {
        let text = r#"
[[backups]]
target = "a"
tool = "tar"

[[backups]]
target = "b"
tool = "borg"

[[backups]]
target = "c"
tool = "borg"
repository = "/srv/borg"
password_env = "OPSDECK_TEST_UNSET_VARIABLE"

[[backups]]
target = "c"
tool = "pgbackrest"
stanza = "main"
"#;
        let (config, problems) = parse(text);
        let names: Vec<&str> = config
            .backup_tools
            .iter()
            .map(|t| t.target.as_str())
            .collect();
        assert_eq!(names, ["c"], "{problems:?}");
        let joined = problems.join("\n");
        assert!(
            joined.contains("line 2: backups.a: tool 'tar' is not restic, borg or pgbackrest"),
            "{joined}"
        );
        assert!(
            joined.contains("line 6: backups.b: borg needs repository"),
            "{joined}"
        );
        assert!(
            joined.contains("OPSDECK_TEST_UNSET_VARIABLE is not set"),
            "{joined}"
        );
        assert!(
            joined.contains("line 16: backups.c: declared twice"),
            "{joined}"
        );
    }
}
