//! Exec sessions: `POST /containers/{id}/exec` records one, `POST /exec/{id}/start` runs
//! it through the engine's exec helper (hijacked, or detached), `GET /exec/{id}/json`
//! reports it and `POST /exec/{id}/resize` resizes its TTY. Sessions live in the
//! server's memory, as dockerd's do.

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use bollard::models::{ExecConfig, ExecInspectResponse, ExecStartConfig, ProcessConfig};

use super::error::{ApiError, ApiResult};
use super::hijack::{self, RelayOpts};
use super::params::{json_body, json_body_legacy, Query};
use super::state::AppState;
use super::stream::blocking;
use crate::engine::runtime::attach::{self, AttachClient};
use crate::engine::runtime::exec::ExecConfig as RunConfig;

/// Finished sessions kept for inspection; older ones go when new ones are made.
const KEEP_FINISHED: usize = 256;

pub struct ExecSession {
    pub container_id: String,
    pub config: ExecConfig,
    pub started: bool,
    pub running: bool,
    pub exit_code: Option<i64>,
    /// A second connection to the running session, for resizes.
    pub control: Option<AttachClient>,
    /// Creation order, to drop the oldest finished sessions first.
    pub seq: u64,
}

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/containers/{id}/exec", post(create))
        .route("/exec/{id}/start", post(start))
        .route("/exec/{id}/json", get(inspect))
        .route("/exec/{id}/resize", post(resize))
}

fn new_id() -> String {
    use rand::Rng;
    let mut b = [0u8; 32];
    rand::rng().fill(&mut b);
    hex::encode(b)
}

fn no_such_exec(id: &str) -> ApiError {
    ApiError::not_found(format!("No such exec instance: {id}"))
}

async fn create(
    State(st): State<AppState>,
    Path(id): Path<String>,
    body: Bytes,
) -> ApiResult<Response> {
    let config: ExecConfig = json_body_legacy(&body, "exec create", &["Detach", "Container"])?;
    if config.cmd.as_ref().is_none_or(|c| c.is_empty()) {
        return Err(ApiError::bad_request("No exec command specified"));
    }
    let rec = blocking(&st.engine, move |e| Ok(e.container_get(&id)?)).await?;
    if !rec.state.running || rec.state.restarting {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            format!("container {} is not running", rec.id),
        ));
    }
    if rec.state.paused {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            format!(
                "container {} is paused, unpause the container before exec",
                rec.id
            ),
        ));
    }
    let exec_id = new_id();
    {
        let mut execs = st.execs();
        let seq = execs.values().map(|s| s.seq).max().unwrap_or(0) + 1;
        let mut finished: Vec<(u64, String)> = execs
            .iter()
            .filter(|(_, s)| s.started && !s.running)
            .map(|(k, s)| (s.seq, k.clone()))
            .collect();
        if finished.len() > KEEP_FINISHED {
            finished.sort();
            for (_, k) in &finished[..finished.len() - KEEP_FINISHED] {
                execs.remove(k);
            }
        }
        execs.insert(
            exec_id.clone(),
            ExecSession {
                container_id: rec.id.clone(),
                config,
                started: false,
                running: false,
                exit_code: None,
                control: None,
                seq,
            },
        );
    }
    // Docker spells it "Id" (bollard's IdResponse would write "id").
    Ok((
        StatusCode::CREATED,
        Json(serde_json::json!({ "Id": exec_id })),
    )
        .into_response())
}

fn finish(st: &AppState, id: &str, code: Option<i64>) {
    if let Some(s) = st.execs().get_mut(id) {
        s.running = false;
        s.control = None;
        // Lost without an exit frame (the helper died): Docker reports no code either.
        s.exit_code = code.or(s.exit_code);
    }
}

async fn start(
    State(st): State<AppState>,
    Path(id): Path<String>,
    mut req: Request,
) -> ApiResult<Response> {
    let upgrade = req.extensions_mut().remove::<hyper::upgrade::OnUpgrade>();
    let wants_upgrade = req
        .headers()
        .get(axum::http::header::UPGRADE)
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"tcp"));
    let body = axum::body::to_bytes(req.into_body(), super::MAX_JSON_BODY)
        .await
        .map_err(|e| ApiError::bad_request(format!("exec start: reading the body: {e}")))?;
    let start: ExecStartConfig = json_body(&body, "exec start")?;
    let detach = start.detach.unwrap_or(false);
    let (container_id, config) = {
        let mut execs = st.execs();
        let s = execs.get_mut(&id).ok_or_else(|| no_such_exec(&id))?;
        if s.started {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                format!("Error: Exec command {id} has already run"),
            ));
        }
        s.started = true;
        s.running = true;
        (s.container_id.clone(), s.config.clone())
    };
    let tty = start.tty.or(config.tty).unwrap_or(false);
    let stdin = config.attach_stdin.unwrap_or(false) && !detach;
    let run = RunConfig {
        cmd: config.cmd.clone().unwrap_or_default(),
        env: config.env.clone().unwrap_or_default(),
        user: config.user.clone().filter(|u| !u.is_empty()),
        working_dir: config.working_dir.clone().filter(|w| !w.is_empty()),
        tty,
        stdin,
        privileged: config.privileged.unwrap_or(false),
    };
    let upgrade = match (detach, upgrade) {
        (false, Some(u)) if wants_upgrade => Some(u),
        (false, _) => {
            finish(&st, &id, None);
            return Err(ApiError::bad_request(
                "exec start streams over a hijacked connection: send `Connection: Upgrade` and `Upgrade: tcp`, or Detach",
            ));
        }
        (true, _) => None,
    };
    let (client, fd) = AttachClient::pair()?;
    let cid = container_id.clone();
    let started = blocking(&st.engine, move |e| {
        Ok(e.container_exec(&cid, &run, Some(fd))?)
    })
    .await;
    let started = match started {
        Ok(s) => s,
        Err(e) => {
            finish(&st, &id, None);
            return Err(e);
        }
    };
    let size = start.console_size.clone().or(config.console_size.clone());
    if let Err(failed) = started {
        finish(&st, &id, Some(i64::from(failed.code)));
        return match upgrade {
            // dockerd reports a command that cannot run inside the stream; the client
            // reads the exit code (126/127) from the exec's inspect.
            Some(u) => {
                tokio::spawn(hijack::relay_error(u, tty, failed.message));
                Ok(hijack::switching(tty))
            }
            None => Err(ApiError::bad_request(failed.message)),
        };
    }
    if let Ok(mut control) = client.try_clone() {
        if let Some(sz) = size.as_ref().filter(|s| s.len() == 2) {
            let _ = control.resize(
                u16::try_from(sz[0]).unwrap_or(24),
                u16::try_from(sz[1]).unwrap_or(80),
            );
        }
        if let Some(s) = st.execs().get_mut(&id) {
            s.control = Some(control);
        }
    }
    match upgrade {
        None => {
            // Detached: only the exit code is wanted.
            let st = st.clone();
            let mut client = client;
            tokio::task::spawn_blocking(move || {
                let code = loop {
                    match client.next_frame() {
                        Ok(Some((attach::EXIT, p))) => {
                            break String::from_utf8_lossy(&p).trim().parse().ok()
                        }
                        Ok(Some(_)) => {}
                        Ok(None) | Err(_) => break None,
                    }
                };
                finish(&st, &id, code);
            });
            Ok(StatusCode::OK.into_response())
        }
        Some(u) => {
            let opts = RelayOpts {
                tty,
                stdin,
                stdout: config.attach_stdout.unwrap_or(true),
                stderr: config.attach_stderr.unwrap_or(true),
                detach_keys: crate::cli::attach::parse_detach_keys(
                    config
                        .detach_keys
                        .as_deref()
                        .filter(|k| !k.is_empty())
                        .unwrap_or(crate::cli::attach::DEFAULT_DETACH_KEYS),
                )
                .unwrap_or_default(),
            };
            let st = st.clone();
            tokio::spawn(async move {
                hijack::relay(u, client, opts, |code| finish(&st, &id, code)).await;
            });
            Ok(hijack::switching(tty))
        }
    }
}

async fn inspect(State(st): State<AppState>, Path(id): Path<String>) -> ApiResult<Response> {
    let execs = st.execs();
    let s = execs.get(&id).ok_or_else(|| no_such_exec(&id))?;
    let cmd = s.config.cmd.clone().unwrap_or_default();
    let resp = ExecInspectResponse {
        can_remove: Some(false),
        detach_keys: Some(s.config.detach_keys.clone().unwrap_or_default()),
        id: Some(id.clone()),
        running: Some(s.running),
        exit_code: s.exit_code,
        process_config: Some(ProcessConfig {
            privileged: Some(s.config.privileged.unwrap_or(false)),
            user: Some(s.config.user.clone().unwrap_or_default()),
            tty: Some(s.config.tty.unwrap_or(false)),
            entrypoint: cmd.first().cloned(),
            arguments: Some(cmd.iter().skip(1).cloned().collect()),
        }),
        open_stdin: Some(s.config.attach_stdin.unwrap_or(false)),
        open_stderr: Some(s.config.attach_stderr.unwrap_or(false)),
        open_stdout: Some(s.config.attach_stdout.unwrap_or(false)),
        container_id: Some(s.container_id.clone()),
        pid: Some(0),
    };
    Ok(Json(resp).into_response())
}

async fn resize(
    State(st): State<AppState>,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> ApiResult<Response> {
    let (h, w) = super::containers::dims(&Query::parse(raw.as_deref()))?;
    let mut execs = st.execs();
    let s = execs.get_mut(&id).ok_or_else(|| no_such_exec(&id))?;
    let Some(control) = s.control.as_mut() else {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            format!("exec {id} is not running"),
        ));
    };
    control
        .resize(h, w)
        .map_err(|e| ApiError::internal(format!("resizing exec {id}: {e}")))?;
    Ok(StatusCode::OK.into_response())
}
