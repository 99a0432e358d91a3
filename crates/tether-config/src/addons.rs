//! The `[addons]` table: operators that Operator Lifecycle Manager (OLM) installs on the hosted
//! cluster, with the operand objects that make them work, and presets for the common ones.
//!
//! `[addons.<name>]` whose name is a preset (`gpu-operator`, `node-feature-discovery`,
//! `openshift-ai`) needs only a `channel`; every other key overrides the preset. Any other name
//! needs `package`, `source` and `namespace` too. Validation and [`crate::Checked::addons`] share
//! one resolution, so what validates is exactly what is lowered.

use std::collections::BTreeMap;
use std::path::Path;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use crate::checked::Checked;
use crate::codes;
use crate::diagnostic::Diagnostic;
use crate::model::Environment;
use crate::spans::KeyPath;
use crate::syntax::names::{check_dns_label, check_dns_subdomain};
use crate::validate::Checker;

/// Largest operand file read, in bytes; an operand is one Kubernetes object.
const MAX_OPERAND_FILE_BYTES: u64 = 1024 * 1024;

/// One operator installed through OLM: its Namespace, OperatorGroup, Subscription and operands.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct Addon {
    /// OLM package name in the catalog, e.g. `gpu-operator-certified`; presets set it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub package: Option<String>,
    /// Subscription channel, e.g. `stable` or `v25.3`. Changing it upgrades the operator in place.
    pub channel: String,
    /// CatalogSource that serves the package, e.g. `redhat-operators`; presets set it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// Namespace of the CatalogSource; `openshift-marketplace` when left out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_namespace: Option<String>,
    /// Namespace the operator is installed in (DNS-1123 label); presets set it. tether creates
    /// it, and each add-on needs its own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// ClusterServiceVersion to install first, e.g. `gpu-operator-certified.v25.3.0`. Changing it
    /// is an upgrade like a channel change.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub starting_csv: Option<String>,
    /// InstallPlan approval: `Automatic` (the default) or `Manual`. tether never approves an
    /// InstallPlan, so with `Manual` someone must approve each one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approval: Option<Approval>,
    /// Whether the OperatorGroup targets every namespace (true) or only the install namespace;
    /// presets set what the operator supports, others default to false.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub all_namespaces: Option<bool>,
    /// Operand objects by key (DNS-1123 label), created once the operator's Subscription exists.
    /// A key that a preset also defines replaces the preset's operand field by field.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub operands: BTreeMap<String, Operand>,
}

/// InstallPlan approval of a Subscription.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[schemars(inline)]
pub enum Approval {
    /// OLM installs every new version in the channel.
    #[default]
    Automatic,
    /// OLM waits for each InstallPlan to be approved.
    Manual,
}

impl Approval {
    /// Returns the value of the Subscription's `spec.installPlanApproval`.
    pub fn as_str(self) -> &'static str {
        match self {
            Approval::Automatic => "Automatic",
            Approval::Manual => "Manual",
        }
    }
}

/// One operand object: given inline (`api_version`, `kind`, `name`, `spec`) or in a JSON `file`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct Operand {
    /// False drops an operand that the preset defines.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    /// `apiVersion` of the object, e.g. `nvidia.com/v1`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_version: Option<String>,
    /// `kind` of the object, e.g. `ClusterPolicy`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// `metadata.name` of the object (DNS-1123 subdomain).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// `metadata.namespace`; leave it out for a cluster-scoped kind.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// The object's `spec`, as an inline table.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spec: Option<Value>,
    /// A JSON file holding the whole object (`apiVersion`, `kind`, `metadata`, `spec`), relative to
    /// the environment file's folder, e.g. the output of `kubectl get -o json`. Not combined with
    /// the inline keys.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
}

/// An add-on with its preset applied and its operand files read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddonSpec {
    /// The add-on's key in `[addons]`.
    pub name: String,
    /// OLM package.
    pub package: String,
    /// Subscription channel.
    pub channel: String,
    /// CatalogSource name.
    pub source: String,
    /// CatalogSource namespace.
    pub source_namespace: String,
    /// Install namespace.
    pub namespace: String,
    /// Pinned starting ClusterServiceVersion.
    pub starting_csv: Option<String>,
    /// InstallPlan approval.
    pub approval: Approval,
    /// True when the OperatorGroup targets every namespace.
    pub all_namespaces: bool,
    /// Operands sorted by key.
    pub operands: Vec<OperandSpec>,
}

/// One operand object, resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OperandSpec {
    /// The operand's key in `operands`.
    pub key: String,
    /// `apiVersion`.
    pub api_version: String,
    /// `kind`.
    pub kind: String,
    /// `metadata.name`.
    pub name: String,
    /// `metadata.namespace`, absent for cluster-scoped kinds.
    pub namespace: Option<String>,
    /// Every top-level field besides `apiVersion`, `kind` and `metadata`, e.g. `spec`.
    pub fields: Map<String, Value>,
}

/// The names of the shipped presets.
pub const ADDON_PRESETS: [&str; 3] = ["gpu-operator", "node-feature-discovery", "openshift-ai"];

/// The CatalogSource namespace of OpenShift's default catalogs.
const MARKETPLACE: &str = "openshift-marketplace";

/// A preset's defaults: OLM coordinates and operands.
struct Preset {
    package: &'static str,
    source: &'static str,
    namespace: &'static str,
    all_namespaces: bool,
    operands: fn() -> Vec<(&'static str, OperandSpec)>,
}

/// Returns the preset of `name`. Package names, catalogs and namespaces are those of the Red Hat
/// and NVIDIA installation guides for OpenShift 4 (NFD `nfd` from `redhat-operators`, the GPU
/// Operator `gpu-operator-certified` from `certified-operators`, OpenShift AI `rhods-operator`).
fn preset(name: &str) -> Option<Preset> {
    match name {
        "node-feature-discovery" => Some(Preset {
            package: "nfd",
            source: "redhat-operators",
            namespace: "openshift-nfd",
            all_namespaces: false,
            operands: || {
                let spec = json!({"operand": {"servicePort": 12000}});
                vec![(
                    "instance",
                    operand("nfd.openshift.io/v1", "NodeFeatureDiscovery", "nfd-instance", Some("openshift-nfd"), spec),
                )]
            },
        }),
        "gpu-operator" => Some(Preset {
            package: "gpu-operator-certified",
            source: "certified-operators",
            namespace: "nvidia-gpu-operator",
            all_namespaces: false,
            operands: || {
                // The GPU pool is tainted `nvidia.com/gpu`, so the operator's daemon sets tolerate it.
                let spec = json!({
                    "operator": {"defaultRuntime": "crio"},
                    "driver": {"enabled": true},
                    "toolkit": {"enabled": true},
                    "devicePlugin": {"enabled": true},
                    "dcgm": {"enabled": true},
                    "dcgmExporter": {"enabled": true},
                    "gfd": {"enabled": true},
                    "daemonsets": {"tolerations": [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}]},
                });
                vec![("cluster-policy", operand("nvidia.com/v1", "ClusterPolicy", "gpu-cluster-policy", None, spec))]
            },
        }),
        "openshift-ai" => Some(Preset {
            package: "rhods-operator",
            source: "redhat-operators",
            namespace: "redhat-ods-operator",
            all_namespaces: true,
            operands: || {
                let managed = json!({"managementState": "Managed"});
                let spec = json!({"components": {
                    "dashboard": managed,
                    "workbenches": managed,
                    "datasciencepipelines": managed,
                }});
                vec![(
                    "data-science-cluster",
                    operand("datasciencecluster.opendatahub.io/v1", "DataScienceCluster", "default-dsc", None, spec),
                )]
            },
        }),
        _ => None,
    }
}

fn operand(api_version: &str, kind: &str, name: &str, namespace: Option<&str>, spec: Value) -> OperandSpec {
    OperandSpec {
        key: String::new(),
        api_version: api_version.to_owned(),
        kind: kind.to_owned(),
        name: name.to_owned(),
        namespace: namespace.map(str::to_owned),
        fields: Map::from_iter([("spec".to_owned(), spec)]),
    }
}

/// A problem found while resolving add-ons: where, what, how to fix it.
struct Problem {
    path: KeyPath,
    code: &'static str,
    message: String,
    help: String,
    warning: bool,
}

impl Problem {
    fn error(path: KeyPath, code: &'static str, message: String, help: impl Into<String>) -> Problem {
        Problem { path, code, message, help: help.into(), warning: false }
    }
}

impl Checked {
    /// Returns the add-ons with presets applied and operand files read, sorted by name.
    ///
    /// Validation has already reported every problem, so an add-on that would have one is left out
    /// here, which only happens when an operand file changed since loading.
    pub fn addons(&self) -> Vec<AddonSpec> {
        resolve(&self.environment, &self.base_dir).0
    }
}

/// Checks every add-on and reports each problem at its key.
pub(crate) fn check(checker: &mut Checker<'_>, base_dir: &Path) {
    let (_, problems) = resolve(checker.environment, base_dir);
    for problem in problems {
        let span = checker.spans.value(&problem.path).or_else(|| checker.spans.key(&problem.path));
        let diagnostic = if problem.warning {
            Diagnostic::warning(problem.code, problem.message)
        } else {
            Diagnostic::error(problem.code, problem.message)
        };
        checker.report(diagnostic.with_label(span, "here").with_help(problem.help));
    }
}

/// Resolves every add-on; those with errors are left out of the first list.
fn resolve(environment: &Environment, base_dir: &Path) -> (Vec<AddonSpec>, Vec<Problem>) {
    let mut problems = Vec::new();
    let mut resolved: Vec<AddonSpec> = Vec::new();
    for (name, addon) in &environment.addons {
        let before = problems.iter().filter(|problem: &&Problem| !problem.warning).count();
        let spec = resolve_addon(name, addon, base_dir, &mut problems);
        let errors = problems.iter().filter(|problem| !problem.warning).count();
        if let Some(spec) = spec.filter(|_| errors == before) {
            resolved.push(spec);
        }
    }

    let mut owners: BTreeMap<&str, &str> = BTreeMap::new();
    for spec in &resolved {
        if let Some(first) = owners.insert(&spec.namespace, &spec.name) {
            problems.push(Problem::error(
                KeyPath::of(&["addons", &spec.name]),
                codes::ADDON_NAMESPACE_SHARED,
                format!("add-ons `{first}` and `{}` both install into namespace `{}`", spec.name, spec.namespace),
                "give each add-on its own `namespace`, because tether deletes an add-on's namespace with it",
            ));
        }
    }
    (resolved, problems)
}

fn resolve_addon(name: &str, addon: &Addon, base_dir: &Path, problems: &mut Vec<Problem>) -> Option<AddonSpec> {
    let path = KeyPath::of(&["addons", name]);
    if let Err(reason) = check_dns_label(name) {
        problems.push(Problem::error(
            path.clone(),
            codes::INVALID_DNS_LABEL,
            format!("add-on name `{name}` {reason}"),
            "name the add-on with a DNS-1123 label, e.g. `gpu-operator`",
        ));
    }
    let preset = preset(name);
    let required = |value: &Option<String>, key: &str, from_preset: Option<&str>, problems: &mut Vec<Problem>| match (
        value,
        from_preset,
    ) {
        (Some(value), _) => Some(value.clone()),
        (None, Some(default)) => Some(default.to_owned()),
        (None, None) => {
            problems.push(Problem::error(
                path.clone(),
                codes::ADDON_INCOMPLETE,
                format!("add-on `{name}` has no `{key}`, and `{name}` is not a preset"),
                format!(
                    "add `{key} = \"…\"` to `[addons.{name}]`, or name the add-on after a preset: {}",
                    ADDON_PRESETS.join(", ")
                ),
            ));
            None
        }
    };
    let package = required(&addon.package, "package", preset.as_ref().map(|preset| preset.package), problems);
    let source = required(&addon.source, "source", preset.as_ref().map(|preset| preset.source), problems);
    let namespace = required(&addon.namespace, "namespace", preset.as_ref().map(|preset| preset.namespace), problems);
    let source_namespace = addon.source_namespace.clone().unwrap_or_else(|| MARKETPLACE.to_owned());

    check_text(&path.key("channel"), "channel", &addon.channel, problems);
    for (key, value, rule) in [
        ("package", package.as_deref(), check_dns_subdomain as fn(&str) -> Result<(), String>),
        ("source", source.as_deref(), check_dns_subdomain),
        ("namespace", namespace.as_deref(), check_dns_label),
        ("source_namespace", Some(source_namespace.as_str()), check_dns_label),
        ("starting_csv", addon.starting_csv.as_deref(), check_dns_subdomain),
    ] {
        check_name(&path.key(key), key, value, rule, problems);
    }
    if addon.approval == Some(Approval::Manual) {
        problems.push(Problem {
            path: path.key("approval"),
            code: codes::ADDON_MANUAL_APPROVAL,
            message: format!("add-on `{name}` needs each InstallPlan approved by hand"),
            help: format!(
                "approve InstallPlans in namespace `{}`; tether never approves them",
                namespace.clone().unwrap_or_default()
            ),
            warning: true,
        });
    }

    let operands = resolve_operands(name, addon, preset.as_ref(), base_dir, problems);
    Some(AddonSpec {
        name: name.to_owned(),
        package: package?,
        channel: addon.channel.clone(),
        source: source?,
        source_namespace,
        namespace: namespace?,
        starting_csv: addon.starting_csv.clone(),
        approval: addon.approval.unwrap_or_default(),
        all_namespaces: addon.all_namespaces.or(preset.as_ref().map(|preset| preset.all_namespaces)).unwrap_or(false),
        operands,
    })
}

fn check_text(path: &KeyPath, key: &str, value: &str, problems: &mut Vec<Problem>) {
    if value.trim().is_empty() || value.contains(char::is_whitespace) {
        problems.push(Problem::error(
            path.clone(),
            codes::ADDON_INVALID_VALUE,
            format!("`{key}` `{value}` is empty or contains whitespace"),
            "give the channel as the operator's catalog lists it, e.g. `stable`",
        ));
    }
}

fn check_name(
    path: &KeyPath,
    key: &str,
    value: Option<&str>,
    rule: fn(&str) -> Result<(), String>,
    problems: &mut Vec<Problem>,
) {
    let Some(value) = value else { return };
    if let Err(reason) = rule(value) {
        problems.push(Problem::error(
            path.clone(),
            codes::ADDON_INVALID_VALUE,
            format!("`{key}` `{value}` {reason}"),
            format!("give `{key}` as a Kubernetes name: lowercase letters, digits, `-` and `.`"),
        ));
    }
}

/// Merges the preset's operands with the file's, by key, and resolves each.
fn resolve_operands(
    name: &str,
    addon: &Addon,
    preset: Option<&Preset>,
    base_dir: &Path,
    problems: &mut Vec<Problem>,
) -> Vec<OperandSpec> {
    let mut merged: BTreeMap<String, (Option<OperandSpec>, Option<&Operand>)> = BTreeMap::new();
    for (key, spec) in preset.map(|preset| (preset.operands)()).unwrap_or_default() {
        merged.insert(key.to_owned(), (Some(spec), None));
    }
    for (key, written) in &addon.operands {
        merged.entry(key.clone()).or_default().1 = Some(written);
    }

    let mut operands = Vec::new();
    for (key, (from_preset, written)) in merged {
        if written.and_then(|operand| operand.enabled) == Some(false) {
            continue;
        }
        let path = KeyPath::of(&["addons", name, "operands", &key]);
        if let Err(reason) = check_dns_label(&key) {
            problems.push(Problem::error(
                path.clone(),
                codes::INVALID_DNS_LABEL,
                format!("operand key `{key}` {reason}"),
                "name the operand with a DNS-1123 label, e.g. `cluster-policy`",
            ));
        }
        let resolved = match written {
            Some(operand) if operand.file.is_some() => operand_from_file(operand, &path, base_dir, problems),
            Some(operand) => operand_inline(operand, from_preset, &path, problems),
            None => from_preset,
        };
        if let Some(mut spec) = resolved {
            spec.key = key;
            check_operand(&spec, &path, problems);
            operands.push(spec);
        }
    }
    operands
}

/// Fills an inline operand's missing keys from the preset's operand of the same key.
fn operand_inline(
    operand: &Operand,
    preset: Option<OperandSpec>,
    path: &KeyPath,
    problems: &mut Vec<Problem>,
) -> Option<OperandSpec> {
    let pick = |written: &Option<String>, default: Option<&String>, key: &str, problems: &mut Vec<Problem>| {
        let value = written.clone().or_else(|| default.cloned());
        if value.is_none() {
            problems.push(Problem::error(
                path.clone(),
                codes::ADDON_INCOMPLETE,
                format!("operand has no `{key}`"),
                "give `api_version`, `kind`, `name` and `spec`, or `file` with a JSON object",
            ));
        }
        value
    };
    let api_version =
        pick(&operand.api_version, preset.as_ref().map(|spec| &spec.api_version), "api_version", problems);
    let kind = pick(&operand.kind, preset.as_ref().map(|spec| &spec.kind), "kind", problems);
    let name = pick(&operand.name, preset.as_ref().map(|spec| &spec.name), "name", problems);
    let namespace = operand.namespace.clone().or_else(|| preset.as_ref().and_then(|spec| spec.namespace.clone()));

    let mut fields = preset.map(|spec| spec.fields).unwrap_or_default();
    match &operand.spec {
        Some(Value::Object(_)) => {
            fields.insert("spec".to_owned(), operand.spec.clone().unwrap_or_default());
        }
        Some(_) => problems.push(Problem::error(
            path.key("spec"),
            codes::ADDON_INVALID_VALUE,
            "operand `spec` is not a table".to_owned(),
            "write `spec` as a table, e.g. `spec = { driver = { enabled = true } }`",
        )),
        None => {}
    }
    Some(OperandSpec { key: String::new(), api_version: api_version?, kind: kind?, name: name?, namespace, fields })
}

/// Reads an operand object from a JSON file.
fn operand_from_file(
    operand: &Operand,
    path: &KeyPath,
    base_dir: &Path,
    problems: &mut Vec<Problem>,
) -> Option<OperandSpec> {
    let file_path = path.key("file");
    let inline =
        [&operand.api_version, &operand.kind, &operand.name, &operand.namespace].iter().any(|value| value.is_some())
            || operand.spec.is_some();
    if inline {
        problems.push(Problem::error(
            file_path.clone(),
            codes::ADDON_INVALID_VALUE,
            "operand has both `file` and inline keys".to_owned(),
            "keep either `file` or `api_version`, `kind`, `name`, `namespace` and `spec`",
        ));
        return None;
    }

    let file = operand.file.as_deref().unwrap_or_default();
    let full = base_dir.join(file);
    let mut fail = |message: String| {
        problems.push(Problem::error(
            file_path.clone(),
            codes::ADDON_OPERAND_FILE,
            message,
            "give a JSON file with one object that has `apiVersion`, `kind` and `metadata.name`",
        ));
        None
    };
    let size = std::fs::metadata(&full).map(|metadata| metadata.len());
    match size {
        Err(error) => return fail(format!("cannot read operand file `{}`: {error}", full.display())),
        Ok(size) if size > MAX_OPERAND_FILE_BYTES => {
            return fail(format!(
                "operand file `{}` is {size} bytes, more than {MAX_OPERAND_FILE_BYTES}",
                full.display()
            ));
        }
        Ok(_) => {}
    }
    let text = match std::fs::read_to_string(&full) {
        Ok(text) => text,
        Err(error) => return fail(format!("cannot read operand file `{}`: {error}", full.display())),
    };
    let Ok(Value::Object(mut object)) = serde_json::from_str::<Value>(&text) else {
        return fail(format!("operand file `{}` is not a JSON object", full.display()));
    };
    let text_at = |object: &Map<String, Value>, pointer: &str| {
        Value::Object(object.clone()).pointer(pointer).and_then(Value::as_str).map(str::to_owned)
    };
    let (Some(api_version), Some(kind), Some(name)) =
        (text_at(&object, "/apiVersion"), text_at(&object, "/kind"), text_at(&object, "/metadata/name"))
    else {
        return fail(format!("operand file `{}` lacks `apiVersion`, `kind` or `metadata.name`", full.display()));
    };

    let namespace = text_at(&object, "/metadata/namespace");
    for key in ["apiVersion", "kind", "metadata", "status"] {
        object.remove(key);
    }
    Some(OperandSpec { key: String::new(), api_version, kind, name, namespace, fields: object })
}

fn check_operand(spec: &OperandSpec, path: &KeyPath, problems: &mut Vec<Problem>) {
    check_name(&path.key("name"), "name", Some(&spec.name), check_dns_subdomain, problems);
    check_name(&path.key("namespace"), "namespace", spec.namespace.as_deref(), check_dns_label, problems);
    let group_ok =
        spec.api_version.split_once('/').is_some_and(|(group, version)| !group.is_empty() && !version.is_empty());
    if !group_ok {
        problems.push(Problem::error(
            path.key("api_version"),
            codes::ADDON_INVALID_VALUE,
            format!("operand `api_version` `{}` is not `group/version`", spec.api_version),
            "operands are custom resources of the operator, e.g. `nvidia.com/v1`",
        ));
    }
    if spec.kind.is_empty() || !spec.kind.chars().all(|c| c.is_ascii_alphanumeric()) {
        problems.push(Problem::error(
            path.key("kind"),
            codes::ADDON_INVALID_VALUE,
            format!("operand `kind` `{}` is not a Kubernetes kind", spec.kind),
            "write the kind in CamelCase, e.g. `ClusterPolicy`",
        ));
    }
}
