//! The terminal: raw mode and the alternate screen, restored on every way
//! out — normal exit, panic in any thread, SIGTERM, SIGHUP, SIGINT — and a
//! watchdog that notices when the terminal itself has gone.

use std::io::{self, Write};
use std::os::fd::{AsFd, BorrowedFd};
use std::sync::atomic::{AtomicBool, Ordering};

use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;
use ratatui::crossterm::{cursor, event, execute, terminal};

pub type Tui = Terminal<CrosstermBackend<FrameWriter>>;

static ACTIVE: AtomicBool = AtomicBool::new(false);
/// Mouse reports are on (`--mouse`), to be turned off on the way out.
static MOUSE: AtomicBool = AtomicBool::new(false);

thread_local! {
    /// Set while `guarded` runs code whose panic is caught and reported.
    static GUARDED: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Runs `f`, turning a panic inside it into `None`: for third-party code fed
/// server data (the exposition parser). The panic hook leaves such a panic
/// to be caught instead of ending the program.
pub fn guarded<T>(f: impl FnOnce() -> T + std::panic::UnwindSafe) -> Option<T> {
    GUARDED.with(|g| g.set(true));
    let result = std::panic::catch_unwind(f).ok();
    GUARDED.with(|g| g.set(false));
    result
}

/// Raw mode and the alternate screen; with `mouse`, mouse reports too
/// (which take the terminal's own text selection, hence only on request).
pub fn enter(mouse: bool) -> io::Result<Tui> {
    terminal::enable_raw_mode()?;
    ACTIVE.store(true, Ordering::SeqCst);
    // Bracketed paste: pasted text arrives as one paste event, never as
    // keys that could answer a confirmation dialog.
    execute!(
        io::stdout(),
        terminal::EnterAlternateScreen,
        cursor::Hide,
        event::EnableBracketedPaste
    )?;
    if mouse {
        MOUSE.store(true, Ordering::SeqCst);
        execute!(io::stdout(), event::EnableMouseCapture)?;
    }
    Terminal::new(CrosstermBackend::new(FrameWriter::default()))
}

/// The terminal's writer for frames: holds a frame's bytes until it is
/// flushed, then writes them only if they change something on screen. A
/// redraw whose cells are all unchanged still has ratatui write its colour
/// reset and cursor hiding; those alone are dropped, so an unchanged frame
/// writes nothing (a slow SSH link and a war-room screen for days care).
#[derive(Default)]
pub struct FrameWriter {
    frame: Vec<u8>,
}

impl Write for FrameWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.frame.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        let frame = std::mem::take(&mut self.frame);
        if changes_the_screen(&frame) {
            let mut out = io::stdout();
            out.write_all(&frame)?;
            out.flush()?;
        }
        Ok(())
    }
}

/// Whether `bytes` do more than set colours, move or hide the cursor: any
/// text, and any other control sequence (a clear, a mode change), counts.
pub fn changes_the_screen(bytes: &[u8]) -> bool {
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] != 0x1b {
            return true;
        }
        // CSI: ESC [ parameters… final byte.
        if bytes.get(i + 1) != Some(&b'[') {
            return true;
        }
        let start = i + 2;
        let Some(len) = bytes[start..]
            .iter()
            .position(|b| (0x40..=0x7e).contains(b))
        else {
            return true;
        };
        let params = &bytes[start..start + len];
        let harmless = match bytes[start + len] {
            b'm' | b'H' => true,
            b'l' | b'h' => params == b"?25",
            _ => false,
        };
        if !harmless {
            return true;
        }
        i = start + len + 1;
    }
    false
}

/// Puts the terminal back as it was. Safe to call more than once and from a
/// panic hook; errors are ignored because the terminal may already be gone.
pub fn restore() {
    if ACTIVE.swap(false, Ordering::SeqCst) {
        let mut out = io::stdout();
        if MOUSE.swap(false, Ordering::SeqCst) {
            let _ = execute!(out, event::DisableMouseCapture);
        }
        let _ = execute!(
            out,
            event::DisableBracketedPaste,
            terminal::LeaveAlternateScreen,
            cursor::Show
        );
        let _ = terminal::disable_raw_mode();
        let _ = out.flush();
    }
}

/// Puts `text` on the clipboard of whoever owns the terminal, even over
/// SSH, with OSC 52; base64 keeps anything in it from reaching the
/// terminal as a control sequence. Terminals that do not support it ignore
/// it.
pub fn copy(text: &str) {
    use base64::Engine;
    let encoded = base64::engine::general_purpose::STANDARD.encode(text);
    let mut out = io::stdout();
    let _ = write!(out, "\x1b]52;c;{encoded}\x07");
    let _ = out.flush();
}

/// On a panic anywhere: restore the terminal, then report and exit, so a
/// crashed background task never leaves a broken screen behind. The report
/// goes to the log and, if it is still there, to stderr; nothing here may
/// panic again (eprintln! would, on a dead terminal).
pub fn install_panic_hook(log_hint: String) {
    let (panic_hook, eyre_hook) = color_eyre::config::HookBuilder::default().into_hooks();
    let _ = eyre_hook.install();
    std::panic::set_hook(Box::new(move |info| {
        if GUARDED.with(std::cell::Cell::get) {
            tracing::warn!("caught a panic in guarded code: {info}");
            return;
        }
        restore();
        let report = panic_hook.panic_report(info).to_string();
        tracing::error!("panic: {report}");
        let mut err = io::stderr();
        let _ = writeln!(err, "{report}\nopsdeck crashed; the log is in {log_hint}");
        std::process::exit(101);
    }));
}

/// True when the controlling terminal has hung up (the SSH connection
/// dropped, the tmux server died). Polls without reading, so no key is lost.
pub fn hung_up(fd: BorrowedFd<'_>) -> bool {
    use rustix::event::{PollFd, PollFlags, poll};
    let mut fds = [PollFd::new(&fd, PollFlags::empty())];
    match poll(
        &mut fds,
        Some(&rustix::event::Timespec {
            tv_sec: 0,
            tv_nsec: 0,
        }),
    ) {
        Ok(_) => fds[0]
            .revents()
            .intersects(PollFlags::HUP | PollFlags::ERR | PollFlags::NVAL),
        Err(_) => true,
    }
}

/// Calls `on_hangup` once the controlling terminal hangs up. crossterm's
/// reader spins instead of failing when its tty vanishes (crossterm issue
/// 793), so the event loop cannot rely on a read error to notice. The
/// watchdog waits in `poll` on `/dev/tty`, the terminal itself whatever
/// stdin is, asking for no event: only a hang-up or an error wakes it, at
/// once, and it costs nothing until then.
pub fn spawn_hangup_watchdog(on_hangup: impl FnOnce() + Send + 'static) {
    let tty = match std::fs::File::open("/dev/tty") {
        Ok(tty) => tty,
        Err(e) => {
            tracing::warn!("no hang-up watchdog: cannot open /dev/tty: {e}");
            return;
        }
    };
    std::thread::Builder::new()
        .name("tty-watchdog".into())
        .spawn(move || {
            use rustix::event::{PollFd, PollFlags, poll};
            loop {
                let mut fds = [PollFd::new(&tty, PollFlags::empty())];
                match poll(&mut fds, None) {
                    Ok(_) if hung_up(tty.as_fd()) => break,
                    Ok(_) | Err(rustix::io::Errno::INTR) => {}
                    Err(_) => break,
                }
            }
            on_hangup();
        })
        .expect("spawning a thread at start-up");
}

#[cfg(test)]
mod frame_tests {
    use super::changes_the_screen;

    #[test]
    fn colour_resets_and_cursor_moves_alone_change_nothing() {
        assert!(!changes_the_screen(b""));
        assert!(!changes_the_screen(
            b"\x1b[39m\x1b[49m\x1b[59m\x1b[0m\x1b[?25l"
        ));
        assert!(!changes_the_screen(b"\x1b[12;40H\x1b[0m"));
        assert!(changes_the_screen(b"\x1b[12;40H5"), "a cell");
        assert!(
            changes_the_screen(b"\x1b[12;40H "),
            "a cell cleared to a space"
        );
        assert!(changes_the_screen(b"\x1b[2J"), "a clear");
        assert!(changes_the_screen(b"\x1b[?1049h"), "the alternate screen");
        assert!(changes_the_screen(b"\x1b]52;c;aGk=\x07"), "not CSI");
        assert!(changes_the_screen(b"\x1b[12"), "a cut sequence is kept");
    }
}
