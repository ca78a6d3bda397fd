//! `azure_vnet_peering`: one direction of a (global) VNet peering, a child of the local VNet.
//! Peerings take no tags: ownership is state's record of them, and reads list them per parent.

use serde::{Deserialize, Serialize};

use super::{Ctx, Seen, Spec, SubResource, attributes, decode, encode};
use crate::arm::PEERINGS;
use crate::error::ArmResult;

pub static SPEC: Spec = Spec { ty: PEERINGS, taggable: false, body, observe };

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Peering {
    #[serde(skip_serializing)]
    pub id: String,
    #[serde(skip_serializing)]
    pub name: String,
    pub properties: PeeringProperties,
}

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct PeeringProperties {
    pub allow_virtual_network_access: bool,
    pub allow_forwarded_traffic: bool,
    pub allow_gateway_transit: bool,
    pub use_remote_gateways: bool,
    pub remote_virtual_network: SubResource,
}

fn body(ctx: &Ctx) -> ArmResult<serde_json::Value> {
    encode(&Peering {
        properties: PeeringProperties {
            allow_virtual_network_access: ctx.inputs.opt_bool("allow_virtual_network_access")?.unwrap_or(true),
            allow_forwarded_traffic: ctx.inputs.opt_bool("allow_forwarded_traffic")?.unwrap_or(false),
            allow_gateway_transit: ctx.inputs.opt_bool("allow_gateway_transit")?.unwrap_or(false),
            use_remote_gateways: ctx.inputs.opt_bool("use_remote_gateways")?.unwrap_or(false),
            remote_virtual_network: SubResource::new(ctx.inputs.str("remote_virtual_network_id")?),
        },
        ..Peering::default()
    })
}

fn observe(resource: &serde_json::Value) -> ArmResult<Seen> {
    let peering: Peering = decode(resource)?;
    let properties = peering.properties;
    Ok(Seen {
        inputs: attributes([
            ("name", peering.name.into()),
            ("remote_virtual_network_id", properties.remote_virtual_network.id.into()),
            ("allow_virtual_network_access", properties.allow_virtual_network_access.into()),
            ("allow_forwarded_traffic", properties.allow_forwarded_traffic.into()),
            ("allow_gateway_transit", properties.allow_gateway_transit.into()),
            ("use_remote_gateways", properties.use_remote_gateways.into()),
        ]),
        outputs: attributes([("id", peering.id.as_str().into())]),
        id: peering.id,
        tags: Default::default(),
    })
}
