//! Reading assets: one query over the asset table and its attribute rows,
//! joined in memory with keywords, albums, persons and resources.
//!
//! Each related table is read once, whole, and indexed by asset: a
//! 100,000-asset library is a handful of sequential scans, not 100,000
//! small queries.

use std::sync::Arc;

use chrono::{DateTime, FixedOffset, Offset, Utc};
use rusqlite::{Connection, Row};
use rustc_hash::FxHashMap;

use super::fingerprint;
use super::model::{AlbumRef, Asset, AssetFlags, AssetKind, Burst};
pub(crate) use super::presence::Presence;
use super::relations::{self, Interner, ResourceStream};
use super::resources::{self, AssetFiles, ResourceRow};
use super::schema::Schema;

/// Seconds from the Unix epoch to Core Data's (2001-01-01T00:00:00Z).
const CORE_DATA_EPOCH: f64 = 978_307_200.0;

/// Photos stores "no location" as this latitude and longitude.
const NO_LOCATION: f64 = -180.0;

/// `ZKINDSUBTYPE` values, which say what sort of photo or video an asset is.
mod subtype {
    pub const PANORAMA: i64 = 1;
    pub const LIVE_PHOTO: i64 = 2;
    pub const SCREENSHOT: i64 = 10;
    pub const SLOW_MO: i64 = 101;
    pub const TIME_LAPSE: i64 = 102;
    pub const SCREEN_RECORDING: i64 = 103;
}

/// `ZAVALANCHEPICKTYPE` bits for frames of a burst (2 marks a frame not
/// selected, 4 Photos' default pick).
mod burst_pick {
    pub const USER_PICK: i64 = 0b1000;
    pub const KEY: i64 = 0b1_0000;
}

/// The HDR value of `ZCUSTOMRENDEREDVALUE` / `ZHDRTYPE`.
const HDR_VALUE: i64 = 3;
/// First model version (Photos 7) whose `ZHDRTYPE` is authoritative.
const HDR_TYPE_FROM_MODEL: u32 = 15_000;
/// `ZCAMERACAPTUREDEVICE` of the front camera.
const FRONT_CAMERA: i64 = 1;

/// `ZSAVEDASSETTYPE` of an original that stays outside the library.
const SAVED_ASSET_REFERENCED: i64 = 10;
/// `ZSAVEDASSETTYPE` of an item of an iCloud Shared Album.
const SAVED_ASSET_CLOUD_SHARED: i64 = 4;

/// Converts a Core Data timestamp (seconds since 2001) to an instant.
pub(crate) fn core_data_time(seconds: Option<f64>) -> Option<DateTime<Utc>> {
    let s = seconds?;
    if !s.is_finite() {
        return None;
    }
    let unix = s + CORE_DATA_EPOCH;
    let whole = unix.floor();
    let nanos = ((unix - whole) * 1e9).round().min(999_999_999.0) as u32;
    DateTime::from_timestamp(whole as i64, nanos)
}

/// The columns of the asset query, in order. Each is `alias.COLUMN` or NULL
/// when this library's schema lacks it (see [`Schema::col`]).
#[derive(Clone, Copy)]
enum C {
    Pk,
    Uuid,
    Filename,
    Directory,
    DateCreated,
    AddedDate,
    ModificationDate,
    Kind,
    KindSubtype,
    Width,
    Height,
    Favorite,
    Hidden,
    TrashedState,
    TrashedDate,
    Latitude,
    Longitude,
    Uti,
    AvalancheUuid,
    AvalanchePick,
    SavedAssetType,
    AdjustmentsState,
    HasAdjustments,
    AdjustmentTimestamp,
    HdrType,
    CustomRendered,
    DepthType,
    DepthStates,
    CaptureDevice,
    DetectedScreenshot,
    OriginalFilename,
    TimezoneOffset,
    Title,
    OriginalFileSize,
    OriginalResourceChoice,
    Description,
    CloudBatchPublishDate,
    CollectionShare,
}

/// The assets a read is limited to: a list of primary keys, written into
/// the queries as SQL integer literals (numbers only, so nothing to escape;
/// SQLite turns a long `IN` list into one temporary index).
#[derive(Debug, Clone)]
pub(crate) struct OnlyAssets(String);

impl OnlyAssets {
    /// The assets with these primary keys.
    pub(crate) fn new(pks: &[i64]) -> Self {
        let list: Vec<String> = pks.iter().map(i64::to_string).collect();
        OnlyAssets(list.join(","))
    }

    /// `" AND <expr> IN (...)"`, to narrow a query with a `WHERE` clause.
    pub(crate) fn and(&self, expr: &str) -> String {
        format!(" AND {expr} IN ({})", self.0)
    }
}

/// `" AND <expr> IN (...)"` when the read is limited, else nothing.
pub(crate) fn narrow(only: Option<&OnlyAssets>, expr: &str) -> String {
    only.map(|o| o.and(expr)).unwrap_or_default()
}

fn asset_query(s: &Schema, only: Option<&OnlyAssets>) -> String {
    let a = Some(&s.asset);
    // Attribute and description rows are joined only when the link columns
    // exist; otherwise their columns read as NULL.
    let aa = s.linked_attributes();
    let d = s
        .description
        .as_ref()
        .filter(|_| aa.is_some_and(|aa| s.has_column(&aa.table, "ZASSETDESCRIPTION")));
    let cols = [
        s.col(a, "a", "Z_PK"),
        s.col(a, "a", "ZUUID"),
        s.col(a, "a", "ZFILENAME"),
        s.col(a, "a", "ZDIRECTORY"),
        s.col(a, "a", "ZDATECREATED"),
        s.col(a, "a", "ZADDEDDATE"),
        s.col(a, "a", "ZMODIFICATIONDATE"),
        s.col(a, "a", "ZKIND"),
        s.col(a, "a", "ZKINDSUBTYPE"),
        s.col(a, "a", "ZWIDTH"),
        s.col(a, "a", "ZHEIGHT"),
        s.col(a, "a", "ZFAVORITE"),
        s.col(a, "a", "ZHIDDEN"),
        s.col(a, "a", "ZTRASHEDSTATE"),
        s.col(a, "a", "ZTRASHEDDATE"),
        s.col(a, "a", "ZLATITUDE"),
        s.col(a, "a", "ZLONGITUDE"),
        s.col(a, "a", "ZUNIFORMTYPEIDENTIFIER"),
        s.col(a, "a", "ZAVALANCHEUUID"),
        s.col(a, "a", "ZAVALANCHEPICKTYPE"),
        s.col(a, "a", "ZSAVEDASSETTYPE"),
        s.col(a, "a", "ZADJUSTMENTSSTATE"),
        s.col(a, "a", "ZHASADJUSTMENTS"),
        s.col(a, "a", "ZADJUSTMENTTIMESTAMP"),
        s.col(a, "a", "ZHDRTYPE"),
        s.col(a, "a", "ZCUSTOMRENDEREDVALUE"),
        s.col(a, "a", "ZDEPTHTYPE"),
        s.col(a, "a", "ZDEPTHSTATES"),
        s.col(aa, "aa", "ZCAMERACAPTUREDEVICE"),
        s.col(a, "a", "ZISDETECTEDSCREENSHOT"),
        s.col(aa, "aa", "ZORIGINALFILENAME"),
        s.col(aa, "aa", "ZTIMEZONEOFFSET"),
        s.col(aa, "aa", "ZTITLE"),
        s.col(aa, "aa", "ZORIGINALFILESIZE"),
        s.col(aa, "aa", "ZORIGINALRESOURCECHOICE"),
        s.col(d, "d", "ZLONGDESCRIPTION"),
        s.col(a, "a", "ZCLOUDBATCHPUBLISHDATE"),
        s.col(a, "a", "ZCOLLECTIONSHARE"),
    ];
    let mut sql = format!("SELECT {} FROM {} a", cols.join(", "), s.asset.table);
    if let Some(aa) = aa {
        sql.push_str(&format!(" LEFT JOIN {} aa ON aa.ZASSET = a.Z_PK", aa.table));
    }
    if let Some(d) = d {
        sql.push_str(&format!(
            " LEFT JOIN {} d ON d.Z_PK = aa.ZASSETDESCRIPTION",
            d.table
        ));
    }
    // Only rows of the asset entity itself (Photos 5 keeps other entities
    // of the GenericAsset hierarchy in the same table).
    if s.has_column(&s.asset.table, "Z_ENT") {
        sql.push_str(&format!(" WHERE a.Z_ENT = {}", s.asset.lineage[0]));
    } else {
        sql.push_str(" WHERE 1");
    }
    sql.push_str(&narrow(only, "a.Z_PK"));
    // In primary-key order, to merge with the resource rows.
    sql.push_str(" ORDER BY a.Z_PK");
    sql
}

/// Values of one asset row that need schema-aware interpretation.
struct Raw<'r, 's> {
    row: &'r Row<'s>,
}

impl Raw<'_, '_> {
    fn i64(&self, c: C) -> Option<i64> {
        self.row.get::<_, Option<i64>>(c as usize).ok().flatten()
    }
    fn f64(&self, c: C) -> Option<f64> {
        self.row.get::<_, Option<f64>>(c as usize).ok().flatten()
    }
    fn text(&self, c: C) -> Option<String> {
        use rusqlite::types::ValueRef;
        match self.row.get_ref(c as usize).ok()? {
            ValueRef::Text(t) => Some(String::from_utf8_lossy(t).into_owned()),
            ValueRef::Blob(b) => Some(String::from_utf8_lossy(b).into_owned()),
            ValueRef::Integer(i) => Some(i.to_string()),
            _ => None,
        }
    }
    fn flag(&self, c: C) -> bool {
        self.i64(c).unwrap_or(0) != 0
    }
}

/// Everything about the assets' relations, read once and indexed by the
/// asset's primary key.
pub(crate) struct Relations {
    pub(crate) keywords: FxHashMap<i64, Vec<Arc<str>>>,
    pub(crate) albums: FxHashMap<i64, Vec<AlbumRef>>,
    pub(crate) persons: FxHashMap<i64, Vec<Arc<str>>>,
}

/// Which of the assets read to keep.
pub(crate) type Keep<'k> = &'k dyn Fn(&Asset) -> bool;

/// Assets read, ordered by capture time then uuid.
pub(crate) struct ReadAssets {
    /// The assets kept.
    pub(crate) assets: Vec<Asset>,
    /// When a [`Keep`] filter was given: the uuids of every asset read that
    /// is not in the trash, kept or not.
    pub(crate) in_library: Vec<String>,
}

/// Reads every asset (or, with `only`, those assets) with its relations,
/// keeping those `keep` accepts (all without it); `presence` answers which
/// files are on disk.
pub(crate) fn read_assets(
    conn: &Connection,
    schema: &Schema,
    model_version: u32,
    relations: &mut Relations,
    mut presence: Presence,
    only: Option<&OnlyAssets>,
    keep: Option<Keep>,
) -> Result<ReadAssets, rusqlite::Error> {
    let sql = asset_query(schema, only);
    let mut stmt = conn.prepare(&sql)?;
    let mut rows = stmt.query([])?;
    let mut resource_stmt = match relations::resource_query(schema, only) {
        Some(q) => Some(conn.prepare(&q)?),
        None => None,
    };
    let mut resources = ResourceStream::new(match resource_stmt.as_mut() {
        Some(s) => Some(s.query([])?),
        None => None,
    });
    let mut utis = Interner::default();
    let mut assets = Vec::new();
    let mut in_library = Vec::new();
    let mut last_pk = None;
    while let Some(row) = rows.next()? {
        let raw = Raw { row };
        let pk = raw.i64(C::Pk).unwrap_or_default();
        // A damaged database may hold two attribute rows for one asset;
        // the first one wins rather than listing the asset twice.
        if last_pk == Some(pk) {
            continue;
        }
        last_pk = Some(pk);
        let Some(uuid) = raw.text(C::Uuid) else {
            continue;
        };
        let resource_rows = resources.take(pk)?;
        let context = Context {
            relations: &mut *relations,
            presence: &mut presence,
            utis: &mut utis,
            model_version,
        };
        let asset = build_asset(pk, uuid, &raw, &resource_rows, context);
        if let Some(keep) = keep {
            if !asset.trashed {
                in_library.push(asset.uuid.clone());
            }
            if !keep(&asset) {
                continue;
            }
        }
        assets.push(asset);
    }
    assets.sort_by(|a, b| a.created.cmp(&b.created).then_with(|| a.uuid.cmp(&b.uuid)));
    Ok(ReadAssets { assets, in_library })
}

/// What building one asset needs besides its own rows.
struct Context<'a> {
    relations: &'a mut Relations,
    presence: &'a mut Presence,
    utis: &'a mut Interner,
    model_version: u32,
}

fn build_asset(
    pk: i64,
    uuid: String,
    raw: &Raw,
    resource_rows: &[ResourceRow],
    cx: Context,
) -> Asset {
    let Context {
        relations,
        presence,
        utis,
        model_version,
    } = cx;
    let mut problems = Vec::new();
    let kind = if raw.i64(C::Kind) == Some(1) {
        AssetKind::Video
    } else {
        AssetKind::Photo
    };
    let sub = raw.i64(C::KindSubtype).unwrap_or(0);
    let is_photo = kind == AssetKind::Photo;
    let flags = AssetFlags {
        screenshot: is_photo && (sub == subtype::SCREENSHOT || raw.flag(C::DetectedScreenshot)),
        screen_recording: !is_photo && sub == subtype::SCREEN_RECORDING,
        live_photo: is_photo && sub == subtype::LIVE_PHOTO,
        panorama: is_photo && sub == subtype::PANORAMA,
        slow_mo: !is_photo && sub == subtype::SLOW_MO,
        time_lapse: !is_photo && sub == subtype::TIME_LAPSE,
        portrait: raw.flag(C::DepthType) || raw.flag(C::DepthStates),
        // Photos 5 and 6 record HDR in ZCUSTOMRENDEREDVALUE, later versions
        // in ZHDRTYPE; in both, 3 means HDR (iPhone "smart HDR" is 10, not
        // an HDR photo in Photos' sense).
        hdr: if model_version < HDR_TYPE_FROM_MODEL {
            raw.i64(C::CustomRendered) == Some(HDR_VALUE)
        } else {
            raw.i64(C::HdrType).or(raw.i64(C::CustomRendered)) == Some(HDR_VALUE)
        },
        selfie: raw.i64(C::CaptureDevice) == Some(FRONT_CAMERA),
    };
    let burst = raw
        .text(C::AvalancheUuid)
        .filter(|s| !s.is_empty())
        .map(|id| {
            let pick = raw.i64(C::AvalanchePick).unwrap_or(0);
            Burst {
                id,
                key: pick & burst_pick::KEY != 0,
                picked: pick == 0 || pick & (burst_pick::KEY | burst_pick::USER_PICK) != 0,
            }
        });

    let offset_seconds = raw.i64(C::TimezoneOffset).unwrap_or(0);
    let offset = i32::try_from(offset_seconds)
        .ok()
        .and_then(FixedOffset::east_opt)
        .unwrap_or_else(|| {
            problems.push(format!(
                "time zone offset {offset_seconds} s is out of range; using UTC"
            ));
            Utc.fix()
        });
    let created = core_data_time(raw.f64(C::DateCreated)).map(|t| t.with_timezone(&offset));
    if created.is_none() {
        problems.push("no usable capture time recorded".into());
    }

    let (latitude, longitude) = match (raw.f64(C::Latitude), raw.f64(C::Longitude)) {
        (Some(lat), Some(lon))
            if lat != NO_LOCATION
                && lon != NO_LOCATION
                && (-90.0..=90.0).contains(&lat)
                && (-180.0..=180.0).contains(&lon) =>
        {
            (Some(lat), Some(lon))
        }
        _ => (None, None),
    };

    let filename = raw.text(C::Filename).unwrap_or_default();
    let original_filename = raw.text(C::OriginalFilename).unwrap_or_else(|| {
        problems.push("no original file name recorded; using the stored file name".into());
        filename.clone()
    });
    if let Some(why) = super::names::component_problem(&original_filename) {
        problems.push(format!("original file name {original_filename:?} {why}"));
    }
    let edited = raw.i64(C::AdjustmentsState).is_some_and(|v| v > 0) || raw.flag(C::HasAdjustments);
    let referenced = raw.i64(C::SavedAssetType) == Some(SAVED_ASSET_REFERENCED);
    // An item of an iCloud Shared Album: published in a cloud batch (and,
    // where the column exists, saved as type 4; from Photos 11 a member of
    // a `CollectionShare`). Its files are not in `originals/` but in the
    // cloud-sharing store.
    let shared = !referenced
        && (raw.f64(C::CloudBatchPublishDate).is_some()
            || raw.i64(C::SavedAssetType) == Some(SAVED_ASSET_CLOUD_SHARED)
            || raw.i64(C::CollectionShare).is_some());
    let files = AssetFiles {
        directory: raw.text(C::Directory).unwrap_or_default(),
        filename,
        kind,
        live_photo: flags.live_photo,
        edited,
        referenced,
        shared,
        raw_is_original: raw.i64(C::OriginalResourceChoice) == Some(1),
        uti: raw.text(C::Uti).map(|u| utis.get(&u)),
        original_size: raw
            .i64(C::OriginalFileSize)
            .and_then(|v| u64::try_from(v).ok()),
    };
    let resources = resources::resolve(&files, resource_rows, presence, &mut problems);

    let mut keywords = relations.keywords.remove(&pk).unwrap_or_default();
    keywords.sort();
    keywords.dedup();
    let mut albums = relations.albums.remove(&pk).unwrap_or_default();
    albums.sort();
    albums.dedup();
    let mut persons = relations.persons.remove(&pk).unwrap_or_default();
    persons.sort();
    persons.dedup();

    let mut asset = Asset {
        uuid,
        original_filename,
        created,
        added: core_data_time(raw.f64(C::AddedDate)),
        modified: core_data_time(raw.f64(C::ModificationDate)),
        edited_at: core_data_time(raw.f64(C::AdjustmentTimestamp)).filter(|_| edited),
        kind,
        flags,
        burst,
        width: raw
            .i64(C::Width)
            .and_then(|v| u32::try_from(v).ok())
            .unwrap_or(0),
        height: raw
            .i64(C::Height)
            .and_then(|v| u32::try_from(v).ok())
            .unwrap_or(0),
        favorite: raw.flag(C::Favorite),
        hidden: raw.flag(C::Hidden),
        trashed: raw.flag(C::TrashedState),
        trashed_date: core_data_time(raw.f64(C::TrashedDate)),
        title: raw.text(C::Title).filter(|s| !s.is_empty()),
        description: raw.text(C::Description).filter(|s| !s.is_empty()),
        keywords,
        albums,
        persons,
        latitude,
        longitude,
        uti: files.uti.clone(),
        original_size: files.original_size,
        referenced,
        shared,
        edited,
        resources,
        problems,
        fingerprint: String::new(),
    };
    let adjustment_time = raw.f64(C::AdjustmentTimestamp);
    asset.fingerprint = fingerprint::of(&asset, &files, adjustment_time, resource_rows);
    asset
}
