//! Mirror benchmarks, on one package of 50,000+ files and 2+ GB, in the
//! same run and from the same warm page cache:
//! - first mirror against `rsync -a` (and `rsync -a` followed by `sync`,
//!   since the mirror makes its files durable and rsync does not);
//! - a no-op mirror against a no-op `rsync -a`;
//! - `photovaultd verify` against `b3sum` over the same files.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

use crate::measure::{run_discarding_output, run_quietly, Measurement};
use crate::{bench_dir, build_in_child, files_under, release_binary};

/// Small files (thumbnails, derivatives, plists) and large ones (originals).
const SMALL_FILES: usize = 46_000;
const SMALL_SIZE: usize = 12 << 10;
const LARGE_FILES: usize = 4_500;
const LARGE_SIZE: usize = 384 << 10;

pub fn mirror_benchmarks() -> Result<()> {
    let photovaultd = release_binary("photovaultd")?;
    let rsync = tool("rsync")?;
    let b3sum = tool("b3sum")?;
    let dir = bench_dir().join("mirror");
    if dir.exists() {
        std::fs::remove_dir_all(&dir)?;
    }
    std::fs::create_dir_all(&dir)?;
    let lib = dir.join("Bench.photoslibrary");
    build_in_child(&lib, 2_000, false)?;
    let (files, bytes) = fill(&lib)?;
    println!(
        "\n### Mirror: {files} files, {:.2} GB (package built by the benchmark)\n",
        bytes as f64 / 1e9
    );
    println!("| run | wall (s) | peak RSS (MiB) | MB/s |");
    println!("| --- | --- | --- | --- |");
    let row = |label: &str, m: &Measurement| {
        println!(
            "| {label} | {:.2} | {:.1} | {:.0} |",
            m.wall_seconds,
            m.max_rss_bytes as f64 / 1048576.0,
            bytes as f64 / 1e6 / m.wall_seconds
        );
    };
    // Warm the page cache for everyone alike.
    run_quietly(
        Path::new("/bin/sh"),
        &[
            "-c".as_ref(),
            format!(
                "find '{}' -type f -print0 | xargs -0 cat > /dev/null",
                lib.display()
            )
            .as_ref(),
        ],
    )?;

    let rsync_dest = dir.join("rsync");
    std::fs::create_dir_all(&rsync_dest)?;
    let rsync_args = |dest: &Path| -> Vec<std::ffi::OsString> {
        vec![
            "-a".into(),
            lib.as_os_str().to_owned(),
            dest.as_os_str().to_owned(),
        ]
    };
    let a = rsync_args(&rsync_dest);
    let a: Vec<&std::ffi::OsStr> = a.iter().map(|s| s.as_os_str()).collect();
    let first_rsync = run_discarding_output(&rsync, &a)?;
    let sync = run_discarding_output(Path::new("/bin/sync"), &[])?;
    row("rsync -a, first copy", &first_rsync);
    println!(
        "| rsync -a, first copy, then sync | {:.2} | | {:.0} |",
        first_rsync.wall_seconds + sync.wall_seconds,
        bytes as f64 / 1e6 / (first_rsync.wall_seconds + sync.wall_seconds)
    );

    let dest = dir.join("PhotoVault");
    let mirror_args: Vec<&std::ffi::OsStr> = vec![
        "mirror".as_ref(),
        "--library".as_ref(),
        lib.as_os_str(),
        "--to".as_ref(),
        dest.as_os_str(),
    ];
    let first = run_discarding_output(&photovaultd, &mirror_args)?;
    row("photovaultd mirror, first run (durable on return)", &first);

    // No-op runs take a fraction of a second: five of each, alternating,
    // and the median of each.
    let (mut rsyncs, mut mirrors) = (Vec::new(), Vec::new());
    for _ in 0..5 {
        rsyncs.push(run_discarding_output(&rsync, &a)?);
        mirrors.push(run_discarding_output(&photovaultd, &mirror_args)?);
    }
    let noop_rsync = median(rsyncs);
    let noop = median(mirrors);
    row("rsync -a, nothing changed (median of 5)", &noop_rsync);
    row("photovaultd mirror, nothing changed (median of 5)", &noop);

    let verify = run_discarding_output(
        &photovaultd,
        &["verify".as_ref(), "--dest".as_ref(), dest.as_os_str()],
    )?;
    row("photovaultd verify (every file re-hashed)", &verify);
    let package = dest.join("Library/Bench.photoslibrary");
    let b3 = run_quietly(
        Path::new("/bin/sh"),
        &[
            "-c".as_ref(),
            format!(
                "find '{}' -type f -print0 | xargs -0 '{}' > /dev/null",
                package.display(),
                b3sum.display()
            )
            .as_ref(),
        ],
    )?;
    row("b3sum over the same files (find | xargs)", &b3);
    println!(
        "\nRatios: first mirror / rsync -a = {:.2} (time), no-op rsync / no-op mirror = {:.1}x faster, verify speed / b3sum speed = {:.2}",
        first.wall_seconds / first_rsync.wall_seconds,
        noop_rsync.wall_seconds / noop.wall_seconds,
        b3.wall_seconds / verify.wall_seconds
    );
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}

/// The run of median wall time.
fn median(mut runs: Vec<Measurement>) -> Measurement {
    runs.sort_by(|a, b| a.wall_seconds.total_cmp(&b.wall_seconds));
    runs.swap_remove(runs.len() / 2)
}

/// `name` on the PATH, or an error saying how to get it.
fn tool(name: &str) -> Result<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    for dir in std::env::split_paths(&path) {
        let candidate = dir.join(name);
        if candidate.is_file() {
            return Ok(candidate);
        }
    }
    bail!("{name} is not installed; `make bench` installs it (rsync from the system's packages, b3sum with cargo install b3sum)")
}

/// Adds the benchmark's files to the package; returns (files, bytes) of
/// the whole package.
fn fill(lib: &Path) -> Result<(u64, u64)> {
    let mut seed = 0x9E37_79B9_7F4A_7C15u64;
    let mut write = |path: PathBuf, size: usize| -> Result<()> {
        let mut data = vec![0u8; size];
        for chunk in data.chunks_mut(8) {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            chunk.copy_from_slice(&seed.to_le_bytes()[..chunk.len()]);
        }
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(&path, data).with_context(|| path.display().to_string())
    };
    for i in 0..LARGE_FILES {
        write(
            lib.join(format!("originals/{:X}/BENCH-{i:06}.heic", i % 16)),
            LARGE_SIZE,
        )?;
    }
    for i in 0..SMALL_FILES {
        write(
            lib.join(format!(
                "resources/derivatives/{:X}/BENCH-{i:06}_1_105_c.jpeg",
                i % 16
            )),
            SMALL_SIZE,
        )?;
    }
    let all = files_under(lib)?;
    let mut bytes = 0u64;
    for f in &all {
        bytes += std::fs::metadata(f)?.len();
    }
    let files = all.len() as u64;
    Ok((files, bytes))
}
