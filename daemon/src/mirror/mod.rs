//! The mirror engine: a copy of the whole `.photoslibrary` package that
//! Photos can open again, kept up to date like `rsync`, but safer.
//!
//! - Incremental: a file whose size and time (and, for a database, its
//!   WAL's) match the catalog's record of the last copy is not read at all;
//!   the destination is not even looked at, so FAT's 2-second times do not
//!   matter.
//! - Nothing is destroyed: a file that a run replaces or that left the
//!   library is moved to `Versions/<run stamp>/` first, and the catalog
//!   keeps which run wrote and which run moved every file, so a restore can
//!   rebuild the package as it was at any run.
//! - Databases are copied from a consistent snapshot ([`snapshot`]), never
//!   as raw bytes of a live file.
//! - A mass deletion in the library (by default more than 10 % of its
//!   originals gone since the last mirror) stops the run before it touches
//!   anything, until the user allows it.
//! - Names are never altered (the package must stay openable): a name the
//!   drive cannot store is an error naming the file.
//! - Files are written in batches ([`crate::write::Staged`]): each batch is
//!   made durable with one filesystem sync, then renamed into place.

mod scan;
mod snapshot;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use chrono::Utc;
use serde::Serialize;

use crate::catalog::{Catalog, CatalogError, MirrorFile, RunCounts, RunStatus};
use crate::destination::{self, Destination, DestinationError, Enrol};
use crate::export::Progress;
use crate::versions::{self, Pruned, Retention};
use crate::write::{self, Staged, WriteError};

/// The catalog's name for this engine's runs.
pub const ENGINE: &str = "mirror";

/// Where mirrored packages live on a destination.
pub const LIBRARY_DIR: &str = "Library";

/// Files per batch (one filesystem sync each).
const BATCH_FILES: usize = 512;
/// Bytes per batch.
const BATCH_BYTES: u64 = 256 << 20;
/// Files staged at once.
const WORKERS: usize = 3;

/// How to mirror.
#[derive(Debug, Clone)]
pub struct MirrorOptions {
    /// Plan only: write nothing at all.
    pub dry_run: bool,
    /// Whether the destination may be created.
    pub enrol: Enrol,
    /// Proceed even if the library lost many originals at once.
    pub allow_deletions: bool,
    /// The share of the mirrored originals (0.0–1.0) whose loss stops a run.
    pub deletion_guard: f64,
    /// What `Versions/` keeps, applied after a successful run.
    pub retention: Retention,
    /// Set to stop the run between two batches.
    pub cancel: Option<Arc<AtomicBool>>,
}

impl Default for MirrorOptions {
    fn default() -> Self {
        MirrorOptions {
            dry_run: false,
            enrol: Enrol::IfEmpty,
            allow_deletions: false,
            deletion_guard: 0.10,
            retention: Retention::default(),
            cancel: None,
        }
    }
}

/// Why a mirror run stopped as a whole.
#[derive(Debug, thiserror::Error)]
pub enum MirrorError {
    /// The source is not a Photos library package.
    #[error("{} is not a Photos library (it has no database/Photos.sqlite); give the path of a .photoslibrary package", path.display())]
    NotALibrary {
        /// The path given.
        path: PathBuf,
    },
    /// The package could not be listed.
    #[error("cannot read the library {}: {source}; check that it is there and readable (on macOS, give photovault Full Disk Access)", path.display())]
    Source {
        /// The folder.
        path: PathBuf,
        /// What the system said.
        #[source]
        source: std::io::Error,
    },
    /// The destination could not be used.
    #[error(transparent)]
    Destination(#[from] DestinationError),
    /// The catalog could not be read or written.
    #[error(transparent)]
    Catalog(#[from] CatalogError),
    /// The destination stopped accepting writes.
    #[error(transparent)]
    Write(#[from] WriteError),
    /// Old versions could not be cleaned up (the mirror itself is complete).
    #[error(transparent)]
    Prune(#[from] versions::PruneError),
    /// Too many originals left the library since the last mirror.
    #[error("the library has lost {lost} of its {total} originals since the last mirror ({percent:.0} %, more than the {limit:.0} % allowed); the mirror was not touched. If these deletions are intended, run the backup again allowing them (photovaultctl backup DEST --allow-deletions, or --allow-deletions here)", percent = *lost as f64 * 100.0 / *total as f64, limit = limit * 100.0)]
    MassDeletion {
        /// Originals gone.
        lost: u64,
        /// Originals in the mirror.
        total: u64,
        /// The configured share.
        limit: f64,
    },
    /// Not enough space for what the run must write.
    #[error("not enough space on {}: this mirror needs {needed} bytes ({} MiB) but {available} are free; free some space or use a larger drive, then run again (nothing was written)", path.display(), needed.div_ceil(1 << 20))]
    NotEnoughSpace {
        /// The destination.
        path: PathBuf,
        /// Bytes to write.
        needed: u64,
        /// Bytes available.
        available: u64,
    },
    /// The run was asked to stop.
    #[error("the mirror was stopped before it finished; run it again to complete it (what was written is kept)")]
    Cancelled,
}

/// A file the run reports on.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct FileNote {
    /// Path inside the package.
    pub path: String,
    /// What happened, or would happen.
    pub reason: String,
}

/// What a run did.
#[derive(Debug, Clone, Serialize)]
pub struct MirrorReport {
    /// The destination folder.
    pub destination: PathBuf,
    /// Where the package is, relative to the destination.
    pub package: String,
    /// Nothing was written.
    pub dry_run: bool,
    /// Files copied for the first time.
    pub new: u64,
    /// Files copied again because they changed (the old copy kept in Versions/).
    pub changed: u64,
    /// Files left as they were.
    pub unchanged: u64,
    /// Files gone from the library (moved to Versions/).
    pub deleted: u64,
    /// Databases copied from a snapshot.
    pub databases: u64,
    /// Bytes written.
    pub bytes: u64,
    /// Files that could not be copied, and why.
    pub errors: Vec<FileNote>,
    /// What was left out (links, special files).
    pub skipped: Vec<FileNote>,
    /// In a dry run, every file that would be written or moved.
    pub planned: Vec<FileNote>,
    /// What `Versions/` retention removed after the run.
    pub pruned: Pruned,
    /// Wall time.
    pub seconds: f64,
}

/// What the run does with one source file.
enum Action {
    New,
    Changed,
}

struct Item<'a> {
    file: &'a scan::SourceFile,
    action: Action,
}

/// Mirrors the library package at `library` into the destination `dest`.
pub fn mirror(
    library: &Path,
    dest: &Path,
    options: &MirrorOptions,
    progress: &dyn Progress,
) -> Result<MirrorReport, MirrorError> {
    let started = Instant::now();
    let run_started = Utc::now();
    let library = std::path::absolute(library).map_err(|source| MirrorError::Source {
        path: library.to_path_buf(),
        source,
    })?;
    if !library.join("database/Photos.sqlite").is_file() {
        return Err(MirrorError::NotALibrary { path: library });
    }
    let name = library
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "Photos Library.photoslibrary".into());
    let package = format!("{LIBRARY_DIR}/{name}");
    let prefix = format!("{package}/");
    let mut report = MirrorReport {
        destination: dest.to_path_buf(),
        package: package.clone(),
        dry_run: options.dry_run,
        new: 0,
        changed: 0,
        unchanged: 0,
        deleted: 0,
        databases: 0,
        bytes: 0,
        errors: Vec::new(),
        skipped: Vec::new(),
        planned: Vec::new(),
        pruned: Pruned::default(),
        seconds: 0.0,
    };

    // A dry run on a folder that is not a destination yet plans from nothing.
    let opened = if options.dry_run {
        Destination::open(dest, Enrol::Never).ok()
    } else {
        Some(Destination::open(dest, options.enrol)?)
    };
    let catalog = match &opened {
        Some(d) if options.dry_run => Some(Catalog::open_read_only(&d.catalog_path())?),
        Some(d) => Some(Catalog::open(&d.catalog_path())?),
        None => None,
    };
    // The package is listed on other threads while the catalog is read.
    let (recorded, source) = std::thread::scope(|scope| {
        let listing = scope.spawn(|| scan::scan(&library));
        let recorded = match &catalog {
            Some(c) => c.mirror_keys(&prefix),
            None => Ok(HashMap::new()),
        };
        let source = listing
            .join()
            .unwrap_or_else(|_| Err(std::io::Error::other("listing the library failed")));
        (recorded, source)
    });
    let mut recorded = recorded?;
    let source = source.map_err(|source| MirrorError::Source {
        path: library.clone(),
        source,
    })?;
    report.skipped = source
        .skipped
        .iter()
        .map(|(path, reason)| FileNote {
            path: path.clone(),
            reason: reason.clone(),
        })
        .collect();

    // What to copy; what is left of the records afterwards left the library.
    let is_original = |rel: &str| rel.starts_with("originals/") || rel.starts_with("Masters/");
    let total = recorded.keys().filter(|rel| is_original(rel)).count() as u64;
    let mut work = Vec::new();
    for file in &source.files {
        match recorded.remove(&file.rel) {
            None => work.push(Item {
                file,
                action: Action::New,
            }),
            Some(key) if key != file.key => work.push(Item {
                file,
                action: Action::Changed,
            }),
            Some(_) => report.unchanged += 1,
        }
    }
    let mut deleted: Vec<&str> = recorded.keys().map(String::as_str).collect();
    deleted.sort_unstable();

    // The mass-deletion guard, before anything is touched.
    let lost = deleted.iter().filter(|rel| is_original(rel)).count() as u64;
    if total > 0 && !options.allow_deletions && lost as f64 > total as f64 * options.deletion_guard
    {
        return Err(MirrorError::MassDeletion {
            lost,
            total,
            limit: options.deletion_guard,
        });
    }

    if options.dry_run {
        for item in &work {
            let reason = match item.action {
                Action::New => "new",
                Action::Changed => "changed (the old copy would move to Versions/)",
            };
            report.planned.push(FileNote {
                path: item.file.rel.clone(),
                reason: reason.into(),
            });
            match item.action {
                Action::New => report.new += 1,
                Action::Changed => report.changed += 1,
            }
            report.bytes += item.file.size;
        }
        for rel in &deleted {
            report.planned.push(FileNote {
                path: rel.to_string(),
                reason: "gone from the library (would move to Versions/)".into(),
            });
        }
        report.deleted = deleted.len() as u64;
        report.seconds = started.elapsed().as_secs_f64();
        return Ok(report);
    }
    let (Some(dest), Some(catalog)) = (opened, catalog) else {
        // Only a dry run goes on without a destination, and it has returned.
        return Err(DestinationError::NotADestination {
            path: dest.to_path_buf(),
        }
        .into());
    };

    let needed: u64 = work.iter().map(|i| i.file.size).sum();
    let available = write::available_space(dest.root()).unwrap_or(u64::MAX);
    if needed > available {
        return Err(MirrorError::NotEnoughSpace {
            path: dest.root().to_path_buf(),
            needed,
            available,
        });
    }

    let previous = catalog.last_run(ENGINE)?;
    let run = catalog.begin_run(ENGINE, run_started, &library.to_string_lossy(), "")?;
    let state = Run {
        dest: &dest,
        catalog: &catalog,
        run,
        stamp: destination::run_stamp(run_started),
        prefix: &prefix,
        options,
        progress,
    };
    let result = (|| {
        if previous.is_some_and(|r| r.status != RunStatus::Complete) {
            // An earlier run stopped midway: clear its temporary files.
            remove_temporaries_under(&dest.root().join(&package));
        }
        if !work.is_empty() || !deleted.is_empty() {
            make_dirs(&dest, &package, &source.dirs, &mut report)?;
        }
        state.copy_all(&work, &mut report)?;
        state.move_deleted(&deleted, &mut report)?;
        Ok(())
    })();
    let counts = RunCounts {
        exported: report.new,
        updated: report.changed,
        unchanged: report.unchanged,
        missing: 0,
        errors: report.errors.len() as u64,
        gone: report.deleted,
        bytes: report.bytes,
    };
    progress.finish();
    match result {
        Ok(()) => {
            catalog.finish_run(run, RunStatus::Complete, &counts, None, None, None)?;
            report.pruned = versions::prune(
                &dest,
                &catalog,
                &options.retention,
                &state.stamp,
                Utc::now(),
            )?;
            report.seconds = started.elapsed().as_secs_f64();
            Ok(report)
        }
        Err(e) => {
            let status = if matches!(e, MirrorError::Cancelled) {
                RunStatus::Interrupted
            } else {
                RunStatus::Failed
            };
            let _ = catalog.finish_run(run, status, &counts, None, None, Some(&e.to_string()));
            Err(e)
        }
    }
}

/// Creates the package's folders in the mirror (empty ones included: the
/// package must look to Photos as it did). A folder the drive refuses (its
/// name) is reported; a drive that went away stops the run.
fn make_dirs(
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
fn remove_temporaries_under(dir: &Path) {
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
struct Run<'a> {
    dest: &'a Destination,
    catalog: &'a Catalog,
    run: i64,
    stamp: String,
    prefix: &'a str,
    options: &'a MirrorOptions,
    progress: &'a dyn Progress,
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
    fn copy_all(&self, work: &[Item], report: &mut MirrorReport) -> Result<(), MirrorError> {
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
                    let result = stage(root, file, &target);
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
                        source_key: item.file.key.clone(),
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
                source_key: item.file.key.clone(),
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
        let versions_rel = format!("Versions/{}/{path}", self.stamp);
        let to = root.join(&versions_rel);
        if !from.exists() {
            self.catalog.forget_mirror_file(path)?;
            return Ok(());
        }
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
    fn move_deleted(&self, deleted: &[&str], report: &mut MirrorReport) -> Result<(), MirrorError> {
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
fn stage(root: &Path, file: &scan::SourceFile, target: &Path) -> Result<StagedFile, WriteError> {
    let database = snapshot::is_sqlite(&file.path).map_err(|e| WriteError::Source {
        path: file.path.clone(),
        source: e,
    })?;
    let staged = if database {
        write::stage_with_under(root, &file.path, target, file.mtime, |temp| {
            snapshot::snapshot(&file.path, temp)
        })?
    } else {
        write::stage_copy_under(root, &file.path, target, file.mtime)?
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

