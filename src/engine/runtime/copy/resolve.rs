//! Path resolution inside a root directory held open as an fd, one component at a time.
//!
//! Symlinks are followed inside the root only: an absolute target restarts at the root,
//! `..` never climbs above it. Every directory on the way is opened with `O_NOFOLLOW`
//! relative to its parent, so a running container that swaps a directory for a symlink
//! while we walk can make the walk fail, never leave the root (the race behind
//! CVE-2018-15664). The same code resolves host paths, with `/` as the root.

use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;

use nix::errno::Errno;
use nix::fcntl::{openat, readlinkat, AtFlags, OFlag};
use nix::sys::stat::{fstatat, FileStat, Mode};

/// Linux's own limit on symlinks followed while resolving one path (MAXSYMLINKS).
const MAX_SYMLINKS: usize = 40;

pub(crate) fn io_err(e: Errno) -> io::Error {
    io::Error::from_raw_os_error(e as i32)
}

fn dir_flags() -> OFlag {
    OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC
}

/// Opens the directory `name` in `dir`, refusing a symlink.
pub(crate) fn open_dir_at(dir: BorrowedFd<'_>, name: &[u8]) -> io::Result<OwnedFd> {
    openat(dir, name, dir_flags(), Mode::empty()).map_err(io_err)
}

pub(crate) fn lstat_at(dir: BorrowedFd<'_>, name: &[u8]) -> io::Result<FileStat> {
    fstatat(dir, name, AtFlags::AT_SYMLINK_NOFOLLOW).map_err(io_err)
}

pub(crate) fn fmt_of(st: &FileStat) -> u32 {
    st.st_mode & libc::S_IFMT
}

/// Splits a path into its components. Empty and `.` components are kept: they matter
/// at the end ("a/" and "a/." must name a directory).
pub(crate) fn components(path: &[u8]) -> Vec<Vec<u8>> {
    path.split(|b| *b == b'/').map(<[u8]>::to_vec).collect()
}

/// Where a path led.
pub(crate) struct Resolved {
    /// The directory holding the target; the target itself when `name` is None.
    pub dir: OwnedFd,
    /// The last component, not opened (and not followed when it is a symlink and the
    /// caller did not ask to follow it). None when the path ended on a directory that
    /// was opened: the root, or a path ending in "/" or "/.".
    pub name: Option<Vec<u8>>,
    /// The target's absolute path inside the root, symlinks resolved.
    pub path: Vec<Vec<u8>>,
}

impl Resolved {
    /// The target's metadata (a symlink's own when it was not followed).
    pub fn stat(&self) -> io::Result<FileStat> {
        match &self.name {
            Some(n) => lstat_at(self.dir.as_fd(), n),
            None => nix::sys::stat::fstat(&self.dir).map_err(io_err),
        }
    }

    /// The target as an open directory; ENOTDIR when it is something else.
    pub fn open_dir(&self) -> io::Result<OwnedFd> {
        match &self.name {
            Some(n) => open_dir_at(self.dir.as_fd(), n).map_err(|e| {
                // O_NOFOLLOW on a symlink gives ELOOP; for the caller it is "not a dir".
                if e.raw_os_error() == Some(libc::ELOOP) {
                    io::Error::from_raw_os_error(libc::ENOTDIR)
                } else {
                    e
                }
            }),
            None => self.dir.try_clone(),
        }
    }

    /// "/a/b" (or "/").
    pub fn path_string(&self) -> String {
        join_abs(&self.path)
    }
}

pub(crate) fn join_abs(comps: &[Vec<u8>]) -> String {
    let mut s = String::new();
    for c in comps {
        s.push('/');
        s.push_str(&String::from_utf8_lossy(c));
    }
    if s.is_empty() {
        s.push('/');
    }
    s
}

/// The state of one walk: the directories resolved so far and what is left to do.
struct Walk<'a> {
    root: BorrowedFd<'a>,
    /// Resolved directories below the root, each opened from the one before.
    stack: Vec<(Vec<u8>, OwnedFd)>,
    /// Components still to walk, next one last.
    pending: Vec<Vec<u8>>,
    links: usize,
}

impl<'a> Walk<'a> {
    fn new(root: BorrowedFd<'a>, comps: &[Vec<u8>]) -> Self {
        Walk {
            root,
            stack: Vec::new(),
            pending: comps.iter().rev().cloned().collect(),
            links: 0,
        }
    }

    fn cur(&self) -> BorrowedFd<'_> {
        self.stack
            .last()
            .map(|(_, fd)| fd.as_fd())
            .unwrap_or(self.root)
    }

    fn path_with(&self, name: Option<&[u8]>) -> Vec<Vec<u8>> {
        let mut p: Vec<Vec<u8>> = self.stack.iter().map(|(n, _)| n.clone()).collect();
        p.extend(name.map(<[u8]>::to_vec));
        p
    }

    /// Queues a symlink's target in place of the link.
    fn follow(&mut self, name: &[u8]) -> io::Result<()> {
        self.links += 1;
        if self.links > MAX_SYMLINKS {
            return Err(io::Error::from_raw_os_error(libc::ELOOP));
        }
        let target = readlinkat(self.cur(), name).map_err(io_err)?;
        let target = target.as_bytes();
        if target.first() == Some(&b'/') {
            // Absolute targets restart at the root we were given, not the host's.
            self.stack.clear();
        }
        self.pending.extend(components(target).into_iter().rev());
        Ok(())
    }

    /// Hands back the result, taking ownership of the innermost directory.
    fn finish(mut self, name: Option<Vec<u8>>) -> io::Result<Resolved> {
        let path = self.path_with(name.as_deref());
        let dir = match self.stack.pop() {
            Some((_, fd)) => fd,
            None => self.root.try_clone_to_owned()?,
        };
        Ok(Resolved { dir, name, path })
    }
}

/// Resolves `comps` (an absolute path's components) under `root`. The last component
/// may be missing (the result then names where it would be); a missing or
/// non-directory component before it is ENOENT / ENOTDIR. A symlink as the last
/// component is followed only with `follow_last`.
pub(crate) fn resolve(
    root: BorrowedFd<'_>,
    comps: &[Vec<u8>],
    follow_last: bool,
) -> io::Result<Resolved> {
    let mut w = Walk::new(root, comps);
    while let Some(c) = w.pending.pop() {
        match c.as_slice() {
            b"" | b"." => continue,
            b".." => {
                w.stack.pop();
                continue;
            }
            _ => {}
        }
        let last = w.pending.is_empty();
        let st = match lstat_at(w.cur(), &c) {
            Err(e) if e.raw_os_error() == Some(libc::ENOENT) && last => {
                return w.finish(Some(c));
            }
            r => r?,
        };
        match fmt_of(&st) {
            libc::S_IFLNK if !last || follow_last => w.follow(&c)?,
            _ if last => return w.finish(Some(c)),
            libc::S_IFDIR => {
                let fd = open_dir_at(w.cur(), &c)?;
                w.stack.push((c, fd));
            }
            _ => return Err(io::Error::from_raw_os_error(libc::ENOTDIR)),
        }
    }
    w.finish(None)
}

/// Where `comps` leads with every symlink followed, as an absolute path inside the
/// root, even when part of it does not exist (the rest is then taken as written), like
/// moby's `FollowSymlinkInScope`. Used for a symlink's `linkTarget`.
pub(crate) fn resolve_lexically(root: BorrowedFd<'_>, comps: &[Vec<u8>]) -> io::Result<String> {
    let mut w = Walk::new(root, comps);
    let mut tail: Vec<Vec<u8>> = Vec::new();
    while let Some(c) = w.pending.pop() {
        match c.as_slice() {
            b"" | b"." => continue,
            b".." => {
                if tail.pop().is_none() {
                    w.stack.pop();
                }
                continue;
            }
            _ if !tail.is_empty() => {
                tail.push(c);
                continue;
            }
            _ => {}
        }
        match lstat_at(w.cur(), &c) {
            Ok(st) if fmt_of(&st) == libc::S_IFLNK => w.follow(&c)?,
            Ok(st) if fmt_of(&st) == libc::S_IFDIR => {
                let fd = open_dir_at(w.cur(), &c)?;
                w.stack.push((c, fd));
            }
            // Missing, or a file in the middle: the rest cannot be resolved further.
            Ok(_) => tail.push(c),
            Err(e) if e.raw_os_error() == Some(libc::ENOENT) => tail.push(c),
            Err(e) => return Err(e),
        }
    }
    let mut path = w.path_with(None);
    path.extend(tail);
    Ok(join_abs(&path))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    fn root_fd(p: &std::path::Path) -> OwnedFd {
        nix::fcntl::open(p, dir_flags(), Mode::empty()).expect("open root")
    }

    fn comps(p: &str) -> Vec<Vec<u8>> {
        components(p.as_bytes())
    }

    #[test]
    fn symlinks_stay_inside_the_root() {
        let d = tempfile::tempdir().expect("tempdir");
        let r = d.path();
        std::fs::create_dir_all(r.join("etc/sub")).expect("mkdir");
        std::fs::write(r.join("etc/passwd"), "inside").expect("write");
        symlink("/etc", r.join("abs")).expect("symlink");
        symlink("../../../../etc", r.join("etc/sub/up")).expect("symlink");
        symlink("loop", r.join("loop")).expect("symlink");
        let fd = root_fd(r);

        let res = resolve(fd.as_fd(), &comps("/abs/passwd"), false).expect("abs");
        assert_eq!(res.path_string(), "/etc/passwd");
        let res = resolve(fd.as_fd(), &comps("/etc/sub/up/passwd"), false).expect("up");
        assert_eq!(res.path_string(), "/etc/passwd");
        let res = resolve(fd.as_fd(), &comps("/../../abs"), false).expect("link itself");
        assert_eq!(res.path_string(), "/abs");
        let res = resolve(fd.as_fd(), &comps("/abs"), true).expect("followed");
        assert_eq!(res.path_string(), "/etc");
        let res = resolve(fd.as_fd(), &comps("/abs/"), false).expect("trailing slash");
        assert!(res.name.is_none());
        assert_eq!(res.path_string(), "/etc");
        let e = resolve(fd.as_fd(), &comps("/loop/x"), false)
            .err()
            .expect("loop");
        assert_eq!(e.raw_os_error(), Some(libc::ELOOP));
        let e = resolve(fd.as_fd(), &comps("/etc/passwd/"), false)
            .err()
            .expect("file with slash");
        assert_eq!(e.raw_os_error(), Some(libc::ENOTDIR));
        let e = resolve(fd.as_fd(), &comps("/nope/x"), false)
            .err()
            .expect("missing");
        assert_eq!(e.raw_os_error(), Some(libc::ENOENT));
        let res = resolve(fd.as_fd(), &comps("/etc/new"), false).expect("missing last");
        assert!(res.stat().is_err());
        assert_eq!(
            resolve_lexically(fd.as_fd(), &comps("/abs/nope/../x")).expect("lexical"),
            "/etc/x"
        );
    }
}
