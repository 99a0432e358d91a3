//! The data tables shipped in `data/`: EC2 instance types, regional offerings and on-demand prices.
//!
//! Each table names its source and date. A type, region or price missing from a table is unknown,
//! and callers say so instead of guessing.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use serde::Deserialize;
use tether_model::{PriceSource, Usd};

/// The instance type table.
#[derive(Debug, Deserialize)]
pub(crate) struct InstanceTypes {
    pub(crate) source: String,
    pub(crate) as_of: String,
    /// GPU families by name, with the GPU vendor: `nvidia` or `amd`.
    pub(crate) gpu_families: BTreeMap<String, String>,
    pub(crate) types: BTreeMap<String, InstanceType>,
}

/// The size of one instance type.
#[derive(Debug, Clone, Copy, Deserialize)]
pub(crate) struct InstanceType {
    pub(crate) vcpus: u32,
    pub(crate) memory_gib: u32,
    pub(crate) gpus: u32,
}

/// The regional offerings table.
#[derive(Debug, Deserialize)]
pub(crate) struct Offerings {
    pub(crate) source: String,
    pub(crate) as_of: String,
    pub(crate) regions: BTreeMap<String, RegionOfferings>,
}

/// The zones of one region, and the types offered in all of them or in none.
#[derive(Debug, Deserialize)]
pub(crate) struct RegionOfferings {
    pub(crate) zones: Vec<String>,
    pub(crate) every_zone: Vec<String>,
    pub(crate) no_zone: Vec<String>,
}

/// The on-demand price table.
#[derive(Debug, Deserialize)]
pub(crate) struct Prices {
    pub(crate) source: String,
    pub(crate) as_of: String,
    pub(crate) hours_per_month: i64,
    pub(crate) regions: BTreeMap<String, RegionPrices>,
}

/// Hourly prices in one region.
#[derive(Debug, Deserialize)]
pub(crate) struct RegionPrices {
    pub(crate) nat_gateway: Usd,
    pub(crate) instances: BTreeMap<String, Usd>,
}

/// The GPU vendor and count of an instance type, when it has GPUs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Gpus {
    /// `nvidia` or `amd`.
    pub(crate) vendor: String,
    /// GPUs per instance, when the type is in the table.
    pub(crate) count: Option<u32>,
}

impl Gpus {
    /// Returns the extended resource that the vendor's device plugin advertises, which is also the
    /// usual taint key: `nvidia.com/gpu` or `amd.com/gpu`.
    pub(crate) fn resource(&self) -> String {
        format!("{}.com/gpu", self.vendor)
    }
}

static INSTANCE_TYPES: LazyLock<InstanceTypes> = LazyLock::new(|| parse(include_str!("../data/instance-types.toml")));
static OFFERINGS: LazyLock<Offerings> = LazyLock::new(|| parse(include_str!("../data/offerings.toml")));
static PRICES: LazyLock<Prices> = LazyLock::new(|| parse(include_str!("../data/prices.toml")));

/// Parses a table compiled into the binary; the unit tests parse every table, so a broken one fails
/// the build's tests rather than a user's command.
fn parse<T: serde::de::DeserializeOwned>(text: &str) -> T {
    // unwrap: the tables are fixed at compile time and parsed by the tests below.
    toml::from_str(text).expect("a data table shipped with tether is valid")
}

/// Returns the instance type table.
pub(crate) fn instance_types() -> &'static InstanceTypes {
    &INSTANCE_TYPES
}

/// Returns the regional offerings table.
pub(crate) fn offerings() -> &'static Offerings {
    &OFFERINGS
}

/// Returns the on-demand price table.
pub(crate) fn prices() -> &'static Prices {
    &PRICES
}

/// Returns the GPUs of `instance_type`, from its table entry or else its family; `None` when it
/// has no GPUs or is unknown.
pub(crate) fn gpus(instance_type: &str) -> Option<Gpus> {
    let table = instance_types();
    let family = instance_type.split_once('.').map_or(instance_type, |(family, _)| family);
    let vendor = table.gpu_families.get(family)?;
    let count = table.types.get(instance_type).map(|known| known.gpus);
    Some(Gpus { vendor: vendor.clone(), count })
}

/// Returns the on-demand price of one instance per hour in `region`, if the table has one.
pub(crate) fn instance_price(region: &str, instance_type: &str) -> Option<Usd> {
    prices().regions.get(region)?.instances.get(instance_type).copied()
}

/// Returns the hourly price of one NAT gateway in `region`, if the table has one.
pub(crate) fn nat_gateway_price(region: &str) -> Option<Usd> {
    prices().regions.get(region).map(|region| region.nat_gateway)
}

/// Returns the price table's provenance and coverage.
pub fn price_source() -> PriceSource {
    let table = prices();
    PriceSource {
        source: table.source.clone(),
        as_of: table.as_of.clone(),
        regions: table.regions.keys().cloned().collect(),
        hours_per_month: table.hours_per_month,
    }
}

/// One data table shipped with tether: what it holds, where it comes from and its date.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataTable {
    /// What the table holds, e.g. `on-demand prices`.
    pub name: &'static str,
    /// Where its data was taken from, and how.
    pub source: String,
    /// The date of its data, `YYYY-MM-DD`.
    pub as_of: String,
}

/// Lists the data tables that checks and estimates use, with their sources and dates.
pub fn data_tables() -> Vec<DataTable> {
    vec![
        DataTable { name: "on-demand prices", source: prices().source.clone(), as_of: prices().as_of.clone() },
        DataTable {
            name: "instance types",
            source: instance_types().source.clone(),
            as_of: instance_types().as_of.clone(),
        },
        DataTable { name: "regional offerings", source: offerings().source.clone(), as_of: offerings().as_of.clone() },
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_parse_and_are_dated() {
        assert_eq!(instance_types().as_of, "2025-06-01");
        assert!(!instance_types().source.is_empty());
        assert_eq!(offerings().as_of, "2025-06-01");
        assert!(!offerings().source.is_empty());
        assert_eq!(prices().as_of, "2025-06-01");
        assert_eq!(prices().hours_per_month, 730);
    }

    #[test]
    fn known_types_have_sizes() {
        let types = &instance_types().types;
        assert_eq!((types["m6i.2xlarge"].vcpus, types["m6i.2xlarge"].memory_gib), (8, 32));
        assert_eq!(types["g6.xlarge"].gpus, 1);
        assert_eq!(types["t3.small"].gpus, 0);
    }

    #[test]
    fn gpus_come_from_type_or_family() {
        assert_eq!(gpus("g6.xlarge"), Some(Gpus { vendor: "nvidia".into(), count: Some(1) }));
        assert_eq!(gpus("g6.12xlarge"), Some(Gpus { vendor: "nvidia".into(), count: None }));
        assert_eq!(gpus("g4ad.xlarge").map(|gpus| gpus.resource()), Some("amd.com/gpu".to_owned()));
        assert_eq!(gpus("m6i.2xlarge"), None);
        assert_eq!(gpus("x9z.large"), None);
    }

    #[test]
    fn prices_are_exact_micro_dollars() {
        assert_eq!(instance_price("ap-southeast-2", "m6i.2xlarge"), Some(Usd(480_000)));
        assert_eq!(instance_price("us-east-1", "g6.xlarge"), Some(Usd(804_800)));
        assert_eq!(instance_price("ap-southeast-2", "g6.xlarge"), None);
        assert_eq!(nat_gateway_price("ap-southeast-2"), Some(Usd(59_000)));
        assert_eq!(nat_gateway_price("eu-west-1"), None);
        assert_eq!(price_source().regions, ["ap-southeast-2", "us-east-1"]);
    }

    #[test]
    fn offerings_list_zones() {
        let sydney = &offerings().regions["ap-southeast-2"];
        assert_eq!(sydney.zones.len(), 3);
        assert!(sydney.every_zone.iter().any(|kind| kind == "m6i.2xlarge"));
    }
}
