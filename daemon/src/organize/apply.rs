//! Carrying a plan out: copying and converting each group's files, both
//! cores at work, every file through the destination's safe writer.
//!
//! Groups are independent, so they run in parallel (rayon); within a group
//! the main file goes first, because whether its `.aae` edit is copied
//! depends on whether the HEIC was converted. Results flow back to the
//! calling thread, which alone writes the catalog. A write error that ends
//! the run (drive full or gone) stops the remaining groups; one file's
//! failure (unreadable source) costs that file only.

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;

use rayon::prelude::*;

use super::plan::{relative_name, Group, Role};
use crate::media::heic;
use crate::write::{self, Copied, WriteError};

/// What happened to one member.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Copied as it is.
    Copied,
    /// A HEIC turned into a JPEG.
    Converted,
    /// A HEIC that could not be converted, copied unchanged.
    CopiedUnconverted,
    /// An `.aae` edit of a converted HEIC: not copied (it describes the HEIC).
    LeftBehind,
    /// Organized by an earlier run; nothing to do.
    AlreadyOrganized,
    /// It could not be organized; a later run tries again.
    Failed,
}

impl Action {
    /// The word the catalog keeps.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Copied => "copied",
            Action::Converted => "converted",
            Action::CopiedUnconverted => "copied_unconverted",
            Action::LeftBehind => "left_behind",
            Action::AlreadyOrganized => "already_organized",
            Action::Failed => "failed",
        }
    }
}

/// What was done with one member.
#[derive(Debug, Clone)]
pub struct Done {
    /// What happened.
    pub action: Action,
    /// The file written, relative to `Organized/`.
    pub name: Option<String>,
    /// Its size and hash.
    pub copied: Option<Copied>,
    /// Why, when it was not the plain thing.
    pub note: Option<String>,
}

/// The settings execution needs.
pub struct Settings<'a> {
    /// The destination root (writes stay inside it).
    pub root: &'a Path,
    /// `<root>/Organized`.
    pub organized: &'a Path,
    /// JPEG quality for converted HEICs.
    pub quality: u8,
    /// libheif threads per image (`Some(1)` when many images decode at once).
    pub decode_threads: Option<u32>,
    /// Set when the run must stop.
    pub cancel: Option<&'a AtomicBool>,
}

/// Runs every group, calling `record` on the calling thread with each
/// group's index and results as they finish. Returns the error that ended
/// the run early, if any.
pub fn run(
    groups: &[Group],
    settings: &Settings<'_>,
    mut record: impl FnMut(usize, Vec<Done>),
) -> Option<WriteError> {
    let stop = AtomicBool::new(false);
    let fatal = std::sync::Mutex::new(None);
    let (tx, rx) = mpsc::channel::<(usize, Vec<Done>)>();
    std::thread::scope(|scope| {
        scope.spawn(|| {
            groups
                .par_iter()
                .enumerate()
                .for_each_with(tx, |tx, (i, group)| {
                    let cancelled = settings.cancel.is_some_and(|c| c.load(Ordering::Relaxed));
                    if stop.load(Ordering::Relaxed) || cancelled {
                        return;
                    }
                    match run_group(group, settings) {
                        Ok(done) => {
                            let _ = tx.send((i, done));
                        }
                        Err(e) => {
                            stop.store(true, Ordering::Relaxed);
                            if let Ok(mut slot) = fatal.lock() {
                                slot.get_or_insert(e);
                            }
                        }
                    }
                });
        });
        for (i, done) in rx {
            record(i, done);
        }
    });
    fatal.into_inner().ok().flatten()
}

/// One group: the main file, then its companions. `Err` only for an error
/// that ends the run.
fn run_group(group: &Group, s: &Settings<'_>) -> Result<Vec<Done>, WriteError> {
    let mut out = Vec::with_capacity(group.members.len());
    let mtime = Some(group.time.instant());
    let mut main_converted = false;
    for member in &group.members {
        if member.role == Role::Aae && main_converted {
            out.push(Done {
                action: Action::LeftBehind,
                name: None,
                copied: None,
                note: Some("the edit sidecar of a HEIC converted to JPEG: it describes the HEIC's edits, not the JPEG's; left behind (use --keep-heic to keep both)".into()),
            });
            continue;
        }
        if member.role == Role::Main && group.convert {
            let name = relative_name(group, member, true);
            match convert(&member.path, s) {
                Ok(jpeg) => {
                    let copied =
                        write::write_bytes_under(s.root, &s.organized.join(&name), &jpeg, mtime)?;
                    main_converted = true;
                    out.push(Done {
                        action: Action::Converted,
                        name: Some(name),
                        copied: Some(copied),
                        note: None,
                    });
                    continue;
                }
                Err(why) => {
                    let name = relative_name(group, member, false);
                    let done = copy(member, &name, s, mtime)?;
                    out.push(match done.action {
                        Action::Copied => Done {
                            action: Action::CopiedUnconverted,
                            note: Some(format!("not converted: {why}; copied unchanged")),
                            ..done
                        },
                        _ => done,
                    });
                    continue;
                }
            }
        }
        let name = relative_name(group, member, false);
        out.push(copy(member, &name, s, mtime)?);
    }
    Ok(out)
}

fn convert(path: &Path, s: &Settings<'_>) -> Result<Vec<u8>, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("the HEIC could not be read ({e})"))?;
    heic::heic_to_jpeg(&bytes, s.quality, s.decode_threads)
        .map(|c| c.jpeg)
        .map_err(|e| e.to_string())
}

fn copy(
    member: &super::plan::Member,
    name: &str,
    s: &Settings<'_>,
    mtime: Option<std::time::SystemTime>,
) -> Result<Done, WriteError> {
    match write::copy_file_under(s.root, &member.path, &s.organized.join(name), mtime) {
        Ok(copied) => Ok(Done {
            action: Action::Copied,
            name: Some(name.to_string()),
            copied: Some(copied),
            note: None,
        }),
        Err(e) if e.stops_run() => Err(e),
        Err(e) => Ok(Done {
            action: Action::Failed,
            name: None,
            copied: None,
            note: Some(e.to_string()),
        }),
    }
}
