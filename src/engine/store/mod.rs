//! The engine's persistent state: directories, the SQLite metadata db, ids, scratch
//! space and locks.

pub mod db;
pub mod ids;
pub mod paths;
pub mod tmp;

use std::fs;
use std::path::Path;
use std::sync::{Mutex, MutexGuard};

use rusqlite::Connection;

use crate::engine::error::{Error, IoContext, Result};
pub use paths::Paths;

pub struct Store {
    pub paths: Paths,
    conn: Mutex<Connection>,
}

impl Store {
    /// Opens (creating on first use) the store under `root` (None = system defaults).
    pub fn open(root: Option<&Path>) -> Result<Store> {
        let paths = Paths::new(root);
        for dir in [&paths.data, &paths.run] {
            fs::create_dir_all(dir).ctx(|| {
                format!(
                    "creating state dir {} (berth needs root, or --root pointing at a writable dir)",
                    dir.display()
                )
            })?;
        }
        for dir in [paths.blobs(), paths.layers(), paths.tmp()] {
            fs::create_dir_all(&dir).ctx(|| format!("creating {}", dir.display()))?;
        }
        let conn = db::open(&paths.db())?;
        Ok(Store {
            paths,
            conn: Mutex::new(conn),
        })
    }

    /// The metadata connection. A poisoned lock only means another thread panicked
    /// mid-call; SQLite's own transactions keep the data whole, so carry on.
    pub fn db(&self) -> MutexGuard<'_, Connection> {
        self.conn.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn gc_lock_path(&self) -> std::path::PathBuf {
        self.paths.data.join("gc.lock")
    }

    /// Shared lock held by anything that places files before recording them.
    pub fn writer_lock(&self) -> Result<tmp::FileLock> {
        tmp::FileLock::shared(&self.gc_lock_path())
    }

    pub fn tmp_dir(&self) -> Result<tmp::TmpDir> {
        tmp::TmpDir::new(&self.paths.tmp())
    }
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").field("paths", &self.paths).finish()
    }
}

/// Maps "no row" to a NotFound error with the given message.
pub fn not_found_if_none<T>(r: rusqlite::Result<T>, msg: impl FnOnce() -> String) -> Result<T> {
    match r {
        Ok(v) => Ok(v),
        Err(rusqlite::Error::QueryReturnedNoRows) => Err(Error::NotFound(msg())),
        Err(e) => Err(e.into()),
    }
}
