//! Actions that change something (start, stop, remove, rename, tag, prune, create,
//! run), refused in read-only mode, plus saving logs, the clipboard and the palette's
//! commands.

use super::app::{App, Overlay, Prompt, View};
use super::keymap::Action;
use super::msg::{Effect, Op, Target};
use crate::client::ContainerAction;

impl App {
    /// Writes the lines held (as shown: filtered or not) with their timestamps to
    /// `<name>-<time>.log`.
    pub(super) fn save_logs(&mut self, fx: &mut Vec<Effect>) {
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
    pub(super) fn copy(&mut self, id: bool, fx: &mut Vec<Effect>) {
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
            View::Networks => {
                self.networks
                    .selected()
                    .map(|n| if id { n.id.clone() } else { n.name.clone() })
            }
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

    // ----- actions -------------------------------------------------------------

    /// Refuses mutating actions in read-only mode (and says so).
    pub(super) fn writable(&mut self, what: &str) -> bool {
        if self.settings.readonly {
            self.error(format!("read-only mode: {what} is disabled"));
            false
        } else {
            true
        }
    }

    pub(super) fn container_targets(&self) -> Vec<Target> {
        self.containers
            .targets()
            .iter()
            .map(|c| Target {
                id: c.id.clone(),
                label: c.name.clone(),
            })
            .collect()
    }

    pub(super) fn container_op(&mut self, a: ContainerAction, fx: &mut Vec<Effect>) {
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
        let names: Vec<String> = targets.iter().map(|t| t.label.clone()).collect();
        self.info(format!("{}: {}…", a.verb(), names.join(", ")));
        fx.push(Effect::Batch {
            op: Op::Container(a),
            targets,
        });
    }

    pub(super) fn remove(&mut self, _fx: &mut [Effect]) {
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
            View::Networks => (
                "network",
                self.networks
                    .targets()
                    .iter()
                    .map(|n| Target {
                        id: n.id.clone(),
                        label: n.name.clone(),
                    })
                    .collect(),
                Op::RemoveNetwork,
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

    pub(super) fn rename(&mut self) {
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

    pub(super) fn tag(&mut self) {
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

    pub(super) fn prune(&mut self) {
        if !self.writable("prune") {
            return;
        }
        let (title, yes) = match self.view {
            View::Images => ("Remove all dangling images?", Effect::PruneImages),
            View::Volumes => ("Remove all unused anonymous volumes?", Effect::PruneVolumes),
            View::Networks => (
                "Remove all custom networks no container uses?",
                Effect::PruneNetworks,
            ),
            _ => {
                self.error("prune applies to images (2), volumes (3) or networks (4)");
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

    pub(super) fn create(&mut self) {
        if !self.writable("create") {
            return;
        }
        match self.view {
            View::Volumes => self.prompt(Prompt::CreateVolume, "", None),
            View::Networks => self.prompt(Prompt::CreateNetwork, "", None),
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

    pub(super) fn open_run_form(&mut self, image: &str) {
        self.overlay = Overlay::RunForm(Box::new(super::form::RunForm::new(image)));
    }

    pub(super) fn run_command(&mut self, line: &str, fx: &mut Vec<Effect>) {
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
            "networks" => Some(Action::ViewNetworks),
            "events" => Some(Action::ViewEvents),
            "start" => Some(Action::Start),
            "stop" => Some(Action::Stop),
            "restart" => Some(Action::Restart),
            "kill" => Some(Action::Kill),
            "help" => Some(Action::Help),
            "quit" => Some(Action::Quit),
            "ctx" => {
                if arg.is_empty() {
                    self.error(
                        ":ctx ENDPOINT: embedded, default, DOCKER_HOST, a docker context, or unix:// tcp:// ssh://",
                    );
                } else {
                    fx.push(Effect::SwitchEndpoint(arg.to_string()));
                }
                None
            }
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
            "pull" => {
                let reference = arg.trim();
                if reference.is_empty() {
                    self.error("pull needs an image (e.g. :pull busybox:latest)");
                } else if self.writable("pull") {
                    if !self.pulls.iter().any(|p| p.reference == reference) {
                        self.pulls.push(super::pulls::Pull::new(reference));
                        fx.push(Effect::Pull(reference.to_string()));
                    }
                    self.dirty = true;
                }
                None
            }
            "network-create" => {
                if arg.is_empty() {
                    self.error("network-create needs a name");
                } else if self.writable("create") {
                    self.set_view(View::Networks);
                    fx.push(Effect::CreateNetwork(arg.to_string()));
                }
                None
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
