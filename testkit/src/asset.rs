//! All rows and files of one asset.
//!
//! Column values follow the fixtures (see the crate docs for the full list).

use crate::db::{core_data_time, insert, int, opt_text, text, uuid_from, State};
use crate::layout::{self, BuiltResource, ResourceRole};
use crate::media::{bookmark, FileKind};
use crate::spec::{AssetSpec, MediaKind};
use crate::Generation;
use anyhow::{bail, Result};
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
    /// What the builder was asked to write.
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

/// `(volume name, path relative to the volume)` of an absolute path.
fn volume_of(path: &Path) -> (String, String) {
    let s = path.to_string_lossy();
    if let Some(rest) = s.strip_prefix("/Volumes/") {
        if let Some((name, rel)) = rest.split_once('/') {
            return (name.to_string(), rel.to_string());
        }
    }
    (
        "Macintosh HD".to_string(),
        s.trim_start_matches('/').to_string(),
    )
}

fn gmt_name(offset_secs: i32) -> String {
    let sign = if offset_secs < 0 { '-' } else { '+' };
    let m = offset_secs.unsigned_abs() / 60;
    format!("GMT{sign}{:02}{:02}", m / 60, m % 60)
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
    let uuid = spec.uuid.clone().unwrap_or_else(|| uuid_from(st.asset_seq));
    if uuid.is_empty() {
        bail!("empty asset UUID");
    }
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
    let planned = layout::plan(gen, spec, &uuid, with_media);
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
            uti: p.kind.uti().to_string(),
        });
    }
    let original_size = spec.original_size.unwrap_or(resources[0].size);

    // Moment: one per local calendar day.
    let day = spec.created.date_naive();
    let offset = spec.created.offset().local_minus_utc();
    let created = core_data_time(spec.created.to_utc());
    let moment = match st.moments.get(&day) {
        Some(pk) => *pk,
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
            pk
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
        None => (
            uuid[..1].to_string(),
            format!("{uuid}.{}", kind.library_extension(&spec.original_filename)),
        ),
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
        ("ZMOMENT", int(moment)),
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
    insert(conn, "ZADDITIONALASSETATTRIBUTES", &aaa)?;

    insert_resources(
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

#[allow(clippy::too_many_arguments)]
fn insert_resources(
    conn: &Connection,
    st: &mut State,
    planned: &[layout::Planned],
    built: &[BuiltResource],
    spec: &AssetSpec,
    asset_pk: i64,
    fingerprint: &str,
    root_col: &str,
) -> Result<()> {
    let gen = st.gen;
    let e = st.ents.clone();
    let cloud = !spec.original_present && spec.referenced.is_none();
    for (p, b) in planned.iter().zip(built) {
        let Some(k) = p.row else { continue };
        let pk = st.pk("ZINTERNALRESOURCE");
        let (bookmark_pk, volume_pk) = if p.referenced {
            let (name, rel) = volume_of(&p.path);
            let volume = match st.volumes.get(&name) {
                Some(v) => *v,
                None => {
                    let v = st.pk("ZFILESYSTEMVOLUME");
                    insert(
                        conn,
                        "ZFILESYSTEMVOLUME",
                        &[
                            ("Z_PK", int(v)),
                            ("Z_ENT", int(e.volume)),
                            ("Z_OPT", int(1)),
                            ("ZNAME", text(&name)),
                            ("ZUUID", text(&uuid_from(v as u64 ^ 0x701))),
                            ("ZVOLUMEUUIDSTRING", text(&uuid_from(v as u64 ^ 0x702))),
                        ],
                    )?;
                    st.volumes.insert(name, v);
                    v
                }
            };
            let bm = st.pk("ZFILESYSTEMBOOKMARK");
            insert(
                conn,
                "ZFILESYSTEMBOOKMARK",
                &[
                    ("Z_PK", int(bm)),
                    ("Z_ENT", int(e.bookmark)),
                    ("Z_OPT", int(1)),
                    ("ZRESOURCE", int(pk)),
                    ("ZPATHRELATIVETOVOLUME", text(&rel)),
                    (
                        "ZBOOKMARKDATA",
                        Value::Blob(bookmark(&p.path.to_string_lossy())),
                    ),
                ],
            )?;
            (int(bm), int(volume))
        } else {
            (Value::Null, Value::Null)
        };
        let remote = cloud && p.role != ResourceRole::Thumbnail;
        let is_original = p.role == ResourceRole::Original;
        let mut row: Vec<(&str, Value)> = vec![
            ("Z_PK", int(pk)),
            ("Z_ENT", int(e.resource)),
            ("Z_OPT", int(1)),
            ("ZASSET", int(asset_pk)),
            ("ZRESOURCETYPE", int(k.resource_type)),
            ("ZDATASTORESUBTYPE", int(k.subtype)),
            ("ZDATASTORECLASSID", int(0)),
            ("ZRECIPEID", int(k.recipe)),
            ("ZVERSION", int(k.version)),
            ("ZLOCALAVAILABILITY", int(if p.local { 1 } else { -1 })),
            ("ZLOCALAVAILABILITYTARGET", int(0)),
            ("ZREMOTEAVAILABILITY", int(i64::from(remote))),
            ("ZCLOUDLOCALSTATE", int(i64::from(remote))),
            ("ZCLOUDSOURCETYPE", int(0)),
            ("ZDATALENGTH", int(b.size as i64)),
            (
                "ZUNORIENTEDWIDTH",
                int(if p.role == ResourceRole::Aae {
                    0
                } else {
                    spec.width
                }),
            ),
            (
                "ZUNORIENTEDHEIGHT",
                int(if p.role == ResourceRole::Aae {
                    0
                } else {
                    spec.height
                }),
            ),
            ("ZTRASHEDSTATE", int(0)),
            ("ZSIDECARINDEX", int(0)),
            ("ZFILEID", int(-1)),
            (
                "ZDATASTOREKEYDATA",
                Value::Blob(vec![3, 0, 0, 0, 0x80, k.resource_type as u8]),
            ),
            ("ZFILESYSTEMBOOKMARK", bookmark_pk),
            ("ZFILESYSTEMVOLUME", volume_pk),
        ];
        let k_kind = p.kind;
        match gen {
            Generation::Photos5 => {
                let uti = st.uti_pk(
                    conn,
                    k_kind.uti(),
                    !k_kind.is_movie() && k_kind != FileKind::Aae,
                    k_kind.is_movie(),
                    k_kind.is_raw(),
                )?;
                row.push(("ZUNIFORMTYPEIDENTIFIER", uti));
                row.push((root_col, int(e.asset)));
                row.push((
                    "ZFINGERPRINT",
                    if is_original {
                        text(fingerprint)
                    } else {
                        Value::Null
                    },
                ));
            }
            Generation::Modern => {
                row.push(("ZCOMPACTUTI", text(&k_kind.compact_uti())));
                row.push(("ZUTICONFORMANCEHINT", int(k_kind.conformance_hint())));
                row.push((
                    "ZCODECFOURCHARCODENAME",
                    if k_kind.is_movie() {
                        text("hvc1")
                    } else {
                        Value::Null
                    },
                ));
            }
        }
        insert(conn, "ZINTERNALRESOURCE", &row)?;
    }
    Ok(())
}

/// Paths of the resources an asset would have, without writing anything
/// (used by tests to check path conventions).
pub fn expected_paths(
    gen: Generation,
    spec: &AssetSpec,
    uuid: &str,
) -> Vec<(ResourceRole, PathBuf)> {
    layout::plan(gen, spec, uuid, false)
        .into_iter()
        .map(|p| (p.role, p.path))
        .collect()
}
