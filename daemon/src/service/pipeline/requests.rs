//! Putting jobs in the queue: backups, organize, verify and restore jobs,
//! for the events the daemon sees and the requests of the user. A request
//! for work already queued joins it.

use chrono::{DateTime, Utc};
use photovault_protocol::JobInfo;

use super::{reason, run, Pipeline, PipelineError, EXPORT, ORGANIZE, RESTORE, VERIFY};
use crate::config::{Config, DestinationEntry, Mode};
use crate::service::volumes::Mount;

impl Pipeline {
    /// Queues a backup of `dest` (joining a queued one), for `reason`.
    pub fn enqueue(&self, dest: &DestinationEntry, reason: &str) -> Result<JobInfo, PipelineError> {
        self.enqueue_kind(EXPORT, dest, reason)
    }

    /// Queues a job of `kind` for `dest`, joining a queued one of that kind.
    pub(super) fn enqueue_kind(
        &self,
        kind: &str,
        dest: &DestinationEntry,
        reason: &str,
    ) -> Result<JobInfo, PipelineError> {
        if self.lock().stopping {
            return Err(PipelineError::Stopping);
        }
        if let Some(job) = self.state.queued(kind, &dest.id)? {
            return Ok(job);
        }
        let job = self
            .state
            .insert(kind, &dest.id, &dest.name, reason, Utc::now())?;
        tracing::info!(job = job.id, kind, destination = %dest.name, reason, "job queued");
        self.poke();
        Ok(job)
    }

    /// Queues a job of `kind` for `dest` to start no earlier than `at`
    /// (joining a queued one, which then waits too).
    pub(super) fn enqueue_later(
        &self,
        kind: &str,
        dest: &DestinationEntry,
        reason: &str,
        at: DateTime<Utc>,
    ) -> Result<JobInfo, PipelineError> {
        let job = self.enqueue_kind(kind, dest, reason)?;
        self.state.requeue(job.id, Some(reason), Some(at))?;
        self.poke();
        Ok(job)
    }

    /// Queues a verify of every mounted destination whose last verify
    /// ended more than `verify_days` ago (or never ran), after any backup
    /// already queued for it.
    pub fn enqueue_due_verifies(&self) -> Result<Vec<JobInfo>, PipelineError> {
        let (config, mounts) = {
            let inner = self.lock();
            (inner.config.clone(), inner.mounts.clone())
        };
        if config.verify_days == 0 {
            return Ok(Vec::new());
        }
        let due_before = Utc::now() - chrono::Duration::days(i64::from(config.verify_days));
        let mut jobs = Vec::new();
        for dest in &config.destinations {
            if mounts.get(&dest.id).is_none_or(|m| m.refused.is_some()) {
                continue;
            }
            // The clock starts at the last verify or, before any, at the
            // first backup (which hashed everything it wrote); a drive
            // never backed up has nothing to verify yet.
            let since = match self.state.last_ended(VERIFY, &dest.id)? {
                Some(job) => job.ended,
                None => self.state.first_success(&dest.id)?,
            };
            let due = since
                .and_then(|t| DateTime::parse_from_rfc3339(&t).ok())
                .is_some_and(|t| t.with_timezone(&Utc) < due_before);
            if due {
                jobs.push(self.enqueue_kind(VERIFY, dest, reason::VERIFY_DUE)?);
            }
        }
        Ok(jobs)
    }

    /// Queues a backup of every mounted destination that exports, for
    /// `reason`; the jobs queued (or joined).
    pub fn enqueue_mounted(&self, reason: &str) -> Result<Vec<JobInfo>, PipelineError> {
        let mut jobs = self.enqueue_exporting(reason, None)?;
        jobs.extend(self.enqueue_organizing(reason, None)?);
        Ok(jobs)
    }

    /// Queues a backup of every mounted, writable destination that exports
    /// or mirrors (of those in `only`, when given).
    pub(super) fn enqueue_exporting(
        &self,
        reason: &str,
        only: Option<&[String]>,
    ) -> Result<Vec<JobInfo>, PipelineError> {
        self.enqueue_on_mounted(EXPORT, reason, only, |_, dest| backs_up(dest))
    }

    /// Queues an organize job for every mounted, writable destination that
    /// some `[[source]]` goes to (of those in `only`, when given).
    pub fn enqueue_organizing(
        &self,
        reason: &str,
        only: Option<&[String]>,
    ) -> Result<Vec<JobInfo>, PipelineError> {
        self.enqueue_on_mounted(ORGANIZE, reason, only, organizes)
    }

    /// Queues a job of `kind` for every mounted, writable destination
    /// (of those in `only`) that `wants` it.
    fn enqueue_on_mounted(
        &self,
        kind: &str,
        reason: &str,
        only: Option<&[String]>,
        wants: impl Fn(&Config, &DestinationEntry) -> bool,
    ) -> Result<Vec<JobInfo>, PipelineError> {
        let (config, mounts) = {
            let inner = self.lock();
            (inner.config.clone(), inner.mounts.clone())
        };
        let mut jobs = Vec::new();
        for dest in &config.destinations {
            let chosen = only.is_none_or(|ids| ids.contains(&dest.id));
            let writable = mounts.get(&dest.id).is_some_and(|m| m.refused.is_none());
            if chosen && writable && wants(&config, dest) {
                jobs.push(self.enqueue_kind(kind, dest, reason)?);
            }
        }
        Ok(jobs)
    }

    /// Queues what `dest` does, at the user's request: its backup (export
    /// and/or mirror) and, when folders go to it, its organize job. It must
    /// be mounted and writable. `allow_deletions` lets its mirror pass the
    /// mass-deletion guard (also when joining a queued backup).
    pub fn request(
        &self,
        name_or_id: &str,
        allow_deletions: bool,
    ) -> Result<Vec<JobInfo>, PipelineError> {
        let dest = self.mounted(name_or_id, true)?;
        let mut jobs = Vec::new();
        if backs_up(&dest) {
            jobs.push(self.request_backup(&dest, allow_deletions)?);
        }
        if organizes(&self.config(), &dest) {
            jobs.push(self.enqueue_kind(ORGANIZE, &dest, reason::REQUESTED)?);
        }
        if jobs.is_empty() {
            return Err(PipelineError::Refused(format!(
                "{} has nothing to do: its mode is organize and no [[source]] goes to it; add one to the configuration",
                dest.name
            )));
        }
        Ok(jobs)
    }

    /// Queues a backup of `dest` for the user, storing `allow_deletions`
    /// with it.
    fn request_backup(
        &self,
        dest: &DestinationEntry,
        allow_deletions: bool,
    ) -> Result<JobInfo, PipelineError> {
        let job = self.enqueue(dest, reason::REQUESTED)?;
        if allow_deletions {
            let options = run::BackupOptions {
                allow_deletions: true,
            };
            let json = serde_json::to_string(&options).unwrap_or_default();
            self.state.set_options(job.id, &json)?;
        }
        Ok(job)
    }

    /// Queues a verify of `dest` at the user's request (a read-only drive
    /// can be verified).
    pub fn request_verify(&self, name_or_id: &str) -> Result<JobInfo, PipelineError> {
        let dest = self.mounted(name_or_id, false)?;
        self.enqueue_kind(VERIFY, &dest, reason::REQUESTED)
    }

    /// Queues a restore from `dest` (never joined with another: each has
    /// its own target).
    pub fn request_restore(
        &self,
        name_or_id: &str,
        options: &photovault_protocol::RestoreRequest,
    ) -> Result<JobInfo, PipelineError> {
        let dest = self.mounted(name_or_id, false)?;
        if self.lock().stopping {
            return Err(PipelineError::Stopping);
        }
        let job =
            self.state
                .insert(RESTORE, &dest.id, &dest.name, reason::REQUESTED, Utc::now())?;
        let json = serde_json::to_string(options).unwrap_or_default();
        self.state.set_options(job.id, &json)?;
        tracing::info!(job = job.id, destination = %dest.name, to = %options.to, "restore queued");
        self.poke();
        Ok(job)
    }

    /// The destination called `name_or_id`, which must be mounted (and, if
    /// `writing`, writable).
    pub(super) fn mounted(
        &self,
        name_or_id: &str,
        writing: bool,
    ) -> Result<DestinationEntry, PipelineError> {
        let dest = self.destination(name_or_id)?;
        match self.lock().mounts.get(&dest.id) {
            None => Err(PipelineError::NotMounted(dest.name.clone())),
            Some(Mount {
                refused: Some(why), ..
            }) if writing => Err(PipelineError::Refused(why.clone())),
            Some(_) => Ok(dest),
        }
    }
}

/// Whether a backup job has work on `dest`: it exports or mirrors.
fn backs_up(dest: &DestinationEntry) -> bool {
    dest.modes.contains(&Mode::Export) || dest.modes.contains(&Mode::Mirror)
}

/// Whether an organize job has work on `dest`: some source goes to it.
fn organizes(config: &Config, dest: &DestinationEntry) -> bool {
    config.sources.iter().any(|s| s.goes_to(dest))
}
