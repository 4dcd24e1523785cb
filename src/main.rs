//! The `opsdeck` binary: parse the command line, set up logging, run.

use std::io::Write;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};

use chrono::Utc;
use clap::{CommandFactory, Parser};
use opsdeck::app::{App, Settings};
use opsdeck::cli::{Cli, Commands, EXIT_UNAVAILABLE, GlobalArgs};
use opsdeck::config;
use opsdeck::demo::DemoEstate;
use opsdeck::sources::Source;
use opsdeck::sources::poller::PollPlan;

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Some(flag) = cli.global.unavailable() {
        return unavailable(flag);
    }
    match cli.command {
        Some(Commands::Demo { seed }) => demo(&cli.global, seed),
        Some(Commands::Completions { shell }) => {
            clap_complete::generate(
                shell,
                &mut Cli::command(),
                "opsdeck",
                &mut std::io::stdout(),
            );
            ExitCode::SUCCESS
        }
        Some(Commands::Man) => {
            let mut out = Vec::new();
            match clap_mangen::Man::new(Cli::command()).render(&mut out) {
                Ok(()) => {
                    let _ = std::io::stdout().write_all(&out);
                    ExitCode::SUCCESS
                }
                Err(e) => fail(&format!("cannot render the man page: {e}")),
            }
        }
        Some(Commands::Status { .. }) => unavailable("`opsdeck status` (the SLA glance)"),
        Some(Commands::Config { .. }) => unavailable("`opsdeck config` (configuration files)"),
        None => {
            unavailable("the dashboard on live sources; run `opsdeck demo` for the embedded estate")
        }
    }
}

fn unavailable(what: &str) -> ExitCode {
    let _ = writeln!(
        std::io::stderr(),
        "opsdeck: {what} is not available in this version yet"
    );
    ExitCode::from(EXIT_UNAVAILABLE as u8)
}

fn fail(message: &str) -> ExitCode {
    let _ = writeln!(std::io::stderr(), "opsdeck: {message}");
    ExitCode::FAILURE
}

/// Logs go to a file in the XDG state directory, never to the terminal.
fn init_logging() -> String {
    let Some(dir) = config::state_dir() else {
        return "(no state directory; logging off)".into();
    };
    let path = dir.join("opsdeck.log");
    let file = std::fs::create_dir_all(&dir).and_then(|()| {
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
    });
    match file {
        Ok(file) => {
            let _ = tracing_subscriber::fmt()
                .with_writer(Mutex::new(file))
                .with_ansi(false)
                .with_env_filter(
                    tracing_subscriber::EnvFilter::try_from_env("OPSDECK_LOG")
                        .unwrap_or_else(|_| "info".into()),
                )
                .try_init();
            path.display().to_string()
        }
        Err(e) => format!("(cannot open {}: {e}; logging off)", path.display()),
    }
}

fn demo(global: &GlobalArgs, seed: u64) -> ExitCode {
    let log = init_logging();
    opsdeck::terminal::install_panic_hook(log);
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    let (theme, keymap, problems) = config::look_and_keys(
        global.theme.as_deref(),
        &global.keymap,
        no_color,
        config::user_config_dir().as_deref(),
    );
    for p in &problems {
        tracing::warn!("{p}");
    }
    let now = Utc::now();
    let settings = Settings {
        demo: true,
        read_only: global.read_only,
        thresholds: Default::default(),
        objectives: Default::default(),
    };
    let mut app = App::new(settings, theme, keymap, now);
    app.problems = problems;
    let estate = Arc::new(DemoEstate::new(seed, now));
    let sources = vec![Source::Metrics(estate.clone()), Source::Alerts(estate)];
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => return fail(&format!("cannot start the runtime: {e}")),
    };
    // Fault injection for the tests: a background task that panics.
    if let Some(ms) = std::env::var("OPSDECK_FAULT_PANIC_AFTER_MS")
        .ok()
        .and_then(|v| v.parse().ok())
    {
        runtime.spawn(async move {
            tokio::time::sleep(std::time::Duration::from_millis(ms)).await;
            panic!("injected fault: a background task panicked");
        });
    }
    match runtime.block_on(opsdeck::run::dashboard(app, sources, PollPlan::default())) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            opsdeck::terminal::restore();
            fail(&format!("{e:#}"))
        }
    }
}
