//! Where a delivery may go. In production (`WEBHOOK_ALLOW_PRIVATE` off) only public addresses:
//! an endpoint's URL is someone else's input, and a server that posts wherever it is told
//! reaches its own network (the cloud metadata service at 169.254.169.254, databases on
//! loopback). Names are checked after DNS, by the resolver the delivery client connects with,
//! so what was checked is what is connected to; redirects are not followed.

use std::net::{IpAddr, SocketAddr};

use ip_network::IpNetwork;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};

/// Whether `ip` is on the public internet: none of the IANA special-purpose blocks that are not
/// globally reachable, no multicast, and an IPv4 address inside IPv6 judged as the IPv4 one.
pub fn is_public(ip: IpAddr) -> bool {
    let ip = match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    };
    let network = IpNetwork::from(ip);
    network.is_global() && !network.is_multicast()
}

/// Whether a URL's host is loopback: `localhost` or a loopback address.
pub fn is_loopback_host(host: &url::Host<&str>) -> bool {
    match host {
        url::Host::Domain(name) => name.eq_ignore_ascii_case("localhost"),
        url::Host::Ipv4(ip) => ip.is_loopback(),
        url::Host::Ipv6(ip) => ip.is_loopback(),
    }
}

/// The literal address of a URL's host, if it is one.
pub fn literal(host: &url::Host<&str>) -> Option<IpAddr> {
    match host {
        url::Host::Domain(_) => None,
        url::Host::Ipv4(ip) => Some(IpAddr::V4(*ip)),
        url::Host::Ipv6(ip) => Some(IpAddr::V6(*ip)),
    }
}

/// The system resolver, answering only public addresses; a name with none is an error.
pub struct PublicOnly;

impl Resolve for PublicOnly {
    fn resolve(&self, name: Name) -> Resolving {
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let found: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let public: Vec<SocketAddr> = found.iter().copied().filter(|a| is_public(a.ip())).collect();
            if public.is_empty() {
                let listed: Vec<String> = found.iter().map(|a| a.ip().to_string()).collect();
                return Err(format!(
                    "{host} resolves to no public address ({}): refused",
                    listed.join(", ")
                )
                .into());
            }
            Ok(Box::new(public.into_iter()) as Addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn public(s: &str) -> bool {
        is_public(s.parse().unwrap())
    }

    #[test]
    fn only_public_addresses_pass() {
        for refused in [
            "127.0.0.1",
            "10.0.0.1",
            "172.16.5.4",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "255.255.255.255",
            "224.0.0.1",
            "192.0.2.1",
            "::1",
            "::",
            "fe80::1",
            "fc00::1",
            "fd12:3456::1",
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
            "2001:db8::1",
            "ff02::1",
        ] {
            assert!(!public(refused), "{refused} must be refused");
        }
        for allowed in [
            "93.184.215.14",
            "1.1.1.1",
            "2606:4700:4700::1111",
            "::ffff:8.8.8.8",
        ] {
            assert!(public(allowed), "{allowed} is public");
        }
    }

    #[tokio::test]
    async fn a_name_for_loopback_resolves_to_nothing() {
        let name: Name = "localhost".parse().unwrap();
        let error = PublicOnly.resolve(name).await.err().unwrap();
        assert!(error.to_string().contains("no public address"), "{error}");
    }
}
