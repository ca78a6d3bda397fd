//! AWS: per cluster a VPC with per-zone subnets, internet access, a security group, IAM roles,
//! EKS, a node launch template carrying the group, the VPC CNI's custom networking where the
//! cluster has a pod range and, where Cassandra runs, the EBS CSI add-on; between clusters VPC
//! peering (or transit gateways) with routes both ways, and ingress for Cassandra's ports from
//! every other cluster.

use ringform_core::{Address, Value};
use ringform_schema as kinds;
use ringform_topology::{AwsMesh, CASSANDRA_PORTS, Cloud, Cluster, Subnet};

use super::kubernetes;
use crate::builder::{Builder, attrs, output, pairs, routed_ranges};

const EKS_CLUSTER_POLICIES: &[&str] = &["arn:aws:iam::aws:policy/AmazonEKSClusterPolicy"];
const EKS_NODE_POLICIES: &[&str] = &[
    "arn:aws:iam::aws:policy/AmazonEKSWorkerNodePolicy",
    "arn:aws:iam::aws:policy/AmazonEKS_CNI_Policy",
    "arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryReadOnly",
    "arn:aws:iam::aws:policy/service-role/AmazonEBSCSIDriverPolicy",
];

pub(super) fn clusters(b: &mut Builder) {
    for cluster in b.clusters(Cloud::Aws).collect::<Vec<_>>() {
        one_cluster(b, cluster);
    }
}

fn one_cluster(b: &mut Builder, c: &Cluster) {
    b.from(&c.name.span);
    let n = c.name.value.as_str();
    let region = c.region.value.as_str();
    let secondary: Vec<String> = c.pod_cidr.iter().map(|p| p.value.to_string()).collect();
    let vpc = b.add(
        kinds::aws::VPC,
        n,
        attrs! {
            "region" => region,
            "name" => b.cloud_name(&[n]),
            "cidr_block" => c.network_cidr.value.to_string(),
            "secondary_cidr_blocks" => secondary,
            "enable_dns_hostnames" => true,
        },
    );
    b.locate(&vpc, "region", &c.region.span);
    b.locate(&vpc, "cidr_block", &c.network_cidr.span);
    if let Some(pods) = &c.pod_cidr {
        b.locate(&vpc, "secondary_cidr_blocks", &pods.span);
    }
    let igw = b.add(
        kinds::aws::INTERNET_GATEWAY,
        n,
        attrs! { "region" => region, "name" => b.cloud_name(&[n]), "vpc_id" => output(&vpc, "id") },
    );
    let table = b.add(
        kinds::aws::ROUTE_TABLE,
        n,
        attrs! { "region" => region, "name" => b.cloud_name(&[n]), "vpc_id" => output(&vpc, "id") },
    );
    b.add(
        kinds::aws::ROUTE,
        &format!("{n}/internet"),
        attrs! {
            "region" => region,
            "route_table_id" => output(&table, "id"),
            "destination_cidr_block" => "0.0.0.0/0",
            "gateway_id" => output(&igw, "id"),
        },
    );
    let subnet = |b: &mut Builder, s: &Subnet, role: &str| {
        let name = if role == "nodes" { format!("{n}/{}", s.name) } else { format!("{n}/{role}-{}", s.name) };
        let zone = s.zone.as_ref().map(|z| z.value.clone());
        let id = b.add(
            kinds::aws::SUBNET,
            &name,
            attrs! {
                "region" => region,
                "name" => b.cloud_name(&[n, role, &s.name]),
                "vpc_id" => output(&vpc, "id"),
                "cidr_block" => s.cidr.value.to_string(),
                "availability_zone" => zone,
                "map_public_ip_on_launch" => role == "nodes",
            },
        );
        b.locate(&id, "cidr_block", &s.cidr.span);
        if let Some(zone) = &s.zone {
            b.locate(&id, "availability_zone", &zone.span);
        }
        b.add(
            kinds::aws::ROUTE_TABLE_ASSOCIATION,
            &name,
            attrs! { "region" => region, "subnet_id" => output(&id, "id"), "route_table_id" => output(&table, "id") },
        );
        output(&id, "id")
    };
    let node_subnets: Vec<Value> = c.node_subnets.iter().map(|s| subnet(b, s, "nodes")).collect();
    let pod_subnets: Vec<(&str, Value)> =
        c.pod_subnets.iter().map(|s| (s.name.as_str(), subnet(b, s, "pods"))).collect();

    let group = b.add(
        kinds::aws::SECURITY_GROUP,
        n,
        attrs! {
            "region" => region,
            "vpc_id" => output(&vpc, "id"),
            "group_name" => b.cloud_name(&[n, "cassandra"]),
            "description" => "Cassandra traffic between the clusters of this deployment",
        },
    );
    let cluster_role = b.add(
        kinds::aws::IAM_ROLE,
        &format!("{n}/cluster"),
        attrs! {
            "role_name" => b.cloud_name(&[n, "eks"]),
            "assume_role_service" => "eks.amazonaws.com",
            "policy_arns" => EKS_CLUSTER_POLICIES.to_vec(),
        },
    );
    let node_role = b.add(
        kinds::aws::IAM_ROLE,
        &format!("{n}/nodes"),
        attrs! {
            "role_name" => b.cloud_name(&[n, "nodes"]),
            "assume_role_service" => "ec2.amazonaws.com",
            "policy_arns" => EKS_NODE_POLICIES.to_vec(),
        },
    );
    let eks = b.add(
        kinds::aws::EKS_CLUSTER,
        n,
        attrs! {
            "region" => region,
            "cluster_name" => b.cloud_name(&[n]),
            "kubernetes_version" => c.kubernetes_version.value.as_str(),
            "role_arn" => output(&cluster_role, "arn"),
            "subnet_ids" => node_subnets.clone(),
            "service_cidr" => c.service_cidr.value.to_string(),
        },
    );
    b.locate(&eks, "service_cidr", &c.service_cidr.span);
    b.locate(&eks, "kubernetes_version", &c.kubernetes_version.span);
    let pod_networking = c.pod_cidr.is_some().then(|| pod_networking(b, c, &pod_subnets, &group, &eks));
    // A node group takes no security groups itself: its launch template gives the nodes the
    // Cassandra group, and the cluster group EKS would have given them.
    let template = b.add(
        kinds::aws::LAUNCH_TEMPLATE,
        n,
        attrs! {
            "region" => region,
            "name" => b.cloud_name(&[n, "nodes"]),
            "security_group_ids" => vec![output(&group, "id")],
            "cluster_security_group_id" => output(&eks, "cluster_security_group_id"),
        },
    );
    let count = i64::from(c.node_pool.count.value);
    let machine = c.node_pool.machine_type.value.as_str();
    // One node group per instance type, named after it: another type is another group, made
    // before the old one goes, so Cassandra's pods can move over rack by rack.
    let nodes = b.add(
        kinds::aws::EKS_NODE_GROUP,
        &node_group_name(n, machine),
        attrs! {
            "region" => region,
            "cluster_name" => output(&eks, "cluster_name"),
            "node_group_name" => format!("cassandra-{}", machine.replace('.', "-")),
            "node_role_arn" => output(&node_role, "arn"),
            "subnet_ids" => node_subnets,
            "pod_networking" => pod_networking,
            "launch_template_id" => output(&template, "id"),
            "launch_template_version" => output(&template, "version"),
            "instance_type" => machine,
            "desired_size" => count,
            "min_size" => count,
            "max_size" => count,
        },
    );
    for size in ["desired_size", "min_size", "max_size"] {
        b.locate(&nodes, size, &c.node_pool.count.span);
    }
    b.locate(&nodes, "instance_type", &c.node_pool.machine_type.span);
    if kubernetes::hosts_datacenter(b.topology, n) {
        // Cassandra's volumes need a provisioner for gp3, which a new EKS cluster lacks. The
        // add-on's pods run on the nodes, so it names its cluster through the node group.
        b.add(
            kinds::aws::EKS_ADDON,
            &format!("{n}/{EBS_CSI_DRIVER}"),
            attrs! {
                "region" => region,
                "cluster_name" => output(&nodes, "cluster_name"),
                "addon_name" => EBS_CSI_DRIVER,
            },
        );
    }
}

/// The address name of cluster `cluster`'s node group of `instance_type` machines.
pub(super) fn node_group_name(cluster: &str, instance_type: &str) -> String {
    format!("{cluster}/{instance_type}")
}

/// The environment of the VPC CNI's `aws-node` container that gives pods addresses from the
/// ENIConfig named after their node's zone (the upstream documentation's settings).
const CUSTOM_NETWORKING_ENV: [(&str, &str); 2] =
    [("AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG", "true"), ("ENI_CONFIG_LABEL_DEF", "topology.kubernetes.io/zone")];

/// EKS pods take addresses from the pod subnets (`(zone, subnet id)`) only under the VPC CNI's
/// custom networking: an ENIConfig per zone naming its pod subnet and the groups of the pods'
/// network interfaces (Cassandra's, and the cluster's that the nodes have too), then the CNI
/// told to use them. Nodes take this up when they launch, so it reaches the cluster without
/// waiting for them, and the node group waits for it (the reference returned).
fn pod_networking(b: &mut Builder, c: &Cluster, subnets: &[(&str, Value)], group: &Address, eks: &Address) -> Value {
    let access = kubernetes::control_plane_access(b, c);
    let security_groups = vec![output(group, "id"), output(eks, "cluster_security_group_id")];
    let configs: Vec<Value> = subnets
        .iter()
        .map(|(zone, subnet)| {
            let attributes = attrs! {
                "name" => *zone,
                "subnet" => subnet.clone(),
                "security_groups" => security_groups.clone(),
            };
            let config =
                kubernetes::add_reaching(b, kinds::kubernetes::ENI_CONFIG, c, zone, attributes, access.clone());
            output(&config, "id")
        })
        .collect();
    let env = Value::from_iter(CUSTOM_NETWORKING_ENV.map(|(name, value)| (name, Value::from(value))));
    let attributes = attrs! { "env" => env, "eni_configs" => configs };
    let networking =
        kubernetes::add_reaching(b, kinds::kubernetes::CUSTOM_NETWORKING, c, "aws-node", attributes, access);
    output(&networking, "id")
}

/// The EKS add-on that provisions EBS volumes (the node role carries its policy).
pub(super) const EBS_CSI_DRIVER: &str = "aws-ebs-csi-driver";

pub(super) fn ebs_csi_driver(b: &mut Builder, cluster: &str) -> Address {
    b.address(kinds::aws::EKS_ADDON, &format!("{cluster}/{EBS_CSI_DRIVER}"))
}

pub(super) fn vpc(b: &mut Builder, cluster: &str) -> Address {
    b.address(kinds::aws::VPC, cluster)
}

pub(super) fn route_table(b: &mut Builder, cluster: &str) -> Address {
    b.address(kinds::aws::ROUTE_TABLE, cluster)
}

/// A route in `from`'s route table to each of `to`'s ranges through `target` (an attribute
/// naming the gateway kind, e.g. `vpc_peering_connection_id`).
pub(super) fn routes_to(b: &mut Builder, from: &Cluster, to: &Cluster, target: (&str, Value)) {
    let table = route_table(b, &from.name.value);
    for (range, cidr) in routed_ranges(to) {
        let mut attributes = attrs! {
            "region" => from.region.value.as_str(),
            "route_table_id" => output(&table, "id"),
            "destination_cidr_block" => cidr,
        };
        attributes.insert(target.0.to_owned(), target.1.clone());
        b.add(kinds::aws::ROUTE, &format!("{}~{}/{range}", from.name.value, to.name.value), attributes);
    }
}

pub(super) fn mesh(b: &mut Builder) {
    let clusters: Vec<&Cluster> = b.clusters(Cloud::Aws).collect();
    match b.topology.mesh.aws.value {
        AwsMesh::VpcPeering => peering_mesh(b, &clusters),
        AwsMesh::TransitGateway => transit_gateway_mesh(b, &clusters),
    }
}

/// Cross-region peering is requested from one region and must be accepted in the other;
/// routes go over the accepted peering.
fn peering_mesh(b: &mut Builder, clusters: &[&Cluster]) {
    for (x, y) in pairs(clusters) {
        b.from(&x.name.span);
        let pair = format!("{}~{}", x.name.value, y.name.value);
        let (x_vpc, y_vpc) = (vpc(b, &x.name.value), vpc(b, &y.name.value));
        let peering = b.add(
            kinds::aws::VPC_PEERING,
            &pair,
            attrs! {
                "region" => x.region.value.as_str(),
                "name" => b.cloud_name(&[&pair]),
                "vpc_id" => output(&x_vpc, "id"),
                "peer_vpc_id" => output(&y_vpc, "id"),
                "peer_region" => y.region.value.as_str(),
            },
        );
        let accepter = b.add(
            kinds::aws::VPC_PEERING_ACCEPTER,
            &pair,
            attrs! { "region" => y.region.value.as_str(), "peering_id" => output(&peering, "id") },
        );
        let via = output(&accepter, "peering_id");
        routes_to(b, x, y, ("vpc_peering_connection_id", via.clone()));
        routes_to(b, y, x, ("vpc_peering_connection_id", via));
    }
}

/// One transit gateway per region, every VPC attached to its region's gateway, gateways of
/// different regions peered, and static routes for the clusters behind each peering.
fn transit_gateway_mesh(b: &mut Builder, clusters: &[&Cluster]) {
    let mut regions: Vec<&str> = Vec::new();
    for c in clusters {
        if !regions.contains(&c.region.value.as_str()) {
            regions.push(&c.region.value);
        }
    }
    for (i, region) in regions.iter().enumerate() {
        b.add(
            kinds::aws::TRANSIT_GATEWAY,
            region,
            attrs! {
                "region" => *region,
                "name" => b.cloud_name(&[region]),
                // Distinct private ASNs so the peered gateways can tell each other apart.
                "amazon_side_asn" => 64512 + i as i64,
            },
        );
    }
    for c in clusters {
        let gateway = b.address(kinds::aws::TRANSIT_GATEWAY, &c.region.value);
        let vpc = vpc(b, &c.name.value);
        let subnets: Vec<Value> = c
            .node_subnets
            .iter()
            .map(|s| {
                let subnet = b.address(kinds::aws::SUBNET, &format!("{}/{}", c.name.value, s.name));
                output(&subnet, "id")
            })
            .collect();
        b.add(
            kinds::aws::TRANSIT_GATEWAY_ATTACHMENT,
            &c.name.value,
            attrs! {
                "region" => c.region.value.as_str(),
                "transit_gateway_id" => output(&gateway, "id"),
                "vpc_id" => output(&vpc, "id"),
                "subnet_ids" => subnets,
            },
        );
    }
    for (x, y) in pairs(&regions) {
        let pair = format!("{x}~{y}");
        let (x_gateway, y_gateway) =
            (b.address(kinds::aws::TRANSIT_GATEWAY, x), b.address(kinds::aws::TRANSIT_GATEWAY, y));
        let peering = b.add(
            kinds::aws::TRANSIT_GATEWAY_PEERING,
            &pair,
            attrs! {
                "region" => x,
                "transit_gateway_id" => output(&x_gateway, "id"),
                "peer_transit_gateway_id" => output(&y_gateway, "id"),
                "peer_region" => y,
            },
        );
        let accepter = b.add(
            kinds::aws::TRANSIT_GATEWAY_PEERING_ACCEPTER,
            &pair,
            attrs! { "region" => y, "attachment_id" => output(&peering, "id") },
        );
        // Each side routes the other region's clusters into the peering attachment.
        for (here, gateway, there) in [(x, &x_gateway, y), (y, &y_gateway, x)] {
            for remote in clusters.iter().filter(|c| c.region.value == there) {
                for (range, cidr) in routed_ranges(remote) {
                    b.add(
                        kinds::aws::TRANSIT_GATEWAY_ROUTE,
                        &format!("{here}/{}/{range}", remote.name.value),
                        attrs! {
                            "region" => here,
                            "transit_gateway_id" => output(gateway, "id"),
                            "destination_cidr_block" => cidr,
                            "attachment_id" => output(&accepter, "attachment_id"),
                        },
                    );
                }
            }
        }
    }
    for &from in clusters {
        let attachment = b.address(kinds::aws::TRANSIT_GATEWAY_ATTACHMENT, &from.name.value);
        for &to in clusters.iter().filter(|c| c.name.value != from.name.value) {
            routes_to(b, from, to, ("transit_gateway_id", output(&attachment, "transit_gateway_id")));
        }
    }
}

/// Ingress on every AWS cluster's security group for Cassandra's ports from every other
/// cluster's node and pod ranges, whatever cloud it is in.
pub(super) fn firewall(b: &mut Builder) {
    let all = &b.topology.clusters;
    for to in b.clusters(Cloud::Aws).collect::<Vec<_>>() {
        b.from(&to.name.span);
        let group = b.address(kinds::aws::SECURITY_GROUP, &to.name.value);
        for from in all.iter().filter(|c| c.name.value != to.name.value) {
            let cidrs: Vec<String> = routed_ranges(from).into_iter().map(|(_, cidr)| cidr).collect();
            b.add(
                kinds::aws::SECURITY_GROUP_RULE,
                &format!("{}~{}", to.name.value, from.name.value),
                attrs! {
                    "region" => to.region.value.as_str(),
                    "security_group_id" => output(&group, "id"),
                    "description" => format!("Cassandra from {}", from.name.value),
                    "protocol" => "tcp",
                    "ports" => CASSANDRA_PORTS.iter().map(|&p| i64::from(p)).collect::<Vec<_>>(),
                    "cidr_blocks" => cidrs,
                },
            );
        }
    }
}
