//! The tables around the assets: keywords, albums and folders, persons and
//! resources, each read in one pass and indexed by asset.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use rusqlite::types::ValueRef;
use rusqlite::Connection;
use rustc_hash::{FxHashMap, FxHashSet};

use super::assets::{narrow, OnlyAssets, Relations};
use super::model::{Album, AlbumRef};
use super::names;
use super::resources::ResourceRow;
use super::schema::Schema;
use super::uti;

/// `ZGENERICALBUM.ZKIND` values.
mod album_kind {
    /// An album the user made.
    pub const USER_ALBUM: i64 = 2;
    /// A shared iCloud album (Photos 5 to 10).
    pub const SHARED_ALBUM: i64 = 1505;
    /// A folder of albums.
    pub const FOLDER: i64 = 4000;
}

/// Reads keywords, persons and album memberships by asset, and the albums
/// themselves for the snapshot. Resources, the bulk of the rows, are
/// streamed instead ([`ResourceStream`]). With `only`, the relations of
/// those assets alone are read, and the albums list only their members.
pub(crate) fn read(
    conn: &Connection,
    s: &Schema,
    only: Option<&OnlyAssets>,
) -> Result<(Relations, Vec<Album>), rusqlite::Error> {
    let (albums_by_asset, albums) = albums(conn, s, only)?;
    let relations = Relations {
        keywords: keywords(conn, s, only)?,
        albums: albums_by_asset,
        persons: persons(conn, s, only)?,
    };
    Ok((relations, albums))
}

/// Shares one `Arc<str>` between every asset carrying the same name, so a
/// keyword on 50,000 photos is stored once.
#[derive(Default)]
pub(crate) struct Interner(FxHashSet<Arc<str>>);

impl Interner {
    /// The shared copy of `s`; only a name not seen before is allocated.
    pub(crate) fn get(&mut self, s: &str) -> Arc<str> {
        if let Some(a) = self.0.get(s) {
            return a.clone();
        }
        let a: Arc<str> = Arc::from(s);
        self.0.insert(a.clone());
        a
    }
}

fn keywords(
    conn: &Connection,
    s: &Schema,
    only: Option<&OnlyAssets>,
) -> Result<FxHashMap<i64, Vec<Arc<str>>>, rusqlite::Error> {
    let mut out: FxHashMap<i64, Vec<Arc<str>>> = FxHashMap::default();
    let (Some(join), Some(attrs), Some(kw)) = (&s.keywords, &s.attributes, &s.keyword) else {
        return Ok(out);
    };
    if !s.has_column(&attrs.table, "ZASSET") || !s.has_column(&kw.table, "ZTITLE") {
        return Ok(out);
    }
    let sql = format!(
        "SELECT aa.ZASSET, k.ZTITLE FROM {j} j JOIN {aa} aa ON aa.Z_PK = j.{l} JOIN {k} k ON k.Z_PK = j.{r}
         WHERE aa.ZASSET IS NOT NULL AND k.ZTITLE IS NOT NULL AND k.ZTITLE != ''{only}",
        j = join.table,
        aa = attrs.table,
        l = join.left,
        k = kw.table,
        r = join.right,
        only = narrow(only, "aa.ZASSET"),
    );
    let mut names = Interner::default();
    let mut stmt = conn.prepare(&sql)?;
    let mut rows = stmt.query([])?;
    while let Some(row) = rows.next()? {
        let title = row.get_ref(1)?.as_str()?;
        let title = names.get(title);
        out.entry(row.get(0)?).or_default().push(title);
    }
    Ok(out)
}

fn persons(
    conn: &Connection,
    s: &Schema,
    only: Option<&OnlyAssets>,
) -> Result<FxHashMap<i64, Vec<Arc<str>>>, rusqlite::Error> {
    let mut out: FxHashMap<i64, Vec<Arc<str>>> = FxHashMap::default();
    let (Some(face), Some(person), Some(fa), Some(fp)) = (
        &s.face,
        &s.person,
        &s.face_asset_column,
        &s.face_person_column,
    ) else {
        return Ok(out);
    };
    let name = s.col(Some(person), "p", "ZFULLNAME");
    let sql = format!(
        "SELECT f.{fa}, {name} FROM {f} f JOIN {p} p ON p.Z_PK = f.{fp} WHERE f.{fa} IS NOT NULL{only}",
        f = face.table,
        p = person.table,
        only = narrow(only, &format!("f.{fa}")),
    );
    let mut names = Interner::default();
    let mut stmt = conn.prepare(&sql)?;
    let mut rows = stmt.query([])?;
    while let Some(row) = rows.next()? {
        // Unnamed persons (faces Photos grouped but nobody named) are not
        // persons a user would look for.
        let Some(full) = row
            .get_ref(1)?
            .as_str_or_null()?
            .filter(|n| !n.trim().is_empty())
        else {
            continue;
        };
        let full = names.get(full);
        out.entry(row.get(0)?).or_default().push(full);
    }
    Ok(out)
}

/// The user albums holding each asset, by the asset's primary key.
type AlbumsByAsset = FxHashMap<i64, Vec<AlbumRef>>;

/// One album row before folders are resolved.
struct AlbumRow {
    uuid: String,
    title: Arc<str>,
    kind: i64,
    parent: Option<i64>,
    trashed: bool,
}

fn albums(
    conn: &Connection,
    s: &Schema,
    only: Option<&OnlyAssets>,
) -> Result<(AlbumsByAsset, Vec<Album>), rusqlite::Error> {
    let mut by_asset: FxHashMap<i64, Vec<AlbumRef>> = FxHashMap::default();
    let Some(album) = &s.album else {
        return Ok((by_asset, Vec::new()));
    };
    let t = Some(album);
    let sql = format!(
        "SELECT Z_PK, {uuid}, {title}, {kind}, {parent}, {trashed} FROM {table}",
        uuid = s.col(t, "g", "ZUUID"),
        title = s.col(t, "g", "ZTITLE"),
        kind = s.col(t, "g", "ZKIND"),
        parent = s.col(t, "g", "ZPARENTFOLDER"),
        trashed = s.col(t, "g", "ZTRASHEDSTATE"),
        table = format_args!("{} g", album.table),
    );
    let mut names = Interner::default();
    let mut rows_by_pk: HashMap<i64, AlbumRow> = HashMap::new();
    {
        let mut stmt = conn.prepare(&sql)?;
        let mut rows = stmt.query([])?;
        while let Some(row) = rows.next()? {
            rows_by_pk.insert(
                row.get(0)?,
                AlbumRow {
                    uuid: row.get::<_, Option<String>>(1)?.unwrap_or_default(),
                    title: names.get(row.get_ref(2)?.as_str_or_null()?.unwrap_or_default()),
                    kind: row.get::<_, Option<i64>>(3)?.unwrap_or(0),
                    parent: row.get(4)?,
                    trashed: row.get::<_, Option<i64>>(5)?.unwrap_or(0) != 0,
                },
            );
        }
    }
    let folder_path = |mut parent: Option<i64>| {
        let mut path = Vec::new();
        // Bounded: a damaged parent chain must not loop forever.
        for _ in 0..64 {
            match parent.and_then(|p| rows_by_pk.get(&p)) {
                Some(f) if f.kind == album_kind::FOLDER => {
                    path.push(f.title.clone());
                    parent = f.parent;
                }
                _ => break,
            }
        }
        path.reverse();
        Arc::<[Arc<str>]>::from(path)
    };
    let mut user_albums: HashMap<i64, Album> = rows_by_pk
        .iter()
        .filter(|(_, a)| matches!(a.kind, album_kind::USER_ALBUM | album_kind::SHARED_ALBUM))
        .map(|(&pk, a)| {
            (
                pk,
                Album {
                    uuid: a.uuid.clone(),
                    title: a.title.clone(),
                    folder_path: folder_path(a.parent),
                    trashed: a.trashed,
                    asset_uuids: Vec::new(),
                },
            )
        })
        .collect();

    if let Some(join) = &s.album_assets {
        let uuid_col = s.col(Some(&s.asset), "a", "ZUUID");
        let sql = format!(
            "SELECT j.{l}, j.{r}, {uuid_col} FROM {j} j JOIN {at} a ON a.Z_PK = j.{r} WHERE 1{only}",
            l = join.left,
            r = join.right,
            j = join.table,
            at = s.asset.table,
            only = narrow(only, &format!("j.{}", join.right)),
        );
        let mut stmt = conn.prepare(&sql)?;
        let mut rows = stmt.query([])?;
        while let Some(row) = rows.next()? {
            let (album_pk, asset_pk): (i64, i64) = (row.get(0)?, row.get(1)?);
            let Some(album) = user_albums.get_mut(&album_pk) else {
                continue;
            };
            if let Some(uuid) = row.get::<_, Option<String>>(2)? {
                album.asset_uuids.push(uuid);
            }
            if !album.trashed {
                by_asset.entry(asset_pk).or_default().push(AlbumRef {
                    title: album.title.clone(),
                    folder_path: album.folder_path.clone(),
                });
            }
        }
    }
    let mut albums: Vec<Album> = user_albums.into_values().collect();
    for a in &mut albums {
        a.asset_uuids.sort();
    }
    albums.sort_by(|a, b| {
        (&a.folder_path, &a.title, &a.uuid).cmp(&(&b.folder_path, &b.title, &b.uuid))
    });
    Ok((by_asset, albums))
}

/// The query listing the resource rows that matter for a backup, ordered
/// by asset so they can be merged with the asset rows as both stream by;
/// `None` when the library has no resource table.
pub(crate) fn resource_query(s: &Schema, only: Option<&OnlyAssets>) -> Option<String> {
    let res = s.resource.as_ref()?;
    let r = Some(res);
    if !s.has_column(&res.table, "ZASSET") || !s.has_column(&res.table, "ZRESOURCETYPE") {
        return None;
    }
    // The type of a resource: a row of the UTI table (Photos 5 to 7) or a
    // compact code (later versions).
    let uti_table = s
        .uti_table
        .as_ref()
        .filter(|_| s.has_column(&res.table, "ZUNIFORMTYPEIDENTIFIER"));
    let bookmark = s.bookmark.as_ref().filter(|b| {
        s.has_column(&res.table, "ZFILESYSTEMBOOKMARK")
            && s.has_column(&b.table, "ZPATHRELATIVETOVOLUME")
    });
    let volume = s.volume.as_ref().filter(|v| {
        s.has_column(&res.table, "ZFILESYSTEMVOLUME") && s.has_column(&v.table, "ZNAME")
    });
    let mut sql =
        format!(
        "SELECT r.ZASSET, r.ZRESOURCETYPE, {version}, {dss}, {len}, {avail}, {uti}, {compact}, \
         {rel}, {vol}, {fp}, {stable} FROM {t} r",
        version = s.col(r, "r", "ZVERSION"),
        dss = s.col(r, "r", "ZDATASTORESUBTYPE"),
        len = s.col(r, "r", "ZDATALENGTH"),
        avail = s.col(r, "r", "ZLOCALAVAILABILITY"),
        uti = if uti_table.is_some() { "u.ZIDENTIFIER" } else { "NULL" },
        compact = s.col(r, "r", "ZCOMPACTUTI"),
        rel = if bookmark.is_some() { "b.ZPATHRELATIVETOVOLUME" } else { "NULL" },
        vol = if volume.is_some() { "v.ZNAME" } else { "NULL" },
        fp = s.col(r, "r", "ZFINGERPRINT"),
        stable = s.col(r, "r", "ZSTABLEHASH"),
        t = res.table,
    );
    if let Some(u) = uti_table {
        sql.push_str(&format!(
            " LEFT JOIN {} u ON u.Z_PK = r.ZUNIFORMTYPEIDENTIFIER",
            u.table
        ));
    }
    if let Some(b) = bookmark {
        sql.push_str(&format!(
            " LEFT JOIN {} b ON b.Z_PK = r.ZFILESYSTEMBOOKMARK",
            b.table
        ));
    }
    if let Some(v) = volume {
        sql.push_str(&format!(
            " LEFT JOIN {} v ON v.Z_PK = r.ZFILESYSTEMVOLUME",
            v.table
        ));
    }
    // Derivatives (thumbnails, previews) are not part of a backup.
    sql.push_str(" WHERE r.ZASSET IS NOT NULL AND r.ZRESOURCETYPE IN (0, 1, 3, 4, 5)");
    if s.has_column(&res.table, "ZVERSION") {
        sql.push_str(" AND r.ZVERSION IN (0, 2)");
    }
    sql.push_str(&narrow(only, "r.ZASSET"));
    sql.push_str(" ORDER BY r.ZASSET");
    Some(sql)
}

/// Resource rows streamed in asset order, handed out asset by asset: the
/// bulk of a library's rows never sits in memory all at once.
pub(crate) struct ResourceStream<'stmt> {
    rows: Option<rusqlite::Rows<'stmt>>,
    pending: Option<(i64, ResourceRow)>,
    utis: Interner,
}

impl<'stmt> ResourceStream<'stmt> {
    /// Streams the rows of `rows` (from [`resource_query`]), or none.
    pub(crate) fn new(rows: Option<rusqlite::Rows<'stmt>>) -> Self {
        ResourceStream {
            rows,
            pending: None,
            utis: Interner::default(),
        }
    }

    /// The rows of the asset `pk`. Calls must come in increasing `pk` order;
    /// rows of assets never asked for (dangling rows) are skipped.
    pub(crate) fn take(&mut self, pk: i64) -> Result<Vec<ResourceRow>, rusqlite::Error> {
        let mut out = Vec::new();
        loop {
            if self.pending.is_none() {
                self.pending = self.next_row()?;
            }
            match &self.pending {
                Some((asset, _)) if *asset < pk => self.pending = None,
                Some((asset, _)) if *asset == pk => {
                    if let Some((_, row)) = self.pending.take() {
                        out.push(row);
                    }
                }
                _ => return Ok(out),
            }
        }
    }

    fn next_row(&mut self) -> Result<Option<(i64, ResourceRow)>, rusqlite::Error> {
        let Some(rows) = self.rows.as_mut() else {
            return Ok(None);
        };
        let Some(row) = rows.next()? else {
            self.rows = None;
            return Ok(None);
        };
        // ZCOMPACTUTI is declared as text though it holds small integers.
        let compact: Option<i64> = match row.get_ref(7)? {
            ValueRef::Integer(i) => Some(i),
            ValueRef::Text(t) => std::str::from_utf8(t)
                .ok()
                .and_then(|t| t.trim().parse().ok()),
            _ => None,
        };
        let uti = row
            .get_ref(6)?
            .as_str_or_null()?
            .or_else(|| compact.and_then(uti::from_compact))
            .map(|u| self.utis.get(u));
        let rel: Option<String> = row.get(8)?;
        let vol: Option<String> = row.get(9)?;
        let content_hash = row.get::<_, Option<String>>(10)?.or(row.get(11)?);
        Ok(Some((
            row.get(0)?,
            ResourceRow {
                resource_type: row.get::<_, Option<i64>>(1)?.unwrap_or(-1),
                version: row.get::<_, Option<i64>>(2)?.unwrap_or(0),
                data_store_subtype: row.get::<_, Option<i64>>(3)?.unwrap_or(0),
                data_length: row.get(4)?,
                local_availability: row.get(5)?,
                uti,
                bookmark_path: volume_path(vol.as_deref(), rel.as_deref()),
                content_hash,
            },
        )))
    }
}

/// The absolute path of a bookmarked file: `/Volumes/<volume>/<relative>`,
/// or `/<relative>` when that is where the file is (the start-up disk), or
/// `None` when either part is missing or would leave the volume.
fn volume_path(volume: Option<&str>, relative: Option<&str>) -> Option<PathBuf> {
    let (volume, relative) = (volume?, relative?);
    let relative = relative.trim_start_matches('/');
    if names::component_problem(volume).is_some()
        || names::absolute_dir_problem(&format!("/{relative}")).is_some()
    {
        return None;
    }
    let on_volume = PathBuf::from(format!("/Volumes/{volume}/{relative}"));
    let on_boot_disk = PathBuf::from(format!("/{relative}"));
    if !on_volume.exists() && on_boot_disk.exists() {
        Some(on_boot_disk)
    } else {
        Some(on_volume)
    }
}
