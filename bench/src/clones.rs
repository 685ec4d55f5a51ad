//! `photovault-bench clones`: the engines on 100,000-asset libraries cloned
//! from the real fixtures by `../shared/tools/synth_library.py`, one per
//! template (`photovault-bench clones TEMPLATE` runs one):
//! - `photovaultd inspect` (a full read of the library);
//! - the first `photovaultd export` against `cp -r originals && sync`;
//! - no-op exports: nothing changed, background work in the history, 1 % of
//!   the asset rows touched, half of the originals gone from the library;
//! - the first and a no-op `photovaultd mirror` against `rsync -a && sync`.
//!
//! The clones are cached under `target/bench-data/clones/` and generated
//! (in parallel) only when missing; the benchmark works on copies of them
//! (originals hard-linked, database copied), so the cache never changes.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use anyhow::{bail, Context, Result};

use crate::measure::{run_logged, Measurement};
use crate::{bench_dir, files_under, release_binary};

/// The real libraries cloned, in `../shared/fixtures/photos-libraries`.
pub(crate) const TEMPLATES: [&str; 3] = ["Test-15.4.1", "Test-Media-Types-15.7.2", "Test-10.15.7"];

/// Assets added to each clone.
const ASSETS: usize = 100_000;
/// Bytes of each cloned original (a real JPEG/HEIC head).
const ORIGINAL_BYTES: usize = 6144;
/// Runs of `inspect`; the median is reported.
const RUNS: usize = 5;
/// Runs of each no-op case.
const NOOP_RUNS: usize = 3;
/// Runs of the first export and mirror and of their baselines, alternating
/// (a first export of 100,000 assets takes minutes).
const FIRST_RUNS: usize = 1;

/// One clone the cache must hold.
pub(crate) struct CloneSpec<'a> {
    /// The template's name, without `.photoslibrary`.
    pub template: &'a str,
    /// Assets `synth_library.py` adds.
    pub assets: usize,
    /// Bytes of each added original.
    pub bytes: usize,
}

/// `../shared`, next to the workspace.
fn shared() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared")
}

fn template_path(template: &str) -> PathBuf {
    shared().join(format!(
        "fixtures/photos-libraries/{template}.photoslibrary"
    ))
}

/// Where the clone of `spec` is cached.
pub(crate) fn clone_path(spec: &CloneSpec) -> PathBuf {
    bench_dir()
        .join("clones")
        .join(format!("{}-{}.photoslibrary", spec.template, spec.assets))
}

/// Makes sure the cache holds every clone in `specs`, generating the missing
/// ones side by side, and returns their paths. A clone is generated under a
/// `.part` name and renamed when complete, so an interrupted generation is
/// never taken for a clone. `synth_library.py` copies only the template's
/// database: the template's own originals are copied in too.
pub(crate) fn ensure_clones(specs: &[CloneSpec]) -> Result<Vec<PathBuf>> {
    let synth = shared().join("tools/synth_library.py");
    if !synth.is_file() {
        bail!(
            "{} is missing: the clone benchmarks need ../shared",
            synth.display()
        );
    }
    let mut generating: Vec<(Child, PathBuf, PathBuf)> = Vec::new();
    for spec in specs {
        let path = clone_path(spec);
        if path.is_dir() {
            continue;
        }
        std::fs::create_dir_all(path.parent().context("clone path")?)?;
        let part = path.with_extension("photoslibrary.part");
        if part.exists() {
            std::fs::remove_dir_all(&part)?;
        }
        println!(
            "generating {} ({} assets of {} bytes; a few minutes per 100,000)",
            path.display(),
            spec.assets,
            spec.bytes
        );
        let child = Command::new("python3")
            .arg(&synth)
            .arg(template_path(spec.template))
            .arg(&part)
            .arg(spec.assets.to_string())
            .arg("--bytes")
            .arg(spec.bytes.to_string())
            .stdout(Stdio::null())
            .spawn()
            .context("starting python3")?;
        generating.push((child, part, path));
    }
    for (mut child, part, path) in generating {
        if !child.wait()?.success() {
            bail!("synth_library.py failed for {}", path.display());
        }
        std::fs::rename(&part, &path)?;
    }
    for spec in specs {
        add_template_originals(&template_path(spec.template), &clone_path(spec))?;
    }
    Ok(specs.iter().map(clone_path).collect())
}

/// Copies the template's originals the clone lacks (its own assets').
fn add_template_originals(template: &Path, clone: &Path) -> Result<()> {
    let from = template.join("originals");
    for file in files_under(&from)? {
        let to = clone.join("originals").join(file.strip_prefix(&from)?);
        if !to.exists() {
            std::fs::create_dir_all(to.parent().context("original path")?)?;
            std::fs::copy(&file, &to)?;
        }
    }
    Ok(())
}

/// A copy of `library` at `copy` that can be changed freely: files
/// hard-linked, the database folder copied.
pub(crate) fn working_copy(library: &Path, copy: &Path) -> Result<()> {
    remove(copy)?;
    shell(&format!(
        "cp -al '{lib}' '{copy}' && rm -r '{copy}/database' && cp -a '{lib}/database' '{copy}/database'",
        lib = library.display(),
        copy = copy.display()
    ))
}

/// Removes a folder if it is there.
pub(crate) fn remove(path: &Path) -> Result<()> {
    if path.exists() {
        std::fs::remove_dir_all(path).with_context(|| format!("removing {}", path.display()))?;
    }
    Ok(())
}

/// Runs `script` with `sh -c`, failing when it fails.
pub(crate) fn shell(script: &str) -> Result<()> {
    if !Command::new("sh").arg("-c").arg(script).status()?.success() {
        bail!("`{script}` failed");
    }
    Ok(())
}

/// Runs `sql` on the database with the `sqlite3` tool; its output.
pub(crate) fn sqlite(db: &Path, sql: &str) -> Result<String> {
    let out = Command::new("sqlite3")
        .arg(db)
        .arg(sql)
        .output()
        .context("running sqlite3")?;
    if !out.status.success() {
        bail!(
            "sqlite3 failed on {}: {}",
            db.display(),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// Records one Photos save in the persistent history: a transaction, with
/// one change (an update) for every row that `rows` selects from `table`
/// (`Z_ENT` and `Z_PK` of each), after running `before`.
pub(crate) fn record_save(db: &Path, before: &str, table: &str, rows: &str) -> Result<()> {
    sqlite(
        db,
        &format!(
            "BEGIN;
             {before}
             INSERT INTO ATRANSACTION (Z_ENT, Z_OPT, ZTIMESTAMP)
               VALUES ((SELECT Z_ENT FROM Z_PRIMARYKEY WHERE Z_NAME = 'TRANSACTION'), 1,
                       strftime('%s', 'now') - 978307200);
             INSERT INTO ACHANGE (Z_ENT, Z_OPT, ZCHANGETYPE, ZENTITY, ZENTITYPK, ZTRANSACTIONID)
               SELECT (SELECT Z_ENT FROM Z_PRIMARYKEY WHERE Z_NAME = 'CHANGE'), 1, 1, Z_ENT, Z_PK,
                      (SELECT max(Z_PK) FROM ATRANSACTION)
               FROM {table} WHERE {rows};
             COMMIT;"
        ),
    )?;
    Ok(())
}

/// The asset table of a library's database: `ZASSET`, or `ZGENERICASSET`
/// up to Photos 5 (macOS 10.15).
pub(crate) fn asset_table(db: &Path) -> Result<String> {
    let name = sqlite(
        db,
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name IN ('ZASSET', 'ZGENERICASSET') ORDER BY name LIMIT 1",
    )?;
    if name.is_empty() {
        bail!("{} has no asset table", db.display());
    }
    Ok(name)
}

/// Today, as the tables print it.
pub(crate) fn today() -> String {
    chrono::Local::now().format("%Y-%m-%d").to_string()
}

/// Prints a table's title and header.
pub(crate) fn header(title: &str) {
    println!("\n### {title}\n");
    println!("| date | run | runs | wall median (s) | wall min (s) | peak RSS max (MiB) | notes |");
    println!("| --- | --- | --- | --- | --- | --- | --- |");
}

/// Prints one table row: median and minimum wall time, and the largest
/// peak RSS, of `runs`.
pub(crate) fn row(date: &str, label: &str, runs: &[Measurement], note: &str) {
    let mut walls: Vec<f64> = runs.iter().map(|m| m.wall_seconds).collect();
    walls.sort_by(f64::total_cmp);
    let peak = runs.iter().map(|m| m.max_rss_bytes).max().unwrap_or(0);
    println!(
        "| {date} | {label} | {} | {:.3} | {:.3} | {:.1} | {note} |",
        runs.len(),
        walls[walls.len() / 2],
        walls[0],
        peak as f64 / 1048576.0
    );
}

/// What a run said of its outcome, for the notes: its "up to date" and
/// counts lines (`N new, N updated, …`), else its last line.
pub(crate) fn summary(log: &Path) -> String {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let wanted: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| l.contains("up to date") || l.contains(" new, "))
        .collect();
    let line = if wanted.is_empty() {
        text.lines()
            .rev()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("")
            .trim()
            .to_string()
    } else {
        wanted.join(" ")
    };
    line.replace('|', "/")
}

/// `photovaultd ENGINE --library L --to D [--init]`.
pub(crate) fn engine_args<'a>(
    engine: &'a str,
    lib: &'a Path,
    dest: &'a Path,
    init: bool,
) -> Vec<&'a OsStr> {
    let mut args: Vec<&OsStr> = vec![
        engine.as_ref(),
        "--library".as_ref(),
        lib.as_os_str(),
        "--to".as_ref(),
        dest.as_os_str(),
    ];
    if init {
        args.push("--init".as_ref());
    }
    args
}

/// Runs the clone benchmarks and prints one Markdown table per template.
pub fn clones_benchmarks() -> Result<()> {
    let photovaultd = release_binary("photovaultd")?;
    let only = std::env::args().nth(2);
    let templates: Vec<&str> = TEMPLATES
        .into_iter()
        .filter(|t| only.as_deref().is_none_or(|o| o == *t))
        .collect();
    if templates.is_empty() {
        bail!(
            "unknown template {only:?}; available: {}",
            TEMPLATES.join(", ")
        );
    }
    for tool in ["python3", "sqlite3", "rsync", "cp", "sync"] {
        if Command::new("sh")
            .arg("-c")
            .arg(format!("command -v {tool}"))
            .stdout(Stdio::null())
            .status()?
            .success()
        {
            continue;
        }
        bail!("{tool} is not installed; `make bench-tools` installs rsync");
    }
    let specs: Vec<CloneSpec> = templates
        .iter()
        .map(|&template| CloneSpec {
            template,
            assets: ASSETS,
            bytes: ORIGINAL_BYTES,
        })
        .collect();
    let clones = ensure_clones(&specs)?;
    let date = today();
    let commit = Command::new("git")
        .args(["rev-parse", "--short", "HEAD"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default();
    println!("photovault at commit {commit}, {date}");
    for (spec, clone) in specs.iter().zip(&clones) {
        let work = bench_dir().join("clones-run");
        remove(&work)?;
        std::fs::create_dir_all(work.join("logs"))?;
        let result = bench_clone(&photovaultd, spec, clone, &work, &date);
        remove(&work)?;
        result?;
    }
    Ok(())
}

/// Every measure on one clone.
fn bench_clone(
    photovaultd: &Path,
    spec: &CloneSpec,
    clone: &Path,
    work: &Path,
    date: &str,
) -> Result<()> {
    let lib = work.join(format!("{}.photoslibrary", spec.template));
    working_copy(clone, &lib)?;
    let db = lib.join("database/Photos.sqlite");
    let logs = work.join("logs");
    let log = |name: &str, i: usize| logs.join(format!("{name}-{i}.log"));
    let originals = files_under(&lib.join("originals"))?;
    let bytes: u64 = originals
        .iter()
        .map(|f| f.metadata().map(|m| m.len()))
        .sum::<std::io::Result<u64>>()?;
    // Warm the page cache for every contender alike.
    shell(&format!(
        "find '{}' -type f -print0 | xargs -0 cat > /dev/null",
        lib.display()
    ))?;
    header(&format!(
        "{}: {} assets cloned from {} ({} originals, {:.0} MiB)",
        spec.template,
        spec.assets,
        spec.template,
        originals.len(),
        bytes as f64 / 1048576.0
    ));

    let mut runs = Vec::new();
    for i in 0..RUNS {
        let args: [&OsStr; 3] = ["inspect".as_ref(), "--library".as_ref(), lib.as_os_str()];
        runs.push(run_logged(photovaultd, &args, &log("inspect", i))?);
    }
    let assets_line = std::fs::read_to_string(log("inspect", 0))?
        .lines()
        .find(|l| l.to_lowercase().contains("asset"))
        .unwrap_or("")
        .trim()
        .replace('|', "/");
    row(date, "`photovaultd inspect`", &runs, &assets_line);

    // First export against cp, alternating, from the same warm cache.
    let dest = work.join("export");
    let cp_dest = work.join("cp-originals");
    let script = format!(
        "cp -r '{}' '{}' && sync",
        lib.join("originals").display(),
        cp_dest.display()
    );
    let baseline = Baseline {
        script: &script,
        dest: &cp_dest,
        log: "cp",
    };
    let (cp, first) = first_runs(photovaultd, "export", &lib, &dest, &baseline, &log)?;
    remove(&cp_dest)?;
    let ratio = median(&first) / median(&cp);
    row(
        date,
        "`cp -r originals D && sync` (baseline)",
        &cp,
        "same filesystem, warm cache",
    );
    row(
        date,
        "first `photovaultd export --init`",
        &first,
        &format!(
            "{:.2}× `cp -r && sync`; {}",
            ratio,
            summary(&log("first-export", 0))
        ),
    );

    // No-op exports.
    let export = |name: &str, runs: usize, before: &dyn Fn(usize) -> Result<()>| {
        let mut out = Vec::new();
        for i in 0..runs {
            before(i)?;
            out.push(run_logged(
                photovaultd,
                &engine_args("export", &lib, &dest, false),
                &log(name, i),
            )?);
        }
        Ok::<_, anyhow::Error>(out)
    };
    let runs = export("noop", NOOP_RUNS, &|_| Ok(()))?;
    row(
        date,
        "no-op export: nothing changed",
        &runs,
        &summary(&log("noop", 0)),
    );
    let runs = export("background", NOOP_RUNS, &|i| {
        record_save(
            &db,
            &format!(
                "UPDATE ZMOMENT SET ZTITLE = 'Bench {i}' WHERE Z_PK = (SELECT min(Z_PK) FROM ZMOMENT);"
            ),
            "ZMOMENT",
            "Z_PK = (SELECT min(Z_PK) FROM ZMOMENT)",
        )
    })?;
    row(
        date,
        "no-op export: background work in the history (a moment's title)",
        &runs,
        &summary(&log("background", 0)),
    );
    let table = asset_table(&db)?;
    let touched = sqlite(
        &db,
        &format!("SELECT count(*) FROM {table} WHERE Z_PK % 100 = 7"),
    )?;
    let runs = export("touched", NOOP_RUNS, &|_| {
        record_save(
            &db,
            &format!(
                "UPDATE {table} SET ZMODIFICATIONDATE = ZMODIFICATIONDATE + 1 WHERE Z_PK % 100 = 7;"
            ),
            &table,
            "Z_PK % 100 = 7",
        )
    })?;
    row(
        date,
        &format!(
            "no-op export: 1 % of the asset rows touched ({touched} modification dates, one save)"
        ),
        &runs,
        &summary(&log("touched", 0)),
    );

    // Half of the originals gone from the library (as when Photos keeps
    // them in iCloud only): a copy without every other original, exported
    // once into the same destination, then no-op runs.
    let half = work.join(format!("{}-half.photoslibrary", spec.template));
    working_copy(&lib, &half)?;
    for (i, f) in files_under(&half.join("originals"))?.iter().enumerate() {
        if i % 2 == 0 {
            std::fs::remove_file(f)?;
        }
    }
    let transition = run_logged(
        photovaultd,
        &engine_args("export", &half, &dest, false),
        &log("half-first", 0),
    )?;
    row(
        date,
        "export after half the originals went (first run on the copy)",
        &[transition],
        &summary(&log("half-first", 0)),
    );
    let mut runs = Vec::new();
    for i in 0..NOOP_RUNS {
        runs.push(run_logged(
            photovaultd,
            &engine_args("export", &half, &dest, false),
            &log("half", i),
        )?);
    }
    row(
        date,
        "no-op export: half of the originals gone from the library",
        &runs,
        &summary(&log("half", 0)),
    );
    remove(&half)?;
    remove(&dest)?;

    mirror_rows(photovaultd, &lib, work, date)
}

/// What a first run is compared with: a shell command writing `dest`.
struct Baseline<'a> {
    script: &'a str,
    dest: &'a Path,
    /// Its logs' name.
    log: &'a str,
}

/// [`FIRST_RUNS`] first runs of `engine` from `lib` into `dest`, each after
/// one of `baseline`, both from an empty destination and a synced disk:
/// (baseline times, engine times). Logs are `<baseline.log>-<i>` and
/// `first-<engine>-<i>`.
fn first_runs(
    photovaultd: &Path,
    engine: &str,
    lib: &Path,
    dest: &Path,
    baseline: &Baseline,
    log: &dyn Fn(&str, usize) -> PathBuf,
) -> Result<(Vec<Measurement>, Vec<Measurement>)> {
    let (mut base, mut first) = (Vec::new(), Vec::new());
    for i in 0..FIRST_RUNS {
        remove(baseline.dest)?;
        remove(dest)?;
        shell("sync")?;
        base.push(run_logged(
            Path::new("sh"),
            &["-c".as_ref(), baseline.script.as_ref()],
            &log(baseline.log, i),
        )?);
        shell("sync")?;
        first.push(run_logged(
            photovaultd,
            &engine_args(engine, lib, dest, true),
            &log(&format!("first-{engine}"), i),
        )?);
    }
    Ok((base, first))
}

/// First and no-op mirror against `rsync -a` (first: followed by `sync`).
fn mirror_rows(photovaultd: &Path, lib: &Path, work: &Path, date: &str) -> Result<()> {
    let logs = work.join("logs");
    let log = |name: &str, i: usize| logs.join(format!("{name}-{i}.log"));
    let dest = work.join("mirror");
    let rsync_dest = work.join("rsync");
    let rsync_script = format!(
        "rsync -a '{}' '{}' && sync",
        lib.display(),
        rsync_dest.display()
    );
    let baseline = Baseline {
        script: &rsync_script,
        dest: &rsync_dest,
        log: "rsync",
    };
    let (rsync, first) = first_runs(photovaultd, "mirror", lib, &dest, &baseline, &log)?;
    let (mut rsync_noop, mut noop) = (Vec::new(), Vec::new());
    for i in 0..NOOP_RUNS {
        rsync_noop.push(run_logged(
            Path::new("rsync"),
            &["-a".as_ref(), lib.as_os_str(), rsync_dest.as_os_str()],
            &log("rsync-noop", i),
        )?);
        noop.push(run_logged(
            photovaultd,
            &engine_args("mirror", lib, &dest, false),
            &log("mirror-noop", i),
        )?);
    }
    row(date, "`rsync -a L D && sync` (baseline)", &rsync, "");
    row(
        date,
        "first `photovaultd mirror --init`",
        &first,
        &format!(
            "{:.2}× `rsync -a && sync`; {}",
            median(&first) / median(&rsync),
            summary(&log("first-mirror", 0))
        ),
    );
    row(date, "`rsync -a L D`, nothing changed", &rsync_noop, "");
    row(
        date,
        "no-op `photovaultd mirror`",
        &noop,
        &summary(&log("mirror-noop", 0)),
    );
    remove(&dest)?;
    remove(&rsync_dest)?;
    Ok(())
}

/// The median wall time of `runs`.
pub(crate) fn median(runs: &[Measurement]) -> f64 {
    let mut walls: Vec<f64> = runs.iter().map(|m| m.wall_seconds).collect();
    walls.sort_by(f64::total_cmp);
    walls[walls.len() / 2]
}
