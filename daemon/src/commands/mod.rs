//! One module per `photovaultd` subcommand: argument parsing stays in
//! `main.rs`, the work in the library, and the presentation here.

pub mod export;
pub mod inspect;
pub mod mirror;
pub mod organize;
pub mod progress;
pub mod restore;
pub mod verify;
