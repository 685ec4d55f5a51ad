//! Turning a source (a folder or a Photos library) into groups to organize,
//! leaving out what earlier runs already did.

use std::collections::HashMap;
use std::path::Path;
use std::time::SystemTime;

use rayon::prelude::*;

use super::plan::{self, FolderFile, Group, Member, Role};
use super::scan::{self, WalkProblem};
use crate::catalog::OrganizedRecord;
use crate::library::{AssetKind, LibraryError, PhotosLibrary, ResourceRole};
use crate::media::{capture, classify, MediaKind, Zone};

/// A source file that needs nothing: organized by an earlier run, unchanged.
#[derive(Debug, Clone)]
pub struct Unchanged {
    /// How the report names it.
    pub display: String,
    /// The earlier record.
    pub record: OrganizedRecord,
}

/// What a source yields: groups to organize, files already organized, and
/// what could not be looked at.
#[derive(Default)]
pub struct Found {
    /// New (or changed) files, grouped.
    pub groups: Vec<Group>,
    /// Files an earlier run organized, unchanged since.
    pub unchanged: Vec<Unchanged>,
    /// Folders and files that could not be read, assets missing, skipped.
    pub problems: Vec<WalkProblem>,
    /// Files changed too recently to be taken (they may still be being
    /// written), left for a later run.
    pub deferred: Vec<WalkProblem>,
}

fn mtime_ns(t: SystemTime) -> Option<i64> {
    t.duration_since(SystemTime::UNIX_EPOCH)
        .ok()
        .and_then(|d| i64::try_from(d.as_nanos()).ok())
}

/// Whether the catalog says this file was organized as it is now.
fn already(
    done: &HashMap<String, OrganizedRecord>,
    key: &str,
    size: u64,
    modified: SystemTime,
) -> Option<OrganizedRecord> {
    done.get(key)
        .filter(|r| {
            r.source_size == size && r.source_mtime_ns == mtime_ns(modified) && r.action != "failed"
        })
        .cloned()
}

/// A note for a file that changed since it was organized.
fn changed_note(done: &HashMap<String, OrganizedRecord>, key: &str) -> Option<String> {
    done.get(key).map(|r| match &r.path {
        Some(p) => format!("changed since it was organized as {p}; organized again"),
        None => "changed since an earlier run; organized again".into(),
    })
}

/// The files of a folder, grouped.
pub fn from_folder(
    root: &Path,
    exclude: &Path,
    zone: Zone,
    done: &HashMap<String, OrganizedRecord>,
    min_age: Option<std::time::Duration>,
) -> Found {
    let (files, problems) = scan::walk_folder(root, Some(exclude));
    let mut found = Found {
        problems,
        ..Default::default()
    };
    let mut todo = Vec::new();
    let now = std::time::SystemTime::now();
    for f in files {
        let age = now.duration_since(f.modified).unwrap_or_default();
        if min_age.is_some_and(|min| age < min) {
            found.deferred.push(scan::WalkProblem {
                path: f.rel,
                reason: format!(
                    "changed {:.1} s ago, it may still be being written; a later run organizes it",
                    age.as_secs_f64()
                ),
            });
            continue;
        }
        let key = format!(
            "folder:{}",
            std::path::absolute(&f.path)
                .unwrap_or(f.path.clone())
                .display()
        );
        match already(done, &key, f.size, f.modified) {
            Some(record) => found.unchanged.push(Unchanged {
                display: f.rel,
                record,
            }),
            None => todo.push((key, f)),
        }
    }
    let looked: Vec<FolderFile> = todo
        .into_par_iter()
        .map(|(key, f)| {
            let name = f
                .path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let looked = plan::look(&f.path, &name, f.size, true);
            let mut notes: Vec<String> = changed_note(done, &key).into_iter().collect();
            if let Ok(fm) = &looked.format {
                notes.extend(fm.note.clone());
            }
            FolderFile {
                member: Member {
                    path: f.path,
                    display: f.rel,
                    key,
                    size: f.size,
                    modified: f.modified,
                    format: looked.format,
                    role: Role::Main,
                    notes,
                },
                facts: looked.facts,
            }
        })
        .collect();
    found.groups = plan::group_folder_files(looked, zone);
    found
}

/// The assets of a Photos library: each asset's original with its live
/// video, RAW and `.aae`, categorised by what Photos knows.
pub fn from_library(
    path: &Path,
    zone: Zone,
    done: &HashMap<String, OrganizedRecord>,
) -> Result<Found, LibraryError> {
    let library = PhotosLibrary::open(path)?;
    let snapshot = library.read()?;
    let root = library.root().to_path_buf();
    let mut found = Found::default();
    let mut candidates = Vec::new();
    for asset in snapshot.assets {
        let display = format!("{} ({})", asset.original_filename, asset.uuid);
        if asset.trashed {
            continue;
        }
        if asset.original_missing() {
            found.problems.push(WalkProblem {
                path: display,
                reason: "the original is not on this Mac (in iCloud only, or on a volume that is not connected); a later run organizes it once it is here".into(),
            });
            continue;
        }
        candidates.push((asset, display));
    }
    let groups: Vec<(Option<Group>, Vec<Unchanged>)> = candidates
        .into_par_iter()
        .map(|(asset, display)| {
            let mut members = Vec::new();
            let mut unchanged = Vec::new();
            let wanted = [
                (ResourceRole::Original, Role::Main),
                (ResourceRole::LiveVideo, Role::LiveVideo),
                (ResourceRole::Raw, Role::Raw),
                (ResourceRole::Aae, Role::Aae),
            ];
            let mut main_facts = None;
            for (res_role, role) in wanted {
                let Some(res) = asset.resource(res_role).filter(|r| r.present) else {
                    continue;
                };
                let Some(file) = res.absolute_path(&root) else {
                    continue;
                };
                let Ok(meta) = std::fs::metadata(&file) else {
                    continue;
                };
                let modified = meta.modified().unwrap_or(SystemTime::UNIX_EPOCH);
                let key = format!("library:{}:{}", asset.uuid, role_word(role));
                let shown = match role {
                    Role::Main => display.clone(),
                    _ => format!("{display} {}", role_word(role)),
                };
                if let Some(record) = already(done, &key, meta.len(), modified) {
                    unchanged.push(Unchanged {
                        display: shown,
                        record,
                    });
                    continue;
                }
                // Photos' originals are named by uuid: the name says nothing,
                // the bytes do.
                let name = file
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default();
                let looked = plan::look(&file, &name, meta.len(), role == Role::Main);
                if role == Role::Main {
                    main_facts = Some(looked.facts);
                }
                let mut notes: Vec<String> = changed_note(done, &key).into_iter().collect();
                if let Ok(fm) = &looked.format {
                    notes.extend(fm.note.clone());
                }
                members.push(Member {
                    path: file,
                    display: shown,
                    key,
                    size: meta.len(),
                    modified,
                    format: looked.format,
                    role,
                    notes,
                });
            }
            if members.is_empty() {
                return (None, unchanged);
            }
            // The main file first, even when only companions are new.
            members.sort_by_key(|m| m.role != Role::Main);
            let facts = main_facts.unwrap_or_default();
            let is_image = members[0].role == Role::Main
                && members[0]
                    .format
                    .as_ref()
                    .is_ok_and(|f| f.kind == MediaKind::Image);
            let class = classify::classify_photos_asset(
                asset.kind == AssetKind::Video,
                asset.flags.screenshot,
                asset.flags.screen_recording,
                is_image.then_some(&facts),
            );
            let time = match asset.created {
                Some(t) => capture::from_photos(t),
                None => capture::from_facts(&facts, members[0].modified, zone),
            };
            let group = Group {
                members,
                class,
                time,
                stem: String::new(),
                convert: false,
            };
            (Some(group), unchanged)
        })
        .collect();
    for (group, unchanged) in groups {
        found.groups.extend(group);
        found.unchanged.extend(unchanged);
    }
    Ok(found)
}

/// How a role is named in keys and the report.
pub fn role_word(role: Role) -> &'static str {
    match role {
        Role::Main => "original",
        Role::LiveVideo => "live",
        Role::Raw => "raw",
        Role::Aae => "aae",
        Role::Xmp => "xmp",
    }
}
