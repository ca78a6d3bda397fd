//! Azure Resource Manager: resource groups, virtual networks, VPN gateways and connections,
//! VNet peering, AKS and the role assignments it needs. Calls are scoped (and rate limited) per
//! subscription. ARM ids, names, groups compare without case, locations without case and
//! spaces, as ARM does.

use ringform_core::schema::{
    Attribute, CassandraData, KindSchema, ProviderSchema, Quota, Rule, input, minutes, output, seconds,
};
use ringform_core::{Kind, Provider};

use crate::chars;

pub const RESOURCE_GROUP: Kind = Kind::new("azure_resource_group");
pub const VIRTUAL_NETWORK: Kind = Kind::new("azure_virtual_network");
pub const PUBLIC_IP: Kind = Kind::new("azure_public_ip");
pub const VPN_GATEWAY: Kind = Kind::new("azure_vpn_gateway");
pub const LOCAL_NETWORK_GATEWAY: Kind = Kind::new("azure_local_network_gateway");
pub const VPN_CONNECTION: Kind = Kind::new("azure_vpn_connection");
pub const VNET_PEERING: Kind = Kind::new("azure_vnet_peering");
pub const AKS_CLUSTER: Kind = Kind::new("azure_aks_cluster");
pub const ROLE_ASSIGNMENT: Kind = Kind::new("azure_role_assignment");

const fn in_subscription(kind: Kind) -> KindSchema {
    KindSchema::new(kind).account_from("subscription")
}

/// Absent when the topology leaves it to the provider's default subscription.
const SUBSCRIPTION: Attribute = input("subscription").replaces().case_insensitive();
const RESOURCE_GROUP_NAME: Attribute = input("resource_group").required().replaces().case_insensitive();
/// Most network resources: 1 to 80 letters, digits, `_`, `.` and `-`, starting with a letter
/// or digit and ending with one or `_`.
const NAME: Attribute = input("name").required().replaces().case_insensitive().rules(&NETWORK_NAME);
const NETWORK_NAME: [Rule; 3] = [
    Rule::Length { min: 1, max: 80 },
    Rule::Chars { test: chars::word_dash_or_dot, allowed: "letters, digits, `_`, `.` and `-`" },
    Rule::Check {
        check: |name| name.starts_with(chars::alphanumeric) && name.ends_with(|c| chars::alphanumeric(c) || c == '_'),
        requires: "must start with a letter or digit and end with one or `_`",
    },
];
/// Virtual networks: as other network names, but 2 to 64 characters.
const VNET_NAME: [Rule; 3] = [Rule::Length { min: 2, max: 64 }, NETWORK_NAME[1], NETWORK_NAME[2]];
const LOCATION: Attribute = input("location").required().replaces().ignoring_case_and_spaces();

/// Azure's public regions, by the names ARM takes. A region Azure opens after this release is
/// refused until ringform learns it.
pub const LOCATIONS: &[&str] = &[
    "australiacentral",
    "australiacentral2",
    "australiaeast",
    "australiasoutheast",
    "austriaeast",
    "belgiumcentral",
    "brazilsouth",
    "brazilsoutheast",
    "canadacentral",
    "canadaeast",
    "centralindia",
    "centralus",
    "chilecentral",
    "eastasia",
    "eastus",
    "eastus2",
    "francecentral",
    "francesouth",
    "germanynorth",
    "germanywestcentral",
    "indonesiacentral",
    "israelcentral",
    "italynorth",
    "japaneast",
    "japanwest",
    "jioindiacentral",
    "jioindiawest",
    "koreacentral",
    "koreasouth",
    "malaysiawest",
    "mexicocentral",
    "newzealandnorth",
    "northcentralus",
    "northeurope",
    "norwayeast",
    "norwaywest",
    "polandcentral",
    "qatarcentral",
    "southafricanorth",
    "southafricawest",
    "southcentralus",
    "southeastasia",
    "southindia",
    "spaincentral",
    "swedencentral",
    "swedensouth",
    "switzerlandnorth",
    "switzerlandwest",
    "uaecentral",
    "uaenorth",
    "uksouth",
    "ukwest",
    "westcentralus",
    "westeurope",
    "westindia",
    "westus",
    "westus2",
    "westus3",
];
/// Route-based VPN gateway SKUs that take availability zones or not (Basic cannot carry BGP or
/// more than 10 tunnels, and Azure is retiring it).
const GATEWAY_SKUS: &[&str] =
    &["VpnGw1", "VpnGw2", "VpnGw3", "VpnGw4", "VpnGw5", "VpnGw1AZ", "VpnGw2AZ", "VpnGw3AZ", "VpnGw4AZ", "VpnGw5AZ"];
const ZONES: Rule = Rule::OneOf { values: &["1", "2", "3"], what: "an availability zone (`1`, `2` or `3`)" };
/// An ARM id of another object that the object cannot be moved off.
const fn fixed_id(name: &'static str) -> Attribute {
    input(name).required().replaces().case_insensitive()
}
const ID: Attribute = output("id").case_insensitive();

pub static SCHEMA: ProviderSchema = ProviderSchema {
    provider: Provider::Azure,
    kinds: &[
        in_subscription(RESOURCE_GROUP)
            .inputs(&[
                SUBSCRIPTION,
                input("name").required().replaces().case_insensitive().rules(&[
                    Rule::Length { min: 1, max: 90 },
                    Rule::Chars {
                        test: |c| chars::word_dash_or_dot(c) || "()".contains(c),
                        allowed: "letters, digits and `_.-()`",
                    },
                    Rule::Check { check: |name| !name.ends_with('.'), requires: "may not end with `.`" },
                ]),
                LOCATION.rules(&[Rule::OneOf { values: LOCATIONS, what: "an Azure region" }]),
            ])
            .outputs(&[ID, output("name")]),
        in_subscription(VIRTUAL_NETWORK)
            .inputs(&[
                SUBSCRIPTION,
                RESOURCE_GROUP_NAME,
                input("name").required().replaces().case_insensitive().rules(&VNET_NAME),
                LOCATION,
                input("address_space").required().unordered().rules(&[Rule::Cidr {
                    prefix: (8, 29),
                    within: &[],
                    reserved: &[],
                }]),
                input("subnets").unordered(),
            ])
            .outputs(&[
                ID,
                output("name"),
                output("node_subnet_id").case_insensitive(),
                output("pod_subnet_id").case_insensitive(),
            ]),
        in_subscription(PUBLIC_IP)
            .inputs(&[
                SUBSCRIPTION,
                RESOURCE_GROUP_NAME,
                NAME,
                LOCATION,
                input("sku").required().replaces(),
                input("allocation_method"),
                input("zones").unordered().rules(&[ZONES]),
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
                input("sku").rules(&[Rule::OneOf { values: GATEWAY_SKUS, what: "a route-based VPN gateway SKU" }]),
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
            .quotas(&[Quota {
                key: "azure_tunnels_per_vpn_gateway",
                name: "Site-to-site and VNet-to-VNet tunnels per VPN gateway",
                per: &["gateway_id"],
                default: 30,
                raise: Some(
                    "a gateway's SKU sets its tunnels: VpnGw1 to VpnGw3 take 30, VpnGw4 and VpnGw5 take 100; choose one of those as mesh.azure_gateway_sku",
                ),
            }])
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
            .quotas(&[Quota {
                key: "azure_peerings_per_vnet",
                name: "Virtual network peerings per virtual network",
                per: &["virtual_network_name"],
                default: 500,
                raise: None,
            }])
            .takes(seconds(10)),
        in_subscription(AKS_CLUSTER)
            .inputs(&[
                SUBSCRIPTION,
                RESOURCE_GROUP_NAME,
                input("name").required().replaces().case_insensitive().rules(&[
                    Rule::Length { min: 1, max: 63 },
                    Rule::Chars { test: chars::word_or_dash, allowed: "letters, digits, `_` and `-`" },
                    Rule::Ends { test: chars::alphanumeric, what: "a letter or digit" },
                ]),
                LOCATION,
                input("dns_prefix").required().replaces().rules(&[
                    Rule::Length { min: 1, max: 54 },
                    Rule::Chars { test: |c| chars::alphanumeric(c) || c == '-', allowed: "letters, digits and `-`" },
                    Rule::Ends { test: chars::alphanumeric, what: "a letter or digit" },
                ]),
                input("kubernetes_version").required().rules(&[crate::KUBERNETES_VERSION]),
                input("network_plugin").required().replaces(),
                fixed_id("subnet_id"),
                input("pod_subnet_id").replaces().case_insensitive(),
                input("service_cidr").required().replaces().rules(&[Rule::Cidr {
                    prefix: (12, 28),
                    within: &[],
                    reserved: &["169.254.0.0/16", "172.30.0.0/16", "172.31.0.0/16", "192.0.2.0/24"],
                }]),
                input("dns_service_ip"),
                input("identity"),
                input("vm_size").rules(&[Rule::Check {
                    check: |size| {
                        size.strip_prefix("Standard_")
                            .is_some_and(|rest| !rest.is_empty() && rest.chars().all(chars::word_or_dash))
                    },
                    requires: "is not an Azure VM size: those read `Standard_` then the size, such as `Standard_D8s_v5`",
                }]),
                input("node_count").rules(&[Rule::Range { min: 1, max: 1000 }]),
                input("zones").unordered().rules(&[ZONES]),
            ])
            .outputs(&[ID, output("kubeconfig").secret(), output("principal_id").case_insensitive()])
            .takes(minutes(10))
            .cassandra_data(CassandraData::Hosts),
        // A role granted to a principal on a scope (any ARM id). Not taggable: it lives at an
        // id derived from its scope, role and principal. `role_definition_id` is the role's
        // GUID (built-in roles have the same one in every subscription).
        in_subscription(ROLE_ASSIGNMENT)
            .inputs(&[
                SUBSCRIPTION,
                fixed_id("scope"),
                input("role_definition_id").required().replaces().case_insensitive(),
                input("principal_id").required().replaces().case_insensitive(),
            ])
            .outputs(&[ID])
            .takes(seconds(10)),
    ],
};
