//! `_ping`, `version`, `info`, `events` and `system/df`.

use std::collections::HashMap;

use axum::extract::{RawQuery, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use bollard::models::{
    PluginsInfo, SystemInfo, SystemVersion, SystemVersionComponents, SystemVersionPlatform,
};

use super::error::{ApiError, ApiResult};
use super::params::{check_filter_keys, Query};
use super::state::AppState;
use super::stream::{blocking, stream_body, write_json_line};
use super::{API_VERSION, MIN_API_VERSION};
use crate::client::convert;
use crate::engine::Engine;

/// How often an events follower looks for new rows (other processes append to the log
/// with no wake-up to wait on).
const EVENTS_POLL: std::time::Duration = std::time::Duration::from_millis(200);

pub async fn ping() -> Response {
    let mut r = "OK".into_response();
    let h = r.headers_mut();
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("no-cache, no-store, must-revalidate"),
    );
    h.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    h.insert("Builder-Version", HeaderValue::from_static("1"));
    r
}

fn kernel_version() -> String {
    nix::sys::utsname::uname()
        .map(|u| u.release().to_string_lossy().into_owned())
        .unwrap_or_default()
}

fn arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        other => other,
    }
}

pub async fn version() -> Json<SystemVersion> {
    let v = env!("CARGO_PKG_VERSION").to_string();
    let details: HashMap<String, String> = [
        ("ApiVersion", API_VERSION),
        ("MinAPIVersion", MIN_API_VERSION),
        ("Os", "linux"),
        ("Arch", arch()),
        ("GitCommit", "berth"),
        ("GoVersion", "none (berth is written in Rust)"),
        ("Experimental", "false"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    Json(SystemVersion {
        platform: Some(SystemVersionPlatform {
            name: "berth".into(),
        }),
        components: Some(vec![SystemVersionComponents {
            name: "Engine".into(),
            version: v.clone(),
            details: Some(details),
        }]),
        version: Some(v),
        api_version: Some(API_VERSION.into()),
        min_api_version: Some(MIN_API_VERSION.into()),
        git_commit: Some("berth".into()),
        go_version: Some("none (berth is written in Rust)".into()),
        os: Some("linux".into()),
        arch: Some(arch().into()),
        kernel_version: Some(kernel_version()),
        experimental: Some(false),
        build_time: None,
    })
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_default()
}

fn mem_total() -> i64 {
    std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            m.lines()
                .find(|l| l.starts_with("MemTotal:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<i64>().ok())
        })
        .map(|kb| kb * 1024)
        .unwrap_or(0)
}

fn os_name() -> String {
    std::fs::read_to_string("/etc/os-release")
        .ok()
        .and_then(|t| {
            t.lines()
                .find_map(|l| l.strip_prefix("PRETTY_NAME="))
                .map(|v| v.trim_matches('"').to_string())
        })
        .unwrap_or_else(|| "Linux".into())
}

fn info_of(e: &Engine) -> ApiResult<SystemInfo> {
    let containers = e.container_list()?;
    let running = containers
        .iter()
        .filter(|c| c.state.running && !c.state.paused)
        .count() as i64;
    let paused = containers.iter().filter(|c| c.state.paused).count() as i64;
    let total = containers.len() as i64;
    let images = e.image_list()?.len() as i64;
    let cgroup_v2 = std::path::Path::new("/sys/fs/cgroup/cgroup.controllers").exists();
    let paths = &e.store().paths;
    Ok(SystemInfo {
        id: Some(format!("berth-{}", hostname())),
        containers: Some(total),
        containers_running: Some(running),
        containers_paused: Some(paused),
        containers_stopped: Some(total - running - paused),
        images: Some(images),
        driver: Some("overlay2".into()),
        driver_status: Some(vec![vec![
            "Backing Filesystem".into(),
            "overlay (berth layers)".into(),
        ]]),
        docker_root_dir: Some(paths.data.display().to_string()),
        plugins: Some(PluginsInfo {
            volume: Some(vec!["local".into()]),
            network: Some(vec!["host".into(), "null".into()]),
            authorization: None,
            log: Some(vec!["json-file".into()]),
        }),
        memory_limit: Some(true),
        swap_limit: Some(true),
        cpu_cfs_period: Some(true),
        cpu_cfs_quota: Some(true),
        cpu_shares: Some(true),
        cpu_set: Some(true),
        pids_limit: Some(true),
        oom_kill_disable: Some(!cgroup_v2),
        ipv4_forwarding: Some(false),
        debug: Some(false),
        nfd: Some(
            std::fs::read_dir("/proc/self/fd")
                .map(|d| d.count() as i64)
                .unwrap_or(0),
        ),
        n_goroutines: Some(0),
        system_time: Some(chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Nanos, true)),
        logging_driver: Some("json-file".into()),
        cgroup_driver: Some(bollard::models::SystemInfoCgroupDriverEnum::CGROUPFS),
        cgroup_version: Some(if cgroup_v2 {
            bollard::models::SystemInfoCgroupVersionEnum::_2
        } else {
            bollard::models::SystemInfoCgroupVersionEnum::_1
        }),
        n_events_listener: Some(0),
        kernel_version: Some(kernel_version()),
        operating_system: Some(os_name()),
        os_version: Some(String::new()),
        os_type: Some("linux".into()),
        architecture: Some(std::env::consts::ARCH.into()),
        ncpu: Some(
            std::thread::available_parallelism()
                .map(|n| n.get() as i64)
                .unwrap_or(1),
        ),
        mem_total: Some(mem_total()),
        index_server_address: Some("https://index.docker.io/v1/".into()),
        name: Some(hostname()),
        labels: Some(vec![]),
        experimental_build: Some(false),
        server_version: Some(env!("CARGO_PKG_VERSION").into()),
        default_runtime: Some("berth".into()),
        live_restore_enabled: Some(true),
        isolation: None,
        init_binary: Some("docker-init".into()),
        security_options: Some(vec![
            "name=seccomp,profile=builtin".into(),
            "name=cgroupns".into(),
        ]),
        warnings: Some(vec![]),
        // Not a swarm node: what dockerd reports when swarm mode is off.
        swarm: Some(bollard::models::SwarmInfo {
            local_node_state: Some(bollard::models::LocalNodeState::INACTIVE),
            control_available: Some(false),
            ..Default::default()
        }),
        ..Default::default()
    })
}

pub async fn info(State(st): State<AppState>) -> ApiResult<Json<SystemInfo>> {
    Ok(Json(blocking(&st.engine, info_of).await?))
}

/// `since`/`until` as Docker clients send them: unix seconds with optional fraction, or
/// RFC 3339. Returns unix nanoseconds.
fn time_param(v: &str, what: &str) -> ApiResult<i64> {
    let bad = || ApiError::bad_request(format!("invalid value for {what}: {v:?}"));
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(v) {
        return t.timestamp_nanos_opt().ok_or_else(bad);
    }
    let (secs, frac) = v.split_once('.').unwrap_or((v, ""));
    let secs: i64 = secs.parse().map_err(|_| bad())?;
    let mut nanos = 0i64;
    if !frac.is_empty() {
        if frac.len() > 9 || !frac.chars().all(|c| c.is_ascii_digit()) {
            return Err(bad());
        }
        nanos = format!("{frac:0<9}").parse().map_err(|_| bad())?;
    }
    secs.checked_mul(1_000_000_000)
        .and_then(|s| s.checked_add(nanos))
        .ok_or_else(bad)
}

pub async fn events(State(st): State<AppState>, RawQuery(raw): RawQuery) -> ApiResult<Response> {
    let q = Query::parse(raw.as_deref());
    let filters = q.filters()?;
    check_filter_keys(
        &filters,
        &[
            "type",
            "event",
            "action",
            "container",
            "image",
            "volume",
            "label",
            "network",
            "daemon",
            "scope",
        ],
    )?;
    let since = q
        .get("since")
        .filter(|s| !s.is_empty())
        .map(|s| time_param(s, "since"))
        .transpose()?;
    let until = q
        .get("until")
        .filter(|s| !s.is_empty())
        .map(|s| time_param(s, "until"))
        .transpose()?;
    if let (Some(s), Some(u)) = (since, until) {
        if s > u {
            return Err(ApiError::bad_request("`since` time is after `until` time"));
        }
    }
    // Without `since`, only what happens from now on.
    let start = if since.is_some() {
        0
    } else {
        blocking(&st.engine, |e| Ok(e.events_last_seq()?)).await?
    };
    let body = stream_body(&st.engine, move |e, w| {
        let mut seq = start;
        loop {
            let batch = e.events(seq, since, until)?;
            for ev in batch {
                seq = seq.max(ev.seq);
                if crate::cli::events::matches(&ev, &filters)
                    && write_json_line(w, &convert::event(&ev)).is_err()
                {
                    return Ok(());
                }
            }
            if until.is_some_and(|u| chrono::Utc::now().timestamp_nanos_opt().unwrap_or(0) > u) {
                return Ok(());
            }
            if w.is_closed() {
                return Ok(());
            }
            std::thread::sleep(EVENTS_POLL);
        }
    });
    Ok(([(header::CONTENT_TYPE, "application/json")], body).into_response())
}

/// `system df` in the shape of API 1.51 and older (LayersSize, Images, Containers,
/// Volumes, BuildCache), which is what berth advertises.
fn df_of(e: &Engine) -> ApiResult<serde_json::Value> {
    let now = chrono::Utc::now();
    let containers = e.container_list()?;
    let mut users: HashMap<String, i64> = HashMap::new();
    for c in &containers {
        *users.entry(c.config.image.clone()).or_default() += 1;
    }
    let usage = e.system_df()?;
    let images: Vec<_> = e
        .image_list()?
        .iter()
        .map(|i| {
            let mut s = convert::image_summary(i);
            s.containers = users.get(&i.id).copied().unwrap_or(0);
            s.shared_size = 0;
            s
        })
        .collect();
    let containers: Vec<_> = containers
        .iter()
        .map(|c| {
            let mut s = convert::container_summary(c, now);
            s.size_rw = Some(super::containers::size_rw(e, &c.id));
            s
        })
        .collect();
    let mut volumes = Vec::new();
    for v in e.volume_list()? {
        let mut m = convert::volume(&v);
        let refs = e.volume_users(&v.name)?.len() as i64;
        m.usage_data = Some(bollard::models::VolumeUsageData {
            size: crate::engine::volume::dir_size(std::path::Path::new(&v.mountpoint)) as i64,
            ref_count: refs,
        });
        volumes.push(m);
    }
    Ok(serde_json::json!({
        "LayersSize": usage.images.size,
        "Images": images,
        "Containers": containers,
        "Volumes": volumes,
        "BuildCache": [],
    }))
}

pub async fn df(State(st): State<AppState>) -> ApiResult<Json<serde_json::Value>> {
    Ok(Json(blocking(&st.engine, df_of).await?))
}

/// BuildKit sessions: berth has no builder.
pub async fn no_session() -> ApiError {
    ApiError::new(
        StatusCode::NOT_IMPLEMENTED,
        "berth has no image builder: build sessions are not supported",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_times() {
        assert_eq!(time_param("12", "since").unwrap(), 12_000_000_000);
        assert_eq!(time_param("12.5", "since").unwrap(), 12_500_000_000);
        assert_eq!(
            time_param("1970-01-01T00:00:01Z", "since").unwrap(),
            1_000_000_000
        );
        assert!(time_param("soon", "since").is_err());
    }
}
