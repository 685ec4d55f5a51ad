//! What a test asks the builder to write: one [`AssetSpec`] per asset.
//!
//! Tests compare what the library reader returns with these values, so every
//! field is plain data, and the defaults describe an ordinary local photo.

use chrono::{DateTime, FixedOffset, TimeZone, Utc};
use std::path::PathBuf;

/// Handle to an album declared with [`crate::LibraryBuilder::album`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AlbumId(pub(crate) usize);

impl AlbumId {
    /// Position of the album in declaration order (0-based).
    pub fn index(self) -> usize {
        self.0
    }
}

/// Photo or video: decides `ZKIND` and the original's resource type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MediaKind {
    /// A still image (`ZKIND` 0).
    Photo,
    /// A movie (`ZKIND` 1).
    Video,
}

/// Membership in a burst ("avalanche").
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Burst {
    /// `ZAVALANCHEUUID`, shared by all members of the burst.
    pub uuid: String,
    /// This member is the key photo shown for the stack.
    pub key: bool,
    /// The user picked this member (it stays visible outside the stack).
    pub selected: bool,
}

/// The RAW half of a RAW+JPEG pair, when it is not the default CR2.
///
/// Photos copies the RAW beside the JPEG as `originals/<d>/<uuid>_4.<ext>`
/// and gives it a resource row (`ZRESOURCETYPE` 4, `ZDATASTORESUBTYPE` 17)
/// whose type may or may not tell a reader the extension: from Photos 8 on
/// the type is a small compact code, and the code real RAW alternates carry
/// (11) is not one a reader can map, so the file must be found on disk.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RawAlternate {
    /// Extension of the RAW file (`cr2`, `nef`, `dng`, `arw`...), without
    /// the dot; written lower case, as Photos does.
    pub extension: String,
    /// How the resource row records the RAW's type.
    pub type_code: RawTypeCode,
}

impl RawAlternate {
    /// A RAW with extension `extension` whose type is recorded as `type_code`.
    pub fn new(extension: &str, type_code: RawTypeCode) -> RawAlternate {
        RawAlternate {
            extension: extension.trim_start_matches('.').to_ascii_lowercase(),
            type_code,
        }
    }
}

/// Whether a RAW's resource row names a type that gives its extension.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RawTypeCode {
    /// A type that names the format. Photos 5: the format's uniform type
    /// identifier (`com.nikon.raw-image` for `.nef`), as the fixtures record
    /// `com.canon.cr2-raw-image`. Modern: compact code 9
    /// (`com.adobe.raw-image`, the code of a DNG original in Test-15.4.1),
    /// the only RAW code tied to its type by a fixture: so in the modern
    /// generation only `dng` can be known, and the build fails for others.
    Known,
    /// A type from which no extension follows. Modern: compact code 11,
    /// what every RAW alternate in the fixtures records (undocumented, and
    /// not mapped by photovault's reader). Photos 5: the generic
    /// `public.camera-raw-image`, which names no format.
    Unknown,
}

/// The iCloud layout a library keeps shared-album files in
/// (`ZDIRECTORY`/`ZFILENAME` of shared items are relative to its `data/`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CloudSharingLayout {
    /// `resources/cloudsharing/`: Photos 5 to 7 (the fixture
    /// Test-Cloud-10.15.6).
    Resources,
    /// `scopes/cloudsharing/`: Photos 8 and later (osxphotos switches there).
    Scopes,
}

impl CloudSharingLayout {
    /// The folder inside the package (`resources/cloudsharing`, ...).
    pub fn root(self) -> &'static str {
        match self {
            CloudSharingLayout::Resources => "resources/cloudsharing",
            CloudSharingLayout::Scopes => "scopes/cloudsharing",
        }
    }

    /// The layout Photos uses for a schema generation: Photos 5 keeps
    /// `resources/cloudsharing`, the modern schema (Photos 10's) `scopes/`.
    pub fn of(generation: crate::Generation) -> CloudSharingLayout {
        match generation {
            crate::Generation::Photos5 => CloudSharingLayout::Resources,
            crate::Generation::Modern => CloudSharingLayout::Scopes,
        }
    }
}

/// Raw strings to store instead of the computed ones, for robustness tests
/// (`../../etc/passwd`, absolute paths, NUL, control characters, 400-byte
/// names). They go into the database only: a file is still written under the
/// override only when it is a safe relative name inside `originals/`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NameOverrides {
    /// Replaces the asset's `ZDIRECTORY`.
    pub directory: Option<String>,
    /// Replaces the asset's `ZFILENAME`.
    pub filename: Option<String>,
    /// Replaces `ZADDITIONALASSETATTRIBUTES.ZORIGINALFILENAME`.
    pub original_filename: Option<String>,
}

/// Everything the builder writes for one asset.
#[derive(Clone, Debug, PartialEq)]
pub struct AssetSpec {
    /// `ZUUID`; `None` = a deterministic UUID derived from the asset's position.
    pub uuid: Option<String>,
    /// The name the file had when imported (`ZORIGINALFILENAME`); its
    /// extension decides the file format and UTI.
    pub original_filename: String,
    /// Capture time in the photo's own offset (`ZDATECREATED` +
    /// `ZTIMEZONEOFFSET`, and the EXIF/QuickTime dates in the files).
    pub created: DateTime<FixedOffset>,
    /// `ZTIMEZONENAME`; `None` = `GMT±hhmm` from the offset.
    pub timezone_name: Option<String>,
    /// When it was added to the library (`ZADDEDDATE`).
    pub added: DateTime<Utc>,
    /// Last modification (`ZMODIFICATIONDATE`).
    pub modified: DateTime<Utc>,
    /// Photo or video.
    pub kind: MediaKind,
    /// Screenshot (`ZKINDSUBTYPE` 10).
    pub screenshot: bool,
    /// Screen recording (video `ZKINDSUBTYPE` 103).
    pub screen_recording: bool,
    /// Live photo: `ZKINDSUBTYPE` 2, `ZPLAYBACKSTYLE` 3, a paired video.
    pub live_photo: bool,
    /// Panorama (`ZKINDSUBTYPE` 1).
    pub panorama: bool,
    /// Slow motion video (`ZKINDSUBTYPE` 101).
    pub slow_mo: bool,
    /// Time-lapse video (`ZKINDSUBTYPE` 102).
    pub time_lapse: bool,
    /// Burst membership.
    pub burst: Option<Burst>,
    /// Portrait (depth) photo.
    pub portrait: bool,
    /// HDR photo.
    pub hdr: bool,
    /// Taken with the front camera (`ZCAMERACAPTUREDEVICE` 1).
    pub selfie: bool,
    /// Pixel width recorded in the database.
    pub width: u32,
    /// Pixel height recorded in the database.
    pub height: u32,
    /// Video duration in seconds (`ZDURATION`).
    pub duration: f64,
    /// Favourite.
    pub favorite: bool,
    /// Hidden.
    pub hidden: bool,
    /// In "Recently Deleted" since this moment.
    pub trashed: Option<DateTime<Utc>>,
    /// `ZADDITIONALASSETATTRIBUTES.ZTITLE`.
    pub title: Option<String>,
    /// `ZASSETDESCRIPTION.ZLONGDESCRIPTION`.
    pub description: Option<String>,
    /// Keyword titles (`ZKEYWORD`, joined through `Z_1KEYWORDS`).
    pub keywords: Vec<String>,
    /// Albums this asset belongs to.
    pub albums: Vec<AlbumId>,
    /// Named persons: each name is one `ZPERSON` (shared across assets) and
    /// one `ZDETECTEDFACE` on this asset.
    pub persons: Vec<String>,
    /// Faces of unnamed persons: one anonymous `ZPERSON` + face each.
    pub unnamed_faces: usize,
    /// Latitude/longitude; `None` is stored as Photos does: -180.0, -180.0.
    pub gps: Option<(f64, f64)>,
    /// `ZUNIFORMTYPEIDENTIFIER`; `None` = from the filename extension.
    pub uti: Option<String>,
    /// `ZORIGINALFILESIZE`; `None` = the size of the written file (or a
    /// deterministic figure when no media is written).
    pub original_size: Option<u64>,
    /// Edited in Photos: a full-size render, adjustment data and
    /// `ZUNMANAGEDADJUSTMENT`, plus an edited live video for live photos.
    pub edited: bool,
    /// RAW+JPEG pair: the RAW is an alternate resource next to the original.
    /// Without [`AssetSpec::raw_alternate`] it is a CR2 typed as the fixtures
    /// type it (Photos 5 `com.canon.cr2-raw-image`, modern compact code 11).
    pub raw_pair: bool,
    /// The RAW's extension and type code; `Some` makes the asset a pair
    /// even when `raw_pair` is false (see [`AssetSpec::with_raw`]).
    pub raw_alternate: Option<RawAlternate>,
    /// An `.aae` sidecar imported with the original (`UUID_5.aae`).
    pub aae: bool,
    /// false = cloud-only / missing: no files; the resource rows say "not
    /// local, in iCloud" (`ZLOCALAVAILABILITY` -1, `ZREMOTEAVAILABILITY` 1,
    /// `ZCLOUDLOCALSTATE` 3), the asset has a cloud GUID and
    /// `ZCLOUDLOCALSTATE` 1, which osxphotos reports as `ismissing`. See
    /// also [`crate::LibraryBuilder::missing_originals`].
    pub original_present: bool,
    /// The original lives outside the library at this absolute path
    /// (`ZSAVEDASSETTYPE` 10, file-system bookmark and volume rows).
    pub referenced: Option<PathBuf>,
    /// An item of this iCloud Shared Album (declared with
    /// [`crate::LibraryBuilder::shared_album`]) instead of a photo of the
    /// library: `ZSAVEDASSETTYPE` 4, `ZCLOUDBATCHPUBLISHDATE` set, named
    /// `<UUID>.<EXT>` (only the extension of `original_filename` is kept, as
    /// Photos does), files under `<cloudsharing>/data/<person id>/<album
    /// guid>/`, no moment, no time zone, `ZVISIBILITYSTATE` 2, as the
    /// fixture Test-Cloud-10.15.6 records them.
    pub shared_album: Option<AlbumId>,
    /// Raw database strings replacing the computed names.
    pub overrides: NameOverrides,
}

impl AssetSpec {
    /// An ordinary local photo named `original_filename`, taken at `created`.
    pub fn photo(original_filename: &str, created: DateTime<FixedOffset>) -> AssetSpec {
        let added = created.with_timezone(&Utc) + chrono::Duration::days(1);
        AssetSpec {
            uuid: None,
            original_filename: original_filename.to_string(),
            created,
            timezone_name: None,
            added,
            modified: added,
            kind: MediaKind::Photo,
            screenshot: false,
            screen_recording: false,
            live_photo: false,
            panorama: false,
            slow_mo: false,
            time_lapse: false,
            burst: None,
            portrait: false,
            hdr: false,
            selfie: false,
            width: 4032,
            height: 3024,
            duration: 0.0,
            favorite: false,
            hidden: false,
            trashed: None,
            title: None,
            description: None,
            keywords: Vec::new(),
            albums: Vec::new(),
            persons: Vec::new(),
            unnamed_faces: 0,
            gps: None,
            uti: None,
            original_size: None,
            edited: false,
            raw_pair: false,
            raw_alternate: None,
            aae: false,
            original_present: true,
            referenced: None,
            shared_album: None,
            overrides: NameOverrides::default(),
        }
    }

    /// An ordinary local video (1080x1920, 3 s) named `original_filename`.
    pub fn video(original_filename: &str, created: DateTime<FixedOffset>) -> AssetSpec {
        AssetSpec {
            kind: MediaKind::Video,
            width: 1080,
            height: 1920,
            duration: 3.0,
            ..AssetSpec::photo(original_filename, created)
        }
    }

    /// A live photo (still + paired video).
    pub fn live(original_filename: &str, created: DateTime<FixedOffset>) -> AssetSpec {
        AssetSpec {
            live_photo: true,
            ..AssetSpec::photo(original_filename, created)
        }
    }

    /// Sets the UUID.
    pub fn with_uuid(mut self, uuid: &str) -> AssetSpec {
        self.uuid = Some(uuid.to_string());
        self
    }

    /// Makes the asset a RAW+JPEG pair whose RAW is `<uuid>_4.<extension>`
    /// with its type recorded as `type_code`.
    pub fn with_raw(mut self, extension: &str, type_code: RawTypeCode) -> AssetSpec {
        self.raw_pair = true;
        self.raw_alternate = Some(RawAlternate::new(extension, type_code));
        self
    }

    /// Makes the asset an item of the iCloud Shared Album `album`.
    pub fn shared_in(mut self, album: AlbumId) -> AssetSpec {
        self.shared_album = Some(album);
        self
    }

    /// Whether the asset has a RAW alternate.
    pub fn has_raw(&self) -> bool {
        self.raw_pair || self.raw_alternate.is_some()
    }

    /// Adds the asset to `album`.
    pub fn in_album(mut self, album: AlbumId) -> AssetSpec {
        self.albums.push(album);
        self
    }
}

/// `2020-06-15 12:34:56` at UTC offset `offset_hours`: a short way to write
/// capture times in tests.
pub fn at(
    offset_hours: i32,
    y: i32,
    mo: u32,
    d: u32,
    h: u32,
    mi: u32,
    s: u32,
) -> DateTime<FixedOffset> {
    FixedOffset::east_opt(offset_hours * 3600)
        .expect("offset within ±24h")
        .with_ymd_and_hms(y, mo, d, h, mi, s)
        .single()
        .expect("valid local time")
}
