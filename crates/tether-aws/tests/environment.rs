//! `AwsProvider::from_environment` in a fresh process whose environment points at moto.

mod common;

use std::process::Command;

use tether_aws::AwsProvider;
use tether_model::{Address, State, Value};
use tether_testkit::moto::MotoServer;

/// Set in the child process, which runs [`child_uses_environment`] for real.
const CHILD_MARKER: &str = "TETHER_AWS_TEST_CHILD";

#[test]
fn provider_reads_standard_environment() -> anyhow::Result<()> {
    let server = MotoServer::start()?;
    let mut command = Command::new(std::env::current_exe()?);
    command.args(["--exact", "child_uses_environment", "--test-threads=1"]);
    server.apply_client_env(&mut command);
    command.env(CHILD_MARKER, "1");

    let output = command.output()?;

    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "child failed:\n{stdout}\n{stderr}");
    assert!(stdout.contains("1 passed"), "child did not run the test:\n{stdout}");
    Ok(())
}

/// Does nothing unless started by [`provider_reads_standard_environment`], because it needs
/// `AWS_ENDPOINT_URL` and the test credentials in its environment.
#[tokio::test]
async fn child_uses_environment() -> anyhow::Result<()> {
    if std::env::var_os(CHILD_MARKER).is_none() {
        return Ok(());
    }
    let provider = AwsProvider::from_environment(common::REGION).await;
    let address = Address::aws("vpc", "main");
    let attributes = common::tagged(
        "dev",
        &address,
        [
            ("cidr_block", Value::from("10.0.0.0/16")),
            ("enable_dns_support", Value::Bool(true)),
            ("enable_dns_hostnames", Value::Bool(true)),
        ],
    );

    let applied = common::create(&provider, "dev", &address, &attributes).await?;
    let observed = common::observe(&provider, "dev", &[], &State::empty("dev")).await?;

    assert_eq!(observed[&address].id, applied.id);
    assert_eq!(observed[&address].attributes, attributes);
    Ok(())
}
