//! Which files an asset becomes in the export, named after one stem:
//!
//! | role | file |
//! | --- | --- |
//! | original | `<stem>.<original ext>` |
//! | edited render | `<stem>_edited.<ext>` |
//! | live-photo video | `<stem>.mov`, edited `<stem>_edited.mov` |
//! | RAW of a RAW+JPEG pair | `<stem>.<raw ext>` |
//! | imported AAE | `<stem>.aae` |
//! | Photos' edit record | `<stem>.aae` (or `<stem>_edited.aae` beside an imported one) |
//! | XMP sidecar | `<stem>.xmp` |
//!
//! Each file carries a *source key*: a digest of what it is made from (the
//! source's path and size as Photos records them, the edit's time, or the
//! sidecar's bytes). An unchanged key means an unchanged file, so nothing is
//! read to decide.

use std::path::{Path, PathBuf};

use crate::library::{Asset, ResourceRole};

use super::naming;

/// Where a planned file's content comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// A file of the library (absolute path).
    File(PathBuf),
    /// The asset's XMP sidecar, made again when written: holding 100,000
    /// sidecars in memory between planning and writing would cost more than
    /// making each twice.
    Sidecar,
}

/// One file the export should hold for an asset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedFile {
    /// Role name as recorded in the catalog.
    pub role: &'static str,
    /// File name within the asset's folder.
    pub name: String,
    /// Where the content comes from.
    pub source: Source,
    /// Size Photos records for the source, when known.
    pub size: Option<u64>,
    /// Digest of what the file is made from.
    pub source_key: String,
}

/// What the asset's files will be called, and which sources are missing.
#[derive(Debug, Clone, Default)]
pub struct AssetPlan {
    /// Files whose source is available.
    pub files: Vec<PlannedFile>,
    /// The original is not on disk (cloud-only, volume away, gone).
    pub original_missing: bool,
}

/// The catalog role names, in the order files are written.
pub fn role_name(role: ResourceRole) -> &'static str {
    match role {
        ResourceRole::Original => "original",
        ResourceRole::Edited => "edited",
        ResourceRole::LiveVideo => "live",
        ResourceRole::EditedLiveVideo => "edited_live",
        ResourceRole::Raw => "raw",
        ResourceRole::Aae => "aae",
        ResourceRole::Adjustments => "adjustments",
    }
}

/// The longest suffix (after the stem) any of the asset's files will use,
/// so a stem can be shortened enough for every name to fit 255 bytes.
pub fn longest_suffix(asset: &Asset) -> usize {
    asset
        .resources
        .iter()
        .map(|r| suffix(asset, r.role, r.path.as_deref()).len())
        .chain(std::iter::once(".xmp".len()))
        .max()
        .unwrap_or(0)
}

/// The part of a file name after the stem for a resource of `role`.
fn suffix(asset: &Asset, role: ResourceRole, path: Option<&Path>) -> String {
    let ext_of = |p: Option<&Path>| {
        p.and_then(|p| p.extension())
            .map(|e| naming::sanitize_component(&e.to_string_lossy()))
            .unwrap_or_default()
    };
    let dot = |e: String| {
        if e.is_empty() {
            String::new()
        } else {
            format!(".{e}")
        }
    };
    match role {
        ResourceRole::Original => dot(naming::split_name(&asset.original_filename).1),
        ResourceRole::Edited => format!("_edited{}", dot(ext_of(path))),
        ResourceRole::LiveVideo => ".mov".into(),
        ResourceRole::EditedLiveVideo => "_edited.mov".into(),
        ResourceRole::Raw => dot(ext_of(path)),
        ResourceRole::Aae => ".aae".into(),
        ResourceRole::Adjustments => {
            if asset.resource(ResourceRole::Aae).is_some() {
                "_edited.aae".into()
            } else {
                ".aae".into()
            }
        }
    }
}

/// Plans the files of `asset` under `stem`, for a library at `root`, with
/// its XMP sidecar when `sidecar` holds the sidecar's bytes.
pub fn plan_asset(asset: &Asset, root: &Path, stem: &str, sidecar: Option<&[u8]>) -> AssetPlan {
    let mut plan = AssetPlan {
        original_missing: asset.original_missing(),
        ..Default::default()
    };
    let mut roles: Vec<_> = asset.resources.iter().collect();
    roles.sort_by_key(|r| r.role);
    for r in roles {
        if !r.present {
            continue;
        }
        let Some(src) = r.absolute_path(root) else {
            continue;
        };
        let mut key = Key::new(role_name(r.role));
        key.str(&src.to_string_lossy());
        key.num(r.size);
        if matches!(
            r.role,
            ResourceRole::Edited | ResourceRole::EditedLiveVideo | ResourceRole::Adjustments
        ) {
            key.num(asset.edited_at.map(|t| t.timestamp_micros() as u64));
        }
        plan.files.push(PlannedFile {
            role: role_name(r.role),
            name: format!("{stem}{}", suffix(asset, r.role, r.path.as_deref())),
            source: Source::File(src),
            size: r.size,
            source_key: key.finish(),
        });
    }
    if let Some(bytes) = sidecar {
        let mut key = Key::new("sidecar");
        key.bytes(bytes);
        plan.files.push(PlannedFile {
            role: "sidecar",
            name: format!("{stem}.xmp"),
            size: Some(bytes.len() as u64),
            source: Source::Sidecar,
            source_key: key.finish(),
        });
    }
    plan
}

/// Length-prefixed fields digested into a short hex key.
struct Key(blake3::Hasher);

impl Key {
    fn new(role: &str) -> Self {
        let mut k = Key(blake3::Hasher::new());
        k.str(role);
        k
    }
    fn bytes(&mut self, b: &[u8]) {
        self.0.update(&(b.len() as u64).to_le_bytes());
        self.0.update(b);
    }
    fn str(&mut self, s: &str) {
        self.bytes(s.as_bytes());
    }
    fn num(&mut self, v: Option<u64>) {
        match v {
            Some(v) => self.bytes(&v.to_le_bytes()),
            None => self.bytes(&[]),
        }
    }
    fn finish(self) -> String {
        self.0.finalize().to_hex()[..32].to_string()
    }
}
