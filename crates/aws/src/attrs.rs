//! Observed inputs that compare equal to recorded ones when nothing changed, compared the way
//! the kind's schema (and so the planner) compares them.

use ringform_core::schema::KindSchema;
use ringform_core::{Attributes, Kind, Value};
use ringform_schema::aws;

/// What the AWS schema declares about `kind`.
pub(crate) fn schema(kind: Kind) -> Option<&'static KindSchema> {
    aws::SCHEMA.kinds.iter().find(|k| k.kind == kind)
}

/// The inputs an object of `kind` has now: `base` (what state recorded, or the desired inputs
/// on a find) overlaid with what AWS reports in `observed`. Only attributes `base` has are
/// reported, and a `base` value of null (left for AWS to choose, e.g. an availability zone)
/// stays null. A value the schema counts as the same as the recorded one (a set AWS returned in
/// another order) keeps the recorded form. Attributes AWS never returns (a VPN key) keep their
/// recorded value.
pub(crate) fn merge(kind: Kind, base: &Attributes, observed: Attributes) -> Attributes {
    let schema = schema(kind);
    let mut merged = base.clone();
    for (key, value) in observed {
        let Some(recorded) = merged.get_mut(&key) else { continue };
        let same = schema.and_then(|s| s.input(&key)).is_some_and(|a| a.same(recorded, &value));
        if !same && !matches!(recorded, Value::Null) {
            *recorded = value;
        }
    }
    merged
}

/// Outputs as recorded, refreshed with what AWS reports now.
pub(crate) fn merge_outputs(base: &Attributes, observed: Attributes) -> Attributes {
    let mut merged = base.clone();
    merged.extend(observed);
    merged
}

/// Builds an [`Attributes`] map from `(name, value)` pairs.
pub(crate) fn attributes<const N: usize>(pairs: [(&str, Value); N]) -> Attributes {
    pairs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merge_keeps_recorded_order_of_sets_nulls_and_unreturned_inputs() {
        let base = attributes([
            ("ports", Value::from(vec![7000i64, 9042])),
            ("cidr_blocks", Value::from(vec!["10.0.0.0/16", "10.1.0.0/16"])),
            ("description", Value::Null),
            ("protocol", "tcp".into()),
            ("security_group_id", "sg-1".into()),
        ]);
        let observed = attributes([
            ("ports", Value::from(vec![9042i64, 7000])),
            ("cidr_blocks", Value::from(vec!["10.1.0.0/16", "10.0.0.0/16"])),
            ("description", "made by hand".into()),
            ("security_group_id", "sg-2".into()),
            ("extra", Value::Int(1)),
        ]);
        let merged = merge(aws::SECURITY_GROUP_RULE, &base, observed);
        assert_eq!(merged["ports"], Value::from(vec![7000i64, 9042]));
        assert_eq!(merged["cidr_blocks"], Value::from(vec!["10.0.0.0/16", "10.1.0.0/16"]));
        assert_eq!(merged["description"], Value::Null);
        assert_eq!(merged["protocol"], Value::from("tcp"));
        assert_eq!(merged["security_group_id"], Value::from("sg-2"));
        assert!(!merged.contains_key("extra"));
    }

    #[test]
    fn merge_reports_sets_holding_the_same_items_a_different_number_of_times() {
        let base = attributes([("subnet_ids", Value::from(vec!["a", "a", "b"]))]);
        let observed = attributes([("subnet_ids", Value::from(vec!["a", "b", "b"]))]);
        let merged = merge(aws::EKS_CLUSTER, &base, observed);
        assert_eq!(merged["subnet_ids"], Value::from(vec!["a", "b", "b"]));
    }

    #[test]
    fn merge_reports_reordered_lists_whose_order_matters() {
        let base = attributes([("ports", Value::from(vec![7000i64, 9042]))]);
        let observed = attributes([("ports", Value::from(vec![9042i64, 7000]))]);
        // A kind the schema does not declare compares exactly.
        let undeclared = Kind::new("aws_undeclared");
        assert_eq!(merge(undeclared, &base, observed)["ports"], Value::from(vec![9042i64, 7000]));
    }
}
