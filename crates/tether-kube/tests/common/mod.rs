//! Desired resources for the provider tests: the objects the catalogue lowers a hybrid HCP to.

#![allow(dead_code)]

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use tether_model::{Address, Attributes, Sensitive, Value};

/// The environment the tests apply to.
pub const ENVIRONMENT: &str = "ai-dev";
/// The HostedCluster's namespace.
pub const NAMESPACE: &str = "hcp-ai";
/// The pull secret's plaintext, a `.dockerconfigjson` document.
pub const PULL_SECRET: &str =
    r#"{"auths":{"quay.io":{"auth":"dGV0aGVyLXRlc3Q6c2VrcmV0LXB1bGwtdG9rZW4=","email":"ops@example.com"}}}"#;

/// Encodes the pull secret as the Secret's `data` carries it: standard padded base64.
pub fn pull_secret_base64() -> String {
    STANDARD.encode(PULL_SECRET)
}

/// A desired resource: its address and the whole Kubernetes object as attributes.
#[derive(Debug, Clone)]
pub struct Desired {
    pub address: Address,
    pub attributes: Attributes,
}

fn metadata(address: &Address, environment: &str, name: &str, namespace: Option<&str>) -> Value {
    let mut entries = vec![
        ("name", Value::from(name)),
        (
            "labels",
            Value::map([
                ("app.kubernetes.io/managed-by", Value::from("tether")),
                ("tether.dev/environment", Value::from(environment)),
            ]),
        ),
        ("annotations", Value::map([("tether.dev/address", Value::from(address.to_string()))])),
    ];
    if let Some(namespace) = namespace {
        entries.push(("namespace", Value::from(namespace)));
    }
    Value::map(entries)
}

fn object(address: Address, api_version: &str, kind: &str, metadata: Value, body: Vec<(&str, Value)>) -> Desired {
    let mut attributes = Attributes::from([
        ("apiVersion".to_owned(), Value::from(api_version)),
        ("kind".to_owned(), Value::from(kind)),
        ("metadata".to_owned(), metadata),
    ]);
    for (key, value) in body {
        attributes.insert(key.to_owned(), value);
    }
    Desired { address, attributes }
}

fn json(value: serde_json::Value) -> Value {
    Value::from_json(&value)
}

/// `cluster.namespace.hcp-ai`.
pub fn namespace(environment: &str) -> Desired {
    let address = Address::cluster("namespace", NAMESPACE);
    let metadata = metadata(&address, environment, NAMESPACE, None);
    object(address, "v1", "Namespace", metadata, vec![])
}

/// `cluster.secret.pull-secret`, a `kubernetes.io/dockerconfigjson` Secret.
pub fn pull_secret(environment: &str) -> Desired {
    let address = Address::cluster("secret", "pull-secret");
    let metadata = metadata(&address, environment, "ai-pull-secret", Some(NAMESPACE));
    let data = Value::map([(".dockerconfigjson", Value::Sensitive(Sensitive::new(&pull_secret_base64())))]);
    object(
        address,
        "v1",
        "Secret",
        metadata,
        vec![("type", Value::from("kubernetes.io/dockerconfigjson")), ("data", data)],
    )
}

/// `cluster.hosted_cluster.ai`, with the AWS platform fields `hcp create cluster aws` sets.
pub fn hosted_cluster(environment: &str) -> Desired {
    let address = Address::cluster("hosted_cluster", "ai");
    let metadata = metadata(&address, environment, "ai", Some(NAMESPACE));
    let spec = json(serde_json::json!({
        "release": {"image": "quay.io/openshift-release-dev/ocp-release:4.18.10-x86_64"},
        "pullSecret": {"name": "ai-pull-secret"},
        "infraID": "ai-x7k2p",
        "issuerURL": "https://ai-x7k2p-oidc.s3.ap-southeast-2.amazonaws.com/ai-x7k2p",
        "dns": {"baseDomain": "hcp.example.com"},
        "networking": {
            "networkType": "OVNKubernetes",
            "clusterNetwork": [{"cidr": "10.132.0.0/14"}],
            "serviceNetwork": [{"cidr": "172.31.0.0/16"}],
            "machineNetwork": [{"cidr": "10.1.0.0/16"}]
        },
        "etcd": {
            "managementType": "Managed",
            "managed": {"storage": {"type": "PersistentVolume", "persistentVolume": {"size": "8Gi", "storageClassName": "lvms-vg1"}}}
        },
        "platform": {
            "type": "AWS",
            "aws": {
                "region": "ap-southeast-2",
                "endpointAccess": "Public",
                "cloudProviderConfig": {"vpc": "vpc-0a1b2c3d", "zone": "ap-southeast-2a", "subnet": {"id": "subnet-0a1b2c3d"}},
                "resourceTags": [{"key": "tether.dev/environment", "value": environment}]
            }
        },
        "services": [
            {"service": "APIServer", "servicePublishingStrategy": {"type": "LoadBalancer"}},
            {"service": "OAuthServer", "servicePublishingStrategy": {"type": "Route"}},
            {"service": "Konnectivity", "servicePublishingStrategy": {"type": "Route"}},
            {"service": "Ignition", "servicePublishingStrategy": {"type": "Route"}}
        ],
        "controllerAvailabilityPolicy": "SingleReplica"
    }));
    object(address, "hypershift.openshift.io/v1beta1", "HostedCluster", metadata, vec![("spec", spec)])
}

/// `cluster.node_pool.<name>`, an autoscaled pool of `instance_type` with at most `max` nodes.
pub fn node_pool(environment: &str, name: &str, instance_type: &str, max: i64) -> Desired {
    let address = Address::cluster("node_pool", name);
    let metadata = metadata(&address, environment, &format!("ai-{name}"), Some(NAMESPACE));
    let spec = json(serde_json::json!({
        "clusterName": "ai",
        "release": {"image": "quay.io/openshift-release-dev/ocp-release:4.18.10-x86_64"},
        "autoScaling": {"min": 0, "max": max},
        "management": {"upgradeType": "Replace"},
        "arch": "amd64",
        "platform": {
            "type": "AWS",
            "aws": {
                "instanceType": instance_type,
                "instanceProfile": "ai-x7k2p-worker",
                "subnet": {"id": "subnet-0a1b2c3d"},
                "rootVolume": {"size": 120, "type": "gp3"}
            }
        }
    }));
    object(address, "hypershift.openshift.io/v1beta1", "NodePool", metadata, vec![("spec", spec)])
}

/// `cluster.machine_config.onprem-routes`, a cluster-scoped MachineConfig for the master pool
/// that drops a NetworkManager dispatcher script (mode 0755, written as 493).
pub fn machine_config(environment: &str) -> Desired {
    let address = Address::cluster("machine_config", "onprem-routes");
    let mut metadata = metadata(&address, environment, "99-master-onprem-routes", None);
    if let Value::Map(entries) = &mut metadata
        && let Some(Value::Map(labels)) = entries.get_mut("labels")
    {
        labels.insert("machineconfiguration.openshift.io/role".to_owned(), Value::from("master"));
    }
    let script = STANDARD.encode("#!/bin/sh\nip route replace 10.1.0.0/16 via 192.168.10.5 dev br-ex\n");
    let spec = json(serde_json::json!({
        "config": {
            "ignition": {"version": "3.2.0"},
            "storage": {"files": [{
                "path": "/etc/NetworkManager/dispatcher.d/30-onprem-routes",
                "mode": 493,
                "overwrite": true,
                "contents": {"source": format!("data:text/plain;charset=utf-8;base64,{script}")}
            }]}
        }
    }));
    object(address, "machineconfiguration.openshift.io/v1", "MachineConfig", metadata, vec![("spec", spec)])
}

/// Builds every desired resource of the hybrid HCP, in apply order.
pub fn all(environment: &str) -> Vec<Desired> {
    vec![
        namespace(environment),
        pull_secret(environment),
        hosted_cluster(environment),
        node_pool(environment, "gpu", "g6.xlarge", 2),
        node_pool(environment, "general", "m6i.xlarge", 4),
        machine_config(environment),
    ]
}

/// A test API server, a kubeconfig file for it, and a provider connected through that file.
pub struct Harness {
    pub server: tether_testkit::kube::KubeTestServer,
    pub provider: tether_kube::TetherKube,
    pub kubeconfig: std::path::PathBuf,
    _directory: tempfile::TempDir,
}

impl Harness {
    /// Starts a server that serves the standard types, HyperShift's and MachineConfig included.
    pub async fn start() -> Harness {
        Harness::with_server(tether_testkit::kube::KubeTestServer::start().await.expect("the test API server starts"))
            .await
    }

    /// Connects a provider to an already started server through a kubeconfig file.
    pub async fn with_server(server: tether_testkit::kube::KubeTestServer) -> Harness {
        Harness::with_timeouts(server, tether_kube::ClientTimeouts::default()).await
    }

    /// As [`Harness::with_server`], with the given client timeouts.
    pub async fn with_timeouts(
        server: tether_testkit::kube::KubeTestServer,
        timeouts: tether_kube::ClientTimeouts,
    ) -> Harness {
        let directory = tempfile::tempdir().expect("a temporary directory");
        let kubeconfig = directory.path().join("kubeconfig");
        server.write_kubeconfig(&kubeconfig).expect("the kubeconfig is written");
        let options = tether_kube::KubeOptions { kubeconfig: Some(kubeconfig.clone()), context: None };
        let provider =
            tether_kube::TetherKube::connect_with_timeouts(&options, timeouts).await.expect("the provider connects");
        Harness { server, provider, kubeconfig, _directory: directory }
    }

    /// Creates one resource through the provider.
    pub async fn create(
        &self,
        environment: &str,
        desired: &Desired,
    ) -> Result<tether_engine::Applied, tether_engine::ProviderError> {
        use tether_engine::Provider as _;
        let request = tether_engine::ApplyRequest {
            environment,
            address: &desired.address,
            id: None,
            attributes: &desired.attributes,
            before: None,
        };
        self.provider.create(&request).await
    }

    /// Updates one resource through the provider.
    pub async fn update(
        &self,
        environment: &str,
        id: &str,
        desired: &Desired,
    ) -> Result<tether_engine::Applied, tether_engine::ProviderError> {
        use tether_engine::Provider as _;
        let request = tether_engine::ApplyRequest {
            environment,
            address: &desired.address,
            id: Some(id),
            attributes: &desired.attributes,
            before: None,
        };
        self.provider.update(&request).await
    }

    /// Deletes one resource through the provider.
    pub async fn delete(
        &self,
        environment: &str,
        id: &str,
        desired: &Desired,
    ) -> Result<(), tether_engine::ProviderError> {
        use tether_engine::Provider as _;
        let request = tether_engine::DeleteRequest {
            environment,
            address: &desired.address,
            id,
            attributes: &desired.attributes,
        };
        self.provider.delete(&request).await
    }

    /// Creates every resource in order and panics on the first failure.
    pub async fn create_all(&self, environment: &str, resources: &[Desired]) {
        for desired in resources {
            if let Err(error) = self.create(environment, desired).await {
                panic!("create of {} failed: {}", desired.address, error_chain(&error));
            }
        }
    }

    /// Observes with the given resources as desired and an empty state.
    pub async fn observe(
        &self,
        environment: &str,
        desired: &[Desired],
    ) -> Result<Vec<tether_model::ObservedResource>, tether_engine::ProviderError> {
        use tether_engine::Provider as _;
        let resources: Vec<tether_model::Resource> =
            desired.iter().map(|d| tether_model::Resource::new(d.address.clone(), d.attributes.clone())).collect();
        let state = tether_model::State::empty(environment);
        let scope = tether_engine::ObserveScope { environment, desired: &resources, state: &state };
        self.provider.observe(&scope).await
    }
}

/// Joins every message in an error's source chain with `: `.
pub fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut messages = vec![error.to_string()];
    let mut source = error.source();
    while let Some(cause) = source {
        messages.push(cause.to_string());
        source = cause.source();
    }
    messages.join(": ")
}
