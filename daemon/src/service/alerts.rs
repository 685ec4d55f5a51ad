//! User notifications when a backup ends or fails.
//!
//! A backup tool that runs in the background must say when it is done and,
//! above all, when it could not do its job, or people find out on the day
//! they need the backup. Notifications go through the platform's own
//! command-line tool (`osascript` on macOS, `notify-send` on Linux when it
//! is installed) or through a program of the user's choosing, behind the
//! small [`Notifier`] interface so jobs and their tests do not care which.
//!
//! Notifying is a courtesy, never a condition: it must not hold a job up
//! nor fail it. [`Notifier::notify`] returns at once; the program runs on a
//! thread of its own, is stopped if it hangs, and any trouble is logged.
//!
//! The wording lives here too ([`Alert::backup_done`],
//! [`Alert::backup_failed`]) so that every notification reads the same.

use std::ffi::{OsStr, OsString};
use std::fmt;
use std::io::{Read, Seek};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::str::FromStr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use super::power::{find_on_path, kill_and_reap};

/// How long a notification program may run before it is stopped. Jobs never
/// wait for it (it runs on a thread of its own); the limit only keeps a hung
/// program from piling up, and leaves room for a custom command that sends
/// the alert over the network.
pub const COMMAND_TIME_LIMIT: Duration = Duration::from_secs(10);

/// How much of a failing program's error output goes into the log.
const STDERR_LIMIT: u64 = 1000;

/// One notification: what the user sees.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Alert {
    /// The short first line.
    pub title: String,
    /// The sentence or two below it: what happened and, on failure, what
    /// happens next or what to do.
    pub body: String,
    /// Whether this reports a failure (shown as urgent where the platform
    /// can).
    pub failure: bool,
}

impl Alert {
    /// A backup to the destination called `dest_name` finished; `summary`
    /// says what it did ("12 new photos, 1.2 GB"), or is empty.
    ///
    /// Reads: Backup to “Drive A” finished: 12 new photos, 1.2 GB.
    pub fn backup_done(dest_name: &str, summary: &str) -> Self {
        let summary = summary.trim();
        let body = if summary.is_empty() {
            format!("Backup to “{}” finished.", one_line(dest_name))
        } else {
            format!(
                "Backup to “{}” finished: {}",
                one_line(dest_name),
                sentence(summary)
            )
        };
        Alert {
            title: "photovault: backup finished".to_string(),
            body,
            failure: false,
        }
    }

    /// A backup to the destination called `dest_name` failed. `reason` says
    /// what happened and what will happen or what to do, as the job's error
    /// message does ("the drive was removed. It will continue when you
    /// connect it again").
    ///
    /// Reads: Backup to “Drive A” failed: the drive was removed. It will
    /// continue when you connect it again.
    pub fn backup_failed(dest_name: &str, reason: &str) -> Self {
        let reason = reason.trim();
        let reason = if reason.is_empty() {
            "see the log with `photovaultctl logs`"
        } else {
            reason
        };
        Alert {
            title: "photovault: backup failed".to_string(),
            body: format!(
                "Backup to “{}” failed: {}",
                one_line(dest_name),
                sentence(reason)
            ),
            failure: true,
        }
    }
}

impl Alert {
    /// New files of the source folders were organized onto the destination
    /// called `dest_name` (or some failed); `summary` says how many.
    ///
    /// Reads: New photos organized onto “Drive A”: 3 files written, 2.1 MB.
    pub fn organized(dest_name: &str, summary: &str) -> Self {
        Alert {
            title: "photovault: photos organized".to_string(),
            body: format!(
                "New photos organized onto “{}”: {}",
                one_line(dest_name),
                sentence(summary.trim())
            ),
            failure: false,
        }
    }

    /// A verify of the destination called `dest_name` found files missing
    /// or damaged; `summary` says how many.
    ///
    /// Reads: Verify of “Drive A” found problems: 2 files damaged. The next
    /// backup copies them again; `photovaultctl history` lists them.
    pub fn verify_problems(dest_name: &str, summary: &str) -> Self {
        Alert {
            title: "photovault: verify found problems".to_string(),
            body: format!(
                "Verify of “{}” found problems: {} The next backup copies damaged files again; `photovaultctl history --json` lists them.",
                one_line(dest_name),
                sentence(summary.trim())
            ),
            failure: true,
        }
    }
}

/// `text` with control characters (line breaks included) made spaces, for
/// names that sit inside a sentence.
fn one_line(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// `text` ending like a sentence: a full stop is added unless it already
/// ends with one (or with `!`, `?` or `…`).
fn sentence(text: &str) -> String {
    if text.ends_with(['.', '!', '?', '…']) {
        text.to_string()
    } else {
        format!("{text}.")
    }
}

/// Something that can show the user an [`Alert`].
pub trait Notifier: Send + Sync {
    /// Show `alert`. Returns at once and never fails: trouble is logged, and
    /// a job goes on regardless.
    fn notify(&self, alert: &Alert);
}

/// What the configuration says about notifications.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum AlertSetting {
    /// No notifications.
    Off,
    /// The platform's notifications (the default).
    #[default]
    System,
    /// Run this program with the title and the body as its two arguments,
    /// for scripts that forward alerts elsewhere (and for tests).
    Command(PathBuf),
}

/// The configuration's notification setting is none of the accepted forms.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "{value:?} is not a notification setting: use \"off\", \"system\" or the absolute path of a \
     program that takes a title and a body as its two arguments"
)]
pub struct AlertSettingError {
    /// The value as written.
    pub value: String,
}

impl FromStr for AlertSetting {
    type Err = AlertSettingError;

    /// Parse the configuration's string: `"off"`, `"system"`, or an absolute
    /// path (a relative one would depend on the folder launchd starts us in).
    fn from_str(value: &str) -> Result<Self, Self::Err> {
        match value {
            "off" => Ok(AlertSetting::Off),
            "system" => Ok(AlertSetting::System),
            path if Path::new(path).is_absolute() => Ok(AlertSetting::Command(path.into())),
            _ => Err(AlertSettingError {
                value: value.to_string(),
            }),
        }
    }
}

impl fmt::Display for AlertSetting {
    /// The setting as the configuration spells it, so it can be shown and
    /// read back.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AlertSetting::Off => f.write_str("off"),
            AlertSetting::System => f.write_str("system"),
            AlertSetting::Command(path) => write!(f, "{}", path.display()),
        }
    }
}

/// Why a notification program did not show an alert. Only ever logged:
/// notifications never fail a job.
#[derive(Debug, thiserror::Error)]
pub enum AlertError {
    /// The program could not be started.
    #[error(
        "could not start the notification program {program}: {source}; check the `notifications` \
         setting of the configuration, or set it to \"off\""
    )]
    Start {
        /// The program.
        program: PathBuf,
        /// Why it could not start.
        #[source]
        source: std::io::Error,
    },
    /// The program ran and reported failure.
    #[error(
        "the notification program {program} failed ({status}){stderr}; run it by hand to see why, \
         or set the `notifications` setting of the configuration to \"off\"",
        stderr = if stderr.is_empty() { String::new() } else { format!(": {stderr}") }
    )]
    Failed {
        /// The program.
        program: PathBuf,
        /// How it ended.
        status: ExitStatus,
        /// The start of what it wrote to its error output, if anything.
        stderr: String,
    },
    /// The program ran longer than allowed and was stopped.
    #[error(
        "the notification program {program} did not finish within {seconds} s and was stopped; \
         make sure it does not wait for input, or set the `notifications` setting of \
         the configuration to \"off\"",
        seconds = limit.as_secs_f32()
    )]
    TimedOut {
        /// The program.
        program: PathBuf,
        /// How long it was given.
        limit: Duration,
    },
    /// Waiting for the program failed.
    #[error("could not wait for the notification program {program}: {source}; the alert may not have been shown")]
    Wait {
        /// The program.
        program: PathBuf,
        /// The error from the operating system.
        #[source]
        source: std::io::Error,
    },
}

/// How a [`CommandNotifier`]'s program takes the alert.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Form {
    /// `program <title> <body>`: a user's program.
    TitleBody,
    /// `notify-send`, with urgency and application name.
    NotifySend,
    /// `osascript -e 'display notification …'`.
    AppleScript,
}

/// Shows alerts by running a program: the platform's tool or the user's.
///
/// Which program and how it takes the alert is plain data, so the macOS
/// form is built and checked on Linux too, and tests stand in scripts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandNotifier {
    program: PathBuf,
    form: Form,
}

impl CommandNotifier {
    /// A user's program, run as `program <title> <body>`.
    pub fn custom(program: PathBuf) -> Self {
        CommandNotifier {
            program,
            form: Form::TitleBody,
        }
    }

    /// Linux's `notify-send` at `program`; failures are sent as critical,
    /// so desktops keep them on screen until seen.
    pub fn notify_send(program: PathBuf) -> Self {
        CommandNotifier {
            program,
            form: Form::NotifySend,
        }
    }

    /// macOS's `osascript` at `program`, running `display notification`.
    pub fn osascript(program: PathBuf) -> Self {
        CommandNotifier {
            program,
            form: Form::AppleScript,
        }
    }

    /// The program this runs.
    pub fn program(&self) -> &Path {
        &self.program
    }

    /// The program's arguments for `alert`.
    fn args(&self, alert: &Alert) -> Vec<OsString> {
        // A NUL cannot be passed to a program at all; it would only make the
        // start fail.
        let title = alert.title.replace('\0', " ");
        let body = alert.body.replace('\0', " ");
        let args = match self.form {
            Form::TitleBody => vec![title, body],
            Form::NotifySend => {
                let urgency = if alert.failure { "critical" } else { "normal" };
                vec![
                    "--app-name=photovault".to_string(),
                    format!("--urgency={urgency}"),
                    "--".to_string(),
                    title,
                    body,
                ]
            }
            Form::AppleScript => vec![
                "-e".to_string(),
                format!(
                    "display notification {} with title {}",
                    applescript_string(&body),
                    applescript_string(&title)
                ),
            ],
        };
        args.into_iter().map(OsString::from).collect()
    }

    /// Show `alert` and wait for the program, at most `limit` (then it is
    /// stopped). Blocks: [`Notifier::notify`] calls it on a thread of its
    /// own; tests call it directly.
    pub fn send(&self, alert: &Alert, limit: Duration) -> Result<(), AlertError> {
        // The error output goes to an unnamed temporary file rather than a
        // pipe: a chatty program can then never block on a full pipe, and
        // whatever it said can still be logged.
        let stderr_file = tempfile::tempfile().ok();
        let stderr = match stderr_file.as_ref().map(std::fs::File::try_clone) {
            Some(Ok(file)) => Stdio::from(file),
            _ => Stdio::null(),
        };
        let mut child = Command::new(&self.program)
            .args(self.args(alert))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(stderr)
            // Its own process group, so that stopping it stops what it started.
            .process_group(0)
            .spawn()
            .map_err(|source| AlertError::Start {
                program: self.program.clone(),
                source,
            })?;

        let deadline = Instant::now() + limit;
        let mut pause = Duration::from_millis(5);
        let status = loop {
            match child.try_wait() {
                Ok(Some(status)) => break status,
                Ok(None) if Instant::now() >= deadline => {
                    // Whether the kill or the wait fails, it is over for us.
                    let _ = kill_and_reap(&mut child);
                    return Err(AlertError::TimedOut {
                        program: self.program.clone(),
                        limit,
                    });
                }
                Ok(None) => {
                    std::thread::sleep(pause);
                    pause = (pause * 2).min(Duration::from_millis(100));
                }
                Err(source) => {
                    let _ = kill_and_reap(&mut child);
                    return Err(AlertError::Wait {
                        program: self.program.clone(),
                        source,
                    });
                }
            }
        };
        if status.success() {
            Ok(())
        } else {
            Err(AlertError::Failed {
                program: self.program.clone(),
                status,
                stderr: stderr_file.map(read_start).unwrap_or_default(),
            })
        }
    }
}

/// The first [`STDERR_LIMIT`] bytes of `file`, on one trimmed line.
fn read_start(mut file: std::fs::File) -> String {
    let mut bytes = Vec::new();
    if file.rewind().is_err() || file.take(STDERR_LIMIT).read_to_end(&mut bytes).is_err() {
        return String::new();
    }
    one_line(String::from_utf8_lossy(&bytes).trim())
}

impl Notifier for CommandNotifier {
    fn notify(&self, alert: &Alert) {
        let notifier = self.clone();
        let alert = alert.clone();
        let started = std::thread::Builder::new()
            .name("photovault-alert".to_string())
            .spawn(move || {
                if let Err(error) = notifier.send(&alert, COMMAND_TIME_LIMIT) {
                    tracing::warn!("could not show the notification “{}”: {error}", alert.body);
                }
            });
        if let Err(error) = started {
            tracing::warn!(
                "could not show a notification: no thread to run {} ({error}); the daemon may be \
                 short of resources, see the log",
                self.program.display()
            );
        }
    }
}

/// `text` as an AppleScript string literal, quotes included: backslashes
/// and double quotes escaped, tabs and line breaks written as escapes, other
/// control characters made spaces. What the user sees is then exactly
/// `text`, whatever a destination name or an error message contains, and
/// nothing in it can end the string and run as script.
pub fn applescript_string(text: &str) -> String {
    let mut literal = String::with_capacity(text.len() + 2);
    literal.push('"');
    for c in text.chars() {
        match c {
            '\\' => literal.push_str("\\\\"),
            '"' => literal.push_str("\\\""),
            '\n' => literal.push_str("\\n"),
            '\r' => literal.push_str("\\r"),
            '\t' => literal.push_str("\\t"),
            c if c.is_control() => literal.push(' '),
            c => literal.push(c),
        }
    }
    literal.push('"');
    literal
}

/// Shows nothing: notifications turned off, or no tool to show them.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoNotifier;

impl Notifier for NoNotifier {
    fn notify(&self, alert: &Alert) {
        tracing::debug!(
            "notification not shown (notifications are off): {}",
            alert.body
        );
    }
}

/// The platform's notification tool: `osascript` on macOS, `notify-send`
/// on Linux.
const PLATFORM_TOOL: &str = if cfg!(target_os = "macos") {
    "osascript"
} else {
    "notify-send"
};

/// The platform's notification tool ([`PLATFORM_TOOL`]), looked for in
/// `search_path` (a `PATH`-style list; the standard folders when `None`);
/// `None` when it is not installed.
pub fn platform_notifier(search_path: Option<&OsStr>) -> Option<CommandNotifier> {
    let program = find_on_path(PLATFORM_TOOL, search_path)?;
    Some(if cfg!(target_os = "macos") {
        CommandNotifier::osascript(program)
    } else {
        CommandNotifier::notify_send(program)
    })
}

/// The notifier the daemon uses for `setting`. The platform's tool is looked
/// for once, here, on this process's `PATH`, and its absence logged once.
pub fn system(setting: &AlertSetting) -> Arc<dyn Notifier> {
    system_in(setting, std::env::var_os("PATH").as_deref())
}

/// [`system`], looking for the platform's tool in `search_path`.
fn system_in(setting: &AlertSetting, search_path: Option<&OsStr>) -> Arc<dyn Notifier> {
    match setting {
        AlertSetting::Off => {
            tracing::debug!("notifications are turned off in the configuration");
            Arc::new(NoNotifier)
        }
        AlertSetting::Command(program) => {
            if !program.is_file() {
                tracing::warn!(
                    "the notification program {} does not exist; notifications will fail until \
                     it does, or until the `notifications` setting of the configuration changes",
                    program.display()
                );
            }
            Arc::new(CommandNotifier::custom(program.clone()))
        }
        AlertSetting::System => match platform_notifier(search_path) {
            Some(notifier) => {
                tracing::debug!("notifications go through {}", notifier.program.display());
                Arc::new(notifier)
            }
            None => {
                tracing::info!(
                    "{PLATFORM_TOOL} was not found on PATH, so backups will not show \
                     notifications; install it (on Linux it comes with libnotify) to get them"
                );
                Arc::new(NoNotifier)
            }
        },
    }
}

/// A test double: keeps every alert instead of showing it, so tests of jobs
/// can check what the user would have been told.
#[derive(Debug, Clone, Default)]
pub struct RecordingNotifier {
    alerts: Arc<Mutex<Vec<Alert>>>,
}

impl RecordingNotifier {
    /// A double with nothing recorded.
    pub fn new() -> Self {
        Self::default()
    }

    /// Every alert so far, oldest first.
    pub fn alerts(&self) -> Vec<Alert> {
        self.alerts
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

impl Notifier for RecordingNotifier {
    fn notify(&self, alert: &Alert) {
        self.alerts
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(alert.clone());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    /// A script in `dir` that records its arguments (count first, each
    /// NUL-terminated) in `dir/args`, written whole at once.
    fn recording_script(dir: &Path) -> PathBuf {
        let out = dir.join("args");
        let body = format!(
            "printf '%s\\0' \"$#\" \"$@\" > '{0}.tmp' && mv '{0}.tmp' '{0}'",
            out.display()
        );
        script(dir, "record", &body)
    }

    /// An executable shell script `name` in `dir` running `body`.
    fn script(dir: &Path, name: &str, body: &str) -> PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        path
    }

    /// The arguments recorded by [`recording_script`].
    fn recorded(dir: &Path) -> Vec<String> {
        let bytes = std::fs::read(dir.join("args")).unwrap();
        let text = String::from_utf8(bytes).unwrap();
        let mut fields: Vec<String> = text.split('\0').map(str::to_string).collect();
        assert_eq!(fields.pop().as_deref(), Some(""), "NUL-terminated");
        let count: usize = fields.remove(0).parse().unwrap();
        assert_eq!(count, fields.len());
        fields
    }

    /// [`CommandNotifier::send`], again while a just-written script is
    /// refused as "text file busy" (another test thread forking meanwhile).
    fn send_retrying(notifier: &CommandNotifier, alert: &Alert) -> Result<(), AlertError> {
        send_within(notifier, alert, Duration::from_secs(10))
    }

    /// [`send_retrying`] with a time limit.
    fn send_within(
        notifier: &CommandNotifier,
        alert: &Alert,
        limit: Duration,
    ) -> Result<(), AlertError> {
        for _ in 0..50 {
            match notifier.send(alert, limit) {
                Err(AlertError::Start { source, .. })
                    if source.raw_os_error() == Some(libc::ETXTBSY) =>
                {
                    std::thread::sleep(Duration::from_millis(20));
                }
                other => return other,
            }
        }
        panic!("the script stayed busy");
    }

    fn tricky() -> Alert {
        Alert {
            title: "It's \"done\" \\ $HOME `id`".to_string(),
            body: "Backup to “Fotos ü 写真” finished:\nline two\twith tab; 'single' \"double\""
                .to_string(),
            failure: false,
        }
    }

    #[test]
    fn done_and_failed_read_as_plain_sentences() {
        let done = Alert::backup_done("Drive A", "12 new photos, 1.2 GB");
        assert_eq!(
            done.body,
            "Backup to “Drive A” finished: 12 new photos, 1.2 GB."
        );
        assert_eq!(done.title, "photovault: backup finished");
        assert!(!done.failure);

        let failed = Alert::backup_failed(
            "Drive A",
            "the drive was removed. It will continue when you connect it again.",
        );
        assert_eq!(
            failed.body,
            "Backup to “Drive A” failed: the drive was removed. It will continue when you \
             connect it again."
        );
        assert_eq!(failed.title, "photovault: backup failed");
        assert!(failed.failure);
    }

    #[test]
    fn messages_handle_empty_and_odd_pieces() {
        assert_eq!(
            Alert::backup_done("A", "  ").body,
            "Backup to “A” finished."
        );
        assert_eq!(
            Alert::backup_done("Two\nlines", "done!").body,
            "Backup to “Two lines” finished: done!"
        );
        assert_eq!(
            Alert::backup_failed("A", "").body,
            "Backup to “A” failed: see the log with `photovaultctl logs`."
        );
        assert_eq!(
            Alert::backup_failed("A", "the disk is full; free some space ").body,
            "Backup to “A” failed: the disk is full; free some space."
        );
    }

    #[test]
    fn applescript_strings_are_escaped() {
        assert_eq!(applescript_string("plain"), "\"plain\"");
        assert_eq!(applescript_string(r#"say "hi""#), r#""say \"hi\"""#);
        assert_eq!(applescript_string(r"C:\dir\"), r#""C:\\dir\\""#);
        assert_eq!(applescript_string(r#"\""#), r#""\\\"""#);
        assert_eq!(applescript_string("a\nb\rc\td"), r#""a\nb\rc\td""#);
        assert_eq!(applescript_string("bell\u{7}end"), "\"bell end\"");
        assert_eq!(applescript_string("“Drive” 写真"), "\"“Drive” 写真\"");
    }

    #[test]
    fn osascript_gets_one_escaped_statement() {
        let notifier = CommandNotifier::osascript("/usr/bin/osascript".into());
        let alert = Alert {
            title: "T \"q\"".to_string(),
            body: "B \\ end".to_string(),
            failure: true,
        };
        assert_eq!(
            notifier.args(&alert),
            [
                "-e",
                r#"display notification "B \\ end" with title "T \"q\"""#
            ]
        );
    }

    #[test]
    fn notify_send_gets_urgency_and_the_texts_after_the_options() {
        let notifier = CommandNotifier::notify_send("/usr/bin/notify-send".into());
        let failed = Alert::backup_failed("A", "-x looks like an option");
        assert_eq!(
            notifier.args(&failed),
            [
                "--app-name=photovault",
                "--urgency=critical",
                "--",
                failed.title.as_str(),
                failed.body.as_str(),
            ]
        );
        let done = Alert::backup_done("A", "");
        assert_eq!(notifier.args(&done)[1], "--urgency=normal");
    }

    #[test]
    fn a_custom_command_gets_title_and_body_intact() {
        let dir = tempfile::tempdir().unwrap();
        let notifier = CommandNotifier::custom(recording_script(dir.path()));
        let alert = tricky();
        send_retrying(&notifier, &alert).unwrap();
        assert_eq!(recorded(dir.path()), [alert.title, alert.body]);
    }

    #[test]
    fn notify_returns_at_once_and_the_command_still_runs() {
        let dir = tempfile::tempdir().unwrap();
        let slow = script(
            dir.path(),
            "slow",
            &format!(
                "sleep 1; printf '%s\\0' \"$#\" \"$@\" > '{0}.tmp' && mv '{0}.tmp' '{0}'",
                dir.path().join("args").display()
            ),
        );
        let notifier = CommandNotifier::custom(slow);
        // Make sure the fresh script can be run before timing anything.
        send_retrying(&notifier, &tricky()).unwrap();
        std::fs::remove_file(dir.path().join("args")).unwrap();

        let alert = Alert::backup_done("Drive A", "3 new photos");
        let started = Instant::now();
        notifier.notify(&alert);
        assert!(
            started.elapsed() < Duration::from_millis(500),
            "notify must not wait"
        );
        assert!(appears(&dir.path().join("args")));
        assert_eq!(recorded(dir.path()), [alert.title, alert.body]);
    }

    #[test]
    fn a_failing_command_reports_its_error_output() {
        let dir = tempfile::tempdir().unwrap();
        let failing = script(dir.path(), "failing", "echo 'no display here' >&2; exit 3");
        let notifier = CommandNotifier::custom(failing);
        match send_retrying(&notifier, &tricky()) {
            Err(AlertError::Failed { status, stderr, .. }) => {
                assert_eq!(status.code(), Some(3));
                assert_eq!(stderr, "no display here");
            }
            other => panic!("expected a failure, got {other:?}"),
        }
    }

    #[test]
    fn a_hanging_command_is_stopped() {
        let dir = tempfile::tempdir().unwrap();
        let pid_file = dir.path().join("pid");
        let hanging = script(
            dir.path(),
            "hanging",
            &format!("echo $$ > '{}'; sleep 1000", pid_file.display()),
        );
        let notifier = CommandNotifier::custom(hanging);
        let started = Instant::now();
        let result = send_within(&notifier, &tricky(), Duration::from_millis(300));
        assert!(started.elapsed() < Duration::from_secs(5));
        assert!(
            matches!(result, Err(AlertError::TimedOut { .. })),
            "{result:?}"
        );
        let pid: libc::pid_t = std::fs::read_to_string(&pid_file)
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        // SAFETY: signal 0 only checks that the process exists.
        let exists = unsafe { libc::kill(pid, 0) } == 0;
        assert!(!exists, "the hung program should be killed and reaped");
    }

    #[test]
    fn a_missing_program_is_an_error_not_a_panic() {
        let notifier = CommandNotifier::custom("/nonexistent/photovault-notify".into());
        let result = notifier.send(&tricky(), Duration::from_secs(1));
        assert!(
            matches!(result, Err(AlertError::Start { .. })),
            "{result:?}"
        );
        // The fire-and-forget path only logs.
        notifier.notify(&tricky());
        system(&AlertSetting::Command(
            "/nonexistent/photovault-notify".into(),
        ))
        .notify(&tricky());
    }

    /// Wait up to 10 s for `path` to appear.
    fn appears(path: &Path) -> bool {
        let deadline = Instant::now() + Duration::from_secs(10);
        while !path.exists() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        path.exists()
    }

    #[test]
    fn off_sends_nothing_where_system_would() {
        // The platform's tool is there, recording what it is sent.
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("args");
        let tool = script(
            dir.path(),
            PLATFORM_TOOL,
            &format!(
                "printf '%s\\0' \"$#\" \"$@\" > '{0}.tmp' && mv '{0}.tmp' '{0}'",
                out.display()
            ),
        );
        send_retrying(&CommandNotifier::custom(tool), &tricky()).unwrap();
        std::fs::remove_file(&out).unwrap();
        let search = Some(dir.path().as_os_str());

        system_in(&AlertSetting::Off, search).notify(&tricky());
        std::thread::sleep(Duration::from_millis(300));
        assert!(!out.exists(), "off must not run anything");

        system_in(&AlertSetting::System, search).notify(&tricky());
        assert!(appears(&out), "system should have run the tool");
    }

    #[test]
    fn settings_parse_and_print_back() {
        assert_eq!("off".parse(), Ok(AlertSetting::Off));
        assert_eq!("system".parse(), Ok(AlertSetting::System));
        assert_eq!(
            "/usr/local/bin/alert me".parse(),
            Ok(AlertSetting::Command("/usr/local/bin/alert me".into()))
        );
        for bad in ["", "Off", "on", "bin/alert", "alert"] {
            let error = bad.parse::<AlertSetting>().unwrap_err();
            assert_eq!(error.value, bad);
            assert!(error.to_string().contains("\"system\""));
        }
        for setting in [
            AlertSetting::Off,
            AlertSetting::System,
            AlertSetting::Command("/opt/notify".into()),
        ] {
            assert_eq!(setting.to_string().parse(), Ok(setting));
        }
        assert_eq!(AlertSetting::default(), AlertSetting::System);
    }

    #[test]
    fn the_platform_tool_is_found_on_path_or_not_at_all() {
        let empty = tempfile::tempdir().unwrap();
        assert_eq!(platform_notifier(Some(empty.path().as_os_str())), None);

        let dir = tempfile::tempdir().unwrap();
        let tool = if cfg!(target_os = "macos") {
            "osascript"
        } else {
            "notify-send"
        };
        let path = script(dir.path(), tool, "exit 0");
        let found = platform_notifier(Some(dir.path().as_os_str())).unwrap();
        assert_eq!(found.program(), path);
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn notify_send_stand_in_receives_the_alert() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("args");
        script(
            dir.path(),
            "notify-send",
            &format!(
                "printf '%s\\0' \"$#\" \"$@\" > '{0}.tmp' && mv '{0}.tmp' '{0}'",
                out.display()
            ),
        );
        let notifier = platform_notifier(Some(dir.path().as_os_str())).unwrap();
        let alert = Alert::backup_failed("Drive “A”", "the drive was removed");
        send_retrying(&notifier, &alert).unwrap();
        assert_eq!(
            recorded(dir.path()),
            [
                "--app-name=photovault",
                "--urgency=critical",
                "--",
                alert.title.as_str(),
                alert.body.as_str(),
            ]
        );
    }

    #[test]
    fn the_recording_double_keeps_alerts_in_order() {
        let recorder = RecordingNotifier::new();
        let shared: Arc<dyn Notifier> = Arc::new(recorder.clone());
        shared.notify(&Alert::backup_done("A", "1 new photo"));
        shared.notify(&Alert::backup_failed("B", "the drive is full"));
        let alerts = recorder.alerts();
        assert_eq!(alerts.len(), 2);
        assert!(!alerts[0].failure);
        assert!(alerts[1].failure);
        assert!(alerts[1].body.contains("“B”"));
    }
}
