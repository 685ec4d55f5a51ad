//! `photovaultd inspect`: what photovault sees in a library, for users who
//! want to know before they back up, and as JSON for scripts and tests.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use photovault::library::{Asset, AssetKind, LibrarySnapshot, PhotosLibrary, ResourceRole};
use serde::Serialize;

/// Arguments of `photovaultd inspect`.
#[derive(clap::Args)]
pub struct InspectArgs {
    /// The Photos library to read (a .photoslibrary folder).
    #[arg(long, value_name = "PATH")]
    library: PathBuf,
    /// Print one JSON object per asset (trashed ones included) instead of a summary.
    #[arg(long)]
    json: bool,
}

/// Reads the library and prints the summary or the JSON listing.
pub fn run(args: &InspectArgs) -> anyhow::Result<ExitCode> {
    let library = PhotosLibrary::open(&args.library)?;
    let snapshot = library.read()?;
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    if args.json {
        write_json(&mut out, &snapshot)?;
    } else {
        write_summary(&mut out, &library, &snapshot)?;
    }
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

/// One asset as `inspect --json` prints it: the fields users and scripts
/// ask about first, flattened, then the full detail.
#[derive(Serialize)]
struct AssetRecord<'a> {
    uuid: &'a str,
    original_filename: &'a str,
    created: Option<String>,
    date_added: Option<String>,
    modified: Option<String>,
    kind: AssetKind,
    favorite: bool,
    hidden: bool,
    trashed: bool,
    trashed_date: Option<String>,
    title: Option<&'a str>,
    description: Option<&'a str>,
    keywords: Vec<&'a str>,
    albums: Vec<&'a str>,
    album_folders: BTreeMap<&'a str, Vec<&'a str>>,
    persons: Vec<&'a str>,
    latitude: Option<f64>,
    longitude: Option<f64>,
    live_photo: bool,
    raw_pair: bool,
    edited: bool,
    screenshot: bool,
    screen_recording: bool,
    panorama: bool,
    slow_mo: bool,
    time_lapse: bool,
    portrait: bool,
    hdr: bool,
    selfie: bool,
    burst: Option<&'a photovault::library::Burst>,
    width: u32,
    height: u32,
    uti: Option<&'a str>,
    original_size: Option<u64>,
    referenced: bool,
    /// An item of an iCloud Shared Album (its file is in the cloud-sharing
    /// store), as osxphotos' `shared`.
    shared: bool,
    missing: bool,
    original_path: Option<String>,
    resources: &'a [photovault::library::Resource],
    problems: &'a [String],
    fingerprint: &'a str,
}

impl<'a> From<&'a Asset> for AssetRecord<'a> {
    fn from(a: &'a Asset) -> Self {
        let rfc = |t: Option<chrono::DateTime<chrono::Utc>>| t.map(|t| t.to_rfc3339());
        AssetRecord {
            uuid: &a.uuid,
            original_filename: &a.original_filename,
            created: a.created.map(|c| c.to_rfc3339()),
            date_added: rfc(a.added),
            modified: rfc(a.modified),
            kind: a.kind,
            favorite: a.favorite,
            hidden: a.hidden,
            trashed: a.trashed,
            trashed_date: rfc(a.trashed_date),
            title: a.title.as_deref(),
            description: a.description.as_deref(),
            keywords: a.keywords.iter().map(|k| &**k).collect(),
            albums: a.albums.iter().map(|r| &*r.title).collect(),
            album_folders: a
                .albums
                .iter()
                .map(|r| (&*r.title, r.folder_path.iter().map(|f| &**f).collect()))
                .collect(),
            persons: a.persons.iter().map(|p| &**p).collect(),
            latitude: a.latitude,
            longitude: a.longitude,
            live_photo: a.flags.live_photo,
            raw_pair: a.resource(ResourceRole::Raw).is_some(),
            edited: a.edited,
            screenshot: a.flags.screenshot,
            screen_recording: a.flags.screen_recording,
            panorama: a.flags.panorama,
            slow_mo: a.flags.slow_mo,
            time_lapse: a.flags.time_lapse,
            portrait: a.flags.portrait,
            hdr: a.flags.hdr,
            selfie: a.flags.selfie,
            burst: a.burst.as_ref(),
            width: a.width,
            height: a.height,
            uti: a.uti.as_deref(),
            original_size: a.original_size,
            referenced: a.referenced,
            shared: a.shared,
            missing: a.original_missing(),
            original_path: a.original_path().map(|p| p.to_string_lossy().into_owned()),
            resources: &a.resources,
            problems: &a.problems,
            fingerprint: &a.fingerprint,
        }
    }
}

/// The JSON array, one asset object per line: streamed, so a library of any
/// size prints without being held twice in memory, and a line-oriented tool
/// can still split it.
fn write_json(out: &mut impl Write, snapshot: &LibrarySnapshot) -> anyhow::Result<()> {
    out.write_all(b"[")?;
    for (i, asset) in snapshot.assets.iter().enumerate() {
        out.write_all(if i == 0 { b"\n" } else { b",\n" })?;
        serde_json::to_writer(&mut *out, &AssetRecord::from(asset)).context("writing JSON")?;
    }
    out.write_all(b"\n]\n")?;
    Ok(())
}

/// A yes/no question about an asset, for the summary's counts.
type AssetTest<'a> = &'a dyn Fn(&Asset) -> bool;

fn write_summary(
    out: &mut impl Write,
    library: &PhotosLibrary,
    s: &LibrarySnapshot,
) -> anyhow::Result<()> {
    let v = &s.version;
    writeln!(out, "Library:   {}", library.root().display())?;
    writeln!(
        out,
        "Photos:    {} ({}), model version {}",
        v.photos_version,
        v.macos_release(),
        v.model_version
    )?;
    if let Some(lock) = library.lock_holder() {
        writeln!(
            out,
            "Lock:      held by {} (pid {}) on {}",
            lock.process.as_deref().unwrap_or("?"),
            lock.pid.map_or("?".into(), |p| p.to_string()),
            lock.hostname.as_deref().unwrap_or("?")
        )?;
    }
    if let Some(h) = s.history {
        writeln!(
            out,
            "History:   transaction {}, change {}",
            h.transaction, h.change
        )?;
    }
    let live = |a: &&Asset| !a.trashed;
    let count = |f: &dyn Fn(&Asset) -> bool| s.assets.iter().filter(live).filter(|a| f(a)).count();
    let total = count(&|_| true);
    let photos = count(&|a| a.kind == AssetKind::Photo);
    let videos = count(&|a| a.kind == AssetKind::Video);
    let trashed = s.assets.iter().filter(|a| a.trashed).count();
    let bytes: u64 = s
        .assets
        .iter()
        .filter(live)
        .filter_map(|a| a.original_size)
        .sum();
    writeln!(out)?;
    writeln!(
        out,
        "Assets:    {total} ({}, {}), {} of originals; {trashed} in Recently Deleted",
        plural(photos, "photo"),
        plural(videos, "video"),
        indicatif::BinaryBytes(bytes)
    )?;
    let rows: [(&str, AssetTest); 17] = [
        ("favourites", &|a| a.favorite),
        ("hidden", &|a| a.hidden),
        ("edited", &|a| a.edited),
        ("live photos", &|a| a.flags.live_photo),
        ("RAW+JPEG pairs", &|a| {
            a.resource(ResourceRole::Raw).is_some()
        }),
        ("screenshots", &|a| a.flags.screenshot),
        ("screen recordings", &|a| a.flags.screen_recording),
        ("panoramas", &|a| a.flags.panorama),
        ("portraits", &|a| a.flags.portrait),
        ("HDR", &|a| a.flags.hdr),
        ("selfies", &|a| a.flags.selfie),
        ("slow-mo", &|a| a.flags.slow_mo),
        ("time-lapse", &|a| a.flags.time_lapse),
        ("burst frames", &|a| a.burst.is_some()),
        ("referenced (outside library)", &|a| a.referenced),
        ("with location", &|a| a.latitude.is_some()),
        ("with keywords", &|a| !a.keywords.is_empty()),
    ];
    for (label, f) in rows {
        let n = count(f);
        if n > 0 {
            writeln!(out, "  {label:<30} {n}")?;
        }
    }
    let missing: Vec<&Asset> = s
        .assets
        .iter()
        .filter(live)
        .filter(|a| a.original_missing())
        .collect();
    writeln!(out)?;
    writeln!(
        out,
        "Missing originals: {} (cloud-only, on a disconnected volume, or gone)",
        missing.len()
    )?;
    for a in missing.iter().take(10) {
        writeln!(out, "  {}  {}", a.uuid, a.original_filename)?;
    }
    if missing.len() > 10 {
        writeln!(out, "  ... and {} more (see --json)", missing.len() - 10)?;
    }
    let live_albums: Vec<_> = s.albums.iter().filter(|a| !a.trashed).collect();
    writeln!(out)?;
    writeln!(out, "Albums:    {}", live_albums.len())?;
    for a in live_albums.iter().take(20) {
        let mut path: Vec<&str> = a.folder_path.iter().map(|f| &**f).collect();
        path.push(&a.title);
        writeln!(out, "  {} ({})", path.join(" / "), a.asset_uuids.len())?;
    }
    if live_albums.len() > 20 {
        writeln!(out, "  ... and {} more", live_albums.len() - 20)?;
    }
    let problems: Vec<&Asset> = s.assets.iter().filter(|a| !a.problems.is_empty()).collect();
    if !problems.is_empty() {
        writeln!(out)?;
        writeln!(
            out,
            "Problems:  {} assets have records photovault cannot fully use:",
            problems.len()
        )?;
        for a in problems.iter().take(10) {
            writeln!(out, "  {}: {}", a.uuid, a.problems.join("; "))?;
        }
    }
    Ok(())
}

/// "1 photo", "2 photos".
fn plural(n: usize, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}
