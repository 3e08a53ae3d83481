//! Pulled manifests and components kept by their digests, next to the
//! compiled cache, so a pinned reference loads without the registry once
//! it has been pulled. Bounded like the compiled cache: past its bound,
//! the blobs used longest ago go first.
//!
//! Guards against a torn, truncated or altered entry: every read is hashed
//! and compared to the digest it is filed under, and an entry that does
//! not match is removed and fetched again. Digests are checked before they
//! become file names, so none can name a path outside the store.

use std::path::{Path, PathBuf};

use crate::digest::sha256_digest;
use crate::disk_cache::{Pruned, cache_home, prune_least_recently_used, touch};
use crate::files::{read_capped, write_atomically};
use crate::oci::reference::check_digest;

/// A directory of blobs filed as `sha256/<hex>`, like an OCI image layout.
#[derive(Debug, Clone)]
pub struct BlobStore {
    dir: PathBuf,
    max_bytes: u64,
}

impl BlobStore {
    /// Blobs kept by default.
    pub const DEFAULT_MAX_BYTES: u64 = 1 << 30;

    /// The store in `dir`, bounded to [`DEFAULT_MAX_BYTES`](Self::DEFAULT_MAX_BYTES).
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        BlobStore { dir: dir.into(), max_bytes: Self::DEFAULT_MAX_BYTES }
    }

    /// This store bounded to `max_bytes`.
    pub fn with_max_bytes(mut self, max_bytes: u64) -> Self {
        self.max_bytes = max_bytes;
        self
    }

    /// The default location: `oci` beside the compiled cache
    /// (`~/.cache/connector-host/oci`).
    pub fn default_dir() -> Option<PathBuf> {
        Some(cache_home()?.join("oci"))
    }

    /// Removes the blobs used longest ago until the rest fit in
    /// `max_bytes` (0 removes every blob).
    pub fn prune(&self, max_bytes: u64) -> anyhow::Result<Pruned> {
        prune_least_recently_used(&self.dir.join("sha256"), max_bytes, None, is_blob)
    }

    /// Where the store lives.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn path(&self, digest: &str) -> Option<PathBuf> {
        check_digest(digest).ok()?;
        let hex = digest.strip_prefix("sha256:")?;
        Some(self.dir.join("sha256").join(hex))
    }

    /// The blob with `digest`, if it is stored whole and at most `limit`
    /// bytes.
    pub(crate) fn get(&self, digest: &str, limit: u64) -> Option<Vec<u8>> {
        let path = self.path(digest)?;
        if !path.exists() {
            return None;
        }
        match read_capped(&path, limit, "stored blob", "--max-component-bytes") {
            Ok(bytes) if sha256_digest(&bytes) == digest => {
                touch(&path);
                Some(bytes)
            }
            Ok(_) => {
                tracing::warn!(path = %path.display(), "a stored blob does not match its digest; fetching it again");
                let _ = std::fs::remove_file(&path);
                None
            }
            Err(e) => {
                tracing::warn!(path = %path.display(), error = %format!("{e:#}"), "a stored blob is unreadable");
                None
            }
        }
    }

    /// Stores `bytes`, whose digest the caller has checked to be `digest`.
    pub(crate) fn put(&self, digest: &str, bytes: &[u8]) -> anyhow::Result<()> {
        let path = self.path(digest).ok_or_else(|| anyhow::anyhow!("`{digest}` is not a sha256 digest"))?;
        debug_assert_eq!(sha256_digest(bytes), digest);
        write_atomically(&path, bytes)?;
        let dir = path.parent().unwrap_or(&self.dir);
        if let Err(e) = prune_least_recently_used(dir, self.max_bytes, Some(&path), is_blob) {
            tracing::warn!(dir = %dir.display(), error = %format!("{e:#}"), "could not bound the blob store");
        }
        Ok(())
    }
}

/// Whether a file of `sha256/` is a blob: 64 hexadecimal digits.
fn is_blob(name: &str) -> bool {
    name.len() == 64 && name.bytes().all(|b| b.is_ascii_hexdigit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_are_checked_against_their_digest_on_every_read() {
        let dir = tempfile::tempdir().unwrap();
        let store = BlobStore::new(dir.path());
        let digest = sha256_digest(b"component");
        assert_eq!(store.get(&digest, 100), None);
        store.put(&digest, b"component").unwrap();
        assert_eq!(store.get(&digest, 100).as_deref(), Some(&b"component"[..]));
        assert_eq!(store.get(&digest, 3), None, "over the limit");
        let file = dir.path().join("sha256").join(digest.strip_prefix("sha256:").unwrap());
        std::fs::write(&file, b"altered").unwrap();
        assert_eq!(store.get(&digest, 100), None);
        assert!(!file.exists(), "a mismatched entry is removed");
        assert_eq!(store.get("sha256:../../etc/passwd", 100), None);
        assert!(store.put("sha256:../x", b"x").is_err());
    }

    #[test]
    fn the_store_is_bounded_and_pruned_least_recently_used_first() {
        let dir = tempfile::tempdir().unwrap();
        let store = BlobStore::new(dir.path()).with_max_bytes(25);
        let blobs: Vec<(String, Vec<u8>)> = (0..3u8).map(|i| vec![i; 10]).map(|b| (sha256_digest(&b), b)).collect();
        for (digest, bytes) in &blobs[..2] {
            store.put(digest, bytes).unwrap();
        }
        let file = |digest: &str| dir.path().join("sha256").join(digest.strip_prefix("sha256:").unwrap());
        let long_ago = std::time::SystemTime::now() - std::time::Duration::from_secs(60);
        for (digest, _) in &blobs[..2] {
            std::fs::File::options().write(true).open(file(digest)).unwrap().set_modified(long_ago).unwrap();
        }
        assert!(store.get(&blobs[0].0, 100).is_some(), "reading the first marks it used");
        store.put(&blobs[2].0, &blobs[2].1).unwrap();
        assert!(file(&blobs[0].0).exists() && file(&blobs[2].0).exists());
        assert!(!file(&blobs[1].0).exists(), "the blob used longest ago went");
        assert_eq!(store.prune(0).unwrap().kept, 0);
    }
}
