//! `photovaultctl install` and `uninstall`: register `photovaultd` with the
//! platform's service manager so that it runs at every login and comes back
//! if it fails — a LaunchAgent loaded with `launchctl` on macOS, a systemd
//! user unit on Linux.
//!
//! Both files are rendered from the templates in `launchd/`, embedded at build
//! time so that an installed `photovaultctl` needs nothing from the source
//! tree. The service-manager commands go through the small [`System`] trait so
//! that the tests check what would be run, and in which order, without
//! touching the real launchd or systemd. Which kind of file is written is a
//! runtime choice ([`InstallOptions::macos`]), so the macOS code is compiled
//! and tested on Linux too.

use std::fs;
use std::io::{self, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use anyhow::{bail, Context, Result};

/// The LaunchAgent template, with `@DAEMON@`, `@LOGDIR@` and the
/// `<!--@CONFIG_ARGUMENTS@-->` line to fill in.
const LAUNCH_AGENT_TEMPLATE: &str = include_str!("../../launchd/com.photovault.photovaultd.plist");

/// The systemd user unit template, with `@EXEC_START@` to fill in.
const SYSTEMD_UNIT_TEMPLATE: &str = include_str!("../../launchd/photovaultd.service");

/// The launchd label of the agent, also the stem of its file name.
const LABEL: &str = "com.photovault.photovaultd";

/// The systemd unit name, also its file name.
const SYSTEMD_UNIT: &str = "photovaultd.service";

/// The template line that becomes the `--config FILE` strings (or nothing).
const CONFIG_ARGUMENTS_PLACEHOLDER: &str = "<!--@CONFIG_ARGUMENTS@-->";

/// Replaces the template's header comment in an installed LaunchAgent: the
/// template's own header documents placeholders that are gone once filled in.
const LAUNCH_AGENT_HEADER: &str = "<!--
  photovaultd's LaunchAgent, written by `photovaultctl install` from the
  template launchd/com.photovault.photovaultd.plist of photovault.
  `photovaultctl install` rewrites this file and `photovaultctl uninstall`
  removes it: change what you give to install rather than editing it here.
-->";

/// Replaces the template's header comment in an installed systemd unit.
const SYSTEMD_UNIT_HEADER: &str = "\
# photovaultd as a systemd user service, written by `photovaultctl install`
# from the template launchd/photovaultd.service of photovault.
# `photovaultctl install` rewrites this file and `photovaultctl uninstall`
# removes it: change what you give to install rather than editing it here.
";

/// How long to wait before each new `launchctl bootstrap` attempt after
/// "5: Input/output error": launchd answers that while the label it has
/// just booted out is still being torn down.
const BOOTSTRAP_RETRY_PAUSES: [Duration; 3] = [
    Duration::from_secs(1),
    Duration::from_secs(2),
    Duration::from_secs(4),
];

/// What to install, and where: everything the service file depends on is
/// here, so that tests can point it at a temporary home and skip the service
/// manager, and packaging can write a file without loading it.
#[derive(Debug, Clone)]
pub struct InstallOptions {
    /// Absolute path of the `photovaultd` binary the service runs (by default
    /// the one next to the running `photovaultctl`); a relative path is taken
    /// from the current directory.
    pub daemon: PathBuf,
    /// A configuration file passed to the daemon as `--config FILE`; without
    /// it the daemon reads its platform default.
    pub config: Option<PathBuf>,
    /// The user's home folder (from `$HOME`), under which the service file
    /// goes.
    pub home: PathBuf,
    /// `$XDG_CONFIG_HOME` when set (Linux only): systemd reads user units from
    /// `<it>/systemd/user`; `None` (or a relative path, which the XDG spec
    /// says to ignore) means `~/.config`.
    pub xdg_config_home: Option<PathBuf>,
    /// Where the daemon's logs go: `~/Library/Logs/photovault` on macOS,
    /// `<XDG state>/photovault/logs` on Linux. Created by `install`.
    pub log_dir: PathBuf,
    /// `false` only writes (or removes) the file; `true` also loads (or
    /// unloads) it with `launchctl` or `systemctl --user`.
    pub load: bool,
    /// Which kind to write: a LaunchAgent (`true`) or a systemd user unit.
    /// `cfg!(target_os = "macos")` in real use; tests do both.
    pub macos: bool,
}

impl InstallOptions {
    /// Where the service file goes: the LaunchAgent in
    /// `~/Library/LaunchAgents`, or the unit in the systemd user unit folder.
    pub fn unit_file(&self) -> PathBuf {
        if self.macos {
            self.home
                .join("Library/LaunchAgents")
                .join(format!("{LABEL}.plist"))
        } else {
            // The XDG base directory spec says to ignore a relative value.
            self.xdg_config_home
                .clone()
                .filter(|dir| dir.is_absolute())
                .unwrap_or_else(|| self.home.join(".config"))
                .join("systemd/user")
                .join(SYSTEMD_UNIT)
        }
    }
}

/// What `install` or `uninstall` did, for `photovaultctl` to print.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstallReport {
    /// The LaunchAgent or unit file written or removed.
    pub unit_file: PathBuf,
    /// Whether the service manager now has photovaultd loaded (always `false`
    /// after `uninstall`).
    pub loaded: bool,
    /// One line per thing done or worth knowing, in order, for the user.
    pub messages: Vec<String>,
}

/// Writes the LaunchAgent (macOS) or systemd user unit (Linux) that runs
/// `photovaultd`, replacing any earlier one, creates the log folder, and with
/// `load` (re)starts it through `launchctl bootstrap gui/<uid>` or
/// `systemctl --user`, so that it runs now and at every login.
pub fn install(options: &InstallOptions) -> Result<InstallReport> {
    install_with(options, &RealSystem)
}

/// Stops `photovaultd` (with `load`) and removes its LaunchAgent or systemd
/// user unit. Not being installed is not an error: the report says so. Logs
/// are kept.
pub fn uninstall(options: &InstallOptions) -> Result<InstallReport> {
    uninstall_with(options, &RealSystem)
}

/// The LaunchAgent plist for `daemon` (with `--config FILE` when given),
/// logging to `log_dir`: the template `launchd/com.photovault.photovaultd.plist`
/// filled in, every path XML-escaped.
pub fn render_launch_agent(daemon: &Path, config: Option<&Path>, log_dir: &Path) -> String {
    let daemon = xml_escape(&daemon.to_string_lossy());
    let log_dir = log_dir.to_string_lossy();
    let log_dir = xml_escape(log_dir.trim_end_matches('/'));
    let arguments: Vec<String> = match config {
        Some(config) => vec!["--config".to_owned(), xml_escape(&config.to_string_lossy())],
        None => Vec::new(),
    };

    // The template is a compile-time constant with one header comment (the
    // tests check that it is there); without one, nothing is replaced.
    let (before, body) = LAUNCH_AGENT_TEMPLATE
        .split_once("<!--")
        .and_then(|(before, rest)| Some((before, rest.split_once("-->")?.1)))
        .unwrap_or(("", LAUNCH_AGENT_TEMPLATE));

    let mut out = String::with_capacity(LAUNCH_AGENT_TEMPLATE.len() + 256);
    out.push_str(before);
    out.push_str(LAUNCH_AGENT_HEADER);
    // `body` starts with what followed `-->` on its line: nothing, so the
    // header's line ends there.
    for line in body.lines() {
        if line.trim() == CONFIG_ARGUMENTS_PLACEHOLDER {
            let indent = &line[..line.len() - line.trim_start().len()];
            for argument in &arguments {
                out.push_str(&format!("{indent}<string>{argument}</string>\n"));
            }
            continue;
        }
        out.push_str(&fill(
            line,
            &[("@DAEMON@", &daemon), ("@LOGDIR@", &log_dir)],
        ));
        out.push('\n');
    }
    out
}

/// The systemd user unit for `daemon` (with `--config FILE` when given): the
/// template `launchd/photovaultd.service` filled in, each `ExecStart=` word
/// quoted and escaped as systemd reads it (`%` specifiers, `$` variables,
/// quotes, backslashes, spaces).
pub fn render_systemd_unit(daemon: &Path, config: Option<&Path>) -> String {
    let mut words = vec![systemd_word(&daemon.to_string_lossy(), true)];
    if let Some(config) = config {
        words.push(systemd_word("--config", false));
        words.push(systemd_word(&config.to_string_lossy(), false));
    }
    let exec_start = words.join(" ");

    let mut out = String::from(SYSTEMD_UNIT_HEADER);
    for line in SYSTEMD_UNIT_TEMPLATE
        .lines()
        .skip_while(|line| line.starts_with('#'))
    {
        out.push_str(&fill(line, &[("@EXEC_START@", &exec_start)]));
        out.push('\n');
    }
    out
}

/// What a service-manager command printed and how it ended.
#[derive(Debug, Clone)]
struct Outcome {
    /// The exit code; `None` when it was killed by a signal.
    code: Option<i32>,
    /// Its stderr then stdout, trimmed: launchctl and systemctl explain
    /// failures on either.
    output: String,
}

impl Outcome {
    fn success(&self) -> bool {
        self.code == Some(0)
    }

    /// "exit status N: what it said", for error messages.
    fn describe(&self) -> String {
        let status = match self.code {
            Some(code) => format!("exit status {code}"),
            None => "killed by a signal".to_owned(),
        };
        if self.output.is_empty() {
            status
        } else {
            format!("{status}: {}", self.output)
        }
    }
}

/// The machine as install and uninstall see it: commands to run, who we
/// are, and time passing. The tests replace it with a recording fake.
trait System {
    /// Runs `program` with `args`, waiting for it to end.
    fn run(&self, program: &str, args: &[&str]) -> io::Result<Outcome>;
    /// The real user id, which names the launchd `gui/<uid>` domain.
    fn uid(&self) -> u32;
    /// Waits, between retries.
    fn pause(&self, duration: Duration);
}

/// The real machine.
struct RealSystem;

impl System for RealSystem {
    fn run(&self, program: &str, args: &[&str]) -> io::Result<Outcome> {
        let output = Command::new(program)
            .args(args)
            .stdin(Stdio::null())
            .output()?;
        let stderr = String::from_utf8_lossy(&output.stderr);
        let stdout = String::from_utf8_lossy(&output.stdout);
        Ok(Outcome {
            code: output.status.code(),
            output: format!("{} {}", stderr.trim(), stdout.trim())
                .trim()
                .to_owned(),
        })
    }

    fn uid(&self) -> u32 {
        // SAFETY: getuid has no preconditions and cannot fail.
        unsafe { libc::getuid() }
    }

    fn pause(&self, duration: Duration) {
        std::thread::sleep(duration);
    }
}

/// [`install`] on a given [`System`].
fn install_with(options: &InstallOptions, system: &dyn System) -> Result<InstallReport> {
    let unit_file = options.unit_file();
    if options.load && options.macos && system.uid() == 0 {
        bail!(
            "photovaultctl install is running as root (with sudo?), but a LaunchAgent belongs to the \
             user who logs in: run `photovaultctl install` again as yourself, without sudo"
        );
    }
    let daemon = checked_daemon(&options.daemon, options.macos)?;
    let config = options.config.as_deref().map(checked_config).transpose()?;
    let log_dir = checked_text_path("log folder", &options.log_dir)?;

    let contents = if options.macos {
        render_launch_agent(&daemon, config.as_deref(), &log_dir)
    } else {
        render_systemd_unit(&daemon, config.as_deref())
    };
    fs::create_dir_all(&log_dir).with_context(|| {
        format!(
            "could not create the log folder {}: check that it is yours and writable",
            log_dir.display()
        )
    })?;
    let replaced = unit_file.symlink_metadata().is_ok();
    write_atomically(&unit_file, &contents)?;

    let kind = if options.macos {
        "LaunchAgent"
    } else {
        "systemd user unit"
    };
    let mut messages = vec![format!(
        "{} the {kind} {}",
        if replaced { "replaced" } else { "wrote" },
        unit_file.display()
    )];
    messages.push(format!(
        "it runs {}{}",
        daemon.display(),
        match &config {
            Some(config) => format!(" --config {}", config.display()),
            None => String::new(),
        }
    ));
    messages.push(if options.macos {
        format!("logs go to {}", log_dir.display())
    } else {
        format!(
            "logs go to {}; what systemd sees of it is in `journalctl --user -u {SYSTEMD_UNIT}`",
            log_dir.display()
        )
    });

    if !options.load {
        messages.push(if options.macos {
            format!(
                "not loaded, as asked: load it with `launchctl bootstrap gui/{} {}`",
                system.uid(),
                unit_file.display()
            )
        } else {
            format!(
                "not started, as asked: start it with `systemctl --user daemon-reload` then \
                 `systemctl --user enable --now {SYSTEMD_UNIT}`"
            )
        });
    } else if options.macos {
        load_launch_agent(system, &unit_file, &mut messages)?;
    } else {
        load_systemd_unit(system, &unit_file, &mut messages)?;
    }
    Ok(InstallReport {
        unit_file,
        loaded: options.load,
        messages,
    })
}

/// [`uninstall`] on a given [`System`].
fn uninstall_with(options: &InstallOptions, system: &dyn System) -> Result<InstallReport> {
    let unit_file = options.unit_file();
    let mut messages = Vec::new();
    let mut stopped = false;
    let mut systemctl_present = true;

    if options.load && options.macos {
        if system.uid() == 0 {
            bail!(
                "photovaultctl uninstall is running as root (with sudo?), but the LaunchAgent belongs to \
                 the user who logs in: run `photovaultctl uninstall` again as yourself, without sudo"
            );
        }
        let service = format!("gui/{}/{LABEL}", system.uid());
        match bootout(system, &service, &unit_file)? {
            Bootout::Stopped => stopped = true,
            Bootout::NotLoaded => {}
            Bootout::Failed(outcome) => bail!(
                "`launchctl bootout {service}` failed ({}), so photovaultd may still be running and \
                 its LaunchAgent {} was left in place: run that command from a Terminal in your \
                 desktop session, then `photovaultctl uninstall` again",
                outcome.describe(),
                unit_file.display()
            ),
        }
        if stopped {
            messages.push(format!(
                "stopped photovaultd and unloaded it with `launchctl bootout {service}`"
            ));
        }
    } else if options.load {
        let args = ["--user", "disable", "--now", SYSTEMD_UNIT];
        match system.run("systemctl", &args) {
            Err(err) if err.kind() == io::ErrorKind::NotFound => {
                systemctl_present = false;
                messages.push("systemctl was not found, so there was no service to stop".to_owned());
            }
            Err(err) => bail!(
                "could not run `systemctl {}` ({err}), so photovaultd may still be running and {} was \
                 left in place: run that command from a logged-in session, then \
                 `photovaultctl uninstall` again",
                args.join(" "),
                unit_file.display()
            ),
            Ok(outcome) if outcome.success() => {
                stopped = true;
                messages.push(format!("stopped and disabled {SYSTEMD_UNIT}"));
            }
            Ok(outcome) if systemd_unit_missing(&outcome) => {}
            Ok(outcome) => bail!(
                "`systemctl {}` failed ({}), so photovaultd may still be running and {} was left in \
                 place: run that command from a logged-in session, then `photovaultctl uninstall` again",
                args.join(" "),
                outcome.describe(),
                unit_file.display()
            ),
        }
    }

    let removed = match fs::remove_file(&unit_file) {
        Ok(()) => true,
        Err(err) if err.kind() == io::ErrorKind::NotFound => false,
        Err(err) => {
            return Err(err).with_context(|| {
                format!(
                    "could not remove {}: check that it and its folder are yours, then run \
                     `photovaultctl uninstall` again",
                    unit_file.display()
                )
            })
        }
    };
    if removed {
        messages.push(format!("removed {}", unit_file.display()));
        if options.load && !options.macos && systemctl_present {
            match system.run("systemctl", &["--user", "daemon-reload"]) {
                Ok(outcome) if outcome.success() => {}
                Ok(outcome) => messages.push(format!(
                    "`systemctl --user daemon-reload` failed ({}): run it yourself so that systemd \
                     forgets {SYSTEMD_UNIT}",
                    outcome.describe()
                )),
                Err(err) => messages.push(format!(
                    "could not run `systemctl --user daemon-reload` ({err}): run it yourself so that \
                     systemd forgets {SYSTEMD_UNIT}"
                )),
            }
        }
    } else if !stopped {
        messages.push(format!(
            "photovaultd was not installed: there is no {}, so there was nothing to remove",
            unit_file.display()
        ));
    }
    if (removed || stopped) && options.log_dir.is_dir() {
        messages.push(format!(
            "its logs were kept in {}",
            options.log_dir.display()
        ));
    }
    Ok(InstallReport {
        unit_file,
        loaded: false,
        messages,
    })
}

/// What `launchctl bootout` did.
enum Bootout {
    /// The agent was loaded and has been stopped and unloaded.
    Stopped,
    /// It was not loaded: nothing to do.
    NotLoaded,
    /// Anything else.
    Failed(Outcome),
}

/// Unloads (and so stops) the agent `service` (`gui/<uid>/<label>`).
fn bootout(system: &dyn System, service: &str, plist: &Path) -> Result<Bootout> {
    let outcome = system
        .run("launchctl", &["bootout", service])
        .with_context(|| {
            format!(
                "could not run `launchctl bootout {service}`: photovaultctl manages LaunchAgents \
                 only on macOS; the LaunchAgent is {}",
                plist.display()
            )
        })?;
    Ok(if outcome.success() {
        Bootout::Stopped
    } else if launchd_not_loaded(&outcome) {
        Bootout::NotLoaded
    } else {
        Bootout::Failed(outcome)
    })
}

/// Whether a failed `launchctl bootout` only means "was not loaded":
/// `3: No such process` (older macOS) or `113: Could not find specified
/// service` (newer).
fn launchd_not_loaded(outcome: &Outcome) -> bool {
    matches!(outcome.code, Some(3) | Some(113))
        || outcome.output.contains("No such process")
        || outcome.output.contains("Could not find specified service")
}

/// Whether a failed `systemctl --user disable` only means "no such unit".
fn systemd_unit_missing(outcome: &Outcome) -> bool {
    outcome.output.contains("does not exist")
        || outcome.output.contains("not loaded")
        || outcome.output.contains("not found")
}

/// (Re)loads the LaunchAgent: boot out the running one if any, then
/// bootstrap the new file into `gui/<uid>`, which starts it (RunAtLoad).
fn load_launch_agent(system: &dyn System, plist: &Path, messages: &mut Vec<String>) -> Result<()> {
    let uid = system.uid();
    let domain = format!("gui/{uid}");
    let service = format!("{domain}/{LABEL}");
    let plist_text = checked_text_path("LaunchAgent", plist)?;
    let plist_text = plist_text.to_string_lossy();

    let earlier_failure = match bootout(system, &service, plist)? {
        Bootout::Stopped => {
            messages.push(format!(
                "stopped the photovaultd that was running (`launchctl bootout {service}`)"
            ));
            None
        }
        Bootout::NotLoaded => None,
        Bootout::Failed(outcome) => Some(outcome),
    };

    let mut pauses = BOOTSTRAP_RETRY_PAUSES.iter();
    loop {
        let outcome = system
            .run("launchctl", &["bootstrap", &domain, &plist_text])
            .with_context(|| {
                format!(
                    "could not run `launchctl bootstrap {domain} {plist_text}`: photovaultctl loads \
                     LaunchAgents only on macOS; the LaunchAgent was written all the same"
                )
            })?;
        if outcome.success() {
            break;
        }
        if outcome.code == Some(5) {
            if let Some(pause) = pauses.next() {
                system.pause(*pause);
                continue;
            }
        }
        let earlier = match &earlier_failure {
            Some(bootout) => format!(
                " (before that, `launchctl bootout {service}` failed: {})",
                bootout.describe()
            ),
            None => String::new(),
        };
        bail!(
            "launchctl could not load the LaunchAgent {plist_text}: `launchctl bootstrap {domain}` \
             failed ({}){earlier}. The file is written: load it from a Terminal in your desktop \
             session (not over ssh) with `launchctl bootout {service}` then \
             `launchctl bootstrap {domain} {plist_text}`, or run `photovaultctl install` again there",
            outcome.describe()
        );
    }
    messages.push(format!(
        "loaded it with `launchctl bootstrap {domain}`: photovaultd runs now and at every login"
    ));
    Ok(())
}

/// (Re)starts the systemd user unit: reload the unit files, enable it for
/// every login, restart it so that a reinstall takes effect at once.
fn load_systemd_unit(
    system: &dyn System,
    unit_file: &Path,
    messages: &mut Vec<String>,
) -> Result<()> {
    let session_hint = format!(
        "the unit file was written to {}; start it with `systemctl --user enable --now {SYSTEMD_UNIT}` \
         from a logged-in session",
        unit_file.display()
    );
    let steps: [&[&str]; 3] = [
        &["--user", "daemon-reload"],
        &["--user", "enable", SYSTEMD_UNIT],
        &["--user", "restart", SYSTEMD_UNIT],
    ];
    for args in steps {
        let command = format!("systemctl {}", args.join(" "));
        let outcome = match system.run("systemctl", args) {
            Ok(outcome) => outcome,
            Err(err) if err.kind() == io::ErrorKind::NotFound => bail!(
                "systemctl was not found, so photovaultd was not started: {session_hint} \
                 (without systemd, start `photovaultd` at login some other way)"
            ),
            Err(err) => bail!("could not run `{command}` ({err}): {session_hint}"),
        };
        if outcome.success() {
            continue;
        }
        if args[1] == "restart" {
            bail!(
                "photovaultd did not start: `{command}` failed ({}). See why with \
                 `journalctl --user -u {SYSTEMD_UNIT}`, fix it, then run \
                 `systemctl --user restart {SYSTEMD_UNIT}`",
                outcome.describe()
            );
        }
        bail!(
            "`{command}` failed ({}): {session_hint}",
            outcome.describe()
        );
    }
    messages.push(format!(
        "enabled and (re)started {SYSTEMD_UNIT}: photovaultd runs now and whenever you log in \
         (`systemctl --user status {SYSTEMD_UNIT}` shows it; `loginctl enable-linger` keeps it \
         running while you are logged out)"
    ));
    Ok(())
}

/// The daemon path made absolute, checked to name an executable file that
/// the service manager can run.
fn checked_daemon(daemon: &Path, macos: bool) -> Result<PathBuf> {
    let daemon = checked_text_path("photovaultd", daemon)?;
    let metadata = match fs::metadata(&daemon) {
        Ok(metadata) => metadata,
        Err(err) if err.kind() == io::ErrorKind::NotFound => bail!(
            "photovaultd was not found at {}: build it with `make build` or pass --daemon PATH",
            daemon.display()
        ),
        Err(err) => {
            return Err(err).with_context(|| {
                format!(
                "could not look at photovaultd at {}: check its permissions or pass --daemon PATH",
                daemon.display()
            )
            })
        }
    };
    if !metadata.is_file() {
        bail!(
            "{} is not the photovaultd program but a folder or special file: pass --daemon PATH \
             with the path of the photovaultd binary",
            daemon.display()
        );
    }
    if metadata.permissions().mode() & 0o111 == 0 {
        bail!(
            "{} is not executable: run `chmod +x {}` or pass --daemon PATH",
            daemon.display(),
            daemon.display()
        );
    }
    // systemd refuses an executable path containing quotes or backslashes
    // ("Executable name contains special characters"), however escaped.
    if !macos {
        if let Some(c) = daemon
            .to_string_lossy()
            .chars()
            .find(|c| matches!(c, '"' | '\'' | '\\'))
        {
            bail!(
                "systemd cannot run a program whose path contains {c:?}, as {} does: move \
                 photovaultd to a folder without quotes or backslashes (for example with \
                 `make install PREFIX=~/.local`) and pass --daemon PATH",
                daemon.display()
            );
        }
    }
    Ok(daemon)
}

/// The configuration path made absolute and checked to be a file, so that
/// the daemon does not fail at every start.
fn checked_config(config: &Path) -> Result<PathBuf> {
    let config = checked_text_path("configuration file", config)?;
    if !config.is_file() {
        bail!(
            "the configuration file {} does not exist or is not a file: create it \
             (config/config.example.toml shows every key) or leave out --config to use the \
             default place",
            config.display()
        );
    }
    Ok(config)
}

/// `path` made absolute, checked to be text that a plist or unit file can
/// hold: UTF-8 without control characters.
fn checked_text_path(what: &str, path: &Path) -> Result<PathBuf> {
    let absolute = std::path::absolute(path).with_context(|| {
        format!(
            "could not make the {what} path {} absolute: give an absolute path",
            path.display()
        )
    })?;
    let Some(text) = absolute.to_str() else {
        bail!(
            "the {what} path {} is not valid UTF-8, which a LaunchAgent or systemd unit cannot \
             hold: rename it, or move it to a folder whose name is plain text",
            absolute.display()
        );
    };
    if text.chars().any(char::is_control) {
        bail!(
            "the {what} path {text:?} contains a control character (a newline or tab, say), which \
             a LaunchAgent or systemd unit cannot hold: rename it"
        );
    }
    Ok(absolute)
}

/// Writes `contents` to `path` through a temporary file in the same folder
/// and a rename, with mode 0644 (launchd refuses agents that others can
/// write), so that a reinstall never leaves a half-written file.
fn write_atomically(path: &Path, contents: &str) -> Result<()> {
    let dir = path
        .parent()
        .context("the service file path has no folder")?;
    fs::create_dir_all(dir).with_context(|| {
        format!(
            "could not create {}: check that it is yours and writable",
            dir.display()
        )
    })?;
    let file_name = path
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_default();
    // No .plist / .service suffix: neither launchd nor systemd picks it up.
    let temporary = dir.join(format!(".{file_name}.tmp-{}", std::process::id()));
    let written = (|| -> io::Result<()> {
        let mut file = fs::File::create(&temporary)?;
        file.write_all(contents.as_bytes())?;
        file.set_permissions(fs::Permissions::from_mode(0o644))?;
        file.sync_all()?;
        fs::rename(&temporary, path)
    })();
    if let Err(err) = written {
        let _ = fs::remove_file(&temporary);
        return Err(err).with_context(|| {
            format!(
                "could not write {}: check that {} is yours and writable",
                path.display(),
                dir.display()
            )
        });
    }
    Ok(())
}

/// Replaces each `(placeholder, value)` in `line`, in one pass, so that a
/// value that happens to contain a placeholder is left as it is.
fn fill(line: &str, values: &[(&str, &str)]) -> String {
    let mut out = String::with_capacity(line.len());
    let mut rest = line;
    loop {
        let next = values
            .iter()
            .filter_map(|(placeholder, value)| {
                rest.find(placeholder)
                    .map(|at| (at, placeholder.len(), *value))
            })
            .min_by_key(|(at, _, _)| *at);
        match next {
            Some((at, len, value)) => {
                out.push_str(&rest[..at]);
                out.push_str(value);
                rest = &rest[at + len..];
            }
            None => {
                out.push_str(rest);
                return out;
            }
        }
    }
}

/// `text` safe inside an XML element.
fn xml_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            c => out.push(c),
        }
    }
    out
}

/// One `ExecStart=` word as systemd reads it back: `%` doubled (specifiers
/// are expanded first, on the whole line), then, unless the word is plain,
/// double quotes with `\` and `"` escaped, and `$` doubled in arguments
/// (variables are expanded in arguments at start, but not in the
/// executable's path, where `$$` would stay `$$`).
fn systemd_word(word: &str, executable: bool) -> String {
    let plain = !word.is_empty()
        && word.chars().all(|c| {
            c.is_ascii_alphanumeric() || matches!(c, '/' | '-' | '_' | '.' | ',' | ':' | '+' | '=')
        });
    if plain {
        return word.to_owned();
    }
    let mut out = String::with_capacity(word.len() + 2);
    out.push('"');
    for c in word.chars() {
        match c {
            '%' => out.push_str("%%"),
            '$' if !executable => out.push_str("$$"),
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::RefCell;
    use std::collections::VecDeque;

    /// A machine whose commands answer from a script and are recorded.
    struct FakeSystem {
        uid: u32,
        answers: RefCell<VecDeque<io::Result<Outcome>>>,
        calls: RefCell<Vec<String>>,
        pauses: RefCell<Vec<Duration>>,
    }

    impl FakeSystem {
        fn new(answers: Vec<io::Result<Outcome>>) -> Self {
            FakeSystem {
                uid: 501,
                answers: RefCell::new(answers.into()),
                calls: RefCell::new(Vec::new()),
                pauses: RefCell::new(Vec::new()),
            }
        }

        fn calls(&self) -> Vec<String> {
            self.calls.borrow().clone()
        }
    }

    impl System for FakeSystem {
        fn run(&self, program: &str, args: &[&str]) -> io::Result<Outcome> {
            self.calls
                .borrow_mut()
                .push(format!("{program} {}", args.join(" ")));
            self.answers
                .borrow_mut()
                .pop_front()
                .unwrap_or_else(|| Ok(ok()))
        }

        fn uid(&self) -> u32 {
            self.uid
        }

        fn pause(&self, duration: Duration) {
            self.pauses.borrow_mut().push(duration);
        }
    }

    fn ok() -> Outcome {
        Outcome {
            code: Some(0),
            output: String::new(),
        }
    }

    fn failed(code: i32, output: &str) -> io::Result<Outcome> {
        Ok(Outcome {
            code: Some(code),
            output: output.to_owned(),
        })
    }

    fn not_found() -> io::Result<Outcome> {
        Err(io::Error::new(
            io::ErrorKind::NotFound,
            "No such file or directory",
        ))
    }

    /// A temporary home with an executable stand-in for photovaultd in
    /// `bin_dir` (relative to the home).
    struct Setup {
        home: tempfile::TempDir,
        daemon: PathBuf,
    }

    fn setup(bin_dir: &str) -> Setup {
        let home = tempfile::tempdir().unwrap();
        let dir = home.path().join(bin_dir);
        fs::create_dir_all(&dir).unwrap();
        let daemon = dir.join("photovaultd");
        fs::write(&daemon, "#!/bin/sh\nexit 0\n").unwrap();
        fs::set_permissions(&daemon, fs::Permissions::from_mode(0o755)).unwrap();
        Setup { home, daemon }
    }

    fn options(setup: &Setup, macos: bool) -> InstallOptions {
        let home = setup.home.path().to_path_buf();
        InstallOptions {
            daemon: setup.daemon.clone(),
            config: None,
            log_dir: if macos {
                home.join("Library/Logs/photovault")
            } else {
                home.join(".local/state/photovault/logs")
            },
            home,
            xdg_config_home: None,
            load: false,
            macos,
        }
    }

    fn parse_plist(text: &str) -> plist::Dictionary {
        plist::Value::from_reader_xml(text.as_bytes())
            .unwrap_or_else(|err| panic!("not a valid plist ({err}):\n{text}"))
            .into_dictionary()
            .expect("the top level is a dict")
    }

    fn string_array(value: &plist::Value) -> Vec<String> {
        value
            .as_array()
            .expect("an array")
            .iter()
            .map(|item| item.as_string().expect("a string").to_owned())
            .collect()
    }

    /// Splits an `ExecStart=` value the way systemd does: specifiers first
    /// (`%%`), then words with double quotes and backslash escapes, then
    /// `$$` in arguments (not in the executable path).
    fn systemd_words(value: &str) -> Vec<String> {
        let value = value.replace("%%", "%");
        let mut words = Vec::new();
        let mut chars = value.chars().peekable();
        loop {
            while chars.peek() == Some(&' ') {
                chars.next();
            }
            let Some(&first) = chars.peek() else { break };
            let mut word = String::new();
            if first == '"' {
                chars.next();
                loop {
                    match chars.next().expect("closing quote") {
                        '"' => break,
                        '\\' => word.push(chars.next().expect("escaped character")),
                        c => word.push(c),
                    }
                }
            } else {
                while let Some(&c) = chars.peek() {
                    if c == ' ' {
                        break;
                    }
                    assert!(!matches!(c, '"' | '\\' | '$' | '%' | '\''), "{c} unquoted");
                    word.push(c);
                    chars.next();
                }
            }
            if !words.is_empty() {
                word = word.replace("$$", "$");
            }
            words.push(word);
        }
        words
    }

    fn exec_start(unit: &str) -> &str {
        unit.lines()
            .find_map(|line| line.strip_prefix("ExecStart="))
            .expect("an ExecStart= line")
    }

    #[test]
    fn the_launch_agent_template_is_a_valid_plist_with_its_placeholders() {
        let dict = parse_plist(LAUNCH_AGENT_TEMPLATE);
        assert_eq!(dict["Label"].as_string(), Some(LABEL));
        assert_eq!(string_array(&dict["ProgramArguments"]), ["@DAEMON@"]);
        assert!(LAUNCH_AGENT_TEMPLATE.contains(CONFIG_ARGUMENTS_PLACEHOLDER));
        assert!(LAUNCH_AGENT_TEMPLATE.contains("photovaultctl install"));
    }

    #[test]
    fn the_launch_agent_holds_what_launchd_needs() {
        let text = render_launch_agent(
            Path::new("/Users/ana/.local/bin/photovaultd"),
            None,
            Path::new("/Users/ana/Library/Logs/photovault"),
        );
        let dict = parse_plist(&text);
        assert_eq!(
            dict["Label"].as_string(),
            Some("com.photovault.photovaultd")
        );
        assert_eq!(
            string_array(&dict["ProgramArguments"]),
            ["/Users/ana/.local/bin/photovaultd"]
        );
        assert_eq!(dict["RunAtLoad"].as_boolean(), Some(true));
        let keep_alive = dict["KeepAlive"].as_dictionary().expect("KeepAlive dict");
        assert_eq!(keep_alive["SuccessfulExit"].as_boolean(), Some(false));
        assert_eq!(dict["ProcessType"].as_string(), Some("Background"));
        assert_eq!(dict["ExitTimeOut"].as_signed_integer(), Some(10));
        assert_eq!(
            dict["StandardOutPath"].as_string(),
            Some("/Users/ana/Library/Logs/photovault/photovaultd.stdout.log")
        );
        assert_eq!(
            dict["StandardErrorPath"].as_string(),
            Some("/Users/ana/Library/Logs/photovault/photovaultd.stderr.log")
        );
        assert!(!text.contains('@'), "a placeholder is left:\n{text}");
        assert!(text.contains("written by `photovaultctl install`"));
        assert!(!text.contains("\n\n"), "a blank line is left:\n{text}");
    }

    #[test]
    fn the_launch_agent_escapes_awkward_paths() {
        let daemon = Path::new("/Users/ana/Tom & Jerry's <bin>/\"pv\" @LOGDIR@/photovaultd");
        let config = Path::new("/Users/ana/My Config & more/<x>.toml");
        let log_dir = Path::new("/Users/ana/Logs & <stuff>/");
        let text = render_launch_agent(daemon, Some(config), log_dir);
        let dict = parse_plist(&text);
        assert_eq!(
            string_array(&dict["ProgramArguments"]),
            [
                daemon.to_str().unwrap(),
                "--config",
                config.to_str().unwrap()
            ]
        );
        assert_eq!(
            dict["StandardErrorPath"].as_string(),
            Some("/Users/ana/Logs & <stuff>/photovaultd.stderr.log")
        );
    }

    #[test]
    fn the_systemd_unit_holds_what_systemd_needs() {
        let unit = render_systemd_unit(Path::new("/home/ana/.local/bin/photovaultd"), None);
        assert_eq!(exec_start(&unit), "/home/ana/.local/bin/photovaultd");
        for line in [
            "Restart=on-failure",
            "KillSignal=SIGTERM",
            "TimeoutStopSec=10",
            "WantedBy=default.target",
            "[Service]",
            "[Install]",
        ] {
            assert!(unit.lines().any(|l| l == line), "no {line}:\n{unit}");
        }
        assert!(!unit.contains('@'), "a placeholder is left:\n{unit}");
        assert!(unit.starts_with(SYSTEMD_UNIT_HEADER));
    }

    #[test]
    fn the_systemd_unit_quotes_awkward_paths() {
        let daemon = "/home/ana/My Apps & 100%/$HOME;bin/photovaultd";
        let config = "/home/ana/it's \"my\" config\\100%$x.toml";
        let unit = render_systemd_unit(Path::new(daemon), Some(Path::new(config)));
        assert_eq!(
            exec_start(&unit),
            "\"/home/ana/My Apps & 100%%/$HOME;bin/photovaultd\" --config \
             \"/home/ana/it's \\\"my\\\" config\\\\100%%$$x.toml\""
        );
        assert_eq!(
            systemd_words(exec_start(&unit)),
            [daemon, "--config", config]
        );
    }

    /// Checks the quoting against systemd's own parser where it is installed:
    /// `systemd-analyze verify` complains when ExecStart's program, as it
    /// reads it, does not exist.
    #[test]
    fn systemd_analyze_finds_the_daemon_through_the_quoting() {
        let setup = setup("My Apps & 100%/$HOME");
        let unit = render_systemd_unit(
            &setup.daemon,
            Some(Path::new("/etc/it's \"my\" config\\100%$x.toml")),
        );
        let unit_file = setup.home.path().join(SYSTEMD_UNIT);
        fs::write(&unit_file, unit).unwrap();
        let output = match Command::new("systemd-analyze")
            .arg("verify")
            .arg(&unit_file)
            .output()
        {
            Ok(output) => output,
            Err(err) => {
                eprintln!("systemd-analyze not usable here ({err}): skipped");
                return;
            }
        };
        let said = String::from_utf8_lossy(&output.stderr);
        assert!(
            !said.contains("not executable") && !said.contains("special characters"),
            "systemd misread ExecStart: {said}"
        );
        assert!(!said.contains(".service:"), "systemd complained: {said}");
    }

    #[test]
    fn install_writes_the_launch_agent_where_launchd_looks() {
        let setup = setup("bin");
        let options = options(&setup, true);
        let system = FakeSystem::new(vec![]);
        let report = install_with(&options, &system).unwrap();

        let expected = setup
            .home
            .path()
            .join("Library/LaunchAgents/com.photovault.photovaultd.plist");
        assert_eq!(report.unit_file, expected);
        assert!(!report.loaded);
        let text = fs::read_to_string(&expected).unwrap();
        assert_eq!(
            text,
            render_launch_agent(&setup.daemon, None, &options.log_dir)
        );
        assert_eq!(
            fs::metadata(&expected).unwrap().permissions().mode() & 0o777,
            0o644
        );
        assert!(options.log_dir.is_dir());
        assert!(system.calls().is_empty(), "ran {:?}", system.calls());
        assert!(report
            .messages
            .iter()
            .any(|m| m.contains("launchctl bootstrap gui/501")));
    }

    #[test]
    fn install_writes_the_systemd_unit_where_systemd_looks() {
        let setup = setup("bin");
        let mut options = options(&setup, false);
        let system = FakeSystem::new(vec![]);
        let report = install_with(&options, &system).unwrap();
        let expected = setup
            .home
            .path()
            .join(".config/systemd/user/photovaultd.service");
        assert_eq!(report.unit_file, expected);
        assert_eq!(
            fs::read_to_string(&expected).unwrap(),
            render_systemd_unit(&setup.daemon, None)
        );
        assert!(options.log_dir.is_dir());
        assert!(system.calls().is_empty());

        let xdg = setup.home.path().join("xdg config");
        options.xdg_config_home = Some(xdg.clone());
        let report = install_with(&options, &system).unwrap();
        assert_eq!(
            report.unit_file,
            xdg.join("systemd/user/photovaultd.service")
        );
        assert!(report.unit_file.is_file());

        options.xdg_config_home = Some(PathBuf::from("relative/config"));
        assert_eq!(options.unit_file(), expected, "a relative value is ignored");
    }

    #[test]
    fn install_handles_paths_with_spaces_ampersands_and_quotes() {
        let setup = setup("My Apps & \"Tools\"");
        let config = setup.home.path().join("it's <my> config & more.toml");
        fs::write(&config, "").unwrap();
        let mut options = options(&setup, true);
        options.config = Some(config.clone());
        options.log_dir = setup.home.path().join("Logs & <more>");
        let report = install_with(&options, &FakeSystem::new(vec![])).unwrap();
        let dict = parse_plist(&fs::read_to_string(report.unit_file).unwrap());
        assert_eq!(
            string_array(&dict["ProgramArguments"]),
            [
                setup.daemon.to_str().unwrap(),
                "--config",
                config.to_str().unwrap()
            ]
        );

        // systemd cannot run a program whose path has a quote: said, not written.
        let options = InstallOptions {
            macos: false,
            ..options
        };
        let err = install_with(&options, &FakeSystem::new(vec![])).unwrap_err();
        assert!(err.to_string().contains("--daemon PATH"), "{err}");
        assert!(!options.unit_file().exists());

        // Spaces, `&`, `%`, `$` in the daemon path and quotes in the config
        // path are fine for systemd.
        let setup = self::setup("My Apps & 100% $Tools");
        let mut options = self::options(&setup, false);
        options.config = Some(config.clone());
        let report = install_with(&options, &FakeSystem::new(vec![])).unwrap();
        let unit = fs::read_to_string(report.unit_file).unwrap();
        assert_eq!(
            systemd_words(exec_start(&unit)),
            [
                setup.daemon.to_str().unwrap(),
                "--config",
                config.to_str().unwrap()
            ]
        );
    }

    #[test]
    fn systemd_refuses_a_daemon_path_with_an_apostrophe_and_launchd_does_not() {
        let setup = setup("Ana's Apps");
        let err = install_with(&options(&setup, false), &FakeSystem::new(vec![])).unwrap_err();
        assert!(err.to_string().contains("quotes or backslashes"), "{err}");
        install_with(&options(&setup, true), &FakeSystem::new(vec![])).unwrap();
    }

    #[test]
    fn installing_twice_replaces_the_file_cleanly() {
        for macos in [true, false] {
            let setup = setup("bin");
            let mut options = options(&setup, macos);
            install_with(&options, &FakeSystem::new(vec![])).unwrap();
            let config = setup.home.path().join("config.toml");
            fs::write(&config, "").unwrap();
            options.config = Some(config.clone());
            let report = install_with(&options, &FakeSystem::new(vec![])).unwrap();

            let text = fs::read_to_string(&report.unit_file).unwrap();
            assert!(text.contains(config.to_str().unwrap()));
            assert!(
                report.messages[0].starts_with("replaced"),
                "{:?}",
                report.messages
            );
            let dir = report.unit_file.parent().unwrap();
            let names: Vec<_> = fs::read_dir(dir)
                .unwrap()
                .map(|entry| entry.unwrap().file_name())
                .collect();
            assert_eq!(names, [report.unit_file.file_name().unwrap()]);
        }
    }

    #[test]
    fn uninstall_removes_the_file_and_says_so() {
        for macos in [true, false] {
            let setup = setup("bin");
            let options = options(&setup, macos);
            let installed = install_with(&options, &FakeSystem::new(vec![])).unwrap();
            assert!(installed.unit_file.is_file());

            let report = uninstall_with(&options, &FakeSystem::new(vec![])).unwrap();
            assert!(!installed.unit_file.exists());
            assert!(!report.loaded);
            assert!(report.messages.iter().any(|m| m.starts_with("removed")));
            assert!(options.log_dir.is_dir(), "logs are kept");
        }
    }

    #[test]
    fn uninstall_when_not_installed_succeeds_and_says_so() {
        for macos in [true, false] {
            let setup = setup("bin");
            let options = options(&setup, macos);
            let report = uninstall_with(&options, &FakeSystem::new(vec![])).unwrap();
            assert!(
                report.messages.iter().any(|m| m.contains("not installed")),
                "{:?}",
                report.messages
            );
        }
    }

    #[test]
    fn a_missing_daemon_says_how_to_get_one_and_writes_nothing() {
        for macos in [true, false] {
            let setup = setup("bin");
            let mut options = options(&setup, macos);
            options.daemon = setup.home.path().join("nowhere/photovaultd");
            let err = install_with(&options, &FakeSystem::new(vec![])).unwrap_err();
            let message = err.to_string();
            assert!(message.contains("make build"), "{message}");
            assert!(message.contains("--daemon PATH"), "{message}");
            assert!(!options.unit_file().exists());
        }
    }

    #[test]
    fn a_daemon_that_is_not_executable_is_refused() {
        let setup = setup("bin");
        fs::set_permissions(&setup.daemon, fs::Permissions::from_mode(0o644)).unwrap();
        let err = install_with(&options(&setup, true), &FakeSystem::new(vec![])).unwrap_err();
        assert!(err.to_string().contains("chmod +x"), "{err}");
    }

    #[test]
    fn a_missing_config_is_refused() {
        let setup = setup("bin");
        let mut options = options(&setup, false);
        options.config = Some(setup.home.path().join("missing.toml"));
        let err = install_with(&options, &FakeSystem::new(vec![])).unwrap_err();
        assert!(err.to_string().contains("leave out --config"), "{err}");
        assert!(!options.unit_file().exists());
    }

    #[test]
    fn a_path_with_a_newline_is_refused() {
        let setup = setup("bin");
        let mut options = options(&setup, true);
        options.log_dir = setup.home.path().join("logs\nmore");
        let err = install_with(&options, &FakeSystem::new(vec![])).unwrap_err();
        assert!(err.to_string().contains("control character"), "{err}");
    }

    #[test]
    fn loading_on_macos_boots_out_then_bootstraps() {
        let setup = setup("bin");
        let mut options = options(&setup, true);
        options.load = true;
        let system = FakeSystem::new(vec![failed(3, "Boot-out failed: 3: No such process")]);
        let report = install_with(&options, &system).unwrap();
        assert!(report.loaded);
        let plist = options.unit_file();
        assert_eq!(
            system.calls(),
            [
                "launchctl bootout gui/501/com.photovault.photovaultd".to_owned(),
                format!("launchctl bootstrap gui/501 {}", plist.display()),
            ]
        );
        assert!(system.pauses.borrow().is_empty());
    }

    #[test]
    fn loading_on_macos_retries_while_launchd_tears_the_old_agent_down() {
        let setup = setup("bin");
        let mut options = options(&setup, true);
        options.load = true;
        let busy = "Bootstrap failed: 5: Input/output error";
        let system = FakeSystem::new(vec![Ok(ok()), failed(5, busy), failed(5, busy)]);
        let report = install_with(&options, &system).unwrap();
        assert!(report.loaded);
        assert_eq!(system.calls().len(), 4);
        assert_eq!(*system.pauses.borrow(), BOOTSTRAP_RETRY_PAUSES[..2]);
        assert!(report.messages.iter().any(|m| m.contains("stopped")));
    }

    #[test]
    fn a_failed_bootstrap_says_how_to_load_by_hand() {
        let setup = setup("bin");
        let mut options = options(&setup, true);
        options.load = true;
        let system = FakeSystem::new(vec![
            failed(113, "Could not find specified service"),
            failed(
                125,
                "Bootstrap failed: 125: Domain does not support specified action",
            ),
        ]);
        let err = install_with(&options, &system).unwrap_err().to_string();
        let plist = options.unit_file();
        assert!(
            err.contains(&format!("launchctl bootstrap gui/501 {}", plist.display())),
            "{err}"
        );
        assert!(err.contains("125"), "{err}");
        assert!(plist.is_file(), "the file stays written");

        // Still "5" after every retry: the same advice.
        let system = FakeSystem::new(vec![
            Ok(ok()),
            failed(5, "5"),
            failed(5, "5"),
            failed(5, "5"),
            failed(5, "5"),
        ]);
        let err = install_with(&options, &system).unwrap_err().to_string();
        assert!(err.contains("launchctl bootout gui/501/"), "{err}");
        assert_eq!(system.pauses.borrow().len(), BOOTSTRAP_RETRY_PAUSES.len());
    }

    #[test]
    fn root_cannot_install_a_launch_agent() {
        let setup = setup("bin");
        let mut options = options(&setup, true);
        options.load = true;
        let mut system = FakeSystem::new(vec![]);
        system.uid = 0;
        let err = install_with(&options, &system).unwrap_err();
        assert!(err.to_string().contains("without sudo"), "{err}");
        assert!(!options.unit_file().exists());
        assert!(system.calls().is_empty());
    }

    #[test]
    fn uninstall_on_macos_boots_out_first_and_keeps_the_file_when_that_fails() {
        let setup = setup("bin");
        let mut options = options(&setup, true);
        install_with(&options, &FakeSystem::new(vec![])).unwrap();
        options.load = true;

        let system = FakeSystem::new(vec![failed(
            1,
            "Boot-out failed: 1: Operation not permitted",
        )]);
        let err = uninstall_with(&options, &system).unwrap_err().to_string();
        assert!(err.contains("photovaultctl uninstall` again"), "{err}");
        assert!(options.unit_file().is_file());

        let system = FakeSystem::new(vec![Ok(ok())]);
        let report = uninstall_with(&options, &system).unwrap();
        assert_eq!(
            system.calls(),
            ["launchctl bootout gui/501/com.photovault.photovaultd"]
        );
        assert!(!options.unit_file().exists());
        assert!(report.messages[0].starts_with("stopped photovaultd"));

        // Neither loaded nor there.
        let system = FakeSystem::new(vec![failed(3, "Boot-out failed: 3: No such process")]);
        let report = uninstall_with(&options, &system).unwrap();
        assert!(report.messages.iter().any(|m| m.contains("not installed")));
    }

    #[test]
    fn loading_on_linux_reloads_enables_and_restarts() {
        let setup = setup("bin");
        let mut options = options(&setup, false);
        options.load = true;
        let system = FakeSystem::new(vec![]);
        let report = install_with(&options, &system).unwrap();
        assert!(report.loaded);
        assert_eq!(
            system.calls(),
            [
                "systemctl --user daemon-reload",
                "systemctl --user enable photovaultd.service",
                "systemctl --user restart photovaultd.service",
            ]
        );
    }

    #[test]
    fn without_systemctl_or_a_session_the_error_says_how_to_start_it() {
        let hint = "start it with `systemctl --user enable --now photovaultd.service` from a logged-in session";
        for answer in [
            not_found(),
            failed(1, "Failed to connect to bus: No medium found"),
        ] {
            let setup = setup("bin");
            let mut options = options(&setup, false);
            options.load = true;
            let err = install_with(&options, &FakeSystem::new(vec![answer]))
                .unwrap_err()
                .to_string();
            assert!(err.contains(hint), "{err}");
            assert!(
                err.contains(&options.unit_file().display().to_string()),
                "{err}"
            );
            assert!(options.unit_file().is_file());
        }
    }

    #[test]
    fn a_failed_restart_points_at_the_journal() {
        let setup = setup("bin");
        let mut options = options(&setup, false);
        options.load = true;
        let system = FakeSystem::new(vec![
            Ok(ok()),
            Ok(ok()),
            failed(1, "Job for photovaultd.service failed because the control process exited with error code."),
        ]);
        let err = install_with(&options, &system).unwrap_err().to_string();
        assert!(
            err.contains("journalctl --user -u photovaultd.service"),
            "{err}"
        );
    }

    #[test]
    fn uninstall_on_linux_disables_removes_and_reloads() {
        let setup = setup("bin");
        let mut options = options(&setup, false);
        install_with(&options, &FakeSystem::new(vec![])).unwrap();
        options.load = true;

        let system = FakeSystem::new(vec![failed(1, "Failed to connect to bus: No medium found")]);
        let err = uninstall_with(&options, &system).unwrap_err().to_string();
        assert!(err.contains("logged-in session"), "{err}");
        assert!(options.unit_file().is_file(), "kept until it is stopped");

        let system = FakeSystem::new(vec![]);
        uninstall_with(&options, &system).unwrap();
        assert_eq!(
            system.calls(),
            [
                "systemctl --user disable --now photovaultd.service",
                "systemctl --user daemon-reload",
            ]
        );
        assert!(!options.unit_file().exists());

        let system = FakeSystem::new(vec![failed(
            1,
            "Failed to disable unit: Unit file photovaultd.service does not exist.",
        )]);
        let report = uninstall_with(&options, &system).unwrap();
        assert!(report.messages.iter().any(|m| m.contains("not installed")));
        assert_eq!(
            system.calls().len(),
            1,
            "no reload when nothing was removed"
        );
    }

    #[test]
    fn fill_replaces_in_one_pass() {
        assert_eq!(
            fill("a @X@ b @Y@", &[("@X@", "@Y@"), ("@Y@", "y")]),
            "a @Y@ b y"
        );
    }
}
