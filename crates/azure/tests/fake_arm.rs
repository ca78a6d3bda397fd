//! The provider against the fake ARM server (testkit), which validates every PUT body against
//! the REST API specs' schemas: every Azure kind created, read back without drift, updated,
//! found by its tags and deleted, for a two-cluster VPN-gateway mesh with a site-to-site link
//! and a peering; and the role assignment granting AKS's identity Network Contributor on its VNet.

use ringform_schema::azure;
use std::time::Duration;

use ringform_azure::{ArmSettings, AzureProvider, AzureSettings};
use ringform_core::provider::{
    CreateRequest, DeleteRequest, ErrorClass, FindRequest, ReadRequest, ResourceProvider, Tracked, UpdateRequest,
};
use ringform_core::{Address, Attributes, Kind, Value};
use ringform_testkit::arm::FakeArm;

const SUB: &str = "00000000-0000-0000-0000-0000000000aa";
const DEPLOYMENT: &str = "demo";

fn provider(arm: &FakeArm) -> AzureProvider {
    AzureProvider::new(AzureSettings {
        endpoint: arm.endpoint(),
        token: Some(arm.token()),
        default_subscription: Some(SUB.to_owned()),
        arm: ArmSettings {
            poll_interval: Duration::from_millis(5),
            max_poll_interval: Duration::from_millis(50),
            retry_delay: Duration::from_millis(5),
            ..ArmSettings::default()
        },
        ..AzureSettings::default()
    })
}

fn attrs(entries: Vec<(&str, Value)>) -> Attributes {
    entries.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()
}

fn strings(items: &[&str]) -> Value {
    Value::List(items.iter().map(|s| Value::from(*s)).collect())
}

fn subnet(name: &str, cidr: &str) -> Value {
    Value::from_iter([("name", Value::from(name)), ("address_prefix", Value::from(cidr))])
}

/// One object the test made: what state would record.
#[derive(Clone, Debug)]
struct Made {
    address: Address,
    provider_id: String,
    inputs: Attributes,
    outputs: Attributes,
}

impl Made {
    fn out(&self, name: &str) -> Value {
        self.outputs.get(name).cloned().unwrap_or_default()
    }

    fn tracked(&self) -> Tracked {
        Tracked {
            address: self.address.clone(),
            provider_id: self.provider_id.clone(),
            inputs: self.inputs.clone(),
            outputs: self.outputs.clone(),
        }
    }
}

async fn create(provider: &AzureProvider, kind: Kind, name: &str, inputs: Attributes) -> Made {
    let address = Address::new(kind, name).unwrap();
    let request = CreateRequest { deployment: DEPLOYMENT.into(), address: address.clone(), inputs: inputs.clone() };
    let applied = provider.create(request).await.unwrap_or_else(|e| panic!("creating {address}: {e}"));
    Made { address, provider_id: applied.provider_id, inputs, outputs: applied.outputs }
}

fn base(cluster: &str, group: &Value, location: &str) -> Vec<(&'static str, Value)> {
    vec![
        ("resource_group", group.clone()),
        ("subscription", Value::Null),
        ("name", format!("demo-{cluster}").into()),
        ("location", location.into()),
    ]
}

/// A cluster's network and AKS: group, VNet, public IP, gateway, cluster.
async fn cluster(provider: &AzureProvider, n: &str, location: &str, octet: u8) -> Vec<Made> {
    let group = create(
        provider,
        azure::RESOURCE_GROUP,
        n,
        attrs(vec![("subscription", Value::Null), ("name", format!("demo-{n}").into()), ("location", location.into())]),
    )
    .await;
    let g = group.out("name");
    let mut vnet_inputs = base(n, &g, location);
    vnet_inputs.extend([
        ("address_space", strings(&[&format!("10.{octet}.0.0/16"), &format!("10.{}.0.0/16", octet + 100)])),
        (
            "subnets",
            Value::List(vec![
                subnet("nodes", &format!("10.{octet}.0.0/20")),
                subnet("pods", &format!("10.{}.0.0/16", octet + 100)),
                subnet("GatewaySubnet", &format!("10.{octet}.255.0/27")),
            ]),
        ),
    ]);
    let vnet = create(provider, azure::VIRTUAL_NETWORK, n, attrs(vnet_inputs)).await;
    let mut ip_inputs = base(n, &g, location);
    ip_inputs[2].1 = format!("demo-{n}-gateway").into();
    ip_inputs.extend([
        ("sku", "Standard".into()),
        ("allocation_method", "Static".into()),
        ("zones", strings(&["1", "2", "3"])),
    ]);
    let ip = create(provider, azure::PUBLIC_IP, n, attrs(ip_inputs)).await;
    let mut gw_inputs = base(n, &g, location);
    gw_inputs[2].1 = format!("demo-{n}-gateway").into();
    gw_inputs.extend([
        ("sku", "VpnGw1AZ".into()),
        ("vpn_type", "RouteBased".into()),
        ("public_ip_id", ip.out("id")),
        ("virtual_network_id", vnet.out("id")),
    ]);
    let gateway = create(provider, azure::VPN_GATEWAY, n, attrs(gw_inputs)).await;
    let mut aks_inputs = base(n, &g, location);
    aks_inputs.extend([
        ("dns_prefix", format!("demo-{n}").into()),
        ("kubernetes_version", "1.30".into()),
        ("node_count", 3i64.into()),
        ("vm_size", "Standard_D4s_v5".into()),
        ("zones", strings(&["1", "2", "3"])),
        ("network_plugin", "azure".into()),
        ("subnet_id", vnet.out("node_subnet_id")),
        ("pod_subnet_id", vnet.out("pod_subnet_id")),
        ("service_cidr", "10.0.0.0/16".into()),
        ("dns_service_ip", "10.0.0.10".into()),
        ("identity", "SystemAssigned".into()),
    ]);
    let aks = create(provider, azure::AKS_CLUSTER, n, attrs(aks_inputs)).await;
    vec![group, vnet, ip, gateway, aks]
}

async fn connection(provider: &AzureProvider, from: &[Made], to: &str, kind: &str, peer: Value) -> Made {
    let n = from[0].address.name();
    let mut inputs = base(n, &from[0].out("name"), from[0].inputs["location"].as_str().unwrap());
    inputs[2].1 = format!("demo-{n}-to-{to}").into();
    inputs.extend([
        ("connection_type", kind.into()),
        ("gateway_id", from[3].out("id")),
        ("peer_id", peer),
        ("shared_key", Value::secret("0123456789abcdef0123456789abcdef".into())),
    ]);
    create(provider, azure::VPN_CONNECTION, &format!("{n}~{to}"), attrs(inputs)).await
}

/// Everything: two clusters, Vnet2Vnet both ways, a local network gateway with an IPsec
/// connection, and a peering.
async fn mesh(provider: &AzureProvider) -> Vec<Made> {
    let east = cluster(provider, "eastus", "eastus", 10).await;
    let west = cluster(provider, "westus", "westus", 20).await;
    let mut all = vec![];
    all.push(connection(provider, &east, "westus", "Vnet2Vnet", west[3].out("id")).await);
    all.push(connection(provider, &west, "eastus", "Vnet2Vnet", east[3].out("id")).await);
    let mut local_inputs = base("eastus", &east[0].out("name"), "eastus");
    local_inputs[2].1 = "demo-eastus-to-aws".into();
    local_inputs
        .extend([("gateway_ip_address", "52.10.20.30".into()), ("address_prefixes", strings(&["10.1.0.0/16"]))]);
    let local = create(provider, azure::LOCAL_NETWORK_GATEWAY, "eastus~aws", attrs(local_inputs)).await;
    let ipsec = connection(provider, &east, "aws", "IPsec", local.out("id")).await;
    all.extend([local, ipsec]);
    let peering = attrs(vec![
        ("resource_group", east[0].out("name")),
        ("subscription", Value::Null),
        ("virtual_network_name", east[1].out("name")),
        ("name", "to-westus".into()),
        ("remote_virtual_network_id", west[1].out("id")),
        ("allow_virtual_network_access", true.into()),
        ("allow_forwarded_traffic", true.into()),
    ]);
    all.push(create(provider, azure::VNET_PEERING, "eastus~westus", peering).await);
    east.into_iter().chain(west).chain(all).collect()
}

async fn read(provider: &AzureProvider, kind: Kind, made: &[Made]) -> Vec<ringform_core::provider::Observed> {
    let resources = made.iter().filter(|m| m.address.kind() == kind).map(Made::tracked).collect();
    let scope = provider.scope(&made[0].address, &made[0].inputs);
    let request = ReadRequest { deployment: DEPLOYMENT.into(), kind, scope, resources };
    provider.read(request).await.unwrap_or_else(|e| panic!("reading {kind}: {e}")).found
}

const KINDS: [Kind; 8] = [
    azure::RESOURCE_GROUP,
    azure::VIRTUAL_NETWORK,
    azure::PUBLIC_IP,
    azure::VPN_GATEWAY,
    azure::AKS_CLUSTER,
    azure::VPN_CONNECTION,
    azure::LOCAL_NETWORK_GATEWAY,
    azure::VNET_PEERING,
];

#[tokio::test]
async fn the_whole_mesh_is_created_read_without_drift_found_and_deleted() {
    let arm = FakeArm::start_for_test();
    arm.set_poll_rounds(2);
    let provider = provider(&arm);
    let made = mesh(&provider).await;
    assert_eq!(made.len(), 15);

    // Outputs the graph references.
    let vnet = &made[1];
    assert!(vnet.out("node_subnet_id").as_str().unwrap().ends_with("/subnets/nodes"));
    assert!(vnet.out("pod_subnet_id").as_str().unwrap().ends_with("/subnets/pods"));
    assert!(made[2].out("ip_address").as_str().is_some_and(|ip| ip.parse::<std::net::Ipv4Addr>().is_ok()));
    let aks = &made[4];
    assert!(aks.out("fqdn").as_str().is_some());
    match aks.out("kubeconfig") {
        Value::Secret(inner) => assert!(inner.as_str().unwrap().contains("clusters:")),
        other => panic!("kubeconfig should be a secret, got {other:?}"),
    }
    for m in &made {
        if m.address.kind() != azure::VNET_PEERING {
            let stored = arm.get(&m.provider_id).unwrap_or_else(|| panic!("{} not stored", m.address));
            assert_eq!(stored.body["tags"]["ringform:address"], m.address.to_string());
            assert_eq!(stored.body["tags"]["ringform:deployment"], DEPLOYMENT);
        }
    }

    // Reads: one listing per kind and subscription (per parent VNet for peerings), no drift.
    for kind in KINDS {
        arm.clear_requests();
        let found = read(&provider, kind, &made).await;
        let expected: Vec<&Made> = made.iter().filter(|m| m.address.kind() == kind).collect();
        assert_eq!(found.len(), expected.len(), "{kind}");
        for (observed, m) in found.iter().zip(&expected) {
            assert_eq!(observed.address, m.address);
            assert_eq!(observed.provider_id, m.provider_id);
            assert_eq!(observed.inputs, m.inputs, "{} drifted", m.address);
            assert_eq!(observed.outputs, m.outputs, "{} outputs changed", m.address);
        }
        let requests = arm.requests();
        assert_eq!(requests.len(), 1, "{kind} read made {:?}", requests.iter().map(|r| &r.path).collect::<Vec<_>>());
    }

    // Find by tags, as crash recovery does.
    for m in &made {
        let request =
            FindRequest { deployment: DEPLOYMENT.into(), address: m.address.clone(), inputs: m.inputs.clone() };
        let found = provider.find(request).await.unwrap().unwrap_or_else(|| panic!("{} not found", m.address));
        assert_eq!(found.provider_id, m.provider_id);
        assert_eq!(found.inputs, m.inputs, "{}", m.address);
    }
    let stranger =
        FindRequest { deployment: "other".into(), address: made[1].address.clone(), inputs: made[1].inputs.clone() };
    assert_eq!(provider.find(stranger).await.unwrap(), None);

    // Delete in reverse dependency order, then everything reads as gone; deleting again is fine.
    for m in made.iter().rev() {
        let request = DeleteRequest {
            deployment: DEPLOYMENT.into(),
            address: m.address.clone(),
            provider_id: m.provider_id.clone(),
            inputs: m.inputs.clone(),
            outputs: m.outputs.clone(),
        };
        provider.delete(request.clone()).await.unwrap_or_else(|e| panic!("deleting {}: {e}", m.address));
        provider.delete(request).await.unwrap();
    }
    assert!(arm.resources().is_empty(), "{:?}", arm.resources().iter().map(|r| &r.id).collect::<Vec<_>>());
    for kind in KINDS {
        assert!(read(&provider, kind, &made).await.is_empty(), "{kind}");
    }
}

#[tokio::test]
async fn drift_and_out_of_band_deletes_show_in_reads() {
    let arm = FakeArm::start_for_test();
    let provider = provider(&arm);
    let made = cluster(&provider, "eastus", "eastus", 10).await;
    let aks = &made[4];
    arm.modify(&aks.provider_id, |body| body["properties"]["agentPoolProfiles"][0]["count"] = 5.into());
    let found = read(&provider, azure::AKS_CLUSTER, &made).await;
    assert_eq!(found[0].inputs["node_count"], Value::Int(5));
    assert_eq!(found[0].outputs["kubeconfig"], aks.outputs["kubeconfig"], "carried over, not fetched again");
    arm.delete_out_of_band(&made[2].provider_id);
    assert!(read(&provider, azure::PUBLIC_IP, &made).await.is_empty());
}

#[tokio::test]
async fn updates_happen_in_place() {
    let arm = FakeArm::start_for_test();
    let provider = provider(&arm);
    let made = cluster(&provider, "eastus", "eastus", 10).await;
    let update = |m: &Made, after: Attributes| UpdateRequest {
        deployment: DEPLOYMENT.into(),
        address: m.address.clone(),
        provider_id: m.provider_id.clone(),
        before: m.inputs.clone(),
        after,
        outputs: m.outputs.clone(),
    };

    let aks = &made[4];
    let mut after = aks.inputs.clone();
    after.insert("node_count".into(), 4i64.into());
    let applied = provider.update(update(aks, after.clone())).await.unwrap();
    assert_eq!(applied.provider_id, aks.provider_id);
    let stored = arm.get(&aks.provider_id).unwrap();
    assert_eq!(stored.body["properties"]["agentPoolProfiles"][0]["count"], 4);
    let found = read(&provider, azure::AKS_CLUSTER, &made).await;
    assert_eq!(found[0].inputs, after);

    // A subnet added to the VNet: the whole list goes in one PUT.
    let vnet = &made[1];
    let mut after = vnet.inputs.clone();
    if let Some(Value::List(subnets)) = after.get_mut("subnets") {
        subnets.insert(1, subnet("nodes2", "10.10.16.0/20"));
    }
    provider.update(update(vnet, after)).await.unwrap();
    let stored = arm.get(&vnet.provider_id).unwrap();
    let names: Vec<&str> =
        stored.body["properties"]["subnets"].as_array().unwrap().iter().map(|s| s["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["nodes", "nodes2", "pods", "GatewaySubnet"]);
}

#[tokio::test]
async fn throttling_and_missing_subscriptions_are_classified() {
    let arm = FakeArm::start_for_test();
    let provider = provider(&arm);
    arm.throttle_next(1, 3);
    let address = Address::new(azure::RESOURCE_GROUP, "eastus").unwrap();
    let inputs =
        attrs(vec![("subscription", Value::Null), ("name", "demo-eastus".into()), ("location", "eastus".into())]);
    let request = CreateRequest { deployment: DEPLOYMENT.into(), address: address.clone(), inputs: inputs.clone() };
    let error = provider.create(request.clone()).await.unwrap_err();
    assert_eq!(error.class, ErrorClass::Throttled { retry_after: Some(Duration::from_secs(3)) });
    provider.create(request.clone()).await.unwrap();

    let no_subscription = AzureProvider::new(AzureSettings { endpoint: arm.endpoint(), ..AzureSettings::default() });
    let error = no_subscription.create(request).await.unwrap_err();
    assert_eq!(error.class, ErrorClass::Fatal);
    assert!(error.message.contains("AZURE_SUBSCRIPTION_ID"), "{}", error.message);
}

#[tokio::test]
async fn find_refuses_to_guess_between_duplicates() {
    let arm = FakeArm::start_for_test();
    let provider = provider(&arm);
    let made = cluster(&provider, "eastus", "eastus", 10).await;
    // A second public IP claiming the same address (a copy made by hand).
    let mut inputs = made[2].inputs.clone();
    inputs.insert("name".into(), "copy".into());
    create(&provider, azure::PUBLIC_IP, "eastus", inputs).await;
    let request =
        FindRequest { deployment: DEPLOYMENT.into(), address: made[2].address.clone(), inputs: made[2].inputs.clone() };
    let error = provider.find(request).await.unwrap_err();
    assert_eq!(error.class, ErrorClass::Fatal);
    assert!(error.message.contains("2 objects"), "{}", error.message);
}

/// AKS cannot resize a pool in place (the fake ARM refuses it, as AKS does): the provider adds
/// a System pool of the new size through the agent pools API under the other of its two names,
/// deletes the old pool, then PUTs the cluster. A second change moves the nodes back.
#[tokio::test]
async fn a_vm_size_change_replaces_the_system_pool_instead_of_resizing_it() {
    let arm = FakeArm::start_for_test();
    arm.set_poll_rounds(1);
    let provider = provider(&arm);
    let made = cluster(&provider, "eastus", "eastus", 10).await;
    let mut aks = made[4].clone();
    for (vm_size, old, new) in [("Standard_D8s_v5", "system", "systemb"), ("Standard_D16s_v5", "systemb", "system")] {
        let mut after = aks.inputs.clone();
        after.insert("vm_size".into(), vm_size.into());
        arm.clear_requests();
        let request = UpdateRequest {
            deployment: DEPLOYMENT.into(),
            address: aks.address.clone(),
            provider_id: aks.provider_id.clone(),
            before: aks.inputs.clone(),
            after: after.clone(),
            outputs: aks.outputs.clone(),
        };
        let applied = provider.update(request).await.unwrap_or_else(|e| panic!("resizing to {vm_size}: {e}"));
        assert_eq!(applied.provider_id, aks.provider_id);

        // New pool first, then the old one goes, then the cluster; nothing refused.
        let requests = arm.requests();
        let writes: Vec<(&str, &str)> = requests
            .iter()
            .filter(|r| r.method != "GET")
            .map(|r| (r.method.as_str(), r.path.rsplit('/').next().unwrap_or_default()))
            .collect();
        assert_eq!(writes, [("PUT", new), ("DELETE", old), ("PUT", "demo-eastus")], "{vm_size}");
        assert!(requests.iter().all(|r| r.status < 300), "{:?}", requests.iter().map(|r| r.status).collect::<Vec<_>>());
        assert_eq!(arm.puts()[0].body.as_ref().unwrap()["properties"]["vmSize"], vm_size);

        // Exactly one System pool, of the new size; the old pool is gone.
        let stored = arm.get(&aks.provider_id).unwrap();
        let pools = stored.body["properties"]["agentPoolProfiles"].as_array().unwrap();
        let system: Vec<&serde_json::Value> = pools.iter().filter(|p| p["mode"] == "System").collect();
        assert_eq!((pools.len(), system.len()), (1, 1), "{pools:?}");
        assert_eq!((system[0]["name"].as_str(), system[0]["vmSize"].as_str()), (Some(new), Some(vm_size)));
        assert_eq!(system[0]["provisioningState"], "Succeeded");
        assert!(arm.get(&format!("{}/agentPools/{old}", aks.provider_id)).is_none(), "{old} is left");
        let pool = arm.get(&format!("{}/agentPools/{new}", aks.provider_id)).expect("the new pool");
        assert_eq!(pool.body["properties"]["vmSize"], vm_size);

        // A read reports the new size and no drift.
        aks = Made { inputs: after.clone(), outputs: applied.outputs, ..aks };
        let found = read(&provider, azure::AKS_CLUSTER, std::slice::from_ref(&aks)).await;
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].inputs["vm_size"], Value::from(vm_size));
        assert_eq!(found[0].inputs, after, "drift after resizing to {vm_size}");
        assert_eq!(found[0].outputs, aks.outputs);
    }
}

const NETWORK_CONTRIBUTOR: &str = "4d97b98b-1d4f-4787-a291-c67834d212e7";

/// PUTs `body` at `id` the way another tool would, outside the provider; returns the status.
async fn put_by_hand(arm: &FakeArm, id: &str, body: serde_json::Value) -> u16 {
    use std::io::{Read, Write};
    let (address, token, id) = (arm.endpoint().trim_start_matches("http://").to_owned(), arm.token(), id.to_owned());
    let exchange = move || {
        let body = body.to_string();
        let mut stream = std::net::TcpStream::connect(address).unwrap();
        let head = format!(
            "PUT {id}?api-version=2022-04-01 HTTP/1.1\r\nHost: management.azure.com\r\nAuthorization: Bearer {token}\r\n\
             Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            body.len()
        );
        stream.write_all(format!("{head}{body}").as_bytes()).unwrap();
        let mut answer = String::new();
        stream.read_to_string(&mut answer).unwrap();
        answer.split(' ').nth(1).and_then(|status| status.parse().ok()).unwrap_or(0)
    };
    tokio::task::spawn_blocking(exchange).await.unwrap()
}

/// AKS's identity gets Network Contributor on its VNet: at an id derived from the grant, so a
/// rerun lands on the same one; read and found by that id; one made by hand under another
/// name is adopted; an unknown principal is ARM's error.
#[tokio::test]
async fn aks_identity_is_granted_network_contributor_on_its_vnet_once() {
    let arm = FakeArm::start_for_test();
    let provider = provider(&arm);
    let made = cluster(&provider, "eastus", "eastus", 10).await;
    let (vnet, aks) = (&made[1], &made[4]);
    let principal = aks.out("principal_id");
    let stored = arm.get(&aks.provider_id).unwrap();
    assert_eq!(principal.as_str(), stored.body["identity"]["principalId"].as_str());
    let inputs = attrs(vec![
        ("subscription", Value::Null),
        ("scope", vnet.out("id")),
        ("role_definition_id", NETWORK_CONTRIBUTOR.into()),
        ("principal_id", principal.clone()),
    ]);
    let grant = create(&provider, azure::ROLE_ASSIGNMENT, "eastus", inputs.clone()).await;
    let under_vnet = format!("{}/providers/Microsoft.Authorization/roleAssignments/", vnet.provider_id);
    assert!(grant.provider_id.starts_with(&under_vnet), "{}", grant.provider_id);
    assert_eq!(grant.out("id"), Value::from(grant.provider_id.as_str()));
    let stored = arm.get(&grant.provider_id).unwrap();
    assert_eq!(stored.body["properties"]["principalType"], "ServicePrincipal");
    assert!(stored.body["properties"]["roleDefinitionId"].as_str().unwrap().ends_with(NETWORK_CONTRIBUTOR));

    let again = create(&provider, azure::ROLE_ASSIGNMENT, "eastus", inputs.clone()).await;
    assert_eq!(again.provider_id, grant.provider_id);
    arm.clear_requests();
    let found = read(&provider, azure::ROLE_ASSIGNMENT, std::slice::from_ref(&grant)).await;
    assert_eq!(found.len(), 1);
    assert_eq!((&found[0].inputs, &found[0].outputs), (&grant.inputs, &grant.outputs), "no drift");
    assert_eq!(arm.requests().len(), 1, "one GET at its id");
    let request = FindRequest { deployment: DEPLOYMENT.into(), address: grant.address.clone(), inputs: inputs.clone() };
    assert_eq!(provider.find(request).await.unwrap().map(|f| f.provider_id), Some(grant.provider_id.clone()));

    let delete = DeleteRequest {
        deployment: DEPLOYMENT.into(),
        address: grant.address.clone(),
        provider_id: grant.provider_id.clone(),
        inputs: inputs.clone(),
        outputs: grant.outputs.clone(),
    };
    provider.delete(delete.clone()).await.unwrap();
    provider.delete(delete).await.unwrap();
    assert!(arm.get(&grant.provider_id).is_none());
    assert!(read(&provider, azure::ROLE_ASSIGNMENT, std::slice::from_ref(&grant)).await.is_empty());

    // As `az role assignment create` grants it: under a random name, which ringform adopts.
    let by_hand = format!("{under_vnet}3f2504e0-4f89-41d3-9a0c-0305e82c3301");
    let body = serde_json::json!({ "properties": {
        "roleDefinitionId": format!("/subscriptions/{SUB}/providers/Microsoft.Authorization/roleDefinitions/{NETWORK_CONTRIBUTOR}"),
        "principalId": principal.as_str().unwrap(),
    }});
    assert_eq!(put_by_hand(&arm, &by_hand, body).await, 201);
    let adopted = create(&provider, azure::ROLE_ASSIGNMENT, "eastus", inputs.clone()).await;
    assert!(adopted.provider_id.eq_ignore_ascii_case(&by_hand), "{}", adopted.provider_id);
    let assignments = arm.resources().into_iter().filter(|r| r.r#type == "Microsoft.Authorization/roleAssignments");
    assert_eq!(assignments.count(), 1);

    let mut stranger = inputs;
    stranger.insert("principal_id".into(), "11111111-2222-3333-4444-555555555555".into());
    let address = Address::new(azure::ROLE_ASSIGNMENT, "eastus").unwrap();
    let request = CreateRequest { deployment: DEPLOYMENT.into(), address, inputs: stranger };
    let error = provider.create(request).await.unwrap_err();
    assert_eq!(error.class, ErrorClass::Fatal);
    assert!(error.message.contains("PrincipalNotFound"), "{}", error.message);
}
