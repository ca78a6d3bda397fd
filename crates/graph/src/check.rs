//! Checks every resource's known attribute values against the rules its provider's schema
//! declares, before any cloud call, and points each violation at the topology value (or item)
//! the attribute was made from.

use std::collections::BTreeMap;

use ringform_core::schema::{Quota, Schemas};
use ringform_core::{Address, Value};
use ringform_topology::{Diagnostic, Span, Spanned, Topology};

use crate::ResourceGraph;

/// Something the cloud would refuse: a value, or one object too many.
#[derive(Clone, Debug, PartialEq)]
pub struct Violation {
    /// What it is about: `<address>.<attribute>`, or `quotas.<key>`.
    pub key: String,
    /// A whole sentence naming the attribute and the resource.
    pub message: String,
    /// The topology value the attribute was made from, else the item that made the resource.
    pub span: Span,
    pub hint: Option<String>,
}

impl Violation {
    fn of(address: &Address, attribute: &str, message: String, span: Span, hint: Option<String>) -> Violation {
        Violation {
            key: format!("{address}.{attribute}"),
            message: format!("{attribute} of {address}: {message}"),
            span,
            hint,
        }
    }

    /// As a topology diagnostic, for `validate` and `plan` to print like any other.
    pub fn diagnostic(&self) -> Diagnostic {
        Diagnostic {
            span: self.span.clone(),
            key: self.key.clone(),
            message: self.message.clone(),
            hint: self.hint.clone(),
        }
    }
}

impl ResourceGraph {
    /// The values in this graph that break their schema's rules, and the quotas it would pass
    /// (at their defaults, or as `topology` raised them).
    pub fn check(&self, schemas: &Schemas, topology: &Topology) -> Vec<Violation> {
        let mut found = self.check_values(schemas, &topology.deployment.value);
        found.extend(self.check_quotas(schemas, &topology.quotas));
        found
    }

    /// `deployment` is the deployment's name, which cloud names start with.
    fn check_values(&self, schemas: &Schemas, deployment: &str) -> Vec<Violation> {
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
                    found.push(Violation::of(&resource.address, attribute.name, message, span, hint));
                }
            }
        }
        found
    }

    /// Counts the objects each quota limits, per holder (a region, a route table), against the
    /// topology's `[quotas]` or the cloud's default; a `[quotas]` key no schema declares is a
    /// violation too, so a typo cannot leave a quota at its default unnoticed.
    fn check_quotas(&self, schemas: &Schemas, raised: &BTreeMap<String, Spanned<u32>>) -> Vec<Violation> {
        let quotas: Vec<(&Quota, ringform_core::Kind)> =
            schemas.kinds().flat_map(|k| k.quotas.iter().map(move |q| (q, k.kind))).collect();
        let mut found: Vec<Violation> = raised
            .iter()
            .filter(|(key, _)| !quotas.iter().any(|(q, _)| q.key == key.as_str()))
            .map(|(key, value)| {
                let known: Vec<&str> = quotas.iter().map(|(q, _)| q.key).collect();
                Violation {
                    key: format!("quotas.{key}"),
                    message: format!("ringform knows no quota `{key}`"),
                    span: value.span.clone(),
                    hint: Some(format!("the quotas are {}", known.join(", "))),
                }
            })
            .collect();
        for (quota, kind) in quotas {
            let limit = raised.get(quota.key).map_or(quota.default, |v| v.value);
            // Per holder: how many objects it holds, and the last of them (reported).
            let mut holders: BTreeMap<String, (u32, &Address, &'static str)> = BTreeMap::new();
            for resource in self.resources().filter(|r| r.address.kind() == kind) {
                for &attribute in quota.per {
                    let holder = match resource.attributes.get(attribute) {
                        Some(Value::String(text)) => text.clone(),
                        Some(Value::Reference(reference)) => reference.address.to_string(),
                        _ => continue,
                    };
                    let entry = holders.entry(holder).or_insert((0, &resource.address, attribute));
                    *entry = (entry.0 + 1, &resource.address, attribute);
                }
            }
            for (holder, (count, address, attribute)) in holders.into_iter().filter(|(_, (n, _, _))| *n > limit) {
                let origin = self.origin(address);
                let given = if raised.contains_key(quota.key) { "as [quotas] sets it" } else { "by default" };
                let message = format!(
                    "{count} {kind} objects for {holder}, over the quota \"{}\" of {limit} ({given})",
                    quota.name
                );
                let hint = match quota.raise {
                    Some(how) => format!("{how}, then say so in the topology: [quotas] {} = {count}", quota.key),
                    None => format!(
                        "ask the cloud to raise \"{}\" to at least {count}, then say so in the topology: [quotas] {} = {count}",
                        quota.name, quota.key
                    ),
                };
                found.push(Violation::of(
                    address,
                    attribute,
                    message,
                    origin.map_or(0..0, |o| o.item.clone()),
                    Some(hint),
                ));
            }
        }
        found
    }
}
