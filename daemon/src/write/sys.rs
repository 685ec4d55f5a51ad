//! The few operating-system calls std does not offer. `cfg` only picks which
//! call; every function exists on every platform, as a no-op (or "not
//! supported here") where the platform has no such call.

use std::fs::File;
use std::io;
use std::path::Path;

/// Whether `dst` (an empty file we just created) now shares `src`'s data
/// blocks (a reflink, Linux FICLONE: btrfs, XFS, bcachefs...). `Ok(false)`
/// when the filesystem cannot (ext4, tmpfs, another filesystem: EXDEV...), so
/// the caller copies instead; `Err` only for errors that would stop a copy
/// too (full, read-only, I/O error), so the caller reports them.
#[cfg(target_os = "linux")]
pub(super) fn reflink(src: &File, dst: &File) -> io::Result<bool> {
    use std::os::fd::AsRawFd;
    // SAFETY: FICLONE takes the source descriptor as its argument; both
    // descriptors are open for the whole call.
    let r = unsafe { libc::ioctl(dst.as_raw_fd(), libc::FICLONE, src.as_raw_fd()) };
    if r == 0 {
        return Ok(true);
    }
    let err = io::Error::last_os_error();
    match err.raw_os_error() {
        Some(libc::ENOSPC | libc::EDQUOT | libc::EROFS | libc::EIO) => Err(err),
        _ => Ok(false),
    }
}

/// See the Linux version; macOS clones by name instead ([`clone_new`]).
#[cfg(not(target_os = "linux"))]
pub(super) fn reflink(_src: &File, _dst: &File) -> io::Result<bool> {
    Ok(false)
}

/// macOS: creates `dst` (which must not exist) as an APFS clone of `src`
/// (`fclonefileat`, what `std::fs::copy` tries first there). `Ok(false)`
/// when the volume cannot clone (another volume: EXDEV, not APFS: ENOTSUP);
/// an existing `dst` is `AlreadyExists`, so the caller picks another name.
#[cfg(target_os = "macos")]
pub(super) fn clone_new(src: &File, dst: &Path) -> io::Result<bool> {
    use std::os::fd::AsRawFd;
    use std::os::unix::ffi::OsStrExt;
    let name = std::ffi::CString::new(dst.as_os_str().as_bytes())
        .map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
    // SAFETY: a valid descriptor and a NUL-terminated path that outlives the call.
    let r = unsafe { libc::fclonefileat(src.as_raw_fd(), libc::AT_FDCWD, name.as_ptr(), 0) };
    if r == 0 {
        return Ok(true);
    }
    let err = io::Error::last_os_error();
    match err.raw_os_error() {
        Some(
            libc::EEXIST | libc::ENOSPC | libc::EDQUOT | libc::EROFS | libc::EIO | libc::ENOENT,
        ) => Err(err),
        _ => Ok(false),
    }
}

/// Elsewhere cloning goes through [`reflink`] on an open file.
#[cfg(not(target_os = "macos"))]
pub(super) fn clone_new(_src: &File, _dst: &Path) -> io::Result<bool> {
    Ok(false)
}

/// Starts writing `len` bytes at `offset` back to the drive now, without
/// waiting, so that the final fsync has little left to wait for (Linux
/// `sync_file_range(SYNC_FILE_RANGE_WRITE)`). A hint: errors surface at fsync.
#[cfg(target_os = "linux")]
pub(super) fn start_writeback(file: &File, offset: u64, len: usize) {
    use std::os::fd::AsRawFd;
    let (Ok(offset), Ok(len)) = (
        libc::off64_t::try_from(offset),
        libc::off64_t::try_from(len),
    ) else {
        return;
    };
    // SAFETY: plain syscall on an open descriptor.
    unsafe { libc::sync_file_range(file.as_raw_fd(), offset, len, libc::SYNC_FILE_RANGE_WRITE) };
}

/// No such hint outside Linux.
#[cfg(not(target_os = "linux"))]
pub(super) fn start_writeback(_file: &File, _offset: u64, _len: usize) {}

/// Tells the kernel `file` is read front to back (larger readahead).
#[cfg(target_os = "linux")]
pub(super) fn advise_sequential(file: &File) {
    use std::os::fd::AsRawFd;
    // SAFETY: plain syscall on an open descriptor.
    unsafe { libc::posix_fadvise(file.as_raw_fd(), 0, 0, libc::POSIX_FADV_SEQUENTIAL) };
}

/// No such hint outside Linux.
#[cfg(not(target_os = "linux"))]
pub(super) fn advise_sequential(_file: &File) {}

/// Drops `file`'s (already synced) pages from the page cache, so that a long
/// backup does not push the user's working set out of memory.
#[cfg(target_os = "linux")]
pub(super) fn drop_cache(file: &File) {
    use std::os::fd::AsRawFd;
    // SAFETY: plain syscall on an open descriptor.
    unsafe { libc::posix_fadvise(file.as_raw_fd(), 0, 0, libc::POSIX_FADV_DONTNEED) };
}

/// No such hint outside Linux.
#[cfg(not(target_os = "linux"))]
pub(super) fn drop_cache(_file: &File) {}

/// statvfs: blocks available to unprivileged users times the fragment size.
pub(super) fn available_space(path: &Path) -> io::Result<u64> {
    let st = statvfs(path)?;
    // Field widths differ between platforms (u32 on macOS, u64 on Linux).
    #[allow(clippy::unnecessary_cast)]
    let bytes = (st.f_bavail as u64).saturating_mul(st.f_frsize as u64);
    Ok(bytes)
}

/// Whether the filesystem holding `path` is mounted read-only.
pub(super) fn is_read_only(path: &Path) -> io::Result<bool> {
    let st = statvfs(path)?;
    #[allow(clippy::unnecessary_cast)]
    Ok(st.f_flag as u64 & libc::ST_RDONLY as u64 != 0)
}

fn statvfs(path: &Path) -> io::Result<libc::statvfs> {
    use std::os::unix::ffi::OsStrExt;
    let name = std::ffi::CString::new(path.as_os_str().as_bytes())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "path contains NUL"))?;
    let mut st = std::mem::MaybeUninit::<libc::statvfs>::zeroed();
    // SAFETY: a NUL-terminated path and a buffer of the right type.
    let r = unsafe { libc::statvfs(name.as_ptr(), st.as_mut_ptr()) };
    if r != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: statvfs succeeded, so it filled the buffer.
    Ok(unsafe { st.assume_init() })
}

/// Makes a rename inside `dir` durable. Filesystems that cannot fsync a
/// directory (some network and FUSE filesystems say EINVAL/ENOTSUP) order
/// their metadata themselves, so that is not an error. On macOS std's
/// `sync_all` is `F_FULLFSYNC`, which also flushes the drive's cache.
pub(super) fn sync_dir(dir: &Path) -> io::Result<()> {
    let result = File::open(dir).and_then(|d| d.sync_all());
    match result {
        // ENOTSUP and EOPNOTSUPP are one value on Linux, two on macOS.
        Err(e)
            if [libc::EINVAL, libc::ENOTSUP, libc::EOPNOTSUPP]
                .map(Some)
                .contains(&e.raw_os_error()) =>
        {
            Ok(())
        }
        other => other,
    }
}

/// Whether we run as root (tests that mount filesystems need it).
#[cfg(test)]
pub(super) fn is_root() -> bool {
    // SAFETY: geteuid cannot fail.
    unsafe { libc::geteuid() == 0 }
}

/// `syncfs`: every dirty page and inode of the filesystem holding `path`
/// written out, in one call (what the staged writer pays once per batch).
#[cfg(target_os = "linux")]
pub(super) fn sync_filesystem(path: &Path) -> io::Result<()> {
    use std::os::fd::AsRawFd;
    let f = File::open(path)?;
    // SAFETY: syncfs only reads the descriptor, which `f` keeps open.
    if unsafe { libc::syncfs(f.as_raw_fd()) } == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Elsewhere each staged file was sent to the drive as it was committed;
/// this flushes the drive's write cache (std's `sync_all` is `F_FULLFSYNC`
/// on macOS, which flushes the whole device, whatever file it is given).
#[cfg(not(target_os = "linux"))]
pub(super) fn sync_filesystem(path: &Path) -> io::Result<()> {
    File::open(path)?.sync_all()
}

/// Raises the soft limit on open files to the hard limit (at most 10,240,
/// macOS's `OPEN_MAX`): a batch of staged files keeps one descriptor open
/// per file until it is committed, and launchd starts agents with a soft
/// limit of 256. Best effort: a refusal leaves the limit as it was.
pub(super) fn raise_open_file_limit() {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit and setrlimit only read or fill the struct passed.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) != 0 {
            return;
        }
        let wanted = limit.rlim_max.min(10_240);
        if limit.rlim_cur < wanted {
            limit.rlim_cur = wanted;
            let _ = libc::setrlimit(libc::RLIMIT_NOFILE, &limit);
        }
    }
}
