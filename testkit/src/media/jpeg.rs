//! A hand-written baseline JPEG encoder for one flat 8x8 grey block.
//!
//! The result is a real, decodable JFIF-style baseline JPEG (standard Huffman
//! tables from ITU T.81 Annex K) with an EXIF APP1 segment and a comment that
//! makes every file's bytes unique, without pulling an image crate into the
//! workspace.

/// Standard luminance DC table: code-length counts and symbols.
const DC_BITS: [u8; 16] = [0, 1, 5, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0];
const DC_VALS: [u8; 12] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11];
/// Standard luminance AC table.
const AC_BITS: [u8; 16] = [0, 2, 1, 3, 3, 2, 4, 3, 5, 5, 4, 4, 0, 0, 1, 0x7d];
const AC_VALS: [u8; 162] = [
    0x01, 0x02, 0x03, 0x00, 0x04, 0x11, 0x05, 0x12, 0x21, 0x31, 0x41, 0x06, 0x13, 0x51, 0x61, 0x07,
    0x22, 0x71, 0x14, 0x32, 0x81, 0x91, 0xa1, 0x08, 0x23, 0x42, 0xb1, 0xc1, 0x15, 0x52, 0xd1, 0xf0,
    0x24, 0x33, 0x62, 0x72, 0x82, 0x09, 0x0a, 0x16, 0x17, 0x18, 0x19, 0x1a, 0x25, 0x26, 0x27, 0x28,
    0x29, 0x2a, 0x34, 0x35, 0x36, 0x37, 0x38, 0x39, 0x3a, 0x43, 0x44, 0x45, 0x46, 0x47, 0x48, 0x49,
    0x4a, 0x53, 0x54, 0x55, 0x56, 0x57, 0x58, 0x59, 0x5a, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68, 0x69,
    0x6a, 0x73, 0x74, 0x75, 0x76, 0x77, 0x78, 0x79, 0x7a, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88, 0x89,
    0x8a, 0x92, 0x93, 0x94, 0x95, 0x96, 0x97, 0x98, 0x99, 0x9a, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7,
    0xa8, 0xa9, 0xaa, 0xb2, 0xb3, 0xb4, 0xb5, 0xb6, 0xb7, 0xb8, 0xb9, 0xba, 0xc2, 0xc3, 0xc4, 0xc5,
    0xc6, 0xc7, 0xc8, 0xc9, 0xca, 0xd2, 0xd3, 0xd4, 0xd5, 0xd6, 0xd7, 0xd8, 0xd9, 0xda, 0xe1, 0xe2,
    0xe3, 0xe4, 0xe5, 0xe6, 0xe7, 0xe8, 0xe9, 0xea, 0xf1, 0xf2, 0xf3, 0xf4, 0xf5, 0xf6, 0xf7, 0xf8,
    0xf9, 0xfa,
];

fn segment(out: &mut Vec<u8>, marker: u8, body: &[u8]) {
    out.extend([0xFF, marker]);
    out.extend(((body.len() + 2) as u16).to_be_bytes());
    out.extend(body);
}

/// Canonical Huffman code (code, length) for `symbol` in a table.
fn huffman_code(bits: &[u8; 16], vals: &[u8], symbol: u8) -> (u16, u8) {
    let mut code: u16 = 0;
    let mut k = 0;
    for (i, &n) in bits.iter().enumerate() {
        for _ in 0..n {
            if vals[k] == symbol {
                return (code, i as u8 + 1);
            }
            code += 1;
            k += 1;
        }
        code <<= 1;
    }
    unreachable!("symbol {symbol} not in table")
}

struct BitWriter {
    out: Vec<u8>,
    acc: u32,
    n: u8,
}

impl BitWriter {
    fn put(&mut self, value: u16, len: u8) {
        for i in (0..len).rev() {
            self.acc = (self.acc << 1) | u32::from((value >> i) & 1);
            self.n += 1;
            if self.n == 8 {
                let byte = self.acc as u8;
                self.out.push(byte);
                if byte == 0xFF {
                    self.out.push(0);
                }
                self.acc = 0;
                self.n = 0;
            }
        }
    }
    fn finish(mut self) -> Vec<u8> {
        while self.n != 0 {
            self.put(1, 1);
        }
        self.out
    }
}

/// A baseline JPEG of a flat 8x8 grey square of brightness `shade`, with
/// `exif` (a TIFF block) in APP1 and `comment` in a COM segment.
pub fn jpeg(exif: Option<&[u8]>, comment: &str, shade: u8) -> Vec<u8> {
    let mut out = vec![0xFF, 0xD8];
    segment(&mut out, 0xE0, b"JFIF\0\x01\x01\0\0\x01\0\x01\0\0");
    if let Some(tiff) = exif {
        let mut app1 = b"Exif\0\0".to_vec();
        app1.extend(tiff);
        segment(&mut out, 0xE1, &app1);
    }
    segment(&mut out, 0xFE, comment.as_bytes());
    let mut dqt = vec![0u8];
    dqt.extend([1u8; 64]);
    segment(&mut out, 0xDB, &dqt);
    segment(&mut out, 0xC0, &[8, 0, 8, 0, 8, 1, 1, 0x11, 0]);
    for (class, bits, vals) in [
        (0x00u8, &DC_BITS, &DC_VALS[..]),
        (0x10, &AC_BITS, &AC_VALS[..]),
    ] {
        let mut dht = vec![class];
        dht.extend(bits);
        dht.extend(vals);
        segment(&mut out, 0xC4, &dht);
    }
    segment(&mut out, 0xDA, &[1, 1, 0x00, 0, 63, 0]);
    // A flat block has only a DC coefficient: 8 * (level - 128) with a
    // quantiser of 1.
    let dc = 8 * (i32::from(shade) - 128);
    let size = (32 - dc.unsigned_abs().leading_zeros()) as u8;
    let mut bits = BitWriter {
        out: Vec::new(),
        acc: 0,
        n: 0,
    };
    let (code, len) = huffman_code(&DC_BITS, &DC_VALS, size);
    bits.put(code, len);
    if size > 0 {
        let v = if dc < 0 { dc + (1 << size) - 1 } else { dc };
        bits.put(v as u16, size);
    }
    let (eob, eob_len) = huffman_code(&AC_BITS, &AC_VALS, 0x00);
    bits.put(eob, eob_len);
    out.extend(bits.finish());
    out.extend([0xFF, 0xD9]);
    out
}
