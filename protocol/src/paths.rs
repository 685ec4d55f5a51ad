//! Where photovault keeps its files by default, per platform: shared by the
//! daemon (which uses them) and the client (which must find the daemon's
//! socket and logs without loading the daemon's configuration code).

use std::path::{Path, PathBuf};

/// An XDG base-directory variable: set, non-empty and absolute (the XDG
/// specification says a relative value is to be ignored).
pub fn xdg_var(name: &str) -> Option<PathBuf> {
    std::env::var_os(name)
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
}

/// The configuration file read when no `--config` is given.
pub fn config_file(macos: bool, home: &Path, xdg_config_home: Option<&Path>) -> PathBuf {
    if macos {
        home.join("Library/Application Support/photovault/config.toml")
    } else {
        xdg_config_home
            .map_or_else(|| home.join(".config"), Path::to_path_buf)
            .join("photovault/config.toml")
    }
}

/// The state folder (socket, job database, Linux logs) by default.
pub fn state_dir(macos: bool, home: &Path, xdg_state_home: Option<&Path>) -> PathBuf {
    if macos {
        home.join("Library/Application Support/photovault")
    } else {
        xdg_state_home
            .map_or_else(|| home.join(".local/state"), Path::to_path_buf)
            .join("photovault")
    }
}

/// The log folder by default: `~/Library/Logs/photovault` on macOS (where
/// Console looks), `logs/` in the state folder elsewhere.
pub fn log_dir(macos: bool, home: &Path, state_dir: &Path) -> PathBuf {
    if macos {
        home.join("Library/Logs/photovault")
    } else {
        state_dir.join("logs")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_follow_the_platform() {
        let home = Path::new("/home/ana");
        assert_eq!(
            config_file(false, home, None),
            Path::new("/home/ana/.config/photovault/config.toml")
        );
        assert_eq!(
            config_file(false, home, Some(Path::new("/x"))),
            Path::new("/x/photovault/config.toml")
        );
        assert_eq!(
            state_dir(false, home, None),
            Path::new("/home/ana/.local/state/photovault")
        );
        assert_eq!(log_dir(false, home, Path::new("/s")), Path::new("/s/logs"));
        let home = Path::new("/Users/ana");
        assert_eq!(
            config_file(true, home, Some(Path::new("/x"))),
            Path::new("/Users/ana/Library/Application Support/photovault/config.toml")
        );
        assert_eq!(
            state_dir(true, home, None),
            Path::new("/Users/ana/Library/Application Support/photovault")
        );
        assert_eq!(
            log_dir(true, home, Path::new("/s")),
            Path::new("/Users/ana/Library/Logs/photovault")
        );
    }
}
