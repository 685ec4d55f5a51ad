//! Writing files to a backup destination safely and fast.
//!
//! Every file the engines (export, mirror, organize) put on a drive goes
//! through here, so that one rule holds everywhere: **a final name only ever
//! holds a complete, synced file**. A file is written under a temporary name
//! (`.photovault-tmp-…`) in its final folder, hashed with BLAKE3 while it is
//! written, given its capture time as modification time, synced, renamed
//! over the final name, and the folder is synced so the rename survives a
//! power cut. A killed daemon or a yanked drive leaves at worst a temporary
//! file, which [`remove_temporaries`] clears on the next run.
//!
//! How the bytes move, fastest first:
//! - a clone (reflink: Linux FICLONE on btrfs/XFS, macOS `fclonefileat` on
//!   APFS) when source and destination share a filesystem that can: no data
//!   is written at all, and the clone is hashed in one read pass;
//! - otherwise one pass in user space: a thread reads and hashes while
//!   another writes (1 MiB buffers), with write-back started as data
//!   arrives (so the final fsync is short). Space is not reserved up front
//!   (`fallocate`): measured on ext4 it cost 15-20 % of throughput, and a
//!   full drive is caught at the first failing write anyway, the temporary
//!   file removed; the engines check a run's total size against
//!   [`available_space`] before starting.
//!
//! Kernel-side copies (`copy_file_range`, `fcopyfile`) are deliberately not
//! used: they hand no bytes to hash, so the hash would need a second read.
//!
//! Errors are sorted by consequence ([`WriteError::stops_run`]): a source
//! that cannot be read costs one asset; a full or vanished destination stops
//! the run at once.

mod copy;
mod error;
mod staged;
mod sys;
#[cfg(test)]
mod tests;

use std::io;
use std::path::Path;
use std::time::SystemTime;

pub use error::WriteError;
pub use staged::{stage_bytes_under, stage_copy_under, stage_with_under, sync_filesystem, Staged};

/// The prefix of every temporary file: leftovers are recognisable at a
/// glance and never confused with a user's files (a leading dot also hides
/// them from Finder and `ls`).
pub const TEMP_PREFIX: &str = ".photovault-tmp-";

/// What a finished write produced, for the catalog: the bytes now under the
/// final name and their BLAKE3 hash, computed from the very bytes written
/// (or, for a clone, read back from it), so `verify` can later prove the
/// drive still holds them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Copied {
    /// Bytes written.
    pub size: u64,
    /// BLAKE3 of those bytes.
    pub hash: blake3::Hash,
}

/// Copies `src` to `dest` atomically, returning its size and BLAKE3 hash.
///
/// Creates `dest`'s missing parent folders; writes to a temporary name in
/// the same folder; hashes in the same pass as the copy; fsyncs the file
/// with its modification time set to `mtime` (the capture time; `None`
/// leaves the time of writing); renames it over `dest` (replacing any file
/// there atomically: the caller moves a previous file away first if it must
/// be kept); fsyncs the folder, so that when this returns the file is
/// durable under its final name and may be recorded in the catalog. On any
/// error the temporary file is removed and `dest` is untouched.
///
/// Engines writing inside a destination root should prefer
/// [`copy_file_under`], which refuses to recreate a vanished drive's tree on
/// the system disk.
pub fn copy_file(src: &Path, dest: &Path, mtime: Option<SystemTime>) -> Result<Copied, WriteError> {
    copy::copy_file(None, src, dest, mtime)
}

/// [`copy_file`] for a `dest` inside `root`, creating missing folders only
/// if `root` exists. When a drive is unplugged its mount point can remain as an
/// empty folder on the system disk (`/mnt/backup`, a stale `/Volumes/X`);
/// creating `PhotoVault/Export/2024/...` there would quietly fill the system
/// disk. With a root, that case is [`WriteError::DestinationGone`].
pub fn copy_file_under(
    root: &Path,
    src: &Path,
    dest: &Path,
    mtime: Option<SystemTime>,
) -> Result<Copied, WriteError> {
    copy::copy_file(Some(root), src, dest, mtime)
}

/// [`copy_file`] for bytes made in memory (XMP sidecars, generated files):
/// the same temporary name, sync, time and rename.
pub fn write_bytes(
    dest: &Path,
    bytes: &[u8],
    mtime: Option<SystemTime>,
) -> Result<Copied, WriteError> {
    copy::write_bytes(None, dest, bytes, mtime)
}

/// [`write_bytes`] creating folders only inside an existing `root` (see
/// [`copy_file_under`]).
pub fn write_bytes_under(
    root: &Path,
    dest: &Path,
    bytes: &[u8],
    mtime: Option<SystemTime>,
) -> Result<Copied, WriteError> {
    copy::write_bytes(Some(root), dest, bytes, mtime)
}

/// The size and BLAKE3 of the file at `path`, read once: what verify,
/// restore and a run adopting a file already in place compare with the
/// catalog.
pub fn hash_path(path: &Path) -> io::Result<Copied> {
    copy::hash_file(&std::fs::File::open(path)?)
}

/// Removes leftover temporary files ([`TEMP_PREFIX`]) in `dir`, not
/// recursively, e.g. after a crash or an unplugged drive; returns how many.
/// A missing `dir` has none (0). Call it only while no write is under way in
/// `dir`: a temporary file being written is indistinguishable from a
/// leftover.
pub fn remove_temporaries(dir: &Path) -> io::Result<usize> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(e),
    };
    let mut removed = 0;
    for entry in entries {
        let entry = entry?;
        let name = entry.file_name();
        if !name.as_encoded_bytes().starts_with(TEMP_PREFIX.as_bytes()) {
            continue;
        }
        // Only files (never follow or remove a folder or what a link points to).
        if entry.file_type()?.is_dir() {
            continue;
        }
        match std::fs::remove_file(entry.path()) {
            Ok(()) => removed += 1,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
    }
    Ok(removed)
}

/// Free bytes available to us (not to root: `f_bavail`, not `f_bfree`) on
/// the filesystem holding `path`: the number to compare with what a run is
/// about to write before starting it.
pub fn available_space(path: &Path) -> io::Result<u64> {
    sys::available_space(path)
}

/// Lets the process keep a batch of staged files open at once: call once
/// at start. (launchd gives agents a soft limit of 256 descriptors, fewer
/// than one batch plus the catalog and the library need.)
pub fn raise_open_file_limit() {
    sys::raise_open_file_limit()
}

/// Whether `path` is on a filesystem mounted read-only (a volume photovault
/// must not try to write to); `false` when it cannot be told.
pub fn is_read_only(path: &Path) -> bool {
    sys::is_read_only(path).unwrap_or(false)
}
