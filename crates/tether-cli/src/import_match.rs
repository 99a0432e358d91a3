//! Matching of discovered resources to the addresses of the desired graph, for `tether import`.
//!
//! AWS resources match by kind and HyperShift's `Name` tag (with the cluster tag), or by the id
//! that the file's `[import]` table gives; Kubernetes objects match by kind, namespace and name.
//! Matching is pure: discovery happens before, and nothing is written here.

use std::collections::{BTreeMap, BTreeSet};

use tether_aws::{Candidate, Kind};
use tether_catalog::DesiredGraph;
use tether_model::{Address, Attributes, ProviderId, State};

/// An existing resource matched to an address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Matched {
    pub address: Address,
    pub id: String,
    /// Its attributes as observation reports them.
    pub attributes: Attributes,
    /// The way it was found, for the listing: `Name tag`, `cluster tag`, `[import]`, or the
    /// identifying attribute (`name`, `url`).
    pub how: &'static str,
}

/// A resource found with the environment's cluster tag that no address claims.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Unclaimed {
    /// The kind, as in addresses, e.g. `security_group` or `NodePool`.
    pub kind: String,
    pub id: String,
    /// Its `Name` tag, or for a resource without one (a private zone) its name.
    pub name: Option<String>,
}

/// The outcome of matching, before the untagged kinds (routes, associations) are observed.
#[derive(Debug, Default)]
pub struct Matching {
    pub matched: Vec<Matched>,
    /// Desired addresses that nothing matched: the next apply creates them.
    pub missing: BTreeSet<Address>,
    /// Desired addresses that the state already records; import leaves them as they are.
    pub recorded: BTreeSet<Address>,
    pub unclaimed: Vec<Unclaimed>,
}

/// A match that import refuses to guess.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum MatchError {
    /// More than one existing resource fits one address.
    #[error(
        "`{address}` matches {count} existing resources named `{name}` ({candidates}); give the right id in `[import] resources` of the file, e.g. `\"{address}\" = \"{first}\"`",
        count = candidates.len(), candidates = candidates.join(", "), first = candidates[0]
    )]
    Ambiguous { address: Address, name: String, candidates: Vec<String> },
    /// The `[import]` table names an address the file does not describe.
    #[error("`[import]` names `{address}`, which the file does not describe; remove the entry or fix the address")]
    UnknownAddress { address: String },
    /// The `[import]` table names an id that does not exist.
    #[error("`[import]` names `{id}` for `{address}`, but no such {kind} exists; check the id and the region")]
    NotFound { address: Address, id: String, kind: String },
}

/// The inputs of matching.
pub struct MatchInput<'a> {
    pub desired: &'a DesiredGraph,
    pub state: &'a State,
    pub infra_id: &'a str,
    /// The HostedCluster's name; NodePools of this cluster that no pool describes are listed.
    pub cluster_name: &'a str,
    /// The `[import]` table's ids by address.
    pub named: &'a BTreeMap<String, String>,
    pub aws: &'a [Candidate],
    /// Objects found on the management cluster by id (`namespace/name`), per desired kind.
    pub objects: &'a BTreeMap<String, Vec<tether_kube::FoundObject>>,
}

/// Matches every desired resource that discovery can find.
///
/// # Errors
/// Fails on an ambiguous match and on `[import]` entries that name an unknown address or id.
pub fn match_resources(input: &MatchInput<'_>) -> Result<Matching, MatchError> {
    let named = named_addresses(input)?;
    let mut matching = Matching::default();
    let mut claimed: BTreeSet<String> = BTreeSet::new();

    for resource in input.desired.resources() {
        let address = &resource.address;
        if input.state.resources.contains_key(address) {
            matching.recorded.insert(address.clone());
            continue;
        }
        let found = match address.provider() {
            ProviderId::Aws => match_aws(input, address, &resource.attributes, named.get(address))?,
            _ => match_object(input, address, &resource.attributes, named.get(address))?,
        };
        match found {
            Some(found) => {
                claimed.insert(found.id.clone());
                matching.matched.push(found);
            }
            None if is_findable(address) => {
                matching.missing.insert(address.clone());
            }
            None => {}
        }
    }

    let cluster_tag = tether_aws::cluster_tag(input.infra_id);
    matching.unclaimed = input
        .aws
        .iter()
        .filter(|candidate| candidate.tag(&cluster_tag).is_some() && !claimed.contains(&candidate.id))
        .map(|candidate| Unclaimed {
            kind: candidate.kind.to_string(),
            id: candidate.id.clone(),
            name: candidate
                .tag("Name")
                .or_else(|| candidate.attributes.get("name").and_then(|name| name.as_str()))
                .map(str::to_owned),
        })
        .collect();
    matching.unclaimed.extend(unclaimed_node_pools(input, &claimed));
    matching.unclaimed.sort();
    Ok(matching)
}

/// NodePools of this cluster that no pool of the file describes.
fn unclaimed_node_pools(input: &MatchInput<'_>, claimed: &BTreeSet<String>) -> Vec<Unclaimed> {
    let pools = input.objects.iter().filter(|(kind, _)| kind.starts_with("NodePool ")).flat_map(|(_, objects)| objects);
    pools
        .filter(|object| !claimed.contains(&object.id))
        .filter(|object| {
            let spec = object.attributes.get("spec");
            spec.and_then(|spec| spec.get_path(&["clusterName"])).and_then(|name| name.as_str())
                == Some(input.cluster_name)
        })
        .map(|object| Unclaimed { kind: "NodePool".to_owned(), id: object.id.clone(), name: None })
        .collect()
}

/// True for the addresses that import looks for: discoverable AWS kinds and every cluster
/// object. Routes and associations are found later, through their route tables.
fn is_findable(address: &Address) -> bool {
    match address.provider() {
        ProviderId::Aws => Kind::of(address).is_ok_and(tether_aws::is_discoverable),
        _ => true,
    }
}

/// Parses the `[import]` addresses and checks that the file describes each.
fn named_addresses(input: &MatchInput<'_>) -> Result<BTreeMap<Address, String>, MatchError> {
    input
        .named
        .iter()
        .map(|(text, id)| match text.parse::<Address>() {
            Ok(address) if input.desired.get(&address).is_some() => Ok((address, id.clone())),
            _ => Err(MatchError::UnknownAddress { address: text.clone() }),
        })
        .collect()
}

fn match_aws(
    input: &MatchInput<'_>,
    address: &Address,
    desired: &Attributes,
    named: Option<&String>,
) -> Result<Option<Matched>, MatchError> {
    let Ok(kind) = Kind::of(address) else { return Ok(None) };
    let of_kind = || input.aws.iter().filter(move |candidate| candidate.kind == kind);

    if let Some(id) = named {
        let found = of_kind().find(|candidate| &candidate.id == id);
        let candidate = found.ok_or_else(|| MatchError::NotFound {
            address: address.clone(),
            id: id.clone(),
            kind: kind.to_string(),
        })?;
        return Ok(Some(matched(address, candidate, "[import]")));
    }

    let named_ids: BTreeSet<&String> = input.named.values().collect();
    let (fits, name, how) = match identity_attribute(kind) {
        // IAM has no cluster tag: `hcp` names roles and profiles, and the provider has its URL.
        // Private zones carry the cluster tag (discovery selected them by it) but no `Name` tag.
        Some(attribute) => {
            let wanted = desired.get(attribute).and_then(|value| value.as_str());
            let fits: Vec<&Candidate> = of_kind()
                .filter(|candidate| candidate.attributes.get(attribute).and_then(|value| value.as_str()) == wanted)
                .filter(|candidate| wanted.is_some() && !named_ids.contains(&candidate.id))
                .collect();
            (fits, wanted.unwrap_or_default(), attribute)
        }
        // HyperShift names most EC2 resources; DHCP options and VPC endpoints have only the
        // cluster tag, so an endpoint is identified by its service.
        None => {
            let name = desired.get("tags").and_then(|tags| tags.get_path(&["Name"])).and_then(|name| name.as_str());
            let service = desired.get("service_name").and_then(|service| service.as_str());
            let cluster_tag = tether_aws::cluster_tag(input.infra_id);
            let fits: Vec<&Candidate> = of_kind()
                .filter(|candidate| candidate.tag("Name") == name && candidate.tag(&cluster_tag).is_some())
                .filter(|candidate| {
                    service.is_none_or(|service| {
                        candidate.attributes.get("service_name").and_then(|s| s.as_str()) == Some(service)
                    })
                })
                .filter(|candidate| !named_ids.contains(&candidate.id))
                .collect();
            (fits, name.unwrap_or("(no Name tag)"), if name.is_some() { "Name tag" } else { "cluster tag" })
        }
    };
    match fits.as_slice() {
        [] => Ok(None),
        [candidate] => Ok(Some(matched(address, candidate, how))),
        _ => Err(MatchError::Ambiguous {
            address: address.clone(),
            name: name.to_owned(),
            candidates: fits.iter().map(|candidate| candidate.id.clone()).collect(),
        }),
    }
}

/// Returns the attribute that identifies a resource of a kind without a `Name` tag from `hcp`: IAM kinds,
/// which carry no cluster tag either, and private zones.
fn identity_attribute(kind: Kind) -> Option<&'static str> {
    match kind {
        Kind::IamRole | Kind::InstanceProfile | Kind::PrivateZone => Some("name"),
        Kind::OidcProvider => Some("url"),
        _ => None,
    }
}

fn matched(address: &Address, candidate: &Candidate, how: &'static str) -> Matched {
    Matched { address: address.clone(), id: candidate.id.clone(), attributes: candidate.attributes.clone(), how }
}

fn match_object(
    input: &MatchInput<'_>,
    address: &Address,
    desired: &Attributes,
    named: Option<&String>,
) -> Result<Option<Matched>, MatchError> {
    let Some(kind) = object_kind(desired) else { return Ok(None) };
    let objects = input.objects.get(&kind).map(Vec::as_slice).unwrap_or_default();
    let (id, how) = match named {
        Some(id) => (id.clone(), "[import]"),
        None => match object_id(desired) {
            Some(id) => (id, "name"),
            None => return Ok(None),
        },
    };

    match objects.iter().find(|object| object.id == id) {
        Some(object) => Ok(Some(Matched {
            address: address.clone(),
            id: object.id.clone(),
            attributes: object.attributes.clone(),
            how,
        })),
        None if named.is_some() => Err(MatchError::NotFound { address: address.clone(), id, kind }),
        None => Ok(None),
    }
}

/// `Kind (apiVersion)` of a desired object, the key of [`MatchInput::objects`].
pub fn object_kind(attributes: &Attributes) -> Option<String> {
    let api_version = attributes.get("apiVersion")?.as_str()?;
    let kind = attributes.get("kind")?.as_str()?;
    Some(format!("{kind} ({api_version})"))
}

/// `namespace/name`, or `name` for a cluster-scoped object.
pub fn object_id(attributes: &Attributes) -> Option<String> {
    let metadata = attributes.get("metadata")?;
    let name = metadata.get_path(&["name"])?.as_str()?;
    Some(match metadata.get_path(&["namespace"]).and_then(|namespace| namespace.as_str()) {
        Some(namespace) => format!("{namespace}/{name}"),
        None => name.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use tether_model::{Resource, Value};

    use super::*;

    fn tagged(kind: Kind, id: &str, name: &str, infra_id: &str) -> Candidate {
        let tags = Value::map([
            ("Name", Value::from(name)),
            (format!("kubernetes.io/cluster/{infra_id}").as_str(), Value::from("owned")),
        ]);
        Candidate { kind, id: id.to_owned(), attributes: Attributes::from([("tags".to_owned(), tags)]) }
    }

    fn desired_vpc() -> DesiredGraph {
        let tags = Value::map([("Name", Value::from("ai-vpc"))]);
        let vpc = Resource::new(Address::aws("vpc", "main"), Attributes::from([("tags".to_owned(), tags)]));
        DesiredGraph::new([vpc]).unwrap()
    }

    fn run(aws: &[Candidate], named: &BTreeMap<String, String>) -> Result<Matching, MatchError> {
        let desired = desired_vpc();
        let state = State::empty("ai-dev");
        let objects = BTreeMap::new();
        let input = MatchInput {
            desired: &desired,
            state: &state,
            infra_id: "ai",
            cluster_name: "ai",
            named,
            aws,
            objects: &objects,
        };
        match_resources(&input)
    }

    #[test]
    fn vpc_matched_by_name_tag_and_the_rest_listed() {
        let aws =
            [tagged(Kind::Vpc, "vpc-1", "ai-vpc", "ai"), tagged(Kind::SecurityGroup, "sg-1", "ai-default-sg", "ai")];
        let matching = run(&aws, &BTreeMap::new()).unwrap();
        assert_eq!(matching.matched.len(), 1);
        assert_eq!(matching.matched[0].id, "vpc-1");
        assert_eq!(matching.unclaimed.len(), 1);
        assert_eq!(matching.unclaimed[0].name.as_deref(), Some("ai-default-sg"));
    }

    #[test]
    fn another_clusters_vpc_is_not_matched() {
        let matching = run(&[tagged(Kind::Vpc, "vpc-1", "ai-vpc", "other")], &BTreeMap::new()).unwrap();
        assert!(matching.matched.is_empty());
        assert_eq!(matching.missing.iter().map(ToString::to_string).collect::<Vec<_>>(), ["aws.vpc.main"]);
    }

    #[test]
    fn two_vpcs_with_one_name_are_ambiguous() {
        let aws = [tagged(Kind::Vpc, "vpc-2", "ai-vpc", "ai"), tagged(Kind::Vpc, "vpc-1", "ai-vpc", "ai")];
        let error = run(&aws, &BTreeMap::new()).unwrap_err();
        assert!(matches!(&error, MatchError::Ambiguous { candidates, .. } if candidates.len() == 2), "{error}");
        assert!(error.to_string().contains("(vpc-2, vpc-1)"), "{error}");
    }

    #[test]
    fn import_table_settles_ambiguity() {
        let aws = [tagged(Kind::Vpc, "vpc-2", "ai-vpc", "ai"), tagged(Kind::Vpc, "vpc-1", "ai-vpc", "ai")];
        let named = BTreeMap::from([("aws.vpc.main".to_owned(), "vpc-1".to_owned())]);
        let matching = run(&aws, &named).unwrap();
        assert_eq!(matching.matched[0].id, "vpc-1");
        assert_eq!(matching.matched[0].how, "[import]");
        assert_eq!(matching.unclaimed.iter().map(|item| item.id.as_str()).collect::<Vec<_>>(), ["vpc-2"]);
    }

    #[test]
    fn import_table_errors_name_the_entry() {
        let unknown = BTreeMap::from([("aws.vpc.other".to_owned(), "vpc-1".to_owned())]);
        assert!(matches!(run(&[], &unknown), Err(MatchError::UnknownAddress { .. })));
        let missing = BTreeMap::from([("aws.vpc.main".to_owned(), "vpc-9".to_owned())]);
        assert!(matches!(run(&[], &missing), Err(MatchError::NotFound { .. })));
    }
}
