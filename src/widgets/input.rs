//! A one-line text input (filters, the command palette, dialogs): editing keys as in a
//! shell (ctrl-u, ctrl-w, home/end), positions counted in characters.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::style::Style;
use ratatui::text::{Line, Span};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InputEvent {
    Changed,
    Moved,
    Submit,
    Cancel,
    /// Not an editing key (Tab, Up...): the owner may use it.
    Ignored,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LineInput {
    text: String,
    /// Cursor position in chars.
    cursor: usize,
}

impl LineInput {
    pub fn new(text: &str) -> LineInput {
        LineInput {
            text: text.to_string(),
            cursor: text.chars().count(),
        }
    }

    pub fn text(&self) -> &str {
        &self.text
    }

    pub fn set(&mut self, text: &str) {
        *self = LineInput::new(text);
    }

    fn byte_at(&self, char_idx: usize) -> usize {
        self.text
            .char_indices()
            .nth(char_idx)
            .map(|(i, _)| i)
            .unwrap_or(self.text.len())
    }

    pub fn handle(&mut self, key: &KeyEvent) -> InputEvent {
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        let len = self.text.chars().count();
        match key.code {
            KeyCode::Enter => InputEvent::Submit,
            KeyCode::Esc => InputEvent::Cancel,
            KeyCode::Char('c') if ctrl => InputEvent::Cancel,
            KeyCode::Char('u') if ctrl => {
                let at = self.byte_at(self.cursor);
                self.text.replace_range(..at, "");
                self.cursor = 0;
                InputEvent::Changed
            }
            KeyCode::Char('w') if ctrl => {
                let chars: Vec<char> = self.text.chars().collect();
                let mut start = self.cursor;
                while start > 0 && chars[start - 1] == ' ' {
                    start -= 1;
                }
                while start > 0 && chars[start - 1] != ' ' {
                    start -= 1;
                }
                let (a, b) = (self.byte_at(start), self.byte_at(self.cursor));
                self.text.replace_range(a..b, "");
                self.cursor = start;
                InputEvent::Changed
            }
            KeyCode::Char('a') if ctrl => {
                self.cursor = 0;
                InputEvent::Moved
            }
            KeyCode::Char('e') if ctrl => {
                self.cursor = len;
                InputEvent::Moved
            }
            KeyCode::Char(c) if !ctrl => {
                let at = self.byte_at(self.cursor);
                self.text.insert(at, c);
                self.cursor += 1;
                InputEvent::Changed
            }
            KeyCode::Backspace if self.cursor > 0 => {
                let (a, b) = (self.byte_at(self.cursor - 1), self.byte_at(self.cursor));
                self.text.replace_range(a..b, "");
                self.cursor -= 1;
                InputEvent::Changed
            }
            KeyCode::Delete if self.cursor < len => {
                let (a, b) = (self.byte_at(self.cursor), self.byte_at(self.cursor + 1));
                self.text.replace_range(a..b, "");
                InputEvent::Changed
            }
            KeyCode::Left if self.cursor > 0 => {
                self.cursor -= 1;
                InputEvent::Moved
            }
            KeyCode::Right if self.cursor < len => {
                self.cursor += 1;
                InputEvent::Moved
            }
            KeyCode::Home => {
                self.cursor = 0;
                InputEvent::Moved
            }
            KeyCode::End => {
                self.cursor = len;
                InputEvent::Moved
            }
            KeyCode::Backspace | KeyCode::Delete | KeyCode::Left | KeyCode::Right => {
                InputEvent::Moved
            }
            _ => InputEvent::Ignored,
        }
    }

    /// The text after `prompt`, the cursor cell drawn with `cursor` style.
    pub fn line(&self, prompt: &str, prompt_style: Style, cursor: Style) -> Line<'static> {
        let at = self.byte_at(self.cursor);
        let (before, rest) = self.text.split_at(at);
        let mut chars = rest.chars();
        let under = chars.next().map(String::from).unwrap_or_else(|| " ".into());
        Line::from(vec![
            Span::styled(prompt.to_string(), prompt_style),
            Span::raw(before.to_string()),
            Span::styled(under, cursor),
            Span::raw(chars.as_str().to_string()),
        ])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn press(i: &mut LineInput, code: KeyCode, mods: KeyModifiers) -> InputEvent {
        i.handle(&KeyEvent::new(code, mods))
    }

    fn typed(i: &mut LineInput, s: &str) {
        for c in s.chars() {
            press(i, KeyCode::Char(c), KeyModifiers::NONE);
        }
    }

    #[test]
    fn edits_like_a_shell() {
        let mut i = LineInput::default();
        typed(&mut i, "héllo world");
        assert_eq!(i.text(), "héllo world");
        press(&mut i, KeyCode::Char('w'), KeyModifiers::CONTROL);
        assert_eq!(i.text(), "héllo ");
        press(&mut i, KeyCode::Home, KeyModifiers::NONE);
        press(&mut i, KeyCode::Right, KeyModifiers::NONE);
        press(&mut i, KeyCode::Delete, KeyModifiers::NONE);
        assert_eq!(i.text(), "hllo ");
        typed(&mut i, "e");
        press(&mut i, KeyCode::Backspace, KeyModifiers::NONE);
        press(&mut i, KeyCode::Backspace, KeyModifiers::NONE);
        assert_eq!(i.text(), "llo ");
        press(&mut i, KeyCode::End, KeyModifiers::NONE);
        press(&mut i, KeyCode::Char('u'), KeyModifiers::CONTROL);
        assert_eq!(i.text(), "");
        assert_eq!(
            press(&mut i, KeyCode::Backspace, KeyModifiers::NONE),
            InputEvent::Moved
        );
        assert_eq!(
            press(&mut i, KeyCode::Enter, KeyModifiers::NONE),
            InputEvent::Submit
        );
        assert_eq!(
            press(&mut i, KeyCode::Tab, KeyModifiers::NONE),
            InputEvent::Ignored
        );
    }
}
