//! `/volumes/...`: list, create, inspect, remove, prune (the local driver).

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use bollard::models::{VolumeCreateRequest, VolumeListResponse, VolumePruneResponse};

use super::error::{ApiError, ApiResult};
use super::params::{check_filter_keys, json_body, Query};
use super::state::AppState;
use super::stream::blocking;
use crate::client::convert;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/volumes", get(list))
        .route("/volumes/create", post(create))
        .route("/volumes/prune", post(prune))
        .route("/volumes/{name}", get(inspect).delete(remove).put(update))
}

async fn list(State(st): State<AppState>, RawQuery(raw): RawQuery) -> ApiResult<Response> {
    let filters = Query::parse(raw.as_deref()).filters()?;
    check_filter_keys(&filters, &["dangling", "name", "label", "driver"])?;
    let vols = blocking(&st.engine, move |e| {
        let mut out = Vec::new();
        for v in e.volume_list()? {
            if crate::cli::volumes::volume_matches(e, &v, &filters)? {
                out.push(convert::volume(&v));
            }
        }
        Ok(out)
    })
    .await?;
    Ok(Json(VolumeListResponse {
        volumes: Some(vols),
        warnings: Some(vec![]),
    })
    .into_response())
}

async fn create(State(st): State<AppState>, body: Bytes) -> ApiResult<Response> {
    let req: VolumeCreateRequest = json_body(&body, "volume create")?;
    if let Some(d) = req
        .driver
        .as_deref()
        .filter(|d| !d.is_empty() && *d != "local")
    {
        return Err(ApiError::bad_request(format!(
            "volume driver {d:?} is not available: berth has the local driver only"
        )));
    }
    if req.cluster_volume_spec.is_some() {
        return Err(ApiError::bad_request(
            "cluster volumes are not supported: berth is not a swarm node",
        ));
    }
    let v = blocking(&st.engine, move |e| {
        let labels = req.labels.unwrap_or_default().into_iter().collect();
        let opts = req.driver_opts.unwrap_or_default().into_iter().collect();
        Ok(e.volume_create(req.name.as_deref().filter(|n| !n.is_empty()), labels, opts)?)
    })
    .await?;
    Ok((StatusCode::CREATED, Json(convert::volume(&v))).into_response())
}

async fn inspect(State(st): State<AppState>, Path(name): Path<String>) -> ApiResult<Response> {
    let v = blocking(&st.engine, move |e| Ok(e.volume_inspect(&name)?)).await?;
    Ok(Json(convert::volume(&v)).into_response())
}

async fn update() -> ApiError {
    ApiError::bad_request(
        "volume update applies to cluster volumes only, which berth does not have",
    )
}

async fn remove(
    State(st): State<AppState>,
    Path(name): Path<String>,
    RawQuery(raw): RawQuery,
) -> ApiResult<Response> {
    let force = Query::parse(raw.as_deref()).flag("force");
    blocking(&st.engine, move |e| Ok(e.volume_remove(&name, force)?)).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn prune(State(st): State<AppState>, RawQuery(raw): RawQuery) -> ApiResult<Response> {
    let filters = Query::parse(raw.as_deref()).filters()?;
    check_filter_keys(&filters, &["all", "label"])?;
    if filters.iter().any(|(k, _)| k == "label") {
        return Err(ApiError::bad_request(
            "volume prune: the label filter is not supported by berth yet",
        ));
    }
    // Docker 23+: anonymous volumes only, unless all=true.
    let all = filters
        .iter()
        .any(|(k, v)| k == "all" && matches!(v.as_str(), "true" | "1"));
    let (names, bytes) = blocking(&st.engine, move |e| Ok(e.volume_prune(all)?)).await?;
    Ok(Json(VolumePruneResponse {
        volumes_deleted: Some(names),
        space_reclaimed: Some(i64::try_from(bytes).unwrap_or(i64::MAX)),
    })
    .into_response())
}
