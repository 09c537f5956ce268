//! AWS resources as assets: AWS Config configuration items (the `ConfigurationItem` of the
//! AWS Config API reference, CI versions 1.2 and 1.3) mapped to hosts, applications and cloud
//! resources, from a file (`format=aws_config`) or from the node's SDK discovery
//! ([`to_inventory`]).
//!
//! # Accepted documents ([`parse`])
//!
//! | shape | AWS source |
//! |---|---|
//! | one object with `resourceType` | one `ConfigurationItem` (console export, AWS Config rule test items) |
//! | an array of such objects (or of any shape below) | several items |
//! | `{"fileVersion": "1.0", "configSnapshotId"?: ..., "configurationItems": [...]}` | a configuration snapshot or configuration history file as AWS Config delivers it to the S3 bucket (`AWSLogs/<account>/Config/<region>/...`) |
//! | `{"messageType": "ConfigurationItemChangeNotification", "configurationItem": {...}, "configurationItemDiff": ...}` | the SNS notification AWS Config sends on every change |
//! | `{"messageType": "OversizedConfigurationItemChangeNotification", ...}` | an SNS notification too large to carry the item: **a warning**, nothing imported (fetch the item with `GetResourceConfigHistory`) |
//! | `{"Type": "Notification", "Message": "<one of the above, as a JSON string>"}` | the SNS envelope as an HTTP/SQS subscriber receives it |
//! | `{"detail-type": ..., "detail": {<a notification>}}` | the same notification as an Amazon EventBridge event |
//! | `{"configurationItems": [...]}` | a `GetResourceConfigHistory` answer |
//! | `{"baseConfigurationItems": [...], "unprocessedResourceKeys"?: [...]}` | a `BatchGetResourceConfig` answer (unprocessed keys are a warning) |
//!
//! Anything else is [`ImportError::WrongFormat`]; malformed JSON is [`ImportError::Json`] with
//! its line and column.
//!
//! # Item fields read
//!
//! Both field-name generations: CI version 1.2 / `BaseConfigurationItem` (`accountId`, `arn`)
//! and 1.3 (`awsAccountId`, `ARN`); account and region missing from the item are taken from
//! the ARN (`arn:<partition>:<service>:<region>:<account>:<resource>`). `configuration`,
//! `supplementaryConfiguration` and each supplementary value may be an object or a JSON
//! **string** (as the API answers); a string that does not parse counts as absent (one summary
//! warning).
//!
//! # Mapping
//!
//! | asset field | from |
//! |---|---|
//! | key | the item's ARN; an `AWS::EC2::Instance` without one `arn:<partition>:ec2:<region>:<account>:instance/<id>`; an `AWS::SSM::ManagedInstanceInventory` item keys the instance it describes: `arn:<partition>:ec2:<region>:<account>:instance/<i-id>` for an EC2 instance (so it merges with the `AWS::EC2::Instance` item into **one** asset), `arn:<partition>:ssm:<region>:<account>:managed-instance/<mi-id>` for an on-premises server (partition from the item's own ARN, default `aws`); any other item without an ARN `aws:<account>:<region>:<resourceType>:<resourceId>` |
//! | kind | `AWS::EC2::Instance`, `AWS::SSM::ManagedInstanceInventory` → [`AssetKind::Host`]; `AWS::Lambda::Function` → [`AssetKind::Application`]; every other type (security groups, VPCs, subnets, RDS, S3, IAM, ...) → [`AssetKind::CloudResource`] |
//! | name | the `Name` tag, else `resourceName`, else (SSM) the `ComputerName`, else `resourceId`, else the ARN's resource part; merged items never replace a name with one of a lower rank |
//! | tags (lower-case) | `aws`; the type (`aws-ec2-instance`: `resourceType` lower-cased, `::` → `-`); `region:<awsRegion>`; `account:<id>`; each AWS tag as `<key>=<value>` (a tag with an empty value as `<key>`; keys starting with `aws:` are skipped); the bare value of each tag whose key is one of [`CriticalityRules::value_tags`] (`workload-type=production` also gives `production`) |
//! | owner | the value of the tag named by the first of [`CriticalityRules::owner_tags`] the resource has (keys case-insensitive) |
//! | criticality | a `criticality` or `rampart:criticality` tag of 1..=5; a bad value is a warning and the rules decide; else [`CriticalityRules::evaluate`] on kind, name and tags |
//! | addresses | EC2 `configuration.privateIpAddress`, `publicIpAddress`, `ipv6Address` (IPv4 or IPv6 by parsing; text that is not an IP is counted in a warning), `privateDnsName`, `publicDnsName` (host names), and the same of each `networkInterfaces[]` (its `macAddress`, `privateIpAddresses[]`, `association.publicIp`, `ipv6Addresses[]`); RDS DB instance `configuration.endpoint.address` (DB cluster: `endpoint`) as a host name; SSM `AWS:Network` `IPV4` / `IPV6` (comma-separated lists allowed) / `MacAddress`, and `AWS:InstanceInformation` `IpAddress` |
//! | components | RDS DB instance and DB cluster `engine` + `engineVersion` (CPE for `mysql` → `oracle:mysql`, `postgres` → `postgresql:postgresql`, `mariadb` → `mariadb:mariadb`; none for `aurora-*` and other engines, nor without a version); Lambda `runtime` split into name and version (`nodejs6.10` → `nodejs` `6.10`, no CPE); SSM `AWS:Application` and `AWS:AWSComponent` entries (`Name`, `Version`, `Publisher` as the group) and the operating system from `AWS:InstanceInformation` (`PlatformName`, `PlatformVersion`) |
//!
//! AWS tags come from every place AWS Config puts them, merged: the item's `tags` map,
//! `supplementaryConfiguration.Tags` (a list of `{key, value}` or a map), S3
//! `supplementaryConfiguration.BucketTaggingConfiguration.tagSets[].tags`, and
//! `configuration.tags` (a list of `{key, value}` for EC2 and IAM, or a map).
//!
//! ## Identities of SSM inventory components
//!
//! The risk service matches a component by purl and by CPE, so:
//!
//! * **Linux** (`PlatformType` `Linux`, or a Linux distribution's `PlatformName`): packages are
//!   purls of the distribution, `pkg:rpm/amzn/<name>@<version>?arch=<Architecture>` for Amazon
//!   Linux, `pkg:rpm/redhat/…` Red Hat, `pkg:rpm/centos/…` CentOS, `pkg:rpm/suse/…` SUSE,
//!   `pkg:rpm/fedora/…` Fedora, `pkg:deb/ubuntu/…` Ubuntu, `pkg:deb/debian/…` Debian (name
//!   percent-encoded by the `packageurl` crate; the purl version is `Version`, plus
//!   `-<Release>` when the inventory has a `Release`; an `Epoch` other than 0 is the `epoch`
//!   qualifier). Other distributions: name and version only.
//! * **Windows**: an application with a `Publisher` and a `Version` gets a **guessed** CPE
//!   `cpe:2.3:a:<vendor>:<product>:<version>:*:*:*:*:*:*:*`: vendor `microsoft`, `amazon`,
//!   `google`, `mozilla`, `oracle` or `adobe` for publishers starting with those names, else
//!   the publisher's first word lower-cased (alphanumerics only); product the name lower-cased
//!   with trailing parenthesised parts and versions removed, a leading vendor word dropped
//!   (`Google Chrome` → `chrome`, as NVD names products) and blanks and `-` turned into `_`.
//!   One summary warning counts them: a guess may name no, or the wrong, NVD product.
//! * **Operating system** CPEs for the known platforms only: Windows Server 2008/2012/2016/
//!   2019/2022/2025 (`microsoft:windows_server_2012:r2` for an R2, else
//!   `windows_server_<year>:-`), Amazon Linux 2023 (`amazon:linux_2023:-`) and 2
//!   (`amazon:linux_2:-`), Ubuntu (`canonical:ubuntu_linux:<PlatformVersion>`), Red Hat
//!   Enterprise Linux (`redhat:enterprise_linux:<major>`).
//!
//! `AWS:WindowsUpdate` (hot fixes), `AWS:File`, `AWS:Service` and custom inventory types are
//! not read.
//!
//! # Skipped items and history
//!
//! Several items for the same resource (same type and key, as in a configuration history
//! file) are one: the latest by `configurationItemCaptureTime` (ties: the later listed) wins
//! and the others count in a warning. A resource whose latest item has
//! `configurationItemStatus` `ResourceDeleted`, `ResourceDeletedNotRecorded` or
//! `ResourceNotRecorded` is skipped (one warning counts them). Items without a `resourceType`,
//! or without both an ARN and a `resourceId`, are skipped with a warning.
//!
//! # Bounds
//! At most [`MAX_ASSETS`](crate::MAX_ASSETS) assets and
//! [`MAX_COMPONENTS`](crate::MAX_COMPONENTS) components (after de-duplication) per inventory,
//! as for every format ([`parse`] fails with [`ImportError::TooLarge`], [`to_inventory`] stops
//! with a warning); wrappers nest at most [`MAX_WRAPPING`] levels. [`crate::parse`] also
//! bounds the input to [`MAX_INPUT_BYTES`](crate::MAX_INPUT_BYTES).

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::net::IpAddr;

use serde_json::Value;

use crate::error::ImportError;
use crate::model::{Builder, Draft, Inventory, parse_criticality};
use crate::rules::CriticalityRules;
use rampart_contracts::asset::{AddressKind, AssetKind, Component, Format};

/// Deepest nesting of wrappers (array → SNS envelope → notification → item), in levels.
pub const MAX_WRAPPING: usize = 4;

const EC2_INSTANCE: &str = "AWS::EC2::Instance";
const SSM_INVENTORY: &str = "AWS::SSM::ManagedInstanceInventory";
const LAMBDA_FUNCTION: &str = "AWS::Lambda::Function";
const GONE: [&str; 3] = [
    "ResourceDeleted",
    "ResourceDeletedNotRecorded",
    "ResourceNotRecorded",
];

/// Parses an AWS Config document (module docs: one configuration item, an array of them, a
/// configuration snapshot or history file, an SNS `ConfigurationItemChangeNotification`, a
/// `GetResourceConfigHistory` or `BatchGetResourceConfig` answer) into an inventory.
///
/// # Errors
/// [`ImportError::Json`] for malformed JSON (line, column); [`ImportError::WrongFormat`] for a
/// document of none of those shapes (an array element that is not an object, a
/// `configurationItems` that is not an array, an SNS message of another type, an SNS
/// `Message` that is not JSON); [`ImportError::TooLarge`] past the asset or component bounds.
pub fn parse(text: &str, rules: &CriticalityRules) -> Result<Inventory, ImportError> {
    let v: Value =
        serde_json::from_str(text).map_err(|e| ImportError::json(Format::AwsConfig, &e))?;
    let mut found = Found::default();
    walk(&v, 0, &mut found)?;
    let mut m = Mapper::new(rules);
    m.b.warnings.append(&mut found.warnings);
    m.add_all(found.items.iter().map(|c| c.as_ref()))?;
    Ok(m.finish())
}

/// Maps configuration items to an inventory (module docs). Each item is a `ConfigurationItem`
/// or `BaseConfigurationItem` as JSON: `accountId`/`awsAccountId`, `arn`/`ARN`,
/// `resourceType`, `resourceId`, `resourceName`, `awsRegion`, `availabilityZone`,
/// `configurationItemStatus`, `configurationItemCaptureTime`, `configuration` (an object or a
/// JSON string), `supplementaryConfiguration` (a map of objects or JSON strings), `tags` (a
/// map, may be absent).
///
/// Never fails: entries that are not items are skipped with a warning, and past
/// [`MAX_ASSETS`](crate::MAX_ASSETS) or [`MAX_COMPONENTS`](crate::MAX_COMPONENTS) the mapping
/// stops with a warning and returns what it has.
pub fn to_inventory(items: &[Value], rules: &CriticalityRules) -> Inventory {
    let mut m = Mapper::new(rules);
    if let Err(e) = m.add_all(items.iter()) {
        m.b.warnings.push(format!(
            "the configuration items were mapped only in part: {e}"
        ));
    }
    m.finish()
}

fn wrong(reason: impl Into<String>) -> ImportError {
    ImportError::WrongFormat {
        expected: Format::AwsConfig,
        reason: reason.into(),
    }
}

/// Items found in a document (borrowed, or owned when they came out of an SNS envelope's
/// `Message` string), and warnings about wrappers.
#[derive(Default)]
struct Found<'a> {
    items: Vec<Cow<'a, Value>>,
    warnings: Vec<String>,
}

/// Collects the configuration items of a document (module docs, "Accepted documents").
fn walk<'a>(v: &'a Value, depth: usize, out: &mut Found<'a>) -> Result<(), ImportError> {
    if depth > MAX_WRAPPING {
        return Err(wrong(format!(
            "wrappers nested deeper than {MAX_WRAPPING} levels"
        )));
    }
    let o = match v {
        Value::Array(a) if depth == 0 => {
            if a.is_empty() {
                out.warnings
                    .push("the document is an empty array: no configuration items".into());
            }
            for (i, x) in a.iter().enumerate() {
                if !x.is_object() {
                    return Err(wrong(format!("array element {i} is not an object")));
                }
                walk(x, depth + 1, out)?;
            }
            return Ok(());
        }
        Value::Object(o) => o,
        _ if depth == 0 => {
            return Err(wrong("the document is neither an object nor an array"));
        }
        _ => return Err(wrong("a wrapped document is not an object")),
    };
    if o.contains_key("resourceType") {
        out.items.push(Cow::Borrowed(v));
        return Ok(());
    }
    for list in ["configurationItems", "baseConfigurationItems"] {
        if let Some(items) = o.get(list) {
            let Value::Array(items) = items else {
                return Err(wrong(format!("{list} is not an array")));
            };
            out.items.extend(items.iter().map(Cow::Borrowed));
            let unprocessed = o
                .get("unprocessedResourceKeys")
                .and_then(Value::as_array)
                .map_or(0, Vec::len);
            if unprocessed > 0 {
                out.warnings.push(format!(
                    "{unprocessed} resource keys were not processed by BatchGetResourceConfig \
                     (unprocessedResourceKeys): ask again for them"
                ));
            }
            return Ok(());
        }
    }
    if let Some(t) = o.get("messageType") {
        return match t.as_str() {
            Some("ConfigurationItemChangeNotification") => match o.get("configurationItem") {
                Some(ci @ Value::Object(_)) => {
                    out.items.push(Cow::Borrowed(ci));
                    Ok(())
                }
                Some(Value::Null) | None => Err(wrong(
                    "ConfigurationItemChangeNotification without a configurationItem",
                )),
                Some(_) => Err(wrong("configurationItem is not an object")),
            },
            Some("OversizedConfigurationItemChangeNotification") => {
                let what = o
                    .get("configurationItemSummary")
                    .and_then(|s| s.get("ARN").or_else(|| s.get("resourceId")))
                    .and_then(Value::as_str)
                    .unwrap_or("a resource");
                out.warnings.push(format!(
                    "an OversizedConfigurationItemChangeNotification for {what} carries no \
                     configuration item (AWS Config stores it in S3, see \
                     s3DeliverySummary.s3BucketLocation, or ask GetResourceConfigHistory): \
                     nothing imported for it"
                ));
                Ok(())
            }
            Some(other) => Err(wrong(format!(
                "an AWS Config {other} message carries no configuration item"
            ))),
            None => Err(wrong("messageType is not a string")),
        };
    }
    if o.get("Type").and_then(Value::as_str) == Some("Notification")
        && let Some(message) = o.get("Message")
    {
        let Some(message) = message.as_str() else {
            return Err(wrong("the SNS Message is not a string"));
        };
        let inner: Value = serde_json::from_str(message)
            .map_err(|e| wrong(format!("the SNS Message is not JSON: {e}")))?;
        let mut nested = Found::default();
        walk(&inner, depth + 1, &mut nested)?;
        out.warnings.append(&mut nested.warnings);
        out.items
            .extend(nested.items.into_iter().map(|c| Cow::Owned(c.into_owned())));
        return Ok(());
    }
    if o.contains_key("detail-type")
        && let Some(detail) = o.get("detail")
    {
        return walk(detail, depth + 1, out);
    }
    let mut keys: Vec<&str> = o.keys().map(String::as_str).take(6).collect();
    if o.len() > keys.len() {
        keys.push("...");
    }
    Err(wrong(format!(
        "expected a configuration item (resourceType), a snapshot or history file or \
         GetResourceConfigHistory answer (configurationItems), a BatchGetResourceConfig answer \
         (baseConfigurationItems) or an SNS notification (messageType); found the keys [{}]",
        keys.join(", ")
    )))
}

/// A trimmed, non-empty string field.
fn s<'a>(v: &'a Value, k: &str) -> Option<&'a str> {
    v.get(k)
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|x| !x.is_empty())
}

/// The first present of several spellings of a field.
fn s_any<'a>(v: &'a Value, keys: &[&str]) -> Option<&'a str> {
    keys.iter().find_map(|k| s(v, k))
}

/// A scalar as text (tag values are strings, but numbers and booleans occur).
fn scalar(v: &Value) -> Option<String> {
    match v {
        Value::String(x) => Some(x.trim().to_owned()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Null => Some(String::new()),
        _ => None,
    }
}

/// `configurationItemCaptureTime` in milliseconds since the epoch: RFC 3339 text, or a number
/// of seconds (the API's JSON timestamps) or milliseconds.
fn capture_time(item: &Value) -> Option<i64> {
    match item.get("configurationItemCaptureTime")? {
        Value::String(t) => chrono::DateTime::parse_from_rfc3339(t.trim())
            .ok()
            .map(|d| d.timestamp_millis()),
        Value::Number(n) => {
            let x = n.as_f64()?;
            // Seconds until the year 5138; beyond that it must be milliseconds.
            let ms = if x.abs() < 1e11 { x * 1000.0 } else { x };
            Some(ms as i64)
        }
        _ => None,
    }
}

/// The fields that identify an item.
struct Meta<'a> {
    rtype: &'a str,
    arn: Option<&'a str>,
    account: Option<&'a str>,
    region: Option<&'a str>,
    id: Option<&'a str>,
    key: String,
}

impl<'a> Meta<'a> {
    /// The identity of an item and its asset key (module docs); [`Skip`] when it has no
    /// `resourceType` (not an item) or neither an ARN nor a `resourceId`.
    fn of(item: &'a Value) -> Result<Self, Skip> {
        let rtype = s(item, "resourceType").ok_or(Skip::NotItem)?;
        let arn = s_any(item, &["ARN", "arn"]);
        // arn:<partition>:<service>:<region>:<account>:<resource>
        let parts: Vec<&str> = arn.map(|a| a.splitn(6, ':').collect()).unwrap_or_default();
        let part = |i: usize| parts.get(i).copied().filter(|x| !x.is_empty());
        let partition = part(1).unwrap_or("aws");
        let account = s_any(item, &["awsAccountId", "accountId"]).or_else(|| part(4));
        let region = s(item, "awsRegion").or_else(|| part(3));
        let id = s(item, "resourceId");
        let instance_key = |service: &str, kind: &str, id: &str| {
            Some(format!(
                "arn:{partition}:{service}:{}:{}:{kind}/{id}",
                region?, account?
            ))
        };
        let key = match (rtype, id) {
            (SSM_INVENTORY, Some(id)) if id.starts_with("i-") => {
                instance_key("ec2", "instance", id)
            }
            (SSM_INVENTORY, Some(id)) if id.starts_with("mi-") => {
                instance_key("ssm", "managed-instance", id)
            }
            (EC2_INSTANCE, Some(id)) if arn.is_none() => instance_key("ec2", "instance", id),
            _ => None,
        };
        let key = match (key, arn, id) {
            (Some(k), _, _) => k,
            (None, Some(a), _) => a.to_owned(),
            (None, None, Some(id)) => format!(
                "aws:{}:{}:{rtype}:{id}",
                account.unwrap_or(""),
                region.unwrap_or("")
            ),
            (None, None, None) => return Err(Skip::NoId),
        };
        Ok(Self {
            rtype,
            arn,
            account,
            region,
            id,
            key,
        })
    }
}

/// Why an entry is not mapped.
enum Skip {
    NotItem,
    NoId,
}

/// Assembles assets from items, with summary counts for the warnings.
struct Mapper<'r> {
    rules: &'r CriticalityRules,
    b: Builder,
    /// Rank of each asset's current name (module docs: Name tag 4 > resourceName 3 >
    /// ComputerName 2 > resourceId 1 > ARN 0).
    name_rank: HashMap<String, u8>,
    /// (asset key, component dedupe key) of components with a guessed CPE.
    guessed: HashSet<(String, String)>,
    not_items: usize,
    no_id: usize,
    gone: usize,
    superseded: usize,
    bad_json: usize,
    bad_ip: usize,
}

impl<'r> Mapper<'r> {
    fn new(rules: &'r CriticalityRules) -> Self {
        Self {
            rules,
            b: Builder::new(Format::AwsConfig),
            name_rank: HashMap::new(),
            guessed: HashSet::new(),
            not_items: 0,
            no_id: 0,
            gone: 0,
            superseded: 0,
            bad_json: 0,
            bad_ip: 0,
        }
    }

    /// Maps every item, keeping per resource (type and key) only the latest.
    fn add_all<'v>(&mut self, items: impl Iterator<Item = &'v Value>) -> Result<(), ImportError> {
        let mut metas: Vec<(&Value, Meta<'_>)> = Vec::new();
        for item in items {
            match Meta::of(item) {
                Ok(m) => metas.push((item, m)),
                Err(Skip::NotItem) => self.not_items += 1,
                Err(Skip::NoId) => self.no_id += 1,
            }
        }
        // The latest item of each resource: (capture time, position) is the greatest.
        let mut latest: HashMap<(&str, &str), (Option<i64>, usize)> = HashMap::new();
        for (i, (item, m)) in metas.iter().enumerate() {
            let t = capture_time(item);
            let slot = latest.entry((m.rtype, m.key.as_str())).or_insert((t, i));
            if (t, i) >= *slot {
                *slot = (t, i);
            }
        }
        for (i, (item, m)) in metas.iter().enumerate() {
            if latest
                .get(&(m.rtype, m.key.as_str()))
                .is_some_and(|&(_, j)| j != i)
            {
                self.superseded += 1;
                continue;
            }
            if s(item, "configurationItemStatus").is_some_and(|st| GONE.contains(&st)) {
                self.gone += 1;
                continue;
            }
            self.add(item, m)?;
        }
        Ok(())
    }

    /// An object field that may be a JSON string (as the API answers); a string that does not
    /// parse is counted and treated as absent.
    fn decoded<'v>(&mut self, v: Option<&'v Value>) -> Option<Cow<'v, Value>> {
        match v? {
            Value::Null => None,
            Value::String(t) if t.trim().is_empty() || t.trim() == "null" => None,
            Value::String(t) => match serde_json::from_str::<Value>(t) {
                Ok(Value::Null) => None,
                Ok(x) => Some(Cow::Owned(x)),
                Err(_) => {
                    self.bad_json += 1;
                    None
                }
            },
            x => Some(Cow::Borrowed(x)),
        }
    }

    /// Appends the `(key, value)` pairs of a tag map, a list of `{key, value}` (either case),
    /// or a JSON string of either.
    fn tag_pairs(&mut self, v: Option<&Value>, out: &mut Vec<(String, String)>) {
        let Some(v) = self.decoded(v) else {
            return;
        };
        match v.as_ref() {
            Value::Object(m) => {
                for (k, x) in m {
                    if let Some(x) = scalar(x) {
                        out.push((k.trim().to_owned(), x));
                    }
                }
            }
            Value::Array(list) => {
                for t in list {
                    let k = s_any(t, &["key", "Key"]);
                    let x = t.get("value").or_else(|| t.get("Value")).and_then(scalar);
                    if let Some(k) = k {
                        out.push((k.to_owned(), x.unwrap_or_default()));
                    }
                }
            }
            _ => {}
        }
    }

    fn add(&mut self, item: &Value, m: &Meta<'_>) -> Result<(), ImportError> {
        let config = self.decoded(item.get("configuration"));
        let config = config.as_deref();
        let supp = self.decoded(item.get("supplementaryConfiguration"));
        let supp = supp.as_deref();

        // AWS tags, from every place AWS Config puts them.
        let mut pairs = Vec::new();
        self.tag_pairs(item.get("tags"), &mut pairs);
        self.tag_pairs(supp.and_then(|x| x.get("Tags")), &mut pairs);
        if let Some(bucket) = self.decoded(supp.and_then(|x| x.get("BucketTaggingConfiguration"))) {
            for set in bucket
                .get("tagSets")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                self.tag_pairs(set.get("tags"), &mut pairs);
            }
        }
        self.tag_pairs(config.and_then(|x| x.get("tags")), &mut pairs);
        let mut seen = HashSet::new();
        pairs.retain(|(k, v)| {
            !k.is_empty()
                && !k.to_ascii_lowercase().starts_with("aws:")
                && seen.insert((k.clone(), v.clone()))
        });
        let tag = |name: &str| {
            pairs
                .iter()
                .find(|(k, v)| k.eq_ignore_ascii_case(name) && !v.is_empty())
                .map(|(_, v)| v.as_str())
        };

        let mut tags = vec![
            "aws".to_owned(),
            m.rtype.to_ascii_lowercase().replace("::", "-"),
        ];
        if let Some(r) = m.region {
            tags.push(format!("region:{}", r.to_ascii_lowercase()));
        }
        if let Some(a) = m.account {
            tags.push(format!("account:{}", a.to_ascii_lowercase()));
        }
        for (k, v) in &pairs {
            tags.push(if v.is_empty() {
                k.to_lowercase()
            } else {
                format!("{k}={v}").to_lowercase()
            });
            if !v.is_empty()
                && self
                    .rules
                    .value_tags
                    .iter()
                    .any(|t| t.eq_ignore_ascii_case(k))
            {
                tags.push(v.to_lowercase());
            }
        }
        let owner = self.rules.owner_tags.iter().find_map(|o| tag(o));
        let criticality = match tag("rampart:criticality").or_else(|| tag("criticality")) {
            Some(c) => match parse_criticality(c) {
                Ok(c) => Some(c),
                Err(e) => {
                    self.b.warnings.push(format!(
                        "{}: ignored tag criticality: {e}; the criticality rules decide",
                        m.key
                    ));
                    None
                }
            },
            None => None,
        };

        let kind = match m.rtype {
            EC2_INSTANCE | SSM_INVENTORY => AssetKind::Host,
            LAMBDA_FUNCTION => AssetKind::Application,
            _ => AssetKind::CloudResource,
        };

        let mut names: Vec<(u8, String)> = Vec::new();
        if let Some(n) = tag("Name") {
            names.push((4, n.to_owned()));
        }
        if let Some(n) = s(item, "resourceName") {
            names.push((3, n.to_owned()));
        }
        let mut addresses: Vec<(AddressKind, String)> = Vec::new();
        let mut components: Vec<(Component, bool)> = Vec::new();
        if let Some(config) = config {
            match m.rtype {
                EC2_INSTANCE => self.ec2_addresses(config, &mut addresses),
                SSM_INVENTORY => {
                    let inv = self.ssm(config, m.id, &mut addresses);
                    if let Some(n) = inv.computer_name {
                        names.push((2, n));
                    }
                    components = inv.components;
                }
                LAMBDA_FUNCTION => components.extend(lambda_runtime(config).map(|c| (c, false))),
                "AWS::RDS::DBInstance" | "AWS::RDS::DBCluster" => {
                    match config.get("endpoint") {
                        Some(Value::String(h)) => {
                            addresses.push((AddressKind::Hostname, h.clone()));
                        }
                        Some(e) => {
                            if let Some(h) = s(e, "address") {
                                addresses.push((AddressKind::Hostname, h.to_owned()));
                            }
                        }
                        None => {}
                    }
                    components.extend(rds_engine(config).map(|c| (c, false)));
                }
                _ => {}
            }
        }
        if let Some(id) = m.id {
            names.push((1, id.to_owned()));
        }
        if let Some(arn) = m.arn {
            let resource = arn.rsplit(['/', ':']).next().unwrap_or(arn);
            names.push((0, resource.to_owned()));
        }
        let (rank, name) = names
            .into_iter()
            .max_by_key(|(r, _)| *r)
            .unwrap_or((0, m.key.clone()));

        let key = m.key.as_str();
        let d = self
            .b
            .entry(key, || Draft::new(key.to_owned(), kind, name.clone()))?;
        let current = self.name_rank.entry(key.to_owned()).or_insert(rank);
        if rank > *current {
            d.name = name;
            *current = rank;
        }
        d.tags.extend(tags);
        if d.owner.is_none() {
            d.owner = owner.map(str::to_owned);
        }
        if d.criticality.is_none() {
            d.criticality = criticality;
        }
        for (k, v) in addresses {
            d.add_address(k, &v);
        }
        for (c, guessed) in components {
            if guessed {
                self.guessed.insert((key.to_owned(), c.dedupe_key()));
            }
            self.b.add_component(key, c)?;
        }
        Ok(())
    }

    /// Adds an IP address as IPv4 or IPv6 (an IPv6 zone suffix `%…` dropped), counting text
    /// that is not one.
    fn ip(&mut self, text: &str, out: &mut Vec<(AddressKind, String)>) {
        let text = text.trim();
        if text.is_empty() {
            return;
        }
        let bare = text.split('%').next().unwrap_or(text);
        match bare.parse::<IpAddr>() {
            Ok(IpAddr::V4(_)) => out.push((AddressKind::Ipv4, bare.to_owned())),
            Ok(IpAddr::V6(_)) => out.push((AddressKind::Ipv6, bare.to_owned())),
            Err(_) => self.bad_ip += 1,
        }
    }

    /// EC2 instance addresses (module docs): the instance's and each network interface's.
    fn ec2_addresses(&mut self, c: &Value, out: &mut Vec<(AddressKind, String)>) {
        fn list<'v>(v: &'v Value, k: &str) -> impl Iterator<Item = &'v Value> {
            v.get(k).and_then(Value::as_array).into_iter().flatten()
        }
        fn with_association<'v>(v: &'v Value, ips: &mut Vec<&'v str>, hosts: &mut Vec<&'v str>) {
            ips.extend(s(v, "privateIpAddress"));
            hosts.extend(s(v, "privateDnsName"));
            if let Some(a) = v.get("association") {
                ips.extend(s(a, "publicIp"));
                hosts.extend(s(a, "publicDnsName"));
            }
        }
        let mut ips: Vec<&str> = Vec::new();
        let mut hosts: Vec<&str> = Vec::new();
        ips.extend(s(c, "publicIpAddress"));
        ips.extend(s(c, "ipv6Address"));
        hosts.extend(s(c, "publicDnsName"));
        with_association(c, &mut ips, &mut hosts);
        for eni in list(c, "networkInterfaces") {
            if let Some(mac) = s(eni, "macAddress") {
                out.push((AddressKind::Mac, mac.to_owned()));
            }
            with_association(eni, &mut ips, &mut hosts);
            for p in list(eni, "privateIpAddresses") {
                with_association(p, &mut ips, &mut hosts);
            }
            for p in list(eni, "ipv6Addresses") {
                ips.extend(s(p, "ipv6Address").or_else(|| p.as_str()));
            }
        }
        for ip in ips {
            self.ip(ip, out);
        }
        out.extend(
            hosts
                .into_iter()
                .map(|h| (AddressKind::Hostname, h.to_owned())),
        );
    }

    /// What an `AWS::SSM::ManagedInstanceInventory` configuration says (module docs).
    fn ssm(
        &mut self,
        c: &Value,
        resource_id: Option<&str>,
        addresses: &mut Vec<(AddressKind, String)>,
    ) -> SsmInventory {
        let content = |t: &str| c.get(t).and_then(|x| x.get("Content"));
        // AWS:InstanceInformation: the entry of this instance, else the first.
        let infos = entries(
            content("AWS:InstanceInformation"),
            &["PlatformName", "InstanceId"],
        );
        let info = infos
            .iter()
            .find(|(k, e)| {
                resource_id.is_some_and(|id| *k == Some(id) || s(e, "InstanceId") == Some(id))
            })
            .or_else(|| infos.first())
            .map(|(_, e)| *e);
        let platform = info.map_or(Platform::Unknown, Platform::of);
        let mut out = SsmInventory {
            computer_name: info.and_then(|i| s(i, "ComputerName")).map(str::to_owned),
            components: Vec::new(),
        };
        if let Some(i) = info {
            for ip in s(i, "IpAddress").into_iter().flat_map(|x| x.split(',')) {
                self.ip(ip, addresses);
            }
            if let Some(os) = os_component(i) {
                out.components.push((os, false));
            }
        }
        for (_, n) in entries(
            content("AWS:Network"),
            &["IPV4", "IPV6", "MacAddress", "Name"],
        ) {
            for field in ["IPV4", "IPV6"] {
                for ip in s(n, field).into_iter().flat_map(|x| x.split(',')) {
                    self.ip(ip, addresses);
                }
            }
            if let Some(mac) = s(n, "MacAddress") {
                addresses.push((AddressKind::Mac, mac.to_owned()));
            }
        }
        for t in ["AWS:Application", "AWS:AWSComponent"] {
            for (k, a) in entries(content(t), &["Name", "Version", "Publisher"]) {
                if let Some(c) = package(a, k, &platform) {
                    out.components.push(c);
                }
            }
        }
        out
    }

    fn finish(mut self) -> Inventory {
        let w = &mut self.b.warnings;
        if self.not_items > 0 {
            w.push(format!(
                "{} entries are not configuration items (no resourceType) and were skipped",
                self.not_items
            ));
        }
        if self.no_id > 0 {
            w.push(format!(
                "{} configuration items have neither an ARN nor a resourceId and were skipped",
                self.no_id
            ));
        }
        if self.superseded > 0 {
            w.push(format!(
                "{} configuration items were superseded by a later item of the same resource \
                 (configurationItemCaptureTime) and were skipped",
                self.superseded
            ));
        }
        if self.gone > 0 {
            w.push(format!(
                "{} resources were skipped: their configurationItemStatus is ResourceDeleted, \
                 ResourceDeletedNotRecorded or ResourceNotRecorded",
                self.gone
            ));
        }
        if self.bad_json > 0 {
            w.push(format!(
                "{} configuration, supplementaryConfiguration or tag values are JSON strings \
                 that do not parse; they were ignored",
                self.bad_json
            ));
        }
        if self.bad_ip > 0 {
            w.push(format!(
                "{} addresses that are not IP addresses were ignored",
                self.bad_ip
            ));
        }
        if !self.guessed.is_empty() {
            w.push(format!(
                "{} Windows application components have a guessed CPE (vendor from the \
                 publisher, product from the name): it may name no NVD product or the wrong one",
                self.guessed.len()
            ));
        }
        self.b.finish(self.rules)
    }
}

/// What an SSM inventory item contributes besides addresses.
struct SsmInventory {
    computer_name: Option<String>,
    /// Components, each with whether its CPE is guessed.
    components: Vec<(Component, bool)>,
}

/// The entries of an SSM inventory `Content`: an array of objects (notifications, snapshot
/// files), an object keyed by name or id whose values are objects (API answers), or a single
/// object (recognised by one of `markers` holding a scalar). Each with its key when keyed.
fn entries<'v>(content: Option<&'v Value>, markers: &[&str]) -> Vec<(Option<&'v str>, &'v Value)> {
    match content {
        Some(Value::Array(a)) => a
            .iter()
            .filter(|e| e.is_object())
            .map(|e| (None, e))
            .collect(),
        Some(o @ Value::Object(m)) => {
            if markers
                .iter()
                .any(|k| m.get(*k).is_some_and(|x| !x.is_object() && !x.is_array()))
            {
                vec![(None, o)]
            } else {
                m.iter()
                    .filter(|(_, e)| e.is_object())
                    .map(|(k, e)| (Some(k.as_str()), e))
                    .collect()
            }
        }
        _ => Vec::new(),
    }
}

/// The operating-system family of a managed instance, from `AWS:InstanceInformation`.
enum Platform {
    Windows,
    /// Linux, with the purl type and namespace of its distribution's packages when known.
    Linux(Option<(&'static str, &'static str)>),
    Unknown,
}

impl Platform {
    fn of(info: &Value) -> Self {
        let name = s(info, "PlatformName").unwrap_or("").to_ascii_lowercase();
        let ty = s(info, "PlatformType").unwrap_or("").to_ascii_lowercase();
        const DISTROS: [(&str, &str, &str); 9] = [
            ("amazon linux", "rpm", "amzn"),
            ("red hat", "rpm", "redhat"),
            ("rhel", "rpm", "redhat"),
            ("centos", "rpm", "centos"),
            ("suse", "rpm", "suse"),
            ("sles", "rpm", "suse"),
            ("fedora", "rpm", "fedora"),
            ("ubuntu", "deb", "ubuntu"),
            ("debian", "deb", "debian"),
        ];
        let distro = DISTROS
            .iter()
            .find(|(needle, _, _)| name.contains(needle))
            .map(|&(_, t, ns)| (t, ns));
        if ty == "windows" || name.contains("windows") {
            Self::Windows
        } else if ty == "linux" || name.contains("linux") || distro.is_some() {
            Self::Linux(distro)
        } else {
            Self::Unknown
        }
    }
}

/// An `AWS:Application` / `AWS:AWSComponent` entry as a component: a distribution purl on
/// Linux, a guessed CPE on Windows (the flag), name and version elsewhere. `Publisher` is the
/// group.
fn package(a: &Value, key: Option<&str>, platform: &Platform) -> Option<(Component, bool)> {
    let name = s(a, "Name").or(key.map(str::trim).filter(|k| !k.is_empty()))?;
    let version = s(a, "Version");
    let publisher = s(a, "Publisher");
    let mut c = Component {
        version: version.map(str::to_owned),
        group: publisher.map(str::to_owned),
        ..Component::named(name)
    };
    let mut guessed = false;
    match platform {
        Platform::Linux(Some((ty, ns))) => {
            c.purl = linux_purl(ty, ns, name, version, a);
        }
        Platform::Windows => {
            if let (Some(p), Some(v)) = (publisher, version) {
                c.cpe = guess_cpe(p, name, v);
                guessed = c.cpe.is_some();
            }
        }
        _ => {}
    }
    Some((c, guessed))
}

/// `pkg:<ty>/<ns>/<name>@<version>[-<release>]?arch=<arch>[&epoch=<epoch>]`, encoded by the
/// `packageurl` crate (purl spec: name and version percent-encoded).
fn linux_purl(ty: &str, ns: &str, name: &str, version: Option<&str>, a: &Value) -> Option<String> {
    let mut p = packageurl::PackageUrl::new(ty.to_owned(), name.to_owned()).ok()?;
    p.with_namespace(ns.to_owned()).ok()?;
    if let Some(v) = version {
        let full = match s(a, "Release") {
            Some(r) if !v.ends_with(&format!("-{r}")) => format!("{v}-{r}"),
            _ => v.to_owned(),
        };
        p.with_version(full).ok()?;
    }
    if let Some(arch) = s(a, "Architecture") {
        p.add_qualifier("arch", arch.to_owned()).ok()?;
    }
    if let Some(e) = s(a, "Epoch").filter(|e| *e != "0") {
        p.add_qualifier("epoch", e.to_owned()).ok()?;
    }
    Some(p.to_string())
}

/// Escapes a CPE 2.3 formatted-string component: everything but ASCII alphanumerics, `_`,
/// `-` and `.` is backslash-quoted (NISTIR 7695, formatted string binding).
fn cpe_escape(x: &str) -> String {
    let mut out = String::with_capacity(x.len());
    for ch in x.chars() {
        if !(ch.is_ascii_alphanumeric() || matches!(ch, '_' | '-' | '.')) {
            out.push('\\');
        }
        out.push(ch);
    }
    out
}

/// A guessed CPE for a Windows application (module docs); `None` when no vendor or product
/// remains.
fn guess_cpe(publisher: &str, name: &str, version: &str) -> Option<String> {
    const VENDORS: [(&str, &str); 6] = [
        ("microsoft", "microsoft"),
        ("amazon", "amazon"),
        ("google", "google"),
        ("mozilla", "mozilla"),
        ("oracle", "oracle"),
        ("adobe", "adobe"),
    ];
    let p = publisher.trim().to_lowercase();
    let vendor = VENDORS
        .iter()
        .find(|(prefix, _)| p.starts_with(prefix))
        .map(|(_, v)| (*v).to_owned())
        .or_else(|| {
            let first: String = p
                .split_whitespace()
                .next()?
                .chars()
                .filter(char::is_ascii_alphanumeric)
                .collect();
            (!first.is_empty()).then_some(first)
        })?;
    // The name without trailing "(x64 en-US)" parts, versions and separators.
    let mut words: Vec<&str> = name.split_whitespace().collect();
    let version_l = version.to_lowercase();
    while let Some(last) = words.last().copied() {
        let is_version = |w: &str| {
            let w = w.strip_prefix(['v', 'V']).unwrap_or(w);
            w.starts_with(|c: char| c.is_ascii_digit()) && w.contains('.')
        };
        if last.ends_with(')') {
            // Drop back to the word that opens the parenthesis.
            match words.iter().rposition(|w| w.starts_with('(')) {
                Some(i) => words.truncate(i),
                None => break,
            }
        } else if matches!(last, "-" | "–" | ",")
            || is_version(last)
            || last.to_lowercase() == version_l
        {
            words.pop();
        } else {
            break;
        }
    }
    let mut product = words.join(" ").to_lowercase();
    for sep in [' ', '-'] {
        product = product.replace(sep, "_");
    }
    while product.contains("__") {
        product = product.replace("__", "_");
    }
    let product = product.trim_matches('_');
    let product = product
        .strip_prefix(vendor.as_str())
        .and_then(|rest| rest.strip_prefix('_'))
        .filter(|rest| !rest.is_empty())
        .unwrap_or(product);
    if product.is_empty() {
        return None;
    }
    Some(format!(
        "cpe:2.3:a:{vendor}:{}:{}:*:*:*:*:*:*:*",
        cpe_escape(product),
        cpe_escape(version)
    ))
}

/// The operating system of an `AWS:InstanceInformation` entry, with a CPE for the known
/// platforms (module docs).
fn os_component(info: &Value) -> Option<Component> {
    let name = s(info, "PlatformName")?;
    let version = s(info, "PlatformVersion");
    let l = name.to_ascii_lowercase();
    let cpe = if l.contains("windows server") {
        ["2008", "2012", "2016", "2019", "2022", "2025"]
            .iter()
            .find(|y| l.contains(*y))
            .map(|y| {
                let update = if l.split_whitespace().any(|w| w == "r2") {
                    "r2"
                } else {
                    "-"
                };
                format!("cpe:2.3:o:microsoft:windows_server_{y}:{update}:*:*:*:*:*:*:*")
            })
    } else if l.contains("amazon linux") {
        let v = version.unwrap_or("");
        if v.starts_with("2023") || l.contains("2023") {
            Some("cpe:2.3:o:amazon:linux_2023:-:*:*:*:*:*:*:*".to_owned())
        } else if v == "2" || v.starts_with("2.") || l.ends_with(" 2") {
            Some("cpe:2.3:o:amazon:linux_2:-:*:*:*:*:*:*:*".to_owned())
        } else {
            None
        }
    } else if l.contains("ubuntu") {
        version.map(|v| {
            format!(
                "cpe:2.3:o:canonical:ubuntu_linux:{}:*:*:*:*:*:*:*",
                cpe_escape(v)
            )
        })
    } else if l.contains("red hat enterprise linux") {
        version
            .and_then(|v| v.split('.').next())
            .filter(|m| !m.is_empty() && m.chars().all(|c| c.is_ascii_digit()))
            .map(|m| format!("cpe:2.3:o:redhat:enterprise_linux:{m}:*:*:*:*:*:*:*"))
    } else {
        None
    };
    Some(Component {
        version: version.map(str::to_owned),
        cpe,
        ..Component::named(name)
    })
}

/// An RDS database's engine and version, with a CPE for MySQL, PostgreSQL and MariaDB.
fn rds_engine(c: &Value) -> Option<Component> {
    let engine = s(c, "engine")?;
    let version = s(c, "engineVersion");
    let product = match engine.to_ascii_lowercase().as_str() {
        "mysql" => Some("oracle:mysql"),
        "postgres" | "postgresql" => Some("postgresql:postgresql"),
        "mariadb" => Some("mariadb:mariadb"),
        _ => None,
    };
    let cpe = product
        .zip(version)
        .map(|(p, v)| format!("cpe:2.3:a:{p}:{}:*:*:*:*:*:*:*", cpe_escape(v)));
    Some(Component {
        version: version.map(str::to_owned),
        cpe,
        ..Component::named(engine)
    })
}

/// A Lambda function's runtime as a component: the leading letters are the name, the rest
/// (when it starts with a digit) the version: `nodejs6.10` → `nodejs` `6.10`, `java21` →
/// `java` `21`; `provided.al2023` stays whole. No CPE: the version is only major.minor.
fn lambda_runtime(c: &Value) -> Option<Component> {
    let runtime = s(c, "runtime")?;
    let split = runtime
        .find(|ch: char| !ch.is_ascii_alphabetic())
        .filter(|&i| i > 0 && runtime[i..].starts_with(|ch: char| ch.is_ascii_digit()));
    Some(match split {
        Some(i) => Component {
            version: Some(runtime[i..].to_owned()),
            ..Component::named(&runtime[..i])
        },
        None => Component::named(runtime),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guessed_cpes_strip_versions_suffixes_and_vendor_words() {
        assert_eq!(
            guess_cpe("Mozilla", "Mozilla Firefox 115.0.2 (x64 en-US)", "115.0.2").as_deref(),
            Some("cpe:2.3:a:mozilla:firefox:115.0.2:*:*:*:*:*:*:*")
        );
        assert_eq!(
            guess_cpe(
                "Microsoft Corporation",
                "Microsoft Visual C++ 2015 Redistributable (x64) - 14.0.24215",
                "14.0.24215.1"
            )
            .as_deref(),
            Some(
                "cpe:2.3:a:microsoft:visual_c\\+\\+_2015_redistributable:14.0.24215.1:*:*:*:*:*:*:*"
            )
        );
        assert_eq!(
            guess_cpe("Amazon Web Services", "aws-cfn-bootstrap", "1.4.10").as_deref(),
            Some("cpe:2.3:a:amazon:aws_cfn_bootstrap:1.4.10:*:*:*:*:*:*:*")
        );
        assert_eq!(
            guess_cpe("Notepad++ Team", "Notepad++ (64-bit x64)", "8.6").as_deref(),
            Some("cpe:2.3:a:notepad:notepad\\+\\+:8.6:*:*:*:*:*:*:*")
        );
        assert_eq!(guess_cpe("!!!", "Thing", "1.0"), None);
        assert_eq!(guess_cpe("Acme", "(x64)", "1.0"), None);
    }

    #[test]
    fn lambda_runtimes_split_into_name_and_version() {
        let rt = |r: &str| {
            let c = lambda_runtime(&serde_json::json!({ "runtime": r })).unwrap();
            (c.name, c.version)
        };
        assert_eq!(rt("nodejs6.10"), ("nodejs".into(), Some("6.10".into())));
        assert_eq!(rt("python3.12"), ("python".into(), Some("3.12".into())));
        assert_eq!(rt("java21"), ("java".into(), Some("21".into())));
        assert_eq!(rt("provided.al2023"), ("provided.al2023".into(), None));
        assert_eq!(rt("nodejs"), ("nodejs".into(), None));
    }

    #[test]
    fn os_cpes_for_known_platforms_only() {
        let os = |n: &str, v: &str| {
            os_component(&serde_json::json!({"PlatformName": n, "PlatformVersion": v}))
                .and_then(|c| c.cpe)
        };
        assert_eq!(
            os("Microsoft Windows Server 2022 Datacenter", "10.0.20348").as_deref(),
            Some("cpe:2.3:o:microsoft:windows_server_2022:-:*:*:*:*:*:*:*")
        );
        assert_eq!(
            os("Amazon Linux", "2").as_deref(),
            Some("cpe:2.3:o:amazon:linux_2:-:*:*:*:*:*:*:*")
        );
        assert_eq!(
            os("Ubuntu", "22.04").as_deref(),
            Some("cpe:2.3:o:canonical:ubuntu_linux:22.04:*:*:*:*:*:*:*")
        );
        assert_eq!(
            os("Red Hat Enterprise Linux Server", "7.9").as_deref(),
            Some("cpe:2.3:o:redhat:enterprise_linux:7:*:*:*:*:*:*:*")
        );
        assert_eq!(os("Microsoft Windows 10 Pro", "10.0.19045"), None);
        assert_eq!(os("Amazon Linux AMI", "2018.03"), None);
    }
}
