//! Directories the host keeps as caches (compiled components, pulled OCI
//! blobs): where they live, and how they stay within a bound, the files
//! used longest ago going first. A file's modification time says when it
//! was last used: readers [`touch`] what they use.

use std::path::{Path, PathBuf};

use anyhow::Context;

/// The host's cache home: `$XDG_CACHE_HOME/connector-host`, or
/// `~/.cache/connector-host`; `None` when neither variable is set.
pub fn cache_home() -> Option<PathBuf> {
    let base = std::env::var_os("XDG_CACHE_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| Path::new(&home).join(".cache")))?;
    Some(base.join("connector-host"))
}

/// What pruning a cache did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
pub struct Pruned {
    pub removed: usize,
    pub freed_bytes: u64,
    pub kept: usize,
    pub kept_bytes: u64,
}

/// Marks `path` as just used.
pub(crate) fn touch(path: &Path) {
    let _ = std::fs::File::options().write(true).open(path).and_then(|f| f.set_modified(std::time::SystemTime::now()));
}

/// Removes the entries of `dir` (the files `is_entry` accepts by name)
/// used longest ago (oldest modification time) until the rest fit in
/// `max_bytes`, never `keep`; also removes temporary files (`*.tmp`, left
/// by a crashed writer) older than an hour, or all of them for a bound of
/// 0.
pub(crate) fn prune_least_recently_used(
    dir: &Path,
    max_bytes: u64,
    keep: Option<&Path>,
    is_entry: impl Fn(&str) -> bool,
) -> anyhow::Result<Pruned> {
    let mut entries = Vec::new();
    let listing = match std::fs::read_dir(dir) {
        Ok(listing) => listing,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Pruned::default()),
        Err(e) => return Err(e).with_context(|| format!("could not list {}", dir.display())),
    };
    let mut pruned = Pruned::default();
    for entry in listing.flatten() {
        let path = entry.path();
        let Ok(metadata) = entry.metadata() else { continue };
        if !metadata.is_file() {
            continue;
        }
        let modified = metadata.modified().unwrap_or(std::time::UNIX_EPOCH);
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.ends_with(".tmp") {
            let stale = modified.elapsed().is_ok_and(|age| age > std::time::Duration::from_secs(3600));
            if (stale || max_bytes == 0) && std::fs::remove_file(&path).is_ok() {
                pruned.removed += 1;
                pruned.freed_bytes += metadata.len();
            }
        } else if is_entry(&name) {
            entries.push((modified, metadata.len(), path));
        }
    }
    entries.sort();
    let mut total: u64 = entries.iter().map(|(_, size, _)| size).sum();
    for (_, size, path) in &entries {
        if total <= max_bytes {
            break;
        }
        if Some(path.as_path()) == keep {
            continue;
        }
        if std::fs::remove_file(path).is_ok() {
            total -= size;
            pruned.removed += 1;
            pruned.freed_bytes += size;
        }
    }
    pruned.kept = entries.iter().filter(|(_, _, p)| p.exists()).count();
    pruned.kept_bytes = total;
    Ok(pruned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pruning_removes_the_least_recently_used_first() {
        let dir = tempfile::tempdir().unwrap();
        let now = std::time::SystemTime::now();
        for (i, name) in ["old", "middle", "new"].iter().enumerate() {
            let path = dir.path().join(format!("{name}.cwasm"));
            std::fs::write(&path, vec![0u8; 100]).unwrap();
            let at = now - std::time::Duration::from_secs(1000 - 100 * i as u64);
            std::fs::File::options().write(true).open(&path).unwrap().set_modified(at).unwrap();
        }
        std::fs::write(dir.path().join("notes.txt"), b"left alone").unwrap();
        let cwasm = |name: &str| name.ends_with(".cwasm");
        let pruned = prune_least_recently_used(dir.path(), 250, None, cwasm).unwrap();
        assert_eq!(pruned, Pruned { removed: 1, freed_bytes: 100, kept: 2, kept_bytes: 200 });
        assert!(!dir.path().join("old.cwasm").exists());
        let kept = prune_least_recently_used(dir.path(), 50, Some(&dir.path().join("middle.cwasm")), cwasm).unwrap();
        assert_eq!((kept.removed, kept.kept), (1, 1), "the entry being kept stays");
        assert!(dir.path().join("middle.cwasm").exists() && dir.path().join("notes.txt").exists());
        assert_eq!(prune_least_recently_used(dir.path(), 0, None, cwasm).unwrap().kept, 0);
    }
}
