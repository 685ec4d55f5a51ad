//! The export holds the same files as `osxphotos export` with its default
//! options (originals, edited versions, live-photo videos) for every real
//! fixture library. photovault also writes sidecars and `.aae` files, which
//! osxphotos does not by default, and it sorts into year/month folders where
//! osxphotos writes one flat folder. Collision suffixes (`IMG (1).JPG`)
//! therefore differ, so names are compared with them removed, as multisets.
//!
//! Runs when `../shared` is present and osxphotos 0.77 is installed
//! (`make test` installs it into `target/osxphotos-venv`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use photovault_e2e::{copy_tree, export_ok, shared_libraries};
use unicode_normalization::UnicodeNormalization;

fn osxphotos() -> Option<PathBuf> {
    let venv = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/osxphotos-venv/bin/osxphotos");
    venv.is_file().then_some(venv)
}

/// File names under `dir`, NFC, without a ` (n)` collision suffix, counted.
fn names(dir: &Path, skip: &[&str]) -> BTreeMap<String, usize> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            if e.file_type().unwrap().is_dir() {
                stack.push(e.path());
                continue;
            }
            let name: String = e.file_name().to_string_lossy().nfc().collect();
            if name.starts_with('.') || skip.iter().any(|s| name.to_lowercase().ends_with(s)) {
                continue;
            }
            *out.entry(strip_collision_suffix(&name)).or_default() += 1;
        }
    }
    out
}

fn strip_collision_suffix(name: &str) -> String {
    let mut s = name.to_string();
    while let Some(open) = s.find(" (") {
        let Some(close) = s[open..].find(')') else {
            break;
        };
        let inner = &s[open + 2..open + close];
        if inner.is_empty() || !inner.chars().all(|c| c.is_ascii_digit()) {
            break;
        }
        s.replace_range(open..open + close + 1, "");
    }
    s
}

#[test]
fn export_holds_the_files_osxphotos_exports() {
    let Some(fixtures) = shared_libraries("comparison with osxphotos export") else {
        return;
    };
    let Some(osxphotos) = osxphotos() else {
        println!("SKIPPED comparison with osxphotos export: osxphotos is not installed (run `make osxphotos`)");
        return;
    };
    let work = tempfile::tempdir().unwrap();
    for name in [
        "Test-10.15.7",
        "Test-15.4.1",
        "Test-Media-Types-15.7.2",
        "Test-Lock-10_15_1",
    ] {
        let lib = work.path().join(format!("{name}.photoslibrary"));
        copy_tree(&fixtures.join(format!("{name}.photoslibrary")), &lib).unwrap();
        let osx_dest = work.path().join(format!("{name}-osxphotos"));
        std::fs::create_dir(&osx_dest).unwrap();
        let out = Command::new(&osxphotos)
            .arg("export")
            .arg(&osx_dest)
            .arg("--library")
            .arg(&lib)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "osxphotos failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let dest = work.path().join(format!("{name}-photovault"));
        export_ok(&lib, &dest, &[]);
        let theirs = names(&osx_dest, &[]);
        let ours = names(&dest.join("Export"), &[".xmp", ".aae"]);
        assert!(!theirs.is_empty(), "{name}: osxphotos exported nothing");
        assert_eq!(
            ours, theirs,
            "{name}: exported file names differ from osxphotos export"
        );
    }
}

#[test]
fn collision_suffixes_are_stripped() {
    assert_eq!(strip_collision_suffix("IMG (1).JPG"), "IMG.JPG");
    assert_eq!(
        strip_collision_suffix("Frítest_edited (12).jpeg"),
        "Frítest_edited.jpeg"
    );
    assert_eq!(
        strip_collision_suffix("Frítest (1)_edited.jpeg"),
        "Frítest_edited.jpeg"
    );
    assert_eq!(
        strip_collision_suffix("Trip (Paris).JPG"),
        "Trip (Paris).JPG"
    );
}
