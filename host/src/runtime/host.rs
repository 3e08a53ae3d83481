//! [`ConnectorHost`]: the library's entry point, tying the engine, the
//! loaded connectors and the signed-HTTP capability together.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;

use crate::capability::{Endpoints, Grant, Grants, HttpLimits, RetryPolicy, SignedHttp};
use crate::error::InvokeError;
use crate::identity::{self, CredentialCache, CredentialsConfig};
use crate::runtime::connector::{self, Connector, ConnectorInner, Manifest};
use crate::sandbox::{ArtifactCache, Guest, Sandbox, SandboxLimits};

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
    sandbox: Arc<Sandbox>,
    grants: Arc<Grants>,
}

impl ConnectorHost {
    /// Builds the engine and the capability. Credentials are resolved on the
    /// first signed request, not here.
    pub async fn new(config: HostConfig) -> anyhow::Result<Self> {
        let sdk = identity::load_sdk_config(&config.credentials, config.region.as_deref()).await;
        let region = sdk.region().map(|r| r.to_string());
        let http = SignedHttp::new(
            CredentialCache::new(sdk.credentials_provider()),
            config.endpoints,
            region,
            config.http,
            config.retry,
        )?;
        let sandbox = Sandbox::new(config.sandbox, Arc::new(http), config.cache_dir.map(ArtifactCache::new))?;
        Ok(ConnectorHost { sandbox: Arc::new(sandbox), grants: Arc::new(config.grants) })
    }

    /// The region requests are signed for, if one was found.
    pub fn region(&self) -> Option<&str> {
        self.sandbox.http().region()
    }

    /// Loads the connector component at `path`: compiles it, checks that it
    /// implements a compatible connector contract, and reads its manifest.
    pub async fn load(&self, path: impl AsRef<Path>) -> anyhow::Result<Connector> {
        let path = path.as_ref();
        let bytes = tokio::fs::read(path).await.with_context(|| format!("could not read {}", path.display()))?;
        connector::check_is_component(&bytes).with_context(|| format!("{} is not a connector", path.display()))?;
        let component = self
            .sandbox
            .compile(bytes)
            .await
            .with_context(|| format!("{} is not a valid WebAssembly component", path.display()))?;
        connector::check_contract(self.sandbox.engine(), &component)
            .with_context(|| format!("{} is not a compatible connector", path.display()))?;
        let pre = self.sandbox.prelink(&component).with_context(|| format!("could not load {}", path.display()))?;
        // The manifest is read in a sandbox of its own, before the
        // connector's name and grant are known: it gets no services.
        let probe = Guest { pre, name: Arc::from(path.display().to_string()), grant: Arc::new(Grant::default()) };
        let raw = self
            .sandbox
            .describe(&probe)
            .await
            .with_context(|| format!("{}: describing itself failed", path.display()))?;
        let manifest: Manifest =
            connector::check_manifest(raw).with_context(|| format!("{} is not a valid connector", path.display()))?;
        let grant = Grant::for_connector(&manifest.services, self.grants.get(&manifest.name));
        tracing::info!(connector = %manifest.name, version = %manifest.version, path = %path.display(),
            operations = manifest.operations.len(), granted = ?grant.services().collect::<Vec<_>>(), "connector loaded");
        let guest = Guest { pre: probe.pre, name: Arc::from(manifest.name.as_str()), grant: Arc::new(grant) };
        Ok(Connector { inner: Arc::new(ConnectorInner { path: path.to_owned(), manifest, guest }) })
    }

    /// Instantiates `connector` in a fresh sandbox and drops it, calling
    /// nothing: a readiness check, and the fixed cost of every invocation.
    pub async fn instantiate(&self, connector: &Connector) -> Result<(), InvokeError> {
        self.sandbox.instantiate(&connector.inner.guest).await
    }

    /// Runs `operation` of `connector` with `input` and returns its output.
    pub async fn invoke(
        &self,
        connector: &Connector,
        operation: &str,
        input: &serde_json::Value,
    ) -> Result<serde_json::Value, InvokeError> {
        self.invoke_text(connector, operation, input.to_string()).await
    }

    /// Like [`invoke`](Self::invoke), with the input as JSON text.
    pub async fn invoke_json(
        &self,
        connector: &Connector,
        operation: &str,
        input: &str,
    ) -> Result<serde_json::Value, InvokeError> {
        self.invoke_text(connector, operation, input.to_owned()).await
    }

    async fn invoke_text(
        &self,
        connector: &Connector,
        operation: &str,
        input: String,
    ) -> Result<serde_json::Value, InvokeError> {
        if connector.manifest().operation(operation).is_none() {
            return Err(InvokeError::UnknownOperation(format!(
                "`{operation}` is not an operation of {} (see `describe`)",
                connector.name()
            )));
        }
        self.sandbox.invoke(&connector.inner.guest, operation, input).await
    }
}
