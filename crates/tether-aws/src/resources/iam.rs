//! `aws.oidc_provider`, `aws.iam_role` and `aws.instance_profile`: the IAM side of a hosted cluster.
//!
//! Observation reads every role of the account with its tags, inline policies and instance
//! profiles in one paginated GetAccountAuthorizationDetails listing, and keeps those with this
//! environment's marks; ListRoles would need one more call per role for tags and policies. OIDC
//! providers are listed once, and only the providers whose URL the environment uses are read
//! (GetOpenIDConnectProvider), usually one.
//!
//! IAM returns policy documents URL-encoded; observation decodes them, and the planner compares
//! them as JSON documents.

use std::collections::{BTreeMap, BTreeSet};

use aws_sdk_iam::types::{EntityType, RoleDetail, Tag as IamTag};
use tether_engine::{ApplyRequest, DeleteRequest, ObserveScope, ProviderError};
use tether_model::{Address, ObservedResource, Value};

use super::observed;
use crate::attributes::{AttributeReader, changed, ensure_unchanged};
use crate::client::AwsProvider;
use crate::error::{ApiError, has_code, send, send_unless_absent};
use crate::idempotency::ensure_adoptable;
use crate::kind::Kind;
use crate::retry::{SettlePolicy, retry_while_settling, retry_while_settling_if};
use crate::tags::{desired_tags, observed_tags, owned_address};

const NO_SUCH_ENTITY: &[&str] = &["NoSuchEntity"];

/// The IAM error code for a create whose name (or OIDC provider URL) is taken.
const ENTITY_EXISTS: &[&str] = &["EntityAlreadyExists"];

/// IAM tags in the EC2 SDK's shape, so that the shared ownership checks apply.
fn ec2_tags(tags: &[IamTag]) -> Vec<aws_sdk_ec2::types::Tag> {
    tags.iter().map(|tag| aws_sdk_ec2::types::Tag::builder().key(tag.key()).value(tag.value()).build()).collect()
}

fn iam_tags(tags: &BTreeMap<String, String>) -> Result<Vec<IamTag>, ProviderError> {
    tags.iter()
        .map(|(key, value)| {
            IamTag::builder().key(key).value(value).build().map_err(|error| ProviderError::permanent("TagRole", error))
        })
        .collect()
}

/// Decodes a percent-encoded policy document as IAM returns it; other text is returned as it is.
pub(crate) fn decode_policy(text: &str) -> String {
    if !text.starts_with('%') {
        return text.to_owned();
    }
    let bytes = text.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        let hex = bytes.get(index + 1..index + 3).and_then(|hex| std::str::from_utf8(hex).ok());
        match (bytes[index], hex.and_then(|hex| u8::from_str_radix(hex, 16).ok())) {
            (b'%', Some(value)) => {
                decoded.push(value);
                index += 3;
            }
            (b'+', _) => {
                decoded.push(b' ');
                index += 1;
            }
            (byte, _) => {
                decoded.push(byte);
                index += 1;
            }
        }
    }
    String::from_utf8(decoded).unwrap_or_else(|_| text.to_owned())
}

/// Returns the role name in a role ARN, `arn:aws:iam::123456789012:role/path/name`.
fn role_name(arn: &str) -> &str {
    arn.rsplit('/').next().unwrap_or(arn)
}

/// True when the desired graph or the state has a resource of one of these kinds.
fn uses_any(scope: &ObserveScope<'_>, kinds: &[Kind]) -> bool {
    let desired = scope.desired.iter().map(|resource| &resource.address);
    desired.chain(scope.state.resources.keys()).any(|address| Kind::of(address).is_ok_and(|kind| kinds.contains(&kind)))
}

/// Observes the environment's roles, instance profiles and OIDC providers. Makes no call for
/// kinds the environment does not use.
///
/// # Errors
/// Fails when a call fails.
pub(crate) async fn observe(
    provider: &AwsProvider,
    scope: &ObserveScope<'_>,
) -> Result<Vec<ObservedResource>, ProviderError> {
    let (roles, providers) = futures::try_join!(observe_roles(provider, scope), observe_oidc(provider, scope))?;
    Ok(roles.into_iter().chain(providers).collect())
}

async fn observe_roles(
    provider: &AwsProvider,
    scope: &ObserveScope<'_>,
) -> Result<Vec<ObservedResource>, ProviderError> {
    if !uses_any(scope, &[Kind::IamRole, Kind::InstanceProfile]) {
        return Ok(Vec::new());
    }
    let details = list_roles(provider.iam()).await?;

    let mut observed_resources = Vec::new();
    let mut profiles_seen = BTreeSet::new();
    for role in &details {
        let tags = ec2_tags(role.tags());
        let arn = role.arn().unwrap_or_default();
        if let Some(address) = owned_address(&tags, Kind::IamRole, arn, scope.environment) {
            observed_resources.push(observe_role(address, role, &tags));
        }
        for profile in role.instance_profile_list() {
            let profile_tags = ec2_tags(profile.tags());
            let name = profile.instance_profile_name();
            let owned = owned_address(&profile_tags, Kind::InstanceProfile, name, scope.environment);
            let Some(address) = owned.filter(|_| profiles_seen.insert(name.to_owned())) else { continue };
            let role_names = profile.roles().iter().map(|role| role.role_name());
            let role_value = role_names.min().map_or(Value::Null, Value::from);
            observed_resources.push(observed(
                address,
                name,
                [("name", Value::from(name)), ("role_name", role_value), ("tags", observed_tags(&profile_tags))],
            ));
        }
    }
    Ok(observed_resources)
}

/// Reads every role with GetAccountAuthorizationDetails, page by page.
async fn list_roles(iam: &aws_sdk_iam::Client) -> Result<Vec<RoleDetail>, ProviderError> {
    const OPERATION: &str = "GetAccountAuthorizationDetails";
    let mut roles = Vec::new();
    let mut marker: Option<String> = None;
    loop {
        let call = iam.get_account_authorization_details().filter(EntityType::Role).set_marker(marker.take()).send();
        let output = send(OPERATION, call).await?;
        roles.extend(output.role_detail_list().iter().cloned());
        match output.marker() {
            Some(next) if output.is_truncated() => marker = Some(next.to_owned()),
            _ => return Ok(roles),
        }
    }
}

fn observe_role(address: Address, role: &RoleDetail, tags: &[aws_sdk_ec2::types::Tag]) -> ObservedResource {
    let policies = role.role_policy_list().iter().filter_map(|policy| {
        let document = decode_policy(policy.policy_document()?);
        Some((policy.policy_name()?.to_owned(), Value::String(document)))
    });
    let trust =
        role.assume_role_policy_document().map_or(Value::Null, |document| Value::String(decode_policy(document)));
    observed(
        address,
        role.arn().unwrap_or_default(),
        [
            ("name", role.role_name().map_or(Value::Null, Value::from)),
            ("path", role.path().map_or(Value::Null, Value::from)),
            ("assume_role_policy", trust),
            ("inline_policies", Value::Map(policies.collect())),
            ("tags", observed_tags(tags)),
        ],
    )
}

/// Collects the OIDC provider URLs the environment uses, without `https://`, as IAM stores them.
fn requested_urls(scope: &ObserveScope<'_>) -> BTreeSet<String> {
    let desired = scope.desired.iter().map(|resource| (&resource.address, &resource.attributes));
    let recorded = scope.state.resources.iter().map(|(address, resource)| (address, &resource.attributes));
    desired
        .chain(recorded)
        .filter(|(address, _)| Kind::of(address).ok() == Some(Kind::OidcProvider))
        .filter_map(|(_, attributes)| attributes.get("url")?.as_str())
        .map(|url| url.trim_start_matches("https://").to_owned())
        .collect()
}

async fn observe_oidc(
    provider: &AwsProvider,
    scope: &ObserveScope<'_>,
) -> Result<Vec<ObservedResource>, ProviderError> {
    let urls = requested_urls(scope);
    if urls.is_empty() {
        return Ok(Vec::new());
    }
    let iam = provider.iam();
    let output = send("ListOpenIDConnectProviders", iam.list_open_id_connect_providers().send()).await?;
    // A provider's ARN ends with its URL: `arn:aws:iam::<account>:oidc-provider/<url>`.
    let arns = output.open_id_connect_provider_list().iter().filter_map(|entry| entry.arn());
    let matching: Vec<&str> =
        arns.filter(|arn| arn.split_once("oidc-provider/").is_some_and(|(_, url)| urls.contains(url))).collect();

    let mut observed_resources = Vec::new();
    for arn in matching {
        let call = iam.get_open_id_connect_provider().open_id_connect_provider_arn(arn).send();
        let Some(details) = send_unless_absent("GetOpenIDConnectProvider", NO_SUCH_ENTITY, call).await? else {
            continue;
        };
        let tags = ec2_tags(details.tags());
        let Some(address) = owned_address(&tags, Kind::OidcProvider, arn, scope.environment) else { continue };
        let url = details.url().map(|url| format!("https://{}", url.trim_start_matches("https://")));
        let mut client_ids: Vec<&str> = details.client_id_list().iter().map(String::as_str).collect();
        client_ids.sort_unstable();
        observed_resources.push(observed(
            address,
            arn,
            [
                ("url", url.map_or(Value::Null, Value::String)),
                ("client_ids", Value::List(client_ids.into_iter().map(Value::from).collect())),
                ("tags", observed_tags(&tags)),
            ],
        ));
    }
    Ok(observed_resources)
}

/// Creates the OIDC provider with its client ids and tags; returns its ARN.
///
/// # Errors
/// Fails on invalid attributes or when CreateOpenIDConnectProvider fails.
pub(crate) async fn create_oidc(provider: &AwsProvider, request: &ApplyRequest<'_>) -> Result<String, ProviderError> {
    const OPERATION: &str = "CreateOpenIDConnectProvider";
    let reader = AttributeReader::new(request.address, request.attributes, OPERATION);
    let url = reader.string("url")?;
    let client_ids = reader.string_list("client_ids")?;
    let tags = iam_tags(&desired_tags(&reader, request.environment)?)?;

    let call = provider
        .iam()
        .create_open_id_connect_provider()
        .url(url)
        .set_client_id_list(Some(client_ids))
        .set_tags(Some(tags))
        .send();
    let output = match send(OPERATION, call).await {
        Ok(output) => output,
        // An earlier run may have created the provider and died before recording it.
        Err(error) if has_code(&error, ENTITY_EXISTS) => return adopt_oidc(provider, request, url).await,
        Err(error) => return Err(error),
    };
    let arn = super::response_field(output.open_id_connect_provider_arn(), OPERATION, "OpenIDConnectProviderArn")?;
    tracing::debug!(arn, "OIDC provider created");
    Ok(arn.to_owned())
}

/// Finds the provider for `url` after CreateOpenIDConnectProvider returned `EntityAlreadyExists`,
/// and returns its ARN when it carries tether's tags for this environment and address.
async fn adopt_oidc(provider: &AwsProvider, request: &ApplyRequest<'_>, url: &str) -> Result<String, ProviderError> {
    let iam = provider.iam();
    let listed = send("ListOpenIDConnectProviders", iam.list_open_id_connect_providers().send()).await?;
    let host_path = url.trim_start_matches("https://");
    let arn = listed
        .open_id_connect_provider_list()
        .iter()
        .filter_map(|entry| entry.arn())
        .find(|arn| arn.split_once("oidc-provider/").is_some_and(|(_, listed)| listed == host_path));
    let arn = super::response_field(arn, "ListOpenIDConnectProviders", "OpenIDConnectProviderList.Arn")?.to_owned();

    let call = iam.get_open_id_connect_provider().open_id_connect_provider_arn(&arn).send();
    let details = send("GetOpenIDConnectProvider", call).await?;
    let existing = format!("OIDC provider {arn}");
    let tags = ec2_tags(details.tags());
    ensure_adoptable(&tags, request.environment, request.address, existing, "CreateOpenIDConnectProvider")?;
    tracing::warn!(resource = %request.address, arn, "OIDC provider already exists with tether's tags; adopted");
    Ok(arn)
}

/// Updates the provider's tags; its URL and client ids force a new provider.
///
/// # Errors
/// Fails when a tag call fails.
pub(crate) async fn update_oidc(
    provider: &AwsProvider,
    request: &ApplyRequest<'_>,
    id: &str,
) -> Result<String, ProviderError> {
    const OPERATION: &str = "TagOpenIDConnectProvider";
    let reader = AttributeReader::new(request.address, request.attributes, OPERATION);
    let desired = desired_tags(&reader, request.environment)?;
    ensure_unchanged(request.address, request.before, request.attributes, &["url", "client_ids"], OPERATION)?;
    let (set, removed) = tag_changes(request.before, &desired);
    let iam = provider.iam();
    if !set.is_empty() {
        let call = iam.tag_open_id_connect_provider().open_id_connect_provider_arn(id).set_tags(Some(iam_tags(&set)?));
        send(OPERATION, call.send()).await?;
    }
    if !removed.is_empty() {
        let call = iam.untag_open_id_connect_provider().open_id_connect_provider_arn(id).set_tag_keys(Some(removed));
        send("UntagOpenIDConnectProvider", call.send()).await?;
    }
    Ok(id.to_owned())
}

/// Deletes the provider; one that is already gone counts as deleted.
///
/// # Errors
/// Fails when DeleteOpenIDConnectProvider fails.
pub(crate) async fn delete_oidc(provider: &AwsProvider, request: &DeleteRequest<'_>) -> Result<(), ProviderError> {
    let call = provider.iam().delete_open_id_connect_provider().open_id_connect_provider_arn(request.id).send();
    send_unless_absent("DeleteOpenIDConnectProvider", NO_SUCH_ENTITY, call).await?;
    Ok(())
}

/// Splits the tag difference into tags to set and keys to remove.
fn tag_changes(
    before: Option<&tether_model::Attributes>,
    desired: &BTreeMap<String, String>,
) -> (BTreeMap<String, String>, Vec<String>) {
    let observed: BTreeMap<String, String> = before
        .and_then(|before| before.get("tags"))
        .and_then(Value::as_map)
        .into_iter()
        .flatten()
        .filter_map(|(key, value)| Some((key.clone(), value.as_str()?.to_owned())))
        .collect();
    let set = desired.iter().filter(|(key, value)| observed.get(*key) != Some(*value));
    let removed = observed.keys().filter(|key| !desired.contains_key(*key)).cloned().collect();
    (set.map(|(key, value)| (key.clone(), value.clone())).collect(), removed)
}

/// Reads the desired inline policies: policy name to document.
fn inline_policies(reader: &AttributeReader<'_>) -> Result<BTreeMap<String, String>, ProviderError> {
    reader.string_map("inline_policies")
}

/// Creates the role with its trust policy and tags, then puts its inline policies; returns its ARN.
///
/// # Errors
/// Fails on invalid attributes or when an API call fails.
pub(crate) async fn create_role(provider: &AwsProvider, request: &ApplyRequest<'_>) -> Result<String, ProviderError> {
    const OPERATION: &str = "CreateRole";
    let reader = AttributeReader::new(request.address, request.attributes, OPERATION);
    let name = reader.string("name")?;
    let path = reader.string("path")?;
    let trust = reader.string("assume_role_policy")?;
    let policies = inline_policies(&reader)?;
    let tags = iam_tags(&desired_tags(&reader, request.environment)?)?;

    // IAM returns `MalformedPolicyDocument` (invalid principal) while an OIDC provider created
    // moments ago is not visible to it yet.
    let federated = federated_principals(trust);
    let dependencies: Vec<&str> = federated.iter().map(String::as_str).collect();
    let create = || {
        let call = provider
            .iam()
            .create_role()
            .role_name(name)
            .path(path)
            .assume_role_policy_document(trust)
            .set_tags(Some(tags.clone()))
            .send();
        send(OPERATION, call)
    };
    let created = retry_while_settling_if(
        &provider.created,
        SettlePolicy::DEFAULT,
        OPERATION,
        principal_not_visible,
        &dependencies,
        create,
    )
    .await;
    let arn = match created {
        Ok(output) => {
            let arn = super::response_field(output.role().map(|role| role.arn()), OPERATION, "Role.Arn")?.to_owned();
            provider.created.record(&arn);
            tracing::debug!(arn, "role created");
            arn
        }
        // An earlier run may have created the role and died before recording it.
        Err(error) if has_code(&error, ENTITY_EXISTS) => adopt_role(provider, request, name, trust).await?,
        Err(error) => return Err(error),
    };

    // A role created moments ago may be unknown to PutRolePolicy for a few seconds.
    for (policy_name, document) in &policies {
        let put = || put_policy(provider, name, policy_name, document);
        retry_while_settling(&provider.created, SettlePolicy::DEFAULT, "PutRolePolicy", NO_SUCH_ENTITY, &[&arn], put)
            .await?;
    }
    Ok(arn)
}

/// Reads the role named `name` after CreateRole returned `EntityAlreadyExists`, and adopts it
/// when it carries tether's tags for this environment and address: its trust policy is set to
/// `trust`, and the caller puts the inline policies. Returns its ARN.
///
/// # Errors
/// Fails when the role cannot be read or is not tether's for this address.
async fn adopt_role(
    provider: &AwsProvider,
    request: &ApplyRequest<'_>,
    name: &str,
    trust: &str,
) -> Result<String, ProviderError> {
    let iam = provider.iam();
    let output = send("GetRole", iam.get_role().role_name(name).send()).await?;
    let role = super::response_field(output.role(), "GetRole", "Role")?;
    let tags = ec2_tags(role.tags());
    ensure_adoptable(&tags, request.environment, request.address, format!("IAM role {name}"), "CreateRole")?;

    let call = iam.update_assume_role_policy().role_name(name).policy_document(trust).send();
    send("UpdateAssumeRolePolicy", call).await?;
    tracing::warn!(resource = %request.address, arn = role.arn(), "role already exists with tether's tags; adopted");
    Ok(role.arn().to_owned())
}

/// Lists the OIDC provider ARNs that a trust policy names as `Principal.Federated`.
fn federated_principals(trust: &str) -> Vec<String> {
    let Ok(document) = serde_json::from_str::<serde_json::Value>(trust) else {
        return Vec::new();
    };
    let statements = match &document["Statement"] {
        serde_json::Value::Array(statements) => statements.iter().collect(),
        statement => vec![statement],
    };
    let federated = statements.into_iter().map(|statement| &statement["Principal"]["Federated"]);
    federated
        .flat_map(|value| match value {
            serde_json::Value::String(arn) => vec![arn.clone()],
            serde_json::Value::Array(arns) => arns.iter().filter_map(|arn| arn.as_str().map(str::to_owned)).collect(),
            _ => Vec::new(),
        })
        .collect()
}

/// True for the error IAM returns for a trust policy naming a principal it cannot see (yet):
/// `MalformedPolicyDocument` with a message about an invalid principal.
fn principal_not_visible(error: &ProviderError) -> bool {
    let Some(api) = error.source.downcast_ref::<ApiError>() else {
        return false;
    };
    let about_principal = api.message().is_some_and(|message| message.to_ascii_lowercase().contains("principal"));
    api.code() == Some("MalformedPolicyDocument") && about_principal
}

async fn put_policy(
    provider: &AwsProvider,
    role: &str,
    policy_name: &str,
    document: &str,
) -> Result<(), ProviderError> {
    let call = provider.iam().put_role_policy().role_name(role).policy_name(policy_name).policy_document(document);
    send("PutRolePolicy", call.send()).await?;
    Ok(())
}

/// Brings the trust policy, inline policies and tags in line; the name and path force a new role.
///
/// # Errors
/// Fails when the name or path would change, or when an API call fails.
pub(crate) async fn update_role(
    provider: &AwsProvider,
    request: &ApplyRequest<'_>,
    id: &str,
) -> Result<String, ProviderError> {
    const OPERATION: &str = "UpdateAssumeRolePolicy";
    let reader = AttributeReader::new(request.address, request.attributes, OPERATION);
    let trust = reader.string("assume_role_policy")?;
    let desired_policies = inline_policies(&reader)?;
    let desired = desired_tags(&reader, request.environment)?;
    ensure_unchanged(request.address, request.before, request.attributes, &["name", "path"], OPERATION)?;
    let name = role_name(id);
    let iam = provider.iam();

    if changed(request.before, request.attributes, "assume_role_policy") {
        send(OPERATION, iam.update_assume_role_policy().role_name(name).policy_document(trust).send()).await?;
    }

    let observed_policies = request.before.and_then(|before| before.get("inline_policies")).and_then(Value::as_map);
    for (policy_name, document) in &desired_policies {
        let current = observed_policies.and_then(|policies| policies.get(policy_name));
        let same = current.is_some_and(|current| same_document(current, document));
        if !same {
            put_policy(provider, name, policy_name, document).await?;
        }
    }
    for policy_name in observed_policies.into_iter().flat_map(|policies| policies.keys()) {
        if !desired_policies.contains_key(policy_name) {
            let call = iam.delete_role_policy().role_name(name).policy_name(policy_name).send();
            send_unless_absent("DeleteRolePolicy", NO_SUCH_ENTITY, call).await?;
        }
    }

    let (set, removed) = tag_changes(request.before, &desired);
    if !set.is_empty() {
        send("TagRole", iam.tag_role().role_name(name).set_tags(Some(iam_tags(&set)?)).send()).await?;
    }
    if !removed.is_empty() {
        send("UntagRole", iam.untag_role().role_name(name).set_tag_keys(Some(removed)).send()).await?;
    }
    Ok(id.to_owned())
}

/// True when an observed document is the desired one as text. Documents that differ only in
/// spelling are put again, which is harmless; the planner decides whether a role needs an update.
fn same_document(observed: &Value, desired: &str) -> bool {
    observed.as_str() == Some(desired)
}

/// Deletes the role after removing it from its instance profiles and deleting its inline
/// policies, as IAM requires. A role that is already gone counts as deleted.
///
/// # Errors
/// Fails when an API call fails.
pub(crate) async fn delete_role(provider: &AwsProvider, request: &DeleteRequest<'_>) -> Result<(), ProviderError> {
    let name = role_name(request.id);
    let iam = provider.iam();

    let call = iam.list_instance_profiles_for_role().role_name(name).send();
    let Some(profiles) = send_unless_absent("ListInstanceProfilesForRole", NO_SUCH_ENTITY, call).await? else {
        return Ok(());
    };
    for profile in profiles.instance_profiles() {
        let call = iam
            .remove_role_from_instance_profile()
            .instance_profile_name(profile.instance_profile_name())
            .role_name(name);
        send_unless_absent("RemoveRoleFromInstanceProfile", NO_SUCH_ENTITY, call.send()).await?;
    }

    let call = iam.list_role_policies().role_name(name).send();
    if let Some(policies) = send_unless_absent("ListRolePolicies", NO_SUCH_ENTITY, call).await? {
        for policy_name in policies.policy_names() {
            let call = iam.delete_role_policy().role_name(name).policy_name(policy_name).send();
            send_unless_absent("DeleteRolePolicy", NO_SUCH_ENTITY, call).await?;
        }
    }

    send_unless_absent("DeleteRole", NO_SUCH_ENTITY, iam.delete_role().role_name(name).send()).await?;
    Ok(())
}

/// Creates the instance profile with its tags and adds its role; returns its name.
///
/// # Errors
/// Fails on invalid attributes or when an API call fails.
pub(crate) async fn create_profile(
    provider: &AwsProvider,
    request: &ApplyRequest<'_>,
) -> Result<String, ProviderError> {
    const OPERATION: &str = "CreateInstanceProfile";
    let reader = AttributeReader::new(request.address, request.attributes, OPERATION);
    let name = reader.string("name")?;
    let role = reader.string("role_name")?;
    let tags = iam_tags(&desired_tags(&reader, request.environment)?)?;

    let call = provider.iam().create_instance_profile().instance_profile_name(name).set_tags(Some(tags)).send();
    match send(OPERATION, call).await {
        Ok(_) => provider.created.record(name),
        // An earlier run may have created the profile and died before recording it.
        Err(error) if has_code(&error, ENTITY_EXISTS) => {
            if adopt_profile(provider, request, name).await?.iter().any(|held| held == role) {
                return Ok(name.to_owned());
            }
        }
        Err(error) => return Err(error),
    }

    // A profile or role created moments ago may be unknown to AddRoleToInstanceProfile for a few seconds.
    let role_arn = provider.created.role_arn(role);
    let dependencies: Vec<&str> = [Some(name), role_arn.as_deref()].into_iter().flatten().collect();
    let add = || {
        send(
            "AddRoleToInstanceProfile",
            provider.iam().add_role_to_instance_profile().instance_profile_name(name).role_name(role).send(),
        )
    };
    retry_while_settling(
        &provider.created,
        SettlePolicy::DEFAULT,
        "AddRoleToInstanceProfile",
        NO_SUCH_ENTITY,
        &dependencies,
        add,
    )
    .await?;
    tracing::debug!(name, role, "instance profile created");
    Ok(name.to_owned())
}

/// Reads the profile named `name` after CreateInstanceProfile returned `EntityAlreadyExists`, and
/// adopts it when it carries tether's tags for this environment and address. Returns the names of
/// the roles it holds.
///
/// # Errors
/// Fails when the profile cannot be read or is not tether's for this address.
async fn adopt_profile(
    provider: &AwsProvider,
    request: &ApplyRequest<'_>,
    name: &str,
) -> Result<Vec<String>, ProviderError> {
    let call = provider.iam().get_instance_profile().instance_profile_name(name).send();
    let output = send("GetInstanceProfile", call).await?;
    let profile = super::response_field(output.instance_profile(), "GetInstanceProfile", "InstanceProfile")?;
    let tags = ec2_tags(profile.tags());
    let existing = format!("instance profile {name}");
    ensure_adoptable(&tags, request.environment, request.address, existing, "CreateInstanceProfile")?;
    tracing::warn!(resource = %request.address, name, "instance profile already exists with tether's tags; adopted");
    Ok(profile.roles().iter().map(|role| role.role_name().to_owned()).collect())
}

/// Swaps the profile's role and updates its tags.
///
/// # Errors
/// Fails when the name would change, or when an API call fails.
pub(crate) async fn update_profile(
    provider: &AwsProvider,
    request: &ApplyRequest<'_>,
    id: &str,
) -> Result<String, ProviderError> {
    const OPERATION: &str = "AddRoleToInstanceProfile";
    let reader = AttributeReader::new(request.address, request.attributes, OPERATION);
    let role = reader.string("role_name")?;
    let desired = desired_tags(&reader, request.environment)?;
    ensure_unchanged(request.address, request.before, request.attributes, &["name"], OPERATION)?;
    let iam = provider.iam();

    if changed(request.before, request.attributes, "role_name") {
        let old = request.before.and_then(|before| before.get("role_name")).and_then(Value::as_str);
        if let Some(old) = old {
            let call = iam.remove_role_from_instance_profile().instance_profile_name(id).role_name(old).send();
            send_unless_absent("RemoveRoleFromInstanceProfile", NO_SUCH_ENTITY, call).await?;
        }
        send(OPERATION, iam.add_role_to_instance_profile().instance_profile_name(id).role_name(role).send()).await?;
    }

    let (set, removed) = tag_changes(request.before, &desired);
    if !set.is_empty() {
        let call = iam.tag_instance_profile().instance_profile_name(id).set_tags(Some(iam_tags(&set)?));
        send("TagInstanceProfile", call.send()).await?;
    }
    if !removed.is_empty() {
        let call = iam.untag_instance_profile().instance_profile_name(id).set_tag_keys(Some(removed));
        send("UntagInstanceProfile", call.send()).await?;
    }
    Ok(id.to_owned())
}

/// Removes the profile's role, then deletes the profile; one that is already gone counts as deleted.
///
/// # Errors
/// Fails when an API call fails.
pub(crate) async fn delete_profile(provider: &AwsProvider, request: &DeleteRequest<'_>) -> Result<(), ProviderError> {
    let iam = provider.iam();
    if let Some(role) = request.attributes.get("role_name").and_then(Value::as_str) {
        let call = iam.remove_role_from_instance_profile().instance_profile_name(request.id).role_name(role).send();
        send_unless_absent("RemoveRoleFromInstanceProfile", NO_SUCH_ENTITY, call).await?;
    }
    let call = iam.delete_instance_profile().instance_profile_name(request.id).send();
    send_unless_absent("DeleteInstanceProfile", NO_SUCH_ENTITY, call).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encoded_policy_decoded() {
        assert_eq!(decode_policy("%7B%22Version%22%3A+%222012-10-17%22%7D"), r#"{"Version": "2012-10-17"}"#);
        assert_eq!(decode_policy(r#"{"a":1}"#), r#"{"a":1}"#);
    }

    #[test]
    fn federated_principals_read_from_trust() {
        let one = r#"{"Statement":[{"Principal":{"Federated":"arn:p"},"Action":"sts:AssumeRoleWithWebIdentity"}]}"#;
        assert_eq!(federated_principals(one), ["arn:p"]);
        let listed = r#"{"Statement":{"Principal":{"Federated":["arn:a","arn:b"]}}}"#;
        assert_eq!(federated_principals(listed), ["arn:a", "arn:b"]);
        let service = r#"{"Statement":[{"Principal":{"Service":"ec2.amazonaws.com"}}]}"#;
        assert_eq!(federated_principals(service), Vec::<String>::new());
        assert_eq!(federated_principals("{not json"), Vec::<String>::new());
    }

    #[test]
    fn role_name_read_from_arn() {
        assert_eq!(role_name("arn:aws:iam::123456789012:role/ai-node-pool"), "ai-node-pool");
        assert_eq!(role_name("arn:aws:iam::123456789012:role/team/ai-node-pool"), "ai-node-pool");
    }
}
