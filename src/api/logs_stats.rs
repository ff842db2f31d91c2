//! `GET /containers/{id}/logs` (stdcopy frames, or raw with a TTY; follow) and
//! `GET /containers/{id}/stats` (a stream, or one document).

use std::io::Write;
use std::time::Duration;

use axum::extract::{Path, RawQuery, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::Json;

use super::containers::q;
use super::error::{ApiError, ApiResult};
use super::params::Query;
use super::state::AppState;
use super::stream::{blocking, stream_body};
use crate::engine::runtime::attach::{self};
use crate::engine::runtime::logs::{self, ReadOptions, Stream};

fn log_time_param(q: &Query, key: &str) -> ApiResult<Option<chrono::DateTime<chrono::Utc>>> {
    match q.get(key).filter(|v| !v.is_empty() && *v != "0") {
        None => Ok(None),
        Some(v) => logs::parse_time_arg(v, chrono::Utc::now())
            .map(Some)
            .map_err(|e| ApiError::bad_request(format!("invalid value for {key}: {e}"))),
    }
}

pub async fn logs(
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

pub async fn stats(
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
