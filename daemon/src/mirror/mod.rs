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

mod apply;
mod scan;
mod snapshot;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Instant;

use chrono::Utc;
use serde::Serialize;

use crate::catalog::{Catalog, CatalogError, RunCounts, RunStatus};
use crate::destination::{self, Destination, DestinationError, Enrol};
use crate::export::Progress;
use crate::versions::{self, Pruned, Retention};
use crate::write::{self, WriteError};

use apply::{make_dirs, remove_temporaries_under, Run};

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
    /// The destination is inside the library, or the library inside it.
    #[error("{} and {} overlap: photovault never writes inside a library, and a backup cannot hold its own source; choose a destination on another drive or folder", library.display(), dest.display())]
    Overlap {
        /// The library.
        library: PathBuf,
        /// The destination.
        dest: PathBuf,
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
    // Never write inside the library, nor mirror a backup into itself.
    let real = |p: &Path| std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf());
    let dest_abs = std::path::absolute(dest).unwrap_or_else(|_| dest.to_path_buf());
    let (lib_real, dest_real) = (real(&library), real(&dest_abs));
    if dest_real.starts_with(&lib_real) || lib_real.starts_with(&dest_real) {
        return Err(MirrorError::Overlap {
            library: library.clone(),
            dest: dest.to_path_buf(),
        });
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
            Some(c) => c.mirror_keys(&prefix, scan::SourceKey::parse),
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
            Some(key) if key != Some(file.key) => work.push(Item {
                file,
                action: Action::Changed,
            }),
            Some(_) => report.unchanged += 1,
        }
    }
    work.sort_unstable_by(|a, b| a.file.rel.cmp(&b.file.rel));
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
        library: &library,
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
