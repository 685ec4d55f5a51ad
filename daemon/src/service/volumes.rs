//! Which enrolled destinations are mounted, and a watcher that says when
//! that may have changed.
//!
//! Volumes appear as folders under the volume roots (`/Volumes` on macOS,
//! `/run/media/$USER` and `/media/$USER` on Linux). A destination is found
//! by the id in its marker, never by the volume's name. Change is noticed
//! without polling loops: `notify` on the roots (FSEvents on macOS, inotify
//! on Linux) and, on Linux, the kernel's mount table (`/proc/self/mountinfo`
//! signals every mount and unmount), since mounting onto an existing folder
//! creates no file event.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use notify::{RecursiveMode, Watcher};
use tokio::sync::mpsc::UnboundedSender;

use crate::config::DestinationEntry;
use crate::destination::{Destination, Enrol};

/// An enrolled destination found mounted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mount {
    /// The destination folder on the volume.
    pub root: PathBuf,
    /// Why photovault will not write there, if it will not.
    pub refused: Option<String>,
}

/// Finds every enrolled destination under the volume roots, by id.
pub fn scan(roots: &[PathBuf], destinations: &[DestinationEntry]) -> HashMap<String, Mount> {
    let mut found = HashMap::new();
    // Asked of `tmutil` (a process on macOS) only once a destination is found.
    let mut time_machine: Option<Vec<PathBuf>> = None;
    for root in roots {
        let Ok(entries) = std::fs::read_dir(root) else {
            continue;
        };
        for volume in entries.flatten() {
            let volume = volume.path();
            if !volume.is_dir() {
                continue;
            }
            for entry in destinations {
                if found.contains_key(&entry.id) {
                    continue;
                }
                let candidate = if entry.folder.as_os_str().is_empty() {
                    volume.clone()
                } else {
                    volume.join(&entry.folder)
                };
                let Ok(dest) = Destination::open(&candidate, Enrol::Never) else {
                    continue;
                };
                if dest.info().id != entry.id {
                    continue;
                }
                let tm = time_machine.get_or_insert_with(time_machine_mount_points);
                let refused = refusal(&volume, tm);
                found.insert(
                    entry.id.clone(),
                    Mount {
                        root: candidate,
                        refused,
                    },
                );
            }
        }
    }
    found
}

/// Why photovault must not write to `volume`: read-only, or a Time Machine
/// backup disk (writing there would mix our files into Apple's backups).
pub fn refusal(volume: &Path, time_machine: &[PathBuf]) -> Option<String> {
    if time_machine.iter().any(|m| m == volume)
        || volume.join("Backups.backupdb").is_dir()
        || volume.join(".com.apple.timemachine.donotpresent").exists()
    {
        return Some(format!(
            "{} is a Time Machine volume; photovault never writes to one: use another drive",
            volume.display()
        ));
    }
    if crate::write::is_read_only(volume) {
        return Some(format!(
            "{} is mounted read-only; mount it writable to back up to it",
            volume.display()
        ));
    }
    None
}

/// Mount points of the Time Machine destinations `tmutil` knows (macOS).
#[cfg(target_os = "macos")]
pub fn time_machine_mount_points() -> Vec<PathBuf> {
    let Ok(out) = std::process::Command::new("tmutil")
        .args(["destinationinfo", "-X"])
        .output()
    else {
        return Vec::new();
    };
    let Ok(value) = plist::Value::from_reader(std::io::Cursor::new(out.stdout)) else {
        return Vec::new();
    };
    value
        .as_dictionary()
        .and_then(|d| d.get("Destinations"))
        .and_then(|d| d.as_array())
        .map(|list| {
            list.iter()
                .filter_map(|d| d.as_dictionary()?.get("MountPoint")?.as_string())
                .map(PathBuf::from)
                .collect()
        })
        .unwrap_or_default()
}

/// Mount points of Time Machine destinations: none outside macOS.
#[cfg(not(target_os = "macos"))]
pub fn time_machine_mount_points() -> Vec<PathBuf> {
    Vec::new()
}

/// Keeps the volume roots watched; sends `()` whenever a volume may have
/// appeared or gone. Dropping it stops the file watch.
pub struct VolumeWatcher {
    _watcher: notify::RecommendedWatcher,
}

impl VolumeWatcher {
    /// Watches `roots` (a root that does not exist yet is watched through
    /// its nearest existing parent, so its creation is seen too).
    pub fn start(roots: &[PathBuf], tx: UnboundedSender<()>) -> notify::Result<Self> {
        let events = tx.clone();
        let mut watcher =
            notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
                if let Ok(e) = event {
                    if !matches!(e.kind, notify::EventKind::Access(_)) {
                        let _ = events.send(());
                    }
                }
            })?;
        for root in roots {
            let mut target = root.as_path();
            while !target.exists() {
                match target.parent() {
                    Some(p) => target = p,
                    None => break,
                }
            }
            if let Err(e) = watcher.watch(target, RecursiveMode::NonRecursive) {
                tracing::warn!(root = %root.display(), error = %e, "cannot watch a volume root; drives appearing there are seen only at the next scan");
            }
        }
        watch_mount_table(tx);
        Ok(VolumeWatcher { _watcher: watcher })
    }
}

/// Linux: the kernel marks `/proc/self/mountinfo` with `POLLPRI` after
/// every mount or unmount; a thread blocks on it (no polling loop).
#[cfg(target_os = "linux")]
fn watch_mount_table(tx: UnboundedSender<()>) {
    use std::os::fd::AsRawFd;
    let Ok(file) = std::fs::File::open("/proc/self/mountinfo") else {
        tracing::debug!("no /proc/self/mountinfo: mounts are seen through file events only");
        return;
    };
    std::thread::Builder::new()
        .name("mount-table".into())
        .spawn(move || loop {
            let mut fd = libc::pollfd {
                fd: file.as_raw_fd(),
                events: libc::POLLPRI,
                revents: 0,
            };
            // SAFETY: one valid pollfd, for the duration of the call.
            let n = unsafe { libc::poll(&mut fd, 1, -1) };
            if n < 0 {
                if std::io::Error::last_os_error().kind() == std::io::ErrorKind::Interrupted {
                    continue;
                }
                return;
            }
            // The event stays raised until the file is read again.
            let _ = std::io::Read::read_to_end(&mut &file, &mut Vec::new());
            let _ = std::io::Seek::seek(&mut &file, std::io::SeekFrom::Start(0));
            if tx.send(()).is_err() {
                return;
            }
        })
        .ok();
}

/// macOS: mounts create and remove folders in `/Volumes`, which FSEvents
/// reports; nothing more to watch.
#[cfg(not(target_os = "linux"))]
fn watch_mount_table(_tx: UnboundedSender<()>) {}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(name: &str, id: &str, folder: &str) -> DestinationEntry {
        DestinationEntry {
            name: name.into(),
            id: id.into(),
            modes: vec![crate::config::Mode::Export],
            folder: PathBuf::from(folder),
        }
    }

    #[test]
    fn destinations_are_found_by_id_on_any_volume_and_in_a_folder() {
        let dir = tempfile::tempdir().unwrap();
        let roots = vec![dir.path().join("a"), dir.path().join("b")];
        let one = Destination::open(&roots[0].join("Drive"), Enrol::IfEmpty).unwrap();
        let two = Destination::open(&roots[1].join("Drive/Photos backup"), Enrol::IfEmpty).unwrap();
        // A volume with the same name but another id is not ours.
        Destination::open(&roots[1].join("Other"), Enrol::IfEmpty).unwrap();
        let entries = vec![
            entry("One", &one.info().id, ""),
            entry("Two", &two.info().id, "Photos backup"),
            entry("Away", "00000000-0000-4000-8000-000000000000", ""),
        ];
        let found = scan(&roots, &entries);
        assert_eq!(found.len(), 2);
        assert_eq!(found[&one.info().id].root, roots[0].join("Drive"));
        assert_eq!(
            found[&two.info().id].root,
            roots[1].join("Drive/Photos backup")
        );
        assert_eq!(found[&one.info().id].refused, None);
    }

    #[test]
    fn time_machine_volumes_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("Backups.backupdb")).unwrap();
        let why = refusal(dir.path(), &[]).unwrap();
        assert!(why.contains("Time Machine"), "{why}");
        let other = tempfile::tempdir().unwrap();
        assert!(refusal(other.path(), &[other.path().to_path_buf()]).is_some());
        assert_eq!(refusal(other.path(), &[]), None);
    }

    #[test]
    fn the_watcher_reports_a_new_volume() {
        let dir = tempfile::tempdir().unwrap();
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let _w = VolumeWatcher::start(&[dir.path().to_path_buf()], tx).unwrap();
        std::fs::create_dir(dir.path().join("Drive")).unwrap();
        let got = (0..50).any(|_| {
            std::thread::sleep(std::time::Duration::from_millis(20));
            rx.try_recv().is_ok()
        });
        assert!(got, "no event for a new folder in the volume root");
    }
}
