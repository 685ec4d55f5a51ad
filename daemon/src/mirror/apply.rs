//! Carrying out a mirror run: folders, batches of staged files, moves to
//! `Versions/`, and the errors of single files told apart from those that
//! stop the run.

use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;

use super::{scan, snapshot, Action, FileNote, Item, MirrorError, MirrorOptions, MirrorReport};
use super::{BATCH_BYTES, BATCH_FILES, WORKERS};
use crate::catalog::{Catalog, MirrorFile};
use crate::destination::Destination;
use crate::export::Progress;
use crate::write::{self, Staged, WriteError};

/// Creates the package's folders in the mirror (empty ones included: the
/// package must look to Photos as it did). A folder the drive refuses (its
/// name) is reported; a drive that went away stops the run.
pub(super) fn make_dirs(
    dest: &Destination,
    package: &str,
    dirs: &[String],
    report: &mut MirrorReport,
) -> Result<(), MirrorError> {
    let base = dest.root().join(package);
    for dir in std::iter::once("").chain(dirs.iter().map(String::as_str)) {
        let path = base.join(dir);
        if !dest.root().is_dir() {
            return Err(WriteError::DestinationGone {
                path,
                source: std::io::Error::from_raw_os_error(libc::ENOENT),
            }
            .into());
        }
        if let Err(e) = std::fs::create_dir_all(&path) {
            let e = per_file(dest, WriteError::destination(&path, e, None))?;
            report.errors.push(FileNote {
                path: dir.to_string(),
                reason: explain(dir, &e),
            });
        }
    }
    Ok(())
}

/// `e` as the failure of one file, or the error that stops the run. A
/// filesystem that refuses a name may say ENOENT (exFAT through FUSE
/// does), which alone would read as a vanished drive: while the
/// destination is still there, it is one file's problem.
fn per_file(dest: &Destination, e: WriteError) -> Result<WriteError, MirrorError> {
    match e {
        WriteError::DestinationGone { path, source }
            if Destination::is_destination(dest.root()) =>
        {
            Ok(WriteError::Destination { path, source })
        }
        e if e.stops_run() => Err(e.into()),
        e => Ok(e),
    }
}

/// Removes leftover temporary files anywhere under `dir`.
pub(super) fn remove_temporaries_under(dir: &Path) {
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        if let Err(e) = write::remove_temporaries(&d) {
            tracing::warn!(dir = %d.display(), error = %e, "cannot remove temporary files");
        }
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for entry in entries.flatten() {
            if entry.file_type().is_ok_and(|t| t.is_dir()) {
                stack.push(entry.path());
            }
        }
    }
}

/// One run in progress.
pub(super) struct Run<'a> {
    /// The library package.
    pub(super) library: &'a Path,
    pub(super) dest: &'a Destination,
    pub(super) catalog: &'a Catalog,
    pub(super) run: i64,
    pub(super) stamp: String,
    pub(super) prefix: &'a str,
    pub(super) options: &'a MirrorOptions,
    pub(super) progress: &'a dyn Progress,
}

/// A file staged by a worker, or why it could not be.
struct StagedFile {
    staged: Staged,
    database: bool,
}

impl Run<'_> {
    fn cancelled(&self) -> bool {
        self.options
            .cancel
            .as_ref()
            .is_some_and(|c| c.load(Ordering::Relaxed))
    }

    /// Copies `work` in batches: stage a batch with a few workers, sync the
    /// filesystem once, move replaced files to Versions/, rename the new
    /// ones into place, sync again, record the batch in the catalog.
    pub(super) fn copy_all(
        &self,
        work: &[Item],
        report: &mut MirrorReport,
    ) -> Result<(), MirrorError> {
        let bytes: u64 = work.iter().map(|i| i.file.size).sum();
        self.progress.start(work.len() as u64, bytes);
        let mut start = 0;
        while start < work.len() {
            if self.cancelled() {
                return Err(MirrorError::Cancelled);
            }
            let mut end = start;
            let mut batch_bytes = 0;
            while end < work.len() && end - start < BATCH_FILES && batch_bytes < BATCH_BYTES {
                batch_bytes += work[end].file.size;
                end += 1;
            }
            self.copy_batch(&work[start..end], report)?;
            start = end;
        }
        Ok(())
    }

    fn copy_batch(&self, batch: &[Item], report: &mut MirrorReport) -> Result<(), MirrorError> {
        let root = self.dest.root();
        let results: Vec<Mutex<Option<Result<StagedFile, WriteError>>>> =
            batch.iter().map(|_| Mutex::new(None)).collect();
        let next = AtomicUsize::new(0);
        let stop = AtomicBool::new(false);
        let prefix = self.prefix;
        std::thread::scope(|scope| {
            for _ in 0..WORKERS.min(batch.len()) {
                scope.spawn(|| loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= batch.len() || stop.load(Ordering::Relaxed) {
                        break;
                    }
                    let file = batch[i].file;
                    let target = root.join(format!("{prefix}{}", file.rel));
                    let result = stage(root, &self.library.join(&file.rel), file, &target);
                    if result.as_ref().is_err_and(WriteError::stops_run) {
                        stop.store(true, Ordering::Relaxed);
                    }
                    if let Ok(mut slot) = results[i].lock() {
                        *slot = Some(result);
                    }
                });
            }
        });
        let mut results: Vec<Option<Result<StagedFile, WriteError>>> = results
            .into_iter()
            .map(|m| m.into_inner().unwrap_or_default())
            .collect();
        for slot in results.iter_mut() {
            if matches!(slot, Some(Err(_))) {
                if let Some(Err(e)) = slot.take() {
                    *slot = Some(Err(per_file(self.dest, e)?));
                }
            }
        }
        write::sync_filesystem(root)?;
        let mut done = Vec::new();
        for (item, result) in batch.iter().zip(results) {
            let rel = &item.file.rel;
            let staged = match result {
                Some(Ok(s)) => s,
                Some(Err(e)) => {
                    report.errors.push(FileNote {
                        path: rel.clone(),
                        reason: explain(rel, &e),
                    });
                    continue;
                }
                None => continue,
            };
            let path = format!("{}{rel}", self.prefix);
            let copied = staged.staged.copied();
            if matches!(item.action, Action::Changed) {
                // Touched but the same bytes (a database rewritten with
                // equal content, a file saved again): keep the copy there
                // is, and only remember the new time.
                let kept = self.catalog.mirror_file(&path)?.filter(|old| {
                    old.hash == copied.hash.to_hex().as_str()
                        && old.source_key != "recopy"
                        && self.dest.root().join(&path).is_file()
                });
                if let Some(old) = kept {
                    drop(staged.staged);
                    report.unchanged += 1;
                    self.progress.file_done(item.file.size);
                    // The copy, its time and the run that wrote it stay.
                    done.push(MirrorFile {
                        source_key: item.file.key.to_string(),
                        ..old
                    });
                    continue;
                }
                self.move_to_versions(&path)?;
            }
            if let Err(e) = staged.staged.commit() {
                let e = per_file(self.dest, e)?;
                report.errors.push(FileNote {
                    path: rel.clone(),
                    reason: explain(rel, &e),
                });
                continue;
            }
            match item.action {
                Action::New => report.new += 1,
                Action::Changed => report.changed += 1,
            }
            if staged.database {
                report.databases += 1;
            }
            report.bytes += copied.size;
            self.progress.file_done(item.file.size);
            done.push(MirrorFile {
                path,
                size: copied.size,
                mtime_ns: Some(item.file.mtime_ns),
                hash: copied.hash.to_hex().to_string(),
                source_key: item.file.key.to_string(),
                kind: if staged.database { "database" } else { "file" }.into(),
                run_id: self.run,
            });
        }
        write::sync_filesystem(root)?;
        self.catalog.transaction(|c| {
            for rec in &done {
                c.put_mirror_file(rec)?;
            }
            Ok(())
        })?;
        Ok(())
    }

    /// Moves the mirrored file at `path` to this run's `Versions/` folder
    /// (a rename on the same drive), recording it; a file already gone from
    /// the drive is only forgotten.
    fn move_to_versions(&self, path: &str) -> Result<(), MirrorError> {
        let root = self.dest.root();
        let from = root.join(path);
        if !from.exists() {
            self.catalog.forget_mirror_file(path)?;
            return Ok(());
        }
        let versions_rel = crate::versions::free_path(root, &self.stamp, path);
        let to = root.join(&versions_rel);
        if let Some(parent) = to.parent() {
            std::fs::create_dir_all(parent)
                .map_err(|e| WriteError::destination(parent, e, None))?;
        }
        std::fs::rename(&from, &to).map_err(|e| WriteError::destination(&to, e, None))?;
        self.catalog
            .move_mirror_to_versions(path, &versions_rel, self.run)?;
        Ok(())
    }

    /// Moves the files that left the library to `Versions/`.
    pub(super) fn move_deleted(
        &self,
        deleted: &[&str],
        report: &mut MirrorReport,
    ) -> Result<(), MirrorError> {
        for chunk in deleted.chunks(BATCH_FILES) {
            if self.cancelled() {
                return Err(MirrorError::Cancelled);
            }
            for rel in chunk {
                self.move_to_versions(&format!("{}{rel}", self.prefix))?;
                report.deleted += 1;
            }
            write::sync_filesystem(self.dest.root())?;
        }
        Ok(())
    }
}

/// Stages one source file: a database from a snapshot, anything else as
/// its bytes.
fn stage(
    root: &Path,
    source: &Path,
    file: &scan::SourceFile,
    target: &Path,
) -> Result<StagedFile, WriteError> {
    let database = snapshot::is_sqlite(source).map_err(|e| WriteError::Source {
        path: source.to_path_buf(),
        source: e,
    })?;
    let staged = if database {
        write::stage_with_under(root, source, target, file.mtime, |temp| {
            snapshot::snapshot(source, temp)
        })?
    } else {
        write::stage_copy_under(root, source, target, file.mtime)?
    };
    Ok(StagedFile { staged, database })
}

/// The error for one file, in words that name it; a name the drive's
/// filesystem refuses says so.
fn explain(rel: &str, e: &WriteError) -> String {
    const FAT_ILLEGAL: [char; 7] = [':', '*', '?', '"', '<', '>', '|'];
    let name = rel.rsplit('/').next().unwrap_or(rel);
    let refused_name = matches!(e, WriteError::Destination { source, .. }
        if source.raw_os_error() == Some(libc::EINVAL)
            || (source.raw_os_error() == Some(libc::ENOENT) && (name.contains(FAT_ILLEGAL) || name.ends_with(['.', ' ']))));
    if refused_name {
        format!("this drive cannot store the name {rel:?} (FAT and exFAT refuse : * ? \" < > | and trailing dots or spaces); names in a library are never changed, so mirror this library to a drive formatted APFS, Mac OS Extended or ext4 ({e})")
    } else {
        e.to_string()
    }
}
