//! Server-side apply field ownership in drift detection: which changed fields another applier
//! has taken from tether.
//!
//! The Kubernetes provider summarises each observed object's `metadata.managedFields` in the
//! attribute [`FIELD_OWNERS_ATTRIBUTE`]. A change to a field that tether applied is drift, except
//! when another manager has taken the field with server-side apply. The rules:
//!
//! - The field is gone: drift (a taint removed by `kubectl edit`). A removed field has no owner.
//! - tether's field manager still owns the field: drift.
//! - Another manager owns it through an `Apply` operation: not drift. Taking a field from tether
//!   with server-side apply needs `--force-conflicts`, so that manager declares the field on
//!   purpose, and putting it back would start a tug of war. Remove the field from the other applier's
//!   configuration, or from the environment file, to settle who owns it.
//! - Another manager owns it through an `Update` operation (`kubectl edit`, `scale`, `patch`, a
//!   console, a controller's PUT): drift. Such writes take ownership silently, so ownership alone
//!   cannot tell them from an intended hand-over; the catalogue's ownership marks and
//!   `[[drift.ignore]]` cover fields that a controller writes by design.
//! - No summary (a server that does not return `managedFields`): every change is drift.

use tether_model::{Attributes, Value};

/// The observed attribute with the field owners; written by `tether-kube`'s observation, whose
/// `FIELD_OWNERS_ATTRIBUTE` documents its form.
pub const FIELD_OWNERS_ATTRIBUTE: &str = "fieldOwners";

/// tether's server-side apply field manager, as `tether-kube` applies with it.
const TETHER_MANAGER: &str = "tether";

/// Returns the manager that took `path` from tether with server-side apply, according to the
/// observed object's field owners, or `None` when the change counts as drift.
pub(crate) fn taken_over_by(observed: &Attributes, path: &str) -> Option<String> {
    let Some(Value::List(owners)) = observed.get(FIELD_OWNERS_ATTRIBUTE) else { return None };
    observed_value(observed, path)?;

    let owns = |owner: &Value| {
        let Some(Value::List(fields)) = owner.get_path(&["fields"]) else { return false };
        fields.iter().filter_map(Value::as_str).any(|field| related(field, path))
    };
    let text = |owner: &Value, key: &str| owner.get_path(&[key]).and_then(Value::as_str).unwrap_or_default().to_owned();
    if owners.iter().any(|owner| text(owner, "manager") == TETHER_MANAGER && owns(owner)) {
        return None;
    }
    owners
        .iter()
        .find(|owner| text(owner, "manager") != TETHER_MANAGER && text(owner, "operation") == "Apply" && owns(owner))
        .map(|owner| text(owner, "manager"))
}

/// Returns the observed value at a dotted path. Map keys may contain dots (label keys), so each
/// step tries the longest key that matches.
fn observed_value<'a>(map: &'a std::collections::BTreeMap<String, Value>, path: &str) -> Option<&'a Value> {
    if let Some(value) = map.get(path) {
        return Some(value);
    }
    let mut splits: Vec<usize> = path.match_indices('.').map(|(index, _)| index).collect();
    splits.reverse();
    splits.into_iter().find_map(|index| match map.get(&path[..index]) {
        Some(Value::Map(inner)) => observed_value(inner, &path[index + 1..]),
        _ => None,
    })
}

/// True when one dotted path lies within the other, or they are equal.
fn related(a: &str, b: &str) -> bool {
    let within = |inner: &str, outer: &str| {
        inner == outer || (inner.starts_with(outer) && inner.as_bytes().get(outer.len()) == Some(&b'.'))
    };
    within(a, b) || within(b, a)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn owner(manager: &str, operation: &str, fields: &[&str]) -> Value {
        Value::map([
            ("manager", Value::from(manager)),
            ("operation", Value::from(operation)),
            ("fields", Value::List(fields.iter().map(|field| Value::from(*field)).collect())),
        ])
    }

    fn observed(owners: Vec<Value>) -> Attributes {
        let spec =
            Value::map([("replicas", Value::Int(5)), ("release", Value::map([("image", Value::from("quay.io/x:2"))]))]);
        let labels = Value::map([("labels", Value::map([("example.com/team", Value::from("ml"))]))]);
        Attributes::from([
            ("spec".to_owned(), spec),
            ("metadata".to_owned(), labels),
            (FIELD_OWNERS_ATTRIBUTE.to_owned(), Value::List(owners)),
        ])
    }

    #[test]
    fn field_applied_by_another_manager_is_not_drift() {
        let attributes = observed(vec![
            owner("tether", "Apply", &["spec.replicas"]),
            owner("hypershift-operator", "Apply", &["spec.release.image"]),
        ]);
        assert_eq!(taken_over_by(&attributes, "spec.release.image"), Some("hypershift-operator".to_owned()));
        assert_eq!(taken_over_by(&attributes, "spec.release"), Some("hypershift-operator".to_owned()));
    }

    #[test]
    fn field_tether_still_owns_is_drift() {
        let attributes =
            observed(vec![owner("tether", "Apply", &["spec.replicas"]), owner("other", "Apply", &["spec.replicas"])]);
        assert_eq!(taken_over_by(&attributes, "spec.replicas"), None);
    }

    #[test]
    fn field_changed_by_an_update_is_drift() {
        let attributes = observed(vec![owner("kubectl-scale", "Update", &["spec.replicas"])]);
        assert_eq!(taken_over_by(&attributes, "spec.replicas"), None);
    }

    #[test]
    fn removed_field_is_drift() {
        let attributes = observed(vec![owner("other", "Apply", &["spec.taints"])]);
        assert_eq!(taken_over_by(&attributes, "spec.taints"), None);
    }

    #[test]
    fn without_owners_everything_is_drift() {
        let mut attributes = observed(Vec::new());
        attributes.remove(FIELD_OWNERS_ATTRIBUTE);
        assert_eq!(taken_over_by(&attributes, "spec.replicas"), None);
    }

    #[test]
    fn dotted_label_keys_are_found() {
        let attributes = observed(vec![owner("team-bot", "Apply", &["metadata.labels.example.com/team"])]);
        assert_eq!(taken_over_by(&attributes, "metadata.labels.example.com/team"), Some("team-bot".to_owned()));
        assert_eq!(taken_over_by(&attributes, "metadata.labels.example.com/other"), None);
    }

    #[test]
    fn related_paths_respect_segments() {
        assert!(related("spec.a", "spec.a.b"));
        assert!(related("spec.a.b", "spec.a"));
        assert!(!related("spec.a", "spec.ab"));
    }
}
