//! What flows into the app (`Msg`: input, timer ticks, results of engine calls) and out
//! of it (`Effect`: engine calls to make). The app never awaits anything itself.

use std::time::Duration;

use bollard::models::{ContainerSummary, ContainerTopResponse, EventMessage, ImageSummary, Volume};
use chrono::{DateTime, Utc};
use crossterm::event::KeyEvent;
use serde_json::Value;

use crate::client::{ContainerAction, LogLine, StatsSample};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Load {
    Containers,
    Images,
    Volumes,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InspectKind {
    Container,
    Image,
    Volume,
}

/// One step of a (possibly bulk) action.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op {
    Container(ContainerAction),
    RemoveContainer { force: bool },
    RenameContainer(String),
    RemoveImage { force: bool },
    TagImage(String),
    RemoveVolume,
}

impl Op {
    /// "stop", "rm", "tag": how the status bar names it.
    pub fn verb(&self) -> &'static str {
        match self {
            Op::Container(a) => a.verb(),
            Op::RemoveContainer { .. } => "remove",
            Op::RenameContainer(_) => "rename",
            Op::RemoveImage { .. } => "remove",
            Op::TagImage(_) => "tag",
            Op::RemoveVolume => "remove",
        }
    }

    /// The list to re-read once it is done.
    pub fn reloads(&self) -> Load {
        match self {
            Op::Container(_) | Op::RemoveContainer { .. } | Op::RenameContainer(_) => {
                Load::Containers
            }
            Op::RemoveImage { .. } | Op::TagImage(_) => Load::Images,
            Op::RemoveVolume => Load::Volumes,
        }
    }
}

/// What an action applies to: the id the engine takes and the name people read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub id: String,
    pub label: String,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    Load(Load),
    SubscribeEvents,
    Stats(String),
    Inspect(InspectKind, String),
    Top(String),
    FollowLogs {
        id: String,
        tail: usize,
    },
    StopLogs,
    Batch {
        op: Op,
        targets: Vec<Target>,
    },
    PruneImages,
    PruneVolumes,
    CreateVolume(Option<String>),
    /// Create a container from the run form, then start it.
    Run(Box<super::form::RunRequest>),
    /// Writes log text to a new file.
    SaveLogs {
        path: std::path::PathBuf,
        text: String,
    },
    /// Turns mouse capture on or off (the terminal loop writes the escapes).
    MouseCapture(bool),
    /// Puts text on the user's clipboard (the terminal loop writes OSC 52).
    Clipboard(String),
    /// `:ctx NAME`: the terminal loop connects to another engine and starts afresh.
    SwitchEndpoint(String),
    /// Sends `Msg::DetailsDue(generation)` after `delay`.
    Debounce {
        generation: u64,
        delay: Duration,
    },
}

#[derive(Debug)]
pub enum Msg {
    Key(KeyEvent),
    /// Clicks and wheel turns only: motion is dropped before it gets here.
    Mouse(crossterm::event::MouseEvent),
    Resize(u16, u16),
    Tick(DateTime<Utc>),
    Containers(Result<Vec<ContainerSummary>, String>),
    Images(Result<Vec<ImageSummary>, String>),
    Volumes(Result<Vec<Volume>, String>),
    Event(EventMessage),
    EventsFailed(String),
    Stats {
        id: String,
        result: Result<StatsSample, String>,
    },
    Inspect {
        kind: InspectKind,
        target: String,
        result: Result<Value, String>,
    },
    Top {
        id: String,
        result: Result<ContainerTopResponse, String>,
    },
    LogLines {
        id: String,
        lines: Vec<LogLine>,
    },
    LogEnded {
        id: String,
        error: Option<String>,
    },
    /// A batch finished: what worked and what failed, per target.
    Done {
        op: Op,
        ok: Vec<String>,
        errors: Vec<String>,
    },
    /// Prune or create finished with a message for the status bar.
    Finished {
        reload: Load,
        result: Result<String, String>,
    },
    DetailsDue(u64),
    /// A status-bar message from a task that changes no list.
    Note(Result<String, String>),
}
