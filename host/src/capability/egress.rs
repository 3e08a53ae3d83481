//! Egress policy: where the signed-HTTP capability may connect.
//!
//! Guards against a request to a default AWS endpoint
//! (`{service}.{region}.amazonaws.com`) reaching a host-local target because
//! DNS answered with one: loopback, link-local (including the instance
//! metadata service at 169.254.169.254, which hands out credentials),
//! unspecified, multicast or broadcast addresses are refused. Private
//! ranges stay allowed, since VPC endpoints for AWS services live there.
//! Hosts the operator configured explicitly (`--endpoint-url`,
//! `AWS_ENDPOINT_URL*`) are trusted as configured, loopback included; an
//! endpoint given as an IP literal is never resolved, so it is used as is.

use std::collections::BTreeSet;
use std::net::{IpAddr, SocketAddr};

use reqwest::dns::{Addrs, Name, Resolve, Resolving};

/// True for addresses a default endpoint must never resolve to.
pub fn forbidden(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            v4.is_loopback() || v4.is_link_local() || v4.is_unspecified() || v4.is_multicast() || v4.is_broadcast()
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return forbidden(IpAddr::V4(v4));
            }
            v6.is_loopback() || v6.is_unspecified() || v6.is_multicast() || v6.is_unicast_link_local()
        }
    }
}

/// The addresses of `host` a connection may use: all of them for a host the
/// operator configured, otherwise those that are not [`forbidden`]; an
/// error when none is left.
pub fn allowed_addresses(
    host: &str,
    addresses: Vec<SocketAddr>,
    configured: &BTreeSet<String>,
) -> Result<Vec<SocketAddr>, String> {
    if configured.contains(&host.to_ascii_lowercase()) {
        return Ok(addresses);
    }
    let allowed: Vec<SocketAddr> = addresses.iter().copied().filter(|a| !forbidden(a.ip())).collect();
    if allowed.is_empty() {
        let seen: Vec<String> = addresses.iter().map(|a| a.ip().to_string()).collect();
        return Err(format!(
            "egress refused: {host} resolves only to addresses a default endpoint may not use ({}); \
             configure the endpoint explicitly to allow it",
            if seen.is_empty() { "none".to_owned() } else { seen.join(", ") }
        ));
    }
    Ok(allowed)
}

/// A DNS resolver applying [`allowed_addresses`].
pub struct EgressResolver {
    configured: BTreeSet<String>,
}

impl EgressResolver {
    /// Trusts the `configured` host names (lower case) as they resolve.
    pub fn new(configured: BTreeSet<String>) -> Self {
        EgressResolver { configured }
    }
}

impl Resolve for EgressResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let host = name.as_str().to_owned();
        let configured = self.configured.clone();
        Box::pin(async move {
            let found: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let allowed = allowed_addresses(&host, found, &configured)?;
            tracing::trace!(%host, ?allowed, "resolved");
            Ok(Box::new(allowed.into_iter()) as Addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addrs(ips: &[&str]) -> Vec<SocketAddr> {
        ips.iter().map(|ip| SocketAddr::new(ip.parse().unwrap(), 443)).collect()
    }

    #[test]
    fn host_local_targets_are_forbidden() {
        for ip in [
            "127.0.0.1",
            "127.8.9.10",
            "169.254.169.254",
            "169.254.1.1",
            "0.0.0.0",
            "::1",
            "fe80::1",
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
            "224.0.0.1",
            "255.255.255.255",
        ] {
            assert!(forbidden(ip.parse().unwrap()), "{ip}");
        }
        for ip in ["52.94.133.131", "10.0.3.4", "172.31.0.2", "192.168.1.1", "2600:1f18::1"] {
            assert!(!forbidden(ip.parse().unwrap()), "{ip}");
        }
    }

    #[test]
    fn default_endpoints_lose_forbidden_answers() {
        let none = BTreeSet::new();
        let host = "cognito-idp.us-east-1.amazonaws.com";
        let mixed = allowed_addresses(host, addrs(&["127.0.0.1", "52.94.133.131"]), &none).unwrap();
        assert_eq!(mixed, addrs(&["52.94.133.131"]));
        let err = allowed_addresses(host, addrs(&["169.254.169.254"]), &none).unwrap_err();
        assert!(err.contains("egress refused") && err.contains("169.254.169.254"), "{err}");
    }

    #[test]
    fn configured_hosts_resolve_as_they_are() {
        let configured = BTreeSet::from(["localhost".to_owned()]);
        assert_eq!(allowed_addresses("LOCALHOST", addrs(&["127.0.0.1"]), &configured).unwrap(), addrs(&["127.0.0.1"]));
    }
}
