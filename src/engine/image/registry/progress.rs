//! Progress messages shaped like dockerd's JSON stream, so the API server can forward
//! them as they are and the CLI/console can draw one bar per layer.

use bollard::models::{CreateImageInfo, ProgressDetail, PushImageInfo};

/// The short id Docker shows for a layer: 12 hex digits of its digest.
pub fn short(digest: &str) -> String {
    crate::engine::store::ids::short_id(digest).to_string()
}

pub fn status(id: Option<&str>, status: impl Into<String>) -> CreateImageInfo {
    CreateImageInfo {
        id: id.map(str::to_string),
        status: Some(status.into()),
        ..Default::default()
    }
}

pub fn bytes(id: &str, status: &str, current: u64, total: Option<u64>) -> CreateImageInfo {
    CreateImageInfo {
        id: Some(id.to_string()),
        status: Some(status.to_string()),
        progress_detail: Some(ProgressDetail {
            current: Some(current as i64),
            total: total.map(|t| t as i64),
        }),
        ..Default::default()
    }
}

/// bollard's PushImageInfo has no `id` field: per-layer lines carry it in the status as
/// "<id>: <status>", which is also how the docker CLI prints them.
pub fn push_status(id: Option<&str>, status: &str) -> PushImageInfo {
    PushImageInfo {
        status: Some(match id {
            Some(id) => format!("{id}: {status}"),
            None => status.to_string(),
        }),
        ..Default::default()
    }
}

pub fn push_bytes(id: &str, current: u64, total: u64) -> PushImageInfo {
    PushImageInfo {
        status: Some(format!("{id}: Pushing")),
        progress_detail: Some(ProgressDetail {
            current: Some(current as i64),
            total: Some(total as i64),
        }),
        ..Default::default()
    }
}

/// Limits byte-progress messages to about one per `step` bytes (and the last one).
pub struct Throttle {
    step: u64,
    next: u64,
}

impl Throttle {
    pub fn new(total: u64) -> Throttle {
        let step = (total / 50).max(256 * 1024);
        Throttle { step, next: 0 }
    }
    pub fn due(&mut self, current: u64, total: u64) -> bool {
        if current >= self.next || current >= total {
            self.next = current + self.step;
            true
        } else {
            false
        }
    }
}
