//! XMP sidecars.
