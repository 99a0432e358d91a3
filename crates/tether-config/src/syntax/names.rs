//! Kubernetes and DNS name rules: DNS-1123 labels and subdomains, qualified names, label values.

/// Maximum length of a DNS-1123 label, and so of most Kubernetes object names.
pub(crate) const DNS_LABEL_MAX: usize = 63;

/// Maximum length of a DNS-1123 subdomain.
const DNS_SUBDOMAIN_MAX: usize = 253;

/// Maximum length of a Linux network interface name (`IFNAMSIZ` is 16 bytes with the final NUL).
const INTERFACE_NAME_MAX: usize = 15;

/// Checks a DNS-1123 label: 1 to 63 lowercase letters, digits and `-`, starting and ending with a
/// letter or digit.
pub(crate) fn check_dns_label(value: &str) -> Result<(), String> {
    if value.is_empty() {
        return Err("is empty".to_owned());
    }
    let length = value.chars().count();
    if length > DNS_LABEL_MAX {
        return Err(format!("is {length} characters long, more than {DNS_LABEL_MAX}"));
    }
    if let Some(bad) = value.chars().find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-')) {
        return Err(describe_bad_char(bad, "lowercase letters, digits and `-`"));
    }
    if value.starts_with('-') {
        return Err("starts with `-`".to_owned());
    }
    if value.ends_with('-') {
        return Err("ends with `-`".to_owned());
    }
    Ok(())
}

/// Checks a DNS-1123 subdomain: at most 253 characters of dot-separated DNS-1123 labels.
pub(crate) fn check_dns_subdomain(value: &str) -> Result<(), String> {
    if value.is_empty() {
        return Err("is empty".to_owned());
    }
    let length = value.chars().count();
    if length > DNS_SUBDOMAIN_MAX {
        return Err(format!("is {length} characters long, more than {DNS_SUBDOMAIN_MAX}"));
    }
    for part in value.split('.') {
        if part.is_empty() {
            return Err("has an empty part between dots".to_owned());
        }
        check_dns_label(part).map_err(|reason| format!("has a part `{part}` that {reason}"))?;
    }
    Ok(())
}

/// Checks a Kubernetes qualified name, as used for label keys and taint keys. It has an optional
/// DNS-1123 subdomain prefix and `/`, then a name of 1 to 63 letters, digits, `-`, `_` and `.` that
/// starts and ends with a letter or digit.
pub(crate) fn check_qualified_name(value: &str) -> Result<(), String> {
    let (prefix, name) = match value.split_once('/') {
        Some((prefix, name)) => (Some(prefix), name),
        None => (None, value),
    };
    if let Some(prefix) = prefix {
        if name.contains('/') {
            return Err("has more than one `/`".to_owned());
        }
        check_dns_subdomain(prefix).map_err(|reason| format!("has a prefix `{prefix}` that {reason}"))?;
    }
    if name.is_empty() {
        return Err("has an empty name".to_owned());
    }
    check_name_part(name)
}

/// Checks a Kubernetes label value: empty, or up to 63 letters, digits, `-`, `_` and `.` that starts
/// and ends with a letter or digit.
pub(crate) fn check_label_value(value: &str) -> Result<(), String> {
    if value.is_empty() {
        return Ok(());
    }
    check_name_part(value)
}

fn check_name_part(name: &str) -> Result<(), String> {
    let length = name.chars().count();
    if length > DNS_LABEL_MAX {
        return Err(format!("is {length} characters long, more than {DNS_LABEL_MAX}"));
    }
    let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.');
    if let Some(bad) = name.chars().find(|c| !allowed(*c)) {
        return Err(describe_bad_char(bad, "letters, digits, `-`, `_` and `.`"));
    }
    let first_and_last = [name.chars().next(), name.chars().last()];
    if first_and_last.iter().flatten().any(|c| !c.is_ascii_alphanumeric()) {
        return Err("does not start and end with a letter or digit".to_owned());
    }
    Ok(())
}

/// Checks a Linux network interface name: 1 to 15 bytes with no `/`, `:` or whitespace.
pub(crate) fn check_interface_name(value: &str) -> Result<(), String> {
    if value.is_empty() {
        return Err("is empty".to_owned());
    }
    if value.len() > INTERFACE_NAME_MAX {
        return Err(format!("is {} bytes long, more than {INTERFACE_NAME_MAX}", value.len()));
    }
    if let Some(bad) = value.chars().find(|c| *c == '/' || *c == ':' || c.is_whitespace() || c.is_control()) {
        return Err(format!("contains {bad:?}, which an interface name cannot contain"));
    }
    if value == "." || value == ".." {
        return Err("is a path component, not a name".to_owned());
    }
    Ok(())
}

fn describe_bad_char(bad: char, allowed: &str) -> String {
    if bad.is_ascii_uppercase() {
        format!("contains the uppercase letter `{bad}`; only {allowed} are allowed")
    } else {
        format!("contains {bad:?}; only {allowed} are allowed")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dns_label_accepts_and_rejects() {
        assert!(check_dns_label("ai-dev").is_ok());
        assert!(check_dns_label("a").is_ok());
        assert!(check_dns_label(&"a".repeat(63)).is_ok());
        assert!(check_dns_label(&"a".repeat(64)).is_err());
        assert!(check_dns_label("Ai").is_err());
        assert!(check_dns_label("-ai").is_err());
        assert!(check_dns_label("ai-").is_err());
        assert!(check_dns_label("a_i").is_err());
        assert!(check_dns_label("").is_err());
    }

    #[test]
    fn dns_subdomain_accepts_and_rejects() {
        assert!(check_dns_subdomain("hcp.example.com").is_ok());
        assert!(check_dns_subdomain("lvms-vg1").is_ok());
        assert!(check_dns_subdomain("hcp..example.com").is_err());
        assert!(check_dns_subdomain("hcp.example.com.").is_err());
        assert!(check_dns_subdomain("HCP.example.com").is_err());
    }

    #[test]
    fn qualified_name_accepts_and_rejects() {
        assert!(check_qualified_name("nvidia.com/gpu").is_ok());
        assert!(check_qualified_name("nvidia.com/gpu.present").is_ok());
        assert!(check_qualified_name("dedicated").is_ok());
        assert!(check_qualified_name("Node_Role.x").is_ok());
        assert!(check_qualified_name("a/b/c").is_err());
        assert!(check_qualified_name("nvidia.com/").is_err());
        assert!(check_qualified_name("/gpu").is_err());
        assert!(check_qualified_name("gpu!").is_err());
        assert!(check_qualified_name("-gpu").is_err());
    }

    #[test]
    fn label_value_accepts_and_rejects() {
        assert!(check_label_value("").is_ok());
        assert!(check_label_value("true").is_ok());
        assert!(check_label_value("a b").is_err());
        assert!(check_label_value(&"x".repeat(64)).is_err());
    }

    #[test]
    fn interface_name_accepts_and_rejects() {
        assert!(check_interface_name("br-ex").is_ok());
        assert!(check_interface_name("eth0.100").is_ok());
        assert!(check_interface_name("").is_err());
        assert!(check_interface_name("a-very-long-name0").is_err());
        assert!(check_interface_name("br ex").is_err());
        assert!(check_interface_name("br/ex").is_err());
    }
}
