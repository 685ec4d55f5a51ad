//! Writing many files with one sync: stage, sync the filesystem once,
//! then rename.
//!
//! [`super::copy_file`] syncs every file and its folder, which is right for
//! the export's few large files but ruinous for a mirror of 50,000 small
//! ones: a sync costs milliseconds however small the file. Staging keeps
//! the rule that a final name only ever holds a complete, synced file, and
//! pays for the syncs once per batch:
//!
//! 1. each file of a batch is written (and hashed) under a temporary name in
//!    its final folder, with its time set: [`stage_copy_under`],
//!    [`stage_bytes_under`], [`stage_with_under`];
//! 2. [`sync_filesystem`] makes all of them durable at once (`syncfs` on
//!    Linux; on other systems each file is synced when it is committed);
//! 3. each is renamed into place: [`Staged::commit`];
//! 4. [`sync_filesystem`] again makes the renames durable before the
//!    catalog records them (on macOS, `F_FULLFSYNC` flushes the volume's
//!    journal with the drive's cache).
//!
//! A staged file dropped without commit is removed; a crash leaves only
//! temporary names, which [`super::remove_temporaries`] clears.

use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use super::copy::{self, Fail, Job, Temp};
use super::{sys, Copied, WriteError};

/// A file written under a temporary name beside its final name, waiting
/// for [`Staged::commit`].
pub struct Staged {
    temp: Temp,
    dest: PathBuf,
    copied: Copied,
}

impl Staged {
    /// A filled temporary file, given its time, waiting for `dest`.
    fn ready(
        temp: Temp,
        dest: &Path,
        copied: Copied,
        mtime: Option<SystemTime>,
    ) -> Result<Staged, Fail> {
        if let Some(mtime) = mtime {
            temp.file.set_modified(mtime).map_err(Fail::Dst)?;
        }
        Ok(Staged {
            temp,
            dest: dest.to_path_buf(),
            copied,
        })
    }

    /// Size and hash of what was written.
    pub fn copied(&self) -> Copied {
        self.copied
    }

    /// Renames the file into place, replacing whatever is there (move a
    /// file that must be kept away first). Call after [`sync_filesystem`]
    /// on Linux; elsewhere the file is synced here.
    pub fn commit(self) -> Result<(), WriteError> {
        let Staged { temp, dest, .. } = self;
        // Elsewhere than Linux: the file goes to the drive here (a plain
        // fsync), and `sync_filesystem` flushes the drive's cache once per
        // batch (F_FULLFSYNC on macOS, which per file would cost
        // milliseconds each).
        #[cfg(not(target_os = "linux"))]
        {
            use std::os::fd::AsRawFd;
            // SAFETY: fsync only reads the descriptor, which `temp` keeps open.
            if unsafe { libc::fsync(temp.file.as_raw_fd()) } != 0 {
                let e = io::Error::last_os_error();
                return Err(WriteError::destination(&dest, e, None));
            }
        }
        temp.persist(&dest)
            .map_err(|e| WriteError::destination(&dest, e, None))
    }
}

/// Copies `src` to a temporary file beside `dest` (inside `root`, which
/// must exist: see [`super::copy_file_under`]), hashing it and giving it
/// `mtime`, without syncing.
pub fn stage_copy_under(
    root: &Path,
    src: &Path,
    dest: &Path,
    mtime: Option<SystemTime>,
) -> Result<Staged, WriteError> {
    let src_file = std::fs::File::open(src).map_err(|e| WriteError::source(src, e))?;
    let meta = src_file
        .metadata()
        .map_err(|e| WriteError::source(src, e))?;
    if !meta.is_file() {
        return Err(WriteError::source(
            src,
            io::Error::other("not a regular file"),
        ));
    }
    let job = Job {
        src: Some(src),
        dest,
        size: Some(meta.len()),
    };
    let dir = copy::prepare_dir(Some(root), dest).map_err(|e| job.error(Fail::Dst(e)))?;
    let result = (|| {
        let (temp, copied) = copy::fill_temp(&src_file, dir, Some(meta.len()))?;
        Staged::ready(temp, dest, copied, mtime)
    })();
    result.map_err(|fail| job.error(fail))
}

/// Writes `bytes` (a sidecar made in memory) to a temporary file beside
/// `dest` (inside `root`), giving it `mtime`, without syncing.
pub fn stage_bytes_under(
    root: &Path,
    dest: &Path,
    bytes: &[u8],
    mtime: Option<SystemTime>,
) -> Result<Staged, WriteError> {
    let job = Job {
        src: None,
        dest,
        size: Some(bytes.len() as u64),
    };
    let dir = copy::prepare_dir(Some(root), dest).map_err(|e| job.error(Fail::Dst(e)))?;
    let result = (|| {
        let mut temp = Temp::create(dir).map_err(Fail::Dst)?;
        temp.file.write_all(bytes).map_err(Fail::Dst)?;
        let copied = Copied {
            size: bytes.len() as u64,
            hash: blake3::hash(bytes),
        };
        Staged::ready(temp, dest, copied, mtime)
    })();
    result.map_err(|fail| job.error(fail))
}

/// Creates an empty temporary file beside `dest` (inside `root`), lets
/// `fill` write it by path (an SQLite backup writes its own file), then
/// hashes it and gives it `mtime`, without syncing. An error of `fill` is
/// reported as a failure to read `src`, the thing being copied.
pub fn stage_with_under(
    root: &Path,
    src: &Path,
    dest: &Path,
    mtime: Option<SystemTime>,
    fill: impl FnOnce(&Path) -> io::Result<()>,
) -> Result<Staged, WriteError> {
    let job = Job {
        src: Some(src),
        dest,
        size: None,
    };
    let dir = copy::prepare_dir(Some(root), dest).map_err(|e| job.error(Fail::Dst(e)))?;
    let result = (|| {
        let temp = Temp::create(dir).map_err(Fail::Dst)?;
        fill(&temp.path).map_err(Fail::Src)?;
        // What `fill` wrote through its own handle is read back through ours.
        let copied = copy::hash_file(&temp.file).map_err(Fail::Dst)?;
        Staged::ready(temp, dest, copied, mtime)
    })();
    result.map_err(|fail| job.error(fail))
}

/// Makes everything written on the filesystem holding `path` durable:
/// `syncfs` on Linux; on macOS (no `syncfs`, and a `sync` that does not
/// wait) each file was sent to the drive by [`Staged::commit`] and this
/// flushes the drive's own cache once (`F_FULLFSYNC`).
pub fn sync_filesystem(path: &Path) -> Result<(), WriteError> {
    sys::sync_filesystem(path).map_err(|e| WriteError::destination(path, e, None))
}
