//! `ZINTERNALRESOURCE` rows (and, for referenced files, the file-system
//! bookmark and volume rows they point at) of one asset's planned resources.

use crate::db::{insert, int, text, uuid_from, State};
use crate::layout::{self, BuiltResource, ResourceRole, Store};
use crate::media::bookmark;
use crate::spec::AssetSpec;
use crate::Generation;
use anyhow::Result;
use rusqlite::types::Value;
use rusqlite::Connection;
use std::path::Path;

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

/// One row per planned resource that has one. Cloud-only originals are
/// recorded as iCloud records them: not local (`ZLOCALAVAILABILITY` -1),
/// available remotely, `ZCLOUDLOCALSTATE` 3, as the synced resources of
/// Test-Cloud-10.15.6; shared-album items as in that fixture too (class 2,
/// remotely available, no length).
#[allow(clippy::too_many_arguments)]
pub(crate) fn insert_resources(
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
        let shared = matches!(p.store, Store::CloudSharing { .. });
        let remote = (cloud && p.role != ResourceRole::Thumbnail) || shared;
        let (class, key) = match &p.store {
            Store::Library => (0, vec![3, 0, 0, 0, 0x80, k.resource_type as u8]),
            Store::CloudSharing { key } => {
                let mut blob = vec![0x5C, 0, k.subtype as u8];
                blob.extend_from_slice(key.as_bytes());
                (2, blob)
            }
        };
        let is_original = p.role == ResourceRole::Original;
        let mut row: Vec<(&str, Value)> = vec![
            ("Z_PK", int(pk)),
            ("Z_ENT", int(e.resource)),
            ("Z_OPT", int(1)),
            ("ZASSET", int(asset_pk)),
            ("ZRESOURCETYPE", int(k.resource_type)),
            ("ZDATASTORESUBTYPE", int(k.subtype)),
            ("ZDATASTORECLASSID", int(class)),
            ("ZRECIPEID", int(k.recipe)),
            ("ZVERSION", int(k.version)),
            ("ZLOCALAVAILABILITY", int(if p.local { 1 } else { -1 })),
            ("ZLOCALAVAILABILITYTARGET", int(0)),
            ("ZREMOTEAVAILABILITY", int(i64::from(remote))),
            (
                "ZCLOUDLOCALSTATE",
                int(if remote && !shared { 3 } else { 0 }),
            ),
            ("ZCLOUDSOURCETYPE", int(0)),
            ("ZDATALENGTH", int(if shared { 0 } else { b.size as i64 })),
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
            ("ZDATASTOREKEYDATA", Value::Blob(key)),
            ("ZFILESYSTEMBOOKMARK", bookmark_pk),
            ("ZFILESYSTEMVOLUME", volume_pk),
        ];
        let t = &p.record;
        match gen {
            Generation::Photos5 => {
                let uti = st.uti_pk(
                    conn,
                    &t.uti,
                    matches!(t.hint, 1 | 2),
                    t.hint == 3,
                    t.hint == 2,
                )?;
                row.push(("ZUNIFORMTYPEIDENTIFIER", uti));
                row.push((root_col, int(e.asset)));
                row.push((
                    "ZFINGERPRINT",
                    if is_original && !shared {
                        text(fingerprint)
                    } else {
                        Value::Null
                    },
                ));
            }
            Generation::Modern => {
                row.push(("ZCOMPACTUTI", text(&t.compact)));
                row.push(("ZUTICONFORMANCEHINT", int(t.hint)));
                row.push((
                    "ZCODECFOURCHARCODENAME",
                    if p.kind.is_movie() {
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
