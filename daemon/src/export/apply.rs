//! Deciding what each asset needs and carrying it out, file by file.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use chrono::{DateTime, Utc};

use crate::catalog::{AssetRecord, AssetRecords, Catalog, FileRecord};
use crate::destination::Destination;
use crate::library::Asset;
use crate::write::{self, WriteError};

use super::copier::{Content, Copier, Done, Job};
use super::naming::{self, FolderNames};
use super::plan::{self, PlannedFile, Source};
use super::{
    fresh_record, xmp, AssetNote, ExportError, ExportOptions, ExportReport, Progress, WrittenFile,
};

/// Files staged per batch: each batch costs two filesystem syncs, so a
/// batch of small files costs what one file synced on its own used to.
/// Each staged file holds a descriptor until it is committed.
const BATCH_FILES: usize = 256;
/// Bytes staged per batch: bounds what a sync has to write out at once, so
/// progress moves and a stop is acted on within seconds.
const BATCH_BYTES: u64 = 256 << 20;

/// The copying part of a run: assets waiting for files, the staged batch,
/// and why the run stops, if it does.
struct InFlight<'a> {
    /// The destination's root, which every batch is synced through.
    root: PathBuf,
    pending: HashMap<usize, Pending<'a>>,
    /// Staged files: (asset, file of the asset, the staged file).
    batch: Vec<(usize, usize, write::Staged)>,
    batch_bytes: u64,
    stop: Option<ExportError>,
}

/// An asset whose files are being copied.
struct Pending<'a> {
    work: AssetWork<'a>,
    files: Vec<(PlannedFile, String)>,
    remaining: usize,
    failure: Option<String>,
    wrote_any: bool,
    /// The asset's record is in the catalog. A new asset's is saved before
    /// the first batch holding one of its files is renamed into place, so
    /// that a run killed after the renames resumes with the same names
    /// (and adopts the files) instead of choosing new ones.
    reserved: bool,
}

/// One asset's work for this run.
pub(super) struct AssetWork<'a> {
    asset: &'a Asset,
    record: AssetRecord,
    is_new: bool,
    writes: Vec<(PlannedFile, &'static str)>,
    /// Catalogued files the asset no longer has (a reverted edit): they move
    /// to `Versions/`.
    retire: Vec<FileRecord>,
    original_missing: bool,
    /// The record needs saving even with nothing to write.
    touch: bool,
}

/// Whether the asset was completely exported as it is now: same
/// fingerprint, nothing failed, and none of the files it waited for (a
/// cloud-only original) has arrived. An asset whose original is still
/// missing is exported as far as it can be: the run that finds the original
/// on disk finishes it.
fn exported_as_is(rec: &AssetRecord, asset: &Asset) -> bool {
    // Recorded by a photovault that did not list what the asset waited for.
    let waits_unknown = rec.original_missing && rec.waiting.is_empty();
    rec.fingerprint.as_deref() == Some(asset.fingerprint.as_str())
        && !rec.failed
        && !waits_unknown
        && !arrived(rec, asset)
}

/// Whether a file the asset waited for at its last run is on disk now.
fn arrived(rec: &AssetRecord, asset: &Asset) -> bool {
    !rec.waiting.is_empty()
        && asset.resources.iter().any(|r| {
            r.present
                && r.path
                    .as_deref()
                    .is_some_and(|p| rec.waiting.iter().any(|w| p.as_os_str() == w.as_str()))
        })
}

/// The source files of the asset that are not on disk now, as the catalog
/// keeps them ([`AssetRecord::waiting`]).
fn waiting_for(asset: &Asset) -> Vec<String> {
    asset
        .resources
        .iter()
        .filter(|r| !r.present)
        .filter_map(|r| r.path.as_deref())
        .map(|p| p.to_string_lossy().into_owned())
        .collect()
}

/// Whether a run has nothing to do for the asset: exported as it is, still
/// counted in the library, and no `--check`. [`Engine::plan`] skips such an
/// asset; a run may drop it before planning.
pub(super) fn settled(rec: &AssetRecord, asset: &Asset, check: bool) -> bool {
    exported_as_is(rec, asset) && !check && rec.gone_since.is_none()
}

/// State of one run.
pub(super) struct Engine<'a> {
    dest: Option<&'a Destination>,
    catalog: Option<&'a Catalog>,
    options: &'a ExportOptions,
    run_started: DateTime<Utc>,
    known: &'a AssetRecords,
    /// The run's number in the catalog, once begun.
    pub(super) run: Option<i64>,
    unchanged: u64,
}

impl<'a> Engine<'a> {
    pub(super) fn new(
        dest: Option<&'a Destination>,
        catalog: Option<&'a Catalog>,
        options: &'a ExportOptions,
        run_started: DateTime<Utc>,
        known: &'a AssetRecords,
    ) -> Self {
        Engine {
            dest,
            catalog,
            options,
            run_started,
            known,
            run: None,
            unchanged: 0,
        }
    }

    /// Decides, for every asset, which files to write and which to retire.
    /// Unchanged assets cost a map lookup and a string comparison.
    pub(super) fn plan(
        &mut self,
        assets: &[&'a Asset],
        root: &Path,
    ) -> Result<Vec<AssetWork<'a>>, ExportError> {
        // Folders are compared as the filesystem may: "Trip" and "trip" are
        // one folder on a case-insensitive drive, with one set of names.
        let mut folders: HashMap<String, FolderNames> = HashMap::new();
        // The names taken in each folder, gathered only when a new asset
        // needs a name: an incremental run without new assets skips it.
        let mut stems_by_folder: Option<HashMap<String, Vec<String>>> = None;
        let mut work = Vec::new();
        for &asset in assets {
            let known = self.known.get(&asset.uuid);
            if let Some(rec) = known {
                if exported_as_is(rec, asset) && !self.options.check {
                    if rec.gone_since.is_some() {
                        // Back in the library (restored from Recently Deleted).
                        work.push(AssetWork {
                            asset,
                            record: AssetRecord {
                                gone_since: None,
                                ..AssetRecord::clone(rec)
                            },
                            is_new: false,
                            writes: Vec::new(),
                            retire: Vec::new(),
                            original_missing: false,
                            touch: true,
                        });
                    } else {
                        // Counted here: it has no work for `apply` to count.
                        self.unchanged += 1;
                    }
                    continue;
                }
            }
            let (record, is_new) = match known {
                Some(rec) => (AssetRecord::clone(rec), false),
                None => {
                    let first_album = asset.albums.first().map(|a| &*a.title);
                    let folder = self.options.template.expand(asset.created, first_album);
                    let folder = folder.to_string_lossy().trim_end_matches('/').to_string();
                    let key = naming::fold_key(&folder);
                    let names = folders.entry(key.clone()).or_insert_with(|| {
                        let taken = stems_by_folder.get_or_insert_with(|| {
                            let mut by_folder: HashMap<String, Vec<String>> = HashMap::new();
                            for rec in self.known.values() {
                                by_folder
                                    .entry(naming::fold_key(&rec.folder))
                                    .or_default()
                                    .push(rec.stem.clone());
                            }
                            by_folder
                        });
                        FolderNames::new(taken.get(&key).cloned().unwrap_or_default())
                    });
                    let wanted = naming::split_name(&asset.original_filename).0;
                    let stem = names.claim(&wanted, plan::longest_suffix(asset));
                    (fresh_record(asset, folder, stem), true)
                }
            };
            let sidecar = self.options.sidecars.then(|| xmp::sidecar(asset));
            let p = plan::plan_asset(asset, root, &record.stem, sidecar.as_deref());
            let existing = match (self.catalog, is_new) {
                (Some(c), false) => c.files_of(&asset.uuid)?,
                _ => Vec::new(),
            };
            let mut writes = Vec::new();
            for file in p.files {
                let path = export_path(&record.folder, &file.name);
                let why = match existing.iter().find(|f| f.path == path) {
                    None => "new",
                    Some(f) if f.role != file.role || f.source_key != file.source_key => "changed",
                    Some(f) if self.options.check => {
                        match self.dest.map(|d| d.root().join(&f.path).metadata()) {
                            Some(Ok(m)) if m.len() == f.size => continue,
                            Some(Ok(_)) => "wrong size",
                            _ => "missing",
                        }
                    }
                    Some(_) => continue,
                };
                // The source is about to be read anyway, and Photos' record
                // of its size can lag behind the file: the disk decides the
                // space check and the progress bar.
                let mut file = file;
                if let Source::File(src) = &file.source {
                    if let Ok(m) = std::fs::metadata(src) {
                        file.size = Some(m.len());
                    }
                }
                writes.push((file, why));
            }
            // A catalogued file of a role the asset no longer has (its edit
            // was reverted) is retired. A file whose source is only missing
            // for now (cloud-only) is kept: it is the backup.
            let roles_now: Vec<&str> = asset
                .resources
                .iter()
                .map(|r| plan::role_name(r.role))
                .chain(self.options.sidecars.then_some("sidecar"))
                .collect();
            let retire = existing
                .into_iter()
                .filter(|f| f.role != "sidecar" || self.options.sidecars)
                .filter(|f| !roles_now.contains(&f.role.as_str()))
                .collect();
            work.push(AssetWork {
                asset,
                record,
                is_new,
                writes,
                retire,
                original_missing: p.original_missing,
                touch: true,
            });
        }
        Ok(work)
    }

    /// Refuses to start when the files to write do not fit.
    pub(super) fn check_space(&self, root: &Path, work: &[AssetWork]) -> Result<(), ExportError> {
        let needed: u64 = work
            .iter()
            .flat_map(|w| &w.writes)
            .map(|(f, _)| file_size(f))
            .sum();
        if needed == 0 {
            return Ok(());
        }
        let available =
            write::available_space(root).map_err(|source| WriteError::DestinationGone {
                path: root.to_path_buf(),
                source,
            })?;
        // Keep a margin for the catalog and the filesystem's own needs.
        let wanted = needed + needed / 100 + (1 << 20);
        if wanted > available {
            return Err(ExportError::NotEnoughSpace {
                path: root.to_path_buf(),
                needed: wanted - available,
                available,
            });
        }
        Ok(())
    }

    /// Removes temporary files an interrupted run left behind, anywhere
    /// under `Export/` (only after a run that did not complete, so the walk
    /// is not paid on ordinary runs).
    pub(super) fn remove_leftovers(&self) -> Result<(), ExportError> {
        let Some(dest) = self.dest else {
            return Ok(());
        };
        let mut stack = vec![dest.export_dir()];
        while let Some(dir) = stack.pop() {
            let Ok(entries) = std::fs::read_dir(&dir) else {
                continue;
            };
            stack.extend(
                entries
                    .flatten()
                    .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
                    .map(|e| e.path()),
            );
            let removed =
                write::remove_temporaries(&dir).map_err(|source| WriteError::Destination {
                    path: dir.clone(),
                    source,
                })?;
            if removed > 0 {
                tracing::info!(folder = %dir.display(), removed, "removed temporary files of an interrupted run");
            }
        }
        Ok(())
    }

    /// Carries out the plan: files are staged a few at a time by a
    /// [`Copier`], and committed in batches (one filesystem sync before the
    /// renames, one after; see [`crate::write::Staged`]); each file is
    /// recorded in the catalog once it is durable under its final name.
    pub(super) fn apply(
        &mut self,
        work: Vec<AssetWork>,
        progress: &dyn Progress,
        report: &mut ExportReport,
    ) -> Result<(), ExportError> {
        report.counts.unchanged = self.unchanged;
        let files: u64 = work.iter().map(|w| w.writes.len() as u64).sum();
        let bytes: u64 = work
            .iter()
            .flat_map(|w| &w.writes)
            .map(|(f, _)| file_size(f))
            .sum();
        progress.start(files, bytes);
        if self.options.dry_run {
            for mut w in work {
                let wrote_any = !w.writes.is_empty() || !w.retire.is_empty();
                for (file, why) in std::mem::take(&mut w.writes) {
                    report.files.push(WrittenFile {
                        path: export_path(&w.record.folder, &file.name),
                        role: file.role,
                        bytes: file.size,
                        why,
                    });
                }
                self.finish_asset(w, wrote_any, None, report)?;
            }
            return Ok(());
        }
        let Some(dest) = self.dest else {
            return Ok(());
        };
        let root = dest.root().to_path_buf();
        std::thread::scope(|scope| {
            let mut copier = Copier::start(scope, root.clone());
            let mut run = InFlight {
                root: root.clone(),
                pending: HashMap::new(),
                batch: Vec::new(),
                batch_bytes: 0,
                stop: None,
            };
            for (index, w) in work.into_iter().enumerate() {
                if self.options.cancelled() {
                    run.stop = Some(ExportError::Cancelled);
                    break;
                }
                if let Err(e) = self.submit(index, w, &mut copier, &mut run, progress, report) {
                    run.stop = Some(e);
                    break;
                }
                while let Some(done) = copier.try_next() {
                    self.landed(done, &mut run, progress, report)?;
                }
                if run.stop.is_some() {
                    break;
                }
            }
            copier.close();
            while let Some(done) = copier.next() {
                self.landed(done, &mut run, progress, report)?;
            }
            // What was staged is complete: committed even when the run stops
            // (unless the drive is gone, which the sync finds).
            self.commit_batch(&mut run, progress, report)?;
            run.stop.map_or(Ok(()), Err)
        })
    }

    /// Prepares one asset's files: whatever is in the way moves to
    /// `Versions/`, files already right are adopted, the rest are queued.
    fn submit(
        &self,
        index: usize,
        mut w: AssetWork<'a>,
        copier: &mut Copier,
        run: &mut InFlight<'a>,
        progress: &dyn Progress,
        report: &mut ExportReport,
    ) -> Result<(), ExportError> {
        let (Some(dest), Some(_)) = (self.dest, self.catalog) else {
            return Ok(());
        };
        let retired = std::mem::take(&mut w.retire);
        for old in &retired {
            self.retire(&old.path)?;
        }
        let writes = std::mem::take(&mut w.writes);
        let is_new = w.is_new;
        let mut p = Pending {
            wrote_any: !writes.is_empty() || !retired.is_empty(),
            work: w,
            files: Vec::new(),
            remaining: 0,
            failure: None,
            reserved: !is_new,
        };
        let asset = p.work.asset;
        let mtime = asset.created.map(SystemTime::from);
        for (file, _) in writes {
            let path = export_path(&p.work.record.folder, &file.name);
            let target = dest.root().join(&path);
            let adopted = if target.exists() {
                match self.make_room(asset, &target, &path, &file) {
                    Ok(adopted) => adopted,
                    Err(e) if e.stops_run() => return Err(e.into()),
                    Err(e) => {
                        p.failure.get_or_insert_with(|| e.to_string());
                        continue;
                    }
                }
            } else {
                None
            };
            if let Some(copied) = adopted {
                self.record(asset, &path, &file, &copied, mtime)?;
                report.counts.bytes += copied.size;
                progress.file_done(copied.size);
                continue;
            }
            let content = match &file.source {
                Source::File(src) => Content::File(src.clone()),
                Source::Sidecar => Content::Bytes(xmp::sidecar(asset)),
            };
            copier.submit(Job {
                asset: index,
                file: p.files.len(),
                target,
                content,
                mtime,
            });
            p.files.push((file, path));
            p.remaining += 1;
        }
        if p.remaining == 0 {
            return self.finish_asset(p.work, p.wrote_any, p.failure, report);
        }
        run.pending.insert(index, p);
        Ok(())
    }

    /// A file came back from the copier: staged ones join the batch (which
    /// is committed once full); a failure counts against its asset at once.
    fn landed(
        &self,
        done: Done,
        run: &mut InFlight<'a>,
        progress: &dyn Progress,
        report: &mut ExportReport,
    ) -> Result<(), ExportError> {
        match done.result {
            Ok(staged) => {
                run.batch_bytes += staged.copied().size;
                run.batch.push((done.asset, done.file, staged));
                if run.batch.len() >= BATCH_FILES || run.batch_bytes >= BATCH_BYTES {
                    self.commit_batch(run, progress, report)?;
                }
                Ok(())
            }
            Err(e) => self.file_failed(done.asset, e, run, report),
        }
    }

    /// Makes the batch durable under its final names: sync the staged
    /// files, rename them, sync the renames, and only then record each in
    /// the catalog and finish the assets whose last file it was.
    fn commit_batch(
        &self,
        run: &mut InFlight<'a>,
        progress: &dyn Progress,
        report: &mut ExportReport,
    ) -> Result<(), ExportError> {
        let batch = std::mem::take(&mut run.batch);
        run.batch_bytes = 0;
        if batch.is_empty() {
            return Ok(());
        }
        let Some(catalog) = self.catalog else {
            return Ok(());
        };
        // Only assets still in flight: a finished one's full record is saved.
        catalog.transaction(|c| {
            for p in run.pending.values_mut().filter(|p| !p.reserved) {
                c.put_asset(&p.work.record)?;
                p.reserved = true;
            }
            Ok(())
        })?;
        if let Err(e) = write::sync_filesystem(&run.root) {
            // Nothing of the batch reached its final name; its temporary
            // files are removed as they drop (or next run, drive gone).
            let assets: Vec<usize> = batch.iter().map(|(asset, _, _)| *asset).collect();
            return self.batch_failed(&assets, e, run, report);
        }
        let mut committed = Vec::with_capacity(batch.len());
        for (asset, file, staged) in batch {
            let copied = staged.copied();
            match staged.commit() {
                Ok(()) => committed.push((asset, file, copied)),
                Err(e) => self.file_failed(asset, e, run, report)?,
            }
        }
        if let Err(e) = write::sync_filesystem(&run.root) {
            // The renames may not survive a power cut: record none of them.
            // A later run finds each file in place with the right content
            // and adopts it.
            let assets: Vec<usize> = committed.iter().map(|(asset, _, _)| *asset).collect();
            return self.batch_failed(&assets, e, run, report);
        }
        // One commit for the batch's records.
        catalog.transaction_of(|_| {
            for (asset, file, copied) in committed {
                let Some(p) = run.pending.get_mut(&asset) else {
                    continue;
                };
                let (planned, path) = &p.files[file];
                let mtime = p.work.asset.created.map(SystemTime::from);
                self.record(p.work.asset, path, planned, &copied, mtime)?;
                report.counts.bytes += copied.size;
                progress.file_done(copied.size);
                self.file_settled(asset, run, report)?;
            }
            Ok::<(), ExportError>(())
        })
    }

    /// A batch's sync failed (the drive is gone or failing): the run stops,
    /// and each of the batch's files counts against its asset.
    fn batch_failed(
        &self,
        assets: &[usize],
        e: WriteError,
        run: &mut InFlight<'a>,
        report: &mut ExportReport,
    ) -> Result<(), ExportError> {
        let reason = e.to_string();
        run.stop.get_or_insert(e.into());
        for &asset in assets {
            self.file_failed_because(asset, reason.clone(), run, report)?;
        }
        Ok(())
    }

    /// A file of `asset` could not be written: one asset's failure, or the
    /// end of the run when the destination itself failed.
    fn file_failed(
        &self,
        asset: usize,
        e: WriteError,
        run: &mut InFlight<'a>,
        report: &mut ExportReport,
    ) -> Result<(), ExportError> {
        let reason = e.to_string();
        if e.stops_run() {
            run.stop.get_or_insert(e.into());
        } else if let Some(p) = run.pending.get(&asset) {
            tracing::warn!(asset = %p.work.asset.uuid, error = %reason, "a file of the asset could not be exported");
        }
        self.file_failed_because(asset, reason, run, report)
    }

    fn file_failed_because(
        &self,
        asset: usize,
        reason: String,
        run: &mut InFlight<'a>,
        report: &mut ExportReport,
    ) -> Result<(), ExportError> {
        if let Some(p) = run.pending.get_mut(&asset) {
            p.failure.get_or_insert(reason);
        }
        self.file_settled(asset, run, report)
    }

    /// One more file of `asset` is done with; the asset is finished (and
    /// its record saved) with its last one.
    fn file_settled(
        &self,
        asset: usize,
        run: &mut InFlight<'a>,
        report: &mut ExportReport,
    ) -> Result<(), ExportError> {
        let Some(p) = run.pending.get_mut(&asset) else {
            return Ok(());
        };
        p.remaining -= 1;
        if p.remaining == 0 {
            if let Some(p) = run.pending.remove(&asset) {
                self.finish_asset(p.work, p.wrote_any, p.failure, report)?;
            }
        }
        Ok(())
    }

    /// Records a file that landed at `path`.
    fn record(
        &self,
        asset: &Asset,
        path: &str,
        file: &PlannedFile,
        copied: &write::Copied,
        mtime: Option<SystemTime>,
    ) -> Result<(), ExportError> {
        let (Some(catalog), Some(run)) = (self.catalog, self.run) else {
            return Ok(());
        };
        catalog.put_file(&FileRecord {
            asset_uuid: asset.uuid.clone(),
            role: file.role.to_string(),
            path: path.to_string(),
            size: copied.size,
            mtime_ns: mtime
                .and_then(|t| t.duration_since(SystemTime::UNIX_EPOCH).ok())
                .map(|d| d.as_nanos() as i64),
            hash: copied.hash.to_hex().to_string(),
            source_key: file.source_key.clone(),
            run_id: run,
        })?;
        Ok(())
    }

    fn finish_asset(
        &self,
        w: AssetWork,
        wrote_any: bool,
        failure: Option<String>,
        report: &mut ExportReport,
    ) -> Result<(), ExportError> {
        let note = |reason: String| AssetNote {
            uuid: w.asset.uuid.clone(),
            filename: w.asset.original_filename.clone(),
            reason,
        };
        if w.original_missing {
            report.counts.missing += 1;
            report.missing_assets.push(note(
                "the original is not on disk (cloud-only or on a disconnected volume)".into(),
            ));
        }
        if let Some(reason) = &failure {
            report.counts.errors += 1;
            report.failures.push(note(reason.clone()));
        }
        // An asset counts as exported once its original is in the backup:
        // a cloud-only one is only "missing" until a later run copies it.
        let completes = w.is_new || w.record.original_missing;
        match (w.original_missing, completes, wrote_any) {
            (true, true, _) => {}
            (false, true, _) => report.counts.exported += 1,
            (_, false, true) => report.counts.updated += 1,
            (_, false, false) => report.counts.unchanged += 1,
        }
        if self.options.dry_run || !w.touch {
            return Ok(());
        }
        if let Some(catalog) = self.catalog {
            let record = AssetRecord {
                fingerprint: Some(w.asset.fingerprint.clone()),
                original_missing: w.original_missing,
                failed: failure.is_some(),
                gone_since: None,
                waiting: waiting_for(w.asset),
                ..w.record
            };
            catalog.put_asset(&record)?;
        }
        Ok(())
    }

    /// Something is already at `target`: a file of ours being replaced, or
    /// one a crashed run renamed into place before recording it. A recorded
    /// file moves to `Versions/`; an unrecorded one with exactly the content
    /// wanted is adopted (returned), anything else moves to `Versions/` too.
    fn make_room(
        &self,
        asset: &Asset,
        target: &Path,
        path: &str,
        file: &PlannedFile,
    ) -> Result<Option<write::Copied>, WriteError> {
        let to_write_error = |e: ExportError| WriteError::Destination {
            path: target.to_path_buf(),
            source: std::io::Error::other(e.to_string()),
        };
        let recorded = match self.catalog {
            Some(c) => c
                .file_at(path)
                .map_err(|e| to_write_error(e.into()))?
                .is_some(),
            None => false,
        };
        if recorded {
            self.retire(path).map_err(to_write_error)?;
            return Ok(None);
        }
        if let Some(copied) = same_content(target, &file.source, asset) {
            return Ok(Some(copied));
        }
        self.move_aside(target, path)?;
        Ok(None)
    }

    /// Moves a catalogued file to this run's `Versions/` folder.
    fn retire(&self, path: &str) -> Result<(), ExportError> {
        let (Some(dest), Some(catalog), Some(run)) = (self.dest, self.catalog, self.run) else {
            return Ok(());
        };
        let target = dest.root().join(path);
        if target.exists() {
            let versions = self.move_aside(&target, path)?;
            catalog.move_to_versions(path, &versions, run)?;
        } else {
            // Already gone from the drive (removed by hand): nothing to keep,
            // and the catalog must not claim a copy under Versions/.
            catalog.forget_file(path)?;
        }
        Ok(())
    }

    /// Moves `target` (the file at `path`) to this run's `Versions/`
    /// folder, under a name no other kept file has; returns that name,
    /// relative to the destination.
    fn move_aside(&self, target: &Path, path: &str) -> Result<String, WriteError> {
        let Some(dest) = self.dest else {
            return Ok(String::new());
        };
        let stamp = crate::destination::run_stamp(self.run_started);
        let versions = crate::versions::free_path(dest.root(), &stamp, path);
        let to = dest.root().join(&versions);
        let gone = |source| WriteError::Destination {
            path: to.clone(),
            source,
        };
        if let Some(parent) = to.parent() {
            std::fs::create_dir_all(parent).map_err(gone)?;
        }
        std::fs::rename(target, &to).map_err(gone)?;
        Ok(versions)
    }
}

/// The hash and size of `target` when its content equals `source`'s.
fn same_content(target: &Path, source: &Source, asset: &Asset) -> Option<write::Copied> {
    let there = write::hash_path(target).ok()?;
    let same = match source {
        Source::Sidecar => {
            let b = xmp::sidecar(asset);
            b.len() as u64 == there.size && blake3::hash(&b) == there.hash
        }
        Source::File(src) => {
            std::fs::metadata(src).ok()?.len() == there.size
                && write::hash_path(src).ok() == Some(there)
        }
    };
    same.then_some(there)
}

/// A file's path relative to the destination root.
fn export_path(folder: &str, name: &str) -> String {
    if folder.is_empty() {
        format!("Export/{name}")
    } else {
        format!("Export/{folder}/{name}")
    }
}

/// Bytes a planned file will take (its source's size, taken from the disk
/// when it was planned).
fn file_size(f: &PlannedFile) -> u64 {
    f.size.unwrap_or(0)
}
