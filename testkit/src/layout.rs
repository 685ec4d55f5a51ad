//! Where each resource of an asset lives in (or outside) the package, which
//! `ZINTERNALRESOURCE` row describes it, and writing its file.
//!
//! Paths follow the fixtures: originals in `originals/<first UUID char>/`,
//! live video `UUID_3.mov`, RAW alternate `UUID_4.<ext>` (see
//! [`RawAlternate`] for how its type is recorded), AAE sidecar
//! `UUID_5.aae`, edited renders in `resources/renders/<c>/UUID_1_201_a.jpeg`
//! (`.heic` for HEIC originals in the modern generation), edited videos
//! `UUID_2_0_a.mov`, edited live videos `UUID_2_100_a.mov`, adjustment data
//! `resources/renders/<c>/UUID.plist`, thumbnails
//! `resources/derivatives/<c>/UUID_1_105_c.jpeg`. Shared-album items live
//! elsewhere: see [`crate::shared`].

use crate::media::{self, Editor, ExifInfo, FileKind, MovieInfo};
use crate::spec::{AssetSpec, MediaKind, RawAlternate, RawTypeCode};
use crate::Generation;
use anyhow::{bail, Context, Result};
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

/// How a resource row records the resource's type: Photos 5 points at a
/// `ZUNIFORMTYPEIDENTIFIER` row, the modern schema stores a compact code.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct TypeRecord {
    /// The identifier of the Photos 5 row.
    pub uti: String,
    /// `ZCOMPACTUTI` (modern).
    pub compact: String,
    /// `ZUTICONFORMANCEHINT` (modern): 1 image, 2 RAW, 3 movie, 0 other.
    pub hint: i64,
}

impl TypeRecord {
    /// The record Photos writes for a file of `kind`.
    pub fn of(kind: FileKind) -> TypeRecord {
        TypeRecord {
            uti: kind.uti().to_string(),
            compact: kind.compact_uti(),
            hint: kind.conformance_hint(),
        }
    }
}

/// Which data store holds a resource (`ZDATASTORECLASSID` and the
/// `ZDATASTOREKEYDATA` blob).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Store {
    /// The library's own files (class 0).
    Library,
    /// iCloud Shared Albums (class 2); the key names the asset's file
    /// relative to the cloud-sharing `data/` folder.
    CloudSharing { key: String },
}

/// A resource before it is written.
pub(crate) struct Planned {
    pub role: ResourceRole,
    pub path: PathBuf,
    /// The format of the bytes written.
    pub kind: FileKind,
    /// The type the resource row records.
    pub record: TypeRecord,
    /// The type of the file itself (see [`BuiltResource::uti`]).
    pub uti: String,
    pub store: Store,
    pub row: Option<RowKind>,
    pub local: bool,
    pub referenced: bool,
    /// Write the file (media wanted, locally available, safe path).
    pub write: bool,
}

impl Planned {
    /// A resource of the library's own store whose file is of `kind`.
    pub fn new(
        role: ResourceRole,
        path: PathBuf,
        kind: FileKind,
        row: Option<RowKind>,
        local: bool,
    ) -> Planned {
        Planned {
            role,
            path,
            kind,
            record: TypeRecord::of(kind),
            uti: kind.uti().to_string(),
            store: Store::Library,
            row,
            local,
            referenced: false,
            write: local,
        }
    }
}

/// The type identifier of a RAW format, from its extension: the names
/// Apple gives the formats a camera writes RAW+JPEG pairs in.
pub(crate) fn raw_uti(extension: &str) -> Option<&'static str> {
    Some(match extension {
        "dng" => "com.adobe.raw-image",
        "cr2" => "com.canon.cr2-raw-image",
        "cr3" => "com.canon.cr3-raw-image",
        "nef" => "com.nikon.raw-image",
        "arw" => "com.sony.arw-raw-image",
        "raf" => "com.fuji.raw-image",
        "orf" => "com.olympus.raw-image",
        "rw2" => "com.panasonic.rw2-raw-image",
        "pef" => "com.pentax.raw-image",
        _ => return None,
    })
}

/// The RAW alternate an asset has, if any: its own, or the fixtures' CR2
/// (typed by name in Photos 5, by the unmapped code 11 in the modern schema).
fn raw_of(gen: Generation, spec: &AssetSpec) -> Option<RawAlternate> {
    if let Some(raw) = &spec.raw_alternate {
        return Some(raw.clone());
    }
    spec.raw_pair.then(|| {
        RawAlternate::new(
            "cr2",
            match gen {
                Generation::Photos5 => RawTypeCode::Known,
                Generation::Modern => RawTypeCode::Unknown,
            },
        )
    })
}

/// How the resource row of `raw` records its type in `gen`; an error for a
/// record no real library has (a known type Photos has no name or code for).
fn raw_record(gen: Generation, raw: &RawAlternate) -> Result<TypeRecord> {
    let ext = raw.extension.as_str();
    let (uti, compact) = match (gen, raw.type_code) {
        (Generation::Photos5, RawTypeCode::Known) => match raw_uti(ext) {
            Some(uti) => (uti, uti.to_string()),
            None => bail!("no uniform type identifier is known for a .{ext} RAW"),
        },
        (Generation::Photos5, RawTypeCode::Unknown) => {
            ("public.camera-raw-image", "public.camera-raw-image".into())
        }
        (Generation::Modern, RawTypeCode::Known) if ext == "dng" => {
            ("com.adobe.raw-image", "9".to_string())
        }
        (Generation::Modern, RawTypeCode::Known) => bail!(
            "no compact type code is known for a .{ext} RAW (only dng's, 9); use RawTypeCode::Unknown"
        ),
        (Generation::Modern, RawTypeCode::Unknown) => ("public.camera-raw-image", "11".into()),
    };
    Ok(TypeRecord {
        uti: uti.to_string(),
        compact,
        hint: 2,
    })
}

/// The format of the bytes written for a RAW with extension `ext`: DNG and
/// CR2 have their own stand-ins; other RAW formats are TIFF containers too.
fn raw_kind(ext: &str) -> FileKind {
    match ext {
        "dng" => FileKind::Dng,
        "cr2" => FileKind::Cr2,
        _ => FileKind::Tiff,
    }
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

/// The resources of one asset of the library's own store (a shared-album
/// item is planned by [`crate::shared::plan`]); an error when its RAW's
/// type cannot be recorded in `gen`.
pub(crate) fn plan(
    gen: Generation,
    spec: &AssetSpec,
    uuid: &str,
    with_media: bool,
) -> Result<Vec<Planned>> {
    let d = &uuid[..1];
    let kind = FileKind::from_name(&spec.original_filename);
    let cloud_or_missing = !spec.original_present;
    let local = !cloud_or_missing;
    let mut out = Vec::new();
    let mut add =
        |role, path: PathBuf, kind, row: Option<RowKind>, local: bool, referenced: bool| {
            let mut p = Planned::new(role, path, kind, row, local);
            p.write = with_media && local;
            p.referenced = referenced;
            out.push(p);
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
    let raw = raw_of(gen, spec);
    if let Some(raw) = &raw {
        let (p, r) = sidecar("4", &raw.extension);
        let kind = raw_kind(&raw.extension);
        add(ResourceRole::Raw, p, kind, row(4, 17, 0, 0), local, r);
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
    if let Some(raw) = &raw {
        let record = raw_record(gen, raw)?;
        for p in out.iter_mut().filter(|p| p.role == ResourceRole::Raw) {
            p.record = record.clone();
            p.uti = raw_uti(&raw.extension)
                .unwrap_or("public.camera-raw-image")
                .to_string();
        }
    }
    Ok(out)
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::at;

    #[test]
    fn raw_types_are_recorded_as_each_generation_can() {
        let nef = RawAlternate::new(".NEF", RawTypeCode::Unknown);
        assert_eq!(nef.extension, "nef");
        let modern = raw_record(Generation::Modern, &nef).unwrap();
        assert_eq!((modern.compact.as_str(), modern.hint), ("11", 2));
        let photos5 = raw_record(Generation::Photos5, &nef).unwrap();
        assert_eq!(photos5.uti, "public.camera-raw-image");
        let known = RawAlternate::new("nef", RawTypeCode::Known);
        assert_eq!(
            raw_record(Generation::Photos5, &known).unwrap().uti,
            "com.nikon.raw-image"
        );
        assert!(raw_record(Generation::Modern, &known).is_err());
        let dng = RawAlternate::new("dng", RawTypeCode::Known);
        assert_eq!(raw_record(Generation::Modern, &dng).unwrap().compact, "9");
        assert!(raw_record(
            Generation::Photos5,
            &RawAlternate::new("xyz", RawTypeCode::Known)
        )
        .is_err());
    }

    #[test]
    fn a_raw_alternate_is_uuid_4_with_its_extension() {
        let uuid = "A92D9C26-3A50-4197-9388-CB5F7DB9FA91";
        let spec = AssetSpec::photo("DSC_0001.JPG", at(0, 2020, 1, 1, 0, 0, 0))
            .with_raw("ARW", RawTypeCode::Unknown);
        let planned = plan(Generation::Modern, &spec, uuid, true).unwrap();
        let raw = planned
            .iter()
            .find(|p| p.role == ResourceRole::Raw)
            .unwrap();
        assert_eq!(raw.path, PathBuf::from(format!("originals/A/{uuid}_4.arw")));
        assert_eq!(raw.uti, "com.sony.arw-raw-image");
        assert_eq!(raw.kind, FileKind::Tiff);
        let default = AssetSpec {
            raw_pair: true,
            ..AssetSpec::photo("IMG_1.JPG", at(0, 2020, 1, 1, 0, 0, 0))
        };
        for (gen, compact) in [
            (Generation::Photos5, "com.canon.cr2-raw-image"),
            (Generation::Modern, "11"),
        ] {
            let planned = plan(gen, &default, uuid, false).unwrap();
            let raw = planned
                .iter()
                .find(|p| p.role == ResourceRole::Raw)
                .unwrap();
            assert!(raw.path.to_string_lossy().ends_with("_4.cr2"));
            assert_eq!(raw.record.compact, compact, "{gen:?}: as the fixtures");
        }
    }
}
