//! `photovaultd organize` end to end: folders of media the tests make (and,
//! when present, the shared C2PA samples and Photos fixtures) sorted into
//! categories, named by capture time, HEICs converted with their metadata,
//! bad input reported, the source untouched, a second run doing nothing.

use std::ffi::OsStr;
use std::path::Path;
use std::process::Command;

use photovault_e2e::{photovaultd, shared_libraries, tree_fingerprint};
use photovault_testkit::at;
use photovault_testkit::media::{
    exif_fields_block, gradient, heic_picture, jpeg_picture, movie, png_picture, ExifFields,
    HeicExtras, MovieInfo,
};
use serde_json::Value;

fn organize(args: &[&str]) -> (Value, std::process::Output) {
    let args: Vec<&OsStr> = ["organize", "--json", "--time-zone", "Europe/Paris"]
        .iter()
        .chain(args)
        .map(OsStr::new)
        .collect();
    let out = photovaultd(&args);
    let json = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "no JSON report ({e}); stderr: {}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (json, out)
}

/// The report entry of a source file.
fn entry<'a>(report: &'a Value, source: &str) -> &'a Value {
    report["files"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["source"] == source)
        .unwrap_or_else(|| panic!("{source} not in the report: {report:#}"))
}

fn dest_of(report: &Value, source: &str) -> String {
    entry(report, source)["destination"]
        .as_str()
        .unwrap_or_else(|| panic!("{source} has no destination"))
        .to_string()
}

fn write(path: &Path, bytes: &[u8]) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, bytes).unwrap();
}

fn camera_exif(date: &str, subsec: &str) -> Vec<u8> {
    exif_fields_block(&ExifFields {
        make: Some("Apple"),
        model: Some("iPhone 13"),
        date_time_original: Some(date),
        offset_time_original: Some("+02:00"),
        subsec_time_original: Some(subsec),
        gps: Some((45.0, 6.0)),
        ..Default::default()
    })
}

/// Reads tags back with exiftool when it is installed.
fn exiftool(file: &Path, tags: &[&str]) -> Option<Value> {
    let out = Command::new("exiftool")
        .arg("-json")
        .arg("-n")
        .args(tags.iter().map(|t| format!("-{t}")))
        .arg(file)
        .output()
        .ok()?;
    let v: Value = serde_json::from_slice(&out.stdout).ok()?;
    Some(v[0].clone())
}

#[test]
fn a_folder_is_sorted_named_converted_and_bad_input_reported() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    let dest = tmp.path().join("dest");

    // Two frames of a burst in one second: the later name sorts first but
    // its sub-second time is later, so it gets the next second.
    write(
        &src.join("a/burst_b.jpg"),
        &jpeg_picture(
            64,
            48,
            Some(&camera_exif("2024:05:06 07:08:09", "100")),
            None,
        ),
    );
    write(
        &src.join("a/burst_a.jpg"),
        &jpeg_picture(
            64,
            48,
            Some(&camera_exif("2024:05:06 07:08:09", "900")),
            None,
        ),
    );
    // A camera JPEG written .JPEG.
    write(
        &src.join("Trip.JPEG"),
        &jpeg_picture(32, 32, Some(&camera_exif("2023:12:24 18:00:00", "0")), None),
    );
    // Screenshots: iOS comment, macOS name, PNG at an iPhone screen size.
    let ios_shot = exif_fields_block(&ExifFields {
        user_comment: Some("Screenshot"),
        date_time_original: Some("2024:01:02 10:11:12"),
        ..Default::default()
    });
    write(
        &src.join("IMG_0001.PNG"),
        &png_picture(20, 20, &[], Some(&ios_shot)),
    );
    write(
        &src.join("Screenshot 2024-02-03 at 10.11.12.png"),
        &png_picture(20, 20, &[], None),
    );
    write(
        &src.join("IMG_0002.PNG"),
        &png_picture(1170, 2532, &[], None),
    );
    // Generated: Stable Diffusion parameters, a generator in Software, a UUID name.
    write(
        &src.join("cat.png"),
        &png_picture(
            16,
            16,
            &[("parameters", "a cat, Steps: 20, Sampler: Euler")],
            None,
        ),
    );
    let chatgpt = exif_fields_block(&ExifFields {
        software: Some("ChatGPT"),
        ..Default::default()
    });
    write(
        &src.join("drawing.jpg"),
        &jpeg_picture(16, 16, Some(&chatgpt), None),
    );
    write(
        &src.join("1b4e28ba-2fa1-11d2-883f-0016d3cca427.png"),
        &png_picture(16, 16, &[], None),
    );
    // A video: QuickTime stores UTC, shown in Paris time (UTC+2 in July).
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
    // Bad input.
    write(&src.join("bad/empty.jpg"), b"");
    write(
        &src.join("bad/letter.jpg"),
        b"Dear Sir, this is not a photo.\n",
    );
    let year0 = exif_fields_block(&ExifFields {
        make: Some("Cam"),
        date_time_original: Some("0000:01:01 00:00:00"),
        ..Default::default()
    });
    let year9999 = exif_fields_block(&ExifFields {
        make: Some("Cam"),
        date_time_original: Some("9999:12:31 23:59:59"),
        ..Default::default()
    });
    write(
        &src.join("bad/year0.jpg"),
        &jpeg_picture(8, 8, Some(&year0), None),
    );
    write(
        &src.join("bad/year9999.jpg"),
        &jpeg_picture(8, 8, Some(&year9999), None),
    );

    // A live photo with its edit, when libheif can encode HEVC here.
    let heic_exif = exif_fields_block(&ExifFields {
        make: Some("Apple"),
        model: Some("iPhone 15 Pro"),
        orientation: Some(6),
        date_time_original: Some("2025:03:04 05:06:07"),
        offset_time_original: Some("-05:00"),
        gps: Some((40.7, -74.0)),
        ..Default::default()
    });
    let icc: Vec<u8> = (0..2000u32).map(|i| (i % 253) as u8).collect();
    let upright = gradient(80, 60);
    let heic = heic_picture(
        &upright,
        80,
        60,
        &HeicExtras {
            orientation: 6,
            exif: Some(&heic_exif),
            icc: Some(&icc),
            xmp: None,
        },
    );
    if let Some(heic) = &heic {
        write(&src.join("live/IMG_4001.HEIC"), heic);
        write(
            &src.join("live/IMG_4001.MOV"),
            &movie(&MovieInfo {
                created: at(-5, 2025, 3, 4, 5, 6, 7),
                duration: 2.0,
                width: 16,
                height: 16,
                gps: None,
                content_identifier: Some("ABC"),
                unique: "live",
                quicktime: true,
            }),
        );
        write(
            &src.join("live/IMG_O4001.AAE"),
            b"<?xml version=\"1.0\"?><plist></plist>",
        );
        write(&src.join("bad/truncated.heic"), &heic[..heic.len() / 3]);
    } else {
        println!("HEIC parts skipped: this libheif has no HEVC encoder");
    }
    let before = tree_fingerprint(&src);

    let (r, out) = organize(&[
        "--from",
        src.to_str().unwrap(),
        "--to",
        dest.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(tree_fingerprint(&src), before, "the source was changed");

    assert_eq!(
        dest_of(&r, "a/burst_b.jpg"),
        "Organized/photos/2024.05.06.07.08.09.jpg"
    );
    assert_eq!(
        dest_of(&r, "a/burst_a.jpg"),
        "Organized/photos/2024.05.06.07.08.10.jpg"
    );
    assert_eq!(
        dest_of(&r, "Trip.JPEG"),
        "Organized/photos/2023.12.24.18.00.00.jpg"
    );
    assert_eq!(
        dest_of(&r, "IMG_0001.PNG"),
        "Organized/screenshots/2024.01.02.10.11.12.png"
    );
    assert!(entry(&r, "IMG_0001.PNG")["reason"]
        .as_str()
        .unwrap()
        .contains("UserComment"));
    assert!(
        dest_of(&r, "Screenshot 2024-02-03 at 10.11.12.png").starts_with("Organized/screenshots/")
    );
    assert!(entry(&r, "IMG_0002.PNG")["reason"]
        .as_str()
        .unwrap()
        .contains("1170×2532"));
    for g in [
        "cat.png",
        "drawing.jpg",
        "1b4e28ba-2fa1-11d2-883f-0016d3cca427.png",
    ] {
        assert!(
            dest_of(&r, g).starts_with("Organized/generated/"),
            "{g}: {}",
            entry(&r, g)
        );
    }
    assert_eq!(
        dest_of(&r, "clip.mp4"),
        "Organized/videos/2024.07.01.14.00.00.mp4"
    );
    assert_eq!(entry(&r, "clip.mp4")["time_source"], "quick_time");
    // Bad input: reported, kept in unknown/, the run completes.
    for bad in ["bad/empty.jpg", "bad/letter.jpg"] {
        assert!(dest_of(&r, bad).starts_with("Organized/unknown/"), "{bad}");
    }
    assert!(entry(&r, "bad/empty.jpg")["reason"]
        .as_str()
        .unwrap()
        .contains("empty"));
    for bad in ["bad/year0.jpg", "bad/year9999.jpg"] {
        let e = entry(&r, bad);
        assert_eq!(e["time_is_guess"], true, "{bad}");
        assert!(
            e["notes"].to_string().contains("not a plausible date"),
            "{e}"
        );
        assert!(dest_of(&r, bad).starts_with("Organized/photos/"));
    }
    for f in r["files"].as_array().unwrap() {
        if let Some(d) = f["destination"].as_str() {
            assert!(dest.join(d).is_file(), "{d} missing");
        }
    }

    if heic.is_some() {
        let jpg = dest_of(&r, "live/IMG_4001.HEIC");
        assert_eq!(jpg, "Organized/photos/2025.03.04.05.06.07.jpg");
        assert_eq!(entry(&r, "live/IMG_4001.HEIC")["action"], "converted");
        assert_eq!(
            dest_of(&r, "live/IMG_4001.MOV"),
            "Organized/photos/2025.03.04.05.06.07.mov"
        );
        assert_eq!(entry(&r, "live/IMG_O4001.AAE")["action"], "left_behind");
        let t = entry(&r, "bad/truncated.heic");
        assert_eq!(t["action"], "copied_unconverted", "{t}");
        assert!(dest_of(&r, "bad/truncated.heic").ends_with(".heic"));
        // EXIF, GPS and the ICC profile are in the JPEG; pixels upright.
        let bytes = std::fs::read(dest.join(&jpg)).unwrap();
        let exif: nom_exif::Exif = nom_exif::MediaParser::new()
            .parse_exif(nom_exif::MediaSource::from_memory(bytes.clone()).unwrap())
            .unwrap()
            .into();
        assert_eq!(
            exif.get(nom_exif::ExifTag::Model).and_then(|v| v.as_str()),
            Some("iPhone 15 Pro")
        );
        assert_eq!(
            exif.get(nom_exif::ExifTag::Orientation)
                .and_then(|v| v.as_u16()),
            Some(1)
        );
        assert!(exif.gps_info().is_some());
        assert!(bytes.windows(12).any(|w| w == b"ICC_PROFILE\0"));
        if let Some(tags) = exiftool(
            &dest.join(&jpg),
            &[
                "DateTimeOriginal",
                "Orientation",
                "ImageWidth",
                "ImageHeight",
                "GPSLatitude",
            ],
        ) {
            assert_eq!(tags["DateTimeOriginal"], "2025:03:04 05:06:07");
            assert_eq!(tags["Orientation"], 1);
            assert_eq!(
                (tags["ImageWidth"].as_u64(), tags["ImageHeight"].as_u64()),
                (Some(80), Some(60))
            );
            assert!((tags["GPSLatitude"].as_f64().unwrap() - 40.7).abs() < 0.01);
        } else {
            println!("exiftool not installed: EXIF checked with nom-exif only");
        }
    }

    // A folder holding a symbolic link loop: reported, the run completes.
    let looped = tmp.path().join("looped");
    write(&looped.join("x.jpg"), &jpeg_picture(8, 8, None, None));
    std::os::unix::fs::symlink(&looped, looped.join("loop")).unwrap();
    let (l, out) = organize(&[
        "--from",
        looped.to_str().unwrap(),
        "--to",
        tmp.path().join("dest2").to_str().unwrap(),
    ]);
    assert!(out.status.success());
    assert!(
        l["problems"].to_string().contains("loop"),
        "{}",
        l["problems"]
    );
    assert_eq!(l["counts"]["written"], 1);

    // A second run does nothing; a new file is handled once.
    let (again, out) = organize(&[
        "--from",
        src.to_str().unwrap(),
        "--to",
        dest.to_str().unwrap(),
    ]);
    assert!(out.status.success());
    assert_eq!(again["counts"]["written"], 0, "{:#}", again["counts"]);
    write(
        &src.join("new.jpg"),
        &jpeg_picture(
            16,
            16,
            Some(&camera_exif("2024:05:06 07:08:09", "500")),
            None,
        ),
    );
    let (third, _) = organize(&[
        "--from",
        src.to_str().unwrap(),
        "--to",
        dest.to_str().unwrap(),
    ]);
    assert_eq!(third["counts"]["written"], 1);
    assert_eq!(
        dest_of(&third, "new.jpg"),
        "Organized/photos/2024.05.06.07.08.11.jpg"
    );
}

#[test]
fn dry_run_writes_nothing_and_keep_heic_keeps_the_edit() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    let dest = tmp.path().join("dest");
    let Some(heic) = heic_picture(&gradient(32, 32), 32, 32, &HeicExtras::default()) else {
        println!("SKIPPED: this libheif has no HEVC encoder");
        return;
    };
    write(&src.join("IMG_1.HEIC"), &heic);
    write(
        &src.join("IMG_1.AAE"),
        b"<?xml version=\"1.0\"?><plist></plist>",
    );
    let (plan, out) = organize(&[
        "--from",
        src.to_str().unwrap(),
        "--to",
        dest.to_str().unwrap(),
        "--dry-run",
        "--keep-heic",
    ]);
    assert!(out.status.success());
    assert!(!dest.exists(), "a dry run created the destination");
    assert_eq!(plan["dry_run"], true);
    let (done, _) = organize(&[
        "--from",
        src.to_str().unwrap(),
        "--to",
        dest.to_str().unwrap(),
        "--keep-heic",
    ]);
    for name in ["IMG_1.HEIC", "IMG_1.AAE"] {
        assert_eq!(entry(&done, name)["action"], "copied");
        assert_eq!(
            dest_of(&plan, name),
            dest_of(&done, name),
            "the dry run's plan is what ran"
        );
    }
    let heic_out = dest_of(&done, "IMG_1.HEIC");
    assert!(heic_out.ends_with(".heic"));
    assert_eq!(std::fs::read(dest.join(&heic_out)).unwrap(), heic);
    assert_eq!(
        dest_of(&done, "IMG_1.AAE"),
        heic_out.replace(".heic", ".aae")
    );
    // Text output with --verbose shows the reasons.
    let text = photovaultd(&[
        OsStr::new("organize"),
        OsStr::new("--from"),
        src.as_os_str(),
        OsStr::new("--to"),
        dest.as_os_str(),
        OsStr::new("--verbose"),
    ]);
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(
        text.contains("already organized") && text.contains("photos:"),
        "{text}"
    );
}

#[test]
fn c2pa_samples_are_told_apart() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/fixtures/media/c2pa");
    if !dir.is_dir() {
        println!(
            "SKIPPED c2pa_samples_are_told_apart: ../shared/fixtures/media/c2pa is not present"
        );
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let dest = tmp.path().join("dest");
    let before = tree_fingerprint(&dir);
    let (r, out) = organize(&[
        "--from",
        dir.to_str().unwrap(),
        "--to",
        dest.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let cat = |s: &str| entry(&r, s)["category"].as_str().unwrap().to_string();
    // C.jpg declares algorithmicMedia; ocsp.jpg trainedAlgorithmicMedia.
    assert_eq!(cat("C.jpg"), "generated");
    assert_eq!(cat("ocsp.jpg"), "generated");
    assert!(entry(&r, "C.jpg")["reason"]
        .as_str()
        .unwrap()
        .contains("C2PA"));
    // Signed but not generated: a photo.
    assert_eq!(cat("CA.jpg"), "photos");
    assert_eq!(cat("no_manifest.jpg"), "photos");
    assert_eq!(cat("sample1.png"), "photos");
    assert_eq!(cat("video1.mp4"), "videos");
    assert_eq!(entry(&r, "sample1.heic")["action"], "converted");
    assert_eq!(tree_fingerprint(&dir), before);
}

#[test]
fn a_photos_library_is_sorted_by_what_photos_knows() {
    let Some(libs) = shared_libraries("a_photos_library_is_sorted_by_what_photos_knows") else {
        return;
    };
    let lib = libs.join("Test-Media-Types-15.7.2.photoslibrary");
    let tmp = tempfile::tempdir().unwrap();
    let dest = tmp.path().join("dest");
    let before = tree_fingerprint(&lib);
    let (r, out) = organize(&[
        "--library",
        lib.to_str().unwrap(),
        "--to",
        dest.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let by = |name: &str| {
        r["files"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["source"].as_str().unwrap().starts_with(name) && f["role"] == "main")
            .unwrap_or_else(|| panic!("{name}"))
            .clone()
    };
    assert_eq!(by("IMG_2908.PNG")["category"], "screenshots");
    assert_eq!(
        by("IMG_2908.PNG")["destination"],
        "Organized/screenshots/2015.09.27.16.29.28.png"
    );
    assert_eq!(by("IMG_3539.MOV")["category"], "videos");
    assert_eq!(
        by("IMG_0102.HEIC")["destination"],
        "Organized/photos/2021.08.06.11.32.22.jpg"
    );
    // A live photo's still and video share their stem.
    let live: Vec<_> = r["files"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["source"].as_str().unwrap().starts_with("IMG_3582.HEIC"))
        .filter_map(|f| f["destination"].as_str())
        .collect();
    assert_eq!(
        live,
        vec![
            "Organized/photos/2025.05.26.09.27.06.jpg",
            "Organized/photos/2025.05.26.09.27.06.mov"
        ]
    );
    let jpg = dest.join("Organized/photos/2021.08.06.11.32.22.jpg");
    if let Some(tags) = exiftool(&jpg, &["DateTimeOriginal", "Make", "ProfileDescription"]) {
        assert_eq!(tags["Make"], "Apple");
        assert_eq!(tags["DateTimeOriginal"], "2021:08:06 11:32:22");
        assert!(
            tags["ProfileDescription"]
                .as_str()
                .unwrap_or_default()
                .contains("P3"),
            "{tags}"
        );
    }
    assert_eq!(tree_fingerprint(&lib), before, "the library was changed");
}

#[test]
fn names_that_differ_only_in_unicode_normalisation_are_two_files() {
    use unicode_normalization::UnicodeNormalization;
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    let dest = tmp.path().join("dest");
    let nfc: String = "Café.jpg".nfc().collect();
    let nfd: String = "Café.jpg".nfd().collect();
    assert_ne!(nfc, nfd);
    let a = jpeg_picture(40, 30, Some(&camera_exif("2024:02:03 10:00:00", "0")), None);
    let b = jpeg_picture(30, 40, Some(&camera_exif("2024:02:03 10:00:00", "0")), None);
    write(&src.join(&nfc), &a);
    write(&src.join(&nfd), &b);

    let (report, out) = organize(&[
        "--from",
        src.to_str().unwrap(),
        "--to",
        dest.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{report:#}");
    let (to_a, to_b) = (dest_of(&report, &nfc), dest_of(&report, &nfd));
    assert_ne!(to_a, to_b, "one file replaced the other");
    let mut got = vec![
        std::fs::read(dest.join(&to_a)).unwrap(),
        std::fs::read(dest.join(&to_b)).unwrap(),
    ];
    got.sort();
    let mut want = vec![a, b];
    want.sort();
    assert_eq!(got, want);

    // Each is known by its own name: a second run writes nothing.
    let (again, _) = organize(&[
        "--from",
        src.to_str().unwrap(),
        "--to",
        dest.to_str().unwrap(),
    ]);
    assert_eq!(again["counts"]["written"], 0, "{again:#}");
    assert_eq!(again["counts"]["already_organized"], 2, "{again:#}");
}
