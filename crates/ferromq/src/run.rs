//! Running each role until SIGINT/SIGTERM, then stopping cleanly (store and offsets flushed).

use std::time::Duration;

use anyhow::Context;
use ferromq_broker::Broker;
use ferromq_namesrv::NameServer;
use tokio_util::sync::CancellationToken;
use tracing::info;

use crate::cli::{Cli, Command, NamesrvArgs, ServerArgs};
use crate::config;

pub async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Standalone(args) => standalone(args).await,
        Command::Namesrv(args) => namesrv(args).await,
        Command::Broker(args) => broker(args).await,
        Command::Bench(args) => Ok(ferromq_bench::run(args).await?),
        Command::Admin(args) => {
            let code = admin(args).await;
            let _ = std::io::Write::flush(&mut std::io::stdout());
            std::process::exit(code)
        }
        Command::Mirror(args) => {
            let code = match ferromq_mirror::main(args).await {
                Ok(code) => code,
                Err(e) => {
                    eprintln!("error: {e}");
                    match e {
                        ferromq_mirror::MirrorError::Usage(_) => 2,
                        _ => 1,
                    }
                }
            };
            let _ = std::io::Write::flush(&mut std::io::stdout());
            std::process::exit(code)
        }
    }
}

/// `ferromq admin`: its result is the process exit code (0 done, 1 error, 2 bad usage,
/// 3 partially applied); errors are one line on standard error.
pub async fn admin(args: ferromq_admin::AdminArgs) -> i32 {
    match ferromq_admin::run(args).await {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e}");
            e.exit_code()
        }
    }
}

async fn standalone(args: ServerArgs) -> anyhow::Result<()> {
    let mut cfg = config::load(args.config.as_deref())?;
    config::apply(&args, &mut cfg);
    cfg.broker.validate().map_err(anyhow::Error::msg)?;
    info!(config = %toml::to_string(&cfg).unwrap_or_default(), "starting standalone");
    let ns_shutdown = CancellationToken::new();
    let ns = NameServer::start(cfg.namesrv.clone(), ns_shutdown.clone())
        .await
        .with_context(|| format!("cannot start the name server on {}", cfg.namesrv.listen))?;
    cfg.broker.namesrv = ns.local_addr.to_string();
    let mut broker = Broker::start(cfg.broker)
        .await
        .context("cannot start the broker")?;
    broker.wait_registered(Duration::from_secs(10)).await?;
    println!(
        "ferromq ready namesrv={} broker={}",
        ns.local_addr, broker.addr
    );
    wait_for_signal().await?;
    info!("shutting down");
    broker.stop().await?;
    ns_shutdown.cancel();
    Ok(())
}

async fn namesrv(args: NamesrvArgs) -> anyhow::Result<()> {
    let mut cfg = config::load(args.config.as_deref())?;
    if let Some(l) = args.listen {
        cfg.namesrv.listen = l;
    }
    let shutdown = CancellationToken::new();
    let ns = NameServer::start(cfg.namesrv.clone(), shutdown.clone())
        .await
        .with_context(|| format!("cannot listen on {}", cfg.namesrv.listen))?;
    println!("ferromq ready namesrv={}", ns.local_addr);
    wait_for_signal().await?;
    shutdown.cancel();
    Ok(())
}

async fn broker(args: ServerArgs) -> anyhow::Result<()> {
    let mut cfg = config::load(args.config.as_deref())?;
    config::apply(&args, &mut cfg);
    info!(config = %toml::to_string(&cfg.broker).unwrap_or_default(), "starting broker");
    let mut broker = Broker::start(cfg.broker)
        .await
        .context("cannot start the broker")?;
    broker.wait_registered(Duration::from_secs(30)).await?;
    println!("ferromq ready broker={}", broker.addr);
    wait_for_signal().await?;
    info!("shutting down");
    broker.stop().await?;
    Ok(())
}

async fn wait_for_signal() -> anyhow::Result<()> {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    tokio::select! {
        r = tokio::signal::ctrl_c() => r?,
        _ = term.recv() => {}
    }
    Ok(())
}
