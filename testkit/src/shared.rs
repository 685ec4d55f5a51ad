//! iCloud Shared Albums: the album row, its invitation record, and where
//! and how its items are stored, as the fixture Test-Cloud-10.15.6 records
//! them.
//!
//! A shared album is a `ZGENERICALBUM` of entity `CloudSharedAlbum`, kind
//! 1505, outside every folder, naming its owner (`ZCLOUDOWNERFULLNAME`,
//! `ZCLOUDOWNERHASHEDPERSONID`), a numeric `ZCLOUDPERSONID` and a
//! `ZCLOUDGUID`. Its items are assets with `ZSAVEDASSETTYPE` 4 whose
//! `ZDIRECTORY` is `<person id>/<album guid>` and whose `ZFILENAME` (and
//! `ZORIGINALFILENAME`) is `<UUID>.<EXT>`, relative to the cloud-sharing
//! `data/` folder ([`CloudSharingLayout`]): a photo is the file itself, a
//! video is `<UUID>.medium.<EXT>` beside a `<UUID>.poster.JPG`. Their
//! resource rows belong to data store class 2, whose key is the item's
//! path relative to `data/`.

use crate::db::{core_data_time, insert, int, text, uuid_from};
use crate::layout::{Planned, ResourceRole, RowKind, Store};
use crate::media::FileKind;
use crate::spec::{AssetSpec, CloudSharingLayout, MediaKind};
use anyhow::Result;
use chrono::{DateTime, FixedOffset, Utc};
use rusqlite::types::Value;
use rusqlite::Connection;
use std::path::PathBuf;

/// The owner and cloud identifiers of a shared album, which decide where
/// its items' files are.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SharedAlbum {
    /// `ZCLOUDOWNERFULLNAME`: who shared the album.
    pub owner: String,
    /// `ZCLOUDOWNERHASHEDPERSONID` (64 hex digits), also on every item.
    pub owner_hashed_id: String,
    /// `ZCLOUDPERSONID`: the owner's numeric iCloud person id, the first
    /// folder of the items' `ZDIRECTORY`.
    pub person_id: String,
    /// `ZCLOUDGUID`: the album's iCloud id, the second folder.
    pub cloud_guid: String,
}

impl SharedAlbum {
    /// Deterministic identifiers for an album owned by `owner`; `seed`
    /// (the album's position) keeps two albums of one owner apart.
    pub(crate) fn new(owner: &str, seed: u64) -> SharedAlbum {
        let owner_seed = owner.bytes().fold(0xCBF2_9CE4_8422_2325u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01B3)
        });
        let hex = |s: u64| uuid_from(s).replace('-', "").to_ascii_lowercase();
        SharedAlbum {
            owner: owner.to_string(),
            owner_hashed_id: format!("{}{}", hex(owner_seed), hex(owner_seed ^ 0x5A5A)),
            person_id: format!("{}", 10_000_000_000 + owner_seed % 90_000_000_000),
            cloud_guid: uuid_from(seed ^ 0x05A2_ED00_0000),
        }
    }

    /// `ZDIRECTORY` of its items: `<person id>/<album guid>`, relative to
    /// the cloud-sharing `data/` folder.
    pub fn directory(&self) -> String {
        format!("{}/{}", self.person_id, self.cloud_guid)
    }

    /// The folder holding its items' files, relative to the package.
    pub fn data_folder(&self, layout: CloudSharingLayout) -> PathBuf {
        PathBuf::from(layout.root())
            .join("data")
            .join(self.directory())
    }

    fn first_last(&self) -> (String, String) {
        match self.owner.split_once(' ') {
            Some((first, last)) => (first.to_string(), last.to_string()),
            None => (self.owner.clone(), String::new()),
        }
    }

    /// The columns of its `ZGENERICALBUM` row beyond those every album has.
    pub(crate) fn album_columns(&self, created: f64) -> Vec<(&'static str, Value)> {
        let (first, last) = self.first_last();
        vec![
            ("ZCLOUDGUID", text(&self.cloud_guid)),
            ("ZCLOUDPERSONID", text(&self.person_id)),
            ("ZCLOUDOWNERFULLNAME", text(&self.owner)),
            ("ZCLOUDOWNERFIRSTNAME", text(&first)),
            ("ZCLOUDOWNERLASTNAME", text(&last)),
            ("ZCLOUDOWNERHASHEDPERSONID", text(&self.owner_hashed_id)),
            ("ZISOWNED", int(0)),
            ("ZCLOUDRELATIONSHIPSTATE", int(2)),
            ("ZCLOUDRELATIONSHIPSTATELOCAL", int(0)),
            ("ZCLOUDALBUMSUBTYPE", int(0)),
            ("ZCLOUDMULTIPLECONTRIBUTORSENABLED", int(1)),
            ("ZCLOUDMULTIPLECONTRIBUTORSENABLEDLOCAL", int(1)),
            ("ZCLOUDNOTIFICATIONSENABLED", int(1)),
            ("ZCLOUDPUBLICURLENABLED", int(0)),
            ("ZCLOUDPUBLICURLENABLEDLOCAL", int(0)),
            ("ZCLOUDOWNERISWHITELISTED", int(0)),
            ("ZPENDINGITEMSTYPE", int(1)),
            ("ZCLOUDCREATIONDATE", Value::Real(created - 3600.0)),
            ("ZCLOUDSUBSCRIPTIONDATE", Value::Real(created - 3000.0)),
        ]
    }

    /// The `ZCLOUDSHAREDALBUMINVITATIONRECORD` row of the library's own
    /// subscription to the album (the fixture's `ZISMINE` 1, accepted).
    pub(crate) fn insert_invitation(
        &self,
        conn: &Connection,
        ent: i64,
        pk: i64,
        album_pk: i64,
        created: f64,
    ) -> Result<()> {
        insert(
            conn,
            "ZCLOUDSHAREDALBUMINVITATIONRECORD",
            &[
                ("Z_PK", int(pk)),
                ("Z_ENT", int(ent)),
                ("Z_OPT", int(1)),
                ("ZINVITATIONSTATE", int(2)),
                ("ZINVITATIONSTATELOCAL", int(0)),
                ("ZINVITEEEMAILKEY", int(-1)),
                ("ZISMINE", int(1)),
                ("ZALBUM", int(album_pk)),
                ("Z_FOK_ALBUM", int(1024)),
                ("ZINVITEESUBSCRIPTIONDATE", Value::Real(created - 3000.0)),
                ("ZALBUMGUID", text(&self.cloud_guid)),
                ("ZCLOUDGUID", text(&uuid_from(pk as u64 ^ 0x1A71_7E00))),
                ("ZINVITEEFIRSTNAME", text("Sam")),
                ("ZINVITEEFULLNAME", text("Sam Subscriber")),
                (
                    "ZINVITEEHASHEDPERSONID",
                    text(
                        &uuid_from(pk as u64 ^ 0x1A71)
                            .replace('-', "")
                            .to_lowercase(),
                    ),
                ),
                ("ZINVITEELASTNAME", text("Subscriber")),
            ],
        )
    }

    /// The album folder's `Info.plist`, as Photos writes it beside the items.
    pub(crate) fn info_plist(&self, title: &str, created: DateTime<Utc>) -> Result<Vec<u8>> {
        let (first, last) = self.first_last();
        let mut d = plist::Dictionary::new();
        let email = format!("{}@example.com", first.to_ascii_lowercase());
        d.insert("cloudOwnerEmail".into(), email.into());
        d.insert("cloudOwnerFirstName".into(), first.into());
        d.insert(
            "cloudOwnerHashedPersonID".into(),
            self.owner_hashed_id.clone().into(),
        );
        d.insert("cloudOwnerLastName".into(), last.into());
        d.insert("cloudPublicURLEnabled".into(), 0.into());
        d.insert("cloudRelationshipState".into(), 2.into());
        d.insert(
            "cloudSubscriptionDate".into(),
            plist::Value::Date(std::time::SystemTime::from(created).into()),
        );
        d.insert("title".into(), title.into());
        let mut out = Vec::new();
        plist::Value::Dictionary(d).to_writer_xml(&mut out)?;
        Ok(out)
    }
}

/// `ZFILENAME` of a shared item: its UUID and the extension of the name it
/// was shared under, case kept (`<UUID>.JPG`, `<UUID>.MP4`).
pub(crate) fn stored_name(spec: &AssetSpec, uuid: &str) -> String {
    match spec.original_filename.rsplit_once('.') {
        Some((_, ext)) if !ext.is_empty() => format!("{uuid}.{ext}"),
        _ => uuid.to_string(),
    }
}

/// The spec as the item is stored: named `<UUID>.<EXT>`, no time zone (so
/// read as UTC), no original size.
pub(crate) fn as_stored(spec: &AssetSpec, uuid: &str) -> AssetSpec {
    let utc = FixedOffset::east_opt(0).unwrap_or_else(|| *spec.created.offset());
    AssetSpec {
        original_filename: stored_name(spec, uuid),
        created: spec.created.with_timezone(&utc),
        timezone_name: None,
        original_size: Some(0),
        ..spec.clone()
    }
}

/// The columns of a shared item's asset row that differ from a library
/// asset's (the caller sets `ZDIRECTORY`, `ZFILENAME` and `ZMOMENT`).
pub(crate) fn asset_columns(
    spec: &AssetSpec,
    album: &SharedAlbum,
    seq: u64,
) -> Vec<(&'static str, Value)> {
    let video = spec.kind == MediaKind::Video;
    let published = core_data_time(spec.added) - 3600.0;
    let mut cols = vec![
        ("ZSAVEDASSETTYPE", int(4)),
        ("ZCLOUDLOCALSTATE", int(0)),
        ("ZCLOUDASSETGUID", text(&uuid_from(seq ^ 0x05A2_ED00))),
        ("ZCLOUDPLACEHOLDERKIND", int(if video { 9 } else { 4 })),
        ("ZVISIBILITYSTATE", int(2)),
        ("ZMODIFICATIONDATE", Value::Null),
        ("ZIMPORTSESSION", Value::Null),
        ("ZCLOUDBATCHPUBLISHDATE", Value::Real(published)),
        ("ZCLOUDSERVERPUBLISHDATE", Value::Real(published + 3.0)),
        ("ZCLOUDBATCHID", text(&uuid_from(seq ^ 0xBA7C_4000))),
        ("ZCLOUDOWNERHASHEDPERSONID", text(&album.owner_hashed_id)),
        ("ZCLOUDISMYASSET", int(0)),
    ];
    if video {
        // Both shared videos of the fixture have subtype 100.
        cols.push(("ZKINDSUBTYPE", int(100)));
    }
    cols
}

/// The files of a shared item: a photo is `<UUID>.<EXT>` in the album's
/// data folder plus a derivative under `resources/derivatives/masters/`; a
/// video is `<UUID>.medium.<EXT>` plus its poster `<UUID>.poster.JPG`
/// (recorded as the item's [`ResourceRole::Thumbnail`]).
pub(crate) fn plan(
    spec: &AssetSpec,
    uuid: &str,
    album: &SharedAlbum,
    layout: CloudSharingLayout,
    with_media: bool,
) -> Vec<Planned> {
    let name = stored_name(spec, uuid);
    let key = format!("{}/{name}", album.directory());
    let data = album.data_folder(layout);
    let kind = FileKind::from_name(&name);
    let row = |resource_type, subtype, recipe| {
        Some(RowKind {
            resource_type,
            subtype,
            recipe,
            version: 0,
        })
    };
    let mut out = if spec.kind == MediaKind::Video {
        let (stem, ext) = name.rsplit_once('.').unwrap_or((&name, "MP4"));
        vec![
            Planned::new(
                ResourceRole::Original,
                data.join(format!("{stem}.medium.{ext}")),
                kind,
                row(1, 8, 131_079),
                true,
            ),
            Planned::new(
                ResourceRole::Thumbnail,
                data.join(format!("{uuid}.poster.JPG")),
                FileKind::Jpeg,
                row(0, 5, 65_741),
                true,
            ),
        ]
    } else {
        vec![
            Planned::new(
                ResourceRole::Original,
                data.join(&name),
                kind,
                row(0, 3, 65_741),
                true,
            ),
            Planned::new(
                ResourceRole::Thumbnail,
                PathBuf::from(layout.root()).join(format!(
                    "resources/derivatives/masters/{}/{uuid}_4_5005_c.jpeg",
                    &uuid[..1]
                )),
                FileKind::Jpeg,
                row(0, 4, 65_743),
                true,
            ),
        ]
    };
    for p in &mut out {
        p.store = Store::CloudSharing { key: key.clone() };
        p.write = with_media;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::at;

    #[test]
    fn identifiers_are_deterministic_and_shaped_like_the_fixtures() {
        let a = SharedAlbum::new("Rhet Turnbull", 3);
        assert_eq!(a, SharedAlbum::new("Rhet Turnbull", 3));
        assert_eq!(a.owner_hashed_id.len(), 64);
        assert!(a.owner_hashed_id.chars().all(|c| c.is_ascii_hexdigit()));
        assert_eq!(a.person_id.len(), 11, "{}", a.person_id);
        assert!(a.person_id.chars().all(|c| c.is_ascii_digit()));
        let b = SharedAlbum::new("Rhet Turnbull", 4);
        assert_eq!(a.person_id, b.person_id, "one owner, one person id");
        assert_ne!(a.cloud_guid, b.cloud_guid);
        assert_eq!(a.directory(), format!("{}/{}", a.person_id, a.cloud_guid));
        assert_eq!(
            a.data_folder(CloudSharingLayout::Scopes),
            PathBuf::from(format!("scopes/cloudsharing/data/{}", a.directory()))
        );
    }

    #[test]
    fn items_are_named_after_their_uuid_and_videos_have_a_medium_and_a_poster() {
        let album = SharedAlbum::new("Ann Owner", 0);
        let uuid = "4AD7C8EF-2991-4519-9D3A-7F44A6F031BE";
        let photo = AssetSpec::photo("IMG_0001.JPG", at(2, 2020, 1, 1, 0, 0, 0));
        assert_eq!(stored_name(&photo, uuid), format!("{uuid}.JPG"));
        let stored = as_stored(&photo, uuid);
        assert_eq!(stored.original_filename, format!("{uuid}.JPG"));
        assert_eq!(stored.created, photo.created);
        assert_eq!(stored.created.offset().local_minus_utc(), 0);
        let planned = plan(&photo, uuid, &album, CloudSharingLayout::Resources, true);
        assert_eq!(
            planned[0].path,
            album
                .data_folder(CloudSharingLayout::Resources)
                .join(format!("{uuid}.JPG"))
        );
        let video = AssetSpec::video("clip.MP4", at(0, 2020, 1, 1, 0, 0, 0));
        let planned = plan(&video, uuid, &album, CloudSharingLayout::Scopes, false);
        let names: Vec<String> = planned
            .iter()
            .map(|p| p.path.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        assert_eq!(
            names,
            [format!("{uuid}.medium.MP4"), format!("{uuid}.poster.JPG")]
        );
        assert!(planned.iter().all(|p| !p.write && p.local));
        assert_eq!(
            planned[0].store,
            Store::CloudSharing {
                key: format!("{}/{uuid}.MP4", album.directory())
            }
        );
    }
}
