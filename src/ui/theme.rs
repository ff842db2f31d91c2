//! Colour themes: TOML files (themes/*.toml ship built in; more can live in the config
//! dir's themes/) naming a style for each role the UI draws. `NO_COLOR` selects the
//! monochrome theme, which uses only bold, reverse and underline.

use std::path::Path;
use std::str::FromStr;

use ratatui::style::{Color, Modifier, Style};
use serde::Deserialize;

pub const BUILTIN: &[(&str, &str)] = &[
    ("dark", include_str!("../../themes/dark.toml")),
    ("light", include_str!("../../themes/light.toml")),
    (
        "high-contrast",
        include_str!("../../themes/high-contrast.toml"),
    ),
    ("monochrome", include_str!("../../themes/monochrome.toml")),
];

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct StyleSpec {
    fg: Option<String>,
    bg: Option<String>,
    #[serde(default)]
    modifiers: Vec<String>,
}

impl StyleSpec {
    fn to_style(&self, role: &str) -> Result<Style, String> {
        let color =
            |c: &str| Color::from_str(c).map_err(|_| format!("{role}: {c:?} is not a colour"));
        let mut s = Style::default();
        if let Some(fg) = &self.fg {
            s = s.fg(color(fg)?);
        }
        if let Some(bg) = &self.bg {
            s = s.bg(color(bg)?);
        }
        for m in &self.modifiers {
            s = s.add_modifier(match m.to_ascii_lowercase().as_str() {
                "bold" => Modifier::BOLD,
                "dim" => Modifier::DIM,
                "italic" => Modifier::ITALIC,
                "underlined" | "underline" => Modifier::UNDERLINED,
                "reversed" | "reverse" => Modifier::REVERSED,
                "crossed_out" => Modifier::CROSSED_OUT,
                other => return Err(format!("{role}: unknown modifier {other:?}")),
            });
        }
        Ok(s)
    }
}

macro_rules! theme {
    ($($role:ident),* $(,)?) => {
        #[derive(Debug, Clone, Default, Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Specs { $(#[serde(default)] $role: StyleSpec),* }

        /// A resolved theme: one style per role.
        #[derive(Debug, Clone, PartialEq)]
        pub struct Theme {
            pub name: String,
            $(pub $role: Style),*
        }

        impl Theme {
            /// Rewrites every colour of every role (used to fit a terminal's depth).
            pub fn map_colors(&mut self, f: impl Fn(Color) -> Color) {
                $(
                    self.$role.fg = self.$role.fg.map(&f);
                    self.$role.bg = self.$role.bg.map(&f);
                )*
            }

            /// Every role in the terminal's default style.
            fn plain(name: &str) -> Theme {
                Theme {
                    name: name.to_string(),
                    $($role: Style::default()),*
                }
            }

            fn from_specs(name: &str, s: &Specs) -> Result<Theme, String> {
                Ok(Theme {
                    name: name.to_string(),
                    $($role: s.$role.to_style(stringify!($role))?),*
                })
            }
        }
    };
}

theme!(
    base,
    dim,
    border,
    border_focused,
    title,
    header,
    selected,
    selected_unfocused,
    marked,
    tab,
    tab_active,
    status,
    status_info,
    status_error,
    key,
    running,
    paused,
    exited,
    created,
    restarting,
    stderr,
    search_match,
    json_key,
    json_string,
    json_number,
    json_bool,
    json_null,
    chart_cpu,
    chart_mem,
    sparkline,
    popup,
);

/// How many colours the terminal shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColorDepth {
    Ansi16,
    Indexed256,
    TrueColor,
}

impl ColorDepth {
    /// From `COLORTERM` and `TERM`, the way most terminal programs guess.
    pub fn detect(colorterm: Option<&str>, term: Option<&str>) -> ColorDepth {
        match (colorterm, term) {
            (Some("truecolor" | "24bit"), _) => ColorDepth::TrueColor,
            (_, Some(t)) if t.contains("256color") || t.contains("direct") => {
                ColorDepth::Indexed256
            }
            _ => ColorDepth::Ansi16,
        }
    }
}

/// The 16 named colours with the RGB values most terminals give them.
const NAMED: [(Color, (u8, u8, u8)); 16] = [
    (Color::Black, (0, 0, 0)),
    (Color::Red, (205, 0, 0)),
    (Color::Green, (0, 205, 0)),
    (Color::Yellow, (205, 205, 0)),
    (Color::Blue, (0, 0, 238)),
    (Color::Magenta, (205, 0, 205)),
    (Color::Cyan, (0, 205, 205)),
    (Color::Gray, (229, 229, 229)),
    (Color::DarkGray, (127, 127, 127)),
    (Color::LightRed, (255, 0, 0)),
    (Color::LightGreen, (0, 255, 0)),
    (Color::LightYellow, (255, 255, 0)),
    (Color::LightBlue, (92, 92, 255)),
    (Color::LightMagenta, (255, 0, 255)),
    (Color::LightCyan, (0, 255, 255)),
    (Color::White, (255, 255, 255)),
];

fn dist((r1, g1, b1): (u8, u8, u8), (r2, g2, b2): (u8, u8, u8)) -> u32 {
    let d = |a: u8, b: u8| (i32::from(a) - i32::from(b)).unsigned_abs();
    d(r1, r2).pow(2) + d(g1, g2).pow(2) + d(b1, b2).pow(2)
}

/// The nearest xterm-256 colour of the 6x6x6 cube or the grey ramp.
fn to_256(r: u8, g: u8, b: u8) -> u8 {
    const LEVELS: [u8; 6] = [0, 95, 135, 175, 215, 255];
    let idx = |v: u8| {
        (0..6)
            .min_by_key(|&i| (i32::from(LEVELS[i]) - i32::from(v)).unsigned_abs())
            .unwrap_or(0)
    };
    let (ri, gi, bi) = (idx(r), idx(g), idx(b));
    let cube = (LEVELS[ri], LEVELS[gi], LEVELS[bi]);
    let avg = (u32::from(r) + u32::from(g) + u32::from(b)) / 3;
    let gi_ramp = ((avg.saturating_sub(8)) / 10).min(23) as u8;
    let grey = 8 + gi_ramp * 10;
    if dist((grey, grey, grey), (r, g, b)) < dist(cube, (r, g, b)) {
        232 + gi_ramp
    } else {
        16 + 36 * ri as u8 + 6 * gi as u8 + bi as u8
    }
}

/// A colour the terminal can show at `depth` (named colours always can).
pub fn fit_color(c: Color, depth: ColorDepth) -> Color {
    let rgb = match c {
        Color::Rgb(r, g, b) => (r, g, b),
        Color::Indexed(_) if depth == ColorDepth::Ansi16 => return Color::Reset,
        other => return other,
    };
    match depth {
        ColorDepth::TrueColor => c,
        ColorDepth::Indexed256 => Color::Indexed(to_256(rgb.0, rgb.1, rgb.2)),
        ColorDepth::Ansi16 => NAMED
            .iter()
            .min_by_key(|(_, v)| dist(*v, rgb))
            .map(|(c, _)| *c)
            .unwrap_or(Color::Reset),
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ThemeFile {
    #[serde(default)]
    styles: Specs,
}

impl Theme {
    pub fn parse(name: &str, toml_text: &str) -> Result<Theme, String> {
        let file: ThemeFile =
            toml::from_str(toml_text).map_err(|e| format!("theme {name}: {e}"))?;
        Theme::from_specs(name, &file.styles).map_err(|e| format!("theme {name}: {e}"))
    }

    pub fn builtin(name: &str) -> Option<Theme> {
        BUILTIN
            .iter()
            .find(|(n, _)| *n == name)
            .and_then(|(n, text)| Theme::parse(n, text).ok())
    }

    /// A theme by name: `<dir>/<name>.toml` first (user themes), then the built-ins.
    pub fn load(name: &str, user_dir: Option<&Path>) -> Result<Theme, String> {
        if let Some(dir) = user_dir {
            let path = dir.join(format!("{name}.toml"));
            if let Ok(text) = std::fs::read_to_string(&path) {
                return Theme::parse(name, &text);
            }
        }
        Theme::builtin(name).ok_or_else(|| {
            let names: Vec<&str> = BUILTIN.iter().map(|(n, _)| *n).collect();
            format!("no theme {name:?} (built in: {})", names.join(", "))
        })
    }

    /// What a plain terminal or `NO_COLOR` gets; never fails (it is compiled in).
    pub fn monochrome() -> Theme {
        Theme::builtin("monochrome").unwrap_or_else(|| Theme::plain("monochrome"))
    }

    /// The style of a container state ("running", "exited", ...).
    pub fn state(&self, state: &str) -> Style {
        match state {
            "running" => self.running,
            "paused" => self.paused,
            "restarting" | "removing" => self.restarting,
            "created" => self.created,
            _ => self.exited,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_builtin_theme_parses() {
        for (name, text) in BUILTIN {
            let t = Theme::parse(name, text).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(t.name, *name);
        }
    }

    #[test]
    fn monochrome_uses_no_colour() {
        let t = Theme::monochrome();
        let styles = [
            t.base,
            t.selected,
            t.running,
            t.exited,
            t.stderr,
            t.search_match,
            t.json_key,
            t.status_error,
            t.chart_cpu,
        ];
        for s in styles {
            assert!(matches!(s.fg, None | Some(Color::Reset)), "{s:?}");
            assert!(matches!(s.bg, None | Some(Color::Reset)), "{s:?}");
        }
        assert!(t.selected.add_modifier.contains(Modifier::REVERSED));
    }

    #[test]
    fn colours_fit_the_terminal() {
        use ColorDepth::*;
        assert_eq!(
            ColorDepth::detect(Some("truecolor"), Some("xterm")),
            TrueColor
        );
        assert_eq!(ColorDepth::detect(None, Some("tmux-256color")), Indexed256);
        assert_eq!(ColorDepth::detect(None, Some("linux")), Ansi16);
        assert_eq!(ColorDepth::detect(None, None), Ansi16);
        let rgb = Color::Rgb(0x1c, 0x1c, 0x24);
        assert_eq!(fit_color(rgb, TrueColor), rgb);
        assert_eq!(fit_color(rgb, Indexed256), Color::Indexed(234));
        assert_eq!(
            fit_color(Color::Rgb(255, 0, 0), Indexed256),
            Color::Indexed(196)
        );
        assert_eq!(fit_color(Color::Rgb(250, 10, 10), Ansi16), Color::LightRed);
        assert_eq!(fit_color(Color::Green, Ansi16), Color::Green);
        let mut t = Theme::builtin("dark").unwrap();
        t.map_colors(|c| fit_color(c, Ansi16));
        assert!(!matches!(t.status.bg, Some(Color::Rgb(..))));
    }

    #[test]
    fn bad_themes_are_errors() {
        assert!(Theme::parse("x", "[styles]\nbase = { fg = \"blurple\" }").is_err());
        assert!(Theme::parse("x", "[styles]\nnope = { fg = \"red\" }").is_err());
        assert!(Theme::parse("x", "[styles]\nbase = { modifiers = [\"wavy\"] }").is_err());
        assert!(Theme::load("does-not-exist", None).is_err());
    }
}
