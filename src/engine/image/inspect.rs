//! Docker-shaped views of images: `image inspect` JSON and `history` rows. Field
//! names and order follow the Docker Engine API so scripts and templates written for
//! docker work unchanged.

use serde::Serialize;
use serde_json::Value;

use crate::engine::error::Result;
use crate::engine::image::digest::parse_digest;
use crate::engine::image::records::{ImageRecord, Images};
use crate::engine::store::Store;

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ImageInspect {
    pub id: String,
    pub repo_tags: Vec<String>,
    pub repo_digests: Vec<String>,
    pub parent: String,
    pub comment: String,
    pub created: String,
    pub docker_version: String,
    pub author: String,
    pub config: Value,
    pub architecture: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
    pub os: String,
    pub size: u64,
    pub graph_driver: GraphDriver,
    #[serde(rename = "RootFS")]
    pub root_fs: RootFsView,
    pub metadata: Metadata,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct GraphDriver {
    pub data: std::collections::BTreeMap<String, String>,
    pub name: String,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct RootFsView {
    #[serde(rename = "Type")]
    pub kind: String,
    pub layers: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Metadata {
    pub last_tag_time: String,
}

/// Go's zero time, which Docker prints for "never".
pub const ZERO_TIME: &str = "0001-01-01T00:00:00Z";

pub fn inspect(store: &Store, img: &ImageRecord) -> Result<ImageInspect> {
    let raw: Value = serde_json::from_slice(&img.config_bytes).unwrap_or(Value::Null);
    let c = &img.config;
    let mut dirs: Vec<String> = Vec::new();
    for chain in img.layers.iter().rev() {
        dirs.push(
            store
                .paths
                .layer_diff(parse_digest(chain)?)
                .display()
                .to_string(),
        );
    }
    let mut data = std::collections::BTreeMap::new();
    if let Some((top, lower)) = dirs.split_first() {
        data.insert("UpperDir".to_string(), top.clone());
        if !lower.is_empty() {
            data.insert("LowerDir".to_string(), lower.join(":"));
        }
    }
    Ok(ImageInspect {
        id: img.id.clone(),
        repo_tags: img.familiar_tags(),
        repo_digests: img.familiar_digests(),
        parent: img.parent.clone().unwrap_or_default(),
        comment: c.comment.clone().unwrap_or_default(),
        created: c
            .created
            .as_deref()
            .map(crate::engine::image::config::docker_time)
            .unwrap_or_else(|| ZERO_TIME.to_string()),
        docker_version: c.docker_version.clone().unwrap_or_default(),
        author: c.author.clone().unwrap_or_default(),
        config: raw.get("config").cloned().unwrap_or(Value::Null),
        architecture: c.architecture.clone().unwrap_or_default(),
        variant: c.variant.clone(),
        os: c.os.clone().unwrap_or_default(),
        size: img.size,
        graph_driver: GraphDriver {
            data,
            name: "overlay".into(),
        },
        root_fs: RootFsView {
            kind: "layers".into(),
            layers: c.rootfs.diff_ids.clone(),
        },
        metadata: Metadata {
            last_tag_time: img
                .last_tag_time
                .clone()
                .unwrap_or_else(|| ZERO_TIME.to_string()),
        },
    })
}

/// One `history` row, newest first (Docker's /images/{name}/history shape).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct HistoryRow {
    /// Image id for the newest row, "<missing>" below it.
    pub id: String,
    pub created: String,
    pub created_by: String,
    pub tags: Vec<String>,
    pub size: u64,
    pub comment: String,
}

pub fn history(store: &Store, img: &ImageRecord) -> Result<Vec<HistoryRow>> {
    let images = Images::new(store);
    let mut layer_sizes = Vec::new();
    for chain in &img.layers {
        layer_sizes.push(images.layer(chain)?.map(|l| l.size).unwrap_or(0));
    }
    let mut rows = Vec::new();
    let created = || img.created().unwrap_or(ZERO_TIME).to_string();
    if img.config.history.is_empty() {
        // No recorded history: one row per layer, as Docker synthesises it.
        for size in &layer_sizes {
            rows.push(HistoryRow {
                id: "<missing>".into(),
                created: created(),
                created_by: String::new(),
                tags: vec![],
                size: *size,
                comment: String::new(),
            });
        }
    } else {
        let mut layer = 0usize;
        for h in &img.config.history {
            let size = if h.empty_layer {
                0
            } else {
                let s = layer_sizes.get(layer).copied().unwrap_or(0);
                layer += 1;
                s
            };
            rows.push(HistoryRow {
                id: "<missing>".into(),
                created: h.created.clone().unwrap_or_else(created),
                created_by: h.created_by.clone().unwrap_or_default(),
                tags: vec![],
                size,
                comment: h.comment.clone().unwrap_or_default(),
            });
        }
    }
    rows.reverse();
    if let Some(first) = rows.first_mut() {
        first.id = img.id.clone();
        first.tags = img.familiar_tags();
    }
    Ok(rows)
}
