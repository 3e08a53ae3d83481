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
            if let Some(v4) = embedded_ipv4(v6) {
                return forbidden(IpAddr::V4(v4));
            }
            let segments = v6.segments();
            // fd00:ec2::/32 holds EC2's IPv6 metadata, DNS and time services.
            let ec2_services = segments[0] == 0xfd00 && segments[1] == 0x0ec2;
            v6.is_loopback() || v6.is_unspecified() || v6.is_multicast() || v6.is_unicast_link_local() || ec2_services
        }
    }
}

/// The IPv4 address an IPv6 address carries, for the forms that reach it:
/// IPv4-mapped (`::ffff:a.b.c.d`), IPv4-compatible (`::a.b.c.d`), NAT64
/// (`64:ff9b::/96`, `64:ff9b:1::/48`) and 6to4 (`2002:AABB:CCDD::/48`).
fn embedded_ipv4(v6: Ipv6Addr) -> Option<Ipv4Addr> {
    let s = v6.segments();
    let low = |hi: u16, lo: u16| Ipv4Addr::new((hi >> 8) as u8, hi as u8, (lo >> 8) as u8, lo as u8);
    if let Some(v4) = v6.to_ipv4_mapped() {
        return Some(v4);
    }
    if s[..6] == [0; 6] && !(s[6] == 0 && s[7] <= 1) {
        return Some(low(s[6], s[7]));
    }
    if s[..6] == [0x64, 0xff9b, 0, 0, 0, 0] || (s[0] == 0x64 && s[1] == 0xff9b && s[2] == 1) {
        return Some(low(s[6], s[7]));
    }
    if s[0] == 0x2002 {
        return Some(low(s[1], s[2]));
    }
    None
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
    fn configured_hosts_resolve_as_they_are() {
        let configured = BTreeSet::from(["localhost".to_owned()]);
        assert_eq!(allowed_addresses("LOCALHOST", addrs(&["127.0.0.1"]), &configured).unwrap(), addrs(&["127.0.0.1"]));
    }
}
