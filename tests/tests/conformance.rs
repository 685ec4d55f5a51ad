//! Conformance with the reference reader: every asset of every real library
//! in `../shared`, field by field, against what osxphotos reported for it.
//!
//! Known, deliberate differences, each handled explicitly below:
//! - osxphotos hides burst frames the user did not select; photovault lists
//!   them (a backup keeps every frame), so they are left out of the comparison.
//! - osxphotos NFC-normalises text; photovault keeps the database's bytes.
//! - osxphotos reports `path: null` with `ismissing: false` for originals
//!   deleted from these copies; for photovault both are "missing".
//! - osxphotos lists unnamed faces as `_UNKNOWN_`; photovault lists named
//!   persons only, once each.
//! - an out-of-range capture time is 1970-01-01 for osxphotos, none for us.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use chrono::{DateTime, FixedOffset};
use photovault_e2e::{copy_tree, photovaultd, shared_libraries, tree_fingerprint};
use serde_json::Value;
use unicode_normalization::UnicodeNormalization;

fn nfc(v: &Value) -> Option<String> {
    v.as_str().map(|s| s.nfc().collect())
}

fn nfc_set(v: &Value) -> BTreeSet<String> {
    v.as_array()
        .map(|a| a.iter().filter_map(nfc).collect())
        .unwrap_or_default()
}

fn date(v: &Value) -> Option<DateTime<FixedOffset>> {
    v.as_str()
        .map(|s| DateTime::parse_from_rfc3339(s).expect("RFC 3339 date"))
}

/// Compares one library; returns the differences found.
fn compare(library: &Path, reference: &Path) -> Vec<String> {
    let out = photovaultd(&[
        "inspect".as_ref(),
        "--library".as_ref(),
        library.as_os_str(),
        "--json".as_ref(),
    ]);
    assert!(
        out.status.success(),
        "inspect failed on {}: {}",
        library.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    let ours: Vec<Value> = serde_json::from_slice(&out.stdout).expect("inspect --json is JSON");
    let theirs: Vec<Value> =
        serde_json::from_slice(&std::fs::read(reference).expect("reference JSON")).expect("JSON");
    let name = library.file_name().unwrap().to_string_lossy().to_string();
    let lib_prefix = format!("/{name}/");
    let mut diffs = Vec::new();

    let ours: BTreeMap<String, &Value> = ours
        .iter()
        .filter(|a| a["burst"].is_null() || a["burst"]["picked"] == Value::Bool(true))
        .map(|a| (a["uuid"].as_str().unwrap().to_string(), a))
        .collect();
    let theirs: BTreeMap<String, &Value> = theirs
        .iter()
        .map(|a| (a["uuid"].as_str().unwrap().to_string(), a))
        .collect();
    let our_ids: BTreeSet<_> = ours.keys().collect();
    let their_ids: BTreeSet<_> = theirs.keys().collect();
    if our_ids != their_ids {
        diffs.push(format!(
            "{name}: asset sets differ: only ours {:?}, only osxphotos {:?}",
            our_ids.difference(&their_ids).collect::<Vec<_>>(),
            their_ids.difference(&our_ids).collect::<Vec<_>>()
        ));
    }
    for (uuid, t) in &theirs {
        let Some(o) = ours.get(uuid) else { continue };
        let mut check = |field: &str, ok: bool, detail: String| {
            if !ok {
                diffs.push(format!("{name} {uuid} {field}: {detail}"));
            }
        };
        check(
            "original_filename",
            nfc(&o["original_filename"]) == nfc(&t["original_filename"]),
            format!("{} vs {}", o["original_filename"], t["original_filename"]),
        );
        let (od, td) = (date(&o["created"]), date(&t["date"]));
        let epoch = DateTime::parse_from_rfc3339("1970-01-01T00:00:00+00:00").unwrap();
        let same_date = match (od, td) {
            (Some(a), Some(b)) => {
                (a.timestamp_micros() - b.timestamp_micros()).abs() <= 1 && a.offset() == b.offset()
            }
            (None, Some(b)) => b == epoch,
            (a, b) => a == b,
        };
        check("date", same_date, format!("{od:?} vs {td:?}"));
        let kind = o["kind"].as_str().unwrap();
        check(
            "isphoto",
            (kind == "photo") == t["isphoto"].as_bool().unwrap(),
            kind.into(),
        );
        check(
            "ismovie",
            (kind == "video") == t["ismovie"].as_bool().unwrap(),
            kind.into(),
        );
        for (ours_key, theirs_key) in [
            ("favorite", "favorite"),
            ("hidden", "hidden"),
            ("trashed", "intrash"),
            ("raw_pair", "has_raw"),
            ("edited", "hasadjustments"),
            ("screenshot", "screenshot"),
            ("live_photo", "live_photo"),
        ] {
            check(
                theirs_key,
                o[ours_key] == t[theirs_key],
                format!("{} vs {}", o[ours_key], t[theirs_key]),
            );
        }
        for key in ["title", "description"] {
            let theirs_text = nfc(&t[key]).filter(|s| !s.is_empty());
            check(
                key,
                nfc(&o[key]) == theirs_text,
                format!("{} vs {}", o[key], t[key]),
            );
        }
        check(
            "keywords",
            nfc_set(&o["keywords"]) == nfc_set(&t["keywords"]),
            format!("{} vs {}", o["keywords"], t["keywords"]),
        );
        check(
            "albums",
            nfc_set(&o["albums"]) == nfc_set(&t["albums"]),
            format!("{} vs {}", o["albums"], t["albums"]),
        );
        let mut their_persons = nfc_set(&t["persons"]);
        their_persons.remove("_UNKNOWN_");
        check(
            "persons",
            nfc_set(&o["persons"]) == their_persons,
            format!("{} vs {}", o["persons"], t["persons"]),
        );
        for key in ["latitude", "longitude"] {
            let same = match (o[key].as_f64(), t[key].as_f64()) {
                (Some(a), Some(b)) => (a - b).abs() < 1e-9,
                (a, b) => a == b,
            };
            check(key, same, format!("{} vs {}", o[key], t[key]));
        }
        if let Some(theirs) = t["shared"].as_bool() {
            check(
                "shared",
                o["shared"].as_bool() == Some(theirs),
                format!("{} vs {theirs}", o["shared"]),
            );
        }
        let their_missing = t["ismissing"].as_bool().unwrap() || t["path"].is_null();
        check(
            "ismissing",
            o["missing"].as_bool().unwrap() == their_missing,
            format!("{} vs {}", o["missing"], their_missing),
        );
        // Paths: where osxphotos found a file, ours must name the same one.
        for (role, key) in [
            ("original", "path"),
            ("edited", "path_edited"),
            ("live_video", "path_live_photo"),
            ("edited_live_video", "path_edited_live_photo"),
            ("raw", "path_raw"),
        ] {
            let Some(their_path) = t[key].as_str() else {
                continue;
            };
            let their_rel = relative(their_path, &lib_prefix);
            let our_path = o["resources"]
                .as_array()
                .unwrap()
                .iter()
                .find(|r| r["role"] == role)
                .and_then(|r| r["path"].as_str().map(str::to_string));
            check(
                key,
                our_path == their_rel,
                format!("{our_path:?} vs {their_rel:?}"),
            );
        }
        if let Some(p) = t["path"].as_str().and_then(|p| relative(p, &lib_prefix)) {
            check(
                "original_path",
                o["original_path"].as_str() == Some(p.as_str()),
                format!("{} vs {}", o["original_path"], p),
            );
        }
    }
    diffs
}

/// A path osxphotos reported, relative to the library: its answers name the
/// library by the absolute path it had where they were made
/// (`/work/ref/libs/<name>/...`) or by a `LIBRARY/` placeholder.
fn relative(their_path: &str, lib_prefix: &str) -> Option<String> {
    their_path
        .strip_prefix("LIBRARY/")
        .or_else(|| their_path.split_once(lib_prefix).map(|(_, rel)| rel))
        .map(str::to_string)
}

#[test]
fn every_fixture_library_matches_osxphotos_field_by_field() {
    let Some(fixtures) = shared_libraries("conformance with osxphotos") else {
        return;
    };
    let work = tempfile::tempdir().unwrap();
    let mut compared = 0;
    let mut diffs = Vec::new();
    for entry in std::fs::read_dir(&fixtures).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "photoslibrary") {
            continue;
        }
        let name = path.file_name().unwrap();
        let reference = fixtures.join(format!(
            "{}.osxphotos-query.json",
            Path::new(name).file_stem().unwrap().to_string_lossy()
        ));
        // A copy, so that a bug can never damage the shared fixtures.
        let copy = work.path().join(name);
        copy_tree(&path, &copy).unwrap();
        let before = tree_fingerprint(&copy);
        diffs.extend(compare(&copy, &reference));
        assert_eq!(
            before,
            tree_fingerprint(&copy),
            "reading {} changed the library",
            name.to_string_lossy()
        );
        compared += 1;
    }
    assert!(
        compared >= 5,
        "expected the five fixture libraries, found {compared}"
    );
    assert!(
        diffs.is_empty(),
        "{} differences from osxphotos:\n{}",
        diffs.len(),
        diffs.join("\n")
    );
}
