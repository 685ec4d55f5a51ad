//! `photovaultd mirror`, `verify` and `restore` end to end: the real binary
//! mirroring libraries the tests build (and the real fixtures when
//! present), checked file by file and row by row; changes kept in
//! `Versions/` and every run restorable; damage found by verify; a mass
//! deletion held; a real exFAT drive when the tests run as root.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Output;

use photovault_e2e::{big_library, copy_tree, photovaultd, shared_libraries, tree_fingerprint};
use photovault_testkit::{at, AssetSpec, BuiltLibrary, Generation, LibraryBuilder};
use rusqlite::{Connection, OpenFlags};
use serde_json::Value;

fn run(args: &[&str]) -> Output {
    let args: Vec<&std::ffi::OsStr> = args.iter().map(std::ffi::OsStr::new).collect();
    photovaultd(&args)
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn json_of(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "no JSON ({e}): {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

fn mirror_ok(lib: &Path, dest: &Path, extra: &[&str]) -> Value {
    let mut args = vec!["mirror", "--library", s(lib), "--to", s(dest), "--json"];
    args.extend(extra);
    let out = run(&args);
    assert!(
        out.status.success(),
        "mirror failed: {}\n{}",
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(&out.stdout)
    );
    json_of(&out)
}

/// Every file under `root`: relative path -> content hash.
fn contents(root: &Path) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(&dir).unwrap().flatten() {
            if e.file_type().unwrap().is_dir() {
                stack.push(e.path());
            } else {
                let rel = e
                    .path()
                    .strip_prefix(root)
                    .unwrap()
                    .to_string_lossy()
                    .into_owned();
                let hash = blake3::hash(&std::fs::read(e.path()).unwrap())
                    .to_hex()
                    .to_string();
                out.insert(rel, hash);
            }
        }
    }
    out
}

fn is_sqlite(path: &Path) -> bool {
    std::fs::read(path).is_ok_and(|b| b.starts_with(b"SQLite format 3\0"))
}

fn is_companion(rel: &str, all: &BTreeMap<String, String>) -> bool {
    ["-wal", "-shm", "-journal", ".lock"].iter().any(|suffix| {
        rel.strip_suffix(suffix)
            .is_some_and(|base| all.contains_key(base))
    })
}

/// Every row of every table, in a canonical text form.
fn rows(conn: &Connection) -> BTreeMap<String, Vec<String>> {
    let tables: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let mut out = BTreeMap::new();
    for t in tables {
        let mut stmt = conn.prepare(&format!("SELECT * FROM \"{t}\"")).unwrap();
        let n = stmt.column_count();
        let mut lines: Vec<String> = stmt
            .query_map([], |r| {
                let mut line = String::new();
                for i in 0..n {
                    line.push_str(&format!("{:?}|", r.get_ref(i)?));
                }
                Ok(line)
            })
            .unwrap()
            .map(Result::unwrap)
            .collect();
        lines.sort();
        out.insert(t, lines);
    }
    out
}

fn read_only(path: &Path) -> Connection {
    let uri = format!("file:{}?mode=ro&immutable=1", path.display());
    Connection::open_with_flags(
        uri,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_URI,
    )
    .unwrap()
}

/// The mirror of `lib` under `dest` equals the library: every plain file by
/// hash, every database whole and row for row.
fn assert_mirror_equals(lib: &Path, dest: &Path) {
    let name = lib.file_name().unwrap();
    let mirror = dest.join("Library").join(name);
    let source = contents(lib);
    let copy = contents(&mirror);
    for (rel, hash) in &source {
        if is_companion(rel, &source) {
            assert!(!copy.contains_key(rel), "{rel} should not be mirrored");
            continue;
        }
        let Some(copied) = copy.get(rel) else {
            panic!("{rel} is missing from the mirror");
        };
        if is_sqlite(&lib.join(rel)) {
            // A scratch copy of the source with its WAL, read like Photos would.
            let scratch = tempfile::tempdir().unwrap();
            let db = scratch.path().join("db");
            std::fs::copy(lib.join(rel), &db).unwrap();
            let wal = lib.join(format!("{rel}-wal"));
            if wal.exists() {
                std::fs::copy(&wal, scratch.path().join("db-wal")).unwrap();
            }
            let src = Connection::open(&db).unwrap();
            let dst = read_only(&mirror.join(rel));
            let check: String = dst
                .query_row("PRAGMA integrity_check", [], |r| r.get(0))
                .unwrap();
            assert_eq!(check, "ok", "{rel}");
            assert_eq!(rows(&src), rows(&dst), "{rel}: rows differ");
        } else {
            assert_eq!(hash, copied, "{rel} differs");
        }
    }
    for rel in copy.keys() {
        assert!(
            source.contains_key(rel),
            "{rel} is in the mirror but not in the library"
        );
    }
}

fn library(dir: &Path, n: usize) -> BuiltLibrary {
    let mut b = LibraryBuilder::new(Generation::Modern);
    b.with_media(true);
    for i in 0..n {
        let mut spec = AssetSpec::photo(
            &format!("IMG_{i:04}.JPG"),
            at(0, 2022, 3, 1 + i as u32 % 28, 9, 0, 0),
        );
        spec.edited = i % 4 == 0;
        b.asset(spec);
    }
    b.build(&dir.join("Family.photoslibrary")).unwrap()
}

fn originals(lib: &Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = contents(&lib.join("originals"))
        .into_keys()
        .map(|rel| lib.join("originals").join(rel))
        .collect();
    out.sort();
    out
}

#[test]
fn a_mirror_equals_the_library_and_never_changes_it() {
    let dir = tempfile::tempdir().unwrap();
    let lib = library(dir.path(), 12);
    // Photos is running: one more photo is only in the WAL.
    let mut writer = lib.open_writer().unwrap();
    writer
        .add_asset(&AssetSpec::photo(
            "IMG_LIVE.JPG",
            at(0, 2023, 1, 1, 0, 0, 0),
        ))
        .unwrap();
    let before = tree_fingerprint(&lib.path);
    let dest = dir.path().join("Drive");
    let report = mirror_ok(&lib.path, &dest, &[]);
    assert!(report["new"].as_u64().unwrap() > 12, "{report}");
    assert!(report["databases"].as_u64().unwrap() >= 1, "{report}");
    assert_eq!(
        tree_fingerprint(&lib.path),
        before,
        "the library was changed"
    );
    assert_mirror_equals(&lib.path, &dest);
    // The photo only in the WAL is in the mirror's database.
    let db = read_only(&dest.join("Library/Family.photoslibrary/database/Photos.sqlite"));
    let n: i64 = db
        .query_row("SELECT count(*) FROM ZASSET", [], |r| r.get(0))
        .unwrap();
    assert_eq!(n, 13);

    // A second run reads and writes nothing.
    let again = mirror_ok(&lib.path, &dest, &[]);
    assert_eq!(
        (
            again["new"].as_u64(),
            again["changed"].as_u64(),
            again["bytes"].as_u64()
        ),
        (Some(0), Some(0), Some(0)),
        "{again}"
    );
    drop(writer);
}

#[test]
fn every_fixture_library_is_mirrored_whole() {
    let Some(fixtures) = shared_libraries("every_fixture_library_is_mirrored_whole") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    for entry in std::fs::read_dir(&fixtures).unwrap().flatten() {
        let name = entry.file_name();
        if !name.to_string_lossy().ends_with(".photoslibrary") {
            continue;
        }
        let lib = dir.path().join(&name);
        copy_tree(&entry.path(), &lib).unwrap();
        let before = tree_fingerprint(&lib);
        let dest = dir.path().join(format!("{}-drive", name.to_string_lossy()));
        mirror_ok(&lib, &dest, &[]);
        assert_eq!(tree_fingerprint(&lib), before, "{name:?} was changed");
        assert_mirror_equals(&lib, &dest);
        let out = run(&["verify", "--dest", s(&dest), "--json"]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stdout)
        );
    }
}

#[test]
fn a_database_written_during_the_mirror_is_always_whole() {
    let dir = tempfile::tempdir().unwrap();
    let lib = big_library(dir.path(), 200, 1024);
    let start_count = 200;
    let path = lib.path.clone();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let writer = {
        let stop = stop.clone();
        let mut w = lib.open_writer().unwrap();
        std::thread::spawn(move || {
            let mut i = 0;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                w.add_asset(&AssetSpec::photo(
                    &format!("W_{i}.JPG"),
                    at(0, 2024, 1, 1, 0, 0, 0),
                ))
                .unwrap();
                i += 1;
            }
            i
        })
    };
    let dest = dir.path().join("Drive");
    let mut last = start_count;
    for _ in 0..6 {
        mirror_ok(&path, &dest, &[]);
        let db = read_only(&dest.join("Library/Big.photoslibrary/database/Photos.sqlite"));
        let check: String = db
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))
            .unwrap();
        assert_eq!(check, "ok");
        let n: i64 = db
            .query_row("SELECT count(*) FROM ZASSET", [], |r| r.get(0))
            .unwrap();
        assert!(n >= last, "the mirror went back in time: {n} < {last}");
        last = n;
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let added = writer.join().unwrap();
    assert!(
        added > 0 && last > start_count,
        "the writer did not overlap the mirror ({added} added)"
    );
}

/// The `Versions/` run folders of a destination, oldest first.
fn version_folders(dest: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dest.join("Versions"))
        .map(|d| {
            d.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

fn restore(dest: &Path, to: &Path, extra: &[&str]) -> Output {
    let mut args = vec!["restore", s(dest), "--to", s(to), "--json"];
    args.extend(extra);
    run(&args)
}

#[test]
fn replaced_and_deleted_files_are_kept_and_every_run_can_be_restored() {
    let dir = tempfile::tempdir().unwrap();
    let lib = library(dir.path(), 20);
    let dest = dir.path().join("Drive");
    let mirror = dest.join("Library/Family.photoslibrary");
    mirror_ok(&lib.path, &dest, &[]);
    let first = contents(&mirror);

    // A second later (run folders are named by the second): change one
    // original, delete another, add a file.
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let all = originals(&lib.path);
    let (changed, deleted) = (&all[0], &all[1]);
    let old_changed = std::fs::read(changed).unwrap();
    std::fs::write(changed, b"edited by some program").unwrap();
    std::fs::remove_file(deleted).unwrap();
    std::fs::write(lib.path.join("resources/new-thing.plist"), b"<plist/>").unwrap();
    // Saved again with the same bytes: a new time, nothing to keep.
    let touched = &all[2];
    std::fs::File::options()
        .write(true)
        .open(touched)
        .unwrap()
        .set_modified(std::time::SystemTime::now())
        .unwrap();
    let report = mirror_ok(&lib.path, &dest, &[]);
    assert_eq!(
        (
            report["new"].as_u64(),
            report["changed"].as_u64(),
            report["deleted"].as_u64()
        ),
        (Some(1), Some(1), Some(1)),
        "{report}"
    );
    let second = contents(&mirror);
    assert_mirror_equals(&lib.path, &dest);

    let folders = version_folders(&dest);
    assert_eq!(folders.len(), 1, "{folders:?}");
    let kept = dest
        .join("Versions")
        .join(&folders[0])
        .join("Library/Family.photoslibrary");
    let rel = |p: &Path| p.strip_prefix(&lib.path).unwrap().to_path_buf();
    assert_eq!(std::fs::read(kept.join(rel(changed))).unwrap(), old_changed);
    assert!(
        kept.join(rel(deleted)).is_file(),
        "the deleted original is not in Versions/"
    );

    // Each run restored exactly; a dry run only counts.
    let nowhere = dir.path().join("x");
    let dry = json_of(&restore(&dest, &nowhere, &["--dry-run"]));
    assert_eq!(dry["files"].as_u64(), Some(second.len() as u64), "{dry}");
    assert!(!nowhere.exists());
    let latest = dir.path().join("Latest.photoslibrary");
    let out = restore(&dest, &latest, &[]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert_eq!(contents(&latest), second);

    // The first run: its start, as a stamp and as an RFC 3339 time.
    let catalog = Connection::open(dest.join(".photovault/catalog.sqlite")).unwrap();
    let first_started: String = catalog
        .query_row(
            "SELECT started FROM runs WHERE engine = 'mirror' ORDER BY id LIMIT 1",
            [],
            |r| r.get(0),
        )
        .unwrap();
    let first_stamp = chrono::DateTime::parse_from_rfc3339(&first_started)
        .unwrap()
        .with_timezone(&chrono::Utc)
        .format("%Y-%m-%dT%H-%M-%SZ")
        .to_string();
    let old = dir.path().join("First.photoslibrary");
    let out = restore(&dest, &old, &["--at", &first_stamp]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert_eq!(
        contents(&old),
        first,
        "restore --at the first run differs from the first mirror"
    );
    // Empty folders of the package come back too.
    assert!(old.join("database").is_dir());

    // An existing target is refused unless forced.
    let out = restore(&dest, &old, &[]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("--force"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = restore(&dest, &old, &["--force"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut merged = first.clone();
    merged.extend(second.clone());
    assert_eq!(contents(&old), merged);
}

#[test]
fn verify_finds_a_flipped_byte_a_truncated_a_deleted_and_a_stray_file() {
    let dir = tempfile::tempdir().unwrap();
    let lib = library(dir.path(), 8);
    let dest = dir.path().join("Drive");
    let out = run(&[
        "export",
        "--library",
        s(&lib.path),
        "--to",
        s(&dest),
        "--json",
    ]);
    assert!(out.status.success());
    mirror_ok(&lib.path, &dest, &[]);
    let verify = || run(&["verify", "--dest", s(&dest), "--json"]);
    let clean = verify();
    assert!(
        clean.status.success(),
        "{}",
        String::from_utf8_lossy(&clean.stdout)
    );
    let r = json_of(&clean);
    assert!(r["checked"].as_u64().unwrap() > 20, "{r}");
    assert_eq!(
        (
            r["missing"].as_array().unwrap().len(),
            r["changed"].as_array().unwrap().len(),
            r["unexpected"].as_array().unwrap().len()
        ),
        (0, 0, 0)
    );

    let mirror = dest.join("Library/Family.photoslibrary");
    let files: Vec<String> = contents(&mirror.join("originals")).into_keys().collect();
    let flipped = mirror.join("originals").join(&files[0]);
    let mut bytes = std::fs::read(&flipped).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x01;
    std::fs::write(&flipped, bytes).unwrap();
    let truncated = mirror.join("originals").join(&files[1]);
    let len = std::fs::metadata(&truncated).unwrap().len();
    std::fs::OpenOptions::new()
        .write(true)
        .open(&truncated)
        .unwrap()
        .set_len(len / 2)
        .unwrap();
    let exported: Vec<String> = contents(&dest.join("Export")).into_keys().collect();
    let deleted = dest.join("Export").join(&exported[0]);
    std::fs::remove_file(&deleted).unwrap();
    std::fs::write(dest.join("Export/stray.txt"), b"who put this here").unwrap();

    let bad = verify();
    assert_eq!(bad.status.code(), Some(4));
    let r = json_of(&bad);
    let paths = |key: &str| -> Vec<String> {
        r[key]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["path"].as_str().unwrap().to_string())
            .collect()
    };
    let rel = |p: &Path| {
        p.strip_prefix(&dest)
            .unwrap()
            .to_string_lossy()
            .into_owned()
    };
    let mut changed = paths("changed");
    changed.sort();
    let mut want = vec![rel(&flipped), rel(&truncated)];
    want.sort();
    assert_eq!(changed, want);
    assert_eq!(paths("missing"), [rel(&deleted)]);
    assert_eq!(paths("unexpected"), ["Export/stray.txt"]);

    // The next backup copies the damaged and missing files again.
    std::fs::remove_file(dest.join("Export/stray.txt")).unwrap();
    let out = run(&[
        "export",
        "--library",
        s(&lib.path),
        "--to",
        s(&dest),
        "--json",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    mirror_ok(&lib.path, &dest, &[]);
    let healed = verify();
    assert!(
        healed.status.success(),
        "{}",
        String::from_utf8_lossy(&healed.stdout)
    );
    assert_mirror_equals(&lib.path, &dest);
}

#[test]
fn a_mass_deletion_is_held_until_allowed() {
    let dir = tempfile::tempdir().unwrap();
    let lib = library(dir.path(), 20);
    let dest = dir.path().join("Drive");
    mirror_ok(&lib.path, &dest, &[]);
    let mirror = dest.join("Library/Family.photoslibrary");
    let before = tree_fingerprint(&mirror);
    for original in originals(&lib.path).iter().take(5) {
        std::fs::remove_file(original).unwrap();
    }
    let out = run(&["mirror", "--library", s(&lib.path), "--to", s(&dest)]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("lost 5 of its 20 originals") && err.contains("--allow-deletions"),
        "{err}"
    );
    assert_eq!(tree_fingerprint(&mirror), before, "the mirror was touched");
    assert!(version_folders(&dest).is_empty());

    let report = mirror_ok(&lib.path, &dest, &["--allow-deletions"]);
    assert_eq!(report["deleted"], 5, "{report}");
    assert_mirror_equals(&lib.path, &dest);
    assert_eq!(version_folders(&dest).len(), 1);
}

#[test]
fn a_dry_run_writes_nothing_and_the_library_is_never_a_destination() {
    let dir = tempfile::tempdir().unwrap();
    let lib = library(dir.path(), 3);
    let dest = dir.path().join("Drive");
    let report = mirror_ok(&lib.path, &dest, &["--dry-run"]);
    assert!(!dest.exists());
    assert!(report["planned"].as_array().unwrap().len() > 3, "{report}");

    // Never into the library itself.
    let before = tree_fingerprint(&lib.path);
    let inside = lib.path.join("backup");
    let out = run(&["mirror", "--library", s(&lib.path), "--to", s(&inside)]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("overlap"));
    assert_eq!(tree_fingerprint(&lib.path), before);
}

/// A loop-mounted exFAT image (through FUSE: this kernel has no exFAT
/// driver), or why not.
struct Exfat {
    mount: PathBuf,
    loop_dev: String,
}

impl Exfat {
    fn new(dir: &Path) -> Result<Exfat, String> {
        if !photovault_testkit::is_root() {
            return Err("not running as root".into());
        }
        let image = dir.join("exfat.img");
        let sh = |cmd: &str| -> Result<String, String> {
            let out = std::process::Command::new("sh")
                .arg("-c")
                .arg(cmd)
                .output()
                .map_err(|e| e.to_string())?;
            if out.status.success() {
                Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
            } else {
                Err(format!(
                    "{cmd}: {}",
                    String::from_utf8_lossy(&out.stderr).trim()
                ))
            }
        };
        sh(&format!(
            "truncate -s 256M '{}' && mkfs.exfat '{}' >/dev/null",
            image.display(),
            image.display()
        ))?;
        let loop_dev = sh(&format!("losetup -f --show '{}'", image.display()))?;
        let mount = dir.join("exfat");
        std::fs::create_dir_all(&mount).unwrap();
        if let Err(e) = sh(&format!(
            "mount -t exfat '{loop_dev}' '{}' 2>/dev/null || mount.exfat-fuse '{loop_dev}' '{}'",
            mount.display(),
            mount.display()
        )) {
            let _ = sh(&format!("losetup -d '{loop_dev}'"));
            return Err(e);
        }
        Ok(Exfat { mount, loop_dev })
    }
}

impl Drop for Exfat {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .arg(&self.mount)
            .status();
        let _ = std::process::Command::new("losetup")
            .args(["-d", &self.loop_dev])
            .status();
    }
}

#[test]
fn a_real_exfat_drive_mirrors_verifies_and_names_what_it_cannot_store() {
    let dir = tempfile::tempdir().unwrap();
    let drive = match Exfat::new(dir.path()) {
        Ok(d) => d,
        Err(why) => {
            println!(
                "SKIPPED a_real_exfat_drive_mirrors_verifies_and_names_what_it_cannot_store: {why}"
            );
            return;
        }
    };
    let lib = library(dir.path(), 10);
    let dest = drive.mount.join("PhotoVault");
    mirror_ok(&lib.path, &dest, &[]);
    assert_mirror_equals(&lib.path, &dest);
    // exFAT keeps times to 2 s (or 10 ms): the next run must still find
    // nothing changed, because it compares with the catalog, not the drive.
    let again = mirror_ok(&lib.path, &dest, &[]);
    assert_eq!(again["bytes"], 0, "{again}");

    std::thread::sleep(std::time::Duration::from_millis(1100));
    std::fs::write(&originals(&lib.path)[0], b"changed").unwrap();
    std::fs::write(lib.path.join("resources/odd:name.plist"), b"x").unwrap();
    let out = run(&[
        "mirror",
        "--library",
        s(&lib.path),
        "--to",
        s(&dest),
        "--json",
    ]);
    assert_eq!(
        out.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let r = json_of(&out);
    assert_eq!(r["changed"], 1, "{r}");
    let errors = r["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 1, "{r}");
    assert_eq!(errors[0]["path"], "resources/odd:name.plist");
    assert!(
        errors[0]["reason"]
            .as_str()
            .unwrap()
            .contains("cannot store the name"),
        "{r}"
    );
    let out = run(&["verify", "--dest", s(&dest), "--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

#[test]
fn exported_photos_are_restored_by_year_and_album() {
    let dir = tempfile::tempdir().unwrap();
    let mut b = LibraryBuilder::new(Generation::Modern);
    b.with_media(true);
    let trip = b.album("Trip", &["Travel"]);
    b.asset(AssetSpec::photo("IMG_2019.JPG", at(0, 2019, 7, 4, 10, 0, 0)).in_album(trip));
    b.asset(AssetSpec::photo(
        "IMG_2020.JPG",
        at(0, 2020, 1, 2, 10, 0, 0),
    ));
    b.asset(AssetSpec::photo("IMG_2020B.JPG", at(0, 2020, 3, 2, 10, 0, 0)).in_album(trip));
    let lib = b.build(&dir.path().join("L.photoslibrary")).unwrap();
    let dest = dir.path().join("Drive");
    let out = run(&[
        "export",
        "--library",
        s(&lib.path),
        "--to",
        s(&dest),
        "--json",
    ]);
    assert!(out.status.success());
    let names = |root: &Path| -> Vec<String> {
        let mut v: Vec<String> = contents(root)
            .into_keys()
            .filter(|p| !p.ends_with(".xmp"))
            .map(|p| p.rsplit('/').next().unwrap().to_string())
            .collect();
        v.sort();
        v
    };

    let all = dir.path().join("all");
    let out = restore(&dest, &all, &["--export"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(contents(&all), contents(&dest.join("Export")));

    let y2020 = dir.path().join("2020");
    let out = restore(&dest, &y2020, &["--export", "--year", "2020"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(names(&y2020), ["IMG_2020.JPG", "IMG_2020B.JPG"]);

    let trip_dir = dir.path().join("trip");
    let out = restore(&dest, &trip_dir, &["--export", "--album", "Trip"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(names(&trip_dir), ["IMG_2019.JPG", "IMG_2020B.JPG"]);

    let both = dir.path().join("both");
    let out = restore(
        &dest,
        &both,
        &["--export", "--album", "Travel/Trip", "--year", "2019"],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(names(&both), ["IMG_2019.JPG"]);

    // A drive with no mirror says so.
    let out = restore(&dest, &dir.path().join("lib"), &[]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--export"));
}
