//! Cost estimates of an environment's billed AWS resources, and where each part of it runs.
//!
//! Both are computed as data by the catalogue and formatted by the renderers. Amounts are whole
//! micro-dollars so that sums and renderings are exact and deterministic.

use std::fmt;

use serde::{Deserialize, Serialize, Serializer};

use crate::Address;

/// An amount of US dollars, stored as whole micro-dollars. It serializes as a JSON number of dollars.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Deserialize)]
#[serde(from = "f64")]
pub struct Usd(pub i64);

impl Usd {
    /// Converts dollars to the nearest micro-dollar.
    pub fn from_dollars(dollars: f64) -> Usd {
        // Prices are small positive numbers, far inside the range of i64 micro-dollars.
        Usd((dollars * 1_000_000.0).round() as i64)
    }

    /// Returns the amount in dollars.
    pub fn dollars(self) -> f64 {
        self.0 as f64 / 1_000_000.0
    }

    /// Returns this amount multiplied by a count, e.g. an hourly price times a node count.
    pub fn times(self, count: i64) -> Usd {
        Usd(self.0.saturating_mul(count))
    }
}

impl From<f64> for Usd {
    fn from(dollars: f64) -> Usd {
        Usd::from_dollars(dollars)
    }
}

impl Serialize for Usd {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_f64(self.dollars())
    }
}

/// The origin and coverage of a price table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PriceSource {
    /// The origin of the prices and how they were taken.
    pub source: String,
    /// The date the prices were taken, `YYYY-MM-DD`.
    pub as_of: String,
    /// Regions the table has prices for; every other region has no price data.
    pub regions: Vec<String>,
    /// Hours in the month that monthly figures assume; AWS's own calculator uses 730.
    pub hours_per_month: i64,
}

/// The category of a billed item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CostKind {
    /// A worker node pool: EC2 instances, billed per node.
    NodePool,
    /// A NAT gateway, billed per hour (data processing is not included).
    NatGateway,
    /// The subnet router's EC2 instance.
    SubnetRouter,
}

/// One billed item: a node pool, a NAT gateway or the subnet router.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CostLine {
    /// The resource the cost belongs to, e.g. `cluster.node_pool.gpu`.
    pub address: Address,
    /// The item's category.
    pub kind: CostKind,
    /// The EC2 instance type, for node pools and the subnet router.
    pub instance_type: Option<String>,
    /// Units billed at rest: fixed replicas, or an autoscaled pool's minimum.
    pub units_at_rest: i64,
    /// Units billed at peak: fixed replicas, or an autoscaled pool's maximum.
    pub units_at_peak: i64,
    /// On-demand price of one unit per hour, or `None` when the price table has no price for it.
    pub unit_hourly: Option<Usd>,
}

impl CostLine {
    /// Returns the hourly cost at rest: zero for zero units, else `None` without a price.
    pub fn hourly_at_rest(&self) -> Option<Usd> {
        self.hourly(self.units_at_rest)
    }

    /// Returns the hourly cost at peak: zero for zero units, else `None` without a price.
    pub fn hourly_at_peak(&self) -> Option<Usd> {
        self.hourly(self.units_at_peak)
    }

    fn hourly(&self, units: i64) -> Option<Usd> {
        if units == 0 {
            return Some(Usd(0));
        }
        self.unit_hourly.map(|price| price.times(units))
    }
}

/// The estimated cost of one set of resources in one region.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CostEstimate {
    /// The AWS region the prices are for.
    pub region: String,
    /// One line per billed item: node pools, then NAT gateways, then the subnet router, each sorted by
    /// address.
    pub lines: Vec<CostLine>,
}

/// Totals of an estimate at rest and at peak, over the lines that have a price.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CostTotals {
    /// Hourly cost with autoscaled pools at their minimum.
    pub hourly_at_rest: Usd,
    /// Hourly cost with autoscaled pools at their maximum.
    pub hourly_at_peak: Usd,
}

impl CostEstimate {
    /// Sums the lines that have a price; [`CostEstimate::unpriced`] lists the others.
    pub fn totals(&self) -> CostTotals {
        let sum =
            |hourly: fn(&CostLine) -> Option<Usd>| Usd(self.lines.iter().filter_map(hourly).map(|usd| usd.0).sum());
        CostTotals { hourly_at_rest: sum(CostLine::hourly_at_rest), hourly_at_peak: sum(CostLine::hourly_at_peak) }
    }

    /// Returns the lines without a price that bill at least one unit at peak.
    pub fn unpriced(&self) -> impl Iterator<Item = &CostLine> {
        self.lines.iter().filter(|line| line.unit_hourly.is_none() && line.units_at_peak > 0)
    }
}

/// The cost before and after a plan is applied, from one price table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CostChange {
    /// The price table both estimates use.
    pub prices: PriceSource,
    /// The cost of the observed resources.
    pub before: CostEstimate,
    /// The cost of the resources once the plan is applied.
    pub after: CostEstimate,
}

impl CostChange {
    /// Returns the change of the priced totals, after minus before.
    pub fn difference(&self) -> CostTotals {
        let (before, after) = (self.before.totals(), self.after.totals());
        CostTotals {
            hourly_at_rest: Usd(after.hourly_at_rest.0 - before.hourly_at_rest.0),
            hourly_at_peak: Usd(after.hourly_at_peak.0 - before.hourly_at_peak.0),
        }
    }
}

/// A description of where one part of the environment runs, or of the path it takes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlacedItem {
    /// The part, e.g. `control plane` or `pool gpu`.
    pub name: String,
    /// The location and platform, e.g. `namespace hcp-ai-ai`.
    pub detail: String,
}

impl fmt::Display for PlacedItem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.name, self.detail)
    }
}

/// The placement summary: what runs on the on-prem management cluster, what runs in AWS, and the
/// network paths between them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Placement {
    /// Parts that run on the management cluster, under local control.
    pub management_cluster: Vec<PlacedItem>,
    /// Parts that run in AWS.
    pub aws: Vec<PlacedItem>,
    /// Network paths that cross between the two sides.
    pub crossings: Vec<PlacedItem>,
}
