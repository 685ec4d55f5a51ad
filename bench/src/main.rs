//! `make bench`: builds large synthetic Photos libraries with the testkit and
//! times the release binaries on them, reporting wall time and peak memory
//! (maximum resident set size) of each run. The figures go into
//! `docs/BENCHMARKS.md`; nothing here asserts a time.

mod clones;
mod daemon;
mod export;
mod measure;
mod mirror;
mod organize;
mod scale;

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{bail, Context, Result};
use photovault_testkit::{at, AssetSpec, Generation, LibraryBuilder};

fn main() -> Result<()> {
    let which = std::env::args().nth(1).unwrap_or_else(|| "inspect".into());
    match which.as_str() {
        "inspect" => inspect_benchmark(),
        "export" => export::export_benchmarks(),
        "daemon" => daemon::daemon_benchmarks(),
        "mirror" => mirror::mirror_benchmarks(),
        "organize" => organize::organize_benchmarks(),
        "clones" => clones::clones_benchmarks(),
        "scale" => scale::scale_benchmarks(),
        // Internal: run by the benchmarks in a process of its own, so that
        // the builder's memory never counts towards a measured child (Linux
        // reports a child's peak RSS including what it inherited at fork).
        "build-library" => {
            let mut args = std::env::args().skip(2);
            let (Some(path), Some(n)) = (args.next(), args.next()) else {
                bail!("usage: photovault-bench build-library PATH ASSETS [--media]");
            };
            let media = args.next().as_deref() == Some("--media");
            build_large_library(
                Path::new(&path),
                n.parse().context("ASSETS must be a number")?,
                media,
            )
        }
        other => bail!(
            "unknown benchmark {other:?}; available: inspect, export, daemon, mirror, organize, clones, scale"
        ),
    }
}

/// The release binary `name` (`photovaultd`, `photovaultctl`): the one built
/// next to this benchmark (so a `CARGO_TARGET_DIR` of one's own is honoured),
/// else the workspace's `target/release`.
pub(crate) fn release_binary(name: &str) -> Result<PathBuf> {
    if let Some(beside) = std::env::current_exe()?.parent().map(|d| d.join(name)) {
        if beside.is_file() {
            return Ok(beside);
        }
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let bin = root.join("target/release").join(name);
    if !bin.is_file() {
        bail!(
            "{} is not built; run `make bench` (it builds the release binaries first)",
            bin.display()
        );
    }
    Ok(bin)
}

/// Where benchmark libraries are built (kept out of the source tree's git).
/// Every file below `dir` (folders walked, not listed), sorted.
pub(crate) fn files_under(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d)? {
            let e = e?;
            if e.file_type()?.is_dir() {
                stack.push(e.path());
            } else {
                out.push(e.path());
            }
        }
    }
    out.sort();
    Ok(out)
}

pub(crate) fn bench_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/bench-data")
}

/// A library of `n` assets shaped like a real one: mostly photos, some
/// videos, live photos, screenshots and edits, 500 albums (a fifth of them in
/// folders), 200 keywords, 100 named persons, locations on most assets.
fn build_large_library(path: &Path, n: usize, media: bool) -> Result<()> {
    let mut b = LibraryBuilder::new(Generation::Modern);
    b.with_media(media);
    let albums: Vec<_> = (0..500)
        .map(|i| {
            let title = format!("Album {i:03}");
            if i % 5 == 0 {
                b.album(&title, &["Trips", &format!("{}", 2000 + i % 25)])
            } else {
                b.album(&title, &[])
            }
        })
        .collect();
    let keywords: Vec<String> = (0..200).map(|i| format!("keyword-{i:03}")).collect();
    let persons: Vec<String> = (0..100).map(|i| format!("Person {i:03}")).collect();
    for i in 0..n {
        let day = (i / 40) as u32;
        let created = at(
            (i % 5) as i32 - 2,
            2005 + (day / 336) as i32 % 20,
            1 + (day / 28) % 12,
            1 + day % 28,
            (i % 24) as u32,
            (i % 60) as u32,
            (i % 59) as u32,
        );
        let name = format!(
            "IMG_{:04}.{}",
            i % 10_000,
            if i % 10 == 9 { "MOV" } else { "HEIC" }
        );
        let mut spec = if i % 10 == 9 {
            AssetSpec::video(&name, created)
        } else if i % 7 == 0 {
            AssetSpec::live(&name, created)
        } else {
            AssetSpec::photo(&name, created)
        };
        spec.screenshot = i % 10 != 9 && i % 23 == 0;
        spec.edited = i % 11 == 0;
        spec.favorite = i % 31 == 0;
        spec.hidden = i % 97 == 0;
        spec.title = (i % 13 == 0).then(|| format!("Title {i}"));
        spec.description = (i % 17 == 0).then(|| format!("A description of asset {i}"));
        spec.keywords = (0..i % 4)
            .map(|k| keywords[(i * 7 + k) % keywords.len()].clone())
            .collect();
        spec.persons = (0..i % 3)
            .map(|k| persons[(i * 3 + k) % persons.len()].clone())
            .collect();
        spec.gps = (i % 4 != 0).then(|| {
            (
                40.0 + (i % 1000) as f64 / 1000.0,
                -3.0 - (i % 777) as f64 / 1000.0,
            )
        });
        spec.albums = (0..i % 3)
            .map(|k| albums[(i * 11 + k) % albums.len()])
            .collect();
        b.asset(spec);
    }
    b.build(path)?;
    Ok(())
}

fn inspect_benchmark() -> Result<()> {
    const ASSETS: usize = 100_000;
    const RUNS: usize = 5;
    let photovaultd = release_binary("photovaultd")?;
    let dir = bench_dir();
    std::fs::create_dir_all(&dir)?;
    let library = dir.join("inspect-100k.photoslibrary");
    if library.exists() {
        std::fs::remove_dir_all(&library)
            .with_context(|| format!("removing {}", library.display()))?;
    }
    let started = Instant::now();
    build_in_child(&library, ASSETS, false)?;
    let db_size = std::fs::metadata(library.join("database/Photos.sqlite"))?.len();
    println!(
        "built {ASSETS}-asset library in {:.1} s (Photos.sqlite {:.1} MiB)",
        started.elapsed().as_secs_f64(),
        db_size as f64 / 1048576.0
    );
    let lib = library.as_os_str();
    let cases: [(&str, Vec<&std::ffi::OsStr>); 2] = [
        (
            "inspect (summary)",
            vec!["inspect".as_ref(), "--library".as_ref(), lib],
        ),
        (
            "inspect --json",
            vec![
                "inspect".as_ref(),
                "--library".as_ref(),
                lib,
                "--json".as_ref(),
            ],
        ),
    ];
    println!();
    println!("| command | runs | wall median (s) | wall min (s) | peak RSS max (MiB) |");
    println!("| --- | --- | --- | --- | --- |");
    for (label, args) in cases {
        let mut walls = Vec::new();
        let mut peak = 0u64;
        for _ in 0..RUNS {
            let m = measure::run_discarding_output(&photovaultd, &args)?;
            walls.push(m.wall_seconds);
            peak = peak.max(m.max_rss_bytes);
        }
        walls.sort_by(|a, b| a.total_cmp(b));
        println!(
            "| `photovaultd {label}` | {RUNS} | {:.3} | {:.3} | {:.1} |",
            walls[RUNS / 2],
            walls[0],
            peak as f64 / 1048576.0
        );
    }
    Ok(())
}

/// Builds a testkit library in a child process (see `build-library`).
pub(crate) fn build_in_child(library: &Path, assets: usize, media: bool) -> Result<()> {
    let mut cmd = std::process::Command::new(std::env::current_exe()?);
    cmd.arg("build-library")
        .arg(library)
        .arg(assets.to_string());
    if media {
        cmd.arg("--media");
    }
    if !cmd.status()?.success() {
        bail!("building the benchmark library failed");
    }
    Ok(())
}
