//! [`LibraryBuilder`]: declares albums and assets, then writes a complete
//! `.photoslibrary` package in one pass.

use crate::asset::{insert_asset, BuiltAsset};
use crate::built::{BuiltAlbum, BuiltLibrary};
use crate::db::{core_data_time, insert, int, refresh_derived, text, uuid_from, Ents, State};
use crate::media;
use crate::schema::{self, EntityNumbers};
use crate::spec::{AlbumId, AssetSpec};
use crate::Generation;
use anyhow::{bail, Context, Result};
use chrono::{DateTime, TimeZone, Utc};
use rusqlite::types::Value;
use rusqlite::Connection;
use std::collections::HashMap;
use std::path::Path;

struct AlbumDecl {
    name: String,
    folders: Vec<String>,
    trashed: bool,
}

/// Builds a synthetic Photos library of one schema generation.
///
/// ```no_run
/// use photovault_testkit::{at, AssetSpec, Generation, LibraryBuilder};
/// let mut b = LibraryBuilder::new(Generation::Modern);
/// let trip = b.album("Trip", &["Travel", "2020"]);
/// b.asset(AssetSpec::photo("IMG_0001.JPG", at(2, 2020, 6, 15, 12, 0, 0)).in_album(trip));
/// let lib = b.build(std::path::Path::new("/tmp/x/Test.photoslibrary")).unwrap();
/// ```
pub struct LibraryBuilder {
    generation: Generation,
    overrides: Vec<(String, i64)>,
    albums: Vec<AlbumDecl>,
    assets: Vec<AssetSpec>,
    with_media: bool,
    created: DateTime<Utc>,
}

impl LibraryBuilder {
    /// A builder for `generation`, writing media files, with the default
    /// (deliberately non-fixture) entity numbering.
    pub fn new(generation: Generation) -> LibraryBuilder {
        LibraryBuilder {
            generation,
            overrides: Vec::new(),
            albums: Vec::new(),
            assets: Vec::new(),
            with_media: true,
            created: Utc
                .with_ymd_and_hms(2024, 1, 2, 3, 4, 5)
                .single()
                .unwrap_or_default(),
        }
    }

    /// Gives Core Data entity `name` (as in `Z_PRIMARYKEY.Z_NAME`, e.g.
    /// `"Album"`, `"Asset"`, `"Keyword"`, `"GenericAsset"`) the number
    /// `number`; tables and columns named after it are renamed accordingly.
    pub fn entity_number(&mut self, name: &str, number: i64) -> &mut Self {
        self.overrides.push((name.to_string(), number));
        self
    }

    /// Writes real media files (true, the default) or database rows only
    /// (false: for large benchmark libraries).
    pub fn with_media(&mut self, yes: bool) -> &mut Self {
        self.with_media = yes;
        self
    }

    /// Declares a user album `name` inside the folder chain `folder_path`
    /// (outermost first; empty = top level). Folders are created once and
    /// shared by albums with the same path prefix.
    pub fn album(&mut self, name: &str, folder_path: &[&str]) -> AlbumId {
        self.albums.push(AlbumDecl {
            name: name.to_string(),
            folders: folder_path.iter().map(|s| s.to_string()).collect(),
            trashed: false,
        });
        AlbumId(self.albums.len() - 1)
    }

    /// Marks an album as deleted (in "Recently Deleted": `ZTRASHEDSTATE` 1).
    pub fn trash_album(&mut self, album: AlbumId) -> &mut Self {
        if let Some(a) = self.albums.get_mut(album.0) {
            a.trashed = true;
        }
        self
    }

    /// Adds an asset; returns its position in [`BuiltLibrary::assets`].
    pub fn asset(&mut self, spec: AssetSpec) -> usize {
        self.assets.push(spec);
        self.assets.len() - 1
    }

    /// Writes the package at `path` (which must not exist yet, or be an
    /// empty directory), e.g. `tmp.join("Test.photoslibrary")`.
    pub fn build(&self, path: &Path) -> Result<BuiltLibrary> {
        if path.exists() && path.read_dir()?.next().is_some() {
            bail!("{} already exists and is not empty", path.display());
        }
        let gen = self.generation;
        let numbers = EntityNumbers::resolve(gen, &self.overrides)?;
        for sub in [
            "database",
            "originals",
            "resources/renders",
            "resources/derivatives",
            "private",
        ] {
            std::fs::create_dir_all(path.join(sub))?;
        }
        let db_dir = path.join("database");
        std::fs::write(
            db_dir.join("DataModelVersion.plist"),
            media::data_model_version(),
        )?;
        std::fs::write(db_dir.join("protection"), b"")?;
        write_photos_db(&db_dir.join("photos.db"))?;

        let conn = Connection::open(db_dir.join("Photos.sqlite"))?;
        conn.set_prepared_statement_cache_capacity(64);
        // Bulk-load without a journal, then switch to WAL like real libraries.
        conn.pragma_update(None, "journal_mode", "OFF")?;
        conn.pragma_update(None, "synchronous", "OFF")?;
        conn.pragma_update(None, "cache_size", -262_144)?;
        conn.pragma_update(None, "temp_store", "MEMORY")?;
        let (tables, indexes) = schema::statements(gen, &numbers)?;
        schema::run_all(&conn, &tables)?;

        conn.execute_batch("BEGIN")?;
        insert(
            &conn,
            "Z_METADATA",
            &[
                ("Z_VERSION", int(1)),
                ("Z_UUID", text(&uuid_from(0x4D45_5441))),
                (
                    "Z_PLIST",
                    Value::Blob(media::store_metadata(
                        gen.model_version(),
                        gen.framework_version(),
                    )?),
                ),
            ],
        )?;
        let ents = Ents::resolve(gen, &numbers)?;
        let albums = self.insert_albums(&conn, &ents)?;
        let mut st = State::load(&conn, gen, &numbers, albums.iter().map(|a| a.pk).collect())?;
        st.begin_history(&conn, self.created)?;
        let mut assets: Vec<BuiltAsset> = Vec::with_capacity(self.assets.len());
        for spec in &self.assets {
            let built = insert_asset(&conn, &mut st, path, self.with_media, spec)
                .with_context(|| format!("asset {:?}", spec.original_filename))?;
            assets.push(built);
        }
        conn.execute_batch("COMMIT")?;
        schema::run_all(&conn, &indexes)?;
        conn.execute_batch("BEGIN")?;
        refresh_derived(&conn, gen, &numbers)?;
        conn.execute_batch("COMMIT")?;
        conn.query_row("PRAGMA journal_mode = WAL", [], |_| Ok(()))?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        drop(conn);
        Ok(BuiltLibrary::new(
            path.to_path_buf(),
            gen,
            numbers,
            assets,
            albums,
            self.with_media,
        ))
    }

    /// System albums and folders every real library has, then the user's
    /// folders and albums.
    fn insert_albums(&self, conn: &Connection, e: &Ents) -> Result<Vec<BuiltAlbum>> {
        let created = core_data_time(self.created);
        let mut pk = 0i64;
        let mut children: HashMap<i64, i64> = HashMap::new();
        let mut add = |ent: i64,
                       kind: i64,
                       parent: Option<i64>,
                       title: Option<&str>,
                       trashed: bool|
         -> Result<(i64, String)> {
            pk += 1;
            let uuid = uuid_from(pk as u64 ^ 0xA1B0_0000);
            let fok = parent.map(|p| {
                let n = children.entry(p).or_insert(0);
                *n += 1;
                *n * 1024
            });
            insert(
                conn,
                "ZGENERICALBUM",
                &[
                    ("Z_PK", int(pk)),
                    ("Z_ENT", int(ent)),
                    ("Z_OPT", int(1)),
                    ("ZKIND", int(kind)),
                    ("ZPARENTFOLDER", parent.map_or(Value::Null, int)),
                    ("Z_FOK_PARENTFOLDER", fok.map_or(Value::Null, int)),
                    ("ZTITLE", title.map_or(Value::Null, text)),
                    ("ZUUID", text(&uuid)),
                    ("ZTRASHEDSTATE", int(i64::from(trashed))),
                    (
                        "ZTRASHEDDATE",
                        if trashed {
                            Value::Real(created + 60.0)
                        } else {
                            Value::Null
                        },
                    ),
                    ("ZCREATIONDATE", Value::Real(created)),
                    ("ZCUSTOMSORTKEY", int(if kind == 2 { 1 } else { 0 })),
                    ("ZCUSTOMSORTASCENDING", int(1)),
                    ("ZCACHEDCOUNT", int(0)),
                    ("ZCLOUDLOCALSTATE", int(0)),
                    ("ZCLOUDDELETESTATE", int(0)),
                    ("ZISPINNED", int(0)),
                    ("ZPENDINGITEMSCOUNT", int(0)),
                    ("ZSYNCEVENTORDERKEY", int(0)),
                ],
            )?;
            Ok((pk, uuid))
        };
        let (root, _) = add(e.folder, 3999, None, None, false)?;
        add(e.folder, 3998, None, None, false)?;
        for (kind, title) in [
            (3571, "progress-sync"),
            (3572, "progress-ota-restore"),
            (3573, "progress-fs-import"),
        ] {
            add(e.album, kind, None, Some(title), false)?;
        }
        for (kind, in_root) in [(1600, false), (1602, false), (1605, true), (1606, true)] {
            add(e.fetching_album, kind, in_root.then_some(root), None, false)?;
        }
        add(e.import_session, 1506, None, None, false)?;
        let mut folders: HashMap<Vec<String>, i64> = HashMap::new();
        let mut out = Vec::new();
        for (i, decl) in self.albums.iter().enumerate() {
            let mut parent = root;
            for depth in 1..=decl.folders.len() {
                let key = decl.folders[..depth].to_vec();
                parent = match folders.get(&key) {
                    Some(pk) => *pk,
                    None => {
                        let (pk, _) = add(
                            e.folder,
                            4000,
                            Some(parent),
                            Some(&decl.folders[depth - 1]),
                            false,
                        )?;
                        folders.insert(key, pk);
                        pk
                    }
                };
            }
            let (album_pk, uuid) = add(e.album, 2, Some(parent), Some(&decl.name), decl.trashed)?;
            out.push(BuiltAlbum {
                id: AlbumId(i),
                pk: album_pk,
                uuid,
                name: decl.name.clone(),
                folder_path: decl.folders.clone(),
                trashed: decl.trashed,
            });
        }
        Ok(out)
    }
}

/// `database/photos.db`: the legacy database real Photos 5+ libraries keep,
/// with its real schema and rows.
fn write_photos_db(path: &Path) -> Result<()> {
    let conn = Connection::open(path)?;
    conn.execute_batch(
        "CREATE TABLE LiGlobals (modelId integer primary key, keyPath varchar, value varchar, blobValue blob);
         CREATE TABLE LiLibHistory (modelId integer primary key, modDate timestamp, eventType varchar, metaSchemaVersion integer, libraryVersion integer, comment varchar);
         INSERT INTO LiGlobals VALUES (1, 'metaSchemaVersion', '3', NULL), (2, 'libraryVersion', '6000', NULL), (3, 'libraryCompatibleBackToVersion', '6000', NULL);
         INSERT INTO LiLibHistory VALUES (1, 466369847.602231, 'deprecate', 3, 6000, 'metaSchema.db and photos.db replaced by Photos.sqlite');",
    )?;
    Ok(())
}
