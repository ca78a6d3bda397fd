//! The provider against the fake Kubernetes API server: what it makes, finds, reads back and
//! removes, and how it fails.

use ringform_core::provider::{
    CreateRequest, DeleteRequest, ErrorClass, FindRequest, ReadRequest, ResourceProvider, Tracked,
};
use ringform_core::{Address, Attributes, Kind, Value};
use ringform_schema::kubernetes;
use ringform_testkit::kube::{FakeKube, FakeKubeOptions};

use crate::{KubeProvider, KubeSettings};

const DEPLOYMENT: &str = "ring";

fn provider(kube: &FakeKube) -> KubeProvider {
    KubeProvider::new(KubeSettings {
        endpoint: Some(kube.endpoint()),
        token: Some(kube.token()),
        dns_server: Some(kube.dns_server()),
        ..KubeSettings::default()
    })
}

fn address(kind: Kind, name: &str) -> Address {
    Address::new(kind, name).unwrap()
}

/// Inputs of an object in cluster `east`, with `more`.
fn inputs(more: &[(&str, Value)]) -> Attributes {
    let mut inputs: Attributes = more.iter().map(|(k, v)| ((*k).to_owned(), v.clone())).collect();
    inputs.insert("cluster".into(), "east".into());
    inputs.insert("kubernetes".into(), Value::from_iter([("provider", Value::from("azure"))]));
    inputs
}

async fn create(provider: &KubeProvider, address: &Address, inputs: &Attributes) -> ringform_core::provider::Applied {
    let request = CreateRequest { deployment: DEPLOYMENT.into(), address: address.clone(), inputs: inputs.clone() };
    provider.create(request).await.unwrap_or_else(|e| panic!("{address}: {e:?}"))
}

/// Deletes what `applied` made, twice: the second finds it gone, which succeeds too.
async fn delete(
    provider: &KubeProvider,
    address: &Address,
    inputs: &Attributes,
    applied: &ringform_core::provider::Applied,
) {
    let request = DeleteRequest {
        deployment: DEPLOYMENT.into(),
        address: address.clone(),
        provider_id: applied.provider_id.clone(),
        inputs: inputs.clone(),
        outputs: applied.outputs.clone(),
    };
    provider.delete(request.clone()).await.unwrap();
    provider.delete(request).await.expect("deleting what is gone succeeds");
}

fn tracked(address: &Address, inputs: &Attributes, applied: &ringform_core::provider::Applied) -> Tracked {
    Tracked {
        address: address.clone(),
        provider_id: applied.provider_id.clone(),
        inputs: inputs.clone(),
        outputs: applied.outputs.clone(),
    }
}

fn scope_of(provider: &KubeProvider, address: &Address, inputs: &Attributes) -> ringform_core::provider::Scope {
    provider.scope(address, inputs)
}

#[tokio::test]
async fn namespaces_and_secrets_are_made_owned_read_back_and_removed() {
    let kube = FakeKube::start_for_test();
    let provider = provider(&kube);
    let ns = address(kubernetes::NAMESPACE, "east/cassandra");
    let ns_inputs = inputs(&[("name", "cassandra".into())]);
    let applied = create(&provider, &ns, &ns_inputs).await;
    assert_eq!(applied.provider_id, "v1/Namespace//cassandra");
    assert_eq!(applied.outputs["name"], Value::from("cassandra"));

    let secret = address(kubernetes::SECRET, "east/cassandra/superuser");
    let data =
        Value::from_iter([("username", Value::from("ring-superuser")), ("password", Value::secret("s3cret".into()))]);
    let secret_inputs = inputs(&[("name", "superuser".into()), ("namespace", "cassandra".into()), ("data", data)]);
    let secret_applied = create(&provider, &secret, &secret_inputs).await;

    let stored = kube.get("east", ("v1", "Secret", Some("cassandra"), "superuser")).expect("the Secret is stored");
    assert_eq!(stored["metadata"]["labels"]["ringform.io/deployment"], "ring");
    assert_eq!(stored["metadata"]["annotations"]["ringform.io/address"], "k8s_secret.east/cassandra/superuser");
    assert_eq!(stored["data"]["password"], "czNjcmV0");

    // Refresh: one list for the kind in the cluster; what it shows is what was applied.
    let read = ReadRequest {
        deployment: DEPLOYMENT.into(),
        kind: kubernetes::SECRET,
        scope: scope_of(&provider, &secret, &secret_inputs),
        resources: vec![tracked(&secret, &secret_inputs, &secret_applied)],
    };
    let before = kube.requests().len();
    let found = provider.read(read.clone()).await.unwrap().found;
    assert_eq!(
        kube.requests()[before..].iter().filter(|r| r.method == "GET").count(),
        1,
        "{:?}",
        &kube.requests()[before..]
    );
    assert_eq!(found.len(), 1);
    assert!(
        ringform_core::inputs::changed(kubernetes::SCHEMA.kind(kubernetes::SECRET), &secret_inputs, &found[0].inputs)
            .is_empty()
    );

    // Drift: a password changed behind ringform's back reads back changed, and still secret.
    kube.edit("east", ("v1", "Secret", Some("cassandra"), "superuser"), |s| s["data"]["password"] = "b3RoZXI=".into());
    let found = provider.read(read.clone()).await.unwrap().found;
    let changed =
        ringform_core::inputs::changed(kubernetes::SCHEMA.kind(kubernetes::SECRET), &secret_inputs, &found[0].inputs);
    assert_eq!(changed, ["data"]);
    let Value::Map(read_back) = &found[0].inputs["data"] else { panic!("data is a map") };
    assert!(read_back.values().all(|v| matches!(v, Value::Secret(_))), "read-back entries stay secret");

    // Adoption after a crash: found by its labels alone.
    let find = FindRequest { deployment: DEPLOYMENT.into(), address: ns.clone(), inputs: ns_inputs.clone() };
    assert_eq!(provider.find(find.clone()).await.unwrap().map(|o| o.provider_id), Some(applied.provider_id.clone()));

    for (address, inputs, applied) in [(&secret, &secret_inputs, &secret_applied), (&ns, &ns_inputs, &applied)] {
        delete(&provider, address, inputs, applied).await;
    }
    assert_eq!(provider.read(read).await.unwrap().found, []);
    assert_eq!(provider.find(find).await.unwrap(), None);
}

#[tokio::test]
async fn the_operators_install_from_the_embedded_manifests_and_wait_until_available() {
    let kube = FakeKube::start(FakeKubeOptions { time_scale: 0.001, ..FakeKubeOptions::default() }).unwrap();
    let provider = provider(&kube);
    let cert_manager = address(kubernetes::CERT_MANAGER, "east/cert-manager");
    let cm_inputs = inputs(&[("version", kubernetes::CERT_MANAGER_VERSION.into())]);
    create(&provider, &cert_manager, &cm_inputs).await;
    let webhook = kube.get("east", ("apps/v1", "Deployment", Some("cert-manager"), "cert-manager-webhook")).unwrap();
    assert!(crate::wait::has_condition(&webhook, "Available"), "create returned before the Deployment was Available");
    let crd =
        kube.get("east", ("apiextensions.k8s.io/v1", "CustomResourceDefinition", None, "certificates.cert-manager.io"));
    assert!(crd.is_some_and(|crd| crate::wait::has_condition(&crd, "Established")));

    // The operator's namespace is a resource of its own, made first.
    let ns = address(kubernetes::NAMESPACE, "east/k8ssandra-operator");
    create(&provider, &ns, &inputs(&[("name", "k8ssandra-operator".into())])).await;
    let operator = address(kubernetes::K8SSANDRA_OPERATOR, "east/k8ssandra-operator");
    let op_inputs = inputs(&[
        ("namespace", "k8ssandra-operator".into()),
        ("version", kubernetes::K8SSANDRA_OPERATOR_VERSION.into()),
        ("control_plane", Value::Bool(true)),
    ]);
    let applied = create(&provider, &operator, &op_inputs).await;
    let deployment =
        kube.get("east", ("apps/v1", "Deployment", Some("k8ssandra-operator"), "k8ssandra-operator")).unwrap();
    let env = deployment["spec"]["template"]["spec"]["containers"][0]["env"].as_array().unwrap();
    assert!(env.iter().any(|e| e["name"] == "K8SSANDRA_CONTROL_PLANE" && e["value"] == "true"), "{env:?}");
    let namespace = kube.get("east", ("v1", "Namespace", None, "k8ssandra-operator")).unwrap();
    assert_eq!(namespace["metadata"]["annotations"]["ringform.io/address"], "k8s_namespace.east/k8ssandra-operator");

    let read = ReadRequest {
        deployment: DEPLOYMENT.into(),
        kind: kubernetes::K8SSANDRA_OPERATOR,
        scope: scope_of(&provider, &operator, &op_inputs),
        resources: vec![tracked(&operator, &op_inputs, &applied)],
    };
    let found = provider.read(read).await.unwrap().found;
    assert!(
        ringform_core::inputs::changed(
            kubernetes::SCHEMA.kind(kubernetes::K8SSANDRA_OPERATOR),
            &op_inputs,
            &found[0].inputs
        )
        .is_empty(),
        "{:?}",
        found[0].inputs
    );

    let old = inputs(&[("version", "v1.16.2".into())]);
    let request = CreateRequest { deployment: DEPLOYMENT.into(), address: cert_manager.clone(), inputs: old };
    let error = provider.create(request).await.unwrap_err();
    assert_eq!(error.class, ErrorClass::Fatal);
    assert!(error.message.contains("installs cert-manager v1.20.3, not v1.16.2"), "{error}");
}

#[tokio::test]
async fn a_wait_that_runs_out_says_what_it_waited_for_and_where_to_look() {
    // Real rollout times, and a provider that waits a thousandth of the real 10 minutes.
    let kube = FakeKube::start(FakeKubeOptions { time_scale: 1.0, ..FakeKubeOptions::default() }).unwrap();
    let provider = KubeProvider::new(KubeSettings {
        endpoint: Some(kube.endpoint()),
        token: Some(kube.token()),
        wait_scale: 0.0005,
        dns_server: None,
    });
    let cert_manager = address(kubernetes::CERT_MANAGER, "east/cert-manager");
    let request = CreateRequest {
        deployment: DEPLOYMENT.into(),
        address: cert_manager,
        inputs: inputs(&[("version", kubernetes::CERT_MANAGER_VERSION.into())]),
    };
    let error = provider.create(request).await.unwrap_err();
    assert_eq!(error.class, ErrorClass::Retryable);
    assert_eq!(
        error.message,
        "cluster east: Deployment cert-manager/cert-manager-cainjector did not become Available within 300 ms"
    );
    assert_eq!(
        error.hint.as_deref(),
        Some("see why with `kubectl --context east -n cert-manager describe deployment cert-manager-cainjector`")
    );
}

/// Every ClientConfig, K8ssandraCluster and CassandraDatacenter the graph plans for the
/// examples, as this provider would send it, fits the operators' own CRD schemas (the
/// repository's fixtures, draft 4, unknown fields refused).
#[test]
fn every_custom_resource_ringform_sends_fits_the_operators_schemas() {
    let examples = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples");
    let schemas = [
        (kubernetes::CLIENT_CONFIG, "clientconfig.schema.json"),
        (kubernetes::K8SSANDRA_CLUSTER, "k8ssandracluster.schema.json"),
        (kubernetes::CASSANDRA_DATACENTER, "cassandradatacenter.schema.json"),
    ];
    let mut checked = std::collections::BTreeMap::new();
    for entry in std::fs::read_dir(examples).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "toml") {
            continue;
        }
        let topology = ringform_topology::parse(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let graph = ringform_graph::ResourceGraph::build(&topology).unwrap();
        for resource in graph.resources() {
            let Some((kind, file)) = schemas.iter().find(|(k, _)| *k == resource.address.kind()) else { continue };
            // What apply resolves references to: a name, or an address list for seeds.
            let resolved: Attributes = resource
                .attributes
                .iter()
                .map(|(k, v)| {
                    let value = v.resolve(&|r| {
                        Some(if r.output == "seed_ips" {
                            Value::from(vec!["10.1.0.4"])
                        } else {
                            Value::from("resolved")
                        })
                    });
                    (k.clone(), value)
                })
                .collect();
            let ctx = crate::kinds::Ctx {
                address: &resource.address,
                inputs: ringform_core::Inputs::new(&resource.address, &resolved),
            };
            for object in (crate::kinds::spec(*kind).unwrap().objects)(&ctx).unwrap() {
                let violations = ringform_testkit::kube::fixture_violations(file, &object);
                assert_eq!(violations, Vec::<String>::new(), "{}: {} in {}", path.display(), resource.address, object);
            }
            *checked.entry(kind.to_string()).or_insert(0) += 1;
        }
    }
    assert_eq!(checked.len(), 3, "each kind is planned by some example: {checked:?}");

    // The check itself refuses a misspelt field.
    let typo = serde_json::json!({"apiVersion": "k8ssandra.io/v1alpha1", "kind": "K8ssandraCluster",
        "metadata": {"name": "x"}, "spec": {"cassandra": {"serverVerison": "4.1.5", "datacenters": []}}});
    let found = ringform_testkit::kube::fixture_violations("k8ssandracluster.schema.json", &typo);
    assert!(found.iter().any(|v| v.contains("serverVerison")), "{found:?}");
}

#[tokio::test]
async fn stub_domains_are_an_edit_of_ekss_corefile_read_back_and_undone_exactly() {
    let kube = FakeKube::start_for_test();
    let provider = provider(&kube);
    let coredns = ("v1", "ConfigMap", Some("kube-system"), "coredns");
    let corefile =
        |kube: &FakeKube| kube.get("east", coredns).unwrap()["data"]["Corefile"].as_str().unwrap().to_owned();
    let address = address(kubernetes::COREDNS_STUB_DOMAINS, "east/coredns");
    let stubs = Value::from_iter([("azure-1.svc.cluster.local", Value::from(vec!["10.2.0.10"]))]);
    let mut stub_inputs = inputs(&[("stub_domains", stubs)]);
    stub_inputs.insert("kubernetes".into(), Value::from_iter([("provider", Value::from("aws"))]));
    let applied = create(&provider, &address, &stub_inputs).await;
    let edited = corefile(&kube);
    assert!(edited.starts_with(ringform_testkit::kube::EKS_COREFILE), "{edited}");
    assert!(edited.contains("forward . 10.2.0.10"), "{edited}");

    let read = ReadRequest {
        deployment: DEPLOYMENT.into(),
        kind: kubernetes::COREDNS_STUB_DOMAINS,
        scope: scope_of(&provider, &address, &stub_inputs),
        resources: vec![tracked(&address, &stub_inputs, &applied)],
    };
    let schema = kubernetes::SCHEMA.kind(kubernetes::COREDNS_STUB_DOMAINS);
    let found = provider.read(read.clone()).await.unwrap().found;
    assert!(ringform_core::inputs::changed(schema, &stub_inputs, &found[0].inputs).is_empty(), "{:?}", found[0].inputs);

    // Someone edits ringform's block by hand: drift names the stub domains.
    kube.edit("east", coredns, |c| {
        let text = c["data"]["Corefile"].as_str().unwrap().replace("10.2.0.10", "10.9.9.9");
        c["data"]["Corefile"] = text.into();
    });
    let found = provider.read(read).await.unwrap().found;
    assert_eq!(ringform_core::inputs::changed(schema, &stub_inputs, &found[0].inputs), ["stub_domains"]);

    let request = DeleteRequest {
        deployment: DEPLOYMENT.into(),
        address: address.clone(),
        provider_id: applied.provider_id.clone(),
        inputs: stub_inputs.clone(),
        outputs: applied.outputs.clone(),
    };
    provider.delete(request).await.unwrap();
    assert_eq!(corefile(&kube), ringform_testkit::kube::EKS_COREFILE, "EKS's Corefile is back byte for byte");
    let labels = kube.get("east", coredns).unwrap()["metadata"]["labels"].clone();
    assert!(labels.get("ringform.io/address").is_none(), "ringform's labels are gone: {labels}");
}

mod pod_networking {
    //! EKS custom networking: ENIConfigs of ringform's, and env entries on EKS's aws-node
    //! DaemonSet beside EKS's own, as the fake's EKS cluster holds it.

    use std::collections::BTreeMap;

    use ringform_core::provider::{Applied, ReadRequest, ResourceProvider};
    use ringform_core::{Address, Attributes, Value};
    use ringform_schema::kubernetes;
    use ringform_testkit::kube::FakeKube;
    use serde_json::json;

    use super::{DEPLOYMENT, address, create, delete, provider, scope_of, tracked};
    use crate::KubeProvider;

    const AWS_NODE: ringform_testkit::kube::ObjectRef<'static> =
        ("apps/v1", "DaemonSet", Some("kube-system"), "aws-node");
    const CUSTOM_NETWORK: &str = "AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG";
    const LABEL_DEF: &str = "ENI_CONFIG_LABEL_DEF";

    fn eni_config(zone: &str) -> ringform_testkit::kube::ObjectRef<'_> {
        ("crd.k8s.amazonaws.com/v1alpha1", "ENIConfig", None, zone)
    }

    /// Inputs of an object in the EKS cluster `east`.
    fn inputs(more: Vec<(&str, Value)>) -> Attributes {
        let mut inputs = super::inputs(&more);
        inputs.insert("kubernetes".into(), Value::from_iter([("provider", Value::from("aws"))]));
        inputs
    }

    /// The `aws-node` container's env, by name, each entry as stored.
    fn env(daemon_set: &serde_json::Value) -> BTreeMap<String, serde_json::Value> {
        let containers = daemon_set["spec"]["template"]["spec"]["containers"].as_array().unwrap();
        let container = containers.iter().find(|c| c["name"] == "aws-node").unwrap();
        let entries = container["env"].as_array().unwrap().iter();
        entries.map(|e| (e["name"].as_str().unwrap().to_owned(), e.clone())).collect()
    }

    /// The DaemonSet's spec with the `aws-node` container's env left out (compared by name).
    fn without_env(daemon_set: &serde_json::Value) -> serde_json::Value {
        let mut spec = daemon_set["spec"].clone();
        for container in spec["template"]["spec"]["containers"].as_array_mut().unwrap() {
            if container["name"] == "aws-node" {
                container.as_object_mut().unwrap().remove("env");
            }
        }
        spec
    }

    async fn read(
        provider: &KubeProvider,
        kind: ringform_core::Kind,
        made: &[(Address, Attributes, Applied)],
    ) -> Vec<ringform_core::provider::Observed> {
        let (address, inputs, _) = &made[0];
        let resources = made.iter().map(|(a, i, applied)| tracked(a, i, applied)).collect();
        let request =
            ReadRequest { deployment: DEPLOYMENT.into(), kind, scope: scope_of(provider, address, inputs), resources };
        provider.read(request).await.unwrap().found
    }

    /// Which inputs of `made` read back differently in `found`.
    fn drift(made: &(Address, Attributes, Applied), found: &ringform_core::provider::Observed) -> Vec<String> {
        ringform_core::inputs::changed(kubernetes::SCHEMA.kind(made.0.kind()), &made.1, &found.inputs)
    }

    #[tokio::test]
    async fn eni_configs_per_zone_are_ringforms_objects_read_back_by_address_and_field() {
        let kube = FakeKube::start_for_test();
        let provider = provider(&kube);
        let groups = Value::from(vec!["sg-cassandra", "sg-cluster"]);
        let mut made = Vec::new();
        for (zone, subnet) in [("eu-west-1a", "subnet-0a"), ("eu-west-1b", "subnet-0b")] {
            let address = address(kubernetes::ENI_CONFIG, &format!("east/{zone}"));
            let inputs =
                inputs(vec![("name", zone.into()), ("subnet", subnet.into()), ("security_groups", groups.clone())]);
            let applied = create(&provider, &address, &inputs).await;
            made.push((address, inputs, applied));
        }
        assert_eq!(made[1].2.provider_id, "crd.k8s.amazonaws.com/v1alpha1/ENIConfig//eu-west-1b");
        let stored = kube.get("east", eni_config("eu-west-1b")).unwrap();
        assert_eq!(stored["spec"], json!({"subnet": "subnet-0b", "securityGroups": ["sg-cassandra", "sg-cluster"]}));
        assert_eq!(stored["metadata"]["annotations"]["ringform.io/address"], "eks_eni_config.east/eu-west-1b");

        // Applied again, nothing changes.
        create(&provider, &made[1].0, &made[1].1).await;
        let again = kube.get("east", eni_config("eu-west-1b")).unwrap();
        assert_eq!(
            (&again["spec"], &again["metadata"]["generation"]),
            (&stored["spec"], &stored["metadata"]["generation"])
        );
        let found = read(&provider, kubernetes::ENI_CONFIG, &made).await;
        assert_eq!(found.len(), 2);
        assert!(found.iter().zip(&made).all(|(f, m)| drift(m, f).is_empty()), "{found:?}");

        // Behind ringform's back: one deleted is missing by address, one changed differs by field.
        kube.delete("east", eni_config("eu-west-1a"));
        kube.edit("east", eni_config("eu-west-1b"), |c| c["spec"]["subnet"] = "subnet-other".into());
        let found = read(&provider, kubernetes::ENI_CONFIG, &made).await;
        assert_eq!(found.iter().map(|f| f.address.to_string()).collect::<Vec<_>>(), ["eks_eni_config.east/eu-west-1b"]);
        assert_eq!(drift(&made[1], &found[0]), ["subnet"]);

        for (address, inputs, applied) in &made {
            delete(&provider, address, inputs, applied).await;
        }
        assert!(kube.get("east", eni_config("eu-west-1b")).is_none());
    }

    #[tokio::test]
    async fn custom_networking_adds_its_env_to_ekss_aws_node_and_takes_exactly_that_away() {
        let kube = FakeKube::start_for_test();
        let provider = provider(&kube);
        kube.add_cluster("east").unwrap();
        let eks_made = kube.get("east", AWS_NODE).unwrap();
        let address = address(kubernetes::CUSTOM_NETWORKING, "east/aws-node");
        let wanted = Value::from_iter([
            (CUSTOM_NETWORK, Value::from("true")),
            (LABEL_DEF, Value::from("topology.kubernetes.io/zone")),
        ]);
        let inputs = inputs(vec![("env", wanted)]);
        let applied = create(&provider, &address, &inputs).await;
        assert_eq!(applied.provider_id, "apps/v1/DaemonSet/kube-system/aws-node");
        let edited = kube.get("east", AWS_NODE).unwrap();
        let (before, after) = (env(&eks_made), env(&edited));
        assert_eq!(after[CUSTOM_NETWORK]["value"], "true");
        assert_eq!(after[LABEL_DEF]["value"], "topology.kubernetes.io/zone");
        assert_eq!(after.len(), before.len() + 1);
        assert!(
            before.iter().all(|(name, entry)| name == CUSTOM_NETWORK || after[name] == *entry),
            "EKS's entries stay"
        );
        assert_eq!(without_env(&edited), without_env(&eks_made), "the image and all else are EKS's");
        assert_eq!(edited["metadata"]["labels"], eks_made["metadata"]["labels"], "no labels of ringform's");

        // Applied again, nothing changes; read back, nothing differs.
        create(&provider, &address, &inputs).await;
        let again = kube.get("east", AWS_NODE).unwrap();
        assert_eq!(
            (&again["spec"], &again["metadata"]["generation"]),
            (&edited["spec"], &edited["metadata"]["generation"])
        );
        let made = [(address.clone(), inputs.clone(), applied)];
        let found = read(&provider, kubernetes::CUSTOM_NETWORKING, &made).await;
        assert_eq!(found.len(), 1);
        assert!(drift(&made[0], &found[0]).is_empty(), "{:?}", found[0].inputs);

        // Its env entries removed behind ringform's back: drift. (Put back as it was after.)
        kube.edit("east", AWS_NODE, |d| {
            let env = d["spec"]["template"]["spec"]["containers"][0]["env"].as_array_mut().unwrap();
            env.retain(|e| e["name"] != CUSTOM_NETWORK && e["name"] != LABEL_DEF);
        });
        let found = read(&provider, kubernetes::CUSTOM_NETWORKING, &made).await;
        assert_eq!(drift(&made[0], &found[0]), ["env"]);
        kube.edit("east", AWS_NODE, |d| *d = edited.clone());

        // Deleted: ringform's entry goes, and the value it took over from EKS with it (nobody
        // owns it any more; the CNI reads an empty value as false). The DaemonSet stays EKS's.
        let (address, inputs, applied) = &made[0];
        delete(&provider, address, inputs, applied).await;
        let released = kube.get("east", AWS_NODE).expect("the DaemonSet stays");
        let mut expected = before.clone();
        expected.insert(CUSTOM_NETWORK.into(), json!({"name": CUSTOM_NETWORK}));
        assert_eq!(env(&released), expected);
        assert_eq!(without_env(&released), without_env(&eks_made));
        let managers = released["metadata"]["managedFields"].as_array().unwrap();
        assert!(managers.iter().all(|m| m["manager"] != "ringform"), "{managers:?}");
        assert_eq!(read(&provider, kubernetes::CUSTOM_NETWORKING, &made).await, []);
    }

    #[tokio::test]
    async fn custom_networking_without_the_vpc_cni_says_so_and_makes_nothing() {
        let kube = FakeKube::start_for_test();
        let provider = provider(&kube);
        kube.add_cluster("east").unwrap();
        kube.delete("east", AWS_NODE);
        let address = address(kubernetes::CUSTOM_NETWORKING, "east/aws-node");
        let inputs = inputs(vec![("env", Value::from_iter([(LABEL_DEF, Value::from("topology.kubernetes.io/zone"))]))]);
        let request = ringform_core::provider::CreateRequest { deployment: DEPLOYMENT.into(), address, inputs };
        let error = provider.create(request).await.unwrap_err();
        assert!(error.message.contains("DaemonSet kube-system/aws-node does not exist"), "{error:?}");
        assert!(kube.get("east", AWS_NODE).is_none());
    }
}

/// An AWS load balancer answers at a host name, resolved to its addresses through the DNS
/// server the settings name (the fake's here); when AWS moves them, a read sees it.
#[tokio::test]
async fn a_dns_endpoint_on_eks_outputs_every_address_its_load_balancer_resolves_to_and_reads_them_anew() {
    let kube = FakeKube::start_for_test();
    let provider = provider(&kube);
    let address = address(kubernetes::DNS_ENDPOINT, "east/kube-dns");
    let mut endpoint_inputs = inputs(&[("service_type", "LoadBalancer".into()), ("internal", Value::Bool(true))]);
    endpoint_inputs.insert("kubernetes".into(), Value::from_iter([("provider", Value::from("aws"))]));
    let applied = create(&provider, &address, &endpoint_inputs).await;

    let service = kube.get("east", ("v1", "Service", Some("kube-system"), "ringform-dns")).expect("the Service");
    let host = service["status"]["loadBalancer"]["ingress"][0]["hostname"].as_str().expect("a host name");
    let as_output = |ips: Vec<std::net::Ipv4Addr>| Value::from(ips.iter().map(ToString::to_string).collect::<Vec<_>>());
    let addresses = kube.resolve(host).expect("the fake's DNS knows it");
    assert_eq!(addresses.len(), 3, "one address per zone");
    assert_eq!(applied.outputs["ips"], as_output(addresses));

    let moved = kube.move_load_balancer(host).expect("a load balancer");
    let read = ReadRequest {
        deployment: DEPLOYMENT.into(),
        kind: kubernetes::DNS_ENDPOINT,
        scope: scope_of(&provider, &address, &endpoint_inputs),
        resources: vec![tracked(&address, &endpoint_inputs, &applied)],
    };
    let found = provider.read(read).await.unwrap().found;
    assert_eq!(found[0].outputs["ips"], as_output(moved), "the stub domains using it re-plan from this");
}

#[tokio::test]
async fn a_host_name_that_does_not_resolve_says_what_was_asked_of_which_server_and_what_to_do() {
    let kube = FakeKube::start_for_test();
    let host = "internal-gone-1.us-east-1.elb.amazonaws.com";
    let error = crate::dns::resolve(host, Some(&kube.dns_server()), "cluster east: Service kube-system/ringform-dns")
        .await
        .unwrap_err();
    assert_eq!(error.class, ErrorClass::Retryable, "a new load balancer's name takes minutes to resolve");
    assert_eq!(
        error.message,
        format!(
            "cluster east: Service kube-system/ringform-dns: its host name {host} has no IPv4 address at the DNS server {} (RINGFORM_KUBE_DNS_SERVER)",
            kube.dns_server()
        )
    );
    assert!(error.hint.as_deref().is_some_and(|h| h.contains("set RINGFORM_KUBE_DNS_SERVER")), "{error:?}");
    assert!(error.source.is_some(), "the resolver's own words are kept as the cause");

    let error = crate::dns::resolve(host, Some("vpc-resolver"), "it").await.unwrap_err();
    assert_eq!(error.class, ErrorClass::Fatal);
    assert_eq!(error.message, "RINGFORM_KUBE_DNS_SERVER is `vpc-resolver`, which is not an IP address and port");
}

mod eks_access {
    //! An EKS cluster reached the way a real one is: over TLS trusting only the
    //! `certificate_authority` from the cluster's outputs, with the token ringform makes. The
    //! fake accepts exactly one token, the one signed at a fixed time, so the client's clock
    //! and credentials are fixed too.

    use std::sync::Arc;
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::time::{Duration, SystemTime};

    use aws_credential_types::Credentials;
    use aws_credential_types::provider::error::CredentialsError;
    use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider, future};
    use base64::Engine;
    use base64::engine::general_purpose::STANDARD;
    use ringform_core::provider::ErrorClass;
    use ringform_core::{Address, Attributes, Inputs, Value};
    use ringform_schema::kubernetes;
    use ringform_testkit::kube::{FakeKube, FakeKubeOptions};
    use serde_json::json;

    use crate::KubeSettings;
    use crate::access::Access;
    use crate::cluster::Cluster;
    use crate::eks::{self, TokenSource};

    /// 2026-01-02T03:04:05Z.
    const AT: u64 = 1_767_323_045;
    const REGION: &str = "eu-west-1";
    const EKS_NAME: &str = "ring-eu-west";
    /// A CA that did not sign the fake's certificate (made with `openssl req -x509 -newkey ec`).
    const OTHER_CA: &str = "-----BEGIN CERTIFICATE-----
MIIBlTCCATugAwIBAgIUK5/wesF8hHMpFS4QvQBstOx/J/EwCgYIKoZIzj0EAwIw
HzEdMBsGA1UEAwwUbm90LXRoZS1mYWtlLWt1YmUtY2EwIBcNMjYxMTI2MTYzODAw
WhgPMjEyNjExMDIxNjM4MDBaMB8xHTAbBgNVBAMMFG5vdC10aGUtZmFrZS1rdWJl
LWNhMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE3zdNSOIQK4KWoZj57sxvQ6wk
PudpK7l1OQvGQ1BU8ar0WhYB1D5kVfyUmBNK0iS23BUbPrcn7Zbb/kEdrZYxTaNT
MFEwHQYDVR0OBBYEFDjalyKjlw+OL38wFTuyCZDF2hSNMB8GA1UdIwQYMBaAFDja
lyKjlw+OL38wFTuyCZDF2hSNMA8GA1UdEwEB/wQFMAMBAf8wCgYIKoZIzj0EAwID
SAAwRQIhAPLiGwOZvTnaNFImWh7fp38TJ50cKhP7rXaTn8trgg1tAiAvUot0RG0h
rlKvmOz/4Vq8EowDHHx0z5KRGPgy1jevtQ==
-----END CERTIFICATE-----
";

    fn credentials() -> Credentials {
        Credentials::new("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", None, None, "test")
    }

    fn at(seconds: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(seconds)
    }

    /// The fake, accepting the token signed at [`AT`].
    fn fake() -> FakeKube {
        let token = eks::token(&credentials(), REGION, EKS_NAME, at(AT)).unwrap();
        FakeKube::start(FakeKubeOptions { token: Some(token), ..FakeKubeOptions::default() }).unwrap()
    }

    /// The `kubernetes` input the graph gives an EKS cluster's objects.
    fn access(kube: &FakeKube, ca_pem: &str) -> Access {
        let address = Address::new(kubernetes::NAMESPACE, "east/cassandra").unwrap();
        let mut inputs = Attributes::new();
        inputs.insert(
            "kubernetes".into(),
            Value::from_iter([
                ("provider", Value::from("aws")),
                ("region", REGION.into()),
                ("eks_cluster_name", EKS_NAME.into()),
                ("endpoint", format!("{}/east", kube.https_endpoint()).into()),
                ("certificate_authority", STANDARD.encode(ca_pem).into()),
            ]),
        );
        Access::of(&KubeSettings::default(), "east", &Inputs::new(&address, &inputs)).unwrap()
    }

    fn tokens(now: &Arc<AtomicU64>) -> Arc<TokenSource> {
        let now = now.clone();
        let clock: eks::Clock = Arc::new(move || at(now.load(Ordering::SeqCst)));
        Arc::new(TokenSource::new(REGION, EKS_NAME, SharedCredentialsProvider::new(credentials()), clock))
    }

    #[tokio::test]
    async fn an_eks_cluster_is_reached_over_tls_with_the_token_ringform_makes() {
        let kube = fake();
        let access = access(&kube, kube.ca());
        assert!(
            matches!(&access, Access::Eks { region, cluster_name, .. } if region == REGION && cluster_name == EKS_NAME)
        );
        let now = Arc::new(AtomicU64::new(AT));
        let cluster = Cluster::new("east", access.eks_client("east", tokens(&now)).await.unwrap());

        let namespace = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "cassandra"}});
        cluster.apply(&namespace).await.unwrap_or_else(|e| panic!("{e:?}"));
        assert!(kube.objects("east").iter().any(|o| o["kind"] == "Namespace" && o["metadata"]["name"] == "cassandra"));

        // 14 minutes on, the same client sends a new token, which this fake (knowing only the
        // first) refuses: the renewal reaches the wire.
        now.store(AT + 14 * 60, Ordering::SeqCst);
        let error = cluster.list("v1", "Namespace", None, "").await.unwrap_err();
        assert_eq!(error.class, ErrorClass::Fatal, "{error:?}");
        assert!(error.message.contains("401"), "{error:?}");
        // A clock set back makes a new token too; signed at AT again, the fake accepts it.
        now.store(AT, Ordering::SeqCst);
        assert!(!cluster.list("v1", "Namespace", None, "").await.unwrap().is_empty());
    }

    /// Credentials until `gone`, then none (an SSO session that ended).
    #[derive(Debug)]
    struct Ending {
        gone: Arc<std::sync::atomic::AtomicBool>,
    }

    impl ProvideCredentials for Ending {
        fn provide_credentials<'a>(&'a self) -> future::ProvideCredentials<'a>
        where
            Self: 'a,
        {
            future::ProvideCredentials::ready(match self.gone.load(Ordering::SeqCst) {
                false => Ok(credentials()),
                true => Err(CredentialsError::provider_error("the SSO session has expired")),
            })
        }
    }

    #[tokio::test]
    async fn credentials_lost_mid_run_fail_the_request_with_the_reason_not_the_client() {
        let kube = fake();
        let now = Arc::new(AtomicU64::new(AT));
        let gone = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let clock_now = now.clone();
        let clock: eks::Clock = Arc::new(move || at(clock_now.load(Ordering::SeqCst)));
        let provider = SharedCredentialsProvider::new(Ending { gone: gone.clone() });
        let tokens = Arc::new(TokenSource::new(REGION, EKS_NAME, provider, clock));
        let cluster = Cluster::new("east", access(&kube, kube.ca()).eks_client("east", tokens).await.unwrap());
        assert!(!cluster.list("v1", "Namespace", None, "").await.unwrap().is_empty());

        gone.store(true, Ordering::SeqCst);
        now.store(AT + 15 * 60, Ordering::SeqCst);
        let error = cluster.list("v1", "Namespace", None, "").await.unwrap_err();
        assert_eq!(error.class, ErrorClass::Retryable, "{error:?}");
        assert_eq!(
            error.message,
            "cluster east: listing Namespace: cannot get AWS credentials to sign a token for EKS cluster ring-eu-west"
        );
        assert!(error.hint.as_deref().is_some_and(|h| h.contains("aws sso login")), "{error:?}");

        // The client is not broken by it (kube buffers its service, and a service that failed
        // to get ready would be closed for good): with the clock back where the kept token is
        // fresh, the next request goes through.
        now.store(AT, Ordering::SeqCst);
        assert!(!cluster.list("v1", "Namespace", None, "").await.unwrap().is_empty());
    }

    #[tokio::test]
    async fn an_eks_cluster_whose_certificate_another_ca_signed_is_not_trusted() {
        let kube = fake();
        let now = Arc::new(AtomicU64::new(AT));
        let client = access(&kube, OTHER_CA).eks_client("east", tokens(&now)).await.unwrap();
        let cluster = Cluster::new("east", client);
        let namespace = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "cassandra"}});
        cluster.apply(&namespace).await.unwrap_err();
        assert!(kube.objects("east").iter().all(|o| o["metadata"]["name"] != "cassandra"));
        assert_eq!(kube.requests().len(), 0, "nothing was sent before the server was trusted");
    }

    #[tokio::test]
    async fn an_unusable_certificate_authority_says_so_without_a_request() {
        let kube = fake();
        let now = Arc::new(AtomicU64::new(AT));
        let mut access = access(&kube, kube.ca());
        if let Access::Eks { certificate_authority, .. } = &mut access {
            *certificate_authority = "not base64!".into();
        }
        let Err(error) = access.eks_client("east", tokens(&now)).await else { panic!("a client") };
        assert_eq!(error.class, ErrorClass::Fatal);
        assert_eq!(
            error.message,
            "cluster east: EKS cluster ring-eu-west's certificate_authority cannot be used: it is not base64"
        );
    }
}
