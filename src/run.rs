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

/// Runs the dashboard until `q`, a signal, or the terminal going away;
/// returns the process exit code.
pub async fn dashboard(mut app: App, sources: Vec<Source>, plan: PollPlan) -> Result<u8> {
    let (tx, mut rx) = mpsc::unbounded_channel::<Msg>();
    let (stop_tx, mut stop_rx) = mpsc::unbounded_channel::<Stop>();
    let (on_screen, on_screen_rx) = watch::channel(app.feeds_on_screen());
    for source in sources {
        poller::spawn(source, plan, on_screen_rx.clone(), tx.clone());
    }
    spawn_clock(tx.clone());
    // Handlers first, so a signal that arrives as the terminal is set up
    // still ends the loop with the terminal restored.
    let mut sigterm = signal(SignalKind::terminate())?;
    let mut sighup = signal(SignalKind::hangup())?;
    let mut sigint = signal(SignalKind::interrupt())?;
    let mut terminal = terminal::enter().wrap_err("cannot set up the terminal")?;
    spawn_input(tx.clone(), stop_tx.clone());
    let hangup = stop_tx.clone();
    terminal::spawn_hangup_watchdog(Duration::from_millis(200), move || {
        let _ = hangup.send(Stop::TerminalGone("the terminal hung up".into()));
    });

    // The first size goes through update like every later resize.
    if let Ok(size) = terminal.size() {
        app.update(Msg::Input(Event::Resize(size.width, size.height)));
    }
    let mut dirty = true;
    let stop = loop {
        if dirty {
            if let Err(e) = terminal.draw(|frame| ui::draw(frame, &app)) {
                break Stop::TerminalGone(format!("drawing failed: {e}"));
            }
            dirty = false;
        }
        tokio::select! {
            msg = rx.recv() => {
                let Some(msg) = msg else { break Stop::Quit };
                dirty |= app.update(msg);
                // Coalesce: apply everything already queued before drawing.
                while let Ok(msg) = rx.try_recv() {
                    dirty |= app.update(msg);
                }
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
    terminal::restore();
    // ratatui's Terminal shows the cursor again when dropped and reports a
    // failure with eprintln!, which panics when the tty is gone. restore()
    // has already shown the cursor, so the drop has nothing left to do.
    std::mem::forget(terminal);
    tracing::info!("stopped: {stop}");
    Ok(stop.exit_code())
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
        loop {
            let now = Utc::now();
            let to_next = 1_000 - now.timestamp_subsec_millis().min(999) as u64;
            tokio::time::sleep(Duration::from_millis(to_next)).await;
            if tx.send(Msg::Tick(Utc::now())).is_err() {
                return;
            }
        }
    });
}
