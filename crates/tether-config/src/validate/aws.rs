//! Rules for the AWS side: account id, region and zones, role ARN, and the subnet router's instance.

use std::collections::BTreeMap;

use super::{Checker, SyntaxRule};
use crate::codes;
use crate::diagnostic::Diagnostic;
use crate::model::{NAT_PER_ZONE, NAT_SINGLE};
use crate::spans::KeyPath;
use crate::syntax::aws::{check_account_id, check_ami, check_instance_type, check_region, is_zone_of, parse_role_arn};

/// A /16 VPC has room for this many zones: HyperShift gives zone `i` the public /20 at third octet
/// `16 * i` and the private /20 at `128 + 16 * i`, so a ninth zone's public subnet would be zone 0's
/// private one.
const MAX_ZONES: usize = 8;

pub(crate) const INSTANCE_TYPE: SyntaxRule = SyntaxRule {
    code: codes::INVALID_INSTANCE_TYPE,
    check: check_instance_type,
    label: "not an EC2 instance type",
    help: "give an EC2 instance type as `family.size`, e.g. `m6i.2xlarge`",
};

const ACCOUNT_ID: SyntaxRule = SyntaxRule {
    code: codes::INVALID_ACCOUNT_ID,
    check: check_account_id,
    label: "not a 12-digit account id",
    help: "give the 12-digit AWS account id as a string, e.g. `\"123456789012\"`",
};

const REGION: SyntaxRule = SyntaxRule {
    code: codes::INVALID_REGION,
    check: check_region,
    label: "not an AWS region",
    help: "give a region name such as `ap-southeast-2` or `us-east-1`",
};

const AMI: SyntaxRule = SyntaxRule {
    code: codes::INVALID_AMI,
    check: check_ami,
    label: "not an AMI id",
    help: "give an AMI id from the region, e.g. `ami-12c6146b` or `ami-0123456789abcdef0`",
};

/// Checks the `[aws]` table and the subnet router's instance settings.
pub(crate) fn check(checker: &mut Checker<'_>) {
    let aws = &checker.environment.aws;
    let router = &checker.environment.subnet_router;

    let account_ok = checker.check_value(&["aws", "account_id"], "account id", &aws.account_id, &ACCOUNT_ID);
    let region_ok = checker.check_value(&["aws", "region"], "region", &aws.region, &REGION);
    check_zones(checker, region_ok);
    if aws.role_arn.is_some() {
        check_role_arn(checker, account_ok);
    }
    check_nat(checker);
    check_oidc_bucket(checker);
    if let Some(region) = &checker.environment.aws.oidc_bucket_region {
        checker.check_value(&["aws", "oidc_bucket_region"], "OIDC bucket region", region, &REGION);
    }

    checker.check_value(
        &["subnet_router", "instance_type"],
        "subnet router instance type",
        &router.instance_type,
        &INSTANCE_TYPE,
    );
    checker.check_value(&["subnet_router", "ami"], "subnet router AMI", &router.ami, &AMI);
}

/// Checks that there is at least one zone and at most [`MAX_ZONES`], that none repeats, and, when the
/// region is valid, that each belongs to it.
fn check_zones(checker: &mut Checker<'_>, region_ok: bool) {
    let aws = &checker.environment.aws;
    let zones_path = KeyPath::of(&["aws", "zones"]);
    if aws.zones.is_empty() {
        let diagnostic = Diagnostic::error(codes::NO_ZONES, "`aws.zones` is empty")
            .with_label(checker.spans.value(&zones_path), "no zones")
            .with_help(format!(
                "list at least one availability zone of `{}`, e.g. `[\"{}a\"]`",
                aws.region, aws.region
            ));
        checker.report(diagnostic);
        return;
    }
    if aws.zones.len() > MAX_ZONES {
        let message = format!("{} zones are listed, but a /16 VPC has room for at most {MAX_ZONES}", aws.zones.len());
        let diagnostic = Diagnostic::error(codes::TOO_MANY_ZONES, message)
            .with_label(checker.spans.value(&zones_path.index(MAX_ZONES)), "zone beyond the 8th")
            .with_help("list at most 8 zones: HyperShift cuts two /20 subnets per zone from the VPC's /16");
        checker.report(diagnostic);
    }

    check_zone_entries(checker, region_ok);
}

/// Reports each repeated zone, and, when the region is valid, each zone outside it.
fn check_zone_entries(checker: &mut Checker<'_>, region_ok: bool) {
    let aws = &checker.environment.aws;
    let zones_path = KeyPath::of(&["aws", "zones"]);
    let mut first_seen: BTreeMap<&str, usize> = BTreeMap::new();
    for (position, zone) in aws.zones.iter().enumerate() {
        let zone_path = zones_path.index(position);
        if let Some(&earlier) = first_seen.get(zone.as_str()) {
            let diagnostic = Diagnostic::error(codes::DUPLICATE_ENTRY, format!("zone `{zone}` is listed twice"))
                .with_label(checker.spans.value(&zone_path), "duplicate")
                .with_label(checker.spans.value(&zones_path.index(earlier)), "first listed here")
                .with_help("remove the repeated zone");
            checker.report(diagnostic);
            continue;
        }
        first_seen.insert(zone, position);
        if region_ok && !is_zone_of(zone, &aws.region) {
            report_foreign_zone(checker, zone, &zone_path);
        }
    }
}

fn report_foreign_zone(checker: &mut Checker<'_>, zone: &str, zone_path: &KeyPath) {
    let region = &checker.environment.aws.region;
    let message = format!("zone `{zone}` is not in region `{region}`");
    let diagnostic = Diagnostic::error(codes::ZONE_NOT_IN_REGION, message)
        .with_label(checker.spans.value(zone_path), format!("not in `{region}`"))
        .with_label(checker.value_span(&["aws", "region"]), "region set here")
        .with_help(format!(
            "use a zone of `{region}`, whose names are the region followed by a letter, e.g. `{region}a`; or change `aws.region`"
        ));
    checker.report(diagnostic);
}

/// Checks that `aws.nat` names one of the two NAT layouts.
fn check_nat(checker: &mut Checker<'_>) {
    let nat = &checker.environment.aws.nat;
    if nat == NAT_PER_ZONE || nat == NAT_SINGLE {
        return;
    }
    let diagnostic = Diagnostic::error(codes::INVALID_NAT_MODE, format!("`aws.nat` is `{nat}`"))
        .with_label(checker.value_span(&["aws", "nat"]), "not a NAT layout")
        .with_help(format!(
            "use `\"{NAT_PER_ZONE}\"` for one NAT gateway in each zone, or `\"{NAT_SINGLE}\"` for one shared by all zones"
        ));
    checker.report(diagnostic);
}

/// Checks `aws.oidc_bucket` against S3's bucket naming rules: 3 to 63 lowercase letters, digits,
/// dots and hyphens, starting and ending with a letter or digit. The issuer URL puts the bucket in a
/// host name, so a dot would break the certificate match and is rejected too.
fn check_oidc_bucket(checker: &mut Checker<'_>) {
    let Some(bucket) = checker.environment.aws.oidc_bucket.clone() else {
        return;
    };
    let edge_ok = |byte: Option<&u8>| byte.is_some_and(|byte| byte.is_ascii_lowercase() || byte.is_ascii_digit());
    let valid = (3..=63).contains(&bucket.len())
        && bucket.bytes().all(|byte| byte.is_ascii_lowercase() || byte.is_ascii_digit() || byte == b'-')
        && edge_ok(bucket.as_bytes().first())
        && edge_ok(bucket.as_bytes().last());
    if valid {
        return;
    }
    let diagnostic =
        Diagnostic::error(codes::INVALID_BUCKET_NAME, format!("OIDC bucket `{bucket}` is not a valid bucket name"))
            .with_label(checker.value_span(&["aws", "oidc_bucket"]), "not an S3 bucket name")
            .with_help(
                "give the bucket the HyperShift operator was installed with: 3 to 63 lowercase letters, digits and \
             hyphens, starting and ending with a letter or digit",
            );
    checker.report(diagnostic);
}

/// Checks the role ARN's syntax and, when the account id is valid, that the role is in that account.
fn check_role_arn(checker: &mut Checker<'_>, account_ok: bool) {
    let aws = &checker.environment.aws;
    let Some(arn) = aws.role_arn.as_deref() else {
        return;
    };
    let arn_path = KeyPath::of(&["aws", "role_arn"]);
    let parsed = match parse_role_arn(arn) {
        Ok(parsed) => parsed,
        Err(reason) => {
            let diagnostic = Diagnostic::error(codes::INVALID_ROLE_ARN, format!("role ARN `{arn}` {reason}"))
                .with_label(checker.spans.value(&arn_path), "not an IAM role ARN")
                .with_help("give an IAM role ARN such as `arn:aws:iam::123456789012:role/hypershift-cli-role`");
            checker.report(diagnostic);
            return;
        }
    };

    if account_ok && parsed.account != aws.account_id {
        let message =
            format!("role ARN is in account `{}`, but `aws.account_id` is `{}`", parsed.account, aws.account_id);
        let diagnostic = Diagnostic::error(codes::ROLE_ACCOUNT_MISMATCH, message)
            .with_label(checker.spans.value_part(&arn_path, parsed.account_range.clone()), "role's account")
            .with_label(checker.value_span(&["aws", "account_id"]), "environment's account")
            .with_help("use a role in the environment's account, or correct `aws.account_id`");
        checker.report(diagnostic);
    }
}
