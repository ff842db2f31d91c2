//! `docker diff`: what a container's upper dir changed relative to its image layers.

use std::collections::{BTreeSet, HashSet};
use std::ffi::{CString, OsString};
use std::fs::Metadata;
use std::io;
use std::os::fd::{AsFd, BorrowedFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};

use nix::errno::Errno;
use nix::sys::stat::FileStat;

use super::fsutil::{
    io_err, is_dir, is_opaque, is_whiteout, lossy, lstat_at, open_dir_at, open_root, read_names,
    XTarget,
};
use super::{Change, ChangeKind, LayerError};

/// docker diff: A/C/D per path ("/etc/x"), using the lower dirs (top-first) to tell Added
/// from Changed.
///
/// - an upper entry that exists in the lower view (whiteouts and opaque dirs of the lowers
///   honoured) is `C`, a new one `A` (and everything below a new directory `A`);
/// - a directory that exists below is `C` only if something under it changed or its own
///   mode, owner or mtime differ (overlay copies parents up with their original
///   attributes, so a parent that was only copied up is not reported);
/// - a whiteout (char 0:0) is `D`;
/// - an opaque directory that exists below is `C`, with a `D` for each name the lowers had
///   in it that the upper does not have; the same holds for directories below it.
///
/// Sorted by path, component by component (parents first, as `docker diff` prints).
pub fn changes(upper: &Path, lowers: &[PathBuf]) -> Result<Vec<Change>, LayerError> {
    let root = open_root(upper).map_err(|source| LayerError::Fs {
        path: upper.to_path_buf(),
        op: "opening upper dir",
        source,
    })?;
    let mut lower_root = Vec::new();
    for l in lowers {
        lower_root.push(l.clone());
        if path_opaque(l)? {
            break; // this layer hides everything below it
        }
    }
    let mut walker = Walker {
        upper: upper.to_path_buf(),
        out: Vec::new(),
    };
    walker.walk(root.as_fd(), "", &lower_root, false)?;
    let mut out = walker.out;
    out.sort_by(|a, b| a.path.split('/').cmp(b.path.split('/')));
    Ok(out)
}

/// What the lowers show at a path.
enum Lower {
    Absent,
    NonDir,
    /// The directories that merge into it (top-first) and the topmost one's metadata.
    Dir(Vec<PathBuf>, Metadata),
}

fn lower_err(path: PathBuf, source: io::Error) -> LayerError {
    LayerError::Fs {
        path,
        op: "reading lower dir",
        source,
    }
}

fn path_opaque(p: &Path) -> Result<bool, LayerError> {
    let c = CString::new(p.as_os_str().as_bytes())
        .map_err(|_| lower_err(p.to_path_buf(), io::ErrorKind::InvalidInput.into()))?;
    is_opaque(&XTarget::NoFollow(&c)).map_err(|e| lower_err(p.to_path_buf(), e))
}

fn is_md_whiteout(md: &Metadata) -> bool {
    md.file_type().is_char_device() && md.rdev() == 0
}

/// Looks `name` up in the lower view of a directory made of `lower` (top-first), the way
/// overlayfs does. Every dir in `lower` was checked to be a real directory, so joining
/// names to it cannot go through a symlink.
fn lookup(lower: &[PathBuf], name: &OsString) -> Result<Lower, LayerError> {
    let mut dirs = Vec::new();
    let mut top = None;
    for l in lower {
        let p = l.join(name);
        let md = match std::fs::symlink_metadata(&p) {
            Ok(md) => md,
            Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
            Err(e) => return Err(lower_err(p, e)),
        };
        if is_md_whiteout(&md) {
            break;
        }
        if !md.is_dir() {
            if dirs.is_empty() {
                return Ok(Lower::NonDir);
            }
            break; // hidden by the directory above it
        }
        let opaque = path_opaque(&p)?;
        dirs.push(p);
        if top.is_none() {
            top = Some(md);
        }
        if opaque {
            break;
        }
    }
    Ok(match top {
        Some(md) => Lower::Dir(dirs, md),
        None => Lower::Absent,
    })
}

/// Names visible in the merged lower directory.
fn visible_names(dirs: &[PathBuf]) -> Result<BTreeSet<OsString>, LayerError> {
    let mut seen = HashSet::new();
    let mut visible = BTreeSet::new();
    for d in dirs {
        let rd = std::fs::read_dir(d).map_err(|e| lower_err(d.clone(), e))?;
        for ent in rd {
            let ent = ent.map_err(|e| lower_err(d.clone(), e))?;
            let name = ent.file_name();
            if !seen.insert(name.clone()) {
                continue; // decided by a higher layer
            }
            let md = ent.metadata().map_err(|e| lower_err(ent.path(), e))?;
            if !is_md_whiteout(&md) {
                visible.insert(name);
            }
        }
    }
    Ok(visible)
}

fn meta_differs(st: &FileStat, md: &Metadata) -> bool {
    st.st_mode != md.mode()
        || st.st_uid != md.uid()
        || st.st_gid != md.gid()
        || st.st_mtime != md.mtime()
        || st.st_mtime_nsec != md.mtime_nsec()
}

struct Walker {
    upper: PathBuf,
    out: Vec<Change>,
}

impl Walker {
    fn fs(&self, path: &str, source: io::Error) -> LayerError {
        LayerError::Fs {
            path: self.upper.join(path.trim_start_matches('/')),
            op: "reading upper dir",
            source,
        }
    }

    fn push(&mut self, path: String, kind: ChangeKind) {
        self.out.push(Change { path, kind });
    }

    /// Walks one upper directory whose lower view is `lower`. `hidden`: an opaque
    /// directory above hides the lower content, so lower names missing from the upper are
    /// deletions. Returns whether anything at or below was reported.
    fn walk(
        &mut self,
        dir: BorrowedFd<'_>,
        path: &str,
        lower: &[PathBuf],
        hidden: bool,
    ) -> Result<bool, LayerError> {
        let names = read_names(dir).map_err(|e| self.fs(path, e))?;
        let mut changed = false;
        for name in &names {
            let child = format!("{path}/{}", lossy(name.as_bytes()));
            let st = match lstat_at(dir, name.as_bytes()) {
                Ok(st) => st,
                Err(Errno::ENOENT) => continue,
                Err(e) => return Err(self.fs(&child, io_err(e))),
            };
            if is_whiteout(&st) {
                self.push(child, ChangeKind::Deleted);
                changed = true;
                continue;
            }
            let below = if lower.is_empty() {
                Lower::Absent
            } else {
                lookup(lower, name)?
            };
            if !is_dir(&st) {
                let kind = match below {
                    Lower::Absent => ChangeKind::Added,
                    _ => ChangeKind::Modified,
                };
                self.push(child, kind);
                changed = true;
                continue;
            }
            let fd = match open_dir_at(dir, name.as_bytes()) {
                Ok(fd) => fd,
                Err(Errno::ENOENT) => continue,
                Err(e) => return Err(self.fs(&child, io_err(e))),
            };
            match below {
                Lower::Absent => {
                    self.push(child.clone(), ChangeKind::Added);
                    self.walk(fd.as_fd(), &child, &[], false)?;
                    changed = true;
                }
                Lower::NonDir => {
                    // A directory where the image had a file: changed, content all new.
                    self.push(child.clone(), ChangeKind::Modified);
                    self.walk(fd.as_fd(), &child, &[], false)?;
                    changed = true;
                }
                Lower::Dir(dirs, top) => {
                    let opaque =
                        is_opaque(&XTarget::Fd(fd.as_fd())).map_err(|e| self.fs(&child, e))?;
                    if opaque || hidden {
                        self.push(child.clone(), ChangeKind::Modified);
                        let present: HashSet<OsString> = read_names(fd.as_fd())
                            .map_err(|e| self.fs(&child, e))?
                            .into_iter()
                            .collect();
                        for gone in visible_names(&dirs)? {
                            if !present.contains(&gone) {
                                let p = format!("{child}/{}", lossy(gone.as_bytes()));
                                self.push(p, ChangeKind::Deleted);
                            }
                        }
                        self.walk(fd.as_fd(), &child, &dirs, true)?;
                        changed = true;
                    } else {
                        let sub = self.walk(fd.as_fd(), &child, &dirs, false)?;
                        if sub || meta_differs(&st, &top) {
                            self.push(child, ChangeKind::Modified);
                            changed = true;
                        }
                    }
                }
            }
        }
        Ok(changed)
    }
}
