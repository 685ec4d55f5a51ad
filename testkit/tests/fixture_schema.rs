//! The schema the builder writes must exist, table by table and column by
//! column, in the real fixture libraries, so the builder can never drift
//! from reality. Skipped (with a message) when the fixtures are absent.

use photovault_testkit::{fixtures_dir, Generation, LibraryBuilder};
use rusqlite::Connection;
use std::collections::BTreeMap;
use std::path::Path;

/// Copies a fixture's database files so SQLite never touches the originals.
fn copy_fixture_db(fixtures: &Path, library: &str, dest: &Path) -> Connection {
    let src = fixtures.join(library).join("database");
    std::fs::create_dir_all(dest).unwrap();
    for name in ["Photos.sqlite", "Photos.sqlite-wal", "Photos.sqlite-shm"] {
        if src.join(name).exists() {
            let to = dest.join(name);
            std::fs::copy(src.join(name), &to).unwrap();
            let mut perm = std::fs::metadata(&to).unwrap().permissions();
            #[allow(clippy::permissions_set_readonly_false)]
            perm.set_readonly(false);
            std::fs::set_permissions(&to, perm).unwrap();
        }
    }
    Connection::open(dest.join("Photos.sqlite")).unwrap()
}

fn schema(conn: &Connection, kind: &str) -> BTreeMap<String, String> {
    let mut st = conn
        .prepare("SELECT name, sql FROM sqlite_master WHERE type = ?1 AND sql IS NOT NULL")
        .unwrap();
    st.query_map([kind], |r| {
        Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
    })
    .unwrap()
    .map(|r| {
        let (n, s) = r.unwrap();
        (n, s.split_whitespace().collect::<Vec<_>>().join(" "))
    })
    .collect()
}

fn columns(conn: &Connection, table: &str) -> Vec<(String, String)> {
    let mut st = conn
        .prepare(&format!("PRAGMA table_info({table})"))
        .unwrap();
    st.query_map([], |r| Ok((r.get::<_, String>(1)?, r.get::<_, String>(2)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

fn primary_keys(conn: &Connection) -> BTreeMap<String, (i64, Option<String>)> {
    let mut st = conn
        .prepare("SELECT p.Z_NAME, p.Z_ENT, s.Z_NAME FROM Z_PRIMARYKEY p LEFT JOIN Z_PRIMARYKEY s ON s.Z_ENT = p.Z_SUPER")
        .unwrap();
    st.query_map([], |r| Ok((r.get(0)?, (r.get(1)?, r.get(2)?))))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

fn check(gen: Generation, library: &str, fixture_numbers: &[(&str, i64)]) {
    let Some(fixtures) = fixtures_dir() else {
        eprintln!("SKIPPED: fixture libraries not found (expected ../../shared/fixtures/photos-libraries)");
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let fixture = copy_fixture_db(&fixtures, library, &tmp.path().join("fixture"));

    // With the fixture's own numbering, every table, column and index we
    // create must be identical to the fixture's.
    let mut b = LibraryBuilder::new(gen);
    b.with_media(false);
    for (name, n) in fixture_numbers {
        b.entity_number(name, *n);
    }
    let built = b.build(&tmp.path().join("Same.photoslibrary")).unwrap();
    let ours = Connection::open(built.db_path()).unwrap();
    let (their_tables, our_tables) = (schema(&fixture, "table"), schema(&ours, "table"));
    assert!(our_tables.len() >= 19, "too few tables: {our_tables:?}");
    for (name, sql) in &our_tables {
        let theirs = their_tables
            .get(name)
            .unwrap_or_else(|| panic!("{library}: no table {name}"));
        assert_eq!(sql, theirs, "{library}: table {name} differs");
        assert_eq!(
            columns(&ours, name),
            columns(&fixture, name),
            "{library}: columns of {name}"
        );
    }
    let their_indexes = schema(&fixture, "index");
    for (name, sql) in schema(&ours, "index") {
        assert_eq!(
            Some(&sql),
            their_indexes.get(&name),
            "{library}: index {name}"
        );
    }
    assert_eq!(
        primary_keys(&ours),
        primary_keys(&fixture),
        "{library}: Z_PRIMARYKEY entities"
    );

    // The default numbering must differ from the fixture's for the entities
    // a reader resolves, yet name the same set of entities.
    let defaults = LibraryBuilder::new(gen)
        .with_media(false)
        .build(&tmp.path().join("Default.photoslibrary"))
        .unwrap();
    for (name, n) in fixture_numbers {
        assert_ne!(
            defaults.entities.get(name).unwrap(),
            *n,
            "{name} keeps the fixture number"
        );
    }
    let default_pk = primary_keys(&Connection::open(defaults.db_path()).unwrap());
    let fixture_pk = primary_keys(&fixture);
    assert_eq!(
        default_pk.keys().collect::<Vec<_>>(),
        fixture_pk.keys().collect::<Vec<_>>()
    );
    for (name, (_, sup)) in &default_pk {
        assert_eq!(sup, &fixture_pk[name].1, "super-entity of {name}");
    }
}

#[test]
fn photos5_schema_matches_fixture() {
    check(
        Generation::Photos5,
        "Test-10.15.7.photoslibrary",
        &[
            ("GenericAsset", 34),
            ("Asset", 35),
            ("Album", 26),
            ("Keyword", 37),
        ],
    );
}

#[test]
fn modern_schema_matches_fixture() {
    check(
        Generation::Modern,
        "Test-Media-Types-15.7.2.photoslibrary",
        &[("Asset", 3), ("Album", 30), ("Keyword", 47)],
    );
}
