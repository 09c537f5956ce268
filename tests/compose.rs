//! The deployment files, checked without a Docker engine.
//!
//! `docker-compose.yml` is parsed as YAML (aliases resolved, duplicate keys rejected) and its
//! structure checked: the broker, the database and at least three Rampart nodes, how the nodes
//! are wired to them, their roles, health checks, restart policies and ports. The `Dockerfile` is
//! read instruction by instruction: its stages, the unprivileged user, the health check, the
//! command. The nodes' commands and environments are also handed to the real binary
//! (`rampart config`), which rejects unknown flags and unknown `RAMPART_*` variables.
//!
//! Each checker returns the problems it finds, one message each saying what is wrong and where;
//! the tests assert that the shipped files have none, and that deliberately broken copies of them
//! do have the expected ones (so that the checks cannot pass vacuously).

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Command, Output};

use serde_json::{Value, json};

const COMPOSE: &str = "docker-compose.yml";
const DOCKERFILE: &str = "Dockerfile";
const DOCKERIGNORE: &str = ".dockerignore";
/// The broker's users, permissions and topology, imported by the compose file.
const DEFINITIONS: &str = "config/rabbitmq/definitions.json";

/// The compose services of the broker and the database (the nodes' URLs name these hosts).
const BROKER: &str = "rabbitmq";
const DATABASE: &str = "postgres";
/// The services a node can run (`--services`).
const SERVICE_ROLES: &[&str] = &["asset", "risk", "control", "incident", "audit"];
/// The `rampart serve` flags that the deployment files may use.
const SERVE_FLAGS: &[&str] = &[
    "--config",
    "--listen",
    "--node-id",
    "--database-url",
    "--services",
    "--amqp-url",
];
/// `RAMPART_*` variables that are not configuration sections (`RAMPART_<SECTION>__<KEY>`).
const OTHER_VARIABLES: &[&str] = &["RAMPART_AMQP_URL", "RAMPART_LOG", "RAMPART_CONFIG"];
const RESTART_POLICIES: &[&str] = &["no", "always", "on-failure", "unless-stopped"];
/// Top-level keys of the Compose Specification (besides `x-` extensions).
const TOP_LEVEL_KEYS: &[&str] = &[
    "name", "services", "networks", "volumes", "configs", "secrets", "include", "models",
];

// ---------------------------------------------------------------------------------------------
// Reading the files
// ---------------------------------------------------------------------------------------------

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn read(name: &str) -> String {
    let path = root().join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

fn parse_yaml(text: &str) -> Result<Value, serde_saphyr::Error> {
    serde_saphyr::from_str(text)
}

fn compose_doc() -> Value {
    parse_yaml(&read(COMPOSE)).unwrap_or_else(|e| panic!("{COMPOSE} is not valid YAML: {e}"))
}

/// `workspace.package.rust-version` of the root manifest.
fn workspace_rust_version() -> String {
    let manifest: toml::Table = toml::from_str(&read("Cargo.toml")).expect("Cargo.toml parses");
    manifest["workspace"]["package"]["rust-version"]
        .as_str()
        .expect("Cargo.toml has workspace.package.rust-version")
        .to_owned()
}

/// Problems found by a checker: one message each.
#[derive(Default)]
struct Problems(Vec<String>);

impl Problems {
    fn check(&mut self, ok: bool, message: impl FnOnce() -> String) {
        if !ok {
            self.0.push(message());
        }
    }

    fn push(&mut self, message: impl Into<String>) {
        self.0.push(message.into());
    }
}

fn assert_no_problems(what: &str, problems: &[String]) {
    assert!(
        problems.is_empty(),
        "{what} has {} problem(s):\n  - {}",
        problems.len(),
        problems.join("\n  - ")
    );
}

/// Asserts that some problem mentions every one of `needles`.
fn assert_reported(problems: &[String], needles: &[&str]) {
    assert!(
        problems
            .iter()
            .any(|p| needles.iter().all(|n| p.contains(n))),
        "expected a problem mentioning {needles:?}; the checker reported: {problems:#?}"
    );
}

// ---------------------------------------------------------------------------------------------
// Compose values
// ---------------------------------------------------------------------------------------------

/// A scalar as text (Compose takes numbers and booleans where it means strings).
fn scalar(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// A command: a list, or a string split on whitespace.
fn words(v: &Value) -> Option<Vec<String>> {
    match v {
        Value::Array(items) => items.iter().map(scalar).collect(),
        Value::String(s) => Some(s.split_whitespace().map(str::to_owned).collect()),
        _ => None,
    }
}

fn command(service: &Value) -> Option<Vec<String>> {
    service.get("command").and_then(words)
}

/// `environment`, as a mapping or a list of `NAME=value`; a name without a value maps to None.
fn environment(service: &Value) -> BTreeMap<String, Option<String>> {
    match service.get("environment") {
        Some(Value::Object(map)) => map.iter().map(|(k, v)| (k.clone(), scalar(v))).collect(),
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(Value::as_str)
            .map(|item| match item.split_once('=') {
                Some((k, v)) => (k.to_owned(), Some(v.to_owned())),
                None => (item.to_owned(), None),
            })
            .collect(),
        _ => BTreeMap::new(),
    }
}

fn env_value(service: &Value, name: &str) -> Option<String> {
    environment(service).remove(name).flatten()
}

/// `depends_on`: dependency -> condition (the list form means `service_started`).
fn depends_on(service: &Value) -> BTreeMap<String, String> {
    const STARTED: &str = "service_started";
    match service.get("depends_on") {
        Some(Value::Object(map)) => map
            .iter()
            .map(|(k, v)| {
                let condition = v
                    .get("condition")
                    .and_then(Value::as_str)
                    .unwrap_or(STARTED);
                (k.clone(), condition.to_owned())
            })
            .collect(),
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(Value::as_str)
            .map(|k| (k.to_owned(), STARTED.to_owned()))
            .collect(),
        _ => BTreeMap::new(),
    }
}

/// The command a service's health check runs, as words; None when there is none or it is off.
fn healthcheck_command(service: &Value) -> Option<Vec<String>> {
    let hc = service.get("healthcheck")?;
    if hc.get("disable").and_then(Value::as_bool) == Some(true) {
        return None;
    }
    let test = hc.get("test")?;
    if let Value::String(shell) = test {
        return Some(shell.split_whitespace().map(str::to_owned).collect());
    }
    let test = words(test)?;
    match test.first().map(String::as_str) {
        Some("CMD") => Some(test[1..].to_vec()),
        Some("CMD-SHELL") => Some(
            test[1..]
                .iter()
                .flat_map(|s| s.split_whitespace().map(str::to_owned))
                .collect(),
        ),
        _ => None, // NONE, or not a health check Compose accepts
    }
}

/// Whether a health check command runs curl so that an HTTP error fails it (without `--fail`,
/// curl exits 0 on a 503 and an unready node would count as healthy).
fn curl_fails_on_http_errors(words: &[String]) -> bool {
    let curl = words.iter().any(|w| w == "curl" || w.ends_with("/curl"));
    let fail = words.iter().any(|w| {
        w == "--fail"
            || w == "--fail-with-body"
            || (w.starts_with('-') && !w.starts_with("--") && w.contains('f'))
    });
    curl && fail
}

/// Compose durations: `10s`, `1m30s`, `500ms`.
fn is_duration(s: &str) -> bool {
    let mut rest = s;
    if rest.is_empty() {
        return false;
    }
    while !rest.is_empty() {
        let number = rest.len()
            - rest
                .trim_start_matches(|c: char| c.is_ascii_digit() || c == '.')
                .len();
        if number == 0 {
            return false;
        }
        rest = &rest[number..];
        let Some(unit) = ["ms", "us", "ns", "h", "m", "s"]
            .iter()
            .find(|u| rest.starts_with(**u))
        else {
            return false;
        };
        rest = &rest[unit.len()..];
    }
    true
}

/// A published port: the host port (None: an ephemeral one) and the container port.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Port {
    host: Option<u16>,
    container: u16,
}

/// `ports`, short syntax (`[IP:][HOST:]CONTAINER[/PROTO]`) or long.
fn ports(service: &Value) -> Result<Vec<Port>, String> {
    let Some(entries) = service.get("ports") else {
        return Ok(Vec::new());
    };
    let entries = entries.as_array().ok_or("`ports` is not a list")?;
    entries
        .iter()
        .map(|entry| {
            let unreadable = || format!("cannot read the port entry {entry}");
            match entry {
                Value::Object(long) => {
                    let container = long
                        .get("target")
                        .and_then(scalar)
                        .and_then(|t| t.parse().ok());
                    let host = long.get("published").and_then(scalar);
                    Ok(Port {
                        container: container.ok_or_else(unreadable)?,
                        host: host
                            .map(|h| h.parse().map_err(|_| unreadable()))
                            .transpose()?,
                    })
                }
                _ => {
                    let text = scalar(entry).ok_or_else(unreadable)?;
                    let text = text.split('/').next().unwrap_or_default();
                    let mut parts = text.rsplitn(3, ':');
                    let container = parts.next().and_then(|c| c.parse().ok());
                    let host = parts
                        .next()
                        .map(|h| h.parse().map_err(|_| unreadable()))
                        .transpose()?;
                    Ok(Port {
                        container: container.ok_or_else(unreadable)?,
                        host,
                    })
                }
            }
        })
        .collect()
}

/// `volumes` of a service: (source, target); a source that is not a path is a named volume.
fn mounts(service: &Value) -> Vec<(Option<String>, String)> {
    let Some(entries) = service.get("volumes").and_then(Value::as_array) else {
        return Vec::new();
    };
    entries
        .iter()
        .filter_map(|entry| match entry {
            Value::String(short) => {
                let mut parts = short.splitn(3, ':');
                let first = parts.next()?.to_owned();
                match parts.next() {
                    Some(target) => Some((Some(first), target.to_owned())),
                    None => Some((None, first)),
                }
            }
            Value::Object(long) => Some((
                long.get("source").and_then(scalar),
                long.get("target").and_then(scalar)?,
            )),
            _ => None,
        })
        .collect()
}

fn is_named_volume(source: &str) -> bool {
    !source.starts_with(['.', '/', '~', '$'])
}

fn has_named_volume_at(service: &Value, target_prefix: &str) -> bool {
    mounts(service).iter().any(|(source, target)| {
        source.as_deref().is_some_and(is_named_volume) && target.starts_with(target_prefix)
    })
}

/// `rabbitmq:4-management` -> ("rabbitmq", "4-management").
fn image_parts(image: &str) -> (&str, &str) {
    let last = image.rsplit('/').next().unwrap_or(image);
    let last = last.split('@').next().unwrap_or(last);
    last.split_once(':').unwrap_or((last, "latest"))
}

/// The parts of a URL these files use.
#[derive(Debug)]
struct Url {
    scheme: String,
    user: String,
    password: String,
    host: String,
    port: Option<u16>,
    path: String,
}

fn parse_url(s: &str) -> Option<Url> {
    let (scheme, rest) = s.split_once("://")?;
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let (userinfo, hostport) = authority.rsplit_once('@').unwrap_or(("", authority));
    let (user, password) = userinfo.split_once(':').unwrap_or((userinfo, ""));
    let (host, port) = match hostport.rsplit_once(':') {
        Some((h, p)) => (h, Some(p.parse().ok()?)),
        None => (hostport, None),
    };
    Some(Url {
        scheme: scheme.to_owned(),
        user: user.to_owned(),
        password: password.to_owned(),
        host: host.to_owned(),
        port,
        path: path.to_owned(),
    })
}

/// The value of `--flag VALUE` or `--flag=VALUE`.
fn flag_value(args: &[String], flag: &str) -> Option<String> {
    let prefix = format!("{flag}=");
    args.iter().enumerate().find_map(|(i, a)| {
        if a == flag {
            args.get(i + 1).cloned()
        } else {
            a.strip_prefix(&prefix).map(str::to_owned)
        }
    })
}

fn long_flags(args: &[String]) -> Vec<&str> {
    args.iter()
        .filter(|a| a.starts_with("--"))
        .map(|a| a.split('=').next().unwrap_or(a))
        .collect()
}

/// Whether a `RAMPART_*` name is one the node reads: a configuration key
/// (`RAMPART_<SECTION>__<KEY>`) or one of [`OTHER_VARIABLES`]. The binary checks it fully.
fn is_known_variable(name: &str) -> bool {
    OTHER_VARIABLES.contains(&name)
        || name
            .strip_prefix("RAMPART_")
            .and_then(|rest| rest.split_once("__"))
            .is_some_and(|(section, key)| !section.is_empty() && !key.is_empty())
}

/// The problems of a `serve` command line (words after the image's entrypoint).
fn serve_args_problems(p: &mut Problems, at: &str, args: &[String]) -> Option<SocketAddr> {
    p.check(args.first().is_some_and(|a| a == "serve"), || {
        format!("{at}: the command must start with `serve`, got {args:?}")
    });
    for flag in long_flags(args) {
        p.check(SERVE_FLAGS.contains(&flag), || {
            format!("{at}: unknown flag `{flag}` (the serve flags are {SERVE_FLAGS:?})")
        });
    }
    let listen = flag_value(args, "--listen");
    let addr = listen.as_deref().and_then(|l| l.parse::<SocketAddr>().ok());
    match (&listen, addr) {
        (None, _) => p.push(format!(
            "{at}: no `--listen ADDR:PORT` (the default is loopback)"
        )),
        (Some(l), None) => p.push(format!("{at}: `--listen {l}` is not an ADDR:PORT")),
        (Some(l), Some(a)) => p.check(a.ip().is_unspecified(), || {
            format!("{at}: `--listen {l}` must be on 0.0.0.0 (reachable from other containers)")
        }),
    }
    addr
}

// ---------------------------------------------------------------------------------------------
// The compose checker
// ---------------------------------------------------------------------------------------------

fn is_rampart_node(service: &Value) -> bool {
    service.get("build").is_some()
        || service
            .get("image")
            .and_then(Value::as_str)
            .is_some_and(|i| image_parts(i).0 == "rampart")
        || command(service).is_some_and(|c| c.first().is_some_and(|w| w == "serve"))
}

fn rampart_nodes(doc: &Value) -> Vec<(&str, &Value)> {
    doc.get("services")
        .and_then(Value::as_object)
        .map(|services| {
            services
                .iter()
                .filter(|(_, s)| is_rampart_node(s))
                .map(|(n, s)| (n.as_str(), s))
                .collect()
        })
        .unwrap_or_default()
}

fn compose_problems(doc: &Value) -> Vec<String> {
    let mut p = Problems::default();
    let Some(top) = doc.as_object() else {
        return vec!["the document is not a mapping".to_owned()];
    };
    p.check(!top.contains_key("version"), || {
        "top level: `version` is obsolete in the Compose Specification: remove it".to_owned()
    });
    for key in top.keys() {
        p.check(
            key.starts_with("x-") || TOP_LEVEL_KEYS.contains(&key.as_str()),
            || format!("top level: unknown key `{key}` (extensions must start with `x-`)"),
        );
    }
    let Some(services) = top.get("services").and_then(Value::as_object) else {
        p.push("top level: no `services` mapping");
        return p.0;
    };
    let declared_volumes: BTreeSet<&str> = top
        .get("volumes")
        .and_then(Value::as_object)
        .map(|v| v.keys().map(String::as_str).collect())
        .unwrap_or_default();

    for (name, service) in services {
        check_service(&mut p, name, service, services, &declared_volumes);
    }
    check_broker(&mut p, services.get(BROKER));
    check_database(&mut p, services.get(DATABASE));
    check_nodes(&mut p, doc);
    check_host_ports(&mut p, services);
    p.0
}

/// What every service needs to be valid: known dependencies, declared volumes, readable ports,
/// a well-formed health check.
fn check_service(
    p: &mut Problems,
    name: &str,
    service: &Value,
    services: &serde_json::Map<String, Value>,
    declared_volumes: &BTreeSet<&str>,
) {
    let at = format!("service `{name}`");
    p.check(service.is_object(), || format!("{at}: not a mapping"));
    if let Some(restart) = service.get("restart") {
        p.check(
            restart
                .as_str()
                .is_some_and(|r| RESTART_POLICIES.contains(&r)),
            || format!("{at}: `restart: {restart}` is not one of {RESTART_POLICIES:?}"),
        );
    }
    for dependency in depends_on(service).keys() {
        p.check(services.contains_key(dependency), || {
            format!("{at}: depends_on `{dependency}`, which is not a service")
        });
    }
    for (source, _) in mounts(service) {
        if let Some(source) = source.filter(|s| is_named_volume(s)) {
            p.check(declared_volumes.contains(source.as_str()), || {
                format!("{at}: volume `{source}` is not declared under the top-level `volumes`")
            });
        }
    }
    if let Err(e) = ports(service) {
        p.push(format!("{at}: {e}"));
    }
    if let Some(hc) = service.get("healthcheck") {
        p.check(
            hc.get("test").is_some() || hc.get("disable").is_some(),
            || format!("{at}: healthcheck has no `test`"),
        );
        for field in ["interval", "timeout", "start_period", "start_interval"] {
            if let Some(v) = hc.get(field) {
                p.check(v.as_str().is_some_and(is_duration), || {
                    format!("{at}: healthcheck `{field}: {v}` is not a duration like 10s")
                });
            }
        }
        if let Some(v) = hc.get("retries") {
            p.check(v.as_u64().is_some_and(|r| r > 0), || {
                format!("{at}: healthcheck `retries: {v}` is not a positive integer")
            });
        }
    }
}

fn check_restart_set(p: &mut Problems, at: &str, service: &Value) {
    p.check(service.get("restart").is_some(), || {
        format!("{at}: no `restart` policy (e.g. unless-stopped): it would stay down after a crash")
    });
}

fn check_broker(p: &mut Problems, broker: Option<&Value>) {
    let at = format!("broker `{BROKER}`");
    let Some(broker) = broker else {
        p.push(format!(
            "no `{BROKER}` service: the nodes need RabbitMQ as their event bus"
        ));
        return;
    };
    let image = broker
        .get("image")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let (repo, tag) = image_parts(image);
    p.check(repo == "rabbitmq" && tag.contains("management"), || {
        format!("{at}: image `{image}` is not a rabbitmq:*-management image (management plugin)")
    });
    for var in ["RABBITMQ_DEFAULT_USER", "RABBITMQ_DEFAULT_PASS"] {
        p.check(
            env_value(broker, var).is_some_and(|v| !v.is_empty()),
            || format!("{at}: environment `{var}` is not set (the nodes' AMQP URL uses it)"),
        );
    }
    let published: BTreeSet<u16> = ports(broker)
        .unwrap_or_default()
        .iter()
        .map(|p| p.container)
        .collect();
    for (port, what) in [(5672, "AMQP"), (15672, "management UI")] {
        p.check(published.contains(&port), || {
            format!("{at}: port {port} ({what}) is not published")
        });
    }
    let hc = healthcheck_command(broker).unwrap_or_default();
    p.check(hc.iter().any(|w| w == "rabbitmq-diagnostics"), || {
        format!(
            "{at}: no healthcheck with `rabbitmq-diagnostics` (the nodes wait for it to be healthy)"
        )
    });
    p.check(has_named_volume_at(broker, "/var/lib/rabbitmq"), || {
        format!("{at}: no named volume at /var/lib/rabbitmq: queues and messages would be lost")
    });
    check_restart_set(p, &at, broker);
}

fn check_database(p: &mut Problems, database: Option<&Value>) {
    let at = format!("database `{DATABASE}`");
    let Some(database) = database else {
        p.push(format!(
            "no `{DATABASE}` service: the nodes share a PostgreSQL database"
        ));
        return;
    };
    let image = database
        .get("image")
        .and_then(Value::as_str)
        .unwrap_or_default();
    p.check(image_parts(image).0 == "postgres", || {
        format!("{at}: image `{image}` is not a postgres image")
    });
    for var in ["POSTGRES_USER", "POSTGRES_PASSWORD", "POSTGRES_DB"] {
        p.check(
            env_value(database, var).is_some_and(|v| !v.is_empty()),
            || format!("{at}: environment `{var}` is not set (the nodes' database URL uses it)"),
        );
    }
    let hc = healthcheck_command(database).unwrap_or_default();
    p.check(hc.iter().any(|w| w == "pg_isready"), || {
        format!("{at}: no healthcheck with `pg_isready` (the nodes wait for it to be healthy)")
    });
    p.check(has_named_volume_at(database, "/var/lib/postgresql"), || {
        format!("{at}: no named volume under /var/lib/postgresql: the data would be lost")
    });
    check_restart_set(p, &at, database);
}

/// What a node's command says.
struct NodeCommand {
    node_id: Option<String>,
    roles: Vec<String>,
    amqp_user: Option<String>,
}

/// The user names of [`DEFINITIONS`].
fn definitions_users() -> BTreeSet<String> {
    let doc: Value = serde_json::from_str(&read(DEFINITIONS))
        .unwrap_or_else(|e| panic!("{DEFINITIONS} is not JSON: {e}"));
    doc["users"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|u| u["name"].as_str().map(str::to_owned))
        .collect()
}

/// Where a service's `secrets` are mounted (`/run/secrets/<target or name>`), for those declared
/// under the top-level `secrets`.
fn secret_paths(service: &Value, doc: &Value) -> BTreeSet<String> {
    let declared = |name: &str| doc.get("secrets").and_then(|s| s.get(name)).is_some();
    let path = |target: &str| {
        if target.starts_with('/') {
            target.to_owned()
        } else {
            format!("/run/secrets/{target}")
        }
    };
    service
        .get("secrets")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|entry| match entry {
            Value::String(name) => declared(name).then(|| path(name)),
            Value::Object(long) => {
                let source = long.get("source")?.as_str()?;
                let target = long.get("target").and_then(Value::as_str).unwrap_or(source);
                declared(source).then(|| path(target))
            }
            _ => None,
        })
        .collect()
}

fn check_node(p: &mut Problems, name: &str, node: &Value, doc: &Value) -> NodeCommand {
    let at = format!("node `{name}`");
    let services = &doc["services"];

    let build_ok = match node.get("build") {
        Some(Value::String(context)) => !context.is_empty(),
        Some(Value::Object(build)) => build.contains_key("context"),
        _ => false,
    };
    p.check(build_ok, || {
        format!("{at}: no `build` (the nodes are built from the Dockerfile: `build: .`)")
    });

    // The command.
    let args = command(node).unwrap_or_default();
    let listen = serve_args_problems(p, &at, &args);
    let node_id = flag_value(&args, "--node-id").filter(|id| !id.is_empty());
    p.check(node_id.is_some(), || {
        format!("{at}: no `--node-id NAME` in its command")
    });
    let roles: Vec<String> = flag_value(&args, "--services")
        .map(|s| {
            s.split(',')
                .map(|r| r.trim().to_owned())
                .filter(|r| !r.is_empty())
                .collect()
        })
        .unwrap_or_default();
    p.check(!roles.is_empty(), || {
        format!("{at}: no `--services LIST` in its command (its role in the cluster)")
    });
    for role in &roles {
        p.check(SERVICE_ROLES.contains(&role.as_str()), || {
            format!("{at}: `--services` names `{role}`, not one of {SERVICE_ROLES:?}")
        });
    }

    // The environment: the broker and the database of this file.
    let env = environment(node);
    for (var, value) in &env {
        p.check(value.is_some(), || {
            format!("{at}: environment `{var}` has no value (it would come from the host)")
        });
        if var.starts_with("RAMPART_") {
            p.check(is_known_variable(var), || {
                format!("{at}: environment `{var}` is not a variable the node reads")
            });
        }
    }
    let broker = &services[BROKER];
    let mut amqp_user = None;
    match env_value(node, "RAMPART_AMQP_URL")
        .as_deref()
        .map(|u| (u, parse_url(u)))
    {
        None => p.push(format!(
            "{at}: environment RAMPART_AMQP_URL is not set: the bus would be in-process"
        )),
        Some((url, None)) => p.push(format!("{at}: RAMPART_AMQP_URL `{url}` is not a URL")),
        Some((url, Some(u))) => {
            p.check(matches!(u.scheme.as_str(), "amqp" | "amqps"), || {
                format!("{at}: RAMPART_AMQP_URL `{url}` is not an amqp:// URL")
            });
            p.check(u.host == BROKER, || {
                format!("{at}: RAMPART_AMQP_URL `{url}` does not point at the `{BROKER}` service")
            });
            p.check(u.port.is_none_or(|port| port == 5672), || {
                format!("{at}: RAMPART_AMQP_URL `{url}` does not use the AMQP port 5672")
            });
            // A broker user of its own with the permissions of its roles (DEFINITIONS), never
            // guest or the broker's administrator; the password from a Docker secret.
            let admin = env_value(broker, "RABBITMQ_DEFAULT_USER");
            let own = !u.user.is_empty() && u.user != "guest" && Some(&u.user) != admin.as_ref();
            p.check(own, || {
                format!(
                    "{at}: RAMPART_AMQP_URL `{url}` does not name a broker user of its own \
                     (not guest, not RABBITMQ_DEFAULT_USER; see {DEFINITIONS})"
                )
            });
            p.check(!own || definitions_users().contains(&u.user), || {
                format!(
                    "{at}: RAMPART_AMQP_URL `{url}`: user `{}` is not in {DEFINITIONS}",
                    u.user
                )
            });
            p.check(u.password.is_empty(), || {
                format!(
                    "{at}: RAMPART_AMQP_URL `{url}` has a password: it comes from a Docker secret \
                     (RAMPART_BUS__AMQP_PASSWORD_FILE)"
                )
            });
            amqp_user = Some(u.user);
        }
    }
    match env_value(node, "RAMPART_BUS__AMQP_PASSWORD_FILE") {
        None => p.push(format!(
            "{at}: environment RAMPART_BUS__AMQP_PASSWORD_FILE is not set: the broker password \
             comes from a Docker secret"
        )),
        Some(file) => p.check(secret_paths(node, doc).contains(&file), || {
            format!(
                "{at}: RAMPART_BUS__AMQP_PASSWORD_FILE `{file}` is not one of its `secrets` \
                 (declared at the top level)"
            )
        }),
    }
    let database = &services[DATABASE];
    match env_value(node, "RAMPART_DATABASE__URL")
        .as_deref()
        .map(|u| (u, parse_url(u)))
    {
        None => p.push(format!(
            "{at}: environment RAMPART_DATABASE__URL is not set: it would use a private SQLite file"
        )),
        Some((url, None)) => p.push(format!("{at}: RAMPART_DATABASE__URL `{url}` is not a URL")),
        Some((url, Some(u))) => {
            p.check(
                matches!(u.scheme.as_str(), "postgres" | "postgresql"),
                || format!("{at}: RAMPART_DATABASE__URL `{url}` is not a postgres:// URL"),
            );
            p.check(u.host == DATABASE, || {
                format!(
                    "{at}: RAMPART_DATABASE__URL `{url}` does not point at the `{DATABASE}` service"
                )
            });
            p.check(u.port.is_none_or(|port| port == 5432), || {
                format!("{at}: RAMPART_DATABASE__URL `{url}` does not use the PostgreSQL port 5432")
            });
            let db = u.path.trim_start_matches('/').to_owned();
            let account = Some(u.user) == env_value(database, "POSTGRES_USER")
                && Some(u.password) == env_value(database, "POSTGRES_PASSWORD")
                && Some(db) == env_value(database, "POSTGRES_DB");
            p.check(account, || {
                format!("{at}: RAMPART_DATABASE__URL `{url}` has not the POSTGRES_USER/PASSWORD/DB")
            });
        }
    }
    p.check(env_value(node, "RAMPART_LOG").is_some(), || {
        format!("{at}: environment RAMPART_LOG (the log filter, e.g. info) is not set")
    });

    // Start order: only once the broker and the database answer their health checks.
    let dependencies = depends_on(node);
    for dependency in [BROKER, DATABASE] {
        let condition = dependencies.get(dependency).map(String::as_str);
        p.check(condition == Some("service_healthy"), || match condition {
            None => format!("{at}: does not depend_on `{dependency}`"),
            Some(c) => format!(
                "{at}: depends_on `{dependency}` with condition {c}, not `condition: service_healthy`"
            ),
        });
    }

    // Health: /readyz on its own listen port, failing on a 503.
    match healthcheck_command(node) {
        None => p.push(format!("{at}: no healthcheck (it must probe /readyz)")),
        Some(hc) => {
            let url = hc.iter().find(|w| w.contains("/readyz"));
            p.check(url.is_some(), || {
                format!("{at}: the healthcheck {hc:?} does not probe /readyz")
            });
            p.check(curl_fails_on_http_errors(&hc), || {
                format!(
                    "{at}: the healthcheck {hc:?} must run `curl -f` (else a 503 counts as healthy)"
                )
            });
            if let (Some(url), Some(listen)) = (url, listen) {
                let u = parse_url(url);
                p.check(
                    u.as_ref().and_then(|u| u.port) == Some(listen.port()),
                    || {
                        format!(
                            "{at}: the healthcheck URL `{url}` is not on the listen port {}",
                            listen.port()
                        )
                    },
                );
                p.check(
                    u.is_some_and(|u| {
                        matches!(u.host.as_str(), "127.0.0.1" | "localhost" | "[::1]")
                    }),
                    || format!("{at}: the healthcheck URL `{url}` is not on the loopback address"),
                );
            }
        }
    }
    if let Some(hc) = node.get("healthcheck") {
        for field in ["interval", "timeout", "retries", "start_period"] {
            p.check(hc.get(field).is_some(), || {
                format!("{at}: the healthcheck has no `{field}`")
            });
        }
    }
    check_restart_set(p, &at, node);

    // Published ports lead to the port it listens on.
    if let Some(listen) = listen {
        for port in ports(node).unwrap_or_default() {
            p.check(port.container == listen.port(), || {
                format!(
                    "{at}: publishes container port {} but listens on {}",
                    port.container,
                    listen.port()
                )
            });
        }
    }
    NodeCommand {
        node_id,
        roles,
        amqp_user,
    }
}

fn check_nodes(p: &mut Problems, doc: &Value) {
    let nodes = rampart_nodes(doc);
    p.check(nodes.len() >= 3, || {
        format!(
            "{} rampart node(s) {:?}: at least 3 are needed (asset, and two competing risk nodes)",
            nodes.len(),
            nodes.iter().map(|(n, _)| n).collect::<Vec<_>>()
        )
    });
    let images: BTreeSet<Option<&str>> = nodes
        .iter()
        .map(|(_, n)| n.get("image").and_then(Value::as_str))
        .collect();
    p.check(images.len() == 1 && !images.contains(&None), || {
        format!("rampart nodes: they must all name the same `image` (built once), got {images:?}")
    });

    let mut ids: BTreeMap<String, Vec<&str>> = BTreeMap::new();
    let mut roles: BTreeMap<String, Vec<&str>> = BTreeMap::new();
    let mut users: BTreeMap<String, Vec<&str>> = BTreeMap::new();
    for (name, node) in &nodes {
        let cmd = check_node(p, name, node, doc);
        if let Some(id) = cmd.node_id {
            ids.entry(id).or_default().push(name);
        }
        if let Some(user) = cmd.amqp_user {
            users.entry(user).or_default().push(name);
        }
        for role in cmd.roles {
            roles.entry(role).or_default().push(name);
        }
    }
    for (id, holders) in &ids {
        p.check(holders.len() == 1, || {
            format!(
                "rampart nodes: `--node-id {id}` is used by {holders:?}: node ids must be unique"
            )
        });
    }
    for (user, holders) in &users {
        p.check(holders.len() == 1, || {
            format!(
                "rampart nodes: broker user `{user}` is used by {holders:?}: each node has its own"
            )
        });
    }
    for role in ["asset", "risk"] {
        p.check(roles.contains_key(role), || {
            format!("rampart nodes: no node runs the `{role}` service (--services)")
        });
    }
    p.check(roles.values().any(|holders| holders.len() >= 2), || {
        format!(
            "rampart nodes: no service is run by two nodes (competing consumers), roles: {roles:?}"
        )
    });
}

fn check_host_ports(p: &mut Problems, services: &serde_json::Map<String, Value>) {
    let mut owners: BTreeMap<u16, Vec<&str>> = BTreeMap::new();
    for (name, service) in services {
        for port in ports(service).unwrap_or_default() {
            if let Some(host) = port.host {
                owners.entry(host).or_default().push(name);
            }
        }
    }
    for (port, holders) in owners {
        p.check(holders.len() == 1, || {
            format!("host port {port} is published by {holders:?}: host ports must be unique")
        });
    }
}

// ---------------------------------------------------------------------------------------------
// The Dockerfile checker
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone)]
struct Instruction {
    keyword: String,
    /// The arguments, continuation lines joined; heredoc bodies follow on new lines.
    args: String,
    line: usize,
}

#[derive(Debug)]
struct Stage {
    image: String,
    name: Option<String>,
    instructions: Vec<Instruction>,
}

/// The delimiters of the heredocs an instruction opens (`<<EOF`, `<<-EOF`, `<<'EOF'`).
fn heredoc_delimiters(args: &str) -> Vec<String> {
    let mut delimiters = Vec::new();
    let mut rest = args;
    while let Some(i) = rest.find("<<") {
        rest = &rest[i + 2..];
        let word = rest.trim_start_matches('-').trim_start_matches(['\'', '"']);
        let end = word
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(word.len());
        if end > 0 {
            delimiters.push(word[..end].to_owned());
        }
    }
    delimiters
}

fn dockerfile_instructions(text: &str) -> Vec<Instruction> {
    let mut out = Vec::new();
    let mut lines = text.lines().enumerate();
    while let Some((index, line)) = lines.next() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let mut logical = String::new();
        let mut current = line.to_owned();
        while let Some(head) = current.strip_suffix('\\') {
            logical.push_str(head.trim_end());
            logical.push(' ');
            current = loop {
                match lines.next() {
                    None => break String::new(),
                    Some((_, l)) if l.trim().starts_with('#') || l.trim().is_empty() => continue,
                    Some((_, l)) => break l.trim().to_owned(),
                }
            };
        }
        logical.push_str(&current);
        let (keyword, args) = logical
            .split_once(char::is_whitespace)
            .unwrap_or((&logical, ""));
        let mut args = args.trim().to_owned();
        let delimiters = heredoc_delimiters(&args);
        for delimiter in delimiters {
            for (_, body) in lines.by_ref() {
                if body.trim() == delimiter {
                    break;
                }
                args.push('\n');
                args.push_str(body);
            }
        }
        out.push(Instruction {
            keyword: keyword.to_ascii_uppercase(),
            args,
            line: index + 1,
        });
    }
    out
}

fn dockerfile_stages(text: &str) -> Vec<Stage> {
    let mut stages: Vec<Stage> = Vec::new();
    for instruction in dockerfile_instructions(text) {
        if instruction.keyword == "FROM" {
            let words: Vec<&str> = instruction
                .args
                .split_whitespace()
                .filter(|w| !w.starts_with("--"))
                .collect();
            let name = match words.as_slice() {
                [_, as_, name] if as_.eq_ignore_ascii_case("as") => Some((*name).to_owned()),
                _ => None,
            };
            stages.push(Stage {
                image: words.first().copied().unwrap_or_default().to_owned(),
                name,
                instructions: Vec::new(),
            });
        } else if let Some(stage) = stages.last_mut() {
            stage.instructions.push(instruction);
        }
    }
    stages
}

impl Stage {
    fn all(&self, keyword: &'static str) -> impl Iterator<Item = &Instruction> {
        self.instructions
            .iter()
            .filter(move |i| i.keyword == keyword)
    }

    fn last(&self, keyword: &'static str) -> Option<&Instruction> {
        self.all(keyword).last()
    }
}

/// An exec-form (JSON array) argument list.
fn exec_form(args: &str) -> Option<Vec<String>> {
    serde_json::from_str(args).ok()
}

/// `1.94` <= `1.94-bookworm`, numerically.
fn version_at_least(tag: &str, minimum: &str) -> bool {
    let numbers = |s: &str| -> Vec<u64> {
        s.split(['-', '_'])
            .next()
            .unwrap_or_default()
            .split('.')
            .map_while(|n| n.parse().ok())
            .collect()
    };
    let (have, need) = (numbers(tag), numbers(minimum));
    !have.is_empty() && have >= need
}

fn dockerfile_problems(text: &str, rust_version: &str) -> Vec<String> {
    let mut p = Problems::default();
    let stages = dockerfile_stages(text);
    p.check(stages.len() >= 2, || {
        format!(
            "{} FROM stage(s): a multi-stage build (builder, then slim runtime) needs at least 2",
            stages.len()
        )
    });
    let Some(last) = stages.last() else {
        p.push("no FROM instruction");
        return p.0;
    };

    // The builder: a Rust toolchain new enough for the workspace, a locked release build.
    match stages
        .iter()
        .find(|s| s.all("RUN").any(|r| r.args.contains("cargo build")))
    {
        None => p.push("no stage runs `cargo build`"),
        Some(builder) => {
            let (repo, tag) = image_parts(&builder.image);
            p.check(repo == "rust" && version_at_least(tag, rust_version), || {
                format!(
                    "builder image `{}` is not rust:{rust_version} or newer (workspace rust-version)",
                    builder.image
                )
            });
            let build = builder.all("RUN").find(|r| r.args.contains("cargo build"));
            let build = build.map(|r| r.args.as_str()).unwrap_or_default();
            for flag in ["--release", "--locked", "--bin rampart"] {
                p.check(build.contains(flag), || {
                    format!("builder: `cargo build` without `{flag}`")
                });
            }
            p.check(builder.all("RUN").any(|r| r.args.contains("--mount=type=cache")), || {
                "builder: no BuildKit cache mount (`RUN --mount=type=cache`) for registry and target"
                    .to_owned()
            });
            p.check(!std::ptr::eq(builder, last), || {
                "the final stage is the builder: the image would carry the whole toolchain"
                    .to_owned()
            });
            let builder_ref = builder.name.clone().unwrap_or_else(|| "0".to_owned());
            p.check(
                last.all("COPY").any(|c| {
                    c.args.contains(&format!("--from={builder_ref}")) && c.args.contains("rampart")
                }),
                || format!("final stage: no `COPY --from={builder_ref}` of the rampart binary"),
            );
        }
    }

    // The final stage runs as an unprivileged user that it creates.
    match last.last("USER") {
        None => p.push("final stage: no USER: the node would run as root"),
        Some(user) => {
            let name = user.args.split(':').next().unwrap_or_default().trim();
            p.check(!matches!(name, "" | "root" | "0"), || {
                format!(
                    "final stage: `USER {}` (line {}) is root",
                    user.args, user.line
                )
            });
            if !name.is_empty() && !name.chars().all(|c| c.is_ascii_digit()) {
                let creates = last.all("RUN").any(|r| {
                    (r.args.contains("useradd") || r.args.contains("adduser"))
                        && r.args.contains(name)
                        && r.args.contains("10001")
                });
                p.check(creates, || {
                    format!(
                        "final stage: no RUN creates the user `{name}` with the fixed uid/gid 10001"
                    )
                });
            }
        }
    }
    let installs = |package: &str| {
        last.all("RUN")
            .any(|r| r.args.contains("install") && r.args.contains(package))
    };
    p.check(installs("curl"), || {
        "final stage: curl (used by the HEALTHCHECK) is not installed".to_owned()
    });
    p.check(installs("ca-certificates"), || {
        "final stage: ca-certificates (TLS to the broker, the database and feeds) is not installed"
            .to_owned()
    });

    // The command: `rampart serve --listen 0.0.0.0:PORT`.
    let entrypoint = last.last("ENTRYPOINT").and_then(|e| exec_form(&e.args));
    p.check(
        entrypoint
            .as_deref()
            .is_some_and(|e| e.len() == 1 && (e[0] == "rampart" || e[0].ends_with("/rampart"))),
        || {
            format!(
                "final stage: ENTRYPOINT is not the exec form [\"rampart\"], got {entrypoint:?}"
            )
        },
    );
    let cmd = last.last("CMD").and_then(|c| exec_form(&c.args));
    let listen = match &cmd {
        None => {
            p.push("final stage: no exec-form CMD [\"serve\", ...]");
            None
        }
        Some(args) => serve_args_problems(&mut p, "Dockerfile CMD", args),
    };
    for env in last.all("ENV") {
        for name in env
            .args
            .split_whitespace()
            .filter_map(|w| w.split_once('=').map(|(k, _)| k))
        {
            if name.starts_with("RAMPART_") {
                p.check(is_known_variable(name), || {
                    format!(
                        "final stage: ENV `{name}` (line {}) is not a variable the node reads",
                        env.line
                    )
                });
            }
        }
    }
    let port = listen.map_or(8080, |l| l.port());
    p.check(
        last.all("EXPOSE").any(|e| {
            e.args
                .split_whitespace()
                .any(|w| w.split('/').next() == Some(&port.to_string()))
        }),
        || format!("final stage: no `EXPOSE {port}` (the listen port)"),
    );

    // Health: /readyz, failing on a 503.
    match last.last("HEALTHCHECK") {
        None => p.push("final stage: no HEALTHCHECK (it must probe /readyz)"),
        Some(hc) => {
            let body = hc
                .args
                .split_once("CMD")
                .map(|(_, c)| c.trim())
                .unwrap_or_default();
            let words = exec_form(body)
                .unwrap_or_else(|| body.split_whitespace().map(str::to_owned).collect());
            p.check(words.iter().any(|w| w.contains("/readyz")), || {
                format!(
                    "final stage: HEALTHCHECK `{}` does not probe /readyz",
                    hc.args
                )
            });
            p.check(curl_fails_on_http_errors(&words), || {
                format!(
                    "final stage: HEALTHCHECK `{}` must run `curl -f` (503 = unhealthy)",
                    hc.args
                )
            });
            if let Some(url) = words.iter().find(|w| w.contains("/readyz")) {
                p.check(parse_url(url).and_then(|u| u.port) == Some(port), || {
                    format!("final stage: HEALTHCHECK URL `{url}` is not on the listen port {port}")
                });
            }
        }
    }

    // config/default.toml is read from the working directory.
    match last.last("WORKDIR") {
        None => p.push("final stage: no WORKDIR: config/default.toml would not be found"),
        Some(workdir) => {
            let dir = workdir.args.trim_end_matches('/');
            let config_copied = last.all("COPY").any(|c| {
                let words: Vec<&str> = c
                    .args
                    .split_whitespace()
                    .filter(|w| !w.starts_with("--"))
                    .collect();
                match words.as_slice() {
                    [sources @ .., dest] => {
                        let dest = dest.trim_end_matches('/');
                        sources.iter().any(|s| s.trim_end_matches('/') == "config")
                            && (dest == format!("{dir}/config")
                                || dest == "config"
                                || dest == "./config")
                    }
                    [] => false,
                }
            });
            p.check(config_copied, || {
                format!("final stage: config/ is not copied to {dir}/config (the WORKDIR)")
            });
        }
    }
    p.0
}

// ---------------------------------------------------------------------------------------------
// The binary
// ---------------------------------------------------------------------------------------------

/// Runs the real `rampart` in the workspace root (like the image's WORKDIR, with config/), with
/// only `env` among the `RAMPART_*` variables.
fn run_rampart(args: &[String], env: &BTreeMap<String, Option<String>>) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_rampart"));
    cmd.args(args)
        .current_dir(root())
        .env("RUST_BACKTRACE", "0");
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("RAMPART_") {
            cmd.env_remove(name);
        }
    }
    for (name, value) in env {
        cmd.env(name, value.as_deref().unwrap_or_default());
    }
    cmd.output().expect("the rampart binary runs")
}

/// `rampart config` with a `serve` command line: the effective configuration, or why it failed.
fn effective_config(
    serve_args: &[String],
    env: &BTreeMap<String, Option<String>>,
) -> Result<toml::Table, String> {
    let mut args = vec!["config".to_owned()];
    args.extend(serve_args.iter().skip(1).cloned());
    let out = run_rampart(&args, env);
    let stdout = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        return Err(format!(
            "`rampart {}` fails: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr)
                .lines()
                .next()
                .unwrap_or_default()
        ));
    }
    toml::from_str(&stdout)
        .map_err(|e| format!("`rampart {}` printed no TOML: {e}", args.join(" ")))
}

/// The URL's parts that identify the server and account (the password may be printed as ***).
fn url_identity(url: &str) -> Option<(String, String, String, Option<u16>, String)> {
    parse_url(url).map(|u| (u.scheme, u.user, u.host, u.port, u.path))
}

// ---------------------------------------------------------------------------------------------
// Tests of the shipped files
// ---------------------------------------------------------------------------------------------

#[test]
fn compose_file_has_the_expected_structure() {
    assert_no_problems(COMPOSE, &compose_problems(&compose_doc()));
}

#[test]
fn compose_file_runs_a_broker_a_database_and_three_nodes() {
    let doc = compose_doc();
    let services = doc["services"].as_object().expect("services is a mapping");
    assert!(
        services.contains_key(BROKER),
        "{COMPOSE}: no `{BROKER}` service"
    );
    assert!(
        services.contains_key(DATABASE),
        "{COMPOSE}: no `{DATABASE}` service"
    );
    let nodes = rampart_nodes(&doc);
    assert!(
        nodes.len() >= 3,
        "{COMPOSE}: {} rampart nodes, at least 3 expected",
        nodes.len()
    );
    let image = doc["services"][BROKER]["image"]
        .as_str()
        .unwrap_or_default();
    assert!(
        image.contains("management"),
        "{COMPOSE}: broker image `{image}` lacks the management plugin"
    );
}

#[test]
fn dockerfile_has_the_expected_structure() {
    assert_no_problems(
        DOCKERFILE,
        &dockerfile_problems(&read(DOCKERFILE), &workspace_rust_version()),
    );
}

#[test]
fn dockerignore_keeps_build_output_and_history_out_of_the_context() {
    let text = read(DOCKERIGNORE);
    let patterns: BTreeSet<&str> = text
        .lines()
        .map(|l| l.trim().trim_end_matches('/'))
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect();
    for needed in ["target", ".git", "data", "*.sqlite"] {
        assert!(
            patterns.contains(needed),
            "{DOCKERIGNORE}: `{needed}` is not excluded, got {patterns:?}"
        );
    }
}

/// The flag and variable names the deployment files use are the ones the binary has.
#[test]
fn serve_flags_and_variables_are_the_binarys() {
    let out = run_rampart(&["serve".to_owned(), "--help".to_owned()], &BTreeMap::new());
    assert!(out.status.success(), "`rampart serve --help` fails");
    let help = String::from_utf8_lossy(&out.stdout);
    for flag in SERVE_FLAGS {
        assert!(
            help.split_whitespace().any(|w| w == *flag),
            "`rampart serve --help` has no `{flag}`:\n{help}"
        );
    }
    assert!(
        help.contains("RAMPART_AMQP_URL"),
        "`rampart serve --help` does not name the variable RAMPART_AMQP_URL:\n{help}"
    );
    // The names of the brief, exactly.
    for flag in ["--services", "--amqp-url", "--node-id", "--listen"] {
        assert!(
            SERVE_FLAGS.contains(&flag),
            "{flag} is not among the checked serve flags"
        );
    }
}

/// Each node's command and environment, given to `rampart config`, yield the node they describe:
/// the binary rejects unknown flags and unknown `RAMPART_<SECTION>__<KEY>` variables.
#[test]
fn node_commands_and_environments_are_accepted_by_the_binary() {
    let doc = compose_doc();
    let nodes = rampart_nodes(&doc);
    assert!(!nodes.is_empty(), "{COMPOSE}: no rampart nodes");
    for (name, node) in nodes {
        let args = command(node).unwrap_or_default();
        let env = environment(node);
        let cfg = effective_config(&args, &env).unwrap_or_else(|e| panic!("node `{name}`: {e}"));
        let get = |section: &str, key: &str| cfg.get(section).and_then(|s| s.get(key)).cloned();
        assert_eq!(
            get("node", "id").and_then(|v| v.as_str().map(str::to_owned)),
            flag_value(&args, "--node-id"),
            "node `{name}`: node.id is not its --node-id"
        );
        let services: Vec<String> = flag_value(&args, "--services")
            .unwrap_or_default()
            .split(',')
            .map(str::to_owned)
            .collect();
        assert_eq!(
            get("node", "services"),
            Some(toml::Value::Array(
                services.into_iter().map(toml::Value::String).collect()
            )),
            "node `{name}`: node.services is not its --services"
        );
        assert_eq!(
            get("http", "listen").and_then(|v| v.as_str().map(str::to_owned)),
            flag_value(&args, "--listen"),
            "node `{name}`: http.listen is not its --listen"
        );
        for (section, key, var) in [
            ("bus", "amqp_url", "RAMPART_AMQP_URL"),
            ("database", "url", "RAMPART_DATABASE__URL"),
        ] {
            let effective = get(section, key)
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default();
            let given = env_value(node, var).unwrap_or_default();
            assert!(
                url_identity(&effective).is_some()
                    && url_identity(&effective) == url_identity(&given),
                "node `{name}`: {section}.{key} is `{effective}`, not {var} `{given}`"
            );
        }
    }
}

#[test]
fn dockerfile_command_is_accepted_by_the_binary() {
    let stages = dockerfile_stages(&read(DOCKERFILE));
    let last = stages.last().expect("Dockerfile has a stage");
    let cmd = last
        .last("CMD")
        .and_then(|c| exec_form(&c.args))
        .expect("an exec-form CMD");
    let env: BTreeMap<String, Option<String>> = last
        .all("ENV")
        .flat_map(|e| e.args.split_whitespace().filter_map(|w| w.split_once('=')))
        .map(|(k, v)| (k.to_owned(), Some(v.to_owned())))
        .collect();
    let cfg = effective_config(&cmd, &env).unwrap_or_else(|e| panic!("Dockerfile CMD: {e}"));
    assert_eq!(
        cfg["http"]["listen"].as_str(),
        flag_value(&cmd, "--listen").as_deref(),
        "Dockerfile CMD: http.listen is not its --listen"
    );
}

// ---------------------------------------------------------------------------------------------
// The checkers find the problems of broken copies
// ---------------------------------------------------------------------------------------------

fn broken_compose(change: impl FnOnce(&mut Value)) -> Vec<String> {
    let mut doc = compose_doc();
    change(&mut doc);
    compose_problems(&doc)
}

fn service_mut<'a>(doc: &'a mut Value, name: &str) -> &'a mut Value {
    doc.pointer_mut(&format!("/services/{name}"))
        .unwrap_or_else(|| panic!("{COMPOSE} has a service `{name}`"))
}

fn set_flag(doc: &mut Value, service: &str, flag: &str, value: &str) {
    let cmd = service_mut(doc, service)["command"]
        .as_array_mut()
        .expect("a list command");
    let i = cmd
        .iter()
        .position(|w| w == flag)
        .unwrap_or_else(|| panic!("{service} has {flag}"));
    cmd[i + 1] = json!(value);
}

/// The first node that runs the risk service, and the one that runs the asset service.
fn node_named(doc: &Value, role: &str, nth: usize) -> String {
    rampart_nodes(doc)
        .into_iter()
        .filter(|(_, n)| {
            command(n)
                .and_then(|c| flag_value(&c, "--services"))
                .is_some_and(|s| s.split(',').any(|r| r == role))
        })
        .nth(nth)
        .map(|(name, _)| name.to_owned())
        .unwrap_or_else(|| panic!("{COMPOSE}: no node #{nth} with role {role}"))
}

#[test]
fn yaml_with_a_duplicate_key_is_rejected() {
    let err = parse_yaml("services:\n  a:\n    image: x\n    image: y\n");
    assert!(
        err.is_err(),
        "a duplicated key must not parse (Compose rejects it): {err:?}"
    );
}

#[test]
fn a_node_without_healthcheck_is_reported() {
    let doc = compose_doc();
    let risk = node_named(&doc, "risk", 1);
    let problems = broken_compose(|d| {
        service_mut(d, &risk)
            .as_object_mut()
            .unwrap()
            .remove("healthcheck");
    });
    assert_reported(&problems, &[&risk, "no healthcheck"]);
}

#[test]
fn a_healthcheck_on_another_path_or_without_fail_is_reported() {
    let doc = compose_doc();
    let asset = node_named(&doc, "asset", 0);
    let problems = broken_compose(|d| {
        service_mut(d, &asset)["healthcheck"]["test"] =
            json!(["CMD", "curl", "-s", "http://127.0.0.1:8080/livez"]);
    });
    assert_reported(&problems, &[&asset, "does not probe /readyz"]);
    assert_reported(&problems, &[&asset, "curl -f"]);
}

#[test]
fn a_disabled_broker_healthcheck_is_reported() {
    let problems = broken_compose(|d| {
        service_mut(d, BROKER)["healthcheck"] = json!({ "disable": true });
    });
    assert_reported(&problems, &[BROKER, "rabbitmq-diagnostics"]);
}

#[test]
fn a_dependency_that_is_only_started_is_reported() {
    let doc = compose_doc();
    let risk = node_named(&doc, "risk", 0);
    let problems = broken_compose(|d| {
        service_mut(d, &risk)["depends_on"][BROKER]["condition"] = json!("service_started");
    });
    assert_reported(&problems, &[&risk, BROKER, "service_healthy"]);
    let problems = broken_compose(|d| {
        service_mut(d, &risk)["depends_on"] = json!([BROKER, DATABASE]);
    });
    assert_reported(&problems, &[&risk, DATABASE, "service_healthy"]);
}

#[test]
fn a_missing_restart_or_build_is_reported() {
    let doc = compose_doc();
    let risk = node_named(&doc, "risk", 0);
    let problems = broken_compose(|d| {
        let node = service_mut(d, &risk).as_object_mut().unwrap();
        node.remove("restart");
        node.remove("build");
    });
    assert_reported(&problems, &[&risk, "restart"]);
    assert_reported(&problems, &[&risk, "no `build`"]);
}

#[test]
fn a_missing_broker_or_database_is_reported() {
    let problems = broken_compose(|d| {
        let services = d["services"].as_object_mut().unwrap();
        services.remove(BROKER);
        services.remove(DATABASE);
    });
    assert_reported(&problems, &["no `rabbitmq` service"]);
    assert_reported(&problems, &["no `postgres` service"]);
    let problems = broken_compose(|d| service_mut(d, BROKER)["image"] = json!("rabbitmq:4"));
    assert_reported(&problems, &[BROKER, "management"]);
}

#[test]
fn urls_that_miss_the_broker_or_the_database_are_reported() {
    let doc = compose_doc();
    let asset = node_named(&doc, "asset", 0);
    let problems = broken_compose(|d| {
        let env = &mut service_mut(d, &asset)["environment"];
        env["RAMPART_AMQP_URL"] = json!("amqp://guest:guest@localhost:5672/%2f");
        env["RAMPART_DATABASE__URL"] = json!("postgres://rampart:wrong@postgres:5432/rampart");
    });
    assert_reported(
        &problems,
        &[
            &asset,
            "RAMPART_AMQP_URL",
            "does not point at the `rabbitmq` service",
        ],
    );
    assert_reported(
        &problems,
        &[&asset, "RAMPART_AMQP_URL", "a broker user of its own"],
    );
    assert_reported(&problems, &[&asset, "RAMPART_AMQP_URL", "has a password"]);
    assert_reported(
        &problems,
        &[&asset, "RAMPART_DATABASE__URL", "POSTGRES_USER/PASSWORD/DB"],
    );
    let risk = node_named(&doc, "risk", 0);
    let problems = broken_compose(|d| {
        let url = env_value(service_mut(d, &risk), "RAMPART_AMQP_URL").unwrap();
        service_mut(d, &asset)["environment"]["RAMPART_AMQP_URL"] = json!(url);
        service_mut(d, &asset)
            .as_object_mut()
            .unwrap()
            .remove("secrets");
    });
    assert_reported(&problems, &["broker user", "each node has its own"]);
    assert_reported(
        &problems,
        &[
            &asset,
            "RAMPART_BUS__AMQP_PASSWORD_FILE",
            "not one of its `secrets`",
        ],
    );
    let problems = broken_compose(|d| {
        let env = service_mut(d, &asset)["environment"]
            .as_object_mut()
            .unwrap();
        env.remove("RAMPART_AMQP_URL");
        env.insert(
            "RAMPART_AMQPURL".to_owned(),
            json!("amqp://rampart:rampart@rabbitmq/%2f"),
        );
    });
    assert_reported(&problems, &[&asset, "RAMPART_AMQP_URL is not set"]);
    assert_reported(
        &problems,
        &[&asset, "RAMPART_AMQPURL", "not a variable the node reads"],
    );
}

#[test]
fn bad_node_commands_are_reported() {
    let doc = compose_doc();
    let asset = node_named(&doc, "asset", 0);
    let problems = broken_compose(|d| {
        service_mut(d, &asset)["command"] =
            json!(["serve", "--listen", "127.0.0.1:8080", "--service", "asset"]);
    });
    assert_reported(&problems, &[&asset, "unknown flag `--service`"]);
    assert_reported(&problems, &[&asset, "0.0.0.0"]);
    assert_reported(&problems, &[&asset, "--node-id"]);
    assert_reported(&problems, &[&asset, "--services LIST"]);
}

#[test]
fn duplicate_node_ids_and_host_ports_are_reported() {
    let doc = compose_doc();
    let (first, second) = (node_named(&doc, "risk", 0), node_named(&doc, "risk", 1));
    let first_port = ports(&doc["services"][&first]).unwrap()[0]
        .host
        .unwrap()
        .to_string();
    let problems = broken_compose(|d| {
        set_flag(d, &second, "--node-id", &first);
        service_mut(d, &second)["ports"] = json!([format!("{first_port}:8080")]);
    });
    assert_reported(&problems, &[&format!("--node-id {first}"), "unique"]);
    assert_reported(&problems, &[&format!("host port {first_port}"), "unique"]);
}

#[test]
fn roles_without_competing_consumers_or_without_risk_are_reported() {
    let doc = compose_doc();
    let risk_nodes: Vec<String> = (0..2).map(|i| node_named(&doc, "risk", i)).collect();
    let problems = broken_compose(|d| {
        set_flag(d, &risk_nodes[0], "--services", "control");
        set_flag(d, &risk_nodes[1], "--services", "incident");
    });
    assert_reported(&problems, &["no node runs the `risk` service"]);
    assert_reported(&problems, &["competing consumers"]);
}

#[test]
fn fewer_than_three_nodes_or_an_obsolete_version_key_are_reported() {
    let doc = compose_doc();
    let risk = node_named(&doc, "risk", 1);
    let problems = broken_compose(|d| {
        d["services"].as_object_mut().unwrap().remove(&risk);
        d.as_object_mut()
            .unwrap()
            .insert("version".to_owned(), json!("3.8"));
    });
    assert_reported(&problems, &["at least 3 are needed"]);
    assert_reported(&problems, &["`version` is obsolete"]);
}

fn broken_dockerfile(change: impl FnOnce(String) -> String) -> Vec<String> {
    dockerfile_problems(&change(read(DOCKERFILE)), &workspace_rust_version())
}

fn without_lines_starting(text: &str, prefix: &str) -> String {
    let kept: Vec<&str> = text.lines().filter(|l| !l.starts_with(prefix)).collect();
    assert!(
        kept.len() < text.lines().count(),
        "{DOCKERFILE} has a line starting with {prefix:?}"
    );
    kept.join("\n")
}

#[test]
fn a_dockerfile_running_as_root_is_reported() {
    let problems = broken_dockerfile(|t| without_lines_starting(&t, "USER "));
    assert_reported(&problems, &["no USER"]);
    let problems = broken_dockerfile(|t| without_lines_starting(&t, "USER ") + "\nUSER root\n");
    assert_reported(&problems, &["`USER root`", "is root"]);
}

#[test]
fn a_dockerfile_without_readyz_healthcheck_is_reported() {
    let problems = broken_dockerfile(|t| t.replace("/readyz", "/livez"));
    assert_reported(&problems, &["HEALTHCHECK", "does not probe /readyz"]);
    let problems = broken_dockerfile(|t| without_lines_starting(&t, "HEALTHCHECK"));
    assert_reported(&problems, &["no HEALTHCHECK"]);
}

#[test]
fn a_single_stage_dockerfile_is_reported() {
    let problems = broken_dockerfile(|t| {
        let runtime = t.rfind("\nFROM ").expect("a second FROM");
        t[..runtime].to_owned()
    });
    assert_reported(&problems, &["1 FROM stage(s)"]);
    assert_reported(&problems, &["the final stage is the builder"]);
}

#[test]
fn a_dockerfile_with_wrong_flags_or_an_old_toolchain_is_reported() {
    let problems = broken_dockerfile(|t| {
        t.replace(
            r#"CMD ["serve", "--listen", "0.0.0.0:8080"]"#,
            r#"CMD ["serve", "--listen", "0.0.0.0:8080", "--amqp", "amqp://x"]"#,
        )
        .replace("FROM rust:1.94.1-bookworm", "FROM rust:1.80-bookworm")
    });
    assert_reported(&problems, &["unknown flag `--amqp`"]);
    assert_reported(&problems, &["builder image `rust:1.80-bookworm`"]);
}

#[test]
fn the_dockerfile_parser_skips_heredoc_bodies_and_joins_continuations() {
    let stages = dockerfile_stages(
        "# c\nFROM a AS b\nRUN <<'EOF'\nUSER root\nFROM x\nEOF\nRUN one \\\n  # note\n  two\nFROM c\nUSER u\n",
    );
    assert_eq!(stages.len(), 2, "{stages:#?}");
    assert_eq!(stages[0].name.as_deref(), Some("b"));
    let runs: Vec<&str> = stages[0].all("RUN").map(|r| r.args.as_str()).collect();
    assert_eq!(runs, ["<<'EOF'\nUSER root\nFROM x", "one two"]);
    assert!(stages[0].last("USER").is_none());
    assert_eq!(stages[1].last("USER").map(|u| u.args.as_str()), Some("u"));
}
