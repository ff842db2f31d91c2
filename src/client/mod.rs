//! The client layer: the one interface the console uses to reach an engine. Model types
//! are bollard's (`bollard::models`), so a backend speaking the Docker Engine API can
//! slot in beside the in-process engine without the UI noticing.
//!
//! Every method is async and cheap to cancel; backends that block (the in-process
//! engine) move the work to blocking threads so the UI's runtime never stalls.

pub(crate) mod convert;
pub mod docker;
pub mod engine;
pub mod fake;

use std::fmt;
use std::pin::Pin;

use async_trait::async_trait;
use bollard::models::{
    ContainerCreateBody, ContainerInspectResponse, ContainerSummary, ContainerTopResponse,
    CreateImageInfo, EventMessage, ImageDeleteResponseItem, ImageInspect, ImagePruneResponse,
    ImageSummary, NetworkInspect, Volume, VolumePruneResponse,
};
use chrono::{DateTime, Utc};
use futures::Stream;

pub use docker::DockerClient;
pub use engine::EngineClient;
pub use fake::FakeClient;

/// What went wrong, classed like Docker's API statuses so the UI can word it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    NotFound,
    Conflict,
    Invalid,
    /// The backend itself failed (disk, runtime, a lost worker thread).
    Other,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientError {
    pub kind: ErrorKind,
    pub message: String,
}

impl ClientError {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        ClientError {
            kind,
            message: message.into(),
        }
    }
    pub fn other(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Other, message)
    }
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::NotFound, message)
    }
    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Conflict, message)
    }
}

impl fmt::Display for ClientError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ClientError {}

pub type Result<T, E = ClientError> = std::result::Result<T, E>;

/// Makes the client for an endpoint name (`:ctx` in the console).
pub type Connector =
    std::sync::Arc<dyn Fn(&str) -> Result<std::sync::Arc<dyn Client>> + Send + Sync>;

/// A stream that ends when the backend has nothing more to say (or fails once).
pub type BoxStream<T> = Pin<Box<dyn Stream<Item = Result<T>> + Send + 'static>>;

/// Lifecycle actions that take a container and nothing else. One enum (rather than a
/// method each) so bulk actions and the command palette map straight onto it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ContainerAction {
    Start,
    Stop,
    Restart,
    Kill,
    Pause,
    Unpause,
}

impl ContainerAction {
    pub fn verb(self) -> &'static str {
        match self {
            ContainerAction::Start => "start",
            ContainerAction::Stop => "stop",
            ContainerAction::Restart => "restart",
            ContainerAction::Kill => "kill",
            ContainerAction::Pause => "pause",
            ContainerAction::Unpause => "unpause",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogStreamKind {
    Stdout,
    Stderr,
}

/// One log record, without its trailing newline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogLine {
    pub stream: LogStreamKind,
    pub time: Option<DateTime<Utc>>,
    pub text: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogRequest {
    /// Only the last N records first (`None`: the whole log).
    pub tail: Option<usize>,
    /// Keep delivering new records while the container runs.
    pub follow: bool,
    /// Only records at or before this time (Docker's `until`): with `tail`, the page
    /// of the log that ends there.
    pub until: Option<DateTime<Utc>>,
}

/// One resource-usage sample with Docker's CPU % and memory maths already applied (a
/// Docker API backend derives it from two consecutive `ContainerStatsResponse`s).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct StatsSample {
    pub cpu_percent: f64,
    pub mem_used: u64,
    pub mem_limit: u64,
    pub mem_percent: f64,
    pub net_rx: u64,
    pub net_tx: u64,
    pub block_read: u64,
    pub block_write: u64,
    pub pids: u64,
}

/// Where an event stream starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventsFrom {
    /// Only events that happen from now on.
    Now,
    /// The most recent N past events, then new ones.
    Last(usize),
}

/// How a layer changed a path (`docker diff`'s A/C/D).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FileChangeKind {
    Added,
    Modified,
    Removed,
}

/// One path a layer adds, changes or removes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileChange {
    /// Absolute in the image ("/etc/hosts").
    pub path: String,
    pub kind: FileChangeKind,
    pub dir: bool,
    /// The file's bytes in this layer; for a removal, what the layers below had.
    pub size: u64,
}

/// One step of an image's history (bollard's `HistoryResponseItem`), with the files its
/// layer changes; metadata-only steps (ENV, CMD...) have `empty` set and no changes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LayerInfo {
    pub created_by: String,
    pub size: u64,
    pub empty: bool,
    pub changes: Vec<FileChange>,
}

/// The layer explorer's model: layers oldest first, and the space taken by files that
/// a later layer replaces or removes (dive's "wasted space").
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ImageLayers {
    pub layers: Vec<LayerInfo>,
    pub size: u64,
    pub wasted: u64,
    /// The paths that waste the most, largest first: (path, wasted bytes, copies).
    pub wasted_paths: Vec<(String, u64, usize)>,
}

impl ImageLayers {
    /// Builds the model from layers whose changes are filled in: adds up, per path,
    /// the copies a later layer overwrote or removed.
    pub fn new(layers: Vec<LayerInfo>) -> ImageLayers {
        use std::collections::BTreeMap;
        // path -> (bytes of all its copies, copies, bytes still visible at the end)
        let mut files: BTreeMap<String, (u64, usize, u64)> = BTreeMap::new();
        for l in &layers {
            for c in &l.changes {
                match c.kind {
                    FileChangeKind::Added | FileChangeKind::Modified if !c.dir => {
                        let e = files.entry(c.path.clone()).or_default();
                        e.0 += c.size;
                        e.1 += 1;
                        e.2 = c.size;
                    }
                    FileChangeKind::Removed => {
                        // Everything at or below the path is gone from the final image.
                        let below = format!("{}/", c.path);
                        for (p, e) in files.range_mut(c.path.clone()..) {
                            if p != &c.path && !p.starts_with(&below) {
                                break;
                            }
                            e.2 = 0;
                        }
                    }
                    _ => {}
                }
            }
        }
        let mut wasted_paths: Vec<(String, u64, usize)> = files
            .into_iter()
            .filter_map(|(p, (all, copies, last))| {
                let w = all - last;
                (w > 0).then_some((p, w, copies))
            })
            .collect();
        wasted_paths.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        let wasted = wasted_paths.iter().map(|w| w.1).sum();
        wasted_paths.truncate(100);
        ImageLayers {
            size: layers.iter().map(|l| l.size).sum(),
            layers,
            wasted,
            wasted_paths,
        }
    }
}

/// A process to run in a container: the parts of bollard's `CreateExecOptions` the
/// console uses. Stdin is always attached (a session is interactive).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExecOptions {
    pub cmd: Vec<String>,
    pub tty: bool,
    /// KEY=VALUE entries added to the container's environment.
    pub env: Vec<String>,
    pub user: Option<String>,
    pub working_dir: Option<String>,
}

/// What the console sends into a session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SessionInput {
    Stdin(Vec<u8>),
    /// The terminal's new size (bollard's `ResizeExecOptions` / `ResizeContainerTtyOptions`).
    Resize {
        rows: u16,
        cols: u16,
    },
}

/// What comes out of a session: bollard's `LogOutput` for the bytes, then the end.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SessionOutput {
    Stdout(Vec<u8>),
    Stderr(Vec<u8>),
    /// The process ended, with its exit code when the backend knows it. Nothing follows.
    Exited(Option<i64>),
}

/// A live exec or attach session. Dropping `input` detaches: the backend lets go of
/// the process (which keeps running) and `output` ends.
pub struct Session {
    pub output: BoxStream<SessionOutput>,
    pub input: tokio::sync::mpsc::UnboundedSender<SessionInput>,
}

/// Everything the console asks of an engine.
#[async_trait]
pub trait Client: Send + Sync {
    /// A short name for the status bar ("berth (embedded)", a Docker host...).
    fn describe(&self) -> String;

    /// All containers, running or not, newest first.
    async fn containers(&self) -> Result<Vec<ContainerSummary>>;
    async fn container_inspect(&self, id: &str) -> Result<ContainerInspectResponse>;
    async fn container_action(&self, id: &str, action: ContainerAction) -> Result<()>;
    async fn container_remove(&self, id: &str, force: bool) -> Result<()>;
    async fn container_rename(&self, id: &str, new_name: &str) -> Result<()>;
    /// Creates a container (the run form); returns its id.
    async fn container_create(
        &self,
        name: Option<String>,
        body: ContainerCreateBody,
    ) -> Result<String>;
    async fn logs(&self, id: &str, req: LogRequest) -> Result<BoxStream<LogLine>>;
    async fn stats(&self, id: &str) -> Result<StatsSample>;
    async fn top(&self, id: &str) -> Result<ContainerTopResponse>;
    /// Starts a process in a running container with its stdio attached (`docker exec -it`).
    async fn exec_session(&self, id: &str, opts: ExecOptions) -> Result<Session>;
    /// Attaches to a running container's main process (`docker attach`).
    async fn attach_session(&self, id: &str) -> Result<Session>;

    async fn images(&self) -> Result<Vec<ImageSummary>>;
    async fn image_inspect(&self, id: &str) -> Result<ImageInspect>;
    async fn image_remove(&self, id: &str, force: bool) -> Result<Vec<ImageDeleteResponseItem>>;
    async fn image_tag(&self, id: &str, target: &str) -> Result<()>;
    async fn image_prune(&self, all: bool) -> Result<ImagePruneResponse>;
    /// Pulls an image: dockerd's progress messages (per layer: id, status, progress
    /// detail), ending with the last one; a failure is an item with `error` set.
    async fn image_pull(&self, reference: &str) -> Result<BoxStream<CreateImageInfo>>;
    /// The layer explorer: per history step, the files its layer adds, changes and
    /// removes, and the space wasted by files later layers replace.
    async fn image_layers(&self, id: &str) -> Result<ImageLayers>;

    async fn volumes(&self) -> Result<Vec<Volume>>;
    async fn volume_inspect(&self, name: &str) -> Result<Volume>;
    async fn volume_create(&self, name: Option<String>) -> Result<Volume>;
    async fn volume_remove(&self, name: &str, force: bool) -> Result<()>;
    async fn volume_prune(&self) -> Result<VolumePruneResponse>;

    /// Networks in Docker's inspect shape (with their containers).
    async fn networks(&self) -> Result<Vec<NetworkInspect>>;
    async fn network_inspect(&self, id: &str) -> Result<NetworkInspect>;
    /// A bridge network with a free subnet; returns its id.
    async fn network_create(&self, name: &str, internal: bool) -> Result<String>;
    async fn network_remove(&self, id: &str) -> Result<()>;
    /// Removes unused user-defined networks; returns their names.
    async fn network_prune(&self) -> Result<Vec<String>>;

    /// Engine events, oldest first, then live ones as they happen.
    async fn events(&self, from: EventsFrom) -> Result<BoxStream<EventMessage>>;
}
