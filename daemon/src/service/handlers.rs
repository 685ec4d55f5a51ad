//! One handler per request of the control socket.

use std::io;
use std::sync::Arc;
use std::time::Duration;

use photovault_protocol::{
    DaemonInfo, DestinationStatus, ErrorCode, JobInfo, JobState, LogLine, RequestBody,
    ResponseBody, SourceStatus, StatusReport,
};
use tokio::io::AsyncBufReadExt;

use super::enrol;
use super::logs;
use super::pipeline::{reason, Pipeline, PipelineError};
use super::server::Client;
use super::state::timestamp;

/// Everything the handlers share.
pub struct Context {
    /// The job pipeline (which holds the configuration and the mounts).
    pub pipeline: Arc<Pipeline>,
    /// When the daemon started.
    pub started: chrono::DateTime<chrono::Utc>,
    /// The log, for `logs` and `logs --follow`.
    pub logs: Arc<logs::LogHandle>,
    /// Asks the volume watcher to scan again (after enrolment or reload).
    pub rescan: tokio::sync::mpsc::UnboundedSender<()>,
    /// The platform (for the default configuration file).
    pub platform: crate::config::Platform,
}

/// The reader side of the connection, watched while streaming to notice a
/// client that hung up.
pub type Reader = tokio::io::BufReader<tokio::net::unix::OwnedReadHalf>;

/// Answers one request; `Ok(false)` closes the connection.
pub async fn handle(
    body: RequestBody,
    cx: &Context,
    client: &mut Client,
    reader: &mut Reader,
) -> io::Result<bool> {
    let p = &cx.pipeline;
    let result: Result<(), PipelineError> = match body {
        RequestBody::Status { watch } => return status(cx, watch, client, reader).await,
        RequestBody::Verify { destination, wait } => {
            return queued_one(cx, p.request_verify(&destination), wait, client, reader).await
        }
        RequestBody::Restore {
            destination,
            options,
            wait,
        } => {
            if !std::path::Path::new(&options.to).is_absolute() {
                client
                    .error(
                        ErrorCode::BadRequest,
                        format!(
                            "the restore target {:?} must be an absolute path",
                            options.to
                        ),
                    )
                    .await?;
                return Ok(true);
            }
            return queued_one(
                cx,
                p.request_restore(&destination, &options),
                wait,
                client,
                reader,
            )
            .await;
        }
        RequestBody::Backup {
            destination,
            wait,
            allow_deletions,
        } => {
            let jobs = match destination {
                Some(d) => p.request(&d, allow_deletions),
                None => p.enqueue_mounted(reason::REQUESTED).and_then(|jobs| {
                    if jobs.is_empty() {
                        Err(PipelineError::NothingMounted)
                    } else {
                        Ok(jobs)
                    }
                }),
            };
            match jobs {
                Ok(jobs) => {
                    client
                        .send(ResponseBody::Jobs { jobs: jobs.clone() })
                        .await?;
                    if wait {
                        return follow_jobs(cx, jobs, client, reader).await;
                    }
                    Ok(())
                }
                Err(e) => Err(e),
            }
        }
        RequestBody::Jobs => match p.active() {
            Ok(jobs) => client
                .send(ResponseBody::Jobs { jobs })
                .await
                .map(|_| Ok(()))?,
            Err(e) => Err(e),
        },
        RequestBody::History { destination, limit } => {
            let id = match destination.as_deref().map(|d| p.destination(d)) {
                Some(Err(e)) => return reply_error(client, e).await,
                Some(Ok(d)) => Some(d.id),
                None => None,
            };
            match p.state().history(id.as_deref(), limit) {
                Ok(jobs) => {
                    client.send(ResponseBody::Jobs { jobs }).await?;
                    Ok(())
                }
                Err(e) => Err(e.into()),
            }
        }
        RequestBody::Cancel { job } => match p.cancel(job) {
            Ok(info) => client.send(ResponseBody::Job(info)).await.map(|_| Ok(()))?,
            Err(e) => Err(e),
        },
        RequestBody::Pause => {
            p.pause();
            ok(client, "paused: running jobs are queued again and none starts until `photovaultctl resume`").await?;
            Ok(())
        }
        RequestBody::Resume => {
            p.resume();
            ok(client, "resumed").await?;
            Ok(())
        }
        RequestBody::Logs {
            follow,
            level,
            lines,
        } => return logs(cx, follow, level, lines, client, reader).await,
        RequestBody::DestAdd { path, name, mode } => {
            match enrol::add(cx, &path, &name, mode.as_deref()) {
                Ok(message) => ok(client, &message).await?,
                Err(e) => client.error(ErrorCode::Refused, format!("{e:#}")).await?,
            }
            Ok(())
        }
        RequestBody::DestRemove { name } => {
            match enrol::remove(cx, &name) {
                Ok(message) => ok(client, &message).await?,
                Err(e) => client.error(ErrorCode::Refused, format!("{e:#}")).await?,
            }
            Ok(())
        }
        RequestBody::Reload => {
            match enrol::reload(cx) {
                Ok(message) => ok(client, &message).await?,
                Err(e) => client.error(ErrorCode::Refused, format!("{e:#}")).await?,
            }
            Ok(())
        }
    };
    match result {
        Ok(()) => Ok(true),
        Err(e) => reply_error(client, e).await,
    }
}

async fn ok(client: &mut Client, message: &str) -> io::Result<()> {
    client
        .send(ResponseBody::Ok {
            message: message.to_string(),
        })
        .await
}

async fn reply_error(client: &mut Client, e: PipelineError) -> io::Result<bool> {
    let code = match &e {
        PipelineError::UnknownDestination(_) | PipelineError::UnknownJob(_) => ErrorCode::NotFound,
        PipelineError::State(_) => ErrorCode::Internal,
        _ => ErrorCode::Refused,
    };
    client.error(code, e.to_string()).await?;
    Ok(true)
}

/// Answers a request that queued one job: the job, then with `wait` its
/// updates until it ends.
async fn queued_one(
    cx: &Context,
    job: Result<JobInfo, PipelineError>,
    wait: bool,
    client: &mut Client,
    reader: &mut Reader,
) -> io::Result<bool> {
    match job {
        Ok(job) => {
            client
                .send(ResponseBody::Jobs {
                    jobs: vec![job.clone()],
                })
                .await?;
            if wait {
                return follow_jobs(cx, vec![job], client, reader).await;
            }
            Ok(true)
        }
        Err(e) => reply_error(client, e).await,
    }
}

/// The full status report.
pub fn status_report(cx: &Context) -> StatusReport {
    let p = &cx.pipeline;
    let config = p.config();
    let mounts = p.mounts();
    let jobs = p.active().unwrap_or_default();
    let destinations = config
        .destinations
        .iter()
        .map(|d| {
            let mount = mounts.get(&d.id);
            let mut own: Vec<&JobInfo> = jobs.iter().filter(|j| j.destination_id == d.id).collect();
            own.sort_by_key(|j| (j.state != JobState::Running, j.id));
            DestinationStatus {
                name: d.name.clone(),
                id: d.id.clone(),
                modes: d
                    .modes
                    .iter()
                    .map(|m| format!("{m:?}").to_lowercase())
                    .collect(),
                mounted: mount.is_some(),
                path: mount.map(|m| m.root.display().to_string()),
                last_success: p.state().last_success(&d.id).ok().flatten(),
                free_bytes: mount.and_then(|m| crate::write::available_space(&m.root).ok()),
                refused: mount.and_then(|m| m.refused.clone()),
                job: own.first().map(|j| (*j).clone()),
                // The latest of its backup and organize jobs, if it failed.
                last_error: [
                    crate::service::pipeline::EXPORT,
                    crate::service::pipeline::ORGANIZE,
                ]
                .iter()
                .filter_map(|kind| p.state().last_ended(kind, &d.id).ok().flatten())
                .max_by(|a, b| a.ended.cmp(&b.ended))
                .filter(|j| j.state == JobState::Failed)
                .and_then(|j| j.error),
                last_verify: p
                    .state()
                    .last_ended(crate::service::pipeline::VERIFY, &d.id)
                    .ok()
                    .flatten()
                    .and_then(|j| {
                        let v = j.summary.as_ref()?.verify.as_ref()?;
                        Some(photovault_protocol::VerifyStatus {
                            ended: j.ended.clone()?,
                            checked: v.checked,
                            problems: v.missing + v.changed + v.unexpected,
                        })
                    }),
            }
        })
        .collect();
    StatusReport {
        daemon: DaemonInfo {
            pid: std::process::id(),
            version: env!("CARGO_PKG_VERSION").to_string(),
            started: timestamp(cx.started),
            paused: p.paused(),
            config_file: config.file.as_ref().map(|f| f.display().to_string()),
            state_dir: config.state_dir.display().to_string(),
            log_dir: config.log_dir.display().to_string(),
            volume_roots: config
                .volume_roots
                .iter()
                .map(|r| r.display().to_string())
                .collect(),
        },
        library: p.library(),
        destinations,
        jobs,
        sources: config
            .sources
            .iter()
            .map(|s| SourceStatus {
                name: s.name.clone(),
                path: s.path.display().to_string(),
                present: s.path.is_dir(),
                destinations: config
                    .destinations
                    .iter()
                    .filter(|d| s.goes_to(d))
                    .map(|d| d.name.clone())
                    .collect(),
            })
            .collect(),
    }
}

/// Shortest time between two reports of a stream.
const WATCH_INTERVAL: Duration = Duration::from_millis(500);

/// Waits for the client to hang up (or send anything: streams take no
/// further requests).
async fn hung_up(reader: &mut Reader) {
    let mut line = String::new();
    let _ = reader.read_line(&mut line).await;
}

async fn status(
    cx: &Context,
    watch: bool,
    client: &mut Client,
    reader: &mut Reader,
) -> io::Result<bool> {
    let report = status_report(cx);
    client.send(ResponseBody::Status(report.clone())).await?;
    if !watch {
        return Ok(true);
    }
    let mut changes = cx.pipeline.subscribe();
    let mut last = report;
    loop {
        // A change notice wakes the stream; progress moves without one, so
        // while a job runs it also looks every half second.
        let running = last.jobs.iter().any(|j| j.state == JobState::Running);
        let notified = tokio::select! {
            _ = hung_up(reader) => return Ok(false),
            changed = changes.changed() => {
                if changed.is_err() {
                    return Ok(false);
                }
                true
            }
            _ = tokio::time::sleep(WATCH_INTERVAL), if running => false,
        };
        if notified {
            // At most twice a second, however often things change.
            tokio::time::sleep(WATCH_INTERVAL).await;
            changes.borrow_and_update();
        }
        let report = status_report(cx);
        if report != last {
            client.send(ResponseBody::Status(report.clone())).await?;
            last = report;
        }
    }
}

async fn follow_jobs(
    cx: &Context,
    jobs: Vec<JobInfo>,
    client: &mut Client,
    reader: &mut Reader,
) -> io::Result<bool> {
    let mut last: Vec<JobInfo> = jobs;
    let mut tick = tokio::time::interval(Duration::from_millis(250));
    loop {
        if last.iter().all(|j| j.state.is_final()) {
            client.send(ResponseBody::End).await?;
            return Ok(true);
        }
        tokio::select! {
            _ = hung_up(reader) => return Ok(false),
            _ = tick.tick() => {}
        }
        let mut now = Vec::with_capacity(last.len());
        for old in &last {
            let job = cx
                .pipeline
                .job(old.id)
                .ok()
                .flatten()
                .unwrap_or_else(|| old.clone());
            if &job != old {
                client.send(ResponseBody::Job(job.clone())).await?;
            }
            now.push(job);
        }
        last = now;
    }
}

async fn logs(
    cx: &Context,
    follow: bool,
    level: Option<String>,
    lines: Option<u32>,
    client: &mut Client,
    reader: &mut Reader,
) -> io::Result<bool> {
    let level = match logs::parse_level(level.as_deref().unwrap_or("info")) {
        Ok(l) => l,
        Err(e) => {
            client.error(ErrorCode::BadRequest, e.to_string()).await?;
            return Ok(true);
        }
    };
    // Subscribe first so no line falls between the file and the stream.
    let mut live = cx.logs.subscribe();
    let dir = cx.logs.dir().to_path_buf();
    let past = logs::read_recent(&dir, lines.unwrap_or(50) as usize, level).unwrap_or_default();
    for line in past {
        client.send(ResponseBody::Log(line)).await?;
    }
    if !follow {
        client.send(ResponseBody::End).await?;
        return Ok(true);
    }
    loop {
        tokio::select! {
            _ = hung_up(reader) => return Ok(false),
            line = live.recv() => match line {
                Ok(line) => {
                    if logs::parse_level(&line.level).is_ok_and(|l| l <= level) {
                        client.send(ResponseBody::Log(line)).await?;
                    }
                }
                Err(tokio::sync::broadcast::error::RecvError::Lagged(n)) => {
                    client.send(ResponseBody::Log(LogLine {
                        level: "WARN".into(),
                        text: format!("({n} log lines skipped: the client read too slowly)"),
                    })).await?;
                }
                Err(_) => return Ok(false),
            }
        }
    }
}
