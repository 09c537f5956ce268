//! Least-privilege broker users per node role (docs/broker-users.md) and `amqps://`, on the real
//! broker (RAMPART_TEST_AMQP_URL's host, default the local one; `rabbitmqctl` must work).
//!
//! - `scripts/rabbitmq-users` and `rampart_platform::bus::permissions::permissions` give the same
//!   patterns; `config/rabbitmq/definitions.json` grants each node of `docker-compose.yml` the
//!   permissions of its roles, and its topology is what the nodes declare.
//! - Users made with the script: what a node of a role does fits its permissions, and it cannot
//!   read another role's queues (`ACCESS_REFUSED`, 403); real node processes with restricted users
//!   become ready and an import on the asset node is scored by the risk node.
//! - `amqps://`: through a TLS-terminating proxy made here (test CA from rcgen, tokio-rustls) to
//!   the plain listener: the bus connects with `tls_ca_file`, refuses another CA, presents a
//!   client certificate when the proxy requires one.
//!
//! Every test makes users named with a unique suffix and a namespace of its own, and deletes them
//! afterwards, also when it fails (guards' `Drop`).

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::Arc;
use std::time::Duration;

use common::{NodeProc, data, get_json, run_job, start_node_args, wait_for};
use rampart_platform::bus::amqp::{
    self, AmqpBus, AmqpConfig, delete_namespace, dlq_name, exchange_name, is_access_refused,
    queue_name, rpc_queue_name,
};
use rampart_platform::bus::permissions::{Permissions, permissions, resources};
use rampart_platform::bus::{Bus, BusDelivery, Envelope};
use serde_json::{Value, json};

const SCRIPT: &str = "scripts/rabbitmq-users";
const DEFINITIONS: &str = "config/rabbitmq/definitions.json";
const COMPOSE: &str = "docker-compose.yml";

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The broker of the tests as guest (administrator), plain AMQP.
fn guest_url() -> String {
    std::env::var("RAMPART_TEST_AMQP_URL")
        .unwrap_or_else(|_| "amqp://guest:guest@127.0.0.1:5672/%2f".to_owned())
}

/// `host:port` of [`guest_url`].
fn broker_addr() -> String {
    let url = guest_url();
    let rest = url.split_once("://").map_or(url.as_str(), |(_, r)| r);
    let authority = rest.split('/').next().unwrap_or(rest);
    let hostport = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    if hostport.contains(':') {
        hostport.to_owned()
    } else {
        format!("{hostport}:5672")
    }
}

fn pg_url() -> String {
    std::env::var("RAMPART_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned())
}

fn suffix() -> String {
    uuid::Uuid::new_v4().simple().to_string()[..12].to_owned()
}

/// Node processes are heavy on this 2-core machine: one deployment at a time in this file.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

// ---------------------------------------------------------------------------------------------
// rabbitmqctl, the script, cleanup guards
// ---------------------------------------------------------------------------------------------

fn rabbitmqctl(args: &[&str], stdin: Option<&str>) -> Output {
    let mut cmd = Command::new("rabbitmqctl");
    cmd.args(args)
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd
        .spawn()
        .expect("rabbitmqctl runs (it must, as root, here)");
    if let Some(text) = stdin {
        use std::io::Write;
        child
            .stdin
            .take()
            .unwrap()
            .write_all(text.as_bytes())
            .unwrap();
    }
    child.wait_with_output().unwrap()
}

/// Broker users of one test; deleted on drop (also after a failure).
struct Users {
    names: Vec<String>,
    dir: PathBuf,
}

impl Users {
    fn new() -> Self {
        let dir = std::env::temp_dir().join(format!("rampart-broker-users-{}", suffix()));
        std::fs::create_dir_all(&dir).unwrap();
        Self {
            names: Vec::new(),
            dir,
        }
    }

    /// A password file for `user` (mode 0600).
    fn password_file(&self, user: &str, password: &str) -> PathBuf {
        use std::os::unix::fs::OpenOptionsExt;
        let path = self.dir.join(format!("{user}.password"));
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&path)
            .unwrap();
        std::io::Write::write_all(&mut f, format!("{password}\n").as_bytes()).unwrap();
        path
    }

    /// Users made with `scripts/rabbitmq-users` for namespace `ns`: (name, roles, password).
    fn add_with_script(&mut self, ns: &str, users: &[(&str, &str, &str)]) {
        let mut args = Vec::new();
        for (name, roles, password) in users {
            self.names.push((*name).to_owned());
            let file = self.password_file(name, password);
            args.push(format!("{name}:{roles}:{}", file.display()));
        }
        let out = Command::new("bash")
            .arg(root().join(SCRIPT))
            .args(&args)
            .env("NAMESPACE", ns)
            .env("VHOST", "/")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{SCRIPT} failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        let stdout = String::from_utf8_lossy(&out.stdout);
        for (_, _, password) in users {
            assert!(!stdout.contains(password), "the script printed a password");
        }
    }

    /// A user with `permissions` set directly (rabbitmqctl, password on stdin).
    fn add_with(&mut self, name: &str, password: &str, p: &Permissions) {
        self.names.push(name.to_owned());
        let out = rabbitmqctl(&["add_user", name], Some(password));
        assert!(out.status.success(), "add_user: {out:?}");
        let out = rabbitmqctl(
            &[
                "set_permissions",
                "-p",
                "/",
                name,
                &p.configure,
                &p.write,
                &p.read,
            ],
            None,
        );
        assert!(out.status.success(), "set_permissions: {out:?}");
    }
}

impl Drop for Users {
    fn drop(&mut self) {
        for name in &self.names {
            let _ = rabbitmqctl(&["delete_user", name], None);
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A broker namespace of one test; its exchanges and queues are deleted on drop.
struct Namespace(String);

impl Namespace {
    fn new(test: &str) -> Self {
        Self(format!("rampart_perm_{test}_{}", suffix()))
    }
}

impl Drop for Namespace {
    fn drop(&mut self) {
        let ns = self.0.clone();
        // A runtime of its own: drop may run inside (or after) the test's runtime.
        let _ = std::thread::spawn(move || {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap()
                .block_on(delete_namespace(&guest_url(), &ns))
        })
        .join();
    }
}

fn user_url(user: &str, password: &str) -> String {
    format!("amqp://{user}:{password}@{}/%2f", broker_addr())
}

fn config(url: &str, ns: &str) -> AmqpConfig {
    AmqpConfig {
        url: url.to_owned(),
        namespace: ns.to_owned(),
        reconnect_initial_ms: 50,
        reconnect_max_ms: 500,
        ..AmqpConfig::default()
    }
}

/// A bus with its link running, once connected (its topology declared).
async fn connected(cfg: AmqpConfig, node: &str) -> (AmqpBus, tokio::task::JoinHandle<()>) {
    let bus = AmqpBus::new(cfg, node);
    let link = tokio::spawn({
        let b = bus.clone();
        async move { b.run_link().await }
    });
    let ok = wait_for(Duration::from_secs(15), async || bus.is_connected()).await;
    assert!(
        ok,
        "{node}: the bus did not connect (see the warnings above)"
    );
    (bus, link)
}

/// `basic.consume` of `queue` on a new channel of `conn`: Ok, or the error.
async fn consume(conn: &lapin::Connection, queue: &str) -> Result<(), lapin::Error> {
    let ch = conn.create_channel().await?;
    ch.basic_consume(
        queue.into(),
        format!("t-{}", suffix()).as_str().into(),
        Default::default(),
        Default::default(),
    )
    .await?;
    let _ = ch.close(200, "OK".into()).await;
    Ok(())
}

/// Whether `result` failed with the broker's ACCESS_REFUSED (403).
fn refused<T>(result: &Result<T, lapin::Error>) -> bool {
    result.as_ref().err().is_some_and(is_access_refused)
}

// ---------------------------------------------------------------------------------------------
// One source of truth: the script, the function, the definitions
// ---------------------------------------------------------------------------------------------

/// The patterns `scripts/rabbitmq-users --print` gives `roles` in namespace `ns`.
fn script_patterns(ns: &str, roles: &str) -> Permissions {
    let out = Command::new("bash")
        .arg(root().join(SCRIPT))
        .args(["--print", &format!("u:{roles}")])
        .env("NAMESPACE", ns)
        .output()
        .unwrap();
    assert!(out.status.success(), "{SCRIPT} --print: {out:?}");
    let text = String::from_utf8(out.stdout).unwrap();
    let line = text
        .lines()
        .find(|l| l.contains(" set_permissions "))
        .unwrap_or_else(|| panic!("no set_permissions in {text}"));
    // rabbitmqctl set_permissions -p 'VHOST' 'USER' 'CONF' 'WRITE' 'READ' (no ' in patterns)
    let quoted: Vec<&str> = line.split('\'').skip(1).step_by(2).collect();
    assert_eq!(quoted.len(), 5, "{line}");
    Permissions {
        configure: quoted[2].to_owned(),
        write: quoted[3].to_owned(),
        read: quoted[4].to_owned(),
    }
}

#[test]
fn the_script_and_the_rust_function_give_the_same_patterns() {
    for ns in ["rampart", "rampart_t-1.x"] {
        for roles in [
            "asset",
            "risk",
            "control",
            "incident",
            "audit",
            "asset,audit",
            "risk,control,incident",
            "audit,asset,risk,control,incident",
        ] {
            let list: Vec<&str> = roles.split(',').collect();
            assert_eq!(
                script_patterns(ns, roles),
                permissions(ns, &list),
                "namespace {ns}, roles {roles}"
            );
        }
    }
}

fn compose_doc() -> Value {
    let text = std::fs::read_to_string(root().join(COMPOSE)).unwrap();
    serde_saphyr::from_str(&text).unwrap()
}

fn definitions() -> Value {
    serde_json::from_str(&std::fs::read_to_string(root().join(DEFINITIONS)).unwrap()).unwrap()
}

/// The rampart nodes of the compose file: (broker user, roles).
fn compose_nodes(doc: &Value) -> Vec<(String, String)> {
    doc["services"]
        .as_object()
        .unwrap()
        .values()
        .filter(|s| s["command"][0] == "serve")
        .map(|s| {
            let url = s["environment"]["RAMPART_AMQP_URL"].as_str().unwrap();
            let user = url
                .split_once("://")
                .unwrap()
                .1
                .split_once('@')
                .unwrap()
                .0
                .to_owned();
            let cmd: Vec<&str> = s["command"]
                .as_array()
                .unwrap()
                .iter()
                .map(|w| w.as_str().unwrap())
                .collect();
            let at = cmd.iter().position(|w| *w == "--services").unwrap();
            (user, cmd[at + 1].to_owned())
        })
        .collect()
}

#[test]
fn the_definitions_grant_each_compose_node_the_permissions_of_its_roles() {
    let doc = compose_doc();
    let defs = definitions();
    let nodes = compose_nodes(&doc);
    assert!(nodes.len() >= 3, "{nodes:?}");
    let provisioning = doc["services"]["rabbitmq-users"]["command"].to_string();
    for (user, roles) in &nodes {
        let list: Vec<&str> = roles.split(',').collect();
        let want = permissions("rampart", &list);
        let granted: Vec<&Value> = defs["permissions"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|p| p["user"] == user.as_str())
            .collect();
        assert_eq!(granted.len(), 1, "{user}: one permission entry");
        let got = Permissions {
            configure: granted[0]["configure"].as_str().unwrap().to_owned(),
            write: granted[0]["write"].as_str().unwrap().to_owned(),
            read: granted[0]["read"].as_str().unwrap().to_owned(),
        };
        assert_eq!(got, want, "{DEFINITIONS}: {user} ({roles})");
        assert_eq!(granted[0]["vhost"], "/");
        assert!(
            defs["users"]
                .as_array()
                .unwrap()
                .iter()
                .any(|u| u["name"] == user.as_str() && u["tags"] == json!([])),
            "{DEFINITIONS}: no user {user} (without tags)"
        );
        // The provisioning service sets its password with the same roles.
        assert!(
            provisioning.contains(&format!("{user}:{roles}:/run/secrets/amqp-{user}")),
            "rabbitmq-users does not provision {user}:{roles}: {provisioning}"
        );
    }
    // The topology: every queue and exchange the nodes declare, nothing else.
    let mut names: Vec<String> = defs["queues"]
        .as_array()
        .unwrap()
        .iter()
        .chain(defs["exchanges"].as_array().unwrap())
        .map(|q| q["name"].as_str().unwrap().to_owned())
        .collect();
    names.sort();
    let mut want: Vec<String> = resources("rampart")
        .into_iter()
        .filter(|r| r != "amq.default")
        .collect();
    want.sort();
    assert_eq!(names, want);
}

/// The definitions with namespace `ns` instead of `rampart`, users renamed by `rename`, without
/// the vhost (it exists: the shared broker is not reconfigured).
fn definitions_for(ns: &str, rename: &dyn Fn(&str) -> String) -> Value {
    let text = std::fs::read_to_string(root().join(DEFINITIONS))
        .unwrap()
        .replace("rampart.", &format!("{ns}."))
        .replace(r"rampart\\.", &format!(r"{ns}\\."));
    let mut doc: Value = serde_json::from_str(&text).unwrap();
    doc.as_object_mut().unwrap().remove("vhosts");
    for u in doc["users"].as_array_mut().unwrap() {
        let name = rename(u["name"].as_str().unwrap());
        u["name"] = json!(name);
    }
    for p in doc["permissions"].as_array_mut().unwrap() {
        let name = rename(p["user"].as_str().unwrap());
        p["user"] = json!(name);
    }
    doc
}

/// The compose flow on the real broker: the definitions imported, the passwords set by the script
/// (as the rabbitmq-users service does); the nodes' users then connect and declare the imported
/// topology again (equivalent arguments), and an asset event reaches the risk queue.
#[tokio::test]
async fn the_imported_definitions_let_the_nodes_users_work() {
    let ns = Namespace::new("defs");
    let sfx = suffix();
    let rename = |u: &str| format!("{u}-t{sfx}");
    let mut users = Users::new();
    let defs = definitions_for(&ns.0, &rename);
    let compose = compose_doc();
    let nodes = compose_nodes(&compose);
    for u in defs["users"].as_array().unwrap() {
        users.names.push(u["name"].as_str().unwrap().to_owned());
    }
    let file = users.dir.join("definitions.json");
    std::fs::write(&file, serde_json::to_vec_pretty(&defs).unwrap()).unwrap();
    let out = rabbitmqctl(&["import_definitions", file.to_str().unwrap()], None);
    assert!(out.status.success(), "import_definitions: {out:?}");
    // Imported users have no password yet.
    let (asset_user, asset_roles) = nodes.iter().find(|(_, r)| r.contains("asset")).unwrap();
    let (risk_user, risk_roles) = nodes.iter().find(|(_, r)| r == "risk").unwrap();
    let out = rabbitmqctl(&["authenticate_user", &rename(asset_user), ""], None);
    assert!(!out.status.success(), "a user without password logs in");
    let specs: Vec<(String, String, String)> = nodes
        .iter()
        .map(|(u, r)| (rename(u), r.clone(), format!("pw{}", suffix())))
        .collect();
    let spec_refs: Vec<(&str, &str, &str)> = specs
        .iter()
        .map(|(u, r, p)| (u.as_str(), r.as_str(), p.as_str()))
        .collect();
    users.add_with_script(&ns.0, &spec_refs);
    let pw = |u: &str| {
        specs
            .iter()
            .find(|(n, _, _)| *n == rename(u))
            .unwrap()
            .2
            .clone()
    };
    let asset_url = user_url(&rename(asset_user), &pw(asset_user));
    let risk_url = user_url(&rename(risk_user), &pw(risk_user));
    let (risk, _rl) = connected(config(&risk_url, &ns.0), "risk").await;
    let (asset, _al) = connected(config(&asset_url, &ns.0), "asset").await;
    let sub = Bus::Amqp(risk.clone())
        .subscribe("risk", &["asset.*"])
        .unwrap();
    let e = Envelope::new("asset.discovered", "asset", &json!({"k": 1})).unwrap();
    asset.publish_batch(std::slice::from_ref(&e)).await.unwrap();
    let got = tokio::time::timeout(Duration::from_secs(10), sub.next_batch(1))
        .await
        .expect("the event reached the risk queue");
    assert_eq!(got[0].envelope().unwrap(), &e);
    for d in got {
        d.ack().await;
    }
    // The imported permissions are the function's (the script set the same again: unchanged).
    let out = rabbitmqctl(&["list_user_permissions", &rename(asset_user)], None);
    let listed = String::from_utf8_lossy(&out.stdout);
    let list: Vec<&str> = asset_roles.split(',').collect();
    assert!(listed.contains(&permissions(&ns.0, &list).read), "{listed}");
    let _ = risk_roles;
}

// ---------------------------------------------------------------------------------------------
// What each role may do (lapin, users made with the script, a fresh namespace)
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn each_role_reads_only_its_own_queues() {
    let ns = Namespace::new("roles");
    let sfx = suffix();
    let (asset_u, risk_u, none_u) = (
        format!("rampart-t-asset-{sfx}"),
        format!("rampart-t-risk-{sfx}"),
        format!("rampart-t-none-{sfx}"),
    );
    let (asset_pw, risk_pw, none_pw) = (suffix(), suffix(), suffix());
    let mut users = Users::new();
    users.add_with_script(
        &ns.0,
        &[(&asset_u, "asset", &asset_pw), (&risk_u, "risk", &risk_pw)],
    );
    users.add_with(&none_u, &none_pw, &permissions(&ns.0, &[]));
    let asset_cfg = config(&user_url(&asset_u, &asset_pw), &ns.0);
    let risk_cfg = config(&user_url(&risk_u, &risk_pw), &ns.0);

    // What an asset node does: declare (it may not create the other roles' queues, and goes on),
    // publish with confirms. The risk node creates its queue and consumes it.
    let (asset, _al) = connected(asset_cfg.clone(), "asset").await;
    let (risk, _rl) = connected(risk_cfg.clone(), "risk").await;
    let sub = Bus::Amqp(risk.clone())
        .subscribe("risk", &["asset.*"])
        .unwrap();
    let e = Envelope::new("asset.discovered", "asset", &json!({"k": 2})).unwrap();
    asset.publish_batch(std::slice::from_ref(&e)).await.unwrap();
    let got = tokio::time::timeout(Duration::from_secs(10), sub.next_batch(1))
        .await
        .expect("the risk node consumed the asset event");
    assert_eq!(got[0].envelope().unwrap(), &e);
    assert!(matches!(got[0], BusDelivery::Amqp(_)));
    for d in got {
        d.ack().await;
    }
    // Request/reply: the asset node asks the risk node (direct reply-to, default exchange).
    let server = tokio::spawn({
        let r = risk.clone();
        async move { r.serve("risk", |req| async move { req }).await }
    });
    let mut answer = Err(rampart_platform::bus::BusError::Closed);
    for _ in 0..50 {
        answer = asset
            .call("risk", br#"{"q":1}"#, Duration::from_millis(500))
            .await;
        if answer.is_ok() {
            break;
        }
    }
    assert_eq!(answer.unwrap(), br#"{"q":1}"#.to_vec());
    server.abort();

    // The asset user reads no queue: not risk's, nor its request or dead-letter queue, nor any
    // other service's; it cannot purge one either.
    let conn = amqp::connect(&asset_cfg).await.unwrap();
    for q in [
        queue_name(&ns.0, "risk"),
        rpc_queue_name(&ns.0, "risk"),
        dlq_name(&ns.0, "risk"),
        queue_name(&ns.0, "control"),
        queue_name(&ns.0, "audit"),
        dlq_name(&ns.0, "audit"),
    ] {
        let r = consume(&conn, &q).await;
        assert!(refused(&r), "asset consumed {q}: {r:?}");
    }
    let ch = conn.create_channel().await.unwrap();
    let r = ch
        .queue_purge(
            queue_name(&ns.0, "risk").as_str().into(),
            Default::default(),
        )
        .await;
    assert!(refused(&r), "asset purged the risk queue: {r:?}");
    let _ = conn.close(200, "OK".into()).await;

    // The risk user consumes its queue and its request queue, no other service's queue (there
    // is no asset queue: asset consumes nothing; its name is refused all the same).
    let conn = amqp::connect(&risk_cfg).await.unwrap();
    consume(&conn, &queue_name(&ns.0, "risk")).await.unwrap();
    consume(&conn, &rpc_queue_name(&ns.0, "risk"))
        .await
        .unwrap();
    for q in [
        queue_name(&ns.0, "asset"),
        queue_name(&ns.0, "control"),
        queue_name(&ns.0, "incident"),
        queue_name(&ns.0, "audit"),
        dlq_name(&ns.0, "risk"),
    ] {
        let r = consume(&conn, &q).await;
        assert!(refused(&r), "risk consumed {q}: {r:?}");
    }
    let _ = conn.close(200, "OK".into()).await;

    // A user with no role may connect to the vhost but publish nowhere, declare nothing.
    let conn = amqp::connect(&config(&user_url(&none_u, &none_pw), &ns.0))
        .await
        .unwrap();
    let ch = conn.create_channel().await.unwrap();
    ch.confirm_select(Default::default()).await.unwrap();
    let published = match ch
        .basic_publish(
            exchange_name(&ns.0).as_str().into(),
            "asset.discovered".into(),
            Default::default(),
            b"{}",
            Default::default(),
        )
        .await
    {
        Ok(confirm) => confirm.await.map(|_| ()),
        Err(e) => Err(e),
    };
    assert!(refused(&published), "no-role user published: {published:?}");
    let ch = conn.create_channel().await.unwrap();
    let r = ch
        .exchange_declare(
            exchange_name(&ns.0).as_str().into(),
            lapin::ExchangeKind::Topic,
            lapin::options::ExchangeDeclareOptions {
                durable: true,
                ..Default::default()
            },
            Default::default(),
        )
        .await;
    assert!(refused(&r), "no-role user declared the exchange: {r:?}");
    let _ = conn.close(200, "OK".into()).await;
    drop(users);
}

// ---------------------------------------------------------------------------------------------
// Real nodes with restricted users
// ---------------------------------------------------------------------------------------------

/// `RAMPART_AUTH__ENABLED=false` if this binary has an `[auth]` section (the HTTP API's bearer
/// tokens, being added beside this work); nothing otherwise (an unknown key is refused).
fn auth_off() -> Vec<(&'static str, String)> {
    let out = Command::new(env!("CARGO_BIN_EXE_rampart"))
        .arg("config")
        .current_dir(root())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    if text.lines().any(|l| l.trim() == "[auth]") {
        vec![("RAMPART_AUTH__ENABLED", "false".to_owned())]
    } else {
        Vec::new()
    }
}

/// A PostgreSQL schema of one test; dropped on drop.
struct Schema(String);

impl Drop for Schema {
    fn drop(&mut self) {
        let name = self.0.clone();
        let _ = std::thread::spawn(move || {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap()
                .block_on(async {
                    use sea_orm::ConnectionTrait;
                    if let Ok(db) = sea_orm::Database::connect(pg_url()).await {
                        let _ = db
                            .execute_unprepared(&format!(
                                "DROP SCHEMA IF EXISTS \"{name}\" CASCADE"
                            ))
                            .await;
                    }
                })
        })
        .join();
    }
}

async fn node(id: &str, services: &str, envs: &[(&str, String)]) -> NodeProc {
    let refs: Vec<(&str, &str)> = envs.iter().map(|(k, v)| (*k, v.as_str())).collect();
    start_node_args(id, &["--services", services], &refs).await
}

#[tokio::test]
async fn nodes_with_restricted_users_are_ready_and_an_import_is_scored_across_them() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let ns = Namespace::new("nodes");
    let schema = Schema(ns.0.clone());
    let db = rampart_platform::Db::connect::<rampart::schema::Migrator>(
        &pg_url(),
        &rampart_platform::DbOptions {
            max_connections: 2,
            connect_timeout_ms: 5000,
            schema: Some(schema.0.clone()),
        },
    )
    .await
    .unwrap_or_else(|e| panic!("PostgreSQL required at {}: {e}", pg_url()));
    drop(db);
    let sfx = suffix();
    let (asset_u, risk_u) = (format!("rampart-t-na-{sfx}"), format!("rampart-t-nr-{sfx}"));
    let (asset_pw, risk_pw) = (suffix(), suffix());
    let mut users = Users::new();
    users.add_with_script(
        &ns.0,
        &[(&asset_u, "asset", &asset_pw), (&risk_u, "risk", &risk_pw)],
    );
    let mut common_env = vec![
        ("RAMPART_DATABASE__URL", pg_url()),
        ("RAMPART_DATABASE__SCHEMA", schema.0.clone()),
        ("RAMPART_BUS__NAMESPACE", ns.0.clone()),
    ];
    common_env.extend(auth_off());
    // The asset node reads its password from a file (a Docker secret), the risk node from the URL.
    let mut asset_env = common_env.clone();
    asset_env.push((
        "RAMPART_AMQP_URL",
        format!("amqp://{asset_u}@{}/%2f", broker_addr()),
    ));
    asset_env.push((
        "RAMPART_BUS__AMQP_PASSWORD_FILE",
        users
            .dir
            .join(format!("{asset_u}.password"))
            .display()
            .to_string(),
    ));
    let mut risk_env = common_env.clone();
    risk_env.push(("RAMPART_AMQP_URL", user_url(&risk_u, &risk_pw)));

    // The asset node first, on a fresh namespace: it cannot create the services' queues, says
    // so, and is ready all the same.
    let a = node("node-a", "asset", &asset_env).await;
    let queues = || {
        let out = rabbitmqctl(&["list_queues", "--silent", "name"], None);
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(|l| l.trim().to_owned())
            .collect::<Vec<_>>()
    };
    let before = queues();
    assert!(
        before.contains(&dlq_name(&ns.0, "risk")) && !before.contains(&queue_name(&ns.0, "risk")),
        "the asset node creates the dead-letter queues, not the risk queue: {before:?}"
    );
    let b = node("node-b", "risk", &risk_env).await;
    let after = queues();
    assert!(
        after.contains(&queue_name(&ns.0, "risk"))
            && !after.contains(&queue_name(&ns.0, "control")),
        "the risk node creates its queue only: {after:?}"
    );
    for n in [&a, &b] {
        let (status, r) = get_json(&format!("{}/readyz", n.base)).await;
        assert_eq!(status, 200, "{r}");
        assert_eq!(r["bus"], "connected", "{r}");
    }
    // The feed on the risk node, an import on the asset node: scored by the risk node.
    let job = run_job(
        &b,
        "/threat-intel/osv",
        "application/json",
        std::fs::read(data("osv/ghsa/GHSA-36p3-wjmg-h94x.json")).unwrap(),
    )
    .await;
    assert_eq!(job["state"], "succeeded", "{job}");
    let job = run_job(
        &a,
        "/assets/import?format=cyclonedx",
        "application/json",
        std::fs::read(data("sbom/keycloak-10.0.2.cdx.json")).unwrap(),
    )
    .await;
    assert_eq!(job["state"], "succeeded", "{job}");
    let mut found = Value::Null;
    let ok = wait_for(Duration::from_secs(60), async || {
        let (_, r) = get_json(&a.api("/risks?kev_only=false&per_page=5")).await;
        found = r;
        found["total"].as_u64().unwrap_or(0) > 0
    })
    .await;
    assert!(
        ok,
        "risks computed by the risk node, visible on the asset node: {found}"
    );
    assert_eq!(found["items"][0]["vulnerability"], "GHSA-36p3-wjmg-h94x");
    drop((a, b));
    drop(users);
}

// ---------------------------------------------------------------------------------------------
// amqps:// through a TLS-terminating proxy
// ---------------------------------------------------------------------------------------------

mod tls {
    use std::sync::Arc;

    use rcgen::{
        BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose,
        IsCa, KeyPair, KeyUsagePurpose,
    };
    use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
    use tokio_rustls::rustls::server::WebPkiClientVerifier;
    use tokio_rustls::rustls::{RootCertStore, ServerConfig};

    /// A test CA.
    pub struct Ca {
        pub issuer: CertifiedIssuer<'static, KeyPair>,
    }

    impl Ca {
        pub fn new(name: &str) -> Self {
            let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
            params.distinguished_name.push(DnType::CommonName, name);
            params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
            params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
            let issuer =
                CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap();
            Self { issuer }
        }

        pub fn pem(&self) -> String {
            self.issuer.pem()
        }

        pub fn der(&self) -> CertificateDer<'static> {
            self.issuer.der().clone()
        }

        /// A leaf certificate for `names` with `usage`: (certificate PEM, DER, key PEM, key DER).
        pub fn leaf(
            &self,
            names: &[&str],
            usage: ExtendedKeyUsagePurpose,
        ) -> (
            String,
            CertificateDer<'static>,
            String,
            PrivateKeyDer<'static>,
        ) {
            let mut params =
                CertificateParams::new(names.iter().map(|n| (*n).to_owned()).collect::<Vec<_>>())
                    .unwrap();
            params.distinguished_name.push(
                DnType::CommonName,
                names.first().copied().unwrap_or("client"),
            );
            params.extended_key_usages = vec![usage];
            let key = KeyPair::generate().unwrap();
            let cert = params.signed_by(&key, &self.issuer).unwrap();
            let key_der = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
            (cert.pem(), cert.der().clone(), key.serialize_pem(), key_der)
        }
    }

    /// The proxy's TLS settings: `server` as its certificate; client certificates from
    /// `client_ca` required when given.
    pub fn server_config(ca: &Ca, client_ca: Option<&Ca>) -> Arc<ServerConfig> {
        let provider = Arc::new(tokio_rustls::rustls::crypto::ring::default_provider());
        let (_, cert, _, key) = ca.leaf(&["localhost"], ExtendedKeyUsagePurpose::ServerAuth);
        let builder = ServerConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .unwrap();
        let builder = match client_ca {
            Some(c) => {
                let mut roots = RootCertStore::empty();
                roots.add(c.der()).unwrap();
                let verifier =
                    WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
                        .build()
                        .unwrap();
                builder.with_client_cert_verifier(verifier)
            }
            None => builder.with_no_client_auth(),
        };
        Arc::new(builder.with_single_cert(vec![cert, ca.der()], key).unwrap())
    }

    /// A TLS-terminating proxy on 127.0.0.1 to the broker's plain listener `upstream`; its port.
    pub async fn proxy(
        config: Arc<ServerConfig>,
        upstream: String,
    ) -> (u16, tokio::task::JoinHandle<()>) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let acceptor = tokio_rustls::TlsAcceptor::from(config);
        let task = tokio::spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                let (acceptor, upstream) = (acceptor.clone(), upstream.clone());
                tokio::spawn(async move {
                    let Ok(mut tls) = acceptor.accept(tcp).await else {
                        return;
                    };
                    let Ok(mut up) = tokio::net::TcpStream::connect(&upstream).await else {
                        return;
                    };
                    let _ = tokio::io::copy_bidirectional(&mut tls, &mut up).await;
                });
            }
        });
        (port, task)
    }
}

/// The guest account through the proxy on `port` (the proxy connects from 127.0.0.1).
fn amqps_config(port: u16, ns: &str) -> AmqpConfig {
    config(&format!("amqps://guest:guest@localhost:{port}/%2f"), ns)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn amqps_connects_with_the_test_ca_and_refuses_another() {
    let ns = Namespace::new("tls");
    let dir = Users::new();
    let (ca, other) = (tls::Ca::new("Rampart test CA"), tls::Ca::new("Another CA"));
    let (ca_file, other_file) = (dir.dir.join("ca.pem"), dir.dir.join("other.pem"));
    std::fs::write(&ca_file, ca.pem()).unwrap();
    std::fs::write(&other_file, other.pem()).unwrap();
    let (port, proxy) = tls::proxy(tls::server_config(&ca, None), broker_addr()).await;

    // The test CA: connects, declares, publishes (confirmed).
    let cfg = AmqpConfig {
        tls_ca_file: Some(ca_file.clone()),
        ..amqps_config(port, &ns.0)
    };
    let conn = amqp::connect(&cfg).await.unwrap();
    assert!(conn.status().connected());
    let _ = conn.close(200, "OK".into()).await;
    let (bus, link) = connected(cfg.clone(), "tls").await;
    let e = Envelope::new("asset.discovered", "tls", &json!({"tls": true})).unwrap();
    bus.publish_batch(std::slice::from_ref(&e)).await.unwrap();
    link.abort();

    // Another CA: a certificate error, naming the CA file.
    let err = amqp::connect(&AmqpConfig {
        tls_ca_file: Some(other_file.clone()),
        ..amqps_config(port, &ns.0)
    })
    .await
    .expect_err("a certificate from an untrusted CA is refused")
    .to_string();
    assert!(
        err.to_lowercase().contains("certificate")
            && err.contains(&other_file.display().to_string()),
        "{err}"
    );
    // Without tls_ca_file the platform's roots do not know the test CA either.
    assert!(amqp::connect(&amqps_config(port, &ns.0)).await.is_err());
    proxy.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn amqps_presents_the_client_certificate_when_the_proxy_requires_one() {
    let ns = Namespace::new("mtls");
    let dir = Users::new();
    let ca = tls::Ca::new("Rampart test CA");
    let (cert_pem, _, key_pem, _) =
        ca.leaf(&["node-asset"], rcgen::ExtendedKeyUsagePurpose::ClientAuth);
    let (ca_file, cert_file, key_file) = (
        dir.dir.join("ca.pem"),
        dir.dir.join("client.pem"),
        dir.dir.join("client.key"),
    );
    std::fs::write(&ca_file, ca.pem()).unwrap();
    std::fs::write(&cert_file, &cert_pem).unwrap();
    std::fs::write(&key_file, &key_pem).unwrap();
    let (port, proxy) = tls::proxy(tls::server_config(&ca, Some(&ca)), broker_addr()).await;
    let base = AmqpConfig {
        tls_ca_file: Some(ca_file.clone()),
        ..amqps_config(port, &ns.0)
    };

    // No client certificate: the proxy ends the handshake.
    assert!(amqp::connect(&base).await.is_err());
    // With it: connected, and the bus works.
    let cfg = AmqpConfig {
        tls_client_cert_file: Some(cert_file.clone()),
        tls_client_key_file: Some(key_file.clone()),
        ..base.clone()
    };
    let conn = amqp::connect(&cfg).await.unwrap();
    assert!(conn.status().connected());
    let _ = conn.close(200, "OK".into()).await;
    let (bus, link) = connected(cfg, "mtls").await;
    let e = Envelope::new("asset.discovered", "mtls", &json!({})).unwrap();
    bus.publish_batch(std::slice::from_ref(&e)).await.unwrap();
    link.abort();
    proxy.abort();
}

#[tokio::test]
async fn bad_tls_settings_name_the_file_and_never_its_content() {
    let dir = Users::new();
    let secret = format!("SECRET-{}", suffix());
    let garbage = dir.dir.join("garbage.pem");
    std::fs::write(&garbage, format!("{secret}\n")).unwrap();
    let missing = dir.dir.join("missing.pem");
    let amqps = "amqps://guest:guest@localhost:1/%2f";
    let cases = [
        (
            AmqpConfig {
                tls_ca_file: Some(garbage.clone()),
                ..config(amqps, "x")
            },
            garbage.display().to_string(),
        ),
        (
            AmqpConfig {
                tls_ca_file: Some(missing.clone()),
                ..config(amqps, "x")
            },
            missing.display().to_string(),
        ),
        (
            AmqpConfig {
                tls_client_cert_file: Some(garbage.clone()),
                tls_client_key_file: Some(garbage.clone()),
                ..config(amqps, "x")
            },
            garbage.display().to_string(),
        ),
        (
            AmqpConfig {
                tls_client_cert_file: Some(garbage.clone()),
                ..config(amqps, "x")
            },
            "tls_client_key_file".to_owned(),
        ),
        (
            AmqpConfig {
                tls_ca_file: Some(garbage.clone()),
                ..config("amqp://guest:guest@localhost:1/%2f", "x")
            },
            "amqps://".to_owned(),
        ),
        (
            AmqpConfig {
                password_file: Some(garbage.clone()),
                ..config("amqp://guest:guest@localhost:1/%2f", "x")
            },
            garbage.display().to_string(),
        ),
        (
            AmqpConfig {
                password_file: Some(missing.clone()),
                ..config("amqp://guest@localhost:1/%2f", "x")
            },
            missing.display().to_string(),
        ),
    ];
    for (cfg, needle) in cases {
        let err = amqp::connect(&cfg).await.expect_err("refused").to_string();
        assert!(err.contains(&needle), "{err} (wanted {needle})");
        assert!(
            !err.contains(&secret),
            "the error shows the file's content: {err}"
        );
    }
    let _ = Arc::new(());
}
