//! Docker image reference parsing and normalisation.
//!
//! A hand-written port of `github.com/distribution/reference`
//! (`ParseNormalizedNamed`, `TagNameOnly`, `FamiliarName`, `FamiliarString`,
//! `WithTag`, `WithDigest`) together with the digest validation that
//! `github.com/opencontainers/go-digest` v1.0.0 applies, so berth accepts,
//! rejects and prints image references the way the Docker CLI/daemon do,
//! including its error messages.
//!
//! Grammar (transcribed from distribution/reference `regexp.go`; matched by
//! hand because this module must not depend on a regex crate):
//!
//! ```text
//! reference        := name [ ":" tag ] [ "@" digest ]
//! name             := [ domain-and-port "/" ] path-component [ "/" path-component ]*
//! domain-and-port  := host [ ":" [0-9]+ ]
//! host             := domain-name | "[" [a-fA-F0-9:]+ "]"
//! domain-name      := domain-component [ "." domain-component ]*
//! domain-component := [a-zA-Z0-9] | [a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]
//! path-component   := [a-z0-9]+ [ separator [a-z0-9]+ ]*
//! separator        := "." | "_" | "__" | "-"+
//! tag              := [\w][\w.-]{0,127}
//! digest           := algorithm ":" [0-9a-fA-F]{32,}
//! algorithm        := [A-Za-z][A-Za-z0-9]* [ [-_+.] [A-Za-z][A-Za-z0-9]* ]*
//! ```

use std::fmt;
use std::str::FromStr;

/// Domain that references without an explicit registry belong to.
pub const DEFAULT_DOMAIN: &str = "docker.io";
/// Host actually serving the registry API for [`DEFAULT_DOMAIN`].
pub const DEFAULT_REGISTRY_HOST: &str = "registry-1.docker.io";
/// Tag added by [`Reference::parse_with_default_tag`] (Docker's `TagNameOnly`).
pub const DEFAULT_TAG: &str = "latest";
/// Maximum length of the repository path (the name without its domain).
pub const NAME_TOTAL_LENGTH_MAX: usize = 255;

/// Old spelling of the Docker Hub domain, folded into [`DEFAULT_DOMAIN`].
const LEGACY_DEFAULT_DOMAIN: &str = "index.docker.io";
/// Single-component Docker Hub repositories live under this namespace.
const OFFICIAL_REPO_PREFIX: &str = "library/";
const TAG_MAX_LEN: usize = 128;
const DIGEST_MIN_HEX: usize = 32;

/// Why a reference, tag or digest was rejected. The `Display` texts are
/// Docker's, because users and scripts match on them.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReferenceError {
    /// The input does not fit the reference grammar.
    #[error("invalid reference format")]
    InvalidFormat,
    /// The repository part (everything before the first `:` after
    /// normalisation, e.g. `library/Busybox`) contains uppercase letters.
    #[error("invalid reference format: repository name ({0}) must be lowercase")]
    NotLowercase(String),
    /// The reference only fails the grammar because of uppercase letters
    /// outside the repository part (e.g. an uppercase domain with `_`).
    #[error("repository name must be lowercase")]
    ContainsUppercase,
    /// A bare 64-hex string is an image ID, never a repository name.
    #[error("invalid repository name ({0}), cannot specify 64-byte hexadecimal strings")]
    HexIdentifier(String),
    /// The repository path is longer than [`NAME_TOTAL_LENGTH_MAX`].
    #[error("repository name must not be more than {max} characters", max = NAME_TOTAL_LENGTH_MAX)]
    NameTooLong,
    /// A tag given to [`Reference::with_tag`] / [`validate_tag`] is malformed.
    #[error("invalid tag format")]
    InvalidTag,
    /// A digest given to [`Reference::with_digest`] does not fit the grammar.
    #[error("invalid digest format")]
    InvalidDigest,
    /// Known algorithm but the encoded part is not lowercase hex, or the
    /// algorithm itself is not lowercase (go-digest `ErrDigestInvalidFormat`).
    #[error("invalid checksum digest format")]
    DigestChecksumFormat,
    /// Known algorithm with the wrong number of hex characters.
    #[error("invalid checksum digest length")]
    DigestLength,
    /// Well-formed digest using an algorithm other than sha256/sha384/sha512.
    #[error("unsupported digest algorithm")]
    UnsupportedDigest,
}

/// A normalised, named image reference: `domain/path[:tag][@digest]`.
///
/// Invariant: `domain` is never empty (references without a registry are
/// normalised to `docker.io`), and every field satisfies the grammar above.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Reference {
    domain: String,
    path: String,
    tag: Option<String>,
    digest: Option<String>,
}

impl Reference {
    /// Docker's `ParseNormalizedNamed`: accepts the familiar forms users type
    /// (`busybox`, `user/app:1`, `localhost:5000/app@sha256:…`), adds
    /// `docker.io` and `library/` where Docker would, and does NOT add a
    /// default tag.
    pub fn parse(s: &str) -> Result<Reference, ReferenceError> {
        // Checked on the raw input, before normalisation, exactly like Docker:
        // a bare 64-hex string is almost certainly an image ID typed by mistake.
        if is_full_id(s) {
            return Err(ReferenceError::HexIdentifier(s.to_string()));
        }
        let (domain, remainder) = split_docker_domain(s);
        // Docker reports uppercase in the repository part with a dedicated
        // message naming it; the "repository" here is whatever precedes the
        // first ':' of the normalised remainder (so it may include "@sha256").
        let remote = remainder.split(':').next().unwrap_or_default();
        if go_to_lower(remote) != remote {
            return Err(ReferenceError::NotLowercase(remote.to_string()));
        }
        parse_strict(&format!("{domain}/{remainder}"))
    }

    /// [`parse`](Self::parse) followed by Docker's `TagNameOnly`: a reference
    /// with neither tag nor digest gets the tag `latest`.
    pub fn parse_with_default_tag(s: &str) -> Result<Reference, ReferenceError> {
        let mut r = Self::parse(s)?;
        if r.tag.is_none() && r.digest.is_none() {
            r.tag = Some(DEFAULT_TAG.to_string());
        }
        Ok(r)
    }

    /// Registry domain, possibly with port: `docker.io`, `localhost:5000`,
    /// `[::1]:5000`. Case is preserved (Docker does not lowercase domains).
    pub fn domain(&self) -> &str {
        &self.domain
    }

    /// Repository path inside the registry, e.g. `library/busybox`.
    pub fn path(&self) -> &str {
        &self.path
    }

    pub fn tag(&self) -> Option<&str> {
        self.tag.as_deref()
    }

    /// Digest including its algorithm, e.g. `sha256:…`.
    pub fn digest(&self) -> Option<&str> {
        self.digest.as_deref()
    }

    /// Fully qualified repository name: `docker.io/library/busybox`.
    pub fn name(&self) -> String {
        format!("{}/{}", self.domain, self.path)
    }

    /// Docker's `FamiliarName`: the short form shown in `docker images`
    /// (`busybox`, `user/app`, `localhost:5000/app`).
    pub fn familiar_name(&self) -> String {
        if self.domain != DEFAULT_DOMAIN {
            return self.name();
        }
        // Only strip "library/" when what remains is a single component;
        // "library/a/b" must stay as is or it would reparse as "a/b".
        match self.path.strip_prefix(OFFICIAL_REPO_PREFIX) {
            Some(rest) if !rest.contains('/') => rest.to_string(),
            _ => self.path.clone(),
        }
    }

    /// Docker's `FamiliarString`: familiar name plus `:tag` and/or `@digest`.
    pub fn familiar(&self) -> String {
        let mut s = self.familiar_name();
        self.push_suffix(&mut s);
        s
    }

    /// Same repository with `tag`; any digest is dropped so the result names
    /// exactly one thing (Docker's `WithTag` would keep it).
    pub fn with_tag(&self, tag: &str) -> Result<Reference, ReferenceError> {
        validate_tag(tag)?;
        Ok(Reference {
            tag: Some(tag.to_string()),
            ..self.repository()
        })
    }

    /// `name@digest` with any tag dropped, the shape Docker stores in
    /// `RepoDigests`.
    pub fn with_digest(&self, digest: &str) -> Result<Reference, ReferenceError> {
        if !is_digest_grammar(digest) {
            return Err(ReferenceError::InvalidDigest);
        }
        validate_digest(digest)?;
        Ok(Reference {
            digest: Some(digest.to_string()),
            ..self.repository()
        })
    }

    /// The repository alone (Docker's `TrimNamed`): no tag, no digest.
    pub fn repository(&self) -> Reference {
        Reference {
            domain: self.domain.clone(),
            path: self.path.clone(),
            tag: None,
            digest: None,
        }
    }

    /// Host to contact for registry API calls: Docker Hub's `docker.io` is
    /// served from `registry-1.docker.io`; every other domain is used as is.
    pub fn registry_host(&self) -> &str {
        if self.domain == DEFAULT_DOMAIN {
            DEFAULT_REGISTRY_HOST
        } else {
            &self.domain
        }
    }

    fn push_suffix(&self, s: &mut String) {
        if let Some(tag) = &self.tag {
            s.push(':');
            s.push_str(tag);
        }
        if let Some(digest) = &self.digest {
            s.push('@');
            s.push_str(digest);
        }
    }
}

impl fmt::Display for Reference {
    /// Fully qualified form, `docker.io/library/busybox:latest`; parsing it
    /// again yields an equal `Reference`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut s = self.name();
        self.push_suffix(&mut s);
        f.write_str(&s)
    }
}

impl FromStr for Reference {
    type Err = ReferenceError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Reference::parse(s)
    }
}

/// True for a full image ID: exactly 64 lowercase hex characters.
pub fn is_full_id(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(is_lower_hex)
}

/// Checks a tag against `[\w][\w.-]{0,127}`.
pub fn validate_tag(tag: &str) -> Result<(), ReferenceError> {
    if is_tag(tag) {
        Ok(())
    } else {
        Err(ReferenceError::InvalidTag)
    }
}

/// Docker's `splitDockerDomain`: decides whether the first `/`-separated
/// component is a registry domain and applies the docker.io normalisation.
/// The result is only a candidate; [`parse_strict`] validates it.
fn split_docker_domain(name: &str) -> (&str, String) {
    let Some((maybe_domain, maybe_remote)) = name.split_once('/') else {
        return (DEFAULT_DOMAIN, format!("{OFFICIAL_REPO_PREFIX}{name}"));
    };
    let (domain, remote) = if maybe_domain == "localhost" {
        (maybe_domain, maybe_remote)
    } else if maybe_domain == LEGACY_DEFAULT_DOMAIN {
        (DEFAULT_DOMAIN, maybe_remote)
    } else if maybe_domain.contains(['.', ':'])
        // Uppercase can never be a valid path component, so Docker treats
        // such a first component as a (case-preserved) domain.
        || go_to_lower(maybe_domain) != maybe_domain
    {
        (maybe_domain, maybe_remote)
    } else {
        (DEFAULT_DOMAIN, name)
    };
    if domain == DEFAULT_DOMAIN && !remote.contains('/') {
        (domain, format!("{OFFICIAL_REPO_PREFIX}{remote}"))
    } else {
        (domain, remote.to_string())
    }
}

/// Docker's `Parse` applied to the already normalised `domain/remainder`.
fn parse_strict(s: &str) -> Result<Reference, ReferenceError> {
    let Some(parts) = split_reference(s) else {
        // Same diagnosis as Docker: if lowercasing would have made it valid,
        // say that instead of the generic message.
        let lower = go_to_lower(s);
        if lower != s && split_reference(&lower).is_some() {
            return Err(ReferenceError::ContainsUppercase);
        }
        return Err(ReferenceError::InvalidFormat);
    };
    // Since distribution/reference v0.6 only the path counts, not the domain.
    if parts.path.len() > NAME_TOTAL_LENGTH_MAX {
        return Err(ReferenceError::NameTooLong);
    }
    if let Some(digest) = parts.digest {
        validate_digest(digest)?;
    }
    // Deviation: Docker would accept e.g. `foo_bar.com/app` as a domain-less
    // name (the candidate domain fails the domain grammar but the whole
    // string is a valid path), which no registry can serve. We reject it so
    // that every Reference has a domain.
    let domain = parts.domain.ok_or(ReferenceError::InvalidFormat)?;
    Ok(Reference {
        domain: domain.to_string(),
        path: parts.path.to_string(),
        tag: parts.tag.map(str::to_string),
        digest: parts.digest.map(str::to_string),
    })
}

/// The pieces of a reference that matched the grammar.
struct Parts<'a> {
    domain: Option<&'a str>,
    path: &'a str,
    tag: Option<&'a str>,
    digest: Option<&'a str>,
}

/// Matches the whole reference grammar, returning the same captures the
/// anchored regular expressions in distribution/reference would.
fn split_reference(s: &str) -> Option<Parts<'_>> {
    // Neither name nor tag may contain '@', so the first '@' starts the digest
    // (and a second '@' makes the digest, hence the reference, invalid).
    let (rest, digest) = match s.split_once('@') {
        Some((rest, digest)) => (rest, Some(digest)),
        None => (s, None),
    };
    if digest.is_some_and(|d| !is_digest_grammar(d)) {
        return None;
    }
    // In the name a ':' can only appear inside the domain, which is always
    // followed by '/'. So a ':' after the last '/' must start the tag; this
    // makes the split unique, so no backtracking is needed.
    let last_start = rest.rfind('/').map_or(0, |i| i + 1);
    let (name, tag) = match rest[last_start..].find(':') {
        Some(i) => {
            let colon = last_start + i;
            (&rest[..colon], Some(&rest[colon + 1..]))
        }
        None => (rest, None),
    };
    if tag.is_some_and(|t| !is_tag(t)) {
        return None;
    }
    let (domain, path) = split_name(name)?;
    Some(Parts {
        domain,
        path,
        tag,
        digest,
    })
}

/// `[domain-and-port "/"] remote-name`. A domain can contain no '/', so if
/// present it is exactly the first component; like the regex, prefer reading
/// the first component as a domain whenever that leads to a full match.
fn split_name(name: &str) -> Option<(Option<&str>, &str)> {
    if let Some((domain, path)) = name.split_once('/') {
        if is_domain_and_port(domain) && is_remote_name(path) {
            return Some((Some(domain), path));
        }
    }
    is_remote_name(name).then_some((None, name))
}

fn is_remote_name(s: &str) -> bool {
    s.split('/').all(is_path_component)
}

/// `[a-z0-9]+ ( ("." | "_" | "__" | "-"+) [a-z0-9]+ )*`
fn is_path_component(c: &str) -> bool {
    let b = c.as_bytes();
    if !b.first().is_some_and(|&x| is_lower_alnum(x))
        || !b.last().is_some_and(|&x| is_lower_alnum(x))
    {
        return false;
    }
    // First and last bytes are alphanumeric, so every separator run found
    // below sits between two alphanumeric runs; only its shape is checked.
    let mut i = 0;
    while i < b.len() {
        if is_lower_alnum(b[i]) {
            i += 1;
            continue;
        }
        let start = i;
        while i < b.len() && matches!(b[i], b'.' | b'_' | b'-') {
            i += 1;
        }
        let sep = &b[start..i];
        let ok = matches!(sep, b"." | b"_" | b"__")
            || (!sep.is_empty() && sep.iter().all(|&x| x == b'-'));
        if !ok {
            // Also covers an empty run, i.e. a byte that is neither
            // alphanumeric nor a separator.
            return false;
        }
    }
    true
}

/// `host [":" [0-9]+]` where host is a DNS-ish name or a bracketed IPv6
/// address. Case is allowed here (unlike in the path).
fn is_domain_and_port(s: &str) -> bool {
    let (host_ok, port) = if let Some(inner_and_rest) = s.strip_prefix('[') {
        let Some((inner, rest)) = inner_and_rest.split_once(']') else {
            return false;
        };
        let ipv6_ok =
            !inner.is_empty() && inner.bytes().all(|b| b.is_ascii_hexdigit() || b == b':');
        (ipv6_ok, rest)
    } else {
        // Domain names contain no ':', so the first ':' starts the port.
        match s.find(':') {
            Some(i) => (is_domain_name(&s[..i]), &s[i..]),
            None => (is_domain_name(s), ""),
        }
    };
    let port_ok = port.is_empty()
        || port
            .strip_prefix(':')
            .is_some_and(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
    host_ok && port_ok
}

fn is_domain_name(s: &str) -> bool {
    s.split('.').all(|c| {
        let b = c.as_bytes();
        b.first().is_some_and(u8::is_ascii_alphanumeric)
            && b.last().is_some_and(u8::is_ascii_alphanumeric)
            && b.iter().all(|&x| x.is_ascii_alphanumeric() || x == b'-')
    })
}

/// `[\w][\w.-]{0,127}` with `\w` = `[A-Za-z0-9_]` (Go regexp is ASCII-only).
fn is_tag(t: &str) -> bool {
    let b = t.as_bytes();
    !b.is_empty()
        && b.len() <= TAG_MAX_LEN
        && is_word(b[0])
        && b.iter().all(|&x| is_word(x) || x == b'.' || x == b'-')
}

/// Reference-level digest grammar: `algorithm ":" hex{32,}`.
fn is_digest_grammar(d: &str) -> bool {
    let Some((alg, hex)) = d.split_once(':') else {
        return false;
    };
    let alg_ok = alg.split(['-', '_', '+', '.']).all(|c| {
        let b = c.as_bytes();
        b.first().is_some_and(u8::is_ascii_alphabetic) && b.iter().all(u8::is_ascii_alphanumeric)
    });
    alg_ok && hex.len() >= DIGEST_MIN_HEX && hex.bytes().all(|b| b.is_ascii_hexdigit())
}

/// go-digest v1.0.0 `Digest.Validate`, which Docker runs after the grammar:
/// only sha256/sha384/sha512 are usable, with exact-length lowercase hex.
fn validate_digest(d: &str) -> Result<(), ReferenceError> {
    let Some((alg, encoded)) = d.split_once(':') else {
        return Err(ReferenceError::DigestChecksumFormat);
    };
    if alg.is_empty() || encoded.is_empty() {
        return Err(ReferenceError::DigestChecksumFormat);
    }
    let hex_len = match alg {
        "sha256" => 64,
        "sha384" => 96,
        "sha512" => 128,
        _ if is_go_digest_grammar(alg, encoded) => return Err(ReferenceError::UnsupportedDigest),
        _ => return Err(ReferenceError::DigestChecksumFormat),
    };
    if encoded.len() != hex_len {
        return Err(ReferenceError::DigestLength);
    }
    if !encoded.bytes().all(is_lower_hex) {
        return Err(ReferenceError::DigestChecksumFormat);
    }
    Ok(())
}

/// go-digest's own `[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]+`; decides
/// between "unsupported" and "invalid format" for unknown algorithms.
fn is_go_digest_grammar(alg: &str, encoded: &str) -> bool {
    let alg_ok = alg
        .split(['.', '+', '_', '-'])
        .all(|c| !c.is_empty() && c.bytes().all(is_lower_alnum));
    let enc_ok = !encoded.is_empty()
        && encoded
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'=' | b'_' | b'-'));
    alg_ok && enc_ok
}

/// Go's `strings.ToLower`, which uses Unicode *simple* case mapping. Rust's
/// `to_lowercase` uses full mapping, which differs only for U+0130 ('İ'):
/// Go maps it to plain 'i'.
fn go_to_lower(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '\u{130}' => 'i',
            _ => c.to_lowercase().next().unwrap_or(c),
        })
        .collect()
}

fn is_lower_alnum(b: u8) -> bool {
    b.is_ascii_lowercase() || b.is_ascii_digit()
}

fn is_lower_hex(b: u8) -> bool {
    b.is_ascii_digit() || (b'a'..=b'f').contains(&b)
}

fn is_word(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

#[cfg(test)]
mod tests {
    use super::*;
    use ReferenceError as E;

    /// 64 lowercase hex characters, reused for digests and IDs.
    macro_rules! hex64 {
        () => {
            "86e0e091d0da6bde2456dbb48306f3956bbeb2eae1b5b9a43045843f69fe4aaa"
        };
    }
    const HEX64: &str = hex64!();
    const DGST: &str = concat!("sha256:", hex64!());

    /// Tests need some long inputs next to `&'static str` literals.
    fn leak(s: String) -> &'static str {
        Box::leak(s.into_boxed_str())
    }

    struct Valid {
        input: &'static str,
        domain: &'static str,
        path: &'static str,
        tag: Option<&'static str>,
        digest: Option<&'static str>,
        familiar_name: &'static str,
        familiar: &'static str,
        display: &'static str,
    }

    /// Row shorthand: (input, domain, path, tag, digest, familiar_name, familiar, display).
    type Row = (
        &'static str,
        &'static str,
        &'static str,
        Option<&'static str>,
        Option<&'static str>,
        &'static str,
        &'static str,
        &'static str,
    );

    #[rustfmt::skip]
    fn valid_rows() -> Vec<Valid> {
        let d = DGST;
        let a255 = "a".repeat(255);
        let a247 = "a".repeat(247);
        let t128 = format!("t{}", "x".repeat(127));
        let rows: Vec<Row> = vec![
            ("busybox", "docker.io", "library/busybox", None, None, "busybox", "busybox", "docker.io/library/busybox"),
            ("busybox:1.36", "docker.io", "library/busybox", Some("1.36"), None, "busybox", "busybox:1.36", "docker.io/library/busybox:1.36"),
            ("busybox:latest", "docker.io", "library/busybox", Some("latest"), None, "busybox", "busybox:latest", "docker.io/library/busybox:latest"),
            ("library/busybox", "docker.io", "library/busybox", None, None, "busybox", "busybox", "docker.io/library/busybox"),
            ("docker.io/busybox", "docker.io", "library/busybox", None, None, "busybox", "busybox", "docker.io/library/busybox"),
            ("docker.io/library/busybox", "docker.io", "library/busybox", None, None, "busybox", "busybox", "docker.io/library/busybox"),
            ("index.docker.io/library/busybox:latest", "docker.io", "library/busybox", Some("latest"), None, "busybox", "busybox:latest", "docker.io/library/busybox:latest"),
            ("index.docker.io/busybox", "docker.io", "library/busybox", None, None, "busybox", "busybox", "docker.io/library/busybox"),
            ("index.docker.io/user/app", "docker.io", "user/app", None, None, "user/app", "user/app", "docker.io/user/app"),
            ("user/app", "docker.io", "user/app", None, None, "user/app", "user/app", "docker.io/user/app"),
            ("user/app:v2", "docker.io", "user/app", Some("v2"), None, "user/app", "user/app:v2", "docker.io/user/app:v2"),
            ("docker.io/user/app", "docker.io", "user/app", None, None, "user/app", "user/app", "docker.io/user/app"),
            ("other/library", "docker.io", "other/library", None, None, "other/library", "other/library", "docker.io/other/library"),
            ("library/foo/bar", "docker.io", "library/foo/bar", None, None, "library/foo/bar", "library/foo/bar", "docker.io/library/foo/bar"),
            ("store/foo/bar:1", "docker.io", "store/foo/bar", Some("1"), None, "store/foo/bar", "store/foo/bar:1", "docker.io/store/foo/bar:1"),
            ("docker.io/library", "docker.io", "library/library", None, None, "library", "library", "docker.io/library/library"),
            ("localhost/app", "localhost", "app", None, None, "localhost/app", "localhost/app", "localhost/app"),
            ("localhost/library/debian", "localhost", "library/debian", None, None, "localhost/library/debian", "localhost/library/debian", "localhost/library/debian"),
            ("localhost:5000/app:v1", "localhost:5000", "app", Some("v1"), None, "localhost:5000/app", "localhost:5000/app:v1", "localhost:5000/app:v1"),
            ("127.0.0.1:5000/a/b/c:tag", "127.0.0.1:5000", "a/b/c", Some("tag"), None, "127.0.0.1:5000/a/b/c", "127.0.0.1:5000/a/b/c:tag", "127.0.0.1:5000/a/b/c:tag"),
            ("192.168.0.1", "docker.io", "library/192.168.0.1", None, None, "192.168.0.1", "192.168.0.1", "docker.io/library/192.168.0.1"),
            ("192.168.0.1:80", "docker.io", "library/192.168.0.1", Some("80"), None, "192.168.0.1", "192.168.0.1:80", "docker.io/library/192.168.0.1:80"),
            ("localhost:5000", "docker.io", "library/localhost", Some("5000"), None, "localhost", "localhost:5000", "docker.io/library/localhost:5000"),
            ("[::1]:5000/app", "[::1]:5000", "app", None, None, "[::1]:5000/app", "[::1]:5000/app", "[::1]:5000/app"),
            ("[2001:db8::1]/repo:tag", "[2001:db8::1]", "repo", Some("tag"), None, "[2001:db8::1]/repo", "[2001:db8::1]/repo:tag", "[2001:db8::1]/repo:tag"),
            ("[fc00:1:2:3:4:5:6:7]:5000/library/debian", "[fc00:1:2:3:4:5:6:7]:5000", "library/debian", None, None, "[fc00:1:2:3:4:5:6:7]:5000/library/debian", "[fc00:1:2:3:4:5:6:7]:5000/library/debian", "[fc00:1:2:3:4:5:6:7]:5000/library/debian"),
            ("example.com/ns/app@sha256:86e0e091d0da6bde2456dbb48306f3956bbeb2eae1b5b9a43045843f69fe4aaa", "example.com", "ns/app", None, Some(d), "example.com/ns/app", leak(format!("example.com/ns/app@{d}")), leak(format!("example.com/ns/app@{d}"))),
            (leak(format!("app:tag@{d}")), "docker.io", "library/app", Some("tag"), Some(d), "app", leak(format!("app:tag@{d}")), leak(format!("docker.io/library/app:tag@{d}"))),
            (leak(format!("busybox@{d}")), "docker.io", "library/busybox", None, Some(d), "busybox", leak(format!("busybox@{d}")), leak(format!("docker.io/library/busybox@{d}"))),
            (leak(format!("user/app@{d}")), "docker.io", "user/app", None, Some(d), "user/app", leak(format!("user/app@{d}")), leak(format!("docker.io/user/app@{d}"))),
            (leak(format!("[2001:db8::1]:5000/repo:tag@{d}")), "[2001:db8::1]:5000", "repo", Some("tag"), Some(d), "[2001:db8::1]:5000/repo", leak(format!("[2001:db8::1]:5000/repo:tag@{d}")), leak(format!("[2001:db8::1]:5000/repo:tag@{d}"))),
            (leak(format!("busybox@sha384:{}", "a".repeat(96))), "docker.io", "library/busybox", None, Some(leak(format!("sha384:{}", "a".repeat(96)))), "busybox", leak(format!("busybox@sha384:{}", "a".repeat(96))), leak(format!("docker.io/library/busybox@sha384:{}", "a".repeat(96)))),
            (leak(format!("busybox@sha512:{}", "b".repeat(128))), "docker.io", "library/busybox", None, Some(leak(format!("sha512:{}", "b".repeat(128)))), "busybox", leak(format!("busybox@sha512:{}", "b".repeat(128))), leak(format!("docker.io/library/busybox@sha512:{}", "b".repeat(128)))),
            ("my-app", "docker.io", "library/my-app", None, None, "my-app", "my-app", "docker.io/library/my-app"),
            ("my__app", "docker.io", "library/my__app", None, None, "my__app", "my__app", "docker.io/library/my__app"),
            ("my.app", "docker.io", "library/my.app", None, None, "my.app", "my.app", "docker.io/library/my.app"),
            ("a--b", "docker.io", "library/a--b", None, None, "a--b", "a--b", "docker.io/library/a--b"),
            ("docker---rules/do_ck.er", "docker.io", "docker---rules/do_ck.er", None, None, "docker---rules/do_ck.er", "docker---rules/do_ck.er", "docker.io/docker---rules/do_ck.er"),
            ("d/docker", "docker.io", "d/docker", None, None, "d/docker", "d/docker", "docker.io/d/docker"),
            ("test_com/foo", "docker.io", "test_com/foo", None, None, "test_com/foo", "test_com/foo", "docker.io/test_com/foo"),
            ("test-com:8080/foo", "test-com:8080", "foo", None, None, "test-com:8080/foo", "test-com:8080/foo", "test-com:8080/foo"),
            ("sub-dom1.foo.com/bar/baz/quux:some-long-tag", "sub-dom1.foo.com", "bar/baz/quux", Some("some-long-tag"), None, "sub-dom1.foo.com/bar/baz/quux", "sub-dom1.foo.com/bar/baz/quux:some-long-tag", "sub-dom1.foo.com/bar/baz/quux:some-long-tag"),
            ("b.gcr.io/test.example.com/my-app:test.example.com", "b.gcr.io", "test.example.com/my-app", Some("test.example.com"), None, "b.gcr.io/test.example.com/my-app", "b.gcr.io/test.example.com/my-app:test.example.com", "b.gcr.io/test.example.com/my-app:test.example.com"),
            ("xn--n3h.com/myimage:xn--n3h.com", "xn--n3h.com", "myimage", Some("xn--n3h.com"), None, "xn--n3h.com/myimage", "xn--n3h.com/myimage:xn--n3h.com", "xn--n3h.com/myimage:xn--n3h.com"),
            ("gcr.io/library/busybox", "gcr.io", "library/busybox", None, None, "gcr.io/library/busybox", "gcr.io/library/busybox", "gcr.io/library/busybox"),
            ("quay.io/coreos/etcd:v3.5.0", "quay.io", "coreos/etcd", Some("v3.5.0"), None, "quay.io/coreos/etcd", "quay.io/coreos/etcd:v3.5.0", "quay.io/coreos/etcd:v3.5.0"),
            ("ghcr.io/owner/repo/sub:1.0.0-rc.1_b", "ghcr.io", "owner/repo/sub", Some("1.0.0-rc.1_b"), None, "ghcr.io/owner/repo/sub", "ghcr.io/owner/repo/sub:1.0.0-rc.1_b", "ghcr.io/owner/repo/sub:1.0.0-rc.1_b"),
            // Tags may be uppercase and start with '_' or a digit.
            ("busybox:Latest", "docker.io", "library/busybox", Some("Latest"), None, "busybox", "busybox:Latest", "docker.io/library/busybox:Latest"),
            ("busybox:_x", "docker.io", "library/busybox", Some("_x"), None, "busybox", "busybox:_x", "docker.io/library/busybox:_x"),
            // Docker treats an uppercase first component as a domain and keeps its case.
            ("UPPER/lower", "UPPER", "lower", None, None, "UPPER/lower", "UPPER/lower", "UPPER/lower"),
            ("LOCALDOMAIN/debian:1", "LOCALDOMAIN", "debian", Some("1"), None, "LOCALDOMAIN/debian", "LOCALDOMAIN/debian:1", "LOCALDOMAIN/debian:1"),
            ("DOCKER.IO/foo", "DOCKER.IO", "foo", None, None, "DOCKER.IO/foo", "DOCKER.IO/foo", "DOCKER.IO/foo"),
            // Port digits are not range-checked by Docker either.
            ("example.com:99999/app", "example.com:99999", "app", None, None, "example.com:99999/app", "example.com:99999/app", "example.com:99999/app"),
            // Only a *bare* 64-hex string is refused.
            (leak(format!("{HEX64}:tag")), "docker.io", leak(format!("library/{HEX64}")), Some("tag"), None, HEX64, leak(format!("{HEX64}:tag")), leak(format!("docker.io/library/{HEX64}:tag"))),
            (&HEX64[..63], "docker.io", leak(format!("library/{}", &HEX64[..63])), None, None, &HEX64[..63], &HEX64[..63], leak(format!("docker.io/library/{}", &HEX64[..63]))),
            // Length limits: path of exactly 255, tag of exactly 128.
            (leak(format!("example.com/{a255}:tag")), "example.com", leak(a255.clone()), Some("tag"), None, leak(format!("example.com/{a255}")), leak(format!("example.com/{a255}:tag")), leak(format!("example.com/{a255}:tag"))),
            (leak(a247.clone()), "docker.io", leak(format!("library/{a247}")), None, None, leak(a247.clone()), leak(a247.clone()), leak(format!("docker.io/library/{a247}"))),
            (leak(format!("busybox:{t128}")), "docker.io", "library/busybox", Some(leak(t128.clone())), None, "busybox", leak(format!("busybox:{t128}")), leak(format!("docker.io/library/busybox:{t128}"))),
        ];
        rows.into_iter()
            .map(|(input, domain, path, tag, digest, familiar_name, familiar, display)| Valid {
                input,
                domain,
                path,
                tag,
                digest,
                familiar_name,
                familiar,
                display,
            })
            .collect()
    }

    fn error_rows() -> Vec<(&'static str, ReferenceError)> {
        let d = DGST;
        vec![
            ("", E::InvalidFormat),
            ("Busybox", E::NotLowercase("library/Busybox".into())),
            ("Busybox:1", E::NotLowercase("library/Busybox".into())),
            ("docker/Docker", E::NotLowercase("docker/Docker".into())),
            (
                "docker.io/docker/Docker",
                E::NotLowercase("docker/Docker".into()),
            ),
            ("Docker/Docker", E::NotLowercase("Docker".into())),
            (
                "test:5000/Uppercase/lowercase:tag",
                E::NotLowercase("Uppercase/lowercase".into()),
            ),
            // The "repository" Docker names is whatever precedes the first ':'.
            (
                leak(format!("busybox@SHA256:{HEX64}")),
                E::NotLowercase("library/busybox@SHA256".into()),
            ),
            (
                "\u{130}stanbul",
                E::NotLowercase("library/\u{130}stanbul".into()),
            ),
            // Uppercase that the lowercase pre-check does not see.
            ("UPPER_x/lower", E::ContainsUppercase),
            ("busybox:\u{212A}", E::ContainsUppercase), // Kelvin sign lowercases to ASCII 'k'
            ("busybox:", E::InvalidFormat),
            (":tag", E::InvalidFormat),
            (":", E::InvalidFormat),
            ("@", E::InvalidFormat),
            ("/", E::InvalidFormat),
            (leak(format!("@{d}")), E::InvalidFormat),
            ("busybox@sha256:short", E::InvalidFormat),
            ("busybox@sha256:abc", E::InvalidFormat),
            ("busybox:tag with space", E::InvalidFormat),
            ("busybox:tag@", E::InvalidFormat),
            (leak(format!("busybox@@{d}")), E::InvalidFormat),
            (leak(format!("busybox@{d}@{d}")), E::InvalidFormat),
            ("busybox:1:2", E::InvalidFormat),
            ("-busybox", E::InvalidFormat),
            ("busybox-", E::InvalidFormat),
            ("-docker/docker", E::InvalidFormat),
            ("docker-/docker", E::InvalidFormat),
            ("-docker.io/docker/docker", E::InvalidFormat),
            ("_app", E::InvalidFormat),
            ("____/____", E::InvalidFormat),
            ("dock..er/docker", E::InvalidFormat),
            ("dock_.er/docker", E::InvalidFormat),
            ("dock-.er/docker", E::InvalidFormat),
            ("dock___er", E::InvalidFormat),
            ("a//b", E::InvalidFormat),
            ("docker///docker", E::InvalidFormat),
            ("docker/", E::InvalidFormat),
            ("busybox/", E::InvalidFormat),
            ("/busybox", E::InvalidFormat),
            ("host:port:tag:extra", E::InvalidFormat),
            ("a:b/c", E::InvalidFormat),
            ("localhost:/app", E::InvalidFormat),
            ("https://github.com/docker/docker", E::InvalidFormat),
            ("busybox:-tag", E::InvalidFormat),
            ("busybox:.tag", E::InvalidFormat),
            ("busybox\n", E::InvalidFormat),
            (" busybox", E::InvalidFormat),
            ("[fc00::1]", E::InvalidFormat),
            ("[fc00::1]:5000", E::InvalidFormat),
            ("[]:5000/app", E::InvalidFormat),
            ("[::1:5000/app", E::InvalidFormat),
            ("fc00::1:5000/debian", E::InvalidFormat),
            ("[fe80::1%eth0]:5000/debian", E::InvalidFormat),
            ("[2001:db8:3:4::192.0.2.33]:5000/debian", E::InvalidFormat),
            ("bùsybox", E::InvalidFormat),
            (HEX64, E::HexIdentifier(HEX64.into())),
            (leak("a".repeat(256)), E::NameTooLong),
            (leak("a".repeat(248)), E::NameTooLong), // "library/" pushes the path to 256
            (
                leak(format!("domain.com/{}:tag", "a".repeat(256))),
                E::NameTooLong,
            ),
            (
                leak(format!("busybox:t{}", "x".repeat(128))),
                E::InvalidFormat,
            ),
            // Digest checks done after the grammar (go-digest).
            (
                leak(format!("busybox@sha256:{}", HEX64.to_uppercase())),
                E::DigestChecksumFormat,
            ),
            (
                leak(format!("busybox:1@SHA256:{HEX64}")),
                E::DigestChecksumFormat,
            ),
            (
                leak(format!("busybox@sha256:{}", "f".repeat(34))),
                E::DigestLength,
            ),
            (leak(format!("busybox@sha256:{HEX64}00")), E::DigestLength),
            (
                leak(format!("busybox@md5:{}", "f".repeat(32))),
                E::UnsupportedDigest,
            ),
            (
                leak(format!("validname@invaliddigest:{HEX64}")),
                E::UnsupportedDigest,
            ),
            // Deviation from Docker (see parse_strict): domain-less names.
            ("foo_bar.com/app", E::InvalidFormat),
        ]
    }

    #[test]
    fn valid_table() {
        let rows = valid_rows();
        assert!(rows.len() >= 50, "only {} rows", rows.len());
        for row in &rows {
            let r = Reference::parse(row.input)
                .unwrap_or_else(|e| panic!("{:?} should parse, got {e}", row.input));
            let ctx = row.input;
            assert_eq!(r.domain(), row.domain, "domain of {ctx:?}");
            assert_eq!(r.path(), row.path, "path of {ctx:?}");
            assert_eq!(r.tag(), row.tag, "tag of {ctx:?}");
            assert_eq!(r.digest(), row.digest, "digest of {ctx:?}");
            assert_eq!(
                r.name(),
                format!("{}/{}", row.domain, row.path),
                "name of {ctx:?}"
            );
            assert_eq!(
                r.familiar_name(),
                row.familiar_name,
                "familiar_name of {ctx:?}"
            );
            assert_eq!(r.familiar(), row.familiar, "familiar of {ctx:?}");
            assert_eq!(r.to_string(), row.display, "display of {ctx:?}");
            assert_eq!(
                row.input.parse::<Reference>().as_ref(),
                Ok(&r),
                "FromStr of {ctx:?}"
            );
        }
    }

    #[test]
    fn valid_rows_round_trip() {
        for row in valid_rows() {
            let r = Reference::parse(row.input).expect(row.input);
            assert_eq!(
                Reference::parse(&r.to_string()),
                Ok(r.clone()),
                "display of {:?}",
                row.input
            );
            assert_eq!(
                Reference::parse(&r.familiar()),
                Ok(r.clone()),
                "familiar of {:?}",
                row.input
            );
            let tagged = Reference::parse_with_default_tag(row.input).expect(row.input);
            assert_eq!(Reference::parse(&tagged.to_string()), Ok(tagged.clone()));
            assert_eq!(Reference::parse(&tagged.familiar()), Ok(tagged));
        }
    }

    #[test]
    fn error_table() {
        for (input, want) in error_rows() {
            let short: String = input.chars().take(80).collect();
            assert_eq!(
                Reference::parse(input),
                Err(want.clone()),
                "parse of {short:?}"
            );
            assert_eq!(
                Reference::parse_with_default_tag(input),
                Err(want),
                "parse_with_default_tag of {short:?}"
            );
        }
    }

    #[test]
    fn error_messages_match_docker() {
        let msg = |s: &str| {
            Reference::parse(s)
                .map(|r| r.to_string())
                .unwrap_or_else(|e| e.to_string())
        };
        assert_eq!(msg("busybox:"), "invalid reference format");
        assert_eq!(
            msg("Busybox"),
            "invalid reference format: repository name (library/Busybox) must be lowercase"
        );
        assert_eq!(
            msg(HEX64),
            format!(
                "invalid repository name ({HEX64}), cannot specify 64-byte hexadecimal strings"
            )
        );
        assert_eq!(
            msg(&"a".repeat(256)),
            "repository name must not be more than 255 characters"
        );
        assert_eq!(msg("UPPER_x/lower"), "repository name must be lowercase");
        assert_eq!(
            msg(&format!("a@sha256:{}", "f".repeat(32))),
            "invalid checksum digest length"
        );
        assert_eq!(
            msg(&format!("a@foo:{}", "f".repeat(32))),
            "unsupported digest algorithm"
        );
        assert_eq!(
            msg(&format!("a:b@sha256:{}", HEX64.to_uppercase())),
            "invalid checksum digest format"
        );
        assert_eq!(E::InvalidTag.to_string(), "invalid tag format");
        assert_eq!(E::InvalidDigest.to_string(), "invalid digest format");
    }

    #[test]
    fn default_tag() {
        let cases: Vec<(String, String)> = vec![
            ("busybox".into(), "docker.io/library/busybox:latest".into()),
            ("busybox:1".into(), "docker.io/library/busybox:1".into()),
            (
                "library/busybox".into(),
                "docker.io/library/busybox:latest".into(),
            ),
            (
                "docker.io/busybox".into(),
                "docker.io/library/busybox:latest".into(),
            ),
            (
                "gcr.io/library/busybox".into(),
                "gcr.io/library/busybox:latest".into(),
            ),
            (
                "localhost:5000/app".into(),
                "localhost:5000/app:latest".into(),
            ),
            (
                format!("busybox@{DGST}"),
                format!("docker.io/library/busybox@{DGST}"),
            ),
            (
                format!("busybox:1@{DGST}"),
                format!("docker.io/library/busybox:1@{DGST}"),
            ),
        ];
        for (input, want) in cases {
            let r = Reference::parse_with_default_tag(&input).expect(&input);
            assert_eq!(r.to_string(), want, "{input}");
        }
        let r = Reference::parse_with_default_tag("busybox").expect("busybox");
        assert_eq!(r.tag(), Some(DEFAULT_TAG));
        assert_eq!(r.familiar(), "busybox:latest");
        // parse itself never invents a tag.
        assert_eq!(
            Reference::parse("busybox").map(|r| r.tag().map(str::to_string)),
            Ok(None)
        );
    }

    #[test]
    fn with_tag_and_digest() {
        let r = Reference::parse(&format!("busybox:1@{DGST}")).expect("parse");
        let t = r.with_tag("2.0").expect("tag");
        assert_eq!(t.to_string(), "docker.io/library/busybox:2.0");
        assert_eq!(t.digest(), None);
        let d = r.with_digest(DGST).expect("digest");
        assert_eq!(d.to_string(), format!("docker.io/library/busybox@{DGST}"));
        assert_eq!(d.familiar(), format!("busybox@{DGST}"));
        assert_eq!(d.tag(), None);
        assert_eq!(r.repository().to_string(), "docker.io/library/busybox");
        assert_eq!(r.repository().tag(), None);
        assert_eq!(r.repository().digest(), None);

        assert_eq!(r.with_tag("-foo"), Err(E::InvalidTag));
        assert_eq!(r.with_tag(""), Err(E::InvalidTag));
        assert_eq!(r.with_tag("a b"), Err(E::InvalidTag));
        assert_eq!(r.with_tag(&"x".repeat(129)), Err(E::InvalidTag));
        assert!(r.with_tag(&"x".repeat(128)).is_ok());
        assert_eq!(r.with_digest("foo"), Err(E::InvalidDigest));
        assert_eq!(r.with_digest(HEX64), Err(E::InvalidDigest));
        assert_eq!(r.with_digest("sha256:abc"), Err(E::InvalidDigest));
        assert_eq!(
            r.with_digest(&format!("sha256:{HEX64}0")),
            Err(E::DigestLength)
        );
        assert_eq!(
            r.with_digest(&format!("sha256:{}", HEX64.to_uppercase())),
            Err(E::DigestChecksumFormat)
        );
        assert_eq!(
            r.with_digest(&format!("blake3:{HEX64}")),
            Err(E::UnsupportedDigest)
        );
    }

    #[test]
    fn validate_tag_and_full_id() {
        for ok in [
            "latest",
            "1",
            "_",
            "v1.2.3-rc.1",
            "UPPER",
            "a_b-c.d",
            &"x".repeat(128),
        ] {
            assert_eq!(validate_tag(ok), Ok(()), "{ok}");
        }
        for bad in [
            "",
            "-x",
            ".x",
            "a:b",
            "a/b",
            "a@b",
            "a b",
            "é",
            &"x".repeat(129),
        ] {
            assert_eq!(validate_tag(bad), Err(E::InvalidTag), "{bad}");
        }
        assert!(is_full_id(HEX64));
        assert!(!is_full_id(&HEX64[..63]));
        assert!(!is_full_id(&format!("{HEX64}0")));
        assert!(!is_full_id(&HEX64.to_uppercase()));
        assert!(!is_full_id(DGST));
        assert!(!is_full_id(&"g".repeat(64)));
    }

    #[test]
    fn registry_host() {
        let host = |s: &str| Reference::parse(s).map(|r| r.registry_host().to_string());
        assert_eq!(host("busybox"), Ok("registry-1.docker.io".into()));
        assert_eq!(
            host("index.docker.io/user/app"),
            Ok("registry-1.docker.io".into())
        );
        assert_eq!(host("localhost:5000/app"), Ok("localhost:5000".into()));
        assert_eq!(host("[::1]:5000/app"), Ok("[::1]:5000".into()));
        assert_eq!(host("ghcr.io/a/b"), Ok("ghcr.io".into()));
    }

    /// Docker quirks kept on purpose, pinned so nobody "fixes" them by accident.
    #[test]
    fn docker_quirks() {
        // A 64-hex repository is fine once a domain makes it unambiguous, but
        // its familiar form is the bare hex and therefore does not reparse.
        let r = Reference::parse(&format!("docker.io/{HEX64}")).expect("hex with domain");
        assert_eq!(r.path(), format!("library/{HEX64}"));
        assert_eq!(r.familiar(), HEX64);
        assert!(Reference::parse(&r.familiar()).is_err());
        // docker.io repos whose first path component looks like a domain have
        // an ambiguous familiar form, exactly as in Docker.
        let r = Reference::parse("docker.io/foo.com/bar").expect("dotted namespace");
        assert_eq!((r.domain(), r.path()), ("docker.io", "foo.com/bar"));
        assert_eq!(r.familiar(), "foo.com/bar");
        assert_eq!(
            Reference::parse("foo.com/bar").map(|r| r.domain().to_string()),
            Ok("foo.com".into())
        );
        // Domains keep their case and are not folded into docker.io.
        assert_eq!(
            Reference::parse("Docker.IO/library/x").map(|r| r.to_string()),
            Ok("Docker.IO/library/x".into())
        );
    }

    /// Inputs meant to break a hand-written parser: none may panic, and any
    /// that parse must round-trip.
    #[test]
    fn weird_inputs_do_not_panic() {
        let mut inputs: Vec<String> = [
            "\0",
            "busy\0box",
            "busybox:\0",
            "busybox@\0",
            "\u{feff}busybox",
            "日本/app",
            "app:日本",
            "🐳",
            "🐳/🐳:🐳@🐳",
            "ｂｕｓｙｂｏｘ",
            "\u{212A}",
            "İ",
            "a\u{301}",
            "\r\n",
            "\t",
            "[",
            "]",
            "[]",
            "[[::1]]:5000/a",
            "[::1]]/a",
            "[:]/a",
            "[::1]:/a",
            "[::1]:a/b",
            "::",
            "@@",
            "::@@//",
            "a@b:c",
            "a:b@c:d",
            "a/b:c/d",
            "a:b:c",
            "a/:b",
            "a@:",
            "@:",
            ":@",
            "a.-b/c",
            "a-.b/c",
            "-/-",
            "./.",
            "../a",
            "a/./b",
            "a/../b",
            "%2F",
            "a%20b",
            "a\\b",
            "localhost",
            "localhost/",
            "localhost:",
            "docker.io",
            "docker.io/",
            "index.docker.io",
            "index.docker.io/",
            "sha256:",
            "sha256:abc",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        inputs.push(format!("sha256:{HEX64}"));
        inputs.push("a".repeat(1 << 20));
        inputs.push("/".repeat(100_000));
        inputs.push(":".repeat(100_000));
        inputs.push("@".repeat(100_000));
        inputs.push("a/".repeat(50_000));
        inputs.push("a-".repeat(50_000) + "a");
        inputs.push("[".repeat(10_000) + "/a");
        inputs.push(format!("busybox:{}", "é".repeat(10_000)));
        inputs.push(format!("busybox@sha256:{}", "f".repeat(100_000)));
        inputs.push(format!("{}/a", "a.".repeat(50_000)));
        for s in &inputs {
            check_no_panic(s);
        }
    }

    /// Deterministic pseudo-random fuzzing over an alphabet dense in
    /// grammar-significant characters.
    #[test]
    fn pseudo_random_inputs() {
        let alphabet: Vec<char> = "ab0f.-_/:@[]AZ é\0\u{130}".chars().collect();
        let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut next = || {
            // xorshift64*: cheap, deterministic, good enough to spread inputs.
            state ^= state >> 12;
            state ^= state << 25;
            state ^= state >> 27;
            state.wrapping_mul(0x2545_F491_4F6C_DD1D)
        };
        let mut parsed = 0;
        for _ in 0..50_000 {
            let len = (next() % 24) as usize;
            let s: String = (0..len)
                .map(|_| alphabet[(next() % alphabet.len() as u64) as usize])
                .collect();
            if check_no_panic(&s) {
                parsed += 1;
            }
        }
        assert!(parsed > 0, "fuzzer never produced a valid reference");
    }

    /// Parses `s` both ways; on success checks invariants and the Display
    /// round-trip. Returns whether it parsed.
    fn check_no_panic(s: &str) -> bool {
        let _ = Reference::parse_with_default_tag(s);
        let _ = s.parse::<Reference>();
        let _ = validate_tag(s);
        let _ = is_full_id(s);
        let Ok(r) = Reference::parse(s) else {
            return false;
        };
        assert!(!r.domain().is_empty(), "{s:?}");
        assert!(r.path().len() <= NAME_TOTAL_LENGTH_MAX, "{s:?}");
        assert_eq!(Reference::parse(&r.to_string()), Ok(r.clone()), "{s:?}");
        let _ = r.familiar();
        let _ = r.with_tag(s);
        let _ = r.with_digest(s);
        true
    }
}
