//! Minimal ISO-BMFF files: QuickTime/MP4 movies that carry their creation
//! time (mvhd and Apple's `com.apple.quicktime.*` metadata keys, including
//! the live-photo pairing identifier), and a HEIC container stub.

use chrono::{DateTime, FixedOffset};

/// Seconds between 1904-01-01 (QuickTime epoch) and 1970-01-01.
const QT_EPOCH_OFFSET: i64 = 2_082_844_800;

fn atom(kind: &[u8; 4], body: &[u8]) -> Vec<u8> {
    let mut out = ((body.len() + 8) as u32).to_be_bytes().to_vec();
    out.extend(kind);
    out.extend(body);
    out
}

fn full_atom(kind: &[u8; 4], body: &[u8]) -> Vec<u8> {
    let mut b = vec![0u8; 4];
    b.extend(body);
    atom(kind, &b)
}

const MATRIX: [u32; 9] = [0x0001_0000, 0, 0, 0, 0x0001_0000, 0, 0, 0, 0x4000_0000];

/// What to put in a generated movie.
pub struct MovieInfo<'a> {
    /// Capture time with its offset (mvhd stores UTC; the Apple key keeps the offset).
    pub created: DateTime<FixedOffset>,
    /// Duration in seconds.
    pub duration: f64,
    /// Track size.
    pub width: u32,
    /// Track size.
    pub height: u32,
    /// Latitude/longitude for `com.apple.quicktime.location.ISO6709`.
    pub gps: Option<(f64, f64)>,
    /// `com.apple.quicktime.content.identifier`: pairs a live photo's video with its still.
    pub content_identifier: Option<&'a str>,
    /// Written into `mdat` so that every file's bytes differ.
    pub unique: &'a str,
    /// true: `ftyp` brand `qt  ` (.mov); false: `mp42` (.mp4).
    pub quicktime: bool,
}

/// A small but well-formed movie: ftyp, moov (mvhd, trak/tkhd, meta with
/// Apple metadata keys) and mdat.
pub fn movie(info: &MovieInfo<'_>) -> Vec<u8> {
    let timescale = 600u32;
    let duration = (info.duration * f64::from(timescale)).round() as u32;
    let qt_time = (info.created.timestamp() + QT_EPOCH_OFFSET) as u32;

    let mut out = if info.quicktime {
        atom(b"ftyp", b"qt  \0\0\0\0qt  ")
    } else {
        atom(b"ftyp", b"mp42\0\0\0\0mp42isom")
    };

    let mut mvhd = Vec::new();
    mvhd.extend(qt_time.to_be_bytes());
    mvhd.extend(qt_time.to_be_bytes());
    mvhd.extend(timescale.to_be_bytes());
    mvhd.extend(duration.to_be_bytes());
    mvhd.extend(0x0001_0000u32.to_be_bytes());
    mvhd.extend(0x0100u16.to_be_bytes());
    mvhd.extend([0u8; 10]);
    MATRIX.iter().for_each(|m| mvhd.extend(m.to_be_bytes()));
    mvhd.extend([0u8; 24]);
    mvhd.extend(2u32.to_be_bytes());

    let mut tkhd = vec![0, 0, 0, 3];
    tkhd.extend(qt_time.to_be_bytes());
    tkhd.extend(qt_time.to_be_bytes());
    tkhd.extend(1u32.to_be_bytes());
    tkhd.extend([0u8; 4]);
    tkhd.extend(duration.to_be_bytes());
    tkhd.extend([0u8; 8]);
    tkhd.extend([0u8; 8]);
    MATRIX.iter().for_each(|m| tkhd.extend(m.to_be_bytes()));
    tkhd.extend((info.width << 16).to_be_bytes());
    tkhd.extend((info.height << 16).to_be_bytes());

    let mut keys: Vec<(&str, String)> = vec![
        (
            "com.apple.quicktime.creationdate",
            info.created.format("%Y-%m-%dT%H:%M:%S%z").to_string(),
        ),
        ("com.apple.quicktime.make", "Apple".into()),
        ("com.apple.quicktime.model", "iPhone 12 Pro".into()),
        ("com.apple.quicktime.software", "photovault-testkit".into()),
    ];
    if let Some((lat, lon)) = info.gps {
        keys.push((
            "com.apple.quicktime.location.ISO6709",
            format!("{lat:+08.4}{lon:+09.4}/"),
        ));
    }
    if let Some(id) = info.content_identifier {
        keys.push(("com.apple.quicktime.content.identifier", id.to_string()));
    }
    let mut hdlr = vec![0u8; 4];
    hdlr.extend(b"mdta");
    hdlr.extend([0u8; 13]);
    let mut keys_body = (keys.len() as u32).to_be_bytes().to_vec();
    let mut ilst = Vec::new();
    for (i, (k, v)) in keys.iter().enumerate() {
        keys_body.extend(((k.len() + 8) as u32).to_be_bytes());
        keys_body.extend(b"mdta");
        keys_body.extend(k.as_bytes());
        let mut data = 1u32.to_be_bytes().to_vec();
        data.extend(0u32.to_be_bytes());
        data.extend(v.as_bytes());
        let item = atom(b"data", &data);
        let mut entry = ((item.len() + 8) as u32).to_be_bytes().to_vec();
        entry.extend((i as u32 + 1).to_be_bytes());
        entry.extend(item);
        ilst.extend(entry);
    }
    let mut meta = full_atom(b"hdlr", &hdlr);
    meta.extend(full_atom(b"keys", &keys_body));
    meta.extend(atom(b"ilst", &ilst));

    let mut moov = full_atom(b"mvhd", &mvhd);
    moov.extend(atom(b"trak", &atom(b"tkhd", &tkhd)));
    moov.extend(atom(b"meta", &meta));
    out.extend(atom(b"moov", &moov));
    out.extend(atom(b"mdat", info.unique.as_bytes()));
    out
}

/// A HEIF container stub (`ftyp heic` + empty `meta` + `mdat`). It is
/// recognisable as HEIC by its signature but holds no decodable image.
pub fn heic_stub(unique: &str) -> Vec<u8> {
    let mut out = atom(b"ftyp", b"heic\0\0\0\0mif1heic");
    let mut hdlr = vec![0u8; 4];
    hdlr.extend(b"pict");
    hdlr.extend([0u8; 13]);
    out.extend(full_atom(b"meta", &full_atom(b"hdlr", &hdlr)));
    out.extend(atom(b"mdat", unique.as_bytes()));
    out
}
