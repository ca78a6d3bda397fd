//! `azure_vpn_gateway`: a route-based VPN virtual network gateway in the VNet's
//! `GatewaySubnet`, on its public IP. ARM takes 30-45 minutes to provision one.

use serde::{Deserialize, Serialize};

use super::{Ctx, Envelope, Seen, Spec, SubResource, attributes, decode, encode};
use crate::arm::GATEWAYS;
use crate::error::ArmResult;

pub static SPEC: Spec = Spec { ty: GATEWAYS, taggable: true, body, observe };

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct VirtualNetworkGateway {
    #[serde(flatten)]
    pub envelope: Envelope,
    pub properties: GatewayProperties,
}

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct GatewayProperties {
    pub ip_configurations: Vec<IpConfiguration>,
    pub gateway_type: String,
    pub vpn_type: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vpn_gateway_generation: Option<String>,
    pub enable_bgp: bool,
    pub active_active: bool,
    pub sku: GatewaySku,
}

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct IpConfiguration {
    pub name: String,
    pub properties: IpConfigurationProperties,
}

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct IpConfigurationProperties {
    #[serde(rename = "privateIPAllocationMethod")]
    pub private_ip_allocation_method: String,
    pub subnet: SubResource,
    #[serde(rename = "publicIPAddress")]
    pub public_ip_address: SubResource,
}

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct GatewaySku {
    pub name: String,
    pub tier: String,
}

/// VpnGw1 (and Basic) exist only in generation 1; VpnGw4 and 5 only in generation 2; for 2
/// and 3 generation 2 is the faster choice at the same price.
pub fn generation(sku: &str) -> &'static str {
    let sku = sku.to_ascii_lowercase();
    if sku.starts_with("vpngw1") || sku == "basic" { "Generation1" } else { "Generation2" }
}

fn body(ctx: &Ctx) -> ArmResult<serde_json::Value> {
    let sku = ctx.inputs.str("sku")?;
    let subnet = format!("{}/subnets/GatewaySubnet", ctx.inputs.str("virtual_network_id")?);
    encode(&VirtualNetworkGateway {
        envelope: Envelope { location: ctx.location()?, tags: ctx.tags(), ..Default::default() },
        properties: GatewayProperties {
            ip_configurations: vec![IpConfiguration {
                name: "default".to_owned(),
                properties: IpConfigurationProperties {
                    private_ip_allocation_method: "Dynamic".to_owned(),
                    subnet: SubResource::new(subnet),
                    public_ip_address: SubResource::new(ctx.inputs.str("public_ip_id")?),
                },
            }],
            gateway_type: "Vpn".to_owned(),
            vpn_type: ctx.inputs.opt_str("vpn_type")?.unwrap_or("RouteBased").to_owned(),
            vpn_gateway_generation: Some(generation(sku).to_owned()),
            enable_bgp: false,
            active_active: false,
            sku: GatewaySku { name: sku.to_owned(), tier: sku.to_owned() },
        },
    })
}

fn observe(resource: &serde_json::Value) -> ArmResult<Seen> {
    let gateway: VirtualNetworkGateway = decode(resource)?;
    let properties = gateway.properties;
    let config = properties.ip_configurations.into_iter().next().unwrap_or_default().properties;
    // The VNet id is the subnet id without `/subnets/GatewaySubnet`.
    let vnet_id = match config.subnet.id.to_ascii_lowercase().rfind("/subnets/") {
        Some(at) => config.subnet.id[..at].to_owned(),
        None => config.subnet.id,
    };
    Ok(Seen {
        inputs: attributes([
            ("name", gateway.envelope.name.into()),
            ("location", gateway.envelope.location.into()),
            ("sku", properties.sku.name.into()),
            ("vpn_type", properties.vpn_type.into()),
            ("public_ip_id", config.public_ip_address.id.into()),
            ("virtual_network_id", vnet_id.into()),
        ]),
        outputs: attributes([("id", gateway.envelope.id.as_str().into())]),
        id: gateway.envelope.id,
        tags: gateway.envelope.tags,
    })
}
