//! Named and anonymous volumes (the `local` driver): a directory per volume under
//! `volumes/<name>/_data`, recorded in the metadata db with labels, and the users a
//! volume has (so `rm` and `prune` never remove one a container mounts).

use std::collections::BTreeMap;
use std::fs;
use std::path::PathBuf;

use rusqlite::{params, OptionalExtension};
use serde::Serialize;

use crate::engine::error::{Error, IoContext, Result};
use crate::engine::store::{ids, Store};

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Volume {
    pub created_at: String,
    pub driver: String,
    pub labels: BTreeMap<String, String>,
    pub mountpoint: String,
    pub name: String,
    pub options: BTreeMap<String, String>,
    pub scope: String,
    /// Not part of Docker's inspect output: whether berth made it for `-v /path`.
    #[serde(skip)]
    pub anonymous: bool,
}

/// Docker's rule for volume names.
fn validate_name(name: &str) -> Result<()> {
    let mut chars = name.chars();
    let ok = matches!(chars.next(), Some(c) if c.is_ascii_alphanumeric())
        && name.len() >= 2
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'));
    if ok {
        Ok(())
    } else {
        Err(Error::invalid(format!(
            "create {name}: \"{name}\" includes invalid characters for a local volume name, only \"[a-zA-Z0-9][a-zA-Z0-9_.-]\" are allowed. If you intended to pass a host directory, use absolute path"
        )))
    }
}

/// The local driver's options (moby's `type`, `device`, `o`): mount `device` with
/// filesystem `type` and options `o` on the volume's directory while a container uses it.
fn validate_options(options: &BTreeMap<String, String>) -> Result<()> {
    for k in options.keys() {
        if !matches!(k.as_str(), "type" | "device" | "o") {
            return Err(Error::invalid(format!(
                "create: invalid option key: {k:?} (the local driver takes type, device and o)"
            )));
        }
    }
    let has = |k: &str| options.get(k).is_some_and(|v| !v.is_empty());
    if has("type") != has("device") {
        let missing = if has("type") { "device" } else { "type" };
        return Err(Error::invalid(format!(
            "create: missing required option: {missing:?}"
        )));
    }
    if !has("type") && has("o") {
        return Err(Error::invalid(
            "create: option \"o\" needs \"type\" and \"device\"",
        ));
    }
    Ok(())
}

/// `o` split the way mount(8) does: flags for mount(2), the rest as filesystem data.
fn mount_flags(o: &str) -> (nix::mount::MsFlags, String) {
    use nix::mount::MsFlags as F;
    let mut flags = F::empty();
    let mut data = Vec::new();
    for opt in o.split(',').filter(|s| !s.is_empty()) {
        match opt {
            "ro" => flags |= F::MS_RDONLY,
            "rw" | "defaults" => {}
            "bind" => flags |= F::MS_BIND,
            "rbind" => flags |= F::MS_BIND | F::MS_REC,
            "nosuid" => flags |= F::MS_NOSUID,
            "nodev" => flags |= F::MS_NODEV,
            "noexec" => flags |= F::MS_NOEXEC,
            "sync" => flags |= F::MS_SYNCHRONOUS,
            "dirsync" => flags |= F::MS_DIRSYNC,
            "noatime" => flags |= F::MS_NOATIME,
            "nodiratime" => flags |= F::MS_NODIRATIME,
            "relatime" => flags |= F::MS_RELATIME,
            "strictatime" => flags |= F::MS_STRICTATIME,
            other => data.push(other),
        }
    }
    (flags, data.join(","))
}

pub struct Volumes<'a> {
    store: &'a Store,
}

impl<'a> Volumes<'a> {
    pub fn new(store: &'a Store) -> Self {
        Volumes { store }
    }

    pub fn data_dir(&self, name: &str) -> PathBuf {
        self.store.paths.volumes().join(name).join("_data")
    }

    fn decode(&self, row: (String, String, String, String, String, bool)) -> Volume {
        let (name, driver, created, labels, options, anonymous) = row;
        Volume {
            mountpoint: self.data_dir(&name).display().to_string(),
            labels: serde_json::from_str(&labels).unwrap_or_default(),
            options: serde_json::from_str(&options).unwrap_or_default(),
            created_at: created,
            driver,
            name,
            scope: "local".into(),
            anonymous,
        }
    }

    /// Creates a volume (a random 64-hex name when `name` is None). Creating an existing
    /// named volume returns it, as Docker does.
    pub fn create(
        &self,
        name: Option<&str>,
        labels: BTreeMap<String, String>,
        options: BTreeMap<String, String>,
        anonymous: bool,
    ) -> Result<Volume> {
        validate_options(&options)?;
        let name = match name {
            Some(n) => {
                validate_name(n)?;
                n.to_string()
            }
            None => ids::random_id(),
        };
        if let Ok(v) = self.get(&name) {
            return Ok(v);
        }
        let dir = self.data_dir(&name);
        fs::create_dir_all(&dir).ctx(|| format!("creating volume dir {}", dir.display()))?;
        let created = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        let enc =
            |m: &BTreeMap<String, String>| serde_json::to_string(m).unwrap_or_else(|_| "{}".into());
        let db = self.store.db();
        db.execute(
            "INSERT OR IGNORE INTO volumes (name, driver, created, labels, options, anonymous)
             VALUES (?1, 'local', ?2, ?3, ?4, ?5)",
            params![name, created, enc(&labels), enc(&options), anonymous],
        )?;
        drop(db);
        self.get(&name)
    }

    pub fn get(&self, name: &str) -> Result<Volume> {
        let db = self.store.db();
        let row = db
            .query_row(
                "SELECT name, driver, created, labels, options, anonymous FROM volumes WHERE name = ?1",
                [name],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?)),
            )
            .optional()?
            .ok_or_else(|| Error::not_found(format!("get {name}: no such volume")))?;
        Ok(self.decode(row))
    }

    pub fn list(&self) -> Result<Vec<Volume>> {
        let db = self.store.db();
        let mut st = db.prepare_cached(
            "SELECT name, driver, created, labels, options, anonymous FROM volumes ORDER BY name",
        )?;
        let rows = st.query_map([], |r| {
            Ok((
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
            ))
        })?;
        let mut out = Vec::new();
        for r in rows {
            out.push(self.decode(r?));
        }
        Ok(out)
    }

    /// Ids of containers whose records mount the volume.
    pub fn users(&self, name: &str) -> Result<Vec<String>> {
        let db = self.store.db();
        let mut st = db.prepare_cached(
            "SELECT c.id FROM containers c, json_each(c.config, '$.Mounts') m
             WHERE json_extract(m.value, '$.Type') = 'volume' AND json_extract(m.value, '$.Name') = ?1",
        )?;
        let rows = st.query_map([name], |r| r.get::<_, String>(0))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Mounts a volume created with `type`/`device` options on its directory, unless it
    /// already is (another running container uses it).
    pub fn activate(&self, name: &str) -> Result<()> {
        let v = self.get(name)?;
        let (Some(typ), Some(device)) = (v.options.get("type"), v.options.get("device")) else {
            return Ok(());
        };
        let dir = self.data_dir(name);
        if crate::engine::image::snapshot::is_mounted(&dir).unwrap_or(false) {
            return Ok(());
        }
        let (flags, data) = mount_flags(v.options.get("o").map(String::as_str).unwrap_or(""));
        let fstype = (typ != "none").then_some(typ.as_str());
        nix::mount::mount(
            Some(device.as_str()),
            &dir,
            fstype,
            flags,
            (!data.is_empty()).then_some(data.as_str()),
        )
        .map_err(|e| {
            Error::Other(format!(
                "error while mounting volume '{}': failed to mount local volume: mount {device}:{} (type {typ}, options {:?}): {e}",
                v.name,
                dir.display(),
                v.options.get("o").map(String::as_str).unwrap_or("")
            ))
        })
    }

    /// Unmounts an option-mounted volume once no running container other than
    /// `leaving` uses it.
    pub fn deactivate(&self, name: &str, leaving: &str) -> Result<()> {
        let v = self.get(name)?;
        if !v.options.contains_key("type") {
            return Ok(());
        }
        for user in self.users(name)? {
            if user == leaving {
                continue;
            }
            let running: bool = self
                .store
                .db()
                .query_row(
                    "SELECT json_extract(state, '$.Running') FROM containers WHERE id = ?1",
                    [&user],
                    |r| r.get::<_, Option<bool>>(0),
                )
                .optional()?
                .flatten()
                .unwrap_or(false);
            if running {
                return Ok(());
            }
        }
        crate::engine::image::snapshot::unmount(&self.data_dir(name))
            .map_err(|e| Error::Other(format!("unmounting volume {name}: {e}")))
    }

    pub fn remove(&self, name: &str, force: bool) -> Result<()> {
        let v = match self.get(name) {
            Ok(v) => v,
            Err(Error::NotFound(_)) if force => return Ok(()),
            Err(e) => return Err(e),
        };
        let users = self.users(&v.name)?;
        if !users.is_empty() {
            return Err(Error::conflict(format!(
                "remove {}: volume is in use - [{}]",
                v.name,
                users.join(", ")
            )));
        }
        let db = self.store.db();
        db.execute("DELETE FROM volumes WHERE name = ?1", [&v.name])?;
        drop(db);
        let dir = self.store.paths.volumes().join(&v.name);
        crate::engine::store::tmp::remove_tree(&dir)
            .map_err(|e| Error::io(format!("removing volume dir {}", dir.display()), e))
    }

    /// Removes unused volumes: anonymous ones, or every unused one with `all` (Docker 23+).
    /// Returns the names and the bytes reclaimed.
    pub fn prune(&self, all: bool) -> Result<(Vec<String>, u64)> {
        let mut removed = Vec::new();
        let mut bytes = 0;
        for v in self.list()? {
            if (!all && !v.anonymous) || !self.users(&v.name)?.is_empty() {
                continue;
            }
            let size = dir_size(&self.data_dir(&v.name));
            self.remove(&v.name, false)?;
            bytes += size;
            removed.push(v.name);
        }
        Ok((removed, bytes))
    }
}

/// Bytes of regular files under `dir`.
pub fn dir_size(dir: &std::path::Path) -> u64 {
    walkdir::WalkDir::new(dir)
        .into_iter()
        .flatten()
        .filter(|e| e.file_type().is_file())
        .filter_map(|e| e.metadata().ok())
        .map(|m| m.len())
        .sum()
}
