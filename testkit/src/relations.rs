//! Rows linking an asset to keywords, albums, persons and faces.

use crate::db::{insert, int, opt_text, text, uuid_from, Columns, Ents, State};
use crate::spec::AssetSpec;
use crate::Generation;
use anyhow::{bail, Result};
use rusqlite::types::Value;
use rusqlite::Connection;
use std::collections::HashSet;

/// Keyword joins (`Z_<AdditionalAssetAttributes>KEYWORDS`), album joins
/// (`Z_<Album>ASSETS` with `Z_FOK_` order keys in steps of 1024; a
/// shared-album item is joined to its shared album the same way) and one
/// detected face per named person and per unnamed face.
pub(crate) fn insert_links(
    conn: &Connection,
    st: &mut State,
    spec: &AssetSpec,
    asset_pk: i64,
    aaa_pk: i64,
    root_col: &str,
) -> Result<()> {
    let e = st.ents.clone();
    let cols = Columns::of(st.gen);
    let mut seen = HashSet::new();
    for kw in spec.keywords.iter().filter(|k| seen.insert(k.as_str())) {
        let kw_pk = match st.keywords.get(kw) {
            Some(pk) => *pk,
            None => {
                let pk = st.pk("ZKEYWORD");
                insert(
                    conn,
                    "ZKEYWORD",
                    &[
                        ("Z_PK", int(pk)),
                        ("Z_ENT", int(e.keyword)),
                        ("Z_OPT", int(1)),
                        ("ZTITLE", text(kw)),
                        ("ZUUID", text(&uuid_from(pk as u64 ^ 0x4B57))),
                    ],
                )?;
                st.keywords.insert(kw.clone(), pk);
                pk
            }
        };
        insert(
            conn,
            &format!("Z_{}KEYWORDS", e.aaa),
            &[
                (&format!("Z_{}ASSETATTRIBUTES", e.aaa), int(aaa_pk)),
                (&format!("Z_{}KEYWORDS", e.keyword), int(kw_pk)),
            ],
        )?;
    }
    let mut seen = HashSet::new();
    let albums = spec.albums.iter().chain(spec.shared_album.iter());
    for album in albums.filter(|a| seen.insert(**a)) {
        let Some(album_pk) = st.album_pks.get(album.0).copied() else {
            bail!("album {} was not declared on this builder", album.0);
        };
        let pos = st.album_positions.entry(album_pk).or_insert(0);
        *pos += 1;
        let order = *pos * 1024;
        insert(
            conn,
            &format!("Z_{}ASSETS", e.album),
            &[
                (&format!("Z_{}ALBUMS", e.album), int(album_pk)),
                (&format!("Z_{}ASSETS", e.asset_root), int(asset_pk)),
                (&format!("Z_FOK_{}ASSETS", e.asset_root), int(order)),
            ],
        )?;
    }
    let visible = i64::from(!spec.hidden && spec.trashed.is_none());
    let named = spec.persons.iter().map(|n| Some(n.as_str()));
    let unnamed = std::iter::repeat_n(None, spec.unnamed_faces);
    for (i, name) in named.chain(unnamed).enumerate() {
        let person_pk = match name.and_then(|n| st.persons.get(n).copied()) {
            Some(pk) => pk,
            None => new_person(conn, st, name, &cols)?,
        };
        let face_pk = st.pk("ZDETECTEDFACE");
        let mut face = face_row(&e, face_pk, &cols, person_pk, name.is_some());
        face.push((cols.face_asset, int(asset_pk)));
        face.push(("ZASSETVISIBLE", int(visible)));
        face.push(("ZCENTERX", Value::Real(0.2 + 0.15 * (i % 5) as f64)));
        face.push(("ZCENTERY", Value::Real(0.4)));
        face.push(("ZUUID", text(&uuid_from(face_pk as u64 ^ 0xFACE))));
        if st.gen == Generation::Photos5 {
            face.push((root_col, int(e.asset)));
        }
        insert(conn, "ZDETECTEDFACE", &face)?;
    }
    Ok(())
}

fn face_row<'a>(
    e: &Ents,
    pk: i64,
    cols: &Columns,
    person: i64,
    named: bool,
) -> Vec<(&'a str, Value)> {
    let person_col: &'static str = cols.face_person;
    vec![
        ("Z_PK", int(pk)),
        ("Z_ENT", int(e.face)),
        ("Z_OPT", int(1)),
        (person_col, int(person)),
        ("ZHIDDEN", int(0)),
        ("ZISINTRASH", int(0)),
        ("ZMANUAL", int(0)),
        ("ZNAMESOURCE", int(i64::from(named))),
        ("ZSIZE", Value::Real(0.1)),
        ("ZSOURCEWIDTH", int(2048)),
        ("ZSOURCEHEIGHT", int(1536)),
        ("ZQUALITYMEASURE", int(100)),
        ("ZCLOUDLOCALSTATE", int(0)),
    ]
}

/// A `ZPERSON` row; a named person also gets a training face with no asset,
/// as real libraries have.
fn new_person(
    conn: &Connection,
    st: &mut State,
    name: Option<&str>,
    cols: &Columns,
) -> Result<i64> {
    let e = st.ents.clone();
    let pk = st.pk("ZPERSON");
    let display = name.map(|n| n.split_whitespace().next().unwrap_or(n).to_string());
    insert(
        conn,
        "ZPERSON",
        &[
            ("Z_PK", int(pk)),
            ("Z_ENT", int(e.person)),
            ("Z_OPT", int(1)),
            ("ZFULLNAME", opt_text(name)),
            ("ZDISPLAYNAME", opt_text(display.as_deref())),
            ("ZFACECOUNT", int(0)),
            ("ZTYPE", int(0)),
            ("ZVERIFIEDTYPE", int(i64::from(name.is_some()))),
            ("ZMANUALORDER", int(if name.is_some() { pk } else { -1 })),
            ("ZPERSONUUID", text(&uuid_from(pk as u64 ^ 0x9E50))),
            ("ZCLOUDLOCALSTATE", int(0)),
        ],
    )?;
    if let Some(n) = name {
        st.persons.insert(n.to_string(), pk);
        let face_pk = st.pk("ZDETECTEDFACE");
        let mut face = face_row(&e, face_pk, cols, pk, true);
        face.push(("ZTRAININGTYPE", int(1)));
        face.push(("ZASSETVISIBLE", int(0)));
        face.push(("ZUUID", text(&uuid_from(face_pk as u64 ^ 0x7EA1))));
        insert(conn, "ZDETECTEDFACE", &face)?;
    }
    Ok(pk)
}
