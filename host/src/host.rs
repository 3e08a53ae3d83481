//! [`ConnectorHost`]: the library's entry point, tying the engine, the
//! loaded connectors and the signed-HTTP capability together.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;
use wasmtime::Engine;
use wasmtime::component::Linker;

use crate::artifact_cache::ArtifactCache;
use crate::credentials::{self, CredentialCache, CredentialsConfig};
use crate::endpoint::Endpoints;
use crate::engine::{self, SandboxLimits};
use crate::error::InvokeError;
use crate::invoke::{self, InvocationState};
use crate::plugin::{self, Connector, ConnectorInner};
use crate::policy::{Grant, Grants};
use crate::retry::RetryPolicy;
use crate::signed_http::{HttpLimits, SignedHttp};

/// How a host is set up. `Default` is the AWS SDK's behaviour: region and
/// credentials from the default chain, AWS endpoints.
#[derive(Debug, Clone, Default)]
pub struct HostConfig {
    /// Region to sign for and to pick endpoints in; `None` takes the chain's
    /// (`AWS_REGION`, the profile).
    pub region: Option<String>,
    /// Where credentials come from.
    pub credentials: CredentialsConfig,
    /// Endpoint overrides.
    pub endpoints: Endpoints,
    /// Services each connector may call, by connector name; connectors not
    /// listed get the services their manifest declares.
    pub grants: Grants,
    /// Limits of the signed-HTTP capability.
    pub http: HttpLimits,
    /// Retries of failed signed-HTTP requests.
    pub retry: RetryPolicy,
    /// Limits of each invocation's sandbox.
    pub sandbox: SandboxLimits,
    /// Directory of compiled connectors (see [`ArtifactCache::default_dir`]);
    /// `None` compiles on every load.
    pub cache_dir: Option<PathBuf>,
}

/// Loads connectors and runs their operations.
///
/// ```no_run
/// # async fn demo() -> anyhow::Result<()> {
/// use connector_host::{ConnectorHost, HostConfig, Endpoints};
///
/// let config = HostConfig {
///     region: Some("us-east-1".into()),
///     endpoints: Endpoints::all_services("http://127.0.0.1:5000")?,
///     ..HostConfig::default()
/// };
/// let host = ConnectorHost::new(config).await?;
/// let cognito = host.load("target/wasm32-wasip2/release/guest_cognito.wasm").await?;
/// let pool = host
///     .invoke(&cognito, "create_user_pool", &serde_json::json!({"pool_name": "Marketing Department"}))
///     .await?;
/// println!("{}", pool["UserPool"]["Id"]);
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct ConnectorHost {
    engine: Engine,
    linker: Arc<Linker<InvocationState>>,
    http: Arc<SignedHttp>,
    grants: Arc<Grants>,
    limits: SandboxLimits,
    cache: Option<ArtifactCache>,
}

impl ConnectorHost {
    /// Builds the engine and the capability. Credentials are resolved on the
    /// first signed request, not here.
    pub async fn new(config: HostConfig) -> anyhow::Result<Self> {
        let sdk = credentials::load_sdk_config(&config.credentials, config.region.as_deref()).await;
        let region = sdk.region().map(|r| r.to_string());
        let http = SignedHttp::new(
            CredentialCache::new(sdk.credentials_provider()),
            config.endpoints,
            region,
            config.http,
            config.retry,
        )?;
        let engine = engine::new_engine(&config.sandbox)?;
        let linker = invoke::new_linker(&engine)?;
        Ok(ConnectorHost {
            engine,
            linker: Arc::new(linker),
            http: Arc::new(http),
            grants: Arc::new(config.grants),
            limits: config.sandbox,
            cache: config.cache_dir.map(ArtifactCache::new),
        })
    }

    /// The region requests are signed for, if one was found.
    pub fn region(&self) -> Option<&str> {
        self.http.region()
    }

    /// Loads the connector component at `path`: compiles it, checks that it
    /// implements a compatible connector contract, and reads its manifest.
    pub async fn load(&self, path: impl AsRef<Path>) -> anyhow::Result<Connector> {
        let path = path.as_ref();
        let component = plugin::compile(&self.engine, self.cache.as_ref(), path).await?;
        let pre =
            plugin::prelink(&self.linker, &component).with_context(|| format!("could not load {}", path.display()))?;
        // The manifest is read in a sandbox of its own, before the
        // connector's name and grant are known: it gets no services.
        let probe = Connector {
            inner: Arc::new(ConnectorInner {
                path: path.to_owned(),
                manifest: plugin::Manifest::default(),
                name: Arc::from(path.display().to_string()),
                grant: Arc::new(Grant::default()),
                pre: pre.clone(),
            }),
        };
        let raw = invoke::with_instance(&self.engine, &probe, &self.http, &self.limits, async |guest, store| {
            guest.call_describe(store).await
        })
        .await
        .with_context(|| format!("{}: describing itself failed", path.display()))?;
        let manifest =
            plugin::check_manifest(raw).with_context(|| format!("{} is not a valid connector", path.display()))?;
        let grant = Grant::for_connector(&manifest.services, self.grants.get(&manifest.name));
        tracing::info!(connector = %manifest.name, version = %manifest.version, path = %path.display(),
            operations = manifest.operations.len(), granted = ?grant.services().collect::<Vec<_>>(), "connector loaded");
        Ok(Connector {
            inner: Arc::new(ConnectorInner {
                path: path.to_owned(),
                name: Arc::from(manifest.name.as_str()),
                manifest,
                grant: Arc::new(grant),
                pre,
            }),
        })
    }

    /// Instantiates `connector` in a fresh sandbox and drops it, calling
    /// nothing: a readiness check, and the fixed cost of every invocation.
    pub async fn instantiate(&self, connector: &Connector) -> Result<(), InvokeError> {
        invoke::with_instance(&self.engine, connector, &self.http, &self.limits, async |_, _| Ok(())).await
    }

    /// Runs `operation` of `connector` with `input` and returns its output.
    pub async fn invoke(
        &self,
        connector: &Connector,
        operation: &str,
        input: &serde_json::Value,
    ) -> Result<serde_json::Value, InvokeError> {
        invoke::invoke(&self.engine, connector, &self.http, &self.limits, operation, input.to_string()).await
    }

    /// Like [`invoke`](Self::invoke), with the input as JSON text.
    pub async fn invoke_json(
        &self,
        connector: &Connector,
        operation: &str,
        input: &str,
    ) -> Result<serde_json::Value, InvokeError> {
        invoke::invoke(&self.engine, connector, &self.http, &self.limits, operation, input.to_owned()).await
    }
}
