//! The catalog kept on every destination (`.photovault/catalog.sqlite`).
//!
//! It records every file a run wrote (asset, role, path, size, modification
//! time, BLAKE3 hash, what it was made from) and one row per run, so that
//! - an incremental run decides what to do from the library's database and
//!   the catalog alone, without reading unchanged files;
//! - a backup can be listed, verified and restored on any machine from the
//!   drive alone, with nothing but SQLite.
//!
//! The schema is documented in `docs/on-drive-format.md`; its version is in
//! `PRAGMA user_version` and a newer one is refused rather than misread.

mod mirror;
mod organized;
mod schema;
mod waiting;

pub use organized::OrganizedRecord;
pub use waiting::WaitingAsset;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use rusqlite::{params, Connection, OptionalExtension};

pub use mirror::{MirrorFile, VersionRecord};

/// Why the catalog could not be used.
#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    /// Written by a newer photovault.
    #[error("the catalog {path} was written by a newer photovault (catalog version {found}); upgrade photovault to use this destination")]
    NewerVersion {
        /// The catalog file.
        path: PathBuf,
        /// Its version.
        found: i64,
    },
    /// SQLite failed.
    #[error("the catalog {path} could not be read or written ({source}); check that the drive is connected and writable")]
    Sqlite {
        /// The catalog file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: rusqlite::Error,
    },
}

/// Result of catalog operations.
pub type Result<T> = std::result::Result<T, CatalogError>;

/// How a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunStatus {
    /// Still running (or the process died: the next run sees this).
    Running,
    /// Finished; individual assets may still have failed (see the counts).
    Complete,
    /// Stopped by an error that ends a run (destination gone or full).
    Failed,
    /// Stopped on request (shutdown, drive removal announced).
    Interrupted,
}

impl RunStatus {
    fn as_str(self) -> &'static str {
        match self {
            RunStatus::Running => "running",
            RunStatus::Complete => "complete",
            RunStatus::Failed => "failed",
            RunStatus::Interrupted => "interrupted",
        }
    }
    fn parse(s: &str) -> Self {
        match s {
            "complete" => RunStatus::Complete,
            "failed" => RunStatus::Failed,
            "interrupted" => RunStatus::Interrupted,
            _ => RunStatus::Running,
        }
    }
}

/// The counts a run reports.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct RunCounts {
    /// Assets exported for the first time.
    pub exported: u64,
    /// Assets of which some file was rewritten.
    pub updated: u64,
    /// Assets left as they were.
    pub unchanged: u64,
    /// Assets whose original is not on disk.
    pub missing: u64,
    /// Assets that failed.
    pub errors: u64,
    /// Assets newly marked as gone from the library.
    pub gone: u64,
    /// Bytes written.
    pub bytes: u64,
}

/// One run as recorded.
#[derive(Debug, Clone, PartialEq)]
pub struct RunRecord {
    /// Run number.
    pub id: i64,
    /// Which engine ran ("export", "mirror", ...).
    pub engine: String,
    /// Start time.
    pub started: DateTime<Utc>,
    /// End time, if it ended.
    pub ended: Option<DateTime<Utc>>,
    /// How it ended.
    pub status: RunStatus,
    /// What it did.
    pub counts: RunCounts,
    /// Photos' history position of the library it read.
    pub history: Option<i64>,
    /// Digest of the options that shape the output (template, sidecars).
    pub options_key: String,
    /// What the run read (the library's path).
    pub source: Option<String>,
    /// Size and time of the library's database files when the run read them.
    pub source_stamp: Option<String>,
    /// The run-stopping error, if any.
    pub error: Option<String>,
}

/// The catalog's asset records by uuid. FxHash: a run over a large library
/// looks up every asset's record once, and SipHash was a visible part of
/// a 1,000,000-asset read (the keys are Photos' uuids, not attacker input).
/// Boxed: a hash table keeps its buckets at most 7/8 full in a power of two,
/// so 1,000,000 records take 2,097,152 buckets, and inline records made
/// those 386 MiB of a 1,000,000-asset read.
pub type AssetRecords = HashMap<String, Box<AssetRecord>, rustc_hash::FxBuildHasher>;

/// One exported asset as recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssetRecord {
    /// Photos' uuid.
    pub uuid: String,
    /// Folder of its files, relative to the engine's folder.
    pub folder: String,
    /// The stem all its file names share.
    pub stem: String,
    /// The reader's fingerprint when last exported in full.
    pub fingerprint: Option<String>,
    /// Its original was not on disk at the last run.
    pub original_missing: bool,
    /// The asset's source files (library-relative or absolute paths) that
    /// were not on disk at its last run: a run checks only these to learn
    /// that a cloud-only original has arrived. Empty when nothing waits.
    pub waiting: Vec<String>,
    /// Some file failed at the last run.
    pub failed: bool,
    /// When it was first seen gone from the library (deleted or trashed).
    pub gone_since: Option<DateTime<Utc>>,
}

/// One file as recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileRecord {
    /// The asset it belongs to.
    pub asset_uuid: String,
    /// Its role ("original", "edited", "live", "edited_live", "raw", "aae",
    /// "adjustments", "sidecar").
    pub role: String,
    /// Path relative to the destination root.
    pub path: String,
    /// Size in bytes.
    pub size: u64,
    /// Modification time set on the file, in nanoseconds since the epoch.
    pub mtime_ns: Option<i64>,
    /// BLAKE3 of the content, hex.
    pub hash: String,
    /// Digest of what the file was made from; unchanged key, unchanged file.
    pub source_key: String,
    /// The run that wrote it.
    pub run_id: i64,
}

/// The open catalog of one destination.
pub struct Catalog {
    path: PathBuf,
    conn: Connection,
    /// The schema version as opened: a catalog opened read-only stays at
    /// the version an older photovault wrote, and queries adapt to it.
    version: i64,
}

impl Catalog {
    /// Opens (creating or upgrading as needed) the catalog at `path`.
    pub fn open(path: &Path) -> Result<Self> {
        let err = |source| CatalogError::Sqlite {
            path: path.to_path_buf(),
            source,
        };
        let conn = Connection::open(path).map_err(err)?;
        conn.busy_timeout(std::time::Duration::from_secs(10))
            .map_err(err)?;
        // WAL with NORMAL sync: a commit per asset costs no fsync, and a
        // killed process loses nothing that reached the WAL.
        let _: String = conn
            .query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))
            .map_err(err)?;
        conn.pragma_update(None, "synchronous", "NORMAL")
            .map_err(err)?;
        let version = schema_version(&conn, path)?;
        if version < schema::VERSION {
            schema::migrate(&conn, version).map_err(err)?;
        }
        Ok(Catalog {
            path: path.to_path_buf(),
            conn,
            version: schema::VERSION,
        })
    }

    /// Opens the catalog for reading only, writing nothing to the drive (for
    /// dry runs, listing and verifying a backup on another machine).
    pub fn open_read_only(path: &Path) -> Result<Self> {
        let err = |source| CatalogError::Sqlite {
            path: path.to_path_buf(),
            source,
        };
        let mut wal = path.as_os_str().to_owned();
        wal.push("-wal");
        // Without a WAL the file is the whole state: read it without locks
        // or a -shm; beside a WAL, read through it without writing it.
        let params = if std::fs::metadata(&wal).is_ok_and(|m| m.len() > 0) {
            "mode=ro&readonly_shm=1"
        } else {
            "mode=ro&immutable=1"
        };
        let uri = format!("file:{}?{params}", crate::sqlite_uri::escape(path));
        let conn = Connection::open_with_flags(
            uri,
            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_URI,
        )
        .map_err(err)?;
        let version = schema_version(&conn, path)?;
        Ok(Catalog {
            path: path.to_path_buf(),
            conn,
            version,
        })
    }

    fn err(&self) -> impl Fn(rusqlite::Error) -> CatalogError + '_ {
        |source| CatalogError::Sqlite {
            path: self.path.clone(),
            source,
        }
    }

    /// Starts a run and returns its number.
    pub fn begin_run(
        &self,
        engine: &str,
        started: DateTime<Utc>,
        source: &str,
        options_key: &str,
    ) -> Result<i64> {
        self.conn
            .execute(
                "INSERT INTO runs (engine, started, status, source, options_key) VALUES (?1, ?2, 'running', ?3, ?4)",
                params![engine, started.to_rfc3339(), source, options_key],
            )
            .map_err(self.err())?;
        Ok(self.conn.last_insert_rowid())
    }

    /// Records how a run ended, and what it read: `history` and `stamp`
    /// are Photos' history position and the database files' size and time
    /// when the run started reading.
    pub fn finish_run(
        &self,
        run: i64,
        status: RunStatus,
        counts: &RunCounts,
        history: Option<i64>,
        stamp: Option<&str>,
        error: Option<&str>,
    ) -> Result<()> {
        self.conn
            .execute(
                "UPDATE runs SET ended = ?2, status = ?3, exported = ?4, updated = ?5, unchanged = ?6,
                 missing = ?7, errors = ?8, gone = ?9, bytes = ?10, history = ?11, error = ?12,
                 source_stamp = ?13 WHERE id = ?1",
                params![
                    run,
                    Utc::now().to_rfc3339(),
                    status.as_str(),
                    counts.exported as i64,
                    counts.updated as i64,
                    counts.unchanged as i64,
                    counts.missing as i64,
                    counts.errors as i64,
                    counts.gone as i64,
                    counts.bytes as i64,
                    history,
                    error,
                    stamp,
                ],
            )
            .map_err(self.err())?;
        Ok(())
    }

    /// The latest run of `engine`, if any.
    pub fn last_run(&self, engine: &str) -> Result<Option<RunRecord>> {
        self.conn
            .query_row(
                &format!("{RUN_COLUMNS} WHERE engine = ?1 ORDER BY id DESC LIMIT 1"),
                [engine],
                run_record,
            )
            .optional()
            .map_err(self.err())
    }

    /// Every run of `engine`, oldest first (what a restore can go back to).
    pub fn runs(&self, engine: &str) -> Result<Vec<RunRecord>> {
        let mut stmt = self
            .conn
            .prepare(&format!("{RUN_COLUMNS} WHERE engine = ?1 ORDER BY id"))
            .map_err(self.err())?;
        let rows = stmt.query_map([engine], run_record).map_err(self.err())?;
        rows.collect::<rusqlite::Result<_>>().map_err(self.err())
    }

    /// How many assets are still in the library. Cheap: it lets a run that
    /// changes nothing end without loading every record.
    pub fn assets_present(&self) -> Result<u64> {
        self.conn
            .query_row(
                "SELECT count(*) FROM assets WHERE gone_since IS NULL",
                [],
                |r| r.get::<_, i64>(0),
            )
            .map(|n| n as u64)
            .map_err(self.err())
    }

    /// The catalog file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Every asset ever exported, by uuid.
    pub fn assets(&self) -> Result<AssetRecords> {
        self.asset_records(&self.asset_columns(""), [])
    }

    /// The records of the assets with these uuids (those the catalog has):
    /// what a run that read only a few assets needs.
    pub fn assets_with_uuids(&self, uuids: &[&str]) -> Result<AssetRecords> {
        let list = serde_json::to_string(uuids)
            .map_err(|e| self.err()(rusqlite::Error::ToSqlConversionFailure(Box::new(e))))?;
        self.asset_records(
            &self.asset_columns("WHERE uuid IN (SELECT value FROM json_each(?1))"),
            [list],
        )
    }

    /// The query of asset records, narrowed by `filter`; `waiting` reads as
    /// NULL from a catalog older than version 4 opened read-only.
    fn asset_columns(&self, filter: &str) -> String {
        let waiting = if self.version >= 4 { "waiting" } else { "NULL" };
        format!(
            "SELECT uuid, folder, stem, fingerprint, original_missing, failed, gone_since, {waiting}
             FROM assets {filter}"
        )
    }

    fn asset_records(&self, sql: &str, params: impl rusqlite::Params) -> Result<AssetRecords> {
        let mut stmt = self.conn.prepare(sql).map_err(self.err())?;
        let rows = stmt
            .query_map(params, |r| {
                Ok(AssetRecord {
                    uuid: r.get(0)?,
                    folder: r.get(1)?,
                    stem: r.get(2)?,
                    fingerprint: r.get(3)?,
                    original_missing: r.get(4)?,
                    failed: r.get(5)?,
                    gone_since: r
                        .get::<_, Option<String>>(6)?
                        .and_then(|s| DateTime::parse_from_rfc3339(&s).ok())
                        .map(|t| t.with_timezone(&Utc)),
                    waiting: waiting::split(r.get::<_, Option<String>>(7)?),
                })
            })
            .map_err(self.err())?;
        let mut out = AssetRecords::default();
        for row in rows {
            let rec = row.map_err(self.err())?;
            out.insert(rec.uuid.clone(), Box::new(rec));
        }
        Ok(out)
    }

    /// Records (or updates) an asset.
    pub fn put_asset(&self, rec: &AssetRecord) -> Result<()> {
        self.conn
            .prepare_cached(
                "INSERT INTO assets (uuid, folder, stem, fingerprint, original_missing, failed, gone_since, waiting)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
                 ON CONFLICT (uuid) DO UPDATE SET folder = ?2, stem = ?3, fingerprint = ?4,
                   original_missing = ?5, failed = ?6, gone_since = ?7, waiting = ?8",
            )
            .and_then(|mut s| {
                s.execute(params![
                    rec.uuid,
                    rec.folder,
                    rec.stem,
                    rec.fingerprint,
                    rec.original_missing,
                    rec.failed,
                    rec.gone_since.map(|t| t.to_rfc3339()),
                    waiting::join(&rec.waiting),
                ])
            })
            .map_err(self.err())?;
        Ok(())
    }

    /// Marks assets as gone from the library since `when` (their files stay).
    pub fn mark_gone(&self, uuids: &[String], when: DateTime<Utc>) -> Result<()> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "UPDATE assets SET gone_since = ?2 WHERE uuid = ?1 AND gone_since IS NULL",
            )
            .map_err(self.err())?;
        for uuid in uuids {
            stmt.execute(params![uuid, when.to_rfc3339()])
                .map_err(self.err())?;
        }
        Ok(())
    }

    /// The files recorded for one asset.
    pub fn files_of(&self, uuid: &str) -> Result<Vec<FileRecord>> {
        let mut stmt = self
            .conn
            .prepare_cached(&format!(
                "{FILE_COLUMNS} WHERE asset_uuid = ?1 ORDER BY path"
            ))
            .map_err(self.err())?;
        let rows = stmt.query_map([uuid], file_record).map_err(self.err())?;
        rows.collect::<rusqlite::Result<_>>().map_err(self.err())
    }

    /// The file recorded at `path`, if any.
    pub fn file_at(&self, path: &str) -> Result<Option<FileRecord>> {
        self.conn
            .prepare_cached(&format!("{FILE_COLUMNS} WHERE path = ?1"))
            .and_then(|mut s| s.query_row([path], file_record).optional())
            .map_err(self.err())
    }

    /// Every file recorded, ordered by path.
    pub fn all_files(&self) -> Result<Vec<FileRecord>> {
        let mut stmt = self
            .conn
            .prepare(&format!("{FILE_COLUMNS} ORDER BY path"))
            .map_err(self.err())?;
        let rows = stmt.query_map([], file_record).map_err(self.err())?;
        rows.collect::<rusqlite::Result<_>>().map_err(self.err())
    }

    /// Records a file written at `rec.path`, replacing any earlier record of
    /// that path.
    pub fn put_file(&self, rec: &FileRecord) -> Result<()> {
        self.conn
            .prepare_cached(
                "INSERT INTO files (asset_uuid, role, path, size, mtime_ns, hash, source_key, run_id, written_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
                 ON CONFLICT (path) DO UPDATE SET asset_uuid = ?1, role = ?2, size = ?4, mtime_ns = ?5,
                   hash = ?6, source_key = ?7, run_id = ?8, written_at = ?9",
            )
            .and_then(|mut s| {
                s.execute(params![
                    rec.asset_uuid,
                    rec.role,
                    rec.path,
                    rec.size as i64,
                    rec.mtime_ns,
                    rec.hash,
                    rec.source_key,
                    rec.run_id,
                    Utc::now().to_rfc3339(),
                ])
            })
            .map_err(self.err())?;
        Ok(())
    }

    /// Records that the file at `path` was moved to `versions_path` by run
    /// `run`, and forgets it as a current file.
    pub fn move_to_versions(&self, path: &str, versions_path: &str, run: i64) -> Result<()> {
        self.conn
            .prepare_cached(
                "INSERT INTO versions (path, versions_path, asset_uuid, role, size, hash, run_id, moved_at, written_run)
                 SELECT path, ?2, asset_uuid, role, size, CASE WHEN source_key = 'recopy' THEN NULL ELSE hash END, ?3, ?4, run_id
                 FROM files WHERE path = ?1",
            )
            .and_then(|mut s| s.execute(params![path, versions_path, run, Utc::now().to_rfc3339()]))
            .map_err(self.err())?;
        self.forget_file(path)
    }

    /// Forgets the file recorded at `path` (it is no longer on the drive).
    pub fn forget_file(&self, path: &str) -> Result<()> {
        self.conn
            .prepare_cached("DELETE FROM files WHERE path = ?1")
            .and_then(|mut s| s.execute([path]))
            .map_err(self.err())?;
        Ok(())
    }

    /// Runs `f` inside one transaction: its records land together or not at all.
    pub fn transaction<T>(&self, f: impl FnOnce(&Catalog) -> Result<T>) -> Result<T> {
        self.transaction_of(f)
    }

    /// [`transaction`](Self::transaction) for work that fails with an
    /// engine's error: a batch of records costs one commit instead of one
    /// each (a commit per file was most of a first export's time).
    pub fn transaction_of<T, E: From<CatalogError>>(
        &self,
        f: impl FnOnce(&Catalog) -> std::result::Result<T, E>,
    ) -> std::result::Result<T, E> {
        self.conn
            .execute_batch("BEGIN IMMEDIATE")
            .map_err(self.err())?;
        match f(self) {
            Ok(v) => {
                self.conn.execute_batch("COMMIT").map_err(self.err())?;
                Ok(v)
            }
            Err(e) => {
                let _ = self.conn.execute_batch("ROLLBACK");
                Err(e)
            }
        }
    }

    /// The distinct folders holding exported files (for cleaning up
    /// temporary files after an interrupted run).
    pub fn folders(&self) -> Result<Vec<String>> {
        let mut stmt = self
            .conn
            .prepare("SELECT DISTINCT folder FROM assets ORDER BY folder")
            .map_err(self.err())?;
        let rows = stmt.query_map([], |r| r.get(0)).map_err(self.err())?;
        rows.collect::<rusqlite::Result<_>>().map_err(self.err())
    }
}

/// The catalog's schema version, refusing one newer than this photovault
/// knows: misreading a newer catalog could lose track of files.
fn schema_version(conn: &Connection, path: &Path) -> Result<i64> {
    let version: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .map_err(|source| CatalogError::Sqlite {
            path: path.to_path_buf(),
            source,
        })?;
    if version > schema::VERSION {
        return Err(CatalogError::NewerVersion {
            path: path.to_path_buf(),
            found: version,
        });
    }
    Ok(version)
}

const RUN_COLUMNS: &str =
    "SELECT id, engine, started, ended, status, exported, updated, unchanged, missing, errors,
            gone, bytes, history, options_key, error, source, source_stamp FROM runs";

fn run_record(r: &rusqlite::Row) -> rusqlite::Result<RunRecord> {
    let time = |s: Option<String>| {
        s.and_then(|s| DateTime::parse_from_rfc3339(&s).ok())
            .map(|t| t.with_timezone(&Utc))
    };
    let n = |i: usize| r.get::<_, Option<i64>>(i).map(|v| v.unwrap_or(0) as u64);
    Ok(RunRecord {
        id: r.get(0)?,
        engine: r.get(1)?,
        started: time(r.get(2)?).unwrap_or_default(),
        ended: time(r.get(3)?),
        status: RunStatus::parse(&r.get::<_, String>(4)?),
        counts: RunCounts {
            exported: n(5)?,
            updated: n(6)?,
            unchanged: n(7)?,
            missing: n(8)?,
            errors: n(9)?,
            gone: n(10)?,
            bytes: n(11)?,
        },
        history: r.get(12)?,
        options_key: r.get::<_, Option<String>>(13)?.unwrap_or_default(),
        error: r.get(14)?,
        source: r.get(15)?,
        source_stamp: r.get(16)?,
    })
}

const FILE_COLUMNS: &str =
    "SELECT asset_uuid, role, path, size, mtime_ns, hash, source_key, run_id FROM files";

fn file_record(r: &rusqlite::Row) -> rusqlite::Result<FileRecord> {
    Ok(FileRecord {
        asset_uuid: r.get(0)?,
        role: r.get(1)?,
        path: r.get(2)?,
        size: r.get::<_, i64>(3)? as u64,
        mtime_ns: r.get(4)?,
        hash: r.get(5)?,
        source_key: r.get(6)?,
        run_id: r.get(7)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_runs_assets_files_and_versions() {
        let dir = tempfile::tempdir().unwrap();
        let c = Catalog::open(&dir.path().join("catalog.sqlite")).unwrap();
        assert!(c.last_run("export").unwrap().is_none());
        let run = c.begin_run("export", Utc::now(), "/lib", "k").unwrap();
        let asset = AssetRecord {
            uuid: "U1".into(),
            folder: "2020/2020-01".into(),
            stem: "IMG_1".into(),
            fingerprint: Some("f".into()),
            original_missing: false,
            failed: false,
            gone_since: None,
            waiting: Vec::new(),
        };
        let file = FileRecord {
            asset_uuid: "U1".into(),
            role: "original".into(),
            path: "Export/2020/2020-01/IMG_1.jpeg".into(),
            size: 3,
            mtime_ns: Some(1),
            hash: "h".into(),
            source_key: "s".into(),
            run_id: run,
        };
        c.transaction(|c| {
            c.put_asset(&asset)?;
            c.put_file(&file)
        })
        .unwrap();
        let counts = RunCounts {
            exported: 1,
            bytes: 3,
            ..Default::default()
        };
        c.finish_run(run, RunStatus::Complete, &counts, Some(42), Some("s"), None)
            .unwrap();
        drop(c);

        let c = Catalog::open(&dir.path().join("catalog.sqlite")).unwrap();
        let last = c.last_run("export").unwrap().unwrap();
        assert_eq!(
            (last.status, last.history, last.counts.clone()),
            (RunStatus::Complete, Some(42), counts)
        );
        assert_eq!(*c.assets().unwrap()["U1"], asset);
        assert_eq!(c.files_of("U1").unwrap(), vec![file.clone()]);
        c.move_to_versions(&file.path, "Versions/x/Export/2020/2020-01/IMG_1.jpeg", run)
            .unwrap();
        assert!(c.all_files().unwrap().is_empty());
        c.mark_gone(&["U1".into()], Utc::now()).unwrap();
        assert!(c.assets().unwrap()["U1"].gone_since.is_some());
        assert_eq!(c.folders().unwrap(), vec!["2020/2020-01".to_string()]);
    }

    #[test]
    fn refuses_a_newer_catalog() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("catalog.sqlite");
        let conn = Connection::open(&path).unwrap();
        conn.pragma_update(None, "user_version", schema::VERSION + 1)
            .unwrap();
        drop(conn);
        assert!(matches!(
            Catalog::open(&path),
            Err(CatalogError::NewerVersion { .. })
        ));
    }
}
