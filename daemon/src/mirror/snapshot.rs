//! A consistent copy of a live SQLite database.
//!
//! Copying `Photos.sqlite` as bytes while Photos writes gives a file torn
//! between two transactions, and copying it without its `-wal` loses every
//! change not yet checkpointed. SQLite's online backup API, run in a single
//! step, copies every page inside one read transaction: the result holds
//! exactly one committed state, the WAL's content included, and is a
//! self-contained database (its `-wal` and `-shm` are never copied).
//!
//! The source is opened by the library reader's own [`Database`], without
//! writing a byte of the library: `immutable` when there is no WAL (checked
//! afterwards for a checkpoint that rewrote it meanwhile), `readonly_shm`
//! beside a WAL, and from a private copy of the database and its WAL when
//! neither works (read-only media).

use std::fs;
use std::io::{self, Read};
use std::path::Path;
use std::time::Duration;

use rusqlite::backup::{Backup, StepResult};
use rusqlite::{Connection, OpenFlags};

use crate::library::Database;

/// The first 16 bytes of every SQLite database file.
const MAGIC: &[u8; 16] = b"SQLite format 3\0";

/// Whether `path` is an SQLite database (by its header).
pub(super) fn is_sqlite(path: &Path) -> io::Result<bool> {
    let mut head = [0u8; 16];
    let mut f = fs::File::open(path)?;
    let mut filled = 0;
    while filled < head.len() {
        match f.read(&mut head[filled..])? {
            0 => return Ok(false),
            n => filled += n,
        }
    }
    Ok(&head == MAGIC)
}

/// Writes a consistent snapshot of the database `src` into the (empty) file
/// `target`, and checks it with `PRAGMA quick_check`: a damaged source is
/// reported rather than mirrored over a good copy.
pub(super) fn snapshot(src: &Path, target: &Path) -> io::Result<()> {
    for _ in 0..5 {
        // Opened as the library reader opens Photos.sqlite.
        let db = Database::open_file(src, src).map_err(|e| io::Error::other(e.to_string()))?;
        backup_into(&db.conn, target)?;
        // An immutable open takes no lock: a checkpoint may have rewritten
        // the file while we read it. Then read again.
        if db.unchanged_since_open() {
            return check(target);
        }
    }
    Err(io::Error::other(
        "the database kept changing while it was copied; the next run tries again",
    ))
}

fn sql(e: rusqlite::Error) -> io::Error {
    io::Error::other(format!("SQLite: {e}"))
}

/// Copies every page of `conn`'s main database into `target` in one step
/// (one read transaction on the source).
fn backup_into(conn: &Connection, target: &Path) -> io::Result<()> {
    let mut dst = Connection::open(target).map_err(sql)?;
    {
        let backup = Backup::new(conn, &mut dst).map_err(sql)?;
        // -1: every page in one step, inside one read transaction.
        let mut waited = 0;
        loop {
            match backup.step(-1).map_err(sql)? {
                StepResult::Done => break,
                StepResult::More | StepResult::Busy | StepResult::Locked if waited < 200 => {
                    waited += 1;
                    std::thread::sleep(Duration::from_millis(50));
                }
                _ => {
                    return Err(io::Error::other(
                        "the database stayed locked for 10 s; the next run tries again",
                    ))
                }
            }
        }
    }
    // The copy keeps the source's journal mode in its header (WAL for
    // Photos), so Photos opens it as it opened the original; closing here
    // removes the rollback journal the backup used.
    dst.close().map_err(|(_, e)| sql(e))
}

/// `PRAGMA quick_check` on the copy, opened without creating `-wal`/`-shm`
/// files beside it.
fn check(target: &Path) -> io::Result<()> {
    let uri = format!(
        "file:{}?mode=ro&immutable=1",
        crate::sqlite_uri::escape(target)
    );
    let conn = Connection::open_with_flags(
        uri,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_URI,
    )
    .map_err(sql)?;
    let result: String = conn
        .query_row("PRAGMA quick_check", [], |r| r.get(0))
        .map_err(sql)?;
    if result == "ok" {
        Ok(())
    } else {
        Err(io::Error::other(format!(
            "the database fails SQLite's integrity check ({result}); the mirror keeps its previous copy — check the library with Photos (hold Option+Command at launch to repair it)"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_snapshot_holds_what_is_only_in_the_wal() {
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("a.sqlite");
        let writer = Connection::open(&src).unwrap();
        let _: String = writer
            .query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))
            .unwrap();
        writer
            .execute_batch(
                "PRAGMA wal_autocheckpoint = 0; CREATE TABLE t (x); INSERT INTO t VALUES (1), (2);",
            )
            .unwrap();
        assert!(fs::metadata(dir.path().join("a.sqlite-wal")).unwrap().len() > 0);
        let target = dir.path().join("copy.sqlite");
        fs::File::create(&target).unwrap();
        snapshot(&src, &target).unwrap();
        assert!(is_sqlite(&target).unwrap());
        assert!(!dir.path().join("copy.sqlite-wal").exists());
        let copy = Connection::open(&target).unwrap();
        let n: i64 = copy
            .query_row("SELECT count(*) FROM t", [], |r| r.get(0))
            .unwrap();
        assert_eq!(n, 2);
    }

    #[test]
    fn a_file_that_is_not_a_database_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("x.sqlite");
        fs::write(&src, b"not a database at all, just some text").unwrap();
        assert!(!is_sqlite(&src).unwrap());
        let target = dir.path().join("copy");
        fs::File::create(&target).unwrap();
        assert!(snapshot(&src, &target).is_err());
    }
}
