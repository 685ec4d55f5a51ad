//! Reading an Apple Photos library (`.photoslibrary`), read-only.
//!
//! [`PhotosLibrary::open`] finds the database and its version and derives the
//! schema; [`PhotosLibrary::read`] returns every asset, album and the history
//! position from one consistent snapshot (one read transaction, WAL
//! included), while Photos may be writing. No byte of the library changes.

mod assets;
mod error;
mod fingerprint;
mod model;
mod names;
mod open;
mod presence;
mod relations;
mod resources;
mod schema;
mod uti;

use std::path::{Path, PathBuf};

pub use error::LibraryError;
pub use model::{
    Album, AlbumRef, Asset, AssetFlags, AssetKind, Burst, HistoryPosition, LibrarySnapshot,
    LibraryVersion, Resource, ResourceRole,
};
pub use resources::extension_for_uti;

pub(crate) use open::Database;
use open::LibraryPaths;
use schema::{Schema, SchemaError};

/// An open Photos library.
pub struct PhotosLibrary {
    paths: LibraryPaths,
    db: Database,
    version: LibraryVersion,
    schema: Schema,
}

/// Who holds the library open, from `database/Photos.sqlite.lock`.
#[derive(Debug, Clone, serde::Serialize, PartialEq, Eq)]
pub struct LockHolder {
    /// The computer's host name.
    pub hostname: Option<String>,
    /// The process name (`photolibraryd`, `Photos`).
    pub process: Option<String>,
    /// Its process id.
    pub pid: Option<i64>,
}

impl PhotosLibrary {
    /// Opens the library at `path` for reading.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, LibraryError> {
        let paths = LibraryPaths::locate(path.as_ref())?;
        let db = Database::open(&paths)?;
        let version = db.version(&paths)?;
        let schema = Schema::discover(&db.conn).map_err(|e| match e {
            SchemaError::Missing(detail) => LibraryError::Corrupt {
                path: paths.root.clone(),
                detail,
            },
            SchemaError::Sqlite(e) => LibraryError::sqlite(&paths.root, e),
        })?;
        Ok(PhotosLibrary {
            paths,
            db,
            version,
            schema,
        })
    }

    /// The library's folder.
    pub fn root(&self) -> &Path {
        &self.paths.root
    }

    /// Which Photos wrote the library.
    pub fn version(&self) -> &LibraryVersion {
        &self.version
    }

    /// The process holding the library, if Photos left a lock file.
    pub fn lock_holder(&self) -> Option<LockHolder> {
        let value =
            plist::Value::from_file(self.paths.root.join("database/Photos.sqlite.lock")).ok()?;
        let d = value.as_dictionary()?;
        let text = |k: &str| d.get(k).and_then(|v| v.as_string()).map(str::to_string);
        Some(LockHolder {
            hostname: text("hostname"),
            process: text("processname"),
            pid: d.get("pid").and_then(|v| v.as_signed_integer()),
        })
    }

    /// Reads every asset and album in one consistent snapshot.
    pub fn read(&self) -> Result<LibrarySnapshot, LibraryError> {
        let snapshot = self.read_from(&self.db)?;
        if self.db.unchanged_since_open() {
            return Ok(snapshot);
        }
        // Photos rewrote the database file while we read it without locks:
        // read again through a fresh connection, which sees its WAL.
        for _ in 0..3 {
            tracing::debug!("the database changed while being read; reading it again");
            let db = Database::open(&self.paths)?;
            let snapshot = self.read_from(&db)?;
            if db.unchanged_since_open() {
                return Ok(snapshot);
            }
        }
        Err(LibraryError::Busy {
            path: self.paths.root.clone(),
        })
    }

    fn read_from(&self, db: &Database) -> Result<LibrarySnapshot, LibraryError> {
        let root = &self.paths.root;
        let err = |e| LibraryError::sqlite(root, e);
        let conn = &db.conn;
        // One read transaction: every query below sees the same snapshot,
        // even if Photos commits in between.
        conn.execute_batch("BEGIN DEFERRED").map_err(err)?;
        let result = (|| {
            let started = std::time::Instant::now();
            let history = history(&self.schema, conn)?;
            let (mut relations, albums) = relations::read(conn, &self.schema)?;
            tracing::debug!(elapsed = ?started.elapsed(), "read keywords, albums, persons and resources");
            let assets = assets::read_assets(
                conn,
                &self.schema,
                self.version.model_version,
                &mut relations,
                root,
            )?;
            tracing::debug!(elapsed = ?started.elapsed(), assets = assets.len(), "read assets");
            Ok(LibrarySnapshot {
                version: self.version.clone(),
                assets,
                albums,
                history,
            })
        })();
        // Ending a read transaction cannot lose anything; a failure here is
        // not worth masking the real result.
        let _ = conn.execute_batch("COMMIT");
        result.map_err(err)
    }

    /// The position in Photos' persistent history, where the library has it;
    /// cheap, so a watcher can poll it to see whether anything changed.
    pub fn history_position(&self) -> Result<Option<HistoryPosition>, LibraryError> {
        history(&self.schema, &self.db.conn).map_err(|e| LibraryError::sqlite(&self.paths.root, e))
    }

    /// Whether Photos' history since transaction `since` records a change
    /// that could alter what [`read`](Self::read) returns: `false` only when
    /// the history after `since` is complete (nothing newer was pruned) and
    /// every change in it is to an entity the reader never reads (moments,
    /// highlights, face prints, search data: what Photos' background
    /// analysis rewrites all day). Anything unclear answers `true`.
    ///
    /// This lets an incremental run skip reading every asset when the
    /// library moved on without touching anything a backup reflects. It
    /// trusts that writers record their changes in the history, as Photos
    /// does; a writer that bypasses it is caught by the next run whose
    /// history position has not moved (see `database_stamp`).
    pub fn may_have_changed_since(&self, since: i64) -> Result<bool, LibraryError> {
        if !self.schema.has_history {
            return Ok(true);
        }
        let conn = &self.db.conn;
        let err = |e| LibraryError::sqlite(&self.paths.root, e);
        let (oldest, newest): (Option<i64>, Option<i64>) = conn
            .query_row("SELECT min(Z_PK), max(Z_PK) FROM ATRANSACTION", [], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .map_err(err)?;
        // Pruned past our position, or reset: the gap may hide anything.
        let (Some(oldest), Some(newest)) = (oldest, newest) else {
            return Ok(true);
        };
        if oldest > since.saturating_add(1) || newest < since {
            return Ok(true);
        }
        let mut stmt = conn
            .prepare("SELECT DISTINCT ZENTITY FROM ACHANGE WHERE ZTRANSACTIONID > ?1")
            .map_err(err)?;
        let mut rows = stmt.query([since]).map_err(err)?;
        while let Some(row) = rows.next().map_err(err)? {
            match row.get::<_, Option<i64>>(0).map_err(err)? {
                Some(entity) if !self.schema.read_entities.contains(&entity) => {}
                _ => return Ok(true),
            }
        }
        Ok(false)
    }

    /// Size and modification time of the database and its WAL: any write
    /// to the database changes it. With the history position, it lets an
    /// incremental run conclude "nothing changed" without reading assets,
    /// even if some writer bypassed Photos' history.
    pub fn database_stamp(&self) -> String {
        let stamp = |p: &Path| match std::fs::metadata(p) {
            Ok(m) => {
                let ns = m
                    .modified()
                    .ok()
                    .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                    .map_or(0, |d| d.as_nanos());
                format!("{}@{ns}", m.len())
            }
            Err(_) => "-".to_string(),
        };
        let mut wal = self.paths.database.as_os_str().to_owned();
        wal.push("-wal");
        format!("{};{}", stamp(&self.paths.database), stamp(Path::new(&wal)))
    }

    /// The path of the library's main database file.
    pub fn database_path(&self) -> PathBuf {
        self.paths.database.clone()
    }
}

/// Where Photos' persistent history stands: the highest transaction and
/// change numbers, which only grow while the library changes.
fn history(
    schema: &Schema,
    conn: &rusqlite::Connection,
) -> Result<Option<HistoryPosition>, rusqlite::Error> {
    if !schema.has_history {
        return Ok(None);
    }
    let max = |table: &str| {
        conn.query_row(
            &format!("SELECT coalesce(max(Z_PK), 0) FROM {table}"),
            [],
            |r| r.get::<_, i64>(0),
        )
    };
    Ok(Some(HistoryPosition {
        transaction: max("ATRANSACTION")?,
        change: max("ACHANGE")?,
    }))
}
