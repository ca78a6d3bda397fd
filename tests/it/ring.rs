//! End-to-end, the whole job: the `ringform` binary applies an example with no `--target` —
//! the clouds' networks and clusters against their fakes, then the Kubernetes layer (operators,
//! remote access, the datacenters, DNS) against the fake Kubernetes API server, whose simulated
//! operators bring the ring up — then re-plans, checks drift and destroys.

use std::collections::BTreeSet;
use std::process::{Child, Output};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use aws_sdk_ec2::types::Filter;
use ringform_testkit::arm::FakeArm;
use ringform_testkit::kube::{FakeKube, FakeKubeOptions, Flavor, Happened, ObjectRef, Replication};
use ringform_testkit::moto::Moto;

use crate::common::{self, KillClock, text};

const SUBSCRIPTION: &str = "5f0e3c1a-0000-4000-8000-00000000c0de";

const AKS_VPN_MESH: [(&str, Flavor); 4] =
    [("eastus", Flavor::Aks), ("westus", Flavor::Aks), ("centralus", Flavor::Aks), ("canadacentral", Flavor::Aks)];

struct Run {
    dir: tempfile::TempDir,
    /// AWS, when any cluster is on it.
    moto: Option<Moto>,
    arm: FakeArm,
    kube: FakeKube,
}

impl Run {
    /// An example's clusters, empty, in the fake Kubernetes API (each of its cloud's flavour),
    /// with the fake ARM and, when a cluster is on AWS, moto.
    fn start(clusters: &[(&str, Flavor)]) -> Run {
        let moto = clusters.iter().any(|(_, f)| *f == Flavor::Eks).then(Moto::start_for_test);
        let arm = FakeArm::start_for_test();
        arm.set_poll_rounds(2);
        // Real durations a thousand times faster: a rack in 150 ms, a certificate in 5 ms.
        let kube = FakeKube::start(FakeKubeOptions { time_scale: 0.001, ..FakeKubeOptions::default() }).unwrap();
        for (cluster, flavor) in clusters {
            kube.add_cluster_of(cluster, *flavor).unwrap();
        }
        Run { dir: tempfile::tempdir().unwrap(), moto, arm, kube }
    }

    fn ringform(&self, args: &[&str]) -> Output {
        self.command(args).output().unwrap()
    }

    fn spawn(&self, args: &[&str]) -> Child {
        self.command(args).stdout(std::process::Stdio::null()).stderr(std::process::Stdio::null()).spawn().unwrap()
    }

    fn command(&self, args: &[&str]) -> std::process::Command {
        let mut command = common::ringform(args, &self.dir.path().join("state"));
        command
            .env("RINGFORM_ARM_ENDPOINT", self.arm.endpoint())
            .env("RINGFORM_ARM_TOKEN", self.arm.token())
            .env("RINGFORM_ARM_POLL_MS", "5")
            .env("AZURE_SUBSCRIPTION_ID", SUBSCRIPTION)
            .env("RINGFORM_KUBE_ENDPOINT", self.kube.endpoint())
            .env("RINGFORM_KUBE_TOKEN", self.kube.token())
            .env("RINGFORM_KUBE_DNS_SERVER", self.kube.dns_server())
            .env_remove("RINGFORM_TEST_INVENTORY");
        if let Some(moto) = &self.moto {
            common::on_moto(&mut command, moto);
        }
        command
    }

    /// Every object in the fake Kubernetes API that carries this deployment's labels belongs to
    /// an address state tracks, and each custom resource of the ring is there once.
    fn assert_nothing_duplicated_or_untracked(&self, example: &str, context: &str) {
        let tracked: BTreeSet<String> =
            text(&ok(&self.ringform(&["state", "list", example])).into_bytes()).lines().map(str::to_owned).collect();
        let objects = self.kube.all_objects();
        let mine = objects.iter().filter(|o| o.object["metadata"]["labels"]["ringform.io/deployment"].is_string());
        for object in mine {
            let address = object.object["metadata"]["annotations"]["ringform.io/address"].as_str().unwrap_or("?");
            assert!(tracked.contains(address), "{context}: {address} in cluster {} is not tracked", object.cluster);
        }
        let count = |kind: &str| objects.iter().filter(|o| o.object["kind"] == kind).count();
        assert_eq!(count("K8ssandraCluster"), 1, "{context}");
        assert_eq!(count("ClientConfig"), 3, "{context}");
        assert_eq!(count("CassandraDatacenter"), 3, "{context}");
    }

    /// `apply` with no `--target`, then `status`: exit 0, every datacenter reporting and seen
    /// by all the others, every node Up/Normal. Returns what status said.
    fn brings_the_ring_up(&self, example: &str, datacenters: &[&str]) -> String {
        ok(&self.ringform(&["apply", "--auto-approve", example]));
        let status = ok(&self.ringform(&["status", example]));
        for dc in datacenters {
            assert_eq!(
                status.matches(&format!("{dc} ")).count(),
                datacenters.len() + 1,
                "{dc} reports and is seen by every datacenter:\n{status}"
            );
        }
        assert!(status.contains("Every node is Up/Normal as seen from every datacenter."), "{status}");
        let plan = self.ringform(&["plan", "--detailed-exitcode", example]);
        assert_eq!(plan.status.code(), Some(0), "a second plan changes nothing:\n{}", text(&plan.stdout));
        status
    }

    /// A no-op apply only reads the clusters: discovery documents (once per API version and
    /// cluster), then labelled lists, never more than one per kind and cluster (kinds that stand
    /// for themselves by the same type share it), and no write.
    fn no_op_apply_only_reads(&self, example: &str) {
        self.kube.clear_requests();
        ok(&self.ringform(&["apply", "--auto-approve", example]));
        let requests = self.kube.requests();
        let writes: Vec<String> =
            requests.iter().filter(|r| r.method != "GET").map(|r| format!("{} {}", r.method, r.path)).collect();
        assert_eq!(writes, Vec::<String>::new(), "a no-op apply writes nothing");
        let lists: Vec<&str> =
            requests.iter().filter(|r| r.query.contains_key("labelSelector")).map(|r| r.path.as_str()).collect();
        let mut distinct = lists.clone();
        distinct.sort_unstable();
        distinct.dedup();
        let schemas = ringform_schema::all();
        let kube_resources = text(&ok(&self.ringform(&["state", "list", example])).into_bytes())
            .lines()
            .filter_map(|a| a.parse::<ringform_core::Address>().ok())
            .filter(|a| schemas.provider(a.kind()) == Some(ringform_core::Provider::Kubernetes))
            .count();
        assert!(lists.len() <= 2 * distinct.len() && lists.len() < kube_resources, "{lists:#?}");
        eprintln!(
            "{example}: a no-op apply made {} reads of the Kubernetes API for {kube_resources} resources \
             ({} labelled lists), no writes",
            requests.len(),
            lists.len()
        );
    }

    /// An object deleted behind ringform's back is drift naming its address; a re-apply
    /// restores it and drift is clean again.
    fn repairs_drift(&self, example: &str, cluster: &str, object: ObjectRef<'_>, address: &str) {
        self.repairs(
            example,
            address,
            || assert!(self.kube.delete(cluster, object), "{object:?} is in {cluster}"),
            || self.kube.get(cluster, object).is_some(),
        );
    }

    /// `change` made behind ringform's back is drift naming `address`; a re-apply undoes it
    /// (`undone` says so) and drift is clean again.
    fn repairs(&self, example: &str, address: &str, change: impl FnOnce(), undone: impl Fn() -> bool) {
        let drift = self.ringform(&["drift", example]);
        assert_eq!(drift.status.code(), Some(0), "{}\n{}", text(&drift.stdout), text(&drift.stderr));
        change();
        let drift = self.ringform(&["drift", example]);
        assert_eq!(drift.status.code(), Some(2), "{}", text(&drift.stdout));
        assert!(text(&drift.stdout).contains(address), "{}", text(&drift.stdout));
        assert!(!undone(), "the change is still there before the apply");
        ok(&self.ringform(&["apply", "--auto-approve", example]));
        assert!(undone(), "{address} is as ringform made it again");
        assert_eq!(self.ringform(&["drift", example]).status.code(), Some(0));
    }

    /// `destroy` leaves nothing: state is empty, no object in the fake Kubernetes API is
    /// ringform's, the fake ARM holds nothing, and on AWS (`regions`) no tagged VPC or EKS
    /// cluster is left.
    /// First it refuses, since the datacenters' data would go, and changes nothing.
    fn destroys_everything(&self, example: &str, deployment: &str, regions: &[&str]) {
        let before = ok(&self.ringform(&["state", "list", example]));
        let refused = self.ringform(&["destroy", "--auto-approve", example]);
        assert_eq!(refused.status.code(), Some(1), "{}", text(&refused.stdout));
        assert!(text(&refused.stderr).contains("this plan destroys Cassandra data"), "{}", text(&refused.stderr));
        assert_eq!(ok(&self.ringform(&["state", "list", example])), before, "a refused destroy changes nothing");
        ok(&self.ringform(&["destroy", "--auto-approve", "--allow-data-loss", example]));
        assert_eq!(ok(&self.ringform(&["state", "list", example])), "", "state is empty");
        assert_eq!(owned(&self.kube), Vec::<String>::new(), "destroy leaves nothing of ringform's");
        let left: Vec<String> = self.arm.resources().into_iter().map(|r| r.id).collect();
        assert_eq!(left, Vec::<String>::new(), "the fake ARM is empty");
        let Some(moto) = &self.moto else { return };
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        for region in regions {
            let config = rt.block_on(ringform_aws::sdk_config(&common::moto_settings(moto), region));
            let mine = Filter::builder().name("tag:ringform:deployment").values(deployment).build();
            let vpcs = rt.block_on(aws_sdk_ec2::Client::new(&config).describe_vpcs().filters(mine).send()).unwrap();
            assert_eq!(vpcs.vpcs().len(), 0, "{region}: {vpcs:?}");
            let clusters = rt.block_on(aws_sdk_eks::Client::new(&config).list_clusters().send()).unwrap();
            assert_eq!(clusters.clusters().len(), 0, "{region}: {clusters:?}");
        }
    }
}

fn ok(output: &Output) -> String {
    assert_eq!(output.status.code(), Some(0), "{}\n{}", text(&output.stdout), text(&output.stderr));
    text(&output.stdout)
}

/// The objects ringform labelled as its own, in every cluster of the fake.
fn owned(kube: &FakeKube) -> Vec<String> {
    let mut owned: Vec<String> = kube
        .all_objects()
        .into_iter()
        .filter(|o| o.object["metadata"]["labels"]["ringform.io/deployment"].is_string())
        .map(|o| format!("{}: {} {}", o.cluster, o.object["kind"], o.object["metadata"]["name"]))
        .collect();
    owned.sort();
    owned
}

#[test]
fn aks_vpn_mesh_brings_the_ring_up_end_to_end_and_tears_it_down() {
    let example = "examples/aks-vpn-mesh.toml";
    let run = Run::start(&AKS_VPN_MESH);

    run.brings_the_ring_up(example, &["dc-eastus", "dc-westus", "dc-centralus"]);
    let k8c = ("k8ssandra.io/v1alpha1", "K8ssandraCluster", Some("k8ssandra-operator"), "azure-ring");
    let k8c = run.kube.get("canadacentral", k8c).expect("the K8ssandraCluster is on the control plane");
    assert_eq!(k8c["status"]["conditions"][0]["type"], "CassandraInitialized", "{}", k8c["status"]);
    // The operator made every datacenter in its data plane, each Ready.
    for (cluster, dc) in [("eastus", "dc-eastus"), ("westus", "dc-westus"), ("centralus", "dc-centralus")] {
        let dc =
            run.kube.get(cluster, ("cassandra.datastax.com/v1beta1", "CassandraDatacenter", Some("cassandra"), dc));
        assert_eq!(dc.map(|dc| dc["status"]["cassandraOperatorProgress"].clone()), Some("Ready".into()), "{cluster}");
    }
    let json: serde_json::Value = serde_json::from_str(&ok(&run.ringform(&["status", "--json", example]))).unwrap();
    assert_eq!(json["all_up_normal"], true);
    assert_eq!(json["datacenters"].as_array().map(Vec::len), Some(3));

    // When two clusters cannot reach each other, status says so and names what ringform built
    // between them.
    run.kube.partition("eastus", "westus");
    let broken = run.ringform(&["status", example]);
    assert_eq!(broken.status.code(), Some(2), "{}", text(&broken.stdout));
    let broken = text(&broken.stdout);
    assert!(
        broken.contains("dc-eastus does not see all of dc-westus: between clusters eastus and westus ringform built "),
        "{broken}"
    );
    assert!(broken.contains("azure_vpn_connection.eastus~westus"), "{broken}");
    run.kube.heal("eastus", "westus");

    run.no_op_apply_only_reads(example);

    // A ClientConfig deleted behind ringform's back is drift, by address; a re-apply restores it
    // (and the control plane loads it again).
    let client_config = ("config.k8ssandra.io/v1beta1", "ClientConfig", Some("k8ssandra-operator"), "eastus");
    run.repairs_drift(
        example,
        "canadacentral",
        client_config,
        "k8ssandra_client_config.canadacentral/k8ssandra-operator/eastus",
    );

    run.destroys_everything(example, "aks-vpn-mesh", &[]);
}

/// Two AKS clusters joined by VNet peering, pods on ranges of their own: the control plane
/// reaches the other cluster's data plane through its ClientConfig.
#[test]
fn separate_address_plans_brings_the_ring_up_end_to_end_and_tears_it_down() {
    let example = "examples/separate-address-plans.toml";
    let run = Run::start(&[("east", Flavor::Aks), ("west", Flavor::Aks)]);

    run.brings_the_ring_up(example, &["dc1", "dc2"]);
    let client_config = ("config.k8ssandra.io/v1beta1", "ClientConfig", Some("k8ssandra-operator"), "west");
    run.repairs_drift(example, "east", client_config, "k8ssandra_client_config.east/k8ssandra-operator/west");
    run.destroys_everything(example, "address-plan", &[]);
}

/// One ring across clouds: EKS on moto and AKS on the fake ARM joined by a site-to-site VPN,
/// each datacenter in a namespace of its own and CoreDNS in each cluster forwarding the other's.
#[test]
fn aws_azure_coredns_brings_the_ring_up_across_clouds_end_to_end_and_tears_it_down() {
    let example = "examples/aws-azure-coredns.toml";
    let run = Run::start(&[("aws-1", Flavor::Eks), ("azure-1", Flavor::Aks)]);

    run.brings_the_ring_up(example, &["aws-1", "azure-1"]);

    // Each cluster's CoreDNS forwards the other's namespace to where the other's DNS answers:
    // AKS's internal load balancer IP; every address the EKS load balancer's host name resolves
    // to (through the fake's DNS server).
    let dns_service = ("v1", "Service", Some("kube-system"), "ringform-dns");
    let ingress =
        |cluster: &str| run.kube.get(cluster, dns_service).unwrap()["status"]["loadBalancer"]["ingress"][0].clone();
    let azure_ips = vec![ingress("azure-1")["ip"].as_str().expect("AKS answers with an IP").to_owned()];
    let aws_host = ingress("aws-1")["hostname"].as_str().expect("EKS answers with a host name").to_owned();
    let aws_ips: Vec<String> = run.kube.resolve(&aws_host).unwrap().iter().map(ToString::to_string).collect();
    assert_eq!(aws_ips.len(), 3, "an internal NLB has an address in each zone");
    // What CoreDNS runs with: every file of its configuration, one after the other.
    let coredns_config = |cluster: &str| {
        let data = run.kube.coredns_config(cluster).unwrap();
        data.as_object().into_iter().flatten().filter_map(|(_, v)| v.as_str()).collect::<Vec<_>>().join("\n")
    };
    let forwards = |cluster: &str, zone: &str, to: &[String]| {
        let config = coredns_config(cluster);
        let block = config.split_once(&format!("{zone}:53 {{")).map(|(_, b)| b.split('}').next().unwrap_or(""));
        block.is_some_and(|b| b.contains(&format!("forward . {}\n", to.join(" "))))
    };
    assert!(forwards("aws-1", "azure-1.svc.cluster.local", &azure_ips), "{}", coredns_config("aws-1"));
    assert!(forwards("azure-1", "aws-1.svc.cluster.local", &aws_ips), "{}", coredns_config("azure-1"));

    // Pods on EKS take addresses from the pod subnets: an ENIConfig per zone, custom networking on.
    let eni_configs: Vec<String> = run
        .kube
        .objects("aws-1")
        .into_iter()
        .filter(|o| o["kind"] == "ENIConfig" && o["spec"]["subnet"].is_string())
        .map(|o| o["metadata"]["name"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(eni_configs, ["eu-west-1a", "eu-west-1b", "eu-west-1c"]);

    run.no_op_apply_only_reads(example);

    let client_config = ("config.k8ssandra.io/v1beta1", "ClientConfig", Some("k8ssandra-operator"), "azure-1");
    run.repairs_drift(example, "aws-1", client_config, "k8ssandra_client_config.aws-1/k8ssandra-operator/azure-1");
    // ringform's stub block taken out of EKS's Corefile is drift too, and comes back.
    let coredns = ("v1", "ConfigMap", Some("kube-system"), "coredns");
    run.repairs(
        example,
        "coredns_stub_domains.aws-1/coredns",
        || {
            let edited = run.kube.edit("aws-1", coredns, |map| {
                map["data"]["Corefile"] = ringform_testkit::kube::EKS_COREFILE.into();
            });
            assert!(edited, "EKS's CoreDNS ConfigMap is there");
        },
        || forwards("aws-1", "azure-1.svc.cluster.local", &azure_ips),
    );
    run.destroys_everything(example, "aws-azure", &["eu-west-1"]);
}

/// Three EKS clusters on two continents joined by peered transit gateways, the k8ssandra
/// control plane in us-east-1 reaching the other two through ClientConfigs.
#[test]
fn aws_transit_gateway_brings_the_ring_up_on_moto_end_to_end_and_tears_it_down() {
    let example = "examples/aws-transit-gateway.toml";
    let run = Run::start(&[("us-east", Flavor::Eks), ("us-west", Flavor::Eks), ("eu-west", Flavor::Eks)]);

    run.brings_the_ring_up(example, &["dc-us-east", "dc-us-west", "dc-eu-west"]);
    let client_config = ("config.k8ssandra.io/v1beta1", "ClientConfig", Some("k8ssandra-operator"), "eu-west");
    run.repairs_drift(example, "us-east", client_config, "k8ssandra_client_config.us-east/k8ssandra-operator/eu-west");
    run.destroys_everything(example, "aws-transit-gateway", &["us-east-1", "us-west-2", "eu-west-1"]);
}

/// The `gp3` StorageClass ringform makes on EKS, where Cassandra's volumes need it.
const GP3: ObjectRef<'static> = ("storage.k8s.io/v1", "StorageClass", None, "gp3");

/// Two EKS clusters on moto, the ring in cass-operator mode: the datacenters come up one after
/// the other, the second seeded with the first one's seed pods.
#[test]
fn eks_two_regions_brings_the_ring_up_on_moto_end_to_end_and_tears_it_down() {
    let example = "examples/eks-two-regions.toml";
    let run = Run::start(&[("eu-west", Flavor::Eks), ("eu-central", Flavor::Eks)]);

    run.brings_the_ring_up(example, &["dc-eu-west", "dc-eu-central"]);
    let datacenter = |cluster: &str, dc: &str| {
        let object = ("cassandra.datastax.com/v1beta1", "CassandraDatacenter", Some("cassandra"), dc);
        run.kube.get(cluster, object).unwrap_or_else(|| panic!("{dc} is in {cluster}"))
    };
    let first = datacenter("eu-west", "dc-eu-west");
    let first_seeds = first["spec"]["additionalSeeds"].as_array();
    assert!(first_seeds.is_none_or(Vec::is_empty), "the first datacenter seeds itself: {first_seeds:?}");
    // Seed pods exist only once a datacenter is Ready: the second was made after the first was.
    let seed_pods: BTreeSet<String> = run
        .kube
        .objects("eu-west")
        .into_iter()
        .filter(|o| o["kind"] == "Pod" && o["metadata"]["labels"]["cassandra.datastax.com/seed-node"] == "true")
        .filter_map(|p| p["status"]["podIP"].as_str().map(str::to_owned))
        .collect();
    let seeds: BTreeSet<String> = datacenter("eu-central", "dc-eu-central")["spec"]["additionalSeeds"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|s| s.as_str().map(str::to_owned))
        .collect();
    assert!(!seed_pods.is_empty(), "dc-eu-west has seed pods");
    assert_eq!(seeds, seed_pods, "dc-eu-central is seeded with dc-eu-west's seed pods");

    run.repairs_drift(example, "eu-west", GP3, "k8s_storage_class.eu-west/gp3");
    run.destroys_everything(example, "eks-two-regions", &["eu-west-1", "eu-central-1"]);
}

/// The smallest topology: one EKS cluster that is its own k8ssandra control plane.
#[test]
fn minimal_brings_the_ring_up_on_moto_end_to_end_and_tears_it_down() {
    let example = "examples/minimal.toml";
    let run = Run::start(&[("main", Flavor::Eks)]);

    run.brings_the_ring_up(example, &["dc1"]);
    run.repairs_drift(example, "main", GP3, "k8s_storage_class.main/gp3");
    run.destroys_everything(example, "minimal", &["us-east-1"]);
}

/// SIGKILL `ringform apply` at random instants inside the Kubernetes layer until at least 10 runs
/// died mid-way; after each, a rerun converges with nothing in the fake Kubernetes API twice or
/// untracked.
#[test]
fn killed_inside_the_kubernetes_layer_a_rerun_converges_with_nothing_duplicated_or_untracked() {
    let example = "examples/aks-vpn-mesh.toml";
    let run = Run::start(&AKS_VPN_MESH);
    // The clouds first: what is left of a full apply's time is the Kubernetes layer's.
    let started = Instant::now();
    ok(&run.ringform(&["apply", "--auto-approve", "--target", "azure_*", example]));
    let clouds = started.elapsed();
    ok(&run.ringform(&["apply", "--auto-approve", example]));
    let layer = started.elapsed().saturating_sub(clouds * 2);
    let mut clock = KillClock::from_env();
    let mut kills = 0;
    for attempt in 0..60 {
        if kills == 10 {
            break;
        }
        // Take the ring down (the clusters stay), then kill its apply somewhere inside.
        ok(&run.ringform(&[
            "destroy",
            "--auto-approve",
            "--allow-data-loss",
            "--target",
            "k8s_namespace*",
            "--target",
            "cert_manager*",
            example,
        ]));
        let mut child = run.spawn(&["apply", "--auto-approve", example]);
        std::thread::sleep(clock.instant_within(layer));
        if child.try_wait().unwrap().is_none() {
            child.kill().unwrap();
            kills += 1;
        }
        child.wait().unwrap();
        ok(&run.ringform(&["apply", "--auto-approve", example]));
        run.assert_nothing_duplicated_or_untracked(example, &format!("after run {attempt} ({})", clock.seed()));
    }
    assert!(kills >= 10, "only {kills} runs were killed mid-way ({})", clock.seed());
    let plan = run.ringform(&["plan", "--detailed-exitcode", example]);
    assert_eq!(plan.status.code(), Some(0), "converged:\n{}", text(&plan.stdout));
    ok(&run.ringform(&["destroy", "--auto-approve", "--allow-data-loss", example]));
}

/// Two AKS clusters joined by VNet peering, a datacenter in each (`mode` deploys them), and a
/// keyspace of the application's; `third` adds a third cluster and datacenter, `west: false`
/// retires the second. Written here rather than as an example: it exists to change.
fn growing_topology(mode: &str, third: bool, west: bool) -> String {
    let cluster = |name: &str, region: &str, n: u8| {
        format!(
            "[[clusters]]\nname = \"{name}\"\nprovider = \"azure\"\nregion = \"{region}\"\n\
             network_cidr = \"10.{n}.0.0/16\"\npod_cidr = \"10.{}.0.0/16\"\nservice_cidr = \"172.{}.0.0/16\"\n\n",
            n + 100,
            n + 16
        )
    };
    let datacenter = |name: &str, cluster: &str| {
        format!("[[cassandra.datacenters]]\nname = \"{name}\"\ncluster = \"{cluster}\"\n\n")
    };
    let mut text = String::from("deployment = \"growing\"\n\n[mesh]\nazure = \"vnet-peering\"\n\n");
    let mut replication = vec!["dc1 = 3"];
    text += &cluster("east", "eastus2", 1);
    if west {
        text += &cluster("west", "westus3", 2);
        replication.push("dc2 = 3");
    }
    if third {
        text += &cluster("central", "centralus", 3);
        replication.push("dc3 = 3");
    }
    text += &format!("[cassandra]\ncluster_name = \"growing\"\nmode = \"{mode}\"\n");
    if mode == "k8ssandra-operator" {
        text += "control_plane = \"east\"\n";
    }
    text += "\n";
    text += &datacenter("dc1", "east");
    if west {
        text += &datacenter("dc2", "west");
    }
    if third {
        text += &datacenter("dc3", "central");
    }
    text + &format!("[[cassandra.keyspaces]]\nname = \"orders\"\nreplication = {{ {} }}\n", replication.join(", "))
}

/// Where the first event `matches` is in `events`, for asserting order.
fn first(events: &[ringform_testkit::kube::CassandraEvent], what: &str, matches: impl Fn(&Happened) -> bool) -> usize {
    events.iter().position(|e| matches(&e.what)).unwrap_or_else(|| panic!("no {what} in {events:#?}"))
}

fn nts(factors: &[(&str, u32)]) -> Replication {
    Replication::NetworkTopology(factors.iter().map(|(d, f)| (d.to_string(), *f)).collect())
}

/// A ring grows by a datacenter the way Cassandra needs — seeded from the live ring, Ready, the
/// keyspaces replicated to it, rebuilt from the first datacenter — and shrinks the other way
/// round: replication first, then the nodes decommissioned, then the datacenter deleted, and
/// only then the system keyspaces; a keyspace whose only replicas would go makes plan and apply
/// refuse. `on_the_way` runs once the third datacenter is planned, before it is applied.
fn grows_and_shrinks(mode: &str, plan_steps: &[&str], on_the_way: impl FnOnce(&Run, &str)) {
    let run = Run::start(&[("east", Flavor::Aks), ("west", Flavor::Aks), ("central", Flavor::Aks)]);
    let file = |name: &str, text: String| {
        let path = run.dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        path.to_str().unwrap().to_owned()
    };
    let two = file("two.toml", growing_topology(mode, false, true));
    let three = file("three.toml", growing_topology(mode, true, true));
    let shrunk = file("shrunk.toml", growing_topology(mode, true, false));

    ok(&run.ringform(&["apply", "--auto-approve", &two]));
    let keyspaces = run.kube.keyspaces("growing");
    assert_eq!(keyspaces["system_auth"].replication, nts(&[("dc1", 3), ("dc2", 3)]));
    assert_eq!(keyspaces["orders"].replication, nts(&[("dc1", 3), ("dc2", 3)]));
    // An application's keyspace, which ringform does not manage.
    run.kube.create_keyspace("growing", "events", &[("dc1", 3), ("dc2", 3)]).unwrap();

    // The plan lists what Cassandra needs, in the order it happens.
    let plan = ok(&run.ringform(&["plan", &three]));
    let at: Vec<usize> = plan_steps.iter().map(|s| plan.find(s).unwrap_or_else(|| panic!("{s}:\n{plan}"))).collect();
    assert!(at.windows(2).all(|w| w[0] < w[1]), "{plan}");
    on_the_way(&run, &three);

    ok(&run.ringform(&["apply", "--auto-approve", &three]));
    let events = run.kube.cassandra_events();
    let dc3 = |dc: &str| dc == "dc3";
    let joined =
        first(&events, "dc3 joining", |h| matches!(h, Happened::DatacenterJoined { datacenter } if dc3(datacenter)));
    let ready =
        first(&events, "dc3 Ready", |h| matches!(h, Happened::DatacenterReady { datacenter } if dc3(datacenter)));
    let replicated = first(&events, "orders replicated to dc3", |h| {
        matches!(h, Happened::ReplicationChanged { keyspace, replication }
            if keyspace == "orders" && *replication == nts(&[("dc1", 3), ("dc2", 3), ("dc3", 3)]))
    });
    let rebuilding = first(
        &events,
        "dc3 rebuilding",
        |h| matches!(h, Happened::RebuildStarted { datacenter, .. } if dc3(datacenter)),
    );
    let rebuilt = events
        .iter()
        .rposition(|e| {
            matches!(&e.what, Happened::RebuildCompleted { datacenter, source, .. }
                if dc3(datacenter) && source.as_deref() == Some("dc1"))
        })
        .expect("dc3 rebuilt from dc1");
    assert!(joined < ready && ready < replicated && replicated < rebuilding && rebuilding < rebuilt, "{events:#?}");
    let keyspaces = run.kube.keyspaces("growing");
    assert!(keyspaces["orders"].held_in.contains("dc3"), "{keyspaces:#?}");
    assert_eq!(keyspaces["system_auth"].replication, nts(&[("dc1", 3), ("dc2", 3), ("dc3", 3)]));
    let status = ok(&run.ringform(&["status", &three]));
    assert!(status.contains("orders") && status.contains("dc1: 3, dc2: 3, dc3: 3"), "{status}");
    let plan = run.ringform(&["plan", "--detailed-exitcode", &three]);
    assert_eq!(plan.status.code(), Some(0), "{}", text(&plan.stdout));
    // Replication changed in cqlsh is drift, and the next apply puts it back.
    let declared = nts(&[("dc1", 3), ("dc2", 3), ("dc3", 3)]);
    run.repairs(
        &three,
        "cassandra_keyspace.orders",
        || run.kube.alter_keyspace("growing", "orders", &[("dc1", 1), ("dc3", 3)]).unwrap(),
        || run.kube.keyspaces("growing")["orders"].replication == declared,
    );

    // A keyspace only dc2 holds: retiring dc2 is refused, by plan (reading reality) and apply.
    run.kube.create_keyspace("growing", "lonely", &[("dc2", 1)]).unwrap();
    let refused = run.ringform(&["plan", "--refresh", &shrunk]);
    assert_eq!(refused.status.code(), Some(1), "{}", text(&refused.stdout));
    let error = text(&refused.stderr);
    assert!(error.contains("keyspace `lonely` has replicas only in dc2"), "{error}");
    let before = run.kube.cassandra_events().len();
    let refused = run.ringform(&["apply", "--auto-approve", "--allow-data-loss", &shrunk]);
    assert_eq!(refused.status.code(), Some(1), "{}", text(&refused.stdout));
    assert_eq!(run.kube.cassandra_events().len(), before, "a refused apply changes nothing in Cassandra");

    // Once dc1 holds `lonely` too, dc2 retires.
    run.kube.alter_keyspace("growing", "lonely", &[("dc1", 1), ("dc2", 1)]).unwrap();
    let refused = run.ringform(&["apply", "--auto-approve", &shrunk]);
    assert_eq!(refused.status.code(), Some(1), "retiring a datacenter destroys its volumes: {}", text(&refused.stdout));
    ok(&run.ringform(&["apply", "--auto-approve", "--allow-data-loss", &shrunk]));
    let events = &run.kube.cassandra_events()[before..];
    let dc2 = |dc: &str| dc == "dc2";
    let released = |name: &str, to: Replication| {
        first(
            events,
            &format!("{name} without dc2"),
            |h| matches!(h, Happened::ReplicationChanged { keyspace, replication } if keyspace == name && *replication == to),
        )
    };
    let orders = released("orders", nts(&[("dc1", 3), ("dc3", 3)]));
    let application = released("events", nts(&[("dc1", 3)]));
    let leaving = first(
        events,
        "dc2 decommissioning",
        |h| matches!(h, Happened::DecommissionStarted { datacenter, .. } if dc2(datacenter)),
    );
    let left = first(
        events,
        "a dc2 node left",
        |h| matches!(h, Happened::NodeDecommissioned { datacenter, .. } if dc2(datacenter)),
    );
    let deleted =
        first(events, "dc2 deleted", |h| matches!(h, Happened::DatacenterDeleted { datacenter } if dc2(datacenter)));
    let system = released("system_auth", nts(&[("dc1", 3), ("dc3", 3)]));
    assert!(orders.max(application) < leaving && leaving < left && left < deleted && deleted < system, "{events:#?}");
    let keyspaces = run.kube.keyspaces("growing");
    assert!(keyspaces.values().all(|k| !k.held_in.contains("dc2")), "{keyspaces:#?}");
    // (Its data reached dc1 only through a repair, which the fake does not model.)
    assert_eq!(keyspaces["lonely"].replication, nts(&[("dc1", 1)]));
    assert_eq!(keyspaces["events"].held_in, BTreeSet::from(["dc1".to_owned()]));
    let tracked = ok(&run.ringform(&["state", "list", &shrunk]));
    assert!(!tracked.contains("west"), "{tracked}");
    let status = ok(&run.ringform(&["status", &shrunk]));
    assert!(status.contains("Every node is Up/Normal as seen from every datacenter."), "{status}");
    let plan = run.ringform(&["plan", "--detailed-exitcode", &shrunk]);
    assert_eq!(plan.status.code(), Some(0), "{}", text(&plan.stdout));
}

/// With cass-operator, ringform does each step: the keyspaces, then a CassandraTask rebuild. A
/// rebuild that fails stops the apply with the datacenter not rebuilt, until a rerun does it.
#[test]
fn a_seeded_ring_grows_and_shrinks_without_losing_data() {
    let steps = [
        "+ cassandra_datacenter.central/dc3",
        "~ cassandra_keyspace.orders",
        "~ cassandra_system_keyspace.system_auth",
        "+ cassandra_rebuild.central/dc3",
    ];
    grows_and_shrinks("cass-operator-seeds", &steps, |run, three| {
        // Each of dc3's three nodes fails its rebuild and its one retry: the task fails.
        run.kube.fail_rebuilds("dc3", 6);
        let failed = run.ringform(&["apply", "--auto-approve", three]);
        assert_eq!(failed.status.code(), Some(1), "{}", text(&failed.stdout));
        assert!(text(&failed.stderr).contains("dc3-rebuild"), "{}", text(&failed.stderr));
        let tracked = ok(&run.ringform(&["state", "list", three]));
        assert!(!tracked.contains("cassandra_rebuild.central/dc3"), "not rebuilt:\n{tracked}");
        let status = run.ringform(&["status", three]);
        assert_eq!(status.status.code(), Some(2), "{}", text(&status.stdout));
        assert!(text(&status.stdout).contains("dc3 has not been rebuilt from dc1"), "{}", text(&status.stdout));
    });
}

/// With k8ssandra-operator, the operator adds and removes datacenters itself; ringform tells it
/// the keyspaces' factors in the new datacenter, takes a retired one out of the keyspaces
/// first (the operator refuses otherwise), and waits for it.
#[test]
fn a_k8ssandra_ring_grows_and_shrinks_without_losing_data() {
    let steps = ["~ k8ssandra_cluster.growing", "~ cassandra_keyspace.orders"];
    grows_and_shrinks("k8ssandra-operator", &steps, |_, _| {});
}

/// Stands in for the kubelets of EKS node groups joining their clusters, until `stop`: every
/// node group moto holds for a cluster of `deployment` becomes a node pool of that cluster in
/// the fake Kubernetes API (its desired size spread over its subnets' zones), and leaves it
/// once the node group is gone.
fn kubelets(run: &Run, deployment: &str, clusters: &[(&str, &str)], stop: &AtomicBool) {
    let settings = common::moto_settings(run.moto.as_ref().expect("node groups come from moto"));
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let mut joined: BTreeSet<(String, String)> = BTreeSet::new();
    while !stop.load(Ordering::Relaxed) {
        for (cluster, region) in clusters {
            let config = rt.block_on(ringform_aws::sdk_config(&settings, region));
            let (eks, ec2) = (aws_sdk_eks::Client::new(&config), aws_sdk_ec2::Client::new(&config));
            let name = format!("{deployment}-{cluster}");
            let listed = rt.block_on(eks.list_nodegroups().cluster_name(&name).send());
            let groups = listed.map(|l| l.nodegroups().to_vec()).unwrap_or_default();
            let new: Vec<&String> =
                groups.iter().filter(|g| !joined.contains(&(cluster.to_string(), g.to_string()))).collect();
            for group in new {
                let described = rt.block_on(eks.describe_nodegroup().cluster_name(&name).nodegroup_name(group).send());
                let Some(described) = described.ok().and_then(|d| d.nodegroup) else { continue };
                let subnets = described.subnets().to_vec();
                let subnets = rt.block_on(ec2.describe_subnets().set_subnet_ids(Some(subnets)).send());
                let mut zones: Vec<String> = subnets
                    .map(|s| s.subnets().iter().filter_map(|s| s.availability_zone().map(str::to_owned)).collect())
                    .unwrap_or_default();
                zones.sort();
                let size = described.scaling_config().and_then(|s| s.desired_size()).unwrap_or(0) as usize;
                let per_zone: Vec<(&str, usize)> = zones
                    .iter()
                    .enumerate()
                    .map(|(i, z)| (z.as_str(), size / zones.len() + usize::from(i < size % zones.len())))
                    .collect();
                let instance = described.instance_types().first().cloned().unwrap_or_default();
                run.kube.add_node_pool(cluster, group, &instance, &per_zone).unwrap();
                joined.insert((cluster.to_string(), group.clone()));
            }
            let gone: Vec<(String, String)> =
                joined.iter().filter(|(c, g)| c == cluster && !groups.contains(g)).cloned().collect();
            for (cluster, group) in gone {
                run.kube.remove_node_pool(&cluster, &group);
                joined.remove(&(cluster, group));
            }
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

/// Sets its flag when dropped, so a helper thread stops however the test ends.
struct StopOnDrop<'a>(&'a AtomicBool);

impl Drop for StopOnDrop<'_> {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

/// Another instance type for a cluster hosting a datacenter is another node group: the plan
/// says it is made first and the pods move, with no data at stake; the apply makes it, moves
/// the pods one at a time, rack by rack, each Up/Normal again on a new node before the next,
/// so the datacenter never has more than one node down; then the old group goes.
#[test]
fn a_new_instance_type_moves_cassandra_to_a_new_node_group_rack_by_rack() {
    let example = "examples/eks-two-regions.toml";
    let run = Run::start(&[("eu-west", Flavor::Eks), ("eu-central", Flavor::Eks)]);
    let stop = AtomicBool::new(false);
    let regions = [("eu-west", "eu-west-1"), ("eu-central", "eu-central-1")];
    std::thread::scope(|threads| {
        threads.spawn(|| kubelets(&run, "eks-two-regions", &regions, &stop));
        let _stop = StopOnDrop(&stop);
        moves_rack_by_rack(&run, example);
    });
}

fn moves_rack_by_rack(run: &Run, example: &str) {
    run.brings_the_ring_up(example, &["dc-eu-west", "dc-eu-central"]);

    let bigger = run.dir.path().join("bigger.toml");
    let source = std::fs::read_to_string(example).unwrap();
    let west = source.find("name = \"eu-west\"").unwrap();
    let at = west + source[west..].find("m5.xlarge").unwrap();
    std::fs::write(&bigger, format!("{}m6i.2xlarge{}", &source[..at], &source[at + "m5.xlarge".len()..])).unwrap();
    let bigger = bigger.to_str().unwrap();

    let plan = ok(&run.ringform(&["plan", bigger]));
    assert!(plan.contains("+ aws_eks_node_group.eu-west/m6i.2xlarge"), "{plan}");
    assert!(
        plan.contains("- aws_eks_node_group.eu-west/m5.xlarge  (replaced by aws_eks_node_group.eu-west/m6i.2xlarge, made first: Cassandra's pods move to it one rack at a time, then this goes)"),
        "{plan}"
    );
    assert!(plan.contains("~ cassandra_node_pool.eu-west/cassandra"), "{plan}");
    assert!(!plan.contains("destroys the data"), "{plan}");

    let before = run.kube.cassandra_events().len();
    ok(&run.ringform(&["apply", "--auto-approve", bigger]));
    assert_eq!(run.kube.fewest_up("dc-eu-west"), Some(2), "never more than one node down");
    let events = &run.kube.cassandra_events()[before..];
    let moves: Vec<&Happened> = events
        .iter()
        .map(|e| &e.what)
        .filter(|h| matches!(h, Happened::NodeStopped { datacenter, .. } | Happened::NodeStarted { datacenter, .. } if datacenter == "dc-eu-west"))
        .collect();
    assert_eq!(moves.len(), 6, "each of three nodes stopped and started once: {moves:#?}");
    for pair in moves.chunks(2) {
        match pair {
            [Happened::NodeStopped { node: stopped, .. }, Happened::NodeStarted { node: started, on, .. }] => {
                assert_eq!(stopped, started, "{moves:#?}");
                assert!(!on.is_empty());
            }
            _ => panic!("a node started again before the next stopped: {moves:#?}"),
        }
    }
    // Every Cassandra pod of the datacenter runs on the new group's nodes; the old group is gone.
    let objects = run.kube.objects("eu-west");
    let new_nodes: BTreeSet<&str> = objects
        .iter()
        .filter(|o| {
            o["kind"] == "Node" && o["metadata"]["labels"]["eks.amazonaws.com/nodegroup"] == "cassandra-m6i-2xlarge"
        })
        .filter_map(|o| o["metadata"]["name"].as_str())
        .collect();
    let pods: Vec<&str> = objects
        .iter()
        .filter(|o| o["kind"] == "Pod" && o["metadata"]["labels"]["cassandra.datastax.com/datacenter"] == "dc-eu-west")
        .filter_map(|o| o["spec"]["nodeName"].as_str())
        .collect();
    assert_eq!(pods.len(), 3);
    assert!(pods.iter().all(|n| new_nodes.contains(n)), "{pods:?} on {new_nodes:?}");
    let status = ok(&run.ringform(&["status", bigger]));
    assert!(status.contains("Every node is Up/Normal as seen from every datacenter."), "{status}");
    let plan = run.ringform(&["plan", "--detailed-exitcode", bigger]);
    assert_eq!(plan.status.code(), Some(0), "{}", text(&plan.stdout));
}
