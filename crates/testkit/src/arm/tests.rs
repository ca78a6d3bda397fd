//! The fake ARM driven over real HTTP by the deliberately dumb [`client`], so the tests see
//! exactly what goes over the wire.

use std::time::Duration;

use base64::Engine;
use serde_json::{Value, json};

use super::FakeArm;
use crate::http::client;

const SUB: &str = "/subscriptions/00000000-0000-0000-0000-0000000000aa";
const NETWORK_VERSION: &str = "2024-05-01";
const GROUP_VERSION: &str = "2021-04-01";
const AKS_VERSION: &str = "2024-09-01";
const AUTHORIZATION_VERSION: &str = "2022-04-01";
const LOCATION: &str = "westeurope";

struct Response {
    status: u16,
    headers: Vec<(String, String)>,
    body: Value,
}

impl Response {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    fn code(&self) -> &str {
        self.body["error"]["code"].as_str().unwrap_or_default()
    }

    #[track_caller]
    fn expect(self, status: u16, code: &str) -> Response {
        assert_eq!((self.status, self.code()), (status, code), "body: {}", self.body);
        self
    }
}

fn raw(arm: &FakeArm, method: &str, target: &str, body: &[u8], token: Option<&str>) -> Response {
    let endpoint = arm.endpoint();
    let target = target.strip_prefix(&endpoint).unwrap_or(target);
    let authorization = token.map(|t| format!("Bearer {t}"));
    let mut headers = vec![("Host", "management.azure.com"), ("Content-Type", "application/json")];
    headers.extend(authorization.as_deref().map(|a| ("Authorization", a)));
    let answer = client::request(&endpoint, method, target, &headers, body);
    let body =
        if answer.body.is_empty() { Value::Null } else { serde_json::from_str(&answer.body).expect("a JSON body") };
    Response { status: answer.status, headers: answer.headers, body }
}

fn call(arm: &FakeArm, method: &str, target: &str, body: Option<&Value>) -> Response {
    let bytes = body.map(|b| serde_json::to_vec(b).unwrap()).unwrap_or_default();
    raw(arm, method, target, &bytes, Some(&arm.token()))
}

/// `path` with the api-version its type pins.
fn at(path: &str) -> String {
    let version = if path.contains("Microsoft.Authorization") {
        AUTHORIZATION_VERSION
    } else if path.contains("Microsoft.ContainerService") {
        AKS_VERSION
    } else if path.contains("/providers/") {
        NETWORK_VERSION
    } else {
        GROUP_VERSION
    };
    format!("{path}?api-version={version}")
}

/// Polls an operation URL until it leaves `InProgress`; returns the final status body.
fn wait(arm: &FakeArm, status_url: &str) -> Value {
    for _ in 0..100 {
        let poll = call(arm, "GET", status_url, None);
        assert_eq!(poll.status, 200, "{}", poll.body);
        if poll.body["status"] != "InProgress" {
            return poll.body;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    panic!("operation {status_url} never ended");
}

/// PUTs a resource and waits for its operation; returns the resource as GET shows it after.
#[track_caller]
fn create(arm: &FakeArm, path: &str, body: Value) -> Value {
    let put = call(arm, "PUT", &at(path), Some(&body));
    assert!(matches!(put.status, 200 | 201), "PUT {path}: {} {}", put.status, put.body);
    if let Some(url) = put.header("Azure-AsyncOperation") {
        assert_eq!(wait(arm, url)["status"], "Succeeded");
    }
    let get = call(arm, "GET", &at(path), None);
    assert_eq!(get.status, 200, "{}", get.body);
    get.body
}

fn group(name: &str) -> String {
    format!("{SUB}/resourceGroups/{name}")
}

fn network(rg: &str, kind: &str, name: &str) -> String {
    format!("{}/providers/Microsoft.Network/{kind}/{name}", group(rg))
}

fn cluster(rg: &str, name: &str) -> String {
    format!("{}/providers/Microsoft.ContainerService/managedClusters/{name}", group(rg))
}

fn group_body() -> Value {
    json!({ "location": LOCATION, "tags": { "owner": "ringform" } })
}

fn vnet_body(prefix: u8) -> Value {
    json!({
        "location": LOCATION,
        "properties": {
            "addressSpace": { "addressPrefixes": [format!("10.{prefix}.0.0/16")] },
            "subnets": [
                { "name": "GatewaySubnet", "properties": { "addressPrefix": format!("10.{prefix}.255.0/27") } },
                { "name": "nodes", "properties": { "addressPrefix": format!("10.{prefix}.0.0/20") } },
                { "name": "pods", "properties": { "addressPrefix": format!("10.{prefix}.64.0/18") } }
            ]
        }
    })
}

fn public_ip_body() -> Value {
    json!({
        "location": LOCATION,
        "sku": { "name": "Standard", "tier": "Regional" },
        "zones": ["1", "2", "3"],
        "properties": { "publicIPAllocationMethod": "Static", "publicIPAddressVersion": "IPv4" }
    })
}

fn gateway_body(subnet: &str, ip: &str) -> Value {
    json!({
        "location": LOCATION,
        "properties": {
            "gatewayType": "Vpn",
            "vpnType": "RouteBased",
            "vpnGatewayGeneration": "Generation1",
            "sku": { "name": "VpnGw1AZ", "tier": "VpnGw1AZ" },
            "activeActive": false,
            "enableBgp": false,
            "ipConfigurations": [{
                "name": "default",
                "properties": {
                    "privateIPAllocationMethod": "Dynamic",
                    "subnet": { "id": subnet },
                    "publicIPAddress": { "id": ip }
                }
            }]
        }
    })
}

fn connection_body(from: &str, to: &str, shared_key: Option<&str>) -> Value {
    let mut body = json!({
        "location": LOCATION,
        "properties": {
            "connectionType": "Vnet2Vnet",
            "virtualNetworkGateway1": { "id": from, "properties": {} },
            "virtualNetworkGateway2": { "id": to, "properties": {} },
            "enableBgp": false
        }
    });
    if let Some(key) = shared_key {
        body["properties"]["sharedKey"] = key.into();
    }
    body
}

fn aks_body(nodes: &str, pods: &str) -> Value {
    json!({
        "location": LOCATION,
        "identity": { "type": "SystemAssigned" },
        "properties": {
            "dnsPrefix": "ring-a",
            "kubernetesVersion": "1.30.6",
            "agentPoolProfiles": [{
                "name": "system",
                "mode": "System",
                "count": 3,
                "vmSize": "Standard_D4s_v5",
                "osType": "Linux",
                "type": "VirtualMachineScaleSets",
                "vnetSubnetID": nodes,
                "podSubnetID": pods
            }],
            "networkProfile": { "networkPlugin": "azure", "serviceCidr": "10.250.0.0/16", "dnsServiceIP": "10.250.0.10" }
        }
    })
}

fn pool(rg: &str, cluster_name: &str, name: &str) -> String {
    format!("{}/agentPools/{name}", cluster(rg, cluster_name))
}

/// The agent pools API's body: a profile's fields under `properties`, without the name.
fn pool_body(vm_size: &str, mode: &str, nodes: &str) -> Value {
    json!({
        "properties": {
            "count": 3,
            "vmSize": vm_size,
            "mode": mode,
            "osType": "Linux",
            "type": "VirtualMachineScaleSets",
            "availabilityZones": ["1", "2", "3"],
            "vnetSubnetID": nodes
        }
    })
}

/// A group, a network and a cluster with one System pool, `system`; returns the nodes and pods
/// subnet ids.
fn aks_site(arm: &FakeArm) -> (String, String) {
    create(arm, &group("rg"), group_body());
    let vnet = create(arm, &network("rg", "virtualNetworks", "vnet"), vnet_body(1));
    let subnets = &vnet["properties"]["subnets"];
    let (nodes, pods) = (subnets[1]["id"].as_str().unwrap(), subnets[2]["id"].as_str().unwrap());
    create(arm, &cluster("rg", "aks"), aks_body(nodes, pods));
    (nodes.to_string(), pods.to_string())
}

/// The names and VM sizes of a cluster's profiles, as stored.
fn profiles(arm: &FakeArm) -> Vec<(String, String)> {
    let stored = arm.get(&cluster("rg", "aks")).unwrap();
    let profiles = stored.body["properties"]["agentPoolProfiles"].as_array().unwrap().clone();
    profiles.iter().map(|p| (p["name"].as_str().unwrap().into(), p["vmSize"].as_str().unwrap().into())).collect()
}

/// A group with a network, a public IP and a VPN gateway in it; returns the gateway's id.
fn gateway_site(arm: &FakeArm, rg: &str, prefix: u8) -> String {
    create(arm, &group(rg), group_body());
    let vnet = create(arm, &network(rg, "virtualNetworks", "vnet"), vnet_body(prefix));
    let ip = create(arm, &network(rg, "publicIPAddresses", "gw-ip"), public_ip_body());
    let subnet = vnet["properties"]["subnets"][0]["id"].as_str().unwrap().to_string();
    let gateway =
        create(arm, &network(rg, "virtualNetworkGateways", "gw"), gateway_body(&subnet, ip["id"].as_str().unwrap()));
    gateway["id"].as_str().unwrap().to_string()
}

#[test]
fn the_server_can_be_shared_across_threads() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<FakeArm>();
}

#[tokio::test]
async fn starts_and_stops_inside_an_async_runtime() {
    let arm = FakeArm::start_for_test();
    let arm = tokio::task::spawn_blocking(move || {
        call(&arm, "PUT", &at(&group("rg")), Some(&group_body())).expect(201, "");
        arm
    })
    .await
    .unwrap();
    assert_eq!(arm.resources().len(), 1);
    drop(arm);
}

#[test]
fn every_type_accepts_a_schema_valid_body() {
    let arm = FakeArm::start_for_test();
    let rg = create(&arm, &group("rg-a"), group_body());
    assert_eq!(rg["properties"]["provisioningState"], "Succeeded");
    assert_eq!(rg["type"], "Microsoft.Resources/resourceGroups");

    let gw_a = gateway_site(&arm, "rg-a", 1);
    let gw_b = gateway_site(&arm, "rg-b", 2);
    let ip = arm.get(&network("rg-a", "publicIPAddresses", "gw-ip")).unwrap();
    assert!(ip.body["properties"]["ipAddress"].as_str().unwrap().starts_with("20."));
    let vnet = arm.get(&network("rg-a", "virtualNetworks", "vnet")).unwrap();
    assert_eq!(
        vnet.body["properties"]["subnets"][1]["id"],
        format!("{}/subnets/nodes", network("rg-a", "virtualNetworks", "vnet"))
    );

    let connection =
        create(&arm, &network("rg-a", "connections", "a-to-b"), connection_body(&gw_a, &gw_b, Some("s3cret")));
    assert_eq!(connection["properties"]["provisioningState"], "Succeeded");
    assert_eq!(connection["properties"]["connectionStatus"], "Connected");

    let local = json!({
        "location": LOCATION,
        "properties": {
            "gatewayIpAddress": "203.0.113.10",
            "localNetworkAddressSpace": { "addressPrefixes": ["172.16.0.0/16"] }
        }
    });
    create(&arm, &network("rg-a", "localNetworkGateways", "aws-side"), local);

    let peering = json!({
        "properties": {
            "remoteVirtualNetwork": { "id": network("rg-b", "virtualNetworks", "vnet") },
            "allowVirtualNetworkAccess": true,
            "allowForwardedTraffic": true
        }
    });
    let peering =
        create(&arm, &format!("{}/virtualNetworkPeerings/a-to-b", network("rg-a", "virtualNetworks", "vnet")), peering);
    assert_eq!(peering["type"], "Microsoft.Network/virtualNetworks/virtualNetworkPeerings");
    assert_eq!(peering["properties"]["peeringState"], "Initiated");

    let subnets = &vnet.body["properties"]["subnets"];
    let aks = aks_body(subnets[1]["id"].as_str().unwrap(), subnets[2]["id"].as_str().unwrap());
    let aks = create(&arm, &cluster("rg-a", "aks"), aks);
    assert_eq!(aks["properties"]["provisioningState"], "Succeeded");
    assert!(aks["properties"]["fqdn"].as_str().unwrap().ends_with(".hcp.westeurope.azmk8s.io"));
    assert_eq!(aks["properties"]["agentPoolProfiles"][0]["vmSize"], "Standard_D4s_v5");
    assert!(aks["identity"]["principalId"].is_string());

    let types: Vec<String> = arm.resources().into_iter().map(|r| r.r#type).collect();
    assert_eq!(types.len(), 13, "{types:?}");
    assert!(types.contains(&"Microsoft.ContainerService/managedClusters/agentPools".to_string()), "{types:?}");
}

#[test]
fn schema_violations_are_rejected_with_arm_errors() {
    let arm = FakeArm::start_for_test();
    create(&arm, &group("rg"), group_body());

    let mut vnet = vnet_body(1);
    vnet["properties"]["addressSpace"]["addressPrefixes"] = "10.1.0.0/16".into();
    let wrong_type = call(&arm, "PUT", &at(&network("rg", "virtualNetworks", "vnet")), Some(&vnet))
        .expect(400, "InvalidRequestContent");
    let detail = &wrong_type.body["error"]["details"][0];
    assert_eq!(detail["target"], "/properties/addressSpace/addressPrefixes", "{detail}");
    assert_eq!(detail["code"], "InvalidPropertyType");

    let mut aks = aks_body("x", "y");
    aks["identity"]["type"] = "Bogus".into();
    let wrong_enum = call(&arm, "PUT", &at(&cluster("rg", "aks")), Some(&aks)).expect(400, "InvalidRequestContent");
    let details = wrong_enum.body["error"]["details"].as_array().unwrap();
    assert!(details.iter().any(|d| d["target"] == "/identity/type" && d["code"] == "InvalidEnumValue"), "{details:?}");

    let mut connection = connection_body("a", "b", Some("k"));
    connection["properties"].as_object_mut().unwrap().remove("connectionType");
    let missing = call(&arm, "PUT", &at(&network("rg", "connections", "c")), Some(&connection))
        .expect(400, "InvalidRequestContent");
    assert_eq!(missing.body["error"]["details"][0]["target"], "/properties/connectionType");
    assert_eq!(missing.body["error"]["details"][0]["code"], "MissingRequiredProperty");

    let no_location = call(&arm, "PUT", &at(&network("rg", "publicIPAddresses", "ip")), Some(&json!({})));
    no_location.expect(400, "LocationRequired");
    call(&arm, "PUT", &at(&group("other")), Some(&json!({ "tags": {} }))).expect(400, "InvalidRequestContent");
    assert!(arm.resources().len() == 1, "nothing invalid was stored");
}

#[test]
fn api_version_and_token_are_required() {
    let arm = FakeArm::start_for_test();
    let path = group("rg");
    call(&arm, "PUT", &path, Some(&group_body())).expect(400, "MissingApiVersionParameter");
    let wrong = call(&arm, "PUT", &format!("{path}?api-version=2019-01-01"), Some(&group_body()))
        .expect(400, "InvalidApiVersionParameter");
    assert!(wrong.body["error"]["message"].as_str().unwrap().contains(GROUP_VERSION));
    let vnet = format!("{}?api-version={GROUP_VERSION}", network("rg", "virtualNetworks", "v"));
    call(&arm, "GET", &vnet, None).expect(400, "InvalidApiVersionParameter");

    let body = serde_json::to_vec(&group_body()).unwrap();
    let anonymous = raw(&arm, "PUT", &at(&path), &body, None).expect(401, "AuthenticationFailed");
    assert!(anonymous.header("WWW-Authenticate").is_some());
    raw(&arm, "PUT", &at(&path), &body, Some("stolen")).expect(401, "InvalidAuthenticationToken");
    assert!(arm.resources().is_empty());
}

#[test]
fn put_reports_in_progress_for_the_poll_rounds_then_succeeded() {
    let arm = FakeArm::start_for_test();
    create(&arm, &group("rg"), group_body());
    arm.set_poll_rounds(2);
    arm.set_retry_after(3);
    let path = network("rg", "virtualNetworks", "vnet");
    let put = call(&arm, "PUT", &at(&path), Some(&vnet_body(1))).expect(201, "");
    assert_eq!(put.body["properties"]["provisioningState"], "Updating");
    assert_eq!(put.header("Retry-After"), Some("3"));
    let url = put.header("Azure-AsyncOperation").unwrap().to_string();
    let expected = format!("{}{SUB}/providers/Microsoft.Network/locations/westeurope/operations/", arm.endpoint());
    assert!(url.starts_with(&expected) && url.ends_with(&format!("?api-version={NETWORK_VERSION}")), "{url}");

    let statuses: Vec<Value> = (0..3).map(|_| call(&arm, "GET", &url, None).body["status"].clone()).collect();
    assert_eq!(statuses, ["InProgress", "InProgress", "Succeeded"]);
    let get = call(&arm, "GET", &at(&path), None).expect(200, "");
    assert_eq!(get.body["properties"]["provisioningState"], "Succeeded");
    assert_eq!(get.body["properties"]["subnets"][0]["properties"]["provisioningState"], "Succeeded");

    let update = call(&arm, "PUT", &at(&path), Some(&vnet_body(1))).expect(200, "");
    assert_eq!(update.body["properties"]["resourceGuid"], get.body["properties"]["resourceGuid"]);
    assert_ne!(update.body["etag"], get.body["etag"]);
    call(&arm, "PUT", &at(&path), Some(&vnet_body(1))).expect(409, "AnotherOperationInProgress");
}

#[test]
fn provisioning_delay_holds_the_operation_in_progress() {
    let arm = FakeArm::start_for_test();
    create(&arm, &group("rg"), group_body());
    arm.set_provisioning_delay("publicIPAddresses", Duration::from_millis(300));
    let put = call(&arm, "PUT", &at(&network("rg", "publicIPAddresses", "ip")), Some(&public_ip_body()));
    let url = put.header("Azure-AsyncOperation").unwrap().to_string();
    assert_eq!(call(&arm, "GET", &url, None).body["status"], "InProgress");
    std::thread::sleep(Duration::from_millis(350));
    assert_eq!(call(&arm, "GET", &url, None).body["status"], "Succeeded");
}

#[test]
fn delete_answers_202_with_a_location_to_poll() {
    let arm = FakeArm::start_for_test();
    create(&arm, &group("rg"), group_body());
    let path = network("rg", "publicIPAddresses", "ip");
    create(&arm, &path, public_ip_body());
    arm.set_poll_rounds(1);
    let delete = call(&arm, "DELETE", &at(&path), None).expect(202, "");
    let location = delete.header("Location").unwrap().to_string();
    assert!(location.contains("/operationResults/"), "{location}");
    assert_eq!(call(&arm, "GET", &location, None).status, 202);
    assert_eq!(call(&arm, "GET", &location, None).status, 204);
    call(&arm, "GET", &at(&path), None).expect(404, "ResourceNotFound");
    assert_eq!(call(&arm, "DELETE", &at(&path), None).status, 204, "deleting what is gone is fine");
    call(&arm, "GET", &at(&group("nope")), None).expect(404, "ResourceGroupNotFound");
    call(&arm, "DELETE", &at(&group("nope")), None).expect(404, "ResourceGroupNotFound");
}

#[test]
fn resource_group_delete_cascades() {
    let arm = FakeArm::start_for_test();
    gateway_site(&arm, "rg-a", 1);
    gateway_site(&arm, "rg-b", 2);
    let vnet_b = network("rg-b", "virtualNetworks", "vnet");
    let peer = |from: &str, to: &str| {
        let body =
            json!({ "properties": { "remoteVirtualNetwork": { "id": network(to, "virtualNetworks", "vnet") } } });
        create(&arm, &format!("{}/virtualNetworkPeerings/to-{to}", network(from, "virtualNetworks", "vnet")), body)
    };
    peer("rg-a", "rg-b");
    let back = peer("rg-b", "rg-a");
    assert_eq!(back["properties"]["peeringState"], "Connected");

    let delete = call(&arm, "DELETE", &at(&group("rg-a")), None).expect(202, "");
    assert_eq!(call(&arm, "GET", delete.header("Location").unwrap(), None).status, 204);
    let left: Vec<String> = arm.resources().into_iter().map(|r| r.id).collect();
    assert!(left.iter().all(|id| id.contains("/rg-b")), "{left:?}");
    let orphan = arm.get(&format!("{vnet_b}/virtualNetworkPeerings/to-rg-a")).unwrap();
    assert_eq!(orphan.body["properties"]["peeringState"], "Disconnected");
    call(&arm, "PUT", &at(&network("rg-a", "virtualNetworks", "v")), Some(&vnet_body(3)))
        .expect(404, "ResourceGroupNotFound");
}

#[test]
fn peerings_connect_when_both_sides_exist_and_disconnect_when_one_goes() {
    let arm = FakeArm::start_for_test();
    create(&arm, &group("rg"), group_body());
    let (a, b) = (network("rg", "virtualNetworks", "a"), network("rg", "virtualNetworks", "b"));
    create(&arm, &a, vnet_body(1));
    create(&arm, &b, vnet_body(2));
    let peering = |remote: &str| json!({ "properties": { "remoteVirtualNetwork": { "id": remote } } });
    let (a_to_b, b_to_a) = (format!("{a}/virtualNetworkPeerings/to-b"), format!("{b}/virtualNetworkPeerings/to-a"));
    assert_eq!(create(&arm, &a_to_b, peering(&b))["properties"]["peeringState"], "Initiated");
    let back = create(&arm, &b_to_a, peering(&a));
    assert_eq!(back["properties"]["peeringState"], "Connected");
    assert_eq!(back["properties"]["remoteAddressSpace"]["addressPrefixes"][0], "10.1.0.0/16");
    let listed = call(&arm, "GET", &at(&format!("{a}/virtualNetworkPeerings")), None).expect(200, "");
    assert_eq!(listed.body["value"][0]["properties"]["peeringState"], "Connected");

    // A peered network can go; its peerings go with it and the other side disconnects.
    let delete = call(&arm, "DELETE", &at(&b), None).expect(202, "");
    assert_eq!(call(&arm, "GET", delete.header("Location").unwrap(), None).status, 204);
    assert!(arm.get(&b_to_a).is_none());
    assert_eq!(arm.get(&a_to_b).unwrap().body["properties"]["peeringState"], "Disconnected");
}

#[test]
fn resources_in_use_cannot_be_deleted() {
    let arm = FakeArm::start_for_test();
    let gw_a = gateway_site(&arm, "rg-a", 1);
    let gw_b = gateway_site(&arm, "rg-b", 2);
    let connection = network("rg-a", "connections", "a-to-b");
    create(&arm, &connection, connection_body(&gw_a, &gw_b, Some("k")));

    call(&arm, "DELETE", &at(&network("rg-a", "virtualNetworks", "vnet")), None)
        .expect(400, "InUseSubnetCannotBeDeleted");
    call(&arm, "DELETE", &at(&network("rg-a", "publicIPAddresses", "gw-ip")), None).expect(400, "PublicIPAddressInUse");
    call(&arm, "DELETE", &at(&gw_b), None).expect(400, "InUseVirtualNetworkGatewayCannotBeDeleted");
    let mut shrunk = vnet_body(1);
    shrunk["properties"]["subnets"].as_array_mut().unwrap().remove(0);
    call(&arm, "PUT", &at(&network("rg-a", "virtualNetworks", "vnet")), Some(&shrunk))
        .expect(400, "InUseSubnetCannotBeDeleted");

    // In dependency order everything goes.
    for path in
        [connection, gw_a, network("rg-a", "publicIPAddresses", "gw-ip"), network("rg-a", "virtualNetworks", "vnet")]
    {
        let delete = call(&arm, "DELETE", &at(&path), None).expect(202, "");
        assert_eq!(wait(&arm, delete.header("Azure-AsyncOperation").unwrap())["status"], "Succeeded");
    }
}

#[test]
fn provider_rules_beyond_the_schema() {
    let arm = FakeArm::start_for_test();
    create(&arm, &group("rg"), group_body());
    let vnet = create(&arm, &network("rg", "virtualNetworks", "vnet"), vnet_body(1));
    let ip = create(&arm, &network("rg", "publicIPAddresses", "ip"), public_ip_body());
    let gateway = network("rg", "virtualNetworkGateways", "gw");
    let (gateway_subnet, nodes) = (
        vnet["properties"]["subnets"][0]["id"].as_str().unwrap(),
        vnet["properties"]["subnets"][1]["id"].as_str().unwrap(),
    );
    let ip = ip["id"].as_str().unwrap();

    let missing_ip = gateway_body(gateway_subnet, &network("rg", "publicIPAddresses", "nope"));
    call(&arm, "PUT", &at(&gateway), Some(&missing_ip)).expect(400, "InvalidResourceReference");
    call(&arm, "PUT", &at(&gateway), Some(&gateway_body(nodes, ip))).expect(400, "InvalidGatewaySubnet");
    let missing_subnet = format!("{}/subnets/nope", network("rg", "virtualNetworks", "vnet"));
    call(&arm, "PUT", &at(&gateway), Some(&gateway_body(&missing_subnet, ip))).expect(400, "InvalidResourceReference");
    let gw = create(&arm, &gateway, gateway_body(gateway_subnet, ip));
    let gw = gw["id"].as_str().unwrap();

    let connection = network("rg", "connections", "c");
    call(&arm, "PUT", &at(&connection), Some(&connection_body(gw, gw, None))).expect(400, "SharedKeyRequired");
    let mut one_ended = connection_body(gw, gw, Some("k"));
    one_ended["properties"].as_object_mut().unwrap().remove("virtualNetworkGateway2");
    call(&arm, "PUT", &at(&connection), Some(&one_ended)).expect(400, "MissingJsonReferenceId");

    let aks = aks_body(nodes, &format!("{}/subnets/nope", network("rg", "virtualNetworks", "vnet")));
    call(&arm, "PUT", &at(&cluster("rg", "aks")), Some(&aks)).expect(400, "InvalidResourceReference");

    let peering =
        json!({ "properties": { "remoteVirtualNetwork": { "id": network("rg", "virtualNetworks", "vnet") } } });
    let orphan = format!("{}/virtualNetworkPeerings/p", network("rg", "virtualNetworks", "nope"));
    call(&arm, "PUT", &at(&orphan), Some(&peering)).expect(404, "ParentResourceNotFound");
    call(&arm, "PUT", &at(&network("ghost", "virtualNetworks", "v")), Some(&vnet_body(2)))
        .expect(404, "ResourceGroupNotFound");

    let mut moved = vnet_body(1);
    moved["location"] = "northeurope".into();
    call(&arm, "PUT", &at(&network("rg", "virtualNetworks", "vnet")), Some(&moved))
        .expect(409, "InvalidResourceLocation");
}

#[test]
fn throttling_and_injected_failures() {
    let arm = FakeArm::start_for_test();
    arm.throttle_next(2, 7);
    for _ in 0..2 {
        let throttled = call(&arm, "GET", &at(&group("rg")), None).expect(429, "TooManyRequests");
        assert_eq!(throttled.header("Retry-After"), Some("7"));
    }
    arm.fail_next(1, 500);
    call(&arm, "PUT", &at(&group("rg")), Some(&group_body())).expect(500, "InternalServerError");
    call(&arm, "PUT", &at(&group("rg")), Some(&group_body())).expect(201, "");
    assert_eq!(arm.count_calls("PUT", "resourceGroups"), 2);
    assert_eq!(arm.count_calls("get", "Microsoft.Resources/resourceGroups"), 2);
    assert_eq!(arm.puts().iter().map(|r| r.status).collect::<Vec<_>>(), [500, 201]);
    assert_eq!(arm.puts()[1].body, Some(group_body()));

    arm.fail_next_operations(1, "GatewayProvisioningFailed", "no capacity");
    let put = call(&arm, "PUT", &at(&network("rg", "publicIPAddresses", "ip")), Some(&public_ip_body()));
    let status = wait(&arm, put.header("Azure-AsyncOperation").unwrap());
    assert_eq!(
        (status["status"].as_str(), status["error"]["code"].as_str()),
        (Some("Failed"), Some("GatewayProvisioningFailed"))
    );
    let ip = arm.get(&network("rg", "publicIPAddresses", "ip")).unwrap();
    assert_eq!(ip.body["properties"]["provisioningState"], "Failed");
}

#[test]
fn lists_page_with_next_link_and_filter_by_tag() {
    let arm = FakeArm::start_for_test();
    for i in 0..5 {
        let mut body = group_body();
        body["tags"]["team"] = if i % 2 == 0 { "cassandra" } else { "other" }.into();
        create(&arm, &group(&format!("rg-{i}")), body);
    }
    arm.set_page_size(2);
    let mut names = Vec::new();
    let mut next = Some(at(&format!("{SUB}/resourcegroups")));
    while let Some(url) = next {
        let page = call(&arm, "GET", &url, None).expect(200, "");
        names.extend(page.body["value"].as_array().unwrap().iter().map(|g| g["name"].as_str().unwrap().to_string()));
        next = page.body["nextLink"].as_str().map(str::to_string);
    }
    assert_eq!(names, ["rg-0", "rg-1", "rg-2", "rg-3", "rg-4"]);

    arm.set_page_size(10);
    let filter = "%24filter=tagName%20eq%20%27team%27%20and%20tagValue%20eq%20%27cassandra%27";
    let filtered = call(&arm, "GET", &format!("{}&{filter}", at(&format!("{SUB}/resourcegroups"))), None);
    assert_eq!(filtered.body["value"].as_array().unwrap().len(), 3, "{}", filtered.body);

    create(&arm, &network("rg-0", "publicIPAddresses", "a"), public_ip_body());
    create(&arm, &network("rg-1", "publicIPAddresses", "b"), public_ip_body());
    let all = call(&arm, "GET", &at(&format!("{SUB}/providers/Microsoft.Network/publicIPAddresses")), None);
    assert_eq!(all.body["value"].as_array().unwrap().len(), 2);
    let in_group =
        call(&arm, "GET", &at(&format!("{}/providers/Microsoft.Network/publicIPAddresses", group("rg-1"))), None);
    assert_eq!(in_group.body["value"][0]["name"], "b");
    assert!(in_group.body.get("nextLink").is_none());
}

#[test]
fn ids_are_case_insensitive() {
    let arm = FakeArm::start_for_test();
    create(&arm, &group("MyGroup"), group_body());
    let path = network("MyGroup", "virtualNetworks", "Vnet-A");
    create(&arm, &path, vnet_body(1));
    let shouted = format!("{SUB}/RESOURCEGROUPS/mygroup/providers/microsoft.network/VIRTUALNETWORKS/vnet-a");
    let get = call(&arm, "GET", &at(&shouted), None).expect(200, "");
    assert_eq!(get.body["id"], path, "the id keeps the spelling of the first PUT");
    assert_eq!(call(&arm, "PUT", &at(&shouted), Some(&vnet_body(1))).status, 200);
    assert_eq!(arm.get(&path.to_uppercase()).unwrap().id, path);
    assert_eq!(arm.resources().len(), 2);
}

#[test]
fn cluster_admin_credential_is_a_kubeconfig() {
    let arm = FakeArm::start_for_test();
    create(&arm, &group("rg"), group_body());
    let vnet = create(&arm, &network("rg", "virtualNetworks", "vnet"), vnet_body(1));
    let subnets = &vnet["properties"]["subnets"];
    let aks = aks_body(subnets[1]["id"].as_str().unwrap(), subnets[2]["id"].as_str().unwrap());
    let aks = create(&arm, &cluster("rg", "aks"), aks);
    let path = format!("{}/listClusterAdminCredential", cluster("rg", "aks"));
    let credential = call(&arm, "POST", &at(&path), None).expect(200, "");
    assert_eq!(credential.body["kubeconfigs"][0]["name"], "clusterAdmin");
    let encoded = credential.body["kubeconfigs"][0]["value"].as_str().unwrap();
    let yaml = String::from_utf8(base64::engine::general_purpose::STANDARD.decode(encoded).unwrap()).unwrap();
    assert!(yaml.contains(&format!("server: https://{}:443", aks["properties"]["fqdn"].as_str().unwrap())), "{yaml}");
    assert!(yaml.contains("token: "), "{yaml}");
    call(&arm, "POST", &at(&format!("{}/listClusterAdminCredential", cluster("rg", "nope"))), None)
        .expect(404, "ResourceNotFound");
}

#[test]
fn a_connection_shared_key_is_only_served_by_its_own_endpoint() {
    let arm = FakeArm::start_for_test();
    let gw_a = gateway_site(&arm, "rg-a", 1);
    let gw_b = gateway_site(&arm, "rg-b", 2);
    let path = network("rg-a", "connections", "c");
    let put = call(&arm, "PUT", &at(&path), Some(&connection_body(&gw_a, &gw_b, Some("s3cret"))));
    assert!(put.body["properties"].get("sharedKey").is_none(), "{}", put.body);
    let get = call(&arm, "GET", &at(&path), None);
    assert!(get.body["properties"].get("sharedKey").is_none());
    let key = call(&arm, "GET", &at(&format!("{path}/sharedkey")), None).expect(200, "");
    assert_eq!(key.body, json!({ "value": "s3cret" }));
    assert_eq!(arm.get(&path).unwrap().body["properties"]["sharedKey"], "s3cret");
}

#[test]
fn out_of_band_edits_show_up_as_drift() {
    let arm = FakeArm::start_for_test();
    create(&arm, &group("rg"), group_body());
    let path = network("rg", "virtualNetworks", "vnet");
    let before = create(&arm, &path, vnet_body(1));
    assert!(arm.modify(&path, |body| body["properties"]["addressSpace"]["addressPrefixes"] = json!(["10.9.0.0/16"])));
    let after = call(&arm, "GET", &at(&path), None).body;
    assert_eq!(after["properties"]["addressSpace"]["addressPrefixes"][0], "10.9.0.0/16");
    assert_ne!(after["etag"], before["etag"]);
    assert!(arm.delete_out_of_band(&path));
    call(&arm, "GET", &at(&path), None).expect(404, "ResourceNotFound");
    assert!(!arm.modify(&path, |_| {}));
}

#[test]
fn garbage_never_takes_the_server_down() {
    let arm = FakeArm::start_for_test();
    create(&arm, &group("rg"), group_body());
    let vnet = at(&network("rg", "virtualNetworks", "vnet"));
    let token = arm.token();
    raw(&arm, "PUT", &vnet, b"{not json", Some(&token)).expect(400, "InvalidRequestContent");
    raw(&arm, "PUT", &vnet, b"[1, 2]", Some(&token)).expect(400, "InvalidRequestContent");
    raw(&arm, "PUT", &vnet, br#"{"location": "x", "properties": "flat"}"#, Some(&token))
        .expect(400, "InvalidRequestContent");
    raw(&arm, "PUT", &vnet, b"", Some(&token)).expect(400, "InvalidRequestContent");
    call(&arm, "PATCH", &vnet, Some(&vnet_body(1))).expect(405, "MethodNotAllowed");
    call(&arm, "POST", &at(&group("rg")), None).expect(405, "MethodNotAllowed");
    call(&arm, "GET", &at(&format!("{}/providers/Microsoft.Compute/virtualMachines/vm", group("rg"))), None)
        .expect(400, "NoRegisteredProviderFound");
    call(&arm, "GET", &at(&format!("{}/providers/Microsoft.Network/loadBalancers/lb", group("rg"))), None)
        .expect(404, "InvalidResourceType");
    call(&arm, "GET", "/%ff%fe/../..?api-version=x", None).expect(404, "NotFound");
    let huge_skip = format!("{}&%24skiptoken={}", at(&format!("{SUB}/resourcegroups")), usize::MAX);
    call(&arm, "GET", &huge_skip, None).expect(200, "");
    call(&arm, "GET", &format!("{SUB}/providers/Microsoft.Network/locations/x/operations/nope?api-version=1"), None)
        .expect(404, "OperationNotFound");
    call(&arm, "GET", "/__panic", None).expect(500, "InternalServerError");
    let mut hostile = vnet_body(1);
    hostile["properties"]["subnets"] = json!([42, null, { "name": 7 }]);
    let answer = call(&arm, "PUT", &vnet, Some(&hostile));
    assert!(answer.status < 500, "{}", answer.body);
    // An out-of-band edit that wrecks a resource mid-operation breaks nothing else.
    arm.set_poll_rounds(1);
    let ip = network("rg", "publicIPAddresses", "ip");
    let put = call(&arm, "PUT", &at(&ip), Some(&public_ip_body())).expect(201, "");
    assert!(arm.modify(&ip, |body| body["properties"] = json!("wrecked")));
    assert_eq!(wait(&arm, put.header("Azure-AsyncOperation").unwrap())["status"], "Succeeded");
    call(&arm, "GET", &at(&group("rg")), None).expect(200, "");
}

#[test]
fn agent_pools_are_long_running_children_kept_in_step_with_the_cluster() {
    let arm = FakeArm::start_for_test();
    let (nodes, _) = aks_site(&arm);
    let named = |name: &str| (name.to_string(), "Standard_D4s_v5".to_string());

    // The cluster's profile is a pool of its own.
    let system = call(&arm, "GET", &at(&pool("rg", "aks", "system")), None).expect(200, "");
    assert_eq!(system.body["type"], "Microsoft.ContainerService/managedClusters/agentPools");
    assert_eq!(system.body["id"], pool("rg", "aks", "system"));
    assert_eq!(system.body["properties"]["vmSize"], "Standard_D4s_v5");
    assert_eq!(system.body["properties"]["provisioningState"], "Succeeded");
    assert!(system.body["properties"].get("name").is_none(), "{}", system.body);

    // A pool PUT is long-running, and its cluster lists it.
    arm.set_poll_rounds(1);
    arm.clear_requests();
    let put =
        call(&arm, "PUT", &at(&pool("rg", "aks", "systemb")), Some(&pool_body("Standard_D8s_v5", "System", &nodes)))
            .expect(201, "");
    assert_eq!(put.body["properties"]["provisioningState"], "Creating");
    assert_eq!(put.body["properties"]["currentOrchestratorVersion"], "1.30.6");
    let status = put.header("Azure-AsyncOperation").unwrap().to_string();
    assert!(status.contains("/providers/Microsoft.ContainerService/locations/westeurope/operations/"), "{status}");
    assert!(status.ends_with(&format!("?api-version={AKS_VERSION}")), "{status}");
    assert_eq!(profiles(&arm), [named("system"), ("systemb".into(), "Standard_D8s_v5".into())]);
    assert_eq!(arm.count_calls("PUT", "agentPools"), 1);
    assert_eq!(arm.count_calls("PUT", "managedClusters"), 0, "a pool is not its cluster");
    assert_eq!(wait(&arm, &status)["status"], "Succeeded");
    let stored = arm.get(&cluster("rg", "aks")).unwrap();
    assert_eq!(stored.body["properties"]["agentPoolProfiles"][1]["provisioningState"], "Succeeded");

    let listed = call(&arm, "GET", &at(&format!("{}/agentPools", cluster("rg", "aks"))), None).expect(200, "");
    let names: Vec<&str> =
        listed.body["value"].as_array().unwrap().iter().map(|p| p["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["system", "systemb"]);

    // DELETE answers 202 with a Location; once it lands the cluster no longer lists the pool.
    let delete = call(&arm, "DELETE", &at(&pool("rg", "aks", "system")), None).expect(202, "");
    let location = delete.header("Location").unwrap().to_string();
    assert!(delete.header("Azure-AsyncOperation").is_some());
    let deleting = call(&arm, "GET", &at(&pool("rg", "aks", "system")), None).expect(200, "");
    assert_eq!(deleting.body["properties"]["provisioningState"], "Deleting");
    assert_eq!(call(&arm, "GET", &location, None).status, 204);
    call(&arm, "GET", &at(&pool("rg", "aks", "system")), None).expect(404, "ResourceNotFound");
    assert_eq!(profiles(&arm), [("systemb".into(), "Standard_D8s_v5".into())]);

    // A cluster PUT replaces the profiles, and the pools follow: added, kept, dropped.
    let mut body = aks_body(&nodes, "");
    let user =
        json!({ "name": "user", "mode": "User", "count": 2, "vmSize": "Standard_E4s_v5", "vnetSubnetID": nodes });
    body["properties"]["agentPoolProfiles"] =
        json!([user, { "name": "systemb", "mode": "System", "count": 3, "vmSize": "Standard_D8s_v5" }]);
    create(&arm, &cluster("rg", "aks"), body.clone());
    let user_pool = call(&arm, "GET", &at(&pool("rg", "aks", "user")), None).expect(200, "");
    assert_eq!(user_pool.body["properties"]["count"], 2);
    assert_eq!(user_pool.body["properties"]["provisioningState"], "Succeeded");
    body["properties"]["agentPoolProfiles"].as_array_mut().unwrap().remove(0);
    create(&arm, &cluster("rg", "aks"), body);
    call(&arm, "GET", &at(&pool("rg", "aks", "user")), None).expect(404, "ResourceNotFound");

    // Out-of-band edits of either side show on the other; deleting the cluster takes its pools.
    assert!(arm.modify(&cluster("rg", "aks"), |b| b["properties"]["agentPoolProfiles"][0]["count"] = 5.into()));
    assert_eq!(arm.get(&pool("rg", "aks", "systemb")).unwrap().body["properties"]["count"], 5);
    assert!(arm.modify(&pool("rg", "aks", "systemb"), |b| b["properties"]["count"] = 6.into()));
    assert_eq!(arm.get(&cluster("rg", "aks")).unwrap().body["properties"]["agentPoolProfiles"][0]["count"], 6);
    let delete = call(&arm, "DELETE", &at(&cluster("rg", "aks")), None).expect(202, "");
    assert_eq!(wait(&arm, delete.header("Azure-AsyncOperation").unwrap())["status"], "Succeeded");
    assert!(arm.get(&pool("rg", "aks", "systemb")).is_none());
}

#[test]
fn agent_pools_refuse_what_aks_refuses() {
    let arm = FakeArm::start_for_test();
    let (nodes, pods) = aks_site(&arm);
    let system = pool("rg", "aks", "system");

    // No resizing in place, through either API.
    let resized = call(&arm, "PUT", &at(&system), Some(&pool_body("Standard_D8s_v5", "System", &nodes)))
        .expect(400, "PropertyChangeNotAllowed");
    assert_eq!(resized.body["error"]["details"][0]["target"], "properties.vmSize");
    let mut body = aks_body(&nodes, &pods);
    body["properties"]["agentPoolProfiles"][0]["vmSize"] = "Standard_D8s_v5".into();
    let resized = call(&arm, "PUT", &at(&cluster("rg", "aks")), Some(&body)).expect(400, "PropertyChangeNotAllowed");
    assert_eq!(resized.body["error"]["details"][0]["target"], "properties.agentPoolProfiles[0].vmSize");
    // The same size in another spelling is no change.
    call(&arm, "PUT", &at(&system), Some(&pool_body("standard_d4s_v5", "System", &nodes))).expect(200, "");

    // A cluster always keeps a System pool.
    call(&arm, "DELETE", &at(&system), None).expect(400, "OperationNotAllowed");
    call(&arm, "PUT", &at(&system), Some(&pool_body("Standard_D4s_v5", "User", &nodes)))
        .expect(400, "OperationNotAllowed");
    body["properties"]["agentPoolProfiles"][0]["mode"] = "User".into();
    body["properties"]["agentPoolProfiles"][0]["vmSize"] = "Standard_D4s_v5".into();
    call(&arm, "PUT", &at(&cluster("rg", "aks")), Some(&body)).expect(400, "MustDefineAtLeastOneSystemPool");
    let user = pool("rg", "aks", "user");
    create(&arm, &user, pool_body("Standard_E4s_v5", "User", &nodes));
    call(&arm, "DELETE", &at(&system), None).expect(400, "OperationNotAllowed");
    let delete = call(&arm, "DELETE", &at(&user), None).expect(202, "");
    assert_eq!(call(&arm, "GET", delete.header("Location").unwrap(), None).status, 204);

    // Parents and references must exist, as for the cluster.
    call(&arm, "PUT", &at(&pool("rg", "nope", "p")), Some(&pool_body("Standard_D4s_v5", "User", &nodes)))
        .expect(404, "ParentResourceNotFound");
    let missing = format!("{}/subnets/nope", network("rg", "virtualNetworks", "vnet"));
    call(&arm, "PUT", &at(&user), Some(&pool_body("Standard_D4s_v5", "User", &missing)))
        .expect(400, "InvalidResourceReference");
    let mut with_pods = pool_body("Standard_D4s_v5", "User", &nodes);
    with_pods["properties"]["podSubnetID"] = missing.clone().into();
    call(&arm, "PUT", &at(&user), Some(&with_pods)).expect(400, "InvalidResourceReference");
    call(&arm, "GET", &at(&format!("{}/agentPools", cluster("rg", "nope"))), None).expect(404, "ResourceNotFound");

    // The body: the pool profile's schema, and the limits the API states.
    for (field, value) in [("count", json!(-1)), ("count", json!("3")), ("vmSize", json!(8)), ("mode", json!(5))] {
        let mut body = pool_body("Standard_D4s_v5", "User", &nodes);
        body["properties"][field] = value;
        let invalid = call(&arm, "PUT", &at(&user), Some(&body)).expect(400, "InvalidRequestContent");
        assert_eq!(invalid.body["error"]["details"][0]["target"], format!("/properties/{field}"), "{}", invalid.body);
    }
    let mut empty_system = pool_body("Standard_D4s_v5", "System", &nodes);
    empty_system["properties"]["count"] = 0.into();
    call(&arm, "PUT", &at(&user), Some(&empty_system)).expect(400, "InvalidRequestContent");
    call(&arm, "PUT", &at(&user), Some(&json!({ "count": 1 }))).expect(400, "InvalidRequestContent");
    let old_version = format!("{}?api-version=2024-05-01", pool("rg", "aks", "user"));
    call(&arm, "PUT", &old_version, Some(&pool_body("Standard_D4s_v5", "User", &nodes)))
        .expect(400, "InvalidApiVersionParameter");

    // One operation at a time per cluster.
    arm.set_poll_rounds(1);
    let put = call(&arm, "PUT", &at(&user), Some(&pool_body("Standard_D4s_v5", "User", &nodes))).expect(201, "");
    call(&arm, "PUT", &at(&cluster("rg", "aks")), Some(&aks_body(&nodes, &pods)))
        .expect(409, "AnotherOperationInProgress");
    call(&arm, "DELETE", &at(&system), None).expect(409, "AnotherOperationInProgress");
    assert_eq!(wait(&arm, put.header("Azure-AsyncOperation").unwrap())["status"], "Succeeded");
    let put = call(&arm, "PUT", &at(&cluster("rg", "aks")), Some(&aks_body(&nodes, &pods))).expect(200, "");
    call(&arm, "PUT", &at(&user), Some(&pool_body("Standard_D4s_v5", "User", &nodes)))
        .expect(409, "AnotherOperationInProgress");
    assert_eq!(wait(&arm, put.header("Azure-AsyncOperation").unwrap())["status"], "Succeeded");
    assert!(arm.get(&user).is_none(), "the cluster PUT listed no such pool");
}

#[test]
fn the_agent_pool_schema_has_its_essentials_without_the_cluster_definitions() {
    let schema = super::validation::agent_pool_schema(&json!({}));
    let validator = jsonschema::draft202012::new(&schema).unwrap();
    assert!(validator.is_valid(&json!({ "properties": { "count": 0, "vmSize": "Standard_D4s_v5" } })));
    assert!(validator.is_valid(&json!({ "properties": {} })));
    for invalid in [
        json!({}),
        json!({ "properties": [] }),
        json!({ "properties": { "count": -1 } }),
        json!({ "properties": { "count": 1.5 } }),
        json!({ "properties": { "vmSize": 4 } }),
        json!({ "properties": { "mode": "System", "count": 0 } }),
    ] {
        assert!(!validator.is_valid(&invalid), "{invalid}");
    }
}

#[test]
fn role_assignments_nest_under_any_resource_and_grant_once_to_a_known_principal() {
    let arm = FakeArm::start_for_test();
    aks_site(&arm);
    let stored = arm.get(&cluster("rg", "aks")).unwrap();
    let principal = stored.body["identity"]["principalId"].as_str().unwrap().to_string();
    let vnet = network("rg", "virtualNetworks", "vnet");
    let assignments = format!("{vnet}/providers/Microsoft.Authorization/roleAssignments");
    let (first, second) = ("0f8fad5b-d9cb-469f-a165-70867728950e", "7c9e6679-7425-40de-944b-e07fc1f90ae7");
    let role = |guid: &str| format!("{SUB}/providers/Microsoft.Authorization/roleDefinitions/{guid}");
    let network_contributor = role("4d97b98b-1d4f-4787-a291-c67834d212e7");
    let body = |role: &str, principal: &str| json!({ "properties": { "roleDefinitionId": role, "principalId": principal, "principalType": "ServicePrincipal" } });
    let put = |name: &str, body: &Value| call(&arm, "PUT", &at(&format!("{assignments}/{name}")), Some(body));

    // Synchronous, at an id nested under its scope, with neither location nor provisioning state.
    let made = put(first, &body(&network_contributor, &principal)).expect(201, "");
    assert!(made.header("Azure-AsyncOperation").is_none() && made.header("Location").is_none());
    assert_eq!(made.body["id"], format!("{assignments}/{first}"));
    assert_eq!(made.body["type"], "Microsoft.Authorization/roleAssignments");
    assert_eq!(made.body["properties"]["scope"], vnet);
    assert!(made.body["properties"].get("provisioningState").is_none());
    put(first, &body(&network_contributor, &principal)).expect(200, "");

    // One assignment per scope, role and principal; what it grants never changes.
    let exists = put(second, &body(&network_contributor, &principal)).expect(409, "RoleAssignmentExists");
    assert!(exists.body["error"]["message"].as_str().unwrap().ends_with(&format!("is {}.", first.replace('-', ""))));
    put(first, &body(&role("b24988ac-6180-42a0-ab88-20f7382dd24c"), &principal))
        .expect(400, "RoleAssignmentUpdateNotPermitted");
    // A principal no managed cluster has, a body without one, a scope that does not exist.
    put(second, &body(&network_contributor, "11111111-2222-3333-4444-555555555555")).expect(400, "PrincipalNotFound");
    put(second, &json!({ "properties": { "roleDefinitionId": network_contributor } }))
        .expect(400, "InvalidRequestContent");
    let nowhere = format!(
        "{}/providers/Microsoft.Authorization/roleAssignments/{second}",
        network("rg", "virtualNetworks", "gone")
    );
    call(&arm, "PUT", &at(&nowhere), Some(&body(&network_contributor, &principal)))
        .expect(404, "ParentResourceNotFound");
    let wrong_version = format!("{assignments}/{second}?api-version={NETWORK_VERSION}");
    call(&arm, "PUT", &wrong_version, Some(&body(&network_contributor, &principal)))
        .expect(400, "InvalidApiVersionParameter");

    // Listed at their scope; deleted at once; gone after.
    let listed = call(&arm, "GET", &at(&assignments), None).expect(200, "");
    assert_eq!(listed.body["value"].as_array().map(Vec::len), Some(1), "{}", listed.body);
    let deleted = call(&arm, "DELETE", &at(&format!("{assignments}/{first}")), None).expect(200, "");
    assert_eq!(deleted.body["properties"]["principalId"], principal.as_str());
    call(&arm, "DELETE", &at(&format!("{assignments}/{first}")), None).expect(204, "");
    call(&arm, "GET", &at(&format!("{assignments}/{first}")), None).expect(404, "RoleAssignmentNotFound");
}
