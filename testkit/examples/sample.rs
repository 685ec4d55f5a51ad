//! Writes a small sample library of each generation to the directory given
//! as the first argument, for inspection with sqlite3 / exiftool.

use photovault_testkit::{at, AssetSpec, Generation, LibraryBuilder};

fn main() -> anyhow::Result<()> {
    let out = std::path::PathBuf::from(
        std::env::args()
            .nth(1)
            .unwrap_or_else(|| "sample-libraries".into()),
    );
    for (gen, name) in [
        (Generation::Photos5, "Photos5"),
        (Generation::Modern, "Modern"),
    ] {
        let mut b = LibraryBuilder::new(gen);
        let album = b.album("Album", &["Folder"]);
        let mut photo =
            AssetSpec::photo("IMG_0001.JPG", at(-4, 2020, 6, 15, 12, 34, 56)).in_album(album);
        photo.gps = Some((48.8584, 2.2945));
        photo.edited = true;
        photo.raw_pair = true;
        photo.aae = true;
        b.asset(photo);
        b.asset(AssetSpec::live("IMG_0002.HEIC", at(9, 2021, 1, 2, 3, 4, 5)));
        b.asset(AssetSpec::video(
            "IMG_0003.MOV",
            at(-8, 2019, 12, 24, 18, 0, 0),
        ));
        b.asset(AssetSpec::photo("Shot.PNG", at(1, 2022, 2, 2, 2, 2, 2)));
        b.asset(AssetSpec::photo("raw.dng", at(1, 2022, 2, 2, 2, 2, 3)));
        b.build(&out.join(format!("{name}.photoslibrary")))?;
    }
    Ok(())
}
