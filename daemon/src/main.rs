//! `photovaultd`: the photovault daemon and its one-shot engine commands.

mod commands;

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// photovault's daemon and engines: verified, incremental backups of Apple
/// Photos libraries onto external drives.
///
/// Without a command it runs as the daemon: it watches for enrolled backup
/// drives and library changes, runs backups, and answers photovaultctl on its
/// socket. It stops cleanly on SIGTERM or SIGINT.
#[derive(Parser)]
#[command(name = "photovaultd", version, about, long_about = None)]
struct Cli {
    /// Configuration file (default: the platform's, else built-in defaults).
    #[arg(long, value_name = "FILE", global = false)]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Read a Photos library and describe it (read-only; nothing is written).
    Inspect(commands::inspect::InspectArgs),
    /// Export a library's originals, edits and metadata to a destination folder, incrementally.
    Export(commands::export::ExportArgs),
    /// Mirror a whole library package to a destination, keeping what changes in Versions/.
    Mirror(commands::mirror::MirrorArgs),
    /// Re-hash every file of a destination and report missing, damaged and unexpected ones.
    Verify(commands::verify::VerifyArgs),
    /// Restore a mirrored library (as of any run) or exported photos from a destination.
    Restore(commands::restore::RestoreArgs),
    /// Sort a library or a folder into photos, videos, screenshots, generated and unknown, named by capture time.
    Organize(commands::organize::OrganizeArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    photovault::write::raise_open_file_limit();
    let Some(command) = cli.command else {
        // The daemon: logs go to its files, and to stderr when a person
        // watches the terminal.
        let foreground = std::io::stderr().is_terminal();
        let config = match cli.config.map(std::path::absolute).transpose() {
            Ok(c) => c,
            Err(e) => {
                eprintln!("photovaultd: error: the --config path cannot be used: {e}");
                return ExitCode::FAILURE;
            }
        };
        return match photovault::service::run(config.as_deref(), foreground) {
            Ok(()) => ExitCode::SUCCESS,
            Err(err) => {
                eprintln!("photovaultd: error: {err:#}");
                ExitCode::FAILURE
            }
        };
    };
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("PHOTOVAULT_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn,nom_exif=error")),
        )
        .with_writer(std::io::stderr)
        .init();
    let result = match command {
        Command::Inspect(args) => commands::inspect::run(&args),
        Command::Export(args) => commands::export::run(&args),
        Command::Mirror(args) => commands::mirror::run(&args),
        Command::Verify(args) => commands::verify::run(&args),
        Command::Restore(args) => commands::restore::run(&args),
        Command::Organize(args) => commands::organize::run(&args),
    };
    match result {
        Ok(code) => code,
        // The reader of our output went away (`| head`): not an error.
        Err(err) if is_broken_pipe(&err) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("photovaultd: error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
            || cause
                .downcast_ref::<serde_json::Error>()
                .and_then(|e| e.io_error_kind())
                .is_some_and(|k| k == std::io::ErrorKind::BrokenPipe)
    })
}
