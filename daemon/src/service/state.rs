//! The daemon's state database (`<state_dir>/state.sqlite`): every job,
//! queued, running or finished, so a restart or a crash loses none.
//!
//! A job that was running when the daemon stopped is found in state
//! `running` at the next start and queued again: the export engine resumes
//! where the catalog says it stopped.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use chrono::{DateTime, SecondsFormat, Utc};
use photovault_protocol::{JobInfo, JobState, JobSummary};
use rusqlite::{params, Connection, OptionalExtension};

/// Why the state database could not be used.
#[derive(Debug, thiserror::Error)]
#[error("the state database {path} could not be used ({source}); check that the state folder is writable, or move the file aside to start afresh (jobs queued in it are then lost, backups are not)")]
pub struct StateError {
    path: PathBuf,
    #[source]
    source: rusqlite::Error,
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS jobs (
    id             INTEGER PRIMARY KEY,
    kind           TEXT NOT NULL,
    destination_id TEXT NOT NULL,
    destination    TEXT NOT NULL,
    state          TEXT NOT NULL,
    reason         TEXT NOT NULL,
    created        TEXT NOT NULL,
    started        TEXT,
    ended          TEXT,
    attempts       INTEGER NOT NULL DEFAULT 0,
    retry_at       TEXT,
    error          TEXT,
    summary        TEXT
);
CREATE INDEX IF NOT EXISTS jobs_state ON jobs (state);
CREATE INDEX IF NOT EXISTS jobs_destination ON jobs (destination_id, state);
";

const COLUMNS: &str = "id, kind, destination, destination_id, state, reason, created, started, \
                       ended, attempts, retry_at, error, summary";

/// The jobs, persisted. Every method is one short statement or
/// transaction; the connection is shared behind a mutex by the scheduler,
/// the workers and the socket handlers.
pub struct StateDb {
    path: PathBuf,
    conn: Mutex<Connection>,
}

/// RFC 3339 in UTC with seconds, as stored and shown.
pub fn timestamp(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

impl StateDb {
    /// Opens (creating) the database at `path`.
    pub fn open(path: &Path) -> Result<Self, StateError> {
        let err = |source| StateError {
            path: path.to_path_buf(),
            source,
        };
        let conn = Connection::open(path).map_err(err)?;
        conn.busy_timeout(std::time::Duration::from_secs(5))
            .map_err(err)?;
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(err)?;
        conn.pragma_update(None, "synchronous", "NORMAL")
            .map_err(err)?;
        conn.execute_batch(SCHEMA).map_err(err)?;
        // Added after the first release: a job's options (JSON).
        if conn.prepare("SELECT options FROM jobs LIMIT 0").is_err() {
            conn.execute_batch("ALTER TABLE jobs ADD COLUMN options TEXT")
                .map_err(err)?;
        }
        Ok(StateDb {
            path: path.to_path_buf(),
            conn: Mutex::new(conn),
        })
    }

    fn with<T>(&self, f: impl FnOnce(&Connection) -> rusqlite::Result<T>) -> Result<T, StateError> {
        // A panic while holding the lock leaves the connection usable.
        let conn = self.conn.lock().unwrap_or_else(|e| e.into_inner());
        f(&conn).map_err(|source| StateError {
            path: self.path.clone(),
            source,
        })
    }

    /// Puts jobs left `running` by a daemon that stopped back in the queue;
    /// returns how many.
    pub fn requeue_running(&self, why: &str) -> Result<usize, StateError> {
        self.with(|c| {
            c.execute(
                "UPDATE jobs SET state = 'queued', error = ?1 WHERE state = 'running'",
                [why],
            )
        })
    }

    /// The queued job of `kind` for `destination_id`, if there is one: a
    /// new request joins it instead of queuing a duplicate.
    pub fn queued(&self, kind: &str, destination_id: &str) -> Result<Option<JobInfo>, StateError> {
        self.with(|c| {
            c.query_row(
                &format!(
                    "SELECT {COLUMNS} FROM jobs WHERE kind = ?1 AND destination_id = ?2 \
                     AND state = 'queued' ORDER BY id LIMIT 1"
                ),
                [kind, destination_id],
                row_to_job,
            )
            .optional()
        })
    }

    /// Queues a new job.
    pub fn insert(
        &self,
        kind: &str,
        destination_id: &str,
        destination: &str,
        reason: &str,
        now: DateTime<Utc>,
    ) -> Result<JobInfo, StateError> {
        self.with(|c| {
            c.query_row(
                &format!(
                    "INSERT INTO jobs (kind, destination_id, destination, state, reason, created) \
                     VALUES (?1, ?2, ?3, 'queued', ?4, ?5) RETURNING {COLUMNS}"
                ),
                params![kind, destination_id, destination, reason, timestamp(now)],
                row_to_job,
            )
        })
    }

    /// The job `id`.
    pub fn job(&self, id: i64) -> Result<Option<JobInfo>, StateError> {
        self.with(|c| {
            c.query_row(
                &format!("SELECT {COLUMNS} FROM jobs WHERE id = ?1"),
                [id],
                row_to_job,
            )
            .optional()
        })
    }

    /// Queued and running jobs, oldest first.
    pub fn active(&self) -> Result<Vec<JobInfo>, StateError> {
        self.query(
            &format!("SELECT {COLUMNS} FROM jobs WHERE state IN ('queued', 'running') ORDER BY id"),
            params![],
        )
    }

    /// Finished jobs, newest first, of one destination or all.
    pub fn history(
        &self,
        destination_id: Option<&str>,
        limit: u32,
    ) -> Result<Vec<JobInfo>, StateError> {
        self.query(
            &format!(
                "SELECT {COLUMNS} FROM jobs WHERE state NOT IN ('queued', 'running') \
                 AND (?1 IS NULL OR destination_id = ?1) ORDER BY id DESC LIMIT ?2"
            ),
            params![destination_id, limit],
        )
    }

    fn query(&self, sql: &str, params: impl rusqlite::Params) -> Result<Vec<JobInfo>, StateError> {
        self.with(|c| {
            let mut stmt = c.prepare(sql)?;
            let rows = stmt.query_map(params, row_to_job)?;
            rows.collect()
        })
    }

    /// End of the last successful backup (or, on a drive that receives
    /// organized folders, organize job) of `destination_id`.
    pub fn last_success(&self, destination_id: &str) -> Result<Option<String>, StateError> {
        self.with(|c| {
            c.query_row(
                "SELECT max(ended) FROM jobs WHERE destination_id = ?1 AND state = 'done'
                 AND kind IN ('export', 'organize')",
                [destination_id],
                |r| r.get(0),
            )
        })
    }

    /// End of the first successful backup (or organize job) of
    /// `destination_id`: where the verify schedule starts (that job hashed
    /// everything it wrote).
    pub fn first_success(&self, destination_id: &str) -> Result<Option<String>, StateError> {
        self.with(|c| {
            c.query_row(
                "SELECT min(ended) FROM jobs WHERE destination_id = ?1 AND state = 'done'
                 AND kind IN ('export', 'organize')",
                [destination_id],
                |r| r.get(0),
            )
        })
    }

    /// The last job of `kind` for `destination_id` that ended (done or
    /// failed; cancelled and interrupted ones say nothing about the drive).
    pub fn last_ended(
        &self,
        kind: &str,
        destination_id: &str,
    ) -> Result<Option<JobInfo>, StateError> {
        self.with(|c| {
            c.query_row(
                &format!(
                    "SELECT {COLUMNS} FROM jobs WHERE kind = ?1 AND destination_id = ?2 \
                     AND state IN ('done', 'failed') ORDER BY ended DESC, id DESC LIMIT 1"
                ),
                [kind, destination_id],
                row_to_job,
            )
            .optional()
        })
    }

    /// Sets job `id`'s options (JSON: what the request asked beyond the
    /// destination, such as allowing deletions or where to restore).
    pub fn set_options(&self, id: i64, options: &str) -> Result<(), StateError> {
        self.with(|c| {
            c.execute(
                "UPDATE jobs SET options = ?2 WHERE id = ?1",
                params![id, options],
            )
            .map(drop)
        })
    }

    /// Job `id`'s options, if any.
    pub fn options(&self, id: i64) -> Result<Option<String>, StateError> {
        self.with(|c| {
            c.query_row("SELECT options FROM jobs WHERE id = ?1", [id], |r| r.get(0))
                .optional()
                .map(Option::flatten)
        })
    }

    /// Marks job `id` as started now.
    pub fn start(&self, id: i64, now: DateTime<Utc>) -> Result<(), StateError> {
        self.with(|c| {
            c.execute(
                "UPDATE jobs SET state = 'running', started = ?2, ended = NULL, \
                 attempts = attempts + 1, retry_at = NULL, error = NULL WHERE id = ?1",
                params![id, timestamp(now)],
            )
            .map(drop)
        })
    }

    /// Records how job `id` ended.
    pub fn finish(
        &self,
        id: i64,
        state: JobState,
        error: Option<&str>,
        summary: Option<&JobSummary>,
        now: DateTime<Utc>,
    ) -> Result<(), StateError> {
        let summary = summary.map(|s| serde_json::to_string(s).unwrap_or_default());
        self.with(|c| {
            c.execute(
                "UPDATE jobs SET state = ?2, error = ?3, summary = ?4, ended = ?5 WHERE id = ?1",
                params![id, state.as_str(), error, summary, timestamp(now)],
            )
            .map(drop)
        })
    }

    /// Puts job `id` back in the queue, to start no earlier than `retry_at`
    /// (a transient error, a pause, or a daemon stopping).
    pub fn requeue(
        &self,
        id: i64,
        error: Option<&str>,
        retry_at: Option<DateTime<Utc>>,
    ) -> Result<(), StateError> {
        self.with(|c| {
            c.execute(
                "UPDATE jobs SET state = 'queued', error = ?2, retry_at = ?3 WHERE id = ?1",
                params![id, error, retry_at.map(timestamp)],
            )
            .map(drop)
        })
    }

    /// Sets the note of a queued job (why it waits).
    pub fn note(&self, id: i64, note: Option<&str>) -> Result<(), StateError> {
        self.with(|c| {
            c.execute(
                "UPDATE jobs SET error = ?2 WHERE id = ?1 AND state = 'queued'",
                params![id, note],
            )
            .map(drop)
        })
    }
}

fn row_to_job(r: &rusqlite::Row) -> rusqlite::Result<JobInfo> {
    let state: String = r.get(4)?;
    Ok(JobInfo {
        id: r.get(0)?,
        kind: r.get(1)?,
        destination: r.get(2)?,
        destination_id: r.get(3)?,
        state: JobState::parse(&state).unwrap_or(JobState::Failed),
        reason: r.get(5)?,
        created: r.get(6)?,
        started: r.get(7)?,
        ended: r.get(8)?,
        attempts: r.get(9)?,
        retry_at: r.get(10)?,
        error: r.get(11)?,
        progress: None,
        summary: r
            .get::<_, Option<String>>(12)?
            .and_then(|s| serde_json::from_str(&s).ok()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jobs_survive_a_reopen_and_running_ones_are_queued_again() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.sqlite");
        let now = Utc::now();
        {
            let db = StateDb::open(&path).unwrap();
            let a = db
                .insert("export", "d1", "Drive", "drive connected", now)
                .unwrap();
            assert_eq!(a.state, JobState::Queued);
            assert_eq!(db.queued("export", "d1").unwrap().unwrap().id, a.id);
            db.start(a.id, now).unwrap();
            assert!(db.queued("export", "d1").unwrap().is_none());
            let b = db
                .insert("export", "d2", "Other", "requested", now)
                .unwrap();
            db.start(b.id, now).unwrap();
            db.finish(b.id, JobState::Done, None, None, now).unwrap();
        }
        let db = StateDb::open(&path).unwrap();
        assert_eq!(db.requeue_running("daemon restarted").unwrap(), 1);
        let active = db.active().unwrap();
        assert_eq!(active.len(), 1);
        assert_eq!(active[0].state, JobState::Queued);
        assert_eq!(active[0].attempts, 1);
        assert_eq!(active[0].error.as_deref(), Some("daemon restarted"));
        assert_eq!(db.history(None, 10).unwrap().len(), 1);
        assert_eq!(db.history(Some("d1"), 10).unwrap().len(), 0);
        assert!(db.last_success("d2").unwrap().is_some());
        assert!(db.last_success("d1").unwrap().is_none());
    }
}
