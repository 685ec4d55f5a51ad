//! Real, small, valid media files for every resource a library holds.
//!
//! Each generator embeds a caller-supplied unique string so that no two files
//! share a hash, and still images carry EXIF capture time so that engines
//! reading metadata from files see the same time as the database.

mod jpeg;
mod pictures;
mod plists;
mod png;
mod quicktime;
mod tiff;

pub use pictures::{gradient, heic_picture, jpeg_picture, png_picture, HeicExtras};
pub use plists::{adjustment, bookmark, data_model_version, store_metadata, Editor};
pub use quicktime::MovieInfo;
pub use tiff::{exif_fields_block, ExifFields, ExifInfo, RawFlavor};

/// The formats the testkit knows, decided from a file extension.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum FileKind {
    /// `.jpg` / `.jpeg`
    Jpeg,
    /// `.png`
    Png,
    /// `.heic` / `.heif` (written as a non-decodable container stub)
    Heic,
    /// `.tif` / `.tiff`
    Tiff,
    /// `.dng`
    Dng,
    /// `.cr2`
    Cr2,
    /// `.mov`
    Mov,
    /// `.mp4` / `.m4v`
    Mp4,
    /// `.aae`
    Aae,
    /// Anything else (written as JPEG bytes, typed `public.data`).
    Other,
}

impl FileKind {
    /// The kind of a file name, from its extension (case-insensitive).
    pub fn from_name(name: &str) -> FileKind {
        let ext = name
            .rsplit_once('.')
            .map(|(_, e)| e.to_ascii_lowercase())
            .unwrap_or_default();
        match ext.as_str() {
            "jpg" | "jpeg" | "jpe" => FileKind::Jpeg,
            "png" => FileKind::Png,
            "heic" | "heif" => FileKind::Heic,
            "tif" | "tiff" => FileKind::Tiff,
            "dng" => FileKind::Dng,
            "cr2" => FileKind::Cr2,
            "mov" | "qt" => FileKind::Mov,
            "mp4" | "m4v" => FileKind::Mp4,
            "aae" => FileKind::Aae,
            _ => FileKind::Other,
        }
    }

    /// The uniform type identifier Photos records for this kind.
    pub fn uti(self) -> &'static str {
        match self {
            FileKind::Jpeg => "public.jpeg",
            FileKind::Png => "public.png",
            FileKind::Heic => "public.heic",
            FileKind::Tiff => "public.tiff",
            FileKind::Dng => "com.adobe.raw-image",
            FileKind::Cr2 => "com.canon.cr2-raw-image",
            FileKind::Mov => "com.apple.quicktime-movie",
            FileKind::Mp4 => "public.mpeg-4",
            FileKind::Aae => "com.apple.photos.apple-adjustment-envelope",
            FileKind::Other => "public.data",
        }
    }

    /// The extension Photos gives the copy inside `originals/` (it
    /// normalises `.JPG` to `.jpeg`, `.MOV` to `.mov`, ...).
    pub fn library_extension(self, original_name: &str) -> String {
        match self {
            FileKind::Jpeg => "jpeg".into(),
            FileKind::Png => "png".into(),
            FileKind::Heic => "heic".into(),
            FileKind::Tiff => "tiff".into(),
            FileKind::Dng => "dng".into(),
            FileKind::Cr2 => "cr2".into(),
            FileKind::Mov => "mov".into(),
            FileKind::Mp4 => "mp4".into(),
            FileKind::Aae => "aae".into(),
            FileKind::Other => original_name
                .rsplit_once('.')
                .map(|(_, e)| e.to_ascii_lowercase())
                .unwrap_or_else(|| "dat".into()),
        }
    }

    /// `ZINTERNALRESOURCE.ZCOMPACTUTI` (modern generation) as the fixtures
    /// store it; the UTI string itself where the fixtures show no code.
    pub fn compact_uti(self) -> String {
        match self {
            FileKind::Jpeg => "1".into(),
            FileKind::Heic => "3".into(),
            FileKind::Png => "6".into(),
            FileKind::Tiff => "8".into(),
            FileKind::Dng => "9".into(),
            FileKind::Cr2 => "11".into(),
            FileKind::Mov => "23".into(),
            FileKind::Aae => "37".into(),
            FileKind::Mp4 | FileKind::Other => self.uti().into(),
        }
    }

    /// `ZINTERNALRESOURCE.ZUTICONFORMANCEHINT` (modern generation):
    /// 1 image, 2 RAW image, 3 movie, 0 other.
    pub fn conformance_hint(self) -> i64 {
        match self {
            FileKind::Jpeg | FileKind::Png | FileKind::Heic | FileKind::Tiff => 1,
            FileKind::Dng | FileKind::Cr2 => 2,
            FileKind::Mov | FileKind::Mp4 => 3,
            FileKind::Aae | FileKind::Other => 0,
        }
    }

    /// Whether this kind is a movie.
    pub fn is_movie(self) -> bool {
        matches!(self, FileKind::Mov | FileKind::Mp4)
    }

    /// Whether this kind is a camera RAW format.
    pub fn is_raw(self) -> bool {
        matches!(self, FileKind::Dng | FileKind::Cr2)
    }
}

/// A grey level derived from the unique string, so pixels differ too.
fn shade(unique: &str) -> u8 {
    unique.bytes().fold(0x811c_9dc5u32, |h, b| {
        (h ^ u32::from(b)).wrapping_mul(0x0100_0193)
    }) as u8
}

/// The bytes of a still image or RAW file of `kind`.
pub fn still(kind: FileKind, exif: &ExifInfo<'_>) -> Vec<u8> {
    let s = shade(exif.unique);
    match kind {
        FileKind::Png => png::png(&tiff::exif_block(exif), exif.unique, s),
        FileKind::Heic => quicktime::heic_stub(exif.unique),
        FileKind::Dng => tiff::raw_file(exif, RawFlavor::Dng, s),
        FileKind::Cr2 => tiff::raw_file(exif, RawFlavor::Cr2, s),
        FileKind::Tiff => tiff::raw_file(exif, RawFlavor::Tiff, s),
        FileKind::Mov | FileKind::Mp4 => movie(&MovieInfo {
            created: exif.created,
            duration: 1.0,
            width: exif.width,
            height: exif.height,
            gps: exif.gps,
            content_identifier: None,
            unique: exif.unique,
            quicktime: kind == FileKind::Mov,
        }),
        FileKind::Jpeg | FileKind::Aae | FileKind::Other => {
            jpeg::jpeg(Some(&tiff::exif_block(exif)), exif.unique, s)
        }
    }
}

/// The bytes of a movie.
pub fn movie(info: &MovieInfo<'_>) -> Vec<u8> {
    quicktime::movie(info)
}
