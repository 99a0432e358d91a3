//! Test support: the Kubernetes test API server, the AWS emulator launcher and fixtures.
//!
//! Nothing here is used by the `tether` binary; tests and `scripts/emulators` use it.

pub mod aws_proxy;
pub mod kube;
pub mod moto;
