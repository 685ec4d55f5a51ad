//! Running one job and recording how it ended: done, cancelled, interrupted
//! by a removed drive, queued again (pause, shutdown, transient error), or
//! failed; with the counters its progress is read from.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use chrono::{DateTime, Utc};
use photovault_protocol::{JobInfo, JobProgress, JobState, JobSummary};

use super::{reason, Pipeline, StopReason};
use crate::config::{DestinationEntry, MAX_ATTEMPTS};
use crate::destination::Destination;
use crate::export::{self, ExportError, ExportOptions, ExportReport};
use crate::service::alerts::Alert;
use crate::service::state::{timestamp, StateError};

/// Live counters of a running job, written by the engine's progress calls.
#[derive(Default)]
pub struct Counters {
    files_total: AtomicU64,
    bytes_total: AtomicU64,
    files_done: AtomicU64,
    bytes_done: AtomicU64,
    started: Mutex<Option<Instant>>,
}

impl export::Progress for Counters {
    fn start(&self, files: u64, bytes: u64) {
        self.files_total.store(files, Ordering::Relaxed);
        self.bytes_total.store(bytes, Ordering::Relaxed);
        *self.started.lock().unwrap_or_else(|e| e.into_inner()) = Some(Instant::now());
    }
    fn file_done(&self, bytes: u64) {
        self.files_done.fetch_add(1, Ordering::Relaxed);
        self.bytes_done.fetch_add(bytes, Ordering::Relaxed);
    }
    fn finish(&self) {}
}

impl Counters {
    pub(super) fn snapshot(&self) -> JobProgress {
        let bytes_done = self.bytes_done.load(Ordering::Relaxed);
        let bytes_total = self.bytes_total.load(Ordering::Relaxed);
        let elapsed = self
            .started
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .map(|s| s.elapsed().as_secs_f64());
        let eta_seconds = match elapsed {
            Some(t) if t > 1.0 && bytes_done > 0 && bytes_total >= bytes_done => {
                Some(((bytes_total - bytes_done) as f64 / (bytes_done as f64 / t)) as u64)
            }
            _ => None,
        };
        JobProgress {
            files_done: self.files_done.load(Ordering::Relaxed),
            files_total: self.files_total.load(Ordering::Relaxed),
            bytes_done,
            bytes_total,
            eta_seconds,
        }
    }
}

impl Pipeline {
    /// Runs one job on a blocking thread and records how it ended.
    pub(super) fn run(&self, work: Work) {
        let _awake = self
            .services
            .inhibitor
            .hold(&format!("backing up to {}", work.dest.name));
        let options = ExportOptions {
            enrol: crate::destination::Enrol::Never,
            cancel: Some(work.cancel.clone()),
            ..ExportOptions::default()
        };
        let result = export::export(&work.library, &work.root, &options, &*work.counters);
        let stop = self.lock().running.get(&work.job.id).and_then(|r| r.stop);
        let outcome = self.outcome(&work, result, stop);
        if let Err(e) = self.record(&work, outcome) {
            tracing::error!(job = work.job.id, error = %e, "how a job ended could not be recorded");
        }
        self.lock().running.remove(&work.job.id);
        self.poke();
    }

    fn outcome(
        &self,
        work: &Work,
        result: Result<ExportReport, ExportError>,
        stop: Option<StopReason>,
    ) -> Outcome {
        let drive_gone = || !Destination::is_destination(&work.root);
        match result {
            Ok(report) => Outcome::Done(report),
            Err(ExportError::Cancelled) => match stop {
                Some(StopReason::Cancelled) => Outcome::Cancelled,
                Some(StopReason::DriveRemoved) => Outcome::DriveRemoved,
                Some(StopReason::Paused) => Outcome::Requeue("paused".into(), None),
                Some(StopReason::Shutdown) | None => Outcome::Requeue(
                    "photovaultd stopped during the backup; it continues at the next start".into(),
                    None,
                ),
            },
            Err(_) if stop == Some(StopReason::DriveRemoved) || drive_gone() => {
                Outcome::DriveRemoved
            }
            Err(e @ ExportError::Library(_)) if work.job.attempts + 1 < MAX_ATTEMPTS => {
                let base = self.lock().config.retry_seconds;
                let wait = base.saturating_mul(1 << work.job.attempts.min(16));
                Outcome::Requeue(
                    format!("{e} (trying again in {wait} s)"),
                    Some(Utc::now() + chrono::Duration::seconds(wait as i64)),
                )
            }
            Err(e) => Outcome::Failed(e.to_string()),
        }
    }

    fn record(&self, work: &Work, outcome: Outcome) -> Result<(), StateError> {
        let now = Utc::now();
        let id = work.job.id;
        let name = &work.dest.name;
        match outcome {
            Outcome::Done(report) => {
                let summary = summary_of(&report);
                self.state
                    .finish(id, JobState::Done, None, Some(&summary), now)?;
                tracing::info!(
                    job = id,
                    destination = %name,
                    up_to_date = report.up_to_date,
                    exported = report.counts.exported,
                    updated = report.counts.updated,
                    unchanged = report.counts.unchanged,
                    missing = report.counts.missing,
                    errors = report.counts.errors,
                    bytes = report.counts.bytes,
                    seconds = report.seconds,
                    "backup finished"
                );
                for f in &report.failures {
                    tracing::warn!(job = id, asset = %f.uuid, file = %f.filename, reason = %f.reason, "an asset could not be backed up");
                }
                self.set_library(photovault_protocol::LibraryInfo {
                    path: work.library.display().to_string(),
                    assets: Some(
                        report.counts.exported
                            + report.counts.updated
                            + report.counts.unchanged
                            + report.counts.missing
                            + report.counts.errors,
                    ),
                    missing_originals: Some(report.counts.missing),
                    checked: Some(timestamp(now)),
                    error: None,
                });
                // A background run after a library change that had nothing
                // to write is not news; every other ending is.
                if report.counts.bytes > 0
                    || report.counts.errors > 0
                    || work.job.reason != reason::LIBRARY_CHANGED
                {
                    self.services
                        .notifier
                        .notify(&Alert::backup_done(name, &summary_line(&report)));
                }
            }
            Outcome::Cancelled => {
                self.state.finish(
                    id,
                    JobState::Cancelled,
                    Some("cancelled by the user"),
                    None,
                    now,
                )?;
                tracing::info!(job = id, destination = %name, "backup cancelled");
            }
            Outcome::DriveRemoved => {
                // Forget the mount and scan again: if the drive is already
                // back (a quick unplug and replug that one scan did not
                // see), the scan finds it "appeared" and queues the job again.
                self.lock().mounts.remove(&work.dest.id);
                if let Some(tx) = &*self.rescan.lock().unwrap_or_else(|e| e.into_inner()) {
                    let _ = tx.send(());
                }
                let why = "drive removed";
                self.state
                    .finish(id, JobState::Interrupted, Some(why), None, now)?;
                tracing::warn!(job = id, destination = %name, "backup interrupted: drive removed; it runs again when the drive is connected");
                self.services.notifier.notify(&Alert::backup_failed(
                    name,
                    "the drive was removed. It will continue when you connect it again",
                ));
            }
            Outcome::Requeue(why, retry_at) => {
                self.state.requeue(id, Some(&why), retry_at)?;
                tracing::info!(job = id, destination = %name, reason = %why, "backup queued again");
            }
            Outcome::Failed(why) => {
                self.state
                    .finish(id, JobState::Failed, Some(&why), None, now)?;
                tracing::error!(job = id, destination = %name, error = %why, "backup failed");
                self.services
                    .notifier
                    .notify(&Alert::backup_failed(name, &why));
            }
        }
        Ok(())
    }
}

pub(super) struct Work {
    pub(super) job: JobInfo,
    pub(super) dest: DestinationEntry,
    pub(super) root: std::path::PathBuf,
    pub(super) library: std::path::PathBuf,
    pub(super) cancel: Arc<AtomicBool>,
    pub(super) counters: Arc<Counters>,
}

enum Outcome {
    Done(ExportReport),
    Cancelled,
    DriveRemoved,
    Requeue(String, Option<DateTime<Utc>>),
    Failed(String),
}

fn summary_of(r: &ExportReport) -> JobSummary {
    JobSummary {
        up_to_date: r.up_to_date,
        exported: r.counts.exported,
        updated: r.counts.updated,
        unchanged: r.counts.unchanged,
        missing: r.counts.missing,
        errors: r.counts.errors,
        gone: r.counts.gone,
        bytes: r.counts.bytes,
        seconds: r.seconds,
    }
}

/// "12 new, 3 updated, 1.2 GB written" for a notification.
fn summary_line(r: &ExportReport) -> String {
    let mut parts = Vec::new();
    if r.counts.exported > 0 {
        parts.push(format!("{} new", r.counts.exported));
    }
    if r.counts.updated > 0 {
        parts.push(format!("{} updated", r.counts.updated));
    }
    parts.push(format!("{:.1} MB written", r.counts.bytes as f64 / 1e6));
    if r.counts.errors > 0 {
        parts.push(format!(
            "{} could not be copied (see `photovaultctl logs`)",
            r.counts.errors
        ));
    }
    parts.join(", ")
}
