//! Renderers for plans. The planner computes a plan as data; these functions only format it.

mod human;
mod value;

pub use human::render_plan;
pub use value::render_value;
