//! All rows and files of one asset.
//!
//! Column values follow the fixtures (see the crate docs for the full list).

use crate::db::{core_data_time, insert, int, opt_text, text, uuid_from, State};
use crate::layout::{self, BuiltResource, ResourceRole};
use crate::media::FileKind;
use crate::shared;
use crate::spec::{AssetSpec, MediaKind};
use crate::Generation;
use anyhow::{anyhow, bail, Result};
use rusqlite::types::Value;
use rusqlite::Connection;
use std::path::{Path, PathBuf};

/// One asset as written.
#[derive(Clone, Debug, PartialEq)]
pub struct BuiltAsset {
    /// `ZUUID`.
    pub uuid: String,
    /// `Z_PK` in the asset table.
    pub pk: i64,
    /// What was written: the spec the builder was given, with the choices
    /// of the builder applied ([`crate::LibraryBuilder::missing_originals`]
    /// clears `original_present`) and, for a shared-album item, the name,
    /// time zone (none: read as UTC) and size Photos stores for it.
    pub spec: AssetSpec,
    /// Every resource, in the order written.
    pub resources: Vec<BuiltResource>,
}

impl BuiltAsset {
    /// The resource playing `role`, if the asset has one.
    pub fn resource(&self, role: ResourceRole) -> Option<&BuiltResource> {
        self.resources.iter().find(|r| r.role == role)
    }
}

/// `ZKINDSUBTYPE` from the flags.
fn kind_subtype(spec: &AssetSpec) -> i64 {
    match spec.kind {
        MediaKind::Photo if spec.panorama => 1,
        MediaKind::Photo if spec.live_photo => 2,
        MediaKind::Photo if spec.screenshot => 10,
        MediaKind::Video if spec.slow_mo => 101,
        MediaKind::Video if spec.time_lapse => 102,
        MediaKind::Video if spec.screen_recording => 103,
        _ => 0,
    }
}

/// `ZAVALANCHEPICKTYPE` and `ZVISIBILITYSTATE` of a burst member
/// (fixture values: key+default pick 20, user pick 8, not picked 2 hidden).
fn burst_pick(spec: &AssetSpec) -> (i64, i64) {
    match &spec.burst {
        None => (0, 0),
        Some(b) => {
            let mut pick = 0;
            if b.key {
                pick |= 16 | 4;
            }
            if b.selected {
                pick |= 8;
            }
            if pick == 0 {
                (2, 2)
            } else {
                (pick, 0)
            }
        }
    }
}

fn gmt_name(offset_secs: i32) -> String {
    let sign = if offset_secs < 0 { '-' } else { '+' };
    let m = offset_secs.unsigned_abs() / 60;
    format!("GMT{sign}{:02}{:02}", m / 60, m % 60)
}

/// Replaces the first character of a generated UUID (the asset's folder in
/// `originals/`) by one of the first `folders` hex digits, so that a library
/// can have few big folders; 16 keeps the UUID as it is, as Photos does.
fn in_folders(uuid: String, seq: u64, folders: u8) -> String {
    if folders >= 16 {
        return uuid;
    }
    let digit = b"0123456789ABCDEF"[(seq % u64::from(folders.max(1))) as usize] as char;
    format!("{digit}{}", &uuid[1..])
}

/// Sets each column of `cols` in `row`, replacing the value already there.
fn set_columns(
    row: &mut Vec<(&str, Value)>,
    cols: impl IntoIterator<Item = (&'static str, Value)>,
) {
    for (name, value) in cols {
        match row.iter_mut().find(|(n, _)| *n == name) {
            Some(slot) => slot.1 = value,
            None => row.push((name, value)),
        }
    }
}

/// Writes the files and rows of `spec`.
pub(crate) fn insert_asset(
    conn: &Connection,
    st: &mut State,
    root: &Path,
    with_media: bool,
    spec: &AssetSpec,
) -> Result<BuiltAsset> {
    let gen = st.gen;
    let e = st.ents.clone();
    st.asset_seq += 1;
    let uuid = match &spec.uuid {
        Some(u) => u.clone(),
        None => in_folders(uuid_from(st.asset_seq), st.asset_seq, st.folders),
    };
    if uuid.is_empty() {
        bail!("empty asset UUID");
    }
    let shared_album = match spec.shared_album {
        Some(id) => Some(
            st.shared
                .get(&id.0)
                .cloned()
                .ok_or_else(|| anyhow!("album {} is not a shared album", id.0))?,
        ),
        None => None,
    };
    let stored;
    let spec = match &shared_album {
        Some(_) => {
            stored = shared::as_stored(spec, &uuid);
            &stored
        }
        None => spec,
    };
    let kind = FileKind::from_name(&spec.original_filename);
    let uti = spec.uti.clone().unwrap_or_else(|| kind.uti().to_string());
    let video = spec.kind == MediaKind::Video;
    let cloud = !spec.original_present && spec.referenced.is_none();
    let media_group = spec
        .live_photo
        .then(|| uuid_from(st.asset_seq ^ 0x5EED_0000_0000));
    let asset_pk = st.pk("ASSET");
    // Photos 5 tables point at assets with a companion `Z<GenericAsset>_ASSET`
    // column holding the concrete entity number.
    let root_col = format!("Z{}_ASSET", e.asset_root);
    let aaa_pk = st.pk("ZADDITIONALASSETATTRIBUTES");

    // Files first: their sizes go into the rows.
    let mut resources = Vec::new();
    let planned = match &shared_album {
        Some(album) => shared::plan(spec, &uuid, album, st.cloud_sharing, with_media),
        None => layout::plan(gen, spec, &uuid, with_media)?,
    };
    let synthetic_size = 1_000_000 + (st.asset_seq * 7919) % 5_000_000;
    for p in &planned {
        let size = if p.write {
            let bytes = layout::content(p, spec, &uuid, media_group.as_deref())?;
            layout::write_file(root, &p.path, &bytes)?;
            bytes.len() as u64
        } else {
            match p.role {
                ResourceRole::Original => spec.original_size.unwrap_or(synthetic_size),
                _ => synthetic_size / 3,
            }
        };
        resources.push(BuiltResource {
            role: p.role,
            path: p.path.clone(),
            on_disk: p.write,
            local: p.local,
            size,
            uti: p.uti.clone(),
        });
    }
    let original_size = spec.original_size.unwrap_or(resources[0].size);

    // Moment: one per local calendar day; shared items have none.
    let day = spec.created.date_naive();
    let offset = spec.created.offset().local_minus_utc();
    let created = core_data_time(spec.created.to_utc());
    let moment = match st.moments.get(&day) {
        _ if shared_album.is_some() => Value::Null,
        Some(pk) => int(*pk),
        None => {
            let pk = st.pk("ZMOMENT");
            insert(
                conn,
                "ZMOMENT",
                &[
                    ("Z_PK", int(pk)),
                    ("Z_ENT", int(e.moment)),
                    ("Z_OPT", int(1)),
                    ("ZUUID", text(&uuid_from(pk as u64 ^ 0x4D4F_4D45_4E54))),
                    ("ZSTARTDATE", Value::Real(created)),
                    ("ZENDDATE", Value::Real(created)),
                    ("ZREPRESENTATIVEDATE", Value::Real(created)),
                    ("ZTIMEZONEOFFSET", int(offset)),
                    ("ZTRASHEDSTATE", int(0)),
                    ("ZCACHEDCOUNT", int(0)),
                ],
            )?;
            st.moments.insert(day, pk);
            int(pk)
        }
    };

    let (pick, visibility) = burst_pick(spec);
    let (directory, filename) = match &spec.referenced {
        Some(p) => (
            p.parent()
                .map(|d| d.to_string_lossy().into_owned())
                .unwrap_or_default(),
            p.file_name()
                .map(|f| f.to_string_lossy().into_owned())
                .unwrap_or_default(),
        ),
        None => match &shared_album {
            Some(album) => (album.directory(), shared::stored_name(spec, &uuid)),
            None => (
                uuid[..1].to_string(),
                format!("{uuid}.{}", kind.library_extension(&spec.original_filename)),
            ),
        },
    };
    let directory = spec.overrides.directory.clone().unwrap_or(directory);
    let filename = spec.overrides.filename.clone().unwrap_or(filename);
    let (lat, lon) = spec.gps.unwrap_or((-180.0, -180.0));
    let adjusted = spec.edited.then(|| core_data_time(spec.modified));
    let mut row: Vec<(&str, Value)> = vec![
        ("Z_PK", int(asset_pk)),
        ("Z_ENT", int(e.asset)),
        ("Z_OPT", int(1)),
        ("ZUUID", text(&uuid)),
        ("ZDIRECTORY", text(&directory)),
        ("ZFILENAME", text(&filename)),
        ("ZKIND", int(i64::from(video))),
        ("ZKINDSUBTYPE", int(kind_subtype(spec))),
        (
            "ZPLAYBACKSTYLE",
            int(if video {
                4
            } else if spec.live_photo {
                3
            } else {
                1
            }),
        ),
        ("ZPLAYBACKVARIATION", int(0)),
        (
            "ZAVALANCHEUUID",
            opt_text(spec.burst.as_ref().map(|b| b.uuid.as_str())),
        ),
        ("ZAVALANCHEPICKTYPE", int(pick)),
        (
            "ZSAVEDASSETTYPE",
            int(if spec.referenced.is_some() { 10 } else { 3 }),
        ),
        ("ZCLOUDLOCALSTATE", int(i64::from(cloud))),
        (
            "ZCLOUDASSETGUID",
            if cloud {
                text(&uuid_from(st.asset_seq ^ 0xC10D))
            } else {
                Value::Null
            },
        ),
        ("ZCLOUDPLACEHOLDERKIND", int(if cloud { 3 } else { 0 })),
        ("ZCLOUDDELETESTATE", int(0)),
        ("ZVISIBILITYSTATE", int(visibility)),
        ("ZLATITUDE", Value::Real(lat)),
        ("ZLONGITUDE", Value::Real(lon)),
        ("ZDATECREATED", Value::Real(created)),
        ("ZADDEDDATE", Value::Real(core_data_time(spec.added))),
        (
            "ZMODIFICATIONDATE",
            Value::Real(core_data_time(spec.modified)),
        ),
        (
            "ZADJUSTMENTTIMESTAMP",
            adjusted.map_or(Value::Null, Value::Real),
        ),
        ("ZTRASHEDSTATE", int(i64::from(spec.trashed.is_some()))),
        (
            "ZTRASHEDDATE",
            spec.trashed
                .map_or(Value::Null, |t| Value::Real(core_data_time(t))),
        ),
        ("ZHIDDEN", int(i64::from(spec.hidden))),
        ("ZFAVORITE", int(i64::from(spec.favorite))),
        ("ZWIDTH", int(spec.width)),
        ("ZHEIGHT", int(spec.height)),
        ("ZORIENTATION", int(1)),
        ("ZCOMPLETE", int(1)),
        (
            "ZDURATION",
            Value::Real(if video { spec.duration } else { 0.0 }),
        ),
        ("ZUNIFORMTYPEIDENTIFIER", text(&uti)),
        ("ZMEDIAGROUPUUID", opt_text(media_group.as_deref())),
        ("ZMOMENT", moment),
        ("ZADDITIONALATTRIBUTES", int(aaa_pk)),
        ("ZIMPORTSESSION", st.import_session.map_or(Value::Null, int)),
    ];
    match gen {
        Generation::Photos5 => row.extend([
            ("ZHASADJUSTMENTS", int(i64::from(spec.edited))),
            ("ZCUSTOMRENDEREDVALUE", int(if spec.hdr { 3 } else { 0 })),
            ("ZDEPTHSTATES", int(i64::from(spec.portrait))),
        ]),
        Generation::Modern => row.extend([
            ("ZADJUSTMENTSSTATE", int(if spec.edited { 2 } else { 0 })),
            ("ZHDRTYPE", int(if spec.hdr { 3 } else { 0 })),
            ("ZDEPTHTYPE", int(i64::from(spec.portrait))),
            ("ZAVALANCHEKIND", int(i64::from(spec.burst.is_some()))),
        ]),
    }
    if let Some(album) = &shared_album {
        set_columns(&mut row, shared::asset_columns(spec, album, st.asset_seq));
    }
    insert(conn, gen.asset_table(), &row)?;
    st.record_insert(conn, e.asset, asset_pk)?;

    // Description and unmanaged adjustment point back at the attributes row.
    let description_pk = match &spec.description {
        Some(d) => {
            let pk = st.pk("ZASSETDESCRIPTION");
            insert(
                conn,
                "ZASSETDESCRIPTION",
                &[
                    ("Z_PK", int(pk)),
                    ("Z_ENT", int(e.description)),
                    ("Z_OPT", int(1)),
                    ("ZASSETATTRIBUTES", int(aaa_pk)),
                    ("ZLONGDESCRIPTION", text(d)),
                ],
            )?;
            Value::Integer(pk)
        }
        None => Value::Null,
    };
    let adjustment_pk = if spec.edited {
        let pk = st.pk("ZUNMANAGEDADJUSTMENT");
        insert(
            conn,
            "ZUNMANAGEDADJUSTMENT",
            &[
                ("Z_PK", int(pk)),
                ("Z_ENT", int(e.adjustment)),
                ("Z_OPT", int(1)),
                ("ZADJUSTMENTBASEIMAGEFORMAT", int(0)),
                (
                    "ZADJUSTMENTRENDERTYPES",
                    int(if gen == Generation::Modern { 18688 } else { 0 }),
                ),
                ("ZASSETATTRIBUTES", int(aaa_pk)),
                (
                    "ZADJUSTMENTTIMESTAMP",
                    Value::Real(core_data_time(spec.modified)),
                ),
                ("ZADJUSTMENTFORMATIDENTIFIER", text("com.apple.photo")),
                ("ZADJUSTMENTFORMATVERSION", text("1.5")),
                ("ZEDITORLOCALIZEDNAME", text("com.apple.Photos")),
                (
                    "ZOTHERADJUSTMENTSFINGERPRINT",
                    text(&format!("A{}", &uuid_from(pk as u64)[..27])),
                ),
                ("ZUUID", text(&uuid_from(pk as u64 ^ 0xAD1))),
            ],
        )?;
        Value::Integer(pk)
    } else {
        Value::Null
    };
    let fingerprint = format!("A{}", uuid.replace('-', ""))
        .chars()
        .take(28)
        .collect::<String>();
    let original_filename = spec
        .overrides
        .original_filename
        .clone()
        .unwrap_or_else(|| spec.original_filename.clone());
    let mut aaa: Vec<(&str, Value)> = vec![
        ("Z_PK", int(aaa_pk)),
        ("Z_ENT", int(e.aaa)),
        ("Z_OPT", int(1)),
        ("ZASSET", int(asset_pk)),
        ("ZTITLE", opt_text(spec.title.as_deref())),
        ("ZORIGINALFILENAME", text(&original_filename)),
        ("ZORIGINALFILESIZE", int(original_size as i64)),
        ("ZORIGINALWIDTH", int(spec.width)),
        ("ZORIGINALHEIGHT", int(spec.height)),
        ("ZORIGINALORIENTATION", int(1)),
        ("ZORIGINALRESOURCECHOICE", int(0)),
        ("ZTIMEZONEOFFSET", int(offset)),
        ("ZINFERREDTIMEZONEOFFSET", int(offset)),
        (
            "ZTIMEZONENAME",
            text(
                &spec
                    .timezone_name
                    .clone()
                    .unwrap_or_else(|| gmt_name(offset)),
            ),
        ),
        (
            "ZEXIFTIMESTAMPSTRING",
            text(&spec.created.format("%Y:%m:%d %H:%M:%S").to_string()),
        ),
        ("ZCAMERACAPTUREDEVICE", int(i64::from(spec.selfie))),
        ("ZIMPORTEDBY", int(5)),
        ("ZASSETDESCRIPTION", description_pk),
        ("ZUNMANAGEDADJUSTMENT", adjustment_pk),
        (
            "ZEDITORBUNDLEID",
            if spec.edited {
                text("com.apple.Photos")
            } else {
                Value::Null
            },
        ),
    ];
    if gen == Generation::Photos5 {
        aaa.push(("ZMASTERFINGERPRINT", text(&fingerprint)));
        aaa.push((&root_col, int(e.asset)));
    }
    if shared_album.is_some() {
        // The fixture's shared items: no time zone, size, EXIF time or
        // fingerprint, not imported.
        set_columns(
            &mut aaa,
            [
                "ZTIMEZONEOFFSET",
                "ZINFERREDTIMEZONEOFFSET",
                "ZTIMEZONENAME",
                "ZEXIFTIMESTAMPSTRING",
            ]
            .map(|c| (c, Value::Null)),
        );
        if gen == Generation::Photos5 {
            set_columns(&mut aaa, [("ZMASTERFINGERPRINT", Value::Null)]);
        }
        set_columns(&mut aaa, [("ZIMPORTEDBY", int(0))]);
    }
    insert(conn, "ZADDITIONALASSETATTRIBUTES", &aaa)?;

    crate::resources::insert_resources(
        conn,
        st,
        &planned,
        &resources,
        spec,
        asset_pk,
        &fingerprint,
        &root_col,
    )?;
    crate::relations::insert_links(conn, st, spec, asset_pk, aaa_pk, &root_col)?;
    Ok(BuiltAsset {
        uuid,
        pk: asset_pk,
        spec: spec.clone(),
        resources,
    })
}

/// Paths of the resources an asset of the library would have, without
/// writing anything (used by tests to check path conventions). A
/// shared-album item's paths depend on its album: see
/// [`BuiltAsset::resources`]. An error when the spec's RAW type cannot be
/// recorded in `gen`.
pub fn expected_paths(
    gen: Generation,
    spec: &AssetSpec,
    uuid: &str,
) -> Result<Vec<(ResourceRole, PathBuf)>> {
    Ok(layout::plan(gen, spec, uuid, false)?
        .into_iter()
        .map(|p| (p.role, p.path))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn few_folders_keep_the_folder_the_first_uuid_digit() {
        let u = uuid_from(7);
        assert_eq!(in_folders(u.clone(), 7, 16), u, "16: as Photos names them");
        let dirs: std::collections::BTreeSet<char> = (0..100)
            .map(|s| in_folders(uuid_from(s), s, 2).chars().next().unwrap())
            .collect();
        assert_eq!(dirs, ['0', '1'].into());
        assert_eq!(in_folders(u.clone(), 3, 1)[1..], u[1..]);
    }
}
