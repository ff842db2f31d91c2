//! Image and layer records in the metadata db: lookup by name or id prefix, tags,
//! registration of new images, deletion with Docker's conflict rules, and garbage
//! collection of unreferenced layers and blobs.

use std::collections::{BTreeMap, HashSet};
use std::fs;

use rusqlite::{params, Connection, OptionalExtension, Transaction, TransactionBehavior};

use crate::engine::error::{Error, IoContext, Result};
use crate::engine::image::blobs::Blobs;
use crate::engine::image::config::ImageConfigFile;
use crate::engine::image::digest::parse_digest;
use crate::engine::image::reference::Reference;
use crate::engine::store::{ids, not_found_if_none, tmp, Store};

#[derive(Debug, Clone)]
pub struct ImageRecord {
    /// "sha256:<hex>"
    pub id: String,
    pub config_bytes: Vec<u8>,
    pub config: ImageConfigFile,
    pub size: u64,
    pub parent: Option<String>,
    pub added_at: String,
    pub last_tag_time: Option<String>,
    /// Full references ("docker.io/library/busybox:latest"), sorted.
    pub tags: Vec<String>,
    /// "name@sha256:..." references.
    pub digests: Vec<String>,
    /// Chain ids, bottom layer first.
    pub layers: Vec<String>,
}

impl ImageRecord {
    pub fn familiar_tags(&self) -> Vec<String> {
        self.tags.iter().map(|t| familiar(t)).collect()
    }
    pub fn familiar_digests(&self) -> Vec<String> {
        self.digests.iter().map(|t| familiar(t)).collect()
    }
    pub fn created(&self) -> Option<&str> {
        self.config.created.as_deref()
    }
    /// The creation instant (configs carry RFC 3339 in any zone and precision).
    pub fn created_time(&self) -> Option<chrono::DateTime<chrono::Utc>> {
        self.created()
            .and_then(|c| chrono::DateTime::parse_from_rfc3339(c).ok())
            .map(|t| t.with_timezone(&chrono::Utc))
    }
}

/// "docker.io/library/busybox:latest" -> "busybox:latest"; passes unparsable text through.
pub fn familiar(full: &str) -> String {
    Reference::parse(full)
        .map(|r| r.familiar())
        .unwrap_or_else(|_| full.to_string())
}

#[derive(Debug, Clone)]
pub struct NewLayer {
    pub chain_id: String,
    pub diff_id: String,
    pub parent: Option<String>,
    pub size: u64,
    pub tar_size: u64,
    pub blob_digest: Option<String>,
    pub blob_size: Option<u64>,
    pub media_type: Option<String>,
}

#[derive(Debug, Clone)]
pub struct LayerRecord {
    pub chain_id: String,
    pub diff_id: String,
    pub size: u64,
    pub tar_size: u64,
    pub blob_digest: Option<String>,
    pub blob_size: Option<u64>,
    pub media_type: Option<String>,
}

/// What one `rmi` or prune step did, in Docker's words.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub enum DeleteRecord {
    Untagged(String),
    Deleted(String),
}

pub struct Images<'a> {
    store: &'a Store,
}

impl<'a> Images<'a> {
    pub fn new(store: &'a Store) -> Self {
        Images { store }
    }

    pub fn layer(&self, chain_id: &str) -> Result<Option<LayerRecord>> {
        let db = self.store.db();
        Ok(db
            .query_row(
                "SELECT chain_id, diff_id, size, tar_size, blob_digest, blob_size, media_type
                 FROM layers WHERE chain_id = ?1",
                [chain_id],
                |r| {
                    Ok(LayerRecord {
                        chain_id: r.get(0)?,
                        diff_id: r.get(1)?,
                        size: r.get::<_, i64>(2)? as u64,
                        tar_size: r.get::<_, i64>(3)? as u64,
                        blob_digest: r.get(4)?,
                        blob_size: r.get::<_, Option<i64>>(5)?.map(|v| v as u64),
                        media_type: r.get(6)?,
                    })
                },
            )
            .optional()?)
    }

    /// A layer is usable when it is recorded and its unpacked dir is present.
    pub fn layer_present(&self, chain_id: &str) -> Result<bool> {
        let hex = parse_digest(chain_id)?;
        Ok(self.layer(chain_id)?.is_some() && self.store.paths.layer_diff(hex).is_dir())
    }

    pub fn get(&self, id: &str) -> Result<ImageRecord> {
        get_in(&self.store.db(), id)
    }

    /// Every image with its tags, newest first (Docker's `images` order).
    pub fn list(&self) -> Result<Vec<ImageRecord>> {
        let db = self.store.db();
        let mut tags: BTreeMap<String, Vec<String>> = BTreeMap::new();
        let mut digests: BTreeMap<String, Vec<String>> = BTreeMap::new();
        let mut layers: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (sql, map) in [
            ("SELECT image_id, ref FROM tags ORDER BY ref", &mut tags),
            (
                "SELECT image_id, ref FROM digests ORDER BY ref",
                &mut digests,
            ),
            (
                "SELECT image_id, chain_id FROM image_layers ORDER BY image_id, idx",
                &mut layers,
            ),
        ] {
            let mut st = db.prepare_cached(sql)?;
            let rows =
                st.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?;
            for row in rows {
                let (k, v) = row?;
                map.entry(k).or_default().push(v);
            }
        }
        let mut st = db.prepare_cached(
            "SELECT id, config, size, parent, added_at, last_tag_time FROM images",
        )?;
        let rows = st.query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, Vec<u8>>(1)?,
                r.get::<_, i64>(2)?,
                r.get::<_, Option<String>>(3)?,
                r.get::<_, String>(4)?,
                r.get::<_, Option<String>>(5)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (id, config_bytes, size, parent, added_at, last_tag_time) = row?;
            let config = ImageConfigFile::parse(&config_bytes)?;
            out.push(ImageRecord {
                tags: tags.remove(&id).unwrap_or_default(),
                digests: digests.remove(&id).unwrap_or_default(),
                layers: layers.remove(&id).unwrap_or_default(),
                id,
                config_bytes,
                config,
                size: size as u64,
                parent,
                added_at,
                last_tag_time,
            });
        }
        out.sort_by(|a, b| {
            b.created_time()
                .cmp(&a.created_time())
                .then_with(|| a.id.cmp(&b.id))
        });
        Ok(out)
    }

    /// Resolves what a user typed (name[:tag], name@digest, id, id prefix) to an image id,
    /// in Docker's order: references first, then id prefixes.
    pub fn resolve(&self, name_or_id: &str) -> Result<String> {
        resolve_in(&self.store.db(), name_or_id)
    }

    /// Points `target` at `id`. Returns the id the tag pointed at before, if another.
    pub fn tag(&self, id: &str, target: &Reference) -> Result<Option<String>> {
        if target.digest().is_some() {
            return Err(Error::invalid(
                "refusing to create a tag with a digest reference",
            ));
        }
        let target = with_default_tag(target).to_string();
        let mut db = self.store.db();
        let tx = db.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let old = tag_in(&tx, id, &target)?;
        tx.commit()?;
        Ok(old)
    }

    /// Registers a fully unpacked image in one transaction: its layers (shared ones
    /// are kept), the image row and its tags. Returns ids whose tags were moved away.
    pub fn register(
        &self,
        config_bytes: &[u8],
        layers: &[NewLayer],
        tags: &[Reference],
    ) -> Result<(String, Vec<(String, String)>)> {
        if let Some(t) = tags.iter().find(|t| t.digest().is_some()) {
            return Err(Error::invalid(format!(
                "invalid tag {:?}: a tag cannot be a digest reference",
                t.familiar()
            )));
        }
        let id = crate::engine::image::digest::sha256_digest(config_bytes);
        let config = ImageConfigFile::parse(config_bytes)?;
        let size: u64 = layers.iter().map(|l| l.size).sum();
        let now = crate::engine::image::config::now_rfc3339();
        let mut db = self.store.db();
        let tx = db.transaction_with_behavior(TransactionBehavior::Immediate)?;
        for l in layers {
            tx.execute(
                "INSERT OR IGNORE INTO layers
                 (chain_id, diff_id, parent, size, tar_size, blob_digest, blob_size, media_type)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                params![
                    l.chain_id,
                    l.diff_id,
                    l.parent,
                    l.size as i64,
                    l.tar_size as i64,
                    l.blob_digest,
                    l.blob_size.map(|v| v as i64),
                    l.media_type
                ],
            )?;
            // A layer first recorded without its compressed blob gains one now.
            if l.blob_digest.is_some() {
                tx.execute(
                    "UPDATE layers SET blob_digest = ?2, blob_size = ?3, media_type = ?4
                     WHERE chain_id = ?1 AND blob_digest IS NULL",
                    params![
                        l.chain_id,
                        l.blob_digest,
                        l.blob_size.map(|v| v as i64),
                        l.media_type
                    ],
                )?;
            }
        }
        let exists: bool = tx
            .query_row("SELECT 1 FROM images WHERE id = ?1", [&id], |_| Ok(()))
            .optional()?
            .is_some();
        if !exists {
            tx.execute(
                "INSERT INTO images (id, config, created, size, parent, added_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![
                    id,
                    config_bytes,
                    config.created,
                    size as i64,
                    config.parent.as_deref().filter(|p| !p.is_empty()),
                    now
                ],
            )?;
            for (i, l) in layers.iter().enumerate() {
                tx.execute(
                    "INSERT INTO image_layers (image_id, idx, chain_id) VALUES (?1, ?2, ?3)",
                    params![id, i as i64, l.chain_id],
                )?;
            }
        }
        let mut moved = Vec::new();
        for t in tags {
            let full = with_default_tag(t).to_string();
            if let Some(old) = tag_in(&tx, &id, &full)? {
                moved.push((full, old));
            }
        }
        tx.commit()?;
        Ok((id, moved))
    }

    /// `rmi`: Docker's ImageDelete. Removing by name untags, and deletes the image when
    /// that was its last name; removing by id deletes it (with `force`, from every name).
    /// One IMMEDIATE transaction, so concurrent removals see each other's work.
    pub fn remove(&self, name_or_id: &str, force: bool) -> Result<Vec<DeleteRecord>> {
        let records = {
            let mut db = self.store.db();
            let tx = db.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let records = remove_in(&tx, name_or_id, force)?;
            tx.commit()?;
            records
        };
        // Files go only through GC, which waits for running loads that may reuse them.
        self.gc()?;
        Ok(records)
    }

    /// Removes images without tags (or, with `all`, every image) that no container uses.
    /// Returns the records and the bytes reclaimed.
    pub fn prune(&self, all: bool) -> Result<(Vec<DeleteRecord>, u64)> {
        let mut records = Vec::new();
        let mut reclaimed = 0u64;
        // Repeat so parents whose children went in this pass go too.
        loop {
            let mut db = self.store.db();
            let tx = db.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let ids: Vec<String> = {
                let mut st = tx.prepare("SELECT id FROM images ORDER BY added_at DESC")?;
                let rows = st.query_map([], |r| r.get(0))?;
                rows.collect::<rusqlite::Result<_>>()?
            };
            let mut progressed = false;
            for id in ids {
                let img = get_in(&tx, &id)?;
                if (!all && !img.tags.is_empty())
                    || !users_in(&tx, &id)?.is_empty()
                    || children_in(&tx, &id)? > 0
                {
                    continue;
                }
                for r in img.tags.iter().chain(&img.digests) {
                    untag_in(&tx, r)?;
                    records.push(DeleteRecord::Untagged(familiar(r)));
                }
                let (recs, freed) = delete_rows_in(&tx, &id)?;
                reclaimed += freed;
                records.extend(recs);
                progressed = true;
            }
            tx.commit()?;
            if !progressed {
                break;
            }
        }
        self.gc()?;
        Ok((records, reclaimed))
    }

    /// Removes layers and blobs nothing refers to, and scratch dirs of dead processes.
    /// Skips quietly while another process is placing files (it holds the lock shared).
    pub fn gc(&self) -> Result<()> {
        let Some(_lock) = tmp::FileLock::try_exclusive(&self.store.gc_lock_path())? else {
            return Ok(());
        };
        tmp::clean_stale(&self.store.paths.tmp())?;
        let (layer_ids, blob_refs) = {
            let db = self.store.db();
            let mut layer_ids = HashSet::new();
            let mut blob_refs = HashSet::new();
            let mut st = db.prepare("SELECT chain_id, blob_digest FROM layers")?;
            let rows = st.query_map([], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, Option<String>>(1)?))
            })?;
            for row in rows {
                let (c, b) = row?;
                if let Ok(h) = parse_digest(&c) {
                    layer_ids.insert(h.to_string());
                }
                if let Some(b) = b {
                    blob_refs.insert(b);
                }
            }
            let mut st = db.prepare("SELECT id FROM images")?;
            for id in st.query_map([], |r| r.get::<_, String>(0))? {
                blob_refs.insert(id?);
            }
            (layer_ids, blob_refs)
        };
        let layers_dir = self.store.paths.layers();
        for e in fs::read_dir(&layers_dir)
            .ctx(|| format!("reading {}", layers_dir.display()))?
            .flatten()
        {
            let name = e.file_name().to_string_lossy().into_owned();
            if !layer_ids.contains(&name) {
                tmp::remove_tree(&e.path())
                    .ctx(|| format!("removing stray layer {}", e.path().display()))?;
            }
        }
        let blobs = Blobs::new(&self.store.paths);
        for d in blobs.list()? {
            if !blob_refs.contains(&d) {
                blobs.remove(&d)?;
            }
        }
        Ok(())
    }
}

fn get_in(db: &Connection, id: &str) -> Result<ImageRecord> {
    let (config_bytes, size, parent, added_at, last_tag_time): (
        Vec<u8>,
        i64,
        Option<String>,
        String,
        Option<String>,
    ) = not_found_if_none(
        db.query_row(
            "SELECT config, size, parent, added_at, last_tag_time FROM images WHERE id = ?1",
            [id],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
        ),
        || format!("No such image: {id}"),
    )?;
    let strings = |sql: &str| -> Result<Vec<String>> {
        let mut st = db.prepare_cached(sql)?;
        let rows = st.query_map([id], |r| r.get::<_, String>(0))?;
        Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
    };
    let tags = strings("SELECT ref FROM tags WHERE image_id = ?1 ORDER BY ref")?;
    let digests = strings("SELECT ref FROM digests WHERE image_id = ?1 ORDER BY ref")?;
    let layers = strings("SELECT chain_id FROM image_layers WHERE image_id = ?1 ORDER BY idx")?;
    let config = ImageConfigFile::parse(&config_bytes)?;
    Ok(ImageRecord {
        id: id.to_string(),
        config_bytes,
        config,
        size: size as u64,
        parent,
        added_at,
        last_tag_time,
        tags,
        digests,
        layers,
    })
}

/// Resolves what a user typed (name[:tag], name@digest, id, id prefix) to an image id,
/// in Docker's order: references first, then id prefixes.
pub fn resolve_in(db: &Connection, name_or_id: &str) -> Result<String> {
    let s = name_or_id.trim();
    if s.is_empty() {
        return Err(Error::invalid("image name must not be empty"));
    }
    let by_id_prefix = |prefix: &str| -> Result<Option<String>> {
        let hex = ids::strip_algo(prefix);
        if !ids::is_hex(hex) {
            return Ok(None);
        }
        let mut st = db.prepare_cached("SELECT id FROM images WHERE id >= ?1 AND id < ?2")?;
        // Range scan on the primary key instead of reading every id.
        let lo = format!("sha256:{hex}");
        let hi = format!("sha256:{hex}\u{7f}");
        let found: Vec<String> = st
            .query_map(params![lo, hi], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        match found.len() {
            0 => Ok(None),
            1 => Ok(found.into_iter().next()),
            _ => Err(Error::invalid(format!(
                "multiple images found with provided prefix: {hex}"
            ))),
        }
    };
    if s.starts_with("sha256:") {
        return by_id_prefix(s)?.ok_or_else(|| Error::not_found(format!("No such image: {s}")));
    }
    let parsed = Reference::parse(s);
    if let Ok(r) = &parsed {
        let (table, key) = match r.digest() {
            Some(d) => ("digests", digest_ref(r, d)),
            None => ("tags", with_default_tag(r).to_string()),
        };
        let found: Option<String> = db
            .query_row(
                &format!("SELECT image_id FROM {table} WHERE ref = ?1"),
                [&key],
                |row| row.get(0),
            )
            .optional()?;
        if let Some(id) = found {
            return Ok(id);
        }
    }
    if let Some(id) = by_id_prefix(s)? {
        return Ok(id);
    }
    match parsed {
        Ok(r) if r.digest().is_none() => Err(Error::not_found(format!(
            "No such image: {}",
            with_default_tag(&r).familiar()
        ))),
        Ok(r) => Err(Error::not_found(format!("No such image: {}", r.familiar()))),
        // A 64-hex string is not a valid reference but may be an id: say "no such image".
        Err(_) if ids::is_hex(s) => Err(Error::not_found(format!("No such image: {s}"))),
        Err(e) => Err(Error::invalid(e.to_string())),
    }
}

/// Containers (id, running) that use an image.
fn users_in(db: &Connection, id: &str) -> Result<Vec<(String, bool)>> {
    let mut st = db.prepare_cached(
        "SELECT id, COALESCE(json_extract(state, '$.Running'), 0) FROM containers
         WHERE image_id = ?1 ORDER BY created",
    )?;
    let rows = st.query_map([id], |r| Ok((r.get::<_, String>(0)?, r.get::<_, bool>(1)?)))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

fn children_in(db: &Connection, id: &str) -> Result<usize> {
    let n: i64 = db.query_row("SELECT COUNT(*) FROM images WHERE parent = ?1", [id], |r| {
        r.get(0)
    })?;
    Ok(n as usize)
}

fn untag_in(db: &Connection, full: &str) -> Result<()> {
    db.execute("DELETE FROM tags WHERE ref = ?1", [full])?;
    db.execute("DELETE FROM digests WHERE ref = ?1", [full])?;
    Ok(())
}

fn repo_name(full: &str) -> String {
    Reference::parse(full)
        .map(|r| r.name())
        .unwrap_or_else(|_| full.to_string())
}

/// Docker's isSingleReference: at most one tag, and any digest references belong to
/// that tag's repository.
fn is_single_reference(refs: &[String]) -> bool {
    if refs.len() <= 1 {
        return refs.len() == 1;
    }
    let mut single: Option<&String> = None;
    let mut canonical: HashSet<String> = HashSet::new();
    for r in refs {
        if r.contains('@') {
            canonical.insert(repo_name(r));
        } else if single.is_none() {
            single = Some(r);
        } else {
            return false;
        }
    }
    let single = single.unwrap_or(&refs[0]);
    canonical.len() == 1 && canonical.contains(&repo_name(single))
}

/// True when the user typed an id (prefix) rather than a name. A tag named like a hex
/// prefix ("abc") wins over the id, as in Docker.
fn is_id_reference_in(db: &Connection, typed: &str, id: &str) -> Result<bool> {
    let hex = ids::strip_algo(typed);
    if !ids::is_hex(hex) || !ids::strip_algo(id).starts_with(hex) {
        return Ok(false);
    }
    match Reference::parse(typed) {
        Ok(r) => {
            let full = with_default_tag(&r).to_string();
            let tagged: Option<String> = db
                .query_row("SELECT image_id FROM tags WHERE ref = ?1", [&full], |r| {
                    r.get(0)
                })
                .optional()?;
            Ok(tagged.is_none())
        }
        Err(_) => Ok(true),
    }
}

fn remove_in(db: &Connection, name_or_id: &str, force: bool) -> Result<Vec<DeleteRecord>> {
    let id = resolve_in(db, name_or_id)?;
    let img = get_in(db, &id)?;
    let users = users_in(db, &id)?;
    let refs: Vec<String> = img.tags.iter().chain(&img.digests).cloned().collect();
    let short = ids::short_id(&id).to_string();
    let mut records = Vec::new();
    if !is_id_reference_in(db, name_or_id, &id)? {
        let r = Reference::parse(name_or_id).map_err(|e| Error::invalid(e.to_string()))?;
        let full = match r.digest() {
            Some(d) => digest_ref(&r, d),
            None => with_default_tag(&r).to_string(),
        };
        if !force && is_single_reference(&refs) {
            if let Some((cid, _)) = users.first() {
                return Err(Error::conflict(format!(
                    "conflict: unable to remove repository reference \"{name_or_id}\" (must force) - container {} is using its referenced image {short}",
                    ids::short_id(cid)
                )));
            }
        }
        untag_in(db, &full)?;
        records.push(DeleteRecord::Untagged(familiar(&full)));
        let mut remaining: Vec<String> = refs.into_iter().filter(|x| *x != full).collect();
        // When the last tag of a repository goes, that repository's digests go with it.
        if r.digest().is_none() {
            let name = r.name();
            let tag_left = remaining
                .iter()
                .any(|x| !x.contains('@') && repo_name(x) == name);
            if !tag_left {
                for d in remaining
                    .iter()
                    .filter(|x| x.contains('@') && repo_name(x) == name)
                {
                    untag_in(db, d)?;
                    records.push(DeleteRecord::Untagged(familiar(d)));
                }
                remaining.retain(|x| !(x.contains('@') && repo_name(x) == name));
            }
        }
        if !remaining.is_empty() || !users.is_empty() || children_in(db, &id)? > 0 {
            // Still named, or still needed (it stays as a dangling image).
            return Ok(records);
        }
    } else {
        // Hard conflicts first: nothing is untagged when the delete cannot happen.
        if children_in(db, &id)? > 0 {
            return Err(Error::conflict(format!(
                "conflict: unable to delete {short} (cannot be forced) - image has dependent child images"
            )));
        }
        // Any running user, not just the oldest container (which may have stopped).
        if let Some((cid, _)) = users.iter().find(|(_, running)| *running) {
            return Err(Error::conflict(format!(
                "conflict: unable to delete {short} (cannot be forced) - image is being used by running container {}",
                ids::short_id(cid)
            )));
        }
        if !force && refs.len() > 1 && !is_single_reference(&refs) {
            return Err(Error::conflict(format!(
                "conflict: unable to delete {short} (must be forced) - image is referenced in multiple repositories"
            )));
        }
        if !force {
            if let Some((cid, _)) = users.first() {
                return Err(Error::conflict(format!(
                    "conflict: unable to delete {short} (must be forced) - image is being used by stopped container {}",
                    ids::short_id(cid)
                )));
            }
        }
        for r in &refs {
            untag_in(db, r)?;
            records.push(DeleteRecord::Untagged(familiar(r)));
        }
        if !users.is_empty() {
            return Ok(records);
        }
    }
    let (deleted, _) = delete_rows_in(db, &id)?;
    records.extend(deleted);
    Ok(records)
}

/// Deletes an image row and the layer rows no other image uses. Their files are left to
/// GC. Returns the records and the content bytes freed.
fn delete_rows_in(db: &Connection, id: &str) -> Result<(Vec<DeleteRecord>, u64)> {
    let mut records = vec![DeleteRecord::Deleted(id.to_string())];
    let chain: Vec<String> = {
        let mut st = db.prepare_cached(
            "SELECT chain_id FROM image_layers WHERE image_id = ?1 ORDER BY idx DESC",
        )?;
        let rows = st.query_map([id], |r| r.get(0))?;
        rows.collect::<rusqlite::Result<_>>()?
    };
    db.execute("DELETE FROM images WHERE id = ?1", [id])?;
    let mut freed = 0u64;
    for c in chain {
        let used: bool = db
            .query_row(
                "SELECT 1 FROM image_layers WHERE chain_id = ?1 LIMIT 1",
                [&c],
                |_| Ok(()),
            )
            .optional()?
            .is_some();
        if !used {
            let size: i64 = db
                .query_row("SELECT size FROM layers WHERE chain_id = ?1", [&c], |r| {
                    r.get(0)
                })
                .optional()?
                .unwrap_or(0);
            db.execute("DELETE FROM layers WHERE chain_id = ?1", [&c])?;
            freed += size as u64;
            records.push(DeleteRecord::Deleted(c));
        }
    }
    Ok((records, freed))
}

/// "name@sha256:..." as stored in the digests table (any tag dropped).
fn digest_ref(r: &Reference, digest: &str) -> String {
    format!("{}@{digest}", r.name())
}

/// Adds ":latest" when a reference has neither tag nor digest.
pub fn with_default_tag(r: &Reference) -> Reference {
    if r.tag().is_none() && r.digest().is_none() {
        r.with_tag("latest").unwrap_or_else(|_| r.clone())
    } else {
        r.clone()
    }
}

fn tag_in(tx: &Transaction<'_>, id: &str, full: &str) -> Result<Option<String>> {
    let old: Option<String> = tx
        .query_row("SELECT image_id FROM tags WHERE ref = ?1", [full], |r| {
            r.get(0)
        })
        .optional()?;
    tx.execute(
        "INSERT INTO tags (ref, image_id) VALUES (?1, ?2)
         ON CONFLICT(ref) DO UPDATE SET image_id = excluded.image_id",
        params![full, id],
    )?;
    tx.execute(
        "UPDATE images SET last_tag_time = ?2 WHERE id = ?1",
        params![id, crate::engine::image::config::now_rfc3339()],
    )?;
    Ok(old.filter(|o| o != id))
}
