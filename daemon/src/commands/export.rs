//! `photovaultd export`: the export engine run by hand, with a progress bar
//! on a terminal and a JSON summary for scripts.

use std::io::{IsTerminal, Write};
use std::process::ExitCode;

use anyhow::Context;

use photovault::export::{self, ExportOptions, ExportReport, FolderTemplate};

/// Arguments of `photovaultd export`.
#[derive(clap::Args)]
pub struct ExportArgs {
    #[command(flatten)]
    target: super::LibraryToDestination,
    /// Show what would be written, and write nothing at all.
    #[arg(long)]
    dry_run: bool,
    /// Also check that every exported file is still there with its size, and re-copy those that are not.
    #[arg(long)]
    check: bool,
    /// Folder layout under Export/ (placeholders {year} {month} {day} {album}).
    #[arg(
        long,
        value_name = "TEMPLATE",
        default_value = "{year}/{year}-{month}/"
    )]
    template: String,
    /// Do not write XMP sidecars.
    #[arg(long)]
    no_sidecars: bool,
    /// Print a JSON summary instead of text.
    #[arg(long)]
    json: bool,
}

/// Runs the export and reports it.
pub fn run(args: &ExportArgs) -> anyhow::Result<ExitCode> {
    let template = FolderTemplate::parse(&args.template).context("invalid --template")?;
    let options = ExportOptions {
        template,
        sidecars: !args.no_sidecars,
        dry_run: args.dry_run,
        check: args.check,
        enrol: args.target.enrol(),
        cancel: None,
    };
    let bar = super::progress::TerminalProgress::new(!args.json && std::io::stderr().is_terminal());
    let report = export::export(&args.target.library, &args.target.to, &options, &bar)?;
    super::progress::print_report(args.json, &report, write_text)?;
    Ok(super::progress::exit_code(report.failures.is_empty(), 3))
}

fn write_text(out: &mut impl Write, r: &ExportReport) -> std::io::Result<()> {
    let c = &r.counts;
    if r.dry_run {
        super::progress::write_dry_run_header(out, &r.destination)?;
        for f in &r.files {
            writeln!(out, "  would write {} ({}, {})", f.path, f.role, f.why)?;
        }
    } else if r.up_to_date {
        writeln!(
            out,
            "{} is up to date: the library has not changed since the last export.",
            r.destination.display()
        )?;
    }
    writeln!(
        out,
        "{} new, {} updated, {} unchanged, {} gone from the library (kept), {} missing, {} failed; {} written in {:.1} s",
        c.exported,
        c.updated,
        c.unchanged,
        c.gone,
        c.missing,
        c.errors,
        super::progress::human_bytes(c.bytes),
        r.seconds
    )?;
    if !r.missing_assets.is_empty() {
        writeln!(
            out,
            "Missing originals (a later run exports them once they are on this Mac):"
        )?;
        for m in r.missing_assets.iter().take(20) {
            writeln!(out, "  {}  {}", m.uuid, m.filename)?;
        }
        if r.missing_assets.len() > 20 {
            writeln!(
                out,
                "  ... and {} more (see --json)",
                r.missing_assets.len() - 20
            )?;
        }
    }
    for f in &r.failures {
        writeln!(out, "FAILED {}  {}: {}", f.uuid, f.filename, f.reason)?;
    }
    Ok(())
}
