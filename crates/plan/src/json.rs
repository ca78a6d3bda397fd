//! The plan for machines, shaped like `terraform show -json` so CI scripts that read
//! `resource_changes[].change.actions` work unchanged. Unknown values are left out of
//! `after` and marked in `after_unknown`; secret values are left out and marked in
//! `before_sensitive` / `after_sensitive`.

use ringform_core::schema::Schemas;
use ringform_core::{Attributes, Value};
use serde_json::{Map, Value as Json, json};

use crate::{Action, Plan};

fn actions(action: Action) -> Json {
    match action {
        Action::NoOp => json!(["no-op"]),
        Action::Create => json!(["create"]),
        Action::Update => json!(["update"]),
        Action::Replace => json!(["delete", "create"]),
        Action::Delete => json!(["delete"]),
    }
}

/// `schemas` name each kind's provider.
pub fn to_json(plan: &Plan, schemas: &Schemas) -> Json {
    let changes: Vec<Json> = plan
        .changes
        .iter()
        .map(|change| {
            let (before, _, before_sensitive) = split_attributes(change.before());
            let (after, after_unknown, after_sensitive) = split_attributes(change.after.as_ref());
            let replace_paths: Vec<Json> = change.replace_because.iter().map(|k| json!([k])).collect();
            let mut resource_change = json!({
                "address": change.address.to_string(),
                "type": change.address.kind().as_str(),
                "name": change.address.name(),
                "provider_name": schemas.provider(change.address.kind()).map(|p| p.as_str()),
                "change": {
                    "actions": actions(change.action),
                    "before": before,
                    "after": after,
                    "after_unknown": after_unknown,
                    "before_sensitive": before_sensitive,
                    "after_sensitive": after_sensitive,
                    "replace_paths": replace_paths,
                },
                "action_reason": change.reason,
            });
            if !change.at_stake.is_empty() {
                resource_change["ringform_data_at_stake"] = json!(change.at_stake);
            }
            resource_change
        })
        .collect();
    let summary = plan.summary();
    json!({
        "format_version": "1.2",
        "ringform_version": env!("CARGO_PKG_VERSION"),
        "lineage": plan.lineage.to_string(),
        "serial": plan.serial,
        "topology_hash": plan.topology_hash,
        "resource_changes": changes,
        "summary": summary,
        "ringform_refusals": plan.refusals,
    })
}

/// One value as Terraform's JSON shows it: the known non-secret part, and masks marking what is
/// unknown and what is sensitive. `None` means "nothing here" (no known value, nothing to mark).
#[derive(Default)]
struct Split {
    known: Option<Json>,
    unknown: Option<Json>,
    sensitive: Option<Json>,
}

/// Attributes split into (known values, unknown mask, sensitive mask). Absent attributes give
/// `null`, `{}`, `{}`.
fn split_attributes(attributes: Option<&Attributes>) -> (Json, Json, Json) {
    let Some(attributes) = attributes else { return (Json::Null, json!({}), json!({})) };
    let mut known = Map::new();
    let mut unknown = Map::new();
    let mut sensitive = Map::new();
    for (key, value) in attributes {
        let part = split(value);
        for (map, part) in [(&mut known, part.known), (&mut unknown, part.unknown), (&mut sensitive, part.sensitive)] {
            if let Some(part) = part {
                map.insert(key.clone(), part);
            }
        }
    }
    (Json::Object(known), Json::Object(unknown), Json::Object(sensitive))
}

fn split(value: &Value) -> Split {
    match value {
        Value::Unknown | Value::Reference(_) => Split { unknown: Some(Json::Bool(true)), ..Split::default() },
        Value::Secret(_) => Split { sensitive: Some(Json::Bool(true)), ..Split::default() },
        Value::List(items) => {
            let parts: Vec<Split> = items.iter().map(split).collect();
            // A list mask marks each element, and is left out when it marks none.
            let mask = |pick: fn(&Split) -> &Option<Json>| {
                let marks: Vec<Json> = parts.iter().map(|p| pick(p).clone().unwrap_or(Json::Bool(false))).collect();
                marks.iter().any(|m| *m != Json::Bool(false)).then_some(Json::Array(marks))
            };
            Split {
                known: Some(Json::Array(parts.iter().map(|p| p.known.clone().unwrap_or(Json::Null)).collect())),
                unknown: mask(|p| &p.unknown),
                sensitive: mask(|p| &p.sensitive),
            }
        }
        Value::Map(map) => {
            let (known, unknown, sensitive) = split_attributes(Some(map));
            let non_empty = |j: Json| (j != json!({})).then_some(j);
            Split { known: Some(known), unknown: non_empty(unknown), sensitive: non_empty(sensitive) }
        }
        plain => Split { known: Some(plain.to_redacted_json()), ..Split::default() },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Change;

    #[test]
    fn terraform_shaped_with_unknown_and_sensitive_masks() {
        let after: Attributes = [
            ("cidr".to_owned(), Value::from("10.0.0.0/16")),
            ("id".to_owned(), Value::Unknown),
            ("key".to_owned(), Value::secret("hunter2".into())),
            ("seeds".to_owned(), Value::List(vec!["a".into(), Value::Unknown])),
        ]
        .into();
        let plan = Plan {
            lineage: ringform_state::Lineage::new(),
            serial: 3,
            topology_hash: "abc".into(),
            changes: vec![Change {
                address: "aws_vpc.a".parse().unwrap(),
                action: Action::Create,
                before: None,
                after: Some(after),
                changed: vec![],
                replace_because: vec![],
                at_stake: vec![],
                reason: "not in state yet".into(),
            }],
            refusals: vec![],
        };
        let json = to_json(&plan, &ringform_schema::all());
        let change = &json["resource_changes"][0]["change"];
        assert_eq!(change["actions"], json!(["create"]));
        assert_eq!(change["after"], json!({"cidr": "10.0.0.0/16", "seeds": ["a", null]}));
        assert_eq!(change["after_unknown"], json!({"id": true, "seeds": [false, true]}));
        assert_eq!(change["after_sensitive"], json!({"key": true}));
        assert!(!json.to_string().contains("hunter2"));
        assert_eq!(json["summary"], json!({"add": 1, "change": 0, "destroy": 0, "data_loss": 0}));
    }
}
