//! Restore: getting the photos back, checked file by file.
//!
//! From a mirror, the library package is rebuilt as it was at the end of
//! its last complete run, or of any earlier one (`at`): the current files
//! written up to that run, plus the files `Versions/` keeps that were
//! written up to it and replaced or deleted after it (see
//! [`crate::catalog::MirrorFile`]). From an export, the exported files
//! (optionally only some years or albums) go into a plain folder ready to
//! import into Photos. Every file is hashed as it is copied and compared
//! with the catalog; a file that differs is still restored (it is the best
//! copy there is) and reported as damaged. An existing target is refused
//! unless forced, and nothing is ever written on the backup drive.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;

use chrono::{DateTime, Datelike, SubsecRound, Utc};
use serde::Serialize;

use crate::catalog::{Catalog, CatalogError, RunRecord, RunStatus, VersionRecord};
use crate::destination::{Destination, DestinationError, Enrol};
use crate::export::Progress;
use crate::verify::Problem;
use crate::write::{self, Staged, WriteError};

/// Files made durable with one filesystem sync.
const BATCH_FILES: usize = 512;

/// What to restore, and where.
#[derive(Debug, Clone, Default)]
pub struct RestoreOptions {
    /// The state to rebuild: the last complete run started at or before
    /// this time (`None`: the last complete run).
    pub at: Option<DateTime<Utc>>,
    /// Write into a target that already exists.
    pub force: bool,
    /// Restore the exported files instead of the mirrored library.
    pub export: bool,
    /// Only assets captured in these years (export only).
    pub years: Vec<i32>,
    /// Only assets in these albums, by name or `Folder/Album` path (export only).
    pub albums: Vec<String>,
    /// Which mirrored library, when the drive holds several.
    pub package: Option<String>,
    /// List what would be restored; write nothing.
    pub dry_run: bool,
    /// Set to stop between two files.
    pub cancel: Option<Arc<AtomicBool>>,
}

/// Why a restore could not run.
#[derive(Debug, thiserror::Error)]
pub enum RestoreError {
    /// The backup folder is not a destination.
    #[error(transparent)]
    Destination(#[from] DestinationError),
    /// The catalog could not be read.
    #[error(transparent)]
    Catalog(#[from] CatalogError),
    /// Writing the restored files failed.
    #[error(transparent)]
    Write(#[from] WriteError),
    /// The target exists.
    #[error("{} already exists; restore to a new path, or pass --force to write into it (files there with the same names are replaced)", path.display())]
    TargetExists {
        /// The target.
        path: PathBuf,
    },
    /// No run fits.
    #[error("this drive has no complete {engine} run {when}; runs on it: {runs}")]
    NoRun {
        /// "mirror" or "export".
        engine: &'static str,
        /// "at all", or "at or before <time>".
        when: String,
        /// The runs there are.
        runs: String,
    },
    /// Nothing of that kind on the drive.
    #[error("{0}")]
    Nothing(String),
    /// The run was asked to stop.
    #[error("the restore was stopped before it finished; what was restored so far is complete file by file")]
    Cancelled,
}

/// What a restore did (or, dry, would do).
#[derive(Debug, Clone, Serialize, Default)]
pub struct RestoreReport {
    /// The backup folder.
    pub destination: PathBuf,
    /// Where the files went.
    pub target: PathBuf,
    /// What was restored ("mirror of X.photoslibrary", "export").
    pub source: String,
    /// The run whose state was rebuilt.
    pub run: Option<i64>,
    /// When that run started.
    pub run_started: Option<DateTime<Utc>>,
    /// Nothing was written.
    pub dry_run: bool,
    /// Files restored (or to restore).
    pub files: u64,
    /// Bytes restored.
    pub bytes: u64,
    /// Files of that state that the drive no longer has.
    pub unavailable: Vec<Problem>,
    /// Files restored whose content differs from the catalog.
    pub damaged: Vec<Problem>,
    /// In a dry run, the files that would be restored.
    pub planned: Vec<String>,
    /// Wall time.
    pub seconds: f64,
}

impl RestoreReport {
    /// Whether everything of the chosen state came back intact.
    pub fn complete(&self) -> bool {
        self.unavailable.is_empty() && self.damaged.is_empty()
    }
}

/// One file of the state to rebuild.
struct Entry {
    /// Path inside the target.
    rel: String,
    /// Where it is on the drive (relative to the destination root), if it
    /// is still there.
    on_drive: Result<String, String>,
    hash: Option<String>,
    size: Option<u64>,
    asset: Option<String>,
    role: Option<String>,
}

/// Restores from the destination at `dest` into `to`.
pub fn restore(
    dest: &Path,
    to: &Path,
    options: &RestoreOptions,
    progress: &dyn Progress,
) -> Result<RestoreReport, RestoreError> {
    let started = Instant::now();
    let destination = Destination::open(dest, Enrol::Never)?;
    let catalog = Catalog::open_read_only(&destination.catalog_path())?;
    let to = std::path::absolute(to).map_err(|e| WriteError::destination(to, e, None))?;
    if to.starts_with(destination.root()) {
        return Err(RestoreError::Nothing(format!(
            "{} is inside the backup {}; restore to a folder elsewhere",
            to.display(),
            dest.display()
        )));
    }
    if !options.force && !options.dry_run && std::fs::symlink_metadata(&to).is_ok() {
        return Err(RestoreError::TargetExists { path: to });
    }
    let mut report = RestoreReport {
        destination: dest.to_path_buf(),
        target: to.clone(),
        dry_run: options.dry_run,
        ..RestoreReport::default()
    };
    // The catalog's records, read once.
    let versions = catalog.versions()?;
    let (engine, prefix, current) = if options.export {
        report.source = "export".into();
        let files = catalog.all_files()?.into_iter().map(|f| Recorded {
            path: f.path,
            run_id: f.run_id,
            hash: f.hash,
            size: f.size,
            asset: Some(f.asset_uuid),
            role: Some(f.role),
        });
        ("export", "Export/".to_string(), files.collect())
    } else {
        let files: Vec<Recorded> = catalog
            .all_mirror_files()?
            .into_iter()
            .map(|f| Recorded {
                path: f.path,
                run_id: f.run_id,
                hash: f.hash,
                size: f.size,
                asset: None,
                role: None,
            })
            .collect();
        let package = choose_package(&files, &versions, options.package.as_deref())?;
        report.source = format!("mirror of {}", package.trim_start_matches("Library/"));
        ("mirror", format!("{package}/"), files)
    };
    let run = choose_run(&catalog, engine, options.at)?;
    report.run = Some(run.id);
    report.run_started = Some(run.started);
    let mut entries = state_at(current, versions, &prefix, run.id);
    if options.export && (!options.years.is_empty() || !options.albums.is_empty()) {
        entries = filter_assets(destination.root(), entries, options);
    }

    let mut to_copy = Vec::new();
    for e in entries {
        match &e.on_drive {
            Ok(_) => to_copy.push(e),
            Err(why) => report.unavailable.push(Problem {
                path: e.rel.clone(),
                detail: why.clone(),
            }),
        }
    }
    if options.dry_run {
        report.files = to_copy.len() as u64;
        report.bytes = to_copy.iter().filter_map(|e| e.size).sum();
        report.planned = to_copy.into_iter().map(|e| e.rel).collect();
        report.seconds = started.elapsed().as_secs_f64();
        return Ok(report);
    }
    std::fs::create_dir_all(&to).map_err(|e| WriteError::destination(&to, e, None))?;
    if !options.export {
        copy_folders(&destination.root().join(&prefix), &to)?;
    }
    progress.start(
        to_copy.len() as u64,
        to_copy.iter().filter_map(|e| e.size).sum(),
    );
    for batch in to_copy.chunks(BATCH_FILES) {
        if options
            .cancel
            .as_ref()
            .is_some_and(|c| c.load(Ordering::Relaxed))
        {
            progress.finish();
            return Err(RestoreError::Cancelled);
        }
        let mut staged: Vec<(&Entry, Staged)> = Vec::new();
        for e in batch {
            let Ok(rel_on_drive) = &e.on_drive else {
                continue;
            };
            let src = destination.root().join(rel_on_drive);
            let mtime = std::fs::metadata(&src).and_then(|m| m.modified()).ok();
            match write::stage_copy_under(&to, &src, &to.join(&e.rel), mtime) {
                Ok(s) => staged.push((e, s)),
                Err(err) if err.stops_run() => return Err(err.into()),
                Err(WriteError::Source { source, .. })
                    if source.kind() == std::io::ErrorKind::NotFound =>
                {
                    report.unavailable.push(Problem {
                        path: e.rel.clone(),
                        detail: format!("not on the backup drive (expected at {rel_on_drive})"),
                    });
                }
                Err(err) => report.damaged.push(Problem {
                    path: e.rel.clone(),
                    detail: err.to_string(),
                }),
            }
        }
        write::sync_filesystem(&to)?;
        for (e, s) in staged {
            let copied = s.copied();
            s.commit()?;
            if e.hash
                .as_deref()
                .is_some_and(|h| h != copied.hash.to_hex().as_str())
            {
                report.damaged.push(Problem {
                    path: e.rel.clone(),
                    detail: "restored, but its content differs from what was backed up (damaged on the drive); check it, and look for an older copy with --at".into(),
                });
            }
            report.files += 1;
            report.bytes += copied.size;
            progress.file_done(copied.size);
        }
        write::sync_filesystem(&to)?;
    }
    progress.finish();
    report.seconds = started.elapsed().as_secs_f64();
    Ok(report)
}

/// The mirrored package to restore: the one named, or the only one.
fn choose_package(
    current: &[Recorded],
    versions: &[VersionRecord],
    wanted: Option<&str>,
) -> Result<String, RestoreError> {
    let mut packages: Vec<String> = current
        .iter()
        .map(|f| f.path.as_str())
        .chain(versions.iter().map(|v| v.path.as_str()))
        .filter_map(|p| {
            let mut parts = p.splitn(3, '/');
            match (parts.next(), parts.next(), parts.next()) {
                (Some("Library"), Some(name), Some(_)) => Some(format!("Library/{name}")),
                _ => None,
            }
        })
        .collect();
    packages.sort();
    packages.dedup();
    let names = || {
        packages
            .iter()
            .map(|p| p.trim_start_matches("Library/"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    match wanted {
        Some(w) => {
            let w = w.trim_end_matches('/');
            packages
                .iter()
                .find(|p| {
                    let name = p.trim_start_matches("Library/");
                    name == w || name.strip_suffix(".photoslibrary") == Some(w)
                })
                .cloned()
                .ok_or_else(|| {
                    RestoreError::Nothing(format!(
                        "this drive has no mirror of {w:?}; it has: {}",
                        names()
                    ))
                })
        }
        None => match packages.len() {
            0 => Err(RestoreError::Nothing(
                "this drive holds no mirrored library; for exported photos use --export".into(),
            )),
            1 => Ok(packages.remove(0)),
            _ => Err(RestoreError::Nothing(format!(
                "this drive holds several mirrored libraries ({}); choose one with --library NAME",
                names()
            ))),
        },
    }
}

/// The last complete run of `engine` started at or before `at`.
fn choose_run(
    catalog: &Catalog,
    engine: &'static str,
    at: Option<DateTime<Utc>>,
) -> Result<RunRecord, RestoreError> {
    let runs = catalog.runs(engine)?;
    let chosen = runs
        .iter()
        // A run's stamp has whole seconds: `--at <stamp>` means that run.
        .rfind(|r| {
            r.status == RunStatus::Complete && at.is_none_or(|t| r.started.trunc_subsecs(0) <= t)
        })
        .cloned();
    chosen.ok_or_else(|| RestoreError::NoRun {
        engine,
        when: at.map_or("at all".into(), |t| {
            format!("at or before {}", t.to_rfc3339())
        }),
        runs: if runs.is_empty() {
            "none".into()
        } else {
            runs.iter()
                .map(|r| {
                    format!(
                        "{} ({:?})",
                        crate::destination::run_stamp(r.started),
                        r.status
                    )
                })
                .collect::<Vec<_>>()
                .join(", ")
        },
    })
}

/// A current file as the catalog records it, mirrored or exported.
struct Recorded {
    path: String,
    run_id: i64,
    hash: String,
    size: u64,
    asset: Option<String>,
    role: Option<String>,
}

/// The files under `prefix` as they were at the end of run `run`: the
/// current ones written up to it, and the kept ones written up to it and
/// moved away after it.
fn state_at(
    current: Vec<Recorded>,
    versions: Vec<VersionRecord>,
    prefix: &str,
    run: i64,
) -> Vec<Entry> {
    let mut state: BTreeMap<String, (i64, Entry)> = BTreeMap::new();
    let mut put = |path: String, written: i64, entry: Entry| {
        if state.get(&path).is_none_or(|(w, _)| *w < written) {
            state.insert(path, (written, entry));
        }
    };
    for f in current {
        if let (Some(rel), true) = (f.path.strip_prefix(prefix), f.run_id <= run) {
            let entry = Entry {
                rel: rel.to_string(),
                on_drive: Ok(f.path.clone()),
                hash: Some(f.hash),
                size: Some(f.size),
                asset: f.asset,
                role: f.role,
            };
            put(f.path, f.run_id, entry);
        }
    }
    for v in versions {
        let (Some(rel), Some(written)) = (v.path.strip_prefix(prefix), v.written_run) else {
            continue;
        };
        if written <= run && v.run_id > run {
            let on_drive = if v.pruned {
                Err(
                    "removed from Versions/ by retention (older than the configured age or size)"
                        .into(),
                )
            } else {
                Ok(v.versions_path.clone())
            };
            let entry = Entry {
                rel: rel.to_string(),
                on_drive,
                hash: v.hash,
                size: v.size,
                asset: None,
                role: None,
            };
            put(v.path, written, entry);
        }
    }
    state.into_values().map(|(_, e)| e).collect()
}

/// Keeps the files of the assets whose sidecar (or, without one, file time)
/// matches the years and albums asked for.
fn filter_assets(root: &Path, entries: Vec<Entry>, options: &RestoreOptions) -> Vec<Entry> {
    let mut facts: HashMap<String, (Option<i32>, Vec<String>)> = HashMap::new();
    for e in &entries {
        if let (Some(asset), Some("sidecar"), Ok(path)) = (&e.asset, e.role.as_deref(), &e.on_drive)
        {
            if let Ok(text) = std::fs::read_to_string(root.join(path)) {
                facts.insert(asset.clone(), sidecar_facts(&text));
            }
        }
    }
    let year_of_file = |e: &Entry| -> Option<i32> {
        let path = root.join(e.on_drive.as_ref().ok()?);
        let t: DateTime<Utc> = std::fs::metadata(path).ok()?.modified().ok()?.into();
        Some(t.year())
    };
    entries
        .into_iter()
        .filter(|e| {
            let (year, albums) = e
                .asset
                .as_ref()
                .and_then(|a| facts.get(a))
                .cloned()
                .unwrap_or((None, Vec::new()));
            let year = year.or_else(|| year_of_file(e));
            let year_ok =
                options.years.is_empty() || year.is_some_and(|y| options.years.contains(&y));
            let album_ok = options.albums.is_empty()
                || albums.iter().any(|path| {
                    options
                        .albums
                        .iter()
                        .any(|want| path == want || path.rsplit('/').next() == Some(want.as_str()))
                });
            year_ok && album_ok
        })
        .collect()
}

/// The capture year and album paths of photovault's own XMP sidecar.
fn sidecar_facts(text: &str) -> (Option<i32>, Vec<String>) {
    let year = text
        .split_once("<photoshop:DateCreated>")
        .and_then(|(_, rest)| rest.get(..4))
        .and_then(|y| y.parse().ok());
    let mut albums = Vec::new();
    if let Some((_, rest)) = text.split_once("<photovault:Albums>") {
        let bag = rest.split("</photovault:Albums>").next().unwrap_or("");
        for item in bag.split("<rdf:li>").skip(1) {
            let raw = item.split("</rdf:li>").next().unwrap_or("");
            albums.push(album_path(&unescape(raw)));
        }
    }
    (year, albums)
}

/// `Folder\/With Slash/Album` as written by the sidecar, with its escapes
/// (`\/`, `\\`) made plain, components joined by `/`.
fn album_path(escaped: &str) -> String {
    let mut out = String::new();
    let mut chars = escaped.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            if let Some(next) = chars.next() {
                out.push(next);
            }
        } else {
            out.push(c);
        }
    }
    out
}

fn unescape(s: &str) -> String {
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&amp;", "&")
}

/// Recreates the mirrored package's folders (empty ones included) in `to`.
fn copy_folders(package: &Path, to: &Path) -> Result<(), RestoreError> {
    let mut stack = vec![PathBuf::new()];
    while let Some(rel) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(package.join(&rel)) else {
            continue;
        };
        for entry in entries.flatten() {
            if entry.file_type().is_ok_and(|t| t.is_dir()) {
                let sub = rel.join(entry.file_name());
                let target = to.join(&sub);
                std::fs::create_dir_all(&target)
                    .map_err(|e| WriteError::destination(&target, e, None))?;
                stack.push(sub);
            }
        }
    }
    Ok(())
}

/// Reads a `--at` value: a run stamp as `Versions/` names them
/// (`2024-05-01T10-00-00Z`), an RFC 3339 time, `YYYY-MM-DD HH:MM[:SS]` in
/// local time, or a day `YYYY-MM-DD` (its end, local time: "as it was that
/// day").
pub fn parse_at(text: &str) -> Result<DateTime<Utc>, String> {
    use chrono::{Local, NaiveDate, NaiveDateTime, TimeZone};
    let text = text.trim();
    if let Some(t) = crate::versions::parse_stamp(text) {
        return Ok(t);
    }
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Ok(t.with_timezone(&Utc));
    }
    let local = |naive: NaiveDateTime| {
        Local
            .from_local_datetime(&naive)
            .earliest()
            .map(|t| t.with_timezone(&Utc))
    };
    for format in [
        "%Y-%m-%d %H:%M:%S",
        "%Y-%m-%d %H:%M",
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%dT%H:%M",
    ] {
        if let Some(t) = NaiveDateTime::parse_from_str(text, format)
            .ok()
            .and_then(local)
        {
            return Ok(t);
        }
    }
    if let Some(t) = NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(23, 59, 59))
        .and_then(local)
    {
        return Ok(t);
    }
    Err(format!(
        "{text:?} is not a time; use a run's stamp (2024-05-01T10-00-00Z, as in Versions/ and `history`), a date (2024-05-01) or a local time (\"2024-05-01 18:30\")"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_year_and_albums_back_from_a_sidecar() {
        let text = "<x>\n   <photoshop:DateCreated>2019-07-04T10:00:00+02:00</photoshop:DateCreated>\n   <photovault:Albums>\n    <rdf:Bag>\n     <rdf:li>Trips/Rome &amp; Paris</rdf:li>\n     <rdf:li>A\\/B</rdf:li>\n    </rdf:Bag>\n   </photovault:Albums>\n</x>";
        let (year, albums) = sidecar_facts(text);
        assert_eq!(year, Some(2019));
        assert_eq!(albums, ["Trips/Rome & Paris", "A/B"]);
        assert_eq!(sidecar_facts("<x/>"), (None, vec![]));
    }
}
