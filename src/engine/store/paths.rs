//! Where berth keeps its state. Everything hangs off two roots so that `--root` can move
//! all of it (tests and parallel instances never collide).

use std::path::{Path, PathBuf};

pub const DEFAULT_DATA_ROOT: &str = "/var/lib/berth";
pub const DEFAULT_RUN_ROOT: &str = "/run/berth";

#[derive(Debug, Clone)]
pub struct Paths {
    /// Persistent state: metadata db, blobs, layers, containers, volumes.
    pub data: PathBuf,
    /// Runtime state that a reboot may wipe: sockets, pid files, mounts.
    pub run: PathBuf,
    /// The `--root` this store was opened with (None: the system defaults), passed on to
    /// helper processes so they use the very same dirs.
    pub root: Option<PathBuf>,
}

impl Paths {
    /// `root = None` uses the system defaults; `Some(r)` keeps everything under `r`,
    /// runtime files included (`r/run`).
    pub fn new(root: Option<&Path>) -> Self {
        match root {
            Some(r) => {
                // Helpers run with another cwd: a relative --root must mean the same dir.
                let r = std::path::absolute(r).unwrap_or_else(|_| r.to_path_buf());
                Paths {
                    data: r.clone(),
                    run: r.join("run"),
                    root: Some(r),
                }
            }
            None => Paths {
                data: PathBuf::from(DEFAULT_DATA_ROOT),
                run: PathBuf::from(DEFAULT_RUN_ROOT),
                root: None,
            },
        }
    }
    pub fn db(&self) -> PathBuf {
        self.data.join("berth.db")
    }
    pub fn blobs(&self) -> PathBuf {
        self.data.join("blobs").join("sha256")
    }
    pub fn blob(&self, hex: &str) -> PathBuf {
        self.blobs().join(hex)
    }
    pub fn layers(&self) -> PathBuf {
        self.data.join("layers")
    }
    /// Unpacked content of one layer, keyed by chain id hex.
    pub fn layer_diff(&self, chain_hex: &str) -> PathBuf {
        self.layers().join(chain_hex).join("diff")
    }
    pub fn containers(&self) -> PathBuf {
        self.data.join("containers")
    }
    pub fn volumes(&self) -> PathBuf {
        self.data.join("volumes")
    }
    /// Scratch space on the same filesystem as blobs and layers, so finished work is
    /// moved into place with a rename.
    pub fn tmp(&self) -> PathBuf {
        self.data.join("tmp")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn helpers_get_the_root_the_user_gave() {
        let d = Paths::new(None);
        assert_eq!(
            d.root, None,
            "defaults: helpers must not get --root <data dir>"
        );
        assert_eq!(d.run, PathBuf::from(DEFAULT_RUN_ROOT));
        let r = Paths::new(Some(Path::new("rel/dir")));
        let root = r.root.expect("root");
        assert!(root.is_absolute() && root.ends_with("rel/dir"));
        assert_eq!(r.run, root.join("run"));
    }
}
