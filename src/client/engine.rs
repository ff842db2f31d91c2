//! The in-process backend: berth's own engine. Its API is synchronous and may block
//! (SQLite, waiting for a container to stop), so every call runs on tokio's blocking
//! pool; the long-lived followers (logs, events) get a thread each that ends once the
//! consumer drops its stream.

use std::os::fd::AsFd;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use bollard::models::{
    ContainerCreateBody, ContainerInspectResponse, ContainerSummary, ContainerTopResponse,
    CreateImageInfo, EventMessage, ImageDeleteResponseItem, ImageInspect, ImagePruneResponse,
    ImageSummary, NetworkInspect, Volume, VolumePruneResponse,
};
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::inotify::{AddWatchFlags, InitFlags, Inotify};
use tokio::sync::mpsc;

use super::convert;
use super::{
    BoxStream, Client, ClientError, ContainerAction, EventsFrom, ExecOptions, FileChange,
    FileChangeKind, ImageLayers, LayerInfo, LogLine, LogRequest, LogStreamKind, Result, Session,
    SessionInput, SessionOutput, StatsSample,
};
use crate::engine::image::layer::ChangeKind;
use crate::engine::runtime::attach::{self, AttachClient};
use crate::engine::runtime::exec::ExecConfig;
use crate::engine::runtime::logs::{self, ReadOptions, Stream};
use crate::engine::Engine;

/// The events follower reads new rows when the store's database changes (other
/// processes, monitors and the CLI, append to its event table); this is how long it
/// waits without a change before looking anyway, and how often it looks where inotify
/// is unavailable.
const EVENTS_IDLE: Duration = Duration::from_secs(2);
const EVENTS_POLL: Duration = Duration::from_millis(250);
/// The extra looks after a wake-up (see the follower).
const EVENTS_RECHECKS: [Duration; 2] = [Duration::from_millis(50), Duration::from_millis(250)];
/// How often a log follower re-reads the container's state to know when to stop (a
/// database read: an idle console pays for it).
const STATE_RECHECK: Duration = Duration::from_secs(2);
/// Records buffered between a follower thread and the UI before the thread waits.
const CHANNEL_DEPTH: usize = 1024;

#[derive(Clone)]
pub struct EngineClient {
    engine: Arc<Engine>,
}

impl EngineClient {
    pub fn new(engine: Engine) -> Self {
        EngineClient {
            engine: Arc::new(engine),
        }
    }

    /// Opens the engine's state under `root` (None: the system default).
    pub fn open(root: Option<&Path>) -> Result<Self> {
        Ok(Self::new(Engine::open(root)?))
    }

    pub fn engine(&self) -> &Arc<Engine> {
        &self.engine
    }

    /// Runs `f` against the engine on the blocking pool.
    async fn blocking<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Engine) -> Result<T> + Send + 'static,
    {
        let engine = self.engine.clone();
        tokio::task::spawn_blocking(move || f(&engine))
            .await
            .map_err(|e| ClientError::other(format!("engine worker failed: {e}")))?
    }
}

fn start(engine: &Engine, id: &str) -> Result<()> {
    match engine.container_start(id, None)? {
        Ok(()) => Ok(()),
        Err(e) => Err(ClientError::other(e.message)),
    }
}

/// Wakes when a file in the store's database directory changes (a write to the
/// database or its WAL), so the events follower needs no fast polling.
struct DbWatch {
    inotify: Option<Inotify>,
}

impl DbWatch {
    fn new(db: &Path) -> DbWatch {
        let dir = db.parent().unwrap_or(Path::new("."));
        let mask = AddWatchFlags::IN_MODIFY | AddWatchFlags::IN_CREATE | AddWatchFlags::IN_MOVED_TO;
        let inotify = Inotify::init(InitFlags::IN_NONBLOCK | InitFlags::IN_CLOEXEC)
            .ok()
            .filter(|i| i.add_watch(dir, mask).is_ok());
        DbWatch { inotify }
    }

    /// Returns after a change (true), or after `idle` without one (false).
    fn wait(&self, idle: Duration) -> bool {
        let Some(i) = &self.inotify else {
            std::thread::sleep(EVENTS_POLL);
            return false;
        };
        let timeout = PollTimeout::try_from(idle).unwrap_or(PollTimeout::MAX);
        let mut fds = [PollFd::new(i.as_fd(), PollFlags::POLLIN)];
        let woke = matches!(poll(&mut fds, timeout), Ok(n) if n > 0);
        if woke {
            // What changed does not matter: the table is read again anyway.
            let _ = i.read_events();
        }
        woke
    }
}

/// What one unpacked layer dir changes over the layers below it (top first), with
/// sizes: the file's own for additions and changes, the lower copy's for removals.
fn layer_changes(dir: &Path, lowers: &[std::path::PathBuf]) -> Result<Vec<FileChange>> {
    let changes = crate::engine::image::layer::changes(dir, lowers)
        .map_err(|e| ClientError::other(format!("reading layer {}: {e}", dir.display())))?;
    let stat = |root: &Path, path: &str| {
        std::fs::symlink_metadata(root.join(path.trim_start_matches('/'))).ok()
    };
    Ok(changes
        .into_iter()
        .map(|c| {
            let kind = match c.kind {
                ChangeKind::Added => FileChangeKind::Added,
                ChangeKind::Modified => FileChangeKind::Modified,
                ChangeKind::Deleted => FileChangeKind::Removed,
            };
            let md = if kind == FileChangeKind::Removed {
                lowers.iter().find_map(|l| stat(l, &c.path))
            } else {
                stat(dir, &c.path)
            };
            FileChange {
                dir: md.as_ref().is_some_and(|m| m.is_dir()),
                size: md.filter(|m| m.is_file()).map(|m| m.len()).unwrap_or(0),
                path: c.path,
                kind,
            }
        })
        .collect())
}

/// Turns a channel's receiving end into a stream.
fn receiver_stream<T: Send + 'static>(rx: mpsc::Receiver<Result<T>>) -> BoxStream<T> {
    Box::pin(futures::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|item| (item, rx))
    }))
}

fn log_line(e: &logs::LogEntry) -> LogLine {
    let mut text = String::from_utf8_lossy(&e.line).into_owned();
    if text.ends_with('\n') {
        text.pop();
        if text.ends_with('\r') {
            text.pop();
        }
    }
    LogLine {
        stream: match e.stream {
            Stream::Stdout => LogStreamKind::Stdout,
            Stream::Stderr => LogStreamKind::Stderr,
        },
        time: Some(e.time),
        text,
    }
}

/// Turns an attach connection into a session: one thread relays the monitor's frames
/// out, another the console's input in. When the console drops its input sender the
/// connection is shut down, which also ends the output thread's read.
fn session(client: AttachClient, what: String) -> Result<Session> {
    let mut reader = client
        .try_clone()
        .map_err(|e| ClientError::other(format!("{what}: cloning the attach socket: {e}")))?;
    let (out_tx, out_rx) = mpsc::channel(CHANNEL_DEPTH);
    let (in_tx, mut in_rx) = mpsc::unbounded_channel::<SessionInput>();
    std::thread::Builder::new()
        .name("berth-session-out".into())
        .spawn(move || loop {
            let item = match reader.next_frame() {
                Ok(Some((attach::STDOUT, data))) => Ok(SessionOutput::Stdout(data)),
                Ok(Some((attach::STDERR, data))) => Ok(SessionOutput::Stderr(data)),
                Ok(Some((attach::EXIT, code))) => Ok(SessionOutput::Exited(
                    String::from_utf8_lossy(&code).trim().parse().ok(),
                )),
                Ok(Some(_)) => continue,
                Ok(None) => Ok(SessionOutput::Exited(None)),
                Err(e) => Err(ClientError::other(format!("{what}: {e}"))),
            };
            let last = !matches!(
                item,
                Ok(SessionOutput::Stdout(_)) | Ok(SessionOutput::Stderr(_))
            );
            if out_tx.blocking_send(item).is_err() || last {
                return;
            }
        })
        .map_err(|e| ClientError::other(format!("starting the session reader: {e}")))?;
    let mut writer = client;
    std::thread::Builder::new()
        .name("berth-session-in".into())
        .spawn(move || {
            while let Some(input) = in_rx.blocking_recv() {
                let sent = match input {
                    SessionInput::Stdin(data) => writer.send_stdin(&data),
                    SessionInput::Resize { rows, cols } => writer.resize(rows, cols),
                };
                if sent.is_err() {
                    break;
                }
            }
            writer.shutdown();
        })
        .map_err(|e| ClientError::other(format!("starting the session writer: {e}")))?;
    Ok(Session {
        output: receiver_stream(out_rx),
        input: in_tx,
    })
}

#[async_trait]
impl Client for EngineClient {
    fn describe(&self) -> String {
        "berth (embedded engine)".into()
    }

    async fn containers(&self) -> Result<Vec<ContainerSummary>> {
        self.blocking(|e| {
            let now = chrono::Utc::now();
            Ok(e.container_list()?
                .iter()
                .map(|r| convert::container_summary(r, now))
                .collect())
        })
        .await
    }

    async fn container_inspect(&self, id: &str) -> Result<ContainerInspectResponse> {
        let id = id.to_string();
        self.blocking(move |e| convert::round_trip("container inspect", &e.container_inspect(&id)?))
            .await
    }

    async fn container_action(&self, id: &str, action: ContainerAction) -> Result<()> {
        let id = id.to_string();
        self.blocking(move |e| match action {
            ContainerAction::Start => start(e, &id),
            ContainerAction::Stop => Ok(e.container_stop(&id, None)?),
            ContainerAction::Restart => match e.container_restart(&id, None)? {
                Ok(()) => Ok(()),
                Err(err) => Err(ClientError::other(err.message)),
            },
            ContainerAction::Kill => Ok(e.container_kill(&id, "KILL")?),
            ContainerAction::Pause => Ok(e.container_pause(&id, true)?),
            ContainerAction::Unpause => Ok(e.container_pause(&id, false)?),
        })
        .await
    }

    async fn container_remove(&self, id: &str, force: bool) -> Result<()> {
        let id = id.to_string();
        self.blocking(move |e| {
            e.container_remove(&id, force, false)
                .map(|_| ())
                .map_err(Into::into)
        })
        .await
    }

    async fn container_rename(&self, id: &str, new_name: &str) -> Result<()> {
        let (id, new_name) = (id.to_string(), new_name.to_string());
        self.blocking(move |e| Ok(e.container_rename(&id, &new_name)?))
            .await
    }

    async fn container_create(
        &self,
        name: Option<String>,
        body: ContainerCreateBody,
    ) -> Result<String> {
        self.blocking(move |e| Ok(e.container_create(name, body)?))
            .await
    }

    async fn logs(&self, id: &str, req: LogRequest) -> Result<BoxStream<LogLine>> {
        let id = id.to_string();
        let (rec_id, path) = self
            .blocking(move |e| {
                let rec = e.container_get(&id)?;
                let path = e.container_log_path(&rec.id);
                Ok((rec.id, path))
            })
            .await?;
        let (tx, rx) = mpsc::channel(CHANNEL_DEPTH);
        let engine = self.engine.clone();
        let spawned = std::thread::Builder::new()
            .name("berth-logs".into())
            .spawn(move || {
                let opts = ReadOptions {
                    tail: req.tail,
                    until: req.until,
                    ..ReadOptions::default()
                };
                if !req.follow && !path.exists() {
                    return;
                }
                // Checking the container's state costs a db read: do it at most every
                // STATE_RECHECK, not on every wake-up of the follower.
                let last_check = std::cell::Cell::new(Instant::now());
                let running = std::cell::Cell::new(true);
                let keep_following = || {
                    if tx.is_closed() {
                        return false;
                    }
                    if last_check.get().elapsed() >= STATE_RECHECK {
                        last_check.set(Instant::now());
                        running.set(
                            engine
                                .container_get(&rec_id)
                                .map(|r| r.state.running || r.state.restarting)
                                .unwrap_or(false),
                        );
                    }
                    running.get()
                };
                let mut sink = |entry: &logs::LogEntry| -> std::io::Result<()> {
                    tx.blocking_send(Ok(log_line(entry)))
                        .map_err(|_| std::io::Error::from(std::io::ErrorKind::BrokenPipe))
                };
                if let Err(e) = logs::stream(&path, &opts, req.follow, &keep_following, &mut sink) {
                    let _ =
                        tx.blocking_send(Err(ClientError::other(format!("reading the log: {e}"))));
                }
            });
        spawned.map_err(|e| ClientError::other(format!("starting the log reader: {e}")))?;
        Ok(receiver_stream(rx))
    }

    async fn stats(&self, id: &str) -> Result<StatsSample> {
        let id = id.to_string();
        self.blocking(move |e| {
            let s = e.container_stats(&id)?;
            Ok(StatsSample {
                cpu_percent: s.cpu_percent,
                mem_used: s.mem_used,
                mem_limit: s.mem_limit,
                mem_percent: s.mem_percent,
                net_rx: s.net_rx,
                net_tx: s.net_tx,
                block_read: s.block_read,
                block_write: s.block_write,
                pids: s.pids,
            })
        })
        .await
    }

    async fn top(&self, id: &str) -> Result<ContainerTopResponse> {
        let id = id.to_string();
        self.blocking(move |e| Ok(convert::top(&e.container_top(&id)?)))
            .await
    }

    async fn exec_session(&self, id: &str, opts: ExecOptions) -> Result<Session> {
        let id = id.to_string();
        let (client, what) = self
            .blocking(move |e| {
                let cfg = ExecConfig {
                    cmd: opts.cmd,
                    env: opts.env,
                    user: opts.user,
                    working_dir: opts.working_dir,
                    tty: opts.tty,
                    stdin: true,
                    privileged: false,
                };
                let rec = e.container_get(&id)?;
                let (client, monitor_end) = AttachClient::pair()?;
                match e.container_exec(&rec.id, &cfg, Some(monitor_end))? {
                    Ok(()) => Ok((client, format!("exec in {}", rec.name))),
                    Err(err) => Err(ClientError::other(err.message)),
                }
            })
            .await?;
        session(client, what)
    }

    async fn attach_session(&self, id: &str) -> Result<Session> {
        let id = id.to_string();
        let (client, what) = self
            .blocking(move |e| {
                let rec = e.container_get(&id)?;
                if rec.state.paused {
                    return Err(ClientError::conflict(format!(
                        "You cannot attach to a paused container {}, unpause it first",
                        rec.name
                    )));
                }
                let client = AttachClient::connect(&rec.id)?;
                Ok((client, format!("attach to {}", rec.name)))
            })
            .await?;
        session(client, what)
    }

    async fn images(&self) -> Result<Vec<ImageSummary>> {
        self.blocking(|e| Ok(e.image_list()?.iter().map(convert::image_summary).collect()))
            .await
    }

    async fn image_inspect(&self, id: &str) -> Result<ImageInspect> {
        let id = id.to_string();
        self.blocking(move |e| convert::round_trip("image inspect", &e.image_inspect(&id)?))
            .await
    }

    async fn image_remove(&self, id: &str, force: bool) -> Result<Vec<ImageDeleteResponseItem>> {
        let id = id.to_string();
        self.blocking(move |e| Ok(convert::delete_items(&e.image_remove(&id, force)?)))
            .await
    }

    async fn image_tag(&self, id: &str, target: &str) -> Result<()> {
        let (id, target) = (id.to_string(), target.to_string());
        self.blocking(move |e| Ok(e.image_tag(&id, &target)?)).await
    }

    async fn image_prune(&self, all: bool) -> Result<ImagePruneResponse> {
        self.blocking(move |e| {
            let (records, bytes) = e.image_prune(all)?;
            Ok(ImagePruneResponse {
                images_deleted: Some(convert::delete_items(&records)),
                space_reclaimed: Some(i64::try_from(bytes).unwrap_or(i64::MAX)),
            })
        })
        .await
    }

    async fn image_layers(&self, id: &str) -> Result<ImageLayers> {
        let id = id.to_string();
        self.blocking(move |e| {
            let img = e.image_get(&id)?;
            let mut dirs = e.image_layer_dirs(&img.id)?;
            dirs.reverse(); // bottom first, like the history
            let sizes: Vec<u64> = e
                .image_history(&img.id)?
                .iter()
                .rev()
                .filter(|h| h.size > 0)
                .map(|h| h.size)
                .collect();
            // History steps oldest first; each non-empty one owns the next layer.
            let steps: Vec<(String, bool)> = if img.config.history.is_empty() {
                dirs.iter().map(|_| (String::new(), false)).collect()
            } else {
                img.config
                    .history
                    .iter()
                    .map(|h| (h.created_by.clone().unwrap_or_default(), h.empty_layer))
                    .collect()
            };
            let mut layers = Vec::new();
            let mut next = 0usize;
            for (created_by, empty) in steps {
                if empty || next >= dirs.len() {
                    layers.push(LayerInfo {
                        created_by,
                        size: 0,
                        empty: true,
                        changes: Vec::new(),
                    });
                    continue;
                }
                let lowers: Vec<_> = dirs[..next].iter().rev().cloned().collect();
                let changes = layer_changes(&dirs[next], &lowers)?;
                let size = sizes.get(next).copied().unwrap_or_else(|| {
                    changes
                        .iter()
                        .filter(|c| c.kind != FileChangeKind::Removed)
                        .map(|c| c.size)
                        .sum()
                });
                layers.push(LayerInfo {
                    created_by,
                    size,
                    empty: false,
                    changes,
                });
                next += 1;
            }
            Ok(ImageLayers::new(layers))
        })
        .await
    }

    async fn volumes(&self) -> Result<Vec<Volume>> {
        self.blocking(|e| Ok(e.volume_list()?.iter().map(convert::volume).collect()))
            .await
    }

    async fn volume_inspect(&self, name: &str) -> Result<Volume> {
        let name = name.to_string();
        self.blocking(move |e| Ok(convert::volume(&e.volume_inspect(&name)?)))
            .await
    }

    async fn volume_create(&self, name: Option<String>) -> Result<Volume> {
        self.blocking(move |e| {
            let v = e.volume_create(name.as_deref(), Default::default(), Default::default())?;
            Ok(convert::volume(&v))
        })
        .await
    }

    async fn volume_remove(&self, name: &str, force: bool) -> Result<()> {
        let name = name.to_string();
        self.blocking(move |e| Ok(e.volume_remove(&name, force)?))
            .await
    }

    async fn volume_prune(&self) -> Result<VolumePruneResponse> {
        self.blocking(|e| {
            // Docker 23+: a bare prune takes anonymous volumes only.
            let (names, bytes) = e.volume_prune(false)?;
            Ok(VolumePruneResponse {
                volumes_deleted: Some(names),
                space_reclaimed: Some(i64::try_from(bytes).unwrap_or(i64::MAX)),
            })
        })
        .await
    }

    async fn image_pull(&self, reference: &str) -> Result<BoxStream<CreateImageInfo>> {
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel::<Result<CreateImageInfo>>();
        let engine = self.engine.clone();
        let reference = reference.to_string();
        // The pull blocks (downloads on threads of its own) and reports as it goes.
        tokio::task::spawn_blocking(move || {
            let mut progress = |info: &CreateImageInfo| {
                let _ = tx.send(Ok(info.clone()));
            };
            let opts = crate::engine::image::registry::PullOptions::default();
            if let Err(e) = engine.image_pull(&reference, &opts, &mut progress) {
                let msg = e.to_string();
                let _ = tx.send(Ok(CreateImageInfo {
                    error_detail: Some(bollard::models::ErrorDetail {
                        code: None,
                        message: Some(msg),
                    }),
                    ..Default::default()
                }));
            }
        });
        Ok(Box::pin(futures::stream::unfold(rx, |mut rx| async move {
            rx.recv().await.map(|item| (item, rx))
        })))
    }

    async fn networks(&self) -> Result<Vec<NetworkInspect>> {
        self.blocking(|e| {
            e.network_list()?
                .iter()
                .map(|n| -> Result<NetworkInspect> {
                    Ok(convert::network(&e.network_inspect(&n.id)?)?)
                })
                .collect()
        })
        .await
    }

    async fn network_inspect(&self, id: &str) -> Result<NetworkInspect> {
        let id = id.to_string();
        self.blocking(move |e| Ok(convert::network(&e.network_inspect(&id)?)?))
            .await
    }

    async fn network_create(&self, name: &str, internal: bool) -> Result<String> {
        let name = name.to_string();
        self.blocking(move |e| {
            Ok(e.network_create(crate::engine::network::CreateOptions {
                name,
                internal,
                ..Default::default()
            })?
            .id)
        })
        .await
    }

    async fn network_remove(&self, id: &str) -> Result<()> {
        let id = id.to_string();
        self.blocking(move |e| Ok(e.network_remove(&id)?)).await
    }

    async fn network_prune(&self) -> Result<Vec<String>> {
        self.blocking(|e| Ok(e.network_prune()?)).await
    }

    async fn events(&self, from: EventsFrom) -> Result<BoxStream<EventMessage>> {
        let start = self
            .blocking(move |e| {
                let last = e.events_last_seq()?;
                Ok(match from {
                    EventsFrom::Now => last,
                    EventsFrom::Last(n) => last.saturating_sub(n as i64).max(0),
                })
            })
            .await?;
        let (tx, rx) = mpsc::channel(CHANNEL_DEPTH);
        let engine = self.engine.clone();
        std::thread::Builder::new()
            .name("berth-events".into())
            .spawn(move || {
                let watch = DbWatch::new(&engine.store().paths.db());
                let mut seq = start;
                let mut woke = false;
                let mut rechecks = 0usize;
                while !tx.is_closed() {
                    match engine.events(seq, None, None) {
                        Ok(batch) => {
                            for ev in batch {
                                seq = seq.max(ev.seq);
                                if tx.blocking_send(Ok(convert::event(&ev))).is_err() {
                                    return;
                                }
                            }
                        }
                        Err(e) => {
                            let _ = tx.blocking_send(Err(e.into()));
                            return;
                        }
                    }
                    // A writer updates the WAL index (shared memory, no inotify event)
                    // just after the write that woke us, so a read right away can miss
                    // its commit: after a wake-up, look again a few times shortly after.
                    if woke {
                        rechecks = EVENTS_RECHECKS.len();
                    }
                    let idle = match rechecks.checked_sub(1) {
                        Some(i) => {
                            rechecks = i;
                            EVENTS_RECHECKS[EVENTS_RECHECKS.len() - 1 - i]
                        }
                        None => EVENTS_IDLE,
                    };
                    woke = watch.wait(idle);
                }
            })
            .map_err(|e| ClientError::other(format!("starting the events follower: {e}")))?;
        Ok(receiver_stream(rx))
    }
}
