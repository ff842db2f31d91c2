//! Credentials stored the way the docker CLI stores them: `auths` in config.json, each
//! `{"auth": base64("user:password")}` under the registry's key (Docker Hub's key is
//! `https://index.docker.io/v1/`). Other keys in the file are kept as they are.

use std::path::Path;

use base64::Engine as _;
use serde_json::{Map, Value};

use super::settings::{HUB_AUTH_KEY, HUB_HOST};
use super::Credentials;
use crate::engine::error::{Error, IoContext, Result};

/// The `auths` key for a registry host: Docker Hub's legacy URL, else the host.
pub fn auth_key(host: &str) -> String {
    if host == HUB_HOST || host == "docker.io" || host == "index.docker.io" {
        HUB_AUTH_KEY.to_string()
    } else {
        host.to_string()
    }
}

/// `login`'s SERVER argument -> registry host ("docker.io" and Hub URLs -> Hub).
pub fn server_host(server: &str) -> String {
    let s = server
        .trim_start_matches("https://")
        .trim_start_matches("http://");
    let s = s.split('/').next().unwrap_or(s);
    match s {
        "" | "docker.io" | "index.docker.io" | HUB_HOST => HUB_HOST.to_string(),
        other => other.to_string(),
    }
}

fn read_config(path: &Path) -> Result<Map<String, Value>> {
    match std::fs::read(path) {
        Ok(bytes) if bytes.iter().all(u8::is_ascii_whitespace) => Ok(Map::new()),
        Ok(bytes) => match serde_json::from_slice::<Value>(&bytes) {
            Ok(Value::Object(m)) => Ok(m),
            _ => Err(Error::invalid(format!(
                "{} is not a valid docker config file: fix or remove it",
                path.display()
            ))),
        },
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Map::new()),
        Err(e) => Err(Error::io(format!("reading {}", path.display()), e)),
    }
}

/// Stored credentials for `host`, if any.
pub fn lookup(config: &Path, host: &str) -> Result<Option<Credentials>> {
    let cfg = read_config(config)?;
    let Some(Value::Object(auths)) = cfg.get("auths") else {
        return Ok(None);
    };
    let key = auth_key(host);
    let candidates = [
        key.clone(),
        format!("https://{key}"),
        format!("http://{key}"),
    ];
    for k in &candidates {
        let Some(entry) = auths.get(k) else { continue };
        let Some(auth) = entry.get("auth").and_then(Value::as_str) else {
            continue;
        };
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(auth.trim())
            .ok()
            .and_then(|b| String::from_utf8(b).ok());
        let Some((user, pass)) = decoded.as_deref().and_then(|d| d.split_once(':')) else {
            return Err(Error::invalid(format!(
                "invalid auth entry for {k} in {}: run login again",
                config.display()
            )));
        };
        return Ok(Some(Credentials {
            username: user.to_string(),
            password: pass.to_string(),
        }));
    }
    Ok(None)
}

/// Writes `creds` for `host`, keeping everything else in the file.
pub fn store(config: &Path, host: &str, creds: &Credentials) -> Result<()> {
    let mut cfg = read_config(config)?;
    let auths = cfg
        .entry("auths")
        .or_insert_with(|| Value::Object(Map::new()));
    if !auths.is_object() {
        *auths = Value::Object(Map::new());
    }
    let encoded = base64::engine::general_purpose::STANDARD
        .encode(format!("{}:{}", creds.username, creds.password));
    if let Value::Object(m) = auths {
        m.insert(auth_key(host), serde_json::json!({ "auth": encoded }));
    }
    write_config(config, &cfg)
}

/// Removes the credentials for `host`; false when there were none.
pub fn remove(config: &Path, host: &str) -> Result<bool> {
    let mut cfg = read_config(config)?;
    let key = auth_key(host);
    let removed = match cfg.get_mut("auths") {
        Some(Value::Object(m)) => m.remove(&key).is_some(),
        _ => false,
    };
    if removed {
        write_config(config, &cfg)?;
    }
    Ok(removed)
}

fn write_config(config: &Path, cfg: &Map<String, Value>) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    if let Some(dir) = config.parent() {
        std::fs::create_dir_all(dir).ctx(|| format!("creating {}", dir.display()))?;
    }
    let mut bytes = serde_json::to_vec_pretty(cfg)
        .map_err(|e| Error::Other(format!("encoding the docker config: {e}")))?;
    bytes.push(b'\n');
    crate::engine::image::blobs::write_atomic(config, &bytes)?;
    // Passwords inside: readable by the owner only, as the docker CLI does.
    std::fs::set_permissions(config, std::fs::Permissions::from_mode(0o600))
        .ctx(|| format!("restricting {}", config.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn store_lookup_remove_round_trip_keeps_other_keys() {
        let dir = tempfile::tempdir().expect("tempdir");
        let cfg = dir.path().join("config.json");
        std::fs::write(
            &cfg,
            r#"{"psFormat":"x","auths":{"other:1":{"auth":"dTpw"}}}"#,
        )
        .expect("write");
        let c = Credentials {
            username: "alice".into(),
            password: "s3:cret".into(),
        };
        store(&cfg, "127.0.0.1:5000", &c).expect("store");
        assert_eq!(lookup(&cfg, "127.0.0.1:5000").expect("lookup"), Some(c));
        let v: Value = serde_json::from_slice(&std::fs::read(&cfg).expect("read")).expect("json");
        assert_eq!(v["psFormat"], "x");
        assert_eq!(v["auths"]["127.0.0.1:5000"]["auth"], "YWxpY2U6czM6Y3JldA==");
        assert!(remove(&cfg, "127.0.0.1:5000").expect("remove"));
        assert!(!remove(&cfg, "127.0.0.1:5000").expect("remove"));
        assert_eq!(lookup(&cfg, "127.0.0.1:5000").expect("lookup"), None);
        assert!(lookup(&cfg, "other:1").expect("lookup").is_some());
    }

    #[test]
    fn hub_names() {
        assert_eq!(server_host("docker.io"), HUB_HOST);
        assert_eq!(server_host("https://index.docker.io/v1/"), HUB_HOST);
        assert_eq!(server_host("localhost:5000"), "localhost:5000");
        assert_eq!(auth_key(HUB_HOST), HUB_AUTH_KEY);
    }
}
