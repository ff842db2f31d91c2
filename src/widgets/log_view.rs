//! Draws log lines: stderr in its own style, the line's own ANSI colours over it,
//! optional timestamps, search matches highlighted (the current one reversed on top),
//! optional soft wrap.

use chrono::{DateTime, Utc};
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget, Wrap};

use crate::client::{LogLine, LogStreamKind};
use crate::ui::filter::Pattern;
use crate::ui::logs::Shown;

#[derive(Debug, Clone, Copy, Default)]
pub struct LogStyles {
    pub stdout: Style,
    pub stderr: Style,
    pub timestamp: Style,
    pub search_match: Style,
    /// Apply the lines' ANSI colours (off for a monochrome theme: modifiers only).
    pub colors: bool,
}

pub struct LogView<'a> {
    /// (absolute line number, line), oldest first, already cut to the viewport.
    pub lines: Vec<Shown<'a>>,
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
    /// The line's own style at a run: its colours only when the theme has colour.
    fn ansi(&self, s: Style) -> Style {
        if self.styles.colors {
            s
        } else {
            Style {
                fg: None,
                bg: None,
                ..s
            }
        }
    }

    fn line(&self, abs: u64, l: &LogLine, runs: &[(usize, Style)]) -> Line<'static> {
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
        // Cut the text wherever the colour changes or a match starts or ends.
        let mut cuts: Vec<usize> = runs.iter().map(|(at, _)| *at).collect();
        cuts.extend(ranges.iter().flat_map(|(a, b)| [*a, *b]));
        cuts.push(0);
        cuts.push(l.text.len());
        cuts.sort_unstable();
        cuts.dedup();
        for w in cuts.windows(2) {
            let (a, b) = (w[0], w[1]);
            if a >= b || !l.text.is_char_boundary(a) || !l.text.is_char_boundary(b) {
                continue;
            }
            let style = if ranges.iter().any(|(s, e)| *s <= a && a < *e) {
                hit
            } else {
                base.patch(self.ansi(super::ansi::style_at(runs, a)))
            };
            spans.push(Span::styled(l.text[a..b].to_string(), style));
        }
        Line::from(spans)
    }
}

impl Widget for LogView<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let lines: Vec<Line> = self
            .lines
            .iter()
            .map(|(abs, l, runs)| self.line(*abs, l, runs))
            .collect();
        let mut p = Paragraph::new(lines);
        if self.wrap {
            p = p.wrap(Wrap { trim: false });
        }
        p.render(area, buf);
    }
}
