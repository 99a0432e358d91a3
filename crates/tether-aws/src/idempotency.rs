//! Idempotent creates: client tokens that make RunInstances and CreateNatGateway safe to retry,
//! and adoption of a resource that an earlier, interrupted run created.

use aws_sdk_ec2::types::{Filter, Tag};
use sha2::{Digest, Sha256};
use tether_engine::{ApplyRequest, ProviderError};
use tether_model::{Address, Attributes};

use crate::client::AwsProvider;
use crate::error::{AwsError, send};
use crate::tags::{ADDRESS_TAG, ENVIRONMENT_TAG};

/// AWS's maximum client-token length, in ASCII characters.
const MAX_TOKEN_LENGTH: usize = 64;

const TOKEN_PREFIX: &str = "tether-";

/// Derives a client token from the environment, the address and the desired attributes.
///
/// The same create, retried, sends the same token, so AWS returns the resource of the first
/// attempt instead of making a second one. The attributes are part of the digest because AWS
/// rejects a known token sent with other parameters (`IdempotentParameterMismatch`), which a
/// replacement with new attributes would otherwise hit. `superseded` is the id of a terminated
/// or deleted resource that an earlier token returned, so a re-create gets a fresh token.
///
/// NOTE: moto 5.2.5 stores client tokens but does not deduplicate on them, so the tests run
/// neither AWS's deduplication nor the `superseded` path.
pub(crate) fn client_token(
    environment: &str,
    address: &Address,
    attributes: &Attributes,
    superseded: Option<&str>,
) -> String {
    // unwrap: serde_json fails only on non-string map keys or a failing `Serialize` impl, and
    // `Attributes` has string keys and `Value` serializes infallibly.
    let attributes_json = serde_json::to_string(attributes).unwrap();

    let mut hasher = Sha256::new();
    for part in [environment, &address.to_string(), &attributes_json, superseded.unwrap_or_default()] {
        hasher.update(part.as_bytes());
        hasher.update([0]);
    }
    let digest = format!("{:x}", hasher.finalize());
    let mut token = format!("{TOKEN_PREFIX}{digest}");
    token.truncate(MAX_TOKEN_LENGTH);
    token
}

/// Checks that an existing resource that a create collided with carries tether's tags for this
/// environment and this address, so that adopting it cannot take over someone else's resource.
///
/// `existing` describes the resource for the error, e.g. `security group sg-0a1b (ai-subnet-router)`.
///
/// # Errors
/// Returns [`AwsError::NotAdoptable`] naming the resource and the tags it lacks or carries.
pub(crate) fn ensure_adoptable(
    tags: &[Tag],
    environment: &str,
    address: &Address,
    existing: String,
    operation: &str,
) -> Result<(), ProviderError> {
    let tag = |key: &str| tags.iter().find(|tag| tag.key() == Some(key)).and_then(Tag::value);
    let address_text = address.to_string();
    let reason = match (tag(ENVIRONMENT_TAG), tag(ADDRESS_TAG)) {
        (Some(found), Some(found_address)) if found == environment && found_address == address_text => return Ok(()),
        (None, None) => "carries no tether tags".to_owned(),
        (Some(found), _) if found != environment => format!("belongs to tether environment `{found}`"),
        (_, Some(found_address)) if found_address != address_text => format!("is tether's `{found_address}`"),
        _ => format!("lacks the `{ENVIRONMENT_TAG}` or `{ADDRESS_TAG}` tag"),
    };
    let error =
        AwsError::NotAdoptable { address: address.clone(), environment: environment.to_owned(), existing, reason };
    Err(error.into_provider_error(operation))
}

/// Finds the security group named `group_name` in `vpc_id` after CreateSecurityGroup returned
/// `InvalidGroup.Duplicate`, and returns its id when it may be adopted.
///
/// The adopted group keeps the ingress rules it has; the next plan shows any difference from the
/// file as an update.
///
/// # Errors
/// Fails when the group cannot be read or found, or when it is not tether's for this address.
pub(crate) async fn adopt_security_group(
    provider: &AwsProvider,
    request: &ApplyRequest<'_>,
    vpc_id: &str,
    group_name: &str,
) -> Result<String, ProviderError> {
    const OPERATION: &str = "DescribeSecurityGroups";
    let filters = [
        Filter::builder().name("vpc-id").values(vpc_id).build(),
        Filter::builder().name("group-name").values(group_name).build(),
    ];
    let output =
        send(OPERATION, provider.ec2.describe_security_groups().set_filters(Some(filters.to_vec())).send()).await?;
    let Some(group) = output.security_groups().first() else {
        let error = AwsError::MissingResponseField { field: "SecurityGroups" };
        return Err(error.into_provider_error(OPERATION));
    };
    let id = group.group_id().unwrap_or_default().to_owned();

    let existing = format!("security group {id} ({group_name}) in {vpc_id}");
    ensure_adoptable(group.tags(), request.environment, request.address, existing, "CreateSecurityGroup")?;
    tracing::warn!(resource = %request.address, id, "security group already exists with tether's tags; adopted");
    Ok(id)
}

#[cfg(test)]
mod tests {
    use tether_model::Value;

    use super::*;

    fn tags(pairs: &[(&str, &str)]) -> Vec<Tag> {
        pairs.iter().map(|(key, value)| Tag::builder().key(*key).value(*value).build()).collect()
    }

    fn adoption_error(tags: &[Tag]) -> String {
        let address = Address::aws("security_group", "subnet-router");
        let error = ensure_adoptable(tags, "dev", &address, "security group sg-1".to_owned(), "CreateSecurityGroup")
            .unwrap_err();
        assert!(!error.retryable);
        error.source.to_string()
    }

    #[test]
    fn adoption_needs_environment_and_address() {
        let address = Address::aws("security_group", "subnet-router");
        let owned = tags(&[(ENVIRONMENT_TAG, "dev"), (ADDRESS_TAG, "aws.security_group.subnet-router")]);
        assert!(ensure_adoptable(&owned, "dev", &address, String::new(), "CreateSecurityGroup").is_ok());

        assert!(adoption_error(&[]).contains("security group sg-1 already exists and carries no tether tags"));
        let other_environment = tags(&[(ENVIRONMENT_TAG, "prod"), (ADDRESS_TAG, "aws.security_group.subnet-router")]);
        assert!(adoption_error(&other_environment).contains("belongs to tether environment `prod`"));
        let other_address = tags(&[(ENVIRONMENT_TAG, "dev"), (ADDRESS_TAG, "aws.security_group.other")]);
        assert!(adoption_error(&other_address).contains("is tether's `aws.security_group.other`"));
        let half = tags(&[(ENVIRONMENT_TAG, "dev")]);
        assert!(adoption_error(&half).contains("lacks the"));
    }

    #[test]
    fn token_fits_aws_limit() {
        let address = Address::aws("instance", &"a".repeat(200));
        let token = client_token(&"e".repeat(200), &address, &Attributes::new(), None);
        assert_eq!(token.len(), MAX_TOKEN_LENGTH);
        assert!(token.is_ascii());
    }

    #[test]
    fn token_stable_for_same_request() {
        let address = Address::aws("instance", "router");
        let attributes = Attributes::from([("ami".to_owned(), Value::from("ami-1"))]);
        assert_eq!(client_token("dev", &address, &attributes, None), client_token("dev", &address, &attributes, None));
    }

    #[test]
    fn token_changes_with_inputs() {
        let address = Address::aws("instance", "router");
        let attributes = Attributes::from([("ami".to_owned(), Value::from("ami-1"))]);
        let other = Attributes::from([("ami".to_owned(), Value::from("ami-2"))]);
        let base = client_token("dev", &address, &attributes, None);
        assert_ne!(base, client_token("prod", &address, &attributes, None));
        assert_ne!(base, client_token("dev", &address, &other, None));
        assert_ne!(base, client_token("dev", &address, &attributes, Some("i-0123")));
    }
}
