//! A backup destination: a folder made self-describing.
