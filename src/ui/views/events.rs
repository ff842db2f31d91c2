//! The live events table (newest first), kept to a bounded number of rows.

use bollard::models::EventMessage;
use chrono::DateTime;

use super::short_id;
use crate::ui::table::{Column, SortKey, TableItem};

/// Events kept in the table; older ones fall off.
pub const MAX_EVENTS: usize = 1000;

pub const COLUMNS: &[Column] = &[
    Column::new("TIME (UTC)", 19, 8),
    Column::new("TYPE", 9, 7),
    Column::new("ACTION", 10, 9),
    Column::new("NAME", 20, 6),
    Column::new("ID", 12, 4),
    Column::flex("ATTRIBUTES", 30, 2),
];

#[derive(Debug, Clone, PartialEq)]
pub struct EventItem {
    pub seq: u64,
    pub time_nano: i64,
    pub kind: String,
    pub action: String,
    pub name: String,
    pub id: String,
    pub attributes: String,
}

impl EventItem {
    pub fn new(seq: u64, e: &EventMessage) -> EventItem {
        let attrs = e
            .actor
            .as_ref()
            .and_then(|a| a.attributes.clone())
            .unwrap_or_default();
        let mut pairs: Vec<(String, String)> = attrs.into_iter().collect();
        pairs.sort();
        let name = pairs
            .iter()
            .find(|(k, _)| k == "name")
            .map(|(_, v)| v.clone())
            .unwrap_or_default();
        EventItem {
            seq,
            time_nano: e
                .time_nano
                .or(e.time.map(|t| t.saturating_mul(1_000_000_000)))
                .unwrap_or(0),
            kind: e.typ.map(|t| t.to_string()).unwrap_or_default(),
            action: e.action.clone().unwrap_or_default(),
            name,
            id: e
                .actor
                .as_ref()
                .and_then(|a| a.id.clone())
                .unwrap_or_default(),
            attributes: pairs
                .iter()
                .filter(|(k, _)| k != "name")
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join(", "),
        }
    }
}

impl TableItem for EventItem {
    fn key(&self) -> String {
        self.seq.to_string()
    }

    fn cell(&self, col: usize) -> String {
        match col {
            0 => DateTime::from_timestamp_nanos(self.time_nano)
                .format("%Y-%m-%d %H:%M:%S")
                .to_string(),
            1 => self.kind.clone(),
            2 => self.action.clone(),
            3 => self.name.clone(),
            4 => short_id(&self.id),
            _ => self.attributes.clone(),
        }
    }

    fn sort_key(&self, col: usize) -> SortKey {
        match col {
            0 => SortKey::Num(self.time_nano as f64),
            _ => SortKey::Text(self.cell(col)),
        }
    }
}
