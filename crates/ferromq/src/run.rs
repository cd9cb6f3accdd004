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
    config::apply_tls(&args.tls, &mut cfg, true);
    cfg.broker.validate().map_err(anyhow::Error::msg)?;
    info!(config = %toml::to_string(&cfg).unwrap_or_default(), "starting standalone");
    // The embedded name server checks requests against the broker's users and ACLs; it
    // refuses everything in the moment before the broker exists.
    cfg.namesrv.guarded = cfg.broker.authentication_enabled;
    let ns_shutdown = CancellationToken::new();
    let ns = NameServer::start(cfg.namesrv.clone(), ns_shutdown.clone())
        .await
        .with_context(|| format!("cannot start the name server on {}", cfg.namesrv.listen))?;
    cfg.broker.namesrv = ns.local_addr.to_string();
    let mut broker = Broker::start(cfg.broker)
        .await
        .context("cannot start the broker")?;
    if broker.broker.cfg.authentication_enabled {
        let b = broker.broker.clone();
        ns.guard.install(std::sync::Arc::new(move |req, ip| {
            ferromq_broker::access::check(&b.cfg, &b.access, ip, req)
        }));
    }
    broker.wait_registered(Duration::from_secs(10)).await?;
    let grpc = start_grpc(&broker).await?;
    println!(
        "ferromq ready namesrv={} broker={}{}",
        ns.local_addr,
        broker.addr,
        grpc_field(grpc)
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
    config::apply_tls(&args.tls, &mut cfg, false);
    let shutdown = CancellationToken::new();
    let authenticate = args.authentication_enabled || args.authorization_enabled;
    // Load the users first: a file that does not parse stops the start, never opens it.
    let access = match (&args.auth_file, authenticate) {
        (Some(path), true) => Some(std::sync::Arc::new(
            ferromq_broker::access::Access::open_file(path).map_err(anyhow::Error::msg)?,
        )),
        _ => None,
    };
    cfg.namesrv.guarded = access.is_some();
    let ns = NameServer::start(cfg.namesrv.clone(), shutdown.clone())
        .await
        .with_context(|| format!("cannot listen on {}", cfg.namesrv.listen))?;
    if let Some(access) = access {
        access.follow(Duration::from_secs(5), shutdown.clone());
        // The same check as a broker's, with the broker settings that concern it.
        let policy = ferromq_broker::BrokerConfig {
            authentication_enabled: true,
            authorization_enabled: args.authorization_enabled,
            auth_whitelist: cfg.broker.auth_whitelist.clone(),
            cluster: cfg.broker.cluster.clone(),
            ..ferromq_broker::BrokerConfig::default()
        };
        ns.guard.install(std::sync::Arc::new(move |req, ip| {
            ferromq_broker::access::check(&policy, &access, ip, req)
        }));
    }
    println!("ferromq ready namesrv={}", ns.local_addr);
    wait_for_signal().await?;
    shutdown.cancel();
    Ok(())
}

async fn broker(args: ServerArgs) -> anyhow::Result<()> {
    let mut cfg = config::load(args.config.as_deref())?;
    config::apply(&args, &mut cfg);
    config::apply_tls(&args.tls, &mut cfg, false);
    info!(config = %toml::to_string(&cfg.broker).unwrap_or_default(), "starting broker");
    let mut broker = Broker::start(cfg.broker)
        .await
        .context("cannot start the broker")?;
    broker.wait_registered(Duration::from_secs(30)).await?;
    let grpc = start_grpc(&broker).await?;
    println!("ferromq ready broker={}{}", broker.addr, grpc_field(grpc));
    wait_for_signal().await?;
    info!("shutting down");
    broker.stop().await?;
    Ok(())
}

/// Binds and serves the gRPC endpoint when enabled; it stops with the broker.
async fn start_grpc(
    broker: &ferromq_broker::RunningBroker,
) -> anyhow::Result<Option<std::net::SocketAddr>> {
    let cfg = &broker.broker.cfg;
    if !cfg.grpc {
        return Ok(None);
    }
    let listener = tokio::net::TcpListener::bind((cfg.host.as_str(), cfg.grpc_port))
        .await
        .with_context(|| format!("cannot listen for gRPC on {}:{}", cfg.host, cfg.grpc_port))?;
    let addr = listener.local_addr()?;
    let b = broker.broker.clone();
    let shutdown = b.shutdown.clone();
    // HTTP/2 over TLS is negotiated with ALPN; gRPC clients insist on it.
    let tls = b.tls.acceptor(&[b"h2"])?;
    tokio::spawn(async move {
        let threads = b.cfg.grpc_threads;
        if let Err(e) = ferromq_grpc::serve(b, listener, tls, threads, shutdown).await {
            tracing::error!(error = %e, "the gRPC endpoint stopped");
        }
    });
    Ok(Some(addr))
}

fn grpc_field(addr: Option<std::net::SocketAddr>) -> String {
    addr.map(|a| format!(" grpc={a}")).unwrap_or_default()
}

async fn wait_for_signal() -> anyhow::Result<()> {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    tokio::select! {
        r = tokio::signal::ctrl_c() => r?,
        _ = term.recv() => {}
    }
    Ok(())
}
