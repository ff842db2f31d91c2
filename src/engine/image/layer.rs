//! Image layers on disk: safe unpacking of OCI layer tars into overlayfs lower dirs, the
//! reverse (an overlay upper dir back into a layer tar) and the change list for
//! `docker diff`.
//!
//! Whiteouts are kept in overlayfs form on disk (a `0:0` character device for a deleted
//! name, `trusted.overlay.opaque=y` on a directory whose lower content is hidden) and in
//! OCI form in tars (`.wh.<name>` and `.wh..wh..opq`).
//!
//! Everything here works relative to directory file descriptors opened with
//! `O_NOFOLLOW`, one path component at a time, so no write and no read ever follows a
//! symlink out of the tree, whatever a tar or a running container puts there.
//!
//! The overlay mounts whose upper dirs are passed to [`diff_to_tar`] and [`changes`] must
//! use `redirect_dir=off,metacopy=off` (Debian's defaults): with `metacopy=on` an upper
//! file may hold metadata only and its data would be missing from the layer.

mod changes;
mod diff;
mod fsutil;
mod pax;
mod unpack;

#[cfg(test)]
mod tests;

use std::fmt;
use std::path::PathBuf;

pub use changes::changes;
pub use diff::diff_to_tar;
pub use unpack::{unpack, unpack_copy, unpack_with, CopyOptions, DevicePolicy, UnpackOptions};

/// Errors from unpacking, diffing and computing changes.
#[derive(Debug, thiserror::Error)]
pub enum LayerError {
    /// The tar stream itself is broken: bad checksum, truncated data, malformed extension
    /// headers, or a read error from the underlying stream.
    #[error("reading layer tar: {0}")]
    Tar(#[source] std::io::Error),
    /// An entry was refused because unpacking it would be unsafe or is not supported in an
    /// image layer. The caller should delete the destination directory.
    #[error("layer entry {entry:?}: {reason}")]
    Rejected { entry: String, reason: String },
    /// A filesystem operation for one tar entry failed.
    #[error("layer entry {entry:?}: {op}: {source}")]
    Entry {
        entry: String,
        op: &'static str,
        #[source]
        source: std::io::Error,
    },
    /// A filesystem operation on a path failed (destination, upper or lower dirs).
    #[error("{op} {path:?}: {source}")]
    Fs {
        path: PathBuf,
        op: &'static str,
        #[source]
        source: std::io::Error,
    },
    /// Writing the output tar failed.
    #[error("writing layer tar: {0}")]
    Write(#[source] std::io::Error),
}

/// What [`unpack`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct UnpackStats {
    /// Sum of the sizes of the regular files and symlinks written (a symlink's is its
    /// target's length), as Docker's graph drivers measure a layer; hard links count once.
    pub bytes: u64,
    /// Number of tar members seen (whiteouts and skipped members included, PAX and GNU
    /// long-name extension headers not).
    pub entries: u64,
    /// Device nodes left out under [`DevicePolicy::Skip`].
    pub skipped_devices: u64,
}

/// Kind of a change reported by `docker diff`. The discriminants are Docker's numeric
/// `Kind` in `GET /containers/{id}/changes`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum ChangeKind {
    /// `C`: the path existed in the image and was changed.
    Modified = 0,
    /// `A`: the path is new.
    Added = 1,
    /// `D`: the path was deleted.
    Deleted = 2,
}

impl ChangeKind {
    /// Docker's numeric kind (0=C, 1=A, 2=D).
    pub fn docker_kind(self) -> u8 {
        self as u8
    }

    /// The letter `docker diff` prints.
    pub fn letter(self) -> char {
        match self {
            ChangeKind::Modified => 'C',
            ChangeKind::Added => 'A',
            ChangeKind::Deleted => 'D',
        }
    }
}

impl fmt::Display for ChangeKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.letter())
    }
}

/// One line of `docker diff`: an absolute path inside the container ("/etc/x").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub path: String,
    pub kind: ChangeKind,
}

impl fmt::Display for Change {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.kind, self.path)
    }
}
