//! Scratch directories and the garbage-collection lock.
//!
//! Every multi-step write (load, import, unpack) works in a private dir under `tmp/`
//! named after its process, and moves finished pieces into place with a rename. If the
//! process is killed, the next writer sees the owner is gone and removes the leftovers.
//! Writers hold the GC lock shared while they work; GC takes it exclusively, so it never
//! collects blobs or layers that a running load has placed but not yet recorded.

use std::fs::{self, File};
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};

use rand::RngCore;

use crate::engine::error::{IoContext, Result};

/// Start time of a process in clock ticks since boot, to tell a live owner from a new
/// process that reused its pid.
fn process_start(pid: u32) -> Option<u64> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name may contain spaces or parens; fields resume after the last ')'.
    let rest = &stat[stat.rfind(')')? + 2..];
    rest.split_whitespace().nth(19)?.parse().ok()
}

fn owner_tag() -> String {
    let pid = std::process::id();
    let start = process_start(pid).unwrap_or(0);
    let mut r = [0u8; 4];
    rand::rng().fill_bytes(&mut r);
    format!("{pid}-{start}-{}", hex::encode(r))
}

fn owner_alive(name: &str) -> bool {
    let mut parts = name.splitn(3, '-');
    let (Some(pid), Some(start)) = (parts.next(), parts.next()) else {
        return false;
    };
    let (Ok(pid), Ok(start)) = (pid.parse::<u32>(), start.parse::<u64>()) else {
        return false;
    };
    process_start(pid) == Some(start)
}

/// A private scratch dir, removed when dropped.
#[derive(Debug)]
pub struct TmpDir {
    path: PathBuf,
}

impl TmpDir {
    pub fn new(tmp_root: &Path) -> Result<TmpDir> {
        fs::create_dir_all(tmp_root).ctx(|| format!("creating {}", tmp_root.display()))?;
        let path = tmp_root.join(owner_tag());
        fs::create_dir(&path).ctx(|| format!("creating {}", path.display()))?;
        Ok(TmpDir { path })
    }
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for TmpDir {
    fn drop(&mut self) {
        let _ = remove_tree(&self.path);
    }
}

/// Removes a tree even when a layer made parts of it read-only or immutable-looking.
pub fn remove_tree(path: &Path) -> std::io::Result<()> {
    match fs::remove_dir_all(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(_) => {
            // A layer may contain dirs without write permission; make them writable.
            for entry in walkdir::WalkDir::new(path).into_iter().flatten() {
                if entry.file_type().is_dir() {
                    use std::os::unix::fs::PermissionsExt;
                    let _ = fs::set_permissions(entry.path(), fs::Permissions::from_mode(0o700));
                }
            }
            fs::remove_dir_all(path)
        }
        ok => ok,
    }
}

/// Removes scratch dirs whose owning process is gone.
pub fn clean_stale(tmp_root: &Path) -> Result<usize> {
    let rd = match fs::read_dir(tmp_root) {
        Ok(rd) => rd,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(crate::engine::error::Error::io("reading tmp dir", e)),
    };
    let mut n = 0;
    for entry in rd.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if !owner_alive(&name) {
            remove_tree(&entry.path()).ctx(|| format!("removing {}", entry.path().display()))?;
            n += 1;
        }
    }
    Ok(n)
}

/// An flock held for the guard's lifetime.
#[derive(Debug)]
pub struct FileLock {
    _file: File,
}

impl FileLock {
    fn take(path: &Path, op: libc::c_int) -> Result<Option<FileLock>> {
        let file = fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(path)
            .ctx(|| format!("opening lock {}", path.display()))?;
        // SAFETY: flock on an fd we own; no memory is passed.
        let rc = unsafe { libc::flock(file.as_raw_fd(), op) };
        if rc == 0 {
            return Ok(Some(FileLock { _file: file }));
        }
        let err = std::io::Error::last_os_error();
        if err.raw_os_error() == Some(libc::EWOULDBLOCK) {
            return Ok(None);
        }
        Err(crate::engine::error::Error::io(
            format!("locking {}", path.display()),
            err,
        ))
    }
    /// Blocks until a shared lock is held.
    pub fn shared(path: &Path) -> Result<FileLock> {
        Self::take(path, libc::LOCK_SH)?.ok_or_else(|| {
            crate::engine::error::Error::Other(format!("lock {} is busy", path.display()))
        })
    }
    /// Blocks until an exclusive lock is held.
    pub fn exclusive(path: &Path) -> Result<FileLock> {
        Self::take(path, libc::LOCK_EX)?.ok_or_else(|| {
            crate::engine::error::Error::Other(format!("lock {} is busy", path.display()))
        })
    }
    /// Returns None at once when someone else holds the lock.
    pub fn try_exclusive(path: &Path) -> Result<Option<FileLock>> {
        Self::take(path, libc::LOCK_EX | libc::LOCK_NB)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stale_dirs_are_removed_live_ones_kept() {
        let root = tempfile::tempdir().expect("tempdir");
        let live = TmpDir::new(root.path()).expect("tmpdir");
        let dead = root.path().join("999999999-1-abcd");
        fs::create_dir_all(dead.join("sub")).expect("mkdir");
        let junk = root.path().join("junk");
        fs::create_dir(&junk).expect("mkdir");
        assert_eq!(clean_stale(root.path()).expect("clean"), 2);
        assert!(live.path().exists());
        assert!(!dead.exists() && !junk.exists());
        let p = live.path().to_path_buf();
        drop(live);
        assert!(!p.exists());
    }

    #[test]
    fn exclusive_lock_excludes_shared() {
        let root = tempfile::tempdir().expect("tempdir");
        let lock = root.path().join("gc.lock");
        let s = FileLock::shared(&lock).expect("shared");
        assert!(FileLock::try_exclusive(&lock).expect("try").is_none());
        drop(s);
        assert!(FileLock::try_exclusive(&lock).expect("try").is_some());
    }
}
