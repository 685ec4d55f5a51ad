//! The daemon running the mirror, verify and restore: a destination
//! enrolled with `--mode export,mirror`, driven by the real photovaultctl.

use std::path::Path;
use std::time::Duration;

use photovault_e2e::daemon::{wait_until, Daemon};
use photovault_e2e::tree_fingerprint;
use photovault_testkit::{at, AssetSpec, BuiltLibrary, Generation, LibraryBuilder};
use serde_json::Value;

fn library(dir: &Path) -> BuiltLibrary {
    let mut b = LibraryBuilder::new(Generation::Modern);
    b.with_media(true);
    for i in 0..10 {
        b.asset(AssetSpec::photo(
            &format!("IMG_{i:04}.JPG"),
            at(0, 2021, 5, 1 + i, 12, 0, 0),
        ));
    }
    b.build(&dir.join("Library.photoslibrary")).unwrap()
}

fn ok(out: &std::process::Output) -> Value {
    assert!(
        out.status.success(),
        "photovaultctl failed ({:?}): {}\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(&out.stdout)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn originals(lib: &Path) -> Vec<std::path::PathBuf> {
    tree_fingerprint(&lib.join("originals"))
        .into_iter()
        .filter(|(_, v)| v != "dir")
        .map(|(p, _)| lib.join("originals").join(p))
        .collect()
}

#[test]
fn a_mirroring_drive_is_mirrored_verified_and_restored_through_the_daemon() {
    let dir = tempfile::tempdir().unwrap();
    let lib = library(dir.path());
    let d = Daemon::start(dir.path(), &lib.path, 3600);
    let drive = d.plug_in_and_enrol("Drive", "export,mirror");

    // Plugged in: the backup exports and mirrors.
    let history = d.wait_for_finished(1, Duration::from_secs(60));
    assert_eq!(history[0]["state"], "done", "{history:?}");
    let mirror = &history[0]["summary"]["mirror"];
    assert!(mirror["new"].as_u64().unwrap() > 10, "{history:?}");
    let package = drive.join("Library/Library.photoslibrary");
    assert!(package.join("database/Photos.sqlite").is_file());
    assert!(drive.join("Export").is_dir());

    // Verify through the daemon: clean, and the status says so.
    let jobs = ok(&d.ctl(&["verify", "Drive", "--json"]));
    let v = &jobs[0]["summary"]["verify"];
    assert_eq!(
        (
            v["missing"].as_u64(),
            v["changed"].as_u64(),
            v["unexpected"].as_u64()
        ),
        (Some(0), Some(0), Some(0)),
        "{jobs}"
    );
    assert_eq!(d.destination("Drive")["last_verify"]["problems"], 0);

    // A damaged file: verify exits 4 and names it; the status shows it.
    let damaged = tree_fingerprint(&package.join("originals"))
        .into_iter()
        .find(|(_, v)| v != "dir")
        .map(|(p, _)| package.join("originals").join(p))
        .unwrap();
    std::fs::write(&damaged, b"rotten").unwrap();
    let out = d.ctl(&["verify", "Drive"]);
    assert_eq!(
        out.status.code(),
        Some(4),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains(damaged.file_name().unwrap().to_str().unwrap()),
        "{text}"
    );
    assert_eq!(d.destination("Drive")["last_verify"]["problems"], 1);
    let status = String::from_utf8_lossy(&d.ctl(&["status"]).stdout).to_string();
    assert!(status.contains("LAST VERIFY FOUND PROBLEMS"), "{status}");

    // The next backup repairs it; restore gives the library back.
    ok(&d.ctl(&["backup", "Drive", "--wait", "--json"]));
    let restored = dir.path().join("Restored.photoslibrary");
    let jobs = ok(&d.ctl(&[
        "restore",
        "Drive",
        "--to",
        restored.to_str().unwrap(),
        "--json",
    ]));
    let r = &jobs[0]["summary"]["restore"];
    assert_eq!(r["damaged"].as_array().unwrap().len(), 0, "{jobs}");
    let strip_times = |m: std::collections::BTreeMap<std::path::PathBuf, String>| {
        m.into_iter()
            .map(|(p, v)| (p, v.split(' ').take(2).collect::<Vec<_>>().join(" ")))
            .collect::<std::collections::BTreeMap<_, _>>()
    };
    assert_eq!(
        strip_times(tree_fingerprint(&restored)),
        strip_times(tree_fingerprint(&package))
    );
    // Restoring onto it again is refused.
    let out = d.ctl(&["restore", "Drive", "--to", restored.to_str().unwrap()]);
    assert!(!out.status.success());

    // A mass deletion: the backup fails, says how to proceed, and the
    // mirror keeps everything until it is allowed.
    for original in originals(&lib.path).iter().take(4) {
        std::fs::remove_file(original).unwrap();
    }
    let out = d.ctl(&["backup", "Drive", "--wait"]);
    assert_eq!(
        out.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let dest = d.destination("Drive");
    let why = dest["last_error"].as_str().unwrap_or_default().to_string();
    assert!(why.contains("--allow-deletions"), "{dest}");
    assert_eq!(originals(&package).len(), 10);
    ok(&d.ctl(&["backup", "Drive", "--wait", "--allow-deletions", "--json"]));
    assert_eq!(originals(&package).len(), 6);
    assert!(d.destination("Drive")["last_error"].is_null());
}

#[test]
fn a_drive_not_verified_for_a_month_is_verified_when_connected() {
    let dir = tempfile::tempdir().unwrap();
    let lib = library(dir.path());
    let mut d = Daemon::start(dir.path(), &lib.path, 3600);
    d.plug_in_and_enrol("Drive", "export");
    d.wait_for_finished(1, Duration::from_secs(60));
    // Fresh from its first backup, no verify is due.
    assert!(d.history().iter().all(|j| j["kind"] != "verify"));

    // Forty days pass (the backup's end moved back in the state database).
    d.stop();
    let state = rusqlite::Connection::open(d.state.join("state.sqlite")).unwrap();
    let old = (chrono::Utc::now() - chrono::Duration::days(40)).to_rfc3339();
    state.execute("UPDATE jobs SET ended = ?1", [&old]).unwrap();
    drop(state);
    d.restart();
    wait_until(Duration::from_secs(60), "a verify to run", || {
        d.history()
            .iter()
            .any(|j| j["kind"] == "verify" && j["state"] == "done" && j["reason"] == "verify due")
    });
}
