//! Container records: the configuration a container was created with and its state,
//! both stored as JSON in the metadata db so the CLI, the console, the API server and
//! each container's monitor process see one truth.

use bollard::models::{ContainerCreateBody, HostConfig};
use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};
use serde::{Deserialize, Serialize};

use crate::engine::error::{Error, Result};
use crate::engine::store::{ids, Store};

/// Everything fixed at create time.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ContainerConfig {
    /// The image's defaults merged in (Env, Cmd, Entrypoint, WorkingDir, ...).
    pub config: ContainerCreateBody,
    pub host_config: HostConfig,
    /// Image id ("sha256:...").
    pub image: String,
    /// The program and its arguments (Entrypoint + Cmd).
    pub path: String,
    pub args: Vec<String>,
    /// Volumes and binds, resolved at create time.
    #[serde(default)]
    pub mounts: Vec<crate::engine::runtime::mounts::MountPoint>,
    /// Whether the container sits on its image's shared init layer (see initlayer.rs);
    /// false for containers made before the sharing, which keep their own or none.
    #[serde(default)]
    pub shared_init_layer: bool,
}

/// Docker's State object plus what berth's monitor needs.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct State {
    /// created, running, paused, restarting, removing, exited, dead
    pub status: String,
    pub running: bool,
    pub paused: bool,
    pub restarting: bool,
    #[serde(rename = "OOMKilled")]
    pub oom_killed: bool,
    pub dead: bool,
    pub pid: i64,
    pub exit_code: i64,
    pub error: String,
    pub started_at: String,
    pub finished_at: String,
    /// The monitor process that owns the running container.
    #[serde(default)]
    pub monitor_pid: i64,
    #[serde(default)]
    pub restart_count: i64,
    /// Set by stop/kill so the restart policy leaves the container down.
    #[serde(default)]
    pub manually_stopped: bool,
    /// Addresses and published ports while running.
    #[serde(default)]
    pub network: crate::engine::network::RuntimeNetwork,
}

pub const ZERO_TIME: &str = "0001-01-01T00:00:00Z";

impl State {
    pub fn created() -> State {
        State {
            status: "created".into(),
            started_at: ZERO_TIME.into(),
            finished_at: ZERO_TIME.into(),
            ..Default::default()
        }
    }
}

#[derive(Debug, Clone)]
pub struct ContainerRecord {
    pub id: String,
    pub name: String,
    pub created: String,
    pub config: ContainerConfig,
    pub state: State,
}

fn row_to_record(
    r: &rusqlite::Row<'_>,
) -> rusqlite::Result<(String, String, String, String, String)> {
    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
}

fn decode(raw: (String, String, String, String, String)) -> Result<ContainerRecord> {
    let (id, name, created, config, state) = raw;
    let config: ContainerConfig = serde_json::from_str(&config)
        .map_err(|e| Error::Other(format!("container {id}: damaged config record: {e}")))?;
    let state: State = serde_json::from_str(&state)
        .map_err(|e| Error::Other(format!("container {id}: damaged state record: {e}")))?;
    Ok(ContainerRecord {
        id,
        name,
        created,
        config,
        state,
    })
}

fn encode<T: Serialize>(v: &T) -> Result<String> {
    serde_json::to_string(v).map_err(|e| Error::Other(format!("encoding container record: {e}")))
}

const COLUMNS: &str = "id, name, created, config, state";

pub struct Containers<'a> {
    store: &'a Store,
}

impl<'a> Containers<'a> {
    pub fn new(store: &'a Store) -> Self {
        Containers { store }
    }

    pub fn insert(&self, rec: &ContainerRecord) -> Result<()> {
        let db = self.store.db();
        let taken: Option<String> = db
            .query_row(
                "SELECT id FROM containers WHERE name = ?1",
                [&rec.name],
                |r| r.get(0),
            )
            .optional()?;
        if let Some(other) = taken {
            return Err(name_conflict(&rec.name, &other));
        }
        let res = db.execute(
            "INSERT INTO containers (id, name, image_id, created, config, state)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![
                rec.id,
                rec.name,
                rec.config.image,
                rec.created,
                encode(&rec.config)?,
                encode(&rec.state)?
            ],
        );
        match res {
            // Lost a race for the name with another process.
            Err(rusqlite::Error::SqliteFailure(e, _))
                if e.code == rusqlite::ErrorCode::ConstraintViolation =>
            {
                Err(name_conflict(&rec.name, "another container"))
            }
            r => r.map(|_| ()).map_err(Into::into),
        }
    }

    pub fn get(&self, id: &str) -> Result<ContainerRecord> {
        let db = self.store.db();
        get_in(&db, id)
    }

    /// Full id, name (with or without '/'), or unique id prefix, as Docker resolves them.
    pub fn resolve(&self, name_or_id: &str) -> Result<String> {
        let db = self.store.db();
        resolve_in(&db, name_or_id)
    }

    pub fn list(&self) -> Result<Vec<ContainerRecord>> {
        let db = self.store.db();
        let mut st = db.prepare_cached(&format!(
            "SELECT {COLUMNS} FROM containers ORDER BY created DESC"
        ))?;
        let rows = st.query_map([], row_to_record)?;
        let mut out = Vec::new();
        for r in rows {
            out.push(decode(r?)?);
        }
        Ok(out)
    }

    /// Read-modify-write of the state in one IMMEDIATE transaction (monitors and CLIs
    /// update concurrently). Returns the new state.
    pub fn update_state<F: FnOnce(&mut State)>(&self, id: &str, f: F) -> Result<State> {
        let mut db = self.store.db();
        let tx = db.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut rec = get_in(&tx, id)?;
        f(&mut rec.state);
        tx.execute(
            "UPDATE containers SET state = ?2 WHERE id = ?1",
            params![id, encode(&rec.state)?],
        )?;
        tx.commit()?;
        Ok(rec.state)
    }

    /// Read-modify-write of the mount list, in one IMMEDIATE transaction.
    pub fn update_mounts<F: FnOnce(&mut Vec<crate::engine::runtime::mounts::MountPoint>)>(
        &self,
        id: &str,
        f: F,
    ) -> Result<()> {
        let mut db = self.store.db();
        let tx = db.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut rec = get_in(&tx, id)?;
        f(&mut rec.config.mounts);
        tx.execute(
            "UPDATE containers SET config = ?2 WHERE id = ?1",
            params![id, encode(&rec.config)?],
        )?;
        tx.commit()?;
        Ok(())
    }

    /// Read-modify-write of the HostConfig (for `update`), in one IMMEDIATE transaction.
    pub fn update_host_config<F: FnOnce(&mut HostConfig)>(&self, id: &str, f: F) -> Result<()> {
        let mut db = self.store.db();
        let tx = db.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut rec = get_in(&tx, id)?;
        f(&mut rec.config.host_config);
        tx.execute(
            "UPDATE containers SET config = ?2 WHERE id = ?1",
            params![id, encode(&rec.config)?],
        )?;
        tx.commit()?;
        Ok(())
    }

    pub fn rename(&self, id: &str, new_name: &str) -> Result<()> {
        let db = self.store.db();
        let taken: Option<String> = db
            .query_row(
                "SELECT id FROM containers WHERE name = ?1",
                [new_name],
                |r| r.get(0),
            )
            .optional()?;
        if let Some(other) = taken {
            return Err(name_conflict(new_name, &other));
        }
        db.execute(
            "UPDATE containers SET name = ?2 WHERE id = ?1",
            params![id, new_name],
        )?;
        Ok(())
    }

    /// Deletes the record and its network endpoints in one transaction.
    pub fn delete(&self, id: &str) -> Result<()> {
        let mut db = self.store.db();
        let tx = db.transaction_with_behavior(TransactionBehavior::Immediate)?;
        tx.execute("DELETE FROM endpoints WHERE container_id = ?1", [id])?;
        tx.execute("DELETE FROM containers WHERE id = ?1", [id])?;
        tx.commit()?;
        Ok(())
    }
}

fn name_conflict(name: &str, other: &str) -> Error {
    Error::conflict(format!(
        "Conflict. The container name \"/{name}\" is already in use by container \"{other}\". You have to remove (or rename) that container to be able to reuse that name."
    ))
}

fn get_in(db: &Connection, id: &str) -> Result<ContainerRecord> {
    let raw = db
        .query_row(
            &format!("SELECT {COLUMNS} FROM containers WHERE id = ?1"),
            [id],
            row_to_record,
        )
        .optional()?
        .ok_or_else(|| Error::not_found(format!("No such container: {id}")))?;
    decode(raw)
}

fn resolve_in(db: &Connection, name_or_id: &str) -> Result<String> {
    let s = name_or_id.trim();
    if s.is_empty() {
        return Err(Error::invalid("container name or id must not be empty"));
    }
    if ids::is_hex(s) && s.len() == 64 {
        let found: Option<String> = db
            .query_row("SELECT id FROM containers WHERE id = ?1", [s], |r| r.get(0))
            .optional()?;
        if let Some(id) = found {
            return Ok(id);
        }
    }
    let name = s.strip_prefix('/').unwrap_or(s);
    let by_name: Option<String> = db
        .query_row("SELECT id FROM containers WHERE name = ?1", [name], |r| {
            r.get(0)
        })
        .optional()?;
    if let Some(id) = by_name {
        return Ok(id);
    }
    if ids::is_hex(s) {
        let mut st = db.prepare_cached("SELECT id FROM containers WHERE id >= ?1 AND id < ?2")?;
        let found: Vec<String> = st
            .query_map(params![s, format!("{s}\u{7f}")], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        match found.len() {
            1 => return Ok(found.into_iter().next().unwrap_or_default()),
            0 => {}
            _ => {
                return Err(Error::invalid(format!(
                    "multiple IDs found with provided prefix: {s}"
                )))
            }
        }
    }
    Err(Error::not_found(format!("No such container: {s}")))
}

/// Records a container event with Docker's attributes (image, name, labels).
pub fn emit(store: &Store, rec: &ContainerRecord, action: &str, extra: &[(&str, &str)]) {
    let image = rec.config.config.image.clone().unwrap_or_default();
    let mut attrs: Vec<(&str, &str)> = vec![("image", image.as_str()), ("name", rec.name.as_str())];
    let labels = rec.config.config.labels.clone().unwrap_or_default();
    for (k, v) in &labels {
        attrs.push((k.as_str(), v.as_str()));
    }
    attrs.extend_from_slice(extra);
    crate::engine::events::emit(store, "container", action, &rec.id, &attrs);
}
