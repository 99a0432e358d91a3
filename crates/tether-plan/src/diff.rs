//! Attribute-level comparison of desired and observed resources.

use std::collections::BTreeMap;

use tether_catalog::KindSchema;
use tether_model::{AttributeChange, Attributes, Value};

/// Compares desired attributes with observed ones and lists every difference.
///
/// Only what the file sets is compared: maps are compared key by key on the desired keys,
/// because servers add their own fields, except the maps the schema marks exact. Lists and
/// scalars are compared whole, after normalisation (see [`tether_catalog::equivalent`]). An unresolved reference in `desired` is always a difference,
/// since its value is known only after apply.
pub fn diff_attributes(
    schema: Option<&KindSchema>,
    desired: &Attributes,
    observed: &Attributes,
) -> Vec<AttributeChange> {
    let mut changes = Vec::new();
    compare_maps(schema, "", desired, observed, &mut changes);
    changes
}

fn compare_maps(
    schema: Option<&KindSchema>,
    prefix: &str,
    desired: &BTreeMap<String, Value>,
    observed: &BTreeMap<String, Value>,
    changes: &mut Vec<AttributeChange>,
) {
    for (key, wanted) in desired {
        let path = if prefix.is_empty() { key.clone() } else { format!("{prefix}.{key}") };
        compare_values(schema, path, wanted, observed.get(key), changes);
    }
}

fn compare_values(
    schema: Option<&KindSchema>,
    path: String,
    desired: &Value,
    observed: Option<&Value>,
    changes: &mut Vec<AttributeChange>,
) {
    let exact = schema.is_some_and(|schema| schema.is_exact_map(&path));
    match (desired, observed) {
        (Value::Map(wanted), Some(Value::Map(seen))) if !exact => compare_maps(schema, &path, wanted, seen, changes),
        (Value::Null, None) => {}
        (wanted, Some(seen)) if wanted.is_known() && tether_catalog::equivalent(wanted, seen) => {}
        (wanted, seen) => {
            let forces_replacement = schema.is_some_and(|schema| schema.replaces_on_change(&path, seen));
            changes.push(AttributeChange {
                path,
                before: seen.cloned(),
                after: Some(wanted.clone()),
                forces_replacement,
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tether_model::{Address, Sensitive};

    fn attributes(value: Value) -> Attributes {
        value.as_map().unwrap().clone()
    }

    #[test]
    fn extra_observed_fields_are_ignored() {
        let desired = attributes(Value::map([("spec", Value::map([("replicas", Value::Int(2))]))]));
        let observed = attributes(Value::map([
            ("spec", Value::map([("replicas", Value::Int(2)), ("clusterID", Value::from("abc"))])),
            ("status", Value::map([("replicas", Value::Int(1))])),
        ]));
        assert!(diff_attributes(None, &desired, &observed).is_empty());
    }

    #[test]
    fn nested_change_has_dotted_path() {
        let desired =
            attributes(Value::map([("spec", Value::map([("autoScaling", Value::map([("max", Value::Int(4))]))]))]));
        let observed =
            attributes(Value::map([("spec", Value::map([("autoScaling", Value::map([("max", Value::Int(2))]))]))]));
        let changes = diff_attributes(None, &desired, &observed);
        assert_eq!(changes.len(), 1);
        assert_eq!(changes[0].path, "spec.autoScaling.max");
        assert_eq!(changes[0].before, Some(Value::Int(2)));
        assert_eq!(changes[0].after, Some(Value::Int(4)));
    }

    #[test]
    fn exact_map_reports_extra_keys() {
        let schema = tether_catalog::kind_schema(&Address::aws("vpc", "main"));
        let desired = attributes(Value::map([("tags", Value::map([("Name", Value::from("ai-vpc"))]))]));
        let observed = attributes(Value::map([(
            "tags",
            Value::map([("Name", Value::from("ai-vpc")), ("team", Value::from("x"))]),
        )]));
        let changes = diff_attributes(schema, &desired, &observed);
        assert_eq!(changes.len(), 1);
        assert_eq!(changes[0].path, "tags");
    }

    #[test]
    fn reference_is_always_a_change() {
        let vpc = Address::aws("vpc", "main");
        let desired = attributes(Value::map([("vpc_id", Value::reference_to_id(&vpc))]));
        let observed = attributes(Value::map([("vpc_id", Value::from("vpc-1"))]));
        let changes = diff_attributes(tether_catalog::kind_schema(&Address::aws("subnet", "a")), &desired, &observed);
        assert_eq!(changes.len(), 1);
        assert!(changes[0].forces_replacement);
    }

    #[test]
    fn detached_gateway_attached_in_place() {
        let schema = tether_catalog::kind_schema(&Address::aws("internet_gateway", "main"));
        let desired = attributes(Value::map([("vpc_id", Value::from("vpc-1"))]));

        let detached = attributes(Value::map([("vpc_id", Value::Null)]));
        let changes = diff_attributes(schema, &desired, &detached);
        assert_eq!(changes.len(), 1);
        assert!(!changes[0].forces_replacement, "an unattached gateway is attached by an update");

        let elsewhere = attributes(Value::map([("vpc_id", Value::from("vpc-2"))]));
        let changes = diff_attributes(schema, &desired, &elsewhere);
        assert!(changes[0].forces_replacement, "a gateway of another VPC is replaced");
    }

    #[test]
    fn normalised_values_are_not_changes() {
        let desired = attributes(Value::map([("spec", Value::map([("size", Value::from("8Gi"))]))]));
        let observed = attributes(Value::map([("spec", Value::map([("size", Value::from("8192Mi"))]))]));
        assert!(diff_attributes(None, &desired, &observed).is_empty());
    }

    #[test]
    fn sensitive_values_compare_by_digest() {
        let secret = Sensitive::new("c2VjcmV0");
        let desired = attributes(Value::map([("data", Value::map([("k", Value::Sensitive(secret.clone()))]))]));
        let observed = attributes(Value::map([(
            "data",
            Value::map([("k", Value::Sensitive(Sensitive::from_digest(secret.digest().to_owned())))]),
        )]));
        assert!(diff_attributes(None, &desired, &observed).is_empty());
    }
}
