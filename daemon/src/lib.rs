//! photovault: verified, incremental backups of Apple Photos libraries.
//!
//! The library holds every engine; `photovaultd` (the daemon and one-shot
//! commands) and, through the protocol crate, `photovaultctl` are thin
//! shells around it.

pub mod catalog;
pub mod config;
pub mod destination;
pub mod export;
pub mod library;
pub mod media;
pub mod mirror;
pub mod organize;
pub mod restore;
pub mod service;
mod sqlite_uri;
pub mod verify;
pub mod versions;
pub mod write;
