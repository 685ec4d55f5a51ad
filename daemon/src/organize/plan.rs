//! From source files to a plan: what each file is, where it goes, what it
//! is called.
//!
//! Files that belong together travel together as a [`Group`]: a live
//! photo's still and video, a RAW+JPEG pair, a photo and its `.aae` edit or
//! `.xmp` sidecar. In a folder they are the files of one directory sharing a
//! stem (`IMG_1234.HEIC`, `IMG_1234.MOV`, `IMG_1234.AAE`; iOS names an
//! original's edit `IMG_O1234.AAE`); in a library, the resources of one
//! asset. A group shares one name stem, from the capture time of its main
//! file.
//!
//! Names are `YYYY.MM.DD.HH.MM.SS` plus the member's extension. Groups are
//! named in order of capture time, then of where they came from, and a stem
//! already taken in the category folder (by this run, an earlier run, or a
//! file already there) moves on by one second until free: the same sources
//! always get the same names.

use std::collections::{BTreeMap, HashSet};
use std::path::PathBuf;
use std::time::SystemTime;

use chrono::Duration;

use crate::media::{
    capture, classify, facts, sniff, CaptureTime, Category, Classification, FileFacts, Format,
    MediaKind, Zone,
};

/// The most of one image read into memory to look at its metadata.
const MAX_IMAGE_BYTES: u64 = 512 << 20;

/// How many bytes name a format.
const HEAD_BYTES: usize = 64 << 10;

/// What a member of a group is to its main file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// The photo or video itself.
    Main,
    /// The video of a live photo.
    LiveVideo,
    /// The RAW of a RAW+JPEG pair.
    Raw,
    /// An `.aae` edit sidecar.
    Aae,
    /// An `.xmp` metadata sidecar.
    Xmp,
}

/// One source file in a group.
#[derive(Debug, Clone)]
pub struct Member {
    /// Where to read it.
    pub path: PathBuf,
    /// How the report names it (path relative to the source folder, or the
    /// library's original file name and uuid).
    pub display: String,
    /// Its catalog key.
    pub key: String,
    /// Size when found.
    pub size: u64,
    /// Modification time when found.
    pub modified: SystemTime,
    /// What the bytes are, or why they are not media.
    pub format: Result<Format, String>,
    /// Its part in the group.
    pub role: Role,
    /// What the report should say about this file.
    pub notes: Vec<String>,
}

impl Member {
    /// The extension its organized copy gets.
    pub fn ext(&self, converted: bool) -> String {
        if converted {
            return "jpg".into();
        }
        match &self.format {
            Ok(f) => f.ext.clone(),
            Err(_) => {
                let name = self
                    .path
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default();
                let ext = sniff::normalise_extension(&sniff::extension_of(&name));
                if ext.len() <= 8 && ext.bytes().all(|b| b.is_ascii_alphanumeric()) {
                    ext
                } else {
                    String::new()
                }
            }
        }
    }

    /// Whether this member is a HEIC.
    pub fn is_heic(&self) -> bool {
        self.format.as_ref().is_ok_and(Format::is_heic)
    }
}

/// Files that travel together, with one category and one name stem.
#[derive(Debug, Clone)]
pub struct Group {
    /// The main file first, then its companions.
    pub members: Vec<Member>,
    /// Where the group goes and why.
    pub class: Classification,
    /// When it was taken.
    pub time: CaptureTime,
    /// The stem given to every member's name (set by [`assign_stems`]).
    pub stem: String,
    /// The main file is a HEIC to turn into a JPEG.
    pub convert: bool,
}

/// One source file looked at: format, facts, category, capture time.
pub struct Looked {
    /// The format or why it is not media.
    pub format: Result<Format, String>,
    /// Its metadata.
    pub facts: FileFacts,
}

/// Reads what a file is and, when `want_facts`, what it says about itself.
/// Never fails: a file that cannot be read is "not media" with the reason.
pub fn look(path: &std::path::Path, name: &str, size: u64, want_facts: bool) -> Looked {
    let head = match read_head(path, HEAD_BYTES) {
        Ok(h) => h,
        Err(e) => {
            return Looked {
                format: Err(format!("cannot be read ({e})")),
                facts: FileFacts::default(),
            }
        }
    };
    let format = sniff::sniff(&head, name);
    if !want_facts {
        return Looked {
            format,
            facts: FileFacts::default(),
        };
    }
    let facts = match &format {
        Ok(f) if f.kind == MediaKind::Image => {
            let bytes = if size <= MAX_IMAGE_BYTES {
                std::fs::read(path).ok()
            } else {
                Some(head)
            };
            facts::read(path, bytes.as_deref(), f)
        }
        Ok(f) => facts::read(path, None, f),
        Err(_) => FileFacts::default(),
    };
    Looked { format, facts }
}

fn read_head(path: &std::path::Path, n: usize) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    let mut buf = Vec::with_capacity(n);
    std::fs::File::open(path)?
        .take(n as u64)
        .read_to_end(&mut buf)?;
    Ok(buf)
}

/// A source file of a folder, looked at.
pub struct FolderFile {
    /// The member it becomes (role set when grouped).
    pub member: Member,
    /// Its facts.
    pub facts: FileFacts,
}

/// The grouping key of a file: its folder and its stem, case-folded; an
/// `IMG_O1234.AAE` edit belongs to `IMG_1234`.
fn group_key(member: &Member) -> (PathBuf, String) {
    let dir = member.path.parent().map(PathBuf::from).unwrap_or_default();
    let name = member
        .path
        .file_name()
        .map(|n| n.to_string_lossy().to_lowercase())
        .unwrap_or_default();
    let mut stem = name
        .rsplit_once('.')
        .map_or(name.as_str(), |(s, _)| s)
        .to_string();
    let is_aae = matches!(&member.format, Ok(f) if f.ext == "aae");
    if is_aae && stem.starts_with("img_o") && stem[5..].bytes().all(|b| b.is_ascii_digit()) {
        stem = format!("img_{}", &stem[5..]);
    }
    (dir, stem)
}

/// Groups a folder's files and decides each group's category and time.
pub fn group_folder_files(files: Vec<FolderFile>, zone: Zone) -> Vec<Group> {
    let mut buckets: BTreeMap<(PathBuf, String), Vec<FolderFile>> = BTreeMap::new();
    for f in files {
        buckets.entry(group_key(&f.member)).or_default().push(f);
    }
    let mut groups = Vec::new();
    for (_, mut files) in buckets {
        files.sort_by(|a, b| a.member.display.cmp(&b.member.display));
        let kind = |f: &FolderFile| f.member.format.as_ref().map(|f| f.kind).ok();
        let is_raw = |f: &FolderFile| matches!(&f.member.format, Ok(fm) if fm.kind == MediaKind::Image && !matches!(fm.ext.as_str(), "jpg" | "heic" | "png" | "gif" | "webp" | "avif" | "tiff" | "bmp" | "jxl"));
        // The main file: a still that is not RAW, else a RAW, else a video.
        let main = files
            .iter()
            .position(|f| kind(f) == Some(MediaKind::Image) && !is_raw(f))
            .or_else(|| files.iter().position(|f| kind(f) == Some(MediaKind::Image)))
            .or_else(|| files.iter().position(|f| kind(f) == Some(MediaKind::Video)));
        let Some(main) = main else {
            // No media: every file on its own (unknown, or orphan sidecars).
            for f in files {
                groups.push(single(f, zone));
            }
            continue;
        };
        let main_file = files.remove(main);
        let main_is_image = kind(&main_file) == Some(MediaKind::Image);
        let mut group = single(main_file, zone);
        let mut has_live = false;
        let mut has_raw = false;
        for f in files {
            let role = match kind(&f) {
                Some(MediaKind::Video) if main_is_image && !has_live => {
                    has_live = true;
                    Some(Role::LiveVideo)
                }
                Some(MediaKind::Image) if main_is_image && is_raw(&f) && !has_raw => {
                    has_raw = true;
                    Some(Role::Raw)
                }
                Some(MediaKind::Sidecar) => Some(match &f.member.format {
                    Ok(fm) if fm.ext == "aae" => Role::Aae,
                    _ => Role::Xmp,
                }),
                _ => None,
            };
            match role {
                Some(role) => {
                    let mut m = f.member;
                    m.role = role;
                    group.members.push(m);
                }
                None => groups.push(single(f, zone)),
            }
        }
        groups.push(group);
    }
    groups
}

/// A group of one file, classified from its own facts.
fn single(f: FolderFile, zone: Zone) -> Group {
    let name = f
        .member
        .path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let class = match &f.member.format {
        Ok(fm) if fm.kind == MediaKind::Sidecar => Classification {
            category: Category::Unknown,
            reason: "a sidecar with no photo or video of the same name beside it".into(),
        },
        Ok(fm) => classify::classify_file(&name, fm.kind, &f.facts),
        Err(why) => Classification {
            category: Category::Unknown,
            reason: why.clone(),
        },
    };
    let time = capture::from_facts(&f.facts, f.member.modified, zone);
    let mut member = f.member;
    member.role = Role::Main;
    member.notes.extend(f.facts.problems.iter().cloned());
    Group {
        members: vec![member],
        class,
        time,
        stem: String::new(),
        convert: false,
    }
}

/// The stem of a capture time.
pub fn stem_of(t: &chrono::NaiveDateTime) -> String {
    t.format("%Y.%m.%d.%H.%M.%S").to_string()
}

/// Gives every group a free stem in its category folder, in a
/// deterministic order; `taken` holds `category/stem` (lower case) of what
/// is already there and receives the new ones.
pub fn assign_stems(groups: &mut [Group], taken: &mut HashSet<String>) {
    groups.sort_by(|a, b| {
        (a.time.local, a.time.subsec_nanos, &a.members[0].display).cmp(&(
            b.time.local,
            b.time.subsec_nanos,
            &b.members[0].display,
        ))
    });
    for g in groups.iter_mut() {
        let dir = g.class.category.dir_name();
        let mut t = g.time.local;
        let mut bumped = 0;
        loop {
            let stem = stem_of(&t);
            if taken.insert(format!("{dir}/{stem}").to_lowercase()) {
                g.stem = stem;
                break;
            }
            bumped += 1;
            t += Duration::seconds(1);
        }
        if bumped > 0 {
            g.members[0].notes.push(format!(
                "{bumped} second(s) added to the name: another file of the same second came first"
            ));
        }
    }
}

/// The path of a member's organized file, relative to `Organized/`.
pub fn relative_name(group: &Group, member: &Member, converted: bool) -> String {
    let ext = member.ext(converted);
    let dir = group.class.category.dir_name();
    if ext.is_empty() {
        format!("{dir}/{}", group.stem)
    } else {
        format!("{dir}/{}.{ext}", group.stem)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn member(path: &str, format: Result<Format, String>) -> Member {
        Member {
            path: PathBuf::from(path),
            display: path.trim_start_matches("/src/").to_string(),
            key: format!("folder:{path}"),
            size: 1,
            modified: SystemTime::UNIX_EPOCH,
            format,
            role: Role::Main,
            notes: vec![],
        }
    }

    fn fmt(kind: MediaKind, ext: &str) -> Result<Format, String> {
        Ok(Format {
            kind,
            ext: ext.into(),
            note: None,
        })
    }

    fn file(path: &str, format: Result<Format, String>, time: Option<&str>) -> FolderFile {
        let facts = FileFacts {
            exif_time: time.map(|t| facts::ExifTime {
                local: chrono::NaiveDateTime::parse_from_str(t, "%Y-%m-%d %H:%M:%S").unwrap(),
                offset: None,
                subsec_nanos: 0,
            }),
            ..Default::default()
        };
        FolderFile {
            member: member(path, format),
            facts,
        }
    }

    fn zone() -> Zone {
        Zone::parse("UTC").unwrap()
    }

    #[test]
    fn live_photos_raw_pairs_and_sidecars_group_by_stem() {
        let t = Some("2024-05-06 07:08:09");
        let files = vec![
            file("/src/IMG_1.HEIC", fmt(MediaKind::Image, "heic"), t),
            file("/src/IMG_1.MOV", fmt(MediaKind::Video, "mov"), None),
            file("/src/IMG_O1.AAE", fmt(MediaKind::Sidecar, "aae"), None),
            file("/src/DSC_2.NEF", fmt(MediaKind::Image, "nef"), t),
            file("/src/DSC_2.JPG", fmt(MediaKind::Image, "jpg"), t),
            file("/src/notes.txt", Err("not media".into()), None),
            file("/src/lonely.aae", fmt(MediaKind::Sidecar, "aae"), None),
        ];
        let mut groups = group_folder_files(files, zone());
        assert_eq!(groups.len(), 4);
        let mut taken = HashSet::new();
        assign_stems(&mut groups, &mut taken);
        let find = |name: &str| {
            groups
                .iter()
                .find(|g| g.members[0].display == name)
                .unwrap()
        };
        let live = find("IMG_1.HEIC");
        let roles: Vec<_> = live.members.iter().map(|m| m.role).collect();
        assert_eq!(roles, vec![Role::Main, Role::LiveVideo, Role::Aae]);
        let pair = find("DSC_2.JPG");
        assert_eq!(pair.members[1].role, Role::Raw);
        assert_eq!(pair.stem, "2024.05.06.07.08.09");
        // Same second, same category: the later source ("IMG_1" after
        // "DSC_2") moves on a second.
        assert_eq!(live.stem, "2024.05.06.07.08.10");
        assert!(live.members[0].notes[0].contains("1 second"));
        assert_eq!(find("notes.txt").class.category, Category::Unknown);
        assert!(find("lonely.aae").class.reason.contains("sidecar"));
        assert_eq!(
            relative_name(live, &live.members[0], true),
            "photos/2024.05.06.07.08.10.jpg"
        );
        assert_eq!(
            relative_name(live, &live.members[1], false),
            "photos/2024.05.06.07.08.10.mov"
        );
    }

    #[test]
    fn stems_are_reproducible_whatever_the_input_order() {
        let t = Some("2020-01-01 00:00:00");
        let make = |order: &[&str]| {
            let files = order
                .iter()
                .map(|n| file(n, fmt(MediaKind::Image, "jpg"), t))
                .collect();
            let mut groups = group_folder_files(files, zone());
            assign_stems(&mut groups, &mut HashSet::new());
            let mut names: Vec<_> = groups
                .iter()
                .map(|g| (g.members[0].display.clone(), g.stem.clone()))
                .collect();
            names.sort();
            names
        };
        let a = make(&["/src/b.jpg", "/src/a.jpg", "/src/c.jpg"]);
        let b = make(&["/src/c.jpg", "/src/a.jpg", "/src/b.jpg"]);
        assert_eq!(a, b);
        assert_eq!(
            a[0],
            ("a.jpg".to_string(), "2020.01.01.00.00.00".to_string())
        );
        assert_eq!(a[2].1, "2020.01.01.00.00.02");
        // A stem taken by an earlier run is skipped.
        let mut taken: HashSet<String> = ["photos/2020.01.01.00.00.00".to_string()].into();
        let mut groups = group_folder_files(
            vec![file("/src/d.jpg", fmt(MediaKind::Image, "jpg"), t)],
            zone(),
        );
        assign_stems(&mut groups, &mut taken);
        assert_eq!(groups[0].stem, "2020.01.01.00.00.01");
    }
}
