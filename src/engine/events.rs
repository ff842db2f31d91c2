//! The engine's event log (`events`): one row per lifecycle step, written by whichever
//! process did it (CLI, monitor, later the API server), so every process sees them all.
//! Readers follow by polling the row id, which only grows.

use std::collections::BTreeMap;

use rusqlite::params;
use serde::Serialize;

use crate::engine::error::Result;
use crate::engine::store::Store;

/// Docker's event message shape (`/events`).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Event {
    #[serde(skip)]
    pub seq: i64,
    #[serde(rename = "Type")]
    pub kind: String,
    #[serde(rename = "Action")]
    pub action: String,
    #[serde(rename = "Actor")]
    pub actor: Actor,
    pub scope: String,
    pub time: i64,
    #[serde(rename = "timeNano")]
    pub time_nano: i64,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Actor {
    #[serde(rename = "ID")]
    pub id: String,
    #[serde(rename = "Attributes")]
    pub attributes: BTreeMap<String, String>,
}

/// Records an event. Failing to record one never fails the operation it describes.
pub fn emit(store: &Store, kind: &str, action: &str, id: &str, attrs: &[(&str, &str)]) {
    let now = chrono::Utc::now().timestamp_nanos_opt().unwrap_or(0);
    let attrs: BTreeMap<&str, &str> = attrs.iter().copied().collect();
    let json = serde_json::to_string(&attrs).unwrap_or_else(|_| "{}".into());
    let db = store.db();
    let _ = db.execute(
        "INSERT INTO events (time_nano, type, action, actor, attributes) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![now, kind, action, id, json],
    );
}

/// Events after row `after_seq`, within [since, until] (unix nanos), oldest first.
pub fn read(
    store: &Store,
    after_seq: i64,
    since: Option<i64>,
    until: Option<i64>,
) -> Result<Vec<Event>> {
    let db = store.db();
    let mut st = db.prepare_cached(
        "SELECT seq, time_nano, type, action, actor, attributes FROM events
         WHERE seq > ?1 AND time_nano >= ?2 AND time_nano <= ?3 ORDER BY seq",
    )?;
    let rows = st.query_map(
        params![
            after_seq,
            since.unwrap_or(i64::MIN),
            until.unwrap_or(i64::MAX)
        ],
        |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, i64>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, String>(4)?,
                r.get::<_, String>(5)?,
            ))
        },
    )?;
    let mut out = Vec::new();
    for r in rows {
        let (seq, t, kind, action, actor, attrs) = r?;
        out.push(Event {
            seq,
            kind,
            action,
            actor: Actor {
                id: actor,
                attributes: serde_json::from_str(&attrs).unwrap_or_default(),
            },
            scope: "local".into(),
            time: t.div_euclid(1_000_000_000),
            time_nano: t,
        });
    }
    Ok(out)
}

/// The newest row id, to start following from "now".
pub fn last_seq(store: &Store) -> Result<i64> {
    let db = store.db();
    Ok(db.query_row("SELECT COALESCE(MAX(seq), 0) FROM events", [], |r| r.get(0))?)
}
