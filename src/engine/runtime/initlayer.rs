//! Docker's init layer: a small read-only layer between a container's image and its
//! upper dir holding the mount points the runtime needs, so that they are not created
//! in the upper dir. Without it, libcontainer makes `/etc/hostname`, `/etc/hosts` and
//! `/etc/resolv.conf` (and `/proc`, `/sys`, `/dev` in images without them) in the
//! upper dir on the first start, and they show up in `diff`, `commit` (every committed
//! image carried empty copies) and the size of the container's changes, where Docker's
//! show nothing.
//!
//! Its content depends only on the image, so it is made once per image and shared:
//! beside the image's topmost layer (`layers/<chain>/init`, removed with that layer).
//! The container's record says whether it sits on it. Containers of an image without
//! layers get their own, under the container dir, as did containers created before the
//! sharing; containers older still have none (see [`lower`]).

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

/// The init layer under a container whose image's layer dirs are `image_lowers`
/// (topmost first): its image's shared one when it was created on it (`shared`), else
/// its own if it has one. A container made before either keeps none: a layer slipped
/// under an existing upper dir would change what it sees.
pub fn lower(container_dir: &Path, image_lowers: &[PathBuf], shared: bool) -> Option<PathBuf> {
    if shared {
        return shared_path(image_lowers).filter(|p| p.is_dir());
    }
    let own = container_dir.join(DIR);
    own.is_dir().then_some(own)
}

/// Where the shared init layer of an image with layer dirs `lowers` lives: beside its
/// topmost layer's `diff` dir (None for an image without layers).
fn shared_path(lowers: &[PathBuf]) -> Option<PathBuf> {
    lowers.first()?.parent().map(|layer| layer.join(DIR))
}

/// Makes sure the shared init layer of an image with layer dirs `lowers` exists. It is
/// built in a scratch dir under `scratch` and renamed into place, so concurrent
/// creates never see half of one. False for an image without layers: its containers
/// need their own ([`make`]).
pub fn ensure_shared(lowers: &[PathBuf], scratch: &Path) -> Result<bool> {
    let Some(target) = shared_path(lowers) else {
        return Ok(false);
    };
    if target.is_dir() {
        return Ok(true);
    }
    let tmp = crate::engine::store::tmp::TmpDir::new(scratch)?;
    let made = tmp.path().join(DIR);
    make_at(&made, lowers)?;
    match fs::rename(&made, &target) {
        Ok(()) => Ok(true),
        // Another create placed it first: the same content.
        Err(_) if target.is_dir() => Ok(true),
        Err(e) => Err(Error::io(
            format!("placing the init layer {}", target.display()),
            e,
        )),
    }
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
    make_at(&container_dir.join(DIR), lowers)
}

/// Makes an init layer at `root` for an image whose layer dirs are `lowers`.
fn make_at(root: &Path, lowers: &[PathBuf]) -> Result<()> {
    let root = root.to_path_buf();
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
        let init = lower(&ctr, &[top.clone(), base.clone()], false).expect("an init layer");
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
    fn shared_beside_the_top_layer_for_containers_made_on_it() {
        let d = tempfile::tempdir().expect("tempdir");
        let (layers, scratch, ctr) = (
            d.path().join("layers"),
            d.path().join("tmp"),
            d.path().join("c"),
        );
        let (top, base) = (layers.join("t").join("diff"), layers.join("b").join("diff"));
        for p in [&top, &base, &ctr] {
            fs::create_dir_all(p).expect("mkdir");
        }
        fs::create_dir(base.join("etc")).expect("mkdir");
        let image = [top.clone(), base.clone()];
        assert_eq!(lower(&ctr, &image, true), None, "none made yet");
        assert!(ensure_shared(&image, &scratch).expect("shared"));
        let shared = layers.join("t").join(DIR);
        assert_eq!(lower(&ctr, &image, true), Some(shared.clone()));
        assert!(shared.join("etc/hosts").is_file() && shared.join("proc").is_dir());
        // A second create finds it; nothing is left in the scratch dir either time.
        assert!(ensure_shared(&image, &scratch).expect("again"));
        assert_eq!(fs::read_dir(&scratch).expect("tmp").count(), 0);
        // Containers not created on it never get it: their own, or none.
        assert_eq!(lower(&ctr, &image, false), None);
        make(&ctr, &image).expect("own");
        assert_eq!(lower(&ctr, &image, false), Some(ctr.join(DIR)));
        // An image without layers has no shared one.
        assert!(!ensure_shared(&[], &scratch).expect("no layers"));
        assert_eq!(lower(&d.path().join("other"), &[], true), None);
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
        assert!(lower(&ctr, &[], false).is_some());
    }

    #[test]
    fn containers_made_before_have_none() {
        let d = tempfile::tempdir().expect("tempdir");
        let img = d.path().join("layers/x/diff");
        assert_eq!(lower(d.path(), &[img], false), None);
    }
}
