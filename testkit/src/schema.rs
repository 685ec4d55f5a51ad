//! The real `Photos.sqlite` schemas of both generations, with renumberable
//! Core Data entities.
//!
//! `schema/*.sql` hold the fixtures' own CREATE statements (regenerate with
//! `schema/extract.py`), with entity numbers in table and column names
//! (`Z_26ASSETS`, `Z34_ASSET`...) replaced by `{EntityName}` placeholders;
//! `schema/*-entities.txt` hold the fixtures' `Z_PRIMARYKEY`. Defaults differ
//! from the fixtures' numbering on purpose, so that a reader that hard-coded
//! the fixtures' numbers fails against synthetic libraries.

use anyhow::{anyhow, bail, Result};
use rusqlite::Connection;
use std::collections::BTreeMap;

const PHOTOS5_SQL: &str = include_str!("../schema/photos5.sql");
const MODERN_SQL: &str = include_str!("../schema/modern.sql");
const PHOTOS5_ENTITIES: &str = include_str!("../schema/photos5-entities.txt");
const MODERN_ENTITIES: &str = include_str!("../schema/modern-entities.txt");

/// Which `Photos.sqlite` schema to write.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Generation {
    /// Photos 5 (macOS 10.15): asset table `ZGENERICASSET` (entity
    /// `GenericAsset` with sub-entity `Asset`), faces `ZPERSON`/`ZASSET`.
    Photos5,
    /// macOS 11 and later (schema of macOS 15): asset table `ZASSET`, faces
    /// `ZPERSONFORFACE`/`ZASSETFORFACE`.
    Modern,
}

impl Generation {
    /// The schema template (one statement per line).
    pub fn schema_template(self) -> &'static str {
        match self {
            Generation::Photos5 => PHOTOS5_SQL,
            Generation::Modern => MODERN_SQL,
        }
    }

    /// `PLModelVersion` in `Z_METADATA`, as in the fixtures.
    pub fn model_version(self) -> i64 {
        match self {
            Generation::Photos5 => 13703,
            Generation::Modern => 18600,
        }
    }

    /// `NSPersistenceFrameworkVersion` in `Z_METADATA`, as in the fixtures.
    pub(crate) fn framework_version(self) -> i64 {
        match self {
            Generation::Photos5 => 977,
            Generation::Modern => 1448,
        }
    }

    /// The asset table's name.
    pub fn asset_table(self) -> &'static str {
        match self {
            Generation::Photos5 => "ZGENERICASSET",
            Generation::Modern => "ZASSET",
        }
    }

    /// The entity whose number names album-join and `Z<n>_ASSET` columns:
    /// `GenericAsset` in Photos 5, `Asset` after.
    pub fn asset_root_entity(self) -> &'static str {
        match self {
            Generation::Photos5 => "GenericAsset",
            Generation::Modern => "Asset",
        }
    }

    fn default_overrides(self) -> &'static [(&'static str, i64)] {
        match self {
            Generation::Photos5 => &[
                ("GenericAsset", 32),
                ("Asset", 33),
                ("Album", 27),
                ("Keyword", 38),
            ],
            Generation::Modern => &[("Asset", 4), ("Album", 32), ("Keyword", 45)],
        }
    }

    fn fixture_entities(self) -> Vec<(i64, String, i64)> {
        let text = match self {
            Generation::Photos5 => PHOTOS5_ENTITIES,
            Generation::Modern => MODERN_ENTITIES,
        };
        text.lines()
            .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
            .map(|l| {
                let mut f = l.split('|');
                let ent = f.next().and_then(|v| v.parse().ok()).unwrap_or(0);
                let name = f.next().unwrap_or_default().to_string();
                let sup = f.next().and_then(|v| v.parse().ok()).unwrap_or(0);
                (ent, name, sup)
            })
            .collect()
    }
}

/// One row of `Z_PRIMARYKEY`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entity {
    /// `Z_ENT`.
    pub number: i64,
    /// `Z_NAME`.
    pub name: String,
    /// `Z_NAME` of the super-entity, if any (`Z_SUPER` holds its number).
    pub super_name: Option<String>,
}

/// The entity numbering of one library: every entity of the generation's
/// model, with numbers taken from overrides first, then the fixture's number
/// when still free, then the next free number.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EntityNumbers {
    entities: Vec<Entity>,
    by_name: BTreeMap<String, i64>,
}

impl EntityNumbers {
    /// The default numbering of `generation` plus `overrides` (name, number).
    pub fn resolve(generation: Generation, overrides: &[(String, i64)]) -> Result<EntityNumbers> {
        let fixture = generation.fixture_entities();
        let fixture_names: BTreeMap<i64, String> =
            fixture.iter().map(|(e, n, _)| (*e, n.clone())).collect();
        let mut wanted: BTreeMap<String, i64> = generation
            .default_overrides()
            .iter()
            .map(|(n, e)| (n.to_string(), *e))
            .collect();
        for (name, number) in overrides {
            if !fixture.iter().any(|(_, n, _)| n == name) {
                bail!("unknown entity {name:?} for {generation:?}");
            }
            wanted.insert(name.clone(), *number);
        }
        let mut used: BTreeMap<i64, String> = BTreeMap::new();
        for (name, number) in &wanted {
            if let Some(other) = used.insert(*number, name.clone()) {
                bail!("entities {other} and {name} both numbered {number}");
            }
        }
        let mut by_name = wanted.clone();
        let mut next_free = fixture
            .iter()
            .map(|(e, _, _)| *e)
            .filter(|e| *e < 16000)
            .max()
            .unwrap_or(0)
            + 1;
        for (ent, name, _) in &fixture {
            if by_name.contains_key(name) {
                continue;
            }
            let number = if used.contains_key(ent) {
                while used.contains_key(&next_free) {
                    next_free += 1;
                }
                next_free
            } else {
                *ent
            };
            used.insert(number, name.clone());
            by_name.insert(name.clone(), number);
        }
        let mut entities: Vec<Entity> = fixture
            .iter()
            .map(|(_, name, sup)| Entity {
                number: by_name[name],
                name: name.clone(),
                super_name: (*sup != 0).then(|| fixture_names[sup].clone()),
            })
            .collect();
        entities.sort_by_key(|e| e.number);
        Ok(EntityNumbers { entities, by_name })
    }

    /// The number of entity `name` (e.g. `"Album"`).
    pub fn get(&self, name: &str) -> Result<i64> {
        self.by_name
            .get(name)
            .copied()
            .ok_or_else(|| anyhow!("no entity named {name:?}"))
    }

    /// All entities, by number.
    pub fn entities(&self) -> &[Entity] {
        &self.entities
    }

    /// `template` with every `{Entity}` placeholder replaced by its number.
    pub fn render(&self, template: &str) -> Result<String> {
        let mut out = String::with_capacity(template.len());
        let mut rest = template;
        while let Some(start) = rest.find('{') {
            out.push_str(&rest[..start]);
            let end = rest[start..]
                .find('}')
                .ok_or_else(|| anyhow!("unclosed placeholder in {template:?}"))?;
            out.push_str(&self.get(&rest[start + 1..start + end])?.to_string());
            rest = &rest[start + end + 1..];
        }
        out.push_str(rest);
        Ok(out)
    }
}

/// The generation's CREATE statements rendered with `numbers`: tables, then
/// indexes (kept apart so a bulk build can add indexes after inserting).
pub fn statements(
    generation: Generation,
    numbers: &EntityNumbers,
) -> Result<(Vec<String>, Vec<String>)> {
    let mut tables = Vec::new();
    let mut indexes = Vec::new();
    for line in generation.schema_template().lines() {
        if !line.starts_with("CREATE") {
            continue;
        }
        let sql = numbers.render(line)?;
        if line.starts_with("CREATE INDEX") || line.starts_with("CREATE UNIQUE INDEX") {
            indexes.push(sql);
        } else {
            tables.push(sql);
        }
    }
    Ok((tables, indexes))
}

/// Runs a list of statements.
pub fn run_all(conn: &Connection, statements: &[String]) -> Result<()> {
    for sql in statements {
        conn.execute_batch(sql)
            .map_err(|e| anyhow!("{e}: while running {sql}"))?;
    }
    Ok(())
}

/// Which table holds the rows of a root entity the testkit populates, to
/// compute `Z_PRIMARYKEY.Z_MAX`.
pub fn table_of_root_entity(generation: Generation, name: &str) -> Option<&'static str> {
    Some(match name {
        "GenericAsset" if generation == Generation::Photos5 => "ZGENERICASSET",
        "Asset" if generation == Generation::Modern => "ZASSET",
        "AdditionalAssetAttributes" => "ZADDITIONALASSETATTRIBUTES",
        "AssetDescription" => "ZASSETDESCRIPTION",
        "InternalResource" => "ZINTERNALRESOURCE",
        "GenericAlbum" => "ZGENERICALBUM",
        "Keyword" => "ZKEYWORD",
        "Person" => "ZPERSON",
        "DetectedFace" => "ZDETECTEDFACE",
        "FileSystemVolume" => "ZFILESYSTEMVOLUME",
        "FileSystemBookmark" => "ZFILESYSTEMBOOKMARK",
        "UnmanagedAdjustment" => "ZUNMANAGEDADJUSTMENT",
        "Moment" => "ZMOMENT",
        "UniformTypeIdentifier" => "ZUNIFORMTYPEIDENTIFIER",
        "CloudSharedAlbumInvitationRecord" => "ZCLOUDSHAREDALBUMINVITATIONRECORD",
        "CHANGE" => "ACHANGE",
        "TRANSACTION" => "ATRANSACTION",
        "TRANSACTIONSTRING" => "ATRANSACTIONSTRING",
        _ => return None,
    })
}

/// Writes `Z_PRIMARYKEY` (Z_MAX from the current table contents).
pub fn write_primary_keys(
    conn: &Connection,
    generation: Generation,
    numbers: &EntityNumbers,
) -> Result<()> {
    conn.execute("DELETE FROM Z_PRIMARYKEY", [])?;
    let mut insert = conn.prepare(
        "INSERT INTO Z_PRIMARYKEY (Z_ENT, Z_NAME, Z_SUPER, Z_MAX) VALUES (?1, ?2, ?3, ?4)",
    )?;
    for e in numbers.entities() {
        let sup = match &e.super_name {
            Some(s) => numbers.get(s)?,
            None => 0,
        };
        let max: i64 = match (sup, table_of_root_entity(generation, &e.name)) {
            (0, Some(table)) => conn.query_row(
                &format!("SELECT COALESCE(MAX(Z_PK), 0) FROM {table}"),
                [],
                |r| r.get(0),
            )?,
            _ => 0,
        };
        insert.execute(rusqlite::params![e.number, e.name, sup, max])?;
    }
    Ok(())
}
