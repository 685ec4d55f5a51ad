//! Finding metadata blocks inside JPEG, PNG and ISO-BMFF (HEIC, MP4, MOV)
//! files: XMP packets, C2PA manifest stores, PNG text chunks and size.
//!
//! `nom-exif` reads EXIF and QuickTime tags; it does not hand out XMP
//! packets, C2PA manifests (JUMBF in JPEG APP11 segments, a PNG `caBX`
//! chunk, an ISO-BMFF `uuid` box) or PNG `iTXt` chunks, and no small crate
//! does. Each walker here only follows the container's own length fields,
//! bounded by the data, so a damaged file yields "nothing found", never a
//! panic or a huge allocation.

use std::io::{Read, Seek, SeekFrom};

use memchr::memmem;

/// The UUID of the ISO-BMFF box holding a C2PA manifest store.
const C2PA_BMFF_UUID: [u8; 16] = [
    0xd8, 0xfe, 0xc3, 0xd6, 0x1b, 0x0e, 0x48, 0x3c, 0x92, 0x97, 0x58, 0x28, 0x87, 0x7e, 0xc4, 0x81,
];

/// The largest manifest store read from a video (a store holds claims,
/// signatures and a thumbnail: a few hundred KiB in practice).
const MAX_MANIFEST_BYTES: u64 = 32 << 20;

/// The XMP packet in `bytes`, if any: the `<x:xmpmeta>` element, found by
/// scanning, which works the same in every container (how exiftool finds
/// XMP in formats it does not parse).
pub fn find_xmp(bytes: &[u8]) -> Option<String> {
    let start = memmem::find(bytes, b"<x:xmpmeta")?;
    let rest = &bytes[start..];
    let end = memmem::find(rest, b"</x:xmpmeta>")? + b"</x:xmpmeta>".len();
    Some(String::from_utf8_lossy(&rest[..end]).into_owned())
}

/// The C2PA manifest store of a JPEG: the payloads of its APP11 JUMBF
/// segments, concatenated; `None` when the file has no C2PA segment.
pub fn jpeg_c2pa(bytes: &[u8]) -> Option<Vec<u8>> {
    if !bytes.starts_with(&[0xFF, 0xD8]) {
        return None;
    }
    let mut store = Vec::new();
    let mut pos = 2;
    while pos + 4 <= bytes.len() {
        if bytes[pos] != 0xFF {
            break;
        }
        let marker = bytes[pos + 1];
        // Fill bytes and markers without a length.
        if marker == 0xFF || marker == 0x01 || (0xD0..=0xD7).contains(&marker) {
            pos += if marker == 0xFF { 1 } else { 2 };
            continue;
        }
        // Start of scan or end of image: no more metadata segments.
        if marker == 0xDA || marker == 0xD9 {
            break;
        }
        let len = u16::from_be_bytes([bytes[pos + 2], bytes[pos + 3]]) as usize;
        let end = (pos + 2 + len).min(bytes.len());
        if len < 2 {
            break;
        }
        let payload = &bytes[pos + 4..end];
        // APP11, common identifier "JP", then instance and sequence numbers.
        if marker == 0xEB && payload.starts_with(b"JP") && payload.len() > 8 {
            store.extend_from_slice(&payload[8..]);
        }
        pos = end;
    }
    (memmem::find(&store, b"c2pa").is_some()).then_some(store)
}

/// What the chunks of a PNG say: its size, its text chunks and its C2PA
/// manifest store.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PngChunks {
    /// Width in pixels (IHDR).
    pub width: u32,
    /// Height in pixels (IHDR).
    pub height: u32,
    /// `tEXt` and uncompressed `iTXt` chunks, keyword and text, in file order.
    pub texts: Vec<(String, String)>,
    /// The `caBX` chunk (C2PA manifest store), if any.
    pub c2pa: Option<Vec<u8>>,
    /// The file has an `eXIf` chunk.
    pub has_exif: bool,
}

/// Reads the chunks of a PNG; `None` when `bytes` is not a PNG.
pub fn png_chunks(bytes: &[u8]) -> Option<PngChunks> {
    if !bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        return None;
    }
    let mut out = PngChunks::default();
    let mut pos = 8;
    while pos + 8 <= bytes.len() {
        let len = u32::from_be_bytes(bytes[pos..pos + 4].try_into().ok()?) as usize;
        let kind = &bytes[pos + 4..pos + 8];
        let start = pos + 8;
        let end = start.checked_add(len)?.min(bytes.len());
        let data = &bytes[start..end];
        match kind {
            b"IHDR" if data.len() >= 8 => {
                out.width = u32::from_be_bytes(data[0..4].try_into().ok()?);
                out.height = u32::from_be_bytes(data[4..8].try_into().ok()?);
            }
            b"tEXt" => {
                if let Some(i) = data.iter().position(|&b| b == 0) {
                    let key = latin1(&data[..i]);
                    out.texts.push((key, latin1(&data[i + 1..])));
                }
            }
            b"iTXt" => {
                if let Some(text) = itxt(data) {
                    out.texts.push(text);
                }
            }
            b"caBX" => out.c2pa = Some(data.to_vec()),
            b"eXIf" => out.has_exif = true,
            b"IEND" => break,
            _ => {}
        }
        // Length, type, data and CRC.
        pos = end.saturating_add(4);
    }
    Some(out)
}

fn latin1(bytes: &[u8]) -> String {
    bytes.iter().map(|&b| b as char).collect()
}

/// An uncompressed `iTXt` chunk: keyword, flags, language, translated
/// keyword, then UTF-8 text.
fn itxt(data: &[u8]) -> Option<(String, String)> {
    let k = data.iter().position(|&b| b == 0)?;
    let key = latin1(&data[..k]);
    let compressed = *data.get(k + 1)?;
    if compressed != 0 {
        return None;
    }
    let rest = data.get(k + 3..)?;
    let lang_end = rest.iter().position(|&b| b == 0)?;
    let rest = &rest[lang_end + 1..];
    let trans_end = rest.iter().position(|&b| b == 0)?;
    Some((
        key,
        String::from_utf8_lossy(&rest[trans_end + 1..]).into_owned(),
    ))
}

/// The C2PA manifest store of an ISO-BMFF file (HEIC, MP4, MOV): the
/// top-level `uuid` box with the C2PA identifier. Only box headers are read
/// until it is found, so this is cheap on a large video.
pub fn bmff_c2pa<R: Read + Seek>(reader: &mut R) -> std::io::Result<Option<Vec<u8>>> {
    let total = reader.seek(SeekFrom::End(0))?;
    let mut pos = 0u64;
    // A real file has a few dozen top-level boxes; a damaged one is not
    // walked forever.
    for _ in 0..10_000 {
        if pos + 8 > total {
            break;
        }
        reader.seek(SeekFrom::Start(pos))?;
        let mut header = [0u8; 8];
        reader.read_exact(&mut header)?;
        let mut size = u64::from(u32::from_be_bytes([
            header[0], header[1], header[2], header[3],
        ]));
        let mut header_len = 8;
        if size == 1 {
            let mut large = [0u8; 8];
            reader.read_exact(&mut large)?;
            size = u64::from_be_bytes(large);
            header_len = 16;
        } else if size == 0 {
            size = total - pos;
        }
        if size < header_len || pos + size > total {
            break;
        }
        if &header[4..8] == b"uuid" && size >= header_len + 16 {
            let mut id = [0u8; 16];
            reader.read_exact(&mut id)?;
            if id == C2PA_BMFF_UUID {
                let len = (size - header_len - 16).min(MAX_MANIFEST_BYTES);
                let mut store = Vec::new();
                reader.take(len).read_to_end(&mut store)?;
                return Ok(Some(store));
            }
        }
        pos += size;
    }
    Ok(None)
}

/// The IPTC digital source types named in `bytes` (a C2PA manifest store
/// or an XMP packet): the word after each `digitalsourcetype/`, as in
/// `http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia`.
/// Text in a manifest's CBOR is stored as plain UTF-8, so a scan finds it.
pub fn digital_source_types(bytes: &[u8]) -> Vec<String> {
    let needle = b"digitalsourcetype/";
    let mut out: Vec<String> = Vec::new();
    for at in memmem::find_iter(bytes, needle) {
        let word: String = bytes[at + needle.len()..]
            .iter()
            .take_while(|b| b.is_ascii_alphanumeric())
            .map(|&b| b as char)
            .collect();
        if !word.is_empty() && !out.contains(&word) {
            out.push(word);
        }
    }
    out
}

/// The text of an XMP property, in attribute (`ns:Name="v"`) or element
/// (`<ns:Name>v</ns:Name>`, or inside an `rdf:Alt`/`rdf:Seq`) form.
pub fn xmp_property(xmp: &str, name: &str) -> Option<String> {
    let attr = format!("{name}=\"");
    if let Some(at) = xmp.find(&attr) {
        let rest = &xmp[at + attr.len()..];
        return rest.find('"').map(|end| rest[..end].trim().to_string());
    }
    let open = format!("<{name}");
    let close = format!("</{name}>");
    let at = xmp.find(&open)?;
    let rest = &xmp[at + open.len()..];
    let body_start = rest.find('>')? + 1;
    let body = &rest[body_start..rest.find(&close)?];
    // The innermost text: strip any nested tags (rdf:Alt/rdf:li).
    let mut text = String::new();
    let mut in_tag = false;
    for c in body.chars() {
        match c {
            '<' => in_tag = true,
            '>' => in_tag = false,
            c if !in_tag => text.push(c),
            _ => {}
        }
    }
    let text = text.trim();
    (!text.is_empty()).then(|| text.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xmp_is_found_and_read_in_both_forms() {
        let file = b"junk<x:xmpmeta xmlns:x='adobe:ns:meta/'><rdf:Description xmp:CreatorTool=\"Midjourney\"><exif:UserComment><rdf:Alt><rdf:li xml:lang=\"x-default\">Screenshot</rdf:li></rdf:Alt></exif:UserComment></rdf:Description></x:xmpmeta>junk";
        let xmp = find_xmp(file).unwrap();
        assert!(xmp.ends_with("</x:xmpmeta>"));
        assert_eq!(xmp_property(&xmp, "xmp:CreatorTool").unwrap(), "Midjourney");
        assert_eq!(
            xmp_property(&xmp, "exif:UserComment").unwrap(),
            "Screenshot"
        );
        assert_eq!(xmp_property(&xmp, "xmp:CreateDate"), None);
        assert_eq!(find_xmp(b"<x:xmpmeta never closed"), None);
    }

    #[test]
    fn source_types_are_listed_once() {
        let b = b"..http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia\x00..digitalsourcetype/trainedAlgorithmicMedia..digitalsourcetype/digitalCapture";
        assert_eq!(
            digital_source_types(b),
            vec!["trainedAlgorithmicMedia", "digitalCapture"]
        );
    }

    #[test]
    fn png_chunks_are_read_and_damage_is_survived() {
        let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
        let mut chunk = |kind: &[u8], data: &[u8]| {
            png.extend_from_slice(&(data.len() as u32).to_be_bytes());
            png.extend_from_slice(kind);
            png.extend_from_slice(data);
            png.extend_from_slice(&[0; 4]);
        };
        let mut ihdr = Vec::new();
        ihdr.extend_from_slice(&1170u32.to_be_bytes());
        ihdr.extend_from_slice(&2532u32.to_be_bytes());
        ihdr.extend_from_slice(&[8, 6, 0, 0, 0]);
        chunk(b"IHDR", &ihdr);
        chunk(b"tEXt", b"parameters\0a cat, Steps: 20");
        chunk(b"iTXt", b"Software\0\0\0en\0\0ComfyUI");
        chunk(b"caBX", b"jumbc2pa");
        let c = png_chunks(&png).unwrap();
        assert_eq!((c.width, c.height), (1170, 2532));
        assert_eq!(c.texts[0].0, "parameters");
        assert_eq!(c.texts[1], ("Software".into(), "ComfyUI".into()));
        assert!(c.c2pa.is_some());
        // A chunk claiming more bytes than the file has.
        png.extend_from_slice(&u32::MAX.to_be_bytes());
        png.extend_from_slice(b"tEXt");
        assert!(png_chunks(&png).is_some());
        assert!(png_chunks(b"GIF89a").is_none());
    }

    #[test]
    fn bmff_uuid_box_is_found() {
        let mut file = Vec::new();
        file.extend_from_slice(&16u32.to_be_bytes());
        file.extend_from_slice(b"ftypmp42\0\0\0\0");
        let body = b"c2pa manifest";
        file.extend_from_slice(&((8 + 16 + body.len()) as u32).to_be_bytes());
        file.extend_from_slice(b"uuid");
        file.extend_from_slice(&C2PA_BMFF_UUID);
        file.extend_from_slice(body);
        let found = bmff_c2pa(&mut std::io::Cursor::new(&file)).unwrap();
        assert_eq!(found.as_deref(), Some(&body[..]));
        file[16..20].copy_from_slice(&u32::MAX.to_be_bytes());
        assert_eq!(bmff_c2pa(&mut std::io::Cursor::new(&file)).unwrap(), None);
    }
}
