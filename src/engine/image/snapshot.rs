//! Overlayfs snapshot mounts that work for images with many layers.
//!
//! The classic `mount(2)` call passes every option in one string that the kernel
//! copies into a single page (4096 bytes on x86_64). With 64-hex layer directories
//! an image with ~40 layers already overflows it, and the kernel then silently
//! truncates the data and fails with a meaningless `EINVAL`/`ENOENT`. This module
//! picks one of three mechanisms:
//!
//! * [`Mechanism::FsConfig`] (kernel >= 6.8): the new mount API. Each layer is
//!   appended with its own `fsconfig(FSCONFIG_SET_STRING, "lowerdir+", path)`,
//!   so there is no total length limit (only the kernel's 500-layer stack limit).
//!   `lowerdir+` values are taken verbatim (no escaping); `upperdir`/`workdir`
//!   are unescaped by overlayfs, so they are backslash-escaped. fsconfig copies
//!   at most 255 bytes per value, so a longer path is passed as
//!   `/proc/self/fd/<n>` of an `O_PATH` descriptor, which overlayfs resolves at
//!   fsconfig time like any other path.
//! * [`Mechanism::Classic`]: `mount("overlay", target, "overlay", 0, data)`, used
//!   when the data fits in a page. `\`, `:` and `,` in paths are backslash-escaped
//!   as overlayfs requires; data that does not fit is refused with
//!   [`SnapshotError::TooLong`] instead of letting the kernel truncate it.
//! * [`Mechanism::ShortLinks`]: for older kernels when Classic does not fit. A
//!   private temp dir gets symlinks `0`, `1`, ... to each lower, and the mount uses
//!   the relative names (`lowerdir=0:1:2...`, ~4 bytes per layer) from inside
//!   that dir. The links are removed right after mounting: overlayfs resolves
//!   the paths at mount time. Side effect: `/proc/self/mountinfo` shows the short
//!   names as `lowerdir`, not the real layer paths.
//!
//! [`mount_overlay`] probes the kernel on every call and uses FsConfig if it
//! supports `lowerdir+`, else Classic if the data fits, else ShortLinks.
//!
//! A read-only view of exactly one lower (no upper) cannot be an overlay: the
//! kernel wants at least two lowers when there is no upper. Every mechanism
//! therefore bind-mounts that single lower read-only at the target instead, which
//! gives the same view.

use std::ffi::{CStr, CString, OsStr};
use std::fmt;
use std::io;
use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use nix::errno::Errno;
use nix::mount::{MntFlags, MsFlags};

/// The kernel's `OVL_MAX_STACK`: at most this many lower layers per overlay.
pub const MAX_LOWER_LAYERS: usize = 500;

// <linux/mount.h> values. libc has the syscall numbers but not these flags on
// every target, and they are stable UAPI, so they are pinned here.
const FSOPEN_CLOEXEC: libc::c_long = 0x1;
const FSCONFIG_SET_FLAG: libc::c_long = 0;
const FSCONFIG_SET_STRING: libc::c_long = 1;
const FSCONFIG_CMD_CREATE: libc::c_long = 6;
const FSMOUNT_CLOEXEC: libc::c_long = 0x1;
const MOVE_MOUNT_F_EMPTY_PATH: libc::c_long = 0x4;
/// fsconfig copies a string value with `strndup_user(value, 256)`: longer values
/// (255 bytes plus the NUL) fail with EINVAL.
const FSCONFIG_MAX_VALUE: usize = 255;
/// Upper bound on stacked mounts [`unmount`] peels off one target.
const MAX_STACKED_UNMOUNTS: usize = 64;

/// Errors from snapshot mounts. Every message names the mount target and the cause.
#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    /// The request itself is unusable (no layers, too many layers, NUL in a path...).
    #[error("overlay mount at {}: invalid request: {reason}", .target.display())]
    InvalidInput { target: PathBuf, reason: String },

    /// The running kernel lacks what the requested mechanism needs.
    #[error("overlay mount at {}: {mechanism} mechanism unsupported: {reason}", .target.display())]
    Unsupported {
        target: PathBuf,
        mechanism: Mechanism,
        reason: String,
    },

    /// The mount data does not fit in the kernel's one-page limit.
    #[error(
        "overlay mount at {}: mount data for {layers} layers is too long for the {mechanism} \
         mechanism ({len} bytes, the kernel accepts at most {limit})",
        .target.display()
    )]
    TooLong {
        target: PathBuf,
        mechanism: Mechanism,
        layers: usize,
        len: usize,
        limit: usize,
    },

    /// A mount step failed in the kernel (or in the filesystem around it).
    #[error(
        "overlay mount at {} ({mechanism}, {layers} lower layers): {step} failed: {source}{detail}",
        .target.display()
    )]
    Mount {
        target: PathBuf,
        mechanism: Mechanism,
        layers: usize,
        step: String,
        #[source]
        source: io::Error,
        /// Extra hints: the kernel's fs_context log (new mount API) or which
        /// layer path is missing; empty if there is nothing to add.
        detail: String,
    },

    /// The read-only bind mount used for a single lower without upper failed.
    #[error("read-only bind mount of {} at {}: {step} failed: {source}", .lower.display(), .target.display())]
    Bind {
        target: PathBuf,
        lower: PathBuf,
        step: &'static str,
        #[source]
        source: io::Error,
    },

    /// umount2 failed (with and, on EBUSY, without MNT_DETACH).
    #[error("unmount of {}: {step} failed: {source}", .target.display())]
    Unmount {
        target: PathBuf,
        step: &'static str,
        #[source]
        source: io::Error,
    },

    /// Some other filesystem operation failed.
    #[error("{}: {context}: {source}", .target.display())]
    Io {
        target: PathBuf,
        context: String,
        #[source]
        source: io::Error,
    },
}

/// How an overlay is mounted; see the module docs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Mechanism {
    /// One `mount(2)` call with absolute `lowerdir=` paths (data must fit a page).
    Classic,
    /// `mount(2)` with relative lowerdir names of short symlinks in a temp dir.
    ShortLinks,
    /// New mount API with one `lowerdir+` per layer (kernel >= 6.8).
    FsConfig,
}

impl fmt::Display for Mechanism {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Mechanism::Classic => "classic mount(2)",
            Mechanism::ShortLinks => "short-symlink mount(2)",
            Mechanism::FsConfig => "fsconfig lowerdir+",
        })
    }
}

/// Mounts an overlay at `target`: `lowers` top-first (index 0 = topmost layer).
/// With no upper (read-only view) pass `None` for `upper_work`.
///
/// Picks FsConfig when the kernel supports `lowerdir+`, else Classic when the
/// data fits in a page, else ShortLinks. A single lower without upper is
/// bind-mounted read-only (see module docs). Relative paths are made absolute
/// against the current directory.
pub fn mount_overlay(
    lowers: &[PathBuf],
    upper_work: Option<(&Path, &Path)>,
    target: &Path,
) -> Result<(), SnapshotError> {
    let req = Request::new(lowers, upper_work, target)?;
    mount_request(req)
}

/// [`mount_overlay`] with overlayfs's `volatile` option: writes to the upper dir are
/// never synced, not even at unmount (which otherwise syncs the whole filesystem the
/// upper dir is on, slow on a busy host). For containers whose changes are thrown away
/// (`--rm`). A stale volatile marker from a crash is cleared first, since the mount
/// refuses to reuse such a work dir.
pub fn mount_overlay_volatile(
    lowers: &[PathBuf],
    upper: &Path,
    work: &Path,
    target: &Path,
) -> Result<(), SnapshotError> {
    let _ = std::fs::remove_dir_all(work.join("work").join("incompat"));
    let mut req = Request::new(lowers, Some((upper, work)), target)?;
    req.volatile = true;
    mount_request(req)
}

fn mount_request(req: Request) -> Result<(), SnapshotError> {
    if req.is_single_readonly() {
        return bind_readonly(&req.lowers[0], &req.target);
    }
    if lowerdir_add_supported() {
        return mount_fsconfig(&req);
    }
    match classic_data(&req) {
        Ok(data) => mount_classic(&req, &data),
        Err(SnapshotError::TooLong { .. }) => mount_short_links(&req),
        Err(e) => Err(e),
    }
}

/// Like [`mount_overlay`] but with a fixed mechanism, for tests and diagnostics.
/// Fails with [`SnapshotError::Unsupported`] if the kernel lacks FsConfig
/// support and with [`SnapshotError::TooLong`] if the data does not fit.
pub fn mount_overlay_with(
    mech: Mechanism,
    lowers: &[PathBuf],
    upper_work: Option<(&Path, &Path)>,
    target: &Path,
) -> Result<(), SnapshotError> {
    let req = Request::new(lowers, upper_work, target)?;
    if req.is_single_readonly() {
        return bind_readonly(&req.lowers[0], &req.target);
    }
    match mech {
        Mechanism::FsConfig => {
            if !lowerdir_add_supported() {
                return Err(SnapshotError::Unsupported {
                    target: req.target,
                    mechanism: mech,
                    reason: "the kernel's overlayfs does not accept fsconfig \"lowerdir+\" \
                             (needs Linux 6.8 or newer)"
                        .into(),
                });
            }
            mount_fsconfig(&req)
        }
        Mechanism::Classic => {
            let data = classic_data(&req)?;
            mount_classic(&req, &data)
        }
        Mechanism::ShortLinks => mount_short_links(&req),
    }
}

/// Unmounts `target`; Ok if nothing is mounted there (or it does not exist).
///
/// Tries a plain unmount first and falls back to a lazy `MNT_DETACH` only on
/// EBUSY. Mounts stacked on the same target are all removed.
pub fn unmount(target: &Path) -> Result<(), SnapshotError> {
    let abs = absolute(target, target)?;
    if abs == Path::new("/") {
        return Err(SnapshotError::Unmount {
            target: abs,
            step: "refusing to unmount /",
            source: io::Error::from(io::ErrorKind::InvalidInput),
        });
    }
    for _ in 0..MAX_STACKED_UNMOUNTS {
        match nix::mount::umount2(&abs, MntFlags::empty()) {
            Ok(()) => continue, // something may be stacked underneath
            Err(Errno::ENOENT) => return Ok(()),
            Err(Errno::EINVAL) => {
                // EINVAL means "not a mount point"; double-check so that any
                // other EINVAL cause is reported instead of swallowed.
                if is_mounted(&abs)? {
                    return Err(SnapshotError::Unmount {
                        target: abs,
                        step: "umount2",
                        source: io::Error::from(Errno::EINVAL),
                    });
                }
                return Ok(());
            }
            Err(Errno::EBUSY) => {
                nix::mount::umount2(&abs, MntFlags::MNT_DETACH).map_err(|e| {
                    SnapshotError::Unmount {
                        target: abs.clone(),
                        step: "umount2(MNT_DETACH) after EBUSY",
                        source: e.into(),
                    }
                })?;
            }
            Err(e) => {
                return Err(SnapshotError::Unmount {
                    target: abs,
                    step: "umount2",
                    source: e.into(),
                })
            }
        }
    }
    Err(SnapshotError::Unmount {
        target: abs,
        step: "umount2 (still mounted after peeling stacked mounts)",
        source: io::Error::from(Errno::EBUSY),
    })
}

/// Whether something is mounted exactly at `target`, per `/proc/self/mountinfo`.
/// A target that does not exist is not mounted.
pub fn is_mounted(target: &Path) -> Result<bool, SnapshotError> {
    // mountinfo shows fully resolved paths.
    let canon = match std::fs::canonicalize(target) {
        Ok(p) => p,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(false),
        Err(e) => {
            return Err(SnapshotError::Io {
                target: target.to_path_buf(),
                context: "resolving the mount target".into(),
                source: e,
            })
        }
    };
    let info = std::fs::read("/proc/self/mountinfo").map_err(|e| SnapshotError::Io {
        target: target.to_path_buf(),
        context: "reading /proc/self/mountinfo".into(),
        source: e,
    })?;
    let want = canon.as_os_str().as_bytes();
    Ok(info
        .split(|&b| b == b'\n')
        // Field 5 (index 4) is the mount point.
        .filter_map(|line| line.split(|&b| b == b' ').nth(4))
        .any(|mp| unescape_mountinfo(mp) == want))
}

/// mountinfo escapes space, tab, newline and backslash as `\ooo` octal.
fn unescape_mountinfo(field: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(field.len());
    let mut i = 0;
    while i < field.len() {
        if field[i] == b'\\' && i + 4 <= field.len() && is_octal(&field[i + 1..i + 4]) {
            let v = field[i + 1..i + 4]
                .iter()
                .fold(0u32, |acc, d| acc * 8 + u32::from(d - b'0'));
            out.push(u8::try_from(v).unwrap_or(b'?'));
            i += 4;
        } else {
            out.push(field[i]);
            i += 1;
        }
    }
    out
}

fn is_octal(s: &[u8]) -> bool {
    s.len() == 3 && s.iter().all(|d| (b'0'..=b'7').contains(d))
}

/// A validated mount request with absolute paths.
struct Request {
    lowers: Vec<PathBuf>,
    upper_work: Option<(PathBuf, PathBuf)>,
    target: PathBuf,
    /// overlayfs `volatile`: no sync of the upper filesystem, at unmount either.
    volatile: bool,
}

impl Request {
    fn new(
        lowers: &[PathBuf],
        upper_work: Option<(&Path, &Path)>,
        target: &Path,
    ) -> Result<Self, SnapshotError> {
        let target = absolute(target, target)?;
        let invalid = |reason: String| SnapshotError::InvalidInput {
            target: target.clone(),
            reason,
        };
        if lowers.is_empty() {
            return Err(invalid("no lower layers given".into()));
        }
        if lowers.len() > MAX_LOWER_LAYERS {
            return Err(invalid(format!(
                "{} lower layers exceed the kernel's overlayfs limit of {MAX_LOWER_LAYERS}",
                lowers.len()
            )));
        }
        let lowers = lowers
            .iter()
            .map(|l| absolute(l, &target))
            .collect::<Result<Vec<_>, _>>()?;
        let upper_work = match upper_work {
            Some((u, w)) => Some((absolute(u, &target)?, absolute(w, &target)?)),
            None => None,
        };
        let all = lowers
            .iter()
            .chain(upper_work.iter().flat_map(|(u, w)| [u, w]))
            .chain(std::iter::once(&target));
        for p in all {
            if p.as_os_str().as_bytes().contains(&0) {
                return Err(invalid(format!("path {} contains a NUL byte", p.display())));
            }
        }
        Ok(Self {
            lowers,
            upper_work,
            target,
            volatile: false,
        })
    }

    fn is_single_readonly(&self) -> bool {
        self.lowers.len() == 1 && self.upper_work.is_none()
    }

    fn mount_err(
        &self,
        mech: Mechanism,
        step: impl Into<String>,
        source: io::Error,
    ) -> SnapshotError {
        SnapshotError::Mount {
            target: self.target.clone(),
            mechanism: mech,
            layers: self.lowers.len(),
            step: step.into(),
            source,
            detail: String::new(),
        }
    }

    /// A mount(2) failure carries one errno for all paths; name the first
    /// layer/upper/work path that is not a directory so the error is actionable.
    fn mount2_err(&self, mech: Mechanism, step: &str, e: Errno) -> SnapshotError {
        let mut err = self.mount_err(mech, step, e.into());
        let named = self
            .lowers
            .iter()
            .enumerate()
            .map(|(i, l)| (format!("layer {i}"), l))
            .chain(
                self.upper_work
                    .iter()
                    .flat_map(|(u, w)| [("upperdir".to_string(), u), ("workdir".to_string(), w)]),
            );
        let mut hint = String::new();
        for (what, path) in named {
            match std::fs::metadata(path) {
                Ok(m) if m.is_dir() => continue,
                Ok(_) => hint = format!(" ({what} {} is not a directory)", path.display()),
                Err(e) => hint = format!(" ({what} {}: {e})", path.display()),
            }
            break;
        }
        if hint.is_empty() && e == Errno::EINVAL {
            hint = " (the kernel log has overlayfs' reason)".into();
        }
        if let SnapshotError::Mount { detail, .. } = &mut err {
            *detail = hint;
        }
        err
    }
}

fn absolute(p: &Path, target: &Path) -> Result<PathBuf, SnapshotError> {
    std::path::absolute(p).map_err(|e| SnapshotError::Io {
        target: target.to_path_buf(),
        context: format!("making {} absolute", p.display()),
        source: e,
    })
}

fn cstring(p: &[u8], target: &Path) -> Result<CString, SnapshotError> {
    CString::new(p).map_err(|_| SnapshotError::InvalidInput {
        target: target.to_path_buf(),
        reason: format!(
            "path {} contains a NUL byte",
            Path::new(OsStr::from_bytes(p)).display()
        ),
    })
}

/// Backslash-escapes the characters overlayfs treats specially in option
/// values: `,` separates options, `:` separates lowers, `\` escapes.
fn escape_ovl(path: &Path) -> Vec<u8> {
    let raw = path.as_os_str().as_bytes();
    let mut out = Vec::with_capacity(raw.len() + 8);
    for &b in raw {
        if matches!(b, b'\\' | b':' | b',') {
            out.push(b'\\');
        }
        out.push(b);
    }
    out
}

/// Largest mount(2) data string the kernel takes whole: it copies one page,
/// which must also hold the terminating NUL.
fn mount_data_limit() -> usize {
    // SAFETY: sysconf only reads a system constant.
    let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    usize::try_from(page)
        .ok()
        .filter(|&p| p > 0)
        .unwrap_or(4096)
        - 1
}

/// Builds `lowerdir=...[,upperdir=...,workdir=...]` from already-escaped lowers.
fn overlay_data(
    lowers: &[Vec<u8>],
    upper_work: Option<&(PathBuf, PathBuf)>,
    volatile: bool,
) -> Vec<u8> {
    let mut data = b"lowerdir=".to_vec();
    for (i, l) in lowers.iter().enumerate() {
        if i > 0 {
            data.push(b':');
        }
        data.extend_from_slice(l);
    }
    if let Some((u, w)) = upper_work {
        data.extend_from_slice(b",upperdir=");
        data.extend_from_slice(&escape_ovl(u));
        data.extend_from_slice(b",workdir=");
        data.extend_from_slice(&escape_ovl(w));
        if volatile {
            data.extend_from_slice(b",volatile");
        }
    }
    data
}

fn check_fits(req: &Request, mech: Mechanism, data: &[u8]) -> Result<(), SnapshotError> {
    let limit = mount_data_limit();
    if data.len() > limit {
        return Err(SnapshotError::TooLong {
            target: req.target.clone(),
            mechanism: mech,
            layers: req.lowers.len(),
            len: data.len(),
            limit,
        });
    }
    Ok(())
}

fn classic_data(req: &Request) -> Result<Vec<u8>, SnapshotError> {
    let lowers: Vec<Vec<u8>> = req.lowers.iter().map(|l| escape_ovl(l)).collect();
    let data = overlay_data(&lowers, req.upper_work.as_ref(), req.volatile);
    check_fits(req, Mechanism::Classic, &data)?;
    Ok(data)
}

fn mount_classic(req: &Request, data: &[u8]) -> Result<(), SnapshotError> {
    nix::mount::mount(
        Some("overlay"),
        &req.target,
        Some("overlay"),
        MsFlags::empty(),
        Some(data),
    )
    .map_err(|e| req.mount2_err(Mechanism::Classic, "mount(2)", e))
}

static LINK_DIR_SEQ: AtomicU64 = AtomicU64::new(0);

/// Private temp dir holding the short symlinks; removed on drop.
struct LinkDir(PathBuf);

impl LinkDir {
    fn create(req: &Request) -> Result<Self, SnapshotError> {
        let base = std::env::temp_dir();
        let mut last_err = None;
        for _ in 0..16 {
            let seq = LINK_DIR_SEQ.fetch_add(1, Ordering::Relaxed);
            let nanos = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.subsec_nanos())
                .unwrap_or(0);
            let dir = base.join(format!(
                "berth-ovl-{}-{seq}-{nanos:08x}",
                std::process::id()
            ));
            // 0700 and create-exclusive: nobody else can plant links in it.
            let res = {
                use std::os::unix::fs::DirBuilderExt;
                std::fs::DirBuilder::new().mode(0o700).create(&dir)
            };
            match res {
                Ok(()) => return Ok(Self(dir)),
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => last_err = Some(e),
                Err(e) => return Err(link_dir_err(req, &base, e)),
            }
        }
        let e = last_err.unwrap_or_else(|| io::Error::from(io::ErrorKind::AlreadyExists));
        Err(link_dir_err(req, &base, e))
    }
}

fn link_dir_err(req: &Request, base: &Path, e: io::Error) -> SnapshotError {
    req.mount_err(
        Mechanism::ShortLinks,
        format!("creating a symlink dir in {}", base.display()),
        e,
    )
}

impl Drop for LinkDir {
    fn drop(&mut self) {
        // Best effort: the links are useless once the mount exists (or failed).
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn mount_short_links(req: &Request) -> Result<(), SnapshotError> {
    let mech = Mechanism::ShortLinks;
    let names: Vec<Vec<u8>> = (0..req.lowers.len())
        .map(|i| i.to_string().into_bytes())
        .collect();
    let data = overlay_data(&names, req.upper_work.as_ref(), req.volatile);
    check_fits(req, mech, &data)?;

    let dir = LinkDir::create(req)?;
    for (name, lower) in names.iter().zip(&req.lowers) {
        let link = dir.0.join(OsStr::from_bytes(name));
        std::os::unix::fs::symlink(lower, &link).map_err(|e| {
            req.mount_err(
                mech,
                format!("symlink {} -> {}", link.display(), lower.display()),
                e,
            )
        })?;
    }

    let dir_c = cstring(dir.0.as_os_str().as_bytes(), &req.target)?;
    let target_c = cstring(req.target.as_os_str().as_bytes(), &req.target)?;
    let data_c = cstring(&data, &req.target)?;

    // Relative lowerdir names need the cwd inside the link dir, but cwd is
    // process-wide and our caller is a multi-threaded tokio process. Instead of
    // fork() (only async-signal-safe calls allowed in the child, errno squeezed
    // through an exit code, copy-on-write of a big address space) we use a
    // short-lived thread that unshare(CLONE_FS)es: it then has its own cwd, so
    // its chdir is invisible to every other thread, and it stays in the same
    // mount namespace so the mount lands where the caller sees it. The thread
    // exits right after, taking its private cwd with it.
    let worker = std::thread::Builder::new()
        .name("berth-ovl-mount".into())
        .spawn(move || -> Result<(), (&'static str, Errno)> {
            // SAFETY: unshare(CLONE_FS) only detaches this thread's cwd/root/umask
            // from the rest of the process; it touches no memory of ours.
            if unsafe { libc::unshare(libc::CLONE_FS) } != 0 {
                return Err(("unshare(CLONE_FS)", Errno::last()));
            }
            nix::unistd::chdir(dir_c.as_c_str()).map_err(|e| ("chdir into the symlink dir", e))?;
            nix::mount::mount(
                Some("overlay"),
                target_c.as_c_str(),
                Some("overlay"),
                MsFlags::empty(),
                Some(data_c.as_c_str()),
            )
            .map_err(|e| ("mount(2)", e))
        })
        .map_err(|e| req.mount_err(mech, "spawning the mount thread", e))?;
    let res = worker.join().map_err(|_| {
        req.mount_err(
            mech,
            "mount thread",
            io::Error::other("mount thread panicked"),
        )
    })?;
    drop(dir);
    res.map_err(|(step, e)| req.mount2_err(mech, step, e))
}

/// Wraps a syscall result that is a new file descriptor.
fn owned_fd(ret: libc::c_long) -> io::Result<OwnedFd> {
    if ret < 0 {
        return Err(io::Error::last_os_error());
    }
    let raw = RawFd::try_from(ret).map_err(|_| io::Error::other("descriptor out of range"))?;
    // SAFETY: the kernel just returned this descriptor to us; nothing else owns it.
    Ok(unsafe { OwnedFd::from_raw_fd(raw) })
}

fn fsopen_overlay() -> io::Result<OwnedFd> {
    // SAFETY: fsopen reads a NUL-terminated fs name and takes plain flags.
    owned_fd(unsafe { libc::syscall(libc::SYS_fsopen, c"overlay".as_ptr(), FSOPEN_CLOEXEC) })
}

fn fsconfig_string(fs: &OwnedFd, key: &CStr, value: &CStr) -> io::Result<()> {
    // SAFETY: key and value are valid NUL-terminated strings that outlive the
    // call; aux must be 0 for FSCONFIG_SET_STRING.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_fsconfig,
            libc::c_long::from(fs.as_raw_fd()),
            FSCONFIG_SET_STRING,
            key.as_ptr(),
            value.as_ptr(),
            0 as libc::c_long,
        )
    };
    if ret < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

fn fsconfig_flag(fs: &OwnedFd, key: &CStr) -> io::Result<()> {
    // SAFETY: key is a valid NUL-terminated string; FSCONFIG_SET_FLAG takes no value.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_fsconfig,
            libc::c_long::from(fs.as_raw_fd()),
            FSCONFIG_SET_FLAG,
            key.as_ptr(),
            std::ptr::null::<libc::c_char>(),
            0 as libc::c_long,
        )
    };
    if ret < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

fn fsconfig_create(fs: &OwnedFd) -> io::Result<()> {
    // SAFETY: FSCONFIG_CMD_CREATE takes no key/value pointers (both NULL).
    let ret = unsafe {
        libc::syscall(
            libc::SYS_fsconfig,
            libc::c_long::from(fs.as_raw_fd()),
            FSCONFIG_CMD_CREATE,
            std::ptr::null::<libc::c_char>(),
            std::ptr::null::<libc::c_char>(),
            0 as libc::c_long,
        )
    };
    if ret < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

fn fsmount(fs: &OwnedFd) -> io::Result<OwnedFd> {
    // SAFETY: plain integer arguments; returns a new mount fd.
    owned_fd(unsafe {
        libc::syscall(
            libc::SYS_fsmount,
            libc::c_long::from(fs.as_raw_fd()),
            FSMOUNT_CLOEXEC,
            0 as libc::c_long,
        )
    })
}

fn move_mount_to(mnt: &OwnedFd, target: &CStr) -> io::Result<()> {
    // SAFETY: "" and target are valid NUL-terminated strings for the call's
    // duration; with F_EMPTY_PATH the source is the mount fd itself.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_move_mount,
            libc::c_long::from(mnt.as_raw_fd()),
            c"".as_ptr(),
            libc::c_long::from(libc::AT_FDCWD),
            target.as_ptr(),
            MOVE_MOUNT_F_EMPTY_PATH,
        )
    };
    if ret < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Drains the messages the kernel queued on an fs_context fd ("e overlay: ...").
fn fs_context_log(fs: &OwnedFd) -> String {
    let mut msgs = Vec::new();
    let mut buf = [0u8; 1024];
    // Each read returns one message; ENODATA once the queue is empty.
    for _ in 0..16 {
        match nix::unistd::read(fs.as_fd(), &mut buf) {
            Ok(n) if n > 0 => {
                msgs.push(String::from_utf8_lossy(&buf[..n]).trim_end().to_string());
            }
            _ => break,
        }
    }
    if msgs.is_empty() {
        String::new()
    } else {
        format!(" (kernel: {})", msgs.join("; "))
    }
}

/// Whether overlayfs takes `lowerdir+` through fsconfig. Linux >= 6.8 has it whenever
/// fsopen works, which is checked without the probe: overlayfs writes the probe's failed
/// lookup to the kernel log, once per mount. Older kernels are probed.
fn lowerdir_add_supported() -> bool {
    let release = nix::sys::utsname::uname()
        .map(|u| u.release().to_string_lossy().into_owned())
        .unwrap_or_default();
    if release_at_least(&release, 6, 8) {
        return fsopen_overlay().is_ok();
    }
    fsconfig_lowerdir_add_supported()
}

/// `release` (uname's "6.8.0-31-generic" form) is at least `major.minor`.
fn release_at_least(release: &str, major: u32, minor: u32) -> bool {
    let mut parts = release
        .trim()
        .split(|c: char| !c.is_ascii_digit())
        .map(|p| p.parse::<u32>().unwrap_or(0));
    let (ma, mi) = (parts.next().unwrap_or(0), parts.next().unwrap_or(0));
    (ma, mi) >= (major, minor)
}

/// Probes whether overlayfs takes `lowerdir+` through fsconfig (Linux >= 6.8).
///
/// The probe appends a path that cannot exist (`/dev/null/...`):
/// * >= 6.8 parses the key and fails the path lookup (ENOTDIR/ENOENT): supported;
/// * 6.5-6.7 rejects the unknown key with EINVAL: unsupported;
/// * < 6.5 uses the legacy context that accepts any key now and fails only at
///   create time, so *success* here means unsupported;
/// * fsopen failing (ENOSYS on < 5.2, or blocked by seccomp) means unsupported,
///   and the mount(2) fallback will report any real problem.
fn fsconfig_lowerdir_add_supported() -> bool {
    let Ok(fs) = fsopen_overlay() else {
        return false;
    };
    match fsconfig_string(&fs, c"lowerdir+", c"/dev/null/berth-lowerdir-probe") {
        Ok(()) => false,
        Err(e) => e.raw_os_error() != Some(libc::EINVAL),
    }
}

/// A path as an fsconfig string value, switching to `/proc/self/fd/<n>` of an
/// O_PATH descriptor (kept alive in `held`) when it exceeds fsconfig's limit.
fn fsconfig_value(
    req: &Request,
    path: &Path,
    escaped: Vec<u8>,
    held: &mut Vec<OwnedFd>,
) -> Result<CString, SnapshotError> {
    if escaped.len() <= FSCONFIG_MAX_VALUE {
        return cstring(&escaped, &req.target);
    }
    let fd = nix::fcntl::open(
        path,
        nix::fcntl::OFlag::O_PATH | nix::fcntl::OFlag::O_DIRECTORY | nix::fcntl::OFlag::O_CLOEXEC,
        nix::sys::stat::Mode::empty(),
    )
    .map_err(|e| {
        req.mount_err(
            Mechanism::FsConfig,
            format!("opening long path {}", path.display()),
            e.into(),
        )
    })?;
    let value = format!("/proc/self/fd/{}", fd.as_raw_fd());
    held.push(fd);
    cstring(value.as_bytes(), &req.target)
}

fn mount_fsconfig(req: &Request) -> Result<(), SnapshotError> {
    let mech = Mechanism::FsConfig;
    let fs = fsopen_overlay().map_err(|e| req.mount_err(mech, "fsopen(\"overlay\")", e))?;
    // Failures after fsopen carry the kernel's fs_context log.
    let fail = |step: String, e: io::Error| -> SnapshotError {
        let e_is_einval = e.raw_os_error() == Some(libc::EINVAL);
        let mut err = req.mount_err(mech, step, e);
        if let SnapshotError::Mount { detail, .. } = &mut err {
            *detail = fs_context_log(&fs);
            if detail.is_empty() && e_is_einval {
                *detail = " (the kernel log has overlayfs' reason)".into();
            }
        }
        err
    };
    let mut held = Vec::new();

    fsconfig_string(&fs, c"source", c"overlay").map_err(|e| fail("fsconfig source".into(), e))?;
    for (i, lower) in req.lowers.iter().enumerate() {
        // lowerdir+ values are not unescaped by overlayfs: pass them verbatim.
        let raw = lower.as_os_str().as_bytes().to_vec();
        let value = fsconfig_value(req, lower, raw, &mut held)?;
        fsconfig_string(&fs, c"lowerdir+", &value).map_err(|e| {
            fail(
                format!("fsconfig lowerdir+ for layer {i} ({})", lower.display()),
                e,
            )
        })?;
    }
    if let Some((upper, work)) = &req.upper_work {
        for (key, path) in [(c"upperdir", upper), (c"workdir", work)] {
            // upperdir/workdir *are* unescaped by overlayfs.
            let value = fsconfig_value(req, path, escape_ovl(path), &mut held)?;
            fsconfig_string(&fs, key, &value).map_err(|e| {
                fail(
                    format!("fsconfig {} ({})", key.to_string_lossy(), path.display()),
                    e,
                )
            })?;
        }
    }
    if req.volatile && req.upper_work.is_some() {
        fsconfig_flag(&fs, c"volatile").map_err(|e| fail("fsconfig volatile".into(), e))?;
    }
    fsconfig_create(&fs).map_err(|e| fail("fsconfig FSCONFIG_CMD_CREATE".into(), e))?;
    let mnt = fsmount(&fs).map_err(|e| fail("fsmount".into(), e))?;
    let target_c = cstring(req.target.as_os_str().as_bytes(), &req.target)?;
    // If this fails, dropping `mnt` discards the detached mount.
    move_mount_to(&mnt, &target_c).map_err(|e| req.mount_err(mech, "move_mount", e))
}

/// Read-only bind mount of a single lower (overlay needs two lowers without upper).
fn bind_readonly(lower: &Path, target: &Path) -> Result<(), SnapshotError> {
    let err = |step: &'static str, e: Errno| SnapshotError::Bind {
        target: target.to_path_buf(),
        lower: lower.to_path_buf(),
        step,
        source: e.into(),
    };
    nix::mount::mount(
        Some(lower),
        target,
        None::<&str>,
        MsFlags::MS_BIND,
        None::<&str>,
    )
    .map_err(|e| err("mount(MS_BIND)", e))?;
    // MS_RDONLY is ignored on the initial bind; it takes a bind remount.
    if let Err(e) = nix::mount::mount(
        None::<&str>,
        target,
        None::<&str>,
        MsFlags::MS_REMOUNT | MsFlags::MS_BIND | MsFlags::MS_RDONLY,
        None::<&str>,
    ) {
        // Never leave a writable view of an image layer behind.
        let _ = nix::mount::umount2(target, MntFlags::MNT_DETACH);
        return Err(err("remount(MS_BIND|MS_RDONLY)", e));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;
    use std::os::unix::fs::{FileTypeExt, MetadataExt};

    /// Real mounts need root; elsewhere the mount tests say so and pass.
    fn have_root() -> bool {
        if nix::unistd::geteuid().is_root() {
            return true;
        }
        eprintln!("skipping: overlay mount tests need root");
        false
    }

    fn kernel_at_least(major: u32, minor: u32) -> bool {
        let release = fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
        release_at_least(&release, major, minor)
    }

    #[test]
    fn release_versions_compare_numerically() {
        assert!(release_at_least("6.18.44-fc-v769", 6, 8));
        assert!(release_at_least("6.8.0-31-generic", 6, 8));
        assert!(!release_at_least("6.7.12", 6, 8));
        assert!(!release_at_least("5.19.0", 6, 8));
        assert!(release_at_least("7.0", 6, 8));
        assert!(!release_at_least("", 6, 8));
    }

    #[test]
    fn the_unprobed_choice_agrees_with_the_probe() {
        assert_eq!(lowerdir_add_supported(), fsconfig_lowerdir_add_supported());
    }

    /// Mechanisms to exercise: `None` is the automatic choice. FsConfig is only
    /// skipped on kernels older than 6.8, so a broken probe fails loudly.
    fn mechanisms() -> Vec<Option<Mechanism>> {
        let mut v = vec![None, Some(Mechanism::Classic), Some(Mechanism::ShortLinks)];
        if kernel_at_least(6, 8) || fsconfig_lowerdir_add_supported() {
            v.push(Some(Mechanism::FsConfig));
        } else {
            eprintln!("note: kernel < 6.8, FsConfig not exercised");
        }
        v
    }

    fn mount_via(
        mech: Option<Mechanism>,
        lowers: &[PathBuf],
        upper_work: Option<(&Path, &Path)>,
        target: &Path,
    ) -> Result<MountGuard, SnapshotError> {
        match mech {
            None => mount_overlay(lowers, upper_work, target)?,
            Some(m) => mount_overlay_with(m, lowers, upper_work, target)?,
        }
        Ok(MountGuard(target.to_path_buf()))
    }

    /// Unmounts on drop, so a failing assertion never leaks a mount.
    struct MountGuard(PathBuf);

    impl Drop for MountGuard {
        fn drop(&mut self) {
            if let Err(e) = unmount(&self.0) {
                eprintln!("cleanup: {e}");
            }
        }
    }

    /// A unique scratch dir; declare it before any MountGuard so mounts go first.
    struct Scratch {
        dir: tempfile::TempDir,
    }

    impl Scratch {
        fn new() -> Self {
            let dir = tempfile::Builder::new()
                .prefix("berth-snapshot-test-")
                .tempdir()
                .expect("create temp dir");
            Self { dir }
        }

        fn mkdir(&self, rel: &str) -> PathBuf {
            let p = self.dir.path().join(rel);
            fs::create_dir_all(&p).expect("create test dir");
            p
        }
    }

    fn write(path: &Path, content: &str) {
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent).expect("create parent");
        }
        fs::write(path, content).expect("write test file");
    }

    fn read(path: &Path) -> String {
        fs::read_to_string(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
    }

    fn upper_work(s: &Scratch, name: &str) -> (PathBuf, PathBuf) {
        (
            s.mkdir(&format!("{name}/upper")),
            s.mkdir(&format!("{name}/work")),
        )
    }

    fn as_refs(uw: &(PathBuf, PathBuf)) -> Option<(&Path, &Path)> {
        Some((uw.0.as_path(), uw.1.as_path()))
    }

    #[test]
    fn escape_and_data_format() {
        assert_eq!(
            escape_ovl(Path::new("/a:b,c\\d e")),
            b"/a\\:b\\,c\\\\d e".to_vec()
        );
        let uw = (PathBuf::from("/u,1"), PathBuf::from("/w"));
        let data = overlay_data(&[b"0".to_vec(), b"1".to_vec()], Some(&uw), false);
        assert_eq!(data, b"lowerdir=0:1,upperdir=/u\\,1,workdir=/w".to_vec());
        assert_eq!(
            overlay_data(&[b"/x".to_vec()], None, false),
            b"lowerdir=/x".to_vec()
        );
    }

    #[test]
    fn mountinfo_unescape() {
        assert_eq!(unescape_mountinfo(b"/a\\040b\\134c"), b"/a b\\c".to_vec());
        assert_eq!(unescape_mountinfo(b"/plain\\"), b"/plain\\".to_vec());
        assert_eq!(unescape_mountinfo(b"/x\\09"), b"/x\\09".to_vec());
    }

    #[test]
    fn invalid_requests_are_refused_before_the_kernel() {
        let target = Path::new("/nonexistent/berth/target");
        let err = mount_overlay(&[], None, target).expect_err("no lowers must fail");
        assert!(matches!(err, SnapshotError::InvalidInput { .. }), "{err}");
        assert!(
            err.to_string().contains("/nonexistent/berth/target"),
            "{err}"
        );

        let many: Vec<PathBuf> = (0..=MAX_LOWER_LAYERS)
            .map(|i| PathBuf::from(format!("/l/{i}")))
            .collect();
        let err = mount_overlay(&many, None, target).expect_err("501 lowers must fail");
        assert!(err.to_string().contains("501 lower layers"), "{err}");
    }

    #[test]
    fn probe_matches_kernel_version() {
        if kernel_at_least(6, 8) {
            assert!(
                fsconfig_lowerdir_add_supported(),
                "kernel >= 6.8 must support lowerdir+"
            );
        }
    }

    #[test]
    fn two_lowers_with_upper_merge_and_write_to_upper() {
        if !have_root() {
            return;
        }
        for mech in mechanisms() {
            let s = Scratch::new();
            let top = s.mkdir("top");
            let bottom = s.mkdir("bottom");
            let (upper, work) = upper_work(&s, "rw");
            let target = s.mkdir("merged");
            write(&top.join("a.txt"), "a-from-top");
            write(&top.join("shared.txt"), "shared-from-top");
            write(&bottom.join("b.txt"), "b-from-bottom");
            write(&bottom.join("shared.txt"), "shared-from-bottom");
            write(&bottom.join("both.txt"), "both-from-bottom");
            write(&upper.join("both.txt"), "both-from-upper");

            let lowers = vec![top.clone(), bottom.clone()];
            let _m = mount_via(mech, &lowers, Some((&upper, &work)), &target)
                .unwrap_or_else(|e| panic!("{mech:?}: {e}"));
            assert!(is_mounted(&target).expect("is_mounted"), "{mech:?}");

            assert_eq!(read(&target.join("a.txt")), "a-from-top");
            assert_eq!(read(&target.join("b.txt")), "b-from-bottom");
            assert_eq!(
                read(&target.join("shared.txt")),
                "shared-from-top",
                "{mech:?}"
            );
            assert_eq!(
                read(&target.join("both.txt")),
                "both-from-upper",
                "{mech:?}"
            );

            write(&target.join("new.txt"), "written");
            write(&target.join("b.txt"), "changed");
            assert_eq!(read(&upper.join("new.txt")), "written");
            assert_eq!(
                read(&upper.join("b.txt")),
                "changed",
                "copy-up lands in upper"
            );
            assert_eq!(
                read(&bottom.join("b.txt")),
                "b-from-bottom",
                "lower untouched"
            );
            assert!(!top.join("new.txt").exists() && !bottom.join("new.txt").exists());
        }
    }

    #[test]
    fn whiteout_and_opaque_dir_hide_lower_content() {
        if !have_root() {
            return;
        }
        for mech in mechanisms() {
            let s = Scratch::new();
            let top = s.mkdir("top");
            let bottom = s.mkdir("bottom");
            let (upper, work) = upper_work(&s, "rw");
            let target = s.mkdir("merged");

            write(&bottom.join("gone.txt"), "should be hidden");
            write(&bottom.join("kept.txt"), "kept");
            write(&bottom.join("dir/old.txt"), "hidden by opaque dir");
            write(&bottom.join("deleteme.txt"), "x");

            // Whiteout: char device 0:0 in a higher layer.
            nix::sys::stat::mknod(
                &top.join("gone.txt"),
                nix::sys::stat::SFlag::S_IFCHR,
                nix::sys::stat::Mode::empty(),
                nix::sys::stat::makedev(0, 0),
            )
            .expect("mknod whiteout");
            // Opaque dir: trusted.overlay.opaque=y.
            write(&top.join("dir/new.txt"), "new");
            let dir_c = CString::new(top.join("dir").as_os_str().as_bytes()).expect("cstring");
            // SAFETY: all pointers are valid NUL-terminated strings / a 1-byte buffer.
            let rc = unsafe {
                libc::setxattr(
                    dir_c.as_ptr(),
                    c"trusted.overlay.opaque".as_ptr(),
                    c"y".as_ptr().cast(),
                    1,
                    0,
                )
            };
            assert_eq!(rc, 0, "setxattr: {}", io::Error::last_os_error());

            let lowers = vec![top.clone(), bottom.clone()];
            let _m = mount_via(mech, &lowers, Some((&upper, &work)), &target)
                .unwrap_or_else(|e| panic!("{mech:?}: {e}"));

            assert!(
                !target.join("gone.txt").exists(),
                "{mech:?}: whiteout ignored"
            );
            assert_eq!(read(&target.join("kept.txt")), "kept");
            assert!(
                !target.join("dir/old.txt").exists(),
                "{mech:?}: opaque ignored"
            );
            assert_eq!(read(&target.join("dir/new.txt")), "new");

            // Deleting a lower file through the mount leaves a whiteout in upper.
            fs::remove_file(target.join("deleteme.txt")).expect("delete via overlay");
            assert!(!target.join("deleteme.txt").exists());
            let meta = fs::symlink_metadata(upper.join("deleteme.txt")).expect("whiteout");
            assert!(meta.file_type().is_char_device() && meta.rdev() == 0);
        }
    }

    /// Builds `n` layers under 64-hex dirs, created bottom (0) to top (n-1);
    /// layer i adds `/f<i>` and overrides `/top` with `i`. Returned top-first.
    fn many_layers(s: &Scratch, n: usize) -> Vec<PathBuf> {
        let mut lowers: Vec<PathBuf> = (0..n)
            .map(|i| {
                let diff = s.mkdir(&format!("{}/diff", format!("{i:016x}").repeat(4)));
                write(&diff.join(format!("f{i}")), &i.to_string());
                write(&diff.join("top"), &i.to_string());
                diff
            })
            .collect();
        lowers.reverse();
        lowers
    }

    fn check_many(target: &Path, n: usize) {
        for i in 0..n {
            assert_eq!(read(&target.join(format!("f{i}"))), i.to_string());
        }
        assert_eq!(read(&target.join("top")), (n - 1).to_string());
        let entries = fs::read_dir(target).expect("read merged dir").count();
        assert_eq!(entries, n + 1);
    }

    const MANY: usize = 200;

    fn many_layers_with(mech: Option<Mechanism>, with_upper: bool) {
        let s = Scratch::new();
        let lowers = many_layers(&s, MANY);
        // Make sure the test really is past the classic one-page limit.
        let classic_len: usize = lowers.iter().map(|l| l.as_os_str().len() + 1).sum();
        assert!(classic_len > 3 * 4096, "only {classic_len} bytes");
        let uw = upper_work(&s, "rw");
        let target = s.mkdir("merged");
        let _m = mount_via(
            mech,
            &lowers,
            with_upper.then(|| as_refs(&uw)).flatten(),
            &target,
        )
        .unwrap_or_else(|e| panic!("{mech:?}: {e}"));
        check_many(&target, MANY);
        if with_upper {
            write(&target.join("top"), "mine");
            assert_eq!(read(&uw.0.join("top")), "mine");
        }
    }

    #[test]
    fn many_layers_fsconfig() {
        if !have_root() {
            return;
        }
        if !kernel_at_least(6, 8) && !fsconfig_lowerdir_add_supported() {
            eprintln!("skipping: kernel < 6.8 has no lowerdir+");
            return;
        }
        many_layers_with(Some(Mechanism::FsConfig), true);
    }

    #[test]
    fn many_layers_short_links() {
        if !have_root() {
            return;
        }
        many_layers_with(Some(Mechanism::ShortLinks), true);
    }

    #[test]
    fn many_layers_automatic_read_only() {
        if !have_root() {
            return;
        }
        many_layers_with(None, false);
    }

    #[test]
    fn classic_refuses_many_layers_clearly() {
        if !have_root() {
            return;
        }
        let s = Scratch::new();
        let lowers = many_layers(&s, MANY);
        let (upper, work) = upper_work(&s, "rw");
        let target = s.mkdir("merged");
        let err = mount_overlay_with(Mechanism::Classic, &lowers, Some((&upper, &work)), &target)
            .expect_err("classic must refuse ~20 KB of mount data");
        let _m = MountGuard(target.clone()); // in case it mounted anyway
        assert!(
            matches!(
                err,
                SnapshotError::TooLong {
                    layers: MANY,
                    mechanism: Mechanism::Classic,
                    ..
                }
            ),
            "{err:?}"
        );
        let msg = err.to_string();
        assert!(
            msg.contains("too long") && msg.contains("200 layers"),
            "{msg}"
        );
        assert!(msg.contains(&target.display().to_string()), "{msg}");
        assert!(!is_mounted(&target).expect("is_mounted"));
    }

    #[test]
    fn read_only_view_of_several_lowers() {
        if !have_root() {
            return;
        }
        for mech in mechanisms() {
            let s = Scratch::new();
            let names = ["l0", "l1", "l2"];
            let lowers: Vec<PathBuf> = names.iter().map(|n| s.mkdir(n)).collect();
            for (l, n) in lowers.iter().zip(names) {
                write(&l.join(n), n);
                write(&l.join("who"), n);
            }
            let target = s.mkdir("merged");
            let _m =
                mount_via(mech, &lowers, None, &target).unwrap_or_else(|e| panic!("{mech:?}: {e}"));
            for n in names {
                assert_eq!(read(&target.join(n)), n);
            }
            assert_eq!(read(&target.join("who")), "l0", "index 0 is topmost");
            let err = fs::write(target.join("new"), "x").expect_err("view must be read-only");
            assert_eq!(err.raw_os_error(), Some(libc::EROFS), "{mech:?}: {err}");
        }
    }

    #[test]
    fn single_lower_without_upper_is_a_read_only_bind() {
        if !have_root() {
            return;
        }
        for mech in mechanisms() {
            let s = Scratch::new();
            let lower = s.mkdir("only");
            write(&lower.join("file"), "content");
            let target = s.mkdir("merged");
            let m = mount_via(mech, std::slice::from_ref(&lower), None, &target)
                .unwrap_or_else(|e| panic!("{mech:?}: {e}"));
            assert!(is_mounted(&target).expect("is_mounted"));
            assert_eq!(read(&target.join("file")), "content");
            let err = fs::write(target.join("file"), "x").expect_err("must be read-only");
            assert_eq!(err.raw_os_error(), Some(libc::EROFS));
            drop(m);
            assert!(!is_mounted(&target).expect("is_mounted"));
            assert!(!target.join("file").exists());
        }
    }

    #[test]
    fn single_lower_with_upper_is_an_overlay() {
        if !have_root() {
            return;
        }
        let s = Scratch::new();
        let lower = s.mkdir("only");
        write(&lower.join("file"), "content");
        let (upper, work) = upper_work(&s, "rw");
        let target = s.mkdir("merged");
        let _m = mount_via(
            None,
            std::slice::from_ref(&lower),
            Some((&upper, &work)),
            &target,
        )
        .expect("mount");
        write(&target.join("file"), "changed");
        assert_eq!(read(&upper.join("file")), "changed");
        assert_eq!(read(&lower.join("file")), "content");
    }

    #[test]
    fn special_characters_and_long_paths() {
        if !have_root() {
            return;
        }
        for mech in mechanisms() {
            let s = Scratch::new();
            // ':' ',' '\' need overlayfs escaping; ' ' needs mountinfo unescaping.
            let odd = s.mkdir("odd:dir,with\\escapes and=space");
            // > 255 bytes: past fsconfig's per-value limit.
            let long = s.mkdir(&format!(
                "{}/{}/{}",
                "x".repeat(100),
                "y".repeat(100),
                "z".repeat(100)
            ));
            assert!(long.as_os_str().len() > FSCONFIG_MAX_VALUE);
            write(&odd.join("odd.txt"), "odd");
            write(&long.join("long.txt"), "long");
            let upper = s.mkdir(&format!("{}/up:per,dir", "u".repeat(250)));
            let work = s.mkdir(&format!("{}/wo\\rk", "u".repeat(250)));
            let target = s.mkdir("mer ged:target");
            let lowers = vec![odd, long];
            let _m = mount_via(mech, &lowers, Some((&upper, &work)), &target)
                .unwrap_or_else(|e| panic!("{mech:?}: {e}"));
            assert!(is_mounted(&target).expect("is_mounted"), "{mech:?}");
            assert_eq!(read(&target.join("odd.txt")), "odd");
            assert_eq!(read(&target.join("long.txt")), "long");
            write(&target.join("w.txt"), "w");
            assert_eq!(read(&upper.join("w.txt")), "w");
        }
    }

    #[test]
    fn mount_errors_name_target_cause_and_layer_count() {
        if !have_root() {
            return;
        }
        for mech in mechanisms() {
            let s = Scratch::new();
            let good = s.mkdir("good");
            let missing = s.dir.path().join("missing-layer");
            let target = s.mkdir("merged");
            let err = mount_via(mech, &[good, missing.clone()], None, &target)
                .map(|_guard| ())
                .expect_err("missing lower must fail");
            let msg = err.to_string();
            assert!(msg.contains(&target.display().to_string()), "{msg}");
            assert!(msg.contains("2 lower layers"), "{msg}");
            assert!(msg.contains(&missing.display().to_string()), "{msg}");
            assert!(msg.contains("layer 1"), "{msg}");
            assert!(!is_mounted(&target).expect("is_mounted"));
        }
    }

    #[test]
    fn unmount_and_is_mounted() {
        if !have_root() {
            return;
        }
        let s = Scratch::new();
        let nowhere = s.dir.path().join("does-not-exist");
        assert!(!is_mounted(&nowhere).expect("is_mounted"));
        unmount(&nowhere).expect("unmount of a missing path is Ok");

        let target = s.mkdir("merged");
        assert!(!is_mounted(&target).expect("is_mounted"));
        unmount(&target).expect("unmount of a plain dir is Ok");

        let lowers = vec![s.mkdir("a"), s.mkdir("b")];
        write(&lowers[0].join("f"), "f");
        mount_overlay(&lowers, None, &target).expect("mount");
        let _guard = MountGuard(target.clone());
        assert!(is_mounted(&target).expect("is_mounted"));
        unmount(&target).expect("unmount");
        assert!(!is_mounted(&target).expect("is_mounted"));
        unmount(&target).expect("second unmount is Ok");

        // Stacked mounts on one target all go.
        mount_overlay(&lowers, None, &target).expect("mount 1");
        mount_overlay(&lowers, None, &target).expect("mount 2");
        unmount(&target).expect("unmount stacked");
        assert!(!is_mounted(&target).expect("is_mounted"));

        // A busy mount (open file) falls back to a lazy detach.
        mount_overlay(&lowers, None, &target).expect("mount busy");
        let held = fs::File::open(target.join("f")).expect("open in mount");
        unmount(&target).expect("busy unmount detaches");
        assert!(!is_mounted(&target).expect("is_mounted"));
        drop(held);
    }
}
