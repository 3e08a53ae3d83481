//! How the operator names connectors: what a loaded connector is known by
//! (never its self-chosen manifest name), the selectors grants and
//! authentications use to pick connectors, and the aliases workflows give
//! them. Shared by the capability's grants and the identities' allow-lists,
//! below both.

use std::fmt;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};

/// What the operator knows a loaded connector by: never its self-chosen
/// manifest name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConnectorIdentity {
    /// The alias a workflow (or embedder) loaded it under.
    pub alias: Option<String>,
    /// The component file, canonicalized, when it was loaded from one.
    pub path: Option<PathBuf>,
    /// `sha256:<hex>` of the component's bytes.
    pub digest: String,
    /// The OCI reference it was pulled by, pinned to its manifest's digest
    /// (`oci://REGISTRY/REPOSITORY@sha256:<hex>`), when it came from a
    /// registry.
    pub reference: Option<String>,
    /// The OCI reference as it was asked for (with its tag, if any).
    pub requested: Option<String>,
}

/// Which connectors a grant applies to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConnectorSelector {
    /// The connector a workflow calls by this alias.
    Alias(String),
    /// The component at this path (canonicalized).
    Path(PathBuf),
    /// The component whose bytes have this digest (`sha256:<hex>`).
    Digest(String),
    /// The component pulled by this OCI reference (as asked for, or
    /// pinned to its manifest's digest).
    Reference(String),
    /// `*`: every connector no other grant selects, for an operator who
    /// wants nothing granted by default (`--grant '*='`).
    Others,
}

impl ConnectorSelector {
    /// Parses what `--grant` takes before `=`: `sha256:<64 hex digits>`, an
    /// `oci://` reference, a path (anything with a `/` or ending in `.wasm`;
    /// it must exist), a workflow alias (letters, digits, `_` and `-`), or
    /// `*`.
    pub fn parse(text: &str) -> anyhow::Result<Self> {
        Self::parse_in(text, None)
    }

    /// Like [`parse`](Self::parse), with a relative component path taken
    /// relative to `base` (the directory of the file that names it).
    pub fn parse_relative_to(text: &str, base: &Path) -> anyhow::Result<Self> {
        Self::parse_in(text, Some(base))
    }

    fn parse_in(text: &str, base: Option<&Path>) -> anyhow::Result<Self> {
        if text == "*" {
            return Ok(ConnectorSelector::Others);
        }
        if text.starts_with(crate::oci::SCHEME) {
            let reference: crate::oci::OciReference = text.parse()?;
            return Ok(ConnectorSelector::Reference(reference.to_string()));
        }
        if let Some(hex) = text.strip_prefix("sha256:") {
            if hex.len() != 64 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
                bail!("`{text}` is not a sha256 digest (sha256: and 64 hex digits)");
            }
            return Ok(ConnectorSelector::Digest(format!("sha256:{}", hex.to_ascii_lowercase())));
        }
        if text.contains('/') || text.ends_with(".wasm") {
            let path = match base {
                Some(base) if Path::new(text).is_relative() => base.join(text),
                _ => Path::new(text).to_owned(),
            };
            let path =
                path.canonicalize().with_context(|| format!("`{text}` names a component file that cannot be found"))?;
            return Ok(ConnectorSelector::Path(path));
        }
        if is_alias(text) {
            return Ok(ConnectorSelector::Alias(text.to_owned()));
        }
        bail!("`{text}` is neither an alias (letters, digits, `_`, `-`), a component path nor a sha256: digest")
    }

    /// Whether this selects the connector known as `identity` (`*` selects
    /// every connector).
    pub fn selects(&self, identity: &ConnectorIdentity) -> bool {
        *self == ConnectorSelector::Others || self.matches(identity)
    }

    /// Whether this names the connector known as `identity` (`*` names
    /// none: it stands for the rest).
    pub(crate) fn matches(&self, identity: &ConnectorIdentity) -> bool {
        match self {
            ConnectorSelector::Alias(alias) => identity.alias.as_deref() == Some(alias.as_str()),
            ConnectorSelector::Path(path) => identity.path.as_deref() == Some(path.as_path()),
            ConnectorSelector::Digest(digest) => &identity.digest == digest,
            ConnectorSelector::Reference(reference) => {
                identity.reference.as_ref() == Some(reference) || identity.requested.as_ref() == Some(reference)
            }
            ConnectorSelector::Others => false,
        }
    }
}

impl fmt::Display for ConnectorSelector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConnectorSelector::Alias(alias) => write!(f, "alias `{alias}`"),
            ConnectorSelector::Path(path) => write!(f, "path {}", path.display()),
            ConnectorSelector::Digest(digest) => write!(f, "digest {digest}"),
            ConnectorSelector::Reference(reference) => write!(f, "{reference}"),
            ConnectorSelector::Others => write!(f, "every other connector (`*`)"),
        }
    }
}

/// True for a workflow alias: 1 to 64 ASCII letters, digits, `_` or `-`.
pub fn is_alias(text: &str) -> bool {
    !text.is_empty() && text.len() <= 64 && text.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}
