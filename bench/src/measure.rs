//! Runs a command and measures it the way a user would feel it: wall time
//! from spawn to exit, and the child's peak resident memory from the kernel
//! (`wait4`'s resource usage), not an estimate.

use std::ffi::OsStr;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Instant;

use anyhow::{bail, Context, Result};

/// What one run cost.
pub struct Measurement {
    /// Seconds from spawn to exit.
    pub wall_seconds: f64,
    /// Peak resident set size of the child, in bytes.
    pub max_rss_bytes: u64,
}

/// Runs `program args`, sending its output to /dev/null, and measures it.
pub fn run_discarding_output(program: &Path, args: &[&OsStr]) -> Result<Measurement> {
    run(program, args, Stdio::inherit())
}

/// The same, with the program's standard error discarded too (for tools
/// that log every file).
pub fn run_quietly(program: &Path, args: &[&OsStr]) -> Result<Measurement> {
    run(program, args, Stdio::null())
}

/// The same, with the program's standard output and error written to the
/// file `log` (to read its summary afterwards).
pub fn run_logged(program: &Path, args: &[&OsStr], log: &Path) -> Result<Measurement> {
    let file = std::fs::File::create(log).with_context(|| format!("creating {}", log.display()))?;
    let errors = file.try_clone()?;
    spawn_and_wait(program, args, file.into(), errors.into())
        .with_context(|| format!("its output is in {}", log.display()))
}

fn run(program: &Path, args: &[&OsStr], stderr: Stdio) -> Result<Measurement> {
    spawn_and_wait(program, args, Stdio::null(), stderr)
}

fn spawn_and_wait(
    program: &Path,
    args: &[&OsStr],
    stdout: Stdio,
    stderr: Stdio,
) -> Result<Measurement> {
    let start = Instant::now();
    let child = Command::new(program)
        .args(args)
        .stdout(stdout)
        .stderr(stderr)
        .spawn()
        .with_context(|| format!("starting {}", program.display()))?;
    let pid = child.id() as libc::pid_t;
    let mut status = 0;
    // SAFETY: an all-zero rusage is a valid value for the kernel to fill in.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `pid` is our own child, not yet reaped; the pointers are valid.
    let rc = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    let wall_seconds = start.elapsed().as_secs_f64();
    if rc != pid {
        bail!(
            "waiting for {}: {}",
            program.display(),
            std::io::Error::last_os_error()
        );
    }
    if !(libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0) {
        bail!("{} failed (wait status {status})", program.display());
    }
    // Linux reports kilobytes, macOS bytes.
    let unit = if cfg!(target_os = "macos") { 1 } else { 1024 };
    Ok(Measurement {
        wall_seconds,
        max_rss_bytes: usage.ru_maxrss as u64 * unit,
    })
}
