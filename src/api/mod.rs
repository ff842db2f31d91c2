//! `berth serve`: berth's engine as a Docker Engine API on a unix socket, so the docker
//! CLI, bollard and docker-py drive it.
//!
//! axum routes requests over hyper 1 (HTTP/1.1 with upgrades for the hijacked attach and
//! exec streams). The engine is synchronous, so handlers run it on tokio's blocking pool
//! ([`stream::blocking`]); long streams (logs, events, stats, archives) get a blocking
//! writer feeding the response body. Request and response shapes are bollard's models.

mod archive;
mod containers;
mod error;
mod exec;
mod hijack;
mod images;
mod logs_stats;
mod networks;
mod params;
mod state;
mod stream;
mod system;
pub mod tls;
mod volumes;
mod wait;

use std::sync::Arc;

use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;

pub use error::{ApiError, ApiResult};
pub use state::AppState;

/// The newest API version berth speaks (what `_ping` and `version` advertise).
pub const API_VERSION: &str = "1.51";
/// The oldest API version berth accepts, like dockerd.
pub const MIN_API_VERSION: &str = "1.24";
/// Largest JSON request body (create, update, exec...); bigger ones get a 413.
pub const MAX_JSON_BODY: usize = 1 << 20;

/// The API version a request asked for in its `/v1.NN/` prefix (None: unversioned).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct ApiVersion(pub u32, pub u32);

impl ApiVersion {
    fn parse(s: &str) -> Option<ApiVersion> {
        let (a, b) = s.split_once('.')?;
        Some(ApiVersion(a.parse().ok()?, b.parse().ok()?))
    }
}

/// Splits `/v1.45/containers/json` into the version and `/containers/json`.
fn split_version(path: &str) -> (Option<&str>, &str) {
    if let Some(rest) = path.strip_prefix("/v") {
        let (ver, tail) = match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, "/"),
        };
        if ver.contains('.') && ver.chars().all(|c| c.is_ascii_digit() || c == '.') {
            return (Some(ver), tail);
        }
    }
    (None, path)
}

/// Before routing: strips the version prefix and remembers the version asked for.
fn rewrite_version(mut req: Request) -> Request {
    let uri = req.uri().clone();
    let (ver, tail) = split_version(uri.path());
    let Some(ver) = ver else {
        return req;
    };
    req.extensions_mut()
        .insert(RequestedVersion(ver.to_string()));
    let new = match uri.query() {
        Some(q) => format!("{tail}?{q}"),
        None => tail.to_string(),
    };
    if let Ok(u) = new.parse() {
        *req.uri_mut() = u;
    }
    req
}

#[derive(Debug, Clone)]
struct RequestedVersion(String);

/// Refuses versions older than [`MIN_API_VERSION`] (and nonsense), and puts dockerd's
/// headers on every response.
async fn version_and_headers(req: Request, next: Next) -> Response {
    let asked = req.extensions().get::<RequestedVersion>().cloned();
    let resp = match asked {
        Some(RequestedVersion(v)) => match ApiVersion::parse(&v) {
            None => ApiError::bad_request(format!("invalid API version {v:?}")).into_response(),
            Some(parsed) if parsed < ApiVersion(1, 24) => ApiError::bad_request(format!(
                "client version {v} is too old. Minimum supported API version is {MIN_API_VERSION}, please upgrade your client to a newer version"
            ))
            .into_response(),
            Some(parsed) if parsed > ApiVersion(1, 51) => ApiError::bad_request(format!(
                "client version {v} is too new. Maximum supported API version is {API_VERSION}"
            ))
            .into_response(),
            Some(_) => next.run(req).await,
        },
        None => next.run(req).await,
    };
    let mut resp = docker_error_body(resp).await;
    let h = resp.headers_mut();
    h.insert("Api-Version", HeaderValue::from_static(API_VERSION));
    h.insert("Docker-Experimental", HeaderValue::from_static("false"));
    h.insert("Ostype", HeaderValue::from_static("linux"));
    h.insert(
        "Server",
        HeaderValue::from_static(concat!("berth/", env!("CARGO_PKG_VERSION"), " (linux)")),
    );
    resp
}

/// Errors raised by axum itself (a body over the limit, an unreadable body) are plain
/// text: give them Docker's JSON shape so every client can show the message.
async fn docker_error_body(resp: Response) -> Response {
    let is_error = resp.status().is_client_error() || resp.status().is_server_error();
    let is_text = resp
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"text/plain"));
    if !is_error || !is_text {
        return resp;
    }
    let status = resp.status();
    let text = match axum::body::to_bytes(resp.into_body(), 64 * 1024).await {
        Ok(b) => String::from_utf8_lossy(&b).trim().to_string(),
        Err(_) => String::new(),
    };
    let message = if status == StatusCode::PAYLOAD_TOO_LARGE {
        format!("request body too large: the limit for JSON requests is {MAX_JSON_BODY} bytes")
    } else if text.is_empty() {
        status.to_string()
    } else {
        text
    };
    ApiError::new(status, message).into_response()
}

async fn fallback(req: Request) -> Response {
    ApiError::new(
        StatusCode::NOT_FOUND,
        format!(
            "page not found: berth does not serve {} {}",
            req.method(),
            req.uri().path()
        ),
    )
    .into_response()
}

/// The API's routes (paths without the version prefix).
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/_ping", get(system::ping).head(system::ping))
        .route("/version", get(system::version))
        .route("/info", get(system::info))
        .route("/events", get(system::events))
        .route("/system/df", get(system::df))
        .merge(containers::routes())
        .merge(exec::routes())
        .merge(images::routes())
        .merge(volumes::routes())
        .merge(networks::routes())
        .route("/session", post(system::no_session))
        .route("/build", post(images::build))
        .fallback(fallback)
        .layer(axum::extract::DefaultBodyLimit::max(MAX_JSON_BODY))
        .layer(axum::middleware::from_fn(version_and_headers))
        .with_state(state)
}

/// Serves the API on `listener` (a unix socket, or TCP with TLS) until the process is
/// stopped.
pub async fn serve<L>(engine: Arc<crate::engine::Engine>, listener: L)
where
    L: axum::serve::Listener,
    L::Addr: std::fmt::Debug,
{
    use tower::Layer;
    let app = router(AppState::new(engine));
    let app =
        axum::middleware::map_request(|r: Request| async move { rewrite_version(r) }).layer(app);
    let make = axum::ServiceExt::<Request>::into_make_service(app);
    // Errors accepting one connection are logged by axum and do not stop the server.
    let _ = axum::serve(listener, make).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_prefixes() {
        assert_eq!(
            split_version("/v1.45/containers/json"),
            (Some("1.45"), "/containers/json")
        );
        assert_eq!(split_version("/_ping"), (None, "/_ping"));
        assert_eq!(split_version("/volumes"), (None, "/volumes"));
        assert_eq!(split_version("/v1.24"), (Some("1.24"), "/"));
        assert!(ApiVersion::parse("1.9").unwrap() < ApiVersion(1, 24));
        assert!(ApiVersion::parse("1.50").unwrap() > ApiVersion(1, 24));
    }
}
