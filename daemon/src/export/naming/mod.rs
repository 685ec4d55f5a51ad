//! File and folder names of the export: where an asset goes and what its
//! files are called.
//!
//! Every name here comes, one way or another, from the library (an original
//! filename, an album title), and a library is not trusted: a name may try to
//! leave the destination (`../`, `/etc/passwd`), carry NUL or control
//! characters, be illegal on exFAT or FAT32 (`: ? * " < > | \`, a trailing dot
//! or space), be a Windows device name, or be longer than any filesystem
//! takes. So every component is passed through [`sanitize_component`] before
//! it becomes part of a path, and the result is always one legal, relative
//! component. The rules are pure and deterministic: the same library name
//! gives the same file name on every run and on every machine.
//!
//! Two assets wanting one name in one folder are told apart by
//! [`FolderNames`], which compares names the way a case-insensitive,
//! normalisation-insensitive filesystem (APFS, HFS+, exFAT) does, so one file
//! can never overwrite another there.
//!
//! Everything is pure: no function here touches the filesystem.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

use chrono::{DateTime, Datelike, FixedOffset};
use unicode_normalization::char::canonical_combining_class;
use unicode_normalization::UnicodeNormalization;

/// The longest file-name component written, in UTF-8 bytes: the limit of
/// ext4 and APFS. (exFAT and HFS+ count UTF-16 units, see
/// [`sanitize_component`].)
pub const MAX_NAME_BYTES: usize = 255;

/// The longest text after a name's last dot still taken as its extension.
/// Longer "extensions" (`IMG 1.copy of the picture my aunt sent`) are part of
/// the stem, so a truncation never has to keep them and the suffixes of an
/// asset's files stay short.
pub const MAX_EXTENSION_BYTES: usize = 16;

/// The folder of an asset without a capture time.
pub const UNDATED: &str = "undated";

/// What `{album}` becomes for an asset in no album.
pub const NO_ALBUM: &str = "no-album";

/// The marker the export puts between a stem and an edited render's
/// extension (`IMG_0001_edited.jpg`). [`FolderNames`] keeps stems `S` and
/// `S_edited` apart, or the edited render of one asset would be the original
/// of the other.
pub const EDITED_MARKER: &str = "_edited";

/// Characters replaced in every component: the path separators and what
/// exFAT, FAT32 and NTFS refuse (HFS+ shows `:` as `/`).
const FORBIDDEN: &[char] = &['/', '\\', ':', '*', '?', '"', '<', '>', '|'];

/// Windows device names: a file called `CON.jpg` cannot be opened on Windows,
/// where an exFAT backup drive may well be read.
const RESERVED: &[&str] = &[
    "CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$", "COM0", "COM1", "COM2", "COM3", "COM4",
    "COM5", "COM6", "COM7", "COM8", "COM9", "COM¹", "COM²", "COM³", "LPT0", "LPT1", "LPT2", "LPT3",
    "LPT4", "LPT5", "LPT6", "LPT7", "LPT8", "LPT9", "LPT¹", "LPT²", "LPT³",
];

/// Stems are never shortened below this many bytes, however long the
/// caller says the suffix is: room for a word and the longest " (n)".
const MIN_STEM_BUDGET: usize = 32;

// ---------------------------------------------------------------------------
// Components
// ---------------------------------------------------------------------------

/// Makes one file-name component legal everywhere we write (exFAT, FAT32,
/// HFS+, APFS, ext4, and readable on Windows), deterministically:
///
/// - NFC-normalises first: macOS hands out decomposed names, other sources
///   composed ones; one form everywhere means one spelling of one name.
/// - Replaces `/ \ : * ? " < > |` and control characters (NUL, C0, DEL, C1)
///   with `_`. Other format characters (such as U+202E, the right-to-left
///   override) are legal on every filesystem and kept.
/// - Replaces a leading `.` with `_`: a dot file is hidden in Finder, and
///   `._name` is where macOS keeps the AppleDouble companion of `name` on
///   exFAT, so a photo called `._IMG.jpg` would be overwritten by macOS
///   itself. This also makes `.` and `..` harmless.
/// - Removes trailing dots and spaces (Windows and exFAT drop or refuse them).
/// - Maps an empty result to `_`.
/// - Appends `_` to a Windows device name (`CON`, `PRN`, `AUX`, `NUL`,
///   `COM0`–`COM9`, `LPT0`–`LPT9`, ...), also before an extension: `CON.jpg`
///   becomes `CON_.jpg`.
/// - Shortens the name to [`MAX_NAME_BYTES`] UTF-8 bytes, and to as many
///   UTF-16 units once decomposed (HFS+ stores names that way), on a
///   character boundary that does not split a letter from its accents,
///   keeping a short extension.
///
/// The result is never empty, never `.` or `..`, holds no separator, and
/// `sanitize_component(sanitize_component(x)) == sanitize_component(x)`.
pub fn sanitize_component(name: &str) -> String {
    let mut s: String = name
        .nfc()
        .map(|c| if is_forbidden(c) { '_' } else { c })
        .collect();
    if s.starts_with('.') {
        s.replace_range(..1, "_");
    }
    let mut s = finish(truncate_keep_ext(&s, MAX_NAME_BYTES).into_owned());
    if let Some(at) = reserved_base_end(&s) {
        s.insert(at, '_');
        // A name of (almost) full length can have grown past the limit; its
        // first few bytes, and so the fix, survive the cut.
        s = finish(truncate_keep_ext(&s, MAX_NAME_BYTES).into_owned());
    }
    s
}

/// Splits an original filename into a stem and an extension (without the
/// dot, possibly empty), after sanitising it with [`sanitize_component`].
///
/// The extension is what follows the last dot when that is 1 to
/// [`MAX_EXTENSION_BYTES`] bytes of ASCII letters, digits, `_` or `-`;
/// otherwise the whole name is the stem. The stem is itself a legal
/// component (no trailing dot or space, not a device name, never empty), so
/// `format!("{stem}.{ext}")` is legal too. The extension keeps its case: it
/// is the user's file.
pub fn split_name(original_filename: &str) -> (String, String) {
    let name = sanitize_component(original_filename);
    match split_ext(&name) {
        Some((stem, ext)) => (sanitize_component(stem), ext.to_owned()),
        None => (name, String::new()),
    }
}

/// The key two names are compared by: equal keys mean one file on a
/// case-insensitive or normalisation-insensitive filesystem.
///
/// It is the NFC form, case-folded by upper- then lower-casing (so that `ß`
/// and `SS` meet, as with APFS's full case folding), without the characters
/// HFS+ ignores when comparing (zero-width joiners, bidirectional marks,
/// U+FEFF). It errs on the side of calling names equal: that costs a
/// ` (1)`, the opposite would cost a file.
///
/// The engine should also key its per-folder [`FolderNames`] by this, since
/// `Trip/` and `trip/` are one folder on such a filesystem.
pub fn fold_key(name: &str) -> String {
    let folded: String = name
        .nfc()
        .filter(|&c| !is_hfs_ignorable(c))
        .flat_map(char::to_uppercase)
        .flat_map(char::to_lowercase)
        .collect();
    folded.nfc().collect()
}

fn is_forbidden(c: char) -> bool {
    c.is_control() || FORBIDDEN.contains(&c)
}

/// Code points HFS+ skips when it compares names (TN1150).
fn is_hfs_ignorable(c: char) -> bool {
    matches!(c, '\u{200C}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{206A}'..='\u{206F}' | '\u{FEFF}')
}

/// Strips trailing dots and spaces; an empty result becomes `_`.
fn finish(mut s: String) -> String {
    let kept = s.trim_end_matches(['.', ' ']).len();
    s.truncate(kept);
    if s.is_empty() {
        s.push('_');
    }
    s
}

/// Where to put the `_` when `s` is a Windows device name, alone or before
/// an extension: the end of the device name.
fn reserved_base_end(s: &str) -> Option<usize> {
    let base = s.split('.').next().unwrap_or(s).trim_end_matches(' ');
    RESERVED
        .iter()
        .any(|r| r.eq_ignore_ascii_case(base))
        .then_some(base.len())
}

/// The name's extension, when it has one in the sense of [`split_name`].
fn split_ext(name: &str) -> Option<(&str, &str)> {
    let (stem, ext) = name.rsplit_once('.')?;
    let is_ext = !stem.is_empty()
        && (1..=MAX_EXTENSION_BYTES).contains(&ext.len())
        && ext
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    is_ext.then_some((stem, ext))
}

/// What a character costs against the limit: its UTF-8 bytes (ext4, APFS),
/// and its UTF-16 units once decomposed (HFS+ stores NFD in UTF-16, and
/// `ᾂ` takes 3 bytes but 4 units). Decomposition is character by
/// character, so costs add up.
fn cost(c: char) -> (usize, usize) {
    let units = if c.is_ascii() {
        1
    } else {
        std::iter::once(c).nfd().map(char::len_utf16).sum()
    };
    (c.len_utf8(), units)
}

fn fits(s: &str, limit: usize) -> bool {
    let (bytes, units) = s
        .chars()
        .map(cost)
        .fold((0, 0), |(b, u), (cb, cu)| (b + cb, u + cu));
    bytes <= limit && units <= limit
}

/// The longest prefix of `s` within `limit` (see [`cost`]) that does not end
/// between a character and its combining marks (unless nothing else fits).
fn truncate(s: &str, limit: usize) -> &str {
    let (mut bytes, mut units) = (0, 0);
    let mut end = s.len();
    for (i, c) in s.char_indices() {
        let (cb, cu) = cost(c);
        if bytes + cb > limit || units + cu > limit {
            end = i;
            break;
        }
        bytes += cb;
        units += cu;
    }
    let mut cut = end;
    while let Some(c) = s[cut..].chars().next() {
        if canonical_combining_class(c) == 0 {
            return &s[..cut];
        }
        match s[..cut].char_indices().next_back() {
            Some((i, _)) => cut = i,
            None => break,
        }
    }
    if cut == 0 && end > 0 {
        // Nothing but combining marks: cut through them.
        return &s[..end];
    }
    &s[..cut]
}

/// Shortens `s` to `limit`, keeping its extension (when it has one).
fn truncate_keep_ext(s: &str, limit: usize) -> std::borrow::Cow<'_, str> {
    if fits(s, limit) {
        return s.into();
    }
    match split_ext(s) {
        Some((stem, ext)) => format!("{}.{ext}", truncate(stem, limit - ext.len() - 1)).into(),
        None => truncate(s, limit).into(),
    }
}

// ---------------------------------------------------------------------------
// Names within a folder
// ---------------------------------------------------------------------------

/// Assigns the stems of one folder: every asset gets a stem no other asset
/// of the folder has, compared by [`fold_key`].
///
/// Stability is the engine's half of the contract: it records each stem it
/// is given in the catalog and passes the folder's recorded stems to
/// [`FolderNames::new`] on every later run, so a file once written keeps its
/// path. Determinism is the caller's other half: new assets must be claimed
/// in a deterministic order (for example by capture time, then uuid), since
/// the first to ask for `IMG_0001` gets it and the next gets `IMG_0001 (1)`.
#[derive(Debug, Clone, Default)]
pub struct FolderNames {
    /// [`fold_key`]s of every stem taken.
    taken: HashSet<String>,
    /// For a sanitised wanted stem and a stem budget, the counter to try
    /// next: every lower one was taken when last tried, and taken names
    /// stay taken, so a folder of a thousand `image.png` costs a thousand
    /// tries, not half a million.
    next: HashMap<(String, usize), u64>,
}

impl FolderNames {
    /// Starts from the stems already taken in the folder (from the catalog of
    /// earlier runs). They are never handed out again, whatever their form.
    pub fn new(taken: impl IntoIterator<Item = String>) -> Self {
        FolderNames {
            taken: taken.into_iter().map(|s| fold_key(&s)).collect(),
            next: HashMap::new(),
        }
    }

    /// Claims a stem for `wanted` (normally [`split_name`]'s stem): `wanted`
    /// itself when free, else `wanted (1)`, `wanted (2)`, ... — the first one
    /// free.
    ///
    /// `max_suffix_len` is the length in bytes of the longest text any of the
    /// asset's files puts after the stem (`.jpg`, `_edited.heic`, `.xmp`).
    /// The stem is shortened so that stem, counter and that suffix fit in
    /// [`MAX_NAME_BYTES`]: the counter is never cut off, which would make
    /// two names one again. (The stem is never shortened below 32 bytes, so
    /// suffixes up to 223 bytes are honoured. The stem also fits HFS+'s
    /// count of decomposed UTF-16 units; an ASCII suffix counts the same
    /// there.)
    ///
    /// A stem is free when no taken stem has its [`fold_key`], and neither it
    /// nor a taken stem is the other plus [`EDITED_MARKER`]: `IMG_edited.jpg`
    /// is both the original of an asset `IMG_edited` and the edit of `IMG`.
    pub fn claim(&mut self, wanted: &str, max_suffix_len: usize) -> String {
        let base = sanitize_component(wanted);
        let budget = MAX_NAME_BYTES
            .saturating_sub(max_suffix_len)
            .max(MIN_STEM_BUDGET);
        let next = self.next.entry((base.clone(), budget)).or_insert(0);
        for n in *next.. {
            let counter = if n == 0 {
                String::new()
            } else {
                format!(" ({n})")
            };
            let mut stem = finish(truncate(&base, budget - counter.len()).to_owned());
            if let Some(at) = reserved_base_end(&stem) {
                stem.insert(at, '_');
            }
            stem.push_str(&counter);
            let key = fold_key(&stem);
            if is_free(&self.taken, &key) {
                self.taken.insert(key);
                *next = n + 1;
                return stem;
            }
        }
        unreachable!("a folder holds fewer than 2^64 names")
    }
}

/// Whether a stem with this [`fold_key`] may be handed out (see
/// [`FolderNames::claim`]).
fn is_free(taken: &HashSet<String>, key: &str) -> bool {
    let unedited_taken = key
        .strip_suffix(EDITED_MARKER)
        .is_some_and(|k| taken.contains(k));
    !taken.contains(key) && !unedited_taken && !taken.contains(&format!("{key}{EDITED_MARKER}"))
}

// ---------------------------------------------------------------------------
// Folder template
// ---------------------------------------------------------------------------

/// A value a template can put into a folder name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Placeholder {
    Year,
    Month,
    Day,
    Album,
}

impl Placeholder {
    const ALL: [Placeholder; 4] = [
        Placeholder::Year,
        Placeholder::Month,
        Placeholder::Day,
        Placeholder::Album,
    ];

    fn name(self) -> &'static str {
        match self {
            Placeholder::Year => "year",
            Placeholder::Month => "month",
            Placeholder::Day => "day",
            Placeholder::Album => "album",
        }
    }

    fn is_date(self) -> bool {
        self != Placeholder::Album
    }
}

/// A piece of a folder-name component.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Piece {
    Literal(String),
    Value(Placeholder),
}

/// Why a folder template was refused. Each message quotes the template and
/// says what would be accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    /// A `{name}` that is not one of the placeholders.
    #[error("unknown placeholder {{{name}}} in folder template \"{template}\": valid placeholders are {valid}")]
    UnknownPlaceholder {
        /// The template as given.
        template: String,
        /// The name between the braces.
        name: String,
        /// The valid placeholders, listed for the message.
        valid: String,
    },
    /// A `{` without its `}`.
    #[error("unclosed '{{' in folder template \"{template}\": write placeholders as {valid}")]
    Unclosed {
        /// The template as given.
        template: String,
        /// The valid placeholders, listed for the message.
        valid: String,
    },
    /// A `}` without a `{` before it.
    #[error("unmatched '}}' in folder template \"{template}\": write placeholders as {valid}")]
    UnmatchedClose {
        /// The template as given.
        template: String,
        /// The valid placeholders, listed for the message.
        valid: String,
    },
    /// The template starts with `/`.
    #[error("folder template \"{template}\" is absolute: it must be relative to the destination, e.g. \"{{year}}/{{year}}-{{month}}/\"")]
    Absolute {
        /// The template as given.
        template: String,
    },
    /// A `.` or `..` folder.
    #[error("folder template \"{template}\" has a '{component}' folder: every folder must be a name, e.g. \"{{year}}/{{year}}-{{month}}/\"")]
    DotComponent {
        /// The template as given.
        template: String,
        /// The offending component.
        component: String,
    },
    /// Literal text that no exFAT drive accepts.
    #[error("folder template \"{template}\" contains {character:?}, which exFAT drives do not accept: leave out \\ : * ? \" < > | and control characters")]
    ForbiddenCharacter {
        /// The template as given.
        template: String,
        /// The first such character.
        character: char,
    },
}

/// The placeholders, as a message lists them.
fn valid_placeholders() -> String {
    Placeholder::ALL
        .iter()
        .map(|p| format!("{{{}}}", p.name()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A parsed folder template such as `{year}/{year}-{month}/`: where, under
/// the export root, an asset's files go.
///
/// Placeholders: `{year}` (four digits), `{month}` and `{day}` (two digits),
/// all from the capture time in the photo's own UTC offset (a photo taken at
/// 23:30 on New Year's Eve in New York belongs to the old year, whatever UTC
/// says), and `{album}` (the asset's first album's title, or `no-album`).
/// Text around placeholders is kept; `/` separates folders. Its display form
/// is canonical (one `/` between folders, one at the end) and parses back to
/// the same template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FolderTemplate {
    /// Folders, outermost first; none empty.
    components: Vec<Vec<Piece>>,
}

impl FolderTemplate {
    /// The default layout's text.
    pub const DEFAULT: &'static str = "{year}/{year}-{month}/";

    /// Parses a template. Refuses unknown placeholders, unbalanced braces, a
    /// leading `/`, `.` and `..` folders, and literal characters exFAT does
    /// not accept, naming the problem (and the valid placeholders). Empty
    /// folders (`a//b`, a trailing `/`) are ignored; an empty template puts
    /// every file directly in the export root.
    pub fn parse(template: &str) -> Result<Self, TemplateError> {
        if template.starts_with('/') {
            return Err(TemplateError::Absolute {
                template: template.into(),
            });
        }
        let mut components = Vec::new();
        for text in template.split('/').filter(|c| !c.is_empty()) {
            if text == "." || text == ".." {
                return Err(TemplateError::DotComponent {
                    template: template.into(),
                    component: text.into(),
                });
            }
            components.push(parse_component(template, text)?);
        }
        Ok(FolderTemplate { components })
    }

    /// The folder, relative to the export root, for an asset captured at
    /// `created` (in the photo's own offset) whose first album is
    /// `first_album`.
    ///
    /// Without a capture time, each run of folders that use a date
    /// placeholder becomes a single `undated` folder (the default gives
    /// `undated`, `{album}/{year}/{month}` gives `Trip/undated`). Each folder
    /// name is passed through [`sanitize_component`], so the result is
    /// relative, has no `..`, no empty and no illegal component, whatever
    /// the album is called.
    pub fn expand(
        &self,
        created: Option<DateTime<FixedOffset>>,
        first_album: Option<&str>,
    ) -> PathBuf {
        let album = first_album
            .filter(|a| !a.trim().is_empty())
            .unwrap_or(NO_ALBUM);
        let mut path = PathBuf::new();
        let mut last_undated = false;
        for pieces in &self.components {
            let dated = pieces
                .iter()
                .any(|p| matches!(p, Piece::Value(v) if v.is_date()));
            let name = match created {
                None if dated => {
                    if last_undated {
                        continue;
                    }
                    last_undated = true;
                    UNDATED.to_owned()
                }
                _ => {
                    last_undated = false;
                    pieces
                        .iter()
                        .map(|p| expand_piece(p, created, album))
                        .collect()
                }
            };
            path.push(sanitize_component(&name));
        }
        path
    }
}

fn expand_piece(piece: &Piece, created: Option<DateTime<FixedOffset>>, album: &str) -> String {
    match (piece, created) {
        (Piece::Literal(text), _) => text.clone(),
        (Piece::Value(Placeholder::Album), _) => album.to_owned(),
        (Piece::Value(Placeholder::Year), Some(t)) => format!("{:04}", t.year()),
        (Piece::Value(Placeholder::Month), Some(t)) => format!("{:02}", t.month()),
        (Piece::Value(Placeholder::Day), Some(t)) => format!("{:02}", t.day()),
        // Not reached: expand() names undated date folders itself.
        (Piece::Value(_), None) => UNDATED.to_owned(),
    }
}

fn parse_component(template: &str, text: &str) -> Result<Vec<Piece>, TemplateError> {
    let mut pieces = Vec::new();
    let mut rest = text;
    while !rest.is_empty() {
        let open = rest.find('{');
        let close = rest.find('}');
        match (open, close) {
            (None, Some(_)) => {
                return Err(TemplateError::UnmatchedClose {
                    template: template.into(),
                    valid: valid_placeholders(),
                })
            }
            (Some(o), Some(c)) if c < o => {
                return Err(TemplateError::UnmatchedClose {
                    template: template.into(),
                    valid: valid_placeholders(),
                })
            }
            (Some(o), _) => {
                push_literal(template, &mut pieces, &rest[..o])?;
                let Some(len) = rest[o + 1..].find('}') else {
                    return Err(TemplateError::Unclosed {
                        template: template.into(),
                        valid: valid_placeholders(),
                    });
                };
                let name = &rest[o + 1..o + 1 + len];
                let Some(p) = Placeholder::ALL.into_iter().find(|p| p.name() == name) else {
                    return Err(TemplateError::UnknownPlaceholder {
                        template: template.into(),
                        name: name.into(),
                        valid: valid_placeholders(),
                    });
                };
                pieces.push(Piece::Value(p));
                rest = &rest[o + len + 2..];
            }
            (None, _) => {
                push_literal(template, &mut pieces, rest)?;
                rest = "";
            }
        }
    }
    Ok(pieces)
}

fn push_literal(template: &str, pieces: &mut Vec<Piece>, text: &str) -> Result<(), TemplateError> {
    if let Some(character) = text.chars().find(|&c| is_forbidden(c)) {
        return Err(TemplateError::ForbiddenCharacter {
            template: template.into(),
            character,
        });
    }
    if !text.is_empty() {
        pieces.push(Piece::Literal(text.into()));
    }
    Ok(())
}

impl Default for FolderTemplate {
    /// `{year}/{year}-{month}/`.
    fn default() -> Self {
        // Built directly rather than parsed, so it cannot fail; a test
        // checks that it equals `parse(DEFAULT)`.
        FolderTemplate {
            components: vec![
                vec![Piece::Value(Placeholder::Year)],
                vec![
                    Piece::Value(Placeholder::Year),
                    Piece::Literal("-".into()),
                    Piece::Value(Placeholder::Month),
                ],
            ],
        }
    }
}

impl FromStr for FolderTemplate {
    type Err = TemplateError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        FolderTemplate::parse(s)
    }
}

impl fmt::Display for FolderTemplate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for pieces in &self.components {
            for piece in pieces {
                match piece {
                    Piece::Literal(text) => f.write_str(text)?,
                    Piece::Value(p) => write!(f, "{{{}}}", p.name())?,
                }
            }
            f.write_str("/")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
