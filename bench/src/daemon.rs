//! `photovault-bench daemon`: the daemon's reaction times and idle cost.
//!
//! - plug-in to job start: a destination folder renamed into the volume
//!   root, until the daemon reports its job running or done;
//! - library change to file on the drive, with a 1 s debounce;
//! - idle CPU over a minute, and RSS;
//! - `status` round trip over the socket, and as a `photovaultctl` run.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use photovault_testkit::{at, AssetSpec, Generation, LibraryBuilder};

use crate::{bench_dir, release_binary};

/// Sends one request line and returns the first response line.
pub(crate) fn request(socket: &Path, line: &str) -> Result<String> {
    let mut s = UnixStream::connect(socket)?;
    s.write_all(line.as_bytes())?;
    s.write_all(b"\n")?;
    let mut out = String::new();
    BufReader::new(s).read_line(&mut out)?;
    Ok(out)
}

/// Polls `f` every 2 ms until it holds; how long that took.
pub(crate) fn wait(timeout: Duration, mut f: impl FnMut() -> bool) -> Result<Duration> {
    let started = Instant::now();
    while !f() {
        if started.elapsed() > timeout {
            bail!("timed out");
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    Ok(started.elapsed())
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// CPU seconds (user + system) of process `pid`.
fn cpu_seconds(pid: u32) -> Result<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    let after = stat.rsplit(')').next().context("bad stat")?;
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks: f64 = fields[11].parse::<f64>()? + fields[12].parse::<f64>()?;
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
    Ok(ticks / hz)
}

fn rss_mib(pid: u32) -> Result<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let kb: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .context("no VmRSS")?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()?;
    Ok(kb / 1024.0)
}

/// A child process that is sent SIGTERM, and waited for, when dropped.
pub(crate) struct Running(pub(crate) Child);

/// Plugs in a folder drive `Drive` under `volumes` and enrols it through
/// `photovaultctl dest add`, which starts the daemon's first job on it.
pub(crate) fn add_drive(ctl: &Path, config: &Path, volumes: &Path) -> Result<std::path::PathBuf> {
    let drive = volumes.join("Drive");
    std::fs::create_dir(&drive)?;
    let out = Command::new(ctl)
        .arg("--config")
        .arg(config)
        .args(["dest", "add"])
        .arg(&drive)
        .args(["--name", "Drive"])
        .output()?;
    if !out.status.success() {
        bail!("dest add failed: {}", String::from_utf8_lossy(&out.stderr));
    }
    Ok(drive)
}

/// A `photovaultd` started for a benchmark: its configuration and socket.
pub(crate) struct BenchDaemon {
    pub(crate) process: Running,
    pub(crate) config: PathBuf,
    pub(crate) socket: PathBuf,
}

/// Starts the daemon on `lib`, watching `volumes`, with its configuration
/// and state in `dir`; returns once its socket answers (within `timeout`).
pub(crate) fn start_daemon(
    photovaultd: &Path,
    lib: &Path,
    volumes: &Path,
    dir: &Path,
    timeout: Duration,
) -> Result<BenchDaemon> {
    let config = dir.join("config.toml");
    std::fs::write(
        &config,
        format!(
            "library = {:?}\nvolume_roots = [{:?}]\nstate_dir = {:?}\ndebounce_seconds = 1\nnotifications = \"off\"\n",
            lib,
            volumes,
            dir.join("state")
        ),
    )?;
    let socket = dir.join("state/photovaultd.sock");
    let process = Running(
        Command::new(photovaultd)
            .arg("--config")
            .arg(&config)
            .stderr(Stdio::null())
            .spawn()?,
    );
    wait(timeout, || UnixStream::connect(&socket).is_ok())?;
    Ok(BenchDaemon {
        process,
        config,
        socket,
    })
}

impl BenchDaemon {
    /// Round trips of `status`, in milliseconds: `socket_runs` requests
    /// over the socket, `pause` apart, then `ctl_runs` runs of
    /// `photovaultctl status --json` (process start included).
    pub(crate) fn time_status(
        &self,
        ctl: &Path,
        socket_runs: usize,
        pause: Duration,
        ctl_runs: usize,
    ) -> Result<(Vec<f64>, Vec<f64>)> {
        let mut socket_ms = Vec::with_capacity(socket_runs);
        for _ in 0..socket_runs {
            let t = Instant::now();
            request(&self.socket, r#"{"version":1,"request":"status"}"#)?;
            socket_ms.push(t.elapsed().as_secs_f64() * 1000.0);
            std::thread::sleep(pause);
        }
        let mut ctl_ms = Vec::with_capacity(ctl_runs);
        for _ in 0..ctl_runs {
            let t = Instant::now();
            let out = Command::new(ctl)
                .arg("--config")
                .arg(&self.config)
                .args(["status", "--json"])
                .output()?;
            if !out.status.success() {
                bail!(
                    "photovaultctl status failed: {}",
                    String::from_utf8_lossy(&out.stderr)
                );
            }
            ctl_ms.push(t.elapsed().as_secs_f64() * 1000.0);
        }
        Ok((socket_ms, ctl_ms))
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        // SAFETY: signalling our own child.
        unsafe { libc::kill(self.0.id() as i32, libc::SIGTERM) };
        let _ = self.0.wait();
    }
}

/// Runs the daemon benchmarks and prints a Markdown table.
pub fn daemon_benchmarks() -> Result<()> {
    let photovaultd = release_binary("photovaultd")?;
    let ctl = release_binary("photovaultctl")?;
    let dir = bench_dir().join("daemon");
    if dir.exists() {
        std::fs::remove_dir_all(&dir)?;
    }
    let volumes = dir.join("volumes");
    std::fs::create_dir_all(&volumes)?;
    let mut b = LibraryBuilder::new(Generation::Modern);
    b.with_media(true);
    for i in 0..100u32 {
        b.asset(AssetSpec::photo(
            &format!("IMG_{i:04}.JPG"),
            at(0, 2020, 1 + i % 12, 1 + i % 28, 12, 0, 0),
        ));
    }
    let lib = b.build(&dir.join("Library.photoslibrary"))?;
    let daemon = start_daemon(
        &photovaultd,
        &lib.path,
        &volumes,
        &dir,
        Duration::from_secs(10),
    )?;
    let (socket, pid) = (&daemon.socket, daemon.process.0.id());
    let drive = add_drive(&ctl, &daemon.config, &volumes)?;
    let finished = |n: usize| {
        request(socket, r#"{"version":1,"request":"history","limit":1000}"#)
            .map(|r| r.matches("\"state\"").count() >= n)
            .unwrap_or(false)
    };
    wait(Duration::from_secs(60), || finished(1))?;

    // Plug-in to job start.
    let mut plug = Vec::new();
    for round in 0..5 {
        let away = dir.join("away");
        std::fs::rename(&drive, &away)?;
        wait(Duration::from_secs(10), || {
            request(socket, r#"{"version":1,"request":"status"}"#)
                .map(|r| r.contains("\"mounted\":false"))
                .unwrap_or(false)
        })?;
        std::fs::rename(&away, &drive)?;
        let t = wait(Duration::from_secs(10), || {
            request(socket, r#"{"version":1,"request":"history","limit":1000}"#)
                .map(|r| r.matches("\"state\"").count() >= round + 2)
                .unwrap_or(false)
                || request(socket, r#"{"version":1,"request":"jobs"}"#)
                    .map(|r| r.contains("\"running\""))
                    .unwrap_or(false)
        })?;
        plug.push(t.as_secs_f64() * 1000.0);
        wait(Duration::from_secs(60), || finished(round + 2))?;
    }

    // Library change to file on the drive.
    let mut change = Vec::new();
    for i in 0..3u32 {
        let name = format!("NEW_{i:04}.JPG");
        let started = Instant::now();
        {
            let mut w = lib.open_writer()?;
            w.add_asset(&AssetSpec::photo(&name, at(0, 2023, 3, 1 + i, 9, 0, 0)))?;
        }
        let file = drive.join(format!("Export/2023/2023-03/{name}"));
        wait(Duration::from_secs(60), || file.is_file())?;
        change.push(started.elapsed().as_secs_f64());
        // Let the job finish before the next change.
        std::thread::sleep(Duration::from_secs(2));
    }

    // Status round trip.
    let (socket_rt, ctl_rt) = daemon.time_status(&ctl, 200, Duration::ZERO, 20)?;

    // Idle: a minute with nothing to do.
    std::thread::sleep(Duration::from_secs(3));
    let cpu_before = cpu_seconds(pid)?;
    let t = Instant::now();
    std::thread::sleep(Duration::from_secs(60));
    let idle_cpu = (cpu_seconds(pid)? - cpu_before) / t.elapsed().as_secs_f64() * 100.0;
    let rss = rss_mib(pid)?;

    println!("\n### Daemon, 100-asset library, folder drive\n");
    println!("| measure | value | notes |");
    println!("| --- | --- | --- |");
    println!(
        "| plug-in to job start (median of 5) | {:.0} ms | folder renamed into the volume root until the job shows running (max {:.0} ms) |",
        median(plug.clone()),
        plug.iter().cloned().fold(0.0, f64::max)
    );
    println!(
        "| library change to file on the drive (median of 3) | {:.2} s | with debounce_seconds = 1 |",
        median(change)
    );
    println!(
        "| `status` round trip over the socket (median of 200) | {:.2} ms | |",
        median(socket_rt)
    );
    println!(
        "| `photovaultctl status --json` (median of 20) | {:.1} ms | process start included |",
        median(ctl_rt)
    );
    println!("| idle CPU over 60 s | {idle_cpu:.3} % | of one core |");
    println!("| RSS after the runs | {rss:.1} MiB | |");
    drop(daemon);
    Ok(())
}
