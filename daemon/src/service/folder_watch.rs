//! Watches the `[[source]]` folders and queues organize jobs once new files
//! have finished arriving.
//!
//! A download (icloudpd, a phone syncing, a copy from a card) writes a file
//! over seconds or minutes; organizing it half-written would put a
//! truncated photo on the drive. So after a change the daemon waits for
//! `debounce_seconds` without events, then looks at every file's size and
//! modification time twice, a couple of seconds apart, and queues the job
//! only when nothing moved in between. Source folders are only ever read.
//!
//! A missing source folder (a disk not mounted yet, a renamed folder) is
//! logged, shown in the status, and looked for again every minute; it is
//! watched and organized as soon as it is back.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use notify::{EventKind, RecursiveMode, Watcher};
use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver, UnboundedSender};

use super::pipeline::{reason, Pipeline};
use crate::config::SourceEntry;

/// Longest wait between the two looks that decide a source is settled.
const SETTLE: Duration = Duration::from_secs(2);

/// How often missing source folders are looked for.
const MISSING_RECHECK: Duration = Duration::from_secs(60);

/// Every file under some folders: its size and modification time.
pub type Snapshot = BTreeMap<PathBuf, (u64, Option<SystemTime>)>;

/// The source folders watched now, and the ones that are missing.
struct Watching {
    _watcher: Option<notify::RecommendedWatcher>,
    folders: Vec<PathBuf>,
    missing: Vec<PathBuf>,
}

impl Watching {
    /// Watches every existing folder of `sources` (recursively); sends `()`
    /// on every change under one.
    fn start(sources: &[SourceEntry], tx: UnboundedSender<()>) -> Self {
        let folders: Vec<PathBuf> = sources.iter().map(|s| s.path.clone()).collect();
        let mut missing = Vec::new();
        let watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
            if event.is_ok_and(|e| !matches!(e.kind, EventKind::Access(_))) {
                let _ = tx.send(());
            }
        });
        let mut watcher = match watcher {
            Ok(w) => Some(w),
            Err(e) => {
                tracing::warn!(error = %e, "source folders cannot be watched; they are organized when a drive is connected");
                None
            }
        };
        for s in sources {
            if !s.path.is_dir() {
                tracing::warn!(source = %s.name, path = %s.path.display(), "the source folder does not exist; it is organized once it appears (check `path` in the configuration)");
                missing.push(s.path.clone());
                continue;
            }
            if let Some(w) = watcher.as_mut() {
                if let Err(e) = w.watch(&s.path, RecursiveMode::Recursive) {
                    tracing::warn!(source = %s.name, path = %s.path.display(), error = %e, "the source folder cannot be watched; it is organized when a drive is connected");
                }
            }
        }
        Watching {
            _watcher: watcher,
            folders,
            missing,
        }
    }
}

/// Watches the configured sources until the pipeline goes away; follows
/// configuration changes.
pub async fn watch_sources(pipeline: Arc<Pipeline>, debounce: Duration) {
    let (tx, mut events) = unbounded_channel();
    let mut changes = pipeline.subscribe();
    let mut sources = pipeline.config().sources.clone();
    let mut watching = Watching::start(&sources, tx.clone());
    // An interval, not a sleep in the loop: frequent changes (job progress)
    // must not keep postponing the look for missing folders.
    let mut recheck = tokio::time::interval(MISSING_RECHECK);
    recheck.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let queue = tokio::select! {
            event = events.recv() => {
                if event.is_none() {
                    return;
                }
                wait_until_settled(&mut events, &watching.folders, debounce).await;
                true
            }
            changed = changes.changed() => {
                if changed.is_err() {
                    return;
                }
                let now = pipeline.config().sources.clone();
                if now == sources {
                    false
                } else {
                    tracing::info!(sources = now.len(), "the source folders changed");
                    sources = now;
                    watching = Watching::start(&sources, tx.clone());
                    true
                }
            }
            _ = recheck.tick(), if !watching.missing.is_empty() => {
                if watching.missing.iter().any(|p| p.is_dir()) {
                    tracing::info!("a missing source folder appeared");
                    watching = Watching::start(&sources, tx.clone());
                    true
                } else {
                    false
                }
            }
        };
        if queue {
            if let Err(e) = pipeline.enqueue_organizing(reason::SOURCE_CHANGED, None) {
                tracing::error!(error = %e, "cannot queue organizing the source folders");
            }
        }
    }
}

/// Returns once no event came for `debounce` and two looks at `folders`,
/// [`SETTLE`] (at most `debounce`) apart, found the same files with the same
/// sizes and times.
async fn wait_until_settled(
    events: &mut UnboundedReceiver<()>,
    folders: &[PathBuf],
    debounce: Duration,
) {
    let settle = SETTLE.min(debounce);
    loop {
        while let Ok(Some(())) = tokio::time::timeout(debounce, events.recv()).await {}
        let first = look(folders).await;
        tokio::time::sleep(settle).await;
        let second = look(folders).await;
        if first == second {
            // Events of the files already looked at are stale.
            while events.try_recv().is_ok() {}
            return;
        }
        tracing::debug!("source files are still being written; waiting");
    }
}

async fn look(folders: &[PathBuf]) -> Snapshot {
    let folders = folders.to_vec();
    tokio::task::spawn_blocking(move || snapshot(&folders))
        .await
        .unwrap_or_default()
}

/// Sizes and modification times of every file under `folders` (links are
/// not followed; unreadable entries are left out).
pub fn snapshot(folders: &[PathBuf]) -> Snapshot {
    let mut out = Snapshot::new();
    let mut todo: Vec<PathBuf> = folders.to_vec();
    while let Some(dir) = todo.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let Ok(meta) = entry.metadata() else {
                continue;
            };
            if meta.is_dir() {
                todo.push(entry.path());
            } else if meta.is_file() {
                out.insert(entry.path(), (meta.len(), meta.modified().ok()));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn source(path: &Path) -> SourceEntry {
        SourceEntry {
            name: "s".into(),
            kind: crate::config::SourceKind::Folder,
            path: path.to_path_buf(),
            destination: None,
            heic_to_jpeg: true,
            jpeg_quality: 92,
            zone: crate::media::Zone::Local,
        }
    }

    #[test]
    fn a_growing_file_changes_the_snapshot_and_a_finished_one_does_not() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("2024/05")).unwrap();
        let file = dir.path().join("2024/05/IMG_1.JPG");
        std::fs::write(&file, b"half").unwrap();
        let folders = vec![dir.path().to_path_buf()];
        let before = snapshot(&folders);
        assert_eq!(before.len(), 1);
        assert_eq!(snapshot(&folders), before);
        std::fs::write(&file, b"half and the rest").unwrap();
        assert_ne!(snapshot(&folders), before);
    }

    #[tokio::test]
    async fn settling_waits_for_a_file_that_keeps_growing() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("IMG_1.JPG");
        std::fs::write(&file, b"0").unwrap();
        let (tx, mut rx) = unbounded_channel();
        let _w = Watching::start(&[source(dir.path())], tx);
        let writer = std::thread::spawn({
            let file = file.clone();
            move || {
                for i in 0..20 {
                    std::thread::sleep(Duration::from_millis(50));
                    let mut data = std::fs::read(&file).unwrap();
                    data.push(b'a' + i);
                    std::fs::write(&file, data).unwrap();
                }
            }
        });
        wait_until_settled(
            &mut rx,
            &[dir.path().to_path_buf()],
            Duration::from_millis(300),
        )
        .await;
        let length = std::fs::read(&file).unwrap().len();
        writer.join().unwrap();
        assert_eq!(length, 21, "settled while the file was still growing");
    }

    #[test]
    fn a_missing_folder_is_noted_and_an_existing_one_reports_changes() {
        let dir = tempfile::tempdir().unwrap();
        let gone = dir.path().join("gone");
        let (tx, mut rx) = unbounded_channel();
        let w = Watching::start(&[source(&gone), source(dir.path())], tx);
        assert_eq!(w.missing, vec![gone]);
        std::fs::write(dir.path().join("new.jpg"), b"x").unwrap();
        let got = (0..50).any(|_| {
            std::thread::sleep(Duration::from_millis(20));
            rx.try_recv().is_ok()
        });
        assert!(got, "a new file was not reported");
    }
}
