//! How `photovaultd export` uses Photos' persistent history to decide that
//! nothing changed: background work on entities the backup never reads ends
//! the run early; a change to rows it reads makes it read the assets those
//! rows lead to, and only those; a deleted asset or row, or a history with a
//! gap, makes it read the whole library.

use photovault_e2e::export_ok;
use photovault_testkit::{at, AssetSpec, BuiltLibrary, Generation, LibraryBuilder};

fn library(dir: &std::path::Path) -> BuiltLibrary {
    let mut b = LibraryBuilder::new(Generation::Modern);
    b.asset(AssetSpec::photo("IMG_0001.JPG", at(0, 2020, 1, 1, 0, 0, 0)));
    b.asset(AssetSpec::photo("IMG_0002.JPG", at(0, 2020, 1, 2, 0, 0, 0)));
    b.build(&dir.join("L.photoslibrary")).unwrap()
}

/// Records, as Photos does, one transaction with an update of row 1 of each
/// entity named.
fn record_transaction(lib: &BuiltLibrary, entities: &[&str]) {
    let changes: Vec<(&str, &str, i64)> = entities.iter().map(|e| (*e, "1", UPDATE)).collect();
    record_changes(lib, &changes);
}

/// `ACHANGE.ZCHANGETYPE` values.
const UPDATE: i64 = photovault_e2e::history::UPDATE;
const DELETE: i64 = photovault_e2e::history::DELETE;

fn record_changes(lib: &BuiltLibrary, changes: &[(&str, &str, i64)]) {
    photovault_e2e::history::record(lib, changes);
}

fn xmp(dest: &std::path::Path) -> String {
    std::fs::read_to_string(dest.join("Export/2020/2020-01/IMG_0001.xmp")).unwrap()
}

#[test]
fn background_work_recorded_in_history_ends_the_run_early() {
    let dir = tempfile::tempdir().unwrap();
    let lib = library(dir.path());
    let dest = dir.path().join("Backup");
    export_ok(&lib.path, &dest, &[]);
    record_transaction(&lib, &["Moment", "PhotosHighlight", "DetectedFaceprint"]);
    let summary = export_ok(&lib.path, &dest, &[]);
    assert_eq!(summary["up_to_date"], true, "{summary}");
    assert_eq!(summary["unchanged"], 2, "{summary}");
}

#[test]
fn a_change_to_an_entity_the_backup_reads_makes_the_run_read_the_library() {
    let dir = tempfile::tempdir().unwrap();
    let lib = library(dir.path());
    let dest = dir.path().join("Backup");
    export_ok(&lib.path, &dest, &[]);
    lib.execute("UPDATE ZADDITIONALASSETATTRIBUTES SET ZTITLE = 'Beach' WHERE ZASSET = 1")
        .unwrap();
    record_transaction(&lib, &["Moment", "AdditionalAssetAttributes"]);
    let summary = export_ok(&lib.path, &dest, &[]);
    assert_eq!(summary["up_to_date"], false, "{summary}");
    assert_eq!(summary["updated"], 1, "{summary}");
    assert!(xmp(&dest).contains("Beach"));

    // A change to an album with no member in the library names no asset.
    record_transaction(&lib, &["Album"]);
    let summary = export_ok(&lib.path, &dest, &[]);
    assert_eq!(summary["up_to_date"], true, "{summary}");
    assert_eq!(summary["updated"], 0, "{summary}");
}

#[test]
fn a_history_pruned_past_the_last_run_makes_the_run_read_the_library() {
    let dir = tempfile::tempdir().unwrap();
    let lib = library(dir.path());
    let dest = dir.path().join("Backup");
    export_ok(&lib.path, &dest, &[]);
    // Photos changes a title, then does background work, then prunes the
    // oldest history: the record of the title change is gone.
    lib.execute("UPDATE ZADDITIONALASSETATTRIBUTES SET ZTITLE = 'Pruned' WHERE ZASSET = 1")
        .unwrap();
    record_transaction(&lib, &["AdditionalAssetAttributes"]);
    record_transaction(&lib, &["Moment"]);
    lib.execute(
        "CREATE TEMP TABLE cut AS SELECT max(ZTRANSACTIONID) AS id FROM ACHANGE WHERE ZENTITY = \
           (SELECT Z_ENT FROM Z_PRIMARYKEY WHERE Z_NAME = 'AdditionalAssetAttributes');
         DELETE FROM ACHANGE WHERE ZTRANSACTIONID <= (SELECT id FROM cut);
         DELETE FROM ATRANSACTION WHERE Z_PK <= (SELECT id FROM cut);",
    )
    .unwrap();
    let summary = export_ok(&lib.path, &dest, &[]);
    assert_eq!(summary["up_to_date"], false, "{summary}");
    assert_eq!(summary["updated"], 1, "{summary}");
    assert!(xmp(&dest).contains("Pruned"));
}

/// The primary key of the asset `IMG_000n.JPG`, as SQL.
fn asset_pk(n: u32) -> String {
    format!(
        "SELECT ZASSET FROM ZADDITIONALASSETATTRIBUTES WHERE ZORIGINALFILENAME = 'IMG_000{n}.JPG'"
    )
}

fn sidecar(dest: &std::path::Path, name: &str) -> String {
    std::fs::read_to_string(dest.join("Export/2020/2020-01").join(name)).unwrap()
}

#[test]
fn a_touched_asset_row_makes_the_run_read_that_asset_only() {
    let dir = tempfile::tempdir().unwrap();
    let lib = library(dir.path());
    let dest = dir.path().join("Backup");
    export_ok(&lib.path, &dest, &[]);
    // Asset 2's title changes without a history record, then Photos'
    // analysis touches asset 1's row: the run reads asset 1 alone and finds
    // it unchanged. Asset 2 is not read, which shows the run did not read
    // the whole library (Photos always records its changes).
    lib.execute(&format!(
        "UPDATE ZADDITIONALASSETATTRIBUTES SET ZTITLE = 'Unrecorded' WHERE ZASSET = ({})",
        asset_pk(2)
    ))
    .unwrap();
    record_changes(&lib, &[("Asset", &asset_pk(1), UPDATE)]);
    let summary = export_ok(&lib.path, &dest, &[]);
    assert_eq!(summary["up_to_date"], true, "{summary}");
    assert_eq!(summary["unchanged"], 2, "{summary}");
    assert!(!sidecar(&dest, "IMG_0002.xmp").contains("Unrecorded"));

    // Once the history names asset 2's attributes, its sidecar is rewritten.
    record_changes(
        &lib,
        &[(
            "AdditionalAssetAttributes",
            &format!(
                "SELECT Z_PK FROM ZADDITIONALASSETATTRIBUTES WHERE ZASSET = ({})",
                asset_pk(2)
            ),
            UPDATE,
        )],
    );
    let summary = export_ok(&lib.path, &dest, &[]);
    assert_eq!(summary["up_to_date"], false, "{summary}");
    assert_eq!(summary["updated"], 1, "{summary}");
    assert_eq!(summary["unchanged"], 1, "{summary}");
    assert!(sidecar(&dest, "IMG_0002.xmp").contains("Unrecorded"));
}

#[test]
fn renamed_keywords_albums_folders_and_persons_rewrite_the_sidecars_of_their_assets() {
    let dir = tempfile::tempdir().unwrap();
    let mut b = LibraryBuilder::new(Generation::Modern);
    let trip = b.album("Trip", &["Travel"]);
    let mut one = AssetSpec::photo("IMG_0001.JPG", at(0, 2020, 1, 1, 0, 0, 0));
    one.keywords = vec!["Sea".into()];
    one.persons = vec!["Ann".into()];
    b.asset(one);
    b.asset(AssetSpec::photo("IMG_0002.JPG", at(0, 2020, 1, 2, 0, 0, 0)).in_album(trip));
    b.asset(AssetSpec::photo("IMG_0003.JPG", at(0, 2020, 1, 3, 0, 0, 0)));
    let lib = b.build(&dir.path().join("L.photoslibrary")).unwrap();
    let dest = dir.path().join("Backup");
    export_ok(&lib.path, &dest, &[]);

    let cases = [
        (
            "UPDATE ZKEYWORD SET ZTITLE = 'Ocean' WHERE ZTITLE = 'Sea'",
            (
                "Keyword",
                "SELECT Z_PK FROM ZKEYWORD WHERE ZTITLE = 'Ocean'",
            ),
            "IMG_0001.xmp",
            "Ocean",
        ),
        (
            "UPDATE ZPERSON SET ZFULLNAME = 'Anna' WHERE ZFULLNAME = 'Ann'",
            (
                "Person",
                "SELECT Z_PK FROM ZPERSON WHERE ZFULLNAME = 'Anna'",
            ),
            "IMG_0001.xmp",
            "Anna",
        ),
        (
            "UPDATE ZGENERICALBUM SET ZTITLE = 'Holiday' WHERE ZTITLE = 'Trip'",
            (
                "Album",
                "SELECT Z_PK FROM ZGENERICALBUM WHERE ZTITLE = 'Holiday'",
            ),
            "IMG_0002.xmp",
            "Holiday",
        ),
        // A folder's new name reaches the members of the albums inside it.
        (
            "UPDATE ZGENERICALBUM SET ZTITLE = 'Journeys' WHERE ZTITLE = 'Travel'",
            (
                "Folder",
                "SELECT Z_PK FROM ZGENERICALBUM WHERE ZTITLE = 'Journeys'",
            ),
            "IMG_0002.xmp",
            "Journeys",
        ),
    ];
    for (sql, (entity, pk), file, expected) in cases {
        lib.execute(sql).unwrap();
        record_changes(&lib, &[(entity, pk, UPDATE)]);
        let summary = export_ok(&lib.path, &dest, &[]);
        assert_eq!(summary["updated"], 1, "{entity}: {summary}");
        assert_eq!(summary["unchanged"], 2, "{entity}: {summary}");
        assert!(sidecar(&dest, file).contains(expected), "{entity}");
    }
}

#[test]
fn trashed_restored_and_added_assets_recorded_in_history_are_handled_from_their_rows() {
    let dir = tempfile::tempdir().unwrap();
    let lib = library(dir.path());
    let dest = dir.path().join("Backup");
    export_ok(&lib.path, &dest, &[]);

    lib.execute(&format!(
        "UPDATE ZASSET SET ZTRASHEDSTATE = 1 WHERE Z_PK = ({})",
        asset_pk(2)
    ))
    .unwrap();
    record_changes(&lib, &[("Asset", &asset_pk(2), UPDATE)]);
    let summary = export_ok(&lib.path, &dest, &[]);
    assert_eq!(summary["gone"], 1, "{summary}");
    assert_eq!(summary["unchanged"], 1, "{summary}");
    assert!(dest.join("Export/2020/2020-01/IMG_0002.JPG").is_file());

    lib.execute(&format!(
        "UPDATE ZASSET SET ZTRASHEDSTATE = 0 WHERE Z_PK = ({})",
        asset_pk(2)
    ))
    .unwrap();
    record_changes(&lib, &[("Asset", &asset_pk(2), UPDATE)]);
    let summary = export_ok(&lib.path, &dest, &[]);
    assert_eq!(summary["gone"], 0, "{summary}");
    assert_eq!(summary["unchanged"], 2, "{summary}");

    // A new asset, recorded in the history as Photos records an import,
    // takes a name beside those already taken.
    let mut writer = lib.open_writer().unwrap();
    writer
        .add_asset(&AssetSpec::photo(
            "IMG_0001.JPG",
            at(0, 2020, 1, 5, 0, 0, 0),
        ))
        .unwrap();
    drop(writer);
    let summary = export_ok(&lib.path, &dest, &[]);
    assert_eq!(summary["exported"], 1, "{summary}");
    assert_eq!(summary["unchanged"], 2, "{summary}");
    assert!(dest.join("Export/2020/2020-01/IMG_0001 (1).JPG").is_file());
    assert_eq!(export_ok(&lib.path, &dest, &[])["up_to_date"], true);
}

#[test]
fn a_deleted_asset_or_resource_row_makes_the_run_read_everything() {
    let dir = tempfile::tempdir().unwrap();
    let lib = library(dir.path());
    let dest = dir.path().join("Backup");
    export_ok(&lib.path, &dest, &[]);

    // A deleted resource row cannot be traced to its asset any more.
    lib.execute(&format!(
        "UPDATE ZADDITIONALASSETATTRIBUTES SET ZTITLE = 'Seen' WHERE ZASSET = ({})",
        asset_pk(2)
    ))
    .unwrap();
    record_changes(&lib, &[("InternalResource", "999", DELETE)]);
    let summary = export_ok(&lib.path, &dest, &[]);
    assert_eq!(summary["updated"], 1, "{summary}");
    assert_eq!(summary["unchanged"], 1, "{summary}");
    assert!(sidecar(&dest, "IMG_0002.xmp").contains("Seen"));

    // A deleted asset: its uuid is gone with its row.
    let pk: String = asset_pk(1);
    record_changes(&lib, &[("Asset", &pk, DELETE)]);
    for table in ["ZADDITIONALASSETATTRIBUTES", "ZINTERNALRESOURCE"] {
        lib.execute(&format!("DELETE FROM {table} WHERE ZASSET = 1"))
            .unwrap();
    }
    lib.execute("DELETE FROM ZASSET WHERE Z_PK = 1").unwrap();
    let summary = export_ok(&lib.path, &dest, &[]);
    assert_eq!(summary["gone"], 1, "{summary}");
    assert!(dest.join("Export/2020/2020-01/IMG_0001.JPG").is_file());
}

#[test]
fn another_library_put_at_the_same_path_is_read_whole() {
    let dir = tempfile::tempdir().unwrap();
    let lib = library(dir.path());
    let dest = dir.path().join("Backup");
    export_ok(&lib.path, &dest, &[]);

    // Another library takes its place (restored from elsewhere, or a
    // different one renamed), its history further along than the first's
    // and recording only background work since that position.
    std::fs::remove_dir_all(&lib.path).unwrap();
    let mut b = LibraryBuilder::new(Generation::Modern);
    for day in 1..=3 {
        b.asset(
            AssetSpec::photo(&format!("DSC_000{day}.JPG"), at(0, 2020, 1, day, 0, 0, 0))
                .with_uuid(&format!("0000000{day}-AAAA-4BBB-8CCC-DDDDDDDDDDDD")),
        );
    }
    let other = b.build(&lib.path).unwrap();
    other
        .execute("UPDATE Z_METADATA SET Z_UUID = '0F1E2D3C-4B5A-6978-8796-A5B4C3D2E1F0'")
        .unwrap();
    for _ in 0..3 {
        record_transaction(&other, &["Moment"]);
    }
    let summary = export_ok(&other.path, &dest, &[]);
    assert_eq!(summary["exported"], 3, "{summary}");
    assert_eq!(summary["gone"], 2, "{summary}");
    assert!(dest.join("Export/2020/2020-01/DSC_0003.JPG").is_file());
    assert!(dest.join("Export/2020/2020-01/IMG_0001.JPG").is_file());
}

/// Half the originals cloud-only, as in an iCloud library with "Optimize
/// Mac Storage": they must not make every run read the whole library.
#[test]
fn missing_originals_wait_without_making_each_run_read_the_library() {
    let dir = tempfile::tempdir().unwrap();
    let mut b = LibraryBuilder::new(Generation::Modern);
    for day in 1..=8 {
        b.asset(AssetSpec::photo(
            &format!("IMG_000{day}.JPG"),
            at(0, 2020, 1, day, 0, 0, 0),
        ));
    }
    b.missing_originals(0.5);
    let lib = b.build(&dir.path().join("L.photoslibrary")).unwrap();
    let dest = dir.path().join("Backup");
    let first = export_ok(&lib.path, &dest, &[]);
    assert_eq!(first["exported"], 4, "{first}");
    assert_eq!(first["missing"], 4, "{first}");

    // Nothing changed: the run ends without reading an asset, and still
    // says how many originals it waits for.
    let again = export_ok(&lib.path, &dest, &[]);
    assert_eq!(again["up_to_date"], true, "{again}");
    assert_eq!(again["missing"], 4, "{again}");
    assert_eq!(again["unchanged"], 4, "{again}");

    // Background work in the history: still nothing to read.
    record_transaction(&lib, &["Moment"]);
    let background = export_ok(&lib.path, &dest, &[]);
    assert_eq!(background["up_to_date"], true, "{background}");
    assert_eq!(background["missing"], 4, "{background}");

    // One original arrives (Photos downloads it): the next run exports it,
    // and only it, though the history names nothing.
    let cloud: Vec<_> = lib
        .assets
        .iter()
        .filter(|a| !a.spec.original_present)
        .collect();
    assert_eq!(cloud.len(), 4);
    let original = cloud[0]
        .resource(photovault_testkit::ResourceRole::Original)
        .unwrap();
    let target = lib.absolute(&original.path);
    std::fs::create_dir_all(target.parent().unwrap()).unwrap();
    std::fs::write(&target, b"downloaded at last").unwrap();
    let arrived = export_ok(&lib.path, &dest, &[]);
    assert_eq!(arrived["exported"], 1, "{arrived}");
    assert_eq!(arrived["missing"], 3, "{arrived}");
    assert_eq!(arrived["unchanged"], 4, "{arrived}");
    let name = &cloud[0].spec.original_filename;
    let stem = name.rsplit_once('.').unwrap().0;
    let exported = std::fs::read_dir(dest.join("Export/2020/2020-01"))
        .unwrap()
        .flatten()
        .any(|e| {
            e.file_name().to_string_lossy().starts_with(stem)
                && !e.file_name().to_string_lossy().ends_with(".xmp")
        });
    assert!(exported, "{name} was not exported");

    // And then nothing again.
    let settled = export_ok(&lib.path, &dest, &[]);
    assert_eq!(settled["up_to_date"], true, "{settled}");
    assert_eq!(settled["missing"], 3, "{settled}");
}
