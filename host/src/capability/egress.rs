//! Egress policy: where the signed-HTTP capability may connect.
//!
//! Guards against a request to a default AWS endpoint
//! (`{service}.{region}.amazonaws.com`) reaching a host-local target because
//! DNS answered with one: loopback, link-local (including the instance
//! metadata service at 169.254.169.254 and fd00:ec2::254, which hands out
//! credentials), unspecified, multicast or broadcast addresses, also when
//! embedded in an IPv6 address (mapped, NAT64, 6to4), are refused. Private
//! ranges stay allowed, since VPC endpoints for AWS services live there.
//! Hosts the operator configured explicitly (`--endpoint-url`,
//! `AWS_ENDPOINT_URL*`) are trusted as configured, loopback included; an
//! endpoint given as an IP literal is never resolved, so it is used as is.
//!
//! For HTTP APIs ([`ApiResolver`]), stricter: a connection's host name
//! must resolve to public addresses only, private ranges refused too
//! (DNS rebinding: a public name answered with an internal address),
//! unless it is `localhost` or its connection allows private addresses.

use std::collections::BTreeSet;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use reqwest::dns::{Addrs, Name, Resolve, Resolving};

/// True for addresses a default endpoint must never resolve to: this host,
/// its link, the instance metadata service (IPv4 169.254.169.254 and IPv6
/// fd00:ec2::254), and IPv4 addresses of those kinds embedded in IPv6
/// (mapped, compatible, NAT64, 6to4).
pub fn forbidden(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            v4.is_loopback() || v4.is_link_local() || v4.octets()[0] == 0 || v4.is_multicast() || v4.is_broadcast()
        }
        IpAddr::V6(v6) => {
            let embedded = embedded_ipv4(v6);
            if !embedded.is_empty() {
                return embedded.into_iter().any(|v4| forbidden(IpAddr::V4(v4)));
            }
            let segments = v6.segments();
            // fd00:ec2::/32 holds EC2's IPv6 metadata, DNS and time services.
            let ec2_services = segments[0] == 0xfd00 && segments[1] == 0x0ec2;
            v6.is_loopback() || v6.is_unspecified() || v6.is_multicast() || v6.is_unicast_link_local() || ec2_services
        }
    }
}

/// The IPv4 addresses an IPv6 address may carry, for the forms that reach
/// one: IPv4-mapped (`::ffff:a.b.c.d`), IPv4-translated
/// (`::ffff:0:a.b.c.d`), IPv4-compatible (`::a.b.c.d`), 6to4
/// (`2002:AABB:CCDD::/48`), the well-known NAT64 prefix (`64:ff9b::/96`),
/// and the local-use NAT64 range (`64:ff9b:1::/48`), whose prefix length is
/// the network's choice: every RFC 6052 position is decoded there.
fn embedded_ipv4(v6: Ipv6Addr) -> Vec<Ipv4Addr> {
    let s = v6.segments();
    let b = v6.octets();
    let at = |i: [usize; 4]| Ipv4Addr::new(b[i[0]], b[i[1]], b[i[2]], b[i[3]]);
    if let Some(v4) = v6.to_ipv4_mapped() {
        return vec![v4];
    }
    if s[..4] == [0; 4] && s[4] == 0xffff && s[5] == 0 {
        return vec![at([12, 13, 14, 15])];
    }
    if s[..6] == [0; 6] && !(s[6] == 0 && s[7] <= 1) {
        return vec![at([12, 13, 14, 15])];
    }
    if s[0] == 0x2002 {
        return vec![at([2, 3, 4, 5])];
    }
    if s[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        return vec![at([12, 13, 14, 15])];
    }
    if s[..3] == [0x64, 0xff9b, 1] {
        // RFC 6052: /48, /56, /64 and /96 prefixes (bits 64-71 are zero).
        return vec![at([6, 7, 9, 10]), at([7, 9, 10, 11]), at([9, 10, 11, 12]), at([12, 13, 14, 15])];
    }
    Vec::new()
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

/// True for addresses private to a network, which a public host name of
/// an HTTP API must not resolve to: RFC 1918, shared (CGNAT, 100.64/10),
/// benchmarking (198.18/15), unique local IPv6 (fc00::/7), and those
/// embedded in IPv6; and all that [`forbidden`] refuses.
pub fn private_or_local(ip: IpAddr) -> bool {
    if forbidden(ip) {
        return true;
    }
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            v4.is_private() || (a == 100 && (64..128).contains(&b)) || (a == 198 && (b == 18 || b == 19))
        }
        IpAddr::V6(v6) => {
            let embedded = embedded_ipv4(v6);
            if !embedded.is_empty() {
                return embedded.into_iter().any(|v4| private_or_local(IpAddr::V4(v4)));
            }
            (v6.segments()[0] & 0xfe00) == 0xfc00
        }
    }
}

/// The addresses of an API's `host` a connection may use: all of them
/// when `any_address` (the host is `localhost`, or its connection allows
/// private addresses), otherwise the public ones; an error when none is
/// left.
pub fn allowed_api_addresses(
    host: &str,
    addresses: Vec<SocketAddr>,
    any_address: bool,
) -> Result<Vec<SocketAddr>, String> {
    if any_address {
        return Ok(addresses);
    }
    let allowed: Vec<SocketAddr> = addresses.iter().copied().filter(|a| !private_or_local(a.ip())).collect();
    if allowed.is_empty() {
        let seen: Vec<String> = addresses.iter().map(|a| a.ip().to_string()).collect();
        return Err(format!(
            "egress refused: {host} resolves only to private or local addresses ({}); set \
             `allow_private_addresses = true` on its connection to allow it",
            if seen.is_empty() { "none".to_owned() } else { seen.join(", ") }
        ));
    }
    Ok(allowed)
}

/// A DNS resolver for HTTP APIs applying [`allowed_api_addresses`].
pub struct ApiResolver {
    /// Hosts (lower case) that may resolve to any address.
    any_address: BTreeSet<String>,
}

impl ApiResolver {
    /// Lets the hosts in `any_address` (lower case) and `localhost`
    /// resolve to any address.
    pub fn new(any_address: BTreeSet<String>) -> Self {
        ApiResolver { any_address }
    }
}

impl Resolve for ApiResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let host = name.as_str().to_owned();
        let any_address =
            self.any_address.contains(&host.to_ascii_lowercase()) || crate::net::is_loopback_authority(&host);
        Box::pin(async move {
            let found: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let allowed = allowed_api_addresses(&host, found, any_address)?;
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
            "0.1.2.3",
            "fd00:ec2::254",
            "fd00:ec2::253",
            "64:ff9b::a9fe:a9fe",
            "64:ff9b::127.0.0.1",
            "64:ff9b:1::a9fe:a9fe",
            "::169.254.169.254",
            "::127.0.0.1",
            "2002:a9fe:a9fe::1",
            "2002:7f00:1::",
            "64:ff9b:1:a9fe:a9:fe00::",
            "64:ff9b:1:0:a9:fea9:fe00:0",
            "::ffff:0:a9fe:a9fe",
        ] {
            assert!(forbidden(ip.parse().unwrap()), "{ip}");
        }
        for ip in [
            "52.94.133.131",
            "10.0.3.4",
            "172.31.0.2",
            "192.168.1.1",
            "2600:1f18::1",
            "64:ff9b::3400:1",
            "2002:3400:1::1",
            "fd00:1::1",
        ] {
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
    fn api_hosts_resolve_to_public_addresses_only() {
        let host = "api.example.com";
        for private in [
            "10.0.0.5",
            "172.16.3.4",
            "192.168.1.1",
            "100.64.0.1",
            "198.18.0.1",
            "fd12::1",
            "127.0.0.1",
            "169.254.169.254",
            "::ffff:10.1.2.3",
            "64:ff9b::c0a8:101",
        ] {
            let err = allowed_api_addresses(host, addrs(&[private]), false).unwrap_err();
            assert!(err.contains("egress refused") && err.contains("allow_private_addresses"), "{private}: {err}");
            assert_eq!(allowed_api_addresses(host, addrs(&[private]), true).unwrap(), addrs(&[private]));
        }
        let mixed = allowed_api_addresses(host, addrs(&["10.0.0.5", "140.82.112.6"]), false).unwrap();
        assert_eq!(mixed, addrs(&["140.82.112.6"]));
        assert!(!private_or_local("2606:50c0:8000::154".parse().unwrap()));
    }

    #[test]
    fn configured_hosts_resolve_as_they_are() {
        let configured = BTreeSet::from(["localhost".to_owned()]);
        assert_eq!(allowed_addresses("LOCALHOST", addrs(&["127.0.0.1"]), &configured).unwrap(), addrs(&["127.0.0.1"]));
    }
}
