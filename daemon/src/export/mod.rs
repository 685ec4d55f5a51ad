//! The export engine: originals, edits, live videos, RAW pairs and AAE files
//! copied out of a library into a plain folder tree, with XMP sidecars,
//! kept up to date incrementally and never losing anything.
//!
//! A run:
//! 1. reads Photos' history position and the database files' size and
//!    time. If both are where the last complete run left them, with the same
//!    options, nothing can have changed, and the run ends there. It also
//!    ends there when the history moved on but records only changes to
//!    entities the reader never reads (Photos' background analysis:
//!    moments, highlights, face prints). Assets waiting for an original
//!    (cloud-only) do not prevent this: the catalog lists the files each
//!    waits for, and only those paths are looked for on disk; an asset
//!    whose file has arrived, or which failed last time, is read again.
//! 2. reads the assets the history names and those due again (or, when
//!    they cannot be named, the whole library, one snapshot) and their
//!    catalog records, and plans
//!    each asset: an asset whose fingerprint is unchanged costs nothing; a
//!    changed one rewrites only files whose source key changed.
//! 3. checks free space for what it will write, then writes each file
//!    atomically. A file it replaces moves to `Versions/<run>/` first.
//! 4. marks assets no longer in the library as gone; their files stay.

mod apply;
mod copier;
pub mod naming;
pub mod plan;
pub mod xmp;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Instant;

use chrono::Utc;
use rustc_hash::FxHashSet;
use serde::Serialize;

use crate::catalog::{AssetRecord, AssetRecords, Catalog, CatalogError, RunCounts, RunStatus};
use crate::destination::{Destination, DestinationError, Enrol};
use crate::library::{Asset, HistoryChanges, LibraryError, PhotosLibrary};
use crate::write::WriteError;

pub use naming::FolderTemplate;

/// The catalog's name for this engine's runs.
pub const ENGINE: &str = "export";

/// How to export.
#[derive(Debug, Clone)]
pub struct ExportOptions {
    /// Folder layout under `Export/`.
    pub template: FolderTemplate,
    /// Write an XMP sidecar beside every asset.
    pub sidecars: bool,
    /// Plan only: write nothing at all.
    pub dry_run: bool,
    /// Also check that every catalogued file is there with its size, and
    /// rewrite those that are not.
    pub check: bool,
    /// Whether the destination may be created.
    pub enrol: Enrol,
    /// Set to stop the run between two files.
    pub cancel: Option<Arc<AtomicBool>>,
}

impl Default for ExportOptions {
    fn default() -> Self {
        ExportOptions {
            template: FolderTemplate::default(),
            sidecars: true,
            dry_run: false,
            check: false,
            enrol: Enrol::IfEmpty,
            cancel: None,
        }
    }
}

impl ExportOptions {
    /// Digest of the options that shape the output: a change means the
    /// history shortcut cannot be trusted.
    fn key(&self) -> String {
        format!("template={};sidecars={}", self.template, self.sidecars)
    }

    fn cancelled(&self) -> bool {
        self.cancel
            .as_ref()
            .is_some_and(|c| c.load(Ordering::Relaxed))
    }
}

/// Why a run stopped as a whole (one asset's failure does not stop it).
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// The library could not be read.
    #[error(transparent)]
    Library(#[from] LibraryError),
    /// The destination could not be used.
    #[error(transparent)]
    Destination(#[from] DestinationError),
    /// The catalog could not be read or written.
    #[error(transparent)]
    Catalog(#[from] CatalogError),
    /// Not enough space for what the run must write.
    #[error("not enough space on {path}: this export needs {needed} more bytes ({} MiB) than the {available} bytes free; free some space or use a larger drive, then run again (nothing was written)", needed.div_ceil(1 << 20))]
    NotEnoughSpace {
        /// The destination.
        path: PathBuf,
        /// Bytes missing.
        needed: u64,
        /// Bytes available.
        available: u64,
    },
    /// The destination stopped accepting writes (full, removed, read-only).
    #[error(transparent)]
    Write(#[from] WriteError),
    /// The run was asked to stop.
    #[error("the export was stopped before it finished; run it again to complete it (what was written is kept)")]
    Cancelled,
}

/// Something the run reports about one asset.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct AssetNote {
    /// Photos' uuid.
    pub uuid: String,
    /// The asset's original file name.
    pub filename: String,
    /// What happened.
    pub reason: String,
}

/// One file a run wrote (or, in a dry run, would write).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct WrittenFile {
    /// Path relative to the destination.
    pub path: String,
    /// Role of the file.
    pub role: &'static str,
    /// Size in bytes (as Photos records it, for a dry run).
    pub bytes: Option<u64>,
    /// "new", "changed", "missing", "wrong size" or "unrecorded".
    pub why: &'static str,
}

/// What a run did.
#[derive(Debug, Clone, Serialize)]
pub struct ExportReport {
    /// The destination folder.
    pub destination: PathBuf,
    /// Nothing was written.
    pub dry_run: bool,
    /// The library had not changed since the last complete run.
    pub up_to_date: bool,
    /// Counts of assets and bytes.
    #[serde(flatten)]
    pub counts: RunCounts,
    /// Assets whose original is not on disk (exported by a later run).
    pub missing_assets: Vec<AssetNote>,
    /// Assets that failed, with the reason.
    pub failures: Vec<AssetNote>,
    /// In a dry run, the files that would be written (empty otherwise:
    /// listing every file of a first export would be a report of its own).
    pub files: Vec<WrittenFile>,
    /// Wall time of the run.
    pub seconds: f64,
}

/// Receives progress while files are written.
pub trait Progress: Sync {
    /// The run will write `files` files totalling about `bytes` bytes.
    fn start(&self, files: u64, bytes: u64);
    /// One more file is done, of `bytes` bytes.
    fn file_done(&self, bytes: u64);
    /// The run is over.
    fn finish(&self);
}

/// Progress that goes nowhere.
pub struct NoProgress;

impl Progress for NoProgress {
    fn start(&self, _: u64, _: u64) {}
    fn file_done(&self, _: u64) {}
    fn finish(&self) {}
}

/// Exports the library at `library_path` to the destination folder `dest`.
pub fn export(
    library_path: &Path,
    dest: &Path,
    options: &ExportOptions,
    progress: &dyn Progress,
) -> Result<ExportReport, ExportError> {
    let started = Instant::now();
    let run_started = Utc::now();
    let library = PhotosLibrary::open(library_path)?;
    let mut report = ExportReport {
        destination: dest.to_path_buf(),
        dry_run: options.dry_run,
        up_to_date: false,
        counts: RunCounts::default(),
        missing_assets: Vec::new(),
        failures: Vec::new(),
        files: Vec::new(),
        seconds: 0.0,
    };

    // A dry run opens nothing for writing: against a folder that is not yet
    // a destination it plans as if the catalog were empty.
    let destination = if options.dry_run && !Destination::is_destination(dest) {
        if options.enrol != Enrol::Always && folder_has_entries(dest) {
            return Err(DestinationError::NotEmpty {
                path: dest.to_path_buf(),
            }
            .into());
        }
        None
    } else {
        Some(Destination::open(
            dest,
            if options.dry_run {
                Enrol::Never
            } else {
                options.enrol
            },
        )?)
    };
    let catalog = match &destination {
        Some(d) if options.dry_run => Some(Catalog::open_read_only(&d.catalog_path())?),
        Some(d) => Some(Catalog::open(&d.catalog_path())?),
        None => None,
    };
    let stamp = library.database_stamp();
    let history = library.history_position()?.map(|h| h.transaction);
    let source = library.root().to_string_lossy().into_owned();
    let last = match &catalog {
        Some(c) => c.last_run(ENGINE)?,
        None => None,
    };
    let present = match &catalog {
        Some(c) => c.assets_present()?,
        None => 0,
    };
    // The run may end here when the last complete run, with the same
    // options and source, left nothing to do now, and either the library's
    // database is exactly as it was then, or Photos' history since then
    // records only changes the reader never looks at. When the history
    // names the few assets that changed, only those are read, with the
    // assets that wait for a file that has now arrived (or failed before).
    let comparable = last.as_ref().filter(|l| {
        !options.check
            && history.is_some()
            && l.status == RunStatus::Complete
            && l.options_key == options.key()
            && l.source.as_deref() == Some(source.as_str())
    });
    let changes = match comparable {
        Some(l) if l.history == history && l.source_stamp.as_deref() == Some(stamp.as_str()) => {
            HistoryChanges::Nothing
        }
        Some(l) => match l.history {
            Some(_)
                if !l
                    .source_stamp
                    .as_deref()
                    .is_some_and(|s| PhotosLibrary::same_database(s, &stamp)) =>
            {
                HistoryChanges::Anything("another library is at this path".into())
            }
            Some(since) if history > Some(since) => {
                library.changes_since(since, narrow_limit(present))?
            }
            _ => HistoryChanges::Anything("the library changed outside its history".into()),
        },
        None => HistoryChanges::Anything("no earlier complete run to compare with".into()),
    };
    let changes = match (changes, &catalog) {
        (HistoryChanges::Anything(why), _) => HistoryChanges::Anything(why),
        (changes, None) => changes,
        (changes, Some(c)) => with_due_assets(&library, c, changes, narrow_limit(present))?,
    };
    let input = match &changes {
        HistoryChanges::Nothing => {
            report.up_to_date = true;
            report.counts.unchanged = present;
            if let Some(c) = &catalog {
                count_every_missing(c, &mut report.counts)?;
            }
            if let (Some(c), false) = (&catalog, options.dry_run) {
                let run = c.begin_run(ENGINE, run_started, &source, &options.key())?;
                c.finish_run(
                    run,
                    RunStatus::Complete,
                    &report.counts,
                    history,
                    Some(&stamp),
                    None,
                )?;
            }
            report.seconds = started.elapsed().as_secs_f64();
            return Ok(report);
        }
        HistoryChanges::Assets(pks) => {
            read_named(&library, catalog.as_ref(), pks, options, present)?
        }
        HistoryChanges::Anything(why) => read_everything(&library, catalog.as_ref(), options, why)?,
    };
    let assets: Vec<&Asset> = input.assets.iter().filter(|a| !a.trashed).collect();
    let known = &input.known;

    let mut engine = apply::Engine::new(
        destination.as_ref(),
        catalog.as_ref(),
        options,
        run_started,
        known,
    );
    let plans = engine.plan(&assets, library.root())?;

    if !options.dry_run {
        if let (Some(d), Some(c)) = (&destination, &catalog) {
            engine.check_space(d.root(), &plans)?;
            engine.run = Some(c.begin_run(ENGINE, run_started, &source, &options.key())?);
            if last
                .as_ref()
                .is_some_and(|l| l.status != RunStatus::Complete)
            {
                engine.remove_leftovers()?;
            }
        }
    }

    let nothing_to_do = plans.is_empty();
    let result = engine.apply(plans, progress, &mut report);
    progress.finish();
    // Gone: catalogued, still counted in the library, and not in it now; a
    // run that read only some assets judges only those.
    let gone: Vec<String> = known
        .values()
        .filter(|a| a.gone_since.is_none() && !input.in_library.contains(a.uuid.as_str()))
        .filter(|a| {
            input
                .only
                .as_ref()
                .is_none_or(|o| o.contains(a.uuid.as_str()))
        })
        .map(|a| a.uuid.clone())
        .collect();
    report.counts.gone = gone.len() as u64;
    report.counts.unchanged += input.unchanged_unplanned;
    report.up_to_date = nothing_to_do && gone.is_empty() && result.is_ok();
    report.seconds = started.elapsed().as_secs_f64();
    if let (Some(c), Some(run)) = (&catalog, engine.run) {
        let (status, error) = match &result {
            Ok(()) => (RunStatus::Complete, None),
            Err(ExportError::Cancelled) => (
                RunStatus::Interrupted,
                Some(ExportError::Cancelled.to_string()),
            ),
            Err(e) => (RunStatus::Failed, Some(e.to_string())),
        };
        if result.is_ok() {
            c.mark_gone(&gone, run_started)?;
        }
        count_every_missing(c, &mut report.counts)?;
        c.finish_run(
            run,
            status,
            &report.counts,
            history,
            Some(&stamp),
            error.as_deref(),
        )?;
    }
    result.map(|()| report)
}

/// Counts as missing every asset still waiting for its original, whether
/// the run looked at it (and counted it missing) or counted it unchanged
/// without reading it: every run's summary then says how many originals
/// the backup lacks.
fn count_every_missing(catalog: &Catalog, counts: &mut RunCounts) -> Result<(), ExportError> {
    let missing = catalog.missing_originals()?;
    let unread = missing.saturating_sub(counts.missing);
    counts.unchanged = counts.unchanged.saturating_sub(unread);
    counts.missing = missing;
    Ok(())
}

/// Adds to what the history names the assets a run must look at again:
/// those waiting for a file that is now on disk (a cloud-only original
/// downloaded), those a file of which failed at the last run, and those an
/// older photovault recorded as missing without saying what they wait for.
/// Only the waiting paths are checked, each folder listed once, so a
/// library with thousands of cloud-only originals stays a no-op when
/// nothing changed. More than `limit`: the whole library is read instead.
fn with_due_assets(
    library: &PhotosLibrary,
    catalog: &Catalog,
    changes: HistoryChanges,
    limit: usize,
) -> Result<HistoryChanges, ExportError> {
    let waiting = catalog.waiting_assets()?;
    if waiting.is_empty() {
        return Ok(changes);
    }
    let paths = waiting
        .iter()
        .flat_map(|w| w.paths.iter().map(String::as_str));
    let on_disk = library.files_on_disk(paths);
    let mut due = Vec::new();
    let mut next = 0;
    for w in &waiting {
        let answers = &on_disk[next..next + w.paths.len()];
        next += w.paths.len();
        if answers.contains(&true) || w.failed || w.unknown {
            due.push(w.uuid.as_str());
        }
    }
    if due.is_empty() {
        return Ok(changes);
    }
    if due.len() > limit {
        return Ok(HistoryChanges::Anything(format!(
            "{} assets wait for files that are now on disk, or failed before",
            due.len()
        )));
    }
    tracing::debug!(
        assets = due.len(),
        "assets due again: files arrived, or failed before"
    );
    let mut pks = library.asset_keys(&due)?;
    if pks.is_empty() {
        return Ok(changes);
    }
    if let HistoryChanges::Assets(named) = changes {
        pks.extend(named);
    }
    pks.sort_unstable();
    pks.dedup();
    if pks.len() > limit {
        return Ok(HistoryChanges::Anything(
            "too many assets changed or are due again".into(),
        ));
    }
    Ok(HistoryChanges::Assets(pks))
}

/// Up to how many assets a run reads one by one, from the history's list,
/// before reading the whole library instead: a quarter of the library
/// (reading by key costs more per asset than one pass over all of them).
fn narrow_limit(assets_in_library: u64) -> usize {
    usize::try_from(assets_in_library / 4)
        .unwrap_or(usize::MAX)
        .max(1000)
}

/// What a run works on.
struct RunInput {
    /// The assets to plan, trashed ones included, ordered by capture time
    /// then uuid.
    assets: Vec<Asset>,
    /// The catalog's records to compare them with.
    known: AssetRecords,
    /// The uuids of the assets in the library (not trashed) among those the
    /// run judges.
    in_library: FxHashSet<String>,
    /// When the run read only some assets, their uuids: the run judges
    /// nothing else (in particular, no other asset is gone).
    only: Option<FxHashSet<String>>,
    /// Assets in the library that are unchanged and were not handed to
    /// the plan at all.
    unchanged_unplanned: u64,
}

/// Reads the assets the history names (by primary key), with the catalog
/// records to compare them with; everything when one of them is gone.
/// `present` is the catalog's count of assets in the library.
fn read_named(
    library: &PhotosLibrary,
    catalog: Option<&Catalog>,
    pks: &[i64],
    options: &ExportOptions,
    present: u64,
) -> Result<RunInput, ExportError> {
    let assets = library.read_assets(pks)?;
    if assets.len() != pks.len() {
        return read_everything(
            library,
            catalog,
            options,
            "an asset named by the history is no longer in the library",
        );
    }
    tracing::debug!(
        assets = assets.len(),
        "reading only the assets the history names"
    );
    let uuids: Vec<&str> = assets.iter().map(|a| a.uuid.as_str()).collect();
    let mut known = match catalog {
        Some(c) => c.assets_with_uuids(&uuids)?,
        None => AssetRecords::default(),
    };
    // A new asset needs a name, chosen against every name already taken.
    if let Some(c) = catalog {
        if assets
            .iter()
            .any(|a| !a.trashed && !known.contains_key(&a.uuid))
        {
            known = c.assets()?;
        }
    }
    let only: FxHashSet<String> = uuids.into_iter().map(str::to_string).collect();
    // The assets not read are unchanged by the history's own account.
    let read_present = known
        .values()
        .filter(|a| a.gone_since.is_none() && only.contains(&a.uuid))
        .count() as u64;
    Ok(RunInput {
        in_library: assets
            .iter()
            .filter(|a| !a.trashed)
            .map(|a| a.uuid.clone())
            .collect(),
        assets,
        known,
        only: Some(only),
        unchanged_unplanned: present.saturating_sub(read_present),
    })
}

/// Reads every asset, keeping only those the plan has work for: each
/// unchanged one is dropped as soon as its fingerprint is compared.
///
/// The catalog's records are loaded on a second thread, with their own
/// connection, while the library's keywords, albums and persons are read
/// (the first asset waits for them): on two cores the two reads overlap.
fn read_everything(
    library: &PhotosLibrary,
    catalog: Option<&Catalog>,
    options: &ExportOptions,
    why: &str,
) -> Result<RunInput, ExportError> {
    tracing::debug!(why, "reading every asset");
    let Some(catalog) = catalog else {
        let selection = library.read_selected(&|a: &Asset| !a.trashed)?;
        return Ok(RunInput {
            unchanged_unplanned: 0,
            in_library: selection.in_library.into_iter().collect(),
            assets: selection.assets,
            known: AssetRecords::default(),
            only: None,
        });
    };
    let path = catalog.path();
    // `None` when the loading thread ended without a word (it panicked):
    // then every asset is kept, and the records are loaded here after.
    type Loaded = Option<Result<AssetRecords, CatalogError>>;
    let known: OnceLock<Loaded> = OnceLock::new();
    let (sender, receiver) = std::sync::mpsc::sync_channel(1);
    let receiver = Mutex::new(receiver);
    let wait_for_known = || known.get_or_init(|| receiver.lock().ok().and_then(|r| r.recv().ok()));
    let selection = std::thread::scope(|scope| {
        scope.spawn(move || {
            let records = Catalog::open_read_only(path).and_then(|c| c.assets());
            let _ = sender.send(records);
        });
        let keep = |a: &Asset| match wait_for_known() {
            Some(Ok(known)) => {
                !a.trashed
                    && !known
                        .get(&a.uuid)
                        .is_some_and(|r| apply::settled(r, a, options.check))
            }
            // Reported below; keeping everything until then is harmless.
            _ => !a.trashed,
        };
        library.read_selected(&keep)
    })?;
    wait_for_known();
    let known = match known.into_inner().flatten() {
        Some(known) => known?,
        None => catalog.assets()?,
    };
    Ok(RunInput {
        unchanged_unplanned: selection
            .in_library
            .len()
            .saturating_sub(selection.assets.len()) as u64,
        in_library: selection.in_library.into_iter().collect(),
        assets: selection.assets,
        known,
        only: None,
    })
}

fn folder_has_entries(dir: &Path) -> bool {
    std::fs::read_dir(dir).is_ok_and(|mut e| e.next().is_some())
}

/// What the engine remembers of an asset across runs, as it decides.
pub(crate) fn fresh_record(asset: &Asset, folder: String, stem: String) -> AssetRecord {
    AssetRecord {
        uuid: asset.uuid.clone(),
        folder,
        stem,
        fingerprint: None,
        original_missing: false,
        failed: false,
        gone_since: None,
        waiting: Vec::new(),
    }
}
