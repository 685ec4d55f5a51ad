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

/// Feeds length-prefixed fields into a hasher so that no two different
/// field sequences can produce the same byte stream.
struct Fields(blake3::Hasher);

impl Fields {
    fn bytes(&mut self, b: &[u8]) {
        self.0.update(&(b.len() as u64).to_le_bytes());
        self.0.update(b);
    }
    fn str(&mut self, s: &str) {
        self.bytes(s.as_bytes());
    }
    fn opt<T: std::fmt::Display>(&mut self, v: Option<T>) {
        match v {
            Some(v) => self.str(&v.to_string()),
            None => self.bytes(&[0xff]),
        }
    }
    fn flag(&mut self, b: bool) {
        self.0.update(&[u8::from(b)]);
    }
}

/// The fingerprint of `asset`, given the raw fields it was built from.
pub(crate) fn of(
    asset: &Asset,
    files: &AssetFiles,
    adjustment_time: Option<f64>,
    rows: &[ResourceRow],
) -> String {
    let mut f = Fields(blake3::Hasher::new());
    f.str("photovault-asset-fingerprint-v1");
    f.str(&asset.uuid);
    f.str(&asset.original_filename);
    f.str(&files.directory);
    f.str(&files.filename);
    f.opt(asset.created.map(|c| c.to_rfc3339()));
    f.str(&format!("{:?}", asset.kind));
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
    f.opt(
        asset
            .burst
            .as_ref()
            .map(|b| format!("{}/{}/{}", b.id, b.key, b.picked)),
    );
    f.opt(asset.title.as_deref());
    f.opt(asset.description.as_deref());
    for k in &asset.keywords {
        f.str(k);
    }
    f.str("|albums");
    for a in &asset.albums {
        for folder in &a.folder_path {
            f.str(folder);
        }
        f.str(&a.title);
    }
    f.str("|persons");
    for p in &asset.persons {
        f.str(p);
    }
    f.opt(asset.latitude.map(f64::to_bits));
    f.opt(asset.longitude.map(f64::to_bits));
    f.opt(asset.uti.as_deref());
    f.opt(asset.original_size);
    f.opt(adjustment_time.map(f64::to_bits));
    let mut rows: Vec<_> = rows.iter().collect();
    rows.sort_by(|a, b| {
        (a.resource_type, a.version, a.data_store_subtype).cmp(&(
            b.resource_type,
            b.version,
            b.data_store_subtype,
        ))
    });
    for r in rows {
        f.str(&format!(
            "{}/{}/{}/{:?}/{:?}/{:?}",
            r.resource_type, r.version, r.data_store_subtype, r.data_length, r.uti, r.bookmark_path
        ));
        f.opt(r.content_hash.as_deref());
    }
    f.0.finalize().to_hex()[..32].to_string()
}
