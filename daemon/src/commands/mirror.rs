//! `photovaultd mirror`: the mirror engine run by hand.

use std::io::{IsTerminal, Write};
use std::process::ExitCode;

use photovault::mirror::{self, MirrorOptions, MirrorReport};
use photovault::versions::Retention;

use super::progress::{human_bytes, TerminalProgress};

/// Arguments of `photovaultd mirror`.
#[derive(clap::Args)]
pub struct MirrorArgs {
    #[command(flatten)]
    target: super::LibraryToDestination,
    /// Show what would be copied and moved, and write nothing at all.
    #[arg(long)]
    dry_run: bool,
    /// Proceed even though the library lost more originals than --deletion-guard allows.
    #[arg(long)]
    allow_deletions: bool,
    /// Stop before touching the mirror when more than this percentage of its originals left the library.
    #[arg(long, value_name = "PERCENT", default_value_t = 10.0)]
    deletion_guard: f64,
    /// Remove runs' folders in Versions/ older than this many days (0: keep forever).
    #[arg(long, value_name = "DAYS", default_value_t = 90)]
    keep_days: u32,
    /// Then remove the oldest while Versions/ is larger than this many GB.
    #[arg(long, value_name = "GB")]
    max_versions_gb: Option<f64>,
    /// Print a JSON summary instead of text.
    #[arg(long)]
    json: bool,
}

/// Runs the mirror and reports it; exit status 3 when some file failed.
pub fn run(args: &MirrorArgs) -> anyhow::Result<ExitCode> {
    if !(0.0..=100.0).contains(&args.deletion_guard) {
        anyhow::bail!("--deletion-guard must be a percentage between 0 and 100");
    }
    let options = MirrorOptions {
        dry_run: args.dry_run,
        enrol: args.target.enrol(),
        allow_deletions: args.allow_deletions,
        deletion_guard: args.deletion_guard / 100.0,
        retention: Retention {
            keep_days: (args.keep_days > 0).then_some(args.keep_days),
            max_bytes: args.max_versions_gb.map(|gb| (gb * 1e9) as u64),
        },
        cancel: None,
    };
    let bar = TerminalProgress::new(!args.json && std::io::stderr().is_terminal());
    let report = mirror::mirror(&args.target.library, &args.target.to, &options, &bar)?;
    super::progress::print_report(args.json, &report, write_text)?;
    Ok(super::progress::exit_code(report.errors.is_empty(), 3))
}

fn write_text(out: &mut impl Write, r: &MirrorReport) -> std::io::Result<()> {
    if r.dry_run {
        super::progress::write_dry_run_header(out, &r.destination)?;
        for f in &r.planned {
            writeln!(out, "  {}: {}", f.path, f.reason)?;
        }
    }
    writeln!(
        out,
        "{}: {} new, {} changed, {} unchanged, {} gone from the library (kept in Versions/), {} databases from a snapshot, {} failed; {} written in {:.1} s",
        r.package,
        r.new,
        r.changed,
        r.unchanged,
        r.deleted,
        r.databases,
        r.errors.len(),
        human_bytes(r.bytes),
        r.seconds
    )?;
    for s in &r.skipped {
        writeln!(out, "skipped {}: {}", s.path, s.reason)?;
    }
    for e in &r.errors {
        writeln!(out, "FAILED {}: {}", e.path, e.reason)?;
    }
    if !r.pruned.folders.is_empty() {
        writeln!(
            out,
            "Retention removed {} old version folder(s), {}.",
            r.pruned.folders.len(),
            human_bytes(r.pruned.bytes)
        )?;
    }
    Ok(())
}
