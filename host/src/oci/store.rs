//! Pulled manifests and components kept by their digests, next to the
//! compiled cache, so a pinned reference loads without the registry once
//! it has been pulled.
//!
//! Guards against a torn, truncated or altered entry: every read is hashed
//! and compared to the digest it is filed under, and an entry that does
//! not match is removed and fetched again. Digests are checked before they
//! become file names, so none can name a path outside the store.

use std::path::{Path, PathBuf};

use crate::digest::sha256_digest;
use crate::files::{read_capped, write_atomically};
use crate::oci::reference::check_digest;
use crate::sandbox::ArtifactCache;

/// A directory of blobs filed as `sha256/<hex>`, like an OCI image layout.
#[derive(Debug, Clone)]
pub struct BlobStore {
    dir: PathBuf,
}

impl BlobStore {
    /// The store in `dir`.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        BlobStore { dir: dir.into() }
    }

    /// The default location: `oci` beside the compiled cache
    /// (`~/.cache/connector-host/oci`).
    pub fn default_dir() -> Option<PathBuf> {
        Some(ArtifactCache::default_dir()?.parent()?.join("oci"))
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
            Ok(bytes) if sha256_digest(&bytes) == digest => Some(bytes),
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
        write_atomically(&path, bytes)
    }
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
}
