//! AWS Config discovery through the official AWS SDK for Rust (`aws-sdk-config`): the
//! resources AWS Config has recorded, read as configuration items and mapped to assets by
//! [`rampart_asset::aws_config::to_inventory`] (the same mapping as an uploaded configuration
//! snapshot, `format=aws_config`).
//!
//! - **Credentials and region** come from the standard AWS chain (environment, shared config
//!   and credentials files with an optional profile, web identity, ECS and EC2 instance
//!   metadata, `credential_process`); the region and an endpoint URL (a VPC endpoint, or a
//!   local emulator in tests) can be set per source. The credentials never reach a log line.
//! - **HTTPS** is a rustls client on *ring*, the process's one crypto provider (the SDK's
//!   default client would bring aws-lc-rs, STACK.md pitfall 1).
//! - **Calls**: `ListDiscoveredResources` per resource type (100 a page, `nextToken` paging,
//!   at most [`MAX_PAGES`] pages a type), then `BatchGetResourceConfig` for 100 keys at a time
//!   (AWS Config's limit); unprocessed keys are asked again, at most [`MAX_BATCH_ROUNDS`] times.
//!   Each call goes through the source's resilience policy (retry with backoff and jitter,
//!   circuit breaker, time limit, bulkhead); the SDK's own retries are off so one policy
//!   decides. Throttling, 5xx, timeouts and connection errors are transient
//!   ([`AwsError::is_transient`]).

use std::collections::HashMap;

use aws_config::BehaviorVersion;
use aws_sdk_config::config::http::HttpResponse;
use aws_sdk_config::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_config::types::{BaseConfigurationItem, ResourceKey, ResourceType};
use rampart_supervisors::resilience::{CallError, ResiliencePolicy};

/// Most pages read of one resource type's list.
pub const MAX_PAGES: usize = 1_000;

/// Keys per `BatchGetResourceConfig` call (AWS Config's maximum).
pub const BATCH: usize = 100;

/// Rounds of asking again for unprocessed keys.
pub const MAX_BATCH_ROUNDS: usize = 5;

/// The resource types listed when a source names none: the ones Rampart maps to hosts,
/// applications and cloud resources with something to say about them.
pub const DEFAULT_TYPES: [&str; 22] = [
    "AWS::EC2::Instance",
    "AWS::SSM::ManagedInstanceInventory",
    "AWS::EC2::SecurityGroup",
    "AWS::EC2::VPC",
    "AWS::EC2::Subnet",
    "AWS::EC2::Volume",
    "AWS::EC2::NetworkInterface",
    "AWS::EC2::EIP",
    "AWS::RDS::DBInstance",
    "AWS::RDS::DBCluster",
    "AWS::S3::Bucket",
    "AWS::Lambda::Function",
    "AWS::IAM::User",
    "AWS::IAM::Role",
    "AWS::IAM::Policy",
    "AWS::EKS::Cluster",
    "AWS::ECS::Cluster",
    "AWS::ElasticLoadBalancingV2::LoadBalancer",
    "AWS::DynamoDB::Table",
    "AWS::KMS::Key",
    "AWS::SNS::Topic",
    "AWS::SQS::Queue",
];

/// Why discovery from AWS Config failed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum AwsError {
    /// Connection, TLS, timeout, an unreadable answer.
    #[error("transport: {0}")]
    Transport(String),
    /// An error answer of the service: its code (`ThrottlingException`, `AccessDeniedException`,
    /// ...) and HTTP status.
    #[error("AWS Config {code} (HTTP {status}): {message}")]
    Service {
        /// The error code.
        code: String,
        /// The HTTP status.
        status: u16,
        /// AWS's message (never a credential).
        message: String,
    },
    /// Building a request failed (a bad resource type name, ...).
    #[error("request: {0}")]
    Request(String),
}

impl AwsError {
    /// Whether retrying can help: transport errors, throttling codes
    /// (`ThrottlingException`, `Throttling`, `RequestLimitExceeded`, `TooManyRequestsException`),
    /// HTTP 429 and 5xx (AWS SDKs' "standard" retry mode classifies the same).
    pub fn is_transient(&self) -> bool {
        match self {
            Self::Transport(_) => true,
            Self::Service { code, status, .. } => {
                *status == 429
                    || *status >= 500
                    || matches!(
                        code.as_str(),
                        "ThrottlingException"
                            | "Throttling"
                            | "RequestLimitExceeded"
                            | "TooManyRequestsException"
                            | "ServiceUnavailable"
                            | "InternalFailure"
                    )
            }
            Self::Request(_) => false,
        }
    }
}

fn sdk_error<E>(e: SdkError<E, HttpResponse>) -> AwsError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    // The whole chain (what did not parse); AWS errors carry no credential.
    let why = aws_sdk_config::error::DisplayErrorContext(&e).to_string();
    match e {
        SdkError::ServiceError(se) => {
            let status = se.raw().status().as_u16();
            let err = se.err();
            AwsError::Service {
                code: err.code().unwrap_or("Unknown").to_owned(),
                status,
                message: err.message().unwrap_or("").chars().take(500).collect(),
            }
        }
        SdkError::ConstructionFailure(c) => AwsError::Request(format!("{c:?}")),
        SdkError::TimeoutError(_) => AwsError::Transport("timed out".into()),
        SdkError::DispatchFailure(d) => AwsError::Transport(
            d.as_connector_error()
                .map_or_else(|| "dispatch failure".to_owned(), |c| c.to_string()),
        ),
        SdkError::ResponseError(r) => {
            let status = r.raw().status().as_u16();
            AwsError::Transport(format!(
                "unreadable answer (HTTP {status}): {}",
                why.chars().take(400).collect::<String>()
            ))
        }
        other => AwsError::Transport(other.to_string()),
    }
}

/// Where and how one source reaches AWS Config.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Target {
    /// The region (`us-east-1`); `None`: the standard chain's.
    pub region: Option<String>,
    /// An endpoint URL replacing AWS's (a VPC endpoint, or an emulator in tests).
    pub endpoint_url: Option<String>,
    /// A profile of the shared config files; `None`: the default chain.
    pub profile: Option<String>,
}

/// A Config client for `target`: credentials from the standard chain, rustls on ring, the
/// SDK's retries off (the caller's resilience policy retries).
pub async fn client(target: &Target) -> aws_sdk_config::Client {
    use aws_smithy_http_client::tls::{Provider, rustls_provider::CryptoMode};
    let http = aws_smithy_http_client::Builder::new()
        .tls_provider(Provider::Rustls(CryptoMode::Ring))
        .build_https();
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .http_client(http)
        .retry_config(aws_config::retry::RetryConfig::disabled());
    if let Some(r) = &target.region {
        loader = loader.region(aws_config::Region::new(r.clone()));
    }
    if let Some(p) = &target.profile {
        loader = loader.profile_name(p);
    }
    if let Some(e) = &target.endpoint_url {
        loader = loader.endpoint_url(e);
    }
    aws_sdk_config::Client::new(&loader.load().await)
}

/// One listed resource.
type Key = (String, String);

/// Every resource of `resource_type` AWS Config has recorded (type, id), page by page through
/// `policy`.
async fn list_type(
    client: &aws_sdk_config::Client,
    policy: &ResiliencePolicy<AwsError>,
    resource_type: &str,
) -> Result<Vec<Key>, CallError<AwsError>> {
    let mut out = Vec::new();
    let mut token: Option<String> = None;
    for _ in 0..MAX_PAGES {
        let page = policy
            .call(|| {
                let req = client
                    .list_discovered_resources()
                    .resource_type(ResourceType::from(resource_type))
                    .limit(100)
                    .set_next_token(token.clone());
                async move { req.send().await.map_err(sdk_error) }
            })
            .await?;
        for r in page.resource_identifiers() {
            if let Some(id) = r.resource_id() {
                out.push((resource_type.to_owned(), id.to_owned()));
            }
        }
        match page.next_token().filter(|t| !t.is_empty()) {
            Some(t) => token = Some(t.to_owned()),
            None => break,
        }
    }
    Ok(out)
}

/// A base configuration item as the JSON object the mapping reads (the API's field names;
/// `configuration` stays the JSON string the API returns).
fn item_json(i: &BaseConfigurationItem) -> serde_json::Value {
    let mut m = serde_json::Map::new();
    let mut put = |k: &str, v: Option<&str>| {
        if let Some(v) = v {
            m.insert(k.to_owned(), serde_json::Value::String(v.to_owned()));
        }
    };
    put("version", i.version());
    put("accountId", i.account_id());
    put("arn", i.arn());
    put("resourceType", i.resource_type().map(ResourceType::as_str));
    put("resourceId", i.resource_id());
    put("resourceName", i.resource_name());
    put("awsRegion", i.aws_region());
    put("availabilityZone", i.availability_zone());
    put(
        "configurationItemStatus",
        i.configuration_item_status().map(|s| s.as_str()),
    );
    put("configuration", i.configuration());
    if let Some(s) = i.supplementary_configuration() {
        let sc: serde_json::Map<String, serde_json::Value> = s
            .iter()
            .map(|(k, v)| (k.clone(), serde_json::Value::String(v.clone())))
            .collect();
        m.insert(
            "supplementaryConfiguration".into(),
            serde_json::Value::Object(sc),
        );
    }
    serde_json::Value::Object(m)
}

/// What one discovery read: the configuration items and figures about the reading.
#[derive(Debug, Clone, Default)]
pub struct Discovered {
    /// The items, as [`rampart_asset::aws_config::to_inventory`] reads them.
    pub items: Vec<serde_json::Value>,
    /// Resources listed, by type.
    pub listed: HashMap<String, usize>,
    /// Keys AWS Config still had not processed after [`MAX_BATCH_ROUNDS`] rounds.
    pub unprocessed: usize,
}

/// Lists `types` and reads every listed resource's current configuration item.
///
/// # Errors
/// The policy's error of the first call that failed for good; nothing is returned then (a
/// failed run retires nothing).
pub async fn discover(
    client: &aws_sdk_config::Client,
    policy: &ResiliencePolicy<AwsError>,
    types: &[String],
) -> Result<Discovered, CallError<AwsError>> {
    let mut out = Discovered::default();
    let mut keys: Vec<Key> = Vec::new();
    for t in types {
        let listed = list_type(client, policy, t).await?;
        out.listed.insert(t.clone(), listed.len());
        keys.extend(listed);
    }
    for chunk in keys.chunks(BATCH) {
        let mut pending: Vec<ResourceKey> = chunk
            .iter()
            .filter_map(|(t, id)| {
                ResourceKey::builder()
                    .resource_type(ResourceType::from(t.as_str()))
                    .resource_id(id)
                    .build()
                    .ok()
            })
            .collect();
        for _ in 0..MAX_BATCH_ROUNDS {
            if pending.is_empty() {
                break;
            }
            let answer = policy
                .call(|| {
                    let req = client
                        .batch_get_resource_config()
                        .set_resource_keys(Some(pending.clone()));
                    async move { req.send().await.map_err(sdk_error) }
                })
                .await?;
            out.items
                .extend(answer.base_configuration_items().iter().map(item_json));
            pending = answer.unprocessed_resource_keys().to_vec();
        }
        out.unprocessed += pending.len();
    }
    Ok(out)
}
