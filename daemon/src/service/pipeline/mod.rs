//! The job pipeline: a persistent queue, one running job per destination,
//! jobs for different drives side by side.
//!
//! Jobs live in the state database; this module decides when each starts
//! and records how it ended. A job that stops early says why: cancelled by
//! the user (cancelled), drive removed (interrupted: the next mount queues
//! it again), paused or daemon stopping (queued again), a transient error
//! (queued again after a growing wait, up to [`MAX_ATTEMPTS`](crate::config::MAX_ATTEMPTS) starts).

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use photovault_protocol::{JobInfo, JobState};

mod organize_job;
mod requests;
mod run;

use super::alerts::Notifier;
use super::power::SleepInhibitor;
use super::state::{StateDb, StateError};
use super::volumes::Mount;
use crate::config::{Config, DestinationEntry};
use run::{Counters, Work};

/// A backup job: the export and/or the mirror, as the destination's modes
/// say (stored as "export", its name before the mirror existed).
pub const EXPORT: &str = "export";
/// A verify job: re-hash everything on the destination.
pub const VERIFY: &str = "verify";
/// A restore job: copy from the destination to a folder of the user's.
pub const RESTORE: &str = "restore";
/// An organize job: every `[[source]]` folder that goes to the destination,
/// organized onto it.
pub const ORGANIZE: &str = "organize";

/// Why a job was queued (shown to the user, stored with the job).
pub mod reason {
    /// An enrolled drive was connected (or found at start).
    pub const DRIVE_CONNECTED: &str = "drive connected";
    /// The library was quiet for `debounce_seconds` after a change.
    pub const LIBRARY_CHANGED: &str = "library changed";
    /// The user asked (`photovaultctl backup`, `verify`, `restore`).
    pub const REQUESTED: &str = "requested";
    /// The destination's last verify is older than `verify_days`.
    pub const VERIFY_DUE: &str = "verify due";
    /// A source folder got new files, which then stopped growing.
    pub const SOURCE_CHANGED: &str = "new files in a source";
    /// An organize job left files that were still being written.
    pub const STILL_WRITING: &str = "files that were still being written";
}

/// What people call a job of `kind` ("backup" for the export kind).
pub fn noun(kind: &str) -> &str {
    match kind {
        EXPORT => "backup",
        other => other,
    }
}

/// Why a running job was asked to stop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum StopReason {
    Cancelled,
    DriveRemoved,
    Paused,
    Shutdown,
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

    /// Records what the volume scan found: stops the jobs of destinations
    /// that went away, and queues a backup of each one that appeared.
    pub fn set_mounts(&self, mounts: HashMap<String, Mount>) {
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
        for (id, mount) in mounts.iter().filter(|(id, _)| appeared.contains(*id)) {
            tracing::info!(destination = %id, path = %mount.root.display(), "destination connected");
            if let Some(why) = &mount.refused {
                tracing::warn!(destination = %id, reason = %why, "not backing up to this volume");
            }
        }
        inner.mounts = mounts;
        drop(inner);
        self.poke();
        if let Err(e) = self.enqueue_exporting(reason::DRIVE_CONNECTED, Some(&appeared)) {
            tracing::error!(error = %e, "cannot queue a backup of a connected drive");
        }
        if let Err(e) = self.enqueue_organizing(reason::DRIVE_CONNECTED, Some(&appeared)) {
            tracing::error!(error = %e, "cannot queue organizing onto a connected drive");
        }
        if let Err(e) = self.enqueue_due_verifies() {
            tracing::error!(error = %e, "cannot queue a verify of a connected drive");
        }
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
        // Drives that stay connected still get their periodic verify.
        let mut verifies_checked = Instant::now();
        loop {
            if verifies_checked.elapsed() >= Duration::from_secs(3600) {
                verifies_checked = Instant::now();
                if let Err(e) = self.enqueue_due_verifies() {
                    tracing::error!(error = %e, "cannot queue the periodic verify");
                }
            }
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
            let writes = job.kind == EXPORT || job.kind == ORGANIZE;
            let root = match inner.mounts.get(&dest.id) {
                None => Err("waiting for the drive to be connected".to_string()),
                Some(Mount {
                    refused: Some(why), ..
                }) if writes => Err(why.clone()),
                Some(m) => Ok(m.root.clone()),
            };
            let root = match root {
                Ok(root) => root,
                Err(note) => {
                    drop(inner);
                    if job.error.as_deref() != Some(note.as_str()) {
                        self.state.note(job.id, Some(&note))?;
                    }
                    continue;
                }
            };
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
            let options = self.state.options(job.id)?;
            self.state.start(job.id, now)?;
            tracing::info!(job = job.id, destination = %dest.name, path = %root.display(), "{} started", noun(&job.kind));
            let this = self.clone();
            let work = Work {
                job: job.clone(),
                dest,
                root,
                library,
                cancel,
                counters,
                options,
            };
            tokio::task::spawn_blocking(move || this.run(work));
            self.poke();
        }
        Ok(next)
    }
}
