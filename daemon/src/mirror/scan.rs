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
use std::sync::{Condvar, Mutex};
use std::time::SystemTime;

/// One file of the package.
#[derive(Debug, Clone)]
pub(super) struct SourceFile {
    /// Path inside the package, `/`-separated.
    pub(super) rel: String,
    /// Size in bytes.
    pub(super) size: u64,
    /// Modification time (given to the copy).
    pub(super) mtime: Option<SystemTime>,
    /// Modification time in nanoseconds since the epoch.
    pub(super) mtime_ns: i64,
    /// Size and time, and its WAL's when it has one: an unchanged key
    /// means unchanged content.
    pub(super) key: SourceKey,
}

/// What says a library file is unchanged since it was copied: its size and
/// modification time, and for a database those of its WAL too (a write
/// may touch only the WAL). Stored in the catalog as text,
/// `size:mtime_ns[;wal:size:mtime_ns]`; kept as numbers here so that a run
/// over 50,000 unchanged files formats and allocates nothing to compare.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct SourceKey {
    size: u64,
    mtime_ns: i64,
    wal: Option<(u64, i64)>,
}

impl SourceKey {
    fn of(meta: &fs::Metadata) -> SourceKey {
        SourceKey {
            size: meta.len(),
            mtime_ns: mtime_ns(meta),
            wal: None,
        }
    }

    /// Reads the catalog's text form; `None` for anything else (such as
    /// the `recopy` mark verify leaves), which then matches no file.
    pub(super) fn parse(text: &str) -> Option<SourceKey> {
        let (main, wal) = match text.split_once(";wal:") {
            Some((main, wal)) => (main, Some(wal)),
            None => (text, None),
        };
        let pair = |t: &str| -> Option<(u64, i64)> {
            let (size, time) = t.split_once(':')?;
            Some((size.parse().ok()?, time.parse().ok()?))
        };
        let (size, mtime_ns) = pair(main)?;
        let wal = match wal {
            Some(w) => Some(pair(w)?),
            None => None,
        };
        Some(SourceKey {
            size,
            mtime_ns,
            wal,
        })
    }
}

impl std::fmt::Display for SourceKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.size, self.mtime_ns)?;
        if let Some((size, time)) = self.wal {
            write!(f, ";wal:{size}:{time}")?;
        }
        Ok(())
    }
}

/// The package's files and folders, and what was left out.
#[derive(Debug, Default)]
pub(super) struct Scan {
    /// Every file to mirror, in no particular order (sorting 50,000 paths
    /// would cost a no-op run more than it is worth; what a run copies is
    /// sorted).
    pub(super) files: Vec<SourceFile>,
    /// Every folder, `/`-separated, parents before children.
    pub(super) dirs: Vec<String>,
    /// Entries that cannot be mirrored: (path inside the package, why).
    pub(super) skipped: Vec<(String, String)>,
}

/// Suffixes of the files that belong to a database beside them.
const DATABASE_COMPANIONS: [&str; 4] = ["-wal", "-shm", "-journal", ".lock"];

/// Lists the package at `root`, two folders at a time: a package of 50,000
/// files is mostly waiting on `stat`, which a second core halves.
pub(super) fn scan(root: &Path) -> io::Result<Scan> {
    let queue = Mutex::new(Queue {
        dirs: vec![(root.to_path_buf(), String::new())],
        busy: 0,
        failed: None,
    });
    let ready = Condvar::new();
    let parts: Vec<Scan> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..WORKERS)
            .map(|_| scope.spawn(|| worker(&queue, &ready)))
            .collect();
        workers
            .into_iter()
            .map(|w| w.join().unwrap_or_default())
            .collect()
    });
    let queue = queue.into_inner().unwrap_or_else(|e| e.into_inner());
    if let Some(e) = queue.failed {
        return Err(e);
    }
    let mut scan = Scan::default();
    for part in parts {
        scan.files.extend(part.files);
        scan.dirs.extend(part.dirs);
        scan.skipped.extend(part.skipped);
    }
    scan.dirs.sort_unstable();
    scan.skipped.sort();
    Ok(scan)
}

/// Threads listing folders.
const WORKERS: usize = 2;

/// Folders still to list, and how many are being listed.
struct Queue {
    dirs: Vec<(PathBuf, String)>,
    busy: usize,
    failed: Option<io::Error>,
}

/// Takes folders from the queue until there are none left and no other
/// worker can add more.
fn worker(queue: &Mutex<Queue>, ready: &Condvar) -> Scan {
    let mut scan = Scan::default();
    loop {
        let next = {
            let mut q = queue.lock().unwrap_or_else(|e| e.into_inner());
            loop {
                if q.failed.is_some() {
                    break None;
                }
                if let Some(dir) = q.dirs.pop() {
                    q.busy += 1;
                    break Some(dir);
                }
                if q.busy == 0 {
                    break None;
                }
                q = ready.wait(q).unwrap_or_else(|e| e.into_inner());
            }
        };
        let Some((dir, rel_dir)) = next else {
            ready.notify_all();
            return scan;
        };
        let mut found = Vec::new();
        let result = list(&dir, &rel_dir, &mut scan, &mut found);
        let mut q = queue.lock().unwrap_or_else(|e| e.into_inner());
        q.busy -= 1;
        q.dirs.extend(found);
        if let Err(e) = result {
            q.failed.get_or_insert(e);
        }
        drop(q);
        ready.notify_all();
    }
}

/// Lists one folder into `scan`, and its subfolders into `subdirs`.
fn list(
    dir: &Path,
    rel_dir: &str,
    scan: &mut Scan,
    subdirs: &mut Vec<(PathBuf, String)>,
) -> io::Result<()> {
    let mut entries = Vec::new();
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name();
        entries.push((entry, name));
    }
    // Only the few names that can be a database's companion are kept for
    // lookups; the rest of the folder costs no extra allocation.
    let companions: HashSet<&std::ffi::OsStr> = entries
        .iter()
        .map(|(_, n)| n.as_os_str())
        .filter(|n| {
            n.to_str()
                .is_some_and(|n| DATABASE_COMPANIONS.iter().any(|s| n.ends_with(s)))
        })
        .collect();
    for (entry, name) in &entries {
        let kind = entry.file_type()?;
        let Some(name_str) = name.to_str() else {
            scan.skipped.push((
                format!("{rel_dir}{}", name.to_string_lossy()),
                "the name is not valid UTF-8".into(),
            ));
            continue;
        };
        let rel = format!("{rel_dir}{name_str}");
        if kind.is_dir() {
            subdirs.push((entry.path(), format!("{rel}/")));
            scan.dirs.push(rel);
        } else if kind.is_file() {
            if companions.contains(name.as_os_str()) && is_companion(name_str, dir) {
                continue;
            }
            // Relative to the open folder: no path lookup from the root.
            let meta = entry.metadata()?;
            let mut key = SourceKey::of(&meta);
            if !companions.is_empty() {
                let wal = format!("{name_str}-wal");
                if companions.contains(std::ffi::OsStr::new(&wal)) {
                    if let Ok(m) = fs::metadata(dir.join(&wal)) {
                        key.wal = Some((m.len(), mtime_ns(&m)));
                    }
                }
            }
            scan.files.push(SourceFile {
                rel,
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
    Ok(())
}

/// Whether `name` in `dir` is a database's WAL, shared memory, journal or
/// lock (a file of that name without its suffix is beside it).
fn is_companion(name: &str, dir: &Path) -> bool {
    DATABASE_COMPANIONS.iter().any(|suffix| {
        name.strip_suffix(suffix)
            .is_some_and(|base| !base.is_empty() && dir.join(base).is_file())
    })
}

fn mtime_ns(meta: &fs::Metadata) -> i64 {
    meta.mtime()
        .saturating_mul(1_000_000_000)
        .saturating_add(meta.mtime_nsec())
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
        let mut s = scan(root).unwrap();
        s.files.sort_by(|a, b| a.rel.cmp(&b.rel));
        let rels: Vec<_> = s.files.iter().map(|f| f.rel.as_str()).collect();
        assert_eq!(
            rels,
            [
                "database/Photos.sqlite",
                "database/orphan-wal",
                "originals/A/x.heic"
            ]
        );
        assert!(s.files[0].key.wal.is_some(), "{:?}", s.files[0].key);
        assert!(s.files[2].key.wal.is_none());
        let text = s.files[0].key.to_string();
        assert!(text.contains(";wal:"), "{text}");
        assert_eq!(SourceKey::parse(&text), Some(s.files[0].key));
        assert_eq!(
            SourceKey::parse(&s.files[2].key.to_string()),
            Some(s.files[2].key)
        );
        assert_eq!(SourceKey::parse("recopy"), None);
        assert_eq!(s.dirs, ["database", "originals", "originals/A", "private"]);
        assert_eq!(s.skipped.len(), 1);
        assert_eq!(s.skipped[0].0, "originals/A/link");
    }
}
