//! Mouse input: a click selects a row, a view tab or a details tab and focuses its
//! pane; the wheel scrolls whatever is under the pointer.

use crossterm::event::{MouseButton, MouseEvent, MouseEventKind};
use ratatui::layout::{Position, Rect};
use ratatui::text::Line;

use super::app::{App, DetailTab, Focus, Overlay, View};
use super::layout::areas;
use super::msg::Effect;

/// Rows the wheel moves per notch.
const WHEEL: isize = 3;

/// The text of the span of `line` (drawn from `x0`) under column `x`.
fn span_at(line: &Line<'_>, x0: u16, x: u16) -> Option<String> {
    let mut at = x0;
    for s in &line.spans {
        let w = s.width() as u16;
        if x >= at && x < at + w {
            return Some(s.content.trim().to_string());
        }
        at += w;
    }
    None
}

fn inside(r: Option<Rect>, x: u16, y: u16) -> Option<Rect> {
    r.filter(|r| r.contains(Position::new(x, y)))
}

impl App {
    pub(super) fn on_mouse(&mut self, m: MouseEvent, fx: &mut Vec<Effect>) {
        if !matches!(self.overlay, Overlay::None) {
            return;
        }
        // The terminal screen belongs to the process (which gets no mouse reports);
        // the wheel scrolls back through the pane's history.
        if self.terms.shown {
            match m.kind {
                MouseEventKind::ScrollUp => self.scroll_terminal(WHEEL),
                MouseEventKind::ScrollDown => self.scroll_terminal(-WHEEL),
                _ => {}
            }
            return;
        }
        let a = areas(self);
        let (x, y) = (m.column, m.row);
        let th = self.table_height();
        let dh = self.details_height();
        match m.kind {
            MouseEventKind::ScrollUp | MouseEventKind::ScrollDown => {
                let delta = if m.kind == MouseEventKind::ScrollUp {
                    -WHEEL
                } else {
                    WHEEL
                };
                if inside(a.details, x, y).is_some() {
                    self.scroll_details(delta, dh);
                } else if inside(a.table, x, y).is_some() {
                    self.with_table(&mut |t| t.move_by(delta, th));
                }
            }
            MouseEventKind::Down(MouseButton::Left) => {
                if y == a.header.y {
                    let label = span_at(&self.header_line(), a.header.x, x);
                    let digit = label.and_then(|l| l.chars().next()?.to_digit(10));
                    if let Some(v) = digit.and_then(|d| View::ALL.get(d as usize - 1)) {
                        self.set_view(*v);
                    }
                } else if let Some(t) = inside(a.table, x, y) {
                    self.focus = Focus::Table;
                    // Below the top border and the column header, above the bottom border.
                    let first = t.y + 2;
                    if y >= first && y + 1 < t.y + t.height {
                        let row = usize::from(y - first);
                        self.with_table(&mut |tb| {
                            let index = tb.offset() + row;
                            tb.select(index, th);
                        });
                    }
                } else if let Some(d) = inside(a.details, x, y) {
                    if self.details.target.is_none() {
                        return;
                    }
                    self.focus = Focus::Details;
                    if y == d.y && self.view == View::Containers {
                        let label = span_at(&self.details_title(), d.x + 1, x);
                        if let Some(tab) = DetailTab::CONTAINER
                            .iter()
                            .find(|t| Some(t.title()) == label.as_deref())
                        {
                            self.details.tab = *tab;
                            if *tab == DetailTab::Top {
                                self.request_top(fx);
                            }
                        }
                    }
                }
            }
            _ => {}
        }
    }
}
