//! [`ConnectorHost`]: the library's entry point, tying the engine, the
//! loaded connectors and the signed-HTTP capability together.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use anyhow::Context;
use sha2::{Digest, Sha256};

use crate::capability::{CarriedOut, GrantRule, Grants, HttpLimits, OperationRepeat, RetryPolicy, SignedHttp};
use crate::digest::digest_text;
use crate::endpoints::Endpoints;
use crate::error::{InvokeError, LoadError};
use crate::escape::{Untrusted, escape_untrusted, truncate_chars};
use crate::files::read_capped;
use crate::identity::{Authentications, CredentialsConfig, Identities};
use crate::oci::{OciReference, Pulled, Registries, RegistryConfig};
use crate::runtime::ComponentSource;
use crate::runtime::connector::{self, Connector, ConnectorInner, Manifest, manifest_limits};
use crate::runtime::metrics::Metrics;
use crate::sandbox::{ArtifactCache, Guest, Invocation, InvocationContext, Sandbox, SandboxLimits};
use crate::selector::{ConnectorIdentity, ConnectorSelector};

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
    /// Which services connectors may call, keyed on what the operator
    /// controls (alias, path, digest); connectors no grant selects get the
    /// services their manifest declares.
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
    /// Bytes the compiled-component cache may hold (default
    /// [`ArtifactCache::DEFAULT_MAX_BYTES`]).
    pub cache_max_bytes: Option<u64>,
    /// Send signed requests through this proxy (`http://host:port`). Proxy
    /// environment variables are never used.
    pub proxy: Option<String>,
    /// Named authentications a call may pick instead of the host's own
    /// identity (see [`CallContext`]).
    pub authentications: Authentications,
    /// The endpoint given for every service (`--endpoint-url`), which also
    /// applies to the STS calls of `assume_role` authentications.
    pub endpoint_url: Option<String>,
    /// How OCI registries are reached, and where pulled components are kept.
    pub registries: RegistryConfig,
}

/// What one call runs with, beyond its input: the authentication it signs
/// with (none: the host's own identity), and the run step it is, which the
/// connector can read (the contract's `invocation` interface) to make a
/// repeated step idempotent. One host serves many tenants by giving each
/// call its own context.
///
/// ```
/// use connector_host::CallContext;
/// let marketing = CallContext::default().with_authentication("marketing").with_step("run-1", "pool", 2);
/// assert_eq!(marketing.authentication.as_deref(), Some("marketing"));
/// assert_eq!((marketing.step_id.as_deref(), marketing.attempt), (Some("pool"), 2));
/// ```
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct CallContext {
    /// The named authentication to sign with.
    pub authentication: Option<String>,
    /// The run this call is a step of, if any.
    pub run_id: Option<String>,
    /// The step's id within the run.
    pub step_id: Option<String>,
    /// Which try of the step this is, from 1 (0 reads as 1).
    pub attempt: u32,
    /// Whether an earlier try of the step may already have taken effect
    /// (the connector reads it to look for what that try made).
    pub earlier_effect: bool,
}

impl CallContext {
    /// This context signing with the authentication called `name`.
    pub fn with_authentication(mut self, name: impl Into<String>) -> Self {
        self.authentication = Some(name.into());
        self
    }

    /// This context as try `attempt` of step `step_id` of run `run_id`.
    pub fn with_step(mut self, run_id: impl Into<String>, step_id: impl Into<String>, attempt: u32) -> Self {
        self.run_id = Some(run_id.into());
        self.step_id = Some(step_id.into());
        self.attempt = attempt;
        self
    }

    /// This context after earlier tries that may (or may not) have taken
    /// effect.
    pub fn with_earlier_effect(mut self, earlier_effect: bool) -> Self {
        self.earlier_effect = earlier_effect;
        self
    }
}

/// How one call ended, and whether it may have changed anything: a call
/// that failed after a request of it was carried out (or lost on the way
/// back) is not the same as one turned away, for whoever tries it again.
#[derive(Debug)]
pub struct InvokeOutcome {
    pub result: Result<serde_json::Value, InvokeError>,
    /// Whether any request the call made may have been carried out.
    pub carried_out: CarriedOut,
}

/// How one connector is loaded.
#[derive(Debug, Clone, Default)]
pub struct LoadOptions {
    /// The alias the caller knows the connector by (a workflow's
    /// `connectors` key); grants may select it by this alias.
    pub alias: Option<String>,
    /// Services the connector may call at most, narrowing further what its
    /// manifest declares and the host's grants allow.
    pub services: Option<BTreeSet<String>>,
}

/// Refuses a connection whose URL is an IP literal of a private or local
/// network (not loopback, which names this machine on purpose) unless it
/// allows private addresses: the same rule its host names meet when they
/// resolve.
fn check_api_addresses(identities: &Identities) -> anyhow::Result<()> {
    for connection in identities.all().flat_map(|identity| identity.apis.values()) {
        let config = &connection.config;
        for url in config.urls() {
            let ip = match url.host() {
                Some(url::Host::Ipv4(ip)) => std::net::IpAddr::V4(ip),
                Some(url::Host::Ipv6(ip)) => std::net::IpAddr::V6(ip),
                _ => continue,
            };
            if crate::capability::private_or_local(ip) && !ip.is_loopback() && !config.allow_private_addresses {
                anyhow::bail!(
                    "API `{}`: {url} is an address of a private or local network; set \
                     `allow_private_addresses = true` on the connection to allow it",
                    config.api
                );
            }
        }
    }
    Ok(())
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
    /// One flag per grant rule: has it selected a loaded connector?
    grants_used: Arc<Vec<AtomicBool>>,
    max_component_bytes: u64,
    max_input_bytes: usize,
    memory_bytes: u64,
    metrics: Arc<Metrics>,
    identities: Arc<Identities>,
    authentications: Arc<Authentications>,
    registries: Registries,
}

impl ConnectorHost {
    /// Builds the engine and the capability, and resolves every
    /// authentication (reading their secrets, so a missing one is an error
    /// now). Credentials themselves are fetched on the first signed
    /// request, not here.
    pub async fn new(config: HostConfig) -> anyhow::Result<Self> {
        let identities = Identities::resolve(
            &config.credentials,
            config.region.as_deref(),
            config.endpoint_url.as_deref(),
            &config.authentications,
        )
        .await?;
        let trusted_hosts =
            identities.named.values().filter_map(|i| i.endpoints.as_ref()).flat_map(|e| e.configured_hosts()).collect();
        // The most a guest hands over in one call: its output, a request
        // with its headers, or its manifest, with room for the rest.
        let transfer_limit = config
            .sandbox
            .max_output_bytes
            .max(config.http.max_request_bytes.saturating_add(config.http.max_request_header_bytes))
            .max(manifest_limits::TOTAL_BYTES)
            .saturating_add(1 << 20);
        let retries = prometheus_client::metrics::counter::Counter::default();
        let metrics = Arc::new(Metrics::new(retries.clone()));
        let max_component_bytes = config.sandbox.max_component_bytes;
        let max_input_bytes = config.sandbox.max_input_bytes;
        let memory_bytes = config.sandbox.memory_bytes;
        check_api_addresses(&identities)?;
        // Hosts of API connections that may resolve to private addresses.
        let any_address_api_hosts = identities
            .all()
            .flat_map(|identity| identity.apis.values())
            .filter(|connection| connection.config.allow_private_addresses)
            .flat_map(|connection| {
                connection.config.urls().into_iter().filter_map(|u| u.host_str().map(str::to_ascii_lowercase))
            })
            .collect();
        let http = SignedHttp::new(
            config.endpoints,
            trusted_hosts,
            any_address_api_hosts,
            config.http,
            config.retry,
            config.proxy.as_deref(),
            retries.clone(),
        )?;
        let cache = config.cache_dir.map(|dir| {
            ArtifactCache::new(dir).with_max_bytes(config.cache_max_bytes.unwrap_or(ArtifactCache::DEFAULT_MAX_BYTES))
        });
        let sandbox = Sandbox::new(config.sandbox, Arc::new(http), cache, transfer_limit)?;
        let grants_used = config.grants.rules().iter().map(|_| AtomicBool::new(false)).collect();
        Ok(ConnectorHost {
            sandbox: Arc::new(sandbox),
            grants: Arc::new(config.grants),
            grants_used: Arc::new(grants_used),
            max_component_bytes,
            max_input_bytes,
            memory_bytes,
            metrics,
            identities: Arc::new(identities),
            authentications: Arc::new(config.authentications),
            registries: Registries::new(config.registries),
        })
    }

    /// The named authentications this host signs with.
    pub fn authentications(&self) -> &Authentications {
        &self.authentications
    }

    /// Asks STS who `authentication` (or the host's own identity) is,
    /// signing GetCallerIdentity itself: no connector takes part.
    pub async fn caller_identity(&self, authentication: Option<&str>) -> anyhow::Result<CallerIdentity> {
        let identity = self
            .identities
            .get(authentication)
            .with_context(|| format!("there is no authentication called `{}`", authentication.unwrap_or_default()))?;
        let named =
            || authentication.map_or_else(|| "the host's own identity".to_owned(), |n| format!("authentication `{n}`"));
        let region = identity.region.as_deref().with_context(|| format!("{} has no region", named()))?;
        let endpoints = identity.endpoints.as_ref().unwrap_or(self.sandbox.http().endpoints());
        let endpoint = endpoints.resolve("sts", region)?;
        let mut config = aws_sdk_sts::config::Builder::from(&identity.sdk)
            .credentials_provider(crate::identity::cached_provider(identity.credentials.clone()));
        if endpoint.configured {
            config = config.endpoint_url(endpoint.base);
        }
        let client = aws_sdk_sts::Client::from_conf(config.build());
        let answer = client.get_caller_identity().send().await.map_err(|e| {
            anyhow::anyhow!("{}: GetCallerIdentity failed: {}", named(), crate::escape::error_chain(&e))
        })?;
        Ok(CallerIdentity {
            account: answer.account().unwrap_or_default().to_owned(),
            arn: answer.arn().unwrap_or_default().to_owned(),
            user_id: answer.user_id().unwrap_or_default().to_owned(),
        })
    }

    pub(crate) fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    /// The deadline of one invocation.
    pub fn invocation_timeout(&self) -> std::time::Duration {
        self.sandbox.timeout()
    }

    /// The host's metrics in the Prometheus text format.
    pub fn metrics_text(&self) -> String {
        self.metrics.text()
    }

    /// The host's metrics and `extra`'s, in one document.
    pub(crate) fn metrics_text_with(&self, extra: &prometheus_client::registry::Registry) -> String {
        self.metrics.text_with(Some(extra))
    }

    /// Largest input an invocation takes, as JSON text.
    pub fn max_input_bytes(&self) -> usize {
        self.max_input_bytes
    }

    /// The region requests are signed for by default, if one was found.
    pub fn region(&self) -> Option<&str> {
        self.identities.default.region.as_deref()
    }

    /// Loads the connector component at `path`: reads it (a regular file,
    /// within the size limit), compiles it, checks that it implements a
    /// compatible connector contract, and reads its manifest.
    pub async fn load(&self, path: impl AsRef<Path>) -> Result<Connector, LoadError> {
        self.load_with(path, &LoadOptions::default()).await
    }

    /// Like [`load`](Self::load), with an alias and a narrower grant.
    pub async fn load_with(&self, path: impl AsRef<Path>, options: &LoadOptions) -> Result<Connector, LoadError> {
        let (bytes, origin, canonical) = self.read_file(path.as_ref()).await?;
        let known_as = ConnectorIdentity { path: Some(canonical), ..ConnectorIdentity::default() };
        self.load_component(bytes, origin, known_as, options).await
    }

    /// Reads the component file at `path` (a regular file, within the size
    /// limit): its bytes, how errors name it, and its canonical path.
    async fn read_file(&self, path: &Path) -> Result<(Vec<u8>, String, PathBuf), LoadError> {
        let path = path.to_owned();
        let origin = escape_untrusted(&path.display().to_string()).into_owned();
        let limit = self.max_component_bytes;
        let read = tokio::task::spawn_blocking(move || {
            let bytes = read_capped(&path, limit, "component", "--max-component-bytes")?;
            let canonical = path.canonicalize().unwrap_or(path);
            anyhow::Ok((bytes, canonical))
        })
        .await;
        match read {
            Ok(Ok((bytes, canonical))) => Ok((bytes, origin, canonical)),
            Ok(Err(e)) => Err(LoadError::Unreadable { origin, reason: format!("{e:#}") }),
            Err(e) => Err(LoadError::Unreadable { origin, reason: e.to_string() }),
        }
    }

    /// Loads the component `source` names: a file as
    /// [`load_with`](Self::load_with) does, or an OCI reference, pulled (or
    /// read from the store, when pinned and pulled before) and verified
    /// against its digests before it is compiled.
    pub async fn load_source(&self, source: &ComponentSource, options: &LoadOptions) -> Result<Connector, LoadError> {
        match source {
            ComponentSource::File(path) => self.load_with(path, options).await,
            ComponentSource::Oci(reference) => {
                let pulled = self.pull(reference).await?;
                self.load_pulled(pulled, reference, options).await
            }
        }
    }

    /// Loads a component [`pull`](Self::pull)ed for `requested`.
    pub async fn load_pulled(
        &self,
        pulled: Pulled,
        requested: &OciReference,
        options: &LoadOptions,
    ) -> Result<Connector, LoadError> {
        let known_as = ConnectorIdentity {
            reference: Some(pulled.pinned.to_string()),
            requested: Some(requested.to_string()),
            ..ConnectorIdentity::default()
        };
        self.load_component(pulled.bytes, pulled.pinned.to_string(), known_as, options).await
    }

    /// The component `reference` names, verified (see [`Registries::pull`]).
    pub async fn pull(&self, reference: &OciReference) -> Result<Pulled, LoadError> {
        self.registries
            .pull(reference, self.max_component_bytes)
            .await
            .map_err(|e| LoadError::PullFailed { origin: reference.to_string(), reason: format!("{e:#}") })
    }

    /// The registries this host pulls from.
    pub fn registries(&self) -> &Registries {
        &self.registries
    }

    /// Looks a component over as `connector-host check` reports it: its
    /// size, digest, initial memory and contract version, its manifest as
    /// it says it, and every rule that manifest breaks (names, limits,
    /// services, input schemas that are not JSON Schema 2020-12 object
    /// schemas). Fails only when there is no manifest to look at.
    pub async fn inspect(&self, path: impl AsRef<Path>) -> Result<Inspection, LoadError> {
        self.inspect_source(&ComponentSource::File(path.as_ref().to_owned())).await
    }

    /// Like [`inspect`](Self::inspect), for a file or an OCI reference.
    pub async fn inspect_source(&self, source: &ComponentSource) -> Result<Inspection, LoadError> {
        let (bytes, origin) = match source {
            ComponentSource::File(path) => {
                let (bytes, origin, _) = self.read_file(path).await?;
                (bytes, origin)
            }
            ComponentSource::Oci(reference) => {
                let pulled = self.pull(reference).await?;
                (pulled.bytes, pulled.pinned.to_string())
            }
        };
        let initial_memory_bytes = initial_memory(&bytes, &origin)?;
        let size_bytes = bytes.len() as u64;
        let probed = self.probe(bytes, &origin).await?;
        let contract = connector::contract_export(self.sandbox.engine(), &probed.component).unwrap_or_default();
        let raw = probed.description;
        let mut problems = connector::manifest_problems(&raw);
        let mut operations = Vec::with_capacity(raw.manifest.operations.len());
        let as_json = |text: &str, what: &str, problems: &mut Vec<String>| match serde_json::from_str(text) {
            Ok(schema) => {
                problems.extend(connector::schema_problems(what, &schema));
                schema
            }
            Err(_) => serde_json::Value::String(text.to_owned()),
        };
        for op in &raw.manifest.operations {
            let input_schema =
                as_json(&op.input_schema, &format!("the input schema of operation `{}`", op.name), &mut problems);
            if input_schema.is_object()
                && input_schema.get("type").and_then(serde_json::Value::as_str) != Some("object")
            {
                problems.push(format!(
                    "the input schema of operation `{}` does not say `\"type\": \"object\"` at its root",
                    op.name
                ));
            }
            let mut operation = serde_json::json!({
                "name": op.name, "title": op.title, "description": op.description, "input_schema": input_schema,
            });
            if let Some(detail) = raw.details.iter().find(|d| d.name == op.name) {
                if let Some(text) = &detail.output_schema {
                    let what = format!("the output schema of operation `{}`", op.name);
                    operation["output_schema"] = as_json(text, &what, &mut problems);
                }
                if let Some(effect) = detail.effect {
                    operation["effect"] = serde_json::to_value(connector::Effect::from(effect)).unwrap_or_default();
                }
                if detail.idempotent {
                    operation["idempotent"] = serde_json::Value::Bool(true);
                }
            }
            operations.push(operation);
        }
        let manifest = serde_json::json!({
            "name": raw.manifest.name,
            "title": raw.manifest.title,
            "version": raw.manifest.version,
            "services": raw.manifest.services,
            "apis": raw.apis.iter().map(|api| serde_json::json!({"name": api.name, "title": api.title,
                "default_base_url": api.default_base_url})).collect::<Vec<_>>(),
            "operations": operations,
        });
        Ok(Inspection {
            digest: digest_text(&probed.digest),
            size_bytes,
            initial_memory_bytes,
            contract,
            manifest,
            problems,
        })
    }

    /// Compiles a component (or takes it from the cache), checks its contract, links it, and asks it for its
    /// manifest in a sandbox of its own, before its name and grant are
    /// known: it gets no services.
    /// `bytes` have passed [`initial_memory`].
    async fn probe(&self, bytes: Vec<u8>, origin: &str) -> Result<Probed, LoadError> {
        let origin = origin.to_owned();
        let digest: [u8; 32] = Sha256::digest(&bytes).into();
        let component = match self.sandbox.compile(digest, bytes).await {
            Ok(component) => component,
            Err(e) => return Err(LoadError::InvalidComponent { origin, reason: format!("{e:#}") }),
        };
        if let Err(e) = connector::check_contract(self.sandbox.engine(), &component) {
            return Err(LoadError::Incompatible { origin, reason: format!("{e:#}") });
        }
        let pre = match self.sandbox.prelink(&component) {
            Ok(pre) => pre,
            Err(e) => return Err(LoadError::Incompatible { origin, reason: format!("{e:#}") }),
        };
        let guest = Guest { pre, name: Arc::from(origin.as_str()), grant: Default::default() };
        match self.sandbox.describe(&guest, self.identities.default.clone()).await {
            Ok((manifest, details, apis)) => Ok(Probed {
                digest,
                component,
                guest,
                description: connector::RawDescription { manifest, details, apis },
            }),
            Err(error) => Err(LoadError::DescribeFailed { origin, error }),
        }
    }

    /// Loads a connector from the bytes of its component, for embedders
    /// that keep components elsewhere than in files.
    pub async fn load_bytes(&self, bytes: Vec<u8>, options: &LoadOptions) -> Result<Connector, LoadError> {
        let origin = format!("component {}", digest_text(&Sha256::digest(&bytes).into()));
        self.load_component(bytes, origin, ConnectorIdentity::default(), options).await
    }

    async fn load_component(
        &self,
        bytes: Vec<u8>,
        origin: String,
        known_as: ConnectorIdentity,
        options: &LoadOptions,
    ) -> Result<Connector, LoadError> {
        let loaded = self.compile_and_describe(bytes, origin, known_as, options).await;
        self.metrics.loaded(&loaded);
        loaded
    }

    async fn compile_and_describe(
        &self,
        bytes: Vec<u8>,
        origin: String,
        known_as: ConnectorIdentity,
        options: &LoadOptions,
    ) -> Result<Connector, LoadError> {
        if bytes.len() as u64 > self.max_component_bytes {
            return Err(LoadError::Unreadable {
                origin,
                reason: format!("{} bytes are over the limit of {} bytes", bytes.len(), self.max_component_bytes),
            });
        }
        // A memory cap below what the component starts with would fail
        // inside the compiler with a less helpful message.
        let needed = initial_memory(&bytes, &origin)?;
        if needed > self.memory_bytes {
            return Err(LoadError::MemoryTooSmall { origin, needed, limit: self.memory_bytes });
        }
        let Probed { digest, guest: probe, description: raw, .. } = self.probe(bytes, &origin).await?;
        let manifest: Manifest = match connector::check_manifest(raw) {
            Ok(manifest) => manifest,
            Err(e) => return Err(LoadError::InvalidManifest { origin, reason: format!("{e:#}") }),
        };
        let identity = ConnectorIdentity { alias: options.alias.clone(), digest: digest_text(&digest), ..known_as };
        let matching = self.grants.matching(&identity);
        for &i in &matching {
            self.grants_used[i].store(true, Ordering::Relaxed);
        }
        let declared_apis: Vec<String> = manifest.apis.iter().map(|api| api.name.clone()).collect();
        let mut grant = self.grants.grant(&manifest.services, &declared_apis, &matching);
        if let Some(services) = &options.services {
            grant = grant.narrowed_to(services);
        }
        for api in &manifest.apis {
            grant = grant.accepting(&api.name, &api.credentials);
        }
        tracing::info!(connector = %manifest.name, version = %Untrusted(&manifest.version), origin = %origin,
            digest = %identity.digest, reference = identity.reference.as_deref(), operations = manifest.operations.len(),
            granted = ?grant.services().collect::<Vec<_>>(), apis = ?grant.apis().collect::<Vec<_>>(), "connector loaded");
        let guest = Guest { pre: probe.pre, name: Arc::from(manifest.name.as_str()), grant: Arc::new(grant) };
        Ok(Connector { inner: Arc::new(ConnectorInner { identity, manifest, guest }) })
    }

    /// Warns about each `AWS_ENDPOINT_URL_<SERVICE>` variable that names no
    /// service `connectors` declare: such a variable is silently unused,
    /// and the requests it was meant for go to AWS.
    pub fn warn_unused_endpoint_variables<'a>(&self, connectors: impl IntoIterator<Item = &'a Connector>) {
        let declared: Vec<&str> =
            connectors.into_iter().flat_map(|c| c.manifest().services.iter().map(String::as_str)).collect();
        for var in self.sandbox.http().endpoints().unused_env_variables(declared.iter().copied()) {
            tracing::warn!(variable = %var, declared = ?declared,
                "{var} names no service the loaded connectors declare; it is not used");
        }
    }

    /// The operator's grant rules naming a connector (not `*`) that have
    /// selected no connector loaded so far: after loading everything, each
    /// one is a mistake to report.
    pub fn unused_grants(&self) -> Vec<&GrantRule> {
        self.grants
            .rules()
            .iter()
            .zip(self.grants_used.iter())
            .filter(|(rule, used)| rule.selector != ConnectorSelector::Others && !used.load(Ordering::Relaxed))
            .map(|(rule, _)| rule)
            .collect()
    }

    /// Instantiates `connector` in a fresh sandbox and drops it, calling
    /// nothing: a readiness check, and the fixed cost of every invocation.
    pub async fn instantiate(&self, connector: &Connector) -> Result<(), InvokeError> {
        self.sandbox.instantiate(&connector.inner.guest, self.identities.default.clone()).await
    }

    /// Runs `operation` of `connector` with `input` and returns its output,
    /// signing as the host's own identity.
    pub async fn invoke(
        &self,
        connector: &Connector,
        operation: &str,
        input: &serde_json::Value,
    ) -> Result<serde_json::Value, InvokeError> {
        self.invoke_text(connector, operation, input.to_string(), &CallContext::default()).await
    }

    /// Like [`invoke`](Self::invoke), in `context` (its authentication).
    pub async fn invoke_in(
        &self,
        connector: &Connector,
        operation: &str,
        input: &serde_json::Value,
        context: &CallContext,
    ) -> Result<serde_json::Value, InvokeError> {
        self.invoke_text(connector, operation, input.to_string(), context).await
    }

    /// Like [`invoke_in`](Self::invoke_in), saying also whether the call
    /// may have changed anything, failed or not: what a caller that tries
    /// a failed call again needs (a run's step). A request whose outcome
    /// is unknown is retried within the call only when the operation is
    /// safe to repeat.
    pub async fn invoke_outcome(
        &self,
        connector: &Connector,
        operation: &str,
        input: &serde_json::Value,
        context: &CallContext,
    ) -> InvokeOutcome {
        let (result, carried_out) = self.invoke_output(connector, operation, input.to_string(), context, parse).await;
        InvokeOutcome { result, carried_out }
    }

    /// Like [`invoke_in`](Self::invoke_in), with the input as JSON text.
    pub async fn invoke_json(
        &self,
        connector: &Connector,
        operation: &str,
        input: &str,
        context: &CallContext,
    ) -> Result<serde_json::Value, InvokeError> {
        self.invoke_text(connector, operation, input.to_owned(), context).await
    }

    /// Like [`invoke_json`](Self::invoke_json), returning the output as the
    /// connector wrote it: checked to be JSON, but never parsed into a
    /// tree, for callers that pass it on (a server's response body).
    ///
    /// ```no_run
    /// # async fn demo(host: connector_host::ConnectorHost, cognito: connector_host::Connector) -> anyhow::Result<()> {
    /// let context = connector_host::CallContext::default();
    /// let input = r#"{"max_results": 10}"#.to_owned();
    /// let output = host.invoke_raw(&cognito, "list_user_pools", input, &context).await?;
    /// println!("{}", output.get());
    /// # Ok(())
    /// # }
    /// ```
    pub async fn invoke_raw(
        &self,
        connector: &Connector,
        operation: &str,
        input: String,
        context: &CallContext,
    ) -> Result<Box<serde_json::value::RawValue>, InvokeError> {
        self.invoke_output(connector, operation, input, context, |output| {
            serde_json::value::RawValue::from_string(output).map_err(|e| InvokeError::InvalidOutput(e.to_string()))
        })
        .await
        .0
    }

    /// Checks that `connector` may sign as `authentication`.
    pub fn check_authentication(&self, connector: &Connector, authentication: Option<&str>) -> Result<(), InvokeError> {
        self.identity_for(connector, authentication).map(|_| ())
    }

    fn identity_for(
        &self,
        connector: &Connector,
        authentication: Option<&str>,
    ) -> Result<Arc<crate::identity::Identity>, InvokeError> {
        let Some(identity) = self.identities.get(authentication) else {
            return Err(InvokeError::UnknownAuthentication(format!(
                "there is no authentication called `{}`",
                escape_untrusted(&truncate_chars(authentication.unwrap_or_default(), 80))
            )));
        };
        if !identity.allows(&connector.inner.identity) {
            return Err(InvokeError::AuthenticationDenied(format!(
                "connector {} may not use authentication `{}` (see its `connectors`)",
                connector.name(),
                authentication.unwrap_or_default()
            )));
        }
        Ok(identity.clone())
    }

    async fn invoke_text(
        &self,
        connector: &Connector,
        operation: &str,
        input: String,
        context: &CallContext,
    ) -> Result<serde_json::Value, InvokeError> {
        self.invoke_output(connector, operation, input, context, parse).await.0
    }

    /// Runs the operation and reads its output with `read` (which also
    /// checks that it is JSON); the metrics count what `read` made of it.
    /// Also says whether a request of it may have been carried out.
    async fn invoke_output<T>(
        &self,
        connector: &Connector,
        operation: &str,
        input: String,
        context: &CallContext,
        read: impl FnOnce(String) -> Result<T, InvokeError>,
    ) -> (Result<T, InvokeError>, CarriedOut) {
        let identity = match self.identity_for(connector, context.authentication.as_deref()) {
            Ok(identity) => identity,
            Err(error) => return (Err(error), CarriedOut::No),
        };
        if input.len() > self.max_input_bytes {
            let error = InvokeError::InvalidInput(format!(
                "the input is {} bytes, over the limit of {} bytes",
                input.len(),
                self.max_input_bytes
            ));
            return (Err(error), CarriedOut::No);
        }
        let _running = self.metrics.start();
        let started = Instant::now();
        let Some(details) = connector.manifest().operation(operation) else {
            self.metrics.record(connector.name(), "-", "unknown-operation", started.elapsed().as_secs_f64());
            let error = InvokeError::UnknownOperation(format!(
                "`{}` is not an operation of {} (see `describe`)",
                escape_untrusted(&truncate_chars(operation, 80)),
                connector.name()
            ));
            return (Err(error), CarriedOut::No);
        };
        let invocation = Invocation {
            context: InvocationContext {
                run_id: context.run_id.clone(),
                step_id: context.step_id.clone(),
                attempt: context.attempt.max(1),
            },
            earlier_effect: context.earlier_effect,
            repeat: if details.safe_to_repeat() { OperationRepeat::Safe } else { OperationRepeat::Unsafe },
        };
        let (output, carried_out) =
            self.sandbox.invoke(&connector.inner.guest, identity, invocation, operation, input).await;
        let result = output.and_then(read);
        let outcome = result.as_ref().map_or_else(InvokeError::kind, |_| "ok");
        self.metrics.record(connector.name(), operation, outcome, started.elapsed().as_secs_f64());
        (result, carried_out)
    }
}

/// A connector's output as a JSON tree.
fn parse(output: String) -> Result<serde_json::Value, InvokeError> {
    serde_json::from_str(&output).map_err(|e| InvokeError::InvalidOutput(e.to_string()))
}

/// Checks that `bytes` are a component (not a core module, not something
/// else), and reads the linear memory it starts with.
fn initial_memory(bytes: &[u8], origin: &str) -> Result<u64, LoadError> {
    if let Err(e) = connector::check_is_component(bytes) {
        return Err(LoadError::NotAComponent { origin: origin.to_owned(), reason: format!("{e:#}") });
    }
    connector::initial_memory_bytes(bytes)
        .map_err(|e| LoadError::InvalidComponent { origin: origin.to_owned(), reason: format!("{e:#}") })
}

/// A component compiled, linked and asked for its manifest.
struct Probed {
    digest: [u8; 32],
    component: wasmtime::component::Component,
    guest: Guest,
    description: connector::RawDescription,
}

/// What `check` reports of a component (see [`ConnectorHost::inspect`]).
#[derive(Debug, Clone, serde::Serialize)]
pub struct Inspection {
    /// `sha256:<hex>` of the component's bytes.
    pub digest: String,
    pub size_bytes: u64,
    /// The linear memory it starts with: the least `--memory-mib` it runs in.
    pub initial_memory_bytes: u64,
    /// The contract interface it exports (`connector:api/connector@0.1.2`).
    pub contract: String,
    /// Its manifest as it describes itself.
    pub manifest: serde_json::Value,
    /// Every rule the manifest breaks; empty when it is clean.
    pub problems: Vec<String>,
}

/// Who an identity is, as STS GetCallerIdentity says.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct CallerIdentity {
    pub account: String,
    pub arn: String,
    pub user_id: String,
}
