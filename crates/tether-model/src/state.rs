//! The state: tether's record of what it last applied.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::{Address, Attributes};

/// The state file format this version of tether reads and writes.
pub const STATE_FORMAT_VERSION: u32 = 1;

/// The record of what tether last applied in one environment.
///
/// Sensitive values appear only as digests (see [`crate::Sensitive`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct State {
    /// [`STATE_FORMAT_VERSION`] when written.
    pub format_version: u32,
    /// The environment's name from its file.
    pub environment: String,
    /// Incremented on every write, so two copies can be ordered.
    pub serial: u64,
    /// Every resource tether applied and has not deleted.
    pub resources: BTreeMap<Address, StateResource>,
}

/// One applied resource in the state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StateResource {
    /// The provider's identifier.
    pub id: String,
    /// The attributes as applied, references resolved.
    pub attributes: Attributes,
    /// The resources it depended on when applied. Deletes run in the reverse of this order.
    pub depends_on: BTreeSet<Address>,
}

impl State {
    /// Creates an empty state for an environment.
    pub fn empty(environment: &str) -> State {
        State {
            format_version: STATE_FORMAT_VERSION,
            environment: environment.to_owned(),
            serial: 0,
            resources: BTreeMap::new(),
        }
    }
}
