//! The app drawn into ratatui's `TestBackend`, read back as text: for the
//! tests that drive an `App` headless and read its screen as an operator
//! would.

use opsdeck::app::App;
use ratatui::Terminal;
use ratatui::backend::TestBackend;

/// Each row of the screen `app` draws at `width` × `height`.
pub fn screen_lines(app: &App, width: u16, height: u16) -> Vec<String> {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    terminal.draw(|f| opsdeck::ui::draw(f, app)).unwrap();
    let buffer = terminal.backend().buffer();
    (0..height)
        .map(|y| {
            (0..width)
                .map(|x| buffer[(x, y)].symbol())
                .collect::<String>()
        })
        .collect()
}

/// The screen as one text, a line per row.
pub fn render(app: &App, width: u16, height: u16) -> String {
    screen_lines(app, width, height).join("\n")
}
