//! The daemon: `photovaultd` serving. It watches volumes and the library,
//! runs jobs from a persistent pipeline, and answers `photovaultctl` on a
//! Unix socket.
//!
//! ```text
//!  volume roots ──notify/mount table──► volume task ──mounts──┐
//!  library      ──notify──► debounce ──"library changed"──────┤
//!  [[source]]s  ──notify──► debounce, sizes settled ──────────┤ (organize jobs)
//!  socket       ──requests──► handlers ───────────────────────┼─► pipeline ─► export jobs
//!                                                             │   (state.sqlite)
//!  SIGTERM/SIGINT ──► stop taking jobs, stop running ones ────┘
//! ```

pub mod alerts;
pub mod enrol;
pub mod folder_watch;
pub mod handlers;
pub mod library_watch;
pub mod logs;
pub mod pipeline;
pub mod power;
pub mod server;
pub mod state;
pub mod volumes;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context as _, Result};
use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver};

use crate::config::{Config, Platform};
use handlers::Context;
use pipeline::{Pipeline, Services};

/// How long running jobs get to stop after SIGTERM before the daemon exits
/// anyway (launchd kills it at 10 s).
const STOP_GRACE: Duration = Duration::from_secs(8);

/// Quiet time after a volume event before scanning (a mount creates its
/// folder, then fills it).
const VOLUME_SETTLE: Duration = Duration::from_millis(150);

/// The socket of a daemon whose state folder is `state_dir`.
pub fn socket_path(state_dir: &Path) -> PathBuf {
    state_dir.join(photovault_protocol::SOCKET_NAME)
}

/// Runs the daemon until SIGTERM or SIGINT.
pub fn run(config_file: Option<&Path>, foreground: bool) -> Result<()> {
    let platform = Platform::current();
    let config = Config::load(config_file, &platform)?;
    for dir in [&config.state_dir, &config.log_dir] {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("cannot create {}; check its permissions", dir.display()))?;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
            .with_context(|| format!("cannot restrict {} to its owner", dir.display()))?;
    }
    let log = Arc::new(logs::init(&logs::LogOptions {
        stderr: foreground,
        ..logs::LogOptions::new(config.log_dir.clone())
    })?);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let result = runtime.block_on(serve(config, platform, log.clone()));
    if let Err(e) = &result {
        tracing::error!(error = %format!("{e:#}"), "photovaultd stopped on an error");
    }
    // Jobs still blocking after the grace period are abandoned: what they
    // wrote is whole (temporary names), the catalog says how far they got.
    runtime.shutdown_timeout(Duration::from_millis(500));
    drop(log);
    result
}

async fn serve(config: Config, platform: Platform, log: Arc<logs::LogHandle>) -> Result<()> {
    let config = Arc::new(config);
    tracing::info!(
        version = env!("CARGO_PKG_VERSION"),
        pid = std::process::id(),
        config = %config.file.as_ref().map_or("(defaults)".to_string(), |f| f.display().to_string()),
        library = %config.library.display(),
        "photovaultd starting"
    );
    let state = Arc::new(state::StateDb::open(
        &config.state_dir.join("state.sqlite"),
    )?);
    let services = Services {
        inhibitor: power::system(config.prevent_sleep),
        notifier: alerts::system(
            &config
                .notifications
                .parse()
                .unwrap_or(alerts::AlertSetting::System),
        ),
    };
    let pipeline = Pipeline::new(state, config.clone(), services)?;
    let socket = socket_path(&config.state_dir);
    let listener = server::bind(&socket).await?;

    let (rescan_tx, rescan_rx) = unbounded_channel();
    pipeline.set_rescan(rescan_tx.clone());
    let _volume_watcher = volumes::VolumeWatcher::start(&config.volume_roots, rescan_tx.clone())
        .map_err(|e| tracing::warn!(error = %e, "volume roots cannot be watched; drives are seen at start only"))
        .ok();
    tokio::spawn(watch_volumes(pipeline.clone(), rescan_rx));

    let (lib_tx, lib_rx) = unbounded_channel();
    let _library_watcher = library_watch::LibraryWatcher::start(&config.library, lib_tx)
        .map_err(|e| tracing::warn!(library = %config.library.display(), error = %e, "the library cannot be watched; backups run when a drive is connected or on request"))
        .ok();
    tokio::spawn(library_changes(
        pipeline.clone(),
        lib_rx,
        Duration::from_secs(config.debounce_seconds),
    ));
    tokio::spawn(folder_watch::watch_sources(
        pipeline.clone(),
        Duration::from_secs(config.debounce_seconds),
    ));
    let scheduler = tokio::spawn(pipeline.clone().run_scheduler());

    let cx = Arc::new(Context {
        pipeline: pipeline.clone(),
        started: chrono::Utc::now(),
        logs: log,
        rescan: rescan_tx,
        platform,
    });
    let server = tokio::spawn(server::serve(listener, cx));
    tracing::info!(socket = %socket.display(), "photovaultd ready");

    let signal = wait_for_stop_signal().await?;
    tracing::info!(
        signal,
        "stopping: no new jobs; running jobs stop after their current file"
    );
    server.abort();
    let _ = std::fs::remove_file(&socket);
    pipeline.shutdown(STOP_GRACE).await;
    scheduler.abort();
    tracing::info!("photovaultd stopped");
    Ok(())
}

async fn wait_for_stop_signal() -> Result<&'static str> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate()).context("cannot handle SIGTERM")?;
    let mut int = signal(SignalKind::interrupt()).context("cannot handle SIGINT")?;
    Ok(tokio::select! {
        _ = term.recv() => "SIGTERM",
        _ = int.recv() => "SIGINT",
    })
}

/// Scans at start and after every volume event; the pipeline queues a
/// backup for each destination that appears.
async fn watch_volumes(pipeline: Arc<Pipeline>, mut events: UnboundedReceiver<()>) {
    let mut first = true;
    loop {
        let config = pipeline.config();
        let found = tokio::task::spawn_blocking(move || {
            volumes::scan(&config.volume_roots, &config.destinations)
        })
        .await
        .unwrap_or_default();
        pipeline.set_mounts(found);
        // The status shows the library's counts from the start: from the
        // first backup's report when a drive is connected, else from a look
        // of its own.
        if std::mem::take(&mut first) && pipeline.active().is_ok_and(|j| j.is_empty()) {
            tokio::spawn(look_at_library(pipeline.clone()));
        }
        if events.recv().await.is_none() {
            return;
        }
        // Let a burst of events settle, then scan once.
        tokio::time::sleep(VOLUME_SETTLE).await;
        while events.try_recv().is_ok() {}
    }
}

/// Queues a backup of every mounted destination once the library has been
/// quiet for `debounce`.
async fn library_changes(
    pipeline: Arc<Pipeline>,
    mut events: UnboundedReceiver<()>,
    debounce: Duration,
) {
    while events.recv().await.is_some() {
        loop {
            match tokio::time::timeout(debounce, events.recv()).await {
                Ok(Some(())) => continue,
                Ok(None) => return,
                Err(_) => break,
            }
        }
        tracing::info!("the library changed");
        // A backup reads the library and updates the status with what it
        // found; only with no backup to run is a look of its own worth it.
        match pipeline.enqueue_mounted(pipeline::reason::LIBRARY_CHANGED) {
            Ok(jobs) if jobs.is_empty() => {
                tracing::info!("no backup drive connected; the next one connected catches up");
                tokio::spawn(look_at_library(pipeline.clone()));
            }
            Ok(_) => {}
            Err(e) => tracing::error!(error = %e, "cannot queue backups"),
        }
    }
}

/// Reads the library once for the status (asset and missing counts), or
/// records why it cannot be read.
async fn look_at_library(pipeline: Arc<Pipeline>) {
    let path = pipeline.config().library.clone();
    let shown = path.display().to_string();
    let info = tokio::task::spawn_blocking(move || {
        let snapshot = crate::library::PhotosLibrary::open(&path).and_then(|l| l.read());
        match snapshot {
            Ok(s) => {
                let live = s.assets.iter().filter(|a| !a.trashed);
                let (mut assets, mut missing) = (0, 0);
                for a in live {
                    assets += 1;
                    missing += u64::from(a.original_missing());
                }
                (Some(assets), Some(missing), None)
            }
            Err(e) => (None, None, Some(e.to_string())),
        }
    })
    .await
    .unwrap_or((None, None, Some("reading the library crashed".into())));
    if let Some(e) = &info.2 {
        tracing::warn!(library = %shown, error = %e, "the library cannot be read");
    }
    pipeline.set_library(photovault_protocol::LibraryInfo {
        path: shown,
        assets: info.0,
        missing_originals: info.1,
        checked: Some(state::timestamp(chrono::Utc::now())),
        error: info.2,
    });
}
