//! The desired graph: every resource the environment requests, with dependency edges.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use petgraph::algo::toposort;
use petgraph::graph::{DiGraph, NodeIndex};
use tether_config::Checked;
use tether_model::{Address, Resource};

use crate::marks::Owner;
use crate::{addons, aws, cluster};

/// The lowered environment: resources by address and their dependency graph.
#[derive(Debug, Clone)]
pub struct DesiredGraph {
    resources: BTreeMap<Address, Resource>,
    graph: DiGraph<Address, ()>,
    order: Vec<Address>,
}

/// A desired graph that cannot be built.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum GraphError {
    /// Two resources lowered to the same address.
    #[error("two resources have the address `{0}`")]
    DuplicateAddress(Address),
    /// A resource depends on an address that is not in the graph.
    #[error("`{from}` depends on `{to}`, which the environment does not define")]
    DanglingDependency {
        /// The dependent resource.
        from: Address,
        /// The missing dependency.
        to: Address,
    },
    /// The dependencies form a cycle.
    #[error("the dependencies of `{0}` form a cycle")]
    Cycle(Address),
}

/// Lowers a validated environment into its desired graph.
///
/// # Errors
/// Fails on a duplicate address, a dependency on a missing resource, or a cycle. Each is a
/// catalogue bug rather than a problem in the file, because validation ran first.
pub fn lower(checked: &Checked) -> Result<DesiredGraph, GraphError> {
    let owner = Owner {
        environment: checked.environment.name.clone(),
        infra_id: checked.environment.cluster.infra_id.clone(),
        cluster_name: checked.environment.cluster.name.clone(),
    };
    let network = aws::lower(checked, &owner);
    let resources = cluster::lower(checked, &owner, &network);
    let addons = addons::lower(checked, &owner);
    DesiredGraph::new(network.resources.into_iter().chain(resources).chain(addons))
}

impl DesiredGraph {
    /// Builds the graph from resources.
    ///
    /// # Errors
    /// Fails on a duplicate address, a dangling dependency or a cycle.
    pub fn new(resources: impl IntoIterator<Item = Resource>) -> Result<DesiredGraph, GraphError> {
        let mut by_address = BTreeMap::new();
        for resource in resources {
            let address = resource.address.clone();
            if by_address.insert(address.clone(), resource).is_some() {
                return Err(GraphError::DuplicateAddress(address));
            }
        }

        let mut graph = DiGraph::new();
        let nodes: BTreeMap<Address, NodeIndex> =
            by_address.keys().map(|address| (address.clone(), graph.add_node(address.clone()))).collect();
        for resource in by_address.values() {
            for dependency in &resource.depends_on {
                let Some(&to) = nodes.get(dependency) else {
                    return Err(GraphError::DanglingDependency {
                        from: resource.address.clone(),
                        to: dependency.clone(),
                    });
                };
                // Edges point from a dependency to its dependent, the order of creation.
                graph.add_edge(to, nodes[&resource.address], ());
            }
        }

        let order = toposort(&graph, None)
            .map_err(|cycle| GraphError::Cycle(graph[cycle.node_id()].clone()))?
            .into_iter()
            .map(|node| graph[node].clone())
            .collect();
        Ok(DesiredGraph { resources: by_address, graph, order })
    }

    /// Resources sorted by address.
    pub fn resources(&self) -> impl Iterator<Item = &Resource> {
        self.resources.values()
    }

    /// One resource.
    pub fn get(&self, address: &Address) -> Option<&Resource> {
        self.resources.get(address)
    }

    /// Addresses in creation order: every resource after all it depends on.
    pub fn creation_order(&self) -> &[Address] {
        &self.order
    }

    /// Number of resources.
    pub fn len(&self) -> usize {
        self.resources.len()
    }

    /// True when the environment lowers to nothing.
    pub fn is_empty(&self) -> bool {
        self.resources.is_empty()
    }

    /// Renders the graph in Graphviz DOT, with sorted edges from each resource to its dependencies.
    pub fn to_dot(&self) -> String {
        let mut dot = String::from("digraph tether {\n  rankdir = \"RL\";\n  node [shape = box];\n");
        for address in self.resources.keys() {
            let _ = writeln!(dot, "  \"{address}\";");
        }
        for resource in self.resources.values() {
            for dependency in &resource.depends_on {
                let _ = writeln!(dot, "  \"{}\" -> \"{dependency}\";", resource.address);
            }
        }
        dot.push_str("}\n");
        dot
    }

    /// Number of dependency edges.
    pub fn edge_count(&self) -> usize {
        self.graph.edge_count()
    }
}
