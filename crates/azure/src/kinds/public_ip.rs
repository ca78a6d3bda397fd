//! `azure_public_ip`: a Standard, static, zonal IPv4 address for a VPN gateway.

use serde::{Deserialize, Serialize};

use super::{Ctx, Envelope, Seen, Spec, attributes, decode, encode, string_or_null};
use crate::arm::PUBLIC_IPS;
use crate::attrs::strings_value;
use crate::error::ArmResult;

pub static SPEC: Spec = Spec { ty: PUBLIC_IPS, taggable: true, body, observe };

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct PublicIpAddress {
    #[serde(flatten)]
    pub envelope: Envelope,
    pub sku: Sku,
    pub properties: PublicIpProperties,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub zones: Vec<String>,
}

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Sku {
    pub name: String,
}

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct PublicIpProperties {
    #[serde(rename = "publicIPAllocationMethod")]
    pub allocation_method: String,
    #[serde(rename = "publicIPAddressVersion")]
    pub address_version: String,
    #[serde(rename = "ipAddress", skip_serializing)]
    pub ip_address: String,
}

fn body(ctx: &Ctx) -> ArmResult<serde_json::Value> {
    encode(&PublicIpAddress {
        envelope: Envelope { location: ctx.location()?, tags: ctx.tags(), ..Default::default() },
        sku: Sku { name: ctx.inputs.opt_str("sku")?.unwrap_or("Standard").to_owned() },
        properties: PublicIpProperties {
            allocation_method: ctx.inputs.opt_str("allocation_method")?.unwrap_or("Static").to_owned(),
            address_version: "IPv4".to_owned(),
            ip_address: String::new(),
        },
        zones: ctx.inputs.strings("zones")?,
    })
}

fn observe(resource: &serde_json::Value) -> ArmResult<Seen> {
    let ip: PublicIpAddress = decode(resource)?;
    Ok(Seen {
        inputs: attributes([
            ("name", ip.envelope.name.as_str().into()),
            ("location", ip.envelope.location.into()),
            ("sku", ip.sku.name.into()),
            ("allocation_method", ip.properties.allocation_method.into()),
            ("zones", strings_value(&ip.zones)),
        ]),
        outputs: attributes([
            ("id", ip.envelope.id.as_str().into()),
            ("ip_address", string_or_null(&ip.properties.ip_address)),
        ]),
        id: ip.envelope.id,
        tags: ip.envelope.tags,
    })
}
