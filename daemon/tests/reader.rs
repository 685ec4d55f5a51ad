//! The library reader on libraries the tests build themselves, in both schema
//! generations: every flag and resource kind read back exactly as written,
//! the WAL read while a writer holds the library, and not a byte changed.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use chrono::{TimeZone, Utc};
use photovault::library::{Asset, AssetKind, PhotosLibrary, ResourceRole};
use photovault_testkit as tk;
use tk::{at, AssetSpec, BuiltAsset, BuiltLibrary, Generation, LibraryBuilder};

/// A library holding one asset of every kind the reader must understand.
fn every_kind_of_asset(generation: Generation, dir: &Path, referenced_dir: &Path) -> BuiltLibrary {
    let mut b = LibraryBuilder::new(generation);
    let trip = b.album("Trip", &["Travel", "2020"]);
    let loose = b.album("Loose", &[]);
    let gone = b.album("Deleted album", &[]);
    b.trash_album(gone);

    let mut rich = AssetSpec::photo("IMG_0001.JPG", at(2, 2020, 6, 15, 12, 34, 56));
    rich.title = Some("Sunset over the bay".into());
    rich.description = Some("Taken from the ferry; ünïcödé ✓".into());
    rich.keywords = vec!["sea".into(), "Boat".into()];
    rich.persons = vec!["Alice".into(), "Bob".into()];
    rich.unnamed_faces = 1;
    rich.gps = Some((45.4371, 12.3326));
    rich.favorite = true;
    rich.albums = vec![trip, loose, gone];
    b.asset(rich);

    let mut hidden = AssetSpec::photo("IMG_0002.JPG", at(-5, 2019, 1, 2, 3, 4, 5));
    hidden.hidden = true;
    b.asset(hidden);

    let mut trashed = AssetSpec::photo("IMG_0003.JPG", at(0, 2018, 3, 4, 5, 6, 7));
    trashed.trashed = Some(Utc.with_ymd_and_hms(2021, 1, 1, 10, 0, 0).unwrap());
    b.asset(trashed);

    let mut screenshot = AssetSpec::photo("Screenshot 2021.PNG", at(1, 2021, 2, 3, 4, 5, 6));
    screenshot.screenshot = true;
    b.asset(screenshot);

    for (name, set) in [
        (
            "PANO_0001.JPG",
            (|s: &mut AssetSpec| s.panorama = true) as fn(&mut AssetSpec),
        ),
        ("IMG_PORTRAIT.HEIC", |s| s.portrait = true),
        ("IMG_HDR.JPG", |s| s.hdr = true),
        ("IMG_SELFIE.HEIC", |s| s.selfie = true),
    ] {
        let mut spec = AssetSpec::photo(name, at(9, 2022, 7, 8, 9, 10, 11));
        set(&mut spec);
        b.asset(spec);
    }

    let mut live = AssetSpec::live("IMG_LIVE.HEIC", at(-7, 2023, 4, 5, 6, 7, 8));
    live.edited = true;
    live.albums = vec![loose];
    b.asset(live);

    let mut edited = AssetSpec::photo("IMG_EDITED.JPG", at(3, 2023, 5, 6, 7, 8, 9));
    edited.edited = true;
    b.asset(edited);

    for (name, set) in [
        (
            "IMG_SLOMO.MOV",
            (|s: &mut AssetSpec| s.slow_mo = true) as fn(&mut AssetSpec),
        ),
        ("IMG_TIMELAPSE.MOV", |s| s.time_lapse = true),
        ("ScreenRecording.MP4", |s| s.screen_recording = true),
        ("IMG_PLAIN.MOV", |_| {}),
    ] {
        let mut spec = AssetSpec::video(name, at(0, 2024, 1, 1, 0, 0, 0));
        set(&mut spec);
        b.asset(spec);
    }

    for (i, (key, selected)) in [(true, true), (false, true), (false, false)]
        .into_iter()
        .enumerate()
    {
        let mut frame = AssetSpec::photo(
            &format!("IMG_BURST_{i}.JPG"),
            at(0, 2024, 2, 2, 2, 2, i as u32),
        );
        frame.burst = Some(tk::Burst {
            uuid: "BURST-0001".into(),
            key,
            selected,
        });
        b.asset(frame);
    }

    let mut raw = AssetSpec::photo("IMG_RAW.JPG", at(0, 2024, 3, 3, 3, 3, 3));
    raw.raw_pair = true;
    raw.aae = true;
    b.asset(raw);

    let mut cloud = AssetSpec::photo("IMG_CLOUD.HEIC", at(0, 2024, 4, 4, 4, 4, 4));
    cloud.original_present = false;
    b.asset(cloud);

    let mut referenced = AssetSpec::photo("IMG_REF.JPG", at(0, 2024, 5, 5, 5, 5, 5));
    referenced.referenced = Some(referenced_dir.join("IMG_REF.JPG"));
    b.asset(referenced);

    let mut referenced_away = AssetSpec::photo("IMG_AWAY.JPG", at(0, 2024, 6, 6, 6, 6, 6));
    referenced_away.referenced = Some(PathBuf::from("/Volumes/Unplugged Disk/Photos/IMG_AWAY.JPG"));
    b.asset(referenced_away);

    b.build(&dir.join("Every Kind.photoslibrary"))
        .expect("build library")
}

fn tk_role(role: tk::ResourceRole) -> Option<ResourceRole> {
    Some(match role {
        tk::ResourceRole::Original => ResourceRole::Original,
        tk::ResourceRole::LiveVideo => ResourceRole::LiveVideo,
        tk::ResourceRole::Raw => ResourceRole::Raw,
        tk::ResourceRole::Aae => ResourceRole::Aae,
        tk::ResourceRole::Edited => ResourceRole::Edited,
        tk::ResourceRole::EditedLiveVideo => ResourceRole::EditedLiveVideo,
        tk::ResourceRole::AdjustmentData => ResourceRole::Adjustments,
        tk::ResourceRole::Thumbnail => return None,
    })
}

/// Everything the reader says about `asset` agrees with what was built.
fn assert_reads_as_built(built: &BuiltAsset, asset: &Asset, lib: &BuiltLibrary) {
    let spec = &built.spec;
    let ctx = format!(
        "{} ({})",
        spec.original_filename,
        lib.generation.asset_table()
    );
    assert_eq!(asset.original_filename, spec.original_filename, "{ctx}");
    let created = asset.created.expect("capture time");
    assert_eq!(created, spec.created, "{ctx}: capture instant");
    assert_eq!(
        created.offset(),
        spec.created.offset(),
        "{ctx}: capture offset"
    );
    assert_eq!(asset.added, Some(spec.added), "{ctx}: date added");
    let kind = match spec.kind {
        tk::MediaKind::Photo => AssetKind::Photo,
        tk::MediaKind::Video => AssetKind::Video,
    };
    assert_eq!(asset.kind, kind, "{ctx}");
    let f = &asset.flags;
    let flags = [
        ("screenshot", f.screenshot, spec.screenshot),
        (
            "screen_recording",
            f.screen_recording,
            spec.screen_recording,
        ),
        ("live_photo", f.live_photo, spec.live_photo),
        ("panorama", f.panorama, spec.panorama),
        ("slow_mo", f.slow_mo, spec.slow_mo),
        ("time_lapse", f.time_lapse, spec.time_lapse),
        ("portrait", f.portrait, spec.portrait),
        ("hdr", f.hdr, spec.hdr),
        ("selfie", f.selfie, spec.selfie),
        ("favorite", asset.favorite, spec.favorite),
        ("hidden", asset.hidden, spec.hidden),
        ("trashed", asset.trashed, spec.trashed.is_some()),
        ("edited", asset.edited, spec.edited),
        ("referenced", asset.referenced, spec.referenced.is_some()),
    ];
    for (name, got, want) in flags {
        assert_eq!(got, want, "{ctx}: {name}");
    }
    if let Some(t) = spec.trashed {
        assert_eq!(asset.trashed_date, Some(t), "{ctx}: trash date");
    }
    match (&asset.burst, &spec.burst) {
        (Some(got), Some(want)) => {
            assert_eq!(got.id, want.uuid, "{ctx}");
            assert_eq!(got.key, want.key, "{ctx}: burst key");
            assert_eq!(got.picked, want.key || want.selected, "{ctx}: burst pick");
        }
        (got, want) => assert_eq!(got.is_some(), want.is_some(), "{ctx}: burst"),
    }
    assert_eq!(
        (asset.width, asset.height),
        (spec.width, spec.height),
        "{ctx}"
    );
    assert_eq!(asset.title, spec.title, "{ctx}");
    assert_eq!(asset.description, spec.description, "{ctx}");
    let keywords: BTreeSet<&str> = asset.keywords.iter().map(|k| &**k).collect();
    assert_eq!(
        keywords,
        spec.keywords.iter().map(String::as_str).collect(),
        "{ctx}"
    );
    let persons: BTreeSet<&str> = asset.persons.iter().map(|p| &**p).collect();
    assert_eq!(
        persons,
        spec.persons.iter().map(String::as_str).collect(),
        "{ctx}: named persons only"
    );
    let albums: BTreeSet<(Vec<String>, String)> = asset
        .albums
        .iter()
        .map(|a| {
            (
                a.folder_path.iter().map(|f| f.to_string()).collect(),
                a.title.to_string(),
            )
        })
        .collect();
    let want_albums: BTreeSet<(Vec<String>, String)> = spec
        .albums
        .iter()
        .map(|id| &lib.albums[id.index()])
        .filter(|a| !a.trashed)
        .map(|a| (a.folder_path.clone(), a.name.clone()))
        .collect();
    assert_eq!(
        albums, want_albums,
        "{ctx}: albums (trashed albums left out)"
    );
    match spec.gps {
        Some((lat, lon)) => {
            assert_eq!(asset.latitude, Some(lat), "{ctx}");
            assert_eq!(asset.longitude, Some(lon), "{ctx}");
        }
        None => assert_eq!(
            (asset.latitude, asset.longitude),
            (None, None),
            "{ctx}: -180 sentinel"
        ),
    }
    // Every file the builder recorded, at the same path, present exactly
    // when it is on disk; and no file the builder did not write.
    let want: BTreeMap<ResourceRole, (PathBuf, bool)> = built
        .resources
        .iter()
        .filter_map(|r| Some((tk_role(r.role)?, (r.path.clone(), r.on_disk))))
        .collect();
    let got: BTreeMap<ResourceRole, (PathBuf, bool)> = asset
        .resources
        .iter()
        .map(|r| (r.role, (r.path.clone().expect("a path"), r.present)))
        .collect();
    assert_eq!(got, want, "{ctx}: resources");
    let original_on_disk = built
        .resource(tk::ResourceRole::Original)
        .is_some_and(|r| r.on_disk);
    assert_eq!(
        asset.original_missing(),
        !original_on_disk,
        "{ctx}: missing"
    );
    assert!(
        asset.problems.is_empty(),
        "{ctx}: unexpected problems {:?}",
        asset.problems
    );
    assert_eq!(asset.fingerprint.len(), 32, "{ctx}");
}

fn check_generation(generation: Generation) {
    let dir = tempfile::tempdir().unwrap();
    let referenced_dir = dir.path().join("Elsewhere");
    std::fs::create_dir_all(&referenced_dir).unwrap();
    let lib = every_kind_of_asset(generation, dir.path(), &referenced_dir);
    let before = tree_state(&lib.path);

    let library = PhotosLibrary::open(&lib.path).expect("open");
    assert!(library.version().photos_version >= 5);
    let snapshot = library.read().expect("read");
    assert_eq!(
        snapshot.assets.len(),
        lib.assets.len(),
        "every asset, burst frames and trash included"
    );
    for built in &lib.assets {
        let asset = snapshot
            .assets
            .iter()
            .find(|a| a.uuid == built.uuid)
            .unwrap_or_else(|| panic!("{} not read", built.spec.original_filename));
        assert_reads_as_built(built, asset, &lib);
    }
    // Albums with their folders and members; the trashed one marked.
    let trip = snapshot
        .albums
        .iter()
        .find(|a| &*a.title == "Trip")
        .expect("Trip album");
    assert_eq!(
        trip.folder_path.iter().map(|f| &**f).collect::<Vec<_>>(),
        ["Travel", "2020"]
    );
    assert_eq!(trip.asset_uuids.len(), 1);
    assert!(snapshot
        .albums
        .iter()
        .any(|a| &*a.title == "Deleted album" && a.trashed));
    assert_eq!(
        snapshot
            .albums
            .iter()
            .find(|a| &*a.title == "Loose")
            .unwrap()
            .asset_uuids
            .len(),
        2
    );
    // Ordered by capture time.
    assert!(snapshot
        .assets
        .windows(2)
        .all(|w| w[0].created <= w[1].created));
    assert!(snapshot.history.is_some_and(|h| h.transaction > 0));
    drop(library);
    assert_eq!(before, tree_state(&lib.path), "reading changed the library");
}

#[test]
fn reads_every_flag_and_resource_of_a_photos5_library() {
    check_generation(Generation::Photos5);
}

#[test]
fn reads_every_flag_and_resource_of_a_modern_library() {
    check_generation(Generation::Modern);
}

#[test]
fn entity_numbers_are_derived_not_assumed() {
    for generation in [Generation::Photos5, Generation::Modern] {
        let dir = tempfile::tempdir().unwrap();
        let mut b = LibraryBuilder::new(generation);
        b.entity_number("Album", 71).entity_number("Keyword", 88);
        let album = b.album("Renumbered", &["Folder"]);
        let mut spec = AssetSpec::photo("IMG_1.JPG", at(0, 2020, 1, 1, 0, 0, 0)).in_album(album);
        spec.keywords = vec!["kw".into()];
        spec.persons = vec!["Carol".into()];
        b.asset(spec);
        let lib = b.build(&dir.path().join("R.photoslibrary")).unwrap();
        let snapshot = PhotosLibrary::open(&lib.path).unwrap().read().unwrap();
        let a = &snapshot.assets[0];
        assert_eq!(&*a.albums[0].title, "Renumbered");
        assert_eq!(&*a.albums[0].folder_path[0], "Folder");
        assert_eq!(&*a.keywords[0], "kw");
        assert_eq!(&*a.persons[0], "Carol");
    }
}

/// Every file's bytes and modification time, and which files exist.
fn tree_state(root: &Path) -> BTreeMap<PathBuf, (Vec<u8>, Option<std::time::SystemTime>)> {
    let mut out = BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(&dir).unwrap() {
            let e = e.unwrap();
            let meta = e.metadata().unwrap();
            if meta.is_dir() {
                stack.push(e.path());
            } else {
                let hash = blake3::hash(&std::fs::read(e.path()).unwrap())
                    .as_bytes()
                    .to_vec();
                out.insert(
                    e.path().strip_prefix(root).unwrap().to_path_buf(),
                    (hash, meta.modified().ok()),
                );
            }
        }
    }
    out
}

/// Holds a library open the way Photos does, from another process: SQLite
/// shares one wal-index mapping per file within a process, so only a
/// separate process shows what a real reader beside Photos does.
#[test]
#[ignore = "helper process started by the WAL test"]
fn hold_library_open_as_another_process() {
    let Ok(path) = std::env::var("PHOTOVAULT_TEST_HOLD") else {
        return;
    };
    let generation = match std::env::var("PHOTOVAULT_TEST_GENERATION").as_deref() {
        Ok("Photos5") => Generation::Photos5,
        _ => Generation::Modern,
    };
    let lib = BuiltLibrary::reopen(Path::new(&path), generation).unwrap();
    let mut writer = lib.open_writer().unwrap();
    let added = writer
        .add_asset(&AssetSpec::photo("IMG_2.JPG", at(0, 2020, 1, 2, 0, 0, 0)))
        .unwrap();
    println!("ready {}", added.uuid);
    // Hold the library until the test closes our standard input.
    let _ = std::io::Read::read_to_end(&mut std::io::stdin(), &mut Vec::new());
    drop(writer);
}

#[test]
fn reads_what_is_only_in_the_wal_while_photos_holds_the_library_and_changes_nothing() {
    use std::io::BufRead;
    use std::process::{Command, Stdio};
    for generation in [Generation::Photos5, Generation::Modern] {
        let dir = tempfile::tempdir().unwrap();
        let mut b = LibraryBuilder::new(generation);
        b.asset(AssetSpec::photo("IMG_1.JPG", at(0, 2020, 1, 1, 0, 0, 0)));
        let lib = b.build(&dir.path().join("W.photoslibrary")).unwrap();
        let first = PhotosLibrary::open(&lib.path).unwrap().read().unwrap();

        let mut holder = Command::new(std::env::current_exe().unwrap())
            .args([
                "--ignored",
                "--exact",
                "hold_library_open_as_another_process",
                "--nocapture",
            ])
            .env("PHOTOVAULT_TEST_HOLD", &lib.path)
            .env("PHOTOVAULT_TEST_GENERATION", format!("{generation:?}"))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut lines = std::io::BufReader::new(holder.stdout.take().unwrap()).lines();
        let added = lines
            .find_map(|l| l.unwrap().strip_prefix("ready ").map(str::to_string))
            .expect("the holder process added an asset");
        let wal = lib.path.join("database/Photos.sqlite-wal");
        assert!(
            wal.metadata().unwrap().len() > 0,
            "the new asset is only in the WAL"
        );
        let before = tree_state(&lib.path);

        let library = PhotosLibrary::open(&lib.path).unwrap();
        assert_eq!(
            library.lock_holder().unwrap().process.as_deref(),
            Some("photolibraryd")
        );
        let second = library.read().unwrap();
        assert!(
            second.assets.iter().any(|a| a.uuid == added),
            "WAL content read"
        );
        assert!(second.history.unwrap().transaction > first.history.unwrap().transaction);
        drop(library);
        assert_eq!(
            before,
            tree_state(&lib.path),
            "not a byte of the library changed ({generation:?})"
        );

        drop(holder.stdin.take());
        assert!(holder.wait().unwrap().success());
    }
}

#[test]
fn fingerprint_follows_originals_edits_and_metadata_only() {
    let dir = tempfile::tempdir().unwrap();
    let mut b = LibraryBuilder::new(Generation::Modern);
    b.asset(AssetSpec::photo("IMG_1.JPG", at(0, 2020, 1, 1, 0, 0, 0)));
    let lib = b.build(&dir.path().join("F.photoslibrary")).unwrap();
    let fp = || {
        PhotosLibrary::open(&lib.path)
            .unwrap()
            .read()
            .unwrap()
            .assets[0]
            .fingerprint
            .clone()
    };
    let start = fp();
    assert_eq!(start, fp(), "stable across reads");
    // A column no backup reflects.
    lib.execute("UPDATE ZADDITIONALASSETATTRIBUTES SET ZVIEWCOUNT = 42")
        .unwrap();
    assert_eq!(start, fp(), "view count is not a change");
    let mut seen = vec![start];
    for change in [
        "UPDATE ZADDITIONALASSETATTRIBUTES SET ZTITLE = 'New title'",
        "UPDATE ZASSET SET ZFAVORITE = 1",
        "UPDATE ZASSET SET ZLATITUDE = 10.5, ZLONGITUDE = 20.5",
        "UPDATE ZASSET SET ZADJUSTMENTSSTATE = 2, ZADJUSTMENTTIMESTAMP = 700000000",
        "UPDATE ZASSET SET ZADJUSTMENTTIMESTAMP = 700000100",
        "UPDATE ZINTERNALRESOURCE SET ZDATALENGTH = ZDATALENGTH + 1 WHERE ZVERSION = 0 AND ZRESOURCETYPE = 0",
        "UPDATE ZASSET SET ZTRASHEDSTATE = 1",
    ] {
        lib.execute(change).unwrap();
        let now = fp();
        assert!(!seen.contains(&now), "fingerprint unchanged after: {change}");
        seen.push(now);
    }
}
