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
    EventMessage, ImageDeleteResponseItem, ImageInspect, ImagePruneResponse, ImageSummary, Volume,
    VolumePruneResponse,
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

    async fn images(&self) -> Result<Vec<ImageSummary>>;
    async fn image_inspect(&self, id: &str) -> Result<ImageInspect>;
    async fn image_remove(&self, id: &str, force: bool) -> Result<Vec<ImageDeleteResponseItem>>;
    async fn image_tag(&self, id: &str, target: &str) -> Result<()>;
    async fn image_prune(&self, all: bool) -> Result<ImagePruneResponse>;

    async fn volumes(&self) -> Result<Vec<Volume>>;
    async fn volume_inspect(&self, name: &str) -> Result<Volume>;
    async fn volume_create(&self, name: Option<String>) -> Result<Volume>;
    async fn volume_remove(&self, name: &str, force: bool) -> Result<()>;
    async fn volume_prune(&self) -> Result<VolumePruneResponse>;

    /// Engine events, oldest first, then live ones as they happen.
    async fn events(&self, from: EventsFrom) -> Result<BoxStream<EventMessage>>;
}
