//! What there is to organize: the files of a folder (walked safely) or the
//! resources of a Photos library's assets.
//!
//! A folder is walked in name order (so runs are reproducible), following
//! symbolic links to files and folders but never into a folder already
//! being walked: a link that loops back is reported and skipped, and the
//! walk goes on. Hidden files (`.DS_Store`, `._` AppleDouble files),
//! `.photoslibrary` packages and the destination itself (when it lies inside
//! the source) are not media to organize.

use std::collections::HashSet;
use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

/// A source file found by the walk.
#[derive(Debug, Clone)]
pub struct FoundFile {
    /// Its path (through any links, as the walk found it).
    pub path: PathBuf,
    /// Its path relative to the source folder, for the report.
    pub rel: String,
    /// Its size.
    pub size: u64,
    /// Its modification time.
    pub modified: SystemTime,
}

/// Something the walk could not enter or read, for the report.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct WalkProblem {
    /// The path concerned.
    pub path: String,
    /// What happened.
    pub reason: String,
}

/// Walks `root`, skipping `exclude` (the destination) and what is not a
/// candidate; returns the files in a deterministic order and the problems.
pub fn walk_folder(root: &Path, exclude: Option<&Path>) -> (Vec<FoundFile>, Vec<WalkProblem>) {
    let mut files = Vec::new();
    let mut problems = Vec::new();
    let mut ancestors = HashSet::new();
    let exclude = exclude.and_then(|p| fs::canonicalize(p).ok());
    walk(
        root,
        root,
        &mut ancestors,
        exclude.as_deref(),
        &mut files,
        &mut problems,
    );
    (files, problems)
}

fn walk(
    root: &Path,
    dir: &Path,
    ancestors: &mut HashSet<(u64, u64)>,
    exclude: Option<&Path>,
    files: &mut Vec<FoundFile>,
    problems: &mut Vec<WalkProblem>,
) {
    let problem = |path: &Path, reason: String| WalkProblem {
        path: path.display().to_string(),
        reason,
    };
    let meta = match fs::metadata(dir) {
        Ok(m) => m,
        Err(e) => {
            problems.push(problem(dir, format!("cannot be read ({e}); skipped")));
            return;
        }
    };
    let id = (meta.dev(), meta.ino());
    if !ancestors.insert(id) {
        problems.push(problem(
            dir,
            "a symbolic link loop: this folder leads back into itself; skipped".into(),
        ));
        return;
    }
    let mut entries: Vec<_> = match fs::read_dir(dir) {
        Ok(rd) => rd.filter_map(Result::ok).collect(),
        Err(e) => {
            problems.push(problem(dir, format!("cannot be listed ({e}); skipped")));
            ancestors.remove(&id);
            return;
        }
    };
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') {
            continue;
        }
        if exclude.is_some_and(|x| fs::canonicalize(&path).is_ok_and(|p| p == x)) {
            continue;
        }
        // Follows links: a link to a file is organized as that file.
        let meta = match fs::metadata(&path) {
            Ok(m) => m,
            Err(e) => {
                let why = if e.raw_os_error() == Some(libc::ELOOP) {
                    "a symbolic link loop; skipped".to_string()
                } else {
                    format!("cannot be read ({e}); skipped")
                };
                problems.push(problem(&path, why));
                continue;
            }
        };
        if meta.is_dir() {
            if name.to_lowercase().ends_with(".photoslibrary") {
                problems.push(problem(
                    &path,
                    "a Photos library inside the folder; organize it with --library".into(),
                ));
                continue;
            }
            walk(root, &path, ancestors, exclude, files, problems);
        } else if meta.is_file() {
            let rel = path
                .strip_prefix(root)
                .unwrap_or(&path)
                .to_string_lossy()
                .into_owned();
            files.push(FoundFile {
                path,
                rel,
                size: meta.len(),
                modified: meta.modified().unwrap_or(SystemTime::UNIX_EPOCH),
            });
        }
    }
    ancestors.remove(&id);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn walks_in_order_and_survives_link_loops() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("src");
        fs::create_dir_all(root.join("b/inner")).unwrap();
        fs::write(root.join("b/inner/z.jpg"), b"z").unwrap();
        fs::write(root.join("a.jpg"), b"a").unwrap();
        fs::write(root.join(".DS_Store"), b"x").unwrap();
        std::os::unix::fs::symlink(&root, root.join("b/inner/loop")).unwrap();
        std::os::unix::fs::symlink("self", root.join("self")).unwrap();
        fs::create_dir_all(root.join("Old.photoslibrary")).unwrap();
        let (files, problems) = walk_folder(&root, None);
        let rels: Vec<_> = files.iter().map(|f| f.rel.as_str()).collect();
        assert_eq!(rels, vec!["a.jpg", "b/inner/z.jpg"]);
        assert_eq!(problems.len(), 3, "{problems:?}");
        assert!(problems
            .iter()
            .any(|p| p.path.ends_with("loop") && p.reason.contains("loop")));
        assert!(problems
            .iter()
            .any(|p| p.path.ends_with("self") && p.reason.contains("loop")));
        assert!(problems.iter().any(|p| p.reason.contains("--library")));
    }

    #[test]
    fn a_root_that_is_a_loop_is_reported() {
        let dir = tempfile::tempdir().unwrap();
        let looped = dir.path().join("loop");
        std::os::unix::fs::symlink(&looped, &looped).unwrap();
        let (files, problems) = walk_folder(&looped, None);
        assert!(files.is_empty());
        assert_eq!(problems.len(), 1);
    }

    #[test]
    fn the_destination_inside_the_source_is_skipped() {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir_all(dir.path().join("out/Organized")).unwrap();
        fs::write(dir.path().join("out/Organized/x.jpg"), b"x").unwrap();
        fs::write(dir.path().join("y.jpg"), b"y").unwrap();
        let (files, _) = walk_folder(dir.path(), Some(&dir.path().join("out")));
        assert_eq!(files.len(), 1);
    }
}
