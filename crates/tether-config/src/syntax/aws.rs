//! AWS identifier syntax: account ids, regions, zones, IAM role ARNs, instance types, AMI ids.

use std::ops::Range;

/// AWS partitions that have IAM, as they appear in the second field of an ARN.
const PARTITIONS: [&str; 7] = ["aws", "aws-cn", "aws-us-gov", "aws-iso", "aws-iso-b", "aws-iso-e", "aws-iso-f"];

/// EBS volume types that an EC2 root volume can use.
pub(crate) const VOLUME_TYPES: [&str; 7] = ["gp2", "gp3", "io1", "io2", "st1", "sc1", "standard"];

/// Maximum length of an IAM role name.
const ROLE_NAME_MAX: usize = 64;

/// Checks an AWS account id: exactly 12 digits.
pub(crate) fn check_account_id(value: &str) -> Result<(), String> {
    if value.len() == 12 && value.bytes().all(|b| b.is_ascii_digit()) {
        Ok(())
    } else {
        Err("is not exactly 12 digits".to_owned())
    }
}

/// Checks a region name such as `ap-southeast-2` or `us-gov-west-1`: a two-letter area, one or two
/// lowercase words, and a number, joined by `-`.
pub(crate) fn check_region(value: &str) -> Result<(), String> {
    let parts: Vec<&str> = value.split('-').collect();
    let is_word = |part: &&str| !part.is_empty() && part.bytes().all(|b| b.is_ascii_lowercase());
    let is_valid = matches!(parts.len(), 3 | 4)
        && parts[0].len() == 2
        && parts[..parts.len() - 1].iter().all(is_word)
        && parts[parts.len() - 1].bytes().all(|b| b.is_ascii_digit())
        && !parts[parts.len() - 1].is_empty();
    if is_valid { Ok(()) } else { Err("is not an AWS region name such as `ap-southeast-2`".to_owned()) }
}

/// Returns true when `zone` is a zone of `region`: the region followed by one letter
/// (`ap-southeast-2a`), or by `-` and a Local Zone or Wavelength Zone id (`us-west-2-lax-1a`).
pub(crate) fn is_zone_of(zone: &str, region: &str) -> bool {
    let Some(suffix) = zone.strip_prefix(region) else {
        return false;
    };
    let is_letter = suffix.len() == 1 && suffix.bytes().all(|b| b.is_ascii_lowercase());
    let is_local_zone = suffix.strip_prefix('-').is_some_and(|id| {
        id.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            && id.ends_with(|c: char| c.is_ascii_lowercase())
            && !id.starts_with('-')
    });
    is_letter || is_local_zone
}

/// The parts of an IAM role ARN that later checks need.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RoleArn<'a> {
    /// The account id field.
    pub(crate) account: &'a str,
    /// Byte range of the account id inside the ARN.
    pub(crate) account_range: Range<usize>,
}

/// Parses `arn:<partition>:iam::<account>:role/<path/><name>`.
pub(crate) fn parse_role_arn(value: &str) -> Result<RoleArn<'_>, String> {
    let fields: Vec<&str> = value.splitn(6, ':').collect();
    let [prefix, partition, service, region, account, resource] = fields.as_slice() else {
        return Err("does not have the six `:`-separated fields of an ARN".to_owned());
    };
    if *prefix != "arn" {
        return Err("does not start with `arn:`".to_owned());
    }
    if !PARTITIONS.contains(partition) {
        return Err(format!("names the partition `{partition}`, which is not an AWS partition such as `aws`"));
    }
    if *service != "iam" || !region.is_empty() {
        return Err("is not an IAM ARN, which has `iam` and an empty region: `arn:aws:iam::`".to_owned());
    }
    check_account_id(account).map_err(|reason| format!("has an account id `{account}` that {reason}"))?;
    check_role_resource(resource)?;

    let account_start = prefix.len() + partition.len() + service.len() + region.len() + 4;
    Ok(RoleArn { account, account_range: account_start..account_start + account.len() })
}

fn check_role_resource(resource: &str) -> Result<(), String> {
    let Some(path_and_name) = resource.strip_prefix("role/") else {
        return Err(format!("names the resource `{resource}`, which is not `role/<name>`"));
    };
    let name = path_and_name.rsplit('/').next().unwrap_or_default();
    let is_name_char = |c: char| c.is_ascii_alphanumeric() || "+=,.@_-".contains(c);
    let path_ok = path_and_name.chars().all(|c| is_name_char(c) || c == '/');
    if name.is_empty() || name.len() > ROLE_NAME_MAX || !path_ok {
        return Err(format!("has a role name `{name}` that is not 1 to {ROLE_NAME_MAX} letters, digits and `+=,.@_-`"));
    }
    Ok(())
}

/// Checks an EC2 instance type: `family.size`, e.g. `m6i.2xlarge` or `u-6tb1.metal`.
pub(crate) fn check_instance_type(value: &str) -> Result<(), String> {
    let is_valid = value.split_once('.').is_some_and(|(family, size)| {
        family.starts_with(|c: char| c.is_ascii_lowercase())
            && family.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            && !size.is_empty()
            && size.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    });
    if is_valid { Ok(()) } else { Err("is not an EC2 instance type of the form `family.size`".to_owned()) }
}

/// Checks an AMI id: `ami-` followed by 8 or 17 lowercase hex digits.
pub(crate) fn check_ami(value: &str) -> Result<(), String> {
    let is_valid = value
        .strip_prefix("ami-")
        .is_some_and(|hex| matches!(hex.len(), 8 | 17) && hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')));
    if is_valid { Ok(()) } else { Err("is not `ami-` followed by 8 or 17 lowercase hex digits".to_owned()) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn region_accepts_and_rejects() {
        for region in ["ap-southeast-2", "us-east-1", "us-gov-west-1", "cn-north-1", "il-central-1"] {
            assert!(check_region(region).is_ok(), "{region}");
        }
        for region in ["ap-southeast", "apsoutheast2", "AP-southeast-2", "ap-southeast-2a", "a-b-1"] {
            assert!(check_region(region).is_err(), "{region}");
        }
    }

    #[test]
    fn zone_membership_checks_the_suffix() {
        assert!(is_zone_of("ap-southeast-2a", "ap-southeast-2"));
        assert!(is_zone_of("us-west-2-lax-1a", "us-west-2"));
        assert!(!is_zone_of("us-east-1a", "ap-southeast-2"));
        assert!(!is_zone_of("ap-southeast-2", "ap-southeast-2"));
        assert!(!is_zone_of("ap-southeast-2ab", "ap-southeast-2"));
    }

    #[test]
    fn role_arn_finds_the_account() {
        let arn = "arn:aws:iam::123456789012:role/hypershift-cli-role";
        let parsed = parse_role_arn(arn).expect("valid ARN");
        assert_eq!(parsed.account, "123456789012");
        assert_eq!(&arn[parsed.account_range], "123456789012");
        assert!(parse_role_arn("arn:aws:iam::123456789012:role/path/to/name").is_ok());
        assert!(parse_role_arn("arn:aws:iam::123456789012:user/name").is_err());
        assert!(parse_role_arn("arn:aws:s3:::bucket").is_err());
        assert!(parse_role_arn("arn:aws:iam::1234:role/name").is_err());
        assert!(parse_role_arn("role/name").is_err());
        assert!(parse_role_arn("arn:aws:iam::123456789012:role/").is_err());
    }

    #[test]
    fn instance_type_and_ami_syntax() {
        for kind in ["m6i.2xlarge", "g6.xlarge", "t3.small", "u-6tb1.metal", "m7i-flex.large"] {
            assert!(check_instance_type(kind).is_ok(), "{kind}");
        }
        for kind in ["m6i", "M6i.large", "m6i.", ".large", "6i.large"] {
            assert!(check_instance_type(kind).is_err(), "{kind}");
        }
        assert!(check_ami("ami-12c6146b").is_ok());
        assert!(check_ami("ami-0123456789abcdef0").is_ok());
        assert!(check_ami("ami-12C6146B").is_err());
        assert!(check_ami("ami-123").is_err());
        assert!(check_ami("12c6146b").is_err());
    }
}
