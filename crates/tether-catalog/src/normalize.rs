//! Normalisation before comparison, so that a value the server reports in another spelling, or
//! a field the server fills in on its own, does not show as a change in every plan.

use ipnet::IpNet;
use tether_model::{Address, Attributes, Value};

/// Keys of an IAM policy whose value may be one string or a list of strings, in any order.
const IAM_SET_KEYS: [&str; 4] = ["Action", "NotAction", "Resource", "NotResource"];

/// The tag key prefix HyperShift's operator appends to `resourceTags` (`kubernetes.io/cluster/<infra-id>`).
const CLUSTER_TAG_PREFIX: &str = "kubernetes.io/cluster/";

/// True when `observed` means the same as `desired`: equal, or equal after normalising CIDRs,
/// JSON documents, Kubernetes quantities and durations, at any depth. Maps and lists are compared
/// whole; the caller decides which maps to compare key by key.
pub fn equivalent(desired: &Value, observed: &Value) -> bool {
    match (desired, observed) {
        (Value::String(wanted), Value::String(seen)) => wanted == seen || same_string_meaning(wanted, seen),
        (Value::List(wanted), Value::List(seen)) => {
            wanted.len() == seen.len() && wanted.iter().zip(seen).all(|(left, right)| equivalent(left, right))
        }
        (Value::Map(wanted), Value::Map(seen)) => {
            wanted.len() == seen.len()
                && wanted.iter().all(|(key, left)| seen.get(key).is_some_and(|right| equivalent(left, right)))
        }
        (wanted, seen) => wanted == seen,
    }
}

fn same_string_meaning(left: &str, right: &str) -> bool {
    same_cidr(left, right) || same_json_document(left, right) || same_amount(left, right)
}

/// `2001:DB8::/32` and `2001:db8:0::/32` are one network.
fn same_cidr(left: &str, right: &str) -> bool {
    matches!((left.parse::<IpNet>(), right.parse::<IpNet>()), (Ok(left), Ok(right)) if left == right)
}

/// JSON documents (IAM policies) compare as data: key order and whitespace do not count; an
/// IAM `Action`, `Resource`, principal or condition value written as one string equals a
/// one-element list; and a URL-encoded document, as IAM returns policies, equals its decoded form.
fn same_json_document(left: &str, right: &str) -> bool {
    let parse = |text: &str| {
        let decoded = url_decoded_document(text);
        let trimmed = decoded.as_deref().unwrap_or(text).trim_start();
        if !trimmed.starts_with('{') && !trimmed.starts_with('[') {
            return None;
        }
        serde_json::from_str::<serde_json::Value>(trimmed).ok().map(canonical_policy)
    };
    matches!((parse(left), parse(right)), (Some(left), Some(right)) if left == right)
}

/// Decodes a percent-encoded JSON document (`%7B%22Version%22…`); `None` for text that does not
/// start with an encoded `{` or `[`, or that does not decode to UTF-8.
fn url_decoded_document(text: &str) -> Option<String> {
    let trimmed = text.trim_start();
    let prefix = trimmed.get(..3)?;
    if !prefix.eq_ignore_ascii_case("%7B") && !prefix.eq_ignore_ascii_case("%5B") {
        return None;
    }
    let bytes = trimmed.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        let byte = bytes[index];
        let escape = (byte == b'%').then(|| bytes.get(index + 1..index + 3)).flatten();
        match escape.and_then(|hex| u8::from_str_radix(std::str::from_utf8(hex).ok()?, 16).ok()) {
            Some(value) => {
                decoded.push(value);
                index += 3;
            }
            None => {
                decoded.push(if byte == b'+' { b' ' } else { byte });
                index += 1;
            }
        }
    }
    String::from_utf8(decoded).ok()
}

fn canonical_policy(json: serde_json::Value) -> serde_json::Value {
    use serde_json::Value as Json;
    match json {
        Json::Object(map) => Json::Object(
            map.into_iter()
                .map(|(key, value)| {
                    let value = match (key.as_str(), value) {
                        ("Statement", Json::Object(statement)) => Json::Array(vec![Json::Object(statement)]),
                        (name, value) if IAM_SET_KEYS.contains(&name) => sorted_set(value),
                        // `{"Service": "ec2.amazonaws.com"}` and `{"Service": ["ec2.amazonaws.com"]}`
                        // are one principal; `"*"` stays a string.
                        ("Principal" | "NotPrincipal", Json::Object(principals)) => {
                            Json::Object(principals.into_iter().map(|(kind, ids)| (kind, sorted_set(ids))).collect())
                        }
                        // Each condition key's values form a set: `{"StringEquals": {"k": "v"}}`
                        // equals `{"StringEquals": {"k": ["v"]}}`.
                        ("Condition", Json::Object(operators)) => Json::Object(
                            operators
                                .into_iter()
                                .map(|(operator, keys)| match keys {
                                    Json::Object(keys) => (
                                        operator,
                                        Json::Object(
                                            keys.into_iter().map(|(key, values)| (key, sorted_set(values))).collect(),
                                        ),
                                    ),
                                    other => (operator, other),
                                })
                                .collect(),
                        ),
                        (_, value) => value,
                    };
                    (key, canonical_policy(value))
                })
                .collect(),
        ),
        Json::Array(items) => Json::Array(items.into_iter().map(canonical_policy).collect()),
        other => other,
    }
}

fn sorted_set(value: serde_json::Value) -> serde_json::Value {
    use serde_json::Value as Json;
    match value {
        Json::String(text) => Json::Array(vec![Json::String(text)]),
        Json::Array(mut items) => {
            items.sort_by_key(ToString::to_string);
            items.dedup();
            Json::Array(items)
        }
        other => other,
    }
}

/// Kubernetes quantities (`8Gi` and `8192Mi`) and Go durations (`5m` and `300s`) compare by amount.
fn same_amount(left: &str, right: &str) -> bool {
    let quantities = (quantity_millis(left), quantity_millis(right));
    let durations = (duration_nanos(left), duration_nanos(right));
    matches!(quantities, (Some(left), Some(right)) if left == right)
        || matches!(durations, (Some(left), Some(right)) if left == right)
}

/// Parses a Kubernetes quantity without exponent into thousandths of its unit.
fn quantity_millis(text: &str) -> Option<i128> {
    const SUFFIXES: [(&str, i128); 13] = [
        ("Ki", 1 << 10),
        ("Mi", 1 << 20),
        ("Gi", 1 << 30),
        ("Ti", 1 << 40),
        ("Pi", 1 << 50),
        ("Ei", 1 << 60),
        ("k", 1_000),
        ("M", 1_000_000),
        ("G", 1_000_000_000),
        ("T", 1_000_000_000_000),
        ("P", 1_000_000_000_000_000),
        ("E", 1_000_000_000_000_000_000),
        ("m", 0),
    ];
    let (number, multiplier) = match SUFFIXES.iter().find(|(suffix, _)| text.ends_with(suffix)) {
        Some(("m", _)) => (&text[..text.len() - 1], None),
        Some((suffix, multiplier)) => (&text[..text.len() - suffix.len()], Some(*multiplier)),
        None => (text, Some(1)),
    };
    let millis = decimal_thousandths(number)?;
    match multiplier {
        Some(multiplier) => millis.checked_mul(multiplier),
        None => (millis % 1000 == 0).then_some(millis / 1000),
    }
}

/// Parses `12` or `1.5` into thousandths; more than three decimals or a sign is rejected.
fn decimal_thousandths(text: &str) -> Option<i128> {
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    let digits = |part: &str| part.bytes().all(|byte| byte.is_ascii_digit());
    if whole.is_empty() || !digits(whole) || !digits(fraction) || fraction.len() > 3 || whole.len() > 18 {
        return None;
    }
    let whole: i128 = whole.parse().ok()?;
    let fraction: i128 = format!("{fraction:0<3}").parse().ok()?;
    Some(whole * 1000 + fraction)
}

/// Parses a Go duration such as `1h30m` or `300s` into nanoseconds; every number needs a unit.
fn duration_nanos(text: &str) -> Option<i128> {
    const UNITS: [(&str, i128); 7] = [
        ("ns", 1),
        ("us", 1_000),
        ("µs", 1_000),
        ("ms", 1_000_000),
        ("h", 3_600_000_000_000),
        ("m", 60_000_000_000),
        ("s", 1_000_000_000),
    ];
    let mut rest = text;
    let mut total = 0_i128;
    while !rest.is_empty() {
        let number_end = rest.find(|c: char| !c.is_ascii_digit() && c != '.').unwrap_or(rest.len());
        let (number, after) = rest.split_at(number_end);
        let (unit, scale) = UNITS.iter().find(|(unit, _)| after.starts_with(unit))?;
        total += decimal_thousandths(number)? * scale / 1000;
        rest = &after[unit.len()..];
    }
    (!text.is_empty()).then_some(total)
}

/// Rewrites desired attributes into the form the server reports: a Secret's write-only
/// `stringData` entries become base64 `data` entries, as the API server stores them, and a VPC
/// endpoint's route tables, a set for EC2, are sorted as [`observed_without_server_fields`] sorts
/// the observed ones.
pub fn desired_as_stored(address: &Address, desired: &Attributes) -> Attributes {
    let mut attributes = desired.clone();
    if address.kind() == "vpc_endpoint" {
        sort_route_table_ids(&mut attributes);
        return attributes;
    }
    if address.kind() != "secret" {
        return attributes;
    }
    let Some(Value::Map(string_data)) = attributes.remove("stringData") else { return attributes };
    let mut data = match attributes.remove("data") {
        Some(Value::Map(data)) => data,
        _ => Default::default(),
    };
    for (key, value) in string_data {
        data.insert(key, encode_secret_text(value));
    }
    attributes.insert("data".to_owned(), Value::Map(data));
    attributes
}

/// Sorts a VPC endpoint's `route_table_ids` when every entry is a known id.
fn sort_route_table_ids(attributes: &mut Attributes) {
    if let Some(Value::List(table_ids)) = attributes.get_mut("route_table_ids")
        && table_ids.iter().all(|id| id.as_str().is_some())
    {
        table_ids.sort_by(|left, right| left.as_str().cmp(&right.as_str()));
    }
}

fn encode_secret_text(value: Value) -> Value {
    use base64::Engine as _;
    let encode = |text: &str| base64::engine::general_purpose::STANDARD.encode(text.as_bytes());
    match &value {
        Value::String(text) => Value::String(encode(text)),
        Value::Sensitive(secret) => match secret.expose() {
            Some(text) => Value::Sensitive(tether_model::Sensitive::new(&encode(text))),
            None => value,
        },
        _ => value,
    }
}

/// Removes from observed attributes what HyperShift adds on its own: the
/// `kubernetes.io/cluster/<infra-id>` entry its operator appends to `spec.platform.aws.resourceTags`
/// of a HostedCluster or NodePool, unless the desired list has that key too. It also sorts a VPC
/// endpoint's route tables, whose order EC2 does not keep.
pub fn observed_without_server_fields(address: &Address, desired: &Attributes, observed: &Attributes) -> Attributes {
    let mut attributes = observed.clone();
    if address.kind() == "vpc_endpoint" {
        sort_route_table_ids(&mut attributes);
        return attributes;
    }
    if !matches!(address.kind(), "hosted_cluster" | "node_pool") {
        return attributes;
    }
    let path = ["platform", "aws", "resourceTags"];
    let tag_key = |tag: &Value| tag.get_path(&["key"]).and_then(Value::as_str).map(str::to_owned);
    let desired_keys: Vec<String> = match desired.get("spec").and_then(|spec| spec.get_path(&path)) {
        Some(Value::List(tags)) => tags.iter().filter_map(tag_key).collect(),
        _ => return attributes,
    };
    if let Some(Value::List(tags)) = attributes.get_mut("spec").and_then(|spec| get_path_mut(spec, &path)) {
        tags.retain(|tag| {
            tag_key(tag).is_none_or(|key| !key.starts_with(CLUSTER_TAG_PREFIX) || desired_keys.contains(&key))
        });
    }
    attributes
}

fn get_path_mut<'a>(value: &'a mut Value, path: &[&str]) -> Option<&'a mut Value> {
    path.iter().try_fold(value, |value, key| match value {
        Value::Map(map) => map.get_mut(*key),
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use tether_model::Sensitive;

    fn same(left: &str, right: &str) -> bool {
        equivalent(&Value::from(left), &Value::from(right))
    }

    #[test]
    fn cidrs_compare_canonically() {
        assert!(same("2001:DB8::/32", "2001:db8:0::/32"));
        assert!(!same("10.1.0.0/16", "10.2.0.0/16"));
    }

    #[test]
    fn policies_compare_as_data() {
        let written =
            r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"ec2:Describe*","Resource":"*"}}"#;
        let reported = r#"{ "Statement": [ { "Resource": ["*"], "Action": ["ec2:Describe*"], "Effect": "Allow" } ],
            "Version": "2012-10-17" }"#;
        assert!(same(written, reported));
        assert!(!same(written, &reported.replace("Allow", "Deny")));
    }

    #[test]
    fn policy_key_order_ignored() {
        let written =
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}"#;
        let reordered =
            r#"{"Statement":[{"Resource":"*","Effect":"Allow","Action":"s3:GetObject"}],"Version":"2012-10-17"}"#;
        assert!(same(written, reordered));
    }

    #[test]
    fn policy_scalar_equals_one_item_list() {
        let scalar = r#"{"Statement":[{"Effect":"Allow","Principal":{"Federated":"arn:p"},"Action":"sts:AssumeRoleWithWebIdentity","Condition":{"StringEquals":{"host/ai:sub":"system:serviceaccount:a:b"}}}]}"#;
        let listed = r#"{"Statement":[{"Effect":"Allow","Principal":{"Federated":["arn:p"]},"Action":["sts:AssumeRoleWithWebIdentity"],"Condition":{"StringEquals":{"host/ai:sub":["system:serviceaccount:a:b"]}}}]}"#;
        assert!(same(scalar, listed));
        let other_account = listed.replace("a:b", "a:c");
        assert!(!same(scalar, &other_account));
    }

    #[test]
    fn policy_list_order_ignored_for_sets() {
        let left = r#"{"Statement":[{"Effect":"Allow","Action":["ec2:A","ec2:B"],"Resource":"*"}]}"#;
        let right = r#"{"Statement":[{"Effect":"Allow","Action":["ec2:B","ec2:A"],"Resource":"*"}]}"#;
        assert!(same(left, right));
    }

    #[test]
    fn url_encoded_policy_equals_decoded() {
        let written = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;
        let encoded = "%7B%22Version%22%3A%20%222012-10-17%22%2C%20%22Statement%22%3A%20%5B%7B%22Effect%22%3A%20%22Allow%22%2C%20%22Principal%22%3A%20%7B%22Service%22%3A%20%22ec2.amazonaws.com%22%7D%2C%20%22Action%22%3A%20%22sts%3AAssumeRole%22%7D%5D%7D";
        assert!(same(written, encoded));
        assert!(same(encoded, written));
        assert!(!same(&written.replace("ec2.", "lambda."), encoded));
    }

    #[test]
    fn url_decoding_rejects_plain_text() {
        assert_eq!(url_decoded_document("100%"), None);
        assert_eq!(url_decoded_document("%7Babc%7D").as_deref(), Some("{abc}"));
    }

    #[test]
    fn endpoint_route_tables_sorted() {
        let desired: Attributes =
            [("route_table_ids".to_owned(), Value::List(vec![Value::from("rtb-b"), Value::from("rtb-a")]))]
                .into_iter()
                .collect();
        let stored = desired_as_stored(&Address::aws("vpc_endpoint", "s3"), &desired);
        assert_eq!(stored["route_table_ids"], Value::List(vec![Value::from("rtb-a"), Value::from("rtb-b")]));
    }

    #[test]
    fn quantities_and_durations_compare_by_amount() {
        assert!(same("8Gi", "8192Mi"));
        assert!(same("1.5Gi", "1536Mi"));
        assert!(same("1000", "1k"));
        assert!(!same("8Gi", "8G"));
        assert!(same("5m", "300s"));
        assert!(same("1h30m", "90m0s"));
        assert!(!same("5m", "5s"));
        assert!(!same("ai-gpu", "ai-gpus"));
    }

    #[test]
    fn lists_compare_elementwise() {
        let desired = Value::List(vec![Value::map([("cidr", Value::from("FD00::/64"))])]);
        let observed = Value::List(vec![Value::map([("cidr", Value::from("fd00::/64"))])]);
        assert!(equivalent(&desired, &observed));
        assert!(!equivalent(&desired, &Value::List(Vec::new())));
    }

    #[test]
    fn string_data_becomes_data() {
        let desired: Attributes =
            [("stringData".to_owned(), Value::map([("token", Value::Sensitive(Sensitive::new("s3cret")))]))]
                .into_iter()
                .collect();
        let stored = desired_as_stored(&Address::cluster("secret", "token"), &desired);
        assert!(!stored.contains_key("stringData"));
        let expected = Sensitive::new("czNjcmV0");
        assert_eq!(stored["data"].get_path(&["token"]), Some(&Value::Sensitive(expected)));
    }

    #[test]
    fn cluster_tag_added_by_hypershift_is_ignored() {
        let tag = |key: &str| Value::map([("key", Value::from(key)), ("value", Value::from("owned"))]);
        let spec = |tags: Vec<Value>| {
            let aws = Value::map([("resourceTags", Value::List(tags))]);
            [("spec".to_owned(), Value::map([("platform", Value::map([("aws", aws)]))]))].into_iter().collect()
        };
        let desired: Attributes = spec(vec![tag("team")]);
        let observed: Attributes = spec(vec![tag("team"), tag("kubernetes.io/cluster/ai")]);
        let address = Address::cluster("hosted_cluster", "ai");
        assert_eq!(observed_without_server_fields(&address, &desired, &observed), desired);
    }
}
