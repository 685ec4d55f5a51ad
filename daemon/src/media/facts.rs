//! The metadata of one file that decides its category and its name, read
//! once: EXIF and QuickTime tags through `nom-exif`, XMP, C2PA and PNG
//! chunks through [`super::containers`].
//!
//! Reading never fails as a whole: a tag that cannot be read is absent, and
//! what went wrong is kept in [`FileFacts::problems`] for the report.

use std::io::BufReader;
use std::path::Path;

use chrono::{DateTime, FixedOffset, NaiveDateTime};
use nom_exif::{EntryValue, Exif, ExifTag, MediaParser, MediaSource, TrackInfoTag};

use super::containers::{self, PngChunks};
use super::sniff::{Format, MediaKind};

/// EXIF's capture time as the file states it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExifTime {
    /// DateTimeOriginal: the wall-clock time where the photo was taken.
    pub local: NaiveDateTime,
    /// OffsetTimeOriginal, when the camera recorded it.
    pub offset: Option<FixedOffset>,
    /// SubSecTimeOriginal in nanoseconds (0 when absent), which orders the
    /// frames of a burst within one second.
    pub subsec_nanos: u32,
}

/// What one file says about itself.
#[derive(Debug, Clone, Default)]
pub struct FileFacts {
    /// EXIF Make (the camera's manufacturer).
    pub make: Option<String>,
    /// EXIF Model.
    pub model: Option<String>,
    /// EXIF Software, or a video's software tag.
    pub software: Option<String>,
    /// EXIF UserComment (iOS writes "Screenshot" there).
    pub user_comment: Option<String>,
    /// EXIF capture time.
    pub exif_time: Option<ExifTime>,
    /// QuickTime creation date of a video (UTC unless Apple's
    /// `com.apple.quicktime.creationdate` gave the local offset).
    pub track_created: Option<DateTime<FixedOffset>>,
    /// The XMP packet.
    pub xmp: Option<String>,
    /// The C2PA manifest store, when the file carries one.
    pub c2pa: Option<Vec<u8>>,
    /// PNG size and text chunks, for a PNG.
    pub png: Option<PngChunks>,
    /// What could not be read, in words for the report.
    pub problems: Vec<String>,
}

impl FileFacts {
    /// Whether a camera is named (EXIF or QuickTime Make or Model): what a
    /// screenshot or a generated picture does not have.
    pub fn has_camera(&self) -> bool {
        self.make.as_deref().is_some_and(|s| !s.trim().is_empty())
            || self.model.as_deref().is_some_and(|s| !s.trim().is_empty())
    }
}

/// Reads the facts of an image whose bytes are in memory.
pub fn read_image(bytes: &[u8], format: &Format) -> FileFacts {
    let mut facts = FileFacts::default();
    // HEICs whose EXIF item nom-exif cannot place: libheif finds it.
    let heic_exif = if format.is_heic() {
        super::heic::exif_tiff(bytes)
    } else {
        None
    };
    let exif_source = heic_exif.unwrap_or_else(|| bytes.to_vec());
    match MediaSource::from_memory(exif_source) {
        Ok(ms) => match MediaParser::new().parse_exif(ms) {
            Ok(iter) => take_exif(&mut facts, &iter.into()),
            // A PNG or GIF without EXIF is normal, not a problem.
            Err(nom_exif::Error::ExifNotFound) => {}
            Err(e) if format.ext == "png" || format.ext == "gif" || format.ext == "webp" => {
                tracing::debug!(error = %e, "no EXIF read");
            }
            Err(e) => facts.problems.push(format!("EXIF could not be read: {e}")),
        },
        Err(e) => tracing::debug!(error = %e, "format not handled by nom-exif"),
    }
    facts.xmp = containers::find_xmp(bytes);
    facts.png = containers::png_chunks(bytes);
    facts.c2pa = match format.ext.as_str() {
        "jpg" => containers::jpeg_c2pa(bytes),
        "png" => facts.png.as_ref().and_then(|p| p.c2pa.clone()),
        _ => containers::bmff_c2pa(&mut std::io::Cursor::new(bytes))
            .ok()
            .flatten(),
    };
    facts
}

/// Reads the facts of a video from its file, without loading it.
pub fn read_video(path: &Path) -> FileFacts {
    let mut facts = FileFacts::default();
    match MediaSource::open(path) {
        Ok(ms) => match MediaParser::new().parse_track(ms) {
            Ok(track) => {
                let text = |tag| {
                    track
                        .get(tag)
                        .and_then(EntryValue::as_str)
                        .map(str::to_string)
                };
                facts.make = text(TrackInfoTag::Make);
                facts.model = text(TrackInfoTag::Model);
                facts.software = text(TrackInfoTag::Software);
                facts.track_created = track
                    .get(TrackInfoTag::CreateDate)
                    .and_then(EntryValue::as_datetime)
                    .and_then(|t| t.aware());
            }
            Err(e) => facts
                .problems
                .push(format!("the video's metadata could not be read: {e}")),
        },
        Err(e) => facts.problems.push(format!(
            "the video could not be opened for its metadata: {e}"
        )),
    }
    if let Ok(file) = std::fs::File::open(path) {
        facts.c2pa = containers::bmff_c2pa(&mut BufReader::new(file))
            .ok()
            .flatten();
    }
    facts
}

/// Reads the facts of a file of any kind: images from `bytes` (the whole
/// file), videos from `path`.
pub fn read(path: &Path, bytes: Option<&[u8]>, format: &Format) -> FileFacts {
    match (format.kind, bytes) {
        (MediaKind::Image, Some(bytes)) => read_image(bytes, format),
        (MediaKind::Video, _) => read_video(path),
        _ => FileFacts::default(),
    }
}

fn take_exif(facts: &mut FileFacts, exif: &Exif) {
    let text = |tag| {
        exif.get(tag)
            .and_then(EntryValue::as_str)
            .map(|s| s.trim_matches(char::from(0)).trim().to_string())
            .filter(|s| !s.is_empty())
    };
    facts.make = text(ExifTag::Make);
    facts.model = text(ExifTag::Model);
    facts.software = text(ExifTag::Software);
    facts.user_comment = exif.get(ExifTag::UserComment).and_then(user_comment);
    let offset = text(ExifTag::OffsetTimeOriginal).and_then(|s| parse_offset(&s));
    let subsec_nanos = text(ExifTag::SubSecTimeOriginal)
        .map(|s| subsec_to_nanos(&s))
        .unwrap_or(0);
    match exif
        .get(ExifTag::DateTimeOriginal)
        .and_then(EntryValue::as_datetime)
    {
        Some(t) => {
            let offset = offset.or_else(|| t.aware().map(|a| *a.offset()));
            facts.exif_time = Some(ExifTime {
                local: t.into_naive(),
                offset,
                subsec_nanos,
            });
        }
        None => {
            let unreadable = exif.errors().iter().any(|(_, tag, _)| {
                matches!(tag, nom_exif::TagOrCode::Tag(ExifTag::DateTimeOriginal))
            });
            if unreadable {
                facts
                    .problems
                    .push("EXIF DateTimeOriginal is present but is not a date".into());
            }
        }
    }
}

/// EXIF UserComment: 8 bytes naming the character code, then the text.
fn user_comment(value: &EntryValue) -> Option<String> {
    let text = match value {
        EntryValue::Text(s) => s.clone(),
        EntryValue::Undefined(bytes) => {
            let body = if bytes.len() >= 8
                && (bytes.starts_with(b"ASCII\0\0\0")
                    || bytes.starts_with(b"UNICODE\0")
                    || bytes.starts_with(b"\0\0\0\0\0\0\0\0"))
            {
                &bytes[8..]
            } else {
                &bytes[..]
            };
            if bytes.starts_with(b"UNICODE\0") {
                // UCS-2; big-endian is what the standard says, ASCII text
                // survives either way once NULs are dropped.
                body.iter()
                    .filter(|&&b| b != 0)
                    .map(|&b| b as char)
                    .collect()
            } else {
                String::from_utf8_lossy(body).into_owned()
            }
        }
        _ => return None,
    };
    let text = text.trim_matches(char::from(0)).trim().to_string();
    (!text.is_empty()).then_some(text)
}

/// An EXIF offset such as `+02:00` or `-0530`.
pub fn parse_offset(s: &str) -> Option<FixedOffset> {
    let s = s.trim();
    let (sign, rest) = match s.as_bytes().first()? {
        b'+' => (1, &s[1..]),
        b'-' => (-1, &s[1..]),
        _ => return None,
    };
    let digits: String = rest.chars().filter(char::is_ascii_digit).collect();
    if digits.len() != 4 {
        return None;
    }
    let hours: i32 = digits[..2].parse().ok()?;
    let minutes: i32 = digits[2..].parse().ok()?;
    FixedOffset::east_opt(sign * (hours * 3600 + minutes * 60))
}

/// SubSecTime digits ("123" = .123 s) as nanoseconds.
fn subsec_to_nanos(s: &str) -> u32 {
    let digits: String = s.chars().take_while(char::is_ascii_digit).take(9).collect();
    if digits.is_empty() {
        return 0;
    }
    let n: u32 = digits.parse().unwrap_or(0);
    n * 10u32.pow(9 - digits.len() as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_and_subseconds() {
        assert_eq!(parse_offset("+02:00").unwrap().local_minus_utc(), 7200);
        assert_eq!(parse_offset("-0530").unwrap().local_minus_utc(), -19800);
        assert_eq!(parse_offset("Z"), None);
        assert_eq!(subsec_to_nanos("5"), 500_000_000);
        assert_eq!(subsec_to_nanos("123"), 123_000_000);
        assert_eq!(subsec_to_nanos(""), 0);
    }

    #[test]
    fn user_comments_in_their_encodings() {
        let v = EntryValue::Undefined(b"ASCII\0\0\0Screenshot".to_vec());
        assert_eq!(user_comment(&v).unwrap(), "Screenshot");
        let v = EntryValue::Undefined(b"UNICODE\0\0S\0h\0o\0t".to_vec());
        assert_eq!(user_comment(&v).unwrap(), "Shot");
        assert_eq!(user_comment(&EntryValue::Undefined(vec![0; 8])), None);
    }
}
