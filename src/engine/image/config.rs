//! The image configuration blob (OCI image-spec config, with Docker's extra fields).
//! An image's id is the sha256 of these bytes, so stored configs are never
//! re-serialised: this type is for reading them and for writing new ones.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ImageConfigFile {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub architecture: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub author: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config: Option<RunConfig>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub docker_version: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub history: Vec<History>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub os: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<String>,
    #[serde(default)]
    pub rootfs: RootFs,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct RootFs {
    #[serde(rename = "type", default)]
    pub kind: String,
    #[serde(default)]
    pub diff_ids: Vec<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct History {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_by: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub author: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub empty_layer: bool,
}

/// The runtime defaults an image carries (`config` in the blob; `Config` in inspect).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct RunConfig {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exposed_ports: Option<BTreeMap<String, Value>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub env: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entrypoint: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cmd: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub volumes: Option<BTreeMap<String, Value>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub working_dir: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub labels: Option<BTreeMap<String, String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop_signal: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub healthcheck: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_build: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shell: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub args_escaped: Option<bool>,
}

impl ImageConfigFile {
    pub fn parse(bytes: &[u8]) -> crate::engine::error::Result<ImageConfigFile> {
        serde_json::from_slice(bytes).map_err(|e| {
            crate::engine::error::Error::invalid(format!("invalid image config JSON: {e}"))
        })
    }
}

/// GOARCH-style name of the machine berth runs on.
pub fn host_arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "x86" => "386",
        "powerpc64" => "ppc64le",
        other => other,
    }
}

/// The time now as Go's time.RFC3339Nano prints it (see [`go_rfc3339_nano`]), so the
/// configs and records berth writes read like Docker's.
pub fn now_rfc3339() -> String {
    go_rfc3339_nano(&chrono::Utc::now().fixed_offset())
}

/// `t` as Go's time.RFC3339Nano prints it, which Docker uses for every time it shows:
/// nanoseconds without trailing zeros (no fraction at all for whole seconds) and `Z`
/// for UTC. chrono has no such format: its fixed widths keep the zeros.
pub fn go_rfc3339_nano(t: &chrono::DateTime<chrono::FixedOffset>) -> String {
    let s = t.to_rfc3339_opts(chrono::SecondsFormat::Nanos, true);
    let Some((head, rest)) = s.split_once('.') else {
        return s;
    };
    // rest: nine digits, then the zone (Z or +hh:mm).
    let (digits, zone) = rest.split_at(rest.len().min(9));
    let digits = digits.trim_end_matches('0');
    if digits.is_empty() {
        format!("{head}{zone}")
    } else {
        format!("{head}.{digits}{zone}")
    }
}

/// An RFC 3339 time from an image config as Docker's inspect shows it (it parses the
/// config's time and prints it again with [`go_rfc3339_nano`]); anything else as is.
pub fn docker_time(s: &str) -> String {
    chrono::DateTime::parse_from_rfc3339(s)
        .map(|t| go_rfc3339_nano(&t))
        .unwrap_or_else(|_| s.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_print_as_go_does() {
        let t = |s: &str| chrono::DateTime::parse_from_rfc3339(s).expect("time");
        assert_eq!(
            go_rfc3339_nano(&t("2026-11-22T12:47:02.941529080Z")),
            "2026-11-22T12:47:02.94152908Z"
        );
        assert_eq!(
            go_rfc3339_nano(&t("2024-01-01T00:00:00.000Z")),
            "2024-01-01T00:00:00Z"
        );
        assert_eq!(
            go_rfc3339_nano(&t("2024-01-01T10:00:00.5+02:00")),
            "2024-01-01T10:00:00.5+02:00"
        );
        assert_eq!(
            docker_time("2026-11-22T06:05:52.632510297Z"),
            "2026-11-22T06:05:52.632510297Z"
        );
        assert_eq!(
            docker_time("2024-01-01T00:00:00+00:00"),
            "2024-01-01T00:00:00Z"
        );
        assert_eq!(docker_time("not a time"), "not a time");
        let now = now_rfc3339();
        if let Some((_, frac)) = now.split_once('.') {
            assert!(!frac.trim_end_matches('Z').ends_with('0'), "{now}");
        }
        assert!(chrono::DateTime::parse_from_rfc3339(&now).is_ok(), "{now}");
    }
}
