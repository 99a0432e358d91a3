//! Container image pull specs: `registry/repository[:tag][@sha256:digest]`, with a tag or digest.

/// Maximum length of an image tag, from the OCI distribution spec.
const TAG_MAX: usize = 128;

/// Checks a pull spec that names a registry host, a lowercase repository path and a tag, a digest
/// or both, e.g. `quay.io/openshift-release-dev/ocp-release:4.21.12-x86_64`.
pub(crate) fn check_pull_spec(spec: &str) -> Result<(), String> {
    let (name_and_tag, digest) = match spec.split_once('@') {
        Some((name_and_tag, digest)) => (name_and_tag, Some(digest)),
        None => (spec, None),
    };
    if let Some(digest) = digest {
        check_digest(digest)?;
    }

    let (name, tag) = split_tag(name_and_tag);
    if let Some(tag) = tag {
        check_tag(tag)?;
    }
    if tag.is_none() && digest.is_none() {
        return Err("has neither a tag nor a digest".to_owned());
    }

    let Some((registry, repository)) = name.split_once('/') else {
        return Err("has no registry host, e.g. `quay.io/`".to_owned());
    };
    check_registry(registry)?;
    check_repository(repository)
}

/// Splits `name:tag` at the last `:` that comes after the last `/`; a `:` before it is a port.
fn split_tag(name_and_tag: &str) -> (&str, Option<&str>) {
    let last_slash = name_and_tag.rfind('/').unwrap_or(0);
    match name_and_tag.rfind(':') {
        Some(colon) if colon > last_slash => (&name_and_tag[..colon], Some(&name_and_tag[colon + 1..])),
        _ => (name_and_tag, None),
    }
}

fn check_digest(digest: &str) -> Result<(), String> {
    let hex = digest.strip_prefix("sha256:");
    let is_valid =
        hex.is_some_and(|hex| hex.len() == 64 && hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')));
    if is_valid {
        Ok(())
    } else {
        Err("has a digest that is not `sha256:` followed by 64 lowercase hex digits".to_owned())
    }
}

fn check_tag(tag: &str) -> Result<(), String> {
    let first_ok = tag.chars().next().is_some_and(|c| c.is_ascii_alphanumeric() || c == '_');
    let rest_ok = tag.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'));
    if tag.len() > TAG_MAX || !first_ok || !rest_ok {
        return Err(format!(
            "has a tag `{tag}` that is not 1 to {TAG_MAX} letters, digits, `_`, `.` and `-` starting with a letter, digit or `_`"
        ));
    }
    Ok(())
}

/// Checks the registry host: it must look like a host name (a `.`, a port, or `localhost`), so that it
/// is not mistaken for the first repository component.
fn check_registry(registry: &str) -> Result<(), String> {
    let (host, port) = match registry.split_once(':') {
        Some((host, port)) => (host, Some(port)),
        None => (registry, None),
    };
    if !(host.contains('.') || port.is_some() || host == "localhost") {
        return Err(format!("starts with `{registry}`, which is not a registry host such as `quay.io`"));
    }
    let host_ok =
        host.split('.').all(|part| !part.is_empty() && part.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'));
    let port_ok = port.is_none_or(|port| !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit()));
    if !host_ok || !port_ok {
        return Err(format!("has a registry host `{registry}` that is not a host name with an optional port"));
    }
    Ok(())
}

/// Checks each repository path component: lowercase letters and digits, separated by `.`, `_`, `__` or
/// runs of `-`.
fn check_repository(repository: &str) -> Result<(), String> {
    if repository.is_empty() {
        return Err("has no repository path after the registry host".to_owned());
    }
    for component in repository.split('/') {
        if component.is_empty() {
            return Err("has an empty repository path component".to_owned());
        }
        if component.chars().any(|c| c.is_ascii_uppercase()) {
            return Err(format!("has a repository path component `{component}` that is not lowercase"));
        }
        if !is_path_component(component) {
            return Err(format!(
                "has a repository path component `{component}` that is not lowercase letters and digits separated by `.`, `_`, `__` or `-`"
            ));
        }
    }
    Ok(())
}

fn is_path_component(component: &str) -> bool {
    let mut seen_alphanumeric = false;
    let mut separator = String::new();
    for c in component.chars() {
        if c.is_ascii_lowercase() || c.is_ascii_digit() {
            if !separator.is_empty() && !is_separator(&separator) {
                return false;
            }
            separator.clear();
            seen_alphanumeric = true;
        } else if matches!(c, '.' | '_' | '-') && seen_alphanumeric {
            separator.push(c);
        } else {
            return false;
        }
    }
    seen_alphanumeric && separator.is_empty()
}

fn is_separator(separator: &str) -> bool {
    separator == "." || separator == "_" || separator == "__" || separator.bytes().all(|b| b == b'-')
}

#[cfg(test)]
mod tests {
    use super::*;

    const DIGEST: &str = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    #[test]
    fn pull_spec_accepts_tags_and_digests() {
        assert!(check_pull_spec("quay.io/openshift-release-dev/ocp-release:4.21.12-x86_64").is_ok());
        assert!(check_pull_spec(&format!("quay.io/openshift-release-dev/ocp-release@{DIGEST}")).is_ok());
        assert!(check_pull_spec(&format!("quay.io/ocp/release:4.21@{DIGEST}")).is_ok());
        assert!(check_pull_spec("registry.local:5000/ocp/release:4.21").is_ok());
        assert!(check_pull_spec("localhost/a__b/c-d/e.f:latest").is_ok());
    }

    #[test]
    fn pull_spec_rejects_bad_parts() {
        assert!(check_pull_spec("quay.io/openshift-release-dev/ocp-release").is_err());
        assert!(check_pull_spec("ocp-release:4.21").is_err());
        assert!(check_pull_spec("openshift/ocp-release:4.21").is_err());
        assert!(check_pull_spec("quay.io/OpenShift/ocp-release:4.21").is_err());
        assert!(check_pull_spec("quay.io//ocp-release:4.21").is_err());
        assert!(check_pull_spec("quay.io/ocp-release:").is_err());
        assert!(check_pull_spec("quay.io/ocp-release@sha256:abc").is_err());
        assert!(check_pull_spec("quay.io/ocp-.release:4.21").is_err());
        assert!(check_pull_spec("quay.io/ocp___release:4.21").is_err());
        assert!(check_pull_spec("quay.io/ocp-release-:4.21").is_err());
    }
}
