//! Wiring of one node: the runtime, the root supervisor and its trees, and the HTTP server.

use std::sync::Arc;

use actix_web::{App, HttpServer, web};
use anyhow::Context as _;
use rampart_supervisors::resilience::{ResilienceMetrics, ResiliencePolicy};
use rampart_supervisors::{AskError, ChildSpec, MailboxConfig, Runtime, Strategy, SupervisorSpec};

use crate::api::ServiceState;
use crate::config::{Config, redact_url};
use crate::http::{self, AppState};
use rampart_platform::bus::amqp::AmqpBus;
use rampart_platform::bus::{Bus, InProcessBus, InProcessBusConfig};
use rampart_platform::link::AmqpLink;
use rampart_platform::relay::{OutboxRelay, RelayConfig};
use rampart_platform::{Db, DbOptions};

/// A started node: its shared state (for the HTTP layer) and the root supervisor.
pub struct Node {
    /// What the HTTP handlers share.
    pub state: web::Data<AppState>,
    /// The database (migrated).
    pub db: Db,
    /// The node's event bus (in-process, the embedded default, or RabbitMQ).
    pub bus: Bus,
    /// What the service API handlers share.
    pub services: web::Data<ServiceState>,
    /// The identity edge (authorizer, token service, call records).
    pub edge: web::Data<crate::auth::Edge>,
    /// The call-record writer, stopped after the HTTP server.
    pub call_writer: crate::auth::calls::CallWriter,
    /// The traffic shield (rules, throttling, shedding); `None` when `shield.enabled = false`.
    pub shield: Option<Arc<crate::shield::Shield>>,
}

impl Node {
    /// Builds the runtime and starts the root supervisor (`node`, one-for-one) with the configured
    /// trees. Must run inside a tokio runtime (actix-rt's is one).
    ///
    /// # Errors
    /// Database connection or migration failures (the message names the redacted URL), metrics
    /// registration failures.
    pub async fn start(cfg: &Config) -> anyhow::Result<Self> {
        let url = cfg.database.connection_url().map_err(anyhow::Error::msg)?;
        let db = Db::connect::<crate::schema::Migrator>(
            secrecy::ExposeSecret::expose_secret(&url),
            &DbOptions {
                max_connections: cfg.database.max_connections,
                connect_timeout_ms: cfg.database.connect_timeout_ms,
                schema: cfg.database.schema.clone(),
            },
        )
        .await
        .with_context(|| format!("opening the database {}", redact_url(&cfg.database.url)))?;
        tracing::info!(url = %redact_url(&cfg.database.url), "database ready (migrations applied)");
        let registry = prometheus::Registry::new_custom(
            None,
            Some(std::collections::HashMap::from([(
                "node".to_owned(),
                cfg.node.id.clone(),
            )])),
        )
        .context("creating the metrics registry")?;
        let rt = Runtime::new(&registry).context("registering runtime metrics")?;
        let resilience =
            ResilienceMetrics::new(&registry).context("registering resilience metrics")?;
        let probes = cfg.probes.to_probes();
        let mut root = SupervisorSpec::new("node")
            .strategy(Strategy::OneForOne)
            .intensity(cfg.supervision.max_restarts, cfg.supervision.within())
            .backoff(cfg.supervision.backoff());
        // The platform tree: what every node runs whatever its services.
        for s in &cfg.node.services {
            if !crate::services::ALL_SERVICES.contains(&s.as_str()) {
                anyhow::bail!(
                    "unknown service {s:?} in node.services / --services (known: {})",
                    crate::services::ALL_SERVICES.join(", ")
                );
            }
        }
        let mut platform = SupervisorSpec::new("platform")
            .intensity(cfg.supervision.max_restarts, cfg.supervision.within())
            .backoff(cfg.supervision.backoff());
        let bus = match cfg.bus.amqp() {
            Some(amqp) => {
                tracing::info!(url = %redact_url(&amqp.url), "event bus: RabbitMQ");
                let amqp_bus = AmqpBus::new(amqp, &cfg.node.id);
                let link = ChildSpec::new("amqp-link", {
                    let b = amqp_bus.clone();
                    move || AmqpLink::new(b.clone())
                })
                .mailbox(MailboxConfig::bounded(1).fail_fast())
                // Connection state changes in seconds: probe readiness every second.
                .probes(rampart_supervisors::Probes {
                    readiness: probes.readiness.map(|r| rampart_supervisors::ProbeConfig {
                        period: std::time::Duration::from_secs(1),
                        failure_threshold: 1,
                        ..r
                    }),
                    ..probes
                })
                .build();
                platform = platform.child(link);
                Bus::Amqp(amqp_bus)
            }
            None => Bus::InProcess(InProcessBus::new(InProcessBusConfig {
                max_deliveries: cfg.bus.max_deliveries.max(1),
                ..InProcessBusConfig::default()
            })),
        };
        let relay = ChildSpec::new("outbox-relay", {
            let (db, bus) = (db.clone(), bus.clone());
            move || OutboxRelay::new(db.clone(), bus.clone(), RelayConfig::default())
        })
        .mailbox(MailboxConfig::bounded(4).fail_fast())
        .probes(probes)
        .build();
        root = root.child(platform.child(relay));
        let interrupted = rampart_platform::jobs::fail_interrupted(&db, &cfg.node.id)
            .await
            .context("marking interrupted jobs failed")?;
        if interrupted > 0 {
            tracing::warn!(
                jobs = interrupted,
                "jobs left unfinished by the last run marked failed"
            );
        }
        let services =
            crate::services::tree(&db, &bus, probes, cfg).context("building the service trees")?;
        for spec in services.specs {
            root = root.child(
                spec.intensity(cfg.supervision.max_restarts, cfg.supervision.within())
                    .backoff(cfg.supervision.backoff()),
            );
        }
        let intel_sources = cfg.intel.validate().context("[intel]")?;
        let intel = match (&services.risk, intel_sources.is_empty()) {
            (Some(risk), false) => {
                let metrics = crate::intel::IntelMetrics::new(&registry)
                    .context("registering intel metrics")?;
                let http = crate::intel::http_client().context("the intel HTTP client")?;
                let child = ChildSpec::new("intel-sync", {
                    let (db, risk, config, sources, resilience) = (
                        db.clone(),
                        risk.clone(),
                        cfg.intel.clone(),
                        intel_sources.clone(),
                        resilience.clone(),
                    );
                    let http = http.clone();
                    move || {
                        crate::intel::IntelSync::new(
                            db.clone(),
                            risk.clone(),
                            config.clone(),
                            sources.clone(),
                            Some(resilience.clone()),
                            metrics.clone(),
                            http.clone(),
                        )
                    }
                })
                .mailbox(MailboxConfig::bounded(64))
                .probes(probes)
                .build();
                let addr = child.addr();
                root = root.child(
                    rampart_supervisors::SupervisorSpec::new("intel")
                        .child(child)
                        .intensity(cfg.supervision.max_restarts, cfg.supervision.within())
                        .backoff(cfg.supervision.backoff()),
                );
                Some(addr)
            }
            (None, false) => {
                tracing::warn!(
                    "[[intel.sources]] are configured but this node does not run the risk service: nothing is pulled here"
                );
                None
            }
            _ => None,
        };
        let discovery_sources = cfg.discovery.validate().context("[discovery]")?;
        let discovery = match (&services.asset, discovery_sources.is_empty()) {
            (Some(asset), false) => {
                let metrics = crate::discovery::DiscoveryMetrics::new(&registry)
                    .context("registering discovery metrics")?;
                let http = crate::intel::http_client().context("the discovery HTTP client")?;
                let child = ChildSpec::new("discovery-sync", {
                    let (db, node, asset, rules, check_ms, sources, resilience) = (
                        db.clone(),
                        cfg.node.id.clone(),
                        asset.clone(),
                        cfg.assets.clone(),
                        cfg.discovery.check_ms,
                        discovery_sources.clone(),
                        resilience.clone(),
                    );
                    move || {
                        crate::discovery::DiscoverySync::new(crate::discovery::DiscoveryDeps {
                            db: db.clone(),
                            node: node.clone(),
                            asset: asset.clone(),
                            rules: rules.clone(),
                            check_ms,
                            sources: sources.clone(),
                            resilience: Some(resilience.clone()),
                            metrics: metrics.clone(),
                            http: http.clone(),
                        })
                    }
                })
                .mailbox(MailboxConfig::bounded(64))
                .probes(probes)
                .build();
                let addr = child.addr();
                root = root.child(
                    rampart_supervisors::SupervisorSpec::new("discovery")
                        .child(child)
                        .intensity(cfg.supervision.max_restarts, cfg.supervision.within())
                        .backoff(cfg.supervision.backoff()),
                );
                Some(addr)
            }
            (None, false) => {
                tracing::warn!(
                    "[discovery] sources are configured but this node does not run the asset service: nothing is discovered here"
                );
                None
            }
            _ => None,
        };
        let risk_policy = ResiliencePolicy::builder("risk-query", cfg.api.risk_query.clone())
            .metrics(&resilience)
            .retry_when(|_| true)
            .build()
            .context("api.risk_query")?;
        let service_state = web::Data::new(ServiceState {
            node_id: cfg.node.id.clone(),
            db: db.clone(),
            asset: services.asset.clone(),
            risk: services.risk.clone(),
            incident: services.incident.clone(),
            control: services.control.clone(),
            control_rules: cfg.controls.rules.clone(),
            bus: bus.clone(),
            rules: cfg.assets.clone(),
            max_import_bytes: cfg.api.max_import_bytes,
            jobs: Arc::new(tokio::sync::Semaphore::new(cfg.api.max_pending_jobs.max(1))),
            risk_policy,
            risk_reads: crate::api::risks::RiskReads::new(&db),
            intel,
            discovery,
            fault_injection: cfg.demo.fault_injection,
        });
        let mut echo = None;
        let mut echo_policy = None;
        if cfg.demo.enabled {
            let demo = crate::demo::tree(probes);
            echo = Some(demo.echo);
            echo_policy = Some(
                ResiliencePolicy::builder("demo-echo", cfg.demo.resilience.clone())
                    .metrics(&resilience)
                    // A full mailbox or a slow answer may pass; a stopped actor will not.
                    .retry_when(|e| {
                        matches!(e, AskError::MailboxFull { .. } | AskError::Timeout { .. })
                    })
                    .build()
                    .context("demo.resilience")?,
            );
            root = root.child(
                demo.spec
                    .intensity(cfg.supervision.max_restarts, cfg.supervision.within())
                    .backoff(cfg.supervision.backoff()),
            );
        }
        let issuer = if cfg.auth.issuer.trim().is_empty() {
            let scheme = if cfg.http.tls.enabled().unwrap_or(false) {
                "https"
            } else {
                "http"
            };
            format!("{scheme}://{}", cfg.http.listen)
        } else {
            cfg.auth.issuer.trim().to_owned()
        };
        let edge = crate::auth::start(
            &cfg.auth,
            &issuer,
            &cfg.node.data_dir,
            &cfg.node.id,
            &db,
            &registry,
            &resilience,
        )
        .await?;
        let shield = if cfg.shield.enabled {
            Some(
                crate::shield::Shield::new(&cfg.shield, &db, &cfg.node.id, &registry)
                    .context("starting the shield ([shield])")?,
            )
        } else {
            tracing::error!(
                "shield.enabled = false: NO request rules, throttling, shedding or header limits protect this node"
            );
            None
        };
        let handle = root.start(&rt);
        let state = web::Data::new(AppState {
            node_id: cfg.node.id.clone(),
            bus: bus.clone(),
            root: Arc::new(handle),
            registry,
            dead_letters: rt.dead_letters().clone(),
            echo,
            echo_policy,
            fault_injection: cfg.demo.fault_injection,
        });
        Ok(Self {
            state,
            db,
            bus,
            services: service_state,
            edge: edge.edge,
            call_writer: edge.writer,
            shield,
        })
    }
}

/// Runs a node until SIGINT/SIGTERM: starts the trees, serves HTTP, shuts the trees down.
///
/// # Errors
/// Bind failures (address in use, permission) and runtime start failures.
pub async fn serve(cfg: Config) -> anyhow::Result<()> {
    // TLS first: a missing or invalid certificate stops the node before anything starts.
    let tls = if cfg.http.tls.enabled().context("http.tls")? {
        Some(
            crate::tls::load(&cfg.http.tls)
                .context("loading the TLS certificate and key (http.tls)")?,
        )
    } else {
        None
    };
    let tls_on = tls.is_some();
    let hsts = crate::tls::Hsts::new(&cfg.http.tls, tls_on);
    let node = Node::start(&cfg).await?;
    let state = node.state.clone();
    let services = node.services.clone();
    let edge = node.edge.clone();
    let max_body = cfg.http.max_body_bytes;
    let shield_data = node.shield.clone().map(web::Data::from);
    let mut timers = node
        .shield
        .as_ref()
        .map(crate::shield::Shield::spawn_timers)
        .unwrap_or_default();
    let console = web::Data::new(
        crate::console::ConsoleState::new(&cfg.console, &cfg.auth, tls_on).context("[console]")?,
    );
    if cfg.console.enabled {
        timers.push(crate::console::trends::spawn_sampler(
            node.db.clone(),
            std::time::Duration::from_secs(cfg.console.snapshot_interval_s),
            cfg.console.snapshots_kept,
        ));
    }
    timers.push(crate::nodes::spawn_heartbeat(
        node.db.clone(),
        crate::nodes::Me {
            id: cfg.node.id.clone(),
            services: cfg.node.services.clone(),
            bus: match node.bus {
                Bus::InProcess(_) => "in-process",
                Bus::Amqp(_) => "rabbitmq",
            }
            .to_owned(),
            every: std::time::Duration::from_secs(cfg.node.heartbeat_s),
            started_at: chrono::Utc::now(),
        },
    ));
    let mut server = HttpServer::new(move || {
        let mut app = App::new()
            .app_data(state.clone())
            .app_data(services.clone())
            .app_data(edge.clone())
            .app_data(console.clone());
        if let Some(s) = &shield_data {
            app = app.app_data(s.clone());
        }
        app
            // Innermost: throttling, where the authorizer has named the client.
            .wrap(actix_web::middleware::from_fn(
                crate::shield::middleware::throttle,
            ))
            // The authorizer (and the API call records) inside the shield's filter.
            .wrap(actix_web::middleware::from_fn(
                crate::auth::middleware::authorize,
            ))
            // Connection, in-flight and header limits, client address, the rules.
            .wrap(actix_web::middleware::from_fn(
                crate::shield::middleware::filter,
            ))
            .wrap(
                // `%r` would log the raw query string: secrets put in a URL are redacted.
                actix_web::middleware::Logger::new("%a \"%{line}xi\" %s %b %Dms")
                    .custom_request_replace("line", crate::auth::middleware::redacted_request_line)
                    .log_target("rampart::http"),
            )
            // Outermost: Strict-Transport-Security on every response while TLS is on.
            .wrap(hsts.clone())
            .configure(|c| http::configure(c, max_body, &mut crate::auth::RouteTable::default()))
    });
    let workers = if cfg.http.workers > 0 {
        cfg.http.workers
    } else {
        std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
    };
    server = server.workers(workers);
    if let Some(sh) = &node.shield {
        let c = &sh.cfg;
        let on_connect = sh.clone();
        server = server
            // actix-web's limit is per worker.
            .max_connections(c.max_connections.div_ceil(workers).max(1))
            .client_request_timeout(std::time::Duration::from_millis(
                c.client_request_timeout_ms,
            ))
            .client_disconnect_timeout(std::time::Duration::from_millis(
                c.client_disconnect_timeout_ms,
            ))
            .keep_alive(if c.keep_alive_s == 0 {
                actix_web::http::KeepAlive::Disabled
            } else {
                actix_web::http::KeepAlive::Timeout(std::time::Duration::from_secs(c.keep_alive_s))
            })
            .on_connect(move |conn, ext| {
                crate::shield::conn::on_connect(&on_connect, conn, ext);
            });
    }
    let (bound, reloader) = match tls {
        Some((mut server_config, reloader)) => {
            // actix-web puts its own `http/1.1` in front of the configured protocols.
            server_config.alpn_protocols.clear();
            (
                server.bind_rustls_0_23(cfg.http.listen, server_config),
                Some(reloader),
            )
        }
        None => (server.bind(cfg.http.listen), None),
    };
    let server = bound
        .with_context(|| format!("binding {}", cfg.http.listen))?
        .run();
    let reloader = reloader.map(|r| tokio::spawn(r.run()));
    tracing::info!(node = %cfg.node.id, listen = %cfg.http.listen, tls = tls_on, "serving");
    let result = server.await.context("HTTP server");
    if let Some(r) = reloader {
        r.abort();
    }
    for t in timers {
        t.abort();
    }
    node.call_writer
        .shutdown(std::time::Duration::from_secs(10))
        .await;
    node.state.root.shutdown().await;
    if let Err(e) = crate::nodes::leave(&node.db, &cfg.node.id, chrono::Utc::now()).await {
        tracing::warn!(error = %e, "marking the node stopped in the registry");
    }
    if let Err(e) = node.db.close().await {
        tracing::warn!(error = %e, "closing the database");
    }
    tracing::info!(node = %cfg.node.id, "stopped");
    result
}
