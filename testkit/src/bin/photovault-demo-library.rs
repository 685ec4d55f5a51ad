//! Writes a small demo Photos library — albums in folders, a live photo, an
//! edited RAW+JPEG pair, a video, a screenshot, a cloud-only original — so
//! that `make run` has a library to work on where there is no Photos (Linux,
//! CI), and so a person can look at what the testkit writes.
//!
//! Usage: `photovault-demo-library OUT.photoslibrary [--photos5]`

use anyhow::{bail, Context};
use photovault_testkit::{at, AssetSpec, Generation, LibraryBuilder};

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let Some(out) = args.next() else {
        bail!("usage: photovault-demo-library OUT.photoslibrary [--photos5]");
    };
    let generation = match args.next().as_deref() {
        Some("--photos5") => Generation::Photos5,
        None => Generation::Modern,
        Some(other) => bail!("unknown option {other:?}; usage: photovault-demo-library OUT.photoslibrary [--photos5]"),
    };
    let mut b = LibraryBuilder::new(generation);
    let paris = b.album("Paris", &["Travel", "2020"]);
    let family = b.album("Family", &[]);

    let mut tower =
        AssetSpec::photo("IMG_0001.JPG", at(2, 2020, 6, 15, 12, 34, 56)).in_album(paris);
    tower.title = Some("Eiffel Tower".into());
    tower.keywords = vec!["travel".into(), "landmark".into()];
    tower.gps = Some((48.8584, 2.2945));
    tower.edited = true;
    tower.raw_pair = true;
    tower.aae = true;
    b.asset(tower);

    let mut birthday =
        AssetSpec::live("IMG_0002.HEIC", at(9, 2021, 1, 2, 3, 4, 5)).in_album(family);
    birthday.persons = vec!["Alice".into(), "Bob".into()];
    birthday.favorite = true;
    b.asset(birthday);

    b.asset(AssetSpec::video("IMG_0003.MOV", at(-8, 2019, 12, 24, 18, 0, 0)).in_album(family));
    let mut shot = AssetSpec::photo("Screenshot 2022-02-02.PNG", at(1, 2022, 2, 2, 2, 2, 2));
    shot.screenshot = true;
    b.asset(shot);
    let mut cloud = AssetSpec::photo("IMG_0005.HEIC", at(1, 2023, 3, 3, 3, 3, 3));
    cloud.original_present = false;
    b.asset(cloud);

    let out = std::path::PathBuf::from(out);
    b.build(&out)
        .with_context(|| format!("writing the demo library {}", out.display()))?;
    println!("wrote {}", out.display());
    Ok(())
}
