//! `ferromq`: one binary for every role.
//!
//! - `ferromq standalone`: a name server and a broker in one process (storage under `./data`).
//! - `ferromq namesrv` / `ferromq broker --namesrv host:port`: the roles apart, for clusters.
//! - `ferromq bench produce|consume`: load generators for any RocketMQ-compatible broker.

mod cli;
mod config;
mod run;

use clap::Parser;

fn main() -> anyhow::Result<()> {
    let cli = cli::Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(run::run(cli))
}
