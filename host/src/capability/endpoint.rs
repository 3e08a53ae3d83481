//! Where a service's requests go: the default AWS endpoint for the service
//! and region, or an endpoint the operator configured, following the AWS
//! SDK conventions (`--endpoint-url`, `AWS_ENDPOINT_URL_<SERVICE>`,
//! `AWS_ENDPOINT_URL`, `AWS_IGNORE_CONFIGURED_ENDPOINT_URLS`).
//!
//! Connectors name a service, never a host: only this module turns a
//! service into a URL.

use std::collections::BTreeMap;

use anyhow::{Context, bail};

/// The base URL requests for one service are sent to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// `https://cognito-idp.eu-west-1.amazonaws.com` or the configured URL,
    /// without a trailing `/`.
    pub base: String,
    /// True when the operator configured it (rather than the AWS default).
    pub configured: bool,
}

/// Endpoint configuration for every service.
#[derive(Debug, Clone, Default)]
pub struct Endpoints {
    /// Overrides for all services (`--endpoint-url`, `AWS_ENDPOINT_URL`).
    all: Option<String>,
    /// Overrides by service signing name (`AWS_ENDPOINT_URL_<SERVICE>`).
    by_service: BTreeMap<String, String>,
}

impl Endpoints {
    /// No overrides: every service goes to its AWS endpoint.
    pub fn aws_defaults() -> Self {
        Self::default()
    }

    /// Sends every service to `url` (like `aws --endpoint-url`).
    pub fn all_services(url: &str) -> anyhow::Result<Self> {
        Ok(Endpoints { all: Some(normalize(url).context("invalid endpoint URL")?), by_service: BTreeMap::new() })
    }

    /// Reads the SDK's environment variables through `env`, with `explicit`
    /// (`--endpoint-url`) taking precedence over all of them.
    pub fn from_env(explicit: Option<&str>, env: impl Fn(&str) -> Option<String>) -> anyhow::Result<Self> {
        if let Some(url) = explicit {
            return Self::all_services(url);
        }
        let ignore = env("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS").is_some_and(|v| v.eq_ignore_ascii_case("true"));
        if ignore {
            return Ok(Self::aws_defaults());
        }
        let mut endpoints = Endpoints::default();
        if let Some(url) = env("AWS_ENDPOINT_URL").filter(|v| !v.is_empty()) {
            endpoints.all = Some(normalize(&url).context("invalid AWS_ENDPOINT_URL")?);
        }
        for (service, suffix) in SERVICE_ENV_SUFFIXES {
            let var = format!("AWS_ENDPOINT_URL_{suffix}");
            if let Some(url) = env(&var).filter(|v| !v.is_empty()) {
                let url = normalize(&url).with_context(|| format!("invalid {var}"))?;
                endpoints.by_service.insert((*service).to_owned(), url);
            }
        }
        Ok(endpoints)
    }

    /// Host names of the configured endpoints, in lower case: the egress
    /// policy trusts these as the operator chose them.
    pub fn configured_hosts(&self) -> std::collections::BTreeSet<String> {
        self.all
            .iter()
            .chain(self.by_service.values())
            .filter_map(|url| {
                url.parse::<http::Uri>().ok()?.host().map(|h| h.trim_matches(['[', ']']).to_ascii_lowercase())
            })
            .collect()
    }

    /// The endpoint for `service` in `region`.
    pub fn resolve(&self, service: &str, region: &str) -> anyhow::Result<Endpoint> {
        if let Some(base) = self.by_service.get(service).or(self.all.as_ref()) {
            return Ok(Endpoint { base: base.clone(), configured: true });
        }
        // The service name was checked by the policy before any endpoint is
        // picked; the region comes from the operator's configuration.
        let valid_label =
            |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if !valid_label(region) {
            bail!("`{region}` is not a valid AWS region");
        }
        let suffix = if region.starts_with("cn-") { "amazonaws.com.cn" } else { "amazonaws.com" };
        Ok(Endpoint { base: format!("https://{service}.{region}.{suffix}"), configured: false })
    }
}

/// Signing names of the services whose SDK endpoint variable we know, and
/// that variable's suffix (from the SDK's service id).
const SERVICE_ENV_SUFFIXES: &[(&str, &str)] =
    &[("cognito-idp", "COGNITO_IDENTITY_PROVIDER"), ("cognito-identity", "COGNITO_IDENTITY"), ("sts", "STS")];

/// Checks an endpoint URL and drops a trailing `/`.
fn normalize(url: &str) -> anyhow::Result<String> {
    let uri: http::Uri = url.parse().with_context(|| format!("`{url}` is not a URL"))?;
    match uri.scheme_str() {
        Some("http" | "https") => {}
        _ => bail!("`{url}` must start with http:// or https://"),
    }
    if uri.authority().is_none_or(|a| a.host().is_empty()) {
        bail!("`{url}` has no host");
    }
    if uri.query().is_some() {
        bail!("`{url}` must not have a query");
    }
    Ok(url.trim_end_matches('/').to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env_of(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let vars: Vec<(String, String)> = vars.iter().map(|(k, v)| ((*k).into(), (*v).into())).collect();
        move |name| vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
    }

    #[test]
    fn default_is_the_aws_endpoint() {
        let e = Endpoints::aws_defaults().resolve("cognito-idp", "eu-west-1").unwrap();
        assert_eq!(e, Endpoint { base: "https://cognito-idp.eu-west-1.amazonaws.com".into(), configured: false });
        assert_eq!(
            Endpoints::aws_defaults().resolve("cognito-idp", "cn-north-1").unwrap().base,
            "https://cognito-idp.cn-north-1.amazonaws.com.cn"
        );
        assert!(Endpoints::aws_defaults().resolve("cognito-idp", "eu-west-1.evil.com/").is_err());
    }

    #[test]
    fn precedence_follows_the_sdk() {
        let env = env_of(&[
            ("AWS_ENDPOINT_URL", "http://127.0.0.1:1/"),
            ("AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER", "http://127.0.0.1:2"),
        ]);
        let from_env = Endpoints::from_env(None, &env).unwrap();
        assert_eq!(from_env.resolve("cognito-idp", "us-east-1").unwrap().base, "http://127.0.0.1:2");
        assert_eq!(from_env.resolve("sqs", "us-east-1").unwrap().base, "http://127.0.0.1:1");
        assert_eq!(from_env.configured_hosts(), ["127.0.0.1".to_owned()].into());
        let explicit = Endpoints::from_env(Some("http://LocalHost:3"), &env).unwrap();
        assert_eq!(explicit.configured_hosts(), ["localhost".to_owned()].into());
        assert_eq!(explicit.resolve("cognito-idp", "us-east-1").unwrap().base, "http://LocalHost:3");
        let ignored =
            env_of(&[("AWS_ENDPOINT_URL", "http://127.0.0.1:1"), ("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "true")]);
        assert!(!Endpoints::from_env(None, ignored).unwrap().resolve("sqs", "us-east-1").unwrap().configured);
    }

    #[test]
    fn bad_urls_are_named() {
        let err = Endpoints::from_env(None, env_of(&[("AWS_ENDPOINT_URL", "localhost:4566")])).unwrap_err();
        assert!(format!("{err:#}").contains("AWS_ENDPOINT_URL"), "{err:#}");
        assert!(Endpoints::all_services("ftp://x").is_err());
    }
}
