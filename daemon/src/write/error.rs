//! What can go wrong while writing, sorted by what the caller must do about
//! it: skip one asset, stop the run, or report one destination file.

use std::io;
use std::path::{Path, PathBuf};

/// Why a write failed, sorted by consequence: a [`WriteError::Source`] costs
/// one asset and the run goes on; [`WriteError::DestinationFull`] and
/// [`WriteError::DestinationGone`] stop the run at once (see
/// [`WriteError::stops_run`]). In every case nothing is left under the final
/// name and the temporary file has been removed (when the drive still let us).
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    /// The source could not be opened or read: one asset's problem (deleted
    /// meanwhile, unreadable, a directory). The run continues without it.
    #[error(
        "cannot read {}: {source}; this file was skipped and the backup goes on \
         (check that it still exists and is readable, then run the backup again)",
        path.display()
    )]
    Source {
        /// The file we tried to read.
        path: PathBuf,
        /// What the operating system said.
        source: io::Error,
    },

    /// No space (or quota) left on the destination (ENOSPC, EDQUOT). The
    /// half-written file has been removed; the run must stop.
    #[error("{}", full_message(path, *needed, *available))]
    DestinationFull {
        /// The file that did not fit.
        path: PathBuf,
        /// Bytes the file needs in total (its size), when known.
        needed: Option<u64>,
        /// Bytes free on the destination after the half-written file was
        /// removed, when it could be measured.
        available: Option<u64>,
    },

    /// The destination vanished or went read-only: the drive was unplugged,
    /// its folder disappeared, the filesystem reported an I/O error or was
    /// remounted read-only (ENOENT on the destination side, EIO, ENODEV,
    /// ENXIO, EROFS, ESTALE, ENOTCONN...). Every further write would fail
    /// too, so the run must stop and resume on the next mount.
    #[error(
        "the destination disappeared or became read-only while writing {}: {source}; \
         reconnect the drive (the backup resumes by itself when it is mounted again)",
        path.display()
    )]
    DestinationGone {
        /// The destination path being written when it happened.
        path: PathBuf,
        /// What the operating system said.
        source: io::Error,
    },

    /// Any other failure to write on the destination (permission denied, a
    /// directory in the way, a file too large for the filesystem...).
    #[error("cannot write {}: {source}; {}", path.display(), destination_hint(source))]
    Destination {
        /// The destination path being written.
        path: PathBuf,
        /// What the operating system said.
        source: io::Error,
    },
}

impl WriteError {
    /// Whether the whole run must stop (the destination is full or gone),
    /// rather than only this file being skipped: every later write would fail
    /// the same way, and writing on would only make things worse.
    pub fn stops_run(&self) -> bool {
        matches!(
            self,
            WriteError::DestinationFull { .. } | WriteError::DestinationGone { .. }
        )
    }

    /// Sorts an I/O error met on the destination side into Full, Gone or the
    /// general case. `needed` is the size of the file being written, when
    /// known; free space is measured on `path`'s folder (or the nearest
    /// existing one) now, so call this after the temporary file is removed.
    pub(crate) fn destination(path: &Path, err: io::Error, needed: Option<u64>) -> WriteError {
        match err.raw_os_error() {
            Some(code) if is_full(code) => WriteError::DestinationFull {
                path: path.to_path_buf(),
                needed,
                available: available_near(path),
            },
            Some(code) if is_gone(code) => WriteError::DestinationGone {
                path: path.to_path_buf(),
                source: err,
            },
            _ => WriteError::Destination {
                path: path.to_path_buf(),
                source: err,
            },
        }
    }

    /// An error reading the source.
    pub(crate) fn source(path: &Path, err: io::Error) -> WriteError {
        WriteError::Source {
            path: path.to_path_buf(),
            source: err,
        }
    }
}

/// ENOSPC and EDQUOT: the filesystem (or our quota on it) is full.
fn is_full(code: i32) -> bool {
    code == libc::ENOSPC || code == libc::EDQUOT
}

/// Errors meaning the destination as a whole is no longer usable.
fn is_gone(code: i32) -> bool {
    let portable = [
        libc::ENOENT,
        libc::EIO,
        libc::ENODEV,
        libc::ENXIO,
        libc::EROFS,
        libc::ESTALE,
        libc::ENOTCONN,
        libc::ESHUTDOWN,
        libc::ETIMEDOUT,
        libc::EHOSTDOWN,
        libc::ENETDOWN,
    ];
    #[cfg(any(target_os = "linux", target_os = "android"))]
    let platform = [libc::ENOMEDIUM, libc::EREMOTEIO];
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    let platform: [i32; 0] = [];
    portable.contains(&code) || platform.contains(&code)
}

/// Free bytes on the filesystem of `path`, or of its nearest existing
/// ancestor (the file itself is gone by the time we ask).
fn available_near(path: &Path) -> Option<u64> {
    path.ancestors()
        .skip(1)
        .find(|p| p.is_dir())
        .and_then(|dir| super::available_space(dir).ok())
}

fn full_message(path: &Path, needed: Option<u64>, available: Option<u64>) -> String {
    let what = format!("the destination is full: {} did not fit", path.display());
    let how_much = match (needed, available) {
        (Some(needed), Some(available)) => format!(
            " (it needs {}, {} is free: free at least {} more)",
            human(needed),
            human(available),
            human(needed.saturating_sub(available).max(1))
        ),
        (Some(needed), None) => format!(" (it needs {})", human(needed)),
        (None, Some(available)) => format!(" ({} is free)", human(available)),
        (None, None) => String::new(),
    };
    format!(
        "{what}{how_much}; nothing half-written was left behind. Free some space on the drive \
         or use a larger one, then run the backup again"
    )
}

fn destination_hint(err: &io::Error) -> &'static str {
    match err.raw_os_error() {
        Some(libc::EFBIG) => {
            "the drive's filesystem cannot hold a file this large (FAT32 stops at 4 GB): \
             reformat it as exFAT or APFS"
        }
        Some(libc::EACCES) | Some(libc::EPERM) => "check the permissions of the destination folder",
        Some(libc::ENAMETOOLONG) => "the name is too long for the drive's filesystem",
        Some(libc::EISDIR) | Some(libc::ENOTDIR) | Some(libc::EEXIST) => {
            "something else is in the way at this path on the destination: move it away"
        }
        _ => "check the destination drive and run the backup again",
    }
}

/// Byte counts the way people read them.
fn human(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["bytes", "KB", "MB", "GB", "TB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1000.0 && unit < UNITS.len() - 1 {
        value /= 1000.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} bytes")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_are_sorted_by_consequence() {
        let p = Path::new("/nowhere/x");
        let of = |code| WriteError::destination(p, io::Error::from_raw_os_error(code), Some(10));
        assert!(matches!(
            of(libc::ENOSPC),
            WriteError::DestinationFull {
                needed: Some(10),
                ..
            }
        ));
        assert!(matches!(
            of(libc::EDQUOT),
            WriteError::DestinationFull { .. }
        ));
        for code in [
            libc::EIO,
            libc::ENOENT,
            libc::EROFS,
            libc::ENXIO,
            libc::ENODEV,
            libc::ESTALE,
        ] {
            assert!(
                matches!(of(code), WriteError::DestinationGone { .. }),
                "{code}"
            );
            assert!(of(code).stops_run());
        }
        assert!(matches!(of(libc::EACCES), WriteError::Destination { .. }));
        assert!(!of(libc::EACCES).stops_run());
        assert!(!WriteError::source(p, io::Error::from_raw_os_error(libc::EIO)).stops_run());
    }

    #[test]
    fn messages_say_what_to_do() {
        let full = WriteError::DestinationFull {
            path: "/d/x.jpg".into(),
            needed: Some(5_000_000),
            available: Some(1_000_000),
        };
        let text = full.to_string();
        assert!(
            text.contains("5.0 MB") && text.contains("4.0 MB more"),
            "{text}"
        );
        let big = WriteError::Destination {
            path: "/d/x.mov".into(),
            source: io::Error::from_raw_os_error(libc::EFBIG),
        };
        assert!(big.to_string().contains("exFAT"));
        assert_eq!(human(999), "999 bytes");
        assert_eq!(human(1_500_000_000), "1.5 GB");
    }
}
