//! Bad input never panics: each case is a clear, typed error that says what
//! to do, or an asset marked with its problem.

use std::path::Path;

use photovault::library::{LibraryError, PhotosLibrary, ResourceRole};
use photovault_testkit::{at, AssetSpec, BuiltLibrary, Generation, LibraryBuilder, NameOverrides};

fn open_err(path: &Path) -> LibraryError {
    match PhotosLibrary::open(path).and_then(|l| l.read()) {
        Ok(_) => panic!("{} was read as a library", path.display()),
        Err(e) => e,
    }
}

fn one_photo_library(dir: &Path, generation: Generation) -> BuiltLibrary {
    let mut b = LibraryBuilder::new(generation);
    b.asset(AssetSpec::photo("IMG_1.JPG", at(0, 2020, 1, 1, 0, 0, 0)));
    b.build(&dir.join("L.photoslibrary")).unwrap()
}

#[test]
fn a_missing_path_is_not_found() {
    let dir = tempfile::tempdir().unwrap();
    let err = open_err(&dir.path().join("nope.photoslibrary"));
    assert!(matches!(err, LibraryError::NotFound { .. }), "{err:?}");
    assert!(err.to_string().contains("check the path"), "{err}");
}

#[test]
fn a_folder_or_file_that_is_not_a_library_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let plain = dir.path().join("Holiday photos");
    std::fs::create_dir(&plain).unwrap();
    std::fs::write(plain.join("IMG_1.JPG"), b"not really").unwrap();
    let err = open_err(&plain);
    assert!(matches!(err, LibraryError::NotALibrary { .. }), "{err:?}");
    assert!(err.to_string().contains("is not a Photos library"), "{err}");

    let file = dir.path().join("file.photoslibrary");
    std::fs::write(&file, b"x").unwrap();
    assert!(matches!(open_err(&file), LibraryError::NotALibrary { .. }));
}

#[test]
fn a_photos4_library_is_unsupported_with_upgrade_advice() {
    let dir = tempfile::tempdir().unwrap();
    let lib = dir.path().join("Old.photoslibrary");
    std::fs::create_dir_all(lib.join("database")).unwrap();
    std::fs::write(lib.join("database/photos.db"), b"SQLite format 3\0").unwrap();
    let err = open_err(&lib);
    assert!(matches!(err, LibraryError::Unsupported { .. }), "{err:?}");
    assert!(err.to_string().contains("open it once in Photos"), "{err}");
}

#[test]
fn an_old_model_version_is_unsupported() {
    let dir = tempfile::tempdir().unwrap();
    let lib = one_photo_library(dir.path(), Generation::Photos5);
    let mut plist = Vec::new();
    let mut d = plist::Dictionary::new();
    d.insert("PLModelVersion".into(), plist::Value::Integer(4025.into()));
    plist::Value::Dictionary(d)
        .to_writer_binary(&mut plist)
        .unwrap();
    let conn = rusqlite::Connection::open(lib.db_path()).unwrap();
    conn.execute("UPDATE Z_METADATA SET Z_PLIST = ?1", [plist])
        .unwrap();
    drop(conn);
    let err = open_err(&lib.path);
    assert!(matches!(err, LibraryError::Unsupported { .. }), "{err:?}");
}

#[test]
fn truncated_garbage_and_foreign_databases_are_reported_as_damaged() {
    let dir = tempfile::tempdir().unwrap();
    let lib = one_photo_library(dir.path(), Generation::Modern);
    let db = lib.db_path();
    let good = std::fs::read(&db).unwrap();

    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("truncated", good[..good.len() / 3].to_vec()),
        ("header only", good[..100].to_vec()),
        (
            "garbage",
            (0..200_000u32)
                .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
                .collect(),
        ),
        ("empty", Vec::new()),
    ];
    for (what, bytes) in cases {
        std::fs::write(&db, &bytes).unwrap();
        let err = open_err(&lib.path);
        assert!(
            matches!(err, LibraryError::Corrupt { .. }),
            "{what}: {err:?}"
        );
        assert!(err.to_string().contains("damaged"), "{what}: {err}");
    }

    // A real SQLite database, but not one Photos wrote.
    std::fs::remove_file(&db).unwrap();
    let conn = rusqlite::Connection::open(&db).unwrap();
    conn.execute_batch("CREATE TABLE notes(x); INSERT INTO notes VALUES (1);")
        .unwrap();
    drop(conn);
    assert!(matches!(open_err(&lib.path), LibraryError::Corrupt { .. }));
}

#[test]
fn hostile_names_mark_the_asset_and_never_become_paths() {
    let long = "n".repeat(400);
    let hostile: Vec<(&str, NameOverrides)> = vec![
        (
            "traversal",
            NameOverrides {
                directory: Some("../../etc".into()),
                filename: Some("passwd".into()),
                ..Default::default()
            },
        ),
        (
            "absolute dir",
            NameOverrides {
                directory: Some("/etc".into()),
                ..Default::default()
            },
        ),
        (
            "traversal in name",
            NameOverrides {
                filename: Some("../../../etc/passwd".into()),
                ..Default::default()
            },
        ),
        (
            "NUL",
            NameOverrides {
                filename: Some("a\0b.jpeg".into()),
                original_filename: Some("IMG\0.JPG".into()),
                ..Default::default()
            },
        ),
        (
            "control",
            NameOverrides {
                original_filename: Some("IMG\n\u{1b}[31m.JPG".into()),
                ..Default::default()
            },
        ),
        (
            "400 bytes",
            NameOverrides {
                filename: Some(format!("{long}.jpeg")),
                original_filename: Some(format!("{long}.JPG")),
                ..Default::default()
            },
        ),
    ];
    for generation in [Generation::Photos5, Generation::Modern] {
        let dir = tempfile::tempdir().unwrap();
        let mut b = LibraryBuilder::new(generation);
        for (what, overrides) in &hostile {
            let mut spec = AssetSpec::photo(&format!("{what}.JPG"), at(0, 2020, 1, 1, 0, 0, 0));
            spec.overrides = overrides.clone();
            spec.edited = true;
            b.asset(spec);
        }
        let lib = b.build(&dir.path().join("H.photoslibrary")).unwrap();
        let snapshot = PhotosLibrary::open(&lib.path).unwrap().read().unwrap();
        assert_eq!(
            snapshot.assets.len(),
            hostile.len(),
            "every asset still listed"
        );
        for asset in &snapshot.assets {
            assert!(
                !asset.problems.is_empty(),
                "{:?} not marked",
                asset.original_filename
            );
            for r in &asset.resources {
                if let Some(p) = &r.path {
                    assert!(p.is_relative(), "{p:?}");
                    assert!(
                        !p.components()
                            .any(|c| matches!(c, std::path::Component::ParentDir)),
                        "{p:?}"
                    );
                    assert!(!p.to_string_lossy().contains('\0'));
                }
            }
        }
        let traversal = snapshot
            .assets
            .iter()
            .find(|a| a.problems.iter().any(|p| p.contains("../../etc")))
            .unwrap();
        assert!(traversal
            .resource(ResourceRole::Original)
            .unwrap()
            .path
            .is_none());
        assert!(traversal.original_missing());
    }
}

#[test]
fn dangling_foreign_keys_are_ignored_not_fatal() {
    for generation in [Generation::Photos5, Generation::Modern] {
        let dir = tempfile::tempdir().unwrap();
        let mut b = LibraryBuilder::new(generation);
        let album = b.album("A", &["F"]);
        let mut spec = AssetSpec::photo("IMG_1.JPG", at(0, 2020, 1, 1, 0, 0, 0)).in_album(album);
        spec.keywords = vec!["k".into()];
        spec.persons = vec!["P".into()];
        b.asset(spec);
        let lib = b.build(&dir.path().join("D.photoslibrary")).unwrap();
        let asset_table = generation.asset_table();
        let album_join = format!("Z_{}ASSETS", lib.entities.get("Album").unwrap());
        let album_col = format!("Z_{}ALBUMS", lib.entities.get("Album").unwrap());
        let asset_col = format!(
            "Z_{}ASSETS",
            lib.entities.get(generation.asset_root_entity()).unwrap()
        );
        let kw_col = format!("Z_{}KEYWORDS", lib.entities.get("Keyword").unwrap());
        lib.execute(&format!(
            "INSERT INTO {album_join} ({album_col}, {asset_col}) VALUES (9999, 1), (1, 8888);
             INSERT INTO Z_1KEYWORDS (Z_1ASSETATTRIBUTES, {kw_col}) VALUES (1, 7777), (6666, 1);
             INSERT INTO ZINTERNALRESOURCE (Z_PK, ZASSET, ZRESOURCETYPE, ZVERSION, ZDATASTORESUBTYPE) VALUES (5555, 4444, 0, 0, 1);
             UPDATE ZADDITIONALASSETATTRIBUTES SET ZASSETDESCRIPTION = 3333;
             UPDATE ZGENERICALBUM SET ZPARENTFOLDER = 2222 WHERE ZTITLE = 'F';"
        ))
        .unwrap();
        let face_person = if generation == Generation::Photos5 {
            "ZPERSON"
        } else {
            "ZPERSONFORFACE"
        };
        lib.execute(&format!("UPDATE ZDETECTEDFACE SET {face_person} = 1111"))
            .unwrap();
        // An asset whose attribute row is gone entirely.
        lib.execute(&format!(
            "INSERT INTO {asset_table} (Z_PK, Z_ENT, Z_OPT, ZUUID, ZDATECREATED, ZKIND, ZDIRECTORY, ZFILENAME)
             SELECT 100, Z_ENT, 1, 'ORPHAN-UUID', 600000000, 0, 'O', 'ORPHAN-UUID.jpeg' FROM {asset_table} LIMIT 1"
        ))
        .unwrap();
        let snapshot = PhotosLibrary::open(&lib.path).unwrap().read().unwrap();
        assert_eq!(snapshot.assets.len(), 2);
        let a = snapshot
            .assets
            .iter()
            .find(|a| a.uuid != "ORPHAN-UUID")
            .unwrap();
        assert_eq!(a.keywords.len(), 1);
        assert_eq!(a.albums.len(), 1);
        assert!(
            a.persons.is_empty(),
            "a face whose person is gone names nobody"
        );
        assert_eq!(a.description, None);
        let orphan = snapshot
            .assets
            .iter()
            .find(|a| a.uuid == "ORPHAN-UUID")
            .unwrap();
        assert_eq!(orphan.original_filename, "ORPHAN-UUID.jpeg");
        assert!(orphan
            .problems
            .iter()
            .any(|p| p.contains("no original file name")));
    }
}

#[test]
fn permission_errors_explain_how_to_grant_access() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let lib = one_photo_library(dir.path(), Generation::Modern);
    // Everything readable but the database.
    for sub in ["", "database"] {
        std::fs::set_permissions(lib.path.join(sub), std::fs::Permissions::from_mode(0o755))
            .unwrap();
    }
    std::fs::set_permissions(lib.db_path(), std::fs::Permissions::from_mode(0o000)).unwrap();
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_photovaultd"));
    cmd.args(["inspect", "--library"]).arg(&lib.path);
    if photovault_testkit::is_root() {
        // The kernel grants root every read: ask as an unprivileged user.
        // A copy of the binary where that user can run it, whatever the
        // permissions of the build folder.
        let bin = dir.path().join("photovaultd");
        std::fs::copy(env!("CARGO_BIN_EXE_photovaultd"), &bin).unwrap();
        std::fs::set_permissions(&bin, std::fs::Permissions::from_mode(0o755)).unwrap();
        let mut as_nobody = std::process::Command::new("setpriv");
        as_nobody
            .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
            .arg(&bin)
            .args(["inspect", "--library"])
            .arg(&lib.path);
        cmd = as_nobody;
    }
    let out = cmd.output().expect("run photovaultd");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("permission denied reading"), "{stderr}");
    assert!(stderr.contains("Photos.sqlite"), "{stderr}");
    assert!(
        stderr.contains("readable by the user") || stderr.contains("Full Disk Access"),
        "{stderr}"
    );
}
