//! `photovaultd inspect` as a user and a script run it: the real binary on a
//! library the test builds.

use std::path::Path;

use photovault_e2e::photovaultd;
use photovault_testkit::{at, AssetSpec, Generation, LibraryBuilder};
use serde_json::Value;

fn demo_library(dir: &Path) -> std::path::PathBuf {
    let mut b = LibraryBuilder::new(Generation::Modern);
    let album = b.album("Paris", &["Travel"]);
    let mut photo =
        AssetSpec::photo("IMG_0001.JPG", at(2, 2020, 6, 15, 12, 34, 56)).in_album(album);
    photo.title = Some("Tower".into());
    photo.keywords = vec!["travel".into()];
    photo.persons = vec!["Alice".into()];
    photo.gps = Some((48.8584, 2.2945));
    photo.raw_pair = true;
    photo.edited = true;
    b.asset(photo);
    b.asset(AssetSpec::live(
        "IMG_0002.HEIC",
        at(-5, 2021, 1, 2, 3, 4, 5),
    ));
    let mut cloud = AssetSpec::video("IMG_0003.MOV", at(0, 2022, 1, 1, 0, 0, 0));
    cloud.original_present = false;
    b.asset(cloud);
    let mut trashed = AssetSpec::photo("IMG_0004.JPG", at(0, 2023, 1, 1, 0, 0, 0));
    trashed.trashed = Some(chrono::Utc::now());
    b.asset(trashed);
    let path = dir.join("Demo.photoslibrary");
    b.build(&path).unwrap();
    path
}

#[test]
fn json_lists_every_asset_with_the_documented_keys() {
    let dir = tempfile::tempdir().unwrap();
    let lib = demo_library(dir.path());
    let out = photovaultd(&[
        "inspect".as_ref(),
        "--library".as_ref(),
        lib.as_os_str(),
        "--json".as_ref(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let assets: Vec<Value> = serde_json::from_slice(&out.stdout).expect("a JSON array");
    assert_eq!(assets.len(), 4, "trashed assets included");
    for key in [
        "uuid",
        "original_filename",
        "created",
        "kind",
        "favorite",
        "hidden",
        "trashed",
        "title",
        "description",
        "keywords",
        "albums",
        "persons",
        "latitude",
        "longitude",
        "live_photo",
        "raw_pair",
        "edited",
        "screenshot",
        "missing",
        "original_path",
    ] {
        assert!(
            assets.iter().all(|a| a.get(key).is_some()),
            "key {key} missing"
        );
    }
    let first = assets
        .iter()
        .find(|a| a["original_filename"] == "IMG_0001.JPG")
        .unwrap();
    assert_eq!(first["created"], "2020-06-15T12:34:56+02:00");
    assert_eq!(first["kind"], "photo");
    assert_eq!(first["albums"], serde_json::json!(["Paris"]));
    assert_eq!(
        first["album_folders"]["Paris"],
        serde_json::json!(["Travel"])
    );
    assert_eq!(first["keywords"], serde_json::json!(["travel"]));
    assert_eq!(first["persons"], serde_json::json!(["Alice"]));
    assert_eq!(first["raw_pair"], true);
    assert_eq!(first["edited"], true);
    assert_eq!(first["latitude"], 48.8584);
    assert!(first["original_path"]
        .as_str()
        .unwrap()
        .starts_with("originals/"));
    let cloud = assets
        .iter()
        .find(|a| a["original_filename"] == "IMG_0003.MOV")
        .unwrap();
    assert_eq!(cloud["kind"], "video");
    assert_eq!(cloud["missing"], true);
    assert_eq!(cloud["latitude"], Value::Null);
    assert!(assets.iter().any(|a| a["trashed"] == true));
    assert!(assets.iter().any(|a| a["live_photo"] == true));
}

#[test]
fn summary_tells_version_counts_missing_and_albums() {
    let dir = tempfile::tempdir().unwrap();
    let lib = demo_library(dir.path());
    let out = photovaultd(&["inspect".as_ref(), "--library".as_ref(), lib.as_os_str()]);
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("Photos:    10 (macOS 15)"), "{text}");
    assert!(text.contains("Assets:    3 (2 photos, 1 video)"), "{text}");
    assert!(text.contains("1 in Recently Deleted"), "{text}");
    assert!(text.contains("Missing originals: 1"), "{text}");
    assert!(text.contains("IMG_0003.MOV"), "{text}");
    assert!(text.contains("Travel / Paris (1)"), "{text}");
}

#[test]
fn errors_say_what_happened_and_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    let out = photovaultd(&[
        "inspect".as_ref(),
        "--library".as_ref(),
        dir.path().as_os_str(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("is not a Photos library"), "{err}");
    assert!(err.contains("choose the .photoslibrary package"), "{err}");
    assert!(out.stdout.is_empty());
}

#[test]
fn every_command_has_help() {
    for args in [vec!["--help"], vec!["inspect", "--help"], vec!["--version"]] {
        let argv: Vec<&std::ffi::OsStr> = args.iter().map(|a| a.as_ref()).collect();
        let out = photovaultd(&argv);
        assert!(out.status.success(), "photovaultd {args:?}");
        assert!(!out.stdout.is_empty());
    }
    let out = std::process::Command::new(photovault_e2e::bin("photovaultctl"))
        .arg("--help")
        .output()
        .unwrap();
    assert!(out.status.success());
}
