//! Connections to HTTP APIs: for each API a connector declares, where the
//! operator says it is and the credential the host applies to its
//! requests. Read from the authentications file, for the host's own
//! identity (`[apis.NAME]`) and per authentication
//! (`[authentications.X.apis.NAME]`):
//!
//! ```toml
//! [apis.github]
//! base_url = "https://api.github.com"
//! credential = "bearer"
//! token_env = "GITHUB_TOKEN"
//!
//! [authentications.acme.apis.crm]
//! base_url = "https://crm.acme.example/api/v2"
//! credential = "oauth2_client_credentials"
//! token_url = "https://login.acme.example/oauth/token"
//! client_id = "connector-host"
//! client_secret_file = "secrets/crm"
//! scopes = ["contacts.read"]
//!
//! [authentications.acme.apis.mail]
//! base_url = "https://mail.example.com/api"
//! credential = "oauth2_refresh_token"
//! token_url = "https://mail.example.com/oauth/token"
//! client_id = "connector-host"
//! client_secret_env = "MAIL_CLIENT_SECRET"
//! refresh_token_file = "secrets/mail-grant"     # the grant the operator obtained
//! token_store = "state/mail.token"               # its rotations, encrypted
//! token_store_key_env = "TOKEN_STORE_KEY"        # 32 bytes, base64
//! ```
//!
//! Guards against a credential reaching anyone but the API it is for:
//! secrets are only referenced (an environment variable or a file) and
//! read once when the host starts, redact themselves in `Debug`, and are
//! named in errors by where they come from, never by value; a base URL or
//! token URL must be `https` unless it is loopback or the operator allows
//! plain HTTP for it, and carries no user, query or fragment that could
//! change where requests go. Which connectors may use a connection is the
//! grants' say (`--grant ALIAS=api:NAME`), and the authentication's
//! `connectors`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex as SyncMutex};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use reqwest::Url;
use serde::{Deserialize, Serialize};

use crate::escape::{error_chain, quote_untrusted};
use crate::identity::authentications::{SecretRef, refuse_foreign_fields, refuse_literal_secrets};
use crate::identity::token_store::{Stored, TokenStore};

/// Most bytes of a token endpoint's answer read.
const MAX_TOKEN_RESPONSE_BYTES: usize = 64 * 1024;

/// An access token is fetched again when less than this part of its
/// lifetime (and at most a minute) is left.
const REFRESH_BEFORE_EXPIRY: f64 = 0.2;

/// A connection to one HTTP API, as configured (secrets still references).
#[derive(Debug, Clone)]
pub struct ConnectionConfig {
    /// The API's name, as connectors declare it.
    pub api: String,
    /// Where requests go: the connector's path is appended to it.
    pub base_url: Url,
    pub scheme: Scheme,
    /// Whether a host name of the connection may resolve to a private
    /// address (10/8, 192.168/16, ...) or this host.
    pub allow_private_addresses: bool,
}

/// How the host authenticates requests of a connection.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Scheme {
    /// Nothing: a public API.
    None,
    /// `Authorization: Bearer TOKEN`.
    Bearer { token: SecretRef },
    /// A key in a header or a query parameter.
    ApiKey { key: SecretRef, placement: KeyPlacement },
    /// `Authorization: Basic base64(user:password)`.
    Basic { username: String, password: SecretRef },
    /// OAuth 2.0 client credentials: an access token from `token_url`,
    /// cached and fetched again before it expires.
    OAuth2ClientCredentials {
        token_url: Url,
        client_id: String,
        client_secret: SecretRef,
        scopes: Vec<String>,
        audience: Option<String>,
        resource: Option<String>,
        client_auth: ClientAuth,
    },
    /// OAuth 2.0 refresh token: access tokens from `token_url` for the
    /// grant `refresh_token` stands for; a refresh token the provider
    /// rotates is kept, encrypted with `token_store_key`, in
    /// `token_store`, so a restart does not lose the grant.
    OAuth2RefreshToken {
        token_url: Url,
        client_id: String,
        /// `None` for a public client.
        client_secret: Option<SecretRef>,
        refresh_token: SecretRef,
        token_store: PathBuf,
        token_store_key: SecretRef,
        scopes: Vec<String>,
        client_auth: ClientAuth,
    },
    /// Each request signed with HMAC-SHA256 of `canonical` (a template of
    /// `{method}`, `{path}`, `{timestamp}`, `{body}` and `{body_sha256}`)
    /// under `key`, the signature in `header` after `prefix`, hex or
    /// base64; the Unix time in `timestamp_header` when set.
    Hmac {
        key: SecretRef,
        header: http::HeaderName,
        canonical: String,
        timestamp_header: Option<http::HeaderName>,
        encoding: SignatureEncoding,
        prefix: String,
    },
    /// AWS SigV4 with the authentication's own AWS credentials, for an
    /// S3-compatible store or an API Gateway endpoint at the base URL.
    AwsSigV4 {
        /// The signing name (`s3`, `execute-api`).
        service: String,
        /// The signing region; the authentication's when not given.
        region: Option<String>,
    },
}

/// How an HMAC signature is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignatureEncoding {
    Hex,
    Base64,
}

impl Scheme {
    /// The name the file spells it with.
    pub fn name(&self) -> &'static str {
        match self {
            Scheme::None => "none",
            Scheme::Bearer { .. } => "bearer",
            Scheme::ApiKey { .. } => "api_key",
            Scheme::Basic { .. } => "basic",
            Scheme::OAuth2ClientCredentials { .. } => "oauth2_client_credentials",
            Scheme::OAuth2RefreshToken { .. } => "oauth2_refresh_token",
            Scheme::Hmac { .. } => "hmac",
            Scheme::AwsSigV4 { .. } => "aws_sigv4",
        }
    }

    /// The credential kind of the contract (`details.credential-kind`)
    /// this scheme is, as a connector declares what its API accepts.
    pub fn kind(&self) -> &'static str {
        match self {
            Scheme::None => "none",
            Scheme::Bearer { .. } => "bearer",
            Scheme::ApiKey { .. } => "api-key",
            Scheme::Basic { .. } => "basic",
            Scheme::OAuth2ClientCredentials { .. } | Scheme::OAuth2RefreshToken { .. } => "oauth2",
            Scheme::Hmac { .. } => "hmac",
            Scheme::AwsSigV4 { .. } => "aws-sigv4",
        }
    }
}

/// Where an API key goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyPlacement {
    Header(http::HeaderName),
    Query(String),
}

/// How a client authenticates itself to a token endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientAuth {
    /// HTTP basic (`client_secret_basic`), the default.
    Basic,
    /// In the form (`client_secret_post`).
    Post,
}

/// What `auth list` shows of a connection: never a secret.
#[derive(Debug, Clone, Serialize)]
pub struct ConnectionSummary {
    pub api: String,
    pub base_url: String,
    pub credential: &'static str,
}

impl ConnectionConfig {
    pub fn summary(&self) -> ConnectionSummary {
        ConnectionSummary { api: self.api.clone(), base_url: self.base_url.to_string(), credential: self.scheme.name() }
    }

    /// Every URL the connection sends to: its base URL, and its token
    /// endpoint when it has one.
    pub fn urls(&self) -> Vec<&Url> {
        let mut urls = vec![&self.base_url];
        if let Scheme::OAuth2ClientCredentials { token_url, .. } | Scheme::OAuth2RefreshToken { token_url, .. } =
            &self.scheme
        {
            urls.push(token_url);
        }
        urls
    }
}

/// A connection as the file spells it; checked into a [`ConnectionConfig`].
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ConnectionEntry {
    base_url: String,
    credential: String,
    #[serde(default)]
    allow_http: bool,
    #[serde(default)]
    allow_private_addresses: bool,
    token: Option<toml::Value>,
    token_env: Option<String>,
    token_file: Option<PathBuf>,
    key: Option<toml::Value>,
    key_env: Option<String>,
    key_file: Option<PathBuf>,
    header: Option<String>,
    query: Option<String>,
    username: Option<String>,
    password: Option<toml::Value>,
    password_env: Option<String>,
    password_file: Option<PathBuf>,
    token_url: Option<String>,
    client_id: Option<String>,
    client_secret: Option<toml::Value>,
    client_secret_env: Option<String>,
    client_secret_file: Option<PathBuf>,
    scopes: Option<Vec<String>>,
    audience: Option<String>,
    resource: Option<String>,
    client_auth: Option<String>,
    refresh_token: Option<toml::Value>,
    refresh_token_env: Option<String>,
    refresh_token_file: Option<PathBuf>,
    token_store: Option<PathBuf>,
    token_store_key: Option<toml::Value>,
    token_store_key_env: Option<String>,
    token_store_key_file: Option<PathBuf>,
    canonical: Option<String>,
    timestamp_header: Option<String>,
    encoding: Option<String>,
    prefix: Option<String>,
    service: Option<String>,
    region: Option<String>,
}

/// Checks the connections of one identity; relative paths are relative
/// to `base`.
pub(crate) fn check_connections(
    entries: BTreeMap<String, ConnectionEntry>,
    base: &Path,
) -> anyhow::Result<BTreeMap<String, ConnectionConfig>> {
    let mut connections = BTreeMap::new();
    for (api, entry) in entries {
        let checked = check_entry(&api, entry, base).with_context(|| format!("API `{api}`"))?;
        connections.insert(api, checked);
    }
    Ok(connections)
}

/// True for the name of a declared API: a machine name (a letter, then
/// letters, digits, `_` or `-`, at most 64 characters).
pub fn is_api_name(name: &str) -> bool {
    name.len() <= 64
        && name.starts_with(|c: char| c.is_ascii_alphabetic())
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

fn check_entry(api: &str, entry: ConnectionEntry, base: &Path) -> anyhow::Result<ConnectionConfig> {
    if !is_api_name(api) {
        bail!("the name must be a letter, then letters, digits, `_` or `-` (at most 64 characters)");
    }
    refuse_literal_secrets(&[
        ("token", entry.token.is_some()),
        ("key", entry.key.is_some()),
        ("password", entry.password.is_some()),
        ("client_secret", entry.client_secret.is_some()),
        ("refresh_token", entry.refresh_token.is_some()),
        ("token_store_key", entry.token_store_key.is_some()),
    ])?;
    let base_url = check_url(&entry.base_url, entry.allow_http).context("`base_url`")?;
    let secret = |env: &Option<String>, file: &Option<PathBuf>, what: &str| -> anyhow::Result<SecretRef> {
        SecretRef::from_fields(env.clone(), file.clone(), what, base)?
            .with_context(|| format!("credential `{}` needs `{what}_env` or `{what}_file`", entry.credential))
    };
    let required = |value: &Option<String>, field: &str| {
        value
            .clone()
            .filter(|v| !v.is_empty())
            .with_context(|| format!("credential `{}` needs `{field}`", entry.credential))
    };
    let token_url = || check_url(&required(&entry.token_url, "token_url")?, entry.allow_http).context("`token_url`");
    let client_auth = || match entry.client_auth.as_deref() {
        None | Some("basic") => Ok(ClientAuth::Basic),
        Some("post") => Ok(ClientAuth::Post),
        Some(other) => bail!("`client_auth` must be `basic` or `post`, not {}", quote_untrusted(other)),
    };
    let header_name = |field: &str, name: &str| {
        http::HeaderName::from_bytes(name.as_bytes())
            .ok()
            .filter(|name| {
                !(crate::net::is_transport_header(name.as_str())
                    || [http::header::HOST, http::header::AUTHORIZATION].contains(name))
            })
            .with_context(|| format!("`{field}` {} is not a header a credential can go in", quote_untrusted(name)))
    };
    let (scheme, belongs): (Scheme, &[&str]) = match entry.credential.as_str() {
        "none" => (Scheme::None, &[]),
        "bearer" => (
            Scheme::Bearer { token: secret(&entry.token_env, &entry.token_file, "token")? },
            &["token_env", "token_file"],
        ),
        "api_key" => {
            let placement = match (&entry.header, &entry.query) {
                (Some(header), None) => KeyPlacement::Header(header_name("header", header)?),
                (None, Some(query)) if is_query_name(query) => KeyPlacement::Query(query.clone()),
                (None, Some(query)) => {
                    bail!("`query` {} is not a query parameter name", quote_untrusted(query))
                }
                _ => bail!("credential `api_key` needs `header = \"NAME\"` or `query = \"NAME\"` (one of them)"),
            };
            (
                Scheme::ApiKey { key: secret(&entry.key_env, &entry.key_file, "key")?, placement },
                &["key_env", "key_file", "header", "query"],
            )
        }
        "basic" => {
            let username = required(&entry.username, "username")?;
            anyhow::ensure!(!username.contains(':'), "`username` may not contain `:` (HTTP basic cannot carry it)");
            (
                Scheme::Basic { username, password: secret(&entry.password_env, &entry.password_file, "password")? },
                &["username", "password_env", "password_file"],
            )
        }
        "oauth2_client_credentials" => (
            Scheme::OAuth2ClientCredentials {
                token_url: token_url()?,
                client_id: required(&entry.client_id, "client_id")?,
                client_secret: secret(&entry.client_secret_env, &entry.client_secret_file, "client_secret")?,
                scopes: entry.scopes.clone().unwrap_or_default(),
                audience: entry.audience.clone(),
                resource: entry.resource.clone(),
                client_auth: client_auth()?,
            },
            &[
                "token_url",
                "client_id",
                "client_secret_env",
                "client_secret_file",
                "scopes",
                "audience",
                "resource",
                "client_auth",
            ],
        ),
        "oauth2_refresh_token" => {
            let token_store = entry
                .token_store
                .clone()
                .context("credential `oauth2_refresh_token` needs `token_store` (a file to keep its rotations in)")?;
            (
                Scheme::OAuth2RefreshToken {
                    token_url: token_url()?,
                    client_id: required(&entry.client_id, "client_id")?,
                    client_secret: SecretRef::from_fields(
                        entry.client_secret_env.clone(),
                        entry.client_secret_file.clone(),
                        "client_secret",
                        base,
                    )?,
                    refresh_token: secret(&entry.refresh_token_env, &entry.refresh_token_file, "refresh_token")?,
                    token_store: if token_store.is_absolute() { token_store } else { base.join(token_store) },
                    token_store_key: secret(
                        &entry.token_store_key_env,
                        &entry.token_store_key_file,
                        "token_store_key",
                    )?,
                    scopes: entry.scopes.clone().unwrap_or_default(),
                    client_auth: client_auth()?,
                },
                &[
                    "token_url",
                    "client_id",
                    "client_secret_env",
                    "client_secret_file",
                    "refresh_token_env",
                    "refresh_token_file",
                    "token_store",
                    "token_store_key_env",
                    "token_store_key_file",
                    "scopes",
                    "client_auth",
                ],
            )
        }
        "hmac" => {
            let canonical = required(&entry.canonical, "canonical")?;
            check_canonical(&canonical)?;
            let encoding = match entry.encoding.as_deref() {
                None | Some("hex") => SignatureEncoding::Hex,
                Some("base64") => SignatureEncoding::Base64,
                Some(other) => bail!("`encoding` must be `hex` or `base64`, not {}", quote_untrusted(other)),
            };
            let timestamp_header =
                entry.timestamp_header.as_deref().map(|name| header_name("timestamp_header", name)).transpose()?;
            (
                Scheme::Hmac {
                    key: secret(&entry.key_env, &entry.key_file, "key")?,
                    header: header_name("header", &required(&entry.header, "header")?)?,
                    canonical,
                    timestamp_header,
                    encoding,
                    prefix: entry.prefix.clone().unwrap_or_default(),
                },
                &["key_env", "key_file", "header", "canonical", "timestamp_header", "encoding", "prefix"],
            )
        }
        "aws_sigv4" => {
            let service = required(&entry.service, "service")?;
            crate::endpoints::check_service(&service).map_err(|e| anyhow::anyhow!("`service`: {e}"))?;
            (Scheme::AwsSigV4 { service, region: entry.region.clone() }, &["service", "region"])
        }
        other => bail!(
            "unknown credential {} (none, bearer, api_key, basic, oauth2_client_credentials, oauth2_refresh_token, \
             hmac or aws_sigv4)",
            quote_untrusted(other)
        ),
    };
    let set = [
        ("token_env", entry.token_env.is_some()),
        ("token_file", entry.token_file.is_some()),
        ("key_env", entry.key_env.is_some()),
        ("key_file", entry.key_file.is_some()),
        ("header", entry.header.is_some()),
        ("query", entry.query.is_some()),
        ("username", entry.username.is_some()),
        ("password_env", entry.password_env.is_some()),
        ("password_file", entry.password_file.is_some()),
        ("token_url", entry.token_url.is_some()),
        ("client_id", entry.client_id.is_some()),
        ("client_secret_env", entry.client_secret_env.is_some()),
        ("client_secret_file", entry.client_secret_file.is_some()),
        ("scopes", entry.scopes.is_some()),
        ("audience", entry.audience.is_some()),
        ("resource", entry.resource.is_some()),
        ("client_auth", entry.client_auth.is_some()),
        ("refresh_token_env", entry.refresh_token_env.is_some()),
        ("refresh_token_file", entry.refresh_token_file.is_some()),
        ("token_store", entry.token_store.is_some()),
        ("token_store_key_env", entry.token_store_key_env.is_some()),
        ("token_store_key_file", entry.token_store_key_file.is_some()),
        ("canonical", entry.canonical.is_some()),
        ("timestamp_header", entry.timestamp_header.is_some()),
        ("encoding", entry.encoding.is_some()),
        ("prefix", entry.prefix.is_some()),
        ("service", entry.service.is_some()),
        ("region", entry.region.is_some()),
    ];
    refuse_foreign_fields(&set, belongs, &format!("credential `{}`", scheme.name()))?;
    Ok(ConnectionConfig {
        api: api.to_owned(),
        base_url,
        scheme,
        allow_private_addresses: entry.allow_private_addresses,
    })
}

/// The placeholders an HMAC canonical string may use.
const CANONICAL_PLACEHOLDERS: &[&str] = &["method", "path", "timestamp", "body", "body_sha256"];

/// Checks that `canonical` uses only [`CANONICAL_PLACEHOLDERS`].
fn check_canonical(canonical: &str) -> anyhow::Result<()> {
    let mut rest = canonical;
    while let Some(start) = rest.find('{') {
        let Some(end) = rest[start..].find('}') else { bail!("`canonical` has a `{{` without its `}}`") };
        let name = &rest[start + 1..start + end];
        if !CANONICAL_PLACEHOLDERS.contains(&name) {
            bail!(
                "`canonical` uses the placeholder {}; it may use {}",
                quote_untrusted(name),
                CANONICAL_PLACEHOLDERS.iter().map(|p| format!("{{{p}}}")).collect::<Vec<_>>().join(", ")
            );
        }
        rest = &rest[start + end + 1..];
    }
    Ok(())
}

/// A query parameter name a key may go in: letters, digits, `_`, `-`, `.`.
fn is_query_name(name: &str) -> bool {
    !name.is_empty() && name.len() <= 128 && name.bytes().all(|b| b.is_ascii_alphanumeric() || b"_-.".contains(&b))
}

/// Checks a URL requests or token requests go to: `https` (or `http` to
/// loopback, or anywhere when `allow_http`), a host, and no user, query or
/// fragment. The path is kept without a trailing `/`.
pub(crate) fn check_url(text: &str, allow_http: bool) -> anyhow::Result<Url> {
    let mut url = Url::parse(text).with_context(|| format!("{} is not a URL", quote_untrusted(text)))?;
    let host = url.host_str().with_context(|| format!("{} names no host", quote_untrusted(text)))?;
    match url.scheme() {
        "https" => {}
        "http" if allow_http || crate::net::is_loopback_authority(host) => {}
        "http" => bail!(
            "{} is plain HTTP to a host that is not loopback: use https, or set `allow_http = true`",
            quote_untrusted(text)
        ),
        other => bail!("{} has scheme `{other}`; use https", quote_untrusted(text)),
    }
    if !url.username().is_empty() || url.password().is_some() {
        bail!("{} carries a user name or password; configure the credential instead", quote_untrusted(text));
    }
    if url.query().is_some() || url.fragment().is_some() {
        bail!("{} has a query or fragment; a base URL is a scheme, host and path", quote_untrusted(text));
    }
    let path = url.path().trim_end_matches('/').to_owned();
    url.set_path(&path);
    Ok(url)
}

/// A secret read from its reference; `Debug` never shows it.
#[derive(Clone)]
pub(crate) struct Secret(String);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl Secret {
    pub(crate) fn expose(&self) -> &str {
        &self.0
    }
}

/// A credential as one request carries it.
pub(crate) enum Applied {
    /// No credential.
    Nothing,
    /// A header (marked sensitive).
    Header(http::HeaderName, http::HeaderValue),
    /// A query parameter, name and value.
    Query(String, Secret),
    /// Headers computed from the request as it goes out (HMAC).
    Signed(Vec<(http::HeaderName, http::HeaderValue)>),
    /// A SigV4 signature with the authentication's AWS credentials.
    AwsSigV4 { service: String, region: Option<String> },
}

/// A request as it goes out, for the credentials computed from it.
pub(crate) struct Outgoing<'a> {
    pub(crate) method: &'a str,
    /// Path and query, as sent.
    pub(crate) path: &'a str,
    pub(crate) body: &'a [u8],
}

/// A connection with its secrets read, and its access token once fetched.
pub(crate) struct Connection {
    pub(crate) config: ConnectionConfig,
    /// The secret of each scheme: the token, key, password or client
    /// secret.
    secret: Option<Secret>,
    /// The tokens of an OAuth connection, held while one is fetched so
    /// that concurrent requests wait for one token request (and a refresh
    /// token is used once).
    tokens: tokio::sync::Mutex<Tokens>,
    /// Where a rotated refresh token is kept, and the digest of the one
    /// the operator configured.
    store: Option<(TokenStore, String)>,
    /// Values a response could echo that must not reach a connector: the
    /// secret and the forms it is sent in.
    fixed_revealing: Vec<String>,
    /// The latest access and refresh tokens, likewise.
    recent_revealing: SyncMutex<std::collections::VecDeque<String>>,
}

/// The OAuth tokens a connection holds.
#[derive(Default)]
struct Tokens {
    access: Option<AccessToken>,
    /// The refresh token to use next (`oauth2_refresh_token`).
    refresh: Option<Secret>,
}

struct AccessToken {
    value: Secret,
    fetched_at: Instant,
    refresh_at: Instant,
}

/// The access token of `tokens`, while it is fresh.
fn fresh(tokens: &Tokens) -> Option<Secret> {
    tokens.access.as_ref().filter(|t| Instant::now() < t.refresh_at).map(|t| t.value.clone())
}

/// How many recent tokens stay hidden in answers (besides the one each
/// request used, which is always hidden in its own answer).
const RECENT_TOKENS: usize = 8;

/// The least time between two access tokens fetched because the API
/// refused one (401): a connector cannot make the host ask the token
/// endpoint on every call.
const MIN_FORCED_REFRESH: Duration = Duration::from_secs(10);

impl Connection {
    /// Reads the secrets of `config`; an error names the variable or file.
    pub(crate) fn resolve(config: ConnectionConfig) -> anyhow::Result<Self> {
        let reference = match &config.scheme {
            Scheme::None => None,
            Scheme::Bearer { token } => Some(token),
            Scheme::ApiKey { key, .. } => Some(key),
            Scheme::Basic { password, .. } => Some(password),
            Scheme::OAuth2ClientCredentials { client_secret, .. } => Some(client_secret),
            Scheme::OAuth2RefreshToken { client_secret, .. } => client_secret.as_ref(),
            Scheme::Hmac { key, .. } => Some(key),
            Scheme::AwsSigV4 { .. } => None,
        };
        let secret = reference.map(|r| r.read().map(Secret)).transpose()?;
        let mut fixed_revealing: Vec<String> = secret.iter().map(|s| s.0.clone()).collect();
        if let (Scheme::Basic { username, .. }, Some(password)) = (&config.scheme, &secret) {
            let value = basic_value(username, password.expose());
            // The credential alone too, as an echo may show it apart.
            fixed_revealing.push(value.trim_start_matches("Basic ").to_owned());
            fixed_revealing.push(value);
        }
        let mut tokens = Tokens::default();
        let mut store = None;
        if let Scheme::OAuth2RefreshToken { refresh_token, token_store, token_store_key, token_url, .. } =
            &config.scheme
        {
            let configured = refresh_token.read()?;
            let origin = crate::digest::sha256_digest(configured.as_bytes());
            let context = format!("{} {}", config.api, token_url);
            let opened = TokenStore::new(token_store.clone(), &token_store_key.read()?, context)
                .with_context(|| format!("`token_store_key` of {}", token_store.display()))?;
            // The store's token, rotated from the configured one; the
            // configured one when the operator gave a new grant since.
            let current = match opened.load()? {
                Some(stored) if stored.origin == origin => stored.refresh_token,
                _ => configured.clone(),
            };
            fixed_revealing.push(configured);
            tokens.refresh = Some(Secret(current));
            store = Some((opened, origin));
        }
        Ok(Connection {
            config,
            secret,
            tokens: tokio::sync::Mutex::new(tokens),
            store,
            fixed_revealing,
            recent_revealing: SyncMutex::new(Default::default()),
        })
    }

    /// What a response must not show a connector: every secret value of
    /// the connection as it may have been sent (a key, a token, a basic
    /// credential), so an API that echoes a request gives none back.
    pub(crate) fn revealing(&self) -> Vec<String> {
        let recent = self.recent_revealing.lock().expect("revealing lock");
        self.fixed_revealing.iter().chain(recent.iter()).cloned().collect()
    }

    /// Hides `token` in answers from now on (with the few before it).
    fn reveals(&self, token: &Secret) {
        let mut recent = self.recent_revealing.lock().expect("revealing lock");
        if recent.len() == RECENT_TOKENS {
            recent.pop_front();
        }
        recent.push_back(token.0.clone());
    }

    /// The credential of the next request; for OAuth, the cached access
    /// token or a new one from the token endpoint (through `client`).
    pub(crate) async fn credential(
        self: &Arc<Self>,
        client: &reqwest::Client,
        outgoing: &Outgoing<'_>,
    ) -> Result<Applied, String> {
        let secret = || self.secret.clone().expect("schemes with a secret have read it");
        Ok(match &self.config.scheme {
            Scheme::None => Applied::Nothing,
            Scheme::Bearer { .. } => Applied::Header(http::header::AUTHORIZATION, bearer(secret().expose())?),
            Scheme::ApiKey { placement: KeyPlacement::Header(name), .. } => {
                let mut value = http::HeaderValue::from_str(secret().expose())
                    .map_err(|_| "the API key has characters a header cannot carry".to_owned())?;
                value.set_sensitive(true);
                Applied::Header(name.clone(), value)
            }
            Scheme::ApiKey { placement: KeyPlacement::Query(name), .. } => Applied::Query(name.clone(), secret()),
            Scheme::Basic { username, .. } => {
                let mut value = http::HeaderValue::from_str(&basic_value(username, secret().expose()))
                    .map_err(|_| "the basic credential has characters a header cannot carry".to_owned())?;
                value.set_sensitive(true);
                Applied::Header(http::header::AUTHORIZATION, value)
            }
            Scheme::OAuth2ClientCredentials { .. } | Scheme::OAuth2RefreshToken { .. } => {
                let token = match self.fresh_token().await {
                    Some(token) => token,
                    // In a task of its own: a caller stopped at its deadline
                    // must not drop a refresh half done, after the provider
                    // spent the old refresh token and before the new one is
                    // kept.
                    None => {
                        let (connection, client) = (self.clone(), client.clone());
                        tokio::spawn(async move { connection.access_token(&client).await })
                            .await
                            .map_err(|e| format!("the token request stopped: {e}"))??
                    }
                };
                Applied::Header(http::header::AUTHORIZATION, bearer(token.expose())?)
            }
            Scheme::Hmac { header, canonical, timestamp_header, encoding, prefix, .. } => {
                let timestamp = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .unwrap_or_default()
                    .as_secs()
                    .to_string();
                let signature = hmac_signature(secret().expose(), canonical, outgoing, &timestamp, *encoding);
                let mut headers = vec![(
                    header.clone(),
                    http::HeaderValue::from_str(&format!("{prefix}{signature}"))
                        .map_err(|_| "the signature prefix has characters a header cannot carry".to_owned())?,
                )];
                if let Some(name) = timestamp_header {
                    headers.push((name.clone(), http::HeaderValue::from_str(&timestamp).expect("digits")));
                }
                Applied::Signed(headers)
            }
            Scheme::AwsSigV4 { service, region } => {
                Applied::AwsSigV4 { service: service.clone(), region: region.clone() }
            }
        })
    }

    /// The headers the host sets with this connection's credential, which
    /// a connector may not set.
    pub(crate) fn owned_headers(&self) -> Vec<&http::HeaderName> {
        match &self.config.scheme {
            Scheme::ApiKey { placement: KeyPlacement::Header(name), .. } => vec![name],
            Scheme::Hmac { header, timestamp_header, .. } => std::iter::once(header).chain(timestamp_header).collect(),
            _ => Vec::new(),
        }
    }

    /// Drops the cached access token after the API refused it (401) in a
    /// request that carried `used` (its `Authorization` value): only that
    /// token, and only if it is older than [`MIN_FORCED_REFRESH`]. Says
    /// whether it dropped it.
    pub(crate) async fn forget_token(&self, used: &str) -> bool {
        let mut tokens = self.tokens.lock().await;
        let stale = tokens.access.as_ref().is_some_and(|token| {
            used.strip_prefix("Bearer ") == Some(token.value.expose())
                && token.fetched_at.elapsed() >= MIN_FORCED_REFRESH
        });
        if stale {
            tokens.access = None;
        }
        stale
    }

    /// Whether the credential is computed from each request as it goes
    /// out (HMAC), which then needs its [`Outgoing`] path.
    pub(crate) fn signs_requests(&self) -> bool {
        matches!(self.config.scheme, Scheme::Hmac { .. })
    }

    pub(crate) fn uses_tokens(&self) -> bool {
        matches!(self.config.scheme, Scheme::OAuth2ClientCredentials { .. } | Scheme::OAuth2RefreshToken { .. })
    }

    /// The cached access token, while it is fresh.
    async fn fresh_token(&self) -> Option<Secret> {
        fresh(&*self.tokens.lock().await)
    }

    async fn access_token(&self, client: &reqwest::Client) -> Result<Secret, String> {
        let mut tokens = self.tokens.lock().await;
        // Another caller may have fetched one while this one waited.
        if let Some(token) = fresh(&tokens) {
            return Ok(token);
        }
        let (token, rotated) = self.fetch_token(client, tokens.refresh.as_ref()).await;
        // Kept even when the rest of the answer is refused: the refresh
        // token it replaces is spent either way.
        if let Some(rotated) = rotated {
            self.reveals(&rotated);
            // Kept before it is used: the one it replaces is spent.
            if let Some((store, origin)) = &self.store {
                let stored = Stored { refresh_token: rotated.0.clone(), origin: origin.clone() };
                if let Err(e) = store.save(&stored) {
                    tracing::error!(api = %self.config.api, store = %store.path().display(), error = %format!("{e:#}"),
                        "could not keep the rotated refresh token: a restart will lose the grant");
                }
            }
            tokens.refresh = Some(rotated);
        }
        let token = token?;
        let value = token.value.clone();
        self.reveals(&value);
        tokens.access = Some(token);
        Ok(value)
    }

    /// Asks the token endpoint for an access token (client credentials,
    /// or `refresh` for a refresh token); also the refresh token the
    /// answer rotated to, if it did, whether or not the access token is
    /// usable. Every message is cleaned of the connection's secrets.
    async fn fetch_token(
        &self,
        client: &reqwest::Client,
        refresh: Option<&Secret>,
    ) -> (Result<AccessToken, String>, Option<Secret>) {
        let (token, rotated) = self.ask_token_endpoint(client, refresh).await;
        let mut revealing = self.revealing();
        revealing.extend(refresh.map(|r| r.0.clone()));
        revealing.extend(rotated.as_ref().map(|r| r.0.clone()));
        (token.map_err(|message| crate::redact::hide_values(&message, &revealing)), rotated)
    }

    async fn ask_token_endpoint(
        &self,
        client: &reqwest::Client,
        refresh: Option<&Secret>,
    ) -> (Result<AccessToken, String>, Option<Secret>) {
        let mut form: Vec<(&str, &str)> = Vec::new();
        let (token_url, client_id, client_auth, scopes) = match &self.config.scheme {
            Scheme::OAuth2ClientCredentials {
                token_url, client_id, scopes, audience, resource, client_auth, ..
            } => {
                form.push(("grant_type", "client_credentials"));
                if let Some(audience) = audience {
                    form.push(("audience", audience));
                }
                if let Some(resource) = resource {
                    form.push(("resource", resource));
                }
                (token_url, client_id, client_auth, scopes)
            }
            Scheme::OAuth2RefreshToken { token_url, client_id, scopes, client_auth, .. } => {
                form.push(("grant_type", "refresh_token"));
                form.push(("refresh_token", refresh.expect("a refresh token is held").expose()));
                (token_url, client_id, client_auth, scopes)
            }
            _ => unreachable!("only OAuth connections fetch tokens"),
        };
        let scope = scopes.join(" ");
        if !scope.is_empty() {
            form.push(("scope", &scope));
        }
        let secret = self.secret.as_ref().map(Secret::expose);
        let mut request = client.post(token_url.clone()).header(http::header::ACCEPT, "application/json");
        match (client_auth, secret) {
            (ClientAuth::Basic, Some(secret)) => {
                request = request.basic_auth(form_encode(client_id), Some(form_encode(secret)))
            }
            (ClientAuth::Post, Some(secret)) => {
                form.push(("client_id", client_id));
                form.push(("client_secret", secret));
            }
            // A public client names itself only.
            (_, None) => form.push(("client_id", client_id)),
        }
        let endpoint = token_url.as_str();
        let started = Instant::now();
        let response = match request.form(&form).send().await {
            Ok(response) => response,
            Err(e) => {
                let error = format!("the token request to {endpoint} failed: {}", error_chain(&e.without_url()));
                return (Err(error), None);
            }
        };
        let status = response.status().as_u16();
        let body = match read_capped(response, MAX_TOKEN_RESPONSE_BYTES).await {
            Ok(body) => body,
            Err(e) => {
                return (Err(format!("the token endpoint {endpoint} answered HTTP {status}, unreadably: {e}")), None);
            }
        };
        let answer: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
        let text = |field: &str| answer.get(field).and_then(|v| v.as_str());
        let rotated = text("refresh_token")
            .filter(|t| !t.is_empty() && refresh.is_some() && (200..300).contains(&status))
            .map(|t| Secret(t.to_owned()));
        (self.access_token_from(endpoint, status, &answer, refresh.is_some(), started), rotated)
    }

    /// The access token of a token endpoint's `answer`, or why there is
    /// none.
    fn access_token_from(
        &self,
        endpoint: &str,
        status: u16,
        answer: &serde_json::Value,
        refreshing: bool,
        started: Instant,
    ) -> Result<AccessToken, String> {
        let text = |field: &str| answer.get(field).and_then(|v| v.as_str());
        if !(200..300).contains(&status) {
            if refreshing && text("error") == Some("invalid_grant") {
                return Err(format!(
                    "the token endpoint {endpoint} refused the refresh token (`invalid_grant`): the grant has \
                     expired or was revoked; obtain a new refresh token and configure it"
                ));
            }
            let code = text("error").map(|c| crate::escape::truncate_chars(c, 100).into_owned());
            let description = text("error_description").map(|d| crate::escape::truncate_chars(d, 300).into_owned());
            return Err(match (code, description) {
                (Some(code), Some(description)) => format!(
                    "the token endpoint {endpoint} refused (HTTP {status}): {} ({})",
                    quote_untrusted(&code),
                    quote_untrusted(&description)
                ),
                (Some(code), None) => {
                    format!("the token endpoint {endpoint} refused (HTTP {status}): {}", quote_untrusted(&code))
                }
                _ => format!("the token endpoint {endpoint} refused with HTTP {status}"),
            });
        }
        let value = text("access_token")
            .filter(|t| !t.is_empty())
            .ok_or_else(|| format!("the token endpoint {endpoint} answered without an `access_token`"))?;
        if let Some(kind) = text("token_type")
            && !kind.eq_ignore_ascii_case("bearer")
        {
            return Err(format!(
                "the token endpoint {endpoint} gave a token of type {}, not `Bearer`",
                quote_untrusted(kind)
            ));
        }
        // Without `expires_in`, a token is used for an hour at most.
        let lifetime = answer.get("expires_in").and_then(|v| v.as_u64()).unwrap_or(3600).min(86_400 * 365);
        let lifetime = Duration::from_secs(lifetime);
        let margin = lifetime.mul_f64(REFRESH_BEFORE_EXPIRY).min(Duration::from_secs(60));
        tracing::debug!(api = %self.config.api, lifetime_s = lifetime.as_secs(), "access token fetched");
        Ok(AccessToken {
            value: Secret(value.to_owned()),
            fetched_at: started,
            refresh_at: started + lifetime - margin,
        })
    }
}

/// HMAC-SHA256 under `key` of `canonical` filled in for `outgoing` at
/// `timestamp`, encoded as asked.
fn hmac_signature(
    key: &str,
    canonical: &str,
    outgoing: &Outgoing<'_>,
    timestamp: &str,
    encoding: SignatureEncoding,
) -> String {
    use base64::Engine;
    use sha2::Digest;
    let body_sha256: String = sha2::Sha256::digest(outgoing.body).iter().map(|b| format!("{b:02x}")).collect();
    let mut message: Vec<u8> = Vec::with_capacity(canonical.len() + outgoing.body.len());
    let mut rest = canonical;
    while let Some(start) = rest.find('{') {
        message.extend_from_slice(&rest.as_bytes()[..start]);
        let end = rest[start..].find('}').map_or(rest.len(), |end| start + end);
        match &rest[start + 1..end] {
            "method" => message.extend_from_slice(outgoing.method.as_bytes()),
            "path" => message.extend_from_slice(outgoing.path.as_bytes()),
            "timestamp" => message.extend_from_slice(timestamp.as_bytes()),
            "body" => message.extend_from_slice(outgoing.body),
            "body_sha256" => message.extend_from_slice(body_sha256.as_bytes()),
            other => unreachable!("checked placeholders only, not {other}"),
        }
        rest = rest.get(end + 1..).unwrap_or("");
    }
    message.extend_from_slice(rest.as_bytes());
    let tag = ring::hmac::sign(&ring::hmac::Key::new(ring::hmac::HMAC_SHA256, key.as_bytes()), &message);
    match encoding {
        SignatureEncoding::Hex => tag.as_ref().iter().map(|b| format!("{b:02x}")).collect(),
        SignatureEncoding::Base64 => base64::engine::general_purpose::STANDARD.encode(tag.as_ref()),
    }
}

/// `Bearer TOKEN` as a sensitive header value.
fn bearer(token: &str) -> Result<http::HeaderValue, String> {
    let mut value = http::HeaderValue::from_str(&format!("Bearer {token}"))
        .map_err(|_| "the token has characters a header cannot carry".to_owned())?;
    value.set_sensitive(true);
    Ok(value)
}

/// `Basic base64(user:password)`.
fn basic_value(username: &str, password: &str) -> String {
    use base64::Engine;
    format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("{username}:{password}")))
}

/// RFC 6749 §2.3.1: client id and secret are form-encoded before HTTP basic.
fn form_encode(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

/// The body of `response`, at most `limit` bytes.
async fn read_capped(mut response: reqwest::Response, limit: usize) -> Result<Vec<u8>, String> {
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(|e| error_chain(&e.without_url()))? {
        if body.len() + chunk.len() > limit {
            return Err(format!("over {limit} bytes"));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> anyhow::Result<BTreeMap<String, ConnectionConfig>> {
        let entries: BTreeMap<String, ConnectionEntry> = toml::from_str(text)?;
        check_connections(entries, Path::new("/etc/connector-host"))
    }

    #[test]
    fn every_scheme_parses() {
        let connections = parse(
            r#"
            [public]
            base_url = "https://api.example.com/v1/"
            credential = "none"
            [github]
            base_url = "https://api.github.com"
            credential = "bearer"
            token_env = "GITHUB_TOKEN"
            [weather]
            base_url = "https://weather.example.com"
            credential = "api_key"
            query = "appid"
            key_file = "secrets/weather"
            [legacy]
            base_url = "http://127.0.0.1:8080"
            credential = "basic"
            username = "ops"
            password_env = "LEGACY_PASSWORD"
            [crm]
            base_url = "https://crm.example.com"
            credential = "oauth2_client_credentials"
            token_url = "https://login.example.com/token"
            client_id = "host"
            client_secret_env = "CRM_SECRET"
            scopes = ["a", "b"]
            "#,
        )
        .unwrap();
        assert_eq!(connections["public"].base_url.as_str(), "https://api.example.com/v1");
        assert!(matches!(&connections["weather"].scheme,
            Scheme::ApiKey { placement: KeyPlacement::Query(q), key: SecretRef::File(f) }
                if q == "appid" && f == Path::new("/etc/connector-host/secrets/weather")));
        assert_eq!(connections["crm"].urls().len(), 2);
        assert_eq!(connections["legacy"].summary().credential, "basic");
    }

    #[test]
    fn mistakes_are_named() {
        for (text, expected) in [
            ("[a]\nbase_url = \"https://x\"\ncredential = \"bearer\"\ntoken = \"ghp_secret\"", "literal secret"),
            ("[a]\nbase_url = \"http://api.example.com\"\ncredential = \"none\"", "plain HTTP"),
            ("[a]\nbase_url = \"https://u:p@api.example.com\"\ncredential = \"none\"", "user name or password"),
            ("[a]\nbase_url = \"https://api.example.com/?x=1\"\ncredential = \"none\"", "query or fragment"),
            ("[a]\nbase_url = \"ftp://api.example.com\"\ncredential = \"none\"", "scheme `ftp`"),
            ("[a]\nbase_url = \"https://x\"\ncredential = \"bearer\"", "needs `token_env` or `token_file`"),
            ("[a]\nbase_url = \"https://x\"\ncredential = \"api_key\"\nkey_env = \"K\"", "needs `header"),
            (
                "[a]\nbase_url = \"https://x\"\ncredential = \"api_key\"\nkey_env = \"K\"\nheader = \"Host\"",
                "not a header a credential can go in",
            ),
            ("[a]\nbase_url = \"https://x\"\ncredential = \"none\"\ntoken_env = \"T\"", "`token_env` does not belong"),
            ("[a]\nbase_url = \"https://x\"\ncredential = \"magic\"", "unknown credential"),
            ("[\"a b\"]\nbase_url = \"https://x\"\ncredential = \"none\"", "the name must be"),
            (
                "[a]\nbase_url = \"https://x\"\ncredential = \"oauth2_client_credentials\"\nclient_id = \"c\"\n\
                 client_secret_env = \"S\"\ntoken_url = \"http://login.example.com\"",
                "`token_url`",
            ),
        ] {
            let err = format!("{:#}", parse(text).unwrap_err());
            assert!(err.contains(expected), "{text}: {err}");
            assert!(!err.contains("ghp_secret"), "the secret is not repeated: {err}");
        }
        assert!(parse("[a]\nbase_url = \"http://api.example.com\"\ncredential = \"none\"\nallow_http = true").is_ok());
        assert!(parse("[a]\nbase_url = \"http://[::1]:80\"\ncredential = \"none\"").is_ok());
    }

    #[test]
    fn hmac_signs_the_canonical_string_as_configured() {
        // RFC 4231 test case 2: HMAC-SHA256("Jefe", "what do ya want for nothing?").
        let outgoing = Outgoing { method: "POST", path: "/hooks?x=1", body: b" for nothing?" };
        let hex = hmac_signature("Jefe", "what do ya want{body}", &outgoing, "0", SignatureEncoding::Hex);
        assert_eq!(hex, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
        let base64 = hmac_signature("Jefe", "what do ya want{body}", &outgoing, "0", SignatureEncoding::Base64);
        assert_eq!(base64, "W9zBRr9gdU5qBCQmCJV1x1oAPwidJzmDnexYuWTsOEM=");
        assert!(check_canonical("{method} {nope}").unwrap_err().to_string().contains("uses the placeholder `nope`"));
        assert!(check_canonical("{method").is_err());
        assert!(check_canonical("{method}:{path}:{timestamp}:{body}:{body_sha256}").is_ok());
    }

    #[tokio::test]
    async fn credentials_are_applied_and_never_shown() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("p"), "pa55word\n").unwrap();
        let text = "[a]\nbase_url = \"https://x\"\ncredential = \"basic\"\nusername = \"ops\"\npassword_file = \"p\"";
        let entries: BTreeMap<String, ConnectionEntry> = toml::from_str(text).unwrap();
        let config = check_connections(entries, dir.path()).unwrap().remove("a").unwrap();
        let connection = Arc::new(Connection::resolve(config).unwrap());
        let outgoing = Outgoing { method: "GET", path: "/", body: b"" };
        let Applied::Header(name, value) = connection.credential(&reqwest::Client::new(), &outgoing).await.unwrap()
        else {
            panic!("basic is a header");
        };
        assert_eq!(name, http::header::AUTHORIZATION);
        assert_eq!(value.to_str().unwrap(), "Basic b3BzOnBhNTV3b3Jk");
        assert!(value.is_sensitive());
        assert_eq!(connection.revealing(), ["pa55word", "b3BzOnBhNTV3b3Jk", "Basic b3BzOnBhNTV3b3Jk"]);
        assert!(!format!("{:?}", connection.secret).contains("pa55word"));
    }
}
