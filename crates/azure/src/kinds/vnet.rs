//! `azure_virtual_network`: the VNet with every subnet in one body, because ARM replaces the
//! subnet list on each PUT (a subnet left out is deleted).

use ringform_core::Value;
use serde::{Deserialize, Serialize};

use super::{AddressSpace, Ctx, Envelope, Seen, Spec, attributes, decode, encode};
use crate::arm::VIRTUAL_NETWORKS;
use ringform_core::Inputs;

use crate::attrs::strings_value;
use crate::error::{ArmError, ArmResult};

pub static SPEC: Spec = Spec { ty: VIRTUAL_NETWORKS, taggable: true, body, observe };

/// Subnets that are not node subnets.
const POD_SUBNET: &str = "pods";
const GATEWAY_SUBNET: &str = "GatewaySubnet";

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct VirtualNetwork {
    #[serde(flatten)]
    pub envelope: Envelope,
    pub properties: VirtualNetworkProperties,
}

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct VirtualNetworkProperties {
    pub address_space: AddressSpace,
    pub subnets: Vec<Subnet>,
}

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Subnet {
    #[serde(skip_serializing)]
    pub id: String,
    pub name: String,
    pub properties: SubnetProperties,
}

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct SubnetProperties {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub address_prefix: Option<String>,
    /// ARM answers with this instead of `addressPrefix` when a subnet has several.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub address_prefixes: Vec<String>,
}

fn subnets(inputs: &Inputs) -> ArmResult<Vec<Subnet>> {
    inputs
        .list("subnets")?
        .iter()
        .map(|subnet| {
            let field = |name: &str| match subnet {
                Value::Map(map) => map.get(name).and_then(Value::as_str).map(str::to_owned),
                _ => None,
            };
            match (field("name"), field("address_prefix")) {
                (Some(name), Some(prefix)) => Ok(Subnet {
                    name,
                    properties: SubnetProperties { address_prefix: Some(prefix), ..SubnetProperties::default() },
                    ..Subnet::default()
                }),
                _ => Err(ArmError::invalid(format!(
                    "{}: every entry of input `subnets` must be a map with string `name` and `address_prefix`",
                    inputs.address
                ))),
            }
        })
        .collect()
}

fn body(ctx: &Ctx) -> ArmResult<serde_json::Value> {
    encode(&VirtualNetwork {
        envelope: Envelope { location: ctx.location()?, tags: ctx.tags(), ..Default::default() },
        properties: VirtualNetworkProperties {
            address_space: AddressSpace { address_prefixes: ctx.inputs.strings("address_space")? },
            subnets: subnets(&ctx.inputs)?,
        },
    })
}

fn observe(resource: &serde_json::Value) -> ArmResult<Seen> {
    let vnet: VirtualNetwork = decode(resource)?;
    let subnets = &vnet.properties.subnets;
    let subnet_id = |pick: &dyn Fn(&Subnet) -> bool| {
        subnets.iter().find(|s| pick(s)).map_or(Value::Null, |s| Value::from(s.id.as_str()))
    };
    let node_subnet_id = subnet_id(&|s| s.name != POD_SUBNET && s.name != GATEWAY_SUBNET);
    let pod_subnet_id = subnet_id(&|s| s.name == POD_SUBNET);
    let subnet_values = subnets
        .iter()
        .map(|s| {
            let prefix = s.properties.address_prefix.clone().or_else(|| s.properties.address_prefixes.first().cloned());
            Value::from_iter([("name", Value::from(s.name.as_str())), ("address_prefix", prefix.into())])
        })
        .collect();
    Ok(Seen {
        inputs: attributes([
            ("name", vnet.envelope.name.as_str().into()),
            ("location", vnet.envelope.location.into()),
            ("address_space", strings_value(&vnet.properties.address_space.address_prefixes)),
            ("subnets", Value::List(subnet_values)),
        ]),
        outputs: attributes([
            ("id", vnet.envelope.id.as_str().into()),
            ("name", vnet.envelope.name.into()),
            ("node_subnet_id", node_subnet_id),
            ("pod_subnet_id", pod_subnet_id),
        ]),
        id: vnet.envelope.id,
        tags: vnet.envelope.tags,
    })
}
