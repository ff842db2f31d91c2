//! Where each container's files live.

use std::path::PathBuf;

use crate::engine::store::Store;

/// Persistent: rootfs mount point, upper/work dirs, /etc files, logs.
pub fn container_dir(store: &Store, id: &str) -> PathBuf {
    store.paths.containers().join(id)
}

pub fn log_path(store: &Store, id: &str) -> PathBuf {
    container_dir(store, id).join(format!("{id}-json.log"))
}

/// Runtime: the OCI bundle (config.json) handed to libcontainer.
pub fn bundle_dir(store: &Store, id: &str) -> PathBuf {
    store.paths.run.join("containers").join(id)
}

/// libcontainer's own state directory.
pub fn libcontainer_root(store: &Store) -> PathBuf {
    store.paths.run.join("libcontainer")
}
