//! The files of an image archive, read once from a stream or a directory. Small files
//! (manifests, configs) stay in memory; large ones (layers) go straight into the blob
//! store while being hashed, so an archive is never written to disk twice.

use std::collections::HashMap;
use std::fs;
use std::io::Read;
use std::path::Path;

use crate::engine::error::{is_disk_error, Error, IoContext, Result};
use crate::engine::image::blobs::Blobs;
use crate::engine::image::digest::sha256_hex;

/// Files up to this size are kept in memory.
const SMALL_FILE: u64 = 1 << 20;
/// A cap on what an archive may keep in memory, so a crafted one cannot exhaust it.
const MEMORY_CAP: u64 = 256 << 20;
/// The largest manifest, index or config read into memory.
pub const METADATA_MAX: u64 = 16 << 20;
/// Symlink hops followed when resolving a path (classic archives link shared layers).
const MAX_LINK_HOPS: usize = 16;

#[derive(Debug, Clone)]
enum Entry {
    Mem(Vec<u8>),
    Blob { digest: String, size: u64 },
    Link(String),
}

#[derive(Debug, Default)]
pub struct ArchiveFiles {
    files: HashMap<String, Entry>,
    mem_bytes: u64,
}

/// "./a//b/" -> "a/b"; None for paths that climb out (they can't name a member).
fn normalize(p: &str) -> Option<String> {
    let mut parts: Vec<&str> = Vec::new();
    for c in p.split('/') {
        match c {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            c => parts.push(c),
        }
    }
    Some(parts.join("/"))
}

fn join_link(from: &str, target: &str) -> Option<String> {
    if target.starts_with('/') {
        return normalize(target);
    }
    let dir = from.rsplit_once('/').map(|(d, _)| d).unwrap_or("");
    normalize(&format!("{dir}/{target}"))
}

impl ArchiveFiles {
    /// Reads a tar stream (already decompressed).
    pub fn from_tar<R: Read>(r: R, blobs: &Blobs<'_>, tmp: &Path) -> Result<ArchiveFiles> {
        let mut out = ArchiveFiles::default();
        let mut archive = tar::Archive::new(r);
        let entries = archive.entries().map_err(bad_archive)?;
        let mut count = 0usize;
        for entry in entries {
            let mut entry = entry.map_err(bad_archive)?;
            count += 1;
            let raw = entry.path_bytes();
            let name = String::from_utf8_lossy(&raw).into_owned();
            let Some(name) = normalize(&name) else {
                continue;
            };
            let kind = entry.header().entry_type();
            if kind.is_symlink() || kind.is_hard_link() {
                let target = entry
                    .link_name_bytes()
                    .map(|b| String::from_utf8_lossy(&b).into_owned())
                    .unwrap_or_default();
                let resolved = if kind.is_hard_link() {
                    normalize(&target)
                } else {
                    join_link(&name, &target)
                };
                if let Some(t) = resolved {
                    out.files.insert(name, Entry::Link(t));
                }
                continue;
            }
            if !kind.is_file() {
                continue;
            }
            let size = entry.size();
            if size <= SMALL_FILE && out.mem_bytes + size <= MEMORY_CAP {
                let mut buf = Vec::with_capacity(size as usize);
                entry.read_to_end(&mut buf).map_err(bad_archive)?;
                out.mem_bytes += buf.len() as u64;
                out.files.insert(name, Entry::Mem(buf));
            } else {
                let (digest, size) = blobs.put(tmp, &mut entry, None).map_err(|e| match e {
                    Error::Io { source, .. } if !is_disk_error(&source) => bad_archive(source),
                    e => e,
                })?;
                out.files.insert(name, Entry::Blob { digest, size });
            }
        }
        if count == 0 {
            return Err(Error::invalid(
                "the archive is empty: expected a file written by \"save\" (docker-archive) or an OCI image archive",
            ));
        }
        Ok(out)
    }

    /// Reads an OCI image layout directory.
    pub fn from_dir(dir: &Path, blobs: &Blobs<'_>, tmp: &Path) -> Result<ArchiveFiles> {
        let mut out = ArchiveFiles::default();
        for entry in walkdir::WalkDir::new(dir).follow_links(false) {
            let entry =
                entry.map_err(|e| Error::invalid(format!("reading {}: {e}", dir.display())))?;
            if !entry.file_type().is_file() {
                continue;
            }
            let rel = entry
                .path()
                .strip_prefix(dir)
                .map(|p| p.to_string_lossy().into_owned())
                .unwrap_or_default();
            let size = entry.metadata().map(|m| m.len()).unwrap_or(0);
            let path = entry.path();
            if size <= SMALL_FILE && out.mem_bytes + size <= MEMORY_CAP {
                let buf = fs::read(path).ctx(|| format!("reading {}", path.display()))?;
                out.mem_bytes += buf.len() as u64;
                out.files.insert(rel, Entry::Mem(buf));
            } else {
                let f = fs::File::open(path).ctx(|| format!("reading {}", path.display()))?;
                let (digest, size) = blobs.put(tmp, f, None)?;
                out.files.insert(rel, Entry::Blob { digest, size });
            }
        }
        Ok(out)
    }

    pub fn contains(&self, path: &str) -> bool {
        self.lookup(path).is_ok()
    }

    fn lookup(&self, path: &str) -> Result<&Entry> {
        let mut p = normalize(path).ok_or_else(|| missing(path))?;
        for _ in 0..MAX_LINK_HOPS {
            match self.files.get(&p) {
                Some(Entry::Link(t)) => p = t.clone(),
                Some(e) => return Ok(e),
                None => return Err(missing(path)),
            }
        }
        Err(Error::invalid(format!(
            "archive member {path:?}: too many levels of links"
        )))
    }

    /// Reads a metadata member (manifest, index, config). These are small; a large one
    /// is refused rather than read into memory.
    pub fn read(&self, path: &str, blobs: &Blobs<'_>) -> Result<Vec<u8>> {
        match self.lookup(path)? {
            Entry::Mem(b) => Ok(b.clone()),
            Entry::Blob { size, .. } if *size > METADATA_MAX => Err(Error::invalid(format!(
                "archive member {path:?} is {size} bytes: too large for a manifest or image config"
            ))),
            Entry::Blob { digest, .. } => blobs.read(digest),
            Entry::Link(_) => Err(missing(path)),
        }
    }

    /// Size of a member without reading it.
    pub fn size(&self, path: &str) -> Result<u64> {
        match self.lookup(path)? {
            Entry::Mem(b) => Ok(b.len() as u64),
            Entry::Blob { size, .. } => Ok(*size),
            Entry::Link(_) => Err(missing(path)),
        }
    }

    /// Puts the member into the blob store; returns (digest, size).
    pub fn to_blob(&self, path: &str, blobs: &Blobs<'_>, tmp: &Path) -> Result<(String, u64)> {
        match self.lookup(path)? {
            Entry::Mem(b) => blobs.put_bytes(tmp, b, None),
            Entry::Blob { digest, size } => Ok((digest.clone(), *size)),
            Entry::Link(_) => Err(missing(path)),
        }
    }

    /// Hex digest of a member's content (to check content-addressed names).
    pub fn digest_hex(&self, path: &str) -> Result<String> {
        match self.lookup(path)? {
            Entry::Mem(b) => Ok(sha256_hex(b)),
            Entry::Blob { digest, .. } => Ok(digest.trim_start_matches("sha256:").to_string()),
            Entry::Link(_) => Err(missing(path)),
        }
    }
}

fn missing(path: &str) -> Error {
    Error::invalid(format!(
        "the archive has no file {path:?} (it is truncated or not an image archive)"
    ))
}

fn bad_archive(e: std::io::Error) -> Error {
    if is_disk_error(&e) {
        return Error::io("writing to the store", e);
    }
    Error::invalid(format!(
        "invalid or truncated archive: {e}; expected a file written by \"save\" (docker-archive) or an OCI image archive"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalizes_member_paths() {
        assert_eq!(normalize("./a//b/").as_deref(), Some("a/b"));
        assert_eq!(normalize("a/../b").as_deref(), Some("b"));
        assert_eq!(normalize("../x"), None);
        assert_eq!(
            join_link("x/layer.tar", "../y/layer.tar").as_deref(),
            Some("y/layer.tar")
        );
    }
}
