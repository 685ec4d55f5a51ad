//! Requests that queue jobs — backup, verify, restore — and, when asked,
//! wait for them with a progress bar and report how they ended.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use indicatif::{ProgressBar, ProgressStyle};
use photovault_protocol::{JobInfo, JobState, RequestBody, ResponseBody, RestoreRequest};

use crate::client::Connection;
use crate::render;

/// Arguments of `photovaultctl restore`.
#[derive(clap::Args)]
pub struct RestoreArgs {
    /// Destination name or id (its drive must be connected).
    dest: String,
    /// Where to put what is restored: a new library package (e.g. ~/Pictures/Restored.photoslibrary), or with --export a folder.
    #[arg(long, value_name = "PATH")]
    to: PathBuf,
    /// Rebuild the state of the last backup at or before this time: a run stamp (2024-05-01T10-00-00Z), a date (2024-05-01) or a local time ("2024-05-01 18:30").
    #[arg(long, value_name = "TIMESTAMP")]
    at: Option<String>,
    /// Write into PATH even though it exists.
    #[arg(long)]
    force: bool,
    /// Restore the exported photos (a folder to import into Photos) instead of the mirrored library.
    #[arg(long)]
    export: bool,
    /// With --export: only photos taken in this year (repeatable).
    #[arg(long = "year", value_name = "YEAR", requires = "export")]
    years: Vec<i32>,
    /// With --export: only photos in this album, by name or Folder/Album path (repeatable).
    #[arg(long = "album", value_name = "ALBUM", requires = "export")]
    albums: Vec<String>,
    /// Which mirrored library, when the drive holds several.
    #[arg(long, value_name = "NAME")]
    library: Option<String>,
    /// List what would be restored; write nothing.
    #[arg(long)]
    dry_run: bool,
}

/// `photovaultctl backup`.
pub fn backup(
    socket: &Path,
    dest: Option<String>,
    wait: bool,
    allow_deletions: bool,
    json: bool,
) -> Result<ExitCode> {
    let request = RequestBody::Backup {
        destination: dest,
        wait,
        allow_deletions,
    };
    let jobs = submit(socket, request, wait, json)?;
    Ok(exit_code(&jobs, wait, |_| true))
}

/// `photovaultctl verify`: exit status 4 when the drive has problems.
pub fn verify(socket: &Path, dest: String, wait: bool, json: bool) -> Result<ExitCode> {
    let request = RequestBody::Verify {
        destination: dest,
        wait,
    };
    let jobs = submit(socket, request, wait, json)?;
    if !json && wait {
        for j in &jobs {
            if let Some(v) = j.summary.as_ref().and_then(|s| s.verify.as_ref()) {
                for p in &v.problems {
                    println!("  {p}");
                }
                let shown = v.problems.len() as u64;
                let total = v.missing + v.changed + v.unexpected;
                if total > shown {
                    println!(
                        "  ... and {} more (see `photovaultctl logs`)",
                        total - shown
                    );
                }
                if total == 0 {
                    println!("The backup on {} is intact.", j.destination);
                }
            }
        }
    }
    Ok(exit_code(&jobs, wait, |j| {
        j.summary
            .as_ref()
            .and_then(|s| s.verify.as_ref())
            .is_some_and(|v| v.missing + v.changed + v.unexpected == 0)
    }))
}

/// `photovaultctl restore`: waits; exit status 4 when files are missing
/// or damaged.
pub fn restore(socket: &Path, args: RestoreArgs, json: bool) -> Result<ExitCode> {
    let to = std::path::absolute(&args.to).context("the --to path cannot be used")?;
    let options = RestoreRequest {
        to: to.display().to_string(),
        at: args.at,
        force: args.force,
        export: args.export,
        years: args.years,
        albums: args.albums,
        library: args.library,
        dry_run: args.dry_run,
    };
    let request = RequestBody::Restore {
        destination: args.dest,
        options,
        wait: true,
    };
    let jobs = submit(socket, request, true, json)?;
    if !json {
        for j in &jobs {
            let Some(r) = j.summary.as_ref().and_then(|s| s.restore.as_ref()) else {
                continue;
            };
            let when = r
                .run
                .as_deref()
                .map(|t| format!(" as of the backup of {t}"))
                .unwrap_or_default();
            let verb = if r.dry_run {
                "Would restore"
            } else {
                "Restored"
            };
            println!(
                "{verb} {} files ({}) of the {}{when} into {}.",
                r.files,
                render::bytes(r.bytes),
                r.source,
                r.target
            );
            for p in &r.unavailable {
                println!("  UNAVAILABLE {p}");
            }
            for p in &r.damaged {
                println!("  DAMAGED     {p}");
            }
            if !r.dry_run && r.damaged.is_empty() && r.unavailable.is_empty() {
                println!("Every file matches the backup.");
                if r.source.starts_with("mirror") {
                    println!("To open it, hold Option while starting Photos and choose the restored library.");
                }
            }
        }
    }
    Ok(exit_code(&jobs, true, |j| {
        j.summary
            .as_ref()
            .and_then(|s| s.restore.as_ref())
            .is_some_and(|r| r.damaged.is_empty() && r.unavailable.is_empty())
    }))
}

/// 0 when every job is done and `good`; 3 when one did not finish; 4 when
/// one finished with problems.
fn exit_code(jobs: &[JobInfo], waited: bool, good: impl Fn(&JobInfo) -> bool) -> ExitCode {
    if !waited {
        ExitCode::SUCCESS
    } else if jobs.iter().any(|j| j.state != JobState::Done) {
        ExitCode::from(3)
    } else if jobs.iter().all(good) {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(4)
    }
}

/// Sends `request`, prints the jobs it queued and, with `wait`, follows
/// them with a progress bar until they end; returns their last state.
fn submit(socket: &Path, request: RequestBody, wait: bool, json: bool) -> Result<Vec<JobInfo>> {
    let mut c = Connection::open(socket)?;
    c.send(request)?;
    let jobs = match c.next()? {
        ResponseBody::Jobs { jobs } => jobs,
        ResponseBody::Error { message, .. } => bail!("{message}"),
        other => bail!("unexpected answer from photovaultd: {other:?}"),
    };
    if json && !wait {
        crate::print_json(&jobs)?;
        return Ok(jobs);
    }
    if !json {
        for j in &jobs {
            println!("queued: {}", render::job_line(j));
        }
    }
    if !wait {
        return Ok(jobs);
    }
    let bar = (!json).then(|| {
        let bar = ProgressBar::new(0);
        bar.set_style(
            ProgressStyle::with_template("{msg} [{bar:30}] {bytes}/{total_bytes} ({eta} left)")
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
        );
        bar
    });
    let mut last: Vec<JobInfo> = jobs;
    loop {
        match c.next()? {
            ResponseBody::Job(j) => {
                if let (Some(bar), Some(p)) = (&bar, &j.progress) {
                    bar.set_length(p.bytes_total);
                    bar.set_position(p.bytes_done);
                    bar.set_message(format!(
                        "{}: {}/{} files",
                        j.destination, p.files_done, p.files_total
                    ));
                }
                if j.state.is_final() {
                    if let Some(bar) = &bar {
                        bar.suspend(|| println!("{}", render::job_line(&j)));
                    }
                }
                if let Some(slot) = last.iter_mut().find(|o| o.id == j.id) {
                    *slot = j;
                }
            }
            ResponseBody::End => break,
            other => bail!("unexpected answer from photovaultd: {other:?}"),
        }
    }
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    if json {
        crate::print_json(&last)?;
    }
    Ok(last)
}
