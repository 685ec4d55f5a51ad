//! What Photos' persistent history says changed since an earlier read,
//! narrowed down to the assets whose backup could differ.
//!
//! Core Data records every row a save inserts, updates or deletes in
//! `ACHANGE` (entity number, row key, change type), with one `ATRANSACTION`
//! per save. Each table the reader reads reaches an asset in a known way,
//! so a changed row names the assets it can affect:
//! - an asset row names itself;
//! - an attributes, resource or face row names the asset it points at;
//! - a description names the assets whose attributes point at it, a person
//!   the assets of its faces, a keyword the assets carrying it, an album or
//!   folder the members of it and of every album inside it, a type or
//!   bookmark row the assets of the resources pointing at it.
//!
//! A relationship that changes is recorded on the rows on both of its sides
//! (Core Data keeps inverses), so an asset that leaves an album or loses a
//! keyword is named by its own row's change. What cannot be narrowed is a
//! deleted row that pointed at an asset (the row, and so the asset, is no
//! longer known) or a deleted asset (its uuid is gone with its row): those
//! answer [`HistoryChanges::Anything`], and the caller reads everything.

use std::collections::{BTreeSet, HashMap};

use rusqlite::Connection;

use super::schema::Schema;

/// `ACHANGE.ZCHANGETYPE` of a deleted row (0 is an insert, 1 an update).
const DELETED: i64 = 2;

/// What changed since a history position, as far as a backup can tell.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HistoryChanges {
    /// Only entities the reader never reads changed (Photos' background
    /// analysis: moments, highlights, face prints, search data).
    Nothing,
    /// Only these assets, by primary key in ascending order, may read
    /// differently: every other asset reads exactly as before.
    Assets(Vec<i64>),
    /// The history cannot be narrowed to a few assets; the reason says why.
    Anything(String),
}

/// How rows of one table lead to assets.
enum Reach<'s> {
    /// Rows of the asset table: the asset itself.
    Asset,
    /// A row pointing at its asset through `column`; its deletion cannot
    /// be traced.
    PointsAtAsset { table: &'s str, column: &'s str },
    /// Assets found by `sql` with the changed keys in place of `{}`.
    Referenced(String),
    /// Albums and folders: the members of each changed album and of every
    /// album inside a changed folder.
    Album,
    /// A table the reader reads only as far as it does not matter here.
    Ignored,
}

/// Narrows the changes recorded after transaction `since` to assets. At
/// most `limit` assets are listed: beyond that, reading them one by one
/// costs about as much as reading everything.
pub(crate) fn since(
    conn: &Connection,
    s: &Schema,
    since: i64,
    limit: usize,
) -> Result<HistoryChanges, rusqlite::Error> {
    if !s.has_history {
        return Ok(anything("the library keeps no change history"));
    }
    let (oldest, newest): (Option<i64>, Option<i64>) =
        conn.query_row("SELECT min(Z_PK), max(Z_PK) FROM ATRANSACTION", [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })?;
    // Pruned past our position, or reset: the gap may hide anything.
    let (Some(oldest), Some(newest)) = (oldest, newest) else {
        return Ok(anything("the change history is empty"));
    };
    if oldest > since.saturating_add(1) || newest < since {
        return Ok(anything(
            "the change history was pruned or reset since the last run",
        ));
    }

    // Changed keys by table, and whether a row of that table was deleted.
    let mut by_table: HashMap<&str, (BTreeSet<i64>, bool)> = HashMap::new();
    let mut asset_deleted = false;
    {
        let mut stmt = conn.prepare(
            "SELECT ZENTITY, ZCHANGETYPE, ZENTITYPK FROM ACHANGE WHERE ZTRANSACTIONID > ?1",
        )?;
        let mut rows = stmt.query([since])?;
        while let Some(row) = rows.next()? {
            let (Some(entity), Some(pk)) = (row.get::<_, Option<i64>>(0)?, row.get(2)?) else {
                return Ok(anything("the change history has an incomplete record"));
            };
            let Some(table) = s.read_entities.get(&entity) else {
                continue;
            };
            let deleted = row.get::<_, Option<i64>>(1)? == Some(DELETED);
            if *table == s.asset.table {
                // Other entities sharing the asset table are never read
                // as assets.
                let is_asset =
                    entity == s.asset.lineage[0] || !s.has_column(&s.asset.table, "Z_ENT");
                if !is_asset {
                    continue;
                }
                asset_deleted |= deleted;
            }
            let entry = by_table.entry(table.as_str()).or_default();
            entry.0.insert(pk);
            entry.1 |= deleted;
        }
    }
    if asset_deleted {
        return Ok(anything("an asset was deleted from the library"));
    }
    if by_table.is_empty() {
        return Ok(HistoryChanges::Nothing);
    }

    let mut assets = BTreeSet::new();
    for (table, (keys, deleted)) in &by_table {
        let keys: Vec<i64> = keys.iter().copied().collect();
        match reach(s, table) {
            Reach::Asset => assets.extend(keys),
            Reach::PointsAtAsset { table, column } => {
                if *deleted {
                    return Ok(anything(&format!(
                        "a row of {table} that belonged to an asset was deleted"
                    )));
                }
                let sql = format!("SELECT {column} FROM {table} WHERE Z_PK IN ({{}})");
                collect(conn, &sql, &keys, &mut assets)?;
            }
            Reach::Referenced(sql) => collect(conn, &sql, &keys, &mut assets)?,
            Reach::Album => album_members(conn, s, &keys, &mut assets)?,
            Reach::Ignored => {}
        }
        if assets.len() > limit {
            return Ok(anything(&format!("more than {limit} assets changed")));
        }
    }
    if assets.is_empty() {
        return Ok(HistoryChanges::Nothing);
    }
    Ok(HistoryChanges::Assets(assets.into_iter().collect()))
}

fn anything(why: &str) -> HistoryChanges {
    HistoryChanges::Anything(why.to_string())
}

/// How the reader reaches rows of `table` from an asset (see the module
/// documentation); it mirrors the joins of `assets.rs` and `relations.rs`.
fn reach<'s>(s: &'s Schema, table: &str) -> Reach<'s> {
    let is = |e: &Option<super::schema::Entity>| e.as_ref().is_some_and(|e| e.table == table);
    let attrs = s.linked_attributes();
    let resource = s
        .resource
        .as_ref()
        .filter(|r| s.has_column(&r.table, "ZASSET"));
    if table == s.asset.table {
        return Reach::Asset;
    }
    if let Some(a) = attrs.filter(|a| a.table == table) {
        return Reach::PointsAtAsset {
            table: &a.table,
            column: "ZASSET",
        };
    }
    if let Some(r) = resource.filter(|r| r.table == table) {
        return Reach::PointsAtAsset {
            table: &r.table,
            column: "ZASSET",
        };
    }
    let persons = match (
        &s.face,
        &s.person,
        &s.face_asset_column,
        &s.face_person_column,
    ) {
        (Some(f), Some(p), Some(fa), Some(fp)) => Some((f, p, fa, fp)),
        _ => None,
    };
    if let Some((face, person, fa, fp)) = persons {
        if face.table == table {
            return Reach::PointsAtAsset {
                table: &face.table,
                column: fa,
            };
        }
        if person.table == table {
            return Reach::Referenced(format!(
                "SELECT {fa} FROM {} WHERE {fp} IN ({{}})",
                face.table
            ));
        }
    }
    if is(&s.description) {
        return match attrs.filter(|a| s.has_column(&a.table, "ZASSETDESCRIPTION")) {
            Some(a) => Reach::Referenced(format!(
                "SELECT ZASSET FROM {} WHERE ZASSETDESCRIPTION IN ({{}})",
                a.table
            )),
            None => Reach::Ignored,
        };
    }
    if is(&s.keyword) {
        return match (&s.keywords, attrs) {
            (Some(j), Some(a)) => Reach::Referenced(format!(
                "SELECT aa.ZASSET FROM {} j JOIN {} aa ON aa.Z_PK = j.{} WHERE j.{} IN ({{}})",
                j.table, a.table, j.left, j.right
            )),
            _ => Reach::Ignored,
        };
    }
    if is(&s.album) {
        return Reach::Album;
    }
    // Types, bookmarks and volumes are read through resource columns.
    for (entity, column) in [
        (&s.uti_table, "ZUNIFORMTYPEIDENTIFIER"),
        (&s.bookmark, "ZFILESYSTEMBOOKMARK"),
        (&s.volume, "ZFILESYSTEMVOLUME"),
    ] {
        if is(entity) {
            return match resource.filter(|r| s.has_column(&r.table, column)) {
                Some(r) => Reach::Referenced(format!(
                    "SELECT ZASSET FROM {} WHERE {column} IN ({{}})",
                    r.table
                )),
                None => Reach::Ignored,
            };
        }
    }
    Reach::Ignored
}

/// Runs `sql` (one column of asset keys, `{}` standing for the key list)
/// and adds what it finds to `out`.
fn collect(
    conn: &Connection,
    sql: &str,
    keys: &[i64],
    out: &mut BTreeSet<i64>,
) -> Result<(), rusqlite::Error> {
    let list: Vec<String> = keys.iter().map(i64::to_string).collect();
    let mut stmt = conn.prepare(&sql.replace("{}", &list.join(",")))?;
    let mut rows = stmt.query([])?;
    while let Some(row) = rows.next()? {
        if let Some(pk) = row.get::<_, Option<i64>>(0)? {
            out.insert(pk);
        }
    }
    Ok(())
}

/// The members of the changed albums and of every album inside a changed
/// folder (a renamed folder changes the folder path of all of them).
fn album_members(
    conn: &Connection,
    s: &Schema,
    changed: &[i64],
    out: &mut BTreeSet<i64>,
) -> Result<(), rusqlite::Error> {
    let (Some(album), Some(join)) = (&s.album, &s.album_assets) else {
        return Ok(());
    };
    let mut children: HashMap<i64, Vec<i64>> = HashMap::new();
    if s.has_column(&album.table, "ZPARENTFOLDER") {
        let mut stmt = conn.prepare(&format!(
            "SELECT Z_PK, ZPARENTFOLDER FROM {} WHERE ZPARENTFOLDER IS NOT NULL",
            album.table
        ))?;
        let mut rows = stmt.query([])?;
        while let Some(row) = rows.next()? {
            children.entry(row.get(1)?).or_default().push(row.get(0)?);
        }
    }
    let mut affected: BTreeSet<i64> = BTreeSet::new();
    let mut queue: Vec<i64> = changed.to_vec();
    // Each album is visited once, so a damaged parent cycle ends.
    while let Some(pk) = queue.pop() {
        if affected.insert(pk) {
            queue.extend(children.get(&pk).into_iter().flatten().copied());
        }
    }
    let keys: Vec<i64> = affected.into_iter().collect();
    let sql = format!(
        "SELECT {} FROM {} WHERE {} IN ({{}})",
        join.right, join.table, join.left
    );
    collect(conn, &sql, &keys, out)
}

#[cfg(test)]
mod tests {
    use photovault_testkit::{at, AssetSpec, BuiltLibrary, Generation, LibraryBuilder};

    use super::HistoryChanges;
    use crate::library::PhotosLibrary;

    const UPDATE: i64 = 1;
    const DELETE: i64 = 2;

    /// Three photos: 1 with a keyword and a person, 2 in an album inside a
    /// folder, 3 with nothing.
    fn library(dir: &std::path::Path, generation: Generation) -> BuiltLibrary {
        let mut b = LibraryBuilder::new(generation);
        let trip = b.album("Trip", &["Travel"]);
        let mut one = AssetSpec::photo("IMG_0001.JPG", at(0, 2020, 1, 1, 0, 0, 0));
        one.keywords = vec!["Sea".into()];
        one.persons = vec!["Ann".into()];
        b.asset(one);
        b.asset(AssetSpec::photo("IMG_0002.JPG", at(0, 2020, 1, 2, 0, 0, 0)).in_album(trip));
        b.asset(AssetSpec::photo("IMG_0003.JPG", at(0, 2020, 1, 3, 0, 0, 0)));
        b.build(&dir.join("L.photoslibrary")).unwrap()
    }

    /// Records one transaction with the changes (entity, row key as SQL,
    /// type) and returns the history position before it.
    fn record(lib: &BuiltLibrary, changes: &[(&str, &str, i64)]) -> i64 {
        let conn = rusqlite::Connection::open(lib.db_path()).unwrap();
        let since: i64 = conn
            .query_row("SELECT coalesce(max(Z_PK), 0) FROM ATRANSACTION", [], |r| {
                r.get(0)
            })
            .unwrap();
        conn.execute(
            "INSERT INTO ATRANSACTION (Z_ENT, Z_OPT, ZTIMESTAMP) VALUES \
             ((SELECT Z_ENT FROM Z_PRIMARYKEY WHERE Z_NAME = 'TRANSACTION'), 1, 0)",
            [],
        )
        .unwrap();
        for (entity, pk, kind) in changes {
            conn.execute(
                &format!(
                    "INSERT INTO ACHANGE (Z_ENT, Z_OPT, ZCHANGETYPE, ZENTITY, ZENTITYPK, ZTRANSACTIONID) \
                     VALUES ((SELECT Z_ENT FROM Z_PRIMARYKEY WHERE Z_NAME = 'CHANGE'), 1, {kind}, \
                     (SELECT Z_ENT FROM Z_PRIMARYKEY WHERE Z_NAME = '{entity}'), ({pk}), \
                     (SELECT max(Z_PK) FROM ATRANSACTION))"
                ),
                [],
            )
            .unwrap();
        }
        since
    }

    fn asset(lib: &BuiltLibrary, name: &str) -> i64 {
        let conn = rusqlite::Connection::open(lib.db_path()).unwrap();
        conn.query_row(
            "SELECT ZASSET FROM ZADDITIONALASSETATTRIBUTES WHERE ZORIGINALFILENAME = ?1",
            [name],
            |r| r.get(0),
        )
        .unwrap()
    }

    fn changes(lib: &BuiltLibrary, since: i64) -> HistoryChanges {
        let library = PhotosLibrary::open(&lib.path).unwrap();
        library.changes_since(since, 1000).unwrap()
    }

    #[test]
    fn each_table_the_reader_reads_leads_to_the_assets_it_affects() {
        let dir = tempfile::tempdir().unwrap();
        let lib = library(dir.path(), Generation::Modern);
        let (one, two) = (asset(&lib, "IMG_0001.JPG"), asset(&lib, "IMG_0002.JPG"));
        let attrs_of_two =
            format!("SELECT Z_PK FROM ZADDITIONALASSETATTRIBUTES WHERE ZASSET = {two}");
        let cases: Vec<(&str, String, Vec<i64>)> = vec![
            ("Asset", one.to_string(), vec![one]),
            ("AdditionalAssetAttributes", attrs_of_two, vec![two]),
            (
                "InternalResource",
                format!("SELECT min(Z_PK) FROM ZINTERNALRESOURCE WHERE ZASSET = {one}"),
                vec![one],
            ),
            (
                "DetectedFace",
                "SELECT Z_PK FROM ZDETECTEDFACE WHERE ZASSETFORFACE IS NOT NULL".into(),
                vec![one],
            ),
            (
                "Person",
                "SELECT Z_PK FROM ZPERSON WHERE ZFULLNAME = 'Ann'".into(),
                vec![one],
            ),
            (
                "Keyword",
                "SELECT Z_PK FROM ZKEYWORD WHERE ZTITLE = 'Sea'".into(),
                vec![one],
            ),
            (
                "Album",
                "SELECT Z_PK FROM ZGENERICALBUM WHERE ZTITLE = 'Trip'".into(),
                vec![two],
            ),
            (
                "Folder",
                "SELECT Z_PK FROM ZGENERICALBUM WHERE ZTITLE = 'Travel'".into(),
                vec![two],
            ),
            ("Moment", "1".into(), vec![]),
        ];
        for (entity, pk, expected) in cases {
            let since = record(&lib, &[(entity, &pk, UPDATE)]);
            let want = if expected.is_empty() {
                HistoryChanges::Nothing
            } else {
                HistoryChanges::Assets(expected)
            };
            assert_eq!(changes(&lib, since), want, "{entity}");
        }
        // Several transactions at once: the union, in key order.
        let since = record(&lib, &[("Keyword", "SELECT Z_PK FROM ZKEYWORD", UPDATE)]);
        record(&lib, &[("Asset", &two.to_string(), UPDATE)]);
        assert_eq!(changes(&lib, since), HistoryChanges::Assets(vec![one, two]));
    }

    #[test]
    fn what_cannot_be_traced_to_assets_asks_for_everything() {
        let dir = tempfile::tempdir().unwrap();
        let lib = library(dir.path(), Generation::Modern);
        let one = asset(&lib, "IMG_0001.JPG");
        let anything = |c: HistoryChanges| matches!(c, HistoryChanges::Anything(_));

        let since = record(&lib, &[("Asset", &one.to_string(), DELETE)]);
        assert!(anything(changes(&lib, since)), "a deleted asset");
        let since = record(&lib, &[("InternalResource", "12345", DELETE)]);
        assert!(anything(changes(&lib, since)), "a deleted resource row");
        let since = record(&lib, &[("DetectedFace", "12345", DELETE)]);
        assert!(anything(changes(&lib, since)), "a deleted face");

        // A deleted person, keyword or album names the assets still
        // pointing at it (none here): their own rows record the rest.
        let since = record(
            &lib,
            &[("Person", "12345", DELETE), ("Album", "12345", DELETE)],
        );
        assert_eq!(changes(&lib, since), HistoryChanges::Nothing);

        // More assets than the limit.
        let since = record(&lib, &[("Asset", "SELECT Z_PK FROM ZASSET", UPDATE)]);
        let library = PhotosLibrary::open(&lib.path).unwrap();
        assert!(anything(library.changes_since(since, 0).unwrap()));

        // A history pruned past the position asked about.
        let conn = rusqlite::Connection::open(lib.db_path()).unwrap();
        conn.execute("DELETE FROM ATRANSACTION WHERE Z_PK <= 2", [])
            .unwrap();
        assert!(anything(changes(&lib, 0)));
    }

    #[test]
    fn the_old_schema_is_traced_the_same_way() {
        let dir = tempfile::tempdir().unwrap();
        let lib = library(dir.path(), Generation::Photos5);
        let conn = rusqlite::Connection::open(lib.db_path()).unwrap();
        let one: i64 = conn
            .query_row(
                "SELECT ZASSET FROM ZADDITIONALASSETATTRIBUTES WHERE ZORIGINALFILENAME = 'IMG_0001.JPG'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        let since = record(&lib, &[("Keyword", "SELECT Z_PK FROM ZKEYWORD", UPDATE)]);
        assert_eq!(changes(&lib, since), HistoryChanges::Assets(vec![one]));
        let since = record(
            &lib,
            &[(
                "Person",
                "SELECT Z_PK FROM ZPERSON WHERE ZFULLNAME = 'Ann'",
                UPDATE,
            )],
        );
        assert_eq!(changes(&lib, since), HistoryChanges::Assets(vec![one]));
    }

    /// The real libraries in `../shared/fixtures`, when it is there.
    fn fixture_libraries() -> Option<Vec<std::path::PathBuf>> {
        let dir = photovault_testkit::fixtures_dir()?;
        let mut paths: Vec<_> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "photoslibrary"))
            .collect();
        paths.sort();
        Some(paths)
    }

    /// Every position of the real libraries' histories can be answered, and
    /// the assets named can be read.
    #[test]
    fn the_fixture_histories_are_answered_at_every_position() {
        let Some(libraries) = fixture_libraries() else {
            eprintln!("SKIPPED: ../shared/fixtures is not present");
            return;
        };
        for path in libraries {
            let library = PhotosLibrary::open(&path).unwrap();
            let newest = library
                .history_position()
                .unwrap()
                .map_or(0, |h| h.transaction);
            let (mut nothing, mut assets, mut anything) = (0, 0, 0);
            for since in 0..=newest {
                match library.changes_since(since, usize::MAX).unwrap() {
                    HistoryChanges::Nothing => nothing += 1,
                    HistoryChanges::Assets(pks) => {
                        assets += 1;
                        let read = library.read_assets(&pks).unwrap();
                        assert!(read.len() <= pks.len());
                    }
                    HistoryChanges::Anything(_) => anything += 1,
                }
            }
            eprintln!(
                "{}: {newest} positions: {nothing} nothing, {assets} narrowed to assets, {anything} everything",
                path.display()
            );
            assert_eq!(
                library.changes_since(newest, usize::MAX).unwrap(),
                HistoryChanges::Nothing
            );
        }
    }

    /// What the tracing relies on, checked on real libraries: Core Data
    /// records a relationship change on the rows of both sides. Every album
    /// membership and every keyword of the fixtures was made in a
    /// transaction that recorded a change to both the album (keyword) and
    /// the asset (its attributes).
    #[test]
    fn the_fixture_histories_record_both_sides_of_memberships() {
        let Some(libraries) = fixture_libraries() else {
            eprintln!("SKIPPED: ../shared/fixtures is not present");
            return;
        };
        for path in libraries {
            let library = PhotosLibrary::open(&path).unwrap();
            let s = &library.schema;
            let conn = &library.db.conn;
            // (left key, right key) pairs of a join table, and the tables
            // whose changes must meet in one transaction for each pair.
            let mut checks = Vec::new();
            if let (Some(album), Some(j)) = (&s.album, &s.album_assets) {
                checks.push((j, album.table.clone(), s.asset.table.clone()));
            }
            if let (Some(keyword), Some(attrs), Some(j)) = (&s.keyword, &s.attributes, &s.keywords)
            {
                checks.push((j, attrs.table.clone(), keyword.table.clone()));
            }
            for (join, left_table, right_table) in checks {
                let in_table = |t: &str| {
                    let ents: Vec<String> = s
                        .read_entities
                        .iter()
                        .filter(|(_, table)| table.as_str() == t)
                        .map(|(e, _)| e.to_string())
                        .collect();
                    ents.join(",")
                };
                let sql = format!(
                    "SELECT count(*), coalesce(sum(EXISTS(
                         SELECT 1 FROM ACHANGE l JOIN ACHANGE r ON r.ZTRANSACTIONID = l.ZTRANSACTIONID
                         WHERE l.ZENTITY IN ({le}) AND l.ZENTITYPK = p.{lc}
                           AND r.ZENTITY IN ({re}) AND r.ZENTITYPK = p.{rc})), 0)
                     FROM {jt} p",
                    le = in_table(&left_table),
                    re = in_table(&right_table),
                    lc = join.left,
                    rc = join.right,
                    jt = join.table,
                );
                let (pairs, both): (i64, i64) = conn
                    .query_row(&sql, [], |r| Ok((r.get(0)?, r.get(1)?)))
                    .unwrap();
                eprintln!(
                    "{}: {}: {both} of {pairs} links recorded on both sides",
                    path.display(),
                    join.table
                );
                assert_eq!(both, pairs, "{} {}", path.display(), join.table);
            }
        }
    }
}
