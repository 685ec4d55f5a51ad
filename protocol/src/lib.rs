//! The messages `photovaultd` and `photovaultctl` exchange.
//!
//! This crate is kept apart from the engine library so that the client stays
//! small: it depends on these types alone, not on SQLite, HEIC decoding or the
//! engines. Both sides refuse a peer whose [`PROTOCOL_VERSION`] differs, so a
//! client left behind by an upgrade says so instead of misreading replies.

/// Version of the wire protocol; bumped on any incompatible message change.
pub const PROTOCOL_VERSION: u32 = 1;
