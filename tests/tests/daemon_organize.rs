//! The daemon organizing a `[[source]]` folder (an icloudpd download folder)
//! onto a destination enrolled with `--mode organize`: at connection, when
//! new files arrive (only once they stopped growing), once per file, and
//! never touching the source.

use std::path::{Path, PathBuf};
use std::time::Duration;

use photovault_e2e::daemon::{wait_until, Daemon};
use photovault_e2e::tree_fingerprint;
use photovault_testkit::media::{exif_fields_block, jpeg_picture, png_picture, ExifFields};
use serde_json::Value;

fn photo(date: &str, width: u16) -> Vec<u8> {
    let exif = exif_fields_block(&ExifFields {
        make: Some("Apple"),
        model: Some("iPhone 13"),
        date_time_original: Some(date),
        ..Default::default()
    });
    jpeg_picture(width, 48, Some(&exif), None)
}

fn write(path: &Path, bytes: &[u8]) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, bytes).unwrap();
}

/// Every file under `Organized/` on the drive, with its content.
fn organized(drive: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let root = drive.join("Organized");
    if !root.is_dir() {
        return Vec::new();
    }
    tree_fingerprint(&root)
        .into_iter()
        .filter(|(_, v)| v != "dir")
        .map(|(p, _)| {
            let bytes = std::fs::read(root.join(&p)).unwrap();
            (p, bytes)
        })
        .collect()
}

fn organize_summary(job: &Value) -> &Value {
    assert_eq!(job["kind"], "organize", "{job}");
    assert_eq!(job["state"], "done", "{job}");
    &job["summary"]["organize"]
}

#[test]
fn a_source_folder_is_organized_onto_the_drive_once_files_are_complete() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("icloudpd");
    write(
        &src.join("2024/05/06/IMG_0001.JPG"),
        &photo("2024:05:06 07:08:09", 64),
    );
    write(
        &src.join("2024/05/07/IMG_0002.JPG"),
        &photo("2024:05:07 10:00:00", 40),
    );
    write(
        &src.join("2024/05/07/IMG_0003.PNG"),
        &png_picture(20, 20, &[], None),
    );
    let gone = dir.path().join("not-mounted");
    let extra = format!(
        "notifications = \"off\"\n\n[[source]]\nkind = \"folder\"\npath = {src:?}\n\n[[source]]\nkind = \"folder\"\nname = \"Card\"\npath = {gone:?}\n"
    );
    let d = Daemon::start_with(dir.path(), &dir.path().join("no.photoslibrary"), 1, &extra);
    let drive = d.plug_in_and_enrol("Drive", "organize");

    // Connected: the folder is organized; the missing one is named, not
    // fatal. Files written less than debounce_seconds before wait for a
    // follow-up job (they could still be growing).
    let written = |j: &Value| j["summary"]["organize"]["written"] == 3;
    wait_until(
        Duration::from_secs(60),
        "the source to be organized",
        || d.history().iter().any(written),
    );
    let history = d.history();
    let jobs_so_far = history.len();
    if jobs_so_far == 2 {
        assert_eq!(
            history[0]["reason"], "files that were still being written",
            "{history:?}"
        );
        assert_eq!(organize_summary(&history[1])["deferred"], 3, "{history:?}");
    }
    assert!(jobs_so_far <= 2, "{history:?}");
    let first = organize_summary(history.iter().find(|j| written(j)).unwrap());
    assert_eq!(first["written"], 3, "{history:?}");
    assert_eq!(first["sources"], 1, "{history:?}");
    let unavailable = first["unavailable"].as_array().unwrap();
    assert_eq!(unavailable.len(), 1, "{first}");
    assert!(
        unavailable[0].as_str().unwrap().starts_with("Card: "),
        "{first}"
    );
    let files = organized(&drive);
    assert_eq!(files.len(), 3, "{files:?}");
    assert!(
        files
            .iter()
            .any(|(p, _)| p == Path::new("photos/2024.05.06.07.08.09.jpg")),
        "{:?}",
        files.iter().map(|f| &f.0).collect::<Vec<_>>()
    );
    // No backup ran on a drive that only organizes.
    assert!(history.iter().all(|j| j["kind"] == "organize"));

    // The status lists the sources, the missing one as such.
    let status = d.status();
    let sources = status["sources"].as_array().unwrap();
    assert_eq!(sources.len(), 2, "{status}");
    assert_eq!(sources[0]["present"], true);
    assert_eq!(sources[0]["destinations"], serde_json::json!(["Drive"]));
    assert_eq!(sources[1]["present"], false);
    let text = String::from_utf8_lossy(&d.ctl(&["status"]).stdout).to_string();
    assert!(text.contains("MISSING"), "{text}");

    // A new file arrives in two halves: it is organized once, complete.
    let new_photo = photo("2024:06:01 12:00:00", 96);
    let new_path = src.join("2024/06/01/IMG_0004.JPG");
    let (head, tail) = new_photo.split_at(new_photo.len() / 2);
    write(&new_path, head);
    std::thread::sleep(Duration::from_millis(500));
    let mut whole = head.to_vec();
    whole.extend_from_slice(tail);
    std::fs::write(&new_path, &whole).unwrap();
    let source_before = tree_fingerprint(&src);

    let history = d.wait_for_finished(jobs_so_far + 1, Duration::from_secs(60));
    let second = organize_summary(&history[0]);
    assert_eq!(history[0]["reason"], "new files in a source", "{history:?}");
    assert_eq!(
        (
            second["written"].as_u64(),
            second["already_organized"].as_u64()
        ),
        (Some(1), Some(3)),
        "{history:?}"
    );
    // Quiet since: no further job, and the organized copy is the whole file.
    std::thread::sleep(Duration::from_secs(4));
    assert_eq!(d.history().len(), jobs_so_far + 1, "{:?}", d.history());
    let files = organized(&drive);
    assert_eq!(
        files.len(),
        4,
        "{:?}",
        files.iter().map(|f| &f.0).collect::<Vec<_>>()
    );
    let copy = files
        .iter()
        .find(|(p, _)| p == Path::new("photos/2024.06.01.12.00.00.jpg"))
        .expect("the new photo organized under its capture time");
    assert_eq!(copy.1, whole, "the organized copy is not the complete file");

    // A second pass on request writes nothing.
    let out = d.ctl(&["backup", "Drive", "--wait", "--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let history = d.history();
    let third = organize_summary(&history[0]);
    assert_eq!(
        (
            third["written"].as_u64(),
            third["already_organized"].as_u64()
        ),
        (Some(0), Some(4)),
        "{history:?}"
    );
    assert_eq!(organized(&drive), files);

    // The source is exactly as it was written.
    assert_eq!(tree_fingerprint(&src), source_before);
}

#[test]
fn a_source_time_zone_names_its_videos_in_that_zone() {
    use photovault_testkit::at;
    use photovault_testkit::media::{movie, MovieInfo};
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("camera");
    // QuickTime stores UTC: 12:00 UTC is 14:00 in Paris in July, whatever
    // the zone of the computer running the daemon.
    write(
        &src.join("clip.mp4"),
        &movie(&MovieInfo {
            created: at(0, 2024, 7, 1, 12, 0, 0),
            duration: 1.0,
            width: 16,
            height: 16,
            gps: None,
            content_identifier: None,
            unique: "clip",
            quicktime: false,
        }),
    );
    let extra = format!(
        "notifications = \"off\"\n\n[[source]]\nkind = \"folder\"\npath = {src:?}\ntime_zone = \"Europe/Paris\"\n"
    );
    let d = Daemon::start_with(dir.path(), &dir.path().join("no.photoslibrary"), 1, &extra);
    let drive = d.plug_in_and_enrol("Drive", "organize");
    wait_until(Duration::from_secs(60), "the video to be organized", || {
        d.history()
            .iter()
            .any(|j| j["summary"]["organize"]["written"] == 1)
    });
    let names: Vec<PathBuf> = organized(&drive).into_iter().map(|(p, _)| p).collect();
    assert_eq!(
        names,
        vec![PathBuf::from("videos/2024.07.01.14.00.00.mp4")],
        "{names:?}"
    );
}
