//! Checking the paths an installed service file names, and writing the file
//! so that a reinstall never leaves half of one.

use std::fs;
use std::io::{self, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

/// The daemon path made absolute, checked to name an executable file that
/// the service manager can run.
pub(super) fn checked_daemon(daemon: &Path, macos: bool) -> Result<PathBuf> {
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
pub(super) fn checked_config(config: &Path) -> Result<PathBuf> {
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
pub(super) fn checked_text_path(what: &str, path: &Path) -> Result<PathBuf> {
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
pub(super) fn write_atomically(path: &Path, contents: &str) -> Result<()> {
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
