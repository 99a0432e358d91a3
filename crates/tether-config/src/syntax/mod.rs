//! Syntax checks for the kinds of values the environment file holds, free of diagnostics and spans.
//!
//! Each check returns `Err` with a short reason phrase (e.g. "ends with `-`") that the validators put
//! into a full message.

pub(crate) mod aws;
pub(crate) mod cidr;
pub(crate) mod image;
pub(crate) mod names;
