//! [`BuiltLibrary`]: what was written, plus tools to tamper with it and to
//! keep it "open" the way Photos does.

use crate::asset::{insert_asset, BuiltAsset};
use crate::db::{refresh_derived, Shape, State};
use crate::schema::EntityNumbers;
use crate::shared::SharedAlbum;
use crate::spec::{AlbumId, AssetSpec, CloudSharingLayout};
use crate::Generation;
use anyhow::{Context, Result};
use chrono::Utc;
use rusqlite::Connection;
use std::path::{Path, PathBuf};

/// One album as written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BuiltAlbum {
    /// The handle the builder returned.
    pub id: AlbumId,
    /// `ZGENERICALBUM.Z_PK`.
    pub pk: i64,
    /// `ZGENERICALBUM.ZUUID`.
    pub uuid: String,
    /// `ZTITLE`.
    pub name: String,
    /// Enclosing folders, outermost first.
    pub folder_path: Vec<String>,
    /// `ZTRASHEDSTATE` = 1.
    pub trashed: bool,
    /// An iCloud Shared Album (`ZKIND` 1505): its owner and where its
    /// items' files are.
    pub shared: Option<SharedAlbum>,
}

/// A synthetic library on disk and everything the builder wrote into it.
#[derive(Debug)]
pub struct BuiltLibrary {
    /// The `.photoslibrary` package.
    pub path: PathBuf,
    /// Its schema generation.
    pub generation: Generation,
    /// Its Core Data entity numbering.
    pub entities: EntityNumbers,
    /// Assets in the order they were added.
    pub assets: Vec<BuiltAsset>,
    /// User and shared albums in declaration order.
    pub albums: Vec<BuiltAlbum>,
    /// Where shared-album items are (`resources/` or `scopes/cloudsharing`).
    pub cloud_sharing: CloudSharingLayout,
    with_media: bool,
    folders: u8,
}

impl BuiltLibrary {
    pub(crate) fn new(
        path: PathBuf,
        generation: Generation,
        entities: EntityNumbers,
        assets: Vec<BuiltAsset>,
        albums: Vec<BuiltAlbum>,
        with_media: bool,
        shape: Shape,
    ) -> BuiltLibrary {
        BuiltLibrary {
            path,
            generation,
            entities,
            assets,
            albums,
            cloud_sharing: shape.cloud_sharing,
            with_media,
            folders: shape.folders,
        }
    }

    fn shape(&self) -> Shape {
        Shape {
            folders: self.folders,
            cloud_sharing: self.cloud_sharing,
        }
    }

    /// Reopens a library built earlier (for instance by another process):
    /// the entity numbering and albums (user and shared) are read back from
    /// its database, the cloud-sharing layout from its folders;
    /// [`BuiltLibrary::assets`] is left empty.
    pub fn reopen(path: &Path, generation: Generation) -> Result<BuiltLibrary> {
        let conn = Connection::open(path.join("database").join("Photos.sqlite"))?;
        let overrides: Vec<(String, i64)> = conn
            .prepare("SELECT Z_NAME, Z_ENT FROM Z_PRIMARYKEY WHERE Z_ENT < 16000")?
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<rusqlite::Result<_>>()?;
        let entities = EntityNumbers::resolve(generation, &overrides)?;
        let albums = conn
            .prepare(
                "SELECT Z_PK, ZUUID, ZTITLE, ZTRASHEDSTATE, ZKIND, ZCLOUDOWNERFULLNAME,
                        ZCLOUDOWNERHASHEDPERSONID, ZCLOUDPERSONID, ZCLOUDGUID
                 FROM ZGENERICALBUM WHERE ZKIND IN (2, 1505) ORDER BY Z_PK",
            )?
            .query_map([], |r| {
                let shared = if r.get::<_, i64>(4)? == 1505 {
                    Some(SharedAlbum {
                        owner: r.get(5)?,
                        owner_hashed_id: r.get(6)?,
                        person_id: r.get(7)?,
                        cloud_guid: r.get(8)?,
                    })
                } else {
                    None
                };
                Ok((
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get::<_, i64>(3)? != 0,
                    shared,
                ))
            })?
            .collect::<rusqlite::Result<Vec<(i64, String, String, bool, Option<SharedAlbum>)>>>()?
            .into_iter()
            .enumerate()
            .map(|(i, (pk, uuid, name, trashed, shared))| BuiltAlbum {
                id: AlbumId(i),
                pk,
                uuid,
                name,
                folder_path: Vec::new(),
                trashed,
                shared,
            })
            .collect();
        let mut shape = Shape::of(generation);
        for layout in [CloudSharingLayout::Resources, CloudSharingLayout::Scopes] {
            if path.join(layout.root()).is_dir() {
                shape.cloud_sharing = layout;
            }
        }
        Ok(BuiltLibrary::new(
            path.to_path_buf(),
            generation,
            entities,
            Vec::new(),
            albums,
            true,
            shape,
        ))
    }

    /// `database/Photos.sqlite`.
    pub fn db_path(&self) -> PathBuf {
        self.path.join("database").join("Photos.sqlite")
    }

    /// The asset with `uuid`.
    pub fn asset(&self, uuid: &str) -> Option<&BuiltAsset> {
        self.assets.iter().find(|a| a.uuid == uuid)
    }

    /// Absolute path of a resource path recorded in a [`BuiltAsset`].
    pub fn absolute(&self, path: &Path) -> PathBuf {
        self.path.join(path)
    }

    /// Runs raw SQL against the library (e.g. to create dangling foreign
    /// keys or corrupt values for robustness tests).
    pub fn execute(&self, sql: &str) -> Result<()> {
        let conn = Connection::open(self.db_path())?;
        conn.execute_batch(sql)
            .with_context(|| format!("running {sql}"))
    }

    /// Opens the database the way a running Photos holds it: a live
    /// connection in WAL mode with automatic checkpoints off, and
    /// `database/Photos.sqlite.lock` naming this process. Changes committed
    /// through it stay in `Photos.sqlite-wal` until the writer is dropped.
    pub fn open_writer(&self) -> Result<LiveWriter> {
        let conn = Connection::open(self.db_path())?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "wal_autocheckpoint", 0)?;
        conn.set_prepared_statement_cache_capacity(64);
        let state = State::load(
            &conn,
            self.generation,
            &self.entities,
            &self.albums,
            self.shape(),
        )?;
        let lock = self.path.join("database").join("Photos.sqlite.lock");
        std::fs::write(&lock, lock_plist())?;
        Ok(LiveWriter {
            conn,
            state,
            root: self.path.clone(),
            with_media: self.with_media,
            entities: self.entities.clone(),
            lock,
        })
    }
}

fn lock_plist() -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<plist version="1.0">
<dict>
	<key>hostname</key>
	<string>testkit.local</string>
	<key>hostuuid</key>
	<string>585B80BF-8D1F-55EF-A9E8-6CF4E5523959</string>
	<key>pid</key>
	<integer>{}</integer>
	<key>processname</key>
	<string>photolibraryd</string>
	<key>uid</key>
	<integer>501</integer>
</dict>
</plist>
"#,
        std::process::id()
    )
}

/// A live connection to a built library, simulating Photos holding it open.
/// Dropping it closes the connection (checkpointing the WAL, as SQLite does
/// when its last connection closes) and removes the lock file.
pub struct LiveWriter {
    conn: Connection,
    state: State,
    root: PathBuf,
    with_media: bool,
    entities: EntityNumbers,
    lock: PathBuf,
}

impl LiveWriter {
    /// The raw connection, for ad-hoc changes that should stay in the WAL.
    pub fn connection(&self) -> &Connection {
        &self.conn
    }

    /// Adds one asset (rows, files, persistent-history change) in its own
    /// transaction; it is visible to readers but only in the `-wal` file.
    /// Albums are those of the built library ([`BuiltLibrary::albums`]).
    pub fn add_asset(&mut self, spec: &AssetSpec) -> Result<BuiltAsset> {
        self.conn.execute_batch("BEGIN IMMEDIATE")?;
        let result = (|| {
            self.state.begin_history(&self.conn, Utc::now())?;
            let built = insert_asset(
                &self.conn,
                &mut self.state,
                &self.root,
                self.with_media,
                spec,
            )?;
            refresh_derived(&self.conn, self.state.gen, &self.entities)?;
            Ok(built)
        })();
        match result {
            Ok(built) => {
                self.conn.execute_batch("COMMIT")?;
                Ok(built)
            }
            Err(e) => {
                self.conn.execute_batch("ROLLBACK")?;
                Err(e)
            }
        }
    }
}

impl Drop for LiveWriter {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.lock);
    }
}
