//! The job pipeline: a persistent queue, one running job per destination,
//! jobs for different drives side by side.
//!
//! Jobs live in the state database; this module decides when each starts
//! and records how it ended. A job that stops early says why: cancelled by
//! the user (cancelled), drive removed (interrupted: the next mount queues
//! it again), paused or daemon stopping (queued again), a transient error
//! (queued again after a growing wait, up to [`MAX_ATTEMPTS`] starts).

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use photovault_protocol::{JobInfo, JobProgress, JobState, JobSummary};

use super::alerts::{Alert, Notifier};
use super::power::SleepInhibitor;
use super::state::{StateDb, StateError};
use super::volumes::Mount;
use crate::config::{Config, DestinationEntry, Mode, MAX_ATTEMPTS};
use crate::destination::Destination;
use crate::export::{self, ExportError, ExportOptions, ExportReport};

/// The only job kind so far; mirror, organize and verify will join it.
pub const EXPORT: &str = "export";

/// Why a running job was asked to stop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum StopReason {
    Cancelled,
    DriveRemoved,
    Paused,
    Shutdown,
}

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
    fn snapshot(&self) -> JobProgress {
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

struct Running {
    destination_id: String,
    cancel: Arc<AtomicBool>,
    stop: Option<StopReason>,
    counters: Arc<Counters>,
}

struct Inner {
    config: Arc<Config>,
    mounts: HashMap<String, Mount>,
    running: HashMap<i64, Running>,
    paused: bool,
    stopping: bool,
    library: photovault_protocol::LibraryInfo,
}

/// What the pipeline needs from the rest of the daemon.
pub struct Services {
    /// Keeps the machine awake while a job runs.
    pub inhibitor: Arc<dyn SleepInhibitor>,
    /// Tells the user how a backup ended.
    pub notifier: Arc<dyn Notifier>,
}

/// The queue and the running jobs.
pub struct Pipeline {
    state: Arc<StateDb>,
    inner: Mutex<Inner>,
    wake: tokio::sync::Notify,
    changed: tokio::sync::watch::Sender<u64>,
    services: Services,
    rescan: Mutex<Option<tokio::sync::mpsc::UnboundedSender<()>>>,
}

/// Why a request to the pipeline failed, in words for the user.
#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    /// No destination of that name or id.
    #[error("no destination is called {0:?}; `photovaultctl dest list` shows the enrolled ones")]
    UnknownDestination(String),
    /// No job with that id.
    #[error("there is no job {0}; `photovaultctl jobs` lists the queued and running ones")]
    UnknownJob(i64),
    /// The job has already ended.
    #[error("job {0} has already ended")]
    Ended(i64),
    /// The destination is not mounted.
    #[error("{0} is not connected; connect its drive and its backup starts by itself")]
    NotMounted(String),
    /// Nothing is mounted.
    #[error("no backup drive is connected; connect one and its backup starts by itself")]
    NothingMounted,
    /// The destination is mounted but must not be written to.
    #[error("{0}")]
    Refused(String),
    /// The daemon is stopping.
    #[error("photovaultd is stopping; start it again to queue jobs")]
    Stopping,
    /// The state database failed.
    #[error(transparent)]
    State(#[from] StateError),
}

impl Pipeline {
    /// A pipeline over `state`, resuming jobs a stopped daemon left running.
    pub fn new(
        state: Arc<StateDb>,
        config: Arc<Config>,
        services: Services,
    ) -> Result<Arc<Self>, StateError> {
        let resumed = state.requeue_running("resumed after photovaultd restarted")?;
        if resumed > 0 {
            tracing::info!(
                jobs = resumed,
                "resuming jobs that were running when photovaultd stopped"
            );
        }
        let library = photovault_protocol::LibraryInfo {
            path: config.library.display().to_string(),
            assets: None,
            missing_originals: None,
            checked: None,
            error: None,
        };
        Ok(Arc::new(Pipeline {
            state,
            inner: Mutex::new(Inner {
                config,
                mounts: HashMap::new(),
                running: HashMap::new(),
                paused: false,
                stopping: false,
                library,
            }),
            wake: tokio::sync::Notify::new(),
            changed: tokio::sync::watch::channel(0).0,
            services,
            rescan: Mutex::new(None),
        }))
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Tells watchers (status streams) that something changed, and the
    /// scheduler to look at the queue.
    fn poke(&self) {
        self.changed.send_modify(|n| *n += 1);
        self.wake.notify_one();
    }

    /// A receiver that changes whenever a job, a mount or a setting does.
    pub fn subscribe(&self) -> tokio::sync::watch::Receiver<u64> {
        self.changed.subscribe()
    }

    /// Where to ask for a volume scan (when a job finds its drive gone).
    pub fn set_rescan(&self, tx: tokio::sync::mpsc::UnboundedSender<()>) {
        *self.rescan.lock().unwrap_or_else(|e| e.into_inner()) = Some(tx);
    }

    /// The state database.
    pub fn state(&self) -> &StateDb {
        &self.state
    }

    /// The configuration in force.
    pub fn config(&self) -> Arc<Config> {
        self.lock().config.clone()
    }

    /// Replaces the configuration (after `dest add`, `dest remove`, reload).
    pub fn set_config(&self, config: Arc<Config>) {
        self.lock().config = config;
        self.poke();
    }

    /// The destination called `name_or_id`.
    pub fn destination(&self, name_or_id: &str) -> Result<DestinationEntry, PipelineError> {
        self.lock()
            .config
            .destinations
            .iter()
            .find(|d| d.id == name_or_id || d.name.eq_ignore_ascii_case(name_or_id))
            .cloned()
            .ok_or_else(|| PipelineError::UnknownDestination(name_or_id.to_string()))
    }

    /// The mounted destinations, by id.
    pub fn mounts(&self) -> HashMap<String, Mount> {
        self.lock().mounts.clone()
    }

    /// Records what the volume scan found; stops the jobs of destinations
    /// that went away, and returns the ids that appeared.
    pub fn set_mounts(&self, mounts: HashMap<String, Mount>) -> Vec<String> {
        let mut inner = self.lock();
        let appeared: Vec<String> = mounts
            .keys()
            .filter(|id| !inner.mounts.contains_key(*id))
            .cloned()
            .collect();
        for (id, running) in inner.running.iter_mut() {
            if !mounts.contains_key(&running.destination_id) && running.stop.is_none() {
                tracing::warn!(
                    job = id,
                    "the drive of a running job was removed; stopping it"
                );
                running.stop = Some(StopReason::DriveRemoved);
                running.cancel.store(true, Ordering::Relaxed);
            }
        }
        for id in inner.mounts.keys().filter(|id| !mounts.contains_key(*id)) {
            tracing::info!(destination = %id, "destination disconnected");
        }
        for id in &appeared {
            tracing::info!(destination = %id, path = %mounts[id].root.display(), "destination connected");
        }
        inner.mounts = mounts;
        drop(inner);
        self.poke();
        appeared
    }

    /// Queues a backup of `dest` (joining a queued one), for `reason`.
    pub fn enqueue(&self, dest: &DestinationEntry, reason: &str) -> Result<JobInfo, PipelineError> {
        if self.lock().stopping {
            return Err(PipelineError::Stopping);
        }
        if let Some(job) = self.state.queued(EXPORT, &dest.id)? {
            return Ok(job);
        }
        let job = self
            .state
            .insert(EXPORT, &dest.id, &dest.name, reason, Utc::now())?;
        tracing::info!(job = job.id, destination = %dest.name, reason, "backup queued");
        self.poke();
        Ok(job)
    }

    /// Queues a backup of every mounted destination that exports, for
    /// `reason`; the jobs queued (or joined).
    pub fn enqueue_mounted(&self, reason: &str) -> Result<Vec<JobInfo>, PipelineError> {
        let (config, mounts) = {
            let inner = self.lock();
            (inner.config.clone(), inner.mounts.clone())
        };
        let mut jobs = Vec::new();
        for dest in &config.destinations {
            match mounts.get(&dest.id) {
                Some(m) if m.refused.is_none() && dest.modes.contains(&Mode::Export) => {
                    jobs.push(self.enqueue(dest, reason)?);
                }
                _ => {}
            }
        }
        Ok(jobs)
    }

    /// Queues a backup of `dest` at the user's request: it must be mounted
    /// and writable.
    pub fn request(&self, name_or_id: &str) -> Result<JobInfo, PipelineError> {
        let dest = self.destination(name_or_id)?;
        match self.lock().mounts.get(&dest.id) {
            None => return Err(PipelineError::NotMounted(dest.name.clone())),
            Some(Mount {
                refused: Some(why), ..
            }) => return Err(PipelineError::Refused(why.clone())),
            Some(_) => {}
        }
        self.enqueue(&dest, "requested")
    }

    /// A job with the progress of its run, if running.
    pub fn job(&self, id: i64) -> Result<Option<JobInfo>, PipelineError> {
        Ok(self.state.job(id)?.map(|j| self.with_progress(j)))
    }

    /// Queued and running jobs, with progress.
    pub fn active(&self) -> Result<Vec<JobInfo>, PipelineError> {
        Ok(self
            .state
            .active()?
            .into_iter()
            .map(|j| self.with_progress(j))
            .collect())
    }

    fn with_progress(&self, mut job: JobInfo) -> JobInfo {
        if job.state == JobState::Running {
            if let Some(r) = self.lock().running.get(&job.id) {
                job.progress = Some(r.counters.snapshot());
            }
        }
        job
    }

    /// Cancels a queued or running job.
    pub fn cancel(&self, id: i64) -> Result<JobInfo, PipelineError> {
        let job = self.state.job(id)?.ok_or(PipelineError::UnknownJob(id))?;
        match job.state {
            JobState::Queued => {
                self.state.finish(
                    id,
                    JobState::Cancelled,
                    Some("cancelled by the user"),
                    None,
                    Utc::now(),
                )?;
            }
            JobState::Running => {
                if let Some(r) = self.lock().running.get_mut(&id) {
                    r.stop = Some(StopReason::Cancelled);
                    r.cancel.store(true, Ordering::Relaxed);
                }
            }
            _ => return Err(PipelineError::Ended(id)),
        }
        tracing::info!(job = id, "job cancelled by the user");
        self.poke();
        Ok(self.job(id)?.unwrap_or(job))
    }

    /// Stops running jobs (queued again) and starts none until resumed.
    pub fn pause(&self) {
        let mut inner = self.lock();
        inner.paused = true;
        for r in inner.running.values_mut() {
            r.stop.get_or_insert(StopReason::Paused);
            r.cancel.store(true, Ordering::Relaxed);
        }
        drop(inner);
        tracing::info!("paused: no job starts until resumed");
        self.poke();
    }

    /// Lets jobs start again.
    pub fn resume(&self) {
        self.lock().paused = false;
        tracing::info!("resumed");
        self.poke();
    }

    /// Whether paused.
    pub fn paused(&self) -> bool {
        self.lock().paused
    }

    /// The library as last seen.
    pub fn library(&self) -> photovault_protocol::LibraryInfo {
        self.lock().library.clone()
    }

    /// Records what a look at the library found.
    pub fn set_library(&self, info: photovault_protocol::LibraryInfo) {
        self.lock().library = info;
        self.poke();
    }

    /// Stops taking jobs, asks running ones to stop between two files, and
    /// waits up to `limit` for them to record how far they got.
    pub async fn shutdown(&self, limit: Duration) {
        {
            let mut inner = self.lock();
            inner.stopping = true;
            for r in inner.running.values_mut() {
                r.stop.get_or_insert(StopReason::Shutdown);
                r.cancel.store(true, Ordering::Relaxed);
            }
        }
        self.poke();
        let deadline = Instant::now() + limit;
        while !self.lock().running.is_empty() && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Runs the scheduler until shutdown: starts every job that may start,
    /// then sleeps until something changes or a retry falls due.
    pub async fn run_scheduler(self: Arc<Self>) {
        loop {
            let next = match self.start_ready() {
                Ok(next) => next,
                Err(e) => {
                    tracing::error!(error = %e, "the job queue could not be read");
                    Some(Duration::from_secs(10))
                }
            };
            if self.lock().stopping {
                return;
            }
            let wait = next.unwrap_or(Duration::from_secs(3600));
            tokio::select! {
                _ = self.wake.notified() => {}
                _ = tokio::time::sleep(wait) => {}
            }
        }
    }

    /// Starts what can start; returns how long until a waiting retry is due.
    fn start_ready(self: &Arc<Self>) -> Result<Option<Duration>, PipelineError> {
        let queued = self.state.active()?;
        let now = Utc::now();
        let mut next: Option<Duration> = None;
        for job in queued.into_iter().filter(|j| j.state == JobState::Queued) {
            let mut inner = self.lock();
            if inner.paused || inner.stopping {
                return Ok(None);
            }
            let Some(dest) = inner
                .config
                .destinations
                .iter()
                .find(|d| d.id == job.destination_id)
                .cloned()
            else {
                drop(inner);
                self.state.finish(
                    job.id,
                    JobState::Cancelled,
                    Some("the destination is no longer enrolled"),
                    None,
                    now,
                )?;
                continue;
            };
            let note = match inner.mounts.get(&dest.id) {
                None => Some("waiting for the drive to be connected".to_string()),
                Some(Mount {
                    refused: Some(why), ..
                }) => Some(why.clone()),
                Some(_) => None,
            };
            if let Some(note) = note {
                drop(inner);
                if job.error.as_deref() != Some(note.as_str()) {
                    self.state.note(job.id, Some(&note))?;
                }
                continue;
            }
            if inner.running.values().any(|r| r.destination_id == dest.id) {
                continue;
            }
            if let Some(at) = job
                .retry_at
                .as_deref()
                .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
            {
                let at = at.with_timezone(&Utc);
                if at > now {
                    let wait = (at - now).to_std().unwrap_or_default();
                    next = Some(next.map_or(wait, |n| n.min(wait)));
                    continue;
                }
            }
            let root = inner.mounts[&dest.id].root.clone();
            let cancel = Arc::new(AtomicBool::new(false));
            let counters = Arc::new(Counters::default());
            inner.running.insert(
                job.id,
                Running {
                    destination_id: dest.id.clone(),
                    cancel: cancel.clone(),
                    stop: None,
                    counters: counters.clone(),
                },
            );
            let library = inner.config.library.clone();
            drop(inner);
            self.state.start(job.id, now)?;
            tracing::info!(job = job.id, destination = %dest.name, path = %root.display(), "backup started");
            let this = self.clone();
            let work = Work {
                job: job.clone(),
                dest,
                root,
                library,
                cancel,
                counters,
            };
            tokio::task::spawn_blocking(move || this.run(work));
            self.poke();
        }
        Ok(next)
    }

    /// Runs one job on a blocking thread and records how it ended.
    fn run(&self, work: Work) {
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
                    checked: Some(super::state::timestamp(now)),
                    error: None,
                });
                if report.counts.bytes > 0 || report.counts.errors > 0 {
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

struct Work {
    job: JobInfo,
    dest: DestinationEntry,
    root: std::path::PathBuf,
    library: std::path::PathBuf,
    cancel: Arc<AtomicBool>,
    counters: Arc<Counters>,
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
