//! Ownership tags (`ringform:deployment`, `ringform:address`, and `Name`), set at creation so
//! that an object whose create crashed half-way can still be found and adopted.

use std::collections::BTreeMap;

use aws_sdk_ec2::types::{Filter, ResourceType, Tag, TagSpecification};
use ringform_core::Address;
use ringform_core::provider::{ADDRESS_TAG, DEPLOYMENT_TAG};

use crate::errors::ApiError;

/// The tags an object at `address` carries, plus `Name` when it has one.
pub(crate) fn ownership(deployment: &str, address: &Address, name: Option<&str>) -> Vec<(String, String)> {
    let mut tags =
        vec![(DEPLOYMENT_TAG.to_owned(), deployment.to_owned()), (ADDRESS_TAG.to_owned(), address.to_string())];
    if let Some(name) = name {
        tags.push(("Name".to_owned(), name.to_owned()));
    }
    tags
}

/// True when `tags` say the object belongs to `address` of `deployment`.
pub(crate) fn is_owned(tags: &BTreeMap<String, String>, deployment: &str, address: &Address) -> bool {
    tags.get(DEPLOYMENT_TAG).is_some_and(|d| d == deployment)
        && tags.get(ADDRESS_TAG).is_some_and(|a| *a == address.to_string())
}

pub(crate) fn ec2_spec(resource: ResourceType, tags: &[(String, String)]) -> TagSpecification {
    TagSpecification::builder().resource_type(resource).set_tags(Some(ec2_tags(tags))).build()
}

pub(crate) fn ec2_tags(tags: &[(String, String)]) -> Vec<Tag> {
    tags.iter().map(|(k, v)| Tag::builder().key(k).value(v).build()).collect()
}

pub(crate) fn ec2_map(tags: &[Tag]) -> BTreeMap<String, String> {
    tags.iter().filter_map(|t| Some((t.key()?.to_owned(), t.value().unwrap_or_default().to_owned()))).collect()
}

pub(crate) fn filter(name: &str, values: impl IntoIterator<Item = impl Into<String>>) -> Filter {
    Filter::builder().name(name).set_values(Some(values.into_iter().map(Into::into).collect())).build()
}

/// Filters for the objects of `deployment`.
pub(crate) fn owned_filters(deployment: &str) -> Vec<Filter> {
    vec![filter(&format!("tag:{DEPLOYMENT_TAG}"), [deployment])]
}

/// Sets (or removes) the `Name` tag of an EC2 object.
pub(crate) async fn ec2_set_name(ec2: &aws_sdk_ec2::Client, id: &str, name: Option<&str>) -> Result<(), ApiError> {
    match name {
        Some(name) => {
            ec2.create_tags().resources(id).tags(Tag::builder().key("Name").value(name).build()).send().await?;
        }
        None => {
            ec2.delete_tags().resources(id).tags(Tag::builder().key("Name").build()).send().await?;
        }
    }
    Ok(())
}
