//! The networks table.

use bollard::models::NetworkInspect;
use chrono::{DateTime, Utc};

use super::{ago, short_id};
use crate::ui::table::{Column, SortKey, TableItem};

pub const COLUMNS: &[Column] = &[
    Column::flex("NAME", 16, 9),
    Column::new("ID", 12, 4),
    Column::new("DRIVER", 8, 6),
    Column::new("SUBNET", 18, 7),
    Column::new("GATEWAY", 15, 3),
    Column::new("CONTAINERS", 10, 8),
    Column::new("INTERNAL", 8, 2),
    Column::new("CREATED", 14, 5),
];

#[derive(Debug, Clone, PartialEq)]
pub struct NetworkItem {
    pub id: String,
    pub name: String,
    pub driver: String,
    pub subnet: String,
    pub gateway: String,
    /// Names of the containers connected to it.
    pub members: Vec<String>,
    pub internal: bool,
    pub created: i64,
    pub now: DateTime<Utc>,
}

pub fn items(networks: &[NetworkInspect], now: DateTime<Utc>) -> Vec<NetworkItem> {
    networks
        .iter()
        .map(|n| {
            let ipam = n
                .ipam
                .as_ref()
                .and_then(|i| i.config.as_ref())
                .and_then(|c| c.first());
            let mut members: Vec<String> = n
                .containers
                .iter()
                .flatten()
                .filter_map(|(_, c)| c.name.clone())
                .collect();
            members.sort();
            NetworkItem {
                id: n.id.clone().unwrap_or_default(),
                name: n.name.clone().unwrap_or_default(),
                driver: n.driver.clone().unwrap_or_default(),
                subnet: ipam.and_then(|c| c.subnet.clone()).unwrap_or_default(),
                gateway: ipam.and_then(|c| c.gateway.clone()).unwrap_or_default(),
                members,
                internal: n.internal.unwrap_or(false),
                created: n
                    .created
                    .as_ref()
                    .map(|c| c.to_string())
                    .as_deref()
                    .and_then(crate::cli::units::parse_time)
                    .map(|t| t.timestamp())
                    .unwrap_or(0),
                now,
            }
        })
        .collect()
}

impl TableItem for NetworkItem {
    fn key(&self) -> String {
        self.id.clone()
    }

    fn cell(&self, col: usize) -> String {
        match col {
            0 => self.name.clone(),
            1 => short_id(&self.id),
            2 => self.driver.clone(),
            3 => self.subnet.clone(),
            4 => self.gateway.clone(),
            5 => self.members.join(","),
            6 => if self.internal { "yes" } else { "" }.to_string(),
            _ => ago(self.created, self.now),
        }
    }

    fn sort_key(&self, col: usize) -> SortKey {
        match col {
            5 => SortKey::Num(self.members.len() as f64),
            7 => SortKey::Num(-(self.created as f64)),
            _ => SortKey::Text(self.cell(col)),
        }
    }
}
