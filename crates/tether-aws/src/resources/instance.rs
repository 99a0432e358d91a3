//! `aws.instance`: one EC2 instance, such as the subnet router with source/destination checking off.

use aws_sdk_ec2::types::{
    AttributeBooleanValue, Filter, Instance, InstanceStateName, InstanceType, Reservation, ResourceType,
};
use tether_engine::{ApplyRequest, DeleteRequest, ProviderError};
use tether_model::{ObservedResource, Sensitive, Value};

use super::{observed, optional_string, response_field};
use crate::attributes::{AttributeReader, changed, ensure_unchanged};
use crate::client::AwsProvider;
use crate::error::{has_code, send, send_unless_absent};
use crate::idempotency::client_token;
use crate::kind::Kind;
use crate::tags::{desired_tags, environment_filter, observed_tags, owned_address, tag_specification, update_tags};
use crate::wait::wait_until;

const NOT_FOUND: &[&str] = &["InvalidInstanceID.NotFound"];

/// The instance states in which an instance exists for tether; terminated and shutting-down
/// instances are gone.
const LIVE_STATES: [InstanceStateName; 4] =
    [InstanceStateName::Pending, InstanceStateName::Running, InstanceStateName::Stopping, InstanceStateName::Stopped];

/// Lists the environment's instances that are pending, running, stopping or stopped.
///
/// # Errors
/// Fails when DescribeInstances fails.
pub(crate) async fn observe(
    ec2: &aws_sdk_ec2::Client,
    environment: &str,
) -> Result<Vec<ObservedResource>, ProviderError> {
    let live = Filter::builder()
        .name("instance-state-name")
        .set_values(Some(LIVE_STATES.iter().map(|state| state.as_str().to_owned()).collect()))
        .build();
    let request = ec2.describe_instances().filters(environment_filter(environment)).filters(live);
    let reservations: Vec<Reservation> =
        send("DescribeInstances", request.into_paginator().items().send().collect()).await?;

    let instances = reservations.iter().flat_map(Reservation::instances).filter(|instance| is_live(instance));
    Ok(instances.filter_map(|instance| observe_one(instance, environment)).collect())
}

fn is_live(instance: &Instance) -> bool {
    let state = instance.state().and_then(|state| state.name());
    state.is_some_and(|state| LIVE_STATES.contains(state))
}

fn observe_one(instance: &Instance, environment: &str) -> Option<ObservedResource> {
    let id = instance.instance_id()?;
    let address = owned_address(instance.tags(), Kind::Instance, id, environment)?;

    let mut group_ids: Vec<&str> = instance.security_groups().iter().filter_map(|group| group.group_id()).collect();
    group_ids.sort_unstable();
    // The instance's own flag, not its network interface's: moto 5.2.5 changes only the instance's.
    let source_dest_check = instance.source_dest_check().map_or(Value::Null, Value::Bool);

    let mut resource = observed(
        address,
        id,
        [
            ("ami", optional_string(instance.image_id())),
            ("instance_type", optional_string(instance.instance_type().map(InstanceType::as_str))),
            ("subnet_id", optional_string(instance.subnet_id())),
            ("security_group_ids", Value::List(group_ids.into_iter().map(Value::from).collect())),
            ("source_dest_check", source_dest_check),
            ("tags", observed_tags(instance.tags())),
        ],
    );
    // Only an instance launched with user data carries the digest tag.
    if let Some(digest) = observed_user_data(instance.tags()) {
        resource.attributes.insert("user_data".to_owned(), digest);
    }
    Some(resource)
}

/// Tag key holding the SHA-256 digest of the instance's user data, which the catalogue sets
/// beside the user data. EC2 returns user data only through one DescribeInstanceAttribute call
/// per instance, so observation compares this digest instead.
const USER_DATA_DIGEST_TAG: &str = "tether.dev/user-data-sha256";

/// Reads the observed user data, known by the digest in its tag.
fn observed_user_data(tags: &[aws_sdk_ec2::types::Tag]) -> Option<Value> {
    let digest = tags.iter().find(|tag| tag.key() == Some(USER_DATA_DIGEST_TAG)).and_then(|tag| tag.value())?;
    Some(Value::Sensitive(Sensitive::from_digest(digest.to_owned())))
}

/// Reads the optional `user_data` attribute, a sensitive value whose plaintext must be in memory,
/// and encodes it in base64 as RunInstances expects.
fn user_data(
    reader: &AttributeReader<'_>,
    attributes: &tether_model::Attributes,
) -> Result<Option<String>, ProviderError> {
    use base64::Engine as _;
    match attributes.get("user_data") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Sensitive(secret)) => match secret.expose() {
            Some(text) => Ok(Some(base64::engine::general_purpose::STANDARD.encode(text))),
            None => {
                Err(reader.invalid("user_data", "the user data itself, not only its digest (plan again from the file)"))
            }
        },
        Some(Value::String(text)) => Ok(Some(base64::engine::general_purpose::STANDARD.encode(text))),
        Some(_) => Err(reader.invalid("user_data", "a string")),
    }
}

/// Launches one instance with an idempotency token and tags on the instance and its volumes,
/// then switches source/destination checking off when asked.
///
/// # Errors
/// Fails on invalid attributes or when an API call fails.
pub(crate) async fn create(provider: &AwsProvider, request: &ApplyRequest<'_>) -> Result<String, ProviderError> {
    const OPERATION: &str = "RunInstances";
    let reader = AttributeReader::new(request.address, request.attributes, OPERATION);
    let ami = reader.string("ami")?;
    let instance_type = reader.string("instance_type")?;
    let subnet_id = reader.string("subnet_id")?;
    let group_ids = reader.string_list("security_group_ids")?;
    let source_dest_check = reader.bool("source_dest_check")?;
    let user_data = user_data(&reader, request.attributes)?;
    let tags = desired_tags(&reader, request.environment)?;

    let run_with_token = |superseded: Option<String>| {
        let token = client_token(request.environment, request.address, request.attributes, superseded.as_deref());
        let call = provider
            .ec2
            .run_instances()
            .image_id(ami)
            .instance_type(InstanceType::from(instance_type))
            .subnet_id(subnet_id)
            .set_security_group_ids(Some(group_ids.clone()))
            .min_count(1)
            .max_count(1)
            .client_token(token)
            .set_user_data(user_data.clone())
            .tag_specifications(tag_specification(ResourceType::Instance, &tags))
            .tag_specifications(tag_specification(ResourceType::Volume, &tags))
            .send();
        send(OPERATION, call)
    };

    let mut output = run_with_token(None).await?;
    let mut instance = response_field(output.instances().first(), OPERATION, "Instances")?;
    if !is_live(instance) {
        // The token belongs to an earlier instance that is terminated, so AWS returned that one again.
        let superseded = instance.instance_id().map(str::to_owned);
        output = run_with_token(superseded).await?;
        instance = response_field(output.instances().first(), OPERATION, "Instances")?;
    }

    let id = response_field(instance.instance_id(), OPERATION, "Instances.InstanceId")?.to_owned();
    tracing::debug!(id, "instance launched");
    if !source_dest_check {
        modify_source_dest_check(&provider.ec2, &id, false).await?;
    }
    Ok(id)
}

/// Changes source/destination checking, security groups and tags in place.
///
/// # Errors
/// Fails when the AMI, type or subnet would change, or when an API call fails.
pub(crate) async fn update(
    provider: &AwsProvider,
    request: &ApplyRequest<'_>,
    id: &str,
) -> Result<String, ProviderError> {
    const OPERATION: &str = "ModifyInstanceAttribute";
    let reader = AttributeReader::new(request.address, request.attributes, OPERATION);
    let group_ids = reader.string_list("security_group_ids")?;
    let source_dest_check = reader.bool("source_dest_check")?;
    let tags = desired_tags(&reader, request.environment)?;
    let immutable = ["ami", "instance_type", "subnet_id"];
    ensure_unchanged(request.address, request.before, request.attributes, &immutable, OPERATION)?;

    if changed(request.before, request.attributes, "source_dest_check") {
        modify_source_dest_check(&provider.ec2, id, source_dest_check).await?;
    }
    if changed(request.before, request.attributes, "security_group_ids") {
        let call = provider.ec2.modify_instance_attribute().instance_id(id).set_groups(Some(group_ids)).send();
        send(OPERATION, call).await?;
    }

    update_tags(&provider.ec2, id, request.before, &tags).await?;
    Ok(id.to_owned())
}

async fn modify_source_dest_check(ec2: &aws_sdk_ec2::Client, id: &str, enabled: bool) -> Result<(), ProviderError> {
    let value = AttributeBooleanValue::builder().value(enabled).build();
    let call = ec2.modify_instance_attribute().instance_id(id).source_dest_check(value).send();
    send("ModifyInstanceAttribute", call).await?;
    tracing::debug!(id, enabled, "source/destination check set");
    Ok(())
}

/// Terminates the instance and waits until it is terminated; one already gone counts as deleted.
///
/// # Errors
/// Fails when an API call fails, or (retryably) when the instance is not terminated within the
/// wait limit.
pub(crate) async fn delete(provider: &AwsProvider, request: &DeleteRequest<'_>) -> Result<(), ProviderError> {
    let call = provider.ec2.terminate_instances().instance_ids(request.id).send();
    if send_unless_absent("TerminateInstances", NOT_FOUND, call).await?.is_none() {
        return Ok(());
    }

    let id = request.id;
    wait_until(provider.wait_limits, "DescribeInstances", id, "terminated", || poll_terminated(&provider.ec2, id)).await
}

/// Returns true once the instance is terminated or no longer listed.
async fn poll_terminated(ec2: &aws_sdk_ec2::Client, id: &str) -> Result<bool, ProviderError> {
    let output = match send("DescribeInstances", ec2.describe_instances().instance_ids(id).send()).await {
        Ok(output) => output,
        Err(error) if has_code(&error, NOT_FOUND) => return Ok(true),
        Err(error) => return Err(error),
    };
    let instance = output.reservations().iter().flat_map(Reservation::instances).next();
    let state = instance.and_then(|instance| instance.state()).and_then(|state| state.name());
    Ok(matches!(state, None | Some(InstanceStateName::Terminated)))
}
