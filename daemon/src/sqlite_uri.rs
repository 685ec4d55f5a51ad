//! SQLite URIs for files opened with special parameters (read-only,
//! `readonly_shm`, `immutable`): used for Photos libraries and catalogs alike.

use std::path::Path;

/// Escapes `path` for an SQLite URI: the characters that have a meaning
/// there, and every byte outside printable ASCII (SQLite decodes `%HH` back
/// to the same bytes, so any path the OS accepts works).
pub(crate) fn escape(path: &Path) -> String {
    use std::os::unix::ffi::OsStrExt;
    let mut out = String::new();
    for &b in path.as_os_str().as_bytes() {
        match b {
            b'%' | b'?' | b'#' => out.push_str(&format!("%{b:02x}")),
            0x20..=0x7e => out.push(b as char),
            _ => out.push_str(&format!("%{b:02x}")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_query_fragment_percent_and_non_ascii_bytes() {
        assert_eq!(
            escape(Path::new("/a b/100% ?#.photoslibrary")),
            "/a b/100%25 %3f%23.photoslibrary"
        );
        assert_eq!(escape(Path::new("/Fotos/Ñ")), "/Fotos/%c3%91");
    }
}
