//! A backup destination: a folder made self-describing.
//!
//! ```text
//! <folder>/
//!   .photovault/destination.toml   id, name, format version, created
//!   .photovault/catalog.sqlite     every file written
//!   Export/...                     export engine
//!   Organized/...                  organize engine
//!   Versions/<timestamp>/...       what runs replaced
//! ```
//!
//! A destination is recognised by the id in `destination.toml`, never by the
//! volume's name: two drives called "Untitled" must not be confused. A folder
//! that holds other files and no marker is refused unless the user asks to
//! enrol it, so photovault never mixes its files into someone else's.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// The on-drive format this version of photovault writes and reads.
pub const FORMAT_VERSION: u32 = 1;

/// Folder holding photovault's own files on a destination.
pub const MARKER_DIR: &str = ".photovault";

/// What `destination.toml` says about a destination.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct DestinationInfo {
    /// Unique identifier, generated when the destination is created.
    pub id: String,
    /// A name for people ("Backup 1"), defaulting to the folder's name.
    pub name: String,
    /// On-drive format version ([`FORMAT_VERSION`]).
    pub format_version: u32,
    /// When the destination was created.
    pub created: DateTime<Utc>,
}

/// Why a destination could not be used.
#[derive(Debug, thiserror::Error)]
pub enum DestinationError {
    /// The folder is not a destination and is not empty.
    #[error("{path} is not empty and is not a photovault destination; choose an empty folder, or pass --init to enrol this one (photovault then adds .photovault/, Export/ and Versions/ to it and touches nothing else)")]
    NotEmpty {
        /// The folder.
        path: PathBuf,
    },
    /// The folder is not a destination and creating one was not allowed.
    #[error("{path} is not a photovault destination (it has no .photovault/destination.toml); enrol it first")]
    NotADestination {
        /// The folder.
        path: PathBuf,
    },
    /// Written by a newer photovault.
    #[error("{path} was written by a newer photovault (format {found}, this one reads up to {FORMAT_VERSION}); upgrade photovault to use it")]
    NewerFormat {
        /// The folder.
        path: PathBuf,
        /// The format version found.
        found: u32,
    },
    /// The marker file exists but cannot be understood.
    #[error("{path} is damaged ({detail}); restore it from the backup drive's catalog or enrol the folder again")]
    BadMarker {
        /// The marker file.
        path: PathBuf,
        /// What is wrong.
        detail: String,
    },
    /// The destination (or the drive holding it) could not be read or written.
    #[error(
        "cannot use {path}: {source}; check that the drive is connected, writable and not full"
    )]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> DestinationError + '_ {
    move |source| DestinationError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// An open destination folder.
#[derive(Debug, Clone)]
pub struct Destination {
    root: PathBuf,
    info: DestinationInfo,
}

/// What to do when the folder is not yet a destination.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Enrol {
    /// Only open an existing destination.
    Never,
    /// Create one if the folder is missing or empty.
    IfEmpty,
    /// Create one even in a folder that already holds other files.
    Always,
}

/// The name the marker is written under before it is renamed into place.
const MARKER_TMP: &str = ".destination.toml.tmp";

/// Whether `dir` (a `.photovault/` without a marker) holds nothing but what
/// an interrupted enrolment leaves: nothing, or the marker's temporary file.
fn unfinished_enrolment(dir: &Path) -> bool {
    fs::read_dir(dir).is_ok_and(|entries| entries.flatten().all(|e| e.file_name() == MARKER_TMP))
}

impl Destination {
    /// Opens the destination at `root`, creating it as `enrol` allows.
    pub fn open(root: &Path, enrol: Enrol) -> Result<Self, DestinationError> {
        let marker = root.join(MARKER_DIR).join("destination.toml");
        match fs::read_to_string(&marker) {
            Ok(text) => return Self::from_marker(root, &marker, &text),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(io_err(&marker)(e)),
        }
        // Empty, or holding only an enrolment of ours that was interrupted
        // (killed between creating `.photovault/` and renaming its marker
        // into place): a folder must not become unusable because a first
        // run was stopped at that instant.
        let empty = match fs::read_dir(root) {
            Ok(entries) => entries
                .flatten()
                .all(|e| e.file_name() == MARKER_DIR && unfinished_enrolment(&e.path())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => true,
            Err(e) => return Err(io_err(root)(e)),
        };
        match (enrol, empty) {
            (Enrol::Never, _) => Err(DestinationError::NotADestination {
                path: root.to_path_buf(),
            }),
            (Enrol::IfEmpty, false) => Err(DestinationError::NotEmpty {
                path: root.to_path_buf(),
            }),
            _ => Self::create(root),
        }
    }

    /// Whether `root` holds a destination marker (without opening it).
    pub fn is_destination(root: &Path) -> bool {
        root.join(MARKER_DIR).join("destination.toml").is_file()
    }

    fn from_marker(root: &Path, marker: &Path, text: &str) -> Result<Self, DestinationError> {
        let info: DestinationInfo =
            toml::from_str(text).map_err(|e| DestinationError::BadMarker {
                path: marker.to_path_buf(),
                detail: e.to_string(),
            })?;
        if info.format_version > FORMAT_VERSION {
            return Err(DestinationError::NewerFormat {
                path: root.to_path_buf(),
                found: info.format_version,
            });
        }
        Ok(Destination {
            root: root.to_path_buf(),
            info,
        })
    }

    fn create(root: &Path) -> Result<Self, DestinationError> {
        let dir = root.join(MARKER_DIR);
        fs::create_dir_all(&dir).map_err(io_err(&dir))?;
        let name = root
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| "photovault".into());
        let info = DestinationInfo {
            id: uuid::Uuid::new_v4().to_string(),
            name,
            format_version: FORMAT_VERSION,
            created: Utc::now(),
        };
        let text = toml::to_string(&info).map_err(|e| DestinationError::BadMarker {
            path: dir.join("destination.toml"),
            detail: e.to_string(),
        })?;
        // Written through a temporary name: a half-written marker would make
        // the destination unrecognisable.
        let marker = dir.join("destination.toml");
        let tmp = dir.join(MARKER_TMP);
        let mut f = fs::File::create(&tmp).map_err(io_err(&tmp))?;
        f.write_all(text.as_bytes()).map_err(io_err(&tmp))?;
        f.sync_all().map_err(io_err(&tmp))?;
        fs::rename(&tmp, &marker).map_err(io_err(&marker))?;
        Ok(Destination {
            root: root.to_path_buf(),
            info,
        })
    }

    /// The destination folder.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// What the marker says.
    pub fn info(&self) -> &DestinationInfo {
        &self.info
    }

    /// The catalog database.
    pub fn catalog_path(&self) -> PathBuf {
        self.root.join(MARKER_DIR).join("catalog.sqlite")
    }

    /// Where the export engine writes.
    pub fn export_dir(&self) -> PathBuf {
        self.root.join("Export")
    }

    /// Where the organize engine writes (`photos/`, `videos/`, ...).
    pub fn organized_dir(&self) -> PathBuf {
        self.root.join("Organized")
    }

    /// Where a run keeps what it replaced, named after the run's start.
    pub fn versions_dir(&self, run_started: DateTime<Utc>) -> PathBuf {
        self.root.join("Versions").join(run_stamp(run_started))
    }
}

/// A run's start as a folder name legal on every filesystem (no colons).
pub fn run_stamp(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H-%M-%SZ").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn creates_in_an_empty_or_missing_folder_and_reopens_by_id() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("PhotoVault");
        let d = Destination::open(&root, Enrol::IfEmpty).unwrap();
        assert_eq!(d.info().name, "PhotoVault");
        assert_eq!(d.info().format_version, FORMAT_VERSION);
        let again = Destination::open(&root, Enrol::Never).unwrap();
        assert_eq!(again.info(), d.info());
        assert!(Destination::is_destination(&root));
    }

    #[test]
    fn refuses_a_foreign_non_empty_folder_unless_enrolled() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("taxes.pdf"), b"x").unwrap();
        let err = Destination::open(dir.path(), Enrol::IfEmpty).unwrap_err();
        assert!(matches!(err, DestinationError::NotEmpty { .. }));
        assert!(err.to_string().contains("--init"));
        assert!(matches!(
            Destination::open(dir.path(), Enrol::Never).unwrap_err(),
            DestinationError::NotADestination { .. }
        ));
        Destination::open(dir.path(), Enrol::Always).unwrap();
        assert!(dir.path().join("taxes.pdf").exists());
    }

    #[test]
    fn an_enrolment_killed_before_its_marker_landed_is_finished_by_the_next_run() {
        for leftover in [None, Some(MARKER_TMP)] {
            let dir = tempfile::tempdir().unwrap();
            let marker_dir = dir.path().join(MARKER_DIR);
            fs::create_dir(&marker_dir).unwrap();
            if let Some(name) = leftover {
                fs::write(marker_dir.join(name), b"id = \"half").unwrap();
            }
            let d = Destination::open(dir.path(), Enrol::IfEmpty).unwrap();
            assert!(Destination::is_destination(dir.path()), "{leftover:?}");
            assert!(!marker_dir.join(MARKER_TMP).exists());
            assert_eq!(d.info().format_version, FORMAT_VERSION);
        }
        // Anything else in `.photovault/` is not ours to take over.
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir(dir.path().join(MARKER_DIR)).unwrap();
        fs::write(dir.path().join(MARKER_DIR).join("notes.txt"), b"x").unwrap();
        assert!(matches!(
            Destination::open(dir.path(), Enrol::IfEmpty).unwrap_err(),
            DestinationError::NotEmpty { .. }
        ));
    }

    #[test]
    fn refuses_newer_formats_and_damaged_markers() {
        let dir = tempfile::tempdir().unwrap();
        let d = Destination::open(dir.path(), Enrol::IfEmpty).unwrap();
        let marker = dir.path().join(".photovault/destination.toml");
        let mut info = d.info().clone();
        info.format_version = FORMAT_VERSION + 1;
        fs::write(&marker, toml::to_string(&info).unwrap()).unwrap();
        assert!(matches!(
            Destination::open(dir.path(), Enrol::Never).unwrap_err(),
            DestinationError::NewerFormat { .. }
        ));
        fs::write(&marker, "id = ").unwrap();
        assert!(matches!(
            Destination::open(dir.path(), Enrol::Never).unwrap_err(),
            DestinationError::BadMarker { .. }
        ));
    }

    #[test]
    fn run_stamps_are_filesystem_safe() {
        let t = DateTime::parse_from_rfc3339("2026-11-22T03:04:05Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(run_stamp(t), "2026-11-22T03-04-05Z");
    }
}
