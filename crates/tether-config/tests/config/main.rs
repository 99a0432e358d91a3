//! Integration tests for `tether_config::load` and `schema_json`: the examples, every validation rule
//! with a bad file, and the committed schema.

mod aws;
mod examples;
mod files;
mod load;
mod names;
mod networks;
mod pools;
mod routes;
mod schema;
mod support;
