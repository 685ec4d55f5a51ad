//! Where an asset's files are: the path rules of Photos 5 and later.
//!
//! Inside the library every file of an asset is named after the stored file
//! name's stem (the asset's uuid) in a one-character folder:
//!
//! | role | path |
//! | --- | --- |
//! | original | `originals/<dir>/<file name>` |
//! | live-photo video | `originals/<dir>/<stem>_3.mov` |
//! | RAW of a RAW+JPEG pair | `originals/<dir>/<stem>_4.<raw ext>` |
//! | imported `.AAE` | `originals/<dir>/<stem>_5.aae` |
//! | edited render | `resources/renders/<dir>/<stem>_1_201_a.<ext>` (videos `_2_0_a.mov`) |
//! | edited live video | `resources/renders/<dir>/<stem>_2_100_a.mov` |
//! | edit record | `resources/renders/<dir>/<stem>.plist` |
//!
//! The `_3`/`_4`/`_5` suffixes are the `ZRESOURCETYPE` of the resource row.
//! A referenced original keeps its own absolute path, from the asset's
//! directory or from its file-system bookmark.
//!
//! An item of an iCloud Shared Album has only the copy Photos downloaded,
//! in the cloud-sharing store: `<store>/data/<dir>/<file name>` (a video
//! `<stem>.medium.<ext>`), where `<dir>` is `<owner id>/<album guid>` and
//! `<store>` is `resources/cloudsharing` up to Photos 7 and
//! `scopes/cloudsharing` from Photos 8 on. Both are looked for on disk,
//! rather than chosen by version.

use std::path::{Path, PathBuf};
use std::sync::{Arc, LazyLock};

use super::model::{AssetKind, Resource, ResourceRole};
use super::names;
use super::presence::Presence;

/// `ZINTERNALRESOURCE.ZRESOURCETYPE` values.
pub(crate) mod resource_type {
    pub const PHOTO: i64 = 0;
    pub const VIDEO: i64 = 1;
    pub const LIVE_VIDEO: i64 = 3;
    pub const RAW_ALTERNATE: i64 = 4;
    pub const ADJUSTMENT_SIDECAR: i64 = 5;
}

/// `ZINTERNALRESOURCE.ZVERSION` values.
pub(crate) mod resource_version {
    pub const ORIGINAL: i64 = 0;
    pub const CURRENT: i64 = 2;
}

/// One `ZINTERNALRESOURCE` row, as much of it as the reader needs.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct ResourceRow {
    pub(crate) resource_type: i64,
    pub(crate) version: i64,
    pub(crate) data_store_subtype: i64,
    pub(crate) data_length: Option<i64>,
    pub(crate) local_availability: Option<i64>,
    pub(crate) uti: Option<Arc<str>>,
    /// Absolute path from the resource's file-system bookmark, for files
    /// outside the library.
    pub(crate) bookmark_path: Option<PathBuf>,
    /// Photos' own content fingerprint or stable hash of the file, if any.
    pub(crate) content_hash: Option<String>,
}

/// The fields of an asset row that decide where its files are.
pub(crate) struct AssetFiles {
    pub(crate) directory: String,
    pub(crate) filename: String,
    pub(crate) kind: AssetKind,
    pub(crate) live_photo: bool,
    pub(crate) edited: bool,
    pub(crate) referenced: bool,
    /// An item of an iCloud Shared Album (files in the cloud-sharing store).
    pub(crate) shared: bool,
    /// The RAW of a RAW+JPEG pair was chosen as the original.
    pub(crate) raw_is_original: bool,
    pub(crate) uti: Option<Arc<str>>,
    pub(crate) original_size: Option<u64>,
}

impl AssetFiles {
    fn stem(&self) -> &str {
        match self.filename.rsplit_once('.') {
            Some((stem, _)) if !stem.is_empty() => stem,
            _ => &self.filename,
        }
    }
}

/// Every file of the asset, with presence checked on disk under `root`.
/// Problems with unusable names are appended to `problems`.
pub(crate) fn resolve(
    files: &AssetFiles,
    rows: &[ResourceRow],
    presence: &mut Presence,
    problems: &mut Vec<String>,
) -> Vec<Resource> {
    let dir_ok = check_names(files, problems);
    let mut out = Vec::new();

    let original_row = rows.iter().find(|r| {
        r.version == resource_version::ORIGINAL
            && matches!(r.resource_type, resource_type::PHOTO | resource_type::VIDEO)
            && r.data_store_subtype == 1
    });
    let original_path = if !dir_ok {
        None
    } else if files.referenced {
        referenced_path(files, original_row)
    } else if files.shared {
        Some(shared_path(files, presence))
    } else {
        Some(in_originals(files, &files.filename))
    };
    if files.referenced && original_path.is_none() && dir_ok {
        problems.push("referenced original has no usable absolute path".into());
    }
    out.push(make(
        ResourceRole::Original,
        original_path,
        files.uti.clone(),
        files
            .original_size
            .or_else(|| original_row.and_then(|r| size(r.data_length))),
        presence,
    ));

    let has = |ty: i64, version: i64| {
        rows.iter()
            .find(|r| r.resource_type == ty && r.version == version)
    };

    // The live video: a type-3 original row, or the live-photo subtype alone
    // (some libraries lack the row).
    if files.live_photo || has(resource_type::LIVE_VIDEO, resource_version::ORIGINAL).is_some() {
        let row = has(resource_type::LIVE_VIDEO, resource_version::ORIGINAL);
        let path = dir_ok.then(|| in_originals(files, &format!("{}_3.mov", files.stem())));
        out.push(make(
            ResourceRole::LiveVideo,
            path,
            Some(QUICKTIME.clone()),
            row.and_then(|r| size(r.data_length)),
            presence,
        ));
    }

    if let Some(row) = has(resource_type::RAW_ALTERNATE, resource_version::ORIGINAL) {
        let path = if !dir_ok {
            None
        } else if let Some(p) = &row.bookmark_path {
            Some(p.clone())
        } else {
            Some(raw_path(files, row, presence))
        };
        out.push(make(
            ResourceRole::Raw,
            path,
            row.uti.clone(),
            size(row.data_length),
            presence,
        ));
    }

    if let Some(row) = has(
        resource_type::ADJUSTMENT_SIDECAR,
        resource_version::ORIGINAL,
    ) {
        let path = dir_ok.then(|| in_originals(files, &format!("{}_5.aae", files.stem())));
        out.push(make(
            ResourceRole::Aae,
            path,
            Some(ADJUSTMENT_ENVELOPE.clone()),
            size(row.data_length),
            presence,
        ));
    }

    if files.edited {
        let render_row = rows.iter().find(|r| {
            r.version == resource_version::CURRENT
                && matches!(r.resource_type, resource_type::PHOTO | resource_type::VIDEO)
        });
        let (path, uti) = if dir_ok {
            edited_path(files, render_row, presence)
        } else {
            (None, None)
        };
        out.push(make(
            ResourceRole::Edited,
            path,
            uti,
            render_row.and_then(|r| size(r.data_length)),
            presence,
        ));

        if let Some(row) = has(resource_type::LIVE_VIDEO, resource_version::CURRENT) {
            let path = dir_ok.then(|| in_renders(files, &format!("{}_2_100_a.mov", files.stem())));
            out.push(make(
                ResourceRole::EditedLiveVideo,
                path,
                Some(QUICKTIME.clone()),
                size(row.data_length),
                presence,
            ));
        }
        let path = dir_ok.then(|| in_renders(files, &format!("{}.plist", files.stem())));
        out.push(make(
            ResourceRole::Adjustments,
            path,
            Some(PROPERTY_LIST.clone()),
            None,
            presence,
        ));
    }
    out
}

/// Checks the stored directory and file name; false means no path of this
/// asset can be trusted.
fn check_names(files: &AssetFiles, problems: &mut Vec<String>) -> bool {
    let dir_problem = if files.referenced && files.directory.starts_with('/') {
        names::absolute_dir_problem(&files.directory)
    } else {
        names::relative_dir_problem(&files.directory)
    };
    let mut ok = true;
    if let Some(why) = dir_problem {
        problems.push(format!(
            "stored directory {:?} {why}; its files are not read",
            files.directory
        ));
        ok = false;
    }
    if let Some(why) = names::component_problem(&files.filename) {
        problems.push(format!(
            "stored file name {:?} {why}; its files are not read",
            files.filename
        ));
        ok = false;
    }
    ok
}

fn in_originals(files: &AssetFiles, name: &str) -> PathBuf {
    Path::new("originals").join(&files.directory).join(name)
}

fn in_renders(files: &AssetFiles, name: &str) -> PathBuf {
    Path::new("resources/renders")
        .join(&files.directory)
        .join(name)
}

/// Where the cloud-sharing stores keep shared-album files, newest first.
const CLOUD_SHARING_DATA: [&str; 2] = ["scopes/cloudsharing/data", "resources/cloudsharing/data"];

/// The file of a shared-album item: a video's `.medium` copy or the stored
/// name, in whichever store holds it; when none does (Photos has not
/// downloaded it), the path where the store this library has would keep it.
fn shared_path(files: &AssetFiles, presence: &mut Presence) -> PathBuf {
    let mut names = Vec::with_capacity(2);
    if files.kind == AssetKind::Video {
        if let Some((stem, ext)) = files.filename.rsplit_once('.') {
            names.push(format!("{stem}.medium.{ext}"));
        }
    }
    names.push(files.filename.clone());
    let candidates = || {
        CLOUD_SHARING_DATA.iter().flat_map(|store| {
            names
                .iter()
                .map(move |name| Path::new(store).join(&files.directory).join(name))
        })
    };
    if let Some(found) = candidates().find(|p| presence.is_file(p)) {
        return found;
    }
    let store = CLOUD_SHARING_DATA
        .iter()
        .find(|store| presence.is_dir(Path::new(store)))
        .unwrap_or(&CLOUD_SHARING_DATA[1]);
    Path::new(store).join(&files.directory).join(&names[0])
}

/// The absolute path of a referenced original: the asset's own absolute
/// directory when Photos stored one, else the resource's bookmark.
fn referenced_path(files: &AssetFiles, row: Option<&ResourceRow>) -> Option<PathBuf> {
    if files.directory.starts_with('/') {
        return Some(Path::new(&files.directory).join(&files.filename));
    }
    row.and_then(|r| r.bookmark_path.clone())
}

/// The RAW of a pair: `<stem>_4.<ext>` beside the original, the extension
/// from the RAW's type, or found in the folder's listing when the type is
/// not one we know (`.raw` when no such file is there).
fn raw_path(files: &AssetFiles, row: &ResourceRow, presence: &mut Presence) -> PathBuf {
    let stem = format!("{}_4", files.stem());
    if let Some(ext) = row.uti.as_deref().and_then(extension_for_uti) {
        return in_originals(files, &format!("{stem}.{ext}"));
    }
    let folder = Path::new("originals").join(&files.directory);
    match presence.file_with_stem(&folder, &stem) {
        Some(name) => folder.join(name),
        None => in_originals(files, &format!("{stem}.raw")),
    }
}

/// The edited render and its type. Photos 5 always rendered JPEG; later
/// versions keep HEIC edits as HEIC: the render row's type decides, and the
/// disk settles it when the type is unknown.
fn edited_path(
    files: &AssetFiles,
    row: Option<&ResourceRow>,
    presence: &mut Presence,
) -> (Option<PathBuf>, Option<Arc<str>>) {
    let stem = files.stem();
    if files.kind == AssetKind::Video {
        return (
            Some(in_renders(files, &format!("{stem}_2_0_a.mov"))),
            Some(QUICKTIME.clone()),
        );
    }
    let named = |ext: &str| in_renders(files, &format!("{stem}_1_201_a.{ext}"));
    if let Some(uti) = row.and_then(|r| r.uti.clone()) {
        if let Some(ext) = extension_for_uti(&uti) {
            return (Some(named(ext)), Some(uti));
        }
    }
    for (ext, uti) in [
        ("jpeg", "public.jpeg"),
        ("heic", "public.heic"),
        ("png", "public.png"),
        ("tiff", "public.tiff"),
    ] {
        let p = named(ext);
        if presence.is_file(&p) {
            return (Some(p), Some(Arc::from(uti)));
        }
    }
    (Some(named("jpeg")), Some(Arc::from("public.jpeg")))
}

fn make(
    role: ResourceRole,
    path: Option<PathBuf>,
    uti: Option<Arc<str>>,
    size: Option<u64>,
    presence: &mut Presence,
) -> Resource {
    let present = path.as_ref().is_some_and(|p| presence.is_file(p));
    Resource {
        role,
        path,
        uti,
        size,
        present,
    }
}

/// Type identifiers every library uses, allocated once and shared.
static QUICKTIME: LazyLock<Arc<str>> = LazyLock::new(|| Arc::from("com.apple.quicktime-movie"));
static ADJUSTMENT_ENVELOPE: LazyLock<Arc<str>> =
    LazyLock::new(|| Arc::from("com.apple.photos.apple-adjustment-envelope"));
static PROPERTY_LIST: LazyLock<Arc<str>> = LazyLock::new(|| Arc::from("com.apple.property-list"));

fn size(len: Option<i64>) -> Option<u64> {
    len.and_then(|l| u64::try_from(l).ok()).filter(|&l| l > 0)
}

/// The file extension Photos uses for a uniform type identifier.
pub fn extension_for_uti(uti: &str) -> Option<&'static str> {
    Some(match uti {
        "public.jpeg" => "jpeg",
        "public.heic" => "heic",
        "public.heif" => "heif",
        "public.avif" => "avif",
        "public.png" => "png",
        "public.tiff" => "tiff",
        "com.compuserve.gif" => "gif",
        "com.microsoft.bmp" => "bmp",
        "org.webmproject.webp" => "webp",
        "com.apple.quicktime-movie" => "mov",
        "public.mpeg-4" => "mp4",
        "com.apple.m4v-video" => "m4v",
        "public.avi" => "avi",
        "com.adobe.raw-image" => "dng",
        "com.canon.cr2-raw-image" => "cr2",
        "com.canon.cr3-raw-image" => "cr3",
        "com.canon.crw-raw-image" => "crw",
        "com.nikon.raw-image" => "nef",
        "com.nikon.nrw-raw-image" => "nrw",
        "com.sony.arw-raw-image" => "arw",
        "com.sony.raw-image" => "srf",
        "com.sony.sr2-raw-image" => "sr2",
        "com.fuji.raw-image" => "raf",
        "com.olympus.raw-image" => "orf",
        "com.olympus.or-raw-image" => "orf",
        "com.panasonic.raw-image" => "raw",
        "com.panasonic.rw2-raw-image" => "rw2",
        "com.pentax.raw-image" => "pef",
        "com.leica.raw-image" => "raw",
        "com.leica.rwl-raw-image" => "rwl",
        "com.samsung.raw-image" => "srw",
        "com.hasselblad.3fr-raw-image" => "3fr",
        "com.hasselblad.fff-raw-image" => "fff",
        "com.phaseone.raw-image" => "iiq",
        "com.epson.raw-image" => "erf",
        "com.kodak.raw-image" => "dcr",
        "com.konicaminolta.raw-image" => "mrw",
        "com.apple.photos.apple-adjustment-envelope" => "aae",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shared(kind: AssetKind, filename: &str) -> AssetFiles {
        AssetFiles {
            directory: "17058154511/9F9A2608-AFE0-4232-A0DC-5ABA7317B978".into(),
            filename: filename.into(),
            kind,
            live_photo: false,
            edited: false,
            referenced: false,
            shared: true,
            raw_is_original: false,
            uti: None,
            original_size: None,
        }
    }

    fn original_of(root: &Path, files: &AssetFiles) -> Resource {
        let mut presence = Presence::new(root);
        let mut problems = Vec::new();
        let mut resources = resolve(files, &[], &mut presence, &mut problems);
        assert!(problems.is_empty(), "{problems:?}");
        resources.remove(0)
    }

    fn touch(root: &Path, rel: &str) {
        let path = root.join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, b"x").unwrap();
    }

    #[test]
    fn a_shared_item_is_found_in_either_cloud_sharing_store() {
        let dir = "17058154511/9F9A2608-AFE0-4232-A0DC-5ABA7317B978";
        for store in CLOUD_SHARING_DATA {
            let lib = tempfile::tempdir().unwrap();
            touch(lib.path(), &format!("{store}/{dir}/A.JPG"));
            touch(lib.path(), &format!("{store}/{dir}/V.medium.MP4"));
            touch(lib.path(), &format!("{store}/{dir}/V.poster.JPG"));

            let photo = original_of(lib.path(), &shared(AssetKind::Photo, "A.JPG"));
            assert!(photo.present, "{store}");
            assert_eq!(
                photo.path.unwrap(),
                Path::new(store).join(dir).join("A.JPG")
            );
            let video = original_of(lib.path(), &shared(AssetKind::Video, "V.MP4"));
            assert!(video.present, "{store}");
            assert_eq!(
                video.path.unwrap(),
                Path::new(store).join(dir).join("V.medium.MP4")
            );
        }
    }

    #[test]
    fn a_shared_item_photos_has_not_downloaded_is_missing_in_the_store_the_library_has() {
        let lib = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(lib.path().join("scopes/cloudsharing/data")).unwrap();
        let video = original_of(lib.path(), &shared(AssetKind::Video, "V.MP4"));
        assert!(!video.present);
        assert_eq!(
            video.path.unwrap(),
            Path::new("scopes/cloudsharing/data")
                .join("17058154511/9F9A2608-AFE0-4232-A0DC-5ABA7317B978/V.medium.MP4")
        );
    }
}
