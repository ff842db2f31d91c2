//! Keys: which action a key means in the focused pane, the overlays' own keys
//! (prompts, confirmations, help, the run form), and what each action does to the
//! state.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::app::{App, DetailTab, Focus, Inspected, Overlay, Prompt, View};
use super::keymap::{Action, Context, Key};
use super::msg::{Effect, Op, Target};
use super::table::TableOps;
use super::views::{containers, events, images, volumes};
use crate::client::ContainerAction;
use crate::widgets::input::{InputEvent, LineInput};
use crate::widgets::json_tree::JsonTree;

impl App {
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

    /// Images have Inspect and Layers; volumes only Inspect.
    pub fn current_tab(&self) -> DetailTab {
        match self.view {
            View::Containers => self.details.tab,
            View::Images => self.details.image_tab,
            _ => DetailTab::Inspect,
        }
    }

    pub(super) fn on_key(&mut self, k: KeyEvent, fx: &mut Vec<Effect>) {
        // A terminal pane takes every key, ctrl-c included (it is the process's).
        if self.terms.shown && matches!(self.overlay, Overlay::None) {
            self.on_terminal_key(k, fx);
            return;
        }
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
                    (KeyCode::Char('y') | KeyCode::Char('Y') | KeyCode::Enter, _) => {
                        if yes == Effect::Quit {
                            self.quit = true;
                        } else {
                            fx.push(yes);
                        }
                    }
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

    pub(super) fn on_prompt_key(
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

    pub(super) fn submit_prompt(
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
            Prompt::CreateNetwork => {
                let name = text.trim();
                if !name.is_empty() {
                    fx.push(Effect::CreateNetwork(name.to_string()));
                }
            }
        }
    }

    pub(super) fn prompt(&mut self, kind: Prompt, initial: &str, target: Option<Target>) {
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
            View::Networks => super::views::networks::COLUMNS,
            View::Events => events::COLUMNS,
        }
    }

    pub(super) fn table_set_filter(&mut self, text: &str) {
        match self.view {
            View::Containers => self.containers.set_filter(text),
            View::Images => self.images.set_filter(text),
            View::Volumes => self.volumes.set_filter(text),
            View::Networks => self.networks.set_filter(text),
            View::Events => self.events.set_filter(text),
        }
    }

    pub(super) fn table_filter_text(&self) -> String {
        let f = match self.view {
            View::Containers => self.containers.filter(),
            View::Images => self.images.filter(),
            View::Volumes => self.volumes.filter(),
            View::Networks => self.networks.filter(),
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
            View::Networks => f(&mut self.networks),
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

    pub(super) fn on_action(&mut self, action: Action, fx: &mut Vec<Effect>) {
        let th = self.table_height();
        let dh = self.details_height();
        let in_details = self.focus == Focus::Details && self.view.has_details();
        match action {
            Action::Quit => self.quit_or_confirm(),
            Action::Help => self.overlay = Overlay::Help { scroll: 0 },
            Action::Palette => self.prompt(Prompt::Command, "", None),
            Action::NextView => self.set_view(View::ALL[(self.view.index() + 1) % 4]),
            Action::PrevView => self.set_view(View::ALL[(self.view.index() + 3) % 4]),
            Action::ViewContainers => self.set_view(View::Containers),
            Action::ViewImages => self.set_view(View::Images),
            Action::ViewVolumes => self.set_view(View::Volumes),
            Action::ViewNetworks => self.set_view(View::Networks),
            Action::ViewEvents => self.set_view(View::Events),
            Action::Up | Action::Down | Action::PageUp | Action::PageDown => {
                let page = if in_details { dh } else { th } as isize;
                let delta = match action {
                    Action::Up => -1,
                    Action::Down => 1,
                    Action::PageUp => -page,
                    _ => page,
                };
                if in_details && self.current_tab() == DetailTab::Layers {
                    // Up/down pick a layer; pages scroll its file tree.
                    let th = super::layers::tree_height(dh as u16);
                    match action {
                        Action::Up | Action::Down => self.with_layers(|l| l.move_by(delta)),
                        _ => self.with_layers(|l| l.scroll_by(delta.signum() * th as isize, th)),
                    }
                } else if in_details {
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
                        DetailTab::Layers => self.with_layers(|l| l.select(0)),
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
                        DetailTab::Layers => self.with_layers(|l| l.select(usize::MAX)),
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
                } else if self.view == View::Images {
                    self.details.image_tab = match self.details.image_tab {
                        DetailTab::Layers => DetailTab::Inspect,
                        _ => DetailTab::Layers,
                    };
                    if self.details.image_tab == DetailTab::Layers && self.details.layers.is_none()
                    {
                        if let Some(id) = self.details.target.clone() {
                            fx.push(Effect::ImageLayers(id));
                        }
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
            Action::Exec => self.open_terminal(super::terminal::PaneKind::Exec, fx),
            Action::Attach => self.open_terminal(super::terminal::PaneKind::Attach, fx),
            Action::Terminals => self.show_terminals(),
            // Only meaningful on the terminal screen, which handles them itself.
            Action::TermNext | Action::TermPrev => {}
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

    pub(super) fn with_layers(&mut self, f: impl FnOnce(&mut super::layers::LayersState)) {
        if let Some(Ok(l)) = &mut self.details.layers {
            f(l);
        }
    }

    pub(super) fn with_tree(&mut self, f: impl FnOnce(&mut JsonTree)) {
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
}
