//! AWS provider over the EC2, IAM and STS SDKs.
//!
//! [`AwsProvider`] implements the engine's `Provider` for the EC2 networking of a hybrid Hosted
//! Control Planes environment: VPC, internet gateway, subnets, Elastic IPs, NAT gateways, route
//! tables, routes, route-table associations, security groups and instances (see [`Kind`]).
//!
//! Every tagged resource carries tether's ownership marks ([`ENVIRONMENT_TAG`] and
//! [`ADDRESS_TAG`]). Observation lists each kind once, filtered by the environment tag, and maps
//! each item to its address by the address tag. Routes and associations carry no tags and are
//! read from the environment's route tables.

mod attributes;
mod blockers;
mod client;
mod discover;
mod error;
mod idempotency;
mod identity;
mod kind;
mod observe;
mod provider;
mod resources;
mod retry;
mod tags;
mod wait;

pub use blockers::VpcBlocker;
pub use client::{
    ATTEMPT_TIMEOUT, AwsProvider, CONNECT_TIMEOUT, DEFAULT_POLL_INTERVAL, DEFAULT_WAIT_TIMEOUT, OPERATION_TIMEOUT,
    WaitLimits, default_timeouts,
};
pub use discover::{Candidate, cluster_tag, is_discoverable};
pub use error::{ApiError, AwsError, error_code};
pub use identity::{CallerIdentity, IdentityError};
pub use kind::Kind;
pub use retry::{DEFAULT_MAX_ATTEMPTS, INITIAL_BACKOFF, MAX_BACKOFF, default_retry_config};
pub use tags::{ADDRESS_TAG, ENVIRONMENT_TAG};
