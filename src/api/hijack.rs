//! Hijacked streams (`POST /containers/{id}/attach`, `POST /exec/{id}/start`): the HTTP
//! connection is upgraded (`Upgrade: tcp`, 101) and becomes a raw byte stream, relayed
//! to the container's monitor (or exec helper) over berth's attach protocol. Output
//! frames use Docker's stdcopy stream ids, so without a TTY they pass through as they
//! are; with a TTY only their payload goes out.

use axum::extract::{Path, RawQuery, Request, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use hyper::upgrade::OnUpgrade;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::error::{ApiError, ApiResult};
use super::params::Query;
use super::state::AppState;
use super::stream::blocking;
use crate::engine::runtime::attach::{self, AttachClient};

/// What a hijacked stream carries.
#[derive(Debug, Clone)]
pub struct RelayOpts {
    pub tty: bool,
    pub stdin: bool,
    pub stdout: bool,
    pub stderr: bool,
    /// With a TTY and stdin: this sequence typed by the client detaches it.
    pub detach_keys: Vec<u8>,
}

/// The upgrade handle of a request that asked for one.
pub fn take_upgrade(req: &mut Request) -> ApiResult<OnUpgrade> {
    let wants = req
        .headers()
        .get(header::UPGRADE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("tcp"));
    match req.extensions_mut().remove::<OnUpgrade>() {
        Some(u) if wants => Ok(u),
        _ => Err(ApiError::bad_request(
            "this endpoint streams over a hijacked connection: send `Connection: Upgrade` and `Upgrade: tcp`",
        )),
    }
}

/// The 101 response that hands the connection over.
pub fn switching(tty: bool) -> Response {
    let ctype = if tty {
        "application/vnd.docker.raw-stream"
    } else {
        "application/vnd.docker.multiplexed-stream"
    };
    (
        StatusCode::SWITCHING_PROTOCOLS,
        [
            (header::CONNECTION, "Upgrade"),
            (header::UPGRADE, "tcp"),
            (header::CONTENT_TYPE, ctype),
        ],
    )
        .into_response()
}

/// Relays between the upgraded connection and the monitor until the process exits (its
/// code), the monitor hangs up, the client detaches or goes away (None).
/// `at_end` gets the exit code (None when the stream ended without one) before the
/// client's connection is closed: a client reads the EOF as "exited" and asks for the
/// code at once (docker's exec inspect), so it must be recorded by then.
pub async fn relay(
    upgrade: OnUpgrade,
    client: AttachClient,
    o: RelayOpts,
    at_end: impl FnOnce(Option<i64>),
) -> Option<i64> {
    let mut at_end = Some(at_end);
    let code = relay_streams(upgrade, client, o, &mut at_end).await;
    // Streams that never got going end here.
    if let Some(f) = at_end.take() {
        f(code);
    }
    code
}

async fn relay_streams<F: FnOnce(Option<i64>)>(
    upgrade: OnUpgrade,
    client: AttachClient,
    o: RelayOpts,
    at_end: &mut Option<F>,
) -> Option<i64> {
    let upgraded = upgrade.await.ok()?;
    // Clients such as docker-py parse the 101 headers with a buffered reader and then
    // read the raw socket: stream bytes that arrive together with the headers would land
    // in that buffer and be lost. So the first bytes wait until the headers have had a
    // moment to go out on their own; an exit with no output is not held back.
    let first_write_at = tokio::time::Instant::now() + std::time::Duration::from_millis(20);
    let sock = client.into_stream();
    sock.set_nonblocking(true).ok()?;
    let sock = tokio::net::UnixStream::from_std(sock).ok()?;
    let (mut mr, mut mw) = sock.into_split();
    let (mut cr, mut cw) = tokio::io::split(TokioIo::new(upgraded));

    // Client → monitor. Ends (true) when the client detached or the connection broke;
    // at a clean end of its input it stays pending, as output may still come.
    let input = async {
        let mut buf = vec![0u8; 32 * 1024];
        let mut matched = 0usize;
        loop {
            let n = match cr.read(&mut buf).await {
                Ok(0) => {
                    if o.stdin {
                        let _ = mw
                            .write_all(&attach::encode(attach::CLOSE_STDIN, &[]))
                            .await;
                    }
                    return futures::future::pending::<()>().await;
                }
                Ok(n) => n,
                Err(_) => return,
            };
            if !o.stdin {
                continue;
            }
            let data = &buf[..n];
            if o.tty && !o.detach_keys.is_empty() {
                for &b in data {
                    if b == o.detach_keys[matched] {
                        matched += 1;
                        if matched == o.detach_keys.len() {
                            return;
                        }
                    } else {
                        matched = usize::from(b == o.detach_keys[0]);
                    }
                }
            }
            if mw
                .write_all(&attach::encode(attach::STDIN, data))
                .await
                .is_err()
            {
                return;
            }
        }
    };

    // Monitor → client: output frames until the exit frame.
    let output = async {
        let mut header = [0u8; 8];
        let mut wrote = false;
        loop {
            if mr.read_exact(&mut header).await.is_err() {
                return None;
            }
            let len = u32::from_be_bytes([header[4], header[5], header[6], header[7]]) as usize;
            let mut payload = vec![0u8; len.min(1 << 20)];
            if len > payload.len() || mr.read_exact(&mut payload).await.is_err() {
                return None;
            }
            let wanted = match header[0] {
                attach::STDOUT => o.stdout,
                attach::STDERR => o.stderr,
                attach::EXIT => {
                    return Some(
                        String::from_utf8_lossy(&payload)
                            .trim()
                            .parse()
                            .unwrap_or(0),
                    );
                }
                _ => false,
            };
            if !wanted {
                continue;
            }
            if !wrote {
                tokio::time::sleep_until(first_write_at).await;
                wrote = true;
            }
            let r = if o.tty {
                cw.write_all(&payload).await
            } else {
                let mut frame = header.to_vec();
                frame.extend_from_slice(&payload);
                cw.write_all(&frame).await
            };
            if r.is_err() || cw.flush().await.is_err() {
                return None;
            }
        }
    };

    let code = tokio::select! {
        code = output => code,
        () = input => None,
    };
    if let Some(f) = at_end.take() {
        f(code);
    }
    let _ = cw.shutdown().await;
    code
}

/// Writes an error message into a hijacked stream (after the 101 there is no status).
pub async fn relay_error(upgrade: OnUpgrade, tty: bool, message: String) {
    let Ok(upgraded) = upgrade.await else {
        return;
    };
    let mut io = TokioIo::new(upgraded);
    let mut text = message.into_bytes();
    text.push(b'\n');
    let data = if tty {
        text
    } else {
        attach::encode(attach::STDERR, &text)
    };
    let _ = io.write_all(&data).await;
    let _ = io.shutdown().await;
}

fn detach_keys(q: &Query) -> ApiResult<Vec<u8>> {
    let spec = q
        .get("detachKeys")
        .filter(|k| !k.is_empty())
        .unwrap_or(crate::cli::attach::DEFAULT_DETACH_KEYS);
    crate::cli::attach::parse_detach_keys(spec)
        .map_err(|e| ApiError::bad_request(format!("invalid detach keys {spec:?}: {e}")))
}

pub async fn attach(
    State(st): State<AppState>,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
    mut req: Request,
) -> ApiResult<Response> {
    let q = Query::parse(raw.as_deref());
    if !q.flag("stream") && q.flag("logs") {
        return Err(ApiError::bad_request(
            "attach with logs only is not supported: use GET /containers/{id}/logs",
        ));
    }
    let keys = detach_keys(&q)?;
    let upgrade = take_upgrade(&mut req)?;
    let rec = blocking(&st.engine, move |e| Ok(e.container_get(&id)?)).await?;
    let (client, pending) = if rec.state.running {
        (AttachClient::connect(&rec.id)?, None)
    } else {
        // Not started yet (`run`, `start -a`): the next start hands the monitor this pair's
        // other end, so no output is missed.
        let (client, fd) = AttachClient::pair()?;
        (client, Some(st.set_pending_attach(&rec.id, fd)))
    };
    let opts = RelayOpts {
        tty: rec.config.config.tty.unwrap_or(false),
        stdin: q.flag("stdin") && rec.config.config.open_stdin.unwrap_or(false),
        stdout: q.flag("stdout"),
        stderr: q.flag("stderr"),
        detach_keys: keys,
    };
    let tty = opts.tty;
    let id = rec.id.clone();
    tokio::spawn(async move {
        match relay(upgrade, client, opts, |_| {}).await {
            Some(code) => st.exited(&id, code),
            None => {
                if let Some(token) = pending {
                    st.drop_pending_attach(&id, token);
                }
            }
        }
    });
    Ok(switching(tty))
}

pub async fn no_websocket() -> ApiError {
    ApiError::not_implemented(
        "attach over websocket is not supported by berth: use POST /containers/{id}/attach",
    )
}
