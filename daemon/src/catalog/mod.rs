//! The catalog kept on every destination.
