//! `POST /containers/{id}/wait` with Docker's conditions (not-running, next-exit,
//! removed). Headers go out at once; the body is the exit code when the condition holds.

use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{Path, RawQuery, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use bollard::models::{ContainerWaitExitError, ContainerWaitResponse};

use super::containers::q;
use super::error::{ApiError, ApiResult};
use super::state::AppState;
use super::stream::blocking;
use crate::engine::runtime::attach::{self, AttachClient};

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

pub async fn wait(
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
