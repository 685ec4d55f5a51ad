//! Synthetic Apple Photos libraries for photovault's tests.
//!
//! [`LibraryBuilder`] writes a `.photoslibrary` package whose
//! `database/Photos.sqlite` uses the real schema of one of two generations
//! ([`Generation::Photos5`], [`Generation::Modern`]), extracted from the real
//! fixture libraries (`schema/*.sql`), and whose files are real, small,
//! valid media (JPEG/PNG with EXIF, QuickTime with creation dates, DNG/CR2
//! stand-ins, AAE plists). The library reader is tested by comparing what it
//! returns with the [`AssetSpec`]s given here, so the builder stores values
//! exactly as Photos does (Core Data timestamps, `ZTIMEZONEOFFSET`, the
//! -180.0 "no location" sentinel, resource rows, entity-numbered join
//! tables). Entity numbers deliberately differ from the fixtures' by default
//! so that a reader hard-coding them fails.
//!
//! Real shapes: RAW+JPEG pairs of any RAW format, typed by name or by a
//! code no reader can map ([`AssetSpec::with_raw`], [`RawTypeCode`]);
//! originals missing at a fraction ([`LibraryBuilder::missing_originals`]);
//! many bursts ([`LibraryBuilder::burst`]); folders of thousands of
//! originals ([`LibraryBuilder::originals_folders`]); iCloud Shared Album
//! items in either layout ([`LibraryBuilder::shared_album`],
//! [`CloudSharingLayout`]).
//!
//! Robustness: [`NameOverrides`] put hostile strings in `ZDIRECTORY` /
//! `ZFILENAME` / `ZORIGINALFILENAME`, [`BuiltLibrary::execute`] runs raw SQL
//! after the build, and [`BuiltLibrary::open_writer`] keeps the database open
//! with changes held only in the WAL, as a running Photos does.

#![warn(missing_docs)]

mod asset;
mod builder;
mod built;
mod db;
mod layout;
pub mod media;
mod relations;
mod resources;
mod schema;
mod shared;
mod spec;

pub use asset::{expected_paths, BuiltAsset};
pub use builder::LibraryBuilder;
pub use built::{BuiltAlbum, BuiltLibrary, LiveWriter};
pub use layout::{BuiltResource, ResourceRole};
pub use schema::{statements, Entity, EntityNumbers, Generation};
pub use shared::SharedAlbum;
pub use spec::{
    at, AlbumId, AssetSpec, Burst, CloudSharingLayout, MediaKind, NameOverrides, RawAlternate,
    RawTypeCode,
};

/// Where the real fixture libraries live, relative to this crate
/// (`../../shared/fixtures/photos-libraries`), if they are present.
pub fn fixtures_dir() -> Option<std::path::PathBuf> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/fixtures/photos-libraries");
    dir.is_dir().then_some(dir)
}

/// Whether the tests run as root: some need it (mounting a small tmpfs,
/// asking as another user), and say so when they cannot.
pub fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .map(|s| {
            s.lines()
                .any(|l| l.starts_with("Uid:") && l.split_whitespace().nth(1) == Some("0"))
        })
        .unwrap_or(false)
}
