//! `photovaultd export` end to end: the real binary exporting libraries the
//! tests build, checked file by file against the library, then changed and
//! exported again.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use photovault_e2e::history;
use photovault_e2e::{export, export_ok, photovaultd};
use photovault_testkit::{at, AssetSpec, BuiltLibrary, Generation, LibraryBuilder};
use serde_json::Value;

/// Every file under `root` except photovault's own folder: path -> (bytes
/// hash, modification time, inode).
fn export_tree(root: &Path) -> BTreeMap<PathBuf, (String, std::time::SystemTime, u64)> {
    use std::os::unix::fs::MetadataExt;
    let mut out = BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for e in entries {
            let e = e.unwrap();
            let rel = e.path().strip_prefix(root).unwrap().to_path_buf();
            if rel.starts_with(".photovault") {
                continue;
            }
            let m = e.metadata().unwrap();
            if m.is_dir() {
                stack.push(e.path());
            } else {
                let hash = blake3::hash(&std::fs::read(e.path()).unwrap())
                    .to_hex()
                    .to_string();
                out.insert(rel, (hash, m.modified().unwrap(), m.ino()));
            }
        }
    }
    out
}

fn files_under(root: &Path, sub: &str) -> Vec<PathBuf> {
    export_tree(root)
        .into_keys()
        .filter(|p| p.starts_with(sub))
        .collect()
}

fn library(dir: &Path, generation: Generation) -> BuiltLibrary {
    let mut b = LibraryBuilder::new(generation);
    let album = b.album("Trip", &["Travel"]);
    let mut a = AssetSpec::photo("IMG_0001.JPG", at(2, 2020, 6, 15, 12, 34, 56)).in_album(album);
    a.title = Some("Tower".into());
    a.keywords = vec!["travel".into()];
    a.persons = vec!["Alice".into()];
    a.gps = Some((48.8584, 2.2945));
    a.favorite = true;
    a.edited = true;
    a.raw_pair = true;
    a.aae = true;
    b.asset(a);
    let mut live = AssetSpec::live("IMG_0002.HEIC", at(-5, 2020, 12, 31, 23, 30, 0));
    live.edited = true;
    live.hidden = true;
    b.asset(live);
    b.asset(AssetSpec::video("IMG_0003.MOV", at(0, 2021, 1, 1, 0, 0, 0)));
    // Same name, same month: deterministic second name.
    b.asset(AssetSpec::photo(
        "IMG_0001.JPG",
        at(2, 2020, 6, 16, 8, 0, 0),
    ));
    let mut cloud = AssetSpec::photo("IMG_CLOUD.HEIC", at(0, 2021, 2, 2, 0, 0, 0));
    cloud.original_present = false;
    b.asset(cloud);
    let mut trashed = AssetSpec::photo("IMG_TRASH.JPG", at(0, 2021, 3, 3, 0, 0, 0));
    trashed.trashed = Some(chrono::Utc::now());
    b.asset(trashed);
    b.build(&dir.join("L.photoslibrary")).unwrap()
}

#[test]
fn first_export_writes_every_file_by_content_and_a_second_writes_nothing() {
    for generation in [Generation::Photos5, Generation::Modern] {
        let dir = tempfile::tempdir().unwrap();
        let lib = library(dir.path(), generation);
        let dest = dir.path().join("Backup");
        let summary = export_ok(&lib.path, &dest, &[]);
        assert_eq!(summary["exported"], 4, "{summary}");
        assert_eq!(summary["missing"], 1, "the cloud-only original is reported");
        assert_eq!(summary["errors"], 0);

        // Every file of every non-trashed asset, by content.
        for built in lib.assets.iter().filter(|a| a.spec.trashed.is_none()) {
            for r in built.resources.iter().filter(|r| r.on_disk) {
                if r.role == photovault_testkit::ResourceRole::Thumbnail {
                    continue;
                }
                let want = std::fs::read(lib.absolute(&r.path)).unwrap();
                let found = export_tree(&dest)
                    .into_iter()
                    .any(|(_, (hash, _, _))| hash == blake3::hash(&want).to_hex().to_string());
                assert!(
                    found,
                    "{:?} of {} not exported",
                    r.role, built.spec.original_filename
                );
            }
        }
        let tree = export_tree(&dest);
        let names: Vec<String> = tree
            .keys()
            .map(|p| p.to_string_lossy().into_owned())
            .collect();
        for want in [
            "Export/2020/2020-06/IMG_0001.JPG",
            "Export/2020/2020-06/IMG_0001_edited.jpeg",
            "Export/2020/2020-06/IMG_0001.cr2",
            "Export/2020/2020-06/IMG_0001.aae",
            "Export/2020/2020-06/IMG_0001_edited.aae",
            "Export/2020/2020-06/IMG_0001.xmp",
            "Export/2020/2020-06/IMG_0001 (1).JPG",
            "Export/2020/2020-12/IMG_0002.HEIC",
            "Export/2020/2020-12/IMG_0002.mov",
            "Export/2020/2020-12/IMG_0002_edited.mov",
            "Export/2021/2021-01/IMG_0003.MOV",
        ] {
            assert!(
                names.iter().any(|n| n == want),
                "{want} missing from {names:#?}"
            );
        }
        assert!(
            !names.iter().any(|n| n.contains("IMG_TRASH")),
            "trashed assets are not exported"
        );
        assert!(
            !names.iter().any(|n| n.contains(".photovault-tmp")),
            "no temporary file left"
        );
        // File times are capture times.
        let (_, mtime, _) = &tree[Path::new("Export/2020/2020-06/IMG_0001.JPG")];
        let want: std::time::SystemTime = at(2, 2020, 6, 15, 12, 34, 56).into();
        assert_eq!(*mtime, want);

        // Second run: nothing written, no file touched.
        let again = export_ok(&lib.path, &dest, &[]);
        assert_eq!(again["bytes"], 0, "{again}");
        assert_eq!(again["exported"], 0);
        assert_eq!(again["updated"], 0);
        assert_eq!(again["unchanged"], 4);
        assert_eq!(tree, export_tree(&dest), "the second run changed files");
        // And with --check, still nothing to do.
        let checked = export_ok(&lib.path, &dest, &["--check"]);
        assert_eq!(checked["bytes"], 0, "{checked}");
        assert_eq!(tree, export_tree(&dest));
    }
}

#[test]
fn changes_in_the_library_rewrite_exactly_what_changed_and_lose_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let lib = library(dir.path(), Generation::Modern);
    let dest = dir.path().join("Backup");
    export_ok(&lib.path, &dest, &[]);
    let before = export_tree(&dest);

    // A new asset (committed while a writer holds the library: only in the WAL).
    {
        let mut w = lib.open_writer().unwrap();
        w.add_asset(&AssetSpec::photo("IMG_NEW.JPG", at(0, 2022, 5, 5, 5, 5, 5)))
            .unwrap();
    }
    // A keyword change on the first asset: only its sidecar changes.
    let first = &lib.assets[0].uuid;
    lib.execute(&format!(
        "UPDATE ZADDITIONALASSETATTRIBUTES SET ZTITLE = 'New title' WHERE ZASSET = (SELECT Z_PK FROM ZASSET WHERE ZUUID = '{first}')"
    ))
    .unwrap();
    // The video goes to Recently Deleted; the second IMG_0001 is deleted outright.
    let video = &lib.assets[2].uuid;
    let deleted = &lib.assets[3].uuid;
    lib.execute(&format!(
        "UPDATE ZASSET SET ZTRASHEDSTATE = 1 WHERE ZUUID = '{video}'"
    ))
    .unwrap();
    // Photos records its changes in the history, as the writer above does;
    // the plain SQL here needs them recorded by hand.
    let pk = |uuid: &str| format!("SELECT Z_PK FROM ZASSET WHERE ZUUID = '{uuid}'");
    photovault_e2e::history::record(
        &lib,
        &[
            ("Asset", &pk(first), history::UPDATE),
            ("Asset", &pk(video), history::UPDATE),
            ("Asset", &pk(deleted), history::DELETE),
        ],
    );
    lib.execute(&format!("DELETE FROM ZASSET WHERE ZUUID = '{deleted}'"))
        .unwrap();

    let summary = export_ok(&lib.path, &dest, &[]);
    assert_eq!(summary["exported"], 1, "{summary}");
    assert_eq!(summary["updated"], 1, "{summary}");
    assert_eq!(summary["gone"], 2, "{summary}");
    let after = export_tree(&dest);
    let changed: Vec<&PathBuf> = before
        .iter()
        .filter(|(p, v)| after.get(*p) != Some(v))
        .map(|(p, _)| p)
        .collect();
    assert_eq!(
        changed,
        vec![Path::new("Export/2020/2020-06/IMG_0001.xmp")],
        "only the sidecar changed"
    );
    let xmp = std::fs::read_to_string(dest.join("Export/2020/2020-06/IMG_0001.xmp")).unwrap();
    assert!(xmp.contains("New title"));
    // The replaced sidecar is kept under Versions/.
    let versions = files_under(&dest, "Versions");
    assert_eq!(versions.len(), 1, "{versions:?}");
    assert!(versions[0].ends_with("Export/2020/2020-06/IMG_0001.xmp"));
    // Deleted and trashed assets keep their files.
    assert!(after.contains_key(Path::new("Export/2021/2021-01/IMG_0003.MOV")));
    assert!(after.contains_key(Path::new("Export/2020/2020-06/IMG_0001 (1).JPG")));
    assert!(after.keys().any(|p| p.ends_with("IMG_NEW.JPG")));
}

#[test]
fn a_missing_original_is_exported_once_it_is_on_disk() {
    let dir = tempfile::tempdir().unwrap();
    let lib = library(dir.path(), Generation::Modern);
    let dest = dir.path().join("Backup");
    let first = export_ok(&lib.path, &dest, &[]);
    assert_eq!(first["missing_assets"][0]["filename"], "IMG_CLOUD.HEIC");
    // "Download" the original: put the file where Photos keeps it.
    let cloud = lib
        .assets
        .iter()
        .find(|a| a.spec.original_filename == "IMG_CLOUD.HEIC")
        .unwrap();
    let original = cloud
        .resource(photovault_testkit::ResourceRole::Original)
        .unwrap();
    let target = lib.absolute(&original.path);
    std::fs::create_dir_all(target.parent().unwrap()).unwrap();
    std::fs::write(&target, b"now downloaded").unwrap();
    let second = export_ok(&lib.path, &dest, &[]);
    assert_eq!(second["missing"], 0, "{second}");
    assert!(export_tree(&dest)
        .keys()
        .any(|p| p.ends_with("IMG_CLOUD.HEIC")));
}

#[test]
fn dry_run_writes_nothing_at_all() {
    let dir = tempfile::tempdir().unwrap();
    let lib = library(dir.path(), Generation::Modern);
    let dest = dir.path().join("Backup");
    let plan = export_ok(&lib.path, &dest, &["--dry-run"]);
    assert_eq!(plan["dry_run"], true);
    assert!(plan["files"].as_array().unwrap().len() >= 10, "{plan}");
    assert!(!dest.exists(), "a dry run created the destination");
    // On an existing destination too.
    export_ok(&lib.path, &dest, &[]);
    lib.execute("UPDATE ZADDITIONALASSETATTRIBUTES SET ZTITLE = 'x'")
        .unwrap();
    let before = std::fs::read_dir(dest.join(".photovault")).unwrap().count();
    let tree = export_tree(&dest);
    let catalog = std::fs::read(dest.join(".photovault/catalog.sqlite")).unwrap();
    let plan = export_ok(&lib.path, &dest, &["--dry-run"]);
    assert!(!plan["files"].as_array().unwrap().is_empty());
    assert_eq!(tree, export_tree(&dest));
    assert_eq!(
        catalog,
        std::fs::read(dest.join(".photovault/catalog.sqlite")).unwrap()
    );
    assert_eq!(
        before,
        std::fs::read_dir(dest.join(".photovault")).unwrap().count()
    );
}

#[test]
fn a_foreign_folder_is_refused_unless_enrolled() {
    let dir = tempfile::tempdir().unwrap();
    let lib = library(dir.path(), Generation::Modern);
    let dest = dir.path().join("Documents");
    std::fs::create_dir(&dest).unwrap();
    std::fs::write(dest.join("taxes.pdf"), b"keep me").unwrap();
    let out = export(&lib.path, &dest, &[]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("not a photovault destination") && err.contains("--init"),
        "{err}"
    );
    assert!(!dest.join("Export").exists());
    export_ok(&lib.path, &dest, &["--init"]);
    assert_eq!(std::fs::read(dest.join("taxes.pdf")).unwrap(), b"keep me");
}

#[test]
fn check_recopies_a_deleted_or_damaged_file() {
    let dir = tempfile::tempdir().unwrap();
    let lib = library(dir.path(), Generation::Modern);
    let dest = dir.path().join("Backup");
    export_ok(&lib.path, &dest, &[]);
    let original = dest.join("Export/2020/2020-06/IMG_0001.JPG");
    let good = std::fs::read(&original).unwrap();
    std::fs::remove_file(&original).unwrap();
    std::fs::write(dest.join("Export/2021/2021-01/IMG_0003.MOV"), b"truncated").unwrap();
    // Without --check the catalog is trusted: nothing to do.
    assert_eq!(export_ok(&lib.path, &dest, &[])["bytes"], 0);
    let summary = export_ok(&lib.path, &dest, &["--check"]);
    assert_eq!(summary["updated"], 2, "{summary}");
    assert_eq!(std::fs::read(&original).unwrap(), good);
    assert!(
        std::fs::read(dest.join("Export/2021/2021-01/IMG_0003.MOV"))
            .unwrap()
            .len()
            > 9
    );
}

#[test]
fn hostile_and_clashing_names_stay_inside_and_apart() {
    let dir = tempfile::tempdir().unwrap();
    let mut b = LibraryBuilder::new(Generation::Modern);
    let when = at(0, 2020, 1, 1, 0, 0, 0);
    for name in [
        "../../etc/passwd.JPG",
        "/etc/shadow.JPG",
        "a:b?c*d\"e<f>g|h.JPG",
        "trailing dots... .JPG",
        &format!("{}.JPG", "ü".repeat(200)),
        "CASE.JPG",
        "case.jpg",
        "tab\tand\u{7}bell.JPG",
    ] {
        b.asset(AssetSpec::photo(name, when));
    }
    let lib = b.build(&dir.path().join("H.photoslibrary")).unwrap();
    let dest = dir.path().join("Backup");
    let summary = export_ok(&lib.path, &dest, &[]);
    assert_eq!(summary["exported"], 8, "{summary}");
    assert!(!dir.path().join("etc").exists());
    let tree = export_tree(&dest);
    let originals: Vec<&PathBuf> = tree
        .keys()
        .filter(|p| !p.to_string_lossy().ends_with(".xmp"))
        .collect();
    assert_eq!(originals.len(), 8, "{originals:#?}");
    let mut lower = std::collections::HashSet::new();
    for p in tree.keys() {
        assert!(p.starts_with("Export/2020/2020-01"), "{p:?}");
        let name = p.file_name().unwrap().to_string_lossy();
        assert!(name.len() <= 255, "{name}");
        assert!(
            !name
                .chars()
                .any(|c| ":?*\"<>|\\".contains(c) || c.is_control()),
            "{name}"
        );
        assert!(!name.ends_with('.') && !name.ends_with(' '));
        assert!(
            lower.insert(name.to_lowercase()),
            "two names differ only in case: {name}"
        );
    }
}

#[test]
fn the_fixture_libraries_export_every_present_original() {
    let Some(fixtures) = photovault_e2e::shared_libraries("export of the fixture libraries") else {
        return;
    };
    let work = tempfile::tempdir().unwrap();
    for name in ["Test-10.15.7", "Test-15.4.1", "Test-Media-Types-15.7.2"] {
        let copy = work.path().join(format!("{name}.photoslibrary"));
        photovault_e2e::copy_tree(&fixtures.join(format!("{name}.photoslibrary")), &copy).unwrap();
        let dest = work.path().join(format!("{name}-backup"));
        let summary = export_ok(&copy, &dest, &[]);
        let inspect = photovaultd(&[
            "inspect".as_ref(),
            "--library".as_ref(),
            copy.as_os_str(),
            "--json".as_ref(),
        ]);
        let assets: Vec<Value> = serde_json::from_slice(&inspect.stdout).unwrap();
        let hashes: std::collections::HashSet<String> = export_tree(&dest)
            .into_values()
            .map(|(h, _, _)| h)
            .collect();
        let mut checked = 0;
        for a in assets.iter().filter(|a| a["trashed"] == false) {
            for r in a["resources"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|r| r["present"] == true)
            {
                let path = r["path"].as_str().unwrap();
                let full = if path.starts_with('/') {
                    PathBuf::from(path)
                } else {
                    copy.join(path)
                };
                let h = blake3::hash(&std::fs::read(&full).unwrap())
                    .to_hex()
                    .to_string();
                assert!(hashes.contains(&h), "{name}: {path} not exported");
                checked += 1;
            }
        }
        assert!(checked > 10, "{name}: only {checked} files checked");
        assert_eq!(summary["errors"], 0, "{summary}");
        let again = export_ok(&copy, &dest, &[]);
        assert_eq!(again["bytes"], 0, "{name}: second run wrote {again}");
    }
}

#[test]
fn a_reverted_edit_moves_the_edited_files_to_versions() {
    let dir = tempfile::tempdir().unwrap();
    let lib = library(dir.path(), Generation::Modern);
    let dest = dir.path().join("Backup");
    export_ok(&lib.path, &dest, &[]);
    let edited = dest.join("Export/2020/2020-06/IMG_0001_edited.jpeg");
    let edited_bytes = std::fs::read(&edited).unwrap();
    // "Revert to Original" in Photos: no more edit, no more render.
    let uuid = &lib.assets[0].uuid;
    lib.execute(&format!(
        "UPDATE ZASSET SET ZADJUSTMENTSSTATE = 0, ZADJUSTMENTTIMESTAMP = NULL WHERE ZUUID = '{uuid}';
         DELETE FROM ZINTERNALRESOURCE WHERE ZVERSION = 2 AND ZASSET = (SELECT Z_PK FROM ZASSET WHERE ZUUID = '{uuid}');"
    ))
    .unwrap();
    let summary = export_ok(&lib.path, &dest, &[]);
    assert_eq!(summary["updated"], 1, "{summary}");
    assert!(!edited.exists(), "the old edit is no longer current");
    assert!(
        dest.join("Export/2020/2020-06/IMG_0001.JPG").exists(),
        "the original stays"
    );
    let kept: Vec<PathBuf> = files_under(&dest, "Versions");
    let moved = kept
        .iter()
        .find(|p| p.ends_with("Export/2020/2020-06/IMG_0001_edited.jpeg"))
        .expect("edit kept in Versions/");
    assert_eq!(std::fs::read(dest.join(moved)).unwrap(), edited_bytes);
    // A later run has nothing more to do.
    assert_eq!(export_ok(&lib.path, &dest, &[])["bytes"], 0);
}

#[test]
fn a_change_written_without_photos_history_is_still_seen() {
    let dir = tempfile::tempdir().unwrap();
    let mut b = LibraryBuilder::new(Generation::Modern);
    b.asset(AssetSpec::photo("IMG_0001.JPG", at(0, 2020, 1, 1, 0, 0, 0)));
    let lib = b.build(&dir.path().join("L.photoslibrary")).unwrap();
    let dest = dir.path().join("Backup");
    export_ok(&lib.path, &dest, &[]);
    assert_eq!(export_ok(&lib.path, &dest, &[])["up_to_date"], true);
    // A writer that bypasses Photos' persistent history (no ATRANSACTION row).
    lib.execute("UPDATE ZADDITIONALASSETATTRIBUTES SET ZTITLE = 'Behind the back'")
        .unwrap();
    let summary = export_ok(&lib.path, &dest, &[]);
    assert_eq!(summary["up_to_date"], false, "{summary}");
    assert_eq!(summary["updated"], 1, "{summary}");
    let xmp = std::fs::read_to_string(dest.join("Export/2020/2020-01/IMG_0001.xmp")).unwrap();
    assert!(xmp.contains("Behind the back"));
}
