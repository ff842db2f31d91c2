//! The volumes table.

use bollard::models::Volume;
use chrono::{DateTime, Utc};

use super::ago;
use crate::ui::table::{Column, SortKey, TableItem};

pub const COLUMNS: &[Column] = &[
    Column::flex("NAME", 24, 9),
    Column::new("DRIVER", 8, 5),
    Column::new("CREATED", 16, 6),
    Column::flex("MOUNTPOINT", 30, 3),
];

#[derive(Debug, Clone, PartialEq)]
pub struct VolumeItem {
    pub name: String,
    pub driver: String,
    pub created: i64,
    pub mountpoint: String,
    pub now: DateTime<Utc>,
}

pub fn items(volumes: &[Volume], now: DateTime<Utc>) -> Vec<VolumeItem> {
    volumes
        .iter()
        .map(|v| VolumeItem {
            name: v.name.clone(),
            driver: v.driver.clone(),
            created: v
                .created_at
                .as_deref()
                .and_then(crate::cli::units::parse_time)
                .map(|t| t.timestamp())
                .unwrap_or(0),
            mountpoint: v.mountpoint.clone(),
            now,
        })
        .collect()
}

impl TableItem for VolumeItem {
    fn key(&self) -> String {
        self.name.clone()
    }

    fn cell(&self, col: usize) -> String {
        match col {
            0 => self.name.clone(),
            1 => self.driver.clone(),
            2 => ago(self.created, self.now),
            _ => self.mountpoint.clone(),
        }
    }

    fn sort_key(&self, col: usize) -> SortKey {
        match col {
            2 => SortKey::Num(-(self.created as f64)),
            _ => SortKey::Text(self.cell(col)),
        }
    }
}
