//! Cost estimates of the billed AWS resources: node pools, NAT gateways and the subnet router, at
//! on-demand list prices from the shipped price table.
//!
//! An estimate reads the attributes the catalogue lowers to, so it works on the desired graph, on
//! a plan's observed attributes (before) and on its desired ones (after). Items without a price
//! stay in the estimate with no price, and renderers say so.

use tether_model::{Address, Attributes, CostChange, CostEstimate, CostKind, CostLine, Plan, Value};

use crate::DesiredGraph;
use crate::tables;

/// Estimates the resources the environment file requests.
pub fn estimate_desired(desired: &DesiredGraph, region: &str) -> CostEstimate {
    estimate(region, desired.resources().map(|resource| (&resource.address, &resource.attributes)))
}

/// Estimates the cost before a plan (its observed resources) and after it (its desired ones).
pub fn estimate_plan(plan: &Plan, region: &str) -> CostChange {
    let before = plan.changes.iter().filter_map(|change| Some((&change.address, change.before.as_ref()?)));
    let after = plan.changes.iter().filter_map(|change| Some((&change.address, change.after.as_ref()?)));
    CostChange { prices: tables::price_source(), before: estimate(region, before), after: estimate(region, after) }
}

/// Returns the AWS region a plan's HostedCluster names, desired first, then observed.
pub fn plan_region(plan: &Plan) -> Option<String> {
    let cluster = plan.changes.iter().find(|change| change.address.kind() == "hosted_cluster")?;
    [cluster.after.as_ref(), cluster.before.as_ref()]
        .into_iter()
        .flatten()
        .find_map(|attributes| text(attributes, &["spec", "platform", "aws", "region"]))
        .map(str::to_owned)
}

/// Estimates one set of resources, given as addresses with their attributes.
pub fn estimate<'a>(region: &str, resources: impl IntoIterator<Item = (&'a Address, &'a Attributes)>) -> CostEstimate {
    let mut lines: Vec<CostLine> =
        resources.into_iter().filter_map(|(address, attributes)| cost_line(region, address, attributes)).collect();
    lines.sort_by(|left, right| (left.kind, &left.address).cmp(&(right.kind, &right.address)));
    CostEstimate { region: region.to_owned(), lines }
}

fn cost_line(region: &str, address: &Address, attributes: &Attributes) -> Option<CostLine> {
    match address.kind() {
        "node_pool" => Some(node_pool_line(region, address, attributes)),
        "nat_gateway" => Some(CostLine {
            address: address.clone(),
            kind: CostKind::NatGateway,
            instance_type: None,
            units_at_rest: 1,
            units_at_peak: 1,
            unit_hourly: tables::nat_gateway_price(region),
        }),
        "instance" => {
            let instance_type = text(attributes, &["instance_type"]).map(str::to_owned);
            let unit_hourly = instance_type.as_deref().and_then(|kind| tables::instance_price(region, kind));
            Some(CostLine {
                address: address.clone(),
                kind: CostKind::SubnetRouter,
                instance_type,
                units_at_rest: 1,
                units_at_peak: 1,
                unit_hourly,
            })
        }
        _ => None,
    }
}

/// Builds a node pool's line: fixed replicas bill the same at rest and at peak; an autoscaled pool
/// bills its minimum at rest and its maximum at peak. HyperShift treats a missing size as 0.
fn node_pool_line(region: &str, address: &Address, attributes: &Attributes) -> CostLine {
    let instance_type = text(attributes, &["spec", "platform", "aws", "instanceType"]).map(str::to_owned);
    let (units_at_rest, units_at_peak) = match number(attributes, &["spec", "autoScaling", "min"]) {
        Some(min) => (min, number(attributes, &["spec", "autoScaling", "max"]).unwrap_or(min)),
        None => {
            let replicas = number(attributes, &["spec", "replicas"]).unwrap_or(0);
            (replicas, replicas)
        }
    };
    let unit_hourly = instance_type.as_deref().and_then(|kind| tables::instance_price(region, kind));
    CostLine {
        address: address.clone(),
        kind: CostKind::NodePool,
        instance_type,
        units_at_rest,
        units_at_peak,
        unit_hourly,
    }
}

fn lookup<'a>(attributes: &'a Attributes, path: &[&str]) -> Option<&'a Value> {
    let (first, rest) = path.split_first()?;
    attributes.get(*first)?.get_path(rest)
}

fn text<'a>(attributes: &'a Attributes, path: &[&str]) -> Option<&'a str> {
    lookup(attributes, path)?.as_str()
}

fn number(attributes: &Attributes, path: &[&str]) -> Option<i64> {
    lookup(attributes, path)?.as_int()
}

#[cfg(test)]
mod tests {
    use tether_model::Usd;

    use super::*;

    fn node_pool(size: Value, instance_type: &str) -> Attributes {
        let platform = Value::map([("aws", Value::map([("instanceType", Value::string(instance_type))]))]);
        let mut spec = vec![("platform", platform)];
        match size {
            Value::Int(replicas) => spec.push(("replicas", Value::Int(replicas))),
            bounds => spec.push(("autoScaling", bounds)),
        }
        Attributes::from([("spec".to_owned(), Value::map(spec))])
    }

    #[test]
    fn pools_bill_min_at_rest_and_max_at_peak() {
        let workers = Address::cluster("node_pool", "workers");
        let gpu = Address::cluster("node_pool", "gpu");
        let fixed = node_pool(Value::Int(2), "m6i.2xlarge");
        let scaled = node_pool(Value::map([("min", Value::Int(0)), ("max", Value::Int(2))]), "g6.xlarge");

        let estimate = estimate("us-east-1", [(&workers, &fixed), (&gpu, &scaled)]);

        let totals = estimate.totals();
        assert_eq!(totals.hourly_at_rest, Usd(768_000));
        assert_eq!(totals.hourly_at_peak, Usd(768_000 + 2 * 804_800));
        assert_eq!(estimate.lines[0].address, gpu);
        assert_eq!((estimate.lines[0].units_at_rest, estimate.lines[0].units_at_peak), (0, 2));
    }

    #[test]
    fn missing_prices_stay_visible() {
        let gpu = Address::cluster("node_pool", "gpu");
        let nat = Address::aws("nat_gateway", "eu-west-1a");
        let scaled = node_pool(Value::map([("min", Value::Int(1)), ("max", Value::Int(3))]), "g6.xlarge");
        let gateway = Attributes::new();

        let estimate = estimate("eu-west-1", [(&gpu, &scaled), (&nat, &gateway)]);

        assert_eq!(estimate.totals().hourly_at_peak, Usd(0));
        let unpriced: Vec<&Address> = estimate.unpriced().map(|line| &line.address).collect();
        assert_eq!(unpriced, [&gpu, &nat]);
    }
}
