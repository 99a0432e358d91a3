//! Helpers shared by the end-to-end tests: a fresh moto and Kubernetes test server per test,
//! a scratch copy of an example environment, and a way to run the `tether` binary against them.

// Each test binary includes this module and uses only part of it.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use tether_testkit::aws_proxy::AwsProxy;
use tether_testkit::kube::KubeTestServer;
use tether_testkit::moto::MotoServer;

/// Returns the repository root.
pub fn repository_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().expect("repository root exists")
}

/// One test's private emulators and scratch folder.
pub struct Harness {
    pub dir: tempfile::TempDir,
    pub moto: MotoServer,
    pub kube: KubeTestServer,
    pub kubeconfig: PathBuf,
    /// The AWS proxy in front of moto, when started with [`Harness::start_with_proxy`].
    pub proxy: Option<AwsProxy>,
}

impl Harness {
    /// Starts both emulators and writes the kubeconfig.
    pub fn start() -> Harness {
        let dir = tempfile::tempdir().expect("temporary folder");
        let moto = MotoServer::start().expect("moto starts; run `scripts/emulators install` first");
        let kube = KubeTestServer::start_in_background().expect("Kubernetes test server starts");
        let kubeconfig = dir.path().join("kubeconfig");
        kube.write_kubeconfig(&kubeconfig).expect("kubeconfig written");
        let harness = Harness { dir, moto, kube, kubeconfig, proxy: None };
        // The examples' base domain in the examples' two accounts: tether looks the public zone up
        // and requires it to exist.
        for account in ["123456789012", "210987654321"] {
            harness.create_public_zone("hcp.example.com", account);
        }
        harness
    }

    /// Creates a public Route 53 hosted zone in a moto account, as the owner of a base domain
    /// would before running tether.
    pub fn create_public_zone(&self, domain: &str, account: &str) {
        use std::io::{Read as _, Write as _};
        let body = format!(
            "<CreateHostedZoneRequest xmlns=\"https://route53.amazonaws.com/doc/2013-04-01/\">\
             <Name>{domain}</Name><CallerReference>harness-{account}-{domain}</CallerReference></CreateHostedZoneRequest>"
        );
        let address = format!("127.0.0.1:{}", self.moto.port());
        let mut stream = std::net::TcpStream::connect(&address).expect("moto accepts connections");
        // moto picks the service from the credential scope and does not check the signature.
        let authorization = "AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/route53/aws4_request, SignedHeaders=host, Signature=0";
        write!(
            stream,
            "POST /2013-04-01/hostedzone HTTP/1.0\r\nHost: {address}\r\nAuthorization: {authorization}\r\n\
             x-moto-account-id: {account}\r\nContent-Type: text/xml\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
        .expect("request sent");
        let mut response = String::new();
        stream.read_to_string(&mut response).expect("response read");
        assert!(response.starts_with("HTTP/1.0 201") || response.starts_with("HTTP/1.1 201"), "{response}");
    }

    /// Starts both emulators with the AWS proxy in front of moto; `tether` then talks to the proxy.
    pub fn start_with_proxy() -> Harness {
        let mut harness = Harness::start();
        harness.proxy = Some(AwsProxy::start(&harness.moto.endpoint()).expect("AWS proxy starts"));
        harness
    }

    /// Returns the AWS proxy. Panics when the harness was started without one.
    pub fn proxy(&self) -> &AwsProxy {
        self.proxy.as_ref().expect("the harness was started with Harness::start_with_proxy")
    }

    /// Returns the AWS endpoint that `tether` uses: the proxy's when there is one, else moto's.
    pub fn aws_endpoint(&self) -> String {
        self.proxy.as_ref().map_or_else(|| self.moto.endpoint(), AwsProxy::endpoint)
    }

    /// Builds an EC2 client that talks to moto directly, past any proxy, in the examples' region
    /// `ap-southeast-2`, for tests that make or inspect resources behind tether's back.
    pub fn ec2_client(&self) -> aws_sdk_ec2::Client {
        use aws_sdk_ec2::config::{BehaviorVersion, Credentials, Region};

        let config = aws_sdk_ec2::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .endpoint_url(self.moto.endpoint())
            .region(Region::new("ap-southeast-2"))
            .credentials_provider(Credentials::new("testing", "testing", None, None, "moto"))
            .build();
        aws_sdk_ec2::Client::from_conf(config)
    }

    /// Copies `examples/<name>` and the example pull secret into the scratch folder.
    pub fn example(&self, name: &str) -> PathBuf {
        let examples = repository_root().join("examples");
        for file in [name, "pull-secret.example.json"] {
            std::fs::copy(examples.join(file), self.dir.path().join(file)).expect("example copied");
        }
        self.dir.path().join(name)
    }

    /// Runs `tether` with the emulators' environment and nothing else of AWS's.
    pub fn tether(&self, args: &[&str]) -> Output {
        self.command(args).output().expect("tether runs")
    }

    /// Builds the `tether` command that [`Harness::tether`] runs, e.g. to spawn it.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_tether"));
        command.args(args).current_dir(self.dir.path()).env("KUBECONFIG", &self.kubeconfig);
        for (key, _) in std::env::vars().filter(|(key, _)| key.starts_with("AWS_")) {
            command.env_remove(key);
        }
        command.envs(self.moto.client_env());
        command.env("AWS_ENDPOINT_URL", self.aws_endpoint());
        command
    }

    /// Runs `tether` and asserts it succeeded; returns stdout.
    pub fn tether_ok(&self, args: &[&str]) -> String {
        let output = self.tether(args);
        assert!(output.status.success(), "tether {args:?} failed:\n{}", describe(&output));
        String::from_utf8(output.stdout).expect("stdout is UTF-8")
    }
}

/// Builds a single-threaded runtime for the SDK calls a test makes itself.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a Tokio runtime")
}

/// Stdout and stderr of a finished command, for assertion messages.
pub fn describe(output: &Output) -> String {
    format!(
        "status: {}\n--- stdout\n{}\n--- stderr\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// Replaces one exact piece of text in a file, failing when it is absent.
pub fn edit(path: &Path, from: &str, to: &str) {
    let text = std::fs::read_to_string(path).expect("file read");
    assert!(text.contains(from), "{} does not contain {from:?}", path.display());
    std::fs::write(path, text.replacen(from, to, 1)).expect("file written");
}
