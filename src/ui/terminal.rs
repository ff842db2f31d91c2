//! Embedded terminal panes: exec and attach sessions shown inside the console. Each
//! pane keeps a vt100 screen fed with the session's output; while the terminal screen
//! is up, every key goes to the active pane's process except the detach sequence
//! (back to the console, sessions kept) and the pane-switch keys.

use crossterm::event::KeyEvent;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

use super::app::App;
use super::keymap::{Action, Context, Key};
use super::msg::Effect;

/// Lines of history each pane keeps above its screen.
const SCROLLBACK: usize = 1000;
/// The shell an exec pane runs: bash where the image has it, else sh.
pub const SHELL: [&str; 3] = [
    "/bin/sh",
    "-c",
    "if [ -x /bin/bash ]; then exec /bin/bash; else exec /bin/sh; fi",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PaneKind {
    Exec,
    Attach,
}

pub struct Pane {
    /// The session's number, the key of its task.
    pub id: u64,
    pub kind: PaneKind,
    /// "web: sh", "db: attach".
    pub label: String,
    pub parser: vt100::Parser,
    /// Output has arrived (until then the pane says it is connecting).
    pub live: bool,
    /// The last output byte was a CR (for line-ending repair across chunks).
    after_cr: bool,
}

/// A container without a terminal writes bare LFs, which a terminal screen takes as
/// "down one row" only: make them CR LF (CR LF pairs stay as they are).
pub fn crlf(data: &[u8], after_cr: &mut bool) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len() + data.len() / 16);
    for &b in data {
        if b == b'\n' && !*after_cr {
            out.push(b'\r');
        }
        out.push(b);
        *after_cr = b == b'\r';
    }
    out
}

#[derive(Default)]
pub struct Terminals {
    pub panes: Vec<Pane>,
    pub active: usize,
    /// The terminal screen is up (keys go to the active pane).
    pub shown: bool,
    next_id: u64,
    /// How much of the detach sequence has been typed (those keys are held back).
    held: Vec<KeyEvent>,
}

impl Terminals {
    pub fn active(&self) -> Option<&Pane> {
        self.panes.get(self.active)
    }

    fn index(&self, id: u64) -> Option<usize> {
        self.panes.iter().position(|p| p.id == id)
    }
}

/// Parses Docker's detach-keys format ("ctrl-p,ctrl-q") into keys.
pub fn parse_detach_keys(spec: &str) -> Result<Vec<Key>, String> {
    let keys = spec
        .split(',')
        .map(|k| Key::parse(k.trim()))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("detach_keys {spec:?}: {e}"))?;
    if keys.is_empty() {
        return Err(format!("detach_keys {spec:?}: no keys"));
    }
    Ok(keys)
}

impl App {
    /// The terminal area: the main area under the pane tabs.
    fn term_size(&self) -> (u16, u16) {
        let main = super::layout::main_area(self);
        (main.height.saturating_sub(1).max(1), main.width.max(1))
    }

    /// Opens an exec shell (or an attach) on the selected container in a new pane.
    pub(super) fn open_terminal(&mut self, kind: PaneKind, fx: &mut Vec<Effect>) {
        let verb = match kind {
            PaneKind::Exec => "exec",
            PaneKind::Attach => "attach",
        };
        if !self.writable(verb) {
            return;
        }
        if self.view != super::app::View::Containers {
            self.error(format!("{verb} applies to containers (press 1)"));
            return;
        }
        let Some(c) = self.containers.selected() else {
            self.error("no container selected");
            return;
        };
        if !c.running() {
            self.error(format!("{verb}: container {} is not running", c.name));
            return;
        }
        let (container, name) = (c.id.clone(), c.name.clone());
        let (rows, cols) = self.term_size();
        let t = &mut self.terms;
        t.next_id += 1;
        let id = t.next_id;
        let label = match kind {
            PaneKind::Exec => format!("{name}: shell"),
            PaneKind::Attach => format!("{name}: attach"),
        };
        t.panes.push(Pane {
            id,
            kind,
            label,
            parser: vt100::Parser::new(rows, cols, SCROLLBACK),
            live: false,
            after_cr: false,
        });
        t.active = t.panes.len() - 1;
        t.shown = true;
        t.held.clear();
        // The status bar now shows the pane's keys.
        self.status = None;
        fx.push(Effect::OpenTerm {
            pane: id,
            container,
            exec: (kind == PaneKind::Exec).then(|| SHELL.map(String::from).to_vec()),
            rows,
            cols,
        });
        self.dirty = true;
    }

    /// Quits, unless terminal sessions are open: then asks first (quitting detaches
    /// them, and exec'd shells keep running in their containers).
    pub(super) fn quit_or_confirm(&mut self) {
        let n = self.terms.panes.len();
        if n == 0 {
            self.quit = true;
            return;
        }
        let labels: Vec<String> = self.terms.panes.iter().map(|p| p.label.clone()).collect();
        self.overlay = super::app::Overlay::Confirm {
            title: "Quit berth?".into(),
            lines: vec![
                format!("{n} terminal session(s) open: {}", labels.join(", ")),
                "Quitting detaches them; shells keep running until they exit.".into(),
            ],
            yes: Effect::Quit,
            force: None,
        };
    }

    /// A paste: whole into the active pane (bracketed if its program asked for that),
    /// typed into an open prompt or form, and ignored elsewhere so pasted text cannot
    /// fire actions.
    pub(super) fn on_paste(&mut self, text: &str, fx: &mut Vec<Effect>) {
        use crossterm::event::{KeyCode, KeyModifiers};
        if self.terms.shown && matches!(self.overlay, super::app::Overlay::None) {
            let Some(p) = self.terms.active() else {
                return;
            };
            let mut data = Vec::with_capacity(text.len() + 12);
            let bracketed = p.parser.screen().bracketed_paste();
            if bracketed {
                data.extend_from_slice(b"\x1b[200~");
            }
            // Terminals send pasted line breaks as CR.
            data.extend(text.bytes().map(|b| if b == b'\n' { b'\r' } else { b }));
            if bracketed {
                data.extend_from_slice(b"\x1b[201~");
            }
            fx.push(Effect::TermInput { pane: p.id, data });
            return;
        }
        if matches!(
            self.overlay,
            super::app::Overlay::Prompt { .. } | super::app::Overlay::RunForm(_)
        ) {
            for c in text.chars().filter(|c| !c.is_control()) {
                self.on_key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE), fx);
            }
        }
    }

    /// `` ` ``: back to the terminal screen (or why not).
    pub(super) fn show_terminals(&mut self) {
        if self.terms.panes.is_empty() {
            self.error("no terminal sessions: e opens a shell in a container, a attaches");
        } else {
            self.terms.shown = true;
            self.terms.held.clear();
            self.status = None;
        }
    }

    /// A key while the terminal screen is up.
    pub(super) fn on_terminal_key(&mut self, k: KeyEvent, fx: &mut Vec<Effect>) {
        let key = Key::from_event(&k);
        let detach = self.settings.detach_keys.clone();
        let held = self.terms.held.len();
        if detach.get(held) == Some(&key) {
            if held + 1 == detach.len() {
                self.terms.held.clear();
                self.terms.shown = false;
                let label = self.terms.active().map(|p| p.label.clone());
                self.info(format!(
                    "detached from {} (` returns to it)",
                    label.unwrap_or_default()
                ));
            } else {
                self.terms.held.push(k);
            }
            return;
        }
        // Not the sequence after all: what was held goes to the process first.
        let mut pending: Vec<KeyEvent> = std::mem::take(&mut self.terms.held);
        if pending.is_empty() {
            match self.settings.keymap.lookup(key, &[Context::Terminal]) {
                Some(Action::TermNext) => return self.switch_pane(1),
                Some(Action::TermPrev) => return self.switch_pane(-1),
                _ => {}
            }
        }
        // Typing returns the view to the live screen.
        if let Some(p) = self.terms.panes.get_mut(self.terms.active) {
            p.parser.screen_mut().set_scrollback(0);
        }
        let Some(pane) = self.terms.active() else {
            self.terms.shown = false;
            return;
        };
        let app_cursor = pane.parser.screen().application_cursor();
        let id = pane.id;
        if detach.first() == Some(&key) {
            // It may start the sequence again.
            self.terms.held.push(k);
        } else {
            pending.push(k);
        }
        let data: Vec<u8> = pending
            .iter()
            .flat_map(|k| super::term_keys::key_bytes(k, app_cursor))
            .collect();
        if !data.is_empty() {
            fx.push(Effect::TermInput { pane: id, data });
        }
    }

    /// Moves the active pane's view `rows` lines back into its history (negative:
    /// towards the live screen).
    pub(super) fn scroll_terminal(&mut self, rows: isize) {
        if let Some(p) = self.terms.panes.get_mut(self.terms.active) {
            let s = p.parser.screen_mut();
            let at = s.scrollback() as isize + rows;
            s.set_scrollback(at.max(0) as usize);
        }
    }

    fn switch_pane(&mut self, delta: isize) {
        let n = self.terms.panes.len();
        if n > 0 {
            self.terms.active =
                (self.terms.active as isize + delta).rem_euclid(n as isize) as usize;
        }
    }

    pub(super) fn on_term_output(&mut self, id: u64, data: &[u8]) {
        let Some(i) = self.terms.index(id) else {
            return;
        };
        let pane = &mut self.terms.panes[i];
        if pane.kind == PaneKind::Attach {
            let fixed = crlf(data, &mut pane.after_cr);
            pane.parser.process(&fixed);
        } else {
            pane.parser.process(data);
        }
        pane.live = true;
        if self.terms.shown && i == self.terms.active {
            self.dirty = true;
        }
    }

    /// The session ended: the pane closes and the status bar says how.
    pub(super) fn on_term_ended(
        &mut self,
        id: u64,
        code: Option<i64>,
        error: Option<String>,
        fx: &mut Vec<Effect>,
    ) {
        fx.push(Effect::CloseTerm { pane: id });
        let Some(i) = self.terms.index(id) else {
            return;
        };
        let pane = self.terms.panes.remove(i);
        if self.terms.active > i || self.terms.active >= self.terms.panes.len() {
            self.terms.active = self.terms.active.saturating_sub(1);
        }
        if self.terms.panes.is_empty() {
            self.terms.shown = false;
        }
        match (error, code) {
            (Some(e), _) => self.error(format!("{}: {e}", pane.label)),
            (None, Some(c)) => self.info(format!("{}: exited with code {c}", pane.label)),
            (None, None) => self.info(format!("{}: session ended", pane.label)),
        }
    }

    /// After a resize: every pane takes the new size and tells its process.
    pub(super) fn resize_terminals(&mut self, fx: &mut Vec<Effect>) {
        let (rows, cols) = self.term_size();
        for p in &mut self.terms.panes {
            if p.parser.screen().size() != (rows, cols) {
                p.parser.screen_mut().set_size(rows, cols);
                fx.push(Effect::TermResize {
                    pane: p.id,
                    rows,
                    cols,
                });
            }
        }
    }

    /// The pane tabs and the active pane's screen.
    pub(super) fn draw_terminals(&self, f: &mut Frame, area: Rect) {
        let t = &self.settings.theme;
        let Some(active) = self.terms.active() else {
            return;
        };
        let mut spans = Vec::new();
        for (i, p) in self.terms.panes.iter().enumerate() {
            let style = if i == self.terms.active {
                t.tab_active
            } else {
                t.tab
            };
            spans.push(Span::styled(format!(" {} {} ", i + 1, p.label), style));
            spans.push(Span::raw(" "));
        }
        let detach: Vec<String> = self
            .settings
            .detach_keys
            .iter()
            .map(Key::to_string)
            .collect();
        let mut hint = format!("{} detach", detach.join(" "));
        if self.terms.panes.len() > 1 {
            hint.push_str(&format!(
                " · {}/{} switch",
                self.settings.keymap.label(Action::TermPrev),
                self.settings.keymap.label(Action::TermNext)
            ));
        }
        let used = Line::from(spans.clone()).width() + hint.chars().count() + 1;
        if used <= usize::from(area.width) {
            let pad = usize::from(area.width) - used;
            spans.push(Span::raw(" ".repeat(pad)));
            spans.push(Span::styled(hint, t.dim));
        }
        let tabs = Rect::new(area.x, area.y, area.width, 1);
        f.render_widget(Paragraph::new(Line::from(spans)), tabs);
        let screen = Rect::new(
            area.x,
            area.y + 1,
            area.width,
            area.height.saturating_sub(1),
        );
        if !active.live {
            f.render_widget(
                Paragraph::new(Span::styled(
                    format!("connecting to {}…", active.label),
                    t.dim,
                )),
                screen,
            );
            return;
        }
        let mut cursor = tui_term::widget::Cursor::default();
        if active.parser.screen().hide_cursor() {
            cursor.hide();
        }
        let term = tui_term::widget::PseudoTerminal::new(active.parser.screen()).cursor(cursor);
        f.render_widget(term, screen);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bare_line_feeds_become_crlf_across_chunks() {
        let mut cr = false;
        assert_eq!(crlf(b"a\nb\r\nc\r", &mut cr), b"a\r\nb\r\nc\r");
        assert_eq!(
            crlf(b"\nd\n", &mut cr),
            b"\nd\r\n",
            "the CR came in the last chunk"
        );
    }

    #[test]
    fn detach_keys_parse_dockers_format() {
        let keys = parse_detach_keys("ctrl-p, ctrl-q").unwrap();
        assert_eq!(
            keys,
            [Key::parse("ctrl-p").unwrap(), Key::parse("ctrl-q").unwrap()]
        );
        assert!(parse_detach_keys("ctrl-p,nope").is_err());
    }
}
