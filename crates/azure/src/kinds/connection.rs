//! `azure_vpn_connection`: a Vnet2Vnet connection between two gateways, or an IPsec one to a
//! local network gateway, with the pair's shared key. ARM's GET never returns the key, so
//! reads carry it over from state.

use serde::{Deserialize, Serialize};

use super::{Ctx, Envelope, Seen, Spec, attributes, decode, encode};
use crate::arm::CONNECTIONS;
use crate::error::{ArmError, ArmResult};

pub static SPEC: Spec = Spec { ty: CONNECTIONS, taggable: true, body, observe };

#[derive(Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Connection {
    #[serde(flatten)]
    pub envelope: Envelope,
    pub properties: ConnectionProperties,
}

#[derive(Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ConnectionProperties {
    pub connection_type: String,
    pub connection_protocol: String,
    pub virtual_network_gateway1: GatewayRef,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub virtual_network_gateway2: Option<GatewayRef>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub local_network_gateway2: Option<GatewayRef>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shared_key: Option<String>,
    pub enable_bgp: bool,
}

/// A gateway by id. The API embeds whole gateway objects whose `properties` are required, so
/// an empty one goes along (ARM only reads the id).
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct GatewayRef {
    pub id: String,
    #[serde(skip_deserializing)]
    pub properties: serde_json::Map<String, serde_json::Value>,
}

impl GatewayRef {
    fn new(id: &str) -> GatewayRef {
        GatewayRef { id: id.to_owned(), properties: serde_json::Map::new() }
    }
}

fn body(ctx: &Ctx) -> ArmResult<serde_json::Value> {
    let connection_type = ctx.inputs.str("connection_type")?;
    let peer = GatewayRef::new(ctx.inputs.str("peer_id")?);
    let (gateway2, local2) = match connection_type {
        "Vnet2Vnet" => (Some(peer), None),
        "IPsec" => (None, Some(peer)),
        other => {
            return Err(ArmError::invalid(format!(
                "{}: connection_type {other:?} is not supported (Vnet2Vnet or IPsec)",
                ctx.address()
            )));
        }
    };
    encode(&Connection {
        envelope: Envelope { location: ctx.location()?, tags: ctx.tags(), ..Default::default() },
        properties: ConnectionProperties {
            connection_type: connection_type.to_owned(),
            connection_protocol: "IKEv2".to_owned(),
            virtual_network_gateway1: GatewayRef::new(ctx.inputs.str("gateway_id")?),
            virtual_network_gateway2: gateway2,
            local_network_gateway2: local2,
            shared_key: Some(ctx.inputs.secret_str("shared_key")?.to_owned()),
            enable_bgp: false,
        },
    })
}

fn observe(resource: &serde_json::Value) -> ArmResult<Seen> {
    let connection: Connection = decode(resource)?;
    let properties = connection.properties;
    let peer = properties.virtual_network_gateway2.or(properties.local_network_gateway2).unwrap_or_default();
    Ok(Seen {
        inputs: attributes([
            ("name", connection.envelope.name.into()),
            ("location", connection.envelope.location.into()),
            ("connection_type", properties.connection_type.into()),
            ("gateway_id", properties.virtual_network_gateway1.id.into()),
            ("peer_id", peer.id.into()),
        ]),
        outputs: attributes([("id", connection.envelope.id.as_str().into())]),
        id: connection.envelope.id,
        tags: connection.envelope.tags,
    })
}
