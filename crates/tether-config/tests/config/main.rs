//! Integration tests for `tether_config::load` and `schema_json`: the examples, every validation rule
//! with a bad file, and the committed schema.

mod addons;
mod aws;
mod domain;
mod drift;
mod examples;
mod extends;
mod files;
mod hostile;
mod load;
mod names;
mod networks;
mod pools;
mod promotion;
mod routes;
mod schema;
mod support;
