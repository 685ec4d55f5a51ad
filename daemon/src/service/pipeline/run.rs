//! Running one job and recording how it ended: done, cancelled, interrupted
//! by a removed drive, queued again (pause, shutdown, transient error), or
//! failed; with the counters its progress is read from.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use chrono::{DateTime, Utc};
use photovault_protocol::{JobInfo, JobProgress, JobState, JobSummary};

use photovault_protocol::{MirrorSummary, RestoreRequest, RestoreSummary, VerifySummary};

use super::{reason, Pipeline, StopReason};
use crate::config::{DestinationEntry, Mode, MAX_ATTEMPTS};
use crate::destination::Destination;
use crate::export::{self, ExportError, ExportOptions, ExportReport};
use crate::mirror::{self, MirrorError, MirrorOptions};
use crate::organize::OrganizeError;
use crate::restore::{self, RestoreError, RestoreOptions};
use crate::service::alerts::Alert;
use crate::service::state::{timestamp, StateError};
use crate::verify::{self, VerifyError};

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
    /// Files and bytes done so far (a job running the engine several times
    /// adds each run's totals to these).
    pub(super) fn done(&self) -> (u64, u64) {
        (
            self.files_done.load(Ordering::Relaxed),
            self.bytes_done.load(Ordering::Relaxed),
        )
    }

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
        let what = match work.job.kind.as_str() {
            super::VERIFY => "verifying",
            super::RESTORE => "restoring from",
            super::ORGANIZE => "organizing onto",
            _ => "backing up to",
        };
        let _awake = self
            .services
            .inhibitor
            .hold(&format!("{what} {}", work.dest.name));
        let result = match work.job.kind.as_str() {
            super::VERIFY => self.run_verify(&work),
            super::RESTORE => self.run_restore(&work),
            super::ORGANIZE => self.run_organize(&work),
            _ => self.run_backup(&work),
        };
        let stop = self.lock().running.get(&work.job.id).and_then(|r| r.stop);
        let outcome = self.outcome(&work, result, stop);
        if let Err(e) = self.record(&work, outcome) {
            tracing::error!(job = work.job.id, error = %e, "how a job ended could not be recorded");
        }
        self.lock().running.remove(&work.job.id);
        self.poke();
    }

    /// A backup: the export, then the mirror, as the destination's modes say.
    fn run_backup(&self, work: &Work) -> Result<Finished, JobError> {
        let config = self.config();
        let mut summary = JobSummary::default();
        let mut finished = Finished::default();
        if work.dest.modes.contains(&Mode::Export) {
            let options = ExportOptions {
                enrol: crate::destination::Enrol::Never,
                cancel: Some(work.cancel.clone()),
                ..ExportOptions::default()
            };
            let report = export::export(&work.library, &work.root, &options, &*work.counters)
                .map_err(JobError::Export)?;
            summary = summary_of(&report);
            finished.lines.push(summary_line(&report));
            finished.library = Some(photovault_protocol::LibraryInfo {
                path: work.library.display().to_string(),
                assets: Some(
                    report.counts.exported
                        + report.counts.updated
                        + report.counts.unchanged
                        + report.counts.missing
                        + report.counts.errors,
                ),
                missing_originals: Some(report.counts.missing),
                checked: Some(timestamp(Utc::now())),
                error: None,
            });
            for f in &report.failures {
                tracing::warn!(job = work.job.id, asset = %f.uuid, file = %f.filename, reason = %f.reason, "an asset could not be backed up");
            }
            finished.news = report.counts.bytes > 0 || report.counts.errors > 0;
        }
        if work.dest.modes.contains(&Mode::Mirror) {
            let allow_deletions = work
                .options
                .as_deref()
                .and_then(|o| serde_json::from_str::<BackupOptions>(o).ok())
                .is_some_and(|o| o.allow_deletions);
            let options = MirrorOptions {
                dry_run: false,
                enrol: crate::destination::Enrol::Never,
                allow_deletions,
                deletion_guard: f64::from(config.deletion_guard_percent) / 100.0,
                retention: config.retention(),
                cancel: Some(work.cancel.clone()),
            };
            let report = mirror::mirror(&work.library, &work.root, &options, &*work.counters)
                .map_err(JobError::Mirror)?;
            for e in &report.errors {
                tracing::warn!(job = work.job.id, file = %e.path, reason = %e.reason, "a library file could not be mirrored");
            }
            let m = MirrorSummary {
                new: report.new,
                changed: report.changed,
                unchanged: report.unchanged,
                deleted: report.deleted,
                errors: report.errors.len() as u64,
                bytes: report.bytes,
                pruned: report.pruned.folders.len() as u64,
            };
            finished.news |= m.new + m.changed + m.deleted + m.errors > 0;
            finished.lines.push(format!(
                "library mirrored ({} files copied, {} kept in Versions/{})",
                m.new + m.changed,
                m.changed + m.deleted,
                if m.errors > 0 {
                    format!(", {} could not be copied", m.errors)
                } else {
                    String::new()
                }
            ));
            summary.bytes += m.bytes;
            summary.seconds += report.seconds;
            summary.mirror = Some(m);
        }
        finished.summary = summary;
        Ok(finished)
    }

    /// A verify of the whole destination.
    fn run_verify(&self, work: &Work) -> Result<Finished, JobError> {
        let report = verify::verify(&work.root, Some(&work.cancel), &*work.counters)
            .map_err(JobError::Verify)?;
        let mut problems = Vec::new();
        for (kind, list) in [
            ("missing", &report.missing),
            ("changed", &report.changed),
            ("unexpected", &report.unexpected),
        ] {
            for p in list.iter().take(100) {
                tracing::warn!(job = work.job.id, file = %p.path, problem = kind, detail = %p.detail, "verify");
                problems.push(format!("{kind}: {}: {}", p.path, p.detail));
            }
        }
        let v = VerifySummary {
            checked: report.checked,
            bytes: report.bytes,
            missing: report.missing.len() as u64,
            changed: report.changed.len() as u64,
            unexpected: report.unexpected.len() as u64,
            problems,
        };
        let line = format!(
            "{} files checked: {} missing, {} damaged, {} unexpected",
            v.checked, v.missing, v.changed, v.unexpected
        );
        Ok(Finished {
            summary: JobSummary {
                seconds: report.seconds,
                verify: Some(v),
                ..JobSummary::default()
            },
            lines: vec![line],
            news: !report.clean(),
            library: None,
        })
    }

    /// A restore, with the options the request stored in the job.
    fn run_restore(&self, work: &Work) -> Result<Finished, JobError> {
        let request: RestoreRequest = work
            .options
            .as_deref()
            .and_then(|o| serde_json::from_str(o).ok())
            .ok_or_else(|| JobError::Options("the restore job has no options".into()))?;
        let at = request
            .at
            .as_deref()
            .map(restore::parse_at)
            .transpose()
            .map_err(JobError::Options)?;
        let options = RestoreOptions {
            at,
            force: request.force,
            export: request.export,
            years: request.years.clone(),
            albums: request.albums.clone(),
            package: request.library.clone(),
            dry_run: request.dry_run,
            cancel: Some(work.cancel.clone()),
        };
        let report = restore::restore(
            &work.root,
            std::path::Path::new(&request.to),
            &options,
            &*work.counters,
        )
        .map_err(JobError::Restore)?;
        let notes = |list: &[crate::verify::Problem]| {
            list.iter()
                .map(|p| format!("{}: {}", p.path, p.detail))
                .collect::<Vec<_>>()
        };
        let r = RestoreSummary {
            target: report.target.display().to_string(),
            source: report.source.clone(),
            run: report.run_started.map(crate::destination::run_stamp),
            dry_run: report.dry_run,
            files: report.files,
            bytes: report.bytes,
            unavailable: notes(&report.unavailable),
            damaged: notes(&report.damaged),
        };
        Ok(Finished {
            summary: JobSummary {
                bytes: report.bytes,
                seconds: report.seconds,
                restore: Some(r),
                ..JobSummary::default()
            },
            lines: vec![format!("{} files restored", report.files)],
            news: false,
            library: None,
        })
    }

    fn outcome(
        &self,
        work: &Work,
        result: Result<Finished, JobError>,
        stop: Option<StopReason>,
    ) -> Outcome {
        let drive_gone = || !Destination::is_destination(&work.root);
        match result {
            Ok(finished) => Outcome::Done(Box::new(finished)),
            Err(e) if e.cancelled() => match stop {
                Some(StopReason::Cancelled) => Outcome::Cancelled,
                Some(StopReason::DriveRemoved) => Outcome::DriveRemoved,
                Some(StopReason::Paused) => Outcome::Requeue("paused".into(), None),
                Some(StopReason::Shutdown) | None => Outcome::Requeue(
                    "photovaultd stopped during the job; it continues at the next start".into(),
                    None,
                ),
            },
            Err(_) if stop == Some(StopReason::DriveRemoved) || drive_gone() => {
                Outcome::DriveRemoved
            }
            Err(e) if e.transient() && work.job.attempts + 1 < MAX_ATTEMPTS => {
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
            Outcome::Done(finished) => {
                let summary = &finished.summary;
                self.state
                    .finish(id, JobState::Done, None, Some(summary), now)?;
                tracing::info!(
                    job = id,
                    kind = %work.job.kind,
                    destination = %name,
                    up_to_date = summary.up_to_date,
                    exported = summary.exported,
                    updated = summary.updated,
                    unchanged = summary.unchanged,
                    missing = summary.missing,
                    errors = summary.errors,
                    bytes = summary.bytes,
                    seconds = summary.seconds,
                    "{} finished: {}",
                    super::noun(&work.job.kind),
                    finished.lines.join("; ")
                );
                if let Some(info) = finished.library.clone() {
                    self.set_library(info);
                }
                let line = finished.lines.join("; ");
                match work.job.kind.as_str() {
                    super::VERIFY if finished.news => self
                        .services
                        .notifier
                        .notify(&Alert::verify_problems(name, &line)),
                    super::ORGANIZE if finished.news => self
                        .services
                        .notifier
                        .notify(&Alert::organized(name, &line)),
                    super::VERIFY | super::RESTORE | super::ORGANIZE => {}
                    // A background run after a library change that had
                    // nothing to write is not news; every other ending is.
                    _ if finished.news || work.job.reason != reason::LIBRARY_CHANGED => self
                        .services
                        .notifier
                        .notify(&Alert::backup_done(name, &line)),
                    _ => {}
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
                tracing::info!(job = id, destination = %name, "{} cancelled", super::noun(&work.job.kind));
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
                tracing::error!(job = id, destination = %name, error = %why, "{} failed", super::noun(&work.job.kind));
                if work.job.kind != super::RESTORE {
                    self.services
                        .notifier
                        .notify(&Alert::backup_failed(name, &why));
                }
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
    /// The job's options as the request stored them (JSON).
    pub(super) options: Option<String>,
}

/// The options a backup request may store with its job.
#[derive(Debug, Default, serde::Serialize, serde::Deserialize)]
pub(super) struct BackupOptions {
    /// Let the mirror proceed past the mass-deletion guard.
    #[serde(default)]
    pub(super) allow_deletions: bool,
}

/// What a job that ended well did.
#[derive(Default)]
pub(super) struct Finished {
    pub(super) summary: JobSummary,
    /// One phrase per engine, for the log and the notification.
    pub(super) lines: Vec<String>,
    /// Something a person would want to hear about happened.
    pub(super) news: bool,
    /// What the export learnt about the library.
    pub(super) library: Option<photovault_protocol::LibraryInfo>,
}

/// Why a job stopped.
#[derive(Debug, thiserror::Error)]
pub(super) enum JobError {
    #[error(transparent)]
    Export(ExportError),
    #[error(transparent)]
    Mirror(MirrorError),
    #[error(transparent)]
    Verify(VerifyError),
    #[error(transparent)]
    Restore(RestoreError),
    #[error(transparent)]
    Organize(OrganizeError),
    #[error("{0}")]
    Options(String),
}

impl JobError {
    /// Stopped on request (cancel, pause, shutdown, drive removal).
    fn cancelled(&self) -> bool {
        matches!(
            self,
            JobError::Export(ExportError::Cancelled)
                | JobError::Mirror(MirrorError::Cancelled)
                | JobError::Verify(VerifyError::Cancelled)
                | JobError::Restore(RestoreError::Cancelled)
                | JobError::Organize(OrganizeError::Cancelled)
        )
    }

    /// Worth trying again later: the library could not be read (Photos
    /// busy, a volume coming back).
    fn transient(&self) -> bool {
        matches!(
            self,
            JobError::Export(ExportError::Library(_))
                | JobError::Mirror(MirrorError::Source { .. })
        )
    }
}

enum Outcome {
    Done(Box<Finished>),
    Cancelled,
    DriveRemoved,
    Requeue(String, Option<DateTime<Utc>>),
    Failed(String),
}

fn summary_of(r: &ExportReport) -> JobSummary {
    JobSummary {
        mirror: None,
        verify: None,
        restore: None,
        organize: None,
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
