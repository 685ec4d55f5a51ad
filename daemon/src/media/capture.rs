//! When a photo or video was taken, and how sure we are.
//!
//! The sources, best first: the Photos database (a library source; passed
//! in by the engine), EXIF DateTimeOriginal with its offset, the QuickTime
//! creation date of a video, the XMP dates, and last the file's
//! modification time, which is a guess (copies and downloads reset it) and
//! is reported as one. A date that cannot be true (before photography
//! existed, or after next year) is reported and skipped, never used.

use std::time::SystemTime;

use chrono::{DateTime, Datelike, FixedOffset, Local, NaiveDateTime, Utc};

use super::facts::{parse_offset, FileFacts};

/// Where a capture time came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TimeSource {
    /// Photos' own record of the capture time.
    Photos,
    /// EXIF DateTimeOriginal.
    Exif,
    /// A video's QuickTime creation date.
    QuickTime,
    /// XMP (photoshop:DateCreated, exif:DateTimeOriginal, xmp:CreateDate).
    Xmp,
    /// The file's modification time: a guess.
    FileModified,
}

/// The zone in which times stored in UTC (QuickTime) are shown, and file
/// times are read: the wall clock the user expects in a name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Zone {
    /// The computer's zone.
    Local,
    /// A named zone (`Europe/Paris`).
    Named(chrono_tz::Tz),
}

impl Zone {
    /// Parses `local` or an IANA zone name.
    pub fn parse(s: &str) -> Result<Self, String> {
        if s.eq_ignore_ascii_case("local") {
            return Ok(Zone::Local);
        }
        s.parse::<chrono_tz::Tz>().map(Zone::Named).map_err(|_| {
            format!("unknown time zone {s:?}; use an IANA name such as Europe/Paris, or \"local\"")
        })
    }

    /// `t` as wall-clock time in this zone, with the zone's offset then.
    pub fn show(&self, t: DateTime<Utc>) -> DateTime<FixedOffset> {
        match self {
            Zone::Local => t.with_timezone(&Local).fixed_offset(),
            Zone::Named(tz) => t.with_timezone(tz).fixed_offset(),
        }
    }
}

/// A capture time: the wall-clock time at the place of capture (what the
/// file is named after), its UTC offset when known, and where it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaptureTime {
    /// Wall-clock time of the capture.
    pub local: NaiveDateTime,
    /// Its UTC offset, when known.
    pub offset: Option<FixedOffset>,
    /// Where the time came from.
    pub source: TimeSource,
    /// Nanoseconds within the second, to order a burst.
    pub subsec_nanos: u32,
    /// What the report should say about the time (guesses, skipped dates).
    pub notes: Vec<String>,
}

impl CaptureTime {
    /// The time as an instant, for the file's modification time; a time
    /// without offset is taken as UTC (off by the zone, never unset).
    pub fn instant(&self) -> SystemTime {
        let utc = match self.offset {
            Some(o) => self.local - chrono::Duration::seconds(i64::from(o.local_minus_utc())),
            None => self.local,
        };
        SystemTime::from(utc.and_utc())
    }

    /// Whether the time is a guess (taken from the file's modification time).
    pub fn is_guess(&self) -> bool {
        self.source == TimeSource::FileModified
    }
}

/// Whether a date can be the capture time of a photo: not before 1826
/// (the first photograph) and not after next year (a camera clock gone
/// wrong, or a placeholder such as 9999).
pub fn plausible(t: &NaiveDateTime) -> bool {
    let next_year = Utc::now().year() + 1;
    (1826..=next_year).contains(&t.year())
}

/// The capture time from a file's facts, falling back to `modified`.
pub fn from_facts(facts: &FileFacts, modified: SystemTime, zone: Zone) -> CaptureTime {
    let mut notes = Vec::new();
    if let Some(e) = &facts.exif_time {
        if plausible(&e.local) {
            return CaptureTime {
                local: e.local,
                offset: e.offset,
                source: TimeSource::Exif,
                subsec_nanos: e.subsec_nanos,
                notes,
            };
        }
        notes.push(format!(
            "EXIF DateTimeOriginal {} is not a plausible date and was ignored",
            e.local.format("%Y-%m-%d %H:%M:%S")
        ));
    }
    if let Some(t) = facts.track_created {
        // QuickTime stores UTC: shown in the configured zone. Apple's own
        // creation-date key carries the local offset, kept as it is.
        let shown = if t.offset().local_minus_utc() == 0 {
            zone.show(t.with_timezone(&Utc))
        } else {
            t
        };
        if plausible(&shown.naive_local()) && t.timestamp() != 0 {
            return CaptureTime {
                local: shown.naive_local(),
                offset: Some(*shown.offset()),
                source: TimeSource::QuickTime,
                subsec_nanos: 0,
                notes,
            };
        }
        notes.push(format!(
            "QuickTime creation date {} is not a plausible date and was ignored",
            t.to_rfc3339()
        ));
    }
    if let Some(xmp) = &facts.xmp {
        for key in [
            "exif:DateTimeOriginal",
            "photoshop:DateCreated",
            "xmp:CreateDate",
        ] {
            let Some(text) = super::containers::xmp_property(xmp, key) else {
                continue;
            };
            match parse_xmp_date(&text) {
                Some((local, offset)) if plausible(&local) => {
                    return CaptureTime {
                        local,
                        offset,
                        source: TimeSource::Xmp,
                        subsec_nanos: 0,
                        notes,
                    };
                }
                _ => notes.push(format!("XMP {key} {text:?} is not a usable date")),
            }
        }
    }
    let shown = zone.show(DateTime::<Utc>::from(modified));
    notes.push(
        "no capture time in the file: named after its modification time, which is a guess".into(),
    );
    CaptureTime {
        local: shown.naive_local(),
        offset: Some(*shown.offset()),
        source: TimeSource::FileModified,
        subsec_nanos: shown.timestamp_subsec_nanos(),
        notes,
    }
}

/// The capture time Photos recorded for an asset.
pub fn from_photos(created: DateTime<FixedOffset>) -> CaptureTime {
    CaptureTime {
        local: created.naive_local(),
        offset: Some(*created.offset()),
        source: TimeSource::Photos,
        subsec_nanos: created.timestamp_subsec_nanos(),
        notes: Vec::new(),
    }
}

/// An XMP date: ISO 8601 with or without seconds, fraction and offset.
fn parse_xmp_date(s: &str) -> Option<(NaiveDateTime, Option<FixedOffset>)> {
    let s = s.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some((t.naive_local(), Some(*t.offset())));
    }
    // Split an offset off the end (+hh:mm, -hhmm, Z).
    let (body, offset) = match s.rfind(['+', 'Z']).or_else(|| {
        // A '-' after the time part starts an offset; the date's own
        // dashes come before the 'T'.
        let t = s.find('T')?;
        s[t..].rfind('-').map(|i| i + t)
    }) {
        Some(i) if s[..i].contains('T') => {
            let off = &s[i..];
            let parsed = if off == "Z" {
                FixedOffset::east_opt(0)
            } else {
                parse_offset(off)
            };
            (&s[..i], parsed)
        }
        _ => (s, None),
    };
    for fmt in [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%dT%H:%M",
    ] {
        if let Ok(t) = NaiveDateTime::parse_from_str(body, fmt) {
            return Some((t, offset));
        }
    }
    chrono::NaiveDate::parse_from_str(body, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|t| (t, offset))
}

/// The UTC instant of a wall-clock time at `offset` (tests build
/// expected instants with it).
#[cfg(test)]
fn utc_of(local: NaiveDateTime, offset: FixedOffset) -> DateTime<Utc> {
    use chrono::TimeZone;
    offset
        .from_local_datetime(&local)
        .single()
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or_else(|| local.and_utc())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::media::facts::ExifTime;

    fn at(s: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S").unwrap()
    }

    fn paris() -> Zone {
        Zone::parse("Europe/Paris").unwrap()
    }

    #[test]
    fn exif_comes_first_and_implausible_dates_are_skipped() {
        let mtime = SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_700_000_000);
        let mut facts = FileFacts {
            exif_time: Some(ExifTime {
                local: at("2021-06-01 10:00:00"),
                offset: None,
                subsec_nanos: 5,
            }),
            xmp: Some("<x:xmpmeta xmp:CreateDate=\"2019-01-01T00:00:00\"></x:xmpmeta>".into()),
            ..Default::default()
        };
        let t = from_facts(&facts, mtime, paris());
        assert_eq!(
            (t.source, t.local),
            (TimeSource::Exif, at("2021-06-01 10:00:00"))
        );
        for bad in ["0000-01-01 00:00:00", "9999-12-31 23:59:59"] {
            facts.exif_time.as_mut().unwrap().local = at(bad);
            let t = from_facts(&facts, mtime, paris());
            assert_eq!(t.source, TimeSource::Xmp, "{bad}");
            assert_eq!(t.local, at("2019-01-01 00:00:00"));
            assert!(t.notes[0].contains("not a plausible date"), "{:?}", t.notes);
        }
        facts.xmp = None;
        let t = from_facts(&facts, mtime, paris());
        assert!(t.is_guess());
        // 1_700_000_000 is 2023-11-14 22:13:20 UTC, 23:13:20 in Paris.
        assert_eq!(t.local, at("2023-11-14 23:13:20"));
        assert!(t.notes.last().unwrap().contains("guess"));
    }

    #[test]
    fn quicktime_utc_is_shown_in_the_zone_and_apple_offsets_are_kept() {
        let mtime = SystemTime::UNIX_EPOCH;
        let utc = DateTime::parse_from_rfc3339("2024-07-01T12:00:00+00:00").unwrap();
        let facts = FileFacts {
            track_created: Some(utc),
            ..Default::default()
        };
        let t = from_facts(&facts, mtime, paris());
        assert_eq!(
            (t.source, t.local),
            (TimeSource::QuickTime, at("2024-07-01 14:00:00"))
        );
        let apple = DateTime::parse_from_rfc3339("2024-07-01T08:00:00-04:00").unwrap();
        let facts = FileFacts {
            track_created: Some(apple),
            ..Default::default()
        };
        assert_eq!(
            from_facts(&facts, mtime, paris()).local,
            at("2024-07-01 08:00:00")
        );
    }

    #[test]
    fn xmp_dates_in_their_forms() {
        let (t, o) = parse_xmp_date("2020-05-06T07:08:09.123+02:00").unwrap();
        assert_eq!(
            (t, o.unwrap().local_minus_utc()),
            (
                at("2020-05-06 07:08:09") + chrono::Duration::milliseconds(123),
                7200
            )
        );
        let (t, o) = parse_xmp_date("2020-05-06T07:08").unwrap();
        assert_eq!((t, o), (at("2020-05-06 07:08:00"), None));
        let (_, o) = parse_xmp_date("2020-05-06T07:08:09-0500").unwrap();
        assert_eq!(o.unwrap().local_minus_utc(), -18000);
        assert_eq!(
            parse_xmp_date("2020-05-06").unwrap().0,
            at("2020-05-06 00:00:00")
        );
        assert!(parse_xmp_date("yesterday").is_none());
    }

    #[test]
    fn instants_use_the_offset() {
        let t = CaptureTime {
            local: at("2024-01-01 12:00:00"),
            offset: FixedOffset::east_opt(3600),
            source: TimeSource::Exif,
            subsec_nanos: 0,
            notes: vec![],
        };
        assert_eq!(
            DateTime::<Utc>::from(t.instant()),
            utc_of(
                at("2024-01-01 12:00:00"),
                FixedOffset::east_opt(3600).unwrap()
            )
        );
        assert!(Zone::parse("Mars/Base").is_err());
    }
}
