//! End-to-end, the whole job: the `ringform` binary applies an example with no `--target` —
//! the clouds' networks and clusters against their fakes, then the Kubernetes layer (operators,
//! remote access, the datacenters, DNS) against the fake Kubernetes API server, whose simulated
//! operators bring the ring up — then re-plans, checks drift and destroys.

use std::process::Output;

use ringform_testkit::arm::FakeArm;
use ringform_testkit::kube::{FakeKube, FakeKubeOptions, Flavor};

use crate::common::{self, text};

const SUBSCRIPTION: &str = "5f0e3c1a-0000-4000-8000-00000000c0de";

struct Run {
    dir: tempfile::TempDir,
    arm: FakeArm,
    kube: FakeKube,
}

impl Run {
    fn ringform(&self, args: &[&str]) -> Output {
        common::ringform(args, &self.dir.path().join("state"))
            .env("RINGFORM_ARM_ENDPOINT", self.arm.endpoint())
            .env("RINGFORM_ARM_TOKEN", self.arm.token())
            .env("RINGFORM_ARM_POLL_MS", "5")
            .env("AZURE_SUBSCRIPTION_ID", SUBSCRIPTION)
            .env("RINGFORM_KUBE_ENDPOINT", self.kube.endpoint())
            .env("RINGFORM_KUBE_TOKEN", self.kube.token())
            .env_remove("RINGFORM_TEST_INVENTORY")
            .output()
            .unwrap()
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
    let arm = FakeArm::start_for_test();
    arm.set_poll_rounds(2);
    // Real durations a thousand times faster: a rack in 150 ms, a certificate in 5 ms.
    let kube = FakeKube::start(FakeKubeOptions { time_scale: 0.001, ..FakeKubeOptions::default() }).unwrap();
    for cluster in ["eastus", "westus", "centralus", "canadacentral"] {
        kube.add_cluster_of(cluster, Flavor::Aks).unwrap();
    }
    let run = Run { dir: tempfile::tempdir().unwrap(), arm, kube };

    ok(&run.ringform(&["apply", "--auto-approve", example]));
    let k8c = ("k8ssandra.io/v1alpha1", "K8ssandraCluster", Some("k8ssandra-operator"), "azure-ring");
    let k8c = run.kube.get("canadacentral", k8c).expect("the K8ssandraCluster is on the control plane");
    assert_eq!(k8c["status"]["conditions"][0]["type"], "CassandraInitialized", "{}", k8c["status"]);
    // The operator made every datacenter in its data plane, each Ready.
    for (cluster, dc) in [("eastus", "dc-eastus"), ("westus", "dc-westus"), ("centralus", "dc-centralus")] {
        let dc =
            run.kube.get(cluster, ("cassandra.datastax.com/v1beta1", "CassandraDatacenter", Some("cassandra"), dc));
        assert_eq!(dc.map(|dc| dc["status"]["cassandraOperatorProgress"].clone()), Some("Ready".into()), "{cluster}");
    }

    // Every datacenter sees every node Up/Normal.
    let status = ok(&run.ringform(&["status", example]));
    for dc in ["dc-eastus", "dc-westus", "dc-centralus"] {
        assert_eq!(status.matches(&format!("{dc} ")).count(), 4, "{dc} reports and is seen by all three:\n{status}");
    }
    assert!(status.contains("Every node is Up/Normal as seen from every datacenter."), "{status}");
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

    let plan = run.ringform(&["plan", "--detailed-exitcode", example]);
    assert_eq!(plan.status.code(), Some(0), "a second plan changes nothing:\n{}", text(&plan.stdout));
    let drift = run.ringform(&["drift", example]);
    assert_eq!(drift.status.code(), Some(0), "{}\n{}", text(&drift.stdout), text(&drift.stderr));

    ok(&run.ringform(&["destroy", "--auto-approve", example]));
    assert_eq!(owned(&run.kube), Vec::<String>::new(), "destroy leaves nothing of ringform's");
}
