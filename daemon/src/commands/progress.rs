//! The progress bar the engine commands show on a terminal.

use std::sync::atomic::{AtomicU64, Ordering};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use photovault::export::Progress;

/// A progress bar with files, bytes and time left, on a terminal only.
pub(crate) struct TerminalProgress {
    bar: Option<ProgressBar>,
    files: AtomicU64,
    done: AtomicU64,
}

impl TerminalProgress {
    pub(crate) fn new(enabled: bool) -> Self {
        TerminalProgress {
            bar: enabled.then(|| ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr())),
            files: AtomicU64::new(0),
            done: AtomicU64::new(0),
        }
    }
}

impl Progress for TerminalProgress {
    fn start(&self, files: u64, bytes: u64) {
        self.files.store(files, Ordering::Relaxed);
        if let Some(bar) = &self.bar {
            bar.set_length(bytes);
            bar.set_style(
                ProgressStyle::with_template(
                    "{bar:30} {bytes}/{total_bytes} {binary_bytes_per_sec} ETA {eta} {msg}",
                )
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
            );
            bar.set_message(format!("0/{files} files"));
        }
    }
    fn file_done(&self, bytes: u64) {
        let done = self.done.fetch_add(1, Ordering::Relaxed) + 1;
        if let Some(bar) = &self.bar {
            bar.inc(bytes);
            bar.set_message(format!(
                "{done}/{} files",
                self.files.load(Ordering::Relaxed)
            ));
        }
    }
    fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}
