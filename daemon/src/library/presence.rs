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
    ///
    /// Folders are keyed by their path's bytes: hashing and comparing a
    /// `Path` goes component by component, and every file of every asset
    /// asks about its folder (millions of lookups in a large library).
    listings: FxHashMap<Box<[u8]>, Option<FxHashSet<OsString>>>,
    /// Folder -> the distinct extensions of its files, sorted, gathered
    /// from the folder's listing the first time a file is looked for by
    /// stem. A folder of 60,000 originals has a handful, so a lookup by
    /// stem is a few set lookups, and costs no index of every name.
    extensions: FxHashMap<Box<[u8]>, Vec<String>>,
    /// Folder -> whether it exists, for the few folders whose existence
    /// decides a layout (the cloud-sharing stores).
    dirs: FxHashMap<PathBuf, bool>,
}

impl Presence {
    /// An empty memo for the library at `root`.
    pub(crate) fn new(root: &Path) -> Self {
        Presence {
            root: root.to_path_buf(),
            listings: FxHashMap::default(),
            extensions: FxHashMap::default(),
            dirs: FxHashMap::default(),
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
                    presence.listings.insert(key(&dir), listing);
                }
            }
        }
        presence
    }

    /// Whether `path` (relative to the library, or absolute) is a file on disk.
    pub(crate) fn is_file(&mut self, path: &Path) -> bool {
        if path.is_absolute() {
            return is_file(path);
        }
        let (Some(dir), Some(name)) = (path.parent(), path.file_name()) else {
            return false;
        };
        match self.listing(dir) {
            Some(names) => names.contains(name),
            None => is_file(&self.root.join(path)),
        }
    }

    /// The name of a file in `dir` (relative to the library) whose name is
    /// `stem` followed by one extension, when there is one: how a file of a
    /// type the database does not name is found (a RAW of a pair whose type
    /// code is unknown). The first such question about a folder indexes its
    /// listing, so every later one costs a hash lookup, not a listing.
    pub(crate) fn file_with_stem(&mut self, dir: &Path, stem: &str) -> Option<OsString> {
        let dir_key = dir.as_os_str().as_encoded_bytes();
        if !self.extensions.contains_key(dir_key) {
            let listed = self.listing(dir).into_iter().flatten();
            let distinct: FxHashSet<&str> = listed
                .filter_map(|name| name.to_str()?.rsplit_once('.'))
                .filter(|(s, ext)| !s.is_empty() && !ext.is_empty())
                .map(|(_, ext)| ext)
                .collect();
            let mut found: Vec<String> = distinct.into_iter().map(str::to_string).collect();
            // Of two files with one stem, the smaller name (extension) wins,
            // whatever order the folder lists them in.
            found.sort_unstable();
            self.extensions.insert(key(dir), found);
        }
        let names = self.listings.get(dir_key)?.as_ref()?;
        // One buffer for every candidate name.
        let mut name = OsString::with_capacity(stem.len() + 8);
        self.extensions.get(dir_key)?.iter().find_map(|ext| {
            name.clear();
            name.push(stem);
            name.push(".");
            name.push(ext);
            names.contains(&name).then(|| name.clone())
        })
    }

    /// Whether `dir` (relative to the library) is a folder, asked once per
    /// read: which of the layouts Photos has used is present.
    pub(crate) fn is_dir(&mut self, dir: &Path) -> bool {
        let root = &self.root;
        *self
            .dirs
            .entry(dir.to_path_buf())
            .or_insert_with(|| root.join(dir).is_dir())
    }

    /// The names of the files in `dir` (relative to the library), listed
    /// the first time it is asked about; `None` when it cannot be listed.
    fn listing(&mut self, dir: &Path) -> Option<&FxHashSet<OsString>> {
        let dir_key = dir.as_os_str().as_encoded_bytes();
        if !self.listings.contains_key(dir_key) {
            let listing = list_files(&self.root.join(dir));
            self.listings.insert(key(dir), listing);
        }
        self.listings.get(dir_key).and_then(Option::as_ref)
    }
}

/// The map key of a folder: its path's bytes.
fn key(dir: &Path) -> Box<[u8]> {
    dir.as_os_str().as_encoded_bytes().into()
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

    #[test]
    fn finds_a_file_by_stem_from_one_listing() {
        let dir = tempfile::tempdir().unwrap();
        let folder = dir.path().join("originals/B");
        std::fs::create_dir_all(&folder).unwrap();
        for name in ["B1.jpeg", "B1_4.nef", "B2_4.cr2", "B2_4.arw", "B3_4"] {
            std::fs::write(folder.join(name), b"x").unwrap();
        }
        let mut p = Presence::new(dir.path());
        let dir_b = Path::new("originals/B");
        assert_eq!(p.file_with_stem(dir_b, "B1_4"), Some("B1_4.nef".into()));
        assert_eq!(
            p.file_with_stem(dir_b, "B2_4"),
            Some("B2_4.arw".into()),
            "of two candidates the same one every time"
        );
        assert_eq!(p.file_with_stem(dir_b, "B3_4"), None, "no extension");
        assert_eq!(p.file_with_stem(dir_b, "B9_4"), None);
        // Answered from the memo: a file added now is not seen.
        std::fs::write(folder.join("B9_4.dng"), b"x").unwrap();
        assert_eq!(p.file_with_stem(dir_b, "B9_4"), None);
        assert!(p.is_file(Path::new("originals/B/B1_4.nef")));
        assert_eq!(p.file_with_stem(Path::new("originals/C"), "C1_4"), None);
    }
}
