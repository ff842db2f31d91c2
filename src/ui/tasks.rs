//! Runs effects as tokio tasks against the client; each result comes back to the app
//! as a `Msg` on one channel. The log follower and the event subscription are kept so
//! they can be replaced or cancelled; dropping `Tasks` cancels everything.

use std::collections::HashMap;
use std::sync::Arc;

use futures::{FutureExt, StreamExt};
use tokio::sync::mpsc::{self, UnboundedSender};
use tokio::task::JoinHandle;

use super::msg::{Effect, InspectKind, Load, Msg, Op};
use crate::client::{Client, EventsFrom, ExecOptions, LogRequest, SessionInput, SessionOutput};

/// Log lines delivered to the app in one message at most: a chatty container costs
/// one redraw per batch, not per line.
const LOG_BATCH: usize = 512;
/// Past events shown when the console opens.
const EVENT_HISTORY: usize = 200;

pub struct Tasks {
    client: Arc<dyn Client>,
    tx: UnboundedSender<Msg>,
    logs: Option<JoinHandle<()>>,
    events: Option<JoinHandle<()>>,
    running: Vec<JoinHandle<()>>,
    /// Terminal sessions by pane: where their input goes, and their relay task.
    terms: HashMap<u64, (UnboundedSender<SessionInput>, JoinHandle<()>)>,
}

fn text<T>(r: crate::client::Result<T>) -> Result<T, String> {
    r.map_err(|e| e.message)
}

impl Tasks {
    pub fn new(client: Arc<dyn Client>, tx: UnboundedSender<Msg>) -> Tasks {
        Tasks {
            client,
            tx,
            logs: None,
            events: None,
            running: Vec::new(),
            terms: HashMap::new(),
        }
    }

    fn spawn<F>(&mut self, f: F)
    where
        F: std::future::Future<Output = Option<Msg>> + Send + 'static,
    {
        let tx = self.tx.clone();
        self.running.retain(|h| !h.is_finished());
        self.running.push(tokio::spawn(async move {
            if let Some(msg) = f.await {
                // The app is gone when this fails: nothing left to tell.
                let _ = tx.send(msg);
            }
        }));
    }

    pub fn run(&mut self, effect: Effect) {
        let c = self.client.clone();
        match effect {
            Effect::Load(Load::Containers) => {
                self.spawn(async move { Some(Msg::Containers(text(c.containers().await))) })
            }
            Effect::Load(Load::Images) => {
                self.spawn(async move { Some(Msg::Images(text(c.images().await))) })
            }
            Effect::Load(Load::Volumes) => {
                self.spawn(async move { Some(Msg::Volumes(text(c.volumes().await))) })
            }
            Effect::Load(Load::Networks) => {
                self.spawn(async move { Some(Msg::Networks(text(c.networks().await))) })
            }
            Effect::Stats(id) => self.spawn(async move {
                let result = text(c.stats(&id).await);
                Some(Msg::Stats { id, result })
            }),
            Effect::Top(id) => self.spawn(async move {
                let result = text(c.top(&id).await);
                Some(Msg::Top { id, result })
            }),
            Effect::Inspect(kind, target) => self.spawn(async move {
                let value = match kind {
                    InspectKind::Container => c
                        .container_inspect(&target)
                        .await
                        .map(|v| serde_json::to_value(v).unwrap_or_default()),
                    InspectKind::Image => c
                        .image_inspect(&target)
                        .await
                        .map(|v| serde_json::to_value(v).unwrap_or_default()),
                    InspectKind::Volume => c
                        .volume_inspect(&target)
                        .await
                        .map(|v| serde_json::to_value(v).unwrap_or_default()),
                    InspectKind::Network => c
                        .network_inspect(&target)
                        .await
                        .map(|v| serde_json::to_value(v).unwrap_or_default()),
                };
                Some(Msg::Inspect {
                    kind,
                    target,
                    result: text(value),
                })
            }),
            Effect::ImageLayers(id) => self.spawn(async move {
                let result = text(c.image_layers(&id).await);
                Some(Msg::ImageLayers { id, result })
            }),
            Effect::Debounce { generation, delay } => self.spawn(async move {
                tokio::time::sleep(delay).await;
                Some(Msg::DetailsDue(generation))
            }),
            Effect::SaveLogs { path, text } => self.spawn(async move {
                let shown = path.display().to_string();
                let result = tokio::task::spawn_blocking(move || {
                    use std::io::Write;
                    // create_new: never overwrite a file the user already has.
                    let mut f = std::fs::OpenOptions::new()
                        .write(true)
                        .create_new(true)
                        .open(&path)?;
                    f.write_all(text.as_bytes())?;
                    f.sync_all()
                })
                .await;
                Some(Msg::Note(match result {
                    Ok(Ok(())) => Ok(format!("saved the log to {shown}")),
                    Ok(Err(e)) => Err(format!("saving the log to {shown}: {e}")),
                    Err(e) => Err(format!("saving the log: {e}")),
                }))
            }),
            Effect::OlderLogs {
                id,
                before,
                skip,
                page,
            } => self.spawn(async move {
                let result = older_page(c.as_ref(), &id, before, skip, page).await;
                Some(Msg::OlderLogs {
                    id,
                    asked: page,
                    result: text(result),
                })
            }),
            Effect::OpenTerm {
                pane,
                container,
                exec,
                rows,
                cols,
            } => {
                // Input typed before the session is open waits in this channel.
                let (in_tx, in_rx) = mpsc::unbounded_channel();
                let _ = in_tx.send(SessionInput::Resize { rows, cols });
                let handle = tokio::spawn(relay_session(
                    c,
                    self.tx.clone(),
                    pane,
                    container,
                    exec,
                    in_rx,
                ));
                self.terms.insert(pane, (in_tx, handle));
            }
            Effect::TermInput { pane, data } => {
                if let Some((tx, _)) = self.terms.get(&pane) {
                    let _ = tx.send(SessionInput::Stdin(data));
                }
            }
            Effect::TermResize { pane, rows, cols } => {
                if let Some((tx, _)) = self.terms.get(&pane) {
                    let _ = tx.send(SessionInput::Resize { rows, cols });
                }
            }
            Effect::CloseTerm { pane } => {
                if let Some((_, h)) = self.terms.remove(&pane) {
                    h.abort();
                }
            }
            // Only the terminal loop can write to the terminal; off-screen, nothing to do.
            Effect::Clipboard(_)
            | Effect::MouseCapture(_)
            | Effect::Quit
            | Effect::SwitchEndpoint(_) => {}
            Effect::StopLogs => {
                if let Some(h) = self.logs.take() {
                    h.abort();
                }
            }
            Effect::FollowLogs { id, tail } => {
                if let Some(h) = self.logs.take() {
                    h.abort();
                }
                let tx = self.tx.clone();
                self.logs = Some(tokio::spawn(async move {
                    let req = LogRequest {
                        tail: Some(tail),
                        follow: true,
                        until: None,
                    };
                    // Fused: polling on after the end (see below) must stay harmless.
                    let mut stream = match c.logs(&id, req).await {
                        Ok(s) => s.fuse(),
                        Err(e) => {
                            let _ = tx.send(Msg::LogEnded {
                                id,
                                error: Some(e.message),
                            });
                            return;
                        }
                    };
                    while let Some(first) = stream.next().await {
                        let mut lines = Vec::new();
                        let mut error = None;
                        let mut next = Some(first);
                        // Take whatever else is already there, without waiting.
                        while let Some(item) = next.take() {
                            match item {
                                Ok(l) => lines.push(l),
                                Err(e) => {
                                    error = Some(e);
                                    break;
                                }
                            }
                            if lines.len() >= LOG_BATCH {
                                break;
                            }
                            next = stream.next().now_or_never().flatten();
                        }
                        if !lines.is_empty()
                            && tx
                                .send(Msg::LogLines {
                                    id: id.clone(),
                                    lines,
                                })
                                .is_err()
                        {
                            return;
                        }
                        if let Some(e) = error {
                            let _ = tx.send(Msg::LogEnded {
                                id,
                                error: Some(e.message),
                            });
                            return;
                        }
                    }
                    let _ = tx.send(Msg::LogEnded { id, error: None });
                }));
            }
            Effect::SubscribeEvents => {
                if let Some(h) = self.events.take() {
                    h.abort();
                }
                let tx = self.tx.clone();
                self.events = Some(tokio::spawn(async move {
                    let mut stream = match c.events(EventsFrom::Last(EVENT_HISTORY)).await {
                        Ok(s) => s,
                        Err(e) => {
                            let _ = tx.send(Msg::EventsFailed(e.message));
                            return;
                        }
                    };
                    while let Some(item) = stream.next().await {
                        let msg = match item {
                            Ok(ev) => Msg::Event(ev),
                            Err(e) => Msg::EventsFailed(e.message),
                        };
                        if tx.send(msg).is_err() {
                            return;
                        }
                    }
                }));
            }
            Effect::Batch { op, targets } => self.spawn(async move {
                let mut ok = Vec::new();
                let mut errors = Vec::new();
                for t in targets {
                    let r = match &op {
                        Op::Container(a) => c.container_action(&t.id, *a).await,
                        Op::RemoveContainer { force } => c.container_remove(&t.id, *force).await,
                        Op::RenameContainer(n) => c.container_rename(&t.id, n).await,
                        Op::RemoveImage { force } => {
                            c.image_remove(&t.id, *force).await.map(|_| ())
                        }
                        Op::TagImage(target) => c.image_tag(&t.id, target).await,
                        Op::RemoveVolume => c.volume_remove(&t.id, false).await,
                        Op::RemoveNetwork => c.network_remove(&t.id).await,
                    };
                    match r {
                        Ok(()) => ok.push(t.label),
                        Err(e) => errors.push(format!("{}: {}", t.label, e.message)),
                    }
                }
                Some(Msg::Done { op, ok, errors })
            }),
            Effect::PruneImages => self.spawn(async move {
                let result = c.image_prune(false).await.map(|r| {
                    let n = r.images_deleted.map(|d| d.len()).unwrap_or(0);
                    let bytes = r.space_reclaimed.unwrap_or(0).max(0) as u64;
                    format!(
                        "pruned {n} image(s), {} reclaimed",
                        crate::cli::units::size3(bytes)
                    )
                });
                Some(Msg::Finished {
                    reload: Load::Images,
                    result: text(result),
                })
            }),
            Effect::PruneVolumes => self.spawn(async move {
                let result = c.volume_prune().await.map(|r| {
                    let n = r.volumes_deleted.map(|d| d.len()).unwrap_or(0);
                    let bytes = r.space_reclaimed.unwrap_or(0).max(0) as u64;
                    format!(
                        "pruned {n} volume(s), {} reclaimed",
                        crate::cli::units::size3(bytes)
                    )
                });
                Some(Msg::Finished {
                    reload: Load::Volumes,
                    result: text(result),
                })
            }),
            Effect::Run(req) => self.spawn(async move {
                let label = req.name.clone();
                let super::form::RunRequest { name, body } = *req;
                let result = match c.container_create(name, body).await {
                    Ok(id) => {
                        let label = label.unwrap_or_else(|| id.chars().take(12).collect());
                        c.container_action(&id, crate::client::ContainerAction::Start)
                            .await
                            .map(|()| format!("started {label}"))
                            .map_err(|e| {
                                crate::client::ClientError::other(format!(
                                    "created {label}, but it did not start: {}",
                                    e.message
                                ))
                            })
                    }
                    Err(e) => Err(e),
                };
                Some(Msg::Finished {
                    reload: Load::Containers,
                    result: text(result),
                })
            }),
            Effect::Pull(reference) => {
                let tx = self.tx.clone();
                self.running.push(tokio::spawn(async move {
                    let mut stream = match c.image_pull(&reference).await {
                        Ok(s) => s,
                        Err(e) => {
                            let _ = tx.send(Msg::PullEnded {
                                reference,
                                error: Some(e.message),
                            });
                            return;
                        }
                    };
                    let mut error = None;
                    while let Some(item) = stream.next().await {
                        match item {
                            Ok(info) => {
                                let msg = Msg::PullProgress {
                                    reference: reference.clone(),
                                    info,
                                };
                                if tx.send(msg).is_err() {
                                    return;
                                }
                            }
                            Err(e) => {
                                error = Some(e.message);
                                break;
                            }
                        }
                    }
                    let _ = tx.send(Msg::PullEnded { reference, error });
                }));
            }
            Effect::PruneNetworks => self.spawn(async move {
                let result = c
                    .network_prune()
                    .await
                    .map(|names| format!("pruned {} network(s)", names.len()));
                Some(Msg::Finished {
                    reload: Load::Networks,
                    result: text(result),
                })
            }),
            Effect::CreateNetwork(name) => self.spawn(async move {
                let result = c
                    .network_create(&name, false)
                    .await
                    .map(|_| format!("created network {name}"));
                Some(Msg::Finished {
                    reload: Load::Networks,
                    result: text(result),
                })
            }),
            Effect::CreateVolume(name) => self.spawn(async move {
                let result = c
                    .volume_create(name)
                    .await
                    .map(|v| format!("created volume {}", v.name));
                Some(Msg::Finished {
                    reload: Load::Volumes,
                    result: text(result),
                })
            }),
        }
    }

    /// Waits for every one-shot task, and for the log follower up to `log_wait` (the
    /// fake's log streams end; a real follower runs until the container stops). The
    /// event subscription is left running.
    pub async fn settle(&mut self, log_wait: std::time::Duration) {
        loop {
            let handles: Vec<JoinHandle<()>> = self.running.drain(..).collect();
            let mut waited = false;
            if let Some(mut logs) = self.logs.take() {
                match tokio::time::timeout(log_wait, &mut logs).await {
                    Ok(_) => waited = true,
                    Err(_) => self.logs = Some(logs),
                }
            }
            if handles.is_empty() {
                if !waited {
                    return;
                }
                continue;
            }
            for h in handles {
                let _ = h.await;
            }
        }
    }
}

/// The `page` records before the `skip` oldest ones held (which all have the time
/// `before`). A backend may answer `until` in whole seconds, so anything newer is cut
/// here rather than trusted to the query.
async fn older_page(
    c: &dyn Client,
    id: &str,
    before: chrono::DateTime<chrono::Utc>,
    skip: usize,
    page: usize,
) -> crate::client::Result<Vec<crate::client::LogLine>> {
    let req = LogRequest {
        tail: Some(page + skip),
        follow: false,
        until: Some(before),
    };
    let mut stream = c.logs(id, req).await?;
    let mut lines = Vec::new();
    while let Some(l) = stream.next().await {
        let l = l?;
        if l.time.is_none_or(|t| t <= before) {
            lines.push(l);
        }
    }
    // The held lines at exactly `before` are the last ones of the answer.
    let mut left = skip;
    while left > 0 && lines.last().is_some_and(|l| l.time == Some(before)) {
        lines.pop();
        left -= 1;
    }
    let extra = lines.len().saturating_sub(page);
    lines.drain(..extra);
    Ok(lines)
}

/// Output chunks merged into one message at most (a burst costs one redraw).
const TERM_BATCH: usize = 64 * 1024;

/// Opens a terminal session and relays it: the pane's input channel into the session,
/// its output back as messages, until the process ends or the pane lets go.
async fn relay_session(
    c: Arc<dyn Client>,
    tx: UnboundedSender<Msg>,
    pane: u64,
    container: String,
    exec: Option<Vec<String>>,
    mut input: mpsc::UnboundedReceiver<SessionInput>,
) {
    let opened = match exec {
        Some(cmd) => {
            let opts = ExecOptions {
                cmd,
                tty: true,
                ..Default::default()
            };
            c.exec_session(&container, opts).await
        }
        None => c.attach_session(&container).await,
    };
    let session = match opened {
        Ok(s) => s,
        Err(e) => {
            let _ = tx.send(Msg::TermEnded {
                pane,
                code: None,
                error: Some(e.message),
            });
            return;
        }
    };
    let mut output = session.output.fuse();
    let sink = session.input;
    let mut input_open = true;
    loop {
        tokio::select! {
            i = input.recv(), if input_open => match i {
                Some(i) => {
                    if sink.send(i).is_err() {
                        input_open = false;
                    }
                }
                None => input_open = false,
            },
            item = output.next() => {
                let mut data = Vec::new();
                let mut end = None;
                let mut next = item;
                // Take whatever else is already there, without waiting.
                loop {
                    match next {
                        Some(Ok(SessionOutput::Stdout(d) | SessionOutput::Stderr(d))) => {
                            data.extend_from_slice(&d)
                        }
                        Some(Ok(SessionOutput::Exited(code))) => end = Some((code, None)),
                        Some(Err(e)) => end = Some((None, Some(e.message))),
                        None => end = Some((None, None)),
                    }
                    if end.is_some() || data.len() >= TERM_BATCH {
                        break;
                    }
                    match output.next().now_or_never() {
                        Some(n) => next = n,
                        None => break,
                    }
                }
                if !data.is_empty() && tx.send(Msg::TermOutput { pane, data }).is_err() {
                    return;
                }
                if let Some((code, error)) = end {
                    let _ = tx.send(Msg::TermEnded { pane, code, error });
                    return;
                }
            }
        }
    }
}

impl Drop for Tasks {
    fn drop(&mut self) {
        for (_, (_, h)) in self.terms.drain() {
            h.abort();
        }
        for h in self.running.drain(..) {
            h.abort();
        }
        if let Some(h) = self.logs.take() {
            h.abort();
        }
        if let Some(h) = self.events.take() {
            h.abort();
        }
    }
}
