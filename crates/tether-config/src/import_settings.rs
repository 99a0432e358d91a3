//! The `[import]` table: ids of existing resources that `tether import` cannot find by
//! HyperShift's tags or by name, such as a subnet router and route tables made by hand.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::codes;
use crate::diagnostic::Diagnostic;
use crate::spans::KeyPath;
use crate::validate::Checker;

/// Ids of existing resources for `tether import`. Only `tether import` reads this table; once
/// the resources are in the state, it may be removed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct ImportSettings {
    /// Id of the subnet router's EC2 instance (`i-…`), imported as `aws.instance.subnet-router`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subnet_router_instance: Option<String>,
    /// Id of the subnet router's security group (`sg-…`), imported as
    /// `aws.security_group.subnet-router`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subnet_router_security_group: Option<String>,
    /// Ids of route tables (`rtb-…`) by the name in their address: `public`, or `private-<zone>`
    /// for a zone of `aws.zones`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub route_tables: BTreeMap<String, String>,
    /// Ids of any other resources by address, e.g. `"aws.eip.nat-ap-southeast-2a" =
    /// "eipalloc-0123abcd"` or `"cluster.node_pool.gpu" = "hcp-ai/ai-gpu"`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub resources: BTreeMap<String, String>,
}

impl ImportSettings {
    /// Returns every id in the table by address, e.g. `aws.instance.subnet-router` → `i-…`.
    /// Addresses given twice keep the `resources` entry, which validation reports.
    pub fn ids(&self) -> BTreeMap<String, String> {
        let mut ids = BTreeMap::new();
        if let Some(id) = &self.subnet_router_instance {
            ids.insert("aws.instance.subnet-router".to_owned(), id.clone());
        }
        if let Some(id) = &self.subnet_router_security_group {
            ids.insert("aws.security_group.subnet-router".to_owned(), id.clone());
        }
        for (name, id) in &self.route_tables {
            ids.insert(format!("aws.route_table.{name}"), id.clone());
        }
        ids.extend(self.resources.iter().map(|(address, id)| (address.clone(), id.clone())));
        ids
    }
}

/// The id prefix of each AWS kind whose ids have one, as `<prefix>-<hex>`.
const ID_PREFIXES: &[(&str, &str)] = &[
    ("vpc", "vpc"),
    ("subnet", "subnet"),
    ("internet_gateway", "igw"),
    ("eip", "eipalloc"),
    ("nat_gateway", "nat"),
    ("route_table", "rtb"),
    ("security_group", "sg"),
    ("instance", "i"),
    ("dhcp_options", "dopt"),
    ("vpc_endpoint", "vpce"),
];

/// Checks every id and address of `[import]`, reporting each problem at its span.
pub(crate) fn check(checker: &mut Checker<'_>) {
    let Some(settings) = &checker.environment.import else { return };
    let zones = &checker.environment.aws.zones;
    let base = KeyPath::of(&["import"]);
    let mut problems: Vec<(KeyPath, bool, String, String)> = Vec::new();

    let named = [
        ("subnet_router_instance", "instance", &settings.subnet_router_instance),
        ("subnet_router_security_group", "security_group", &settings.subnet_router_security_group),
    ];
    for (key, kind, id) in named {
        if let Some(problem) = id.as_deref().and_then(|id| id_problem(kind, id)) {
            problems.push((base.key(key), false, problem, id_help(kind)));
        }
    }

    for (name, id) in &settings.route_tables {
        let path = base.key("route_tables").key(name);
        let zone_known = name.strip_prefix("private-").is_some_and(|zone| zones.iter().any(|known| known == zone));
        if name != "public" && !zone_known {
            let problem = format!("`{name}` is not a route table of this file");
            let help = format!("use `public` or `private-<zone>` with a zone of `aws.zones` ({})", zones.join(", "));
            problems.push((path.clone(), true, problem, help));
        }
        if let Some(problem) = id_problem("route_table", id) {
            problems.push((path, false, problem, id_help("route_table")));
        }
    }

    let named_addresses = ["aws.instance.subnet-router", "aws.security_group.subnet-router"];
    for (address, id) in &settings.resources {
        let path = base.key("resources").key(address);
        match address_kind(address) {
            Err(problem) => {
                let help = "write `provider.kind.name` as `tether plan` prints it, e.g. `aws.eip.nat-ap-southeast-2a`";
                problems.push((path, true, problem, help.to_owned()));
            }
            Ok((provider, kind)) => {
                let duplicate = named_addresses.contains(&address.as_str())
                    || address
                        .strip_prefix("aws.route_table.")
                        .is_some_and(|name| settings.route_tables.contains_key(name));
                if duplicate {
                    let problem = format!("`{address}` is also given by another key of `[import]`");
                    problems.push((path.clone(), true, problem, "give each address one id, in one place".to_owned()));
                }
                let problem = if provider == "aws" { id_problem(kind, id) } else { cluster_id_problem(id) };
                if let Some(problem) = problem {
                    let help = if provider == "aws" {
                        id_help(kind)
                    } else {
                        "write `namespace/name`, or `name` for a cluster-scoped object".to_owned()
                    };
                    problems.push((path, false, problem, help));
                }
            }
        }
    }

    for (path, on_key, problem, help) in problems {
        let span = if on_key { checker.spans.key(&path) } else { checker.spans.value(&path) };
        let diagnostic = Diagnostic::error(codes::INVALID_IMPORT, format!("invalid import entry: {problem}"))
            .with_label(span, problem)
            .with_help(help);
        checker.report(diagnostic);
    }
}

/// Splits `aws.kind.name` or `cluster.kind.name` into provider and kind.
fn address_kind(address: &str) -> Result<(&str, &str), String> {
    let parts: Vec<&str> = address.split('.').collect();
    let [provider, kind, name] = parts.as_slice() else {
        return Err(format!("`{address}` does not have the form `provider.kind.name`"));
    };
    if !matches!(*provider, "aws" | "cluster") {
        return Err(format!("`{address}` does not start with `aws.` or `cluster.`"));
    }
    let invalid = |part: &str| part.is_empty() || part.contains(|c: char| c.is_whitespace() || c == '*');
    if invalid(kind) || invalid(name) {
        return Err(format!("`{address}` has an empty kind or name, whitespace or `*`"));
    }
    Ok((provider, kind))
}

/// Describes what is wrong with an AWS id of `kind`, or `None` when it looks right. Kinds without
/// a known prefix accept any id without whitespace.
fn id_problem(kind: &str, id: &str) -> Option<String> {
    let Some((_, prefix)) = ID_PREFIXES.iter().find(|(known, _)| *known == kind) else {
        return (id.is_empty() || id.contains(char::is_whitespace)).then(|| format!("`{id}` is not an id"));
    };
    let hex = id.strip_prefix(prefix).and_then(|rest| rest.strip_prefix('-'));
    let valid = hex.is_some_and(|hex| {
        (8..=17).contains(&hex.len()) && hex.chars().all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c))
    });
    (!valid).then(|| format!("`{id}` is not an id of kind `{kind}`"))
}

fn id_help(kind: &str) -> String {
    match ID_PREFIXES.iter().find(|(known, _)| *known == kind) {
        Some((_, prefix)) => {
            format!("write the id as AWS prints it: `{prefix}-` followed by 8 to 17 lowercase hex digits")
        }
        None => "write the id as AWS prints it".to_owned(),
    }
}

fn cluster_id_problem(id: &str) -> Option<String> {
    let parts: Vec<&str> = id.split('/').collect();
    let valid = matches!(parts.as_slice(), [name] | [_, name] if !name.is_empty())
        && parts.iter().all(|part| !part.is_empty() && !part.contains(char::is_whitespace));
    (!valid).then(|| format!("`{id}` is not an object id"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aws_ids_need_their_prefix() {
        assert_eq!(id_problem("instance", "i-0123456789abcdef0"), None);
        assert_eq!(id_problem("route_table", "rtb-0a1b2c3d"), None);
        assert!(id_problem("instance", "sg-0123456789abcdef0").is_some());
        assert!(id_problem("vpc", "vpc-XYZ12345").is_some());
        assert!(id_problem("vpc", "vpc-1234").is_some());
        assert_eq!(id_problem("oidc_provider", "arn:aws:iam::1:oidc-provider/x"), None);
    }

    #[test]
    fn addresses_need_three_parts() {
        assert_eq!(address_kind("aws.eip.nat-a"), Ok(("aws", "eip")));
        assert!(address_kind("aws.eip").is_err());
        assert!(address_kind("gcp.vm.a").is_err());
        assert!(address_kind("aws.subnet.*").is_err());
    }

    #[test]
    fn cluster_ids_are_namespace_and_name() {
        assert_eq!(cluster_id_problem("hcp-ai/ai"), None);
        assert_eq!(cluster_id_problem("onprem-routes"), None);
        assert!(cluster_id_problem("a/b/c").is_some());
        assert!(cluster_id_problem("hcp-ai/").is_some());
    }

    #[test]
    fn ids_listed_by_address() {
        let settings = ImportSettings {
            subnet_router_instance: Some("i-0123456789abcdef0".to_owned()),
            route_tables: BTreeMap::from([("public".to_owned(), "rtb-0a1b2c3d".to_owned())]),
            ..ImportSettings::default()
        };
        let ids = settings.ids();
        assert_eq!(ids["aws.instance.subnet-router"], "i-0123456789abcdef0");
        assert_eq!(ids["aws.route_table.public"], "rtb-0a1b2c3d");
    }
}
