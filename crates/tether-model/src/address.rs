//! Typed resource addresses such as `aws.subnet.private-ap-southeast-2a`.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The system that owns a resource and the provider that reads and changes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ProviderId {
    /// Amazon Web Services: networking, the subnet router, IAM.
    Aws,
    /// The on-prem management cluster: namespaces, secrets, HyperShift objects, MachineConfigs.
    Cluster,
    /// The hosted cluster itself, reached through the kubeconfig its HostedCluster reports:
    /// add-ons installed through Operator Lifecycle Manager and their operands.
    Hosted,
}

impl ProviderId {
    /// Returns the address prefix, `aws`, `cluster` or `hosted`.
    pub fn as_str(self) -> &'static str {
        match self {
            ProviderId::Aws => "aws",
            ProviderId::Cluster => "cluster",
            ProviderId::Hosted => "hosted",
        }
    }
}

impl fmt::Display for ProviderId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A resource's stable name: provider, kind and name, written `provider.kind.name`.
///
/// It is the graph key, the map key in state and plans, the log field and the CLI argument.
/// Ordering is by provider, then kind, then name.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Address {
    provider: ProviderId,
    kind: String,
    name: String,
}

/// A string that is not a valid address.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("invalid resource address `{input}`: {problem}")]
pub struct AddressError {
    input: String,
    problem: &'static str,
}

impl Address {
    /// Builds an address; `kind` is snake_case and `name` a DNS-1123-like label.
    ///
    /// # Errors
    /// Returns an error when the kind or name is empty or contains a `.` or whitespace.
    pub fn new(provider: ProviderId, kind: &str, name: &str) -> Result<Address, AddressError> {
        let input = format!("{provider}.{kind}.{name}");
        let invalid = |part: &str| part.is_empty() || part.contains(['.', ' ', '\t', '\n']);
        if invalid(kind) {
            return Err(AddressError { input, problem: "the kind must be non-empty and contain no `.` or spaces" });
        }
        if invalid(name) {
            return Err(AddressError { input, problem: "the name must be non-empty and contain no `.` or spaces" });
        }
        Ok(Address { provider, kind: kind.to_owned(), name: name.to_owned() })
    }

    /// Builds an address for the AWS provider.
    ///
    /// # Panics
    /// Panics on an invalid kind or name; use it only with names already validated.
    pub fn aws(kind: &str, name: &str) -> Address {
        Address::new(ProviderId::Aws, kind, name).expect("catalogue builds AWS addresses from validated names")
    }

    /// Builds an address for the management-cluster provider.
    ///
    /// # Panics
    /// Panics on an invalid kind or name; use it only with names already validated.
    pub fn cluster(kind: &str, name: &str) -> Address {
        Address::new(ProviderId::Cluster, kind, name).expect("catalogue builds cluster addresses from validated names")
    }

    /// Builds an address for the hosted-cluster provider.
    ///
    /// # Panics
    /// Panics on an invalid kind or name; use it only with names already validated.
    pub fn hosted(kind: &str, name: &str) -> Address {
        Address::new(ProviderId::Hosted, kind, name).expect("catalogue builds hosted addresses from validated names")
    }

    /// Returns the provider that owns the resource.
    pub fn provider(&self) -> ProviderId {
        self.provider
    }

    /// Returns the resource kind, e.g. `subnet` or `node_pool`.
    pub fn kind(&self) -> &str {
        &self.kind
    }

    /// Returns the resource's name within its kind, e.g. `private-ap-southeast-2a`.
    pub fn name(&self) -> &str {
        &self.name
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.provider, self.kind, self.name)
    }
}

impl FromStr for Address {
    type Err = AddressError;

    fn from_str(input: &str) -> Result<Address, AddressError> {
        let error = |problem| AddressError { input: input.to_owned(), problem };
        let mut parts = input.splitn(3, '.');
        let provider = match parts.next() {
            Some("aws") => ProviderId::Aws,
            Some("cluster") => ProviderId::Cluster,
            Some("hosted") => ProviderId::Hosted,
            _ => return Err(error("it must start with `aws.`, `cluster.` or `hosted.`")),
        };
        let (Some(kind), Some(name)) = (parts.next(), parts.next()) else {
            return Err(error("it must have the form `provider.kind.name`"));
        };
        Address::new(provider, kind, name)
    }
}

impl Serialize for Address {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Address {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Address, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn address_round_trips_through_text() {
        let address = Address::aws("subnet", "private-ap-southeast-2a");
        assert_eq!(address.to_string(), "aws.subnet.private-ap-southeast-2a");
        assert_eq!("aws.subnet.private-ap-southeast-2a".parse::<Address>(), Ok(address));
    }

    #[test]
    fn address_rejects_unknown_provider() {
        let error = "gcp.vpc.main".parse::<Address>().unwrap_err();
        assert!(error.to_string().contains("`aws.`, `cluster.` or `hosted.`"), "{error}");
    }

    #[test]
    fn address_rejects_missing_name() {
        assert!("aws.vpc".parse::<Address>().is_err());
        assert!("aws.vpc.".parse::<Address>().is_err());
    }

    #[test]
    fn addresses_sort_by_provider_kind_name() {
        let mut addresses = [
            Address::cluster("namespace", "hcp-ai"),
            Address::aws("vpc", "main"),
            Address::aws("subnet", "public-a"),
            Address::aws("subnet", "private-a"),
        ];
        addresses.sort();
        let text: Vec<String> = addresses.iter().map(ToString::to_string).collect();
        assert_eq!(text, ["aws.subnet.private-a", "aws.subnet.public-a", "aws.vpc.main", "cluster.namespace.hcp-ai"]);
    }
}
