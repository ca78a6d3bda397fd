//! An AWS load balancer's host name as the addresses CoreDNS can forward to (`forward` takes IPs
//! only): asked of the DNS server `RINGFORM_KUBE_DNS_SERVER` names when it is set (the VPC's
//! resolver, for a machine that must not ask public DNS; the fake's in tests), else of the
//! system's resolver.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use hickory_resolver::Resolver;
use hickory_resolver::config::{NameServerConfig, ResolverConfig};
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use hickory_resolver::proto::rr::RData;
use ringform_core::provider::ProviderError;

use crate::error::KubeResult;

pub const VARIABLE: &str = "RINGFORM_KUBE_DNS_SERVER";

/// Every IPv4 address `host` stands for (an NLB has one per zone), sorted; `what` says whose
/// host name it is, for errors.
pub async fn resolve(host: &str, server: Option<&str>, what: &str) -> KubeResult<Vec<Ipv4Addr>> {
    let (asked, found) = match server {
        Some(server) => (format!("the DNS server {server} ({VARIABLE})"), ask(host, address(server)?).await),
        None => ("the system resolver".to_owned(), system(host).await),
    };
    let unresolved = || {
        ProviderError::retryable(format!("{what}: its host name {host} has no IPv4 address at {asked}")).with_hint(
            format!(
                "a new load balancer's name takes a few minutes to resolve; if it never does, set {VARIABLE} \
                 to a DNS server that knows it (the VPC's resolver, e.g. 10.10.0.2:53, is one)"
            ),
        )
    };
    match found {
        Ok(mut addresses) if !addresses.is_empty() => {
            addresses.sort();
            addresses.dedup();
            Ok(addresses)
        }
        Ok(_) => Err(unresolved()),
        Err(error) => Err(unresolved().with_source(error)),
    }
}

/// `IP:PORT`, or an IP alone for port 53.
fn address(server: &str) -> KubeResult<SocketAddr> {
    let parsed = server.parse().or_else(|_| server.parse::<IpAddr>().map(|ip| SocketAddr::new(ip, 53)));
    parsed.map_err(|_| {
        ProviderError::fatal(format!("{VARIABLE} is `{server}`, which is not an IP address and port"))
            .with_hint(format!("set {VARIABLE} to the DNS server's address, e.g. 10.10.0.2:53"))
    })
}

/// The A records of `host` at `server`, over UDP or TCP. A resolver per lookup, so that a
/// refresh sees where the name points now, not what a cache remembers.
async fn ask(host: &str, server: SocketAddr) -> Result<Vec<Ipv4Addr>, std::io::Error> {
    let mut name_server = NameServerConfig::udp_and_tcp(server.ip());
    for connection in &mut name_server.connections {
        connection.port = server.port();
    }
    let config = ResolverConfig::from_parts(None, Vec::new(), vec![name_server]);
    let lookup = async {
        let resolver = Resolver::builder_with_config(config, TokioRuntimeProvider::default()).build()?;
        resolver.ipv4_lookup(host).await
    };
    let found = lookup.await.map_err(std::io::Error::other)?;
    Ok(found.answers().iter().filter_map(|r| if let RData::A(a) = &r.data { Some(a.0) } else { None }).collect())
}

async fn system(host: &str) -> Result<Vec<Ipv4Addr>, std::io::Error> {
    let found = tokio::net::lookup_host((host, 53)).await?;
    Ok(found.filter_map(|a| if let IpAddr::V4(ip) = a.ip() { Some(ip) } else { None }).collect())
}
