//! Content-addressed blob store: `blobs/sha256/<hex>`. Writes go to a scratch file,
//! are hashed while written, checked against the expected digest, then renamed into
//! place, so a blob that exists is always whole and correct.

use std::fs::{self, File};
use std::io::{self, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use crate::engine::error::{Error, IoContext, Result};
use crate::engine::image::digest::{parse_digest, HashingWriter};
use crate::engine::store::Paths;

#[derive(Debug, Clone, Copy)]
pub struct Blobs<'a> {
    paths: &'a Paths,
}

impl<'a> Blobs<'a> {
    pub fn new(paths: &'a Paths) -> Self {
        Blobs { paths }
    }

    pub fn path(&self, digest: &str) -> Result<PathBuf> {
        Ok(self.paths.blob(parse_digest(digest)?))
    }

    pub fn exists(&self, digest: &str) -> bool {
        self.path(digest).map(|p| p.exists()).unwrap_or(false)
    }

    pub fn open(&self, digest: &str) -> Result<File> {
        let p = self.path(digest)?;
        File::open(&p).map_err(|e| {
            if e.kind() == io::ErrorKind::NotFound {
                Error::not_found(format!(
                    "blob {digest} is missing from the store; remove the image and load or pull it again"
                ))
            } else {
                Error::io(format!("opening blob {digest}"), e)
            }
        })
    }

    pub fn read(&self, digest: &str) -> Result<Vec<u8>> {
        let mut v = Vec::new();
        self.open(digest)?
            .read_to_end(&mut v)
            .ctx(|| format!("reading blob {digest}"))?;
        Ok(v)
    }

    /// Streams `r` into the store. With `expected`, a different digest is an error and
    /// nothing is stored. Returns (digest, size).
    pub fn put<R: Read>(
        &self,
        tmp_dir: &Path,
        mut r: R,
        expected: Option<&str>,
    ) -> Result<(String, u64)> {
        if let Some(d) = expected {
            parse_digest(d)?;
        }
        let tmp = tempfile::NamedTempFile::new_in(tmp_dir)
            .ctx(|| format!("creating a scratch file in {}", tmp_dir.display()))?;
        let mut w = HashingWriter::new(BufWriter::with_capacity(256 * 1024, tmp));
        io::copy(&mut r, &mut w).ctx(|| "writing blob".to_string())?;
        let (buf, digest, size) = w.finish();
        let tmp = buf
            .into_inner()
            .map_err(|e| Error::io("writing blob", e.into_error()))?;
        if let Some(want) = expected {
            if want != digest {
                return Err(Error::invalid(format!(
                    "digest mismatch: expected {want}, content has {digest} ({size} bytes)"
                )));
            }
        }
        let dest = self.path(&digest)?;
        if !dest.exists() {
            tmp.persist(&dest)
                .map_err(|e| Error::io(format!("storing blob {digest}"), e.error))?;
        }
        Ok((digest, size))
    }

    pub fn put_bytes(
        &self,
        tmp_dir: &Path,
        data: &[u8],
        expected: Option<&str>,
    ) -> Result<(String, u64)> {
        let digest = crate::engine::image::digest::sha256_digest(data);
        if let Some(want) = expected {
            if want != digest {
                return Err(Error::invalid(format!(
                    "digest mismatch: expected {want}, content has {digest} ({} bytes)",
                    data.len()
                )));
            }
        }
        if self.exists(&digest) {
            return Ok((digest, data.len() as u64));
        }
        self.put(tmp_dir, data, Some(&digest))
    }

    /// All stored digests (for garbage collection).
    pub fn list(&self) -> Result<Vec<String>> {
        let dir = self.paths.blobs();
        let mut out = Vec::new();
        for e in fs::read_dir(&dir).ctx(|| format!("reading {}", dir.display()))? {
            let e = e.ctx(|| format!("reading {}", dir.display()))?;
            out.push(format!("sha256:{}", e.file_name().to_string_lossy()));
        }
        Ok(out)
    }

    pub fn remove(&self, digest: &str) -> Result<()> {
        let p = self.path(digest)?;
        match fs::remove_file(&p) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => {
                Err(Error::io(format!("removing blob {digest}"), e))
            }
            _ => Ok(()),
        }
    }
}

/// Writes `data` to `path` atomically (scratch file + fsync + rename).
pub fn write_atomic(path: &Path, data: &[u8]) -> Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut tmp =
        tempfile::NamedTempFile::new_in(dir).ctx(|| format!("writing {}", path.display()))?;
    tmp.write_all(data)
        .and_then(|_| tmp.as_file().sync_all())
        .ctx(|| format!("writing {}", path.display()))?;
    tmp.persist(path)
        .map_err(|e| Error::io(format!("writing {}", path.display()), e.error))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::image::digest::sha256_digest;

    #[test]
    fn put_verifies_and_dedupes() {
        let root = tempfile::tempdir().expect("tempdir");
        let paths = Paths::new(Some(root.path()));
        fs::create_dir_all(paths.blobs()).expect("mkdir");
        let tmp = root.path().join("tmp");
        fs::create_dir_all(&tmp).expect("mkdir");
        let b = Blobs::new(&paths);
        let (d, n) = b.put(&tmp, &b"abc"[..], None).expect("put");
        assert_eq!((d.as_str(), n), (sha256_digest(b"abc").as_str(), 3));
        assert_eq!(b.read(&d).expect("read"), b"abc");
        let wrong = sha256_digest(b"xyz");
        let err = b.put(&tmp, &b"abc2"[..], Some(&wrong)).unwrap_err();
        assert!(err.to_string().contains("digest mismatch"), "{err}");
        assert_eq!(b.list().expect("list"), vec![d.clone()]);
        // Nothing left behind in the scratch dir.
        assert_eq!(fs::read_dir(&tmp).expect("ls").count(), 0);
    }
}
