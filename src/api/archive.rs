//! `HEAD/GET/PUT /containers/{id}/archive`: what `docker cp` uses. The path's stat
//! travels base64-encoded in `X-Docker-Container-Path-Stat`.

use axum::extract::{Path, RawQuery, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use super::containers::q;
use super::error::{ApiError, ApiResult};
use super::params::Query;
use super::state::AppState;
use super::stream::{blocking, stream_body, BodyReader};

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

pub async fn head(
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

pub async fn get(
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

pub async fn put(
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
