//! How long `Versions/` keeps what runs replaced or deleted.
//!
//! Every run moves what it replaces into `Versions/<run stamp>/` rather than
//! destroying it, so the folder only grows; retention removes whole run
//! folders older than a number of days, then the oldest ones while the
//! total is over a size limit. It runs only after a successful run, never
//! touches the current mirror or export, never removes the folder of the run
//! that just finished, and leaves alone any folder whose name is not a run
//! stamp (something a person put there). The catalog marks what it removed,
//! so a restore of an old run says which files it can no longer have.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use chrono::{DateTime, NaiveDateTime, Utc};

use crate::catalog::{Catalog, CatalogError};
use crate::destination::Destination;

/// Retention settings (`versions_keep_days`, `versions_max_gb`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retention {
    /// Remove run folders older than this many days (`None`: keep forever).
    pub keep_days: Option<u32>,
    /// Then remove the oldest while the total is over this many bytes.
    pub max_bytes: Option<u64>,
}

impl Default for Retention {
    /// 90 days, no size limit.
    fn default() -> Self {
        Retention {
            keep_days: Some(90),
            max_bytes: None,
        }
    }
}

/// What retention removed.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Pruned {
    /// The run folders removed (`Versions/<stamp>`).
    pub folders: Vec<String>,
    /// Bytes freed.
    pub bytes: u64,
}

/// Why retention could not finish.
#[derive(Debug, thiserror::Error)]
pub enum PruneError {
    /// A folder could not be listed or removed.
    #[error("could not clean up old versions in {path}: {source}; check the drive, the next run tries again")]
    Io {
        /// The folder.
        path: PathBuf,
        /// What the system said.
        #[source]
        source: io::Error,
    },
    /// The catalog could not record it.
    #[error(transparent)]
    Catalog(#[from] CatalogError),
}

/// Applies `retention` to the destination's `Versions/`, keeping the folder
/// named `keep` (the run that just finished) whatever its size.
pub fn prune(
    dest: &Destination,
    catalog: &Catalog,
    retention: &Retention,
    keep: &str,
    now: DateTime<Utc>,
) -> Result<Pruned, PruneError> {
    let root = dest.root().join("Versions");
    let io_err = |path: &Path| {
        let path = path.to_path_buf();
        move |source| PruneError::Io { path, source }
    };
    let mut folders = Vec::new();
    match fs::read_dir(&root) {
        Ok(entries) => {
            for entry in entries {
                let entry = entry.map_err(io_err(&root))?;
                let name = entry.file_name().to_string_lossy().into_owned();
                if let Some(when) = parse_stamp(&name) {
                    if entry.file_type().map_err(io_err(&root))?.is_dir() {
                        folders.push((when, name));
                    }
                }
            }
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Pruned::default()),
        Err(e) => return Err(io_err(&root)(e)),
    }
    folders.sort();
    let mut pruned = Pruned::default();
    let remove = |name: &str, pruned: &mut Pruned| -> Result<u64, PruneError> {
        let path = root.join(name);
        let size = tree_size(&path).map_err(io_err(&path))?;
        // Recorded first: if removal is cut short, what is left is known to
        // be on its way out, and the next run finishes removing it.
        catalog.mark_versions_pruned(&format!("Versions/{name}"), now)?;
        fs::remove_dir_all(&path).map_err(io_err(&path))?;
        pruned.folders.push(format!("Versions/{name}"));
        pruned.bytes += size;
        Ok(size)
    };
    let mut kept = Vec::new();
    for (when, name) in folders {
        let too_old = retention
            .keep_days
            .is_some_and(|days| now.signed_duration_since(when).num_days() >= i64::from(days));
        if too_old && name != keep {
            remove(&name, &mut pruned)?;
        } else {
            kept.push(name);
        }
    }
    if let Some(max) = retention.max_bytes {
        let mut sizes = Vec::new();
        for name in &kept {
            let path = root.join(name);
            sizes.push(tree_size(&path).map_err(io_err(&path))?);
        }
        let mut total: u64 = sizes.iter().sum();
        for (name, size) in kept.iter().zip(sizes) {
            if total <= max {
                break;
            }
            if name != keep {
                remove(name, &mut pruned)?;
                total -= size;
            }
        }
    }
    Ok(pruned)
}

/// Where the file at `path` (relative to the destination) goes in the
/// `Versions/` folder of the run stamped `stamp`, relative to the
/// destination `root`: `Versions/<stamp>/<path>`, or, when a run started in
/// the same second already kept a file of that name there, the name with
/// ` (2)`, ` (3)`... before its extension. A kept version is never
/// overwritten; the catalog records the name chosen.
pub fn free_path(root: &Path, stamp: &str, path: &str) -> String {
    let plain = format!("Versions/{stamp}/{path}");
    if std::fs::symlink_metadata(root.join(&plain)).is_err() {
        return plain;
    }
    let (dir, name) = match plain.rsplit_once('/') {
        Some((dir, name)) => (format!("{dir}/"), name),
        None => (String::new(), plain.as_str()),
    };
    let (stem, ext) = match name.rsplit_once('.') {
        Some((stem, ext)) if !stem.is_empty() => (stem, format!(".{ext}")),
        _ => (name, String::new()),
    };
    (2..)
        .map(|n| format!("{dir}{stem} ({n}){ext}"))
        .find(|candidate| std::fs::symlink_metadata(root.join(candidate)).is_err())
        .unwrap_or(plain)
}

/// The time of a run folder's name (`2024-05-01T10-00-00Z`), or `None` for
/// a folder that is not a run's.
pub fn parse_stamp(name: &str) -> Option<DateTime<Utc>> {
    NaiveDateTime::parse_from_str(name, "%Y-%m-%dT%H-%M-%SZ")
        .ok()
        .map(|t| t.and_utc())
}

/// Bytes of the files under `path` (links not followed).
pub fn tree_size(path: &Path) -> io::Result<u64> {
    let mut total = 0;
    let mut stack = vec![path.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in fs::read_dir(&dir)? {
            let entry = entry?;
            let kind = entry.file_type()?;
            if kind.is_dir() {
                stack.push(entry.path());
            } else {
                total += entry.metadata()?.len();
            }
        }
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::destination::Enrol;

    fn setup() -> (tempfile::TempDir, Destination, Catalog) {
        let dir = tempfile::tempdir().unwrap();
        let dest = Destination::open(&dir.path().join("d"), Enrol::IfEmpty).unwrap();
        let catalog = Catalog::open(&dest.catalog_path()).unwrap();
        (dir, dest, catalog)
    }

    fn version(dest: &Destination, stamp: &str, bytes: usize) {
        let dir = dest.root().join("Versions").join(stamp).join("Library/x");
        fs::create_dir_all(&dir).unwrap();
        fs::write(dir.join("f"), vec![7u8; bytes]).unwrap();
    }

    #[test]
    fn removes_old_run_folders_and_keeps_recent_and_foreign_ones() {
        let (_d, dest, catalog) = setup();
        version(&dest, "2024-01-01T00-00-00Z", 10);
        version(&dest, "2024-06-01T00-00-00Z", 10);
        fs::create_dir_all(dest.root().join("Versions/my notes")).unwrap();
        let now = parse_stamp("2024-06-15T00-00-00Z").unwrap();
        let p = prune(&dest, &catalog, &Retention::default(), "x", now).unwrap();
        assert_eq!(p.folders, ["Versions/2024-01-01T00-00-00Z"]);
        assert_eq!(p.bytes, 10);
        assert!(dest.root().join("Versions/2024-06-01T00-00-00Z").exists());
        assert!(dest.root().join("Versions/my notes").exists());
    }

    #[test]
    fn a_second_version_of_the_same_second_gets_its_own_name() {
        let (_d, dest, _catalog) = setup();
        let root = dest.root();
        let stamp = "2024-06-01T00-00-00Z";
        let first = free_path(root, stamp, "Library/L/a.jpg");
        assert_eq!(first, "Versions/2024-06-01T00-00-00Z/Library/L/a.jpg");
        std::fs::create_dir_all(root.join(&first).parent().unwrap()).unwrap();
        std::fs::write(root.join(&first), b"1").unwrap();
        let second = free_path(root, stamp, "Library/L/a.jpg");
        assert_eq!(second, "Versions/2024-06-01T00-00-00Z/Library/L/a (2).jpg");
        std::fs::write(root.join(&second), b"2").unwrap();
        assert_eq!(
            free_path(root, stamp, "Library/L/a.jpg"),
            "Versions/2024-06-01T00-00-00Z/Library/L/a (3).jpg"
        );
    }

    #[test]
    fn a_size_limit_removes_the_oldest_first_but_never_the_current_run() {
        let (_d, dest, catalog) = setup();
        version(&dest, "2024-06-01T00-00-00Z", 100);
        version(&dest, "2024-06-02T00-00-00Z", 100);
        version(&dest, "2024-06-03T00-00-00Z", 100);
        let now = parse_stamp("2024-06-03T00-00-00Z").unwrap();
        let r = Retention {
            keep_days: None,
            max_bytes: Some(150),
        };
        let p = prune(&dest, &catalog, &r, "2024-06-03T00-00-00Z", now).unwrap();
        assert_eq!(
            p.folders,
            [
                "Versions/2024-06-01T00-00-00Z",
                "Versions/2024-06-02T00-00-00Z"
            ]
        );
        let r = Retention {
            keep_days: None,
            max_bytes: Some(0),
        };
        let p = prune(&dest, &catalog, &r, "2024-06-03T00-00-00Z", now).unwrap();
        assert!(p.folders.is_empty());
    }
}
