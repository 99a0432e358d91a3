//! Tags: tether's ownership marks, conversion to and from the SDK, and in-place tag updates.

use std::collections::BTreeMap;

use aws_sdk_ec2::types::{Filter, ResourceType, Tag, TagSpecification};
use tether_engine::ProviderError;
use tether_model::{Address, Attributes, Value};

use crate::attributes::AttributeReader;
use crate::error::{AwsError, send};
use crate::kind::Kind;

/// Tag key whose value is the environment's name.
pub const ENVIRONMENT_TAG: &str = tether_model::marks::ENVIRONMENT;

/// Tag key whose value is the resource's address, e.g. `aws.vpc.main`.
pub const ADDRESS_TAG: &str = tether_model::marks::ADDRESS;

/// Prefix of the tag keys that AWS reserves; tether neither reads nor changes them.
const RESERVED_PREFIX: &str = "aws:";

/// Builds the filter that selects every resource of one environment.
pub(crate) fn environment_filter(environment: &str) -> Filter {
    Filter::builder().name(format!("tag:{ENVIRONMENT_TAG}")).values(environment).build()
}

/// Observed tags as a map of strings, without AWS's reserved `aws:` keys.
pub(crate) fn observed_tags(tags: &[Tag]) -> Value {
    Value::Map(
        tags.iter()
            .filter_map(|tag| Some((tag.key()?, tag.value().unwrap_or_default())))
            .filter(|(key, _)| !key.starts_with(RESERVED_PREFIX))
            .map(|(key, value)| (key.to_owned(), Value::from(value)))
            .collect(),
    )
}

/// Returns whether the tags mark the resource as belonging to `environment`.
pub(crate) fn has_environment_tag(tags: &[Tag], environment: &str) -> bool {
    tags.iter().any(|tag| tag.key() == Some(ENVIRONMENT_TAG) && tag.value() == Some(environment))
}

/// Reads the address in a resource's `tether.dev/address` tag, if the resource carries this
/// environment's tag and the address is a valid address of `kind`.
///
/// The environment tag is checked here as well as in the request's filter, because moto 5.2.5
/// ignores the tag filter of DescribeNatGateways and returns other environments' gateways. A
/// resource with the environment tag but no usable address tag is logged and skipped, because
/// tether cannot tell which desired resource it is.
pub(crate) fn owned_address(tags: &[Tag], kind: Kind, id: &str, environment: &str) -> Option<Address> {
    if !has_environment_tag(tags, environment) {
        return None;
    }
    let value = tags.iter().find(|tag| tag.key() == Some(ADDRESS_TAG)).and_then(Tag::value);
    let Some(value) = value else {
        tracing::warn!(id, kind = kind.as_str(), "resource has the environment tag but no {ADDRESS_TAG} tag; ignored");
        return None;
    };

    match value.parse::<Address>() {
        Ok(address) if Kind::of(&address).ok() == Some(kind) => Some(address),
        _ => {
            tracing::warn!(id, kind = kind.as_str(), tag = value, "invalid {ADDRESS_TAG} tag for this kind; ignored");
            None
        }
    }
}

/// Reads the desired `tags` and checks that they carry this environment's ownership marks.
///
/// # Errors
/// Fails when `tags` is missing or not a map of strings, or when a mark is absent or wrong:
/// without the marks, observation could not find the resource again.
pub(crate) fn desired_tags(
    reader: &AttributeReader<'_>,
    environment: &str,
) -> Result<BTreeMap<String, String>, ProviderError> {
    let tags = reader.string_map("tags")?;
    let address = reader.address().to_string();

    for (key, expected) in [(ENVIRONMENT_TAG, environment), (ADDRESS_TAG, address.as_str())] {
        if tags.get(key).map(String::as_str) != Some(expected) {
            let error =
                AwsError::MissingOwnershipTag { address: reader.address().clone(), key, expected: expected.to_owned() };
            return Err(reader.reject(error));
        }
    }
    Ok(tags)
}

/// Tags in the SDK's shape.
pub(crate) fn sdk_tags(tags: &BTreeMap<String, String>) -> Vec<Tag> {
    tags.iter().map(|(key, value)| Tag::builder().key(key).value(value).build()).collect()
}

/// Builds a tag specification that applies `tags` to a resource of `resource_type` as it is created.
pub(crate) fn tag_specification(resource_type: ResourceType, tags: &BTreeMap<String, String>) -> TagSpecification {
    TagSpecification::builder().resource_type(resource_type).set_tags(Some(sdk_tags(tags))).build()
}

/// Updates a resource whose tags are the only attributes that change in place: checks that none
/// of `immutable` would change, then brings the tags in line. Returns the unchanged id.
///
/// # Errors
/// Fails when an immutable attribute would change, or when a tag call fails.
pub(crate) async fn update_tags_only(
    ec2: &aws_sdk_ec2::Client,
    request: &tether_engine::ApplyRequest<'_>,
    id: &str,
    immutable: &[&str],
) -> Result<String, ProviderError> {
    const OPERATION: &str = "CreateTags";
    let reader = AttributeReader::new(request.address, request.attributes, OPERATION);
    let tags = desired_tags(&reader, request.environment)?;
    crate::attributes::ensure_unchanged(request.address, request.before, request.attributes, immutable, OPERATION)?;

    update_tags(ec2, id, request.before, &tags).await?;
    Ok(id.to_owned())
}

/// Changes the tags of resource `id` from the observed ones in `before` to `desired`: CreateTags
/// for added or changed keys and DeleteTags for removed keys. `aws:` keys are never touched.
///
/// # Errors
/// Fails when CreateTags or DeleteTags fails.
pub(crate) async fn update_tags(
    ec2: &aws_sdk_ec2::Client,
    id: &str,
    before: Option<&Attributes>,
    desired: &BTreeMap<String, String>,
) -> Result<(), ProviderError> {
    let observed = before.and_then(|before| before.get("tags")).and_then(Value::as_map);
    let observed: BTreeMap<String, String> = observed
        .into_iter()
        .flatten()
        .filter_map(|(key, value)| Some((key.clone(), value.as_str()?.to_owned())))
        .collect();
    let (to_set, to_remove) = tag_changes(&observed, desired);

    if !to_set.is_empty() {
        let request = ec2.create_tags().resources(id).set_tags(Some(sdk_tags(&to_set)));
        send("CreateTags", request.send()).await?;
    }
    if !to_remove.is_empty() {
        let keys = to_remove.iter().map(|key| Tag::builder().key(key).build()).collect();
        send("DeleteTags", ec2.delete_tags().resources(id).set_tags(Some(keys)).send()).await?;
    }
    Ok(())
}

/// Splits the difference into tags to set (added or changed) and keys to remove, ignoring `aws:`
/// keys on both sides.
fn tag_changes(
    observed: &BTreeMap<String, String>,
    desired: &BTreeMap<String, String>,
) -> (BTreeMap<String, String>, Vec<String>) {
    let managed = |key: &String| !key.starts_with(RESERVED_PREFIX);

    let to_set = desired
        .iter()
        .filter(|(key, value)| managed(key) && observed.get(*key) != Some(*value))
        .map(|(key, value)| (key.clone(), value.clone()))
        .collect();
    let to_remove = observed.keys().filter(|key| managed(key) && !desired.contains_key(*key)).cloned().collect();
    (to_set, to_remove)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(key, value)| ((*key).to_owned(), (*value).to_owned())).collect()
    }

    #[test]
    fn tag_changes_split_set_and_remove() {
        let observed = map(&[("keep", "1"), ("change", "old"), ("remove", "x"), ("aws:cloudformation:stack", "s")]);
        let desired = map(&[("keep", "1"), ("change", "new"), ("add", "y")]);
        let (to_set, to_remove) = tag_changes(&observed, &desired);
        assert_eq!(to_set, map(&[("add", "y"), ("change", "new")]));
        assert_eq!(to_remove, ["remove"]);
    }

    #[test]
    fn observed_tags_skip_reserved_keys() {
        let tags = [
            Tag::builder().key("Name").value("main").build(),
            Tag::builder().key("aws:cloudformation:stack-name").value("x").build(),
        ];
        assert_eq!(observed_tags(&tags), Value::map([("Name", Value::from("main"))]));
    }

    #[test]
    fn address_tag_must_match_kind() {
        let tags = [
            Tag::builder().key(ENVIRONMENT_TAG).value("ai-dev").build(),
            Tag::builder().key(ADDRESS_TAG).value("aws.subnet.a").build(),
        ];
        assert_eq!(owned_address(&tags, Kind::Subnet, "subnet-1", "ai-dev"), Some(Address::aws("subnet", "a")));
        assert_eq!(owned_address(&tags, Kind::Subnet, "subnet-1", "ai-prod"), None, "another environment's resource");
        assert_eq!(owned_address(&tags, Kind::Vpc, "vpc-1", "ai-dev"), None);
        assert_eq!(owned_address(&[], Kind::Vpc, "vpc-1", "ai-dev"), None);
    }

    #[test]
    fn ownership_marks_required() {
        let address = Address::aws("vpc", "main");
        let tags = Value::map([(ENVIRONMENT_TAG, Value::from("dev")), (ADDRESS_TAG, Value::from("aws.vpc.main"))]);
        let attributes = Attributes::from([("tags".to_owned(), tags)]);
        let reader = AttributeReader::new(&address, &attributes, "CreateVpc");
        assert!(desired_tags(&reader, "dev").is_ok());

        let error = desired_tags(&reader, "prod").unwrap_err();
        assert!(error.source.to_string().contains("tether.dev/environment=prod"), "{}", error.source);
    }
}
