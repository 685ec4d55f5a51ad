//! Enrolment: `dest add` writes the marker on the drive and the destination
//! into the configuration file; `dest remove` takes it out again; `reload`
//! reads the file anew. The file is edited, not rewritten, so the user's
//! comments and layout stay.

use std::path::{Component, Path, PathBuf};

use anyhow::{bail, Context as _, Result};
use toml_edit::{ArrayOfTables, DocumentMut, Item, Table};

use super::handlers::Context;
use super::volumes;
use crate::config::Config;
use crate::destination::{Destination, Enrol};

/// Enrols the folder `path` as destination `name`.
pub fn add(cx: &Context, path: &str, name: &str, mode: Option<&str>) -> Result<String> {
    let config = cx.pipeline.config();
    let name = name.trim();
    if name.is_empty() {
        bail!("a destination needs a name: pass --name NAME");
    }
    if let Some(d) = config
        .destinations
        .iter()
        .find(|d| d.name.eq_ignore_ascii_case(name))
    {
        bail!(
            "a destination is already called {:?} (id {}); choose another name or remove it first",
            d.name,
            d.id
        );
    }
    let path = PathBuf::from(path);
    if !path.is_absolute() {
        bail!("{} is not an absolute path", path.display());
    }
    // Compared as the filesystem resolves them, so `..` or a symlinked
    // root in either spelling still matches.
    let resolve = |p: &Path| std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf());
    let roots: Vec<PathBuf> = config.volume_roots.iter().map(|r| resolve(r)).collect();
    let (volume, folder) = split_volume(&resolve(&path), &roots).with_context(|| {
        format!(
            "{} is not on a drive photovault watches (volumes under {}); connect the drive, or add its mount folder to `volume_roots` in the configuration",
            path.display(),
            config
                .volume_roots
                .iter()
                .map(|r| r.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        )
    })?;
    if !volume.is_dir() {
        bail!("the volume {} is not mounted", volume.display());
    }
    if let Some(why) = volumes::refusal(&volume, &volumes::time_machine_mount_points()) {
        bail!("{why}");
    }
    let dest = Destination::open(&path, Enrol::Always)
        .with_context(|| format!("cannot enrol {}", path.display()))?;
    let id = dest.info().id.clone();
    if let Some(d) = config.destinations.iter().find(|d| d.id == id) {
        bail!("{} is already enrolled as {:?}", path.display(), d.name);
    }
    let file = config
        .file
        .clone()
        .unwrap_or_else(|| cx.platform.default_config_file());
    edit(
        &file,
        |doc| {
            let mut table = Table::new();
            table.insert("name", toml_edit::value(name));
            table.insert("id", toml_edit::value(&id));
            if let Some(mode) = mode {
                table.insert("mode", toml_edit::value(mode));
            }
            if !folder.as_os_str().is_empty() {
                table.insert(
                    "folder",
                    toml_edit::value(folder.to_string_lossy().as_ref()),
                );
            }
            match doc.get_mut("destination") {
                Some(Item::ArrayOfTables(a)) => a.push(table),
                Some(_) => bail!(
                    "`destination` in the configuration is not a list of [[destination]] tables"
                ),
                None => {
                    let mut a = ArrayOfTables::new();
                    a.push(table);
                    doc.insert("destination", Item::ArrayOfTables(a));
                }
            }
            Ok(())
        },
        cx,
    )?;
    Ok(format!(
        "enrolled {} as {name:?} (id {id}); its backup starts now and whenever the drive is connected",
        path.display()
    ))
}

/// Removes destination `name_or_id` from the configuration.
pub fn remove(cx: &Context, name_or_id: &str) -> Result<String> {
    let dest = cx.pipeline.destination(name_or_id)?;
    let config = cx.pipeline.config();
    let Some(file) = config.file.clone() else {
        bail!("no configuration file is in use, so no destination is enrolled");
    };
    edit(
        &file,
        |doc| {
            if let Some(Item::ArrayOfTables(a)) = doc.get_mut("destination") {
                a.retain(|t| t.get("id").and_then(|v| v.as_str()) != Some(dest.id.as_str()));
            }
            Ok(())
        },
        cx,
    )?;
    Ok(format!(
        "removed {:?} from the configuration; its drive keeps its backup, and `dest add` can enrol it again",
        dest.name
    ))
}

/// Reads the configuration file again.
pub fn reload(cx: &Context) -> Result<String> {
    let config = cx.pipeline.config();
    let new = Config::load(config.file.as_deref(), &cx.platform)?;
    if new.state_dir != config.state_dir || new.log_dir != config.log_dir {
        tracing::warn!("state_dir and log_dir changes take effect at the next start");
    }
    cx.pipeline.set_config(std::sync::Arc::new(new));
    let _ = cx.rescan.send(());
    Ok("configuration reloaded".into())
}

/// Applies `change` to the configuration file, checks that the result is a
/// valid configuration, writes it atomically and puts it in force.
fn edit(
    file: &Path,
    change: impl FnOnce(&mut DocumentMut) -> Result<()>,
    cx: &Context,
) -> Result<()> {
    let text = match std::fs::read_to_string(file) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", file.display())),
    };
    let mut doc: DocumentMut = text
        .parse()
        .with_context(|| format!("{} is not valid TOML; fix it first", file.display()))?;
    change(&mut doc)?;
    let new_text = doc.to_string();
    let config = Config::parse(&new_text, file, &cx.platform)?;
    if let Some(dir) = file.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    let tmp = file.with_extension("toml.tmp");
    std::fs::write(&tmp, new_text).with_context(|| format!("cannot write {}", tmp.display()))?;
    std::fs::rename(&tmp, file).with_context(|| format!("cannot write {}", file.display()))?;
    cx.pipeline.set_config(std::sync::Arc::new(config));
    let _ = cx.rescan.send(());
    Ok(())
}

/// The volume holding `path` (a folder directly under a volume root) and
/// the path inside it.
fn split_volume(path: &Path, roots: &[PathBuf]) -> Option<(PathBuf, PathBuf)> {
    if path.components().any(|c| matches!(c, Component::ParentDir)) {
        return None;
    }
    roots.iter().find_map(|root| {
        let rest = path.strip_prefix(root).ok()?;
        let mut parts = rest.components();
        let first = parts.next()?;
        Some((root.join(first), parts.as_path().to_path_buf()))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_split_into_volume_and_folder() {
        let roots = vec![PathBuf::from("/Volumes")];
        assert_eq!(
            split_volume(Path::new("/Volumes/Drive"), &roots),
            Some((PathBuf::from("/Volumes/Drive"), PathBuf::new()))
        );
        assert_eq!(
            split_volume(Path::new("/Volumes/Drive/a/b"), &roots),
            Some((PathBuf::from("/Volumes/Drive"), PathBuf::from("a/b")))
        );
        assert_eq!(split_volume(Path::new("/Volumes"), &roots), None);
        assert_eq!(split_volume(Path::new("/home/x"), &roots), None);
        assert_eq!(split_volume(Path::new("/Volumes/D/../x"), &roots), None);
    }
}
