//! Tests of the write path, including real full and vanishing filesystems
//! (tmpfs mounts: they need root, and fail only when running as root) and a
//! process killed mid-copy.

use std::ffi::CString;
use std::fs::{self, File};
use std::io::{self, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use super::copy::BUF_SIZE;
use super::*;

/// Deterministic pseudo-random bytes (BLAKE3's output stream): incompressible
/// and different for every seed.
fn data(seed: u64, len: usize) -> Vec<u8> {
    let mut out = vec![0; len];
    blake3::Hasher::new()
        .update(&seed.to_le_bytes())
        .finalize_xof()
        .fill(&mut out);
    out
}

/// Names in `dir`, sorted.
fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

fn temporaries(dir: &Path) -> Vec<String> {
    names(dir)
        .into_iter()
        .filter(|n| n.starts_with(TEMP_PREFIX))
        .collect()
}

fn capture_time() -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::new(981_173_106, 123_456_000) // 2001-02-03 04:05:06.123456
}

#[test]
fn copies_with_the_right_content_and_hash_at_every_size() {
    let tmp = tempfile::tempdir().unwrap();
    let sizes = [
        0,
        1,
        1000,
        BUF_SIZE - 1,
        BUF_SIZE,
        BUF_SIZE + 1,
        3 * BUF_SIZE + 17,
    ];
    for (i, &len) in sizes.iter().enumerate() {
        let bytes = data(i as u64, len);
        let src = tmp.path().join(format!("src-{len}"));
        fs::write(&src, &bytes).unwrap();
        let dest = tmp.path().join("out").join(format!("dest-{len}.jpg"));
        let copied = copy_file(&src, &dest, None).unwrap();
        assert_eq!(copied.size, len as u64, "size {len}");
        assert_eq!(copied.hash, blake3::hash(&bytes), "hash {len}");
        assert!(fs::read(&dest).unwrap() == bytes, "content {len}");
    }
    assert!(temporaries(&tmp.path().join("out")).is_empty());
}

#[test]
fn sets_the_capture_time_and_creates_folders() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("a.heic");
    fs::write(&src, data(1, 5000)).unwrap();
    let dest = tmp.path().join("Export/2001/2001-02/a.heic");
    copy_file(&src, &dest, Some(capture_time())).unwrap();
    assert_eq!(
        fs::metadata(&dest).unwrap().modified().unwrap(),
        capture_time()
    );

    let xmp = tmp.path().join("Export/2001/2001-03/a.xmp");
    let copied = write_bytes(&xmp, b"<x:xmpmeta/>", Some(capture_time())).unwrap();
    assert_eq!(copied.size, 12);
    assert_eq!(copied.hash, blake3::hash(b"<x:xmpmeta/>"));
    assert_eq!(fs::read(&xmp).unwrap(), b"<x:xmpmeta/>");
    assert_eq!(
        fs::metadata(&xmp).unwrap().modified().unwrap(),
        capture_time()
    );
    assert!(temporaries(xmp.parent().unwrap()).is_empty());

    // No capture time: the time of writing.
    let before = SystemTime::now() - Duration::from_secs(5);
    let now = tmp.path().join("now.bin");
    write_bytes(&now, b"", None).unwrap();
    assert!(fs::metadata(&now).unwrap().modified().unwrap() >= before);
}

#[test]
fn replaces_an_existing_file_by_rename() {
    let tmp = tempfile::tempdir().unwrap();
    let dest = tmp.path().join("x.jpg");
    fs::write(&dest, b"old").unwrap();
    // A second link to the old file: an in-place overwrite would change it,
    // a rename leaves it whole.
    let witness = tmp.path().join("witness");
    fs::hard_link(&dest, &witness).unwrap();
    let old_inode = fs::metadata(&dest).unwrap().ino();

    let src = tmp.path().join("new");
    let bytes = data(7, 3 * BUF_SIZE);
    fs::write(&src, &bytes).unwrap();
    copy_file(&src, &dest, None).unwrap();
    assert!(fs::read(&dest).unwrap() == bytes);
    assert_ne!(fs::metadata(&dest).unwrap().ino(), old_inode);
    assert_eq!(fs::read(&witness).unwrap(), b"old");

    write_bytes(&dest, b"sidecar", None).unwrap();
    assert_eq!(fs::read(&dest).unwrap(), b"sidecar");
    assert_eq!(fs::read(&witness).unwrap(), b"old");
    assert!(temporaries(tmp.path()).is_empty());
}

#[test]
fn a_bad_source_costs_one_file_and_leaves_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    fs::create_dir(&out).unwrap();
    let dest = out.join("x.jpg");

    let missing = copy_file(&tmp.path().join("missing.jpg"), &dest, None).unwrap_err();
    assert!(
        matches!(&missing, WriteError::Source { source, .. } if source.kind() == io::ErrorKind::NotFound)
    );
    assert!(!missing.stops_run());
    assert!(missing.to_string().contains("missing.jpg"), "{missing}");

    let dir = copy_file(tmp.path(), &dest, None).unwrap_err();
    assert!(
        matches!(&dir, WriteError::Source { source, .. } if source.raw_os_error() == Some(libc::EISDIR))
    );
    assert!(names(&out).is_empty(), "{:?}", names(&out));
}

#[test]
fn a_directory_in_the_way_is_a_destination_error() {
    let tmp = tempfile::tempdir().unwrap();
    let dest = tmp.path().join("x.jpg");
    fs::create_dir(&dest).unwrap();
    fs::write(dest.join("inside"), b"keep").unwrap();
    let err = write_bytes(&dest, b"data", None).unwrap_err();
    assert!(matches!(err, WriteError::Destination { .. }), "{err:?}");
    assert_eq!(names(tmp.path()), vec!["x.jpg"]);
}

#[test]
fn removes_only_temporaries() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    fs::write(d.join(format!("{TEMP_PREFIX}1-2-3")), b"partial").unwrap();
    fs::write(d.join(format!("{TEMP_PREFIX}other")), b"partial").unwrap();
    fs::write(d.join("photovault-tmp-not-hidden"), b"user").unwrap();
    fs::write(d.join("IMG_0001.JPG"), b"user").unwrap();
    fs::create_dir(d.join(format!("{TEMP_PREFIX}dir"))).unwrap();
    assert_eq!(remove_temporaries(d).unwrap(), 2);
    assert_eq!(
        names(d),
        vec![
            format!("{TEMP_PREFIX}dir"),
            "IMG_0001.JPG".to_string(),
            "photovault-tmp-not-hidden".to_string()
        ]
    );
    assert_eq!(remove_temporaries(d).unwrap(), 0);
    assert_eq!(remove_temporaries(&d.join("nope")).unwrap(), 0);
}

#[test]
fn available_space_is_measured() {
    let tmp = tempfile::tempdir().unwrap();
    assert!(available_space(tmp.path()).unwrap() > 0);
    assert!(available_space(&tmp.path().join("nope")).is_err());
}

#[test]
fn a_vanished_root_is_not_recreated() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("PhotoVault");
    let src = tmp.path().join("a.jpg");
    fs::write(&src, b"jpeg").unwrap();
    // The drive is gone: its root folder no longer exists.
    let dest = root.join("Export/2020/a.jpg");
    let err = copy_file_under(&root, &src, &dest, None).unwrap_err();
    assert!(matches!(err, WriteError::DestinationGone { .. }), "{err:?}");
    assert!(err.stops_run());
    let err = write_bytes_under(&root, &dest, b"x", None).unwrap_err();
    assert!(matches!(err, WriteError::DestinationGone { .. }), "{err:?}");
    assert!(!root.exists());
    // Present, it is written as usual, and nothing outside it is created.
    fs::create_dir(&root).unwrap();
    copy_file_under(&root, &src, &dest, None).unwrap();
    assert_eq!(fs::read(&dest).unwrap(), b"jpeg");
    let outside = tmp.path().join("elsewhere/a.jpg");
    let err = copy_file_under(&root, &src, &outside, None).unwrap_err();
    assert!(matches!(err, WriteError::Destination { .. }), "{err:?}");
}

// ---- real filesystems: tmpfs mounts (root only) ------------------------------

/// A tmpfs mounted on a fresh folder, unmounted on drop.
struct Tmpfs {
    dir: tempfile::TempDir,
}

impl Tmpfs {
    /// `None` (after saying why) when not running as root; as root a failed
    /// mount fails the test.
    fn mount(size: &str) -> Option<Tmpfs> {
        let dir = tempfile::tempdir().unwrap();
        let status = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir.path())
            .status();
        match status {
            Ok(s) if s.success() => Some(Tmpfs { dir }),
            other => {
                assert!(
                    !sys::is_root(),
                    "running as root, yet mounting a tmpfs failed: {other:?}"
                );
                eprintln!("SKIPPED: mounting a tmpfs needs root ({other:?})");
                None
            }
        }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Detaches the filesystem at once, as an unplugged drive would vanish.
    fn vanish(&self) {
        let status = Command::new("umount")
            .arg("-l")
            .arg(self.path())
            .status()
            .unwrap();
        assert!(status.success());
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount")
            .arg("-l")
            .arg(self.path())
            .stderr(std::process::Stdio::null())
            .status();
    }
}

fn mkfifo(path: &Path) {
    let name = CString::new(path.as_os_str().as_bytes()).unwrap();
    // SAFETY: a NUL-terminated path.
    assert_eq!(
        unsafe { libc::mkfifo(name.as_ptr(), 0o600) },
        0,
        "{}",
        io::Error::last_os_error()
    );
}

/// Feeds a FIFO from a thread, `chunk` after `chunk` until `stop` is set
/// (or `limit` bytes were written), then closes it: a source that lets a
/// test act while a copy is half-way.
fn feed(fifo: PathBuf, stop: Arc<AtomicBool>, limit: usize) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        let Ok(mut w) = fs::OpenOptions::new().write(true).open(&fifo) else {
            return;
        };
        let chunk = data(99, 256 << 10);
        let mut written = 0;
        while !stop.load(Ordering::SeqCst) && written < limit {
            if w.write_all(&chunk).is_err() {
                return;
            }
            written += chunk.len();
        }
    })
}

/// Waits until `dir` holds a temporary file with data in it.
fn wait_for_partial_temp(dir: &Path) -> PathBuf {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok(entries) = fs::read_dir(dir) {
            for e in entries.flatten() {
                let name = e.file_name();
                if name.to_string_lossy().starts_with(TEMP_PREFIX)
                    && e.metadata().is_ok_and(|m| m.len() > 0)
                {
                    return e.path();
                }
            }
        }
        assert!(
            Instant::now() < deadline,
            "no temporary file appeared in {}",
            dir.display()
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn a_full_destination_is_reported_with_the_space_needed() {
    let Some(fs_) = Tmpfs::mount("1m") else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("big.mov");
    fs::write(&src, data(3, 2_000_000)).unwrap();
    let out = fs_.path().join("Export");

    // Known size: refused before a byte is written (space reserved up front).
    let err = copy_file(&src, &out.join("big.mov"), None).unwrap_err();
    match &err {
        WriteError::DestinationFull {
            needed, available, ..
        } => {
            assert_eq!(*needed, Some(2_000_000));
            let available = available.expect("free space measured");
            assert!(available <= 1 << 20, "{available}");
        }
        other => panic!("expected DestinationFull, got {other:?}"),
    }
    assert!(err.stops_run());
    assert!(err.to_string().contains("more"), "{err}");
    assert!(names(&out).is_empty(), "{:?}", names(&out));

    let err = write_bytes(&out.join("big.xmp"), &data(4, 2_000_000), None).unwrap_err();
    assert!(matches!(err, WriteError::DestinationFull { .. }), "{err:?}");
    assert!(names(&out).is_empty(), "{:?}", names(&out));

    // Unknown size (a pipe): fails on write, half-written data removed.
    let fifo = tmp.path().join("fifo");
    mkfifo(&fifo);
    let feeder = feed(fifo.clone(), Arc::new(AtomicBool::new(false)), 4 << 20);
    let err = copy_file(&fifo, &out.join("piped.mov"), None).unwrap_err();
    feeder.join().unwrap();
    assert!(
        matches!(err, WriteError::DestinationFull { needed: None, .. }),
        "{err:?}"
    );
    assert!(names(&out).is_empty(), "{:?}", names(&out));

    // The same file fits once there is room.
    let small = tmp.path().join("small.jpg");
    fs::write(&small, data(5, 500_000)).unwrap();
    copy_file(&small, &out.join("small.jpg"), None).unwrap();
    assert_eq!(names(&out), vec!["small.jpg"]);
}

#[test]
fn a_drive_vanishing_mid_copy_stops_the_run() {
    let Some(fs_) = Tmpfs::mount("64m") else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let out = fs_.path().join("Export");
    fs::create_dir(&out).unwrap();
    let fifo = tmp.path().join("fifo");
    mkfifo(&fifo);
    let stop = Arc::new(AtomicBool::new(false));
    let feeder = feed(fifo.clone(), stop.clone(), usize::MAX);
    let dest = out.join("a.mov");
    let copier = std::thread::spawn(move || copy_file(&fifo, &dest, None));
    wait_for_partial_temp(&out);
    fs_.vanish();
    stop.store(true, Ordering::SeqCst);
    let err = copier.join().unwrap().unwrap_err();
    feeder.join().unwrap();
    assert!(matches!(err, WriteError::DestinationGone { .. }), "{err:?}");
    assert!(err.stops_run());
    assert!(err.to_string().contains("reconnect"), "{err}");
}

#[test]
fn a_folder_deleted_mid_copy_stops_the_run() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("Export");
    fs::create_dir(&out).unwrap();
    let fifo = tmp.path().join("fifo");
    mkfifo(&fifo);
    let stop = Arc::new(AtomicBool::new(false));
    let feeder = feed(fifo.clone(), stop.clone(), usize::MAX);
    let dest = out.join("a.mov");
    let copier = std::thread::spawn(move || copy_file(&fifo, &dest, None));
    wait_for_partial_temp(&out);
    fs::remove_dir_all(&out).unwrap();
    stop.store(true, Ordering::SeqCst);
    let err = copier.join().unwrap().unwrap_err();
    feeder.join().unwrap();
    assert!(matches!(err, WriteError::DestinationGone { .. }), "{err:?}");
    assert!(!out.exists());
}

/// An XFS filesystem (reflink-capable) in a loop-mounted image file.
struct Xfs {
    dir: tempfile::TempDir,
    _image: tempfile::TempDir,
}

impl Xfs {
    /// `None` (after saying why) without `mkfs.xfs` or without root; as root
    /// with `mkfs.xfs`, a failure fails the test.
    fn mount() -> Option<Xfs> {
        let have_mkfs = Command::new("mkfs.xfs")
            .arg("-V")
            .output()
            .is_ok_and(|o| o.status.success());
        if !have_mkfs || !sys::is_root() {
            eprintln!("SKIPPED: a reflink test needs mkfs.xfs (xfsprogs) and root");
            return None;
        }
        let image_dir = tempfile::tempdir().unwrap();
        let image = image_dir.path().join("xfs.img");
        File::create(&image).unwrap().set_len(320 << 20).unwrap();
        let ok = Command::new("mkfs.xfs")
            .args(["-q", "-m", "reflink=1"])
            .arg(&image)
            .status()
            .unwrap();
        assert!(ok.success(), "mkfs.xfs failed");
        let dir = tempfile::tempdir().unwrap();
        let ok = Command::new("mount")
            .args(["-o", "loop"])
            .arg(&image)
            .arg(dir.path())
            .status()
            .unwrap();
        assert!(
            ok.success(),
            "running as root, yet mounting an XFS image failed"
        );
        Some(Xfs {
            dir,
            _image: image_dir,
        })
    }
}

impl Drop for Xfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(self.dir.path()).status();
    }
}

#[test]
fn clones_on_a_reflink_filesystem() {
    let Some(xfs) = Xfs::mount() else { return };
    let src = xfs.dir.path().join("original.mov");
    let bytes = data(11, 64 << 20);
    fs::write(&src, &bytes).unwrap();
    sync_fs(xfs.dir.path());
    let before = available_space(xfs.dir.path()).unwrap();
    let dest = xfs.dir.path().join("Export/copy.mov");
    let copied = copy_file(&src, &dest, Some(capture_time())).unwrap();
    sync_fs(xfs.dir.path());
    let after = available_space(xfs.dir.path()).unwrap();
    assert_eq!(copied.size, bytes.len() as u64);
    assert_eq!(copied.hash, blake3::hash(&bytes));
    assert!(fs::read(&dest).unwrap() == bytes);
    assert_eq!(
        fs::metadata(&dest).unwrap().modified().unwrap(),
        capture_time()
    );
    // A clone shares the blocks: far less than 64 MiB of space used.
    assert!(
        before - after < 8 << 20,
        "{} bytes used: not a clone",
        before - after
    );
    assert!(temporaries(dest.parent().unwrap()).is_empty());
}

fn sync_fs(path: &Path) {
    File::open(path).unwrap().sync_all().unwrap();
    // SAFETY: sync cannot fail.
    unsafe { libc::sync() };
}

// ---- a process killed mid-copy -----------------------------------------------

const CRASH_SRC: &str = "PHOTOVAULT_TEST_CRASH_SRC";
const CRASH_DEST: &str = "PHOTOVAULT_TEST_CRASH_DEST";

/// The child of [`a_killed_process_leaves_only_a_temporary`]: copies and is
/// killed half-way. Does nothing unless started by it.
#[test]
#[ignore = "started by a_killed_process_leaves_only_a_temporary"]
fn crash_child() {
    let (Some(src), Some(dest)) = (std::env::var_os(CRASH_SRC), std::env::var_os(CRASH_DEST))
    else {
        return;
    };
    let _ = copy_file(Path::new(&src), Path::new(&dest), Some(capture_time()));
    // Killed before getting here: the source never ends.
    std::process::exit(3);
}

#[test]
fn a_killed_process_leaves_only_a_temporary() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("Export");
    fs::create_dir(&out).unwrap();
    let fifo = tmp.path().join("fifo");
    mkfifo(&fifo);
    let dest = out.join("IMG_0001.MOV");
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "write::tests::crash_child",
            "--exact",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CRASH_SRC, &fifo)
        .env(CRASH_DEST, &dest)
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let feeder = feed(fifo, stop.clone(), usize::MAX);
    let partial = wait_for_partial_temp(&out);
    child.kill().unwrap(); // SIGKILL
    let status = child.wait().unwrap();
    stop.store(true, Ordering::SeqCst);
    feeder.join().unwrap();
    assert!(!status.success());

    assert!(!dest.exists(), "a partial file under the final name");
    let left = names(&out);
    assert_eq!(left.len(), 1, "{left:?}");
    assert_eq!(out.join(&left[0]), partial);
    assert!(left[0].starts_with(TEMP_PREFIX));
    assert_eq!(remove_temporaries(&out).unwrap(), 1);
    assert!(names(&out).is_empty());
}

// ---- throughput ---------------------------------------------------------------

/// `cargo test --release -p photovault write::tests::throughput -- --ignored --nocapture`
/// Env: PV_BENCH_DIR (default the temp dir), PV_BENCH_FILES (200),
/// PV_BENCH_MB (10), PV_BENCH_ROUNDS (3), PV_BENCH_THREADS (1). Compares `cp -r` with `copy_file` on one filesystem,
/// cold (page cache dropped when we may: root) and warm.
#[test]
#[ignore = "benchmark: run by hand in release mode"]
fn throughput() {
    let env = |k: &str, d: usize| {
        std::env::var(k)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(d)
    };
    let files = env("PV_BENCH_FILES", 200);
    let mb = env("PV_BENCH_MB", 10);
    let base = std::env::var_os("PV_BENCH_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(std::env::temp_dir);
    let work = tempfile::tempdir_in(base).unwrap();
    let src = work.path().join("src");
    fs::create_dir(&src).unwrap();
    for i in 0..files {
        fs::write(
            src.join(format!("IMG_{i:04}.HEIC")),
            data(i as u64, mb << 20),
        )
        .unwrap();
    }
    let total = (files * (mb << 20)) as f64;
    let sync = || {
        // SAFETY: sync cannot fail.
        unsafe { libc::sync() };
    };
    let drop_caches = || {
        sync();
        fs::write("/proc/sys/vm/drop_caches", "3").is_ok()
    };
    let warm_up = || {
        for e in fs::read_dir(&src).unwrap() {
            io::copy(&mut File::open(e.unwrap().path()).unwrap(), &mut io::sink()).unwrap();
        }
    };
    let mbps = |d: Duration| total / d.as_secs_f64() / 1e6;
    let run_cp = |dst: &Path, then_sync: bool| {
        let t = Instant::now();
        assert!(Command::new("cp")
            .arg("-r")
            .arg(&src)
            .arg(dst)
            .status()
            .unwrap()
            .success());
        if then_sync {
            sync();
        }
        t.elapsed()
    };
    // PV_BENCH_THREADS > 1: that many copy_file calls at once, as an engine
    // may run them.
    let threads = env("PV_BENCH_THREADS", 1).max(1);
    let run_pv = |dst: &Path| {
        let t = Instant::now();
        let files: Vec<PathBuf> = fs::read_dir(&src)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        let next = std::sync::atomic::AtomicUsize::new(0);
        std::thread::scope(|s| {
            for _ in 0..threads {
                s.spawn(|| loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(f) = files.get(i) else { break };
                    let to = dst.join(f.file_name().unwrap());
                    copy_file(f, &to, Some(capture_time())).unwrap();
                });
            }
        });
        t.elapsed()
    };
    // The disk of a virtual machine drifts a lot from one minute to the
    // next: the three ways run interleaved, one round after the other, a
    // first round is thrown away and the median of the rest is reported.
    let rounds = env("PV_BENCH_ROUNDS", 3);
    let dst = work.path().join("dst");
    let mut cold = true;
    let ways = ["cp -r", "cp -r && sync", "copy_file"];
    for temperature in ["cold", "warm"] {
        let mut rates: Vec<Vec<f64>> = vec![Vec::new(); ways.len()];
        for round in 0..=rounds {
            for (which, rates) in rates.iter_mut().enumerate() {
                let _ = fs::remove_dir_all(&dst);
                if temperature == "cold" {
                    cold &= drop_caches();
                } else {
                    sync();
                    warm_up();
                }
                let took = match which {
                    0 => run_cp(&dst, false),
                    1 => run_cp(&dst, true),
                    _ => run_pv(&dst),
                };
                if round > 0 {
                    rates.push(mbps(took));
                }
            }
        }
        let median = |v: &mut Vec<f64>| {
            v.sort_by(f64::total_cmp);
            v[v.len() / 2]
        };
        let medians: Vec<f64> = rates.iter_mut().map(median).collect();
        let temperature = if temperature == "cold" && !cold {
            "cold-ish"
        } else {
            temperature
        };
        for ((label, rate), all) in ways.iter().zip(&medians).zip(&rates) {
            let all: Vec<String> = all.iter().map(|r| format!("{r:.0}")).collect();
            println!(
                "{temperature:>8}  {label:<14} {rate:6.0} MB/s  (copy_file / this: {:.2})  runs: {}",
                medians[2] / rate,
                all.join(" ")
            );
        }
    }
    let _ = fs::remove_dir_all(&dst);
}
