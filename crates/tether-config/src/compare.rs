//! Semantic comparison of two environments, setting by setting, with defaults filled in.

use serde_json::Value;

use crate::model::Environment;
use crate::promotable::{Promotion, SettingPath, classify};

/// One setting whose value differs between two environments.
#[derive(Debug, Clone, PartialEq)]
pub struct Difference {
    /// The setting, e.g. `pools.gpu.instance_type`.
    pub path: SettingPath,
    /// Whether `promote` may copy it.
    pub promotion: Promotion,
    /// The value in the first environment (the source of a promotion); `None` when it is not set.
    pub from: Option<Value>,
    /// The value in the second environment (the target of a promotion); `None` when it is not set.
    pub to: Option<Value>,
}

impl Difference {
    /// Returns true when `promote` may copy this difference.
    pub fn is_promotable(&self) -> bool {
        self.promotion == Promotion::Promotable
    }
}

/// Lists every setting whose value differs between `from` and `to`, in file order (declaration order
/// of the model, so `cluster.release_image` comes before the pools).
///
/// Tables and maps are compared key by key; arrays and scalars are compared whole. A table present on
/// one side only (e.g. a pool) is one difference at its own path.
pub fn compare(from: &Environment, to: &Environment) -> Vec<Difference> {
    let mut differences = Vec::new();
    compare_values(SettingPath::default(), Some(&to_json(from)), Some(&to_json(to)), &mut differences);
    differences
}

/// Converts an environment to JSON; serializing the model cannot fail because all its map keys are
/// strings.
pub(crate) fn to_json(environment: &Environment) -> Value {
    // unwrap: every map in the model has string keys, so serialization cannot fail.
    serde_json::to_value(environment).expect("the environment model always serializes")
}

fn compare_values(path: SettingPath, from: Option<&Value>, to: Option<&Value>, found: &mut Vec<Difference>) {
    if let (Some(Value::Object(left)), Some(Value::Object(right))) = (from, to) {
        let mut keys: Vec<&String> = left.keys().collect();
        keys.extend(right.keys().filter(|key| !left.contains_key(*key)));
        for key in keys {
            compare_values(path.child(key), left.get(key), right.get(key), found);
        }
        return;
    }
    if from == to {
        return;
    }
    let promotion = classify(&path).unwrap_or(Promotion::PerEnvironment);
    found.push(Difference { path, promotion, from: from.cloned(), to: to.cloned() });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Autoscaling, Pool, RootVolume};

    fn pool(instance_type: &str) -> Pool {
        Pool {
            instance_type: instance_type.to_owned(),
            replicas: None,
            autoscaling: Some(Autoscaling { min: 0, max: 2 }),
            taints: Vec::new(),
            labels: [("a".to_owned(), "b".to_owned())].into(),
            root_volume: RootVolume::default(),
            release_image: None,
        }
    }

    fn environment(text: &str) -> Environment {
        toml::from_str(text).expect("a valid environment")
    }

    const BASE: &str = r#"
        name = "dev"
        [cluster]
        name = "ai"
        namespace = "hcp"
        infra_id = "ai"
        base_domain = "example.com"
        release_image = "quay.io/ocp/release:4.21.12-x86_64"
        etcd_storage_class = "lvms"
        pull_secret_file = "pull.json"
        [aws]
        account_id = "123456789012"
        region = "ap-southeast-2"
        zones = ["ap-southeast-2a"]
        vpc_cidr = "10.1.0.0/16"
        [onprem]
        networks = ["192.168.6.0/24"]
        [subnet_router]
        instance_type = "t3.small"
        ami = "ami-12c6146b"
    "#;

    #[test]
    fn equal_environments_have_no_differences() {
        let environment = environment(BASE);

        assert!(compare(&environment, &environment).is_empty());
    }

    #[test]
    fn differences_are_classified_in_file_order() {
        let mut dev = environment(BASE);
        let mut prod = dev.clone();
        prod.name = "prod".to_owned();
        dev.cluster.release_image = "quay.io/ocp/release:4.21.13-x86_64".to_owned();
        dev.pools.insert("gpu".to_owned(), pool("g6.xlarge"));
        prod.pools.insert("gpu".to_owned(), pool("g5.xlarge"));
        dev.pools.insert("extra".to_owned(), pool("m6i.large"));

        let found = compare(&dev, &prod);

        let paths: Vec<String> = found.iter().map(|difference| difference.path.to_string()).collect();
        assert_eq!(paths, ["name", "cluster.release_image", "pools.extra", "pools.gpu.instance_type"]);
        let promotable: Vec<bool> = found.iter().map(Difference::is_promotable).collect();
        assert_eq!(promotable, [false, true, false, true]);
        assert_eq!(found[2].to, None);
    }
}
