//! The console's settings: `config.toml` in the XDG config dir (`~/.config/berth/`),
//! with key remaps and the theme. A broken file never stops the console: what is wrong
//! is shown in the status bar and the defaults are used for it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use super::keymap::KeyMap;
use super::theme::Theme;

#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct ConfigFile {
    theme: Option<String>,
    /// Log lines kept per container view (a ring: older ones fall off).
    log_lines: Option<usize>,
    /// Lines loaded from the end of a log when it opens.
    log_tail: Option<usize>,
    stats_interval_ms: Option<u64>,
    refresh_interval_ms: Option<u64>,
    /// Directory for saved logs (default: the current directory).
    save_dir: Option<PathBuf>,
    mouse: Option<bool>,
    /// Leaves a terminal pane, Docker's format: "ctrl-p,ctrl-q".
    detach_keys: Option<String>,
    keys: BTreeMap<String, Vec<String>>,
}

/// Docker's default detach sequence.
pub const DEFAULT_DETACH_KEYS: &str = "ctrl-p,ctrl-q";

#[derive(Debug, Clone)]
pub struct Settings {
    pub theme: Theme,
    pub keymap: KeyMap,
    pub log_lines: usize,
    pub log_tail: usize,
    /// How often visible running containers are sampled.
    pub stats_interval: Duration,
    /// How often lists are re-read even without events (for "Up 5 minutes").
    pub refresh_interval: Duration,
    pub readonly: bool,
    /// Problems found in the config, shown once at start.
    pub problems: Vec<String>,
    /// Where user themes live (`<config dir>/themes`).
    pub themes_dir: Option<PathBuf>,
    /// Where saved logs go (None: the current directory).
    pub save_dir: Option<PathBuf>,
    /// Capture the mouse at start (clicks, wheel); `m` toggles it.
    pub mouse: bool,
    /// The key sequence that leaves a terminal pane (its session keeps running).
    pub detach_keys: Vec<super::keymap::Key>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            theme: Theme::builtin("dark").unwrap_or_else(Theme::monochrome),
            keymap: KeyMap::default(),
            log_lines: 5000,
            log_tail: 500,
            stats_interval: Duration::from_secs(2),
            refresh_interval: Duration::from_secs(10),
            readonly: false,
            problems: Vec::new(),
            themes_dir: None,
            save_dir: None,
            mouse: true,
            detach_keys: super::terminal::parse_detach_keys(DEFAULT_DETACH_KEYS)
                .unwrap_or_default(),
        }
    }
}

/// `~/.config/berth` (or `$XDG_CONFIG_HOME/berth`).
pub fn config_dir() -> Option<PathBuf> {
    directories::ProjectDirs::from("", "", "berth").map(|d| d.config_dir().to_path_buf())
}

impl Settings {
    /// Reads `config.toml` from `dir` (a missing file is fine). `no_color` forces the
    /// monochrome theme whatever the file says, as https://no-color.org asks.
    pub fn load(dir: Option<&Path>, no_color: bool) -> Settings {
        let text =
            dir.map(|d| d.join("config.toml"))
                .and_then(|p| match std::fs::read_to_string(&p) {
                    Ok(t) => Some(Ok(t)),
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
                    Err(e) => Some(Err(format!("reading {}: {e}", p.display()))),
                });
        let mut s = match text {
            None => Settings::default(),
            Some(Ok(t)) => Settings::from_toml(&t, dir.map(|d| d.join("themes")).as_deref()),
            Some(Err(e)) => Settings {
                problems: vec![e],
                ..Settings::default()
            },
        };
        s.themes_dir = dir.map(|d| d.join("themes"));
        if no_color {
            s.theme = Theme::monochrome();
        }
        s
    }

    pub fn from_toml(text: &str, themes_dir: Option<&Path>) -> Settings {
        let mut s = Settings::default();
        let file: ConfigFile = match toml::from_str(text) {
            Ok(f) => f,
            Err(e) => {
                s.problems.push(format!("config.toml: {e}"));
                return s;
            }
        };
        if let Some(name) = &file.theme {
            match Theme::load(name, themes_dir) {
                Ok(t) => s.theme = t,
                Err(e) => s.problems.push(e),
            }
        }
        let (keymap, problems) = KeyMap::with_overrides(&file.keys);
        s.keymap = keymap;
        s.problems.extend(problems);
        if let Some(spec) = &file.detach_keys {
            match super::terminal::parse_detach_keys(spec) {
                Ok(keys) => s.detach_keys = keys,
                Err(e) => s.problems.push(e),
            }
        }
        if let Some(n) = file.log_lines {
            s.log_lines = n.clamp(100, 1_000_000);
        }
        if let Some(n) = file.log_tail {
            s.log_tail = n.min(s.log_lines);
        }
        if let Some(ms) = file.stats_interval_ms {
            s.stats_interval = Duration::from_millis(ms.max(250));
        }
        if let Some(m) = file.mouse {
            s.mouse = m;
        }
        if file.save_dir.is_some() {
            s.save_dir = file.save_dir.clone();
        }
        if let Some(ms) = file.refresh_interval_ms {
            s.refresh_interval = Duration::from_millis(ms.max(1000));
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ui::keymap::{Action, Key};

    #[test]
    fn reads_theme_keys_and_limits() {
        let s = Settings::from_toml(
            "theme = \"light\"\nlog_lines = 50\nstats_interval_ms = 1000\n[keys]\nstop = [\"ctrl-s\"]\n",
            None,
        );
        assert!(s.problems.is_empty(), "{:?}", s.problems);
        assert_eq!(s.theme.name, "light");
        assert_eq!(s.log_lines, 100);
        assert_eq!(s.stats_interval, Duration::from_secs(1));
        assert_eq!(
            s.keymap.keys(Action::Stop),
            &[Key::parse("ctrl-s").unwrap()]
        );
    }

    #[test]
    fn broken_config_falls_back_to_defaults() {
        let s = Settings::from_toml("theme = 3", None);
        assert_eq!(s.problems.len(), 1);
        assert_eq!(s.theme.name, "dark");
        let s = Settings::from_toml("theme = \"nope\"", None);
        assert_eq!(s.problems.len(), 1);
    }

    #[test]
    fn no_color_wins_and_missing_file_is_fine() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("config.toml"), "theme = \"light\"").unwrap();
        assert_eq!(
            Settings::load(Some(dir.path()), true).theme.name,
            "monochrome"
        );
        assert_eq!(Settings::load(Some(dir.path()), false).theme.name, "light");
        let empty = tempfile::tempdir().unwrap();
        let s = Settings::load(Some(empty.path()), false);
        assert!(s.problems.is_empty());
        assert_eq!(s.theme.name, "dark");
    }

    #[test]
    fn user_themes_override_builtins() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("themes")).unwrap();
        std::fs::write(
            dir.path().join("themes/mine.toml"),
            "[styles]\nrunning = { fg = \"#00ff00\" }\n",
        )
        .unwrap();
        std::fs::write(dir.path().join("config.toml"), "theme = \"mine\"").unwrap();
        let s = Settings::load(Some(dir.path()), false);
        assert!(s.problems.is_empty(), "{:?}", s.problems);
        assert_eq!(s.theme.name, "mine");
    }
}
