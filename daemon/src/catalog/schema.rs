//! The catalog's tables, and how an older catalog is brought up to date.
//!
//! Version 1 (see `docs/on-drive-format.md` for the meaning of each column):
//! `runs`, `assets`, `files`, `versions`. Version 2 adds the mirror's
//! `mirror_files`, and to `versions` the run that wrote a moved file and
//! when retention removed it (so a restore of an old run knows what it
//! can no longer have). Version 3 adds the organize engine's `organized`.
//! Version 4 adds to `assets` the source files an asset waits for
//! (`waiting`), so that missing originals do not cost a full read per run.

use rusqlite::Connection;

/// The catalog version this photovault writes (`PRAGMA user_version`).
pub(crate) const VERSION: i64 = 4;

const V1: &str = "
CREATE TABLE runs (
    id          INTEGER PRIMARY KEY,
    engine      TEXT NOT NULL,
    started     TEXT NOT NULL,
    ended       TEXT,
    status      TEXT NOT NULL,
    source      TEXT,
    options_key TEXT,
    history     INTEGER,
    source_stamp TEXT,
    exported    INTEGER,
    updated     INTEGER,
    unchanged   INTEGER,
    missing     INTEGER,
    errors      INTEGER,
    gone        INTEGER,
    bytes       INTEGER,
    error       TEXT
);
CREATE TABLE assets (
    uuid             TEXT PRIMARY KEY,
    folder           TEXT NOT NULL,
    stem             TEXT NOT NULL,
    fingerprint      TEXT,
    original_missing INTEGER NOT NULL DEFAULT 0,
    failed           INTEGER NOT NULL DEFAULT 0,
    gone_since       TEXT
);
CREATE INDEX assets_folder ON assets (folder);
CREATE TABLE files (
    id         INTEGER PRIMARY KEY,
    asset_uuid TEXT NOT NULL,
    role       TEXT NOT NULL,
    path       TEXT NOT NULL UNIQUE,
    size       INTEGER NOT NULL,
    mtime_ns   INTEGER,
    hash       TEXT NOT NULL,
    source_key TEXT NOT NULL,
    run_id     INTEGER NOT NULL,
    written_at TEXT NOT NULL
);
CREATE INDEX files_asset ON files (asset_uuid);
CREATE TABLE versions (
    id            INTEGER PRIMARY KEY,
    path          TEXT NOT NULL,
    versions_path TEXT NOT NULL,
    asset_uuid    TEXT,
    role          TEXT,
    size          INTEGER,
    hash          TEXT,
    run_id        INTEGER NOT NULL,
    moved_at      TEXT NOT NULL
);
";

const V2: &str = "
CREATE TABLE mirror_files (
    path       TEXT PRIMARY KEY,
    size       INTEGER NOT NULL,
    mtime_ns   INTEGER,
    hash       TEXT NOT NULL,
    source_key TEXT NOT NULL,
    kind       TEXT NOT NULL,
    run_id     INTEGER NOT NULL,
    written_at TEXT NOT NULL
);
ALTER TABLE versions ADD COLUMN written_run INTEGER;
ALTER TABLE versions ADD COLUMN pruned_at TEXT;
CREATE INDEX versions_run ON versions (run_id);
";

/// Version 3: what the organize engine has organized, one row per source
/// file (see `catalog/organized.rs`), so a second run does nothing and a new
/// file is handled once. Independent of version 2 (the mirror engine's).
const V3: &str = "
CREATE TABLE organized (
    source_key      TEXT PRIMARY KEY,
    source_path     TEXT NOT NULL,
    source_size     INTEGER NOT NULL,
    source_mtime_ns INTEGER,
    path            TEXT,
    category        TEXT NOT NULL,
    action          TEXT NOT NULL,
    size            INTEGER,
    hash            TEXT,
    run_id          INTEGER NOT NULL,
    organized_at    TEXT NOT NULL
);
CREATE INDEX organized_path ON organized (path);
";

/// Version 4: the source files each asset waited for at its last run,
/// newline-separated (NULL: none). A catalog from version 3 has NULL for
/// every asset; those with `original_missing` set are read once more and
/// get their list then.
const V4: &str = "
ALTER TABLE assets ADD COLUMN waiting TEXT;
CREATE INDEX assets_waiting ON assets (uuid) WHERE waiting IS NOT NULL OR original_missing != 0 OR failed != 0;
";

/// Brings a catalog at `from` (0 = new) to [`VERSION`], in one transaction.
pub(crate) fn migrate(conn: &Connection, from: i64) -> rusqlite::Result<()> {
    conn.execute_batch("BEGIN IMMEDIATE")?;
    let result = (|| {
        if from < 1 {
            conn.execute_batch(V1)?;
        }
        if from < 2 {
            conn.execute_batch(V2)?;
        }
        if from < 3 {
            conn.execute_batch(V3)?;
        }
        if from < 4 {
            conn.execute_batch(V4)?;
        }
        conn.pragma_update(None, "user_version", VERSION)
    })();
    match result {
        Ok(()) => conn.execute_batch("COMMIT"),
        Err(e) => {
            let _ = conn.execute_batch("ROLLBACK");
            Err(e)
        }
    }
}
