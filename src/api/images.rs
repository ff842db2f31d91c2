//! `/images/...`: list, inspect, history, tag, delete, save (get), load, import
//! (create with fromSrc), prune, commit; search, push and pull answer that this build
//! has no registry client ([`pull`] is the one place to wire it).

use axum::extract::{Path, RawQuery, Request, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use bollard::models::{ImageHistoryResponseItem, ImagePruneResponse};

use super::error::{ApiError, ApiResult};
use super::params::{check_filter_keys, Query};
use super::state::AppState;
use super::stream::{blocking, stream_body, write_json_line, BodyReader};
use crate::client::convert;
use crate::engine::image::import::ImportOptions;
use crate::engine::image::reference::Reference;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/images/json", get(list))
        .route("/images/create", post(create))
        .route("/images/load", post(load))
        .route("/images/get", get(save_many))
        .route("/images/prune", post(prune))
        .route("/images/search", get(search))
        .route("/commit", post(commit))
        .route(
            "/images/{*rest}",
            get(by_name_get).post(by_name_post).delete(delete),
        )
}

fn q(raw: &Option<String>) -> Query {
    Query::parse(raw.as_deref())
}

/// `reference` plus an optional separate `tag` (Docker's `repo`+`tag` parameters).
fn join_tag(repo: &str, tag: Option<&str>) -> String {
    match tag.filter(|t| !t.is_empty()) {
        Some(t) if t.starts_with("sha256:") => format!("{repo}@{t}"),
        Some(t) => format!("{repo}:{t}"),
        None => repo.to_string(),
    }
}

async fn list(State(st): State<AppState>, RawQuery(raw): RawQuery) -> ApiResult<Response> {
    let q = q(&raw);
    let filters = q.filters()?;
    check_filter_keys(
        &filters,
        &["dangling", "reference", "label", "before", "since"],
    )?;
    let all = q.flag("all");
    let out = blocking(&st.engine, move |e| {
        let list = e.image_list()?;
        let mut before = None;
        let mut since = None;
        for (k, v) in &filters {
            match k.as_str() {
                "before" => before = e.image_get(v)?.created_time(),
                "since" => since = e.image_get(v)?.created_time(),
                _ => {}
            }
        }
        let parents: std::collections::HashSet<&str> =
            list.iter().filter_map(|i| i.parent.as_deref()).collect();
        let mut out = Vec::new();
        for img in &list {
            let dangling = img.tags.is_empty();
            if dangling && !all && parents.contains(img.id.as_str()) {
                continue;
            }
            let mut keep = true;
            for (k, v) in &filters {
                keep &= match k.as_str() {
                    "dangling" => match v.as_str() {
                        "true" | "1" => dangling,
                        "false" | "0" => !dangling,
                        _ => {
                            return Err(ApiError::bad_request(format!(
                                "invalid filter 'dangling={v}': use true or false"
                            )))
                        }
                    },
                    "reference" => img
                        .familiar_tags()
                        .iter()
                        .any(|t| crate::cli::images::reference_matches(v, t)),
                    "label" => {
                        let labels = img
                            .config
                            .config
                            .as_ref()
                            .and_then(|c| c.labels.clone())
                            .unwrap_or_default();
                        match v.split_once('=') {
                            Some((lk, lv)) => labels.get(lk).map(String::as_str) == Some(lv),
                            None => labels.contains_key(v),
                        }
                    }
                    _ => true,
                };
            }
            let created = img.created_time();
            if before.is_some_and(|b| created.is_none_or(|c| c >= b))
                || since.is_some_and(|s| created.is_none_or(|c| c <= s))
            {
                keep = false;
            }
            if keep {
                out.push(convert::image_summary(img));
            }
        }
        out.sort_by_key(|b| std::cmp::Reverse(b.created));
        Ok(out)
    })
    .await?;
    Ok(Json(out).into_response())
}

/// Credentials the docker CLI sends for a pull or push: base64url JSON in
/// `X-Registry-Auth` (an empty or `{}` header means "use what `login` stored").
pub(crate) fn registry_auth(
    headers: &axum::http::HeaderMap,
) -> ApiResult<Option<crate::engine::image::registry::Credentials>> {
    use base64::Engine as _;
    let Some(raw) = headers
        .get("X-Registry-Auth")
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.trim().is_empty())
    else {
        return Ok(None);
    };
    let raw = raw.trim();
    let bytes = base64::engine::general_purpose::URL_SAFE
        .decode(raw)
        .or_else(|_| base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(raw))
        .or_else(|_| base64::engine::general_purpose::STANDARD.decode(raw))
        .map_err(|_| ApiError::bad_request("invalid X-Registry-Auth header: not base64"))?;
    let v: serde_json::Value = serde_json::from_slice(&bytes)
        .map_err(|_| ApiError::bad_request("invalid X-Registry-Auth header: not JSON"))?;
    let user = v["username"].as_str().unwrap_or_default();
    let pass = v["password"].as_str().unwrap_or_default();
    if user.is_empty() && pass.is_empty() {
        return Ok(None);
    }
    Ok(Some(crate::engine::image::registry::Credentials {
        username: user.to_string(),
        password: pass.to_string(),
    }))
}

/// `images/create?fromImage=`: pulls with dockerd's JSON progress stream; an error
/// once the stream has started is its last line (`errorDetail`), as dockerd sends it.
async fn pull(
    st: &AppState,
    reference: String,
    platform: Option<String>,
    credentials: Option<crate::engine::image::registry::Credentials>,
) -> ApiResult<Response> {
    let opts = crate::engine::image::registry::PullOptions {
        platform,
        all_tags: false,
        credentials,
    };
    let body = stream_body(&st.engine, move |e, w| {
        let mut progress = |info: &bollard::models::CreateImageInfo| {
            let _ = write_json_line(w, info);
            let _ = std::io::Write::flush(w);
        };
        if let Err(err) = e.image_pull(&reference, &opts, &mut progress) {
            let msg = err.to_string();
            let _ = write_json_line(
                w,
                &serde_json::json!({"errorDetail": {"message": msg}, "error": msg}),
            );
        }
        Ok(())
    });
    Ok(([(header::CONTENT_TYPE, "application/json")], body).into_response())
}

async fn create(
    State(st): State<AppState>,
    RawQuery(raw): RawQuery,
    req: Request,
) -> ApiResult<Response> {
    let q = q(&raw);
    if let Some(image) = q.get("fromImage").filter(|i| !i.is_empty()) {
        let reference = join_tag(image, q.get("tag"));
        let platform = q
            .get("platform")
            .filter(|p| !p.is_empty())
            .map(str::to_string);
        let credentials = registry_auth(req.headers())?;
        return pull(&st, reference, platform, credentials).await;
    }
    let Some(src) = q.get("fromSrc").filter(|s| !s.is_empty()) else {
        return Err(ApiError::bad_request(
            "images/create needs fromImage (pull) or fromSrc (import)",
        ));
    };
    if src != "-" {
        return Err(ApiError::bad_request(format!(
            "importing from a URL ({src}) is not supported: send the tar as the request body with fromSrc=-"
        )));
    }
    let tag = match q.get("repo").filter(|r| !r.is_empty()) {
        Some(repo) => Some(
            Reference::parse(&join_tag(repo, q.get("tag")))
                .map_err(|e| ApiError::bad_request(e.to_string()))?,
        ),
        None => None,
    };
    let platform_arch = match q.get("platform").filter(|p| !p.is_empty()) {
        None => None,
        Some(p) => match p.split_once('/') {
            Some(("linux", arch)) if !arch.is_empty() => Some(arch.to_string()),
            _ => {
                return Err(ApiError::bad_request(format!(
                    "invalid platform {p:?}: expected linux/<arch>"
                )))
            }
        },
    };
    let opts = ImportOptions {
        changes: q.all("changes"),
        message: q
            .get("message")
            .filter(|m| !m.is_empty())
            .map(str::to_string),
        source: "-".into(),
        tag,
        platform_arch,
    };
    let reader = BodyReader::new(req.into_body());
    let id = blocking(&st.engine, move |e| Ok(e.image_import(reader, &opts)?)).await?;
    let line = serde_json::json!({ "status": id });
    Ok((
        [(header::CONTENT_TYPE, "application/json")],
        format!("{line}\n"),
    )
        .into_response())
}

async fn load(
    State(st): State<AppState>,
    RawQuery(raw): RawQuery,
    req: Request,
) -> ApiResult<Response> {
    let _quiet = q(&raw).flag("quiet");
    let reader = BodyReader::new(req.into_body());
    let report = blocking(&st.engine, move |e| Ok(e.image_load(reader)?)).await?;
    let mut out = Vec::new();
    let mut line = |text: String| {
        let _ = write_json_line(&mut out, &serde_json::json!({ "stream": text }));
    };
    for (tag, old) in &report.retagged {
        line(format!(
            "The image {tag} already exists, renaming the old one with ID {old} to empty string\n"
        ));
    }
    for (id, tags) in &report.images {
        if tags.is_empty() {
            line(format!("Loaded image ID: {id}\n"));
        }
        for t in tags {
            line(format!("Loaded image: {t}\n"));
        }
    }
    Ok(([(header::CONTENT_TYPE, "application/json")], out).into_response())
}

/// `save`: resolves every name first (404 before any byte), then streams the archive.
async fn save(st: &AppState, names: Vec<String>) -> ApiResult<Response> {
    if names.is_empty() {
        return Err(ApiError::bad_request("save: no image names given"));
    }
    let check = names.clone();
    blocking(&st.engine, move |e| {
        for n in &check {
            e.image_get(n)?;
        }
        Ok(())
    })
    .await?;
    let body = stream_body(&st.engine, move |e, w| {
        e.image_save(&names, w)?;
        Ok(())
    });
    Ok(([(header::CONTENT_TYPE, "application/x-tar")], body).into_response())
}

async fn save_many(State(st): State<AppState>, RawQuery(raw): RawQuery) -> ApiResult<Response> {
    save(&st, q(&raw).all("names")).await
}

async fn prune(State(st): State<AppState>, RawQuery(raw): RawQuery) -> ApiResult<Response> {
    let filters = q(&raw).filters()?;
    check_filter_keys(&filters, &["dangling"])?;
    // dangling=false: every unused image, as `image prune -a`.
    let all = filters
        .iter()
        .any(|(k, v)| k == "dangling" && matches!(v.as_str(), "false" | "0"));
    let (records, bytes) = blocking(&st.engine, move |e| Ok(e.image_prune(all)?)).await?;
    Ok(Json(ImagePruneResponse {
        images_deleted: Some(convert::delete_items(&records)),
        space_reclaimed: Some(i64::try_from(bytes).unwrap_or(i64::MAX)),
    })
    .into_response())
}

async fn search() -> ApiError {
    ApiError::not_implemented(
        "search is not available in this build: berth has no registry client yet",
    )
}

pub async fn build() -> ApiError {
    ApiError::not_implemented(
        "berth has no image builder: build images elsewhere and `docker load` them",
    )
}

async fn commit(
    State(st): State<AppState>,
    RawQuery(raw): RawQuery,
    body: axum::body::Bytes,
) -> ApiResult<Response> {
    let q = q(&raw);
    let container = q
        .get("container")
        .filter(|c| !c.is_empty())
        .ok_or_else(|| ApiError::bad_request("commit: the container parameter is required"))?
        .to_string();
    let reference = match q.get("repo").filter(|r| !r.is_empty()) {
        Some(repo) => Some(
            Reference::parse(&join_tag(repo, q.get("tag")))
                .map_err(|e| ApiError::bad_request(e.to_string()))?,
        ),
        None => None,
    };
    // A config in the body: what `commit -c` changes would set; berth takes changes.
    let cfg: Option<bollard::models::ContainerConfig> =
        if body.iter().all(u8::is_ascii_whitespace) || body.as_ref() == b"null" {
            None
        } else {
            Some(super::params::json_body(&body, "commit")?)
        };
    if cfg.as_ref().is_some_and(|c| c != &Default::default()) {
        return Err(ApiError::bad_request(
            "commit: a container config in the body is not supported; use the changes parameter (Dockerfile instructions)",
        ));
    }
    let opts = crate::engine::runtime::fsops::CommitOptions {
        reference,
        author: q
            .get("author")
            .filter(|a| !a.is_empty())
            .map(str::to_string),
        message: q
            .get("comment")
            .filter(|m| !m.is_empty())
            .map(str::to_string),
        changes: q.all("changes"),
        pause: q.flag_or("pause", true),
    };
    let id = blocking(&st.engine, move |e| {
        Ok(e.container_commit(&container, &opts)?)
    })
    .await?;
    Ok((StatusCode::CREATED, Json(serde_json::json!({ "Id": id }))).into_response())
}

/// Image names contain slashes, so `/images/{name}/json` etc. are split here.
fn split_action(rest: &str) -> (&str, &str) {
    for action in ["json", "history", "get", "tag", "push"] {
        if let Some(name) = rest.strip_suffix(action).and_then(|r| r.strip_suffix('/')) {
            return (name, action);
        }
    }
    (rest, "")
}

async fn by_name_get(State(st): State<AppState>, Path(rest): Path<String>) -> ApiResult<Response> {
    let (name, action) = split_action(&rest);
    let name = name.to_string();
    match action {
        "json" => {
            let v = blocking(&st.engine, move |e| {
                serde_json::to_value(e.image_inspect(&name)?)
                    .map_err(|err| ApiError::internal(format!("encoding inspect: {err}")))
            })
            .await?;
            Ok(Json(v).into_response())
        }
        "history" => {
            let rows = blocking(&st.engine, move |e| Ok(e.image_history(&name)?)).await?;
            let out: Vec<ImageHistoryResponseItem> = rows
                .iter()
                .map(|r| ImageHistoryResponseItem {
                    id: r.id.clone(),
                    created: crate::cli::units::parse_time(&r.created)
                        .map(|t| t.timestamp())
                        .unwrap_or(0),
                    created_by: r.created_by.clone(),
                    tags: r.tags.clone(),
                    size: i64::try_from(r.size).unwrap_or(i64::MAX),
                    comment: r.comment.clone(),
                })
                .collect();
            Ok(Json(out).into_response())
        }
        "get" => save(&st, vec![name]).await,
        _ => Err(ApiError::not_found(format!(
            "page not found: GET /images/{rest}"
        ))),
    }
}

async fn by_name_post(
    State(st): State<AppState>,
    Path(rest): Path<String>,
    RawQuery(raw): RawQuery,
    headers: axum::http::HeaderMap,
) -> ApiResult<Response> {
    let (name, action) = split_action(&rest);
    let name = name.to_string();
    let q = q(&raw);
    match action {
        "tag" => {
            let repo = q
                .get("repo")
                .filter(|r| !r.is_empty())
                .ok_or_else(|| ApiError::bad_request("tag: the repo parameter is required"))?;
            let target = join_tag(repo, q.get("tag"));
            blocking(&st.engine, move |e| Ok(e.image_tag(&name, &target)?)).await?;
            Ok(StatusCode::CREATED.into_response())
        }
        "push" => {
            // `docker push repo` sends no tag and means every tag of the repository.
            let tag = q.get("tag").filter(|t| !t.is_empty());
            let opts = crate::engine::image::registry::PushOptions {
                all_tags: tag.is_none(),
                credentials: registry_auth(&headers)?,
            };
            let reference = match tag {
                Some(t) => join_tag(&name, Some(t)),
                None => name,
            };
            let body = stream_body(&st.engine, move |e, w| {
                let mut progress = |info: &bollard::models::PushImageInfo| {
                    let _ = write_json_line(w, info);
                    let _ = std::io::Write::flush(w);
                };
                if let Err(err) = e.image_push(&reference, &opts, &mut progress) {
                    let msg = err.to_string();
                    let _ = write_json_line(
                        w,
                        &serde_json::json!({"errorDetail": {"message": msg}, "error": msg}),
                    );
                }
                Ok(())
            });
            Ok(([(header::CONTENT_TYPE, "application/json")], body).into_response())
        }
        _ => Err(ApiError::not_found(format!(
            "page not found: POST /images/{rest}"
        ))),
    }
}

async fn delete(
    State(st): State<AppState>,
    Path(name): Path<String>,
    RawQuery(raw): RawQuery,
) -> ApiResult<Response> {
    let force = q(&raw).flag("force");
    let records = blocking(&st.engine, move |e| Ok(e.image_remove(&name, force)?)).await?;
    Ok(Json(convert::delete_items(&records)).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_with_slashes_split_from_actions() {
        assert_eq!(
            split_action("library/busybox:1/json"),
            ("library/busybox:1", "json")
        );
        assert_eq!(split_action("busybox/tag"), ("busybox", "tag"));
        assert_eq!(split_action("a/b/c"), ("a/b/c", ""));
        assert_eq!(join_tag("a", Some("1")), "a:1");
        assert_eq!(join_tag("a", None), "a");
    }
}
