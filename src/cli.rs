//! The command line of DESIGN.md. Global flags are accepted before or after
//! any subcommand.

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
    /// War-room mode: read-only, tabs cycle, high contrast, a banner while a critical incident is open.
    #[arg(long, global = true)]
    pub kiosk: bool,
    /// Tab cycle interval in kiosk mode (default 20s); a key pauses it for a minute.
    #[arg(long, global = true, value_name = "DURATION", requires = "kiosk", value_parser = parse_cycle)]
    pub cycle: Option<std::time::Duration>,
    /// The estate's name in the header, e.g. production (replaces the file's [environment]).
    #[arg(long, global = true, value_name = "NAME")]
    pub environment: Option<String>,
    /// Its colour: a name (red, yellow), #rrggbb or 0-255; by default red for prod*, yellow for stag*, green for dev*.
    #[arg(long, global = true, value_name = "COLOUR", requires = "environment", value_parser = parse_colour)]
    pub environment_colour: Option<ratatui::style::Color>,
    /// Mouse on: click a tab, scroll a table (the terminal's own text selection then needs Shift).
    #[arg(long, global = true)]
    pub mouse: bool,
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
        /// Seed of the demo's simulation (with --demo).
        #[arg(long, default_value_t = crate::demo::DEFAULT_SEED, requires = "demo")]
        seed: u64,
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

/// A cycle of at least a second, written as `20s`, `1m`.
fn parse_cycle(text: &str) -> Result<std::time::Duration, String> {
    let d = humantime::parse_duration(text.trim())
        .map_err(|e| format!("{e} (write e.g. 20s or 1m)"))?;
    if d < std::time::Duration::from_secs(1) {
        return Err("the cycle must be at least 1s".into());
    }
    Ok(d)
}

fn parse_colour(text: &str) -> Result<ratatui::style::Color, String> {
    text.trim()
        .parse()
        .map_err(|_| format!("unknown colour '{text}' (a name such as red, #rrggbb, or 0-255)"))
}
