//! `photovaultd`: the photovault daemon and its one-shot engine commands.

mod commands;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// photovault's daemon and engines: verified, incremental backups of Apple
/// Photos libraries onto external drives.
#[derive(Parser)]
#[command(name = "photovaultd", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Read a Photos library and describe it (read-only; nothing is written).
    Inspect(commands::inspect::InspectArgs),
    /// Export a library's originals, edits and metadata to a destination folder, incrementally.
    Export(commands::export::ExportArgs),
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("PHOTOVAULT_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Inspect(args) => commands::inspect::run(&args),
        Command::Export(args) => commands::export::run(&args),
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
