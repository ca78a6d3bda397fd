//! `azure_resource_group`: a resource group carrying the ownership tags. Deleting it deletes
//! everything inside (ARM cascades), which is why the engine deletes it last.

use serde::{Deserialize, Serialize};

use super::{Ctx, Seen, Spec, Tags, attributes, decode, encode};
use crate::arm::RESOURCE_GROUPS;
use crate::error::ArmResult;

pub static SPEC: Spec = Spec { ty: RESOURCE_GROUPS, taggable: true, body, observe };

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ResourceGroup {
    #[serde(skip_serializing)]
    pub id: String,
    #[serde(skip_serializing)]
    pub name: String,
    pub location: String,
    pub tags: Tags,
}

fn body(ctx: &Ctx) -> ArmResult<serde_json::Value> {
    encode(&ResourceGroup { location: ctx.location()?, tags: ctx.tags(), ..ResourceGroup::default() })
}

fn observe(resource: &serde_json::Value) -> ArmResult<Seen> {
    let group: ResourceGroup = decode(resource)?;
    Ok(Seen {
        inputs: attributes([("name", group.name.as_str().into()), ("location", group.location.into())]),
        outputs: attributes([("id", group.id.as_str().into()), ("name", group.name.into())]),
        id: group.id,
        tags: group.tags,
    })
}
