//! `photovaultd organize`: a library or a folder sorted by kind and named
//! by capture time, with a progress bar on a terminal, every decision's
//! reason with `--verbose` or `--dry-run`, and a JSON report for scripts.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Context};
use photovault::destination::Enrol;
use photovault::media::{heic, Zone};
use photovault::organize::{self, Action, OrganizeOptions, OrganizeReport, Source};

use super::progress::human_bytes;
use super::progress::TerminalProgress;

/// Arguments of `photovaultd organize`.
#[derive(clap::Args)]
#[command(group(clap::ArgGroup::new("source").required(true).args(["from", "library"])))]
pub struct OrganizeArgs {
    /// A folder of photos and videos to organize (read only, never changed).
    #[arg(long, value_name = "DIR")]
    from: Option<PathBuf>,
    /// A Photos library to organize (read only, never changed).
    #[arg(long, value_name = "PATH")]
    library: Option<PathBuf>,
    /// The destination folder (created if missing; must be empty or a photovault destination).
    #[arg(long, value_name = "DIR")]
    to: PathBuf,
    /// Enrol a folder that already holds other files as a destination.
    #[arg(long)]
    init: bool,
    /// Show what would be done and why, and write nothing at all.
    #[arg(long)]
    dry_run: bool,
    /// Show every file with its category, name and the reasons.
    #[arg(long)]
    verbose: bool,
    /// Print a JSON report instead of text.
    #[arg(long)]
    json: bool,
    /// Turn HEIC photos into JPEGs (the default).
    #[arg(long, overrides_with = "keep_heic")]
    heic_to_jpeg: bool,
    /// Copy HEIC photos as they are, with their .aae edits.
    #[arg(long, overrides_with = "heic_to_jpeg")]
    keep_heic: bool,
    /// JPEG quality of converted HEICs, 1-100.
    #[arg(long, value_name = "N", default_value_t = heic::DEFAULT_QUALITY)]
    jpeg_quality: u8,
    /// Time zone for times stored in UTC (videos) and file times: an IANA
    /// name such as Europe/Paris, or "local".
    #[arg(long, value_name = "ZONE", default_value = "local")]
    time_zone: String,
}

/// Runs the organize engine and reports.
pub fn run(args: &OrganizeArgs) -> anyhow::Result<ExitCode> {
    if !(1..=100).contains(&args.jpeg_quality) {
        bail!("--jpeg-quality must be between 1 and 100 (92 is the default)");
    }
    let zone = Zone::parse(&args.time_zone)
        .map_err(anyhow::Error::msg)
        .context("invalid --time-zone")?;
    let source = match (&args.from, &args.library) {
        (Some(dir), _) => Source::Folder(dir.clone()),
        (None, Some(lib)) => Source::Library(lib.clone()),
        (None, None) => bail!("say what to organize: --from DIR or --library PATH"),
    };
    let options = OrganizeOptions {
        heic_to_jpeg: !args.keep_heic,
        jpeg_quality: args.jpeg_quality,
        dry_run: args.dry_run,
        zone,
        enrol: if args.init {
            Enrol::Always
        } else {
            Enrol::IfEmpty
        },
        cancel: None,
        min_age: None,
    };
    let bar = TerminalProgress::new(!args.json && std::io::stderr().is_terminal());
    let report = organize::organize(&source, &args.to, &options, &bar)?;
    let verbose = args.verbose || args.dry_run;
    super::progress::print_report(args.json, &report, |out, r| write_text(out, r, verbose))?;
    Ok(super::progress::exit_code(report.counts.failed == 0, 3))
}

fn write_text(out: &mut impl Write, r: &OrganizeReport, verbose: bool) -> std::io::Result<()> {
    if r.dry_run {
        super::progress::write_dry_run_header(out, &r.destination)?;
    }
    for f in &r.files {
        let interesting = f.action == Action::Failed
            || f.action == Action::CopiedUnconverted
            || (f.category == photovault::media::Category::Unknown
                && f.action != Action::AlreadyOrganized);
        if !(verbose || interesting) {
            continue;
        }
        let verb = match (f.action, r.dry_run) {
            (Action::Copied, false) => "copied",
            (Action::Copied, true) => "would copy",
            (Action::Converted, false) => "converted",
            (Action::Converted, true) => "would convert",
            (Action::CopiedUnconverted, _) => "copied unconverted",
            (Action::LeftBehind, false) => "left behind",
            (Action::LeftBehind, true) => "would leave behind",
            (Action::AlreadyOrganized, _) => "already organized",
            (Action::Failed, _) => "FAILED",
        };
        let to = f
            .destination
            .as_deref()
            .map(|d| format!(" -> {d}"))
            .unwrap_or_default();
        writeln!(out, "{verb} {}{to}", f.source)?;
        writeln!(out, "    {}: {}", f.category.dir_name(), f.reason)?;
        if let (Some(t), Some(src)) = (&f.capture_time, f.time_source) {
            let guess = if f.time_is_guess { " (a guess)" } else { "" };
            writeln!(
                out,
                "    taken {t} from {}{guess}",
                serde_json::to_string(&src)
                    .unwrap_or_default()
                    .trim_matches('"')
            )?;
        }
        for n in &f.notes {
            writeln!(out, "    note: {n}")?;
        }
    }
    for p in &r.problems {
        writeln!(out, "skipped {}: {}", p.path, p.reason)?;
    }
    let c = &r.counts;
    let cats: Vec<String> = c
        .by_category
        .iter()
        .map(|(k, v)| format!("{v} {k}"))
        .collect();
    writeln!(
        out,
        "{} {} ({}), {} converted to JPEG, {} not converted, {} already organized, {} edit sidecars left behind, {} failed, {} skipped; {} in {:.1} s",
        c.written,
        if r.dry_run { "to write" } else { "written" },
        if cats.is_empty() { "nothing new".to_string() } else { cats.join(", ") },
        c.converted,
        c.not_converted,
        c.already_organized,
        c.left_behind,
        c.failed,
        c.problems,
        human_bytes(c.bytes),
        r.seconds
    )?;
    Ok(())
}
