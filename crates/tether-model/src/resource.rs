//! Desired and observed resources.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::{Address, Value};

/// A resource's attributes by name, sorted.
pub type Attributes = BTreeMap<String, Value>;

/// A resource the environment file asks for, as lowered by the catalogue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Resource {
    /// The resource's address.
    pub address: Address,
    /// Desired attributes; references to other resources stay unresolved here.
    pub attributes: Attributes,
    /// Resources that must exist before this one: every referenced resource plus any
    /// ordering the catalogue adds (e.g. a Secret before the HostedCluster that names it).
    pub depends_on: BTreeSet<Address>,
}

impl Resource {
    /// Builds a resource whose dependencies are the resources its attributes reference.
    pub fn new(address: Address, attributes: Attributes) -> Resource {
        let mut depends_on = BTreeSet::new();
        for value in attributes.values() {
            value.for_each_reference(&mut |reference| {
                depends_on.insert(reference.address.clone());
            });
        }
        depends_on.remove(&address);
        Resource { address, attributes, depends_on }
    }

    /// Adds an ordering dependency that no attribute expresses.
    pub fn depending_on(mut self, address: &Address) -> Resource {
        if *address != self.address {
            self.depends_on.insert(address.clone());
        }
        self
    }
}

/// A resource as a provider reports it now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObservedResource {
    /// The address, read from tether's ownership marks (tags or labels).
    pub address: Address,
    /// The provider's identifier: an AWS id such as `vpc-0a1b…`, or `namespace/name` in Kubernetes.
    pub id: String,
    /// Observed attributes, normalised by the provider to the shape the catalogue lowers to.
    pub attributes: Attributes,
}
