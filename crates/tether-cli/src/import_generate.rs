//! `tether import --generate`: write an environment file that describes an existing environment
//! as closely as the file can express it, marking each value it had to guess.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context as _, bail};
use tether_aws::{Candidate, Kind};
use tether_kube::{FoundObject, KindRef};
use tether_model::{Attributes, Value};

use crate::args::ImportArgs;
use crate::exit::Failure;

const HYPERSHIFT_API: &str = "hypershift.openshift.io/v1beta1";

/// The existing environment, as far as generation needs it.
struct Existing {
    infra_id: String,
    namespace: String,
    name: String,
    region: String,
    vpc_cidr: Option<String>,
    /// Zones of the private subnets, in HyperShift's zone order (by subnet CIDR).
    zones: Vec<String>,
    /// Number of NAT gateways named `<infra id>-nat-<zone>`: one for several zones means `hcp`
    /// ran with `--single-nat-gateway`.
    nat_gateways: usize,
    hosted_cluster: Option<Attributes>,
    node_pools: Vec<FoundObject>,
}

pub async fn run(args: &ImportArgs, out: &Path) -> Result<ExitCode, Failure> {
    let (Some(infra_id), Some(namespace), Some(name)) = (&args.infra_id, &args.namespace, &args.name) else {
        return Err(anyhow::anyhow!("--generate needs --infra-id, --namespace and --name").into());
    };
    if out.exists() {
        return Err(
            anyhow::anyhow!("{} exists; tether does not overwrite it, so choose another path", out.display()).into()
        );
    }

    let kube_options = tether_kube::KubeOptions { kubeconfig: args.kubeconfig.clone(), context: args.context.clone() };
    let kube =
        tether_kube::TetherKube::connect(&kube_options).await.context("cannot connect to the management cluster")?;
    let hosted_clusters = find(&kube, "HostedCluster", namespace).await?;
    let hosted_cluster = hosted_clusters
        .into_iter()
        .find(|object| object.id == format!("{namespace}/{name}"))
        .map(|object| object.attributes);
    let mut node_pools = find(&kube, "NodePool", namespace).await?;
    node_pools.sort_by(|left, right| left.id.cmp(&right.id));

    let region = region(hosted_cluster.as_ref(), &args.region);
    let provider = tether_aws::AwsProvider::from_environment(&region).await;
    let candidates = provider.discover(infra_id, &BTreeMap::new()).await.context("cannot list AWS resources")?;

    let existing = Existing {
        infra_id: infra_id.clone(),
        namespace: namespace.clone(),
        name: name.clone(),
        region,
        vpc_cidr: vpc_cidr(&candidates, infra_id)?,
        zones: zones(&candidates, infra_id),
        nat_gateways: nat_gateways(&candidates, infra_id),
        hosted_cluster,
        node_pools: node_pools
            .into_iter()
            .filter(|pool| text(&pool.attributes, &["spec", "clusterName"]) == Some(name))
            .collect(),
    };
    let (file, guessed) = render(&existing);
    std::fs::write(out, file).with_context(|| format!("cannot write {}", out.display()))?;
    eprintln!(
        "Wrote {}. {guessed} values are guessed and marked `# guessed:`; check them, write the pull secret file it names, then run `tether import {}`.",
        out.display(),
        out.display()
    );
    Ok(ExitCode::SUCCESS)
}

/// Picks the region to list AWS in: the HostedCluster's `spec.platform.aws.region`, which names where its
/// VPC is, else `--region`. A difference is reported on stderr, because `--region` has a default
/// that a user may not have meant.
fn region(hosted_cluster: Option<&Attributes>, requested: &str) -> String {
    let Some(found) = hosted_cluster.and_then(|cluster| text(cluster, &["spec", "platform", "aws", "region"])) else {
        return requested.to_owned();
    };
    if found != requested {
        eprintln!("The HostedCluster is in region {found}, so AWS is listed there, not in {requested} (--region).");
    }
    found.to_owned()
}

async fn find(kube: &tether_kube::TetherKube, kind: &str, namespace: &str) -> anyhow::Result<Vec<FoundObject>> {
    let kind = KindRef { api_version: HYPERSHIFT_API.to_owned(), kind: kind.to_owned() };
    kube.find_objects(&kind, Some(namespace)).await.with_context(|| format!("cannot list {kind} in {namespace}"))
}

/// The CIDR of the VPC named `<infra id>-vpc`.
///
/// # Errors
/// Fails when several VPCs carry that name.
fn vpc_cidr(candidates: &[Candidate], infra_id: &str) -> anyhow::Result<Option<String>> {
    let name = format!("{infra_id}-vpc");
    let vpcs: Vec<&Candidate> = candidates
        .iter()
        .filter(|candidate| candidate.kind == Kind::Vpc && candidate.tag("Name") == Some(&name))
        .collect();
    match vpcs.as_slice() {
        [] => Ok(None),
        [vpc] => Ok(vpc.attributes.get("cidr_block").and_then(Value::as_str).map(str::to_owned)),
        _ => {
            let ids: Vec<&str> = vpcs.iter().map(|vpc| vpc.id.as_str()).collect();
            bail!("{} VPCs are named `{name}` ({}); remove or rename the extra ones first", ids.len(), ids.join(", "))
        }
    }
}

/// The zones of the `<infra id>-private-<zone>` subnets, ordered by CIDR as HyperShift numbers them.
fn zones(candidates: &[Candidate], infra_id: &str) -> Vec<String> {
    let prefix = format!("{infra_id}-private-");
    let mut private: Vec<(std::net::Ipv4Addr, String)> = candidates
        .iter()
        .filter(|candidate| candidate.kind == Kind::Subnet)
        .filter_map(|subnet| {
            let zone = subnet.tag("Name")?.strip_prefix(&prefix)?.to_owned();
            let cidr = subnet.attributes.get("cidr_block")?.as_str()?;
            Some((cidr.split('/').next()?.parse().ok()?, zone))
        })
        .collect();
    private.sort();
    private.into_iter().map(|(_, zone)| zone).collect()
}

/// Counts the NAT gateways that `hcp` named for `infra_id`.
fn nat_gateways(candidates: &[Candidate], infra_id: &str) -> usize {
    let prefix = format!("{infra_id}-nat-");
    let named = |candidate: &&Candidate| candidate.tag("Name").is_some_and(|name| name.starts_with(&prefix));
    candidates.iter().filter(|candidate| candidate.kind == Kind::NatGateway).filter(named).count()
}

fn text<'a>(attributes: &'a Attributes, path: &[&str]) -> Option<&'a str> {
    let (first, rest) = path.split_first()?;
    attributes.get(*first)?.get_path(rest)?.as_str()
}

fn value<'a>(attributes: &'a Attributes, path: &[&str]) -> Option<&'a Value> {
    let (first, rest) = path.split_first()?;
    attributes.get(*first)?.get_path(rest)
}

/// The first `cidr` of a HostedCluster network list such as `spec.networking.clusterNetwork`.
fn first_cidr(attributes: &Attributes, path: &[&str]) -> Option<String> {
    let Value::List(items) = value(attributes, path)? else { return None };
    Some(items.first()?.get_path(&["cidr"])?.as_str()?.to_owned())
}

/// The AWS account in the HostedCluster's role ARNs, `arn:aws:iam::<account>:role/…`.
fn account_id(hosted_cluster: &Attributes) -> Option<String> {
    let roles = value(hosted_cluster, &["spec", "platform", "aws", "rolesRef"])?.as_map()?;
    roles.values().filter_map(Value::as_str).find_map(|arn| {
        let account = arn.strip_prefix("arn:aws:iam::")?.split(':').next()?;
        (account.len() == 12 && account.chars().all(|c| c.is_ascii_digit())).then(|| account.to_owned())
    })
}

/// The OIDC bucket and its region in an issuer URL
/// `https://<bucket>.s3.<region>.amazonaws.com/<infra id>`.
fn oidc_bucket<'a>(url: &'a str, infra_id: &str) -> Option<(&'a str, &'a str)> {
    let host = url.strip_prefix("https://")?.strip_suffix(&format!("/{infra_id}"))?;
    let (bucket, rest) = host.split_once(".s3.")?;
    let region = rest.strip_suffix(".amazonaws.com")?;
    Some((bucket, region))
}

/// A TOML document written line by line, counting guessed values.
#[derive(Default)]
struct Document {
    text: String,
    guessed: usize,
}

impl Document {
    fn line(&mut self, line: &str) {
        self.text.push_str(line);
        self.text.push('\n');
    }

    /// Writes `key = value`, with a `# guessed: why` comment when `guess` is set.
    fn entry(&mut self, key: &str, value: &str, guess: Option<&str>) {
        match guess {
            Some(why) => {
                self.guessed += 1;
                let _ = writeln!(self.text, "{key} = {value}   # guessed: {why}");
            }
            None => {
                let _ = writeln!(self.text, "{key} = {value}");
            }
        }
    }

    /// Writes a string entry: the found value, or `fallback` marked as guessed.
    fn string(&mut self, key: &str, found: Option<&str>, fallback: &str, why: &str) {
        match found {
            Some(found) => self.entry(key, &quote(found), None),
            None => self.entry(key, &quote(fallback), Some(why)),
        }
    }
}

/// A TOML basic string. JSON's escapes are all valid in TOML basic strings.
fn quote(text: &str) -> String {
    serde_json::to_string(text).unwrap_or_else(|_| "\"\"".to_owned())
}

fn render(existing: &Existing) -> (String, usize) {
    let mut document = Document::default();
    let no_cluster = "no HostedCluster found";
    let hosted_cluster = existing.hosted_cluster.as_ref();
    let found = |path: &[&str]| hosted_cluster.and_then(|cluster| text(cluster, path));
    let cluster_release = found(&["spec", "release", "image"]);

    let _ = writeln!(document.text, "# Generated by `tether import --generate` from infra id {}.", existing.infra_id);
    document.line("# Values marked `# guessed:` were not found in AWS or on the management cluster; check them.");
    document.entry("name", &quote(&existing.name), Some("the environment's name; tether tags and labels carry it"));
    document.line("");
    document.line("[cluster]");
    document.entry("name", &quote(&existing.name), None);
    document.entry("namespace", &quote(&existing.namespace), None);
    document.entry("infra_id", &quote(&existing.infra_id), None);
    document.string("base_domain", found(&["spec", "dns", "baseDomain"]), "example.com", no_cluster);
    document.string(
        "release_image",
        cluster_release,
        "quay.io/openshift-release-dev/ocp-release:4.21.0-x86_64",
        no_cluster,
    );
    let storage_class = found(&["spec", "etcd", "managed", "storage", "persistentVolume", "storageClassName"]);
    document.string("etcd_storage_class", storage_class, "gp3-csi", "hcp's default");
    let secret = found(&["spec", "pullSecret", "name"]).unwrap_or("the pull secret");
    let why = format!("tether never copies a secret: save the Secret `{secret}` here");
    document.entry("pull_secret_file", &quote("pull-secret.json"), Some(&why));
    for (key, path) in [("cluster_network", "clusterNetwork"), ("service_network", "serviceNetwork")] {
        if let Some(cidr) = hosted_cluster.and_then(|cluster| first_cidr(cluster, &["spec", "networking", path])) {
            document.entry(key, &quote(&cidr), None);
        }
    }

    document.line("");
    document.line("[aws]");
    let account = hosted_cluster.and_then(account_id);
    document.string("account_id", account.as_deref(), "000000000000", "no role ARN names the account");
    document.entry("region", &quote(&existing.region), None);
    if existing.zones.is_empty() {
        let zone = format!("{}a", existing.region);
        document.entry("zones", &format!("[{}]", quote(&zone)), Some("no private subnet found"));
    } else {
        let zones: Vec<String> = existing.zones.iter().map(|zone| quote(zone)).collect();
        document.entry("zones", &format!("[{}]", zones.join(", ")), None);
    }
    document.string("vpc_cidr", existing.vpc_cidr.as_deref(), "10.0.0.0/16", "no VPC found");
    if existing.zones.len() > 1 && existing.nat_gateways == 1 {
        document.entry("nat", &quote("single"), None);
    }
    let issuer = found(&["spec", "issuerURL"]).and_then(|url| oidc_bucket(url, &existing.infra_id));
    if let Some((bucket, region)) = issuer {
        document.entry("oidc_bucket", &quote(bucket), None);
        if region != existing.region {
            document.entry("oidc_bucket_region", &quote(region), None);
        }
    }

    document.line("");
    document.line("[onprem]");
    document.entry("networks", "[\"192.168.0.0/24\"]", Some("AWS does not know the on-prem networks"));
    document.line("# Routes on the management cluster's nodes ([[onprem.routes]]) are not generated; add yours.");

    document.line("");
    document.line("[subnet_router]");
    document.entry("instance_type", &quote("t3.small"), Some("name a router made by hand in [import] below"));
    document.entry("ami", &quote("ami-00000000"), Some("pin the AMI of your router"));
    document.line("");
    document.line("# [import]");
    document.line("# subnet_router_instance = \"i-...\"          # a subnet router made by hand");
    document.line("# subnet_router_security_group = \"sg-...\"");

    for pool in &existing.node_pools {
        render_pool(&mut document, &existing.name, pool, cluster_release);
    }
    let guessed = document.guessed;
    (document.text, guessed)
}

fn render_pool(document: &mut Document, cluster: &str, pool: &FoundObject, cluster_release: Option<&str>) {
    let attributes = &pool.attributes;
    let object_name = text(attributes, &["metadata", "name"]).unwrap_or_default();
    document.line("");
    match object_name.strip_prefix(&format!("{cluster}-")) {
        Some(name) => {
            let _ = writeln!(document.text, "[pools.{}]", quote(name));
        }
        None => {
            document.guessed += 1;
            let _ = writeln!(
                document.text,
                "[pools.{}]   # guessed: tether names NodePools `{cluster}-<pool>`, so this one is created anew",
                quote(object_name)
            );
        }
    }
    let aws = |key: &str| value(attributes, &["spec", "platform", "aws", key]);
    document.string(
        "instance_type",
        aws("instanceType").and_then(Value::as_str),
        "m6i.xlarge",
        "the NodePool names no instance type",
    );
    match value(attributes, &["spec", "autoScaling"]) {
        Some(scaling) => {
            let bound = |key: &str| scaling.get_path(&[key]).and_then(Value::as_int).unwrap_or_default();
            document.entry("autoscaling", &format!("{{ min = {}, max = {} }}", bound("min"), bound("max")), None);
        }
        None => {
            let replicas = value(attributes, &["spec", "replicas"]).and_then(Value::as_int);
            match replicas {
                Some(replicas) => document.entry("replicas", &replicas.to_string(), None),
                None => document.entry("replicas", "0", Some("the NodePool sets no replicas")),
            }
        }
    }
    if let Some(Value::List(taints)) = value(attributes, &["spec", "taints"]) {
        let taints: Vec<String> = taints.iter().filter_map(taint).collect();
        if !taints.is_empty() {
            document.entry("taints", &format!("[{}]", taints.join(", ")), None);
        }
    }
    if let Some(labels) = value(attributes, &["spec", "nodeLabels"]).and_then(Value::as_map) {
        let labels: Vec<String> = labels
            .iter()
            .filter_map(|(key, value)| Some(format!("{} = {}", quote(key), quote(value.as_str()?))))
            .collect();
        if !labels.is_empty() {
            document.entry("labels", &format!("{{ {} }}", labels.join(", ")), None);
        }
    }
    if let Some(volume) = aws("rootVolume") {
        let size = volume.get_path(&["size"]).and_then(Value::as_int).unwrap_or(120);
        let kind = volume.get_path(&["type"]).and_then(Value::as_str).unwrap_or("gp3");
        document.entry("root_volume", &format!("{{ size_gib = {size}, type = {} }}", quote(kind)), None);
    }
    let release = text(attributes, &["spec", "release", "image"]);
    if let Some(release) = release.filter(|release| Some(*release) != cluster_release) {
        document.entry("release_image", &quote(release), None);
    }
}

/// A taint as an inline TOML table.
fn taint(value: &Value) -> Option<String> {
    let key = value.get_path(&["key"])?.as_str()?;
    let effect = value.get_path(&["effect"])?.as_str()?;
    let value = value.get_path(&["value"]).and_then(Value::as_str);
    let value = value.map(|value| format!(", value = {}", quote(value))).unwrap_or_default();
    Some(format!("{{ key = {}{value}, effect = {} }}", quote(key), quote(effect)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn subnet(name: &str, cidr: &str) -> Candidate {
        let tags = Value::map([("Name", Value::from(name))]);
        let attributes = Attributes::from([("tags".to_owned(), tags), ("cidr_block".to_owned(), Value::from(cidr))]);
        Candidate { kind: Kind::Subnet, id: format!("subnet-{name}"), attributes }
    }

    #[test]
    fn zones_follow_the_private_subnet_order() {
        let candidates = [
            subnet("ai-private-b", "10.0.144.0/20"),
            subnet("ai-public-a", "10.0.0.0/20"),
            subnet("ai-private-a", "10.0.128.0/20"),
        ];
        assert_eq!(zones(&candidates, "ai"), ["a", "b"]);
    }

    #[test]
    fn account_read_from_role_arns() {
        let roles = Value::map([("ingressARN", Value::from("arn:aws:iam::123456789012:role/ai-openshift-ingress"))]);
        let spec = Value::map([("platform", Value::map([("aws", Value::map([("rolesRef", roles)]))]))]);
        let cluster = Attributes::from([("spec".to_owned(), spec)]);
        assert_eq!(account_id(&cluster).as_deref(), Some("123456789012"));
    }

    #[test]
    fn guessed_values_are_marked_and_counted() {
        let existing = Existing {
            infra_id: "ai".to_owned(),
            namespace: "clusters".to_owned(),
            name: "ai".to_owned(),
            region: "us-east-1".to_owned(),
            vpc_cidr: Some("10.0.0.0/16".to_owned()),
            zones: vec!["us-east-1a".to_owned()],
            nat_gateways: 1,
            hosted_cluster: None,
            node_pools: Vec::new(),
        };
        let (text, guessed) = render(&existing);
        assert!(text.contains("vpc_cidr = \"10.0.0.0/16\"\n"), "{text}");
        assert!(text.contains("base_domain = \"example.com\"   # guessed: no HostedCluster found"), "{text}");
        assert_eq!(guessed, text.matches("   # guessed:").count());
        assert!(!text.contains("nat ="), "one zone with one NAT gateway is the default layout:\n{text}");
    }

    #[test]
    fn single_nat_gateway_detected() {
        let nat = |name: &str| {
            let tags = Value::map([("Name", Value::from(name))]);
            Candidate {
                kind: Kind::NatGateway,
                id: format!("nat-{name}"),
                attributes: Attributes::from([("tags".to_owned(), tags)]),
            }
        };
        assert_eq!(nat_gateways(&[nat("ai-nat-a"), nat("other-nat-a")], "ai"), 1);
        let existing = Existing {
            infra_id: "ai".to_owned(),
            namespace: "clusters".to_owned(),
            name: "ai".to_owned(),
            region: "us-east-1".to_owned(),
            vpc_cidr: Some("10.0.0.0/16".to_owned()),
            zones: vec!["us-east-1a".to_owned(), "us-east-1b".to_owned()],
            nat_gateways: 1,
            hosted_cluster: None,
            node_pools: Vec::new(),
        };
        let (text, _) = render(&existing);
        assert!(text.contains("nat = \"single\"\n"), "{text}");
    }

    #[test]
    fn region_taken_from_hosted_cluster() {
        let aws = Value::map([("region", Value::from("ap-southeast-2"))]);
        let spec = Value::map([("platform", Value::map([("aws", aws)]))]);
        let cluster = Attributes::from([("spec".to_owned(), spec)]);
        assert_eq!(region(Some(&cluster), "us-east-1"), "ap-southeast-2");
        assert_eq!(region(None, "us-east-1"), "us-east-1");
    }

    #[test]
    fn oidc_bucket_read_from_issuer() {
        let url = "https://hypershift-oidc-1.s3.us-east-2.amazonaws.com/ai";
        assert_eq!(oidc_bucket(url, "ai"), Some(("hypershift-oidc-1", "us-east-2")));
        assert_eq!(oidc_bucket("https://issuer.example.com/ai", "ai"), None);
    }

    #[test]
    fn taints_written_inline() {
        let value = Value::map([
            ("key", Value::from("nvidia.com/gpu")),
            ("value", Value::from("present")),
            ("effect", Value::from("NoSchedule")),
        ]);
        assert_eq!(taint(&value).unwrap(), r#"{ key = "nvidia.com/gpu", value = "present", effect = "NoSchedule" }"#);
    }
}
