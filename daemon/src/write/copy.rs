//! The write path: temporary file, copy-and-hash, sync, rename.

use std::cell::RefCell;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::time::SystemTime;

use super::{sys, Copied, WriteError, TEMP_PREFIX};

/// Size of one copy buffer. Large enough that syscalls, channel hand-offs
/// and BLAKE3's per-call overhead vanish next to the data, small enough that
/// a buffer just read is still in the CPU cache when it is hashed and
/// written. Measured (copy to tmpfs, where only the CPU counts): 1 MiB did
/// at least as well as 256 KiB, 512 KiB, 2, 4 and 8 MiB, which were slower
/// by up to a third.
pub(crate) const BUF_SIZE: usize = 1 << 20;

/// Buffers in flight between the reading and the writing thread: one being
/// read and hashed, one being written, one spare to absorb jitter.
const PIPELINE_DEPTH: usize = 3;

/// A file written under a temporary name in its final folder: removed on drop
/// unless [`Temp::persist`] renamed it into place. Whatever happens between
/// (an error, a panic), the final name only ever sees a complete, synced file.
pub(super) struct Temp {
    pub(super) path: PathBuf,
    pub(super) file: File,
    persisted: bool,
}

impl Temp {
    /// Creates a new, empty temporary file in `dir` (O_EXCL: never an
    /// existing file, whoever made it).
    pub(super) fn create(dir: &Path) -> io::Result<Temp> {
        let mut last = None;
        for _ in 0..64 {
            let path = dir.join(temp_name());
            match OpenOptions::new()
                .read(true)
                .write(true)
                .create_new(true)
                .open(&path)
            {
                Ok(file) => {
                    return Ok(Temp {
                        path,
                        file,
                        persisted: false,
                    })
                }
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => last = Some(e),
                Err(e) => return Err(e),
            }
        }
        Err(last.unwrap_or_else(|| io::ErrorKind::AlreadyExists.into()))
    }

    /// macOS only does anything: a temporary file created as a clone of
    /// `src` (see [`sys::clone_new`]), or `None` when the volume cannot clone.
    fn clone_of(src: &File, dir: &Path) -> io::Result<Option<Temp>> {
        for _ in 0..64 {
            let path = dir.join(temp_name());
            match sys::clone_new(src, &path) {
                Ok(false) => return Ok(None),
                Ok(true) => {
                    let opened = OpenOptions::new().read(true).write(true).open(&path);
                    return match opened {
                        Ok(file) => Ok(Some(Temp {
                            path,
                            file,
                            persisted: false,
                        })),
                        Err(e) => {
                            let _ = fs::remove_file(&path);
                            Err(e)
                        }
                    };
                }
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(e),
            }
        }
        Ok(None)
    }

    /// Renames the file over `dest` (atomic on POSIX filesystems: `dest`
    /// is either the old file or the new one, never a mix).
    pub(super) fn persist(mut self, dest: &Path) -> io::Result<()> {
        fs::rename(&self.path, dest)?;
        self.persisted = true;
        Ok(())
    }
}

impl Drop for Temp {
    fn drop(&mut self) {
        if !self.persisted {
            // A vanished drive cannot be cleaned: the leftover is recognisable
            // by its prefix and removed by `remove_temporaries` next time.
            let _ = fs::remove_file(&self.path);
        }
    }
}

/// A name that no other writer (another process, another machine writing on
/// the same drive, another thread) picks at the same time: pid, a process-wide
/// counter and the clock; `create_new` settles any remaining clash. Short,
/// so that it fits whatever the final name's length.
fn temp_name() -> String {
    static SEQ: AtomicU64 = AtomicU64::new(0);
    let seq = SEQ.fetch_add(1, Ordering::Relaxed);
    let nanos = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!("{TEMP_PREFIX}{}-{seq}-{nanos:x}", std::process::id())
}

/// Which side an I/O error came from; sorted into a [`WriteError`] once the
/// temporary file is gone (so free space is measured without it).
pub(super) enum Fail {
    Src(io::Error),
    Dst(io::Error),
}

/// What the caller asked for, for errors.
pub(super) struct Job<'a> {
    pub(super) src: Option<&'a Path>,
    pub(super) dest: &'a Path,
    pub(super) size: Option<u64>,
}

impl Job<'_> {
    pub(super) fn error(&self, fail: Fail) -> WriteError {
        match fail {
            Fail::Src(e) => WriteError::source(self.src.unwrap_or(self.dest), e),
            Fail::Dst(e) => WriteError::destination(self.dest, e, self.size),
        }
    }
}

/// [`super::copy_file`] and [`super::copy_file_under`].
pub(super) fn copy_file(
    root: Option<&Path>,
    src: &Path,
    dest: &Path,
    mtime: Option<SystemTime>,
) -> Result<Copied, WriteError> {
    let src_file = File::open(src).map_err(|e| WriteError::source(src, e))?;
    let meta = src_file
        .metadata()
        .map_err(|e| WriteError::source(src, e))?;
    if meta.is_dir() {
        return Err(WriteError::source(
            src,
            io::Error::from_raw_os_error(libc::EISDIR),
        ));
    }
    // Regular files know their size; anything else (a pipe) is read to EOF.
    let size = meta.is_file().then_some(meta.len());
    let job = Job {
        src: Some(src),
        dest,
        size,
    };
    let dir = prepare_dir(root, dest).map_err(|e| job.error(Fail::Dst(e)))?;
    sys::advise_sequential(&src_file);
    let result = (|| {
        let (temp, copied) = fill_temp(&src_file, dir, size)?;
        finish(temp, dir, dest, mtime)?;
        Ok(copied)
    })();
    result.map_err(|fail| job.error(fail))
}

/// [`super::write_bytes`] and [`super::write_bytes_under`].
pub(super) fn write_bytes(
    root: Option<&Path>,
    dest: &Path,
    bytes: &[u8],
    mtime: Option<SystemTime>,
) -> Result<Copied, WriteError> {
    let size = bytes.len() as u64;
    let job = Job {
        src: None,
        dest,
        size: Some(size),
    };
    let dir = prepare_dir(root, dest).map_err(|e| job.error(Fail::Dst(e)))?;
    let result = (|| {
        let mut temp = Temp::create(dir).map_err(Fail::Dst)?;
        temp.file.write_all(bytes).map_err(Fail::Dst)?;
        let hash = blake3::hash(bytes);
        finish(temp, dir, dest, mtime)?;
        Ok(Copied { size, hash })
    })();
    result.map_err(|fail| job.error(fail))
}

/// `dest`'s folder, created if missing. With a `root`, `dest` must lie
/// inside it, and nothing is created unless `root` itself exists: when a drive
/// is unplugged, its mount point may remain as an empty folder on the
/// system disk, and recreating the tree there would fill the system disk
/// with a backup nobody will find. That case is ENOENT, i.e. "gone".
pub(super) fn prepare_dir<'a>(root: Option<&Path>, dest: &'a Path) -> io::Result<&'a Path> {
    let dir = match dest.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    if dest.file_name().is_none() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "the destination has no file name",
        ));
    }
    if let Some(root) = root {
        if !dir.starts_with(root) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "{} is outside the destination {}",
                    dir.display(),
                    root.display()
                ),
            ));
        }
    }
    if dir.is_dir() {
        return Ok(dir);
    }
    if root.is_some_and(|root| !root.is_dir()) {
        return Err(io::Error::from_raw_os_error(libc::ENOENT));
    }
    fs::create_dir_all(dir)?;
    Ok(dir)
}

/// A temporary file in `dir` holding `src`'s bytes, and their size and hash.
/// Cloning (reflink) shares the source's blocks and is then hashed in one
/// read pass over the clone: no data written at all. Otherwise the data is
/// read, hashed and written in one pass.
pub(super) fn fill_temp(src: &File, dir: &Path, size: Option<u64>) -> Result<(Temp, Copied), Fail> {
    let want_clone = size.is_some_and(|s| s > 0);
    if want_clone {
        if let Some(temp) = Temp::clone_of(src, dir).map_err(Fail::Dst)? {
            let copied = hash_file(&temp.file).map_err(Fail::Dst)?;
            return Ok((temp, copied));
        }
    }
    let temp = Temp::create(dir).map_err(Fail::Dst)?;
    if want_clone && sys::reflink(src, &temp.file).map_err(Fail::Dst)? {
        let copied = hash_file(&temp.file).map_err(Fail::Dst)?;
        return Ok((temp, copied));
    }
    let copied = if size.is_some_and(|s| s <= BUF_SIZE as u64) {
        copy_sequential(src, &temp.file)?
    } else {
        copy_pipelined(src, &temp.file)?
    };
    Ok((temp, copied))
}

/// Sets the time, syncs, renames into place and makes the rename durable.
///
/// The directory is synced here, once per file, rather than handed back for
/// the caller to batch: the caller records the file in the catalog right
/// after, and the catalog must never name a file whose rename a power cut
/// could still undo. Measured, the directory sync costs little next to the
/// file's own sync (the journal commit it forces is small).
fn finish(temp: Temp, dir: &Path, dest: &Path, mtime: Option<SystemTime>) -> Result<(), Fail> {
    if let Some(mtime) = mtime {
        temp.file.set_modified(mtime).map_err(Fail::Dst)?;
    }
    temp.file.sync_all().map_err(Fail::Dst)?;
    sys::drop_cache(&temp.file);
    temp.persist(dest).map_err(Fail::Dst)?;
    sys::sync_dir(dir).map_err(Fail::Dst)
}

thread_local! {
    /// Copy buffers kept between files: allocating and faulting in fresh
    /// megabytes for every file costs measurable time.
    static BUFFERS: RefCell<Vec<Vec<u8>>> = const { RefCell::new(Vec::new()) };
}

fn take_buffer() -> Vec<u8> {
    BUFFERS
        .with(|b| b.borrow_mut().pop())
        .unwrap_or_else(|| vec![0; BUF_SIZE])
}

fn give_buffer(buf: Vec<u8>) {
    BUFFERS.with(|b| {
        let mut pool = b.borrow_mut();
        if pool.len() < PIPELINE_DEPTH {
            pool.push(buf);
        }
    });
}

/// Reads until `buf` is full or the end of the file; the count read.
fn read_full(mut src: &File, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match src.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

/// Hashes a file from its start (a fresh clone).
pub(super) fn hash_file(file: &File) -> io::Result<Copied> {
    use std::os::unix::fs::FileExt;
    let mut buf = take_buffer();
    let mut hasher = blake3::Hasher::new();
    let mut size = 0u64;
    loop {
        let n = match file.read_at(&mut buf, size) {
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        size += n as u64;
    }
    give_buffer(buf);
    Ok(Copied {
        size,
        hash: hasher.finalize(),
    })
}

/// One thread: read, hash, write. For files of at most one buffer, where a
/// second thread would only add its start-up cost.
fn copy_sequential(src: &File, mut dst: &File) -> Result<Copied, Fail> {
    let mut buf = take_buffer();
    let mut hasher = blake3::Hasher::new();
    let mut size = 0u64;
    let result = loop {
        let n = match read_full(src, &mut buf) {
            Ok(0) => break Ok(()),
            Ok(n) => n,
            Err(e) => break Err(Fail::Src(e)),
        };
        hasher.update(&buf[..n]);
        if let Err(e) = dst.write_all(&buf[..n]) {
            break Err(Fail::Dst(e));
        }
        size += n as u64;
    };
    give_buffer(buf);
    result.map(|()| Copied {
        size,
        hash: hasher.finalize(),
    })
}

/// Two threads: this one reads and hashes buffer n+1 while a writer thread
/// writes buffer n, so reading, hashing and writing overlap instead of adding
/// up. The writer also starts write-back of each buffer at once, so the
/// final fsync finds little left to do.
fn copy_pipelined(src: &File, dst: &File) -> Result<Copied, Fail> {
    let (full_tx, full_rx) = mpsc::sync_channel::<(Vec<u8>, usize)>(PIPELINE_DEPTH);
    let (empty_tx, empty_rx) = mpsc::channel::<Vec<u8>>();
    for _ in 0..PIPELINE_DEPTH {
        let _ = empty_tx.send(take_buffer());
    }
    let mut hasher = blake3::Hasher::new();
    let mut size = 0u64;
    let (read_result, write_result) = std::thread::scope(|scope| {
        let writer = scope.spawn(move || -> io::Result<()> {
            let mut out = dst;
            let mut offset = 0u64;
            for (buf, n) in full_rx {
                out.write_all(&buf[..n])?;
                sys::start_writeback(dst, offset, n);
                offset += n as u64;
                // The reader may have finished already: then the buffer is
                // simply dropped with the channel.
                let _ = empty_tx.send(buf);
            }
            Ok(())
        });
        let read_result = loop {
            // Every buffer is either with us, in the channel or with the
            // writer; a closed channel means the writer has stopped (failed).
            let Ok(mut buf) = empty_rx.recv() else {
                break Ok(());
            };
            let n = match read_full(src, &mut buf) {
                Ok(0) => {
                    give_buffer(buf);
                    break Ok(());
                }
                Ok(n) => n,
                Err(e) => break Err(e),
            };
            hasher.update(&buf[..n]);
            size += n as u64;
            if full_tx.send((buf, n)).is_err() {
                break Ok(());
            }
        };
        drop(full_tx);
        let write_result = writer
            .join()
            .unwrap_or_else(|_| Err(io::Error::other("the writing thread panicked")));
        (read_result, write_result)
    });
    for buf in empty_rx.try_iter() {
        give_buffer(buf);
    }
    // A destination failure wins: it stops the run, a source one does not.
    write_result.map_err(Fail::Dst)?;
    read_result.map_err(Fail::Src)?;
    Ok(Copied {
        size,
        hash: hasher.finalize(),
    })
}
