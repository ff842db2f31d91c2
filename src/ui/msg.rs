//! What flows into the app (`Msg`: input, timer ticks, results of engine calls) and out
//! of it (`Effect`: engine calls to make). The app never awaits anything itself.

use std::time::Duration;

use bollard::models::{
    ContainerSummary, ContainerTopResponse, EventMessage, ImageSummary, NetworkInspect, Volume,
};
use chrono::{DateTime, Utc};
use crossterm::event::KeyEvent;
use serde_json::Value;

use crate::client::{ContainerAction, LogLine, StatsSample};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Load {
    Containers,
    Images,
    Volumes,
    Networks,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InspectKind {
    Container,
    Image,
    Volume,
    Network,
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
    RemoveNetwork,
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
            Op::RemoveVolume | Op::RemoveNetwork => "remove",
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
            Op::RemoveNetwork => Load::Networks,
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
    /// The layer explorer's model of an image.
    ImageLayers(String),
    Top(String),
    FollowLogs {
        id: String,
        tail: usize,
    },
    StopLogs,
    /// Reads the page of the log before the lines held.
    OlderLogs {
        id: String,
        before: DateTime<Utc>,
        /// Held lines at exactly `before` (the page must not repeat them).
        skip: usize,
        page: usize,
    },
    Batch {
        op: Op,
        targets: Vec<Target>,
    },
    PruneImages,
    PruneVolumes,
    CreateVolume(Option<String>),
    PruneNetworks,
    /// Pulls an image, reporting progress as it goes.
    Pull(String),
    CreateNetwork(String),
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
    /// Opens a terminal session: an exec of `exec`, or (None) an attach.
    OpenTerm {
        pane: u64,
        container: String,
        exec: Option<Vec<String>>,
        rows: u16,
        cols: u16,
    },
    TermInput {
        pane: u64,
        data: Vec<u8>,
    },
    TermResize {
        pane: u64,
        rows: u16,
        cols: u16,
    },
    /// Lets go of a session (detaching from a process that still runs).
    CloseTerm {
        pane: u64,
    },
    /// Leave the console (the answer of a confirmation; the app sets `quit` itself).
    Quit,
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
    /// Text pasted into the terminal (bracketed paste).
    Paste(String),
    Tick(DateTime<Utc>),
    Containers(Result<Vec<ContainerSummary>, String>),
    Images(Result<Vec<ImageSummary>, String>),
    Volumes(Result<Vec<Volume>, String>),
    Networks(Result<Vec<NetworkInspect>, String>),
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
    OlderLogs {
        id: String,
        asked: usize,
        result: Result<Vec<LogLine>, String>,
    },
    ImageLayers {
        id: String,
        result: Result<crate::client::ImageLayers, String>,
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
    TermOutput {
        pane: u64,
        data: Vec<u8>,
    },
    /// A terminal session ended: its process exited (with its code when known), the
    /// backend hung up, or it never opened (`error`).
    TermEnded {
        pane: u64,
        code: Option<i64>,
        error: Option<String>,
    },
    /// A status-bar message from a task that changes no list.
    Note(Result<String, String>),
    /// One progress message of a pull.
    PullProgress {
        reference: String,
        info: bollard::models::CreateImageInfo,
    },
    /// The pull's stream ended.
    PullEnded {
        reference: String,
        error: Option<String>,
    },
}
