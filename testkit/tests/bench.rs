//! Size check: 100,000 assets with 500 albums, 200 keywords and 100 persons,
//! without media. Run with
//! `cargo test --release -p photovault-testkit --test bench -- --ignored --nocapture`.

use photovault_testkit::{at, AssetSpec, Generation, LibraryBuilder};
use std::time::Instant;

fn big(gen: Generation) {
    let tmp = tempfile::tempdir().unwrap();
    let start = Instant::now();
    let mut b = LibraryBuilder::new(gen);
    b.with_media(false);
    let albums: Vec<_> = (0..500)
        .map(|i| b.album(&format!("Album {i}"), &[&format!("Folder {}", i % 20)]))
        .collect();
    for i in 0..100_000u32 {
        let mut s = AssetSpec::photo(
            &format!("IMG_{i:06}.JPG"),
            at(
                ((i % 24) as i32) - 11,
                2000 + (i % 25) as i32,
                1 + i % 12,
                1 + i % 28,
                i % 24,
                i % 60,
                i % 60,
            ),
        );
        s.albums = vec![albums[(i % 500) as usize]];
        s.keywords = vec![format!("kw{}", i % 200), format!("kw{}", (i * 7) % 200)];
        if i % 3 == 0 {
            s.persons = vec![format!("Person {}", i % 100)];
        }
        if i % 5 == 0 {
            s.gps = Some((f64::from(i % 90), f64::from(i % 180)));
        }
        b.asset(s);
    }
    let lib = b.build(&tmp.path().join("Big.photoslibrary")).unwrap();
    let elapsed = start.elapsed();
    eprintln!("{gen:?}: built {} assets in {elapsed:?}", lib.assets.len());
    assert!(elapsed.as_secs() < 60);
}

#[test]
#[ignore = "large; run in release mode"]
fn hundred_thousand_assets_photos5() {
    big(Generation::Photos5);
}

#[test]
#[ignore = "large; run in release mode"]
fn hundred_thousand_assets_modern() {
    big(Generation::Modern);
}
