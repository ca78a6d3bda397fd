//! Checks every resource's known attribute values against the rules its provider's schema
//! declares, before any cloud call, and points each violation at the topology value (or item)
//! the attribute was made from.

use ringform_core::Address;
use ringform_core::schema::Schemas;
use ringform_topology::{Diagnostic, Span};

use crate::ResourceGraph;

/// An attribute value the cloud would refuse.
#[derive(Clone, Debug, PartialEq)]
pub struct Violation {
    pub address: Address,
    pub attribute: &'static str,
    pub message: String,
    /// The topology value the attribute was made from, else the item that made the resource.
    pub span: Span,
    pub hint: Option<String>,
}

impl Violation {
    /// As a topology diagnostic, for `validate` and `plan` to print like any other.
    pub fn diagnostic(&self) -> Diagnostic {
        Diagnostic {
            span: self.span.clone(),
            key: format!("{}.{}", self.address, self.attribute),
            message: format!("{} of {}: {}", self.attribute, self.address, self.message),
            hint: self.hint.clone(),
        }
    }
}

impl ResourceGraph {
    /// The values in this graph that break their schema's rules. `deployment` is the
    /// deployment's name, which cloud names start with.
    pub fn check(&self, schemas: &Schemas, deployment: &str) -> Vec<Violation> {
        let mut found = Vec::new();
        for resource in self.resources() {
            let Some(schema) = schemas.get(resource.address.kind()) else { continue };
            let origin = self.origin(&resource.address);
            for attribute in schema.inputs.iter().filter(|a| !a.rules.is_empty()) {
                let Some(value) = resource.attributes.get(attribute.name) else { continue };
                for message in attribute.violations(value) {
                    let span = origin.map_or(0..0, |o| o.attributes.get(attribute.name).unwrap_or(&o.item).clone());
                    let composed = value.as_str().is_some_and(|v| v.starts_with(&format!("{deployment}-")));
                    let hint = composed.then(|| {
                        format!(
                            "ringform names cloud objects `<deployment>-<cluster>-…`; shorten the deployment name \
                             (`{deployment}`) or the cluster's"
                        )
                    });
                    found.push(Violation {
                        address: resource.address.clone(),
                        attribute: attribute.name,
                        message,
                        span,
                        hint,
                    });
                }
            }
        }
        found
    }
}
