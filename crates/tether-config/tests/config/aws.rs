//! AWS rules: account id, role ARN, region and zones, instance types, AMI ids, the STS path.

use crate::support::{Case, help};

#[test]
fn account_id_too_short() {
    let case = Case::new("account_id_too_short")
        .replace("account_id = \"123456789012\"", "account_id = \"12345\"")
        .replace("role_arn = \"arn:aws:iam::123456789012:role/hypershift-cli-role\"", "");

    let found = case.only("tether::config::invalid_account_id");

    assert_eq!(found.message(), "account id `12345` is not exactly 12 digits");
    assert!(help(&found).starts_with("give the 12-digit AWS account id as a string"));
    assert_eq!(case.text_at(&found), "12345");
}

#[test]
fn role_arn_for_a_user() {
    let case = Case::new("role_arn_for_a_user").replace(":role/hypershift-cli-role", ":user/hypershift");

    let found = case.only("tether::config::invalid_role_arn");

    assert_eq!(
        found.message(),
        "role ARN `arn:aws:iam::123456789012:user/hypershift` names the resource `user/hypershift`, which is not `role/<name>`"
    );
    assert!(help(&found).contains("`arn:aws:iam::123456789012:role/hypershift-cli-role`"));
    assert_eq!(case.text_at(&found), "arn:aws:iam::123456789012:user/hypershift");
}

#[test]
fn role_arn_wrong_service() {
    let case = Case::new("role_arn_wrong_service").replace("arn:aws:iam::123456789012", "arn:aws:s3::123456789012");

    let found = case.only("tether::config::invalid_role_arn");

    assert!(found.message().ends_with("is not an IAM ARN, which has `iam` and an empty region: `arn:aws:iam::`"));
    assert_eq!(case.text_at(&found), "arn:aws:s3::123456789012:role/hypershift-cli-role");
}

#[test]
fn role_arn_in_other_account() {
    let case = Case::new("role_arn_in_other_account").replace("arn:aws:iam::123456789012", "arn:aws:iam::999999999999");

    let found = case.only("tether::config::role_account_mismatch");

    assert_eq!(found.message(), "role ARN is in account `999999999999`, but `aws.account_id` is `123456789012`");
    assert_eq!(help(&found), "use a role in the environment's account, or correct `aws.account_id`");
    assert_eq!(case.labelled_texts(&found), ["999999999999", "123456789012"]);
    let arn_start = case.source.find("arn:aws:iam::999999999999").expect("edited ARN");
    assert_eq!(found.span().expect("span").start, arn_start + "arn:aws:iam::".len());
}

#[test]
fn region_malformed() {
    let case = Case::new("region_malformed").replace("region = \"ap-southeast-2\"", "region = \"apsoutheast2\"");

    let found = case.only("tether::config::invalid_region");

    assert_eq!(found.message(), "region `apsoutheast2` is not an AWS region name such as `ap-southeast-2`");
    assert!(help(&found).contains("`us-east-1`"));
    assert_eq!(case.text_at(&found), "apsoutheast2");
}

#[test]
fn zone_in_other_region() {
    let case = Case::new("zone_in_other_region")
        .replace("zones = [\"ap-southeast-2a\"]", "zones = [\"ap-southeast-2a\", \"us-east-1b\"]");

    let found = case.only("tether::config::zone_not_in_region");

    assert_eq!(found.message(), "zone `us-east-1b` is not in region `ap-southeast-2`");
    assert!(help(&found).starts_with("use a zone of `ap-southeast-2`"));
    assert!(help(&found).contains("e.g. `ap-southeast-2a`"));
    assert_eq!(case.labelled_texts(&found), ["us-east-1b", "ap-southeast-2"]);
}

#[test]
fn zones_empty() {
    let case = Case::new("zones_empty").replace("zones = [\"ap-southeast-2a\"]", "zones = []");

    let found = case.only("tether::config::no_zones");

    assert_eq!(found.message(), "`aws.zones` is empty");
    assert_eq!(help(&found), "list at least one availability zone of `ap-southeast-2`, e.g. `[\"ap-southeast-2a\"]`");
    assert_eq!(case.text_at(&found), "[]");
}

#[test]
fn zone_listed_twice() {
    let case = Case::new("zone_listed_twice").replace(
        "zones = [\"ap-southeast-2a\"]",
        "zones = [\"ap-southeast-2a\", \"ap-southeast-2b\", \"ap-southeast-2a\"]",
    );

    let found = case.only("tether::config::duplicate_entry");

    assert_eq!(found.message(), "zone `ap-southeast-2a` is listed twice");
    assert_eq!(help(&found), "remove the repeated zone");
    assert_eq!(case.labelled_texts(&found), ["ap-southeast-2a", "ap-southeast-2a"]);
    let line = case.source.find("\"ap-southeast-2b\", \"ap-southeast-2a\"").expect("edited line");
    assert!(found.span().expect("span").start > line, "the primary label is on the repeat");
}

#[test]
fn too_many_zones() {
    let zones: Vec<String> = ('a'..='i').map(|letter| format!("\"ap-southeast-2{letter}\"")).collect();
    let case = Case::new("too_many_zones")
        .replace("zones = [\"ap-southeast-2a\"]", &format!("zones = [{}]", zones.join(", ")));

    let found = case.only("tether::config::too_many_zones");

    assert_eq!(found.message(), "9 zones are listed, but a /16 VPC has room for at most 8");
    assert!(help(&found).starts_with("list at most 8 zones"));
    assert_eq!(case.text_at(&found), "ap-southeast-2i");
}

#[test]
fn router_instance_type_without_size() {
    let case = Case::new("router_instance_type_without_size")
        .replace("instance_type = \"t3.small\"", "instance_type = \"t3small\"");

    let found = case.only("tether::config::invalid_instance_type");

    assert_eq!(
        found.message(),
        "subnet router instance type `t3small` is not an EC2 instance type of the form `family.size`"
    );
    assert_eq!(help(&found), "give an EC2 instance type as `family.size`, e.g. `m6i.2xlarge`");
    assert_eq!(case.text_at(&found), "t3small");
}

#[test]
fn pool_instance_type_uppercase() {
    let case = Case::new("pool_instance_type_uppercase")
        .replace("instance_type = \"m6i.2xlarge\"", "instance_type = \"M6i.2xlarge\"");

    let found = case.only("tether::config::invalid_instance_type");

    assert_eq!(found.message(), "instance type `M6i.2xlarge` is not an EC2 instance type of the form `family.size`");
    assert_eq!(case.text_at(&found), "M6i.2xlarge");
}

#[test]
fn ami_too_short() {
    let case = Case::new("ami_too_short").replace("ami = \"ami-12c6146b\"", "ami = \"ami-12c6\"");

    let found = case.only("tether::config::invalid_ami");

    assert_eq!(found.message(), "subnet router AMI `ami-12c6` is not `ami-` followed by 8 or 17 lowercase hex digits");
    assert!(help(&found).contains("`ami-0123456789abcdef0`"));
    assert_eq!(case.text_at(&found), "ami-12c6");
}

#[test]
fn sts_credentials_path_empty() {
    let case = Case::new("sts_credentials_path_empty")
        .replace("# sts_credentials_file = \"sts-creds.json\"", "sts_credentials_file = \"\"");

    let found = case.only("tether::config::invalid_path");

    assert_eq!(found.message(), "STS credentials file path is empty");
    assert!(help(&found).contains("relative to the environment file's folder"));
    let span = found.span().expect("span");
    assert_eq!(&case.source[span.start - 1..span.end + 1], "\"\"");
}

#[test]
fn sts_credentials_file_not_read() {
    let case = Case::new("sts_credentials_file_not_read")
        .replace("# sts_credentials_file = \"sts-creds.json\"", "sts_credentials_file = \"sts-creds.json\"");

    let checked = case.load().expect("only the STS path's syntax is checked");

    assert_eq!(checked.sts_credentials_path(), Some(case.dir.join("sts-creds.json")));
}
