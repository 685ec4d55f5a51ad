//! `photovault-bench scale`: one 1,000,000-asset library cloned from
//! Test-15.4.1 (originals of 1 KiB, to keep the clone small on disk):
//! - a full read, `photovaultd inspect`: wall time and peak RSS;
//! - a no-op `photovaultd export` (the first export is made once and kept
//!   with the clone, since it takes many minutes);
//! - `status` round trips, over the socket and as `photovaultctl status`,
//!   while the daemon runs an export job of that library.

use std::ffi::OsStr;
use std::path::Path;
use std::time::Duration;

use anyhow::Result;

use crate::clones::{engine_args, ensure_clones, header, remove, row, summary, today, CloneSpec};
use crate::daemon::{request, wait};
use crate::measure::run_logged;
use crate::{bench_dir, release_binary};

const SPEC: CloneSpec<'static> = CloneSpec {
    template: "Test-15.4.1",
    assets: 1_000_000,
    bytes: 1024,
};
/// Runs of the full read and of the no-op export.
const RUNS: usize = 3;

/// Runs the scale benchmarks and prints a Markdown table.
pub fn scale_benchmarks() -> Result<()> {
    let photovaultd = release_binary("photovaultd")?;
    let ctl = release_binary("photovaultctl")?;
    let lib = ensure_clones(&[SPEC])?.remove(0);
    let date = today();
    let dir = bench_dir().join("scale");
    let logs = dir.join("logs");
    std::fs::create_dir_all(&logs)?;
    let log = |name: &str, i: usize| logs.join(format!("{name}-{i}.log"));
    header(&format!(
        "{}: {} assets cloned from {} (originals of {} bytes)",
        SPEC.template, SPEC.assets, SPEC.template, SPEC.bytes
    ));

    let mut runs = Vec::new();
    for i in 0..RUNS {
        let args: [&OsStr; 3] = ["inspect".as_ref(), "--library".as_ref(), lib.as_os_str()];
        runs.push(run_logged(&photovaultd, &args, &log("inspect", i))?);
    }
    row(&date, "`photovaultd inspect` (full read)", &runs, "");

    status_during_job(&photovaultd, &ctl, &lib, &dir.join("daemon"), &date)?;

    header(&format!("{}: export of the same clone", SPEC.template));
    // The first export is kept: `export.complete` marks one that finished.
    let dest = dir.join("export");
    let complete = dir.join("export.complete");
    if !complete.is_file() {
        remove(&dest)?;
        let first = run_logged(
            &photovaultd,
            &engine_args("export", &lib, &dest, true),
            &log("first-export", 0),
        )?;
        std::fs::write(&complete, "")?;
        row(
            &date,
            "first `photovaultd export --init` (made once, kept)",
            &[first],
            &summary(&log("first-export", 0)),
        );
    }
    let mut runs = Vec::new();
    for i in 0..RUNS {
        runs.push(run_logged(
            &photovaultd,
            &engine_args("export", &lib, &dest, false),
            &log("noop", i),
        )?);
    }
    row(
        &date,
        "no-op export: nothing changed",
        &runs,
        &summary(&log("noop", 0)),
    );

    Ok(())
}

/// Milliseconds at quantile `q` (0 to 1) of `v`.
fn quantile(v: &mut [f64], q: f64) -> f64 {
    v.sort_by(f64::total_cmp);
    let i = ((v.len() - 1) as f64 * q).round() as usize;
    v[i]
}

/// Starts the daemon on the library with a new folder drive, which makes it
/// run a first export; while that job runs, times `status` requests.
fn status_during_job(
    photovaultd: &Path,
    ctl: &Path,
    lib: &Path,
    dir: &Path,
    date: &str,
) -> Result<()> {
    const SOCKET_RUNS: usize = 500;
    const CTL_RUNS: usize = 50;
    remove(dir)?;
    let volumes = dir.join("volumes");
    std::fs::create_dir_all(&volumes)?;
    let daemon =
        crate::daemon::start_daemon(photovaultd, lib, &volumes, dir, Duration::from_secs(30))?;
    crate::daemon::add_drive(ctl, &daemon.config, &volumes)?;
    let socket = &daemon.socket;
    let running = || {
        request(socket, r#"{"version":1,"request":"jobs"}"#)
            .map(|r| r.contains("\"running\""))
            .unwrap_or(false)
    };
    let started = wait(Duration::from_secs(120), running)?;
    let (socket_ms, ctl_ms) =
        daemon.time_status(ctl, SOCKET_RUNS, Duration::from_millis(5), CTL_RUNS)?;
    let still_running = running();
    drop(daemon);
    // What the job exported so far is not kept.
    remove(dir)?;
    let during = if still_running {
        "the export job ran throughout"
    } else {
        "the export job ended before the last request"
    };
    println!(
        "\n| date | measure | runs | median (ms) | p99 (ms) | max (ms) | notes |\n| --- | --- | --- | --- | --- | --- | --- |"
    );
    for (label, mut v, note) in [
        (
            "`status` round trip over the socket",
            socket_ms,
            format!(
                "{during}; job running {:.1} s after `dest add`",
                started.as_secs_f64()
            ),
        ),
        (
            "`photovaultctl status --json`",
            ctl_ms,
            "process start included".to_string(),
        ),
    ] {
        let n = v.len();
        let median = quantile(&mut v, 0.5);
        let p99 = quantile(&mut v, 0.99);
        let max = quantile(&mut v, 1.0);
        println!("| {date} | {label} | {n} | {median:.2} | {p99:.2} | {max:.2} | {note} |");
    }
    Ok(())
}
