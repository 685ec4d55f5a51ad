//! Which folder a file belongs in, and why.
//!
//! Rules for a file from a folder, first match wins:
//! 1. not media (unreadable, empty, unknown content) → `unknown/`;
//! 2. made by an algorithm → `generated/`: a C2PA manifest or the XMP
//!    whose IPTC digital source type says so (`trainedAlgorithmicMedia`,
//!    `compositeWithTrainedAlgorithmicMedia`, `algorithmicMedia`,
//!    `compositeSynthetic`), a generator's name in a software tag (DALL·E,
//!    Midjourney, Stable Diffusion, ...), or a name that is only a UUID on a
//!    file that names no camera (how ChatGPT and other generators save).
//!    A C2PA manifest alone means nothing: cameras and phones sign ordinary
//!    photos too;
//! 3. a screenshot or screen recording → `screenshots/`: EXIF or XMP
//!    UserComment "Screenshot", IPTC `screenCapture`, the names macOS and
//!    iOS give them, or a PNG that names no camera at the exact pixel size of
//!    a known device screen;
//! 4. a video container → `videos/`;
//! 5. everything else → `photos/`.
//!
//! A Photos library knows better for screenshots and videos (its flags and
//! media kind); see [`classify_photos_asset`].

use super::containers::{digital_source_types, xmp_property};
use super::facts::FileFacts;
use super::sniff::MediaKind;

/// The folders of the organized tree.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Category {
    /// Photos taken with a camera.
    Photos,
    /// Videos.
    Videos,
    /// Screenshots and screen recordings.
    Screenshots,
    /// AI-generated or otherwise synthetic images.
    Generated,
    /// What cannot be read or is not media.
    Unknown,
}

impl Category {
    /// The folder name under `Organized/`.
    pub fn dir_name(self) -> &'static str {
        match self {
            Category::Photos => "photos",
            Category::Videos => "videos",
            Category::Screenshots => "screenshots",
            Category::Generated => "generated",
            Category::Unknown => "unknown",
        }
    }
}

/// A category and the reason for it, in words for the report.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Classification {
    /// Where the file goes.
    pub category: Category,
    /// Why.
    pub reason: String,
}

impl Classification {
    fn new(category: Category, reason: impl Into<String>) -> Self {
        Classification {
            category,
            reason: reason.into(),
        }
    }
}

/// IPTC digital source types meaning the content was made by an algorithm.
const GENERATED_SOURCE_TYPES: &[&str] = &[
    "trainedAlgorithmicMedia",
    "compositeWithTrainedAlgorithmicMedia",
    "algorithmicMedia",
    "compositeSynthetic",
];

/// Names of image generators as they appear in software tags, lower case.
const GENERATORS: &[&str] = &[
    "dall-e",
    "dall·e",
    "dalle",
    "chatgpt",
    "openai",
    "midjourney",
    "stable diffusion",
    "stablediffusion",
    "stability.ai",
    "firefly",
    "novelai",
    "comfyui",
    "invokeai",
    "automatic1111",
    "google imagen",
    "ideogram",
    "leonardo.ai",
    "bing image creator",
    "microsoft designer",
];

/// PNG text keys only image generators write (Stable Diffusion web UIs,
/// ComfyUI, InvokeAI).
const GENERATOR_PNG_KEYS: &[&str] = &[
    "parameters",
    "prompt",
    "workflow",
    "invokeai_metadata",
    "sd-metadata",
    "dream",
];

/// Screen sizes in pixels (portrait; landscape is checked too) of iPhones,
/// iPads and Macs: a PNG of exactly this size with no camera is a
/// screenshot.
const SCREEN_SIZES: &[(u32, u32)] = &[
    // iPhone
    (640, 960),
    (640, 1136),
    (750, 1334),
    (828, 1792),
    (1080, 1920),
    (1242, 2208),
    (1125, 2436),
    (1242, 2688),
    (1080, 2340),
    (1170, 2532),
    (1284, 2778),
    (1179, 2556),
    (1290, 2796),
    (1206, 2622),
    (1320, 2868),
    (1260, 2736),
    // iPad
    (768, 1024),
    (1536, 2048),
    (1620, 2160),
    (1668, 2224),
    (1668, 2388),
    (1640, 2360),
    (1488, 2266),
    (2048, 2732),
    (2064, 2752),
    // Mac and common displays
    (800, 1280),
    (900, 1440),
    (1050, 1680),
    (1080, 1920),
    (1200, 1920),
    (1440, 2560),
    (1600, 2560),
    (1664, 2560),
    (1800, 2880),
    (1912, 2940),
    (1964, 3024),
    (2234, 3456),
    (2160, 3840),
    (2520, 4480),
    (2880, 5120),
];

/// Name prefixes macOS and iOS give screenshots and screen recordings.
const SCREENSHOT_NAMES: &[&str] = &[
    "screenshot",
    "screen shot ",
    "simulator screenshot",
    "screen recording",
    "bildschirmfoto",
    "capture d’écran",
    "capture d'écran",
];

/// Classifies a file from a folder; `file_name` is its name, `kind` what
/// its bytes are.
pub fn classify_file(file_name: &str, kind: MediaKind, facts: &FileFacts) -> Classification {
    if let Some(reason) = generated_reason(file_name, facts) {
        return Classification::new(Category::Generated, reason);
    }
    if let Some(reason) = screenshot_reason(file_name, kind, facts) {
        return Classification::new(Category::Screenshots, reason);
    }
    match kind {
        MediaKind::Video => Classification::new(Category::Videos, "a video container"),
        MediaKind::Image => {
            let why = match (&facts.make, &facts.model, &facts.c2pa) {
                (_, Some(model), _) => format!("a photo (camera: {model})"),
                (Some(make), None, _) => format!("a photo (camera: {make})"),
                (None, None, Some(_)) => {
                    "an image with a C2PA manifest that does not say it was generated".into()
                }
                (None, None, None) => {
                    "an image with no sign of being generated or a screenshot".into()
                }
            };
            Classification::new(Category::Photos, why)
        }
        MediaKind::Sidecar | MediaKind::NotMedia => {
            Classification::new(Category::Unknown, "not an image or a video")
        }
    }
}

/// Classifies an asset of a Photos library: Photos' own flags for
/// screenshots, screen recordings and videos; the file's facts (when the
/// original could be read) only for what Photos does not record, whether
/// it was generated.
pub fn classify_photos_asset(
    is_video: bool,
    screenshot: bool,
    screen_recording: bool,
    file: Option<&FileFacts>,
) -> Classification {
    if let Some(reason) = file.and_then(generated_reason_from_metadata) {
        return Classification::new(Category::Generated, reason);
    }
    if screenshot {
        return Classification::new(Category::Screenshots, "Photos marks it as a screenshot");
    }
    if screen_recording {
        return Classification::new(
            Category::Screenshots,
            "Photos marks it as a screen recording",
        );
    }
    if is_video {
        Classification::new(Category::Videos, "Photos records it as a video")
    } else {
        Classification::new(Category::Photos, "Photos records it as a photo")
    }
}

fn generated_reason(file_name: &str, facts: &FileFacts) -> Option<String> {
    if let Some(reason) = generated_reason_from_metadata(facts) {
        return Some(reason);
    }
    let stem = file_name.rsplit_once('.').map_or(file_name, |(s, _)| s);
    if is_uuid(stem) && !facts.has_camera() {
        return Some(
            "named with a UUID only and names no camera (how image generators save)".into(),
        );
    }
    None
}

/// The generated-content evidence in a file's metadata (not its name).
fn generated_reason_from_metadata(facts: &FileFacts) -> Option<String> {
    if let Some(store) = &facts.c2pa {
        let types = digital_source_types(store);
        if let Some(t) = types
            .iter()
            .find(|t| GENERATED_SOURCE_TYPES.contains(&t.as_str()))
        {
            return Some(format!("C2PA manifest: digital source type {t}"));
        }
    }
    if let Some(xmp) = &facts.xmp {
        let types = digital_source_types(xmp.as_bytes());
        if let Some(t) = types
            .iter()
            .find(|t| GENERATED_SOURCE_TYPES.contains(&t.as_str()))
        {
            return Some(format!("XMP IPTC DigitalSourceType {t}"));
        }
    }
    let mut tags: Vec<(&str, String)> = Vec::new();
    if let Some(s) = &facts.software {
        tags.push(("EXIF Software", s.clone()));
    }
    if let Some(xmp) = &facts.xmp {
        for key in ["xmp:CreatorTool", "photoshop:Credit", "dc:creator"] {
            if let Some(v) = xmp_property(xmp, key) {
                tags.push((key, v));
            }
        }
    }
    if let Some(png) = &facts.png {
        for (key, value) in &png.texts {
            let lower = key.to_lowercase();
            if GENERATOR_PNG_KEYS.contains(&lower.as_str()) {
                return Some(format!(
                    "PNG text chunk {key:?}, written by image generators"
                ));
            }
            if ["software", "source", "comment", "description", "author"].contains(&lower.as_str())
            {
                tags.push(("PNG text", value.clone()));
            }
        }
    }
    for (tag, value) in tags {
        let lower = value.to_lowercase();
        if GENERATORS.iter().any(|g| lower.contains(g)) {
            return Some(format!(
                "{tag} {:?} names an image generator",
                short(&value)
            ));
        }
    }
    None
}

fn screenshot_reason(file_name: &str, kind: MediaKind, facts: &FileFacts) -> Option<String> {
    if facts
        .user_comment
        .as_deref()
        .is_some_and(|c| c.eq_ignore_ascii_case("screenshot"))
    {
        return Some("EXIF UserComment \"Screenshot\"".into());
    }
    if let Some(xmp) = &facts.xmp {
        if xmp_property(xmp, "exif:UserComment")
            .is_some_and(|c| c.eq_ignore_ascii_case("screenshot"))
        {
            return Some("XMP UserComment \"Screenshot\"".into());
        }
        if digital_source_types(xmp.as_bytes())
            .iter()
            .any(|t| t == "screenCapture")
        {
            return Some("XMP IPTC DigitalSourceType screenCapture".into());
        }
    }
    let lower = file_name.to_lowercase();
    if let Some(prefix) = SCREENSHOT_NAMES.iter().find(|p| lower.starts_with(*p)) {
        return Some(format!(
            "named like a macOS or iOS {} (\"{}…\")",
            if prefix.contains("recording") {
                "screen recording"
            } else {
                "screenshot"
            },
            &file_name[..prefix.len().min(file_name.len())].trim_end()
        ));
    }
    if kind == MediaKind::Image && !facts.has_camera() {
        if let Some(png) = &facts.png {
            let (w, h) = (png.width, png.height);
            if SCREEN_SIZES
                .iter()
                .any(|&(a, b)| (w, h) == (a, b) || (w, h) == (b, a))
            {
                return Some(format!(
                    "a PNG with no camera metadata at a device screen size ({w}×{h})"
                ));
            }
        }
    }
    None
}

fn short(s: &str) -> String {
    let mut out: String = s.chars().take(60).collect();
    if out.len() < s.len() {
        out.push('…');
    }
    out
}

/// Whether `s` is a UUID (8-4-4-4-12 hexadecimal digits) and nothing else.
fn is_uuid(s: &str) -> bool {
    let groups: Vec<&str> = s.split('-').collect();
    groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(g, n)| g.len() == n && g.bytes().all(|b| b.is_ascii_hexdigit()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::media::containers::PngChunks;

    fn png(w: u32, h: u32, texts: &[(&str, &str)]) -> FileFacts {
        FileFacts {
            png: Some(PngChunks {
                width: w,
                height: h,
                texts: texts
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    fn class(name: &str, kind: MediaKind, facts: &FileFacts) -> Category {
        classify_file(name, kind, facts).category
    }

    #[test]
    fn screenshots_by_comment_name_and_screen_size() {
        let img = MediaKind::Image;
        let facts = FileFacts {
            user_comment: Some("Screenshot".into()),
            ..Default::default()
        };
        assert_eq!(class("IMG_0001.PNG", img, &facts), Category::Screenshots);
        let none = FileFacts::default();
        for name in [
            "Screenshot 2024-01-02 at 10.11.12.png",
            "Screen Shot 2019-03-04 at 1.02.03 PM.png",
            "Simulator Screenshot - iPhone 15 - 2024-01-02 at 10.11.12.png",
        ] {
            let c = classify_file(name, img, &none);
            assert_eq!(c.category, Category::Screenshots, "{name}");
            assert!(c.reason.contains("named like"), "{}", c.reason);
        }
        assert_eq!(
            class("Screen Recording 2024-01-02.mov", MediaKind::Video, &none),
            Category::Screenshots
        );
        assert_eq!(
            class("IMG_1.png", img, &png(1170, 2532, &[])),
            Category::Screenshots
        );
        assert_eq!(
            class("IMG_1.png", img, &png(2532, 1170, &[])),
            Category::Screenshots
        );
        assert_eq!(
            class("IMG_1.png", img, &png(1000, 1000, &[])),
            Category::Photos
        );
        // A camera at a screen size is a photo.
        let mut cam = png(1080, 1920, &[]);
        cam.model = Some("iPhone 12".into());
        assert_eq!(class("IMG_1.png", img, &cam), Category::Photos);
    }

    #[test]
    fn generated_by_source_type_tags_and_uuid_names() {
        let img = MediaKind::Image;
        let c2pa = |t: &str| FileFacts {
            c2pa: Some(
                format!("jumb..c2pa..http://cv.iptc.org/newscodes/digitalsourcetype/{t}..")
                    .into_bytes(),
            ),
            ..Default::default()
        };
        for t in GENERATED_SOURCE_TYPES {
            let c = classify_file("IMG_1.jpg", img, &c2pa(t));
            assert_eq!(c.category, Category::Generated, "{t}");
            assert!(c.reason.contains(t));
        }
        // A signed camera photo is a photo.
        let c = classify_file("IMG_1.jpg", img, &c2pa("digitalCapture"));
        assert_eq!(c.category, Category::Photos);
        assert!(c.reason.contains("C2PA"), "{}", c.reason);
        let xmp = FileFacts {
            xmp: Some("<x:xmpmeta Iptc4xmpExt:DigitalSourceType=\"http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia\"></x:xmpmeta>".into()),
            ..Default::default()
        };
        assert_eq!(class("a.jpg", img, &xmp), Category::Generated);
        let sw = FileFacts {
            software: Some("Adobe Firefly".into()),
            ..Default::default()
        };
        assert!(classify_file("a.jpg", img, &sw).reason.contains("Firefly"));
        assert_eq!(
            class(
                "a.png",
                img,
                &png(512, 512, &[("parameters", "a cat, Steps: 20")])
            ),
            Category::Generated
        );
        assert_eq!(
            class(
                "a.png",
                img,
                &png(512, 512, &[("Software", "Midjourney v6")])
            ),
            Category::Generated
        );
        let uuid = "3F2504E0-4F89-11D3-9A0C-0305E82C3301.png";
        assert_eq!(class(uuid, img, &FileFacts::default()), Category::Generated);
        let camera = FileFacts {
            make: Some("Apple".into()),
            ..Default::default()
        };
        assert_eq!(class(uuid, img, &camera), Category::Photos);
        assert!(!is_uuid("3F2504E0-4F89-11D3-9A0C"));
    }

    #[test]
    fn videos_and_photos_library_flags() {
        assert_eq!(
            class("clip.mp4", MediaKind::Video, &FileFacts::default()),
            Category::Videos
        );
        assert_eq!(
            class("x.bin", MediaKind::NotMedia, &FileFacts::default()),
            Category::Unknown
        );
        let c = classify_photos_asset(false, true, false, None);
        assert_eq!(c.category, Category::Screenshots);
        assert_eq!(
            classify_photos_asset(true, false, true, None).category,
            Category::Screenshots
        );
        assert_eq!(
            classify_photos_asset(true, false, false, None).category,
            Category::Videos
        );
        assert_eq!(
            classify_photos_asset(false, false, false, None).category,
            Category::Photos
        );
    }
}
