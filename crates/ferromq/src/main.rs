//! `ferromq`: one binary for every role.
//!
//! - `ferromq standalone`: a name server and a broker in one process (storage under `./data`).
//! - `ferromq namesrv` / `ferromq broker --namesrv host:port`: the roles apart, for clusters.
//! - `ferromq bench produce|consume`: load generators for any RocketMQ-compatible broker.
//! - `ferromq admin …`: the operator's tool (consumer progress, topics, mqadmin's names).
//! - `ferromq mirror …`: disaster recovery to a backup cluster (messages and offsets).

mod cli;
mod config;
mod run;

use clap::Parser;

fn main() -> anyhow::Result<()> {
    let cli = match cli::Cli::try_parse() {
        Ok(cli) => cli,
        // `ferromq admin`: usage errors are one line and exit 2.
        Err(e)
            if e.use_stderr()
                && e.kind() != clap::error::ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
                && std::env::args().nth(1).as_deref() == Some("admin") =>
        {
            // The message proper (up to the usage block), on one line.
            let text = e.render().to_string();
            let message: Vec<&str> = text
                .lines()
                .take_while(|l| !l.trim().is_empty())
                .map(str::trim)
                .collect();
            eprintln!("{} (see 'ferromq admin --help')", message.join(" "));
            std::process::exit(2);
        }
        Err(e) => e.exit(),
    };
    let level = match cli.command {
        cli::Command::Admin(_) => "warn",
        _ => "info",
    };
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(level)),
        )
        .with_writer(std::io::stderr)
        .init();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(run::run(cli))
}
