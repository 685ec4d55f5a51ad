//! One module per `photovaultd` subcommand: argument parsing stays in
//! `main.rs`, the work in the library, and the presentation here.

pub mod export;
pub mod inspect;
pub mod mirror;
pub mod organize;
pub mod progress;
pub mod restore;
pub mod verify;

use std::path::PathBuf;

use photovault::destination::Enrol;

/// The library and destination of the engines that back up a library
/// (export, mirror): the same flags, meaning the same thing.
#[derive(clap::Args)]
pub struct LibraryToDestination {
    /// The Photos library (a .photoslibrary package).
    #[arg(long, value_name = "PATH")]
    pub library: PathBuf,
    /// The destination folder (created if missing; must be empty or a photovault destination).
    #[arg(long, value_name = "DIR")]
    pub to: PathBuf,
    /// Enrol a folder that already holds other files as a destination.
    #[arg(long)]
    pub init: bool,
}

impl LibraryToDestination {
    /// Whether the destination may be created, as `--init` says.
    pub fn enrol(&self) -> Enrol {
        if self.init {
            Enrol::Always
        } else {
            Enrol::IfEmpty
        }
    }
}
