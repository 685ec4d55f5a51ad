//! The one edit photovault makes to EXIF: setting Orientation to 1 (upright)
//! after the pixels have been rotated, so a viewer does not rotate them a
//! second time. Everything else in the EXIF block is carried over byte for
//! byte; only the two bytes of the tag's value change, so offsets, maker
//! notes and GPS stay valid.

/// The EXIF Orientation tag.
const ORIENTATION: u16 = 0x0112;

/// The TIFF block of a HEIF `Exif` item: the item starts with a 4-byte
/// big-endian offset to the TIFF header (usually 6, skipping `Exif\0\0`).
pub fn tiff_of_heif_exif(item: &[u8]) -> Option<&[u8]> {
    let offset = u32::from_be_bytes(item.get(..4)?.try_into().ok()?) as usize;
    let tiff = item.get(4usize.checked_add(offset)?..)?;
    (tiff.starts_with(b"II*\0") || tiff.starts_with(b"MM\0*")).then_some(tiff)
}

/// The Orientation value in IFD0 of a TIFF block, if present.
pub fn orientation(tiff: &[u8]) -> Option<u16> {
    let (at, big) = orientation_value_at(tiff)?;
    read_u16(tiff, at, big)
}

/// Sets Orientation in IFD0 to 1; returns whether a tag was changed.
pub fn reset_orientation(tiff: &mut [u8]) -> bool {
    let Some((at, big)) = orientation_value_at(tiff) else {
        return false;
    };
    let one: [u8; 2] = if big {
        1u16.to_be_bytes()
    } else {
        1u16.to_le_bytes()
    };
    match tiff.get_mut(at..at + 2) {
        Some(slot) => {
            slot.copy_from_slice(&one);
            true
        }
        None => false,
    }
}

/// Where the Orientation value sits (a SHORT stored inline in the entry)
/// and whether the block is big-endian.
fn orientation_value_at(tiff: &[u8]) -> Option<(usize, bool)> {
    let big = match tiff.get(..4)? {
        b"MM\0*" => true,
        b"II*\0" => false,
        _ => return None,
    };
    let ifd0 = read_u32(tiff, 4, big)? as usize;
    let count = read_u16(tiff, ifd0, big)? as usize;
    for i in 0..count {
        let entry = ifd0 + 2 + i * 12;
        if read_u16(tiff, entry, big)? == ORIENTATION {
            // Type SHORT (3), count 1: the value is in the entry itself.
            if read_u16(tiff, entry + 2, big)? != 3 || read_u32(tiff, entry + 4, big)? != 1 {
                return None;
            }
            return Some((entry + 8, big));
        }
    }
    None
}

fn read_u16(b: &[u8], at: usize, big: bool) -> Option<u16> {
    let bytes: [u8; 2] = b.get(at..at.checked_add(2)?)?.try_into().ok()?;
    Some(if big {
        u16::from_be_bytes(bytes)
    } else {
        u16::from_le_bytes(bytes)
    })
}

fn read_u32(b: &[u8], at: usize, big: bool) -> Option<u32> {
    let bytes: [u8; 4] = b.get(at..at.checked_add(4)?)?.try_into().ok()?;
    Some(if big {
        u32::from_be_bytes(bytes)
    } else {
        u32::from_le_bytes(bytes)
    })
}

/// Builds a minimal TIFF block (for tests here and elsewhere): IFD0 with
/// Make, Orientation and nothing else, in either byte order.
#[cfg(test)]
pub fn tiny_tiff(big: bool, orientation: u16) -> Vec<u8> {
    let u16b = |v: u16| {
        if big {
            v.to_be_bytes()
        } else {
            v.to_le_bytes()
        }
    };
    let u32b = |v: u32| {
        if big {
            v.to_be_bytes()
        } else {
            v.to_le_bytes()
        }
    };
    let mut t = Vec::new();
    t.extend_from_slice(if big { b"MM\0*" } else { b"II*\0" });
    t.extend_from_slice(&u32b(8));
    t.extend_from_slice(&u16b(2));
    // Make: ASCII, 4 bytes inline ("Cam\0").
    t.extend_from_slice(&u16b(0x010F));
    t.extend_from_slice(&u16b(2));
    t.extend_from_slice(&u32b(4));
    t.extend_from_slice(b"Cam\0");
    t.extend_from_slice(&u16b(ORIENTATION));
    t.extend_from_slice(&u16b(3));
    t.extend_from_slice(&u32b(1));
    t.extend_from_slice(&u16b(orientation));
    t.extend_from_slice(&[0, 0]);
    t.extend_from_slice(&u32b(0));
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resets_orientation_in_both_byte_orders_and_nothing_else() {
        for big in [true, false] {
            let mut t = tiny_tiff(big, 6);
            let before = t.clone();
            assert_eq!(orientation(&t), Some(6));
            assert!(reset_orientation(&mut t));
            assert_eq!(orientation(&t), Some(1));
            let changed = before.iter().zip(&t).filter(|(a, b)| a != b).count();
            assert_eq!(changed, 1);
        }
    }

    #[test]
    fn damaged_blocks_are_left_alone() {
        let mut t = tiny_tiff(false, 6);
        t.truncate(20);
        assert!(!reset_orientation(&mut t));
        assert_eq!(orientation(b"nonsense"), None);
        let mut item = vec![0, 0, 0, 6];
        item.extend_from_slice(b"Exif\0\0");
        item.extend_from_slice(&tiny_tiff(true, 3));
        assert_eq!(orientation(tiff_of_heif_exif(&item).unwrap()), Some(3));
        assert!(tiff_of_heif_exif(&[0, 0, 0, 200, 1]).is_none());
    }
}
