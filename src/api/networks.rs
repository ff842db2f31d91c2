//! `/networks/...`: list, create, inspect, remove, prune, connect and disconnect, over
//! the engine's networks (built-in bridge/host/none and user-defined bridge networks).

use std::collections::BTreeMap;

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use bollard::models::{NetworkConnectRequest, NetworkCreateRequest, NetworkDisconnectRequest};
use serde_json::{json, Value};

use super::error::{ApiError, ApiResult};
use super::params::{check_filter_keys, json_body, Query};
use super::state::AppState;
use super::stream::blocking;
use crate::engine::network::CreateOptions;

const FILTERS: &[&str] = &["name", "id", "driver", "type", "scope", "label", "dangling"];

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/networks", get(list))
        .route("/networks/create", post(create))
        .route("/networks/prune", post(prune))
        .route("/networks/{id}", get(inspect).delete(remove))
        .route("/networks/{id}/connect", post(connect))
        .route("/networks/{id}/disconnect", post(disconnect))
}

async fn list(State(st): State<AppState>, RawQuery(raw): RawQuery) -> ApiResult<Response> {
    let filters = Query::parse(raw.as_deref()).filters()?;
    check_filter_keys(&filters, FILTERS)?;
    let out = blocking(&st.engine, move |e| {
        let mut out: Vec<Value> = Vec::new();
        for n in e.network_list()? {
            if crate::cli::networks::network_matches(e, &n, &filters)? {
                out.push(e.network_inspect(&n.id)?);
            }
        }
        Ok(out)
    })
    .await?;
    Ok(Json(out).into_response())
}

async fn inspect(State(st): State<AppState>, Path(id): Path<String>) -> ApiResult<Response> {
    let v = blocking(&st.engine, move |e| Ok(e.network_inspect(&id)?)).await?;
    Ok(Json(v).into_response())
}

async fn create(State(st): State<AppState>, body: Bytes) -> ApiResult<Response> {
    let req: NetworkCreateRequest = json_body(&body, "network create")?;
    if req.enable_ipv6 == Some(true) {
        return Err(ApiError::bad_request(
            "IPv6 networks are not supported by this build of berth",
        ));
    }
    if req.ingress == Some(true)
        || req
            .scope
            .as_deref()
            .is_some_and(|s| !s.is_empty() && s != "local")
    {
        return Err(ApiError::bad_request(
            "only local-scope networks are supported: berth is not a swarm node",
        ));
    }
    let configs = req
        .ipam
        .as_ref()
        .and_then(|i| i.config.clone())
        .unwrap_or_default();
    if configs.len() > 1 {
        return Err(ApiError::bad_request(
            "berth networks have one IPv4 subnet: give one IPAM config",
        ));
    }
    let ipam = configs.into_iter().next().unwrap_or_default();
    let opts = CreateOptions {
        name: req.name.clone(),
        driver: req.driver.clone().filter(|d| !d.is_empty()),
        subnet: ipam.subnet.filter(|s| !s.is_empty()),
        gateway: ipam.gateway.filter(|s| !s.is_empty()),
        ip_range: ipam.ip_range.filter(|s| !s.is_empty()),
        internal: req.internal.unwrap_or(false),
        attachable: req.attachable.unwrap_or(false),
        labels: req
            .labels
            .clone()
            .unwrap_or_default()
            .into_iter()
            .collect::<BTreeMap<_, _>>(),
        options: req
            .options
            .clone()
            .unwrap_or_default()
            .into_iter()
            .collect::<BTreeMap<_, _>>(),
    };
    let n = blocking(&st.engine, move |e| Ok(e.network_create(opts)?)).await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({"Id": n.id, "Warning": ""})),
    )
        .into_response())
}

async fn remove(State(st): State<AppState>, Path(id): Path<String>) -> ApiResult<Response> {
    blocking(&st.engine, move |e| Ok(e.network_remove(&id)?)).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn prune(State(st): State<AppState>, RawQuery(raw): RawQuery) -> ApiResult<Response> {
    let filters = Query::parse(raw.as_deref()).filters()?;
    if !filters.is_empty() {
        return Err(ApiError::bad_request(
            "network prune filters are not supported by this build of berth",
        ));
    }
    let names = blocking(&st.engine, |e| Ok(e.network_prune()?)).await?;
    Ok(Json(json!({"NetworksDeleted": names})).into_response())
}

async fn connect(
    State(st): State<AppState>,
    Path(id): Path<String>,
    body: Bytes,
) -> ApiResult<Response> {
    let req: NetworkConnectRequest = json_body(&body, "network connect")?;
    blocking(&st.engine, move |e| {
        Ok(e.network_connect(&id, &req.container, req.endpoint_config.as_ref())?)
    })
    .await?;
    Ok(StatusCode::OK.into_response())
}

async fn disconnect(
    State(st): State<AppState>,
    Path(id): Path<String>,
    body: Bytes,
) -> ApiResult<Response> {
    let req: NetworkDisconnectRequest = json_body(&body, "network disconnect")?;
    let force = req.force.unwrap_or(false);
    let container = req.container;
    blocking(&st.engine, move |e| {
        Ok(e.network_disconnect(&id, &container, force)?)
    })
    .await?;
    Ok(StatusCode::OK.into_response())
}
