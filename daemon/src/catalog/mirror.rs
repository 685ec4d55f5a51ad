//! The mirror's records: one row per file of the mirrored package
//! (`mirror_files`), and the `versions` rows that let a restore rebuild the
//! package as it was at any earlier run.
//!
//! A file's row says which run wrote it; when a later run replaces or
//! deletes it, the row moves to `versions` with both runs (the one that
//! wrote it and the one that moved it away). The package as it was at the
//! end of run R is then: the current files written by runs up to R, plus the
//! moved files written up to R and moved away after R.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use rusqlite::params;

use super::{Catalog, Result};

/// One file of a mirrored package as recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MirrorFile {
    /// Path relative to the destination root (`Library/<name>/...`).
    pub path: String,
    /// Size in bytes.
    pub size: u64,
    /// Modification time given to the copy (the source's), in ns.
    pub mtime_ns: Option<i64>,
    /// BLAKE3 of the content, hex.
    pub hash: String,
    /// The source's size and time (and its WAL's, for a database) when it
    /// was copied: the same key next time means the same content.
    pub source_key: String,
    /// "file", or "database" for an SQLite file copied from a snapshot.
    pub kind: String,
    /// The run that wrote it.
    pub run_id: i64,
}

/// A file that a run moved into `Versions/`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VersionRecord {
    /// Where it was, relative to the destination root.
    pub path: String,
    /// Where it is now, relative to the destination root.
    pub versions_path: String,
    /// Size in bytes, if known.
    pub size: Option<u64>,
    /// BLAKE3 of the content, hex, if known.
    pub hash: Option<String>,
    /// The run that moved it away.
    pub run_id: i64,
    /// The run that wrote it (unknown for moves recorded before catalog
    /// version 2).
    pub written_run: Option<i64>,
    /// Removed from the drive by `Versions/` retention.
    pub pruned: bool,
}

impl Catalog {
    /// What a mirror run compares with: the source key of every mirrored
    /// file under `prefix`, read by `parse` straight from the row, by its
    /// path with the prefix removed. Only what planning needs, so that a
    /// run with nothing to do stays quick.
    pub fn mirror_keys<K>(
        &self,
        prefix: &str,
        parse: impl Fn(&str) -> K,
    ) -> Result<HashMap<String, K>> {
        // A range on the primary key: the index finds the package's rows.
        let mut end = prefix.to_string();
        end.push(char::MAX);
        let mut stmt = self
            .conn
            .prepare("SELECT path, source_key FROM mirror_files WHERE path >= ?1 AND path < ?2")
            .map_err(self.err())?;
        let mut rows = stmt.query([prefix, end.as_str()]).map_err(self.err())?;
        let mut out = HashMap::new();
        while let Some(r) = rows.next().map_err(self.err())? {
            let path = r
                .get_ref(0)
                .and_then(|v| Ok(v.as_str()?))
                .map_err(self.err())?;
            let key = r
                .get_ref(1)
                .and_then(|v| Ok(v.as_str()?))
                .map_err(self.err())?;
            if let Some(rel) = path.strip_prefix(prefix) {
                out.insert(rel.to_string(), parse(key));
            }
        }
        Ok(out)
    }

    /// The mirrored file at `path`, if any.
    pub fn mirror_file(&self, path: &str) -> Result<Option<MirrorFile>> {
        use rusqlite::OptionalExtension;
        self.conn
            .prepare_cached(
                "SELECT path, size, mtime_ns, hash, source_key, kind, run_id FROM mirror_files
                 WHERE path = ?1",
            )
            .and_then(|mut s| s.query_row([path], mirror_file).optional())
            .map_err(self.err())
    }

    /// Every mirrored file, ordered by path.
    pub fn all_mirror_files(&self) -> Result<Vec<MirrorFile>> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT path, size, mtime_ns, hash, source_key, kind, run_id FROM mirror_files
                 ORDER BY path",
            )
            .map_err(self.err())?;
        let rows = stmt.query_map([], mirror_file).map_err(self.err())?;
        rows.collect::<rusqlite::Result<_>>().map_err(self.err())
    }

    /// Records a mirrored file, replacing any earlier record of its path.
    pub fn put_mirror_file(&self, rec: &MirrorFile) -> Result<()> {
        self.conn
            .prepare_cached(
                "INSERT INTO mirror_files (path, size, mtime_ns, hash, source_key, kind, run_id, written_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
                 ON CONFLICT (path) DO UPDATE SET size = ?2, mtime_ns = ?3, hash = ?4,
                   source_key = ?5, kind = ?6, run_id = ?7, written_at = ?8",
            )
            .and_then(|mut s| {
                s.execute(params![
                    rec.path,
                    rec.size as i64,
                    rec.mtime_ns,
                    rec.hash,
                    rec.source_key,
                    rec.kind,
                    rec.run_id,
                    Utc::now().to_rfc3339(),
                ])
            })
            .map_err(self.err())?;
        Ok(())
    }

    /// Records that run `run` moved the mirrored file at `path` to
    /// `versions_path`, and forgets it as a current file. A copy that
    /// verify found damaged keeps no hash: it is kept, but not vouched for.
    pub fn move_mirror_to_versions(&self, path: &str, versions_path: &str, run: i64) -> Result<()> {
        self.conn
            .prepare_cached(
                "INSERT INTO versions (path, versions_path, role, size, hash, run_id, moved_at, written_run)
                 SELECT path, ?2, 'mirror', size, CASE WHEN source_key = 'recopy' THEN NULL ELSE hash END, ?3, ?4, run_id
                 FROM mirror_files WHERE path = ?1",
            )
            .and_then(|mut s| s.execute(params![path, versions_path, run, Utc::now().to_rfc3339()]))
            .map_err(self.err())?;
        self.forget_mirror_file(path)
    }

    /// Forgets the mirrored file at `path` (it is no longer on the drive).
    pub fn forget_mirror_file(&self, path: &str) -> Result<()> {
        self.conn
            .prepare_cached("DELETE FROM mirror_files WHERE path = ?1")
            .and_then(|mut s| s.execute([path]))
            .map_err(self.err())?;
        Ok(())
    }

    /// Makes the next backup copy the file at `path` again (verify found it
    /// missing or damaged): its source key no longer matches anything, and
    /// an exported file's asset is no longer taken as up to date. Returns
    /// whether `path` is a current mirrored or exported file.
    pub fn mark_for_recopy(&self, path: &str) -> Result<bool> {
        let mirrored = self
            .conn
            .execute(
                "UPDATE mirror_files SET source_key = 'recopy' WHERE path = ?1",
                [path],
            )
            .map_err(self.err())?;
        self.conn
            .execute(
                "UPDATE assets SET fingerprint = NULL, failed = 1
                 WHERE uuid = (SELECT asset_uuid FROM files WHERE path = ?1)",
                [path],
            )
            .map_err(self.err())?;
        let exported = self
            .conn
            .execute(
                "UPDATE files SET source_key = 'recopy' WHERE path = ?1",
                [path],
            )
            .map_err(self.err())?;
        Ok(mirrored + exported > 0)
    }

    /// Every file ever moved into `Versions/`, pruned ones included, oldest
    /// move first.
    pub fn versions(&self) -> Result<Vec<VersionRecord>> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT path, versions_path, size, hash, run_id, written_run, pruned_at IS NOT NULL
                 FROM versions ORDER BY id",
            )
            .map_err(self.err())?;
        let rows = stmt
            .query_map([], |r| {
                Ok(VersionRecord {
                    path: r.get(0)?,
                    versions_path: r.get(1)?,
                    size: r.get::<_, Option<i64>>(2)?.map(|s| s as u64),
                    hash: r.get(3)?,
                    run_id: r.get(4)?,
                    written_run: r.get(5)?,
                    pruned: r.get(6)?,
                })
            })
            .map_err(self.err())?;
        rows.collect::<rusqlite::Result<_>>().map_err(self.err())
    }

    /// Records that retention removed every version under `folder`
    /// (`Versions/<stamp>/`) from the drive; returns how many rows.
    pub fn mark_versions_pruned(&self, folder: &str, when: DateTime<Utc>) -> Result<u64> {
        let prefix = format!("{}/", folder.trim_end_matches('/'));
        let n = self
            .conn
            .execute(
                "UPDATE versions SET pruned_at = ?2
                 WHERE pruned_at IS NULL AND substr(versions_path, 1, length(?1)) = ?1",
                params![prefix, when.to_rfc3339()],
            )
            .map_err(self.err())?;
        Ok(n as u64)
    }
}

fn mirror_file(r: &rusqlite::Row) -> rusqlite::Result<MirrorFile> {
    Ok(MirrorFile {
        path: r.get(0)?,
        size: r.get::<_, i64>(1)? as u64,
        mtime_ns: r.get(2)?,
        hash: r.get(3)?,
        source_key: r.get(4)?,
        kind: r.get(5)?,
        run_id: r.get(6)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(path: &str, hash: &str, run: i64) -> MirrorFile {
        MirrorFile {
            path: path.into(),
            size: 3,
            mtime_ns: Some(1),
            hash: hash.into(),
            source_key: "3:1".into(),
            kind: "file".into(),
            run_id: run,
        }
    }

    #[test]
    fn a_replaced_file_keeps_both_runs_in_versions() {
        let dir = tempfile::tempdir().unwrap();
        let c = Catalog::open(&dir.path().join("c.sqlite")).unwrap();
        c.put_mirror_file(&file("Library/L/a", "h1", 1)).unwrap();
        c.put_mirror_file(&file("Library/L/b", "h2", 1)).unwrap();
        c.put_mirror_file(&file("Other/x", "h3", 1)).unwrap();
        let keys = c.mirror_keys("Library/L/", str::to_string).unwrap();
        assert_eq!(keys.len(), 2);
        assert_eq!(keys["a"], "3:1");

        c.move_mirror_to_versions("Library/L/a", "Versions/S/Library/L/a", 2)
            .unwrap();
        assert!(c.mirror_file("Library/L/a").unwrap().is_none());
        assert!(c.mirror_file("Library/L/b").unwrap().is_some());
        let v = c.versions().unwrap();
        assert_eq!(v.len(), 1);
        assert_eq!(
            (
                v[0].run_id,
                v[0].written_run,
                v[0].hash.as_deref(),
                v[0].pruned
            ),
            (2, Some(1), Some("h1"), false)
        );
        assert_eq!(c.mark_versions_pruned("Versions/T", Utc::now()).unwrap(), 0);
        assert_eq!(c.mark_versions_pruned("Versions/S", Utc::now()).unwrap(), 1);
        assert!(c.versions().unwrap()[0].pruned);
    }
}
