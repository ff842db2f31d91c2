//! A ratatui `Buffer` as an SVG picture: one rectangle per run of background colour and
//! one text element per character, on a grid sized for DejaVu Sans Mono. Used to
//! render screenshots of the real UI without a terminal (rasterised elsewhere).

use std::fmt::Write;

use ratatui::buffer::Buffer;
use ratatui::style::{Color, Modifier};

/// Font size in px, and the cell grid DejaVu Sans Mono gives at that size: advance
/// 1233/2048 em, ascent + descent 1.164 em (so box-drawing lines join up).
const FONT_PX: f64 = 14.0;
const CELL_W: f64 = FONT_PX * 1233.0 / 2048.0;
const CELL_H: f64 = FONT_PX * 1.164;
const BASELINE: f64 = FONT_PX * 0.928;

/// The terminal's own colours, for `Color::Reset`.
#[derive(Debug, Clone, Copy)]
pub struct Palette {
    pub fg: &'static str,
    pub bg: &'static str,
}

pub const DARK: Palette = Palette {
    fg: "#d3d7cf",
    bg: "#1c1c22",
};
pub const LIGHT: Palette = Palette {
    fg: "#1c1c22",
    bg: "#fafafa",
};

/// The Tango palette for the 16 named colours.
const ANSI: [&str; 16] = [
    "#2e3436", "#cc0000", "#4e9a06", "#c4a000", "#3465a4", "#75507b", "#06989a", "#d3d7cf",
    "#555753", "#ef2929", "#8ae234", "#fce94f", "#729fcf", "#ad7fa8", "#34e2e2", "#eeeeec",
];

fn indexed(n: u8) -> String {
    match n {
        0..=15 => ANSI[usize::from(n)].to_string(),
        16..=231 => {
            let n = n - 16;
            let level = |v: u8| if v == 0 { 0 } else { 55 + v * 40 };
            format!(
                "#{:02x}{:02x}{:02x}",
                level(n / 36),
                level(n / 6 % 6),
                level(n % 6)
            )
        }
        _ => {
            let v = 8 + (n - 232) * 10;
            format!("#{v:02x}{v:02x}{v:02x}")
        }
    }
}

/// The colour as SVG, `None` for the terminal default.
fn color(c: Color) -> Option<String> {
    Some(match c {
        Color::Reset => return None,
        Color::Black => ANSI[0].into(),
        Color::Red => ANSI[1].into(),
        Color::Green => ANSI[2].into(),
        Color::Yellow => ANSI[3].into(),
        Color::Blue => ANSI[4].into(),
        Color::Magenta => ANSI[5].into(),
        Color::Cyan => ANSI[6].into(),
        Color::Gray => ANSI[7].into(),
        Color::DarkGray => ANSI[8].into(),
        Color::LightRed => ANSI[9].into(),
        Color::LightGreen => ANSI[10].into(),
        Color::LightYellow => ANSI[11].into(),
        Color::LightBlue => ANSI[12].into(),
        Color::LightMagenta => ANSI[13].into(),
        Color::LightCyan => ANSI[14].into(),
        Color::White => ANSI[15].into(),
        Color::Rgb(r, g, b) => format!("#{r:02x}{g:02x}{b:02x}"),
        Color::Indexed(n) => indexed(n),
    })
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The buffer as an SVG document (width and height in px).
pub fn buffer_to_svg(buf: &Buffer, palette: Palette) -> String {
    let area = buf.area;
    let w = f64::from(area.width) * CELL_W;
    let h = f64::from(area.height) * CELL_H;
    let mut out = String::new();
    let _ = writeln!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w:.0}" height="{h:.0}" viewBox="0 0 {w:.2} {h:.2}">"#
    );
    let _ = writeln!(
        out,
        r#"<rect width="100%" height="100%" fill="{}"/>"#,
        palette.bg
    );
    let _ = writeln!(
        out,
        r#"<g font-family="DejaVu Sans Mono" font-size="{FONT_PX}" xml:space="preserve">"#
    );
    for y in 0..area.height {
        let top = f64::from(y) * CELL_H;
        // Backgrounds first, merged into runs, so text is never covered.
        let mut x = 0;
        while x < area.width {
            let (_, bg) = colors(buf, area.x + x, area.y + y, palette);
            let mut end = x + 1;
            while end < area.width && colors(buf, area.x + end, area.y + y, palette).1 == bg {
                end += 1;
            }
            if bg != palette.bg {
                let _ = writeln!(
                    out,
                    r#"<rect x="{:.2}" y="{top:.2}" width="{:.2}" height="{CELL_H:.2}" fill="{bg}"/>"#,
                    f64::from(x) * CELL_W,
                    f64::from(end - x) * CELL_W + 0.3,
                );
            }
            x = end;
        }
        for x in 0..area.width {
            let cell = &buf[(area.x + x, area.y + y)];
            let sym = cell.symbol();
            if sym.trim().is_empty() {
                continue;
            }
            let (fg, _) = colors(buf, area.x + x, area.y + y, palette);
            let m = cell.modifier;
            let mut attrs = format!(r#" fill="{fg}""#);
            if m.contains(Modifier::BOLD) {
                attrs.push_str(r#" font-weight="bold""#);
            }
            if m.contains(Modifier::ITALIC) {
                attrs.push_str(r#" font-style="italic""#);
            }
            if m.contains(Modifier::DIM) {
                attrs.push_str(r#" fill-opacity="0.6""#);
            }
            if m.contains(Modifier::UNDERLINED) {
                attrs.push_str(r#" text-decoration="underline""#);
            }
            let _ = writeln!(
                out,
                r#"<text x="{:.2}" y="{:.2}"{attrs}>{}</text>"#,
                f64::from(x) * CELL_W,
                top + BASELINE,
                escape(sym)
            );
        }
    }
    out.push_str("</g>\n</svg>\n");
    out
}

/// A cell's (foreground, background), reverse video applied.
fn colors(buf: &Buffer, x: u16, y: u16, p: Palette) -> (String, String) {
    let cell = &buf[(x, y)];
    let fg = color(cell.fg).unwrap_or_else(|| p.fg.to_string());
    let bg = color(cell.bg).unwrap_or_else(|| p.bg.to_string());
    if cell.modifier.contains(Modifier::REVERSED) {
        (bg, fg)
    } else {
        (fg, bg)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ratatui::layout::Rect;
    use ratatui::style::Style;

    #[test]
    fn cells_become_text_and_backgrounds() {
        let mut buf = Buffer::empty(Rect::new(0, 0, 4, 1));
        buf.set_string(0, 0, "a<", Style::default().fg(Color::Red).bg(Color::Blue));
        buf.set_string(2, 0, "b", Style::default().add_modifier(Modifier::REVERSED));
        let svg = buffer_to_svg(&buf, DARK);
        assert!(svg.starts_with("<svg"));
        assert!(svg.contains(r##"fill="#cc0000">a</text>"##), "{svg}");
        assert!(svg.contains("&lt;</text>"));
        // One background run for the two blue cells, one for the reversed cell.
        assert_eq!(svg.matches(r##"fill="#3465a4"/>"##).count(), 1);
        assert!(svg.contains(r##"fill="#1c1c22">b</text>"##), "{svg}");
        assert_eq!(svg.matches("<text").count(), 3);
    }

    #[test]
    fn indexed_colours() {
        assert_eq!(indexed(1), "#cc0000");
        assert_eq!(indexed(16), "#000000");
        assert_eq!(indexed(231), "#ffffff");
        assert_eq!(indexed(232), "#080808");
    }
}
