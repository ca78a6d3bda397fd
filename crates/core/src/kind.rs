use std::fmt;
use std::str::FromStr;

/// Which provider implements a kind; the engine dispatches on it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Provider {
    Aws,
    Azure,
    Kubernetes,
    /// Values ringform makes itself, such as generated VPN shared keys.
    Local,
}

impl Provider {
    pub const fn as_str(self) -> &'static str {
        match self {
            Provider::Aws => "aws",
            Provider::Azure => "azure",
            Provider::Kubernetes => "kubernetes",
            Provider::Local => "local",
        }
    }
}

impl fmt::Display for Provider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Declares every kind once: its text form, provider, and the input attributes whose change
/// cannot be applied in place and forces delete-and-create.
macro_rules! kinds {
    ($($variant:ident = $text:literal, $provider:ident, replace_on [$($attr:literal),*];)*) => {
        /// A resource kind. The declaration order is the order plans list resources in.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Kind { $($variant),* }

        impl Kind {
            pub const ALL: &'static [Kind] = &[$(Kind::$variant),*];

            pub const fn as_str(self) -> &'static str {
                match self { $(Kind::$variant => $text),* }
            }

            pub const fn provider(self) -> Provider {
                match self { $(Kind::$variant => Provider::$provider),* }
            }

            /// Input attributes whose change forces replacement rather than an in-place update.
            pub const fn replace_on(self) -> &'static [&'static str] {
                match self { $(Kind::$variant => &[$($attr),*]),* }
            }
        }

        impl FromStr for Kind {
            type Err = ();
            fn from_str(text: &str) -> Result<Self, ()> {
                match text { $($text => Ok(Kind::$variant),)* _ => Err(()) }
            }
        }
    };
}

kinds! {
    // AWS networking.
    AwsVpc = "aws_vpc", Aws, replace_on ["region", "cidr_block"];
    AwsSubnet = "aws_subnet", Aws, replace_on ["region", "vpc_id", "cidr_block", "availability_zone"];
    AwsInternetGateway = "aws_internet_gateway", Aws, replace_on ["region", "vpc_id"];
    AwsRouteTable = "aws_route_table", Aws, replace_on ["region", "vpc_id"];
    AwsRouteTableAssociation = "aws_route_table_association", Aws, replace_on ["region", "subnet_id", "route_table_id"];
    AwsRoute = "aws_route", Aws, replace_on ["region", "route_table_id", "destination_cidr_block"];
    AwsSecurityGroup = "aws_security_group", Aws, replace_on ["region", "vpc_id", "group_name"];
    AwsSecurityGroupRule = "aws_security_group_rule", Aws, replace_on ["region", "security_group_id", "protocol", "ports", "cidr_blocks"];
    AwsVpcPeering = "aws_vpc_peering", Aws, replace_on ["region", "vpc_id", "peer_vpc_id", "peer_region"];
    AwsVpcPeeringAccepter = "aws_vpc_peering_accepter", Aws, replace_on ["region", "peering_id"];
    AwsTransitGateway = "aws_transit_gateway", Aws, replace_on ["region", "amazon_side_asn"];
    AwsTransitGatewayAttachment = "aws_transit_gateway_attachment", Aws, replace_on ["region", "transit_gateway_id", "vpc_id"];
    AwsTransitGatewayPeering = "aws_transit_gateway_peering", Aws, replace_on ["region", "transit_gateway_id", "peer_transit_gateway_id", "peer_region"];
    AwsTransitGatewayPeeringAccepter = "aws_transit_gateway_peering_accepter", Aws, replace_on ["region", "attachment_id"];
    AwsTransitGatewayRoute = "aws_transit_gateway_route", Aws, replace_on ["region", "transit_gateway_id", "destination_cidr_block"];
    AwsVpnGateway = "aws_vpn_gateway", Aws, replace_on ["region", "vpc_id"];
    AwsCustomerGateway = "aws_customer_gateway", Aws, replace_on ["region", "ip_address", "bgp_asn"];
    AwsVpnConnection = "aws_vpn_connection", Aws, replace_on ["region", "vpn_gateway_id", "customer_gateway_id"];
    // AWS identity and Kubernetes.
    AwsIamRole = "aws_iam_role", Aws, replace_on ["role_name"];
    AwsEksCluster = "aws_eks_cluster", Aws, replace_on ["region", "cluster_name", "role_arn", "subnet_ids", "service_cidr"];
    AwsLaunchTemplate = "aws_launch_template", Aws, replace_on ["region", "name"];
    AwsEksNodeGroup = "aws_eks_node_group", Aws, replace_on ["region", "cluster_name", "node_group_name", "node_role_arn", "subnet_ids", "instance_type", "launch_template_id"];
    // Azure.
    AzureResourceGroup = "azure_resource_group", Azure, replace_on ["subscription", "name", "location"];
    AzureVirtualNetwork = "azure_virtual_network", Azure, replace_on ["resource_group", "name", "location"];
    AzurePublicIp = "azure_public_ip", Azure, replace_on ["resource_group", "name", "location", "sku"];
    AzureVpnGateway = "azure_vpn_gateway", Azure, replace_on ["resource_group", "name", "location", "public_ip_id", "virtual_network_id"];
    AzureLocalNetworkGateway = "azure_local_network_gateway", Azure, replace_on ["resource_group", "name", "location"];
    AzureVpnConnection = "azure_vpn_connection", Azure, replace_on ["resource_group", "name", "location", "gateway_id", "peer_id", "connection_type"];
    AzureVnetPeering = "azure_vnet_peering", Azure, replace_on ["resource_group", "virtual_network_name", "name", "remote_virtual_network_id"];
    AzureAksCluster = "azure_aks_cluster", Azure, replace_on ["resource_group", "name", "location", "dns_prefix", "network_plugin", "subnet_id", "pod_subnet_id", "service_cidr"];
    // Generated by ringform itself.
    GeneratedSecret = "generated_secret", Local, replace_on ["length"];
    // Kubernetes and Cassandra, inside the clusters.
    K8sNamespace = "k8s_namespace", Kubernetes, replace_on ["cluster", "name"];
    CertManager = "cert_manager", Kubernetes, replace_on ["cluster"];
    K8ssandraOperator = "k8ssandra_operator", Kubernetes, replace_on ["cluster"];
    CassOperator = "cass_operator", Kubernetes, replace_on ["cluster"];
    K8sSecret = "k8s_secret", Kubernetes, replace_on ["cluster", "namespace", "name"];
    K8sServiceAccount = "k8s_service_account", Kubernetes, replace_on ["cluster", "namespace", "name"];
    K8ssandraClientConfig = "k8ssandra_client_config", Kubernetes, replace_on ["cluster", "namespace", "name"];
    K8ssandraCluster = "k8ssandra_cluster", Kubernetes, replace_on ["cluster", "namespace", "name"];
    CassandraDatacenter = "cassandra_datacenter", Kubernetes, replace_on ["cluster", "namespace", "name", "cluster_name"];
    KubeDnsEndpoint = "kube_dns_endpoint", Kubernetes, replace_on ["cluster"];
    CorednsStubDomains = "coredns_stub_domains", Kubernetes, replace_on ["cluster"];
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_forms_round_trip_and_are_unique() {
        let mut seen = std::collections::HashSet::new();
        for kind in Kind::ALL {
            assert!(seen.insert(kind.as_str()), "duplicate kind text {kind}");
            assert_eq!(kind.as_str().parse::<Kind>(), Ok(*kind));
            assert!(!kind.as_str().contains('.'), "a kind may not contain the address separator");
        }
    }

    #[test]
    fn text_form_names_the_provider() {
        for kind in Kind::ALL {
            let prefix = match kind.provider() {
                Provider::Aws => Some("aws_"),
                Provider::Azure => Some("azure_"),
                _ => None,
            };
            if let Some(prefix) = prefix {
                assert!(kind.as_str().starts_with(prefix), "{kind}");
            }
        }
    }
}
