//! ANSI colours in log lines: SGR sequences (`ESC [ ... m`) become ratatui styles over
//! byte ranges of the plain text; every other escape sequence and control character is
//! dropped, so a line can never move the cursor or change the terminal's state.

use ratatui::style::{Color, Modifier, Style};

/// A line made safe to draw: its plain text, and where its SGR styles change (byte
/// offset into `text`, the style from there on). Empty runs for uncoloured lines.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Styled {
    pub text: String,
    pub runs: Vec<(usize, Style)>,
}

impl Styled {
    pub fn style_at(&self, at: usize) -> Style {
        style_at(&self.runs, at)
    }
}

/// The SGR style of `runs` at byte `at` (default before the first run).
pub fn style_at(runs: &[(usize, Style)], at: usize) -> Style {
    match runs.partition_point(|(start, _)| *start <= at) {
        0 => Style::default(),
        i => runs[i - 1].1,
    }
}

const BASIC: [Color; 8] = [
    Color::Black,
    Color::Red,
    Color::Green,
    Color::Yellow,
    Color::Blue,
    Color::Magenta,
    Color::Cyan,
    Color::Gray,
];
const BRIGHT: [Color; 8] = [
    Color::DarkGray,
    Color::LightRed,
    Color::LightGreen,
    Color::LightYellow,
    Color::LightBlue,
    Color::LightMagenta,
    Color::LightCyan,
    Color::White,
];

/// `38;5;n` or `38;2;r;g;b` (and 48 for the background): the colour and how many
/// parameters it used after the 38/48.
fn extended(params: &[u16]) -> Option<(Color, usize)> {
    match params {
        [5, n, ..] => Some((Color::Indexed(u8::try_from(*n).ok()?), 2)),
        [2, r, g, b, ..] => Some((
            Color::Rgb(
                u8::try_from(*r).ok()?,
                u8::try_from(*g).ok()?,
                u8::try_from(*b).ok()?,
            ),
            4,
        )),
        _ => None,
    }
}

/// Applies one SGR sequence's parameters to `s`.
fn apply_sgr(mut s: Style, params: &[u16]) -> Style {
    if params.is_empty() {
        return Style::default();
    }
    let mut i = 0;
    while i < params.len() {
        let p = params[i];
        i += 1;
        s = match p {
            0 => Style::default(),
            1 => s.add_modifier(Modifier::BOLD),
            2 => s.add_modifier(Modifier::DIM),
            3 => s.add_modifier(Modifier::ITALIC),
            4 => s.add_modifier(Modifier::UNDERLINED),
            5 | 6 => s.add_modifier(Modifier::SLOW_BLINK),
            7 => s.add_modifier(Modifier::REVERSED),
            8 => s.add_modifier(Modifier::HIDDEN),
            9 => s.add_modifier(Modifier::CROSSED_OUT),
            21 | 22 => s.remove_modifier(Modifier::BOLD | Modifier::DIM),
            23 => s.remove_modifier(Modifier::ITALIC),
            24 => s.remove_modifier(Modifier::UNDERLINED),
            25 => s.remove_modifier(Modifier::SLOW_BLINK),
            27 => s.remove_modifier(Modifier::REVERSED),
            28 => s.remove_modifier(Modifier::HIDDEN),
            29 => s.remove_modifier(Modifier::CROSSED_OUT),
            30..=37 => s.fg(BASIC[usize::from(p - 30)]),
            40..=47 => s.bg(BASIC[usize::from(p - 40)]),
            90..=97 => s.fg(BRIGHT[usize::from(p - 90)]),
            100..=107 => s.bg(BRIGHT[usize::from(p - 100)]),
            39 => Style { fg: None, ..s },
            49 => Style { bg: None, ..s },
            38 | 48 => match extended(&params[i..]) {
                Some((c, used)) => {
                    i += used;
                    if p == 38 {
                        s.fg(c)
                    } else {
                        s.bg(c)
                    }
                }
                // Malformed: ignore the rest of the sequence rather than misread it.
                None => return s,
            },
            _ => s,
        };
    }
    s
}

/// Parses `text`: SGR sequences become styles, other escapes and control characters
/// go, tabs become four spaces; the plain text is cut after `max_chars` characters.
pub fn parse(text: &str, max_chars: usize) -> Styled {
    let mut out = String::with_capacity(text.len().min(max_chars + 4));
    let mut runs: Vec<(usize, Style)> = Vec::new();
    let mut style = Style::default();
    let mut chars = text.chars().peekable();
    let mut n = 0;
    while let Some(c) = chars.next() {
        if n >= max_chars {
            out.push('…');
            break;
        }
        match c {
            '\u{1b}' => match chars.peek() {
                Some('[') => {
                    chars.next();
                    // CSI: parameter bytes, then a final byte in @..~.
                    let mut raw = String::new();
                    let mut fin = None;
                    for c in chars.by_ref() {
                        if ('@'..='~').contains(&c) {
                            fin = Some(c);
                            break;
                        }
                        raw.push(c);
                    }
                    if fin == Some('m') {
                        let params: Vec<u16> = raw
                            .split([';', ':'])
                            .map(|p| p.parse().unwrap_or(0))
                            .collect();
                        let params = if raw.is_empty() { vec![] } else { params };
                        let next = apply_sgr(style, &params);
                        if next != style {
                            style = next;
                            // Two changes at one spot: the later one wins.
                            if runs.last().is_some_and(|(at, _)| *at == out.len()) {
                                runs.pop();
                            }
                            runs.push((out.len(), style));
                        }
                    }
                }
                Some(']') => {
                    // OSC: up to BEL or ESC \.
                    for c in chars.by_ref() {
                        if c == '\u{7}' || c == '\u{1b}' {
                            break;
                        }
                    }
                }
                _ => {
                    // Other escapes: intermediate bytes (ESC ( B), then one final byte.
                    while chars.peek().is_some_and(|c| (' '..='/').contains(c)) {
                        chars.next();
                    }
                    chars.next();
                }
            },
            '\t' => {
                out.push_str("    ");
                n += 4;
            }
            c if c.is_control() => {}
            c => {
                out.push(c);
                n += 1;
            }
        }
    }
    // A line that only resets, or sets a style it never uses, has no runs worth keeping.
    if runs.iter().all(|(_, s)| *s == Style::default()) {
        runs.clear();
    }
    Styled { text: out, runs }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colours_become_runs_over_the_plain_text() {
        let s = parse("\x1b[31merror\x1b[0m: \x1b[1;38;5;208mdisk\x1b[m full", 100);
        assert_eq!(s.text, "error: disk full");
        assert_eq!(s.style_at(0), Style::default().fg(Color::Red));
        assert_eq!(s.style_at(5), Style::default());
        assert_eq!(
            s.style_at(7),
            Style::default()
                .fg(Color::Indexed(208))
                .add_modifier(Modifier::BOLD)
        );
        assert_eq!(s.style_at(12), Style::default());
    }

    #[test]
    fn truecolor_bright_and_background() {
        let s = parse("\x1b[38;2;10;20;30;104mx\x1b[39my", 100);
        assert_eq!(s.text, "xy");
        assert_eq!(
            s.style_at(0),
            Style::default()
                .fg(Color::Rgb(10, 20, 30))
                .bg(Color::LightBlue)
        );
        assert_eq!(s.style_at(1), Style::default().bg(Color::LightBlue));
    }

    #[test]
    fn other_escapes_and_controls_are_dropped() {
        let s = parse("a\x1b[2J\x1b[10;5Hb\x1b]0;title\x07c\x1b(Bd\r\x08e\tf", 100);
        assert_eq!(s.text, "abcde    f");
        assert!(s.runs.is_empty());
        // A reset alone leaves no runs; malformed SGR does not panic.
        assert!(parse("\x1b[0mplain", 10).runs.is_empty());
        assert_eq!(parse("\x1b[38;5mx\x1b[38;2;999;1;1my", 10).text, "xy");
        // An unterminated sequence at the end swallows nothing visible.
        assert_eq!(parse("ok\x1b[31", 10).text, "ok");
    }

    #[test]
    fn long_lines_are_cut() {
        let s = parse(&"x".repeat(50), 10);
        assert_eq!(s.text, format!("{}…", "x".repeat(10)));
    }
}
