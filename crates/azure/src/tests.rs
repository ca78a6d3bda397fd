//! Every kind's request body, built from inputs shaped like the graph's, validated against
//! the JSON Schema of its type (derived from Microsoft's REST API specs), plus a check that
//! the body uses no property the schema does not know (the schemas allow unknown properties,
//! so a misspelt `publicIpAllocationMethod` would otherwise pass).

use ringform_schema::azure;

use ringform_core::{Address, Attributes, Kind, Value};
use serde_json::Value as Json;

use crate::attrs::strings_value;
use crate::kinds::{Ctx, spec};

const SUB: &str = "/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rf-eastus";

fn attrs(entries: Vec<(&str, Value)>) -> Attributes {
    entries.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()
}

fn common(name: &str) -> Vec<(&'static str, Value)> {
    vec![
        ("resource_group", "rf-eastus".into()),
        ("subscription", Value::Null),
        ("name", name.into()),
        ("location", "eastus".into()),
    ]
}

fn subnet(name: &str, cidr: &str) -> Value {
    Value::from_iter([("name", Value::from(name)), ("address_prefix", Value::from(cidr))])
}

/// Inputs for every Azure kind, as the graph emits them with references resolved.
pub fn sample_inputs(kind: Kind) -> Attributes {
    let vnet = format!("{SUB}/providers/Microsoft.Network/virtualNetworks/rf-eastus");
    let mut entries = common("rf-eastus");
    let extra: Vec<(&str, Value)> = match kind {
        azure::RESOURCE_GROUP => vec![("resource_group", Value::Null)],
        azure::VIRTUAL_NETWORK => vec![
            ("address_space", strings_value(&["10.100.0.0/16", "10.200.0.0/16"])),
            (
                "subnets",
                Value::List(vec![
                    subnet("nodes", "10.100.0.0/20"),
                    subnet("pods", "10.200.0.0/16"),
                    subnet("GatewaySubnet", "10.100.255.0/27"),
                ]),
            ),
        ],
        azure::PUBLIC_IP => vec![
            ("sku", "Standard".into()),
            ("allocation_method", "Static".into()),
            ("zones", strings_value(&["1", "2", "3"])),
        ],
        azure::VPN_GATEWAY => vec![
            ("sku", "VpnGw1AZ".into()),
            ("vpn_type", "RouteBased".into()),
            ("public_ip_id", format!("{SUB}/providers/Microsoft.Network/publicIPAddresses/rf-eastus-gateway").into()),
            ("virtual_network_id", vnet.clone().into()),
        ],
        azure::LOCAL_NETWORK_GATEWAY => vec![
            ("gateway_ip_address", "52.1.2.3".into()),
            ("address_prefixes", strings_value(&["10.0.0.0/16", "10.1.0.0/16"])),
        ],
        azure::VPN_CONNECTION => vec![
            ("connection_type", "Vnet2Vnet".into()),
            ("gateway_id", format!("{SUB}/providers/Microsoft.Network/virtualNetworkGateways/a").into()),
            ("peer_id", format!("{SUB}/providers/Microsoft.Network/virtualNetworkGateways/b").into()),
            ("shared_key", Value::secret("s3cret-key".into())),
        ],
        azure::VNET_PEERING => vec![
            ("virtual_network_name", "rf-eastus".into()),
            ("name", "to-westus".into()),
            ("remote_virtual_network_id", vnet.replace("eastus", "westus").into()),
            ("allow_virtual_network_access", true.into()),
            ("allow_forwarded_traffic", true.into()),
        ],
        azure::AKS_CLUSTER => vec![
            ("dns_prefix", "rf-eastus".into()),
            ("kubernetes_version", "1.30".into()),
            ("node_count", 3i64.into()),
            ("vm_size", "Standard_D4s_v5".into()),
            ("zones", strings_value(&["1", "2", "3"])),
            ("network_plugin", "azure".into()),
            ("subnet_id", format!("{vnet}/subnets/nodes").into()),
            ("pod_subnet_id", format!("{vnet}/subnets/pods").into()),
            ("service_cidr", "10.10.0.0/16".into()),
            ("dns_service_ip", "10.10.0.10".into()),
            ("identity", "SystemAssigned".into()),
        ],
        azure::ROLE_ASSIGNMENT => vec![
            ("scope", vnet.clone().into()),
            ("role_definition_id", "4d97b98b-1d4f-4787-a291-c67834d212e7".into()),
            ("principal_id", "5bd1d5a9-8a2c-4c33-9c5e-5a0b8a7f3c21".into()),
        ],
        _ => vec![],
    };
    entries.extend(extra);
    let mut attributes = attrs(entries);
    if kind == azure::RESOURCE_GROUP {
        attributes.remove("resource_group");
    }
    if kind == azure::ROLE_ASSIGNMENT {
        // Neither a group, a name nor a location: it lives under its scope.
        for key in ["resource_group", "name", "location"] {
            attributes.remove(key);
        }
    }
    attributes
}

pub const AZURE_KINDS: [(Kind, &str); 9] = [
    (azure::RESOURCE_GROUP, "resourceGroups"),
    (azure::VIRTUAL_NETWORK, "virtualNetworks"),
    (azure::PUBLIC_IP, "publicIPAddresses"),
    (azure::VPN_GATEWAY, "virtualNetworkGateways"),
    (azure::LOCAL_NETWORK_GATEWAY, "localNetworkGateways"),
    (azure::VPN_CONNECTION, "connections"),
    (azure::VNET_PEERING, "virtualNetworkPeerings"),
    (azure::AKS_CLUSTER, "managedClusters"),
    (azure::ROLE_ASSIGNMENT, "roleAssignments"),
];

fn body(kind: Kind, inputs: &Attributes) -> Json {
    let address = Address::new(kind, "eastus").unwrap();
    let ctx = Ctx::new("00000000-0000-0000-0000-000000000001".to_owned(), "demo", &address, inputs);
    (spec(kind).unwrap().body)(&ctx).unwrap()
}

fn validate(schema_name: &str, body: &Json) {
    let path = ringform_testkit::fixtures_dir().join("arm").join(format!("{schema_name}.schema.json"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let schema: Json = serde_json::from_str(&text).unwrap();
    let validator = jsonschema::draft202012::new(&schema).unwrap();
    let errors: Vec<String> = validator.iter_errors(body).map(|e| format!("{e} at {}", e.instance_path())).collect();
    assert!(errors.is_empty(), "{schema_name} body does not validate: {errors:#?}\n{body:#}");
    let mut unknown = vec![];
    known_properties(&schema, &schema, body, "", &mut unknown);
    assert!(unknown.is_empty(), "{schema_name} body uses properties its schema does not have: {unknown:?}");
}

/// Collects the paths of object properties in `body` that `node` (resolving `$ref` and `allOf`)
/// does not declare.
fn known_properties(root: &Json, node: &Json, body: &Json, path: &str, unknown: &mut Vec<String>) {
    let node = resolve(root, node);
    match body {
        Json::Object(fields) => {
            let declared = declared_properties(root, node);
            if declared.is_empty() && node.get("additionalProperties").is_some() {
                return; // a map such as `tags`
            }
            for (key, value) in fields {
                match declared.iter().find(|(k, _)| k == key) {
                    Some((_, schema)) => known_properties(root, schema, value, &format!("{path}/{key}"), unknown),
                    None => unknown.push(format!("{path}/{key}")),
                }
            }
        }
        Json::Array(items) => {
            if let Some(item_schema) = node.get("items") {
                for (i, item) in items.iter().enumerate() {
                    known_properties(root, item_schema, item, &format!("{path}/{i}"), unknown);
                }
            }
        }
        _ => {}
    }
}

fn resolve<'a>(root: &'a Json, mut node: &'a Json) -> &'a Json {
    while let Some(reference) = node.get("$ref").and_then(Json::as_str) {
        let name = reference.rsplit('/').next().unwrap();
        node = &root["$defs"][name];
    }
    node
}

fn declared_properties<'a>(root: &'a Json, node: &'a Json) -> Vec<(String, &'a Json)> {
    let node = resolve(root, node);
    let mut out: Vec<(String, &Json)> = node
        .get("properties")
        .and_then(Json::as_object)
        .map(|p| p.iter().map(|(k, v)| (k.clone(), v)).collect())
        .unwrap_or_default();
    for sub in node.get("allOf").and_then(Json::as_array).into_iter().flatten() {
        out.extend(declared_properties(root, sub));
    }
    out
}

#[test]
fn every_kind_has_a_body_that_validates_against_its_arm_schema() {
    for (kind, schema) in AZURE_KINDS {
        validate(schema, &body(kind, &sample_inputs(kind)));
    }
}

#[test]
fn variants_validate_too() {
    // An IPsec connection to a local network gateway.
    let mut ipsec = sample_inputs(azure::VPN_CONNECTION);
    ipsec.insert("connection_type".into(), "IPsec".into());
    let body_ipsec = body(azure::VPN_CONNECTION, &ipsec);
    assert!(body_ipsec["properties"].get("localNetworkGateway2").is_some());
    assert!(body_ipsec["properties"].get("virtualNetworkGateway2").is_none());
    validate("connections", &body_ipsec);
    // AKS without a pod subnet: CNI overlay with the pod CIDR.
    let mut overlay = sample_inputs(azure::AKS_CLUSTER);
    overlay.insert("pod_subnet_id".into(), Value::Null);
    overlay.insert("pod_cidr".into(), "10.244.0.0/16".into());
    let body_overlay = body(azure::AKS_CLUSTER, &overlay);
    assert_eq!(body_overlay["properties"]["networkProfile"]["networkPluginMode"], "overlay");
    assert_eq!(body_overlay["properties"]["networkProfile"]["podCidr"], "10.244.0.0/16");
    validate("managedClusters", &body_overlay);
}

#[test]
fn bodies_carry_what_the_graph_says() {
    let gateway = body(azure::VPN_GATEWAY, &sample_inputs(azure::VPN_GATEWAY));
    let config = &gateway["properties"]["ipConfigurations"][0]["properties"];
    assert!(config["subnet"]["id"].as_str().unwrap().ends_with("/virtualNetworks/rf-eastus/subnets/GatewaySubnet"));
    assert_eq!(gateway["properties"]["vpnGatewayGeneration"], "Generation1");
    assert_eq!(gateway["tags"]["ringform:address"], "azure_vpn_gateway.eastus");
    assert_eq!(gateway["tags"]["ringform:deployment"], "demo");
    let connection = body(azure::VPN_CONNECTION, &sample_inputs(azure::VPN_CONNECTION));
    assert_eq!(connection["properties"]["sharedKey"], "s3cret-key");
    let cluster = body(azure::AKS_CLUSTER, &sample_inputs(azure::AKS_CLUSTER));
    let pool = &cluster["properties"]["agentPoolProfiles"][0];
    assert_eq!((pool["count"].as_i64(), pool["vmSize"].as_str()), (Some(3), Some("Standard_D4s_v5")));
    assert!(pool["podSubnetID"].as_str().unwrap().ends_with("/subnets/pods"));
    assert_eq!(cluster["identity"]["type"], "SystemAssigned");
    assert!(cluster["properties"]["networkProfile"].get("networkPluginMode").is_none());
    let vnet = body(azure::VIRTUAL_NETWORK, &sample_inputs(azure::VIRTUAL_NETWORK));
    assert_eq!(vnet["properties"]["subnets"].as_array().unwrap().len(), 3);
}

/// The shared envelope (id, name, location, tags) is flattened into each resource: bodies never
/// send id or name, and a GET answer, with fields ringform does not model, reads back into it.
#[test]
fn envelope_fields_leave_out_id_and_name_and_read_back_from_a_get() {
    for (kind, ty) in AZURE_KINDS {
        if matches!(kind, azure::VNET_PEERING | azure::ROLE_ASSIGNMENT) {
            continue;
        }
        let mut resource = body(kind, &sample_inputs(kind));
        let map = resource.as_object_mut().unwrap();
        assert!(!map.contains_key("id") && !map.contains_key("name"), "{kind}: {map:?}");
        assert_eq!(map["location"], "eastus", "{kind}");
        let tags = map["tags"].clone();
        assert_eq!(tags["ringform:deployment"], "demo", "{kind}");
        let id = format!("{SUB}/providers/Microsoft.Example/{ty}/rf-eastus");
        map.insert("id".to_owned(), id.clone().into());
        map.insert("name".to_owned(), "rf-eastus".into());
        map.insert("type".to_owned(), format!("Microsoft.Example/{ty}").into());
        map.insert("etag".to_owned(), "W/\"1\"".into());
        let seen = (spec(kind).unwrap().observe)(&resource).unwrap();
        assert_eq!(seen.id, id, "{kind}");
        assert_eq!(serde_json::to_value(&seen.tags).unwrap(), tags, "{kind}");
        assert_eq!(seen.inputs["name"], Value::from("rf-eastus"), "{kind}");
        assert_eq!(seen.inputs["location"], Value::from("eastus"), "{kind}");
        assert_eq!(seen.outputs["id"], Value::from(id.as_str()), "{kind}");
    }
}

#[test]
fn bad_inputs_are_errors_that_name_the_attribute_without_secrets() {
    let mut inputs = sample_inputs(azure::VPN_CONNECTION);
    inputs.insert("gateway_id".into(), Value::Unknown);
    let address = Address::new(azure::VPN_CONNECTION, "a~b").unwrap();
    let ctx = Ctx::new("s".to_owned(), "demo", &address, &inputs);
    let error = (spec(azure::VPN_CONNECTION).unwrap().body)(&ctx).unwrap_err().to_string();
    assert_eq!(
        error,
        "azure_vpn_connection.a~b: input `gateway_id` must be a non-empty string, but it is a value not known yet"
    );
    inputs.insert("shared_key".into(), Value::secret(Value::Int(3)));
    inputs.insert("gateway_id".into(), "g".into());
    let ctx = Ctx::new("s".to_owned(), "demo", &address, &inputs);
    let error = (spec(azure::VPN_CONNECTION).unwrap().body)(&ctx).unwrap_err().to_string();
    assert!(error.contains("`shared_key`") && !error.contains('3'), "{error}");
}

#[test]
fn a_role_assignment_lives_at_a_name_derived_from_what_it_grants() {
    let inputs = sample_inputs(azure::ROLE_ASSIGNMENT);
    let address = Address::new(azure::ROLE_ASSIGNMENT, "eastus").unwrap();
    let id =
        |inputs: &Attributes| Ctx::new("s".to_owned(), "demo", &address, inputs).id(azure::ROLE_ASSIGNMENT).unwrap();
    let first = id(&inputs);
    let (scope, name) = first.rsplit_once("/providers/Microsoft.Authorization/roleAssignments/").unwrap();
    assert_eq!(scope, inputs["scope"].as_str().unwrap());
    assert_eq!(uuid::Uuid::parse_str(name).unwrap().get_version_num(), 5, "{name}");
    // ARM ids compare without case, and so does the name; another principal is another name.
    let mut shouting = inputs.clone();
    shouting.insert("scope".into(), inputs["scope"].as_str().unwrap().to_ascii_uppercase().into());
    assert!(id(&shouting).eq_ignore_ascii_case(&first));
    let mut other = inputs.clone();
    other.insert("principal_id".into(), "00000000-0000-0000-0000-000000000009".into());
    assert_ne!(id(&other).rsplit('/').next(), Some(name));

    let sent = body(azure::ROLE_ASSIGNMENT, &inputs);
    assert_eq!(
        sent["properties"]["roleDefinitionId"],
        "/subscriptions/00000000-0000-0000-0000-000000000001/providers/Microsoft.Authorization/roleDefinitions/4d97b98b-1d4f-4787-a291-c67834d212e7"
    );
    assert_eq!(sent["properties"]["principalType"], "ServicePrincipal");
    assert!(sent.get("tags").is_none() && sent.get("location").is_none(), "{sent}");
}
