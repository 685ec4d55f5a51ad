//! The library reader on testkit libraries with the shapes real ones have
//! (issue 12): RAW+JPEG pairs whose RAW type names no extension, originals
//! missing because iCloud keeps them, many bursts, folders of 6,000+
//! files, and iCloud Shared Album items under `cloudsharing/data/`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use photovault::library::{Asset, LibrarySnapshot, PhotosLibrary, ResourceRole};
use photovault_testkit as tk;
use tk::{
    at, AssetSpec, BuiltLibrary, CloudSharingLayout, Generation, LibraryBuilder, RawTypeCode,
};

const GENERATIONS: [Generation; 2] = [Generation::Photos5, Generation::Modern];

fn read(lib: &BuiltLibrary) -> LibrarySnapshot {
    PhotosLibrary::open(&lib.path)
        .expect("open")
        .read()
        .expect("read")
}

fn by_uuid(snapshot: &LibrarySnapshot) -> BTreeMap<&str, &Asset> {
    snapshot
        .assets
        .iter()
        .map(|a| (a.uuid.as_str(), a))
        .collect()
}

fn resource(asset: &Asset, role: ResourceRole) -> Option<(PathBuf, bool)> {
    asset
        .resources
        .iter()
        .find(|r| r.role == role)
        .map(|r| (r.path.clone().expect("a path"), r.present))
}

fn built_path(built: &tk::BuiltAsset, role: tk::ResourceRole) -> PathBuf {
    built.resource(role).expect("built resource").path.clone()
}

#[test]
fn raw_alternates_of_every_type_code_are_found_beside_their_jpeg() {
    for generation in GENERATIONS {
        let dir = tempfile::tempdir().unwrap();
        let mut b = LibraryBuilder::new(generation);
        // One folder, so the RAWs share it with many other files.
        b.originals_folders(1);
        let mut pairs = Vec::new();
        for (i, ext) in ["dng", "nef", "arw", "cr2"].into_iter().enumerate() {
            let mut codes = vec![RawTypeCode::Unknown];
            if generation == Generation::Photos5 || ext == "dng" {
                codes.push(RawTypeCode::Known);
            }
            for (j, code) in codes.into_iter().enumerate() {
                let name = format!("DSC_{i}{j}.JPG");
                let spec = AssetSpec::photo(&name, at(1, 2021, 5, 1, 10, i as u32, j as u32))
                    .with_raw(ext, code);
                pairs.push((b.asset(spec), ext, code));
            }
        }
        let mut default = AssetSpec::photo("IMG_PAIR.JPG", at(0, 2021, 5, 2, 0, 0, 0));
        default.raw_pair = true;
        pairs.push((b.asset(default), "cr2", RawTypeCode::Unknown));
        for i in 0..200 {
            b.asset(AssetSpec::photo(
                &format!("IMG_{i:04}.JPG"),
                at(0, 2021, 6, 1, 0, 0, i % 60),
            ));
        }
        let lib = b.build(&dir.path().join("Raw.photoslibrary")).unwrap();
        let snapshot = read(&lib);
        let assets = by_uuid(&snapshot);
        for (index, ext, code) in pairs {
            let built = &lib.assets[index];
            let ctx = format!("{generation:?} .{ext} {code:?}");
            let want = built_path(built, tk::ResourceRole::Raw);
            assert!(
                want.to_string_lossy()
                    .ends_with(&format!("{}_4.{ext}", built.uuid)),
                "{ctx}: {want:?}"
            );
            assert!(lib.absolute(&want).is_file(), "{ctx}: written");
            let asset = assets[built.uuid.as_str()];
            assert_eq!(
                resource(asset, ResourceRole::Raw),
                Some((want, true)),
                "{ctx}: the reader finds the RAW"
            );
            assert!(asset.problems.is_empty(), "{ctx}: {:?}", asset.problems);
        }
    }
}

#[test]
fn raw_type_codes_no_real_library_has_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let mut b = LibraryBuilder::new(Generation::Modern);
    b.asset(
        AssetSpec::photo("DSC_1.JPG", at(0, 2021, 1, 1, 0, 0, 0))
            .with_raw("nef", RawTypeCode::Known),
    );
    assert!(b.build(&dir.path().join("No.photoslibrary")).is_err());
}

#[test]
fn originals_missing_at_a_fraction_read_as_missing() {
    for generation in GENERATIONS {
        let dir = tempfile::tempdir().unwrap();
        let mut b = LibraryBuilder::new(generation);
        b.missing_originals(0.3);
        for i in 0..100u32 {
            let created = at(0, 2022, 1 + i % 12, 1 + i % 28, 12, 0, 0);
            let name = format!("IMG_{i:04}.HEIC");
            let spec = match i % 4 {
                0 => AssetSpec::live(&name, created),
                1 => AssetSpec::video(&format!("IMG_{i:04}.MOV"), created),
                _ => AssetSpec::photo(&name, created),
            };
            b.asset(spec);
        }
        let lib = b.build(&dir.path().join("Missing.photoslibrary")).unwrap();
        let missing: BTreeSet<&str> = lib
            .assets
            .iter()
            .filter(|a| !a.spec.original_present)
            .map(|a| a.uuid.as_str())
            .collect();
        assert_eq!(missing.len(), 30, "{generation:?}: exactly the fraction");
        for built in lib.assets.iter().filter(|a| !a.spec.original_present) {
            for r in built.resources.iter() {
                let thumbnail = r.role == tk::ResourceRole::Thumbnail;
                assert_eq!(
                    r.on_disk, thumbnail,
                    "{:?}: no file but the thumbnail",
                    r.role
                );
                assert!(!lib.absolute(&r.path).exists() || thumbnail);
            }
        }
        let snapshot = read(&lib);
        assert_eq!(snapshot.assets.len(), 100);
        for asset in &snapshot.assets {
            let is_missing = missing.contains(asset.uuid.as_str());
            assert_eq!(
                asset.original_missing(),
                is_missing,
                "{generation:?} {}",
                asset.original_filename
            );
            if is_missing {
                assert!(
                    asset.resources.iter().all(|r| !r.present),
                    "{generation:?}: no resource of a cloud-only asset is present"
                );
            }
        }
    }
}

#[test]
fn many_bursts_read_with_their_key_frames() {
    for generation in GENERATIONS {
        let dir = tempfile::tempdir().unwrap();
        let mut b = LibraryBuilder::new(generation);
        let mut bursts = Vec::new();
        for i in 0..40u32 {
            let first = AssetSpec::photo(
                &format!("IMG_{:04}.JPG", i * 10),
                at(2, 2023, 3, 1 + i % 28, 9, i % 60, 0),
            );
            bursts.push(b.burst(first, 6));
        }
        let lib = b.build(&dir.path().join("Bursts.photoslibrary")).unwrap();
        let snapshot = read(&lib);
        let assets = by_uuid(&snapshot);
        let mut ids = BTreeSet::new();
        for frames in &bursts {
            let first = &lib.assets[frames[0]];
            let id = &first.spec.burst.as_ref().unwrap().uuid;
            assert!(ids.insert(id.clone()), "a fresh burst id per burst");
            for (k, &index) in frames.iter().enumerate() {
                let built = &lib.assets[index];
                let asset = assets[built.uuid.as_str()];
                let burst = asset.burst.as_ref().expect("a burst member");
                assert_eq!(&burst.id, id, "{generation:?}");
                assert_eq!(burst.key, k == 0, "{generation:?}: the first is the key");
                assert_eq!(burst.picked, k == 0, "{generation:?}");
                assert_eq!(asset.original_filename, built.spec.original_filename);
                let created = asset.created.unwrap();
                let off = (created - built.spec.created).num_microseconds().unwrap();
                assert!(off.abs() < 1000, "{generation:?}: frame time {off} µs off");
                assert_eq!(
                    resource(asset, ResourceRole::Original).map(|r| r.1),
                    Some(true)
                );
            }
        }
        assert_eq!(snapshot.assets.len(), 240);
    }
}

/// Names of the files in `dir`.
fn file_count(dir: &Path) -> usize {
    std::fs::read_dir(dir)
        .unwrap()
        .filter(|e| e.as_ref().unwrap().file_type().unwrap().is_file())
        .count()
}

#[test]
fn a_folder_of_more_than_6000_originals_reads_whole() {
    let dir = tempfile::tempdir().unwrap();
    let mut b = LibraryBuilder::new(Generation::Modern);
    b.originals_folders(1);
    let n = 4_000u32;
    for i in 0..n {
        let mut spec = AssetSpec::photo(&format!("IMG_{i:05}.JPG"), at(0, 2020, 1, 1, 0, 0, 0));
        spec.width = 64;
        spec.height = 48;
        // A RAW beside every other JPEG: 7,334 files with the live videos, and every RAW looked
        // up by stem in the one listing.
        if i % 2 == 0 {
            spec = spec.with_raw("nef", RawTypeCode::Unknown);
        }
        spec.live_photo = i % 3 == 0;
        b.asset(spec);
    }
    let lib = b.build(&dir.path().join("Big.photoslibrary")).unwrap();
    let folder = lib.path.join("originals/0");
    let files = file_count(&folder);
    assert!(files > 6_000, "{files} files in originals/0");
    assert_eq!(
        std::fs::read_dir(lib.path.join("originals"))
            .unwrap()
            .count(),
        1
    );
    let snapshot = read(&lib);
    assert_eq!(snapshot.assets.len(), n as usize);
    let assets = by_uuid(&snapshot);
    let mut seen = 0;
    for built in &lib.assets {
        let asset = assets[built.uuid.as_str()];
        for r in &asset.resources {
            assert!(r.present, "{:?} of {} present", r.role, built.uuid);
            seen += 1;
        }
        if built.spec.has_raw() {
            assert_eq!(
                resource(asset, ResourceRole::Raw).unwrap().0,
                built_path(built, tk::ResourceRole::Raw)
            );
        }
    }
    assert_eq!(seen, files, "every file in the folder is some asset's");
}

#[test]
fn by_default_originals_spread_over_sixteen_folders_as_photos_names_them() {
    let dir = tempfile::tempdir().unwrap();
    let mut b = LibraryBuilder::new(Generation::Modern);
    b.with_media(false);
    for i in 0..1_600u32 {
        b.asset(AssetSpec::photo(
            &format!("IMG_{i:04}.JPG"),
            at(0, 2020, 1, 1, 0, 0, 0),
        ));
    }
    let lib = b.build(&dir.path().join("Spread.photoslibrary")).unwrap();
    let mut per_folder: BTreeMap<char, usize> = BTreeMap::new();
    for a in &lib.assets {
        *per_folder
            .entry(a.uuid.chars().next().unwrap())
            .or_default() += 1;
        let original = built_path(a, tk::ResourceRole::Original);
        assert_eq!(
            original.parent().unwrap(),
            Path::new("originals").join(&a.uuid[..1])
        );
    }
    assert_eq!(per_folder.len(), 16, "{per_folder:?}");
    assert!(
        per_folder.values().all(|&n| (50..=150).contains(&n)),
        "{per_folder:?}"
    );
    let snapshot = read(&lib);
    for asset in &snapshot.assets {
        let (path, _) = resource(asset, ResourceRole::Original).unwrap();
        assert_eq!(
            path,
            built_path(lib.asset(&asset.uuid).unwrap(), tk::ResourceRole::Original)
        );
    }
}

/// A library with one shared album holding a photo and a video.
fn shared_library(generation: Generation, layout: CloudSharingLayout, dir: &Path) -> BuiltLibrary {
    let mut b = LibraryBuilder::new(generation);
    b.cloud_sharing(layout);
    let album = b.shared_album("Family", "Rhet Turnbull");
    b.asset(AssetSpec::photo("IMG_0001.JPG", at(0, 2020, 1, 1, 0, 0, 0)));
    b.asset(AssetSpec::photo("IMG_0002.JPG", at(1, 2020, 2, 1, 0, 0, 0)).shared_in(album));
    b.asset(AssetSpec::video("IMG_0003.MP4", at(1, 2020, 2, 2, 0, 0, 0)).shared_in(album));
    b.build(&dir.join("Shared.photoslibrary")).unwrap()
}

#[test]
fn the_testkit_stores_shared_album_items_as_the_fixture_does() {
    for generation in GENERATIONS {
        for layout in [CloudSharingLayout::Resources, CloudSharingLayout::Scopes] {
            let dir = tempfile::tempdir().unwrap();
            let lib = shared_library(generation, layout, dir.path());
            let shared = lib.albums[0].shared.as_ref().expect("a shared album");
            let data = shared.data_folder(layout);
            assert!(lib.absolute(&data.join("Info.plist")).is_file());
            let photo = &lib.assets[1];
            assert_eq!(
                built_path(photo, tk::ResourceRole::Original),
                data.join(format!("{}.JPG", photo.uuid))
            );
            let video = &lib.assets[2];
            assert_eq!(
                built_path(video, tk::ResourceRole::Original),
                data.join(format!("{}.medium.MP4", video.uuid))
            );
            assert!(lib
                .absolute(&data.join(format!("{}.poster.JPG", video.uuid)))
                .is_file());
            assert!(!lib
                .path
                .join("originals")
                .join(&photo.uuid[..1])
                .join(format!("{}.JPG", photo.uuid))
                .exists());
        }
    }
}

#[test]
fn shared_album_items_resolve_under_cloudsharing_data_in_both_layouts() {
    for generation in GENERATIONS {
        for layout in [CloudSharingLayout::Resources, CloudSharingLayout::Scopes] {
            let ctx = format!("{generation:?} {layout:?}");
            let dir = tempfile::tempdir().unwrap();
            let lib = shared_library(generation, layout, dir.path());
            let snapshot = read(&lib);
            assert_eq!(snapshot.assets.len(), 3, "{ctx}");
            let assets = by_uuid(&snapshot);
            for built in &lib.assets[1..] {
                let asset = assets[built.uuid.as_str()];
                assert_eq!(
                    resource(asset, ResourceRole::Original),
                    Some((built_path(built, tk::ResourceRole::Original), true)),
                    "{ctx}: {}",
                    built.spec.original_filename
                );
                assert!(!asset.original_missing(), "{ctx}");
                assert!(asset.problems.is_empty(), "{ctx}: {:?}", asset.problems);
                assert_eq!(
                    asset.original_filename, built.spec.original_filename,
                    "{ctx}"
                );
            }
            let local = assets[lib.assets[0].uuid.as_str()];
            assert!(!local.original_missing(), "{ctx}: the library's own photo");
        }
    }
}
