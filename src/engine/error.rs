//! The engine's error type. Variants map onto Docker's API status classes so the CLI
//! and the API server can pick exit codes and HTTP statuses without string matching.

use std::io;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// 404: no such image/container/volume/network.
    #[error("{0}")]
    NotFound(String),
    /// 409: the object is in use or the name is taken.
    #[error("{0}")]
    Conflict(String),
    /// 400: bad input from the caller (reference, flag value, archive contents).
    #[error("{0}")]
    InvalidArgument(String),
    /// 500: the disk, the kernel or the store failed.
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: io::Error,
    },
    #[error("metadata store: {0}")]
    Db(#[from] rusqlite::Error),
    #[error("{0}")]
    Other(String),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn io(context: impl Into<String>, source: io::Error) -> Self {
        Error::Io {
            context: context.into(),
            source,
        }
    }
    pub fn invalid(msg: impl Into<String>) -> Self {
        Error::InvalidArgument(msg.into())
    }
    pub fn not_found(msg: impl Into<String>) -> Self {
        Error::NotFound(msg.into())
    }
    pub fn conflict(msg: impl Into<String>) -> Self {
        Error::Conflict(msg.into())
    }
    /// True when the underlying cause is a full disk, so callers can say so plainly.
    pub fn is_disk_full(&self) -> bool {
        matches!(self, Error::Io { source, .. } if source.raw_os_error() == Some(libc::ENOSPC))
    }
}

/// Errors that come from the store's disk (full, quota, failing or read-only) rather than
/// from the data being read: these must stay io errors, not "bad input".
pub fn is_disk_error(e: &io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(libc::ENOSPC) | Some(libc::EDQUOT) | Some(libc::EIO) | Some(libc::EROFS)
    )
}

/// Adds a context string to io errors: `fs::read(p).ctx(|| format!("reading {p:?}"))`.
pub trait IoContext<T> {
    fn ctx<F: FnOnce() -> String>(self, f: F) -> Result<T>;
}

impl<T> IoContext<T> for io::Result<T> {
    fn ctx<F: FnOnce() -> String>(self, f: F) -> Result<T> {
        self.map_err(|e| Error::io(f(), e))
    }
}
