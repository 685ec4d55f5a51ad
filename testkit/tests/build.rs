//! Builds small libraries of each generation and checks them with plain SQL
//! and the file system.

use chrono::{TimeZone, Utc};
use photovault_testkit::{
    at, AssetSpec, Burst, Generation, LibraryBuilder, NameOverrides, ResourceRole,
};
use rusqlite::{Connection, OpenFlags};
use std::collections::HashSet;
use std::path::Path;

fn ro(path: &Path) -> Connection {
    Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY).unwrap()
}

fn count(conn: &Connection, sql: &str) -> i64 {
    conn.query_row(sql, [], |r| r.get(0))
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
}

struct Expect {
    asset_table: &'static str,
    asset_ent: i64,
    album: i64,
    keyword: i64,
    join_asset_ent: i64,
    face_asset: &'static str,
    face_person: &'static str,
    model_version: i64,
}

fn small_library(gen: Generation, e: Expect) {
    let tmp = tempfile::tempdir().unwrap();
    let outside = tmp.path().join("Outside");
    let mut b = LibraryBuilder::new(gen);
    let trip = b.album("Trip", &["Travel", "2020"]);
    let empty = b.album("Empty", &[]);
    let deleted = b.album("Deleted", &["Travel"]);
    b.trash_album(deleted);

    let mut plain =
        AssetSpec::photo("IMG_0001.JPG", at(-4, 2020, 6, 15, 12, 34, 56)).in_album(trip);
    plain.keywords = vec!["beach".into(), "sun".into(), "beach".into()];
    plain.persons = vec!["Alice Smith".into(), "Bob".into()];
    plain.unnamed_faces = 1;
    plain.title = Some("Sunset".into());
    plain.description = Some("A long description".into());
    plain.favorite = true;
    b.asset(plain);

    let mut located = AssetSpec::photo("IMG_0002.jpeg", at(9, 2021, 1, 2, 3, 4, 5));
    located.gps = Some((35.6586, 139.7454));
    located.persons = vec!["Alice Smith".into()];
    located.keywords = vec!["sun".into()];
    located.edited = true;
    located.aae = true;
    b.asset(located.in_album(trip));

    let mut live = AssetSpec::live("IMG_0003.HEIC", at(1, 2022, 3, 4, 5, 6, 7));
    live.edited = true;
    b.asset(live);

    let mut raw = AssetSpec::photo("IMG_0004.JPG", at(0, 2019, 1, 1, 0, 0, 0));
    raw.raw_pair = true;
    b.asset(raw);

    let mut cloud = AssetSpec::photo("IMG_0005.JPG", at(-7, 2018, 7, 7, 7, 7, 7));
    cloud.original_present = false;
    b.asset(cloud);

    let mut referenced = AssetSpec::photo("Ref.jpg", at(2, 2017, 5, 5, 5, 5, 5));
    referenced.referenced = Some(outside.join("Ref.jpg"));
    b.asset(referenced);

    let mut video = AssetSpec::video("MOV_0001.MOV", at(-8, 2020, 12, 24, 18, 0, 0));
    video.slow_mo = true;
    video.hidden = true;
    b.asset(video);

    let mut png = AssetSpec::photo("Screenshot.PNG", at(5, 2023, 8, 9, 10, 11, 12));
    png.screenshot = true;
    png.trashed = Some(Utc.with_ymd_and_hms(2024, 1, 1, 0, 0, 0).unwrap());
    b.asset(png);

    for (i, key) in [true, false].into_iter().enumerate() {
        let mut burst =
            AssetSpec::photo(&format!("IMG_01{i}.JPG"), at(0, 2016, 1, 1, 0, 0, i as u32));
        burst.burst = Some(Burst {
            uuid: "BURST-1".into(),
            key,
            selected: false,
        });
        b.asset(burst);
    }

    let lib = b.build(&tmp.path().join("Test.photoslibrary")).unwrap();
    assert_eq!(lib.assets.len(), 10);
    let c = ro(&lib.db_path());
    let t = e.asset_table;

    // Version markers and WAL mode.
    let header = std::fs::read(lib.db_path()).unwrap();
    assert_eq!(
        (header[18], header[19]),
        (2, 2),
        "database must be in WAL mode"
    );
    let plist_bytes: Vec<u8> = c
        .query_row("SELECT Z_PLIST FROM Z_METADATA", [], |r| r.get(0))
        .unwrap();
    let meta: plist::Dictionary = plist::from_bytes(&plist_bytes).unwrap();
    assert_eq!(
        meta["PLModelVersion"].as_signed_integer(),
        Some(e.model_version)
    );
    assert!(lib.path.join("database/DataModelVersion.plist").is_file());
    assert!(lib.path.join("database/photos.db").is_file());

    // Entity numbering.
    let ent = |name: &str| {
        count(
            &c,
            &format!("SELECT Z_ENT FROM Z_PRIMARYKEY WHERE Z_NAME = '{name}'"),
        )
    };
    assert_eq!(ent("Asset"), e.asset_ent);
    assert_eq!(ent("Album"), e.album);
    assert_eq!(ent("Keyword"), e.keyword);
    assert_eq!(
        count(&c, "SELECT COUNT(*) FROM Z_PRIMARYKEY"),
        count(&c, "SELECT COUNT(DISTINCT Z_ENT) FROM Z_PRIMARYKEY")
    );
    assert_eq!(
        count(
            &c,
            &format!(
                "SELECT Z_MAX FROM Z_PRIMARYKEY WHERE Z_ENT = {}",
                e.join_asset_ent
            )
        ),
        10
    );
    assert_eq!(
        count(
            &c,
            &format!("SELECT COUNT(*) FROM {t} WHERE Z_ENT = {}", e.asset_ent)
        ),
        10
    );

    // Albums, folders, joins.
    let a = e.album;
    let j = e.join_asset_ent;
    assert_eq!(count(&c, &format!("SELECT COUNT(*) FROM Z_{a}ASSETS")), 2);
    assert_eq!(
        count(
            &c,
            &format!("SELECT COUNT(DISTINCT Z_FOK_{j}ASSETS) FROM Z_{a}ASSETS")
        ),
        2
    );
    assert_eq!(
        count(&c, "SELECT COUNT(*) FROM ZGENERICALBUM WHERE ZKIND = 2"),
        3
    );
    assert_eq!(
        count(&c, "SELECT COUNT(*) FROM ZGENERICALBUM WHERE ZKIND = 4000"),
        2
    );
    assert_eq!(
        count(
            &c,
            "SELECT COUNT(*) FROM ZGENERICALBUM WHERE ZKIND = 2 AND ZTRASHEDSTATE = 1"
        ),
        1
    );
    assert_eq!(
        count(
            &c,
            &format!(
                "SELECT ZCACHEDCOUNT FROM ZGENERICALBUM WHERE Z_PK = {}",
                lib.albums[trip.index()].pk
            )
        ),
        2
    );
    assert_eq!(
        count(
            &c,
            &format!(
                "SELECT ZCACHEDCOUNT FROM ZGENERICALBUM WHERE Z_PK = {}",
                lib.albums[empty.index()].pk
            )
        ),
        0
    );
    let path: String = c
        .query_row(
            "SELECT f1.ZTITLE || '/' || f2.ZTITLE FROM ZGENERICALBUM al JOIN ZGENERICALBUM f2 ON f2.Z_PK = al.ZPARENTFOLDER
             JOIN ZGENERICALBUM f1 ON f1.Z_PK = f2.ZPARENTFOLDER WHERE al.ZTITLE = 'Trip'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(path, "Travel/2020");

    // Keywords (deduplicated), persons, faces.
    assert_eq!(count(&c, "SELECT COUNT(*) FROM ZKEYWORD"), 2);
    assert_eq!(
        count(
            &c,
            &format!(
                "SELECT COUNT(*) FROM Z_1KEYWORDS WHERE Z_{}KEYWORDS IS NOT NULL",
                e.keyword
            )
        ),
        3
    );
    assert_eq!(
        count(
            &c,
            "SELECT COUNT(*) FROM ZPERSON WHERE ZFULLNAME IS NOT NULL"
        ),
        2
    );
    assert_eq!(
        count(&c, "SELECT COUNT(*) FROM ZPERSON WHERE ZFULLNAME IS NULL"),
        1
    );
    assert_eq!(
        count(
            &c,
            "SELECT ZFACECOUNT FROM ZPERSON WHERE ZFULLNAME = 'Alice Smith'"
        ),
        2
    );
    let face_sql = format!(
        "SELECT COUNT(*) FROM ZDETECTEDFACE f JOIN {t} a ON a.Z_PK = f.{} JOIN ZPERSON p ON p.Z_PK = f.{} WHERE a.ZUUID = '{}'",
        e.face_asset, e.face_person, lib.assets[0].uuid
    );
    assert_eq!(count(&c, &face_sql), 3);

    // Dates, GPS sentinel, title, description.
    let (created, offset): (f64, i64) = c
        .query_row(
            &format!("SELECT a.ZDATECREATED, x.ZTIMEZONEOFFSET FROM {t} a JOIN ZADDITIONALASSETATTRIBUTES x ON x.ZASSET = a.Z_PK WHERE a.ZUUID = ?1"),
            [&lib.assets[0].uuid],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!(
        created as i64 + 978_307_200,
        at(-4, 2020, 6, 15, 12, 34, 56).timestamp()
    );
    assert_eq!(offset, -4 * 3600);
    assert_eq!(
        count(
            &c,
            &format!("SELECT COUNT(*) FROM {t} WHERE ZLATITUDE = -180.0 AND ZLONGITUDE = -180.0")
        ),
        9
    );
    assert_eq!(
        count(
            &c,
            "SELECT COUNT(*) FROM ZADDITIONALASSETATTRIBUTES WHERE ZTITLE = 'Sunset'"
        ),
        1
    );
    assert_eq!(
        count(&c, "SELECT COUNT(*) FROM ZASSETDESCRIPTION d JOIN ZADDITIONALASSETATTRIBUTES x ON x.ZASSETDESCRIPTION = d.Z_PK WHERE d.ZLONGDESCRIPTION = 'A long description'"),
        1
    );
    assert_eq!(
        count(&c, &format!("SELECT COUNT(*) FROM {t} WHERE ZFAVORITE = 1")),
        1
    );
    assert_eq!(
        count(
            &c,
            &format!(
                "SELECT COUNT(*) FROM {t} WHERE ZHIDDEN = 1 AND ZKIND = 1 AND ZKINDSUBTYPE = 101"
            )
        ),
        1
    );
    assert_eq!(count(&c, &format!("SELECT COUNT(*) FROM {t} WHERE ZTRASHEDSTATE = 1 AND ZTRASHEDDATE IS NOT NULL AND ZKINDSUBTYPE = 10")), 1);
    assert_eq!(count(&c, &format!("SELECT COUNT(*) FROM {t} WHERE ZAVALANCHEUUID = 'BURST-1' AND ZAVALANCHEPICKTYPE = 20")), 1);
    assert_eq!(count(&c, &format!("SELECT COUNT(*) FROM {t} WHERE ZKINDSUBTYPE = 2 AND ZPLAYBACKSTYLE = 3 AND ZMEDIAGROUPUUID IS NOT NULL")), 1);
    assert_eq!(count(&c, "SELECT COUNT(*) FROM ZUNMANAGEDADJUSTMENT"), 2);

    // Resources: rows and files agree.
    assert_eq!(count(&c, "SELECT COUNT(*) FROM ZINTERNALRESOURCE WHERE ZRESOURCETYPE = 4 AND ZDATASTORESUBTYPE = 17"), 1);
    assert_eq!(count(&c, "SELECT COUNT(*) FROM ZINTERNALRESOURCE WHERE ZRESOURCETYPE = 3 AND ZDATASTORESUBTYPE = 18"), 1);
    assert_eq!(count(&c, "SELECT COUNT(*) FROM ZINTERNALRESOURCE WHERE ZRESOURCETYPE = 5 AND ZDATASTORESUBTYPE = 22"), 1);
    let cloud = &lib.assets[4];
    assert_eq!(
        count(&c, &format!("SELECT r.ZLOCALAVAILABILITY FROM ZINTERNALRESOURCE r WHERE r.ZASSET = {} AND r.ZDATASTORESUBTYPE = 1", cloud.pk)),
        -1
    );
    let orig = cloud.resource(ResourceRole::Original).unwrap();
    assert!(!orig.on_disk && !lib.absolute(&orig.path).exists());
    let refd = &lib.assets[5];
    assert_eq!(
        count(
            &c,
            &format!("SELECT ZSAVEDASSETTYPE FROM {t} WHERE Z_PK = {}", refd.pk)
        ),
        10
    );
    assert_eq!(
        count(&c, &format!("SELECT COUNT(*) FROM ZFILESYSTEMBOOKMARK b JOIN ZINTERNALRESOURCE r ON r.Z_PK = b.ZRESOURCE JOIN ZFILESYSTEMVOLUME v ON v.Z_PK = r.ZFILESYSTEMVOLUME WHERE r.ZASSET = {}", refd.pk)),
        1
    );
    assert!(outside.join("Ref.jpg").is_file());

    let mut hashes = HashSet::new();
    for asset in &lib.assets {
        for r in asset.resources.iter().filter(|r| r.on_disk) {
            let full = lib.absolute(&r.path);
            let bytes = std::fs::read(&full).unwrap_or_else(|e| panic!("{}: {e}", full.display()));
            assert_eq!(bytes.len() as u64, r.size);
            assert!(
                hashes.insert(bytes.clone()),
                "duplicate content {}",
                full.display()
            );
            let name = full.to_string_lossy().to_lowercase();
            if name.ends_with(".jpeg") || name.ends_with(".jpg") {
                assert_eq!(&bytes[..2], &[0xFF, 0xD8]);
                assert_eq!(&bytes[bytes.len() - 2..], &[0xFF, 0xD9]);
            }
            if name.ends_with(".mov") {
                assert_eq!(&bytes[4..8], b"ftyp");
            }
        }
    }
    let live_asset = &lib.assets[2];
    for role in [
        ResourceRole::LiveVideo,
        ResourceRole::Edited,
        ResourceRole::EditedLiveVideo,
        ResourceRole::AdjustmentData,
    ] {
        assert!(
            live_asset.resource(role).is_some_and(|r| r.on_disk),
            "{role:?}"
        );
    }
    let u = &live_asset.uuid;
    let d = &u[..1];
    assert_eq!(
        live_asset.resource(ResourceRole::LiveVideo).unwrap().path,
        Path::new(&format!("originals/{d}/{u}_3.mov"))
    );
}

#[test]
fn photos5_small_library() {
    small_library(
        Generation::Photos5,
        Expect {
            asset_table: "ZGENERICASSET",
            asset_ent: 33,
            album: 27,
            keyword: 38,
            join_asset_ent: 32,
            face_asset: "ZASSET",
            face_person: "ZPERSON",
            model_version: 13703,
        },
    );
}

#[test]
fn modern_small_library() {
    small_library(
        Generation::Modern,
        Expect {
            asset_table: "ZASSET",
            asset_ent: 4,
            album: 32,
            keyword: 45,
            join_asset_ent: 4,
            face_asset: "ZASSETFORFACE",
            face_person: "ZPERSONFORFACE",
            model_version: 18600,
        },
    );
}

#[test]
fn entity_numbers_can_be_overridden() {
    let tmp = tempfile::tempdir().unwrap();
    let mut b = LibraryBuilder::new(Generation::Modern);
    b.entity_number("Album", 77)
        .entity_number("Asset", 78)
        .with_media(false);
    let al = b.album("A", &[]);
    b.asset(AssetSpec::photo("a.jpg", at(0, 2020, 1, 1, 0, 0, 0)).in_album(al));
    let lib = b.build(&tmp.path().join("L.photoslibrary")).unwrap();
    let c = ro(&lib.db_path());
    assert_eq!(
        count(
            &c,
            "SELECT COUNT(*) FROM Z_77ASSETS WHERE Z_77ALBUMS > 0 AND Z_78ASSETS > 0"
        ),
        1
    );
    assert_eq!(count(&c, "SELECT Z_ENT FROM ZASSET"), 78);
    assert!(LibraryBuilder::new(Generation::Modern)
        .entity_number("NoSuchEntity", 5)
        .build(&tmp.path().join("x"))
        .is_err());
}

#[test]
fn hostile_names_are_stored_verbatim_and_never_written_outside() {
    let tmp = tempfile::tempdir().unwrap();
    let lib_path = tmp.path().join("Lib").join("H.photoslibrary");
    let long = "x".repeat(400);
    let names = [
        "../../etc/passwd".to_string(),
        "/etc/passwd".to_string(),
        "a\0b.jpg".to_string(),
        "tab\tnew\nline.jpg".to_string(),
        long,
    ];
    let mut b = LibraryBuilder::new(Generation::Photos5);
    for name in &names {
        let mut s = AssetSpec::photo("ok.jpg", at(0, 2020, 1, 1, 0, 0, 0));
        s.overrides = NameOverrides {
            directory: Some(name.clone()),
            filename: Some(name.clone()),
            original_filename: Some(name.clone()),
        };
        b.asset(s);
    }
    let lib = b.build(&lib_path).unwrap();
    let c = ro(&lib.db_path());
    let mut st = c.prepare("SELECT a.ZDIRECTORY, a.ZFILENAME, x.ZORIGINALFILENAME FROM ZGENERICASSET a JOIN ZADDITIONALASSETATTRIBUTES x ON x.ZASSET = a.Z_PK ORDER BY a.Z_PK").unwrap();
    let rows: Vec<(String, String, String)> = st
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    for (row, name) in rows.iter().zip(&names) {
        assert_eq!((&row.0, &row.1, &row.2), (name, name, name));
    }
    assert!(!tmp.path().join("etc").exists());
    for a in &lib.assets {
        let r = a.resource(ResourceRole::Original).unwrap();
        assert!(lib.absolute(&r.path).starts_with(&lib.path));
    }
    // A harmless control-character name is written where the database says.
    let tab = &lib.assets[3];
    assert!(tab.resource(ResourceRole::Original).unwrap().on_disk);
    assert!(lib
        .path
        .join("originals")
        .join(&names[3])
        .join(&names[3])
        .is_file());
}

#[test]
fn raw_sql_after_build() {
    let tmp = tempfile::tempdir().unwrap();
    let mut b = LibraryBuilder::new(Generation::Modern);
    b.with_media(false);
    b.asset(AssetSpec::photo("a.jpg", at(0, 2020, 1, 1, 0, 0, 0)));
    let lib = b.build(&tmp.path().join("L.photoslibrary")).unwrap();
    lib.execute("UPDATE ZADDITIONALASSETATTRIBUTES SET ZASSET = 999")
        .unwrap();
    assert_eq!(
        count(
            &ro(&lib.db_path()),
            "SELECT ZASSET FROM ZADDITIONALASSETATTRIBUTES"
        ),
        999
    );
    assert!(lib.execute("SELECT * FROM no_such_table").is_err());
}

#[test]
fn live_writer_keeps_new_assets_in_the_wal() {
    let tmp = tempfile::tempdir().unwrap();
    let mut b = LibraryBuilder::new(Generation::Modern);
    let album = b.album("A", &[]);
    b.asset(AssetSpec::photo("a.jpg", at(0, 2020, 1, 1, 0, 0, 0)));
    let lib = b.build(&tmp.path().join("L.photoslibrary")).unwrap();
    let mut w = lib.open_writer().unwrap();
    let mut spec = AssetSpec::photo("new.jpg", at(3, 2021, 2, 2, 2, 2, 2)).in_album(album);
    spec.keywords = vec!["fresh".into()];
    let added = w.add_asset(&spec).unwrap();
    assert!(lib.path.join("database/Photos.sqlite.lock").is_file());
    assert!(lib
        .absolute(&added.resource(ResourceRole::Original).unwrap().path)
        .is_file());

    let reader = ro(&lib.db_path());
    assert_eq!(count(&reader, "SELECT COUNT(*) FROM ZASSET"), 2);
    assert_eq!(count(&reader, "SELECT COUNT(*) FROM Z_32ASSETS"), 1);
    let wal = lib.path.join("database/Photos.sqlite-wal");
    assert!(std::fs::metadata(&wal).unwrap().len() > 0);
    // The main file alone still holds the library as built.
    let copy = tmp.path().join("main-only.sqlite");
    std::fs::copy(lib.db_path(), &copy).unwrap();
    assert_eq!(
        count(
            &Connection::open(&copy).unwrap(),
            "SELECT COUNT(*) FROM ZASSET"
        ),
        1
    );
    drop(reader);
    drop(w);
    assert!(!lib.path.join("database/Photos.sqlite.lock").exists());
    assert_eq!(
        count(
            &ro(&lib.db_path()),
            "SELECT COUNT(*) FROM ACHANGE WHERE ZENTITY = 4"
        ),
        2
    );
}
