//! HEIC to JPEG, keeping everything a JPEG can hold.
//!
//! - Pixels: decoded by libheif (through `libheif-rs`) with the file's
//!   transformations applied (rotation `irot`, mirroring `imir`, crop
//!   `clap`), so the pixels come out upright; the EXIF Orientation tag is
//!   then set to 1, so no viewer rotates them a second time (orientation is
//!   right once). HDR (10-bit) images are converted to 8 bits.
//! - Encoded by `jpeg-encoder` at the chosen quality with 4:2:0 chroma, as
//!   the HEIC itself stores it (iPhone HEICs are 4:2:0): 4:4:4 would cost
//!   size and time and bring back no colour the source had.
//! - EXIF (capture time, GPS, camera, maker notes) byte for byte but for the
//!   orientation; XMP; and the ICC colour profile. An iPhone photo is in
//!   Display P3: without its profile every colour shifts.
//!
//! What cannot be carried over is refused, not dropped: EXIF or XMP larger
//! than one JPEG segment (64 KiB) is an error, and the engine then copies
//! the HEIC unchanged. Depth maps, HDR gain maps and Live Photo pairing
//! metadata have no place in a JPEG; the engine keeps them by keeping the
//! HEIC when asked (`--keep-heic`).

use libheif_rs::{ColorSpace, HeifContext, LibHeif, RgbChroma};

use super::exif_edit;

/// The JPEG quality used unless the user chooses another: high enough that
/// the difference from the HEIC is invisible, at about the HEIC's size
/// times two.
pub const DEFAULT_QUALITY: u8 = 92;

/// Why a HEIC was not converted; the engine copies it unchanged and
/// reports this.
#[derive(Debug, thiserror::Error)]
pub enum ConvertError {
    /// libheif could not read or decode it (damaged, truncated, a codec
    /// libheif lacks).
    #[error("the HEIC could not be decoded ({0})")]
    Decode(String),
    /// A metadata block too large for a JPEG segment.
    #[error("its {what} ({size} bytes) is larger than a JPEG segment can hold; converting would lose it")]
    MetadataTooLarge {
        /// Which block.
        what: &'static str,
        /// Its size.
        size: usize,
    },
    /// The JPEG encoder refused (an image over 65535 pixels a side).
    #[error("the JPEG could not be encoded ({0})")]
    Encode(String),
}

/// A converted image and what it carries.
#[derive(Debug, Clone)]
pub struct Converted {
    /// The JPEG file's bytes.
    pub jpeg: Vec<u8>,
    /// Width of the upright image.
    pub width: u32,
    /// Height of the upright image.
    pub height: u32,
    /// EXIF was carried over.
    pub exif: bool,
    /// XMP was carried over.
    pub xmp: bool,
    /// The ICC profile was carried over.
    pub icc: bool,
    /// Orientation was applied to the pixels (the HEIC was stored rotated or
    /// mirrored, or its EXIF said so) and the tag reset to 1.
    pub rotated: bool,
}

/// Decoded, upright 8-bit RGB pixels of a HEIC's primary image, packed
/// rows (width × 3 bytes each).
#[derive(Debug, Clone)]
pub struct Pixels {
    /// RGB bytes, row after row.
    pub rgb: Vec<u8>,
    /// Width.
    pub width: u32,
    /// Height.
    pub height: u32,
}

/// Decodes the primary image of a HEIC with its transformations applied.
/// `threads` caps libheif's own threads for this image (tiles decode in
/// parallel); `None` leaves libheif's default.
pub fn decode(
    bytes: &[u8],
    threads: Option<u32>,
) -> Result<(HeifContext<'_>, Pixels), ConvertError> {
    let dec = |e: libheif_rs::HeifError| ConvertError::Decode(e.message.clone());
    let lib = LibHeif::new();
    let mut ctx = HeifContext::read_from_bytes(bytes).map_err(dec)?;
    if let Some(n) = threads {
        ctx.set_max_decoding_threads(n);
    }
    let handle = ctx.primary_image_handle().map_err(dec)?;
    let image = lib
        .decode(&handle, ColorSpace::Rgb(RgbChroma::Rgb), None)
        .map_err(dec)?;
    let planes = image.planes();
    let plane = planes
        .interleaved
        .ok_or_else(|| ConvertError::Decode("libheif returned no RGB plane".into()))?;
    let (w, h) = (plane.width as usize, plane.height as usize);
    let row = w * 3;
    let mut rgb = Vec::with_capacity(row * h);
    for y in 0..h {
        let start = y * plane.stride;
        let line = plane
            .data
            .get(start..start + row)
            .ok_or_else(|| ConvertError::Decode("libheif returned a short RGB plane".into()))?;
        rgb.extend_from_slice(line);
    }
    drop(handle);
    Ok((
        ctx,
        Pixels {
            rgb,
            width: plane.width,
            height: plane.height,
        },
    ))
}

/// Converts a HEIC (its bytes) to a JPEG at `quality` (1-100), carrying
/// EXIF, XMP and the ICC profile over; see the module documentation.
pub fn heic_to_jpeg(
    bytes: &[u8],
    quality: u8,
    threads: Option<u32>,
) -> Result<Converted, ConvertError> {
    let (ctx, pixels) = decode(bytes, threads)?;
    let dec = |e: libheif_rs::HeifError| ConvertError::Decode(e.message.clone());
    let handle = ctx.primary_image_handle().map_err(dec)?;

    let mut exif = None;
    let mut xmp = None;
    for block in handle.all_metadata() {
        match &block.item_type.0 {
            b"Exif" => {
                if let Some(tiff) = exif_edit::tiff_of_heif_exif(&block.raw_data) {
                    exif.get_or_insert_with(|| tiff.to_vec());
                }
            }
            b"mime" if block.content_type.contains("rdf+xml") => {
                xmp.get_or_insert(block.raw_data);
            }
            _ => {}
        }
    }
    let icc = handle
        .color_profile_raw()
        .map(|p| p.data)
        .filter(|d| !d.is_empty());
    drop(handle);

    let mut encoder_output = Vec::with_capacity(bytes.len() * 2);
    let mut enc = jpeg_encoder::Encoder::new(&mut encoder_output, quality.clamp(1, 100));
    enc.set_sampling_factor(jpeg_encoder::SamplingFactor::F_2_2);
    let enc_err = |e: jpeg_encoder::EncodingError| ConvertError::Encode(e.to_string());

    let mut rotated = false;
    if let Some(tiff) = exif.as_mut() {
        // libheif applied the stored transformations: the pixels are
        // upright, whatever the tag said.
        rotated = exif_edit::orientation(tiff).is_some_and(|o| o != 1);
        exif_edit::reset_orientation(tiff);
        if tiff.len() + 6 > 65533 {
            return Err(ConvertError::MetadataTooLarge {
                what: "EXIF",
                size: tiff.len(),
            });
        }
        enc.add_exif_metadata(tiff).map_err(enc_err)?;
    }
    if let Some(packet) = &xmp {
        let packet = reset_xmp_orientation(packet);
        let mut segment = b"http://ns.adobe.com/xap/1.0/\0".to_vec();
        segment.extend_from_slice(&packet);
        if segment.len() > 65533 {
            return Err(ConvertError::MetadataTooLarge {
                what: "XMP",
                size: packet.len(),
            });
        }
        enc.add_app_segment(1, segment).map_err(enc_err)?;
    }
    if let Some(profile) = &icc {
        enc.add_icc_profile(profile).map_err(enc_err)?;
    }
    let (w, h) = (
        u16::try_from(pixels.width)
            .map_err(|_| ConvertError::Encode("wider than 65535 pixels".into()))?,
        u16::try_from(pixels.height)
            .map_err(|_| ConvertError::Encode("taller than 65535 pixels".into()))?,
    );
    enc.encode(&pixels.rgb, w, h, jpeg_encoder::ColorType::Rgb)
        .map_err(enc_err)?;
    Ok(Converted {
        jpeg: encoder_output,
        width: pixels.width,
        height: pixels.height,
        exif: exif.is_some(),
        xmp: xmp.is_some(),
        icc: icc.is_some(),
        rotated,
    })
}

/// The EXIF TIFF block of a HEIC's primary image, read through libheif:
/// for the HEICs whose layout `nom-exif` does not follow.
pub fn exif_tiff(bytes: &[u8]) -> Option<Vec<u8>> {
    let ctx = HeifContext::read_from_bytes(bytes).ok()?;
    let handle = ctx.primary_image_handle().ok()?;
    handle
        .all_metadata()
        .into_iter()
        .filter(|b| &b.item_type.0 == b"Exif")
        .find_map(|b| exif_edit::tiff_of_heif_exif(&b.raw_data).map(<[u8]>::to_vec))
}

/// An XMP packet with `tiff:Orientation` set to 1 (attribute or element
/// form), matching the upright pixels.
fn reset_xmp_orientation(packet: &[u8]) -> Vec<u8> {
    let text = String::from_utf8_lossy(packet);
    let mut out = text.to_string();
    for (open, close) in [
        ("tiff:Orientation=\"", "\""),
        ("<tiff:Orientation>", "</tiff:Orientation>"),
    ] {
        if let Some(at) = out.find(open) {
            let start = at + open.len();
            if let Some(len) = out[start..].find(close) {
                out.replace_range(start..start + len, "1");
            }
        }
    }
    if out == text {
        packet.to_vec()
    } else {
        out.into_bytes()
    }
}

#[cfg(test)]
mod tests;
