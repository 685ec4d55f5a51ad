//! `photovaultctl`: the small client of `photovaultd`.
use clap::Parser;

/// Talk to the photovault daemon: status, logs, backups, verify, restore.
#[derive(Parser)]
#[command(version, about)]
struct Cli {}

fn main() {
    let _cli = Cli::parse();
    let _ = photovault_protocol::PROTOCOL_VERSION;
}
