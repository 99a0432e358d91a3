//! Create, observe, update and delete every resource kind against moto.

mod common;

use std::collections::BTreeMap;

use common::network::{Network, ON_PREM_CIDR};
use common::{create, delete, ingress_rule, observe, state_of, update};
use tether_model::{Address, Attributes, State, Value};

const ENVIRONMENT: &str = "dev";

/// Asserts that every created resource is observed with its id and exactly its request attributes.
fn assert_converged(network: &Network, observed: &BTreeMap<Address, tether_model::ObservedResource>) {
    for address in &network.order {
        let applied = &network.applied[address];
        let Some(resource) = observed.get(address) else {
            panic!("{address} was not observed");
        };
        assert_eq!(resource.id, applied.id, "id of {address}");
        assert_eq!(resource.attributes, applied.attributes, "attributes of {address}");
    }
    assert_eq!(observed.len(), network.order.len(), "observed: {:?}", observed.keys().collect::<Vec<_>>());
}

#[tokio::test]
async fn created_resources_observed_equal() -> anyhow::Result<()> {
    let emulator = common::start().await?;
    let network = Network::create(&emulator.provider, ENVIRONMENT).await?;

    let state = state_of(ENVIRONMENT, &network.applied);
    let from_state = observe(&emulator.provider, ENVIRONMENT, &[], &state).await?;
    assert_converged(&network, &from_state);

    let desired = network.desired_untagged();
    let from_desired = observe(&emulator.provider, ENVIRONMENT, &desired, &State::empty(ENVIRONMENT)).await?;
    assert_converged(&network, &from_desired);
    Ok(())
}

#[tokio::test]
async fn applied_attributes_are_request() -> anyhow::Result<()> {
    let emulator = common::start().await?;
    let network = Network::create(&emulator.provider, ENVIRONMENT).await?;

    let route = network.attributes("route", "private-a-on-prem");
    assert_eq!(route["instance_id"], Value::from(network.id("instance", "router")));
    assert_eq!(
        network.id("route", "private-a-on-prem"),
        format!("{}_{ON_PREM_CIDR}", network.id("route_table", "private-a"))
    );
    assert!(network.id("route_table_association", "public-a").starts_with("rtbassoc-"));
    assert!(network.id("eip", "nat-a").starts_with("eipalloc-"));
    Ok(())
}

#[tokio::test]
async fn instance_source_dest_check_off() -> anyhow::Result<()> {
    let emulator = common::start().await?;
    let network = Network::create(&emulator.provider, ENVIRONMENT).await?;

    let output = emulator.ec2.describe_instances().instance_ids(network.id("instance", "router")).send().await?;
    let instance = &output.reservations()[0].instances()[0];
    assert_eq!(instance.source_dest_check(), Some(false));
    let volume_tags = emulator.ec2.describe_volumes().send().await?;
    let tagged_volume = volume_tags.volumes().iter().any(|volume| {
        volume
            .tags()
            .iter()
            .any(|tag| tag.key() == Some(tether_aws::ADDRESS_TAG) && tag.value() == Some("aws.instance.router"))
    });
    assert!(tagged_volume, "the instance's volume carries the instance's tags");
    Ok(())
}

/// Applies `change` to the attributes of one resource, updates it, and returns the new attributes.
async fn update_with(
    emulator: &common::Emulator,
    network: &mut Network,
    kind: &str,
    name: &str,
    change: impl FnOnce(&mut Attributes),
) -> anyhow::Result<()> {
    let address = Address::aws(kind, name);
    let before = network.applied[&address].attributes.clone();
    let mut after = before.clone();
    change(&mut after);

    let id = network.applied[&address].id.clone();
    let applied = update(&emulator.provider, ENVIRONMENT, &address, &id, &before, &after)
        .await
        .map_err(|error| anyhow::anyhow!("updating {address} failed: {error}: {}", error.source))?;
    assert_eq!(applied.attributes, after);
    network.applied.insert(address, applied);
    Ok(())
}

fn tag_map(attributes: &mut Attributes) -> &mut BTreeMap<String, Value> {
    match attributes.get_mut("tags") {
        Some(Value::Map(map)) => map,
        _ => panic!("no tags"),
    }
}

#[tokio::test]
async fn in_place_updates_converge() -> anyhow::Result<()> {
    let emulator = common::start().await?;
    let mut network = Network::create(&emulator.provider, ENVIRONMENT).await?;

    update_with(&emulator, &mut network, "vpc", "main", |attributes| {
        attributes.insert("enable_dns_hostnames".to_owned(), Value::Bool(false));
        let tags = tag_map(attributes);
        tags.insert("Name".to_owned(), Value::from("renamed"));
        tags.insert("team".to_owned(), Value::from("platform"));
        tags.remove("hypershift.openshift.io/cluster-name");
    })
    .await?;
    update_with(&emulator, &mut network, "subnet", "private-a", |attributes| {
        tag_map(attributes).insert("kubernetes.io/role/internal-elb".to_owned(), Value::from("1"));
    })
    .await?;
    let nat_id = network.id("nat_gateway", "a").to_owned();
    update_with(&emulator, &mut network, "route", "private-a-on-prem", |attributes| {
        attributes.remove("instance_id");
        attributes.insert("nat_gateway_id".to_owned(), Value::from(nat_id));
    })
    .await?;
    update_with(&emulator, &mut network, "security_group", "router", |attributes| {
        let ingress =
            vec![ingress_rule("-1", None, ON_PREM_CIDR), ingress_rule("udp", Some((4789, 4789)), "10.0.0.0/16")];
        attributes.insert("ingress".to_owned(), Value::List(ingress));
    })
    .await?;
    update_with(&emulator, &mut network, "instance", "router", |attributes| {
        attributes.insert("source_dest_check".to_owned(), Value::Bool(true));
        tag_map(attributes).insert("role".to_owned(), Value::from("router"));
    })
    .await?;

    let state = state_of(ENVIRONMENT, &network.applied);
    let observed = observe(&emulator.provider, ENVIRONMENT, &[], &state).await?;
    assert_converged(&network, &observed);
    Ok(())
}

#[tokio::test]
async fn security_groups_of_instance_updated() -> anyhow::Result<()> {
    let emulator = common::start().await?;
    let mut network = Network::create(&emulator.provider, ENVIRONMENT).await?;

    let group = Address::aws("security_group", "extra");
    let mut group_attributes = network.attributes("security_group", "router").clone();
    group_attributes.insert("group_name".to_owned(), Value::from("ai-x7k2p-extra"));
    group_attributes.insert("ingress".to_owned(), Value::List(Vec::new()));
    group_attributes.insert("tags".to_owned(), common::tags(ENVIRONMENT, &group));
    let extra = create(&emulator.provider, ENVIRONMENT, &group, &group_attributes).await?;
    network.order.push(group.clone());
    network.applied.insert(group, extra.clone());

    let mut group_ids = vec![Value::from(network.id("security_group", "router")), Value::from(extra.id.as_str())];
    group_ids.sort_by(|left, right| left.as_str().cmp(&right.as_str()));
    update_with(&emulator, &mut network, "instance", "router", |attributes| {
        attributes.insert("security_group_ids".to_owned(), Value::List(group_ids));
    })
    .await?;

    let state = state_of(ENVIRONMENT, &network.applied);
    let observed = observe(&emulator.provider, ENVIRONMENT, &[], &state).await?;
    assert_converged(&network, &observed);
    Ok(())
}

#[tokio::test]
async fn deletes_in_reverse_order() -> anyhow::Result<()> {
    let emulator = common::start().await?;
    let network = Network::create(&emulator.provider, ENVIRONMENT).await?;

    for address in network.order.iter().rev() {
        let applied = &network.applied[address];
        delete(&emulator.provider, ENVIRONMENT, address, &applied.id, &applied.attributes)
            .await
            .map_err(|error| anyhow::anyhow!("deleting {address} failed: {error}: {}", error.source))?;
    }

    let state = state_of(ENVIRONMENT, &network.applied);
    let observed = observe(&emulator.provider, ENVIRONMENT, &network.desired_untagged(), &state).await?;
    assert!(observed.is_empty(), "still observed: {:?}", observed.keys().collect::<Vec<_>>());
    Ok(())
}

#[tokio::test]
async fn deleting_deleted_resources_succeeds() -> anyhow::Result<()> {
    let emulator = common::start().await?;
    let network = Network::create(&emulator.provider, ENVIRONMENT).await?;

    for round in ["first", "second"] {
        for address in network.order.iter().rev() {
            let applied = &network.applied[address];
            let result = delete(&emulator.provider, ENVIRONMENT, address, &applied.id, &applied.attributes).await;
            if let Err(error) = result {
                panic!("{round} delete of {address} failed: {error}: {}", error.source);
            }
        }
    }
    Ok(())
}

#[tokio::test]
async fn create_adopts_existing_route_and_association() -> anyhow::Result<()> {
    let emulator = common::start().await?;
    let network = Network::create(&emulator.provider, ENVIRONMENT).await?;

    let route = Address::aws("route", "private-a-on-prem");
    let mut retargeted = network.attributes("route", "private-a-on-prem").clone();
    retargeted.remove("instance_id");
    retargeted.insert("nat_gateway_id".to_owned(), Value::from(network.id("nat_gateway", "a")));
    let applied = create(&emulator.provider, ENVIRONMENT, &route, &retargeted).await?;
    assert_eq!(applied.id, network.id("route", "private-a-on-prem"));

    let association = Address::aws("route_table_association", "public-a");
    let attributes = network.attributes("route_table_association", "public-a");
    let applied = create(&emulator.provider, ENVIRONMENT, &association, attributes).await?;
    assert_eq!(applied.id, network.id("route_table_association", "public-a"));

    let state = state_of(ENVIRONMENT, &network.applied);
    let observed = observe(&emulator.provider, ENVIRONMENT, &[], &state).await?;
    assert_eq!(observed[&route].attributes, retargeted);
    Ok(())
}
