//! `tether drift --emit-cronjob`: the manifests that run the drift check on the management cluster
//! itself, reading the state from the `kubernetes` state backend.

use anyhow::bail;
use serde_json::{Value, json};
use tether_config::{Checked, StateBackend};

/// The container folder that contains the environment file, its pull secret and the kubeconfig.
const CONFIG_DIR: &str = "/etc/tether";

/// The service account's token and CA, mounted by Kubernetes into every pod that uses one.
const SERVICE_ACCOUNT_DIR: &str = "/var/run/secrets/kubernetes.io/serviceaccount";

/// Settings of the emitted CronJob that the environment file does not contain.
#[derive(Debug, Clone)]
pub struct CronJobOptions {
    /// The container image with the `tether` binary.
    pub image: String,
    /// The cron schedule, e.g. `*/15 * * * *`.
    pub schedule: String,
    /// The Secret in the cluster's namespace whose keys become the container's environment, e.g.
    /// `AWS_ACCESS_KEY_ID` and `AWS_SECRET_ACCESS_KEY`.
    pub aws_credentials_secret: String,
}

/// Builds the ServiceAccount, RBAC, ConfigMap and CronJob, in apply order, as a YAML stream.
///
/// # Errors
/// Fails when the state does not live on the management cluster, or the file depends on files that
/// the ConfigMap cannot carry (`extends`, an STS credentials file).
pub fn manifests(checked: &Checked, source: &str, options: &CronJobOptions) -> anyhow::Result<String> {
    let environment = &checked.environment;
    let backend = environment.state.as_ref().map(|state| state.backend).unwrap_or_default();
    if backend != StateBackend::Kubernetes {
        bail!(
            "the CronJob reads the state from the management cluster, but `{}` keeps it in a local file; set `[state] backend = \"kubernetes\"` and apply once",
            environment.name
        );
    }
    if environment.extends.is_some() {
        bail!("the CronJob carries one environment file, but this one uses `extends`; inline the base file's values");
    }
    let pull_secret = std::path::Path::new(&environment.cluster.pull_secret_file);
    if pull_secret.is_absolute() || pull_secret.components().any(|part| part == std::path::Component::ParentDir) {
        bail!(
            "the CronJob mounts the pull secret beside the environment file, but `cluster.pull_secret_file` is `{}`; use a path inside the file's folder",
            environment.cluster.pull_secret_file
        );
    }
    if environment.aws.sts_credentials_file.is_some() {
        bail!("the CronJob cannot carry `aws.sts_credentials_file`; remove it and use `--aws-credentials-secret`");
    }

    let name = format!("tether-drift-{}", environment.name);
    let namespace = environment.cluster.namespace.as_str();
    let documents = [
        json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": metadata(&name, Some(namespace))}),
        cluster_role(&name),
        binding("ClusterRoleBinding", "ClusterRole", &name, None, (&name, namespace)),
        state_role(&name, namespace),
        binding("RoleBinding", "Role", &format!("{name}-state"), Some(namespace), (&name, namespace)),
        config_map(&name, namespace, source),
        cron_job(&name, namespace, checked, options),
    ];

    let mut stream = String::new();
    for document in documents {
        stream.push_str("---\n");
        stream.push_str(&serde_yaml::to_string(&document)?);
    }
    Ok(stream)
}

fn metadata(name: &str, namespace: Option<&str>) -> Value {
    let mut metadata = json!({"name": name, "labels": {"app.kubernetes.io/name": "tether-drift"}});
    if let Some(namespace) = namespace {
        metadata["namespace"] = json!(namespace);
    }
    metadata
}

/// Read access to what observation lists: it lists each kind across all namespaces with a label
/// selector, so the rules are cluster-wide.
fn cluster_role(name: &str) -> Value {
    json!({
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRole",
        "metadata": metadata(name, None),
        "rules": [
            {"apiGroups": [""], "resources": ["namespaces", "secrets"], "verbs": ["get", "list"]},
            {"apiGroups": ["hypershift.openshift.io"], "resources": ["hostedclusters", "nodepools"], "verbs": ["get", "list"]},
            {"apiGroups": ["machineconfiguration.openshift.io"], "resources": ["machineconfigs"], "verbs": ["get", "list"]},
        ],
    })
}

/// Read access to the state Secrets of the `kubernetes` backend in the cluster's namespace.
fn state_role(name: &str, namespace: &str) -> Value {
    json!({
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "Role",
        "metadata": metadata(&format!("{name}-state"), Some(namespace)),
        "rules": [{"apiGroups": [""], "resources": ["secrets"], "verbs": ["get", "list"]}],
    })
}

/// Binds `role` to the service account `(name, namespace)`.
fn binding(kind: &str, role_kind: &str, role: &str, namespace: Option<&str>, account: (&str, &str)) -> Value {
    let (account, account_namespace) = account;
    json!({
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": kind,
        "metadata": metadata(role, namespace),
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": role_kind, "name": role},
        "subjects": [{"kind": "ServiceAccount", "name": account, "namespace": account_namespace}],
    })
}

/// Builds the ConfigMap with the environment file and a kubeconfig that reaches the API server with
/// the pod's service account token.
fn config_map(name: &str, namespace: &str, source: &str) -> Value {
    let kubeconfig = format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: in-cluster\n  cluster:\n    server: https://kubernetes.default.svc\n    certificate-authority: {SERVICE_ACCOUNT_DIR}/ca.crt\nusers:\n- name: service-account\n  user:\n    tokenFile: {SERVICE_ACCOUNT_DIR}/token\ncontexts:\n- name: in-cluster\n  context:\n    cluster: in-cluster\n    user: service-account\ncurrent-context: in-cluster\n"
    );
    json!({
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": metadata(name, Some(namespace)),
        "data": {"environment.toml": source, "kubeconfig": kubeconfig},
    })
}

/// Builds the CronJob. It runs one check at a time, and projects the file and the pull secret that
/// tether applied into one folder, so the file's relative `pull_secret_file` resolves.
fn cron_job(name: &str, namespace: &str, checked: &Checked, options: &CronJobOptions) -> Value {
    let cluster = &checked.environment.cluster;
    let container = json!({
        "name": "drift",
        "image": options.image,
        "args": ["drift", format!("{CONFIG_DIR}/environment.toml"), "--format", "json"],
        "env": [{"name": "KUBECONFIG", "value": format!("{CONFIG_DIR}/kubeconfig")}],
        "envFrom": [{"secretRef": {"name": options.aws_credentials_secret}}],
        "volumeMounts": [{"name": "config", "mountPath": CONFIG_DIR, "readOnly": true}],
    });
    let volume = json!({
        "name": "config",
        "projected": {"sources": [
            {"configMap": {"name": name}},
            {"secret": {
                "name": format!("{}-pull-secret", cluster.name),
                "items": [{"key": ".dockerconfigjson", "path": cluster.pull_secret_file}],
            }},
        ]},
    });
    json!({
        "apiVersion": "batch/v1",
        "kind": "CronJob",
        "metadata": metadata(name, Some(namespace)),
        "spec": {
            "schedule": options.schedule,
            "concurrencyPolicy": "Forbid",
            "jobTemplate": {"spec": {"backoffLimit": 0, "template": {"spec": {
                "serviceAccountName": name,
                "restartPolicy": "Never",
                "containers": [container],
                "volumes": [volume],
            }}}},
        },
    })
}
