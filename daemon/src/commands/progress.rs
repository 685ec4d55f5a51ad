//! What every engine command shares: the progress bar shown on a terminal
//! (files, bytes, speed and time left, on stderr so that stdout stays clean
//! for --json), the report as JSON or text, and the exit status.

use std::io::Write;
use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use photovault::export::Progress;

/// A progress bar with files, bytes and time left, on a terminal only.
pub struct TerminalProgress {
    bar: Option<ProgressBar>,
    files: AtomicU64,
    done: AtomicU64,
}

impl TerminalProgress {
    /// A bar drawn only when `enabled` (a terminal, and no --json).
    pub fn new(enabled: bool) -> Self {
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

/// Bytes for people (`1.5 GiB`).
pub fn human_bytes(n: u64) -> String {
    indicatif::BinaryBytes(n).to_string()
}

/// Prints `report` on stdout: pretty JSON with `json`, else as `text` writes it.
pub fn print_report<R: serde::Serialize>(
    json: bool,
    report: &R,
    text: impl FnOnce(&mut std::io::StdoutLock<'static>, &R) -> std::io::Result<()>,
) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    if json {
        serde_json::to_writer_pretty(&mut out, report)?;
        writeln!(out)?;
    } else {
        text(&mut out, report)?;
    }
    Ok(())
}

/// The first line of a dry run's text report.
pub fn write_dry_run_header(
    out: &mut impl Write,
    destination: &std::path::Path,
) -> std::io::Result<()> {
    writeln!(
        out,
        "Dry run: nothing was written to {}.",
        destination.display()
    )
}

/// 0 when all went well, else `problem` (3: some files failed; 4: the
/// backup itself has problems).
pub fn exit_code(ok: bool, problem: u8) -> ExitCode {
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(problem)
    }
}
