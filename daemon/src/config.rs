//! The daemon's configuration: a TOML file, strict about what it accepts.
//!
//! A typo in a backup tool's configuration must not silently mean "no
//! backup": unknown keys and bad values are refused at start, naming the
//! file, the line and the key. Everything has a default, so no file at all is
//! a valid configuration: the system Photos library, the platform's volume
//! roots, the platform's state folder.

use std::ops::Range;
use std::path::{Path, PathBuf};

use photovault_protocol::paths;
use serde::Deserialize;
use toml::Spanned;

mod sources;

pub use sources::{SourceEntry, SourceKind};

/// Quiet time after a library change before a backup starts, by default.
pub const DEFAULT_DEBOUNCE_SECONDS: u64 = 30;

/// What a destination is used for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// The export engine (plain folder tree).
    Export,
    /// The library mirror.
    Mirror,
    /// The organize engine, fed by the `[[source]]` folders.
    Organize,
}

/// One enrolled destination, as `photovaultctl dest add` writes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DestinationEntry {
    /// The name people use for it ("Backup 1").
    pub name: String,
    /// The id in its `destination.toml`: how the drive is recognised.
    pub id: String,
    /// What runs on it.
    pub modes: Vec<Mode>,
    /// The destination's folder relative to the top of its volume (empty:
    /// the volume itself).
    pub folder: PathBuf,
}

/// The daemon's configuration, with every default applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// The file it was read from, if any.
    pub file: Option<PathBuf>,
    /// The Photos library to back up.
    pub library: PathBuf,
    /// Folders whose subfolders are mounted volumes.
    pub volume_roots: Vec<PathBuf>,
    /// Where the socket, the state database and the logs live.
    pub state_dir: PathBuf,
    /// Quiet time after a library change before a backup starts.
    pub debounce_seconds: u64,
    /// Enrolled destinations.
    pub destinations: Vec<DestinationEntry>,
    /// Folders organized onto the destinations whose mode includes organize.
    pub sources: Vec<SourceEntry>,
    /// Where the daily log files go.
    pub log_dir: PathBuf,
    /// Tell the user when a backup ends or fails: `"system"`, `"off"`, or
    /// the absolute path of a program called with a title and a body.
    pub notifications: String,
    /// Keep the machine awake while a job runs.
    pub prevent_sleep: bool,
    /// First wait before a job that hit a transient error runs again
    /// (doubled on each further attempt).
    pub retry_seconds: u64,
    /// `Versions/` keeps a run's folder this many days (0: forever).
    pub versions_keep_days: u32,
    /// Then removes the oldest while `Versions/` is over this many GB.
    pub versions_max_gb: Option<u64>,
    /// A mirror stops when more than this percentage of the originals it
    /// holds left the library since the last run.
    pub deletion_guard_percent: u32,
    /// Verify each destination every this many days when it is connected
    /// (0: only when asked).
    pub verify_days: u32,
}

/// Attempts of a job before a transient error counts as a failure.
pub const MAX_ATTEMPTS: u32 = 5;

/// Why the configuration was refused.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read the configuration {path}: {source}; check the path given with --config")]
    Read {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The file is not valid TOML, or has an unknown key or a bad value.
    #[error("{path}, line {line}: {message}; fix the configuration (see docs/configuration.md) and start photovaultd again")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// 1-based line of the problem.
        line: usize,
        /// What is wrong, naming the key.
        message: String,
    },
}

/// The file as written, before defaults and checks.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    library: Option<Spanned<PathBuf>>,
    volume_roots: Option<Spanned<Vec<PathBuf>>>,
    state_dir: Option<Spanned<PathBuf>>,
    debounce_seconds: Option<Spanned<i64>>,
    log_dir: Option<Spanned<PathBuf>>,
    notifications: Option<Spanned<String>>,
    prevent_sleep: Option<bool>,
    retry_seconds: Option<Spanned<i64>>,
    versions_keep_days: Option<Spanned<i64>>,
    versions_max_gb: Option<Spanned<i64>>,
    deletion_guard_percent: Option<Spanned<i64>>,
    verify_days: Option<Spanned<i64>>,
    #[serde(default, rename = "destination")]
    destinations: Vec<Spanned<RawDestination>>,
    #[serde(default, rename = "source")]
    sources: Vec<sources::RawSource>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDestination {
    name: Spanned<String>,
    id: Spanned<String>,
    #[serde(default)]
    mode: Option<Spanned<String>>,
    #[serde(default)]
    folder: Option<Spanned<PathBuf>>,
}

/// Where things are by default on this platform, for this user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Platform {
    /// The user's home folder.
    pub home: PathBuf,
    /// The user's name (Linux volume roots are per user).
    pub user: String,
    /// `$XDG_CONFIG_HOME`, if set (Linux).
    pub xdg_config_home: Option<PathBuf>,
    /// `$XDG_STATE_HOME`, if set (Linux).
    pub xdg_state_home: Option<PathBuf>,
    /// macOS or not.
    pub macos: bool,
}

impl Platform {
    /// This process's platform and environment.
    pub fn current() -> Self {
        Platform {
            home: std::env::var_os("HOME")
                .filter(|v| !v.is_empty())
                .map_or_else(|| PathBuf::from("/"), PathBuf::from),
            user: std::env::var("USER").unwrap_or_default(),
            xdg_config_home: paths::xdg_var("XDG_CONFIG_HOME"),
            xdg_state_home: paths::xdg_var("XDG_STATE_HOME"),
            macos: cfg!(target_os = "macos"),
        }
    }

    /// The configuration file read when no `--config` is given.
    pub fn default_config_file(&self) -> PathBuf {
        paths::config_file(self.macos, &self.home, self.xdg_config_home.as_deref())
    }

    fn default_state_dir(&self) -> PathBuf {
        paths::state_dir(self.macos, &self.home, self.xdg_state_home.as_deref())
    }

    fn default_volume_roots(&self) -> Vec<PathBuf> {
        if self.macos {
            vec![PathBuf::from("/Volumes")]
        } else {
            vec![
                Path::new("/run/media").join(&self.user),
                Path::new("/media").join(&self.user),
            ]
        }
    }

    /// The system library: where Photos' own preferences say it is
    /// (macOS), else the default location.
    fn default_library(&self) -> PathBuf {
        if self.macos {
            let prefs = self.home.join(
                "Library/Containers/com.apple.photolibraryd/Data/Library/Preferences/com.apple.photolibraryd.plist",
            );
            if let Some(path) = plist::Value::from_file(&prefs).ok().and_then(|v| {
                v.as_dictionary()?
                    .get("SystemLibraryPath")?
                    .as_string()
                    .map(PathBuf::from)
            }) {
                return path;
            }
        }
        self.home.join("Pictures/Photos Library.photoslibrary")
    }

    /// Where the daily log files go by default.
    pub fn default_log_dir(&self, state_dir: &Path) -> PathBuf {
        paths::log_dir(self.macos, &self.home, state_dir)
    }
}

impl Config {
    /// The configuration with every default and no file.
    pub fn defaults(platform: &Platform) -> Self {
        Config {
            file: None,
            library: platform.default_library(),
            volume_roots: platform.default_volume_roots(),
            state_dir: platform.default_state_dir(),
            debounce_seconds: DEFAULT_DEBOUNCE_SECONDS,
            destinations: Vec::new(),
            sources: Vec::new(),
            log_dir: platform.default_log_dir(&platform.default_state_dir()),
            notifications: "system".into(),
            prevent_sleep: true,
            retry_seconds: 60,
            versions_keep_days: 90,
            versions_max_gb: None,
            deletion_guard_percent: 10,
            verify_days: 30,
        }
    }

    /// What `Versions/` keeps, for the engines.
    pub fn retention(&self) -> crate::versions::Retention {
        crate::versions::Retention {
            keep_days: (self.versions_keep_days > 0).then_some(self.versions_keep_days),
            max_bytes: self
                .versions_max_gb
                .map(|gb| gb.saturating_mul(1_000_000_000)),
        }
    }

    /// Loads `file` if given (it must exist), else the platform's default
    /// file if it exists, else the defaults.
    pub fn load(file: Option<&Path>, platform: &Platform) -> Result<Self, ConfigError> {
        let path = match file {
            Some(f) => f.to_path_buf(),
            None => {
                let default = platform.default_config_file();
                if !default.exists() {
                    return Ok(Config::defaults(platform));
                }
                default
            }
        };
        let text = std::fs::read_to_string(&path).map_err(|source| ConfigError::Read {
            path: path.clone(),
            source,
        })?;
        Config::parse(&text, &path, platform)
    }

    /// Parses configuration text read from `path` (named in errors).
    pub fn parse(text: &str, path: &Path, platform: &Platform) -> Result<Self, ConfigError> {
        let invalid = |span: Option<Range<usize>>, message: String| ConfigError::Invalid {
            path: path.to_path_buf(),
            line: span.map_or(1, |s| line_of(text, s.start)),
            message,
        };
        let raw: RawConfig =
            toml::from_str(text).map_err(|e| invalid(e.span(), e.message().to_string()))?;
        let mut config = Config::defaults(platform);
        config.file = Some(path.to_path_buf());
        let absolute = |key: &str, p: &Spanned<PathBuf>| {
            let value = expand_home(p.get_ref(), &platform.home);
            if value.is_absolute() {
                Ok(value)
            } else {
                Err(invalid(
                    Some(p.span()),
                    format!(
                        "`{key}` must be an absolute path (or start with ~/), not {:?}",
                        p.get_ref()
                    ),
                ))
            }
        };
        if let Some(l) = &raw.library {
            config.library = absolute("library", l)?;
        }
        if let Some(d) = &raw.state_dir {
            config.state_dir = absolute("state_dir", d)?;
            config.log_dir = platform.default_log_dir(&config.state_dir);
        }
        if let Some(d) = &raw.log_dir {
            config.log_dir = absolute("log_dir", d)?;
        }
        if let Some(n) = &raw.notifications {
            let v = n.get_ref().trim();
            if v != "system" && v != "off" && !Path::new(v).is_absolute() {
                return Err(invalid(
                    Some(n.span()),
                    format!("`notifications` must be \"system\", \"off\" or the absolute path of a program, not {v:?}"),
                ));
            }
            config.notifications = v.to_string();
        }
        if let Some(p) = raw.prevent_sleep {
            config.prevent_sleep = p;
        }
        if let Some(r) = &raw.retry_seconds {
            let v = *r.get_ref();
            if !(1..=86_400).contains(&v) {
                return Err(invalid(
                    Some(r.span()),
                    format!("`retry_seconds` must be between 1 and 86400 (a day), not {v}"),
                ));
            }
            config.retry_seconds = v as u64;
        }
        let ranged = |key: &str, value: &Spanned<i64>, range: Range<i64>, meaning: &str| {
            let v = *value.get_ref();
            if range.contains(&v) {
                Ok(v)
            } else {
                Err(invalid(
                    Some(value.span()),
                    format!(
                        "`{key}` must be between {} and {} ({meaning}), not {v}",
                        range.start,
                        range.end - 1
                    ),
                ))
            }
        };
        if let Some(v) = &raw.versions_keep_days {
            config.versions_keep_days =
                ranged("versions_keep_days", v, 0..100_000, "days; 0 keeps forever")? as u32;
        }
        if let Some(v) = &raw.versions_max_gb {
            config.versions_max_gb =
                Some(ranged("versions_max_gb", v, 1..1_000_000_000, "gigabytes")? as u64);
        }
        if let Some(v) = &raw.deletion_guard_percent {
            config.deletion_guard_percent = ranged(
                "deletion_guard_percent",
                v,
                1..101,
                "percent of the originals",
            )? as u32;
        }
        if let Some(v) = &raw.verify_days {
            config.verify_days = ranged(
                "verify_days",
                v,
                0..100_000,
                "days; 0 verifies only when asked",
            )? as u32;
        }
        if let Some(roots) = &raw.volume_roots {
            let mut out = Vec::new();
            for r in roots.get_ref() {
                let r = expand_home(r, &platform.home);
                if !r.is_absolute() {
                    return Err(invalid(
                        Some(roots.span()),
                        format!(
                            "every entry of `volume_roots` must be an absolute path, not {r:?}"
                        ),
                    ));
                }
                out.push(r);
            }
            config.volume_roots = out;
        }
        if let Some(d) = &raw.debounce_seconds {
            let v = *d.get_ref();
            if !(1..=86_400).contains(&v) {
                return Err(invalid(
                    Some(d.span()),
                    format!("`debounce_seconds` must be between 1 and 86400 (a day), not {v}"),
                ));
            }
            config.debounce_seconds = v as u64;
        }
        for d in &raw.destinations {
            let entry = d.get_ref();
            let name = entry.name.get_ref().trim().to_string();
            if name.is_empty() {
                return Err(invalid(
                    Some(entry.name.span()),
                    "`name` of a [[destination]] must not be empty".into(),
                ));
            }
            if config
                .destinations
                .iter()
                .any(|e| e.name.eq_ignore_ascii_case(&name))
            {
                return Err(invalid(
                    Some(entry.name.span()),
                    format!("two [[destination]] tables are named {name:?}; names must be unique"),
                ));
            }
            let id = entry.id.get_ref().trim().to_string();
            if uuid::Uuid::parse_str(&id).is_err() {
                return Err(invalid(
                    Some(entry.id.span()),
                    format!("`id` of destination {name:?} is not a destination id (a UUID from its .photovault/destination.toml): {id:?}"),
                ));
            }
            let modes = match &entry.mode {
                None => vec![Mode::Export],
                Some(m) => parse_modes(m.get_ref()).map_err(|msg| invalid(Some(m.span()), msg))?,
            };
            let folder = match &entry.folder {
                None => PathBuf::new(),
                Some(f) => {
                    let p = f.get_ref();
                    if p.is_absolute()
                        || p.components()
                            .any(|c| !matches!(c, std::path::Component::Normal(_)))
                    {
                        return Err(invalid(
                            Some(f.span()),
                            format!("`folder` of destination {name:?} must be a relative path inside the volume, without `..`: {p:?}"),
                        ));
                    }
                    p.clone()
                }
            };
            config.destinations.push(DestinationEntry {
                name,
                id,
                modes,
                folder,
            });
        }
        config.sources = sources::parse(&raw.sources, &config.destinations, &platform.home)
            .map_err(|(span, message)| invalid(Some(span), message))?;
        Ok(config)
    }
}

/// `"export"`, `"mirror"`, `"organize"` or several joined by commas.
fn parse_modes(text: &str) -> Result<Vec<Mode>, String> {
    let mut modes = Vec::new();
    for part in text.split(',').map(str::trim) {
        let mode = match part {
            "export" => Mode::Export,
            "mirror" => Mode::Mirror,
            "organize" => Mode::Organize,
            other => {
                return Err(format!(
                "`mode` {other:?} is not a mode; use \"export\", \"mirror\", \"organize\" or several joined by commas (\"export,organize\")"
            ))
            }
        };
        if !modes.contains(&mode) {
            modes.push(mode);
        }
    }
    Ok(modes)
}

/// `~/x` as `<home>/x`; other paths unchanged.
fn expand_home(p: &Path, home: &Path) -> PathBuf {
    match p.strip_prefix("~") {
        Ok(rest) => home.join(rest),
        Err(_) => p.to_path_buf(),
    }
}

/// The 1-based line holding byte `offset` of `text`.
fn line_of(text: &str, offset: usize) -> usize {
    text.as_bytes()[..offset.min(text.len())]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

#[cfg(test)]
mod tests {
    use super::*;

    fn linux() -> Platform {
        Platform {
            home: "/home/ana".into(),
            user: "ana".into(),
            xdg_config_home: None,
            xdg_state_home: None,
            macos: false,
        }
    }

    fn parse(text: &str) -> Result<Config, ConfigError> {
        Config::parse(text, Path::new("/etc/pv.toml"), &linux())
    }

    fn error_line(text: &str) -> (usize, String) {
        match parse(text).unwrap_err() {
            ConfigError::Invalid { line, message, .. } => (line, message),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn defaults_follow_the_platform() {
        let c = Config::defaults(&linux());
        assert_eq!(
            c.library,
            Path::new("/home/ana/Pictures/Photos Library.photoslibrary")
        );
        assert_eq!(
            c.volume_roots,
            vec![PathBuf::from("/run/media/ana"), PathBuf::from("/media/ana")]
        );
        assert_eq!(c.state_dir, Path::new("/home/ana/.local/state/photovault"));
        assert_eq!(c.debounce_seconds, 30);
        assert_eq!(
            linux().default_config_file(),
            Path::new("/home/ana/.config/photovault/config.toml")
        );
        let mac = Platform {
            macos: true,
            ..linux()
        };
        assert_eq!(
            Config::defaults(&mac).volume_roots,
            vec![PathBuf::from("/Volumes")]
        );
        assert_eq!(
            mac.default_config_file(),
            Path::new("/home/ana/Library/Application Support/photovault/config.toml")
        );
        let xdg = Platform {
            xdg_state_home: Some("/x/state".into()),
            ..linux()
        };
        assert_eq!(
            Config::defaults(&xdg).state_dir,
            Path::new("/x/state/photovault")
        );
    }

    #[test]
    fn reads_every_key() {
        let c = parse(
            r#"
library = "~/Pictures/Family.photoslibrary"
volume_roots = ["/mnt/vols"]
state_dir = "/var/lib/pv"
debounce_seconds = 5

[[destination]]
name = "Backup 1"
id = "1b4e28ba-2fa1-11d2-883f-0016d3cca427"

[[destination]]
name = "Offsite"
id = "6f1c2a0e-8a51-4c1e-9a57-2b7b3c4d5e6f"
mode = "export,mirror"
"#,
        )
        .unwrap();
        assert_eq!(
            c.library,
            Path::new("/home/ana/Pictures/Family.photoslibrary")
        );
        assert_eq!(c.volume_roots, vec![PathBuf::from("/mnt/vols")]);
        assert_eq!(c.state_dir, Path::new("/var/lib/pv"));
        assert_eq!(c.debounce_seconds, 5);
        assert_eq!(c.destinations.len(), 2);
        assert_eq!(c.destinations[0].modes, vec![Mode::Export]);
        assert_eq!(c.destinations[1].modes, vec![Mode::Export, Mode::Mirror]);
    }

    #[test]
    fn unknown_keys_and_bad_values_name_the_line_and_key() {
        let (line, msg) = error_line("debounce_seconds = 3\nlibary = \"/x\"\n");
        assert_eq!(line, 2);
        assert!(msg.contains("libary"), "{msg}");

        let (line, msg) = error_line("\n\ndebounce_seconds = 0\n");
        assert_eq!(line, 3);
        assert!(msg.contains("debounce_seconds"), "{msg}");

        let (line, msg) = error_line("debounce_seconds = \"soon\"\n");
        assert_eq!(line, 1);
        assert!(
            msg.contains("integer") || msg.contains("invalid type"),
            "{msg}"
        );

        let (line, msg) = error_line("library = \"Pictures/x\"\n");
        assert_eq!((line, msg.contains("absolute")), (1, true), "{msg}");

        let (line, msg) = error_line("volume_roots = [\"/ok\", \"relative\"]\n");
        assert_eq!((line, msg.contains("volume_roots")), (1, true), "{msg}");

        let (line, msg) = error_line(
            "[[destination]]\nname = \"A\"\nid = \"1b4e28ba-2fa1-11d2-883f-0016d3cca427\"\nmode = \"backup\"\n",
        );
        assert_eq!((line, msg.contains("mode")), (4, true), "{msg}");

        let (line, msg) = error_line("[[destination]]\nname = \"A\"\nid = \"not-an-id\"\n");
        assert_eq!((line, msg.contains("id")), (3, true), "{msg}");

        let (_, msg) = error_line("[[destination]]\nname = \"A\"\nid = \"1b4e28ba-2fa1-11d2-883f-0016d3cca427\"\ncolour = 1\n");
        assert!(msg.contains("colour"), "{msg}");

        let two = "[[destination]]\nname = \"A\"\nid = \"1b4e28ba-2fa1-11d2-883f-0016d3cca427\"\n\n[[destination]]\nname = \"a\"\nid = \"6f1c2a0e-8a51-4c1e-9a57-2b7b3c4d5e6f\"\n";
        let (line, msg) = error_line(two);
        assert_eq!((line, msg.contains("unique")), (6, true), "{msg}");

        let (line, _) = error_line("library = \n");
        assert_eq!(line, 1);
    }

    #[test]
    fn the_documented_example_is_valid() {
        let example = include_str!("../../config/config.example.toml");
        let c = parse(example).unwrap();
        assert_eq!(c.debounce_seconds, DEFAULT_DEBOUNCE_SECONDS);
        assert_eq!(c.library, Config::defaults(&linux()).library);
    }

    #[test]
    fn errors_name_the_file_and_what_to_do() {
        let err = parse("nope = 1").unwrap_err().to_string();
        assert!(err.starts_with("/etc/pv.toml, line 1:"), "{err}");
        assert!(err.contains("fix the configuration"), "{err}");
    }

    #[test]
    fn loading_without_a_file_gives_the_defaults_and_a_named_missing_file_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let platform = Platform {
            home: dir.path().to_path_buf(),
            ..linux()
        };
        assert_eq!(
            Config::load(None, &platform).unwrap(),
            Config::defaults(&platform)
        );
        let missing = dir.path().join("nope.toml");
        assert!(matches!(
            Config::load(Some(&missing), &platform),
            Err(ConfigError::Read { .. })
        ));
        let file = platform.default_config_file();
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        std::fs::write(&file, "debounce_seconds = 7\n").unwrap();
        let c = Config::load(None, &platform).unwrap();
        assert_eq!((c.debounce_seconds, c.file), (7, Some(file)));
    }
}
