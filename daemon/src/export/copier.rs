//! A few files copied at once. One copy at a time leaves the drive idle
//! while a file is read and hashed, and the CPU idle while the drive
//! writes; two or three in flight keep both busy. Workers only stage files
//! (write and hash them under a temporary name, unsynced: see
//! [`crate::write::Staged`]); the engine's thread syncs and commits them in
//! batches and records them, so the catalog is not shared.

use std::path::PathBuf;
use std::sync::mpsc::{self, Receiver, Sender, SyncSender};
use std::sync::{Arc, Mutex};
use std::thread::Scope;
use std::time::SystemTime;

use crate::write::{self, Staged, WriteError};

/// How many copies run at once.
pub(super) const WORKERS: usize = 3;

/// What to put at a target.
pub(super) enum Content {
    /// A copy of a library file.
    File(PathBuf),
    /// Bytes made in memory (a sidecar).
    Bytes(Vec<u8>),
}

/// One file to write.
pub(super) struct Job {
    /// Which asset of the run (index into its work list).
    pub(super) asset: usize,
    /// Which of the asset's files.
    pub(super) file: usize,
    /// Absolute destination path.
    pub(super) target: PathBuf,
    /// What to write there.
    pub(super) content: Content,
    /// Modification time to give it.
    pub(super) mtime: Option<SystemTime>,
}

/// One file staged, or not.
pub(super) struct Done {
    pub(super) asset: usize,
    pub(super) file: usize,
    pub(super) result: Result<Staged, WriteError>,
}

/// The pool: submit jobs, collect results in any order.
pub(super) struct Copier {
    jobs: Option<SyncSender<Job>>,
    done: Receiver<Done>,
    outstanding: usize,
}

impl Copier {
    /// Starts the workers inside `scope`; they write only under `root` (a
    /// drive whose mount point stayed behind after unplugging is refused,
    /// not refilled on the system disk).
    pub(super) fn start<'scope>(scope: &'scope Scope<'scope, '_>, root: PathBuf) -> Self {
        let (job_tx, job_rx) = mpsc::sync_channel::<Job>(WORKERS * 2);
        let (done_tx, done_rx) = mpsc::channel::<Done>();
        let job_rx = Arc::new(Mutex::new(job_rx));
        for _ in 0..WORKERS {
            let (jobs, done, root): (Arc<Mutex<Receiver<Job>>>, Sender<Done>, PathBuf) =
                (job_rx.clone(), done_tx.clone(), root.clone());
            scope.spawn(move || loop {
                let next = match jobs.lock() {
                    Ok(rx) => rx.recv(),
                    Err(_) => return,
                };
                let Ok(job) = next else { return };
                let result = match &job.content {
                    Content::File(src) => {
                        write::stage_copy_under(&root, src, &job.target, job.mtime)
                    }
                    Content::Bytes(b) => write::stage_bytes_under(&root, &job.target, b, job.mtime),
                };
                let reply = Done {
                    asset: job.asset,
                    file: job.file,
                    result,
                };
                if done.send(reply).is_err() {
                    return;
                }
            });
        }
        Copier {
            jobs: Some(job_tx),
            done: done_rx,
            outstanding: 0,
        }
    }

    /// Queues a job (waits while the queue is full).
    pub(super) fn submit(&mut self, job: Job) {
        if let Some(jobs) = &self.jobs {
            if jobs.send(job).is_ok() {
                self.outstanding += 1;
            }
        }
    }

    /// A finished job, if one is ready now.
    pub(super) fn try_next(&mut self) -> Option<Done> {
        let done = self.done.try_recv().ok()?;
        self.outstanding -= 1;
        Some(done)
    }

    /// The next finished job, waiting for it; `None` once all are back.
    pub(super) fn next(&mut self) -> Option<Done> {
        if self.outstanding == 0 {
            return None;
        }
        let done = self.done.recv().ok()?;
        self.outstanding -= 1;
        Some(done)
    }

    /// No more jobs: the workers end once the queue is empty.
    pub(super) fn close(&mut self) {
        self.jobs = None;
    }
}
