//! Watches the Photos library for changes: its database folder (the
//! database, its WAL) and its originals. Reads (ours included) are not
//! changes; everything else is reported, and the daemon waits for quiet
//! before queuing backups.

use std::path::Path;

use notify::{EventKind, RecursiveMode, Watcher};
use tokio::sync::mpsc::UnboundedSender;

/// Keeps the library watched while it lives.
pub struct LibraryWatcher {
    _watcher: notify::RecommendedWatcher,
}

impl LibraryWatcher {
    /// Watches `library`; sends `()` on every change.
    pub fn start(library: &Path, tx: UnboundedSender<()>) -> notify::Result<Self> {
        let mut watcher =
            notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
                let Ok(event) = event else { return };
                if matches!(event.kind, EventKind::Access(_)) {
                    return;
                }
                // SQLite's shared-memory index changes when anyone reads
                // through WAL mode; it is not a change of the library.
                if event
                    .paths
                    .iter()
                    .all(|p| p.to_string_lossy().ends_with("-shm"))
                {
                    return;
                }
                let _ = tx.send(());
            })?;
        watcher.watch(&library.join("database"), RecursiveMode::NonRecursive)?;
        let originals = library.join("originals");
        if originals.is_dir() {
            watcher.watch(&originals, RecursiveMode::Recursive)?;
        }
        Ok(LibraryWatcher { _watcher: watcher })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_write_to_the_database_folder_is_reported_and_a_read_is_not() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("database")).unwrap();
        std::fs::create_dir_all(dir.path().join("originals/A")).unwrap();
        std::fs::write(dir.path().join("database/Photos.sqlite"), b"x").unwrap();
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let _w = LibraryWatcher::start(dir.path(), tx).unwrap();
        let _ = std::fs::read(dir.path().join("database/Photos.sqlite")).unwrap();
        std::thread::sleep(std::time::Duration::from_millis(200));
        assert!(rx.try_recv().is_err(), "a read was reported as a change");
        std::fs::write(dir.path().join("originals/A/new.jpg"), b"y").unwrap();
        let got = (0..50).any(|_| {
            std::thread::sleep(std::time::Duration::from_millis(20));
            rx.try_recv().is_ok()
        });
        assert!(got, "a new original was not reported");
    }
}
