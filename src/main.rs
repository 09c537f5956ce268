//! The `rampart` binary.

use anyhow::Context as _;
use clap::Parser;
use rampart::cli::{Cli, Command};
use rampart::config::Config;
use tracing_subscriber::EnvFilter;

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    if matches!(cli.command, Command::HashPassword) {
        let mut line = String::new();
        std::io::stdin()
            .read_line(&mut line)
            .context("reading the password from standard input")?;
        let password = line.trim_end_matches(['\r', '\n']);
        anyhow::ensure!(
            password.chars().count() >= 12,
            "a console password has at least 12 characters"
        );
        println!(
            "{}",
            rampart::console::session::hash_password(password).map_err(anyhow::Error::msg)?
        );
        return Ok(());
    }
    if let Some(code) = client_command(&cli.command) {
        std::process::exit(code);
    }
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
        Command::Import(_) | Command::Intel(_) | Command::Risks(_) | Command::HashPassword => {
            Ok(())
        }
        Command::Serve(args) => {
            args.apply(&mut cfg);
            tracing::info!(config = %serde_json::to_string(&cfg.redacted()).unwrap_or_default(), "effective configuration");
            actix_web::rt::System::new().block_on(rampart::node::serve(cfg))
        }
    }
}

/// Runs a client subcommand (`import`, `intel`, `risks`); `None` for the others. Prints the
/// result as JSON on stdout, or the failure on stderr; returns the exit code.
fn client_command(cmd: &Command) -> Option<i32> {
    use rampart::client;
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: starting the runtime: {e}");
            return Some(2);
        }
    };
    let result = match cmd {
        Command::Import(a) => rt.block_on(client::import(a)),
        Command::Intel(a) => rt.block_on(client::intel(a)),
        Command::Risks(a) => rt.block_on(client::risks(a)),
        _ => return None,
    };
    Some(match result {
        Ok(v) => {
            println!("{}", serde_json::to_string_pretty(&v).unwrap_or_default());
            0
        }
        Err(f) => {
            if let Some(v) = &f.output {
                println!("{}", serde_json::to_string_pretty(v).unwrap_or_default());
            }
            eprintln!("error: {}", f.message);
            i32::from(f.code)
        }
    })
}

fn toml_string(cfg: &Config) -> anyhow::Result<String> {
    toml::to_string_pretty(cfg).context("rendering the configuration")
}
