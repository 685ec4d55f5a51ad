//! Checks on names that come from the library's database.
//!
//! A damaged or hostile database could name `../../etc/passwd` as a file's
//! directory. The reader never turns such a name into a path: the resource
//! gets no path and the asset is marked with the problem, so nothing outside
//! the library is read and nothing is silently skipped either.

/// The longest file-name component any supported filesystem accepts.
pub(crate) const MAX_COMPONENT_BYTES: usize = 255;

/// Why a name from the database cannot be used as (part of) a path.
pub(crate) fn component_problem(name: &str) -> Option<&'static str> {
    if name.is_empty() {
        Some("is empty")
    } else if name == "." || name == ".." {
        Some("is a parent or current folder reference")
    } else if name.contains('/') {
        Some("contains a path separator")
    } else if name.contains('\0') {
        Some("contains a NUL character")
    } else if name.chars().any(char::is_control) {
        Some("contains control characters")
    } else if name.len() > MAX_COMPONENT_BYTES {
        Some("is longer than 255 bytes")
    } else {
        None
    }
}

/// Why a relative directory such as `A` or `2019/05` cannot be used.
pub(crate) fn relative_dir_problem(dir: &str) -> Option<&'static str> {
    if dir.starts_with('/') {
        return Some("is an absolute path");
    }
    dir.split('/').find_map(component_problem)
}

/// Why an absolute directory (of a referenced file) cannot be used.
pub(crate) fn absolute_dir_problem(dir: &str) -> Option<&'static str> {
    if !dir.starts_with('/') {
        return Some("is not an absolute path");
    }
    dir.trim_start_matches('/')
        .split('/')
        .filter(|c| !c.is_empty())
        .find_map(component_problem)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_ordinary_names() {
        assert_eq!(component_problem("IMG_0001.JPG"), None);
        assert_eq!(component_problem("Água [2020] é.jpg"), None);
        assert_eq!(relative_dir_problem("A"), None);
        assert_eq!(relative_dir_problem("2019/05"), None);
        assert_eq!(absolute_dir_problem("/Volumes/My Disk/Photos"), None);
    }

    #[test]
    fn refuses_traversal_and_hostile_bytes() {
        assert!(relative_dir_problem("../../etc").is_some());
        assert!(relative_dir_problem("/etc").is_some());
        assert!(relative_dir_problem("").is_some());
        assert!(component_problem("a/b").is_some());
        assert!(component_problem("a\0b").is_some());
        assert!(component_problem("a\nb").is_some());
        assert!(component_problem(&"x".repeat(400)).is_some());
        assert!(absolute_dir_problem("/Volumes/../etc").is_some());
        assert!(absolute_dir_problem("relative").is_some());
    }
}
