//! Rules for names and the release image: DNS-1123 labels and subdomains, derived name lengths, pull specs.

use super::{Checker, SyntaxRule};
use crate::codes;
use crate::diagnostic::Diagnostic;
use crate::syntax::image::check_pull_spec;
use crate::syntax::names::{DNS_LABEL_MAX, check_dns_label, check_dns_subdomain};

pub(crate) const DNS_LABEL: SyntaxRule = SyntaxRule {
    code: codes::INVALID_DNS_LABEL,
    check: check_dns_label,
    label: "not a DNS-1123 label",
    help: "use 1 to 63 lowercase letters, digits and `-`, starting and ending with a letter or digit, e.g. `ai-dev`",
};

const DNS_SUBDOMAIN: SyntaxRule = SyntaxRule {
    code: codes::INVALID_DNS_SUBDOMAIN,
    check: check_dns_subdomain,
    label: "not a DNS-1123 subdomain",
    help: "use dot-separated parts of lowercase letters, digits and `-`, each starting and ending with a letter or digit, e.g. `hcp.example.com`",
};

pub(crate) const RELEASE_IMAGE: SyntaxRule = SyntaxRule {
    code: codes::INVALID_RELEASE_IMAGE,
    check: check_pull_spec,
    label: "not a pull spec with a tag or digest",
    help: "give `registry/repository:tag` or `registry/repository@sha256:<64 hex digits>`, e.g. `quay.io/openshift-release-dev/ocp-release:4.21.12-x86_64`",
};

/// Checks the environment's and the cluster's names and the cluster's release image.
pub(crate) fn check(checker: &mut Checker<'_>) {
    let environment = checker.environment;
    let cluster = &environment.cluster;

    checker.check_value(&["name"], "environment name", &environment.name, &DNS_LABEL);
    let name_ok = checker.check_value(&["cluster", "name"], "cluster name", &cluster.name, &DNS_LABEL);
    let namespace_ok = checker.check_value(&["cluster", "namespace"], "namespace", &cluster.namespace, &DNS_LABEL);
    if checker.check_value(&["cluster", "infra_id"], "infra id", &cluster.infra_id, &DNS_LABEL) {
        check_infra_id_length(checker);
    }
    checker.check_value(&["cluster", "base_domain"], "base domain", &cluster.base_domain, &DNS_SUBDOMAIN);
    checker.check_value(
        &["cluster", "etcd_storage_class"],
        "etcd storage class",
        &cluster.etcd_storage_class,
        &DNS_SUBDOMAIN,
    );
    checker.check_value(&["cluster", "release_image"], "release image", &cluster.release_image, &RELEASE_IMAGE);

    if name_ok && namespace_ok {
        check_control_plane_namespace(checker);
    }
}

/// The longest IAM role name tether builds from the infra id ends with this suffix. It is the
/// longest of the component role suffixes that `hcp create iam aws` uses.
const LONGEST_ROLE_SUFFIX: &str = "-cloud-network-config-controller";

/// Maximum length of an IAM role name, set by AWS IAM.
const IAM_ROLE_NAME_MAX: usize = 64;

/// Checks that every IAM role name `<infra id>-<component>` fits in [`IAM_ROLE_NAME_MAX`]. The infra
/// id is a valid DNS label already, so only its length can break a role name.
fn check_infra_id_length(checker: &mut Checker<'_>) {
    let infra_id = &checker.environment.cluster.infra_id;
    let max = IAM_ROLE_NAME_MAX - LONGEST_ROLE_SUFFIX.len();
    if infra_id.len() <= max {
        return;
    }

    let message = format!(
        "infra id `{infra_id}` is {} characters long, so the IAM role name `{infra_id}{LONGEST_ROLE_SUFFIX}` would be longer than {IAM_ROLE_NAME_MAX}",
        infra_id.len()
    );
    let diagnostic = Diagnostic::error(codes::INFRA_ID_TOO_LONG, message)
        .with_label(checker.value_span(&["cluster", "infra_id"]), format!("more than {max} characters"))
        .with_help(format!(
            "shorten `cluster.infra_id` to at most {max} characters; `hcp create cluster aws` makes infra ids of at most 27"
        ));
    checker.report(diagnostic);
}

/// HyperShift runs the control plane in the namespace `<namespace>-<cluster name>`, which must itself
/// be a DNS-1123 label.
fn check_control_plane_namespace(checker: &mut Checker<'_>) {
    let cluster = &checker.environment.cluster;
    let combined = format!("{}-{}", cluster.namespace, cluster.name);
    if combined.len() <= DNS_LABEL_MAX {
        return;
    }

    let message = format!(
        "control plane namespace `{combined}` (namespace `-` cluster name) is {} characters long, more than {DNS_LABEL_MAX}",
        combined.len()
    );
    let diagnostic = Diagnostic::error(codes::CONTROL_PLANE_NAMESPACE_TOO_LONG, message)
        .with_label(checker.value_span(&["cluster", "namespace"]), "namespace")
        .with_label(checker.value_span(&["cluster", "name"]), "cluster name")
        .with_help(format!(
            "shorten `cluster.namespace` or `cluster.name` so that together with the `-` between them they fit in {DNS_LABEL_MAX} characters"
        ));
    checker.report(diagnostic);
}
