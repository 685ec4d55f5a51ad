//! Talking to the service manager: `launchctl` on macOS, `systemctl --user`
//! on Linux, through the [`System`] trait so that tests record the commands
//! instead of running them.

use std::io::{self};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use anyhow::{bail, Context, Result};

use super::*;

/// How long to wait before each new `launchctl bootstrap` attempt after
/// "5: Input/output error": launchd answers that while the label it has
/// just booted out is still being torn down.
pub(super) const BOOTSTRAP_RETRY_PAUSES: [Duration; 3] = [
    Duration::from_secs(1),
    Duration::from_secs(2),
    Duration::from_secs(4),
];

/// What a service-manager command printed and how it ended.
#[derive(Debug, Clone)]
pub(super) struct Outcome {
    /// The exit code; `None` when it was killed by a signal.
    pub(super) code: Option<i32>,
    /// Its stderr then stdout, trimmed: launchctl and systemctl explain
    /// failures on either.
    pub(super) output: String,
}

impl Outcome {
    pub(super) fn success(&self) -> bool {
        self.code == Some(0)
    }

    /// "exit status N: what it said", for error messages.
    pub(super) fn describe(&self) -> String {
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
pub(super) trait System {
    /// Runs `program` with `args`, waiting for it to end.
    fn run(&self, program: &str, args: &[&str]) -> io::Result<Outcome>;
    /// The real user id, which names the launchd `gui/<uid>` domain.
    fn uid(&self) -> u32;
    /// Waits, between retries.
    fn pause(&self, duration: Duration);
}

/// The real machine.
pub(super) struct RealSystem;

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

/// What `launchctl bootout` did.
pub(super) enum Bootout {
    /// The agent was loaded and has been stopped and unloaded.
    Stopped,
    /// It was not loaded: nothing to do.
    NotLoaded,
    /// Anything else.
    Failed(Outcome),
}

/// Unloads (and so stops) the agent `service` (`gui/<uid>/<label>`).
pub(super) fn bootout(system: &dyn System, service: &str, plist: &Path) -> Result<Bootout> {
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
pub(super) fn launchd_not_loaded(outcome: &Outcome) -> bool {
    matches!(outcome.code, Some(3) | Some(113))
        || outcome.output.contains("No such process")
        || outcome.output.contains("Could not find specified service")
}

/// Whether a failed `systemctl --user disable` only means "no such unit".
pub(super) fn systemd_unit_missing(outcome: &Outcome) -> bool {
    outcome.output.contains("does not exist")
        || outcome.output.contains("not loaded")
        || outcome.output.contains("not found")
}

/// (Re)loads the LaunchAgent: boot out the running one if any, then
/// bootstrap the new file into `gui/<uid>`, which starts it (RunAtLoad).
pub(super) fn load_launch_agent(
    system: &dyn System,
    plist: &Path,
    messages: &mut Vec<String>,
) -> Result<()> {
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
pub(super) fn load_systemd_unit(
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
