//! XMP sidecars: the metadata Photos keeps in its database (title,
//! description, keywords, persons, albums, location, capture time,
//! favourite, hidden), written beside every exported file as `<stem>.xmp`.
//!
//! A backup made of bare files would lose everything the user did in Photos
//! except the pixels; the sidecar keeps it in the standard form that
//! Lightroom, digiKam and exiftool read, so the export stays useful without
//! photovault. The packet is written by hand: it is a fixed, small subset of
//! RDF/XML, and the only delicate part, escaping text, is done in one place
//! ([`escape`]).
//!
//! The output is a pure function of the [`Asset`]: no clock, no random ids,
//! no tool version. The export engine hashes it to decide whether a sidecar
//! on the drive must be rewritten, so equal assets must give equal bytes.

use std::fmt::Write as _;

use chrono::{DateTime, Datelike, FixedOffset, Offset, Timelike, Utc};

use crate::library::{AlbumRef, Asset};

/// Namespaces declared on the `rdf:Description`, always all of them so the
/// header does not depend on which properties an asset has.
const NAMESPACES: &[(&str, &str)] = &[
    ("dc", "http://purl.org/dc/elements/1.1/"),
    ("xmp", "http://ns.adobe.com/xap/1.0/"),
    ("exif", "http://ns.adobe.com/exif/1.0/"),
    ("photoshop", "http://ns.adobe.com/photoshop/1.0/"),
    ("lr", "http://ns.adobe.com/lightroom/1.0/"),
    ("Iptc4xmpExt", "http://iptc.org/std/Iptc4xmpExt/2008-02-29/"),
    ("photovault", "https://photovault.dev/ns/1.0/"),
];

/// Top of the `lr:hierarchicalSubject` tree under which persons appear.
const PEOPLE_ROOT: &str = "People";
/// Top of the `lr:hierarchicalSubject` tree under which albums appear.
const ALBUMS_ROOT: &str = "Albums";
/// What an empty level of `lr:hierarchicalSubject` is called: an empty level
/// would make Lightroom show a nameless keyword.
const UNTITLED: &str = "Untitled";

/// The XMP packet for `asset`: UTF-8 bytes of a complete sidecar file.
///
/// Properties the asset has no value for are left out rather than written
/// empty (and `xmp:Rating` is only written, as 5, for a favourite), so a
/// program merging the sidecar into its own catalogue never has a rating or
/// caption of its own overwritten by "nothing". `photovault:UUID` and
/// `photovault:OriginalFilename` are always present: they tie the file back
/// to its asset in Photos. The same asset always gives the same bytes.
pub fn sidecar(asset: &Asset) -> Vec<u8> {
    let mut p = Packet::new();

    if let Some(title) = &asset.title {
        p.lang_alt("dc:title", title);
    }
    if let Some(description) = &asset.description {
        p.lang_alt("dc:description", description);
    }
    p.bag("dc:subject", asset.keywords.iter().map(|k| clean(k)));
    p.bag("lr:hierarchicalSubject", hierarchical_subjects(asset));
    p.bag(
        "Iptc4xmpExt:PersonInImage",
        asset.persons.iter().map(|n| clean(n)),
    );

    if let Some(created) = asset.created.as_ref().and_then(xmp_date) {
        p.simple("exif:DateTimeOriginal", &created);
        p.simple("xmp:CreateDate", &created);
        p.simple("photoshop:DateCreated", &created);
    }
    if let Some((lat, lon)) = gps(asset) {
        p.simple("exif:GPSVersionID", "2.2.0.0");
        p.simple("exif:GPSLatitude", &lat);
        p.simple("exif:GPSLongitude", &lon);
    }
    if asset.favorite {
        p.simple("xmp:Rating", "5");
    }

    p.simple("photovault:UUID", &asset.uuid);
    p.simple("photovault:OriginalFilename", &asset.original_filename);
    if asset.hidden {
        p.simple("photovault:Hidden", "True");
    }
    p.bag("photovault:Albums", asset.albums.iter().map(album_path));

    p.finish().into_bytes()
}

/// The RDF/XML text being written, one property per element.
struct Packet {
    out: String,
}

impl Packet {
    fn new() -> Self {
        let mut out = String::with_capacity(2048);
        out.push_str("<?xpacket begin=\"\u{feff}\" id=\"W5M0MpCehiHzreSzNTczkc9d\"?>\n");
        out.push_str("<x:xmpmeta xmlns:x=\"adobe:ns:meta/\" x:xmptk=\"photovault\">\n");
        out.push_str(" <rdf:RDF xmlns:rdf=\"http://www.w3.org/1999/02/22-rdf-syntax-ns#\">\n");
        out.push_str("  <rdf:Description rdf:about=\"\"");
        for (prefix, uri) in NAMESPACES {
            let _ = write!(out, "\n    xmlns:{prefix}=\"{uri}\"");
        }
        out.push_str(">\n");
        Packet { out }
    }

    /// A simple text property; nothing is written when the text is empty
    /// once cleaned.
    fn simple(&mut self, name: &str, value: &str) {
        let value = escape(value);
        if !value.is_empty() {
            let _ = writeln!(self.out, "   <{name}>{value}</{name}>");
        }
    }

    /// A language alternative with only the default language, which is how
    /// XMP spells `dc:title` and `dc:description`.
    fn lang_alt(&mut self, name: &str, value: &str) {
        let value = escape(value);
        if !value.is_empty() {
            let _ = write!(
                self.out,
                "   <{name}>\n    <rdf:Alt>\n     \
                 <rdf:li xml:lang=\"x-default\">{value}</rdf:li>\n    \
                 </rdf:Alt>\n   </{name}>\n"
            );
        }
    }

    /// An unordered list; empty items and repeats are dropped (keeping the
    /// first occurrence, so the order stays that of the asset), and an empty
    /// list is not written at all.
    fn bag(&mut self, name: &str, items: impl IntoIterator<Item = String>) {
        let mut seen: Vec<String> = Vec::new();
        for item in items {
            let item = escape(&item);
            if !item.is_empty() && !seen.contains(&item) {
                seen.push(item);
            }
        }
        if seen.is_empty() {
            return;
        }
        let _ = write!(self.out, "   <{name}>\n    <rdf:Bag>\n");
        for item in &seen {
            let _ = writeln!(self.out, "     <rdf:li>{item}</rdf:li>");
        }
        let _ = write!(self.out, "    </rdf:Bag>\n   </{name}>\n");
    }

    fn finish(mut self) -> String {
        self.out
            .push_str("  </rdf:Description>\n </rdf:RDF>\n</x:xmpmeta>\n");
        self.out.push_str("<?xpacket end=\"w\"?>\n");
        self.out
    }
}

/// `text` without the characters XML 1.0 cannot carry: control characters
/// other than tab and newline (NUL above all) and the noncharacters U+FFFE
/// and U+FFFF are removed; a carriage return, alone or before a newline,
/// becomes a newline, which is what an XML parser would turn it into anyway.
fn clean(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\r' => {
                chars.next_if_eq(&'\n');
                out.push('\n');
            }
            '\t' | '\n' => out.push(c),
            '\u{fffe}' | '\u{ffff}' => {}
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

/// `text` cleaned (see [`clean`]) and escaped for XML element content or a
/// quoted attribute value: the one place text from the library enters the
/// packet, so a title like `</x:xmpmeta>` stays a title.
fn escape(text: &str) -> String {
    let text = clean(text);
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

/// The `lr:hierarchicalSubject` entries: keywords as top-level entries,
/// persons under `People|`, albums under `Albums|<folders>|`.
fn hierarchical_subjects(asset: &Asset) -> impl Iterator<Item = String> + '_ {
    let keywords = asset.keywords.iter().map(|k| hierarchy_level(k));
    let persons = asset
        .persons
        .iter()
        .map(|n| format!("{PEOPLE_ROOT}|{}", hierarchy_level(n)));
    let albums = asset.albums.iter().map(|album| {
        let mut path = ALBUMS_ROOT.to_string();
        for name in album.folder_path.iter().chain([&album.title]) {
            path.push('|');
            path.push_str(&hierarchy_level(name));
        }
        path
    });
    keywords.chain(persons).chain(albums)
}

/// One level of an `lr:hierarchicalSubject` path. `|` separates levels
/// there and has no escape, so a `|` inside a name becomes `¦` (U+00A6)
/// rather than splitting the name into two levels.
fn hierarchy_level(name: &str) -> String {
    let name = clean(name).replace('|', "\u{a6}");
    if name.is_empty() {
        UNTITLED.to_string()
    } else {
        name
    }
}

/// An album as a `photovault:Albums` entry, `Folder/Sub/Album`. This is
/// photovault's own record, meant to be parsed back (to rebuild albums on a
/// restore), so it is unambiguous: `\` and `/` inside a name are written
/// `\\` and `\/`.
fn album_path(album: &AlbumRef) -> String {
    let mut path = String::new();
    for (i, name) in album.folder_path.iter().chain([&album.title]).enumerate() {
        if i > 0 {
            path.push('/');
        }
        for c in clean(name).chars() {
            if matches!(c, '\\' | '/') {
                path.push('\\');
            }
            path.push(c);
        }
    }
    path
}

/// The asset's location as XMP `exif:GPSLatitude` and `exif:GPSLongitude`
/// values, when both are known and in range.
fn gps(asset: &Asset) -> Option<(String, String)> {
    let lat = gps_coordinate(asset.latitude?, 90.0, 'N', 'S')?;
    let lon = gps_coordinate(asset.longitude?, 180.0, 'E', 'W')?;
    Some((lat, lon))
}

/// A coordinate in XMP's GPSCoordinate form `DDD,MM.mmmmmmK`: whole degrees,
/// minutes with six decimals (about 2 mm) and the hemisphere letter, which
/// is how the XMP specification writes EXIF's GPS rationals. Rounding is
/// done on whole millionths of a minute, so 59.9999999' carries into the
/// next degree instead of printing `60.000000`. `None` for a value that is
/// not finite or beyond `limit` degrees.
fn gps_coordinate(degrees: f64, limit: f64, positive: char, negative: char) -> Option<String> {
    if !degrees.is_finite() || degrees.abs() > limit {
        return None;
    }
    const PER_MINUTE: u64 = 1_000_000;
    const PER_DEGREE: u64 = 60 * PER_MINUTE;
    // At most 180 * 60e6 ≈ 1.1e10: exact in f64 and in u64.
    let units = (degrees.abs() * PER_DEGREE as f64).round() as u64;
    // A value that rounds to zero (including -0.0) is on the equator or
    // prime meridian: give it the positive letter, as EXIF does.
    let hemisphere = if degrees < 0.0 && units > 0 {
        negative
    } else {
        positive
    };
    let whole = units / PER_DEGREE;
    let rest = units % PER_DEGREE;
    Some(format!(
        "{whole},{:02}.{:06}{hemisphere}",
        rest / PER_MINUTE,
        rest % PER_MINUTE
    ))
}

/// A capture time as an XMP date, `YYYY-MM-DDThh:mm:ss[.fff]+hh:mm`, in the
/// photo's own offset: the clock time the photographer saw, plus the offset
/// that makes it an exact instant. Milliseconds appear only when not zero
/// (truncated, never rounded into the next second). XMP offsets have no
/// seconds, so a historical offset that has some (local mean time) is
/// rounded to the minute and the clock time shifted to keep the instant.
/// `None` for a year XMP cannot write (outside 0000..=9999).
fn xmp_date(t: &DateTime<FixedOffset>) -> Option<String> {
    let seconds = t.offset().local_minus_utc();
    let t = if seconds % 60 == 0 {
        *t
    } else {
        let rounded = (seconds + 30).div_euclid(60) * 60;
        let offset = FixedOffset::east_opt(rounded).unwrap_or_else(|| Utc.fix());
        t.with_timezone(&offset)
    };
    if !(0..=9999).contains(&t.year()) {
        return None;
    }
    let mut out = t.format("%Y-%m-%dT%H:%M:%S").to_string();
    // A leap second is stored as 1_000_000_000 nanoseconds and more.
    let millis = t.nanosecond() % 1_000_000_000 / 1_000_000;
    if millis != 0 {
        let _ = write!(out, ".{millis:03}");
    }
    let _ = write!(out, "{}", t.format("%:z"));
    Some(out)
}

#[cfg(test)]
mod tests;
