//! The schema of one library, discovered from the database itself.
//!
//! Photos' Core Data model changes with every macOS release: the asset table
//! was `ZGENERICASSET` in Photos 5 and `ZASSET` after, entity numbers shift
//! (so the album join table is `Z_26ASSETS` in one library and `Z_30ASSETS` in
//! the next), and columns come and go. Nothing here names a version: tables
//! come from `Z_PRIMARYKEY` (Core Data keeps a whole entity hierarchy in the
//! table of its root entity), join tables and their columns from
//! `sqlite_master` and `PRAGMA table_info`, and a column that a version lacks
//! reads as SQL `NULL`.

use std::collections::{HashMap, HashSet};

use rusqlite::Connection;

/// One Core Data entity: its number and the table that stores it.
#[derive(Debug, Clone)]
pub(crate) struct Entity {
    /// The entity's own number (`Z_ENT`) and those of its ancestors, nearest
    /// first: relationship columns may be named after any of them.
    pub(crate) lineage: Vec<i64>,
    /// The table holding rows of this entity (the root entity's table).
    pub(crate) table: String,
}

/// A to-many join table between two entities.
#[derive(Debug, Clone)]
pub(crate) struct JoinTable {
    pub(crate) table: String,
    /// Column holding the primary key of the first entity (e.g. the album).
    pub(crate) left: String,
    /// Column holding the primary key of the second entity (e.g. the asset).
    pub(crate) right: String,
}

/// Everything the reader needs to know about one database's schema.
#[derive(Debug)]
pub(crate) struct Schema {
    pub(crate) asset: Entity,
    pub(crate) album: Option<Entity>,
    pub(crate) keyword: Option<Entity>,
    pub(crate) person: Option<Entity>,
    pub(crate) face: Option<Entity>,
    pub(crate) attributes: Option<Entity>,
    pub(crate) description: Option<Entity>,
    pub(crate) resource: Option<Entity>,
    pub(crate) bookmark: Option<Entity>,
    pub(crate) volume: Option<Entity>,
    /// The table of uniform type identifiers that resources point at (Photos
    /// 5 to 7; later versions store a compact code instead).
    pub(crate) uti_table: Option<Entity>,
    /// Album ↔ asset membership.
    pub(crate) album_assets: Option<JoinTable>,
    /// Asset attributes ↔ keyword.
    pub(crate) keywords: Option<JoinTable>,
    /// Column of the face table pointing at its asset.
    pub(crate) face_asset_column: Option<String>,
    /// Column of the face table pointing at its person.
    pub(crate) face_person_column: Option<String>,
    /// The persistent-history tables exist.
    pub(crate) has_history: bool,
    /// Every entity stored in a table the reader reads (with all the
    /// entities sharing such a table), by number, with that table: a history
    /// change to any other entity cannot change what the reader returns.
    pub(crate) read_entities: HashMap<i64, String>,
    columns: HashMap<String, HashSet<String>>,
}

/// Why the schema could not be understood: the database is not what Photos
/// 5 or newer writes.
#[derive(Debug, thiserror::Error)]
pub(crate) enum SchemaError {
    #[error("{0}")]
    Missing(String),
    #[error(transparent)]
    Sqlite(#[from] rusqlite::Error),
}

impl Schema {
    /// Discovers the schema of the database behind `conn`.
    pub(crate) fn discover(conn: &Connection) -> Result<Self, SchemaError> {
        let tables = table_names(conn)?;
        if !tables.contains("Z_PRIMARYKEY") {
            return Err(SchemaError::Missing(
                "no Core Data entity table (Z_PRIMARYKEY)".into(),
            ));
        }
        let entities = EntityTable::read(conn, &tables)?;
        let asset = entities
            .get("Asset")
            .ok_or_else(|| SchemaError::Missing("no Asset entity in Z_PRIMARYKEY".into()))?;
        let mut columns = HashMap::new();
        for table in &tables {
            if table.starts_with('Z') || table.starts_with("AC") || table.starts_with("AT") {
                columns.insert(table.clone(), table_columns(conn, table)?);
            }
        }
        let album = entities.get("Album");
        let attributes = entities.get("AdditionalAssetAttributes");
        let keyword = entities.get("Keyword");
        let face = entities.get("DetectedFace");

        let album_assets = album
            .as_ref()
            .and_then(|al| find_join(&columns, &al.lineage, "ALBUMS", &asset.lineage, "ASSETS"));
        let keywords = match (&keyword, &attributes) {
            (Some(k), Some(a)) => find_join(
                &columns,
                &a.lineage,
                "ASSETATTRIBUTES",
                &k.lineage,
                "KEYWORDS",
            ),
            _ => None,
        };
        let face_cols = face.as_ref().and_then(|f| columns.get(&f.table));
        let pick = |names: &[&str]| {
            face_cols.and_then(|c| {
                names
                    .iter()
                    .find(|n| c.contains(**n))
                    .map(|n| n.to_string())
            })
        };
        let face_asset_column = pick(&["ZASSETFORFACE", "ZASSET"]);
        let face_person_column = pick(&["ZPERSONFORFACE", "ZPERSON"]);

        let read_tables: HashSet<String> = [
            Some(&asset),
            album.as_ref(),
            keyword.as_ref(),
            entities.get("Person").as_ref(),
            face.as_ref(),
            attributes.as_ref(),
            entities.get("AssetDescription").as_ref(),
            entities.get("InternalResource").as_ref(),
            entities.get("FileSystemBookmark").as_ref(),
            entities.get("FileSystemVolume").as_ref(),
            entities.get("UniformTypeIdentifier").as_ref(),
        ]
        .into_iter()
        .flatten()
        .map(|e| e.table.clone())
        .collect();
        let read_entities = entities
            .name_of
            .iter()
            .filter_map(|(&ent, name)| {
                let table = entities.get(name)?.table;
                read_tables.contains(&table).then_some((ent, table))
            })
            .collect();

        let schema = Schema {
            read_entities,
            has_history: tables.contains("ATRANSACTION") && tables.contains("ACHANGE"),
            album: album.clone(),
            keyword,
            person: entities.get("Person"),
            face,
            description: entities.get("AssetDescription"),
            resource: entities.get("InternalResource"),
            bookmark: entities.get("FileSystemBookmark"),
            volume: entities.get("FileSystemVolume"),
            uti_table: entities.get("UniformTypeIdentifier"),
            attributes,
            asset,
            album_assets,
            keywords,
            face_asset_column,
            face_person_column,
            columns,
        };
        for required in ["ZUUID", "ZDATECREATED", "ZKIND"] {
            if !schema.has_column(&schema.asset.table, required) {
                return Err(SchemaError::Missing(format!(
                    "the asset table {} has no {required} column",
                    schema.asset.table
                )));
            }
        }
        Ok(schema)
    }

    /// The asset-attributes entity, when its rows point at their asset
    /// (`ZASSET`): only then are they joined to assets.
    pub(crate) fn linked_attributes(&self) -> Option<&Entity> {
        self.attributes
            .as_ref()
            .filter(|a| self.has_column(&a.table, "ZASSET"))
    }

    /// Whether `table` has `column`.
    pub(crate) fn has_column(&self, table: &str, column: &str) -> bool {
        self.columns.get(table).is_some_and(|c| c.contains(column))
    }

    /// `alias.column` when the table has the column, else `NULL`, so one query
    /// text serves every schema version.
    pub(crate) fn col(&self, table: Option<&Entity>, alias: &str, column: &str) -> String {
        match table {
            Some(t) if self.has_column(&t.table, column) => format!("{alias}.{column}"),
            _ => "NULL".to_string(),
        }
    }
}

/// `Z_PRIMARYKEY`: entity names, numbers and inheritance.
struct EntityTable {
    by_name: HashMap<String, (i64, i64)>,
    name_of: HashMap<i64, String>,
    tables: HashSet<String>,
}

impl EntityTable {
    fn read(conn: &Connection, tables: &HashSet<String>) -> Result<Self, rusqlite::Error> {
        let mut stmt = conn.prepare("SELECT Z_ENT, Z_NAME, Z_SUPER FROM Z_PRIMARYKEY")?;
        let mut by_name = HashMap::new();
        let mut name_of = HashMap::new();
        let rows = stmt.query_map([], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, Option<i64>>(2)?,
            ))
        })?;
        for row in rows {
            let (ent, name, sup) = row?;
            name_of.insert(ent, name.clone());
            by_name.insert(name, (ent, sup.unwrap_or(0)));
        }
        Ok(EntityTable {
            by_name,
            name_of,
            tables: tables.clone(),
        })
    }

    /// The entity called `name`, with the table of its root ancestor, if that
    /// table exists.
    fn get(&self, name: &str) -> Option<Entity> {
        let mut lineage = Vec::new();
        let mut current = name.to_string();
        // Bounded walk: a corrupt Z_SUPER cycle must not hang the reader.
        for _ in 0..32 {
            let &(ent, sup) = self.by_name.get(&current)?;
            lineage.push(ent);
            match self.name_of.get(&sup) {
                Some(parent) if sup != 0 && sup != ent => current = parent.clone(),
                _ => {
                    let table = format!("Z{}", current.to_uppercase());
                    return self
                        .tables
                        .contains(&table)
                        .then_some(Entity { lineage, table });
                }
            }
        }
        None
    }
}

/// Finds the join table with a column `Z_<n><left_suffix>` for some `n` in
/// `left` and a column `Z_<m><right_suffix>` for some `m` in `right`.
fn find_join(
    columns: &HashMap<String, HashSet<String>>,
    left: &[i64],
    left_suffix: &str,
    right: &[i64],
    right_suffix: &str,
) -> Option<JoinTable> {
    let find = |cols: &HashSet<String>, ents: &[i64], suffix: &str| {
        ents.iter()
            .map(|e| format!("Z_{e}{suffix}"))
            .find(|c| cols.contains(c))
    };
    let mut candidates: Vec<_> = columns
        .iter()
        .filter(|(t, _)| t.starts_with("Z_"))
        .filter_map(|(t, cols)| {
            let l = find(cols, left, left_suffix)?;
            let r = find(cols, right, right_suffix)?;
            Some(JoinTable {
                table: t.clone(),
                left: l,
                right: r,
            })
        })
        .collect();
    // Deterministic choice if a damaged schema offers several.
    candidates.sort_by(|a, b| a.table.cmp(&b.table));
    candidates.into_iter().next()
}

fn table_names(conn: &Connection) -> Result<HashSet<String>, rusqlite::Error> {
    let mut stmt = conn.prepare("SELECT name FROM sqlite_master WHERE type = 'table'")?;
    let names = stmt.query_map([], |r| r.get::<_, String>(0))?;
    names.collect()
}

fn table_columns(conn: &Connection, table: &str) -> Result<HashSet<String>, rusqlite::Error> {
    let mut stmt = conn.prepare("SELECT name FROM pragma_table_info(?1)")?;
    let names = stmt.query_map([table], |r| r.get::<_, String>(0))?;
    names.collect()
}
