//! [`LibraryBuilder`]: declares albums and assets, then writes a complete
//! `.photoslibrary` package in one pass.

use crate::asset::{insert_asset, BuiltAsset};
use crate::built::{BuiltAlbum, BuiltLibrary};
use crate::db::{
    core_data_time, insert, int, refresh_derived, text, uuid_from, Ents, Shape, State,
};
use crate::media;
use crate::schema::{self, EntityNumbers};
use crate::shared::SharedAlbum;
use crate::spec::{AlbumId, AssetSpec, Burst, CloudSharingLayout};
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
    shared: Option<SharedAlbum>,
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
    shape: Shape,
    missing_fraction: f64,
    bursts: u64,
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
            shape: Shape::of(generation),
            missing_fraction: 0.0,
            bursts: 0,
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
            shared: None,
        });
        AlbumId(self.albums.len() - 1)
    }

    /// Declares an iCloud Shared Album `title` shared by `owner` (a full
    /// name, "First Last"): a `ZKIND` 1505 album outside every folder with
    /// its owner, cloud ids and invitation record. Give it items with
    /// [`AssetSpec::shared_in`]; their files go under the album's data
    /// folder ([`SharedAlbum::data_folder`]), not `originals/`.
    pub fn shared_album(&mut self, title: &str, owner: &str) -> AlbumId {
        let position = self.albums.len();
        self.albums.push(AlbumDecl {
            name: title.to_string(),
            folders: Vec::new(),
            trashed: false,
            shared: Some(SharedAlbum::new(owner, position as u64)),
        });
        AlbumId(position)
    }

    /// Where shared-album items are stored. The default follows the
    /// generation ([`CloudSharingLayout::of`]); Photos 6 and 7 libraries,
    /// whose schema is close to the modern one, still used
    /// [`CloudSharingLayout::Resources`], so both layouts can be built in
    /// either generation.
    pub fn cloud_sharing(&mut self, layout: CloudSharingLayout) -> &mut Self {
        self.shape.cloud_sharing = layout;
        self
    }

    /// Spreads assets with generated UUIDs over the first `count` (1 to 16)
    /// of the folders `originals/0/` .. `originals/F/`, by making their
    /// UUIDs start with those digits. Photos names an original's folder
    /// after its UUID's first hex digit: 16 folders, so a 100,000-asset
    /// library has about 6,000 files in each; the default, 16, does just
    /// that, and a smaller count makes folders that big from fewer assets.
    pub fn originals_folders(&mut self, count: u8) -> &mut Self {
        self.shape.folders = count.clamp(1, 16);
        self
    }

    /// Makes the originals of a `fraction` (0.0 to 1.0) of the assets
    /// missing, as "Optimize Mac Storage" leaves them: no files, resource
    /// rows not local but in iCloud, a cloud GUID (see
    /// [`AssetSpec::original_present`]). The choice is deterministic and
    /// evenly spread: of the assets that would have a local original (not
    /// referenced, not shared-album items, not already missing), every
    /// `1/fraction`-th one, `floor(n * fraction)` in all.
    pub fn missing_originals(&mut self, fraction: f64) -> &mut Self {
        self.missing_fraction = fraction.clamp(0.0, 1.0);
        self
    }

    /// Adds a burst of `frames` photos taken a tenth of a second apart, as
    /// an iPhone shoots them, starting with `first` (its time, name and
    /// flags; later frames count the name's number up: `IMG_0010.JPG`,
    /// `IMG_0011.JPG`...). They share a fresh burst UUID; the first frame is
    /// the key photo, the others are not picked and hidden in the stack, as
    /// in the fixtures. Returns their positions in [`BuiltLibrary::assets`].
    pub fn burst(&mut self, first: AssetSpec, frames: usize) -> Vec<usize> {
        self.bursts += 1;
        let uuid = uuid_from(self.bursts ^ 0xB025_7000_0000);
        (0..frames)
            .map(|i| {
                let mut spec = first.clone();
                spec.original_filename = frame_name(&first.original_filename, i);
                spec.created = first.created + chrono::Duration::milliseconds(100 * i as i64);
                spec.uuid = first.uuid.as_ref().filter(|_| i == 0).cloned();
                spec.burst = Some(Burst {
                    uuid: uuid.clone(),
                    key: i == 0,
                    selected: false,
                });
                self.asset(spec)
            })
            .collect()
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
        if self.with_media {
            for (album, decl) in albums.iter().zip(&self.albums) {
                if let Some(shared) = &album.shared {
                    let folder = path.join(shared.data_folder(self.shape.cloud_sharing));
                    std::fs::create_dir_all(&folder)?;
                    let info = shared.info_plist(&decl.name, self.created)?;
                    std::fs::write(folder.join("Info.plist"), info)?;
                }
            }
        }
        let mut st = State::load(&conn, gen, &numbers, &albums, self.shape)?;
        st.begin_history(&conn, self.created)?;
        let mut assets: Vec<BuiltAsset> = Vec::with_capacity(self.assets.len());
        let mut eligible = 0usize;
        for spec in &self.assets {
            let mut spec = std::borrow::Cow::Borrowed(spec);
            if spec.original_present && spec.referenced.is_none() && spec.shared_album.is_none() {
                if is_chosen(eligible, self.missing_fraction) {
                    spec.to_mut().original_present = false;
                }
                eligible += 1;
            }
            let built = insert_asset(&conn, &mut st, path, self.with_media, &spec)
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
            self.shape,
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
                       trashed: bool,
                       extra: Vec<(&str, Value)>|
         -> Result<(i64, String)> {
            pk += 1;
            let uuid = uuid_from(pk as u64 ^ 0xA1B0_0000);
            let fok = parent.map(|p| {
                let n = children.entry(p).or_insert(0);
                *n += 1;
                *n * 1024
            });
            let mut row = vec![
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
            ];
            row.extend(extra);
            insert(conn, "ZGENERICALBUM", &row)?;
            Ok((pk, uuid))
        };
        let (root, _) = add(e.folder, 3999, None, None, false, Vec::new())?;
        add(e.folder, 3998, None, None, false, Vec::new())?;
        for (kind, title) in [
            (3571, "progress-sync"),
            (3572, "progress-ota-restore"),
            (3573, "progress-fs-import"),
        ] {
            add(e.album, kind, None, Some(title), false, Vec::new())?;
        }
        for (kind, in_root) in [(1600, false), (1602, false), (1605, true), (1606, true)] {
            add(
                e.fetching_album,
                kind,
                in_root.then_some(root),
                None,
                false,
                Vec::new(),
            )?;
        }
        add(e.import_session, 1506, None, None, false, Vec::new())?;
        let mut folders: HashMap<Vec<String>, i64> = HashMap::new();
        let mut out = Vec::new();
        let mut invitations = 0i64;
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
                            Vec::new(),
                        )?;
                        folders.insert(key, pk);
                        pk
                    }
                };
            }
            let (album_pk, uuid) = match &decl.shared {
                Some(shared) => {
                    let extra = shared.album_columns(created);
                    let (pk, uuid) =
                        add(e.shared_album, 1505, None, Some(&decl.name), false, extra)?;
                    invitations += 1;
                    shared.insert_invitation(conn, e.invitation, invitations, pk, created)?;
                    (pk, uuid)
                }
                None => add(
                    e.album,
                    2,
                    Some(parent),
                    Some(&decl.name),
                    decl.trashed,
                    Vec::new(),
                )?,
            };
            out.push(BuiltAlbum {
                id: AlbumId(i),
                pk: album_pk,
                uuid,
                name: decl.name.clone(),
                folder_path: decl.folders.clone(),
                trashed: decl.trashed,
                shared: decl.shared.clone(),
            });
        }
        Ok(out)
    }
}

/// Whether the `index`-th candidate is among an evenly spread `fraction`
/// of them: exactly when `floor((index + 1) * fraction)` steps past
/// `floor(index * fraction)`.
fn is_chosen(index: usize, fraction: f64) -> bool {
    ((index + 1) as f64 * fraction).floor() > (index as f64 * fraction).floor()
}

/// The name of frame `i` of a burst starting with `first`: the number at
/// the end of its stem counted up (keeping its width), or `_<i>` appended
/// when the stem ends with no number.
fn frame_name(first: &str, i: usize) -> String {
    if i == 0 {
        return first.to_string();
    }
    let (stem, ext) = match first.rsplit_once('.') {
        Some((stem, ext)) => (stem, format!(".{ext}")),
        None => (first, String::new()),
    };
    let digits = stem.len() - stem.trim_end_matches(|c: char| c.is_ascii_digit()).len();
    match stem[stem.len() - digits..].parse::<u64>() {
        Ok(n) if digits > 0 => format!(
            "{}{:0width$}{ext}",
            &stem[..stem.len() - digits],
            n + i as u64,
            width = digits
        ),
        _ => format!("{stem}_{i}{ext}"),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fraction_chooses_evenly_and_exactly() {
        let chosen = |n: usize, f: f64| (0..n).filter(|&i| is_chosen(i, f)).count();
        assert_eq!(chosen(1000, 0.25), 250);
        assert_eq!(chosen(10, 0.0), 0);
        assert_eq!(chosen(10, 1.0), 10);
        assert_eq!(chosen(7, 0.5), 3);
        let picks: Vec<usize> = (0..8).filter(|&i| is_chosen(i, 0.25)).collect();
        assert_eq!(picks, [3, 7], "every fourth, not the first ones");
    }

    #[test]
    fn burst_frames_count_the_name_up() {
        assert_eq!(frame_name("IMG_0009.JPG", 0), "IMG_0009.JPG");
        assert_eq!(frame_name("IMG_0009.JPG", 3), "IMG_0012.JPG");
        assert_eq!(frame_name("IMG_9999.HEIC", 1), "IMG_10000.HEIC");
        assert_eq!(frame_name("burst.jpg", 2), "burst_2.jpg");
        assert_eq!(frame_name("noext", 1), "noext_1");
    }
}
