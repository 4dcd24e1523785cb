//! The `opsdeck` binary: parse the command line, set up logging, run.

use std::io::Write;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};

use chrono::Utc;
use clap::{CommandFactory, Parser};
use opsdeck::app::{App, Msg, Settings};
use opsdeck::cli::{Cli, Commands, ConfigAction, GlobalArgs, SourceArgs};
use opsdeck::config;
use opsdeck::config::file::{self, Config};
use opsdeck::demo::DemoEstate;
use opsdeck::sources::poller::PollPlan;
use opsdeck::sources::{Feed, Source};

fn main() -> ExitCode {
    let cli = Cli::parse();
    let before = cli.sources.clone();
    // The live-source flags before a command that reads no live source
    // are a usage error, as after it (where clap refuses them itself).
    let refuse_sources = |what: &str| {
        if !before.is_empty() {
            usage_error(&format!(
                "{what}: --config, --prometheus and --alertmanager do not apply"
            ));
        }
    };
    let sources_after = match &cli.command {
        Some(Commands::Status { sources, .. })
        | Some(Commands::Config {
            action: ConfigAction::Init { sources } | ConfigAction::Check { sources },
        }) => Some(sources),
        _ => None,
    };
    for sources in [Some(&before), sources_after].into_iter().flatten() {
        if let Err(e) = sources.check() {
            usage_error(&e);
        }
    }
    match cli.command {
        Some(Commands::Demo { seed }) => {
            refuse_sources("demo runs on the embedded estate");
            dashboard(&cli.global, Estate::Demo(seed))
        }
        Some(Commands::Completions { shell }) => {
            refuse_sources("completions");
            clap_complete::generate(
                shell,
                &mut Cli::command(),
                "opsdeck",
                &mut std::io::stdout(),
            );
            ExitCode::SUCCESS
        }
        Some(Commands::Man) => {
            refuse_sources("man");
            match opsdeck::cli::man_page() {
                Ok(out) => {
                    let _ = std::io::stdout().write_all(&out);
                    ExitCode::SUCCESS
                }
                Err(e) => fail(&format!("cannot render the man page: {e}")),
            }
        }
        Some(Commands::Status {
            sources,
            json,
            demo,
            seed,
        }) => {
            let sources = sources.or(before.clone());
            if demo && !sources.is_empty() {
                usage_error(
                    "status --demo: --config, --prometheus and --alertmanager do not apply",
                );
            }
            status(&sources, json, demo.then_some(seed))
        }
        Some(Commands::Config {
            action: ConfigAction::Init { sources },
        }) => config_init(&sources.or(before)),
        Some(Commands::Config {
            action: ConfigAction::Check { sources },
        }) => config_check(&cli.global, &sources.or(before)),
        None => match live_config(&before) {
            Ok((config, problems)) => {
                dashboard(&cli.global, Estate::Live(Box::new(config), problems))
            }
            Err(code) => code,
        },
    }
}

/// A usage error, as clap reports its own: the message, the usage line,
/// exit 2.
fn usage_error(message: &str) -> ! {
    Cli::command()
        .error(clap::error::ErrorKind::ArgumentConflict, message)
        .exit()
}

fn fail(message: &str) -> ExitCode {
    let _ = writeln!(std::io::stderr(), "opsdeck: {message}");
    ExitCode::FAILURE
}

/// Logs go to a file in the XDG state directory, never to the terminal;
/// created readable by its owner only (it records configuration problems
/// and why actions failed).
fn init_logging() -> String {
    let Some(dir) = config::state_dir() else {
        return "(no state directory; logging off)".into();
    };
    let path = dir.join("opsdeck.log");
    match opsdeck::actions::audit::open_private(&path) {
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

/// jemalloc, not the system's allocator: glibc's kept the holes left by
/// answers of thousands of series decoded every second, so at 10,000
/// services the resident set crept up over ten minutes (+5.7 MB over the
/// second half, with two arenas, a fixed mmap threshold and a trim every
/// 10 s), while heaptrack showed the live heap flat at about 60 MB.
/// jemalloc measured flat (−0.7 MB), 111 MB at peak against 121, and half
/// the CPU (3.5% of a core against 6.7%). docs/benchmarks.md, hot spot 8.
#[cfg(not(target_env = "msvc"))]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// jemalloc's options, read when it starts (under the `_rjem_` prefix
/// tikv-jemalloc-sys builds it with; `_RJEM_MALLOC_CONF` in the
/// environment still overrides them): pages freed go back to the system at
/// once, not after jemalloc's default 10 s. Each refresh at 10,000 services
/// decodes megabytes of answers and frees the last ones, so the resident set
/// was the last 10 s of that churn rather than what is held: peak 95 against
/// 65 MB and resident 72 against 54 MB over a minute on the KPI tab, for
/// CPU within the runs' spread (docs/benchmarks.md, issue 25).
#[cfg(not(target_env = "msvc"))]
#[unsafe(export_name = "_rjem_malloc_conf")]
static MALLOC_CONF: &u8 = &b"dirty_decay_ms:0,muzzy_decay_ms:0\0"[0];

/// Where the dashboard's data comes from.
enum Estate {
    Demo(u64),
    Live(Box<Config>, Vec<config::Problem>),
}

fn runtime() -> Result<tokio::runtime::Runtime, ExitCode> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| fail(&format!("cannot start the runtime: {e}")))
}

/// The theme and keymap named on the command line (or by `NO_COLOR`), from
/// the user's config directory or the embedded ones, with their problems.
fn look_and_keys(
    global: &GlobalArgs,
) -> (
    config::theme::Theme,
    config::keymap::Keymap,
    Vec<config::Problem>,
) {
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    // The war room gets high contrast unless a theme is named, or NO_COLOR
    // asks for none.
    let kiosk_theme = (global.kiosk && !no_color).then_some("high-contrast");
    config::look_and_keys(
        global.theme.as_deref().or(kiosk_theme),
        &global.keymap,
        no_color,
        config::user_config_dir().as_deref(),
    )
}

fn dashboard(global: &GlobalArgs, estate: Estate) -> ExitCode {
    let log = init_logging();
    opsdeck::terminal::install_panic_hook(log);
    let (theme, keymap, mut problems) = look_and_keys(global);
    let now = Utc::now();
    let mut demo = None;
    let mut actions = opsdeck::app::actions::Actions::default();
    let mut live_secrets = None;
    let mut limits = config::limits::Limits::default();
    let mut oncall_sources = Vec::new();
    let oncall;
    let (settings, sources, plan) = match estate {
        Estate::Demo(seed) => {
            oncall = opsdeck::demo::oncall::schedules(seed, now);
            let estate = Arc::new(DemoEstate::new(seed, now));
            demo = Some(estate.clone());
            let settings = Settings {
                demo: true,
                read_only: global.read_only,
                ..Settings::default()
            };
            actions.specs = config::actions::demo();
            actions.runners.demo = Some(Arc::new(opsdeck::demo::actions::DemoRunner {
                estate: estate.clone(),
            }));
            actions.common = common_parameters("service");
            (
                settings,
                vec![Source::Metrics(estate.clone()), Source::Alerts(estate)],
                PollPlan::default(),
            )
        }
        Estate::Live(config, config_problems) => {
            problems.extend(config_problems);
            oncall = opsdeck::sources::oncall::empty(&config.oncall);
            oncall_sources = config.oncall.clone();
            let (sources, source_problems) = opsdeck::sources::from_config(&config, true);
            problems.extend(source_problems);
            let settings = Settings::from_config(&config, global.read_only);
            let (runners, runner_problems) = live_runners(&config);
            problems.extend(runner_problems);
            actions.specs = config.actions.clone();
            live_secrets = Some(config.secrets.clone());
            limits = config.limits;
            actions.output_lines_kept = limits.action_output_lines;
            actions.runners = runners;
            actions.common = common_parameters(&config.service_labels[0]);
            (settings, sources, PollPlan::for_config(&config))
        }
    };
    let secrets = match &live_secrets {
        Some(s) => s.clone(),
        None => Default::default(),
    };
    let opened = audit_log(global, secrets, limits.audit_max_bytes, demo.is_some());
    let AuditOpened {
        audit,
        drills,
        history,
        notices,
        problems: audit_problems,
    } = match opened {
        Ok(opened) => opened,
        Err(e) => return fail(&e),
    };
    problems.extend(audit_problems);
    actions.audit_notices = Some(notices);
    actions.past = history;
    for p in &problems {
        tracing::warn!("{p}");
    }
    let mut settings = settings;
    settings.mouse = global.mouse;
    if global.kiosk {
        settings.kiosk = true;
        settings.read_only = true;
        settings.cycle = global.cycle.unwrap_or(opsdeck::app::DEFAULT_CYCLE);
    }
    if let Some(name) = &global.environment {
        settings.environment = Some(config::file::environment(name, global.environment_colour));
    }
    let mut app = App::new(settings, theme, keymap, now);
    app.problems = problems;
    app.actions = actions;
    app.drills = drills;
    (app.oncall, app.oncall_sources) = (oncall, oncall_sources);
    if let Some(estate) = demo {
        replay_demo_hour(&mut app, &estate, now);
    }
    let runtime = match runtime() {
        Ok(rt) => rt,
        Err(code) => return code,
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
    match runtime.block_on(opsdeck::run::dashboard(app, sources, plan, audit)) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            opsdeck::terminal::restore();
            fail(&format!("{e:#}"))
        }
    }
}

/// The configuration in force: the file, then the command line's URLs,
/// with the problems of its action templates. A file named with
/// `--config` or `$OPSDECK_CONFIG` that cannot be read ends opsdeck with
/// exit 1, saying which: it must not go on to ask localhost instead.
fn live_config(sources: &SourceArgs) -> Result<(Config, Vec<config::Problem>), ExitCode> {
    let (mut config, mut problems) =
        Config::try_load(sources.config.as_deref()).map_err(|p| fail(&p.to_string()))?;
    problems.extend(opsdeck::check::templates(&config));
    config::in_file_order(&mut problems);
    problems.extend(config.override_urls(&sources.prometheus, &sources.alertmanager));
    Ok((config, problems))
}

fn config_init(sources: &SourceArgs) -> ExitCode {
    let Some((path, _)) = Config::locate(sources.config.as_deref()) else {
        return fail("no configuration directory on this system; name a file with --config PATH");
    };
    if path.exists() {
        return fail(&format!(
            "{} exists; not overwritten (remove it, or name another file with --config)",
            path.display()
        ));
    }
    // What the server has, when one answers: the labels that name its
    // services and the conventions detected replace the generic lines.
    // The file does not exist yet: the defaults (with the user's own
    // conventions) and the command line's URLs.
    let (mut config, _) = Config::load(sources.config.as_deref());
    let _ = config.override_urls(&sources.prometheus, &sources.alertmanager);
    let found = runtime().ok().and_then(|rt| {
        rt.block_on(opsdeck::check::detected(
            &config,
            std::time::Duration::from_secs(5),
        ))
    });
    let text = match &found {
        Some(lines) => file::STARTING.replacen(file::STARTING_LABELS, lines, 1),
        None => file::STARTING.to_string(),
    };
    let written = path
        .parent()
        .map_or(Ok(()), std::fs::create_dir_all)
        .and_then(|()| std::fs::write(&path, text));
    match written {
        Ok(()) => {
            let how = if found.is_some() {
                "with what the server has"
            } else {
                "no server answered: the generic starting file"
            };
            println!("wrote {} ({how})", path.display());
            ExitCode::SUCCESS
        }
        Err(e) => fail(&format!("cannot write {}: {e}", path.display())),
    }
}

fn config_check(global: &GlobalArgs, sources: &SourceArgs) -> ExitCode {
    let (config, mut problems) = match live_config(sources) {
        Ok(loaded) => loaded,
        Err(code) => return code,
    };
    // Loaded as the dashboard loads them: a check that passes must not
    // leave a theme or keymap for the dashboard to refuse.
    problems.extend(look_and_keys(global).2);
    let runtime = match runtime() {
        Ok(rt) => rt,
        Err(code) => return code,
    };
    let report = runtime.block_on(opsdeck::check::run(&config, problems));
    print!("{}", report.text);
    if report.problems == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// The demo's last hour fed to a scratch app as the pollers would have, so
/// the KPI trends are whole from the first frame (the estate is a pure
/// function of time, so the past is as real as the present); only the
/// trends are kept, so selections and the rest start from now. Deployments
/// and the month of incident history, the costly parts that move slowly,
/// are read every ten minutes.
fn replay_demo_hour(app: &mut App, estate: &DemoEstate, now: chrono::DateTime<Utc>) {
    let window = app.settings.objectives.slo_window;
    let points = opsdeck::app::TREND_POINTS as i32;
    let start = now - opsdeck::app::TREND_STEP * points;
    let mut scratch = App::new(
        app.settings.clone(),
        app.theme.clone(),
        app.keymap.clone(),
        start,
    );
    for k in (1..=points).rev() {
        let at = now - opsdeck::app::TREND_STEP * k;
        scratch.update(Msg::Tick(at));
        let feeds: &[Feed] = if k % 10 == 0 {
            &Feed::ALL
        } else {
            &[Feed::Health, Feed::Backups, Feed::Alerts]
        };
        for update in estate.feeds_at(at, feeds, window) {
            scratch.update(Msg::Feed(update));
        }
    }
    app.estate.trends = scratch.estate.trends;
}

/// Template values every action has: who asks, and the service label.
fn common_parameters(service_label: &str) -> std::collections::BTreeMap<String, String> {
    let who = opsdeck::actions::audit::Who::current();
    std::collections::BTreeMap::from([
        ("user".to_string(), who.user),
        ("service_label".to_string(), service_label.to_string()),
    ])
}

/// The runners of a live estate: exec and HTTP always, silences on the
/// first Alertmanager (an HA cluster shares its silences).
fn live_runners(config: &Config) -> (opsdeck::app::actions::Runners, Vec<config::Problem>) {
    use opsdeck::actions::{exec::ExecRunner, http::HttpRunner, silence::SilenceRunner};
    let mut problems = Vec::new();
    let silence = config.alertmanager.first().and_then(|endpoint| {
        match SilenceRunner::new(endpoint.clone()) {
            Ok(runner) => Some(Arc::new(runner) as Arc<dyn opsdeck::actions::ActionRunner>),
            Err(e) => {
                problems.push(config::Problem {
                    file: "actions".into(),
                    message: format!("silences on {}: {e}", endpoint.name),
                });
                None
            }
        }
    });
    let runners = opsdeck::app::actions::Runners {
        exec: Some(Arc::new(ExecRunner::new(config.secrets.clone()))),
        http: Some(Arc::new(HttpRunner::new(config.secrets.clone()))),
        silence,
        demo: None,
        check: (!config.backup_tools.is_empty()).then(|| {
            Arc::new(opsdeck::actions::verify::CheckRunner {
                targets: config.backup_tools.clone(),
            }) as Arc<dyn opsdeck::actions::ActionRunner>
        }),
        drill: (!config.backup_tools.is_empty()).then(|| {
            Arc::new(opsdeck::actions::drill::DrillRunner {
                targets: config.backup_tools.clone(),
            }) as Arc<dyn opsdeck::actions::ActionRunner>
        }),
    };
    (runners, problems)
}

/// The audit log, opened: the writer, what it recorded of DR drills and
/// runs, where it says it rotated, and what is wrong with its permissions.
struct AuditOpened {
    audit: opsdeck::run::Audit,
    drills: Drills,
    /// The runs it recorded, for the history (`A`), the demo's too.
    history: Vec<opsdeck::actions::audit::PastRun>,
    notices: std::sync::mpsc::Receiver<String>,
    problems: Vec<config::Problem>,
}

/// The audit log (`--audit-log`, else the XDG data directory), opened
/// before anything can be asked: no log, no dashboard. It is rotated past
/// `max_bytes`; a rotation, or a failed one, is a notice for the footer.
fn audit_log(
    global: &GlobalArgs,
    secrets: opsdeck::actions::SecretStore,
    max_bytes: u64,
    demo: bool,
) -> Result<AuditOpened, String> {
    use opsdeck::actions::audit::{self, AuditLog, Who};
    // The demo keeps its own log: its simulated drills must never reach a
    // live estate's Backups tab.
    let default = || {
        opsdeck::actions::audit::default_path().map(|p| {
            if demo {
                p.with_file_name("demo-audit.log")
            } else {
                p
            }
        })
    };
    let path = global
        .audit_log
        .clone()
        .or_else(default)
        .ok_or("no home directory for the audit log; give --audit-log PATH")?;
    // Checked before opening, which creates only what is missing.
    let problems = audit::loose_permissions(&path);
    let log = AuditLog::open(&path)
        .map_err(|e| format!("cannot open the audit log {}: {e}", path.display()))?
        .masking(secrets)
        .rotating_at(max_bytes);
    // The demo is a function of its seed and time: what an earlier demo
    // run recorded (its simulated drills) is history, never its state.
    let drills = if demo {
        Drills::new()
    } else {
        audit::drills(&path)
    };
    let history = audit::history(&path, opsdeck::app::history::PAST_KEPT);
    let who = Who::current();
    let (tell, notices) = std::sync::mpsc::channel();
    let audit: opsdeck::run::Audit = Box::new(move |note| {
        let rotation = log
            .append(&note.to_event(&who, Utc::now()))
            .map_err(|e| format!("{}: {e}", path.display()))?;
        if let Some(rotation) = rotation {
            if matches!(rotation, audit::Rotation::Failed(_)) {
                tracing::warn!("{}: {rotation}", path.display());
            } else {
                tracing::info!("{}: {rotation}", path.display());
            }
            let _ = tell.send(rotation.to_string());
        }
        Ok(())
    });
    Ok(AuditOpened {
        audit,
        drills,
        history,
        notices,
        problems,
    })
}

type Drills = std::collections::BTreeMap<String, opsdeck::domain::DrillResult>;

/// `opsdeck status`: one round of fetches, the glance, and its exit code.
fn status(sources: &SourceArgs, json: bool, demo: Option<u64>) -> ExitCode {
    let now = Utc::now();
    let mut oncall_sources = Vec::new();
    let (settings, sources, plan, problems) = if let Some(seed) = demo {
        let estate = Arc::new(DemoEstate::new(seed, now));
        let sources = vec![Source::Metrics(estate.clone()), Source::Alerts(estate)];
        (
            Settings {
                demo: true,
                ..Settings::default()
            },
            sources,
            PollPlan::default(),
            Vec::new(),
        )
    } else {
        let (config, mut problems) = match live_config(sources) {
            Ok(loaded) => loaded,
            Err(code) => return code,
        };
        oncall_sources = config.oncall.clone();
        let (sources, source_problems) = opsdeck::sources::from_config(&config, false);
        problems.extend(source_problems);
        let settings = Settings::from_config(&config, false);
        // Backup tools are listed once, each within its own timeout.
        let mut plan = PollPlan::for_config(&config);
        if let Some(slowest) = config.backup_tools.iter().map(|t| t.timeout).max() {
            plan.timeout = plan
                .timeout
                .max(slowest + std::time::Duration::from_secs(2));
        }
        (settings, sources, plan, problems)
    };
    for p in &problems {
        let _ = writeln!(std::io::stderr(), "opsdeck: {p}");
    }
    let runtime = match runtime() {
        Ok(rt) => rt,
        Err(code) => return code,
    };
    let updates = runtime.block_on(opsdeck::status::fetch_all(&sources, &plan, now));
    let oncall = match demo {
        Some(seed) => opsdeck::demo::oncall::schedules(seed, now),
        None => runtime.block_on(opsdeck::sources::oncall::read_all(&oncall_sources, now)),
    };
    let (theme, keymap) = (
        config::theme::Theme::builtin(),
        config::keymap::Keymap::builtin(),
    );
    let mut app = App::new(settings, theme, keymap, now);
    app.oncall = oncall;
    let glance = opsdeck::status::Glance::new(&mut app, updates);
    let out = if json {
        format!("{:#}\n", glance.json())
    } else {
        glance.text()
    };
    let _ = std::io::stdout().write_all(out.as_bytes());
    ExitCode::from(glance.exit_code())
}
