//! AWS Config discovery end to end against `moto` in server mode (PyPI `moto[server]`, an AWS
//! service emulator) on loopback: resources are created in it with boto3, a node discovers them
//! on schedule through the official SDK, an unchanged resource is no event, a deleted one is
//! retired only after the configured absences, a run while the emulator is down fails, counts
//! no absence, opens the source's breaker, and the breaker closes once it is back. Plus a
//! configuration snapshot upload whose SSM inventory components match the real NVD feed.
//!
//! Needs `python3` with `moto[server]` and `boto3` (scripts/test installs them). Every request
//! goes to 127.0.0.1; the AWS chain is pinned to fixed test credentials with instance metadata
//! off, so nothing reaches AWS.

mod common;

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::{NodeProc, client, data, free_port, get_json, run_job, start_node, wait_job};
use serde_json::{Value, json};

/// The emulator, killed on drop.
struct Moto {
    child: Child,
    port: u16,
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The python that has moto and boto3: `RAMPART_TEST_PYTHON` (scripts/test sets it), else
/// `python3`.
fn python() -> String {
    std::env::var("RAMPART_TEST_PYTHON").unwrap_or_else(|_| "python3".to_owned())
}

fn start_moto(port: u16) -> Moto {
    let child = Command::new(python())
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/moto/server.py"))
        .args(["-H", "127.0.0.1", "-p", &port.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("python3 (with moto[server]: pip install 'moto[server]')");
    let moto = Moto { child, port };
    let up = (0..200).any(|_| {
        std::thread::sleep(Duration::from_millis(100));
        std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
    });
    assert!(
        up,
        "moto did not listen on 127.0.0.1:{port}; is moto[server] installed? (pip install 'moto[server]')"
    );
    moto
}

/// Runs `script` with `s3` and `iam` boto3 clients pointed at the emulator.
fn boto(moto: &Moto, script: &str) {
    let prelude = format!(
        "import boto3\n\
         kw = dict(endpoint_url='http://127.0.0.1:{}', region_name='us-east-1', \
         aws_access_key_id='testing', aws_secret_access_key='testing')\n\
         s3 = boto3.client('s3', **kw)\n\
         iam = boto3.client('iam', **kw)\n",
        moto.port
    );
    let out = Command::new(python())
        .args(["-c", &format!("{prelude}{script}")])
        .output()
        .expect("python3");
    assert!(
        out.status.success(),
        "boto3 script failed (pip install 'moto[server]' boto3): {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

const CREATE: &str = "\
s3.create_bucket(Bucket='payments-ledger')
s3.put_bucket_tagging(Bucket='payments-ledger', Tagging={'TagSet': [
    {'Key': 'Owner', 'Value': 'payments-team'}, {'Key': 'Environment', 'Value': 'production'}]})
s3.create_bucket(Bucket='scratch-space')
iam.create_role(RoleName='deployer', AssumeRolePolicyDocument='{}',
    Tags=[{'Key': 'team', 'Value': 'platform'}, {'Key': 'criticality', 'Value': '5'}])
";

async fn sources(node: &NodeProc) -> Value {
    let (status, v) = get_json(&node.api("/discovery/sources")).await;
    assert_eq!(status, 200, "{v}");
    v
}

/// Runs the source now and waits for its job.
async fn run_now(node: &NodeProc) -> Value {
    let r = client()
        .post(node.api("/discovery/sources/moto/run"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 202);
    let accepted: Value = r.json().await.unwrap();
    let id = accepted["job_id"].as_str().unwrap().to_owned();
    wait_job(node, &id, Duration::from_secs(60)).await
}

/// The asset named `name` (retired ones included).
async fn asset(node: &NodeProc, name: &str) -> Option<Value> {
    let (status, page) = get_json(&node.api(&format!(
        "/assets?name={name}&include_retired=true&per_page=10"
    )))
    .await;
    assert_eq!(status, 200, "{page}");
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["name"] == name)
        .cloned()
}

#[tokio::test(flavor = "multi_thread")]
async fn aws_config_resources_are_discovered_on_schedule_and_retired_after_absences() {
    let port = free_port();
    let moto = start_moto(port);
    boto(&moto, CREATE);
    let sources_env = json!([{
        "name": "moto",
        "region": "us-east-1",
        "endpoint_url": format!("http://127.0.0.1:{port}"),
        "resource_types": ["AWS::S3::Bucket", "AWS::IAM::Role"],
        "interval_s": 3600,
        "retire_after": 2,
        "policy": {
            "retry": {"max_attempts": 2, "initial_interval_ms": 100, "multiplier": 2.0, "jitter": false},
            "time_limiter": {"timeout_duration_ms": 5000},
            "circuit_breaker": {
                "sliding_window_size": 2, "minimum_number_of_calls": 2,
                "permitted_number_of_calls_in_half_open_state": 1,
                "wait_duration_in_open_state_ms": 1500
            }
        }
    }]);
    let sources_env = common::env_value(&sources_env);
    let missing = std::env::temp_dir().join("rampart-no-aws-config-file");
    let missing = missing.to_str().unwrap();
    let node = start_node(&[
        ("RAMPART_DISCOVERY__AWS", sources_env.as_str()),
        ("RAMPART_DISCOVERY__CHECK_MS", "200"),
        ("AWS_ACCESS_KEY_ID", "testing"),
        ("AWS_SECRET_ACCESS_KEY", "testing"),
        ("AWS_EC2_METADATA_DISABLED", "true"),
        ("AWS_CONFIG_FILE", missing),
        ("AWS_SHARED_CREDENTIALS_FILE", missing),
    ])
    .await;

    // The scheduled first run (due at start) discovers the three resources.
    let mut first = Value::Null;
    assert!(
        common::wait_for(Duration::from_secs(60), async || {
            first = sources(&node).await[0].clone();
            first["last_success"].is_string()
        })
        .await,
        "no successful scheduled run: {first}"
    );
    assert_eq!(first["kind"], "aws_config");
    assert_eq!(first["breaker"], "closed");
    let job_id = first["last_job"].as_str().unwrap().to_owned();
    let job = wait_job(&node, &job_id, Duration::from_secs(10)).await;
    assert_eq!(job["kind"], "discovery", "{job}");
    assert_eq!(job["result"]["discovered"], 3, "{job}");
    assert_eq!(job["result"]["listed"]["AWS::S3::Bucket"], 2, "{job}");

    // Tags through the [assets] rules: owner from Owner, `production` from Environment
    // (criticality 4 by the default rules), an explicit criticality tag, team as owner.
    let ledger = asset(&node, "payments-ledger").await.expect("bucket asset");
    assert_eq!(ledger["kind"], "cloud_resource");
    assert_eq!(ledger["key"], "arn:aws:s3:::payments-ledger");
    assert_eq!(ledger["owner"], "payments-team");
    assert_eq!(ledger["criticality"], 4, "{ledger}");
    let tags: Vec<&str> = ledger["tags"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(tags.contains(&"production"), "{tags:?}");
    assert!(tags.contains(&"aws-s3-bucket"), "{tags:?}");
    let role = asset(&node, "deployer").await.expect("role asset");
    assert_eq!(role["owner"], "platform");
    assert_eq!(role["criticality"], 5, "{role}");

    // Unchanged resources: no event, the asset's version history does not grow.
    let ledger_id = ledger["id"].as_i64().unwrap();
    let versions = |node: &NodeProc| {
        let url = node.api(&format!("/assets/{ledger_id}/versions"));
        async move { get_json(&url).await.1 }
    };
    let before = versions(&node).await;
    let job = run_now(&node).await;
    assert_eq!(job["state"], "succeeded", "{job}");
    assert_eq!(job["result"]["unchanged"], 3, "{job}");
    assert_eq!(job["result"]["discovered"], 0, "{job}");
    assert_eq!(job["result"]["changed"], 0, "{job}");
    assert_eq!(versions(&node).await, before);

    // A changed tag is a change; a deleted bucket is absent once, still active.
    boto(
        &moto,
        "s3.put_bucket_tagging(Bucket='payments-ledger', Tagging={'TagSet': [\n\
         {'Key': 'Owner', 'Value': 'finance-team'}, {'Key': 'Environment', 'Value': 'production'}]})\n\
         s3.delete_bucket(Bucket='scratch-space')\n",
    );
    let job = run_now(&node).await;
    assert_eq!(job["result"]["changed"], 1, "{job}");
    assert_eq!(job["result"]["absent"], 1, "{job}");
    assert_eq!(job["result"]["retired"], json!([]), "{job}");
    assert_eq!(
        asset(&node, "payments-ledger").await.unwrap()["owner"],
        "finance-team"
    );
    assert_eq!(
        asset(&node, "scratch-space").await.unwrap()["retired"],
        false
    );
    // The second consecutive absence retires it.
    let job = run_now(&node).await;
    assert_eq!(
        job["result"]["retired"],
        json!(["arn:aws:s3:::scratch-space"]),
        "{job}"
    );
    assert_eq!(
        asset(&node, "scratch-space").await.unwrap()["retired"],
        true
    );

    // The role is deleted and counted absent once; then the emulator goes away.
    boto(&moto, "iam.delete_role(RoleName='deployer')\n");
    let job = run_now(&node).await;
    assert_eq!(job["result"]["absent"], 1, "{job}");
    drop(moto);
    // Failed runs: the job says why, the breaker opens, nothing is counted or retired.
    let failed = run_now(&node).await;
    assert_eq!(failed["state"], "failed", "{failed}");
    let failed = run_now(&node).await;
    assert_eq!(failed["state"], "failed", "{failed}");
    let st = sources(&node).await[0].clone();
    assert_eq!(st["breaker"], "open", "{st}");
    assert!(
        st["last_error"].as_str().unwrap().contains("AWS Config"),
        "{st}"
    );
    assert_eq!(asset(&node, "deployer").await.unwrap()["retired"], false);

    // The emulator is back (empty: moto keeps state in memory), with the bucket recreated.
    let moto = start_moto(port);
    boto(
        &moto,
        "s3.create_bucket(Bucket='payments-ledger')\n\
         s3.put_bucket_tagging(Bucket='payments-ledger', Tagging={'TagSet': [\n\
         {'Key': 'Owner', 'Value': 'finance-team'}, {'Key': 'Environment', 'Value': 'production'}]})\n",
    );
    tokio::time::sleep(Duration::from_millis(1600)).await;
    let job = run_now(&node).await;
    assert_eq!(job["state"], "succeeded", "{job}");
    // Only now the role's second absence: the failed runs did not count.
    assert_eq!(
        job["result"]["retired"],
        json!([role["key"].as_str().unwrap()]),
        "{job}"
    );
    assert_eq!(job["result"]["unchanged"], 1, "{job}");
    let st = sources(&node).await[0].clone();
    assert_eq!(st["breaker"], "closed", "{st}");
    assert_eq!(st["last_error"], Value::Null, "{st}");
    drop(moto);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_configuration_snapshot_upload_maps_ssm_inventory_to_components_the_feeds_match() {
    let node = start_node(&[]).await;
    // The real SSM managed-instance inventory notification (Windows): its applications and its
    // operating system become components of the instance's host.
    let ssm = std::fs::read(data(
        "cloud/aws-config-ci-AWS_SSM_ManagedInstanceInventory.json",
    ))
    .unwrap();
    let job = run_job(
        &node,
        "/assets/import?format=aws_config",
        "application/json",
        ssm.clone(),
    )
    .await;
    assert_eq!(job["state"], "succeeded", "{job}");
    let host = asset(&node, "WIN-RG9DFIDVMHC.WORKGROUP")
        .await
        .or(asset(&node, "i-07f6b44c44bab9e8e").await)
        .expect("the instance's host");
    assert_eq!(host["kind"], "host");
    let (_, detail) =
        get_json(&node.api(&format!("/assets/{}", host["id"].as_i64().unwrap()))).await;
    let components = detail["components"].as_array().expect("components");
    assert!(
        components
            .iter()
            .any(|c| c["cpe"] == "cpe:2.3:o:microsoft:windows_server_2012:r2:*:*:*:*:*:*:*"),
        "{components:?}"
    );
    assert!(components.iter().any(|c| c["name"] == "aws-cfn-bootstrap"));

    // No record in the shared feeds names Windows Server 2012 R2, so the match is shown on the
    // same real notification with its platform set to Amazon Linux 2023 (there is no real
    // Linux inventory recording): its OS component matches CVE-2024-6387 in the real NVD file.
    let mut linux: Value = serde_json::from_slice(&ssm).unwrap();
    let info = &mut linux["configurationItem"]["configuration"]["AWS:InstanceInformation"]["Content"]
        ["i-f1b3d5ff"];
    info["PlatformName"] = json!("Amazon Linux");
    info["PlatformVersion"] = json!("2023");
    info["PlatformType"] = json!("Linux");
    linux["configurationItem"]["resourceId"] = json!("i-0a1b2c3d4e5f67890");
    let job = run_job(
        &node,
        "/assets/import?format=aws_config",
        "application/json",
        serde_json::to_vec(&linux).unwrap(),
    )
    .await;
    assert_eq!(job["state"], "succeeded", "{job}");
    let nvd = std::fs::read(data("nvd/nvd-cve-api-2.0-merged.json")).unwrap();
    let job = run_job(&node, "/threat-intel/nvd", "application/json", nvd).await;
    assert_eq!(job["state"], "succeeded", "{job}");
    let key = "arn:aws:ec2:us-east-1:138920347130:instance/i-0a1b2c3d4e5f67890";
    let mut risks = Value::Null;
    assert!(
        common::wait_for(Duration::from_secs(30), async || {
            risks = get_json(&node.api("/risks?per_page=1000")).await.1;
            risks["items"].as_array().is_some_and(|items| {
                items.iter().any(|f| {
                    f["asset_key"] == key
                        && f["cves"]
                            .as_array()
                            .is_some_and(|c| c.iter().any(|c| c == "CVE-2024-6387"))
                })
            })
        })
        .await,
        "no CVE-2024-6387 finding on the Amazon Linux host: {risks}"
    );
}
