//! Keys and the mouse: what a key press, a click or the wheel, or a key in
//! the filter does to the app.

use super::*;

impl App {
    pub(super) fn on_key(&mut self, key: KeyEvent) -> bool {
        // Ctrl-C always quits, whatever the mode or keymap: the way out an
        // operator reaches for without reading anything.
        if key.code == KeyCode::Char('c') && key.modifiers.contains(KeyModifiers::CONTROL) {
            self.quit = true;
            return true;
        }
        match self.mode {
            Mode::Filter => self.on_filter_key(key),
            Mode::Help => {
                // Any key leaves help.
                self.mode = Mode::Normal;
                true
            }
            Mode::Confirm => self.on_confirm_key(key),
            Mode::History if self.actions.history_filtering => self.on_history_filter_key(key),
            Mode::Prompt => self.on_prompt_key(key),
            _ => {
                let key = crate::config::keymap::Key::from_event(&key);
                match self.keymap.lookup_or_retry(&mut self.pending_keys, key) {
                    Some(command) => self.run(command),
                    None => false,
                }
            }
        }
    }

    /// The mouse, when `--mouse` turned it on: a click on a tab shows it,
    /// the wheel moves the selection. Nothing needs it.
    pub(super) fn on_mouse(&mut self, mouse: ratatui::crossterm::event::MouseEvent) -> bool {
        use ratatui::crossterm::event::{MouseButton, MouseEventKind};
        if !matches!(self.mode, Mode::Normal | Mode::Detail) {
            return false;
        }
        match mouse.kind {
            MouseEventKind::ScrollDown => self.focused_view().move_by(3),
            MouseEventKind::ScrollUp => self.focused_view().move_by(-3),
            MouseEventKind::Down(MouseButton::Left) => {
                match crate::ui::tab_at(self, mouse.column, mouse.row) {
                    Some(tab) => self.show(tab),
                    None => return false,
                }
            }
            _ => return false,
        }
        true
    }

    fn on_filter_key(&mut self, key: KeyEvent) -> bool {
        let view = self.focused_view();
        match key.code {
            KeyCode::Enter => self.mode = Mode::Normal,
            KeyCode::Esc => {
                view.filter.clear();
                self.mode = Mode::Normal;
            }
            KeyCode::Backspace => {
                view.filter.pop();
            }
            KeyCode::Char(c) if !key.modifiers.contains(KeyModifiers::CONTROL) => {
                view.filter.push(c)
            }
            _ => return false,
        }
        self.refilter();
        true
    }
}
