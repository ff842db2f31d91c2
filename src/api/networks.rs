//! `/networks/...`: the networks the engine has today, `none` and `host` (containers
//! use `--network none|host`). [`builtin`] is the one place that lists them; bridge
//! networks replace it when the engine grows them.

use std::collections::HashMap;

use axum::extract::{Path, RawQuery};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use bollard::models::{Ipam, NetworkInspect as Network};

use super::error::{ApiError, ApiResult};
use super::params::{check_filter_keys, Query};
use super::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/networks", get(list))
        .route("/networks/create", post(unsupported))
        .route("/networks/prune", post(unsupported))
        .route("/networks/{id}", get(inspect).delete(unsupported))
        .route("/networks/{id}/connect", post(unsupported))
        .route("/networks/{id}/disconnect", post(unsupported))
}

/// The engine's networks: fixed ids so clients can refer to them by id prefix too.
fn builtin() -> Vec<Network> {
    [
        (
            "host",
            "host",
            "1a7e5f0d3c2b4a69887766554433221100ffeeddccbbaa998877665544332211",
        ),
        (
            "none",
            "null",
            "2b8f6e1e4d3c5b7a998877665544332211ffeeddccbbaa99887766554433221100",
        ),
    ]
    .into_iter()
    .map(|(name, driver, id)| Network {
        name: Some(name.into()),
        id: Some(id[..64].to_string()),
        created: Some("0001-01-01T00:00:00Z".into()),
        scope: Some("local".into()),
        driver: Some(driver.into()),
        enable_ipv4: Some(false),
        enable_ipv6: Some(false),
        ipam: Some(Ipam {
            driver: Some("default".into()),
            config: Some(vec![]),
            options: None,
        }),
        internal: Some(false),
        attachable: Some(false),
        ingress: Some(false),
        config_only: Some(false),
        containers: Some(HashMap::new()),
        options: Some(HashMap::new()),
        labels: Some(HashMap::new()),
        ..Default::default()
    })
    .collect()
}

fn find(id: &str) -> ApiResult<Network> {
    builtin()
        .into_iter()
        .find(|n| {
            n.name.as_deref() == Some(id)
                || (!id.is_empty() && n.id.as_deref().is_some_and(|i| i.starts_with(id)))
        })
        .ok_or_else(|| ApiError::not_found(format!("network {id} not found")))
}

async fn list(RawQuery(raw): RawQuery) -> ApiResult<Response> {
    let filters = Query::parse(raw.as_deref()).filters()?;
    check_filter_keys(
        &filters,
        &["name", "id", "driver", "type", "scope", "label", "dangling"],
    )?;
    let out: Vec<Network> = builtin()
        .into_iter()
        .filter(|n| {
            filters.iter().all(|(k, v)| match k.as_str() {
                "name" => n.name.as_deref().is_some_and(|x| x.contains(v.as_str())),
                "id" => n.id.as_deref().is_some_and(|x| x.starts_with(v.as_str())),
                "driver" => n.driver.as_deref() == Some(v.as_str()),
                "type" => v == "builtin",
                "scope" => v == "local",
                _ => false,
            })
        })
        .collect();
    Ok(Json(out).into_response())
}

async fn inspect(Path(id): Path<String>) -> ApiResult<Response> {
    Ok(Json(find(&id)?).into_response())
}

async fn unsupported() -> ApiError {
    ApiError::not_implemented(
        "user-defined networks are not available yet: berth has the built-in host and none networks",
    )
}
