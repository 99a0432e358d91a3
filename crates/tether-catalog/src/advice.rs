//! Checks of an environment file that need the catalogue's data tables: GPU pools and whether
//! instance types are offered in the environment's zones.
//!
//! They run after the file loaded and return diagnostics with spans into it, like the file's own
//! rules. None of them is an error, because the tables are dated and can be out of date.

use std::collections::BTreeSet;

use tether_config::{Checked, Diagnostic, Pool};

use crate::tables::{self, Gpus};

/// Diagnostic codes of these checks, so callers and tests can match them.
pub mod codes {
    /// A GPU pool without a `NoSchedule` taint on the GPU resource (warning).
    pub const GPU_POOL_UNTAINTED: &str = "tether::catalog::gpu_pool_untainted";
    /// A GPU pool with fixed replicas above zero, billed while idle (advice).
    pub const GPU_POOL_IDLE: &str = "tether::catalog::gpu_pool_idle";
    /// An instance type that the offerings table lists as not offered in the region (warning).
    pub const INSTANCE_TYPE_NOT_OFFERED: &str = "tether::catalog::instance_type_not_offered";
    /// An instance type or zone that the offerings table has no data for (advice).
    pub const OFFERING_UNKNOWN: &str = "tether::catalog::offering_unknown";
}

/// Runs every catalogue check on a loaded environment, in file order of the values they point at.
pub fn advise(checked: &Checked) -> Vec<Diagnostic> {
    let mut found = Vec::new();
    for (name, pool) in &checked.environment.pools {
        if let Some(gpus) = tables::gpus(&pool.instance_type) {
            found.extend(untainted_gpu_pool(checked, name, pool, &gpus));
            found.extend(idle_gpu_pool(checked, name, pool));
        }
    }
    found.extend(offerings(checked));
    found.sort_by_key(|diagnostic| diagnostic.span().map_or(0, |span| span.start));
    found.into_iter().map(|diagnostic| checked.locate(diagnostic)).collect()
}

fn untainted_gpu_pool(checked: &Checked, name: &str, pool: &Pool, gpus: &Gpus) -> Option<Diagnostic> {
    let resource = gpus.resource();
    let tainted = pool.taints.iter().any(|taint| taint.key == resource && taint.effect == "NoSchedule");
    if tainted {
        return None;
    }
    let message = format!(
        "pool `{name}` runs `{}`, which has GPUs, but has no `{resource}` taint with effect `NoSchedule`, so pods that need no GPU can land on its expensive nodes",
        pool.instance_type
    );
    let help = format!(
        "add `taints = [{{ key = \"{resource}\", value = \"present\", effect = \"NoSchedule\" }}]`; the GPU device plugin and GPU workloads tolerate it"
    );
    let diagnostic = Diagnostic::warning(codes::GPU_POOL_UNTAINTED, message)
        .with_label(checked.value_span(&["pools", name, "instance_type"]), "GPU instance type")
        .with_label(checked.key_span(&["pools", name]), "pool without the GPU taint")
        .with_help(help);
    Some(diagnostic)
}

fn idle_gpu_pool(checked: &Checked, name: &str, pool: &Pool) -> Option<Diagnostic> {
    let replicas = pool.replicas.filter(|replicas| *replicas > 0)?;
    let region = &checked.environment.aws.region;
    let cost = match tables::instance_price(region, &pool.instance_type) {
        Some(price) => {
            format!(", about ${:.2} an hour at on-demand list prices (an estimate)", price.times(replicas).dollars())
        }
        None => String::new(),
    };
    let message = format!("pool `{name}` keeps {replicas} `{}` GPU nodes running while idle{cost}", pool.instance_type);
    let help = format!(
        "to pay for GPU nodes only while GPU pods need them, replace `replicas = {replicas}` with `autoscaling = {{ min = 0, max = {replicas} }}`, after reading what HyperShift needs to scale from zero"
    );
    let diagnostic = Diagnostic::advice(codes::GPU_POOL_IDLE, message)
        .with_label(checked.value_span(&["pools", name, "replicas"]), "fixed size")
        .with_help(help);
    Some(diagnostic)
}

/// Checks each instance type once, against the first zone, where tether places the node pools and
/// the subnet router.
fn offerings(checked: &Checked) -> Vec<Diagnostic> {
    let environment = &checked.environment;
    let Some(zone) = environment.aws.zones.first() else {
        return Vec::new();
    };
    let mut uses: Vec<(String, Vec<&str>)> =
        vec![(environment.subnet_router.instance_type.clone(), vec!["subnet_router", "instance_type"])];
    for (name, pool) in &environment.pools {
        uses.push((pool.instance_type.clone(), vec!["pools", name, "instance_type"]));
    }

    let mut seen = BTreeSet::new();
    let mut found = Vec::new();
    for (instance_type, keys) in &uses {
        if seen.insert(instance_type.clone()) {
            found.extend(offering(checked, zone, instance_type, keys));
        }
    }
    found
}

fn offering(checked: &Checked, zone: &str, instance_type: &str, keys: &[&str]) -> Option<Diagnostic> {
    let region = &checked.environment.aws.region;
    let table = tables::offerings();
    let span = checked.value_span(keys);
    let verify = format!(
        "check with `aws ec2 describe-instance-type-offerings --region {region} --location-type availability-zone --filters Name=instance-type,Values={instance_type}`"
    );
    let regional = table.regions.get(region).filter(|regional| regional.zones.iter().any(|known| known == zone));
    let Some(regional) = regional else {
        let message = format!(
            "tether's offerings table (as of {}) has no data for zone `{zone}`, so it cannot check that `{instance_type}` is offered there",
            table.as_of
        );
        return Some(
            Diagnostic::advice(codes::OFFERING_UNKNOWN, message).with_label(span, "not checked").with_help(verify),
        );
    };
    if regional.every_zone.iter().any(|known| known == instance_type) {
        return None;
    }
    if regional.no_zone.iter().any(|known| known == instance_type) {
        let message = format!(
            "instance type `{instance_type}` is not offered in zone `{zone}`: tether's offerings table (as of {}) lists it as not offered anywhere in `{region}`",
            table.as_of
        );
        let help = format!(
            "choose an instance type offered in `{region}`, or a region that offers `{instance_type}`; {verify}"
        );
        return Some(
            Diagnostic::warning(codes::INSTANCE_TYPE_NOT_OFFERED, message)
                .with_label(span, "not offered")
                .with_help(help),
        );
    }
    let message = format!(
        "tether's offerings table (as of {}) has no data for `{instance_type}` in `{region}`, so it cannot check that zone `{zone}` offers it",
        table.as_of
    );
    Some(Diagnostic::advice(codes::OFFERING_UNKNOWN, message).with_label(span, "not checked").with_help(verify))
}
