//! The log pane's state: a bounded window of lines (memory never grows with the log),
//! follow-the-end or a fixed scroll position, search with next/previous match, and
//! the timestamp and wrap toggles. Lines are made safe to draw when they arrive, with
//! their ANSI colours kept as style runs.
//!
//! The window opens on the log's tail; scrolling up past its first line asks for the
//! page before it (`wants_older`), which is put in front. When that overflows the
//! window, the newest lines go, live lines are no longer appended, and following the
//! end again asks for a fresh tail (`needs_reload`).

use std::collections::VecDeque;

use chrono::{DateTime, Utc};
use ratatui::style::Style;

use crate::client::LogLine;
use crate::widgets::ansi;

use super::filter::Pattern;

/// Longer lines are cut: a 90,000-character line must not stall every redraw.
pub const MAX_LINE_CHARS: usize = 4096;

/// Removes what would move the terminal's cursor or change its state: ANSI escape
/// sequences and control characters (tabs become spaces).
pub fn sanitize(text: &str) -> String {
    ansi::parse(text, MAX_LINE_CHARS).text
}

/// A line as drawn: its absolute number, the line, and its colour runs.
pub type Shown<'a> = (u64, &'a LogLine, &'a [(usize, Style)]);

#[derive(Debug, Clone)]
pub struct LogBuffer {
    lines: VecDeque<LogLine>,
    /// Whether each line matches the search (kept with the lines, so filtering and
    /// drawing never re-run the regex over the whole ring).
    hits: VecDeque<bool>,
    /// Each line's ANSI colours (empty for plain lines).
    runs: VecDeque<Vec<(usize, Style)>>,
    cap: usize,
    /// Older lines may exist before the first one held.
    more_before: bool,
    /// Newer lines were let go to make room for older ones: live lines are not
    /// appended (they would not follow on) until the tail is read again.
    gap_after: bool,
    /// Lines evicted so far: absolute line numbers stay valid while the ring turns.
    dropped: u64,
    /// None: follow the end. Some(n): absolute number of the first line shown.
    top: Option<u64>,
    search: Option<Pattern>,
    /// The match n/N last landed on (absolute line number).
    current: Option<u64>,
    pub timestamps: bool,
    pub wrap: bool,
    /// Show only the lines that match the search.
    pub only_matches: bool,
}

impl LogBuffer {
    pub fn new(cap: usize) -> LogBuffer {
        LogBuffer {
            lines: VecDeque::new(),
            hits: VecDeque::new(),
            runs: VecDeque::new(),
            cap: cap.max(1),
            more_before: true,
            gap_after: false,
            dropped: 0,
            top: None,
            search: None,
            current: None,
            timestamps: false,
            wrap: false,
            only_matches: false,
        }
    }

    /// Empties the buffer for another container, keeping the toggles and the search.
    pub fn reset(&mut self) {
        self.lines.clear();
        self.hits.clear();
        self.runs.clear();
        self.more_before = true;
        self.gap_after = false;
        self.dropped = 0;
        self.top = None;
        self.current = None;
    }

    /// The line made safe to draw, whether it matches the search, its colours.
    fn prepare(&self, line: LogLine) -> (LogLine, bool, Vec<(usize, Style)>) {
        let styled = ansi::parse(&line.text, MAX_LINE_CHARS);
        let hit = self
            .search
            .as_ref()
            .is_some_and(|p| p.matches(&styled.text));
        let line = LogLine {
            text: styled.text,
            ..line
        };
        (line, hit, styled.runs)
    }

    pub fn push(&mut self, line: LogLine) {
        if self.gap_after {
            return;
        }
        let (line, hit, runs) = self.prepare(line);
        if self.lines.len() == self.cap {
            self.lines.pop_front();
            self.hits.pop_front();
            self.runs.pop_front();
            self.dropped += 1;
            self.more_before = true;
        }
        self.hits.push_back(hit);
        self.runs.push_back(runs);
        self.lines.push_back(line);
        // A scrolled view keeps showing the same lines until they fall off the ring.
        if let Some(top) = self.top {
            if top < self.dropped {
                self.top = Some(self.dropped);
            }
        }
    }

    /// Puts a page of older lines (oldest first) in front of those held; `asked` is
    /// how many were asked for (fewer: the log's start was reached). The view stays
    /// on the lines it showed.
    pub fn prepend(&mut self, page: Vec<LogLine>, asked: usize) {
        if page.len() < asked {
            self.more_before = false;
        }
        let n = page.len() as u64;
        if n > self.dropped {
            // Absolute numbers start at 0: move everything held up to make room.
            let shift = n - self.dropped;
            self.dropped += shift;
            self.top = self.top.map(|t| t + shift);
            self.current = self.current.map(|c| c + shift);
        }
        for line in page.into_iter().rev() {
            let (line, hit, runs) = self.prepare(line);
            self.lines.push_front(line);
            self.hits.push_front(hit);
            self.runs.push_front(runs);
            self.dropped -= 1;
        }
        while self.lines.len() > self.cap {
            self.lines.pop_back();
            self.hits.pop_back();
            self.runs.pop_back();
            self.gap_after = true;
        }
        if let Some(t) = self.top {
            self.top = Some(t.min(self.end().saturating_sub(1)));
        }
    }

    /// The view is at the first line held and older ones may exist: time for the page
    /// before (its end: the oldest time held, and how many held lines share it). Not
    /// while only matches are shown: a page without one would leave the view where it
    /// was and ask for the next page, through the whole log.
    pub fn wants_older(&self) -> Option<(DateTime<Utc>, usize)> {
        if !self.more_before || self.filtering() || self.top.is_none_or(|t| t > self.first_shown())
        {
            return None;
        }
        let oldest = self.lines.front()?.time?;
        let same = self
            .lines
            .iter()
            .take_while(|l| l.time == Some(oldest))
            .count();
        Some((oldest, same))
    }

    /// Following the end, but newer lines were let go: the tail must be read again.
    pub fn needs_reload(&self) -> bool {
        self.gap_after && self.following()
    }

    pub fn len(&self) -> usize {
        self.lines.len()
    }

    pub fn is_empty(&self) -> bool {
        self.lines.is_empty()
    }

    pub fn following(&self) -> bool {
        self.top.is_none()
    }

    pub fn search(&self) -> Option<&Pattern> {
        self.search.as_ref()
    }

    pub fn current_match(&self) -> Option<u64> {
        self.current
    }

    /// Lines that match the search, out of those held.
    pub fn match_count(&self) -> usize {
        self.hits.iter().filter(|h| **h).count()
    }

    fn end(&self) -> u64 {
        self.dropped + self.lines.len() as u64
    }

    fn get(&self, abs: u64) -> Option<&LogLine> {
        abs.checked_sub(self.dropped)
            .and_then(|i| self.lines.get(i as usize))
    }

    fn runs_of(&self, abs: u64) -> &[(usize, Style)] {
        abs.checked_sub(self.dropped)
            .and_then(|i| self.runs.get(i as usize))
            .map(Vec::as_slice)
            .unwrap_or(&[])
    }

    fn hit(&self, abs: u64) -> bool {
        abs.checked_sub(self.dropped)
            .and_then(|i| self.hits.get(i as usize))
            .copied()
            .unwrap_or(false)
    }

    /// Whether a line is on screen at all (filtering hides the others).
    fn shown(&self, abs: u64) -> bool {
        !self.filtering() || self.hit(abs)
    }

    fn filtering(&self) -> bool {
        self.only_matches && self.search.is_some()
    }

    /// From `from`, `n` shown lines forwards (or backwards); stops at the ends.
    fn step(&self, from: u64, n: usize, forward: bool) -> u64 {
        let mut at = from;
        let mut left = n;
        while left > 0 {
            let next = if forward {
                (at + 1..self.end()).find(|&a| self.shown(a))
            } else {
                (self.dropped..at).rev().find(|&a| self.shown(a))
            };
            match next {
                Some(a) => at = a,
                None => break,
            }
            left -= 1;
        }
        at
    }

    fn first_shown(&self) -> u64 {
        (self.dropped..self.end())
            .find(|&a| self.shown(a))
            .unwrap_or(self.dropped)
    }

    /// The first line of the last full page.
    fn last_page_top(&self, height: usize) -> u64 {
        let mut count = 0;
        let mut top = self.end();
        for a in (self.dropped..self.end()).rev() {
            if self.shown(a) {
                top = a;
                count += 1;
                if count == height {
                    break;
                }
            }
        }
        if count == 0 {
            self.dropped
        } else {
            top
        }
    }

    pub fn follow(&mut self) {
        self.top = None;
    }

    pub fn scroll_by(&mut self, delta: isize, height: usize) {
        let last = self.last_page_top(height);
        let from = self.top.unwrap_or(last).max(self.first_shown());
        let top = self.step(from, delta.unsigned_abs(), delta > 0).min(last);
        // Scrolling back down to the end resumes following.
        self.top = if top >= last && delta > 0 {
            None
        } else {
            Some(top)
        };
    }

    pub fn go_top(&mut self) {
        self.top = Some(self.first_shown());
    }

    pub fn set_search(&mut self, text: &str) {
        self.search = Pattern::parse(text);
        self.current = None;
        let hits: VecDeque<bool> = match &self.search {
            Some(p) => self.lines.iter().map(|l| p.matches(&l.text)).collect(),
            None => self.lines.iter().map(|_| false).collect(),
        };
        self.hits = hits;
        if self.filtering() {
            self.top = None;
        }
    }

    /// Every line held that is shown (all, or the matches when filtering), oldest first.
    pub fn held(&self) -> Vec<&LogLine> {
        (self.dropped..self.end())
            .filter(|&a| self.shown(a))
            .filter_map(|a| self.get(a))
            .collect()
    }

    /// Shows only matching lines, or everything again.
    pub fn toggle_only_matches(&mut self) {
        self.only_matches = !self.only_matches;
        self.top = None;
    }

    /// Jumps to the next (or previous) matching line from the current match, or from
    /// the top of the screen; wraps around. False when nothing matches.
    pub fn next_match(&mut self, forward: bool, height: usize) -> bool {
        if self.search.is_none() {
            return false;
        }
        let n = self.lines.len() as u64;
        if n == 0 {
            return false;
        }
        let from = self
            .current
            .filter(|c| *c >= self.dropped && *c < self.end())
            .unwrap_or_else(|| self.top.unwrap_or(self.last_page_top(height)));
        for step in 1..=n {
            let rel = (from - self.dropped) as i64;
            let off = if forward { step as i64 } else { -(step as i64) };
            let idx = (rel + off).rem_euclid(n as i64) as u64 + self.dropped;
            if self.hit(idx) {
                self.current = Some(idx);
                let back = self.step(idx, height / 2, false);
                self.top = Some(back.min(self.last_page_top(height)));
                return true;
            }
        }
        false
    }

    /// Lines to draw in a `height` x `width` area, with their absolute numbers. With
    /// wrap on, long lines take several rows, so fewer lines fit.
    pub fn visible(&self, height: usize, width: usize) -> Vec<Shown<'_>> {
        let rows = |l: &LogLine| -> usize {
            if !self.wrap || width == 0 {
                return 1;
            }
            let stamp = if self.timestamps { 25 } else { 0 };
            (l.text.chars().count() + stamp).div_ceil(width).max(1)
        };
        let mut out = Vec::new();
        let mut used = 0;
        match self.top {
            None => {
                for abs in (self.dropped..self.end()).rev() {
                    if !self.shown(abs) {
                        continue;
                    }
                    let Some(l) = self.get(abs) else { break };
                    used += rows(l);
                    if used > height && !out.is_empty() {
                        break;
                    }
                    out.push((abs, l, self.runs_of(abs)));
                }
                out.reverse();
            }
            Some(top) => {
                for abs in top..self.end() {
                    if used >= height {
                        break;
                    }
                    if !self.shown(abs) {
                        continue;
                    }
                    let Some(l) = self.get(abs) else { break };
                    used += rows(l);
                    out.push((abs, l, self.runs_of(abs)));
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::LogStreamKind;

    fn line(text: &str) -> LogLine {
        LogLine {
            stream: LogStreamKind::Stdout,
            time: None,
            text: text.to_string(),
        }
    }

    fn buffer(n: usize, cap: usize) -> LogBuffer {
        let mut b = LogBuffer::new(cap);
        for i in 0..n {
            b.push(line(&format!("line {i}")));
        }
        b
    }

    fn shown(b: &LogBuffer, h: usize) -> Vec<String> {
        b.visible(h, 80)
            .iter()
            .map(|(_, l, _)| l.text.clone())
            .collect()
    }

    #[test]
    fn ring_is_bounded() {
        let b = buffer(10, 4);
        assert_eq!(b.len(), 4);
        assert_eq!(shown(&b, 10), ["line 6", "line 7", "line 8", "line 9"]);
    }

    #[test]
    fn follow_shows_the_end_and_scrolling_pins_the_view() {
        let mut b = buffer(10, 100);
        assert_eq!(shown(&b, 3), ["line 7", "line 8", "line 9"]);
        b.scroll_by(-2, 3);
        assert!(!b.following());
        b.push(line("line 10"));
        assert_eq!(shown(&b, 3), ["line 5", "line 6", "line 7"]);
        b.scroll_by(100, 3);
        assert!(b.following());
        assert_eq!(shown(&b, 3), ["line 8", "line 9", "line 10"]);
        b.go_top();
        assert_eq!(shown(&b, 2), ["line 0", "line 1"]);
    }

    #[test]
    fn scrolled_view_survives_eviction() {
        let mut b = buffer(5, 5);
        b.go_top();
        b.push(line("line 5"));
        b.push(line("line 6"));
        assert_eq!(shown(&b, 2), ["line 2", "line 3"]);
    }

    #[test]
    fn search_next_prev_wraps() {
        let mut b = buffer(20, 100);
        b.set_search("line 1[05]");
        assert!(b.next_match(true, 4));
        assert_eq!(b.current_match(), Some(10));
        assert!(b.next_match(true, 4));
        assert_eq!(b.current_match(), Some(15));
        assert!(b.next_match(true, 4));
        assert_eq!(b.current_match(), Some(10));
        assert!(b.next_match(false, 4));
        assert_eq!(b.current_match(), Some(15));
        assert!(shown(&b, 4).contains(&"line 15".to_string()));
        b.set_search("nothing here");
        assert!(!b.next_match(true, 4));
    }

    #[test]
    fn only_matching_lines() {
        let mut b = buffer(30, 100);
        b.set_search("line [123]?5$");
        assert_eq!(b.match_count(), 3);
        b.toggle_only_matches();
        assert_eq!(shown(&b, 10), ["line 5", "line 15", "line 25"]);
        assert_eq!(shown(&b, 2), ["line 15", "line 25"]);
        b.scroll_by(-1, 2);
        assert_eq!(shown(&b, 2), ["line 5", "line 15"]);
        b.push(line("line 35"));
        b.push(line("line 36"));
        assert_eq!(b.match_count(), 4);
        b.follow();
        assert_eq!(shown(&b, 2), ["line 25", "line 35"]);
        assert!(b.next_match(false, 2));
        assert_eq!(b.current_match(), Some(15));
        b.toggle_only_matches();
        assert_eq!(shown(&b, 3), ["line 29", "line 35", "line 36"]);
    }

    #[test]
    fn wrap_fits_fewer_lines() {
        let mut b = LogBuffer::new(10);
        b.push(line(&"x".repeat(100)));
        b.push(line("short"));
        b.wrap = true;
        assert_eq!(b.visible(2, 40).len(), 1);
        assert_eq!(b.visible(4, 40).len(), 2);
        b.wrap = false;
        assert_eq!(b.visible(2, 40).len(), 2);
    }

    #[test]
    fn older_pages_go_in_front_and_the_window_stays_bounded() {
        let timed = |i: i64| LogLine {
            time: chrono::DateTime::from_timestamp(1_700_000_000 + i, 0),
            ..line(&format!("line {i}"))
        };
        let mut b = LogBuffer::new(6);
        for i in 6..10 {
            b.push(timed(i));
        }
        assert_eq!(b.wants_older(), None, "following: no page wanted");
        b.go_top();
        b.set_search("line 9");
        b.toggle_only_matches();
        b.go_top();
        assert_eq!(b.wants_older(), None, "not while filtering");
        b.toggle_only_matches();
        b.go_top();
        let (before, same) = b.wants_older().expect("at the first line held");
        assert_eq!((before, same), (timed(6).time.unwrap(), 1));
        b.prepend((3..6).map(timed).collect(), 3);
        assert_eq!(shown(&b, 2), ["line 6", "line 7"], "the view stays put");
        assert_eq!(b.len(), 6);
        assert!(!b.needs_reload(), "nothing let go yet");
        b.go_top();
        b.prepend(vec![timed(2)], 3);
        assert_eq!(b.len(), 6, "bounded: the newest line went");
        assert_eq!(shown(&b, 2), ["line 3", "line 4"]);
        b.go_top();
        assert_eq!(shown(&b, 2), ["line 2", "line 3"]);
        assert_eq!(b.wants_older(), None, "the log's start was reached");
        b.push(timed(10));
        assert_eq!(b.len(), 6, "live lines wait for a fresh tail");
        b.follow();
        assert!(b.needs_reload());
    }

    #[test]
    fn colour_runs_follow_their_lines() {
        let mut b = LogBuffer::new(3);
        b.push(line("\u{1b}[32mok\u{1b}[0m done"));
        let v = b.visible(1, 80);
        assert_eq!(v[0].1.text, "ok done");
        assert_eq!(v[0].2.len(), 2);
        b.push(line("plain"));
        assert!(b.visible(1, 80)[0].2.is_empty());
    }

    #[test]
    fn sanitize_strips_escapes_and_clamps() {
        assert_eq!(sanitize("\u{1b}[31mred\u{1b}[0m\tx\r"), "red    x");
        assert_eq!(sanitize("a\u{1b}]0;title\u{7}b"), "ab");
        let long = sanitize(&"y".repeat(MAX_LINE_CHARS + 10));
        assert_eq!(long.chars().count(), MAX_LINE_CHARS + 1);
        assert!(long.ends_with('…'));
    }
}
