//! A per-asset fingerprint from database fields alone.
//!
//! Incremental backups must decide what changed without reading a single
//! media file. The fingerprint digests every field of the asset's record that
//! a backup reflects — file names, sizes and content hashes Photos keeps for
//! its resources, the edit's timestamp, and all metadata that goes into a
//! sidecar — so equal fingerprints mean nothing to copy, and any change to the
//! original, the edit or the metadata gives a new one. File presence is left
//! out on purpose: a cloud-only original becoming local is not a change of
//! the asset, and the export notices it by the missing file.

use super::model::Asset;
use super::resources::{AssetFiles, ResourceRow};

/// Collects length-prefixed fields into one buffer, hashed once at the
/// end: no two different field sequences give the same bytes, and one hash
/// call per asset is far cheaper than one per field.
#[derive(Default)]
struct Fields(Vec<u8>);

impl Fields {
    fn bytes(&mut self, b: &[u8]) {
        self.0.extend_from_slice(&(b.len() as u32).to_le_bytes());
        self.0.extend_from_slice(b);
    }
    fn str(&mut self, s: &str) {
        self.bytes(s.as_bytes());
    }
    fn num(&mut self, v: Option<i64>) {
        match v {
            Some(v) => {
                self.0.push(1);
                self.0.extend_from_slice(&v.to_le_bytes());
            }
            None => self.0.push(0),
        }
    }
    fn opt_str(&mut self, v: Option<&str>) {
        match v {
            Some(v) => {
                self.0.push(1);
                self.str(v);
            }
            None => self.0.push(0),
        }
    }
    fn flag(&mut self, b: bool) {
        self.0.push(u8::from(b));
    }
}

/// The fingerprint of `asset`, given the raw fields it was built from.
pub(crate) fn of(
    asset: &Asset,
    files: &AssetFiles,
    adjustment_time: Option<f64>,
    rows: &[ResourceRow],
) -> String {
    let mut f = Fields(Vec::with_capacity(512));
    f.str("photovault-asset-fingerprint-v1");
    f.str(&asset.uuid);
    f.str(&asset.original_filename);
    f.str(&files.directory);
    f.str(&files.filename);
    f.num(asset.created.map(|c| c.timestamp_micros()));
    f.num(
        asset
            .created
            .map(|c| i64::from(c.offset().local_minus_utc())),
    );
    f.flag(asset.kind == super::model::AssetKind::Video);
    let fl = &asset.flags;
    for b in [
        fl.screenshot,
        fl.screen_recording,
        fl.live_photo,
        fl.panorama,
        fl.slow_mo,
        fl.time_lapse,
        fl.portrait,
        fl.hdr,
        fl.selfie,
        asset.favorite,
        asset.hidden,
        asset.trashed,
        asset.referenced,
        asset.edited,
        files.raw_is_original,
    ] {
        f.flag(b);
    }
    // Only when set, so that the fingerprints of every other asset stay what
    // earlier versions recorded.
    if asset.shared {
        f.str("shared");
    }
    match &asset.burst {
        Some(b) => {
            f.str(&b.id);
            f.flag(b.key);
            f.flag(b.picked);
        }
        None => f.flag(false),
    }
    f.opt_str(asset.title.as_deref());
    f.opt_str(asset.description.as_deref());
    f.num(Some(asset.keywords.len() as i64));
    for k in &asset.keywords {
        f.str(k);
    }
    f.num(Some(asset.albums.len() as i64));
    for a in &asset.albums {
        f.num(Some(a.folder_path.len() as i64));
        for folder in a.folder_path.iter() {
            f.str(folder);
        }
        f.str(&a.title);
    }
    f.num(Some(asset.persons.len() as i64));
    for p in &asset.persons {
        f.str(p);
    }
    f.num(asset.latitude.map(|v| v.to_bits() as i64));
    f.num(asset.longitude.map(|v| v.to_bits() as i64));
    f.opt_str(asset.uti.as_deref());
    f.num(asset.original_size.map(|v| v as i64));
    f.num(adjustment_time.map(|v| v.to_bits() as i64));
    let mut rows: Vec<_> = rows.iter().collect();
    rows.sort_by_key(|r| (r.resource_type, r.version, r.data_store_subtype));
    f.num(Some(rows.len() as i64));
    for r in rows {
        f.num(Some(r.resource_type));
        f.num(Some(r.version));
        f.num(Some(r.data_store_subtype));
        f.num(r.data_length);
        f.opt_str(r.uti.as_deref());
        f.opt_str(r.bookmark_path.as_deref().and_then(|p| p.to_str()));
        f.opt_str(r.content_hash.as_deref());
    }
    blake3::hash(&f.0).to_hex()[..32].to_string()
}
