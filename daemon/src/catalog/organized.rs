//! The organize engine's record: one row per source file it has handled,
//! keyed by where the file came from, so that a second run over the same
//! folder or library does nothing and a new file is handled once.
//!
//! The files written are also recorded in `files` (role `organized`), like
//! every engine's, so `verify` and a restore see them.

use std::collections::HashMap;

use chrono::Utc;
use rusqlite::params;

use super::{Catalog, Result};

/// One source file as organized.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrganizedRecord {
    /// Where it came from: `folder:<absolute path>` or
    /// `library:<asset uuid>:<role>`.
    pub source_key: String,
    /// Its path when it was organized, for people.
    pub source_path: String,
    /// Its size then: a file changed in place is organized again.
    pub source_size: u64,
    /// Its modification time then, in nanoseconds since the epoch.
    pub source_mtime_ns: Option<i64>,
    /// What was written, relative to the destination root; `None` when
    /// nothing was (an edit sidecar left behind with its converted HEIC).
    pub path: Option<String>,
    /// The category folder (`photos`, `videos`, ...).
    pub category: String,
    /// What was done (`copied`, `converted`, `copied_unconverted`,
    /// `left_behind`).
    pub action: String,
    /// Bytes written.
    pub size: Option<u64>,
    /// BLAKE3 of the bytes written, hex.
    pub hash: Option<String>,
    /// The run that did it.
    pub run_id: i64,
}

impl Catalog {
    /// Every source file organized so far, by source key.
    pub fn organized(&self) -> Result<HashMap<String, OrganizedRecord>> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT source_key, source_path, source_size, source_mtime_ns, path, category,
                        action, size, hash, run_id FROM organized",
            )
            .map_err(self.err())?;
        let rows = stmt
            .query_map([], |r| {
                Ok(OrganizedRecord {
                    source_key: r.get(0)?,
                    source_path: r.get(1)?,
                    source_size: r.get::<_, i64>(2)? as u64,
                    source_mtime_ns: r.get(3)?,
                    path: r.get(4)?,
                    category: r.get(5)?,
                    action: r.get(6)?,
                    size: r.get::<_, Option<i64>>(7)?.map(|v| v as u64),
                    hash: r.get(8)?,
                    run_id: r.get(9)?,
                })
            })
            .map_err(self.err())?;
        let mut out = HashMap::new();
        for row in rows {
            let rec = row.map_err(self.err())?;
            out.insert(rec.source_key.clone(), rec);
        }
        Ok(out)
    }

    /// Records (or replaces) what was done with one source file.
    pub fn put_organized(&self, rec: &OrganizedRecord) -> Result<()> {
        self.conn
            .prepare_cached(
                "INSERT INTO organized (source_key, source_path, source_size, source_mtime_ns, path,
                   category, action, size, hash, run_id, organized_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)
                 ON CONFLICT (source_key) DO UPDATE SET source_path = ?2, source_size = ?3,
                   source_mtime_ns = ?4, path = ?5, category = ?6, action = ?7, size = ?8,
                   hash = ?9, run_id = ?10, organized_at = ?11",
            )
            .and_then(|mut s| {
                s.execute(params![
                    rec.source_key,
                    rec.source_path,
                    rec.source_size as i64,
                    rec.source_mtime_ns,
                    rec.path,
                    rec.category,
                    rec.action,
                    rec.size.map(|v| v as i64),
                    rec.hash,
                    rec.run_id,
                    Utc::now().to_rfc3339(),
                ])
            })
            .map_err(self.err())?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_survive_reopening_and_replace_by_key() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("catalog.sqlite");
        let c = Catalog::open(&path).unwrap();
        let run = c.begin_run("organize", Utc::now(), "/photos", "k").unwrap();
        let mut rec = OrganizedRecord {
            source_key: "folder:/photos/IMG_1.HEIC".into(),
            source_path: "/photos/IMG_1.HEIC".into(),
            source_size: 10,
            source_mtime_ns: Some(5),
            path: Some("Organized/photos/2024.01.02.03.04.05.jpg".into()),
            category: "photos".into(),
            action: "converted".into(),
            size: Some(20),
            hash: Some("h".into()),
            run_id: run,
        };
        c.put_organized(&rec).unwrap();
        rec.source_size = 11;
        c.put_organized(&rec).unwrap();
        drop(c);
        let c = Catalog::open(&path).unwrap();
        let all = c.organized().unwrap();
        assert_eq!(all.len(), 1);
        assert_eq!(all[&rec.source_key], rec);
    }
}
