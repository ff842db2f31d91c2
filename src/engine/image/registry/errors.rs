//! Turns transport failures and registry error bodies into Docker-shaped messages
//! (`Get "https://host/v2/": dial tcp host: connect: connection refused`,
//! `manifest unknown: manifest unknown`).

use crate::engine::error::Error;

/// A request that never got an HTTP answer.
pub fn transport(method: &str, url: &str, host: &str, timeout_secs: u64, e: ureq::Error) -> Error {
    // Body readers wrap ureq's own errors (a timeout mid-body) in io errors: unwrap them.
    let e = match e {
        ureq::Error::Io(io) if io.get_ref().is_some_and(|i| i.is::<ureq::Error>()) => {
            match io.into_inner().map(|b| b.downcast::<ureq::Error>()) {
                Some(Ok(inner)) => *inner,
                _ => ureq::Error::ConnectionFailed,
            }
        }
        other => other,
    };
    let method = go_method(method);
    let cause = match &e {
        ureq::Error::HostNotFound => no_such_host(host),
        // DNS failures come from the resolver as plain io errors.
        ureq::Error::Io(io) if io.to_string().contains("failed to lookup address") => {
            no_such_host(host)
        }
        ureq::Error::Io(io)
            if io.kind() == std::io::ErrorKind::UnexpectedEof
                || io.to_string().contains("Peer disconnected") =>
        {
            "unexpected EOF (the registry closed the connection mid-transfer)".to_string()
        }
        ureq::Error::Io(io) if io.kind() == std::io::ErrorKind::ConnectionRefused => {
            format!("dial tcp {host}: connect: connection refused")
        }
        ureq::Error::ConnectionFailed => format!("dial tcp {host}: connect: connection failed"),
        ureq::Error::Timeout(t) => format!(
            "the registry stopped answering ({t} timeout after {timeout_secs}s; BERTH_REGISTRY_TIMEOUT sets the limit)"
        ),
        other => {
            let s = other.to_string();
            if s.contains("certificate") || s.contains("Certificate") {
                format!(
                    "tls: failed to verify certificate: {s} (trust the registry's CA by putting it in /etc/docker/certs.d/{host}/ca.crt)"
                )
            } else {
                s
            }
        }
    };
    Error::Other(format!("{method} \"{url}\": {cause}"))
}

fn no_such_host(host: &str) -> String {
    let name = host.rsplit_once(':').map(|(h, _)| h).unwrap_or(host);
    format!("dial tcp: lookup {name}: no such host")
}

pub fn go_method(m: &str) -> String {
    let mut s = m.to_ascii_lowercase();
    if let Some(f) = s.get_mut(0..1) {
        f.make_ascii_uppercase();
    }
    s
}

/// "errors" of a registry's JSON error body, as Docker prints them ("code: message").
pub fn registry_errors(body: &[u8]) -> Option<String> {
    let v: serde_json::Value = serde_json::from_slice(body).ok()?;
    let errs = v.get("errors")?.as_array()?;
    let parts: Vec<String> = errs
        .iter()
        .map(|e| {
            let code = e
                .get("code")
                .and_then(|c| c.as_str())
                .unwrap_or("unknown")
                .to_ascii_lowercase()
                .replace('_', " ");
            let msg = e.get("message").and_then(|m| m.as_str()).unwrap_or("");
            format!("{code}: {msg}")
        })
        .collect();
    if parts.is_empty() {
        None
    } else {
        Some(parts.join(", "))
    }
}

/// True when a registry error body carries `code`.
pub fn has_code(body: &[u8], code: &str) -> bool {
    serde_json::from_slice::<serde_json::Value>(body)
        .ok()
        .and_then(|v| v.get("errors").cloned())
        .and_then(|e| e.as_array().cloned())
        .is_some_and(|errs| {
            errs.iter()
                .any(|e| e.get("code").and_then(|c| c.as_str()) == Some(code))
        })
}

/// An unexpected HTTP status: the registry's own words when it gave some.
pub fn status(status: u16, body: &[u8], what: &str) -> Error {
    let detail = registry_errors(body).unwrap_or_else(|| {
        let text = String::from_utf8_lossy(body);
        let text = text.trim();
        if text.is_empty() || text.len() > 200 {
            format!("unexpected status {status} from the registry")
        } else {
            format!("unexpected status {status} from the registry: {text}")
        }
    });
    let msg = format!("{what}: {detail}");
    match status {
        404 => Error::NotFound(msg),
        400 => Error::InvalidArgument(msg),
        _ => Error::Other(msg),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registry_error_bodies_read_like_docker() {
        let body = br#"{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown","detail":{"Tag":"x"}}]}"#;
        assert_eq!(
            registry_errors(body).as_deref(),
            Some("manifest unknown: manifest unknown")
        );
        assert!(has_code(body, "MANIFEST_UNKNOWN"));
        assert!(!has_code(body, "NAME_UNKNOWN"));
        let e = status(404, body, "manifest for a:b not found");
        assert!(matches!(e, Error::NotFound(_)));
        assert_eq!(
            e.to_string(),
            "manifest for a:b not found: manifest unknown: manifest unknown"
        );
        assert!(status(502, b"", "x").to_string().contains("502"));
    }
}
