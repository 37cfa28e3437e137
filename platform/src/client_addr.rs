//! Who is on the other end of an HTTP connection, for rate limits and sign-in throttling: the TCP
//! peer, or the client named by `X-Forwarded-For` only when the peer is one of our own reverse proxies
//! (`JOXAI_TRUSTED_PROXIES`). Shared by the ingress (REST) and the notifier (WebSocket connects), so
//! both count the same client the same way.

use axum::http::request::Parts;

/// `JOXAI_TRUSTED_PROXIES`: comma-separated CIDR ranges (`10.0.0.0/8, fd00::/8`) or single
/// addresses, the way a Kubernetes ingress controller's pods are known (by their pod network, not
/// one address each). Entries that do not parse are reported by [`check_proxy_settings`].
pub fn parse_trusted_proxies(value: &str) -> (Vec<ipnet::IpNet>, Vec<String>) {
    let mut ranges = Vec::new();
    let mut invalid = Vec::new();
    for entry in value.split(',').map(str::trim).filter(|e| !e.is_empty()) {
        match entry.parse::<ipnet::IpNet>() {
            Ok(net) => ranges.push(net.trunc()),
            Err(_) => match entry.parse::<std::net::IpAddr>() {
                Ok(ip) => ranges.push(ipnet::IpNet::from(ip)),
                Err(_) => invalid.push(entry.to_owned()),
            },
        }
    }
    (ranges, invalid)
}

fn trusted_proxies() -> &'static [ipnet::IpNet] {
    static PROXIES: std::sync::LazyLock<Vec<ipnet::IpNet>> = std::sync::LazyLock::new(|| {
        parse_trusted_proxies(&std::env::var("JOXAI_TRUSTED_PROXIES").unwrap_or_default()).0
    });
    &PROXIES
}

fn is_trusted_proxy(ip: &std::net::IpAddr) -> bool {
    // An IPv4 peer on a dual-stack socket arrives as ::ffff:a.b.c.d; compare it as IPv4.
    let ip = match ip {
        std::net::IpAddr::V6(v6) => v6.to_ipv4_mapped().map(std::net::IpAddr::V4).unwrap_or(*ip),
        v4 => *v4,
    };
    trusted_proxies().iter().any(|net| net.contains(&ip))
}

/// Say at start-up what the proxy settings mean for rate limits and login throttling: invalid
/// entries are named, and listening on a non-loopback address with no trusted proxy gets a loud
/// warning, because behind a load balancer every customer would then share the proxy's address
/// (and its allowance: a handful of new chats a minute for the whole bank).
pub fn check_proxy_settings(listening_on: std::net::SocketAddr) {
    let (ranges, invalid) =
        parse_trusted_proxies(&std::env::var("JOXAI_TRUSTED_PROXIES").unwrap_or_default());
    for entry in &invalid {
        tracing::error!(entry = %entry, "JOXAI_TRUSTED_PROXIES: not an address or CIDR range; ignored");
    }
    if ranges.is_empty() && !listening_on.ip().is_loopback() {
        tracing::warn!(
            addr = %listening_on,
            "NO TRUSTED PROXIES: listening on a non-loopback address without JOXAI_TRUSTED_PROXIES. Behind a \
             load balancer or ingress controller every customer will share the proxy's address, so rate limits \
             and login throttling will count all of them as one client. Set JOXAI_TRUSTED_PROXIES to the \
             proxies' CIDR ranges (docs/deployment.md)."
        );
    } else if !ranges.is_empty() {
        let list: Vec<String> = ranges.iter().map(ToString::to_string).collect();
        tracing::info!(trusted_proxies = %list.join(","), "X-Forwarded-For is read from these proxies only");
    }
}

/// The client's address for `parts`: the TCP peer, or the client named by `X-Forwarded-For` when the
/// peer is inside one of `JOXAI_TRUSTED_PROXIES` (otherwise anyone could forge the header and get a
/// fresh allowance with every request). `unknown` when the server was not given peer addresses.
pub fn client_addr(parts: &Parts) -> String {
    let peer = parts
        .extensions
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map(|c| c.0.ip());
    let Some(peer) = peer else {
        return "unknown".into();
    };
    if is_trusted_proxy(&peer)
        && let Some(forwarded) = parts
            .headers
            .get("x-forwarded-for")
            .and_then(|v| v.to_str().ok())
    {
        // The right-most address not added by one of our proxies is the real client.
        let client = forwarded
            .split(',')
            .rev()
            .filter_map(|a| a.trim().parse::<std::net::IpAddr>().ok())
            .find(|ip| !is_trusted_proxy(ip));
        if let Some(client) = client {
            return client.to_string();
        }
    }
    peer.to_string()
}

#[cfg(test)]
mod proxy_tests {
    use super::*;

    #[test]
    fn trusted_proxies_are_cidr_ranges_or_single_addresses_and_nonsense_is_reported() {
        let (ranges, invalid) = parse_trusted_proxies(
            " 10.0.0.0/8, 192.168.1.7 ,fd00::/8, 10.1.2.3/40, proxy.example ",
        );
        let contains = |ip: &str| {
            ranges
                .iter()
                .any(|n| n.contains(&ip.parse::<std::net::IpAddr>().expect("ip")))
        };
        assert!(contains("10.244.3.9"));
        assert!(contains("192.168.1.7"));
        assert!(!contains("192.168.1.8"));
        assert!(contains("fd12::1"));
        assert!(!contains("11.0.0.1"));
        assert_eq!(
            invalid,
            vec!["10.1.2.3/40".to_owned(), "proxy.example".to_owned()]
        );
    }
}
