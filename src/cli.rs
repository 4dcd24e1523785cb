//! The command line of DESIGN.md. Global flags are accepted before or after
//! any subcommand. Flags whose features arrive later are accepted by the
//! parser and refused with a clear message, never silently ignored.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "opsdeck",
    version,
    about = "A terminal dashboard for operations: SLOs, health, deployments, backups and incidents on one screen."
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Option<Commands>,
}

#[derive(Debug, Args, Default)]
pub struct GlobalArgs {
    /// Configuration file (default: $OPSDECK_CONFIG, else ~/.config/opsdeck/config.toml).
    #[arg(long, global = true, value_name = "PATH")]
    pub config: Option<PathBuf>,
    /// Prometheus-compatible query API; repeatable; replaces the file's list.
    #[arg(long, global = true, value_name = "URL")]
    pub prometheus: Vec<String>,
    /// Alertmanager API v2; repeatable; replaces the file's list.
    #[arg(long, global = true, value_name = "URL")]
    pub alertmanager: Vec<String>,
    /// Colour theme: default, light, high-contrast, mono, or one of yours. NO_COLOR selects mono.
    #[arg(long, global = true, value_name = "NAME")]
    pub theme: Option<String>,
    /// Keymap: default, vim, or one of yours.
    #[arg(long, global = true, value_name = "NAME", default_value = "default")]
    pub keymap: String,
    /// Disable every action (marks the header READ-ONLY).
    #[arg(long, global = true)]
    pub read_only: bool,
    /// War-room mode: read-only, tabs cycle, high contrast. [not yet available]
    #[arg(long, global = true)]
    pub kiosk: bool,
    /// Tab cycle interval in kiosk mode, e.g. 20s. [not yet available]
    #[arg(long, global = true, value_name = "DURATION")]
    pub cycle: Option<String>,
    /// Audit log file for actions (default: the XDG data directory's
    /// opsdeck/audit.log).
    #[arg(long, global = true, value_name = "PATH")]
    pub audit_log: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum Commands {
    /// The dashboard on the embedded simulated estate; no server needed.
    Demo {
        /// Seed of the simulation; the same seed shows the same estate.
        #[arg(long, default_value_t = crate::demo::DEFAULT_SEED)]
        seed: u64,
    },
    /// Print the SLA glance once and exit (0 ok, 1 warning, 2 breach, 3 unreachable).
    Status {
        /// Machine-readable output.
        #[arg(long)]
        json: bool,
        /// Use the embedded demo estate.
        #[arg(long)]
        demo: bool,
    },
    /// Write a starting configuration, or validate one and run each query once.
    Config {
        #[command(subcommand)]
        action: ConfigAction,
    },
    /// Print shell completions.
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff).
    Man,
}

#[derive(Debug, Subcommand)]
pub enum ConfigAction {
    /// Write a commented starting configuration.
    Init,
    /// Validate a configuration and run each query once.
    Check,
}

/// Exit code for a feature this build does not have yet (EX_UNAVAILABLE).
pub const EXIT_UNAVAILABLE: i32 = 69;

impl GlobalArgs {
    /// The first flag given whose feature is not built yet.
    pub fn unavailable(&self) -> Option<&'static str> {
        [
            (self.kiosk, "--kiosk (war-room mode)"),
            (self.cycle.is_some(), "--cycle (kiosk tab cycling)"),
        ]
        .into_iter()
        .find_map(|(given, what)| given.then_some(what))
    }
}
