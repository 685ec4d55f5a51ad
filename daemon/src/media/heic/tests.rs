use super::*;
use crate::media::exif_edit;
use photovault_testkit::media::{
    exif_fields_block, gradient, heic_picture, ExifFields, HeicExtras,
};

/// The APP segments of a JPEG, marker and payload, up to the image data.
pub(crate) fn jpeg_segments(jpeg: &[u8]) -> Vec<(u8, Vec<u8>)> {
    let mut out = Vec::new();
    let mut pos = 2;
    while pos + 4 <= jpeg.len() && jpeg[pos] == 0xFF && jpeg[pos + 1] != 0xDA {
        let len = u16::from_be_bytes([jpeg[pos + 2], jpeg[pos + 3]]) as usize;
        out.push((jpeg[pos + 1], jpeg[pos + 4..pos + 2 + len].to_vec()));
        pos += 2 + len;
    }
    out
}

/// The ICC profile reassembled from a JPEG's APP2 chunks.
pub(crate) fn jpeg_icc(jpeg: &[u8]) -> Option<Vec<u8>> {
    let mut chunks: Vec<(u8, Vec<u8>)> = jpeg_segments(jpeg)
        .into_iter()
        .filter(|(m, p)| *m == 0xE2 && p.starts_with(b"ICC_PROFILE\0"))
        .map(|(_, p)| (p[12], p[14..].to_vec()))
        .collect();
    chunks.sort_by_key(|c| c.0);
    (!chunks.is_empty()).then(|| chunks.into_iter().flat_map(|c| c.1).collect())
}

/// Mean absolute difference per channel between two RGB buffers.
pub(crate) fn mean_error(a: &[u8], b: &[u8]) -> f64 {
    assert_eq!(a.len(), b.len());
    let sum: u64 = a
        .iter()
        .zip(b)
        .map(|(x, y)| u64::from(x.abs_diff(*y)))
        .sum();
    sum as f64 / a.len() as f64
}

fn decode_jpeg(jpeg: &[u8]) -> image::RgbImage {
    image::load_from_memory_with_format(jpeg, image::ImageFormat::Jpeg)
        .unwrap()
        .to_rgb8()
}

/// A fake but well-formed-enough ICC blob: the converter must carry it
/// byte for byte, whatever it says.
fn icc_blob() -> Vec<u8> {
    let mut icc = vec![0u8; 3000];
    icc[36..40].copy_from_slice(b"acsp");
    for (i, b) in icc.iter_mut().enumerate().skip(128) {
        *b = (i % 251) as u8;
    }
    icc
}

#[test]
fn rotated_heic_becomes_an_upright_jpeg_with_exif_xmp_and_icc() {
    let (w, h) = (96, 64);
    let upright = gradient(w, h);
    let exif = exif_fields_block(&ExifFields {
        make: Some("Apple"),
        model: Some("iPhone 15 Pro"),
        orientation: Some(6),
        date_time_original: Some("2024:05:06 07:08:09"),
        offset_time_original: Some("+02:00"),
        gps: Some((48.8584, 2.2945)),
        ..Default::default()
    });
    let xmp = "<x:xmpmeta xmlns:x=\"adobe:ns:meta/\"><rdf:RDF><rdf:Description tiff:Orientation=\"6\" dc:title=\"Tower\"/></rdf:RDF></x:xmpmeta>";
    let icc = icc_blob();
    let Some(heic) = heic_picture(
        &upright,
        w,
        h,
        &HeicExtras {
            orientation: 6,
            exif: Some(&exif),
            xmp: Some(xmp),
            icc: Some(&icc),
        },
    ) else {
        eprintln!("skipped: this libheif has no HEVC encoder to make a test HEIC");
        return;
    };
    let out = heic_to_jpeg(&heic, DEFAULT_QUALITY, None).unwrap();
    assert_eq!((out.width, out.height), (w, h), "pixels are upright");
    assert!(out.exif && out.xmp && out.icc && out.rotated);

    let decoded = decode_jpeg(&out.jpeg);
    assert_eq!((decoded.width(), decoded.height()), (w, h));
    let err = mean_error(decoded.as_raw(), &upright);
    assert!(err < 4.0, "mean error {err}");

    // EXIF: everything kept, orientation reset.
    let exif_out = jpeg_segments(&out.jpeg)
        .into_iter()
        .find(|(m, p)| *m == 0xE1 && p.starts_with(b"Exif\0\0"))
        .map(|(_, p)| p[6..].to_vec())
        .unwrap();
    assert_eq!(exif_edit::orientation(&exif_out), Some(1));
    let mut expected = exif.clone();
    exif_edit::reset_orientation(&mut expected);
    assert_eq!(exif_out, expected);
    let parsed: nom_exif::Exif = nom_exif::MediaParser::new()
        .parse_exif(nom_exif::MediaSource::from_memory(out.jpeg.clone()).unwrap())
        .unwrap()
        .into();
    assert_eq!(
        parsed
            .get(nom_exif::ExifTag::Model)
            .and_then(|v| v.as_str()),
        Some("iPhone 15 Pro")
    );
    assert!(parsed.gps_info().is_some());
    // XMP kept, its orientation reset too; ICC byte for byte.
    let xmp_out = crate::media::containers::find_xmp(&out.jpeg).unwrap();
    assert!(xmp_out.contains("tiff:Orientation=\"1\"") && xmp_out.contains("Tower"));
    assert_eq!(jpeg_icc(&out.jpeg).unwrap(), icc);
}

#[test]
fn every_stored_orientation_comes_out_upright() {
    let (w, h) = (48, 32);
    let upright = gradient(w, h);
    for o in [1u8, 3, 6, 8] {
        let Some(heic) = heic_picture(
            &upright,
            w,
            h,
            &HeicExtras {
                orientation: o,
                ..Default::default()
            },
        ) else {
            eprintln!("skipped: no HEVC encoder");
            return;
        };
        let out = heic_to_jpeg(&heic, 95, Some(1)).unwrap();
        let decoded = decode_jpeg(&out.jpeg);
        assert_eq!(
            (decoded.width(), decoded.height()),
            (w, h),
            "orientation {o}"
        );
        let err = mean_error(decoded.as_raw(), &upright);
        assert!(err < 4.0, "orientation {o}: mean error {err}");
        assert!(!out.exif && !out.icc);
    }
}

#[test]
fn damaged_heics_are_refused_not_half_converted() {
    let Some(heic) = heic_picture(&gradient(64, 64), 64, 64, &HeicExtras::default()) else {
        eprintln!("skipped: no HEVC encoder");
        return;
    };
    for cut in [0, 16, heic.len() / 2] {
        let err = heic_to_jpeg(&heic[..cut], 92, None).unwrap_err();
        assert!(matches!(err, ConvertError::Decode(_)), "{cut}: {err}");
    }
    assert!(matches!(
        heic_to_jpeg(b"not a heic at all", 92, None),
        Err(ConvertError::Decode(_))
    ));
}

#[test]
fn oversized_exif_is_refused() {
    let big_comment = "x".repeat(70_000);
    let exif = exif_fields_block(&ExifFields {
        user_comment: Some(&big_comment),
        ..Default::default()
    });
    let Some(heic) = heic_picture(
        &gradient(16, 16),
        16,
        16,
        &HeicExtras {
            exif: Some(&exif),
            ..Default::default()
        },
    ) else {
        eprintln!("skipped: no HEVC encoder");
        return;
    };
    assert!(matches!(
        heic_to_jpeg(&heic, 92, None),
        Err(ConvertError::MetadataTooLarge { what: "EXIF", .. })
    ));
}

/// The Photos fixtures' real iPhone HEICs: EXIF and the Display P3 profile
/// survive, the pixels match libheif's own decoding.
#[test]
fn fixture_heics_keep_exif_and_colour_profile() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(
        "../../shared/fixtures/photos-libraries/Test-Media-Types-15.7.2.photoslibrary/originals",
    );
    if !root.is_dir() {
        eprintln!("skipped: {} is absent", root.display());
        return;
    }
    let file = root.join("5/5F9BCC2D-D1DF-46D8-8F70-C142B25D3DC3.heic");
    let bytes = std::fs::read(&file).unwrap();
    let out = heic_to_jpeg(&bytes, DEFAULT_QUALITY, None).unwrap();
    assert!(out.exif && out.icc, "EXIF and ICC carried");
    let src: nom_exif::Exif = nom_exif::MediaParser::new()
        .parse_exif(nom_exif::MediaSource::from_memory(bytes.clone()).unwrap())
        .unwrap()
        .into();
    let dst: nom_exif::Exif = nom_exif::MediaParser::new()
        .parse_exif(nom_exif::MediaSource::from_memory(out.jpeg.clone()).unwrap())
        .unwrap()
        .into();
    for tag in [
        nom_exif::ExifTag::DateTimeOriginal,
        nom_exif::ExifTag::Make,
        nom_exif::ExifTag::Model,
    ] {
        assert_eq!(src.get(tag), dst.get(tag), "{tag:?}");
    }
    assert_eq!(src.gps_info(), dst.gps_info());
    let icc = jpeg_icc(&out.jpeg).unwrap();
    assert!(
        String::from_utf8_lossy(&icc).contains("Display P3")
            || icc.windows(4).any(|w| w == b"desc")
    );
    let (_, pixels) = decode(&bytes, None).unwrap();
    let decoded = decode_jpeg(&out.jpeg);
    assert_eq!(
        (decoded.width(), decoded.height()),
        (pixels.width, pixels.height)
    );
    let err = mean_error(decoded.as_raw(), &pixels.rgb);
    assert!(err < 3.0, "mean error {err}");
}
