//! The `rampart` binary.

use anyhow::Context as _;
use clap::Parser;
use rampart::cli::{Cli, Command};
use rampart::config::Config;
use tracing_subscriber::EnvFilter;

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_env("RAMPART_LOG").unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .init();
    let mut cfg = Config::load(cli.config.as_deref())?;
    match cli.command {
        Command::Config(args) => {
            args.apply(&mut cfg);
            print!("{}", toml_string(&cfg.redacted())?);
            Ok(())
        }
        Command::Serve(args) => {
            args.apply(&mut cfg);
            tracing::info!(config = %serde_json::to_string(&cfg.redacted()).unwrap_or_default(), "effective configuration");
            actix_web::rt::System::new().block_on(rampart::node::serve(cfg))
        }
    }
}

fn toml_string(cfg: &Config) -> anyhow::Result<String> {
    toml::to_string_pretty(cfg).context("rendering the configuration")
}
