//! `photovaultd verify`: re-hash everything a destination holds.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use photovault::verify::{self, VerifyReport};

use super::progress::{human_bytes, TerminalProgress};

/// Arguments of `photovaultd verify`.
#[derive(clap::Args)]
pub struct VerifyArgs {
    /// The destination folder to check (the one holding .photovault/).
    #[arg(long, value_name = "DIR")]
    dest: PathBuf,
    /// Print a JSON report instead of text.
    #[arg(long)]
    json: bool,
}

/// Verifies and reports; exit status 4 when anything is wrong.
pub fn run(args: &VerifyArgs) -> anyhow::Result<ExitCode> {
    let bar = TerminalProgress::new(!args.json && std::io::stderr().is_terminal());
    let report = verify::verify(&args.dest, None, &bar)?;
    super::progress::print_report(args.json, &report, write_text)?;
    Ok(super::progress::exit_code(report.clean(), 4))
}

/// The report for people: the verdict first, then every problem by path.
pub fn write_text(out: &mut impl Write, r: &VerifyReport) -> std::io::Result<()> {
    writeln!(
        out,
        "{} files checked ({}) in {:.1} s: {} intact, {} missing, {} changed, {} unexpected.",
        r.checked,
        human_bytes(r.bytes),
        r.seconds,
        r.ok,
        r.missing.len(),
        r.changed.len(),
        r.unexpected.len()
    )?;
    for p in &r.missing {
        writeln!(out, "MISSING    {}: {}", p.path, p.detail)?;
    }
    for p in &r.changed {
        writeln!(out, "CHANGED    {}: {}", p.path, p.detail)?;
    }
    for p in &r.unexpected {
        writeln!(out, "UNEXPECTED {}: {}", p.path, p.detail)?;
    }
    if r.clean() {
        writeln!(out, "The backup is intact.")?;
    } else if !r.missing.is_empty() || !r.changed.is_empty() {
        writeln!(
            out,
            "Some backed-up files are damaged or gone: the next backup copies them again from the library (a damaged file is kept in Versions/). Copies in Versions/ cannot be repaired; if this keeps happening, the drive may be failing."
        )?;
    }
    Ok(())
}
