//! Where registry settings come from: Docker's `daemon.json` keys (`insecure-registries`,
//! `registry-mirrors`) in berth's own config file, certs.d directories for custom CAs,
//! and the docker CLI's config.json for stored credentials.

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Docker Hub's registry API host and the key the docker CLI stores its credentials under.
pub const HUB_HOST: &str = "registry-1.docker.io";
pub const HUB_AUTH_KEY: &str = "https://index.docker.io/v1/";

#[derive(Debug, Clone)]
pub struct Settings {
    /// Hosts (host[:port]) or IPv4 CIDRs spoken to over plain HTTP or unverified TLS.
    pub insecure: Vec<String>,
    /// Pull-through mirrors for Docker Hub (URLs), tried before Docker Hub itself.
    pub mirrors: Vec<String>,
    /// certs.d roots: `<dir>/<host[:port]>/*.crt` are extra trusted CAs for that host.
    pub certs_dirs: Vec<PathBuf>,
    /// The docker CLI config file holding `auths`.
    pub docker_config: PathBuf,
    /// How long a connection may stall (connect, or no bytes) before it is given up.
    pub timeout: Duration,
}

#[derive(Debug, Default, serde::Deserialize)]
struct DaemonJson {
    #[serde(default, rename = "insecure-registries")]
    insecure: Vec<String>,
    #[serde(default, rename = "registry-mirrors")]
    mirrors: Vec<String>,
}

impl Settings {
    /// Reads `BERTH_DAEMON_CONFIG` (default /etc/berth/daemon.json), certs.d from
    /// `BERTH_CERTS_D` (default /etc/berth/certs.d) and /etc/docker/certs.d, and the
    /// docker CLI's config from `DOCKER_CONFIG` or ~/.docker.
    pub fn load() -> crate::engine::Result<Settings> {
        let daemon = std::env::var_os("BERTH_DAEMON_CONFIG")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from("/etc/berth/daemon.json"));
        let parsed: DaemonJson = match std::fs::read(&daemon) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| {
                crate::engine::Error::invalid(format!(
                    "invalid registry settings in {}: {e}",
                    daemon.display()
                ))
            })?,
            Err(_) => DaemonJson::default(),
        };
        let berth_certs = std::env::var_os("BERTH_CERTS_D")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from("/etc/berth/certs.d"));
        let docker_dir = std::env::var_os("DOCKER_CONFIG")
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".docker")))
            .unwrap_or_else(|| PathBuf::from("/root/.docker"));
        let timeout = std::env::var("BERTH_REGISTRY_TIMEOUT")
            .ok()
            .and_then(|s| s.parse::<u64>().ok())
            .filter(|s| *s > 0)
            .unwrap_or(30);
        Ok(Settings {
            insecure: parsed.insecure,
            mirrors: parsed.mirrors,
            certs_dirs: vec![berth_certs, PathBuf::from("/etc/docker/certs.d")],
            docker_config: docker_dir.join("config.json"),
            timeout: Duration::from_secs(timeout),
        })
    }

    /// Docker's rule: loopback addresses and configured entries may use plain HTTP.
    pub fn is_insecure(&self, host: &str) -> bool {
        let bare = strip_port(host);
        if bare == "localhost" {
            return true;
        }
        if let Ok(ip) = bare.parse::<IpAddr>() {
            if ip.is_loopback() {
                return true;
            }
            if self.insecure.iter().any(|c| cidr_contains(c, ip)) {
                return true;
            }
        }
        self.insecure.iter().any(|h| h == host || h == bare)
    }

    /// The CA files for `host` from every certs.d root (Docker reads `*.crt`).
    pub fn ca_files(&self, host: &str) -> Vec<PathBuf> {
        let mut out = Vec::new();
        for dir in &self.certs_dirs {
            let Ok(rd) = std::fs::read_dir(dir.join(host)) else {
                continue;
            };
            let mut files: Vec<PathBuf> = rd
                .flatten()
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|x| x == "crt"))
                .collect();
            files.sort();
            out.extend(files);
        }
        out
    }
}

/// "host:port" -> "host"; "[::1]:5000" -> "::1".
fn strip_port(host: &str) -> &str {
    if let Some(rest) = host.strip_prefix('[') {
        return rest.split(']').next().unwrap_or(rest);
    }
    match host.rsplit_once(':') {
        Some((h, p)) if !h.contains(':') && p.bytes().all(|b| b.is_ascii_digit()) => h,
        _ => host,
    }
}

fn cidr_contains(cidr: &str, ip: IpAddr) -> bool {
    let Some((net, bits)) = cidr.split_once('/') else {
        return false;
    };
    let (Ok(IpAddr::V4(net)), Ok(bits), IpAddr::V4(ip)) =
        (net.parse::<IpAddr>(), bits.parse::<u32>(), ip)
    else {
        return false;
    };
    if bits > 32 {
        return false;
    }
    let mask = if bits == 0 {
        0
    } else {
        u32::MAX << (32 - bits)
    };
    u32::from(net) & mask == u32::from(ip) & mask
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(insecure: &[&str]) -> Settings {
        Settings {
            insecure: insecure.iter().map(|s| s.to_string()).collect(),
            mirrors: vec![],
            certs_dirs: vec![],
            docker_config: PathBuf::from("/nonexistent"),
            timeout: Duration::from_secs(1),
        }
    }

    #[test]
    fn loopback_and_configured_hosts_are_insecure() {
        let s = settings(&["10.1.0.0/16", "reg.example:5000"]);
        assert!(s.is_insecure("127.0.0.1:5000"));
        assert!(s.is_insecure("127.3.4.5"));
        assert!(s.is_insecure("localhost:5000"));
        assert!(s.is_insecure("[::1]:5000"));
        assert!(s.is_insecure("10.1.2.3:443"));
        assert!(!s.is_insecure("10.2.0.1"));
        assert!(s.is_insecure("reg.example:5000"));
        assert!(!s.is_insecure("reg.example"));
        assert!(!s.is_insecure("registry-1.docker.io"));
    }
}
