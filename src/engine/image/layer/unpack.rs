//! Unpacking an OCI layer tar into an overlayfs lower dir.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, Read};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::Path;
use std::rc::Rc;

use nix::errno::Errno;
use nix::fcntl::{openat, AtFlags, OFlag};
use nix::sys::stat::UtimensatFlags;
use nix::sys::stat::{fchmod, fstat, futimens, mkdirat, mknodat, utimensat, Mode, SFlag};
use nix::sys::time::TimeSpec;
use nix::unistd::{fchown, fchownat, linkat, symlinkat, unlinkat, Gid, Uid, UnlinkatFlags};

use super::fsutil::{
    io_err, is_dir, is_overlay_xattr, lossy, lstat_at, open_dir_at, open_root, proc_path,
    remove_all_at, set_xattr, walk, WalkError, XTarget, OPAQUE_XATTR,
};
use super::pax::{Pax, PaxTap, Xattrs};
use super::{LayerError, UnpackStats};

/// Longest entry name accepted (Linux PATH_MAX): deeper trees could not be used anyway.
const MAX_NAME: usize = 4096;
const WHITEOUT_PREFIX: &[u8] = b".wh.";
const OPAQUE_MARKER: &[u8] = b".wh..wh..opq";

/// Unpacks an UNCOMPRESSED layer tar stream into `dest` (an existing empty dir), converting
/// OCI whiteouts to overlayfs form. Never writes outside `dest`.
///
/// On error `dest` is left partly written; the caller deletes it. Names are checked before
/// anything is written for them: absolute paths, `..`, NUL bytes, empty names, parents that
/// are symlinks or other non-directories, hardlinks to anything outside the layer, device
/// nodes and unknown member types are all refused with [`LayerError::Rejected`]. A `./`
/// member for the root itself is skipped, as Docker does.
pub fn unpack<R: Read>(tar: R, dest: &Path) -> Result<UnpackStats, LayerError> {
    unpack_with(tar, dest, &UnpackOptions::default())
}

/// What to do with character and block device members.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum DevicePolicy {
    /// Refuse the layer ([`unpack`]'s behaviour).
    #[default]
    Reject,
    /// Leave them out and count them in [`UnpackStats::skipped_devices`]. Images made with
    /// `docker import` of a debootstrap tree carry `/dev/null` and friends; a container
    /// gets its own `/dev` anyway, so dropping them loses nothing it could use.
    Skip,
    /// Skip them under `dev/` only (a container's `/dev` is a fresh tmpfs, so nodes there
    /// can never be reached) and refuse them anywhere else. What the engine uses.
    SkipUnderDev,
}

/// Knobs for [`unpack_with`]; the default is what [`unpack`] does.
#[derive(Debug, Clone, Default)]
pub struct UnpackOptions {
    pub devices: DevicePolicy,
}

/// [`unpack`] with options.
pub fn unpack_with<R: Read>(
    tar: R,
    dest: &Path,
    opts: &UnpackOptions,
) -> Result<UnpackStats, LayerError> {
    run(tar, dest, opts.devices, None)
}

/// Knobs for [`unpack_copy`].
#[derive(Debug, Clone, Default)]
pub struct CopyOptions {
    /// One owner for everything written (`docker cp` gives the container's root, or the
    /// caller on the host); None keeps the uid/gid recorded in the tar (`cp -a`).
    pub owner: Option<(u32, u32)>,
    /// Docker's NoOverwriteDirNonDir: refuse to replace a directory by a non-directory
    /// or the reverse, instead of removing what is there.
    pub no_overwrite_dir_non_dir: bool,
}

/// Extracts a `docker cp` tar into the existing directory `dest` with the same name
/// checks as [`unpack`] (nothing is ever written outside `dest`). A copy is not a layer:
/// `.wh.` names are ordinary files, and device nodes are refused.
pub fn unpack_copy<R: Read>(
    tar: R,
    dest: &Path,
    opts: &CopyOptions,
) -> Result<UnpackStats, LayerError> {
    run(tar, dest, DevicePolicy::Reject, Some(opts.clone()))
}

fn run<R: Read>(
    tar: R,
    dest: &Path,
    devices: DevicePolicy,
    copy: Option<CopyOptions>,
) -> Result<UnpackStats, LayerError> {
    let root = open_root(dest).map_err(|source| LayerError::Fs {
        path: dest.to_path_buf(),
        op: "opening unpack destination",
        source,
    })?;
    let (tap, tap_state) = PaxTap::new(tar);
    let mut archive = tar::Archive::new(tap);
    let mut unpacker = Unpacker {
        root: Rc::new(root),
        cache: None,
        dir_times: BTreeMap::new(),
        stats: UnpackStats::default(),
        devices,
        copy,
    };
    for entry in archive.entries().map_err(LayerError::Tar)? {
        let mut entry = entry.map_err(LayerError::Tar)?;
        let pax = tap_state
            .try_borrow_mut()
            .map_err(|_| LayerError::Tar(io::Error::other("layer tar reader re-entered")))?
            .take_pax(entry.raw_header_position())
            .map_err(LayerError::Tar)?;
        unpacker.entry(&mut entry, pax)?;
        // Whatever the handler did not read (data of skipped members) is consumed here, so
        // only the next member's headers are recorded by the tap.
        io::copy(&mut entry, &mut io::sink()).map_err(LayerError::Tar)?;
        tap_state
            .try_borrow_mut()
            .map_err(|_| LayerError::Tar(io::Error::other("layer tar reader re-entered")))?
            .resume();
    }
    unpacker.finish()?;
    Ok(unpacker.stats)
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Kind {
    File,
    Dir,
    Symlink,
    Hardlink,
    Fifo,
}

/// Ownership, mode, times and xattrs of one member.
struct Meta {
    uid: Uid,
    gid: Gid,
    mode: Mode,
    mtime: TimeSpec,
    xattrs: Xattrs,
}

struct Unpacker {
    root: Rc<OwnedFd>,
    /// Parent directory of the previous member: layers are mostly sorted, so consecutive
    /// members usually share it. Dropped whenever a directory is removed.
    cache: Option<(Vec<Vec<u8>>, Rc<OwnedFd>)>,
    /// Directory mtimes, applied at the end because creating children changes them.
    dir_times: BTreeMap<Vec<Vec<u8>>, TimeSpec>,
    stats: UnpackStats,
    devices: DevicePolicy,
    /// Set when extracting a `cp` archive rather than an image layer.
    copy: Option<CopyOptions>,
}

fn rejected(entry: &str, reason: impl Into<String>) -> LayerError {
    LayerError::Rejected {
        entry: entry.to_string(),
        reason: reason.into(),
    }
}

fn entry_io<'a>(entry: &'a str, op: &'static str) -> impl FnOnce(Errno) -> LayerError + 'a {
    move |e| LayerError::Entry {
        entry: entry.to_string(),
        op,
        source: io_err(e),
    }
}

/// Splits a member name into components. `.` and empty components (from `./x` or `a//b`)
/// are dropped; everything that could leave the layer is an error. An empty result means
/// the layer root itself.
fn split_name(name: &[u8]) -> Result<Vec<&[u8]>, String> {
    if name.is_empty() {
        return Err("empty name".into());
    }
    if name.contains(&0) {
        return Err("name contains a NUL byte".into());
    }
    if name.len() > MAX_NAME {
        return Err(format!("name longer than {MAX_NAME} bytes"));
    }
    if name.starts_with(b"/") {
        return Err("absolute path".into());
    }
    let mut comps = Vec::new();
    for comp in name.split(|b| *b == b'/') {
        match comp {
            b"" | b"." => {}
            b".." => return Err("path escapes the layer (contains \"..\")".into()),
            c if c.len() > 255 => return Err("path component longer than 255 bytes".into()),
            c => comps.push(c),
        }
    }
    Ok(comps)
}

fn join(comps: &[&[u8]]) -> String {
    lossy(&comps.join(&b'/'))
}

impl Unpacker {
    fn entry<R: Read>(
        &mut self,
        entry: &mut tar::Entry<'_, R>,
        pax: Pax,
    ) -> Result<(), LayerError> {
        self.stats.entries += 1;
        let type_byte = entry.header().as_bytes()[156];
        if pax.size.is_some_and(|size| size != entry.size()) {
            // The tar crate missed the PAX size (see pax.rs): the stream position is wrong
            // from here on, so stop rather than read garbage.
            return Err(LayerError::Tar(io::Error::new(
                io::ErrorKind::InvalidData,
                "PAX size record not honoured by the tar reader",
            )));
        }
        let raw_name: Vec<u8> = match &pax.path {
            Some(p) => p.clone(),
            None => entry.path_bytes().into_owned(),
        };
        let name = lossy(&raw_name);
        if type_byte == b'g' {
            // Global PAX header (git archive writes one): ignored, as Docker does.
            return Ok(());
        }
        let comps = split_name(&raw_name).map_err(|r| rejected(&name, r))?;
        // Pre-POSIX tars mark directories by a trailing slash only.
        let is_dir = type_byte == b'5' || (type_byte == b'\0' && raw_name.ends_with(b"/"));
        let Some((base, parent)) = comps.split_last() else {
            if is_dir {
                return Ok(()); // "./": the layer root itself, skipped like Docker does
            }
            return Err(rejected(&name, "empty name"));
        };
        // Whiteouts first, whatever their member type, as Docker converts them.
        if let (Some(rest), None) = (base.strip_prefix(WHITEOUT_PREFIX), &self.copy) {
            let meta = self.meta(entry, &pax, &name)?;
            return self.whiteout(parent, base, rest, &meta, &name);
        }
        let kind = match type_byte {
            _ if is_dir => Kind::Dir,
            b'0' | b'7' | b'\0' | b'S' => Kind::File,
            b'1' => Kind::Hardlink,
            b'2' => Kind::Symlink,
            b'6' => Kind::Fifo,
            b'3' | b'4'
                if self.devices == DevicePolicy::Skip
                    || (self.devices == DevicePolicy::SkipUnderDev
                        && parent.first() == Some(&&b"dev"[..])) =>
            {
                self.stats.skipped_devices += 1;
                return Ok(());
            }
            b'3' | b'4' if self.copy.is_some() => {
                return Err(rejected(&name, "device nodes cannot be copied"))
            }
            b'3' | b'4' => {
                return Err(rejected(
                    &name,
                    "device nodes are not allowed in image layers",
                ))
            }
            t => {
                return Err(rejected(
                    &name,
                    format!("unsupported tar entry type {:?}", char::from(t)),
                ))
            }
        };
        if pax.sparse {
            return Err(rejected(&name, "PAX sparse files are not supported"));
        }
        let meta = self.meta(entry, &pax, &name)?;
        let parent_fd = self.parent(parent, &name)?;
        let dir = parent_fd.as_fd();
        match kind {
            Kind::File => {
                self.clear_slot(dir, parent, base, false, &name)?;
                let fd = openat(
                    dir,
                    *base,
                    OFlag::O_WRONLY
                        | OFlag::O_CREAT
                        | OFlag::O_EXCL
                        | OFlag::O_NOFOLLOW
                        | OFlag::O_CLOEXEC,
                    Mode::from_bits_truncate(0o600),
                )
                .map_err(entry_io(&name, "creating file"))?;
                let mut file = File::from(fd);
                let written = io::copy(entry, &mut file).map_err(|source| LayerError::Entry {
                    entry: name.clone(),
                    op: "writing file data",
                    source,
                })?;
                if type_byte != b'S' && written != entry.size() {
                    return Err(LayerError::Tar(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        format!("stream ends inside the data of {name:?}"),
                    )));
                }
                self.stats.bytes += written;
                apply_fd_meta(file.as_fd(), &meta, &name)?;
                futimens(&file, &meta.mtime, &meta.mtime)
                    .map_err(entry_io(&name, "setting times"))?;
            }
            Kind::Dir => {
                if !self.clear_slot(dir, parent, base, true, &name)? {
                    mkdirat(dir, *base, Mode::from_bits_truncate(0o700))
                        .map_err(entry_io(&name, "creating directory"))?;
                }
                let fd = open_dir_at(dir, base).map_err(entry_io(&name, "opening directory"))?;
                apply_fd_meta(fd.as_fd(), &meta, &name)?;
                self.dir_times
                    .insert(comps.iter().map(|c| c.to_vec()).collect(), meta.mtime);
            }
            Kind::Symlink => {
                let target = link_target(entry, &pax)
                    .filter(|t| !t.is_empty())
                    .ok_or_else(|| rejected(&name, "symlink without a target"))?;
                if target.contains(&0) {
                    return Err(rejected(&name, "symlink target contains a NUL byte"));
                }
                self.clear_slot(dir, parent, base, false, &name)?;
                // The target text is not checked: the link is never followed here.
                symlinkat(target.as_slice(), dir, *base)
                    .map_err(entry_io(&name, "creating symlink"))?;
                // Docker's layer size counts a symlink as its lstat size (the target's
                // length), so `images` and `history` agree with Docker's to the byte.
                self.stats.bytes += target.len() as u64;
                fchownat(
                    dir,
                    *base,
                    Some(meta.uid),
                    Some(meta.gid),
                    AtFlags::AT_SYMLINK_NOFOLLOW,
                )
                .map_err(entry_io(&name, "setting owner"))?;
                if !meta.xattrs.is_empty() {
                    let path = proc_path(dir, base).map_err(|source| LayerError::Entry {
                        entry: name.clone(),
                        op: "setting xattrs",
                        source,
                    })?;
                    apply_xattrs(&XTarget::NoFollow(&path), &meta, &name)?;
                }
                utimensat(
                    dir,
                    *base,
                    &meta.mtime,
                    &meta.mtime,
                    UtimensatFlags::NoFollowSymlink,
                )
                .map_err(entry_io(&name, "setting times"))?;
            }
            Kind::Hardlink => self.hardlink(entry, &pax, dir, parent, base, &comps, &name)?,
            Kind::Fifo => {
                self.clear_slot(dir, parent, base, false, &name)?;
                mknodat(
                    dir,
                    *base,
                    SFlag::S_IFIFO,
                    Mode::from_bits_truncate(0o600),
                    0,
                )
                .map_err(entry_io(&name, "creating fifo"))?;
                // Nobody else can have it open, so a non-blocking read open cannot block or
                // disturb a writer; it gives an fd for the metadata calls.
                let fd = openat(
                    dir,
                    *base,
                    OFlag::O_RDONLY | OFlag::O_NONBLOCK | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
                    Mode::empty(),
                )
                .map_err(entry_io(&name, "opening fifo"))?;
                let st = fstat(&fd).map_err(entry_io(&name, "inspecting fifo"))?;
                if st.st_mode & libc::S_IFMT != libc::S_IFIFO {
                    return Err(rejected(&name, "fifo was replaced while unpacking"));
                }
                apply_fd_meta(fd.as_fd(), &meta, &name)?;
                futimens(&fd, &meta.mtime, &meta.mtime)
                    .map_err(entry_io(&name, "setting times"))?;
            }
        }
        Ok(())
    }

    fn meta<R: Read>(
        &self,
        entry: &tar::Entry<'_, R>,
        pax: &Pax,
        name: &str,
    ) -> Result<Meta, LayerError> {
        let h = entry.header();
        let mode = h.mode().map_err(LayerError::Tar)?;
        let uid = match pax.uid {
            Some(uid) => uid,
            None => h.uid().map_err(LayerError::Tar)?,
        };
        let gid = match pax.gid {
            Some(gid) => gid,
            None => h.gid().map_err(LayerError::Tar)?,
        };
        let uid =
            u32::try_from(uid).map_err(|_| rejected(name, format!("uid {uid} out of range")))?;
        let gid =
            u32::try_from(gid).map_err(|_| rejected(name, format!("gid {gid} out of range")))?;
        let (uid, gid) = self
            .copy
            .as_ref()
            .and_then(|c| c.owner)
            .unwrap_or((uid, gid));
        let (secs, nanos) = match pax.mtime {
            Some(t) => t,
            None => (
                i64::try_from(h.mtime().map_err(LayerError::Tar)?).unwrap_or(i64::MAX),
                0,
            ),
        };
        let xattrs = pax
            .xattrs
            .iter()
            .filter(|(k, _)| !is_overlay_xattr(k))
            .cloned()
            .collect();
        Ok(Meta {
            uid: Uid::from_raw(uid),
            gid: Gid::from_raw(gid),
            mode: Mode::from_bits_truncate(mode & 0o7777),
            mtime: TimeSpec::new(secs, nanos),
            xattrs,
        })
    }

    /// The parent directory of a member, created 0755 root where missing; refuses to go
    /// through anything that is not a real directory.
    fn parent(&mut self, comps: &[&[u8]], name: &str) -> Result<Rc<OwnedFd>, LayerError> {
        if comps.is_empty() {
            return Ok(self.root.clone());
        }
        if let Some((key, fd)) = &self.cache {
            if key.len() == comps.len() && key.iter().zip(comps).all(|(a, b)| a == b) {
                return Ok(fd.clone());
            }
        }
        let fd = match walk(self.root.as_fd(), comps, true) {
            Ok(fd) => Rc::new(fd),
            Err(WalkError::NotDir { at, symlink }) => {
                let what = if symlink {
                    "a symlink"
                } else {
                    "not a directory"
                };
                return Err(rejected(
                    name,
                    format!(
                        "parent {:?} is {what}; refusing to write through it",
                        join(&comps[..=at])
                    ),
                ));
            }
            Err(WalkError::NotFound { at }) => {
                return Err(LayerError::Entry {
                    entry: name.to_string(),
                    op: "creating parent directories",
                    source: io::Error::new(
                        io::ErrorKind::NotFound,
                        format!("{:?} vanished", join(&comps[..=at])),
                    ),
                })
            }
            Err(WalkError::Io(source)) => {
                return Err(LayerError::Entry {
                    entry: name.to_string(),
                    op: "creating parent directories",
                    source,
                })
            }
        };
        self.cache = Some((comps.iter().map(|c| c.to_vec()).collect(), fd.clone()));
        Ok(fd)
    }

    /// Makes room for a new entry `base` in `dir`: an existing non-directory is removed, an
    /// existing directory is kept (returns true) when `keep_dir`, else removed with all
    /// its content.
    fn clear_slot(
        &mut self,
        dir: BorrowedFd<'_>,
        parent: &[&[u8]],
        base: &[u8],
        keep_dir: bool,
        name: &str,
    ) -> Result<bool, LayerError> {
        let st = match lstat_at(dir, base) {
            Ok(st) => st,
            Err(Errno::ENOENT) => return Ok(false),
            Err(e) => return Err(entry_io(name, "inspecting existing entry")(e)),
        };
        if self
            .copy
            .as_ref()
            .is_some_and(|c| c.no_overwrite_dir_non_dir && is_dir(&st) != keep_dir)
        {
            return Err(rejected(
                name,
                if keep_dir {
                    "cannot overwrite non-directory with directory"
                } else {
                    "cannot overwrite directory with non-directory"
                },
            ));
        }
        if is_dir(&st) {
            if keep_dir {
                return Ok(true);
            }
            remove_all_at(dir, base).map_err(entry_io(name, "removing existing directory"))?;
            self.cache = None;
            let mut prefix: Vec<Vec<u8>> = parent.iter().map(|c| c.to_vec()).collect();
            prefix.push(base.to_vec());
            self.dir_times.retain(|k, _| !k.starts_with(&prefix));
        } else {
            unlinkat(dir, base, UnlinkatFlags::NoRemoveDir)
                .map_err(entry_io(name, "removing existing entry"))?;
        }
        Ok(false)
    }

    fn whiteout(
        &mut self,
        parent: &[&[u8]],
        base: &[u8],
        rest: &[u8],
        meta: &Meta,
        name: &str,
    ) -> Result<(), LayerError> {
        if base == OPAQUE_MARKER {
            let dir = self.parent(parent, name)?;
            return set_xattr(&XTarget::Fd(dir.as_fd()), OPAQUE_XATTR, b"y").map_err(|source| {
                LayerError::Entry {
                    entry: name.to_string(),
                    op: "marking directory opaque",
                    source,
                }
            });
        }
        if rest.starts_with(WHITEOUT_PREFIX) {
            return Ok(()); // other AUFS metadata (.wh..wh.plnk, ...): meaningless here
        }
        if rest.is_empty() || rest == b"." || rest == b".." {
            return Err(rejected(name, "invalid whiteout name"));
        }
        let parent_fd = self.parent(parent, name)?;
        let dir = parent_fd.as_fd();
        // A whiteout replaces whatever this layer put there before: the later entry wins.
        self.clear_slot(dir, parent, rest, false, name)?;
        mknodat(dir, rest, SFlag::S_IFCHR, Mode::empty(), 0)
            .map_err(entry_io(name, "creating whiteout device"))?;
        fchownat(
            dir,
            rest,
            Some(meta.uid),
            Some(meta.gid),
            AtFlags::AT_SYMLINK_NOFOLLOW,
        )
        .map_err(entry_io(name, "setting whiteout owner"))?;
        utimensat(
            dir,
            rest,
            &meta.mtime,
            &meta.mtime,
            UtimensatFlags::NoFollowSymlink,
        )
        .map_err(entry_io(name, "setting whiteout times"))?;
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    fn hardlink<R: Read>(
        &mut self,
        entry: &tar::Entry<'_, R>,
        pax: &Pax,
        dir: BorrowedFd<'_>,
        parent: &[&[u8]],
        base: &[u8],
        comps: &[&[u8]],
        name: &str,
    ) -> Result<(), LayerError> {
        let target = link_target(entry, pax).unwrap_or_default();
        let shown = lossy(&target);
        let tcomps = split_name(&target)
            .map_err(|r| rejected(name, format!("hardlink target {shown:?}: {r}")))?;
        let Some((tbase, tparent)) = tcomps.split_last() else {
            return Err(rejected(name, "hardlink to the layer root"));
        };
        let missing = || {
            rejected(
                name,
                format!("hardlink target {shown:?} does not exist in this layer"),
            )
        };
        // Resolved like any other name: no symlinks on the way, nothing created.
        let tdir = match walk(self.root.as_fd(), tparent, false) {
            Ok(fd) => fd,
            Err(WalkError::NotFound { .. }) => return Err(missing()),
            Err(WalkError::NotDir { at, symlink }) => {
                let what = if symlink {
                    "a symlink"
                } else {
                    "not a directory"
                };
                return Err(rejected(
                    name,
                    format!(
                        "hardlink target {shown:?}: parent {:?} is {what}",
                        join(&tparent[..=at])
                    ),
                ));
            }
            Err(WalkError::Io(source)) => {
                return Err(LayerError::Entry {
                    entry: name.to_string(),
                    op: "resolving hardlink target",
                    source,
                })
            }
        };
        match lstat_at(tdir.as_fd(), tbase) {
            Ok(st) if is_dir(&st) => {
                return Err(rejected(
                    name,
                    format!("hardlink target {shown:?} is a directory"),
                ))
            }
            Ok(_) => {}
            Err(Errno::ENOENT) => return Err(missing()),
            Err(e) => return Err(entry_io(name, "resolving hardlink target")(e)),
        }
        if tcomps == comps {
            return Ok(()); // a link to itself: already there
        }
        self.clear_slot(dir, parent, base, false, name)?;
        // Flags 0: link the entry itself, even a symlink, never what it points to.
        linkat(tdir.as_fd(), *tbase, dir, base, AtFlags::empty()).map_err(|e| match e {
            Errno::ENOENT => missing(),
            e => entry_io(name, "creating hardlink")(e),
        })
    }

    /// Directory mtimes, now that no more children will be created.
    fn finish(&mut self) -> Result<(), LayerError> {
        self.cache = None;
        for (comps, time) in &self.dir_times {
            let comps: Vec<&[u8]> = comps.iter().map(Vec::as_slice).collect();
            let Some((base, parent)) = comps.split_last() else {
                continue;
            };
            let dir = match walk(self.root.as_fd(), parent, false) {
                Ok(fd) => fd,
                Err(WalkError::NotFound { .. } | WalkError::NotDir { .. }) => continue,
                Err(WalkError::Io(source)) => {
                    return Err(LayerError::Entry {
                        entry: join(&comps),
                        op: "setting directory times",
                        source,
                    })
                }
            };
            match lstat_at(dir.as_fd(), base) {
                Ok(st) if is_dir(&st) => {}
                _ => continue,
            }
            utimensat(
                dir.as_fd(),
                *base,
                time,
                time,
                UtimensatFlags::NoFollowSymlink,
            )
            .map_err(entry_io(&join(&comps), "setting directory times"))?;
        }
        Ok(())
    }
}

fn link_target<R: Read>(entry: &tar::Entry<'_, R>, pax: &Pax) -> Option<Vec<u8>> {
    match &pax.linkpath {
        Some(p) => Some(p.clone()),
        None => entry.link_name_bytes().map(|c| c.into_owned()),
    }
}

/// Owner, then mode (chown clears setuid/setgid), then xattrs (chown also drops
/// security.capability).
fn apply_fd_meta(fd: BorrowedFd<'_>, meta: &Meta, name: &str) -> Result<(), LayerError> {
    fchown(fd, Some(meta.uid), Some(meta.gid)).map_err(entry_io(name, "setting owner"))?;
    fchmod(fd, meta.mode).map_err(entry_io(name, "setting mode"))?;
    apply_xattrs(&XTarget::Fd(fd), meta, name)
}

fn apply_xattrs(target: &XTarget<'_>, meta: &Meta, name: &str) -> Result<(), LayerError> {
    for (key, value) in &meta.xattrs {
        match set_xattr(target, key, value) {
            Ok(()) => {}
            // Like Docker: a filesystem without xattr support, or an attribute the kernel
            // refuses for this file type (user.* on a symlink), is not fatal.
            Err(e) if matches!(e.raw_os_error(), Some(libc::ENOTSUP) | Some(libc::EPERM)) => {}
            Err(source) => {
                return Err(LayerError::Entry {
                    entry: name.to_string(),
                    op: "setting xattr",
                    source,
                })
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod unit {
    use super::split_name;

    #[test]
    fn names() {
        assert_eq!(split_name(b"./a/b/").unwrap(), vec![&b"a"[..], b"b"]);
        assert_eq!(split_name(b"a//./b").unwrap(), vec![&b"a"[..], b"b"]);
        assert!(split_name(b"./").unwrap().is_empty());
        assert!(split_name(b"").is_err());
        assert!(split_name(b"/etc").is_err());
        assert!(split_name(b"a/../b").is_err());
        assert!(split_name(b"a\0b").is_err());
        assert!(split_name(b"..").is_err());
    }
}
