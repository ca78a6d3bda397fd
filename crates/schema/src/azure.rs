//! Azure Resource Manager: resource groups, virtual networks, VPN gateways and connections,
//! VNet peering, AKS. Calls are scoped (and rate limited) per subscription. ARM ids, names,
//! groups and locations compare without case, as ARM does.

use ringform_core::schema::{Attribute, KindSchema, ProviderSchema, input, minutes, output, seconds};
use ringform_core::{Kind, Provider};

pub const RESOURCE_GROUP: Kind = Kind::new("azure_resource_group");
pub const VIRTUAL_NETWORK: Kind = Kind::new("azure_virtual_network");
pub const PUBLIC_IP: Kind = Kind::new("azure_public_ip");
pub const VPN_GATEWAY: Kind = Kind::new("azure_vpn_gateway");
pub const LOCAL_NETWORK_GATEWAY: Kind = Kind::new("azure_local_network_gateway");
pub const VPN_CONNECTION: Kind = Kind::new("azure_vpn_connection");
pub const VNET_PEERING: Kind = Kind::new("azure_vnet_peering");
pub const AKS_CLUSTER: Kind = Kind::new("azure_aks_cluster");

const fn in_subscription(kind: Kind) -> KindSchema {
    KindSchema::new(kind).account_from("subscription")
}

/// Absent when the topology leaves it to the provider's default subscription.
const SUBSCRIPTION: Attribute = input("subscription").replaces().case_insensitive();
const RESOURCE_GROUP_NAME: Attribute = input("resource_group").required().replaces().case_insensitive();
const NAME: Attribute = input("name").required().replaces().case_insensitive();
const LOCATION: Attribute = input("location").required().replaces().case_insensitive();
/// An ARM id of another object that the object cannot be moved off.
const fn fixed_id(name: &'static str) -> Attribute {
    input(name).required().replaces().case_insensitive()
}
const ID: Attribute = output("id").case_insensitive();

pub static SCHEMA: ProviderSchema = ProviderSchema {
    provider: Provider::Azure,
    kinds: &[
        in_subscription(RESOURCE_GROUP).inputs(&[SUBSCRIPTION, NAME, LOCATION]).outputs(&[ID, output("name")]),
        in_subscription(VIRTUAL_NETWORK)
            .inputs(&[
                SUBSCRIPTION,
                RESOURCE_GROUP_NAME,
                NAME,
                LOCATION,
                input("address_space").required().unordered(),
                input("subnets"),
            ])
            .outputs(&[ID, output("name"), output("node_subnet_id"), output("pod_subnet_id")]),
        in_subscription(PUBLIC_IP)
            .inputs(&[
                SUBSCRIPTION,
                RESOURCE_GROUP_NAME,
                NAME,
                LOCATION,
                input("sku").required().replaces(),
                input("allocation_method"),
                input("zones").unordered(),
            ])
            .outputs(&[ID, output("ip_address")]),
        in_subscription(VPN_GATEWAY)
            .inputs(&[
                SUBSCRIPTION,
                RESOURCE_GROUP_NAME,
                NAME,
                LOCATION,
                fixed_id("public_ip_id"),
                fixed_id("virtual_network_id"),
                input("sku"),
                input("vpn_type"),
            ])
            .outputs(&[ID])
            .takes(minutes(45)),
        in_subscription(LOCAL_NETWORK_GATEWAY)
            .inputs(&[
                SUBSCRIPTION,
                RESOURCE_GROUP_NAME,
                NAME,
                LOCATION,
                input("gateway_ip_address").required(),
                input("address_prefixes").unordered(),
            ])
            .outputs(&[ID]),
        in_subscription(VPN_CONNECTION)
            .inputs(&[
                SUBSCRIPTION,
                RESOURCE_GROUP_NAME,
                NAME,
                LOCATION,
                fixed_id("gateway_id"),
                fixed_id("peer_id"),
                input("connection_type").required().replaces(),
                input("shared_key").required().secret(),
            ])
            .outputs(&[ID])
            .takes(minutes(3)),
        in_subscription(VNET_PEERING)
            .inputs(&[
                SUBSCRIPTION,
                RESOURCE_GROUP_NAME,
                input("virtual_network_name").required().replaces().case_insensitive(),
                NAME,
                fixed_id("remote_virtual_network_id"),
                input("allow_virtual_network_access"),
                input("allow_forwarded_traffic"),
            ])
            .outputs(&[ID])
            .takes(seconds(10)),
        in_subscription(AKS_CLUSTER)
            .inputs(&[
                SUBSCRIPTION,
                RESOURCE_GROUP_NAME,
                NAME,
                LOCATION,
                input("dns_prefix").required().replaces(),
                input("kubernetes_version").required(),
                input("network_plugin").required().replaces(),
                fixed_id("subnet_id"),
                input("pod_subnet_id").replaces().case_insensitive(),
                input("service_cidr").required().replaces(),
                input("dns_service_ip"),
                input("identity"),
                input("vm_size"),
                input("node_count"),
                input("zones").unordered(),
            ])
            .outputs(&[ID, output("kubeconfig").secret()])
            .takes(minutes(10)),
    ],
};
