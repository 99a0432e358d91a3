//! The resource types the server serves, and the builder that extends the table.

/// One served resource type: where it lives in the API and which write rules apply to it.
///
/// Build one with [`ResourceType::namespaced`] or [`ResourceType::cluster_scoped`]; both start
/// with custom-resource rules (generation tracked, `resourceVersion` required on PUT).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ResourceType {
    /// API group, empty for the core group.
    pub group: String,
    /// API version within the group, e.g. `v1beta1`.
    pub version: String,
    /// Kind, e.g. `HostedCluster`.
    pub kind: String,
    /// Plural resource name used in paths, e.g. `hostedclusters`.
    pub plural: String,
    /// Whether objects live in a namespace.
    pub namespaced: bool,
    /// Short names that discovery reports, e.g. `hc`.
    pub short_names: Vec<String>,
    /// Whether the type has a `status` subresource: main writes then keep the stored status,
    /// and `/status` writes change nothing else.
    pub status_subresource: bool,
    /// Whether `metadata.generation` is set and bumped on changes outside metadata and status.
    pub tracks_generation: bool,
    /// Whether a PUT without `metadata.resourceVersion` is accepted (true for most built-in types).
    pub allows_unconditional_update: bool,
    /// Whether a PUT of a missing object creates it (true for Lease).
    pub allows_create_on_update: bool,
}

impl ResourceType {
    /// Describes a namespaced type with custom-resource rules.
    /// `api_version` is `group/version`, or just `version` for the core group.
    pub fn namespaced(api_version: &str, kind: &str, plural: &str) -> ResourceType {
        let (group, version) = split_api_version(api_version);
        ResourceType {
            group: group.to_string(),
            version: version.to_string(),
            kind: kind.to_string(),
            plural: plural.to_string(),
            namespaced: true,
            short_names: Vec::new(),
            status_subresource: false,
            tracks_generation: true,
            allows_unconditional_update: false,
            allows_create_on_update: false,
        }
    }

    /// Describes a cluster-scoped type with custom-resource rules.
    pub fn cluster_scoped(api_version: &str, kind: &str, plural: &str) -> ResourceType {
        ResourceType { namespaced: false, ..ResourceType::namespaced(api_version, kind, plural) }
    }

    /// Sets the short names that discovery reports.
    pub fn with_short_names(mut self, names: &[&str]) -> ResourceType {
        self.short_names = names.iter().map(|name| name.to_string()).collect();
        self
    }

    /// Adds the `status` subresource.
    pub fn with_status(mut self) -> ResourceType {
        self.status_subresource = true;
        self
    }

    /// Switches to the rules of built-in types without a generation (Secret, ConfigMap, ...):
    /// no `metadata.generation`, and PUT without `resourceVersion` allowed.
    pub fn builtin(mut self) -> ResourceType {
        self.tracks_generation = false;
        self.allows_unconditional_update = true;
        self
    }

    /// Sets whether `metadata.generation` is tracked.
    pub fn with_generation(mut self, tracks_generation: bool) -> ResourceType {
        self.tracks_generation = tracks_generation;
        self
    }

    /// Sets whether PUT without `resourceVersion` is accepted.
    pub fn with_unconditional_update(mut self, allowed: bool) -> ResourceType {
        self.allows_unconditional_update = allowed;
        self
    }

    /// Lets a PUT of a missing object create it.
    pub fn with_create_on_update(mut self) -> ResourceType {
        self.allows_create_on_update = true;
        self
    }

    /// Returns `group/version`, or `version` for the core group.
    pub fn api_version(&self) -> String {
        if self.group.is_empty() { self.version.clone() } else { format!("{}/{}", self.group, self.version) }
    }

    /// Returns the group-qualified resource name used in messages, e.g. `hostedclusters.hypershift.openshift.io`.
    pub fn qualified_plural(&self) -> String {
        qualify(&self.plural, &self.group)
    }

    /// Returns the group-qualified kind used in Invalid messages, e.g. `HostedCluster.hypershift.openshift.io`.
    pub fn qualified_kind(&self) -> String {
        qualify(&self.kind, &self.group)
    }

    /// Returns the kind of a list of this type, e.g. `SecretList`.
    pub fn list_kind(&self) -> String {
        format!("{}List", self.kind)
    }

    /// Returns the singular name that discovery reports: the lowercased kind.
    pub fn singular(&self) -> String {
        self.kind.to_lowercase()
    }

    fn is_namespace(&self) -> bool {
        self.group.is_empty() && self.kind == "Namespace"
    }
}

fn qualify(name: &str, group: &str) -> String {
    if group.is_empty() { name.to_string() } else { format!("{name}.{group}") }
}

/// Splits `group/version`; the core group has no slash.
pub(crate) fn split_api_version(api_version: &str) -> (&str, &str) {
    api_version.split_once('/').unwrap_or(("", api_version))
}

/// The ordered set of types the server serves. The order is the order of discovery documents.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceTable {
    types: Vec<ResourceType>,
}

impl ResourceTable {
    /// Returns an empty table. The server needs at least Namespace to create namespaced objects.
    pub fn empty() -> ResourceTable {
        ResourceTable { types: Vec::new() }
    }

    /// Returns the types tether uses: core, coordination, batch, RBAC, HyperShift,
    /// MachineConfig and OLM.
    pub fn standard() -> ResourceTable {
        let mut table = ResourceTable::empty();
        for resource in builtin_types().into_iter().chain(openshift_types()) {
            table = table.with(resource);
        }
        table
    }

    /// Adds a type, replacing one with the same group and kind.
    pub fn with(mut self, resource: ResourceType) -> ResourceTable {
        self.types.retain(|known| !(known.group == resource.group && known.kind == resource.kind));
        self.types.push(resource);
        self
    }

    /// Returns all types in table order.
    pub fn iter(&self) -> impl Iterator<Item = &ResourceType> {
        self.types.iter()
    }

    /// Finds a type by the path parts of a request.
    pub fn by_path(&self, group: &str, version: &str, plural: &str) -> Option<&ResourceType> {
        self.types.iter().find(|t| t.group == group && t.version == version && t.plural == plural)
    }

    /// Finds a type by `apiVersion` and kind.
    pub fn by_kind(&self, api_version: &str, kind: &str) -> Option<&ResourceType> {
        let (group, version) = split_api_version(api_version);
        self.types.iter().find(|t| t.group == group && t.version == version && t.kind == kind)
    }

    /// Returns the Namespace type, if served.
    pub fn namespace_type(&self) -> Option<&ResourceType> {
        self.types.iter().find(|t| t.is_namespace())
    }

    /// Returns the named groups in table order, each with its versions sorted by Kubernetes
    /// version priority, so the first is the preferred version (`v1` before `v1beta1` before `v1alpha1`).
    pub fn groups(&self) -> Vec<(String, Vec<String>)> {
        let mut groups: Vec<(String, Vec<String>)> = Vec::new();
        for resource in self.types.iter().filter(|t| !t.group.is_empty()) {
            match groups.iter_mut().find(|(group, _)| *group == resource.group) {
                Some((_, versions)) if versions.contains(&resource.version) => {}
                Some((_, versions)) => versions.push(resource.version.clone()),
                None => groups.push((resource.group.clone(), vec![resource.version.clone()])),
            }
        }
        for (_, versions) in &mut groups {
            versions.sort_by_key(|version| std::cmp::Reverse(version_priority(version)));
        }
        groups
    }
}

/// Built-in Kubernetes types: core, coordination, batch and RBAC.
fn builtin_types() -> Vec<ResourceType> {
    let core = [
        ResourceType::cluster_scoped("v1", "Namespace", "namespaces").builtin().with_status().with_short_names(&["ns"]),
        ResourceType::namespaced("v1", "Secret", "secrets").builtin(),
        ResourceType::namespaced("v1", "ConfigMap", "configmaps").builtin().with_short_names(&["cm"]),
        ResourceType::namespaced("v1", "ServiceAccount", "serviceaccounts").builtin().with_short_names(&["sa"]),
    ];
    let lease = ResourceType::namespaced("coordination.k8s.io/v1", "Lease", "leases")
        .builtin()
        .with_unconditional_update(false)
        .with_create_on_update();
    let batch = [
        ResourceType::namespaced("batch/v1", "Job", "jobs").builtin().with_generation(true).with_status(),
        ResourceType::namespaced("batch/v1", "CronJob", "cronjobs")
            .builtin()
            .with_generation(true)
            .with_status()
            .with_short_names(&["cj"]),
    ];
    let rbac = [
        ResourceType::namespaced("rbac.authorization.k8s.io/v1", "Role", "roles").builtin(),
        ResourceType::namespaced("rbac.authorization.k8s.io/v1", "RoleBinding", "rolebindings").builtin(),
        ResourceType::cluster_scoped("rbac.authorization.k8s.io/v1", "ClusterRole", "clusterroles").builtin(),
        ResourceType::cluster_scoped("rbac.authorization.k8s.io/v1", "ClusterRoleBinding", "clusterrolebindings")
            .builtin(),
    ];
    core.into_iter().chain([lease]).chain(batch).chain(rbac).collect()
}

/// OpenShift custom resources: HyperShift, MachineConfig and OLM.
fn openshift_types() -> Vec<ResourceType> {
    [
        ResourceType::namespaced("hypershift.openshift.io/v1beta1", "HostedCluster", "hostedclusters")
            .with_status()
            .with_short_names(&["hc", "hcs"]),
        ResourceType::namespaced("hypershift.openshift.io/v1beta1", "NodePool", "nodepools")
            .with_status()
            .with_short_names(&["np", "nps"]),
        ResourceType::cluster_scoped("machineconfiguration.openshift.io/v1", "MachineConfig", "machineconfigs")
            .with_short_names(&["mc"]),
        ResourceType::cluster_scoped("machineconfiguration.openshift.io/v1", "MachineConfigPool", "machineconfigpools")
            .with_status()
            .with_short_names(&["mcp"]),
        ResourceType::namespaced("operators.coreos.com/v1alpha1", "Subscription", "subscriptions")
            .with_status()
            .with_short_names(&["sub", "subs"]),
        ResourceType::namespaced("operators.coreos.com/v1", "OperatorGroup", "operatorgroups")
            .with_status()
            .with_short_names(&["og"]),
        // Operands of the add-on presets, as their operators' CustomResourceDefinitions serve them.
        ResourceType::namespaced("nfd.openshift.io/v1", "NodeFeatureDiscovery", "nodefeaturediscoveries")
            .with_status(),
        ResourceType::cluster_scoped("nvidia.com/v1", "ClusterPolicy", "clusterpolicies").with_status(),
        ResourceType::cluster_scoped("datasciencecluster.opendatahub.io/v1", "DataScienceCluster", "datascienceclusters")
            .with_status()
            .with_short_names(&["dsc"]),
    ]
    .into()
}

/// Orders versions as Kubernetes does: GA above beta above alpha, then higher numbers first.
/// Versions that do not follow the `vN[alpha|beta]M` pattern rank lowest.
fn version_priority(version: &str) -> (u8, u32, u32) {
    let Some(rest) = version.strip_prefix('v') else {
        return (0, 0, 0);
    };
    let digits_end = rest.find(|c: char| !c.is_ascii_digit()).unwrap_or(rest.len());
    let Ok(major) = rest[..digits_end].parse::<u32>() else {
        return (0, 0, 0);
    };
    let suffix = &rest[digits_end..];
    let (rank, minor) = if suffix.is_empty() {
        (3, "0")
    } else if let Some(minor) = suffix.strip_prefix("beta") {
        (2, minor)
    } else if let Some(minor) = suffix.strip_prefix("alpha") {
        (1, minor)
    } else {
        return (0, 0, 0);
    };
    match minor.parse::<u32>() {
        Ok(minor) => (rank, major, minor),
        Err(_) => (0, 0, 0),
    }
}

impl Default for ResourceTable {
    fn default() -> ResourceTable {
        ResourceTable::standard()
    }
}
