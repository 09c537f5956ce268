//! Command line of the `rampart` binary.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Parser, Subcommand};

/// Rampart: a cybersecurity-compliance platform on a supervised actor runtime.
#[derive(Debug, Parser)]
#[command(name = "rampart", version, about)]
pub struct Cli {
    /// Configuration file (TOML). Default: config/default.toml when present.
    #[arg(long, global = true, env = "RAMPART_CONFIG")]
    pub config: Option<PathBuf>,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Runs a node: the supervision trees and the HTTP API.
    Serve(ServeArgs),
    /// Prints the effective configuration (file + environment + flags) as TOML and exits.
    Config(ServeArgs),
    /// Uploads an inventory (SBOM, scan, CSV) to a running node and waits for the import job.
    Import(crate::client::ImportArgs),
    /// Uploads a threat-intelligence feed (KEV, OSV, NVD) to a running node and waits for it.
    Intel(crate::client::IntelArgs),
    /// Prints a page of a running node's risk register (JSON).
    Risks(crate::client::RisksArgs),
    /// Reads a password from standard input (one line) and prints its argon2id PHC hash, for
    /// a console user's `password_hash` (`[console] users_file`).
    HashPassword,
}

/// Flags that override the configuration.
#[derive(Debug, Clone, clap::Args)]
pub struct ServeArgs {
    /// HTTP listen address (overrides `http.listen`).
    #[arg(long)]
    pub listen: Option<SocketAddr>,
    /// Node id (overrides `node.id`).
    #[arg(long)]
    pub node_id: Option<String>,
    /// Database URL (overrides `database.url`): `sqlite://PATH` or `postgres://USER@HOST/DB`.
    #[arg(long)]
    pub database_url: Option<String>,
    /// Services this node runs, comma-separated (overrides `node.services`): `asset`, `risk`.
    #[arg(long, value_delimiter = ',')]
    pub services: Option<Vec<String>>,
    /// RabbitMQ URL (overrides `bus.amqp_url`); without it the bus is in-process.
    #[arg(long, env = "RAMPART_AMQP_URL")]
    pub amqp_url: Option<String>,
}

impl ServeArgs {
    /// Applies the flags to `cfg`.
    pub fn apply(&self, cfg: &mut crate::config::Config) {
        if let Some(l) = self.listen {
            cfg.http.listen = l;
        }
        if let Some(id) = &self.node_id {
            cfg.node.id.clone_from(id);
        }
        if let Some(url) = &self.database_url {
            cfg.database.url.clone_from(url);
        }
        if let Some(services) = &self.services {
            cfg.node.services = services
                .iter()
                .map(|s| s.trim().to_ascii_lowercase())
                .filter(|s| !s.is_empty())
                .collect();
        }
        if let Some(url) = &self.amqp_url {
            cfg.bus.amqp_url.clone_from(url);
        }
    }
}
