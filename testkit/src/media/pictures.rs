//! Real pictures of any size for the organize engine's tests: JPEGs and
//! PNGs with chosen metadata, and HEICs encoded by libheif (when it has an
//! HEVC encoder) with EXIF, XMP, an ICC profile and a stored rotation.

use libheif_rs::{
    Channel, ColorProfileRaw, ColorSpace, CompressionFormat, EncoderQuality, EncodingOptions,
    HeifContext, Image, ImageOrientation, LibHeif, RgbChroma,
};

/// A smooth colour gradient (RGB, rows packed): easy to compress, and any
/// rotation or channel swap shows in a pixel comparison.
pub fn gradient(width: u32, height: u32) -> Vec<u8> {
    let mut out = Vec::with_capacity((width * height * 3) as usize);
    for y in 0..height {
        for x in 0..width {
            out.push((x * 255 / width.max(1)) as u8);
            out.push((y * 255 / height.max(1)) as u8);
            out.push(((x + y) * 127 / (width + height).max(1)) as u8);
        }
    }
    out
}

/// A JPEG of [`gradient`] with EXIF (a TIFF block) and XMP when given.
pub fn jpeg_picture(width: u16, height: u16, exif: Option<&[u8]>, xmp: Option<&str>) -> Vec<u8> {
    let mut out = Vec::new();
    let mut enc = jpeg_encoder::Encoder::new(&mut out, 90);
    if let Some(tiff) = exif {
        enc.add_exif_metadata(tiff).expect("EXIF fits a segment");
    }
    if let Some(x) = xmp {
        let mut seg = b"http://ns.adobe.com/xap/1.0/\0".to_vec();
        seg.extend(x.as_bytes());
        enc.add_app_segment(1, seg).expect("XMP fits a segment");
    }
    enc.encode(
        &gradient(u32::from(width), u32::from(height)),
        width,
        height,
        jpeg_encoder::ColorType::Rgb,
    )
    .expect("JPEG encodes");
    out
}

/// A PNG of [`gradient`] with `tEXt` chunks and an `eXIf` chunk when given.
pub fn png_picture(
    width: u32,
    height: u32,
    texts: &[(&str, &str)],
    exif: Option<&[u8]>,
) -> Vec<u8> {
    super::png::rgb_png(width, height, &gradient(width, height), texts, exif)
}

/// What a generated HEIC carries besides its pixels.
#[derive(Default, Clone)]
pub struct HeicExtras<'a> {
    /// EXIF orientation (1-8) stored as the HEIF `irot`/`imir`
    /// transformation: the pixels are stored turned, as an iPhone does.
    pub orientation: u8,
    /// EXIF TIFF block.
    pub exif: Option<&'a [u8]>,
    /// XMP packet.
    pub xmp: Option<&'a str>,
    /// ICC profile bytes.
    pub icc: Option<&'a [u8]>,
}

/// A HEIC of `pixels` (RGB, `width`×`height`, upright), stored with the
/// transformation of `extras.orientation`, or `None` when this libheif has
/// no HEVC encoder (the test then says it skipped).
pub fn heic_picture(
    pixels: &[u8],
    width: u32,
    height: u32,
    extras: &HeicExtras<'_>,
) -> Option<Vec<u8>> {
    let lib = LibHeif::new();
    let mut encoder = lib.encoder_for_format(CompressionFormat::Hevc).ok()?;
    encoder.set_quality(EncoderQuality::Lossy(90)).ok()?;
    // The stored image is the upright one turned back, so that applying
    // the transformation gives `pixels` again.
    let (stored, sw, sh) = unapply_orientation(pixels, width, height, extras.orientation);
    let mut image = Image::new(sw, sh, ColorSpace::Rgb(RgbChroma::Rgb)).ok()?;
    image.create_plane(Channel::Interleaved, sw, sh, 8).ok()?;
    {
        let planes = image.planes_mut();
        let plane = planes.interleaved?;
        let row = sw as usize * 3;
        for y in 0..sh as usize {
            plane.data[y * plane.stride..y * plane.stride + row]
                .copy_from_slice(&stored[y * row..(y + 1) * row]);
        }
    }
    if let Some(icc) = extras.icc {
        image
            .set_color_profile_raw(&ColorProfileRaw::new(
                libheif_rs::color_profile_types::PROF,
                icc.to_vec(),
            ))
            .ok()?;
    }
    let mut ctx = HeifContext::new().ok()?;
    let mut options = EncodingOptions::new().ok()?;
    options.set_image_orientation(orientation_of(extras.orientation));
    let handle = ctx.encode_image(&image, &mut encoder, Some(options)).ok()?;
    if let Some(exif) = extras.exif {
        ctx.add_exif_metadata(&handle, exif).ok()?;
    }
    if let Some(xmp) = extras.xmp {
        ctx.add_xmp_metadata(&handle, xmp.as_bytes()).ok()?;
    }
    ctx.write_to_bytes().ok()
}

fn orientation_of(o: u8) -> ImageOrientation {
    match o {
        2 => ImageOrientation::FlipHorizontally,
        3 => ImageOrientation::Rotate180,
        4 => ImageOrientation::FlipVertically,
        5 => ImageOrientation::Rotate90CwThenFlipHorizontally,
        6 => ImageOrientation::Rotate90Cw,
        7 => ImageOrientation::Rotate90CwThenFlipVertically,
        8 => ImageOrientation::Rotate270Cw,
        _ => ImageOrientation::Normal,
    }
}

/// The stored pixels for an upright image and an EXIF orientation: only
/// 1 (as is), 3 (half turn), 6 and 8 (quarter turns) are generated.
fn unapply_orientation(px: &[u8], w: u32, h: u32, o: u8) -> (Vec<u8>, u32, u32) {
    let (w, h) = (w as usize, h as usize);
    let at = |x: usize, y: usize| &px[(y * w + x) * 3..(y * w + x) * 3 + 3];
    let mut out = Vec::with_capacity(px.len());
    match o {
        3 => {
            for y in (0..h).rev() {
                for x in (0..w).rev() {
                    out.extend_from_slice(at(x, y));
                }
            }
            (out, w as u32, h as u32)
        }
        // Orientation 6: display = stored turned 90° clockwise, so stored =
        // display turned 90° counter-clockwise (h wide, w tall).
        6 => {
            for sy in 0..w {
                for sx in 0..h {
                    out.extend_from_slice(at(w - 1 - sy, sx));
                }
            }
            (out, h as u32, w as u32)
        }
        8 => {
            for sy in 0..w {
                for sx in 0..h {
                    out.extend_from_slice(at(sy, h - 1 - sx));
                }
            }
            (out, h as u32, w as u32)
        }
        _ => (px.to_vec(), w as u32, h as u32),
    }
}
