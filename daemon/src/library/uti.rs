//! Compact type codes: from Photos 8 on, `ZINTERNALRESOURCE.ZCOMPACTUTI`
//! stores a small integer instead of pointing at a table of type
//! identifiers. Only the codes seen in real libraries are mapped (8 and 9
//! are the resource rows of a TIFF and a DNG original in Test-15.4.1,
//! whose asset rows name those types); an unknown code (11, the RAW of a
//! RAW+JPEG pair) leaves the type unknown, and the path rules find the file
//! in the folder's listing.

/// The uniform type identifier a compact code stands for, when known.
pub(crate) fn from_compact(code: i64) -> Option<&'static str> {
    Some(match code {
        1 => "public.jpeg",
        3 => "public.heic",
        6 => "public.png",
        8 => "public.tiff",
        9 => "com.adobe.raw-image",
        23 => "com.apple.quicktime-movie",
        37 => "com.apple.photos.apple-adjustment-envelope",
        _ => return None,
    })
}
