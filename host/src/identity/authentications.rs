//! Named authentications: the AWS identities a host signs with, one per
//! customer, account or environment, picked per call and per workflow
//! step. Read from a TOML file (`--authentications FILE`):
//!
//! ```toml
//! [authentications.marketing]
//! kind = "static"
//! access_key_id = "AKIA..."
//! secret_access_key_env = "MARKETING_SECRET"   # or secret_access_key_file
//! region = "eu-west-1"
//!
//! [authentications.ops]
//! kind = "assume_role"
//! role_arn = "arn:aws:iam::123456789012:role/ops"
//! source = "marketing"
//! ```
//!
//! Kinds: `static`, `assume_role` (sourced from another authentication),
//! `profile` (the AWS config files), `web_identity`, `default` (the
//! SDK's chain) and `none` (no AWS credentials: an authentication for HTTP
//! APIs only). Any entry may set `region`, `endpoint_url` and
//! `connectors` (which connectors may use it: aliases, component paths or
//! `sha256:` digests, as grants select them; default all), and its
//! connections to HTTP APIs (`[authentications.NAME.apis.API]`, see
//! `connections`); connections at the top (`[apis.API]`) belong to the
//! host's own identity.
//!
//! Guards against secrets at rest in the file and in anything the host
//! shows: a secret is only ever referenced (an environment variable or a
//! file), a literal one is refused; a file readable by other users gets a
//! warning; listings show key ids shortened and never a secret; every
//! problem (an unknown source, a cycle of sources, a missing variable, an
//! unreadable file) is an error before anything is sent.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use serde::{Deserialize, Serialize};

use crate::files::read_capped;
use crate::identity::connections::{ConnectionConfig, ConnectionEntry, ConnectionSummary, check_connections};
use crate::selector::{ConnectorIdentity, ConnectorSelector};

/// Largest authentications file read.
const MAX_FILE_BYTES: u64 = 1024 * 1024;

/// The parsed, checked authentications of a file.
#[derive(Debug, Clone, Default)]
pub struct Authentications {
    entries: BTreeMap<String, Authentication>,
    /// Connections of the host's own identity, by API.
    apis: BTreeMap<String, ConnectionConfig>,
}

/// One named authentication, as configured (its secrets still references).
#[derive(Debug, Clone)]
pub struct Authentication {
    pub name: String,
    pub kind: AuthenticationKind,
    /// Region to sign for and to pick endpoints in.
    pub region: Option<String>,
    /// Endpoint for every service called with this authentication.
    pub endpoint_url: Option<String>,
    /// Connectors that may use it; empty means all.
    pub connectors: Vec<ConnectorSelector>,
    /// Its connections to HTTP APIs, by API.
    pub apis: BTreeMap<String, ConnectionConfig>,
}

/// Where an authentication's credentials come from.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum AuthenticationKind {
    Static {
        access_key_id: String,
        secret_access_key: SecretRef,
        session_token: Option<SecretRef>,
    },
    AssumeRole {
        role_arn: String,
        source: String,
        session_name: Option<String>,
        external_id: Option<String>,
    },
    Profile {
        profile: String,
    },
    WebIdentity {
        role_arn: String,
        web_identity_token_file: PathBuf,
        session_name: Option<String>,
    },
    Default,
    /// No AWS credentials: for HTTP APIs only.
    None,
}

impl AuthenticationKind {
    pub fn name(&self) -> &'static str {
        match self {
            AuthenticationKind::Static { .. } => "static",
            AuthenticationKind::AssumeRole { .. } => "assume_role",
            AuthenticationKind::Profile { .. } => "profile",
            AuthenticationKind::WebIdentity { .. } => "web_identity",
            AuthenticationKind::Default => "default",
            AuthenticationKind::None => "none",
        }
    }
}

/// A reference to a secret: never the secret itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretRef {
    Env(String),
    File(PathBuf),
}

impl SecretRef {
    /// The reference a file gives for secret `what` with `{what}_env` or
    /// `{what}_file` (a relative path is relative to `base`); `None` when
    /// it gives neither, an error when both.
    pub(crate) fn from_fields(
        env: Option<String>,
        file: Option<PathBuf>,
        what: &str,
        base: &Path,
    ) -> anyhow::Result<Option<SecretRef>> {
        match (env, file) {
            (Some(_), Some(_)) => bail!("set `{what}_env` or `{what}_file`, not both"),
            (Some(var), None) => Ok(Some(SecretRef::Env(var))),
            (None, Some(file)) if file.is_absolute() => Ok(Some(SecretRef::File(file))),
            (None, Some(file)) => Ok(Some(SecretRef::File(base.join(file)))),
            (None, None) => Ok(None),
        }
    }

    /// Reads the secret; errors name the variable or file, never a value.
    pub(crate) fn read(&self) -> anyhow::Result<String> {
        match self {
            SecretRef::Env(var) => match std::env::var(var) {
                Ok(value) if !value.trim().is_empty() => Ok(value.trim().to_owned()),
                Ok(_) => bail!("the environment variable {var} is empty"),
                Err(_) => bail!("the environment variable {var} is not set"),
            },
            SecretRef::File(path) => {
                let bytes = read_capped(path, 64 * 1024, "secret file", "a shorter secret")?;
                let text = String::from_utf8(bytes)
                    .with_context(|| format!("the secret file {} is not UTF-8", path.display()))?;
                let text = text.trim();
                if text.is_empty() {
                    bail!("the secret file {} is empty", path.display());
                }
                warn_if_shared(path, "secret file");
                Ok(text.to_owned())
            }
        }
    }
}

/// What `auth list` shows of an authentication: never a secret.
#[derive(Debug, Clone, Serialize)]
pub struct AuthenticationSummary {
    pub name: String,
    pub kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// The access key id, shortened (`AKIA…WXYZ`), for static ones.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub access_key_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role_arn: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub profile: Option<String>,
    /// Its connections to HTTP APIs.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub apis: Vec<ConnectionSummary>,
}

/// An entry as the file spells it; checked into an [`Authentication`].
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Entry {
    kind: String,
    region: Option<String>,
    endpoint_url: Option<String>,
    connectors: Option<Vec<String>>,
    access_key_id: Option<String>,
    secret_access_key: Option<toml::Value>,
    secret_access_key_env: Option<String>,
    secret_access_key_file: Option<PathBuf>,
    session_token: Option<toml::Value>,
    session_token_env: Option<String>,
    session_token_file: Option<PathBuf>,
    role_arn: Option<String>,
    source: Option<String>,
    session_name: Option<String>,
    external_id: Option<String>,
    profile: Option<String>,
    web_identity_token_file: Option<PathBuf>,
    apis: Option<BTreeMap<String, ConnectionEntry>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    authentications: BTreeMap<String, Entry>,
    #[serde(default)]
    apis: BTreeMap<String, ConnectionEntry>,
}

impl Authentications {
    /// Reads and checks the file at `path`; relative secret and token file
    /// paths are relative to it.
    pub fn from_file(path: &Path) -> anyhow::Result<Self> {
        let bytes = read_capped(path, MAX_FILE_BYTES, "authentications file", "a smaller file")?;
        warn_if_shared(path, "authentications file");
        let text = String::from_utf8(bytes).with_context(|| format!("{} is not UTF-8", path.display()))?;
        Self::parse(&text, path.parent().unwrap_or(Path::new("")))
            .with_context(|| format!("{} is not a valid authentications file", path.display()))
    }

    /// Parses and checks `text`; relative paths are relative to `base`.
    pub fn parse(text: &str, base: &Path) -> anyhow::Result<Self> {
        let file: File = toml::from_str(text)?;
        let mut entries = BTreeMap::new();
        for (name, entry) in file.authentications {
            let checked = check_entry(&name, entry, base).with_context(|| format!("authentication `{name}`"))?;
            entries.insert(name, checked);
        }
        let apis = check_connections(file.apis, base).context("the host's own connections")?;
        let authentications = Authentications { entries, apis };
        authentications.check_sources()?;
        Ok(authentications)
    }

    fn check_sources(&self) -> anyhow::Result<()> {
        for name in self.entries.keys() {
            let mut chain = vec![name.as_str()];
            let mut current = name.as_str();
            while let Some(AuthenticationKind::AssumeRole { source, .. }) = self.entries.get(current).map(|e| &e.kind) {
                if !self.entries.contains_key(source) {
                    bail!("authentication `{current}`: its source `{source}` is not an authentication of the file");
                }
                if chain.contains(&source.as_str()) {
                    chain.push(source);
                    bail!("authentications form a cycle of sources: {}", chain.join(" → "));
                }
                chain.push(source);
                current = source;
            }
        }
        Ok(())
    }

    /// The authentication called `name`.
    pub fn get(&self, name: &str) -> Option<&Authentication> {
        self.entries.get(name)
    }

    /// Every authentication, by name.
    pub fn iter(&self) -> impl Iterator<Item = &Authentication> {
        self.entries.values()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty() && self.apis.is_empty()
    }

    /// The connections of the host's own identity (`[apis.NAME]`), by API.
    pub fn own_apis(&self) -> &BTreeMap<String, ConnectionConfig> {
        &self.apis
    }

    /// What `auth list` shows: names, kinds, regions, shortened key ids,
    /// connections; the host's own connections first, as `(host)` of kind
    /// `host` (a name no authentication can have), when there are any.
    pub fn summaries(&self) -> Vec<AuthenticationSummary> {
        let own = (!self.apis.is_empty()).then(|| AuthenticationSummary {
            name: "(host)".to_owned(),
            kind: "host",
            region: None,
            access_key_id: None,
            role_arn: None,
            source: None,
            profile: None,
            apis: self.apis.values().map(ConnectionConfig::summary).collect(),
        });
        own.into_iter()
            .chain(self.entries.values().map(|a| {
                let mut summary = AuthenticationSummary {
                    name: a.name.clone(),
                    kind: a.kind.name(),
                    region: a.region.clone(),
                    access_key_id: None,
                    role_arn: None,
                    source: None,
                    profile: None,
                    apis: a.apis.values().map(ConnectionConfig::summary).collect(),
                };
                match &a.kind {
                    AuthenticationKind::Static { access_key_id, .. } => {
                        summary.access_key_id = Some(shorten(access_key_id))
                    }
                    AuthenticationKind::AssumeRole { role_arn, source, .. } => {
                        summary.role_arn = Some(role_arn.clone());
                        summary.source = Some(source.clone());
                    }
                    AuthenticationKind::WebIdentity { role_arn, .. } => summary.role_arn = Some(role_arn.clone()),
                    AuthenticationKind::Profile { profile } => summary.profile = Some(profile.clone()),
                    AuthenticationKind::Default | AuthenticationKind::None => {}
                }
                summary
            }))
            .collect()
    }
}

impl Authentication {
    /// Whether the connector known as `identity` may use this
    /// authentication.
    pub fn allows(&self, identity: &ConnectorIdentity) -> bool {
        self.connectors.is_empty() || self.connectors.iter().any(|selector| selector.selects(identity))
    }
}

/// `AKIA…WXYZ`: enough to tell keys apart, not to use one.
fn shorten(key_id: &str) -> String {
    let chars: Vec<char> = key_id.chars().collect();
    if chars.len() <= 8 {
        return "…".to_owned();
    }
    format!("{}…{}", chars[..4].iter().collect::<String>(), chars[chars.len() - 4..].iter().collect::<String>())
}

fn check_entry(name: &str, entry: Entry, base: &Path) -> anyhow::Result<Authentication> {
    if !crate::selector::is_alias(name) {
        bail!("the name must be 1 to 64 letters, digits, `_` or `-`");
    }
    refuse_literal_secrets(&[
        ("secret_access_key", entry.secret_access_key.is_some()),
        ("session_token", entry.session_token.is_some()),
    ])?;
    let resolve = |path: PathBuf| if path.is_absolute() { path } else { base.join(path) };
    let secret = |env, file, what: &str| SecretRef::from_fields(env, file, what, base);
    let required = |value: Option<String>, field: &str| {
        value.filter(|v| !v.is_empty()).with_context(|| format!("`{field}` is required for kind `{}`", entry.kind))
    };
    let kind = match entry.kind.as_str() {
        "static" => AuthenticationKind::Static {
            access_key_id: required(entry.access_key_id.clone(), "access_key_id")?,
            secret_access_key: secret(
                entry.secret_access_key_env.clone(),
                entry.secret_access_key_file.clone(),
                "secret_access_key",
            )?
            .context("a static authentication needs `secret_access_key_env` or `secret_access_key_file`")?,
            session_token: secret(entry.session_token_env.clone(), entry.session_token_file.clone(), "session_token")?,
        },
        "assume_role" => AuthenticationKind::AssumeRole {
            role_arn: required(entry.role_arn.clone(), "role_arn")?,
            source: required(entry.source.clone(), "source")?,
            session_name: entry.session_name.clone(),
            external_id: entry.external_id.clone(),
        },
        "profile" => AuthenticationKind::Profile { profile: required(entry.profile.clone(), "profile")? },
        "web_identity" => AuthenticationKind::WebIdentity {
            role_arn: required(entry.role_arn.clone(), "role_arn")?,
            web_identity_token_file: resolve(
                entry
                    .web_identity_token_file
                    .clone()
                    .context("`web_identity_token_file` is required for kind `web_identity`")?,
            ),
            session_name: entry.session_name.clone(),
        },
        "default" => AuthenticationKind::Default,
        "none" => AuthenticationKind::None,
        other => bail!("unknown kind `{other}` (static, assume_role, profile, web_identity, default or none)"),
    };
    // Fields that do not belong to the kind are mistakes worth naming.
    let kind_name = kind.name();
    let belongs: &[&str] = match kind_name {
        "static" => &[
            "access_key_id",
            "secret_access_key_env",
            "secret_access_key_file",
            "session_token_env",
            "session_token_file",
        ],
        "assume_role" => &["role_arn", "source", "session_name", "external_id"],
        "profile" => &["profile"],
        "web_identity" => &["role_arn", "web_identity_token_file", "session_name"],
        _ => &[],
    };
    let set = [
        ("access_key_id", entry.access_key_id.is_some()),
        ("secret_access_key_env", entry.secret_access_key_env.is_some()),
        ("secret_access_key_file", entry.secret_access_key_file.is_some()),
        ("session_token_env", entry.session_token_env.is_some()),
        ("session_token_file", entry.session_token_file.is_some()),
        ("role_arn", entry.role_arn.is_some()),
        ("source", entry.source.is_some()),
        ("session_name", entry.session_name.is_some()),
        ("external_id", entry.external_id.is_some()),
        ("profile", entry.profile.is_some()),
        ("web_identity_token_file", entry.web_identity_token_file.is_some()),
    ];
    refuse_foreign_fields(&set, belongs, &format!("kind `{kind_name}`"))?;
    if let Some(session_name) = &entry.session_name
        && !(2..=64).contains(&session_name.len())
    {
        bail!("`session_name` must be 2 to 64 characters");
    }
    if let Some(url) = &entry.endpoint_url {
        crate::endpoints::Endpoints::all_services(url).context("`endpoint_url`")?;
    }
    let connectors = entry
        .connectors
        .unwrap_or_default()
        .iter()
        // A relative component path is relative to the file, as its secret
        // files are.
        .map(|c| ConnectorSelector::parse_relative_to(c, base).context("`connectors`"))
        .collect::<anyhow::Result<_>>()?;
    let apis = check_connections(entry.apis.unwrap_or_default(), base)?;
    Ok(Authentication {
        name: name.to_owned(),
        kind,
        region: entry.region,
        endpoint_url: entry.endpoint_url,
        connectors,
        apis,
    })
}

/// Refuses each of `fields` (name, whether the file sets it) that holds a
/// secret literally, naming the `_env` and `_file` forms to use instead.
pub(crate) fn refuse_literal_secrets(fields: &[(&str, bool)]) -> anyhow::Result<()> {
    if let Some((field, _)) = fields.iter().find(|(_, set)| *set) {
        bail!(
            "`{field}` holds a literal secret, which a file must not: reference it with \
             `{field}_env = \"VARIABLE\"` or `{field}_file = \"/path/to/file\"`"
        );
    }
    Ok(())
}

/// Refuses the fields of `set` (name, whether the file sets it) that are
/// set but not in `belongs`, naming them all and `what` they do not belong
/// to (`kind \`static\``): a field of another kind is a mistake worth naming.
pub(crate) fn refuse_foreign_fields(set: &[(&str, bool)], belongs: &[&str], what: &str) -> anyhow::Result<()> {
    let foreign: Vec<String> =
        set.iter().filter(|(field, set)| *set && !belongs.contains(field)).map(|(f, _)| format!("`{f}`")).collect();
    if !foreign.is_empty() {
        bail!("{} does not belong to {what}", foreign.join(", "));
    }
    Ok(())
}

/// Warns when `path` is readable or writable by users other than its owner.
fn warn_if_shared(path: &Path, what: &str) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if let Ok(metadata) = std::fs::metadata(path)
            && metadata.permissions().mode() & 0o077 != 0
        {
            tracing::warn!(path = %path.display(), mode = format!("{:o}", metadata.permissions().mode() & 0o777),
                "the {what} can be read by other users; make it private (chmod 600)");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> anyhow::Result<Authentications> {
        Authentications::parse(text, Path::new("/etc/connector-host"))
    }

    #[test]
    fn a_file_of_every_kind() {
        let auths = parse(
            r#"
            [authentications.marketing]
            kind = "static"
            access_key_id = "AKIAEXAMPLEKEY123456"
            secret_access_key_env = "MARKETING_SECRET"
            region = "eu-west-1"
            connectors = ["cognito", "oci://127.0.0.1:5000/team/cognito:1.0"]

            [authentications.ops]
            kind = "assume_role"
            role_arn = "arn:aws:iam::123456789012:role/ops"
            source = "marketing"
            session_name = "connector-host"

            [authentications.laptop]
            kind = "profile"
            profile = "dev"

            [authentications.files]
            kind = "static"
            access_key_id = "AKIAFILE"
            secret_access_key_file = "secrets/key"

            [authentications.chain]
            kind = "default"

            [authentications.crm]
            kind = "none"
            [authentications.crm.apis.crm]
            base_url = "https://crm.example.com"
            credential = "bearer"
            token_env = "CRM_TOKEN"

            [apis.github]
            base_url = "https://api.github.com"
            credential = "none"
            "#,
        )
        .unwrap();
        let summaries = serde_json::to_value(auths.summaries()).unwrap();
        assert_eq!(summaries[0]["name"], "(host)");
        assert_eq!(summaries[0]["apis"][0]["base_url"], "https://api.github.com/");
        assert_eq!(summaries[2]["apis"][0]["credential"], "bearer", "{summaries}");
        assert_eq!(summaries[5]["access_key_id"], "AKIA…3456");
        assert_eq!(summaries[6]["source"], "marketing");
        let files = auths.get("files").unwrap();
        assert!(matches!(&files.kind, AuthenticationKind::Static { secret_access_key: SecretRef::File(p), .. }
            if p == Path::new("/etc/connector-host/secrets/key")));
        let marketing = auths.get("marketing").unwrap();
        let cognito = ConnectorIdentity { alias: Some("cognito".into()), ..Default::default() };
        assert!(marketing.allows(&cognito));
        assert!(!marketing.allows(&ConnectorIdentity { alias: Some("other".into()), ..Default::default() }));
        let pulled =
            ConnectorIdentity { requested: Some("oci://127.0.0.1:5000/team/cognito:1.0".into()), ..Default::default() };
        assert!(marketing.allows(&pulled), "an OCI reference is a reference, not a path under the file's directory");
        assert!(auths.get("ops").unwrap().allows(&cognito), "no list: every connector");
    }

    #[test]
    fn mistakes_are_named() {
        for (text, expected) in [
            (
                "[authentications.a]\nkind = \"static\"\naccess_key_id = \"AKIA\"\nsecret_access_key = \"wJalr\"",
                "literal secret",
            ),
            ("[authentications.a]\nkind = \"static\"\naccess_key_id = \"AKIA\"", "needs `secret_access_key_env`"),
            ("[authentications.a]\nkind = \"assume_role\"\nrole_arn = \"r\"\nsource = \"b\"", "its source `b` is not"),
            (
                "[authentications.a]\nkind = \"assume_role\"\nrole_arn = \"r\"\nsource = \"b\"\n\
                 [authentications.b]\nkind = \"assume_role\"\nrole_arn = \"r\"\nsource = \"a\"",
                "cycle of sources: a → b → a",
            ),
            ("[authentications.a]\nkind = \"magic\"", "unknown kind `magic`"),
            (
                "[authentications.a]\nkind = \"profile\"\nprofile = \"p\"\nrole_arn = \"r\"",
                "`role_arn` does not belong",
            ),
            ("[authentications.a]\nkind = \"default\"\nregoin = \"x\"", "unknown field `regoin`"),
        ] {
            let err = format!("{:#}", parse(text).unwrap_err());
            assert!(err.contains(expected), "{text}: {err}");
            assert!(!err.contains("wJalr"), "the secret is not repeated: {err}");
        }
    }

    #[test]
    fn secrets_come_from_the_environment_or_a_file() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("secret");
        std::fs::write(&file, "file-secret\n").unwrap();
        assert_eq!(SecretRef::File(file).read().unwrap(), "file-secret");
        let err = SecretRef::Env("CONNECTOR_HOST_TEST_UNSET_VARIABLE".into()).read().unwrap_err();
        assert_eq!(err.to_string(), "the environment variable CONNECTOR_HOST_TEST_UNSET_VARIABLE is not set");
        let err = SecretRef::File(dir.path().join("missing")).read().unwrap_err();
        assert!(format!("{err:#}").contains("could not open the secret file"), "{err:#}");
    }
}
