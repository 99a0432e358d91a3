//! `tether import`: find the resources of an environment that was built without tether, match
//! them to the file's addresses and record them in the state, changing nothing in AWS. On the
//! management cluster it writes only the history record (and the state, with that backend).
//! With `--generate`, write an environment file from what exists instead.

use std::collections::{BTreeMap, BTreeSet};
use std::process::ExitCode;

use anyhow::Context as _;
use tether_aws::Kind;
use tether_kube::{FoundObject, KindRef};
use tether_model::{Address, ObservedResource, ProviderId, State, StateResource};

use crate::args::ImportArgs;
use crate::environment::Session;
use crate::exit::Failure;
use crate::import_match::{MatchInput, Matching, match_resources};

pub async fn run(args: &ImportArgs) -> Result<ExitCode, Failure> {
    if let Some(out) = &args.generate {
        return crate::import_generate::run(args, out).await;
    }
    let environment = args.environment_args()?;
    let mut session = if args.dry_run {
        Session::open(&environment).await?
    } else {
        Session::open_locked(&environment, "import", args.lock_timeout).await?
    };

    let matching = discover_and_match(&session).await?;
    let recorded = session.state.clone();
    session.state = provisional_state(&recorded, &matching, &session);
    let observed = session.observe().await?;
    let imported = imported_resources(&session, &recorded, &observed);

    print_report(&session, &matching, &imported);
    if args.dry_run {
        println!("\nDry run: the state was not changed.");
        return Ok(ExitCode::SUCCESS);
    }
    let count = imported.len();
    let audit = crate::audit::start_import(&session, &imported).await?;
    let mut state = recorded;
    state.resources.extend(imported.into_iter().map(|(address, resource)| (address, resource.clone())));
    state.serial += 1;
    let saved = session.store.save(&state).await;
    crate::audit::finish_import(&session, audit, count, saved.is_ok()).await;
    saved.with_context(|| format!("cannot write the state to {}", session.store.describe()))?;
    println!(
        "\nRecorded the state in {}. Run `tether plan {}` next.",
        session.store.describe(),
        environment.file.display()
    );
    Ok(ExitCode::SUCCESS)
}

/// Lists AWS and the management cluster (one call per kind, and per namespace on the cluster) and
/// matches what they hold to the desired graph.
async fn discover_and_match(session: &Session) -> anyhow::Result<Matching> {
    let checked = &session.environment.checked;
    let infra_id = &checked.environment.cluster.infra_id;
    let named = checked.environment.import.as_ref().map(tether_config::ImportSettings::ids).unwrap_or_default();

    let provider = tether_aws::AwsProvider::from_environment(&checked.environment.aws.region).await;
    let aws = provider.discover(infra_id, &aws_ids_by_kind(&named)).await.context("cannot list AWS resources")?;
    let objects = find_objects(session).await?;
    let input = MatchInput {
        desired: &session.environment.desired,
        state: &session.state,
        infra_id,
        cluster_name: &checked.environment.cluster.name,
        named: &named,
        aws: &aws,
        objects: &objects,
    };
    Ok(match_resources(&input)?)
}

/// Groups the `[import]` table's AWS ids by kind, for the listings by id.
fn aws_ids_by_kind(named: &BTreeMap<String, String>) -> BTreeMap<Kind, BTreeSet<String>> {
    let mut ids: BTreeMap<Kind, BTreeSet<String>> = BTreeMap::new();
    for (text, id) in named {
        let kind = text.parse::<Address>().ok().and_then(|address| Kind::of(&address).ok());
        if let Some(kind) = kind.filter(|kind| tether_aws::is_discoverable(*kind)) {
            ids.entry(kind).or_default().insert(id.clone());
        }
    }
    ids
}

/// Lists each kind of the desired cluster objects once per namespace they live in, without
/// tether's label selector, keyed by `Kind (apiVersion)`.
async fn find_objects(session: &Session) -> anyhow::Result<BTreeMap<String, Vec<FoundObject>>> {
    let mut groups: BTreeSet<(KindRef, Option<String>)> = BTreeSet::new();
    for resource in session.environment.desired.resources() {
        if resource.address.provider() != ProviderId::Cluster {
            continue;
        }
        let attributes = &resource.attributes;
        let (Some(api_version), Some(kind)) = (
            attributes.get("apiVersion").and_then(|value| value.as_str()),
            attributes.get("kind").and_then(|value| value.as_str()),
        ) else {
            continue;
        };
        let namespace = attributes.get("metadata").and_then(|metadata| metadata.get_path(&["namespace"]));
        let kind = KindRef { api_version: api_version.to_owned(), kind: kind.to_owned() };
        groups.insert((kind, namespace.and_then(|namespace| namespace.as_str()).map(str::to_owned)));
    }

    let mut objects: BTreeMap<String, Vec<FoundObject>> = BTreeMap::new();
    for (kind, namespace) in groups {
        let found = session
            .kube
            .find_objects(&kind, namespace.as_deref())
            .await
            .with_context(|| format!("cannot list {kind} on the management cluster"))?;
        objects.entry(kind.to_string()).or_default().extend(found);
    }
    Ok(objects)
}

/// The state plus the matches, so that observation reads the matched resources by id and finds
/// the routes and associations of matched route tables.
fn provisional_state(recorded: &State, matching: &Matching, session: &Session) -> State {
    let mut state = recorded.clone();
    for found in &matching.matched {
        let depends_on = session.environment.desired.get(&found.address).map(|resource| resource.depends_on.clone());
        let resource = StateResource {
            id: found.id.clone(),
            attributes: found.attributes.clone(),
            depends_on: depends_on.unwrap_or_default(),
        };
        state.resources.insert(found.address.clone(), resource);
    }
    state
}

/// The resources to record: every observed resource at a desired address that the state did not
/// record before, with its observed attributes.
fn imported_resources(
    session: &Session,
    recorded: &State,
    observed: &[ObservedResource],
) -> BTreeMap<Address, StateResource> {
    observed
        .iter()
        .filter(|resource| !recorded.resources.contains_key(&resource.address))
        .filter_map(|resource| {
            let desired = session.environment.desired.get(&resource.address)?;
            let state = StateResource {
                id: resource.id.clone(),
                attributes: resource.attributes.clone(),
                depends_on: desired.depends_on.clone(),
            };
            Some((resource.address.clone(), state))
        })
        .collect()
}

/// Prints what was matched, what will be created and what is left alone, to stdout.
fn print_report(session: &Session, matching: &Matching, imported: &BTreeMap<Address, StateResource>) {
    let how: BTreeMap<&Address, &str> = matching.matched.iter().map(|found| (&found.address, found.how)).collect();
    println!("Matched {} existing resources:", imported.len());
    for (address, resource) in imported {
        let how = how.get(address).copied().unwrap_or_else(|| found_through(address));
        println!("  {address} ← {} (by {how})", resource.id);
    }

    // Every desired address that neither the state nor this import records, routes and
    // associations included, which are not listed before observation.
    let missing: Vec<&Address> = session
        .environment
        .desired
        .resources()
        .map(|resource| &resource.address)
        .filter(|address| !imported.contains_key(*address) && !matching.recorded.contains(*address))
        .collect();
    if !missing.is_empty() {
        println!("\nNot found; the next apply creates them ({}):", missing.len());
        for address in missing {
            println!("  {address}");
        }
    }
    if !matching.recorded.is_empty() {
        println!("\nAlready in the state, left as they are ({}):", matching.recorded.len());
        for address in &matching.recorded {
            println!("  {address}");
        }
    }
    if !matching.unclaimed.is_empty() {
        println!("\nFound but not described by the file; tether leaves them alone ({}):", matching.unclaimed.len());
        for item in &matching.unclaimed {
            let name = item.name.as_deref().map(|name| format!(" ({name})")).unwrap_or_default();
            println!("  {} {}{name}", item.kind, item.id);
        }
    }
}

/// How observation found a resource that matching does not list: routes and route table
/// associations through their route table, a DHCP options association through its VPC.
fn found_through(address: &Address) -> &'static str {
    match Kind::of(address) {
        Ok(Kind::DhcpOptionsAssociation) => "its VPC",
        Ok(Kind::Route | Kind::RouteTableAssociation | Kind::MainRouteTableAssociation) => "its route table",
        _ => "observation",
    }
}
