//! Engine-wide queries: disk usage (`system df`).

use std::collections::{HashMap, HashSet};

use serde::Serialize;

use crate::engine::error::Result;
use crate::engine::image::records::Images;
use crate::engine::store::Store;

#[derive(Debug, Clone, Default, Serialize)]
pub struct UsageRow {
    pub total: u64,
    pub active: u64,
    pub size: u64,
    pub reclaimable: u64,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct DiskUsage {
    pub images: UsageRow,
    pub containers: UsageRow,
    pub volumes: UsageRow,
    pub build_cache: UsageRow,
}

pub fn disk_usage(store: &Store) -> Result<DiskUsage> {
    let images = Images::new(store);
    let list = images.list()?;
    let used: HashSet<String> = {
        let db = store.db();
        let mut st = db.prepare_cached("SELECT DISTINCT image_id FROM containers")?;
        let rows = st.query_map([], |r| r.get::<_, String>(0))?;
        rows.collect::<rusqlite::Result<_>>()?
    };
    // Shared layers count once in SIZE; a layer is reclaimable only if no active image
    // uses it.
    let mut layer_size: HashMap<String, u64> = HashMap::new();
    let mut active_layers: HashSet<String> = HashSet::new();
    for img in &list {
        for c in &img.layers {
            if !layer_size.contains_key(c) {
                let size = images.layer(c)?.map(|l| l.size).unwrap_or(0);
                layer_size.insert(c.clone(), size);
            }
            if used.contains(&img.id) {
                active_layers.insert(c.clone());
            }
        }
    }
    let size: u64 = layer_size.values().sum();
    let active_size: u64 = active_layers.iter().filter_map(|c| layer_size.get(c)).sum();
    let containers: u64 = {
        let db = store.db();
        db.query_row("SELECT COUNT(*) FROM containers", [], |r| {
            r.get::<_, i64>(0)
        })? as u64
    };
    Ok(DiskUsage {
        images: UsageRow {
            total: list.len() as u64,
            active: list.iter().filter(|i| used.contains(&i.id)).count() as u64,
            size,
            reclaimable: size - active_size,
        },
        containers: UsageRow {
            total: containers,
            ..Default::default()
        },
        volumes: volume_usage(store)?,
        build_cache: UsageRow::default(),
    })
}

fn volume_usage(store: &Store) -> Result<UsageRow> {
    let vols = crate::engine::volume::Volumes::new(store);
    let mut row = UsageRow::default();
    for v in vols.list()? {
        let size = crate::engine::volume::dir_size(&vols.data_dir(&v.name));
        row.total += 1;
        row.size += size;
        if vols.users(&v.name)?.is_empty() {
            row.reclaimable += size;
        } else {
            row.active += 1;
        }
    }
    Ok(row)
}
