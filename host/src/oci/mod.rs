//! Connector components in OCI registries: pulled by tag or pinned digest
//! and verified before anything compiles them, kept by digest for offline
//! loads, and pushed in the CNCF wasm artifact layout.
//!
//! Guards against: bytes other than the ones a digest names (the manifest
//! is hashed against the pinned digest, the component against the
//! manifest's layer digest, both before use); a registry that sends more
//! than it announced or than a component may be (reads stop at the
//! bound); credentials sent in the clear (plain HTTP only to loopback
//! registries or those the operator names with `--insecure-registry`); a
//! tag that moves under a running server (a tag is resolved once, and
//! again only when asked).

mod artifact;
mod reference;
mod store;

use std::time::{Duration, SystemTime};

use anyhow::{Context, bail};
use futures_util::StreamExt;
use oci_client::client::{ClientConfig, ClientProtocol};
use oci_client::secrets::RegistryAuth;
use sha2::{Digest, Sha256};

use artifact::MANIFEST_MEDIA_TYPE;
pub use reference::{OciReference, SCHEME};
pub use store::BlobStore;

use crate::digest::{digest_text, sha256_digest};
use crate::escape::escape_untrusted;
use crate::files::read_capped;

/// How registries are reached.
#[derive(Debug, Clone, Default)]
pub struct RegistryConfig {
    /// Where pulled manifests and components are kept (see
    /// [`BlobStore::default_dir`]); `None` keeps nothing, so every load
    /// pulls.
    pub store_dir: Option<std::path::PathBuf>,
    /// The most the store keeps (default [`BlobStore::DEFAULT_MAX_BYTES`]).
    pub store_max_bytes: Option<u64>,
    /// Registries (`HOST` or `HOST:PORT`) reached over plain HTTP although
    /// they are not on loopback.
    pub insecure_registries: Vec<String>,
}

/// A component pulled from a registry (or from the store).
#[derive(Debug, Clone)]
pub struct Pulled {
    /// The component's bytes, verified against the manifest.
    pub bytes: Vec<u8>,
    /// The reference pinned to the manifest's digest.
    pub pinned: OciReference,
    /// Whether the bytes came from the store without asking the registry.
    pub from_store: bool,
}

/// Pulls and pushes connector components.
///
/// ```no_run
/// # async fn demo() -> anyhow::Result<()> {
/// use connector_host::{OciReference, Registries, RegistryConfig};
/// let registries = Registries::new(RegistryConfig::default());
/// let reference: OciReference = "oci://127.0.0.1:5000/connectors/cognito:1.0".parse()?;
/// let pushed = registries.push(&std::fs::read("guest_cognito.wasm")?, "guest_cognito.wasm", &reference).await?;
/// let pulled = registries.pull(&pushed, 16 << 20).await?;
/// assert_eq!(pulled.pinned, pushed);
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct Registries {
    config: RegistryConfig,
    store: Option<BlobStore>,
}

impl Registries {
    /// Registries reached as `config` says.
    pub fn new(config: RegistryConfig) -> Self {
        let store = config.store_dir.clone().map(|dir| {
            BlobStore::new(dir).with_max_bytes(config.store_max_bytes.unwrap_or(BlobStore::DEFAULT_MAX_BYTES))
        });
        Registries { config, store }
    }

    /// The component `reference` names, at most `max_component_bytes`. A
    /// pinned reference already in the store is read from there; a tag is
    /// resolved at the registry every time this is called, and its
    /// component downloaded only when the store lacks it.
    pub async fn pull(&self, reference: &OciReference, max_component_bytes: u64) -> anyhow::Result<Pulled> {
        let Some(store) = self.store.clone() else {
            return self.pull_from_registry(reference, max_component_bytes, None).await;
        };
        let pinned = reference.clone();
        let stored =
            tokio::task::spawn_blocking(move || Self::pull_from_store(&store, &pinned, max_component_bytes)).await?;
        match stored {
            Some(pulled) => Ok(pulled),
            None => self.pull_from_registry(reference, max_component_bytes, self.store.clone()).await,
        }
    }

    async fn pull_from_registry(
        &self,
        reference: &OciReference,
        max_component_bytes: u64,
        store: Option<BlobStore>,
    ) -> anyhow::Result<Pulled> {
        let client = self.client(reference)?;
        let image = reference.to_client_reference();
        let auth = self.auth(reference).await?;
        let (manifest, _) = client
            .pull_manifest_raw(&image, &auth, &[MANIFEST_MEDIA_TYPE])
            .await
            .context("could not fetch its manifest")?;
        let manifest_digest = sha256_digest(&manifest);
        if let Some(pinned) = reference.digest()
            && pinned != manifest_digest
        {
            bail!("the registry sent a manifest whose digest is {manifest_digest}, not the one asked for");
        }
        let layer =
            artifact::component_layer(&manifest, max_component_bytes).context("it is not a connector component")?;
        // A tag that still names a component kept earlier needs no download.
        let kept = match store.clone() {
            Some(store) => {
                let (digest, size) = (layer.digest.clone(), layer.size);
                tokio::task::spawn_blocking(move || store.get(&digest, size)).await?
            }
            None => None,
        };
        let bytes = match kept {
            Some(bytes) => bytes,
            None => Self::fetch_layer(&client, &image, &layer).await?,
        };
        let bytes = match store {
            Some(store) => {
                let layer_digest = layer.digest.clone();
                let manifest_digest = manifest_digest.clone();
                tokio::task::spawn_blocking(move || {
                    for (digest, blob) in [(&manifest_digest, &manifest[..]), (&layer_digest, &bytes[..])] {
                        if let Err(e) = store.put(digest, blob) {
                            tracing::warn!(error = %format!("{e:#}"),
                                "could not keep a pulled blob; the next load pulls it again");
                        }
                    }
                    bytes
                })
                .await?
            }
            None => bytes,
        };
        let pinned = reference.pinned(&manifest_digest);
        if reference.digest().is_none() {
            tracing::info!(reference = %reference, pinned = %pinned, "resolved a tag");
        }
        Ok(Pulled { bytes, pinned, from_store: false })
    }

    /// Downloads the component `layer` describes, stopping at its
    /// announced size, and checks it against the layer's digest.
    async fn fetch_layer(
        client: &oci_client::Client,
        image: &oci_client::Reference,
        layer: &artifact::Descriptor,
    ) -> anyhow::Result<Vec<u8>> {
        let descriptor = oci_client::manifest::OciDescriptor {
            media_type: layer.media_type.clone(),
            digest: layer.digest.clone(),
            size: i64::try_from(layer.size).unwrap_or(i64::MAX),
            ..Default::default()
        };
        let mut stream = client.pull_blob_stream(image, &descriptor).await.context("could not fetch its component")?;
        let mut bytes = Vec::with_capacity(usize::try_from(layer.size).unwrap_or(0).min(64 << 20));
        let mut hash = Sha256::new();
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.context("could not fetch its component")?;
            if bytes.len() as u64 + chunk.len() as u64 > layer.size {
                bail!("the registry sent more than the {} bytes its manifest announces for the component", layer.size);
            }
            hash.update(&chunk);
            bytes.extend_from_slice(&chunk);
        }
        let layer_digest = digest_text(&hash.finalize().into());
        if layer_digest != layer.digest {
            bail!("the component has the digest {layer_digest}, not its manifest's {}", layer.digest);
        }
        if bytes.len() as u64 != layer.size {
            bail!("the component is {} bytes, not its manifest's {}", bytes.len(), layer.size);
        }
        Ok(bytes)
    }

    /// A pinned reference's component from the store (blocking I/O).
    fn pull_from_store(store: &BlobStore, reference: &OciReference, max_component_bytes: u64) -> Option<Pulled> {
        let digest = reference.digest()?;
        let manifest = store.get(digest, artifact::MAX_MANIFEST_BYTES as u64)?;
        let layer = artifact::component_layer(&manifest, max_component_bytes).ok()?;
        let bytes = store.get(&layer.digest, max_component_bytes)?;
        Some(Pulled { bytes, pinned: reference.pinned(digest), from_store: true })
    }

    /// Publishes `component` at `reference` (a tag) in the wasm artifact
    /// layout, its layer titled `title`; returns the reference pinned to
    /// the manifest's digest.
    pub async fn push(&self, component: &[u8], title: &str, reference: &OciReference) -> anyhow::Result<OciReference> {
        if reference.tag().is_none() || reference.digest().is_some() {
            bail!("push to a tag (oci://REGISTRY/REPOSITORY:TAG), not to a digest: the digest is the push's result");
        }
        let artifact = artifact::build(component, title, SystemTime::now())?;
        let client = self.client(reference)?;
        let image = reference.to_client_reference();
        let auth = self.auth(reference).await?;
        client.store_auth_if_needed(image.resolve_registry(), &auth).await;
        client
            .push_blob(&image, artifact.config.clone(), &artifact.config_digest)
            .await
            .with_context(|| format!("could not push the config to {reference}"))?;
        client
            .push_blob(&image, component.to_vec(), &artifact.layer_digest)
            .await
            .with_context(|| format!("could not push the component to {reference}"))?;
        client
            .push_manifest_raw(&image, artifact.manifest.clone(), http::HeaderValue::from_static(MANIFEST_MEDIA_TYPE))
            .await
            .with_context(|| format!("could not push the manifest to {reference}"))?;
        Ok(reference.pinned(&artifact.manifest_digest))
    }

    /// Whether `reference`'s registry may be reached over plain HTTP.
    fn plain_http(&self, reference: &OciReference) -> bool {
        reference.is_loopback()
            || self.config.insecure_registries.iter().any(|r| r == reference.registry() || r == reference.host())
    }

    fn client(&self, reference: &OciReference) -> anyhow::Result<oci_client::Client> {
        let protocol = if self.plain_http(reference) {
            ClientProtocol::HttpsExcept(vec![reference.registry().to_owned()])
        } else {
            ClientProtocol::Https
        };
        let config = ClientConfig {
            protocol,
            // An index would pick a platform; a connector has one.
            platform_resolver: None,
            connect_timeout: Some(Duration::from_secs(10)),
            read_timeout: Some(Duration::from_secs(60)),
            ..ClientConfig::default()
        };
        Ok(oci_client::Client::new(config))
    }

    /// The credentials container tools keep for the registry (the Docker
    /// config file, `$DOCKER_CONFIG/config.json` or
    /// `~/.docker/config.json`, and the credential helpers it names), or
    /// none.
    async fn auth(&self, reference: &OciReference) -> anyhow::Result<RegistryAuth> {
        let Some(config) = docker_config_file() else { return Ok(RegistryAuth::Anonymous) };
        // Docker files Docker Hub's credentials under its old index URL.
        let server = match reference.registry() {
            "docker.io" | "index.docker.io" | "registry-1.docker.io" => "https://index.docker.io/v1/".to_owned(),
            registry => registry.to_owned(),
        };
        let found = tokio::task::spawn_blocking(move || {
            let bytes = read_capped(&config, 1 << 20, "Docker config file", "a smaller file")?;
            // A credential helper, when the file names one, runs here.
            anyhow::Ok(docker_credential::get_credential_from_reader(&bytes[..], &server))
        })
        .await
        .context("looking up registry credentials failed")??;
        use docker_credential::{CredentialRetrievalError as Missing, DockerCredential};
        match found {
            Ok(DockerCredential::UsernamePassword(user, password)) => Ok(RegistryAuth::Basic(user, password)),
            Ok(DockerCredential::IdentityToken(token)) => Ok(RegistryAuth::Bearer(token)),
            Err(Missing::NoCredentialConfigured) => Ok(RegistryAuth::Anonymous),
            Err(e) => Err(anyhow::anyhow!("{}", escape_untrusted(&e.to_string())))
                .with_context(|| format!("could not read the credentials for {}", reference.registry())),
        }
    }
}

/// The Docker config file (`$DOCKER_CONFIG/config.json`, else
/// `~/.docker/config.json`), if there is one.
fn docker_config_file() -> Option<std::path::PathBuf> {
    let dir = std::env::var_os("DOCKER_CONFIG")
        .filter(|dir| !dir.is_empty())
        .map(std::path::PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| std::path::Path::new(&home).join(".docker")))?;
    Some(dir.join("config.json")).filter(|file| file.exists())
}
