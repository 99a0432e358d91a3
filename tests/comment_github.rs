//! `tether comment github` against a mock GitHub API on 127.0.0.1 that records every request:
//! creating the comment, updating it on the next run, and reporting API errors.

mod support;

use std::collections::BTreeSet;
use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::{Arc, Mutex};

use serde_json::{Value as Json, json};
use support::describe;
use tether_model::{Action, ActionReason, Address, AttributeChange, PLAN_FORMAT_VERSION, Plan, ResourceChange, Value};
use tether_plan::SavedPlan;

const TOKEN: &str = "ghp_test-token-0123456789";

/// One request as the mock server received it.
#[derive(Debug, Clone)]
struct Recorded {
    method: String,
    path: String,
    headers: Vec<(String, String)>,
    body: String,
}

impl Recorded {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(key, _)| key.eq_ignore_ascii_case(name)).map(|(_, value)| value.as_str())
    }

    fn json_body(&self) -> Json {
        serde_json::from_str(&self.body).unwrap_or_else(|error| panic!("{error}: {}", self.body))
    }
}

/// What the mock server stores and serves.
#[derive(Default)]
struct MockState {
    requests: Vec<Recorded>,
    /// Comments of the one pull request, as (id, body).
    comments: Vec<(u64, String)>,
    /// When set, every request with this method gets a response with this status and JSON `message`.
    error: Option<(&'static str, u16, &'static str)>,
}

/// A GitHub API stand-in for repository `octo-org/infra`, pull request 7, serving one connection at a time.
struct MockGithub {
    url: String,
    state: Arc<Mutex<MockState>>,
}

impl MockGithub {
    fn start() -> MockGithub {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let state = Arc::new(Mutex::new(MockState::default()));
        let shared = Arc::clone(&state);
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { return };
                serve(stream, &shared);
            }
        });
        MockGithub { url, state }
    }

    fn requests(&self) -> Vec<Recorded> {
        self.state.lock().unwrap().requests.clone()
    }

    fn comments(&self) -> Vec<(u64, String)> {
        self.state.lock().unwrap().comments.clone()
    }
}

fn serve(stream: TcpStream, state: &Mutex<MockState>) {
    let mut reader = BufReader::new(stream);
    let mut request_line = String::new();
    if reader.read_line(&mut request_line).unwrap_or(0) == 0 {
        return;
    }
    let mut parts = request_line.split_whitespace();
    let (method, path) = (parts.next().unwrap_or("").to_owned(), parts.next().unwrap_or("").to_owned());
    let mut headers = Vec::new();
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).unwrap();
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        let (key, value) = line.split_once(':').unwrap();
        headers.push((key.trim().to_owned(), value.trim().to_owned()));
    }
    let length = headers
        .iter()
        .find(|(key, _)| key.eq_ignore_ascii_case("content-length"))
        .map_or(0, |(_, value)| value.parse().unwrap());
    let mut body = vec![0; length];
    reader.read_exact(&mut body).unwrap();
    let recorded = Recorded { method, path, headers, body: String::from_utf8(body).unwrap() };

    let (status, answer) = respond(&recorded, &mut state.lock().unwrap());
    let text = answer.to_string();
    let mut stream = reader.into_inner();
    let reason = if status < 300 { "OK" } else { "Error" };
    let _ = write!(
        stream,
        "HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{text}",
        text.len()
    );
}

/// Serves list (paginated), create and update of pull request 7's comments, or the error mode.
fn respond(request: &Recorded, state: &mut MockState) -> (u16, Json) {
    state.requests.push(request.clone());
    if let Some((_, status, message)) = state.error.filter(|(method, _, _)| *method == request.method) {
        return (status, json!({ "message": message, "documentation_url": "https://docs.github.com/rest" }));
    }
    let comment = |id: u64, body: &str| json!({ "id": id, "body": body, "html_url": format!("https://github.com/octo-org/infra/pull/7#issuecomment-{id}") });
    let (path, query) = request.path.split_once('?').unwrap_or((&request.path, ""));
    match (request.method.as_str(), path) {
        ("GET", "/repos/octo-org/infra/issues/7/comments") => {
            let parameter = |name: &str| {
                query
                    .split('&')
                    .find_map(|pair| pair.strip_prefix(&format!("{name}=")))
                    .map_or(1, |v| v.parse().unwrap())
            };
            let (per_page, page): (usize, usize) = (parameter("per_page"), parameter("page"));
            let listed: Vec<Json> = state
                .comments
                .iter()
                .skip((page - 1) * per_page)
                .take(per_page)
                .map(|(id, body)| comment(*id, body))
                .collect();
            (200, Json::Array(listed))
        }
        ("POST", "/repos/octo-org/infra/issues/7/comments") => {
            let id = 1000 + state.comments.len() as u64;
            let body = request.json_body()["body"].as_str().unwrap().to_owned();
            state.comments.push((id, body.clone()));
            (201, comment(id, &body))
        }
        ("PATCH", path) if path.starts_with("/repos/octo-org/infra/issues/comments/") => {
            let id: u64 = path.rsplit('/').next().unwrap().parse().unwrap();
            let body = request.json_body()["body"].as_str().unwrap().to_owned();
            match state.comments.iter_mut().find(|(existing, _)| *existing == id) {
                Some(entry) => {
                    entry.1 = body.clone();
                    (200, comment(id, &body))
                }
                None => (404, json!({ "message": "Not Found" })),
            }
        }
        _ => (404, json!({ "message": "Not Found" })),
    }
}

/// Writes a saved plan of environment `ai-dev` that raises the workers pool's maximum to `max`.
fn write_plan(dir: &Path, max: i64) -> PathBuf {
    let change = ResourceChange {
        address: "cluster.node_pool.workers".parse::<Address>().unwrap(),
        action: Action::Update,
        reasons: vec![ActionReason::AttributesDiffer],
        id: Some("hcp-ai/ai-workers".to_owned()),
        before: None,
        after: None,
        attribute_changes: vec![AttributeChange {
            path: "spec.autoScaling.max".to_owned(),
            before: Some(Value::Int(2)),
            after: Some(Value::Int(max)),
            forces_replacement: false,
        }],
        depends_on: BTreeSet::new(),
        disruption: Vec::new(),
        create_before_destroy: false,
    };
    let plan = Plan {
        format_version: PLAN_FORMAT_VERSION,
        environment: "ai-dev".to_owned(),
        changes: vec![change],
        fingerprint: "sha256:00".to_owned(),
    };
    let path = dir.join("ai-dev.plan");
    SavedPlan::new(dir.join("ai-dev.toml"), plan).write(&path).unwrap();
    path
}

/// Runs `tether comment github` for octo-org/infra#7 with only the GitHub variables given here.
fn comment(server: &MockGithub, plan: &Path, variables: &[(&str, &Path)]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_tether"));
    command.args(["comment", "github", "--repository", "octo-org/infra", "--pull-request", "7", "--plan"]);
    command.arg(plan).args(["--api-url", &server.url]);
    for (key, _) in std::env::vars().filter(|(key, _)| key.starts_with("GITHUB_")) {
        command.env_remove(key);
    }
    command.env("GITHUB_TOKEN", TOKEN);
    for (key, value) in variables {
        command.env(key, value);
    }
    command.output().expect("tether runs")
}

fn assert_github_headers(request: &Recorded) {
    assert_eq!(request.header("authorization"), Some(format!("Bearer {TOKEN}").as_str()), "{request:?}");
    assert_eq!(request.header("accept"), Some("application/vnd.github+json"), "{request:?}");
    assert_eq!(request.header("x-github-api-version"), Some("2022-11-28"), "{request:?}");
    assert!(request.header("user-agent").is_some_and(|agent| agent.starts_with("tether/")), "{request:?}");
}

#[test]
fn comment_created_then_updated() {
    let server = MockGithub::start();
    let dir = tempfile::tempdir().unwrap();
    // 120 earlier comments put tether's on the second page of the listing.
    server.state.lock().unwrap().comments = (1..=120).map(|id| (id, format!("LGTM {id}"))).collect();

    let first = comment(&server, &write_plan(dir.path(), 3), &[]);
    assert!(first.status.success(), "{}", describe(&first));
    let stdout = String::from_utf8_lossy(&first.stdout);
    assert!(stdout.contains("Created the plan comment for `ai-dev` on octo-org/infra#7"), "{stdout}");
    let requests = server.requests();
    let methods: Vec<(&str, &str)> =
        requests.iter().map(|request| (request.method.as_str(), request.path.as_str())).collect();
    assert_eq!(
        methods,
        [
            ("GET", "/repos/octo-org/infra/issues/7/comments?per_page=100&page=1"),
            ("GET", "/repos/octo-org/infra/issues/7/comments?per_page=100&page=2"),
            ("POST", "/repos/octo-org/infra/issues/7/comments"),
        ]
    );
    requests.iter().for_each(assert_github_headers);
    assert_eq!(requests[2].header("content-type"), Some("application/json"));
    let posted = requests[2].json_body()["body"].as_str().unwrap().to_owned();
    assert!(posted.starts_with("### tether plan for `ai-dev`: 0 to add, 1 to change, 0 to destroy\n"), "{posted}");
    assert!(posted.contains("+ spec.autoScaling.max = 3\n"), "{posted}");
    assert!(posted.contains("<!-- tether-plan environment=ai-dev -->"), "{posted}");

    let second = comment(&server, &write_plan(dir.path(), 4), &[]);
    assert!(second.status.success(), "{}", describe(&second));
    assert!(String::from_utf8_lossy(&second.stdout).contains("Updated the plan comment"), "{}", describe(&second));
    let requests = server.requests();
    let update = requests.last().unwrap();
    assert_eq!((update.method.as_str(), update.path.as_str()), ("PATCH", "/repos/octo-org/infra/issues/comments/1120"));
    assert_github_headers(update);
    assert!(!requests.iter().skip(3).any(|request| request.method == "POST"), "the second run creates nothing");
    let comments = server.comments();
    assert_eq!(comments.len(), 121, "one tether comment, edited in place");
    let (_, body) = comments.last().unwrap();
    assert!(body.contains("+ spec.autoScaling.max = 4\n"), "{body}");
    assert!(!body.contains("max = 3"), "{body}");
}

#[test]
fn comment_writes_step_summary() {
    let server = MockGithub::start();
    let dir = tempfile::tempdir().unwrap();
    let summary = dir.path().join("step-summary.md");
    std::fs::write(&summary, "earlier step\n").unwrap();
    let full = dir.path().join("full-plan.md");

    let output = Command::new(env!("CARGO_BIN_EXE_tether"))
        .args(["comment", "github", "--repository", "octo-org/infra", "--pull-request", "7"])
        .arg("--plan")
        .arg(write_plan(dir.path(), 3))
        .arg("--full-output")
        .arg(&full)
        .env_remove("GITHUB_API_URL")
        .env("GITHUB_API_URL", &server.url)
        .env("GITHUB_TOKEN", TOKEN)
        .env("GITHUB_STEP_SUMMARY", &summary)
        .env_remove("GITHUB_SERVER_URL")
        .env_remove("GITHUB_RUN_ID")
        .output()
        .unwrap();

    assert!(output.status.success(), "{}", describe(&output));
    let written = std::fs::read_to_string(&summary).unwrap();
    assert!(written.starts_with("earlier step\n### tether plan for `ai-dev`"), "appended, not replaced:\n{written}");
    assert!(written.contains("+ spec.autoScaling.max = 3\n"), "{written}");
    assert!(std::fs::read_to_string(&full).unwrap().contains("+ spec.autoScaling.max = 3\n"));
    assert_eq!(server.requests().last().unwrap().method, "POST", "GITHUB_API_URL sets the API base URL");
}

#[test]
fn comment_api_error_fails() {
    let server = MockGithub::start();
    server.state.lock().unwrap().error = Some(("GET", 403, "Resource not accessible by integration"));
    let dir = tempfile::tempdir().unwrap();

    let output = comment(&server, &write_plan(dir.path(), 3), &[]);
    assert_eq!(output.status.code(), Some(1), "{}", describe(&output));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("403"), "{stderr}");
    assert!(stderr.contains("Resource not accessible by integration"), "{stderr}");
    assert!(stderr.contains("the plan was not posted"), "{stderr}");
    assert!(!stderr.contains(TOKEN), "{stderr}");
    assert!(output.stdout.is_empty(), "nothing claims success:\n{}", describe(&output));
    assert_eq!(server.requests().len(), 1, "no write after a failed listing");
}

#[test]
fn comment_update_error_fails() {
    let server = MockGithub::start();
    let dir = tempfile::tempdir().unwrap();
    let plan = write_plan(dir.path(), 3);
    let created = comment(&server, &plan, &[]);
    assert!(created.status.success(), "{}", describe(&created));
    server.state.lock().unwrap().error = Some(("PATCH", 422, "Validation Failed"));

    let failed = comment(&server, &write_plan(dir.path(), 4), &[]);
    assert_eq!(failed.status.code(), Some(1), "{}", describe(&failed));
    let stderr = String::from_utf8_lossy(&failed.stderr);
    assert!(stderr.contains("cannot update comment 1000 on octo-org/infra#7"), "{stderr}");
    assert!(stderr.contains("422") && stderr.contains("Validation Failed"), "{stderr}");
    assert!(failed.stdout.is_empty(), "nothing claims success:\n{}", describe(&failed));
    assert!(server.comments()[0].1.contains("max = 3"), "the old comment stays");
}

#[test]
fn comment_needs_token() {
    let server = MockGithub::start();
    let dir = tempfile::tempdir().unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_tether"))
        .args(["comment", "github", "--repository", "octo-org/infra", "--pull-request", "7", "--api-url", &server.url])
        .arg("--plan")
        .arg(write_plan(dir.path(), 3))
        .env_remove("GITHUB_TOKEN")
        .output()
        .unwrap();

    assert_eq!(output.status.code(), Some(1), "{}", describe(&output));
    assert!(String::from_utf8_lossy(&output.stderr).contains("GITHUB_TOKEN is not set"), "{}", describe(&output));
    assert!(server.requests().is_empty());
}

#[test]
fn comment_rejects_plain_http_remote() {
    let dir = tempfile::tempdir().unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_tether"))
        .args(["comment", "github", "--repository", "octo-org/infra", "--pull-request", "7"])
        .args(["--api-url", "http://ghe.example.com/api/v3", "--plan"])
        .arg(write_plan(dir.path(), 3))
        .env("GITHUB_TOKEN", TOKEN)
        .output()
        .unwrap();

    assert_eq!(output.status.code(), Some(1), "{}", describe(&output));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("plain http is allowed only to a loopback address"), "{stderr}");
    assert!(!stderr.contains(TOKEN), "{stderr}");
}

#[test]
fn ci_examples_plan_comment_and_apply() {
    let examples = support::repository_root().join("examples/ci");
    for (file, comment_step) in [("github-actions.yml", "tether comment github"), ("gitlab-ci.yml", "/notes")] {
        let text = std::fs::read_to_string(examples.join(file)).unwrap();
        let parsed: Result<serde_yaml::Value, _> = serde_yaml::from_str(&text);
        assert!(parsed.is_ok(), "{file}: {parsed:?}");
        assert!(text.contains("tether plan -out"), "{file} saves the plan");
        assert!(text.contains(comment_step), "{file} comments");
        assert!(text.contains("tether apply \"$plan\""), "{file} applies the saved plan");
    }
}
