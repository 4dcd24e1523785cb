//! The command line of DESIGN.md. Global flags are accepted before or after
//! any subcommand; the flags that name live sources (`--config`,
//! `--prometheus`, `--alertmanager`) belong to the commands that read them,
//! so `demo` neither lists nor accepts them. The man page is generated from
//! the same definition, with the sections clap has no words for.

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
    /// The dashboard's live sources (and those of `status` and `config`
    /// when given before them).
    #[command(flatten)]
    pub sources: SourceArgs,
    #[command(subcommand)]
    pub command: Option<Commands>,
}

/// Where live data comes from: the flags of the dashboard, `status` and
/// `config`, and of no other command.
#[derive(Debug, Args, Default, Clone)]
#[command(next_help_heading = "Live sources")]
pub struct SourceArgs {
    /// Configuration file (default: $OPSDECK_CONFIG, else ~/.config/opsdeck/config.toml); one that cannot be read is an error.
    #[arg(long, value_name = "PATH")]
    pub config: Option<PathBuf>,
    /// Prometheus-compatible query API; repeatable; replaces the file's list.
    #[arg(long, value_name = "URL")]
    pub prometheus: Vec<String>,
    /// Alertmanager API v2; repeatable; replaces the file's list.
    #[arg(long, value_name = "URL")]
    pub alertmanager: Vec<String>,
}

impl SourceArgs {
    /// These flags given after a subcommand, else those before it.
    pub fn or(self, before: SourceArgs) -> SourceArgs {
        SourceArgs {
            config: self.config.or(before.config),
            prometheus: if self.prometheus.is_empty() {
                before.prometheus
            } else {
                self.prometheus
            },
            alertmanager: if self.alertmanager.is_empty() {
                before.alertmanager
            } else {
                self.alertmanager
            },
        }
    }

    /// Each URL is http(s); else what is wrong, the URL's password masked
    /// (clap would quote the value as given, so it is checked here).
    pub fn check(&self) -> Result<(), String> {
        let flags = [
            ("--prometheus", &self.prometheus),
            ("--alertmanager", &self.alertmanager),
        ];
        for (flag, urls) in flags {
            for url in urls {
                parse_source_url(url).map_err(|e| format!("{flag}: {e}"))?;
            }
        }
        Ok(())
    }

    pub fn is_empty(&self) -> bool {
        self.config.is_none() && self.prometheus.is_empty() && self.alertmanager.is_empty()
    }
}

#[derive(Debug, Args, Default)]
pub struct GlobalArgs {
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
        #[command(flatten)]
        sources: SourceArgs,
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
    Init {
        #[command(flatten)]
        sources: SourceArgs,
    },
    /// Validate a configuration and run each query once.
    Check {
        #[command(flatten)]
        sources: SourceArgs,
    },
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

/// An http(s) URL, as written.
fn parse_source_url(text: &str) -> Result<String, String> {
    match reqwest::Url::parse(text) {
        Ok(url) if matches!(url.scheme(), "http" | "https") => Ok(text.to_string()),
        _ => Err(format!(
            "'{}' is not an http(s) URL",
            crate::text::clean(&crate::config::file::mask_userinfo(text))
        )),
    }
}

fn parse_colour(text: &str) -> Result<ratatui::style::Color, String> {
    text.trim()
        .parse()
        .map_err(|_| format!("unknown colour '{text}' (a name such as red, #rrggbb, or 0-255)"))
}

/// The man page: clap's sections (name, synopsis, description, options),
/// then the commands with their own options, the keys, the exit status,
/// the environment and the files. It names no other page: there is one.
pub fn man_page() -> std::io::Result<Vec<u8>> {
    use clap::CommandFactory;
    let command = Cli::command();
    let man = clap_mangen::Man::new(command.clone());
    let mut out = Vec::new();
    man.render_title(&mut out)?;
    man.render_name_section(&mut out)?;
    man.render_synopsis_section(&mut out)?;
    man.render_description_section(&mut out)?;
    man.render_options_section(&mut out)?;
    let mut text = String::from(".SH COMMANDS\n");
    text.push_str(
        ".TP\n\\fBopsdeck\\fR\nThe dashboard on live sources: the configuration file's, \
         else Prometheus on localhost:9090 and Alertmanager on localhost:9093.\n",
    );
    commands(&command, "opsdeck", &mut text);
    text.push_str(&keys());
    text.push_str(MAN_SECTIONS);
    out.extend_from_slice(text.as_bytes());
    man.render_version_section(&mut out)?;
    Ok(out)
}

/// Text for roff: backslashes and hyphens escaped, no line starting with a
/// control character.
fn roff(text: &str) -> String {
    let escaped = text.replace('\\', "\\e").replace('-', "\\-");
    match escaped.chars().next() {
        Some('.' | '\'') => format!("\\&{escaped}"),
        _ => escaped,
    }
}

/// Each subcommand (and theirs) with what it does and its own options.
fn commands(parent: &clap::Command, path: &str, out: &mut String) {
    for sub in parent.get_subcommands().filter(|s| s.get_name() != "help") {
        let path = format!("{path} {}", sub.get_name());
        let about = sub.get_about().map(|a| a.to_string()).unwrap_or_default();
        if sub.has_subcommands() {
            commands(sub, &path, out);
            continue;
        }
        out.push_str(&format!(".TP\n\\fB{}\\fR\n{}\n", roff(&path), roff(&about)));
        let own: Vec<&clap::Arg> = sub
            .get_arguments()
            .filter(|a| !a.is_global_set() && !a.is_hide_set() && a.get_id() != "help")
            .collect();
        if own.is_empty() {
            continue;
        }
        out.push_str(".RS\n");
        for arg in own {
            let name = match (arg.get_long(), arg.get_value_names()) {
                (Some(long), Some(values)) => format!("--{long} {}", values[0]),
                (Some(long), None)
                    if matches!(
                        arg.get_action(),
                        clap::ArgAction::Set | clap::ArgAction::Append
                    ) =>
                {
                    format!("--{long} {}", arg.get_id().as_str().to_uppercase())
                }
                (Some(long), None) => format!("--{long}"),
                (None, _) => arg.get_id().as_str().to_uppercase(),
            };
            let help = arg.get_help().map(|h| h.to_string()).unwrap_or_default();
            out.push_str(&format!(".TP\n\\fB{}\\fR\n{}\n", roff(&name), roff(&help)));
        }
        out.push_str(".RE\n");
    }
}

/// The default keymap's bindings, one command each, as the help lists them.
fn keys() -> String {
    use crate::app::command::Command;
    let keymap = crate::config::keymap::Keymap::builtin();
    let mut out = String::from(
        ".SH KEYS\nThe default keymap's; \\fB?\\fR shows the keymap in force, and \
         \\fB:\\fR takes every command by name.\n",
    );
    for command in Command::ALL {
        let keys = keymap.keys_for(command).join(", ");
        out.push_str(&format!(
            ".TP\n\\fB{}\\fR\n{}\n",
            roff(&keys),
            roff(command.description())
        ));
    }
    out
}

const MAN_SECTIONS: &str = r#".SH "EXIT STATUS"
.TP
\fB0\fR
Success: the dashboard after \fBq\fR; \fBconfig check\fR found no problem; \fBstatus\fR: every service is ok.
.TP
\fB1\fR
Failure: \fBconfig check\fR found a problem; the configuration named by \fB\-\-config\fR or $OPSDECK_CONFIG cannot be read; the audit log cannot be opened; \fBconfig init\fR would overwrite a file. \fBstatus\fR: a warning.
.TP
\fB2\fR
A usage error: an unknown flag, a value that does not parse, a flag without the one it needs or one that does not apply. \fBstatus\fR: a breach.
.TP
\fB3\fR
\fBstatus\fR: the sources cannot be read.
.TP
\fB101\fR
A panic; the terminal is restored first.
.TP
\fB128\fR + \fIN\fR
Ended by signal \fIN\fR: 129 after SIGHUP or when the terminal went away, 130 after SIGINT, 143 after SIGTERM.
.SH ENVIRONMENT
.TP
\fBOPSDECK_CONFIG\fR
The configuration file when \fB\-\-config\fR is not given; one that cannot be read is an error.
.TP
\fBNO_COLOR\fR
When set and not empty, the \fBmono\fR theme unless \fB\-\-theme\fR names one.
.TP
\fBOPSDECK_LOG\fR
The log's level or filter (default \fBinfo\fR).
.TP
\fBOPSDECK_EXPORT_DIR\fR
Where \fBe\fR writes the screen's .txt and .svg (default: the working directory).
.TP
\fBCOLUMNS\fR
The width of \fBstatus\fR (80 without it).
.TP
\fBXDG_CONFIG_HOME\fR, \fBXDG_DATA_HOME\fR, \fBXDG_STATE_HOME\fR, \fBHOME\fR
Where the files below are.
.SH FILES
.TP
\fI~/.config/opsdeck/config.toml\fR
The configuration: sources, services, objectives, thresholds, queries, actions.
.TP
\fI~/.config/opsdeck/themes/NAME.toml\fR, \fI~/.config/opsdeck/keymaps/NAME.toml\fR
Your themes and keymaps, chosen with \fB\-\-theme\fR and \fB\-\-keymap\fR; they override the built-in ones of the same name.
.TP
\fIconventions/*.toml\fR
Your metric conventions, beside the configuration file.
.TP
\fI~/.local/share/opsdeck/audit.log\fR
The audit log of actions (\fB\-\-audit\-log\fR to choose); the demo keeps \fIdemo\-audit.log\fR beside it.
.TP
\fI~/.local/state/opsdeck/opsdeck.log\fR
The log.
.SH "SEE ALSO"
\fBopsdeck \-\-help\fR and \fBopsdeck\fR \fICOMMAND\fR \fB\-\-help\fR; README.md and docs/ in opsdeck's source.
"#;
