//! Cost estimates, the placement summary and plan notes, for terminals and as JSON.

use std::fmt::Write as _;

use serde_json::{Value as Json, json};
use tether_model::{CostChange, CostEstimate, CostKind, CostLine, Placement, PriceSource, Usd};

/// Costs that no estimate includes, named wherever figures are shown.
const NOT_INCLUDED: &str = "NAT data processing, data transfer, EBS volumes and public IPv4 addresses";

/// Renders the cost change of a plan: at rest and at peak, per hour and per month.
pub fn render_cost_change(cost: &CostChange) -> String {
    let prices = &cost.prices;
    let region = &cost.after.region;
    if !prices.regions.contains(region) {
        return format!(
            "Estimated cost: no price data for region `{region}`; tether's price table (as of {}) covers {}.\n",
            prices.as_of,
            prices.regions.join(", ")
        );
    }
    let mut out = format!(
        "Estimated cost change (on-demand list prices in {region} as of {}; an estimate, not a bill):\n",
        prices.as_of
    );
    let (before, after, change) = (cost.before.totals(), cost.after.totals(), cost.difference());
    let rows = [
        ("at rest (autoscaled pools at min)", before.hourly_at_rest, after.hourly_at_rest, change.hourly_at_rest),
        ("at peak (autoscaled pools at max)", before.hourly_at_peak, after.hourly_at_peak, change.hourly_at_peak),
    ];
    for (label, before, after, change) in rows {
        let _ = writeln!(
            out,
            "  {label}: {}/hour, {}/month (before {}/hour, after {}/hour)",
            signed(change, 4),
            signed(monthly(change, prices), 2),
            dollars(before, 4),
            dollars(after, 4),
        );
    }
    write_unpriced(&mut out, &cost.after);
    let _ = writeln!(out, "  Not included: {NOT_INCLUDED}.");
    out
}

/// Renders the per-item breakdown of one estimate, with the price table's source and date.
pub fn render_cost_breakdown(environment: &str, estimate: &CostEstimate, prices: &PriceSource) -> String {
    let mut out = format!(
        "Estimated cost of environment `{environment}` in {} (on-demand list prices; an estimate, not a bill):\n\n",
        estimate.region
    );
    let rows: Vec<[String; 5]> = estimate.lines.iter().map(|line| breakdown_row(line, prices)).collect();
    let header = ["item", "nodes", "per node-hour", "at rest / month", "at peak / month"].map(str::to_owned);
    let totals = estimate.totals();
    let total = [
        "total".to_owned(),
        String::new(),
        String::new(),
        dollars(monthly(totals.hourly_at_rest, prices), 2),
        dollars(monthly(totals.hourly_at_peak, prices), 2),
    ];
    let table: Vec<&[String; 5]> = std::iter::once(&header).chain(&rows).chain(std::iter::once(&total)).collect();
    write_table(&mut out, &table);

    out.push('\n');
    write_unpriced(&mut out, estimate);
    if !prices.regions.contains(&estimate.region) {
        let _ = writeln!(out, "  The price table covers only {}.", prices.regions.join(", "));
    }
    let _ = writeln!(out, "  Not included: {NOT_INCLUDED}.");
    let _ = writeln!(
        out,
        "  Prices as of {}, {} hours a month. Source: {}.",
        prices.as_of, prices.hours_per_month, prices.source
    );
    out
}

/// Renders the placement summary: management cluster, AWS, and the paths between them.
pub fn render_placement(placement: &Placement) -> String {
    let mut out = String::from("Where things run:\n");
    let sections = [
        ("On-prem management cluster (under local control)", &placement.management_cluster),
        ("AWS (in the cloud)", &placement.aws),
        ("Network paths between them", &placement.crossings),
    ];
    for (title, items) in sections {
        if items.is_empty() {
            continue;
        }
        let _ = writeln!(out, "  {title}:");
        for item in items {
            let _ = writeln!(out, "    - {item}");
        }
    }
    out
}

/// Renders one note that a plan carries once, e.g. a caveat about the routes it creates.
pub fn render_note(note: &str) -> String {
    format!("Note: {note}.\n")
}

/// Builds the JSON form of one estimate, with the same figures as [`render_cost_breakdown`].
pub fn estimate_json(environment: &str, estimate: &CostEstimate, prices: &PriceSource) -> Json {
    json!({
        "environment": environment,
        "estimate": true,
        "currency": "USD",
        "region": estimate.region,
        "prices": prices,
        "cost": figures(estimate, prices),
        "not_included": NOT_INCLUDED,
    })
}

/// Builds the JSON form of a plan's cost change, with the same figures as the text form.
pub fn cost_json(cost: &CostChange) -> Json {
    let prices = &cost.prices;
    let change = cost.difference();
    json!({
        "estimate": true,
        "currency": "USD",
        "region": cost.after.region,
        "prices": prices,
        "before": figures(&cost.before, prices),
        "after": figures(&cost.after, prices),
        "change": {
            "hourly_at_rest": change.hourly_at_rest,
            "hourly_at_peak": change.hourly_at_peak,
            "monthly_at_rest": monthly(change.hourly_at_rest, prices),
            "monthly_at_peak": monthly(change.hourly_at_peak, prices),
        },
        "not_included": NOT_INCLUDED,
    })
}

/// Builds the totals, lines and unpriced addresses of one estimate.
fn figures(estimate: &CostEstimate, prices: &PriceSource) -> Json {
    let totals = estimate.totals();
    json!({
        "hourly_at_rest": totals.hourly_at_rest,
        "hourly_at_peak": totals.hourly_at_peak,
        "monthly_at_rest": monthly(totals.hourly_at_rest, prices),
        "monthly_at_peak": monthly(totals.hourly_at_peak, prices),
        "lines": estimate.lines,
        "unpriced": estimate.unpriced().map(|line| line.address.to_string()).collect::<Vec<_>>(),
    })
}

/// Builds the JSON form of the placement summary.
pub fn placement_json(placement: &Placement) -> Json {
    serde_json::to_value(placement).unwrap_or(Json::Null)
}

fn breakdown_row(line: &CostLine, prices: &PriceSource) -> [String; 5] {
    let name = match (line.kind, &line.instance_type) {
        (CostKind::NodePool, Some(kind)) => format!("pool {} ({kind})", line.address.name()),
        (CostKind::NodePool, None) => format!("pool {}", line.address.name()),
        (CostKind::NatGateway, _) => format!("NAT gateway {}", line.address.name()),
        (CostKind::SubnetRouter, Some(kind)) => format!("subnet router ({kind})"),
        (CostKind::SubnetRouter, None) => "subnet router".to_owned(),
    };
    let units = if line.units_at_rest == line.units_at_peak {
        line.units_at_rest.to_string()
    } else {
        format!("{} to {}", line.units_at_rest, line.units_at_peak)
    };
    let per_month =
        |hourly: Option<Usd>| hourly.map_or_else(|| "no price data".to_owned(), |usd| dollars(monthly(usd, prices), 2));
    [
        name,
        units,
        line.unit_hourly.map_or_else(|| "no price data".to_owned(), |usd| dollars(usd, 4)),
        per_month(line.hourly_at_rest()),
        per_month(line.hourly_at_peak()),
    ]
}

fn write_unpriced(out: &mut String, estimate: &CostEstimate) {
    for line in estimate.unpriced() {
        let what = line.instance_type.as_deref().unwrap_or("this item");
        let _ = writeln!(
            out,
            "  No price data for {} ({what} in {}), up to {} at peak; the totals leave it out.",
            line.address, estimate.region, line.units_at_peak
        );
    }
}

/// Writes rows as a table: the first column left-aligned, the others right-aligned.
fn write_table(out: &mut String, rows: &[&[String; 5]]) {
    let mut widths = [0; 5];
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row.iter()) {
            *width = (*width).max(cell.chars().count());
        }
    }
    for row in rows {
        let mut line = format!("  {:<width$}", row[0], width = widths[0]);
        for (cell, width) in row.iter().zip(widths).skip(1) {
            let _ = write!(line, "  {cell:>width$}");
        }
        let _ = writeln!(out, "{}", line.trim_end());
    }
}

/// Converts an hourly amount to a monthly one.
fn monthly(hourly: Usd, prices: &PriceSource) -> Usd {
    hourly.times(prices.hours_per_month)
}

/// Formats dollars with `places` decimals, e.g. `$1.0450`.
fn dollars(amount: Usd, places: usize) -> String {
    let sign = if amount.0 < 0 { "-" } else { "" };
    format!("{sign}${:.places$}", amount.dollars().abs())
}

/// Formats a change with its sign, e.g. `+$1.05` or `-$0.48`.
fn signed(amount: Usd, places: usize) -> String {
    if amount.0 >= 0 { format!("+{}", dollars(amount, places)) } else { dollars(amount, places) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dollars_round_and_sign() {
        assert_eq!(dollars(Usd(1_045_000), 4), "$1.0450");
        assert_eq!(dollars(Usd(762_850_000), 2), "$762.85");
        assert_eq!(signed(Usd(-480_000), 2), "-$0.48");
        assert_eq!(signed(Usd(0), 2), "+$0.00");
    }
}
