//! On-disk cache of compiled connectors, so a component is compiled once per
//! engine configuration instead of on every load.
//!
//! Entries are keyed on the SHA-256 digest of the component's bytes and the
//! engine's precompile compatibility hash (wasmtime version, target and
//! every setting that affects code generation), so a changed component or
//! engine never loads a stale artifact.
//!
//! The directory is bounded (least recently used entries go first), so
//! interpreter components of tens of megabytes each cannot fill the disk.
//!
//! Guards against: a torn write (entries are written to a temporary file
//! unique to the writer and renamed), and a corrupt or foreign entry (wasmtime checks the artifact's
//! header and engine compatibility on load; on failure the entry is
//! recompiled and replaced). Not guarded: an attacker who can write to the
//! cache directory can make the host load native code of their choosing, as
//! with any compiled-code cache; the directory is created owner-only (0700)
//! and should stay private to the host's user.

use std::hash::{DefaultHasher, Hash, Hasher};
use std::path::PathBuf;

use anyhow::Context;
use sha2::{Digest, Sha256};
use wasmtime::Engine;

use crate::disk_cache::{Pruned, cache_home, prune_least_recently_used, touch};
use crate::files::write_atomically;
use wasmtime::component::Component;

/// A directory of compiled components for one engine, bounded in size:
/// past the bound, the entries used longest ago are removed.
#[derive(Debug, Clone)]
pub struct ArtifactCache {
    dir: PathBuf,
    max_bytes: u64,
}

impl ArtifactCache {
    /// Entries kept by default: an interpreter component compiles to tens
    /// of megabytes, a Rust one to about one.
    pub const DEFAULT_MAX_BYTES: u64 = 1 << 30;

    /// The cache under `dir`, bounded to [`DEFAULT_MAX_BYTES`](Self::DEFAULT_MAX_BYTES).
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        ArtifactCache { dir: dir.into(), max_bytes: Self::DEFAULT_MAX_BYTES }
    }

    /// This cache bounded to `max_bytes`.
    pub fn with_max_bytes(mut self, max_bytes: u64) -> Self {
        self.max_bytes = max_bytes;
        self
    }

    /// Removes the entries used longest ago until the rest fit in
    /// `max_bytes` (0 removes every entry), and any temporary file a
    /// crashed writer left behind.
    pub fn prune(&self, max_bytes: u64) -> anyhow::Result<Pruned> {
        prune_least_recently_used(&self.dir, max_bytes, None, is_entry)
    }

    /// The default location: `$XDG_CACHE_HOME/connector-host/compiled`, or
    /// `~/.cache/connector-host/compiled`.
    pub fn default_dir() -> Option<PathBuf> {
        Some(cache_home()?.join("compiled"))
    }

    /// The compiled form of `bytes`, whose SHA-256 is `digest`, from the
    /// cache or compiled now (and then stored). Runs on a blocking thread.
    pub(crate) async fn load_or_compile(
        &self,
        engine: &Engine,
        digest: [u8; 32],
        bytes: Vec<u8>,
    ) -> anyhow::Result<Component> {
        let entry = self.entry_path(engine, &digest);
        let engine = engine.clone();
        let (dir, max_bytes) = (self.dir.clone(), self.max_bytes);
        tokio::task::spawn_blocking(move || {
            if entry.exists() {
                // SAFETY: the entry was written by `store` from
                // `Engine::precompile_component` for an engine with the same
                // compatibility hash; wasmtime still checks its header and
                // compatibility, and a failure falls through to recompiling.
                match unsafe { Component::deserialize_file(&engine, &entry) } {
                    Ok(component) => {
                        touch(&entry);
                        return Ok(component);
                    }
                    Err(e) => tracing::warn!(entry = %entry.display(), error = %e, "ignoring an unusable cache entry"),
                }
            }
            let artifact = engine.precompile_component(&bytes).map_err(anyhow::Error::from)?;
            if let Err(e) = write_atomically(&entry, &artifact) {
                tracing::warn!(entry = %entry.display(), error = %format!("{e:#}"), "could not cache the compiled component");
            } else if let Err(e) = prune_least_recently_used(&dir, max_bytes, Some(&entry), is_entry) {
                tracing::warn!(dir = %dir.display(), error = %format!("{e:#}"), "could not bound the compiled cache");
            }
            // SAFETY: `artifact` was just produced by this engine.
            unsafe { Component::deserialize(&engine, &artifact) }.map_err(anyhow::Error::from)
        })
        .await
        .context("the compiler task failed")?
    }

    fn entry_path(&self, engine: &Engine, component_digest: &[u8; 32]) -> PathBuf {
        let mut engine_hash = DefaultHasher::new();
        engine.precompile_compatibility_hash().hash(&mut engine_hash);
        let digest =
            Sha256::new().chain_update(engine_hash.finish().to_le_bytes()).chain_update(component_digest).finalize();
        let name: String = digest.iter().take(20).map(|b| format!("{b:02x}")).collect();
        self.dir.join(format!("{name}.cwasm"))
    }
}

/// Whether a file of the cache's directory is one of its entries.
fn is_entry(name: &str) -> bool {
    name.ends_with(".cwasm")
}
