//! One table of actions drives key handling, the `?` help and remapping from the config
//! file. Each action belongs to a context; a key is looked up in the contexts active for
//! the focused pane, most specific first, so Tab can mean "next tab" in the details pane
//! and "next view" elsewhere.

use std::collections::BTreeMap;
use std::fmt;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Context {
    Global,
    Resource,
    Nav,
    Table,
    Details,
    Logs,
    Inspect,
    Terminal,
}

impl Context {
    pub fn title(self) -> &'static str {
        match self {
            Context::Global => "Global",
            Context::Resource => "Actions",
            Context::Nav => "Navigation",
            Context::Table => "Tables",
            Context::Details => "Details pane",
            Context::Logs => "Logs",
            Context::Inspect => "Inspect",
            Context::Terminal => "Terminal panes (everything else goes to the process)",
        }
    }
}

macro_rules! actions {
    ($($variant:ident, $name:literal, $ctx:ident, $help:literal, [$($key:literal),*];)*) => {
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Action { $($variant),* }

        impl Action {
            pub const ALL: &'static [Action] = &[$(Action::$variant),*];

            /// The name used in the config file's `[keys]` table.
            pub fn name(self) -> &'static str {
                match self { $(Action::$variant => $name),* }
            }
            pub fn context(self) -> Context {
                match self { $(Action::$variant => Context::$ctx),* }
            }
            pub fn help(self) -> &'static str {
                match self { $(Action::$variant => $help),* }
            }
            fn default_keys(self) -> &'static [&'static str] {
                match self { $(Action::$variant => &[$($key),*]),* }
            }
        }
    };
}

actions! {
    Quit, "quit", Global, "quit", ["q", "ctrl-c"];
    Help, "help", Global, "show this help", ["?"];
    Palette, "palette", Global, "command palette", [":"];
    NextView, "next_view", Global, "next view", ["tab"];
    PrevView, "prev_view", Global, "previous view", ["backtab"];
    ViewContainers, "view_containers", Global, "containers view", ["1"];
    ViewImages, "view_images", Global, "images view", ["2"];
    ViewVolumes, "view_volumes", Global, "volumes view", ["3"];
    ViewNetworks, "view_networks", Global, "networks view", ["4"];
    ViewEvents, "view_events", Global, "events view", ["5"];
    Mouse, "mouse", Global, "mouse capture on/off (off: select text)", ["m"];
    Start, "start", Resource, "start container(s)", ["s"];
    Stop, "stop", Resource, "stop container(s)", ["x"];
    Restart, "restart", Resource, "restart container(s)", ["r"];
    Kill, "kill", Resource, "kill container(s)", ["K"];
    Pause, "pause", Resource, "pause / unpause container(s)", ["p"];
    Remove, "remove", Resource, "remove the selection (asks first)", ["d", "delete"];
    Rename, "rename", Resource, "rename the container", ["R"];
    Tag, "tag", Resource, "tag the image", ["T"];
    Prune, "prune", Resource, "prune unused images / volumes / networks (asks first)", ["P"];
    Create, "create", Resource, "run a container (form) / create a volume or network", ["c"];
    Zoom, "zoom", Resource, "maximise the focused pane", ["z"];
    CopyId, "copy_id", Resource, "copy the id to the clipboard (OSC 52)", ["y"];
    CopyName, "copy_name", Resource, "copy the name to the clipboard (OSC 52)", ["Y"];
    Exec, "exec", Resource, "open a shell in the container (terminal pane)", ["e"];
    Attach, "attach", Resource, "attach to the container's main process (terminal pane)", ["a"];
    Terminals, "terminals", Global, "back to the terminal panes", ["`"];
    Up, "up", Nav, "move up", ["k", "up"];
    Down, "down", Nav, "move down", ["j", "down"];
    PageUp, "page_up", Nav, "page up", ["pgup", "ctrl-b"];
    PageDown, "page_down", Nav, "page down", ["pgdn", "ctrl-f"];
    Top, "top", Nav, "go to the top", ["g", "home"];
    Bottom, "bottom", Nav, "go to the bottom", ["G", "end"];
    Filter, "filter", Table, "filter rows (regex, ! inverts)", ["/"];
    SortNext, "sort_next", Table, "sort by the next column", ["o"];
    SortReverse, "sort_reverse", Table, "reverse the sort order", ["O"];
    Mark, "mark", Table, "mark / unmark the row", ["space"];
    MarkAll, "mark_all", Table, "mark / unmark all rows", ["ctrl-a"];
    Open, "open", Table, "focus the details pane", ["enter"];
    Clear, "clear", Table, "clear marks, then the filter", ["esc"];
    NextTab, "next_tab", Details, "next details tab", ["tab", "]"];
    PrevTab, "prev_tab", Details, "previous details tab", ["backtab", "["];
    Back, "back", Details, "back to the table", ["esc"];
    Search, "search", Logs, "search the log", ["/"];
    SearchNext, "search_next", Logs, "next match", ["n"];
    SearchPrev, "search_prev", Logs, "previous match", ["N"];
    Timestamps, "timestamps", Logs, "toggle timestamps", ["t"];
    Wrap, "wrap", Logs, "toggle line wrap", ["w"];
    Follow, "follow", Logs, "follow the end of the log", ["f"];
    SaveLogs, "save_logs", Logs, "save the lines held to a file", ["S"];
    OnlyMatches, "only_matches", Logs, "show only lines that match the search", ["F"];
    TermNext, "term_next", Terminal, "next terminal pane", ["alt-right", "ctrl-pgdn"];
    TermPrev, "term_prev", Terminal, "previous terminal pane", ["alt-left", "ctrl-pgup"];
    Toggle, "toggle", Inspect, "fold / unfold", ["enter", "space"];
    Expand, "expand", Inspect, "unfold", ["l", "right"];
    Collapse, "collapse", Inspect, "fold", ["h", "left"];
    ExpandAll, "expand_all", Inspect, "unfold everything", ["E"];
    CollapseAll, "collapse_all", Inspect, "fold everything", ["C"];
}

/// A key with its modifiers, normalised so 'G' and shift-g are the same binding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Key {
    pub code: KeyCode,
    pub mods: KeyModifiers,
}

impl Key {
    pub fn new(code: KeyCode, mods: KeyModifiers) -> Key {
        // The shift is already in the character itself (and terminals disagree on
        // whether they report it); BackTab likewise implies it.
        let mods = match code {
            KeyCode::Char(_) | KeyCode::BackTab => mods - KeyModifiers::SHIFT,
            _ => mods,
        };
        Key {
            code,
            mods: mods & (KeyModifiers::CONTROL | KeyModifiers::ALT | KeyModifiers::SHIFT),
        }
    }

    pub fn from_event(e: &KeyEvent) -> Key {
        Key::new(e.code, e.modifiers)
    }

    /// "x", "G", "ctrl-c", "alt-enter", "pgdn", "f5", "space".
    pub fn parse(s: &str) -> Result<Key, String> {
        let mut mods = KeyModifiers::NONE;
        let mut rest = s;
        loop {
            let lower = rest.to_ascii_lowercase();
            if let Some(r) = lower.strip_prefix("ctrl-") {
                mods |= KeyModifiers::CONTROL;
                rest = &rest[rest.len() - r.len()..];
            } else if let Some(r) = lower.strip_prefix("alt-") {
                mods |= KeyModifiers::ALT;
                rest = &rest[rest.len() - r.len()..];
            } else if let Some(r) = lower.strip_prefix("shift-") {
                mods |= KeyModifiers::SHIFT;
                rest = &rest[rest.len() - r.len()..];
            } else {
                break;
            }
        }
        let code = match rest.to_ascii_lowercase().as_str() {
            "enter" | "return" => KeyCode::Enter,
            "esc" | "escape" => KeyCode::Esc,
            "tab" => KeyCode::Tab,
            "backtab" => KeyCode::BackTab,
            "space" => KeyCode::Char(' '),
            "backspace" => KeyCode::Backspace,
            "delete" | "del" => KeyCode::Delete,
            "insert" => KeyCode::Insert,
            "up" => KeyCode::Up,
            "down" => KeyCode::Down,
            "left" => KeyCode::Left,
            "right" => KeyCode::Right,
            "pgup" | "pageup" => KeyCode::PageUp,
            "pgdn" | "pagedown" => KeyCode::PageDown,
            "home" => KeyCode::Home,
            "end" => KeyCode::End,
            f if f.len() > 1 && f.starts_with('f') && f[1..].parse::<u8>().is_ok() => {
                KeyCode::F(f[1..].parse().unwrap_or(1))
            }
            _ => {
                let mut chars = rest.chars();
                match (chars.next(), chars.next()) {
                    (Some(c), None) => {
                        // "shift-a" means 'A'.
                        if mods.contains(KeyModifiers::SHIFT) && c.is_ascii_alphabetic() {
                            KeyCode::Char(c.to_ascii_uppercase())
                        } else {
                            KeyCode::Char(c)
                        }
                    }
                    _ => return Err(format!("unknown key {s:?}")),
                }
            }
        };
        Ok(Key::new(code, mods))
    }
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.mods.contains(KeyModifiers::CONTROL) {
            f.write_str("ctrl-")?;
        }
        if self.mods.contains(KeyModifiers::ALT) {
            f.write_str("alt-")?;
        }
        if self.mods.contains(KeyModifiers::SHIFT) {
            f.write_str("shift-")?;
        }
        match self.code {
            KeyCode::Char(' ') => f.write_str("space"),
            KeyCode::Char(c) => write!(f, "{c}"),
            KeyCode::Enter => f.write_str("enter"),
            KeyCode::Esc => f.write_str("esc"),
            KeyCode::Tab => f.write_str("tab"),
            KeyCode::BackTab => f.write_str("shift-tab"),
            KeyCode::Backspace => f.write_str("backspace"),
            KeyCode::Delete => f.write_str("del"),
            KeyCode::Up => f.write_str("↑"),
            KeyCode::Down => f.write_str("↓"),
            KeyCode::Left => f.write_str("←"),
            KeyCode::Right => f.write_str("→"),
            KeyCode::PageUp => f.write_str("pgup"),
            KeyCode::PageDown => f.write_str("pgdn"),
            KeyCode::Home => f.write_str("home"),
            KeyCode::End => f.write_str("end"),
            KeyCode::F(n) => write!(f, "f{n}"),
            other => write!(f, "{other:?}"),
        }
    }
}

#[derive(Debug, Clone)]
pub struct KeyMap {
    bindings: BTreeMap<Action, Vec<Key>>,
}

impl Default for KeyMap {
    fn default() -> Self {
        let bindings = Action::ALL
            .iter()
            .map(|&a| {
                let keys = a
                    .default_keys()
                    .iter()
                    .filter_map(|k| Key::parse(k).ok())
                    .collect();
                (a, keys)
            })
            .collect();
        KeyMap { bindings }
    }
}

impl KeyMap {
    /// The defaults with the config's `[keys]` entries replacing whole bindings
    /// (`stop = ["x", "ctrl-s"]`). Unknown names and keys are reported, not fatal.
    pub fn with_overrides(overrides: &BTreeMap<String, Vec<String>>) -> (KeyMap, Vec<String>) {
        let mut map = KeyMap::default();
        let mut problems = Vec::new();
        for (name, keys) in overrides {
            let Some(action) = Action::ALL.iter().copied().find(|a| a.name() == name) else {
                problems.push(format!("[keys] {name}: no such action"));
                continue;
            };
            let mut parsed = Vec::new();
            for k in keys {
                match Key::parse(k) {
                    Ok(key) => parsed.push(key),
                    Err(e) => problems.push(format!("[keys] {name}: {e}")),
                }
            }
            map.bindings.insert(action, parsed);
        }
        problems.extend(map.clashes());
        (map, problems)
    }

    /// Two actions of one context on the same key: the second would never fire.
    pub fn clashes(&self) -> Vec<String> {
        let mut seen: std::collections::HashMap<(Context, Key), Action> =
            std::collections::HashMap::new();
        let mut out = Vec::new();
        for (&action, keys) in &self.bindings {
            for &k in keys {
                if let Some(other) = seen.insert((action.context(), k), action) {
                    out.push(format!(
                        "[keys] {k} is bound to both {} and {}",
                        other.name(),
                        action.name()
                    ));
                }
            }
        }
        out
    }

    /// The action bound to `key` in the first of `contexts` that binds it.
    pub fn lookup(&self, key: Key, contexts: &[Context]) -> Option<Action> {
        contexts.iter().find_map(|&ctx| {
            self.bindings
                .iter()
                .find(|(a, keys)| a.context() == ctx && keys.contains(&key))
                .map(|(&a, _)| a)
        })
    }

    pub fn keys(&self, action: Action) -> &[Key] {
        self.bindings.get(&action).map(Vec::as_slice).unwrap_or(&[])
    }

    /// "x" or "k/↑": how the status line and help show an action's keys.
    pub fn label(&self, action: Action) -> String {
        self.keys(action)
            .iter()
            .map(Key::to_string)
            .collect::<Vec<_>>()
            .join("/")
    }

    /// (context, [(keys, help)]) in a stable order, for the help screen.
    pub fn describe(&self) -> Vec<(Context, Vec<(String, &'static str)>)> {
        let mut by_ctx: BTreeMap<Context, Vec<(String, &'static str)>> = BTreeMap::new();
        for &a in Action::ALL {
            let label = self.label(a);
            if label.is_empty() {
                continue;
            }
            by_ctx
                .entry(a.context())
                .or_default()
                .push((label, a.help()));
        }
        by_ctx.into_iter().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(s: &str) -> Key {
        Key::parse(s).unwrap()
    }

    #[test]
    fn parses_and_prints_keys() {
        assert_eq!(key("x"), Key::new(KeyCode::Char('x'), KeyModifiers::NONE));
        assert_eq!(key("G"), Key::new(KeyCode::Char('G'), KeyModifiers::SHIFT));
        assert_eq!(key("shift-g"), key("G"));
        assert_eq!(
            key("ctrl-c"),
            Key::new(KeyCode::Char('c'), KeyModifiers::CONTROL)
        );
        assert_eq!(key("Ctrl-Alt-Enter").to_string(), "ctrl-alt-enter");
        assert_eq!(key("f5"), Key::new(KeyCode::F(5), KeyModifiers::NONE));
        assert_eq!(key("space").to_string(), "space");
        assert!(Key::parse("nope").is_err());
    }

    #[test]
    fn contexts_pick_the_most_specific_binding() {
        let m = KeyMap::default();
        let tab = key("tab");
        assert_eq!(
            m.lookup(tab, &[Context::Details, Context::Global]),
            Some(Action::NextTab)
        );
        assert_eq!(
            m.lookup(tab, &[Context::Table, Context::Global]),
            Some(Action::NextView)
        );
        assert_eq!(
            m.lookup(key("/"), &[Context::Logs, Context::Table]),
            Some(Action::Search)
        );
        assert_eq!(m.lookup(key("y"), &[Context::Global]), None);
    }

    #[test]
    fn defaults_do_not_clash() {
        assert_eq!(KeyMap::default().clashes(), Vec::<String>::new());
    }

    #[test]
    fn overrides_replace_bindings_and_report_problems() {
        let mut o = BTreeMap::new();
        o.insert("stop".to_string(), vec!["ctrl-s".to_string()]);
        o.insert("bogus".to_string(), vec!["b".to_string()]);
        o.insert(
            "kill".to_string(),
            vec!["ctrl-s".to_string(), "???".to_string()],
        );
        let (m, problems) = KeyMap::with_overrides(&o);
        assert_eq!(m.keys(Action::Stop), &[key("ctrl-s")]);
        assert_eq!(m.lookup(key("x"), &[Context::Resource]), None);
        assert_eq!(problems.len(), 3, "{problems:?}");
        assert!(problems.iter().any(|p| p.contains("bogus")));
        assert!(problems.iter().any(|p| p.contains("both")));
    }

    #[test]
    fn help_lists_every_bound_action() {
        let m = KeyMap::default();
        let n: usize = m.describe().iter().map(|(_, v)| v.len()).sum();
        assert_eq!(n, Action::ALL.len());
    }
}
