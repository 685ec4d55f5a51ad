//! Verify: prove that a destination still holds what its catalog says.
//!
//! Every file the catalog knows (exported files, the mirror, and what
//! `Versions/` keeps) is read again and its BLAKE3 compared with the hash
//! recorded when it was written; then the engines' folders are listed for
//! files the catalog does not know. Drives rot, get written by other
//! programs and lose files to bad unplugging: a backup nobody checks is a
//! hope, not a backup. Nothing on the drive is changed except the run
//! recorded in the catalog (skipped when the drive is read-only).

use std::collections::HashSet;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Instant;

use chrono::Utc;
use serde::Serialize;

use crate::catalog::{Catalog, CatalogError, RunCounts, RunStatus};
use crate::destination::{Destination, DestinationError, Enrol};
use crate::export::Progress;
use crate::write::{Copied, TEMP_PREFIX};

/// The catalog's name for verify runs.
pub const ENGINE: &str = "verify";

/// Files hashed at once (a drive reads two streams about as fast as one,
/// and the second core hashes meanwhile).
const WORKERS: usize = 2;

/// Why a verify could not run at all.
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    /// The folder is not a destination.
    #[error(transparent)]
    Destination(#[from] DestinationError),
    /// The catalog could not be read.
    #[error(transparent)]
    Catalog(#[from] CatalogError),
    /// The run was asked to stop.
    #[error("the verify was stopped before it finished; run it again")]
    Cancelled,
}

/// A file that is not as the catalog says.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Problem {
    /// Path relative to the destination.
    pub path: String,
    /// What is wrong.
    pub detail: String,
}

/// What a verify found.
#[derive(Debug, Clone, Serialize, Default)]
pub struct VerifyReport {
    /// The destination folder.
    pub destination: PathBuf,
    /// Files read and compared.
    pub checked: u64,
    /// Of them, as recorded.
    pub ok: u64,
    /// Bytes read.
    pub bytes: u64,
    /// Catalogued files not on the drive (the next backup copies current
    /// ones again; a file kept in `Versions/` cannot be).
    pub missing: Vec<Problem>,
    /// Catalogued files whose content changed (bit rot, another program).
    pub changed: Vec<Problem>,
    /// Files in photovault's folders that the catalog does not know.
    pub unexpected: Vec<Problem>,
    /// Wall time.
    pub seconds: f64,
}

impl VerifyReport {
    /// Whether everything is as recorded.
    pub fn clean(&self) -> bool {
        self.missing.is_empty() && self.changed.is_empty() && self.unexpected.is_empty()
    }
}

/// One file to check.
struct Expected {
    path: String,
    size: Option<u64>,
    hash: String,
}

/// Verifies the destination at `dest`.
pub fn verify(
    dest: &Path,
    cancel: Option<&AtomicBool>,
    progress: &dyn Progress,
) -> Result<VerifyReport, VerifyError> {
    let started = Instant::now();
    let run_started = Utc::now();
    let destination = Destination::open(dest, Enrol::Never)?;
    // Recording the run needs a writable catalog; a read-only drive is
    // verified all the same.
    let (catalog, writable) = match Catalog::open(&destination.catalog_path()) {
        Ok(c) => (c, true),
        Err(_) => (Catalog::open_read_only(&destination.catalog_path())?, false),
    };
    let mut expected = Vec::new();
    for f in catalog.all_files()? {
        expected.push(Expected {
            path: f.path,
            size: Some(f.size),
            hash: f.hash,
        });
    }
    for f in catalog.all_mirror_files()? {
        expected.push(Expected {
            path: f.path,
            size: Some(f.size),
            hash: f.hash,
        });
    }
    // Kept copies that verify once found damaged have no hash: they are
    // known (not unexpected) but cannot be checked.
    let mut unchecked = Vec::new();
    for v in catalog.versions()? {
        match (v.pruned, v.hash) {
            (false, Some(hash)) => expected.push(Expected {
                path: v.versions_path,
                size: v.size,
                hash,
            }),
            (false, None) => unchecked.push(v.versions_path),
            (true, _) => {}
        }
    }
    let run = if writable {
        Some(catalog.begin_run(ENGINE, run_started, &dest.to_string_lossy(), "")?)
    } else {
        None
    };

    let mut report = VerifyReport {
        destination: dest.to_path_buf(),
        ..VerifyReport::default()
    };
    progress.start(
        expected.len() as u64,
        expected.iter().filter_map(|e| e.size).sum(),
    );
    let root = destination.root();
    let results: Vec<Mutex<Option<Check>>> = expected.iter().map(|_| Mutex::new(None)).collect();
    let next = AtomicUsize::new(0);
    std::thread::scope(|scope| {
        for _ in 0..WORKERS {
            scope.spawn(|| loop {
                if cancel.is_some_and(|c| c.load(Ordering::Relaxed)) {
                    break;
                }
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(e) = expected.get(i) else {
                    break;
                };
                let check = check(&root.join(&e.path), e);
                progress.file_done(e.size.unwrap_or(0));
                if let Ok(mut slot) = results[i].lock() {
                    *slot = Some(check);
                }
            });
        }
    });
    progress.finish();
    let cancelled = cancel.is_some_and(|c| c.load(Ordering::Relaxed));
    for (e, result) in expected.iter().zip(results) {
        let Some(check) = result.into_inner().ok().flatten() else {
            continue;
        };
        report.checked += 1;
        match check {
            Check::Ok(bytes) => {
                report.ok += 1;
                report.bytes += bytes;
            }
            Check::Missing => report.missing.push(Problem {
                path: e.path.clone(),
                detail: "not on the drive".into(),
            }),
            Check::Changed(detail, bytes) => {
                report.bytes += bytes;
                report.changed.push(Problem {
                    path: e.path.clone(),
                    detail,
                });
            }
        }
    }
    if !cancelled {
        let known: HashSet<&str> = expected
            .iter()
            .map(|e| e.path.as_str())
            .chain(unchecked.iter().map(String::as_str))
            .collect();
        report.unexpected = unexpected(root, &known);
    }
    report.seconds = started.elapsed().as_secs_f64();
    if let Some(run) = run {
        for p in report.missing.iter().chain(&report.changed) {
            catalog.mark_for_recopy(&p.path)?;
        }
        let counts = RunCounts {
            unchanged: report.ok,
            missing: report.missing.len() as u64,
            errors: report.changed.len() as u64,
            gone: report.unexpected.len() as u64,
            bytes: report.bytes,
            ..RunCounts::default()
        };
        let (status, error) = if cancelled {
            (RunStatus::Interrupted, Some("stopped before the end"))
        } else {
            (RunStatus::Complete, None)
        };
        catalog.finish_run(run, status, &counts, None, None, error)?;
    }
    if cancelled {
        return Err(VerifyError::Cancelled);
    }
    Ok(report)
}

enum Check {
    Ok(u64),
    Missing,
    Changed(String, u64),
}

/// Reads one file and compares it with its record.
fn check(path: &Path, e: &Expected) -> Check {
    match crate::write::hash_path(path) {
        Ok(c) if c.hash.to_hex().as_str() == e.hash => Check::Ok(c.size),
        Ok(Copied { size, .. }) => {
            let detail = match e.size {
                Some(want) if want != size => {
                    format!("size {size} bytes instead of {want} (truncated or rewritten)")
                }
                _ => "content differs from what was written (damaged: bit rot, or rewritten by another program)".into(),
            };
            Check::Changed(detail, size)
        }
        Err(err) if err.kind() == io::ErrorKind::NotFound => Check::Missing,
        Err(err) => Check::Changed(format!("cannot be read: {err}"), 0),
    }
}

/// Files in `Export/`, `Library/`, `Organized/` and `Versions/` that the catalog does not
/// know (the marker folder and anything else at the top are a person's).
fn unexpected(root: &Path, known: &HashSet<&str>) -> Vec<Problem> {
    let mut out = Vec::new();
    for top in ["Export", "Library", "Organized", "Versions"] {
        let mut stack = vec![(root.join(top), top.to_string())];
        while let Some((dir, rel)) = stack.pop() {
            let Ok(entries) = std::fs::read_dir(&dir) else {
                continue;
            };
            for entry in entries.flatten() {
                let name = entry.file_name().to_string_lossy().into_owned();
                let path = format!("{rel}/{name}");
                if entry.file_type().is_ok_and(|t| t.is_dir()) {
                    stack.push((entry.path(), path));
                } else if !known.contains(path.as_str()) {
                    let detail = if name.starts_with(TEMP_PREFIX) {
                        "a temporary file left by an interrupted run (the next backup removes it)"
                    } else {
                        "not in the catalog (put there by something other than photovault?)"
                    };
                    out.push(Problem {
                        path,
                        detail: detail.into(),
                    });
                }
            }
        }
    }
    out.sort_by(|a, b| a.path.cmp(&b.path));
    out
}
