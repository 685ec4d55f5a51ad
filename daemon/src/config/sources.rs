//! `[[source]]` tables: folders the daemon watches and organizes onto the
//! destinations whose mode includes organize (an icloudpd download folder,
//! a folder a phone syncs into).
//!
//! Kept apart from the rest of the configuration because a source names
//! destinations: it is checked against the `[[destination]]` tables once
//! they are read.

use std::ops::Range;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use toml::Spanned;

use super::{expand_home, DestinationEntry, Mode};
use crate::media::{heic, Zone};

/// What kind of source a `[[source]]` table describes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceKind {
    /// A plain folder of media, walked recursively.
    Folder,
}

/// One `[[source]]`: a folder organized onto one or more destinations.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceEntry {
    /// The name shown in the status and the logs (default: the folder's name).
    pub name: String,
    /// What it is.
    pub kind: SourceKind,
    /// The folder (absolute). It is only ever read.
    pub path: PathBuf,
    /// The one destination it goes to, by name; `None`: every destination
    /// whose mode includes organize.
    pub destination: Option<String>,
    /// Turn HEICs into JPEGs.
    pub heic_to_jpeg: bool,
    /// JPEG quality of converted HEICs (1-100).
    pub jpeg_quality: u8,
    /// The zone in which times stored in UTC (videos) and file times are
    /// read, for the names: where the photos were taken, when that is not
    /// where the computer is.
    pub zone: Zone,
}

impl SourceEntry {
    /// Whether this source is organized onto `dest`.
    pub fn goes_to(&self, dest: &DestinationEntry) -> bool {
        dest.modes.contains(&Mode::Organize)
            && self
                .destination
                .as_ref()
                .is_none_or(|name| name.eq_ignore_ascii_case(&dest.name))
    }
}

/// A `[[source]]` table as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawSource {
    kind: Spanned<String>,
    path: Spanned<PathBuf>,
    #[serde(default)]
    name: Option<Spanned<String>>,
    #[serde(default)]
    destination: Option<Spanned<String>>,
    #[serde(default)]
    heic_to_jpeg: Option<bool>,
    #[serde(default)]
    jpeg_quality: Option<Spanned<i64>>,
    #[serde(default)]
    time_zone: Option<Spanned<String>>,
}

/// Checks the `[[source]]` tables against the destinations already read;
/// an error is the span of the bad value and what is wrong with it.
pub(super) fn parse(
    raw: &[RawSource],
    destinations: &[DestinationEntry],
    home: &Path,
) -> Result<Vec<SourceEntry>, (Range<usize>, String)> {
    let mut out: Vec<SourceEntry> = Vec::new();
    for s in raw {
        let kind = match s.kind.get_ref().trim() {
            "folder" => SourceKind::Folder,
            other => {
                return Err((
                    s.kind.span(),
                    format!("`kind` {other:?} of a [[source]] is not a source kind; the only kind is \"folder\" (a folder of photos and videos)"),
                ))
            }
        };
        let path = expand_home(s.path.get_ref(), home);
        if !path.is_absolute() {
            return Err((
                s.path.span(),
                format!(
                    "`path` of a [[source]] must be an absolute path (or start with ~/), not {:?}",
                    s.path.get_ref()
                ),
            ));
        }
        let (name, name_span) = match &s.name {
            Some(n) => (n.get_ref().trim().to_string(), n.span()),
            None => (
                path.file_name().map_or_else(
                    || path.display().to_string(),
                    |n| n.to_string_lossy().into(),
                ),
                s.path.span(),
            ),
        };
        if name.is_empty() {
            return Err((name_span, "`name` of a [[source]] must not be empty".into()));
        }
        if let Some(other) = out.iter().find(|o| o.name.eq_ignore_ascii_case(&name)) {
            return Err((
                name_span,
                format!(
                    "two [[source]] tables are called {name:?} ({} and {}); give one another `name`",
                    other.path.display(),
                    path.display()
                ),
            ));
        }
        if out.iter().any(|o| o.path == path) {
            return Err((
                s.path.span(),
                format!(
                    "the folder {} is a [[source]] twice; keep one table",
                    path.display()
                ),
            ));
        }
        let destination = match &s.destination {
            None => None,
            Some(d) => {
                let wanted = d.get_ref().trim();
                let Some(dest) = destinations
                    .iter()
                    .find(|e| e.name.eq_ignore_ascii_case(wanted))
                else {
                    return Err((
                        d.span(),
                        format!("[[source]] {name:?} goes to destination {wanted:?}, which is not enrolled; enrol it (`photovaultctl dest add PATH --name {wanted:?} --mode organize`) or remove `destination` from the source"),
                    ));
                };
                if !dest.modes.contains(&Mode::Organize) {
                    return Err((
                        d.span(),
                        format!("[[source]] {name:?} goes to destination {wanted:?}, whose `mode` does not include organize; add it (mode = \"export,organize\") or choose another destination"),
                    ));
                }
                Some(dest.name.clone())
            }
        };
        let jpeg_quality = match &s.jpeg_quality {
            None => heic::DEFAULT_QUALITY,
            Some(q) => match u8::try_from(*q.get_ref()) {
                Ok(v) if (1..=100).contains(&v) => v,
                _ => {
                    return Err((
                        q.span(),
                        format!(
                        "`jpeg_quality` of [[source]] {name:?} must be between 1 and 100, not {}",
                        q.get_ref()
                    ),
                    ))
                }
            },
        };
        let zone = match &s.time_zone {
            None => Zone::Local,
            Some(z) => Zone::parse(z.get_ref().trim()).map_err(|why| {
                (
                    z.span(),
                    format!("`time_zone` of [[source]] {name:?}: {why}"),
                )
            })?,
        };
        out.push(SourceEntry {
            name,
            kind,
            path,
            destination,
            heic_to_jpeg: s.heic_to_jpeg.unwrap_or(true),
            jpeg_quality,
            zone,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::super::{Config, ConfigError, Platform};
    use super::*;

    const DESTS: &str = "[[destination]]\nname = \"Photos\"\nid = \"1b4e28ba-2fa1-11d2-883f-0016d3cca427\"\nmode = \"export,organize\"\n\n[[destination]]\nname = \"Plain\"\nid = \"6f1c2a0e-8a51-4c1e-9a57-2b7b3c4d5e6f\"\n\n";

    fn parse(text: &str) -> Result<Config, ConfigError> {
        let platform = Platform {
            home: "/home/ana".into(),
            user: "ana".into(),
            xdg_config_home: None,
            xdg_state_home: None,
            macos: false,
        };
        Config::parse(text, Path::new("/etc/pv.toml"), &platform)
    }

    fn error_line(text: &str) -> (usize, String) {
        match parse(text).unwrap_err() {
            ConfigError::Invalid { line, message, .. } => (line, message),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_folder_source_reads_with_defaults_and_goes_to_organizing_destinations() {
        let c = parse(&format!(
            "{DESTS}[[source]]\nkind = \"folder\"\npath = \"~/icloudpd\"\n\n[[source]]\nkind = \"folder\"\npath = \"/srv/phone\"\nname = \"Phone\"\ndestination = \"photos\"\nheic_to_jpeg = false\njpeg_quality = 80\ntime_zone = \"America/New_York\"\n"
        ))
        .unwrap();
        assert_eq!(c.destinations[0].modes, vec![Mode::Export, Mode::Organize]);
        assert_eq!(
            c.sources[0],
            SourceEntry {
                name: "icloudpd".into(),
                kind: SourceKind::Folder,
                path: "/home/ana/icloudpd".into(),
                destination: None,
                heic_to_jpeg: true,
                jpeg_quality: heic::DEFAULT_QUALITY,
                zone: Zone::Local,
            }
        );
        let phone = &c.sources[1];
        assert_eq!(
            (
                phone.name.as_str(),
                phone.destination.as_deref(),
                phone.heic_to_jpeg,
                phone.jpeg_quality,
                phone.zone
            ),
            (
                "Phone",
                Some("Photos"),
                false,
                80,
                Zone::parse("America/New_York").unwrap()
            )
        );
        assert!(c.sources[0].goes_to(&c.destinations[0]));
        assert!(!c.sources[0].goes_to(&c.destinations[1]));
        assert!(phone.goes_to(&c.destinations[0]));
    }

    #[test]
    fn bad_sources_are_refused_naming_the_line_and_what_to_do() {
        let src = |body: &str| format!("{DESTS}[[source]]\n{body}");
        let base = DESTS.lines().count() + 2;
        let (line, msg) = error_line(&src("kind = \"photos-library\"\npath = \"/x\"\n"));
        assert_eq!(line, base, "{msg}");
        assert!(msg.contains("\"folder\""), "{msg}");

        let (line, msg) = error_line(&src("kind = \"folder\"\npath = \"relative/x\"\n"));
        assert_eq!((line, msg.contains("absolute")), (base + 1, true), "{msg}");

        let (line, msg) = error_line(&src(
            "kind = \"folder\"\npath = \"/x\"\ndestination = \"Nope\"\n",
        ));
        assert_eq!(
            (line, msg.contains("not enrolled")),
            (base + 2, true),
            "{msg}"
        );

        let (_, msg) = error_line(&src(
            "kind = \"folder\"\npath = \"/x\"\ndestination = \"Plain\"\n",
        ));
        assert!(msg.contains("does not include organize"), "{msg}");

        let (line, msg) = error_line(&src("kind = \"folder\"\npath = \"/x\"\njpeg_quality = 0\n"));
        assert_eq!(
            (line, msg.contains("jpeg_quality")),
            (base + 2, true),
            "{msg}"
        );

        let (line, msg) = error_line(&src(
            "kind = \"folder\"\npath = \"/x\"\ntime_zone = \"Mars/Olympus\"\n",
        ));
        assert_eq!(
            (line, msg.contains("time_zone") && msg.contains("IANA")),
            (base + 2, true),
            "{msg}"
        );

        let (_, msg) = error_line(&src("kind = \"folder\"\npath = \"/x\"\ncolour = 1\n"));
        assert!(msg.contains("colour"), "{msg}");

        let (_, msg) = error_line(&src(
            "kind = \"folder\"\npath = \"/a/Phone\"\n\n[[source]]\nkind = \"folder\"\npath = \"/b/phone\"\n",
        ));
        assert!(msg.contains("another `name`"), "{msg}");

        let (_, msg) = error_line(&src("path = \"/x\"\n"));
        assert!(msg.contains("kind"), "{msg}");
    }
}
