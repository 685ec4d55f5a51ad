//! How `photovaultd export` uses Photos' persistent history to decide that
//! nothing changed: background work on entities the backup never reads ends
//! the run early; a change to anything it reads, or a history with a gap,
//! makes it read the library.

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
    let mut sql = "INSERT INTO ATRANSACTION (Z_ENT, Z_OPT, ZTIMESTAMP) \
                   VALUES ((SELECT Z_ENT FROM Z_PRIMARYKEY WHERE Z_NAME = 'TRANSACTION'), 1, 0);"
        .to_string();
    for entity in entities {
        sql.push_str(&format!(
            "INSERT INTO ACHANGE (Z_ENT, Z_OPT, ZCHANGETYPE, ZENTITY, ZENTITYPK, ZTRANSACTIONID) \
             VALUES ((SELECT Z_ENT FROM Z_PRIMARYKEY WHERE Z_NAME = 'CHANGE'), 1, 1, \
             (SELECT Z_ENT FROM Z_PRIMARYKEY WHERE Z_NAME = '{entity}'), 1, \
             (SELECT max(Z_PK) FROM ATRANSACTION));"
        ));
    }
    lib.execute(&sql).unwrap();
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

    // An album (a subentity sharing the album table) counts too.
    record_transaction(&lib, &["Album"]);
    let summary = export_ok(&lib.path, &dest, &[]);
    assert_eq!(summary["up_to_date"], false, "{summary}");
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
