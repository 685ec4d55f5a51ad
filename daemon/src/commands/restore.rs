//! `photovaultd restore`: get photos back from a destination, without the
//! daemon.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::anyhow;
use photovault::restore::{self, RestoreOptions, RestoreReport};

use super::progress::{human_bytes, TerminalProgress};

/// Arguments of `photovaultd restore`.
#[derive(clap::Args)]
pub struct RestoreArgs {
    /// The destination folder to restore from (the one holding .photovault/).
    #[arg(value_name = "DEST")]
    dest: PathBuf,
    /// Where to put what is restored: the new library package (e.g. ~/Pictures/Restored.photoslibrary), or with --export a folder.
    #[arg(long, value_name = "PATH")]
    to: PathBuf,
    /// Rebuild the state of the last complete run at or before this time (a run stamp such as 2024-05-01T10-00-00Z, a date, or "2024-05-01 18:30").
    #[arg(long, value_name = "TIMESTAMP")]
    at: Option<String>,
    /// Write into PATH even though it exists.
    #[arg(long)]
    force: bool,
    /// Restore the exported photos (a folder to import into Photos) instead of the mirrored library.
    #[arg(long)]
    export: bool,
    /// With --export: only photos taken in this year (repeatable).
    #[arg(long = "year", value_name = "YEAR", requires = "export")]
    years: Vec<i32>,
    /// With --export: only photos in this album, by name or Folder/Album path (repeatable).
    #[arg(long = "album", value_name = "ALBUM", requires = "export")]
    albums: Vec<String>,
    /// Which mirrored library, when the drive holds several.
    #[arg(long, value_name = "NAME")]
    library: Option<String>,
    /// List what would be restored; write nothing.
    #[arg(long)]
    dry_run: bool,
    /// Print a JSON report instead of text.
    #[arg(long)]
    json: bool,
}

/// Restores and reports; exit status 4 when some file is missing or damaged.
pub fn run(args: &RestoreArgs) -> anyhow::Result<ExitCode> {
    let at = args
        .at
        .as_deref()
        .map(restore::parse_at)
        .transpose()
        .map_err(|e| anyhow!("--at: {e}"))?;
    let options = RestoreOptions {
        at,
        force: args.force,
        export: args.export,
        years: args.years.clone(),
        albums: args.albums.clone(),
        package: args.library.clone(),
        dry_run: args.dry_run,
        cancel: None,
    };
    let bar = TerminalProgress::new(!args.json && std::io::stderr().is_terminal());
    let report = restore::restore(&args.dest, &args.to, &options, &bar)?;
    super::progress::print_report(args.json, &report, write_text)?;
    Ok(super::progress::exit_code(report.complete(), 4))
}

/// The report for people.
pub fn write_text(out: &mut impl Write, r: &RestoreReport) -> std::io::Result<()> {
    let when = r
        .run_started
        .map(|t| {
            format!(
                " as of the run of {}",
                photovault::destination::run_stamp(t)
            )
        })
        .unwrap_or_default();
    if r.dry_run {
        writeln!(out, "Dry run: nothing was written.")?;
        for p in &r.planned {
            writeln!(out, "  would restore {p}")?;
        }
        writeln!(
            out,
            "Would restore {} files ({}) of the {}{when} into {}.",
            r.files,
            human_bytes(r.bytes),
            r.source,
            r.target.display()
        )?;
    } else {
        writeln!(
            out,
            "Restored {} files ({}) of the {}{when} into {} in {:.1} s.",
            r.files,
            human_bytes(r.bytes),
            r.source,
            r.target.display(),
            r.seconds
        )?;
    }
    for p in &r.unavailable {
        writeln!(out, "UNAVAILABLE {}: {}", p.path, p.detail)?;
    }
    for p in &r.damaged {
        writeln!(out, "DAMAGED     {}: {}", p.path, p.detail)?;
    }
    if !r.dry_run && r.complete() && r.source.starts_with("mirror") {
        writeln!(
            out,
            "Every file matches the backup. To open it, hold Option while starting Photos and choose the restored library."
        )?;
    }
    Ok(())
}
