//! Renderers for plans. The planner computes a plan as data; these functions only format it.

mod embedded;
mod estimate;
mod human;
mod json;
mod markdown;
mod promotion;
mod value;

pub use estimate::{
    cost_json, estimate_json, placement_json, render_cost_breakdown, render_cost_change, render_note, render_placement,
};
pub use human::{render_plan, render_plan_difference};
pub use json::{PLAN_JSON_FORMAT_VERSION, plan_json};
pub use markdown::{
    Appendix, FullPlanLocation, GITHUB_COMMENT_MAX_CHARS, MarkdownOptions, comment_marker, render_markdown,
};
pub use promotion::{render_file_diff, render_file_impact};
pub use value::render_value;
