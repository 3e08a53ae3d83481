//! On-disk cache of compiled connectors, so a component is compiled once per
//! engine configuration instead of on every load.
//!
//! Entries are keyed on the SHA-256 digest of the component's bytes and the
//! engine's precompile compatibility hash (wasmtime version, target and
//! every setting that affects code generation), so a changed component or
//! engine never loads a stale artifact.
//!
//! Guards against: a torn write (entries are written to a temporary file
//! unique to the writer and renamed), and a corrupt or foreign entry (wasmtime checks the artifact's
//! header and engine compatibility on load; on failure the entry is
//! recompiled and replaced). Not guarded: an attacker who can write to the
//! cache directory can make the host load native code of their choosing, as
//! with any compiled-code cache; the directory is created owner-only (0700)
//! and should stay private to the host's user.

use std::hash::{DefaultHasher, Hash, Hasher};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use anyhow::Context;
use sha2::{Digest, Sha256};
use wasmtime::Engine;
use wasmtime::component::Component;

/// A directory of compiled components for one engine.
#[derive(Debug, Clone)]
pub struct ArtifactCache {
    dir: PathBuf,
}

impl ArtifactCache {
    /// The cache under `dir`.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        ArtifactCache { dir: dir.into() }
    }

    /// The default location: `$XDG_CACHE_HOME/connector-host/compiled`, or
    /// `~/.cache/connector-host/compiled`.
    pub fn default_dir() -> Option<PathBuf> {
        let base = std::env::var_os("XDG_CACHE_HOME")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|home| Path::new(&home).join(".cache")))?;
        Some(base.join("connector-host").join("compiled"))
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
        tokio::task::spawn_blocking(move || {
            if entry.exists() {
                // SAFETY: the entry was written by `store` from
                // `Engine::precompile_component` for an engine with the same
                // compatibility hash; wasmtime still checks its header and
                // compatibility, and a failure falls through to recompiling.
                match unsafe { Component::deserialize_file(&engine, &entry) } {
                    Ok(component) => return Ok(component),
                    Err(e) => tracing::warn!(entry = %entry.display(), error = %e, "ignoring an unusable cache entry"),
                }
            }
            let artifact = engine.precompile_component(&bytes).map_err(anyhow::Error::from)?;
            if let Err(e) = store(&entry, &artifact) {
                tracing::warn!(entry = %entry.display(), error = %format!("{e:#}"), "could not cache the compiled component");
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

fn store(entry: &Path, artifact: &[u8]) -> anyhow::Result<()> {
    let dir = entry.parent().expect("entries live in the cache directory");
    create_private_dir(dir)?;
    // Unique per process and per write, so two loads of one component (in
    // one process or several) never write the same temporary file.
    static WRITES: AtomicU64 = AtomicU64::new(0);
    let write = WRITES.fetch_add(1, Ordering::Relaxed);
    let name = entry.file_name().unwrap_or_default().to_string_lossy();
    let temp = dir.join(format!(".{}.{write}.{name}.tmp", std::process::id()));
    std::fs::write(&temp, artifact).with_context(|| format!("could not write {}", temp.display()))?;
    std::fs::rename(&temp, entry).with_context(|| format!("could not rename {} to {}", temp.display(), entry.display()))
}

fn create_private_dir(dir: &Path) -> anyhow::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir).with_context(|| format!("could not create {}", dir.display()))
}
