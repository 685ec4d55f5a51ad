//! Listing the files of a library package: what the mirror must hold.
//!
//! Everything in the package is mirrored except what holds no data of its
//! own: the `-wal`, `-shm` and `-journal` files beside a database (the
//! snapshot already holds their content) and the `.lock` file beside one
//! (it names a process on this Mac; copied, it would make the restored
//! library look open elsewhere). Symbolic links and special files cannot
//! be stored on FAT-family drives and Photos does not make them: they are
//! reported and skipped.

use std::collections::HashSet;
use std::fs;
use std::io;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

/// One file of the package.
#[derive(Debug, Clone)]
pub(super) struct SourceFile {
    /// Path inside the package, `/`-separated.
    pub(super) rel: String,
    /// Absolute path.
    pub(super) path: PathBuf,
    /// Size in bytes.
    pub(super) size: u64,
    /// Modification time (given to the copy).
    pub(super) mtime: Option<SystemTime>,
    /// Modification time in nanoseconds since the epoch.
    pub(super) mtime_ns: i64,
    /// Size and time, and its WAL's when it has one: an unchanged key
    /// means unchanged content.
    pub(super) key: String,
}

/// The package's files and folders, and what was left out.
#[derive(Debug, Default)]
pub(super) struct Scan {
    /// Every file to mirror, in a stable order (sorted by path).
    pub(super) files: Vec<SourceFile>,
    /// Every folder, `/`-separated, parents before children.
    pub(super) dirs: Vec<String>,
    /// Entries that cannot be mirrored: (path inside the package, why).
    pub(super) skipped: Vec<(String, String)>,
}

/// Suffixes of the files that belong to a database beside them.
const DATABASE_COMPANIONS: [&str; 4] = ["-wal", "-shm", "-journal", ".lock"];

/// Lists the package at `root`.
pub(super) fn scan(root: &Path) -> io::Result<Scan> {
    let mut scan = Scan::default();
    let mut stack = vec![(root.to_path_buf(), String::new())];
    while let Some((dir, rel_dir)) = stack.pop() {
        let mut names = Vec::new();
        for entry in fs::read_dir(&dir)? {
            let entry = entry?;
            names.push((entry.file_name(), entry.file_type()?));
        }
        let here: HashSet<_> = names.iter().map(|(n, _)| n.clone()).collect();
        for (name, kind) in names {
            let Some(name_str) = name.to_str() else {
                scan.skipped.push((
                    format!("{rel_dir}{}", name.to_string_lossy()),
                    "the name is not valid UTF-8".into(),
                ));
                continue;
            };
            let rel = format!("{rel_dir}{name_str}");
            let path = dir.join(&name);
            if kind.is_dir() {
                scan.dirs.push(rel.clone());
                stack.push((path, format!("{rel}/")));
            } else if kind.is_file() {
                if is_companion(name_str, &here) {
                    continue;
                }
                let meta = fs::symlink_metadata(&path)?;
                let mut key = stamp(&meta);
                let wal = dir.join(format!("{name_str}-wal"));
                if here.contains(wal.file_name().unwrap_or_default()) {
                    if let Ok(m) = fs::metadata(&wal) {
                        key = format!("{key};wal:{}", stamp(&m));
                    }
                }
                scan.files.push(SourceFile {
                    rel,
                    path,
                    size: meta.len(),
                    mtime: meta.modified().ok(),
                    mtime_ns: mtime_ns(&meta),
                    key,
                });
            } else if kind.is_symlink() {
                scan.skipped
                    .push((rel, "a symbolic link (not copied)".into()));
            } else {
                scan.skipped.push((rel, "not a regular file".into()));
            }
        }
    }
    scan.files.sort_by(|a, b| a.rel.cmp(&b.rel));
    scan.dirs.sort();
    Ok(scan)
}

/// Whether `name` is a database's WAL, shared memory, journal or lock.
fn is_companion(name: &str, here: &HashSet<std::ffi::OsString>) -> bool {
    DATABASE_COMPANIONS.iter().any(|suffix| {
        name.strip_suffix(suffix)
            .is_some_and(|base| !base.is_empty() && here.contains(std::ffi::OsStr::new(base)))
    })
}

fn mtime_ns(meta: &fs::Metadata) -> i64 {
    meta.mtime()
        .saturating_mul(1_000_000_000)
        .saturating_add(meta.mtime_nsec())
}

fn stamp(meta: &fs::Metadata) -> String {
    format!("{}:{}", meta.len(), mtime_ns(meta))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_files_and_leaves_out_database_companions() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        fs::create_dir_all(root.join("database")).unwrap();
        fs::create_dir_all(root.join("originals/A")).unwrap();
        fs::create_dir_all(root.join("private")).unwrap();
        for f in [
            "database/Photos.sqlite",
            "database/Photos.sqlite-wal",
            "database/Photos.sqlite-shm",
            "database/Photos.sqlite.lock",
            "database/orphan-wal",
            "originals/A/x.heic",
        ] {
            fs::write(root.join(f), f).unwrap();
        }
        std::os::unix::fs::symlink("x.heic", root.join("originals/A/link")).unwrap();
        let s = scan(root).unwrap();
        let rels: Vec<_> = s.files.iter().map(|f| f.rel.as_str()).collect();
        assert_eq!(
            rels,
            [
                "database/Photos.sqlite",
                "database/orphan-wal",
                "originals/A/x.heic"
            ]
        );
        assert!(s.files[0].key.contains(";wal:"), "{}", s.files[0].key);
        assert!(!s.files[2].key.contains(";wal:"));
        assert_eq!(s.dirs, ["database", "originals", "originals/A", "private"]);
        assert_eq!(s.skipped.len(), 1);
        assert_eq!(s.skipped[0].0, "originals/A/link");
    }
}
