//! The provider against moto (the AWS emulator): every EKS two-region kind created, read,
//! changed out of band, updated, found and deleted; transit gateway and VPN kinds as far as
//! moto emulates them. Fails, naming the command that installs it, when moto is missing.

use std::time::Duration;

use ringform_aws::{AwsProvider, AwsSettings};
use ringform_core::provider::{
    Applied, CreateRequest, DeleteRequest, FindRequest, ReadRequest, ResourceProvider, Tracked, UpdateRequest,
};
use ringform_core::{Address, Attributes, Value};
use ringform_testkit::moto::Moto;

const DEPLOYMENT: &str = "moto-test";

fn settings(moto: &Moto) -> AwsSettings {
    AwsSettings {
        max_attempts: 1,
        poll_interval: Duration::from_millis(10),
        dependency_timeout: Duration::from_millis(200),
        // moto makes everything in its final state: a wait that lasts is a bug, so fail fast.
        eks_cluster_timeout: Duration::from_secs(30),
        eks_node_group_timeout: Duration::from_secs(30),
        eks_addon_timeout: Duration::from_secs(30),
        peering_timeout: Duration::from_secs(30),
        transit_gateway_timeout: Duration::from_secs(30),
        vpn_timeout: Duration::from_secs(30),
        endpoint_url: Some(moto.endpoint()),
        static_credentials: Some(("testing".into(), "testing".into())),
    }
}

fn attrs<const N: usize>(pairs: [(&str, Value); N]) -> Attributes {
    pairs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()
}

fn strings(items: &[&str]) -> Value {
    Value::List(items.iter().map(|s| Value::from(*s)).collect())
}

/// A created object: where it is, what it was made from, what came back.
#[derive(Clone, Debug)]
struct Made {
    address: Address,
    inputs: Attributes,
    applied: Applied,
}

impl Made {
    fn id(&self) -> String {
        self.applied.provider_id.clone()
    }

    fn output(&self, name: &str) -> Value {
        self.applied.outputs.get(name).cloned().unwrap_or_else(|| panic!("{} has no output {name}", self.address))
    }

    fn tracked(&self) -> Tracked {
        Tracked {
            address: self.address.clone(),
            provider_id: self.id(),
            inputs: self.inputs.clone(),
            outputs: self.applied.outputs.clone(),
        }
    }
}

struct Harness {
    provider: AwsProvider,
}

impl Harness {
    async fn create(&self, address: &str, inputs: Attributes) -> Made {
        let address: Address = address.parse().unwrap();
        let request = CreateRequest { deployment: DEPLOYMENT.into(), address: address.clone(), inputs: inputs.clone() };
        let applied = self.provider.create(request).await.unwrap_or_else(|e| panic!("creating {address}: {e}"));
        Made { address, inputs, applied }
    }

    /// Reads every object of `made` (one kind, one scope) and returns the observed inputs by address.
    async fn read(&self, made: &[&Made]) -> Vec<(Address, Attributes)> {
        let first = made[0];
        let scope = self.provider.scope(&first.address, &first.inputs);
        let request = ReadRequest {
            deployment: DEPLOYMENT.into(),
            kind: first.address.kind(),
            scope,
            resources: made.iter().map(|m| m.tracked()).collect(),
        };
        let read = self.provider.read(request).await.unwrap_or_else(|e| panic!("reading {}: {e}", first.address));
        read.found.into_iter().map(|o| (o.address, o.inputs)).collect()
    }

    /// Asserts a refresh of `made` shows no drift.
    async fn assert_unchanged(&self, made: &[&Made]) {
        let read = self.read(made).await;
        assert_eq!(read.len(), made.len(), "every object is found: {read:?}");
        for (m, (address, inputs)) in made.iter().zip(read) {
            assert_eq!(address, m.address);
            assert_eq!(inputs, m.inputs, "{address} shows drift");
        }
    }

    async fn find(&self, made: &Made) -> Option<String> {
        let request =
            FindRequest { deployment: DEPLOYMENT.into(), address: made.address.clone(), inputs: made.inputs.clone() };
        let found = self.provider.find(request).await.unwrap_or_else(|e| panic!("finding {}: {e}", made.address));
        found.map(|o| {
            assert_eq!(o.inputs, made.inputs, "{} found with other inputs", made.address);
            o.provider_id
        })
    }

    async fn update(&self, made: &Made, after: Attributes) -> Made {
        let request = UpdateRequest {
            deployment: DEPLOYMENT.into(),
            address: made.address.clone(),
            provider_id: made.id(),
            before: made.inputs.clone(),
            after: after.clone(),
            outputs: made.applied.outputs.clone(),
        };
        let applied = self.provider.update(request).await.unwrap_or_else(|e| panic!("updating {}: {e}", made.address));
        Made { address: made.address.clone(), inputs: after, applied }
    }

    async fn delete(&self, made: &Made) {
        let request = DeleteRequest {
            deployment: DEPLOYMENT.into(),
            address: made.address.clone(),
            provider_id: made.id(),
            inputs: made.inputs.clone(),
            outputs: made.applied.outputs.clone(),
        };
        self.provider.delete(request.clone()).await.unwrap_or_else(|e| panic!("deleting {}: {e}", made.address));
        // Deleting again is fine.
        self.provider.delete(request).await.unwrap_or_else(|e| panic!("deleting {} again: {e}", made.address));
    }
}

async fn ec2(moto: &Moto, region: &str) -> aws_sdk_ec2::Client {
    let config = aws_sdk_ec2::Config::builder()
        .behavior_version(aws_sdk_ec2::config::BehaviorVersion::latest())
        .region(aws_sdk_ec2::config::Region::new(region.to_owned()))
        .endpoint_url(moto.endpoint())
        .credentials_provider(aws_sdk_ec2::config::Credentials::new("testing", "testing", None, None, "test"))
        .http_client(aws_smithy_http_client::Builder::new().build_http())
        .build();
    aws_sdk_ec2::Client::from_conf(config)
}

async fn eks_client(moto: &Moto) -> aws_sdk_eks::Client {
    aws_sdk_eks::Client::new(&ringform_aws::sdk_config(&settings(moto), "eu-west-1").await)
}

/// One cluster's network: VPC, IGW, route table, default route, subnets with associations, SG.
struct Network {
    vpc: Made,
    igw: Made,
    table: Made,
    internet: Made,
    subnets: Vec<Made>,
    associations: Vec<Made>,
    group: Made,
}

async fn network(h: &Harness, name: &str, region: &str, cidr: &str, pod_cidr: &str) -> Network {
    let vpc = h
        .create(
            &format!("aws_vpc.{name}"),
            attrs([
                ("region", region.into()),
                ("name", format!("{DEPLOYMENT}-{name}").into()),
                ("cidr_block", cidr.into()),
                ("secondary_cidr_blocks", strings(&[pod_cidr])),
                ("enable_dns_hostnames", true.into()),
            ]),
        )
        .await;
    let igw = h
        .create(
            &format!("aws_internet_gateway.{name}"),
            attrs([("region", region.into()), ("name", name.into()), ("vpc_id", vpc.output("id"))]),
        )
        .await;
    let table = h
        .create(
            &format!("aws_route_table.{name}"),
            attrs([("region", region.into()), ("name", name.into()), ("vpc_id", vpc.output("id"))]),
        )
        .await;
    let internet = h
        .create(
            &format!("aws_route.{name}/internet"),
            attrs([
                ("region", region.into()),
                ("route_table_id", table.output("id")),
                ("destination_cidr_block", "0.0.0.0/0".into()),
                ("gateway_id", igw.output("id")),
            ]),
        )
        .await;
    let base = cidr.split('.').take(2).collect::<Vec<_>>().join(".");
    let mut subnets = Vec::new();
    let mut associations = Vec::new();
    for (i, zone) in ["a", "b"].iter().enumerate() {
        let subnet = h
            .create(
                &format!("aws_subnet.{name}/{region}{zone}"),
                attrs([
                    ("region", region.into()),
                    ("name", format!("{name}-{zone}").into()),
                    ("vpc_id", vpc.output("id")),
                    ("cidr_block", format!("{base}.{i}.0/24").into()),
                    ("availability_zone", format!("{region}{zone}").into()),
                    ("map_public_ip_on_launch", true.into()),
                ]),
            )
            .await;
        associations.push(
            h.create(
                &format!("aws_route_table_association.{name}/{region}{zone}"),
                attrs([
                    ("region", region.into()),
                    ("subnet_id", subnet.output("id")),
                    ("route_table_id", table.output("id")),
                ]),
            )
            .await,
        );
        subnets.push(subnet);
    }
    let group = h
        .create(
            &format!("aws_security_group.{name}"),
            attrs([
                ("region", region.into()),
                ("vpc_id", vpc.output("id")),
                ("group_name", format!("{DEPLOYMENT}-{name}-cassandra").into()),
                ("description", "Cassandra traffic".into()),
            ]),
        )
        .await;
    Network { vpc, igw, table, internet, subnets, associations, group }
}

fn role(name: &str, service: &str, policies: &[impl AsRef<str>]) -> Attributes {
    let policies: Vec<&str> = policies.iter().map(AsRef::as_ref).collect();
    attrs([
        ("role_name", format!("{DEPLOYMENT}-{name}").into()),
        ("assume_role_service", service.into()),
        ("policy_arns", strings(&policies)),
    ])
}

/// Customer managed policies named `names`, by ARN.
async fn policies(moto: &Moto, names: &[&str]) -> Vec<String> {
    let config = aws_sdk_iam::Config::builder()
        .behavior_version(aws_sdk_iam::config::BehaviorVersion::latest())
        .region(aws_sdk_iam::config::Region::new("us-east-1"))
        .endpoint_url(moto.endpoint())
        .credentials_provider(aws_sdk_iam::config::Credentials::new("testing", "testing", None, None, "test"))
        .http_client(aws_smithy_http_client::Builder::new().build_http())
        .build();
    let iam = aws_sdk_iam::Client::from_conf(config);
    let document =
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"ec2:Describe*","Resource":"*"}]}"#;
    let mut arns = Vec::new();
    for name in names {
        let out = iam.create_policy().policy_name(*name).policy_document(document).send().await.unwrap();
        arns.push(out.policy().and_then(|p| p.arn()).unwrap().to_owned());
    }
    arns
}

#[tokio::test]
async fn eks_two_regions_with_peering_lifecycle() {
    let moto = Moto::start_for_test();
    let h = Harness { provider: AwsProvider::new(settings(&moto)) };
    let west = network(&h, "eu-west", "eu-west-1", "172.21.0.0/16", "10.200.0.0/16").await;
    let central = network(&h, "eu-central", "eu-central-1", "172.22.0.0/16", "10.250.0.0/16").await;

    // Ownership tags are set at creation.
    let vpcs = ec2(&moto, "eu-west-1").await.describe_vpcs().vpc_ids(west.vpc.id()).send().await.unwrap();
    let tags: Vec<(String, String)> = vpcs.vpcs()[0]
        .tags()
        .iter()
        .map(|t| (t.key().unwrap_or_default().to_owned(), t.value().unwrap_or_default().to_owned()))
        .collect();
    for expected in
        [("ringform:deployment", DEPLOYMENT), ("ringform:address", "aws_vpc.eu-west"), ("Name", "moto-test-eu-west")]
    {
        assert!(tags.contains(&(expected.0.to_owned(), expected.1.to_owned())), "{tags:?}");
    }

    // Peering requested in eu-west-1, accepted in eu-central-1, routes both ways.
    let peering = h
        .create(
            "aws_vpc_peering.eu-west~eu-central",
            attrs([
                ("region", "eu-west-1".into()),
                ("name", "west-central".into()),
                ("vpc_id", west.vpc.output("id")),
                ("peer_vpc_id", central.vpc.output("id")),
                ("peer_region", "eu-central-1".into()),
            ]),
        )
        .await;
    let accepter = h
        .create(
            "aws_vpc_peering_accepter.eu-west~eu-central",
            attrs([("region", "eu-central-1".into()), ("peering_id", peering.output("id"))]),
        )
        .await;
    assert_eq!(accepter.output("peering_id"), peering.output("id"));
    let via = accepter.output("peering_id");
    let to_central = h
        .create(
            "aws_route.eu-west~eu-central/network",
            attrs([
                ("region", "eu-west-1".into()),
                ("route_table_id", west.table.output("id")),
                ("destination_cidr_block", "172.22.0.0/16".into()),
                ("vpc_peering_connection_id", via.clone()),
            ]),
        )
        .await;
    let to_west = h
        .create(
            "aws_route.eu-central~eu-west/network",
            attrs([
                ("region", "eu-central-1".into()),
                ("route_table_id", central.table.output("id")),
                ("destination_cidr_block", "172.21.0.0/16".into()),
                ("vpc_peering_connection_id", via.clone()),
            ]),
        )
        .await;
    let rule = h
        .create(
            "aws_security_group_rule.eu-west~eu-central",
            attrs([
                ("region", "eu-west-1".into()),
                ("security_group_id", west.group.output("id")),
                ("description", "Cassandra from eu-central".into()),
                ("protocol", "tcp".into()),
                ("ports", Value::from(vec![7000i64, 7001, 7199, 9042, 8080])),
                ("cidr_blocks", strings(&["172.22.0.0/16", "10.250.0.0/16"])),
            ]),
        )
        .await;

    // IAM roles and EKS. The launcher starts moto without AWS's managed policies, so the roles
    // get stand-in customer policies.
    let policies = policies(&moto, &["eks-cluster", "eks-worker", "eks-cni"]).await;
    let cluster_role =
        h.create("aws_iam_role.eu-west/cluster", role("eu-west-eks", "eks.amazonaws.com", &policies[..1])).await;
    let node_policies = [policies[1].as_str(), policies[2].as_str()];
    let node_role =
        h.create("aws_iam_role.eu-west/nodes", role("eu-west-nodes", "ec2.amazonaws.com", &node_policies)).await;
    let subnet_ids = Value::List(west.subnets.iter().map(|s| s.output("id")).collect());
    let eks = h
        .create(
            "aws_eks_cluster.eu-west",
            attrs([
                ("region", "eu-west-1".into()),
                ("cluster_name", format!("{DEPLOYMENT}-eu-west").into()),
                ("kubernetes_version", "1.30".into()),
                ("role_arn", cluster_role.output("arn")),
                ("subnet_ids", subnet_ids.clone()),
                ("service_cidr", "10.100.0.0/16".into()),
            ]),
        )
        .await;
    for output in ["arn", "endpoint", "certificate_authority", "cluster_name"] {
        assert!(matches!(eks.output(output), Value::String(s) if !s.is_empty()), "{output}: {:?}", eks.applied.outputs);
    }
    // EKS makes the cluster a security group of its own (moto learns to from
    // crates/testkit/moto/moto_server.py); a template with groups of its own must list it.
    assert!(
        matches!(eks.output("cluster_security_group_id"), Value::String(s) if s.starts_with("sg-")),
        "{:?}",
        eks.applied.outputs
    );
    let template = h
        .create(
            "aws_launch_template.eu-west",
            attrs([
                ("region", "eu-west-1".into()),
                ("name", format!("{DEPLOYMENT}-eu-west-nodes").into()),
                ("security_group_ids", Value::List(vec![west.group.output("id")])),
                ("cluster_security_group_id", eks.output("cluster_security_group_id")),
            ]),
        )
        .await;
    assert_eq!(template.output("version"), Value::from("1"));
    let nodes = h
        .create(
            "aws_eks_node_group.eu-west",
            attrs([
                ("region", "eu-west-1".into()),
                ("cluster_name", eks.output("cluster_name")),
                ("node_group_name", "cassandra".into()),
                ("node_role_arn", node_role.output("arn")),
                ("subnet_ids", subnet_ids.clone()),
                ("pod_networking", Value::Null),
                ("launch_template_id", template.output("id")),
                ("launch_template_version", template.output("version")),
                ("instance_type", "m5.xlarge".into()),
                ("desired_size", Value::Int(3)),
                ("min_size", Value::Int(3)),
                ("max_size", Value::Int(3)),
            ]),
        )
        .await;

    // A refresh of unchanged objects shows no drift, kind by kind.
    h.assert_unchanged(&[&west.vpc]).await;
    h.assert_unchanged(&[&west.igw]).await;
    h.assert_unchanged(&[&west.table]).await;
    h.assert_unchanged(&[&west.internet, &to_central]).await;
    h.assert_unchanged(&[&to_west]).await;
    h.assert_unchanged(&west.subnets.iter().collect::<Vec<_>>()).await;
    h.assert_unchanged(&west.associations.iter().collect::<Vec<_>>()).await;
    h.assert_unchanged(&[&west.group]).await;
    h.assert_unchanged(&[&rule]).await;
    h.assert_unchanged(&[&peering]).await;
    h.assert_unchanged(&[&accepter]).await;
    h.assert_unchanged(&[&cluster_role, &node_role]).await;
    h.assert_unchanged(&[&eks]).await;
    h.assert_unchanged(&[&template]).await;
    h.assert_unchanged(&[&nodes]).await;
    let described = eks_client(&moto).await.describe_nodegroup().cluster_name(format!("{DEPLOYMENT}-eu-west"));
    let described = described.nodegroup_name("cassandra").send().await.unwrap();
    let launch = described.nodegroup().and_then(|g| g.launch_template()).expect("the node group names its template");
    assert_eq!(launch.id(), template.output("id").as_str());

    // Find adopts by tags (or natural key) and finds nothing for an address never created.
    for made in [
        &west.vpc,
        &west.igw,
        &west.subnets[0],
        &west.associations[0],
        &west.internet,
        &west.group,
        &rule,
        &peering,
        &accepter,
        &cluster_role,
        &eks,
        &template,
        &nodes,
    ] {
        assert_eq!(h.find(made).await, Some(made.id()), "{}", made.address);
    }
    let mut never = west.vpc.clone();
    never.address = "aws_vpc.never".parse().unwrap();
    assert_eq!(h.find(&never).await, None);

    // Drift made out of band shows up in a refresh.
    let client = ec2(&moto, "eu-west-1").await;
    client
        .replace_route()
        .route_table_id(west.table.id())
        .destination_cidr_block("172.22.0.0/16")
        .gateway_id(west.igw.id())
        .send()
        .await
        .unwrap();
    let read = h.read(&[&to_central]).await;
    assert_eq!(read[0].1["vpc_peering_connection_id"], Value::Null, "{read:?}");
    let first_rule = rule.id().split(',').next().unwrap().to_owned();
    client
        .revoke_security_group_ingress()
        .group_id(west.group.id())
        .security_group_rule_ids(first_rule)
        .send()
        .await
        .unwrap();
    let read = h.read(&[&rule]).await;
    assert_ne!(read[0].1, rule.inputs, "a revoked port × CIDR pair is drift");

    // Updates in place: scaling, route target back, Name tag, policies.
    let mut scaled = nodes.inputs.clone();
    for key in ["desired_size", "max_size"] {
        scaled.insert(key.into(), Value::Int(5));
    }
    let nodes = h.update(&nodes, scaled).await;
    h.assert_unchanged(&[&nodes]).await;
    // Another group for the nodes: a new template version, made the default.
    let mut regrouped = template.inputs.clone();
    regrouped.insert("cluster_security_group_id".into(), central.group.output("id"));
    let template = h.update(&template, regrouped).await;
    assert_eq!(template.output("version"), Value::from("2"));
    h.assert_unchanged(&[&template]).await;
    assert_eq!(h.find(&template).await, Some(template.id()));
    let to_central = h
        .update(
            &Made {
                inputs: {
                    let mut i = to_central.inputs.clone();
                    i.insert("vpc_peering_connection_id".into(), Value::Null);
                    i.insert("gateway_id".into(), west.igw.output("id"));
                    i
                },
                ..to_central.clone()
            },
            to_central.inputs.clone(),
        )
        .await;
    h.assert_unchanged(&[&to_central]).await;
    let mut renamed = west.vpc.inputs.clone();
    renamed.insert("name".into(), "renamed".into());
    let vpc = h.update(&west.vpc, renamed).await;
    h.assert_unchanged(&[&vpc]).await;
    let mut fewer = node_role.inputs.clone();
    fewer.insert("policy_arns".into(), strings(&node_policies[..1]));
    let node_role = h.update(&node_role, fewer).await;
    h.assert_unchanged(&[&node_role]).await;
    let mut redescribed = west.group.inputs.clone();
    redescribed.insert("description".into(), "other".into());
    let request = UpdateRequest {
        deployment: DEPLOYMENT.into(),
        address: west.group.address.clone(),
        provider_id: west.group.id(),
        before: west.group.inputs.clone(),
        after: redescribed,
        outputs: west.group.applied.outputs.clone(),
    };
    let error = h.provider.update(request).await.unwrap_err();
    assert!(error.message.contains("`description`"), "{}", error.message);

    // Delete in reverse dependency order; everything is gone afterwards.
    h.delete(&nodes).await;
    h.delete(&template).await;
    h.delete(&eks).await;
    h.delete(&node_role).await;
    h.delete(&cluster_role).await;
    h.delete(&rule).await;
    h.delete(&to_central).await;
    h.delete(&to_west).await;
    h.delete(&accepter).await;
    h.delete(&peering).await;
    for net in [&west, &central] {
        h.delete(&net.internet).await;
        for a in &net.associations {
            h.delete(a).await;
        }
        h.delete(&net.group).await;
        for s in &net.subnets {
            h.delete(s).await;
        }
        h.delete(&net.table).await;
        h.delete(&net.igw).await;
        h.delete(&net.vpc).await;
    }
    assert!(h.read(&[&vpc]).await.is_empty());
    assert!(h.read(&[&eks]).await.is_empty());
    assert!(h.read(&[&node_role]).await.is_empty());
    assert!(h.read(&[&peering]).await.is_empty());
    assert_eq!(h.find(&west.subnets[0]).await, None);
}

#[tokio::test]
async fn refresh_is_one_describe_per_kind_and_region() {
    let moto = Moto::start_for_test();
    let h = Harness { provider: AwsProvider::new(settings(&moto)) };
    let west = network(&h, "eu-west", "eu-west-1", "172.21.0.0/16", "10.200.0.0/16").await;
    moto.start_recording();
    h.assert_unchanged(&west.subnets.iter().collect::<Vec<_>>()).await;
    h.assert_unchanged(&west.associations.iter().collect::<Vec<_>>()).await;
    h.assert_unchanged(&[&west.internet]).await;
    moto.stop_recording();
    let actions: Vec<String> = moto.recorded_calls().into_iter().map(|c| c.action).collect();
    assert_eq!(actions, ["DescribeSubnets", "DescribeRouteTables", "DescribeRouteTables"]);
}

#[tokio::test]
async fn transit_gateway_and_vpn_kinds() {
    let moto = Moto::start_for_test();
    let h = Harness { provider: AwsProvider::new(settings(&moto)) };
    let west = network(&h, "eu-west", "eu-west-1", "172.21.0.0/16", "10.200.0.0/16").await;
    let central = network(&h, "eu-central", "eu-central-1", "172.22.0.0/16", "10.250.0.0/16").await;
    let gateway = |region: &str, asn: i64| {
        attrs([
            ("region", region.into()),
            ("name", format!("tgw-{region}").into()),
            ("amazon_side_asn", Value::Int(asn)),
        ])
    };
    let tgw_west = h.create("aws_transit_gateway.eu-west-1", gateway("eu-west-1", 64512)).await;
    let tgw_central = h.create("aws_transit_gateway.eu-central-1", gateway("eu-central-1", 64513)).await;
    let attachment = h
        .create(
            "aws_transit_gateway_attachment.eu-west",
            attrs([
                ("region", "eu-west-1".into()),
                ("transit_gateway_id", tgw_west.output("id")),
                ("vpc_id", west.vpc.output("id")),
                ("subnet_ids", Value::List(west.subnets.iter().map(|s| s.output("id")).collect())),
            ]),
        )
        .await;
    assert_eq!(attachment.output("transit_gateway_id"), tgw_west.output("id"));
    let peering = h
        .create(
            "aws_transit_gateway_peering.eu-west-1~eu-central-1",
            attrs([
                ("region", "eu-west-1".into()),
                ("transit_gateway_id", tgw_west.output("id")),
                ("peer_transit_gateway_id", tgw_central.output("id")),
                ("peer_region", "eu-central-1".into()),
            ]),
        )
        .await;
    let accepter = h
        .create(
            "aws_transit_gateway_peering_accepter.eu-west-1~eu-central-1",
            attrs([("region", "eu-central-1".into()), ("attachment_id", peering.output("id"))]),
        )
        .await;
    let route = h
        .create(
            "aws_transit_gateway_route.eu-central-1/eu-west/network",
            attrs([
                ("region", "eu-central-1".into()),
                ("transit_gateway_id", tgw_central.output("id")),
                ("destination_cidr_block", "172.21.0.0/16".into()),
                ("attachment_id", accepter.output("attachment_id")),
            ]),
        )
        .await;
    h.assert_unchanged(&[&tgw_west]).await;
    h.assert_unchanged(&[&attachment]).await;
    h.assert_unchanged(&[&peering]).await;
    h.assert_unchanged(&[&accepter]).await;
    h.assert_unchanged(&[&route]).await;
    assert_eq!(h.find(&tgw_west).await, Some(tgw_west.id()));
    assert_eq!(h.find(&route).await, Some(route.id()));

    let vgw = h
        .create(
            "aws_vpn_gateway.eu-central",
            attrs([("region", "eu-central-1".into()), ("name", "vgw".into()), ("vpc_id", central.vpc.output("id"))]),
        )
        .await;
    let cgw = h
        .create(
            "aws_customer_gateway.eu-central~azure",
            attrs([
                ("region", "eu-central-1".into()),
                ("name", "azure".into()),
                ("ip_address", "198.51.100.7".into()),
                ("bgp_asn", Value::Int(65000)),
            ]),
        )
        .await;
    let vpn = h
        .create(
            "aws_vpn_connection.eu-central~azure",
            attrs([
                ("region", "eu-central-1".into()),
                ("name", "to-azure".into()),
                ("vpn_gateway_id", vgw.output("id")),
                ("customer_gateway_id", cgw.output("id")),
                ("static_routes_only", true.into()),
                // Static routes: moto learns CreateVpnConnectionRoute from moto_server.py.
                ("destination_cidr_blocks", strings(&["10.20.0.0/16", "100.65.0.0/16"])),
                ("preshared_key", Value::secret("Shared.Key_123456".into())),
            ]),
        )
        .await;
    assert!(matches!(vpn.output("tunnel1_address"), Value::String(_)), "{:?}", vpn.applied.outputs);
    assert_eq!(vpn.output("vpn_gateway_id"), vgw.output("id"));
    let routes = &h.read(&[&vpn]).await[0].1["destination_cidr_blocks"];
    assert_eq!(routes, &strings(&["10.20.0.0/16", "100.65.0.0/16"]), "both routes are on the connection");
    h.assert_unchanged(&[&vgw]).await;
    h.assert_unchanged(&[&cgw]).await;
    h.assert_unchanged(&[&vpn]).await;

    for made in [&vpn, &cgw, &vgw, &route, &accepter, &peering, &attachment, &tgw_central, &tgw_west] {
        h.delete(made).await;
    }
    assert!(h.read(&[&vpn]).await.is_empty());
    assert!(h.read(&[&tgw_west]).await.is_empty());
}
