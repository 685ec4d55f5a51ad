//! What can go wrong when reading a Photos library, each case with what to do.

use std::path::PathBuf;

/// Why a Photos library could not be read.
///
/// Every message names the library and tells the user what to do next: these
/// errors reach people who only wanted their photos backed up.
#[derive(Debug, thiserror::Error)]
pub enum LibraryError {
    /// The path does not exist at all.
    #[error("{path}: no such file or folder; check the path of the Photos library (usually ~/Pictures/Photos Library.photoslibrary)")]
    NotFound {
        /// The path that was given.
        path: PathBuf,
    },

    /// The path exists but is not a Photos library package.
    #[error("{path} is not a Photos library: it has no database/Photos.sqlite; choose the .photoslibrary package Photos uses (Photos > Settings > General shows its location)")]
    NotALibrary {
        /// The path that was given.
        path: PathBuf,
    },

    /// A library from Photos 4 or older (macOS 10.14 and before).
    #[error("{path} was last opened by an old Photos ({detail}), which photovault cannot read; open it once in Photos on macOS 10.15 or newer to upgrade it, then try again")]
    Unsupported {
        /// The library.
        path: PathBuf,
        /// What was found instead of a supported database.
        detail: String,
    },

    /// The database file is unreadable as SQLite or lacks the tables Photos writes.
    #[error("the database of {path} is damaged or incomplete ({detail}); open the library in Photos to let it repair it (hold Option and Command while opening Photos offers a repair), then try again")]
    Corrupt {
        /// The library.
        path: PathBuf,
        /// What SQLite or the schema check reported.
        detail: String,
    },

    /// The operating system refused to let us read the library.
    #[error("permission denied reading {path}; {hint}")]
    PermissionDenied {
        /// The file that could not be read.
        path: PathBuf,
        /// Platform-specific advice (Full Disk Access on macOS).
        hint: &'static str,
    },

    /// The database kept changing while being read.
    #[error("{path} kept changing while photovault read it (Photos is busy writing); try again in a minute")]
    Busy {
        /// The library.
        path: PathBuf,
    },

    /// Any other input/output failure while reading the library.
    #[error("could not read {path}: {source}; check that the disk holding the library is connected and healthy")]
    Io {
        /// The file being read.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
}

impl LibraryError {
    /// Classifies an I/O error met while reading `path`, so that a refused
    /// permission gets the advice that actually fixes it.
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        let path = path.into();
        match source.kind() {
            std::io::ErrorKind::PermissionDenied => LibraryError::PermissionDenied {
                path,
                hint: permission_hint(),
            },
            std::io::ErrorKind::NotFound => LibraryError::NotFound { path },
            _ => LibraryError::Io { path, source },
        }
    }

    /// Wraps an SQLite error met while reading the database of `library`.
    pub(crate) fn sqlite(library: &std::path::Path, err: rusqlite::Error) -> Self {
        use rusqlite::ffi::ErrorCode;
        if let rusqlite::Error::SqliteFailure(e, _) = &err {
            if matches!(e.code, ErrorCode::PermissionDenied | ErrorCode::ReadOnly)
                && e.extended_code != rusqlite::ffi::SQLITE_READONLY_CANTINIT
            {
                return LibraryError::PermissionDenied {
                    path: library.join("database/Photos.sqlite"),
                    hint: permission_hint(),
                };
            }
        }
        LibraryError::Corrupt {
            path: library.to_path_buf(),
            detail: err.to_string(),
        }
    }
}

/// The advice for a refused read, which differs by platform: on macOS the
/// Photos library is protected by privacy controls, not file modes.
fn permission_hint() -> &'static str {
    if cfg!(target_os = "macos") {
        "macOS protects the Photos library: give photovaultd (and your terminal, when running it by hand) Full Disk Access in System Settings > Privacy & Security > Full Disk Access, then try again"
    } else {
        "make the library readable by the user running photovault (check the owner and mode of its files), then try again"
    }
}
