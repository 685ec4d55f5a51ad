//! The daemon end to end: the real `photovaultd` in a temporary world,
//! driven by the real `photovaultctl`. Drives are folders renamed into and
//! out of the volume root, and, when the tests run as root, real
//! loop-mounted ext4 volumes.

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use photovault_e2e::daemon::{wait_until, Daemon};
use photovault_e2e::{big_library, export_ok, tree_fingerprint};
use photovault_testkit::{at, AssetSpec, BuiltLibrary, Generation, LibraryBuilder};
use serde_json::Value;

fn small_library(dir: &Path) -> BuiltLibrary {
    let mut b = LibraryBuilder::new(Generation::Modern);
    b.with_media(true);
    b.asset(AssetSpec::photo(
        "IMG_0001.JPG",
        at(0, 2021, 5, 1, 12, 0, 0),
    ));
    b.asset(AssetSpec::live(
        "IMG_0002.HEIC",
        at(0, 2021, 5, 2, 12, 0, 0),
    ));
    b.build(&dir.join("Library.photoslibrary")).unwrap()
}

/// Adds a photo the way Photos does (a transaction in the WAL, recorded
/// in the history), then lets the writer go.
fn add_photo(lib: &BuiltLibrary, name: &str, when: chrono::DateTime<chrono::FixedOffset>) {
    let mut w = lib.open_writer().unwrap();
    w.add_asset(&AssetSpec::photo(name, when)).unwrap();
}

fn enrol(d: &Daemon, path: &Path, name: &str) {
    let out = d.ctl(&["dest", "add", path.to_str().unwrap(), "--name", name]);
    assert!(
        out.status.success(),
        "dest add failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The exported files (path → hash) of a destination.
fn exported(dest: &Path) -> std::collections::BTreeMap<PathBuf, String> {
    tree_fingerprint(&dest.join("Export"))
}

/// What a clean one-shot export of `lib` writes.
fn clean_export(lib: &Path, dir: &Path) -> std::collections::BTreeMap<PathBuf, String> {
    let dest = dir.join("clean-export");
    export_ok(lib, &dest, &[]);
    exported(&dest)
}

fn temporaries(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            if e.file_type().unwrap().is_dir() {
                stack.push(e.path());
            } else if e
                .file_name()
                .to_string_lossy()
                .starts_with(".photovault-tmp-")
            {
                found.push(e.path());
            }
        }
    }
    found
}

#[test]
fn a_drive_plugged_in_is_backed_up_without_being_asked() {
    let dir = tempfile::tempdir().unwrap();
    let lib = small_library(dir.path());
    let d = Daemon::start(dir.path(), &lib.path, 3600);
    let drive = d.volumes.join("Drive");
    std::fs::create_dir(&drive).unwrap();
    enrol(&d, &drive, "Drive");
    let history = d.wait_for_finished(1, Duration::from_secs(30));
    assert_eq!(history[0]["state"], "done", "{history:?}");

    // Unplug: the status says so within two seconds.
    let away = dir.path().join("Drive (unplugged)");
    std::fs::rename(&drive, &away).unwrap();
    wait_until(
        Duration::from_secs(2),
        "the drive to show as unplugged",
        || d.destination("Drive")["mounted"] == false,
    );
    // The library changes while the drive is away; nothing is queued.
    add_photo(&lib, "IMG_0003.JPG", at(0, 2021, 6, 1, 9, 0, 0));
    // Plug it back: a backup runs to completion with no request.
    std::fs::rename(&away, &drive).unwrap();
    let history = d.wait_for_finished(2, Duration::from_secs(30));
    assert_eq!(history[0]["state"], "done", "{history:?}");
    assert_eq!(history[0]["reason"], "drive connected");
    assert_eq!(history[0]["summary"]["exported"], 1, "{history:?}");
    assert_eq!(exported(&drive), clean_export(&lib.path, dir.path()));

    let status = d.status();
    let dest = &status["destinations"][0];
    assert_eq!(dest["name"], "Drive");
    assert_eq!(dest["mounted"], true);
    assert_eq!(dest["path"], drive.to_str().unwrap());
    assert!(dest["id"].as_str().unwrap().len() == 36, "{dest}");
    assert!(
        dest["last_success"].as_str().unwrap().ends_with('Z'),
        "{dest}"
    );
    assert!(dest.get("job").is_some(), "{dest}");
    assert_eq!(status["library"]["assets"], 3, "{status}");

    // The enrolment is in the configuration, with the comment kept.
    let config = std::fs::read_to_string(&d.config).unwrap();
    assert!(config.starts_with("# test configuration"), "{config}");
    assert!(config.contains("[[destination]]") && config.contains("name = \"Drive\""));

    // Every job is in the log; doctor finds nothing wrong.
    let logs = d.ctl(&["logs", "-n", "100"]);
    let logs = String::from_utf8_lossy(&logs.stdout);
    assert!(
        logs.contains("backup started") && logs.contains("backup finished"),
        "{logs}"
    );
    let doctor = d.ctl_json(&["doctor"]);
    assert!(
        doctor.as_array().unwrap().iter().all(|c| c["ok"] == true),
        "{doctor}"
    );
    // Removing the destination leaves its drive as it is.
    assert!(d.ctl(&["dest", "remove", "Drive"]).status.success());
    assert_eq!(d.ctl_json(&["dest", "list"]), serde_json::json!([]));
    assert!(drive.join(".photovault/destination.toml").is_file());
    assert!(!std::fs::read_to_string(&d.config)
        .unwrap()
        .contains("[[destination]]"));
}

#[test]
fn two_drives_back_up_side_by_side() {
    let dir = tempfile::tempdir().unwrap();
    let lib = big_library(dir.path(), 300, 512 << 10);
    let d = Daemon::start(dir.path(), &lib.path, 3600);
    for name in ["A", "B"] {
        let drive = d.volumes.join(name);
        std::fs::create_dir(&drive).unwrap();
        enrol(&d, &drive, name);
    }
    wait_until(Duration::from_secs(60), "both jobs running at once", || {
        let jobs = d.ctl_json(&["jobs"]);
        jobs.as_array()
            .unwrap()
            .iter()
            .filter(|j| j["state"] == "running")
            .count()
            == 2
    });
    let history = d.wait_for_finished(2, Duration::from_secs(120));
    assert!(history.iter().all(|j| j["state"] == "done"), "{history:?}");
    let clean = clean_export(&lib.path, dir.path());
    assert_eq!(exported(&d.volumes.join("A")), clean);
    assert_eq!(exported(&d.volumes.join("B")), clean);
}

/// Root only: a real loop-mounted ext4 volume is mounted, unmounted and
/// mounted again under the volume root.
#[test]
fn a_real_mount_is_seen_and_backed_up() {
    if !photovault_testkit::is_root() || Command::new("mkfs.ext4").arg("-V").output().is_err() {
        eprintln!("skipped: needs root and mkfs.ext4 to loop-mount a volume");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let lib = small_library(dir.path());
    let d = Daemon::start(dir.path(), &lib.path, 3600);
    let image = dir.path().join("drive.img");
    std::fs::File::create(&image)
        .unwrap()
        .set_len(32 << 20)
        .unwrap();
    let ok = |cmd: &mut Command| assert!(cmd.status().unwrap().success(), "{cmd:?}");
    ok(Command::new("mkfs.ext4").args(["-q", "-F"]).arg(&image));
    let mount_point = d.volumes.join("USBDRIVE");
    std::fs::create_dir(&mount_point).unwrap();
    let mount = || {
        ok(Command::new("mount")
            .args(["-o", "loop"])
            .arg(&image)
            .arg(&mount_point))
    };
    let umount = || ok(Command::new("umount").arg(&mount_point));
    // A container may have no loop devices: say so rather than fail.
    let first = Command::new("mount")
        .args(["-o", "loop"])
        .arg(&image)
        .arg(&mount_point)
        .output()
        .unwrap();
    if !first.status.success() {
        eprintln!(
            "skipped: cannot loop-mount here ({})",
            String::from_utf8_lossy(&first.stderr).trim()
        );
        return;
    }
    enrol(&d, &mount_point, "USB");
    let history = d.wait_for_finished(1, Duration::from_secs(30));
    assert_eq!(history[0]["state"], "done", "{history:?}");
    umount();
    wait_until(Duration::from_secs(2), "the unmount to be seen", || {
        d.destination("USB")["mounted"] == false
    });
    mount();
    let started = std::time::Instant::now();
    let history = d.wait_for_finished(2, Duration::from_secs(30));
    assert!(started.elapsed() < Duration::from_secs(10));
    assert_eq!(history[0]["reason"], "drive connected", "{history:?}");
    assert_eq!(history[0]["state"], "done", "{history:?}");
    assert_eq!(exported(&mount_point), clean_export(&lib.path, dir.path()));
    // Remounted read-only: still seen, never written to, and the status
    // says why.
    ok(Command::new("mount")
        .args(["-o", "remount,ro"])
        .arg(&mount_point));
    wait_until(
        Duration::from_secs(2),
        "the read-only volume to be refused",
        || {
            d.destination("USB")["refused"]
                .as_str()
                .is_some_and(|r| r.contains("read-only"))
        },
    );
    let refused = d.ctl(&["backup", "USB"]);
    assert!(!refused.status.success());
    umount();
}

/// Waits until the running job has written some files; returns its id.
fn wait_running(d: &Daemon) -> i64 {
    let mut id = 0;
    wait_until(Duration::from_secs(60), "a job writing files", || {
        let jobs = d.ctl_json(&["jobs"]);
        jobs.as_array().unwrap().iter().any(|j| {
            let running =
                j["state"] == "running" && j["progress"]["files_done"].as_u64().unwrap_or(0) > 2;
            if running {
                id = j["id"].as_i64().unwrap();
            }
            running
        })
    });
    id
}

/// A daemon backing up a 150 MB library to a fresh drive, caught while its
/// job is writing: (library, daemon, drive, job id).
fn large_backup_running(dir: &Path) -> (BuiltLibrary, Daemon, PathBuf, i64) {
    let lib = big_library(dir, 300, 512 << 10);
    let d = Daemon::start(dir, &lib.path, 3600);
    let drive = d.volumes.join("Drive");
    std::fs::create_dir(&drive).unwrap();
    enrol(&d, &drive, "Drive");
    let id = wait_running(&d);
    (lib, d, drive, id)
}

#[test]
fn a_drive_removed_during_a_job_interrupts_it_and_the_next_mount_completes_it() {
    let dir = tempfile::tempdir().unwrap();
    let (lib, d, drive, _) = large_backup_running(dir.path());
    let away = dir.path().join("away");
    std::fs::rename(&drive, &away).unwrap();
    let history = d.wait_for_finished(1, Duration::from_secs(30));
    assert_eq!(history[0]["state"], "interrupted", "{history:?}");
    assert_eq!(history[0]["error"], "drive removed", "{history:?}");
    std::fs::rename(&away, &drive).unwrap();
    let history = d.wait_for_finished(2, Duration::from_secs(120));
    assert_eq!(history[0]["state"], "done", "{history:?}");
    assert_eq!(exported(&drive), clean_export(&lib.path, dir.path()));
    assert_eq!(temporaries(&drive), Vec::<PathBuf>::new());
}

#[test]
fn a_library_change_is_backed_up_after_the_debounce() {
    let dir = tempfile::tempdir().unwrap();
    let lib = small_library(dir.path());
    let d = Daemon::start(dir.path(), &lib.path, 1);
    let drive = d.volumes.join("Drive");
    std::fs::create_dir(&drive).unwrap();
    enrol(&d, &drive, "Drive");
    d.wait_for_finished(1, Duration::from_secs(30));
    add_photo(&lib, "IMG_0100.JPG", at(0, 2022, 1, 1, 9, 0, 0));
    let mut job = Value::Null;
    wait_until(
        Duration::from_secs(30),
        "a backup for the library change",
        || {
            job = d
                .history()
                .into_iter()
                .find(|j| j["reason"] == "library changed")
                .unwrap_or(Value::Null);
            job["state"] == "done"
        },
    );
    assert_eq!(job["summary"]["exported"], 1, "{job}");
    assert!(drive.join("Export/2022/2022-01/IMG_0100.JPG").is_file());
}

#[test]
fn a_killed_daemon_resumes_its_job_and_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (lib, mut d, drive, id) = large_backup_running(dir.path());
    d.kill();
    d.restart();
    let mut job = Value::Null;
    wait_until(
        Duration::from_secs(120),
        "the resumed job to finish",
        || {
            job = d.ctl_json(&["history"])[0].clone();
            job["id"] == id
        },
    );
    assert_eq!(job["state"], "done", "{job}");
    assert_eq!(job["attempts"], 2, "{job}");
    assert_eq!(exported(&drive), clean_export(&lib.path, dir.path()));
    assert_eq!(temporaries(&drive), Vec::<PathBuf>::new());
}

#[test]
fn sigterm_stops_cleanly_and_the_job_continues_at_the_next_start() {
    let dir = tempfile::tempdir().unwrap();
    let (lib, mut d, drive, id) = large_backup_running(dir.path());
    let (status, took) = d.stop();
    assert!(status.success(), "exit status {status:?}");
    assert!(took < Duration::from_secs(10), "took {took:?}");
    assert!(!d.state.join("photovaultd.sock").exists());
    d.restart();
    let mut job = Value::Null;
    wait_until(
        Duration::from_secs(120),
        "the job to finish after the restart",
        || {
            job = d.ctl_json(&["history"])[0].clone();
            job["id"] == id
        },
    );
    assert_eq!(job["state"], "done", "{job}");
    assert_eq!(exported(&drive), clean_export(&lib.path, dir.path()));
}

fn raw_request(socket: &Path, bytes: &[u8]) -> String {
    let mut s = UnixStream::connect(socket).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(15))).unwrap();
    // The daemon may close as soon as it has seen enough of a bad line.
    let _ = s.write_all(bytes);
    let mut out = String::new();
    let _ = s.read_to_string(&mut out);
    out
}

#[test]
fn the_socket_survives_garbage_huge_lines_silent_and_concurrent_clients() {
    let dir = tempfile::tempdir().unwrap();
    let lib = small_library(dir.path());
    let d = Daemon::start(dir.path(), &lib.path, 3600);
    let socket = d.state.join("photovaultd.sock");
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&socket).unwrap().permissions().mode() & 0o777,
        0o600
    );

    // A silent client holds a connection open the whole time.
    let silent = UnixStream::connect(&socket).unwrap();
    let garbage = raw_request(&socket, b"\x00\xffnot json\n");
    assert!(garbage.contains("\"bad_request\""), "{garbage}");
    let unknown = raw_request(&socket, b"{\"version\":1,\"request\":\"format_drive\"}\n");
    assert!(unknown.contains("\"unknown_request\""), "{unknown}");
    let mut huge = vec![b'x'; (1 << 20) + 100];
    huge.push(b'\n');
    let answer = raw_request(&socket, &huge);
    assert!(answer.contains("\"too_long\""), "{answer}");

    let threads: Vec<_> = (0..8)
        .map(|_| {
            let config = d.config.clone();
            std::thread::spawn(move || {
                let out = Command::new(photovault_e2e::bin("photovaultctl"))
                    .args(["--config", config.to_str().unwrap(), "status", "--json"])
                    .output()
                    .unwrap();
                out.status.success()
            })
        })
        .collect();
    for t in threads {
        assert!(t.join().unwrap());
    }
    // The silent client is cut off after its timeout, with an error.
    let mut silent = silent;
    silent
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let mut answer = String::new();
    let _ = silent.read_to_string(&mut answer);
    assert!(answer.contains("no complete request"), "{answer}");
    assert_eq!(d.status()["daemon"]["paused"], false);
}

#[test]
fn the_client_says_when_the_daemon_is_not_running() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(photovault_e2e::bin("photovaultctl"))
        .args([
            "--socket",
            dir.path().join("none.sock").to_str().unwrap(),
            "status",
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("photovaultd is not running"), "{err}");
    assert!(err.contains("photovaultctl install"), "{err}");
}

#[test]
fn jobs_can_be_cancelled_paused_and_resumed() {
    let dir = tempfile::tempdir().unwrap();
    let (lib, d, drive, first) = large_backup_running(dir.path());
    // Pause: the running job goes back to the queue and nothing runs.
    assert!(d.ctl(&["pause"]).status.success());
    wait_until(
        Duration::from_secs(10),
        "the job to be queued again",
        || {
            let jobs = d.ctl_json(&["jobs"]);
            jobs[0]["id"] == first && jobs[0]["state"] == "queued"
        },
    );
    assert_eq!(d.status()["daemon"]["paused"], true);
    // A duplicate request joins the queued job.
    let queued = d.ctl_json(&["backup", "Drive"]);
    assert_eq!(queued[0]["id"], first, "{queued}");
    assert!(d.ctl(&["resume"]).status.success());
    let id = wait_running(&d);
    assert_eq!(id, first);
    let cancelled = d.ctl_json(&["cancel", &id.to_string()]);
    assert_eq!(cancelled["id"], id);
    let history = d.wait_for_finished(1, Duration::from_secs(30));
    assert_eq!(history[0]["state"], "cancelled", "{history:?}");
    // `backup --wait` runs a new job to the end and reports it.
    let out = d.ctl(&["backup", "Drive", "--wait", "--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let jobs: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(jobs[0]["state"], "done", "{jobs}");
    assert_eq!(exported(&drive), clean_export(&lib.path, dir.path()));
}

#[test]
fn a_library_not_there_yet_is_retried_and_the_user_is_told_how_backups_end() {
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("notify.sh");
    let alerts = dir.path().join("alerts.txt");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\nprintf '%s|%s\\n' \"$1\" \"$2\" >> {:?}\n",
            alerts
        ),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    // The library is on a volume that is not there yet.
    let later = dir.path().join("later/Library.photoslibrary");
    let d = Daemon::start_with(
        dir.path(),
        &later,
        3600,
        &format!("notifications = {:?}\n", script),
    );
    let drive = d.volumes.join("Drive");
    std::fs::create_dir(&drive).unwrap();
    enrol(&d, &drive, "Drive");
    wait_until(Duration::from_secs(20), "a retry to be scheduled", || {
        let jobs = d.ctl_json(&["jobs"]);
        jobs[0]["state"] == "queued" && !jobs[0]["retry_at"].is_null()
    });
    std::fs::create_dir_all(later.parent().unwrap()).unwrap();
    small_library(later.parent().unwrap());
    let history = d.wait_for_finished(1, Duration::from_secs(30));
    assert_eq!(history[0]["state"], "done", "{history:?}");
    assert!(history[0]["attempts"].as_u64().unwrap() >= 2, "{history:?}");
    wait_until(Duration::from_secs(10), "the notification", || {
        std::fs::read_to_string(&alerts).is_ok_and(|t| t.contains("finished"))
    });
    let text = std::fs::read_to_string(&alerts).unwrap();
    assert!(text.contains("Drive"), "{text}");
}

/// Root only: another user cannot talk to the daemon.
#[test]
fn another_user_is_refused() {
    if !photovault_testkit::is_root() || Command::new("setpriv").arg("--version").output().is_err()
    {
        eprintln!("skipped: needs root and setpriv to act as another user");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let lib = small_library(dir.path());
    let d = Daemon::start(dir.path(), &lib.path, 3600);
    // Even with the folders open to everyone, the socket's mode and the
    // daemon's peer check keep another user out.
    use std::os::unix::fs::PermissionsExt;
    for p in [dir.path(), d.state.as_path()] {
        std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let out = Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
        .arg(photovault_e2e::bin("photovaultctl"))
        .arg("--socket")
        .arg(d.state.join("photovaultd.sock"))
        .arg("status")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    if err.starts_with("setpriv:") {
        eprintln!("skipped: setpriv cannot switch users here ({})", err.trim());
        return;
    }
    assert!(!out.status.success());
    assert!(
        err.contains("ermission denied") || err.contains("closed"),
        "{err}"
    );
    assert_eq!(d.status()["daemon"]["paused"], false);
}
