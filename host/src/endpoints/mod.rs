//! Where a service's requests go: the default AWS endpoint for the service
//! and region, or an endpoint the operator configured, following the AWS
//! SDK conventions (`--endpoint-url`, `AWS_ENDPOINT_URL_<SERVICE>`,
//! `AWS_ENDPOINT_URL`, `AWS_IGNORE_CONFIGURED_ENDPOINT_URLS`).
//!
//! Connectors name a service, never a host: only this module turns a
//! service into a URL.

use std::collections::BTreeMap;

use anyhow::{Context, bail};

use crate::escape::quote_untrusted;

mod services;

use services::{REGION_DNS_SUFFIXES, SERVICES, ServiceInfo};

/// The base URL requests for one service are sent to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// `https://cognito-idp.eu-west-1.amazonaws.com` or the configured URL,
    /// without a trailing `/`.
    pub base: String,
    /// True when the operator configured it (rather than the AWS default).
    pub configured: bool,
    /// The region to sign for when it is not the caller's: a global
    /// service's (IAM signs for `us-east-1` from any region).
    pub signing_region: Option<String>,
}

/// Endpoint configuration for every service.
#[derive(Debug, Clone, Default)]
pub struct Endpoints {
    /// Overrides for all services (`--endpoint-url`, `AWS_ENDPOINT_URL`).
    all: Option<String>,
    /// Overrides by service signing name (`--endpoint SERVICE=URL`,
    /// `AWS_ENDPOINT_URL_<SERVICE>`).
    by_service: BTreeMap<String, String>,
    /// `AWS_ENDPOINT_URL_<SERVICE>` variables read, with the signing names
    /// they stand for (none when the suffix names no AWS service).
    env_services: BTreeMap<String, Vec<String>>,
}

impl Endpoints {
    /// No overrides: every service goes to its AWS endpoint.
    pub fn aws_defaults() -> Self {
        Self::default()
    }

    /// Sends every service to `url` (like `aws --endpoint-url`).
    pub fn all_services(url: &str) -> anyhow::Result<Self> {
        Ok(Endpoints { all: Some(normalize(url).context("invalid endpoint URL")?), ..Self::default() })
    }

    /// Sends `service` (a signing name) to `url`, whatever else applies.
    pub fn set_service(&mut self, service: &str, url: &str) -> anyhow::Result<()> {
        check_service(service).map_err(|e| anyhow::anyhow!(e))?;
        let url = normalize(url).with_context(|| format!("invalid endpoint for `{service}`"))?;
        self.by_service.insert(service.to_owned(), url);
        Ok(())
    }

    /// Reads the SDK's environment variables from `vars` (name, value):
    /// `AWS_ENDPOINT_URL`, and `AWS_ENDPOINT_URL_<SERVICE>` for any service
    /// (`<SERVICE>` is its service id, upper case, spaces as `_`:
    /// `COGNITO_IDENTITY_PROVIDER`, `DYNAMODB`, `IAM`). `explicit`
    /// (`--endpoint-url`) takes precedence over all of them.
    pub fn from_env(explicit: Option<&str>, vars: impl IntoIterator<Item = (String, String)>) -> anyhow::Result<Self> {
        if let Some(url) = explicit {
            return Self::all_services(url);
        }
        let vars: BTreeMap<String, String> = vars.into_iter().filter(|(_, v)| !v.is_empty()).collect();
        let ignore = vars.get("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS").is_some_and(|v| v.eq_ignore_ascii_case("true"));
        if ignore {
            return Ok(Self::aws_defaults());
        }
        let mut endpoints = Endpoints::default();
        if let Some(url) = vars.get("AWS_ENDPOINT_URL") {
            endpoints.all = Some(normalize(url).context("invalid AWS_ENDPOINT_URL")?);
        }
        for (var, url) in &vars {
            let Some(suffix) = var.strip_prefix("AWS_ENDPOINT_URL_") else { continue };
            let url = normalize(url).with_context(|| format!("invalid {var}"))?;
            let services: Vec<String> =
                SERVICES.iter().filter(|s| s.env_suffix == suffix).map(|s| s.signing_name.to_owned()).collect();
            for service in &services {
                endpoints.by_service.insert(service.clone(), url.clone());
            }
            endpoints.env_services.insert(var.clone(), services);
        }
        Ok(endpoints)
    }

    /// The `AWS_ENDPOINT_URL_<SERVICE>` variables that name none of
    /// `services` (signing names): worth a warning, since such a variable
    /// is silently unused.
    pub fn unused_env_variables<'a>(&self, services: impl IntoIterator<Item = &'a str> + Clone) -> Vec<String> {
        self.env_services
            .iter()
            .filter(|(_, named)| !named.iter().any(|n| services.clone().into_iter().any(|s| s == n)))
            .map(|(var, _)| var.clone())
            .collect()
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

    /// The endpoint for `service` (a signing name, checked by the policy)
    /// in `region`: the configured one, else AWS's: a global service's host,
    /// or `https://{endpoint prefix}.{region}.{partition DNS suffix}`.
    pub fn resolve(&self, service: &str, region: &str) -> anyhow::Result<Endpoint> {
        if let Some(base) = self.by_service.get(service).or(self.all.as_ref()) {
            return Ok(Endpoint { base: base.clone(), configured: true, signing_region: None });
        }
        let valid_label =
            |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if !valid_label(region) {
            bail!("`{region}` is not a valid AWS region");
        }
        let suffix = REGION_DNS_SUFFIXES
            .iter()
            .find(|(r, _)| *r == region)
            .map(|(_, suffix)| *suffix)
            .unwrap_or(if region.starts_with("cn-") { "amazonaws.com.cn" } else { "amazonaws.com" });
        let known = service_info(service);
        if let Some((host, signing_region)) = known.and_then(|s| s.global)
            && suffix == "amazonaws.com"
            && !region.starts_with("us-gov-")
        {
            return Ok(Endpoint {
                base: format!("https://{host}"),
                configured: false,
                signing_region: Some(signing_region.to_owned()),
            });
        }
        let prefix = known.map_or(service, |s| s.endpoint_prefix);
        Ok(Endpoint { base: format!("https://{prefix}.{region}.{suffix}"), configured: false, signing_region: None })
    }
}

/// What botocore knows of the service signing as `service`: the entry whose
/// endpoint prefix is its signing name, else the prefix most of its
/// entries use (SES signs as `ses` and lives at `email`).
/// Runs on every request to a default endpoint: the table is sorted by
/// signing name, so this is a binary search, without allocating.
fn service_info(service: &str) -> Option<&'static ServiceInfo> {
    let start = SERVICES.partition_point(|s| s.signing_name < service);
    let count = SERVICES[start..].iter().take_while(|s| s.signing_name == service).count();
    let entries = &SERVICES[start..start + count];
    entries.iter().find(|s| s.endpoint_prefix == service).or_else(|| {
        entries.iter().max_by_key(|s| entries.iter().filter(|o| o.endpoint_prefix == s.endpoint_prefix).count())
    })
}

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

/// Checks an AWS service signing name: 1 to 64 lower-case ASCII letters,
/// digits and `-`, starting with a letter (`cognito-idp`, `s3`, `sts`), or
/// one of the few botocore knows in mixed case (`IoTSecuredTunneling`), so
/// that `S3` and `s3` are never two grants of one service.
pub fn check_service(service: &str) -> Result<(), String> {
    let lower_case = (1..=64).contains(&service.len())
        && service.starts_with(|c: char| c.is_ascii_lowercase())
        && service.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if lower_case || service_info(service).is_some() {
        Ok(())
    } else {
        Err(format!(
            "{} is not a valid service name (lower-case letters, digits and `-`, like `cognito-idp`)",
            quote_untrusted(service)
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_rule_for_service_names() {
        for good in ["cognito-idp", "s3", "sts", "execute-api", "IoTSecuredTunneling"] {
            assert!(check_service(good).is_ok(), "{good}");
        }
        for bad in ["", "evil.com/x", "cognito-idp/..", "Cognito-IDP", "S3", "ü", "-s3", "3s", &"a".repeat(65)] {
            assert!(check_service(bad).is_err(), "{bad:?}");
        }
    }

    fn vars(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter().map(|(k, v)| ((*k).into(), (*v).into())).collect()
    }

    #[test]
    fn the_service_table_is_sorted_by_signing_name_for_binary_search() {
        assert!(SERVICES.windows(2).all(|w| w[0].signing_name <= w[1].signing_name));
        assert_eq!(service_info("ses").map(|s| s.endpoint_prefix), Some("email"));
        assert_eq!(service_info("cognito-idp").map(|s| s.endpoint_prefix), Some("cognito-idp"));
        assert!(service_info("no-such-service").is_none());
    }

    #[test]
    fn default_endpoints_follow_the_endpoint_data() {
        let defaults = Endpoints::aws_defaults();
        let at = |service: &str, region: &str| defaults.resolve(service, region).unwrap();
        assert_eq!(
            at("cognito-idp", "eu-west-1"),
            Endpoint {
                base: "https://cognito-idp.eu-west-1.amazonaws.com".into(),
                configured: false,
                signing_region: None
            }
        );
        assert_eq!(at("cognito-idp", "cn-north-1").base, "https://cognito-idp.cn-north-1.amazonaws.com.cn");
        assert_eq!(at("ses", "eu-west-1").base, "https://email.eu-west-1.amazonaws.com", "prefix, not signing name");
        let iam = at("iam", "eu-west-1");
        assert_eq!(
            (iam.base.as_str(), iam.signing_region.as_deref()),
            ("https://iam.amazonaws.com", Some("us-east-1"))
        );
        assert_eq!(at("iam", "cn-north-1").base, "https://iam.cn-north-1.amazonaws.com.cn", "global in aws only");
        assert_eq!(at("sts", "ap-south-1").base, "https://sts.ap-south-1.amazonaws.com");
        assert_eq!(at("made-up", "us-east-1").base, "https://made-up.us-east-1.amazonaws.com");
        assert!(defaults.resolve("cognito-idp", "eu-west-1.evil.com/").is_err());
    }

    #[test]
    fn precedence_follows_the_sdk_for_any_service() {
        let env = vars(&[
            ("AWS_ENDPOINT_URL", "http://127.0.0.1:1/"),
            ("AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER", "http://127.0.0.1:2"),
            ("AWS_ENDPOINT_URL_DYNAMODB", "http://127.0.0.1:3"),
            ("AWS_ENDPOINT_URL_NOT_A_SERVICE", "http://127.0.0.1:4"),
        ]);
        let from_env = Endpoints::from_env(None, env.clone()).unwrap();
        assert_eq!(from_env.resolve("cognito-idp", "us-east-1").unwrap().base, "http://127.0.0.1:2");
        assert_eq!(from_env.resolve("dynamodb", "us-east-1").unwrap().base, "http://127.0.0.1:3");
        assert_eq!(from_env.resolve("sqs", "us-east-1").unwrap().base, "http://127.0.0.1:1");
        assert_eq!(from_env.configured_hosts(), ["127.0.0.1".to_owned()].into());
        assert_eq!(
            from_env.unused_env_variables(["cognito-idp"]),
            ["AWS_ENDPOINT_URL_DYNAMODB", "AWS_ENDPOINT_URL_NOT_A_SERVICE"]
        );
        let explicit = Endpoints::from_env(Some("http://LocalHost:3"), env).unwrap();
        assert_eq!(explicit.configured_hosts(), ["localhost".to_owned()].into());
        assert_eq!(explicit.resolve("cognito-idp", "us-east-1").unwrap().base, "http://LocalHost:3");
        let ignored =
            vars(&[("AWS_ENDPOINT_URL", "http://127.0.0.1:1"), ("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "true")]);
        assert!(!Endpoints::from_env(None, ignored).unwrap().resolve("sqs", "us-east-1").unwrap().configured);
        let mut one = Endpoints::aws_defaults();
        one.set_service("iam", "http://127.0.0.1:9").unwrap();
        assert_eq!(one.resolve("iam", "eu-west-1").unwrap().base, "http://127.0.0.1:9");
        assert!(one.set_service("Not A Service", "http://x").is_err());
    }

    #[test]
    fn bad_urls_are_named() {
        let err = Endpoints::from_env(None, vars(&[("AWS_ENDPOINT_URL", "localhost:4566")])).unwrap_err();
        assert!(format!("{err:#}").contains("AWS_ENDPOINT_URL"), "{err:#}");
        assert!(Endpoints::all_services("ftp://x").is_err());
    }
}
