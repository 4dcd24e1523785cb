//! The event loop: one channel carries input, poller results and clock ticks
//! to `App::update`; the screen is drawn once per batch of messages, and only
//! when something changed.

use std::time::Duration;

use chrono::Utc;
use color_eyre::Result;
use color_eyre::eyre::WrapErr;
use ratatui::crossterm::event;
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::{mpsc, watch};

use crate::app::{App, Msg};
use crate::sources::Source;
use crate::sources::poller::{self, PollPlan};
use crate::{terminal, ui};

/// Why the loop ended, for the log.
#[derive(Debug)]
enum Stop {
    Quit,
    Signal(&'static str),
    TerminalGone(String),
}

impl std::fmt::Display for Stop {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Stop::Quit => f.write_str("quit"),
            Stop::Signal(name) => write!(f, "{name}"),
            Stop::TerminalGone(why) => write!(f, "terminal gone: {why}"),
        }
    }
}

pub async fn dashboard(mut app: App, sources: Vec<Source>, plan: PollPlan) -> Result<()> {
    let (tx, mut rx) = mpsc::unbounded_channel::<Msg>();
    let (stop_tx, mut stop_rx) = mpsc::unbounded_channel::<Stop>();
    let (on_screen, on_screen_rx) = watch::channel(app.feeds_on_screen());
    for source in sources {
        poller::spawn(source, plan, on_screen_rx.clone(), tx.clone());
    }
    spawn_clock(tx.clone());
    let mut terminal = terminal::enter().wrap_err("cannot set up the terminal")?;
    spawn_input(tx.clone(), stop_tx.clone());
    let hangup = stop_tx.clone();
    terminal::spawn_hangup_watchdog(Duration::from_millis(200), move || {
        let _ = hangup.send(Stop::TerminalGone("the terminal hung up".into()));
    });
    let mut sigterm = signal(SignalKind::terminate())?;
    let mut sighup = signal(SignalKind::hangup())?;
    let mut sigint = signal(SignalKind::interrupt())?;

    let mut dirty = true;
    let stop = loop {
        if dirty {
            if let Err(e) = terminal.draw(|frame| ui::draw(frame, &app)) {
                break Stop::TerminalGone(format!("drawing failed: {e}"));
            }
            app.page_rows = terminal
                .size()
                .map_or(10, |s| s.height.saturating_sub(8) as usize);
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
            _ = sigterm.recv() => break Stop::Signal("SIGTERM"),
            _ = sighup.recv() => break Stop::Signal("SIGHUP"),
            _ = sigint.recv() => break Stop::Signal("SIGINT"),
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
    tracing::info!("stopped: {stop}");
    Ok(())
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
