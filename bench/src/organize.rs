//! The organize benchmark: HEIC to JPEG throughput of `photovaultd organize`
//! against `heif-convert` (libheif's own converter, Debian's
//! `libheif-examples`) doing the same conversion file by file, in the same
//! run on the same files.
//!
//! The files are the HEICs of the shared fixtures (real iPhone photos),
//! repeated to 200; without the fixtures, 12-megapixel HEICs encoded here
//! by libheif stand in (and the report says so).

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use anyhow::{bail, Context, Result};

use crate::measure::run_quietly;
use crate::{bench_dir, release_binary};

/// How many files each converter handles.
const FILES: usize = 200;

/// Runs the comparison and prints a table for `docs/BENCHMARKS.md`.
pub fn organize_benchmarks() -> Result<()> {
    let dir = bench_dir().join("organize");
    let _ = std::fs::remove_dir_all(&dir);
    let src = dir.join("src");
    std::fs::create_dir_all(&src)?;
    let (mut samples, origin) = sample_heics()?;
    // Debian's heif-convert (libheif 1.15) cannot read recent iPhone HEICs
    // ("Too many auxiliary image references"); the libheif photovault
    // builds (1.23) can. The comparison uses the files both can convert.
    let heif_convert = which("heif-convert");
    if let Some(hc) = &heif_convert {
        let probe = dir.join("probe.jpg");
        let before = samples.len();
        samples.retain(|s| {
            Command::new(hc)
                .args([
                    OsStr::new("-q"),
                    OsStr::new("92"),
                    s.as_os_str(),
                    probe.as_os_str(),
                ])
                .output()
                .is_ok_and(|o| o.status.success())
        });
        println!(
            "heif-convert reads {} of the {before} sample HEICs; the others are left out of the comparison",
            samples.len()
        );
        if samples.is_empty() {
            bail!("heif-convert converts none of the samples: nothing to compare");
        }
    }
    let mut bytes = 0u64;
    for i in 0..FILES {
        let sample = &samples[i % samples.len()];
        let to = src.join(format!("IMG_{i:04}.HEIC"));
        std::fs::copy(sample, &to).with_context(|| format!("copying {}", sample.display()))?;
        bytes += std::fs::metadata(&to)?.len();
    }
    println!(
        "organize benchmark: {FILES} HEICs ({:.1} MiB; {} distinct files used; {origin}), {} cores",
        bytes as f64 / (1 << 20) as f64,
        samples.len(),
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );

    let photovaultd = release_binary("photovaultd")?;
    let dest = dir.join("dest");
    let m = run_quietly(
        &photovaultd,
        &[
            OsStr::new("organize"),
            OsStr::new("--from"),
            src.as_os_str(),
            OsStr::new("--to"),
            dest.as_os_str(),
            OsStr::new("--jpeg-quality"),
            OsStr::new("92"),
        ],
    )?;
    let written = count_files(&dest.join("Organized/photos"), "jpg");
    if written != FILES {
        bail!("photovaultd wrote {written} JPEGs instead of {FILES}");
    }
    let ours = FILES as f64 / m.wall_seconds;

    let Some(heif_convert) = heif_convert else {
        println!("| converter | wall (s) | images/s | peak RSS (MiB) |");
        println!(
            "| photovaultd organize | {:.2} | **{ours:.1}** | {:.1} |",
            m.wall_seconds,
            mib(m.max_rss_bytes)
        );
        println!(
            "heif-convert is not installed (Debian: libheif-examples): the comparison was skipped"
        );
        return Ok(());
    };
    let out = dir.join("heif-convert");
    std::fs::create_dir_all(&out)?;
    let started = Instant::now();
    let mut rss = 0;
    for i in 0..FILES {
        let input = src.join(format!("IMG_{i:04}.HEIC"));
        let output = out.join(format!("IMG_{i:04}.jpg"));
        let m = run_quietly(
            &heif_convert,
            &[
                OsStr::new("-q"),
                OsStr::new("92"),
                input.as_os_str(),
                output.as_os_str(),
            ],
        )?;
        rss = rss.max(m.max_rss_bytes);
    }
    let theirs_wall = started.elapsed().as_secs_f64();
    let theirs = FILES as f64 / theirs_wall;
    println!("| converter | wall (s) | images/s | peak RSS (MiB) |");
    println!("| --- | --- | --- | --- |");
    println!(
        "| `photovaultd organize` (EXIF, XMP, ICC kept; fsync per file; catalog) | {:.2} | **{ours:.1}** | {:.1} |",
        m.wall_seconds,
        mib(m.max_rss_bytes)
    );
    println!(
        "| `heif-convert -q 92`, file by file | {theirs_wall:.2} | {theirs:.1} | {:.1} |",
        mib(rss)
    );
    println!("photovaultd / heif-convert: {:.2}x", ours / theirs);
    Ok(())
}

fn mib(b: u64) -> f64 {
    b as f64 / (1 << 20) as f64
}

fn count_files(dir: &Path, ext: &str) -> usize {
    std::fs::read_dir(dir).map_or(0, |rd| {
        rd.flatten()
            .filter(|e| e.path().extension().is_some_and(|x| x == ext))
            .count()
    })
}

fn which(name: &str) -> Option<PathBuf> {
    let out = Command::new("sh")
        .arg("-c")
        .arg(format!("command -v {name}"))
        .output()
        .ok()?;
    let path = String::from_utf8(out.stdout).ok()?;
    let path = path.trim();
    (!path.is_empty()).then(|| PathBuf::from(path))
}

/// The fixtures' HEICs, or HEICs made here when the fixtures are absent.
fn sample_heics() -> Result<(Vec<PathBuf>, String)> {
    let shared = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/fixtures");
    // No fixtures (or an unreadable folder among them): HEICs made here.
    let mut found: Vec<PathBuf> = crate::files_under(&shared)
        .unwrap_or_default()
        .into_iter()
        .filter(|p| {
            p.extension()
                .is_some_and(|x| x.eq_ignore_ascii_case("heic"))
        })
        .collect();
    // The same file in several libraries counts once.
    found.dedup_by(|a, b| a.file_name() == b.file_name());
    if !found.is_empty() {
        let n = found.len();
        return Ok((
            found,
            format!("the {n} distinct HEICs of ../shared/fixtures, repeated"),
        ));
    }
    let dir = bench_dir().join("organize-samples");
    std::fs::create_dir_all(&dir)?;
    let (w, h) = (4032, 3024);
    let pixels = photovault_testkit::media::gradient(w, h);
    let Some(heic) = photovault_testkit::media::heic_picture(&pixels, w, h, &Default::default())
    else {
        bail!("no fixtures and no HEVC encoder in libheif: nothing to benchmark");
    };
    let p = dir.join("generated.heic");
    std::fs::write(&p, heic)?;
    Ok((
        vec![p],
        "one 12-megapixel HEIC encoded here (fixtures absent), repeated".into(),
    ))
}
