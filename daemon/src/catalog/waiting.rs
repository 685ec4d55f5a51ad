//! Assets that wait for a later run: an original (or another source file)
//! that was not on disk, typically a cloud-only original of an iCloud
//! library with "Optimize Mac Storage", or a file that failed to copy.
//!
//! Such assets are the common case, not the corner (thousands in a real
//! iCloud library), so they must not force every run to read the whole
//! library: the catalog keeps the paths each one waits for, and a run asks
//! the disk about those paths only (from one listing per folder).

use super::{Catalog, Result};

/// An asset a run may have to look at again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WaitingAsset {
    /// Photos' uuid.
    pub uuid: String,
    /// The source files it waits for (library-relative or absolute). Empty
    /// with `unknown` when a catalog from before version 4 did not say.
    pub paths: Vec<String>,
    /// Its original is missing but the catalog does not know which paths
    /// it waits for (recorded by an older photovault): read it again.
    pub unknown: bool,
    /// A file of it failed at the last run: retry it.
    pub failed: bool,
}

impl Catalog {
    /// Every asset still in the library that waits for a file or failed.
    pub fn waiting_assets(&self) -> Result<Vec<WaitingAsset>> {
        let sql = if self.version >= 4 {
            "SELECT uuid, waiting, original_missing, failed FROM assets
             WHERE gone_since IS NULL
               AND (waiting IS NOT NULL OR original_missing != 0 OR failed != 0)"
        } else {
            "SELECT uuid, NULL, original_missing, failed FROM assets
             WHERE gone_since IS NULL AND (original_missing != 0 OR failed != 0)"
        };
        let mut stmt = self.conn.prepare(sql).map_err(self.err())?;
        let rows = stmt
            .query_map([], |r| {
                let waiting: Option<String> = r.get(1)?;
                let original_missing: bool = r.get(2)?;
                Ok(WaitingAsset {
                    uuid: r.get(0)?,
                    unknown: original_missing && waiting.is_none(),
                    paths: split(waiting),
                    failed: r.get(3)?,
                })
            })
            .map_err(self.err())?;
        rows.collect::<rusqlite::Result<_>>().map_err(self.err())
    }

    /// How many assets still in the library have no original in the
    /// backup because it was not on disk: what every run reports as
    /// missing, whether it read them this time or not.
    pub fn missing_originals(&self) -> Result<u64> {
        self.conn
            .query_row(
                "SELECT count(*) FROM assets WHERE gone_since IS NULL AND original_missing != 0",
                [],
                |r| r.get::<_, i64>(0),
            )
            .map(|n| n as u64)
            .map_err(self.err())
    }
}

/// The stored form of a list of paths: newline-separated (a path in a
/// Photos library has no newline: the reader refuses such names), NULL
/// when empty.
pub(super) fn join(paths: &[String]) -> Option<String> {
    (!paths.is_empty()).then(|| paths.join("\n"))
}

/// The list back from its stored form.
pub(super) fn split(stored: Option<String>) -> Vec<String> {
    stored
        .map(|s| s.split('\n').map(str::to_string).collect())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::AssetRecord;

    fn record(uuid: &str, missing: bool, waiting: &[&str]) -> AssetRecord {
        AssetRecord {
            uuid: uuid.into(),
            folder: "2024".into(),
            stem: uuid.into(),
            fingerprint: Some("f".into()),
            original_missing: missing,
            failed: false,
            gone_since: None,
            waiting: waiting.iter().map(|s| s.to_string()).collect(),
        }
    }

    #[test]
    fn lists_the_assets_that_wait_with_their_paths() {
        let dir = tempfile::tempdir().unwrap();
        let c = Catalog::open(&dir.path().join("catalog.sqlite")).unwrap();
        c.put_asset(&record("DONE", false, &[])).unwrap();
        c.put_asset(&record(
            "CLOUD",
            true,
            &["originals/A/CLOUD.heic", "originals/A/CLOUD_3.mov"],
        ))
        .unwrap();
        c.put_asset(&record("OLD", true, &[])).unwrap();
        let mut failed = record("FAILED", false, &[]);
        failed.failed = true;
        c.put_asset(&failed).unwrap();

        let mut waiting = c.waiting_assets().unwrap();
        waiting.sort_by(|a, b| a.uuid.cmp(&b.uuid));
        let uuids: Vec<&str> = waiting.iter().map(|w| w.uuid.as_str()).collect();
        assert_eq!(uuids, ["CLOUD", "FAILED", "OLD"]);
        assert_eq!(
            waiting[0].paths,
            ["originals/A/CLOUD.heic", "originals/A/CLOUD_3.mov"]
        );
        assert!(!waiting[0].unknown);
        assert!(waiting[1].failed);
        assert!(waiting[2].unknown, "a record without paths is read again");
        assert_eq!(c.missing_originals().unwrap(), 2);

        let back = c.assets().unwrap();
        assert_eq!(back["CLOUD"].waiting.len(), 2);
        assert!(back["DONE"].waiting.is_empty());
    }
}
