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
        Theme::builtin("monochrome").unwrap_or_else(|| {
            Theme::from_specs("monochrome", &Specs::default()).unwrap_or_else(|_| unreachable!())
        })
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
    fn bad_themes_are_errors() {
        assert!(Theme::parse("x", "[styles]\nbase = { fg = \"blurple\" }").is_err());
        assert!(Theme::parse("x", "[styles]\nnope = { fg = \"red\" }").is_err());
        assert!(Theme::parse("x", "[styles]\nbase = { modifiers = [\"wavy\"] }").is_err());
        assert!(Theme::load("does-not-exist", None).is_err());
    }
}
