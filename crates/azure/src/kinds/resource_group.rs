//! `azure_resource_group`: a resource group carrying the ownership tags. Deleting it deletes
//! everything inside (ARM cascades), which is why the engine deletes it last.

use serde::{Deserialize, Serialize};

use super::{Ctx, Envelope, Seen, Spec, attributes, decode, encode};
use crate::arm::RESOURCE_GROUPS;
use crate::error::ArmResult;

pub static SPEC: Spec = Spec { ty: RESOURCE_GROUPS, taggable: true, body, observe };

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ResourceGroup {
    #[serde(flatten)]
    pub envelope: Envelope,
}

fn body(ctx: &Ctx) -> ArmResult<serde_json::Value> {
    encode(&ResourceGroup { envelope: Envelope { location: ctx.location()?, tags: ctx.tags(), ..Default::default() } })
}

fn observe(resource: &serde_json::Value) -> ArmResult<Seen> {
    let group: ResourceGroup = decode(resource)?;
    Ok(Seen {
        inputs: attributes([
            ("name", group.envelope.name.as_str().into()),
            ("location", group.envelope.location.into()),
        ]),
        outputs: attributes([("id", group.envelope.id.as_str().into()), ("name", group.envelope.name.into())]),
        id: group.envelope.id,
        tags: group.envelope.tags,
    })
}
