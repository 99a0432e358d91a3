//! Ownership marks: the tags and labels by which tether finds what it manages.

use tether_model::{Address, Value};

pub use tether_model::marks::{
    ADDRESS as ADDRESS_MARK, ENVIRONMENT as ENVIRONMENT_MARK, MANAGED_BY_LABEL, MANAGED_BY_VALUE,
};

/// Identity shared by every resource of one environment.
#[derive(Debug, Clone)]
pub(crate) struct Owner {
    pub environment: String,
    pub infra_id: String,
    pub cluster_name: String,
}

impl Owner {
    /// Builds the AWS tags of a resource: HyperShift's cluster tags (so `hypershift destroy infra aws`
    /// still finds it), its `Name`, and tether's marks.
    pub fn aws_tags(&self, address: &Address, name: &str) -> Value {
        Value::map([
            (format!("kubernetes.io/cluster/{}", self.infra_id), Value::from("owned")),
            ("hypershift.openshift.io/infra-id".to_owned(), Value::from(self.infra_id.as_str())),
            ("hypershift.openshift.io/cluster-name".to_owned(), Value::from(self.cluster_name.as_str())),
            ("Name".to_owned(), Value::from(name)),
            (ENVIRONMENT_MARK.to_owned(), Value::from(self.environment.as_str())),
            (ADDRESS_MARK.to_owned(), Value::string(address.to_string())),
        ])
    }

    /// Kubernetes `metadata` with tether's labels and address annotation.
    pub fn kube_metadata(
        &self,
        address: &Address,
        name: &str,
        namespace: Option<&str>,
        extra_labels: &[(&str, &str)],
    ) -> Value {
        let mut labels = vec![
            (MANAGED_BY_LABEL.to_owned(), Value::from(MANAGED_BY_VALUE)),
            (ENVIRONMENT_MARK.to_owned(), Value::from(self.environment.as_str())),
        ];
        labels.extend(extra_labels.iter().map(|(key, value)| ((*key).to_owned(), Value::from(*value))));
        let mut metadata = vec![
            ("name", Value::from(name)),
            ("labels", Value::map(labels)),
            ("annotations", Value::map([(ADDRESS_MARK, Value::string(address.to_string()))])),
        ];
        if let Some(namespace) = namespace {
            metadata.push(("namespace", Value::from(namespace)));
        }
        Value::map(metadata)
    }
}
