//! The organize engine: a Photos library or a plain folder (an export from
//! Photos, an icloudpd download folder, a camera card) sorted into
//! `Organized/photos/`, `videos/`, `screenshots/`, `generated/` and
//! `unknown/` on a destination, every file named after its capture time
//! (`YYYY.MM.DD.HH.MM.SS.ext`), HEICs turned into JPEGs (optional).
//!
//! The source is only read. What was organized is recorded in the
//! destination's catalog (`organized` table), so a second run does nothing
//! and a new file is handled once. Every decision (category, time, name,
//! conversion) carries a reason that the report shows.
//!
//! The work is split: [`scan`] walks a folder, [`source`] turns a folder
//! or library into groups, [`plan`] decides categories, times and names,
//! [`apply`] writes, here the run is put together and reported.

pub mod apply;
pub mod plan;
pub mod scan;
pub mod source;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Instant;

use chrono::Utc;
use serde::Serialize;

use crate::catalog::{Catalog, CatalogError, FileRecord, OrganizedRecord, RunCounts, RunStatus};
use crate::destination::{Destination, DestinationError, Enrol};
use crate::export::Progress;
use crate::library::LibraryError;
use crate::media::{heic, Category, TimeSource, Zone};
use crate::write::{self, WriteError};

pub use apply::Action;
pub use plan::Role;
pub use scan::WalkProblem;

/// The engine's name in the catalog's runs.
pub const ENGINE: &str = "organize";

/// What to organize.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// A plain folder of media, walked recursively.
    Folder(PathBuf),
    /// A Photos library (`.photoslibrary`).
    Library(PathBuf),
}

/// How a run behaves.
#[derive(Debug, Clone)]
pub struct OrganizeOptions {
    /// Turn HEICs into JPEGs (otherwise copy them as they are, with their
    /// `.aae` edits).
    pub heic_to_jpeg: bool,
    /// JPEG quality for converted HEICs (1-100).
    pub jpeg_quality: u8,
    /// Plan only: write nothing at all.
    pub dry_run: bool,
    /// The zone in which UTC times (QuickTime, file times) are shown.
    pub zone: Zone,
    /// Whether the destination may be created.
    pub enrol: Enrol,
    /// Set to stop the run between two groups.
    pub cancel: Option<Arc<AtomicBool>>,
    /// Leave alone, for a later run, files of a folder changed less than
    /// this long ago: they may still be being written (the daemon's jobs
    /// set it; a run by hand organizes everything).
    pub min_age: Option<std::time::Duration>,
}

impl Default for OrganizeOptions {
    fn default() -> Self {
        OrganizeOptions {
            heic_to_jpeg: true,
            jpeg_quality: heic::DEFAULT_QUALITY,
            dry_run: false,
            zone: Zone::Local,
            enrol: Enrol::IfEmpty,
            cancel: None,
            min_age: None,
        }
    }
}

/// Why a run stopped as a whole (one file's failure does not stop it).
#[derive(Debug, thiserror::Error)]
pub enum OrganizeError {
    /// The source folder is not there.
    #[error("the source folder {0} does not exist or is not a folder; check the path")]
    NoSource(PathBuf),
    /// The library could not be read.
    #[error(transparent)]
    Library(#[from] LibraryError),
    /// The destination could not be used.
    #[error(transparent)]
    Destination(#[from] DestinationError),
    /// The catalog could not be read or written.
    #[error(transparent)]
    Catalog(#[from] CatalogError),
    /// Not enough space.
    #[error("not enough space on {path}: organizing needs about {needed} bytes ({} MiB) and {available} bytes are free; free some space or use a larger drive, then run again (nothing was written)", needed.div_ceil(1 << 20))]
    NotEnoughSpace {
        /// The destination.
        path: PathBuf,
        /// Bytes needed.
        needed: u64,
        /// Bytes free.
        available: u64,
    },
    /// The destination stopped accepting writes.
    #[error(transparent)]
    Write(#[from] WriteError),
    /// The run was asked to stop.
    #[error("organizing was stopped before it finished; run it again to complete it (what was written is kept)")]
    Cancelled,
}

/// One source file in the report.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct FileReport {
    /// The source file (relative to the folder, or the library's name and uuid).
    pub source: String,
    /// What it is in its group.
    pub role: Role,
    /// The category folder.
    pub category: Category,
    /// Why that category.
    pub reason: String,
    /// What was (or, in a dry run, would be) done.
    pub action: Action,
    /// The organized file, relative to the destination root.
    pub destination: Option<String>,
    /// The capture time used for the name (wall clock with offset when known).
    pub capture_time: Option<String>,
    /// Where the time came from.
    pub time_source: Option<TimeSource>,
    /// The time is a guess (the file's modification time).
    pub time_is_guess: bool,
    /// Everything else worth knowing: skipped dates, renamed extensions,
    /// seconds added, conversion failures.
    pub notes: Vec<String>,
}

/// The counts of a run.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct OrganizeCounts {
    /// Files written (copied or converted).
    pub written: u64,
    /// HEICs converted to JPEG.
    pub converted: u64,
    /// HEICs that could not be converted and were copied unchanged.
    pub not_converted: u64,
    /// Files organized by an earlier run and unchanged.
    pub already_organized: u64,
    /// `.aae` edits of converted HEICs, not copied.
    pub left_behind: u64,
    /// Files that could not be organized (a later run retries them).
    pub failed: u64,
    /// Folders, links and assets that could not be read or are missing.
    pub problems: u64,
    /// Files changed too recently to be organized now (see
    /// [`OrganizeOptions::min_age`]); a later run takes them.
    pub deferred: u64,
    /// Bytes written.
    pub bytes: u64,
    /// Files per category folder (this run's).
    pub by_category: BTreeMap<String, u64>,
}

/// What a run did (or would do).
#[derive(Debug, Clone, Serialize)]
pub struct OrganizeReport {
    /// The source.
    pub source: PathBuf,
    /// The destination root.
    pub destination: PathBuf,
    /// Nothing was written.
    pub dry_run: bool,
    /// The counts.
    pub counts: OrganizeCounts,
    /// Every source file, in name order.
    pub files: Vec<FileReport>,
    /// What could not be read or is missing.
    pub problems: Vec<WalkProblem>,
    /// Files left for a later run because they changed too recently.
    pub deferred: Vec<WalkProblem>,
    /// Run time in seconds.
    pub seconds: f64,
}

/// Organizes `source` onto the destination folder `dest`.
pub fn organize(
    source: &Source,
    dest: &Path,
    options: &OrganizeOptions,
    progress: &dyn Progress,
) -> Result<OrganizeReport, OrganizeError> {
    let started = Instant::now();
    let run_started = Utc::now();
    if let Source::Folder(dir) = source {
        if !dir.is_dir() {
            return Err(OrganizeError::NoSource(dir.clone()));
        }
    }
    let destination = open_destination(dest, options)?;
    let catalog = match &destination {
        Some(d) if options.dry_run => Some(Catalog::open_read_only(&d.catalog_path())?),
        Some(d) => Some(Catalog::open(&d.catalog_path())?),
        None => None,
    };
    let done = match &catalog {
        Some(c) => c.organized()?,
        None => HashMap::new(),
    };
    let organized_dir = dest.join("Organized");
    let mut found = match source {
        Source::Folder(dir) => source::from_folder(dir, dest, options.zone, &done, options.min_age),
        Source::Library(lib) => source::from_library(lib, options.zone, &done)?,
    };
    let mut taken = taken_stems(&done, &organized_dir);
    plan::assign_stems(&mut found.groups, &mut taken);
    for g in &mut found.groups {
        g.convert =
            options.heic_to_jpeg && g.members[0].role == Role::Main && g.members[0].is_heic();
    }
    let source_path = match source {
        Source::Folder(p) | Source::Library(p) => p.clone(),
    };
    let mut report = OrganizeReport {
        source: source_path.clone(),
        destination: dest.to_path_buf(),
        dry_run: options.dry_run,
        counts: OrganizeCounts::default(),
        files: Vec::new(),
        problems: std::mem::take(&mut found.problems),
        deferred: std::mem::take(&mut found.deferred),
        seconds: 0.0,
    };
    report.counts.problems = report.problems.len() as u64;
    report.counts.deferred = report.deferred.len() as u64;
    for u in &found.unchanged {
        report.counts.already_organized += 1;
        report.files.push(FileReport {
            source: u.display.clone(),
            role: Role::Main,
            category: category_named(&u.record.category),
            reason: "organized by an earlier run".into(),
            action: Action::AlreadyOrganized,
            destination: u.record.path.clone(),
            capture_time: None,
            time_source: None,
            time_is_guess: false,
            notes: Vec::new(),
        });
    }

    let (Some(destination), Some(catalog), false) = (&destination, &catalog, options.dry_run)
    else {
        // Dry run: the plan as it would be carried out.
        for g in &found.groups {
            let mut converted = false;
            for m in &g.members {
                let action = if m.role == Role::Main && g.convert {
                    converted = true;
                    Action::Converted
                } else if m.role == Role::Aae && converted {
                    Action::LeftBehind
                } else {
                    Action::Copied
                };
                let name = (action != Action::LeftBehind).then(|| {
                    format!(
                        "Organized/{}",
                        plan::relative_name(g, m, action == Action::Converted)
                    )
                });
                push_report(&mut report, g, m, action, name, None);
            }
        }
        return Ok(finish(report, started));
    };

    let needed: u64 = found
        .groups
        .iter()
        .flat_map(|g| &g.members)
        .map(|m| m.size)
        .sum();
    if needed > 0 {
        let available = write::available_space(destination.root()).unwrap_or(u64::MAX);
        if needed > available {
            return Err(OrganizeError::NotEnoughSpace {
                path: destination.root().to_path_buf(),
                needed,
                available,
            });
        }
    }
    for c in [
        Category::Photos,
        Category::Videos,
        Category::Screenshots,
        Category::Generated,
        Category::Unknown,
    ] {
        // Leftovers of an interrupted run; nothing writes there yet.
        let _ = write::remove_temporaries(&organized_dir.join(c.dir_name()));
    }
    let run = catalog.begin_run(
        ENGINE,
        run_started,
        &source_path.to_string_lossy(),
        &options_key(options),
    )?;
    let files_total = found.groups.iter().map(|g| g.members.len() as u64).sum();
    progress.start(files_total, needed);
    let heics = found.groups.iter().filter(|g| g.convert).count();
    let settings = apply::Settings {
        root: destination.root(),
        organized: &organized_dir,
        quality: options.jpeg_quality,
        // Many HEICs: one per core, each on one thread, is fastest; a lone
        // one may use libheif's tile threads.
        decode_threads: (heics >= rayon::current_num_threads()).then_some(1),
        cancel: options.cancel.as_deref(),
    };
    let mut catalog_error = None;
    let fatal = apply::run(&found.groups, &settings, |i, done| {
        let g = &found.groups[i];
        let recorded = catalog.transaction(|c| {
            for (m, d) in g.members.iter().zip(&done) {
                record(c, g, m, d, run)?;
            }
            Ok(())
        });
        if let Err(e) = recorded {
            catalog_error.get_or_insert(e);
        }
        for (m, d) in g.members.iter().zip(done) {
            progress.file_done(m.size);
            let name = d.name.as_ref().map(|n| format!("Organized/{n}"));
            push_report(&mut report, g, m, d.action, name, d.note);
            if let Some(c) = d.copied {
                report.counts.bytes += c.size;
            }
        }
    });
    progress.finish();
    let counts = RunCounts {
        exported: report.counts.written,
        unchanged: report.counts.already_organized,
        errors: report.counts.failed,
        bytes: report.counts.bytes,
        ..Default::default()
    };
    let cancelled = options
        .cancel
        .as_ref()
        .is_some_and(|c| c.load(std::sync::atomic::Ordering::Relaxed));
    let (status, error) = match (&fatal, &catalog_error, cancelled) {
        (Some(e), _, _) => (RunStatus::Failed, Some(e.to_string())),
        (None, Some(e), _) => (RunStatus::Failed, Some(e.to_string())),
        (None, None, true) => (RunStatus::Interrupted, None),
        _ => (RunStatus::Complete, None),
    };
    catalog.finish_run(run, status, &counts, None, None, error.as_deref())?;
    if let Some(e) = fatal {
        return Err(e.into());
    }
    if let Some(e) = catalog_error {
        return Err(e.into());
    }
    if cancelled {
        return Err(OrganizeError::Cancelled);
    }
    Ok(finish(report, started))
}

/// Opens the destination; a dry run opens nothing for writing and plans
/// against a folder that is not yet a destination as if it were empty.
fn open_destination(
    dest: &Path,
    options: &OrganizeOptions,
) -> Result<Option<Destination>, DestinationError> {
    if options.dry_run && !Destination::is_destination(dest) {
        let has_entries = std::fs::read_dir(dest).is_ok_and(|mut e| e.next().is_some());
        if options.enrol != Enrol::Always && has_entries {
            return Err(DestinationError::NotEmpty {
                path: dest.to_path_buf(),
            });
        }
        return Ok(None);
    }
    let enrol = if options.dry_run {
        Enrol::Never
    } else {
        options.enrol
    };
    Destination::open(dest, enrol).map(Some)
}

/// The stems already used in each category folder: by earlier runs (the
/// catalog) and by whatever else is there (a file the user put in).
fn taken_stems(done: &HashMap<String, OrganizedRecord>, organized: &Path) -> HashSet<String> {
    let stem = |rel: &str| rel.rsplit_once('.').map_or(rel, |(s, _)| s).to_lowercase();
    let mut taken: HashSet<String> = done
        .values()
        .filter_map(|r| r.path.as_deref())
        .filter_map(|p| p.strip_prefix("Organized/"))
        .map(stem)
        .collect();
    for c in [
        Category::Photos,
        Category::Videos,
        Category::Screenshots,
        Category::Generated,
        Category::Unknown,
    ] {
        let Ok(entries) = std::fs::read_dir(organized.join(c.dir_name())) else {
            continue;
        };
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if !name.starts_with('.') {
                taken.insert(stem(&format!("{}/{name}", c.dir_name())));
            }
        }
    }
    taken
}

fn record(
    c: &Catalog,
    g: &plan::Group,
    m: &plan::Member,
    d: &apply::Done,
    run: i64,
) -> Result<(), CatalogError> {
    if d.action == Action::Failed {
        return Ok(());
    }
    let path = d.name.as_ref().map(|n| format!("Organized/{n}"));
    let mtime_ns = m
        .modified
        .duration_since(std::time::UNIX_EPOCH)
        .ok()
        .and_then(|t| i64::try_from(t.as_nanos()).ok());
    c.put_organized(&OrganizedRecord {
        source_key: m.key.clone(),
        source_path: m.path.to_string_lossy().into_owned(),
        source_size: m.size,
        source_mtime_ns: mtime_ns,
        path: path.clone(),
        category: g.class.category.dir_name().into(),
        action: d.action.as_str().into(),
        size: d.copied.map(|x| x.size),
        hash: d.copied.map(|x| x.hash.to_hex().to_string()),
        run_id: run,
    })?;
    if let (Some(path), Some(copied)) = (path, d.copied) {
        let written_mtime = g
            .time
            .instant()
            .duration_since(std::time::UNIX_EPOCH)
            .ok()
            .and_then(|t| i64::try_from(t.as_nanos()).ok());
        c.put_file(&FileRecord {
            asset_uuid: m.key.clone(),
            role: "organized".into(),
            path,
            size: copied.size,
            mtime_ns: written_mtime,
            hash: copied.hash.to_hex().to_string(),
            source_key: format!("{}@{}", m.size, mtime_ns.unwrap_or(0)),
            run_id: run,
        })?;
    }
    Ok(())
}

fn push_report(
    report: &mut OrganizeReport,
    g: &plan::Group,
    m: &plan::Member,
    action: Action,
    destination: Option<String>,
    note: Option<String>,
) {
    let c = &mut report.counts;
    match action {
        Action::Copied => c.written += 1,
        Action::Converted => {
            c.written += 1;
            c.converted += 1;
        }
        Action::CopiedUnconverted => {
            c.written += 1;
            c.not_converted += 1;
        }
        Action::LeftBehind => c.left_behind += 1,
        Action::AlreadyOrganized => c.already_organized += 1,
        Action::Failed => c.failed += 1,
    }
    if destination.is_some() {
        *c.by_category
            .entry(g.class.category.dir_name().to_string())
            .or_default() += 1;
    }
    let t = &g.time;
    let capture_time = match t.offset {
        Some(o) => format!("{}{}", t.local.format("%Y-%m-%dT%H:%M:%S"), o),
        None => t.local.format("%Y-%m-%dT%H:%M:%S").to_string(),
    };
    let mut notes = m.notes.clone();
    if m.role == Role::Main {
        notes.extend(t.notes.iter().cloned());
    }
    notes.extend(note);
    report.files.push(FileReport {
        source: m.display.clone(),
        role: m.role,
        category: g.class.category,
        reason: g.class.reason.clone(),
        action,
        destination,
        capture_time: Some(capture_time),
        time_source: Some(t.source),
        time_is_guess: t.is_guess(),
        notes,
    });
}

fn finish(mut report: OrganizeReport, started: Instant) -> OrganizeReport {
    report.files.sort_by(|a, b| a.source.cmp(&b.source));
    report.seconds = started.elapsed().as_secs_f64();
    report
}

fn category_named(s: &str) -> Category {
    match s {
        "photos" => Category::Photos,
        "videos" => Category::Videos,
        "screenshots" => Category::Screenshots,
        "generated" => Category::Generated,
        _ => Category::Unknown,
    }
}

fn options_key(o: &OrganizeOptions) -> String {
    format!("heic_to_jpeg={};quality={}", o.heic_to_jpeg, o.jpeg_quality)
}
