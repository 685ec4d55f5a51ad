//! Keeping the computer awake while a job runs.
//!
//! A backup that stops halfway because the laptop went to sleep is a backup
//! that did not happen, so every job holds a [`WakeGuard`] for as long as it
//! runs. The operating system is asked through its own command-line tool,
//! kept running as a helper process for exactly that long: `caffeinate -i -w
//! <our pid>` on macOS, `systemd-inhibit` on Linux when it is installed. The
//! helper is told our process id so that it also ends if the daemon dies
//! without dropping its guards: a crashed daemon must never keep the machine
//! awake forever.
//!
//! Keeping awake is a courtesy, never a condition: a helper that is missing,
//! fails to start or gives up only ever produces a log line, and the backup
//! runs on.

use std::ffi::{OsStr, OsString};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

/// Where programs are looked for when `PATH` is not set at all, as launchd
/// and a bare `env -i` would leave it.
const DEFAULT_SEARCH_PATH: &str = "/usr/bin:/bin:/usr/sbin:/sbin";

/// Stands for the reason of a hold in [`CommandInhibitor::args`].
pub const WHY_PLACEHOLDER: &str = "{why}";

/// Stands for the daemon's own process id in [`CommandInhibitor::args`].
pub const PID_PLACEHOLDER: &str = "{pid}";

/// Set once a helper has been seen ending on its own, so that a machine
/// where it can never work (no logind, no session bus) warns once and not at
/// every job.
static EARLY_EXIT_WARNED: AtomicBool = AtomicBool::new(false);

/// Something that can keep the computer from sleeping.
///
/// One small interface so that jobs do not care which tool (if any) does it,
/// and tests can count holds with [`RecordingInhibitor`].
pub trait SleepInhibitor: Send + Sync {
    /// Keep the machine awake until the returned guard is dropped.
    ///
    /// Never fails: when keeping awake is impossible the guard does nothing
    /// and the reason has been logged. Several guards may be held at once
    /// (one job per drive); each is independent.
    fn hold(&self, why: &str) -> WakeGuard;
}

/// Keeps the computer awake while it lives; dropping it lets it sleep again.
///
/// A guard owns whatever does the keeping (a helper process, a test token),
/// so releasing cannot be forgotten on any path out of a job, errors and
/// panics included. Dropping a helper's guard kills the helper and waits for
/// it, so no zombie process is left behind.
#[derive(Debug)]
#[must_use = "the computer may sleep as soon as the guard is dropped; keep it for as long as the job runs"]
pub struct WakeGuard {
    inner: Held,
}

/// What a guard holds.
#[derive(Debug, Default)]
enum Held {
    /// Nothing: keeping awake is off or impossible here.
    #[default]
    Nothing,
    /// A running helper process, in a process group of its own.
    Helper {
        /// The helper; reaped when the guard ends.
        child: Child,
        /// Its program, for log messages.
        program: PathBuf,
    },
    /// A hold counted by a [`RecordingInhibitor`].
    Counted(Arc<Counts>),
}

/// How a guard ended, for the log and for tests.
#[derive(Debug, PartialEq, Eq)]
enum Finish {
    /// It held nothing, or had already ended.
    Nothing,
    /// A recorded hold was released.
    Released,
    /// The helper was still running; it was killed and reaped.
    Stopped,
    /// The helper had ended on its own before the job finished, so the
    /// machine may have slept meanwhile.
    EndedEarly(ExitStatus),
    /// The helper could not be waited for.
    Lost(String),
}

impl WakeGuard {
    /// A guard that keeps nothing awake: what holds return when keeping
    /// awake is turned off or impossible, and what other implementations of
    /// [`SleepInhibitor`] can return.
    pub fn none() -> Self {
        WakeGuard {
            inner: Held::Nothing,
        }
    }

    /// The process id of the helper keeping the machine awake, if one was
    /// started; for log lines and for tests that watch the helper.
    pub fn helper_pid(&self) -> Option<u32> {
        match &self.inner {
            Held::Helper { child, .. } => Some(child.id()),
            Held::Nothing | Held::Counted(_) => None,
        }
    }

    /// Release whatever the guard holds; the helper, if any, is gone and
    /// reaped afterwards. Running it twice does nothing the second time.
    fn end(&mut self) -> Finish {
        match std::mem::take(&mut self.inner) {
            Held::Nothing => Finish::Nothing,
            Held::Counted(counts) => {
                counts.release();
                Finish::Released
            }
            Held::Helper { mut child, program } => {
                let ended = match child.try_wait() {
                    Ok(Some(status)) => Finish::EndedEarly(status),
                    Ok(None) | Err(_) => match kill_and_reap(&mut child) {
                        Ok(_) => Finish::Stopped,
                        Err(error) => Finish::Lost(error.to_string()),
                    },
                };
                log_end(&program, &ended);
                ended
            }
        }
    }
}

impl Drop for WakeGuard {
    fn drop(&mut self) {
        self.end();
    }
}

/// Say how a helper ended, loudly only when something went wrong, and warn
/// about helpers that end early only once per process.
fn log_end(program: &Path, ended: &Finish) {
    let program = program.display();
    match ended {
        Finish::Nothing | Finish::Released => {}
        Finish::Stopped => tracing::debug!("stopped {program}: the computer may sleep again"),
        Finish::EndedEarly(status) => {
            if EARLY_EXIT_WARNED.swap(true, Ordering::Relaxed) {
                tracing::debug!("{program} had ended on its own ({status}) before the job did");
            } else {
                tracing::warn!(
                    "{program} ended on its own ({status}) while a job was still running, so the \
                     computer may have gone to sleep during it; run it by hand to see why, or keep \
                     the computer awake yourself during backups"
                );
            }
        }
        Finish::Lost(error) => tracing::warn!(
            "could not wait for {program} to end ({error}); if the computer does not go to sleep \
             any more, end that process yourself"
        ),
    }
}

/// Kill `child` and everything it started (its process group), then reap it.
///
/// The helper runs in a process group of its own so that its own children
/// (`systemd-inhibit` runs a command) go with it. Used by
/// [`super::alerts`] too, to stop a notification program that hangs.
pub(crate) fn kill_and_reap(child: &mut Child) -> std::io::Result<ExitStatus> {
    // The helper is not reaped yet, so its pid (its group's id) cannot have
    // been reused by another process.
    let group = libc::pid_t::try_from(child.id()).ok();
    // SAFETY: killpg only sends a signal; it touches no memory of ours.
    let signalled = group.is_some_and(|group| unsafe { libc::killpg(group, libc::SIGKILL) } == 0);
    if !signalled {
        // Not a group leader after all, or already gone: kill the process
        // itself (an error here only means it has ended, which wait sees).
        let _ = child.kill();
    }
    child.wait()
}

/// Start `program` with `args` in a process group of its own, with no
/// standard input or output: helpers run unattended.
fn spawn_quiet(program: &Path, args: &[OsString]) -> std::io::Result<Child> {
    Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0)
        .spawn()
}

/// The executable file called `name` in the first folder of `search_path`
/// (a `PATH`-style list; the standard folders when `None`) that has one.
///
/// Used to decide once, at start, which helper tools this machine has.
pub(crate) fn find_on_path(name: &str, search_path: Option<&OsStr>) -> Option<PathBuf> {
    let search_path = search_path.unwrap_or(OsStr::new(DEFAULT_SEARCH_PATH));
    std::env::split_paths(search_path)
        .filter(|folder| !folder.as_os_str().is_empty())
        .map(|folder| folder.join(name))
        .find(|candidate| {
            candidate
                .metadata()
                .is_ok_and(|meta| meta.is_file() && meta.permissions().mode() & 0o111 != 0)
        })
}

/// Keeps the machine awake by running a helper program for as long as a
/// guard lives.
///
/// The program and arguments are plain data so that the real tools
/// ([`CommandInhibitor::caffeinate`], [`CommandInhibitor::systemd_inhibit`])
/// and stand-ins in tests go through the same code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandInhibitor {
    /// The helper to run.
    pub program: PathBuf,
    /// Its arguments. In each, [`WHY_PLACEHOLDER`] is replaced by the reason
    /// given to [`SleepInhibitor::hold`] and [`PID_PLACEHOLDER`] by the
    /// daemon's process id, so the helper can end when the daemon does.
    pub args: Vec<String>,
}

impl CommandInhibitor {
    /// macOS's `caffeinate` at `program`: prevent idle sleep (`-i`) until
    /// the daemon's process ends (`-w`) or the guard is dropped.
    pub fn caffeinate(program: PathBuf) -> Self {
        CommandInhibitor {
            program,
            args: vec!["-i".into(), "-w".into(), PID_PLACEHOLDER.into()],
        }
    }

    /// systemd's `systemd-inhibit` at `program`: take a blocking sleep and
    /// idle lock, named after photovault and the job, held by a command that
    /// runs until the guard is dropped or, like `caffeinate -w`, the daemon's
    /// process ends (`tail --pid`; `sleep infinity` would outlive a crashed
    /// daemon and keep the machine awake forever).
    pub fn systemd_inhibit(program: PathBuf) -> Self {
        let args = [
            "--what=sleep:idle",
            "--who=photovault",
            "--why={why}",
            "--mode=block",
            "tail",
            "--pid={pid}",
            "-f",
            "/dev/null",
        ];
        CommandInhibitor {
            program,
            args: args.iter().map(|arg| arg.to_string()).collect(),
        }
    }

    /// The arguments for a hold, placeholders filled in.
    fn args_for(&self, why: &str, pid: u32) -> Vec<OsString> {
        let pid = pid.to_string();
        self.args
            .iter()
            .map(|arg| OsString::from(fill_placeholders(arg, why, &pid)))
            .collect()
    }
}

/// `template` with every [`WHY_PLACEHOLDER`] and [`PID_PLACEHOLDER`]
/// replaced, in one pass so that a reason containing `{pid}` stays as given.
fn fill_placeholders(template: &str, why: &str, pid: &str) -> String {
    let mut filled = String::with_capacity(template.len() + why.len());
    let mut rest = template;
    while let Some(start) = rest.find('{') {
        filled.push_str(&rest[..start]);
        let tail = &rest[start..];
        if let Some(after) = tail.strip_prefix(WHY_PLACEHOLDER) {
            filled.push_str(why);
            rest = after;
        } else if let Some(after) = tail.strip_prefix(PID_PLACEHOLDER) {
            filled.push_str(pid);
            rest = after;
        } else {
            filled.push('{');
            rest = &tail[1..];
        }
    }
    filled.push_str(rest);
    filled
}

impl SleepInhibitor for CommandInhibitor {
    fn hold(&self, why: &str) -> WakeGuard {
        let args = self.args_for(why, std::process::id());
        match spawn_quiet(&self.program, &args) {
            Ok(child) => {
                tracing::debug!(
                    "keeping the computer awake with {} (pid {}): {why}",
                    self.program.display(),
                    child.id()
                );
                WakeGuard {
                    inner: Held::Helper {
                        child,
                        program: self.program.clone(),
                    },
                }
            }
            Err(error) => {
                tracing::warn!(
                    "could not start {} to keep the computer awake ({error}); the backup goes on, \
                     but the computer may go to sleep during it",
                    self.program.display()
                );
                WakeGuard::none()
            }
        }
    }
}

/// Keeps nothing awake: what `prevent_sleep = false` in the configuration
/// gives, and the fallback where no helper exists.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoInhibitor;

impl SleepInhibitor for NoInhibitor {
    fn hold(&self, _why: &str) -> WakeGuard {
        WakeGuard::none()
    }
}

/// This platform's way of keeping awake: `caffeinate` on macOS,
/// `systemd-inhibit` on Linux, or nothing when the tool is not installed.
///
/// The tool is looked for once, when this is made, and its absence is
/// logged then, so a machine without it does not repeat the news at every
/// job.
#[derive(Debug, Clone)]
pub struct SystemInhibitor {
    helper: Option<CommandInhibitor>,
}

impl SystemInhibitor {
    /// Look for the platform's tool on this process's `PATH`.
    pub fn detect() -> Self {
        Self::detect_in(std::env::var_os("PATH").as_deref())
    }

    /// Look for the platform's tool in `search_path` (a `PATH`-style list;
    /// the standard folders when `None`). Separate from [`Self::detect`] so
    /// tests can offer a folder with or without the tool.
    pub fn detect_in(search_path: Option<&OsStr>) -> Self {
        let (tool, make): (&str, fn(PathBuf) -> CommandInhibitor) = if cfg!(target_os = "macos") {
            ("caffeinate", CommandInhibitor::caffeinate)
        } else {
            ("systemd-inhibit", CommandInhibitor::systemd_inhibit)
        };
        let helper = find_on_path(tool, search_path).map(make);
        match &helper {
            Some(helper) => tracing::debug!(
                "jobs will keep the computer awake with {}",
                helper.program.display()
            ),
            None => tracing::info!(
                "{tool} was not found on PATH, so the computer may go to sleep during backups; \
                 install it (it comes with systemd) or keep the computer awake yourself"
            ),
        }
        SystemInhibitor { helper }
    }

    /// The helper this machine uses, if it has one.
    pub fn helper(&self) -> Option<&CommandInhibitor> {
        self.helper.as_ref()
    }
}

impl SleepInhibitor for SystemInhibitor {
    fn hold(&self, why: &str) -> WakeGuard {
        match &self.helper {
            Some(helper) => helper.hold(why),
            None => WakeGuard::none(),
        }
    }
}

/// The inhibitor the daemon uses: the platform's when `enabled` (the
/// configuration's `prevent_sleep`), one that does nothing otherwise.
pub fn system(enabled: bool) -> Arc<dyn SleepInhibitor> {
    if enabled {
        Arc::new(SystemInhibitor::detect())
    } else {
        tracing::debug!(
            "keeping the computer awake during jobs is turned off in the configuration"
        );
        Arc::new(NoInhibitor)
    }
}

/// The tallies of a [`RecordingInhibitor`], shared with its guards.
#[derive(Debug, Default)]
struct Counts {
    state: Mutex<CountState>,
}

#[derive(Debug, Default)]
struct CountState {
    reasons: Vec<String>,
    held: usize,
}

impl Counts {
    fn lock(&self) -> std::sync::MutexGuard<'_, CountState> {
        // A panicking test must not hide the counts from the next assertion.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn release(&self) {
        let mut state = self.lock();
        state.held = state.held.saturating_sub(1);
    }
}

/// A test double: counts holds instead of keeping anything awake, so tests
/// of jobs can check that a job holds the machine awake exactly while it
/// runs.
#[derive(Debug, Clone, Default)]
pub struct RecordingInhibitor {
    counts: Arc<Counts>,
}

impl RecordingInhibitor {
    /// A double with nothing recorded.
    pub fn new() -> Self {
        Self::default()
    }

    /// How many holds were ever taken.
    pub fn total_holds(&self) -> usize {
        self.counts.lock().reasons.len()
    }

    /// How many guards are alive right now.
    pub fn held_now(&self) -> usize {
        self.counts.lock().held
    }

    /// The reasons given, in the order the holds were taken.
    pub fn reasons(&self) -> Vec<String> {
        self.counts.lock().reasons.clone()
    }
}

impl SleepInhibitor for RecordingInhibitor {
    fn hold(&self, why: &str) -> WakeGuard {
        let mut state = self.counts.lock();
        state.reasons.push(why.to_string());
        state.held += 1;
        drop(state);
        WakeGuard {
            inner: Held::Counted(Arc::clone(&self.counts)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Whether `pid` is a live process (running or sleeping, not a zombie).
    #[cfg(target_os = "linux")] // watches processes through /proc
    fn alive(pid: u32) -> bool {
        match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
            // The state follows the command name, which is in parentheses.
            Ok(stat) => stat
                .rsplit_once(')')
                .and_then(|(_, rest)| rest.split_whitespace().next())
                .is_some_and(|state| state != "Z" && state != "X"),
            Err(_) => false,
        }
    }

    /// Whether `pid` no longer exists at all: not even a zombie, so reaped.
    #[cfg(target_os = "linux")] // watches processes through /proc
    fn reaped(pid: u32) -> bool {
        let pid = libc::pid_t::try_from(pid).unwrap();
        // SAFETY: signal 0 only checks that the process exists.
        let result = unsafe { libc::kill(pid, 0) };
        result == -1 && std::io::Error::last_os_error().raw_os_error() == Some(libc::ESRCH)
    }

    /// Wait up to 10 s for `check`, for things a child does soon after start.
    #[cfg(target_os = "linux")] // watches processes through /proc
    fn eventually(mut check: impl FnMut() -> bool) -> bool {
        use std::time::{Duration, Instant};
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if check() {
                return true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        check()
    }

    fn sleeper() -> CommandInhibitor {
        CommandInhibitor {
            program: "sleep".into(),
            args: vec!["1000".into()],
        }
    }

    #[test]
    fn recording_double_counts_holds_and_releases() {
        let inhibitor = RecordingInhibitor::new();
        let first = inhibitor.hold("backup to A");
        let second = inhibitor.hold("backup to B");
        assert_eq!(inhibitor.total_holds(), 2);
        assert_eq!(inhibitor.held_now(), 2);
        drop(first);
        assert_eq!(inhibitor.held_now(), 1);
        drop(second);
        assert_eq!(inhibitor.held_now(), 0);
        assert_eq!(inhibitor.total_holds(), 2);
        assert_eq!(inhibitor.reasons(), ["backup to A", "backup to B"]);
    }

    #[test]
    fn recording_double_is_shared_by_its_clones() {
        let inhibitor = RecordingInhibitor::new();
        let shared: Arc<dyn SleepInhibitor> = Arc::new(inhibitor.clone());
        let guard = shared.hold("job");
        assert_eq!(inhibitor.held_now(), 1);
        drop(guard);
        assert_eq!(inhibitor.held_now(), 0);
    }

    #[cfg(target_os = "linux")] // watches processes through /proc
    #[test]
    fn helper_runs_while_held_and_is_reaped_after_drop() {
        let guard = sleeper().hold("test");
        let pid = guard.helper_pid().expect("sleep should have started");
        assert!(alive(pid), "the helper should run while the guard is held");
        drop(guard);
        assert!(
            reaped(pid),
            "the helper should be killed and reaped on drop"
        );
    }

    #[cfg(target_os = "linux")] // watches processes through /proc
    #[test]
    fn concurrent_holds_have_their_own_helpers() {
        let inhibitor = sleeper();
        let first = inhibitor.hold("drive A");
        let second = inhibitor.hold("drive B");
        let (a, b) = (first.helper_pid().unwrap(), second.helper_pid().unwrap());
        assert_ne!(a, b);
        drop(first);
        assert!(reaped(a));
        assert!(
            alive(b),
            "dropping one guard must not end another job's hold"
        );
        drop(second);
        assert!(reaped(b));
    }

    #[cfg(target_os = "linux")] // watches processes through /proc
    #[test]
    fn placeholders_reach_the_helper_and_its_children_die_with_it() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("args");
        // The helper records its arguments, then starts a child of its own
        // (as systemd-inhibit does) and waits.
        let script = format!(
            "printf '%s\\n' \"$1\" \"$2\" > '{0}.tmp'; sleep 1000 & echo $! >> '{0}.tmp'; \
             mv '{0}.tmp' '{0}'; wait",
            out.display()
        );
        let inhibitor = CommandInhibitor {
            program: "sh".into(),
            args: vec![
                "-c".into(),
                script,
                "helper".into(),
                "--why={why}".into(),
                "{pid}".into(),
            ],
        };
        let guard = inhibitor.hold("Backup to “Drive A” {pid} \"quoted\"");
        assert!(
            eventually(|| out.exists()),
            "the helper never wrote its arguments"
        );
        let written = std::fs::read_to_string(&out).unwrap();
        let lines: Vec<&str> = written.lines().collect();
        assert_eq!(lines[0], "--why=Backup to “Drive A” {pid} \"quoted\"");
        assert_eq!(lines[1], std::process::id().to_string());
        let grandchild: u32 = lines[2].parse().unwrap();
        assert!(alive(grandchild));
        drop(guard);
        assert!(
            eventually(|| !alive(grandchild)),
            "the helper's own child should be killed with it"
        );
    }

    #[test]
    fn a_missing_helper_gives_an_empty_guard() {
        let inhibitor = CommandInhibitor {
            program: "/nonexistent/photovault-no-such-helper".into(),
            args: vec![],
        };
        let mut guard = inhibitor.hold("test");
        assert_eq!(guard.helper_pid(), None);
        assert_eq!(guard.end(), Finish::Nothing);
    }

    #[cfg(target_os = "linux")] // watches processes through /proc
    #[test]
    fn a_helper_that_ends_early_is_noticed_and_reaped() {
        let inhibitor = CommandInhibitor {
            program: "false".into(),
            args: vec![],
        };
        let mut guard = inhibitor.hold("test");
        let pid = guard.helper_pid().unwrap();
        // Let it end on its own (it stays a zombie until the guard reaps it).
        assert!(eventually(|| !alive(pid)));
        match guard.end() {
            Finish::EndedEarly(status) => assert!(!status.success()),
            other => panic!("expected an early end, got {other:?}"),
        }
        assert!(reaped(pid));
        assert_eq!(guard.end(), Finish::Nothing, "ending twice does nothing");
    }

    #[test]
    fn a_running_helper_is_reported_stopped() {
        let mut guard = sleeper().hold("test");
        assert_eq!(guard.end(), Finish::Stopped);
        assert_eq!(guard.helper_pid(), None);
    }

    #[test]
    fn placeholders_are_filled_in_one_pass() {
        assert_eq!(
            fill_placeholders("--why={why}", "a {pid} b", "42"),
            "--why=a {pid} b"
        );
        assert_eq!(fill_placeholders("{pid}{why}{", "w", "7"), "7w{");
        assert_eq!(fill_placeholders("{other} {pi", "w", "7"), "{other} {pi");
        assert_eq!(fill_placeholders("", "w", "7"), "");
    }

    #[test]
    fn platform_tools_get_the_documented_arguments() {
        let caffeinate = CommandInhibitor::caffeinate("/usr/bin/caffeinate".into());
        assert_eq!(caffeinate.args_for("job", 77), ["-i", "-w", "77"]);
        let systemd = CommandInhibitor::systemd_inhibit("/usr/bin/systemd-inhibit".into());
        assert_eq!(
            systemd.args_for("Backup to “A”", 77),
            [
                "--what=sleep:idle",
                "--who=photovault",
                "--why=Backup to “A”",
                "--mode=block",
                "tail",
                "--pid=77",
                "-f",
                "/dev/null",
            ]
        );
    }

    #[test]
    fn without_the_tool_on_path_the_system_inhibitor_does_nothing() {
        let empty = tempfile::tempdir().unwrap();
        let inhibitor = SystemInhibitor::detect_in(Some(empty.path().as_os_str()));
        assert_eq!(inhibitor.helper(), None);
        let guard = inhibitor.hold("test");
        assert_eq!(guard.helper_pid(), None);
    }

    #[test]
    fn disabled_keeps_nothing_awake() {
        let guard = system(false).hold("test");
        assert_eq!(guard.helper_pid(), None);
    }

    #[test]
    fn find_on_path_wants_an_executable_file() {
        let dir = tempfile::tempdir().unwrap();
        let plain = dir.path().join("plain");
        std::fs::write(&plain, "").unwrap();
        std::fs::create_dir(dir.path().join("folder")).unwrap();
        let tool = dir.path().join("tool");
        std::fs::write(&tool, "#!/bin/sh\n").unwrap();
        std::fs::set_permissions(&tool, std::fs::Permissions::from_mode(0o755)).unwrap();
        let search =
            std::env::join_paths(["/nonexistent", "", dir.path().to_str().unwrap()]).unwrap();
        assert_eq!(find_on_path("tool", Some(&search)), Some(tool));
        assert_eq!(find_on_path("plain", Some(&search)), None);
        assert_eq!(find_on_path("folder", Some(&search)), None);
        assert_eq!(find_on_path("missing", Some(&search)), None);
    }

    /// On Linux the system inhibitor runs `systemd-inhibit` from `PATH` with
    /// the documented arguments; a stand-in records them.
    #[cfg(target_os = "linux")]
    #[test]
    fn system_inhibitor_runs_systemd_inhibit_found_on_path() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("args");
        let fake = dir.path().join("systemd-inhibit");
        let script = format!(
            "#!/bin/sh\nprintf '%s\\n' \"$@\" > '{0}.tmp'; mv '{0}.tmp' '{0}'; exec sleep 1000\n",
            out.display()
        );
        std::fs::write(&fake, script).unwrap();
        std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).unwrap();

        let inhibitor = SystemInhibitor::detect_in(Some(dir.path().as_os_str()));
        assert_eq!(inhibitor.helper().map(|h| h.program.clone()), Some(fake));
        let guard = hold_retrying_busy(&inhibitor);
        let pid = guard.helper_pid().unwrap();
        assert!(eventually(|| out.exists()));
        let args = std::fs::read_to_string(&out).unwrap();
        assert!(args.contains("--why=Backup to “A”\n"), "{args}");
        assert!(
            args.contains(&format!("--pid={}\n", std::process::id())),
            "{args}"
        );
        drop(guard);
        assert!(reaped(pid));
    }

    /// A script written just before it runs can be refused with "text file
    /// busy" while another test thread forks; try again then.
    #[cfg(target_os = "linux")]
    fn hold_retrying_busy(inhibitor: &SystemInhibitor) -> WakeGuard {
        for _ in 0..50 {
            let guard = inhibitor.hold("Backup to “A”");
            if guard.helper_pid().is_some() {
                return guard;
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        panic!("the stand-in systemd-inhibit never started");
    }
}
