//! The console's state and its update function: `update(Msg) -> Vec<Effect>`. Nothing
//! here awaits or touches the terminal; drawing (`draw.rs`) only reads this state.

use std::collections::{BTreeSet, HashMap, HashSet, VecDeque};
use std::time::Duration;

use bollard::models::ContainerTopResponse;
use chrono::{DateTime, Timelike, Utc};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::config::Settings;
use super::keymap::{Action, Context, Key};
use super::logs::LogBuffer;
use super::msg::{Effect, InspectKind, Load, Msg, Op, Target};
use super::table::TableModel;
use super::views::containers::{self, ContainerItem};
use super::views::events::{self, EventItem};
use super::views::images::{self, ImageItem};
use super::views::volumes::{self, VolumeItem};
use crate::client::{ContainerAction, StatsSample};
use crate::widgets::input::{InputEvent, LineInput};
use crate::widgets::json_tree::JsonTree;

/// Samples kept per container for charts and sparklines.
pub const STATS_HISTORY: usize = 60;
/// How long details wait for the cursor to settle before loading logs and inspect.
const DETAILS_DELAY: Duration = Duration::from_millis(120);
/// Ticks a status message stays up.
const STATUS_TICKS: u32 = 3;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum View {
    Containers,
    Images,
    Volumes,
    Events,
}

impl View {
    pub const ALL: [View; 4] = [View::Containers, View::Images, View::Volumes, View::Events];

    pub fn title(self) -> &'static str {
        match self {
            View::Containers => "Containers",
            View::Images => "Images",
            View::Volumes => "Volumes",
            View::Events => "Events",
        }
    }

    fn index(self) -> usize {
        View::ALL.iter().position(|v| *v == self).unwrap_or(0)
    }

    pub fn has_details(self) -> bool {
        self != View::Events
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Focus {
    Table,
    Details,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DetailTab {
    Logs,
    Stats,
    Inspect,
    Top,
    Env,
}

impl DetailTab {
    pub const CONTAINER: [DetailTab; 5] = [
        DetailTab::Logs,
        DetailTab::Stats,
        DetailTab::Inspect,
        DetailTab::Top,
        DetailTab::Env,
    ];

    pub fn title(self) -> &'static str {
        match self {
            DetailTab::Logs => "Logs",
            DetailTab::Stats => "Stats",
            DetailTab::Inspect => "Inspect",
            DetailTab::Top => "Top",
            DetailTab::Env => "Env/Mounts/Ports",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum LogState {
    Idle,
    Streaming,
    Ended,
    Failed(String),
}

/// Inspect output for one object, or why there is none.
#[derive(Debug, Clone)]
pub struct Inspected {
    pub target: String,
    pub result: Result<JsonTree, String>,
}

/// The details pane of whatever is selected.
#[derive(Debug, Clone)]
pub struct Details {
    pub tab: DetailTab,
    /// The object the pane shows (container id, image reference, volume name).
    pub target: Option<String>,
    /// The target's state when its details were loaded (reload when it changes).
    target_state: String,
    pub logs: LogBuffer,
    pub log_state: LogState,
    pub inspect: Option<Inspected>,
    pub top: Option<Result<ContainerTopResponse, String>>,
    generation: u64,
}

#[derive(Debug, Clone, Default)]
pub struct StatsHistory {
    pub samples: VecDeque<StatsSample>,
}

impl StatsHistory {
    pub fn push(&mut self, s: StatsSample) {
        if self.samples.len() == STATS_HISTORY {
            self.samples.pop_front();
        }
        self.samples.push_back(s);
    }

    pub fn cpu(&self) -> Vec<f64> {
        self.samples.iter().map(|s| s.cpu_percent).collect()
    }

    pub fn last(&self) -> Option<&StatsSample> {
        self.samples.back()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Prompt {
    Filter,
    Search,
    Command,
    Rename,
    Tag,
    CreateVolume,
}

#[derive(Debug, Clone)]
pub enum Overlay {
    None,
    Help {
        scroll: usize,
    },
    /// A line of input: the palette, a filter, a search, or a dialog's value.
    Prompt {
        kind: Prompt,
        input: LineInput,
        /// For a live filter, what to restore on Esc.
        before: String,
        /// The object a rename or tag applies to.
        target: Option<Target>,
    },
    RunForm(Box<super::form::RunForm>),
    Confirm {
        title: String,
        lines: Vec<String>,
        yes: Effect,
        /// A second choice ("force") bound to `f`.
        force: Option<Effect>,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Status {
    pub text: String,
    pub error: bool,
    ticks_left: u32,
}

pub struct App {
    pub settings: Settings,
    pub backend: String,
    pub now: DateTime<Utc>,
    pub size: (u16, u16),
    pub view: View,
    pub focus: Focus,
    pub zoom: bool,
    pub containers: TableModel<ContainerItem>,
    pub images: TableModel<ImageItem>,
    pub volumes: TableModel<VolumeItem>,
    pub events: TableModel<EventItem>,
    pub loaded: BTreeSet<Load>,
    pub stats: HashMap<String, StatsHistory>,
    pub details: Details,
    pub overlay: Overlay,
    pub status: Option<Status>,
    pub quit: bool,
    /// Whether the mouse is captured (off lets the terminal select text).
    pub mouse: bool,
    /// Something visible changed since the last draw.
    pub dirty: bool,
    event_log: VecDeque<EventItem>,
    event_seq: u64,
    stats_inflight: HashSet<String>,
    top_inflight: bool,
    loads_inflight: BTreeSet<Load>,
    loads_pending: BTreeSet<Load>,
    ticks: u64,
}

fn first_name(t: &Target) -> String {
    t.label.clone()
}

impl App {
    pub fn new(settings: Settings, backend: String, now: DateTime<Utc>, size: (u16, u16)) -> App {
        let logs = LogBuffer::new(settings.log_lines);
        let settings_mouse = settings.mouse;
        let mut status = None;
        if !settings.problems.is_empty() {
            status = Some(Status {
                text: settings.problems.join("; "),
                error: true,
                ticks_left: STATUS_TICKS * 3,
            });
        }
        App {
            settings,
            backend,
            now,
            size,
            view: View::Containers,
            focus: Focus::Table,
            zoom: false,
            containers: TableModel::new(containers::COLUMNS.len(), None),
            images: TableModel::new(images::COLUMNS.len(), None),
            volumes: TableModel::new(volumes::COLUMNS.len(), Some((0, false))),
            events: TableModel::new(events::COLUMNS.len(), Some((0, true))),
            loaded: BTreeSet::new(),
            stats: HashMap::new(),
            details: Details {
                tab: DetailTab::Logs,
                target: None,
                target_state: String::new(),
                logs,
                log_state: LogState::Idle,
                inspect: None,
                top: None,
                generation: 0,
            },
            overlay: Overlay::None,
            status,
            quit: false,
            mouse: settings_mouse,
            dirty: true,
            event_log: VecDeque::new(),
            event_seq: 0,
            stats_inflight: HashSet::new(),
            top_inflight: false,
            loads_inflight: BTreeSet::new(),
            loads_pending: BTreeSet::new(),
            ticks: 0,
        }
    }

    /// The effects that fill the console when it opens.
    pub fn start(&mut self) -> Vec<Effect> {
        let mut fx = vec![Effect::SubscribeEvents];
        if self.mouse {
            fx.push(Effect::MouseCapture(true));
        }
        for l in [Load::Containers, Load::Images, Load::Volumes] {
            self.request(l, &mut fx);
        }
        fx
    }

    fn request(&mut self, load: Load, fx: &mut Vec<Effect>) {
        if self.loads_inflight.insert(load) {
            fx.push(Effect::Load(load));
        } else {
            // One more read once the current one lands: it may predate the change.
            self.loads_pending.insert(load);
        }
    }

    fn loaded(&mut self, load: Load, fx: &mut Vec<Effect>) {
        self.loads_inflight.remove(&load);
        self.loaded.insert(load);
        if self.loads_pending.remove(&load) {
            self.request(load, fx);
        }
    }

    pub fn info(&mut self, text: impl Into<String>) {
        self.status = Some(Status {
            text: text.into(),
            error: false,
            ticks_left: STATUS_TICKS,
        });
        self.dirty = true;
    }

    pub fn error(&mut self, text: impl Into<String>) {
        self.status = Some(Status {
            text: text.into(),
            error: true,
            ticks_left: STATUS_TICKS * 2,
        });
        self.dirty = true;
    }

    pub fn update(&mut self, msg: Msg) -> Vec<Effect> {
        let mut fx = Vec::new();
        match msg {
            Msg::Key(k) => {
                self.on_key(k, &mut fx);
                self.dirty = true;
            }
            Msg::Mouse(m) => {
                if self.mouse {
                    self.on_mouse(m, &mut fx);
                    self.dirty = true;
                }
            }
            Msg::Resize(w, h) => {
                self.size = (w, h);
                self.rescroll();
                self.dirty = true;
            }
            Msg::Tick(now) => self.on_tick(now, &mut fx),
            Msg::Containers(r) => {
                match r {
                    Ok(list) => {
                        let mut items: Vec<ContainerItem> =
                            list.iter().map(ContainerItem::from_summary).collect();
                        let ids: HashSet<&str> = items.iter().map(|i| i.id.as_str()).collect();
                        self.stats.retain(|id, _| ids.contains(id.as_str()));
                        for it in &mut items {
                            it.stats = self.stats.get(&it.id).and_then(|h| h.last().copied());
                        }
                        if self.containers.items() != items.as_slice() {
                            self.containers.set_items(items);
                            self.dirty = true;
                        }
                    }
                    Err(e) => self.error(format!("listing containers: {e}")),
                }
                self.loaded(Load::Containers, &mut fx);
            }
            Msg::Images(r) => {
                match r {
                    Ok(list) => {
                        let items = images::items(&list, self.now);
                        if self.images.items() != items.as_slice() {
                            self.images.set_items(items);
                            self.dirty = true;
                        }
                    }
                    Err(e) => self.error(format!("listing images: {e}")),
                }
                self.loaded(Load::Images, &mut fx);
            }
            Msg::Volumes(r) => {
                match r {
                    Ok(list) => {
                        let items = volumes::items(&list, self.now);
                        if self.volumes.items() != items.as_slice() {
                            self.volumes.set_items(items);
                            self.dirty = true;
                        }
                    }
                    Err(e) => self.error(format!("listing volumes: {e}")),
                }
                self.loaded(Load::Volumes, &mut fx);
            }
            Msg::Event(ev) => {
                self.event_seq += 1;
                let item = EventItem::new(self.event_seq, &ev);
                let load = match item.kind.as_str() {
                    "container" => Some(Load::Containers),
                    "image" => Some(Load::Images),
                    "volume" => Some(Load::Volumes),
                    _ => None,
                };
                if let Some(l) = load {
                    self.request(l, &mut fx);
                }
                if self.event_log.len() == events::MAX_EVENTS {
                    self.event_log.pop_front();
                }
                self.event_log.push_back(item);
                self.events
                    .set_items(self.event_log.iter().cloned().collect());
                self.dirty |= self.view == View::Events;
            }
            Msg::EventsFailed(e) => self.error(format!("events: {e}")),
            Msg::Stats { id, result } => {
                self.stats_inflight.remove(&id);
                // Sampling errors (a container that just stopped) are not worth a
                // status message: the row simply shows no usage.
                if let Ok(s) = result {
                    self.stats.entry(id.clone()).or_default().push(s);
                    self.containers.update_items(|items| {
                        for it in items.iter_mut().filter(|i| i.id == id) {
                            it.stats = Some(s);
                        }
                    });
                    self.dirty = true;
                }
            }
            Msg::Inspect {
                kind,
                target,
                result,
            } => {
                if self.details.target.as_deref() == Some(target.as_str())
                    && self.inspect_kind() == Some(kind)
                {
                    let expand = 1;
                    self.details.inspect = Some(Inspected {
                        target,
                        result: result.map(|v| JsonTree::new(v, expand)),
                    });
                    self.dirty = true;
                }
            }
            Msg::Top { id, result } => {
                self.top_inflight = false;
                if self.details.target.as_deref() == Some(id.as_str()) {
                    self.details.top = Some(result);
                    self.dirty = true;
                }
            }
            Msg::LogLines { id, lines } => {
                if self.details.target.as_deref() == Some(id.as_str()) {
                    for l in lines {
                        self.details.logs.push(l);
                    }
                    self.details.log_state = LogState::Streaming;
                    self.dirty = true;
                }
            }
            Msg::LogEnded { id, error } => {
                if self.details.target.as_deref() == Some(id.as_str()) {
                    self.details.log_state = match error {
                        Some(e) => LogState::Failed(e),
                        None => LogState::Ended,
                    };
                    self.dirty = true;
                }
            }
            Msg::Done { op, ok, errors } => {
                if errors.is_empty() {
                    let what = match &op {
                        Op::RenameContainer(n) => format!("renamed to {n}"),
                        Op::TagImage(t) => format!("tagged {t}"),
                        _ => format!("{}: {}", op.verb(), ok.join(", ")),
                    };
                    self.info(what);
                } else {
                    self.error(format!("{} failed: {}", op.verb(), errors.join("; ")));
                }
                self.request(op.reloads(), &mut fx);
            }
            Msg::Finished { reload, result } => {
                match result {
                    Ok(m) => self.info(m),
                    Err(e) => self.error(e),
                }
                self.request(reload, &mut fx);
            }
            Msg::Note(r) => match r {
                Ok(m) => self.info(m),
                Err(e) => self.error(e),
            },
            Msg::DetailsDue(generation) => {
                if generation == self.details.generation {
                    self.load_details(&mut fx);
                }
            }
        }
        self.sync_details(&mut fx);
        fx
    }

    fn on_tick(&mut self, now: DateTime<Utc>, fx: &mut Vec<Effect>) {
        // Relative times ("5 minutes ago") only change once a minute.
        if now.minute() != self.now.minute() || now.hour() != self.now.hour() {
            self.dirty = true;
        }
        self.now = now;
        self.ticks += 1;
        if let Some(s) = &mut self.status {
            s.ticks_left = s.ticks_left.saturating_sub(1);
            if s.ticks_left == 0 {
                self.status = None;
                self.dirty = true;
            }
        }
        // Only what is on screen is sampled: the engine pays for every sample.
        if self.view == View::Containers {
            let height = self.table_height();
            let table_shown = super::layout::areas(self).table.is_some();
            let mut visible: Vec<String> = self
                .containers
                .rows()
                .skip(self.containers.offset())
                .take(if table_shown { height } else { 0 })
                .filter(|c| c.running())
                .map(|c| c.id.clone())
                .collect();
            // The stats tab charts the selected container even with the table hidden.
            if let Some(c) = self.containers.selected().filter(|c| c.running()) {
                if !visible.contains(&c.id) {
                    visible.push(c.id.clone());
                }
            }
            for id in visible {
                if self.stats_inflight.insert(id.clone()) {
                    fx.push(Effect::Stats(id));
                }
            }
            if self.details.tab == DetailTab::Top && !self.top_inflight {
                if let Some(c) = self.containers.selected().filter(|c| c.running()) {
                    self.top_inflight = true;
                    fx.push(Effect::Top(c.id.clone()));
                }
            }
        }
        let every = (self.settings.refresh_interval.as_millis()
            / self.settings.stats_interval.as_millis().max(1))
        .max(1) as u64;
        if self.ticks % every == 0 {
            self.request(Load::Containers, fx);
            match self.view {
                View::Images => self.request(Load::Images, fx),
                View::Volumes => self.request(Load::Volumes, fx),
                _ => {}
            }
        }
    }

    // ----- details -------------------------------------------------------------

    fn inspect_kind(&self) -> Option<InspectKind> {
        match self.view {
            View::Containers => Some(InspectKind::Container),
            View::Images => Some(InspectKind::Image),
            View::Volumes => Some(InspectKind::Volume),
            View::Events => None,
        }
    }

    /// The selected object of the current view: (target, state).
    fn selection(&self) -> Option<(String, String)> {
        match self.view {
            View::Containers => self
                .containers
                .selected()
                .map(|c| (c.id.clone(), c.state.clone())),
            View::Images => self
                .images
                .selected()
                .map(|i| (i.id.clone(), String::new())),
            View::Volumes => self
                .volumes
                .selected()
                .map(|v| (v.name.clone(), String::new())),
            View::Events => None,
        }
    }

    /// When the selection (or its state) changed, drop the old details and schedule
    /// the new ones after a short pause, so holding j does not start a log reader
    /// per row passed.
    fn sync_details(&mut self, fx: &mut Vec<Effect>) {
        let sel = self.selection();
        let same = match (&sel, &self.details.target) {
            (Some((t, s)), Some(cur)) => t == cur && *s == self.details.target_state,
            (None, None) => true,
            _ => false,
        };
        if same {
            return;
        }
        fx.push(Effect::StopLogs);
        let d = &mut self.details;
        d.logs.reset();
        d.log_state = LogState::Idle;
        d.inspect = None;
        d.top = None;
        d.generation += 1;
        d.target = sel.as_ref().map(|(t, _)| t.clone());
        d.target_state = sel.map(|(_, s)| s).unwrap_or_default();
        if d.target.is_some() {
            fx.push(Effect::Debounce {
                generation: d.generation,
                delay: DETAILS_DELAY,
            });
        }
        self.dirty = true;
    }

    fn load_details(&mut self, fx: &mut Vec<Effect>) {
        let (Some(target), Some(kind)) = (self.details.target.clone(), self.inspect_kind()) else {
            return;
        };
        fx.push(Effect::Inspect(kind, target.clone()));
        if self.view == View::Containers {
            self.details.log_state = LogState::Streaming;
            fx.push(Effect::FollowLogs {
                id: target.clone(),
                tail: self.settings.log_tail,
            });
            if self.details.tab == DetailTab::Top {
                let running = self.containers.selected().is_some_and(|c| c.running());
                if running && !self.top_inflight {
                    self.top_inflight = true;
                    fx.push(Effect::Top(target));
                }
            }
        }
    }

    // ----- geometry ------------------------------------------------------------

    /// Data rows of the current table (what PgDn moves by).
    pub fn table_height(&self) -> usize {
        super::layout::areas(self)
            .table
            .map(|r| r.height.saturating_sub(3) as usize)
            .unwrap_or(1)
            .max(1)
    }

    /// Text rows of the details pane.
    pub fn details_height(&self) -> usize {
        super::layout::areas(self)
            .details
            .map(|r| r.height.saturating_sub(2) as usize)
            .unwrap_or(1)
            .max(1)
    }

    fn rescroll(&mut self) {
        let h = self.table_height();
        self.containers.scroll_to_cursor(h);
        self.images.scroll_to_cursor(h);
        self.volumes.scroll_to_cursor(h);
        self.events.scroll_to_cursor(h);
    }

    // ----- keys ----------------------------------------------------------------

    /// The key contexts for the focused pane, most specific first.
    pub fn contexts(&self) -> Vec<Context> {
        let mut c = Vec::new();
        if self.focus == Focus::Details && self.view.has_details() {
            match self.current_tab() {
                DetailTab::Logs => c.push(Context::Logs),
                DetailTab::Inspect => c.push(Context::Inspect),
                _ => {}
            }
            c.push(Context::Details);
        } else {
            c.push(Context::Table);
        }
        c.extend([Context::Nav, Context::Resource, Context::Global]);
        c
    }

    /// Images and volumes have only an inspect tab.
    pub fn current_tab(&self) -> DetailTab {
        if self.view == View::Containers {
            self.details.tab
        } else {
            DetailTab::Inspect
        }
    }

    fn on_key(&mut self, k: KeyEvent, fx: &mut Vec<Effect>) {
        // Leaving any state with ctrl-c works everywhere, whatever the keymap says.
        if k.code == KeyCode::Char('c') && k.modifiers.contains(KeyModifiers::CONTROL) {
            if matches!(self.overlay, Overlay::None) {
                self.quit = true;
            } else {
                self.overlay = Overlay::None;
            }
            return;
        }
        match std::mem::replace(&mut self.overlay, Overlay::None) {
            Overlay::None => {}
            Overlay::Help { scroll } => {
                self.overlay = match k.code {
                    KeyCode::Char('j') | KeyCode::Down => Overlay::Help { scroll: scroll + 1 },
                    KeyCode::Char('k') | KeyCode::Up => Overlay::Help {
                        scroll: scroll.saturating_sub(1),
                    },
                    KeyCode::PageDown => Overlay::Help {
                        scroll: scroll + 10,
                    },
                    KeyCode::PageUp => Overlay::Help {
                        scroll: scroll.saturating_sub(10),
                    },
                    _ => Overlay::None,
                };
                return;
            }
            Overlay::Confirm {
                title,
                lines,
                yes,
                force,
            } => {
                match (k.code, &force) {
                    (KeyCode::Char('y') | KeyCode::Char('Y') | KeyCode::Enter, _) => fx.push(yes),
                    (KeyCode::Char('f') | KeyCode::Char('F'), Some(f)) => fx.push(f.clone()),
                    (KeyCode::Char('n') | KeyCode::Char('N') | KeyCode::Esc, _) => {
                        self.info("cancelled")
                    }
                    _ => {
                        self.overlay = Overlay::Confirm {
                            title,
                            lines,
                            yes,
                            force,
                        }
                    }
                }
                return;
            }
            Overlay::RunForm(mut form) => {
                match form.handle(k) {
                    super::form::FormEvent::Cancel => self.info("cancelled"),
                    super::form::FormEvent::Submit(req) => {
                        self.info("creating…");
                        fx.push(Effect::Run(req));
                    }
                    super::form::FormEvent::None => self.overlay = Overlay::RunForm(form),
                }
                return;
            }
            Overlay::Prompt {
                kind,
                mut input,
                before,
                target,
            } => {
                self.on_prompt_key(kind, &mut input, &before, target.as_ref(), k, fx);
                return;
            }
        }
        let key = Key::from_event(&k);
        if let Some(action) = self.settings.keymap.lookup(key, &self.contexts()) {
            self.on_action(action, fx);
        }
    }

    fn on_prompt_key(
        &mut self,
        kind: Prompt,
        input: &mut LineInput,
        before: &str,
        target: Option<&Target>,
        k: KeyEvent,
        fx: &mut Vec<Effect>,
    ) {
        let keep = |app: &mut App, input: &LineInput| {
            app.overlay = Overlay::Prompt {
                kind,
                input: input.clone(),
                before: before.to_string(),
                target: target.cloned(),
            };
        };
        if kind == Prompt::Command && k.code == KeyCode::Tab {
            let cands = self.palette_candidates(input.text());
            input.set(&super::palette::complete(input.text(), &cands));
            keep(self, input);
            return;
        }
        match input.handle(&k) {
            InputEvent::Submit => self.submit_prompt(kind, input.text(), target, fx),
            InputEvent::Cancel => {
                if kind == Prompt::Filter {
                    self.table_set_filter(before);
                }
            }
            InputEvent::Changed => {
                if kind == Prompt::Filter {
                    self.table_set_filter(input.text());
                }
                keep(self, input);
            }
            InputEvent::Moved | InputEvent::Ignored => keep(self, input),
        }
    }

    pub fn palette_candidates(&self, text: &str) -> Vec<String> {
        let theme_names: Vec<String> = super::theme::BUILTIN
            .iter()
            .map(|(n, _)| n.to_string())
            .collect();
        let columns: Vec<String> = self
            .columns()
            .iter()
            .map(|c| c.title.to_lowercase())
            .collect();
        let args = move |cmd: &str| -> Vec<String> {
            match cmd {
                "theme" => theme_names.clone(),
                "sort" => columns.clone(),
                _ => vec![],
            }
        };
        super::palette::candidates(text, &args)
    }

    fn submit_prompt(
        &mut self,
        kind: Prompt,
        text: &str,
        target: Option<&Target>,
        fx: &mut Vec<Effect>,
    ) {
        match kind {
            Prompt::Filter => self.table_set_filter(text),
            Prompt::Search => {
                let h = self.details_height();
                self.details.logs.set_search(text);
                if !text.is_empty() && !self.details.logs.next_match(true, h) {
                    self.error(format!("no match for {text:?}"));
                }
            }
            Prompt::Command => self.run_command(text, fx),
            Prompt::Rename => {
                if let (Some(t), false) = (target, text.trim().is_empty()) {
                    fx.push(Effect::Batch {
                        op: Op::RenameContainer(text.trim().to_string()),
                        targets: vec![t.clone()],
                    });
                }
            }
            Prompt::Tag => {
                if let (Some(t), false) = (target, text.trim().is_empty()) {
                    fx.push(Effect::Batch {
                        op: Op::TagImage(text.trim().to_string()),
                        targets: vec![t.clone()],
                    });
                }
            }
            Prompt::CreateVolume => {
                let name = text.trim();
                fx.push(Effect::CreateVolume(
                    (!name.is_empty()).then(|| name.to_string()),
                ));
            }
        }
    }

    fn prompt(&mut self, kind: Prompt, initial: &str, target: Option<Target>) {
        self.overlay = Overlay::Prompt {
            kind,
            input: LineInput::new(initial),
            before: initial.to_string(),
            target,
        };
    }

    pub fn columns(&self) -> &'static [super::table::Column] {
        match self.view {
            View::Containers => containers::COLUMNS,
            View::Images => images::COLUMNS,
            View::Volumes => volumes::COLUMNS,
            View::Events => events::COLUMNS,
        }
    }

    fn table_set_filter(&mut self, text: &str) {
        match self.view {
            View::Containers => self.containers.set_filter(text),
            View::Images => self.images.set_filter(text),
            View::Volumes => self.volumes.set_filter(text),
            View::Events => self.events.set_filter(text),
        }
    }

    fn table_filter_text(&self) -> String {
        let f = match self.view {
            View::Containers => self.containers.filter(),
            View::Images => self.images.filter(),
            View::Volumes => self.volumes.filter(),
            View::Events => self.events.filter(),
        };
        f.map(|p| p.raw().to_string()).unwrap_or_default()
    }

    /// Applies `f` to the current view's table, whatever its item type.
    pub(super) fn with_table(&mut self, f: &mut dyn FnMut(&mut dyn TableOps)) {
        match self.view {
            View::Containers => f(&mut self.containers),
            View::Images => f(&mut self.images),
            View::Volumes => f(&mut self.volumes),
            View::Events => f(&mut self.events),
        }
    }

    pub fn set_view(&mut self, v: View) {
        if self.view != v {
            self.view = v;
            self.focus = Focus::Table;
            self.zoom = false;
        }
    }

    fn on_action(&mut self, action: Action, fx: &mut Vec<Effect>) {
        let th = self.table_height();
        let dh = self.details_height();
        let in_details = self.focus == Focus::Details && self.view.has_details();
        match action {
            Action::Quit => self.quit = true,
            Action::Help => self.overlay = Overlay::Help { scroll: 0 },
            Action::Palette => self.prompt(Prompt::Command, "", None),
            Action::NextView => self.set_view(View::ALL[(self.view.index() + 1) % 4]),
            Action::PrevView => self.set_view(View::ALL[(self.view.index() + 3) % 4]),
            Action::ViewContainers => self.set_view(View::Containers),
            Action::ViewImages => self.set_view(View::Images),
            Action::ViewVolumes => self.set_view(View::Volumes),
            Action::ViewEvents => self.set_view(View::Events),
            Action::Up | Action::Down | Action::PageUp | Action::PageDown => {
                let page = if in_details { dh } else { th } as isize;
                let delta = match action {
                    Action::Up => -1,
                    Action::Down => 1,
                    Action::PageUp => -page,
                    _ => page,
                };
                if in_details {
                    self.scroll_details(delta, dh);
                } else {
                    self.with_table(&mut |t| t.move_by(delta, th));
                }
            }
            Action::Top => {
                if in_details {
                    match self.current_tab() {
                        DetailTab::Logs => self.details.logs.go_top(),
                        DetailTab::Inspect => self.with_tree(|t| t.go_top()),
                        _ => {}
                    }
                } else {
                    self.with_table(&mut |t| t.go_top());
                }
            }
            Action::Bottom => {
                if in_details {
                    match self.current_tab() {
                        DetailTab::Logs => self.details.logs.follow(),
                        DetailTab::Inspect => self.with_tree(|t| t.go_bottom(dh)),
                        _ => {}
                    }
                } else {
                    self.with_table(&mut |t| t.go_bottom(th));
                }
            }
            Action::Filter => {
                let current = self.table_filter_text();
                self.prompt(Prompt::Filter, &current, None);
            }
            Action::SortNext => self.with_table(&mut |t| t.cycle_sort()),
            Action::SortReverse => self.with_table(&mut |t| t.reverse_sort()),
            Action::Mark => {
                self.with_table(&mut |t| {
                    t.toggle_mark();
                    t.move_by(1, th);
                });
            }
            Action::MarkAll => self.with_table(&mut |t| t.toggle_mark_all()),
            Action::Open => {
                if self.view.has_details() && self.details.target.is_some() {
                    self.focus = Focus::Details;
                }
            }
            Action::Clear => {
                let mut cleared = false;
                self.with_table(&mut |t| cleared = t.clear_marks());
                if !cleared {
                    self.table_set_filter("");
                }
                self.zoom = false;
            }
            Action::NextTab | Action::PrevTab => {
                if self.view == View::Containers {
                    let tabs = DetailTab::CONTAINER;
                    let i = tabs
                        .iter()
                        .position(|t| *t == self.details.tab)
                        .unwrap_or(0);
                    let n = tabs.len();
                    let next = if action == Action::NextTab {
                        (i + 1) % n
                    } else {
                        (i + n - 1) % n
                    };
                    self.details.tab = tabs[next];
                    if self.details.tab == DetailTab::Top {
                        self.request_top(fx);
                    }
                }
            }
            Action::Back => {
                self.focus = Focus::Table;
                self.zoom = false;
            }
            Action::Zoom => self.zoom = !self.zoom,
            Action::Mouse => {
                self.mouse = !self.mouse;
                fx.push(Effect::MouseCapture(self.mouse));
                if self.mouse {
                    self.info("mouse on: click and scroll");
                } else {
                    self.info("mouse off: select text with the mouse (m turns it back on)");
                }
            }
            Action::CopyId | Action::CopyName => self.copy(action == Action::CopyId, fx),
            Action::Search => {
                let current = self
                    .details
                    .logs
                    .search()
                    .map(|p| p.raw().to_string())
                    .unwrap_or_default();
                self.prompt(Prompt::Search, &current, None);
            }
            Action::SearchNext | Action::SearchPrev => {
                if self.details.logs.search().is_none() {
                    self.error("no search: press / first");
                } else if !self
                    .details
                    .logs
                    .next_match(action == Action::SearchNext, dh)
                {
                    self.error("no match");
                }
            }
            Action::Timestamps => self.details.logs.timestamps = !self.details.logs.timestamps,
            Action::Wrap => self.details.logs.wrap = !self.details.logs.wrap,
            Action::Follow => self.details.logs.follow(),
            Action::SaveLogs => self.save_logs(fx),
            Action::OnlyMatches => {
                if self.details.logs.search().is_none() {
                    self.error("no search: press / first");
                } else {
                    self.details.logs.toggle_only_matches();
                }
            }
            Action::Toggle => self.with_tree(|t| t.toggle()),
            Action::Expand => self.with_tree(|t| t.expand()),
            Action::Collapse => self.with_tree(|t| t.collapse()),
            Action::ExpandAll => self.with_tree(|t| t.expand_all()),
            Action::CollapseAll => self.with_tree(|t| t.collapse_all()),
            Action::Start => self.container_op(ContainerAction::Start, fx),
            Action::Stop => self.container_op(ContainerAction::Stop, fx),
            Action::Restart => self.container_op(ContainerAction::Restart, fx),
            Action::Kill => self.container_op(ContainerAction::Kill, fx),
            Action::Pause => {
                // One key toggles: unpause when everything targeted is paused.
                let all_paused = !self.containers.targets().is_empty()
                    && self
                        .containers
                        .targets()
                        .iter()
                        .all(|c| c.state == "paused");
                let a = if all_paused {
                    ContainerAction::Unpause
                } else {
                    ContainerAction::Pause
                };
                self.container_op(a, fx);
            }
            Action::Remove => self.remove(fx),
            Action::Rename => self.rename(),
            Action::Tag => self.tag(),
            Action::Prune => self.prune(),
            Action::Create => self.create(),
        }
    }

    /// Writes the lines held (as shown: filtered or not) with their timestamps to
    /// `<name>-<time>.log`.
    fn save_logs(&mut self, fx: &mut Vec<Effect>) {
        let Some(c) = self.containers.selected() else {
            self.error("no container selected");
            return;
        };
        let logs = &self.details.logs;
        let lines = logs.held();
        if lines.is_empty() {
            self.error("no log lines to save");
            return;
        }
        let mut text = String::new();
        for l in &lines {
            if let Some(t) = l.time {
                text.push_str(&t.to_rfc3339_opts(chrono::SecondsFormat::Nanos, true));
                text.push(' ');
            }
            text.push_str(&l.text);
            text.push('\n');
        }
        let file = format!("{}-{}.log", c.name, self.now.format("%Y%m%dT%H%M%S"));
        let path = match &self.settings.save_dir {
            Some(d) => d.join(file),
            None => std::path::PathBuf::from(file),
        };
        self.info(format!("saving {} lines…", lines.len()));
        fx.push(Effect::SaveLogs { path, text });
    }

    /// The selected object's id or name, to the clipboard.
    fn copy(&mut self, id: bool, fx: &mut Vec<Effect>) {
        let text = match self.view {
            View::Containers => {
                self.containers
                    .selected()
                    .map(|c| if id { c.id.clone() } else { c.name.clone() })
            }
            View::Images => {
                self.images
                    .selected()
                    .map(|i| if id { i.id.clone() } else { i.reference() })
            }
            View::Volumes => self.volumes.selected().map(|v| v.name.clone()),
            View::Events => {
                self.events
                    .selected()
                    .map(|e| if id { e.id.clone() } else { e.name.clone() })
            }
        };
        match text.filter(|t| !t.is_empty()) {
            Some(t) => {
                self.info(format!("copied {t}"));
                fx.push(Effect::Clipboard(t));
            }
            None => self.error("nothing to copy"),
        }
    }

    fn with_tree(&mut self, f: impl FnOnce(&mut JsonTree)) {
        if let Some(Inspected { result: Ok(t), .. }) = &mut self.details.inspect {
            f(t);
        }
    }

    /// Reads the selected container's processes unless a read is under way.
    pub(super) fn request_top(&mut self, fx: &mut Vec<Effect>) {
        if self.top_inflight {
            return;
        }
        if let Some(c) = self.containers.selected().filter(|c| c.running()) {
            self.top_inflight = true;
            fx.push(Effect::Top(c.id.clone()));
        }
    }

    pub(super) fn scroll_details(&mut self, delta: isize, height: usize) {
        match self.current_tab() {
            DetailTab::Logs => self.details.logs.scroll_by(delta, height),
            DetailTab::Inspect => self.with_tree(|t| t.move_by(delta, height)),
            _ => {}
        }
    }

    // ----- actions -------------------------------------------------------------

    /// Refuses mutating actions in read-only mode (and says so).
    fn writable(&mut self, what: &str) -> bool {
        if self.settings.readonly {
            self.error(format!("read-only mode: {what} is disabled"));
            false
        } else {
            true
        }
    }

    fn container_targets(&self) -> Vec<Target> {
        self.containers
            .targets()
            .iter()
            .map(|c| Target {
                id: c.id.clone(),
                label: c.name.clone(),
            })
            .collect()
    }

    fn container_op(&mut self, a: ContainerAction, fx: &mut Vec<Effect>) {
        if !self.writable(a.verb()) {
            return;
        }
        if self.view != View::Containers {
            self.error(format!("{} applies to containers (press 1)", a.verb()));
            return;
        }
        let targets = self.container_targets();
        if targets.is_empty() {
            self.error("no container selected");
            return;
        }
        let names: Vec<String> = targets.iter().map(first_name).collect();
        self.info(format!("{}: {}…", a.verb(), names.join(", ")));
        fx.push(Effect::Batch {
            op: Op::Container(a),
            targets,
        });
    }

    fn remove(&mut self, _fx: &mut [Effect]) {
        if !self.writable("remove") {
            return;
        }
        let (what, targets, op, force): (&str, Vec<Target>, Op, Option<Op>) = match self.view {
            View::Containers => (
                "container",
                self.container_targets(),
                Op::RemoveContainer { force: false },
                Some(Op::RemoveContainer { force: true }),
            ),
            View::Images => (
                "image",
                self.images
                    .targets()
                    .iter()
                    .map(|i| Target {
                        id: i.reference(),
                        label: i.reference(),
                    })
                    .collect(),
                Op::RemoveImage { force: false },
                Some(Op::RemoveImage { force: true }),
            ),
            View::Volumes => (
                "volume",
                self.volumes
                    .targets()
                    .iter()
                    .map(|v| Target {
                        id: v.name.clone(),
                        label: v.name.clone(),
                    })
                    .collect(),
                Op::RemoveVolume,
                None,
            ),
            View::Events => {
                self.error("events cannot be removed");
                return;
            }
        };
        if targets.is_empty() {
            self.error(format!("no {what} selected"));
            return;
        }
        let mut lines: Vec<String> = targets.iter().take(8).map(|t| t.label.clone()).collect();
        if targets.len() > 8 {
            lines.push(format!("… and {} more", targets.len() - 8));
        }
        self.overlay = Overlay::Confirm {
            title: format!("Remove {} {what}(s)?", targets.len()),
            lines,
            force: force.map(|op| Effect::Batch {
                op,
                targets: targets.clone(),
            }),
            yes: Effect::Batch { op, targets },
        };
    }

    fn rename(&mut self) {
        if !self.writable("rename") {
            return;
        }
        match (self.view, self.containers.selected()) {
            (View::Containers, Some(c)) => {
                let t = Target {
                    id: c.id.clone(),
                    label: c.name.clone(),
                };
                let name = c.name.clone();
                self.prompt(Prompt::Rename, &name, Some(t));
            }
            _ => self.error("rename applies to a selected container"),
        }
    }

    fn tag(&mut self) {
        if !self.writable("tag") {
            return;
        }
        match (self.view, self.images.selected()) {
            (View::Images, Some(i)) => {
                let t = Target {
                    id: i.id.clone(),
                    label: i.reference(),
                };
                let initial = if i.repo == "<none>" {
                    String::new()
                } else {
                    format!("{}:", i.repo)
                };
                self.prompt(Prompt::Tag, &initial, Some(t));
            }
            _ => self.error("tag applies to a selected image (press 2)"),
        }
    }

    fn prune(&mut self) {
        if !self.writable("prune") {
            return;
        }
        let (title, yes) = match self.view {
            View::Images => ("Remove all dangling images?", Effect::PruneImages),
            View::Volumes => ("Remove all unused anonymous volumes?", Effect::PruneVolumes),
            _ => {
                self.error("prune applies to images (2) or volumes (3)");
                return;
            }
        };
        self.overlay = Overlay::Confirm {
            title: title.to_string(),
            lines: vec![],
            yes,
            force: None,
        };
    }

    fn create(&mut self) {
        if !self.writable("create") {
            return;
        }
        match self.view {
            View::Volumes => self.prompt(Prompt::CreateVolume, "", None),
            View::Images => {
                let image = self
                    .images
                    .selected()
                    .map(|i| i.reference())
                    .unwrap_or_default();
                self.open_run_form(&image);
            }
            _ => self.open_run_form(""),
        }
    }

    fn open_run_form(&mut self, image: &str) {
        self.overlay = Overlay::RunForm(Box::new(super::form::RunForm::new(image)));
    }

    fn run_command(&mut self, line: &str, fx: &mut Vec<Effect>) {
        let line = line.trim();
        if line.is_empty() {
            return;
        }
        let (name, arg) = match line.split_once(' ') {
            Some((n, a)) => (n, a.trim()),
            None => (line, ""),
        };
        let Some(cmd) = super::palette::find(name) else {
            self.error(format!("unknown command {name:?} (Tab completes)"));
            return;
        };
        let action = match cmd.name {
            "containers" => Some(Action::ViewContainers),
            "images" => Some(Action::ViewImages),
            "volumes" => Some(Action::ViewVolumes),
            "events" => Some(Action::ViewEvents),
            "start" => Some(Action::Start),
            "stop" => Some(Action::Stop),
            "restart" => Some(Action::Restart),
            "kill" => Some(Action::Kill),
            "help" => Some(Action::Help),
            "quit" => Some(Action::Quit),
            "prune" => Some(Action::Prune),
            "run" => {
                if self.writable("run") {
                    self.open_run_form(arg);
                }
                None
            }
            "pause" => {
                self.container_op(ContainerAction::Pause, fx);
                None
            }
            "unpause" => {
                self.container_op(ContainerAction::Unpause, fx);
                None
            }
            "rm" | "rmi" => {
                if cmd.name == "rmi" {
                    self.set_view(View::Images);
                }
                Some(Action::Remove)
            }
            "rename" => {
                if !self.writable("rename") {
                    return;
                }
                match (arg.is_empty(), self.containers.selected(), self.view) {
                    (true, _, _) => Some(Action::Rename),
                    (false, Some(c), View::Containers) => {
                        fx.push(Effect::Batch {
                            op: Op::RenameContainer(arg.to_string()),
                            targets: vec![Target {
                                id: c.id.clone(),
                                label: c.name.clone(),
                            }],
                        });
                        None
                    }
                    _ => {
                        self.error("rename applies to a selected container");
                        None
                    }
                }
            }
            "tag" => {
                if !self.writable("tag") {
                    return;
                }
                match (arg.is_empty(), self.images.selected(), self.view) {
                    (true, _, _) => Some(Action::Tag),
                    (false, Some(i), View::Images) => {
                        fx.push(Effect::Batch {
                            op: Op::TagImage(arg.to_string()),
                            targets: vec![Target {
                                id: i.id.clone(),
                                label: i.reference(),
                            }],
                        });
                        None
                    }
                    _ => {
                        self.error("tag applies to a selected image");
                        None
                    }
                }
            }
            "volume-create" => {
                if self.writable("create") {
                    self.set_view(View::Volumes);
                    fx.push(Effect::CreateVolume(
                        (!arg.is_empty()).then(|| arg.to_string()),
                    ));
                }
                None
            }
            "filter" => {
                self.table_set_filter(arg);
                None
            }
            "sort" => {
                let cols = self.columns();
                let (col, desc) = match arg.strip_suffix('!') {
                    Some(a) => (a, true),
                    None => (arg, false),
                };
                match cols.iter().position(|c| c.title.eq_ignore_ascii_case(col)) {
                    Some(i) => self.with_table(&mut |t| t.sort_by(i, desc)),
                    None => {
                        let names: Vec<String> =
                            cols.iter().map(|c| c.title.to_lowercase()).collect();
                        self.error(format!("no column {arg:?} (one of: {})", names.join(", ")));
                    }
                }
                None
            }
            "theme" => {
                match super::theme::Theme::load(arg, self.settings.themes_dir.as_deref()) {
                    Ok(t) => {
                        self.settings.theme = t;
                        self.info(format!("theme {arg}"));
                    }
                    Err(e) => self.error(e),
                }
                None
            }
            _ => None,
        };
        if let Some(a) = action {
            self.on_action(a, fx);
        }
    }
}

/// The table operations keys need, over any item type.
pub(super) trait TableOps {
    fn move_by(&mut self, delta: isize, height: usize);
    fn select(&mut self, index: usize, height: usize);
    fn offset(&self) -> usize;
    fn go_top(&mut self);
    fn go_bottom(&mut self, height: usize);
    fn cycle_sort(&mut self);
    fn reverse_sort(&mut self);
    fn sort_by(&mut self, col: usize, desc: bool);
    fn toggle_mark(&mut self);
    fn toggle_mark_all(&mut self);
    fn clear_marks(&mut self) -> bool;
}

impl<T: super::table::TableItem> TableOps for TableModel<T> {
    fn move_by(&mut self, delta: isize, height: usize) {
        TableModel::move_by(self, delta, height)
    }
    fn select(&mut self, index: usize, height: usize) {
        TableModel::select(self, index, height)
    }
    fn offset(&self) -> usize {
        TableModel::offset(self)
    }
    fn go_top(&mut self) {
        TableModel::go_top(self)
    }
    fn go_bottom(&mut self, height: usize) {
        TableModel::go_bottom(self, height)
    }
    fn cycle_sort(&mut self) {
        TableModel::cycle_sort(self)
    }
    fn reverse_sort(&mut self) {
        TableModel::reverse_sort(self)
    }
    fn sort_by(&mut self, col: usize, desc: bool) {
        TableModel::sort_by(self, col, desc)
    }
    fn toggle_mark(&mut self) {
        TableModel::toggle_mark(self)
    }
    fn toggle_mark_all(&mut self) {
        TableModel::toggle_mark_all(self)
    }
    fn clear_marks(&mut self) -> bool {
        TableModel::clear_marks(self)
    }
}
