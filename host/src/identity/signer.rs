//! The identities a host signs as, resolved: the host's own (the default
//! chain, a profile, static keys or none) and each named authentication,
//! each with its own credential cache, region and endpoints. Built once
//! when the host starts, so a missing secret is an error before anything
//! is sent.

use std::collections::BTreeMap;
use std::sync::Arc;

use anyhow::Context;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::Credentials;
use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider, future};

use crate::endpoints::Endpoints;
use crate::identity::authentications::{Authentication, AuthenticationKind, Authentications};
use crate::identity::connections::{Connection, ConnectionConfig};
use crate::identity::credentials::{CredentialCache, CredentialsConfig, load_sdk_config};
use crate::selector::{ConnectorIdentity, ConnectorSelector};

/// Who a request is signed as.
pub(crate) struct Identity {
    /// The authentication's name; `None` for the host's own identity.
    pub(crate) name: Option<String>,
    pub(crate) credentials: Arc<CredentialCache>,
    /// Region to sign for and to pick default endpoints in.
    pub(crate) region: Option<String>,
    /// Endpoints of this identity, when it sets its own.
    pub(crate) endpoints: Option<Endpoints>,
    /// Connectors that may use it; empty means all.
    pub(crate) connectors: Vec<ConnectorSelector>,
    /// The SDK configuration behind it (for the host's own STS calls).
    pub(crate) sdk: SdkConfig,
    /// Its connections to HTTP APIs, by API, secrets read.
    pub(crate) apis: BTreeMap<String, Arc<Connection>>,
}

impl Identity {
    /// Whether the connector known as `connector` may sign as this one.
    pub(crate) fn allows(&self, connector: &ConnectorIdentity) -> bool {
        self.connectors.is_empty() || self.connectors.iter().any(|selector| selector.selects(connector))
    }
}

/// Every identity of a host.
pub(crate) struct Identities {
    pub(crate) default: Arc<Identity>,
    pub(crate) named: BTreeMap<String, Arc<Identity>>,
}

impl Identities {
    /// Resolves the host's own identity and every authentication of
    /// `authentications`. `endpoint_url` (the global `--endpoint-url`) also
    /// applies to the STS calls of `assume_role`.
    pub(crate) async fn resolve(
        own: &CredentialsConfig,
        region: Option<&str>,
        endpoint_url: Option<&str>,
        authentications: &Authentications,
    ) -> anyhow::Result<Self> {
        let sdk = load_sdk_config(own, region).await;
        let default = Arc::new(Identity {
            name: None,
            credentials: Arc::new(CredentialCache::new(sdk.credentials_provider())),
            region: sdk.region().map(|r| r.to_string()),
            endpoints: None,
            connectors: Vec::new(),
            sdk,
            apis: connections(authentications.own_apis()).context("the host's own connections")?,
        });
        let mut named: BTreeMap<String, Arc<Identity>> = BTreeMap::new();
        // Sources before the roles assumed from them.
        let mut pending: Vec<&Authentication> = authentications.iter().collect();
        while !pending.is_empty() {
            let before = pending.len();
            let mut waiting = Vec::new();
            for auth in pending {
                let ready = match &auth.kind {
                    AuthenticationKind::AssumeRole { source, .. } => named.get(source).cloned().map(Some),
                    _ => Some(None),
                };
                match ready {
                    Some(source) => {
                        let identity = resolve_one(auth, source, region, endpoint_url)
                            .await
                            .with_context(|| format!("authentication `{}`", auth.name))?;
                        named.insert(auth.name.clone(), Arc::new(identity));
                    }
                    None => waiting.push(auth),
                }
            }
            anyhow::ensure!(waiting.len() < before, "authentications form a cycle of sources");
            pending = waiting;
        }
        Ok(Identities { default, named })
    }

    /// The host's own identity, then every named one.
    pub(crate) fn all(&self) -> impl Iterator<Item = &Arc<Identity>> {
        std::iter::once(&self.default).chain(self.named.values())
    }

    /// The identity called `name`, or the host's own for `None`.
    pub(crate) fn get(&self, name: Option<&str>) -> Option<&Arc<Identity>> {
        match name {
            None => Some(&self.default),
            Some(name) => self.named.get(name),
        }
    }
}

async fn resolve_one(
    auth: &Authentication,
    source: Option<Arc<Identity>>,
    host_region: Option<&str>,
    endpoint_url: Option<&str>,
) -> anyhow::Result<Identity> {
    let region = auth.region.as_deref().or(host_region);
    let sdk = match &auth.kind {
        AuthenticationKind::Static { access_key_id, secret_access_key, session_token } => {
            let secret = secret_access_key.read()?;
            let token = session_token.as_ref().map(|t| t.read()).transpose()?;
            let credentials = Credentials::new(access_key_id, secret, token, None, "connector-host authentication");
            load_sdk_config(&CredentialsConfig::Static(credentials), region).await
        }
        AuthenticationKind::Profile { profile } => {
            load_sdk_config(&CredentialsConfig::Profile(profile.clone()), region).await
        }
        AuthenticationKind::Default => load_sdk_config(&CredentialsConfig::DefaultChain, region).await,
        AuthenticationKind::None => load_sdk_config(&CredentialsConfig::None, region).await,
        AuthenticationKind::AssumeRole { role_arn, session_name, external_id, .. } => {
            let source = source.context("its source is not resolved")?;
            let mut base = source.sdk.clone().into_builder();
            if let Some(region) = region {
                base.set_region(Some(Region::new(region.to_owned())));
            }
            if let Some(url) = auth.endpoint_url.as_deref().or(endpoint_url) {
                base.set_endpoint_url(Some(url.to_owned()));
            }
            let base = base.build();
            let mut builder = aws_config::sts::AssumeRoleProvider::builder(role_arn)
                .session_name(session_name.clone().unwrap_or_else(|| "connector-host".to_owned()))
                .configure(&base);
            if let Some(external_id) = external_id {
                builder = builder.external_id(external_id);
            }
            let provider = builder.build_from_provider(CachedProvider(source.credentials.clone())).await;
            base.into_builder().credentials_provider(SharedCredentialsProvider::new(provider)).build()
        }
        AuthenticationKind::WebIdentity { role_arn, web_identity_token_file, session_name } => {
            let provider_config = aws_config::provider_config::ProviderConfig::without_region()
                .with_region(region.map(|r| Region::new(r.to_owned())));
            let provider = aws_config::web_identity_token::WebIdentityTokenCredentialsProvider::builder()
                .static_configuration(aws_config::web_identity_token::StaticConfiguration {
                    web_identity_token_file: web_identity_token_file.clone(),
                    role_arn: role_arn.clone(),
                    session_name: session_name.clone().unwrap_or_else(|| "connector-host".to_owned()),
                })
                .configure(&provider_config)
                .build();
            let mut loader = aws_config::defaults(BehaviorVersion::latest()).credentials_provider(provider);
            if let Some(region) = region {
                loader = loader.region(Region::new(region.to_owned()));
            }
            loader.load().await
        }
    };
    let endpoints = auth.endpoint_url.as_deref().map(Endpoints::all_services).transpose()?;
    Ok(Identity {
        name: Some(auth.name.clone()),
        credentials: Arc::new(CredentialCache::new(sdk.credentials_provider())),
        region: sdk.region().map(|r| r.to_string()),
        endpoints,
        connectors: auth.connectors.clone(),
        sdk,
        apis: connections(&auth.apis)?,
    })
}

/// The connections of `configs`, their secrets read.
fn connections(configs: &BTreeMap<String, ConnectionConfig>) -> anyhow::Result<BTreeMap<String, Arc<Connection>>> {
    configs
        .iter()
        .map(|(api, config)| {
            let connection = Connection::resolve(config.clone()).with_context(|| format!("API `{api}`"))?;
            Ok((api.clone(), Arc::new(connection)))
        })
        .collect()
}

/// `cache` as a credentials provider, for SDK clients the host runs
/// itself (assuming a role, asking STS who an identity is).
pub(crate) fn cached_provider(cache: Arc<CredentialCache>) -> SharedCredentialsProvider {
    SharedCredentialsProvider::new(CachedProvider(cache))
}

/// A source authentication's cached credentials as a provider, so a role
/// assumed from it reuses its cache.
struct CachedProvider(Arc<CredentialCache>);

impl std::fmt::Debug for CachedProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CachedProvider")
    }
}

impl ProvideCredentials for CachedProvider {
    fn provide_credentials<'a>(&'a self) -> future::ProvideCredentials<'a>
    where
        Self: 'a,
    {
        future::ProvideCredentials::new(async move {
            self.0
                .get()
                .await
                .map_err(|e| aws_credential_types::provider::error::CredentialsError::provider_error(format!("{e:#}")))
        })
    }
}
