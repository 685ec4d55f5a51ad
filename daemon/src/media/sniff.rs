//! What a file's bytes are, whatever its name says.
//!
//! Names lie: a `.JPG` exported by some apps is a HEIC, a download may be a
//! web page saved as `.jpg`, and a truncated copy is zero bytes. The organize
//! engine sorts by content (the magic numbers at the start of the file, read
//! by `infer`) and uses the name only to tell apart formats that share a
//! container (RAW files are TIFFs; `.m4v` is an MP4).

/// Broad sort of a file, which decides how its metadata is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum MediaKind {
    /// A still image (JPEG, HEIC, PNG, RAW, ...).
    Image,
    /// A movie (QuickTime, MP4, ...).
    Video,
    /// A sidecar describing another file (`.aae` edits, `.xmp` metadata).
    Sidecar,
    /// Nothing photovault can sort as media.
    NotMedia,
}

/// A recognised format: its kind and the normalised extension its file gets
/// (lower case, `.jpeg` written `.jpg`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Format {
    /// Image, video, sidecar or not media.
    pub kind: MediaKind,
    /// The extension the organized file gets, without the dot.
    pub ext: String,
    /// Why the name's extension was not kept, when it was not.
    pub note: Option<String>,
}

impl Format {
    /// Whether this is a HEIF image (HEIC), the one format converted.
    pub fn is_heic(&self) -> bool {
        self.kind == MediaKind::Image && self.ext == "heic"
    }
}

/// Extensions of RAW formats built on TIFF, kept as they are.
const RAW_EXTENSIONS: &[&str] = &[
    "dng", "cr2", "nef", "nrw", "arw", "srf", "sr2", "orf", "rw2", "pef", "raf", "3fr", "erf",
    "kdc", "mos", "mrw", "srw", "x3f", "iiq",
];

/// Extensions that promise an image or a video: a file named so whose bytes
/// are something else is reported, not trusted.
const MEDIA_EXTENSIONS: &[&str] = &[
    "jpg", "jpeg", "jpe", "png", "heic", "heif", "hif", "gif", "webp", "tif", "tiff", "avif",
    "bmp", "mov", "mp4", "m4v", "avi", "mkv", "webm", "3gp", "mts", "m2ts", "mpg", "mpeg", "cr3",
];

/// The lower-case extension of a file name, without the dot.
pub fn extension_of(name: &str) -> String {
    match name.rsplit_once('.') {
        Some((stem, ext)) if !stem.is_empty() && !ext.is_empty() => ext.to_lowercase(),
        _ => String::new(),
    }
}

/// The normalised form of an extension: lower case, and one spelling per
/// format (`jpeg`, `jpe` → `jpg`, `tif` → `tiff`, `heif`, `hif` → `heic`).
pub fn normalise_extension(ext: &str) -> String {
    let ext = ext.to_lowercase();
    match ext.as_str() {
        "jpeg" | "jpe" => "jpg".into(),
        "tif" => "tiff".into(),
        "heif" | "hif" => "heic".into(),
        "mpeg" => "mpg".into(),
        _ => ext,
    }
}

/// Decides the format of a file from its first bytes (`head`, a few KiB
/// are enough) and its name. `Err` carries the reason the file is not media.
pub fn sniff(head: &[u8], file_name: &str) -> Result<Format, String> {
    let named = extension_of(file_name);
    if head.is_empty() {
        return Err("the file is empty (0 bytes)".into());
    }
    if named == "aae" || named == "xmp" {
        let text = head.trim_ascii_start();
        if text.starts_with(b"<") || text.starts_with(b"bplist") {
            return Ok(Format {
                kind: MediaKind::Sidecar,
                ext: named,
                note: None,
            });
        }
        return Err(format!(
            "named .{named} but its content is not an XML or property-list sidecar"
        ));
    }
    let is_tiff = head.starts_with(b"II*\0") || head.starts_with(b"MM\0*");
    let mime = match infer::get(head) {
        Some(found) => found.mime_type(),
        // infer wants more than a header to name a TIFF; every RAW built
        // on TIFF starts with one.
        None if is_tiff => "image/tiff",
        None => {
            return Err(not_media_reason(
                &named,
                "no image or video format was recognised",
            ))
        }
    };
    let (kind, content_ext) = match mime {
        "image/jpeg" => (MediaKind::Image, "jpg"),
        "image/png" => (MediaKind::Image, "png"),
        "image/heif" | "image/heic" | "image/heif-sequence" | "image/heic-sequence" => {
            (MediaKind::Image, "heic")
        }
        "image/avif" => (MediaKind::Image, "avif"),
        "image/gif" => (MediaKind::Image, "gif"),
        "image/webp" => (MediaKind::Image, "webp"),
        "image/bmp" => (MediaKind::Image, "bmp"),
        "image/jxl" => (MediaKind::Image, "jxl"),
        "image/x-canon-cr2" => (MediaKind::Image, "cr2"),
        "image/x-canon-cr3" => (MediaKind::Image, "cr3"),
        "image/tiff" => {
            let ext = if RAW_EXTENSIONS.contains(&named.as_str()) {
                return Ok(Format {
                    kind: MediaKind::Image,
                    ext: named,
                    note: None,
                });
            } else {
                "tiff"
            };
            (MediaKind::Image, ext)
        }
        "video/quicktime" => (MediaKind::Video, "mov"),
        "video/mp4" | "video/x-m4v" => {
            let ext = if named == "m4v" { "m4v" } else { "mp4" };
            (MediaKind::Video, ext)
        }
        "video/3gpp" => (MediaKind::Video, "3gp"),
        "video/x-msvideo" => (MediaKind::Video, "avi"),
        "video/x-matroska" => (MediaKind::Video, "mkv"),
        "video/webm" => (MediaKind::Video, "webm"),
        "video/mpeg" => (MediaKind::Video, "mpg"),
        other => {
            return Err(not_media_reason(
                &named,
                &format!("the content is {other}, not an image or a video"),
            ))
        }
    };
    let normalised = normalise_extension(&named);
    let note = (normalised != content_ext && !named.is_empty())
        .then(|| format!("named .{named} but the content is {content_ext}; named .{content_ext}"));
    Ok(Format {
        kind,
        ext: content_ext.to_string(),
        note,
    })
}

fn not_media_reason(named: &str, detail: &str) -> String {
    if MEDIA_EXTENSIONS.contains(&named) {
        format!("named .{named} but {detail} (damaged, or not really a .{named})")
    } else {
        detail.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const JPEG: &[u8] = &[0xFF, 0xD8, 0xFF, 0xE0, 0, 16, b'J', b'F', b'I', b'F', 0];
    const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR";

    #[test]
    fn content_decides_and_the_extension_is_normalised() {
        let f = sniff(JPEG, "IMG_1.JPEG").unwrap();
        assert_eq!(
            (f.kind, f.ext.as_str(), f.note),
            (MediaKind::Image, "jpg", None)
        );
        let f = sniff(PNG, "photo.jpg").unwrap();
        assert_eq!(f.ext, "png");
        assert!(f
            .note
            .unwrap()
            .contains("named .jpg but the content is png"));
        let mut mov = vec![0, 0, 0, 20];
        mov.extend_from_slice(b"ftypqt  \0\0\0\0qt  ");
        assert_eq!(sniff(&mov, "IMG_1.MOV").unwrap().kind, MediaKind::Video);
        let mut heic = vec![0, 0, 0, 24];
        heic.extend_from_slice(b"ftypheic\0\0\0\0mif1heic");
        let f = sniff(&heic, "IMG_1.HEIC").unwrap();
        assert!(f.is_heic());
    }

    #[test]
    fn raw_files_keep_their_extension() {
        let tiff = b"II*\0\x08\0\0\0";
        assert_eq!(sniff(tiff, "DSC_1.NEF").unwrap().ext, "nef");
        assert_eq!(sniff(tiff, "scan.tif").unwrap().ext, "tiff");
    }

    #[test]
    fn lies_and_empty_files_are_not_media() {
        let err = sniff(b"hello, this is text\n", "holiday.jpg").unwrap_err();
        assert!(err.contains("named .jpg but"), "{err}");
        assert!(sniff(b"", "x.jpg").unwrap_err().contains("empty"));
        assert!(sniff(b"%PDF-1.7", "taxes.pdf").is_err());
        assert_eq!(
            sniff(b"<?xml version", "IMG_1.AAE").unwrap().kind,
            MediaKind::Sidecar
        );
    }

    #[test]
    fn extensions() {
        assert_eq!(extension_of("a.b.JPG"), "jpg");
        assert_eq!(extension_of(".hidden"), "");
        assert_eq!(normalise_extension("JPEG"), "jpg");
        assert_eq!(normalise_extension("HEIF"), "heic");
    }
}
