//! A small little-endian TIFF writer: EXIF blocks for JPEG/PNG and the
//! DNG/CR2 stand-ins for RAW files.
//!
//! Engines read capture time from EXIF (`DateTimeOriginal` +
//! `OffsetTimeOriginal`), so every still image the testkit writes carries the
//! asset's real creation time and offset.

use chrono::{DateTime, FixedOffset};

/// TIFF field types used here.
#[derive(Clone, Copy)]
enum FieldType {
    Byte = 1,
    Ascii = 2,
    Short = 3,
    Long = 4,
    Rational = 5,
    Undefined = 7,
}

/// The value of one IFD entry.
#[derive(Clone)]
enum Field {
    Data(FieldType, u32, Vec<u8>),
    /// A LONG offset to another part of the file, resolved during layout.
    Pointer(Target),
}

#[derive(Clone, Copy, PartialEq)]
enum Target {
    Exif,
    Gps,
    Strip,
}

/// One IFD: entries sorted by tag when serialised.
#[derive(Default, Clone)]
struct Ifd(Vec<(u16, Field)>);

impl Ifd {
    fn ascii(&mut self, tag: u16, s: &str) {
        let mut b = s.as_bytes().to_vec();
        b.push(0);
        self.0
            .push((tag, Field::Data(FieldType::Ascii, b.len() as u32, b)));
    }
    fn short(&mut self, tag: u16, v: u16) {
        self.0.push((
            tag,
            Field::Data(FieldType::Short, 1, v.to_le_bytes().to_vec()),
        ));
    }
    fn long(&mut self, tag: u16, v: u32) {
        self.0.push((
            tag,
            Field::Data(FieldType::Long, 1, v.to_le_bytes().to_vec()),
        ));
    }
    fn bytes(&mut self, tag: u16, ty: FieldType, v: &[u8]) {
        self.0
            .push((tag, Field::Data(ty, v.len() as u32, v.to_vec())));
    }
    fn rationals(&mut self, tag: u16, v: &[(u32, u32)]) {
        let mut b = Vec::new();
        for (n, d) in v {
            b.extend(n.to_le_bytes());
            b.extend(d.to_le_bytes());
        }
        self.0
            .push((tag, Field::Data(FieldType::Rational, v.len() as u32, b)));
    }
    fn pointer(&mut self, tag: u16, t: Target) {
        self.0.push((tag, Field::Pointer(t)));
    }
    fn size(&self) -> usize {
        let out_of_line: usize = self
            .0
            .iter()
            .map(|(_, f)| match f {
                Field::Data(_, _, b) if b.len() > 4 => b.len() + b.len() % 2,
                _ => 0,
            })
            .sum();
        2 + 12 * self.0.len() + 4 + out_of_line
    }
    fn write(&self, out: &mut Vec<u8>, offsets: &Offsets) {
        let start = out.len();
        let mut entries = self.0.clone();
        entries.sort_by_key(|(t, _)| *t);
        out.extend((entries.len() as u16).to_le_bytes());
        let mut data_off = start + 2 + 12 * entries.len() + 4;
        let mut data = Vec::new();
        for (tag, field) in &entries {
            out.extend(tag.to_le_bytes());
            match field {
                Field::Pointer(t) => {
                    out.extend((FieldType::Long as u16).to_le_bytes());
                    out.extend(1u32.to_le_bytes());
                    out.extend(offsets.of(*t).to_le_bytes());
                }
                Field::Data(ty, count, b) => {
                    out.extend((*ty as u16).to_le_bytes());
                    out.extend(count.to_le_bytes());
                    if b.len() <= 4 {
                        let mut v = b.clone();
                        v.resize(4, 0);
                        out.extend(v);
                    } else {
                        out.extend((data_off as u32).to_le_bytes());
                        data.extend(b);
                        if b.len() % 2 == 1 {
                            data.push(0);
                        }
                        data_off += b.len() + b.len() % 2;
                    }
                }
            }
        }
        out.extend(0u32.to_le_bytes());
        out.extend(data);
    }
}

#[derive(Default)]
struct Offsets {
    exif: u32,
    gps: u32,
    strip: u32,
}

impl Offsets {
    fn of(&self, t: Target) -> u32 {
        match t {
            Target::Exif => self.exif,
            Target::Gps => self.gps,
            Target::Strip => self.strip,
        }
    }
}

/// What goes into the EXIF of a generated file.
pub struct ExifInfo<'a> {
    /// Capture time with the photo's own offset.
    pub created: DateTime<FixedOffset>,
    /// Latitude/longitude, if the photo has a location.
    pub gps: Option<(f64, f64)>,
    /// Stored as `ImageUniqueID` so that every file's bytes differ.
    pub unique: &'a str,
    /// Pixel size to record.
    pub width: u32,
    /// Pixel size to record.
    pub height: u32,
}

fn exif_and_gps(info: &ExifInfo<'_>) -> (Ifd, Option<Ifd>) {
    let local = info.created.format("%Y:%m:%d %H:%M:%S").to_string();
    let offset = info.created.format("%:z").to_string();
    let subsec = format!("{:03}", info.created.timestamp_subsec_millis());
    let mut exif = Ifd::default();
    exif.bytes(0x9000, FieldType::Undefined, b"0232");
    exif.ascii(0x9003, &local);
    exif.ascii(0x9004, &local);
    exif.ascii(0x9010, &offset);
    exif.ascii(0x9011, &offset);
    exif.ascii(0x9012, &offset);
    exif.ascii(0x9291, &subsec);
    exif.ascii(0x9292, &subsec);
    exif.long(0xA002, info.width);
    exif.long(0xA003, info.height);
    exif.ascii(0xA420, info.unique);
    let gps = info.gps.map(|(lat, lon)| {
        let mut g = Ifd::default();
        g.bytes(0x0000, FieldType::Byte, &[2, 2, 0, 0]);
        g.ascii(0x0001, if lat < 0.0 { "S" } else { "N" });
        g.rationals(0x0002, &dms(lat));
        g.ascii(0x0003, if lon < 0.0 { "W" } else { "E" });
        g.rationals(0x0004, &dms(lon));
        g
    });
    (exif, gps)
}

fn dms(v: f64) -> [(u32, u32); 3] {
    let v = v.abs();
    let d = v.trunc();
    let m = ((v - d) * 60.0).trunc();
    let s = ((v - d) * 60.0 - m) * 60.0;
    [
        (d as u32, 1),
        (m as u32, 1),
        ((s * 10_000.0).round() as u32, 10_000),
    ]
}

fn ifd0_common(ifd0: &mut Ifd, info: &ExifInfo<'_>, gps: bool) {
    ifd0.ascii(0x010F, "Apple");
    ifd0.ascii(0x0110, "iPhone 12 Pro");
    ifd0.ascii(0x0131, "photovault-testkit");
    ifd0.ascii(
        0x0132,
        &info.created.format("%Y:%m:%d %H:%M:%S").to_string(),
    );
    ifd0.pointer(0x8769, Target::Exif);
    if gps {
        ifd0.pointer(0x8825, Target::Gps);
    }
}

/// Lays out header, IFD0, Exif IFD, GPS IFD and an optional strip.
fn layout(header: &[u8], ifd0: Ifd, exif: Ifd, gps: Option<Ifd>, strip: &[u8]) -> Vec<u8> {
    let ifd0_off = header.len();
    let exif_off = ifd0_off + ifd0.size();
    let gps_off = exif_off + exif.size();
    let strip_off = gps_off + gps.as_ref().map_or(0, Ifd::size);
    let offsets = Offsets {
        exif: exif_off as u32,
        gps: gps_off as u32,
        strip: strip_off as u32,
    };
    let mut out = header.to_vec();
    ifd0.write(&mut out, &offsets);
    exif.write(&mut out, &offsets);
    if let Some(g) = gps {
        g.write(&mut out, &offsets);
    }
    out.extend(strip);
    out
}

/// A TIFF block holding EXIF (no image), as embedded in JPEG APP1 or PNG eXIf.
pub fn exif_block(info: &ExifInfo<'_>) -> Vec<u8> {
    let (exif, gps) = exif_and_gps(info);
    let mut ifd0 = Ifd::default();
    ifd0_common(&mut ifd0, info, gps.is_some());
    layout(b"II*\0\x08\0\0\0", ifd0, exif, gps, &[])
}

/// Which RAW container to imitate.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum RawFlavor {
    /// Adobe DNG: a TIFF with the DNGVersion tag.
    Dng,
    /// Canon CR2: a TIFF with the "CR" signature after the header.
    Cr2,
    /// A plain TIFF image.
    Tiff,
}

/// A minimal RAW (or plain TIFF) stand-in: an 8x8 8-bit grey uncompressed TIFF image with
/// EXIF, shaped as a DNG or CR2 file.
pub fn raw_file(info: &ExifInfo<'_>, flavor: RawFlavor, shade: u8) -> Vec<u8> {
    let (exif, gps) = exif_and_gps(info);
    let mut ifd0 = Ifd::default();
    ifd0.long(0x00FE, 0);
    ifd0.long(0x0100, 8);
    ifd0.long(0x0101, 8);
    ifd0.short(0x0102, 8);
    ifd0.short(0x0103, 1);
    ifd0.short(0x0106, 1);
    ifd0.pointer(0x0111, Target::Strip);
    ifd0.short(0x0115, 1);
    ifd0.long(0x0116, 8);
    ifd0.long(0x0117, 64);
    ifd0_common(&mut ifd0, info, gps.is_some());
    let header: &[u8] = match flavor {
        RawFlavor::Dng => {
            ifd0.bytes(0xC612, FieldType::Byte, &[1, 4, 0, 0]);
            ifd0.ascii(0xC614, "Apple iPhone 12 Pro");
            b"II*\0\x08\0\0\0"
        }
        RawFlavor::Cr2 => b"II*\0\x10\0\0\0CR\x02\0\0\0\0\0",
        RawFlavor::Tiff => b"II*\0\x08\0\0\0",
    };
    layout(header, ifd0, exif, gps, &[shade; 64])
}

/// Chosen EXIF fields for organize tests: a camera or none, any date text
/// (including impossible ones), UserComment, Software, Orientation.
#[derive(Default, Clone)]
pub struct ExifFields<'a> {
    /// IFD0 Make.
    pub make: Option<&'a str>,
    /// IFD0 Model.
    pub model: Option<&'a str>,
    /// IFD0 Software.
    pub software: Option<&'a str>,
    /// IFD0 Orientation (1-8).
    pub orientation: Option<u16>,
    /// DateTimeOriginal as written, e.g. `2024:05:06 07:08:09`.
    pub date_time_original: Option<&'a str>,
    /// OffsetTimeOriginal, e.g. `+02:00`.
    pub offset_time_original: Option<&'a str>,
    /// SubSecTimeOriginal, e.g. `250`.
    pub subsec_time_original: Option<&'a str>,
    /// UserComment (ASCII).
    pub user_comment: Option<&'a str>,
    /// GPS latitude and longitude.
    pub gps: Option<(f64, f64)>,
}

/// A TIFF block with exactly the given fields.
pub fn exif_fields_block(f: &ExifFields<'_>) -> Vec<u8> {
    let mut ifd0 = Ifd::default();
    if let Some(v) = f.make {
        ifd0.ascii(0x010F, v);
    }
    if let Some(v) = f.model {
        ifd0.ascii(0x0110, v);
    }
    if let Some(v) = f.orientation {
        ifd0.short(0x0112, v);
    }
    if let Some(v) = f.software {
        ifd0.ascii(0x0131, v);
    }
    ifd0.pointer(0x8769, Target::Exif);
    let mut exif = Ifd::default();
    exif.bytes(0x9000, FieldType::Undefined, b"0232");
    if let Some(v) = f.date_time_original {
        exif.ascii(0x9003, v);
    }
    if let Some(v) = f.offset_time_original {
        exif.ascii(0x9011, v);
    }
    if let Some(v) = f.subsec_time_original {
        exif.ascii(0x9291, v);
    }
    if let Some(v) = f.user_comment {
        let mut b = b"ASCII\0\0\0".to_vec();
        b.extend(v.as_bytes());
        exif.bytes(0x9286, FieldType::Undefined, &b);
    }
    let gps = f.gps.map(|(lat, lon)| {
        let mut g = Ifd::default();
        g.bytes(0x0000, FieldType::Byte, &[2, 2, 0, 0]);
        g.ascii(0x0001, if lat < 0.0 { "S" } else { "N" });
        g.rationals(0x0002, &dms(lat));
        g.ascii(0x0003, if lon < 0.0 { "W" } else { "E" });
        g.rationals(0x0004, &dms(lon));
        g
    });
    if gps.is_some() {
        ifd0.pointer(0x8825, Target::Gps);
    }
    layout(b"II*\0\x08\0\0\0", ifd0, exif, gps, &[])
}
