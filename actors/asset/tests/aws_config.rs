//! AWS Config import (`format=aws_config`) on the real configuration items in
//! /work/shared/data/cloud/ (see /work/shared/data/SOURCES.md, section "cloud/").

use rampart_asset::{
    Address, AddressKind, Asset, AssetKind, CriticalityRules, Format, ImportError, Inventory,
    aws_config, parse,
};
use serde_json::{Value, json};

macro_rules! data {
    ($p:literal) => {
        concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../../shared/data/cloud/",
            $p
        )
    };
}

const FILES: [&str; 8] = [
    data!("aws-config-ci-AWS_EC2_Instance.json"),
    data!("aws-config-ci-AWS_EC2_SecurityGroup.json"),
    data!("aws-config-ci-AWS_EC2_VPC.json"),
    data!("aws-config-ci-AWS_IAM_User.json"),
    data!("aws-config-ci-AWS_LAMBDA_FUNCTION.json"),
    data!("aws-config-ci-AWS_RDS_DBInstance.json"),
    data!("aws-config-ci-AWS_S3_Bucket.json"),
    data!("aws-config-ci-AWS_SSM_ManagedInstanceInventory.json"),
];

const SSM_HOST: &str = "arn:aws:ec2:us-east-1:138920347130:instance/i-07f6b44c44bab9e8e";

fn read(path: &str) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("read {path}: {e}"))
}

fn json_of(path: &str) -> Value {
    serde_json::from_str(&read(path)).unwrap()
}

fn import_text(text: &str) -> Inventory {
    parse(
        Format::AwsConfig,
        text.as_bytes(),
        &CriticalityRules::default(),
    )
    .unwrap_or_else(|e| panic!("import: {e}"))
}

fn import(path: &str) -> Inventory {
    import_text(&read(path))
}

fn only(inv: &Inventory) -> &Asset {
    assert_eq!(inv.assets.len(), 1, "{inv:#?}");
    &inv.assets[0]
}

fn has_tag(a: &Asset, t: &str) -> bool {
    a.tags.iter().any(|x| x == t)
}

fn addr(kind: AddressKind, value: &str) -> Address {
    Address {
        kind,
        value: value.to_owned(),
    }
}

#[test]
fn every_recorded_configuration_item_file_parses_into_one_asset() {
    for path in FILES {
        let inv = import(path);
        let a = only(&inv);
        assert_eq!(a.source, Format::AwsConfig, "{path}");
        assert!(has_tag(a, "aws"), "{path}: {:?}", a.tags);
        assert!((1..=5).contains(&a.criticality), "{path}");
        assert!(!a.name.is_empty(), "{path}");
        // Importing the same bytes twice gives the same inventory.
        assert_eq!(inv, import(path), "{path}");
    }
    // The two without an item-level resource name are named by their id.
    let sg = import(FILES[1]);
    let sg = only(&sg);
    assert_eq!(
        sg.key,
        "arn:aws:ec2:us-east-1:264683526309:security-group/sg-1d56fc66"
    );
    assert_eq!(
        (sg.kind, sg.name.as_str()),
        (AssetKind::CloudResource, "sg-1d56fc66")
    );
    assert!(has_tag(sg, "aws-ec2-securitygroup"), "{:?}", sg.tags);
    let vpc = import(FILES[2]);
    let vpc = only(&vpc);
    assert_eq!(
        (vpc.kind, vpc.name.as_str()),
        (AssetKind::CloudResource, "vpc-0990dc6d")
    );
    assert!(vpc.components.is_empty() && vpc.addresses.is_empty());
}

#[test]
fn the_ec2_instance_is_a_host_with_its_private_and_public_addresses() {
    let inv = import(data!("aws-config-ci-AWS_EC2_Instance.json"));
    assert!(inv.warnings.is_empty(), "{:?}", inv.warnings);
    let a = only(&inv);
    assert_eq!(
        a.key,
        "arn:aws:ec2:us-east-1:681361479661:instance/i-03402838daac1d611"
    );
    assert_eq!(a.kind, AssetKind::Host);
    assert_eq!(a.name, "i-03402838daac1d611");
    assert_eq!(a.owner, None);
    assert_eq!(a.criticality, 3);
    assert_eq!(
        a.tags,
        [
            "account:681361479661",
            "aws",
            "aws-ec2-instance",
            "region:us-east-1"
        ]
    );
    for want in [
        addr(AddressKind::Ipv4, "172.31.74.239"),
        addr(AddressKind::Ipv4, "34.205.29.138"),
        addr(AddressKind::Hostname, "ip-172-31-74-239.ec2.internal"),
        addr(
            AddressKind::Hostname,
            "ec2-34-205-29-138.compute-1.amazonaws.com",
        ),
        addr(AddressKind::Mac, "02:3e:c3:cb:e9:da"),
    ] {
        assert!(a.addresses.contains(&want), "{want:?} in {:?}", a.addresses);
    }
    assert_eq!(a.addresses.len(), 5, "{:?}", a.addresses);
    assert!(a.components.is_empty());
}

#[test]
fn the_rds_instance_is_production_by_its_workload_type_tag_and_runs_mysql() {
    let inv = import(data!("aws-config-ci-AWS_RDS_DBInstance.json"));
    let a = only(&inv);
    assert_eq!(a.key, "arn:aws:rds:us-east-1:264683526309:db:myrdstest");
    assert_eq!(a.kind, AssetKind::CloudResource);
    assert_eq!(a.name, "myrdstest");
    // The tag is in both `tags` and `supplementaryConfiguration.Tags`: one tag.
    assert!(has_tag(a, "workload-type=production"), "{:?}", a.tags);
    assert!(has_tag(a, "production"), "{:?}", a.tags);
    assert!(has_tag(a, "aws-rds-dbinstance"), "{:?}", a.tags);
    assert_eq!(a.criticality, 4, "default rules: production is 4");
    assert_eq!(a.components.len(), 1);
    let c = &a.components[0];
    assert_eq!(
        (c.name.as_str(), c.version.as_deref()),
        ("mysql", Some("5.6.27"))
    );
    assert_eq!(
        c.cpe.as_deref(),
        Some("cpe:2.3:a:oracle:mysql:5.6.27:*:*:*:*:*:*:*")
    );
    // Still creating: no endpoint yet, so no address.
    assert!(a.addresses.is_empty());

    // Without `workload-type` among the value tags, the value is only `key=value`.
    let rules: CriticalityRules = serde_json::from_str(r#"{"value_tags": ["env"]}"#).unwrap();
    let inv = parse(
        Format::AwsConfig,
        read(data!("aws-config-ci-AWS_RDS_DBInstance.json")).as_bytes(),
        &rules,
    )
    .unwrap();
    let a = only(&inv);
    assert!(!has_tag(a, "production"), "{:?}", a.tags);
    assert_eq!(a.criticality, 3);
}

#[test]
fn the_lambda_function_array_is_an_application_with_its_runtime() {
    let inv = import(data!("aws-config-ci-AWS_LAMBDA_FUNCTION.json"));
    let a = only(&inv);
    assert_eq!(
        a.key,
        "arn:aws:lambda:us-east-1:823362693882:function:test-function"
    );
    assert_eq!(a.kind, AssetKind::Application);
    assert_eq!(a.name, "test-function");
    assert!(has_tag(a, "test=value"), "{:?}", a.tags);
    assert!(has_tag(a, "aws-lambda-function"), "{:?}", a.tags);
    assert_eq!(a.components.len(), 1);
    let c = &a.components[0];
    assert_eq!(
        (c.name.as_str(), c.version.as_deref()),
        ("nodejs", Some("6.10"))
    );
    assert_eq!((c.cpe.as_deref(), c.purl.as_deref()), (None, None));
}

#[test]
fn the_s3_bucket_is_a_cloud_resource_keyed_by_its_arn() {
    let inv = import(data!("aws-config-ci-AWS_S3_Bucket.json"));
    assert!(inv.warnings.is_empty(), "{:?}", inv.warnings);
    let a = only(&inv);
    assert_eq!(a.key, "arn:aws:s3:::mborch-test-bucket-config-item");
    assert_eq!(a.kind, AssetKind::CloudResource);
    assert_eq!(a.name, "mborch-test-bucket-config-item");
    // CI 1.3 names: awsAccountId.
    assert_eq!(
        a.tags,
        [
            "account:934654633380",
            "aws",
            "aws-s3-bucket",
            "region:us-east-1"
        ]
    );
}

#[test]
fn the_iam_user_maps_with_its_global_region_and_mixed_field_names() {
    let inv = import(data!("aws-config-ci-AWS_IAM_User.json"));
    let a = only(&inv);
    assert_eq!(a.key, "arn:aws:iam::112233445566:user/johndoe");
    assert_eq!(a.kind, AssetKind::CloudResource);
    assert_eq!(a.name, "johndoe");
    assert!(has_tag(a, "region:global"), "{:?}", a.tags);
    assert!(has_tag(a, "account:112233445566"), "{:?}", a.tags);
    assert!(has_tag(a, "aws-iam-user"), "{:?}", a.tags);
}

#[test]
fn the_ssm_notification_is_the_ec2_host_with_its_applications_os_and_network() {
    let inv = import(data!("aws-config-ci-AWS_SSM_ManagedInstanceInventory.json"));
    let a = only(&inv);
    assert_eq!(a.key, SSM_HOST);
    assert_eq!(a.kind, AssetKind::Host);
    assert_eq!(a.name, "WIN-RG9DFIDVMHC.WORKGROUP", "the ComputerName");
    assert!(
        has_tag(a, "aws-ssm-managedinstanceinventory"),
        "{:?}",
        a.tags
    );
    assert!(has_tag(a, "account:138920347130"), "{:?}", a.tags);

    // AWS:Application and AWS:AWSComponent list the same five entries, EC2ConfigService twice
    // with the same version: four applications after de-duplication, plus the OS.
    assert_eq!(a.components.len(), 5, "{:#?}", a.components);
    let os = &a.components[0];
    assert_eq!(
        (os.name.as_str(), os.version.as_deref()),
        (
            "Microsoft Windows Server 2012 R2 Standard",
            Some("6.3.9600")
        )
    );
    assert_eq!(
        os.cpe.as_deref(),
        Some("cpe:2.3:o:microsoft:windows_server_2012:r2:*:*:*:*:*:*:*")
    );
    let apps: Vec<(&str, &str, &str)> = a.components[1..]
        .iter()
        .map(|c| {
            (
                c.name.as_str(),
                c.version.as_deref().unwrap(),
                c.cpe.as_deref().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        apps,
        [
            (
                "AWS Tools for Windows",
                "3.9.520.0",
                "cpe:2.3:a:amazon:aws_tools_for_windows:3.9.520.0:*:*:*:*:*:*:*"
            ),
            (
                "EC2ConfigService",
                "3.19.1153.0",
                "cpe:2.3:a:amazon:ec2configservice:3.19.1153.0:*:*:*:*:*:*:*"
            ),
            (
                "AWS PV Drivers",
                "7.4.2",
                "cpe:2.3:a:amazon:aws_pv_drivers:7.4.2:*:*:*:*:*:*:*"
            ),
            (
                "aws-cfn-bootstrap",
                "1.4.10",
                "cpe:2.3:a:amazon:aws_cfn_bootstrap:1.4.10:*:*:*:*:*:*:*"
            ),
        ]
    );
    assert_eq!(
        a.components[1].group.as_deref(),
        Some("Amazon Web Services Developer Relations")
    );
    assert!(a.components.iter().all(|c| c.purl.is_none()));
    assert!(
        inv.warnings
            .iter()
            .any(|w| w.starts_with("4 Windows application components have a guessed CPE")),
        "{:?}",
        inv.warnings
    );

    assert_eq!(
        a.addresses,
        [
            addr(AddressKind::Ipv4, "172.16.2.129"),
            addr(AddressKind::Ipv4, "172.31.58.174"),
            addr(AddressKind::Ipv6, "fe80::95c6:1829:5d16:432c"),
            addr(AddressKind::Mac, "12:71:a2:ee:5e:7a:00:00"),
        ]
    );
}

/// The SSM notification's item, moved to the recorded EC2 instance (its account, region and id).
fn ssm_item_of_the_ec2_instance() -> Value {
    let mut ssm =
        json_of(data!("aws-config-ci-AWS_SSM_ManagedInstanceInventory.json"))["configurationItem"]
            .clone();
    ssm["awsAccountId"] = json!("681361479661");
    ssm["awsRegion"] = json!("us-east-1");
    ssm["resourceId"] = json!("i-03402838daac1d611");
    ssm["ARN"] =
        json!("arn:aws:ssm:us-east-1:681361479661:managed-instance-inventory/i-03402838daac1d611");
    ssm
}

#[test]
fn a_snapshot_of_an_instance_and_its_inventory_is_one_host() {
    let ec2 = json_of(data!("aws-config-ci-AWS_EC2_Instance.json"));
    let snapshot = json!({
        "fileVersion": "1.0",
        "configSnapshotId": "a3a83d3e-3c9e-4d5b-9e2f-0b1d7f7c2f11",
        "configurationItems": [ec2, ssm_item_of_the_ec2_instance()],
    });
    let inv = import_text(&snapshot.to_string());
    let a = only(&inv);
    assert_eq!(
        a.key,
        "arn:aws:ec2:us-east-1:681361479661:instance/i-03402838daac1d611"
    );
    assert_eq!(a.kind, AssetKind::Host);
    // No Name tag, no resourceName: the ComputerName beats the instance id.
    assert_eq!(a.name, "WIN-RG9DFIDVMHC.WORKGROUP");
    assert!(has_tag(a, "aws-ec2-instance") && has_tag(a, "aws-ssm-managedinstanceinventory"));
    for want in [
        addr(AddressKind::Ipv4, "172.31.74.239"),
        addr(AddressKind::Ipv4, "34.205.29.138"),
        addr(AddressKind::Ipv4, "172.16.2.129"),
        addr(AddressKind::Mac, "12:71:a2:ee:5e:7a:00:00"),
    ] {
        assert!(a.addresses.contains(&want), "{want:?} in {:?}", a.addresses);
    }
    assert_eq!(a.components.len(), 5);

    // The other order merges the same way.
    let snapshot = json!({
        "fileVersion": "1.0",
        "configurationItems": [ssm_item_of_the_ec2_instance(),
                               json_of(data!("aws-config-ci-AWS_EC2_Instance.json"))],
    });
    let b = import_text(&snapshot.to_string());
    let b = only(&b);
    assert_eq!((&b.key, &b.name), (&a.key, &a.name));
    assert_eq!(b.addresses, a.addresses);
    assert_eq!(b.components, a.components);

    // A Name tag on the instance beats the ComputerName.
    let mut ec2 = json_of(data!("aws-config-ci-AWS_EC2_Instance.json"));
    ec2["tags"] = json!({"Name": "web-1"});
    let inv = import_text(
        &json!({"configurationItems": [ssm_item_of_the_ec2_instance(), ec2]}).to_string(),
    );
    assert_eq!(only(&inv).name, "web-1");
}

/// The item as the API returns it: `configuration` and each supplementary value as JSON text.
fn api_shaped(mut item: Value) -> Value {
    item["configuration"] = json!(item["configuration"].to_string());
    if let Some(supp) = item["supplementaryConfiguration"].as_object_mut() {
        for v in supp.values_mut() {
            if !v.is_string() {
                *v = json!(v.to_string());
            }
        }
    }
    item
}

#[test]
fn api_answers_with_json_string_configurations_map_like_the_object_form() {
    for path in FILES {
        let doc = json_of(path);
        let item = match &doc {
            Value::Array(a) => a[0].clone(),
            d if d.get("configurationItem").is_some() => d["configurationItem"].clone(),
            d => d.clone(),
        };
        let want = import_text(&item.to_string());
        let api = api_shaped(item);
        for answer in [
            json!({"configurationItems": [api.clone()], "nextToken": "t"}),
            json!({"baseConfigurationItems": [api.clone()], "unprocessedResourceKeys": []}),
        ] {
            let got = import_text(&answer.to_string());
            assert_eq!(got, want, "{path}");
        }
        let got = aws_config::to_inventory(&[api], &CriticalityRules::default());
        assert_eq!(got, want, "{path}");
    }
}

#[test]
fn sdk_built_items_map_and_bad_configuration_strings_are_a_warning() {
    // As the node's discovery builds them from BatchGetResourceConfig: no `tags`, the tags in
    // supplementaryConfiguration.Tags as JSON text.
    let rds = json_of(data!("aws-config-ci-AWS_RDS_DBInstance.json"));
    let item = json!({
        "accountId": rds["accountId"],
        "arn": rds["arn"],
        "resourceType": rds["resourceType"],
        "resourceId": rds["resourceId"],
        "resourceName": rds["resourceName"],
        "awsRegion": rds["awsRegion"],
        "availabilityZone": rds["availabilityZone"],
        "configurationItemStatus": "OK",
        "configuration": rds["configuration"].to_string(),
        "supplementaryConfiguration": {
            "Tags": rds["supplementaryConfiguration"]["Tags"].to_string()
        },
    });
    let broken = json!({
        "accountId": "264683526309",
        "arn": "arn:aws:rds:us-east-1:264683526309:db:broken",
        "resourceType": "AWS::RDS::DBInstance",
        "resourceId": "db-BROKEN",
        "awsRegion": "us-east-1",
        "configuration": "{\"engine\": \"mysql\", ",
    });
    let inv = aws_config::to_inventory(&[item, broken, json!(3)], &CriticalityRules::default());
    assert_eq!(inv.assets.len(), 2);
    let a = inv
        .asset("arn:aws:rds:us-east-1:264683526309:db:myrdstest")
        .unwrap();
    assert_eq!(a.criticality, 4);
    assert_eq!(
        a.components[0].cpe.as_deref(),
        Some("cpe:2.3:a:oracle:mysql:5.6.27:*:*:*:*:*:*:*")
    );
    let b = inv
        .asset("arn:aws:rds:us-east-1:264683526309:db:broken")
        .unwrap();
    assert!(b.components.is_empty());
    assert_eq!(b.name, "db-BROKEN");
    assert!(
        inv.warnings
            .iter()
            .any(|w| w.starts_with("1 configuration") && w.contains("do not parse")),
        "{:?}",
        inv.warnings
    );
    assert!(
        inv.warnings
            .iter()
            .any(|w| w.starts_with("1 entries are not configuration items")),
        "{:?}",
        inv.warnings
    );
}

#[test]
fn deleted_resources_are_skipped_and_a_history_keeps_the_latest_item() {
    let mut gone = json_of(data!("aws-config-ci-AWS_EC2_SecurityGroup.json"));
    gone["configurationItemStatus"] = json!("ResourceDeleted");
    gone["configurationItemCaptureTime"] = json!("2016-06-10T08:59:59.139Z");
    let mut s3 = json_of(data!("aws-config-ci-AWS_S3_Bucket.json"));
    s3["configurationItemStatus"] = json!("ResourceNotRecorded");
    let inv = import_text(
        &json!([
            gone.clone(),
            s3,
            json_of(data!("aws-config-ci-AWS_EC2_VPC.json"))
        ])
        .to_string(),
    );
    assert_eq!(inv.assets.len(), 1);
    assert_eq!(inv.assets[0].name, "vpc-0990dc6d");
    assert!(
        inv.warnings
            .iter()
            .any(|w| w.starts_with("2 resources were skipped")),
        "{:?}",
        inv.warnings
    );

    // A history file: the group existed, then was deleted: nothing is imported.
    let sg = json_of(data!("aws-config-ci-AWS_EC2_SecurityGroup.json"));
    let history = json!({"fileVersion": "1.0", "configurationItems": [gone, sg.clone()]});
    let inv = import_text(&history.to_string());
    assert!(inv.assets.is_empty(), "{inv:?}");
    assert!(
        inv.warnings
            .iter()
            .any(|w| w.starts_with("1 configuration items were superseded"))
    );

    // ...and a later item with a tag replaces an earlier one.
    let mut later = sg.clone();
    later["configurationItemCaptureTime"] = json!("2016-07-01T00:00:00Z");
    later["tags"] = json!({"Name": "ssh-only", "env": "Prod"});
    let inv = import_text(&json!({"configurationItems": [later, sg]}).to_string());
    let a = only(&inv);
    assert_eq!(a.name, "ssh-only");
    assert!(has_tag(a, "env=prod") && has_tag(a, "prod"), "{:?}", a.tags);
    assert_eq!(a.criticality, 4);
}

#[test]
fn owner_and_explicit_criticality_come_from_tags() {
    let mut vpc = json_of(data!("aws-config-ci-AWS_EC2_VPC.json"));
    vpc["tags"] = json!({
        "Owner": "Network Team",
        "team": "ignored: owner comes first",
        "criticality": "5",
        "aws:cloudformation:stack-name": "net",
        "PCI": "",
    });
    let inv = import_text(&vpc.to_string());
    let a = only(&inv);
    assert_eq!(a.owner.as_deref(), Some("Network Team"));
    assert_eq!(a.criticality, 5);
    assert!(
        has_tag(a, "owner=network team") && has_tag(a, "pci"),
        "{:?}",
        a.tags
    );
    assert!(
        !a.tags.iter().any(|t| t.starts_with("aws:")),
        "{:?}",
        a.tags
    );

    // A bad criticality is a warning and the rules decide (no rule matches: 3).
    vpc["tags"] = json!({"criticality": "high", "contact": "noc@example.com"});
    let inv = import_text(&vpc.to_string());
    let a = only(&inv);
    assert_eq!(a.criticality, 3);
    assert_eq!(a.owner.as_deref(), Some("noc@example.com"));
    assert!(
        inv.warnings
            .iter()
            .any(|w| w.contains("ignored tag criticality")),
        "{:?}",
        inv.warnings
    );
}

#[test]
fn a_linux_inventory_gets_distribution_purls_and_an_os_cpe() {
    let item = json!({
        "configurationItemVersion": "1.3",
        "awsAccountId": "123456789012",
        "configurationItemStatus": "OK",
        "resourceType": "AWS::SSM::ManagedInstanceInventory",
        "resourceId": "i-0abc",
        "ARN": "arn:aws:ssm:eu-west-1:123456789012:managed-instance-inventory/i-0abc",
        "awsRegion": "eu-west-1",
        "configuration": {
            "AWS:InstanceInformation": {"SchemaVersion": "1.0", "Content": {"i-0abc": {
                "PlatformName": "Amazon Linux", "PlatformVersion": "2023",
                "PlatformType": "Linux", "ComputerName": "ip-10-0-0-5.ec2.internal",
                "IpAddress": "10.0.0.5", "InstanceId": "i-0abc"}}},
            "AWS:Application": {"SchemaVersion": "1.0", "Content": {"openssh": {
                "Name": "openssh", "Version": "8.7p1", "Architecture": "x86_64",
                "Publisher": "Amazon Linux"}}}
        }
    });
    let inv = import_text(&item.to_string());
    let a = only(&inv);
    assert_eq!(a.key, "arn:aws:ec2:eu-west-1:123456789012:instance/i-0abc");
    assert_eq!(a.name, "ip-10-0-0-5.ec2.internal");
    assert_eq!(a.addresses, [addr(AddressKind::Ipv4, "10.0.0.5")]);
    let os = &a.components[0];
    assert_eq!(
        (os.name.as_str(), os.version.as_deref(), os.cpe.as_deref()),
        (
            "Amazon Linux",
            Some("2023"),
            Some("cpe:2.3:o:amazon:linux_2023:-:*:*:*:*:*:*:*")
        )
    );
    let ssh = &a.components[1];
    assert_eq!(
        ssh.purl.as_deref(),
        Some("pkg:rpm/amzn/openssh@8.7p1?arch=x86_64")
    );
    assert_eq!(ssh.ecosystem.as_deref(), Some("rpm"));
    assert_eq!(ssh.version.as_deref(), Some("8.7p1"));
    assert_eq!(ssh.cpe, None);
    assert!(inv.warnings.is_empty(), "{:?}", inv.warnings);

    // An on-premises server (mi-…) on Ubuntu, applications as an array with a release.
    let item = json!({
        "awsAccountId": "123456789012", "resourceType": "AWS::SSM::ManagedInstanceInventory",
        "resourceId": "mi-0123", "awsRegion": "eu-west-1",
        "ARN": "arn:aws-us-gov:ssm:eu-west-1:123456789012:managed-instance-inventory/mi-0123",
        "configuration": {
            "AWS:InstanceInformation": {"Content": {"PlatformName": "Ubuntu",
                "PlatformVersion": "22.04", "PlatformType": "Linux"}},
            "AWS:Application": {"Content": [{"Name": "libc6", "Version": "2.35",
                "Release": "0ubuntu3.8", "Architecture": "amd64"}]}
        }
    });
    let inv = import_text(&item.to_string());
    let a = only(&inv);
    assert_eq!(
        a.key,
        "arn:aws-us-gov:ssm:eu-west-1:123456789012:managed-instance/mi-0123"
    );
    assert_eq!(a.name, "mi-0123");
    assert_eq!(
        a.components[0].cpe.as_deref(),
        Some("cpe:2.3:o:canonical:ubuntu_linux:22.04:*:*:*:*:*:*:*")
    );
    assert_eq!(
        a.components[1].purl.as_deref(),
        Some("pkg:deb/ubuntu/libc6@2.35-0ubuntu3.8?arch=amd64")
    );
}

#[test]
fn notifications_and_wrappers() {
    let notification = read(data!("aws-config-ci-AWS_SSM_ManagedInstanceInventory.json"));
    // The SNS envelope an HTTP or SQS subscriber receives, and the EventBridge event.
    let envelope = json!({"Type": "Notification", "MessageId": "m-1",
        "TopicArn": "arn:aws:sns:us-east-1:138920347130:config", "Message": notification});
    assert_eq!(only(&import_text(&envelope.to_string())).key, SSM_HOST);
    let event = json!({"version": "0", "detail-type": "Config Configuration Item Change",
        "source": "aws.config", "detail": json_of(data!("aws-config-ci-AWS_SSM_ManagedInstanceInventory.json"))});
    assert_eq!(only(&import_text(&event.to_string())).key, SSM_HOST);

    let oversized = json!({
        "messageType": "OversizedConfigurationItemChangeNotification",
        "recordVersion": "1.0",
        "configurationItemSummary": {"ARN": "arn:aws:ec2:us-east-1:1:instance/i-1",
            "resourceType": "AWS::EC2::Instance", "changeType": "UPDATE"},
        "s3DeliverySummary": {"s3BucketLocation": "bucket/key"}
    });
    let inv = import_text(&oversized.to_string());
    assert!(inv.assets.is_empty());
    assert!(
        inv.warnings.iter().any(
            |w| w.contains("OversizedConfigurationItemChangeNotification")
                && w.contains("arn:aws:ec2:us-east-1:1:instance/i-1")
        ),
        "{:?}",
        inv.warnings
    );
    // Next to a regular notification in an array.
    let inv = import_text(&format!("[{oversized}, {notification}]"));
    assert_eq!(only(&inv).key, SSM_HOST);
    assert!(!inv.warnings.is_empty());
}

#[test]
fn wrong_shapes_and_malformed_json_are_refused() {
    let wrong = |text: &str| match parse(
        Format::AwsConfig,
        text.as_bytes(),
        &CriticalityRules::default(),
    ) {
        Err(ImportError::WrongFormat {
            expected: Format::AwsConfig,
            reason,
        }) => reason,
        other => panic!("{text}: {other:?}"),
    };
    assert!(wrong(r#"{"bomFormat": "CycloneDX"}"#).contains("bomFormat"));
    assert!(wrong(r#"{"configurationItems": {}}"#).contains("not an array"));
    assert!(wrong(r#"[1, 2]"#).contains("element 0"));
    assert!(wrong(r#""text""#).contains("neither an object nor an array"));
    assert!(
        wrong(r#"{"messageType": "ComplianceChangeNotification"}"#)
            .contains("ComplianceChangeNotification")
    );
    assert!(wrong(r#"{"Type": "Notification", "Message": "not json"}"#).contains("not JSON"));
    let err = parse(
        Format::AwsConfig,
        b"{\"resourceType\": \"AWS::S3::Bucket\",\n  \"ARN\": }",
        &CriticalityRules::default(),
    )
    .unwrap_err();
    assert!(
        matches!(
            err,
            ImportError::Json {
                format: Format::AwsConfig,
                line: 2,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(
        err.to_string()
            .starts_with("malformed AWS Config configuration items JSON at line 2")
    );
    assert!(matches!(
        parse(Format::AwsConfig, b" \n", &CriticalityRules::default()),
        Err(ImportError::Empty(Format::AwsConfig))
    ));
}

#[test]
fn the_format_has_its_names() {
    for name in ["aws_config", "AWS-Config", " aws "] {
        assert_eq!(name.parse::<Format>().unwrap(), Format::AwsConfig);
    }
    assert_eq!(
        serde_json::to_string(&Format::AwsConfig).unwrap(),
        "\"aws_config\""
    );
    assert_eq!(
        serde_json::from_str::<Format>("\"aws_config\"").unwrap(),
        Format::AwsConfig
    );
    assert_eq!(
        Format::AwsConfig.to_string(),
        "AWS Config configuration items"
    );
}

#[test]
fn rules_without_the_tag_keys_take_their_defaults() {
    let rules: CriticalityRules = serde_json::from_str(r#"{"default": 2}"#).unwrap();
    let d = CriticalityRules::default();
    assert_eq!(rules.owner_tags, d.owner_tags);
    assert_eq!(rules.value_tags, d.value_tags);
    assert_eq!(d.owner_tags, ["owner", "team", "contact"]);
    assert!(d.value_tags.iter().any(|t| t == "workload-type"));
}
