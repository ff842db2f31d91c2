//! 64-hex ids, short ids and unique-prefix resolution.

use rand::RngCore;

use crate::engine::error::{Error, Result};

pub fn random_id() -> String {
    let mut b = [0u8; 32];
    rand::rng().fill_bytes(&mut b);
    hex::encode(b)
}

/// Docker's 12-character display form; accepts ids with or without `sha256:`.
pub fn short_id(id: &str) -> &str {
    let hex = strip_algo(id);
    &hex[..hex.len().min(12)]
}

pub fn strip_algo(id: &str) -> &str {
    id.strip_prefix("sha256:").unwrap_or(id)
}

pub fn is_hex(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// Picks the one candidate that starts with `prefix`. `what` names the object kind in
/// errors ("image", "container").
pub fn resolve_prefix<'a, I>(prefix: &str, candidates: I, what: &str) -> Result<Option<String>>
where
    I: IntoIterator<Item = &'a str>,
{
    let prefix = strip_algo(prefix);
    if !is_hex(prefix) {
        return Ok(None);
    }
    let mut found: Option<&str> = None;
    for c in candidates {
        if strip_algo(c).starts_with(prefix) {
            if found.is_some_and(|f| f != c) {
                return Err(Error::invalid(format!(
                    "multiple {what} IDs found with provided prefix: {prefix}"
                )));
            }
            found = Some(c);
        }
    }
    Ok(found.map(str::to_string))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_resolution() {
        let ids = [
            "sha256:abc123".to_string(),
            "sha256:abd456".to_string(),
            "sha256:ffff00".to_string(),
        ];
        let it = || ids.iter().map(String::as_str);
        assert_eq!(
            resolve_prefix("abc", it(), "image")
                .ok()
                .flatten()
                .as_deref(),
            Some("sha256:abc123")
        );
        assert_eq!(
            resolve_prefix("sha256:ff", it(), "image")
                .ok()
                .flatten()
                .as_deref(),
            Some("sha256:ffff00")
        );
        assert!(resolve_prefix("ab", it(), "image").is_err());
        assert_eq!(resolve_prefix("0", it(), "image").ok().flatten(), None);
        // Not hex: never treated as an id prefix.
        assert_eq!(
            resolve_prefix("busybox", it(), "image").ok().flatten(),
            None
        );
    }

    #[test]
    fn short_ids() {
        assert_eq!(short_id("sha256:0123456789abcdef"), "0123456789ab");
        assert_eq!(short_id("0123"), "0123");
        assert_eq!(random_id().len(), 64);
        assert!(is_hex(&random_id()));
    }
}
