//! SQLite metadata. The CLI, the console, monitors and the API server all open the same
//! database at once, so it runs in WAL mode with a busy timeout, and every multi-row
//! change happens in one transaction (a crash mid-write leaves the old state whole).

use std::path::Path;
use std::time::Duration;

use rusqlite::Connection;

use crate::engine::error::Result;

/// Bump when adding a migration to `MIGRATIONS`.
const MIGRATIONS: &[&str] = &[
    // 1: images, layers, tags and the container records images are checked against.
    r#"
    CREATE TABLE layers (
        chain_id    TEXT PRIMARY KEY,
        diff_id     TEXT NOT NULL,
        parent      TEXT,
        size        INTEGER NOT NULL,
        tar_size    INTEGER NOT NULL,
        blob_digest TEXT,
        blob_size   INTEGER,
        media_type  TEXT
    );
    CREATE TABLE images (
        id            TEXT PRIMARY KEY,
        config        BLOB NOT NULL,
        created       TEXT,
        size          INTEGER NOT NULL,
        parent        TEXT,
        added_at      TEXT NOT NULL,
        last_tag_time TEXT
    );
    CREATE TABLE image_layers (
        image_id TEXT NOT NULL REFERENCES images(id) ON DELETE CASCADE,
        idx      INTEGER NOT NULL,
        chain_id TEXT NOT NULL REFERENCES layers(chain_id),
        PRIMARY KEY (image_id, idx)
    );
    CREATE INDEX image_layers_chain ON image_layers(chain_id);
    CREATE TABLE tags (
        ref      TEXT PRIMARY KEY,
        image_id TEXT NOT NULL REFERENCES images(id) ON DELETE CASCADE
    );
    CREATE INDEX tags_image ON tags(image_id);
    CREATE TABLE digests (
        ref      TEXT PRIMARY KEY,
        image_id TEXT NOT NULL REFERENCES images(id) ON DELETE CASCADE
    );
    CREATE TABLE containers (
        id       TEXT PRIMARY KEY,
        name     TEXT NOT NULL UNIQUE,
        image_id TEXT NOT NULL,
        created  TEXT NOT NULL,
        config   TEXT NOT NULL,
        state    TEXT NOT NULL
    );
    CREATE INDEX containers_image ON containers(image_id);
    "#,
    // 2: named and anonymous volumes.
    r#"
    CREATE TABLE volumes (
        name      TEXT PRIMARY KEY,
        driver    TEXT NOT NULL,
        created   TEXT NOT NULL,
        labels    TEXT NOT NULL,
        options   TEXT NOT NULL,
        anonymous INTEGER NOT NULL
    );
    "#,
    // 3: the event log.
    r#"
    CREATE TABLE events (
        seq        INTEGER PRIMARY KEY AUTOINCREMENT,
        time_nano  INTEGER NOT NULL,
        type       TEXT NOT NULL,
        action     TEXT NOT NULL,
        actor      TEXT NOT NULL,
        attributes TEXT NOT NULL
    );
    CREATE INDEX events_time ON events(time_nano);
    "#,
    // 4: networks and the containers connected to them (addresses while running).
    r#"
    CREATE TABLE networks (
        id      TEXT PRIMARY KEY,
        name    TEXT NOT NULL UNIQUE,
        created TEXT NOT NULL,
        config  TEXT NOT NULL
    );
    CREATE TABLE endpoints (
        network_id   TEXT NOT NULL REFERENCES networks(id),
        container_id TEXT NOT NULL,
        endpoint_id  TEXT NOT NULL,
        config       TEXT NOT NULL,
        ip           TEXT,
        PRIMARY KEY (network_id, container_id),
        UNIQUE (network_id, ip)
    );
    CREATE INDEX endpoints_container ON endpoints(container_id);
    "#,
];

pub fn open(path: &Path) -> Result<Connection> {
    let mut conn = Connection::open(path)?;
    conn.busy_timeout(Duration::from_secs(30))?;
    // journal_mode returns a row, so it cannot go through execute_batch.
    let _mode: String = conn.query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0))?;
    conn.execute_batch(
        "PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON; PRAGMA journal_size_limit=4194304;",
    )?;
    keep_wal_files(&conn);
    migrate(&mut conn)?;
    Ok(conn)
}

/// Every berth command is a short process, and the last one to close the store used to
/// delete the WAL and its index, for the next one to create them again: two inodes
/// allocated and freed per command, which gets slow on an ext4 that has seen much churn.
/// Persistent WAL keeps both files; with a journal size limit set, the last close still
/// checkpoints and then truncates the WAL to zero bytes, so the next open has nothing to
/// replay.
fn keep_wal_files(conn: &Connection) {
    let mut on: std::os::raw::c_int = 1;
    // SAFETY: the handle is this open connection's; PERSIST_WAL reads and writes the
    // one int we pass, which outlives the call. Failure only means the old behaviour.
    unsafe {
        rusqlite::ffi::sqlite3_file_control(
            conn.handle(),
            c"main".as_ptr(),
            rusqlite::ffi::SQLITE_FCNTL_PERSIST_WAL,
            (&mut on as *mut std::os::raw::c_int).cast(),
        );
    }
}

fn migrate(conn: &mut Connection) -> Result<()> {
    let version: usize = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if version >= MIGRATIONS.len() {
        return Ok(());
    }
    // IMMEDIATE takes the write lock up front so two processes opening a fresh store
    // don't both try to apply the same migration.
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let version: usize = tx.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(version) {
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", i + 1)?;
    }
    tx.commit()?;
    Ok(())
}
