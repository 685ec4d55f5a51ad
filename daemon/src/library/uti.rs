//! Compact type codes: from Photos 8 on, `ZINTERNALRESOURCE.ZCOMPACTUTI`
//! stores a small integer instead of pointing at a table of type
//! identifiers. Only the codes seen in real libraries are mapped; an unknown
//! code leaves the type unknown and the path rules fall back to the disk.

/// The uniform type identifier a compact code stands for, when known.
pub(crate) fn from_compact(code: i64) -> Option<&'static str> {
    Some(match code {
        1 => "public.jpeg",
        3 => "public.heic",
        6 => "public.png",
        23 => "com.apple.quicktime-movie",
        37 => "com.apple.photos.apple-adjustment-envelope",
        _ => return None,
    })
}
