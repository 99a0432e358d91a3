//! The steps of `tether promote` that decide what changes: which settings to copy, the target
//! environment after copying them, the release rules, and the resource impact of the edit.

use serde_json::Value;
use tether_catalog::DesiredGraph;
use tether_config::{Difference, Environment, Promotion, ReleaseViolation, SettingEdit, SettingPath, SettingPathError};
use tether_model::{ObservedResource, Plan, State};
use tether_plan::PlanInput;

/// A promotion that cannot go ahead.
#[derive(Debug, thiserror::Error)]
pub enum PromoteError {
    /// An `--only` path that cannot be parsed.
    #[error(transparent)]
    InvalidPath(#[from] SettingPathError),
    /// An `--only` path that names no setting of the environment file.
    #[error("`--only {0}` names no setting of an environment file; `tether diff` lists the settings that differ")]
    UnknownSetting(SettingPath),
    /// An `--only` path that names a per-environment setting.
    #[error(
        "`--only {0}` names a per-environment setting: identity, network, credential and storage settings, \
         and whole pools, differ between environments by design, so `promote` never copies them. \
         Edit the target file by hand if it must change"
    )]
    PerEnvironment(SettingPath),
    /// The promotion would break a release rule.
    #[error("promotion rejected: {}", list(.0))]
    Release(Vec<ReleaseViolation>),
    /// A setting still differs after the edit, because a base file sets it and the target file leaves
    /// it out, so removing it from the target file changes nothing.
    #[error(
        "cannot promote `{0}`: the source leaves it out, and the target inherits it from a base file \
         through `extends`; `promote` edits only the target file, so remove it from the base by hand"
    )]
    Inherited(SettingPath),
    /// The target environment could not be rebuilt with the promoted values.
    #[error("cannot apply the promoted values to the target environment")]
    Rebuild(#[source] serde_json::Error),
}

fn list(violations: &[ReleaseViolation]) -> String {
    violations.iter().map(ToString::to_string).collect::<Vec<_>>().join("; ")
}

/// Parses and checks the `--only` paths: each must name a setting, and a promotable one or a table
/// that contains promotable settings.
///
/// # Errors
///
/// Fails on the first path that cannot be parsed, names no setting, or names a per-environment one.
pub fn parse_only(paths: &[String]) -> Result<Vec<SettingPath>, PromoteError> {
    let mut parsed = Vec::new();
    for text in paths {
        let path = SettingPath::parse(text)?;
        match tether_config::classify(&path) {
            None => return Err(PromoteError::UnknownSetting(path)),
            Some(Promotion::PerEnvironment) if !tether_config::has_promotable_below(&path) => {
                return Err(PromoteError::PerEnvironment(path));
            }
            Some(_) => parsed.push(path),
        }
    }
    Ok(parsed)
}

/// Splits the differences into the promotable ones selected by `only` (all when it is empty) and
/// the per-environment ones below the same paths, which are never copied.
pub fn select(differences: Vec<Difference>, only: &[SettingPath]) -> (Vec<Difference>, Vec<Difference>) {
    let selected = |difference: &Difference| {
        only.is_empty()
            || only.iter().any(|path| difference.path.starts_with(path) || path.starts_with(&difference.path))
    };
    differences.into_iter().filter(selected).partition(Difference::is_promotable)
}

/// Checks that none of `changes` still differs between the source and the edited target.
///
/// # Errors
///
/// Fails on the first setting that still differs.
pub fn verify(source: &Environment, edited: &Environment, changes: &[Difference]) -> Result<(), PromoteError> {
    let remaining = tether_config::compare(source, edited);
    for change in changes {
        if remaining.iter().any(|difference| difference.path == change.path) {
            return Err(PromoteError::Inherited(change.path.clone()));
        }
    }
    Ok(())
}

/// Returns the edits that copy the source's values of `changes` into the target file.
pub fn edits(changes: &[Difference]) -> Vec<SettingEdit> {
    changes.iter().map(|change| SettingEdit { path: change.path.clone(), value: change.from.clone() }).collect()
}

/// Returns the target environment with the source's values of `changes` copied in.
///
/// # Errors
///
/// Fails when the result is not an environment, which a promotable value cannot cause.
pub fn promoted_environment(target: &Environment, changes: &[Difference]) -> Result<Environment, PromoteError> {
    let mut json = serde_json::to_value(target).map_err(PromoteError::Rebuild)?;
    for change in changes {
        set_value(&mut json, change.path.keys(), change.from.clone());
    }
    serde_json::from_value(json).map_err(PromoteError::Rebuild)
}

fn set_value(root: &mut Value, keys: &[String], value: Option<Value>) {
    let Some((last, parents)) = keys.split_last() else {
        return;
    };
    let mut node = root;
    for key in parents {
        let Some(object) = node.as_object_mut() else {
            return;
        };
        node = object.entry(key.clone()).or_insert_with(|| Value::Object(serde_json::Map::new()));
    }
    let Some(object) = node.as_object_mut() else {
        return;
    };
    match value {
        Some(value) => object.insert(last.clone(), value),
        None => object.remove(last),
    };
}

/// Plans the change from the target file's current resources to its promoted ones, treating the
/// current desired graph as if it were observed. Nothing is contacted.
///
/// # Errors
///
/// Fails when the planner rejects the input, which two valid graphs cannot cause.
pub fn file_impact(environment: &str, current: &DesiredGraph, promoted: &DesiredGraph) -> anyhow::Result<Plan> {
    let observed: Vec<ObservedResource> = current
        .resources()
        .map(|resource| {
            let attributes = resource
                .attributes
                .iter()
                .map(|(key, value)| (key.clone(), value.resolve_references(&|reference| resolve(current, reference))))
                .collect();
            ObservedResource { address: resource.address.clone(), id: resource.address.to_string(), attributes }
        })
        .collect();
    let state = State::empty(environment);
    let input = PlanInput { environment, desired: promoted, observed: &observed, state: &state };
    Ok(tether_plan::plan(&input)?)
}

/// Resolves a reference the way the planner does for a resource that exists: an `id` is the stand-in
/// id used above, any other attribute is the referenced resource's desired value.
fn resolve(graph: &DesiredGraph, reference: &tether_model::Reference) -> Option<tether_model::Value> {
    if reference.attribute == "id" {
        return Some(tether_model::Value::String(reference.address.to_string()));
    }
    graph.get(&reference.address)?.attributes.get(&reference.attribute).cloned()
}
