//! Where a component comes from: a file, or an OCI registry. Every place
//! that takes a component (the CLI's commands, a workflow's `connectors`,
//! `serve`) takes either.

use std::fmt;
use std::path::PathBuf;

use crate::oci::{OciReference, SCHEME};

/// A component's file or its OCI reference.
///
/// ```
/// use connector_host::ComponentSource;
/// assert!(matches!(ComponentSource::parse("connectors/cognito.wasm")?, ComponentSource::File(_)));
/// assert!(matches!(ComponentSource::parse("oci://127.0.0.1:5000/connectors/cognito:1.0")?, ComponentSource::Oci(_)));
/// assert!(ComponentSource::parse("oci://127.0.0.1:5000/Cognito").is_err());
/// # anyhow::Ok(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ComponentSource {
    /// A component file.
    File(PathBuf),
    /// A component in an OCI registry.
    Oci(OciReference),
}

impl ComponentSource {
    /// `oci://...` is a registry reference; anything else is a path.
    pub fn parse(text: &str) -> anyhow::Result<Self> {
        if text.starts_with(SCHEME) {
            Ok(ComponentSource::Oci(text.parse()?))
        } else {
            Ok(ComponentSource::File(PathBuf::from(text)))
        }
    }
}

impl From<PathBuf> for ComponentSource {
    fn from(path: PathBuf) -> Self {
        ComponentSource::File(path)
    }
}

impl From<OciReference> for ComponentSource {
    fn from(reference: OciReference) -> Self {
        ComponentSource::Oci(reference)
    }
}

impl fmt::Display for ComponentSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ComponentSource::File(path) => write!(f, "{}", path.display()),
            ComponentSource::Oci(reference) => write!(f, "{reference}"),
        }
    }
}
