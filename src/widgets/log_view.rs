//! Draws log lines: stderr in its own style, optional timestamps, search matches
//! highlighted (the current one reversed on top), optional soft wrap.

use chrono::{DateTime, Utc};
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget, Wrap};

use crate::client::{LogLine, LogStreamKind};
use crate::ui::filter::Pattern;

#[derive(Debug, Clone, Copy, Default)]
pub struct LogStyles {
    pub stdout: Style,
    pub stderr: Style,
    pub timestamp: Style,
    pub search_match: Style,
}

pub struct LogView<'a> {
    /// (absolute line number, line), oldest first, already cut to the viewport.
    pub lines: Vec<(u64, &'a LogLine)>,
    pub timestamps: bool,
    pub wrap: bool,
    pub search: Option<&'a Pattern>,
    pub current_match: Option<u64>,
    pub styles: LogStyles,
}

fn stamp(t: Option<DateTime<Utc>>) -> String {
    match t {
        Some(t) => t.format("%Y-%m-%dT%H:%M:%S%.3fZ ").to_string(),
        None => " ".repeat(25),
    }
}

impl LogView<'_> {
    fn line(&self, abs: u64, l: &LogLine) -> Line<'static> {
        let base = match l.stream {
            LogStreamKind::Stdout => self.styles.stdout,
            LogStreamKind::Stderr => self.styles.stderr,
        };
        let mut spans = Vec::new();
        if self.timestamps {
            spans.push(Span::styled(stamp(l.time), self.styles.timestamp));
        }
        let ranges = self.search.map(|p| p.ranges(&l.text)).unwrap_or_default();
        let hit = if self.current_match == Some(abs) {
            self.styles
                .search_match
                .add_modifier(Modifier::REVERSED | Modifier::BOLD)
        } else {
            self.styles.search_match
        };
        let mut at = 0;
        for (a, b) in ranges {
            if a > at {
                spans.push(Span::styled(l.text[at..a].to_string(), base));
            }
            spans.push(Span::styled(l.text[a..b].to_string(), hit));
            at = b;
        }
        if at < l.text.len() {
            spans.push(Span::styled(l.text[at..].to_string(), base));
        }
        Line::from(spans)
    }
}

impl Widget for LogView<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let lines: Vec<Line> = self
            .lines
            .iter()
            .map(|(abs, l)| self.line(*abs, l))
            .collect();
        let mut p = Paragraph::new(lines);
        if self.wrap {
            p = p.wrap(Wrap { trim: false });
        }
        p.render(area, buf);
    }
}
