//! Tests of the parent module.
use super::*;

use std::path::Path;
use std::process::Command;
use std::sync::Arc;

use chrono::{NaiveDate, TimeZone};
use serde_json::Value;

use crate::library::{AssetFlags, AssetKind};

/// An asset with nothing but its identity.
fn bare(uuid: &str, filename: &str) -> Asset {
    Asset {
        uuid: uuid.to_string(),
        original_filename: filename.to_string(),
        created: None,
        added: None,
        modified: None,
        edited_at: None,
        kind: AssetKind::Photo,
        flags: AssetFlags::default(),
        burst: None,
        width: 4032,
        height: 3024,
        favorite: false,
        hidden: false,
        trashed: false,
        trashed_date: None,
        title: None,
        description: None,
        keywords: Vec::new(),
        albums: Vec::new(),
        persons: Vec::new(),
        latitude: None,
        longitude: None,
        uti: Some("public.heic".into()),
        original_size: Some(1_234_567),
        referenced: false,
        shared: false,
        edited: false,
        resources: Vec::new(),
        problems: Vec::new(),
        fingerprint: "f".repeat(64),
    }
}

fn names(list: &[&str]) -> Vec<Arc<str>> {
    list.iter().map(|s| Arc::from(*s)).collect()
}

fn album(folders: &[&str], title: &str) -> AlbumRef {
    AlbumRef {
        title: title.into(),
        folder_path: names(folders).into(),
    }
}

fn time(
    ymd: (i32, u32, u32),
    hms: (u32, u32, u32),
    nanos: u32,
    offset_secs: i32,
) -> DateTime<FixedOffset> {
    let naive = NaiveDate::from_ymd_opt(ymd.0, ymd.1, ymd.2)
        .unwrap()
        .and_hms_nano_opt(hms.0, hms.1, hms.2, nanos)
        .unwrap();
    FixedOffset::east_opt(offset_secs)
        .unwrap()
        .from_local_datetime(&naive)
        .unwrap()
}

/// An asset with every property the sidecar carries.
fn full() -> Asset {
    Asset {
        title: Some("Sunset at Bondi".into()),
        description: Some("First line\nsecond line & more".into()),
        keywords: names(&["beach", "holiday", "sunset"]),
        persons: names(&["Ann Smith", "Bob"]),
        albums: vec![
            album(&[], "Favourites 2023"),
            album(&["Trips", "Australia"], "Sydney"),
        ],
        latitude: Some(-33.890_842),
        longitude: Some(151.274_292),
        created: Some(time((2023, 7, 14), (18, 30, 5), 123_000_000, 10 * 3600)),
        favorite: true,
        hidden: true,
        ..bare("8A7C3E2B-1F4D-4E0A-9C1B-2D3E4F5A6B7C", "IMG_0042.HEIC")
    }
}

fn text(asset: &Asset) -> String {
    String::from_utf8(sidecar(asset)).expect("sidecar is UTF-8")
}

// ---- escaping -------------------------------------------------------

#[test]
fn escapes_markup_characters() {
    assert_eq!(escape("a & b"), "a &amp; b");
    assert_eq!(
        escape("<b>\"q\" 'a'</b>"),
        "&lt;b&gt;&quot;q&quot; &apos;a&apos;&lt;/b&gt;"
    );
    assert_eq!(escape("</x:xmpmeta>"), "&lt;/x:xmpmeta&gt;");
    assert_eq!(escape("&amp;"), "&amp;amp;", "already escaped text is text");
    assert_eq!(
        escape("<?xpacket end=\"w\"?>"),
        "&lt;?xpacket end=&quot;w&quot;?&gt;"
    );
}

#[test]
fn removes_what_xml_cannot_carry() {
    assert_eq!(escape("a\0b"), "ab");
    assert_eq!(
        escape("\u{1}\u{8}\u{b}\u{c}\u{1b}[31m\u{7f}\u{85}x"),
        "[31mx"
    );
    assert_eq!(escape("keep\ttab\nand newline"), "keep\ttab\nand newline");
    assert_eq!(escape("dos\r\nmac\rend"), "dos\nmac\nend");
    assert_eq!(escape("\u{fffe}\u{ffff}ok"), "ok");
    assert_eq!(escape("\0\u{1}"), "", "nothing left is empty");
}

#[test]
fn keeps_emoji_and_bidirectional_text() {
    let s = "👩‍👩‍👧 family 🇦🇺 \u{200f}שלום\u{200e} مرحبا \u{202e}evil\u{202c} 日本語";
    assert_eq!(escape(s), s);
}

#[test]
fn hostile_text_cannot_break_the_packet() {
    let hostile = "</rdf:li></rdf:Alt></dc:title></rdf:Description></rdf:RDF></x:xmpmeta>\
                   <?xpacket end=\"w\"?>\0\u{1}<![CDATA[x]]>&#0;";
    let asset = Asset {
        title: Some(hostile.into()),
        description: Some(hostile.into()),
        keywords: names(&[hostile]),
        persons: names(&[hostile]),
        albums: vec![album(&[hostile], hostile)],
        ..bare(hostile, hostile)
    };
    let out = text(&asset);
    assert_eq!(out.matches("</x:xmpmeta>").count(), 1);
    assert_eq!(out.matches("<?xpacket").count(), 2);
    assert_eq!(out.matches("</rdf:Description>").count(), 1);
    assert!(!out.contains("<![CDATA["));
    assert!(out.contains("&lt;![CDATA[x]]&gt;&amp;#0;"));
    assert!(
        !out.chars()
            .any(|c| c.is_control() && c != '\n' && c != '\t'),
        "no control characters: {out:?}"
    );
}

#[test]
fn empty_values_are_left_out() {
    let asset = Asset {
        title: Some(String::new()),
        description: Some("\0".into()),
        keywords: names(&["", "\u{1}"]),
        persons: names(&[""]),
        ..bare("U", "a.jpg")
    };
    let out = text(&asset);
    for name in ["dc:title", "dc:description", "dc:subject", "PersonInImage"] {
        assert!(!out.contains(name), "{name} in {out}");
    }
}

// ---- hierarchy ------------------------------------------------------

#[test]
fn hierarchical_subjects_cover_keywords_persons_and_albums() {
    let asset = Asset {
        keywords: names(&["a|b", "beach"]),
        persons: names(&["Ann"]),
        albums: vec![album(&[], "Top"), album(&["F", ""], "AC/DC")],
        ..bare("U", "a.jpg")
    };
    let got: Vec<String> = hierarchical_subjects(&asset).collect();
    assert_eq!(
        got,
        [
            "a\u{a6}b",
            "beach",
            "People|Ann",
            "Albums|Top",
            "Albums|F|Untitled|AC/DC"
        ]
    );
}

#[test]
fn album_paths_are_unambiguous() {
    assert_eq!(album_path(&album(&[], "Solo")), "Solo");
    assert_eq!(
        album_path(&album(&["Trips", "2023"], "Rome")),
        "Trips/2023/Rome"
    );
    assert_eq!(album_path(&album(&["A/B"], "C\\D")), "A\\/B/C\\\\D");
}

// ---- GPS ------------------------------------------------------------

#[test]
fn gps_uses_degrees_decimal_minutes_and_hemisphere() {
    let lat = |v| gps_coordinate(v, 90.0, 'N', 'S');
    let lon = |v| gps_coordinate(v, 180.0, 'E', 'W');
    assert_eq!(lat(48.858_37).unwrap(), "48,51.502200N");
    assert_eq!(lat(-33.890_842).unwrap(), "33,53.450520S");
    assert_eq!(lon(151.274_292).unwrap(), "151,16.457520E");
    assert_eq!(lon(-122.419_4).unwrap(), "122,25.164000W");
    assert_eq!(lon(-0.1275).unwrap(), "0,07.650000W");
    assert_eq!(lat(90.0).unwrap(), "90,00.000000N");
    assert_eq!(lon(-180.0).unwrap(), "180,00.000000W");
}

#[test]
fn gps_rounds_to_millionths_of_a_minute() {
    let lat = |v| gps_coordinate(v, 90.0, 'N', 'S').unwrap();
    // 1e-8 degrees is 6e-7 minutes: rounds up to one millionth.
    assert_eq!(lat(10.000_000_01), "10,00.000001N");
    assert_eq!(lat(10.000_000_005), "10,00.000000N");
    // Just below a whole degree carries instead of printing 60 minutes.
    assert_eq!(lat(10.999_999_999), "11,00.000000N");
    assert_eq!(lat(-10.999_999_999), "11,00.000000S");
}

#[test]
fn gps_zero_is_north_and_east() {
    let lat = |v| gps_coordinate(v, 90.0, 'N', 'S').unwrap();
    let lon = |v| gps_coordinate(v, 180.0, 'E', 'W').unwrap();
    assert_eq!(lat(0.0), "0,00.000000N");
    assert_eq!(lat(-0.0), "0,00.000000N");
    assert_eq!(lat(-1e-12), "0,00.000000N");
    assert_eq!(lon(-0.0), "0,00.000000E");
}

#[test]
fn gps_out_of_range_or_half_known_is_left_out() {
    assert_eq!(gps_coordinate(90.000_1, 90.0, 'N', 'S'), None);
    assert_eq!(gps_coordinate(f64::NAN, 90.0, 'N', 'S'), None);
    assert_eq!(gps_coordinate(f64::NEG_INFINITY, 180.0, 'E', 'W'), None);
    let only_lat = Asset {
        latitude: Some(1.0),
        ..bare("U", "a.jpg")
    };
    assert_eq!(gps(&only_lat), None);
    assert!(!text(&only_lat).contains("GPS"));
}

// ---- dates ----------------------------------------------------------

#[test]
fn dates_keep_the_photos_own_offset() {
    let d = |t| xmp_date(&t).unwrap();
    assert_eq!(
        d(time((2023, 7, 14), (18, 30, 5), 0, 2 * 3600)),
        "2023-07-14T18:30:05+02:00"
    );
    assert_eq!(
        d(time((2001, 1, 2), (3, 4, 5), 0, -7 * 3600)),
        "2001-01-02T03:04:05-07:00"
    );
    assert_eq!(
        d(time((2019, 12, 31), (23, 59, 59), 0, 0)),
        "2019-12-31T23:59:59+00:00"
    );
    assert_eq!(
        d(time((2024, 2, 29), (12, 0, 0), 0, 5 * 3600 + 1800)),
        "2024-02-29T12:00:00+05:30"
    );
    assert_eq!(
        d(time((2024, 2, 29), (12, 0, 0), 0, -(9 * 3600 + 1800))),
        "2024-02-29T12:00:00-09:30"
    );
}

#[test]
fn dates_write_milliseconds_only_when_present() {
    let d = |nanos| xmp_date(&time((2023, 7, 14), (18, 30, 5), nanos, 3600)).unwrap();
    assert_eq!(d(0), "2023-07-14T18:30:05+01:00");
    assert_eq!(d(5_000_000), "2023-07-14T18:30:05.005+01:00");
    assert_eq!(d(123_000_000), "2023-07-14T18:30:05.123+01:00");
    // Truncated, never rounded into the next second.
    assert_eq!(d(999_999_999), "2023-07-14T18:30:05.999+01:00");
    assert_eq!(d(999_999), "2023-07-14T18:30:05+01:00");
}

#[test]
fn dates_round_offsets_with_seconds_keeping_the_instant() {
    // Amsterdam mean time, +00:19:32, rounds to +00:20.
    let t = time((1920, 5, 1), (12, 0, 0), 0, 19 * 60 + 32);
    assert_eq!(xmp_date(&t).unwrap(), "1920-05-01T12:00:28+00:20");
    // Half a minute west rounds towards the east, both directions stay exact.
    let t = time((1900, 1, 1), (0, 0, 0), 0, -(60 + 30));
    assert_eq!(xmp_date(&t).unwrap(), "1900-01-01T00:00:30-00:01");
}

#[test]
fn dates_outside_four_digit_years_are_left_out() {
    assert_eq!(xmp_date(&time((10_000, 1, 1), (0, 0, 0), 0, 0)), None);
    assert_eq!(xmp_date(&time((-1, 1, 1), (0, 0, 0), 0, 0)), None);
    assert_eq!(
        xmp_date(&time((0, 1, 1), (0, 0, 0), 0, 0)).unwrap(),
        "0000-01-01T00:00:00+00:00"
    );
}

// ---- the whole packet ----------------------------------------------

#[test]
fn same_asset_gives_same_bytes() {
    let a = full();
    let first = sidecar(&a);
    assert_eq!(first, sidecar(&a));
    assert_eq!(first, sidecar(&a.clone()));
    assert_eq!(first, sidecar(&full()), "built again from scratch");
    // Fields the sidecar does not carry do not change it.
    let other = Asset {
        modified: Some(Utc::now()),
        fingerprint: "other".into(),
        ..full()
    };
    assert_eq!(first, sidecar(&other));
    // Fields it carries do.
    let changed = Asset {
        favorite: false,
        ..full()
    };
    assert_ne!(first, sidecar(&changed));
}

#[test]
fn packet_has_the_standard_wrapper() {
    let out = text(&full());
    assert!(out.starts_with("<?xpacket begin=\"\u{feff}\" id=\"W5M0MpCehiHzreSzNTczkc9d\"?>\n"));
    assert!(out.ends_with("<?xpacket end=\"w\"?>\n"));
    assert!(out.contains("<x:xmpmeta xmlns:x=\"adobe:ns:meta/\""));
    assert!(out.contains("<rdf:Description rdf:about=\"\""));
    assert!(out.contains("xmlns:photovault=\"https://photovault.dev/ns/1.0/\""));
    assert!(!out.contains('\0'));
}

#[test]
fn minimal_asset_has_only_its_identity() {
    let out = text(&bare("U-1", "IMG_1.JPG"));
    assert!(out.contains("<photovault:UUID>U-1</photovault:UUID>"));
    assert!(out.contains("<photovault:OriginalFilename>IMG_1.JPG</photovault:OriginalFilename>"));
    for absent in [
        "<dc:",
        "<lr:",
        "<Iptc4xmpExt:",
        "<exif:",
        "<xmp:",
        "<photoshop:",
        "Hidden",
        "Albums",
    ] {
        assert!(!out.contains(absent), "{absent} in {out}");
    }
}

#[test]
fn favourite_hidden_and_albums() {
    let out = text(&full());
    assert!(out.contains("<xmp:Rating>5</xmp:Rating>"));
    assert!(out.contains("<photovault:Hidden>True</photovault:Hidden>"));
    assert!(out.contains("<rdf:li>Trips/Australia/Sydney</rdf:li>"));
    assert!(out.contains("<rdf:li>Albums|Trips|Australia|Sydney</rdf:li>"));
    assert!(out.contains("<exif:GPSVersionID>2.2.0.0</exif:GPSVersionID>"));
    let plain = text(&Asset {
        favorite: false,
        hidden: false,
        ..full()
    });
    assert!(!plain.contains("Rating"), "no rating 0 for a non-favourite");
    assert!(!plain.contains("Hidden"));
}

// ---- exiftool round trip -------------------------------------------

/// Runs exiftool on `file` and returns its one JSON object.
fn exiftool(file: &Path, extra: &[&str]) -> serde_json::Map<String, Value> {
    let output = match Command::new("exiftool")
        .args(["-json", "-struct", "-G1"])
        .args(extra)
        .arg(file)
        .output()
    {
        Ok(output) => output,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => panic!(
            "exiftool is not installed, and this test needs it to read the sidecars \
             back: run scripts/setup.sh (Debian package libimage-exiftool-perl)"
        ),
        Err(e) => panic!("could not run exiftool: {e}"),
    };
    assert!(
        output.status.success(),
        "exiftool failed on {}: {}",
        file.display(),
        String::from_utf8_lossy(&output.stderr)
    );
    let json: Value = serde_json::from_slice(&output.stdout).expect("exiftool JSON");
    let Value::Array(mut objects) = json else {
        panic!("exiftool printed no array: {json}")
    };
    assert_eq!(objects.len(), 1);
    let Value::Object(tags) = objects.remove(0) else {
        panic!("exiftool printed no object")
    };
    for key in tags.keys() {
        assert!(
            !key.ends_with(":Warning") && !key.ends_with(":Error"),
            "exiftool complained about {}: {key} = {}",
            file.display(),
            tags[key]
        );
    }
    tags
}

/// A tag's value as text (exiftool's JSON makes numbers of numeric text).
fn scalar(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// A list tag's values (exiftool gives a single item as a scalar).
fn list(tags: &serde_json::Map<String, Value>, key: &str) -> Vec<String> {
    match tags.get(key) {
        None => Vec::new(),
        Some(Value::Array(items)) => items.iter().map(scalar).collect(),
        Some(value) => vec![scalar(value)],
    }
}

fn tag(tags: &serde_json::Map<String, Value>, key: &str) -> Option<String> {
    tags.get(key).map(scalar)
}

#[test]
fn exiftool_reads_the_sidecars_back() {
    let dir = tempfile::tempdir().unwrap();
    let hostile = "</x:xmpmeta> & \"quotes\" 'n' <tags>\0\u{1}\u{1b} 👩‍👩‍👧 \u{200f}שלום\u{200e}";
    let cases = [
        ("full", full()),
        (
            "northwest",
            Asset {
                title: Some(hostile.into()),
                description: Some("Zeile 1\nZeile 2\ttab".into()),
                keywords: names(&["2023", "Ünïcödé", "<k&w>"]),
                persons: names(&["Zoë O'Brien"]),
                albums: vec![album(&["Family"], "Kids | School")],
                latitude: Some(47.606_209),
                longitude: Some(-122.332_071),
                created: Some(time((2001, 1, 2), (3, 4, 5), 0, -8 * 3600)),
                ..bare("NW-UUID", "DSC_0001.NEF")
            },
        ),
        ("bare", bare("BARE-UUID", "IMG_0001.JPG")),
    ];

    for (name, asset) in &cases {
        let file = dir.path().join(format!("{name}.xmp"));
        std::fs::write(&file, sidecar(asset)).unwrap();
        let tags = exiftool(&file, &[]);
        let numeric = exiftool(&file, &["-n"]);
        let expected_title = asset.title.as_deref().map(clean);
        assert_eq!(tag(&tags, "XMP-dc:Title"), expected_title, "{name}");
        assert_eq!(
            tag(&tags, "XMP-dc:Description"),
            asset.description.clone(),
            "{name}"
        );
        let keywords: Vec<String> = asset.keywords.iter().map(|k| k.to_string()).collect();
        assert_eq!(list(&tags, "XMP-dc:Subject"), keywords, "{name}");
        let persons: Vec<String> = asset.persons.iter().map(|k| k.to_string()).collect();
        assert_eq!(list(&tags, "XMP-iptcExt:PersonInImage"), persons, "{name}");
        let hierarchy: Vec<String> = hierarchical_subjects(asset).collect();
        assert_eq!(
            list(&tags, "XMP-lr:HierarchicalSubject"),
            hierarchy,
            "{name}"
        );
        assert_eq!(
            // exiftool names tags of a namespace it does not know from the
            // element name, capitalised its own way.
            tag(&tags, "XMP-photovault:Uuid").as_deref(),
            Some(asset.uuid.as_str())
        );
        assert_eq!(
            tag(&tags, "XMP-photovault:OriginalFilename").as_deref(),
            Some(asset.original_filename.as_str())
        );
        let albums: Vec<String> = asset.albums.iter().map(album_path).collect();
        assert_eq!(list(&tags, "XMP-photovault:Albums"), albums, "{name}");
        let expected_rating = asset.favorite.then(|| "5".to_string());
        assert_eq!(tag(&numeric, "XMP-xmp:Rating"), expected_rating, "{name}");
        // exiftool turns the XMP boolean "True" into JSON true.
        let expected_hidden = asset.hidden.then_some(Value::Bool(true));
        assert_eq!(
            tags.get("XMP-photovault:Hidden"),
            expected_hidden.as_ref(),
            "{name}"
        );

        match (asset.latitude, asset.longitude) {
            (Some(lat), Some(lon)) => {
                let read = |key| match numeric.get(key) {
                    Some(Value::Number(n)) => n.as_f64().unwrap(),
                    other => panic!("{name}: {key} is {other:?}"),
                };
                let (got_lat, got_lon) =
                    (read("XMP-exif:GPSLatitude"), read("XMP-exif:GPSLongitude"));
                assert!((got_lat - lat).abs() < 1e-7, "{name}: {got_lat} vs {lat}");
                assert!((got_lon - lon).abs() < 1e-7, "{name}: {got_lon} vs {lon}");
                assert_eq!(
                    tag(&tags, "XMP-exif:GPSVersionID").as_deref(),
                    Some("2.2.0.0")
                );
            }
            _ => assert!(!tags.contains_key("XMP-exif:GPSLatitude"), "{name}"),
        }

        // exiftool shows XMP dates in its own `YYYY:MM:DD hh:mm:ss`
        // form, keeping fractions and the offset.
        let expected_date = asset.created.map(|t| {
            let mut s = t.format("%Y:%m:%d %H:%M:%S").to_string();
            let millis = t.nanosecond() / 1_000_000;
            if millis != 0 {
                s.push_str(&format!(".{millis:03}"));
            }
            s + &t.format("%:z").to_string()
        });
        for key in [
            "XMP-exif:DateTimeOriginal",
            "XMP-xmp:CreateDate",
            "XMP-photoshop:DateCreated",
        ] {
            assert_eq!(tag(&tags, key), expected_date, "{name}: {key}");
        }
    }
}
