//! Export benchmarks:
//! - incremental runs on a 100,000-asset library already exported: history
//!   unchanged; history moved on by background work, by analysis touching
//!   asset rows, by one edit, and by a change that cannot be traced to an
//!   asset (the whole library is read);
//! - first-export throughput against `cp -r` of the same originals;
//! - side by side with osxphotos on a library cloned from a real one.

use std::path::Path;
use std::process::Command;

use anyhow::{bail, Context, Result};

use crate::measure::{run_discarding_output, run_quietly, Measurement};
use crate::{bench_dir, build_in_child, files_under, release_binary};

pub fn export_benchmarks() -> Result<()> {
    let photovaultd = release_binary("photovaultd")?;
    // `photovault-bench export [throughput|noop|osxphotos]`: one part, or all.
    let only = std::env::args().nth(2);
    let wanted = |name: &str| only.as_deref().is_none_or(|o| o == name);
    let dir = bench_dir().join("export");
    if dir.exists() {
        std::fs::remove_dir_all(&dir)?;
    }
    std::fs::create_dir_all(&dir)?;
    if wanted("throughput") {
        throughput(&photovaultd, &dir, "the project's disk")?;
        // On a RAM filesystem a sync costs nothing: what is left is the
        // engine's own work (hashing, sidecars, catalog) against cp's.
        let shm = Path::new("/dev/shm");
        if shm.is_dir() {
            let ram = shm.join("photovault-bench-throughput");
            if ram.exists() {
                std::fs::remove_dir_all(&ram)?;
            }
            std::fs::create_dir_all(&ram)?;
            let result = throughput(&photovaultd, &ram, "tmpfs (`/dev/shm`)");
            std::fs::remove_dir_all(&ram)?;
            result?;
        } else {
            println!("\nSKIPPED throughput on tmpfs: /dev/shm is not there");
        }
    }
    if wanted("noop") {
        noop_100k(&photovaultd, &dir)?;
    }
    if wanted("osxphotos") {
        osxphotos_side_by_side(&photovaultd, &dir)?;
    }
    Ok(())
}

fn export_args<'a>(lib: &'a Path, dest: &'a Path) -> Vec<&'a std::ffi::OsStr> {
    vec![
        "export".as_ref(),
        "--library".as_ref(),
        lib.as_os_str(),
        "--to".as_ref(),
        dest.as_os_str(),
    ]
}

fn row(label: &str, m: &Measurement, extra: &str) {
    println!(
        "| {label} | {:.3} | {:.1} | {extra} |",
        m.wall_seconds,
        m.max_rss_bytes as f64 / 1048576.0
    );
}

fn header(title: &str) {
    println!("\n### {title}\n");
    println!("| run | wall (s) | peak RSS (MiB) | notes |");
    println!("| --- | --- | --- | --- |");
}

/// 100 originals of 10 MiB each: photovault's first export against `cp -r`
/// of the same files, both from a warm page cache to the same filesystem.
fn throughput(photovaultd: &Path, dir: &Path, filesystem: &str) -> Result<()> {
    const FILES: usize = 100;
    const SIZE: usize = 10 << 20;
    let lib = dir.join("throughput.photoslibrary");
    build_in_child(&lib, FILES, true)?;
    // Replace the testkit's tiny originals with large distinct ones, and
    // record their real sizes so the library is consistent.
    let mut total = 0u64;
    for entry in files_under(&lib.join("originals"))? {
        let mut data = vec![0u8; SIZE];
        let mut x = total.wrapping_add(0x9E37_79B9_7F4A_7C15) | 1;
        for chunk in data.chunks_mut(8) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            chunk.copy_from_slice(&x.to_le_bytes()[..chunk.len()]);
        }
        std::fs::write(&entry, &data)?;
        total += SIZE as u64;
    }
    let sql = format!(
        "UPDATE ZINTERNALRESOURCE SET ZDATALENGTH = {SIZE} WHERE ZVERSION = 0 AND ZRESOURCETYPE IN (0, 1, 3);
         UPDATE ZADDITIONALASSETATTRIBUTES SET ZORIGINALFILESIZE = {SIZE};"
    );
    sqlite(&lib.join("database/Photos.sqlite"), &sql)?;
    // Warm the page cache for both contenders.
    for f in files_under(&lib.join("originals"))? {
        std::fs::read(f)?;
    }
    // Three rounds, alternating, medians reported. `cp -r` alone leaves
    // its data in the page cache; `cp -r && sync` is what a copy that must
    // survive a yanked drive costs, as photovault's does (fsync per file).
    let cp_dest = dir.join("cp-copy");
    let dest = dir.join("throughput-backup");
    let (mut cp, mut cp_sync, mut pv) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..3 {
        for d in [&cp_dest, &dest] {
            if d.exists() {
                std::fs::remove_dir_all(d)?;
            }
        }
        sync()?;
        cp.push(run_discarding_output(
            Path::new("cp"),
            &[
                "-r".as_ref(),
                lib.join("originals").as_os_str(),
                cp_dest.as_os_str(),
            ],
        )?);
        sync()?;
        std::fs::remove_dir_all(&cp_dest)?;
        sync()?;
        let script = format!(
            "cp -r '{}' '{}' && sync",
            lib.join("originals").display(),
            cp_dest.display()
        );
        cp_sync.push(run_discarding_output(
            Path::new("sh"),
            &["-c".as_ref(), script.as_ref()],
        )?);
        sync()?;
        pv.push(run_discarding_output(
            photovaultd,
            &export_args(&lib, &dest),
        )?);
    }
    std::fs::remove_dir_all(&cp_dest)?;
    let median = |v: &mut Vec<Measurement>| {
        v.sort_by(|a, b| a.wall_seconds.total_cmp(&b.wall_seconds));
        v.swap_remove(1)
    };
    let (cp, cp_sync, pv) = (median(&mut cp), median(&mut cp_sync), median(&mut pv));
    let mib = total as f64 / 1048576.0;
    header(&format!("First export throughput on {filesystem}: {FILES} originals of 10 MiB plus their live videos ({mib:.0} MiB), same filesystem, warm cache, median of 3"));
    row(
        "`cp -r originals/`",
        &cp,
        &format!(
            "{:.0} MiB/s (data left in the page cache)",
            mib / cp.wall_seconds
        ),
    );
    row(
        "`cp -r originals/ && sync`",
        &cp_sync,
        &format!("{:.0} MiB/s (data on disk)", mib / cp_sync.wall_seconds),
    );
    row(
        "`photovaultd export` (first run: hash, fsync and rename per file, sidecars, catalog)",
        &pv,
        &format!(
            "{:.0} MiB/s: {:.2} of `cp -r && sync`, {:.2} of `cp -r`",
            mib / pv.wall_seconds,
            cp_sync.wall_seconds / pv.wall_seconds,
            cp.wall_seconds / pv.wall_seconds
        ),
    );
    Ok(())
}

fn sync() -> Result<()> {
    Command::new("sync").status()?;
    Ok(())
}

/// A 100,000-asset library with (tiny) media, exported once; then timed
/// no-op runs.
fn noop_100k(photovaultd: &Path, dir: &Path) -> Result<()> {
    const ASSETS: usize = 100_000;
    let lib = dir.join("noop-100k.photoslibrary");
    build_in_child(&lib, ASSETS, true)?;
    let dest = dir.join("noop-100k-backup");
    let first = run_discarding_output(photovaultd, &export_args(&lib, &dest))?;
    header(&format!(
        "No-op incremental run, {ASSETS} assets already exported"
    ));
    row(
        "first export (for scale)",
        &first,
        "originals, edits, live videos, sidecars",
    );
    let mut noop = Vec::new();
    for _ in 0..5 {
        noop.push(run_discarding_output(
            photovaultd,
            &export_args(&lib, &dest),
        )?);
    }
    noop.sort_by(|a, b| a.wall_seconds.total_cmp(&b.wall_seconds));
    row(
        "no-op, library unchanged (median of 5)",
        &noop[2],
        "history position unchanged: decided from the catalog alone",
    );
    // Photos records a transaction for every save. Those that touch only
    // entities the reader never reads end the run at once; those that touch
    // rows it reads make it read the assets they lead to; a deleted resource
    // row cannot be traced to its asset and makes it read everything.
    let change = |entity: &str, pk: &str, kind: u8| {
        format!(
            "INSERT INTO ACHANGE (Z_ENT, Z_OPT, ZCHANGETYPE, ZENTITY, ZENTITYPK, ZTRANSACTIONID)
             SELECT (SELECT Z_ENT FROM Z_PRIMARYKEY WHERE Z_NAME = 'CHANGE'), 1, {kind},
                    (SELECT Z_ENT FROM Z_PRIMARYKEY WHERE Z_NAME = '{entity}'), pk,
                    (SELECT max(Z_PK) FROM ATRANSACTION)
             FROM ({pk});"
        )
    };
    let cases: [(&str, String, &str); 5] = [
        (
            "no-op, history moved on: background work (median of 5)",
            change("Moment", "SELECT 1 AS pk", 1),
            "only entities the backup never reads changed",
        ),
        (
            "no-op, history moved on: one asset row touched (median of 5)",
            change("Asset", "SELECT 1 AS pk", 1),
            "reads that asset, finds its fingerprint unchanged",
        ),
        (
            "no-op, history moved on: 1,000 asset rows touched (median of 5)",
            change(
                "Asset",
                "SELECT Z_PK AS pk FROM ZASSET WHERE Z_PK % 100 = 7",
                1,
            ),
            "an analysis pass over 1 % of the library: reads those 1,000 assets",
        ),
        (
            "one title changed (median of 5)",
            "UPDATE ZADDITIONALASSETATTRIBUTES SET ZTITLE = 'Run ' || abs(random()) WHERE Z_PK = 2;"
                .to_string()
                + &change("AdditionalAssetAttributes", "SELECT 2 AS pk", 1),
            "reads that asset, rewrites its sidecar",
        ),
        (
            "no-op, history names a deleted resource row (median of 5)",
            change("InternalResource", "SELECT 999999999 AS pk", 2),
            "cannot be traced to an asset: reads all 100,000 and compares fingerprints",
        ),
    ];
    for (label, sql, note) in cases {
        let mut runs = Vec::new();
        for i in 0..5 {
            sqlite(
                &lib.join("database/Photos.sqlite"),
                &format!(
                    "BEGIN;
                     INSERT INTO ATRANSACTION (Z_ENT, Z_OPT, ZTIMESTAMP) VALUES ((SELECT Z_ENT FROM Z_PRIMARYKEY WHERE Z_NAME = 'TRANSACTION'), 1, {i});
                     {sql}
                     COMMIT;"
                ),
            )?;
            runs.push(run_discarding_output(
                photovaultd,
                &export_args(&lib, &dest),
            )?);
        }
        runs.sort_by(|a, b| a.wall_seconds.total_cmp(&b.wall_seconds));
        row(label, &runs[2], note);
    }
    Ok(())
}

/// osxphotos 0.77 and photovault on the same library, cloned from a real one
/// by `../shared/tools/synth_library.py`.
fn osxphotos_side_by_side(photovaultd: &Path, dir: &Path) -> Result<()> {
    const ASSETS: usize = 1000;
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let synth = root.join("shared/tools/synth_library.py");
    let template = root.join("shared/fixtures/photos-libraries/Test-15.4.1.photoslibrary");
    let osxphotos =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/osxphotos-venv/bin/osxphotos");
    if !synth.is_file() || !template.is_dir() {
        println!("\nSKIPPED osxphotos side by side: ../shared is not present");
        return Ok(());
    }
    if !osxphotos.is_file() {
        println!("\nSKIPPED osxphotos side by side: run `make osxphotos` to install osxphotos 0.77.2 into target/osxphotos-venv");
        return Ok(());
    }
    let lib = dir.join("synth-1000.photoslibrary");
    let status = Command::new("python3")
        .arg(&synth)
        .arg(&template)
        .arg(&lib)
        .arg(ASSETS.to_string())
        .status()?;
    if !status.success() {
        bail!("synth_library.py failed");
    }
    let osx_dest = dir.join("osxphotos-export");
    std::fs::create_dir_all(&osx_dest)?;
    let osx_args = |update: bool| {
        let mut a: Vec<std::ffi::OsString> = vec![
            "export".into(),
            osx_dest.clone().into(),
            "--library".into(),
            lib.clone().into(),
        ];
        if update {
            a.push("--update".into());
        }
        a
    };
    let run_osx = |update: bool| -> Result<Measurement> {
        let args = osx_args(update);
        let refs: Vec<&std::ffi::OsStr> = args.iter().map(|a| a.as_os_str()).collect();
        run_quietly(&osxphotos, &refs)
    };
    let osx_first = run_osx(true)?;
    let osx_noop = run_osx(true)?;
    let pv_dest = dir.join("photovault-export");
    let pv_first = run_discarding_output(photovaultd, &export_args(&lib, &pv_dest))?;
    let pv_noop = run_discarding_output(photovaultd, &export_args(&lib, &pv_dest))?;
    header(&format!(
        "Side by side with osxphotos 0.77.2: {ASSETS} assets cloned from Test-15.4.1"
    ));
    row("`osxphotos export --update` (first)", &osx_first, "");
    row(
        "`photovaultd export` (first)",
        &pv_first,
        "with XMP sidecars",
    );
    row("`osxphotos export --update` (no-op)", &osx_noop, "");
    row(
        "`photovaultd export` (no-op)",
        &pv_noop,
        &format!(
            "{:.0}x faster",
            osx_noop.wall_seconds / pv_noop.wall_seconds
        ),
    );
    Ok(())
}

fn sqlite(db: &Path, sql: &str) -> Result<()> {
    let status = Command::new("sqlite3")
        .arg(db)
        .arg(sql)
        .status()
        .context("running sqlite3")?;
    if !status.success() {
        bail!("sqlite3 failed on {}", db.display());
    }
    Ok(())
}
