//! One module per Azure kind: its typed ARM body (serde structs, camelCase like ARM), the id it
//! lives at, and how a GET of it reads back as the graph's attributes. [`Spec`] ties them
//! together so the provider has one path for every kind.

use ringform_schema::azure;
use std::collections::BTreeMap;

use ringform_core::provider::{ADDRESS_TAG, DEPLOYMENT_TAG};
use ringform_core::schema::KindSchema;
use ringform_core::{Address, Attributes, Inputs, Kind, Value};
use serde::{Deserialize, Serialize};

use crate::arm::ResourceType;
use crate::error::{ArmError, ArmResult};

pub mod aks;
pub mod connection;
pub mod gateway;
pub mod local_gateway;
pub mod peering;
pub mod public_ip;
pub mod resource_group;
pub mod role_assignment;
pub mod vnet;

/// What the provider needs to know about a kind.
pub struct Spec {
    pub ty: ResourceType,
    /// Peerings and role assignments take no tags: they are owned by being tracked, and live at
    /// ids their inputs determine.
    pub taggable: bool,
    pub body: fn(&Ctx) -> ArmResult<serde_json::Value>,
    pub observe: fn(&serde_json::Value) -> ArmResult<Seen>,
}

/// The spec of an Azure kind; an error for any other.
pub fn spec(kind: Kind) -> ArmResult<&'static Spec> {
    Ok(match kind {
        azure::RESOURCE_GROUP => &resource_group::SPEC,
        azure::VIRTUAL_NETWORK => &vnet::SPEC,
        azure::PUBLIC_IP => &public_ip::SPEC,
        azure::VPN_GATEWAY => &gateway::SPEC,
        azure::LOCAL_NETWORK_GATEWAY => &local_gateway::SPEC,
        azure::VPN_CONNECTION => &connection::SPEC,
        azure::VNET_PEERING => &peering::SPEC,
        azure::AKS_CLUSTER => &aks::SPEC,
        azure::ROLE_ASSIGNMENT => &role_assignment::SPEC,
        other => return Err(not_azure(other)),
    })
}

/// What the schema declares for `kind`: how ARM's answers compare with what state recorded.
pub fn schema(kind: Kind) -> ArmResult<&'static KindSchema> {
    azure::SCHEMA.kind(kind).ok_or_else(|| not_azure(kind))
}

fn not_azure(kind: Kind) -> ArmError {
    ArmError::invalid(format!("{kind} is not an Azure kind"))
}

/// One resource being created, updated or looked up.
pub struct Ctx<'a> {
    pub subscription: String,
    pub deployment: &'a str,
    pub inputs: Inputs<'a>,
}

impl<'a> Ctx<'a> {
    pub fn new(subscription: String, deployment: &'a str, address: &'a Address, inputs: &'a Attributes) -> Ctx<'a> {
        Ctx { subscription, deployment, inputs: Inputs::new(address, inputs) }
    }

    pub fn address(&self) -> &'a Address {
        self.inputs.address
    }

    /// The ownership tags every taggable object carries.
    pub fn tags(&self) -> Tags {
        [(DEPLOYMENT_TAG, self.deployment.to_owned()), (ADDRESS_TAG, self.address().to_string())]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v))
            .collect()
    }

    pub fn location(&self) -> ArmResult<String> {
        Ok(self.inputs.str("location")?.to_owned())
    }

    /// `/subscriptions/{s}/resourceGroups/{rg}`.
    pub fn group_id(&self) -> ArmResult<String> {
        Ok(format!("/subscriptions/{}/resourceGroups/{}", self.subscription, self.inputs.str("resource_group")?))
    }

    /// The id the object lives at, from its inputs; ARM ids are deterministic.
    pub fn id(&self, kind: Kind) -> ArmResult<String> {
        match kind {
            azure::RESOURCE_GROUP => {
                Ok(format!("/subscriptions/{}/resourceGroups/{}", self.subscription, self.inputs.str("name")?))
            }
            azure::VNET_PEERING => Ok(format!(
                "{}/providers/{}/{}/virtualNetworkPeerings/{}",
                self.group_id()?,
                vnet::SPEC.ty.name,
                self.inputs.str("virtual_network_name")?,
                self.inputs.str("name")?
            )),
            azure::ROLE_ASSIGNMENT => role_assignment::id(&self.inputs),
            _ => Ok(format!("{}/providers/{}/{}", self.group_id()?, spec(kind)?.ty.name, self.inputs.str("name")?)),
        }
    }
}

pub type Tags = BTreeMap<String, String>;

/// What every tracked top-level ARM resource has: id and name (read-only, never sent), location
/// and tags. Resources embed it with `#[serde(flatten)]`, so the JSON stays flat.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Envelope {
    #[serde(skip_serializing)]
    pub id: String,
    #[serde(skip_serializing)]
    pub name: String,
    pub location: String,
    pub tags: Tags,
}

/// A reference to another ARM object by id.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SubResource {
    #[serde(default)]
    pub id: String,
}

impl SubResource {
    pub fn new(id: impl Into<String>) -> SubResource {
        SubResource { id: id.into() }
    }
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct AddressSpace {
    pub address_prefixes: Vec<String>,
}

/// A resource as GET returned it, in the graph's terms.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Seen {
    pub id: String,
    pub tags: Tags,
    pub inputs: Attributes,
    pub outputs: Attributes,
}

/// Decodes a GET answer into a kind's typed resource.
pub fn decode<T: serde::de::DeserializeOwned>(resource: &serde_json::Value) -> ArmResult<T> {
    T::deserialize(resource).map_err(|e| ArmError::Malformed {
        resource: resource.get("id").and_then(|v| v.as_str()).unwrap_or("(no id)").to_owned(),
        what: "the resource does not have the documented shape",
        source: Box::new(e),
    })
}

pub fn encode<T: Serialize>(body: &T) -> ArmResult<serde_json::Value> {
    serde_json::to_value(body).map_err(|e| ArmError::invalid_because("encoding a request body", e))
}

/// The attribute map of `entries`.
pub fn attributes<const N: usize>(entries: [(&str, Value); N]) -> Attributes {
    entries.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()
}

/// A string, or null when empty.
pub fn string_or_null(s: &str) -> Value {
    if s.is_empty() { Value::Null } else { Value::from(s) }
}
