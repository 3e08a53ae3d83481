//! `oci://REGISTRY/REPOSITORY:TAG` and `oci://REGISTRY/REPOSITORY@sha256:...`
//! references, checked before anything is fetched.
//!
//! Guards against a reference that would make a request other than the one
//! it names: every part is held to the OCI distribution grammar, so no
//! `..`, query, fragment, user info or whitespace reaches a URL.

use std::fmt;

use anyhow::{Context, bail};

/// Where a connector component lives in an OCI registry.
///
/// ```
/// use connector_host::OciReference;
/// let pinned: OciReference = "oci://127.0.0.1:5000/connectors/cognito@sha256:2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae"
///     .parse()
///     .unwrap();
/// assert_eq!(pinned.registry(), "127.0.0.1:5000");
/// assert_eq!(pinned.repository(), "connectors/cognito");
/// assert!(pinned.digest().is_some());
/// assert!("oci://127.0.0.1:5000/connectors/cognito".parse::<OciReference>().is_err(), "a tag or a digest is required");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct OciReference {
    registry: String,
    repository: String,
    tag: Option<String>,
    digest: Option<String>,
}

/// What `oci://` references start with.
pub const SCHEME: &str = "oci://";

impl OciReference {
    /// The registry's host, with its port if it has one.
    pub fn registry(&self) -> &str {
        &self.registry
    }

    /// The repository within the registry.
    pub fn repository(&self) -> &str {
        &self.repository
    }

    /// The tag, if the reference names one.
    pub fn tag(&self) -> Option<&str> {
        self.tag.as_deref()
    }

    /// The manifest digest (`sha256:<hex>`), if the reference pins one.
    pub fn digest(&self) -> Option<&str> {
        self.digest.as_deref()
    }

    /// The same repository pinned to `digest`, without a tag.
    pub fn pinned(&self, digest: &str) -> OciReference {
        OciReference { tag: None, digest: Some(digest.to_owned()), ..self.clone() }
    }

    /// The host part of the registry, without its port or IPv6 brackets.
    pub fn host(&self) -> &str {
        let registry = self.registry.as_str();
        if let Some(rest) = registry.strip_prefix('[') {
            return rest.split(']').next().unwrap_or(rest);
        }
        registry.rsplit_once(':').map_or(registry, |(host, _)| host)
    }

    /// Whether the registry is on this machine (`localhost` or a loopback
    /// address), where plain HTTP is allowed.
    pub fn is_loopback(&self) -> bool {
        crate::net::is_loopback_authority(&self.registry)
    }

    pub(crate) fn to_client_reference(&self) -> oci_client::Reference {
        match (&self.tag, &self.digest) {
            (_, Some(digest)) => {
                oci_client::Reference::with_digest(self.registry.clone(), self.repository.clone(), digest.clone())
            }
            (Some(tag), None) => {
                oci_client::Reference::with_tag(self.registry.clone(), self.repository.clone(), tag.clone())
            }
            (None, None) => unreachable!("parsing requires a tag or a digest"),
        }
    }
}

impl std::str::FromStr for OciReference {
    type Err = anyhow::Error;

    fn from_str(text: &str) -> anyhow::Result<Self> {
        parse(text).with_context(|| format!("`{}` is not an OCI reference", crate::escape::escape_untrusted(text)))
    }
}

fn parse(text: &str) -> anyhow::Result<OciReference> {
    let Some(rest) = text.strip_prefix(SCHEME) else {
        bail!("it must start with {SCHEME}");
    };
    let Some((registry, path)) = rest.split_once('/') else {
        bail!("it must be {SCHEME}REGISTRY/REPOSITORY:TAG or {SCHEME}REGISTRY/REPOSITORY@sha256:DIGEST");
    };
    check_registry(registry)?;
    let (name, digest) = match path.rsplit_once('@') {
        Some((name, digest)) => (name, Some(check_digest(digest)?)),
        None => (path, None),
    };
    let (repository, tag) = match name.rsplit_once(':') {
        Some((repository, tag)) => (repository, Some(check_tag(tag)?)),
        None => (name, None),
    };
    check_repository(repository)?;
    if tag.is_none() && digest.is_none() {
        bail!("name a tag (`:1.0`, `:latest`) or pin a digest (`@sha256:...`)");
    }
    Ok(OciReference { registry: registry.to_owned(), repository: repository.to_owned(), tag, digest })
}

fn check_registry(registry: &str) -> anyhow::Result<()> {
    let (host, port) = if let Some(rest) = registry.strip_prefix('[') {
        let Some((address, port)) = rest.split_once(']') else { bail!("the registry `{registry}` lacks a `]`") };
        address.parse::<std::net::Ipv6Addr>().with_context(|| format!("`{address}` is not an IPv6 address"))?;
        match port {
            "" => (None, None),
            _ => match port.strip_prefix(':') {
                Some(port) => (None, Some(port)),
                None => bail!("the registry `{registry}` has something other than :PORT after `]`"),
            },
        }
    } else {
        match registry.rsplit_once(':') {
            Some((host, port)) => (Some(host), Some(port)),
            None => (Some(registry), None),
        }
    };
    if let Some(host) = host {
        let label_ok = |label: &str| {
            !label.is_empty()
                && label.len() <= 63
                && label.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
                && !label.starts_with('-')
                && !label.ends_with('-')
        };
        if host.is_empty() || host.len() > 253 || !host.split('.').all(label_ok) {
            bail!(
                "the registry `{registry}` is not a host name (letters, digits, `-` and dots, then an optional :PORT)"
            );
        }
    }
    if let Some(port) = port
        && (port.is_empty()
            || port.len() > 5
            || !port.bytes().all(|b| b.is_ascii_digit())
            || port.parse::<u16>().is_err())
    {
        bail!("the registry `{registry}` has a port that is not a number from 0 to 65535");
    }
    Ok(())
}

/// A path component: lower-case letters and digits, separated by `.`, `_`,
/// `__` or runs of `-`, as the distribution spec has it.
fn check_repository(repository: &str) -> anyhow::Result<()> {
    let component_ok = |component: &str| {
        let bytes = component.as_bytes();
        let alphanumeric = |b: &u8| b.is_ascii_lowercase() || b.is_ascii_digit();
        if bytes.is_empty() || !bytes.first().is_some_and(alphanumeric) || !bytes.last().is_some_and(alphanumeric) {
            return false;
        }
        let mut run = String::new();
        for &b in bytes {
            if alphanumeric(&b) {
                if !(run.is_empty() || run == "." || run == "_" || run == "__" || run.bytes().all(|r| r == b'-')) {
                    return false;
                }
                run.clear();
            } else if matches!(b, b'.' | b'_' | b'-') {
                run.push(b as char);
            } else {
                return false;
            }
        }
        true
    };
    if repository.is_empty() || repository.len() > 255 || !repository.split('/').all(component_ok) {
        bail!(
            "the repository `{repository}` must be lower-case letters and digits, separated by `/`, `.`, `_` or `-` \
             (at most 255 characters)"
        );
    }
    Ok(())
}

fn check_tag(tag: &str) -> anyhow::Result<String> {
    let first_ok = tag.bytes().next().is_some_and(|b| b.is_ascii_alphanumeric() || b == b'_');
    if !first_ok
        || tag.len() > 128
        || !tag.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
    {
        bail!("the tag `{tag}` must be letters, digits, `_`, `.` and `-` (at most 128, not starting with `.` or `-`)");
    }
    Ok(tag.to_owned())
}

/// Only SHA-256 digests: the one algorithm registries must support.
pub(crate) fn check_digest(digest: &str) -> anyhow::Result<String> {
    let Some(hex) = digest.strip_prefix("sha256:") else {
        bail!("the digest `{digest}` must be sha256:<64 hex digits>");
    };
    if hex.len() != 64 || !hex.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) {
        bail!("the digest `{digest}` must be sha256: and 64 lower-case hex digits");
    }
    Ok(digest.to_owned())
}

impl fmt::Display for OciReference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{SCHEME}{}/{}", self.registry, self.repository)?;
        if let Some(tag) = &self.tag {
            write!(f, ":{tag}")?;
        }
        if let Some(digest) = &self.digest {
            write!(f, "@{digest}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DIGEST: &str = "sha256:2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae";

    #[test]
    fn references_name_a_registry_a_repository_and_a_tag_or_digest() {
        let tagged: OciReference = "oci://localhost:5000/team/cognito-connector:1.0.2".parse().unwrap();
        assert_eq!(
            (tagged.registry(), tagged.repository(), tagged.tag()),
            ("localhost:5000", "team/cognito-connector", Some("1.0.2"))
        );
        assert!(tagged.is_loopback());
        let pinned: OciReference = format!("oci://ghcr.io/acme/cognito@{DIGEST}").parse().unwrap();
        assert_eq!(pinned.digest(), Some(DIGEST));
        assert!(!pinned.is_loopback());
        let both: OciReference = format!("oci://[::1]:5000/a/b:v1@{DIGEST}").parse().unwrap();
        assert_eq!((both.host(), both.tag(), both.digest()), ("::1", Some("v1"), Some(DIGEST)));
        assert!(both.is_loopback());
        assert_eq!(both.to_string(), format!("oci://[::1]:5000/a/b:v1@{DIGEST}"));
        assert_eq!(tagged.pinned(DIGEST).to_string(), format!("oci://localhost:5000/team/cognito-connector@{DIGEST}"));
        assert!("oci://127.0.0.2/x:1".parse::<OciReference>().unwrap().is_loopback());
    }

    #[test]
    fn anything_else_is_refused_with_the_reason() {
        for (text, reason) in [
            ("ghcr.io/a/b:1", "must start with oci://"),
            ("oci://ghcr.io", "REGISTRY/REPOSITORY"),
            ("oci://ghcr.io/a/b", "name a tag"),
            ("oci://ghcr.io/A/b:1", "lower-case"),
            ("oci://ghcr.io/a/../b:1", "lower-case"),
            ("oci://ghcr.io/a//b:1", "lower-case"),
            ("oci://ghcr.io/a/b?x=1:1", "lower-case"),
            ("oci://ghcr.io/a/b:.x", "the tag"),
            ("oci://ghcr.io/a/b:1 2", "the tag"),
            ("oci://ghcr.io/a/b@sha512:00", "sha256:"),
            ("oci://ghcr.io/a/b@sha256:ABC", "64 lower-case"),
            ("oci://user@ghcr.io/a/b:1", "host name"),
            ("oci://ghcr.io:99999/a/b:1", "port"),
            ("oci://gh_cr.io/a/b:1", "host name"),
            ("oci://[zz]:5000/a/b:1", "IPv6"),
            ("oci://-x.io/a/b:1", "host name"),
        ] {
            let error = format!("{:#}", text.parse::<OciReference>().unwrap_err());
            assert!(error.contains(reason), "{text}: {error}");
        }
        let long = format!("oci://r.io/{}:1", "a".repeat(256));
        assert!(long.parse::<OciReference>().is_err());
    }
}

/// Property tests (`PROPTEST_CASES=N` runs more): any text parses as a
/// reference or is refused, and a parsed reference prints as itself.
#[cfg(test)]
mod properties {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn references_parse_print_and_parse_again(
            text in prop_oneof![any::<String>(), "oci://[a-z0-9.:-]{1,20}(/[a-z0-9._-]{1,10}){1,3}(:[A-Za-z0-9._-]{1,10})?(@sha256:[0-9a-f]{64})?"]
        ) {
            if let Ok(reference) = text.parse::<OciReference>() {
                let printed = reference.to_string();
                let again: OciReference = printed.parse().expect("a printed reference parses");
                prop_assert_eq!(again, reference);
            }
        }
    }
}
