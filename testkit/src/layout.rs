//! Where each resource of an asset lives in (or outside) the package, which
//! `ZINTERNALRESOURCE` row describes it, and writing its file.
//!
//! Paths follow the fixtures: originals in `originals/<first UUID char>/`,
//! live video `UUID_3.mov`, RAW alternate `UUID_4.<ext>`, AAE sidecar
//! `UUID_5.aae`, edited renders in `resources/renders/<c>/UUID_1_201_a.jpeg`
//! (`.heic` for HEIC originals in the modern generation), edited videos
//! `UUID_2_0_a.mov`, edited live videos `UUID_2_100_a.mov`, adjustment data
//! `resources/renders/<c>/UUID.plist`, thumbnails
//! `resources/derivatives/<c>/UUID_1_105_c.jpeg`.

use crate::media::{self, Editor, ExifInfo, FileKind, MovieInfo};
use crate::spec::{AssetSpec, MediaKind};
use crate::Generation;
use anyhow::{Context, Result};
use std::path::{Component, Path, PathBuf};

/// The part a file plays for its asset.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ResourceRole {
    /// The original as imported.
    Original,
    /// The small JPEG thumbnail Photos always keeps locally.
    Thumbnail,
    /// The video half of a live photo.
    LiveVideo,
    /// The RAW half of a RAW+JPEG pair.
    Raw,
    /// An `.aae` sidecar imported with the original.
    Aae,
    /// The full-size render of an edit.
    Edited,
    /// The edited video of an edited live photo.
    EditedLiveVideo,
    /// The adjustment plist stored beside renders (no resource row).
    AdjustmentData,
}

/// One resource the builder wrote (or recorded without a file).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BuiltResource {
    /// What the file is.
    pub role: ResourceRole,
    /// Relative to the library package; absolute for referenced files.
    pub path: PathBuf,
    /// A file exists at `path`.
    pub on_disk: bool,
    /// The database says the resource is available locally.
    pub local: bool,
    /// `ZDATALENGTH` / size of the file.
    pub size: u64,
    /// Uniform type identifier of the resource.
    pub uti: String,
}

/// `ZINTERNALRESOURCE` classification of a resource, as in the fixtures.
#[derive(Clone, Copy, Debug)]
pub(crate) struct RowKind {
    pub resource_type: i64,
    pub subtype: i64,
    pub recipe: i64,
    pub version: i64,
}

/// A resource before it is written.
pub(crate) struct Planned {
    pub role: ResourceRole,
    pub path: PathBuf,
    pub kind: FileKind,
    pub row: Option<RowKind>,
    pub local: bool,
    pub referenced: bool,
    /// Write the file (media wanted, locally available, safe path).
    pub write: bool,
}

/// True when `rel` is a harmless relative path (no `..`, not absolute, no
/// NUL, components of at most 255 bytes): only then is a file written for
/// an overridden name.
pub(crate) fn is_safe_relative(rel: &str) -> bool {
    !rel.is_empty()
        && !rel.contains('\0')
        && rel.split('/').all(|c| c.len() <= 255)
        && Path::new(rel)
            .components()
            .all(|c| matches!(c, Component::Normal(_)))
}

/// The resources of one asset.
pub(crate) fn plan(
    gen: Generation,
    spec: &AssetSpec,
    uuid: &str,
    with_media: bool,
) -> Vec<Planned> {
    let d = &uuid[..1];
    let kind = FileKind::from_name(&spec.original_filename);
    let cloud_or_missing = !spec.original_present;
    let local = !cloud_or_missing;
    let mut out = Vec::new();
    let mut add =
        |role, path: PathBuf, kind, row: Option<RowKind>, local: bool, referenced: bool| {
            out.push(Planned {
                role,
                write: with_media && local,
                path,
                kind,
                row,
                local,
                referenced,
            });
        };
    let row = |resource_type, subtype, recipe, version| {
        Some(RowKind {
            resource_type,
            subtype,
            recipe,
            version,
        })
    };
    let video = spec.kind == MediaKind::Video;
    let ext = kind.library_extension(&spec.original_filename);
    let referenced_dir = spec
        .referenced
        .as_ref()
        .and_then(|p| p.parent().map(Path::to_path_buf));
    let referenced_stem = spec
        .referenced
        .as_ref()
        .and_then(|p| p.file_stem())
        .map(|s| s.to_string_lossy().into_owned());

    // The original, possibly under an overridden (but safe) name.
    let (orig_path, orig_safe) = match &spec.referenced {
        Some(p) => (p.clone(), true),
        None => {
            let dir = spec
                .overrides
                .directory
                .clone()
                .unwrap_or_else(|| d.to_string());
            let file = spec
                .overrides
                .filename
                .clone()
                .unwrap_or_else(|| format!("{uuid}.{ext}"));
            let rel = format!("{dir}/{file}");
            let safe = is_safe_relative(&rel);
            (
                PathBuf::from("originals").join(if safe {
                    rel
                } else {
                    format!("{d}/{uuid}.{ext}")
                }),
                safe,
            )
        }
    };
    add(
        ResourceRole::Original,
        orig_path,
        kind,
        row(i64::from(video), 1, 0, 0),
        local,
        spec.referenced.is_some(),
    );
    let sidecar = |suffix: &str, ext: &str| -> (PathBuf, bool) {
        match (&referenced_dir, &referenced_stem) {
            (Some(dir), Some(stem)) => (
                dir.join(format!("{stem}.{}", ext.to_ascii_uppercase())),
                true,
            ),
            _ => (
                PathBuf::from(format!("originals/{d}/{uuid}_{suffix}.{ext}")),
                false,
            ),
        }
    };
    add(
        ResourceRole::Thumbnail,
        PathBuf::from(format!("resources/derivatives/{d}/{uuid}_1_105_c.jpeg")),
        FileKind::Jpeg,
        row(0, 0, 65747, 3),
        true,
        false,
    );
    if spec.live_photo && !video {
        let (p, r) = sidecar("3", "mov");
        add(
            ResourceRole::LiveVideo,
            p,
            FileKind::Mov,
            row(3, 18, 0, 0),
            local,
            r,
        );
    }
    if spec.raw_pair {
        let (p, r) = sidecar("4", "cr2");
        add(
            ResourceRole::Raw,
            p,
            FileKind::Cr2,
            row(4, 17, 0, 0),
            local,
            r,
        );
    }
    if spec.aae {
        let (p, r) = sidecar("5", "aae");
        add(
            ResourceRole::Aae,
            p,
            FileKind::Aae,
            row(5, 22, 0, 0),
            local,
            r,
        );
    }
    if spec.edited {
        let renders = format!("resources/renders/{d}/{uuid}");
        if video {
            add(
                ResourceRole::Edited,
                PathBuf::from(format!("{renders}_2_0_a.mov")),
                FileKind::Mov,
                row(1, 2, 131272, 2),
                local,
                false,
            );
        } else {
            let heic = gen == Generation::Modern && kind == FileKind::Heic;
            let (ext, k) = if heic {
                ("heic", FileKind::Heic)
            } else {
                ("jpeg", FileKind::Jpeg)
            };
            add(
                ResourceRole::Edited,
                PathBuf::from(format!("{renders}_1_201_a.{ext}")),
                k,
                row(0, 2, 65938, 2),
                local,
                false,
            );
        }
        if spec.live_photo && !video {
            add(
                ResourceRole::EditedLiveVideo,
                PathBuf::from(format!("{renders}_2_100_a.mov")),
                FileKind::Mov,
                row(3, 19, 131272, 2),
                local,
                false,
            );
        }
        add(
            ResourceRole::AdjustmentData,
            PathBuf::from(format!("{renders}.plist")),
            FileKind::Other,
            None,
            true,
            false,
        );
    }
    if !orig_safe {
        out[0].write = false;
    }
    out
}

/// The bytes of a planned resource.
pub(crate) fn content(
    p: &Planned,
    spec: &AssetSpec,
    uuid: &str,
    media_group: Option<&str>,
) -> Result<Vec<u8>> {
    let unique = format!("{uuid}/{:?}", p.role);
    let (w, h) = if p.role == ResourceRole::Thumbnail {
        (256, 192)
    } else {
        (spec.width, spec.height)
    };
    let when = spec.modified;
    Ok(match p.role {
        ResourceRole::Aae => media::adjustment(Editor::Camera, spec.created.to_utc(), &unique)?,
        ResourceRole::AdjustmentData => media::adjustment(Editor::Photos, when, &unique)?,
        _ if p.kind.is_movie() => media::movie(&MovieInfo {
            created: spec.created,
            duration: if p.role == ResourceRole::Original || p.role == ResourceRole::Edited {
                spec.duration.max(0.5)
            } else {
                2.5
            },
            width: w,
            height: h,
            gps: spec.gps,
            content_identifier: media_group.filter(|_| p.role != ResourceRole::Original),
            unique: &unique,
            quicktime: p.kind == FileKind::Mov,
        }),
        _ => media::still(
            p.kind,
            &ExifInfo {
                created: spec.created,
                gps: spec.gps,
                unique: &unique,
                width: w,
                height: h,
            },
        ),
    })
}

/// Writes `bytes` at `path` (relative to `root` unless absolute).
pub(crate) fn write_file(root: &Path, path: &Path, bytes: &[u8]) -> Result<()> {
    let full = root.join(path);
    if let Some(parent) = full.parent() {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("creating {}", parent.display()))?;
    }
    std::fs::write(&full, bytes).with_context(|| format!("writing {}", full.display()))
}
