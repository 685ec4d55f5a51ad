//! Opening a library's database without changing a byte of the library.
//!
//! The database is opened in place, read-only, with SQLite's `readonly_shm`:
//! SQLite then neither checkpoints the WAL nor writes the `-shm` wal-index, and
//! still sees what is only in the WAL (building its index in memory when no
//! other process holds the library).
//!
//! When Photos is not running there is no WAL at all: the main file is the
//! whole state. It is then opened `immutable` (no `-shm` is created), and
//! because that gives up SQLite's locking, [`Database::unchanged_since_open`]
//! lets the reader check afterwards that no checkpoint rewrote the file under
//! it, and read again if one did.
//!
//! Copying a multi-gigabyte database on every run is not an option, so only
//! when those opens fail (read-only media with a WAL, a WAL without its
//! `-shm`) are the database and its WAL copied to a temporary folder.

use std::fs;
use std::path::{Path, PathBuf};

use rusqlite::{Connection, OpenFlags};

use super::error::LibraryError;
use super::model::LibraryVersion;

/// An open, read-only connection to a library's database, and the temporary
/// copy it reads from when the live file could not be opened in place.
pub(crate) struct Database {
    pub(crate) conn: Connection,
    /// Kept alive so that the copy outlives the connection; `None` in place.
    _copy: Option<tempfile::TempDir>,
    /// For an `immutable` open: the main file's identity when opened.
    immutable_stamp: Option<(PathBuf, FileStamp)>,
}

/// Size and modification time of a file: what a checkpoint would change.
#[derive(Debug, Clone, PartialEq, Eq)]
struct FileStamp {
    len: u64,
    modified: Option<std::time::SystemTime>,
}

impl FileStamp {
    fn of(path: &Path) -> Option<Self> {
        let m = fs::metadata(path).ok()?;
        Some(FileStamp {
            len: m.len(),
            modified: m.modified().ok(),
        })
    }
}

/// The files of a library's database folder that the reader looks at.
pub(crate) struct LibraryPaths {
    pub(crate) root: PathBuf,
    pub(crate) database: PathBuf,
}

impl LibraryPaths {
    /// Checks that `root` looks like a Photos 5+ library and names its files.
    pub(crate) fn locate(root: &Path) -> Result<Self, LibraryError> {
        let meta = fs::metadata(root).map_err(|e| LibraryError::io(root, e))?;
        if !meta.is_dir() {
            return Err(LibraryError::NotALibrary {
                path: root.to_path_buf(),
            });
        }
        let db_dir = root.join("database");
        let database = db_dir.join("Photos.sqlite");
        match fs::metadata(&database) {
            Ok(m) if m.is_file() => {}
            Ok(_) => {
                return Err(LibraryError::NotALibrary {
                    path: root.to_path_buf(),
                })
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                if db_dir.join("photos.db").is_file() || db_dir.join("Library.apdb").is_file() {
                    return Err(LibraryError::Unsupported {
                        path: root.to_path_buf(),
                        detail: "only database/photos.db, the format of Photos 4 and iPhoto".into(),
                    });
                }
                return Err(LibraryError::NotALibrary {
                    path: root.to_path_buf(),
                });
            }
            Err(e) => return Err(LibraryError::io(&database, e)),
        }
        // Reading one byte tells a refused permission (macOS privacy
        // controls) apart from a damaged database before SQLite muddles it.
        fs::File::open(&database).map_err(|e| LibraryError::io(&database, e))?;
        Ok(LibraryPaths {
            root: root.to_path_buf(),
            database,
        })
    }

    /// `LibrarySchemaVersion` from `database/DataModelVersion.plist`, if the
    /// file is there and readable; absence is not an error.
    pub(crate) fn library_schema_version(&self) -> Option<u32> {
        let path = self.root.join("database/DataModelVersion.plist");
        let value = plist::Value::from_file(path).ok()?;
        let n = value
            .as_dictionary()?
            .get("LibrarySchemaVersion")?
            .as_signed_integer()?;
        u32::try_from(n).ok()
    }
}

impl Database {
    /// Opens the database of a located library, in place if possible.
    pub(crate) fn open(paths: &LibraryPaths) -> Result<Self, LibraryError> {
        Self::open_file(&paths.database, &paths.root)
    }

    /// Opens the SQLite file `db` the same way, without writing a byte
    /// beside it (the mirror snapshots every database of a package
    /// through this); errors name `owner`, what the user knows the file
    /// by (the library).
    pub(crate) fn open_file(db: &Path, owner: &Path) -> Result<Self, LibraryError> {
        let wal_len = fs::metadata(sidecar(db, "-wal")).map_or(0, |m| m.len());
        if wal_len == 0 {
            let stamp = FileStamp::of(db);
            match open_read_only(db, "mode=ro&immutable=1") {
                Ok(conn) => {
                    return Ok(Database {
                        conn,
                        _copy: None,
                        immutable_stamp: stamp.map(|s| (db.to_path_buf(), s)),
                    })
                }
                Err(e) => {
                    tracing::debug!(db = %db.display(), error = %e, "cannot open as immutable")
                }
            }
        }
        match open_read_only(db, "mode=ro&readonly_shm=1") {
            Ok(conn) => Ok(Database {
                conn,
                _copy: None,
                immutable_stamp: None,
            }),
            Err(in_place) => {
                tracing::debug!(db = %db.display(), error = %in_place, "cannot open in place; reading a copy");
                open_copy(db).map_err(|e| match e {
                    CopyError::Io(path, err) => LibraryError::io(path, err),
                    // The copy failing too means the database itself is bad:
                    // report what the in-place open said, which is the truth
                    // about the user's file.
                    CopyError::Sqlite(_) => LibraryError::sqlite(owner, in_place),
                })
            }
        }
    }

    /// False when the database was opened `immutable` and its main file has
    /// changed since (Photos started and checkpointed while we read): what
    /// was read may be torn and must be read again.
    pub(crate) fn unchanged_since_open(&self) -> bool {
        match &self.immutable_stamp {
            Some((path, stamp)) => FileStamp::of(path).as_ref() == Some(stamp),
            None => true,
        }
    }

    /// Reads the model version from `Z_METADATA`, which names the exact schema.
    pub(crate) fn version(&self, paths: &LibraryPaths) -> Result<LibraryVersion, LibraryError> {
        let blob: Vec<u8> = self
            .conn
            .query_row("SELECT Z_PLIST FROM Z_METADATA LIMIT 1", [], |r| r.get(0))
            .map_err(|e| match e {
                rusqlite::Error::SqliteFailure(..) | rusqlite::Error::QueryReturnedNoRows => {
                    LibraryError::Corrupt {
                        path: paths.root.clone(),
                        detail: format!("no Core Data metadata (Z_METADATA): {e}"),
                    }
                }
                other => LibraryError::sqlite(&paths.root, other),
            })?;
        let plist = plist::Value::from_reader(std::io::Cursor::new(blob)).map_err(|e| {
            LibraryError::Corrupt {
                path: paths.root.clone(),
                detail: format!("unreadable Core Data metadata: {e}"),
            }
        })?;
        let model = plist
            .as_dictionary()
            .and_then(|d| d.get("PLModelVersion"))
            .and_then(|v| v.as_signed_integer())
            .and_then(|v| u32::try_from(v).ok())
            .ok_or_else(|| LibraryError::Corrupt {
                path: paths.root.clone(),
                detail: "the Core Data metadata has no PLModelVersion".into(),
            })?;
        let version = LibraryVersion::from_model_version(model, paths.library_schema_version());
        if version.photos_version < 5 {
            return Err(LibraryError::Unsupported {
                path: paths.root.clone(),
                detail: format!("database model version {model}, before Photos 5"),
            });
        }
        Ok(version)
    }
}

/// Opens `db` read-only in place with the given URI parameters
/// (`mode=ro&readonly_shm=1` beside a WAL: no checkpoint, no wal-index
/// writes, no new files; `mode=ro&immutable=1` without one: no lock, no
/// `-shm`). Fails if SQLite cannot read it that way.
fn open_read_only(db: &Path, params: &str) -> Result<Connection, rusqlite::Error> {
    let uri = format!("file:{}?{params}", crate::sqlite_uri::escape(db));
    let conn = Connection::open_with_flags(
        uri,
        OpenFlags::SQLITE_OPEN_READ_ONLY
            | OpenFlags::SQLITE_OPEN_URI
            | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    configure(&conn)?;
    Ok(conn)
}

enum CopyError {
    Io(PathBuf, std::io::Error),
    Sqlite(#[allow(dead_code)] rusqlite::Error),
}

/// Copies the database and its WAL to a private temporary folder and opens
/// the copy; SQLite folds the WAL in there, never in the library.
fn open_copy(db: &Path) -> Result<Database, CopyError> {
    let dir = tempfile::Builder::new()
        .prefix("photovault-db-")
        .tempdir()
        .map_err(|e| CopyError::Io(std::env::temp_dir(), e))?;
    let target = dir.path().join("db.sqlite");
    fs::copy(db, &target).map_err(|e| CopyError::Io(db.to_path_buf(), e))?;
    let wal = sidecar(db, "-wal");
    match fs::copy(&wal, sidecar(&target, "-wal")) {
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(CopyError::Io(wal, e)),
    }
    let conn = Connection::open_with_flags(
        &target,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(CopyError::Sqlite)?;
    configure(&conn).map_err(CopyError::Sqlite)?;
    conn.pragma_update(None, "query_only", true)
        .map_err(CopyError::Sqlite)?;
    Ok(Database {
        conn,
        _copy: Some(dir),
        immutable_stamp: None,
    })
}

/// Settings shared by every way of opening, plus a first read that proves
/// the file is a database at all.
fn configure(conn: &Connection) -> Result<(), rusqlite::Error> {
    // Photos may hold a write lock briefly; wait rather than fail.
    conn.busy_timeout(std::time::Duration::from_secs(10))?;
    conn.query_row("SELECT count(*) FROM sqlite_master", [], |r| {
        r.get::<_, i64>(0)
    })?;
    Ok(())
}

/// `path` with `suffix` appended to its file name (`Photos.sqlite-wal`).
fn sidecar(path: &Path, suffix: &str) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(suffix);
    PathBuf::from(s)
}
