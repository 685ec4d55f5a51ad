//! The messages `photovaultd` and `photovaultctl` exchange.
//!
//! This crate is kept apart from the engine library so that the client stays
//! small: it depends on these types alone, not on SQLite, HEIC decoding or the
//! engines. Both sides refuse a peer whose [`PROTOCOL_VERSION`] differs, so a
//! client left behind by an upgrade says so instead of misreading replies.
//!
//! # Wire format
//! Newline-delimited JSON over a Unix socket. The client writes one
//! [`Request`] per line; the daemon answers with one or more [`Response`]
//! lines. A request that streams (`status` with `watch`, `backup` with
//! `wait`, `logs` with `follow`) gets responses until the stream ends with
//! [`ResponseBody::End`], or until the client hangs up. Lines longer than
//! [`MAX_LINE_BYTES`] are refused and the connection closed.
//!
//! ```text
//! → {"version":1,"request":"status"}
//! ← {"version":1,"response":"status","daemon":{…},"library":{…},"destinations":[…],"jobs":[…]}
//! ```

pub mod paths;

use serde::{Deserialize, Serialize};

/// Version of the wire protocol; bumped on any incompatible message change.
pub const PROTOCOL_VERSION: u32 = 1;

/// Longest request or response line either side accepts, newline included.
pub const MAX_LINE_BYTES: usize = 1 << 20;

/// The socket's file name inside the daemon's state folder.
pub const SOCKET_NAME: &str = "photovaultd.sock";

/// One request line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Request {
    /// The client's [`PROTOCOL_VERSION`].
    pub version: u32,
    /// What is asked.
    #[serde(flatten)]
    pub body: RequestBody,
}

impl Request {
    /// A request of this protocol version.
    pub fn new(body: RequestBody) -> Self {
        Request {
            version: PROTOCOL_VERSION,
            body,
        }
    }
}

/// What a client can ask.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "request", rename_all = "snake_case")]
pub enum RequestBody {
    /// The daemon, the library, every destination and the jobs. With
    /// `watch`, a new status each time something changes (at most twice a
    /// second) until the client hangs up.
    Status {
        /// Keep sending.
        #[serde(default)]
        watch: bool,
    },
    /// Queue a backup of one destination (by name or id), or of every
    /// mounted one. With `wait`, job updates stream until they all end.
    Backup {
        /// Name or id; `None` for every mounted destination.
        #[serde(default)]
        destination: Option<String>,
        /// Stream the jobs until they end.
        #[serde(default)]
        wait: bool,
        /// Let a mirror proceed although the library lost more originals
        /// than the mass-deletion guard allows.
        #[serde(default)]
        allow_deletions: bool,
    },
    /// Queue a verify of one destination (re-hash every file). With
    /// `wait`, job updates stream until it ends.
    Verify {
        /// Name or id.
        destination: String,
        /// Stream the job until it ends.
        #[serde(default)]
        wait: bool,
    },
    /// Queue a restore from one destination (it runs as a job, never
    /// beside a backup of the same drive). With `wait`, job updates stream
    /// until it ends.
    Restore {
        /// Name or id.
        destination: String,
        /// What to restore and where.
        options: RestoreRequest,
        /// Stream the job until it ends.
        #[serde(default)]
        wait: bool,
    },
    /// Queued and running jobs.
    Jobs,
    /// Finished jobs, newest first.
    History {
        /// Name or id; `None` for all.
        #[serde(default)]
        destination: Option<String>,
        /// At most this many.
        #[serde(default = "default_history_limit")]
        limit: u32,
    },
    /// Cancel a queued or running job.
    Cancel {
        /// The job's id.
        job: i64,
    },
    /// Stop running jobs (they are queued again) and start none until
    /// [`RequestBody::Resume`].
    Pause,
    /// Start jobs again after a pause.
    Resume,
    /// The daemon's log: the last `lines` lines at `level` or above, then,
    /// with `follow`, new lines as they are written.
    Logs {
        /// Keep sending new lines.
        #[serde(default)]
        follow: bool,
        /// `error`, `warn`, `info`, `debug` or `trace`; default `info`.
        #[serde(default)]
        level: Option<String>,
        /// How many past lines; default 50.
        #[serde(default)]
        lines: Option<u32>,
    },
    /// Enrol a destination: write its marker at `path` (a folder on a
    /// mounted volume) and add it to the configuration file.
    DestAdd {
        /// Folder on the drive (absolute).
        path: String,
        /// The name people will use for it.
        name: String,
        /// `export`, `mirror`, `organize`, or several joined by commas
        /// (`export,organize`); default `export`.
        #[serde(default)]
        mode: Option<String>,
    },
    /// Remove a destination from the configuration (its drive is left as
    /// it is: the backup stays readable and can be enrolled again).
    DestRemove {
        /// Name or id.
        name: String,
    },
    /// Read the configuration file again (after editing it by hand).
    Reload,
}

/// The options of a restore, as `photovaultctl restore` gives them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RestoreRequest {
    /// Where to write (absolute): the new library package, or a folder.
    pub to: String,
    /// The state to rebuild (a run stamp, a date or a local time).
    #[serde(default)]
    pub at: Option<String>,
    /// Write into `to` even though it exists.
    #[serde(default)]
    pub force: bool,
    /// Restore exported photos instead of the mirrored library.
    #[serde(default)]
    pub export: bool,
    /// Only these capture years (export).
    #[serde(default)]
    pub years: Vec<i32>,
    /// Only these albums (export).
    #[serde(default)]
    pub albums: Vec<String>,
    /// Which mirrored library, when the drive holds several.
    #[serde(default)]
    pub library: Option<String>,
    /// List only.
    #[serde(default)]
    pub dry_run: bool,
}

fn default_history_limit() -> u32 {
    20
}

/// One response line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Response {
    /// The daemon's [`PROTOCOL_VERSION`].
    pub version: u32,
    /// The answer.
    #[serde(flatten)]
    pub body: ResponseBody,
}

impl Response {
    /// A response of this protocol version.
    pub fn new(body: ResponseBody) -> Self {
        Response {
            version: PROTOCOL_VERSION,
            body,
        }
    }

    /// An error response.
    pub fn error(code: ErrorCode, message: impl Into<String>) -> Self {
        Response::new(ResponseBody::Error {
            code,
            message: message.into(),
        })
    }
}

/// What the daemon answers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "response", rename_all = "snake_case")]
pub enum ResponseBody {
    /// The answer to [`RequestBody::Status`].
    Status(StatusReport),
    /// Jobs: queued by a backup request (a duplicate request names the job
    /// already queued), or the answer to `jobs` and `history`.
    Jobs {
        /// The jobs.
        jobs: Vec<JobInfo>,
    },
    /// One job changed (streamed while a client waits for it).
    Job(JobInfo),
    /// One line of the log.
    Log(LogLine),
    /// Done, with a sentence for the user.
    Ok {
        /// What was done.
        message: String,
    },
    /// The request failed.
    Error {
        /// Machine-readable kind.
        code: ErrorCode,
        /// What happened and what to do.
        message: String,
    },
    /// A stream ended.
    End,
}

/// Kinds of failed requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// The line is not a request.
    BadRequest,
    /// The request kind is not one this daemon knows.
    UnknownRequest,
    /// Client and daemon speak different protocol versions.
    Version,
    /// The line is over [`MAX_LINE_BYTES`].
    TooLong,
    /// A destination or job named in the request does not exist.
    NotFound,
    /// The request cannot be done now (nothing mounted, shutting down…).
    Refused,
    /// Something failed inside the daemon.
    Internal,
}

/// Everything `photovaultctl status` shows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StatusReport {
    /// The daemon itself.
    pub daemon: DaemonInfo,
    /// The source library.
    pub library: LibraryInfo,
    /// Every enrolled destination.
    pub destinations: Vec<DestinationStatus>,
    /// Queued and running jobs.
    pub jobs: Vec<JobInfo>,
    /// The folders organized onto destinations (`[[source]]`).
    #[serde(default)]
    pub sources: Vec<SourceStatus>,
}

/// One `[[source]]` folder.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceStatus {
    /// Its name.
    pub name: String,
    /// Its folder.
    pub path: String,
    /// Whether the folder is there now (a missing one is organized once it
    /// comes back).
    pub present: bool,
    /// The destinations it is organized onto.
    pub destinations: Vec<String>,
}

/// The daemon process.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DaemonInfo {
    /// Its process id.
    pub pid: u32,
    /// Its version.
    pub version: String,
    /// When it started (RFC 3339).
    pub started: String,
    /// No job starts while paused.
    pub paused: bool,
    /// The configuration file, if one was read.
    pub config_file: Option<String>,
    /// Its state folder.
    pub state_dir: String,
    /// Its log folder.
    pub log_dir: String,
    /// The folders watched for volumes.
    pub volume_roots: Vec<String>,
}

/// The source library, as the last look at it found it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LibraryInfo {
    /// Its path.
    pub path: String,
    /// Assets not in the trash, when known.
    pub assets: Option<u64>,
    /// Assets whose original is not on this Mac (cloud-only, referenced
    /// volume away), when known.
    pub missing_originals: Option<u64>,
    /// When it was last read (RFC 3339).
    pub checked: Option<String>,
    /// Why it could not be read, if it could not.
    pub error: Option<String>,
}

/// One enrolled destination.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DestinationStatus {
    /// Its name.
    pub name: String,
    /// Its id (in its `destination.toml`).
    pub id: String,
    /// What runs on it (`export`, `mirror`).
    pub modes: Vec<String>,
    /// Whether it is mounted now.
    pub mounted: bool,
    /// Where it is mounted.
    pub path: Option<String>,
    /// End of the last successful backup (RFC 3339).
    pub last_success: Option<String>,
    /// Free space on its volume, when mounted.
    pub free_bytes: Option<u64>,
    /// Why photovault will not write to it although it is mounted
    /// (read-only, Time Machine).
    pub refused: Option<String>,
    /// Its queued or running job, if any (the running one first).
    pub job: Option<JobInfo>,
    /// Why its last backup failed, when it did (a held mass deletion, a
    /// full drive...); cleared by the next successful one.
    #[serde(default)]
    pub last_error: Option<String>,
    /// Its last completed verify.
    #[serde(default)]
    pub last_verify: Option<VerifyStatus>,
}

/// How the last verify of a destination ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VerifyStatus {
    /// When it ended (RFC 3339).
    pub ended: String,
    /// Files checked.
    pub checked: u64,
    /// Files missing, damaged or unexpected.
    pub problems: u64,
}

/// A job's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JobState {
    /// Waiting: for its turn, for its drive, or for a retry.
    Queued,
    /// Running now.
    Running,
    /// Finished successfully.
    Done,
    /// Finished with an error that retrying will not fix.
    Failed,
    /// Stopped before the end (drive removed, daemon stopped); the next
    /// mount runs it again.
    Interrupted,
    /// Cancelled by the user.
    Cancelled,
}

impl JobState {
    /// Whether the job has ended.
    pub fn is_final(self) -> bool {
        !matches!(self, JobState::Queued | JobState::Running)
    }

    /// The lower-case name used on the wire and in the state database.
    pub fn as_str(self) -> &'static str {
        match self {
            JobState::Queued => "queued",
            JobState::Running => "running",
            JobState::Done => "done",
            JobState::Failed => "failed",
            JobState::Interrupted => "interrupted",
            JobState::Cancelled => "cancelled",
        }
    }

    /// The state called `s`, if any.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "queued" => JobState::Queued,
            "running" => JobState::Running,
            "done" => JobState::Done,
            "failed" => JobState::Failed,
            "interrupted" => JobState::Interrupted,
            "cancelled" => JobState::Cancelled,
            _ => return None,
        })
    }
}

/// One job of the pipeline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobInfo {
    /// Its id.
    pub id: i64,
    /// What it does: `export` (a backup: export and/or mirror, as the
    /// destination's modes say), `organize` (the `[[source]]` folders onto
    /// the destination), `verify` or `restore`.
    pub kind: String,
    /// The destination's name.
    pub destination: String,
    /// The destination's id.
    pub destination_id: String,
    /// Where it stands.
    pub state: JobState,
    /// Why it was queued ("drive connected", "library changed", "requested").
    pub reason: String,
    /// When it was queued (RFC 3339).
    pub created: String,
    /// When it last started.
    pub started: Option<String>,
    /// When it ended.
    pub ended: Option<String>,
    /// How many times it started.
    pub attempts: u32,
    /// For a queued job waiting to retry: not before (RFC 3339).
    pub retry_at: Option<String>,
    /// Why it failed or was interrupted; for a queued job, why it waits.
    pub error: Option<String>,
    /// Progress of a running job.
    pub progress: Option<JobProgress>,
    /// What a finished job did (boxed: most jobs in a list have none).
    pub summary: Option<Box<JobSummary>>,
}

/// Progress of a running job.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobProgress {
    /// Files written so far.
    pub files_done: u64,
    /// Files the job will write.
    pub files_total: u64,
    /// Bytes written so far.
    pub bytes_done: u64,
    /// Bytes the job will write.
    pub bytes_total: u64,
    /// Estimated seconds left, once it can be estimated.
    pub eta_seconds: Option<u64>,
}

/// What a finished job did.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct JobSummary {
    /// The library had not changed: nothing to do.
    pub up_to_date: bool,
    /// Assets exported for the first time.
    pub exported: u64,
    /// Assets with a changed file.
    pub updated: u64,
    /// Assets with nothing to do.
    pub unchanged: u64,
    /// Assets whose original is missing (exported later).
    pub missing: u64,
    /// Assets that failed.
    pub errors: u64,
    /// Assets gone from the library since the last run (their files stay).
    pub gone: u64,
    /// Bytes written.
    pub bytes: u64,
    /// Wall time.
    pub seconds: f64,
    /// What the mirror did, when the destination mirrors.
    #[serde(default)]
    pub mirror: Option<MirrorSummary>,
    /// What a verify found.
    #[serde(default)]
    pub verify: Option<VerifySummary>,
    /// What a restore did.
    #[serde(default)]
    pub restore: Option<RestoreSummary>,
    /// What organizing the source folders did.
    #[serde(default)]
    pub organize: Option<OrganizeSummary>,
}

/// What an organize job did, over every source folder it organized.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrganizeSummary {
    /// Source folders organized.
    pub sources: u64,
    /// Files written (copied or converted).
    pub written: u64,
    /// HEICs converted to JPEG.
    pub converted: u64,
    /// Files an earlier run organized, unchanged since.
    pub already_organized: u64,
    /// Files that could not be organized (the next run tries again).
    pub failed: u64,
    /// Folders and files that could not be read.
    pub problems: u64,
    /// Files left for a follow-up job because they were still changing.
    #[serde(default)]
    pub deferred: u64,
    /// Bytes written.
    pub bytes: u64,
    /// Sources that could not be organized at all, "name: why" (a missing
    /// folder).
    pub unavailable: Vec<String>,
}

/// What a mirror run did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MirrorSummary {
    /// Files copied for the first time.
    pub new: u64,
    /// Files copied again (the old copy kept in Versions/).
    pub changed: u64,
    /// Files left as they were.
    pub unchanged: u64,
    /// Files gone from the library (moved to Versions/).
    pub deleted: u64,
    /// Files that could not be copied.
    pub errors: u64,
    /// Bytes written.
    pub bytes: u64,
    /// Old run folders removed from Versions/ by retention.
    pub pruned: u64,
}

/// What a verify found; problems as "path: what is wrong", at most 100
/// of each kind (the counts are complete).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct VerifySummary {
    /// Files read and compared.
    pub checked: u64,
    /// Bytes read.
    pub bytes: u64,
    /// Files missing.
    pub missing: u64,
    /// Files whose content changed.
    pub changed: u64,
    /// Files the catalog does not know.
    pub unexpected: u64,
    /// The problems.
    pub problems: Vec<String>,
}

/// What a restore did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RestoreSummary {
    /// Where the files went.
    pub target: String,
    /// What was restored ("mirror of X", "export").
    pub source: String,
    /// The run whose state was rebuilt (its stamp).
    pub run: Option<String>,
    /// Nothing was written.
    pub dry_run: bool,
    /// Files restored.
    pub files: u64,
    /// Bytes restored.
    pub bytes: u64,
    /// Files of that state no longer on the drive, "path: why".
    pub unavailable: Vec<String>,
    /// Files restored whose content differs from the catalog, "path: why".
    pub damaged: Vec<String>,
}

/// One line of the daemon's log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogLine {
    /// `ERROR`, `WARN`, `INFO`, `DEBUG` or `TRACE`.
    pub level: String,
    /// The line as written to the log file.
    pub text: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_read_as_documented() {
        let r: Request = serde_json::from_str(r#"{"version":1,"request":"status"}"#).unwrap();
        assert_eq!(r.body, RequestBody::Status { watch: false });
        let r: Request = serde_json::from_str(
            r#"{"version":1,"request":"backup","destination":"B","wait":true}"#,
        )
        .unwrap();
        assert_eq!(
            r.body,
            RequestBody::Backup {
                destination: Some("B".into()),
                wait: true,
                allow_deletions: false,
            }
        );
        let r: Request = serde_json::from_str(r#"{"version":1,"request":"history"}"#).unwrap();
        assert_eq!(
            r.body,
            RequestBody::History {
                destination: None,
                limit: 20
            }
        );
        assert!(
            serde_json::from_str::<Request>(r#"{"version":1,"request":"format_disk"}"#).is_err()
        );
    }

    #[test]
    fn responses_round_trip() {
        let job = JobInfo {
            id: 3,
            kind: "export".into(),
            destination: "Backup".into(),
            destination_id: "id".into(),
            state: JobState::Running,
            reason: "drive connected".into(),
            created: "2026-11-22T10:00:00Z".into(),
            started: None,
            ended: None,
            attempts: 1,
            retry_at: None,
            error: None,
            progress: Some(JobProgress {
                files_done: 1,
                files_total: 2,
                bytes_done: 3,
                bytes_total: 4,
                eta_seconds: None,
            }),
            summary: None,
        };
        for body in [
            ResponseBody::Job(job.clone()),
            ResponseBody::Jobs { jobs: vec![job] },
            ResponseBody::End,
            ResponseBody::Ok {
                message: "fine".into(),
            },
        ] {
            let r = Response::new(body);
            let line = serde_json::to_string(&r).unwrap();
            assert!(line.contains(r#""version":1"#), "{line}");
            assert_eq!(serde_json::from_str::<Response>(&line).unwrap(), r);
        }
        let e = serde_json::to_string(&Response::error(ErrorCode::TooLong, "x")).unwrap();
        assert_eq!(
            e,
            r#"{"version":1,"response":"error","code":"too_long","message":"x"}"#
        );
    }

    #[test]
    fn job_states_name_themselves() {
        for s in [
            JobState::Queued,
            JobState::Running,
            JobState::Done,
            JobState::Failed,
            JobState::Interrupted,
            JobState::Cancelled,
        ] {
            assert_eq!(JobState::parse(s.as_str()), Some(s));
            assert_eq!(
                serde_json::to_string(&s).unwrap(),
                format!("\"{}\"", s.as_str())
            );
        }
    }
}
