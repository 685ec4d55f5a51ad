//! Reading an Apple Photos library (`.photoslibrary`), read-only.
//!
//! [`PhotosLibrary::open`] finds the database and its version and derives the
//! schema; [`PhotosLibrary::read`] returns every asset, album and the history
//! position from one consistent snapshot (one read transaction, WAL
//! included), while Photos may be writing. No byte of the library changes.

mod assets;
mod changes;
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

pub use changes::HistoryChanges;
pub use error::LibraryError;
pub use model::{
    Album, AlbumRef, Asset, AssetFlags, AssetKind, Burst, HistoryPosition, LibrarySnapshot,
    LibraryVersion, Resource, ResourceRole,
};
pub use resources::extension_for_uti;

use assets::OnlyAssets;
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

/// The folders whose subfolders hold a library's originals and renders,
/// listed ahead of a read of every asset.
const PREFETCHED_FOLDERS: [&str; 2] = ["originals", "resources/renders"];

/// The assets an incremental run asked for, from a read of every asset.
pub struct Selection {
    /// The assets kept, ordered by capture time then uuid.
    pub assets: Vec<Asset>,
    /// The uuid of every asset in the library (not in the trash), kept or
    /// not: what tells the run which assets are gone.
    pub in_library: Vec<String>,
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
        Ok(self.read_consistently(None, None)?.0)
    }

    /// Reads the assets with these primary keys (as
    /// [`changes_since`](Self::changes_since) names them), with everything
    /// [`read`](Self::read) gives them, trashed ones included. A key that is
    /// not an asset (any more) is not in the result.
    pub fn read_assets(&self, pks: &[i64]) -> Result<Vec<Asset>, LibraryError> {
        let only = OnlyAssets::new(pks);
        Ok(self.read_consistently(Some(&only), None)?.0.assets)
    }

    /// Reads every asset like [`read`](Self::read) but keeps only those
    /// `keep` accepts, dropping each other one as soon as it is read: an
    /// incremental run that compares 100,000 fingerprints holds only the
    /// assets that changed. `keep` may be called more than once for an
    /// asset (a read that Photos disturbed is read again).
    pub fn read_selected(&self, keep: &dyn Fn(&Asset) -> bool) -> Result<Selection, LibraryError> {
        let (snapshot, in_library) = self.read_consistently(None, Some(keep))?;
        Ok(Selection {
            assets: snapshot.assets,
            in_library,
        })
    }

    fn read_consistently(
        &self,
        only: Option<&OnlyAssets>,
        keep: Option<assets::Keep>,
    ) -> Result<(LibrarySnapshot, Vec<String>), LibraryError> {
        let read = self.read_from(&self.db, only, keep)?;
        if self.db.unchanged_since_open() {
            return Ok(read);
        }
        // Photos rewrote the database file while we read it without locks:
        // read again through a fresh connection, which sees its WAL.
        for _ in 0..3 {
            tracing::debug!("the database changed while being read; reading it again");
            let db = Database::open(&self.paths)?;
            let read = self.read_from(&db, only, keep)?;
            if db.unchanged_since_open() {
                return Ok(read);
            }
        }
        Err(LibraryError::Busy {
            path: self.paths.root.clone(),
        })
    }

    fn read_from(
        &self,
        db: &Database,
        only: Option<&OnlyAssets>,
        keep: Option<assets::Keep>,
    ) -> Result<(LibrarySnapshot, Vec<String>), LibraryError> {
        let root = &self.paths.root;
        let err = |e| LibraryError::sqlite(root, e);
        let conn = &db.conn;
        // One read transaction: every query below sees the same snapshot,
        // even if Photos commits in between.
        conn.execute_batch("BEGIN DEFERRED").map_err(err)?;
        let result = std::thread::scope(|scope| {
            let started = std::time::Instant::now();
            // A read of every asset checks every file: the folders are
            // listed on another thread while the database is read.
            let listing = only
                .is_none()
                .then(|| scope.spawn(|| assets::Presence::prefetched(root, &PREFETCHED_FOLDERS)));
            let history = history(&self.schema, conn)?;
            let (mut relations, albums) = relations::read(conn, &self.schema, only)?;
            tracing::debug!(elapsed = ?started.elapsed(), "read keywords, albums, persons and resources");
            let presence = match listing.map(|l| l.join()) {
                Some(Ok(presence)) => presence,
                _ => assets::Presence::new(root),
            };
            let read = assets::read_assets(
                conn,
                &self.schema,
                self.version.model_version,
                &mut relations,
                presence,
                only,
                keep,
            )?;
            tracing::debug!(elapsed = ?started.elapsed(), assets = read.assets.len(), "read assets");
            let snapshot = LibrarySnapshot {
                version: self.version.clone(),
                assets: read.assets,
                albums: if only.is_some() { Vec::new() } else { albums },
                history,
            };
            Ok((snapshot, read.in_library))
        });
        // Ending a read transaction cannot lose anything; a failure here is
        // not worth masking the real result.
        let _ = conn.execute_batch("COMMIT");
        result.map_err(err)
    }

    /// Which of `paths` (relative to the library, or absolute) are files on
    /// disk now, listing each folder once: how a run learns, without
    /// reading any asset, that originals it waited for have arrived.
    pub fn files_on_disk<'p>(&self, paths: impl IntoIterator<Item = &'p str>) -> Vec<bool> {
        let mut presence = assets::Presence::new(&self.paths.root);
        paths
            .into_iter()
            .map(|p| presence.is_file(Path::new(p)))
            .collect()
    }

    /// The primary keys of the assets with these uuids that the database
    /// still has, to read just those with [`read_assets`](Self::read_assets).
    pub fn asset_keys(&self, uuids: &[&str]) -> Result<Vec<i64>, LibraryError> {
        let err = |e| LibraryError::sqlite(&self.paths.root, e);
        let list = serde_json::to_string(uuids)
            .map_err(|e| err(rusqlite::Error::ToSqlConversionFailure(Box::new(e))))?;
        let sql = format!(
            "SELECT Z_PK FROM {} WHERE ZUUID IN (SELECT value FROM json_each(?1)) ORDER BY Z_PK",
            self.schema.asset.table
        );
        let mut stmt = self.db.conn.prepare(&sql).map_err(err)?;
        let rows = stmt.query_map([list], |r| r.get(0)).map_err(err)?;
        rows.collect::<rusqlite::Result<_>>().map_err(err)
    }

    /// The position in Photos' persistent history, where the library has it;
    /// cheap, so a watcher can poll it to see whether anything changed.
    pub fn history_position(&self) -> Result<Option<HistoryPosition>, LibraryError> {
        history(&self.schema, &self.db.conn).map_err(|e| LibraryError::sqlite(&self.paths.root, e))
    }

    /// What Photos' history records since transaction `since`, narrowed to
    /// the assets whose backup could differ (at most `limit` of them):
    /// nothing, when every change is to an entity the reader never reads
    /// (moments, highlights, face prints, search data: what Photos'
    /// background analysis rewrites all day); those assets, when the changes
    /// can be traced to them; anything, when not (the history was pruned
    /// past `since`, an asset was deleted, too many assets changed).
    ///
    /// This lets an incremental run read only what changed. It trusts that
    /// writers record their changes in the history, as Photos does; a writer
    /// that bypasses it is caught by the next run whose history position
    /// has not moved (see `database_stamp`).
    pub fn changes_since(&self, since: i64, limit: usize) -> Result<HistoryChanges, LibraryError> {
        let conn = &self.db.conn;
        let err = |e| LibraryError::sqlite(&self.paths.root, e);
        // One read transaction, so the tables agree with each other.
        conn.execute_batch("BEGIN DEFERRED").map_err(err)?;
        let result = changes::since(conn, &self.schema, since, limit);
        let _ = conn.execute_batch("COMMIT");
        if !self.db.unchanged_since_open() {
            // Read without locks while Photos rewrote the file: may be torn.
            return Ok(HistoryChanges::Anything(
                "the library changed while its history was read".into(),
            ));
        }
        result.map_err(err)
    }

    /// The database's identity (Core Data's store uuid, `Z_METADATA.Z_UUID`),
    /// then the size and modification time of the database and its WAL,
    /// separated by `;`. Any write to the database changes the times; another
    /// library put at the same path changes the identity. With the history
    /// position, it lets an incremental run conclude "nothing changed"
    /// without reading assets, even if some writer bypassed Photos' history.
    pub fn database_stamp(&self) -> String {
        let identity: Option<String> = self
            .db
            .conn
            .query_row("SELECT Z_UUID FROM Z_METADATA LIMIT 1", [], |r| r.get(0))
            .ok()
            .flatten();
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
        format!(
            "{};{};{}",
            identity.as_deref().unwrap_or("-"),
            stamp(&self.paths.database),
            stamp(Path::new(&wal))
        )
    }

    /// Whether two [`database_stamp`](Self::database_stamp)s are of the same
    /// database: Photos' history positions can only be compared within one.
    pub fn same_database(stamp: &str, other: &str) -> bool {
        let identity = |s: &str| {
            s.split(';')
                .next()
                .filter(|id| *id != "-")
                .map(str::to_owned)
        };
        identity(stamp).is_some() && identity(stamp) == identity(other)
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
