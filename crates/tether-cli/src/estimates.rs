//! The cost estimate, placement summary and notes that follow every printed plan.

use serde_json::Value as Json;
use tether_model::Plan;

/// Renders what follows a plan's text: its one-time notes, the cost change and the placement summary.
pub fn plan_epilogue(plan: &Plan) -> String {
    let mut out = String::new();
    if let Some(caveat) = tether_catalog::route_caveat(plan) {
        out.push('\n');
        out.push_str(&tether_render::render_note(&caveat));
    }
    if let Some(region) = tether_catalog::plan_region(plan) {
        out.push('\n');
        out.push_str(&tether_render::render_cost_change(&tether_catalog::estimate_plan(plan, &region)));
    }
    out.push('\n');
    out.push_str(&tether_render::render_placement(&tether_catalog::placement_plan(plan)));
    out
}

/// Adds the same notes, cost change and placement summary to a plan's JSON form, under `notes`,
/// `cost` and `placement`. `cost` is `null` when the price table has no prices for the plan's region.
pub fn add_to_plan_json(document: &mut Json, plan: &Plan) {
    let Some(object) = document.as_object_mut() else {
        return;
    };
    let notes: Vec<String> = tether_catalog::route_caveat(plan).into_iter().collect();
    let priced_regions = tether_catalog::price_source().regions;
    let cost = tether_catalog::plan_region(plan)
        .filter(|region| priced_regions.contains(region))
        .map(|region| tether_render::cost_json(&tether_catalog::estimate_plan(plan, &region)));
    object.insert("notes".to_owned(), Json::from(notes));
    object.insert("cost".to_owned(), cost.unwrap_or(Json::Null));
    object.insert("placement".to_owned(), tether_render::placement_json(&tether_catalog::placement_plan(plan)));
}
