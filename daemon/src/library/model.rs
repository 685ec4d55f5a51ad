//! The library as photovault sees it: assets, their files, albums.
//!
//! These types are independent of the Photos schema version: the reader maps
//! every generation of `Photos.sqlite` onto them, so the engines never see a
//! column name.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::{DateTime, FixedOffset, Utc};
use serde::Serialize;

/// Which Photos wrote the library, as far as the database tells.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct LibraryVersion {
    /// Photos' Core Data model version (`PLModelVersion` in `Z_METADATA`),
    /// e.g. 13703 for Photos 5; the most precise statement of the schema.
    pub model_version: u32,
    /// The Photos major version this model belongs to (5 for macOS 10.15, 10
    /// for macOS 15, ...).
    pub photos_version: u32,
    /// `LibrarySchemaVersion` from `database/DataModelVersion.plist`, if present.
    pub library_schema_version: Option<u32>,
}

impl LibraryVersion {
    /// Maps a Core Data model version to the Photos major version. Apple
    /// gave each Photos release its own thousand (13xxx = Photos 5 on macOS
    /// 10.15, ..., 19xxx = Photos 11 on macOS 26) until macOS 27, whose
    /// model versions are nine digits led by the macOS number (27xxxxxxx).
    pub fn from_model_version(model_version: u32, library_schema_version: Option<u32>) -> Self {
        let photos_version = if model_version >= 100_000_000 {
            (model_version / 10_000_000).saturating_sub(15)
        } else {
            (model_version / 1000).saturating_sub(8)
        };
        LibraryVersion {
            model_version,
            photos_version,
            library_schema_version,
        }
    }

    /// The macOS release that ships this Photos version, for messages.
    pub fn macos_release(&self) -> String {
        match self.photos_version {
            5 => "macOS 10.15".to_string(),
            // Photos 6..10 shipped with macOS 11..15; from Photos 11 macOS
            // is numbered by year (26, 27, ...).
            v @ 6..=10 => format!("macOS {}", v + 5),
            v => format!("macOS {}", v + 15),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn model_versions_map_to_photos_releases() {
        let v = |m| LibraryVersion::from_model_version(m, None);
        assert_eq!(v(13537).photos_version, 5);
        assert_eq!(v(13703).macos_release(), "macOS 10.15");
        assert_eq!(v(14104).photos_version, 6);
        assert_eq!(v(16502).macos_release(), "macOS 13");
        assert_eq!(v(18600).photos_version, 10);
        assert_eq!(v(19100).macos_release(), "macOS 26");
        assert_eq!(v(270_000_123).photos_version, 12);
        assert_eq!(v(270_000_123).macos_release(), "macOS 27");
        assert!(v(4025).photos_version < 5);
    }
}

/// Photo or video, as Photos classifies the asset.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq, Hash)]
#[serde(rename_all = "lowercase")]
pub enum AssetKind {
    /// A still image (including the photo of a live photo).
    Photo,
    /// A movie.
    Video,
}

/// Burst membership: which frames belong together and which the user keeps.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Burst {
    /// The burst's identifier, shared by every frame of it.
    pub id: String,
    /// This frame is the one Photos shows for the burst.
    pub key: bool,
    /// The user (or Photos by default) picked this frame; unpicked frames are
    /// hidden inside the burst stack in Photos but are still in the library.
    pub picked: bool,
}

/// The yes/no facts about an asset that change how it is shown or sorted.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct AssetFlags {
    /// A screenshot taken on the device.
    pub screenshot: bool,
    /// A screen recording.
    pub screen_recording: bool,
    /// A live photo (a still with a short video).
    pub live_photo: bool,
    /// A panorama.
    pub panorama: bool,
    /// A slow-motion video.
    pub slow_mo: bool,
    /// A time-lapse video.
    pub time_lapse: bool,
    /// A portrait-mode photo (with depth data).
    pub portrait: bool,
    /// An HDR photo.
    pub hdr: bool,
    /// Taken with the front camera.
    pub selfie: bool,
}

/// What a file of an asset is for; the export names files after this.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum ResourceRole {
    /// The file as it was imported (for a RAW+JPEG pair, the one chosen as
    /// original; the other is [`ResourceRole::Raw`] or the original itself).
    Original,
    /// The render of the user's edit.
    Edited,
    /// The video half of a live photo.
    LiveVideo,
    /// The render of an edited live photo's video.
    EditedLiveVideo,
    /// The RAW file of a RAW+JPEG pair.
    Raw,
    /// The `.AAE` adjustments sidecar imported with the original.
    Aae,
    /// Photos' own record of the edit (`resources/renders/.../UUID.plist`),
    /// which is what Photos writes as `.AAE` when exporting an original.
    Adjustments,
}

/// Where a resource's file is and whether it is there.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Resource {
    /// What this file is.
    pub role: ResourceRole,
    /// Path relative to the library root, or absolute for a referenced file
    /// that lives outside the library. `None` when the database names no
    /// usable path (an unsafe or empty name).
    pub path: Option<PathBuf>,
    /// Uniform type identifier of the file, when the database says.
    pub uti: Option<Arc<str>>,
    /// Size in bytes as Photos recorded it, when known.
    pub size: Option<u64>,
    /// The file exists on disk now. `false` means cloud-only, on a volume
    /// that is not mounted, or gone: a state, not an error.
    pub present: bool,
}

impl Resource {
    /// The absolute location of the file for a library at `root`.
    pub fn absolute_path(&self, root: &Path) -> Option<PathBuf> {
        self.path.as_ref().map(|p| {
            if p.is_absolute() {
                p.clone()
            } else {
                root.join(p)
            }
        })
    }
}

/// An album the user made, with the folders it sits in.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Album {
    /// Photos' identifier of the album.
    pub uuid: String,
    /// The album's title.
    pub title: Arc<str>,
    /// Titles of the folders holding the album, outermost first.
    pub folder_path: Arc<[Arc<str>]>,
    /// The album is in Recently Deleted.
    pub trashed: bool,
    /// Identifiers of the member assets, in no particular order.
    pub asset_uuids: Vec<String>,
}

/// One photo or video of the library with everything a backup needs.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Asset {
    /// Photos' stable identifier of the asset.
    pub uuid: String,
    /// The file name the asset had when it was imported.
    pub original_filename: String,
    /// Capture time in the photo's own UTC offset, when recorded.
    pub created: Option<DateTime<FixedOffset>>,
    /// When the asset was added to the library.
    pub added: Option<DateTime<Utc>>,
    /// When Photos last changed the asset's record.
    pub modified: Option<DateTime<Utc>>,
    /// When the current edit was made (none when unedited): a new edit
    /// means a new edited render to back up.
    pub edited_at: Option<DateTime<Utc>>,
    /// Photo or video.
    pub kind: AssetKind,
    /// Screenshot, live photo, panorama and the like.
    pub flags: AssetFlags,
    /// Burst membership, for frames of a burst.
    pub burst: Option<Burst>,
    /// Pixel width as Photos recorded it.
    pub width: u32,
    /// Pixel height as Photos recorded it.
    pub height: u32,
    /// Marked as favourite.
    pub favorite: bool,
    /// Hidden from the library views (still part of the library).
    pub hidden: bool,
    /// In Recently Deleted.
    pub trashed: bool,
    /// When it was moved to Recently Deleted.
    pub trashed_date: Option<DateTime<Utc>>,
    /// The user's title.
    pub title: Option<String>,
    /// The user's caption / description.
    pub description: Option<String>,
    /// Keywords, sorted.
    pub keywords: Vec<Arc<str>>,
    /// Titles of the user albums holding the asset (not trashed), sorted.
    pub albums: Vec<AlbumRef>,
    /// Names of the named persons recognised in it, sorted, each once.
    pub persons: Vec<Arc<str>>,
    /// Latitude in degrees, when the location is known.
    pub latitude: Option<f64>,
    /// Longitude in degrees, when the location is known.
    pub longitude: Option<f64>,
    /// Uniform type identifier of the original.
    pub uti: Option<Arc<str>>,
    /// Size of the original in bytes as Photos recorded it.
    pub original_size: Option<u64>,
    /// The original lives outside the library (a "referenced" file).
    pub referenced: bool,
    /// An item of an iCloud Shared Album (one the user or someone else
    /// shared): Photos keeps only its "medium" copy, in the cloud-sharing
    /// store instead of `originals/`, and that copy is all there is to back up.
    pub shared: bool,
    /// The asset has an edit.
    pub edited: bool,
    /// Every file belonging to the asset that Photos records.
    pub resources: Vec<Resource>,
    /// Problems found in this asset's record (unsafe names, dangling rows);
    /// the asset is still listed so that nothing is silently skipped.
    pub problems: Vec<String>,
    /// Digest of every database field that matters for a backup: when it is
    /// unchanged, the asset's files and metadata are unchanged.
    pub fingerprint: String,
}

/// An album as seen from one of its assets: its title and folders.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, PartialOrd, Ord)]
pub struct AlbumRef {
    /// The album's title.
    pub title: Arc<str>,
    /// Titles of the folders holding the album, outermost first (shared by
    /// every asset of the album).
    pub folder_path: Arc<[Arc<str>]>,
}

impl Asset {
    /// The first resource with this role, if the asset has one.
    pub fn resource(&self, role: ResourceRole) -> Option<&Resource> {
        self.resources.iter().find(|r| r.role == role)
    }

    /// The original is not on disk (cloud-only, referenced volume away, or gone).
    pub fn original_missing(&self) -> bool {
        !self
            .resource(ResourceRole::Original)
            .is_some_and(|r| r.present)
    }

    /// The path of the original, relative to the library or absolute when referenced.
    pub fn original_path(&self) -> Option<&Path> {
        self.resource(ResourceRole::Original)
            .and_then(|r| r.path.as_deref())
    }
}

/// Where the library's own change history stood when it was read; a later
/// read with a different position has changes to look at.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
pub struct HistoryPosition {
    /// Highest `ATRANSACTION` primary key: Photos' persistent history token.
    pub transaction: i64,
    /// Highest `ACHANGE` primary key.
    pub change: i64,
}

/// Everything read from a library in one consistent snapshot.
#[derive(Debug, Clone, Serialize)]
pub struct LibrarySnapshot {
    /// Which Photos wrote the library.
    pub version: LibraryVersion,
    /// Every asset, trashed ones included, ordered by capture time then uuid.
    pub assets: Vec<Asset>,
    /// Every user album, with its folder path and members.
    pub albums: Vec<Album>,
    /// Photos' persistent-history position, where the library keeps one.
    pub history: Option<HistoryPosition>,
}
