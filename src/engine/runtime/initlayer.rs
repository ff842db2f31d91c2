//! Docker's init layer: a small read-only layer between a container's image and its
//! upper dir holding the mount points the runtime needs, so that they are not created
//! in the upper dir. Without it, libcontainer makes `/etc/hostname`, `/etc/hosts` and
//! `/etc/resolv.conf` (and `/proc`, `/sys`, `/dev` in images without them) in the
//! upper dir on the first start, and they show up in `diff`, `commit` (every committed
//! image carried empty copies) and the size of the container's changes, where Docker's
//! show nothing.
//!
//! Made once at create, under the container dir; containers created before it existed
//! simply have none (see [`lower`]).

use std::fs;
use std::os::unix::fs::{DirBuilderExt, FileTypeExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use crate::engine::error::{Error, Result};

/// The init layer's dir name inside the container dir.
const DIR: &str = "init";

/// Files bind-mounted over in `/etc` (see `spec.rs`): empty placeholders here, as
/// Docker's init layer has them (Docker's shadow the image's files too; the mounts hide
/// them in a running container either way).
const ETC_FILES: [&str; 3] = ["hostname", "hosts", "resolv.conf"];

/// Mount points of the container's own filesystems: made here only when the image
/// lacks them, so an image's own dirs keep their attributes.
const ROOT_DIRS: [&str; 3] = ["proc", "sys", "dev"];

/// The container's init layer dir, if it has one (containers made before it existed
/// do not).
pub fn lower(container_dir: &Path) -> Option<PathBuf> {
    let p = container_dir.join(DIR);
    p.is_dir().then_some(p)
}

/// What the image has at a top-level name, looking through `lowers` (topmost first)
/// as overlayfs would: the first layer holding the name decides, a whiteout (char
/// device 0:0) hides it.
enum Found {
    Missing,
    Dir(fs::Metadata),
    Other,
}

fn find_top_level(lowers: &[PathBuf], name: &str) -> Found {
    for l in lowers {
        match fs::symlink_metadata(l.join(name)) {
            Ok(m) if m.file_type().is_char_device() && m.rdev() == 0 => return Found::Missing,
            Ok(m) if m.is_dir() => return Found::Dir(m),
            Ok(_) => return Found::Other,
            Err(_) => {}
        }
    }
    Found::Missing
}

/// Makes `container_dir/init` for an image whose layer dirs are `lowers` (topmost
/// first).
pub fn make(container_dir: &Path, lowers: &[PathBuf]) -> Result<()> {
    let root = container_dir.join(DIR);
    let io = |what: &str, p: &Path, e: std::io::Error| {
        Error::io(format!("making the init layer: {what} {}", p.display()), e)
    };
    let mkdir = |p: &Path| {
        fs::DirBuilder::new()
            .mode(0o755)
            .create(p)
            .map_err(|e| io("creating", p, e))
    };
    mkdir(&root)?;
    for name in ROOT_DIRS {
        if let Found::Missing = find_top_level(lowers, name) {
            mkdir(&root.join(name))?;
        }
    }
    // An image whose /etc is not a dir (a symlink, say) is left alone: a dir here would
    // replace it in the container.
    let etc_meta = match find_top_level(lowers, "etc") {
        Found::Other => return Ok(()),
        Found::Dir(m) => Some(m),
        Found::Missing => None,
    };
    let etc = root.join("etc");
    mkdir(&etc)?;
    for name in ETC_FILES {
        let p = etc.join(name);
        fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o644)
            .open(&p)
            .map_err(|e| io("creating", &p, e))?;
    }
    // The merged /etc takes this dir's attributes (overlayfs uses the topmost dir's),
    // so it gets the image's; times last, after the files above changed them.
    if let Some(m) = etc_meta {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(&etc, fs::Permissions::from_mode(m.mode() & 0o7777))
            .map_err(|e| io("setting the mode of", &etc, e))?;
        std::os::unix::fs::lchown(&etc, Some(m.uid()), Some(m.gid()))
            .map_err(|e| io("setting the owner of", &etc, e))?;
        let times = fs::FileTimes::new()
            .set_accessed(
                m.accessed()
                    .map_err(|e| io("reading the times of", &etc, e))?,
            )
            .set_modified(
                m.modified()
                    .map_err(|e| io("reading the times of", &etc, e))?,
            );
        fs::File::open(&etc)
            .and_then(|f| f.set_times(times))
            .map_err(|e| io("setting the times of", &etc, e))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn placeholders_only_where_the_image_needs_them() {
        let d = tempfile::tempdir().expect("tempdir");
        let (top, base, ctr) = (
            d.path().join("top"),
            d.path().join("base"),
            d.path().join("c"),
        );
        for p in [&top, &base, &ctr] {
            fs::create_dir(p).expect("mkdir");
        }
        // The image: /etc (0750) and /proc from the base layer, its /sys whited out by
        // the top layer, and a /dev that is a file.
        fs::create_dir(base.join("etc")).expect("mkdir");
        fs::set_permissions(base.join("etc"), fs::Permissions::from_mode(0o750)).expect("chmod");
        fs::create_dir(base.join("proc")).expect("mkdir");
        fs::create_dir(base.join("sys")).expect("mkdir");
        nix::sys::stat::mknod(
            &top.join("sys"),
            nix::sys::stat::SFlag::S_IFCHR,
            nix::sys::stat::Mode::empty(),
            0,
        )
        .expect("a whiteout (tests run as root)");
        fs::write(top.join("dev"), b"not a dir").expect("write");
        make(&ctr, &[top.clone(), base.clone()]).expect("init layer");
        let init = lower(&ctr).expect("an init layer");
        for f in ETC_FILES {
            let m = fs::metadata(init.join("etc").join(f)).expect("placeholder");
            assert!(m.is_file() && m.len() == 0, "{f}");
        }
        let etc = fs::metadata(init.join("etc")).expect("etc");
        assert_eq!(etc.mode() & 0o7777, 0o750, "the image's /etc attributes");
        assert!(!init.join("proc").exists(), "the image has /proc");
        assert!(init.join("sys").is_dir(), "the image's /sys is whited out");
        assert!(!init.join("dev").exists(), "the image's /dev is a file");
    }

    #[test]
    fn an_etc_symlink_is_left_alone() {
        let d = tempfile::tempdir().expect("tempdir");
        let (img, ctr) = (d.path().join("img"), d.path().join("c"));
        fs::create_dir(&img).expect("mkdir");
        fs::create_dir(&ctr).expect("mkdir");
        std::os::unix::fs::symlink("usr/etc", img.join("etc")).expect("symlink");
        make(&ctr, &[img]).expect("init layer");
        assert!(!ctr.join(DIR).join("etc").exists());
        assert!(lower(&ctr).is_some());
    }

    #[test]
    fn containers_made_before_have_none() {
        let d = tempfile::tempdir().expect("tempdir");
        assert_eq!(lower(d.path()), None);
    }
}
