//! Tests of the moto launcher against a real `moto_server`.
//!
//! They need moto installed: run `scripts/emulators install` first (`scripts/test` does). Without
//! it they fail with the launcher's message that names the missing path.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use tether_testkit::moto::{CONFLICTING_AWS_ENV, MotoServer};

/// An HTTP response, read whole over HTTP/1.0.
struct Response {
    status: u16,
    body: String,
}

/// Sends one HTTP/1.0 request to 127.0.0.1:`port` and reads the whole response.
fn request(port: u16, method: &str, path: &str, headers: &[(&str, &str)], body: &str) -> Response {
    let address = SocketAddr::from(([127, 0, 0, 1], port));
    let mut stream = TcpStream::connect_timeout(&address, Duration::from_secs(5)).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(30))).unwrap();

    let mut head = format!("{method} {path} HTTP/1.0\r\nHost: {address}\r\nContent-Length: {}\r\n", body.len());
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).unwrap();
    stream.write_all(body.as_bytes()).unwrap();

    let mut raw = String::new();
    stream.read_to_string(&mut raw).unwrap();
    let (head, body) = raw.split_once("\r\n\r\n").unwrap_or((raw.as_str(), ""));
    let status = head.split_whitespace().nth(1).and_then(|code| code.parse().ok()).unwrap_or(0);
    Response { status, body: body.to_owned() }
}

/// Sends an EC2 Query API call. moto routes it by the credential scope and does not check the signature.
fn ec2_call(port: u16, form: &str) -> Response {
    let authorization = "AWS4-HMAC-SHA256 Credential=testing/20250101/ap-southeast-2/ec2/aws4_request, \
                         SignedHeaders=host, Signature=0000";
    let headers = [("Content-Type", "application/x-www-form-urlencoded"), ("Authorization", authorization)];
    request(port, "POST", "/", &headers, &format!("{form}&Version=2016-11-15"))
}

/// Extracts the text of the first `<tag>` element.
fn first_element<'a>(xml: &'a str, tag: &str) -> Option<&'a str> {
    let open = format!("<{tag}>");
    let close = format!("</{tag}>");
    let start = xml.find(&open)? + open.len();
    let end = start + xml[start..].find(&close)?;
    Some(&xml[start..end])
}

#[test]
fn start_serves_moto_api() -> anyhow::Result<()> {
    let server = MotoServer::start()?;

    assert_eq!(server.endpoint(), format!("http://127.0.0.1:{}", server.port()));
    let response = request(server.port(), "GET", "/moto-api/", &[], "");
    assert_eq!(response.status, 200, "body: {}", response.body);
    Ok(())
}

#[test]
fn drop_stops_process() -> anyhow::Result<()> {
    let server = MotoServer::start()?;
    let address = SocketAddr::from(([127, 0, 0, 1], server.port()));
    let pid = server.pid();
    assert!(TcpStream::connect(address).is_ok(), "moto does not accept connections before drop");

    drop(server);

    let connection = TcpStream::connect_timeout(&address, Duration::from_secs(2));
    assert!(connection.is_err(), "port {} still accepts connections after drop", address.port());
    if cfg!(target_os = "linux") {
        assert!(!std::path::Path::new(&format!("/proc/{pid}")).exists(), "process {pid} still exists after drop");
    }
    Ok(())
}

#[test]
fn servers_do_not_share_state() -> anyhow::Result<()> {
    let first = MotoServer::start()?;
    let second = MotoServer::start()?;
    assert_ne!(first.port(), second.port());

    let created = ec2_call(first.port(), "Action=CreateVpc&CidrBlock=10.42.0.0%2F16");
    assert_eq!(created.status, 200, "CreateVpc failed: {}", created.body);
    let vpc_id = first_element(&created.body, "vpcId").expect("CreateVpc response has a vpcId");

    let seen_by_first = ec2_call(first.port(), &format!("Action=DescribeVpcs&VpcId.1={vpc_id}"));
    assert_eq!(seen_by_first.status, 200, "DescribeVpcs failed: {}", seen_by_first.body);
    assert!(seen_by_first.body.contains(vpc_id));

    let seen_by_second = ec2_call(second.port(), &format!("Action=DescribeVpcs&VpcId.1={vpc_id}"));
    assert_eq!(seen_by_second.status, 400, "body: {}", seen_by_second.body);
    assert!(seen_by_second.body.contains("InvalidVpcID.NotFound"), "body: {}", seen_by_second.body);
    Ok(())
}

#[test]
fn client_env_points_only_at_emulator() -> anyhow::Result<()> {
    let server = MotoServer::start()?;
    let env: std::collections::BTreeMap<String, String> = server.client_env().into_iter().collect();

    assert_eq!(env["AWS_ENDPOINT_URL"], server.endpoint());
    assert_eq!(env["AWS_ACCESS_KEY_ID"], "testing");
    assert_eq!(env["AWS_SECRET_ACCESS_KEY"], "testing");
    assert_eq!(env["AWS_REGION"], "ap-southeast-2");
    assert_eq!(env["AWS_DEFAULT_REGION"], "ap-southeast-2");
    assert_eq!(env["AWS_EC2_METADATA_DISABLED"], "true");
    assert_eq!(env["AWS_MAX_ATTEMPTS"], "3");
    for name in ["AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE"] {
        let contents = std::fs::read(&env[name])?;
        assert!(contents.is_empty(), "{name} at {} is not empty", env[name]);
    }
    for name in CONFLICTING_AWS_ENV {
        assert!(!env.contains_key(*name), "client_env sets {name}");
    }
    Ok(())
}

#[test]
fn apply_client_env_clears_conflicting_variables() -> anyhow::Result<()> {
    let server = MotoServer::start()?;
    let mut command = std::process::Command::new("env");
    command.env("AWS_PROFILE", "production").env("AWS_ENDPOINT_URL_EC2", "http://127.0.0.1:1");

    server.apply_client_env(&mut command);

    let output = command.output()?;
    let printed = String::from_utf8(output.stdout)?;
    assert!(printed.contains(&format!("AWS_ENDPOINT_URL={}\n", server.endpoint())), "{printed}");
    assert!(!printed.contains("AWS_PROFILE="), "{printed}");
    assert!(!printed.contains("AWS_ENDPOINT_URL_EC2="), "{printed}");
    Ok(())
}
