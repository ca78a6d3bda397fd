//! Azure: per cluster a resource group, a VNet carrying all its subnets in one body (ARM
//! replaces the subnet list on every PUT), a route-based VPN gateway with its public IP when
//! the cluster needs one, and AKS with Network Contributor on the VNet; between clusters a full
//! mesh of Vnet2Vnet connections, one per direction sharing a generated key, or global VNet
//! peerings both ways.

use ringform_core::{Address, Value};
use ringform_schema as kinds;
use ringform_topology::{AzureMesh, Cloud, Cluster};

use crate::builder::{Builder, attrs, output, pairs};

pub(super) fn clusters(b: &mut Builder) {
    for cluster in b.clusters(Cloud::Azure).collect::<Vec<_>>() {
        one_cluster(b, cluster);
    }
}

fn one_cluster(b: &mut Builder, c: &Cluster) {
    b.from(&c.name.span);
    let n = c.name.value.as_str();
    let location = c.region.value.as_str();
    let zones: Vec<String> = c.zones.iter().map(|z| z.value.clone()).collect();
    let group = b.add(
        kinds::azure::RESOURCE_GROUP,
        n,
        attrs! {
            "subscription" => subscription(c),
            "name" => b.cloud_name(&[n]),
            "location" => location,
        },
    );
    b.locate(&group, "location", &c.region.span);
    let subnet =
        |name: &str, cidr: String| Value::from_iter([("name", Value::from(name)), ("address_prefix", cidr.into())]);
    let mut address_space = vec![c.network_cidr.value.to_string()];
    let mut subnets: Vec<Value> = c.node_subnets.iter().map(|s| subnet(&s.name, s.cidr.value.to_string())).collect();
    // Pods get VNet addresses from their own subnet (Azure CNI with a pod subnet) rather than
    // an overlay: Cassandra gossips on pod IPs, and overlay traffic leaves the VNet SNATed.
    if let Some(pods) = &c.pod_cidr {
        address_space.push(pods.value.to_string());
        subnets.push(subnet("pods", pods.value.to_string()));
    }
    if let Some(gateway) = &c.gateway_subnet {
        subnets.push(subnet("GatewaySubnet", gateway.value.to_string()));
    }
    let vnet = b.add(
        kinds::azure::VIRTUAL_NETWORK,
        n,
        attrs! {
            "resource_group" => output(&group, "name"),
            "subscription" => subscription(c),
            "name" => b.cloud_name(&[n]),
            "location" => location,
            "address_space" => address_space,
            "subnets" => subnets,
        },
    );
    b.locate(&vnet, "address_space", &c.network_cidr.span);
    if c.gateway_subnet.is_some() {
        let ip = b.add(
            kinds::azure::PUBLIC_IP,
            n,
            attrs! {
                "resource_group" => output(&group, "name"),
                "subscription" => subscription(c),
                "name" => b.cloud_name(&[n, "gateway"]),
                "location" => location,
                "sku" => "Standard",
                "allocation_method" => "Static",
                "zones" => zones.clone(),
            },
        );
        let gateway = b.add(
            kinds::azure::VPN_GATEWAY,
            n,
            attrs! {
                "resource_group" => output(&group, "name"),
                "subscription" => subscription(c),
                "name" => b.cloud_name(&[n, "gateway"]),
                "location" => location,
                "sku" => b.topology.mesh.azure_gateway_sku.value.as_str(),
                "vpn_type" => "RouteBased",
                "public_ip_id" => output(&ip, "id"),
                "virtual_network_id" => output(&vnet, "id"),
            },
        );
        b.locate(&gateway, "sku", &b.topology.mesh.azure_gateway_sku.span);
    }
    let count = i64::from(c.node_pool.count.value);
    let service_cidr = c.service_cidr.value;
    let aks = b.add(
        kinds::azure::AKS_CLUSTER,
        n,
        attrs! {
            "resource_group" => output(&group, "name"),
            "subscription" => subscription(c),
            "name" => b.cloud_name(&[n]),
            "location" => location,
            "dns_prefix" => b.cloud_name(&[n]),
            "kubernetes_version" => c.kubernetes_version.value.as_str(),
            "node_count" => count,
            "vm_size" => c.node_pool.machine_type.value.as_str(),
            "zones" => zones,
            "network_plugin" => "azure",
            "subnet_id" => output(&vnet, "node_subnet_id"),
            "pod_subnet_id" => if c.pod_cidr.is_some() { output(&vnet, "pod_subnet_id") } else { Value::Null },
            "service_cidr" => service_cidr.to_string(),
            // AKS wants the DNS service inside the service range; .10 is its documented default.
            "dns_service_ip" => nth_address(service_cidr, 10),
            "identity" => "SystemAssigned",
        },
    );
    b.locate(&aks, "service_cidr", &c.service_cidr.span);
    b.locate(&aks, "node_count", &c.node_pool.count.span);
    b.locate(&aks, "kubernetes_version", &c.kubernetes_version.span);
    b.locate(&aks, "vm_size", &c.node_pool.machine_type.span);
    if let Some(zone) = c.zones.first() {
        b.locate(&aks, "zones", &zone.span);
    }
    // AKS puts internal load balancers in the VNet only if its identity may manage that VNet
    // (the Azure CLI grants this silently; an ARM client must do it itself).
    b.add(
        kinds::azure::ROLE_ASSIGNMENT,
        n,
        attrs! {
            "subscription" => subscription(c),
            "scope" => output(&vnet, "id"),
            "role_definition_id" => NETWORK_CONTRIBUTOR,
            "principal_id" => output(&aks, "principal_id"),
        },
    );
}

/// The built-in Network Contributor role, the same in every subscription.
const NETWORK_CONTRIBUTOR: &str = "4d97b98b-1d4f-4787-a291-c67834d212e7";

/// The cluster's subscription, on every Azure object (null: `AZURE_SUBSCRIPTION_ID` at apply time).
pub(super) fn subscription(c: &Cluster) -> Value {
    c.subscription.as_ref().map(|s| s.value.clone()).into()
}

fn nth_address(net: ringform_topology::Ipv4Net, n: u32) -> String {
    std::net::Ipv4Addr::from(u32::from(net.network()).saturating_add(n)).to_string()
}

pub(super) fn resource_group(b: &mut Builder, cluster: &str) -> Address {
    b.address(kinds::azure::RESOURCE_GROUP, cluster)
}

pub(super) fn gateway(b: &mut Builder, cluster: &str) -> Address {
    b.address(kinds::azure::VPN_GATEWAY, cluster)
}

/// A generated key for the VPN tunnels between two clusters; both directions use it.
pub(super) fn shared_key(b: &mut Builder, x: &str, y: &str) -> Value {
    let key = b.add(kinds::local::GENERATED_SECRET, &format!("vpn/{x}~{y}"), attrs! { "length" => 32i64 });
    Value::secret(output(&key, "value"))
}

/// An Azure connection from `from`'s gateway to `peer` (another gateway, or a local network
/// gateway standing for a remote site).
pub(super) fn connection(b: &mut Builder, from: &Cluster, to: &str, kind: &str, peer: Value, key: Value) {
    let group = resource_group(b, &from.name.value);
    let gateway = gateway(b, &from.name.value);
    b.add(
        kinds::azure::VPN_CONNECTION,
        &format!("{}~{to}", from.name.value),
        attrs! {
            "resource_group" => output(&group, "name"),
            "subscription" => subscription(from),
            "name" => b.cloud_name(&[&from.name.value, "to", to]),
            "location" => from.region.value.as_str(),
            "connection_type" => kind,
            "gateway_id" => output(&gateway, "id"),
            "peer_id" => peer,
            "shared_key" => key,
        },
    );
}

pub(super) fn mesh(b: &mut Builder) {
    let clusters: Vec<&Cluster> = b.clusters(Cloud::Azure).collect();
    for (x, y) in pairs(&clusters) {
        b.from(&x.name.span);
        match b.topology.mesh.azure.value {
            AzureMesh::VpnGateway => {
                let key = shared_key(b, &x.name.value, &y.name.value);
                for (from, to) in [(x, y), (y, x)] {
                    let peer = gateway(b, &to.name.value);
                    connection(b, from, &to.name.value, "Vnet2Vnet", output(&peer, "id"), key.clone());
                }
            }
            AzureMesh::VnetPeering => {
                for (from, to) in [(x, y), (y, x)] {
                    let group = resource_group(b, &from.name.value);
                    let (from_vnet, to_vnet) = (
                        b.address(kinds::azure::VIRTUAL_NETWORK, &from.name.value),
                        b.address(kinds::azure::VIRTUAL_NETWORK, &to.name.value),
                    );
                    b.add(
                        kinds::azure::VNET_PEERING,
                        &format!("{}~{}", from.name.value, to.name.value),
                        attrs! {
                            "resource_group" => output(&group, "name"),
                            "subscription" => subscription(from),
                            "virtual_network_name" => output(&from_vnet, "name"),
                            "name" => format!("to-{}", to.name.value),
                            "remote_virtual_network_id" => output(&to_vnet, "id"),
                            "allow_virtual_network_access" => true,
                            "allow_forwarded_traffic" => true,
                        },
                    );
                }
            }
        }
    }
}
