//! Row writers shared by the bulk builder and the live writer.
//!
//! Every insert goes through a cached prepared statement; `State` keeps the
//! next primary keys and the name→row maps (keywords, persons, moments...)
//! so a 100,000-asset build never queries while inserting.

use crate::built::BuiltAlbum;
use crate::schema::EntityNumbers;
use crate::shared::SharedAlbum;
use crate::spec::CloudSharingLayout;
use crate::Generation;
use anyhow::Result;
use chrono::{DateTime, NaiveDate, Utc};
use rusqlite::types::Value;
use rusqlite::{params_from_iter, Connection, OptionalExtension};
use std::collections::HashMap;

/// Seconds between 1970-01-01 and the Core Data epoch 2001-01-01.
pub(crate) const CORE_DATA_EPOCH: i64 = 978_307_200;

/// A Core Data timestamp (seconds since 2001-01-01 UTC).
pub(crate) fn core_data_time(t: DateTime<Utc>) -> f64 {
    (t.timestamp() - CORE_DATA_EPOCH) as f64 + f64::from(t.timestamp_subsec_micros()) / 1e6
}

/// Text value.
pub(crate) fn text(s: &str) -> Value {
    Value::Text(s.to_string())
}

/// Optional text value.
pub(crate) fn opt_text(s: Option<&str>) -> Value {
    s.map_or(Value::Null, text)
}

/// Integer value.
pub(crate) fn int(v: impl Into<i64>) -> Value {
    Value::Integer(v.into())
}

/// Inserts one row through a cached statement.
pub(crate) fn insert(conn: &Connection, table: &str, cols: &[(&str, Value)]) -> Result<()> {
    let names: Vec<&str> = cols.iter().map(|c| c.0).collect();
    let marks: Vec<String> = (1..=cols.len()).map(|i| format!("?{i}")).collect();
    let sql = format!(
        "INSERT INTO {table} ({}) VALUES ({})",
        names.join(", "),
        marks.join(", ")
    );
    conn.prepare_cached(&sql)?
        .execute(params_from_iter(cols.iter().map(|c| &c.1)))?;
    Ok(())
}

/// A deterministic, RFC 4122-shaped upper-case UUID from a seed.
pub(crate) fn uuid_from(seed: u64) -> String {
    let mut x = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut next = || {
        x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = x;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    };
    let (a, b) = (next(), next());
    let b = (b & 0x3FFF_FFFF_FFFF_FFFF) | 0x8000_0000_0000_0000;
    let a = (a & 0xFFFF_FFFF_FFFF_0FFF) | 0x0000_0000_0000_4000;
    format!(
        "{:08X}-{:04X}-{:04X}-{:04X}-{:012X}",
        a >> 32,
        (a >> 16) & 0xFFFF,
        a & 0xFFFF,
        b >> 48,
        b & 0xFFFF_FFFF_FFFF
    )
}

/// Column names that differ between generations.
pub(crate) struct Columns {
    pub face_asset: &'static str,
    pub face_person: &'static str,
}

impl Columns {
    pub(crate) fn of(gen: Generation) -> Columns {
        match gen {
            Generation::Photos5 => Columns {
                face_asset: "ZASSET",
                face_person: "ZPERSON",
            },
            Generation::Modern => Columns {
                face_asset: "ZASSETFORFACE",
                face_person: "ZPERSONFORFACE",
            },
        }
    }
}

/// Entity numbers used in rows, resolved once.
#[derive(Clone)]
pub(crate) struct Ents {
    pub asset: i64,
    pub asset_root: i64,
    pub aaa: i64,
    pub description: i64,
    pub resource: i64,
    pub album: i64,
    pub shared_album: i64,
    pub invitation: i64,
    pub folder: i64,
    pub fetching_album: i64,
    pub import_session: i64,
    pub keyword: i64,
    pub person: i64,
    pub face: i64,
    pub volume: i64,
    pub bookmark: i64,
    pub adjustment: i64,
    pub moment: i64,
    pub uti: Option<i64>,
    pub change: i64,
    pub transaction: i64,
    pub transaction_string: i64,
}

impl Ents {
    pub(crate) fn resolve(gen: Generation, n: &EntityNumbers) -> Result<Ents> {
        Ok(Ents {
            asset: n.get("Asset")?,
            asset_root: n.get(gen.asset_root_entity())?,
            aaa: n.get("AdditionalAssetAttributes")?,
            description: n.get("AssetDescription")?,
            resource: n.get("InternalResource")?,
            album: n.get("Album")?,
            shared_album: n.get("CloudSharedAlbum")?,
            invitation: n.get("CloudSharedAlbumInvitationRecord")?,
            folder: n.get("Folder")?,
            fetching_album: n.get("FetchingAlbum")?,
            import_session: n.get("ImportSession")?,
            keyword: n.get("Keyword")?,
            person: n.get("Person")?,
            face: n.get("DetectedFace")?,
            volume: n.get("FileSystemVolume")?,
            bookmark: n.get("FileSystemBookmark")?,
            adjustment: n.get("UnmanagedAdjustment")?,
            moment: n.get("Moment")?,
            uti: match gen {
                Generation::Photos5 => Some(n.get("UniformTypeIdentifier")?),
                Generation::Modern => None,
            },
            change: n.get("CHANGE")?,
            transaction: n.get("TRANSACTION")?,
            transaction_string: n.get("TRANSACTIONSTRING")?,
        })
    }
}

/// Library-wide choices that decide where files go, kept with the built
/// library so the live writer adds assets the same way.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Shape {
    /// How many `originals/<X>/` folders generated UUIDs spread over (16:
    /// the first hex digit, as Photos does).
    pub folders: u8,
    /// Where shared-album items go.
    pub cloud_sharing: CloudSharingLayout,
}

impl Shape {
    /// What Photos does for `gen`.
    pub(crate) fn of(gen: Generation) -> Shape {
        Shape {
            folders: 16,
            cloud_sharing: CloudSharingLayout::of(gen),
        }
    }
}

/// Next keys and lookup maps, loaded from the database so the live writer
/// can continue a built library.
pub(crate) struct State {
    pub gen: Generation,
    pub ents: Ents,
    next: HashMap<&'static str, i64>,
    pub keywords: HashMap<String, i64>,
    pub persons: HashMap<String, i64>,
    pub moments: HashMap<NaiveDate, i64>,
    pub utis: HashMap<String, i64>,
    pub volumes: HashMap<String, i64>,
    pub album_pks: Vec<i64>,
    /// Shared albums by position ([`crate::AlbumId`]).
    pub shared: HashMap<usize, SharedAlbum>,
    pub folders: u8,
    pub cloud_sharing: CloudSharingLayout,
    pub album_positions: HashMap<i64, i64>,
    pub import_session: Option<i64>,
    pub transaction: Option<i64>,
    pub asset_seq: u64,
}

const TABLES: [&str; 16] = [
    "ZGENERICALBUM",
    "ZADDITIONALASSETATTRIBUTES",
    "ZASSETDESCRIPTION",
    "ZINTERNALRESOURCE",
    "ZKEYWORD",
    "ZPERSON",
    "ZDETECTEDFACE",
    "ZFILESYSTEMVOLUME",
    "ZFILESYSTEMBOOKMARK",
    "ZUNMANAGEDADJUSTMENT",
    "ZMOMENT",
    "ACHANGE",
    "ATRANSACTION",
    "ATRANSACTIONSTRING",
    "ASSET",
    "ZUNIFORMTYPEIDENTIFIER",
];

impl State {
    /// Reads the next keys and maps from `conn`.
    pub(crate) fn load(
        conn: &Connection,
        gen: Generation,
        numbers: &EntityNumbers,
        albums: &[BuiltAlbum],
        shape: Shape,
    ) -> Result<State> {
        let mut next = HashMap::new();
        for t in TABLES {
            let table = if t == "ASSET" { gen.asset_table() } else { t };
            if gen == Generation::Modern && t == "ZUNIFORMTYPEIDENTIFIER" {
                continue;
            }
            let max: i64 = conn.query_row(
                &format!("SELECT COALESCE(MAX(Z_PK), 0) FROM {table}"),
                [],
                |r| r.get(0),
            )?;
            next.insert(t, max + 1);
        }
        let map = |sql: &str| -> Result<HashMap<String, i64>> {
            let mut st = conn.prepare(sql)?;
            let rows = st.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))?;
            Ok(rows.collect::<rusqlite::Result<_>>()?)
        };
        let keywords = map("SELECT ZTITLE, Z_PK FROM ZKEYWORD WHERE ZTITLE IS NOT NULL")?;
        let persons = map("SELECT ZFULLNAME, Z_PK FROM ZPERSON WHERE ZFULLNAME IS NOT NULL")?;
        let volumes = map("SELECT ZNAME, Z_PK FROM ZFILESYSTEMVOLUME WHERE ZNAME IS NOT NULL")?;
        let utis = match gen {
            Generation::Photos5 => map("SELECT ZIDENTIFIER, Z_PK FROM ZUNIFORMTYPEIDENTIFIER")?,
            Generation::Modern => HashMap::new(),
        };
        let mut st = conn.prepare(
            "SELECT ZSTARTDATE, ZTIMEZONEOFFSET, Z_PK FROM ZMOMENT WHERE ZSTARTDATE IS NOT NULL",
        )?;
        let moments = st
            .query_map([], |r| {
                Ok((
                    r.get::<_, f64>(0)?,
                    r.get::<_, Option<i64>>(1)?,
                    r.get::<_, i64>(2)?,
                ))
            })?
            .filter_map(|r| r.ok())
            .filter_map(|(start, tz, pk)| {
                let local = start as i64 + CORE_DATA_EPOCH + tz.unwrap_or(0);
                DateTime::from_timestamp(local, 0).map(|t| (t.date_naive(), pk))
            })
            .collect();
        let ents = Ents::resolve(gen, numbers)?;
        let import_session: Option<i64> = conn
            .query_row(
                "SELECT MAX(Z_PK) FROM ZGENERICALBUM WHERE ZKIND = 1506",
                [],
                |r| r.get(0),
            )
            .optional()?
            .flatten();
        let asset_seq: i64 = conn.query_row(
            &format!("SELECT COUNT(*) FROM {}", gen.asset_table()),
            [],
            |r| r.get(0),
        )?;
        Ok(State {
            gen,
            ents,
            next,
            keywords,
            persons,
            moments,
            utis,
            volumes,
            album_pks: albums.iter().map(|a| a.pk).collect(),
            shared: albums
                .iter()
                .filter_map(|a| Some((a.id.index(), a.shared.clone()?)))
                .collect(),
            folders: shape.folders,
            cloud_sharing: shape.cloud_sharing,
            album_positions: HashMap::new(),
            import_session,
            transaction: None,
            asset_seq: asset_seq as u64,
        })
    }

    /// Takes the next primary key of `table` (`"ASSET"` for the asset table).
    pub(crate) fn pk(&mut self, table: &'static str) -> i64 {
        let slot = self.next.entry(table).or_insert(1);
        let pk = *slot;
        *slot += 1;
        pk
    }

    /// Starts a persistent-history transaction (`ATRANSACTION`) that the
    /// following `ACHANGE` rows belong to.
    pub(crate) fn begin_history(&mut self, conn: &Connection, when: DateTime<Utc>) -> Result<()> {
        let mut strings = Vec::new();
        for name in ["com.apple.photolibraryd", "photolibraryd"] {
            let pk: Option<i64> = conn
                .query_row(
                    "SELECT Z_PK FROM ATRANSACTIONSTRING WHERE ZNAME = ?1",
                    [name],
                    |r| r.get(0),
                )
                .optional()?;
            let pk = match pk {
                Some(pk) => pk,
                None => {
                    let pk = self.pk("ATRANSACTIONSTRING");
                    insert(
                        conn,
                        "ATRANSACTIONSTRING",
                        &[
                            ("Z_PK", int(pk)),
                            ("Z_ENT", int(self.ents.transaction_string)),
                            ("Z_OPT", int(1)),
                            ("ZNAME", text(name)),
                        ],
                    )?;
                    pk
                }
            };
            strings.push(pk);
        }
        let pk = self.pk("ATRANSACTION");
        insert(
            conn,
            "ATRANSACTION",
            &[
                ("Z_PK", int(pk)),
                ("Z_ENT", int(self.ents.transaction)),
                ("Z_OPT", int(1)),
                ("ZBUNDLEIDTS", int(strings[0])),
                ("ZPROCESSIDTS", int(strings[1])),
                ("ZTIMESTAMP", Value::Real(core_data_time(when))),
            ],
        )?;
        self.transaction = Some(pk);
        Ok(())
    }

    /// Records an insert of (`entity`, `pk`) in `ACHANGE`.
    pub(crate) fn record_insert(&mut self, conn: &Connection, entity: i64, pk: i64) -> Result<()> {
        let Some(tx) = self.transaction else {
            return Ok(());
        };
        let change = self.pk("ACHANGE");
        insert(
            conn,
            "ACHANGE",
            &[
                ("Z_PK", int(change)),
                ("Z_ENT", int(self.ents.change)),
                ("Z_OPT", int(1)),
                ("ZCHANGETYPE", int(0)),
                ("ZENTITY", int(entity)),
                ("ZENTITYPK", int(pk)),
                ("ZTRANSACTIONID", int(tx)),
            ],
        )
    }

    /// The `ZUNIFORMTYPEIDENTIFIER` row of `uti` (Photos 5), created on demand.
    pub(crate) fn uti_pk(
        &mut self,
        conn: &Connection,
        uti: &str,
        image: bool,
        movie: bool,
        raw: bool,
    ) -> Result<Value> {
        let Some(ent) = self.ents.uti else {
            return Ok(Value::Null);
        };
        if let Some(pk) = self.utis.get(uti) {
            return Ok(int(*pk));
        }
        let pk = self.pk("ZUNIFORMTYPEIDENTIFIER");
        insert(
            conn,
            "ZUNIFORMTYPEIDENTIFIER",
            &[
                ("Z_PK", int(pk)),
                ("Z_ENT", int(ent)),
                ("Z_OPT", int(1)),
                ("ZCONFORMSTOIMAGE", int(image)),
                ("ZCONFORMSTOMOVIE", int(movie)),
                ("ZCONFORMSTORAWIMAGE", int(raw)),
                ("ZIDENTIFIER", text(uti)),
            ],
        )?;
        self.utis.insert(uti.to_string(), pk);
        Ok(int(pk))
    }
}

/// Recomputes the cached counts Photos maintains with triggers (album
/// counts, person face counts and key faces, moment counts and ranges) and
/// `Z_PRIMARYKEY.Z_MAX`.
pub(crate) fn refresh_derived(
    conn: &Connection,
    gen: Generation,
    numbers: &EntityNumbers,
) -> Result<()> {
    let album = numbers.get("Album")?;
    let root = numbers.get(gen.asset_root_entity())?;
    let cols = Columns::of(gen);
    let asset = gen.asset_table();
    conn.execute_batch(&format!(
        "UPDATE ZGENERICALBUM SET ZCACHEDCOUNT = 0, ZCACHEDPHOTOSCOUNT = 0, ZCACHEDVIDEOSCOUNT = 0 WHERE ZKIND = 2;
         UPDATE ZGENERICALBUM SET ZCACHEDCOUNT = t.n, ZCACHEDPHOTOSCOUNT = t.p, ZCACHEDVIDEOSCOUNT = t.v
           FROM (SELECT j.Z_{album}ALBUMS AS k, COUNT(*) AS n, SUM(a.ZKIND = 0) AS p, SUM(a.ZKIND = 1) AS v
                 FROM Z_{album}ASSETS j JOIN {asset} a ON a.Z_PK = j.Z_{root}ASSETS GROUP BY j.Z_{album}ALBUMS) AS t
           WHERE t.k = ZGENERICALBUM.Z_PK AND ZGENERICALBUM.ZKIND IN (2, 1505);
         UPDATE ZPERSON SET ZFACECOUNT = 0, ZKEYFACE = NULL;
         UPDATE ZPERSON SET ZFACECOUNT = t.n, ZKEYFACE = t.f
           FROM (SELECT {p} AS k, COUNT(*) AS n, MIN(Z_PK) AS f FROM ZDETECTEDFACE WHERE {a} IS NOT NULL GROUP BY {p}) AS t
           WHERE t.k = ZPERSON.Z_PK;
         UPDATE ZDETECTEDFACE SET ZPERSONBEINGKEYFACE = NULL WHERE ZPERSONBEINGKEYFACE IS NOT NULL;
         UPDATE ZDETECTEDFACE SET ZPERSONBEINGKEYFACE = {p} WHERE Z_PK IN (SELECT ZKEYFACE FROM ZPERSON WHERE ZKEYFACE IS NOT NULL);
         UPDATE ZMOMENT SET ZCACHEDCOUNT = t.n, ZCACHEDPHOTOSCOUNT = t.ph, ZCACHEDVIDEOSCOUNT = t.v,
             ZSTARTDATE = t.s, ZENDDATE = t.e, ZREPRESENTATIVEDATE = t.s
           FROM (SELECT ZMOMENT AS k, COUNT(*) AS n, SUM(ZKIND = 0) AS ph, SUM(ZKIND = 1) AS v,
                        MIN(ZDATECREATED) AS s, MAX(ZDATECREATED) AS e FROM {asset} GROUP BY ZMOMENT) AS t
           WHERE t.k = ZMOMENT.Z_PK;",
        p = cols.face_person,
        a = cols.face_asset,
    ))?;
    crate::schema::write_primary_keys(conn, gen, numbers)
}
