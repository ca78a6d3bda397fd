//! End-to-end: the `ringform` binary, with its real AWS provider, against moto (the AWS
//! emulator, started per test). Applies the EKS two-region example's AWS layer and checks it
//! through the AWS SDK, re-plans, scales, detects out-of-band changes, destroys, and survives
//! SIGKILL at random instants. Fails, naming the command that installs it, when moto is missing.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::Instant;

use aws_sdk_ec2::types::{Filter, IpPermission, IpRange};
use ringform_state::StateStore;
use ringform_testkit::moto::Moto;

use crate::common::{self, KillClock, text};

const EXAMPLE: &str = "examples/eks-two-regions.toml";
const DEPLOYMENT: &str = "eks-two-regions";
const REGIONS: [&str; 2] = ["eu-west-1", "eu-central-1"];
/// The example's AWS layer: every AWS kind, the EBS CSI add-on included (moto learns the
/// add-on API from crates/testkit/moto/moto_server.py). The Kubernetes layer is ring.rs's.
const AWS_ONLY: [&str; 2] = ["--target", "aws_*"];

struct Run {
    dir: tempfile::TempDir,
    moto: Moto,
    rt: tokio::runtime::Runtime,
}

impl Run {
    fn start() -> Run {
        let moto = Moto::start_for_test();
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        Run { dir: tempfile::tempdir().unwrap(), moto, rt }
    }

    fn state(&self) -> PathBuf {
        self.dir.path().join("state")
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut command = common::ringform(args, &self.state());
        common::on_moto(&mut command, &self.moto).env_remove("RINGFORM_TEST_INVENTORY");
        command
    }

    fn ringform(&self, args: &[&str]) -> Output {
        self.command(args).output().unwrap()
    }

    fn spawn(&self, args: &[&str]) -> Child {
        self.command(args).stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap()
    }

    fn ec2(&self, region: &str) -> aws_sdk_ec2::Client {
        aws_sdk_ec2::Client::new(
            &self.rt.block_on(ringform_aws::sdk_config(&common::moto_settings(&self.moto), region)),
        )
    }

    fn eks(&self, region: &str) -> aws_sdk_eks::Client {
        aws_sdk_eks::Client::new(
            &self.rt.block_on(ringform_aws::sdk_config(&common::moto_settings(&self.moto), region)),
        )
    }

    /// Provider ids of everything in state, by address.
    fn tracked(&self) -> BTreeMap<String, String> {
        let store = ringform_state::SledStore::open(self.state(), "test").unwrap();
        let snapshot = store.snapshot().unwrap();
        snapshot.iter().filter_map(|r| Some((r.address.to_string(), r.provider_id.clone()?))).collect()
    }

    /// (address tag, id) of the deployment's tagged VPCs, subnets, security groups, route
    /// tables, internet gateways, launch templates and live peerings in `region`.
    fn tagged_ec2(&self, region: &str) -> Vec<(String, String)> {
        let ec2 = self.ec2(region);
        let mine = Filter::builder().name("tag:ringform:deployment").values(DEPLOYMENT).build();
        let address = |tags: &[aws_sdk_ec2::types::Tag]| {
            tags.iter().find(|t| t.key() == Some("ringform:address")).and_then(|t| t.value()).unwrap_or("?").to_owned()
        };
        let mut found = Vec::new();
        self.rt.block_on(async {
            let vpcs = ec2.describe_vpcs().filters(mine.clone()).send().await.unwrap();
            found.extend(vpcs.vpcs().iter().map(|v| (address(v.tags()), v.vpc_id().unwrap_or_default().to_owned())));
            let subnets = ec2.describe_subnets().filters(mine.clone()).send().await.unwrap();
            found.extend(subnets.subnets().iter().map(|s| (address(s.tags()), s.subnet_id().unwrap().to_owned())));
            let groups = ec2.describe_security_groups().filters(mine.clone()).send().await.unwrap();
            found
                .extend(groups.security_groups().iter().map(|g| (address(g.tags()), g.group_id().unwrap().to_owned())));
            let tables = ec2.describe_route_tables().filters(mine.clone()).send().await.unwrap();
            found.extend(
                tables.route_tables().iter().map(|t| (address(t.tags()), t.route_table_id().unwrap().to_owned())),
            );
            let gateways = ec2.describe_internet_gateways().filters(mine.clone()).send().await.unwrap();
            found.extend(
                gateways
                    .internet_gateways()
                    .iter()
                    .map(|g| (address(g.tags()), g.internet_gateway_id().unwrap().to_owned())),
            );
            let templates = ec2.describe_launch_templates().filters(mine.clone()).send().await.unwrap();
            found.extend(
                templates
                    .launch_templates()
                    .iter()
                    .map(|t| (address(t.tags()), t.launch_template_id().unwrap().to_owned())),
            );
            let peerings = ec2.describe_vpc_peering_connections().filters(mine.clone()).send().await.unwrap();
            found.extend(
                peerings
                    .vpc_peering_connections()
                    .iter()
                    .filter(|p| p.status().and_then(|s| s.code()).is_some_and(|c| c.as_str() != "deleted"))
                    .map(|p| (address(p.tags()), p.vpc_peering_connection_id().unwrap().to_owned())),
            );
        });
        found
    }

    fn eks_clusters(&self, region: &str) -> Vec<String> {
        self.rt.block_on(self.eks(region).list_clusters().send()).unwrap().clusters().to_vec()
    }

    /// No tagged object or cluster is duplicated, and every one is tracked in state.
    fn assert_nothing_duplicated_or_untracked(&self, context: &str) {
        let tracked = self.tracked();
        let ids: BTreeSet<&String> = tracked.values().collect();
        for region in REGIONS {
            let objects = self.tagged_ec2(region);
            let mut seen = BTreeSet::new();
            for (address, id) in &objects {
                assert!(seen.insert(address), "{context}: {address} exists twice in {region}: {objects:?}");
                assert!(ids.contains(id), "{context}: {address} ({id}) in {region} is not tracked");
            }
            let tables = self.rt.block_on(
                self.ec2(region)
                    .describe_route_tables()
                    .filters(Filter::builder().name("tag:ringform:deployment").values(DEPLOYMENT).build())
                    .send(),
            );
            for table in tables.unwrap().route_tables() {
                for association in table.associations().iter().filter(|a| a.main() != Some(true)) {
                    let id = association.route_table_association_id().unwrap_or_default().to_owned();
                    assert!(
                        ids.contains(&id),
                        "{context}: route-table association {id} in {region} is not tracked: {:?}",
                        tracked
                            .iter()
                            .filter(|(a, _)| a.starts_with("aws_route_table_association"))
                            .collect::<Vec<_>>()
                    );
                }
            }
            for cluster in self.eks_clusters(region) {
                let tracked_cluster =
                    tracked.iter().any(|(a, id)| a.starts_with("aws_eks_cluster.") && **id == cluster);
                let tracked_name = tracked.values().any(|id| id.contains(&cluster));
                assert!(tracked_cluster || tracked_name, "{context}: EKS cluster {cluster} is not tracked");
                let addons = self.rt.block_on(self.eks(region).list_addons().cluster_name(&cluster).send()).unwrap();
                for addon in addons.addons() {
                    let tracked_addon = tracked
                        .iter()
                        .any(|(a, id)| a.starts_with("aws_eks_addon.") && id.contains(&cluster) && id.contains(addon));
                    assert!(tracked_addon, "{context}: add-on {addon} of EKS cluster {cluster} is not tracked");
                }
            }
        }
    }
}

fn ok(output: &Output) -> String {
    assert_eq!(output.status.code(), Some(0), "{}\n{}", text(&output.stdout), text(&output.stderr));
    text(&output.stdout)
}

fn args<'a>(verb: &'a [&'a str], file: &'a str) -> Vec<&'a str> {
    [verb, &AWS_ONLY[..], &[file]].concat()
}

/// The example with eu-west's node count changed.
fn scaled_example(dir: &Path) -> String {
    let source = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(EXAMPLE)).unwrap();
    let scaled = source.replacen("node_pool = { count = 3,", "node_pool = { count = 4,", 1);
    assert_ne!(scaled, source);
    let path = dir.join("eks-two-regions.toml");
    std::fs::write(&path, scaled.replace("#:schema ../schema/topology.schema.json\n", "")).unwrap();
    path.to_str().unwrap().to_owned()
}

#[test]
fn eks_two_regions_applies_replans_scales_drifts_and_destroys_against_moto() {
    let run = Run::start();
    let stdout = ok(&run.ringform(&args(&["apply", "--auto-approve"], EXAMPLE)));
    assert!(stdout.contains("Apply complete after"), "{stdout}");

    // What AWS holds, through the SDK.
    let tracked = run.tracked();
    for (region, cluster, peer_cidr) in
        [("eu-west-1", "eu-west", "172.22.0.0/16"), ("eu-central-1", "eu-central", "172.21.0.0/16")]
    {
        let objects = run.tagged_ec2(region);
        let count = |prefix: &str| objects.iter().filter(|(a, _)| a.starts_with(prefix)).count();
        assert_eq!(count("aws_vpc."), 1, "{region}: {objects:?}");
        assert_eq!(count("aws_subnet."), 3, "{region}: one subnet per zone");
        assert_eq!(count("aws_security_group."), 1);
        assert_eq!(count("aws_launch_template."), 1);
        assert_eq!(count("aws_internet_gateway."), 1);
        let ec2 = run.ec2(region);
        let peering_id = &tracked["aws_vpc_peering.eu-west~eu-central"];
        let tables = run.rt.block_on(
            ec2.describe_route_tables().route_table_ids(&tracked[&format!("aws_route_table.{cluster}")]).send(),
        );
        let routes = tables.unwrap().route_tables()[0].routes().to_vec();
        assert!(
            routes.iter().any(|r| r.destination_cidr_block() == Some(peer_cidr)
                && r.vpc_peering_connection_id() == Some(peering_id.as_str())),
            "{region}: a route to {peer_cidr} over the peering: {routes:?}"
        );
        let group = run.rt.block_on(
            ec2.describe_security_groups().group_ids(&tracked[&format!("aws_security_group.{cluster}")]).send(),
        );
        let ingress = group.unwrap().security_groups()[0].ip_permissions().to_vec();
        for port in [7000, 7001, 7199, 9042, 8080] {
            assert!(
                ingress.iter().any(
                    |p| p.from_port() == Some(port) && p.ip_ranges().iter().any(|r| r.cidr_ip() == Some(peer_cidr))
                ),
                "{region}: port {port} open to {peer_cidr}: {ingress:?}"
            );
        }
        let eks = run.eks(region);
        let name = format!("{DEPLOYMENT}-{cluster}");
        let described = run.rt.block_on(eks.describe_cluster().name(&name).send()).unwrap();
        let eks_cluster = described.cluster().unwrap();
        assert_eq!(eks_cluster.tags().and_then(|t| t.get("ringform:deployment")).map(String::as_str), Some(DEPLOYMENT));
        let group =
            run.rt.block_on(eks.describe_nodegroup().cluster_name(&name).nodegroup_name("cassandra-m5-xlarge").send());
        let group = group.unwrap().nodegroup().cloned().unwrap();
        assert_eq!(group.scaling_config().and_then(|s| s.desired_size()), Some(3));
        // The nodes wear the Cassandra group through the node group's launch template.
        let template = group.launch_template().expect("the node group has a launch template");
        assert_eq!(template.id(), Some(tracked[&format!("aws_launch_template.{cluster}")].as_str()));
        let versions = ec2.describe_launch_template_versions().launch_template_id(template.id().unwrap());
        let versions = run.rt.block_on(versions.versions(template.version().unwrap()).send()).unwrap();
        let data = versions.launch_template_versions()[0].launch_template_data().unwrap();
        // With the cluster security group EKS made, which a template with groups of its own must list.
        let cluster_group = eks_cluster.resources_vpc_config().and_then(|c| c.cluster_security_group_id());
        let cluster_group = cluster_group.expect("EKS reports the cluster security group").to_owned();
        assert_eq!(
            data.security_group_ids(),
            [tracked[&format!("aws_security_group.{cluster}")].clone(), cluster_group]
        );
        assert_eq!(
            group.tags().and_then(|t| t.get("ringform:address")).map(String::as_str),
            Some(&*format!("aws_eks_node_group.{cluster}/m5.xlarge"))
        );
        // Cassandra's volumes get their provisioner: the EBS CSI add-on, active and ringform's.
        let addon = eks.describe_addon().cluster_name(&name).addon_name("aws-ebs-csi-driver");
        let addon = run.rt.block_on(addon.send()).unwrap().addon().cloned().unwrap();
        assert_eq!(addon.status().map(|s| s.as_str()), Some("ACTIVE"));
        assert_eq!(
            addon.tags().and_then(|t| t.get("ringform:address")).map(String::as_str),
            Some(&*format!("aws_eks_addon.{cluster}/aws-ebs-csi-driver"))
        );
    }
    // The peering was requested from eu-west-1 and accepted in eu-central-1: active on both sides.
    for region in REGIONS {
        let peering = run.rt.block_on(
            run.ec2(region)
                .describe_vpc_peering_connections()
                .vpc_peering_connection_ids(&tracked["aws_vpc_peering.eu-west~eu-central"])
                .send(),
        );
        let peering = peering.unwrap().vpc_peering_connections()[0].clone();
        assert_eq!(peering.status().and_then(|s| s.code()).map(|c| c.as_str().to_owned()).as_deref(), Some("active"));
        assert_eq!(peering.accepter_vpc_info().and_then(|v| v.region()), Some("eu-central-1"));
        assert_eq!(peering.requester_vpc_info().and_then(|v| v.region()), Some("eu-west-1"));
    }
    run.assert_nothing_duplicated_or_untracked("after apply");

    // Nothing left to do; a node-count change is one in-place update.
    let output = run.ringform(&args(&["plan", "--detailed-exitcode"], EXAMPLE));
    assert_eq!(output.status.code(), Some(0), "the next plan is empty:\n{}", text(&output.stdout));
    let scaled = scaled_example(run.dir.path());
    let output = run.ringform(&args(&["plan", "--detailed-exitcode"], &scaled));
    assert_eq!(output.status.code(), Some(2));
    let plan = text(&output.stdout);
    assert!(plan.contains("~ aws_eks_node_group.eu-west/m5.xlarge"), "{plan}");
    assert!(plan.contains("Plan: 0 to add, 1 to change, 0 to destroy."), "{plan}");

    // Out of band, through the SDK: a route deleted and a security-group rule revoked.
    assert_eq!(run.ringform(&args(&["drift"], EXAMPLE)).status.code(), Some(0));
    let ec2 = run.ec2("eu-west-1");
    run.rt
        .block_on(
            ec2.delete_route()
                .route_table_id(&tracked["aws_route_table.eu-west"])
                .destination_cidr_block("172.22.0.0/16")
                .send(),
        )
        .unwrap();
    let cql = IpPermission::builder()
        .ip_protocol("tcp")
        .from_port(9042)
        .to_port(9042)
        .ip_ranges(IpRange::builder().cidr_ip("172.22.0.0/16").build())
        .build();
    run.rt
        .block_on(
            ec2.revoke_security_group_ingress()
                .group_id(&tracked["aws_security_group.eu-west"])
                .ip_permissions(cql)
                .send(),
        )
        .unwrap();
    let output = run.ringform(&args(&["drift"], EXAMPLE));
    assert_eq!(output.status.code(), Some(2), "{}", text(&output.stdout));
    let report = text(&output.stdout);
    assert!(report.contains("aws_route.eu-west~eu-central/network: deleted"), "{report}");
    assert!(report.contains("aws_security_group_rule.eu-west~eu-central: ports = "), "{report}");

    // Re-applying repairs both; destroy leaves no tagged object.
    ok(&run.ringform(&args(&["apply", "--auto-approve"], EXAMPLE)));
    assert_eq!(run.ringform(&args(&["drift"], EXAMPLE)).status.code(), Some(0));
    ok(&run.ringform(&["destroy", "--auto-approve", EXAMPLE]));
    for region in REGIONS {
        assert_eq!(run.tagged_ec2(region), Vec::<(String, String)>::new(), "{region}");
        assert_eq!(run.eks_clusters(region), Vec::<String>::new(), "{region}");
    }
    assert!(run.tracked().is_empty());
}

/// SIGKILL `ringform apply` at random instants until at least 10 runs died mid-way; after each,
/// a rerun converges with no VPC, subnet, peering or EKS cluster twice or untracked.
#[test]
fn killed_during_apply_at_random_instants_nothing_is_duplicated_or_left_untracked() {
    let run = Run::start();
    // One full apply (then destroy) measures how long there is to kill it in.
    let started = Instant::now();
    ok(&run.ringform(&args(&["apply", "--auto-approve"], EXAMPLE)));
    let full = started.elapsed();
    ok(&run.ringform(&["destroy", "--auto-approve", EXAMPLE]));
    let mut clock = KillClock::from_env();
    let mut kills = 0;
    for attempt in 0..80 {
        if kills == 10 {
            break;
        }
        let mut child = run.spawn(&args(&["apply", "--auto-approve"], EXAMPLE));
        // Later runs are quicker than the first (warm caches): aim inside the first half.
        std::thread::sleep(clock.instant_within(full / 2));
        if child.try_wait().unwrap().is_none() {
            child.kill().unwrap();
            kills += 1;
        }
        child.wait().unwrap();
        // The rerun adopts what the killed run made (its lock ended with it): nothing twice,
        // nothing untracked.
        ok(&run.ringform(&args(&["apply", "--auto-approve"], EXAMPLE)));
        run.assert_nothing_duplicated_or_untracked(&format!("after run {attempt} ({})", clock.seed()));
        ok(&run.ringform(&["destroy", "--auto-approve", EXAMPLE]));
    }
    assert!(kills >= 10, "only {kills} runs were killed mid-way ({})", clock.seed());
    ok(&run.ringform(&args(&["apply", "--auto-approve"], EXAMPLE)));
    let output = run.ringform(&args(&["plan", "--detailed-exitcode"], EXAMPLE));
    assert_eq!(output.status.code(), Some(0), "converged:\n{}", text(&output.stdout));
    run.assert_nothing_duplicated_or_untracked("after the final apply");
    ok(&run.ringform(&["destroy", "--auto-approve", EXAMPLE]));
}

/// The transit-gateway example's AWS layer (every kind moto implements) applies on moto, plans
/// no change after, and destroy leaves no transit gateway, VPC or EKS cluster of it behind.
#[test]
fn transit_gateway_example_applies_replans_and_destroys_against_moto() {
    const TGW_EXAMPLE: &str = "examples/aws-transit-gateway.toml";
    let run = Run::start();
    let with_transit = |verb: &'static [&'static str]| -> Vec<&'static str> {
        let mut all = args(verb, TGW_EXAMPLE);
        all.splice(all.len() - 1..all.len() - 1, ["--target", "aws_transit_gateway*"]);
        all
    };
    ok(&run.ringform(&with_transit(&["apply", "--auto-approve"])));
    let tracked = run.tracked();
    assert_eq!(tracked.keys().filter(|a| a.starts_with("aws_transit_gateway_peering_accepter.")).count(), 3);
    assert_eq!(tracked.keys().filter(|a| a.starts_with("aws_transit_gateway_route.")).count(), 6);
    let plan = run.ringform(&with_transit(&["plan", "--detailed-exitcode"]));
    assert_eq!(plan.status.code(), Some(0), "converged:\n{}", text(&plan.stdout));
    ok(&run.ringform(&["destroy", "--auto-approve", TGW_EXAMPLE]));
    for region in ["us-east-1", "us-west-2", "eu-west-1"] {
        let gateways = run.rt.block_on(run.ec2(region).describe_transit_gateways().send()).unwrap();
        let live = gateways.transit_gateways().iter().filter(|g| g.state().is_some_and(|s| s.as_str() != "deleted"));
        assert_eq!(live.count(), 0, "{region}");
        assert_eq!(run.eks_clusters(region), Vec::<String>::new(), "{region}");
    }
    assert!(run.tracked().is_empty());
}
