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
use std::io::{self};
use std::path::PathBuf;

use anyhow::{bail, Context, Result};

mod files;
mod render;
mod service;
#[cfg(test)]
mod tests;

use files::*;
pub use render::{render_launch_agent, render_systemd_unit};
use service::*;

/// The launchd label of the agent, also the stem of its file name.
const LABEL: &str = "com.photovault.photovaultd";

/// The systemd unit name, also its file name.
const SYSTEMD_UNIT: &str = "photovaultd.service";

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
