//! One module per resource: its table row type, columns, and how a row is drawn.

pub mod containers;
pub mod events;
pub mod images;
pub mod networks;
pub mod volumes;

use chrono::{DateTime, Utc};

/// "2 hours ago", as docker prints ages; "-" for unknown times.
pub fn ago(t: i64, now: DateTime<Utc>) -> String {
    match DateTime::from_timestamp(t, 0) {
        Some(t) if t.timestamp() > 0 => {
            format!("{} ago", crate::cli::units::human_duration(now - t))
        }
        _ => "-".into(),
    }
}

/// The short form of an id: 12 hex digits, without "sha256:".
pub fn short_id(id: &str) -> String {
    id.trim_start_matches("sha256:").chars().take(12).collect()
}
