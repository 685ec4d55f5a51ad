//! The daemon's logging: everything goes through `tracing`.
//!
//! [`init`] installs one global subscriber that writes each event, formatted
//! once, to a daily-rotated file (14 kept) in the log directory, to stderr
//! when the daemon runs in the foreground, and to a broadcast channel that
//! `photovaultctl logs -f` follows through the daemon. [`read_recent`] reads
//! the last lines back from the rotated files for `photovaultctl logs`.
//!
//! The file format is parseable on purpose, one event per record:
//!
//! ```text
//! 2026-11-22T05:00:55.030Z  INFO photovault::export: export finished assets=12 errors=0
//! ```
//!
//! a UTC timestamp, the level padded to five columns, the spans (if any), the
//! target, the message and its fields. A message containing newlines writes
//! continuation lines that do not start with a timestamp; they belong to the
//! record before them.

use std::fmt as stdfmt;
use std::fs::{self, File};
use std::io::{self, IsTerminal, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use photovault_protocol::LogLine;
use tokio::sync::broadcast;
use tracing::{Level, Metadata, Subscriber};
use tracing_appender::non_blocking::WorkerGuard;
use tracing_appender::rolling::{RollingFileAppender, Rotation};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::time::FormatTime;
use tracing_subscriber::fmt::writer::MakeWriterExt;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::EnvFilter;

/// The environment variable that overrides the configured level, so a user
/// can turn on debug logging for one run without editing the configuration.
pub const ENV_VAR: &str = "PHOTOVAULT_LOG";

/// The level used when the configuration does not name one: start, end,
/// counts and errors of every job, without per-file chatter.
pub const DEFAULT_LEVEL: &str = "info";

/// How many rotated files are kept: two weeks of daily files is enough to
/// look back at a problem without letting logs grow without bound.
pub const MAX_LOG_FILES: usize = 14;

/// The log files' name prefix; with [`FILE_SUFFIX`] files are named
/// `photovaultd.YYYY-MM-DD.log` (the `.log` suffix lets macOS Console open them).
const FILE_PREFIX: &str = "photovaultd";

/// The log files' name suffix (see [`FILE_PREFIX`]).
const FILE_SUFFIX: &str = "log";

/// How many lines a follower may fall behind before it misses some; a
/// follower that lags gets `RecvError::Lagged` and can carry on.
const BROADCAST_CAPACITY: usize = 1024;

/// How many bytes [`read_recent`] reads at a time from the end of a file, so
/// it only reads as much of a large file as the lines asked for need.
const READ_CHUNK: usize = 64 * 1024;

/// The five level names, as the formatter writes them and as users type them.
const LEVEL_NAMES: [&str; 5] = ["error", "warn", "info", "debug", "trace"];

/// What can go wrong setting up logging or reading logs back.
#[derive(Debug, thiserror::Error)]
pub enum LogError {
    /// The log directory could not be created or secured.
    #[error(
        "could not create the log directory {}: {source}; check that its parent exists and is \
         writable by this user, or configure another log directory",
        dir.display()
    )]
    CreateDir {
        /// The directory that was being created.
        dir: PathBuf,
        /// Why it failed.
        #[source]
        source: io::Error,
    },
    /// The rotating log file could not be opened.
    #[error(
        "could not open a log file in {}: {source}; check that the directory is writable by \
         this user and the disk is not full",
        dir.display()
    )]
    OpenFile {
        /// The log directory.
        dir: PathBuf,
        /// Why it failed.
        #[source]
        source: tracing_appender::rolling::InitError,
    },
    /// The level setting or `PHOTOVAULT_LOG` is not a valid filter.
    #[error(
        "invalid log filter {spec:?} in {origin}: {reason}; use a level (error, warn, info, \
         debug, trace) or directives such as \"photovault=debug,info\""
    )]
    Filter {
        /// The filter text as given.
        spec: String,
        /// Where it came from: the configuration or the environment variable.
        origin: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// A global subscriber was already installed in this process.
    #[error(
        "could not install the logger: {0}; logging can only be set up once per process, \
         so this is a bug in photovaultd, please report it"
    )]
    AlreadyInstalled(#[source] tracing_subscriber::util::TryInitError),
    /// A level name that is not one of the five.
    #[error("unknown log level {0:?}: use one of error, warn, info, debug, trace")]
    UnknownLevel(String),
    /// The log directory could not be listed.
    #[error(
        "could not list the log directory {}: {source}; check that it is readable by this user",
        dir.display()
    )]
    ReadDir {
        /// The log directory.
        dir: PathBuf,
        /// Why it failed.
        #[source]
        source: io::Error,
    },
    /// A log file could not be read.
    #[error(
        "could not read the log file {}: {source}; check that it is readable by this user, or \
         remove it if it is damaged",
        path.display()
    )]
    ReadFile {
        /// The file being read.
        path: PathBuf,
        /// Why it failed.
        #[source]
        source: io::Error,
    },
}

/// How to set up logging; built by the daemon from its configuration and
/// command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogOptions {
    /// Where the rotated log files go (the configuration's `log_dir`).
    pub dir: PathBuf,
    /// Whether to log to stderr as well: true when running in the foreground,
    /// where a person is watching the terminal.
    pub stderr: bool,
    /// The filter in `EnvFilter` syntax, usually just a level such as
    /// `"info"`; an empty string means [`DEFAULT_LEVEL`]. The environment
    /// variable [`ENV_VAR`] overrides it.
    pub level: String,
}

impl LogOptions {
    /// Options for logging into `dir` at the default level, without stderr,
    /// which is what a background daemon wants.
    pub fn new(dir: PathBuf) -> Self {
        Self {
            dir,
            stderr: false,
            level: DEFAULT_LEVEL.to_string(),
        }
    }
}

/// Keeps logging alive: dropping it flushes the file writer, so the daemon
/// holds it until it exits. It also hands out followers of the live log.
#[derive(Debug)]
pub struct LogHandle {
    dir: PathBuf,
    lines: broadcast::Sender<LogLine>,
    _guard: WorkerGuard,
}

impl LogHandle {
    /// A receiver of every line logged from now on (lines at debug level or
    /// above that the filter lets through), formatted exactly as in the file,
    /// so `photovaultctl logs -f` can follow the log through the daemon.
    pub fn subscribe(&self) -> broadcast::Receiver<LogLine> {
        self.lines.subscribe()
    }

    /// The directory the log files are written to, for [`read_recent`].
    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

/// Installs the process-wide logger described by `options` and returns the
/// handle that keeps it flushing; call it once, early in `main`.
///
/// The filter is `options.level` unless the environment variable
/// [`ENV_VAR`] is set and not empty, in which case that wins.
pub fn init(options: &LogOptions) -> Result<LogHandle, LogError> {
    let env = std::env::var(ENV_VAR)
        .ok()
        .filter(|value| !value.trim().is_empty());
    let (subscriber, handle) = build(options, env.as_deref())?;
    subscriber.try_init().map_err(LogError::AlreadyInstalled)?;
    Ok(handle)
}

/// Everything [`init`] does except installing the subscriber globally, so
/// tests can run it under `tracing::subscriber::with_default`. `env` is the
/// value of [`ENV_VAR`], if set.
fn build(
    options: &LogOptions,
    env: Option<&str>,
) -> Result<(impl Subscriber + Send + Sync + 'static, LogHandle), LogError> {
    let filter = make_filter(&options.level, env)?;
    create_log_dir(&options.dir)?;
    let appender = appender(&options.dir)?;
    let (file, guard) = tracing_appender::non_blocking(appender);
    let (lines, _) = broadcast::channel(BROADCAST_CAPACITY);
    let subscriber = subscriber(filter, file, lines.clone(), options.stderr);
    let handle = LogHandle {
        dir: options.dir.clone(),
        lines,
        _guard: guard,
    };
    Ok((subscriber, handle))
}

/// The filter from the configured level, or from the environment variable
/// when set.
fn make_filter(level: &str, env: Option<&str>) -> Result<EnvFilter, LogError> {
    let (spec, origin) = match env {
        Some(env) => (env, "the PHOTOVAULT_LOG environment variable"),
        None if level.trim().is_empty() => (DEFAULT_LEVEL, "the log level setting"),
        None => (level, "the log level setting"),
    };
    let invalid = |reason: String| LogError::Filter {
        spec: spec.to_string(),
        origin,
        reason,
    };
    // EnvFilter reads a bare word as a target name with every level enabled,
    // so a typo such as "inof" would silently log nothing but that target.
    // A directive without `=` or `[` must therefore be a level name.
    for directive in spec.split(',').map(str::trim) {
        let bare = !directive.is_empty() && !directive.contains(['=', '[']);
        let is_level = directive.eq_ignore_ascii_case("off")
            || LEVEL_NAMES
                .iter()
                .any(|n| directive.eq_ignore_ascii_case(n));
        if bare && !is_level {
            return Err(invalid(format!(
                "{directive:?} is not a level; write \"{directive}=debug\" to mean a target"
            )));
        }
    }
    EnvFilter::builder()
        .parse(spec)
        .map_err(|e| invalid(e.to_string()))
}

/// Creates the log directory, readable only by its owner on Unix since logs
/// name the user's files.
fn create_log_dir(dir: &Path) -> Result<(), LogError> {
    let failed = |source| LogError::CreateDir {
        dir: dir.to_path_buf(),
        source,
    };
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
        builder.mode(0o700);
        builder.create(dir).map_err(failed)?;
        // `mode` only applies to directories created now; an existing log
        // directory is tightened too.
        fs::set_permissions(dir, fs::Permissions::from_mode(0o700)).map_err(failed)?;
    }
    #[cfg(not(unix))]
    builder.create(dir).map_err(failed)?;
    Ok(())
}

/// The daily-rotated file appender, keeping [`MAX_LOG_FILES`] files.
fn appender(dir: &Path) -> Result<RollingFileAppender, LogError> {
    RollingFileAppender::builder()
        .rotation(Rotation::DAILY)
        .filename_prefix(FILE_PREFIX)
        .filename_suffix(FILE_SUFFIX)
        .max_log_files(MAX_LOG_FILES)
        .build(dir)
        .map_err(|source| LogError::OpenFile {
            dir: dir.to_path_buf(),
            source,
        })
}

/// The subscriber: `filter` in front of one formatter writing to both the
/// file and the broadcast (so both see the same text), plus a second
/// formatter for stderr when asked.
fn subscriber<W>(
    filter: EnvFilter,
    file: W,
    lines: broadcast::Sender<LogLine>,
    stderr: bool,
) -> impl Subscriber + Send + Sync + 'static
where
    W: for<'a> MakeWriter<'a> + Send + Sync + 'static,
{
    let file_layer = tracing_subscriber::fmt::layer()
        .with_timer(UtcMillis)
        .with_ansi(false)
        .with_writer(file.and(BroadcastWriter { lines }));
    let stderr_layer = stderr.then(|| {
        tracing_subscriber::fmt::layer()
            .with_timer(UtcMillis)
            .with_ansi(io::stderr().is_terminal())
            .with_writer(io::stderr)
    });
    tracing_subscriber::registry()
        .with(filter)
        .with(file_layer)
        .with(stderr_layer)
}

/// Timestamps in UTC with milliseconds (`2026-11-22T05:00:55.030Z`): the
/// same zone as the daily rotation, and short enough to read.
struct UtcMillis;

impl FormatTime for UtcMillis {
    fn format_time(&self, w: &mut Writer<'_>) -> stdfmt::Result {
        write!(w, "{}", chrono::Utc::now().format("%Y-%m-%dT%H:%M:%S%.3fZ"))
    }
}

/// Makes, for each event, a writer that collects the formatted event and
/// sends it to followers as one [`LogLine`].
struct BroadcastWriter {
    lines: broadcast::Sender<LogLine>,
}

impl<'a> MakeWriter<'a> for BroadcastWriter {
    type Writer = LineSender<'a>;

    fn make_writer(&'a self) -> Self::Writer {
        // The formatter always asks through `make_writer_for`; without the
        // event's level there is nothing to label a line with.
        LineSender {
            lines: None,
            level: Level::INFO,
            text: Vec::new(),
        }
    }

    fn make_writer_for(&'a self, meta: &Metadata<'_>) -> Self::Writer {
        // Trace lines stay out of the broadcast: they can be so many that
        // followers would only see `Lagged`.
        let wanted = *meta.level() <= Level::DEBUG && self.lines.receiver_count() > 0;
        LineSender {
            lines: wanted.then_some(&self.lines),
            level: *meta.level(),
            text: Vec::new(),
        }
    }
}

/// Collects one formatted event and sends it when dropped (the formatter
/// writes each event in one go, then drops the writer).
struct LineSender<'a> {
    lines: Option<&'a broadcast::Sender<LogLine>>,
    level: Level,
    text: Vec<u8>,
}

impl Write for LineSender<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.lines.is_some() {
            self.text.extend_from_slice(buf);
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Drop for LineSender<'_> {
    fn drop(&mut self) {
        let Some(lines) = self.lines else { return };
        if self.text.is_empty() {
            return;
        }
        let text = String::from_utf8_lossy(&self.text);
        let line = LogLine {
            level: level_name(self.level).to_string(),
            text: text.strip_suffix('\n').unwrap_or(&text).to_string(),
        };
        // No followers left is not an error: the line is in the file.
        let _ = lines.send(line);
    }
}

/// The upper-case level name, as the formatter writes it.
fn level_name(level: Level) -> &'static str {
    match level {
        Level::ERROR => "ERROR",
        Level::WARN => "WARN",
        Level::INFO => "INFO",
        Level::DEBUG => "DEBUG",
        Level::TRACE => "TRACE",
    }
}

/// Parses a level name as typed by a user (`--level warn`), in any case.
pub fn parse_level(s: &str) -> Result<Level, LogError> {
    match s.trim().to_ascii_lowercase().as_str() {
        "error" => Ok(Level::ERROR),
        "warn" => Ok(Level::WARN),
        "info" => Ok(Level::INFO),
        "debug" => Ok(Level::DEBUG),
        "trace" => Ok(Level::TRACE),
        _ => Err(LogError::UnknownLevel(s.to_string())),
    }
}

/// The last `lines` log records at `min_level` or more severe, oldest first,
/// for `photovaultctl logs`.
///
/// Files are read newest first, each from its end, and reading stops as soon
/// as enough records are found, so older files are not touched when the
/// newest suffices. A record is a line starting with a timestamp and a level
/// plus the continuation lines after it; its text keeps them joined by
/// `\n`. Continuation lines at the very start of a file, which have no
/// record to belong to, are skipped, as are files in `dir` not named like
/// the daemon's log files.
///
/// A missing `dir` is not an error: it means nothing has been logged yet, so
/// the result is empty, as for an empty directory.
pub fn read_recent(dir: &Path, lines: usize, min_level: Level) -> Result<Vec<LogLine>, LogError> {
    if lines == 0 {
        return Ok(Vec::new());
    }
    let mut newest_first = Vec::new();
    for path in log_files(dir)? {
        let failed = |source| LogError::ReadFile {
            path: path.clone(),
            source,
        };
        let mut reader = ReverseLines::open(&path, READ_CHUNK).map_err(failed)?;
        // The continuation lines seen since the last record, newest first.
        let mut continuation: Vec<String> = Vec::new();
        while let Some(line) = reader.next_line().map_err(failed)? {
            let Some(level) = record_level(&line) else {
                continuation.push(line);
                continue;
            };
            if level <= min_level {
                let mut text = line;
                for extra in continuation.iter().rev() {
                    text.push('\n');
                    text.push_str(extra);
                }
                newest_first.push(LogLine {
                    level: level_name(level).to_string(),
                    text,
                });
                if newest_first.len() == lines {
                    newest_first.reverse();
                    return Ok(newest_first);
                }
            }
            continuation.clear();
        }
    }
    newest_first.reverse();
    Ok(newest_first)
}

/// The daemon's log files in `dir`, newest first; none if `dir` is missing.
fn log_files(dir: &Path) -> Result<Vec<PathBuf>, LogError> {
    let failed = |source| LogError::ReadDir {
        dir: dir.to_path_buf(),
        source,
    };
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(failed(e)),
    };
    let mut files = Vec::new();
    for entry in entries {
        let entry = entry.map_err(failed)?;
        if entry.file_type().map_err(failed)?.is_dir() {
            continue;
        }
        let name = entry.file_name();
        if let Some(date) = name.to_str().and_then(log_file_date) {
            files.push((date, entry.path()));
        }
    }
    files.sort_by(|a, b| b.cmp(a));
    Ok(files.into_iter().map(|(_, path)| path).collect())
}

/// The date in a log file name as the appender makes them
/// (`photovaultd.2026-11-22.log`), or `None` for any other file.
fn log_file_date(name: &str) -> Option<NaiveDate> {
    let date = name
        .strip_prefix(FILE_PREFIX)?
        .strip_prefix('.')?
        .strip_suffix(FILE_SUFFIX)?
        .strip_suffix('.')?;
    NaiveDate::parse_from_str(date, "%Y-%m-%d").ok()
}

/// The level of a line that starts a record (`<timestamp> <LEVEL> ...`), or
/// `None` for a continuation line.
fn record_level(line: &str) -> Option<Level> {
    let mut tokens = line.split_whitespace();
    let timestamp = tokens.next()?;
    // Cheap shape check before the real parse: continuation lines are common.
    if !timestamp.as_bytes().first()?.is_ascii_digit() {
        return None;
    }
    chrono::DateTime::parse_from_rfc3339(timestamp).ok()?;
    match tokens.next()? {
        "ERROR" => Some(Level::ERROR),
        "WARN" => Some(Level::WARN),
        "INFO" => Some(Level::INFO),
        "DEBUG" => Some(Level::DEBUG),
        "TRACE" => Some(Level::TRACE),
        _ => None,
    }
}

/// Reads a file's lines last to first, a chunk at a time from the end, so
/// only the tail that is needed is ever read.
struct ReverseLines {
    file: File,
    chunk: usize,
    /// Where the part of the file not yet read ends.
    pos: u64,
    /// The start of the earliest line read so far, whose beginning lies in
    /// the part not yet read.
    partial: Vec<u8>,
    /// Complete lines read but not yet returned; the last one is next.
    ready: Vec<String>,
}

impl ReverseLines {
    /// Opens `path` for reading backwards in chunks of `chunk` bytes.
    fn open(path: &Path, chunk: usize) -> io::Result<Self> {
        let mut file = File::open(path)?;
        let mut pos = file.metadata()?.len();
        // A final newline ends the last line; it does not start an empty one.
        if pos > 0 {
            file.seek(SeekFrom::Start(pos - 1))?;
            let mut last = [0u8];
            file.read_exact(&mut last)?;
            if last[0] == b'\n' {
                pos -= 1;
            }
        }
        Ok(Self {
            file,
            chunk: chunk.max(1),
            pos,
            partial: Vec::new(),
            ready: Vec::new(),
        })
    }

    /// The next line going backwards, without its newline; `None` once the
    /// start of the file is reached. Invalid UTF-8 is replaced, not fatal.
    fn next_line(&mut self) -> io::Result<Option<String>> {
        loop {
            if let Some(line) = self.ready.pop() {
                return Ok(Some(line));
            }
            if self.pos == 0 {
                return Ok(None);
            }
            // Capped by the chunk size, so the cast back to u64 is lossless.
            let len = self
                .chunk
                .min(usize::try_from(self.pos).unwrap_or(usize::MAX));
            self.pos -= len as u64;
            self.file.seek(SeekFrom::Start(self.pos))?;
            let mut data = vec![0u8; len];
            self.file.read_exact(&mut data)?;
            data.extend_from_slice(&self.partial);
            let mut pieces = data.split(|&b| b == b'\n');
            // Unless this chunk starts the file, its first piece is the end of
            // a line that begins in an earlier chunk.
            self.partial = if self.pos > 0 {
                pieces.next().unwrap_or_default().to_vec()
            } else {
                Vec::new()
            };
            self.ready = pieces
                .map(|piece| String::from_utf8_lossy(piece).into_owned())
                .collect();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write_file(dir: &Path, name: &str, content: &str) {
        fs::write(dir.join(name), content).unwrap();
    }

    fn texts(lines: &[LogLine]) -> Vec<&str> {
        lines.iter().map(|l| l.text.as_str()).collect()
    }

    #[test]
    fn parse_level_accepts_the_five_names_in_any_case() {
        assert_eq!(parse_level("error").unwrap(), Level::ERROR);
        assert_eq!(parse_level("WARN").unwrap(), Level::WARN);
        assert_eq!(parse_level("Info").unwrap(), Level::INFO);
        assert_eq!(parse_level("debug").unwrap(), Level::DEBUG);
        assert_eq!(parse_level("tRaCe").unwrap(), Level::TRACE);
    }

    #[test]
    fn parse_level_rejects_other_words_naming_the_valid_ones() {
        for bad in ["warning", "", "3", "verbose"] {
            let message = parse_level(bad).unwrap_err().to_string();
            assert!(message.contains(&format!("{bad:?}")), "{message}");
            for name in LEVEL_NAMES {
                assert!(message.contains(name), "{message}");
            }
        }
    }

    #[test]
    fn filter_uses_the_level_unless_the_environment_overrides_it() {
        let default = make_filter("", None).unwrap();
        assert_eq!(default.max_level_hint(), Some(Level::INFO.into()));
        let configured = make_filter("warn", None).unwrap();
        assert_eq!(configured.max_level_hint(), Some(Level::WARN.into()));
        let overridden = make_filter("warn", Some("debug")).unwrap();
        assert_eq!(overridden.max_level_hint(), Some(Level::DEBUG.into()));
        let directives = make_filter("photovault=trace,info", None).unwrap();
        assert_eq!(directives.max_level_hint(), Some(Level::TRACE.into()));
        assert!(make_filter("OFF", None).is_ok());
    }

    #[test]
    fn filter_errors_say_where_the_bad_value_came_from() {
        let typo = make_filter("inof", None).unwrap_err().to_string();
        assert!(typo.contains("\"inof\""), "{typo}");
        assert!(typo.contains("log level setting"), "{typo}");
        assert!(typo.contains("info"), "{typo}");
        let env = make_filter("info", Some("photovault=loud"))
            .unwrap_err()
            .to_string();
        assert!(env.contains("PHOTOVAULT_LOG"), "{env}");
        assert!(env.contains("photovault=loud"), "{env}");
    }

    #[test]
    fn log_file_names_are_recognised_as_the_appender_makes_them() {
        assert_eq!(
            log_file_date("photovaultd.2026-11-22.log"),
            NaiveDate::from_ymd_opt(2026, 11, 22)
        );
        assert_eq!(log_file_date("photovaultd.log"), None);
        assert_eq!(log_file_date("photovaultd.2026-11-22.log.gz"), None);
        assert_eq!(log_file_date("other.2026-11-22.log"), None);
        assert_eq!(log_file_date("photovaultd.2026-13-01.log"), None);
    }

    #[test]
    fn record_level_reads_the_level_token_of_record_lines_only() {
        assert_eq!(
            record_level("2026-11-22T05:00:55.030Z  INFO photovault: started"),
            Some(Level::INFO)
        );
        assert_eq!(
            record_level("2026-11-22T05:00:55.030Z ERROR job{id=3}: photovault: failed"),
            Some(Level::ERROR)
        );
        assert_eq!(record_level("  INFO not a record"), None);
        assert_eq!(record_level("second line of a message"), None);
        assert_eq!(record_level("2026-11-22 INFO date only"), None);
        assert_eq!(record_level("2026-11-22T05:00:55.030Z  NOTICE what"), None);
        assert_eq!(record_level(""), None);
    }

    #[test]
    fn reverse_lines_handles_chunk_boundaries_and_multibyte_text() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        fs::write(&path, "first\nsécond line\n\nthird é\nlast").unwrap();
        for chunk in [1, 2, 3, 5, 64 * 1024] {
            let mut reader = ReverseLines::open(&path, chunk).unwrap();
            let mut got = Vec::new();
            while let Some(line) = reader.next_line().unwrap() {
                got.push(line);
            }
            assert_eq!(
                got,
                ["last", "third é", "", "sécond line", "first"],
                "chunk {chunk}"
            );
        }
        fs::write(&path, "only\n").unwrap();
        let mut reader = ReverseLines::open(&path, 2).unwrap();
        assert_eq!(reader.next_line().unwrap().as_deref(), Some("only"));
        assert_eq!(reader.next_line().unwrap(), None);
        fs::write(&path, "").unwrap();
        assert_eq!(
            ReverseLines::open(&path, 2).unwrap().next_line().unwrap(),
            None
        );
    }

    /// Three rotated files as the appender names them, plus files to ignore.
    fn rotated_dir() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        write_file(
            dir.path(),
            "photovaultd.2026-11-20.log",
            "orphan continuation\n\
             2026-11-20T10:00:00.000Z  INFO photovault: a1\n\
             2026-11-20T11:00:00.000Z DEBUG photovault: a2\n",
        );
        write_file(
            dir.path(),
            "photovaultd.2026-11-21.log",
            "2026-11-21T10:00:00.000Z  WARN photovault: b1\n\
             2026-11-21T11:00:00.000Z ERROR photovault: b2 first\n\
             b2 second\n\
             \n\
             b2 fourth\n\
             2026-11-21T12:00:00.000Z TRACE photovault: b3\n",
        );
        write_file(
            dir.path(),
            "photovaultd.2026-11-22.log",
            "2026-11-22T10:00:00.000Z  INFO photovault: c1\n\
             2026-11-22T11:00:00.000Z DEBUG job{id=1}: photovault: c2",
        );
        write_file(
            dir.path(),
            "notes.txt",
            "2026-11-23T10:00:00.000Z ERROR photovault: not a log file\n",
        );
        fs::create_dir(dir.path().join("photovaultd.2026-11-23.log")).unwrap();
        dir
    }

    #[test]
    fn read_recent_reads_across_rotated_files_oldest_first() {
        let dir = rotated_dir();
        let all = read_recent(dir.path(), 100, Level::TRACE).unwrap();
        assert_eq!(
            texts(&all),
            [
                "2026-11-20T10:00:00.000Z  INFO photovault: a1",
                "2026-11-20T11:00:00.000Z DEBUG photovault: a2",
                "2026-11-21T10:00:00.000Z  WARN photovault: b1",
                "2026-11-21T11:00:00.000Z ERROR photovault: b2 first\nb2 second\n\nb2 fourth",
                "2026-11-21T12:00:00.000Z TRACE photovault: b3",
                "2026-11-22T10:00:00.000Z  INFO photovault: c1",
                "2026-11-22T11:00:00.000Z DEBUG job{id=1}: photovault: c2",
            ]
        );
        let levels: Vec<&str> = all.iter().map(|l| l.level.as_str()).collect();
        assert_eq!(
            levels,
            ["INFO", "DEBUG", "WARN", "ERROR", "TRACE", "INFO", "DEBUG"]
        );
    }

    #[test]
    fn read_recent_returns_only_the_last_lines_asked_for() {
        let dir = rotated_dir();
        let last = read_recent(dir.path(), 3, Level::TRACE).unwrap();
        assert_eq!(
            texts(&last),
            [
                "2026-11-21T12:00:00.000Z TRACE photovault: b3",
                "2026-11-22T10:00:00.000Z  INFO photovault: c1",
                "2026-11-22T11:00:00.000Z DEBUG job{id=1}: photovault: c2",
            ]
        );
        assert!(read_recent(dir.path(), 0, Level::TRACE).unwrap().is_empty());
    }

    #[test]
    fn read_recent_filters_by_level() {
        let dir = rotated_dir();
        let warnings = read_recent(dir.path(), 100, Level::WARN).unwrap();
        assert_eq!(
            texts(&warnings),
            [
                "2026-11-21T10:00:00.000Z  WARN photovault: b1",
                "2026-11-21T11:00:00.000Z ERROR photovault: b2 first\nb2 second\n\nb2 fourth",
            ]
        );
        let info = read_recent(dir.path(), 2, Level::INFO).unwrap();
        assert_eq!(
            texts(&info),
            [
                "2026-11-21T11:00:00.000Z ERROR photovault: b2 first\nb2 second\n\nb2 fourth",
                "2026-11-22T10:00:00.000Z  INFO photovault: c1",
            ]
        );
    }

    #[test]
    fn read_recent_stops_before_older_files_when_the_newest_suffice() {
        let dir = rotated_dir();
        // An older "log file" that cannot be read: touching it would fail.
        std::os::unix::fs::symlink(
            dir.path().join("missing"),
            dir.path().join("photovaultd.2026-11-01.log"),
        )
        .unwrap();
        let recent = read_recent(dir.path(), 7, Level::TRACE).unwrap();
        assert_eq!(recent.len(), 7);
        let err = read_recent(dir.path(), 8, Level::TRACE).unwrap_err();
        assert!(
            matches!(&err, LogError::ReadFile { path, .. } if path.ends_with("photovaultd.2026-11-01.log")),
            "{err}"
        );
    }

    #[test]
    fn read_recent_of_an_empty_or_missing_dir_is_empty() {
        let dir = tempfile::tempdir().unwrap();
        assert!(read_recent(dir.path(), 10, Level::TRACE)
            .unwrap()
            .is_empty());
        let missing = dir.path().join("never-created");
        assert!(read_recent(&missing, 10, Level::TRACE).unwrap().is_empty());
    }

    #[test]
    fn read_recent_of_a_file_instead_of_a_dir_names_the_path() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("logs");
        fs::write(&file, "").unwrap();
        let err = read_recent(&file, 10, Level::TRACE).unwrap_err();
        assert!(matches!(err, LogError::ReadDir { .. }), "{err}");
        assert!(err.to_string().contains(&file.display().to_string()));
    }

    #[test]
    fn build_creates_a_private_dir_and_the_file_and_broadcast_agree() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("state").join("logs");
        let options = LogOptions {
            level: "warn".to_string(),
            ..LogOptions::new(dir.clone())
        };
        // The environment override wins over the configured "warn".
        let (subscriber, handle) = build(&options, Some("trace")).unwrap();
        assert_eq!(handle.dir(), dir);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(&dir).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o700);
        }
        let mut follower = handle.subscribe();
        tracing::subscriber::with_default(subscriber, || {
            tracing::info!(assets = 12, "export started");
            let span = tracing::info_span!("job", id = 7);
            let _entered = span.enter();
            tracing::debug!("looking at \u{1b}[31mred\u{1b}[0m");
            tracing::trace!("very detailed");
            tracing::error!(path = "/x/y", "copy failed\nsecond line");
        });
        drop(handle); // flushes the file

        let mut sent = Vec::new();
        while let Ok(line) = follower.try_recv() {
            sent.push(line);
        }
        let levels: Vec<&str> = sent.iter().map(|l| l.level.as_str()).collect();
        assert_eq!(levels, ["INFO", "DEBUG", "ERROR"], "trace is not broadcast");
        assert!(
            sent[0]
                .text
                .ends_with(" INFO photovault::service::logs::tests: export started assets=12"),
            "{}",
            sent[0].text
        );
        assert!(
            sent[1]
                .text
                .contains(" DEBUG job{id=7}: photovault::service::logs::tests: looking at"),
            "{}",
            sent[1].text
        );
        assert!(
            sent[2]
                .text
                .ends_with("copy failed\nsecond line path=\"/x/y\""),
            "{}",
            sent[2].text
        );

        let names: Vec<_> = fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        assert_eq!(names.len(), 1, "{names:?}");
        assert!(log_file_date(&names[0]).is_some(), "{names:?}");
        let content = fs::read_to_string(dir.join(&names[0])).unwrap();
        assert!(!content.contains('\u{1b}'), "no colour codes: {content:?}");

        // The file holds exactly the broadcast lines, plus the trace line.
        let recent = read_recent(&dir, 100, Level::TRACE).unwrap();
        assert_eq!(recent.len(), 4);
        assert_eq!(recent[2].level, "TRACE");
        assert!(recent[2].text.ends_with("very detailed"));
        let whole: String = recent.iter().map(|l| format!("{}\n", l.text)).collect();
        assert_eq!(whole, content);
        let without_trace: Vec<LogLine> =
            recent.into_iter().filter(|l| l.level != "TRACE").collect();
        assert_eq!(without_trace, sent);
    }

    #[test]
    fn the_filter_applies_to_file_and_broadcast_alike() {
        let root = tempfile::tempdir().unwrap();
        let options = LogOptions::new(root.path().to_path_buf());
        let (subscriber, handle) = build(&options, None).unwrap();
        let mut follower = handle.subscribe();
        tracing::subscriber::with_default(subscriber, || {
            tracing::debug!("hidden at info");
            tracing::warn!("shown");
        });
        let dir = handle.dir().to_path_buf();
        drop(handle);
        let sent = follower.try_recv().unwrap();
        assert_eq!(sent.level, "WARN");
        assert!(follower.try_recv().is_err());
        let recent = read_recent(&dir, 100, Level::TRACE).unwrap();
        assert_eq!(recent, [sent]);
    }
}
