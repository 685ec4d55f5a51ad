//! The export engine: originals, edits, live videos, RAW pairs and AAE files
//! copied out of a library into a plain folder tree, with XMP sidecars.

pub mod naming;
pub mod xmp;
