//! The event loop: one channel carries input, poller results and clock ticks
//! to `App::update`; the screen is drawn once per batch of messages, and only
//! when something changed.

use std::time::Duration;

use chrono::Utc;
use color_eyre::Result;
use color_eyre::eyre::WrapErr;
use ratatui::crossterm::event::{self, Event};
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::{mpsc, watch};

use crate::actions::ActionOutcome;
use crate::app::actions::{AuditNote, Effect};
use crate::app::{App, Msg};
use crate::sources::Source;
use crate::sources::poller::{self, PollPlan};
use crate::{terminal, ui};

/// Why the loop ended.
#[derive(Debug)]
pub enum Stop {
    Quit,
    /// The signal's name and number.
    Signal(&'static str, i32),
    TerminalGone(String),
}

impl Stop {
    /// 0 after `q`; 128 + the signal's number after a signal, as a shell
    /// reports a process killed by it; 129 (as for SIGHUP) when the terminal
    /// went away.
    pub fn exit_code(&self) -> u8 {
        match self {
            Stop::Quit => 0,
            Stop::Signal(_, number) => (128 + number) as u8,
            Stop::TerminalGone(_) => 129,
        }
    }
}

impl std::fmt::Display for Stop {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Stop::Quit => f.write_str("quit"),
            Stop::Signal(name, _) => write!(f, "{name}"),
            Stop::TerminalGone(why) => write!(f, "terminal gone: {why}"),
        }
    }
}

/// Where audit notes go: the audit log, with who and when added. An error
/// stops the action the note was written for from starting.
pub type Audit = Box<dyn FnMut(&AuditNote) -> std::result::Result<(), String> + Send>;

/// Runs the dashboard until `q`, a signal, or the terminal going away;
/// returns the process exit code.
pub async fn dashboard(
    mut app: App,
    sources: Vec<Source>,
    plan: PollPlan,
    mut audit: Audit,
) -> Result<u8> {
    let (tx, mut rx) = mpsc::unbounded_channel::<Msg>();
    let (stop_tx, mut stop_rx) = mpsc::unbounded_channel::<Stop>();
    let (on_screen, on_screen_rx) = watch::channel(app.feeds_on_screen());
    // Told which services' rows are drawn, after each frame that changes them.
    let metrics: Vec<_> = (sources.iter())
        .filter_map(|s| match s {
            Source::Metrics(m) => Some(m.clone()),
            Source::Alerts(_) => None,
        })
        .collect();
    let mut told: Option<Vec<String>> = None;
    for source in sources {
        poller::spawn(source, plan, on_screen_rx.clone(), tx.clone());
    }
    crate::sources::oncall::spawn(&app.oncall_sources, tx.clone());
    spawn_clock(tx.clone());
    // Handlers first, so a signal that arrives as the terminal is set up
    // still ends the loop with the terminal restored.
    let mut sigterm = signal(SignalKind::terminate())?;
    let mut sighup = signal(SignalKind::hangup())?;
    let mut sigint = signal(SignalKind::interrupt())?;
    let mut terminal =
        terminal::enter(app.settings.mouse).wrap_err("cannot set up the terminal")?;
    spawn_input(tx.clone(), stop_tx.clone());
    let hangup = stop_tx.clone();
    terminal::spawn_hangup_watchdog(move || {
        let _ = hangup.send(Stop::TerminalGone("the terminal hung up".into()));
    });

    // The first size goes through update like every later resize.
    if let Ok(size) = terminal.size() {
        app.update(Msg::Input(Event::Resize(size.width, size.height)));
    }
    let mut dirty = true;
    let mut runs = Runs::default();
    let stop = loop {
        dirty |= runs.carry_out(&mut app, &mut audit, &tx);
        dirty |= app.actions.take_audit_notices();
        if dirty {
            let exported = match terminal.draw(|frame| ui::draw(frame, &app)) {
                Ok(frame) if runs.export => Some(export(frame.buffer, app.now)),
                Ok(_) => None,
                Err(e) => break Stop::TerminalGone(format!("drawing failed: {e}")),
            };
            dirty = false;
            // As a set: rows sorted anew by a live figure are the same rows.
            let mut drawn = app.services_drawn.borrow().clone();
            drawn.extend(app.detail_drawn.borrow().clone());
            drawn.sort_unstable();
            drawn.dedup();
            if told.as_ref() != Some(&drawn) {
                let names = std::sync::Arc::new(drawn.clone());
                for m in &metrics {
                    m.on_screen(names.clone());
                }
                told = Some(drawn);
            }
            if let Some(result) = exported {
                runs.export = false;
                app.actions.notice = Some(result.unwrap_or_else(|e| e));
                dirty = true;
            }
        }
        tokio::select! {
            msg = rx.recv() => {
                let Some(msg) = msg else { break Stop::Quit };
                dirty |= app.apply(msg);
                // Coalesce: apply everything already queued, then recompute
                // what it changed once, before drawing.
                while let Ok(msg) = rx.try_recv() {
                    dirty |= app.apply(msg);
                }
                app.settle();
            }
            Some(stop) = stop_rx.recv() => break stop,
            _ = sigterm.recv() => break Stop::Signal("SIGTERM", 15),
            _ = sighup.recv() => break Stop::Signal("SIGHUP", 1),
            _ = sigint.recv() => break Stop::Signal("SIGINT", 2),
        }
        if app.quit {
            break Stop::Quit;
        }
        on_screen.send_if_modified(|feeds| {
            let now = app.feeds_on_screen();
            (*feeds != now).then(|| *feeds = now).is_some()
        });
    };
    runs.stop_all(&mut app, &mut audit, &mut rx).await;
    terminal::restore();
    // ratatui's Terminal shows the cursor again when dropped and reports a
    // failure with eprintln!, which panics when the tty is gone. restore()
    // has already shown the cursor, so the drop has nothing left to do.
    std::mem::forget(terminal);
    tracing::info!("stopped: {stop}");
    Ok(stop.exit_code())
}

/// Writes the screen as drawn to `opsdeck-<time>.txt` and `.svg` in
/// `$OPSDECK_EXPORT_DIR`, else the working directory; says where, or why
/// not.
fn export(
    buffer: &ratatui::buffer::Buffer,
    now: chrono::DateTime<Utc>,
) -> std::result::Result<String, String> {
    let dir = std::env::var_os("OPSDECK_EXPORT_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| std::path::PathBuf::from("."));
    let stem = dir.join(format!("opsdeck-{}", now.format("%Y%m%d-%H%M%S")));
    let (text, svg) = (stem.with_extension("txt"), stem.with_extension("svg"));
    std::fs::write(&text, ui::export::text(buffer))
        .and_then(|()| std::fs::write(&svg, ui::export::svg(buffer)))
        .map_err(|e| format!("export failed: {}: {e}", stem.display()))?;
    Ok(format!("exported: {} and .svg", text.display()))
}

/// Reads terminal events on a thread of its own (crossterm's read blocks).
fn spawn_input(tx: mpsc::UnboundedSender<Msg>, stop: mpsc::UnboundedSender<Stop>) {
    std::thread::Builder::new()
        .name("input".into())
        .spawn(move || {
            loop {
                match event::read() {
                    Ok(ev) => {
                        if tx.send(Msg::Input(ev)).is_err() {
                            return;
                        }
                    }
                    Err(e) => {
                        let _ = stop.send(Stop::TerminalGone(format!("reading input failed: {e}")));
                        return;
                    }
                }
            }
        })
        .expect("spawning a thread at start-up");
}

/// Ticks on each whole second, for the clock and the data ages in view.
fn spawn_clock(tx: mpsc::UnboundedSender<Msg>) {
    tokio::spawn(async move {
        for second in 1u64.. {
            if second % 10 == 0 {
                crate::sources::intern::prune();
            }
            let now = Utc::now();
            let to_next = 1_000 - now.timestamp_subsec_millis().min(999) as u64;
            tokio::time::sleep(Duration::from_millis(to_next)).await;
            if tx.send(Msg::Tick(Utc::now())).is_err() {
                return;
            }
        }
    });
}

/// The runs in flight: how to cancel each.
#[derive(Default)]
struct Runs {
    cancels: std::collections::BTreeMap<u64, tokio::sync::oneshot::Sender<()>>,
    /// The screen is to be exported once it is next drawn.
    export: bool,
}

impl Runs {
    /// Does what the app asked, in order: audit notes are written before
    /// the run they announce starts, and a run whose notes could not be
    /// written does not start. True when the screen must be redrawn.
    fn carry_out(
        &mut self,
        app: &mut App,
        audit: &mut Audit,
        tx: &mpsc::UnboundedSender<Msg>,
    ) -> bool {
        let effects: Vec<Effect> = app.actions.outbox.drain(..).collect();
        let mut changed = false;
        let mut unwritten: Option<String> = None;
        for effect in effects {
            match effect {
                Effect::Audit(note) => {
                    if let Err(e) = audit(&note) {
                        tracing::error!("audit log: {e}");
                        unwritten = Some(e);
                    }
                }
                Effect::Start { id, request } => {
                    let runner = app.actions.runners.for_backend(&request.backend);
                    let refused = match (&unwritten, runner) {
                        (Some(e), _) => Err(format!(
                            "not started: the audit log cannot be written ({e})"
                        )),
                        (None, None) => Err("not started: no runner for this backend".to_string()),
                        (None, Some(runner)) => Ok(runner),
                    };
                    match refused {
                        Err(detail) => {
                            app.update(Msg::ActionDone {
                                id,
                                outcome: ActionOutcome::Failed { detail },
                                at: Utc::now(),
                            });
                        }
                        Ok(runner) => {
                            let (cancel, cancelled) = tokio::sync::oneshot::channel();
                            // Runs that ended need no way to cancel them.
                            self.cancels
                                .retain(|id, _| app.actions.run(*id).is_some_and(|r| r.running()));
                            self.cancels.insert(id, cancel);
                            app.actions.mark_started(id, Utc::now());
                            spawn_run(id, runner, request, cancelled, tx.clone());
                        }
                    }
                    changed = true;
                }
                Effect::Cancel { id } => {
                    if let Some(cancel) = self.cancels.remove(&id) {
                        let _ = cancel.send(());
                    }
                }
                Effect::Copy(text) => terminal::copy(&text),
                Effect::Export => {
                    self.export = true;
                    changed = true;
                }
            }
        }
        // Finishing a run writes its last note; write it now.
        if !app.actions.outbox.is_empty() {
            changed |= self.carry_out(app, audit, tx);
        }
        changed
    }

    /// On the way out: every run still going is cancelled, and given a
    /// moment to end so that its end is audited.
    async fn stop_all(
        &mut self,
        app: &mut App,
        audit: &mut Audit,
        rx: &mut mpsc::UnboundedReceiver<Msg>,
    ) {
        if self.cancels.is_empty() {
            return;
        }
        for (_, cancel) in std::mem::take(&mut self.cancels) {
            let _ = cancel.send(());
        }
        // Longer than an exec run's own stop (2 s from SIGTERM to SIGKILL,
        // then up to 1 s for its last output).
        let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
        while app.actions.runs.iter().any(|r| r.running()) {
            match tokio::time::timeout_at(deadline, rx.recv()).await {
                Ok(Some(msg @ (Msg::ActionDone { .. } | Msg::ActionOutput { .. }))) => {
                    app.update(msg);
                }
                Ok(Some(_)) => {}
                Ok(None) | Err(_) => break,
            }
        }
        // Whatever did not answer in time is recorded as left running.
        let left: Vec<u64> = app
            .actions
            .runs
            .iter()
            .filter(|r| r.running())
            .map(|r| r.id)
            .collect();
        for id in left {
            app.update(Msg::ActionDone {
                id,
                outcome: ActionOutcome::Failed {
                    detail: "opsdeck exited; the run did not stop within 5 s".into(),
                },
                at: Utc::now(),
            });
        }
        for effect in app.actions.outbox.drain(..) {
            if let Effect::Audit(note) = effect
                && let Err(e) = audit(&note)
            {
                tracing::error!("audit log: {e}");
            }
        }
    }
}

/// Runs one action on its own task, its output and end sent as messages.
fn spawn_run(
    id: u64,
    runner: std::sync::Arc<dyn crate::actions::ActionRunner>,
    request: crate::actions::ActionRequest,
    cancel: tokio::sync::oneshot::Receiver<()>,
    tx: mpsc::UnboundedSender<Msg>,
) {
    tokio::spawn(async move {
        let (out, mut lines) = mpsc::unbounded_channel::<String>();
        let forward = tx.clone();
        let forwarder = tokio::spawn(async move {
            while let Some(line) = lines.recv().await {
                if forward.send(Msg::ActionOutput { id, line }).is_err() {
                    return;
                }
            }
        });
        let outcome = runner.run(request, out, cancel).await;
        let _ = forwarder.await;
        let _ = tx.send(Msg::ActionDone {
            id,
            outcome,
            at: Utc::now(),
        });
    });
}
