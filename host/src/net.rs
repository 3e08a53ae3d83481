//! Facts about network addresses and HTTP that several parts of the host
//! decide on: whether an authority names this machine's loopback, which
//! headers belong to the transport.

/// Headers of the HTTP transport itself, which the client sets from the
/// body and the connection: nobody else may set them.
pub(crate) const TRANSPORT_HEADERS: &[&str] = &[
    "content-length",
    "transfer-encoding",
    "connection",
    "keep-alive",
    "te",
    "trailer",
    "upgrade",
    "expect",
    "proxy-authorization",
    "proxy-connection",
];

/// Whether `name` (lower case) is one of the [`TRANSPORT_HEADERS`].
pub(crate) fn is_transport_header(name: &str) -> bool {
    TRANSPORT_HEADERS.contains(&name)
}

/// `localhost`, `127.x.y.z` or `[::1]`, with or without a port.
pub(crate) fn is_loopback_authority(authority: &str) -> bool {
    let host = match authority.strip_prefix('[') {
        Some(rest) => rest.split(']').next().unwrap_or(""),
        None => authority.rsplit_once(':').map_or(authority, |(host, _)| host),
    };
    host.eq_ignore_ascii_case("localhost") || host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_authorities() {
        for yes in [
            "localhost",
            "LOCALHOST:5000",
            "localhost:8080",
            "127.0.0.1",
            "127.0.0.1:1",
            "127.9.9.9:80",
            "[::1]",
            "[::1]:8080",
        ] {
            assert!(is_loopback_authority(yes), "{yes}");
        }
        for no in [
            "",
            "example.com",
            "attacker.example:8080",
            "10.0.0.1:5000",
            "127.0.0.1.nip.io",
            "[::2]:1",
            "[fe80::1]",
            "localhost.example.com",
        ] {
            assert!(!is_loopback_authority(no), "{no}");
        }
    }
}
