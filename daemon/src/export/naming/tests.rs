//! Tests of the parent module.
use super::*;
use std::path::{Component, Path};

fn at(s: &str) -> Option<DateTime<FixedOffset>> {
    Some(DateTime::parse_from_rfc3339(s).unwrap())
}

fn nfd_units(s: &str) -> usize {
    s.nfd().map(char::len_utf16).sum()
}

/// Everything a sanitised component must be.
fn assert_legal(out: &str, input: &str) {
    let ctx = format!("{input:?} -> {out:?}");
    assert!(!out.is_empty(), "{ctx}");
    assert!(out.len() <= MAX_NAME_BYTES, "{ctx}: {} bytes", out.len());
    assert!(
        nfd_units(out) <= MAX_NAME_BYTES,
        "{ctx}: {} units",
        nfd_units(out)
    );
    assert!(!out.chars().any(is_forbidden), "{ctx}");
    assert!(!out.ends_with('.') && !out.ends_with(' '), "{ctx}");
    assert!(!out.starts_with('.'), "{ctx}");
    assert!(reserved_base_end(out).is_none(), "{ctx}");
    assert!(unicode_normalization::is_nfc(out), "{ctx}");
    assert_eq!(sanitize_component(out), out, "not idempotent: {ctx}");
}

/// A small deterministic generator (xorshift), so failures reproduce.
struct Gen(u64);

impl Gen {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn name(&mut self) -> String {
        const ALPHABET: &[&str] = &[
            "a",
            "Z",
            "0",
            "_",
            "-",
            ".",
            ".",
            " ",
            " ",
            "/",
            "\\",
            ":",
            "*",
            "?",
            "\"",
            "<",
            ">",
            "|",
            "\0",
            "\u{1f}",
            "\u{7f}",
            "\u{85}",
            "\t",
            "\n",
            "é",
            "e\u{301}",
            "\u{301}",
            "ᾂ",
            "α\u{313}\u{300}\u{345}",
            "한",
            "\u{1112}\u{1161}\u{11ab}",
            "😀",
            "\u{202e}",
            "\u{200d}",
            "ß",
            "İ",
            "ı",
            "CON",
            "lpt1",
            "..",
            ".jpg",
            ".HEIC",
            "IMG_0001",
            "\u{fffd}",
            "\u{e9}\u{316}",
        ];
        let len = match self.below(4) {
            0 => self.below(4),
            1 => self.below(20),
            2 => 60 + self.below(60),
            _ => 150 + self.below(250),
        };
        (0..len)
            .map(|_| ALPHABET[self.below(ALPHABET.len())])
            .collect()
    }
}

// --- sanitize_component ------------------------------------------------

#[test]
fn ordinary_names_are_kept() {
    for name in [
        "IMG_0001.JPG",
        "Café au lait.heic",
        "写真 2020.png",
        "a b-c_d (1).mov",
        "😀.gif",
    ] {
        assert_eq!(sanitize_component(name), name);
    }
}

#[test]
fn names_cannot_leave_the_destination() {
    assert_eq!(sanitize_component("../../etc/passwd"), "_._.._etc_passwd");
    assert_eq!(sanitize_component("/etc/passwd"), "_etc_passwd");
    assert_eq!(sanitize_component(".."), "_");
    assert_eq!(sanitize_component("."), "_");
    assert_eq!(sanitize_component("..\\..\\boot.ini"), "_._.._boot.ini");
    assert_eq!(sanitize_component("C:\\Windows"), "C__Windows");
    for hostile in [
        "../../etc/passwd",
        "/etc/passwd",
        "..",
        "a/../../b",
        "\\\\server\\share",
    ] {
        let out = sanitize_component(hostile);
        let path = Path::new(&out);
        assert_eq!(path.components().count(), 1, "{out}");
        assert!(
            matches!(path.components().next(), Some(Component::Normal(_))),
            "{out}"
        );
    }
}

#[test]
fn nul_and_control_characters_are_replaced_but_format_characters_kept() {
    assert_eq!(sanitize_component("a\0b"), "a_b");
    assert_eq!(sanitize_component("a\nb\tc\rd"), "a_b_c_d");
    assert_eq!(sanitize_component("a\u{7f}b\u{9b}c"), "a_b_c");
    assert_eq!(
        sanitize_component("photo\u{202e}gpj.exe"),
        "photo\u{202e}gpj.exe"
    );
}

#[test]
fn exfat_illegal_characters_are_replaced() {
    assert_eq!(
        sanitize_component(r#"a:b?c*d"e<f>g|h\i/j"#),
        "a_b_c_d_e_f_g_h_i_j"
    );
}

#[test]
fn trailing_dots_and_spaces_are_removed() {
    assert_eq!(sanitize_component("name. . "), "name");
    assert_eq!(sanitize_component("IMG_0001.JPG."), "IMG_0001.JPG");
    assert_eq!(sanitize_component("  leading kept"), "  leading kept");
}

#[test]
fn names_of_only_dots_and_spaces_become_an_underscore() {
    for name in ["", " ", "   ", ".", "..", "...", " . . ", ". ."] {
        assert_eq!(sanitize_component(name), "_", "{name:?}");
    }
}

#[test]
fn a_leading_dot_is_replaced() {
    assert_eq!(sanitize_component(".hidden.jpg"), "_hidden.jpg");
    assert_eq!(sanitize_component("._IMG_0001.JPG"), "__IMG_0001.JPG");
}

#[test]
fn windows_device_names_get_an_underscore() {
    assert_eq!(sanitize_component("CON"), "CON_");
    assert_eq!(sanitize_component("CON.jpg"), "CON_.jpg");
    assert_eq!(sanitize_component("con.tar.gz"), "con_.tar.gz");
    assert_eq!(sanitize_component("Lpt9.PNG"), "Lpt9_.PNG");
    assert_eq!(sanitize_component("nul ."), "nul_");
    assert_eq!(sanitize_component("AUX .jpg"), "AUX_ .jpg");
    assert_eq!(sanitize_component("COM¹"), "COM¹_");
    for kept in ["CONSOLE.jpg", "icon.png", "COM10", "LPT", "Con Edison.jpg"] {
        assert_eq!(sanitize_component(kept), kept);
    }
}

#[test]
fn names_are_nfc_normalised() {
    let decomposed = "Cafe\u{301}.jpg";
    assert_eq!(sanitize_component(decomposed), "Caf\u{e9}.jpg");
    assert_eq!(sanitize_component("\u{1112}\u{1161}\u{11ab}"), "한");
}

#[test]
fn long_names_are_shortened_keeping_the_extension() {
    let out = sanitize_component(&format!("{}.JPG", "a".repeat(400)));
    assert_eq!(out, format!("{}.JPG", "a".repeat(251)));
    // Three-byte characters: the cut falls inside one and backs off.
    let out = sanitize_component(&format!("{}.heic", "写".repeat(134)));
    assert_eq!(out, format!("{}.heic", "写".repeat(83)));
    assert_eq!(out.len(), 254);
    // Four-byte characters.
    let out = sanitize_component(&"😀".repeat(100));
    assert_eq!(out, "😀".repeat(63));
    // No extension: a long tail after the last dot is not one.
    let out = sanitize_component(&format!("x.{}", "y".repeat(300)));
    assert_eq!(out.len(), 255);
    assert!(out.starts_with("x.y"));
}

#[test]
fn a_cut_does_not_separate_a_letter_from_its_accents() {
    // "e" + two marks with no precomposed form: NFC keeps é + U+0316.
    let unit = "e\u{316}\u{301}";
    let out = sanitize_component(&unit.repeat(100));
    let nfc: String = unit.nfc().collect();
    assert_eq!(nfc.len(), 4);
    assert_eq!(out, nfc.repeat(63));
}

#[test]
fn long_names_fit_hfs_plus_decomposed() {
    // ᾂ is 3 bytes but 4 UTF-16 units decomposed.
    let out = sanitize_component(&"ᾂ".repeat(100));
    assert_eq!(out, "ᾂ".repeat(63));
    assert_eq!(nfd_units(&out), 252);
}

#[test]
fn truncation_that_exposes_trailing_spaces_or_a_device_name_stays_legal() {
    let s = format!("CON{}x", " ".repeat(300));
    assert_eq!(sanitize_component(&s), "CON_");
    let s = format!("CON.{}", "x".repeat(252));
    let out = sanitize_component(&s);
    assert!(out.starts_with("CON_.x"));
    assert_eq!(out.len(), 255);
    let s = format!("{}x", ".".repeat(300));
    assert_legal(&sanitize_component(&s), &s);
}

#[test]
fn sanitize_invariants_hold_for_many_generated_names() {
    let mut g = Gen(0x9e37_79b9_7f4a_7c15);
    for _ in 0..5_000 {
        let name = g.name();
        let out = sanitize_component(&name);
        assert_legal(&out, &name);
        assert_eq!(sanitize_component(&name), out, "not deterministic");
    }
}

// --- split_name ------------------------------------------------------

#[test]
fn split_name_separates_stem_and_extension() {
    let split = |s: &str| {
        let (a, b) = split_name(s);
        (a, b)
    };
    assert_eq!(split("IMG_0001.JPG"), ("IMG_0001".into(), "JPG".into()));
    assert_eq!(split("archive.tar.gz"), ("archive.tar".into(), "gz".into()));
    assert_eq!(split("README"), ("README".into(), String::new()));
    assert_eq!(split(".jpg"), ("_jpg".into(), String::new()));
    assert_eq!(split("..jpg"), ("_".into(), "jpg".into()));
    assert_eq!(split("IMG .jpg"), ("IMG".into(), "jpg".into()));
    assert_eq!(split("CON.jpg"), ("CON_".into(), "jpg".into()));
    assert_eq!(split("a/b.png"), ("a_b".into(), "png".into()));
    assert_eq!(
        split("note.not an extension"),
        ("note.not an extension".into(), String::new())
    );
    assert_eq!(
        split("../../etc/passwd"),
        ("_._".into(), "_etc_passwd".into())
    );
    assert_eq!(split(""), ("_".into(), String::new()));
}

#[test]
fn split_name_parts_are_legal_for_many_generated_names() {
    let mut g = Gen(42);
    for _ in 0..5_000 {
        let name = g.name();
        let (stem, ext) = split_name(&name);
        assert_legal(&stem, &name);
        assert!(ext.len() <= MAX_EXTENSION_BYTES);
        assert!(ext
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-'));
        if !ext.is_empty() {
            assert_legal(&format!("{stem}.{ext}"), &name);
        }
    }
}

// --- FolderNames -----------------------------------------------------

#[test]
fn collisions_get_numbered_stems() {
    let mut names = FolderNames::new([]);
    assert_eq!(names.claim("IMG_0001", 4), "IMG_0001");
    assert_eq!(names.claim("IMG_0001", 4), "IMG_0001 (1)");
    assert_eq!(names.claim("IMG_0001", 4), "IMG_0001 (2)");
    assert_eq!(names.claim("IMG_0002", 4), "IMG_0002");
}

#[test]
fn names_differing_only_in_case_or_normalisation_collide() {
    let mut names = FolderNames::new([]);
    assert_eq!(names.claim("IMG_0001", 4), "IMG_0001");
    assert_eq!(names.claim("img_0001", 4), "img_0001 (1)");
    assert_eq!(names.claim("Img_0001", 4), "Img_0001 (2)");
    assert_eq!(names.claim("Café", 4), "Café");
    assert_eq!(names.claim("CAFE\u{301}", 4), "CAFÉ (1)");
    assert_eq!(names.claim("Straße", 4), "Straße");
    assert_eq!(names.claim("STRASSE", 4), "STRASSE (1)");
    assert_eq!(names.claim("a\u{200d}b", 4), "a\u{200d}b");
    assert_eq!(names.claim("ab", 4), "ab (1)");
}

#[test]
fn taken_names_are_never_handed_out_again() {
    let mut names = FolderNames::new(["IMG_0001".to_string(), "img_0001 (1)".to_string()]);
    assert_eq!(names.claim("IMG_0001", 4), "IMG_0001 (2)");
    assert_eq!(names.claim("IMG_0001 (1)", 4), "IMG_0001 (1) (1)");
    // Taken names are compared in their folded form, whatever their spelling.
    let mut names = FolderNames::new(["Cafe\u{301}".to_string()]);
    assert_eq!(names.claim("café", 4), "café (1)");
}

#[test]
fn a_stem_and_its_edited_form_are_kept_apart() {
    let mut names = FolderNames::new([]);
    assert_eq!(names.claim("IMG", 12), "IMG");
    assert_eq!(names.claim("IMG_edited", 12), "IMG_edited (1)");
    let mut names = FolderNames::new(["IMG_EDITED".to_string()]);
    assert_eq!(names.claim("img", 12), "img (1)");
}

#[test]
fn claims_are_deterministic() {
    let wanted = [
        "IMG_0001",
        "img_0001",
        "IMG_0002",
        "IMG_0001",
        "CON",
        "",
        "..",
        "IMG_0001 (1)",
    ];
    let run = || {
        let mut names = FolderNames::new(["IMG_0002".to_string()]);
        wanted.iter().map(|w| names.claim(w, 5)).collect::<Vec<_>>()
    };
    let first = run();
    assert_eq!(first, run());
    assert_eq!(
        first,
        [
            "IMG_0001",
            "img_0001 (1)",
            "IMG_0002 (1)",
            "IMG_0001 (2)",
            "CON_",
            "_",
            "_ (1)",
            "IMG_0001 (1) (1)"
        ]
    );
}

#[test]
fn a_later_run_keeps_earlier_names_and_adds_new_ones() {
    let mut first = FolderNames::new([]);
    let a = first.claim("IMG_0001", 4);
    let b = first.claim("IMG_0001", 4);
    // The catalog feeds the stems back; a new asset wanting the name comes after.
    let mut second = FolderNames::new([a.clone(), b.clone()]);
    assert_eq!(second.claim("IMG_0001", 4), "IMG_0001 (2)");
    assert_eq!((a.as_str(), b.as_str()), ("IMG_0001", "IMG_0001 (1)"));
}

#[test]
fn long_stems_leave_room_for_counter_and_suffix() {
    let long = "写".repeat(150);
    let mut names = FolderNames::new([]);
    let suffix = "_edited.heic";
    let a = names.claim(&long, suffix.len());
    let b = names.claim(&long, suffix.len());
    assert!(b.ends_with(" (1)"), "{b}");
    assert_ne!(fold_key(&a), fold_key(&b));
    for stem in [&a, &b] {
        let file = format!("{stem}{suffix}");
        assert!(file.len() <= MAX_NAME_BYTES, "{} bytes", file.len());
        assert_legal(&file, &long);
    }
    // A trailing space exposed by the cut is removed before the counter.
    let spaced = format!("{} tail", "x".repeat(250));
    let c = names.claim(&spaced, 4);
    assert_eq!(c, "x".repeat(250));
}

#[test]
fn claim_invariants_hold_for_many_generated_names() {
    let mut g = Gen(7);
    let mut names = FolderNames::new([]);
    let mut keys = HashSet::new();
    for i in 0..5_000 {
        // Few distinct stems, so that collisions are common.
        let wanted = if i % 3 == 0 {
            g.name()
        } else {
            ["IMG", "img", "İmg", "IMG."][g.below(4)].to_string()
        };
        let suffix = [0, 4, 5, 12, 21][g.below(5)];
        let stem = names.claim(&wanted, suffix);
        assert_legal(&stem, &wanted);
        assert!(stem.len() + suffix <= MAX_NAME_BYTES, "{stem:?} + {suffix}");
        assert!(keys.insert(fold_key(&stem)), "{stem:?} handed out twice");
    }
}

// --- FolderTemplate --------------------------------------------------

#[test]
fn the_default_template_files_by_year_and_month() {
    let t = FolderTemplate::default();
    assert_eq!(t, FolderTemplate::parse(FolderTemplate::DEFAULT).unwrap());
    assert_eq!(t.to_string(), "{year}/{year}-{month}/");
    assert_eq!(
        t.expand(at("2020-03-04T10:00:00+01:00"), None),
        Path::new("2020/2020-03")
    );
}

#[test]
fn expansion_uses_the_photos_own_offset() {
    let t = FolderTemplate::default();
    // 2021-01-01T04:30Z in UTC, but New Year's Eve where it was taken.
    assert_eq!(
        t.expand(at("2020-12-31T23:30:00-05:00"), None),
        Path::new("2020/2020-12")
    );
    // And the other way round: still 2020 in UTC, already 2021 in Tokyo.
    assert_eq!(
        t.expand(at("2021-01-01T08:00:00+09:00"), None),
        Path::new("2021/2021-01")
    );
}

#[test]
fn every_placeholder_expands() {
    let t = FolderTemplate::parse("{album}/{year}.{month}.{day} photos").unwrap();
    let when = at("0987-02-05T00:00:00+00:00");
    assert_eq!(
        t.expand(when, Some("Trip")),
        Path::new("Trip/0987.02.05 photos")
    );
    assert_eq!(
        t.expand(when, None),
        Path::new("no-album/0987.02.05 photos")
    );
    assert_eq!(
        t.expand(when, Some("  ")),
        Path::new("no-album/0987.02.05 photos")
    );
}

#[test]
fn undated_assets_go_to_undated() {
    let t = FolderTemplate::default();
    assert_eq!(t.expand(None, Some("Trip")), Path::new("undated"));
    let t = FolderTemplate::parse("{album}/{year}/{month}").unwrap();
    assert_eq!(t.expand(None, Some("Trip")), Path::new("Trip/undated"));
    let t = FolderTemplate::parse("{year}/{album}/{month}").unwrap();
    assert_eq!(
        t.expand(None, Some("Trip")),
        Path::new("undated/Trip/undated")
    );
    let t = FolderTemplate::parse("Photos/{album}").unwrap();
    assert_eq!(t.expand(None, Some("Trip")), Path::new("Photos/Trip"));
}

#[test]
fn hostile_album_titles_stay_inside_one_folder() {
    let t = FolderTemplate::parse("{album}/{year}").unwrap();
    let when = at("2020-01-01T00:00:00Z");
    for title in [
        "../../etc",
        "/etc/passwd",
        "..",
        ".",
        "a\0b",
        "CON",
        "x:y",
        "...",
        &"é".repeat(300),
    ] {
        let path = t.expand(when, Some(title));
        let parts: Vec<_> = path.components().collect();
        assert_eq!(parts.len(), 2, "{title:?} -> {path:?}");
        for part in parts {
            let Component::Normal(name) = part else {
                panic!("{title:?} -> {path:?}");
            };
            assert_legal(name.to_str().unwrap(), title);
        }
    }
    assert_eq!(
        t.expand(when, Some("../../etc")),
        Path::new("_._.._etc/2020")
    );
    assert_eq!(
        t.expand(when, Some("Trip 2020/21")),
        Path::new("Trip 2020_21/2020")
    );
}

#[test]
fn templates_display_canonically_and_parse_back() {
    for (given, shown) in [
        ("{year}/{year}-{month}/", "{year}/{year}-{month}/"),
        ("{year}//{month}", "{year}/{month}/"),
        ("Photos {year}/{album}", "Photos {year}/{album}/"),
        ("", ""),
    ] {
        let t: FolderTemplate = given.parse().unwrap();
        assert_eq!(t.to_string(), shown);
        assert_eq!(FolderTemplate::parse(&t.to_string()).unwrap(), t);
    }
    assert_eq!(
        FolderTemplate::parse("").unwrap().expand(None, None),
        PathBuf::new()
    );
}

#[test]
fn bad_templates_are_refused_with_a_useful_message() {
    let err = FolderTemplate::parse("{year}/{monht}").unwrap_err();
    assert!(matches!(&err, TemplateError::UnknownPlaceholder { name, .. } if name == "monht"));
    let msg = err.to_string();
    assert!(
        msg.contains("{monht}") && msg.contains("{year}, {month}, {day}, {album}"),
        "{msg}"
    );

    assert!(matches!(
        FolderTemplate::parse("{Year}"),
        Err(TemplateError::UnknownPlaceholder { .. })
    ));
    assert!(matches!(
        FolderTemplate::parse("{}"),
        Err(TemplateError::UnknownPlaceholder { .. })
    ));
    assert!(matches!(
        FolderTemplate::parse("{year"),
        Err(TemplateError::Unclosed { .. })
    ));
    assert!(matches!(
        FolderTemplate::parse("year}"),
        Err(TemplateError::UnmatchedClose { .. })
    ));
    assert!(matches!(
        FolderTemplate::parse("{year}}"),
        Err(TemplateError::UnmatchedClose { .. })
    ));
    assert!(matches!(
        FolderTemplate::parse("/{year}"),
        Err(TemplateError::Absolute { .. })
    ));
    assert!(matches!(
        FolderTemplate::parse("{year}/../x"),
        Err(TemplateError::DotComponent { component, .. }) if component == ".."
    ));
    assert!(matches!(
        FolderTemplate::parse("./{year}"),
        Err(TemplateError::DotComponent { .. })
    ));
    assert!(matches!(
        FolderTemplate::parse("Photos:{year}"),
        Err(TemplateError::ForbiddenCharacter { character: ':', .. })
    ));
    assert!(matches!(
        FolderTemplate::parse("a\\b"),
        Err(TemplateError::ForbiddenCharacter {
            character: '\\',
            ..
        })
    ));
    for err in [
        FolderTemplate::parse("{year").unwrap_err(),
        FolderTemplate::parse("/x").unwrap_err(),
        FolderTemplate::parse("a/./b").unwrap_err(),
        FolderTemplate::parse("a?").unwrap_err(),
    ] {
        assert!(
            err.to_string().contains('"'),
            "the message quotes the template: {err}"
        );
    }
}
