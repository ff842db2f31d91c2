//! The console's state and its update function: `update(Msg) -> Vec<Effect>`. Nothing
//! here awaits or touches the terminal; drawing (`draw.rs`) only reads this state.

use std::collections::{BTreeSet, HashMap, HashSet, VecDeque};
use std::time::Duration;

use bollard::models::ContainerTopResponse;
use chrono::{DateTime, Timelike, Utc};

use super::config::Settings;
use super::logs::LogBuffer;
use super::msg::{Effect, InspectKind, Load, Msg, Op, Target};
use super::table::TableModel;
use super::views::containers::{self, ContainerItem};
use super::views::events::{self, EventItem};
use super::views::images::{self, ImageItem};
use super::views::networks::{self, NetworkItem};
use super::views::volumes::{self, VolumeItem};
use crate::client::StatsSample;
use crate::widgets::input::LineInput;
use crate::widgets::json_tree::JsonTree;

/// Samples kept per container for charts and sparklines.
pub const STATS_HISTORY: usize = 60;
/// How long details wait for the cursor to settle before loading logs and inspect.
const DETAILS_DELAY: Duration = Duration::from_millis(120);
/// A row whose last samples show it idle (CPU below this %, memory steady) is
/// sampled only every `QUIET_EVERY` ticks; the selected row always every tick.
const QUIET_CPU: f64 = 0.5;
const QUIET_EVERY: u64 = 5;
/// Ticks a status message stays up.
const STATUS_TICKS: u32 = 3;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum View {
    Containers,
    Images,
    Volumes,
    Networks,
    Events,
}

impl View {
    pub const ALL: [View; 5] = [
        View::Containers,
        View::Images,
        View::Volumes,
        View::Networks,
        View::Events,
    ];

    pub fn title(self) -> &'static str {
        match self {
            View::Containers => "Containers",
            View::Images => "Images",
            View::Volumes => "Volumes",
            View::Networks => "Networks",
            View::Events => "Events",
        }
    }

    pub(super) fn index(self) -> usize {
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
    /// Images: the layer explorer.
    Layers,
}

impl DetailTab {
    pub const IMAGE: [DetailTab; 2] = [DetailTab::Inspect, DetailTab::Layers];

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
            DetailTab::Layers => "Layers",
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
    /// The Images view's tab (Inspect or Layers).
    pub image_tab: DetailTab,
    pub layers: Option<Result<super::layers::LayersState, String>>,
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
    CreateNetwork,
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
    /// Image pulls in progress, oldest first.
    pub pulls: Vec<super::pulls::Pull>,
    pub networks: TableModel<NetworkItem>,
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
    /// Exec and attach sessions in terminal panes.
    pub terms: super::terminal::Terminals,
    event_log: VecDeque<EventItem>,
    event_seq: u64,
    stats_inflight: HashSet<String>,
    /// The tick at which each row is next sampled (quiet rows less often).
    stats_due: HashMap<String, u64>,
    pub(super) top_inflight: bool,
    older_inflight: bool,
    loads_inflight: BTreeSet<Load>,
    loads_pending: BTreeSet<Load>,
    ticks: u64,
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
            pulls: Vec::new(),
            networks: TableModel::new(networks::COLUMNS.len(), Some((0, false))),
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
                image_tab: DetailTab::Inspect,
                layers: None,
                generation: 0,
            },
            overlay: Overlay::None,
            status,
            quit: false,
            mouse: settings_mouse,
            dirty: true,
            terms: Default::default(),
            event_log: VecDeque::new(),
            event_seq: 0,
            stats_inflight: HashSet::new(),
            stats_due: HashMap::new(),
            top_inflight: false,
            older_inflight: false,
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
        for l in [
            Load::Containers,
            Load::Images,
            Load::Volumes,
            Load::Networks,
        ] {
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
            Msg::Paste(text) => {
                self.on_paste(&text, &mut fx);
                self.dirty = true;
            }
            Msg::Resize(w, h) => {
                self.size = (w, h);
                self.rescroll();
                self.resize_terminals(&mut fx);
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
                        self.stats_due.retain(|id, _| ids.contains(id.as_str()));
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
            Msg::Networks(r) => {
                match r {
                    Ok(list) => {
                        let items = networks::items(&list, self.now);
                        if self.networks.items() != items.as_slice() {
                            self.networks.set_items(items);
                            self.dirty = true;
                        }
                    }
                    Err(e) => self.error(format!("listing networks: {e}")),
                }
                self.loaded(Load::Networks, &mut fx);
            }
            Msg::Event(ev) => {
                self.event_seq += 1;
                let item = EventItem::new(self.event_seq, &ev);
                // Events that leave every listed field as it was re-read nothing.
                let unchanged = item.action.starts_with("exec_")
                    || matches!(
                        item.action.as_str(),
                        "attach"
                            | "detach"
                            | "resize"
                            | "top"
                            | "export"
                            | "archive-path"
                            | "extract-to-dir"
                            | "copy"
                    );
                let load = match item.kind.as_str() {
                    _ if unchanged => None,
                    "container" => Some(Load::Containers),
                    "image" => Some(Load::Images),
                    "volume" => Some(Load::Volumes),
                    "network" => Some(Load::Networks),
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
                    let charted = self.details.tab == DetailTab::Stats
                        && self.details.target.as_deref() == Some(id.as_str());
                    let history = self.stats.entry(id.clone()).or_default();
                    let prev = history.last().copied();
                    let quiet = prev.is_some_and(|p| {
                        s.cpu_percent < QUIET_CPU
                            && p.cpu_percent < QUIET_CPU
                            && s.mem_used.abs_diff(p.mem_used) <= p.mem_used / 100
                    });
                    // An idle row's numbers and flat sparkline look the same sample
                    // after sample: no redraw for those.
                    let looks_same = prev.is_some_and(|p| {
                        (p.cpu_percent * 10.0).round() == (s.cpu_percent * 10.0).round()
                            && s.mem_used.abs_diff(p.mem_used) <= p.mem_used / 200
                            && history.samples.iter().all(|h| {
                                (h.cpu_percent * 10.0).round() == (s.cpu_percent * 10.0).round()
                            })
                    });
                    history.push(s);
                    let wait = if quiet { QUIET_EVERY } else { 1 };
                    self.stats_due.insert(id.clone(), self.ticks + wait);
                    self.containers.update_items(|items| {
                        for it in items.iter_mut().filter(|i| i.id == id) {
                            it.stats = Some(s);
                        }
                    });
                    self.dirty |= charted || !looks_same;
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
            Msg::OlderLogs { id, asked, result } => {
                self.older_inflight = false;
                if self.details.target.as_deref() == Some(id.as_str()) {
                    match result {
                        Ok(lines) => self.details.logs.prepend(lines, asked),
                        Err(e) => self.error(format!("reading older log lines: {e}")),
                    }
                    self.dirty = true;
                }
            }
            Msg::ImageLayers { id, result } => {
                if self.view == View::Images && self.details.target.as_deref() == Some(id.as_str())
                {
                    self.details.layers = Some(result.map(super::layers::LayersState::new));
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
            Msg::PullProgress { reference, info } => {
                if let Some(p) = self.pulls.iter_mut().find(|p| p.reference == reference) {
                    p.apply(&info);
                    self.dirty = true;
                }
            }
            Msg::PullEnded { reference, error } => {
                let pull = self
                    .pulls
                    .iter()
                    .position(|p| p.reference == reference)
                    .map(|i| self.pulls.remove(i));
                let error = error.or_else(|| pull.and_then(|p| p.error));
                match error {
                    Some(e) => self.error(format!("pulling {reference}: {e}")),
                    None => self.info(format!("pulled {reference}")),
                }
                self.dirty = true;
                self.request(Load::Images, &mut fx);
            }
            Msg::Note(r) => match r {
                Ok(m) => self.info(m),
                Err(e) => self.error(e),
            },
            Msg::TermOutput { pane, data } => self.on_term_output(pane, &data),
            Msg::TermEnded { pane, code, error } => self.on_term_ended(pane, code, error, &mut fx),
            Msg::DetailsDue(generation) => {
                if generation == self.details.generation {
                    self.load_details(&mut fx);
                }
            }
        }
        self.sync_details(&mut fx);
        self.sync_log_window(&mut fx);
        fx
    }

    /// A page of older log lines is being read.
    pub fn older_inflight(&self) -> bool {
        self.older_inflight
    }

    /// Pages older log lines in when the view reaches the first one held, and reads
    /// the tail again when following resumes after newer lines were let go.
    fn sync_log_window(&mut self, fx: &mut Vec<Effect>) {
        if self.view != View::Containers {
            return;
        }
        let Some(id) = self.details.target.clone() else {
            return;
        };
        if self.details.logs.needs_reload() {
            self.details.logs.reset();
            self.details.log_state = LogState::Streaming;
            fx.push(Effect::FollowLogs {
                id,
                tail: self.settings.log_tail,
            });
            self.dirty = true;
        } else if !self.older_inflight {
            if let Some((before, skip)) = self.details.logs.wants_older() {
                self.older_inflight = true;
                fx.push(Effect::OlderLogs {
                    id,
                    before,
                    skip,
                    page: self.settings.log_tail,
                });
            }
        }
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
            // Quiet rows wait their turn; the selected one (its charts) never does.
            let ticks = self.ticks;
            let selected = self.containers.selected().map(|c| c.id.clone());
            visible.retain(|id| {
                Some(id) == selected.as_ref()
                    || self.stats_due.get(id).is_none_or(|due| *due <= ticks)
            });
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
                View::Networks => self.request(Load::Networks, fx),
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
            View::Networks => Some(InspectKind::Network),
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
            View::Networks => self
                .networks
                .selected()
                .map(|n| (n.id.clone(), String::new())),
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
        d.layers = None;
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
        if self.view == View::Images && self.details.image_tab == DetailTab::Layers {
            fx.push(Effect::ImageLayers(target.clone()));
        }
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
}

#[cfg(test)]
mod tests {
    use super::*;
    use bollard::models::{ContainerSummary, ContainerSummaryStateEnum};

    fn summary(id: &str) -> ContainerSummary {
        ContainerSummary {
            id: Some(id.to_string()),
            names: Some(vec![format!("/{id}")]),
            state: Some(ContainerSummaryStateEnum::RUNNING),
            ..Default::default()
        }
    }

    fn sampled(fx: &[Effect]) -> Vec<String> {
        let mut ids: Vec<String> = fx
            .iter()
            .filter_map(|e| match e {
                Effect::Stats(id) => Some(id.clone()),
                _ => None,
            })
            .collect();
        ids.sort();
        ids
    }

    #[test]
    fn quiet_rows_are_sampled_less_often_and_the_selected_one_always() {
        let now = Utc::now();
        let mut app = App::new(Settings::default(), "test".into(), now, (120, 40));
        app.update(Msg::Containers(Ok(vec![summary("busy"), summary("idle")])));
        let sample = |cpu: f64| StatsSample {
            cpu_percent: cpu,
            mem_used: 1000,
            ..Default::default()
        };
        // Row 0 ("busy") is selected; move to "idle" so neither row is special.
        for _ in 0..2 {
            let fx = app.update(Msg::Tick(now));
            assert_eq!(sampled(&fx), ["busy", "idle"]);
            for (id, cpu) in [("busy", 30.0), ("idle", 0.0)] {
                app.update(Msg::Stats {
                    id: id.into(),
                    result: Ok(sample(cpu)),
                });
            }
        }
        // Two idle samples in a row: "idle" waits QUIET_EVERY ticks; "busy" (selected
        // and busy) is sampled on every one.
        let mut idle_samples = 0;
        for _ in 0..QUIET_EVERY {
            let fx = app.update(Msg::Tick(now));
            let ids = sampled(&fx);
            assert!(ids.contains(&"busy".to_string()));
            for id in ids {
                idle_samples += usize::from(id == "idle");
                let cpu = if id == "busy" { 30.0 } else { 0.0 };
                app.update(Msg::Stats {
                    id,
                    result: Ok(sample(cpu)),
                });
            }
        }
        assert_eq!(idle_samples, 1, "one sample in {QUIET_EVERY} ticks");
    }

    #[test]
    fn events_reload_only_the_list_they_change() {
        use bollard::models::{EventActor, EventMessage, EventMessageTypeEnum};
        let now = Utc::now();
        let mut app = App::new(Settings::default(), "test".into(), now, (120, 40));
        app.update(Msg::Containers(Ok(vec![summary("a")])));
        let event = |typ, action: &str| {
            Msg::Event(EventMessage {
                typ: Some(typ),
                action: Some(action.to_string()),
                actor: Some(EventActor {
                    id: Some("a".into()),
                    attributes: None,
                }),
                ..Default::default()
            })
        };
        let loads = |fx: Vec<Effect>| -> Vec<Load> {
            fx.into_iter()
                .filter_map(|e| match e {
                    Effect::Load(l) => Some(l),
                    _ => None,
                })
                .collect()
        };
        let fx = app.update(event(EventMessageTypeEnum::CONTAINER, "exec_start"));
        assert_eq!(loads(fx), []);
        let fx = app.update(event(EventMessageTypeEnum::CONTAINER, "die"));
        assert_eq!(loads(fx), [Load::Containers]);
        let fx = app.update(event(EventMessageTypeEnum::VOLUME, "create"));
        assert_eq!(loads(fx), [Load::Volumes]);
    }
}
