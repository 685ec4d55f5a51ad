//! Which of a library's files are on disk, answered from directory listings.
//!
//! A library keeps its originals in sixteen folders of thousands of files
//! each. Listing each folder once costs a handful of system calls where
//! asking about every file costs one path lookup each, which dominated the
//! time to read a 100,000-asset library. Files outside the library
//! (referenced originals) are asked about one by one.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use rustc_hash::{FxHashMap, FxHashSet};

/// Memoised listings of the library's folders, for one read of the library.
pub(crate) struct Presence {
    root: PathBuf,
    /// Folder (relative to the root) -> names of the regular files in it;
    /// `None` when the folder could not be listed (then files are asked
    /// about one by one).
    listings: FxHashMap<PathBuf, Option<FxHashSet<OsString>>>,
}

impl Presence {
    /// An empty memo for the library at `root`.
    pub(crate) fn new(root: &Path) -> Self {
        Presence {
            root: root.to_path_buf(),
            listings: FxHashMap::default(),
        }
    }

    /// A memo already holding the listings of every folder inside each of
    /// `parents` (relative to `root`): where a library keeps its originals
    /// and renders. Made on another thread while the database is read, it
    /// takes the listing off the asset loop.
    pub(crate) fn prefetched(root: &Path, parents: &[&str]) -> Self {
        let mut presence = Presence::new(root);
        for parent in parents {
            let Ok(entries) = std::fs::read_dir(root.join(parent)) else {
                continue;
            };
            for entry in entries.flatten() {
                if entry.file_type().is_ok_and(|t| t.is_dir()) {
                    let dir = Path::new(parent).join(entry.file_name());
                    let listing = list_files(&entry.path());
                    presence.listings.insert(dir, listing);
                }
            }
        }
        presence
    }

    /// The library folder paths are relative to.
    pub(crate) fn root(&self) -> &Path {
        &self.root
    }

    /// Whether `path` (relative to the library, or absolute) is a file on disk.
    pub(crate) fn is_file(&mut self, path: &Path) -> bool {
        if path.is_absolute() {
            return is_file(path);
        }
        let (Some(dir), Some(name)) = (path.parent(), path.file_name()) else {
            return false;
        };
        if !self.listings.contains_key(dir) {
            let listing = list_files(&self.root.join(dir));
            self.listings.insert(dir.to_path_buf(), listing);
        }
        match self.listings.get(dir).and_then(Option::as_ref) {
            Some(names) => names.contains(name),
            None => is_file(&self.root.join(path)),
        }
    }
}

fn is_file(path: &Path) -> bool {
    std::fs::metadata(path).is_ok_and(|m| m.is_file())
}

/// The regular files of `dir` (symbolic links followed). A folder that does
/// not exist has none; one that cannot be read gives `None`.
fn list_files(dir: &Path) -> Option<FxHashSet<OsString>> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Some(FxHashSet::default()),
        Err(_) => return None,
    };
    let mut names = FxHashSet::default();
    for entry in entries {
        let Ok(entry) = entry else { return None };
        let file = match entry.file_type() {
            Ok(t) if t.is_file() => true,
            Ok(t) if t.is_symlink() => is_file(&entry.path()),
            _ => false,
        };
        if file {
            names.insert(entry.file_name());
        }
    }
    Some(names)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_from_listings_and_for_absolute_paths() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("originals/A")).unwrap();
        std::fs::write(dir.path().join("originals/A/x.jpeg"), b"x").unwrap();
        std::fs::create_dir(dir.path().join("originals/A/sub.jpeg")).unwrap();
        let mut p = Presence::new(dir.path());
        assert!(p.is_file(Path::new("originals/A/x.jpeg")));
        assert!(!p.is_file(Path::new("originals/A/y.jpeg")));
        assert!(
            !p.is_file(Path::new("originals/A/sub.jpeg")),
            "a folder is not a file"
        );
        assert!(
            !p.is_file(Path::new("originals/B/x.jpeg")),
            "a missing folder has no files"
        );
        assert!(p.is_file(&dir.path().join("originals/A/x.jpeg")));
        assert!(!p.is_file(&dir.path().join("nope")));
    }
}
