//! Benchmark of the parallel apply: the wall time of applying an example environment with a fixed
//! latency on every AWS call, against the critical path of the plan's dependency graph.
//!
//! Each round starts a fresh moto behind tether-testkit's AWS proxy (which adds the latency and
//! serves calls concurrently, because moto serves one at a time) and a fresh Kubernetes test
//! server, then runs `tether apply --json`. A first round with `--parallelism 1` counts the AWS
//! calls of each change: with one change in flight, a call belongs to the change whose `finish`
//! event follows it. The critical path is the longest dependency chain, each change weighted by
//! its call count times the latency. The Kubernetes test server adds no latency, so cluster
//! changes weigh nothing.
//!
//! Run it with `scripts/bench-apply`, or `cargo bench -p tether-cli --bench apply_latency -- --help`.

// The end-to-end tests' harness: fresh emulators, the example's files and the `tether` command.
#[path = "../tests/support/mod.rs"]
mod support;

use std::collections::BTreeMap;
use std::io::BufRead as _;
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail, ensure};
use serde_json::Value;
use support::Harness;
use tether_testkit::aws_proxy::AwsCall;

/// Settings from the command line.
#[derive(Debug)]
struct Settings {
    rounds: usize,
    latency: Duration,
    parallelism: u16,
    example: String,
    /// Print each measured round's events and AWS calls with their times.
    timeline: bool,
}

fn usage() -> &'static str {
    "usage: apply_latency [--rounds N (5)] [--latency-ms MS (100)] [--parallelism N (10)] [--example NAME (ai-dev.toml)] [--timeline]"
}

fn parse_settings() -> anyhow::Result<Settings> {
    let mut settings = Settings {
        rounds: 5,
        latency: Duration::from_millis(100),
        parallelism: 10,
        example: "ai-dev.toml".to_owned(),
        timeline: false,
    };
    // `cargo bench` passes `--bench` to every bench target; it means nothing here.
    let mut args = std::env::args().skip(1).filter(|arg| arg != "--bench");
    while let Some(flag) = args.next() {
        if flag == "--help" || flag == "-h" {
            println!("{}", usage());
            std::process::exit(0);
        }
        if flag == "--timeline" {
            settings.timeline = true;
            continue;
        }
        let value = args.next().with_context(|| format!("{flag} needs a value; {}", usage()))?;
        let invalid = || format!("invalid value {value:?} for {flag}; {}", usage());
        match flag.as_str() {
            "--rounds" => settings.rounds = value.parse().with_context(invalid)?,
            "--latency-ms" => settings.latency = Duration::from_millis(value.parse().with_context(invalid)?),
            "--parallelism" => settings.parallelism = value.parse().with_context(invalid)?,
            "--example" => settings.example = value,
            _ => bail!("unknown argument {flag}; {}", usage()),
        }
    }
    ensure!(settings.rounds > 0, "--rounds must be at least 1");
    ensure!(settings.parallelism > 0, "--parallelism must be at least 1");
    Ok(settings)
}

/// One line of `tether apply --json` with the moment the benchmark read it.
struct Event {
    json: Value,
    received: Instant,
}

/// The output of one apply.
struct Round {
    events: Vec<Event>,
    calls: Vec<AwsCall>,
    /// From spawning `tether` to its exit.
    command: Duration,
}

impl Round {
    /// Returns the walk's duration as tether measured it: from its first `start` event to its
    /// `summary` event, in the events' own timestamps.
    fn walk(&self) -> anyhow::Result<Duration> {
        let timestamp = |kind: &str| -> anyhow::Result<jiff::Timestamp> {
            let event = self.events.iter().find(|event| event.json["type"] == kind);
            let text = event.and_then(|event| event.json["timestamp"].as_str()).context("event missing")?;
            Ok(text.parse()?)
        };
        let span = timestamp("summary")?.duration_since(timestamp("start")?);
        Ok(Duration::try_from(span)?)
    }
}

/// Applies the example once against fresh emulators.
fn apply_once(settings: &Settings, parallelism: u16) -> anyhow::Result<Round> {
    let harness = Harness::start_with_proxy();
    let proxy = harness.proxy();
    let file = harness.example(&settings.example);
    let file = file.to_str().context("the scratch folder's path is UTF-8")?;
    proxy.reset_calls();
    proxy.set_latency(settings.latency);

    let parallelism = parallelism.to_string();
    let mut command = harness.command(&["apply", "--json", "--auto-approve", "--parallelism", &parallelism, file]);
    command.env_remove("RUST_LOG").stdout(Stdio::piped()).stderr(Stdio::piped());

    let started = Instant::now();
    let mut child = command.spawn().context("tether starts")?;
    let stdout = child.stdout.take().context("stdout is piped")?;
    let mut events = Vec::new();
    for line in std::io::BufReader::new(stdout).lines() {
        let json = serde_json::from_str(&line?)?;
        events.push(Event { json, received: Instant::now() });
    }
    let output = child.wait_with_output()?;
    let command_time = started.elapsed();
    ensure!(output.status.success(), "tether apply failed:\n{}", String::from_utf8_lossy(&output.stderr));
    Ok(Round { events, calls: proxy.calls(), command: command_time })
}

/// Counts the AWS calls of each change in a round run with `--parallelism 1`. Calls that end
/// before the plan event belong to observation and are not counted.
fn calls_per_change(round: &Round) -> anyhow::Result<BTreeMap<String, usize>> {
    let plan_read =
        round.events.first().filter(|event| event.json["type"] == "plan").context("no plan event")?.received;
    let finishes: Vec<(&str, Instant)> = round
        .events
        .iter()
        .filter(|event| event.json["type"] == "finish")
        .map(|event| (event.json["address"].as_str().unwrap_or_default(), event.received))
        .collect();

    let mut counts: BTreeMap<String, usize> = finishes.iter().map(|(address, _)| ((*address).to_owned(), 0)).collect();
    for call in round.calls.iter().filter(|call| call.finished > plan_read) {
        let (address, _) = finishes
            .iter()
            .find(|(_, received)| *received >= call.finished)
            .with_context(|| format!("the call {} ended after the last change", call.action))?;
        *counts.entry((*address).to_owned()).or_default() += 1;
    }
    Ok(counts)
}

/// Returns the longest chain of the plan's dependency graph, weighted by `weight`, and its
/// changes from first to last.
fn critical_path(plan: &Value, weight: impl Fn(&str) -> Duration) -> anyhow::Result<(Duration, Vec<String>)> {
    let changes = plan["resource_changes"].as_array().context("the plan has no resource_changes")?;
    let mut depends_on: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for change in changes {
        let address = change["address"].as_str().context("a change has no address")?;
        let dependencies = change["depends_on"].as_array().map(Vec::as_slice).unwrap_or_default();
        depends_on.insert(address, dependencies.iter().filter_map(Value::as_str).collect());
    }

    // The graph is acyclic and has a few dozen nodes, so a memoised depth-first walk suffices.
    fn longest<'a>(
        address: &'a str,
        depends_on: &BTreeMap<&'a str, Vec<&'a str>>,
        weight: &dyn Fn(&str) -> Duration,
        memo: &mut BTreeMap<&'a str, (Duration, Vec<String>)>,
    ) -> (Duration, Vec<String>) {
        if let Some(known) = memo.get(address) {
            return known.clone();
        }
        let mut best = (Duration::ZERO, Vec::new());
        for dependency in depends_on.get(address).into_iter().flatten() {
            let candidate = longest(dependency, depends_on, weight, memo);
            if candidate.0 > best.0 {
                best = candidate;
            }
        }
        best.0 += weight(address);
        best.1.push(address.to_owned());
        memo.insert(address, best.clone());
        best
    }

    let mut memo = BTreeMap::new();
    let addresses: Vec<&str> = depends_on.keys().copied().collect();
    let paths = addresses.into_iter().map(|address| longest(address, &depends_on, &weight, &mut memo));
    paths.max_by_key(|(length, _)| *length).context("the plan has no changes")
}

/// Prints the round's events and AWS calls in time order, in milliseconds since the plan event
/// was read. A call's duration is the latency plus moto's own time plus the time the call waited
/// for moto, which serves one call at a time.
fn print_timeline(round: &Round) {
    let Some(origin) = round.events.first().map(|event| event.received) else { return };
    let offset = |at: Instant| at.saturating_duration_since(origin).as_millis();
    let mut lines: Vec<(u128, String)> = Vec::new();
    for event in &round.events[1..] {
        let address = event.json["address"].as_str().unwrap_or_default();
        lines.push((offset(event.received), format!("{} {address}", event.json["type"].as_str().unwrap_or_default())));
    }
    for call in round.calls.iter().filter(|call| call.finished > origin) {
        let took = call.finished.saturating_duration_since(call.started).as_millis();
        lines.push((offset(call.started), format!("    call {} {} ({took} ms)", call.service, call.action)));
    }
    lines.sort_by_key(|(at, _)| *at);
    for (at, line) in lines {
        println!("  {at:>6} ms {line}");
    }
}

fn median(mut values: Vec<Duration>) -> Duration {
    values.sort_unstable();
    let middle = values.len() / 2;
    if values.len() % 2 == 1 { values[middle] } else { (values[middle - 1] + values[middle]) / 2 }
}

fn seconds(duration: Duration) -> String {
    format!("{:.3} s", duration.as_secs_f64())
}

fn main() -> anyhow::Result<()> {
    let settings = parse_settings()?;
    let latency_ms = settings.latency.as_millis();
    println!("apply_latency: {} with {latency_ms} ms per AWS call, {} rounds", settings.example, settings.rounds);

    let calibration = apply_once(&settings, 1)?;
    let counts = calls_per_change(&calibration)?;
    let plan = &calibration.events[0].json["plan"];
    let weight = |address: &str| settings.latency * counts.get(address).copied().unwrap_or(0) as u32;
    let (critical, path) = critical_path(plan, weight)?;
    let walk_calls: usize = counts.values().sum();
    println!("calibration (--parallelism 1): {walk_calls} AWS calls in {} changes", counts.len());
    println!("  serial walk: {}", seconds(calibration.walk()?));
    println!("critical path: {} ({} changes):", seconds(critical), path.len());
    for address in &path {
        println!("  {address}: {} calls", counts.get(address).copied().unwrap_or(0));
    }

    let mut walks = Vec::new();
    let mut commands = Vec::new();
    for round in 1..=settings.rounds {
        let measured = apply_once(&settings, settings.parallelism)?;
        let walk = measured.walk()?;
        println!(
            "round {round}: walk {}, whole command {}, ratio {:.2}",
            seconds(walk),
            seconds(measured.command),
            walk.as_secs_f64() / critical.as_secs_f64()
        );
        if settings.timeline {
            print_timeline(&measured);
        }
        walks.push(walk);
        commands.push(measured.command);
    }

    let walk = median(walks);
    println!("median walk: {} (--parallelism {})", seconds(walk), settings.parallelism);
    println!("median whole command: {}", seconds(median(commands)));
    println!("ratio of median walk to critical path: {:.2}", walk.as_secs_f64() / critical.as_secs_f64());
    Ok(())
}
