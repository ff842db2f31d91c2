//! Directory-fd helpers shared by unpack, diff and changes. Every lookup is relative to a
//! directory fd and never follows a symlink.

use std::ffi::{CStr, CString, OsString};
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, IntoRawFd, OwnedFd};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::Path;

use nix::errno::Errno;
use nix::fcntl::{openat, AtFlags, OFlag};
use nix::sys::stat::{fstatat, mkdirat, FileStat, Mode};
use nix::unistd::{unlinkat, UnlinkatFlags};

/// Flags for opening a directory we are about to look into or modify.
pub(super) fn dir_flags() -> OFlag {
    OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC
}

pub(super) fn io_err(e: Errno) -> io::Error {
    io::Error::from_raw_os_error(e as i32)
}

/// Opens a directory given by a trusted path (the caller's dest/upper/lower root).
pub(super) fn open_root(path: &Path) -> io::Result<OwnedFd> {
    let flags = OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC;
    nix::fcntl::open(path, flags, Mode::empty()).map_err(io_err)
}

pub(super) fn open_dir_at(dir: BorrowedFd<'_>, name: &[u8]) -> nix::Result<OwnedFd> {
    openat(dir, name, dir_flags(), Mode::empty())
}

pub(super) fn lstat_at(dir: BorrowedFd<'_>, name: &[u8]) -> nix::Result<FileStat> {
    fstatat(dir, name, AtFlags::AT_SYMLINK_NOFOLLOW)
}

pub(super) fn fmt_of(st: &FileStat) -> u32 {
    st.st_mode & libc::S_IFMT
}

pub(super) fn is_dir(st: &FileStat) -> bool {
    fmt_of(st) == libc::S_IFDIR
}

/// An overlayfs whiteout: a character device with device number 0:0.
pub(super) fn is_whiteout(st: &FileStat) -> bool {
    fmt_of(st) == libc::S_IFCHR && st.st_rdev == 0
}

/// Why a component-by-component walk stopped.
pub(super) enum WalkError {
    /// Component `at` does not exist (only when not creating).
    NotFound {
        at: usize,
    },
    /// Component `at` exists but is a symlink (`symlink`) or another non-directory.
    NotDir {
        at: usize,
        symlink: bool,
    },
    Io(io::Error),
}

/// Opens the directory `root/comps[0]/comps[1]/...` one component at a time with
/// `O_NOFOLLOW`, so a symlink or any other non-directory on the way is an error instead of
/// something to follow. With `create`, missing components are made 0755 root:root.
pub(super) fn walk(
    root: BorrowedFd<'_>,
    comps: &[&[u8]],
    create: bool,
) -> Result<OwnedFd, WalkError> {
    let mut cur = root.try_clone_to_owned().map_err(WalkError::Io)?;
    for (at, comp) in comps.iter().enumerate() {
        let next = match open_dir_at(cur.as_fd(), comp) {
            Ok(fd) => fd,
            Err(Errno::ENOENT) if create => {
                match mkdirat(cur.as_fd(), *comp, Mode::from_bits_truncate(0o755)) {
                    Ok(()) | Err(Errno::EEXIST) => {}
                    Err(e) => return Err(WalkError::Io(io_err(e))),
                }
                let fd = open_dir_at(cur.as_fd(), comp)
                    .map_err(|e| classify(cur.as_fd(), comp, at, e))?;
                // Exact owner and mode whatever the umask or a setgid parent would give.
                nix::unistd::fchown(
                    &fd,
                    Some(nix::unistd::Uid::from_raw(0)),
                    Some(nix::unistd::Gid::from_raw(0)),
                )
                .map_err(|e| WalkError::Io(io_err(e)))?;
                nix::sys::stat::fchmod(&fd, Mode::from_bits_truncate(0o755))
                    .map_err(|e| WalkError::Io(io_err(e)))?;
                fd
            }
            Err(e) => return Err(classify(cur.as_fd(), comp, at, e)),
        };
        cur = next;
    }
    Ok(cur)
}

fn classify(dir: BorrowedFd<'_>, comp: &[u8], at: usize, e: Errno) -> WalkError {
    match e {
        Errno::ENOENT => WalkError::NotFound { at },
        Errno::ELOOP | Errno::ENOTDIR => match lstat_at(dir, comp) {
            Ok(st) => WalkError::NotDir {
                at,
                symlink: fmt_of(&st) == libc::S_IFLNK,
            },
            Err(Errno::ENOENT) => WalkError::NotFound { at },
            Err(e) => WalkError::Io(io_err(e)),
        },
        e => WalkError::Io(io_err(e)),
    }
}

/// Closes a `DIR*` even on early return.
struct DirStream(*mut libc::DIR);

impl Drop for DirStream {
    fn drop(&mut self) {
        // SAFETY: the pointer came from a successful fdopendir and is closed only here.
        unsafe { libc::closedir(self.0) };
    }
}

/// Names in a directory (without "." and ".."), sorted bytewise so callers walk in a
/// deterministic order.
pub(super) fn read_names(dir: BorrowedFd<'_>) -> io::Result<Vec<OsString>> {
    // A fresh open file description so the caller's fd offset is never disturbed.
    let fd = openat(dir, ".", dir_flags(), Mode::empty()).map_err(io_err)?;
    let raw = fd.into_raw_fd();
    // SAFETY: `raw` is an open directory fd we own; fdopendir takes ownership on success.
    let dp = unsafe { libc::fdopendir(raw) };
    if dp.is_null() {
        let e = io::Error::last_os_error();
        // SAFETY: fdopendir failed, so we still own `raw`.
        drop(unsafe { OwnedFd::from_raw_fd(raw) });
        return Err(e);
    }
    let stream = DirStream(dp);
    let mut names = Vec::new();
    loop {
        Errno::clear();
        // SAFETY: `stream.0` is a valid DIR* until `stream` drops.
        let ent = unsafe { libc::readdir(stream.0) };
        if ent.is_null() {
            match Errno::last_raw() {
                0 => break,
                e => return Err(io::Error::from_raw_os_error(e)),
            }
        }
        // SAFETY: readdir returned a valid dirent whose d_name is NUL-terminated.
        let name = unsafe { CStr::from_ptr((*ent).d_name.as_ptr()) }.to_bytes();
        if name != b"." && name != b".." {
            names.push(OsString::from_vec(name.to_vec()));
        }
    }
    names.sort_by(|a, b| a.as_bytes().cmp(b.as_bytes()));
    Ok(names)
}

/// Removes `name` in `parent` and, if it is a directory, everything below it, without
/// following symlinks.
pub(super) fn remove_all_at(parent: BorrowedFd<'_>, name: &[u8]) -> nix::Result<()> {
    let st = match lstat_at(parent, name) {
        Ok(st) => st,
        Err(Errno::ENOENT) => return Ok(()),
        Err(e) => return Err(e),
    };
    if !is_dir(&st) {
        return unlinkat(parent, name, UnlinkatFlags::NoRemoveDir);
    }
    let dir = open_dir_at(parent, name)?;
    let names = read_names(dir.as_fd())
        .map_err(|e| e.raw_os_error().map(Errno::from_raw).unwrap_or(Errno::EIO))?;
    for child in names {
        remove_all_at(dir.as_fd(), child.as_bytes())?;
    }
    drop(dir);
    unlinkat(parent, name, UnlinkatFlags::RemoveDir)
}

/// Where an xattr call goes: an open fd, or a path resolved without following its last
/// component (used for symlinks and FIFOs, which we do not open).
pub(super) enum XTarget<'a> {
    Fd(BorrowedFd<'a>),
    NoFollow(&'a CStr),
}

/// `/proc/self/fd/<dir>/<name>`: resolves to exactly the entry `name` in the directory we
/// hold open (the magic link cannot be redirected), for the l*xattr calls that have no
/// `*at` form on the kernels we support.
pub(super) fn proc_path(dir: BorrowedFd<'_>, name: &[u8]) -> io::Result<CString> {
    let mut p = format!("/proc/self/fd/{}/", dir.as_raw_fd()).into_bytes();
    p.extend_from_slice(name);
    CString::new(p).map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "NUL in name"))
}

/// All xattr names of the target.
pub(super) fn list_xattrs(t: &XTarget<'_>) -> io::Result<Vec<Vec<u8>>> {
    let mut buf: Vec<u8> = Vec::new();
    loop {
        // SAFETY: buf is valid for buf.len() bytes (a zero size only asks for the length).
        let n = unsafe {
            match t {
                XTarget::Fd(fd) => {
                    libc::flistxattr(fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len())
                }
                XTarget::NoFollow(p) => {
                    libc::llistxattr(p.as_ptr(), buf.as_mut_ptr().cast(), buf.len())
                }
            }
        };
        if n < 0 {
            let e = io::Error::last_os_error();
            match e.raw_os_error() {
                Some(libc::ERANGE) => {
                    buf.clear();
                    continue;
                }
                Some(libc::ENOTSUP) => return Ok(Vec::new()),
                _ => return Err(e),
            }
        }
        let n = n as usize;
        if buf.is_empty() && n > 0 {
            buf.resize(n, 0);
            continue;
        }
        buf.truncate(n);
        return Ok(buf
            .split(|b| *b == 0)
            .filter(|s| !s.is_empty())
            .map(<[u8]>::to_vec)
            .collect());
    }
}

/// One xattr value, `None` if the attribute is absent.
pub(super) fn get_xattr(t: &XTarget<'_>, name: &[u8]) -> io::Result<Option<Vec<u8>>> {
    let cname = CString::new(name)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "NUL in xattr name"))?;
    let mut buf: Vec<u8> = Vec::new();
    loop {
        // SAFETY: buf is valid for buf.len() bytes (a zero size only asks for the length).
        let n = unsafe {
            match t {
                XTarget::Fd(fd) => libc::fgetxattr(
                    fd.as_raw_fd(),
                    cname.as_ptr(),
                    buf.as_mut_ptr().cast(),
                    buf.len(),
                ),
                XTarget::NoFollow(p) => libc::lgetxattr(
                    p.as_ptr(),
                    cname.as_ptr(),
                    buf.as_mut_ptr().cast(),
                    buf.len(),
                ),
            }
        };
        if n < 0 {
            let e = io::Error::last_os_error();
            match e.raw_os_error() {
                Some(libc::ERANGE) => {
                    buf.clear();
                    continue;
                }
                Some(libc::ENODATA) | Some(libc::ENOTSUP) => return Ok(None),
                _ => return Err(e),
            }
        }
        let n = n as usize;
        if buf.is_empty() && n > 0 {
            buf.resize(n, 0);
            continue;
        }
        buf.truncate(n);
        return Ok(Some(buf));
    }
}

pub(super) fn set_xattr(t: &XTarget<'_>, name: &[u8], value: &[u8]) -> io::Result<()> {
    let cname = CString::new(name)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "NUL in xattr name"))?;
    // SAFETY: all pointers are valid for the lengths given.
    let r = unsafe {
        match t {
            XTarget::Fd(fd) => libc::fsetxattr(
                fd.as_raw_fd(),
                cname.as_ptr(),
                value.as_ptr().cast(),
                value.len(),
                0,
            ),
            XTarget::NoFollow(p) => libc::lsetxattr(
                p.as_ptr(),
                cname.as_ptr(),
                value.as_ptr().cast(),
                value.len(),
                0,
            ),
        }
    };
    if r < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

pub(super) const OPAQUE_XATTR: &[u8] = b"trusted.overlay.opaque";

/// Overlay's own metadata (`trusted.overlay.*`, or `user.overlay.*` with `userxattr`) is
/// never copied between tars and disk: a layer must not be able to forge it.
pub(super) fn is_overlay_xattr(name: &[u8]) -> bool {
    name.starts_with(b"trusted.overlay.") || name.starts_with(b"user.overlay.")
}

/// Whether a directory carries `trusted.overlay.opaque=y`.
pub(super) fn is_opaque(t: &XTarget<'_>) -> io::Result<bool> {
    Ok(get_xattr(t, OPAQUE_XATTR)?.as_deref() == Some(b"y"))
}

pub(super) fn lossy(name: &[u8]) -> String {
    String::from_utf8_lossy(name).into_owned()
}
