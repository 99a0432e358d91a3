//! Client configuration from the `KUBECONFIG` variable. This binary contains one test, because it
//! changes the process environment.

mod common;

use common::ENVIRONMENT;
use tether_engine::{ObserveScope, Provider as _};
use tether_kube::{KubeOptions, TetherKube};
use tether_testkit::kube::KubeTestServer;

#[test]
fn connect_reads_kubeconfig_variable() {
    let directory = tempfile::tempdir().unwrap();
    let kubeconfig = directory.path().join("config");
    // SAFETY: this binary runs only this test, and the variable is set before this test starts
    // the server thread or the runtime, so no other thread reads the environment meanwhile.
    unsafe { std::env::set_var("KUBECONFIG", &kubeconfig) };
    let server = KubeTestServer::start_in_background().unwrap();
    server.write_kubeconfig(&kubeconfig).unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();

    let observed = runtime.block_on(async {
        let provider = TetherKube::connect(&KubeOptions::default()).await.unwrap();
        let namespace = common::namespace(ENVIRONMENT);
        let resources = [tether_model::Resource::new(namespace.address, namespace.attributes)];
        let state = tether_model::State::empty(ENVIRONMENT);
        provider.observe(&ObserveScope { environment: ENVIRONMENT, desired: &resources, state: &state }).await
    });

    assert!(observed.unwrap().is_empty());
    assert_eq!(server.requests().len(), 2, "one discovery and one list request: {:?}", server.requests());
}
