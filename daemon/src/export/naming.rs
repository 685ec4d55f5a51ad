//! File and folder names of the export.
