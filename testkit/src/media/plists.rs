//! Property lists Photos writes: AAE sidecars, the adjustment data kept next
//! to edited renders, and `database/DataModelVersion.plist`.

use anyhow::Result;
use chrono::{DateTime, Utc};
use plist::{Dictionary, Value};
use std::time::SystemTime;

/// Who made an adjustment, as stored in `adjustmentEditorBundleID`.
pub enum Editor {
    /// The camera app (AAE sidecars imported with an original).
    Camera,
    /// Photos itself (edits made in the library).
    Photos,
}

/// An adjustment plist as Photos writes it, both for `*.aae` sidecars and
/// for `resources/renders/X/UUID.plist`.
pub fn adjustment(editor: Editor, when: DateTime<Utc>, unique: &str) -> Result<Vec<u8>> {
    let mut d = Dictionary::new();
    d.insert("adjustmentBaseVersion".into(), Value::Integer(0.into()));
    let mut data = b"photovault-testkit adjustment ".to_vec();
    data.extend(unique.as_bytes());
    d.insert("adjustmentData".into(), Value::Data(data));
    let (bundle, version, render) = match editor {
        Editor::Camera => ("com.apple.camera", "1.11", 24576),
        Editor::Photos => ("com.apple.Photos", "1.5", 18688),
    };
    d.insert("adjustmentEditorBundleID".into(), bundle.into());
    d.insert(
        "adjustmentFormatIdentifier".into(),
        "com.apple.photo".into(),
    );
    d.insert("adjustmentFormatVersion".into(), version.into());
    d.insert(
        "adjustmentRenderTypes".into(),
        Value::Integer(render.into()),
    );
    d.insert(
        "adjustmentTimestamp".into(),
        Value::Date(SystemTime::from(when).into()),
    );
    let mut out = Vec::new();
    plist::to_writer_xml(&mut out, &Value::Dictionary(d))?;
    Ok(out)
}

/// `database/DataModelVersion.plist`, identical in both generations' fixtures.
pub fn data_model_version() -> Vec<u8> {
    br#"<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<plist version="1.0">
<dict>
	<key>LibrarySchemaVersion</key>
	<integer>5001</integer>
	<key>MetaSchemaVersion</key>
	<integer>3</integer>
</dict>
</plist>
"#
    .to_vec()
}

/// The binary plist stored in `Z_METADATA.Z_PLIST`.
pub fn store_metadata(model_version: i64, framework_version: i64) -> Result<Vec<u8>> {
    let mut d = Dictionary::new();
    d.insert(
        "PLModelVersion".into(),
        Value::Integer(model_version.into()),
    );
    d.insert("NSStoreType".into(), "SQLite".into());
    d.insert(
        "NSStoreModelVersionIdentifiers".into(),
        Value::Array(vec!["".into()]),
    );
    d.insert(
        "NSPersistenceFrameworkVersion".into(),
        Value::Integer(framework_version.into()),
    );
    d.insert(
        "NSStoreModelVersionHashesVersion".into(),
        Value::Integer(3.into()),
    );
    d.insert("_NSAutoVacuumLevel".into(), "2".into());
    d.insert("PLLegacyMigrationState".into(), Value::Integer(2.into()));
    let mut out = Vec::new();
    plist::to_writer_binary(&mut out, &Value::Dictionary(d))?;
    Ok(out)
}

/// An opaque stand-in for a macOS bookmark (`ZFILESYSTEMBOOKMARK.ZBOOKMARKDATA`):
/// starts with the real `book` magic, then holds the path. Nothing on Linux
/// can resolve real bookmark data, so readers must rely on the path columns.
pub fn bookmark(path: &str) -> Vec<u8> {
    let mut out = b"book".to_vec();
    out.extend(((48 + path.len()) as u32).to_le_bytes());
    out.extend([0, 0, 4, 0x10, 0x30, 0, 0, 0]);
    out.extend([0u8; 32]);
    out.extend(path.as_bytes());
    out
}
