//! `azure_local_network_gateway`: the remote (AWS) end of a site-to-site VPN: its tunnel
//! address and the ranges routed to it.

use serde::{Deserialize, Serialize};

use super::{AddressSpace, Ctx, Envelope, Seen, Spec, attributes, decode, encode};
use crate::arm::LOCAL_GATEWAYS;
use crate::attrs::strings_value;
use crate::error::ArmResult;

pub static SPEC: Spec = Spec { ty: LOCAL_GATEWAYS, taggable: true, body, observe };

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct LocalNetworkGateway {
    #[serde(flatten)]
    pub envelope: Envelope,
    pub properties: LocalGatewayProperties,
}

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct LocalGatewayProperties {
    pub local_network_address_space: AddressSpace,
    pub gateway_ip_address: String,
}

fn body(ctx: &Ctx) -> ArmResult<serde_json::Value> {
    encode(&LocalNetworkGateway {
        envelope: Envelope { location: ctx.location()?, tags: ctx.tags(), ..Default::default() },
        properties: LocalGatewayProperties {
            local_network_address_space: AddressSpace { address_prefixes: ctx.inputs.strings("address_prefixes")? },
            gateway_ip_address: ctx.inputs.str("gateway_ip_address")?.to_owned(),
        },
    })
}

fn observe(resource: &serde_json::Value) -> ArmResult<Seen> {
    let gateway: LocalNetworkGateway = decode(resource)?;
    let properties = gateway.properties;
    Ok(Seen {
        inputs: attributes([
            ("name", gateway.envelope.name.into()),
            ("location", gateway.envelope.location.into()),
            ("gateway_ip_address", properties.gateway_ip_address.into()),
            ("address_prefixes", strings_value(&properties.local_network_address_space.address_prefixes)),
        ]),
        outputs: attributes([("id", gateway.envelope.id.as_str().into())]),
        id: gateway.envelope.id,
        tags: gateway.envelope.tags,
    })
}
