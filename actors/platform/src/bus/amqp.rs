//! The RabbitMQ transport of the bus (lapin), chosen with `--amqp-url` / `RAMPART_AMQP_URL`.
//!
//! # Topology (declared idempotently at every (re)connection, by every node)
//! Names start with the namespace `NS` (default `rampart`, [`AmqpConfig::namespace`]).
//! - `NS.events`: a durable **topic exchange**; routing key = event type.
//! - per service `S` of [`TOPOLOGY`]: a durable **quorum queue** `NS.S`, bound to the event
//!   types `S` consumes, with `x-dead-letter-exchange = NS.dlx` and
//!   `x-dead-letter-routing-key = S`; `NS.dlx` (direct, durable) routes to the **dead-letter
//!   queue** `NS.S.dlq` (quorum). Every node declares every service's queue, whatever its
//!   roles, so an event published before any consumer of it started is kept, not dropped.
//! - With least-privilege broker users ([`super::permissions`]), a node may re-declare another
//!   role's queue but not *create* it: RabbitMQ requires read on a queue to create it with a
//!   dead-letter exchange. Such a refusal (`ACCESS_REFUSED`) is logged and skipped (the queue
//!   and its bindings are left to the nodes of that role, or to the administrator, who can
//!   pre-declare the topology: `config/rabbitmq/definitions.json`); every other refusal fails
//!   the connection.
//!
//! # Credentials and TLS
//! The URL carries the user (and password, unless [`AmqpConfig::password_file`] holds it: a
//! Docker secret). `amqps://` URLs use rustls (ring): the broker's certificate is checked
//! against the platform's roots plus [`AmqpConfig::tls_ca_file`]; a client certificate
//! ([`AmqpConfig::tls_client_cert_file`] + [`AmqpConfig::tls_client_key_file`]) is presented
//! when set (RabbitMQ's EXTERNAL mechanism with `?auth_mechanism=external` in the URL). The
//! files are read at every connection; errors name the file, never its content.
//!
//! # Publishing
//! Persistent messages (`delivery_mode` 2) on a channel in **publisher confirm** mode: a publish
//! succeeds only when the broker confirmed it (the outbox row is marked published after that).
//! Headers carry the W3C `traceparent`, the correlation id (`x-correlation-id`, also the AMQP
//! `correlation_id` property) and the source node.
//!
//! # Consuming
//! Manual acknowledgements, sent by the consumer after the handler's effect is committed;
//! bounded **prefetch** (`basic.qos`); the delivery count comes from the quorum queue's
//! `x-delivery-count` header. Replicas of a service consume the same queue (competing consumers).
//!
//! # Connection loss
//! lapin 4 does not reconnect by itself. [`AmqpBus::run_link`] (run by the supervised `amqp-link`
//! actor) connects, declares the topology, publishes the link, then waits for the connection to
//! fail; it reconnects with exponential backoff (100 ms doubling to 10 s, with jitter: the
//! `backon` crate), and consumers re-open their channel on the new link. While there is no link,
//! publishing fails (the outbox keeps the events) and [`AmqpBus::is_connected`] is false, which
//! the link actor's readiness probe reports (`/readyz` 503).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use futures::StreamExt;
use lapin::options::{
    BasicAckOptions, BasicConsumeOptions, BasicNackOptions, BasicPublishOptions, BasicQosOptions,
    ConfirmSelectOptions, ExchangeDeclareOptions, QueueBindOptions, QueueDeclareOptions,
};
use lapin::tcp::{OwnedIdentity, OwnedTLSConfig};
use lapin::types::{AMQPValue, FieldTable, LongString, ShortString};
use lapin::{BasicProperties, Channel, Connection, ConnectionProperties, ExchangeKind};
use tokio::sync::{Mutex, watch};

use super::any::PublishError;
use super::envelope::{BusError, Envelope};

/// Default namespace: the prefix of every exchange and queue name.
pub const DEFAULT_NAMESPACE: &str = "rampart";

/// The services and the event types (topic patterns) each consumes: the static topology every
/// node declares.
pub const TOPOLOGY: &[(&str, &[&str])] = &[
    ("risk", &["asset.*"]),
    ("control", &["risk.*"]),
    ("incident", &["risk.*", "alarm.*"]),
    ("audit", &["#"]),
];

/// The domain-event exchange of namespace `ns`: `<ns>.events`.
pub fn exchange_name(ns: &str) -> String {
    format!("{ns}.events")
}

/// The dead-letter exchange of namespace `ns`: `<ns>.dlx`.
pub fn dlx_name(ns: &str) -> String {
    format!("{ns}.dlx")
}

/// The queue of a service: `<ns>.<service>`.
pub fn queue_name(ns: &str, service: &str) -> String {
    format!("{ns}.{service}")
}

/// The request queue of a service's request/reply endpoint: `<ns>.rpc.<service>`.
pub fn rpc_queue_name(ns: &str, service: &str) -> String {
    format!("{ns}.rpc.{service}")
}

/// Services answering requests over RabbitMQ (request/reply).
pub const RPC_SERVICES: &[&str] = &["risk"];

/// How long a request waits in its queue before the broker drops it, ms (the caller has given
/// up long before).
pub const RPC_TTL_MS: u32 = 30_000;

/// Longest wait for the broker's answer to one step of [`AmqpBus::queue_stats`] (5 s).
pub const QUEUE_STATS_TIMEOUT: Duration = Duration::from_secs(5);

/// The dead-letter queue of a service: `<ns>.<service>.dlq`.
pub fn dlq_name(ns: &str, service: &str) -> String {
    format!("{ns}.{service}.dlq")
}

/// Settings of the RabbitMQ transport.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AmqpConfig {
    /// `amqp://user:pass@host:port/vhost` (vhost `/` written `%2f`).
    pub url: String,
    /// Prefix of every exchange and queue name (default `rampart`), so that several deployments
    /// (or test runs) can share one broker.
    pub namespace: String,
    /// Unacknowledged deliveries a consumer holds at most (`basic.qos` prefetch). Default 64.
    pub prefetch: u16,
    /// Deliveries of one message before the consumer dead-letters it; the quorum queues'
    /// `x-delivery-limit` is set one above, as a backstop for consumers that crash before
    /// deciding. Default 5.
    pub max_deliveries: u32,
    /// Longest wait for a publisher confirm, ms. Default 10 000.
    pub confirm_timeout_ms: u64,
    /// First reconnection delay, ms (doubling, with jitter). Default 100.
    pub reconnect_initial_ms: u64,
    /// Largest reconnection delay, ms. Default 10 000.
    pub reconnect_max_ms: u64,
    /// A file holding the password of the URL's user (a Docker secret, `/run/secrets/...`): the
    /// URL then names the user without a password. Read at every connection; trailing whitespace
    /// (the final newline) is dropped. Default: none (the password is in the URL).
    pub password_file: Option<PathBuf>,
    /// `amqps://` only: PEM file of the CA certificate(s) the broker's certificate chains to,
    /// trusted besides the platform's roots. Default: none.
    pub tls_ca_file: Option<PathBuf>,
    /// `amqps://` only: PEM file of the client certificate (then its intermediates) presented to
    /// the broker, e.g. for RabbitMQ's EXTERNAL mechanism (`?auth_mechanism=external`). Needs
    /// [`AmqpConfig::tls_client_key_file`]. Default: none.
    pub tls_client_cert_file: Option<PathBuf>,
    /// `amqps://` only: PEM file of the client certificate's private key (PKCS#8, SEC1 or
    /// PKCS#1, unencrypted). Default: none.
    pub tls_client_key_file: Option<PathBuf>,
}

impl Default for AmqpConfig {
    fn default() -> Self {
        Self {
            url: "amqp://guest:guest@127.0.0.1:5672/%2f".to_owned(),
            namespace: DEFAULT_NAMESPACE.to_owned(),
            prefetch: 64,
            max_deliveries: 5,
            confirm_timeout_ms: 10_000,
            reconnect_initial_ms: 100,
            reconnect_max_ms: 10_000,
            password_file: None,
            tls_ca_file: None,
            tls_client_cert_file: None,
            tls_client_key_file: None,
        }
    }
}

/// Whether `url` is an `amqps://` URL.
fn is_amqps(url: &str) -> bool {
    url.trim()
        .get(..8)
        .is_some_and(|scheme| scheme.eq_ignore_ascii_case("amqps://"))
}

/// Whether the URL's authority has a password (`user:pass@`).
fn url_has_password(url: &str) -> bool {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    authority
        .rsplit_once('@')
        .is_some_and(|(userinfo, _)| userinfo.contains(':'))
}

/// Reads a PEM file of the TLS settings, checking that it holds a block labelled with one of
/// `labels`; errors name `what` and the file, never its content.
fn read_pem(path: &Path, what: &str, labels: &[&str]) -> Result<Vec<u8>, BusError> {
    let bytes = std::fs::read(path)
        .map_err(|e| BusError::Broker(format!("reading the {what} `{}`: {e}", path.display())))?;
    let text = String::from_utf8_lossy(&bytes);
    if text.contains("-----BEGIN ENCRYPTED PRIVATE KEY-----") {
        return Err(BusError::Broker(format!(
            "the {what} `{}` is encrypted: give an unencrypted key",
            path.display()
        )));
    }
    let found = labels
        .iter()
        .any(|l| text.contains(&format!("-----BEGIN {l}-----")));
    if !found {
        return Err(BusError::Broker(format!(
            "the {what} `{}` holds no PEM block ({})",
            path.display(),
            labels.join(", ")
        )));
    }
    Ok(bytes)
}

/// The TLS settings of `cfg` for lapin, read from their files now.
fn tls_config(cfg: &AmqpConfig) -> Result<OwnedTLSConfig, BusError> {
    let any = cfg.tls_ca_file.is_some()
        || cfg.tls_client_cert_file.is_some()
        || cfg.tls_client_key_file.is_some();
    if !any {
        return Ok(OwnedTLSConfig::default());
    }
    if !is_amqps(&cfg.url) {
        return Err(BusError::Broker(
            "tls_ca_file / tls_client_cert_file / tls_client_key_file are set but the URL is not \
             amqps://: they would be ignored and the connection unencrypted"
                .to_owned(),
        ));
    }
    let cert_chain = match &cfg.tls_ca_file {
        Some(p) => Some(
            String::from_utf8(read_pem(p, "TLS CA file", &["CERTIFICATE"])?).map_err(|_| {
                BusError::Broker(format!(
                    "the TLS CA file `{}` is not UTF-8 PEM",
                    p.display()
                ))
            })?,
        ),
        None => None,
    };
    let identity = match (&cfg.tls_client_cert_file, &cfg.tls_client_key_file) {
        (Some(cert), Some(key)) => Some(OwnedIdentity::PKCS8 {
            pem: read_pem(cert, "TLS client certificate file", &["CERTIFICATE"])?,
            key: read_pem(
                key,
                "TLS client key file",
                &["PRIVATE KEY", "RSA PRIVATE KEY", "EC PRIVATE KEY"],
            )?,
        }),
        (None, None) => None,
        _ => {
            return Err(BusError::Broker(
                "tls_client_cert_file and tls_client_key_file go together: set both or neither"
                    .to_owned(),
            ));
        }
    };
    Ok(OwnedTLSConfig {
        identity,
        cert_chain,
    })
}

/// Where the TLS material of `cfg` comes from, for error messages (file names only).
fn tls_context(cfg: &AmqpConfig) -> String {
    let mut parts = Vec::new();
    if let Some(p) = &cfg.tls_ca_file {
        parts.push(format!("CA file `{}`", p.display()));
    }
    if let Some(p) = &cfg.tls_client_cert_file {
        parts.push(format!("client certificate `{}`", p.display()));
    }
    if parts.is_empty() {
        String::new()
    } else {
        format!(" (TLS with {})", parts.join(", "))
    }
}

/// Opens a connection as `cfg` says: the URL, the password from
/// [`AmqpConfig::password_file`] if set, TLS from the `tls_*` files for `amqps://`. The files
/// are read now (so replaced certificates or rotated passwords are used by the next connection).
///
/// # Errors
/// [`BusError::Broker`]: an unreadable or malformed file (named, its content never shown),
/// inconsistent settings, or the connection's failure (refused, TLS handshake, authentication).
pub async fn connect(cfg: &AmqpConfig) -> Result<Connection, BusError> {
    let tls = tls_config(cfg)?;
    let mut uri: lapin::uri::AMQPUri = cfg
        .url
        .trim()
        .parse()
        .map_err(|e| BusError::Broker(format!("the AMQP URL does not parse: {e}")))?;
    if let Some(p) = &cfg.password_file {
        if url_has_password(&cfg.url) {
            return Err(BusError::Broker(format!(
                "both the AMQP URL and the password file `{}` give a password: keep one",
                p.display()
            )));
        }
        let raw = std::fs::read_to_string(p).map_err(|e| {
            BusError::Broker(format!(
                "reading the AMQP password file `{}`: {e}",
                p.display()
            ))
        })?;
        // As `rabbitmqctl add_user` reading the password from stdin: trailing whitespace is not
        // part of it.
        let password = raw.trim_end();
        if password.is_empty() {
            return Err(BusError::Broker(format!(
                "the AMQP password file `{}` is empty",
                p.display()
            )));
        }
        uri.authority.userinfo.password = password.to_owned();
    }
    let runtime = lapin::runtime::default_runtime().map_err(broker)?;
    Connection::connect_uri_with_config(uri, ConnectionProperties::default(), tls, runtime)
        .await
        .map_err(|e| BusError::Broker(format!("connecting to RabbitMQ{}: {e}", tls_context(cfg))))
}

/// Whether `e` is the broker's `ACCESS_REFUSED` (403): the user lacks a permission.
pub fn is_access_refused(e: &lapin::Error) -> bool {
    matches!(e.kind(), lapin::ErrorKind::ProtocolError(a) if a.get_id() == 403)
}

/// One established connection with its confirm-mode publishing channel.
#[derive(Clone)]
struct Link {
    conn: Arc<Connection>,
    publish: Arc<Mutex<Channel>>,
    generation: u64,
}

struct Inner {
    cfg: AmqpConfig,
    node: String,
    link: watch::Sender<Option<Link>>,
    connects: AtomicU64,
    rpc: Mutex<Option<RpcClient>>,
}

type Pending =
    Arc<std::sync::Mutex<std::collections::HashMap<String, tokio::sync::oneshot::Sender<Vec<u8>>>>>;

/// The caller side of request/reply on one link: a channel consuming RabbitMQ's direct
/// reply-to pseudo-queue, and the calls waiting for their answer by correlation id.
struct RpcClient {
    generation: u64,
    channel: Channel,
    pending: Pending,
    _reader: tokio::task::JoinHandle<()>,
}

/// The RabbitMQ bus. Cheap to clone (shared).
#[derive(Clone)]
pub struct AmqpBus {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for AmqpBus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AmqpBus")
            .field("node", &self.inner.node)
            .field("connected", &self.is_connected())
            .finish()
    }
}

fn broker(e: impl std::fmt::Display) -> BusError {
    BusError::Broker(e.to_string())
}

fn long(s: &str) -> AMQPValue {
    AMQPValue::LongString(LongString::from(s.as_bytes().to_vec()))
}

fn header_str(headers: &FieldTable, key: &str) -> Option<String> {
    headers
        .inner()
        .get(&ShortString::from(key))
        .and_then(|v| match v {
            AMQPValue::LongString(s) => Some(String::from_utf8_lossy(s.as_bytes()).into_owned()),
            AMQPValue::ShortString(s) => Some(s.as_str().to_owned()),
            _ => None,
        })
}

fn header_u64(headers: &FieldTable, key: &str) -> Option<u64> {
    headers
        .inner()
        .get(&ShortString::from(key))
        .and_then(|v| match v {
            AMQPValue::LongLongInt(n) => u64::try_from(*n).ok(),
            AMQPValue::LongInt(n) => u64::try_from(*n).ok(),
            AMQPValue::LongUInt(n) => Some(u64::from(*n)),
            AMQPValue::ShortInt(n) => u64::try_from(*n).ok(),
            AMQPValue::ShortUInt(n) => Some(u64::from(*n)),
            AMQPValue::ShortShortInt(n) => u64::try_from(*n).ok(),
            AMQPValue::ShortShortUInt(n) => Some(u64::from(*n)),
            _ => None,
        })
}

impl AmqpBus {
    /// A bus for node `node`; nothing is connected until [`AmqpBus::run_link`] runs.
    pub fn new(cfg: AmqpConfig, node: &str) -> Self {
        let (link, _) = watch::channel(None);
        Self {
            inner: Arc::new(Inner {
                cfg,
                node: node.to_owned(),
                link,
                connects: AtomicU64::new(0),
                rpc: Mutex::new(None),
            }),
        }
    }

    /// The settings.
    pub fn config(&self) -> &AmqpConfig {
        &self.inner.cfg
    }

    /// Whether a connection is established (and the topology declared).
    pub fn is_connected(&self) -> bool {
        self.inner
            .link
            .borrow()
            .as_ref()
            .is_some_and(|l| l.conn.status().connected())
    }

    /// How many times a connection was established since start.
    pub fn connects(&self) -> u64 {
        self.inner.connects.load(Ordering::Relaxed)
    }

    /// Every queue of the topology (each service's event queue and dead-letter queue, each
    /// request/reply queue) with the broker's message and consumer counts, from a passive
    /// `queue.declare` on a channel of its own (each step bounded by [`QUEUE_STATS_TIMEOUT`]).
    ///
    /// # Errors
    /// [`BusError::Unavailable`] while no connection is up; [`BusError::Broker`] when no channel
    /// opens. A queue the broker does not have (404 on the passive declare) is left out.
    pub async fn queue_stats(&self) -> Result<Vec<super::QueueStat>, BusError> {
        let conn = self
            .inner
            .link
            .borrow()
            .as_ref()
            .map(|l| l.conn.clone())
            .ok_or_else(|| BusError::Unavailable("not connected".to_owned()))?;
        let ns = self.inner.cfg.namespace.as_str();
        let mut wanted = Vec::new();
        for (service, _) in TOPOLOGY {
            wanted.push((queue_name(ns, service), *service, "events"));
            wanted.push((dlq_name(ns, service), *service, "dead-letter"));
        }
        for service in RPC_SERVICES {
            wanted.push((rpc_queue_name(ns, service), *service, "requests"));
        }
        let open = || async {
            tokio::time::timeout(QUEUE_STATS_TIMEOUT, conn.create_channel())
                .await
                .map_err(|_| BusError::Broker("opening a channel timed out".to_owned()))?
                .map_err(|e| BusError::Broker(e.to_string()))
        };
        let mut ch = open().await?;
        let mut out = Vec::with_capacity(wanted.len());
        for (name, service, kind) in wanted {
            let declared = tokio::time::timeout(
                QUEUE_STATS_TIMEOUT,
                ch.queue_declare(
                    name.as_str().into(),
                    QueueDeclareOptions {
                        passive: true,
                        ..Default::default()
                    },
                    FieldTable::default(),
                ),
            )
            .await;
            match declared {
                Ok(Ok(q)) => out.push(super::QueueStat {
                    name,
                    service: service.to_owned(),
                    kind: kind.to_owned(),
                    messages: u64::from(q.message_count()),
                    consumers: Some(u64::from(q.consumer_count())),
                    capacity: None,
                }),
                // Not there (the broker closed the channel) or too slow: skip it, on a new
                // channel.
                Ok(Err(e)) => {
                    tracing::debug!(queue = %name, error = %e, "passive declare failed");
                    ch = open().await?;
                }
                Err(_) => {
                    tracing::debug!(queue = %name, "passive declare timed out");
                    ch = open().await?;
                }
            }
        }
        let _ = ch.close(200, "OK".into()).await;
        Ok(out)
    }

    /// Declares the topology on a channel of `conn`; returns the channel, still open, for
    /// publishing (a tolerated refusal closes a channel, and a new one takes its place).
    async fn declare(&self, conn: &Connection) -> Result<Channel, lapin::Error> {
        let mut ch = conn.create_channel().await?;
        let ns = self.inner.cfg.namespace.as_str();
        let (exchange, dlx) = (exchange_name(ns), dlx_name(ns));
        ch.exchange_declare(
            exchange.as_str().into(),
            ExchangeKind::Topic,
            ExchangeDeclareOptions {
                durable: true,
                ..Default::default()
            },
            FieldTable::default(),
        )
        .await?;
        ch.exchange_declare(
            dlx.as_str().into(),
            ExchangeKind::Direct,
            ExchangeDeclareOptions {
                durable: true,
                ..Default::default()
            },
            FieldTable::default(),
        )
        .await?;
        for (service, patterns) in TOPOLOGY {
            let mut dlq_args = FieldTable::default();
            dlq_args.insert("x-queue-type".into(), long("quorum"));
            ch.queue_declare(
                dlq_name(ns, service).as_str().into(),
                QueueDeclareOptions {
                    durable: true,
                    ..Default::default()
                },
                dlq_args,
            )
            .await?;
            ch.queue_bind(
                dlq_name(ns, service).as_str().into(),
                dlx.as_str().into(),
                (*service).into(),
                QueueBindOptions::default(),
                FieldTable::default(),
            )
            .await?;
            let mut args = FieldTable::default();
            args.insert("x-queue-type".into(), long("quorum"));
            args.insert("x-dead-letter-exchange".into(), long(&dlx));
            args.insert("x-dead-letter-routing-key".into(), long(service));
            args.insert(
                "x-delivery-limit".into(),
                AMQPValue::LongInt(
                    i32::try_from(self.inner.cfg.max_deliveries.saturating_add(1))
                        .unwrap_or(i32::MAX),
                ),
            );
            let declared = ch
                .queue_declare(
                    queue_name(ns, service).as_str().into(),
                    QueueDeclareOptions {
                        durable: true,
                        ..Default::default()
                    },
                    args,
                )
                .await;
            match declared {
                Ok(_) => {}
                Err(e) if is_access_refused(&e) => {
                    // Creating a queue with a dead-letter exchange takes read on it: another
                    // role's queue that does not exist yet (see the module docs).
                    tracing::warn!(
                        queue = %queue_name(ns, service),
                        error = %e,
                        "this broker user may not create the queue (another role's): skipped; \
                         events routed only to it are dropped until a `{service}` node or the \
                         administrator declares it"
                    );
                    ch = conn.create_channel().await?;
                    continue;
                }
                Err(e) => return Err(e),
            }
            for p in patterns.iter() {
                ch.queue_bind(
                    queue_name(ns, service).as_str().into(),
                    exchange.as_str().into(),
                    (*p).into(),
                    QueueBindOptions::default(),
                    FieldTable::default(),
                )
                .await?;
            }
        }
        for service in RPC_SERVICES {
            // A classic durable queue: requests are short-lived (x-message-ttl), replicas of the
            // service compete for them.
            let mut args = FieldTable::default();
            args.insert(
                "x-message-ttl".into(),
                AMQPValue::LongInt(RPC_TTL_MS as i32),
            );
            ch.queue_declare(
                rpc_queue_name(ns, service).as_str().into(),
                QueueDeclareOptions {
                    durable: true,
                    ..Default::default()
                },
                args,
            )
            .await?;
        }
        Ok(ch)
    }

    async fn connect_once(&self) -> Result<Link, BusError> {
        let conn = connect(&self.inner.cfg).await?;
        let declared = async {
            let ch = self.declare(&conn).await?;
            ch.confirm_select(ConfirmSelectOptions::default()).await?;
            Ok::<_, lapin::Error>(ch)
        }
        .await;
        let ch = match declared {
            Ok(ch) => ch,
            Err(e) => {
                let _ = conn.close(200, "OK".into()).await;
                return Err(BusError::Broker(format!("declaring the topology: {e}")));
            }
        };
        let generation = self.inner.connects.fetch_add(1, Ordering::Relaxed) + 1;
        Ok(Link {
            conn: Arc::new(conn),
            publish: Arc::new(Mutex::new(ch)),
            generation,
        })
    }

    /// Keeps a connection up until the task is dropped: connects with exponential backoff
    /// (see module docs), publishes the link, waits for it to fail, starts over. Never returns.
    pub async fn run_link(&self) {
        use backon::{BackoffBuilder, ExponentialBuilder};
        let builder = ExponentialBuilder::default()
            .with_min_delay(Duration::from_millis(
                self.inner.cfg.reconnect_initial_ms.max(1),
            ))
            .with_max_delay(Duration::from_millis(
                self.inner
                    .cfg
                    .reconnect_max_ms
                    .max(self.inner.cfg.reconnect_initial_ms.max(1)),
            ))
            .with_factor(2.0)
            .with_jitter()
            .without_max_times();
        loop {
            let mut delays = builder.build();
            let link = loop {
                match self.connect_once().await {
                    Ok(l) => break l,
                    Err(e) => {
                        let wait = delays
                            .next()
                            .unwrap_or(Duration::from_millis(self.inner.cfg.reconnect_max_ms));
                        tracing::warn!(error = %e, retry_in_ms = wait.as_millis() as u64, "RabbitMQ unreachable");
                        tokio::time::sleep(wait).await;
                    }
                }
            };
            tracing::info!(
                generation = link.generation,
                "RabbitMQ connected, topology declared"
            );
            let conn = link.conn.clone();
            self.inner.link.send_replace(Some(link));
            let mut events = conn.events_listener();
            loop {
                tokio::select! {
                    ev = events.next() => match ev {
                        Some(lapin::Event::Error(e)) => {
                            tracing::warn!(error = %e, "RabbitMQ connection lost");
                            break;
                        }
                        Some(_) => {}
                        None => break,
                    },
                    () = tokio::time::sleep(Duration::from_millis(500)) => {
                        if !conn.status().connected() {
                            tracing::warn!("RabbitMQ connection closed");
                            break;
                        }
                    }
                }
            }
            self.inner.link.send_replace(None);
        }
    }

    fn current(&self) -> Result<Link, BusError> {
        self.inner
            .link
            .borrow()
            .clone()
            .filter(|l| l.conn.status().connected())
            .ok_or_else(|| BusError::Unavailable("not connected to RabbitMQ".to_owned()))
    }

    fn properties(&self, e: &Envelope) -> BasicProperties {
        let mut headers = FieldTable::default();
        if let Some(tp) = &e.traceparent {
            headers.insert("traceparent".into(), long(tp));
        }
        headers.insert("x-rampart-source".into(), long(&e.source_node));
        headers.insert(
            "x-correlation-id".into(),
            long(&e.correlation_id.to_string()),
        );
        BasicProperties::default()
            .with_delivery_mode(2)
            .with_content_type("application/json".into())
            .with_message_id(e.event_id.to_string().as_str().into())
            .with_correlation_id(e.correlation_id.to_string().as_str().into())
            .with_type(e.event_type.as_str().into())
            .with_app_id(self.inner.node.as_str().into())
            .with_headers(headers)
    }

    /// Publishes `events` in order and waits for every publisher confirm; `Ok` only when the
    /// broker confirmed them all.
    ///
    /// # Errors
    /// [`BusError::Unavailable`] without a connection, [`BusError::Broker`] on a channel error,
    /// a negative confirm or a confirm timeout (the caller publishes again later: consumers
    /// deduplicate by event id).
    pub async fn publish_batch(&self, events: &[Envelope]) -> Result<(), PublishError> {
        if events.is_empty() {
            return Ok(());
        }
        let none = |error| PublishError {
            published: 0,
            error,
        };
        let link = self.current().map_err(none)?;
        let exchange = exchange_name(&self.inner.cfg.namespace);
        let ch = link.publish.lock().await;
        let mut confirms = Vec::with_capacity(events.len());
        for e in events {
            super::envelope::validate_event_type(&e.event_type).map_err(none)?;
            let payload =
                serde_json::to_vec(e).map_err(|err| none(BusError::Body(err.to_string())))?;
            let confirm = ch
                .basic_publish(
                    exchange.as_str().into(),
                    e.event_type.as_str().into(),
                    BasicPublishOptions::default(),
                    &payload,
                    self.properties(e),
                )
                .await
                .map_err(|e| none(broker(e)))?;
            confirms.push(confirm);
        }
        let timeout = Duration::from_millis(self.inner.cfg.confirm_timeout_ms.max(1));
        for (i, c) in confirms.into_iter().enumerate() {
            let at = |error| PublishError {
                published: i,
                error,
            };
            let confirmation = tokio::time::timeout(timeout, c)
                .await
                .map_err(|_| at(BusError::Broker("publisher confirm timed out".to_owned())))?
                .map_err(|e| at(broker(e)))?;
            if confirmation.is_nack() {
                return Err(at(BusError::Broker(
                    "the broker refused a message (nack)".to_owned(),
                )));
            }
        }
        Ok(())
    }

    async fn rpc_client(&self, link: &Link) -> Result<(Channel, Pending), lapin::Error> {
        let mut guard = self.inner.rpc.lock().await;
        if let Some(c) = guard.as_ref().filter(|c| c.generation == link.generation) {
            return Ok((c.channel.clone(), c.pending.clone()));
        }
        let channel = link.conn.create_channel().await?;
        let mut consumer = channel
            .basic_consume(
                "amq.rabbitmq.reply-to".into(),
                format!("{}-rpc-{}", self.inner.node, link.generation)
                    .as_str()
                    .into(),
                BasicConsumeOptions {
                    no_ack: true,
                    ..Default::default()
                },
                FieldTable::default(),
            )
            .await?;
        let pending: Pending = Arc::default();
        let p = pending.clone();
        let reader = tokio::spawn(async move {
            while let Some(Ok(d)) = consumer.next().await {
                let Some(id) = d
                    .properties
                    .correlation_id()
                    .as_ref()
                    .map(|c| c.to_string())
                else {
                    continue;
                };
                let waiter = p.lock().ok().and_then(|mut m| m.remove(&id));
                if let Some(tx) = waiter {
                    let _ = tx.send(d.data);
                }
            }
        });
        *guard = Some(RpcClient {
            generation: link.generation,
            channel: channel.clone(),
            pending: pending.clone(),
            _reader: reader,
        });
        Ok((channel, pending))
    }

    /// Request/reply: sends `body` to `service`'s request queue with RabbitMQ's direct reply-to
    /// and waits at most `timeout` for the answer (whichever replica takes it answers).
    ///
    /// # Errors
    /// [`BusError::Unavailable`] without a connection, [`BusError::Broker`] on a channel error or
    /// when no answer came within `timeout` (no replica running, or too slow).
    pub async fn call(
        &self,
        service: &str,
        body: &[u8],
        timeout: Duration,
    ) -> Result<Vec<u8>, BusError> {
        let link = self.current()?;
        let (channel, pending) = self.rpc_client(&link).await.map_err(broker)?;
        let id = uuid::Uuid::now_v7().to_string();
        let (tx, rx) = tokio::sync::oneshot::channel();
        if let Ok(mut m) = pending.lock() {
            m.insert(id.clone(), tx);
        }
        let forget = |pending: &Pending| {
            if let Ok(mut m) = pending.lock() {
                m.remove(&id);
            }
        };
        let ttl = timeout
            .as_millis()
            .clamp(1, u128::from(RPC_TTL_MS))
            .to_string();
        let published = channel
            .basic_publish(
                "".into(),
                rpc_queue_name(&self.inner.cfg.namespace, service)
                    .as_str()
                    .into(),
                BasicPublishOptions::default(),
                body,
                BasicProperties::default()
                    .with_reply_to("amq.rabbitmq.reply-to".into())
                    .with_correlation_id(id.as_str().into())
                    .with_expiration(ttl.as_str().into())
                    .with_content_type("application/json".into()),
            )
            .await;
        if let Err(e) = published {
            forget(&pending);
            return Err(broker(e));
        }
        match tokio::time::timeout(timeout, rx).await {
            Ok(Ok(answer)) => Ok(answer),
            Ok(Err(_)) => Err(BusError::Broker("the reply channel closed".to_owned())),
            Err(_) => {
                forget(&pending);
                Err(BusError::Broker(format!(
                    "no answer from {service} within {} ms",
                    timeout.as_millis()
                )))
            }
        }
    }

    /// Answers `service`'s requests with `handler` until the task is dropped, re-opening its
    /// consumer after reconnections. Requests are acked once answered.
    pub async fn serve<F, Fut>(&self, service: &str, handler: F)
    where
        F: Fn(Vec<u8>) -> Fut,
        Fut: std::future::Future<Output = Vec<u8>>,
    {
        let mut rx = self.inner.link.subscribe();
        loop {
            let link = rx.borrow_and_update().clone();
            let Some(link) = link else {
                if rx.changed().await.is_err() {
                    return;
                }
                continue;
            };
            let opened = async {
                let ch = link.conn.create_channel().await?;
                ch.basic_qos(16, BasicQosOptions::default()).await?;
                let consumer = ch
                    .basic_consume(
                        rpc_queue_name(&self.inner.cfg.namespace, service)
                            .as_str()
                            .into(),
                        format!(
                            "{}-rpc-server-{}",
                            self.inner.node,
                            uuid::Uuid::new_v4().simple()
                        )
                        .as_str()
                        .into(),
                        BasicConsumeOptions::default(),
                        FieldTable::default(),
                    )
                    .await?;
                Ok::<_, lapin::Error>((ch, consumer))
            }
            .await;
            let (ch, mut consumer) = match opened {
                Ok(x) => x,
                Err(e) => {
                    tracing::warn!(service, error = %e, "opening the request consumer");
                    tokio::time::sleep(Duration::from_millis(200)).await;
                    continue;
                }
            };
            loop {
                let next = tokio::select! {
                    d = consumer.next() => d,
                    changed = rx.changed() => {
                        if changed.is_err() { return; }
                        break;
                    }
                };
                let Some(Ok(d)) = next else { break };
                let answer = handler(d.data.clone()).await;
                if let (Some(reply_to), Some(corr)) = (
                    d.properties.reply_to().clone(),
                    d.properties.correlation_id().clone(),
                ) {
                    let sent = ch
                        .basic_publish(
                            "".into(),
                            reply_to,
                            BasicPublishOptions::default(),
                            &answer,
                            BasicProperties::default()
                                .with_correlation_id(corr)
                                .with_content_type("application/json".into()),
                        )
                        .await;
                    if let Err(e) = sent {
                        tracing::warn!(service, error = %e, "sending a reply");
                    }
                }
                if let Err(e) = d.acker.ack(BasicAckOptions::default()).await {
                    tracing::warn!(service, error = %e, "acking a request");
                }
            }
        }
    }

    /// A consumer of `service`'s queue (which [`TOPOLOGY`] must name).
    ///
    /// # Errors
    /// [`BusError::Unavailable`] if `service` has no queue in the topology.
    pub fn subscribe(&self, service: &str) -> Result<AmqpSubscription, BusError> {
        if !TOPOLOGY.iter().any(|(s, _)| *s == service) {
            return Err(BusError::Unavailable(format!(
                "no queue for service `{service}` in the topology"
            )));
        }
        Ok(AmqpSubscription {
            bus: self.clone(),
            service: service.to_owned(),
            state: Arc::new(Mutex::new(None)),
        })
    }
}

struct ConsumerState {
    generation: u64,
    _channel: Channel,
    consumer: lapin::Consumer,
}

/// A consumer of one service's queue; clones share one AMQP consumer.
#[derive(Clone)]
pub struct AmqpSubscription {
    bus: AmqpBus,
    service: String,
    state: Arc<Mutex<Option<ConsumerState>>>,
}

impl std::fmt::Debug for AmqpSubscription {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AmqpSubscription")
            .field("service", &self.service)
            .finish()
    }
}

impl AmqpSubscription {
    async fn open(&self, link: &Link) -> Result<ConsumerState, lapin::Error> {
        let ch = link.conn.create_channel().await?;
        ch.basic_qos(
            self.bus.inner.cfg.prefetch.max(1),
            BasicQosOptions::default(),
        )
        .await?;
        let tag = format!(
            "{}-{}-{}",
            self.bus.inner.node,
            self.service,
            uuid::Uuid::new_v4().simple()
        );
        let consumer = ch
            .basic_consume(
                queue_name(&self.bus.inner.cfg.namespace, &self.service)
                    .as_str()
                    .into(),
                tag.as_str().into(),
                BasicConsumeOptions::default(),
                FieldTable::default(),
            )
            .await?;
        Ok(ConsumerState {
            generation: link.generation,
            _channel: ch,
            consumer,
        })
    }

    /// Waits for the next delivery (re-opening the consumer after a reconnection), then takes up
    /// to `max - 1` more that have already arrived.
    pub async fn next_batch(&self, max: usize) -> Vec<AmqpDelivery> {
        let mut rx = self.bus.inner.link.subscribe();
        let mut state = self.state.lock().await;
        loop {
            let link = rx.borrow_and_update().clone();
            let Some(link) = link else {
                *state = None;
                if rx.changed().await.is_err() {
                    return Vec::new();
                }
                continue;
            };
            if state
                .as_ref()
                .is_none_or(|s| s.generation != link.generation)
            {
                match self.open(&link).await {
                    Ok(s) => *state = Some(s),
                    Err(e) => {
                        tracing::warn!(service = %self.service, error = %e, "opening the consumer");
                        *state = None;
                        tokio::time::sleep(Duration::from_millis(200)).await;
                        continue;
                    }
                }
            }
            let Some(s) = state.as_mut() else { continue };
            let first = tokio::select! {
                d = s.consumer.next() => d,
                changed = rx.changed() => {
                    if changed.is_err() { return Vec::new(); }
                    continue;
                }
            };
            match first {
                Some(Ok(d)) => {
                    let mut out = vec![AmqpDelivery::new(d)];
                    while out.len() < max.max(1) {
                        match futures::FutureExt::now_or_never(s.consumer.next()) {
                            Some(Some(Ok(d))) => out.push(AmqpDelivery::new(d)),
                            _ => break,
                        }
                    }
                    return out;
                }
                Some(Err(e)) => {
                    tracing::warn!(service = %self.service, error = %e, "consumer failed; re-opening");
                    *state = None;
                }
                None => {
                    *state = None;
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
        }
    }
}

/// One AMQP delivery with its decoded envelope (or why it does not decode).
pub struct AmqpDelivery {
    delivery: lapin::message::Delivery,
    envelope: Result<Envelope, String>,
    count: u32,
}

impl std::fmt::Debug for AmqpDelivery {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AmqpDelivery")
            .field("tag", &self.delivery.delivery_tag)
            .field("count", &self.count)
            .finish()
    }
}

impl AmqpDelivery {
    fn new(delivery: lapin::message::Delivery) -> Self {
        let envelope = serde_json::from_slice::<Envelope>(&delivery.data)
            .map_err(|e| format!("not an envelope: {e}"));
        let previous = delivery
            .properties
            .headers()
            .as_ref()
            .and_then(|h| header_u64(h, "x-delivery-count"))
            .unwrap_or(0);
        Self {
            delivery,
            envelope,
            count: u32::try_from(previous.saturating_add(1)).unwrap_or(u32::MAX),
        }
    }

    /// The decoded envelope, or why the message is not one.
    pub fn envelope(&self) -> Result<&Envelope, &str> {
        self.envelope.as_ref().map_err(String::as_str)
    }

    /// Which delivery this is (1 = first), from the quorum queue's `x-delivery-count`.
    pub fn delivery_count(&self) -> u32 {
        self.count
    }

    /// The `x-correlation-id` header, if any.
    pub fn correlation_id(&self) -> Option<String> {
        self.delivery
            .properties
            .headers()
            .as_ref()
            .and_then(|h| header_str(h, "x-correlation-id"))
    }

    /// The `traceparent` header, if any.
    pub fn traceparent(&self) -> Option<String> {
        self.delivery
            .properties
            .headers()
            .as_ref()
            .and_then(|h| header_str(h, "traceparent"))
    }

    /// Acknowledges (the effect is committed). Errors (a closed channel) are logged: the broker
    /// then redelivers, and the handler's idempotency absorbs it.
    pub async fn ack(self) {
        if let Err(e) = self.delivery.acker.ack(BasicAckOptions::default()).await {
            tracing::warn!(error = %e, "ack failed; the message will be redelivered");
        }
    }

    /// Negative acknowledgement: `requeue` puts it back for another delivery; otherwise the
    /// broker dead-letters it to the service's dead-letter queue.
    pub async fn nack(self, requeue: bool) {
        if let Err(e) = self
            .delivery
            .acker
            .nack(BasicNackOptions {
                requeue,
                ..Default::default()
            })
            .await
        {
            tracing::warn!(error = %e, "nack failed; the message will be redelivered");
        }
    }
}

/// Deletes the exchanges and queues of namespace `namespace` (tests, uninstall). Missing ones are
/// fine.
///
/// # Errors
/// Connection or channel errors.
pub async fn delete_namespace(url: &str, namespace: &str) -> Result<(), lapin::Error> {
    use lapin::options::{ExchangeDeleteOptions, QueueDeleteOptions};
    let conn = Connection::connect(url, ConnectionProperties::default()).await?;
    let ch = conn.create_channel().await?;
    for (service, _) in TOPOLOGY {
        for q in [queue_name(namespace, service), dlq_name(namespace, service)] {
            ch.queue_delete(q.as_str().into(), QueueDeleteOptions::default())
                .await?;
        }
    }
    for service in RPC_SERVICES {
        ch.queue_delete(
            rpc_queue_name(namespace, service).as_str().into(),
            QueueDeleteOptions::default(),
        )
        .await?;
    }
    for x in [exchange_name(namespace), dlx_name(namespace)] {
        ch.exchange_delete(x.as_str().into(), ExchangeDeleteOptions::default())
            .await?;
    }
    let _ = conn.close(200, "OK".into()).await;
    Ok(())
}
