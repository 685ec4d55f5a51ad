//! A minimal valid PNG (8x8 grey, stored deflate) with an eXIf chunk.

fn crc32(data: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

fn adler32(data: &[u8]) -> u32 {
    let (mut a, mut b) = (1u32, 0u32);
    for &x in data {
        a = (a + u32::from(x)) % 65521;
        b = (b + a) % 65521;
    }
    (b << 16) | a
}

fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], body: &[u8]) {
    out.extend((body.len() as u32).to_be_bytes());
    let mut crc_input = kind.to_vec();
    crc_input.extend(body);
    out.extend(&crc_input);
    out.extend(crc32(&crc_input).to_be_bytes());
}

/// An 8x8 grey PNG of brightness `shade` with EXIF (`exif`, a TIFF block)
/// and a `Comment` text chunk that makes the bytes unique.
pub fn png(exif: &[u8], comment: &str, shade: u8) -> Vec<u8> {
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = Vec::new();
    ihdr.extend(8u32.to_be_bytes());
    ihdr.extend(8u32.to_be_bytes());
    ihdr.extend([8, 0, 0, 0, 0]);
    chunk(&mut out, b"IHDR", &ihdr);
    chunk(&mut out, b"eXIf", exif);
    let mut text = b"Comment\0".to_vec();
    text.extend(comment.bytes().filter(u8::is_ascii));
    chunk(&mut out, b"tEXt", &text);
    let mut raw = Vec::new();
    for _ in 0..8 {
        raw.push(0);
        raw.extend([shade; 8]);
    }
    let mut z = vec![0x78, 0x01, 0x01];
    z.extend((raw.len() as u16).to_le_bytes());
    z.extend((!(raw.len() as u16)).to_le_bytes());
    z.extend(&raw);
    z.extend(adler32(&raw).to_be_bytes());
    chunk(&mut out, b"IDAT", &z);
    chunk(&mut out, b"IEND", &[]);
    out
}

/// An RGB PNG of any size (stored, uncompressed deflate blocks), with
/// `tEXt` chunks and an optional `eXIf` chunk.
pub fn rgb_png(
    width: u32,
    height: u32,
    rgb: &[u8],
    texts: &[(&str, &str)],
    exif: Option<&[u8]>,
) -> Vec<u8> {
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = Vec::new();
    ihdr.extend(width.to_be_bytes());
    ihdr.extend(height.to_be_bytes());
    ihdr.extend([8, 2, 0, 0, 0]);
    chunk(&mut out, b"IHDR", &ihdr);
    if let Some(e) = exif {
        chunk(&mut out, b"eXIf", e);
    }
    for (k, v) in texts {
        let mut t = k.as_bytes().to_vec();
        t.push(0);
        t.extend(v.bytes());
        chunk(&mut out, b"tEXt", &t);
    }
    let row = width as usize * 3;
    let mut raw = Vec::with_capacity((row + 1) * height as usize);
    for y in 0..height as usize {
        raw.push(0);
        raw.extend(&rgb[y * row..(y + 1) * row]);
    }
    let mut z = vec![0x78, 0x01];
    let blocks: Vec<&[u8]> = raw.chunks(65_535).collect();
    for (i, block) in blocks.iter().enumerate() {
        z.push(u8::from(i + 1 == blocks.len()));
        z.extend((block.len() as u16).to_le_bytes());
        z.extend((!(block.len() as u16)).to_le_bytes());
        z.extend(*block);
    }
    z.extend(adler32(&raw).to_be_bytes());
    chunk(&mut out, b"IDAT", &z);
    chunk(&mut out, b"IEND", &[]);
    out
}
