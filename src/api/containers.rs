//! `/containers/...`: create, list, inspect, lifecycle, top, changes, export, update,
//! rename, resize, prune. Wait, logs and stats, archive and attach have modules of
//! their own.

use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use bollard::models::{
    ContainerCreateBody, ContainerCreateResponse, ContainerPruneResponse, ContainerUpdateBody,
    ContainerUpdateResponse, FilesystemChange, Resources, RestartPolicy,
};

use super::error::{ApiError, ApiResult};
use super::params::{check_filter_keys, json_body, Query};
use super::state::AppState;
use super::stream::{blocking, stream_body};
use crate::client::convert;
use crate::engine::runtime::attach::{self, AttachClient};
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
        .route("/containers/{id}/wait", post(super::wait::wait))
        .route("/containers/{id}/logs", get(super::logs_stats::logs))
        .route("/containers/{id}/top", get(top))
        .route("/containers/{id}/changes", get(changes))
        .route("/containers/{id}/export", get(export))
        .route(
            "/containers/{id}/archive",
            get(super::archive::get)
                .head(super::archive::head)
                .put(super::archive::put),
        )
        .route("/containers/{id}/stats", get(super::logs_stats::stats))
        .route("/containers/{id}/resize", post(resize))
        .route("/containers/{id}/attach", post(super::hijack::attach))
        .route(
            "/containers/{id}/attach/ws",
            get(super::hijack::no_websocket),
        )
}

pub(super) fn q(raw: &Option<String>) -> Query {
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
    // `docker run` starts the container right after creating it: the kernel's wait for
    // the first cgroup move overlaps with the rest (see prewarm_attach).
    crate::engine::runtime::cgroups::prewarm_attach();
    let id = blocking(&st.engine, move |e| Ok(e.container_create(name, body)?)).await?;
    // Clients start what they create, mostly right away (`docker run`): the monitor's
    // process start overlaps the client's next requests (see runtime/standby.rs).
    {
        let (st, id) = (st.clone(), id.clone());
        tokio::task::spawn_blocking(move || {
            if let Ok((standby, mut first)) = st.engine.container_standby(&id) {
                st.put_standby(&id, standby);
                let _ = first.wait();
            }
        });
    }
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
    let standby = st.take_standby(&rec.id);
    let started = blocking(&st.engine, move |e| {
        Ok(e.container_start_standby(&rid, Some(fd), standby.as_ref())?)
    })
    .await?;
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
    let removed = blocking(&st.engine, move |e| {
        Ok(e.container_remove(&id, force, volumes)?)
    })
    .await?;
    // Its standby monitor (if it was never started) sees the end of its socket and exits.
    st.take_standby(&removed);
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

async fn top(
    State(st): State<AppState>,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> ApiResult<Response> {
    // dockerd's default is `ps -ef`, which berth reads from /proc itself.
    let ps_args = q(&raw)
        .get("ps_args")
        .filter(|a| !a.trim().is_empty() && a.trim() != "-ef")
        .map(|a| a.to_string());
    let t = blocking(&st.engine, move |e| {
        let rec = e.container_get(&id)?;
        if !rec.state.running {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                format!("container {} is not running", rec.id),
            ));
        }
        match ps_args {
            Some(a) => Ok(e.container_top_ps(&rec.id, &a)?),
            None => Ok(convert::top(&e.container_top(&rec.id)?)),
        }
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
    for id in &ids {
        st.take_standby(id);
    }
    Ok(Json(ContainerPruneResponse {
        containers_deleted: Some(ids),
        space_reclaimed: Some(i64::try_from(bytes).unwrap_or(i64::MAX)),
    })
    .into_response())
}
