//! A container's filesystem as `cp` sees it: its root filesystem with its volumes and
//! binds mounted where the container sees them, like Docker's daemon mounts them for an
//! archive request.
//!
//! The view is built in a private mount namespace of the thread doing the copy, so none
//! of its mounts is ever visible to the host, the container, or another thread, and all
//! of them vanish with the thread even if the process is killed. A running container's
//! live rootfs is used as it is (our namespace's copy of its mount); a stopped one gets
//! a writable overlay of its own upper dir, which is why the per-container filesystem
//! lock must be held: no start may mount the same upper dir meanwhile.

use std::fs::{self, File};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use nix::fcntl::{openat, OFlag};
use nix::mount::{mount, umount2, MntFlags, MsFlags};
use nix::sys::stat::{mkdirat, Mode};

use super::resolve::{components, fmt_of, io_err, lstat_at, resolve, Resolved};
use crate::engine::error::{Error, IoContext, Result};
use crate::engine::image::snapshot;
use crate::engine::runtime::container::ContainerRecord;
use crate::engine::runtime::{fsops, paths};
use crate::engine::store::tmp::TmpDir;
use crate::engine::store::Store;

/// Exclusive hold on a container's filesystem: taken by `cp` for its whole operation
/// and by the monitor while it mounts the rootfs for a start, so a start waits for a
/// copy into a stopped container to finish instead of mounting the same upper dir.
#[derive(Debug)]
pub struct FsLock {
    _file: File,
}

/// Blocks until the container's filesystem lock is ours.
pub fn lock(store: &Store, id: &str) -> Result<FsLock> {
    use std::os::fd::AsRawFd;
    let path = paths::container_dir(store, id).join("fs.lock");
    let file = fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .ctx(|| format!("opening {}", path.display()))?;
    loop {
        // SAFETY: flock on an fd we own; no memory is passed.
        if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX) } == 0 {
            return Ok(FsLock { _file: file });
        }
        let e = std::io::Error::last_os_error();
        if e.kind() != std::io::ErrorKind::Interrupted {
            return Err(Error::io(format!("locking {}", path.display()), e));
        }
    }
}

/// A volume, bind or /etc file to mount into the view.
struct BindPlan {
    dest: String,
    source: PathBuf,
    rw: bool,
}

/// Everything the view needs, gathered (with the lock held) before the thread starts.
pub(super) struct Plan {
    dir: PathBuf,
    lowers: Vec<PathBuf>,
    binds: Vec<BindPlan>,
    tmpfs: Vec<String>,
    readonly_rootfs: bool,
    scratch: TmpDir,
    lock: FsLock,
}

fn depth(dest: &str) -> usize {
    dest.split('/').filter(|c| !c.is_empty()).count()
}

pub(super) fn plan(store: &Store, rec: &ContainerRecord) -> Result<Plan> {
    let lock = lock(store, &rec.id)?;
    let dir = paths::container_dir(store, &rec.id);
    let hc = &rec.config.host_config;
    let readonly_rootfs = hc.readonly_rootfs == Some(true);
    let mut binds = Vec::new();
    let mut tmpfs: Vec<String> = hc.tmpfs.iter().flatten().map(|(k, _)| k.clone()).collect();
    for m in &rec.config.mounts {
        if m.kind == "tmpfs" {
            tmpfs.push(m.destination.clone());
        } else {
            binds.push(BindPlan {
                dest: m.destination.clone(),
                source: PathBuf::from(&m.source),
                rw: m.rw,
            });
        }
    }
    // The /etc files every start binds in, unless a user mount takes their place (see
    // spec::mounts): what the container reads there is what cp must read and write.
    for (dest, file) in [
        ("/etc/resolv.conf", "resolv.conf"),
        ("/etc/hostname", "hostname"),
        ("/etc/hosts", "hosts"),
    ] {
        let taken = binds.iter().any(|b| b.dest == dest) || tmpfs.iter().any(|t| t == dest);
        if !taken && dir.join(file).is_file() {
            binds.push(BindPlan {
                dest: dest.into(),
                source: dir.join(file),
                rw: !readonly_rootfs,
            });
        }
    }
    // Parents first, as the runtime mounts them.
    binds.sort_by_key(|b| depth(&b.dest));
    Ok(Plan {
        lowers: fsops::container_lowers(store, rec)?,
        scratch: store.tmp_dir()?,
        dir,
        binds,
        tmpfs,
        readonly_rootfs,
        lock,
    })
}

/// A mount inside the view, by the container path it covers.
struct ViewMount {
    dest: Vec<Vec<u8>>,
    rw: bool,
    tmpfs: bool,
}

pub(super) struct View {
    root: OwnedFd,
    root_path: PathBuf,
    /// The container's own rootfs mount (it is running or starting).
    live: bool,
    mounts: Vec<ViewMount>,
    readonly_rootfs: bool,
    // Dropped after the unmount in `drop`, in this order: scratch dir, then the lock.
    _scratch: TmpDir,
    _lock: FsLock,
}

/// Moves this thread into a mount namespace of its own whose mounts propagate nowhere.
fn private_namespace() -> Result<()> {
    // SAFETY: unshare with a flag constant. CLONE_NEWNS implies CLONE_FS, which only
    // unshares this thread's root, cwd and umask: no other thread is affected.
    if unsafe { libc::unshare(libc::CLONE_NEWNS) } != 0 {
        return Err(Error::io(
            "creating a private mount namespace",
            std::io::Error::last_os_error(),
        ));
    }
    mount(
        None::<&str>,
        "/",
        None::<&str>,
        MsFlags::MS_REC | MsFlags::MS_PRIVATE,
        None::<&str>,
    )
    .map_err(|e| Error::io("making the mount namespace private", io_err(e)))
}

/// Whether something is mounted at `target` (a different device than its parent).
fn is_mountpoint(target: &Path, parent: &Path) -> Result<bool> {
    let t = fs::metadata(target).ctx(|| format!("inspecting {}", target.display()))?;
    let p = fs::metadata(parent).ctx(|| format!("inspecting {}", parent.display()))?;
    Ok(t.dev() != p.dev())
}

fn proc_fd(fd: &OwnedFd) -> String {
    format!("/proc/self/fd/{}", fd.as_raw_fd())
}

impl View {
    /// Builds the view. Must run on a thread of its own, started for this purpose: the
    /// thread is moved into a private mount namespace and should exit when done.
    pub(super) fn enter(plan: Plan) -> Result<View> {
        private_namespace()?;
        let rootfs = plan.dir.join("rootfs");
        let live = is_mountpoint(&rootfs, &plan.dir)?;
        let root_path = if live {
            rootfs
        } else {
            let target = plan.scratch.path().join("view");
            fs::create_dir(&target).ctx(|| format!("creating {}", target.display()))?;
            let upper = plan.dir.join("upper");
            let work = plan.dir.join("work");
            snapshot::mount_overlay(&plan.lowers, Some((&upper, &work)), &target)
                .map_err(|e| Error::Other(format!("mounting the container's filesystem: {e}")))?;
            target
        };
        let root = match nix::fcntl::open(
            &root_path,
            OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
            Mode::empty(),
        ) {
            Ok(fd) => fd,
            Err(e) => {
                let _ = umount2(&root_path, MntFlags::MNT_DETACH);
                return Err(Error::io("opening the container's filesystem", io_err(e)));
            }
        };
        let mut view = View {
            root,
            root_path,
            live,
            mounts: Vec::new(),
            readonly_rootfs: plan.readonly_rootfs,
            _scratch: plan.scratch,
            _lock: plan.lock,
        };
        for b in &plan.binds {
            let m = bind(view.root(), b)?;
            view.mounts.push(m);
        }
        for t in &plan.tmpfs {
            let comps = components(t.as_bytes());
            let dest = match resolve(view.root(), &comps, true) {
                Ok(r) => r.path,
                Err(_) => comps.into_iter().filter(|c| !c.is_empty()).collect(),
            };
            view.mounts.push(ViewMount {
                dest,
                rw: true,
                tmpfs: true,
            });
        }
        Ok(view)
    }

    pub(super) fn root(&self) -> BorrowedFd<'_> {
        self.root.as_fd()
    }

    /// The innermost mount holding `path`; None for the root filesystem. A stopped
    /// container's tmpfs mounts do not exist, so their paths are in its rootfs.
    fn mount_of(&self, path: &[Vec<u8>]) -> Option<&ViewMount> {
        self.mounts
            .iter()
            .filter(|m| (!m.tmpfs || self.live) && path.starts_with(&m.dest))
            .max_by_key(|m| m.dest.len())
    }

    /// A running container's tmpfs lives only in its own mount namespace: refuse rather
    /// than read or write the rootfs dir it hides.
    pub(super) fn check_reachable(&self, target: &Resolved) -> Result<()> {
        match self.mount_of(&target.path) {
            Some(m) if m.tmpfs => Err(Error::invalid(format!(
                "{} is on a tmpfs mount ({}) of the running container, which cp cannot reach",
                target.path_string(),
                super::resolve::join_abs(&m.dest)
            ))),
            _ => Ok(()),
        }
    }

    /// Docker's rule for extracting into `target`: a read-only volume, or the rootfs of
    /// a `--read-only` container, refuses.
    pub(super) fn check_writable(&self, target: &Resolved) -> Result<()> {
        self.check_reachable(target)?;
        match self.mount_of(&target.path) {
            Some(m) if !m.rw => Err(Error::invalid("mounted volume is marked read-only")),
            Some(_) => Ok(()),
            None if self.readonly_rootfs => {
                Err(Error::invalid("container rootfs is marked read-only"))
            }
            None => Ok(()),
        }
    }
}

impl Drop for View {
    fn drop(&mut self) {
        // Detach the whole tree (binds included). It is gone for good once our root fd,
        // the first field, closes; only then do the scratch dir and the lock go, so a
        // start that follows never meets our mount of the upper dir.
        let _ = umount2(&self.root_path, MntFlags::MNT_DETACH);
    }
}

/// Creates the mount point when missing, as a start would.
fn ensure_mountpoint(dir: BorrowedFd<'_>, name: &[u8], want_dir: bool) -> Result<()> {
    let io = |e: std::io::Error| Error::io("creating a mount point", e);
    match lstat_at(dir, name) {
        Ok(st) if (fmt_of(&st) == libc::S_IFDIR) == want_dir => Ok(()),
        Ok(_) => Err(Error::invalid(format!(
            "cannot mount a {} over a {} at {}",
            if want_dir { "directory" } else { "file" },
            if want_dir { "file" } else { "directory" },
            String::from_utf8_lossy(name)
        ))),
        Err(e) if e.raw_os_error() == Some(libc::ENOENT) => {
            if want_dir {
                mkdirat(dir, name, Mode::from_bits_truncate(0o755)).map_err(|e| io(io_err(e)))
            } else {
                let flags = OFlag::O_WRONLY
                    | OFlag::O_CREAT
                    | OFlag::O_EXCL
                    | OFlag::O_NOFOLLOW
                    | OFlag::O_CLOEXEC;
                openat(dir, name, flags, Mode::from_bits_truncate(0o644))
                    .map(drop)
                    .map_err(|e| io(io_err(e)))
            }
        }
        Err(e) => Err(io(e)),
    }
}

/// Bind-mounts one volume or bind at its destination inside the view, resolved inside
/// the view (a symlink there cannot send the mount outside it).
fn bind(root: BorrowedFd<'_>, b: &BindPlan) -> Result<ViewMount> {
    let what = || format!("mounting {} at {}", b.source.display(), b.dest);
    let want_dir = fs::metadata(&b.source).ctx(what)?.is_dir();
    let at = resolve(root, &components(b.dest.as_bytes()), true).ctx(what)?;
    let Some(name) = &at.name else {
        return Err(Error::invalid(format!(
            "{}: the destination is the container's root",
            what()
        )));
    };
    ensure_mountpoint(at.dir.as_fd(), name, want_dir)?;
    let open_path = || {
        openat(
            at.dir.as_fd(),
            name.as_slice(),
            OFlag::O_PATH | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
            Mode::empty(),
        )
        .map_err(|e| Error::io(what(), io_err(e)))
    };
    // Mount on the magic link of an fd we opened without following anything, never on
    // a path the container could redirect.
    let target = open_path()?;
    mount(
        Some(&b.source),
        proc_fd(&target).as_str(),
        None::<&str>,
        MsFlags::MS_BIND | MsFlags::MS_REC,
        None::<&str>,
    )
    .map_err(|e| Error::io(what(), io_err(e)))?;
    if !b.rw {
        // The new mount's root, reached through the same entry.
        let top = open_path()?;
        mount(
            None::<&str>,
            proc_fd(&top).as_str(),
            None::<&str>,
            MsFlags::MS_BIND | MsFlags::MS_REMOUNT | MsFlags::MS_RDONLY,
            None::<&str>,
        )
        .map_err(|e| Error::io(format!("{}: making it read-only", what()), io_err(e)))?;
    }
    Ok(ViewMount {
        dest: at.path,
        rw: b.rw,
        tmpfs: false,
    })
}
