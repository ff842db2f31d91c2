//! The images table: one row per tag (untagged images as <none>), like `docker images`.

use bollard::models::ImageSummary;
use chrono::{DateTime, Utc};

use super::{ago, short_id};
use crate::ui::table::{Column, SortKey, TableItem};

pub const COLUMNS: &[Column] = &[
    Column::flex("REPOSITORY", 24, 9),
    Column::new("TAG", 14, 8),
    Column::new("IMAGE ID", 12, 6),
    Column::new("CREATED", 16, 4),
    Column::new("SIZE", 9, 7),
];

#[derive(Debug, Clone, PartialEq)]
pub struct ImageItem {
    pub id: String,
    pub repo: String,
    pub tag: String,
    pub created: i64,
    pub size: i64,
    /// `now` when the list was read, for the CREATED column.
    pub now: DateTime<Utc>,
}

impl ImageItem {
    /// What `rmi`/`tag` should be given: the reference for a tag row (so removing
    /// it untags, as docker does), the id for an untagged image.
    pub fn reference(&self) -> String {
        if self.repo == "<none>" {
            self.id.clone()
        } else {
            format!("{}:{}", self.repo, self.tag)
        }
    }
}

pub fn items(images: &[ImageSummary], now: DateTime<Utc>) -> Vec<ImageItem> {
    let mut out = Vec::new();
    for img in images {
        let base = ImageItem {
            id: img.id.clone(),
            repo: "<none>".into(),
            tag: "<none>".into(),
            created: img.created,
            size: img.size,
            now,
        };
        if img.repo_tags.is_empty() {
            out.push(base);
            continue;
        }
        for t in &img.repo_tags {
            // The tag follows the last ':' that comes after the last '/' (registry ports).
            let (repo, tag) = match t.rfind(':') {
                Some(i) if !t[i..].contains('/') => (&t[..i], &t[i + 1..]),
                _ => (t.as_str(), "latest"),
            };
            out.push(ImageItem {
                repo: repo.to_string(),
                tag: tag.to_string(),
                ..base.clone()
            });
        }
    }
    out
}

impl TableItem for ImageItem {
    fn key(&self) -> String {
        format!("{}|{}:{}", self.id, self.repo, self.tag)
    }

    fn cell(&self, col: usize) -> String {
        match col {
            0 => self.repo.clone(),
            1 => self.tag.clone(),
            2 => short_id(&self.id),
            3 => ago(self.created, self.now),
            _ => crate::cli::units::size3(self.size.max(0) as u64),
        }
    }

    fn sort_key(&self, col: usize) -> SortKey {
        match col {
            3 => SortKey::Num(-(self.created as f64)),
            4 => SortKey::Num(self.size as f64),
            _ => SortKey::Text(self.cell(col)),
        }
    }
}
