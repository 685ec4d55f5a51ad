//! Support for the end-to-end tests: finding the built binaries and the
//! shared fixtures, copying libraries and hashing them.
//!
//! The binaries live in other packages of the workspace, so they are found
//! next to this test executable's `deps/` folder; `make test` builds them
//! first.

pub mod history;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub mod daemon;

/// The path of a workspace binary (`photovaultd`, `photovaultctl`) built in
/// the same profile as the running test.
pub fn bin(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("test executable path");
    // target/<profile>/deps/<test> -> target/<profile>/<name>
    let dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("target profile folder");
    let path = dir.join(name);
    assert!(
        path.is_file(),
        "{} is not built; run the tests with `make test` (or `cargo build --workspace` first)",
        path.display()
    );
    path
}

/// Runs `photovaultd` with `args` and returns its output.
pub fn photovaultd(args: &[&std::ffi::OsStr]) -> Output {
    Command::new(bin("photovaultd"))
        .args(args)
        .output()
        .expect("running photovaultd")
}

/// The real Photos libraries of `../shared`, when this checkout has them.
/// Prints why a test is skipped when it does not.
pub fn shared_libraries(test: &str) -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/fixtures/photos-libraries");
    if dir.is_dir() {
        Some(dir.canonicalize().expect("fixture folder"))
    } else {
        println!(
            "SKIPPED {test}: ../shared/fixtures/photos-libraries is not present in this checkout"
        );
        None
    }
}

/// Copies a folder tree (files and folders only), making the copy writable
/// so that a temporary directory can be removed afterwards.
pub fn copy_tree(from: &Path, to: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        let kind = entry.file_type()?;
        if kind.is_dir() {
            copy_tree(&entry.path(), &target)?;
        } else if kind.is_file() {
            std::fs::copy(entry.path(), &target)?;
            let mut perm = std::fs::metadata(&target)?.permissions();
            #[allow(clippy::permissions_set_readonly_false)]
            perm.set_readonly(false);
            std::fs::set_permissions(&target, perm)?;
        }
    }
    Ok(())
}

/// Every file under `root` (relative path) with its BLAKE3 hash, size and
/// modification time: equal maps mean not a byte, name or time changed.
pub fn tree_fingerprint(root: &Path) -> BTreeMap<PathBuf, String> {
    let mut out = BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).expect("read_dir") {
            let entry = entry.expect("dir entry");
            let path = entry.path();
            let meta = entry.metadata().expect("metadata");
            let rel = path.strip_prefix(root).expect("under root").to_path_buf();
            if meta.is_dir() {
                out.insert(rel, "dir".into());
                stack.push(path);
            } else {
                let bytes = std::fs::read(&path).expect("read file");
                let mtime = meta
                    .modified()
                    .ok()
                    .map(|t| format!("{t:?}"))
                    .unwrap_or_default();
                out.insert(
                    rel,
                    format!("{} {} {mtime}", blake3::hash(&bytes), bytes.len()),
                );
            }
        }
    }
    out
}

/// Runs `photovaultd export --library LIB --to DEST --json EXTRA...`.
pub fn export(lib: &Path, dest: &Path, extra: &[&str]) -> Output {
    let mut args: Vec<&std::ffi::OsStr> = vec![
        "export".as_ref(),
        "--library".as_ref(),
        lib.as_os_str(),
        "--to".as_ref(),
        dest.as_os_str(),
        "--json".as_ref(),
    ];
    args.extend(extra.iter().map(|a| std::ffi::OsStr::new(*a)));
    photovaultd(&args)
}

/// [`export`] that must succeed; returns its JSON summary.
pub fn export_ok(lib: &Path, dest: &Path, extra: &[&str]) -> serde_json::Value {
    let out = export(lib, dest, extra);
    assert!(
        out.status.success(),
        "export failed: {}\n{}",
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(&out.stdout)
    );
    serde_json::from_slice(&out.stdout).expect("JSON summary")
}

/// A library of `n` photos whose originals are `size` bytes of distinct data.
pub fn big_library(dir: &Path, n: usize, size: usize) -> photovault_testkit::BuiltLibrary {
    let mut b = photovault_testkit::LibraryBuilder::new(photovault_testkit::Generation::Modern);
    for i in 0..n {
        let mut spec = photovault_testkit::AssetSpec::photo(
            &format!("IMG_{i:04}.JPG"),
            photovault_testkit::at(0, 2020, 1 + (i % 12) as u32, 1, 0, 0, 0),
        );
        spec.edited = i % 3 == 0;
        b.asset(spec);
    }
    let lib = b.build(&dir.join("Big.photoslibrary")).unwrap();
    for (i, a) in lib.assets.iter().enumerate() {
        let path = lib.absolute(
            &a.resource(photovault_testkit::ResourceRole::Original)
                .unwrap()
                .path,
        );
        let mut data = vec![0u8; size];
        let mut x = (i as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        for chunk in data.chunks_mut(8) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            chunk.copy_from_slice(&x.to_le_bytes()[..chunk.len()]);
        }
        std::fs::write(path, data).unwrap();
    }
    lib
}
