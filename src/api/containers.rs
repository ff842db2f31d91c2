//! `/containers/...`: create, list, inspect, lifecycle, wait, logs, top, changes,
//! export, archive, stats, update, rename, prune. Attach is in hijack.rs.

use std::io::Write;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{Path, RawQuery, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use bollard::models::{
    ContainerCreateBody, ContainerCreateResponse, ContainerPruneResponse, ContainerUpdateBody,
    ContainerUpdateResponse, ContainerWaitExitError, ContainerWaitResponse, FilesystemChange,
    Resources, RestartPolicy,
};

use super::error::{ApiError, ApiResult};
use super::params::{check_filter_keys, json_body, Query};
use super::state::AppState;
use super::stream::{blocking, stream_body, BodyReader};
use crate::client::convert;
use crate::engine::runtime::attach::{self, AttachClient};
use crate::engine::runtime::logs::{self, ReadOptions, Stream};
use crate::engine::Engine;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/containers/create", post(create))
        .route("/containers/json", get(list))
        .route("/containers/prune", post(prune))
        .route("/containers/{id}/json", get(inspect))
        .route("/containers/{id}/start", post(start))
        .route("/containers/{id}/stop", post(stop))
        .route("/containers/{id}/restart", post(restart))
        .route("/containers/{id}/kill", post(kill))
        .route("/containers/{id}/pause", post(pause))
        .route("/containers/{id}/unpause", post(unpause))
        .route("/containers/{id}", axum::routing::delete(remove))
        .route("/containers/{id}/rename", post(rename))
        .route("/containers/{id}/update", post(update))
        .route("/containers/{id}/wait", post(wait))
        .route("/containers/{id}/logs", get(logs))
        .route("/containers/{id}/top", get(top))
        .route("/containers/{id}/changes", get(changes))
        .route("/containers/{id}/export", get(export))
        .route(
            "/containers/{id}/archive",
            get(archive_get).head(archive_head).put(archive_put),
        )
        .route("/containers/{id}/stats", get(stats))
        .route("/containers/{id}/resize", post(resize))
        .route("/containers/{id}/attach", post(super::hijack::attach))
        .route(
            "/containers/{id}/attach/ws",
            get(super::hijack::no_websocket),
        )
}

fn q(raw: &Option<String>) -> Query {
    Query::parse(raw.as_deref())
}

fn no_content() -> Response {
    StatusCode::NO_CONTENT.into_response()
}

/// Bytes in the container's writable layer (`SizeRw`).
pub fn size_rw(_e: &Engine, id: &str) -> i64 {
    let upper = crate::engine::runtime::paths::container_dir(_e.store(), id).join("upper");
    i64::try_from(crate::engine::volume::dir_size(&upper)).unwrap_or(i64::MAX)
}

async fn create(
    State(st): State<AppState>,
    RawQuery(raw): RawQuery,
    body: Bytes,
) -> ApiResult<Response> {
    let q = q(&raw);
    let body: ContainerCreateBody = json_body(&body, "container create")?;
    if body.image.as_deref().unwrap_or("").is_empty() {
        return Err(ApiError::bad_request(
            "no image specified: the request's Image field is required",
        ));
    }
    if let Some(p) = q.get("platform").filter(|p| !p.is_empty()) {
        let arch = std::env::consts::ARCH;
        let ok = p.starts_with("linux")
            && (p == "linux"
                || p.ends_with(arch)
                || (arch == "x86_64" && p.ends_with("amd64"))
                || (arch == "aarch64" && p.ends_with("arm64")));
        if !ok {
            return Err(ApiError::bad_request(format!(
                "platform {p:?} is not supported: berth runs linux containers of this machine's architecture"
            )));
        }
    }
    let name = q.get("name").filter(|n| !n.is_empty()).map(str::to_string);
    let id = blocking(&st.engine, move |e| Ok(e.container_create(name, body)?)).await?;
    Ok((
        StatusCode::CREATED,
        Json(ContainerCreateResponse {
            id,
            warnings: vec![],
        }),
    )
        .into_response())
}

async fn list(State(st): State<AppState>, RawQuery(raw): RawQuery) -> ApiResult<Response> {
    let q = q(&raw);
    let filters = q.filters()?;
    check_filter_keys(
        &filters,
        &["status", "name", "id", "exited", "ancestor", "label"],
    )?;
    let all = q.flag("all");
    let limit = q.int("limit")?.filter(|l| *l > 0);
    let size = q.flag("size");
    let out = blocking(&st.engine, move |e| {
        let now = chrono::Utc::now();
        let mut recs = e.container_list()?;
        recs.sort_by(|a, b| b.created.cmp(&a.created));
        let mut out = Vec::new();
        for r in &recs {
            if !all
                && limit.is_none()
                && !r.state.running
                && !filters.iter().any(|(k, _)| k == "status" || k == "exited")
            {
                continue;
            }
            if !crate::cli::containers::ps_matches(r, &filters)
                .map_err(|err| ApiError::bad_request(err.message))?
            {
                continue;
            }
            let mut s = convert::container_summary(r, now);
            if size {
                s.size_rw = Some(size_rw(e, &r.id));
            }
            out.push(s);
            if limit.is_some_and(|l| out.len() as i64 >= l) {
                break;
            }
        }
        Ok(out)
    })
    .await?;
    Ok(Json(out).into_response())
}

async fn inspect(
    State(st): State<AppState>,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> ApiResult<Response> {
    let size = q(&raw).flag("size");
    let v = blocking(&st.engine, move |e| {
        let view = e.container_inspect(&id)?;
        let mut v = serde_json::to_value(&view)
            .map_err(|err| ApiError::internal(format!("encoding inspect: {err}")))?;
        // dockerd always reports the log driver; clients (docker-py's run) read it.
        if let Some(hc) = v.get_mut("HostConfig").and_then(|h| h.as_object_mut()) {
            if hc.get("LogConfig").is_none_or(|l| l.is_null()) {
                hc.insert(
                    "LogConfig".into(),
                    serde_json::json!({ "Type": "json-file", "Config": {} }),
                );
            }
        }
        if size {
            if let Some(o) = v.as_object_mut() {
                let rec = e.container_get(&id)?;
                o.insert("SizeRw".into(), size_rw(e, &rec.id).into());
            }
        }
        Ok(v)
    })
    .await?;
    Ok(Json(v).into_response())
}

/// A failed start as dockerd reports it: 400 when the command cannot run (the CLI turns
/// "not found"/"permission denied" into 127/126), else 500.
fn start_error(e: crate::engine::runtime::lifecycle::StartError) -> ApiError {
    let status = if e.code == 126 || e.code == 127 {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::INTERNAL_SERVER_ERROR
    };
    ApiError::new(status, e.message)
}

/// Starts `id` with an attach stream: the pending one of a hijacked attach, or one of
/// our own that only listens for the exit (so `wait` wakes without polling).
pub async fn start_container(st: &AppState, id: &str) -> ApiResult<bool> {
    let rec = {
        let id = id.to_string();
        blocking(&st.engine, move |e| Ok(e.container_get(&id)?)).await?
    };
    if rec.state.running && !rec.state.restarting {
        return Ok(false);
    }
    let pending = st.take_pending_attach(&rec.id);
    let (fd, watcher) = match pending {
        Some(fd) => (fd, None),
        None => {
            let (client, fd) = AttachClient::pair()?;
            (fd, Some(client))
        }
    };
    let rid = rec.id.clone();
    let started = blocking(&st.engine, move |e| Ok(e.container_start(&rid, Some(fd))?)).await?;
    if let Err(failed) = started {
        if rec.config.host_config.auto_remove == Some(true) {
            // As dockerd: an auto-removed container that cannot start is removed (the
            // docker CLI waits for that before it reports the error).
            let rid = rec.id.clone();
            let _ = blocking(&st.engine, move |e| {
                Ok(e.container_remove(&rid, true, true)?)
            })
            .await;
        }
        return Err(start_error(failed));
    }
    if let Some(mut client) = watcher {
        let st = st.clone();
        let id = rec.id.clone();
        tokio::task::spawn_blocking(move || loop {
            match client.next_frame() {
                Ok(Some((attach::EXIT, payload))) => {
                    let code = String::from_utf8_lossy(&payload)
                        .trim()
                        .parse()
                        .unwrap_or(0);
                    st.exited(&id, code);
                    return;
                }
                Ok(Some(_)) => {}
                Ok(None) | Err(_) => return,
            }
        });
    }
    Ok(true)
}

async fn start(State(st): State<AppState>, Path(id): Path<String>) -> ApiResult<Response> {
    if start_container(&st, &id).await? {
        Ok(no_content())
    } else {
        Ok(StatusCode::NOT_MODIFIED.into_response())
    }
}

fn timeout_param(q: &Query) -> ApiResult<Option<i64>> {
    match q.int("t")? {
        Some(t) => Ok(Some(t)),
        None => q.int("timeout"),
    }
}

async fn stop(
    State(st): State<AppState>,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> ApiResult<Response> {
    let q = q(&raw);
    let t = timeout_param(&q)?;
    let signal = q
        .get("signal")
        .filter(|s| !s.is_empty())
        .map(str::to_string);
    let stopped = blocking(&st.engine, move |e| {
        let rec = e.container_get(&id)?;
        if !rec.state.running {
            return Ok(false);
        }
        match signal {
            // `stop -s SIG`: that signal instead of the configured stop signal.
            Some(sig) => {
                e.container_kill(&rec.id, &sig)?;
                let secs = t.or(rec.config.config.stop_timeout).unwrap_or(10).max(0) as u64;
                if !e.container_wait_stopped(&rec.id, Some(Duration::from_secs(secs)))? {
                    e.container_kill(&rec.id, "KILL")?;
                    e.container_wait_stopped(&rec.id, Some(Duration::from_secs(30)))?;
                }
            }
            None => e.container_stop(&rec.id, t)?,
        }
        Ok(true)
    })
    .await?;
    Ok(if stopped {
        no_content()
    } else {
        StatusCode::NOT_MODIFIED.into_response()
    })
}

async fn restart(
    State(st): State<AppState>,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> ApiResult<Response> {
    let t = timeout_param(&q(&raw))?;
    let rid = blocking(&st.engine, move |e| {
        let rec = e.container_get(&id)?;
        if rec.state.running {
            e.container_stop(&rec.id, t)?;
        }
        Ok(rec.id)
    })
    .await?;
    start_container(&st, &rid).await?;
    let id2 = rid.clone();
    blocking(&st.engine, move |e| {
        let rec = e.container_get(&id2)?;
        crate::engine::runtime::container::emit(e.store(), &rec, "restart", &[]);
        Ok(())
    })
    .await?;
    Ok(no_content())
}

async fn kill(
    State(st): State<AppState>,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> ApiResult<Response> {
    let sig = q(&raw)
        .get("signal")
        .filter(|s| !s.is_empty())
        .unwrap_or("KILL")
        .to_string();
    blocking(&st.engine, move |e| Ok(e.container_kill(&id, &sig)?)).await?;
    Ok(no_content())
}

async fn pause(State(st): State<AppState>, Path(id): Path<String>) -> ApiResult<Response> {
    blocking(&st.engine, move |e| Ok(e.container_pause(&id, true)?)).await?;
    Ok(no_content())
}

async fn unpause(State(st): State<AppState>, Path(id): Path<String>) -> ApiResult<Response> {
    blocking(&st.engine, move |e| Ok(e.container_pause(&id, false)?)).await?;
    Ok(no_content())
}

async fn remove(
    State(st): State<AppState>,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> ApiResult<Response> {
    let q = q(&raw);
    if q.flag("link") {
        return Err(ApiError::bad_request(
            "links are not supported: berth has no legacy container links",
        ));
    }
    let (force, volumes) = (q.flag("force"), q.flag("v"));
    blocking(&st.engine, move |e| {
        e.container_remove(&id, force, volumes)?;
        Ok(())
    })
    .await?;
    Ok(no_content())
}

async fn rename(
    State(st): State<AppState>,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> ApiResult<Response> {
    let name = q(&raw)
        .get("name")
        .filter(|n| !n.is_empty())
        .ok_or_else(|| ApiError::bad_request("rename: the name parameter is required"))?
        .to_string();
    blocking(&st.engine, move |e| Ok(e.container_rename(&id, &name)?)).await?;
    Ok(no_content())
}

async fn update(
    State(st): State<AppState>,
    Path(id): Path<String>,
    body: Bytes,
) -> ApiResult<Response> {
    let upd: ContainerUpdateBody = json_body(&body, "container update")?;
    let restart: Option<RestartPolicy> = upd.restart_policy.clone();
    let mut v = serde_json::to_value(&upd)
        .map_err(|e| ApiError::internal(format!("encoding the update: {e}")))?;
    if let Some(o) = v.as_object_mut() {
        o.remove("RestartPolicy");
    }
    let resources: Resources = serde_json::from_value(v)
        .map_err(|e| ApiError::bad_request(format!("container update: {e}")))?;
    blocking(&st.engine, move |e| {
        Ok(e.container_update(&id, &resources, restart)?)
    })
    .await?;
    Ok(Json(ContainerUpdateResponse {
        warnings: Some(vec![]),
    })
    .into_response())
}

/// Waits for the container's monitor to report the exit; None when it cannot be reached
/// (not running any more, or started by a process that is gone).
fn monitor_exit(id: &str) -> Option<i64> {
    let mut c = AttachClient::connect(id).ok()?;
    loop {
        match c.next_frame() {
            Ok(Some((attach::EXIT, p))) => {
                return String::from_utf8_lossy(&p).trim().parse().ok();
            }
            Ok(Some(_)) => {}
            Ok(None) | Err(_) => return None,
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum WaitCondition {
    NotRunning,
    NextExit,
    Removed,
}

/// The exit code the wait condition is met with.
async fn wait_for(st: &AppState, id: &str, cond: WaitCondition) -> ApiResult<i64> {
    let mut exits = st.subscribe_exit(id);
    exits.borrow_and_update();
    let mut last_code = 0i64;
    // Whether last_code is a real exit code (not the initial 0).
    let mut have_code = false;
    let mut woken = false;
    loop {
        // `changed()` below marks the value seen: `woken` remembers it was new.
        if std::mem::take(&mut woken) || exits.has_changed().unwrap_or(false) {
            let (_, code) = *exits.borrow_and_update();
            last_code = code;
            have_code = true;
            if cond == WaitCondition::NextExit {
                return Ok(code);
            }
        }
        let rid = id.to_string();
        let rec = blocking(&st.engine, move |e| match e.container_get(&rid) {
            Ok(r) => Ok(Some(r)),
            Err(crate::engine::Error::NotFound(_)) => Ok(None),
            Err(err) => Err(err.into()),
        })
        .await?;
        let Some(rec) = rec else {
            if !have_code {
                // Removed on exit: the monitor drops the record before it sends the
                // exit code to its attached clients, so that code is a moment away.
                if let Ok(Ok(())) =
                    tokio::time::timeout(Duration::from_secs(2), exits.changed()).await
                {
                    last_code = exits.borrow_and_update().1;
                }
            }
            return Ok(last_code);
        };
        if rec.state.running || rec.state.restarting {
            let rid = rec.id.clone();
            let code = tokio::task::spawn_blocking(move || monitor_exit(&rid))
                .await
                .ok()
                .flatten();
            if let Some(code) = code {
                last_code = code;
                have_code = true;
                if cond != WaitCondition::Removed {
                    return Ok(code);
                }
            }
            continue;
        }
        let started_before = rec.state.status != "created";
        if started_before {
            last_code = rec.state.exit_code;
            have_code = true;
        }
        match cond {
            WaitCondition::NotRunning => return Ok(rec.state.exit_code),
            WaitCondition::Removed
                if started_before && !rec.config.host_config.auto_remove.unwrap_or(false) =>
            {
                // Not going to be removed by anyone but a client: wait for that.
            }
            _ => {}
        }
        // Started elsewhere (another client, the CLI) or not yet: look again soon.
        tokio::select! {
            r = exits.changed() => woken = r.is_ok(),
            _ = tokio::time::sleep(Duration::from_millis(100)) => {}
        }
    }
}

async fn wait(
    State(st): State<AppState>,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> ApiResult<Response> {
    let cond = match q(&raw).get("condition").unwrap_or("") {
        "" | "not-running" => WaitCondition::NotRunning,
        "next-exit" => WaitCondition::NextExit,
        "removed" => WaitCondition::Removed,
        other => {
            return Err(ApiError::bad_request(format!(
                "invalid condition: {other:?} (use not-running, next-exit or removed)"
            )))
        }
    };
    let rid = id.clone();
    let rec = blocking(&st.engine, move |e| Ok(e.container_get(&rid)?)).await?;
    // Headers go out now, as dockerd's do: the client knows the wait is registered
    // before it starts the container.
    let (tx, rx) = tokio::sync::oneshot::channel::<Bytes>();
    let st2 = st.clone();
    tokio::spawn(async move {
        let waited = wait_for(&st2, &rec.id, cond).await;
        st2.release_exit(&rec.id);
        let resp = match waited {
            Ok(code) => ContainerWaitResponse {
                status_code: code,
                error: None,
            },
            Err(e) => ContainerWaitResponse {
                status_code: -1,
                error: Some(ContainerWaitExitError {
                    message: Some(e.message),
                }),
            },
        };
        let mut b = serde_json::to_vec(&resp).unwrap_or_default();
        b.push(b'\n');
        let _ = tx.send(Bytes::from(b));
    });
    let stream = futures::stream::once(async move {
        rx.await
            .map_err(|_| std::io::Error::other("the wait was interrupted"))
    });
    Ok((
        [(header::CONTENT_TYPE, "application/json")],
        Body::from_stream(stream),
    )
        .into_response())
}

fn log_time_param(q: &Query, key: &str) -> ApiResult<Option<chrono::DateTime<chrono::Utc>>> {
    match q.get(key).filter(|v| !v.is_empty() && *v != "0") {
        None => Ok(None),
        Some(v) => logs::parse_time_arg(v, chrono::Utc::now())
            .map(Some)
            .map_err(|e| ApiError::bad_request(format!("invalid value for {key}: {e}"))),
    }
}

async fn logs(
    State(st): State<AppState>,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> ApiResult<Response> {
    let q = q(&raw);
    let (stdout, stderr) = (q.flag("stdout"), q.flag("stderr"));
    if !stdout && !stderr {
        return Err(ApiError::bad_request(
            "Bad parameters: you must choose at least one stream",
        ));
    }
    let tail = match q.get("tail").unwrap_or("all") {
        "all" | "" => None,
        n => Some(n.parse::<i64>().map_err(|_| {
            ApiError::bad_request(format!("invalid value for tail: {n:?} is not a number"))
        })?)
        .filter(|n| *n >= 0)
        .map(|n| n as usize),
    };
    let opts = ReadOptions {
        tail,
        since: log_time_param(&q, "since")?,
        until: log_time_param(&q, "until")?,
        stdout,
        stderr,
    };
    let follow = q.flag("follow");
    let timestamps = q.flag("timestamps");
    let rec = blocking(&st.engine, move |e| Ok(e.container_get(&id)?)).await?;
    let tty = rec.config.config.tty.unwrap_or(false);
    let path = st.engine.container_log_path(&rec.id);
    let rid = rec.id.clone();
    let body = stream_body(&st.engine, move |e, w| {
        if !path.exists() {
            return Ok(());
        }
        let last_check = std::cell::Cell::new(std::time::Instant::now());
        let running = std::cell::Cell::new(true);
        let closed = std::cell::Cell::new(false);
        let probe = w.probe();
        let keep_following = || {
            if closed.get() || probe.gone() {
                return false;
            }
            // A db read per wake-up would be wasteful: recheck the state twice a second.
            if last_check.get().elapsed() >= Duration::from_millis(500) {
                last_check.set(std::time::Instant::now());
                running.set(
                    e.container_get(&rid)
                        .map(|r| r.state.running || r.state.restarting)
                        .unwrap_or(false),
                );
            }
            running.get()
        };
        let mut frame = Vec::with_capacity(4096);
        let mut sink = |entry: &logs::LogEntry| -> std::io::Result<()> {
            frame.clear();
            if timestamps {
                frame.extend_from_slice(
                    entry
                        .time
                        .to_rfc3339_opts(chrono::SecondsFormat::Nanos, true)
                        .as_bytes(),
                );
                frame.push(b' ');
            }
            frame.extend_from_slice(&entry.line);
            let r = if tty {
                w.write_all(&frame)
            } else {
                let kind = match entry.stream {
                    Stream::Stdout => attach::STDOUT,
                    Stream::Stderr => attach::STDERR,
                };
                w.write_all(&attach::encode(kind, &frame))
            };
            let r = r.and_then(|_| if follow { w.flush() } else { Ok(()) });
            if r.is_err() {
                closed.set(true);
            }
            r
        };
        logs::stream(&path, &opts, follow, &keep_following, &mut sink)
            .map_err(|err| ApiError::internal(err.to_string()))
    });
    let ctype = if tty {
        "application/vnd.docker.raw-stream"
    } else {
        "application/vnd.docker.multiplexed-stream"
    };
    Ok(([(header::CONTENT_TYPE, ctype)], body).into_response())
}

async fn top(
    State(st): State<AppState>,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> ApiResult<Response> {
    if let Some(a) = q(&raw)
        .get("ps_args")
        .filter(|a| !a.is_empty() && *a != "-ef")
    {
        return Err(ApiError::bad_request(format!(
            "ps_args {a:?} are not supported: berth lists processes as `ps -ef` does"
        )));
    }
    let t = blocking(&st.engine, move |e| {
        let rec = e.container_get(&id)?;
        if !rec.state.running {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                format!("container {} is not running", rec.id),
            ));
        }
        Ok(convert::top(&e.container_top(&rec.id)?))
    })
    .await?;
    Ok(Json(t).into_response())
}

async fn changes(State(st): State<AppState>, Path(id): Path<String>) -> ApiResult<Response> {
    let list = blocking(&st.engine, move |e| Ok(e.container_diff(&id)?)).await?;
    let out: Vec<FilesystemChange> = list
        .iter()
        .map(|c| FilesystemChange {
            path: c.path.clone(),
            kind: match c.kind {
                crate::engine::image::layer::ChangeKind::Modified => {
                    bollard::models::ChangeType::_0
                }
                crate::engine::image::layer::ChangeKind::Added => bollard::models::ChangeType::_1,
                crate::engine::image::layer::ChangeKind::Deleted => bollard::models::ChangeType::_2,
            },
        })
        .collect();
    Ok(Json(out).into_response())
}

async fn export(State(st): State<AppState>, Path(id): Path<String>) -> ApiResult<Response> {
    let rid = blocking(&st.engine, move |e| Ok(e.container_get(&id)?.id)).await?;
    let body = stream_body(&st.engine, move |e, w| {
        e.container_export(&rid, w)?;
        Ok(())
    });
    Ok(([(header::CONTENT_TYPE, "application/x-tar")], body).into_response())
}

fn path_param(q: &Query) -> ApiResult<String> {
    q.get("path")
        .filter(|p| !p.is_empty())
        .map(str::to_string)
        .ok_or_else(|| ApiError::bad_request("the path parameter is required"))
}

fn stat_header(stat: &crate::engine::runtime::copy::PathStat) -> ApiResult<HeaderValue> {
    use base64_lite::encode;
    let json = serde_json::to_vec(stat)
        .map_err(|e| ApiError::internal(format!("encoding the path stat: {e}")))?;
    HeaderValue::from_str(&encode(&json))
        .map_err(|e| ApiError::internal(format!("encoding the path stat: {e}")))
}

/// Standard base64 for the path-stat header (one small header: no crate for it).
mod base64_lite {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    pub fn encode(data: &[u8]) -> String {
        let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
        for chunk in data.chunks(3) {
            let b = [
                chunk[0],
                chunk.get(1).copied().unwrap_or(0),
                chunk.get(2).copied().unwrap_or(0),
            ];
            let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
            for i in 0..4 {
                if i <= chunk.len() {
                    out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
                } else {
                    out.push('=');
                }
            }
        }
        out
    }

    #[cfg(test)]
    #[test]
    fn known_vectors() {
        assert_eq!(encode(b""), "");
        assert_eq!(encode(b"f"), "Zg==");
        assert_eq!(encode(b"fo"), "Zm8=");
        assert_eq!(encode(b"foo"), "Zm9v");
        assert_eq!(encode(b"foobar"), "Zm9vYmFy");
    }
}

async fn archive_head(
    State(st): State<AppState>,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> ApiResult<Response> {
    let path = path_param(&q(&raw))?;
    let stat = blocking(&st.engine, move |e| {
        Ok(e.container_archive_stat(&id, &path)?)
    })
    .await?;
    let mut h = HeaderMap::new();
    h.insert("X-Docker-Container-Path-Stat", stat_header(&stat)?);
    Ok((StatusCode::OK, h).into_response())
}

async fn archive_get(
    State(st): State<AppState>,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> ApiResult<Response> {
    let path = path_param(&q(&raw))?;
    let source = blocking(&st.engine, move |e| {
        Ok(e.container_archive_get(&id, &path, false)?)
    })
    .await?;
    let stat = stat_header(source.stat())?;
    let body = stream_body(&st.engine, move |_e, w| {
        let mut reader = source.start(None)?;
        std::io::copy(&mut reader, w)
            .map_err(|err| ApiError::internal(format!("copying from the container: {err}")))?;
        Ok(())
    });
    let mut h = HeaderMap::new();
    h.insert("X-Docker-Container-Path-Stat", stat);
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/x-tar"),
    );
    Ok((h, body).into_response())
}

async fn archive_put(
    State(st): State<AppState>,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
    req: Request,
) -> ApiResult<Response> {
    let q = q(&raw);
    let path = path_param(&q)?;
    let opts = crate::engine::runtime::copy::ExtractOptions {
        copy_uid_gid: q.flag("copyUIDGID"),
        no_overwrite_dir_non_dir: q.flag("noOverwriteDirNonDir"),
    };
    let reader = BodyReader::new(req.into_body());
    blocking(&st.engine, move |e| {
        Ok(e.container_archive_put(&id, &path, reader, &opts)?)
    })
    .await?;
    Ok(StatusCode::OK.into_response())
}

/// One Docker stats document: the current cgroup sample, and the previous one for the
/// CPU delta.
fn stats_doc(
    rec: &crate::engine::runtime::container::ContainerRecord,
    prev: Option<&crate::engine::runtime::cgroups::Sample>,
) -> ApiResult<(
    bollard::models::ContainerStatsResponse,
    Option<crate::engine::runtime::cgroups::Sample>,
)> {
    use crate::engine::runtime::cgroups::{container_path, stats_response, Cgroups};
    if !rec.state.running {
        let mut doc = stats_response(&rec.id, &rec.name, &Default::default(), None);
        doc.cpu_stats = None;
        doc.memory_stats = None;
        return Ok((doc, None));
    }
    let cg = Cgroups::detect().map_err(|e| ApiError::internal(format!("cgroups: {e}")))?;
    let cur = cg
        .sample(&container_path(&rec.id))
        .map_err(|e| ApiError::internal(format!("reading the cgroup of {}: {e}", rec.id)))?;
    Ok((stats_response(&rec.id, &rec.name, &cur, prev), Some(cur)))
}

async fn stats(
    State(st): State<AppState>,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> ApiResult<Response> {
    let q = q(&raw);
    let stream = q.flag_or("stream", true);
    let one_shot = q.flag("one-shot");
    let rec = blocking(&st.engine, move |e| Ok(e.container_get(&id)?)).await?;
    if !stream {
        let doc = blocking(&st.engine, move |_e| {
            let (first, prev) = stats_doc(&rec, None)?;
            if one_shot || prev.is_none() {
                return Ok(first);
            }
            // Like dockerd: a second sample so precpu_stats gives the CPU delta.
            std::thread::sleep(Duration::from_millis(500));
            Ok(stats_doc(&rec, prev.as_ref())?.0)
        })
        .await?;
        return Ok(Json(doc).into_response());
    }
    let body = stream_body(&st.engine, move |e, w| {
        let mut prev = None;
        loop {
            let rec = match e.container_get(&rec.id) {
                Ok(r) => r,
                Err(_) => return Ok(()),
            };
            let (doc, cur) = stats_doc(&rec, prev.as_ref())?;
            if super::stream::write_json_line(w, &doc).is_err() {
                return Ok(());
            }
            prev = cur;
            std::thread::sleep(Duration::from_secs(1));
        }
    });
    Ok(([(header::CONTENT_TYPE, "application/json")], body).into_response())
}

async fn resize(
    State(st): State<AppState>,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> ApiResult<Response> {
    let q = q(&raw);
    let (h, w) = dims(&q)?;
    blocking(&st.engine, move |e| {
        let rec = e.container_get(&id)?;
        if !rec.state.running {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                format!("container {} is not running", rec.id),
            ));
        }
        let mut c = AttachClient::connect(&rec.id)?;
        c.resize(h, w)
            .map_err(|err| ApiError::internal(format!("resizing the tty: {err}")))
    })
    .await?;
    Ok(StatusCode::OK.into_response())
}

/// `h` and `w` of a resize request.
pub fn dims(q: &Query) -> ApiResult<(u16, u16)> {
    let get = |k: &str| -> ApiResult<u16> {
        let v = q.int(k)?.ok_or_else(|| {
            ApiError::bad_request(format!("resize: the {k} parameter is required"))
        })?;
        u16::try_from(v)
            .map_err(|_| ApiError::bad_request(format!("resize: {k}={v} is out of range")))
    };
    Ok((get("h")?, get("w")?))
}

async fn prune(State(st): State<AppState>, RawQuery(raw): RawQuery) -> ApiResult<Response> {
    let filters = q(&raw).filters()?;
    check_filter_keys(&filters, &[])?;
    let (ids, bytes) = blocking(&st.engine, |e| Ok(e.container_prune()?)).await?;
    Ok(Json(ContainerPruneResponse {
        containers_deleted: Some(ids),
        space_reclaimed: Some(i64::try_from(bytes).unwrap_or(i64::MAX)),
    })
    .into_response())
}
